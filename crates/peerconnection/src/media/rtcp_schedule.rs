//! When to send the next regular RTCP report: RFC 3550 §6.3 and the A.7 interval.
//!
//! The interval is `avg_rtcp_size × n / rtcp_bw`, where `rtcp_bw` is a share of the session
//! bandwidth (5 %, split 25 % to senders and 75 % to receivers when senders are at most a
//! quarter of the members), floored at a minimum, then randomised by a factor in [0.5, 1.5)
//! and divided by e − 3/2 (the compensation for timer reconsideration, A.7). At each expiry the
//! interval is recomputed with the current numbers (timer reconsideration, §6.3.6): the report
//! is sent only if `tp + T <= now`, otherwise the timer moves to `tp + T`.
//!
//! # Minimum interval
//!
//! [`ScheduleConfig::rfc3550`] uses the RFC 3550 5 s minimum (2.5 s before the first report).
//! [`ScheduleConfig::webrtc`] — what ferrtc uses for WebRTC — follows RFC 4585 §3.5.1 (AVPF,
//! which WebRTC mandates and RFC 8108 keeps for multi-stream sessions): the bandwidth term is
//! kept and the minimum is configurable instead of 5 s. It uses a 1 s floor for video
//! and 5 s for audio-only sessions, which is what browsers send (libwebrtc reports video
//! about every second). Either way the randomisation and the compensation of A.7 apply, so
//! the mean interval at the floor is 1 s / 1.218 ≈ 0.82 s.
//!
//! Reduced-size RTCP (RFC 5506) changes what may be sent, not when: the flag is carried here
//! so the report builder can ask one place.

use std::time::{Duration, Instant};

use rand_core::RngCore;

/// e − 3/2 (RFC 3550 A.7 `COMPENSATION`).
const COMPENSATION: f64 = std::f64::consts::E - 1.5;
/// IPv4 + UDP headers added to each RTCP packet's size in the average (§6.3.3 counts the
/// lower-layer headers). SRTCP adds its tag and index; callers pass the size they sent.
pub const LOWER_LAYER_OVERHEAD: usize = 28;

/// Parameters of the schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleConfig {
    /// Session bandwidth in bits per second (b=AS / b=TIAS, or the target send rate).
    pub session_bandwidth: u64,
    /// Fraction of the session bandwidth for RTCP (RFC 3550: 0.05).
    pub rtcp_fraction: f64,
    /// Share of the RTCP bandwidth for senders (RFC 3550: 0.25).
    pub sender_fraction: f64,
    /// Minimum interval (Tmin) after the first report.
    pub min_interval: Duration,
    /// Minimum interval before the first report.
    pub initial_min_interval: Duration,
    /// Reduced-size RTCP negotiated (a=rtcp-rsize, RFC 5506).
    pub reduced_size: bool,
    /// Average RTCP packet size to start from, lower-layer headers included (octets).
    pub initial_avg_size: f64,
}

impl ScheduleConfig {
    /// RFC 3550 as written: 5 % of the session bandwidth, 25/75, 5 s minimum (2.5 s initial).
    pub fn rfc3550(session_bandwidth: u64) -> Self {
        Self {
            session_bandwidth,
            rtcp_fraction: 0.05,
            sender_fraction: 0.25,
            min_interval: Duration::from_secs(5),
            initial_min_interval: Duration::from_millis(2500),
            reduced_size: false,
            initial_avg_size: 100.0,
        }
    }

    /// WebRTC (RFC 4585 §3.5.1 with a configured Tmin): 1 s for video, 5 s for audio, half of
    /// that before the first report, reduced-size as negotiated.
    pub fn webrtc(session_bandwidth: u64, video: bool, reduced_size: bool) -> Self {
        let min = if video {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5)
        };
        Self {
            min_interval: min,
            initial_min_interval: min / 2,
            reduced_size,
            ..Self::rfc3550(session_bandwidth)
        }
    }
}

