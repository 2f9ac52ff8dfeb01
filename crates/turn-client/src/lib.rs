//! Sans-IO TURN client (RFC 8656) over UDP, TCP and TLS byte streams.
//!
//! [`TurnClient`] allocates a relayed address with long-term credentials (401 challenge,
//! 438 stale-nonce recovery), keeps the allocation, permissions and channel bindings
//! refreshed, and relays data through Send/Data indications and ChannelData. It does no
//! I/O: `tests/coturn.rs` drives it with std sockets against a real coturn
//! (`cargo xtask coturn`).
//!
//! The byte-stream transports (TCP and TLS) only differ in who owns the stream: hand the
//! plaintext bytes to [`TurnClient::handle_stream_data`] and write what
//! [`TurnClient::poll_transmit`] returns.
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
