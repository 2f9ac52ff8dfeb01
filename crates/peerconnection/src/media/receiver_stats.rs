//! Per-SSRC receive statistics exactly as RFC 3550 computes them.
//!
//! One [`ReceiveStats`] per incoming media source (SSRC). It validates sequence numbers and
//! counts cycles (A.1), computes cumulative and interval loss (A.3), interarrival jitter (A.8)
//! and remembers the last sender report for LSR/DLSR (§6.4.1); [`ReceiveStats::report_block`]
//! turns all that into an RTCP report block.
//!
//! The verdict of [`ReceiveStats::on_packet`] ([`Sequence`]) carries the extended sequence
//! number, so the modules that come later (NACK generator, frame buffer, TWCC) can sit beside
//! this one in a per-SSRC receive stream without recomputing it.

use std::time::Instant;

use ferrtc_rtcp::ReportBlock;

use super::{duration_to_compact, duration_to_ticks, NtpTime};

/// RTP_SEQ_MOD of RFC 3550 A.1.
const SEQ_MOD: u32 = 1 << 16;
/// How many recent sequence numbers are remembered to tell duplicates from late packets.
const DUP_WINDOW: u64 = 128;

/// Limits of the sequence validation (RFC 3550 A.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveConfig {
    /// RTP clock rate of the stream in Hz (jitter is in these units).
    pub clock_rate: u32,
    /// MIN_SEQUENTIAL: in-sequence packets needed before a source is valid. RFC 3550 uses 2
    /// (the first packet is then not counted); 0 and 1 both make the first packet valid.
    pub min_sequential: u16,
    /// MAX_DROPOUT: a forward jump smaller than this is a gap (loss), not a restart.
    pub max_dropout: u16,
    /// MAX_MISORDER: a backward jump up to this is a late or duplicate packet.
    pub max_misorder: u16,
    /// Jitter from the first packet of each RTP timestamp only (what libwebrtc reports, and
    /// the advice of the RTP FAQ for video frames split over packets). `false` (the default)
    /// is RFC 3550 A.8 as written: every packet, so the spread of a frame's packets counts.
    pub jitter_first_packet_of_timestamp: bool,
}

impl ReceiveConfig {
    /// The RFC 3550 A.1 constants (MIN_SEQUENTIAL 2, MAX_DROPOUT 3000, MAX_MISORDER 100)
    /// for a stream with this clock rate.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            min_sequential: 2,
            max_dropout: 3000,
            max_misorder: 100,
            jitter_first_packet_of_timestamp: false,
        }
    }
}

/// What [`ReceiveStats::on_packet`] decided about a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequence {
    /// The source is still on probation (A.1): the packet is not counted.
    Probation,
    /// A very large jump, remembered as a possible restart; not counted. If the next packet
    /// follows it, the stream re-synchronises ([`Sequence::Restarted`]).
    BadSequence,
    /// The new highest sequence number (possibly after a gap).
    InOrder {
        /// Extended sequence number (wrap count × 65536 + seq). Signed like
        /// `ferrtc_rtp::SeqUnwrapper`: a late packet from before the first counted one, across
        /// a wrap, is negative.
        extended: i64,
    },
    /// Older than the highest and not seen before (or too old to tell).
    Reordered {
        /// Extended sequence number.
        extended: i64,
    },
    /// Seen before. Counted as received as RFC 3550 does (so the loss can go negative).
    Duplicate {
        /// Extended sequence number.
        extended: i64,
    },
    /// Two sequential packets after a large jump: the sender restarted; counters were reset
    /// (A.1 `init_seq`) and this packet is the new base.
    Restarted {
        /// Extended sequence number (the new numbering starts with no wrap).
        extended: i64,
    },
}

impl Sequence {
    /// The extended sequence number of a packet that was counted.
    pub fn extended(self) -> Option<i64> {
        match self {
            Self::Probation | Self::BadSequence => None,
            Self::InOrder { extended }
            | Self::Reordered { extended }
            | Self::Duplicate { extended }
            | Self::Restarted { extended } => Some(extended),
        }
    }
}

/// The last sender report received from the source (for LSR / DLSR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastSr {
    /// Middle 32 bits of its NTP timestamp.
    pub ntp_compact: u32,
    /// Its full NTP timestamp.
    pub ntp: NtpTime,
    /// Its RTP timestamp.
    pub rtp_timestamp: u32,
    /// When it arrived.
    pub arrival: Instant,
}

