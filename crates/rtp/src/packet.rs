//! RTP fixed header and packet (RFC 3550 §5.1), parsed zero-copy from [`Bytes`].

use bytes::{Buf, BufMut, Bytes};

use crate::extension::HeaderExtensions;
use crate::{wire, Error};

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// The CSRC list: at most 15 entries (the CC field has 4 bits), kept as the raw big-endian
/// words. Most packets have none, which costs nothing (`None`: not even the indirect call that
/// dropping an empty `Bytes` makes); a parsed list is a zero-copy slice. Never `Some` of an
/// empty slice, so the derived comparisons hold.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Csrcs(Option<Bytes>);

impl Csrcs {
    /// An empty list.
    pub const fn new() -> Self {
        Self(None)
    }

    /// The raw words.
    #[inline]
    fn words(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }

    /// A list from a slice of at most 15 CSRCs.
    pub fn from_slice(csrcs: &[u32]) -> Result<Self, Error> {
        if csrcs.len() > 15 {
            return Err(Error::TooManyCsrcs { count: csrcs.len() });
        }
        if csrcs.is_empty() {
            return Ok(Self::new());
        }
        let mut v = Vec::with_capacity(4 * csrcs.len());
        for c in csrcs {
            v.put_u32(*c);
        }
        Ok(Self(Some(Bytes::from(v))))
    }

    /// The CSRCs.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.words()
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])))
    }

    /// The `i`th CSRC.
    pub fn get(&self, i: usize) -> Option<u32> {
        let c = self.words().get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes(c.try_into().ok()?))
    }

    /// The CSRCs in a vector.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }

    pub(crate) fn from_raw(raw: Bytes) -> Self {
        Self((!raw.is_empty()).then_some(raw))
    }

    /// The raw list (4 bytes per CSRC).
    #[inline]
    pub fn raw(&self) -> &[u8] {
        self.words()
    }

    /// Number of CSRCs.
    #[inline]
    pub fn len(&self) -> usize {
        self.words().len() / 4
    }

    /// True when there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl std::fmt::Debug for Csrcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The RTP header: the fixed part, the CSRC list and the header extension.
///
/// The version is always 2 and the P (padding), X (extension) and CC bits are derived from
/// [`RtpPacket::padding`], [`RtpHeader::extensions`] and [`RtpHeader::csrcs`], so a value can
/// never disagree with its own flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// M bit: meaning defined by the profile (end of a video frame, start of a talkspurt).
    pub marker: bool,
    /// PT, 7 bits.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources.
    pub csrcs: Csrcs,
    /// The header extension block, when X is set.
    pub extensions: Option<HeaderExtensions>,
}

/// What a header-only parse learns besides the header itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Length of the header in bytes (fixed part, CSRCs and extension block).
    pub header_len: usize,
    /// True when the P bit is set (the payload is followed by padding).
    pub padding: bool,
}

impl RtpHeader {
    /// Parses the header at the start of `buf` without touching the payload or padding: the
    /// hot path for routing (SSRC, PT, sequence number) and extensions. The extension block is
    /// copied inline when short, else a zero-copy slice of `buf`.
    #[inline(always)]
    pub fn parse(buf: &Bytes) -> Result<(RtpHeader, HeaderInfo), Error> {
        Self::parse_header(buf)
    }

    /// Like [`parse`](Self::parse), into an existing header (every field is overwritten).
    #[inline]
    pub fn parse_into(&mut self, buf: &Bytes) -> Result<HeaderInfo, Error> {
        let (header, info) = Self::parse_header(buf)?;
        *self = header;
        Ok(info)
    }

