//! Sender and receiver reports (RFC 3550 §6.4).

use bytes::{BufMut, Bytes};
use smallvec::SmallVec;

use crate::wire::{be_u32, be_u64, Body};
use crate::Error;

/// PT of a sender report.
pub const PT_SR: u8 = 200;
/// PT of a receiver report.
pub const PT_RR: u8 = 201;

/// The report blocks of an SR or RR: up to two are stored inline (one per media source of a
/// typical audio + video session), so parsing a report does not allocate. Derefs to a slice;
/// build one with `vec![..].into()`, `smallvec::smallvec![..]` or `collect()`.
pub type ReportBlocks = SmallVec<[ReportBlock; 2]>;

/// A reception report block (RFC 3550 §6.4.1): one per source heard from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost: a signed 24-bit value (-8388608..=8388607).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the upper 16 bits).
    pub extended_highest_sequence: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Encoded length.
    pub const LEN: usize = 24;

    /// Decodes one block from its 24 bytes (infallible: every bit pattern is a block).
    #[inline(always)]
    pub(crate) fn from_bytes(b: &[u8; 24]) -> Self {
        let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Self {
            ssrc: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_sequence: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            jitter: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            last_sr: u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
            delay_since_last_sr: u32::from_be_bytes([b[20], b[21], b[22], b[23]]),
        }
    }

    /// Writes the block; `cumulative_lost` is clamped to 24 bits.
    pub fn write_to(&self, out: &mut impl BufMut) {
        out.put_u32(self.ssrc);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        out.put_u32(u32::from(self.fraction_lost) << 24 | lost);
        out.put_u32(self.extended_highest_sequence);
        out.put_u32(self.jitter);
        out.put_u32(self.last_sr);
        out.put_u32(self.delay_since_last_sr);
    }
}

/// Checks what is left after the report blocks: the profile-specific extension, a multiple
/// of 32 bits (RFC 3550 §6.4.1).
#[inline(always)]
pub(crate) fn check_profile_extensions(r: &Body<'_>) -> Result<(), Error> {
    if !r.remaining().is_multiple_of(4) {
        // Only possible when a padding count cut it (RFC 3550 §6.4.1: 32-bit multiple).
        return Err(r.invalid(
            "report profile extension",
            "not a multiple of 32 bits once padding is removed",
        ));
    }
    Ok(())
}

#[inline]
fn profile_extensions(r: &mut Body<'_>) -> Result<Bytes, Error> {
    check_profile_extensions(r)?;
    Ok(r.rest())
}

/// The bytes of all `count` blocks, their length checked once.
#[inline(always)]
pub(crate) fn block_bytes<'a>(r: &mut Body<'a>, count: u8) -> Result<&'a [u8], Error> {
    let n = usize::from(count) * ReportBlock::LEN;
    if n > r.remaining() {
        return Err(Error::Truncated {
            what: "report blocks",
            offset: r.offset(),
            needed: n,
            available: r.remaining(),
        });
    }
    r.slice(n, "report blocks")
}

/// All `count` blocks: the length is checked once, then each block is decoded straight from
/// the packet (no `Result` per block to write out and read back).
#[inline(always)]
fn parse_blocks(r: &mut Body<'_>, count: u8) -> Result<ReportBlocks, Error> {
    let blocks = block_bytes(r, count)?;
    let mut it = blocks
        .chunks_exact(ReportBlock::LEN)
        .filter_map(|b| <&[u8; 24]>::try_from(b).ok())
        .map(ReportBlock::from_bytes);
    Ok(match count {
        // One or two blocks (one per media source of an audio + video session): the inline
        // array filled at once, no per-block capacity check.
        0 => ReportBlocks::new(),
        1 | 2 => {
            let a = [it.next().unwrap_or_default(), it.next().unwrap_or_default()];
            ReportBlocks::from_buf_and_len(a, usize::from(count))
        }
        _ => it.collect(),
    })
}

/// A sender report (SR, PT 200).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SenderReport {
    /// The sender.
    pub ssrc: u32,
    /// NTP timestamp (32.32) of this report.
    pub ntp_timestamp: u64,
    /// The RTP timestamp matching `ntp_timestamp`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
    /// Reception report blocks (at most 31 are written).
    pub reports: ReportBlocks,
    /// Profile-specific extension after the blocks (a multiple of 4 bytes), kept raw.
    pub profile_extensions: Bytes,
}

impl SenderReport {
    #[inline]
    pub(crate) fn parse(r: &mut Body<'_>, count: u8) -> Result<Self, Error> {
        // RFC 3550 §6.4.1: SSRC of sender, NTP timestamp (64 bits), RTP timestamp, sender's
        // packet count, sender's octet count; then the report blocks.
        let (ssrc, ntp_timestamp, rtp_timestamp, packet_count, octet_count) =
            r.field("sender info", 24, (be_u32, be_u64, be_u32, be_u32, be_u32))?;
        let reports = parse_blocks(r, count)?;
        Ok(Self {
            ssrc,
            ntp_timestamp,
            rtp_timestamp,
            packet_count,
            octet_count,
            reports,
            profile_extensions: profile_extensions(r)?,
        })
    }

    pub(crate) fn count(&self) -> u8 {
        self.reports.len().min(31) as u8
    }

    pub(crate) fn body_len(&self) -> usize {
        24 + usize::from(self.count()) * ReportBlock::LEN + self.profile_extensions.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.ssrc);
        out.put_u64(self.ntp_timestamp);
        out.put_u32(self.rtp_timestamp);
        out.put_u32(self.packet_count);
        out.put_u32(self.octet_count);
        for b in self.reports.iter().take(31) {
            b.write_to(out);
        }
        out.put_slice(&self.profile_extensions);
    }
}

/// A receiver report (RR, PT 201).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReceiverReport {
    /// The reporter.
    pub ssrc: u32,
    /// Reception report blocks (at most 31 are written).
    pub reports: ReportBlocks,
    /// Profile-specific extension after the blocks (a multiple of 4 bytes), kept raw.
    pub profile_extensions: Bytes,
}

impl ReceiverReport {
    pub(crate) fn parse(r: &mut Body<'_>, count: u8) -> Result<Self, Error> {
        let ssrc = r.u32("RR sender SSRC")?;
        let reports = parse_blocks(r, count)?;
        Ok(Self {
            ssrc,
            reports,
            profile_extensions: profile_extensions(r)?,
        })
    }

    pub(crate) fn count(&self) -> u8 {
        self.reports.len().min(31) as u8
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + usize::from(self.count()) * ReportBlock::LEN + self.profile_extensions.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.ssrc);
        for b in self.reports.iter().take(31) {
            b.write_to(out);
        }
        out.put_slice(&self.profile_extensions);
    }
}
