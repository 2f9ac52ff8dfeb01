//! What a sender counts and reports (RFC 3550 §6.4.1 sender info).
//!
//! [`SenderStats`] counts packets and payload octets of one outgoing SSRC and maps its RTP
//! timestamps to wall-clock time for sender reports. The caller gives a reference point
//! "this capture instant had this RTP timestamp" (each frame written with its capture time is
//! one), and at report time the NTP time it read from the wall clock: the SR's RTP timestamp
//! is the reference extrapolated to the report instant at the clock rate, so a receiver can
//! line up audio and video (§6.4.1: "the same time as the NTP timestamp").

use std::time::Instant;

use ferrtc_rtcp::{ReportBlocks, SenderReport};

use super::{duration_to_ticks, NtpTime};

/// The sender-info part of an SR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall-clock time of the report.
    pub ntp: NtpTime,
    /// The RTP timestamp of that same instant.
    pub rtp_timestamp: u32,
    /// Packets sent since the start (wraps at 2^32, as the field does).
    pub packet_count: u32,
    /// Payload octets sent since the start (wraps at 2^32).
    pub octet_count: u32,
}

/// Counters and the timestamp mapping of one outgoing SSRC.
#[derive(Clone, Debug)]
pub struct SenderStats {
    ssrc: u32,
    clock_rate: u32,
    packets_sent: u64,
    payload_octets: u64,
    header_octets: u64,
    retransmitted_packets: u64,
    retransmitted_octets: u64,
    /// A capture instant and the RTP timestamp it was given.
    reference: Option<(Instant, u32)>,
    last_sent: Option<Instant>,
    /// `packets_sent` when each of the last two reports was made (§6.4: a participant is a
    /// sender if it sent since the report before the last one).
    packets_at_reports: [u64; 2],
    reports: u64,
    last_report: Option<(Instant, NtpTime)>,
}

