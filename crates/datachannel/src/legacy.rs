//! The hand-written DCEP parser that the nom grammar replaced, kept only for the differential
//! test and fuzz target of issue 14 (feature `legacy-parser`, not part of the API).
#![allow(missing_docs)]

use bytes::Bytes;

use crate::dcep::{ChannelType, Message, Open, MSG_ACK, MSG_OPEN};
use crate::Error;

fn u16_at(b: &[u8], off: usize) -> Result<u16, Error> {
    b.get(off..off + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map(u16::from_be_bytes)
        .ok_or(Error::Dcep {
            what: "truncated header",
            offset: off,
        })
}

/// The old `Message::parse`.
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
            let proto = buf
                .get(12 + label_len..12 + label_len + proto_len)
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

/// Run the old and the new parser on `data` and panic on any difference.
pub fn check(data: &[u8]) {
    let buf = Bytes::copy_from_slice(data);
    assert_eq!(Message::parse(&buf), parse(&buf));
}
