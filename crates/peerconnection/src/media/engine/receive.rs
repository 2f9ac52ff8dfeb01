//! The receive half of the engine: SRTP/SRTCP datagrams in, RTP routed to receivers (RTX
//! unwrapped, RFC 3550 statistics, NACK generators, frame assembly), RTCP acted on (reports,
//! keyframe requests, NACKs answered from the send history, BYE).

use std::time::Instant;

use bytes::Bytes;
use ferrtc_rtcp::{Nack, ReportBlock, RtcpPacket};
use ferrtc_rtp::RtpPacket;
use tracing::{debug, trace};

use super::{MediaEngine, RemoteOutbound};
use crate::media::nack::NackGenerator;
use crate::media::router::{Route, RouteInfo, StreamKind};
use crate::media::rtcp_schedule::LOWER_LAYER_OVERHEAD;
use crate::media::srtp_session::is_rtcp;
use crate::media::types::{KeyframeRequestKind, MediaMode, TransceiverId};
use crate::media::NtpTime;
use crate::Event;

impl MediaEngine {
    /// An SRTP or SRTCP datagram from the peer (RFC 5761 §4 tells them apart).
    pub fn handle_datagram(&mut self, now: Instant, datagram: Bytes) {
        if self.closed {
            return;
        }
        let rtcp = is_rtcp(&datagram);
        let size = datagram.len();
        let Some(srtp) = self.srtp.as_mut() else {
            self.drops.not_keyed = self.drops.not_keyed.saturating_add(1);
            return;
        };
        let Some(plain) = srtp.unprotect(datagram, rtcp, &mut self.drops) else {
            return;
        };
        if rtcp {
            self.handle_rtcp(now, plain, size);
        } else {
            self.handle_rtp(now, plain);
        }
    }

    fn handle_rtp(&mut self, now: Instant, plain: Bytes) {
        let Ok(mut packet) = RtpPacket::parse(plain) else {
            self.drops.malformed = self.drops.malformed.saturating_add(1);
            return;
        };
        let (route, audio_level) = {
            let ext = packet
                .header
                .extensions
                .as_ref()
                .map(|e| self.extmap.read(e))
                .unwrap_or_default();
            (
                self.router.route(&RouteInfo::new(&packet.header, &ext)),
                ext.audio_level,
            )
        };
        let Ok(mut route) = route else {
            self.drops.unrouted = self.drops.unrouted.saturating_add(1);
            return;
        };
        let Some(ri) = self
            .receivers
            .iter()
            .position(|r| r.transceiver.index() == route.receiver.0)
        else {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        };
        let Some(receiver) = self.receivers.get_mut(ri) else {
            return;
        };
        if !receiver.direction.receives() {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        }
        if let StreamKind::Repair { primary } = route.kind {
            // RFC 4588 §4: OSN in the first two payload octets, apt names the original PT.
            if packet.payload.len() < 2 {
                // Padding-only RTX (bandwidth probing): nothing to deliver.
                return;
            }
            let (Some(primary), Some(apt)) = (primary, receiver.apt(packet.header.payload_type))
            else {
                self.drops.bad_rtx = self.drops.bad_rtx.saturating_add(1);
                return;
            };
            let Ok(original) = ferrtc_rtp::rtx::decapsulate(&packet, apt, primary) else {
                self.drops.bad_rtx = self.drops.bad_rtx.saturating_add(1);
                return;
            };
            receiver.retransmitted_received = receiver.retransmitted_received.saturating_add(1);
            packet = original;
            route = Route {
                ssrc: primary,
                kind: StreamKind::Media,
                ..route
            };
        }
        let clock = receiver
            .codec(packet.header.payload_type)
            .map_or(90_000, |c| c.clock_rate);
        let mode = receiver.mode;
        let tid = receiver.transceiver;
        let nack = receiver.nack;
        let Ok(verdict) = self.streams.on_rtp(
            now,
            &route,
            packet.header.sequence_number,
            packet.header.timestamp,
            packet.payload.len(),
            clock,
        ) else {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        };
        if let (true, Some(ext)) = (nack, verdict.extended()) {
            // One generator per receive stream: bounded by the stream table.
            if self.nack_gens.contains_key(&route.ssrc)
                || self.nack_gens.len() < self.config.streams.max_streams
            {
                let (_, g) = self
                    .nack_gens
                    .entry(route.ssrc)
                    .or_insert_with(|| (tid, NackGenerator::default()));
                g.on_packet(now, ext, &self.config.nack);
            }
        }
        match mode {
            MediaMode::Rtp => self.push_event(Event::Rtp {
                transceiver: tid,
                packet,
            }),
            MediaMode::Frame => {
                let mut frames = std::mem::take(&mut self.frame_scratch);
                let fb = self.config.frame_buffer;
                let rid = route.rid.and_then(|i| self.router.rid(route.receiver, i));
                let ok = self
                    .receivers
                    .get_mut(ri)
                    .is_some_and(|r| r.insert(now, packet, rid, audio_level, &fb, &mut frames));
                if !ok {
                    self.drops.refused = self.drops.refused.saturating_add(1);
                }
                self.push_frames(&mut frames);
                self.frame_scratch = frames;
            }
        }
    }

