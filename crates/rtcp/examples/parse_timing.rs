//! Times compound parsing of the bench input (SR + SDES + TWCC of 40 packets) in a loop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_rtcp::*;

fn main() {
    let mut twcc = TransportCcBuilder::new();
    let mut t = 1_000_000_000i64;
    for i in 0..40u16 {
        t += if i == 20 { 90_000 } else { 2_250 };
        if i % 9 != 4 {
            twcc.add(1000 + i, t);
        }
    }
    let pk = vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 0x1234_5678,
            ntp_timestamp: 0xe8f1_2345_6789_abcd,
            rtp_timestamp: 3_000_000,
            packet_count: 1000,
            octet_count: 1_000_000,
            reports: vec![ReportBlock {
                ssrc: 1,
                jitter: 45,
                ..Default::default()
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
    ];
    let mut v = Vec::new();
    write_compound(&pk, &mut v);
    let raw = Bytes::from(v);
    let _keep = raw.clone();
    let n = 2_000_000;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
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
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    println!("{best:.1} ns per compound");
}