/// The RFC 3550 A.7 `rtcp_interval()` before randomisation: the deterministic interval in
/// seconds for these numbers.
pub fn deterministic_interval(
    config: &ScheduleConfig,
    members: u32,
    senders: u32,
    we_sent: bool,
    avg_rtcp_size: f64,
    initial: bool,
) -> f64 {
    let min = if initial {
        config.initial_min_interval
    } else {
        config.min_interval
    }
    .as_secs_f64();
    // RTCP bandwidth in octets per second.
    let mut rtcp_bw = config.session_bandwidth as f64 * config.rtcp_fraction / 8.0;
    let mut n = f64::from(members.max(1));
    // Dedicate a share to senders when they are few, so their reports (which receivers need
    // for lip sync) come quickly.
    if f64::from(senders) <= f64::from(members) * config.sender_fraction {
        if we_sent {
            rtcp_bw *= config.sender_fraction;
            n = f64::from(senders.max(1));
        } else {
            rtcp_bw *= 1.0 - config.sender_fraction;
            n = f64::from(members.saturating_sub(senders).max(1));
        }
    }
    let t = if rtcp_bw > 0.0 {
        avg_rtcp_size * n / rtcp_bw
    } else {
        f64::INFINITY
    };
    // A zero RTCP bandwidth (RFC 3556 b=RR:0 / b=RS:0, "no RTCP") is the caller's decision;
    // here it just yields the floor, so the timer stays finite.
    if t.is_finite() {
        t.max(min)
    } else {
        min
    }
}

/// A uniform factor in [0.5, 1.5) from the caller's random source.
fn random_factor(rng: &mut impl RngCore) -> f64 {
    // 53 random bits -> [0, 1).
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit + 0.5
}

/// The RFC 3550 transmission timer of one RTP session (one BUNDLE transport in WebRTC).
#[derive(Clone, Debug)]
pub struct RtcpScheduler {
    config: ScheduleConfig,
    /// Last time a report was sent (tp); `None` before the first.
    tp: Option<Instant>,
    /// Next scheduled transmission (tn).
    tn: Instant,
    /// When the schedule started (stands in for tp before the first report).
    started: Instant,
    members: u32,
    pmembers: u32,
    senders: u32,
    we_sent: bool,
    avg_rtcp_size: f64,
    initial: bool,
    reports_sent: u64,
    reconsidered: u64,
}

impl RtcpScheduler {
    /// A schedule starting at `now` with two members (us and the peer) and no senders: the
    /// first report is due after the initial interval.
    pub fn new(config: ScheduleConfig, now: Instant, rng: &mut impl RngCore) -> Self {
        let mut s = Self {
            config,
            tp: None,
            tn: now,
            started: now,
            members: 2,
            pmembers: 2,
            senders: 0,
            we_sent: false,
            avg_rtcp_size: config.initial_avg_size,
            initial: true,
            reports_sent: 0,
            reconsidered: 0,
        };
        s.tn = now + s.interval(rng);
        s
    }

    /// The configuration.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// Reduced-size RTCP negotiated (RFC 5506): reports may be sent as single packets.
    pub fn reduced_size(&self) -> bool {
        self.config.reduced_size
    }

    /// Changes the session bandwidth (bits per second), e.g. when the congestion controller
    /// moves the target rate. Takes effect at the next expiry (reconsideration).
    pub fn set_session_bandwidth(&mut self, bps: u64) {
        self.config.session_bandwidth = bps;
    }

    /// Sets the member and sender counts (§6.3.2/6.3.3: SSRCs heard from, and those that sent
    /// RTP recently), and whether we sent RTP since the report before the last.
    pub fn set_members(&mut self, members: u32, senders: u32, we_sent: bool) {
        self.members = members.max(1);
        self.senders = senders.min(self.members);
        self.we_sent = we_sent;
    }

    /// A randomised, compensated interval T for the current numbers (A.7).
    fn interval(&self, rng: &mut impl RngCore) -> Duration {
        let t = deterministic_interval(
            &self.config,
            self.members,
            self.senders,
            self.we_sent,
            self.avg_rtcp_size,
            self.initial,
        );
        let t = t * random_factor(rng) / COMPENSATION;
        // Bounded so that a silly configuration cannot overflow an Instant.
        Duration::try_from_secs_f64(t.min(3600.0)).unwrap_or(Duration::from_secs(3600))
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.tn
    }

