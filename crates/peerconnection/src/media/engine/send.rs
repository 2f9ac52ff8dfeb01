//! The send half of the engine: frames and RTP packets out (SRTP protected, kept for NACKs),
//! keyframe requests, RTCP feedback and BYE, close.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrtc_rtcp::{Bye, Fir, FirEntry, Pli, RtcpPacket};
use ferrtc_rtp::RtpPacket;
use tracing::debug;

use super::MediaEngine;
use crate::media::nack::Sent;
use crate::media::router::StreamKind;
use crate::media::sender::PacketContext;
use crate::media::srtp_session::SrtpSession;
use crate::media::types::{KeyframeRequestKind, MediaMode, OutgoingFrame, TransceiverId};
use crate::Error;

impl MediaEngine {
    pub(super) fn queue(&mut self, datagram: Bytes) {
        if self.transmits.len() >= self.config.max_transmits.max(1) {
            self.drops.transmits_lost = self.drops.transmits_lost.saturating_add(1);
            return;
        }
        self.transmits.push_back(datagram);
    }

    /// Protects one plain RTP or RTCP packet and queues it.
    pub(super) fn protect_and_queue(&mut self, plain: Vec<u8>, rtcp: bool) -> Result<(), Error> {
        let d = self.protect(plain, rtcp)?;
        self.queue(d);
        Ok(())
    }

    /// Protects and queues an RTP packet of sender `i`, keeping it for NACKs when negotiated.
    fn send_media(&mut self, i: usize, plain: Vec<u8>) -> Result<(), Error> {
        let (keep, rtx) = self
            .senders
            .get(i)
            .map_or((false, false), |s| (s.nack, s.rtx.is_some()));
        if !keep {
            return self.protect_and_queue(plain, false);
        }
        let seq = match plain.get(2..4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        };
        let copy = rtx.then(|| Bytes::copy_from_slice(&plain));
        let protected = self.protect(plain, false)?;
        self.queue(protected.clone());
        let limit = self.config.nack.history;
        if let Some(s) = self.senders.get_mut(i) {
            s.history.push(
                Sent {
                    seq,
                    protected,
                    plain: copy,
                },
                limit,
            );
        }
        Ok(())
    }

    fn protect(&mut self, plain: Vec<u8>, rtcp: bool) -> Result<Bytes, Error> {
        let Some(srtp) = self.srtp.as_mut() else {
            return Err(Error::InvalidState("media: SRTP is not keyed yet".into()));
        };
        // Bytes from a Vec and back: the same allocation, no copy.
        let mut buf = BytesMut::from(Bytes::from(plain));
        let r = if rtcp {
            srtp.tx.protect_rtcp(&mut buf)
        } else {
            srtp.tx.protect_rtp(&mut buf)
        };
        match r {
            Ok(()) => Ok(buf.freeze()),
            Err(e) => Err(Error::InvalidState(format!("SRTP protect: {e}"))),
        }
    }

