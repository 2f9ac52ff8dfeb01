//! The sans-IO TURN client state machine (RFC 8656).
//!
//! One [`TurnClient`] owns one allocation on one TURN server. The caller owns the socket
//! (UDP) or the byte stream (TCP/TLS), feeds what arrives into
//! [`TurnClient::handle_receive`] / [`TurnClient::handle_stream_data`], sends what
//! [`TurnClient::poll_transmit`] returns, and calls [`TurnClient::handle_timeout`] at
//! [`TurnClient::poll_timeout`].
//!
//! Timers (RFC 8656): the allocation is refreshed one minute before it expires (or at half
//! its lifetime when shorter than two minutes); permissions last 5 minutes and are refreshed
//! after 4 while data flows to or from the peer; channel bindings last 10 minutes and are
//! refreshed after 9 while used. Unused permissions and channels are left to expire.

use crate::channel_data::{ChannelData, Frame, StreamFramer, MAX_CHANNEL, MIN_CHANNEL};
use crate::error::Error;
use bytes::{Bytes, BytesMut};
use ferrtc_stun::{
    attr, error_code, AddressFamily, Attribute, Class, ClientTransaction, IntegrityKey, Message,
    MessageBuilder, MessageType, Method, PasswordAlgorithm, PasswordAlgorithms, SecurityFeatures,
    Text, TransactionConfig, TransactionEvent, TransactionId, TransportReliability,
};
use rand_core::RngCore;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Lifetime of a permission (RFC 8656 §9).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// When a used permission is refreshed.
pub const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// Lifetime of a channel binding (RFC 8656 §12).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// When a used channel binding is refreshed.
pub const CHANNEL_REFRESH: Duration = Duration::from_secs(540);

/// IP protocol number of UDP, for REQUESTED-TRANSPORT.
const PROTO_UDP: u8 = 17;

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP datagrams: requests are retransmitted, ChannelData is not padded.
    Udp,
    /// A TCP or TLS byte stream: single sends, ChannelData padded to 4 bytes.
    Stream,
}

/// Address families to ask for (RFC 8656 §7.1, RFC 8656 §18.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationFamily {
    /// An IPv4 relayed address (the default of the protocol).
    V4,
    /// An IPv6 relayed address (REQUESTED-ADDRESS-FAMILY).
    V6,
    /// Both (ADDITIONAL-ADDRESS-FAMILY IPv6).
    Dual,
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The TURN server: destination of every [`Transmit`] and the only accepted source.
    pub server: SocketAddr,
    /// UDP or a byte stream (TCP/TLS).
    pub transport: Transport,
    /// Long-term credential username.
    pub username: String,
    /// Long-term credential password.
    pub password: String,
    /// Families to allocate.
    pub family: AllocationFamily,
    /// Lifetime to ask for (the server may grant less).
    pub lifetime: Duration,
    /// SOFTWARE to send, if any.
    pub software: Option<String>,
    /// STUN retransmission parameters.
    pub transaction: TransactionConfig,
    /// Most permissions at once.
    pub max_permissions: usize,
    /// Most channel bindings at once.
    pub max_channels: usize,
    /// Largest stream reassembly buffer.
    pub max_stream_buffer: usize,
    /// How many 438 (Stale Nonce) retries one request may make.
    pub max_stale_nonce_retries: u32,
}

impl Config {
    /// A configuration with the usual defaults.
    pub fn new(server: SocketAddr, transport: Transport, username: &str, password: &str) -> Self {
        Config {
            server,
            transport,
            username: username.to_string(),
            password: password.to_string(),
            family: if server.is_ipv4() {
                AllocationFamily::V4
            } else {
                AllocationFamily::V6
            },
            lifetime: Duration::from_secs(600),
            software: None,
            transaction: TransactionConfig::default(),
            max_permissions: 64,
            max_channels: 64,
            max_stream_buffer: 128 * 1024,
            max_stale_nonce_retries: 3,
        }
    }
}

/// Bytes for the caller to send to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The server address (over a stream, just write the bytes to it).
    pub destination: SocketAddr,
    /// The bytes.
    pub data: Bytes,
}

