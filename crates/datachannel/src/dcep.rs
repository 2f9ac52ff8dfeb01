//! The Data Channel Establishment Protocol messages (RFC 8832 §5).

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use crate::Error;

/// DATA_CHANNEL_OPEN message type.
pub const MSG_OPEN: u8 = 0x03;
/// DATA_CHANNEL_ACK message type.
pub const MSG_ACK: u8 = 0x02;

/// Channel type: reliability and ordering (RFC 8832 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelType {
    /// DATA_CHANNEL_RELIABLE (0x00) or DATA_CHANNEL_RELIABLE_UNORDERED (0x80).
    Reliable,
    /// DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT (0x01 / 0x81): reliability parameter is the
    /// number of retransmissions.
    PartialReliableRexmit,
    /// DATA_CHANNEL_PARTIAL_RELIABLE_TIMED (0x02 / 0x82): reliability parameter is the
    /// lifetime in milliseconds.
    PartialReliableTimed,
}

/// A DATA_CHANNEL_OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Reliability type.
    pub channel_type: ChannelType,
    /// Unordered delivery (the 0x80 bit of the channel type).
    pub unordered: bool,
    /// Priority (RFC 8832 §6.4: 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
    /// Retransmissions or lifetime in ms, per `channel_type`; 0 for reliable channels.
    pub reliability_parameter: u32,
    /// Label (UTF-8).
    pub label: String,
    /// Sub-protocol (UTF-8).
    pub protocol: String,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// DATA_CHANNEL_OPEN.
    Open(Open),
    /// DATA_CHANNEL_ACK.
    Ack,
}

/// nom's error over byte input (the input left where a parser failed).
type NomError<'a> = nom::error::Error<&'a [u8]>;

/// DATA_CHANNEL_OPEN after its message type (RFC 8832 §5.1, Figure 1); `len` is the length
/// of the whole message, for the offsets of errors:
///
/// ```text
/// |  Message Type |  Channel Type |            Priority           |
/// |                    Reliability Parameter                      |
/// |         Label Length          |       Protocol Length         |
/// \                             Label                             /
/// \                            Protocol                           /
/// ```
fn parse_open(len: usize, i: &[u8]) -> Result<Open, Error> {
    let err = |what, offset| Error::Dcep { what, offset };
    let at = |rest: &[u8]| len - rest.len();
    let (rest, (ct, priority, reliability_parameter, label_len, proto_len)) =
        (be_u8, be_u16, be_u32, be_u16, be_u16)
            .parse(i)
            .map_err(|e: nom::Err<NomError<'_>>| match e {
                // The offset of the field that did not fit.
                nom::Err::Error(e) | nom::Err::Failure(e) => err("truncated header", at(e.input)),
                nom::Err::Incomplete(_) => err("truncated header", len),
            })?;
    let (rest, label) = take(label_len)
        .parse(rest)
        .map_err(|_: nom::Err<NomError<'_>>| err("label exceeds message", 12))?;
    let proto_at = at(rest);
    let (_, proto) = take(proto_len)
        .parse(rest)
        .map_err(|_: nom::Err<NomError<'_>>| err("protocol exceeds message", proto_at))?;
    let channel_type = match ct & 0x7f {
        0x00 => ChannelType::Reliable,
        0x01 => ChannelType::PartialReliableRexmit,
        0x02 => ChannelType::PartialReliableTimed,
        _ => return Err(err("unknown channel type", 1)),
    };
    let text = |b: &[u8], what, offset| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| err(what, offset))
    };
    Ok(Open {
        channel_type,
        unordered: ct & 0x80 != 0,
        priority,
        reliability_parameter,
        label: text(label, "label is not UTF-8", 12)?,
        protocol: text(proto, "protocol is not UTF-8", proto_at)?,
    })
}

impl Message {
    /// Parses a DCEP message (the payload of a PPID 50 SCTP message).
    pub fn parse(buf: &Bytes) -> Result<Message, Error> {
        let err = |what, offset| Error::Dcep { what, offset };
        let Ok((rest, message_type)) = be_u8::<_, NomError<'_>>(&buf[..]) else {
            return Err(err("empty message", 0));
        };
        match message_type {
            // RFC 8832 §5.2: the ACK is one byte; ignore anything after it.
            MSG_ACK => Ok(Message::Ack),
            MSG_OPEN => parse_open(buf.len(), rest).map(Message::Open),
            _ => Err(err("unknown message type", 0)),
        }
    }

    /// Bytes written by [`write_to`](Self::write_to).
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Ack => 1,
            Message::Open(o) => 12 + o.label.len() + o.protocol.len(),
        }
    }

    /// Serializes the message. Labels and protocols longer than 65535 bytes are refused when
    /// a channel is created, so the lengths fit.
    pub fn write_to(&self, out: &mut impl BufMut) {
        match self {
            Message::Ack => out.put_u8(MSG_ACK),
            Message::Open(o) => {
                out.put_u8(MSG_OPEN);
                let t = match o.channel_type {
                    ChannelType::Reliable => 0x00,
                    ChannelType::PartialReliableRexmit => 0x01,
                    ChannelType::PartialReliableTimed => 0x02,
                };
                out.put_u8(t | if o.unordered { 0x80 } else { 0 });
                out.put_u16(o.priority);
                out.put_u32(o.reliability_parameter);
                out.put_u16(o.label.len() as u16);
                out.put_u16(o.protocol.len() as u16);
                out.put_slice(o.label.as_bytes());
                out.put_slice(o.protocol.as_bytes());
            }
        }
    }

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut v);
        Bytes::from(v)
    }
}
