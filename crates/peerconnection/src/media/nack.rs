//! Generic NACK (RFC 4585 §6.2.1) both ways, bounded:
//!
//! - [`NackGenerator`]: per remote media SSRC, the sequence numbers missing behind the highest
//!   one received, each asked for at once and then again a few times
//!   ([`NackConfig::max_retries`] requests in all) until it arrives or is too old. A request
//!   for the same packet is repeated no sooner than one round trip after the last one (RFC 4585
//!   §3.2: the retransmission cannot arrive earlier), as libwebrtc's NACK module does: the RTT
//!   measured from our reports, held within [`NackConfig::min_retry_interval`] and
//!   [`NackConfig::max_retry_interval`], or [`NackConfig::retry_interval`] while no RTT is
//!   known. At most [`NackConfig::max_missing`] are tracked; a larger gap is a loss burst or a
//!   restart, not worth asking for.
//! - [`SendHistory`]: the last packets a sender sent, by sequence number, to answer a NACK
//!   with an RTX packet (RFC 4588 §4, when negotiated) or the same SRTP datagram again.
//!
//! The resilience work (issue on NACK/RTX/FEC) is meant to deepen this module (keyframe
//! requests when recovery fails); the engine only calls it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Limits of NACK generation and send history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackConfig {
    /// Missing sequence numbers tracked per remote SSRC.
    pub max_missing: usize,
    /// Times a missing packet is asked for (the first request included); then it is given up.
    pub max_retries: u8,
    /// Time between two requests for the same packet while no round-trip time is known
    /// (libwebrtc's default RTT, 100 ms).
    pub retry_interval: Duration,
    /// The shortest time between two requests for the same packet, however short the RTT.
    pub min_retry_interval: Duration,
    /// The longest time between two requests for the same packet, however long the RTT (a
    /// packet still missing after a few long round trips is better given up to a keyframe).
    pub max_retry_interval: Duration,
    /// A packet missing for longer is given up.
    pub max_age: Duration,
    /// Packets kept per sender to answer NACKs.
    pub history: usize,
}

impl Default for NackConfig {
    fn default() -> Self {
        Self {
            max_missing: 256,
            max_retries: 10,
            retry_interval: Duration::from_millis(100),
            min_retry_interval: Duration::from_millis(5),
            max_retry_interval: Duration::from_millis(100),
            max_age: Duration::from_millis(1000),
            history: 512,
        }
    }
}

