//! CPU cost of generated certificates, for profiling (issue 14):
//!
//!     cargo run --release -p ferrtc-dtls --example cert_speed -- [cert|handshake] [N]
//!     perf record --call-graph dwarf target/release/examples/cert_speed cert 3000
//!
//! `cert`: N certificates (a fresh ECDSA P-256 key, self-signed). `handshake`: N times two
//! fresh certificates, their contexts and a handshake between them in memory (so a cost that
//! moves from generation to the key's first use in a handshake shows up). Prints the mean
//! thread CPU time per iteration (from `/proc/thread-self/stat`, 10 ms ticks: use N large
//! enough for a second or more) after a warm-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use ferrtc_dtls::{Certificate, Config, Dtls, DtlsContext, Event, KeyType, Role};

/// User + system CPU time of this thread (fields 14 and 15 of `/proc/thread-self/stat`).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    // USER_HZ is 100 on Linux.
    Duration::from_millis((f[0] + f[1]) * 10)
}

fn certificate() -> Certificate {
    Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap()
}

fn handshake() {
    let now = Instant::now();
    let (a, b) = (certificate(), certificate());
    let ctx = |c: &Certificate| DtlsContext::new(Config::new(c.clone())).unwrap();
    let mut client =
        Dtls::new(&ctx(&a), Role::Client, Some(b.fingerprint().unwrap()), now).unwrap();
    let mut server =
        Dtls::new(&ctx(&b), Role::Server, Some(a.fingerprint().unwrap()), now).unwrap();
    for _ in 0..6 {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, d).unwrap();
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, d).unwrap();
        }
    }
    let connected = |d: &mut Dtls| {
        std::iter::from_fn(|| d.poll_event()).any(|e| matches!(e, Event::Connected { .. }))
    };
    assert!(connected(&mut client) && connected(&mut server));
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "cert".into());
    let n: u32 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(5000);
    let run = || match mode.as_str() {
        "cert" => drop(black_box(certificate())),
        "handshake" => handshake(),
        other => panic!("unknown mode {other:?} (cert or handshake)"),
    };
    for _ in 0..n.div_ceil(20) {
        run();
    }
    let t = thread_cpu();
    for _ in 0..n {
        run();
    }
    println!("{mode}: {:?} CPU each ({n} runs)", (thread_cpu() - t) / n);
}
