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
//!
//! This file holds the types, the public commands and the input entry points; `requests.rs`
//! builds and starts requests and keeps the credentials, `responses.rs` handles what the
//! server sends (ChannelData, Data indications, responses), `timers.rs` the timers.

mod requests;
mod responses;
mod timers;

use crate::channel_data::{ChannelData, Frame, StreamFramer, MAX_CHANNEL, MIN_CHANNEL};
use crate::error::Error;
use bytes::{Bytes, BytesMut};
use ferrtc_stun::demux::PacketKind;
use ferrtc_stun::{
    Attribute, Class, ClientTransaction, IntegrityKey, Message, MessageBuilder, MessageType,
    Method, PasswordAlgorithms, TransactionConfig, TransactionId,
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
    /// permission for the peer must exist and not have expired at `now` (RFC 8656 §9: the
    /// server drops what arrives without one; refreshes keep it alive while it is used).
    pub fn send(&mut self, now: Instant, peer: SocketAddr, data: &[u8]) -> Result<(), Error> {
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
            // A permission still being created may be used (as before it is installed); an
            // installed one only until it expires.
            Some(p) if !p.installed || now < p.expires => p.used = true,
            _ => return Err(Error::NoPermission(peer.ip())),
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
        // RFC 7983 by the first byte: ChannelData, else STUN (which rejects the rest).
        match ferrtc_stun::demux::classify(&data) {
            PacketKind::ChannelData => self.handle_channel_data(ChannelData::parse(data)?),
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
                    ChannelData::parse(b).and_then(|cd| self.handle_channel_data(cd))
                }
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "TURN: dropped a malformed frame");
            }
        }
        Ok(())
    }

    /// Next bytes to send to the server.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
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
}
