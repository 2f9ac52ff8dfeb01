//! RTP packets (RFC 3550), header extensions (RFC 8285) and RTX (RFC 4588), zero-copy.
//!
//! - [`RtpPacket::parse`] takes a [`bytes::Bytes`] and keeps the payload and the extension
//!   block as slices of it: no copy, no allocation. [`RtpHeader::parse`] reads only the header.
//! - [`HeaderExtensions`] reads the one-byte and two-byte forms lazily;
//!   [`ExtensionMap::read`] decodes every known extension in one pass;
//!   [`ExtensionsBuilder`] writes blocks.
//! - [`SeqUnwrapper`] / [`TimestampUnwrapper`] extend counters to 64 bits;
//!   [`rtx`] wraps and unwraps retransmissions.
//!
//! ```
//! use bytes::Bytes;
//! use ferrtc_rtp::{ExtensionMap, RtpPacket, values::{AbsSendTime, ExtensionValue, Mid}};
//!
//! let map = ExtensionMap::from_pairs([(1, Mid::URI), (2, AbsSendTime::URI)]).unwrap();
//! let raw = Bytes::from_static(&[
//!     0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, // header, X set
//!     0xbe, 0xde, 0x00, 0x02, // one-byte form, 2 words
//!     0x10, b'a', 0x22, 0x01, 0x02, 0x03, 0x00, 0x00, // mid "a", abs-send-time
//!     0xca, 0xfe, // payload
//! ]);
//! let pkt = RtpPacket::parse(raw).unwrap();
//! let ext = map.read(pkt.header.extensions.as_ref().unwrap());
//! assert_eq!(ext.mid.unwrap().as_str(), Some("a"));
//! assert_eq!(ext.abs_send_time, Some(AbsSendTime(0x010203)));
//! assert_eq!(&pkt.payload[..], &[0xca, 0xfe]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod extension;
pub mod extmap;
mod packet;
pub mod rtx;
mod seq;
pub mod values;
mod view;
mod wire;

pub use error::Error;
pub use extension::{ExtensionElement, ExtensionForm, ExtensionsBuilder, HeaderExtensions};
pub use extmap::{ExtensionKind, ExtensionMap, KnownExtensions};
pub use packet::{Csrcs, HeaderInfo, RtpHeader, RtpPacket, FIXED_HEADER_LEN};
pub use seq::{SeqUnwrapper, TimestampUnwrapper};
pub use view::{ExtensionsRef, RtpPacketView};
