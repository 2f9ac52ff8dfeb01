#![doc = include_str!("../README.md")]
//!
//! ## Details
//!
//! The handshake follows RFC 9260 §5.1 and §5.2: HMAC-signed, time-limited state cookies
//! carrying Tie-Tags, INIT collisions (both WebRTC peers send INIT at once), unexpected INITs
//! answered with a new tag, the COOKIE ECHO actions A–D (peer restart, collisions, late
//! cookies) and Stale Cookie errors. RE-CONFIG (RFC 6525) resets streams (how data channels
//! close) and adds streams within [`Config::max_streams`] ([`Association::add_streams`]).
//!
//! Defaults worth knowing (see [`Config`]): 1160-byte packets (1200 minus DTLS overhead),
//! RTO initial 200 ms / min 50 ms / max 6 s, delayed SACK 20 ms, 1 MiB receive window,
//! 256 KiB max message size, zero checksum offered.
//!
//! Hostile input gets the RFC's answer and nothing more: malformed packets are dropped
//! (counted in [`Stats::packets_dropped`]); DATA without user data, a SACK for a TSN never
//! sent and DATA/I-DATA mixing abort with "No User Data" / "Protocol Violation"; a
//! malformed INIT is answered with an ABORT under its own Initiate Tag; unrecognized chunks
//! asking to be reported share one ERROR chunk per packet, at most one such ERROR per
//! 100 ms. Receive memory stays within the receive buffer plus two maximum-size messages.
//! tests/hostile.rs holds the corpus.
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
mod wire;

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