    fn sender_for(&mut self, tid: TransceiverId, mode: MediaMode) -> Result<usize, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let i = self
            .senders
            .iter()
            .position(|s| s.transceiver == tid)
            .ok_or_else(|| {
                Error::InvalidState(format!(
                    "transceiver {} has no negotiated media section",
                    tid.index()
                ))
            })?;
        let s = self.senders.get(i).ok_or(Error::Closed)?;
        if !s.sends() {
            return Err(Error::InvalidState(format!(
                "transceiver {} (mid {}) does not send: negotiated direction {:?}",
                tid.index(),
                s.mid,
                s.direction
            )));
        }
        if s.mode != mode {
            return Err(Error::InvalidState(format!(
                "transceiver {} is in {:?} mode; use {}",
                tid.index(),
                s.mode,
                match s.mode {
                    MediaMode::Frame => "write_frame",
                    MediaMode::Rtp => "write_rtp",
                }
            )));
        }
        if self.srtp.is_none() {
            return Err(Error::InvalidState(
                "media cannot be sent before DTLS is connected (SRTP not keyed)".into(),
            ));
        }
        Ok(i)
    }

    /// Packetizes, protects and queues one encoded frame on a [`MediaMode::Frame`]
    /// transceiver.
    pub fn write_frame(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        frame: OutgoingFrame,
    ) -> Result<(), Error> {
        let i = self.sender_for(tid, MediaMode::Frame)?;
        let mki = self.config.srtp.mki.as_ref().map_or(0, Vec::len);
        let overhead = self.srtp.as_ref().map_or(0, |s| s.rtp_overhead(mki));
        let room = self.config.mtu.saturating_sub(overhead);
        let ctx = PacketContext {
            ntp_now: self.ntp_at(now),
            twcc_seq: self.twcc_seq,
            audio_level: frame.audio_level,
        };
        let mut plain = Vec::new();
        let sender = self.senders.get_mut(i).ok_or(Error::Closed)?;
        let used = sender.write_frame(now, &frame, room, ctx, &mut self.rng, |p| plain.push(p))?;
        self.twcc_seq = self.twcc_seq.wrapping_add(used);
        for p in plain {
            self.send_media(i, p)?;
        }
        Ok(())
    }

    /// Protects and queues an application's RTP packet on a [`MediaMode::Rtp`] transceiver.
    /// Kept from the packet: payload type (a negotiated one, or its RTX type), sequence
    /// number, timestamp, marker, CSRCs, payload and padding. Set by the engine: our SSRC and
    /// the header extensions we negotiated (mid, abs-send-time, transport-wide-cc); the
    /// packet's own extensions are replaced.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        packet: RtpPacket,
    ) -> Result<(), Error> {
        let i = self.sender_for(tid, MediaMode::Rtp)?;
        let ctx = PacketContext {
            ntp_now: self.ntp_at(now),
            twcc_seq: self.twcc_seq,
            audio_level: None,
        };
        let sender = self.senders.get_mut(i).ok_or(Error::Closed)?;
        let (plain, twcc) = sender.write_rtp(now, packet, ctx)?;
        if twcc {
            self.twcc_seq = self.twcc_seq.wrapping_add(1);
        }
        if plain
            .len()
            .saturating_add(self.srtp.as_ref().map_or(0, SrtpSession::overhead))
            > self.config.mtu
        {
            debug!(
                len = plain.len(),
                "media: RTP packet above the MTU sent anyway"
            );
        }
        self.protect_and_queue(plain, false)
    }

    /// Asks the remote sender of a transceiver's receiver for a key frame: PLI (RFC 4585
    /// §6.3.1) or FIR (RFC 5104 §4.3.1, with a new command sequence number).
    pub fn request_keyframe(
        &mut self,
        tid: TransceiverId,
        kind: KeyframeRequestKind,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.srtp.is_none() {
            return Err(Error::InvalidState(
                "no keyframe request before DTLS is connected".into(),
            ));
        }
        let reporter = self.reporter_ssrc;
        let streams = &self.streams;
        let r = self
            .receivers
            .iter_mut()
            .find(|r| r.transceiver == tid)
            .ok_or_else(|| {
                Error::InvalidState(format!(
                    "transceiver {} has no negotiated media section",
                    tid.index()
                ))
            })?;
        if !r.direction.receives() {
            return Err(Error::InvalidState(format!(
                "transceiver {} does not receive",
                tid.index()
            )));
        }
        let mut ssrcs = r.media_ssrcs();
        for (ssrc, st) in streams.iter() {
            if st.route.receiver.0 == tid.index()
                && st.route.kind == StreamKind::Media
                && !ssrcs.contains(&ssrc)
            {
                ssrcs.push(ssrc);
            }
        }
        if ssrcs.is_empty() {
            return Err(Error::InvalidState(format!(
                "transceiver {}: no remote stream known yet",
                tid.index()
            )));
        }
        let fb: Vec<RtcpPacket> = match kind {
            KeyframeRequestKind::Pli => {
                r.plis_sent = r.plis_sent.saturating_add(1);
                ssrcs
                    .iter()
                    .map(|&media_ssrc| {
                        RtcpPacket::Pli(Pli {
                            sender_ssrc: reporter,
                            media_ssrc,
                        })
                    })
                    .collect()
            }
            KeyframeRequestKind::Fir => {
                r.firs_sent = r.firs_sent.saturating_add(1);
                // RFC 5104 §4.3.1.1: increment per new request, the same for repetitions.
                r.fir_seq = r.fir_seq.wrapping_add(1);
                let seq = r.fir_seq;
                vec![RtcpPacket::Fir(Fir {
                    sender_ssrc: reporter,
                    media_ssrc: 0,
                    entries: ssrcs
                        .iter()
                        .map(|&ssrc| FirEntry {
                            ssrc,
                            sequence_number: seq,
                        })
                        .collect(),
                })]
            }
        };
        let packets = self.reports.feedback(reporter, fb);
        self.send_rtcp(&packets)
    }

    pub(super) fn send_rtcp(&mut self, packets: &[RtcpPacket]) -> Result<(), Error> {
        let mut plain = Vec::with_capacity(ferrtc_rtcp::compound_len(packets) + 32);
        ferrtc_rtcp::write_compound(packets, &mut plain);
        self.protect_and_queue(plain, true)
    }

    pub(super) fn send_bye(&mut self, ssrcs: Vec<u32>) {
        let reporter = self.reporter_ssrc;
        let bye = RtcpPacket::Bye(Bye {
            ssrcs,
            reason: None,
        });
        let packets = self.reports.feedback(reporter, vec![bye]);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: BYE not sent");
        }
    }

    /// Sends a BYE for every SSRC we sent with (RFC 3550 §6.6) and stops.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        if self.srtp.is_some() {
            let mut ssrcs: Vec<u32> = self
                .senders
                .iter()
                .filter(|s| s.stats.packets_sent() > 0)
                .map(|s| s.ssrc)
                .collect();
            if ssrcs.is_empty() {
                ssrcs.push(self.reporter_ssrc);
            }
            self.send_bye(ssrcs);
        }
        self.closed = true;
    }
}
