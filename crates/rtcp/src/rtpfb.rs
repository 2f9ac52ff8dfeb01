//! Transport-layer feedback (RTPFB, PT 205): generic NACK (RFC 4585 §6.2.1) and TMMBR/TMMBN
//! (RFC 5104 §4.2).

use bytes::BufMut;
use smallvec::SmallVec;

use crate::wire::Body;
use crate::Error;

/// PT of transport-layer feedback.
pub const PT_RTPFB: u8 = 205;
/// FMT of generic NACK.
pub const FMT_NACK: u8 = 1;
/// FMT of TMMBR.
pub const FMT_TMMBR: u8 = 3;
/// FMT of TMMBN.
pub const FMT_TMMBN: u8 = 4;
/// FMT of transport-wide congestion control feedback.
pub const FMT_TWCC: u8 = 15;
/// FMT of RFC 8888 congestion control feedback.
pub const FMT_CCFB: u8 = 11;

/// One NACK FCI entry: a lost packet id and a bitmask of the 16 following losses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NackPair {
    /// Packet ID (PID): a lost sequence number.
    pub packet_id: u16,
    /// Bitmask of following lost packets (BLP): bit i set means PID+i+1 is lost.
    pub lost_bitmask: u16,
}

impl NackPair {
    /// Every sequence number this entry reports lost.
    pub fn lost(&self) -> impl Iterator<Item = u16> + '_ {
        std::iter::once(self.packet_id).chain(
            (0..16u16)
                .filter(|i| self.lost_bitmask & (1 << i) != 0)
                .map(|i| self.packet_id.wrapping_add(i + 1)),
        )
    }
}

/// The FCI entries of a NACK: up to 8 (128 sequence numbers) are stored inline, so parsing a
/// NACK does not allocate. Derefs to a slice; build with `vec![..].into()` or `collect()`.
pub type NackPairs = SmallVec<[NackPair; 8]>;

/// Generic NACK.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Nack {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source the losses are on.
    pub media_ssrc: u32,
    /// FCI entries.
    pub pairs: NackPairs,
}

impl Nack {
    /// Builds a NACK from lost sequence numbers (in order of transmission; wraparound is
    /// handled as long as they are given in that order).
    pub fn from_lost(
        sender_ssrc: u32,
        media_ssrc: u32,
        lost: impl IntoIterator<Item = u16>,
    ) -> Self {
        let mut pairs = NackPairs::new();
        for seq in lost {
            if let Some(last) = pairs.last_mut() {
                let d = seq.wrapping_sub(last.packet_id);
                if d == 0 {
                    continue;
                }
                if (1..=16).contains(&d) {
                    last.lost_bitmask |= 1 << (d - 1);
                    continue;
                }
            }
            pairs.push(NackPair {
                packet_id: seq,
                lost_bitmask: 0,
            });
        }
        Self {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// All sequence numbers reported lost.
    pub fn lost(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairs.iter().flat_map(NackPair::lost)
    }

    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("NACK sender SSRC")?;
        let media_ssrc = r.u32("NACK media SSRC")?;
        if !r.remaining().is_multiple_of(4) {
            return Err(r.invalid("NACK FCI", "not a whole number of 4-byte entries"));
        }
        // FCI (RFC 4585 §6.2.1): PID (16 bits) | BLP (16 bits), repeated.
        let fci = r.slice(r.remaining(), "NACK FCI")?;
        let entries = fci
            .chunks_exact(4)
            .filter_map(|c| <&[u8; 4]>::try_from(c).ok())
            .map(|c| NackPair {
                packet_id: u16::from_be_bytes([c[0], c[1]]),
                lost_bitmask: u16::from_be_bytes([c[2], c[3]]),
            });
        let pairs = if fci.len() <= 4 * 8 {
            // The common case, filled in place: the inline array and its length at once
            // (pushing one by one through `collect` checked the capacity per entry and was
            // most of this function, callgrind).
            let mut a = [NackPair::default(); 8];
            let mut n = 0;
            for (slot, e) in a.iter_mut().zip(entries) {
                *slot = e;
                n += 1;
            }
            NackPairs::from_buf_and_len(a, n)
        } else {
            entries.collect()
        };
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            pairs,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 4 * self.pairs.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for p in &self.pairs {
            out.put_u16(p.packet_id);
            out.put_u16(p.lost_bitmask);
        }
    }
}

/// A TMMBR/TMMBN FCI entry (RFC 5104 §4.2.1.1): bitrate = mantissa × 2^exp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TmmbItem {
    /// The media sender the limit applies to.
    pub ssrc: u32,
    /// MxTBR exponent (6 bits).
    pub exp: u8,
    /// MxTBR mantissa (17 bits).
    pub mantissa: u32,
    /// Measured per-packet overhead in bytes (9 bits).
    pub overhead: u16,
}

