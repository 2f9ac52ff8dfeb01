//! The engine's timers: frame buffer deadlines, NACK retries and the RTCP report schedule
//! (RFC 3550 §6.3.6 with timer reconsideration).

use std::time::{Duration, Instant};

use ferrtc_rtcp::{Nack, RtcpPacket};
use tracing::debug;

use super::MediaEngine;
use crate::media::receive::Receiver;
use crate::media::rtcp_schedule::{RtcpScheduler, LOWER_LAYER_OVERHEAD};
use crate::media::sender_stats::SenderStats;
use crate::media::srtp_session::SrtpSession;

impl MediaEngine {
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let rtt = self.round_trip_time();
        let rtcp = self
            .scheduler
            .as_ref()
            .filter(|_| !self.applied.is_empty())
            .map(RtcpScheduler::poll_timeout);
        let fb = self
            .receivers
            .iter()
            .filter_map(Receiver::poll_timeout)
            .min();
        let nack = self
            .nack_gens
            .values()
            .filter_map(|(_, g)| g.poll_timeout(rtt, &self.config.nack))
            .min();
        [rtcp, fb, nack].into_iter().flatten().min()
    }

    /// Fires what is due: frame buffer timers, then the RTCP report (RFC 3550 §6.3.6 with
    /// timer reconsideration).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        let mut frames = std::mem::take(&mut self.frame_scratch);
        for r in &mut self.receivers {
            r.handle_timeout(now, &mut frames);
        }
        self.push_frames(&mut frames);
        self.frame_scratch = frames;
        if self.applied.is_empty() {
            return;
        }
        self.send_nacks(now);
        let members = u32::try_from(self.streams.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let we_sent = self.senders.iter().any(|s| s.stats.is_sender());
        let senders = u32::try_from(self.senders.iter().filter(|s| s.stats.is_sender()).count())
            .unwrap_or(u32::MAX);
        let due = match self.scheduler.as_mut() {
            Some(s) if now >= s.poll_timeout() => {
                s.set_members(members, senders.saturating_add(1).min(members), we_sent);
                s.handle_timeout(now, &mut self.rng)
            }
            _ => false,
        };
        if due {
            self.send_report(now);
        }
    }

    /// The round-trip time NACK retries are spaced by: the smallest smoothed RTT our senders
    /// measured from the peer's reports (RFC 3550 §6.4.1; one transport, so they agree up to
    /// noise), `None` while none is known (a receive-only engine has no SR to be answered).
    pub fn round_trip_time(&self) -> Option<Duration> {
        self.senders.iter().filter_map(|s| s.rtt.smoothed()).min()
    }

    fn send_nacks(&mut self, now: Instant) {
        let cfg = self.config.nack;
        let rtt = self.round_trip_time();
        let mut nacks = Vec::new();
        for (&ssrc, (tid, g)) in &mut self.nack_gens {
            if g.poll_timeout(rtt, &cfg).is_some_and(|t| t <= now) {
                let lost = g.due(now, rtt, &cfg);
                if !lost.is_empty() {
                    nacks.push((*tid, Nack::from_lost(self.reporter_ssrc, ssrc, lost)));
                }
            }
        }
        if nacks.is_empty() {
            return;
        }
        for (tid, _) in &nacks {
            if let Some(r) = self.receivers.iter_mut().find(|r| r.transceiver == *tid) {
                r.nacks_sent = r.nacks_sent.saturating_add(1);
            }
        }
        let fb = nacks
            .into_iter()
            .map(|(_, n)| RtcpPacket::Nack(n))
            .collect();
        let packets = self.reports.feedback(self.reporter_ssrc, fb);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: NACK not sent");
        }
    }

    fn send_report(&mut self, now: Instant) {
        for ssrc in self.streams.expire(now) {
            self.forget_remote(ssrc);
        }
        let ntp = self.ntp_at(now);
        let mut stats: Vec<_> = self
            .senders
            .iter_mut()
            .map(|s| std::mem::replace(&mut s.stats, SenderStats::new(0, 0)))
            .collect();
        let (packets, _) =
            self.reports
                .regular(now, ntp, self.reporter_ssrc, &mut stats, &mut self.streams);
        for (s, st) in self.senders.iter_mut().zip(stats) {
            s.stats = st;
        }
        for p in &packets {
            if let RtcpPacket::SenderReport(sr) = p {
                if let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == sr.ssrc) {
                    s.rtt.on_sender_report_sent(ntp);
                }
            }
        }
        let size = ferrtc_rtcp::compound_len(&packets);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: report not sent");
        }
        let overhead = self.srtp.as_ref().map_or(0, SrtpSession::overhead);
        if let Some(s) = self.scheduler.as_mut() {
            s.on_report_sent(now, size + overhead + LOWER_LAYER_OVERHEAD, &mut self.rng);
        }
    }
}
