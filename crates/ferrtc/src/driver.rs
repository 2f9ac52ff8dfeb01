//! The tokio driver: one task per peer connection owns the sans-IO
//! [`ferrtc_peerconnection::PeerConnection`], its sockets and its timer; the handles
//! ([`PeerConnection`], [`DataChannel`]) talk to it through a queue. Nothing is shared behind
//! locks with the protocol state, so nothing can deadlock on it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ferrtc_dtls::{Certificate, DtlsContext, KeyType};
use ferrtc_peerconnection::stats::StatsReport;
use ferrtc_peerconnection::{
    self as pc, BundlePolicy, ChannelId, ChannelInit, Configuration, Datagram, Event,
    IceCandidateInit, IceConnectionState, IceGatheringState, IceServer, IceTransportPolicy,
    OfferOptions, Output, PeerConnectionState, ReadyState, RtcSessionDescription, SignalingState,
};
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot, watch, Mutex, Notify};
use tokio::task::JoinHandle;
use tracing::{debug, trace, Instrument};

use crate::mdns::MdnsResolution;
use crate::net::{self, UdpMux};
use crate::queue;
use crate::Error;

/// Input of the driver task: datagrams from the sockets and commands from the handles.
///
/// The input queue allocates its slots 32 at a time, each the size of the largest variant, and
/// an idle connection keeps one such block: the variants are kept at 72 bytes (rare large
/// payloads boxed) rather than the 104 that `ferrtc_ice::Datagram` and two addresses take.
pub(crate) enum Input {
    /// A datagram read from the socket at `socket` in the driver's `locals`.
    Datagram {
        socket: u16,
        source: SocketAddr,
        contents: Bytes,
    },
    Command(Command),
    /// Bytes read from the TCP/TLS connection from `stream.0` (the interface) to the TURN
    /// server `stream.1`.
    StreamData {
        stream: Box<(SocketAddr, SocketAddr)>,
        data: Bytes,
    },
    /// That connection could not be opened, or ended.
    StreamClosed {
        local: SocketAddr,
        server: SocketAddr,
    },
    /// The answer to a remote candidate's host name (`None`: not found).
    Resolved {
        name: String,
        ip: Option<IpAddr>,
    },
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

pub(crate) enum Command {
    CreateOffer(OfferOptions, Reply<RtcSessionDescription>),
    CreateAnswer(Reply<RtcSessionDescription>),
    SetLocal(RtcSessionDescription, Reply<()>),
    SetRemote(RtcSessionDescription, Reply<()>),
    AddCandidate(Box<Option<IceCandidateInit>>, Reply<()>),
    LocalDescription(Reply<Option<RtcSessionDescription>>),
    RemoteDescription(Reply<Option<RtcSessionDescription>>),
    CreateChannel(Box<ChannelInit>, Reply<DataChannel>),
    SendText(ChannelId, String, Reply<()>),
    SendBinary(ChannelId, Bytes, Reply<()>),
    CloseChannel(ChannelId, Reply<()>),
    SetThreshold(ChannelId, usize),
    Stats(Reply<StatsReport>),
    RestartIce,
    Close(Reply<()>),
}

/// `RTCConfiguration` for the async API.
#[derive(Clone, Default)]
pub struct RtcConfiguration {
    /// STUN/TURN servers (`stun:`, `turn:`, `turn:…?transport=tcp`, `turns:` URLs; host names
    /// are resolved here, and a `turns:` certificate is checked against the URL's host).
    pub ice_servers: Vec<IceServer>,
    /// `iceTransportPolicy`.
    pub ice_transport_policy: IceTransportPolicy,
    /// `bundlePolicy`.
    pub bundle_policy: BundlePolicy,
    /// The DTLS certificate. Default: one ECDSA P-256 certificate generated once per process
    /// and shared by every connection (like a browser profile's).
    pub certificate: Option<Certificate>,
    /// Local addresses to gather host candidates on. Default: every up interface, or loopback
    /// when there is no other (see [`RtcConfiguration::include_loopback`]).
    pub interfaces: Option<Vec<IpAddr>>,
    /// Also gather on loopback (useful for tests on one machine).
    pub include_loopback: bool,
    /// Serve this connection from a shared socket instead of its own.
    pub mux: Option<UdpMux>,
    /// Act as an ICE-lite agent (servers).
    pub ice_lite: bool,
    /// Extra certificates (PEM: a private CA, or a self-signed server certificate) trusted for
    /// `turns:` servers besides the system's roots. The certificate must match the URL's host.
    pub turn_tls_ca: Option<Vec<u8>>,
    /// How remote candidates' mDNS host names (`<uuid>.local`, which browsers use to hide
    /// their addresses) are resolved. Default: [`MdnsResolution::Multicast`], one-shot mDNS
    /// queries on the local link with a 5 s timeout; [`MdnsResolution::Off`] turns it off (such
    /// candidates are dropped, as are host names that are not `.local` in any case).
    pub mdns: MdnsResolution,
    /// Anything else: ICE timing, SCTP limits, DTLS settings.
    #[allow(clippy::type_complexity)]
    pub configure: Option<Arc<dyn Fn(&mut Configuration) + Send + Sync>>,
}

impl std::fmt::Debug for RtcConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcConfiguration")
            .field("ice_servers", &self.ice_servers)
            .field("ice_transport_policy", &self.ice_transport_policy)
            .field("bundle_policy", &self.bundle_policy)
            .field("interfaces", &self.interfaces)
            .field("include_loopback", &self.include_loopback)
            .field("mux", &self.mux.as_ref().map(UdpMux::local_addr))
            .field("ice_lite", &self.ice_lite)
            .field("turn_tls_ca", &self.turn_tls_ca.as_ref().map(Vec::len))
            .field("mdns", &self.mdns)
            .finish_non_exhaustive()
    }
}

