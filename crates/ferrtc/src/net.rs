//! Sockets: host interfaces, one UDP socket per interface and connection, and [`UdpMux`] for
//! many connections on one socket.

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, trace};

use crate::driver::Input;
use crate::Error;

/// Largest datagram read (a UDP payload cannot be larger; also the largest GRO run).
const MAX_DATAGRAM: usize = 65_535;

/// A UDP socket with batched I/O, through quinn-udp's safe `sendmsg`/`recvmmsg` wrappers:
/// consecutive datagrams to one address with one size leave in one call (UDP GSO), and the
/// kernel hands over runs of datagrams from one sender in one read (UDP GRO). On loopback the
/// kernel's per-datagram cost is most of the time of a data channel transfer
/// (docs/performance.md); where the kernel lacks GSO or GRO, quinn-udp sends and reads one
/// datagram per call.
#[derive(Debug)]
pub(crate) struct Udp {
    socket: UdpSocket,
    state: quinn_udp::UdpSocketState,
    local: SocketAddr,
}

impl Udp {
    pub(crate) async fn bind(addr: SocketAddr) -> io::Result<Arc<Udp>> {
        let socket = UdpSocket::bind(addr).await?;
        let state = quinn_udp::UdpSocketState::new((&socket).into())?;
        let local = socket.local_addr()?;
        Ok(Arc::new(Udp {
            socket,
            state,
            local,
        }))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Most datagrams one [`send`](Self::send) may carry.
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// Sends `contents` to `dest`: one datagram, or with `segment`, datagrams of that size back
    /// to back (the last may be shorter). Errors other than a full buffer are logged and the
    /// datagrams dropped, as a network would.
    pub(crate) async fn send(&self, dest: SocketAddr, contents: &[u8], segment: Option<usize>) {
        let t = quinn_udp::Transmit {
            destination: dest,
            ecn: None,
            contents,
            segment_size: segment,
            src_ip: None,
        };
        loop {
            let r = self.socket.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.socket).into(), &t)
            });
            match r {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    trace!(error = %e, %dest, "send");
                    return;
                }
            }
        }
    }

    /// Waits for datagrams and returns the next run of them: one datagram, or with UDP GRO
    /// several from one sender, sliced out of the thread's receive buffer without copying
    /// ([`RECV_CHUNK`]). Nothing is held while waiting: an idle connection's reader owns no
    /// buffer (issue 17: this was 256 KiB per reader).
    pub(crate) async fn recv(&self) -> io::Result<Received> {
        loop {
            self.socket.readable().await?;
            let r = RECV_BUF.with(|cell| -> io::Result<Received> {
                let mut own = None;
                let mut guard = cell.try_borrow_mut().ok();
                // Never borrowed twice (the read below does not yield), but if it were, read
                // into a buffer of its own rather than fail.
                let buf = match guard.as_deref_mut() {
                    Some(b) => b,
                    None => own.insert(BytesMut::new()),
                };
                if buf.len() < MAX_DATAGRAM {
                    *buf = BytesMut::zeroed(RECV_CHUNK);
                }
                let mut meta = [quinn_udp::RecvMeta::default()];
                let n = self.socket.try_io(Interest::READABLE, || {
                    let mut bufs = [IoSliceMut::new(
                        buf.get_mut(..MAX_DATAGRAM).unwrap_or_default(),
                    )];
                    self.state.recv((&self.socket).into(), &mut bufs, &mut meta)
                })?;
                let m = meta
                    .first()
                    .filter(|_| n > 0)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "no datagram read"))?;
                let run = buf.split_to(m.len.min(buf.len())).freeze();
                let stride = if m.stride == 0 { run.len() } else { m.stride };
                Ok(Received {
                    source: m.addr,
                    run,
                    stride,
                })
            });
            match r {
                Ok(got) => return Ok(got),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// How much each thread's receive buffer is renewed with when what is left of it cannot hold
/// the largest datagram: room for a few reads before the next renewal. Received datagrams are
/// slices of it, so it is freed when the last one kept is dropped.
const RECV_CHUNK: usize = 4 * MAX_DATAGRAM;

thread_local! {
    /// The receive buffer of every socket read on this thread. The read into it is synchronous
    /// (between two awaits), so one per thread serves every socket of every connection that
    /// runs there, instead of one per socket reader.
    static RECV_BUF: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// A run of datagrams from one sender read at once (one datagram without UDP GRO).
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) source: SocketAddr,
    run: Bytes,
    /// Size of each datagram of the run but the last, which may be shorter.
    stride: usize,
}