impl TmmbItem {
    /// From a bitrate, choosing the smallest exponent that fits the 17-bit mantissa.
    pub fn new(ssrc: u32, bitrate: u64, overhead: u16) -> Self {
        let (exp, mantissa) = split_bitrate(bitrate, 17);
        Self {
            ssrc,
            exp,
            mantissa,
            overhead: overhead & 0x1ff,
        }
    }

    /// The bitrate in bits per second, saturating at `u64::MAX`.
    pub fn bitrate(&self) -> u64 {
        mantissa_exp(self.mantissa, self.exp)
    }
}

/// `mantissa × 2^exp`, saturating at `u64::MAX` when the product needs more than 64 bits.
/// (`checked_shl` only rejects shifts of 64 or more; it lets the high bits fall off.)
pub(crate) fn mantissa_exp(mantissa: u32, exp: u8) -> u64 {
    let m = u64::from(mantissa);
    if m == 0 {
        return 0;
    }
    if u32::from(exp) > m.leading_zeros() {
        return u64::MAX;
    }
    m << exp
}

/// Splits `bitrate` into (exp, mantissa) with a `bits`-bit mantissa; saturates at the largest
/// encodable value.
pub(crate) fn split_bitrate(bitrate: u64, bits: u32) -> (u8, u32) {
    let max = (1u64 << bits) - 1;
    let mut exp = 0u8;
    let mut m = bitrate;
    while m > max {
        if exp == 63 {
            return (63, max as u32);
        }
        m >>= 1;
        exp += 1;
    }
    (exp, m as u32)
}

/// TMMBR (request) or TMMBN (notification): the same layout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tmmb {
    /// Sender of this message.
    pub sender_ssrc: u32,
    /// Media source field (RFC 5104 says 0).
    pub media_ssrc: u32,
    /// FCI entries.
    pub items: Vec<TmmbItem>,
}

impl Tmmb {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("TMMBR/TMMBN sender SSRC")?;
        let media_ssrc = r.u32("TMMBR/TMMBN media SSRC")?;
        if !r.remaining().is_multiple_of(8) {
            return Err(r.invalid("TMMBR/TMMBN FCI", "not a whole number of 8-byte entries"));
        }
        let mut items = Vec::with_capacity(r.remaining() / 8);
        while r.remaining() > 0 {
            let ssrc = r.u32("TMMBR SSRC")?;
            let v = r.u32("TMMBR MxTBR")?;
            items.push(TmmbItem {
                ssrc,
                exp: (v >> 26) as u8,
                mantissa: (v >> 9) & 0x1_ffff,
                overhead: (v & 0x1ff) as u16,
            });
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            items,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 8 * self.items.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for i in &self.items {
            out.put_u32(i.ssrc);
            out.put_u32(
                u32::from(i.exp & 0x3f) << 26
                    | (i.mantissa & 0x1_ffff) << 9
                    | u32::from(i.overhead & 0x1ff),
            );
        }
    }
}
