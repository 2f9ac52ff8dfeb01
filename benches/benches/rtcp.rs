//! RTCP compound parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO
//! line). Every implementation parses the same bytes — SR (one report block) + SDES (CNAME) +
//! transport-wide CC feedback for 40 packets, or + a generic NACK of three FCI entries — and
//! reads the same fields: SR SSRC, NTP time and the block's jitter, the CNAME's length, and
//! every TWCC receive delta (all chunks and deltas decoded) or every NACK entry's PID and BLP.
//!
//! What each side does per iteration: ferrtc walks the datagram with
//! `PacketRefIter::compound` (borrowing it; RFC 3550 §6.1 compound rules and every SR, SDES
//! and NACK body checked packet by packet as `PacketIter` checks them, nothing collected, no
//! allocation, no reference count: SR, SDES and NACK are views that read the fields from the
//! datagram; the TWCC packet is decoded by `OtherRef::parse`, chunks and deltas copied inline
//! and decoded by `TransportCc::packets`). The `owned packets` groups walk the same datagram
//! with `PacketIter::compound`, which builds an `RtcpPacket` value per packet (report blocks,
//! SDES chunks and NACK entries inline, the CNAME a `Bytes` slice). webrtc-rs and rtc get a clone of the
//! `Bytes` (`unmarshal` advances a `Buf`) and return a `Vec<Box<dyn Packet>>` (a `Vec` per
//! report list, chunk, item list, NACK list, TWCC chunk and delta list), read by downcasting.
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
    parse_compound, write_compound, Nack, PacketIter, PacketRefIter, ReportBlock, RtcpPacket,
    RtcpPacketRef, Sdes, SdesChunk, SdesItem, SenderReport, TransportCcBuilder,
};

/// SR + SDES + a NACK of losses 100, 101, 105, 130, 131, 140 and 170 (three FCI entries).
fn nack_packets() -> Vec<RtcpPacket> {
    let mut v = packets();
    v[2] = RtcpPacket::Nack(Nack::from_lost(
        0x1234_5678,
        0x8765_4321,
        [100, 101, 105, 130, 131, 140, 170],
    ));
    v
}

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
    encode(&packets())
}

fn encode(packets: &[RtcpPacket]) -> Bytes {
    let mut v = Vec::new();
    write_compound(packets, &mut v);
    let raw = Bytes::from(v);
    let _ = raw.clone(); // shared, as a receive buffer would be
    raw
}

/// ferrtc: walk, read the fields.
fn ferrtc(raw: &Bytes) -> i64 {
    let mut acc = 0i64;
    for p in PacketIter::compound(black_box(raw)) {
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
            RtcpPacket::Nack(n) => {
                for p in &n.pairs {
                    acc += i64::from(p.packet_id) + i64::from(p.lost_bitmask);
                }
            }
            _ => {}
        }
    }
    acc
}

/// ferrtc's by-reference walk (`PacketRefIter`): the same checks as `PacketIter`, views that
/// read the same fields from the datagram (SR, SDES, NACK); a TWCC packet is handed out
/// framed and decoded by `OtherRef::parse`, as the owned walk decodes it.
fn ferrtc_ref(raw: &Bytes) -> i64 {
    let mut acc = 0i64;
    for p in PacketRefIter::compound(black_box(raw)) {
        match p.unwrap() {
            RtcpPacketRef::SenderReport(sr) => {
                acc += i64::from(sr.ssrc()) + (sr.ntp_timestamp() >> 40) as i64;
                acc += i64::from(sr.report(0).unwrap().jitter);
            }
            RtcpPacketRef::Sdes(s) => {
                acc += s.chunks().next().unwrap().cname().unwrap().len() as i64;
            }
            RtcpPacketRef::Nack(n) => {
                for p in n.pairs() {
                    acc += i64::from(p.packet_id) + i64::from(p.lost_bitmask);
                }
            }
            RtcpPacketRef::Other(o) => {
                if let RtcpPacket::TransportCc(t) = o.parse().unwrap() {
                    for p in t.packets() {
                        acc += i64::from(p.delta_ticks.unwrap_or(0)) * 250;
                    }
                }
            }
            _ => {}
        }
    }
    acc
}

/// webrtc-rs and rtc: the same fields through their types (same names in both lines).
macro_rules! theirs {
    ($krate:ident, $raw:expr) => {{
        use $krate::sender_report::SenderReport;
        use $krate::source_description::{SdesType, SourceDescription};
        use $krate::transport_feedbacks::transport_layer_cc::TransportLayerCc;
        use $krate::transport_feedbacks::transport_layer_nack::TransportLayerNack;
        let pkts = $krate::packet::unmarshal(&mut black_box($raw.clone())).unwrap();
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
            } else if let Some(n) = any.downcast_ref::<TransportLayerNack>() {
                for p in &n.nacks {
                    acc += i64::from(p.packet_id) + i64::from(p.lost_packets);
                }
            }
        }
        black_box(pkts);
        acc
    }};
}

fn parse(c: &mut Criterion) {
    for (name, raw) in [
        ("rtcp/parse compound SR+SDES+TWCC", input()),
        ("rtcp/parse compound SR+SDES+NACK", encode(&nack_packets())),
    ] {
        // All read the same values.
        assert_eq!(ferrtc(&raw), theirs!(webrtc_rtcp, raw));
        assert_eq!(ferrtc(&raw), theirs!(rtc_rtcp, raw));
        assert_eq!(ferrtc_ref(&raw), theirs!(rtc_rtcp, raw));
        // ferrtc's row is the by-reference walk; the owned walk has a group of its own.
        let mut g = c.benchmark_group(name);
        g.bench_function("ferrtc", |b| b.iter(|| black_box(ferrtc_ref(&raw))));
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| black_box(theirs!(webrtc_rtcp, raw)))
        });
        g.bench_function("rtc 0.21", |b| b.iter(|| black_box(theirs!(rtc_rtcp, raw))));
        g.finish();
        let mut g = c.benchmark_group(format!("{name}, owned packets (PacketIter)"));
        g.bench_function("ferrtc", |b| b.iter(|| black_box(ferrtc(&raw))));
        g.finish();
    }
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
