//! FORWARD-TSN (RFC 3758 §3.2) and I-FORWARD-TSN (RFC 8260 §2.3.1) chunks.

use nom::multi::many0;
use nom::Parser;

use crate::wire::{run, u16f, u32f};
use crate::Error;

/// One (stream, SSN) entry of a FORWARD-TSN chunk (RFC 3758 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// Largest skipped stream sequence number.
    pub ssn: u16,
}

/// One entry of an I-FORWARD-TSN chunk (RFC 8260 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// U bit: the skipped message was unordered.
    pub unordered: bool,
    /// Largest skipped message identifier.
    pub mid: u32,
}

/// The value of a FORWARD-TSN (RFC 3758 §3.2): the new cumulative TSN, then (stream, SSN)
/// pairs filling the rest exactly.
pub(super) fn parse_forward_tsn(
    value: &[u8],
    base: usize,
) -> Result<(u32, Vec<ForwardTsnStream>), Error> {
    let entry = (u16f, u16f).map(|(stream_id, ssn)| ForwardTsnStream { stream_id, ssn });
    let (rest, parsed) = run(value, base, "FORWARD-TSN", (u32f, many0(entry)))?;
    if !rest.is_empty() {
        return Err(Error::InvalidLength {
            what: "FORWARD-TSN",
            offset: base,
            length: value.len() + 4,
        });
    }
    Ok(parsed)
}

/// The value of an I-FORWARD-TSN (RFC 8260 §2.3.1): the new cumulative TSN, then entries of
/// stream identifier, 15 reserved bits and the U bit, MID; the entries fill the rest exactly
/// and the reserved bits are zero.
pub(super) fn parse_i_forward_tsn(
    value: &[u8],
    base: usize,
) -> Result<(u32, Vec<IForwardTsnStream>), Error> {
    let (mut rest, new_cum_tsn) = run(value, base, "I-FORWARD-TSN", u32f)?;
    let mut streams = Vec::with_capacity(rest.len() / 8);
    while rest.len() >= 8 {
        let at = base + (value.len() - rest.len());
        let (r, (stream_id, flags, mid)) = run(rest, at, "I-FORWARD-TSN", (u16f, u16f, u32f))?;
        if flags & !1 != 0 {
            return Err(Error::InvalidValue {
                what: "I-FORWARD-TSN reserved bits",
                offset: at + 2,
            });
        }
        streams.push(IForwardTsnStream {
            stream_id,
            unordered: flags & 1 != 0,
            mid,
        });
        rest = r;
    }
    if !rest.is_empty() {
        return Err(Error::InvalidLength {
            what: "I-FORWARD-TSN",
            offset: base,
            length: value.len() + 4,
        });
    }
    Ok((new_cum_tsn, streams))
}
