//! STUN: parse + verify an ICE Binding Request, and build + sign one; and the same round as the
//! ICE agent does it (`ice check`), with the MESSAGE-INTEGRITY key prepared once per
//! credentials (what the agent does since issue 17) or keyed from the password per message
//! (what it did before), beside webrtc-rs's stun crate doing the same work.
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
    let parse_verify = |key: &ferrtc_stun::IntegrityKey| {
        let m = ferrtc_stun::Message::parse(black_box(packet.clone())).unwrap();
        assert!(m.has_fingerprint());
        let a = m.verify_integrity(key).unwrap();
        black_box((
            a.username().unwrap(),
            a.priority().unwrap(),
            a.ice_controlling().unwrap(),
            a.use_candidate(),
        ));
    };
    // What the other stacks do: the HMAC keyed from the password for every message.
    g.bench_function("ferrtc, key from the password per message", |b| {
        b.iter(|| {
            let key = ferrtc_stun::IntegrityKey::short_term(black_box(PASSWORD)).unwrap();
            parse_verify(&key)
        })
    });
    // What the ICE agent does: the key prepared once per remote credentials.
    g.bench_function("ferrtc, key prepared once", |b| {
        b.iter(|| parse_verify(&key))
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
    g.bench_function("ferrtc, key from the password per message", |b| {
        b.iter(|| {
            let key = ferrtc_stun::IntegrityKey::short_term(black_box(PASSWORD)).unwrap();
            let out = ferrtc_build(&key, buf.take().unwrap());
            black_box(&out[..]);
            buf = Some(out);
        })
    });
    g.bench_function("ferrtc, key prepared once", |b| {
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

/// One ICE connectivity check's STUN work on both ends, as each agent does it: the sender
/// builds a Binding request (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
/// MESSAGE-INTEGRITY, FINGERPRINT) and the receiver parses it, checks FINGERPRINT and
/// MESSAGE-INTEGRITY and reads the four ICE attributes. Both sides produce the same 92 bytes.
fn bench_ice_check(c: &mut Criterion) {
    use ferrtc_ice::stun::{integrity_key, Builder, Class, Message, BINDING};
    let ice_build = |key: Option<&ferrtc_ice::stun::IntegrityKey>, pwd: Option<&[u8]>| {
        let mut b = Builder::new(Class::Request, BINDING, &TID);
        b.username(black_box(USERNAME))
            .priority(PRIORITY)
            .role(true, TIEBREAKER)
            .use_candidate();
        match key {
            Some(k) => b.finish_with(Some(k)),
            None => b.finish(pwd),
        }
    };
    let read = |m: &Message| {
        black_box((
            m.username.as_ref().unwrap().len(),
            m.priority.unwrap(),
            m.ice_controlling.unwrap(),
            m.use_candidate,
        ));
    };
    let key = integrity_key(PASSWORD.as_bytes()).unwrap();
    let reference = ice_build(Some(&key), None);
    assert_eq!(reference.len(), 92);
    assert_eq!(
        ice_build(None, Some(PASSWORD.as_bytes())),
        reference,
        "both ferrtc-ice paths build the same bytes"
    );

    let mut g = c.benchmark_group("stun/ice check: build+sign, parse+verify 92B");
    g.bench_function("ferrtc-ice, key prepared once", |b| {
        b.iter(|| {
            let raw = ice_build(Some(&key), None);
            let m = Message::parse(raw).unwrap();
            m.verify_with(&key).unwrap();
            read(&m);
        })
    });
    g.bench_function("ferrtc-ice, key from the password per message", |b| {
        b.iter(|| {
            let raw = ice_build(None, Some(black_box(PASSWORD).as_bytes()));
            let m = Message::parse(raw).unwrap();
            m.verify_integrity(black_box(PASSWORD).as_bytes()).unwrap();
            read(&m);
        })
    });

    {
        use webrtc_stun::agent::TransactionId;
        use webrtc_stun::attributes::*;
        use webrtc_stun::fingerprint::FINGERPRINT;
        use webrtc_stun::integrity::MessageIntegrity;
        use webrtc_stun::message::{Message, Setter, BINDING_REQUEST};
        use webrtc_stun::textattrs::TextAttribute;
        // webrtc-rs keeps the password and keys HMAC per message (its normal use).
        let integrity = MessageIntegrity::new_short_term_integrity(PASSWORD.to_string());
        let mut out = Message::new();
        let mut inp = Message::new();
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
        build(&mut out);
        assert_eq!(
            out.raw,
            reference[..],
            "webrtc-rs stun builds the same bytes"
        );
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| {
                build(&mut out);
                inp.raw.clear();
                inp.raw.extend_from_slice(&out.raw);
                inp.decode().unwrap();
                FINGERPRINT.check(&inp).unwrap();
                integrity.check(&mut inp).unwrap();
                let u = TextAttribute::get_from_as(&inp, ATTR_USERNAME).unwrap();
                let p = inp.get(ATTR_PRIORITY).unwrap();
                let t = inp.get(ATTR_ICE_CONTROLLING).unwrap();
                black_box((
                    u.text.len(),
                    u32::from_be_bytes(p[..4].try_into().unwrap()),
                    u64::from_be_bytes(t[..8].try_into().unwrap()),
                    inp.contains(ATTR_USE_CANDIDATE),
                ));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_parse, bench_build, bench_ice_check);
criterion_main!(benches);