/// Receive statistics of one SSRC (RFC 3550 A.1, A.3, A.8).
#[derive(Clone, Debug)]
pub struct ReceiveStats {
    ssrc: u32,
    config: ReceiveConfig,
    // --- A.1 `source` ---
    /// Highest sequence number seen.
    max_seq: u16,
    /// Number of wraps of the sequence number (A.1 keeps it shifted by 16; we keep the count).
    cycles: u64,
    /// First sequence number of the current numbering (extended; `cycles` starts at 0).
    base_seq: u64,
    /// The sequence number a restart would continue with (RTP_SEQ_MOD + 1: none).
    bad_seq: u32,
    probation: u16,
    /// Packets counted (A.1 `received`, includes duplicates).
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    // --- A.8 ---
    /// Relative transit time of the previous packet, in timestamp units.
    transit: Option<u32>,
    /// Jitter × 16 (the integer form of A.8).
    jitter_q4: u32,
    /// RTP timestamp of the previous packet used for jitter.
    jitter_ts: Option<u32>,
    /// Origin of the arrival clock in timestamp units.
    epoch: Instant,
    // --- beyond RFC 3550, for stats and the modules to come ---
    /// Bit i set: extended seq `highest - i` was received.
    recent: u128,
    duplicates: u64,
    /// Every packet handed in, including probation and bad ones.
    packets_seen: u64,
    /// Payload octets of every packet handed in (getStats `bytesReceived`).
    bytes_seen: u64,
    payload_bytes: u64,
    restarts: u64,
    last_packet: Option<Instant>,
    last_sr: Option<LastSr>,
}

impl ReceiveStats {
    /// Statistics for `ssrc`, created when its first packet is about to be handed in
    /// (`now` starts the arrival clock).
    pub fn new(ssrc: u32, config: ReceiveConfig, now: Instant) -> Self {
        Self {
            ssrc,
            config,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            jitter_ts: None,
            epoch: now,
            recent: 0,
            duplicates: 0,
            packets_seen: 0,
            bytes_seen: 0,
            payload_bytes: 0,
            restarts: 0,
            last_packet: None,
            last_sr: None,
        }
    }