    fn handle_rtcp(&mut self, now: Instant, plain: Bytes, size: usize) {
        let Ok(packets) = ferrtc_rtcp::parse(plain) else {
            self.drops.malformed = self.drops.malformed.saturating_add(1);
            return;
        };
        if let Some(s) = self.scheduler.as_mut() {
            s.on_report_received(size.saturating_add(LOWER_LAYER_OVERHEAD));
        }
        let arrival = self.ntp_at(now);
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if self.streams.on_sender_report(now, &sr) {
                        let tid = self.router.receiver_of(sr.ssrc).map(|r| TransceiverId(r.0));
                        if let Some(transceiver) = tid {
                            let prev = self
                                .remote_outbound
                                .get(&sr.ssrc)
                                .map_or(0, |r| r.reports_sent);
                            self.remote_outbound.insert(
                                sr.ssrc,
                                RemoteOutbound {
                                    ntp: NtpTime(sr.ntp_timestamp),
                                    packets_sent: sr.packet_count,
                                    octets_sent: sr.octet_count,
                                    reports_sent: prev.saturating_add(1),
                                    transceiver,
                                },
                            );
                        }
                    }
                    self.on_blocks(now, arrival, &sr.reports);
                }
                RtcpPacket::ReceiverReport(rr) => self.on_blocks(now, arrival, &rr.reports),
                RtcpPacket::Pli(pli) => {
                    self.keyframe_request(pli.media_ssrc, KeyframeRequestKind::Pli);
                }
                RtcpPacket::Fir(fir) => {
                    for e in &fir.entries {
                        if !self.senders.iter().any(|s| s.ssrc == e.ssrc) {
                            continue;
                        }
                        // RFC 5104 §4.3.1.2: the same sequence number repeats a request
                        // already acted on.
                        if self.last_fir.insert(e.ssrc, e.sequence_number)
                            == Some(e.sequence_number)
                        {
                            continue;
                        }
                        self.keyframe_request(e.ssrc, KeyframeRequestKind::Fir);
                    }
                }
                RtcpPacket::Nack(n) => self.on_nack(&n),
                RtcpPacket::Bye(bye) => {
                    for ssrc in bye.ssrcs {
                        self.forget_remote(ssrc);
                    }
                }
                _ => {}
            }
        }
    }

    /// RFC 4585 §6.2.1 generic NACK: resend what the history still holds, as RTX (RFC 4588
    /// §4) when negotiated, else the same SRTP datagram. At most 128 packets per NACK.
    fn on_nack(&mut self, n: &Nack) {
        let Some(i) = self.senders.iter().position(|s| s.ssrc == n.media_ssrc) else {
            return;
        };
        let mut out: Vec<(Option<Vec<u8>>, Bytes)> = Vec::new();
        if let Some(s) = self.senders.get_mut(i) {
            s.nacks_received = s.nacks_received.saturating_add(1);
            for seq in n.pairs.iter().flat_map(|p| p.lost()).take(128) {
                let Some(sent) = s.history.get(seq).cloned() else {
                    continue;
                };
                let rtx = sent.plain.as_ref().and_then(|plain| {
                    let original = RtpPacket::parse(plain.clone()).ok()?;
                    let rtx_pt = s.rtx_for(original.header.payload_type)?;
                    let (rtx_ssrc, rtx_seq) = s.rtx?;
                    s.rtx = Some((rtx_ssrc, rtx_seq.wrapping_add(1)));
                    let pkt = ferrtc_rtp::rtx::encapsulate(&original, rtx_pt, rtx_ssrc, rtx_seq);
                    s.stats.on_retransmission(original.payload.len());
                    let mut buf = Vec::with_capacity(pkt.encoded_len() + 32);
                    pkt.write_to(&mut buf);
                    Some(buf)
                });
                if rtx.is_none() {
                    s.stats.on_retransmission(sent.protected.len());
                }
                out.push((rtx, sent.protected));
            }
        }
        for (rtx, protected) in out {
            match rtx {
                Some(plain) => {
                    if let Err(e) = self.protect_and_queue(plain, false) {
                        debug!(error = %e, "media: RTX not sent");
                    }
                }
                None => self.queue(protected),
            }
        }
    }

    pub(super) fn forget_remote(&mut self, ssrc: u32) {
        self.nack_gens.remove(&ssrc);
        self.streams.remove(ssrc);
        self.router.forget_ssrc(ssrc);
        self.remote_outbound.remove(&ssrc);
        for r in &mut self.receivers {
            r.remove_ssrc(ssrc);
        }
    }

    fn on_blocks(&mut self, now: Instant, arrival: NtpTime, blocks: &[ReportBlock]) {
        for b in blocks {
            if let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == b.ssrc) {
                s.on_report_block(now, arrival, b);
            }
        }
    }

    fn keyframe_request(&mut self, ssrc: u32, kind: KeyframeRequestKind) {
        let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == ssrc) else {
            trace!(ssrc, "media: keyframe request for an SSRC we do not send");
            return;
        };
        match kind {
            KeyframeRequestKind::Pli => s.plis_received = s.plis_received.saturating_add(1),
            KeyframeRequestKind::Fir => s.firs_received = s.firs_received.saturating_add(1),
        }
        let transceiver = s.transceiver;
        self.push_event(Event::KeyframeRequest { transceiver, kind });
    }
}
