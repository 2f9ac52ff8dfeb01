#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! - [`RtpPacket::parse`] takes a [`bytes::Bytes`] and keeps the payload and the extension
//!   block as slices of it: no copy, no allocation. [`RtpHeader::parse`] reads only the header.
//! - [`HeaderExtensions`] reads the one-byte and two-byte forms lazily;
//!   [`ExtensionMap::read`] decodes every known extension in one pass;
//!   [`ExtensionsBuilder`] writes blocks.
//! - [`SeqUnwrapper`] / [`TimestampUnwrapper`] extend counters to 64 bits;
//!   [`rtx`] wraps and unwraps retransmissions.
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
