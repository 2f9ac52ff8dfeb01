//! ICE: time from both agents having each other's credentials and host candidate to both being
//! connected, on real UDP sockets on 127.0.0.1. One thread drives both agents over
//! non-blocking sockets, so the figure is the protocols' (pacing, nomination round trips), not
//! a scheduler's. Sockets and agents are set up outside the timed part; the timed part starts
//! when the remote credentials and candidates are handed to both agents.
//!
//! Each agent is driven the way its own stack drives it:
//! - ferrtc: `handle_receive` for every datagram, `handle_timeout` when `poll_timeout` is due;
//! - str0m 0.25 (`str0m::ice::IceAgent`, the `is` crate): `handle_packet` for every STUN
//!   message followed by `handle_timeout(now)`, as `Rtc::handle_input(Input::Receive)` does, and
//!   `handle_timeout` when `poll_timeout` is due.
//!
//! Both use their default timing: ferrtc checks every 1 ms (Ta) and nominates with a second
//! check (regular nomination); str0m paces at 50 ms but lets a nomination skip the queue.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};

/// Give up on a run after this long (a bench that hangs is worse than one that panics).
const LIMIT: Duration = Duration::from_secs(5);

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

fn ferrtc_connect(seed: u64) -> Duration {
    use ferrtc_ice::{Agent, AgentConfig, ConnectionState, Datagram, Role};
    let connected = |a: &Agent| {
        matches!(
            a.state(),
            ConnectionState::Connected | ConnectionState::Completed
        )
    };
    let socks = [socket(), socket()];
    let locals = [
        socks[0].local_addr().unwrap(),
        socks[1].local_addr().unwrap(),
    ];
    let mut agents: Vec<Agent> = [Role::Controlling, Role::Controlled]
        .into_iter()
        .enumerate()
        .map(|(i, role)| {
            let now = Instant::now();
            let mut rng =
                <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed * 2 + i as u64);
            let cfg = AgentConfig {
                role,
                include_loopback: true,
                ..AgentConfig::default()
            };
            let mut a = Agent::new(cfg, now, &mut rng);
            a.gather(now, &[locals[i]]).unwrap();
            while a.poll_event().is_some() {}
            a
        })
        .collect();
    let start = Instant::now();
    for (i, j) in [(0, 1), (1, 0)] {
        let creds = agents[j].local_credentials().clone();
        let cands: Vec<_> = agents[j].local_candidates().cloned().collect();
        agents[i].set_remote_credentials(start, creds);
        for c in cands {
            agents[i].add_remote_candidate(start, c).unwrap();
        }
    }
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        for (i, a) in agents.iter_mut().enumerate() {
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now);
            }
            while let Some(t) = a.poll_transmit() {
                socks[i].send_to(&t.contents, t.destination).unwrap();
            }
            while let Ok((n, from)) = socks[i].recv_from(&mut buf) {
                let d = Datagram {
                    source: from,
                    destination: locals[i],
                    contents: Bytes::copy_from_slice(&buf[..n]),
                };
                let _ = a.handle_receive(Instant::now(), d);
                while let Some(t) = a.poll_transmit() {
                    socks[i].send_to(&t.contents, t.destination).unwrap();
                }
            }
            while a.poll_event().is_some() {}
        }
        if agents.iter().all(connected) {
            return start.elapsed();
        }
        assert!(start.elapsed() < LIMIT, "ferrtc did not connect");
    }
}

fn str0m_connect() -> Duration {
    use str0m::ice::{IceAgent, IceCreds, StunMessage, StunPacket};
    use str0m::net::Protocol;
    use str0m::Candidate;
    let socks = [socket(), socket()];
    let locals = [
        socks[0].local_addr().unwrap(),
        socks[1].local_addr().unwrap(),
    ];
    let mut agents: Vec<IceAgent> = (0..2)
        .map(|i| {
            let mut a = IceAgent::new(IceCreds::new());
            a.set_controlling(i == 0);
            a.add_local_candidate(Candidate::host(locals[i], "udp").unwrap());
            a
        })
        .collect();
    let start = Instant::now();
    for (i, j) in [(0, 1), (1, 0)] {
        let creds = agents[j].local_credentials().clone();
        let cands: Vec<_> = agents[j].local_candidates().collect();
        agents[i].set_remote_credentials(creds);
        for c in cands {
            agents[i].add_remote_candidate(c);
        }
    }
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        for (i, a) in agents.iter_mut().enumerate() {
            if a.poll_timeout().is_none_or(|t| t <= now) {
                a.handle_timeout(now);
            }
            while let Some(t) = a.poll_transmit() {
                socks[i].send_to(&t.contents, t.destination).unwrap();
            }
            while let Ok((n, from)) = socks[i].recv_from(&mut buf) {
                let Ok(message) = StunMessage::parse(&buf[..n]) else {
                    continue;
                };
                let packet = StunPacket {
                    proto: Protocol::Udp,
                    source: from,
                    destination: locals[i],
                    message,
                };
                let t = Instant::now();
                a.handle_packet(t, packet);
                a.handle_timeout(t);
                while let Some(t) = a.poll_transmit() {
                    socks[i].send_to(&t.contents, t.destination).unwrap();
                }
            }
            while a.poll_event().is_some() {}
        }
        if agents.iter().all(|a| a.state().is_connected()) {
            return start.elapsed();
        }
        assert!(start.elapsed() < LIMIT, "str0m did not connect");
    }
}

fn ice_connect(c: &mut Criterion) {
    let mut g = c.benchmark_group("ice/connect loopback host");
    g.sample_size(30);
    let mut seed = 0u64;
    g.bench_function("ferrtc", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    seed += 1;
                    black_box(ferrtc_connect(seed))
                })
                .sum()
        })
    });
    g.bench_function("str0m 0.25", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| black_box(str0m_connect())).sum())
    });
    g.finish();
}

criterion_group!(benches, ice_connect);
criterion_main!(benches);