    /// The timer expired (or the caller is checking): with timer reconsideration (§6.3.6),
    /// returns true if a report should be sent now; the caller sends it and then calls
    /// [`on_report_sent`](Self::on_report_sent). Otherwise the timer moved later.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut impl RngCore) -> bool {
        if now < self.tn {
            return false;
        }
        let t = self.interval(rng);
        let tp = self.tp.unwrap_or(self.started);
        if tp + t <= now {
            // Send; provisionally schedule the next one from now (recomputed once the size of
            // this report is known).
            self.tp = Some(now);
            self.tn = now + t;
            true
        } else {
            self.reconsidered = self.reconsidered.saturating_add(1);
            self.tn = tp + t;
            false
        }
    }

    /// A report of `size` octets (lower-layer headers included, see
    /// [`LOWER_LAYER_OVERHEAD`]) was sent at `now`: updates the average size and schedules
    /// the next report (§6.3.6 OnExpire).
    pub fn on_report_sent(&mut self, now: Instant, size: usize, rng: &mut impl RngCore) {
        self.update_avg(size);
        self.tp = Some(now);
        self.pmembers = self.members;
        self.initial = false;
        self.reports_sent = self.reports_sent.saturating_add(1);
        self.tn = now + self.interval(rng);
    }

    /// An RTCP packet of `size` octets (lower-layer headers included) was received (§6.3.3).
    pub fn on_report_received(&mut self, size: usize) {
        self.update_avg(size);
    }

    /// avg_rtcp_size = 1/16 × packet_size + 15/16 × avg_rtcp_size (§6.3.3).
    fn update_avg(&mut self, size: usize) {
        let size = size as f64;
        self.avg_rtcp_size = size / 16.0 + self.avg_rtcp_size * 15.0 / 16.0;
    }

    /// Members left (BYE or timeout): reverse reconsideration (§6.3.4) so the remaining
    /// members do not wait for an interval sized for a larger group.
    pub fn on_members_left(&mut self, now: Instant, members: u32) {
        self.members = members.max(1);
        self.senders = self.senders.min(self.members);
        if self.members < self.pmembers && self.pmembers > 0 {
            let ratio = f64::from(self.members) / f64::from(self.pmembers);
            let ahead = self.tn.saturating_duration_since(now).mul_f64(ratio);
            self.tn = now + ahead;
            if let Some(tp) = self.tp {
                let behind = now.saturating_duration_since(tp).mul_f64(ratio);
                self.tp = Some(now.checked_sub(behind).unwrap_or(tp));
            }
            self.pmembers = self.members;
        }
    }

    /// The current average RTCP packet size (octets).
    pub fn avg_rtcp_size(&self) -> f64 {
        self.avg_rtcp_size
    }

    /// Reports sent.
    pub fn reports_sent(&self) -> u64 {
        self.reports_sent
    }

    /// Expiries that reconsideration moved later instead of sending.
    pub fn reconsidered(&self) -> u64 {
        self.reconsidered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An "rng" that returns a fixed 64-bit value: factor = (v >> 11) / 2^53 + 0.5.
    struct Fixed(u64);
    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            self.0 as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(0);
        }
    }
    /// Factor exactly 1.0.
    const MID: u64 = 1 << 63;

    #[test]
    fn a7_deterministic_interval_by_hand() {
        // 64 kbit/s: RTCP gets 3200 bit/s = 400 octets/s.
        let c = ScheduleConfig::rfc3550(64_000);
        // 2 members, no senders, avg 100: 100 * 2 / 400 = 0.5 s -> floor 5 s (2.5 initial).
        assert_eq!(deterministic_interval(&c, 2, 0, false, 100.0, false), 5.0);
        assert_eq!(deterministic_interval(&c, 2, 0, false, 100.0, true), 2.5);
        // 100 members, 1 sender (we): senders <= 25 -> sender share 100 octets/s, n = 1:
        // 200 / 100 = 2 s -> floor 5 s. With avg 1000: 10 s.
        assert_eq!(
            deterministic_interval(&c, 100, 1, true, 1000.0, false),
            10.0
        );
        // As a receiver: 300 octets/s shared by 99: 1000 * 99 / 300 = 330 s.
        assert_eq!(
            deterministic_interval(&c, 100, 1, false, 1000.0, false),
            330.0
        );
        // Senders above a quarter: everyone shares the full 400 octets/s: 1000 * 4 / 400 = 10.
        assert_eq!(deterministic_interval(&c, 4, 2, true, 1000.0, false), 10.0);
    }

    #[test]
    fn webrtc_floor_and_bandwidth_term() {
        let c = ScheduleConfig::webrtc(2_000_000, true, true);
        // 2 Mbit/s -> 12500 octets/s: 100 * 2 / (12500 * 0.75) is tiny -> 1 s floor.
        assert_eq!(deterministic_interval(&c, 2, 1, false, 100.0, false), 1.0);
        assert_eq!(deterministic_interval(&c, 2, 1, false, 100.0, true), 0.5);
        let audio = ScheduleConfig::webrtc(2_000_000, false, false);
        assert_eq!(
            deterministic_interval(&audio, 2, 1, false, 100.0, false),
            5.0
        );
        assert!(c.reduced_size && !audio.reduced_size);
        // 8 kbit/s -> 50 octets/s; as the only sender of 2 members (1 <= 0.5 is false, so
        // all share): 100 * 2 / 50 = 4 s.
        let low = ScheduleConfig::webrtc(8_000, true, true);
        assert_eq!(deterministic_interval(&low, 2, 1, true, 100.0, false), 4.0);
    }

    #[test]
    fn randomisation_and_compensation() {
        let t0 = ferrtc_testkit::epoch();
        let c = ScheduleConfig::webrtc(2_000_000, true, true);
        // Initial 0.5 s × 1.0 / 1.21828 = 0.41041 s.
        let s = RtcpScheduler::new(c, t0, &mut Fixed(MID));
        let d = s.poll_timeout() - t0;
        assert!((d.as_secs_f64() - 0.5 / (std::f64::consts::E - 1.5)).abs() < 1e-6);
        // Factor 0.5 (rng 0) and ~1.5 (rng max).
        let lo = RtcpScheduler::new(c, t0, &mut Fixed(0)).poll_timeout() - t0;
        let hi = RtcpScheduler::new(c, t0, &mut Fixed(u64::MAX)).poll_timeout() - t0;
        assert!((lo.as_secs_f64() - 0.25 / 1.218_281_828).abs() < 1e-6);
        assert!((hi.as_secs_f64() - 0.75 / 1.218_281_828).abs() < 1e-6);
    }

    #[test]
    fn sends_then_reschedules_with_the_running_average() {
        let t0 = ferrtc_testkit::epoch();
        let mut rng = Fixed(MID);
        let mut s = RtcpScheduler::new(ScheduleConfig::rfc3550(64_000), t0, &mut rng);
        assert!(!s.handle_timeout(t0, &mut rng), "not due yet");
        let due = s.poll_timeout();
        assert!(s.handle_timeout(due, &mut rng));
        // avg = 420 / 16 + 100 * 15 / 16 = 26.25 + 93.75 = 120.
        s.on_report_sent(due, 420, &mut rng);
        assert_eq!(s.avg_rtcp_size(), 120.0);
        assert_eq!(s.reports_sent(), 1);
        // Now 5 s floor (no longer initial): 5 / 1.21828 = 4.1041 s.
        let next = s.poll_timeout() - due;
        assert!((next.as_secs_f64() - 5.0 / 1.218_281_828).abs() < 1e-6);
        s.on_report_received(120 + 16 * 10);
        assert_eq!(s.avg_rtcp_size(), 130.0);
    }

    #[test]
    fn reconsideration_moves_the_timer_when_the_group_grew() {
        let t0 = ferrtc_testkit::epoch();
        let mut rng = Fixed(MID);
        let c = ScheduleConfig::rfc3550(64_000);
        let mut s = RtcpScheduler::new(c, t0, &mut rng);
        let first = s.poll_timeout(); // 2.5 / 1.21828 = 2.052 s after t0
                                      // 1000 members joined meanwhile: receivers' share 300 octets/s for 1000: 100 * 1000 /
                                      // 300 = 333.3 s; T = 333.3 / 1.21828 = 273.6 s > elapsed, so no send.
        s.set_members(1000, 0, false);
        assert!(!s.handle_timeout(first, &mut rng));
        assert_eq!(s.reconsidered(), 1);
        let moved = s.poll_timeout() - t0;
        let expect = 100.0 * 1000.0 / 300.0 / 1.218_281_828;
        assert!((moved.as_secs_f64() - expect).abs() < 1e-3, "{moved:?}");
    }

    #[test]
    fn reverse_reconsideration_pulls_the_timer_in() {
        let t0 = ferrtc_testkit::epoch();
        let mut rng = Fixed(MID);
        let mut s = RtcpScheduler::new(ScheduleConfig::rfc3550(64_000), t0, &mut rng);
        let due = s.poll_timeout();
        assert!(s.handle_timeout(due, &mut rng));
        s.set_members(40, 0, false);
        s.on_report_sent(due, 100, &mut rng);
        // 40 receivers: 100 * 40 / 300 = 13.33 s -> T = 10.944 s.
        let ahead = s.poll_timeout() - due;
        // 30 of 40 leave at `due`: tn = due + ahead × 10/40.
        s.on_members_left(due, 10);
        let pulled = s.poll_timeout() - due;
        assert!((pulled.as_secs_f64() - ahead.as_secs_f64() / 4.0).abs() < 1e-6);
    }
}
