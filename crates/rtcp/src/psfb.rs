//! Payload-specific feedback (PSFB, PT 206): PLI and SLI (RFC 4585 §6.3), FIR (RFC 5104
//! §4.3.1) and REMB (draft-alvestrand-rmcat-remb-03).

use bytes::BufMut;

use crate::rtpfb::split_bitrate;
use crate::wire::{be_u24, Body};
use crate::Error;

/// PT of payload-specific feedback.
pub const PT_PSFB: u8 = 206;
/// FMT of PLI.
pub const FMT_PLI: u8 = 1;
/// FMT of SLI.
pub const FMT_SLI: u8 = 2;
/// FMT of FIR.
pub const FMT_FIR: u8 = 4;
/// FMT of application-layer feedback (REMB).
pub const FMT_AFB: u8 = 15;

/// Picture loss indication: no FCI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pli {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source whose picture was lost.
    pub media_ssrc: u32,
}

impl Pli {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let v = Self {
            sender_ssrc: r.u32("PLI sender SSRC")?,
            media_ssrc: r.u32("PLI media SSRC")?,
        };
        if r.remaining() != 0 {
            return Err(r.invalid("PLI", "a PLI has no FCI (RFC 4585 §6.3.1)"));
        }
        Ok(v)
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
    }
}

/// One SLI entry: lost macroblocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SliEntry {
    /// First lost macroblock (13 bits).
    pub first: u16,
    /// Number of lost macroblocks (13 bits).
    pub number: u16,
    /// Picture ID, 6 least significant bits.
    pub picture_id: u8,
}

/// Slice loss indication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sli {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source.
    pub media_ssrc: u32,
    /// FCI entries.
    pub entries: Vec<SliEntry>,
}

impl Sli {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("SLI sender SSRC")?;
        let media_ssrc = r.u32("SLI media SSRC")?;
        if !r.remaining().is_multiple_of(4) {
            return Err(r.invalid("SLI FCI", "not a whole number of 4-byte entries"));
        }
        let mut entries = Vec::with_capacity(r.remaining() / 4);
        while r.remaining() > 0 {
            let v = r.u32("SLI entry")?;
            entries.push(SliEntry {
                first: (v >> 19) as u16,
                number: ((v >> 6) & 0x1fff) as u16,
                picture_id: (v & 0x3f) as u8,
            });
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 4 * self.entries.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for e in &self.entries {
            out.put_u32(
                u32::from(e.first & 0x1fff) << 19
                    | u32::from(e.number & 0x1fff) << 6
                    | u32::from(e.picture_id & 0x3f),
            );
        }
    }
}

/// One FIR entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// Command sequence number, incremented per new request.
    pub sequence_number: u8,
}

/// Full intra request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fir {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source field (RFC 5104: 0).
    pub media_ssrc: u32,
    /// FCI entries.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("FIR sender SSRC")?;
        let media_ssrc = r.u32("FIR media SSRC")?;
        if !r.remaining().is_multiple_of(8) {
            return Err(r.invalid("FIR FCI", "not a whole number of 8-byte entries"));
        }
        let mut entries = Vec::with_capacity(r.remaining() / 8);
        while r.remaining() > 0 {
            let ssrc = r.u32("FIR SSRC")?;
            let v = r.u32("FIR sequence number")?;
            entries.push(FirEntry {
                ssrc,
                sequence_number: (v >> 24) as u8,
            });
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 8 * self.entries.len()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for e in &self.entries {
            out.put_u32(e.ssrc);
            out.put_u32(u32::from(e.sequence_number) << 24);
        }
    }
}

/// Receiver estimated maximum bitrate: bitrate = mantissa × 2^exp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Remb {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source field (always 0 per the draft).
    pub media_ssrc: u32,
    /// Exponent (6 bits).
    pub exp: u8,
    /// Mantissa (18 bits).
    pub mantissa: u32,
    /// The SSRCs the estimate applies to (at most 255 are written).
    pub ssrcs: Vec<u32>,
}

/// The unique identifier of REMB in an application-layer feedback message.
pub const REMB_ID: [u8; 4] = *b"REMB";

impl Remb {
    /// A REMB for `bitrate` bits per second (rounded down to what 18 bits of mantissa hold).
    pub fn new(sender_ssrc: u32, bitrate: u64, ssrcs: Vec<u32>) -> Self {
        let (exp, mantissa) = split_bitrate(bitrate, 18);
        Self {
            sender_ssrc,
            media_ssrc: 0,
            exp,
            mantissa,
            ssrcs,
        }
    }

    /// The bitrate in bits per second, saturating at `u64::MAX` (an 18-bit mantissa with a
    /// 6-bit exponent reaches 2^81).
    pub fn bitrate(&self) -> u64 {
        crate::rtpfb::mantissa_exp(self.mantissa, self.exp)
    }

    /// True when an AFB body starts with the REMB identifier.
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(&REMB_ID[..])
    }

    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("REMB sender SSRC")?;
        let media_ssrc = r.u32("REMB media SSRC")?;
        r.skip(4, "REMB identifier")?;
        let num = r.u8("REMB number of SSRCs")?;
        // Exp (6 bits) | Mantissa (18 bits) (draft-alvestrand-rmcat-remb §2.2).
        let v = r.field("REMB bitrate", 3, be_u24)?;
        let mut ssrcs = Vec::with_capacity(usize::from(num));
        for _ in 0..num {
            ssrcs.push(r.u32("REMB SSRC")?);
        }
        if r.remaining() != 0 {
            return Err(r.invalid("REMB", "bytes left after the SSRC list"));
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            exp: (v >> 18) as u8,
            mantissa: v & 0x3_ffff,
            ssrcs,
        })
    }

    fn n(&self) -> usize {
        self.ssrcs.len().min(255)
    }

    pub(crate) fn body_len(&self) -> usize {
        16 + 4 * self.n()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        out.put_slice(&REMB_ID);
        out.put_u8(self.n() as u8);
        let v = u32::from(self.exp & 0x3f) << 18 | (self.mantissa & 0x3_ffff);
        out.put_slice(&v.to_be_bytes()[1..]);
        for s in self.ssrcs.iter().take(255) {
            out.put_u32(*s);
        }
    }
}
