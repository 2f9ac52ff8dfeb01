//! Bulk transfer between two associations in memory, the ferrtc side of the
//! `sctp/throughput 64KiB reliable ordered` bench without criterion, so that a change to the
//! send/receive path can be compared quickly in a plain release build:
//!
//!     cargo run --release -p ferrtc-sctp --example throughput -- [ROUNDS]   # default 30
//!
//! Each round moves 64 messages of 64 KiB over one reliable ordered stream (1160-byte packets,
//! 1 MiB receive window, every datagram copied into a fresh buffer), on the real clock. Prints
//! the median and best round in Gbit/s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use bytes::Bytes;
use ferrtc_sctp::{Association, Config, Event, SendOptions, State};
use rand::rngs::StdRng;
use rand::SeedableRng;

const MSG: usize = 64 * 1024;
const BATCH: usize = 64;

/// Moves every packet due from `from` to `to`; whether any moved.
fn deliver(from: &mut Association, to: &mut Association, now: Instant) -> bool {
    let mut moved = false;
    while let Some(p) = from.poll_transmit() {
        to.handle_receive(now, Bytes::from(p.to_vec())).unwrap();
        moved = true;
    }
    moved
}

fn round(a: &mut Association, b: &mut Association, payload: &Bytes) {
    let (mut sent, mut received) = (0, 0);
    let mut now = Instant::now();
    while received < BATCH {
        while sent < BATCH
            && a.send(now, 1, 53, payload.clone(), SendOptions::default())
                .is_ok()
        {
            sent += 1;
        }
        let mut moved = deliver(a, b, now);
        while let Some(ev) = b.poll_event() {
            if let Event::Message(m) = ev {
                assert_eq!(m.payload.len(), MSG);
                received += 1;
            }
        }
        moved |= deliver(b, a, now);
        while a.poll_event().is_some() {}
        if !moved {
            // Nothing can move: wait for the next timer (the delayed SACK), in real time.
            if let Some(t) = a.poll_timeout().into_iter().chain(b.poll_timeout()).min() {
                let wait = t.saturating_duration_since(Instant::now());
                std::thread::sleep(wait);
            }
            now = Instant::now();
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        now = Instant::now();
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let cfg = Config {
        max_packet_size: 1160,
        receive_buffer_size: 1024 * 1024,
        max_message_size: MSG,
        heartbeat_interval: None,
        ..Default::default()
    };
    let now = Instant::now();
    let mut a = Association::new(cfg.clone(), now, &mut StdRng::seed_from_u64(1));
    let mut b = Association::new(cfg, now, &mut StdRng::seed_from_u64(2));
    a.connect(now);
    for _ in 0..10 {
        deliver(&mut a, &mut b, now);
        deliver(&mut b, &mut a, now);
        while a.poll_event().is_some() || b.poll_event().is_some() {}
    }
    assert_eq!(
        (a.state(), b.state()),
        (State::Established, State::Established)
    );
    let payload = Bytes::from(vec![0xa5u8; MSG]);
    round(&mut a, &mut b, &payload); // warm-up
    let mut gbps: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            round(&mut a, &mut b, &payload);
            (MSG * BATCH * 8) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    gbps.sort_by(f64::total_cmp);
    println!(
        "{rounds} rounds of {BATCH} x {MSG} B: median {:.2} Gbit/s, best {:.2} Gbit/s",
        gbps[gbps.len() / 2],
        gbps[gbps.len() - 1]
    );
}
