#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Relayed candidates over a TCP/TLS stream to the TURN server (RFC 8656 §3.1): an agent with
//! a stream TURN server, a fake TURN server that reads the stream (answering in awkwardly
//! split chunks, so framing is exercised) and relays UDP to a second agent, on a virtual clock.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::{
    Agent, AgentConfig, CandidateType, ConnectionState, Datagram, Event, PairState, Role, Transmit,
    TurnServer, TurnTransport,
};
use ferrtc_stun::{
    attr, Attribute, Class, ErrorCode, IntegrityKey, Message, MessageBuilder, MessageType, Method,
    PasswordAlgorithm, Text, TransactionId,
};

const A: &str = "10.0.0.1:5000";
const B: &str = "203.0.113.5:7000";
const SERVER: &str = "192.0.2.1:443";
const RELAY: &str = "192.0.2.1:49152";
/// A's address as the server sees the TCP connection.
const A_MAPPED: &str = "198.51.100.7:40001";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A TURN server reached over a byte stream, relaying UDP from `RELAY`.
struct FakeTurn {
    key: IntegrityKey,
    permissions: HashSet<IpAddr>,
    /// Bytes for the client's stream, not yet delivered.
    to_client: Vec<u8>,
    /// Datagrams from the relayed address to peers.
    to_peers: Vec<(SocketAddr, Bytes)>,
    requests: Vec<Method>,
}

impl FakeTurn {
    fn new() -> Self {
        FakeTurn {
            key: IntegrityKey::long_term("u", "example.org", "p", PasswordAlgorithm::MD5).unwrap(),
            permissions: HashSet::new(),
            to_client: Vec::new(),
            to_peers: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn reply(&mut self, req: &Message, f: impl FnOnce(&mut MessageBuilder)) {
        let mut b = MessageBuilder::new(
            MessageType::new(req.method(), Class::SuccessResponse),
            req.transaction_id(),
        );
        f(&mut b);
        b.add_message_integrity(&self.key).unwrap();
        b.add_fingerprint().unwrap();
        self.to_client.extend_from_slice(&b.build());
    }

    /// One write of the client (the client writes whole messages; RFC 8656 §11.5 padding).
    fn on_client_write(&mut self, data: &Bytes) {
        assert!(data[0] < 0x40, "the agent binds no channels");
        let req = Message::parse(data.clone()).unwrap();
        if req.class() == Class::Indication {
            assert_eq!(req.method(), Method::SEND);
            let a = req.attributes_unverified();
            let peer = a.xor_peer_address().unwrap().unwrap();
            assert!(
                self.permissions.contains(&peer.ip()),
                "send without permission"
            );
            self.to_peers.push((peer, a.data().unwrap()));
            return;
        }
        self.requests.push(req.method());
        if req.integrity().is_none() {
            let mut b = MessageBuilder::new(
                MessageType::new(req.method(), Class::ErrorResponse),
                req.transaction_id(),
            );
            b.add(&Attribute::ErrorCode(ErrorCode {
                code: 401,
                reason: Text::new("Unauthorized"),
            }))
            .unwrap();
            b.add(&Attribute::Realm(Text::new("example.org"))).unwrap();
            b.add(&Attribute::Nonce(Text::new("n1"))).unwrap();
            b.add_fingerprint().unwrap();
            self.to_client.extend_from_slice(&b.build());
            return;
        }
        let a = req.verify_integrity(&self.key).unwrap();
        match req.method() {
            Method::ALLOCATE => {
                assert_eq!(
                    a.get(attr::REQUESTED_TRANSPORT).unwrap().unwrap(),
                    Attribute::RequestedTransport(17),
                    "the relayed address is UDP also over a stream"
                );
                self.reply(&req, |b| {
                    b.add(&Attribute::XorRelayedAddress(sa(RELAY))).unwrap();
                    b.add(&Attribute::XorMappedAddress(sa(A_MAPPED))).unwrap();
                    b.add(&Attribute::Lifetime(600)).unwrap();
                });
            }
            Method::CREATE_PERMISSION => {
                let peer = a.xor_peer_address().unwrap().unwrap();
                self.permissions.insert(peer.ip());
                self.reply(&req, |_| {});
            }
            Method::REFRESH => {
                let l = a.lifetime().unwrap().unwrap_or(600);
                self.reply(&req, |b| {
                    b.add(&Attribute::Lifetime(l.min(600))).unwrap();
                });
            }
            m => panic!("unexpected method {m:?}"),
        }
    }

    /// A datagram from a peer to the relayed address: a Data indication on the stream.
    fn on_peer_datagram(&mut self, peer: SocketAddr, data: Bytes) {
        if !self.permissions.contains(&peer.ip()) {
            return;
        }
        let mut b = MessageBuilder::new(
            MessageType::new(Method::DATA, Class::Indication),
            TransactionId([7; 12]),
        );
        b.add(&Attribute::XorPeerAddress(peer)).unwrap();
        b.add(&Attribute::Data(data)).unwrap();
        self.to_client.extend_from_slice(&b.build());
    }
}

fn turn_config(transport: TurnTransport) -> AgentConfig {
    AgentConfig {
        role: Role::Controlling,
        turn_servers: vec![TurnServer {
            addr: sa(SERVER),
            username: "u".into(),
            password: "p".into(),
            transport,
        }],
        relay_only: true,
        ..AgentConfig::default()
    }
}

struct Rng(u64);
impl rand_core::RngCore for Rng {
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
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for x in d {
            *x = self.next_u64() as u8;
        }
    }
}

struct World {
    a: Agent,
    b: Agent,
    turn: FakeTurn,
    now: Instant,
    start: Instant,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    a_received: Vec<Bytes>,
    b_received: Vec<Bytes>,
    /// What `a` wrote to its stream to the server.
    streams: Vec<Transmit>,
    /// Size of the pieces the server's stream bytes are delivered in.
    chunk: usize,
    /// The stream to the server is up.
    open: bool,
}

impl World {
    fn new(transport: TurnTransport) -> World {
        let now = Instant::now();
        let mut a = Agent::new(turn_config(transport), now, &mut Rng(1));
        let mut b = Agent::new(
            AgentConfig {
                role: Role::Controlled,
                ..AgentConfig::default()
            },
            now,
            &mut Rng(2),
        );
        a.gather(now, &[sa(A)]).unwrap();
        b.gather(now, &[sa(B)]).unwrap();
        World {
            a,
            b,
            turn: FakeTurn::new(),
            now,
            start: now,
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_received: Vec::new(),
            b_received: Vec::new(),
            streams: Vec::new(),
            chunk: 7,
            open: true,
        }
    }

