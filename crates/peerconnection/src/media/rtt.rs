//! Round-trip time from reception report blocks (RFC 3550 §6.4.1).
//!
//! When a report block about one of our SSRCs arrives at wall-clock time A (compact NTP), the
//! round trip is `A - LSR - DLSR` in 1/65536 s: LSR is the compact NTP time of the SR of ours
//! the peer last received and DLSR how long it held that SR before reporting. The fields come
//! from the network, so a result is accepted only when LSR names an SR we actually sent
//! recently (when we keep that history), the result is not negative beyond a small rounding
//! tolerance, and it is below a configurable maximum.

use std::collections::VecDeque;
use std::time::Duration;

use ferrtc_rtcp::ReportBlock;

use super::{compact_to_duration, NtpTime};

/// A negative round trip this small (1/65536 s units, about 1 ms) is rounding in DLSR and
/// counts as zero.
const NEGATIVE_TOLERANCE: u32 = 66;

/// Why a report block gave no round-trip time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RttReject {
    /// LSR is 0: the peer has not received an SR from us yet.
    NoSenderReport,
    /// LSR is not the time of any SR we remember sending.
    UnknownLsr,
    /// `A - LSR < DLSR`: the peer claims to have held the SR longer than it existed.
    Negative,
    /// Longer than the configured maximum.
    TooLarge,
}

/// `A - LSR - DLSR` for a block received at wall-clock `arrival` (RFC 3550 §6.4.1), with the
/// LSR = 0, negative and too-large guards (no history check).
pub fn rtt_from_block(
    arrival: NtpTime,
    block: &ReportBlock,
    max: Duration,
) -> Result<Duration, RttReject> {
    if block.last_sr == 0 {
        return Err(RttReject::NoSenderReport);
    }
    // Modulo 2^32: A and LSR are compact NTP times, which wrap every 65536 s.
    let since_sr = arrival.compact().wrapping_sub(block.last_sr);
    let rtt = match since_sr.checked_sub(block.delay_since_last_sr) {
        Some(units) => units,
        None if block.delay_since_last_sr - since_sr <= NEGATIVE_TOLERANCE => 0,
        None => return Err(RttReject::Negative),
    };
    let rtt = compact_to_duration(rtt);
    if rtt > max {
        return Err(RttReject::TooLarge);
    }
    Ok(rtt)
}

/// Limits of an [`RttEstimator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttConfig {
    /// Round trips above this are rejected as bogus.
    pub max_rtt: Duration,
    /// How many of our last SRs are remembered to check LSR against (0: no check).
    pub sr_history: usize,
}

impl Default for RttConfig {
    fn default() -> Self {
        Self {
            max_rtt: Duration::from_secs(10),
            sr_history: 16,
        }
    }
}

/// Round-trip time measurements of one outgoing SSRC (the getStats remote-inbound-rtp
/// `roundTripTime`, `totalRoundTripTime`, `roundTripTimeMeasurements`).
#[derive(Clone, Debug)]
pub struct RttEstimator {
    config: RttConfig,
    /// Compact NTP times of our recent SRs.
    sent: VecDeque<u32>,
    latest: Option<Duration>,
    smoothed: Option<Duration>,
    total: Duration,
    measurements: u64,
    rejected: u64,
}

impl RttEstimator {
    /// An estimator with these limits.
    pub fn new(config: RttConfig) -> Self {
        Self {
            config,
            sent: VecDeque::with_capacity(config.sr_history.min(64)),
            latest: None,
            smoothed: None,
            total: Duration::ZERO,
            measurements: 0,
            rejected: 0,
        }
    }

    /// Records an SR we sent with this NTP timestamp.
    pub fn on_sender_report_sent(&mut self, ntp: NtpTime) {
        if self.config.sr_history == 0 {
            return;
        }
        while self.sent.len() >= self.config.sr_history {
            self.sent.pop_front();
        }
        self.sent.push_back(ntp.compact());
    }

    /// A report block about our SSRC arrived at wall-clock `arrival`: the round trip it gives,
    /// also folded into the statistics, or why it gives none.
    pub fn on_report_block(
        &mut self,
        arrival: NtpTime,
        block: &ReportBlock,
    ) -> Result<Duration, RttReject> {
        let result = if block.last_sr != 0
            && self.config.sr_history > 0
            && !self.sent.contains(&block.last_sr)
        {
            Err(RttReject::UnknownLsr)
        } else {
            rtt_from_block(arrival, block, self.config.max_rtt)
        };
        match result {
            Ok(rtt) => {
                self.latest = Some(rtt);
                // RFC 6298-style smoothing (alpha 1/8), for consumers that want a stable value.
                self.smoothed = Some(match self.smoothed {
                    None => rtt,
                    Some(s) => (s * 7 + rtt) / 8,
                });
                self.total = self.total.saturating_add(rtt);
                self.measurements = self.measurements.saturating_add(1);
            }
            // LSR 0 is normal before our first SR arrives: not a rejection worth counting.
            Err(RttReject::NoSenderReport) => {}
            Err(_) => self.rejected = self.rejected.saturating_add(1),
        }
        result
    }

