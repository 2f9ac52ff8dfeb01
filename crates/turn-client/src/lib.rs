#![doc = include_str!("../README.md")]
//!
//! ## Streams
//!
//! The byte-stream transports (TCP and TLS) only differ in who owns the stream: hand the
//! plaintext bytes to [`TurnClient::handle_stream_data`] and write what
//! [`TurnClient::poll_transmit`] returns. `tests/coturn.rs` drives the client with std sockets
//! against a real coturn over UDP and TCP (`cargo xtask coturn`).
#![forbid(unsafe_code)]

mod channel_data;
mod client;
mod error;

pub use channel_data::{ChannelData, Frame, StreamFramer, MAX_CHANNEL, MIN_CHANNEL};
pub use client::{
    AllocationFamily, AllocationState, Config, Event, Transmit, Transport, TurnClient,
    CHANNEL_LIFETIME, CHANNEL_REFRESH, PERMISSION_LIFETIME, PERMISSION_REFRESH,
};
pub use error::Error;