    /// The whole header in one expression, so that callers that inline it build the value in
    /// place (no intermediate default value, no moves of the 88-byte header).
    #[inline(always)]
    fn parse_header(buf: &Bytes) -> Result<(RtpHeader, HeaderInfo), Error> {
        let l = wire::header(buf)?;
        // Zero-copy: the CSRC list is a slice of `buf`, the extension block too when it is
        // longer than the inline storage.
        let csrcs = if l.csrc_end > FIXED_HEADER_LEN {
            Csrcs(Some(buf.slice(FIXED_HEADER_LEN..l.csrc_end)))
        } else {
            Csrcs::new()
        };
        let extensions = l
            .extension
            .map(|(profile, start, end)| HeaderExtensions::from_packet(profile, buf, start, end));
        Ok((
            RtpHeader {
                marker: l.fixed.b1 & 0x80 != 0,
                payload_type: l.fixed.b1 & 0x7f,
                sequence_number: l.fixed.sequence_number,
                timestamp: l.fixed.timestamp,
                ssrc: l.fixed.ssrc,
                csrcs,
                extensions,
            },
            HeaderInfo {
                header_len: l.header_len,
                padding: l.fixed.b0 & 0x20 != 0,
            },
        ))
    }

    /// Encoded length of the header in bytes.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extensions.as_ref().map_or(0, |e| 4 + e.data().len())
    }

    /// Writes the header; `padding` sets the P bit.
    pub fn write_to(&self, padding: bool, out: &mut impl BufMut) {
        let b0 = 0x80
            | if padding { 0x20 } else { 0 }
            | if self.extensions.is_some() { 0x10 } else { 0 }
            | self.csrcs.len() as u8;
        out.put_u8(b0);
        out.put_u8(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.put_u16(self.sequence_number);
        out.put_u32(self.timestamp);
        out.put_u32(self.ssrc);
        out.put_slice(self.csrcs.raw());
        if let Some(ext) = &self.extensions {
            out.put_u16(ext.profile());
            // The block length is checked to fit 16 bits when the block is made.
            out.put_u16((ext.data().len() / 4) as u16);
            out.put_slice(ext.data());
        }
    }
}

/// An RTP packet: header, payload (a zero-copy slice of the parsed buffer) and padding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RtpPacket {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without padding.
    pub payload: Bytes,
    /// Number of padding octets after the payload, the count octet included (0: no padding,
    /// P bit clear). Padding is written as zeros followed by the count (RFC 3550 §5.1).
    pub padding: u8,
}

