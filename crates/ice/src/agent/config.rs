//! Configuration: [`AgentConfig`] (every limit and timing knob), [`Role`], [`Credentials`]
//! (RFC 8445 §5.3) and the TURN servers to allocate on ([`TurnServer`], [`TurnTransport`]).

use std::net::SocketAddr;
use std::time::Duration;

use rand_core::RngCore;

use std::sync::Arc;

use crate::stun::{integrity_key, IntegrityKey};

/// ICE role (RFC 8445 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Decides which pair is used (nominates).
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

/// Username fragment and password (RFC 8445 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `ice-ufrag`.
    pub ufrag: String,
    /// `ice-pwd`.
    pub pwd: String,
}

const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Credentials {
    /// Random credentials: 8-character ufrag (≥ 24 bits) and 24-character password (≥ 128
    /// bits), as RFC 8445 §5.3 requires.
    pub fn random(rng: &mut impl RngCore) -> Credentials {
        let mut s = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    let i = (rng.next_u32() % 64) as usize;
                    char::from(*ICE_CHARS.get(i).unwrap_or(&b'x'))
                })
                .collect()
        };
        Credentials {
            ufrag: s(8),
            pwd: s(24),
        }
    }
}

/// Our credentials of one generation, with the MESSAGE-INTEGRITY key of the password prepared
/// once (issue 17): every request we verify and every response we sign uses a copy of it.
#[derive(Debug, Clone)]
pub(super) struct LocalSecret {
    pub(super) creds: Credentials,
    /// `None` only if the crypto library refused the password as a key (nothing verifies).
    pub(super) key: Option<Arc<IntegrityKey>>,
}

impl LocalSecret {
    pub(super) fn new(creds: Credentials) -> LocalSecret {
        LocalSecret {
            key: integrity_key(creds.pwd.as_bytes()).map(Arc::new),
            creds,
        }
    }
}

/// The remote credentials of one generation, with what every check and consent check needs
/// prepared once (issue 17): the key of the remote password and the USERNAME
/// `remote-ufrag:local-ufrag` (RFC 8445 §7.2.2).
#[derive(Debug, Clone)]
pub(super) struct RemoteSecret {
    pub(super) creds: Credentials,
    /// `None` only if the crypto library refused the password as a key (nothing verifies).
    pub(super) key: Option<Arc<IntegrityKey>>,
    pub(super) username: String,
}

impl RemoteSecret {
    pub(super) fn new(creds: Credentials, local_ufrag: &str) -> RemoteSecret {
        RemoteSecret {
            key: integrity_key(creds.pwd.as_bytes()).map(Arc::new),
            username: format!("{}:{}", creds.ufrag, local_ufrag),
            creds,
        }
    }
}

/// A TURN server to allocate a relayed candidate on (long-term credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// Server address.
    pub addr: SocketAddr,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// How the agent reaches the server. The relayed address is UDP in every case; only the
    /// client-to-server leg changes (RFC 8656 §3.1).
    pub transport: TurnTransport,
}

/// The transport between the agent and a TURN server (`turn:` / `turn:…?transport=tcp` /
/// `turns:` URLs), and how a [`Transmit`](super::Transmit) leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TurnTransport {
    /// UDP datagrams from the interface's socket.
    #[default]
    Udp,
    /// A TCP connection from the interface.
    Tcp,
    /// A TLS connection over TCP; the server certificate must be valid for `server_name`.
    Tls {
        /// Name the certificate is checked against (the host of the `turns:` URL).
        server_name: String,
    },
}

impl TurnTransport {
    /// Whether this is a byte stream (TCP or TLS).
    pub fn is_stream(&self) -> bool {
        !matches!(self, TurnTransport::Udp)
    }
}

/// Agent configuration. Every limit is here.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Initial role; may change on role conflicts (and is forced to controlled when lite).
    pub role: Role,
    /// Run as an ICE-lite agent (RFC 8445 §2.5): host candidates only, no checks of our own.
    pub lite: bool,
    /// Local credentials; random if `None`.
    pub local_credentials: Option<Credentials>,
    /// STUN servers to learn server-reflexive candidates from.
    pub stun_servers: Vec<SocketAddr>,
    /// Accept loopback interfaces as host candidates (off by default, as browsers do).
    pub include_loopback: bool,
    /// Pacing interval between checks (RFC 8445 §14.2 "Ta").
    pub ta: Duration,
    /// First retransmission timeout of a check or STUN gathering request.
    pub initial_rto: Duration,
    /// Largest retransmission timeout.
    pub max_rto: Duration,
    /// Transmissions of one request before giving up (STUN `Rc`).
    pub max_transmissions: u32,
    /// How long the controlling agent waits after the first valid pair for better pairs before
    /// it nominates one anyway.
    pub nomination_delay: Duration,
    /// How long it waits instead when the best valid pair so far goes through a TURN relay and
    /// a better pair is still being checked. Hole punching through two NATs often needs a
    /// retransmission (both sides' first checks cross and are dropped as unsolicited), so a
    /// relay pair validated first would otherwise win over a direct path that works.
    pub relay_nomination_delay: Duration,
    /// Mean interval between consent checks (RFC 7675 §5.1: 5 s, randomised ±20 %).
    pub consent_interval: Duration,
    /// Consent lost (and the agent failed) when no consent response came for this long.
    pub consent_timeout: Duration,
    /// Disconnected when no consent response came for this long.
    pub disconnected_timeout: Duration,
    /// Most remote candidates (signalled plus peer-reflexive) kept.
    pub max_remote_candidates: usize,
    /// Most local candidates.
    pub max_local_candidates: usize,
    /// Most candidate pairs.
    pub max_pairs: usize,
    /// Most outstanding STUN transactions.
    pub max_transactions: usize,
    /// Most unresolved remote mDNS names waiting for the application's resolver.
    pub max_pending_names: usize,
    /// Hide host addresses behind random mDNS names (`<uuid>.local`), as browsers do; the
    /// application answers mDNS queries for them ([`Event::MdnsName`](crate::Event::MdnsName)). Server-reflexive
    /// candidates then carry `raddr 0.0.0.0 rport 0`.
    pub mdns_host_names: bool,
    /// TURN servers: a relayed candidate is allocated on each from every interface of the
    /// same address family (through `ferrtc-turn-client`).
    pub turn_servers: Vec<TurnServer>,
    /// `iceTransportPolicy: "relay"`: only relayed candidates are signalled and checked.
    pub relay_only: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            role: Role::Controlling,
            lite: false,
            local_credentials: None,
            stun_servers: Vec::new(),
            include_loopback: false,
            ta: Duration::from_millis(1),
            initial_rto: Duration::from_millis(500),
            max_rto: Duration::from_millis(1600),
            max_transmissions: 7,
            nomination_delay: Duration::from_millis(200),
            relay_nomination_delay: Duration::from_secs(2),
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            disconnected_timeout: Duration::from_secs(8),
            max_remote_candidates: 100,
            max_local_candidates: 32,
            max_pairs: 200,
            max_transactions: 128,
            max_pending_names: 32,
            mdns_host_names: false,
            turn_servers: Vec::new(),
            relay_only: false,
        }
    }
}
