#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! An ICE peer on a real UDP socket (127.0.0.1 unless `--bind`), driven by the sans-IO agent,
//! with line-based signalling over stdin/stdout — used by `cargo xtask ice-aioice` to connect
//! to aioice, by `cargo xtask ice-nat` to connect through NATs in network namespaces, and by
//! hand to connect two of these (pipe each one's stdout into the other's stdin).
//!
//! ```text
//! usage: ice_udp_peer controlling|controlled [--lite] [--timeout SECS] [--bind IP:PORT]
//!                     [--stun ADDR] [--turn ADDR,USER,PASS] [--relay-only] [--rto-ms MS]
//!                     [--max-transmissions N]
//! out:   creds <ufrag> <pwd> | cand candidate:... | eoc        (signalling for the peer)
//!        connected <local> <remote> <ms> | pair <local type> <remote type>
//!        recv <text> | done                                     (progress)
//! in:    creds <ufrag> <pwd> | cand candidate:... | eoc | lite
//! ```
//!
//! Once connected each side sends `hello from ferrtc`, answers any `hello…` with `echo:hello…`,
//! and exits 0 after its own hello came back echoed (1 on timeout). `<ms>` is the time from
//! having both the remote credentials and a remote candidate to the Connected state.

use std::io::{BufRead, Write};
use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::{
    Agent, AgentConfig, Candidate, ConnectionState, Credentials, Datagram, Event, Role,
};

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    writeln!(o, "{line}").unwrap();
    o.flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let role = match args.first().map(String::as_str) {
        Some("controlling") => Role::Controlling,
        Some("controlled") => Role::Controlled,
        _ => {
            eprintln!(
                "usage: ice_udp_peer controlling|controlled [--lite] [--timeout SECS] \
                 [--bind IP:PORT] [--stun ADDR] [--turn ADDR,USER,PASS] [--relay-only] \
                 [--rto-ms MS] [--max-transmissions N]"
            );
            std::process::exit(2);
        }
    };
    let lite = args.iter().any(|a| a == "--lite");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let timeout = value("--timeout")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20u64);
    let bind = value("--bind").unwrap_or_else(|| "127.0.0.1:0".into());
    // --stun ADDR: learn a server-reflexive candidate from this STUN server.
    let stun_servers: Vec<std::net::SocketAddr> = value("--stun")
        .map(|s| vec![s.parse().expect("--stun wants IP:PORT")])
        .unwrap_or_default();
    let defaults = AgentConfig::default();
    // --rto-ms / --max-transmissions: shorter check retransmission, so that a pair that cannot
    // work fails (and the agent reaches Failed) in a few seconds.
    let initial_rto = value("--rto-ms")
        .and_then(|s| s.parse().ok())
        .map_or(defaults.initial_rto, Duration::from_millis);
    let max_transmissions = value("--max-transmissions")
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.max_transmissions);

    let socket = UdpSocket::bind(bind.as_str()).unwrap();
    let local = socket.local_addr().unwrap();
    let start = Instant::now();
    // The agent is sans-IO: the seed of its CSPRNG comes from the OS here.
    let mut seed = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut seed)
        .unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_seed(seed);
    // --turn ADDR,USER,PASS (UDP to the server); --relay-only (iceTransportPolicy "relay").
    let turn_servers: Vec<ferrtc_ice::agent::TurnServer> = args
        .iter()
        .position(|a| a == "--turn")
        .and_then(|i| args.get(i + 1))
        .map(|spec| {
            let mut it = spec.split(',');
            let addr = it.next().unwrap().parse().unwrap();
            let username = it.next().unwrap_or("").to_string();
            let password = it.next().unwrap_or("").to_string();
            vec![ferrtc_ice::agent::TurnServer {
                addr,
                username,
                password,
            }]
        })
        .unwrap_or_default();
    let relay_only = args.iter().any(|a| a == "--relay-only");
    let config = AgentConfig {
        turn_servers,
        stun_servers,
        relay_only,
        initial_rto,
        max_rto: defaults.max_rto.max(initial_rto),
        max_transmissions,
        role,
        lite,
        include_loopback: true,
        ..defaults
    };
    let mut agent = Agent::new(config, start, &mut rng);
    agent.gather(start, &[local]).unwrap();
    let c = agent.local_credentials().clone();
    out(&format!("creds {} {}", c.ufrag, c.pwd));

    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = start + Duration::from_secs(timeout);
    let mut buf = vec![0u8; 2048];
    let mut have_creds = false;
    let mut have_cand = false;
    let mut ready_at: Option<Instant> = None;
    let mut said_hello = false;
    let mut echoed = false;
    let mut done_at: Option<Instant> = None;
    let mut pending: Vec<Bytes> = Vec::new();
    loop {
        let now = Instant::now();
        if now > deadline {
            eprintln!("ice_udp_peer: timeout, state {:?}", agent.state());
            std::process::exit(1);
        }
        if done_at.is_some_and(|t| now >= t) {
            out("done");
            return;
        }
        while let Ok(line) = rx.try_recv() {
            let now = Instant::now();
            if let Some(rest) = line.strip_prefix("creds ") {
                let mut it = rest.split(' ');
                let (u, p) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
                agent.set_remote_credentials(
                    now,
                    Credentials {
                        ufrag: u.into(),
                        pwd: p.into(),
                    },
                );
                have_creds = true;
            } else if let Some(rest) = line.strip_prefix("cand ") {
                let text = if rest.starts_with("candidate:") {
                    rest.to_string()
                } else {
                    format!("candidate:{rest}")
                };
                match Candidate::parse(&text) {
                    Ok(c) => {
                        if let Err(e) = agent.add_remote_candidate(now, c) {
                            eprintln!("ice_udp_peer: candidate {text}: {e}");
                        }
                        have_cand = true;
                    }
                    Err(e) => eprintln!("ice_udp_peer: cannot parse {text}: {e}"),
                }
            } else if line == "eoc" {
                agent.end_of_remote_candidates(now);
            } else if line == "lite" {
                agent.set_remote_lite(true);
            }
            if have_creds && have_cand && ready_at.is_none() {
                ready_at = Some(now);
            }
        }
        let now = Instant::now();
        agent.handle_timeout(now);
        while let Some(ev) = agent.poll_event() {
            match ev {
                Event::LocalCandidate(c) => out(&format!("cand {c}")),
                Event::GatheringComplete => out("eoc"),
                Event::ConnectionState(s) => {
                    eprintln!("ice_udp_peer: state {s:?}");
                    if matches!(s, ConnectionState::Connected | ConnectionState::Completed)
                        && !said_hello
                    {
                        let (l, r) = agent.selected_pair().unwrap();
                        let ms =
                            ready_at.map_or(0.0, |t| now.duration_since(t).as_secs_f64() * 1000.0);
                        out(&format!("connected {l} {r} {ms:.3}"));
                        // Candidate types of the selected pair (relay, srflx, prflx, host).
                        if let Some(p) = agent
                            .pair_stats()
                            .into_iter()
                            .find(|p| p.local == l && p.remote == r)
                        {
                            out(&format!(
                                "pair {} {}",
                                p.local_type.as_str(),
                                p.remote_type.as_str()
                            ));
                        }
                        agent
                            .send(Bytes::from_static(b"hello from ferrtc"))
                            .unwrap();
                        said_hello = true;
                    }
                    if s == ConnectionState::Failed {
                        eprintln!("ice_udp_peer: failed");
                        std::process::exit(1);
                    }
                }
                other => eprintln!("ice_udp_peer: {other:?}"),
            }
        }
        if agent.selected_pair().is_some() {
            for p in pending.drain(..) {
                agent.send(p).unwrap();
            }
        }
        while let Some(t) = agent.poll_transmit() {
            let _ = socket.send_to(&t.contents, t.destination);
        }
        let wait = agent
            .poll_timeout()
            .map_or(Duration::from_millis(10), |t| {
                t.saturating_duration_since(Instant::now())
            })
            .clamp(Duration::from_micros(100), Duration::from_millis(10));
        socket.set_read_timeout(Some(wait)).unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let d = Datagram {
                source: from,
                destination: local,
                contents: Bytes::copy_from_slice(&buf[..n]),
            };
            match agent.handle_receive(Instant::now(), d) {
                Ok(Some(data)) => {
                    let text = String::from_utf8_lossy(&data).to_string();
                    out(&format!("recv {text}"));
                    if text.starts_with("hello") {
                        // Data may arrive before our side has selected the pair: answer then.
                        pending.push(Bytes::from(format!("echo:{text}")));
                    } else if text == "echo:hello from ferrtc" && !echoed {
                        echoed = true;
                        done_at = Some(Instant::now() + Duration::from_millis(500));
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!("ice_udp_peer: {e}"),
            }
        }
    }
}
