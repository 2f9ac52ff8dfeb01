//! AV1 RTP payload format (the AV1 RTP payload specification v1.0.0, §4-§5).
//!
//! - Frames in and out are temporal units in the low-overhead bitstream format (OBUs with
//!   `obu_has_size_field` = 1), e.g. what an IVF file or an encoder gives.
//! - [`Av1Packetizer`]: drops temporal delimiters, tile lists and padding (§5), removes the OBU
//!   size fields (§4.4: "SHOULD be set to zero"), aggregates and fragments OBU elements behind the
//!   aggregation header (Z, Y, W, N), W = element count when it is 1..=3 (last element without
//!   its length), W = 0 otherwise; N = 1 on the first packet of a temporal unit that starts a
//!   coded video sequence (a sequence header and a key frame).
//! - [`Av1Depacketizer`]: accepts W = 0 and W = 1..=3, joins fragments across packets, puts the
//!   OBU size fields back (minimal leb128), drops received temporal delimiters and writes one
//!   temporal delimiter at the start of each temporal unit (configurable), so the output is a
//!   conforming low-overhead temporal unit.
//! - Decodability: with a Dependency Descriptor per packet
//!   ([`Av1Depacketizer::set_frame_dependency`] before
//!   [`Depacketizer::push`](crate::Depacketizer::push)), a frame is decodable when every frame
//!   it refers to (frame_number − fdiff) was released decodable; without one, a keyframe
//!   (N = 1) or a frame contiguous with a decodable chain is.

/// OBU types of the AV1 specification §6.2.2.
pub mod obu {
    /// OBU_SEQUENCE_HEADER.
    pub const SEQUENCE_HEADER: u8 = 1;
    /// OBU_TEMPORAL_DELIMITER.
    pub const TEMPORAL_DELIMITER: u8 = 2;
    /// OBU_FRAME_HEADER.
    pub const FRAME_HEADER: u8 = 3;
    /// OBU_TILE_GROUP.
    pub const TILE_GROUP: u8 = 4;
    /// OBU_METADATA.
    pub const METADATA: u8 = 5;
    /// OBU_FRAME.
    pub const FRAME: u8 = 6;
    /// OBU_REDUNDANT_FRAME_HEADER.
    pub const REDUNDANT_FRAME_HEADER: u8 = 7;
    /// OBU_TILE_LIST.
    pub const TILE_LIST: u8 = 8;
    /// OBU_PADDING.
    pub const PADDING: u8 = 15;
}

mod depacketizer;
mod obu_helpers;
mod packetizer;

pub use depacketizer::{Av1Depacketizer, Av1Info};
pub use obu_helpers::{
    leb128_len, parse_sequence_header, read_leb128, write_leb128, SequenceHeaderInfo,
};
pub use packetizer::Av1Packetizer;

/// Most OBUs accepted in one temporal unit by the packetizer.
pub const MAX_OBUS_PER_TEMPORAL_UNIT: usize = 4096;
