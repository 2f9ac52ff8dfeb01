#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Deterministic simulations of two ICE agents (and a STUN server) through ferrtc-testkit:
//! loss and delay, role conflict, peer-reflexive discovery, restart, consent loss, trickle in
//! every order, ICE-lite, server-reflexive gathering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::stun::{Builder, Class, Message, BINDING};
use ferrtc_ice::{
    Address, Agent, AgentConfig, Candidate, CandidateType, ConnectionState, Credentials, Datagram,
    Event, Role,
};
use ferrtc_testkit::{addr, for_each_seed, Endpoint, LinkConfig, Loss, Sim};

/// A simulated host: an ICE agent on one socket, or a STUN server that may pretend to be
/// behind a NAT (answers with `mapped` instead of the real source).
enum Node {
    Ice(Box<Peer>),
    Stun {
        mapped: Option<SocketAddr>,
        out: Vec<(SocketAddr, Bytes)>,
    },
}

struct Peer {
    agent: Agent,
    addr: SocketAddr,
    start: Instant,
    events: Vec<(Duration, Event)>,
    received: Vec<Bytes>,
    errors: usize,
}

impl Peer {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            self.events.push((now - self.start, e));
        }
    }
    fn local_candidates(&self) -> Vec<Candidate> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::LocalCandidate(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
    fn state_at(&self, s: ConnectionState) -> Option<Duration> {
        self.events
            .iter()
            .find(|(_, e)| *e == Event::ConnectionState(s))
            .map(|(t, _)| *t)
    }
}

impl Endpoint for Node {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: Bytes) {
        match self {
            Node::Ice(p) => {
                let d = Datagram {
                    source: from,
                    destination: p.addr,
                    contents: data,
                };
                match p.agent.handle_receive(now, d) {
                    Ok(Some(payload)) => p.received.push(payload),
                    Ok(None) => {}
                    Err(_) => p.errors += 1,
                }
                p.drain(now);
            }
            Node::Stun { mapped, out } => {
                let Ok(m) = Message::parse(data) else { return };
                if m.class != Class::Request {
                    return;
                }
                let mut b = Builder::new(Class::SuccessResponse, BINDING, &m.transaction_id);
                b.xor_mapped_address(mapped.unwrap_or(from));
                out.push((from, b.finish(None)));
            }
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let Node::Ice(p) = self {
            p.agent.handle_timeout(now);
            p.drain(now);
        }
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        match self {
            Node::Ice(p) => p.agent.poll_transmit().map(|t| {
                assert_eq!(t.source, p.addr, "sent from a socket that is not ours");
                (t.destination, t.contents)
            }),
            Node::Stun { out, .. } => out.pop(),
        }
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        match self {
            Node::Ice(p) => p.agent.poll_timeout(),
            Node::Stun { .. } => None,
        }
    }
}

fn peer(sim: &Sim<Node>, a: SocketAddr) -> &Peer {
    match sim.endpoint(a).unwrap() {
        Node::Ice(p) => p,
        Node::Stun { .. } => panic!("not a peer"),
    }
}

fn peer_mut(sim: &mut Sim<Node>, a: SocketAddr) -> &mut Peer {
    match sim.endpoint_mut(a).unwrap() {
        Node::Ice(p) => p,
        Node::Stun { .. } => panic!("not a peer"),
    }
}

fn add_peer(sim: &mut Sim<Node>, a: SocketAddr, config: AgentConfig) {
    let now = sim.now();
    let mut rng = sim.fork_rng();
    let mut agent = Agent::new(config, now, &mut rng);
    agent.gather(now, &[a]).unwrap();
    let mut p = Peer {
        agent,
        addr: a,
        start: now,
        events: Vec::new(),
        received: Vec::new(),
        errors: 0,
    };
    p.drain(now);
    sim.add_endpoint(a, Node::Ice(Box::new(p)));
}

fn config(role: Role) -> AgentConfig {
    AgentConfig {
        role,
        ..AgentConfig::default()
    }
}

/// Hands `from`'s credentials to `to`.
fn give_creds(sim: &mut Sim<Node>, from: SocketAddr, to: SocketAddr) {
    let creds = peer(sim, from).agent.local_credentials().clone();
    let now = sim.now();
    let p = peer_mut(sim, to);
    p.agent.set_remote_credentials(now, creds);
    p.drain(now);
}

