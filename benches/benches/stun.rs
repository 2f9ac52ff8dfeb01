//! STUN: parse + verify an ICE Binding Request, and build + sign one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const USERNAME: &str = "evtj:h6vY";
const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];
const PRIORITY: u32 = 0x6e00_01ff;
const TIEBREAKER: u64 = 0x932f_f9b1_5126_3b36;

/// USERNAME (9 B) + PRIORITY + ICE-CONTROLLING + USE-CANDIDATE + MESSAGE-INTEGRITY +
/// FINGERPRINT = 92 bytes.
fn ferrtc_build(key: &ferrtc_stun::IntegrityKey, buf: BytesMut) -> BytesMut {
    use ferrtc_stun::*;
    let mut b = MessageBuilder::with_buffer(
        buf,
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId(TID),
    );
    b.add(&Attribute::Username(Text::from_static(USERNAME)))
        .unwrap()
        .add(&Attribute::Priority(PRIORITY))
        .unwrap()
        .add(&Attribute::IceControlling(TIEBREAKER))
        .unwrap()
        .add(&Attribute::UseCandidate)
        .unwrap()
        .add_message_integrity(key)
        .unwrap()
        .add_fingerprint()
        .unwrap();
    b.finish()
}

fn bench_parse(c: &mut Criterion) {
    let key = ferrtc_stun::IntegrityKey::short_term(PASSWORD).unwrap();
    let packet: Bytes = ferrtc_build(&key, BytesMut::new()).freeze();
    assert_eq!(packet.len(), 92);
    let packet_vec = packet.to_vec();

    let mut g = c.benchmark_group("stun/parse+verify binding request 92B");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let m = ferrtc_stun::Message::parse(black_box(packet.clone())).unwrap();
            assert!(m.has_fingerprint());
            let a = m.verify_integrity(&key).unwrap();
            black_box((
                a.username().unwrap(),
                a.priority().unwrap(),
                a.ice_controlling().unwrap(),
                a.use_candidate(),
            ));
        })
    });

    {
        use rtc_stun::attributes::*;
        use rtc_stun::fingerprint::FINGERPRINT;
        use rtc_stun::integrity::MessageIntegrity;
        use rtc_stun::message::Message;
        use rtc_stun::textattrs::TextAttribute;
        let provider = rtc_stun::crypto::default_provider().unwrap();
        let crypto = provider.crypto();
        let mut m = Message::new();
        g.bench_function("rtc 0.21", |b| {
            b.iter(|| {
                m.raw.clear();
                m.raw.extend_from_slice(black_box(&packet_vec));
                m.decode().unwrap();
                FINGERPRINT.check(&m).unwrap();
                MessageIntegrity::check(&mut m, PASSWORD.as_bytes(), crypto).unwrap();
                let u = TextAttribute::get_from_as(&m, ATTR_USERNAME).unwrap();
                let p = m.get(ATTR_PRIORITY).unwrap();
                let t = m.get(ATTR_ICE_CONTROLLING).unwrap();
                black_box((
                    u,
                    u32::from_be_bytes(p[..4].try_into().unwrap()),
                    u64::from_be_bytes(t[..8].try_into().unwrap()),
                    m.contains(ATTR_USE_CANDIDATE),
                ));
            })
        });
    }

    {
        use webrtc_stun::attributes::*;
        use webrtc_stun::fingerprint::FINGERPRINT;
        use webrtc_stun::integrity::MessageIntegrity;
        use webrtc_stun::message::Message;
        use webrtc_stun::textattrs::TextAttribute;
        let integrity = MessageIntegrity::new_short_term_integrity(PASSWORD.to_string());
        let mut m = Message::new();
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| {
                m.raw.clear();
                m.raw.extend_from_slice(black_box(&packet_vec));
                m.decode().unwrap();
                FINGERPRINT.check(&m).unwrap();
                integrity.check(&mut m).unwrap();
                let u = TextAttribute::get_from_as(&m, ATTR_USERNAME).unwrap();
                let p = m.get(ATTR_PRIORITY).unwrap();
                let t = m.get(ATTR_ICE_CONTROLLING).unwrap();
                black_box((
                    u,
                    u32::from_be_bytes(p[..4].try_into().unwrap()),
                    u64::from_be_bytes(t[..8].try_into().unwrap()),
                    m.contains(ATTR_USE_CANDIDATE),
                ));
            })
        });
    }
    g.finish();
}

fn bench_build(c: &mut Criterion) {
    let key = ferrtc_stun::IntegrityKey::short_term(PASSWORD).unwrap();
    let reference = ferrtc_build(&key, BytesMut::new());
    let mut g = c.benchmark_group("stun/build+sign binding request");
    let mut buf = Some(BytesMut::with_capacity(128));
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let out = ferrtc_build(&key, buf.take().unwrap());
            black_box(&out[..]);
            buf = Some(out);
        })
    });

    {
        use rtc_stun::attributes::*;
        use rtc_stun::fingerprint::FINGERPRINT;
        use rtc_stun::integrity::MessageIntegrity;
        use rtc_stun::message::{Message, Setter, TransactionId, BINDING_REQUEST};
        let provider = rtc_stun::crypto::default_provider().unwrap();
        let integrity = MessageIntegrity::new_short_term_integrity_with_provider(
            PASSWORD.to_string(),
            provider.crypto(),
        );
        let mut m = Message::new();
        {
            m.reset();
            m.typ = BINDING_REQUEST;
            m.transaction_id = TransactionId(TID);
            m.write_header();
            m.add(ATTR_USERNAME, USERNAME.as_bytes());
            m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
            m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
            m.add(ATTR_USE_CANDIDATE, &[]);
            integrity.add_to(&mut m).unwrap();
            FINGERPRINT.add_to(&mut m).unwrap();
        }
        assert_eq!(m.raw, reference[..], "rtc-stun builds the same bytes");
        g.bench_function("rtc 0.21", |b| {
            b.iter(|| {
                m.reset();
                m.typ = BINDING_REQUEST;
                m.transaction_id = TransactionId(TID);
                m.write_header();
                m.add(ATTR_USERNAME, black_box(USERNAME).as_bytes());
                m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
                m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
                m.add(ATTR_USE_CANDIDATE, &[]);
                integrity.add_to(&mut m).unwrap();
                FINGERPRINT.add_to(&mut m).unwrap();
                black_box(&m.raw[..]);
            })
        });
    }

    {
        use webrtc_stun::agent::TransactionId;
        use webrtc_stun::attributes::*;
        use webrtc_stun::fingerprint::FINGERPRINT;
        use webrtc_stun::integrity::MessageIntegrity;
        use webrtc_stun::message::{Message, Setter, BINDING_REQUEST};
        let integrity = MessageIntegrity::new_short_term_integrity(PASSWORD.to_string());
        let mut m = Message::new();
        let build = |m: &mut Message| {
            m.reset();
            m.typ = BINDING_REQUEST;
            m.transaction_id = TransactionId(TID);
            m.write_header();
            m.add(ATTR_USERNAME, black_box(USERNAME).as_bytes());
            m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
            m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
            m.add(ATTR_USE_CANDIDATE, &[]);
            integrity.add_to(m).unwrap();
            FINGERPRINT.add_to(m).unwrap();
        };
        build(&mut m);
        assert_eq!(m.raw, reference[..], "webrtc-rs stun builds the same bytes");
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| {
                build(&mut m);
                black_box(&m.raw[..]);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_parse, bench_build);
criterion_main!(benches);
