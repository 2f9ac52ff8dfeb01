//! The Data Channel Establishment Protocol messages (RFC 8832 §5).

use bytes::{BufMut, Bytes};

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

fn u16_at(b: &[u8], off: usize) -> Result<u16, Error> {
    b.get(off..off + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(u16::from_be_bytes)
        .ok_or(Error::Dcep {
            what: "truncated header",
            offset: off,
        })
}

impl Message {
    /// Parses a DCEP message (the payload of a PPID 50 SCTP message).
    pub fn parse(buf: &Bytes) -> Result<Message, Error> {
        match buf.first() {
            Some(&MSG_ACK) => {
                // RFC 8832 §5.2: the ACK is one byte; ignore anything after it.
                Ok(Message::Ack)
            }
            Some(&MSG_OPEN) => {
                let ct = *buf.get(1).ok_or(Error::Dcep {
                    what: "truncated header",
                    offset: 1,
                })?;
                let priority = u16_at(buf, 2)?;
                let rp = buf
                    .get(4..8)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .map(u32::from_be_bytes)
                    .ok_or(Error::Dcep {
                        what: "truncated header",
                        offset: 4,
                    })?;
                let label_len = u16_at(buf, 8)? as usize;
                let proto_len = u16_at(buf, 10)? as usize;
                let label = buf.get(12..12 + label_len).ok_or(Error::Dcep {
                    what: "label exceeds message",
                    offset: 12,
                })?;
                let proto =
                    buf.get(12 + label_len..12 + label_len + proto_len)
                        .ok_or(Error::Dcep {
                            what: "protocol exceeds message",
                            offset: 12 + label_len,
                        })?;
                let channel_type = match ct & 0x7f {
                    0x00 => ChannelType::Reliable,
                    0x01 => ChannelType::PartialReliableRexmit,
                    0x02 => ChannelType::PartialReliableTimed,
                    _ => {
                        return Err(Error::Dcep {
                            what: "unknown channel type",
                            offset: 1,
                        })
                    }
                };
                Ok(Message::Open(Open {
                    channel_type,
                    unordered: ct & 0x80 != 0,
                    priority,
                    reliability_parameter: rp,
                    label: String::from_utf8(label.to_vec()).map_err(|_| Error::Dcep {
                        what: "label is not UTF-8",
                        offset: 12,
                    })?,
                    protocol: String::from_utf8(proto.to_vec()).map_err(|_| Error::Dcep {
                        what: "protocol is not UTF-8",
                        offset: 12 + label_len,
                    })?,
                }))
            }
            Some(_) => Err(Error::Dcep {
                what: "unknown message type",
                offset: 0,
            }),
            None => Err(Error::Dcep {
                what: "empty message",
                offset: 0,
            }),
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
