//! Against a real TURN server (coturn), started by `cargo xtask coturn`, which sets
//! FERRTC_TURN_SERVER (host:port, UDP and TCP), FERRTC_TURN_USER, FERRTC_TURN_PASS and
//! FERRTC_TURN_STALE_NONCE (coturn's --stale-nonce seconds). Ignored in a plain `cargo test`.
//!
//! Drives the sans-IO client with std sockets: allocate, permission, a datagram to a UDP peer
//! and back through a Send/Data indication and through ChannelData, refresh, stale-nonce
//! recovery, deallocate; over UDP and over TCP. A wrong password gives a clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_turn_client::{Config, Event, Transport, TurnClient};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

struct Env {
    server: SocketAddr,
    user: String,
    pass: String,
    stale: u64,
}

fn env() -> Env {
    let server = std::env::var("FERRTC_TURN_SERVER")
        .expect("FERRTC_TURN_SERVER not set: run `cargo xtask coturn`")
        .parse()
        .unwrap();
    Env {
        server,
        user: std::env::var("FERRTC_TURN_USER").unwrap_or_else(|_| "test".into()),
        pass: std::env::var("FERRTC_TURN_PASS").unwrap_or_else(|_| "test".into()),
        stale: std::env::var("FERRTC_TURN_STALE_NONCE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Transaction ids must be unpredictable on a real network; a test seeds from the clock.
fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    t.as_nanos() as u64 ^ u64::from(std::process::id())
}

struct Driver {
    client: TurnClient<StdRng>,
    conn: Conn,
    server: SocketAddr,
}

impl Driver {
    fn new(e: &Env, transport: Transport, pass: &str) -> Self {
        let cfg = Config::new(e.server, transport, &e.user, pass);
        let conn = match transport {
            Transport::Udp => {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                Conn::Udp(s)
            }
            Transport::Stream => Conn::Tcp(TcpStream::connect(e.server).unwrap()),
        };
        Driver {
            client: TurnClient::new(cfg, StdRng::seed_from_u64(seed())),
            conn,
            server: e.server,
        }
    }

    /// Send everything the client has queued.
    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            match &mut self.conn {
                Conn::Udp(s) => {
                    s.send_to(&t.data, t.destination).unwrap();
                }
                Conn::Tcp(s) => s.write_all(&t.data).unwrap(),
            }
        }
    }

    /// Pump I/O until `want` accepts an event; panics after `limit`.
    fn until(&mut self, limit: Duration, mut want: impl FnMut(&Event) -> bool) -> Event {
        let start = Instant::now();
        let mut buf = vec![0u8; 65536];
        loop {
            self.flush();
            while let Some(ev) = self.client.poll_event() {
                println!("  event: {ev:?}");
                if want(&ev) {
                    return ev;
                }
            }
            let now = Instant::now();
            assert!(now - start < limit, "timed out waiting for an event");
            let wait = self
                .client
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_millis(50))
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            match &mut self.conn {
                Conn::Udp(s) => {
                    s.set_read_timeout(Some(wait)).unwrap();
                    if let Ok((n, from)) = s.recv_from(&mut buf) {
                        if let Err(e) = self.client.handle_receive(
                            Instant::now(),
                            from,
                            Bytes::copy_from_slice(&buf[..n]),
                        ) {
                            println!("  dropped datagram: {e}");
                        }
                    }
                }
                Conn::Tcp(s) => {
                    s.set_read_timeout(Some(wait)).unwrap();
                    match s.read(&mut buf) {
                        Ok(0) => panic!("server closed the TCP connection"),
                        Ok(n) => self
                            .client
                            .handle_stream_data(Instant::now(), &buf[..n])
                            .unwrap(),
                        Err(_) => {}
                    }
                }
            }
            self.client.handle_timeout(Instant::now());
            let _ = self.server;
        }
    }
}

fn peer_recv(peer: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (n, from) = peer
        .recv_from(&mut buf)
        .expect("peer got nothing from the relay");
    (buf[..n].to_vec(), from)
}