/// Hands `from`'s local candidates (and end-of-candidates) to `to`.
fn give_candidates(sim: &mut Sim<Node>, from: SocketAddr, to: SocketAddr) {
    let cands = peer(sim, from).local_candidates();
    let now = sim.now();
    let p = peer_mut(sim, to);
    for c in cands {
        p.agent.add_remote_candidate(now, c).unwrap();
    }
    p.agent.end_of_remote_candidates(now);
    p.drain(now);
}

fn both(sim: &Sim<Node>, a: SocketAddr, b: SocketAddr, s: ConnectionState) -> bool {
    peer(sim, a).agent.state() == s && peer(sim, b).agent.state() == s
}

fn connected(sim: &Sim<Node>, a: SocketAddr, b: SocketAddr) -> bool {
    let ok = |s| matches!(s, ConnectionState::Connected | ConnectionState::Completed);
    ok(peer(sim, a).agent.state()) && ok(peer(sim, b).agent.state())
}

fn signal_all(sim: &mut Sim<Node>, a: SocketAddr, b: SocketAddr) {
    give_creds(sim, a, b);
    give_creds(sim, b, a);
    give_candidates(sim, a, b);
    give_candidates(sim, b, a);
}

fn send_and_check(sim: &mut Sim<Node>, from: SocketAddr, to: SocketAddr, what: &'static [u8]) {
    let before = peer(sim, to).received.len();
    peer_mut(sim, from)
        .agent
        .send(Bytes::from_static(what))
        .unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        peer(s, to).received.len() > before
    })
    .unwrap();
    assert_eq!(peer(sim, to).received.last().unwrap(), what);
}

#[test]
fn connects_with_no_impairment_quickly_and_completes() {
    let (a, b) = (addr(1), addr(2));
    let mut sim = Sim::new(1);
    add_peer(&mut sim, a, config(Role::Controlling));
    add_peer(&mut sim, b, config(Role::Controlled));
    signal_all(&mut sim, a, b);
    let took = sim
        .run_until(Duration::from_secs(5), |s| connected(s, a, b))
        .unwrap();
    assert!(took <= Duration::from_millis(2), "took {took:?}");
    sim.run_until(Duration::from_secs(5), |s| {
        both(s, a, b, ConnectionState::Completed)
    })
    .unwrap();
    assert_eq!(peer(&sim, a).agent.selected_pair(), Some((a, b)));
    assert_eq!(peer(&sim, b).agent.selected_pair(), Some((b, a)));
    send_and_check(&mut sim, a, b, b"hello");
    send_and_check(&mut sim, b, a, b"world");
    // Stats: RTT measured, requests and responses counted, data counted.
    let st = peer(&sim, a).agent.pair_stats();
    assert_eq!(st.len(), 1);
    assert!(st[0].nominated && st[0].responses_received >= 2 && st[0].requests_received >= 1);
    assert_eq!(
        (st[0].packets_sent, st[0].bytes_sent, st[0].packets_received),
        (1, 5, 1)
    );
    assert!(st[0].current_rtt.is_some());
    // Consent keeps it up for minutes without anything else happening.
    sim.run_for(Duration::from_secs(120)).unwrap();
    assert!(both(&sim, a, b, ConnectionState::Completed));
    assert!(peer(&sim, a).agent.pair_stats()[0].consent_requests_sent >= 20);
}

#[test]
fn connects_under_loss_and_delay() {
    for_each_seed(0..16, |seed| {
        let (a, b) = (addr(1), addr(2));
        let mut sim = Sim::new(seed);
        sim.set_default_link(
            LinkConfig::with_delay(Duration::from_millis(60))
                .jitter(Duration::from_millis(20))
                .loss(Loss::Random(0.25)),
        );
        add_peer(&mut sim, a, config(Role::Controlling));
        add_peer(&mut sim, b, config(Role::Controlled));
        signal_all(&mut sim, a, b);
        sim.run_until(Duration::from_secs(20), |s| connected(s, a, b))
            .unwrap();
        // Consent survives 25 % loss for a while.
        sim.run_for(Duration::from_secs(60)).unwrap();
        assert!(peer(&sim, a).agent.selected_pair().is_some());
        assert_ne!(peer(&sim, a).agent.state(), ConnectionState::Failed);
    });
}

