//! SACK in both directions: processing the peer's SACKs (RFC 9260 §6.2.1, §7.2: RTT, fast
//! retransmit, congestion window) and building ours (§6.2, window and gap blocks).

use std::time::{Duration, Instant};

use crate::chunk::{GapBlock, SackChunk};
use crate::packet::COMMON_HEADER_LEN;

use super::*;

/// What one SACK acknowledged.
#[derive(Default)]
struct Acked {
    /// Bytes newly acknowledged (cumulatively or by gap blocks).
    bytes: usize,
    /// RTT of a newly acknowledged chunk sent once (Karn's rule, §6.3.1 C5).
    rtt_sample: Option<Duration>,
    /// Highest TSN newly acknowledged by a gap block (for miss indications, §7.2.4).
    highest_newly_acked: Option<u32>,
}

impl Association {
    pub(super) fn on_sack(&mut self, now: Instant, s: SackChunk) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        let cum = s.cum_tsn_ack;
        if tsn_lt(cum, self.cum_ack) {
            return; // stale, §6.2.1 D i
        }
        if tsn_lt(self.next_tsn.wrapping_sub(1), cum) {
            // RFC 9260 §12.4: "An SCTP implementation MUST abort the association if it
            // receives a SACK chunk acknowledging a TSN that has not been sent."
            self.protocol_violation("SACK acknowledges a TSN never sent");
            return;
        }
        let flight_before = self.flight_size;
        let advanced = cum != self.cum_ack;
        let mut acked = Acked::default();
        self.ack_cumulative(now, cum, &mut acked);
        self.ack_gap_blocks(now, &s.gap_blocks, &mut acked);
        if let Some(r) = acked.rtt_sample {
            self.update_rto(r);
        }
        if let Some(high) = acked.highest_newly_acked {
            self.count_misses(now, high);
        }
        if let Some(exit) = self.fast_recovery_exit {
            if tsn_le(exit, cum) {
                self.fast_recovery_exit = None;
            }
        }
        if advanced && self.fast_recovery_exit.is_none() {
            self.grow_cwnd(flight_before, acked.bytes);
        }
        if advanced {
            self.error_count = 0;
        }
        self.peer_rwnd = (s.a_rwnd as usize).saturating_sub(self.flight_size);
        // Max burst (§6.1 D): in reply to this SACK send at most what it acknowledged plus
        // Max.Burst packets. (Lowering cwnd instead, as RFC 9260 allows, would collapse
        // the window whenever a batch of packets is acknowledged at once.)
        self.burst_budget = acked.bytes.div_ceil(self.mtu()) + self.cfg.max_burst;
        // T3-rtx (§6.3.2 R2, R3).
        if self.flight_size == 0
            && self.rtx_pending == 0
            && !self
                .inflight
                .iter()
                .any(|c| c.state == SentState::Abandoned)
        {
            self.timers.stop(Timer::Retransmit);
        } else if advanced {
            self.timers.set(Timer::Retransmit, now + self.rto);
        }
        self.update_forward_tsn();
        self.check_low_water();
    }

    /// Removes what the Cumulative TSN Ack covers from the in-flight queue (§6.2.1 D ii).
    fn ack_cumulative(&mut self, now: Instant, cum: u32, acked: &mut Acked) {
        while let Some(front) = self.inflight.front() {
            if !tsn_le(front.tsn, cum) {
                break;
            }
            let Some(c) = self.inflight.pop_front() else {
                break;
            };
            match c.state {
                SentState::Outstanding => {
                    self.flight_size -= c.payload.len();
                    acked.bytes += c.payload.len();
                    if c.tx_count == 1 {
                        acked.rtt_sample = Some(now.saturating_duration_since(c.sent_at));
                    }
                }
                SentState::NeedsRtx => {
                    self.rtx_pending -= 1;
                    acked.bytes += c.payload.len();
                }
                SentState::Acked | SentState::Abandoned => {}
            }
        }
        self.cum_ack = cum;
    }

    /// Marks what the gap ack blocks cover (§6.2.1 D iii), at most `max_gap_blocks` of them.
    fn ack_gap_blocks(&mut self, now: Instant, blocks: &[GapBlock], acked: &mut Acked) {
        for g in blocks.iter().take(self.cfg.max_gap_blocks) {
            if g.start == 0 || g.end < g.start {
                continue;
            }
            let lo = g.start as usize - 1;
            let hi = (g.end as usize - 1).min(self.inflight.len().saturating_sub(1));
            for i in lo..=hi {
                let Some(c) = self.inflight.get_mut(i) else {
                    break;
                };
                match c.state {
                    SentState::Outstanding => {
                        self.flight_size -= c.payload.len();
                        acked.bytes += c.payload.len();
                        c.state = SentState::Acked;
                        if c.tx_count == 1 {
                            acked.rtt_sample = Some(now.saturating_duration_since(c.sent_at));
                        }
                        acked.highest_newly_acked = Some(c.tsn);
                    }
                    SentState::NeedsRtx => {
                        self.rtx_pending -= 1;
                        c.state = SentState::Acked;
                        acked.highest_newly_acked = Some(c.tsn);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Miss indications and fast retransmit (§7.2.4): chunks below the highest newly acked
    /// TSN get a miss; the third marks them for retransmission and, outside fast recovery,
    /// halves the window.
    fn count_misses(&mut self, now: Instant, high: u32) {
        let mut newly_marked = false;
        let fr = self.fast_recovery_exit.is_some();
        for c in self.inflight.iter_mut() {
            if !tsn_lt(c.tsn, high) {
                break;
            }
            if c.state == SentState::Outstanding {
                c.misses = c.misses.saturating_add(1);
                if c.misses >= 3 {
                    c.misses = 0;
                    c.state = SentState::NeedsRtx;
                    self.flight_size -= c.payload.len();
                    self.rtx_pending += 1;
                    newly_marked = true;
                }
            }
        }
        if newly_marked {
            self.stats.fast_retransmits += 1;
            self.fast_rtx_once = true;
            if !fr {
                self.ssthresh = (self.cwnd / 2).max(4 * self.mtu());
                self.cwnd = self.ssthresh;
                self.partial_bytes_acked = 0;
                self.fast_recovery_exit = Some(self.next_tsn.wrapping_sub(1));
            }
            self.abandon_marked(now);
        }
    }

    /// Congestion window growth on a SACK that advanced the Cumulative TSN Ack (§7.2.1
    /// slow start, §7.2.2 congestion avoidance).
    fn grow_cwnd(&mut self, flight_before: usize, bytes_acked: usize) {
        let mtu = self.mtu();
        if self.cwnd <= self.ssthresh {
            if flight_before + mtu >= self.cwnd {
                // RFC 9260 §7.2.1 allows one MTU per SACK. A SACK that covers many
                // packets (receive batching, ack compression) stands for the one SACK
                // per two packets the peer would otherwise send, so grow by that.
                self.cwnd += bytes_acked.min(mtu.max(bytes_acked / 2));
            }
        } else {
            self.partial_bytes_acked += bytes_acked;
            if self.partial_bytes_acked >= self.cwnd && flight_before + mtu >= self.cwnd {
                self.partial_bytes_acked -= self.cwnd;
                self.cwnd += mtu;
            }
        }
    }

    pub(super) fn update_rto(&mut self, r: Duration) {
        // §6.3.1 with alpha 1/8, beta 1/4.
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let g = Duration::from_millis(1);
        self.rto = (srtt + (4 * self.rttvar).max(g)).clamp(self.cfg.rto_min, self.cfg.rto_max);
    }

    /// Bytes charged against the advertised window: everything buffered except up to one
    /// maximum-size message still being reassembled, so a message as large as the receive
    /// buffer cannot close the window on itself.
    pub(super) fn window_used(&self) -> usize {
        self.rx_buffered
            - self
                .rx_partial
                .min(self.cfg.max_message_size)
                .min(self.rx_buffered)
    }

    pub(super) fn rwnd(&self) -> usize {
        let free = self
            .cfg
            .receive_buffer_size
            .saturating_sub(self.window_used());
        // SWS avoidance: advertise zero rather than a window smaller than one packet.
        if free < self.mtu() {
            0
        } else {
            free
        }
    }

    pub(super) fn build_sack(&mut self) -> SackChunk {
        let mut gap_blocks = Vec::new();
        let max_blocks = (self.mtu() - COMMON_HEADER_LEN - 16 - 64) / 4;
        let mut iter = self.out_of_order.iter();
        let mut run: Option<(u32, u32)> = None;
        for &t in iter.by_ref() {
            let off = t.wrapping_sub(self.peer_cum);
            if off > u16::MAX as u32 {
                break;
            }
            match run {
                Some((s, e)) if off == e + 1 => run = Some((s, off)),
                Some((s, e)) => {
                    gap_blocks.push(GapBlock {
                        start: s as u16,
                        end: e as u16,
                    });
                    run = Some((off, off));
                }
                None => run = Some((off, off)),
            }
            if gap_blocks.len() >= max_blocks {
                run = None;
                break;
            }
        }
        if let Some((s, e)) = run {
            gap_blocks.push(GapBlock {
                start: s as u16,
                end: e as u16,
            });
        }
        let rwnd = self.rwnd();
        self.last_advertised_rwnd = rwnd;
        SackChunk {
            cum_tsn_ack: self.peer_cum,
            a_rwnd: rwnd.min(u32::MAX as usize) as u32,
            gap_blocks,
            dup_tsns: std::mem::take(&mut self.dups),
        }
    }
}
