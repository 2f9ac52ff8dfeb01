//! The RTCP wire grammar's building blocks: nom parsers over `&[u8]` and the cursor each packet
//! type's grammar runs them with.
//!
//! Every packet body is parsed by nom parsers (sequences of fields as nom tuples, next to the
//! RFC figures in each module); [`Body::field`] runs one on what is left of the body and turns
//! a failure into the crate's [`Error`] with the field's name and its absolute offset in the
//! datagram. Variable data is handed out as zero-copy `Bytes` slices of the datagram, at the
//! position nom's remaining input gives.
//!
//! The leaf parsers (`be_u8` … `be_u64`, `take`, `array`) are written here over
//! `split_first_chunk` / `split_at_checked` rather than taken from nom: nom's go through
//! `<&[u8] as nom::Input>` methods that are not `#[inline]`, so in a build without LTO (what
//! most users make) every field read would be a function call. They are nom parsers all the
//! same (functions from input to `IResult`, usable with every nom combinator).

use bytes::Bytes;
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use crate::Error;

/// nom's error over byte input (the input left where a parser failed).
pub(crate) type NomError<'a> = nom::error::Error<&'a [u8]>;

/// The result of a parser over byte input.
pub(crate) type NomResult<'a, O> = IResult<&'a [u8], O, NomError<'a>>;

#[inline(always)]
fn eof(i: &[u8]) -> nom::Err<NomError<'_>> {
    nom::Err::Error(NomError::from_error_kind(i, ErrorKind::Eof))
}

/// `N` bytes, borrowed.
#[inline(always)]
pub(crate) fn array<const N: usize>(i: &[u8]) -> NomResult<'_, &[u8; N]> {
    match i.split_first_chunk::<N>() {
        Some((a, rest)) => Ok((rest, a)),
        None => Err(eof(i)),
    }
}

/// A byte.
#[inline(always)]
pub(crate) fn be_u8(i: &[u8]) -> NomResult<'_, u8> {
    array::<1>.map(|a| a[0]).parse(i)
}

/// A big-endian 16-bit integer.
#[inline(always)]
pub(crate) fn be_u16(i: &[u8]) -> NomResult<'_, u16> {
    array::<2>.map(|a| u16::from_be_bytes(*a)).parse(i)
}

/// A big-endian 24-bit integer.
#[inline(always)]
pub(crate) fn be_u24(i: &[u8]) -> NomResult<'_, u32> {
    array::<3>
        .map(|a| u32::from_be_bytes([0, a[0], a[1], a[2]]))
        .parse(i)
}

/// A big-endian 32-bit integer.
#[inline(always)]
pub(crate) fn be_u32(i: &[u8]) -> NomResult<'_, u32> {
    array::<4>.map(|a| u32::from_be_bytes(*a)).parse(i)
}

/// A big-endian 64-bit integer.
#[inline(always)]
pub(crate) fn be_u64(i: &[u8]) -> NomResult<'_, u64> {
    array::<8>.map(|a| u64::from_be_bytes(*a)).parse(i)
}

/// `n` bytes, borrowed.
#[inline(always)]
pub(crate) fn take<'a>(n: usize) -> impl Fn(&'a [u8]) -> NomResult<'a, &'a [u8]> {
    move |i: &'a [u8]| match i.split_at_checked(n) {
        Some((a, rest)) => Ok((rest, a)),
        None => Err(eof(i)),
    }
}

/// The body of one packet (after its 4-byte header, without padding) being parsed: what nom
/// has not consumed yet, and what is needed to report errors and to slice `Bytes`.
pub(crate) struct Body<'a> {
    /// The datagram.
    buf: &'a Bytes,
    /// What is left of the body.
    rest: &'a [u8],
    /// Where the body ends in `buf`: what nom has left starts at `end - rest.len()`.
    end: usize,
    /// Absolute offset of `buf[0]` in the datagram as the caller numbers it.
    base: usize,
}

impl<'a> Body<'a> {
    /// The body `buf[start..end]` (in bounds, checked by the caller); `base` is the absolute
    /// offset of `buf[0]`.
    #[inline(always)]
    pub(crate) fn new(buf: &'a Bytes, start: usize, end: usize, base: usize) -> Self {
        let rest = buf.get(start..end.min(buf.len())).unwrap_or(&[]);
        Self {
            buf,
            rest,
            end: start + rest.len(),
            base,
        }
    }

    /// Runs `parser` on the rest of the body. On failure: [`Error::Truncated`] naming `what`,
    /// with `needed` (the size of the field) and the bytes that were left.
    #[inline(always)]
    pub(crate) fn field<O>(
        &mut self,
        what: &'static str,
        needed: usize,
        mut parser: impl Parser<&'a [u8], Output = O, Error = NomError<'a>>,
    ) -> Result<O, Error> {
        match parser.parse(self.rest) {
            Ok((rest, o)) => {
                self.rest = rest;
                Ok(o)
            }
            Err(_) => Err(Error::Truncated {
                what,
                offset: self.offset(),
                needed,
                available: self.rest.len(),
            }),
        }
    }

    /// A byte.
    #[inline(always)]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        self.field(what, 1, be_u8)
    }

    /// A 16-bit field.
    #[inline(always)]
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        self.field(what, 2, be_u16)
    }

    /// A 32-bit field.
    #[inline(always)]
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        self.field(what, 4, be_u32)
    }

    /// `n` bytes, borrowed.
    #[inline(always)]
    pub(crate) fn slice(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        self.field(what, n, take(n))
    }

    /// Position in `buf` of what nom has left.
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.end - self.rest.len()
    }

    /// `n` bytes as a zero-copy slice of the datagram. (`Bytes::slice` at the position nom
    /// left, the same slice `Bytes::slice_ref` would find from the pointer, without its
    /// checks, which cost as much as the rest of an SDES item here.)
    #[inline(always)]
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes, Error> {
        let start = self.pos();
        self.slice(n, what)?;
        Ok(self.buf.slice(start..start + n))
    }

    /// `n` bytes skipped.
    #[inline(always)]
    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), Error> {
        self.slice(n, what).map(|_| ())
    }

    /// The rest, zero-copy.
    #[inline(always)]
    pub(crate) fn rest(&mut self) -> Bytes {
        let start = self.pos();
        self.rest = &[];
        self.buf.slice(start..self.end)
    }

    /// The rest, borrowed, without consuming it.
    #[inline(always)]
    pub(crate) fn peek(&self) -> &'a [u8] {
        self.rest
    }

    /// The datagram.
    #[inline(always)]
    pub(crate) fn source(&self) -> &'a Bytes {
        self.buf
    }

    /// Bytes left.
    #[inline(always)]
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Absolute offset of the next byte.
    #[inline(always)]
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos()
    }

    /// An [`Error::Invalid`] at the current offset.
    pub(crate) fn invalid(&self, what: &'static str, why: &'static str) -> Error {
        Error::Invalid {
            what,
            offset: self.offset(),
            why,
        }
    }
}

/// Number of zero bytes that pad `n` to a multiple of 4.
pub(crate) fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}