#[test]
fn role_conflict_both_controlling_and_both_controlled() {
    for role in [Role::Controlling, Role::Controlled] {
        for_each_seed(0..8, |seed| {
            let (a, b) = (addr(1), addr(2));
            let mut sim = Sim::new(seed);
            sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(20)));
            add_peer(&mut sim, a, config(role));
            add_peer(&mut sim, b, config(role));
            signal_all(&mut sim, a, b);
            sim.run_until(Duration::from_secs(10), |s| connected(s, a, b))
                .unwrap();
            let (ra, rb) = (peer(&sim, a).agent.role(), peer(&sim, b).agent.role());
            assert_ne!(ra, rb, "seed {seed}: both ended {ra:?}");
            assert_eq!(peer(&sim, a).agent.selected_pair(), Some((a, b)));
            assert_eq!(peer(&sim, b).agent.selected_pair(), Some((b, a)));
        });
    }
}

#[test]
fn peer_reflexive_discovery_from_hidden_mdns_peer() {
    // b behaves like a browser: it signals only an mDNS name that a cannot resolve. a's only
    // way to reach b is the peer-reflexive candidate learned from b's checks.
    for controlling_is_hidden in [false, true] {
        let (a, b) = (addr(1), addr(2));
        let mut sim = Sim::new(3);
        sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
        let (ra, rb) = if controlling_is_hidden {
            (Role::Controlled, Role::Controlling)
        } else {
            (Role::Controlling, Role::Controlled)
        };
        add_peer(&mut sim, a, config(ra));
        add_peer(&mut sim, b, config(rb));
        give_creds(&mut sim, a, b);
        give_creds(&mut sim, b, a);
        give_candidates(&mut sim, a, b);
        let mut hidden = peer(&sim, b).local_candidates()[0].clone();
        hidden.address = Address::Name("6f1c2b4e-0d5a-4b8e-9c3f-1a2b3c4d5e6f.local".into());
        let now = sim.now();
        let pa = peer_mut(&mut sim, a);
        pa.agent.add_remote_candidate(now, hidden).unwrap();
        pa.drain(now);
        assert!(pa
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::ResolveName(_))));
        // The application's resolver fails: the name is skipped, the session goes on.
        pa.agent
            .resolve_remote_name(now, "6f1c2b4e-0d5a-4b8e-9c3f-1a2b3c4d5e6f.local", None)
            .unwrap();
        sim.run_until(Duration::from_secs(10), |s| connected(s, a, b))
            .unwrap();
        let remotes: Vec<_> = peer(&sim, a).agent.remote_candidates().cloned().collect();
        assert_eq!(remotes.len(), 1);
        assert_eq!(remotes[0].typ, CandidateType::PeerReflexive);
        assert_eq!(remotes[0].socket_addr(), Some(b));
        send_and_check(&mut sim, a, b, b"via prflx");
    }
}

#[test]
fn restart_keeps_old_pair_until_new_one_is_selected() {
    let (a, b) = (addr(1), addr(2));
    let mut sim = Sim::new(4);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(30)));
    add_peer(&mut sim, a, config(Role::Controlling));
    add_peer(&mut sim, b, config(Role::Controlled));
    signal_all(&mut sim, a, b);
    sim.run_until(Duration::from_secs(5), |s| connected(s, a, b))
        .unwrap();
    let old_creds = peer(&sim, a).agent.local_credentials().clone();
    let n_selected = |s: &Sim<Node>, x| {
        peer(s, x)
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::SelectedPairChanged { .. }))
            .count()
    };
    assert_eq!(n_selected(&sim, a), 1);
    // a restarts; the offer reaches b a while later; meanwhile data still flows.
    let now = sim.now();
    let new_creds = peer_mut(&mut sim, a).agent.restart(now);
    assert_ne!(new_creds, old_creds);
    sim.run_for(Duration::from_secs(2)).unwrap();
    send_and_check(&mut sim, a, b, b"during restart");
    send_and_check(&mut sim, b, a, b"during restart too");
    assert!(connected(&sim, a, b));
    let now = sim.now();
    let nb = peer_mut(&mut sim, b).agent.restart(now);
    assert_ne!(nb.ufrag, "");
    signal_all(&mut sim, a, b);
    sim.run_until(Duration::from_secs(10), |s| {
        n_selected(s, a) == 2 && n_selected(s, b) == 2
    })
    .unwrap();
    send_and_check(&mut sim, a, b, b"after restart");
    // Candidates re-announced carry the new ufrag.
    let last = peer(&sim, a).local_candidates().last().cloned().unwrap();
    assert_eq!(last.ufrag(), Some(new_creds.ufrag.as_str()));
    sim.run_for(Duration::from_secs(60)).unwrap();
    assert!(connected(&sim, a, b));
}