    /// Moves everything that is ready (no network delay).
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                moved = true;
                assert!(
                    t.is_stream(),
                    "relay-only agent sent a datagram from its host socket: {t:?}"
                );
                assert_eq!((t.source, t.destination), (sa(A), sa(SERVER)));
                self.turn.on_client_write(&t.contents);
                self.streams.push(t);
            }
            while let Some(t) = self.b.poll_transmit() {
                moved = true;
                assert_eq!(t.source, sa(B));
                if t.destination == sa(RELAY) {
                    self.turn.on_peer_datagram(t.source, t.contents);
                }
            }
            for (peer, data) in std::mem::take(&mut self.turn.to_peers) {
                moved = true;
                assert_eq!(peer, sa(B));
                let d = Datagram {
                    source: sa(RELAY),
                    destination: sa(B),
                    contents: data,
                };
                if let Ok(Some(x)) = self.b.handle_receive(self.now, d) {
                    self.b_received.push(x);
                }
            }
            if !self.turn.to_client.is_empty() {
                moved = true;
                let bytes = std::mem::take(&mut self.turn.to_client);
                if !self.open {
                    continue;
                }
                for piece in bytes.chunks(self.chunk) {
                    let app = self
                        .a
                        .handle_stream_data(self.now, sa(A), sa(SERVER), piece)
                        .unwrap();
                    self.a_received.extend(app);
                }
            }
            self.a_events
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.b_events
                .extend(std::iter::from_fn(|| self.b.poll_event()));
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn run_until(&mut self, limit: Duration, until: impl Fn(&World) -> bool) -> Duration {
        loop {
            self.settle();
            if until(self) {
                return self.now - self.start;
            }
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .expect("nothing scheduled");
            self.now = self.now.max(next);
            assert!(
                self.now - self.start <= limit,
                "not reached in {limit:?}: a {:?} b {:?} requests {:?}",
                self.a.pair_stats(),
                self.b.pair_stats(),
                self.turn.requests
            );
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
    }

    fn signal(&mut self) {
        let now = self.now;
        self.a
            .set_remote_credentials(now, self.b.local_credentials().clone());
        self.b
            .set_remote_credentials(now, self.a.local_credentials().clone());
        for e in self.a_events.clone() {
            if let Event::LocalCandidate(c) = e {
                self.b.add_remote_candidate(now, c).unwrap();
            }
        }
        for e in self.b_events.clone() {
            if let Event::LocalCandidate(c) = e {
                self.a.add_remote_candidate(now, c).unwrap();
            }
        }
        self.a.end_of_remote_candidates(now);
        self.b.end_of_remote_candidates(now);
    }
}

fn gathered(w: &World) -> bool {
    w.a_events.contains(&Event::GatheringComplete)
}

#[test]
fn relay_over_tcp_connects_and_carries_data_both_ways() {
    for chunk in [1, 7, 1500] {
        let mut w = World::new(TurnTransport::Tcp);
        w.chunk = chunk;
        w.run_until(Duration::from_secs(1), gathered);
        let cands: Vec<_> = w
            .a_events
            .iter()
            .filter_map(|e| match e {
                Event::LocalCandidate(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(cands.len(), 1, "relay only: just the relayed candidate");
        assert_eq!(cands[0].typ, CandidateType::Relayed);
        assert_eq!(cands[0].socket_addr(), Some(sa(RELAY)));
        assert_eq!(
            (cands[0].related_address.clone(), cands[0].related_port),
            (
                Some(ferrtc_ice::Address::Ip(sa(A_MAPPED).ip())),
                Some(40001)
            )
        );
        assert_eq!(w.turn.requests, [Method::ALLOCATE, Method::ALLOCATE]);
        // Every byte went to the stream as TCP, none as a datagram (checked in settle).
        assert!(w.streams.iter().all(|t| t.transport == TurnTransport::Tcp));

        w.signal();
        let took = w.run_until(Duration::from_secs(10), |w| {
            w.a.selected_pair().is_some() && w.b.selected_pair().is_some()
        });
        assert!(took < Duration::from_secs(1), "{took:?}");
        assert_eq!(w.a.selected_pair(), Some((sa(RELAY), sa(B))));
        assert_eq!(w.b.selected_pair(), Some((sa(B), sa(RELAY))));
        assert!(w.turn.requests.contains(&Method::CREATE_PERMISSION));

        w.a.send(Bytes::from_static(b"over tcp")).unwrap();
        w.b.send(Bytes::from_static(b"back over tcp")).unwrap();
        w.b.send(Bytes::from_static(b"and again")).unwrap();
        w.settle();
        assert_eq!(w.b_received, [Bytes::from_static(b"over tcp")]);
        assert_eq!(
            w.a_received,
            [
                Bytes::from_static(b"back over tcp"),
                Bytes::from_static(b"and again")
            ]
        );
        // The allocation is refreshed over the stream and consent keeps the pair alive.
        w.run_until(Duration::from_secs(700), |w| {
            w.now - w.start > Duration::from_secs(600)
        });
        assert!(w.turn.requests.contains(&Method::REFRESH));
        assert_eq!(w.a.state(), ConnectionState::Completed);
    }
}

#[test]
fn tls_transmits_name_the_server_and_rank_below_tcp_and_udp() {
    let name = "turn.example.org".to_string();
    let mut w = World::new(TurnTransport::Tls {
        server_name: name.clone(),
    });
    w.run_until(Duration::from_secs(1), gathered);
    assert!(w.streams.iter().all(|t| t.transport
        == TurnTransport::Tls {
            server_name: name.clone()
        }));
    let relayed = |a: &Agent| {
        a.local_candidates()
            .find(|c| c.typ == CandidateType::Relayed)
            .unwrap()
            .clone()
    };
    let tls = relayed(&w.a);
    let mut w = World::new(TurnTransport::Tcp);
    w.run_until(Duration::from_secs(1), gathered);
    let tcp = relayed(&w.a);
    assert!(tls.priority < tcp.priority, "{tls} / {tcp}");
    // UDP goes to the interface's socket, not to a stream.
    let now = Instant::now();
    let mut u = Agent::new(turn_config(TurnTransport::Udp), now, &mut Rng(3));
    u.gather(now, &[sa(A)]).unwrap();
    let alloc = u.poll_transmit().unwrap();
    assert_eq!(alloc.destination, sa(SERVER));
    assert_eq!(alloc.transport, TurnTransport::Udp);
    assert!(u.poll_transmit().is_none());
}

#[test]
fn failed_connection_fails_the_relay_and_gathering_completes() {
    let mut w = World::new(TurnTransport::Tcp);
    // The driver could not connect: it drops the queued bytes and reports it.
    let first = w.a.poll_transmit().unwrap();
    assert_eq!(first.transport, TurnTransport::Tcp);
    assert_eq!(first.destination, sa(SERVER));
    let now = w.now;
    w.a.handle_stream_closed(now, sa(A), sa(SERVER));
    assert!(w.a.poll_transmit().is_none());
    w.settle();
    assert!(gathered(&w), "{:?}", w.a_events);
    assert_eq!(w.a.local_candidates().count(), 1, "only the (hidden) host");
    assert!(!w
        .a_events
        .iter()
        .any(|e| matches!(e, Event::LocalCandidate(_))));
    // No timer of the dead allocation keeps the agent busy.
    assert_eq!(w.a.poll_timeout(), None);
    // Bytes for a connection that is not ours are rejected.
    assert!(w
        .a
        .handle_stream_data(now, sa(A), sa(SERVER), b"\x01\x01")
        .is_err());
}

#[test]
fn stream_closing_after_connection_fails_the_relayed_pairs() {
    let mut w = World::new(TurnTransport::Tcp);
    w.run_until(Duration::from_secs(1), gathered);
    w.signal();
    w.run_until(Duration::from_secs(10), |w| w.a.selected_pair().is_some());
    let now = w.now;
    w.open = false;
    w.a.handle_stream_closed(now, sa(A), sa(SERVER));
    assert!(w
        .a
        .pair_stats()
        .iter()
        .all(|p| p.state == PairState::Failed));
    // Consent cannot be refreshed through a dead relay: the agent fails after 30 s.
    w.run_until(Duration::from_secs(60), |w| {
        w.a.state() == ConnectionState::Failed
    });
    assert!(w.now - w.start >= Duration::from_secs(30));
}

#[test]
fn garbage_on_the_stream_kills_only_that_relay() {
    let mut w = World::new(TurnTransport::Tcp);
    w.run_until(Duration::from_secs(1), gathered);
    let now = w.now;
    let relayed = |w: &World| {
        w.a.local_candidates()
            .filter(|c| c.typ == CandidateType::Relayed)
            .count()
    };
    assert_eq!(relayed(&w), 1, "the stream allocation succeeded first");
    // 0x7f7f is no ChannelData channel (0x4000-0x4fff, RFC 8656 §12) and no STUN message: the
    // stream cannot be resynchronised, so this relay is dead — and only it.
    let first = w.a.handle_stream_data(now, sa(A), sa(SERVER), &[0x7f; 64]);
    assert!(first.is_ok(), "junk is not the caller's error: {first:?}");
    assert_eq!(relayed(&w), 0, "the dead relay's candidate is withdrawn");
    assert!(w
        .a
        .pair_stats()
        .iter()
        .all(|p| p.state == PairState::Failed));
    // The closed stream is no longer fed: further bytes are refused, never a panic.
    assert!(matches!(
        w.a.handle_stream_data(now, sa(A), sa(SERVER), &[0x00, 0x01, 0xff, 0xff]),
        Err(ferrtc_ice::Error::UnknownSource(s)) if s == sa(SERVER)
    ));
    for _ in 0..100 {
        assert!(w
            .a
            .handle_stream_data(now, sa(A), sa(SERVER), &[0u8; 4096])
            .is_err());
    }
    // The other agent is untouched by A's dead relay.
    assert_ne!(w.b.state(), ConnectionState::Failed);
}
