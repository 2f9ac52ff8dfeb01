//! Media in the peer connection (issue 13), one module per concern, each a small sans-IO unit
//! with its own tests.
//!
//! - [`types`]: the public vocabulary (kinds, directions, codecs, transceiver init and info,
//!   frames in and out, track and keyframe events).
//! - `negotiated`: the one contract between the JSEP side and the engine ([`NegotiatedMedia`]).
//! - `transceiver`: the transceiver table (JSEP side: mids, directions, codecs, SSRCs).
//! - [`engine`]: SRTP, senders, receivers, RTCP; consumes [`NegotiatedMedia`].
//! - [`srtp_session`]: the SRTP/SRTCP contexts keyed from DTLS-SRTP, counted drops.
//! - [`sender`]: one outgoing stream (SSRC, sequence numbers, extensions, packetizers).
//! - [`receive`]: the receiving half of a transceiver (frame buffers per remote SSRC).
//! - [`payload`]: packetizer / depacketizer by negotiated mime type.
//! - [`nack`]: generic NACK generation and the send history that answers it.
//! - [`receiver`]: the bounded per-SSRC table of receive streams (stats today; NACK, keyframe
//!   requests and frame buffers are meant to join each stream), round-robin report blocks.
//! - [`receiver_stats`]: per-SSRC receive statistics as RFC 3550 computes them (A.1 sequence
//!   validation, A.3 loss, A.8 jitter, LSR/DLSR) and the report block they produce.
//! - [`sender_stats`]: packets and octets sent, the sender-info part of an SR (NTP ↔ RTP
//!   timestamp mapping from the capture clock).
//! - [`rtt`]: round-trip time from a received report block (RFC 3550 §6.4.1).
//! - [`rtcp_schedule`]: when to send the next regular RTCP report (RFC 3550 §6.3, A.7).
//! - [`reports`]: the compound SR/RR + SDES CNAME of a regular report, feedback compound or
//!   reduced-size (RFC 5506).
//! - [`router`]: which receiver an incoming RTP packet belongs to on one BUNDLE transport
//!   (RFC 8843 §9.2: SSRC, then MID / RID / repaired RID, then a unique payload type).
//!
//! Time is always given by the caller: [`std::time::Instant`] for intervals and, where the
//! wire needs wall-clock time (SR, RTT), an [`NtpTime`] the caller read from its clock.

pub(crate) mod codec;

/// The codecs ferrtc offers for `kind`, in its preference order, with their payload types,
/// fmtp, rtcp-fb and RTX (`RTCRtpSender.getCapabilities(kind).codecs` with payload types): the
/// list to filter or reorder for `set_codec_preferences`.
pub fn supported_codecs(kind: MediaKind) -> Vec<Codec> {
    codec::default_codecs(kind)
}
pub mod engine;
pub mod nack;
pub mod negotiated;
pub mod payload;
pub mod receive;
pub mod receiver;
pub mod receiver_stats;
pub mod reports;
pub mod router;
pub mod rtcp_schedule;
pub mod rtt;
pub mod sender;
pub mod sender_stats;
pub mod srtp_session;
pub(crate) mod transceiver;
pub mod types;

pub use engine::{MediaConfig, MediaDrops, MediaEngine};
pub use negotiated::{NegotiatedMedia, RemoteSsrc};
pub use types::{
    AudioLevel, Codec, Direction, KeyframeRequestKind, LocalTrack, MediaKind, MediaMode,
    OutgoingFrame, ReceivedFrame, RtcpFeedback, SendEncoding, TrackInfo, TransceiverId,
    TransceiverInfo, TransceiverInit,
};

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

/// A table keyed by SSRC, hashed with [`SsrcHasher`].
pub(crate) type SsrcMap<V> = HashMap<u32, V, BuildHasherDefault<SsrcHasher>>;

/// Hashes an SSRC with one multiplication (Fibonacci hashing): the lookups by SSRC on the
/// per-packet path cost a few nanoseconds instead of SipHash's tens. SSRCs come from the
/// network, so a peer can choose colliding ones; every table keyed by them is bounded
/// ([`router::RouterConfig::max_ssrcs`], [`receiver::StreamsConfig::max_streams`]), which
/// bounds what a crafted set of SSRCs can cost.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SsrcHasher(u64);

/// 2^64 / φ, odd: multiplying by it spreads consecutive keys over the whole word.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(FIBONACCI);
    }
}

/// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 in the upper 32 bits, the
/// fraction of a second in the lower 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP time of a wall-clock time given as the time since the Unix epoch (what
    /// `SystemTime::now().duration_since(UNIX_EPOCH)` returns).
    pub fn from_unix(since_epoch: Duration) -> Self {
        let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
        // fraction = nanos * 2^32 / 10^9 (nanos < 10^9, so this fits in u64).
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }

    /// The middle 32 bits (16.16 fixed point): the "compact" form used by LSR and for the
    /// arrival time A in the round-trip computation (RFC 3550 §6.4.1).
    pub fn compact(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// This time plus `d` (wrapping, like the NTP era).
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.wrapping_add(duration_to_ntp64(d)))
    }
}

/// A duration in 32.32 fixed point (saturating at about 136 years).
fn duration_to_ntp64(d: Duration) -> u64 {
    let secs = d.as_secs().min(u64::from(u32::MAX));
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// A duration in 1/65536 s (the unit of DLSR and of compact NTP), saturating at `u32::MAX`.
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = d.as_nanos().saturating_mul(65_536) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A duration given in 1/65536 s.
pub fn compact_to_duration(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// A duration in ticks of a `clock_rate` Hz clock (RTP timestamp units), truncated, as i64
/// (saturating; a clock rate of 0 gives 0).
fn duration_to_ticks(d: Duration, clock_rate: u32) -> i64 {
    let ticks = d.as_nanos().saturating_mul(u128::from(clock_rate)) / 1_000_000_000;
    i64::try_from(ticks).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_from_unix() {
        // 1970-01-01 00:00:00.5 is NTP second 2208988800 plus half a second (0x8000_0000).
        let t = NtpTime::from_unix(Duration::from_millis(500));
        assert_eq!(t.0, (2_208_988_800u64 << 32) | 0x8000_0000);
        // Compact: low 16 bits of the seconds and high 16 bits of the fraction.
        // 2208988800 = 0x83AA7E80 -> 0x7E80, fraction 0x8000.
        assert_eq!(t.compact(), 0x7E80_8000);
    }

    #[test]
    fn compact_units() {
        assert_eq!(duration_to_compact(Duration::from_secs(1)), 65_536);
        assert_eq!(duration_to_compact(Duration::from_millis(250)), 16_384);
        assert_eq!(duration_to_compact(Duration::from_secs(1 << 20)), u32::MAX);
        assert_eq!(compact_to_duration(32_768), Duration::from_millis(500));
    }

    #[test]
    fn ticks() {
        assert_eq!(duration_to_ticks(Duration::from_millis(20), 48_000), 960);
        assert_eq!(duration_to_ticks(Duration::from_millis(33), 90_000), 2_970);
        assert_eq!(duration_to_ticks(Duration::from_secs(1), 0), 0);
    }

    #[test]
    fn ntp_add() {
        let t = NtpTime(5 << 32).plus(Duration::from_millis(1500));
        assert_eq!(t.0, (6 << 32) | 0x8000_0000);
    }
}