#[test]
fn consent_loss_fails_at_30_seconds() {
    for_each_seed(0..4, |seed| {
        let (a, b) = (addr(1), addr(2));
        let mut sim = Sim::new(seed);
        sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(5)));
        add_peer(&mut sim, a, config(Role::Controlling));
        add_peer(&mut sim, b, config(Role::Controlled));
        signal_all(&mut sim, a, b);
        sim.run_until(Duration::from_secs(5), |s| connected(s, a, b))
            .unwrap();
        sim.run_for(Duration::from_secs(17)).unwrap();
        // The path dies completely.
        sim.set_path(a, b, LinkConfig::default().loss(Loss::Random(1.0)));
        let cut = sim.elapsed();
        sim.run_until(Duration::from_secs(60), |s| {
            peer(s, a).agent.state() == ConnectionState::Failed
        })
        .unwrap();
        let pa = peer(&sim, a);
        let disc = pa.state_at(ConnectionState::Disconnected).unwrap() - cut;
        let failed = pa.state_at(ConnectionState::Failed).unwrap() - cut;
        // The last consent response came at most one consent interval (≤ 6 s) before the cut;
        // consent expires exactly 30 s after it.
        assert!(
            failed <= Duration::from_secs(30) && failed >= Duration::from_secs(24),
            "{failed:?}"
        );
        assert!(disc < failed && disc >= Duration::from_secs(2), "{disc:?}");
        assert!(
            peer_mut(&mut sim, a)
                .agent
                .send(Bytes::from_static(b"x"))
                .is_err(),
            "sending after consent loss"
        );
        sim.run_until(Duration::from_secs(10), |s| {
            both(s, a, b, ConnectionState::Failed)
        })
        .unwrap();
    });
}

#[test]
fn trickle_in_every_order() {
    // Four signalling messages: creds a→b, candidates a→b, creds b→a, candidates b→a, each
    // delivered 50 ms after the previous one, in all 24 orders.
    let mut orders: Vec<Vec<u8>> = Vec::new();
    for code in 0..256u32 {
        let o: Vec<u8> = (0..4).map(|d| ((code >> (2 * d)) & 3) as u8).collect();
        let mut sorted = o.clone();
        sorted.sort();
        if sorted == [0, 1, 2, 3] {
            orders.push(o);
        }
    }
    assert_eq!(orders.len(), 24);
    for (n, order) in orders.iter().enumerate() {
        let (a, b) = (addr(1), addr(2));
        let mut sim = Sim::new(n as u64);
        sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(20)));
        add_peer(&mut sim, a, config(Role::Controlling));
        add_peer(&mut sim, b, config(Role::Controlled));
        for step in order {
            match step {
                0 => give_creds(&mut sim, a, b),
                1 => give_candidates(&mut sim, a, b),
                2 => give_creds(&mut sim, b, a),
                _ => give_candidates(&mut sim, b, a),
            }
            sim.run_for(Duration::from_millis(50)).unwrap();
        }
        sim.run_until(Duration::from_secs(10), |s| {
            both(s, a, b, ConnectionState::Completed)
        })
        .unwrap_or_else(|e| panic!("order {order:?}: {e:?}"));
        send_and_check(&mut sim, a, b, b"trickled");
    }
}

