#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! Parse a datagram with [`parse`] (the WebRTC default: reduced-size RTCP, RFC 5506, which also
//! accepts every compound packet), [`parse_compound`] (RFC 3550 A.2 checks) or
//! [`parse_strict_compound`] (also requires the SDES CNAME of RFC 3550 §6.1), or walk it with
//! [`PacketIter`]; [`validate_compound`] checks a list of packets against §6.1. Every packet is
//! an [`RtcpPacket`]. Variable data (SDES values, BYE reasons, APP data, TWCC chunks and
//! deltas) are zero-copy slices of the input. Packet types this crate does not decode are kept raw ([`RawPacket`]).
//!
//! On the receive path, [`PacketRefIter`] walks a borrowed datagram with the same checks and
//! yields small views ([`RtcpPacketRef`]) that read their fields from it: no owned packet is
//! built, no reference count touched (see [`view`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bye;
pub mod ccfb;
mod error;
mod packet;
pub mod psfb;
pub mod report;
pub mod rtpfb;
pub mod sdes;
pub mod twcc;
pub mod view;
mod wire;
pub mod xr;

pub use bye::{App, Bye};
pub use ccfb::{CcfbReportBlock, CongestionControlFeedback, PacketMetric};
pub use error::Error;
pub use packet::{
    compound_len, parse, parse_compound, parse_reduced_size, parse_strict_compound, parse_with,
    validate_compound, write_compound, Limits, Mode, PacketIter, RawPacket, RtcpPacket,
};
pub use psfb::{Fir, FirEntry, Pli, Remb, Sli, SliEntry};
pub use report::{ReceiverReport, ReportBlock, ReportBlocks, SenderReport};
pub use rtpfb::{Nack, NackPair, NackPairs, Tmmb, TmmbItem};
pub use sdes::{Sdes, SdesChunk, SdesChunks, SdesItem, SdesItemType, SdesItems};
pub use twcc::{PacketStatus, PacketStatusChunk, TransportCc, TransportCcBuilder, TwccPacket};
pub use view::{
    NackRef, OtherRef, PacketRefIter, ReceiverReportRef, RtcpPacketRef, SdesChunkRef, SdesItemRef,
    SdesRef, SenderReportRef,
};
pub use xr::{DlrrItem, ExtendedReport, XrBlock};