impl NackConfig {
    /// The time between two requests for the same packet for this round-trip time: the RTT
    /// within [`min_retry_interval`](Self::min_retry_interval) and
    /// [`max_retry_interval`](Self::max_retry_interval), or
    /// [`retry_interval`](Self::retry_interval) when unknown.
    pub fn retry_after(&self, rtt: Option<Duration>) -> Duration {
        match rtt {
            None => self.retry_interval,
            Some(rtt) => rtt
                .min(self.max_retry_interval)
                .max(self.min_retry_interval),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Missing {
    /// When the gap was seen.
    since: Instant,
    /// When it was last asked for (`None`: not yet).
    sent: Option<Instant>,
    /// Requests sent for it.
    retries: u8,
}

impl Missing {
    /// When it may be asked for (again), with this spacing.
    fn due_at(&self, spacing: Duration) -> Instant {
        match self.sent {
            None => self.since,
            Some(t) => t + spacing,
        }
    }
}

/// The missing packets of one remote media SSRC.
#[derive(Clone, Debug, Default)]
pub struct NackGenerator {
    highest: Option<i64>,
    missing: BTreeMap<i64, Missing>,
    /// NACK packets produced (getStats inbound-rtp `nackCount`).
    pub nacks_sent: u64,
}

impl NackGenerator {
    /// A packet with this extended sequence number arrived at `now`.
    pub fn on_packet(&mut self, now: Instant, extended: i64, config: &NackConfig) {
        self.missing.remove(&extended);
        let Some(highest) = self.highest else {
            self.highest = Some(extended);
            return;
        };
        if extended <= highest {
            return;
        }
        let gap = extended.saturating_sub(highest).saturating_sub(1);
        let room = config.max_missing.saturating_sub(self.missing.len());
        if usize::try_from(gap).is_ok_and(|g| g <= room) {
            for seq in highest.saturating_add(1)..extended {
                self.missing.insert(
                    seq,
                    Missing {
                        since: now,
                        sent: None,
                        retries: 0,
                    },
                );
            }
        } else {
            // A burst too large to repair, or a restart: start afresh from here.
            self.missing.clear();
        }
        self.highest = Some(extended);
    }

    /// When [`due`](Self::due) next has something, with the round-trip time `rtt` (if
    /// known) spacing the requests. A packet asked for the last time is due once more, to be
    /// given up then.
    #[must_use]
    pub fn poll_timeout(&self, rtt: Option<Duration>, config: &NackConfig) -> Option<Instant> {
        let spacing = config.retry_after(rtt);
        self.missing.values().map(|m| m.due_at(spacing)).min()
    }

    /// The sequence numbers to ask for at `now` (16-bit, in order), each counted as one
    /// more request: those never asked for, and those last asked for at least one round trip
    /// ago ([`NackConfig::retry_after`] of `rtt`). Gives up those too old and those already
    /// asked for [`NackConfig::max_retries`] times.
    pub fn due(&mut self, now: Instant, rtt: Option<Duration>, config: &NackConfig) -> Vec<u16> {
        let spacing = config.retry_after(rtt);
        self.missing.retain(|_, m| {
            let retry_due = m.due_at(spacing) <= now;
            !(retry_due && m.retries >= config.max_retries)
                && now.saturating_duration_since(m.since) < config.max_age
        });
        let mut out = Vec::new();
        for (&seq, m) in &mut self.missing {
            if m.due_at(spacing) <= now {
                m.retries = m.retries.saturating_add(1);
                m.sent = Some(now);
                out.push(seq as u16);
            }
        }
        if !out.is_empty() {
            self.nacks_sent = self.nacks_sent.saturating_add(1);
        }
        out
    }

    /// Sequence numbers currently missing.
    pub fn missing(&self) -> usize {
        self.missing.len()
    }
}

/// One packet kept for retransmission.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its sequence number.
    pub seq: u16,
    /// The SRTP datagram as sent (resent as is without RTX).
    pub protected: Bytes,
    /// The plain RTP packet (kept only when RTX is negotiated, to re-wrap it).
    pub plain: Option<Bytes>,
}

/// The last packets of one sender.
#[derive(Clone, Debug, Default)]
pub struct SendHistory {
    packets: VecDeque<Sent>,
}

impl SendHistory {
    /// Remembers a packet, forgetting the oldest beyond `limit`.
    pub fn push(&mut self, sent: Sent, limit: usize) {
        while self.packets.len() >= limit.max(1) {
            self.packets.pop_front();
        }
        self.packets.push_back(sent);
    }

    /// The packet with this sequence number, if still kept.
    pub fn get(&self, seq: u16) -> Option<&Sent> {
        // Sequence numbers are consecutive in the history: index from the newest.
        let newest = self.packets.back()?;
        let back = usize::from(newest.seq.wrapping_sub(seq));
        let i = self.packets.len().checked_sub(1)?.checked_sub(back)?;
        self.packets.get(i).filter(|s| s.seq == seq)
    }

    /// Packets kept.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn gaps_are_asked_for_at_once_then_spaced_by_the_default_rtt_then_given_up() {
        let cfg = NackConfig {
            max_retries: 2,
            ..NackConfig::default()
        };
        let t0 = ferrtc_testkit::epoch();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 100, &cfg);
        g.on_packet(t0, 104, &cfg); // 101..=103 missing
        g.on_packet(t0, 102, &cfg); // 102 recovered
        assert_eq!(g.poll_timeout(None, &cfg), Some(t0));
        assert_eq!(g.due(t0, None, &cfg), [101, 103]);
        // No RTT known: 100 ms between two requests for the same packet.
        assert_eq!(g.poll_timeout(None, &cfg), Some(t0 + 100 * MS));
        assert!(g.due(t0 + 99 * MS, None, &cfg).is_empty());
        assert_eq!(g.due(t0 + 100 * MS, None, &cfg), [101, 103]);
        // Asked for twice (max_retries): given up when a third request would be due.
        assert!(g.due(t0 + 200 * MS, None, &cfg).is_empty());
        assert_eq!(g.missing(), 0);
        assert_eq!(g.nacks_sent, 2);
    }

