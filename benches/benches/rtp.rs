//! RTP parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO line).
//!
//! Every implementation parses the same bytes (a 1200-byte payload with sdes:mid,
//! abs-send-time and transport-wide-cc in the one-byte form) and reads the three values.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrtc_rtp::values::{AbsSendTime, ExtensionValue, Mid, TransportCc};
use ferrtc_rtp::{ExtensionMap, ExtensionsBuilder, RtpHeader, RtpPacket, RtpPacketView};

const MID: u8 = 1;
const ABS_SEND_TIME: u8 = 2;
const TWCC: u8 = 3;

fn input() -> Bytes {
    let mut b = ExtensionsBuilder::new();
    b.push_value(MID, &Mid(b"0")).unwrap();
    b.push_value(ABS_SEND_TIME, &AbsSendTime(0x12_3456))
        .unwrap();
    b.push_value(
        TWCC,
        &TransportCc {
            sequence_number: 4321,
            feedback_request: None,
        },
    )
    .unwrap();
    let p = RtpPacket {
        header: RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: 27023,
            timestamp: 3_653_407_706,
            ssrc: 476_325_762,
            extensions: Some(b.finish(false).unwrap()),
            ..Default::default()
        },
        payload: Bytes::from((0..1200).map(|i| i as u8).collect::<Vec<u8>>()),
        padding: 0,
    };
    // Shared once, as a receive buffer would be.
    let raw = p.to_bytes();
    let _ = raw.clone();
    raw
}

fn parse(c: &mut Criterion) {
    let raw = input();
    let map = ExtensionMap::from_pairs([
        (MID, Mid::URI),
        (ABS_SEND_TIME, AbsSendTime::URI),
        (TWCC, TransportCc::URI),
    ])
    .unwrap();
    // The hot path: a validated view of the packet, fields read from the buffer on demand.
    let mut g = c.benchmark_group("rtp/parse 1200B mid+abs-send-time+twcc");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let p = RtpPacketView::parse(black_box(raw.clone())).unwrap();
            let k = map.read_ref(p.extensions().unwrap());
            black_box((
                p.sequence_number(),
                p.payload().len(),
                k.mid.unwrap().0,
                k.abs_send_time.unwrap().0,
                k.transport_cc.unwrap().sequence_number,
            ));
            black_box(p);
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        use webrtc_rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
        use webrtc_rtp::extension::transport_cc_extension::TransportCcExtension;
        use webrtc_util::marshal::Unmarshal;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let p = webrtc_rtp::packet::Packet::unmarshal(&mut buf).unwrap();
            let mid = p.header.get_extension(MID).unwrap();
            let abs = AbsSendTimeExtension::unmarshal(
                &mut p.header.get_extension(ABS_SEND_TIME).unwrap(),
            )
            .unwrap();
            let tcc = TransportCcExtension::unmarshal(&mut p.header.get_extension(TWCC).unwrap())
                .unwrap();
            black_box((
                p.header.sequence_number,
                p.payload.len(),
                mid,
                abs.timestamp,
                tcc.transport_sequence,
            ));
            black_box(p);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        use rtc_rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
        use rtc_rtp::extension::transport_cc_extension::TransportCcExtension;
        use rtc_shared::marshal::Unmarshal;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let p = rtc_rtp::packet::Packet::unmarshal(&mut buf).unwrap();
            let mid = p.header.get_extension(MID).unwrap();
            let abs = AbsSendTimeExtension::unmarshal(
                &mut p.header.get_extension(ABS_SEND_TIME).unwrap(),
            )
            .unwrap();
            let tcc = TransportCcExtension::unmarshal(&mut p.header.get_extension(TWCC).unwrap())
                .unwrap();
            black_box((
                p.header.sequence_number,
                p.payload.len(),
                mid,
                abs.timestamp,
                tcc.transport_sequence,
            ));
            black_box(p);
        })
    });
    g.finish();

    // The same through the owned, editable packet (every field decoded into a struct).
    let mut g = c.benchmark_group("rtp/parse owned 1200B mid+abs-send-time+twcc");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let p = RtpPacket::parse(black_box(raw.clone())).unwrap();
            let k = map.read(p.header.extensions.as_ref().unwrap());
            black_box((
                p.header.sequence_number,
                p.payload.len(),
                k.mid.unwrap().0,
                k.abs_send_time.unwrap().0,
                k.transport_cc.unwrap().sequence_number,
            ));
            black_box(p);
        })
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let raw = input();
    let ours = RtpPacket::parse(raw.clone()).unwrap();
    let theirs = {
        use webrtc_util::marshal::Unmarshal;
        webrtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap()
    };
    let rtc = {
        use rtc_shared::marshal::Unmarshal;
        rtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap()
    };
    // Same bytes out of every implementation.
    {
        use webrtc_util::marshal::Marshal;
        assert_eq!(&theirs.marshal().unwrap()[..], &raw[..]);
    }
    {
        use rtc_shared::marshal::Marshal;
        assert_eq!(&rtc.marshal().unwrap()[..], &raw[..]);
    }
    assert_eq!(ours.to_bytes(), raw);
    let mut g = c.benchmark_group("rtp/serialize 1200B mid+abs-send-time+twcc");
    let mut out = Vec::with_capacity(2048);
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            out.clear();
            black_box(&ours).write_to(&mut out);
            black_box(out.len());
        })
    });
    let mut buf = vec![0u8; 2048];
    g.bench_function("webrtc-rs 0.17", |b| {
        use webrtc_util::marshal::{Marshal, MarshalSize};
        b.iter(|| {
            let p = black_box(&theirs);
            let n = p.marshal_size();
            let n = p.marshal_to(&mut buf[..n]).unwrap();
            black_box(n);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        use rtc_shared::marshal::{Marshal, MarshalSize};
        b.iter(|| {
            let p = black_box(&rtc);
            let n = p.marshal_size();
            let n = p.marshal_to(&mut buf[..n]).unwrap();
            black_box(n);
        })
    });
    g.finish();
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
