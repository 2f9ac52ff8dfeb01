//! The ICE agent (RFC 8445), sans-IO: gathering (host, server-reflexive), the checklist with
//! Ta pacing, triggered checks, role conflicts, nomination, peer-reflexive candidates, trickle
//! (RFC 8838), consent freshness (RFC 7675), ICE restart, ICE-lite, per-pair statistics.
//!
//! One data stream and one component (RTP and RTCP multiplexed, BUNDLE), as WebRTC uses.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_core::RngCore;
use tracing::{debug, trace};

use crate::candidate::{
    candidate_priority, foundation, local_preference, pair_priority, Address, Candidate,
    CandidateType, Extension, Transport,
};
use crate::stun::{self, Builder, Class, Message, TransactionId, BINDING};
use crate::Error;
use ferrtc_turn_client::{Event as TurnEvent, TurnClient};

/// A datagram to send (from the local socket `source` to `destination`) or one received
/// (`source` is the remote address, `destination` the local socket's address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Sender address.
    pub source: SocketAddr,
    /// Receiver address.
    pub destination: SocketAddr,
    /// Payload.
    pub contents: Bytes,
}

/// A received datagram: the same shape as [`Transmit`].
pub type Datagram = Transmit;

/// ICE role (RFC 8445 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Decides which pair is used (nominates).
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
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

/// State of a candidate pair (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    /// Waiting for a pair of the same foundation to succeed.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is outstanding.
    InProgress,
    /// A check succeeded.
    Succeeded,
    /// Checks failed.
    Failed,
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
/// `turns:` URLs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TurnTransport {
    /// UDP datagrams from the interface's socket ([`Agent::poll_transmit`]).
    #[default]
    Udp,
    /// A TCP connection ([`Agent::poll_stream_transmit`]).
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

/// Bytes to write to the TCP or TLS connection from the interface `local` to the TURN server
/// `server`.
///
/// The connection is the driver's business: the first `StreamTransmit` for a
/// (`local`, `server`) pair means "open it" (bind to `local`'s IP, connect, and for TLS verify
/// the certificate); bytes read from it go to [`Agent::handle_stream_data`]; when it cannot be
/// opened or closes, the driver calls [`Agent::handle_stream_closed`]. Bytes must be written
/// in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTransmit {
    /// The local interface (the UDP base the relayed candidate belongs to).
    pub local: SocketAddr,
    /// The TURN server.
    pub server: SocketAddr,
    /// TCP or TLS (never [`TurnTransport::Udp`]).
    pub transport: TurnTransport,
    /// The bytes to write.
    pub contents: Bytes,
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
    /// application answers mDNS queries for them ([`Event::MdnsName`]). Server-reflexive
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
    /// With [`AgentConfig::mdns_host_names`]: the application's mDNS responder must answer
    /// queries for `name` with `ip`.
    MdnsName {
        /// The random `<uuid>.local` name.
        name: String,
        /// The host address it stands for.
        ip: IpAddr,
    },
}

/// Statistics of one candidate pair (W3C `RTCIceCandidatePairStats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairStats {
    /// Local base address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// Local candidate type.
    pub local_type: CandidateType,
    /// Remote candidate type.
    pub remote_type: CandidateType,
    /// Pair state.
    pub state: PairState,
    /// Nominated.
    pub nominated: bool,
    /// Pair priority.
    pub priority: u64,
    /// Last round-trip time measured by a check.
    pub current_rtt: Option<Duration>,
    /// Sum of all measured round-trip times.
    pub total_rtt: Duration,
    /// Check requests sent (including retransmissions and consent checks).
    pub requests_sent: u64,
    /// Check requests received.
    pub requests_received: u64,
    /// Check responses sent.
    pub responses_sent: u64,
    /// Authenticated check responses received.
    pub responses_received: u64,
    /// Consent requests sent.
    pub consent_requests_sent: u64,
    /// Application packets sent.
    pub packets_sent: u64,
    /// Application packets received.
    pub packets_received: u64,
    /// Application bytes sent.
    pub bytes_sent: u64,
    /// Application bytes received.
    pub bytes_received: u64,
}

#[derive(Debug, Clone)]
struct LocalCand {
    cand: Candidate,
    base: SocketAddr,
}

#[derive(Debug, Clone)]
struct RemoteCand {
    cand: Candidate,
    addr: SocketAddr,
}

#[derive(Debug, Clone)]
struct Pair {
    local_prio: u32,
    remote_prio: u32,
    foundation: (String, String),
    priority: u64,
    state: PairState,
    /// Nomination complete (selected-capable).
    nominated: bool,
    /// Controlled: the remote sent USE-CANDIDATE for this pair.
    remote_nominated: bool,
    /// Controlling: the next check carries USE-CANDIDATE.
    nominating: bool,
    last_consent: Option<Instant>,
    stats: PairStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnKind {
    Check { nominate: bool, role: Role },
    Consent,
    Srflx { interface_index: u16 },
}

#[derive(Debug, Clone)]
struct Txn {
    id: TransactionId,
    kind: TxnKind,
    source: SocketAddr,
    destination: SocketAddr,
    /// Password the response must be authenticated with (`None` for a STUN server).
    key: Option<String>,
    bytes: Bytes,
    sent_at: Instant,
    next_retx: Instant,
    rto: Duration,
    transmissions: u32,
}

/// One TURN allocation made from one local base.
#[derive(Debug)]
struct Relay {
    client: TurnClient<StdRng>,
    base: SocketAddr,
    server: SocketAddr,
    transport: TurnTransport,
    /// The stream to the server closed or never opened: the relay is dead.
    closed: bool,
    interface_index: u16,
    relayed: Option<SocketAddr>,
    /// Allocation finished (ready or failed): gathering does not wait for it any more.
    settled: bool,
    /// Peers a CreatePermission was asked for.
    permissions_asked: Vec<IpAddr>,
}

/// Where a relayed candidate came from.
struct RelayVia {
    base: SocketAddr,
    server: SocketAddr,
    index: u16,
    transport: TurnTransport,
}

/// The selected pair, kept apart from the checklist so an ICE restart can keep using it.
#[derive(Debug, Clone)]
struct Selected {
    local: SocketAddr,
    remote: SocketAddr,
    /// Remote password of the generation it was selected in (for consent checks).
    remote_pwd: String,
    remote_ufrag: String,
    local_ufrag: String,
    last_consent: Instant,
    next_consent: Instant,
    from_previous_generation: bool,
}

/// The ICE agent. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    rng: StdRng,
    role: Role,
    tie_breaker: u64,
    local_creds: Credentials,
    /// Credentials of the generation before the last restart, still answered for the old pair.
    previous_local_creds: Option<Credentials>,
    remote_creds: Option<Credentials>,
    remote_lite: bool,
    locals: Vec<LocalCand>,
    interfaces: u16,
    remotes: Vec<RemoteCand>,
    pending_names: Vec<Candidate>,
    pairs: Vec<Pair>,
    triggered: VecDeque<(SocketAddr, SocketAddr)>,
    txns: Vec<Txn>,
    selected: Option<Selected>,
    next_check: Instant,
    first_success: Option<Instant>,
    end_of_local: bool,
    gathering_complete_sent: bool,
    end_of_remote: bool,
    consent_lost: bool,
    closed: bool,
    state: ConnectionState,
    transmits: VecDeque<Transmit>,
    stream_transmits: VecDeque<StreamTransmit>,
    events: VecDeque<Event>,
    prflx_counter: u32,
    relays: Vec<Relay>,
    last_now: Instant,
}

impl Agent {
    /// A new agent. `rng` seeds the agent's own CSPRNG (transaction ids, tie-breaker,
    /// credentials, consent jitter).
    pub fn new(config: AgentConfig, now: Instant, rng: &mut impl RngCore) -> Agent {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut own = StdRng::from_seed(seed);
        let local_creds = config
            .local_credentials
            .clone()
            .unwrap_or_else(|| Credentials::random(&mut own));
        let role = if config.lite {
            Role::Controlled
        } else {
            config.role
        };
        Agent {
            tie_breaker: own.next_u64(),
            rng: own,
            role,
            local_creds,
            previous_local_creds: None,
            remote_creds: None,
            remote_lite: false,
            locals: Vec::new(),
            interfaces: 0,
            remotes: Vec::new(),
            pending_names: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            txns: Vec::new(),
            selected: None,
            next_check: now,
            first_success: None,
            end_of_local: false,
            gathering_complete_sent: false,
            end_of_remote: false,
            consent_lost: false,
            closed: false,
            state: ConnectionState::New,
            transmits: VecDeque::new(),
            stream_transmits: VecDeque::new(),
            events: VecDeque::new(),
            prflx_counter: 0,
            relays: Vec::new(),
            last_now: now,
            config,
        }
    }

