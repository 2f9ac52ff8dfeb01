#![doc = include_str!("../README.md")]
//!
//! ## Driving it
//!
//! The [`Agent`] owns no socket and no clock: the caller hands it the addresses of the UDP
//! sockets it bound ([`Agent::add_local_interface`]), feeds it every datagram that arrives
//! ([`Agent::handle_receive`]), calls [`Agent::handle_timeout`] at [`Agent::poll_timeout`], and
//! sends what [`Agent::poll_transmit`] yields from the socket named by [`Transmit::source`].
//!
//! TURN servers reached over TCP or TLS ([`TurnTransport`], RFC 8656 §3.1) need a byte stream
//! instead: such a [`Transmit`] comes out of the same [`Agent::poll_transmit`] with
//! [`Transmit::transport`] saying TCP or TLS, and carries the bytes for the stream from
//! `source` to the server `destination` (the first ones for a server mean "connect"). The
//! caller feeds what it reads to [`Agent::handle_stream_data`] and reports a connection that
//! failed or closed with [`Agent::handle_stream_closed`] (that relayed candidate fails;
//! gathering still completes). The relayed address itself is always UDP.
#![forbid(unsafe_code)]

pub mod agent;
pub mod candidate;
pub mod stun;

pub use agent::{
    Agent, AgentConfig, ConnectionState, Credentials, Datagram, Event, PairState, PairStats, Role,
    Transmit, TurnServer, TurnTransport,
};
pub use candidate::{Address, Candidate, CandidateType, Extension, TcpType, Transport};

/// Errors of the ICE crate; each message says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A candidate line did not follow RFC 8839 §5.1.
    #[error("candidate attribute: {0}")]
    Candidate(String),
    /// A STUN message was malformed.
    #[error("STUN message: {0}")]
    Stun(String),
    /// A STUN request or response failed MESSAGE-INTEGRITY (or carried the wrong USERNAME).
    #[error("STUN integrity check failed: {0}")]
    Integrity(&'static str),
    /// A configured limit was reached; the input was dropped.
    #[error("limit reached: {0}")]
    Limit(&'static str),
    /// A call that needs a selected candidate pair was made before one was selected.
    #[error("no selected candidate pair")]
    NotConnected,
    /// A STUN response whose transaction id the agent never sent (or already finished).
    #[error("STUN response for an unknown transaction")]
    UnknownTransaction,
    /// A datagram arrived from an address that is not a validated remote candidate.
    #[error("datagram from unvalidated address {0}")]
    UnknownSource(std::net::SocketAddr),
    /// An argument was invalid (what and why in the message).
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
}