#[test]
fn ice_lite_server_with_full_client() {
    let (a, b) = (addr(1), addr(2));
    let mut sim = Sim::new(5);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(15)));
    // The full agent starts controlled but must take control of a lite peer.
    add_peer(&mut sim, a, config(Role::Controlled));
    add_peer(
        &mut sim,
        b,
        AgentConfig {
            lite: true,
            ..config(Role::Controlling)
        },
    );
    assert_eq!(peer(&sim, b).agent.role(), Role::Controlled);
    peer_mut(&mut sim, a).agent.set_remote_lite(true);
    assert_eq!(peer(&sim, a).agent.role(), Role::Controlling);
    signal_all(&mut sim, a, b);
    sim.run_until(Duration::from_secs(5), |s| connected(s, a, b))
        .unwrap();
    send_and_check(&mut sim, a, b, b"to lite");
    send_and_check(&mut sim, b, a, b"from lite");
    sim.run_for(Duration::from_secs(90)).unwrap();
    assert!(connected(&sim, a, b));
    // The lite agent never sends a request of its own.
    assert!(peer(&sim, b)
        .agent
        .pair_stats()
        .iter()
        .all(|p| p.requests_sent == 0));
}

#[test]
fn server_reflexive_gathering_and_pruning() {
    let (a, stun_nat, stun_plain) = (addr(1), addr(50), addr(51));
    let mapped: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let mut sim = Sim::new(6);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(25)));
    sim.add_endpoint(
        stun_nat,
        Node::Stun {
            mapped: Some(mapped),
            out: Vec::new(),
        },
    );
    sim.add_endpoint(
        stun_plain,
        Node::Stun {
            mapped: None,
            out: Vec::new(),
        },
    );
    add_peer(
        &mut sim,
        a,
        AgentConfig {
            stun_servers: vec![stun_nat, stun_plain],
            ..config(Role::Controlling)
        },
    );
    sim.run_until(Duration::from_secs(5), |s| {
        peer(s, a)
            .events
            .iter()
            .any(|(_, e)| *e == Event::GatheringComplete)
    })
    .unwrap();
    let cands = peer(&sim, a).local_candidates();
    // Host, plus one srflx: the plain server's answer equals the host address (redundant).
    assert_eq!(cands.len(), 2, "{cands:?}");
    let srflx = &cands[1];
    assert_eq!(srflx.typ, CandidateType::ServerReflexive);
    assert_eq!(srflx.socket_addr(), Some(mapped));
    assert_eq!(srflx.related_address, Some(Address::Ip(a.ip())));
    assert!(srflx.priority < cands[0].priority);
    // Gathering complete also when a STUN server never answers.
    let mut sim = Sim::new(7);
    add_peer(
        &mut sim,
        a,
        AgentConfig {
            stun_servers: vec![addr(99)],
            ..config(Role::Controlling)
        },
    );
    let took = sim
        .run_until(Duration::from_secs(30), |s| {
            peer(s, a)
                .events
                .iter()
                .any(|(_, e)| *e == Event::GatheringComplete)
        })
        .unwrap();
    assert!(
        took > Duration::from_secs(3) && took < Duration::from_secs(15),
        "{took:?}"
    );
}

#[test]
fn controlled_accepts_aggressive_nomination() {
    // A remote that puts USE-CANDIDATE on its very first check (aggressive nomination).
    let now = Instant::now();
    let local = addr(1);
    let remote = addr(2);
    let mut rng = rand_like(9);
    let mut agent = Agent::new(config(Role::Controlled), now, &mut rng);
    agent.gather(now, &[local]).unwrap();
    let remote_creds = Credentials {
        ufrag: "rem1".into(),
        pwd: "remotepasswordremotepass".into(),
    };
    agent.set_remote_credentials(now, remote_creds.clone());
    let lc = agent.local_credentials().clone();
    let mut b = Builder::new(Class::Request, BINDING, &[1; 12]);
    b.username(&format!("{}:{}", lc.ufrag, remote_creds.ufrag))
        .priority(1_862_270_975)
        .role(true, 5)
        .use_candidate();
    let req = b.finish(Some(lc.pwd.as_bytes()));
    agent
        .handle_receive(
            now,
            Datagram {
                source: remote,
                destination: local,
                contents: req,
            },
        )
        .unwrap();
    // A success response, then our triggered check to answer.
    let resp = agent.poll_transmit().unwrap();
    let m = Message::parse(resp.contents).unwrap();
    assert_eq!(m.class, Class::SuccessResponse);
    assert_eq!(m.mapped_address, Some(remote));
    m.verify_integrity(lc.pwd.as_bytes()).unwrap();
    let check = agent.poll_transmit().unwrap();
    let m = Message::parse(check.contents).unwrap();
    assert_eq!(m.class, Class::Request);
    m.verify_integrity(remote_creds.pwd.as_bytes()).unwrap();
    assert!(m.ice_controlled.is_some());
    let mut b = Builder::new(Class::SuccessResponse, BINDING, &m.transaction_id);
    b.xor_mapped_address(local);
    let resp = b.finish(Some(remote_creds.pwd.as_bytes()));
    agent
        .handle_receive(
            now,
            Datagram {
                source: remote,
                destination: local,
                contents: resp,
            },
        )
        .unwrap();
    assert_eq!(agent.selected_pair(), Some((local, remote)));
    assert_eq!(agent.state(), ConnectionState::Connected);
}

