//! The compound RTCP inputs of the RTCP benches and what ferrtc reads from them: one source
//! for this crate's `rtcp_loop` example and for the `rtcp` and `rtcp_cpu` benches of
//! ferrtc-benches (which include this file with `#[path]`: an example cannot depend on the
//! benches package, which depends on this crate).
//!
//! Inputs: SR (one report block) + SDES (CNAME) + transport-wide CC feedback for 40 packets,
//! or + a generic NACK of three FCI entries. Fields read: SR SSRC, NTP time and the block's
//! jitter, the CNAME's length, and every TWCC receive delta (in µs) or every NACK entry's PID
//! and BLP (TWCC deltas in 250 µs ticks times 250), summed into one number every
//! implementation must agree on.
#![allow(
    dead_code,
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

/// SR + SDES + TWCC feedback for 40 packets (a 90 ms gap at the 21st, every 9th lost).
pub fn twcc_packets() -> Vec<RtcpPacket> {
    let mut twcc = TransportCcBuilder::new();
    let mut t = 1_000_000_000i64;
    for i in 0..40u16 {
        t += if i == 20 { 90_000 } else { 2_250 };
        if i % 9 != 4 {
            twcc.add(1000 + i, t);
        }
    }
    let feedback = RtcpPacket::TransportCc(twcc.build(0x1234_5678, 0x8765_4321, 7).unwrap());
    report_and_cname(feedback)
}

/// SR + SDES + a NACK of losses 100, 101, 105, 130, 131, 140 and 170 (three FCI entries).
pub fn nack_packets() -> Vec<RtcpPacket> {
    report_and_cname(RtcpPacket::Nack(Nack::from_lost(
        0x1234_5678,
        0x8765_4321,
        [100, 101, 105, 130, 131, 140, 170],
    )))
}

/// SR with one report block, SDES with a CNAME, then `feedback`.
fn report_and_cname(feedback: RtcpPacket) -> Vec<RtcpPacket> {
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
        feedback,
    ]
}

/// The packets as one datagram, its buffer shared (as a receive buffer would be).
pub fn encode(packets: &[RtcpPacket]) -> Bytes {
    let mut v = Vec::new();
    write_compound(packets, &mut v);
    let raw = Bytes::from(v);
    let _ = raw.clone();
    raw
}

/// ferrtc's owned walk (`PacketIter::compound`: RFC 3550 §6.1 compound rules checked packet
/// by packet, an `RtcpPacket` value per packet, nothing collected), reading the fields.
pub fn ferrtc_owned(raw: &Bytes) -> i64 {
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
pub fn ferrtc_ref(raw: &Bytes) -> i64 {
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
