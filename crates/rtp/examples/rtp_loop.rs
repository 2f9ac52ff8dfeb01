//! The ferrtc side of the `rtp` bench's same-work rows in a plain loop, for `perf stat` /
//! `perf record` (instructions per parse without criterion around it):
//!
//!     cargo build --release -p ferrtc-rtp --example rtp_loop
//!     perf stat -e instructions target/release/examples/rtp_loop owned 10000000
//!
//! Modes: `owned` (`RtpPacket::parse` of a `Bytes` clone + `ExtensionMap::read`, the packet
//! dropped) and `header` (`RtpHeader::parse` of the borrowed datagram + `ExtensionMap::read`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use ferrtc_rtp::values::{AbsSendTime, ExtensionValue, Mid, TransportCc};
use ferrtc_rtp::{ExtensionMap, ExtensionsBuilder, KnownExtensions, RtpHeader, RtpPacket};

fn sum(k: &KnownExtensions<'_>) -> u64 {
    k.mid.unwrap().0.len() as u64
        + u64::from(k.abs_send_time.unwrap().0)
        + u64::from(k.transport_cc.unwrap().sequence_number)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("owned", String::as_str);
    let n: u64 = args.get(2).map_or(10_000_000, |s| s.parse().unwrap());
    let mut b = ExtensionsBuilder::new();
    b.push_value(1, &Mid(b"0")).unwrap();
    b.push_value(2, &AbsSendTime(0x12_3456)).unwrap();
    b.push_value(
        3,
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
    let raw = p.to_bytes();
    let _shared = raw.clone();
    let map =
        ExtensionMap::from_pairs([(1, Mid::URI), (2, AbsSendTime::URI), (3, TransportCc::URI)])
            .unwrap();
    let t0 = std::time::Instant::now();
    let mut acc = 0u64;
    match mode {
        "owned" => {
            for _ in 0..n {
                let p = RtpPacket::parse(black_box(raw.clone())).unwrap();
                let k = map.read(p.header.extensions.as_ref().unwrap());
                acc = acc.wrapping_add(black_box(
                    u64::from(p.header.sequence_number) + p.payload.len() as u64 + sum(&k),
                ));
                black_box(p);
            }
        }
        "owned_ref" => {
            for _ in 0..n {
                let p = RtpPacket::parse(black_box(raw.clone())).unwrap();
                let k = map.read(p.header.extensions.as_ref().unwrap());
                acc = acc.wrapping_add(black_box(
                    u64::from(p.header.sequence_number) + p.payload.len() as u64 + sum(&k),
                ));
                black_box(&p);
            }
        }
        "clone_drop" => {
            for _ in 0..n {
                let b = black_box(raw.clone());
                acc = acc.wrapping_add(b.len() as u64);
                drop(black_box(b));
            }
        }
        "header" => {
            for _ in 0..n {
                let raw = black_box(&raw);
                let (h, info) = RtpHeader::parse(raw).unwrap();
                let k = map.read(h.extensions.as_ref().unwrap());
                acc = acc.wrapping_add(black_box(
                    u64::from(h.sequence_number) + (raw.len() - info.header_len) as u64 + sum(&k),
                ));
                black_box(h);
            }
        }
        other => panic!("unknown mode {other}"),
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("{mode}: {ns:.1} ns per parse (wall), checksum {acc}");
}
