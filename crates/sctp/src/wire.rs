//! The SCTP wire grammar's building blocks as nom parsers over `&[u8]`: big-endian fields that
//! report how many bytes they needed, a runner that turns a nom failure into the crate's
//! [`Error::Truncated`] with the absolute offset, and the type-length-value layout shared by
//! chunks (RFC 9260 §3.2), parameters (§3.2.1) and error causes (§3.3.10). The grammars of
//! each chunk and parameter sit beside their types in `chunk/` and `param.rs`; values stay
//! zero-copy (`Bytes::slice_ref` of what nom returns).

use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::{IResult, Parser};

use crate::Error;

/// Why a grammar stopped: the bytes left where a field did not fit and the size of that field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    /// Bytes left at the field that did not fit.
    pub(crate) remaining: usize,
    /// Bytes the field needed.
    pub(crate) needed: usize,
}

impl ParseError<&[u8]> for Short {
    fn from_error_kind(input: &[u8], _: ErrorKind) -> Self {
        Short {
            remaining: input.len(),
            needed: 0,
        }
    }
    fn append(_: &[u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// What the SCTP parsers return.
pub(crate) type PResult<'a, O> = IResult<&'a [u8], O, Short>;

/// One of nom's number parsers over bytes.
type NomNumber<'a, O> = fn(&'a [u8]) -> IResult<&'a [u8], O, nom::error::Error<&'a [u8]>>;

/// A fixed-size field read by nom's `p`; on failure, says it needed `n` bytes here.
fn field<'a, O>(n: usize, p: NomNumber<'a, O>, i: &'a [u8]) -> PResult<'a, O> {
    p(i).map_err(|e| {
        e.map(|_| Short {
            remaining: i.len(),
            needed: n,
        })
    })
}

/// An 8-bit field.
pub(crate) fn u8f(i: &[u8]) -> PResult<'_, u8> {
    field(1, be_u8, i)
}

/// A big-endian 16-bit field.
pub(crate) fn u16f(i: &[u8]) -> PResult<'_, u16> {
    field(2, be_u16, i)
}

/// A big-endian 32-bit field.
pub(crate) fn u32f(i: &[u8]) -> PResult<'_, u32> {
    field(4, be_u32, i)
}

/// Run `p` on `input`, which starts at `base` in the packet; a field that does not fit becomes
/// [`Error::Truncated`] naming `what`, with the offset of that field.
pub(crate) fn run<'a, O>(
    input: &'a [u8],
    base: usize,
    what: &'static str,
    mut p: impl Parser<&'a [u8], Output = O, Error = Short>,
) -> Result<(&'a [u8], O), Error> {
    p.parse(input).map_err(|e| {
        let s = match e {
            nom::Err::Error(s) | nom::Err::Failure(s) => s,
            nom::Err::Incomplete(_) => Short {
                remaining: 0,
                needed: 0,
            },
        };
        Error::Truncated {
            what,
            offset: base + input.len().saturating_sub(s.remaining),
            needed: s.needed,
            available: s.remaining,
        }
    })
}

/// A length padded to a multiple of four bytes.
pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// The rest of a TLV once its 4-byte header is read: `length` counts the header, so it must
/// be at least 4 and the value must fit in `after_header`. Returns the value and what follows
/// the padding (which may be missing at the end of the enclosing item). `None` when the
/// length is invalid.
pub(crate) fn tlv_value(after_header: &[u8], length: usize) -> Option<(&[u8], &[u8])> {
    let value_len = length.checked_sub(4)?;
    let (rest, value) = take::<_, _, Short>(value_len).parse(after_header).ok()?;
    let pad = (pad4(length) - length).min(rest.len());
    Some((value, rest.get(pad..).unwrap_or_default()))
}

/// Walk a run of TLVs with 16-bit type and length (parameters, error causes), which starts at
/// `base` in the packet; `f` gets the type, value and offset of each. A header that does not
/// fit is [`Error::Truncated`], a bad length [`Error::InvalidLength`], both naming `what`.
pub(crate) fn for_each_tlv<'a>(
    buf: &'a [u8],
    base: usize,
    what: &'static str,
    mut f: impl FnMut(u16, &'a [u8], usize) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut rest = buf;
    while !rest.is_empty() {
        let off = base + (buf.len() - rest.len());
        let (after, (t, len)) = run(rest, off, what, (u16f, u16f.map(usize::from)))?;
        let (value, next) = tlv_value(after, len).ok_or(Error::InvalidLength {
            what,
            offset: off,
            length: len,
        })?;
        f(t, value, off)?;
        rest = next;
    }
    Ok(())
}