impl RtpPacket {
    /// Parses a whole RTP packet. The payload and the extension block are slices of `buf`:
    /// nothing is copied and nothing is allocated (beyond what `bytes` does to share a buffer
    /// that was never shared before).
    ///
    /// Always inlined: the packet is then built in the caller's own variable. Returned from a
    /// call instead, the 128-byte value is written field by field and read back in 16-byte
    /// words, and those reads cannot be forwarded from the narrower stores (measured: about a
    /// third of the parse time).
    ///
    /// For the same reason the header is not made by [`RtpHeader::parse`] and then moved into
    /// the packet: its parts are kept as separate values and the packet is written once, in
    /// one expression, at the end. With a whole `RtpHeader` value built first (before or after
    /// the padding check), the copy into the packet went through the stack again and a parse of
    /// a shared `Bytes` + three extension reads + drop cost 50 ns instead of 34 (thread CPU
    /// time, both build profiles; the instruction count barely differs, 405 vs 382: the time
    /// was stalls, partly the atomic reference-count updates waiting for those stores).
    #[inline(always)]
    pub fn parse(mut buf: Bytes) -> Result<RtpPacket, Error> {
        let l = wire::header(&buf)?;
        // The same parts as `RtpHeader::parse_header`, kept apart until the end (see above).
        let csrcs = if l.csrc_end > FIXED_HEADER_LEN {
            Csrcs(Some(buf.slice(FIXED_HEADER_LEN..l.csrc_end)))
        } else {
            Csrcs::new()
        };
        let extensions = l
            .extension
            .map(|(profile, start, end)| HeaderExtensions::from_packet(profile, &buf, start, end));
        let mut padding = 0;
        if l.fixed.b0 & 0x20 != 0 {
            let end = buf.len();
            let available = end - l.header_len;
            let count = match buf.last() {
                Some(&c) if available > 0 => c,
                _ => {
                    return Err(Error::PaddingTooLong {
                        count: 0,
                        offset: l.header_len,
                        available,
                    })
                }
            };
            if count == 0 {
                return Err(Error::ZeroPadding { offset: end - 1 });
            }
            if usize::from(count) > available {
                return Err(Error::PaddingTooLong {
                    count,
                    offset: end - 1,
                    available,
                });
            }
            buf.truncate(end - usize::from(count));
            padding = count;
        }
        // The payload is the buffer itself, moved and narrowed: no reference count touched.
        buf.advance(l.header_len);
        Ok(RtpPacket {
            header: RtpHeader {
                marker: l.fixed.b1 & 0x80 != 0,
                payload_type: l.fixed.b1 & 0x7f,
                sequence_number: l.fixed.sequence_number,
                timestamp: l.fixed.timestamp,
                ssrc: l.fixed.ssrc,
                csrcs,
                extensions,
            },
            payload: buf,
            padding,
        })
    }

    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.payload.len() + usize::from(self.padding)
    }

    /// Writes the packet.
    pub fn write_to(&self, out: &mut impl BufMut) {
        self.header.write_to(self.padding != 0, out);
        out.put_slice(&self.payload);
        if self.padding != 0 {
            out.put_bytes(0, usize::from(self.padding) - 1);
            out.put_u8(self.padding);
        }
    }

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut v);
        Bytes::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_header_fields() {
        let raw = Bytes::from_static(&[
            0x80, 0xe0, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3,
        ]);
        let p = RtpPacket::parse(raw.clone()).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 0x60);
        assert_eq!(p.header.sequence_number, 0x1234);
        assert_eq!(p.header.timestamp, 1);
        assert_eq!(p.header.ssrc, 0xdeadbeef);
        assert_eq!(&p.payload[..], &[1, 2, 3]);
        assert_eq!(p.to_bytes(), raw);
    }

    #[test]
    fn padding() {
        let raw = Bytes::from_static(&[0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 0, 0, 3]);
        let p = RtpPacket::parse(raw.clone()).unwrap();
        assert_eq!(p.padding, 3);
        assert_eq!(&p.payload[..], &[9, 9]);
        assert_eq!(p.to_bytes(), raw);
        let zero = Bytes::from_static(&[0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0]);
        assert!(matches!(
            RtpPacket::parse(zero),
            Err(Error::ZeroPadding { offset: 12 })
        ));
        let long = Bytes::from_static(&[0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 2]);
        assert!(matches!(
            RtpPacket::parse(long),
            Err(Error::PaddingTooLong { .. })
        ));
    }

    #[test]
    fn bad_version() {
        let raw = Bytes::from_static(&[0x40, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(RtpPacket::parse(raw), Err(Error::BadVersion { version: 1 }));
    }

    #[test]
    fn csrcs() {
        let mut h = RtpHeader {
            payload_type: 96,
            ..Default::default()
        };
        h.csrcs = Csrcs::from_slice(&[1, 2, 3]).unwrap();
        let p = RtpPacket {
            header: h,
            payload: Bytes::from_static(b"x"),
            padding: 0,
        };
        let b = p.to_bytes();
        assert_eq!(b[0], 0x83);
        assert_eq!(RtpPacket::parse(b).unwrap(), p);
        assert!(Csrcs::from_slice(&[0; 16]).is_err());
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Moves of a parsed packet stay a few vector stores (no `memcpy` call) up to 128 bytes.
    #[test]
    fn packet_fits_128_bytes() {
        assert!(
            std::mem::size_of::<RtpPacket>() <= 128,
            "{}",
            std::mem::size_of::<RtpPacket>()
        );
        assert_eq!(std::mem::size_of::<Option<HeaderExtensions>>(), 40);
    }
}
