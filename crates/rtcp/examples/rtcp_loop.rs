//! The ferrtc side of the `rtcp` / `rtcp_cpu` benches in a plain loop, for `perf stat` /
//! `perf record` (instructions per compound without criterion around it):
//!
//!     cargo build --release -p ferrtc-rtcp --example rtcp_loop
//!     perf stat -e instructions target/release/examples/rtcp_loop nack ref 10000000
//!
//! Input `twcc` (SR + SDES + TWCC of 40 packets) or `nack` (SR + SDES + NACK of three
//! entries); walk `ref` (`PacketRefIter`) or `owned` (`PacketIter`); the fields the benches
//! read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use ferrtc_rtcp::*;

fn packets(nack: bool) -> Vec<RtcpPacket> {
    let mut twcc = TransportCcBuilder::new();
    let mut t = 1_000_000_000i64;
    for i in 0..40u16 {
        t += if i == 20 { 90_000 } else { 2_250 };
        if i % 9 != 4 {
            twcc.add(1000 + i, t);
        }
    }
    let last = if nack {
        RtcpPacket::Nack(Nack::from_lost(
            0x1234_5678,
            0x8765_4321,
            [100, 101, 105, 130, 131, 140, 170],
        ))
    } else {
        RtcpPacket::TransportCc(twcc.build(0x1234_5678, 0x8765_4321, 7).unwrap())
    };
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
        last,
    ]
}

#[inline(never)]
fn owned(raw: &Bytes) -> i64 {
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

#[inline(never)]
fn by_ref(raw: &Bytes) -> i64 {
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = args.get(1).map_or("nack", String::as_str);
    let walk = args.get(2).map_or("ref", String::as_str);
    let n: u64 = args.get(3).map_or(10_000_000, |s| s.parse().unwrap());
    let mut v = Vec::new();
    write_compound(&packets(input == "nack"), &mut v);
    let raw = Bytes::from(v);
    let _shared = raw.clone();
    assert_eq!(owned(&raw), by_ref(&raw));
    let f: fn(&Bytes) -> i64 = if walk == "owned" { owned } else { by_ref };
    let t0 = std::time::Instant::now();
    let mut acc = 0i64;
    for _ in 0..n {
        acc = acc.wrapping_add(black_box(f(&raw)));
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("{input} {walk}: {ns:.1} ns per compound (wall), checksum {acc}");
}