fn default_dtls() -> Result<DtlsContext, Error> {
    static CTX: OnceLock<Result<DtlsContext, String>> = OnceLock::new();
    CTX.get_or_init(|| {
        let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now())
            .map_err(|e| e.to_string())?;
        DtlsContext::new(ferrtc_dtls::Config::new(cert)).map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Dtls)
}

/// Resolves the servers' host names. Returns the servers with IP literals, and for `turns:`
/// servers given by name, the name their certificate is checked against.
async fn resolve_servers(servers: &[IceServer]) -> (Vec<IceServer>, HashMap<SocketAddr, String>) {
    let mut out = Vec::new();
    let mut tls_names = HashMap::new();
    for s in servers {
        let mut urls = Vec::new();
        for u in &s.urls {
            let Ok(parsed) = u.parse::<pc::IceServerUrl>() else {
                urls.push(u.clone()); // rejected with a clear error by Configuration
                continue;
            };
            if parsed.socket_addr().is_some() {
                urls.push(u.clone());
                continue;
            }
            let lookup = tokio::net::lookup_host((parsed.host.clone(), parsed.port)).await;
            match lookup {
                Ok(mut addrs) => {
                    if let Some(a) = addrs.next() {
                        if parsed.scheme == pc::IceScheme::Turns {
                            tls_names.insert(a, parsed.host.clone());
                        }
                        let host = match a.ip() {
                            IpAddr::V4(v4) => v4.to_string(),
                            IpAddr::V6(v6) => format!("[{v6}]"),
                        };
                        urls.push(u.replacen(&parsed.host, &host, 1));
                    }
                }
                Err(e) => debug!(url = u, error = %e, "ICE server name not resolved; skipped"),
            }
        }
        out.push(IceServer {
            urls,
            username: s.username.clone(),
            credential: s.credential.clone(),
        });
    }
    (out, tls_names)
}

/// A message received on a data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Payload.
    pub data: Bytes,
    /// Sent as binary (`ArrayBuffer`) or as a string.
    pub binary: bool,
}

impl Message {
    /// The text of a string message (`None` for binary or invalid UTF-8).
    pub fn text(&self) -> Option<&str> {
        if self.binary {
            None
        } else {
            std::str::from_utf8(&self.data).ok()
        }
    }
}

/// Events of one data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// `open`.
    Open,
    /// `message`.
    Message(Message),
    /// `bufferedamountlow`.
    BufferedAmountLow,
    /// `closing`.
    Closing,
    /// `close`.
    Close,
}

/// Events of the peer connection.
#[derive(Debug)]
pub enum PeerEvent {
    /// `icecandidate` (`None`: end of candidates).
    IceCandidate(Option<IceCandidateInit>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `selectedcandidatepairchange`.
    SelectedCandidatePairChange {
        /// Local address.
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
    /// `datachannel`: the peer opened a channel.
    DataChannel(DataChannel),
}

/// `RTCDataChannelInit`.
pub type DataChannelInit = ChannelInit;

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    signaling: SignalingState,
    gathering: IceGatheringState,
    ice: IceConnectionState,
    state: PeerConnectionState,
}

struct ChannelShared {
    buffered: AtomicUsize,
    threshold: AtomicUsize,
    low: Notify,
    state: watch::Sender<ReadyState>,
    stream_id: AtomicUsize,
}

struct ChannelSink {
    shared: Arc<ChannelShared>,
    tx: queue::Sender<DataChannelEvent>,
}

/// A channel's event queue, shared by the handle's clones, read by one of them at a time.
struct ChannelEvents {
    rx: queue::Receiver<DataChannelEvent>,
    reader: Mutex<()>,
}

/// `RTCDataChannel`. Cheap to clone; all clones share one event queue.
#[derive(Clone)]
pub struct DataChannel {
    id: ChannelId,
    label: Arc<str>,
    protocol: Arc<str>,
    ordered: bool,
    max_retransmits: Option<u16>,
    max_packet_life_time: Option<u16>,
    negotiated: bool,
    tx: mpsc::Sender<Input>,
    shared: Arc<ChannelShared>,
    state_rx: watch::Receiver<ReadyState>,
    events: Arc<ChannelEvents>,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel")
            .field("label", &self.label)
            .field("id", &self.id())
            .field("state", &self.ready_state())
            .finish_non_exhaustive()
    }
}

