//! What the agent hands the caller: bytes to send ([`Transmit`]: a datagram, or bytes for the
//! TCP/TLS stream to a TURN server), [`Event`]s, and the W3C [`ConnectionState`] with the rule
//! that derives it from the checklist and the selected pair; and what it is handed
//! ([`Datagram`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use tracing::debug;

use crate::candidate::Candidate;

use super::{Agent, PairState, Role, TurnTransport};

/// Bytes to send, in the order they come.
///
/// With [`TurnTransport::Udp`] (everything but TURN over TCP/TLS) it is a datagram from the
/// local socket `source` to `destination`.
///
/// With [`TurnTransport::Tcp`] or [`TurnTransport::Tls`] it is bytes to write to the TCP or
/// TLS connection from the interface `source` to the TURN server `destination` (RFC 8656 §3.1;
/// the framing is done). The connection is the driver's business: the first such transmit for
/// a (`source`, `destination`) pair means "open it" (bind to `source`'s IP, connect, and for
/// TLS verify the certificate for `server_name`); bytes read from it go to
/// [`Agent::handle_stream_data`]; when it cannot be opened or closes, the driver calls
/// [`Agent::handle_stream_closed`]. Bytes must be written in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// How the bytes leave: a UDP datagram, or the stream to a TURN server.
    pub transport: TurnTransport,
    /// The local socket (UDP), or the interface the stream is opened from.
    pub source: SocketAddr,
    /// The receiver (UDP), or the TURN server at the other end of the stream.
    pub destination: SocketAddr,
    /// Payload.
    pub contents: Bytes,
}

impl Transmit {
    /// A datagram from the socket bound to `source` to `destination`.
    pub fn udp(source: SocketAddr, destination: SocketAddr, contents: Bytes) -> Transmit {
        Transmit {
            transport: TurnTransport::Udp,
            source,
            destination,
            contents,
        }
    }

    /// Whether these are bytes for a TCP/TLS stream to a TURN server rather than a datagram.
    pub fn is_stream(&self) -> bool {
        self.transport.is_stream()
    }
}

/// A received datagram: `source` is the remote address, `destination` the local socket's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Sender address.
    pub source: SocketAddr,
    /// Receiver address (the local socket's).
    pub destination: SocketAddr,
    /// Payload.
    pub contents: Bytes,
}

/// A transmit as its receiver gets it, for networks simulated in memory (a TURN stream's
/// bytes are not a datagram: such a network must hand those to its TURN server instead).
impl From<Transmit> for Datagram {
    fn from(t: Transmit) -> Datagram {
        Datagram {
            source: t.source,
            destination: t.destination,
            contents: t.contents,
        }
    }
}

/// `RTCIceConnectionState` (W3C webrtc-pc §5.6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// No remote candidates/credentials yet.
    New,
    /// Checking pairs, nothing selected yet.
    Checking,
    /// A pair is selected; checks may still run.
    Connected,
    /// A pair is selected, all checks done and the remote signalled end-of-candidates.
    Completed,
    /// The selected pair has not been confirmed alive (consent) for a while.
    Disconnected,
    /// All pairs failed, or consent was lost (30 s without a response).
    Failed,
    /// [`Agent::close`] was called.
    Closed,
}

/// What the layer above must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new local candidate to signal to the peer (trickle).
    LocalCandidate(Candidate),
    /// Gathering finished (signal end-of-candidates).
    GatheringComplete,
    /// The connection state changed.
    ConnectionState(ConnectionState),
    /// Data now goes over this pair (local base, remote address).
    SelectedPairChanged {
        /// Local socket address (the base).
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
    /// The role changed after a role conflict (RFC 8445 §7.3.1.1).
    RoleChanged(Role),
    /// A remote candidate uses this host name: resolve it and call
    /// [`Agent::resolve_remote_name`] (mDNS names of browsers).
    ResolveName(String),
    /// With [`AgentConfig::mdns_host_names`](crate::AgentConfig::mdns_host_names): the application's mDNS responder must answer
    /// queries for `name` with `ip`.
    MdnsName {
        /// The random `<uuid>.local` name.
        name: String,
        /// The host address it stands for.
        ip: IpAddr,
    },
}

impl Agent {
    pub(super) fn update_state(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        let pending = self.pairs.iter().any(|p| {
            matches!(
                p.state,
                PairState::Frozen | PairState::Waiting | PairState::InProgress
            )
        }) || !self.triggered.is_empty();
        let new = if self.consent_lost {
            ConnectionState::Failed
        } else if let Some(sel) = &self.selected {
            if now >= sel.last_consent + self.config.disconnected_timeout {
                ConnectionState::Disconnected
            } else if self.end_of_remote && !pending && !sel.from_previous_generation {
                ConnectionState::Completed
            } else {
                ConnectionState::Connected
            }
        } else if self.remote_creds.is_none() && self.remotes.is_empty() {
            ConnectionState::New
        } else if self.end_of_remote
            && !self.config.lite
            && !pending
            && !self.pairs.is_empty()
            && self.pairs.iter().all(|p| p.state == PairState::Failed)
        {
            ConnectionState::Failed
        } else {
            ConnectionState::Checking
        };
        if new != self.state {
            debug!(from = ?self.state, to = ?new, "ice: state");
            if new == ConnectionState::Completed
                && matches!(self.state, ConnectionState::New | ConnectionState::Checking)
            {
                // W3C: completed is reached through connected.
                self.events
                    .push_back(Event::ConnectionState(ConnectionState::Connected));
            }
            self.state = new;
            self.events.push_back(Event::ConnectionState(new));
        }
    }
}