impl SenderStats {
    /// Statistics for `ssrc`, whose RTP clock runs at `clock_rate` Hz.
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            packets_sent: 0,
            payload_octets: 0,
            header_octets: 0,
            retransmitted_packets: 0,
            retransmitted_octets: 0,
            reference: None,
            last_sent: None,
            packets_at_reports: [0; 2],
            reports: 0,
            last_report: None,
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Ties a capture instant to the RTP timestamp the media captured then carries (call it
    /// for each frame or audio packet written with its capture time; the latest one wins).
    pub fn set_timestamp_reference(&mut self, capture: Instant, rtp_timestamp: u32) {
        self.reference = Some((capture, rtp_timestamp));
    }

    /// Counts an RTP packet put on the wire at `now`: `payload_len` octets of payload (what
    /// the SR octet count counts, §6.4.1) after `header_len` octets of header and extensions.
    pub fn on_packet_sent(&mut self, now: Instant, header_len: usize, payload_len: usize) {
        self.packets_sent = self.packets_sent.saturating_add(1);
        self.payload_octets = self.payload_octets.saturating_add(len64(payload_len));
        self.header_octets = self.header_octets.saturating_add(len64(header_len));
        self.last_sent = Some(now);
    }

    /// Counts a retransmission (RTX or resend). It is also a packet sent: call
    /// [`on_packet_sent`](Self::on_packet_sent) for it on the stream that carried it.
    pub fn on_retransmission(&mut self, payload_len: usize) {
        self.retransmitted_packets = self.retransmitted_packets.saturating_add(1);
        self.retransmitted_octets = self.retransmitted_octets.saturating_add(len64(payload_len));
    }

    /// Packets sent.
    pub fn packets_sent(&self) -> u64 {
        self.packets_sent
    }

    /// Payload octets sent.
    pub fn payload_octets(&self) -> u64 {
        self.payload_octets
    }

    /// Header octets sent (getStats `headerBytesSent`).
    pub fn header_octets(&self) -> u64 {
        self.header_octets
    }

    /// Retransmitted packets and their payload octets.
    pub fn retransmitted(&self) -> (u64, u64) {
        (self.retransmitted_packets, self.retransmitted_octets)
    }

    /// When the last packet was sent.
    pub fn last_sent(&self) -> Option<Instant> {
        self.last_sent
    }

    /// True if this source sent RTP since the report before the last one (RFC 3550 §6.4:
    /// it then sends an SR rather than an RR, and counts as a sender in §6.3).
    pub fn is_sender(&self) -> bool {
        self.packets_sent > self.packets_at_reports[0]
    }

    /// The RTP timestamp of `now`, extrapolated from the reference at the clock rate.
    pub fn rtp_timestamp_at(&self, now: Instant) -> Option<u32> {
        let (at, ts) = self.reference?;
        let t = if now >= at {
            ts.wrapping_add(duration_to_ticks(now.duration_since(at), self.clock_rate) as u32)
        } else {
            ts.wrapping_sub(duration_to_ticks(at.duration_since(now), self.clock_rate) as u32)
        };
        Some(t)
    }

    /// The sender info of a report made at `now`, whose wall-clock time is `ntp_now`; `None`
    /// before any timestamp reference is known. Does not mark a report as made.
    pub fn sender_info(&self, now: Instant, ntp_now: NtpTime) -> Option<SenderInfo> {
        Some(SenderInfo {
            ntp: ntp_now,
            rtp_timestamp: self.rtp_timestamp_at(now)?,
            packet_count: self.packets_sent as u32,
            octet_count: self.payload_octets as u32,
        })
    }

    /// Marks a report (SR or RR) as made at `now` with wall-clock `ntp_now` (for
    /// [`is_sender`](Self::is_sender)).
    pub fn on_report(&mut self, now: Instant, ntp_now: NtpTime) {
        self.packets_at_reports = [self.packets_at_reports[1], self.packets_sent];
        self.reports = self.reports.saturating_add(1);
        self.last_report = Some((now, ntp_now));
    }

    /// Builds the SR for a report made now, with `blocks` about the sources we receive, and
    /// marks the report as made. `None` (and nothing marked) when no timestamp reference is
    /// known yet: the caller sends an RR instead.
    pub fn sender_report(
        &mut self,
        now: Instant,
        ntp_now: NtpTime,
        blocks: ReportBlocks,
    ) -> Option<SenderReport> {
        let info = self.sender_info(now, ntp_now)?;
        self.on_report(now, ntp_now);
        Some(SenderReport {
            ssrc: self.ssrc,
            ntp_timestamp: info.ntp.0,
            rtp_timestamp: info.rtp_timestamp,
            packet_count: info.packet_count,
            octet_count: info.octet_count,
            reports: blocks,
            profile_extensions: bytes::Bytes::new(),
        })
    }

    /// Reports made.
    pub fn reports(&self) -> u64 {
        self.reports
    }

    /// Instant and wall-clock time of the last report made.
    pub fn last_report(&self) -> Option<(Instant, NtpTime)> {
        self.last_report
    }
}

fn len64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_packets_and_payload_octets() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = SenderStats::new(5, 90_000);
        s.on_packet_sent(t0, 20, 1000);
        s.on_packet_sent(t0, 12, 200);
        s.on_retransmission(1000);
        assert_eq!(s.packets_sent(), 2);
        assert_eq!(s.payload_octets(), 1200);
        assert_eq!(s.header_octets(), 32);
        assert_eq!(s.retransmitted(), (1, 1000));
        assert_eq!(s.last_sent(), Some(t0));
    }

    #[test]
    fn sr_timestamp_extrapolated_from_capture_clock() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = SenderStats::new(5, 90_000);
        let ntp = NtpTime(0xE000_0000_0000_0000);
        assert!(s.sender_report(t0, ntp, ReportBlocks::new()).is_none());
        assert_eq!(s.reports(), 0);
        // Frame captured at t0 has timestamp 1_000_000; the report is 50 ms later:
        // 0.05 s × 90000 = 4500 ticks.
        s.set_timestamp_reference(t0, 1_000_000);
        s.on_packet_sent(t0 + Duration::from_millis(5), 12, 1100);
        let sr = s
            .sender_report(t0 + Duration::from_millis(50), ntp, ReportBlocks::new())
            .unwrap();
        assert_eq!(sr.ssrc, 5);
        assert_eq!(sr.rtp_timestamp, 1_004_500);
        assert_eq!(sr.ntp_timestamp, 0xE000_0000_0000_0000);
        assert_eq!(sr.packet_count, 1);
        assert_eq!(sr.octet_count, 1100);
        // A reference later than the report instant (capture time in the future) goes back.
        s.set_timestamp_reference(t0 + Duration::from_millis(20), 960);
        assert_eq!(s.rtp_timestamp_at(t0), Some(960u32.wrapping_sub(1800)));
    }

    #[test]
    fn rtp_timestamp_wraps() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = SenderStats::new(5, 48_000);
        s.set_timestamp_reference(t0, u32::MAX - 99);
        // 10 ms at 48 kHz = 480 ticks: u32::MAX - 99 + 480 wraps to 380.
        assert_eq!(
            s.rtp_timestamp_at(t0 + Duration::from_millis(10)),
            Some(380)
        );
    }

    #[test]
    fn sender_flag_covers_the_last_two_reports() {
        let t0 = ferrtc_testkit::epoch();
        let ntp = NtpTime(1 << 32);
        let mut s = SenderStats::new(5, 48_000);
        assert!(!s.is_sender());
        s.on_packet_sent(t0, 12, 100);
        assert!(s.is_sender());
        s.on_report(t0, ntp);
        assert!(s.is_sender(), "sent since the report before the last");
        s.on_report(t0, ntp);
        assert!(!s.is_sender(), "nothing sent across two reports");
        s.on_packet_sent(t0, 12, 100);
        assert!(s.is_sender());
        assert_eq!(s.last_report(), Some((t0, ntp)));
    }

    #[test]
    fn counts_wrap_in_the_report() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = SenderStats::new(5, 48_000);
        s.set_timestamp_reference(t0, 0);
        s.packets_sent = u64::from(u32::MAX) + 3;
        s.payload_octets = (5u64 << 32) + 7;
        let info = s.sender_info(t0, NtpTime(0)).unwrap();
        assert_eq!(info.packet_count, 2);
        assert_eq!(info.octet_count, 7);
    }
}