async fn call<T>(
    tx: &mpsc::Sender<Input>,
    make: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, Error> {
    let (r, rx) = oneshot::channel();
    tx.send(Input::Command(make(r)))
        .await
        .map_err(|_| Error::Closed)?;
    rx.await.map_err(|_| Error::Closed)?
}

impl DataChannel {
    /// `label`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.ordered
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        self.max_retransmits
    }

    /// `maxPacketLifeTime`.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.max_packet_life_time
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// `id`: the SCTP stream id, once the DTLS role is known.
    pub fn id(&self) -> Option<u16> {
        match self.shared.stream_id.load(Ordering::Relaxed) {
            usize::MAX => None,
            n => u16::try_from(n).ok(),
        }
    }

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        *self.state_rx.borrow()
    }

    /// Waits until the channel is open (error if it closes first).
    pub async fn wait_open(&self) -> Result<(), Error> {
        let mut rx = self.state_rx.clone();
        loop {
            match *rx.borrow_and_update() {
                ReadyState::Open => return Ok(()),
                ReadyState::Closing | ReadyState::Closed => return Err(Error::Closed),
                ReadyState::Connecting => {}
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    /// `send(string)`.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        let text = text.into();
        let len = text.len();
        call(&self.tx, |r| Command::SendText(self.id, text, r)).await?;
        self.shared.buffered.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        let data = data.into();
        let len = data.len();
        call(&self.tx, |r| Command::SendBinary(self.id, data, r)).await?;
        self.shared.buffered.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// `bufferedAmount` (as of the driver's last step).
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered.load(Ordering::Relaxed)
    }

    /// `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(&self, threshold: usize) -> Result<(), Error> {
        self.shared.threshold.store(threshold, Ordering::Relaxed);
        self.tx
            .send(Input::Command(Command::SetThreshold(self.id, threshold)))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Waits until `bufferedAmount` is at or below the low threshold (flow control:
    /// `while dc.buffered_amount() > HIGH { dc.buffered_amount_low().await }`).
    pub async fn buffered_amount_low(&self) -> Result<(), Error> {
        loop {
            let notified = self.shared.low.notified();
            if self.buffered_amount() <= self.shared.threshold.load(Ordering::Relaxed) {
                return Ok(());
            }
            if matches!(self.ready_state(), ReadyState::Closed) {
                return Err(Error::Closed);
            }
            notified.await;
        }
    }

    /// The channel's next event (`None` once the connection is gone).
    pub async fn next_event(&self) -> Option<DataChannelEvent> {
        let _reading = self.events.reader.lock().await;
        self.events.rx.recv().await
    }

    /// The next message, skipping other events (`None` when the channel closed).
    pub async fn recv(&self) -> Option<Message> {
        let _reading = self.events.reader.lock().await;
        loop {
            match self.events.rx.recv().await? {
                DataChannelEvent::Message(m) => return Some(m),
                DataChannelEvent::Close => return None,
                _ => {}
            }
        }
    }

    /// `close()`.
    pub async fn close(&self) -> Result<(), Error> {
        call(&self.tx, |r| Command::CloseChannel(self.id, r)).await
    }
}

/// The async `RTCPeerConnection`. Cheap to clone; the connection closes when
/// [`PeerConnection::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct PeerConnection {
    inner: Arc<Handle>,
}

struct Handle {
    tx: mpsc::Sender<Input>,
    /// Dropped with the last handle: the driver then closes the connection.
    _alive: oneshot::Sender<()>,
    events: std::sync::Mutex<Option<queue::Receiver<PeerEvent>>>,
    snapshot: watch::Receiver<Snapshot>,
    local_addrs: Vec<SocketAddr>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("state", &self.connection_state())
            .field("local_addrs", &self.inner.local_addrs)
            .finish_non_exhaustive()
    }
}

/// The stream of [`PeerEvent`]s (a `futures_core::Stream`; also `recv().await`).
#[derive(Debug)]
pub struct Events {
    rx: queue::Receiver<PeerEvent>,
}

