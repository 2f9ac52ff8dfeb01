//! [`PeerConnection::new`]: from the configuration to a running connection (the sans-IO
//! connection, its sockets or its place on a [`crate::UdpMux`], the socket readers, the task),
//! and the count of connections alive.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ferrtc_dtls::DtlsContext;
use ferrtc_peerconnection::{self as pc, Configuration};
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, Instrument};

use super::config::{default_dtls, resolve_servers, RtcConfiguration};
use super::handle::{Handle, PeerConnection, Snapshot};
use super::input::INPUT_QUEUE;
use super::task::Driver;
use super::transmit::SendBatch;
use crate::net;
use crate::queue;
use crate::Error;

/// Connection tasks alive in this process.
pub(super) static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Peer connections alive in this process: each one's task, sockets and protocol state exist
/// from [`PeerConnection::new`] until it is closed (or its last handle dropped) and its task
/// has ended. For leak checks and monitoring (a server's count should return to its baseline).
pub fn live_peer_connections() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Counts one connection task for as long as it exists (also when its runtime drops it).
pub(super) struct LiveGuard;

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
    /// the [`UdpMux`](crate::UdpMux)), gathers host candidates, and starts the connection's task. Needs a tokio
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
            media: Default::default(),
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
}
