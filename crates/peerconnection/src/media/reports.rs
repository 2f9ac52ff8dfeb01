//! Building the RTCP a WebRTC endpoint sends: regular reports (RFC 3550 §6.4, §6.1 compound
//! rules) and feedback, compound or reduced-size (RFC 5506).
//!
//! A regular report is always compound: an SR per local SSRC that sent media since the report
//! before the last (§6.4; RFC 8108 §5.3 lets each local media source send its own), the
//! first one carrying the report blocks about the sources we receive, or an RR when none sent;
//! then an SDES with the CNAME of every local SSRC that appears. Feedback (NACK, PLI, FIR,
//! TWCC…) goes alone when reduced-size RTCP was negotiated, else behind an empty RR and the
//! SDES, so that every packet on the wire is a valid compound one.

use std::time::Instant;

use bytes::Bytes;
use ferrtc_rtcp::{ReceiverReport, ReportBlocks, RtcpPacket, Sdes, SdesChunk, SdesItem};

use super::receiver::ReceiveStreams;
use super::sender_stats::SenderStats;
use super::NtpTime;

/// Report blocks in one SR or RR (the 5-bit count).
pub const MAX_BLOCKS: usize = 31;

/// What every report carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportBuilder {
    /// The CNAME of this endpoint (RFC 7022: a random per-session value).
    pub cname: Bytes,
    /// Reduced-size RTCP negotiated (a=rtcp-rsize).
    pub reduced_size: bool,
}

impl ReportBuilder {
    /// A builder with this CNAME.
    pub fn new(cname: impl Into<Bytes>, reduced_size: bool) -> Self {
        Self {
            cname: cname.into(),
            reduced_size,
        }
    }

    fn sdes(&self, ssrcs: impl IntoIterator<Item = u32>) -> RtcpPacket {
        RtcpPacket::Sdes(Sdes {
            chunks: ssrcs
                .into_iter()
                .take(MAX_BLOCKS)
                .map(|ssrc| SdesChunk {
                    ssrc,
                    items: smallvec_one(SdesItem::cname(self.cname.clone())),
                })
                .collect(),
        })
    }

    /// The regular report made at `now` (wall clock `ntp_now`). `senders` are our outgoing
    /// streams (each one that sent gets an SR, marked as reported); `reporter` is the SSRC an
    /// RR comes from when none sent (a receive-only endpoint uses a random one). Returns the
    /// packets and whether SRs are among them (then the caller records `ntp_now` with
    /// [`super::rtt::RttEstimator::on_sender_report_sent`]).
    pub fn regular(
        &self,
        now: Instant,
        ntp_now: NtpTime,
        reporter: u32,
        senders: &mut [SenderStats],
        streams: &mut ReceiveStreams,
    ) -> (Vec<RtcpPacket>, bool) {
        let mut blocks = Some(streams.report_blocks(now, MAX_BLOCKS));
        let mut packets = Vec::new();
        let mut cnames = Vec::new();
        for s in senders.iter_mut() {
            if !s.is_sender() {
                s.on_report(now, ntp_now);
                continue;
            }
            let b = blocks.take().unwrap_or_default();
            match s.sender_report(now, ntp_now, b.clone()) {
                Some(sr) => {
                    cnames.push(sr.ssrc);
                    packets.push(RtcpPacket::SenderReport(sr));
                }
                // No timestamp reference yet: no SR, and the blocks wait for the next one.
                None => {
                    s.on_report(now, ntp_now);
                    blocks = Some(b);
                }
            }
        }
        let sent_sr = !packets.is_empty();
        if !sent_sr {
            packets.push(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: reporter,
                reports: blocks.take().unwrap_or_default(),
                profile_extensions: Bytes::new(),
            }));
            cnames.push(reporter);
        }
        packets.push(self.sdes(cnames));
        (packets, sent_sr)
    }

    /// Feedback from `reporter`: alone with reduced-size RTCP, else after an empty RR and the
    /// SDES CNAME (RFC 4585 §3.1 early feedback in a minimal compound packet).
    pub fn feedback(&self, reporter: u32, feedback: Vec<RtcpPacket>) -> Vec<RtcpPacket> {
        if self.reduced_size {
            return feedback;
        }
        let mut packets = Vec::with_capacity(feedback.len() + 2);
        packets.push(RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: reporter,
            reports: ReportBlocks::new(),
            profile_extensions: Bytes::new(),
        }));
        packets.push(self.sdes([reporter]));
        packets.extend(feedback);
        packets
    }
}

