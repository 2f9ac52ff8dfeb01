//! Application-data throughput of one DTLS association in memory, ferrtc's record layer
//! against OpenSSL's (`Config::rust_record_layer` on and off), same process, interleaved runs.
//!
//!     cargo run --release -p ferrtc-dtls --example record_speed -- [CIPHER] [SIZE]
//!
//! Each run sends 64 MiB of `SIZE`-byte records (default 1163, what SCTP packets of a 1200-byte
//! MTU carry) from client to server and from server to client: `send`, the datagram handed to
//! the peer's `handle_receive`, the event taken out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant, SystemTime};

use ferrtc_dtls::{Certificate, Config, Dtls, DtlsContext, Event, KeyType, Role};

fn connected(cipher: &str, rust: bool) -> (Dtls, Dtls) {
    let now = Instant::now();
    let (a, b) = (
        Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap(),
    );
    let cfg = |c: &Certificate| {
        let mut cfg = Config::new(c.clone());
        cfg.cipher_list = cipher.to_string();
        cfg.rust_record_layer = rust;
        DtlsContext::new(cfg).unwrap()
    };
    let mut client =
        Dtls::new(&cfg(&a), Role::Client, Some(b.fingerprint().unwrap()), now).unwrap();
    let mut server =
        Dtls::new(&cfg(&b), Role::Server, Some(a.fingerprint().unwrap()), now).unwrap();
    for _ in 0..10 {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, d).unwrap();
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, d).unwrap();
        }
    }
    client.send(b"start").unwrap();
    while let Some(d) = client.poll_transmit() {
        server.handle_receive(now, d).unwrap();
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    assert_eq!(client.is_openssl_released(), rust);
    assert_eq!(server.is_openssl_released(), rust);
    (client, server)
}

fn one_way(tx: &mut Dtls, rx: &mut Dtls, size: usize, total: usize) -> Duration {
    let now = Instant::now();
    let msg = vec![0x5a; size];
    let start = Instant::now();
    let mut got = 0;
    for _ in 0..total / size {
        tx.send(&msg).unwrap();
        while let Some(d) = tx.poll_transmit() {
            rx.handle_receive(now, d).unwrap();
        }
        while let Some(ev) = rx.poll_event() {
            if let Event::ApplicationData(d) = ev {
                got += d.len();
            }
        }
    }
    let t = start.elapsed();
    assert_eq!(got, total / size * size);
    t
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cipher = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ECDHE-ECDSA-AES128-GCM-SHA256".into());
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1163);
    let total = 64 << 20;
    let mib = total as f64 / (1 << 20) as f64;
    for round in 0..3 {
        for rust in [true, false] {
            let (mut c, mut s) = connected(&cipher, rust);
            let up = one_way(&mut c, &mut s, size, total);
            let down = one_way(&mut s, &mut c, size, total);
            println!(
                "round {round} {:8} {cipher} {size} B: client->server {:7.1} MiB/s, server->client {:7.1} MiB/s",
                if rust { "ferrtc" } else { "openssl" },
                mib / up.as_secs_f64(),
                mib / down.as_secs_f64(),
            );
        }
    }
}