/// What the layer above must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The allocation exists.
    AllocationReady {
        /// Relayed transport addresses (two for a dual allocation).
        relayed: Vec<SocketAddr>,
        /// Our server-reflexive address as the server sees it.
        mapped: Option<SocketAddr>,
        /// Granted lifetime.
        lifetime: Duration,
    },
    /// A Refresh succeeded.
    AllocationRefreshed {
        /// Granted lifetime.
        lifetime: Duration,
    },
    /// Allocating failed (error response or timeout).
    AllocationFailed {
        /// The error code, `None` on timeout.
        code: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// An existing allocation is gone (refresh failed or it expired).
    AllocationLost {
        /// What happened.
        reason: String,
    },
    /// The allocation was deleted on request.
    Deallocated,
    /// A permission was installed.
    PermissionCreated {
        /// The peer IP.
        peer: IpAddr,
    },
    /// CreatePermission failed.
    PermissionFailed {
        /// The peer IP.
        peer: IpAddr,
        /// The error code, `None` on timeout.
        code: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// A permission was not refreshed (unused) and expired.
    PermissionExpired {
        /// The peer IP.
        peer: IpAddr,
    },
    /// A channel was bound.
    ChannelBound {
        /// The peer.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
    },
    /// ChannelBind failed.
    ChannelBindFailed {
        /// The peer.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
        /// The error code, `None` on timeout.
        code: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// A channel was not refreshed (unused) and expired.
    ChannelExpired {
        /// The peer.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
    },
    /// Data relayed from a peer.
    Data {
        /// The peer.
        peer: SocketAddr,
        /// The data.
        data: Bytes,
        /// The channel it came on, `None` for a Data indication.
        channel: Option<u16>,
    },
}

/// Where the allocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationState {
    /// Nothing requested yet.
    Idle,
    /// Allocate sent.
    Allocating,
    /// Allocated.
    Allocated,
    /// Refresh with LIFETIME 0 sent.
    Deallocating,
    /// Deallocated, failed or lost.
    Closed,
}

impl AllocationState {
    fn name(self) -> &'static str {
        match self {
            AllocationState::Idle => "idle",
            AllocationState::Allocating => "allocating",
            AllocationState::Allocated => "allocated",
            AllocationState::Deallocating => "deallocating",
            AllocationState::Closed => "closed",
        }
    }
}

#[derive(Debug)]
struct Auth {
    realm: String,
    nonce: String,
    key: IntegrityKey,
    /// PASSWORD-ALGORITHMS to echo and the chosen algorithm, when the server offered them.
    algorithms: Option<(PasswordAlgorithms, u16)>,
}

#[derive(Debug, Clone)]
enum Purpose {
    Allocate,
    Refresh { lifetime: u32 },
    CreatePermission { peers: Vec<IpAddr> },
    ChannelBind { peer: SocketAddr, channel: u16 },
}

#[derive(Debug)]
struct Pending {
    tx: ClientTransaction,
    purpose: Purpose,
    authenticated: bool,
    stale_retries: u32,
}

#[derive(Debug)]
struct Permission {
    installed: bool,
    pending: bool,
    used: bool,
    refresh_at: Instant,
    expires: Instant,
}

#[derive(Debug)]
struct Channel {
    peer: SocketAddr,
    bound: bool,
    pending: bool,
    used: bool,
    refresh_at: Instant,
    expires: Instant,
}

/// A TURN client for one allocation.
#[derive(Debug)]
pub struct TurnClient<R: RngCore> {
    config: Config,
    rng: R,
    state: AllocationState,
    auth: Option<Auth>,
    relayed: Vec<SocketAddr>,
    mapped: Option<SocketAddr>,
    refresh_at: Option<Instant>,
    expires: Option<Instant>,
    pending: Vec<Pending>,
    permissions: HashMap<IpAddr, Permission>,
    channels: HashMap<u16, Channel>,
    next_channel: u16,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    framer: StreamFramer,
    stale_nonce_retries: u64,
}

