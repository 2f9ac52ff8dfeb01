//! RTCP compound parse in thread CPU time: the quiet companion of the `rtcp` criterion bench
//! (same inputs, same fields read, same code per implementation as its `rtcp/parse compound
//! SR+SDES+TWCC` and `SR+SDES+NACK` groups; see there what each side does). The CPU time of the measuring thread does not count time it spends
//! descheduled, so on this shared 2-core machine it moves far less than wall-clock criterion.
//!
//!     cargo bench -p ferrtc-benches --bench rtcp_cpu
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use ferrtc_rtcp::{
    write_compound, Nack, PacketIter, PacketRefIter, ReportBlock, RtcpPacket, RtcpPacketRef, Sdes,
    SdesChunk, SdesItem, SenderReport, TransportCcBuilder,
};

const ITERS: usize = 200_000;
const ROUNDS: usize = 10;

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

/// SR + SDES + a NACK of three FCI entries (as in the criterion bench).
fn nack_packets() -> Vec<RtcpPacket> {
    let mut v = packets();
    v[2] = RtcpPacket::Nack(Nack::from_lost(
        0x1234_5678,
        0x8765_4321,
        [100, 101, 105, 130, 131, 140, 170],
    ));
    v
}

fn input(packets: &[RtcpPacket]) -> Bytes {
    let mut v = Vec::new();
    write_compound(packets, &mut v);
    let raw = Bytes::from(v);
    let _ = raw.clone(); // shared, as a receive buffer would be
    raw
}

fn ferrtc(raw: &Bytes) -> i64 {
    // Validated as a compound (RFC 3550 §6.1) packet by packet, nothing collected.
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

fn webrtc_slice(raw: &Bytes) -> i64 {
    webrtc_body(webrtc_rtcp::packet::unmarshal(&mut black_box(&raw[..])).unwrap())
}

fn webrtc(raw: &Bytes) -> i64 {
    webrtc_body(webrtc_rtcp::packet::unmarshal(&mut black_box(raw.clone())).unwrap())
}

fn webrtc_body(pkts: Vec<Box<dyn webrtc_rtcp::packet::Packet + Send + Sync>>) -> i64 {
    use webrtc_rtcp::sender_report::SenderReport;
    use webrtc_rtcp::source_description::{SdesType, SourceDescription};
    use webrtc_rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
    use webrtc_rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
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
}

fn rtc_slice(raw: &Bytes) -> i64 {
    rtc_body(rtc_rtcp::packet::unmarshal(&mut black_box(&raw[..])).unwrap())
}

fn rtc(raw: &Bytes) -> i64 {
    rtc_body(rtc_rtcp::packet::unmarshal(&mut black_box(raw.clone())).unwrap())
}

fn rtc_body(pkts: Vec<Box<dyn rtc_rtcp::packet::Packet>>) -> i64 {
    use rtc_rtcp::sender_report::SenderReport;
    use rtc_rtcp::source_description::{SdesType, SourceDescription};
    use rtc_rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
    use rtc_rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
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
}

/// One implementation: parse the datagram and read the fields.
type Parse = fn(&Bytes) -> i64;

/// Thread CPU ns per call over `ITERS` calls.
fn measure(raw: &Bytes, f: Parse) -> f64 {
    let t0 = cpu_time::ThreadTime::now();
    for _ in 0..ITERS {
        black_box(f(raw));
    }
    t0.elapsed().as_nanos() as f64 / ITERS as f64
}

fn main() {
    for (name, raw) in [
        ("SR+SDES+TWCC", input(&packets())),
        ("SR+SDES+NACK", input(&nack_packets())),
    ] {
        run(name, &raw);
    }
}

fn run(name: &str, raw: &Bytes) {
    // All read the same values.
    assert_eq!(ferrtc(raw), webrtc(raw));
    assert_eq!(ferrtc(raw), rtc(raw));
    assert_eq!(ferrtc_ref(raw), webrtc(raw));
    println!(
        "rtcp/parse compound {name}, thread CPU time per compound, best of {ROUNDS} x {ITERS}"
    );
    // Rounds interleave the implementations, so that a burst of load from other processes
    // hits all of them; each keeps its best round.
    let imps: [(&str, Parse); 6] = [
        ("ferrtc PacketRefIter", ferrtc_ref),
        ("ferrtc PacketIter (owned)", ferrtc),
        ("webrtc-rs 0.17", webrtc),
        ("webrtc-rs 0.17 (from &[u8])", webrtc_slice),
        ("rtc 0.21", rtc),
        ("rtc 0.21 (from &[u8])", rtc_slice),
    ];
    let mut best = [f64::MAX; 6];
    for _ in 0..ROUNDS {
        for (b, (_, f)) in best.iter_mut().zip(imps) {
            *b = b.min(measure(raw, f));
        }
    }
    for (b, (name, _)) in best.iter().zip(imps) {
        println!("  {name:<28} {b:>8.1} ns   {:.2}x", b / best[0]);
    }
}
