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
use ferrtc_benches::rtcp_fields;
use ferrtc_rtcp::{parse_compound, write_compound};

/// The inputs and ferrtc's readers, shared with `rtcp_cpu` and the crate's `rtcp_loop` example.
#[path = "../../crates/rtcp/examples/shared/compound.rs"]
mod compound;
use compound::{encode, ferrtc_owned, ferrtc_ref};

fn input() -> Bytes {
    encode(&compound::twcc_packets())
}

fn parse(c: &mut Criterion) {
    for (name, raw) in [
        ("rtcp/parse compound SR+SDES+TWCC", input()),
        (
            "rtcp/parse compound SR+SDES+NACK",
            encode(&compound::nack_packets()),
        ),
    ] {
        // All read the same values.
        assert_eq!(ferrtc_owned(&raw), rtcp_fields!(webrtc_rtcp, raw.clone()));
        assert_eq!(ferrtc_owned(&raw), rtcp_fields!(rtc_rtcp, raw.clone()));
        assert_eq!(ferrtc_ref(&raw), rtcp_fields!(rtc_rtcp, raw.clone()));
        // ferrtc's row is the by-reference walk; the owned walk has a group of its own.
        let mut g = c.benchmark_group(name);
        g.bench_function("ferrtc", |b| b.iter(|| black_box(ferrtc_ref(&raw))));
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| black_box(rtcp_fields!(webrtc_rtcp, raw.clone())))
        });
        g.bench_function("rtc 0.21", |b| {
            b.iter(|| black_box(rtcp_fields!(rtc_rtcp, raw.clone())))
        });
        g.finish();
        let mut g = c.benchmark_group(format!("{name}, owned packets (PacketIter)"));
        g.bench_function("ferrtc", |b| b.iter(|| black_box(ferrtc_owned(&raw))));
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
