//! Stateful ICE: connect a ferrtc ICE agent ("T", the target) to a real peer agent ("P") on a
//! virtual clock — T has a host candidate and a relayed candidate allocated over TCP on a fake
//! TURN server that relays UDP to P — until both are Connected (as dtls_server does for DTLS),
//! then keep the world running while the fuzzer injects into T: raw datagrams, Binding
//! requests and responses signed with the right credentials (so they authenticate and reach
//! role conflicts, nomination, peer-reflexive candidates and consent), requests signed with a
//! wrong key, TURN stream bytes, Data indications carrying relayed data or signed checks, time
//! jumps (consent checks, TURN refreshes, consent loss when P is cut off), application data,
//! ICE restarts and a closed TURN stream.
//!
//! Input: `[mode, (op, len, payload[len])*]`. `mode` bit 0: T controls; bit 1: T is relay-only
//! (its selected pair goes through the TURN stream).
//!
//! `ICE_FUZZ_TRACE=1` prints T's state after each operation.
//!
//! Checks: no panic; output queues stay bounded; a request signed with a wrong key is never
//! accepted; a Connected/Completed agent has a selected pair; the checklist and remote
//! candidates stay within their limits.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::stun::{Builder, Class as IceClass, BINDING};
use ferrtc_ice::{
    Agent, AgentConfig, ConnectionState, Credentials, Datagram, Event, Role, TurnServer,
    TurnTransport,
};
use ferrtc_stun::{
    Attribute, Class, ErrorCode, IntegrityKey, Message, MessageBuilder, MessageType, Method,
    PasswordAlgorithm, Text, TransactionId,
};
use libfuzzer_sys::fuzz_target;

const T_HOST: &str = "10.0.0.1:5000";
const P_HOST: &str = "203.0.113.5:7000";
const SERVER: &str = "192.0.2.1:443";
const RELAY: &str = "192.0.2.1:49152";
const T_MAPPED: &str = "198.51.100.7:40001";
/// At most this many outputs of one kind per step (the agent must not flood).
const QUEUE_BOUND: usize = 10_000;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
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

/// A TURN server on a byte stream (RFC 8656 §3.1 with RFC 6062 framing left to the client),
/// relaying UDP from `RELAY`. It never panics on what it reads: the agent is the target.
struct FakeTurn {
    key: IntegrityKey,
    permissions: HashSet<IpAddr>,
    to_client: Vec<u8>,
    to_peers: Vec<(SocketAddr, Bytes)>,
}