impl Events {
    /// The next event (`None` once the connection is gone).
    pub async fn recv(&mut self) -> Option<PeerEvent> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for Events {
    type Item = PeerEvent;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PeerEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// Consecutive datagrams from one socket to one address, all of one size but the last, which
/// the kernel sends in one call and segments (UDP GSO).
#[derive(Debug, Default)]
struct SendBatch {
    buf: Vec<u8>,
    source: Option<SocketAddr>,
    dest: Option<SocketAddr>,
    segment: usize,
    count: usize,
    /// The last datagram was shorter than `segment`: nothing may follow it.
    closed: bool,
}

impl SendBatch {
    /// Whether `t` may join (or start, when empty) this batch.
    fn fits(&self, t: &ferrtc_ice::Transmit, max_segments: usize) -> bool {
        self.count == 0
            || (self.source == Some(t.source)
                && self.dest == Some(t.destination)
                && !self.closed
                && t.contents.len() <= self.segment
                && self.count < max_segments
                // the IPv4 UDP payload limit, with room for the headers
                && self.buf.len() + t.contents.len() <= 65_000)
    }

    fn push(&mut self, t: &ferrtc_ice::Transmit) {
        if self.count == 0 {
            self.source = Some(t.source);
            self.dest = Some(t.destination);
            self.segment = t.contents.len();
        }
        self.closed = t.contents.len() < self.segment;
        self.buf.extend_from_slice(&t.contents);
        self.count += 1;
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.source = None;
        self.dest = None;
        self.count = 0;
        self.closed = false;
    }
}

/// Queue depth between the sockets/handles and a connection's task.
const INPUT_QUEUE: usize = 1024;

/// Connection tasks alive in this process.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Peer connections alive in this process: each one's task, sockets and protocol state exist
/// from [`PeerConnection::new`] until it is closed (or its last handle dropped) and its task
/// has ended. For leak checks and monitoring (a server's count should return to its baseline).
pub fn live_peer_connections() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Counts one connection task for as long as it exists (also when its runtime drops it).
struct LiveGuard;

impl LiveGuard {
    fn new() -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        LiveGuard
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PeerConnection {
    /// `new RTCPeerConnection(configuration)`: binds a UDP socket per local address (or joins
    /// the [`UdpMux`]), gathers host candidates, and starts the connection's task. Needs a tokio
    /// runtime.
    pub async fn new(config: RtcConfiguration) -> Result<PeerConnection, Error> {
        let dtls = match &config.certificate {
            Some(c) => DtlsContext::new(ferrtc_dtls::Config::new(c.clone()))?,
            None => default_dtls()?,
        };
        let mut cfg = Configuration::with_dtls(dtls);
        let (servers, tls_names) = resolve_servers(&config.ice_servers).await;
        // A bad extra CA is a configuration error now, not a silent relay failure later.
        let tls = match &config.turn_tls_ca {
            Some(pem) => Some(net::tls_connector(Some(pem))?),
            None => None,
        };
        cfg.ice_servers = servers;
        cfg.ice_transport_policy = config.ice_transport_policy;
        cfg.bundle_policy = config.bundle_policy;
        cfg.ice_lite = config.ice_lite;
        let addrs = match &config.interfaces {
            Some(a) => a.clone(),
            None => {
                let mut a = net::host_addresses();
                if config.include_loopback && !a.iter().any(IpAddr::is_loopback) {
                    a.push(IpAddr::from([127, 0, 0, 1]));
                }
                a
            }
        };
        cfg.ice.include_loopback = config.include_loopback || addrs.iter().any(IpAddr::is_loopback);
        if let Some(f) = &config.configure {
            f(&mut cfg);
        }
        let now = Instant::now();
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let mut sans = pc::PeerConnection::new(cfg, now, &mut rng)?;
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let mut sockets: HashMap<SocketAddr, Arc<net::Udp>> = HashMap::new();
        let mut readers = Vec::new();
        let mut local_addrs = Vec::new();
        match &config.mux {
            Some(mux) => {
                let local = mux.local_addr();
                sockets.insert(local, mux.inner.socket.clone());
                sans.add_local_interface(now, local)?;
                mux.register(&sans.ice_agent().local_credentials().ufrag, tx.clone());
                local_addrs.push(local);
            }
            None => {
                for ip in addrs {
                    let socket = match net::Udp::bind(SocketAddr::new(ip, 0)).await {
                        Ok(s) => s,
                        Err(e) => {
                            debug!(%ip, error = %e, "no socket on this address");
                            continue;
                        }
                    };
                    let local = socket.local_addr();
                    if let Err(e) = sans.add_local_interface(now, local) {
                        debug!(%local, error = %e, "address not used");
                        continue;
                    }
                    let Ok(index) = u16::try_from(local_addrs.len()) else {
                        debug!(%local, "too many local addresses; not used");
                        continue;
                    };
                    readers.push(net::spawn_reader(socket.clone(), index, tx.clone()));
                    sockets.insert(local, socket);
                    local_addrs.push(local);
                }
                if sockets.is_empty() {
                    return Err(Error::Io("no usable local address".into()));
                }
            }
        }
        sans.end_of_local_interfaces(now);
        let (ev_tx, ev_rx) = queue::queue();
        let snap = Snapshot {
            signaling: sans.signaling_state(),
            gathering: sans.ice_gathering_state(),
            ice: sans.ice_connection_state(),
            state: sans.connection_state(),
        };
        let (snap_tx, snap_rx) = watch::channel(snap);
        let (alive_tx, alive_rx) = oneshot::channel();
        let driver = Driver {
            _live: LiveGuard::new(),
            alive: alive_rx,
            pc: sans,
            rx,
            tx: tx.clone(),
            sockets,
            locals: local_addrs.clone(),
            batch: SendBatch::default(),
            readers,
            mux: config.mux.clone(),
            events: ev_tx,
            snapshot: snap_tx,
            channels: HashMap::new(),
            streams: HashMap::new(),
            tls_names,
            tls_ca: config.turn_tls_ca.clone(),
            tls,
            mdns: config.mdns.clone(),
            resolving: Vec::new(),
        };
        let span = tracing::debug_span!("pc", local = ?local_addrs.first());
        // Boxed: an async fn's future holds its arguments and its locals apart, so a driver
        // moved in by value would be in the task twice (13.6 KiB instead of 6.4 KiB).
        tokio::spawn(Box::new(driver).run().instrument(span));
        Ok(PeerConnection {
            inner: Arc::new(Handle {
                tx,
                _alive: alive_tx,
                events: std::sync::Mutex::new(Some(ev_rx)),
                snapshot: snap_rx,
                local_addrs,
            }),
        })
    }

    /// The event stream. It can be taken once; later calls return `None`.
    pub fn events(&self) -> Option<Events> {
        self.inner
            .events
            .lock()
            .ok()
            .and_then(|mut e| e.take())
            .map(|rx| Events { rx })
    }

    /// Addresses of this connection's sockets.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.local_addrs
    }

    fn tx(&self) -> &mpsc::Sender<Input> {
        &self.inner.tx
    }

    /// `createOffer()`.
    pub async fn create_offer(&self) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), |r| {
            Command::CreateOffer(OfferOptions::default(), r)
        })
        .await
    }

    /// `createOffer({iceRestart})`.
    pub async fn create_offer_with(
        &self,
        options: OfferOptions,
    ) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), |r| Command::CreateOffer(options, r)).await
    }

    /// `createAnswer()`.
    pub async fn create_answer(&self) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), Command::CreateAnswer).await
    }

    /// `setLocalDescription(desc)`.
    pub async fn set_local_description(&self, desc: RtcSessionDescription) -> Result<(), Error> {
        call(self.tx(), |r| Command::SetLocal(desc, r)).await
    }

    /// `setRemoteDescription(desc)`.
    pub async fn set_remote_description(&self, desc: RtcSessionDescription) -> Result<(), Error> {
        call(self.tx(), |r| Command::SetRemote(desc, r)).await
    }

    /// `addIceCandidate(candidate)` (`None`: end of candidates).
    pub async fn add_ice_candidate(
        &self,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), Error> {
        call(self.tx(), |r| Command::AddCandidate(Box::new(candidate), r)).await
    }

    /// `localDescription`, with the candidates gathered so far.
    pub async fn local_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        call(self.tx(), Command::LocalDescription).await
    }

    /// `remoteDescription`.
    pub async fn remote_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        call(self.tx(), Command::RemoteDescription).await
    }

    /// Waits for ICE gathering to complete, then returns `localDescription` with every
    /// candidate: what non-trickle signaling (WHIP) sends.
    pub async fn gathered_local_description(&self) -> Result<RtcSessionDescription, Error> {
        let mut rx = self.inner.snapshot.clone();
        loop {
            if rx.borrow_and_update().gathering == IceGatheringState::Complete {
                break;
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
        self.local_description().await?.ok_or_else(|| {
            Error::PeerConnection(pc::Error::InvalidState("no local description".into()))
        })
    }

    /// `createDataChannel(label, init)` (`init.label` is replaced by `label`).
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel, Error> {
        let init = ChannelInit {
            label: label.to_owned(),
            ..init
        };
        call(self.tx(), |r| Command::CreateChannel(Box::new(init), r)).await
    }

    /// `getStats()`.
    pub async fn get_stats(&self) -> Result<StatsReport, Error> {
        call(self.tx(), Command::Stats).await
    }

    /// `restartIce()`.
    pub async fn restart_ice(&self) -> Result<(), Error> {
        self.tx()
            .send(Input::Command(Command::RestartIce))
            .await
            .map_err(|_| Error::Closed)
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.inner.snapshot.borrow().state
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.inner.snapshot.borrow().ice
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.inner.snapshot.borrow().gathering
    }

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.inner.snapshot.borrow().signaling
    }

    /// Waits until `connectionState` is `connected` (error on `failed` / `closed`).
    pub async fn wait_connected(&self) -> Result<(), Error> {
        let mut rx = self.inner.snapshot.clone();
        loop {
            match rx.borrow_and_update().state {
                PeerConnectionState::Connected => return Ok(()),
                PeerConnectionState::Failed | PeerConnectionState::Closed => {
                    return Err(Error::Closed)
                }
                _ => {}
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    /// Waits until `connectionState` is `failed` or `closed` (or the connection's task has
    /// ended).
    pub async fn wait_ended(&self) {
        let mut rx = self.inner.snapshot.clone();
        loop {
            if matches!(
                rx.borrow_and_update().state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// `close()`: the final datagrams (SCTP ABORT, DTLS close_notify) are sent before this
    /// returns.
    pub async fn close(&self) -> Result<(), Error> {
        match call(self.tx(), Command::Close).await {
            Ok(()) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

struct Driver {
    _live: LiveGuard,
    alive: oneshot::Receiver<()>,
    pc: pc::PeerConnection,
    rx: mpsc::Receiver<Input>,
    tx: mpsc::Sender<Input>,
    sockets: HashMap<SocketAddr, Arc<net::Udp>>,
    /// The sockets' addresses, indexed by [`Input::Datagram`]'s `socket` (the mux's alone).
    locals: Vec<SocketAddr>,
    /// Datagrams of this poll waiting to leave together (one GSO send).
    batch: SendBatch,
    readers: Vec<JoinHandle<()>>,
    mux: Option<UdpMux>,
    events: queue::Sender<PeerEvent>,
    snapshot: watch::Sender<Snapshot>,
    channels: HashMap<ChannelId, ChannelSink>,
    /// Open TCP/TLS connections to TURN servers, by (interface, server): the writer queue and
    /// the task.
    streams: HashMap<(SocketAddr, SocketAddr), (mpsc::UnboundedSender<Bytes>, JoinHandle<()>)>,
    /// Certificate names of `turns:` servers configured by host name.
    tls_names: HashMap<SocketAddr, String>,
    /// Extra trusted certificates for `turns:` (PEM).
    tls_ca: Option<Vec<u8>>,
    /// Built on the first `turns:` connection.
    tls: Option<openssl::ssl::SslConnector>,
    /// How remote host names are resolved, and the resolutions under way.
    mdns: MdnsResolution,
    resolving: Vec<JoinHandle<()>>,
}

impl Driver {
    async fn run(mut self: Box<Self>) {
        let mut close_reply: Option<Reply<()>> = None;
        loop {
            let deadline = self.drain().await;
            if let Some(r) = close_reply.take() {
                let _ = r.send(Ok(()));
                break;
            }
            tokio::select! {
                input = self.rx.recv() => {
                    let Some(input) = input else { break };
                    close_reply = self.input(input);
                    // Take whatever else is queued before producing output: fewer wakeups
                    // under load.
                    for _ in 0..64 {
                        if close_reply.is_some() {
                            break;
                        }
                        match self.rx.try_recv() {
                            Ok(i) => close_reply = self.input(i),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                    self.pc.handle_timeout(Instant::now());
                }
                _ = &mut self.alive => break,
            }
        }
        if close_reply.is_none() {
            self.pc.close();
            self.drain().await;
        }
        for r in &self.readers {
            r.abort();
        }
        for (_, (_, task)) in self.streams.drain() {
            task.abort();
        }
        for task in &self.resolving {
            task.abort();
        }
        if let Some(m) = &self.mux {
            m.unregister(&self.tx);
        }
        for sink in self.channels.values() {
            let _ = sink.shared.state.send(ReadyState::Closed);
            sink.shared.low.notify_waiters();
        }
        debug!("pc: driver ended");
    }

    /// Sends every pending datagram and delivers every event; returns the next timeout.
    async fn drain(&mut self) -> Instant {
        loop {
            match self.pc.poll_output() {
                Output::Transmit(t) => {
                    let max = self.sockets.get(&t.source).map_or(1, |s| s.max_segments());
                    if !self.batch.fits(&t, max) {
                        self.flush().await;
                    }
                    self.batch.push(&t);
                }
                Output::Event(e) => self.event(e),
                Output::Timeout(t) => {
                    self.flush().await;
                    // An idle connection keeps no 64 KiB send buffer (memory per connection).
                    if self.batch.buf.capacity() > 4096 {
                        self.batch.buf = Vec::new();
                    }
                    let mut failed = false;
                    while let Some(st) = self.pc.poll_stream_transmit() {
                        failed |= !self.stream_transmit(st);
                    }
                    if failed {
                        continue; // the failure may have produced output (gathering complete)
                    }
                    self.sync_channels();
                    return t;
                }
            }
        }
    }

    /// Sends the gathered datagrams.
    async fn flush(&mut self) {
        let (Some(source), Some(dest)) = (self.batch.source, self.batch.dest) else {
            return;
        };
        match self.sockets.get(&source).cloned() {
            Some(s) => {
                let segment = (self.batch.count > 1).then_some(self.batch.segment);
                s.send(dest, &self.batch.buf, segment).await;
            }
            None => trace!(%source, "no socket for transmit"),
        }
        self.batch.clear();
    }

    /// Writes to the TCP/TLS connection to a TURN server, opening it first if needed (the
    /// agent's first bytes for a server mean "connect"). A failure to connect comes back as
    /// [`Input::StreamClosed`]; `false` when the connection could not even be attempted (and
    /// the agent was told).
    fn stream_transmit(&mut self, st: ferrtc_ice::StreamTransmit) -> bool {
        let key = (st.local, st.server);
        if let Some((w, _)) = self.streams.get(&key) {
            // If the task has ended, its StreamClosed is on the way: the bytes are moot.
            let _ = w.send(st.contents);
            return true;
        }
        let tls = match &st.transport {
            ferrtc_ice::TurnTransport::Tls { server_name } => {
                if self.tls.is_none() {
                    match net::tls_connector(self.tls_ca.as_deref()) {
                        Ok(c) => self.tls = Some(c),
                        Err(e) => {
                            debug!(error = %e, "no TLS for TURN");
                            self.pc
                                .handle_stream_closed(Instant::now(), st.local, st.server);
                            return false;
                        }
                    }
                }
                let name = self
                    .tls_names
                    .get(&st.server)
                    .cloned()
                    .unwrap_or_else(|| server_name.clone());
                self.tls.clone().map(|c| (c, name))
            }
            _ => None,
        };
        debug!(server = %st.server, tls = tls.is_some(), "TURN: connecting");
        let (w, r) = mpsc::unbounded_channel();
        let _ = w.send(st.contents);
        let target = net::StreamTarget {
            local: st.local,
            server: st.server,
            tls,
        };
        let task = net::spawn_turn_stream(target, r, self.tx.clone());
        self.streams.insert(key, (w, task));
        true
    }

    fn sync_channels(&mut self) {
        for (id, sink) in &self.channels {
            let b = self.pc.buffered_amount(*id);
            sink.shared.buffered.store(b, Ordering::Relaxed);
            if b <= sink.shared.threshold.load(Ordering::Relaxed) {
                sink.shared.low.notify_waiters();
            }
        }
        let snap = Snapshot {
            signaling: self.pc.signaling_state(),
            gathering: self.pc.ice_gathering_state(),
            ice: self.pc.ice_connection_state(),
            state: self.pc.connection_state(),
        };
        self.snapshot.send_if_modified(|s| {
            let changed = s.signaling != snap.signaling
                || s.gathering != snap.gathering
                || s.ice != snap.ice
                || s.state != snap.state;
            *s = snap;
            changed
        });
    }

    fn make_channel(&mut self, id: ChannelId) -> Option<DataChannel> {
        let info = self.pc.channel(id)?;
        let (state, state_rx) = watch::channel(info.ready_state);
        let shared = Arc::new(ChannelShared {
            buffered: AtomicUsize::new(0),
            threshold: AtomicUsize::new(0),
            low: Notify::new(),
            state,
            stream_id: AtomicUsize::new(info.id.map_or(usize::MAX, usize::from)),
        });
        let (tx, rx) = queue::queue();
        self.channels.insert(
            id,
            ChannelSink {
                shared: shared.clone(),
                tx,
            },
        );
        Some(DataChannel {
            id,
            label: info.label.into(),
            protocol: info.protocol.into(),
            ordered: info.ordered,
            max_retransmits: info.max_retransmits,
            max_packet_life_time: info.max_packet_life_time,
            negotiated: info.negotiated,
            tx: self.tx.clone(),
            shared,
            state_rx,
            events: Arc::new(ChannelEvents {
                rx,
                reader: Mutex::new(()),
            }),
        })
    }

    fn channel_event(&mut self, id: ChannelId, ev: DataChannelEvent) {
        let state = self.pc.channel(id).map(|i| (i.ready_state, i.id));
        let Some(sink) = self.channels.get(&id) else {
            return;
        };
        if let Some((s, stream)) = state {
            let _ = sink.shared.state.send_replace(s);
            sink.shared
                .stream_id
                .store(stream.map_or(usize::MAX, usize::from), Ordering::Relaxed);
        }
        let closed = ev == DataChannelEvent::Close;
        if closed {
            let _ = sink.shared.state.send_replace(ReadyState::Closed);
            sink.shared.low.notify_waiters();
        }
        sink.tx.send(ev);
        if closed {
            self.channels.remove(&id);
        }
    }

    fn event(&mut self, e: Event) {
        let out = match e {
            Event::IceCandidate(c) => PeerEvent::IceCandidate(c),
            Event::IceGatheringStateChange(s) => PeerEvent::IceGatheringStateChange(s),
            Event::IceConnectionStateChange(s) => PeerEvent::IceConnectionStateChange(s),
            Event::ConnectionStateChange(s) => PeerEvent::ConnectionStateChange(s),
            Event::SignalingStateChange(s) => PeerEvent::SignalingStateChange(s),
            Event::NegotiationNeeded => PeerEvent::NegotiationNeeded,
            Event::SelectedCandidatePairChange { local, remote } => {
                PeerEvent::SelectedCandidatePairChange { local, remote }
            }
            Event::DataChannel(id) => match self.make_channel(id) {
                Some(dc) => PeerEvent::DataChannel(dc),
                None => return,
            },
            Event::ChannelOpen(id) => return self.channel_event(id, DataChannelEvent::Open),
            Event::ChannelMessage {
                channel,
                data,
                binary,
            } => {
                return self
                    .channel_event(channel, DataChannelEvent::Message(Message { data, binary }))
            }
            Event::ChannelBufferedAmountLow(id) => {
                if let Some(s) = self.channels.get(&id) {
                    s.shared
                        .buffered
                        .store(self.pc.buffered_amount(id), Ordering::Relaxed);
                    s.shared.low.notify_waiters();
                }
                return self.channel_event(id, DataChannelEvent::BufferedAmountLow);
            }
            Event::ChannelClosing(id) => return self.channel_event(id, DataChannelEvent::Closing),
            Event::ChannelClosed(id) => return self.channel_event(id, DataChannelEvent::Close),
            Event::ResolveName(name) => {
                if !crate::mdns::is_mdns_name(&name) || matches!(self.mdns, MdnsResolution::Off) {
                    // Dropped at once (peer-reflexive discovery may still find the peer).
                    self.pc.resolve_name(Instant::now(), &name, None);
                    return;
                }
                // Resolved off this task; the answer comes back as an input. The agent bounds
                // the names pending at once (`max_pending_names`).
                let lookup = self.mdns.resolve(&name);
                let tx = self.tx.clone();
                self.resolving.retain(|t| !t.is_finished());
                self.resolving.push(tokio::spawn(async move {
                    let ip = lookup.await;
                    let _ = tx.send(Input::Resolved { name, ip }).await;
                }));
                return;
            }
            Event::MdnsName { .. } => return,
            // Media events reach the facade with its media API (issue 13, `driver/media.rs`).
            Event::Track(_)
            | Event::TrackEnded(_)
            | Event::Frame(_)
            | Event::Rtp { .. }
            | Event::KeyframeRequest { .. } => return,
        };
        self.events.send(out);
    }

    /// Handles one input; returns the reply to send once a close has been flushed.
    fn input(&mut self, input: Input) -> Option<Reply<()>> {
        let now = Instant::now();
        match input {
            Input::Datagram {
                socket,
                source,
                contents,
            } => {
                // Always known: the readers are given indexes into `locals`.
                let destination = self.locals.get(usize::from(socket)).copied();
                let d = destination.map(|destination| Datagram {
                    source,
                    destination,
                    contents,
                });
                if let Some(Err(e)) = d.map(|d| self.pc.handle_receive(now, d)) {
                    trace!(error = %e, "datagram dropped");
                }
            }
            Input::Command(c) => return self.command(now, c),
            Input::StreamData { stream, data } => {
                let (local, server) = *stream;
                if let Err(e) = self.pc.handle_stream_data(now, local, server, &data) {
                    trace!(error = %e, "TURN stream data dropped");
                }
            }
            Input::StreamClosed { local, server } => {
                self.streams.remove(&(local, server));
                self.pc.handle_stream_closed(now, local, server);
            }
            Input::Resolved { name, ip } => {
                debug!(name, ?ip, "remote host name resolved");
                self.pc.resolve_name(now, &name, ip);
            }
        }
        None
    }

    fn command(&mut self, now: Instant, c: Command) -> Option<Reply<()>> {
        let pc = &mut self.pc;
        match c {
            Command::CreateOffer(o, r) => {
                let _ = r.send(pc.create_offer(o).map_err(Error::from));
            }
            Command::CreateAnswer(r) => {
                let _ = r.send(pc.create_answer().map_err(Error::from));
            }
            Command::SetLocal(d, r) => {
                let _ = r.send(pc.set_local_description(now, d).map_err(Error::from));
            }
            Command::SetRemote(d, r) => {
                let _ = r.send(pc.set_remote_description(now, d).map_err(Error::from));
            }
            Command::AddCandidate(c, r) => {
                let _ = r.send(pc.add_ice_candidate(now, *c).map_err(Error::from));
            }
            Command::LocalDescription(r) => {
                let _ = r.send(Ok(pc.local_description()));
            }
            Command::RemoteDescription(r) => {
                let _ = r.send(Ok(pc.remote_description()));
            }
            Command::CreateChannel(init, r) => {
                let res = match pc.create_data_channel(*init) {
                    Ok(id) => self.make_channel(id).ok_or(Error::Closed),
                    Err(e) => Err(e.into()),
                };
                let _ = r.send(res);
            }
            Command::SendText(id, text, r) => {
                let _ = r.send(pc.send_text(id, &text).map_err(Error::from));
            }
            Command::SendBinary(id, data, r) => {
                let _ = r.send(pc.send_binary(id, data).map_err(Error::from));
            }
            Command::CloseChannel(id, r) => {
                let _ = r.send(pc.close_channel(id).map_err(Error::from));
            }
            Command::SetThreshold(id, n) => pc.set_buffered_amount_low_threshold(id, n),
            Command::Stats(r) => {
                let ts = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64()
                    * 1000.0;
                let _ = r.send(Ok(pc.get_stats(ts)));
            }
            Command::RestartIce => pc.restart_ice(),
            Command::Close(r) => {
                pc.close();
                return Some(r);
            }
        }
        None
    }
}
