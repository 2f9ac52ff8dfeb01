//! Sans-IO SCTP (RFC 9260) as profiled for WebRTC by RFC 8261: one path, packets carried as
//! DTLS application data, with PR-SCTP (RFC 3758), stream reset (RFC 6525), I-DATA
//! (RFC 8260) and zero checksum (RFC 9653).
//!
//! [`packet`], [`chunk`] and [`param`] are the wire codec.
#![forbid(unsafe_code)]

pub mod chunk;
mod error;
pub mod packet;
pub mod param;

pub use chunk::Chunk;
pub use error::Error;
pub use packet::{ChecksumMode, CommonHeader, Packet};

mod association;
mod config;

pub use association::{Association, Event, Message, SendOptions, State, Stats};
pub use config::Config;

/// Payload protocol identifiers used by WebRTC (RFC 8831 §8, RFC 8832).
pub mod ppid {
    /// DCEP (RFC 8832).
    pub const DCEP: u32 = 50;
    /// WebRTC String.
    pub const STRING: u32 = 51;
    /// WebRTC Binary Partial (deprecated).
    pub const BINARY_PARTIAL: u32 = 52;
    /// WebRTC Binary.
    pub const BINARY: u32 = 53;
    /// WebRTC String Partial (deprecated).
    pub const STRING_PARTIAL: u32 = 54;
    /// WebRTC String Empty.
    pub const STRING_EMPTY: u32 = 56;
    /// WebRTC Binary Empty.
    pub const BINARY_EMPTY: u32 = 57;
}