impl FakeTurn {
    fn new() -> Self {
        FakeTurn {
            key: IntegrityKey::long_term("u", "example.org", "p", PasswordAlgorithm::MD5).unwrap(),
            permissions: HashSet::new(),
            to_client: Vec::new(),
            to_peers: Vec::new(),
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

    fn on_client_write(&mut self, data: &Bytes) {
        let Ok(req) = Message::parse(data.clone()) else {
            return;
        };
        if req.class() == Class::Indication {
            let a = req.attributes_unverified();
            if let (Ok(Some(peer)), Some(d)) = (a.xor_peer_address(), a.data()) {
                if self.permissions.contains(&peer.ip()) {
                    self.to_peers.push((peer, d));
                }
            }
            return;
        }
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
        let Ok(a) = req.verify_integrity(&self.key) else {
            return;
        };
        match req.method() {
            Method::ALLOCATE => self.reply(&req, |b| {
                b.add(&Attribute::XorRelayedAddress(sa(RELAY))).unwrap();
                b.add(&Attribute::XorMappedAddress(sa(T_MAPPED))).unwrap();
                b.add(&Attribute::Lifetime(600)).unwrap();
            }),
            Method::CREATE_PERMISSION => {
                if let Ok(Some(peer)) = a.xor_peer_address() {
                    self.permissions.insert(peer.ip());
                }
                self.reply(&req, |_| {});
            }
            Method::REFRESH => {
                let l = a.lifetime().ok().flatten().unwrap_or(600).min(600);
                self.reply(&req, |b| {
                    b.add(&Attribute::Lifetime(l)).unwrap();
                });
            }
            _ => {}
        }
    }

    /// A datagram from `peer` to the relayed address, as a Data indication on the stream.
    fn data_indication(peer: SocketAddr, data: Bytes) -> Bytes {
        let mut b = MessageBuilder::new(
            MessageType::new(Method::DATA, Class::Indication),
            TransactionId([7; 12]),
        );
        b.add(&Attribute::XorPeerAddress(peer)).unwrap();
        b.add(&Attribute::Data(data)).unwrap();
        b.build()
    }

    fn on_peer_datagram(&mut self, peer: SocketAddr, data: Bytes) {
        if self.permissions.contains(&peer.ip()) {
            self.to_client
                .extend_from_slice(&Self::data_indication(peer, data));
        }
    }
}

/// A request T sent: (transaction id, T's source, destination).
type Sent = ([u8; 12], SocketAddr, SocketAddr);

struct World {
    t: Agent,
    p: Agent,
    turn: FakeTurn,
    now: Instant,
    /// P is reachable (cut off to reach consent loss).
    link: bool,
    /// The TCP connection to the TURN server is up.
    stream_open: bool,
    t_events: Vec<Event>,
    p_events: Vec<Event>,
    /// Recent requests of T (checks, consent checks), for signed responses.
    sent: Vec<Sent>,
    restarts: u32,
}

impl World {
    fn new(mode: u8) -> World {
        let now = Instant::now();
        let t_controls = mode & 1 == 1;
        let relay_only = mode & 2 == 2;
        let t_cfg = AgentConfig {
            role: if t_controls {
                Role::Controlling
            } else {
                Role::Controlled
            },
            turn_servers: vec![TurnServer {
                addr: sa(SERVER),
                username: "u".into(),
                password: "p".into(),
                transport: TurnTransport::Tcp,
            }],
            relay_only,
            local_credentials: Some(Credentials {
                ufrag: "tfrg".into(),
                pwd: "target-password-target-pw".into(),
            }),
            ..AgentConfig::default()
        };
        let p_cfg = AgentConfig {
            role: if t_controls {
                Role::Controlled
            } else {
                Role::Controlling
            },
            local_credentials: Some(Credentials {
                ufrag: "pfrg".into(),
                pwd: "peer-password-peer-passw".into(),
            }),
            ..AgentConfig::default()
        };
        let mut t = Agent::new(t_cfg, now, &mut Rng(1));
        let mut p = Agent::new(p_cfg, now, &mut Rng(2));
        t.gather(now, &[sa(T_HOST)]).unwrap();
        p.gather(now, &[sa(P_HOST)]).unwrap();
        let mut w = World {
            t,
            p,
            turn: FakeTurn::new(),
            now,
            link: true,
            stream_open: true,
            t_events: Vec::new(),
            p_events: Vec::new(),
            sent: Vec::new(),
            restarts: 0,
        };
        w.run_until(Duration::from_secs(2), |w| {
            w.t_events.contains(&Event::GatheringComplete)
        });
        w.signal();
        w.run_until(Duration::from_secs(5), |w| {
            let up = |a: &Agent| {
                matches!(
                    a.state(),
                    ConnectionState::Connected | ConnectionState::Completed
                )
            };
            up(&w.t) && up(&w.p)
        });
        if relay_only {
            assert_eq!(w.t.selected_pair(), Some((sa(RELAY), sa(P_HOST))));
        }
        w
    }

    /// Candidates and credentials through signalling (what each side gathered so far).
    fn signal(&mut self) {
        let now = self.now;
        self.t
            .set_remote_credentials(now, self.p.local_credentials().clone());
        self.p
            .set_remote_credentials(now, self.t.local_credentials().clone());
        for e in std::mem::take(&mut self.t_events) {
            if let Event::LocalCandidate(c) = e {
                let _ = self.p.add_remote_candidate(now, c);
            }
        }
        for e in std::mem::take(&mut self.p_events) {
            if let Event::LocalCandidate(c) = e {
                let _ = self.t.add_remote_candidate(now, c);
            }
        }
        self.t.end_of_remote_candidates(now);
        self.p.end_of_remote_candidates(now);
    }

    fn remember(&mut self, source: SocketAddr, destination: SocketAddr, data: &Bytes) {
        if let Ok(m) = Message::parse(data.clone()) {
            if m.class() == Class::Request && m.method() == Method::BINDING {
                if self.sent.len() >= 16 {
                    self.sent.remove(0);
                }
                self.sent.push((m.transaction_id().0, source, destination));
            }
        }
    }

    /// Moves everything that is ready (no network delay).
    fn settle(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            let mut n = 0;
            while let Some(x) = self.t.poll_transmit() {
                n += 1;
                assert!(n < QUEUE_BOUND, "T floods its datagrams and TURN stream");
                moved = true;
                if x.is_stream() {
                    if self.stream_open {
                        self.turn.on_client_write(&x.contents);
                    }
                    continue;
                }
                self.remember(x.source, x.destination, &x.contents);
                if self.link && x.destination == sa(P_HOST) {
                    let _ = self.p.handle_receive(self.now, x);
                }
            }
            n = 0;
            while let Some(x) = self.p.poll_transmit() {
                n += 1;
                assert!(n < QUEUE_BOUND, "P floods datagrams");
                moved = true;
                if !self.link {
                    continue;
                }
                if x.destination == sa(RELAY) {
                    self.turn.on_peer_datagram(x.source, x.contents);
                } else if x.destination == sa(T_HOST) {
                    let _ = self.t.handle_receive(self.now, x);
                }
            }
            for (peer, data) in std::mem::take(&mut self.turn.to_peers) {
                moved = true;
                self.remember(sa(RELAY), peer, &data);
                if self.link && peer == sa(P_HOST) {
                    let d = Datagram {
                        source: sa(RELAY),
                        destination: sa(P_HOST),
                        contents: data,
                    };
                    let _ = self.p.handle_receive(self.now, d);
                }
            }
            if !self.turn.to_client.is_empty() {
                moved = true;
                let bytes = std::mem::take(&mut self.turn.to_client);
                if self.stream_open {
                    let _ = self
                        .t
                        .handle_stream_data(self.now, sa(T_HOST), sa(SERVER), &bytes);
                }
            }
            self.t_events
                .extend(std::iter::from_fn(|| self.t.poll_event()).take(QUEUE_BOUND));
            self.p_events
                .extend(std::iter::from_fn(|| self.p.poll_event()).take(QUEUE_BOUND));
            if !moved {
                return;
            }
        }
    }

    fn tick(&mut self, to: Instant) {
        self.now = self.now.max(to);
        self.t.handle_timeout(self.now);
        self.p.handle_timeout(self.now);
        self.settle();
    }

    fn run_until(&mut self, limit: Duration, until: impl Fn(&World) -> bool) {
        let start = self.now;
        loop {
            self.settle();
            if until(self) {
                return;
            }
            let next = [self.t.poll_timeout(), self.p.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .expect("nothing scheduled");
            assert!(
                next - start <= limit,
                "setup not reached: T {:?} P {:?}",
                self.t.state(),
                self.p.state()
            );
            self.tick(next);
        }
    }

    /// Delivers `d` to T as if from `source`: on T's host socket, or through the relay.
    fn inject(&mut self, source: SocketAddr, contents: Bytes, relayed: bool) -> bool {
        let ok = if relayed {
            let ind = FakeTurn::data_indication(source, contents);
            self.t
                .handle_stream_data(self.now, sa(T_HOST), sa(SERVER), &ind)
                .is_ok()
        } else {
            let d = Datagram {
                source,
                destination: sa(T_HOST),
                contents,
            };
            self.t.handle_receive(self.now, d).is_ok()
        };
        self.settle();
        ok
    }

    fn check_invariants(&self) {
        if matches!(
            self.t.state(),
            ConnectionState::Connected | ConnectionState::Completed
        ) {
            assert!(self.t.selected_pair().is_some(), "connected without a pair");
        }
        assert!(self.t.pair_stats().len() <= AgentConfig::default().max_pairs);
        assert!(self.t.remote_candidates().count() <= AgentConfig::default().max_remote_candidates);
    }
}

/// A Binding request to T from the peer: USERNAME `t:p`, fields from `b`, signed with `pwd`.
fn request(b: &[u8], t_ufrag: &str, p_ufrag: &str, pwd: &[u8]) -> Bytes {
    let mut tid = [0u8; 12];
    for (d, s) in tid.iter_mut().zip(b.iter().chain(std::iter::repeat(&0x5a))) {
        *d = *s;
    }
    let flags = b.first().copied().unwrap_or(0);
    let x = b.get(1).copied().unwrap_or(0);
    let mut m = Builder::new(IceClass::Request, BINDING, &tid);
    m.username(&format!("{t_ufrag}:{p_ufrag}"))
        .priority(u32::from(x) << 20 | 1);
    if flags & 0x10 == 0 {
        // ICE-CONTROLLING or -CONTROLLED with a tie-breaker that may win or lose.
        m.role(flags & 2 == 2, u64::from(x) << 56);
    }
    if flags & 4 == 4 {
        m.use_candidate();
    }
    m.finish(Some(pwd))
}

/// `ICE_FUZZ_TRACE=1` prints T's state after every operation (to see where an input goes).
fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("ICE_FUZZ_TRACE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut w = World::new(mode);
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        let flags = payload.first().copied().unwrap_or(0);
        let relayed = flags & 0x80 == 0x80;
        let t_ufrag = w.t.local_credentials().ufrag.clone();
        let p_ufrag = w.p.local_credentials().ufrag.clone();
        match op % 13 {
            // Raw bytes from the peer's address, or from anywhere.
            0 => {
                w.inject(sa(P_HOST), Bytes::copy_from_slice(payload), relayed);
            }
            1 => {
                let port = 1024 + u16::from(flags);
                let src = SocketAddr::new(sa(P_HOST).ip(), port);
                w.inject(src, Bytes::copy_from_slice(payload), relayed);
            }
            // An authenticated request (from P's address or a new one: peer-reflexive).
            2 => {
                let pwd = w.t.local_credentials().pwd.clone();
                let req = request(payload, &t_ufrag, &p_ufrag, pwd.as_bytes());
                let src = if flags & 8 == 8 {
                    SocketAddr::new(sa(P_HOST).ip(), 9000 + u16::from(flags & 0x7))
                } else {
                    sa(P_HOST)
                };
                w.inject(src, req, relayed);
            }
            // A request signed with a wrong key is never accepted.
            3 => {
                let mut pwd = w.t.local_credentials().pwd.clone().into_bytes();
                pwd.push(b'x');
                let req = request(payload, &t_ufrag, &p_ufrag, &pwd);
                assert!(!w.inject(sa(P_HOST), req, false), "wrong key accepted");
            }
            // A response to one of T's requests, signed with P's password.
            4 => {
                if w.sent.is_empty() {
                    continue;
                }
                let (tid, source, dest) = w.sent[usize::from(flags) % w.sent.len()];
                let class = if flags & 1 == 1 {
                    IceClass::ErrorResponse
                } else {
                    IceClass::SuccessResponse
                };
                let mut b = Builder::new(class, BINDING, &tid);
                if class == IceClass::ErrorResponse {
                    b.error_code(if flags & 2 == 2 { 487 } else { 400 }, "x");
                } else {
                    let port = u16::from_be_bytes([
                        payload.get(1).copied().unwrap_or(0),
                        payload.get(2).copied().unwrap_or(1),
                    ]);
                    b.xor_mapped_address(SocketAddr::new(sa(T_MAPPED).ip(), port.max(1)));
                }
                let pwd = w.p.local_credentials().pwd.clone();
                let resp = b.finish(Some(pwd.as_bytes()));
                // Symmetric unless asked otherwise (§7.2.5.2.1).
                let from = if flags & 4 == 4 {
                    SocketAddr::new(dest.ip(), dest.port().wrapping_add(1))
                } else {
                    dest
                };
                w.inject(from, resp, source == sa(RELAY));
            }
            // Bytes on the TURN stream (any framing).
            5 => {
                let _ =
                    w.t.handle_stream_data(w.now, sa(T_HOST), sa(SERVER), payload);
                w.settle();
            }
            // Time passes (consent checks, retransmissions, TURN refreshes; up to 64 s, past
            // the 30 s consent timeout).
            6 => {
                let to = w.now + Duration::from_millis(u64::from(flags) * 250);
                w.tick(to);
            }
            // The peer becomes unreachable / reachable again.
            7 => w.link = !w.link,
            // Application data both ways (relayed when the selected pair is).
            8 => {
                let _ = w.t.send(Bytes::copy_from_slice(payload));
                let _ = w.p.send(Bytes::copy_from_slice(payload));
                w.settle();
            }
            // ICE restart by either side, signalled.
            9 => {
                if w.restarts < 2 {
                    w.restarts += 1;
                    if flags & 1 == 1 {
                        w.t.restart(w.now);
                    } else {
                        w.p.restart(w.now);
                    }
                    w.settle();
                    w.signal();
                    w.settle();
                }
            }
            // The TCP connection to the TURN server closes.
            10 => {
                w.stream_open = false;
                w.t.handle_stream_closed(w.now, sa(T_HOST), sa(SERVER));
                w.settle();
            }
            // A Binding indication (a keepalive, RFC 8445 §11).
            11 => {
                let mut b = Builder::new(IceClass::Indication, BINDING, &[1; 12]);
                b.priority(1);
                w.inject(sa(P_HOST), b.finish(None), relayed);
            }
            // Raw bytes wrapped as a signed request's payload tail: a valid message with
            // trailing junk after FINGERPRINT.
            _ => {
                let pwd = w.t.local_credentials().pwd.clone();
                let mut req = request(payload, &t_ufrag, &p_ufrag, pwd.as_bytes()).to_vec();
                req.extend_from_slice(payload);
                w.inject(sa(P_HOST), Bytes::from(req), relayed);
            }
        }
        w.check_invariants();
        if trace() {
            eprintln!(
                "op {} -> T {:?} selected {:?}, P {:?}",
                op % 13,
                w.t.state(),
                w.t.selected_pair(),
                w.p.state()
            );
        }
        while w.t.poll_event().is_some() {}
    }
});