/// Deterministic RNG for hand-driven tests.
fn rand_like(seed: u64) -> impl rand_core::RngCore {
    struct R(u64);
    impl rand_core::RngCore for R {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 7
        }
        fn fill_bytes(&mut self, d: &mut [u8]) {
            for x in d {
                *x = self.next_u64() as u8;
            }
        }
    }
    R(seed)
}

#[test]
fn own_host_addresses_hidden_behind_mdns_names() {
    for resolve in [false, true] {
        let (a, b) = (addr(1), addr(2));
        let mut sim = Sim::new(8);
        sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
        add_peer(
            &mut sim,
            a,
            AgentConfig {
                mdns_host_names: true,
                ..config(Role::Controlling)
            },
        );
        add_peer(&mut sim, b, config(Role::Controlled));
        let cands = peer(&sim, a).local_candidates();
        assert_eq!(cands.len(), 1);
        assert!(cands[0].address.is_mdns(), "{}", cands[0]);
        assert!(!cands[0].to_string().contains("10.0.0.1"));
        let (name, ip) = peer(&sim, a)
            .events
            .iter()
            .find_map(|(_, e)| match e {
                Event::MdnsName { name, ip } => Some((name.clone(), *ip)),
                _ => None,
            })
            .unwrap();
        assert_eq!(cands[0].address, Address::Name(name.clone()));
        signal_all(&mut sim, a, b);
        let now = sim.now();
        let pb = peer_mut(&mut sim, b);
        assert!(pb
            .events
            .iter()
            .any(|(_, e)| *e == Event::ResolveName(name.clone())));
        // The application's resolver answers (or not).
        pb.agent
            .resolve_remote_name(now, &name, resolve.then_some(ip))
            .unwrap();
        sim.run_until(Duration::from_secs(10), |s| connected(s, a, b))
            .unwrap();
        let remote = peer(&sim, b)
            .agent
            .remote_candidates()
            .next()
            .cloned()
            .unwrap();
        let expect = if resolve {
            CandidateType::Host
        } else {
            CandidateType::PeerReflexive
        };
        assert_eq!(remote.typ, expect);
        send_and_check(&mut sim, b, a, b"to the hidden peer");
    }
}

#[test]
fn relay_only_hides_host_and_survives_an_unreachable_turn_server() {
    let a = addr(1);
    let mut sim = Sim::new(9);
    let turn = ferrtc_ice::TurnServer {
        addr: addr(77),
        username: "u".into(),
        password: "p".into(),
        transport: ferrtc_ice::TurnTransport::Udp,
    };
    add_peer(
        &mut sim,
        a,
        AgentConfig {
            turn_servers: vec![turn],
            relay_only: true,
            ..config(Role::Controlling)
        },
    );
    // Nothing signalled yet: the host candidate is not announced under the relay policy.
    assert!(peer(&sim, a).local_candidates().is_empty());
    let took = sim
        .run_until(Duration::from_secs(120), |s| {
            peer(s, a)
                .events
                .iter()
                .any(|(_, e)| *e == Event::GatheringComplete)
        })
        .unwrap();
    assert!(took > Duration::from_secs(1), "{took:?}");
    assert!(peer(&sim, a).local_candidates().is_empty());
    // The TURN client retransmitted its Allocate to the server address, from our socket.
    let sends = sim
        .trace()
        .iter()
        .filter(|t| matches!(t, ferrtc_testkit::TraceEvent::Send { from, to, .. } if *from == a && *to == addr(77)))
        .count();
    assert!(sends >= 2, "{sends}");
}