    #[test]
    fn requests_are_spaced_by_the_measured_rtt() {
        let cfg = NackConfig::default();
        let t0 = ferrtc_testkit::epoch();
        let rtt = Some(30 * MS);
        let mut g = NackGenerator::default();
        g.on_packet(t0, 10, &cfg);
        g.on_packet(t0, 12, &cfg); // 11 missing
        assert_eq!(g.due(t0, rtt, &cfg), [11]);
        assert_eq!(g.poll_timeout(rtt, &cfg), Some(t0 + 30 * MS));
        assert!(g.due(t0 + 29 * MS, rtt, &cfg).is_empty());
        assert_eq!(g.due(t0 + 30 * MS, rtt, &cfg), [11]);
        // The RTT measured since counts, not the one at the last request.
        let longer = Some(80 * MS);
        assert!(g.due(t0 + 100 * MS, longer, &cfg).is_empty());
        assert_eq!(g.due(t0 + 110 * MS, longer, &cfg), [11]);
        // A packet arriving ends its requests.
        g.on_packet(t0 + 120 * MS, 11, &cfg);
        assert_eq!(g.poll_timeout(longer, &cfg), None);
    }

    #[test]
    fn the_spacing_is_bounded() {
        let cfg = NackConfig::default();
        assert_eq!(cfg.retry_after(None), 100 * MS);
        assert_eq!(cfg.retry_after(Some(MS)), 5 * MS, "lower bound");
        assert_eq!(cfg.retry_after(Some(40 * MS)), 40 * MS);
        assert_eq!(
            cfg.retry_after(Some(Duration::from_secs(2))),
            100 * MS,
            "upper bound"
        );
        let t0 = ferrtc_testkit::epoch();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 1, &cfg);
        g.on_packet(t0, 3, &cfg);
        assert_eq!(g.due(t0, Some(Duration::ZERO), &cfg), [2]);
        // An RTT of zero does not ask again at once.
        assert!(g.due(t0 + 4 * MS, Some(Duration::ZERO), &cfg).is_empty());
        assert_eq!(g.due(t0 + 5 * MS, Some(Duration::ZERO), &cfg), [2]);
    }

    #[test]
    fn gives_up_after_max_retries_requests() {
        let cfg = NackConfig {
            max_retries: 3,
            ..NackConfig::default()
        };
        let rtt = Some(10 * MS);
        let t0 = ferrtc_testkit::epoch();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 1, &cfg);
        g.on_packet(t0, 3, &cfg);
        let mut asked = 0;
        for i in 0..10u32 {
            asked += g.due(t0 + i * 10 * MS, rtt, &cfg).len();
        }
        assert_eq!(asked, 3);
        assert_eq!(g.missing(), 0);
        assert_eq!(g.poll_timeout(rtt, &cfg), None);
    }

    #[test]
    fn a_huge_gap_is_not_tracked() {
        let cfg = NackConfig::default();
        let t0 = ferrtc_testkit::epoch();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 1, &cfg);
        g.on_packet(t0, 5000, &cfg);
        assert_eq!(g.missing(), 0);
        g.on_packet(t0, 5002, &cfg);
        assert_eq!(g.due(t0, None, &cfg), [5001]);
    }

    #[test]
    fn history_finds_by_sequence_across_the_wrap() {
        let mut h = SendHistory::default();
        for seq in (65_530u16..=65_535).chain(0..4) {
            h.push(
                Sent {
                    seq,
                    protected: Bytes::from(vec![seq as u8]),
                    plain: None,
                },
                8,
            );
        }
        assert_eq!(h.len(), 8);
        assert_eq!(h.get(2).map(|s| s.protected[0]), Some(2));
        assert_eq!(h.get(65_533).map(|s| s.seq), Some(65_533));
        assert!(h.get(65_531).is_none(), "forgotten");
        assert!(h.get(9).is_none());
    }
}
