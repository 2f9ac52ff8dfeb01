//! RTCP compound packets, feedback (NACK, PLI, FIR, REMB, TWCC, RFC 8888) and XR.
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
//!
//! ```
//! use bytes::Bytes;
//! use ferrtc_rtcp::{parse_compound, RtcpPacket};
//!
//! let raw = Bytes::from_static(&[
//!     0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // RR, no blocks
//!     0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, // PLI
//! ]);
//! let packets = parse_compound(raw.clone()).unwrap();
//! assert!(matches!(&packets[1], RtcpPacket::Pli(p) if p.media_ssrc == 2));
//! let mut out = Vec::new();
//! ferrtc_rtcp::write_compound(&packets, &mut out);
//! assert_eq!(out, raw);
//! ```
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
