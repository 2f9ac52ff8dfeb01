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
//!                     [--max-transmissions N] [--turn-tcp | --turn-tls NAME,CA.pem]
//! out:   creds <ufrag> <pwd> | cand candidate:... | eoc        (signalling for the peer)
//!        connected <local> <remote> <ms> | pair <local type> <remote type>
//!        recv <text> | done                                     (progress)
//! in:    creds <ufrag> <pwd> | cand candidate:... | eoc | lite
//! ```
//!
//! Once connected each side sends `hello from ferrtc`, answers any `hello…` with `echo:hello…`,
//! and exits 0 after its own hello came back echoed (1 on timeout). `<ms>` is the time from
//! having both the remote credentials and a remote candidate to the Connected state.
//!
//! `--turn-tcp` reaches the TURN server over TCP, `--turn-tls NAME,CA.pem` over TLS (the
//! server certificate checked against NAME, trusting CA.pem besides the system roots); the
//! relayed address stays UDP (RFC 8656 §3.1).

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
                 [--rto-ms MS] [--max-transmissions N] [--turn-tcp | --turn-tls NAME,CA.pem]"
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
    // --turn-tcp / --turn-tls NAME,CA.pem: how the TURN server is reached.
    let tls_spec = value("--turn-tls");
    let turn_transport = match &tls_spec {
        Some(spec) => ferrtc_ice::TurnTransport::Tls {
            server_name: spec.split(',').next().unwrap_or("").to_string(),
        },
        None if args.iter().any(|a| a == "--turn-tcp") => ferrtc_ice::TurnTransport::Tcp,
        None => ferrtc_ice::TurnTransport::Udp,
    };
    let tls_ca = tls_spec.and_then(|s| s.split(',').nth(1).map(str::to_string));
    // --turn ADDR,USER,PASS; --relay-only (iceTransportPolicy "relay").
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
                transport: turn_transport.clone(),
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
    let mut stream: Option<TurnStream> = None;
    let mut stream_failed = false;
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
            if !t.is_stream() {
                let _ = socket.send_to(&t.contents, t.destination);
                continue;
            }
            // TURN over TCP/TLS: the first bytes for the server open the connection.
            if stream_failed {
                continue;
            }
            if stream.is_none() {
                match TurnStream::connect(t.destination, &t.transport, tls_ca.as_deref()) {
                    Ok(s) => stream = Some(s),
                    Err(e) => {
                        eprintln!("ice_udp_peer: TURN stream to {}: {e}", t.destination);
                        stream_failed = true;
                        agent.handle_stream_closed(Instant::now(), t.source, t.destination);
                        continue;
                    }
                }
            }
            if let Some(s) = stream.as_mut() {
                if let Err(e) = s.write_all(&t.contents) {
                    eprintln!("ice_udp_peer: TURN stream write: {e}");
                    stream = None;
                    stream_failed = true;
                    agent.handle_stream_closed(Instant::now(), t.source, t.destination);
                }
            }
        }
        if let Some(s) = stream.as_mut() {
            let server = s.server;
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) if !s.would_block.get() => {
                        eprintln!("ice_udp_peer: TURN stream closed");
                        stream = None;
                        stream_failed = true;
                        agent.handle_stream_closed(Instant::now(), local, server);
                        break;
                    }
                    Ok(n) if n > 0 => {
                        match agent.handle_stream_data(Instant::now(), local, server, &buf[..n]) {
                            Ok(datas) => {
                                for data in datas {
                                    on_app_data(&data, &mut pending, &mut echoed, &mut done_at);
                                }
                            }
                            Err(e) => eprintln!("ice_udp_peer: {e}"),
                        }
                    }
                    _ => break,
                }
            }
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
                Ok(Some(data)) => on_app_data(&data, &mut pending, &mut echoed, &mut done_at),
                Ok(None) => {}
                Err(e) => eprintln!("ice_udp_peer: {e}"),
            }
        }
    }
}

/// Application data from the peer: print it, echo a hello, finish once ours came back.
fn on_app_data(
    data: &[u8],
    pending: &mut Vec<Bytes>,
    echoed: &mut bool,
    done_at: &mut Option<Instant>,
) {
    let text = String::from_utf8_lossy(data).to_string();
    out(&format!("recv {text}"));
    if text.starts_with("hello") {
        // Data may arrive before our side has selected the pair: answer then.
        pending.push(Bytes::from(format!("echo:{text}")));
    } else if text == "echo:hello from ferrtc" && !*echoed {
        *echoed = true;
        *done_at = Some(Instant::now() + Duration::from_millis(500));
    }
}

/// The TCP or TLS connection to the TURN server, polled without blocking.
struct TurnStream {
    server: std::net::SocketAddr,
    io: StreamIo,
    /// The last read found nothing to read (as opposed to EOF or an error).
    would_block: std::cell::Cell<bool>,
}

enum StreamIo {
    Tcp(std::net::TcpStream),
    Tls(Box<openssl::ssl::SslStream<std::net::TcpStream>>),
}

impl TurnStream {
    fn connect(
        server: std::net::SocketAddr,
        transport: &ferrtc_ice::TurnTransport,
        ca: Option<&str>,
    ) -> Result<TurnStream, String> {
        let tcp = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let io = match transport {
            ferrtc_ice::TurnTransport::Tls { server_name } => {
                // The system roots, plus the test CA.
                let mut b =
                    openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
                        .map_err(|e| e.to_string())?;
                if let Some(ca) = ca {
                    b.set_ca_file(ca).map_err(|e| format!("CA {ca}: {e}"))?;
                }
                tcp.set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                let s = b
                    .build()
                    .connect(server_name, tcp)
                    .map_err(|e| format!("TLS handshake with {server_name}: {e}"))?;
                s.get_ref()
                    .set_nonblocking(true)
                    .map_err(|e| e.to_string())?;
                StreamIo::Tls(Box::new(s))
            }
            _ => {
                tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
                StreamIo::Tcp(tcp)
            }
        };
        Ok(TurnStream {
            server,
            io,
            would_block: std::cell::Cell::new(false),
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Read;
        let r = match &mut self.io {
            StreamIo::Tcp(s) => s.read(buf),
            StreamIo::Tls(s) => s.read(buf),
        };
        self.would_block
            .set(matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
        r
    }

    /// Writes everything, waiting out a full socket buffer.
    fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        let start = Instant::now();
        while !data.is_empty() {
            let r = match &mut self.io {
                StreamIo::Tcp(s) => s.write(data),
                StreamIo::Tls(s) => s.write(data),
            };
            match r {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if start.elapsed() > Duration::from_secs(5) {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
