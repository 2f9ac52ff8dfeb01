//! RTCP compound parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO
//! line). Every implementation parses the same bytes — SR (one report block) + SDES (CNAME) +
//! transport-wide CC feedback for 40 packets — and reads the same fields: SR SSRC, NTP time and
//! the block's jitter, the CNAME's length, and every TWCC receive delta.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrtc_rtcp::{
    parse_compound, write_compound, PacketIter, ReportBlock, RtcpPacket, Sdes, SdesChunk, SdesItem,
    SenderReport, TransportCcBuilder,
};

fn packets() -> Vec<RtcpPacket> {
    let mut twcc = TransportCcBuilder::new();
    let mut t = 1_000_000_000i64;
    for i in 0..40u16 {
        t += if i == 20 { 90_000 } else { 2_250 };
        if i % 9 != 4 {
            twcc.add(1000 + i, t);
        }
    }
    vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 0x1234_5678,
            ntp_timestamp: 0xe8f1_2345_6789_abcd,
            rtp_timestamp: 3_000_000,
            packet_count: 1000,
            octet_count: 1_000_000,
            reports: vec![ReportBlock {
                ssrc: 0x8765_4321,
                fraction_lost: 3,
                cumulative_lost: 17,
                extended_highest_sequence: 70_000,
                jitter: 45,
                last_sr: 0x1234_5678,
                delay_since_last_sr: 6553,
            }]
            .into(),
            profile_extensions: Bytes::new(),
        }),
        RtcpPacket::Sdes(Sdes {
            chunks: vec![SdesChunk {
                ssrc: 0x1234_5678,
                items: vec![SdesItem::cname(Bytes::from_static(b"k0Sc2fXpYz7gJmN4"))].into(),
            }]
            .into(),
        }),
        RtcpPacket::TransportCc(twcc.build(0x1234_5678, 0x8765_4321, 7).unwrap()),
    ]
}

fn input() -> Bytes {
    let mut v = Vec::new();
    write_compound(&packets(), &mut v);
    let raw = Bytes::from(v);
    let _ = raw.clone(); // shared, as a receive buffer would be
    raw
}

fn parse(c: &mut Criterion) {
    let raw = input();
    let mut g = c.benchmark_group("rtcp/parse compound SR+SDES+TWCC");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            // Validated as a compound (RFC 3550 §6.1) packet by packet, nothing collected; the
            // iterator borrows the datagram. webrtc-rs's `unmarshal` advances a `Buf`, so it gets
            // a clone of the `Bytes` (from a `&[u8]` it is slower: see `rtcp_cpu`).
            let mut acc = 0i64;
            for p in PacketIter::compound(black_box(&raw)) {
                match p.unwrap() {
                    RtcpPacket::SenderReport(sr) => {
                        acc += i64::from(sr.ssrc) + (sr.ntp_timestamp >> 40) as i64;
                        acc += i64::from(sr.reports[0].jitter);
                    }
                    RtcpPacket::Sdes(s) => acc += s.chunks[0].cname().unwrap().len() as i64,
                    RtcpPacket::TransportCc(t) => {
                        for p in t.packets() {
                            acc += i64::from(p.delta_ticks.unwrap_or(0)) * 250;
                        }
                    }
                    _ => {}
                }
            }
            black_box(acc);
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        use webrtc_rtcp::sender_report::SenderReport;
        use webrtc_rtcp::source_description::{SdesType, SourceDescription};
        use webrtc_rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let pkts = webrtc_rtcp::packet::unmarshal(&mut buf).unwrap();
            let mut acc = 0i64;
            for p in &pkts {
                let any = p.as_any();
                if let Some(sr) = any.downcast_ref::<SenderReport>() {
                    acc += i64::from(sr.ssrc) + (sr.ntp_time >> 40) as i64;
                    acc += i64::from(sr.reports[0].jitter);
                } else if let Some(s) = any.downcast_ref::<SourceDescription>() {
                    let item = s.chunks[0]
                        .items
                        .iter()
                        .find(|i| i.sdes_type == SdesType::SdesCname)
                        .unwrap();
                    acc += item.text.len() as i64;
                } else if let Some(t) = any.downcast_ref::<TransportLayerCc>() {
                    for d in &t.recv_deltas {
                        acc += d.delta;
                    }
                }
            }
            black_box(acc);
            black_box(pkts);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        use rtc_rtcp::sender_report::SenderReport;
        use rtc_rtcp::source_description::{SdesType, SourceDescription};
        use rtc_rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let pkts = rtc_rtcp::packet::unmarshal(&mut buf).unwrap();
            let mut acc = 0i64;
            for p in &pkts {
                let any = p.as_any();
                if let Some(sr) = any.downcast_ref::<SenderReport>() {
                    acc += i64::from(sr.ssrc) + (sr.ntp_time >> 40) as i64;
                    acc += i64::from(sr.reports[0].jitter);
                } else if let Some(s) = any.downcast_ref::<SourceDescription>() {
                    let item = s.chunks[0]
                        .items
                        .iter()
                        .find(|i| i.sdes_type == SdesType::SdesCname)
                        .unwrap();
                    acc += item.text.len() as i64;
                } else if let Some(t) = any.downcast_ref::<TransportLayerCc>() {
                    for d in &t.recv_deltas {
                        acc += d.delta;
                    }
                }
            }
            black_box(acc);
            black_box(pkts);
        })
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let raw = input();
    let ours = parse_compound(raw.clone()).unwrap();
    let theirs = webrtc_rtcp::packet::unmarshal(&mut raw.clone()).unwrap();
    let rtc = rtc_rtcp::packet::unmarshal(&mut raw.clone()).unwrap();
    // Every implementation understood all three packets and writes them back.
    assert_eq!(ours.len(), 3);
    assert_eq!(theirs.len(), 3);
    assert_eq!(rtc.len(), 3);
    let mut mine = Vec::new();
    write_compound(&ours, &mut mine);
    assert_eq!(mine, raw);
    // Theirs end SDES padding with a count, so compare what the bytes mean.
    let back = |b: &[u8]| parse_compound(Bytes::copy_from_slice(b)).unwrap();
    assert_eq!(back(&webrtc_rtcp::packet::marshal(&theirs).unwrap()), ours);
    assert_eq!(back(&rtc_rtcp::packet::marshal(&rtc).unwrap()), ours);

    let mut g = c.benchmark_group("rtcp/serialize compound SR+SDES+TWCC");
    let mut out = Vec::with_capacity(1500);
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            out.clear();
            write_compound(black_box(&ours), &mut out);
            black_box(out.len());
        })
    });
    let mut buf = vec![0u8; 1500];
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| {
            let mut off = 0;
            for p in black_box(&theirs) {
                let n = p.marshal_size();
                off += p.marshal_to(&mut buf[off..off + n]).unwrap();
            }
            black_box(off);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        b.iter(|| {
            let mut off = 0;
            for p in black_box(&rtc) {
                let n = p.marshal_size();
                off += p.marshal_to(&mut buf[off..off + n]).unwrap();
            }
            black_box(off);
        })
    });
    g.finish();
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
