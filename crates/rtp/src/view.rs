//! A validated, lazily decoded view of an RTP packet: the hot path.
//!
//! [`RtpPacketView::parse`] checks everything [`RtpPacket::parse`] checks (version, CSRC list,
//! extension block and padding bounds) but keeps only the buffer and a few offsets, so the
//! result is small and cheap to move; fields are read from the buffer on demand. Use
//! [`RtpPacketView::to_packet`] for an owned, editable [`RtpPacket`].

use bytes::Bytes;

use crate::extension::{ExtensionForm, ExtensionIter};
use crate::{wire, Csrcs, Error, HeaderExtensions, RtpHeader, RtpPacket, FIXED_HEADER_LEN};

/// A parsed RTP packet that reads its fields from the packet buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPacketView {
    buf: Bytes,
    /// Start of the extension data (after its 4-byte header), 0 when there is none.
    ext_start: u32,
    /// End of the header (start of the payload).
    header_len: u32,
    /// End of the payload (start of the padding).
    payload_end: u32,
}

/// The header extension block of a view: its profile and data, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionsRef<'a> {
    /// The "defined by profile" field.
    pub profile: u16,
    /// The block after its 4-byte header.
    pub data: &'a [u8],
}

impl<'a> ExtensionsRef<'a> {
    /// The RFC 8285 form of the block.
    #[inline]
    pub fn form(&self) -> ExtensionForm {
        ExtensionForm::of_profile(self.profile)
    }

    /// Iterates the elements.
    #[inline]
    pub fn iter(&self) -> ExtensionIter<'a> {
        ExtensionIter::new(self.data, self.form())
    }

    /// The data of the first element with this id.
    #[inline]
    pub fn get(&self, id: u8) -> Option<&'a [u8]> {
        self.iter()
            .map_while(Result::ok)
            .find(|e| e.id == id)
            .map(|e| e.data)
    }
}

impl RtpPacketView {
    /// Validates `buf` as an RTP packet. Nothing is copied or allocated.
    #[inline]
    pub fn parse(buf: Bytes) -> Result<Self, Error> {
        let l = wire::header(&buf)?;
        let b0 = l.fixed.b0;
        let off = l.header_len;
        let ext_start = l.extension.map_or(0, |(_, start, _)| start);
        let mut payload_end = buf.len();
        if b0 & 0x20 != 0 {
            let available = payload_end - off;
            let count = match buf.last() {
                Some(&c) if available > 0 => c,
                _ => {
                    return Err(Error::PaddingTooLong {
                        count: 0,
                        offset: off,
                        available,
                    })
                }
            };
            if count == 0 {
                return Err(Error::ZeroPadding {
                    offset: payload_end - 1,
                });
            }
            if usize::from(count) > available {
                return Err(Error::PaddingTooLong {
                    count,
                    offset: payload_end - 1,
                    available,
                });
            }
            payload_end -= usize::from(count);
        }
        // A packet is at most 12 + 60 + 4 + 262140 header bytes plus its payload; lengths beyond
        // u32 cannot come from a datagram.
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(Self {
            ext_start: clamp(ext_start),
            header_len: clamp(off),
            payload_end: clamp(payload_end),
            buf,
        })
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    #[inline]
    fn be32(&self, i: usize) -> u32 {
        self.buf
            .get(i..i + 4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_be_bytes)
    }

    /// M bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.byte(1) & 0x80 != 0
    }

    /// Payload type.
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.byte(1) & 0x7f
    }

    /// Sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.byte(2), self.byte(3)])
    }

    /// Timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        self.be32(4)
    }

    /// SSRC.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        self.be32(8)
    }

    /// The CSRCs.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        let n = usize::from(self.byte(0) & 0x0f);
        (0..n).map(move |i| self.be32(FIXED_HEADER_LEN + 4 * i))
    }

    /// The header extension block, when X is set.
    #[inline]
    pub fn extensions(&self) -> Option<ExtensionsRef<'_>> {
        if self.ext_start == 0 {
            return None;
        }
        let start = self.ext_start as usize;
        let profile = u16::from_be_bytes([self.byte(start - 4), self.byte(start - 3)]);
        let data = self.buf.get(start..self.header_len as usize)?;
        Some(ExtensionsRef { profile, data })
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.header_len as usize
    }

    /// The payload, without padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buf
            .get(self.header_len as usize..self.payload_end as usize)
            .unwrap_or(&[])
    }

    /// The payload as a zero-copy `Bytes`.
    pub fn payload_bytes(&self) -> Bytes {
        self.buf
            .slice(self.header_len as usize..self.payload_end as usize)
    }

    /// Padding count (0: none).
    pub fn padding(&self) -> u8 {
        (self.buf.len() - self.payload_end as usize) as u8
    }

    /// The whole packet as received.
    pub fn raw(&self) -> &Bytes {
        &self.buf
    }

    /// The decoded header.
    pub fn header(&self) -> RtpHeader {
        let raw_csrcs = self
            .buf
            .slice(FIXED_HEADER_LEN..FIXED_HEADER_LEN + 4 * usize::from(self.byte(0) & 0x0f));
        RtpHeader {
            marker: self.marker(),
            payload_type: self.payload_type(),
            sequence_number: self.sequence_number(),
            timestamp: self.timestamp(),
            ssrc: self.ssrc(),
            csrcs: Csrcs::from_raw(raw_csrcs),
            extensions: self.extensions().map(|e| {
                HeaderExtensions::from_packet(
                    e.profile,
                    &self.buf,
                    self.ext_start as usize,
                    self.header_len as usize,
                )
            }),
        }
    }

    /// An owned, editable packet (payload still shared with this view).
    pub fn to_packet(&self) -> RtpPacket {
        RtpPacket {
            header: self.header(),
            payload: self.payload_bytes(),
            padding: self.padding(),
        }
    }
}
