//! A bounds-checked cursor over a packet body; every read returns an error naming the field and
//! its absolute offset instead of panicking.

use bytes::Bytes;

use crate::Error;

pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
    /// Absolute offset of `buf[0]` in the buffer given to the parser.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf[start..end]` (checked by the caller to be in bounds); `base` is the
    /// absolute offset of `buf[0]`.
    #[inline]
    pub(crate) fn range(buf: &'a Bytes, start: usize, end: usize, base: usize) -> Self {
        Self {
            buf,
            pos: start,
            end: end.min(buf.len()),
            base,
        }
    }

    /// The rest as a borrowed slice, without consuming it; and where it starts in `buf`.
    #[inline]
    pub(crate) fn peek_rest(&self) -> (&'a [u8], usize) {
        (self.buf.get(self.pos..self.end).unwrap_or(&[]), self.pos)
    }

    /// The whole underlying buffer (positions are positions in it).
    #[inline]
    pub(crate) fn source(&self) -> &'a Bytes {
        self.buf
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The next `N` bytes, copied.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        self.array_ref(what).copied()
    }

    /// The next `N` bytes, borrowed from the input. Fields are then read straight from the
    /// packet's memory: copying a fixed header into a stack array first and reading it back at
    /// other widths defeats store-to-load forwarding, which cost more than the parsing itself.
    #[inline]
    pub(crate) fn array_ref<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<&'a [u8; N], Error> {
        let buf: &'a Bytes = self.buf;
        let s = buf
            .get(self.pos..self.pos + N)
            .filter(|_| self.pos + N <= self.end)
            .and_then(|s| <&[u8; N]>::try_from(s).ok())
            .ok_or(Error::Truncated {
                what,
                offset: self.base + self.pos,
                needed: N,
                available: self.end - self.pos,
            })?;
        self.pos += N;
        Ok(s)
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        let [b] = *self.array_ref::<1>(what)?;
        Ok(b)
    }

    #[inline]
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(*self.array_ref(what)?))
    }

    #[inline]
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(*self.array_ref(what)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(*self.array_ref(what)?))
    }

    /// `n` bytes as a borrowed slice.
    #[inline]
    pub(crate) fn slice(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let s = self
            .buf
            .get(self.pos..self.pos.saturating_add(n))
            .filter(|_| self.pos.saturating_add(n) <= self.end)
            .ok_or(Error::Truncated {
                what,
                offset: self.base + self.pos,
                needed: n,
                available: self.end - self.pos,
            })?;
        self.pos += n;
        Ok(s)
    }

    /// `n` bytes as a zero-copy slice of the input.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes, Error> {
        let start = self.pos;
        self.slice(n, what)?;
        Ok(self.buf.slice(start..start + n))
    }

    /// The rest, zero-copy.
    #[inline]
    pub(crate) fn rest(&mut self) -> Bytes {
        let start = self.pos;
        self.pos = self.end;
        self.buf.slice(start..self.end)
    }

    #[inline]
    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), Error> {
        self.slice(n, what).map(|_| ())
    }

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