impl Received {
    /// The datagrams, each a slice of the run.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = Bytes> + '_ {
        let (len, stride) = (self.run.len(), self.stride.max(1));
        (0..len)
            .step_by(stride)
            .map(move |at| self.run.slice(at..(at + stride).min(len)))
    }
}

/// The machine's usable addresses: every up, non-loopback interface address (IPv6 link-local
/// ones skipped, as browsers do), or the loopback addresses when there is nothing else (a
/// loopback-only network namespace).
pub(crate) fn host_addresses() -> Vec<IpAddr> {
    let all = if_addrs::get_if_addrs().unwrap_or_default();
    let usable = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80,
    };
    let mut out: Vec<IpAddr> = all
        .iter()
        .map(|i| i.ip())
        .filter(|ip| !ip.is_loopback() && usable(ip))
        .collect();
    if out.is_empty() {
        out = all
            .iter()
            .map(|i| i.ip())
            .filter(|ip| ip.is_loopback())
            .collect();
    }
    if out.is_empty() {
        out.push(IpAddr::from([127, 0, 0, 1]));
    }
    out.sort();
    out.dedup();
    out
}

/// Reads datagrams from a socket into the driver's input queue until the driver is gone.
pub(crate) fn spawn_reader(
    socket: Arc<Udp>,
    index: u16,
    tx: mpsc::Sender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let got = match socket.recv().await {
                Ok(got) => got,
                Err(e) => {
                    // ICMP port unreachable and the like surface as errors on Linux: ignore.
                    trace!(error = %e, "socket receive");
                    continue;
                }
            };
            for contents in got.datagrams() {
                let d = Input::Datagram {
                    socket: index,
                    source: got.source,
                    contents,
                };
                if tx.send(d).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// Many peer connections on one UDP socket, the way an SFU or a WHIP ingest server runs: each
/// datagram is routed by the ICE username of its STUN checks (`USERNAME` = our ufrag + ":" + the
/// peer's), then by the source address the checks came from. Use it with ICE-lite
/// ([`crate::RtcConfiguration::ice_lite`]) on a server with a reachable address.
#[derive(Clone, Debug)]
pub struct UdpMux {
    pub(crate) inner: Arc<MuxInner>,
}

#[derive(Debug)]
pub(crate) struct MuxInner {
    pub(crate) socket: Arc<Udp>,
    pub(crate) local: SocketAddr,
    routes: Mutex<Routes>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct Routes {
    by_ufrag: HashMap<String, mpsc::Sender<Input>>,
    by_addr: HashMap<SocketAddr, mpsc::Sender<Input>>,
}

impl Drop for MuxInner {
    fn drop(&mut self) {
        if let Ok(mut r) = self.reader.lock() {
            if let Some(h) = r.take() {
                h.abort();
            }
        }
    }
}

/// `f` of the local ufrag of a STUN message, the part of its USERNAME before ':' (RFC 8445
/// §7.2.2: "RFRAG:LFRAG" from the sender's view, so ours comes first), read by ferrtc-stun's
/// parser (unauthenticated: it only picks the connection, whose ICE agent then verifies
/// MESSAGE-INTEGRITY). `None` for anything that is not a well-formed STUN message with one.
fn with_local_ufrag<T>(d: &Bytes, f: impl FnOnce(&str) -> Option<T>) -> Option<T> {
    // RFC 7983 §7: STUN starts with 0..=3; skip the parse for RTP, DTLS and the rest.
    if d.first().is_none_or(|b| *b > 3) {
        return None;
    }
    let m = ferrtc_stun::Message::parse(d.clone()).ok()?;
    let username = m.username().ok()??;
    f(username.split(':').next()?)
}

impl UdpMux {
    /// Binds the shared socket. `addr` must be a specific address (it becomes the host
    /// candidate of every connection on the mux).
    pub async fn bind(addr: SocketAddr) -> Result<UdpMux, Error> {
        if addr.ip().is_unspecified() {
            return Err(Error::Io(
                "UdpMux needs a specific address, not 0.0.0.0 / ::".into(),
            ));
        }
        let socket = Udp::bind(addr).await?;
        let local = socket.local_addr();
        let inner = Arc::new(MuxInner {
            socket: socket.clone(),
            local,
            routes: Mutex::new(Routes::default()),
            reader: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let handle = tokio::spawn(async move {
            loop {
                let Ok(got) = socket.recv().await else {
                    continue;
                };
                let Some(inner) = weak.upgrade() else { return };
                let from = got.source;
                for data in got.datagrams() {
                    let tx = {
                        let Ok(mut routes) = inner.routes.lock() else {
                            return;
                        };
                        let by_user = with_local_ufrag(&data, |u| routes.by_ufrag.get(u).cloned());
                        match by_user {
                            Some(tx) => {
                                routes.by_addr.insert(from, tx.clone());
                                Some(tx)
                            }
                            None => routes.by_addr.get(&from).cloned(),
                        }
                    };
                    let Some(tx) = tx else {
                        debug!(%from, "mux: datagram for no connection dropped");
                        continue;
                    };
                    // The mux's socket is the connection's only one (index 0).
                    let d = Input::Datagram {
                        socket: 0,
                        source: from,
                        contents: data,
                    };
                    // Never block the shared reader on one slow connection.
                    if tx.try_send(d).is_err() {
                        trace!(%from, "mux: connection queue full, datagram dropped");
                    }
                }
            }
        });
        if let Ok(mut r) = inner.reader.lock() {
            *r = Some(handle);
        }
        Ok(UdpMux { inner })
    }

    /// The shared socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    pub(crate) fn register(&self, ufrag: &str, tx: mpsc::Sender<Input>) {
        if let Ok(mut r) = self.inner.routes.lock() {
            r.by_ufrag.insert(ufrag.to_owned(), tx);
        }
    }

    pub(crate) fn unregister(&self, tx: &mpsc::Sender<Input>) {
        if let Ok(mut r) = self.inner.routes.lock() {
            r.by_ufrag.retain(|_, t| !t.same_channel(tx));
            r.by_addr.retain(|_, t| !t.same_channel(tx));
        }
    }

    /// Connections currently registered.
    pub fn connections(&self) -> usize {
        self.inner
            .routes
            .lock()
            .map(|r| r.by_ufrag.len())
            .unwrap_or(0)
    }
}

/// Largest read from a TURN server's TCP/TLS stream at once.
const STREAM_READ: usize = 16 * 1024;

/// Certificate verification for `turns:` servers: the system's roots, plus extra trusted
/// certificates (PEM) from [`crate::RtcConfiguration::turn_tls_ca`].
pub(crate) fn tls_connector(
    extra_ca_pem: Option<&[u8]>,
) -> Result<openssl::ssl::SslConnector, Error> {
    let tls = |e: openssl::error::ErrorStack| Error::Io(format!("TLS setup: {e}"));
    // `SslConnector::builder` loads the system's default CA paths and verifies the peer.
    let mut b =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).map_err(tls)?;
    if let Some(pem) = extra_ca_pem {
        let certs = openssl::x509::X509::stack_from_pem(pem).map_err(tls)?;
        if certs.is_empty() {
            return Err(Error::Io(
                "turn_tls_ca: no PEM certificate found".to_string(),
            ));
        }
        for cert in certs {
            b.cert_store_mut().add_cert(cert).map_err(tls)?;
        }
    }
    Ok(b.build())
}

/// Where a TURN stream goes, and how.
pub(crate) struct StreamTarget {
    /// The interface address (its IP is the source of the connection).
    pub(crate) local: SocketAddr,
    pub(crate) server: SocketAddr,
    /// `Some(name)`: TLS, the certificate checked against `name` (a DNS name or an IP).
    pub(crate) tls: Option<(openssl::ssl::SslConnector, String)>,
}

/// The TCP or TLS connection to a TURN server (RFC 8656 §3.1): connects from the interface's
/// IP, writes what arrives on `writes`, feeds what it reads to the driver as
/// [`Input::StreamData`], and reports [`Input::StreamClosed`] when it cannot connect or the
/// connection ends. The task ends when the driver drops `writes`.
pub(crate) fn spawn_turn_stream(
    target: StreamTarget,
    mut writes: mpsc::UnboundedReceiver<Bytes>,
    tx: mpsc::Sender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (local, server) = (target.local, target.server);
        let r = turn_stream(target, &mut writes, &tx).await;
        match r {
            Ok(()) => debug!(%server, "TURN stream closed"),
            Err(e) => debug!(%server, error = %e, "TURN stream failed"),
        }
        let _ = tx.send(Input::StreamClosed { local, server }).await;
    })
}

async fn turn_stream(
    target: StreamTarget,
    writes: &mut mpsc::UnboundedReceiver<Bytes>,
    tx: &mpsc::Sender<Input>,
) -> Result<(), String> {
    let (local, server) = (target.local, target.server);
    let socket = if server.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    if local.is_ipv4() == server.is_ipv4() && !local.ip().is_unspecified() {
        socket
            .bind(SocketAddr::new(local.ip(), 0))
            .map_err(|e| format!("bind {}: {e}", local.ip()))?;
    }
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(server))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match target.tls {
        None => pump_stream(tcp, local, server, writes, tx).await,
        Some((connector, name)) => {
            let ssl = connector
                .configure()
                .and_then(|c| c.into_ssl(&name))
                .map_err(|e| format!("TLS setup: {e}"))?;
            let mut s = tokio_openssl::SslStream::new(ssl, tcp).map_err(|e| e.to_string())?;
            tokio::time::timeout(CONNECT_TIMEOUT, std::pin::Pin::new(&mut s).connect())
                .await
                .map_err(|_| "TLS handshake timed out".to_string())?
                .map_err(|e| format!("TLS handshake with {name}: {e}"))?;
            pump_stream(s, local, server, writes, tx).await
        }
    }
}