    /// Our credentials (for `a=ice-ufrag` / `a=ice-pwd`).
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds
    }

    /// The remote credentials, once known.
    pub fn remote_credentials(&self) -> Option<&Credentials> {
        self.remote_creds.as_ref()
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Current connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Whether this agent is ICE-lite.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// Local candidates gathered so far.
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.locals.iter().map(|l| &l.cand)
    }

    /// Remote candidates known (signalled and peer-reflexive).
    pub fn remote_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.remotes.iter().map(|r| &r.cand)
    }

    /// The selected pair (local base, remote address).
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected.as_ref().map(|s| (s.local, s.remote))
    }

    /// Statistics of every pair in the checklist.
    pub fn pair_stats(&self) -> Vec<PairStats> {
        self.pairs
            .iter()
            .map(|p| {
                let mut s = p.stats.clone();
                s.state = p.state;
                s.nominated = p.nominated;
                s.priority = p.priority;
                s
            })
            .collect()
    }

    /// Adds a local interface: the address of a UDP socket the application bound. Creates a
    /// host candidate (announced as [`Event::LocalCandidate`]) and starts server-reflexive
    /// gathering from it. Returns the host candidate, or `None` if the address is skipped
    /// (loopback without `include_loopback`, or unspecified).
    pub fn add_local_interface(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Result<Option<Candidate>, Error> {
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(Error::Invalid(
                "interface address must be a bound, specific address",
            ));
        }
        if addr.ip().is_loopback() && !self.config.include_loopback {
            return Ok(None);
        }
        if self.locals.iter().any(|l| l.base == addr) {
            return Ok(None);
        }
        if self.locals.len() >= self.config.max_local_candidates {
            return Err(Error::Limit("local candidates"));
        }
        let index = self.interfaces;
        self.interfaces = self.interfaces.saturating_add(1);
        let prio = candidate_priority(CandidateType::Host, local_preference(addr.ip(), index), 1);
        let f = foundation(CandidateType::Host, addr.ip(), None, Transport::Udp);
        let mut cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            addr,
            CandidateType::Host,
            None,
        ));
        if self.config.mdns_host_names {
            let name = self.mdns_name();
            self.events.push_back(Event::MdnsName {
                name: name.clone(),
                ip: addr.ip(),
            });
            cand.address = Address::Name(name);
        }
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base: addr,
        });
        self.last_now = self.last_now.max(now);
        if !self.config.relay_only {
            self.events.push_back(Event::LocalCandidate(cand.clone()));
        }
        if !self.config.lite {
            let turns: Vec<TurnServer> = self
                .config
                .turn_servers
                .iter()
                .filter(|t| t.addr.is_ipv4() == addr.is_ipv4())
                .cloned()
                .collect();
            for t in turns {
                let mut seed = [0u8; 32];
                self.rng.fill_bytes(&mut seed);
                let cfg = ferrtc_turn_client::Config::new(
                    t.addr,
                    if t.transport.is_stream() {
                        ferrtc_turn_client::Transport::Stream
                    } else {
                        ferrtc_turn_client::Transport::Udp
                    },
                    &t.username,
                    &t.password,
                );
                let mut client = TurnClient::new(cfg, StdRng::from_seed(seed));
                if let Err(e) = client.allocate(now) {
                    debug!(error = %e, "ice: TURN allocate");
                    continue;
                }
                self.relays.push(Relay {
                    client,
                    base: addr,
                    server: t.addr,
                    transport: t.transport,
                    closed: false,
                    interface_index: index,
                    relayed: None,
                    settled: false,
                    permissions_asked: Vec::new(),
                });
            }
            self.drain_relays(now);
        }
        if !self.config.lite && !self.config.relay_only {
            let servers: Vec<SocketAddr> = self
                .config
                .stun_servers
                .iter()
                .copied()
                .filter(|s| s.is_ipv4() == addr.is_ipv4())
                .collect();
            for server in servers {
                let tid = self.new_tid();
                let mut b = Builder::new(Class::Request, BINDING, &tid);
                b.priority(prio);
                let bytes = b.finish(None);
                self.start_txn(
                    now,
                    tid,
                    TxnKind::Srflx {
                        interface_index: index,
                    },
                    addr,
                    server,
                    None,
                    bytes,
                )?;
            }
        }
        // Trickle: pair the new base with every remote candidate already known.
        for ri in 0..self.remotes.len() {
            self.form_pair(addr, ri);
        }
        self.pump(now);
        self.update_state(now);
        Ok(Some(cand))
    }

    /// Adds every interface, then [`Agent::end_of_local_interfaces`].
    pub fn gather(&mut self, now: Instant, addrs: &[SocketAddr]) -> Result<(), Error> {
        for a in addrs {
            self.add_local_interface(now, *a)?;
        }
        self.end_of_local_interfaces(now);
        Ok(())
    }

    /// No more interfaces will be added: [`Event::GatheringComplete`] follows once the STUN
    /// servers have answered (or timed out).
    pub fn end_of_local_interfaces(&mut self, now: Instant) {
        self.end_of_local = true;
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// Sets the remote `ice-ufrag` / `ice-pwd`. Changed credentials mean the remote restarted
    /// ICE: the checklist starts over, data keeps flowing on the old pair until a new one is
    /// selected.
    pub fn set_remote_credentials(&mut self, now: Instant, creds: Credentials) {
        match &self.remote_creds {
            Some(old) if *old == creds => return,
            Some(_) => {
                debug!(ufrag = %creds.ufrag, "ice: remote restart");
                self.reset_checks();
            }
            None => {}
        }
        // Remote candidates of another generation (trickled with a `ufrag`) are dropped.
        self.remotes
            .retain(|r| r.cand.ufrag().is_none_or(|u| u == creds.ufrag));
        self.remote_creds = Some(creds);
        self.rebuild_pairs();
        self.pump(now);
        self.update_state(now);
    }

    /// The remote is an ICE-lite agent (`a=ice-lite`): we must control (RFC 8445 §6.1.1).
    pub fn set_remote_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != Role::Controlling {
            self.set_role(Role::Controlling);
        }
    }

    /// Adds a remote candidate (trickle: before or after the credentials). TCP candidates are
    /// ignored (UDP only); host names are handed to the application as
    /// [`Event::ResolveName`]; candidates of another generation are dropped.
    pub fn add_remote_candidate(&mut self, now: Instant, cand: Candidate) -> Result<(), Error> {
        if cand.transport != Transport::Udp || cand.component != 1 {
            return Ok(());
        }
        if let (Some(u), Some(c)) = (cand.ufrag(), &self.remote_creds) {
            if u != c.ufrag {
                return Ok(());
            }
        }
        let Some(addr) = cand.socket_addr() else {
            if let Address::Name(name) = &cand.address {
                if self.pending_names.len() >= self.config.max_pending_names {
                    return Err(Error::Limit("pending remote host names"));
                }
                self.events.push_back(Event::ResolveName(name.clone()));
                self.pending_names.push(cand);
            }
            return Ok(());
        };
        self.insert_remote(now, cand, addr)
    }

    /// The application resolved (or failed to resolve: `None`) a remote host name announced by
    /// [`Event::ResolveName`]. Unresolvable names are dropped without failing the session.
    pub fn resolve_remote_name(
        &mut self,
        now: Instant,
        name: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), Error> {
        let (matching, rest): (Vec<Candidate>, Vec<Candidate>) =
            std::mem::take(&mut self.pending_names)
                .into_iter()
                .partition(|c| matches!(&c.address, Address::Name(n) if n == name));
        self.pending_names = rest;
        if let Some(ip) = ip {
            for c in matching {
                let addr = SocketAddr::new(ip, c.port);
                self.insert_remote(now, c, addr)?;
            }
        }
        Ok(())
    }

    /// The remote signalled end-of-candidates (RFC 8838 §9).
    pub fn end_of_remote_candidates(&mut self, now: Instant) {
        self.end_of_remote = true;
        self.update_state(now);
    }

    /// ICE restart (RFC 8445 §9): new local credentials, a new checklist; data keeps flowing on
    /// the current pair until a new one is selected. Local candidates are announced again.
    pub fn restart(&mut self, now: Instant) -> Credentials {
        let new = Credentials::random(&mut self.rng);
        self.previous_local_creds = Some(std::mem::replace(&mut self.local_creds, new.clone()));
        self.reset_checks();
        self.remote_creds = None;
        self.remotes.clear();
        self.end_of_remote = false;
        let ufrag = self.local_creds.ufrag.clone();
        for l in &mut self.locals {
            l.cand
                .extensions
                .retain(|e| !matches!(e, Extension::Ufrag(_)));
            l.cand.extensions.push(Extension::Ufrag(ufrag.clone()));
            let signalled = match l.cand.typ {
                CandidateType::Relayed => true,
                CandidateType::PeerReflexive => false,
                _ => !self.config.relay_only,
            };
            if signalled {
                self.events.push_back(Event::LocalCandidate(l.cand.clone()));
            }
        }
        if self.end_of_local && !self.gathering_pending() {
            self.events.push_back(Event::GatheringComplete);
        }
        self.update_state(now);
        new
    }

    /// Closes the agent: nothing is sent any more.
    pub fn close(&mut self) {
        self.closed = true;
        self.txns.clear();
        self.selected = None;
        self.transmits.clear();
        if self.state != ConnectionState::Closed {
            self.state = ConnectionState::Closed;
            self.events
                .push_back(Event::ConnectionState(ConnectionState::Closed));
        }
    }

    /// Sends application data on the selected pair.
    pub fn send(&mut self, data: Bytes) -> Result<(), Error> {
        let sel = self.selected.as_ref().ok_or(Error::NotConnected)?;
        let (local, remote) = (sel.local, sel.remote);
        if let Some(p) = self.pair_mut(local, remote) {
            p.stats.packets_sent += 1;
            p.stats.bytes_sent += data.len() as u64;
        }
        self.transmits.push_back(Transmit {
            source: local,
            destination: remote,
            contents: data,
        });
        Ok(())
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let t = self.transmits.pop_front()?;
            // Sent "from" a relayed address: it goes through that TURN allocation.
            let Some(r) = self.relays.iter_mut().find(|r| r.relayed == Some(t.source)) else {
                return Some(t);
            };
            if r.closed {
                continue;
            }
            if let Err(e) = r.client.send(self.last_now, t.destination, &t.contents) {
                debug!(error = %e, peer = %t.destination, "ice: TURN send");
                continue;
            }
            if r.transport.is_stream() {
                while let Some(x) = r.client.poll_transmit() {
                    self.stream_transmits.push_back(StreamTransmit {
                        local: r.base,
                        server: r.server,
                        transport: r.transport.clone(),
                        contents: x.data,
                    });
                }
                continue;
            }
            let mut wrapped = Vec::new();
            while let Some(x) = r.client.poll_transmit() {
                wrapped.push(Transmit {
                    source: r.base,
                    destination: x.destination,
                    contents: x.data,
                });
            }
            for w in wrapped.into_iter().rev() {
                self.transmits.push_front(w);
            }
        }
    }

    /// Next bytes to write to a TCP/TLS connection to a TURN server (see [`StreamTransmit`]).
    /// Call it after [`Agent::poll_transmit`] returned `None`: sending application data
    /// through a stream relay is only wrapped there.
    pub fn poll_stream_transmit(&mut self) -> Option<StreamTransmit> {
        self.stream_transmits.pop_front()
    }

    /// Bytes read from the TCP/TLS connection from `local` to the TURN server `server`.
    /// Returns the application data relayed in them (a read may carry several packets).
    pub fn handle_stream_data(
        &mut self,
        now: Instant,
        local: SocketAddr,
        server: SocketAddr,
        data: &[u8],
    ) -> Result<Vec<Bytes>, Error> {
        if self.closed {
            return Ok(Vec::new());
        }
        self.last_now = self.last_now.max(now);
        let Some(r) = self.relays.iter_mut().find(|r| {
            r.transport.is_stream() && !r.closed && r.base == local && r.server == server
        }) else {
            return Err(Error::UnknownSource(server));
        };
        let framing = r.client.handle_stream_data(now, data);
        let app = self.drain_relays(now);
        if let Err(e) = framing {
            // The stream cannot be resynchronised (RFC 8656 §11.5 framing): it is dead.
            debug!(error = %e, %server, "ice: TURN stream framing");
            self.handle_stream_closed(now, local, server);
        }
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
        Ok(app)
    }

    /// The TCP/TLS connection from `local` to the TURN server `server` could not be opened
    /// (refused, TLS handshake or certificate failure) or closed. The allocation is gone with
    /// it (RFC 8656 §3.1): its relayed candidate fails, and gathering no longer waits for it.
    pub fn handle_stream_closed(&mut self, now: Instant, local: SocketAddr, server: SocketAddr) {
        let mut dead = Vec::new();
        for r in &mut self.relays {
            if r.transport.is_stream() && !r.closed && r.base == local && r.server == server {
                debug!(%server, allocated = r.relayed.is_some(), "ice: TURN stream closed");
                r.closed = true;
                r.settled = true;
                while r.client.poll_transmit().is_some() {}
                if let Some(a) = r.relayed {
                    dead.push(a);
                }
            }
        }
        // The dead relayed candidate pairs with nothing any more.
        self.locals.retain(|l| !dead.contains(&l.base));
        self.stream_transmits
            .retain(|t| !(t.local == local && t.server == server));
        for a in dead {
            for p in &mut self.pairs {
                if p.stats.local == a {
                    p.state = PairState::Failed;
                    p.nominating = false;
                }
            }
            self.triggered.retain(|(l, _)| *l != a);
            self.txns.retain(|t| t.source != a);
        }
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Agent::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        for txn in &self.txns {
            at(txn.next_retx);
        }
        for r in self.relays.iter().filter(|r| !r.closed) {
            if let Some(x) = r.client.poll_timeout() {
                at(x);
            }
        }
        if self.has_checkable() {
            at(self.next_check);
        }
        if let Some(fs) = self.first_success {
            if self.needs_nomination() {
                at(fs + self.nomination_wait());
            }
        }
        if let Some(sel) = &self.selected {
            if !self.config.lite {
                at(sel.next_consent);
            }
            at(sel.last_consent + self.config.consent_timeout);
            if matches!(
                self.state,
                ConnectionState::Connected | ConnectionState::Completed
            ) {
                at(sel.last_consent + self.config.disconnected_timeout);
            }
        }
        t
    }

    /// Timers: retransmissions, paced checks, nomination, consent.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.last_now = self.last_now.max(now);
        for r in self.relays.iter_mut().filter(|r| !r.closed) {
            if r.client.poll_timeout().is_some_and(|t| t <= now) {
                r.client.handle_timeout(now);
            }
        }
        self.drain_relays(now);
        // Retransmissions and transaction timeouts.
        let mut i = 0;
        while let Some(txn) = self.txns.get_mut(i) {
            if txn.next_retx > now {
                i += 1;
                continue;
            }
            if txn.transmissions >= self.config.max_transmissions {
                let txn = self.txns.swap_remove(i);
                self.txn_timed_out(now, txn);
                continue;
            }
            txn.transmissions += 1;
            txn.rto = (txn.rto * 2).min(self.config.max_rto);
            txn.next_retx = now + txn.rto;
            let (source, destination, contents) = (txn.source, txn.destination, txn.bytes.clone());
            if let TxnKind::Check { .. } | TxnKind::Consent = txn.kind {
                if let Some(p) = self.pair_mut(source, destination) {
                    p.stats.requests_sent += 1;
                }
            }
            self.transmits.push_back(Transmit {
                source,
                destination,
                contents,
            });
            i += 1;
        }
        self.consent_timers(now);
        self.maybe_nominate(now);
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// A datagram arrived. STUN messages for ICE are consumed (`Ok(None)`); application data
    /// from a known remote candidate is returned (`Ok(Some(payload))`).
    pub fn handle_receive(&mut self, now: Instant, d: Datagram) -> Result<Option<Bytes>, Error> {
        if self.closed {
            return Ok(None);
        }
        self.last_now = self.last_now.max(now);
        // From a TURN server we allocated on (unless it answers one of our own Binding
        // requests, as a STUN server on the same address would).
        let ours = stun::is_stun(&d.contents)
            && d.contents
                .get(8..20)
                .is_some_and(|tid| self.txns.iter().any(|t| t.id[..] == *tid));
        if !ours {
            if let Some(r) = self.relays.iter_mut().find(|r| {
                !r.transport.is_stream() && r.server == d.source && r.base == d.destination
            }) {
                if let Err(e) = r.client.handle_receive(now, d.source, d.contents) {
                    debug!(error = %e, "ice: TURN receive");
                }
                // One datagram from the server carries at most one relayed packet.
                let app = self.drain_relays(now).pop();
                self.pump(now);
                self.check_gathering_complete();
                self.update_state(now);
                return Ok(app);
            }
        }
        self.receive_inner(now, d)
    }

    fn receive_inner(&mut self, now: Instant, d: Datagram) -> Result<Option<Bytes>, Error> {
        if !stun::is_stun(&d.contents) {
            let known = self.remotes.iter().any(|r| r.addr == d.source)
                || self.selected.as_ref().is_some_and(|s| s.remote == d.source);
            if !known {
                return Err(Error::UnknownSource(d.source));
            }
            if let Some(p) = self.pair_mut(d.destination, d.source) {
                p.stats.packets_received += 1;
                p.stats.bytes_received += d.contents.len() as u64;
            }
            return Ok(Some(d.contents));
        }
        let msg = Message::parse(d.contents.clone())?;
        if msg.method != BINDING {
            return Err(Error::Stun(format!(
                "method 0x{:03x} is not Binding",
                msg.method
            )));
        }
        let r = match msg.class {
            Class::Request => self.on_request(now, &d, &msg),
            Class::Success | Class::Error => self.on_response(now, &d, &msg),
            Class::Indication => Ok(()), // Binding indications are keepalives (RFC 8445 §11).
        };
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
        r.map(|()| None)
    }

    // ----- internals -----

    fn with_ufrag(&self, mut c: Candidate) -> Candidate {
        c.extensions
            .push(Extension::Ufrag(self.local_creds.ufrag.clone()));
        c
    }

    /// A random version-4 UUID followed by `.local`, as browsers name their host candidates.
    fn mdns_name(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        if let Some(x) = b.get_mut(6) {
            *x = (*x & 0x0f) | 0x40;
        }
        if let Some(x) = b.get_mut(8) {
            *x = (*x & 0x3f) | 0x80;
        }
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}.local",
            h.get(0..8).unwrap_or_default(),
            h.get(8..12).unwrap_or_default(),
            h.get(12..16).unwrap_or_default(),
            h.get(16..20).unwrap_or_default(),
            h.get(20..32).unwrap_or_default()
        )
    }

    fn new_tid(&mut self) -> TransactionId {
        let mut t = [0u8; 12];
        self.rng.fill_bytes(&mut t);
        t
    }

    #[allow(clippy::too_many_arguments)]
    fn start_txn(
        &mut self,
        now: Instant,
        id: TransactionId,
        kind: TxnKind,
        source: SocketAddr,
        destination: SocketAddr,
        key: Option<String>,
        bytes: Bytes,
    ) -> Result<(), Error> {
        if self.txns.len() >= self.config.max_transactions {
            return Err(Error::Limit("outstanding STUN transactions"));
        }
        let rto = match kind {
            // Consent checks are not retransmitted: a new one goes out every consent interval
            // and consent only expires after `consent_timeout` without any response.
            TxnKind::Consent => self.config.consent_interval,
            _ => self.config.initial_rto,
        };
        self.txns.push(Txn {
            id,
            kind,
            source,
            destination,
            key,
            bytes: bytes.clone(),
            sent_at: now,
            next_retx: now + rto,
            rto,
            transmissions: if kind == TxnKind::Consent {
                self.config.max_transmissions
            } else {
                1
            },
        });
        self.transmits.push_back(Transmit {
            source,
            destination,
            contents: bytes,
        });
        Ok(())
    }

    fn txn_timed_out(&mut self, now: Instant, txn: Txn) {
        match txn.kind {
            TxnKind::Check { .. } => {
                if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                    if p.state == PairState::InProgress {
                        trace!(remote = %txn.destination, "ice: check timed out");
                        p.state = PairState::Failed;
                        p.nominating = false;
                    }
                }
            }
            TxnKind::Consent | TxnKind::Srflx { .. } => {}
        }
        let _ = now;
    }

    fn reset_checks(&mut self) {
        self.pairs.clear();
        self.triggered.clear();
        self.txns
            .retain(|t| matches!(t.kind, TxnKind::Srflx { .. } | TxnKind::Consent));
        self.first_success = None;
        self.consent_lost = false;
        // Local peer-reflexive candidates were learned from this generation's checks.
        self.locals
            .retain(|l| l.cand.typ != CandidateType::PeerReflexive);
        if let Some(sel) = &mut self.selected {
            sel.from_previous_generation = true;
        }
    }

    /// Sets the role before checks start, as JSEP decides it (the offerer controls, RFC 8829
    /// §5.10 / RFC 8445 §6.1.1); later changes come from role conflicts. A lite agent stays
    /// controlled.
    pub fn set_role(&mut self, role: Role) {
        if self.role == role || (self.config.lite && role == Role::Controlling) {
            return;
        }
        self.role = role;
        self.events.push_back(Event::RoleChanged(role));
        let controlling = role == Role::Controlling;
        for p in &mut self.pairs {
            p.priority = if controlling {
                pair_priority(p.local_prio, p.remote_prio)
            } else {
                pair_priority(p.remote_prio, p.local_prio)
            };
            p.nominating = false;
        }
    }

    fn insert_remote(
        &mut self,
        now: Instant,
        cand: Candidate,
        addr: SocketAddr,
    ) -> Result<(), Error> {
        if let Some(r) = self.remotes.iter_mut().find(|r| r.addr == addr) {
            // A signalled candidate replaces a peer-reflexive one learned earlier (§7.3.1.3).
            if r.cand.typ == CandidateType::PeerReflexive
                && cand.typ != CandidateType::PeerReflexive
            {
                r.cand = cand;
            }
            return Ok(());
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return Err(Error::Limit("remote candidates"));
        }
        self.remotes.push(RemoteCand { cand, addr });
        let ri = self.remotes.len() - 1;
        let bases: Vec<SocketAddr> = self.pairable_bases();
        for base in bases {
            self.form_pair(base, ri);
        }
        self.pump(now);
        self.update_state(now);
        Ok(())
    }

    fn pairable_bases(&self) -> Vec<SocketAddr> {
        let relay_only = self.config.relay_only;
        self.locals
            .iter()
            .filter(|l| match l.cand.typ {
                CandidateType::Host => !relay_only,
                CandidateType::Relayed => true,
                _ => false,
            })
            .map(|l| l.base)
            .collect()
    }

    fn gathering_pending(&self) -> bool {
        self.txns
            .iter()
            .any(|t| matches!(t.kind, TxnKind::Srflx { .. }))
            || self.relays.iter().any(|r| !r.settled)
    }

    /// Moves TURN clients' output into the agent: datagrams to the servers, relayed
    /// candidates, and data relayed from peers (processed as if received on the relayed
    /// address). Returns application data, if some arrived.
    fn drain_relays(&mut self, now: Instant) -> Vec<Bytes> {
        self.flush_relay_transmits();
        let mut events = Vec::new();
        for (i, r) in self.relays.iter_mut().enumerate() {
            if r.closed {
                continue;
            }
            while let Some(e) = r.client.poll_event() {
                events.push((i, e));
            }
        }
        let mut app = Vec::new();
        for (i, e) in events {
            match e {
                TurnEvent::AllocationReady {
                    relayed, mapped, ..
                } => {
                    let Some(r) = self.relays.get_mut(i) else {
                        continue;
                    };
                    r.settled = true;
                    let (base, server, index) = (r.base, r.server, r.interface_index);
                    let stream = r.transport.clone();
                    let Some(addr) = relayed.into_iter().find(|a| a.is_ipv4() == base.is_ipv4())
                    else {
                        continue;
                    };
                    r.relayed = Some(addr);
                    let via = RelayVia {
                        base,
                        server,
                        index,
                        transport: stream,
                    };
                    self.add_relayed(now, addr, mapped.unwrap_or(base), via);
                }
                TurnEvent::AllocationFailed { reason, .. }
                | TurnEvent::AllocationLost { reason } => {
                    debug!(%reason, "ice: TURN allocation failed or lost");
                    if let Some(r) = self.relays.get_mut(i) {
                        r.settled = true;
                    }
                }
                TurnEvent::Data { peer, data, .. } => {
                    let Some(relayed) = self.relays.get(i).and_then(|r| r.relayed) else {
                        continue;
                    };
                    let d = Datagram {
                        source: peer,
                        destination: relayed,
                        contents: data,
                    };
                    match self.receive_inner(now, d) {
                        Ok(Some(x)) => app.push(x),
                        Ok(None) => {}
                        Err(e) => debug!(error = %e, "ice: relayed datagram"),
                    }
                }
                other => trace!(?other, "ice: TURN event"),
            }
        }
        self.check_gathering_complete();
        app
    }

    /// Moves what the TURN clients want to send to the servers into the agent's queues
    /// (datagrams from the interface's socket, or bytes for the stream).
    fn flush_relay_transmits(&mut self) {
        for r in self.relays.iter_mut().filter(|r| !r.closed) {
            while let Some(x) = r.client.poll_transmit() {
                if r.transport.is_stream() {
                    self.stream_transmits.push_back(StreamTransmit {
                        local: r.base,
                        server: r.server,
                        transport: r.transport.clone(),
                        contents: x.data,
                    });
                } else {
                    self.transmits.push_back(Transmit {
                        source: r.base,
                        destination: x.destination,
                        contents: x.data,
                    });
                }
            }
        }
    }

    fn add_relayed(&mut self, now: Instant, addr: SocketAddr, mapped: SocketAddr, via: RelayVia) {
        let RelayVia {
            base,
            server,
            index,
            transport,
        } = via;
        if self.locals.len() >= self.config.max_local_candidates {
            return;
        }
        // UDP to the server is preferred over TCP, TCP over TLS (each adds latency and
        // head-of-line blocking), as browsers rank them; the gaps exceed any interface spread.
        let penalty = match transport {
            TurnTransport::Udp => 0,
            TurnTransport::Tcp => 0x2000,
            TurnTransport::Tls { .. } => 0x4000,
        };
        let prio = candidate_priority(
            CandidateType::Relayed,
            local_preference(base.ip(), index).saturating_sub(penalty),
            1,
        );
        // The foundation includes the protocol used to reach the server (RFC 8445 §5.1.1.3).
        let f = foundation(
            CandidateType::Relayed,
            base.ip(),
            Some(server.ip()),
            if transport.is_stream() {
                Transport::Tcp
            } else {
                Transport::Udp
            },
        );
        let related = if self.config.mdns_host_names {
            SocketAddr::new(
                match base {
                    SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
                    SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
                },
                0,
            )
        } else {
            mapped
        };
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            addr,
            CandidateType::Relayed,
            Some(related),
        ));
        // A relayed candidate is its own base (RFC 8445 §5.1.1.2).
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base: addr,
        });
        self.events.push_back(Event::LocalCandidate(cand));
        for ri in 0..self.remotes.len() {
            self.form_pair(addr, ri);
        }
        self.pump(now);
    }

    /// A relayed pair may be checked once the TURN server lets the peer's packets in;
    /// asks for the permission the first time.
    fn relay_ready(&mut self, local: SocketAddr, remote: SocketAddr) -> bool {
        let now = self.last_now;
        let Some(r) = self.relays.iter_mut().find(|r| r.relayed == Some(local)) else {
            return true; // not relayed
        };
        if r.closed {
            return false;
        }
        if r.client.has_permission(remote.ip()) {
            return true;
        }
        if !r.permissions_asked.contains(&remote.ip()) {
            r.permissions_asked.push(remote.ip());
            if let Err(e) = r.client.create_permission(now, remote.ip()) {
                debug!(error = %e, "ice: TURN permission");
            }
        }
        false
    }

    fn rebuild_pairs(&mut self) {
        let bases = self.pairable_bases();
        for base in bases {
            for ri in 0..self.remotes.len() {
                self.form_pair(base, ri);
            }
        }
    }

    /// Forms the pair (base, remote #ri) if compatible and new (RFC 8445 §6.1.2.2).
    fn form_pair(&mut self, base: SocketAddr, ri: usize) -> Option<usize> {
        let r = self.remotes.get(ri)?;
        if r.addr.is_ipv4() != base.is_ipv4() || r.addr.ip().is_unspecified() || r.addr.port() == 0
        {
            return None;
        }
        if let Some(i) = self.pair_index(base, r.addr) {
            return Some(i);
        }
        if self.pairs.len() >= self.config.max_pairs {
            debug!("ice: pair limit reached");
            return None;
        }
        let l = self.locals.iter().find(|l| l.base == base)?;
        let (lp, rp) = (l.cand.priority, r.cand.priority);
        let priority = match self.role {
            Role::Controlling => pair_priority(lp, rp),
            Role::Controlled => pair_priority(rp, lp),
        };
        let found = (l.cand.foundation.clone(), r.cand.foundation.clone());
        // Waiting unless a pair of the same foundation is already being checked (§6.1.2.6).
        let blocked = self.pairs.iter().any(|p| {
            p.foundation == found && matches!(p.state, PairState::Waiting | PairState::InProgress)
        });
        let stats = PairStats {
            local: base,
            remote: r.addr,
            local_type: l.cand.typ,
            remote_type: r.cand.typ,
            state: PairState::Frozen,
            nominated: false,
            priority,
            current_rtt: None,
            total_rtt: Duration::ZERO,
            requests_sent: 0,
            requests_received: 0,
            responses_sent: 0,
            responses_received: 0,
            consent_requests_sent: 0,
            packets_sent: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
        };
        self.pairs.push(Pair {
            local_prio: lp,
            remote_prio: rp,
            foundation: found,
            priority,
            state: if blocked {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            nominated: false,
            remote_nominated: false,
            nominating: false,
            last_consent: None,
            stats,
        });
        Some(self.pairs.len() - 1)
    }

    fn pair_index(&self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        self.pairs
            .iter()
            .position(|p| p.stats.local == local && p.stats.remote == remote)
    }

    fn pair_mut(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<&mut Pair> {
        self.pairs
            .iter_mut()
            .find(|p| p.stats.local == local && p.stats.remote == remote)
    }

    fn can_check(&self) -> bool {
        !self.config.lite && !self.closed && self.remote_creds.is_some()
    }

    fn has_checkable(&self) -> bool {
        if !self.can_check() {
            return false;
        }
        // A relayed pair without its TURN permission yet is not checkable (no busy timer).
        let blocked = |l: SocketAddr, r: SocketAddr| {
            self.relays
                .iter()
                .any(|x| x.relayed == Some(l) && !x.client.has_permission(r.ip()))
        };
        self.triggered.iter().any(|(l, r)| !blocked(*l, *r))
            || self.pairs.iter().any(|p| {
                matches!(p.state, PairState::Waiting | PairState::Frozen)
                    && !blocked(p.stats.local, p.stats.remote)
            })
    }

    /// Sends the next check if Ta allows (RFC 8445 §6.1.4.2): triggered first, then the
    /// highest-priority Waiting pair, then unfreezes the best Frozen pair of a new foundation.
    fn pump(&mut self, now: Instant) {
        if !self.can_check() {
            return;
        }
        while now >= self.next_check {
            let Some(i) = self.next_pair_to_check() else {
                break;
            };
            if self.send_check(now, i).is_err() {
                break;
            }
            self.next_check = now + self.config.ta;
        }
        // TURN permissions asked for by the checklist go out now, not at the next timer.
        self.flush_relay_transmits();
    }

    fn next_pair_to_check(&mut self) -> Option<usize> {
        // Relayed pairs wait for their TURN permission (asked for here).
        let keys: Vec<(SocketAddr, SocketAddr)> = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::Frozen))
            .map(|p| (p.stats.local, p.stats.remote))
            .collect();
        let mut blocked = Vec::new();
        for (l, r) in keys {
            if !self.relay_ready(l, r) {
                blocked.push((l, r));
            }
        }
        let mut deferred = Vec::new();
        let mut found = None;
        while let Some((l, r)) = self.triggered.pop_front() {
            if blocked.contains(&(l, r)) {
                deferred.push((l, r));
                continue;
            }
            if let Some(i) = self.pair_index(l, r) {
                found = Some(i);
                break;
            }
        }
        for k in deferred.into_iter().rev() {
            self.triggered.push_front(k);
        }
        if found.is_some() {
            return found;
        }
        let ok = |p: &Pair| !blocked.contains(&(p.stats.local, p.stats.remote));
        let best = |s: PairState, pairs: &[Pair]| {
            pairs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.state == s && ok(p))
                .max_by_key(|(_, p)| p.priority)
                .map(|(i, _)| i)
        };
        if let Some(i) = best(PairState::Waiting, &self.pairs) {
            return Some(i);
        }
        // No Waiting pair: the best Frozen pair whose foundation is not being checked.
        let busy: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            .map(|p| p.foundation.clone())
            .collect();
        self.pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Frozen && !busy.contains(&p.foundation) && ok(p))
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
    }

    fn send_check(&mut self, now: Instant, i: usize) -> Result<(), Error> {
        let Some(creds) = self.remote_creds.clone() else {
            return Err(Error::NotConnected);
        };
        let role = self.role;
        let tie = self.tie_breaker;
        let tid = self.new_tid();
        let local_ufrag = self.local_creds.ufrag.clone();
        let p = self.pairs.get_mut(i).ok_or(Error::Invalid("pair index"))?;
        // Aggressive-nomination remotes are accepted; as controlling we use regular
        // nomination: USE-CANDIDATE only on the check that nominates (§8.1.1).
        let nominate = role == Role::Controlling && p.nominating;
        let prflx_prio =
            (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0x00FF_FFFF);
        let mut b = Builder::new(Class::Request, BINDING, &tid);
        b.username(&format!("{}:{}", creds.ufrag, local_ufrag))
            .priority(prflx_prio)
            .role(role == Role::Controlling, tie);
        if nominate {
            b.use_candidate();
        }
        let bytes = b.finish(Some(creds.pwd.as_bytes()));
        p.state = PairState::InProgress;
        p.stats.requests_sent += 1;
        let (source, destination) = (p.stats.local, p.stats.remote);
        // Only one check per pair at a time: a new one replaces the old transaction.
        self.txns.retain(|t| {
            !(t.source == source
                && t.destination == destination
                && matches!(t.kind, TxnKind::Check { .. }))
        });
        trace!(%source, %destination, nominate, "ice: check");
        self.start_txn(
            now,
            tid,
            TxnKind::Check { nominate, role },
            source,
            destination,
            Some(creds.pwd),
            bytes,
        )
    }

    fn on_request(&mut self, now: Instant, d: &Datagram, msg: &Message) -> Result<(), Error> {
        // Authenticate first (RFC 8445 §7.3, RFC 8489 §9.1.3): nothing is acted upon before.
        let Some(username) = msg.username.as_ref() else {
            self.respond_error(d, msg, 400, "Bad Request", None);
            return Err(Error::Integrity("request without USERNAME"));
        };
        let local_part = username
            .iter()
            .position(|b| *b == b':')
            .and_then(|i| username.get(..i))
            .unwrap_or(&username[..]);
        let (pwd, current) = if local_part == self.local_creds.ufrag.as_bytes() {
            (self.local_creds.pwd.clone(), true)
        } else if let Some(prev) = self
            .previous_local_creds
            .as_ref()
            .filter(|p| local_part == p.ufrag.as_bytes())
        {
            (prev.pwd.clone(), false)
        } else {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(Error::Integrity("USERNAME does not carry our ufrag"));
        };
        if let Err(e) = msg.verify_integrity(pwd.as_bytes()) {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(e);
        }
        let Some(base) = self
            .locals
            .iter()
            .find(|l| l.base == d.destination)
            .map(|l| l.base)
        else {
            return Err(Error::Invalid(
                "request arrived on an address that is not a local base",
            ));
        };
        if !current {
            // A check of the previous generation: answer it (the old pair stays alive until
            // the new one is selected) but change nothing.
            self.respond_success(d, msg, &pwd);
            if let Some(sel) = &mut self.selected {
                if sel.remote == d.source && self.config.lite {
                    sel.last_consent = now;
                }
            }
            return Ok(());
        }
        // Role conflict (§7.3.1.1).
        if !self.config.lite {
            match (self.role, msg.ice_controlling, msg.ice_controlled) {
                (Role::Controlling, Some(theirs), _) => {
                    if self.tie_breaker >= theirs {
                        self.respond_error(d, msg, 487, "Role Conflict", Some(&pwd));
                        return Ok(());
                    }
                    self.set_role(Role::Controlled);
                }
                (Role::Controlled, _, Some(theirs)) => {
                    if self.tie_breaker >= theirs {
                        self.set_role(Role::Controlling);
                    } else {
                        self.respond_error(d, msg, 487, "Role Conflict", Some(&pwd));
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        self.respond_success(d, msg, &pwd);
        // Peer-reflexive remote candidate (§7.3.1.3).
        if !self.remotes.iter().any(|r| r.addr == d.source) {
            let priority = msg.priority.unwrap_or(1).max(1);
            self.prflx_counter = self.prflx_counter.wrapping_add(1);
            let mut c = Candidate::new(
                format!("prflx{}", self.prflx_counter),
                Transport::Udp,
                priority,
                d.source,
                CandidateType::PeerReflexive,
                None,
            );
            if let Some(rc) = &self.remote_creds {
                c.extensions.push(Extension::Ufrag(rc.ufrag.clone()));
            }
            debug!(addr = %d.source, "ice: peer-reflexive remote candidate");
            self.insert_remote(now, c, d.source)?;
        }
        let ri = self
            .remotes
            .iter()
            .position(|r| r.addr == d.source)
            .ok_or(Error::Invalid("remote candidate vanished"))?;
        let Some(i) = self.form_pair(base, ri) else {
            return Ok(());
        };
        let lite = self.config.lite;
        let role = self.role;
        let sel_remote = self.selected.as_ref().map(|s| (s.local, s.remote));
        let Some(p) = self.pairs.get_mut(i) else {
            return Ok(());
        };
        p.stats.requests_received += 1;
        p.stats.responses_sent += 1;
        if role == Role::Controlled && msg.use_candidate {
            p.remote_nominated = true;
        }
        if lite {
            // A lite agent has no checks of its own: a valid request makes the pair valid
            // (RFC 8445 §7.3.1.4 / §2.5), and the request is its liveness signal.
            p.state = PairState::Succeeded;
            p.last_consent = Some(now);
            if p.remote_nominated {
                p.nominated = true;
            }
            if sel_remote == Some((base, d.source)) {
                if let Some(s) = &mut self.selected {
                    s.last_consent = now;
                }
            }
        } else {
            match p.state {
                PairState::Succeeded => {
                    if p.remote_nominated {
                        p.nominated = true;
                    }
                }
                PairState::InProgress => {}
                _ => {
                    // Triggered check (§7.3.1.4).
                    p.state = PairState::Waiting;
                    let key = (base, d.source);
                    if !self.triggered.contains(&key) {
                        self.triggered.push_back(key);
                    }
                }
            }
        }
        self.select_best(now);
        Ok(())
    }

    fn respond_success(&mut self, d: &Datagram, msg: &Message, pwd: &str) {
        let mut b = Builder::new(Class::Success, BINDING, &msg.transaction_id);
        b.xor_mapped_address(d.source);
        let bytes = b.finish(Some(pwd.as_bytes()));
        self.transmits.push_back(Transmit {
            source: d.destination,
            destination: d.source,
            contents: bytes,
        });
    }

    fn respond_error(
        &mut self,
        d: &Datagram,
        msg: &Message,
        code: u16,
        reason: &str,
        pwd: Option<&str>,
    ) {
        let mut b = Builder::new(Class::Error, BINDING, &msg.transaction_id);
        b.error_code(code, reason);
        let bytes = b.finish(pwd.map(str::as_bytes));
        self.transmits.push_back(Transmit {
            source: d.destination,
            destination: d.source,
            contents: bytes,
        });
    }

    fn on_response(&mut self, now: Instant, d: &Datagram, msg: &Message) -> Result<(), Error> {
        let Some(ti) = self.txns.iter().position(|t| t.id == msg.transaction_id) else {
            return Err(Error::UnknownTransaction);
        };
        let Some(txn) = self.txns.get(ti).cloned() else {
            return Err(Error::UnknownTransaction);
        };
        if let Some(key) = &txn.key {
            // Checked before anything else; a forged response leaves the transaction running.
            msg.verify_integrity(key.as_bytes())?;
        } else if d.source != txn.destination {
            return Err(Error::UnknownSource(d.source));
        }
        self.txns.swap_remove(ti);
        let rtt = now.saturating_duration_since(txn.sent_at);
        match txn.kind {
            TxnKind::Srflx { interface_index } => {
                if msg.class == Class::Success {
                    if let Some(mapped) = msg.mapped_address {
                        self.add_srflx(txn.source, txn.destination, mapped, interface_index);
                    }
                }
                Ok(())
            }
            TxnKind::Consent => {
                let symmetric = d.source == txn.destination && d.destination == txn.source;
                if msg.class == Class::Success && symmetric {
                    if let Some(sel) = &mut self.selected {
                        if sel.local == txn.source && sel.remote == txn.destination {
                            sel.last_consent = now;
                        }
                    }
                    if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                        p.stats.responses_received += 1;
                        p.stats.current_rtt = Some(rtt);
                        p.stats.total_rtt += rtt;
                        p.last_consent = Some(now);
                    }
                }
                Ok(())
            }
            TxnKind::Check { nominate, role } => {
                let symmetric = d.source == txn.destination && d.destination == txn.source;
                if msg.class == Class::Error {
                    if msg.error_code == Some(487) && msg.has_integrity {
                        // Role conflict (§7.2.5.1): switch if we still have the role we sent.
                        if role == self.role {
                            let other = match role {
                                Role::Controlling => Role::Controlled,
                                Role::Controlled => Role::Controlling,
                            };
                            self.set_role(other);
                        }
                        if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                            p.state = PairState::Waiting;
                        }
                        self.triggered.push_back((txn.source, txn.destination));
                    } else if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                        p.state = PairState::Failed;
                    }
                    return Ok(());
                }
                if symmetric {
                    if let Some(mapped) = msg.mapped_address {
                        self.learn_local_prflx(txn.source, txn.destination, mapped);
                    }
                }
                let Some(p) = self.pair_mut(txn.source, txn.destination) else {
                    return Ok(()); // pair dropped by a restart meanwhile
                };
                if !symmetric {
                    p.state = PairState::Failed; // §7.2.5.2.1
                    return Ok(());
                }
                p.state = PairState::Succeeded;
                p.stats.responses_received += 1;
                p.stats.current_rtt = Some(rtt);
                p.stats.total_rtt += rtt;
                p.last_consent = Some(now);
                if nominate {
                    p.nominated = true;
                    p.nominating = false;
                }
                if p.remote_nominated && role == Role::Controlled {
                    p.nominated = true;
                }
                let found = p.foundation.clone();
                // Unfreeze pairs of the same foundation (§7.2.5.3.3).
                for q in &mut self.pairs {
                    if q.foundation == found && q.state == PairState::Frozen {
                        q.state = PairState::Waiting;
                    }
                }
                if let Some(sel) = &mut self.selected {
                    if sel.local == txn.source && sel.remote == txn.destination {
                        sel.last_consent = now;
                    }
                }
                self.first_success.get_or_insert(now);
                self.maybe_nominate(now);
                self.select_best(now);
                Ok(())
            }
        }
    }

    /// A successful check from `base` to `remote` reported our address as `mapped`. If no
    /// local candidate has that address, it is a new local peer-reflexive candidate (RFC 8445
    /// §7.2.5.3.1): its priority is the PRIORITY the check carried, its base the check's
    /// source. It is not signalled (the peer learns it from our checks), and the valid pair
    /// takes it as its local candidate (§7.2.5.3.2), which sets the pair's priority.
    fn learn_local_prflx(&mut self, base: SocketAddr, remote: SocketAddr, mapped: SocketAddr) {
        let known = self.locals.iter().any(|l| {
            l.cand.socket_addr() == Some(mapped)
                || (l.base == mapped && l.cand.typ != CandidateType::ServerReflexive)
        });
        if known || mapped.is_ipv4() != base.is_ipv4() {
            return;
        }
        let Some(p) = self
            .pairs
            .iter()
            .find(|p| p.stats.local == base && p.stats.remote == remote)
        else {
            return;
        };
        let prio = (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0xFF_FFFF);
        if self.locals.len() >= self.config.max_local_candidates {
            debug!("ice: local candidate limit, peer-reflexive candidate not kept");
            return;
        }
        let related = if self.config.mdns_host_names {
            SocketAddr::new(
                match base {
                    SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
                    SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
                },
                0,
            )
        } else {
            base
        };
        let f = foundation(
            CandidateType::PeerReflexive,
            base.ip(),
            None,
            Transport::Udp,
        );
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            mapped,
            CandidateType::PeerReflexive,
            Some(related),
        ));
        debug!(%base, %mapped, "ice: peer-reflexive local candidate");
        self.locals.push(LocalCand { cand, base });
        let controlling = self.role == Role::Controlling;
        if let Some(p) = self.pair_mut(base, remote) {
            p.local_prio = prio;
            p.priority = if controlling {
                pair_priority(prio, p.remote_prio)
            } else {
                pair_priority(p.remote_prio, prio)
            };
            p.stats.local_type = CandidateType::PeerReflexive;
        }
    }

    fn add_srflx(&mut self, base: SocketAddr, server: SocketAddr, mapped: SocketAddr, index: u16) {
        if mapped.is_ipv4() != base.is_ipv4() {
            return;
        }
        let prio = candidate_priority(
            CandidateType::ServerReflexive,
            local_preference(base.ip(), index),
            1,
        );
        // Redundant if it equals a candidate with the same base (no NAT) (§5.1.3).
        let redundant = self
            .locals
            .iter()
            .any(|l| l.base == base && (l.base == mapped || l.cand.socket_addr() == Some(mapped)));
        if redundant || self.locals.len() >= self.config.max_local_candidates {
            return;
        }
        let f = foundation(
            CandidateType::ServerReflexive,
            base.ip(),
            Some(server.ip()),
            Transport::Udp,
        );
        // With mDNS names the base address must not leak through raddr either.
        let related = if self.config.mdns_host_names {
            SocketAddr::new(
                match base {
                    SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
                    SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
                },
                0,
            )
        } else {
            base
        };
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            mapped,
            CandidateType::ServerReflexive,
            Some(related),
        ));
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base,
        });
        self.events.push_back(Event::LocalCandidate(cand));
    }

    fn needs_nomination(&self) -> bool {
        self.role == Role::Controlling
            && !self.config.lite
            && !self.pairs.iter().any(|p| p.nominated || p.nominating)
            && self.pairs.iter().any(|p| p.state == PairState::Succeeded)
    }

    /// How long after the first valid pair the controlling agent nominates the best valid pair
    /// while better pairs are still pending: longer when that pair is relayed.
    fn nomination_wait(&self) -> Duration {
        let best_relayed = self
            .pairs
            .iter()
            .filter(|p| p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
            .is_some_and(|p| {
                p.stats.local_type == CandidateType::Relayed
                    || p.stats.remote_type == CandidateType::Relayed
            });
        if best_relayed {
            self.config
                .nomination_delay
                .max(self.config.relay_nomination_delay)
        } else {
            self.config.nomination_delay
        }
    }

    /// Regular nomination (§8.1.1): once the best pair so far succeeded and no better pair is
    /// still pending — or after `nomination_delay` (`relay_nomination_delay` when that pair is
    /// relayed) — check it again with USE-CANDIDATE.
    fn maybe_nominate(&mut self, now: Instant) {
        if !self.needs_nomination() || !self.can_check() {
            return;
        }
        let Some((bi, best_prio)) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority))
        else {
            return;
        };
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best_prio
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        let wait = self.nomination_wait();
        let waited = self.first_success.is_some_and(|t| now >= t + wait);
        if better_pending && !waited {
            return;
        }
        let Some(p) = self.pairs.get_mut(bi) else {
            return;
        };
        p.nominating = true;
        let key = (p.stats.local, p.stats.remote);
        self.triggered.retain(|k| *k != key);
        // The nominating check goes out at once instead of waiting for the next Ta slot: it
        // is one packet, sent once per nomination, and waiting would add a Ta to every
        // connection setup. If it cannot go now (TURN permission pending), it is queued as a
        // triggered check.
        if self.relay_ready(key.0, key.1) && self.send_check(now, bi).is_ok() {
            return;
        }
        self.triggered.push_front(key);
    }

    /// Selects the best nominated, succeeded pair (controlled: accepts aggressive nomination,
    /// so a better pair nominated later replaces the current one).
    fn select_best(&mut self, now: Instant) {
        let Some(best) = self
            .pairs
            .iter()
            .filter(|p| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
        else {
            return;
        };
        let (local, remote) = (best.stats.local, best.stats.remote);
        let cur = self.selected.as_ref();
        if let Some(c) = cur {
            if !c.from_previous_generation {
                if c.local == local && c.remote == remote {
                    return;
                }
                let cur_prio = self
                    .pairs
                    .iter()
                    .find(|p| p.stats.local == c.local && p.stats.remote == c.remote)
                    .map_or(0, |p| p.priority);
                if cur_prio >= best.priority {
                    return;
                }
            }
        }
        let Some(creds) = self.remote_creds.clone() else {
            return;
        };
        debug!(%local, %remote, "ice: selected pair");
        let jitter = self.consent_jitter();
        self.selected = Some(Selected {
            local,
            remote,
            remote_pwd: creds.pwd,
            remote_ufrag: creds.ufrag,
            local_ufrag: self.local_creds.ufrag.clone(),
            last_consent: now,
            next_consent: now + jitter,
            from_previous_generation: false,
        });
        self.previous_local_creds = None;
        self.consent_lost = false;
        self.events
            .push_back(Event::SelectedPairChanged { local, remote });
    }

    fn consent_jitter(&mut self) -> Duration {
        // RFC 7675 §5.1: uniformly random in [0.8, 1.2] × the interval.
        let f: f64 = self.rng.random_range(0.8..1.2);
        self.config.consent_interval.mul_f64(f)
    }

    fn consent_timers(&mut self, now: Instant) {
        let Some(sel) = self.selected.clone() else {
            return;
        };
        if now >= sel.last_consent + self.config.consent_timeout {
            debug!(remote = %sel.remote, "ice: consent lost");
            self.selected = None;
            self.consent_lost = true;
            self.txns.retain(|t| t.kind != TxnKind::Consent);
            return;
        }
        if self.config.lite || now < sel.next_consent {
            return;
        }
        let jitter = self.consent_jitter();
        if let Some(s) = &mut self.selected {
            s.next_consent = now + jitter;
        }
        let tid = self.new_tid();
        let mut b = Builder::new(Class::Request, BINDING, &tid);
        let prio = self
            .pairs
            .iter()
            .find(|p| p.stats.local == sel.local && p.stats.remote == sel.remote)
            .map_or(1, |p| {
                (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0xFF_FFFF)
            });
        b.username(&format!("{}:{}", sel.remote_ufrag, sel.local_ufrag))
            .priority(prio)
            .role(self.role == Role::Controlling, self.tie_breaker);
        let bytes = b.finish(Some(sel.remote_pwd.as_bytes()));
        if let Some(p) = self.pair_mut(sel.local, sel.remote) {
            p.stats.requests_sent += 1;
            p.stats.consent_requests_sent += 1;
        }
        // Only the newest consent check is kept outstanding.
        self.txns.retain(|t| t.kind != TxnKind::Consent);
        let _ = self.start_txn(
            now,
            tid,
            TxnKind::Consent,
            sel.local,
            sel.remote,
            Some(sel.remote_pwd.clone()),
            bytes,
        );
    }

    fn check_gathering_complete(&mut self) {
        if self.end_of_local && !self.gathering_complete_sent && !self.gathering_pending() {
            self.gathering_complete_sent = true;
            self.events.push_back(Event::GatheringComplete);
        }
    }

    fn update_state(&mut self, now: Instant) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(role: Role) -> AgentConfig {
        AgentConfig {
            role,
            include_loopback: true,
            ..AgentConfig::default()
        }
    }

    struct Rng(u64);
    impl RngCore for Rng {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 11
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for b in dst {
                *b = self.next_u64() as u8;
            }
        }
    }

    /// Moves datagrams between two agents (no network delay) and runs their timers, until
    /// `until` holds or 60 s of virtual time pass. Returns the virtual time taken.
    fn drive(
        a: &mut Agent,
        b: &mut Agent,
        start: Instant,
        until: impl Fn(&Agent, &Agent) -> bool,
    ) -> Duration {
        drive_lossy(a, b, start, |_| false, until)
    }

    /// Like `drive`, but datagrams for which `dead` holds are lost.
    fn drive_lossy(
        a: &mut Agent,
        b: &mut Agent,
        start: Instant,
        dead: impl Fn(&Transmit) -> bool,
        until: impl Fn(&Agent, &Agent) -> bool,
    ) -> Duration {
        let mut now = start;
        for _ in 0..100_000 {
            loop {
                let mut moved = false;
                while let Some(t) = a.poll_transmit() {
                    moved = true;
                    if !dead(&t) {
                        let _ = b.handle_receive(now, t);
                    }
                }
                while let Some(t) = b.poll_transmit() {
                    moved = true;
                    if !dead(&t) {
                        let _ = a.handle_receive(now, t);
                    }
                }
                if !moved {
                    break;
                }
            }
            if until(a, b) {
                return now - start;
            }
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            now = now.max(next);
            if now - start > Duration::from_secs(60) {
                break;
            }
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        panic!("condition not reached");
    }

    fn setup(now: Instant) -> (Agent, Agent) {
        let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(1));
        let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(2));
        let ca = a
            .add_local_interface(now, "127.0.0.1:1000".parse().unwrap())
            .unwrap()
            .unwrap();
        let cb = b
            .add_local_interface(now, "127.0.0.1:2000".parse().unwrap())
            .unwrap()
            .unwrap();
        a.set_remote_credentials(now, b.local_credentials().clone());
        b.set_remote_credentials(now, a.local_credentials().clone());
        a.add_remote_candidate(now, cb).unwrap();
        b.add_remote_candidate(now, ca).unwrap();
        (a, b)
    }

    #[test]
    fn loopback_connects_within_two_milliseconds() {
        let now = Instant::now();
        let (mut a, mut b) = setup(now);
        let took = drive(&mut a, &mut b, now, |a, b| {
            a.state() == ConnectionState::Connected && b.state() == ConnectionState::Connected
        });
        assert!(took <= Duration::from_millis(2), "took {took:?}");
        assert_eq!(b.state(), ConnectionState::Connected);
        assert_eq!(
            a.selected_pair(),
            Some((
                "127.0.0.1:1000".parse().unwrap(),
                "127.0.0.1:2000".parse().unwrap()
            ))
        );
        a.send(Bytes::from_static(b"hi")).unwrap();
        let t = a.poll_transmit().unwrap();
        assert_eq!(
            b.handle_receive(now, t).unwrap(),
            Some(Bytes::from_static(b"hi"))
        );
        let s = a.pair_stats();
        assert_eq!(s[0].packets_sent, 1);
        assert!(s[0].requests_sent >= 2 && s[0].responses_received >= 2);
    }

    #[test]
    fn bad_integrity_is_rejected_and_changes_nothing() {
        let now = Instant::now();
        let (mut a, mut b) = setup(now);
        let mut t = a.poll_transmit().unwrap();
        let mut raw = t.contents.to_vec();
        let n = raw.len();
        raw[n - 20] ^= 0xff; // inside the HMAC... may hit FINGERPRINT; either way an error
        t.contents = Bytes::from(raw);
        assert!(b.handle_receive(now, t).is_err());
        assert!(b.pair_stats().iter().all(|p| p.requests_received == 0));
        // A response to a transaction never sent.
        let mut bld = Builder::new(Class::Success, BINDING, &[9; 12]);
        bld.xor_mapped_address("127.0.0.1:1000".parse().unwrap());
        let d = Transmit {
            source: "127.0.0.1:2000".parse().unwrap(),
            destination: "127.0.0.1:1000".parse().unwrap(),
            contents: bld.finish(Some(b"x")),
        };
        assert_eq!(a.handle_receive(now, d), Err(Error::UnknownTransaction));
    }

    #[test]
    fn loopback_skipped_unless_asked() {
        let now = Instant::now();
        let mut a = Agent::new(AgentConfig::default(), now, &mut Rng(1));
        assert_eq!(
            a.add_local_interface(now, "127.0.0.1:1".parse().unwrap())
                .unwrap(),
            None
        );
        assert!(a
            .add_local_interface(now, "0.0.0.0:1".parse().unwrap())
            .is_err());
        assert!(a
            .add_local_interface(now, "10.0.0.1:1".parse().unwrap())
            .unwrap()
            .is_some());
    }

    /// a (one interface) and b, where b signals its second interface as a relayed candidate;
    /// `lost` says which transmits are dropped. Returns the time to both selected, and a's pair.
    fn direct_vs_relay(
        lost: impl Fn(&Transmit) -> bool,
    ) -> (Duration, Option<(SocketAddr, SocketAddr)>, Agent) {
        let now = Instant::now();
        let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(7));
        let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(8));
        let a_addr: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let ca = a.add_local_interface(now, a_addr).unwrap().unwrap();
        let direct = b.add_local_interface(now, B_DIRECT).unwrap().unwrap();
        let mut relayed = b.add_local_interface(now, B_RELAYED).unwrap().unwrap();
        relayed.typ = CandidateType::Relayed;
        relayed.priority = candidate_priority(CandidateType::Relayed, 65535, 1);
        relayed.foundation = "relay".into();
        a.set_remote_credentials(now, b.local_credentials().clone());
        b.set_remote_credentials(now, a.local_credentials().clone());
        a.add_remote_candidate(now, direct).unwrap();
        a.add_remote_candidate(now, relayed).unwrap();
        b.add_remote_candidate(now, ca).unwrap();
        a.end_of_remote_candidates(now);
        b.end_of_remote_candidates(now);
        let took = drive_lossy(&mut a, &mut b, now, lost, |a, b| {
            a.selected_pair().is_some() && b.selected_pair().is_some()
        });
        let sel = a.selected_pair();
        (took, sel, a)
    }

    const B_DIRECT: SocketAddr =
        SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)), 2000);
    const B_RELAYED: SocketAddr =
        SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 3)), 3000);

    #[test]
    fn relay_pair_does_not_win_over_a_direct_pair_that_needs_a_retransmission() {
        // The first two packets of the direct path are lost (both sides' first checks crossing
        // two NATs): the relay pair validates first, yet the direct pair is selected once its
        // retransmission succeeds, well before `relay_nomination_delay`.
        let dropped = std::cell::Cell::new(0);
        let (took, sel, a) = direct_vs_relay(|t| {
            let direct = t.source == B_DIRECT || t.destination == B_DIRECT;
            if direct && dropped.get() < 2 {
                dropped.set(dropped.get() + 1);
                return true;
            }
            false
        });
        assert_eq!(dropped.get(), 2);
        assert_eq!(sel.map(|s| s.1), Some(B_DIRECT), "{took:?}");
        assert!(took >= a.config.initial_rto, "{took:?}");
        assert!(took < a.config.relay_nomination_delay, "{took:?}");
    }

    #[test]
    fn relay_pair_is_nominated_after_the_relay_delay_when_the_direct_path_is_dead() {
        let (took, sel, a) = direct_vs_relay(|t| t.source == B_DIRECT || t.destination == B_DIRECT);
        assert_eq!(sel.map(|s| s.1), Some(B_RELAYED));
        assert!(took >= a.config.relay_nomination_delay, "{took:?}");
        assert!(
            took < a.config.relay_nomination_delay + Duration::from_millis(50),
            "{took:?}"
        );
    }

    #[test]
    fn dead_best_interface_nominates_the_next_pair_after_the_delay() {
        // a has two interfaces; the preferred one (index 0) cannot reach b. The controlling
        // agent waits `nomination_delay` for the better pair, then nominates the working one,
        // and reaches Completed once the dead pair has failed.
        let now = Instant::now();
        let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(5));
        let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(6));
        let dead_if: SocketAddr = "10.9.9.9:1000".parse().unwrap();
        let good_if: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b_addr: SocketAddr = "10.0.0.2:2000".parse().unwrap();
        let c_dead = a.add_local_interface(now, dead_if).unwrap().unwrap();
        let c_good = a.add_local_interface(now, good_if).unwrap().unwrap();
        assert!(
            c_dead.priority > c_good.priority,
            "interface order sets local preference"
        );
        assert_ne!(c_dead.foundation, c_good.foundation);
        let cb = b.add_local_interface(now, b_addr).unwrap().unwrap();
        a.set_remote_credentials(now, b.local_credentials().clone());
        b.set_remote_credentials(now, a.local_credentials().clone());
        a.add_remote_candidate(now, cb).unwrap();
        b.add_remote_candidate(now, c_dead).unwrap();
        b.add_remote_candidate(now, c_good).unwrap();
        a.end_of_remote_candidates(now);
        b.end_of_remote_candidates(now);
        let dead = |t: &Transmit| t.source == dead_if || t.destination == dead_if;
        let took = drive_lossy(&mut a, &mut b, now, dead, |a, b| {
            a.selected_pair().is_some() && b.selected_pair().is_some()
        });
        assert!(took >= a.config.nomination_delay, "{took:?}");
        assert!(
            took < a.config.nomination_delay + Duration::from_millis(50),
            "{took:?}"
        );
        assert_eq!(a.selected_pair(), Some((good_if, b_addr)));
        assert_eq!(b.selected_pair(), Some((b_addr, good_if)));
        let t2 = drive_lossy(&mut a, &mut b, now, dead, |a, _| {
            a.state() == ConnectionState::Completed
        });
        assert!(
            t2 > Duration::from_secs(3),
            "dead pair must time out first: {t2:?}"
        );
        let dead_pair = a
            .pair_stats()
            .into_iter()
            .find(|p| p.local == dead_if)
            .unwrap();
        assert_eq!(dead_pair.state, PairState::Failed);
        assert_eq!(
            dead_pair.requests_sent,
            u64::from(a.config.max_transmissions)
        );
    }
}
