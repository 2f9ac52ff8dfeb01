//! Sans-IO SCTP (RFC 9260) as profiled for WebRTC by RFC 8261: one path, packets carried as
//! DTLS application data, with PR-SCTP (RFC 3758), stream reset (RFC 6525), I-DATA
//! (RFC 8260) and zero checksum (RFC 9653).
//!
//! [`packet`], [`chunk`] and [`param`] are the wire codec; [`Association`] is the state
//! machine. It knows nothing of DTLS, sockets or clocks: the caller passes time and
//! randomness in and moves packets out.
//!
//! The handshake follows RFC 9260 §5.1 and §5.2: HMAC-signed, time-limited state cookies
//! carrying Tie-Tags, INIT collisions (both WebRTC peers send INIT at once), unexpected INITs
//! answered with a new tag, the COOKIE ECHO actions A–D (peer restart, collisions, late
//! cookies) and Stale Cookie errors. RE-CONFIG (RFC 6525) resets streams (how data channels
//! close) and adds streams within [`Config::max_streams`] ([`Association::add_streams`]).
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use ferrtc_sctp::{Association, Config, Event, SendOptions};
//! # struct Rng(u64);
//! # impl rand_core::RngCore for Rng {
//! #     fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }
//! #     fn next_u64(&mut self) -> u64 { self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1); self.0 >> 16 }
//! #     fn fill_bytes(&mut self, d: &mut [u8]) { for b in d { *b = self.next_u32() as u8 } }
//! # }
//! let now = Instant::now();
//! let mut a = Association::new(Config::default(), now, &mut Rng(1));
//! let mut b = Association::new(Config::default(), now, &mut Rng(2));
//! a.connect(now);
//! let mut pump = |a: &mut Association, b: &mut Association| {
//!     for _ in 0..4 {
//!         while let Some(p) = a.poll_transmit() { b.handle_receive(now, p).unwrap(); }
//!         while let Some(p) = b.poll_transmit() { a.handle_receive(now, p).unwrap(); }
//!     }
//! };
//! pump(&mut a, &mut b);
//! a.send(now, 1, ferrtc_sctp::ppid::STRING, Bytes::from_static(b"hi"), SendOptions::default()).unwrap();
//! pump(&mut a, &mut b);
//! let got: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
//! assert!(got.iter().any(|e| matches!(e, Event::Message(m) if m.payload == "hi")));
//! ```
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