/// How long connecting (and the TLS handshake) to a TURN server may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn pump_stream<S>(
    stream: S,
    local: SocketAddr,
    server: SocketAddr,
    writes: &mut mpsc::UnboundedReceiver<Bytes>,
    tx: &mpsc::Sender<Input>,
) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; STREAM_READ];
    loop {
        tokio::select! {
            w = writes.recv() => {
                let Some(data) = w else { return Ok(()) };
                wr.write_all(&data).await.map_err(|e| format!("write: {e}"))?;
                // Take what else is queued before flushing (one TLS record, fewer syscalls).
                while let Ok(more) = writes.try_recv() {
                    wr.write_all(&more).await.map_err(|e| format!("write: {e}"))?;
                }
                wr.flush().await.map_err(|e| format!("flush: {e}"))?;
            }
            r = rd.read(&mut buf) => {
                let n = r.map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Ok(());
                }
                let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                let stream = Box::new((local, server));
                if tx.send(Input::StreamData { stream, data }).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ufrag_from_binding_request() {
        let mut m = vec![0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42];
        m.extend([0u8; 12]);
        m.extend([0x00, 0x06, 0x00, 0x09]);
        m.extend(b"abcd:wxyz\0\0\0");
        let ufrag = |d: &[u8]| with_local_ufrag(&Bytes::copy_from_slice(d), |u| Some(u.to_owned()));
        assert_eq!(ufrag(&m).as_deref(), Some("abcd"));
        assert_eq!(ufrag(&m[..30]), None);
        assert_eq!(ufrag(&[0x80; 40]), None);
        assert_eq!(ufrag(&m[..20]), None);
    }
}
