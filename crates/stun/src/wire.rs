//! The STUN wire grammar as nom parsers over `&[u8]`: the 20-byte header (RFC 8489 §5,
//! Figure 2) and the attribute TLV (RFC 8489 §14, Figure 4). The value grammars of each
//! attribute family sit beside their types in `attributes/`. Outputs are sub-slices of the
//! input; callers keep them as offsets or as zero-copy `Bytes` (`Bytes::slice_ref`) and turn a
//! nom failure into the crate's [`crate::Error`] with the offset where it happened.

use crate::header::HEADER_LEN;
use nom::combinator::all_consuming;
use nom::error::ErrorKind;
use nom::number::complete::be_u16;
use nom::{IResult, Parser};

/// nom's error over byte input (the input left where a parser failed).
pub(crate) type NomError<'a> = nom::error::Error<&'a [u8]>;

/// What a parser over a STUN buffer returns.
pub(crate) type PResult<'a, O> = IResult<&'a [u8], O, NomError<'a>>;

/// Why an attribute value was rejected; the caller adds the attribute type and offset.
pub(crate) type Reason = &'static str;

/// The reason given when a fixed-size value has another size.
pub(crate) const WRONG_LENGTH: Reason = "wrong value length";

/// A value padded to a multiple of 4 bytes (RFC 8489 §14).
pub(crate) const fn padded(n: usize) -> usize {
    (n + 3) & !3
}

/// nom's `take(n)` over bytes, in a form that inlines: nom 8's `<&[u8] as Input>::take_from`
/// is not `#[inline]`, so in a build without LTO every `take` was a call (perf: ~6 % of
/// parse + verify of a Binding request). Same result and the same error as `take` on short
/// input (`ErrorKind::Eof`).
#[inline]
pub(crate) fn take_bytes<'a>(
    n: usize,
) -> impl Parser<&'a [u8], Output = &'a [u8], Error = NomError<'a>> {
    move |i: &'a [u8]| match i.split_at_checked(n) {
        Some((v, rest)) => Ok((rest, v)),
        None => Err(nom::Err::Error(NomError::new(i, ErrorKind::Eof))),
    }
}

/// `N` bytes, copied into an array.
#[inline]
pub(crate) fn array<const N: usize>(i: &[u8]) -> PResult<'_, [u8; N]> {
    take_bytes(N).map_res(<[u8; N]>::try_from).parse(i)
}

/// Run `p` on a whole attribute value: the value must be exactly what `p` reads (the
/// fixed-size attributes), else [`WRONG_LENGTH`].
#[inline]
pub(crate) fn exact<'a, O>(
    p: impl Parser<&'a [u8], Output = O, Error = NomError<'a>>,
    v: &'a [u8],
) -> Result<O, Reason> {
    all_consuming(p)
        .parse(v)
        .map(|(_, o)| o)
        .map_err(|_| WRONG_LENGTH)
}

/// The fields of the STUN header (RFC 8489 §5):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Transaction ID (96 bits)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// The first 16 bits, with the two leading zero bits.
    pub(crate) message_type: u16,
    /// Length of the body after the header.
    pub(crate) length: u16,
    pub(crate) cookie: u32,
    pub(crate) transaction_id: [u8; 12],
}

/// The 20-byte header.
///
/// The 20 bytes are taken at once and the fields decoded from that array (one bounds check
/// instead of four: this runs for every message).
#[inline]
pub(crate) fn header(i: &[u8]) -> PResult<'_, Header> {
    array::<HEADER_LEN>
        .map(|h| {
            let [t0, t1, l0, l1, c0, c1, c2, c3, tid @ ..] = h;
            Header {
                message_type: u16::from_be_bytes([t0, t1]),
                length: u16::from_be_bytes([l0, l1]),
                cookie: u32::from_be_bytes([c0, c1, c2, c3]),
                transaction_id: tid,
            }
        })
        .parse(i)
}

/// The first 4 bytes of the header: message type and body length (enough to frame a
/// message on a stream, RFC 8489 §6.2.2).
#[inline]
pub(crate) fn type_and_length(i: &[u8]) -> PResult<'_, (u16, u16)> {
    (be_u16, be_u16).parse(i)
}

/// An attribute header (RFC 8489 §14, Figure 4): type and value length.
///
/// ```text
/// |         Type                  |            Length             |
/// |                         Value (variable)                ....
/// ```
///
/// Read as one 4-byte array (one bounds check: this runs for every attribute of every walk).
#[inline]
pub(crate) fn attribute_header(i: &[u8]) -> PResult<'_, (u16, usize)> {
    array::<4>
        .map(|[t0, t1, l0, l1]| {
            let len = u16::from_be_bytes([l0, l1]);
            (u16::from_be_bytes([t0, t1]), usize::from(len))
        })
        .parse(i)
}

/// An attribute value of `len` bytes and the padding that aligns the next attribute to 4
/// bytes; returns the value without padding.
#[inline]
pub(crate) fn padded_value<'a>(
    len: usize,
) -> impl Parser<&'a [u8], Output = &'a [u8], Error = NomError<'a>> {
    // One take of value and padding; the value is its first `len` bytes.
    take_bytes(padded(len)).map(move |v: &'a [u8]| v.get(..len).unwrap_or(v))
}

/// One attribute at the start of `i`: type, value (without padding).
#[inline]
pub(crate) fn attribute(i: &[u8]) -> PResult<'_, (u16, &[u8])> {
    let (rest, (t, len)) = attribute_header(i)?;
    let (rest, v) = padded_value(len).parse(rest)?;
    Ok((rest, (t, v)))
}

/// The attribute whose header is at `offset` of a message whose structure was checked:
/// its type and value.
#[inline]
pub(crate) fn attribute_at(msg: &[u8], offset: usize) -> Option<(u16, &[u8])> {
    attribute(msg.get(offset..)?).ok().map(|(_, a)| a)
}

/// The attributes of `msg` (a message whose structure was checked) that end before `end`,
/// as (offset of the header, type, value).
pub(crate) fn attributes(msg: &[u8], end: usize) -> impl Iterator<Item = (usize, u16, &[u8])> {
    let d = msg.get(..end).unwrap_or_default();
    let mut rest = d.get(HEADER_LEN..).unwrap_or_default();
    std::iter::from_fn(move || {
        let offset = d.len() - rest.len();
        let (r, (t, v)) = attribute(rest).ok()?;
        rest = r;
        Some((offset, t, v))
    })
}
