//! ChannelData messages (RFC 8656 §12.4): a 4-byte header (channel number, length) and the
//! application data, padded to a multiple of 4 bytes over TCP/TLS.

use crate::error::Error;
use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::be_u16;
use nom::{IResult, Parser};

/// First channel number a client may bind (RFC 8656 §12).
pub const MIN_CHANNEL: u16 = 0x4000;
/// Last channel number a client may bind.
pub const MAX_CHANNEL: u16 = 0x4FFF;

/// A ChannelData message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelData {
    /// Channel number, 0x4000..=0x4FFF.
    pub channel: u16,
    /// Application data (zero-copy slice of the received buffer).
    pub data: Bytes,
}

pub(crate) fn padded(n: usize) -> usize {
    (n + 3) & !3
}

/// nom's error over byte input (the input left where a parser failed).
type NomError<'a> = nom::error::Error<&'a [u8]>;

/// The 4-byte header (RFC 8656 §12.4, Figure 4): channel number and length of the
/// application data. A STUN header on a stream starts the same way (message type, length),
/// so the framer reads both with it.
///
/// ```text
/// |         Channel Number        |            Length             |
/// /                       Application Data                        /
/// ```
pub(crate) fn header(i: &[u8]) -> IResult<&[u8], (u16, usize), NomError<'_>> {
    (be_u16, be_u16.map(usize::from)).parse(i)
}

impl ChannelData {
    /// Parse one ChannelData message occupying `buf` (a UDP datagram or one stream frame).
    /// Up to 3 padding bytes after the data are accepted, as RFC 8656 §12.5 allows them over
    /// UDP and requires them over TCP.
    pub fn parse(buf: Bytes) -> Result<ChannelData, Error> {
        let have = buf.len();
        let (rest, (channel, len)) =
            header(&buf).map_err(|_| Error::ChannelDataTruncated { needed: 4, have })?;
        if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&channel) {
            return Err(Error::InvalidChannel(channel));
        }
        let (padding, data) = take(len).parse(rest).map_err(|_: nom::Err<NomError<'_>>| {
            Error::ChannelDataTruncated {
                needed: 4 + len,
                have,
            }
        })?;
        if padding.len() > padded(len) - len {
            return Err(Error::ChannelDataTrailing {
                channel,
                extra: padding.len(),
            });
        }
        Ok(ChannelData {
            channel,
            data: buf.slice_ref(data),
        })
    }

    /// Bytes on the wire; `pad` is true over TCP/TLS.
    pub fn encoded_len(&self, pad: bool) -> usize {
        if pad {
            4 + padded(self.data.len())
        } else {
            4 + self.data.len()
        }
    }

    /// Encode. The data must be at most 65535 bytes (checked by [`crate::TurnClient::send`]).
    pub fn write_to(&self, pad: bool, out: &mut impl BufMut) {
        out.put_u16(self.channel);
        out.put_u16(self.data.len() as u16);
        out.put_slice(&self.data);
        if pad {
            out.put_bytes(0, padded(self.data.len()) - self.data.len());
        }
    }
}

/// One frame taken off a TCP/TLS byte stream from a TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole STUN message (not yet parsed).
    Stun(Bytes),
    /// A ChannelData message (with its padding).
    ChannelData(Bytes),
}

/// Reassembles STUN messages and padded ChannelData frames from a byte stream
/// (RFC 8656 §12.5, RFC 8489 §6.2.2).
#[derive(Debug)]
pub struct StreamFramer {
    buf: bytes::BytesMut,
    max: usize,
}

impl StreamFramer {
    /// A framer buffering at most `max_buffer` bytes.
    pub fn new(max_buffer: usize) -> Self {
        StreamFramer {
            buf: bytes::BytesMut::new(),
            max: max_buffer,
        }
    }

    /// Append bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.buf.len() + data.len() > self.max {
            return Err(Error::StreamBufferFull(self.max));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Bytes waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, Error> {
        let Ok((_, (first, len))) = header(&self.buf) else {
            return Ok(None);
        };
        // RFC 7983: the first byte tells STUN (0-3, and the top two bits of the STUN type are
        // zero up to 0x3F) from ChannelData (0x40-0x4F).
        let (total, stun) = match (first >> 8) as u8 {
            0x00..=0x3F => (20 + len, true),
            0x40..=0x4F => (4 + padded(len), false),
            b => return Err(Error::StreamDesync(b)),
        };
        if total > self.max {
            return Err(Error::StreamBufferFull(self.max));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        Ok(Some(if stun {
            Frame::Stun(frame)
        } else {
            Frame::ChannelData(frame)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_padded_and_not() {
        let cd = ChannelData {
            channel: 0x4001,
            data: Bytes::from_static(b"hello"),
        };
        for pad in [false, true] {
            let mut v = Vec::new();
            cd.write_to(pad, &mut v);
            assert_eq!(v.len(), cd.encoded_len(pad));
            assert_eq!(ChannelData::parse(Bytes::from(v)).unwrap(), cd);
        }
    }

    #[test]
    fn errors() {
        assert!(ChannelData::parse(Bytes::from_static(&[0x40, 0])).is_err());
        assert_eq!(
            ChannelData::parse(Bytes::from_static(&[0x3f, 0xff, 0, 0])),
            Err(Error::InvalidChannel(0x3fff))
        );
        assert_eq!(
            ChannelData::parse(Bytes::from_static(&[0x50, 0x00, 0, 0])),
            Err(Error::InvalidChannel(0x5000))
        );
        assert!(ChannelData::parse(Bytes::from_static(&[0x40, 0, 0, 5, 1, 2])).is_err());
        assert!(ChannelData::parse(Bytes::from_static(&[0x40, 0, 0, 1, 1, 0, 0, 0, 0])).is_err());
    }

    #[test]
    fn framer_splits_stream() {
        let cd = ChannelData {
            channel: 0x4000,
            data: Bytes::from_static(b"abcde"),
        };
        let mut stream = Vec::new();
        cd.write_to(true, &mut stream);
        let stun = ferrtc_stun::MessageBuilder::new(
            ferrtc_stun::MessageType::new(
                ferrtc_stun::Method::BINDING,
                ferrtc_stun::Class::Indication,
            ),
            ferrtc_stun::TransactionId([1; 12]),
        )
        .build();
        stream.extend_from_slice(&stun);
        cd.write_to(true, &mut stream);
        let mut f = StreamFramer::new(4096);
        let mut frames = vec![];
        for chunk in stream.chunks(3) {
            f.push(chunk).unwrap();
            while let Some(fr) = f.next_frame().unwrap() {
                frames.push(fr);
            }
        }
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[1], Frame::Stun(b) if *b == stun));
        match &frames[2] {
            Frame::ChannelData(b) => assert_eq!(ChannelData::parse(b.clone()).unwrap(), cd),
            other => panic!("{other:?}"),
        }
        assert_eq!(f.buffered(), 0);
        f.push(&[0x80, 0, 0, 0]).unwrap();
        assert_eq!(f.next_frame(), Err(Error::StreamDesync(0x80)));
    }
}
