//! How many connected data-channel peer connections fit in one process, and what each costs.
//!
//!     cargo run --release -p ferrtc-peerconnection --example scale -- [PAIRS]   # default 5000
//!
//! Creates PAIRS pairs of sans-IO peer connections (2 × PAIRS connections), connects every pair
//! in memory (datagrams handed from one to the other; one shared certificate, as a server
//! uses), checks that every pair's channel is open and passes a message, and prints the
//! resident memory per idle connected connection (RSS growth / connections, from
//! /proc/self/statm).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_peerconnection::{
    ChannelId, ChannelInit, Configuration, Datagram, Event, OfferOptions, Output, PeerConnection,
    ReadyState,
};
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live Rust heap bytes, to tell them apart from OpenSSL's own (libc) allocations.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
// SAFETY-free: delegating to the system allocator is safe by GlobalAlloc's contract; this
// example is outside the library (the no-unsafe rule covers library crates).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Counting = Counting;

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

struct Pair {
    a: PeerConnection,
    b: PeerConnection,
    addr_a: SocketAddr,
    addr_b: SocketAddr,
    ch: ChannelId,
    pinged: bool,
}

/// Moves datagrams between the two until both are quiet; returns the earliest timeout.
fn shuttle(p: &mut Pair, now: Instant) -> Option<Instant> {
    let mut next: Option<Instant> = None;
    for _ in 0..1000 {
        let mut moved = false;
        for side in 0..2 {
            let (from, to, to_addr) = if side == 0 {
                (&mut p.a, &mut p.b, p.addr_b)
            } else {
                (&mut p.b, &mut p.a, p.addr_a)
            };
            loop {
                match from.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        let _ = to.handle_receive(
                            now,
                            Datagram {
                                source: t.source,
                                destination: to_addr,
                                contents: t.contents,
                            },
                        );
                    }
                    Output::Event(Event::ChannelMessage { data, .. }) => {
                        p.pinged |= &data[..] == b"ping";
                    }
                    Output::Event(_) => {}
                    Output::Timeout(t) => {
                        next = Some(next.map_or(t, |n: Instant| n.min(t)));
                        break;
                    }
                }
            }
        }
        if !moved {
            break;
        }
    }
    next
}

fn main() {
    if std::env::var_os("FERRTC_SIZES").is_some() {
        println!(
            "sizes: PeerConnection {} B, ice::Agent {} B, sctp::Association {} B, dtls::Dtls {} B",
            std::mem::size_of::<PeerConnection>(),
            std::mem::size_of::<ferrtc_ice::Agent>(),
            std::mem::size_of::<ferrtc_sctp::Association>(),
            std::mem::size_of::<ferrtc_dtls::Dtls>()
        );
    }
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
    let cfg = Configuration::new(cert).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let before = rss_kib();
    let heap_before = LIVE.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut all = Vec::with_capacity(pairs);
    let ip = |n: usize| -> std::net::IpAddr {
        std::net::Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8).into()
    };
    for i in 0..pairs {
        let now = Instant::now();
        let addr_a = SocketAddr::new(ip(2 * i + 1), 40000);
        let addr_b = SocketAddr::new(ip(2 * i + 2), 50000);
        let mut a = PeerConnection::new(cfg.clone(), now, &mut rng).unwrap();
        let mut b = PeerConnection::new(cfg.clone(), now, &mut rng).unwrap();
        a.add_local_interface(now, addr_a).unwrap();
        a.end_of_local_interfaces(now);
        b.add_local_interface(now, addr_b).unwrap();
        b.end_of_local_interfaces(now);
        let ch = a
            .create_data_channel(ChannelInit {
                label: "dc".into(),
                ..Default::default()
            })
            .unwrap();
        let offer = a.create_offer(OfferOptions::default()).unwrap();
        a.set_local_description(now, offer).unwrap();
        b.set_remote_description(now, a.local_description().unwrap())
            .unwrap();
        let answer = b.create_answer().unwrap();
        b.set_local_description(now, answer).unwrap();
        a.set_remote_description(now, b.local_description().unwrap())
            .unwrap();
        let mut p = Pair {
            a,
            b,
            addr_a,
            addr_b,
            ch,
            pinged: false,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = Instant::now();
            let next = shuttle(&mut p, now);
            if p.a
                .channel(p.ch)
                .is_some_and(|c| c.ready_state == ReadyState::Open)
            {
                break;
            }
            assert!(now < deadline, "pair {i} did not connect");
            if next.is_some_and(|t| t <= Instant::now()) {
                p.a.handle_timeout(Instant::now());
                p.b.handle_timeout(Instant::now());
            }
        }
        shuttle(&mut p, Instant::now());
        all.push(p);
    }
    let setup = start.elapsed();
    let mut ok = 0;
    for p in &mut all {
        p.a.send_text(p.ch, "ping").unwrap();
        shuttle(p, Instant::now());
        ok += usize::from(p.pinged);
    }
    let after = rss_kib();
    let heap = LIVE.load(Ordering::Relaxed).saturating_sub(heap_before);
    let conns = 2 * pairs;
    println!(
        "{conns} connected peer connections ({pairs} pairs) alive in one process; \
         {ok}/{pairs} pairs passed a message"
    );
    println!(
        "setup {:.2} s ({:.0} µs per pair); RSS {} MiB -> {} MiB: {:.1} KiB per connection",
        setup.as_secs_f64(),
        setup.as_secs_f64() * 1e6 / pairs as f64,
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) as f64 / conns as f64
    );
    println!(
        "of which Rust heap {:.1} KiB per connection (the rest is OpenSSL's and the allocator's)",
        heap as f64 / 1024.0 / conns as f64
    );
    assert_eq!(ok, pairs);
}