    /// The latest round trip.
    pub fn latest(&self) -> Option<Duration> {
        self.latest
    }

    /// The smoothed round trip (1/8 weight per sample).
    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed
    }

    /// Sum of all measurements.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// Number of measurements.
    pub fn measurements(&self) -> u64 {
        self.measurements
    }

    /// Blocks rejected as bogus (unknown LSR, negative, too large).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lsr: u32, dlsr: u32) -> ReportBlock {
        ReportBlock {
            ssrc: 1,
            last_sr: lsr,
            delay_since_last_sr: dlsr,
            ..Default::default()
        }
    }

    #[test]
    fn rfc3550_example() {
        // RFC 3550 §6.4.1 figure: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000
        // (46853.125 s), DLSR = 0x0005:4000 (5.250 s): RTT = 0x0006:2000 = 6.125 s.
        let arrival = NtpTime(0x0000_b710_8000_0000);
        let rtt = rtt_from_block(arrival, &block(0xb705_2000, 0x0005_4000), Duration::MAX);
        assert_eq!(rtt, Ok(Duration::from_millis(6125)));
    }

    #[test]
    fn guards() {
        let arrival = NtpTime(0x0000_0010_0000_0000); // compact 0x0010_0000 = 16 s
        assert_eq!(
            rtt_from_block(arrival, &block(0, 0), Duration::MAX),
            Err(RttReject::NoSenderReport)
        );
        // A - LSR = 1 s, DLSR = 2 s: negative.
        assert_eq!(
            rtt_from_block(arrival, &block(0x000f_0000, 0x0002_0000), Duration::MAX),
            Err(RttReject::Negative)
        );
        // Negative by 50 units (< 1 ms): rounding, zero.
        assert_eq!(
            rtt_from_block(arrival, &block(0x000f_0000, 0x0001_0032), Duration::MAX),
            Ok(Duration::ZERO)
        );
        // 8 s round trip against a 5 s maximum.
        assert_eq!(
            rtt_from_block(arrival, &block(0x0008_0000, 0), Duration::from_secs(5)),
            Err(RttReject::TooLarge)
        );
    }

    #[test]
    fn compact_ntp_wraps() {
        // LSR just before the 16-bit seconds wrap, A just after: 0x0001_0000 - 0xffff_8000
        // = 0x0001_8000 (1.5 s), DLSR 0.5 s -> 1 s.
        let arrival = NtpTime(0x0001_0001_0000_0000);
        let rtt = rtt_from_block(arrival, &block(0xffff_8000, 0x0000_8000), Duration::MAX);
        assert_eq!(rtt, Ok(Duration::from_secs(1)));
    }

    #[test]
    fn estimator_checks_lsr_history_and_accumulates() {
        let mut e = RttEstimator::new(RttConfig {
            max_rtt: Duration::from_secs(10),
            sr_history: 2,
        });
        let sr1 = NtpTime(0x0000_0064_0000_0000); // compact 0x0064_0000 (100 s)
        e.on_sender_report_sent(sr1);
        // Arrives 100.25 s, DLSR 0.125 s -> 0.125 s.
        let a = NtpTime(0x0000_0064_4000_0000);
        assert_eq!(
            e.on_report_block(a, &block(0x0064_0000, 0x0000_2000)),
            Ok(Duration::from_millis(125))
        );
        // An LSR we never sent.
        assert_eq!(
            e.on_report_block(a, &block(0x0063_0000, 0)),
            Err(RttReject::UnknownLsr)
        );
        assert_eq!(
            e.on_report_block(a, &block(0, 0)),
            Err(RttReject::NoSenderReport)
        );
        assert_eq!(e.rejected(), 1);
        // Second measurement 0.25 s: smoothed = (0.125 * 7 + 0.25) / 8 = 0.140625 s.
        e.on_sender_report_sent(NtpTime(0x0000_0064_2000_0000));
        assert_eq!(
            e.on_report_block(a, &block(0x0064_2000, 0x0000_0000)),
            Ok(Duration::from_millis(125))
        );
        assert_eq!(
            e.on_report_block(
                NtpTime(0x0000_0064_6000_0000),
                &block(0x0064_2000, 0x0000_0000)
            ),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(e.measurements(), 3);
        assert_eq!(e.total(), Duration::from_millis(500));
        assert_eq!(e.latest(), Some(Duration::from_millis(250)));
        // 0.125, then (0.125*7+0.125)/8 = 0.125, then (0.125*7+0.25)/8 = 0.140625.
        assert_eq!(e.smoothed(), Some(Duration::from_nanos(140_625_000)));
        // History of 2: a third SR pushes out the first.
        e.on_sender_report_sent(NtpTime(0x0000_0065_0000_0000));
        assert_eq!(
            e.on_report_block(a, &block(0x0064_0000, 0)),
            Err(RttReject::UnknownLsr)
        );
    }
}
