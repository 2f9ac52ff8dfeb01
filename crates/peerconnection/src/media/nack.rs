//! Generic NACK (RFC 4585 §6.2.1) both ways, bounded:
//!
//! - [`NackGenerator`]: per remote media SSRC, the sequence numbers missing behind the highest
//!   one received, each asked for again a few times ([`NackConfig::max_retries`], spaced by
//!   [`NackConfig::retry_interval`]) until it arrives or is too old. At most
//!   [`NackConfig::max_missing`] are tracked; a larger gap is a loss burst or a restart, not
//!   worth asking for.
//! - [`SendHistory`]: the last packets a sender sent, by sequence number, to answer a NACK
//!   with an RTX packet (RFC 4588 §4, when negotiated) or the same SRTP datagram again.
//!
//! The resilience work (issue on NACK/RTX/FEC) is meant to deepen this module (RTT-based
//! spacing, keyframe requests when recovery fails); the engine only calls it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Limits of NACK generation and send history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackConfig {
    /// Missing sequence numbers tracked per remote SSRC.
    pub max_missing: usize,
    /// Times a missing packet is asked for.
    pub max_retries: u8,
    /// Time between two requests for the same packet.
    pub retry_interval: Duration,
    /// A packet missing for longer is given up.
    pub max_age: Duration,
    /// Packets kept per sender to answer NACKs.
    pub history: usize,
}

impl Default for NackConfig {
    fn default() -> Self {
        Self {
            max_missing: 256,
            max_retries: 5,
            retry_interval: Duration::from_millis(40),
            max_age: Duration::from_millis(1000),
            history: 512,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Missing {
    since: Instant,
    next: Instant,
    retries: u8,
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
                        next: now,
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

    /// When [`due`](Self::due) next has something.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.missing.values().map(|m| m.next).min()
    }

    /// The sequence numbers to ask for at `now` (16-bit, in order), each counted as one
    /// more retry; gives up those too old or asked for too often.
    pub fn due(&mut self, now: Instant, config: &NackConfig) -> Vec<u16> {
        self.missing.retain(|_, m| {
            m.retries < config.max_retries
                && now.saturating_duration_since(m.since) < config.max_age
        });
        let mut out = Vec::new();
        for (&seq, m) in &mut self.missing {
            if m.next <= now {
                m.retries = m.retries.saturating_add(1);
                m.next = now + config.retry_interval;
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

    #[test]
    fn gaps_are_asked_for_spaced_then_given_up() {
        let cfg = NackConfig {
            max_retries: 2,
            ..NackConfig::default()
        };
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 100, &cfg);
        g.on_packet(t0, 104, &cfg); // 101..=103 missing
        g.on_packet(t0, 102, &cfg); // 102 recovered
        assert_eq!(g.due(t0, &cfg), [101, 103]);
        assert!(g.due(t0 + Duration::from_millis(10), &cfg).is_empty());
        let t1 = t0 + cfg.retry_interval;
        assert_eq!(g.due(t1, &cfg), [101, 103]);
        // Two retries each: given up.
        assert!(g.due(t1 + cfg.retry_interval, &cfg).is_empty());
        assert_eq!(g.missing(), 0);
        assert_eq!(g.nacks_sent, 2);
    }

    #[test]
    fn a_huge_gap_is_not_tracked() {
        let cfg = NackConfig::default();
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 1, &cfg);
        g.on_packet(t0, 5000, &cfg);
        assert_eq!(g.missing(), 0);
        g.on_packet(t0, 5002, &cfg);
        assert_eq!(g.due(t0, &cfg), [5001]);
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