fn scenario(transport: Transport) {
    let e = env();
    println!("== {transport:?} against {}", e.server);
    let mut d = Driver::new(&e, transport, &e.pass);
    let limit = Duration::from_secs(10);
    d.client.allocate(Instant::now()).unwrap();
    let relayed = match d.until(limit, |ev| {
        matches!(
            ev,
            Event::AllocationReady { .. } | Event::AllocationFailed { .. }
        )
    }) {
        Event::AllocationReady {
            relayed, mapped, ..
        } => {
            println!("  relayed {relayed:?} mapped {mapped:?}");
            assert!(mapped.is_some());
            relayed[0]
        }
        other => panic!("allocation failed: {other:?}"),
    };

    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    d.client
        .create_permission(Instant::now(), peer_addr.ip())
        .unwrap();
    d.until(limit, |ev| matches!(ev, Event::PermissionCreated { .. }));

    // Send indication -> peer, peer -> Data indication.
    d.client
        .send(Instant::now(), peer_addr, b"via send indication")
        .unwrap();
    d.flush();
    let (got, from) = peer_recv(&peer);
    assert_eq!(got, b"via send indication");
    assert_eq!(from.port(), relayed.port());
    peer.send_to(b"back via data indication", from).unwrap();
    match d.until(limit, |ev| matches!(ev, Event::Data { .. })) {
        Event::Data {
            peer: p,
            data,
            channel,
        } => {
            assert_eq!(p, peer_addr);
            assert_eq!(&data[..], b"back via data indication");
            assert_eq!(channel, None);
        }
        _ => unreachable!(),
    }

    // ChannelBind, then ChannelData both ways (padded on TCP).
    let ch = d.client.bind_channel(Instant::now(), peer_addr).unwrap();
    d.until(limit, |ev| matches!(ev, Event::ChannelBound { .. }));
    d.client
        .send(Instant::now(), peer_addr, b"via channel")
        .unwrap();
    d.flush();
    let (got, from) = peer_recv(&peer);
    assert_eq!(got, b"via channel");
    peer.send_to(b"back via channel data!", from).unwrap();
    match d.until(limit, |ev| matches!(ev, Event::Data { .. })) {
        Event::Data { data, channel, .. } => {
            assert_eq!(&data[..], b"back via channel data!");
            assert_eq!(channel, Some(ch));
        }
        _ => unreachable!(),
    }

    // Refresh.
    d.client.refresh(Instant::now()).unwrap();
    d.until(limit, |ev| matches!(ev, Event::AllocationRefreshed { .. }));

    // Stale nonce: wait past coturn's nonce lifetime, then refresh again.
    if e.stale > 0 {
        let before = d.client.stale_nonce_retries();
        std::thread::sleep(Duration::from_secs(e.stale + 1));
        d.client.refresh(Instant::now()).unwrap();
        d.until(limit, |ev| matches!(ev, Event::AllocationRefreshed { .. }));
        assert!(
            d.client.stale_nonce_retries() > before,
            "expected a 438 Stale Nonce and a retry"
        );
        // And data still flows on the channel after the new nonce.
        d.client
            .send(Instant::now(), peer_addr, b"after stale")
            .unwrap();
        d.flush();
        assert_eq!(peer_recv(&peer).0, b"after stale");
        println!("  stale-nonce recovery ok");
    }

    d.client.deallocate(Instant::now()).unwrap();
    d.until(limit, |ev| matches!(ev, Event::Deallocated));
    println!("== {transport:?}: all steps passed");
}

#[test]
#[ignore = "needs a TURN server: cargo xtask coturn"]
fn coturn_udp() {
    scenario(Transport::Udp);
}

#[test]
#[ignore = "needs a TURN server: cargo xtask coturn"]
fn coturn_tcp() {
    scenario(Transport::Stream);
}

#[test]
#[ignore = "needs a TURN server: cargo xtask coturn"]
fn coturn_wrong_password() {
    let e = env();
    for transport in [Transport::Udp, Transport::Stream] {
        let mut d = Driver::new(&e, transport, "definitely-wrong");
        d.client.allocate(Instant::now()).unwrap();
        match d.until(Duration::from_secs(10), |ev| {
            matches!(
                ev,
                Event::AllocationFailed { .. } | Event::AllocationReady { .. }
            )
        }) {
            Event::AllocationFailed { code, reason } => {
                println!("  {transport:?}: {code:?} {reason}");
                assert_eq!(code, Some(401));
                assert!(reason.contains("rejected the username or password"));
            }
            other => panic!("wrong password allocated: {other:?}"),
        }
    }
}