/// Like `add_peer`, but the agent sits behind an endpoint-independent NAT: its socket is
/// `private`, everybody else sees (and reaches) it as `public`, where it is registered.
fn add_natted_peer(
    sim: &mut Sim<Node>,
    private: SocketAddr,
    public: SocketAddr,
    config: AgentConfig,
) {
    let now = sim.now();
    let mut rng = sim.fork_rng();
    let mut agent = Agent::new(config, now, &mut rng);
    agent.gather(now, &[private]).unwrap();
    let mut p = Peer {
        agent,
        addr: private,
        start: now,
        events: Vec::new(),
        received: Vec::new(),
        errors: 0,
    };
    p.drain(now);
    sim.add_endpoint(public, Node::Ice(Box::new(p)));
}

#[test]
fn local_peer_reflexive_candidate_learned_behind_a_nat() {
    // a is behind a NAT and has no STUN server: its only candidate (a private host address)
    // is unreachable for b. b learns a's public address from a's checks (remote prflx), and
    // b's responses tell a its public address, which matches no local candidate: a adds a
    // local peer-reflexive candidate (RFC 8445 §7.2.5.3.1), unsignalled, with the base of its
    // socket, and the valid pair uses it.
    for a_controls in [true, false] {
        let private: SocketAddr = "192.168.1.10:5000".parse().unwrap();
        let public = addr(50);
        let b = addr(2);
        let mut sim = Sim::new(11);
        sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
        let (ra, rb) = if a_controls {
            (Role::Controlling, Role::Controlled)
        } else {
            (Role::Controlled, Role::Controlling)
        };
        add_natted_peer(&mut sim, private, public, config(ra));
        add_peer(&mut sim, b, config(rb));
        signal_all(&mut sim, public, b);
        sim.run_until(Duration::from_secs(10), |s| connected(s, public, b))
            .unwrap();
        let pa = peer(&sim, public);
        assert_eq!(pa.agent.selected_pair(), Some((private, b)));
        let prflx: Vec<_> = pa
            .agent
            .local_candidates()
            .filter(|c| c.typ == CandidateType::PeerReflexive)
            .cloned()
            .collect();
        assert_eq!(prflx.len(), 1, "{prflx:?}");
        assert_eq!(prflx[0].socket_addr(), Some(public));
        assert_eq!(
            prflx[0].related_address,
            Some(Address::Ip(private.ip())),
            "raddr is the base"
        );
        // Its priority is the PRIORITY our checks carried: type preference 110.
        assert_eq!(prflx[0].priority >> 24, 110);
        // Not signalled: the only candidate a ever announced is its host candidate.
        let announced = pa.local_candidates();
        assert_eq!(announced.len(), 1);
        assert_eq!(announced[0].typ, CandidateType::Host);
        // The valid (and selected) pair has the prflx candidate as its local candidate.
        let stats = pa.agent.pair_stats();
        let sel = stats
            .iter()
            .find(|s| s.local == private && s.remote == b)
            .unwrap();
        assert_eq!(sel.local_type, CandidateType::PeerReflexive);
        assert_eq!(sel.state, ferrtc_ice::PairState::Succeeded);
        // b sees a only as a peer-reflexive remote candidate.
        let pb = peer(&sim, b);
        assert_eq!(pb.agent.selected_pair(), Some((b, public)));
        assert!(pb
            .agent
            .remote_candidates()
            .any(|c| c.typ == CandidateType::PeerReflexive && c.socket_addr() == Some(public)));
        assert!(
            !pb.agent
                .local_candidates()
                .any(|c| c.typ == CandidateType::PeerReflexive),
            "b is not behind a NAT"
        );
        send_and_check(&mut sim, public, b, b"from behind the NAT");
        send_and_check(&mut sim, b, public, b"into the NAT");
        // An ICE restart forgets the learned candidate.
        let now = sim.now();
        let pa = peer_mut(&mut sim, public);
        pa.agent.restart(now);
        pa.drain(now);
        assert!(!pa
            .agent
            .local_candidates()
            .any(|c| c.typ == CandidateType::PeerReflexive));
    }
}