    /// The SSRC these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiveConfig {
        &self.config
    }

    /// A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.recent = 0;
    }

    fn extended_max(&self) -> u64 {
        (self.cycles << 16) | u64::from(self.max_seq)
    }

    /// The extended highest sequence number as the signed value the verdicts carry (wraps
    /// after 2^47 cycles, never in practice).
    fn extended_signed(&self) -> i64 {
        (self.extended_max() & (u64::MAX >> 1)) as i64
    }

    /// Records an RTP packet of this source that arrived at `now`: sequence validation,
    /// counters and jitter. `payload_len` counts payload octets only (for stats).
    pub fn on_packet(
        &mut self,
        now: Instant,
        sequence_number: u16,
        rtp_timestamp: u32,
        payload_len: usize,
    ) -> Sequence {
        self.packets_seen = self.packets_seen.saturating_add(1);
        self.bytes_seen = self
            .bytes_seen
            .saturating_add(u64::try_from(payload_len).unwrap_or(u64::MAX));
        let first = self.last_packet.is_none();
        self.last_packet = Some(now);
        if first {
            // A.1: "when a new source is heard for the first time".
            self.init_seq(sequence_number);
            self.max_seq = sequence_number.wrapping_sub(1);
            self.probation = self.config.min_sequential.max(1);
        }
        let verdict = self.update_seq(sequence_number);
        if verdict.extended().is_some() {
            self.payload_bytes = self
                .payload_bytes
                .saturating_add(u64::try_from(payload_len).unwrap_or(u64::MAX));
            if matches!(verdict, Sequence::Restarted { .. }) {
                // The timestamps restarted too: do not take their jump for jitter.
                self.transit = None;
            }
            self.update_jitter(now, rtp_timestamp);
        }
        verdict
    }

    /// A.1 `update_seq`, extended to classify the packet.
    fn update_seq(&mut self, seq: u16) -> Sequence {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            // Packet is in sequence.
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received = 1;
                    self.recent = 1;
                    return Sequence::InOrder {
                        extended: self.extended_signed(),
                    };
                }
            } else {
                self.probation = self.config.min_sequential.max(1).saturating_sub(1).max(1);
                self.max_seq = seq;
            }
            return Sequence::Probation;
        }
        let verdict = if udelta < self.config.max_dropout {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                // The sequence number wrapped: one more 64K cycle.
                self.cycles = self.cycles.wrapping_add(1);
            }
            self.max_seq = seq;
            let extended = self.extended_signed();
            // Slide the duplicate window by the gap (udelta 0 only for a duplicate of the
            // highest, handled as such).
            if udelta == 0 {
                self.mark_old(0, extended)
            } else {
                let shift = u32::from(udelta);
                self.recent = if u64::from(shift) >= DUP_WINDOW {
                    0
                } else {
                    self.recent << shift
                };
                self.recent |= 1;
                Sequence::InOrder { extended }
            }
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(self.config.max_misorder) {
            // The sequence number made a very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: assume the other side restarted without telling
                // us, so re-sync (pretend this was the first packet).
                self.init_seq(seq);
                self.restarts = self.restarts.saturating_add(1);
                self.recent = 1;
                self.received = 1;
                return Sequence::Restarted {
                    extended: self.extended_signed(),
                };
            }
            self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
            return Sequence::BadSequence;
        } else {
            // Duplicate or reordered packet: behind the highest by 65536 - udelta.
            let behind = SEQ_MOD - u32::from(udelta);
            // Negative for a late packet from before the first one counted, across a wrap
            // (as ferrtc_rtp::SeqUnwrapper does).
            let extended = self.extended_signed() - i64::from(behind);
            self.mark_old(u64::from(behind), extended)
        };
        self.received = self.received.saturating_add(1);
        verdict
    }

    /// A packet `behind` positions below the highest: duplicate or late.
    fn mark_old(&mut self, behind: u64, extended: i64) -> Sequence {
        if behind >= DUP_WINDOW {
            return Sequence::Reordered { extended };
        }
        let bit = 1u128 << behind;
        if self.recent & bit != 0 {
            self.duplicates = self.duplicates.saturating_add(1);
            Sequence::Duplicate { extended }
        } else {
            self.recent |= bit;
            Sequence::Reordered { extended }
        }
    }

    /// A.8: J += (|D| - J) / 16, in the integer form that keeps J × 16.
    fn update_jitter(&mut self, now: Instant, rtp_timestamp: u32) {
        if self.config.jitter_first_packet_of_timestamp
            && self.transit.is_some()
            && self.jitter_ts == Some(rtp_timestamp)
        {
            return;
        }
        self.jitter_ts = Some(rtp_timestamp);
        let arrival = duration_to_ticks(
            now.saturating_duration_since(self.epoch),
            self.config.clock_rate,
        );
        // Transit times are relative (arbitrary offset), so modulo-2^32 arithmetic is exact
        // for differences.
        let transit = (arrival as u32).wrapping_sub(rtp_timestamp);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // jitter += d - ((jitter + 8) >> 4), without leaving u32.
            let decay = (self.jitter_q4.saturating_add(8)) >> 4;
            self.jitter_q4 = self.jitter_q4.saturating_add(d).saturating_sub(decay);
        }
        self.transit = Some(transit);
    }

    /// Records a sender report from this source that arrived at `now` (for LSR and DLSR).
    pub fn on_sender_report(&mut self, now: Instant, ntp: NtpTime, rtp_timestamp: u32) {
        self.last_sr = Some(LastSr {
            ntp_compact: ntp.compact(),
            ntp,
            rtp_timestamp,
            arrival: now,
        });
    }

    /// True once the source passed probation.
    pub fn is_valid(&self) -> bool {
        self.probation == 0 && self.last_packet.is_some()
    }

    /// Extended highest sequence number, as the report block carries it (cycles in the upper
    /// 16 bits, truncated to 32 bits).
    pub fn extended_highest(&self) -> u32 {
        self.extended_max() as u32
    }

    /// A.3 `expected`.
    pub fn expected(&self) -> u64 {
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets counted by A.1 (duplicates included, probation excluded).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Cumulative number of packets lost (A.3): expected - received, negative when
    /// duplicates outnumber losses. Not clamped (the report block clamps to 24 bits).
    pub fn cumulative_lost(&self) -> i64 {
        let expected = i64::try_from(self.expected()).unwrap_or(i64::MAX);
        let received = i64::try_from(self.received).unwrap_or(i64::MAX);
        expected.saturating_sub(received)
    }

    /// Interarrival jitter in timestamp units (A.8: `jitter >> 4`).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Interarrival jitter in seconds (the getStats `jitter` field).
    pub fn jitter_seconds(&self) -> f64 {
        if self.config.clock_rate == 0 {
            return 0.0;
        }
        f64::from(self.jitter_q4) / 16.0 / f64::from(self.config.clock_rate)
    }

    /// Duplicates detected (within the last 128 sequence numbers).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Every packet handed in, counted or not.
    pub fn packets_seen(&self) -> u64 {
        self.packets_seen
    }

    /// Payload octets of every packet handed in, probation included.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// Payload octets of the counted packets.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Sender restarts detected (A.1 re-syncs).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Arrival time of the last packet.
    pub fn last_packet(&self) -> Option<Instant> {
        self.last_packet
    }

    /// The last sender report received.
    pub fn last_sender_report(&self) -> Option<&LastSr> {
        self.last_sr.as_ref()
    }

    /// The report block for the next RR or SR (RFC 3550 §6.4.1), or `None` while the source
    /// has not passed probation. Starts a new interval for the fraction lost (A.3), so call it
    /// once per report sent.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.is_valid() {
            return None;
        }
        // A.3.
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i128::from(expected_interval) - i128::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // (lost_interval << 8) / expected_interval, at most 255 since lost <= expected.
            let f = (lost_interval << 8) / i128::from(expected_interval);
            u8::try_from(f).unwrap_or(u8::MAX)
        };
        // The field is 24-bit signed: clamp rather than wrap.
        let cumulative_lost = self.cumulative_lost().clamp(-0x80_0000, 0x7f_ffff) as i32;
        let (last_sr, delay_since_last_sr) = match &self.last_sr {
            // No SR received yet: LSR and DLSR are zero.
            None => (0, 0),
            Some(sr) => (
                sr.ntp_compact,
                duration_to_compact(now.saturating_duration_since(sr.arrival)),
            ),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_sequence: self.extended_highest(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rfc(clock_rate: u32) -> ReceiveConfig {
        ReceiveConfig::new(clock_rate)
    }

    fn no_probation(clock_rate: u32) -> ReceiveConfig {
        ReceiveConfig {
            min_sequential: 1,
            ..ReceiveConfig::new(clock_rate)
        }
    }

    /// Feeds sequence numbers at a fixed 20 ms spacing with matching timestamps (no jitter).
    fn feed(s: &mut ReceiveStats, t0: Instant, seqs: &[u16]) -> Vec<Sequence> {
        seqs.iter()
            .enumerate()
            .map(|(i, &q)| {
                let at = t0 + Duration::from_millis(20 * i as u64);
                s.on_packet(at, q, 960 * i as u32, 100)
            })
            .collect()
    }

    #[test]
    fn probation_needs_two_sequential_packets() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, rfc(48_000), t0);
        let v = feed(&mut s, t0, &[100, 101, 102]);
        assert_eq!(v[0], Sequence::Probation);
        assert_eq!(v[1], Sequence::InOrder { extended: 101 });
        assert_eq!(v[2], Sequence::InOrder { extended: 102 });
        // The first packet is not counted: base is 101, expected 2, received 2.
        assert_eq!(s.expected(), 2);
        assert_eq!(s.received(), 2);
        assert_eq!(s.packets_seen(), 3);
    }

    #[test]
    fn probation_restarts_on_a_gap() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, rfc(48_000), t0);
        let v = feed(&mut s, t0, &[100, 105, 106, 107]);
        assert_eq!(v[0], Sequence::Probation);
        assert_eq!(v[1], Sequence::Probation);
        assert_eq!(v[2], Sequence::InOrder { extended: 106 });
        assert!(s.is_valid());
        assert_eq!(s.expected(), 2);
        let mut s = ReceiveStats::new(1, rfc(48_000), t0);
        assert!(s.report_block(t0).is_none());
        s.on_packet(t0, 7, 0, 10);
        assert!(s.report_block(t0).is_none(), "no block while on probation");
    }

    #[test]
    fn wrap_around_counts_a_cycle() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(9, no_probation(90_000), t0);
        let v = feed(&mut s, t0, &[65_534, 65_535, 0, 1]);
        assert_eq!(v[0], Sequence::InOrder { extended: 65_534 });
        assert_eq!(v[2], Sequence::InOrder { extended: 65_536 });
        assert_eq!(v[3], Sequence::InOrder { extended: 65_537 });
        let rb = s.report_block(t0).unwrap();
        // Cycles in the upper 16 bits: 0x0001_0001.
        assert_eq!(rb.extended_highest_sequence, 0x0001_0001);
        assert_eq!(rb.cumulative_lost, 0);
        assert_eq!(rb.ssrc, 9);
    }

    #[test]
    fn reordering_across_the_wrap() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(9, no_probation(90_000), t0);
        let v = feed(&mut s, t0, &[65_533, 65_535, 0, 65_534]);
        assert_eq!(v[3], Sequence::Reordered { extended: 65_534 });
        // 65533..=65536 expected (4), all 4 received.
        assert_eq!(s.expected(), 4);
        assert_eq!(s.cumulative_lost(), 0);
        assert_eq!(s.extended_highest(), 65_536);
        // A late packet from before the first one, across the wrap, extends below zero.
        let mut s = ReceiveStats::new(9, no_probation(90_000), t0);
        feed(&mut s, t0, &[2, 3]);
        assert_eq!(
            s.on_packet(t0, 65_535, 0, 1),
            Sequence::Reordered { extended: -1 }
        );
        assert_eq!(s.expected(), 2);
        assert_eq!(s.received(), 3);
    }

    #[test]
    fn loss_and_fraction_per_interval() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        // 0..=9 with 3 and 7 missing: expected 10, received 8.
        feed(&mut s, t0, &[0, 1, 2, 4, 5, 6, 8, 9]);
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.cumulative_lost, 2);
        // fraction = (2 << 8) / 10 = 51.
        assert_eq!(rb.fraction_lost, 51);
        assert_eq!(rb.extended_highest_sequence, 9);
        // Next interval: 10..=13 all received -> fraction 0, cumulative stays 2.
        feed(&mut s, t0 + Duration::from_secs(1), &[10, 11, 12, 13]);
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.fraction_lost, 0);
        assert_eq!(rb.cumulative_lost, 2);
        // Next: 14..=17 with one lost -> (1 << 8) / 4 = 64.
        feed(&mut s, t0 + Duration::from_secs(2), &[14, 15, 17]);
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.fraction_lost, 64);
        assert_eq!(rb.cumulative_lost, 3);
        // An interval with nothing new: expected_interval 0 -> 0.
        assert_eq!(s.report_block(t0).unwrap().fraction_lost, 0);
    }

    #[test]
    fn duplicates_make_loss_negative_and_fraction_zero() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        let v = feed(&mut s, t0, &[0, 1, 1, 2, 2, 2, 3]);
        assert_eq!(v[2], Sequence::Duplicate { extended: 1 });
        assert_eq!(v[5], Sequence::Duplicate { extended: 2 });
        assert_eq!(s.duplicates(), 3);
        // Expected 4, received 7 (RFC 3550 counts duplicates): lost -3.
        assert_eq!(s.cumulative_lost(), -3);
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.cumulative_lost, -3);
        // lost_interval = 4 - 7 < 0 -> fraction 0 (A.3).
        assert_eq!(rb.fraction_lost, 0);
    }

    #[test]
    fn late_packet_fills_a_gap() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        let v = feed(&mut s, t0, &[10, 11, 13, 12, 12]);
        assert_eq!(v[3], Sequence::Reordered { extended: 12 });
        assert_eq!(v[4], Sequence::Duplicate { extended: 12 });
        assert_eq!(s.expected(), 4);
        assert_eq!(s.received(), 5);
    }

    #[test]
    fn sender_restart_resyncs_after_two_sequential() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        feed(&mut s, t0, &[1000, 1001, 1002]);
        // 30000 - 1002 = 28998 > MAX_DROPOUT and not a misorder: bad.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(s.on_packet(t1, 30_000, 0, 1), Sequence::BadSequence);
        assert_eq!(
            s.on_packet(t1, 30_001, 160, 1),
            Sequence::Restarted { extended: 30_001 }
        );
        assert_eq!(s.restarts(), 1);
        assert_eq!(s.expected(), 1);
        assert_eq!(s.received(), 1);
        assert_eq!(
            s.on_packet(t1, 30_002, 320, 1),
            Sequence::InOrder { extended: 30_002 }
        );
        // A single stray jump that is not followed does not restart.
        assert_eq!(s.on_packet(t1, 5, 0, 1), Sequence::BadSequence);
        assert_eq!(
            s.on_packet(t1, 30_003, 480, 1),
            Sequence::InOrder { extended: 30_003 }
        );
        assert_eq!(s.expected(), 3);
    }

    #[test]
    fn gap_below_max_dropout_is_loss() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        feed(&mut s, t0, &[0, 2999]);
        assert_eq!(s.cumulative_lost(), 2998);
        // A backward jump of 101 (> MAX_MISORDER) is a bad sequence, not a late packet.
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        feed(&mut s, t0, &[500]);
        // 100 behind: udelta = 65436 = RTP_SEQ_MOD - MAX_MISORDER, still a "large jump".
        assert_eq!(s.on_packet(t0, 400, 0, 1), Sequence::BadSequence);
        // 99 behind: a late packet.
        assert_eq!(
            s.on_packet(t0, 401, 0, 1),
            Sequence::Reordered { extended: 401 }
        );
    }

    #[test]
    fn jitter_a8_hand_computed() {
        // 8 kHz clock: 1 ms = 8 units. Packets every 20 ms with timestamps 160 apart, but the
        // second arrives 5 ms late and the third on time.
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        s.on_packet(t0, 0, 1000, 1);
        s.on_packet(t0 + Duration::from_millis(25), 1, 1160, 1);
        // D = 40 units: J×16 = 0 + 40 - ((0 + 8) >> 4) = 40 -> J = 2 (40 / 16 = 2.5).
        assert_eq!(s.jitter_q4, 40);
        assert_eq!(s.jitter(), 2);
        s.on_packet(t0 + Duration::from_millis(40), 2, 1320, 1);
        // D = -40 -> 40: J×16 = 40 + 40 - ((40 + 8) >> 4) = 77 -> J = 4.
        assert_eq!(s.jitter_q4, 77);
        assert_eq!(s.jitter(), 4);
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.jitter, 4);
        assert!((s.jitter_seconds() - 77.0 / 16.0 / 8000.0).abs() < 1e-12);
    }

    #[test]
    fn jitter_is_zero_for_perfect_pacing_and_handles_timestamp_wrap() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(90_000), t0);
        let base = u32::MAX - 3000 * 5;
        for i in 0..20u32 {
            // 30 fps: 3000 units per 33.333 ms; use 1/30 s exactly via nanos.
            let at = t0 + Duration::from_nanos(u64::from(i) * 1_000_000_000 / 30);
            s.on_packet(at, i as u16, base.wrapping_add(3000 * i), 1);
        }
        // Truncation of arrival ticks can give |D| = 1 at most; J stays below 1.
        assert_eq!(s.jitter(), 0);
    }

    #[test]
    fn jitter_of_a_frame_split_over_packets() {
        // 8 kHz: frames of 3 packets 1 ms apart, timestamps 0 and 160, frames 20 ms apart.
        let arrivals = [(0, 0), (1, 0), (2, 0), (20, 160), (21, 160), (22, 160)];
        let run = |first_only: bool| {
            let t0 = ferrtc_testkit::epoch();
            let config = ReceiveConfig {
                jitter_first_packet_of_timestamp: first_only,
                ..no_probation(8_000)
            };
            let mut s = ReceiveStats::new(1, config, t0);
            for (i, &(ms, ts)) in arrivals.iter().enumerate() {
                s.on_packet(t0 + Duration::from_millis(ms), i as u16, ts, 1);
            }
            s.jitter_q4
        };
        // RFC 3550 A.8, every packet: D = 8, 8, 16, 8, 8 units; J×16 = 8, 15, 30, 36, 42.
        assert_eq!(run(false), 42);
        // First packet of each timestamp: one sample, D = 0.
        assert_eq!(run(true), 0);
    }

    #[test]
    fn lsr_and_dlsr() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(90_000), t0);
        feed(&mut s, t0, &[1, 2]);
        let rb = s.report_block(t0).unwrap();
        assert_eq!((rb.last_sr, rb.delay_since_last_sr), (0, 0));
        // SR with NTP 0x0000_1234_5678_9abc arrives at t0 + 1 s; report 1.5 s later.
        s.on_sender_report(
            t0 + Duration::from_secs(1),
            NtpTime(0x0000_1234_5678_9abc),
            77,
        );
        let rb = s.report_block(t0 + Duration::from_millis(2500)).unwrap();
        assert_eq!(rb.last_sr, 0x1234_5678);
        // 1.5 s = 1.5 * 65536 = 98304.
        assert_eq!(rb.delay_since_last_sr, 98_304);
    }

    #[test]
    fn cumulative_loss_clamps_to_24_bits() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStats::new(1, no_probation(8_000), t0);
        s.on_packet(t0, 0, 0, 1);
        // Simulate many duplicates: received far above expected.
        s.received = 20_000_000;
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.cumulative_lost, -0x80_0000);
        s.received = 0;
        s.cycles = 1000;
        let rb = s.report_block(t0).unwrap();
        assert_eq!(rb.cumulative_lost, 0x7f_ffff);
    }
}