fn now_plus(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

impl<R: RngCore> TurnClient<R> {
    /// A client; nothing is sent until [`Self::allocate`].
    pub fn new(config: Config, rng: R) -> Self {
        let framer = StreamFramer::new(config.max_stream_buffer);
        TurnClient {
            config,
            rng,
            state: AllocationState::Idle,
            auth: None,
            relayed: Vec::new(),
            mapped: None,
            refresh_at: None,
            expires: None,
            pending: Vec::new(),
            permissions: HashMap::new(),
            channels: HashMap::new(),
            next_channel: MIN_CHANNEL,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            framer,
            stale_nonce_retries: 0,
        }
    }

    /// The allocation state.
    pub fn state(&self) -> AllocationState {
        self.state
    }
    /// Relayed addresses once allocated.
    pub fn relayed_addresses(&self) -> &[SocketAddr] {
        &self.relayed
    }
    /// Server-reflexive address reported by the server.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.mapped
    }
    /// How many requests were retried after a 438 (Stale Nonce) so far.
    pub fn stale_nonce_retries(&self) -> u64 {
        self.stale_nonce_retries
    }
    /// The realm learnt from the server.
    pub fn realm(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.realm.as_str())
    }
    /// Whether a permission for `peer` is installed.
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|p| p.installed)
    }
    /// The bound channel for `peer`, if any.
    pub fn channel_for(&self, peer: SocketAddr) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, c)| c.peer == peer && c.bound)
            .map(|(n, _)| *n)
    }

    /// Start the allocation (RFC 8656 §7.1). The first request goes without credentials;
    /// the server's 401 supplies REALM and NONCE and the request is retried.
    pub fn allocate(&mut self, now: Instant) -> Result<(), Error> {
        if !matches!(self.state, AllocationState::Idle | AllocationState::Closed) {
            return Err(Error::NoAllocation("an allocation is already active"));
        }
        self.state = AllocationState::Allocating;
        self.start(now, Purpose::Allocate, 0)
    }

    /// Refresh the allocation now (normally done automatically).
    pub fn refresh(&mut self, now: Instant) -> Result<(), Error> {
        self.require_allocated()?;
        let lifetime = self.config.lifetime.as_secs().min(u64::from(u32::MAX)) as u32;
        self.start(now, Purpose::Refresh { lifetime }, 0)
    }

    /// Delete the allocation (Refresh with LIFETIME 0, RFC 8656 §7.2).
    pub fn deallocate(&mut self, now: Instant) -> Result<(), Error> {
        self.require_allocated()?;
        self.state = AllocationState::Deallocating;
        self.permissions.clear();
        self.channels.clear();
        self.refresh_at = None;
        self.start(now, Purpose::Refresh { lifetime: 0 }, 0)
    }

    /// Ask for a permission for `peer` (RFC 8656 §9). Kept fresh while data flows.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), Error> {
        self.require_allocated()?;
        self.check_family(SocketAddr::new(peer, 0))?;
        if !self.permissions.contains_key(&peer)
            && self.permissions.len() >= self.config.max_permissions
        {
            return Err(Error::Limit("max_permissions"));
        }
        let p = self.permissions.entry(peer).or_insert(Permission {
            installed: false,
            pending: false,
            used: false,
            refresh_at: now,
            expires: now,
        });
        p.pending = true;
        self.start(now, Purpose::CreatePermission { peers: vec![peer] }, 0)
    }

    /// Bind a channel to `peer` (RFC 8656 §11); returns the channel number. Data goes over
    /// the channel once [`Event::ChannelBound`] is reported.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<u16, Error> {
        self.require_allocated()?;
        self.check_family(peer)?;
        if let Some((n, _)) = self.channels.iter().find(|(_, c)| c.peer == peer) {
            return Ok(*n);
        }
        if self.channels.len() >= self.config.max_channels {
            return Err(Error::Limit("max_channels"));
        }
        let mut channel = self.next_channel;
        while self.channels.contains_key(&channel) {
            channel = if channel >= MAX_CHANNEL {
                MIN_CHANNEL
            } else {
                channel + 1
            };
        }
        self.next_channel = if channel >= MAX_CHANNEL {
            MIN_CHANNEL
        } else {
            channel + 1
        };
        self.channels.insert(
            channel,
            Channel {
                peer,
                bound: false,
                pending: true,
                used: false,
                refresh_at: now,
                expires: now,
            },
        );
        self.start(now, Purpose::ChannelBind { peer, channel }, 0)?;
        Ok(channel)
    }

    /// Relay `data` to `peer`: over its channel when bound, else in a Send indication. A
    /// permission (or channel) for the peer must exist.
    pub fn send(&mut self, _now: Instant, peer: SocketAddr, data: &[u8]) -> Result<(), Error> {
        self.require_allocated()?;
        if data.len() > usize::from(u16::MAX) - 64 {
            return Err(Error::DataTooLarge(data.len()));
        }
        let channel = self
            .channels
            .iter_mut()
            .find(|(_, c)| c.peer == peer && c.bound);
        if let Some((n, c)) = channel {
            c.used = true;
            let cd = ChannelData {
                channel: *n,
                data: Bytes::copy_from_slice(data),
            };
            let pad = self.config.transport == Transport::Stream;
            let mut out = BytesMut::with_capacity(cd.encoded_len(pad));
            cd.write_to(pad, &mut out);
            if let Some(p) = self.permissions.get_mut(&peer.ip()) {
                p.used = true;
            }
            self.push_transmit(out.freeze());
            return Ok(());
        }
        match self.permissions.get_mut(&peer.ip()) {
            Some(p) => p.used = true,
            None => return Err(Error::NoPermission(peer.ip())),
        }
        let tid = TransactionId::random(&mut self.rng);
        let mut b = MessageBuilder::new(MessageType::new(Method::SEND, Class::Indication), tid);
        b.add(&Attribute::XorPeerAddress(peer))?
            .add(&Attribute::Data(Bytes::copy_from_slice(data)))?
            .add_fingerprint()?;
        self.push_transmit(b.build());
        Ok(())
    }

    /// A datagram from the server (UDP transport).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: Bytes,
    ) -> Result<(), Error> {
        if from != self.config.server {
            return Err(Error::NotFromServer(from));
        }
        match data.first() {
            Some(0x40..=0x4F) => self.handle_channel_data(now, ChannelData::parse(data)?),
            _ => self.handle_stun(now, Message::parse(data)?),
        }
    }

    /// Bytes read from the TCP/TLS stream to the server. A framing error means the stream
    /// is unusable and must be closed.
    pub fn handle_stream_data(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        self.framer.push(data)?;
        while let Some(frame) = self.framer.next_frame()? {
            let r = match frame {
                Frame::Stun(b) => Message::parse(b)
                    .map_err(Error::from)
                    .and_then(|m| self.handle_stun(now, m)),
                Frame::ChannelData(b) => {
                    ChannelData::parse(b).and_then(|cd| self.handle_channel_data(now, cd))
                }
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "TURN: dropped a malformed frame");
            }
        }
        Ok(())
    }

    /// Advance timers: retransmissions, refreshes, expiries.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        for (i, p) in self.pending.iter_mut().enumerate() {
            p.tx.handle_timeout(now);
            if let Some(TransactionEvent::TimedOut) = p.tx.poll_event() {
                timed_out.push(i);
            }
        }
        for i in timed_out.into_iter().rev() {
            if i < self.pending.len() {
                let p = self.pending.swap_remove(i);
                self.fail(
                    now,
                    p.purpose,
                    None,
                    "no response from the TURN server".into(),
                );
            }
        }
        if self.state == AllocationState::Allocated {
            if self.expires.is_some_and(|e| now >= e) {
                self.lose("allocation expired".into());
            } else if self.refresh_at.is_some_and(|r| now >= r)
                && !self
                    .pending
                    .iter()
                    .any(|p| matches!(p.purpose, Purpose::Refresh { .. }))
            {
                self.refresh_at = None;
                if let Err(e) = self.refresh(now) {
                    tracing::warn!(error = %e, "TURN refresh could not be sent");
                }
            }
        }
        if self.state == AllocationState::Allocated {
            self.maintain_permissions(now);
            self.maintain_channels(now);
        }
        self.flush();
    }

    fn maintain_permissions(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut refresh = Vec::new();
        for (ip, p) in self.permissions.iter_mut() {
            if !p.installed || p.pending {
                continue;
            }
            if now >= p.expires {
                expired.push(*ip);
            } else if now >= p.refresh_at && p.used {
                p.pending = true;
                p.used = false;
                refresh.push(*ip);
            }
        }
        for ip in expired {
            self.permissions.remove(&ip);
            self.events.push_back(Event::PermissionExpired { peer: ip });
        }
        if !refresh.is_empty() {
            if let Err(e) = self.start(now, Purpose::CreatePermission { peers: refresh }, 0) {
                tracing::warn!(error = %e, "TURN permission refresh could not be sent");
            }
        }
    }

    fn maintain_channels(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut refresh = Vec::new();
        for (n, c) in self.channels.iter_mut() {
            if !c.bound || c.pending {
                continue;
            }
            if now >= c.expires {
                expired.push(*n);
            } else if now >= c.refresh_at && c.used {
                c.pending = true;
                c.used = false;
                refresh.push((*n, c.peer));
            }
        }
        for n in expired {
            if let Some(c) = self.channels.remove(&n) {
                self.events.push_back(Event::ChannelExpired {
                    peer: c.peer,
                    channel: n,
                });
            }
        }
        for (channel, peer) in refresh {
            if let Err(e) = self.start(now, Purpose::ChannelBind { peer, channel }, 0) {
                tracing::warn!(error = %e, "TURN channel refresh could not be sent");
            }
        }
    }

    /// Next bytes to send to the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.pending.iter().filter_map(|p| p.tx.poll_timeout());
        let mut t: Option<Instant> = tx.min();
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.state == AllocationState::Allocated {
            consider(self.refresh_at);
            consider(self.expires);
            for p in self
                .permissions
                .values()
                .filter(|p| p.installed && !p.pending)
            {
                consider(Some(if p.used { p.refresh_at } else { p.expires }));
            }
            for c in self.channels.values().filter(|c| c.bound && !c.pending) {
                consider(Some(if c.used { c.refresh_at } else { c.expires }));
            }
        }
        t
    }

    fn require_allocated(&self) -> Result<(), Error> {
        if self.state == AllocationState::Allocated {
            Ok(())
        } else {
            Err(Error::NoAllocation(self.state.name()))
        }
    }

    fn check_family(&self, peer: SocketAddr) -> Result<(), Error> {
        if self.relayed.is_empty() || self.relayed.iter().any(|r| r.is_ipv4() == peer.is_ipv4()) {
            Ok(())
        } else {
            Err(Error::PeerFamilyMismatch(peer))
        }
    }

    fn push_transmit(&mut self, data: Bytes) {
        self.transmits.push_back(Transmit {
            destination: self.config.server,
            data,
        });
    }

    fn flush(&mut self) {
        let server = self.config.server;
        for p in &mut self.pending {
            while let Some(data) = p.tx.poll_transmit() {
                self.transmits.push_back(Transmit {
                    destination: server,
                    data,
                });
            }
        }
    }

    fn build_request(&mut self, purpose: &Purpose) -> Result<(Bytes, bool), Error> {
        let (method, tid) = match purpose {
            Purpose::Allocate => (Method::ALLOCATE, TransactionId::random(&mut self.rng)),
            Purpose::Refresh { .. } => (Method::REFRESH, TransactionId::random(&mut self.rng)),
            Purpose::CreatePermission { .. } => (
                Method::CREATE_PERMISSION,
                TransactionId::random(&mut self.rng),
            ),
            Purpose::ChannelBind { .. } => {
                (Method::CHANNEL_BIND, TransactionId::random(&mut self.rng))
            }
        };
        let mut b = MessageBuilder::new(MessageType::new(method, Class::Request), tid);
        match purpose {
            Purpose::Allocate => {
                b.add(&Attribute::RequestedTransport(PROTO_UDP))?;
                let lifetime = self.config.lifetime.as_secs().min(u64::from(u32::MAX)) as u32;
                b.add(&Attribute::Lifetime(lifetime))?;
                match self.config.family {
                    AllocationFamily::V4 => {}
                    AllocationFamily::V6 => {
                        b.add(&Attribute::RequestedAddressFamily(AddressFamily::V6))?;
                    }
                    AllocationFamily::Dual => {
                        b.add(&Attribute::AdditionalAddressFamily(AddressFamily::V6))?;
                    }
                }
            }
            Purpose::Refresh { lifetime } => {
                b.add(&Attribute::Lifetime(*lifetime))?;
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    b.add(&Attribute::XorPeerAddress(SocketAddr::new(*ip, 0)))?;
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                b.add(&Attribute::ChannelNumber(*channel))?;
                b.add(&Attribute::XorPeerAddress(*peer))?;
            }
        }
        if let Some(s) = &self.config.software {
            b.add(&Attribute::Software(Text::new(s)))?;
        }
        let authenticated = self.auth.is_some();
        if let Some(auth) = &self.auth {
            b.add(&Attribute::Username(Text::new(&self.config.username)))?
                .add(&Attribute::Realm(Text::new(&auth.realm)))?
                .add(&Attribute::Nonce(Text::new(&auth.nonce)))?;
            match &auth.algorithms {
                Some((list, alg)) => {
                    b.add(&Attribute::PasswordAlgorithms(list.clone()))?
                        .add(&Attribute::PasswordAlgorithm(PasswordAlgorithm {
                            algorithm: *alg,
                            params: Bytes::new(),
                        }))?
                        .add_message_integrity_sha256(&auth.key)?;
                }
                None => {
                    b.add_message_integrity(&auth.key)?;
                }
            }
        }
        b.add_fingerprint()?;
        Ok((b.build(), authenticated))
    }

    fn start(&mut self, now: Instant, purpose: Purpose, stale_retries: u32) -> Result<(), Error> {
        let (request, authenticated) = self.build_request(&purpose)?;
        let reliability = match self.config.transport {
            Transport::Udp => TransportReliability::Unreliable,
            Transport::Stream => TransportReliability::Reliable,
        };
        let tx = ClientTransaction::new(now, request, reliability, self.config.transaction)?;
        tracing::debug!(purpose = ?purpose, tid = ?tx.transaction_id(), "TURN request");
        self.pending.push(Pending {
            tx,
            purpose,
            authenticated,
            stale_retries,
        });
        self.flush();
        Ok(())
    }

    fn handle_channel_data(&mut self, _now: Instant, cd: ChannelData) -> Result<(), Error> {
        let Some(c) = self.channels.get_mut(&cd.channel) else {
            tracing::debug!(
                channel = cd.channel,
                "TURN: ChannelData on an unbound channel"
            );
            return Ok(());
        };
        c.used = true;
        let peer = c.peer;
        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
            p.used = true;
        }
        self.events.push_back(Event::Data {
            peer,
            data: cd.data,
            channel: Some(cd.channel),
        });
        Ok(())
    }

    fn handle_stun(&mut self, now: Instant, msg: Message) -> Result<(), Error> {
        if msg.class() == Class::Indication {
            if msg.method() == Method::DATA {
                // Indications carry no integrity by design (RFC 8656 §10.4); we only accept
                // data from peers we gave a permission to.
                let a = msg.attributes_unverified();
                let (Some(peer), Some(data)) = (a.xor_peer_address()?, a.data()) else {
                    return Ok(());
                };
                match self.permissions.get_mut(&peer.ip()) {
                    Some(p) => p.used = true,
                    None => {
                        tracing::debug!(%peer, "TURN: Data indication from a peer without permission");
                        return Ok(());
                    }
                }
                self.events.push_back(Event::Data {
                    peer,
                    data,
                    channel: None,
                });
            }
            return Ok(());
        }
        if !msg.class().is_response() {
            return Ok(());
        }
        let tid = msg.transaction_id();
        let Some(idx) = self
            .pending
            .iter()
            .position(|p| p.tx.transaction_id() == tid)
        else {
            tracing::trace!(?tid, "TURN: response to no pending request");
            return Ok(());
        };
        if msg.class() == Class::SuccessResponse {
            // A success response must carry the integrity of our credentials.
            let Some(auth) = &self.auth else {
                tracing::debug!("TURN: success response before authentication, dropped");
                return Ok(());
            };
            if let Err(e) = msg.verify_integrity(&auth.key) {
                tracing::warn!(error = %e, "TURN: response failed integrity, dropped");
                return Ok(());
            }
        }
        let p = self.pending.swap_remove(idx);
        let r = match msg.class() {
            Class::SuccessResponse => self.on_success(now, p.purpose, &msg),
            _ => self.on_error(now, p, &msg),
        };
        self.flush();
        r
    }

    fn on_success(&mut self, now: Instant, purpose: Purpose, msg: &Message) -> Result<(), Error> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        let a = msg.verify_integrity(&auth.key)?;
        match purpose {
            Purpose::Allocate => {
                let mut relayed = Vec::new();
                for x in a.iter() {
                    if let Ok(Attribute::XorRelayedAddress(r)) = x {
                        relayed.push(r);
                    }
                }
                if relayed.is_empty() {
                    self.state = AllocationState::Closed;
                    self.events.push_back(Event::AllocationFailed {
                        code: None,
                        reason: "Allocate success response without XOR-RELAYED-ADDRESS".into(),
                    });
                    return Ok(());
                }
                let lifetime = Duration::from_secs(u64::from(a.lifetime()?.unwrap_or(600)));
                self.mapped = a.xor_mapped_address()?;
                self.relayed = relayed.clone();
                self.state = AllocationState::Allocated;
                self.schedule_refresh(now, lifetime);
                tracing::info!(?relayed, ?lifetime, "TURN allocation ready");
                self.events.push_back(Event::AllocationReady {
                    relayed,
                    mapped: self.mapped,
                    lifetime,
                });
            }
            Purpose::Refresh { lifetime: 0 } => {
                self.state = AllocationState::Closed;
                self.relayed.clear();
                self.events.push_back(Event::Deallocated);
            }
            Purpose::Refresh { .. } => {
                let lifetime = Duration::from_secs(u64::from(a.lifetime()?.unwrap_or(600)));
                if self.state == AllocationState::Allocated {
                    self.schedule_refresh(now, lifetime);
                    self.events
                        .push_back(Event::AllocationRefreshed { lifetime });
                }
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    if let Some(p) = self.permissions.get_mut(&ip) {
                        let first = !p.installed;
                        p.installed = true;
                        p.pending = false;
                        p.refresh_at = now_plus(now, PERMISSION_REFRESH);
                        p.expires = now_plus(now, PERMISSION_LIFETIME);
                        if first {
                            self.events.push_back(Event::PermissionCreated { peer: ip });
                        }
                    }
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                if let Some(c) = self.channels.get_mut(&channel) {
                    let first = !c.bound;
                    c.bound = true;
                    c.pending = false;
                    c.refresh_at = now_plus(now, CHANNEL_REFRESH);
                    c.expires = now_plus(now, CHANNEL_LIFETIME);
                    if first {
                        self.events.push_back(Event::ChannelBound { peer, channel });
                    }
                }
                // ChannelBind installs or refreshes the permission too (RFC 8656 §11.2).
                let p = self.permissions.entry(peer.ip()).or_insert(Permission {
                    installed: false,
                    pending: false,
                    used: false,
                    refresh_at: now,
                    expires: now,
                });
                if !p.pending {
                    p.installed = true;
                    p.refresh_at = now_plus(now, PERMISSION_REFRESH);
                    p.expires = now_plus(now, PERMISSION_LIFETIME);
                }
            }
        }
        Ok(())
    }

    fn schedule_refresh(&mut self, now: Instant, lifetime: Duration) {
        let margin = Duration::from_secs(60).min(lifetime / 2);
        self.refresh_at = Some(now_plus(now, lifetime - margin));
        self.expires = Some(now_plus(now, lifetime));
    }

    fn on_error(&mut self, now: Instant, p: Pending, msg: &Message) -> Result<(), Error> {
        let a = msg.attributes_unverified();
        let (code, reason) = match a.error_code()? {
            Some((c, r)) => (c, r.to_string()),
            None => (0, String::from("error response without ERROR-CODE")),
        };
        match code {
            error_code::UNAUTHENTICATED if !p.authenticated => {
                let (Some(realm), Some(nonce)) = (a.realm()?, a.nonce()?) else {
                    self.fail(now, p.purpose, Some(code), "401 without REALM/NONCE".into());
                    return Ok(());
                };
                let offered = match a.get(attr::PASSWORD_ALGORITHMS) {
                    Some(Ok(Attribute::PasswordAlgorithms(list))) => Some(list),
                    _ => None,
                };
                if let Err(e) = self.set_auth(realm, nonce, offered) {
                    self.fail(now, p.purpose, Some(code), format!("bad credentials: {e}"));
                    return Ok(());
                }
                self.start(now, p.purpose, p.stale_retries)?;
            }
            error_code::STALE_NONCE if p.stale_retries < self.config.max_stale_nonce_retries => {
                let Some(nonce) = a.nonce()? else {
                    self.fail(now, p.purpose, Some(code), "438 without NONCE".into());
                    return Ok(());
                };
                if let Some(auth) = &mut self.auth {
                    tracing::debug!("TURN: stale nonce, retrying with the new one");
                    self.stale_nonce_retries += 1;
                    auth.nonce = nonce.to_string();
                    if let Some(realm) = a.realm()? {
                        if realm != auth.realm {
                            let (realm, nonce) = (realm.to_string(), nonce.to_string());
                            let offered = auth.algorithms.as_ref().map(|(l, _)| l.clone());
                            self.set_auth(&realm, &nonce, offered)?;
                        }
                    }
                }
                self.start(now, p.purpose, p.stale_retries + 1)?;
            }
            _ => {
                let reason = match code {
                    error_code::UNAUTHENTICATED => {
                        format!("401 {reason}: the server rejected the username or password")
                    }
                    error_code::WRONG_CREDENTIALS => {
                        format!("441 {reason}: credentials differ from the allocation's")
                    }
                    _ => format!("{code} {reason}"),
                };
                self.fail(now, p.purpose, Some(code), reason);
            }
        }
        Ok(())
    }

    fn set_auth(
        &mut self,
        realm: &str,
        nonce: &str,
        offered: Option<PasswordAlgorithms>,
    ) -> Result<(), Error> {
        // RFC 8489 §9.2.4: use PASSWORD-ALGORITHMS only when the nonce cookie announces it.
        let features = SecurityFeatures::from_nonce(nonce).unwrap_or_default();
        let algorithms = match offered {
            Some(list) if features.password_algorithms() => {
                if list.contains(PasswordAlgorithm::SHA256) {
                    Some((list, PasswordAlgorithm::SHA256))
                } else if list.contains(PasswordAlgorithm::MD5) {
                    Some((list, PasswordAlgorithm::MD5))
                } else {
                    None
                }
            }
            _ => None,
        };
        let alg = algorithms
            .as_ref()
            .map_or(PasswordAlgorithm::MD5, |(_, a)| *a);
        let key =
            IntegrityKey::long_term(&self.config.username, realm, &self.config.password, alg)?;
        self.auth = Some(Auth {
            realm: realm.to_string(),
            nonce: nonce.to_string(),
            key,
            algorithms,
        });
        Ok(())
    }

    fn lose(&mut self, reason: String) {
        tracing::warn!(%reason, "TURN allocation lost");
        self.state = AllocationState::Closed;
        self.relayed.clear();
        self.permissions.clear();
        self.channels.clear();
        self.refresh_at = None;
        self.expires = None;
        self.events.push_back(Event::AllocationLost { reason });
    }

    fn fail(&mut self, _now: Instant, purpose: Purpose, code: Option<u16>, reason: String) {
        match purpose {
            Purpose::Allocate => {
                self.state = AllocationState::Closed;
                self.events
                    .push_back(Event::AllocationFailed { code, reason });
            }
            Purpose::Refresh { lifetime: 0 } => {
                // Deleting failed or timed out: the allocation will expire anyway.
                self.state = AllocationState::Closed;
                self.events.push_back(Event::Deallocated);
            }
            Purpose::Refresh { .. } => {
                if self.state == AllocationState::Allocated {
                    if code == Some(error_code::ALLOCATION_MISMATCH) || code.is_none() {
                        self.lose(reason);
                    } else if self.expires.is_some() {
                        // Try again at the next timer until the allocation expires.
                        self.refresh_at = self.expires;
                        tracing::warn!(%reason, "TURN refresh failed");
                    }
                }
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    let installed = self.permissions.get(&ip).is_some_and(|p| p.installed);
                    if installed {
                        if let Some(p) = self.permissions.get_mut(&ip) {
                            p.pending = false;
                        }
                    } else {
                        self.permissions.remove(&ip);
                    }
                    self.events.push_back(Event::PermissionFailed {
                        peer: ip,
                        code,
                        reason: reason.clone(),
                    });
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                let bound = self.channels.get(&channel).is_some_and(|c| c.bound);
                if bound {
                    if let Some(c) = self.channels.get_mut(&channel) {
                        c.pending = false;
                    }
                } else {
                    self.channels.remove(&channel);
                }
                self.events.push_back(Event::ChannelBindFailed {
                    peer,
                    channel,
                    code,
                    reason,
                });
            }
        }
    }
}
