//! SACK chunks (RFC 9260 §3.3.4).

use bytes::{BufMut, Bytes};
use nom::multi::count;
use nom::Parser;

use crate::wire::{run, u16f, u32f};
use crate::Error;

/// A gap ack block of a SACK, as offsets from the cumulative TSN ack (RFC 9260 §3.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapBlock {
    /// Start offset (inclusive).
    pub start: u16,
    /// End offset (inclusive).
    pub end: u16,
}

/// A SACK chunk (RFC 9260 §3.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SackChunk {
    /// Cumulative TSN ack.
    pub cum_tsn_ack: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Gap ack blocks.
    pub gap_blocks: Vec<GapBlock>,
    /// Duplicate TSNs received since the last SACK.
    pub dup_tsns: Vec<u32>,
}

impl SackChunk {
    /// The value of a SACK (RFC 9260 §3.3.4, Figure 7 after the chunk header): cumulative
    /// TSN ack, a_rwnd, the numbers of gap ack blocks and duplicate TSNs, then the blocks
    /// (start, end offsets) and the TSNs. Both lists must fit before anything is allocated.
    pub(super) fn parse(value: &Bytes, base: usize) -> Result<Self, Error> {
        let (rest, (cum_tsn_ack, a_rwnd, ngap, ndup)) = run(
            value,
            base,
            "SACK",
            (u32f, u32f, u16f.map(usize::from), u16f.map(usize::from)),
        )?;
        let need = ngap * 4 + ndup * 4;
        if rest.len() < need {
            return Err(Error::Truncated {
                what: "SACK blocks",
                offset: base + 12,
                needed: need,
                available: rest.len(),
            });
        }
        let gap = (u16f, u16f).map(|(start, end)| GapBlock { start, end });
        let (_, (gap_blocks, dup_tsns)) = run(
            rest,
            base + 12,
            "SACK blocks",
            (count(gap, ngap), count(u32f, ndup)),
        )?;
        Ok(SackChunk {
            cum_tsn_ack,
            a_rwnd,
            gap_blocks,
            dup_tsns,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        12 + 4 * self.gap_blocks.len() + 4 * self.dup_tsns.len()
    }

    pub(super) fn write_value(&self, out: &mut impl BufMut) {
        out.put_u32(self.cum_tsn_ack);
        out.put_u32(self.a_rwnd);
        out.put_u16(self.gap_blocks.len() as u16);
        out.put_u16(self.dup_tsns.len() as u16);
        for g in &self.gap_blocks {
            out.put_u16(g.start);
            out.put_u16(g.end);
        }
        for d in &self.dup_tsns {
            out.put_u32(*d);
        }
    }
}