fn smallvec_one(item: SdesItem) -> ferrtc_rtcp::SdesItems {
    std::iter::once(item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::receiver::StreamsConfig;
    use crate::media::receiver_stats::ReceiveConfig;
    use crate::media::router::{ReceiverId, Route, RoutedBy, StreamKind};
    use ferrtc_rtcp::{parse_strict_compound, write_compound, Pli};

    fn streams_with(ssrcs: &[u32], now: Instant) -> ReceiveStreams {
        let mut s = ReceiveStreams::new(StreamsConfig {
            sequence: ReceiveConfig {
                min_sequential: 1,
                ..ReceiveConfig::new(90_000)
            },
            ..StreamsConfig::default()
        });
        for &ssrc in ssrcs {
            let route = Route {
                receiver: ReceiverId(0),
                ssrc,
                rid: None,
                kind: StreamKind::Media,
                by: RoutedBy::Ssrc,
                new_binding: true,
            };
            s.on_rtp(now, &route, 1, 0, 10, 90_000).unwrap();
        }
        s
    }

    fn wire(packets: &[RtcpPacket]) -> Bytes {
        let mut out = Vec::new();
        write_compound(packets, &mut out);
        Bytes::from(out)
    }

    #[test]
    fn receive_only_sends_rr_and_cname() {
        let t0 = ferrtc_testkit::epoch();
        let b = ReportBuilder::new(&b"cname-1"[..], true);
        let mut streams = streams_with(&[0xaa, 0xbb], t0);
        let (packets, sr) = b.regular(t0, NtpTime(1 << 32), 0x1234, &mut [], &mut streams);
        assert!(!sr);
        // Valid under all of RFC 3550 §6.1 (checked by ferrtc-rtcp's own parser).
        let parsed = parse_strict_compound(wire(&packets)).unwrap();
        assert_eq!(parsed.len(), 2);
        match &parsed[0] {
            RtcpPacket::ReceiverReport(rr) => {
                assert_eq!(rr.ssrc, 0x1234);
                let ssrcs: Vec<u32> = rr.reports.iter().map(|b| b.ssrc).collect();
                assert_eq!(ssrcs, vec![0xaa, 0xbb]);
            }
            other => panic!("expected RR, got {other:?}"),
        }
        match &parsed[1] {
            RtcpPacket::Sdes(s) => {
                assert_eq!(s.chunks[0].ssrc, 0x1234);
                assert_eq!(&s.chunks[0].items[0].value[..], b"cname-1");
            }
            other => panic!("expected SDES, got {other:?}"),
        }
    }

    #[test]
    fn senders_send_sr_with_the_blocks_on_the_first() {
        let t0 = ferrtc_testkit::epoch();
        let b = ReportBuilder::new(&b"c"[..], false);
        let mut streams = streams_with(&[0xaa], t0);
        let mut audio = SenderStats::new(1, 48_000);
        let mut video = SenderStats::new(2, 90_000);
        let idle = SenderStats::new(3, 90_000);
        for s in [&mut audio, &mut video] {
            s.set_timestamp_reference(t0, 1000);
            s.on_packet_sent(t0, 12, 100);
        }
        let mut senders = [audio, video, idle.clone()];
        let (packets, sr) = b.regular(t0, NtpTime(7 << 32), 0x99, &mut senders, &mut streams);
        assert!(sr);
        let parsed = parse_strict_compound(wire(&packets)).unwrap();
        assert_eq!(parsed.len(), 3);
        let (RtcpPacket::SenderReport(a), RtcpPacket::SenderReport(v)) = (&parsed[0], &parsed[1])
        else {
            panic!("expected two SRs: {parsed:?}");
        };
        assert_eq!((a.ssrc, a.reports.len(), a.ntp_timestamp), (1, 1, 7 << 32));
        assert_eq!((v.ssrc, v.reports.len(), v.packet_count), (2, 0, 1));
        let RtcpPacket::Sdes(s) = &parsed[2] else {
            panic!("expected SDES")
        };
        let ssrcs: Vec<u32> = s.chunks.iter().map(|c| c.ssrc).collect();
        assert_eq!(ssrcs, vec![1, 2]);
        assert_eq!(senders[0].reports(), 1);
        // The idle sender made no SR but the report counts for its §6.4 sender flag.
        assert_eq!(senders[2].reports(), 1);
        assert_eq!(idle.reports(), 0);
    }

    #[test]
    fn feedback_reduced_size_or_compound() {
        let pli = RtcpPacket::Pli(Pli {
            sender_ssrc: 5,
            media_ssrc: 6,
        });
        let reduced = ReportBuilder::new(&b"c"[..], true).feedback(5, vec![pli.clone()]);
        assert_eq!(reduced, vec![pli.clone()]);
        assert!(parse_strict_compound(wire(&reduced)).is_err());
        let full = ReportBuilder::new(&b"c"[..], false).feedback(5, vec![pli.clone()]);
        let parsed = parse_strict_compound(wire(&full)).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[2], pli);
    }
}
