#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Measures, on real UDP sockets on 127.0.0.1, the time from both agents having each other's
//! credentials and host candidate to both being connected. One thread drives both agents
//! (non-blocking sockets), so the figure is the protocol's, not a scheduler's.
//!
//! usage: ice_loopback_time [RUNS]   (default 200; prints min / median / p90 in microseconds)

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::{Agent, AgentConfig, ConnectionState, Datagram, Role};

struct Side {
    agent: Agent,
    socket: UdpSocket,
}

fn connected(a: &Agent) -> bool {
    matches!(
        a.state(),
        ConnectionState::Connected | ConnectionState::Completed
    )
}

fn one_run(seed: u8) -> Duration {
    let mut sides: Vec<Side> = [Role::Controlling, Role::Controlled]
        .into_iter()
        .enumerate()
        .map(|(i, role)| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_nonblocking(true).unwrap();
            let now = Instant::now();
            let mut rng =
                <rand::rngs::StdRng as rand::SeedableRng>::from_seed([seed ^ i as u8; 32]);
            let cfg = AgentConfig {
                role,
                include_loopback: true,
                ..AgentConfig::default()
            };
            let mut agent = Agent::new(cfg, now, &mut rng);
            agent.gather(now, &[socket.local_addr().unwrap()]).unwrap();
            while agent.poll_event().is_some() {}
            Side { agent, socket }
        })
        .collect();
    // Signalling: both sides get everything at the same instant.
    let start = Instant::now();
    for (i, j) in [(0, 1), (1, 0)] {
        let creds = sides[j].agent.local_credentials().clone();
        let cands: Vec<_> = sides[j].agent.local_candidates().cloned().collect();
        let a = &mut sides[i].agent;
        a.set_remote_credentials(start, creds);
        for c in cands {
            a.add_remote_candidate(start, c).unwrap();
        }
    }
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        for s in &mut sides {
            if s.agent.poll_timeout().is_some_and(|t| t <= now) {
                s.agent.handle_timeout(now);
            }
            while let Some(t) = s.agent.poll_transmit() {
                s.socket.send_to(&t.contents, t.destination).unwrap();
            }
            while let Ok((n, from)) = s.socket.recv_from(&mut buf) {
                let local = s.socket.local_addr().unwrap();
                let d = Datagram {
                    source: from,
                    destination: local,
                    contents: Bytes::copy_from_slice(&buf[..n]),
                };
                let _ = s.agent.handle_receive(Instant::now(), d);
                while let Some(t) = s.agent.poll_transmit() {
                    s.socket.send_to(&t.contents, t.destination).unwrap();
                }
            }
        }
        if sides.iter().all(|s| connected(&s.agent)) {
            let took = start.elapsed();
            if std::env::var_os("ICE_DEBUG").is_some() && took > Duration::from_millis(2) {
                for (i, s) in sides.iter().enumerate() {
                    eprintln!("side {i}: {:?}", s.agent.pair_stats());
                }
            }
            return took;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "did not connect");
    }
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut t: Vec<Duration> = (0..runs).map(|i| one_run(i as u8)).collect();
    t.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "ferrtc-ice loopback host/host, both sides signalled -> both connected, {runs} runs: min {:.0} us, median {:.0} us, p90 {:.0} us",
        us(t[0]),
        us(t[runs / 2]),
        us(t[runs * 9 / 10])
    );
}
