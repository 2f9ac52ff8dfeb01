//! Simulated network with a virtual clock for testing sans-IO protocol state machines.
//!
//! Every stateful ferrtc crate is a state machine with the shape of DESIGN.md
//! (`handle_receive`, `handle_timeout`, `poll_transmit`, `poll_timeout`). A test wraps it in a
//! small adapter implementing [`Endpoint`], puts two or more of them in a [`Sim`] at
//! [`SocketAddr`]s, configures the links between them ([`LinkConfig`]: delay, jitter, random or
//! bursty loss, reordering, duplication, MTU, rate limit with a queue) and runs it:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use ferrtc_testkit::{Endpoint, LinkConfig, Loss, Sim};
//! # use std::net::SocketAddr;
//! /// Sends one ping; echoes what it receives; counts what came back.
//! struct Echo { peer: SocketAddr, out: Vec<Bytes>, got: usize }
//! impl Endpoint for Echo {
//!     fn handle_receive(&mut self, _now: Instant, _from: SocketAddr, data: Bytes) {
//!         self.got += 1;
//!         if self.got < 10 { self.out.push(data) }
//!     }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//!     fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
//!         self.out.pop().map(|d| (self.peer, d))
//!     }
//!     fn poll_timeout(&mut self) -> Option<Instant> { None }
//! }
//! let (a, b): (SocketAddr, SocketAddr) = ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
//! let mut sim = Sim::new(7);
//! sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(50)));
//! sim.add_endpoint(a, Echo { peer: b, out: vec![Bytes::from_static(b"ping")], got: 0 });
//! sim.add_endpoint(b, Echo { peer: a, out: vec![], got: 0 });
//! let took = sim.run_until(Duration::from_secs(60), |s| s.endpoint(a).unwrap().got >= 5).unwrap();
//! assert_eq!(took, Duration::from_millis(500)); // 10 one-way trips of 50 ms, in no real time
//! ```
//!
//! The clock jumps straight to the next due event, so minutes of retransmission timers run in
//! milliseconds. Everything random follows from the seed: the same seed gives the same
//! [`Sim::trace`]. When a test panics while a [`Sim`] is alive, the seed is printed; run a test
//! body over many seeds with [`for_each_seed`], which names the failing one.
#![forbid(unsafe_code)]

mod link;
mod sim;

pub use link::{DropReason, GilbertElliott, LinkConfig, LinkStats, Loss};
pub use sim::{Endpoint, Sim, SimError, TraceEvent};

/// Environment variable that, when set to a number, makes [`for_each_seed`] run only that seed.
pub const SEED_ENV: &str = "FERRTC_TESTKIT_SEED";

/// Runs `test` once per seed (or only for the seed in [`SEED_ENV`] if it is set). If one panics,
/// prints which seed failed and how to rerun it alone, then lets the panic continue.
pub fn for_each_seed(seeds: impl IntoIterator<Item = u64>, test: impl Fn(u64)) {
    let only = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let seeds: Vec<u64> = match only {
        Some(seed) => vec![seed],
        None => seeds.into_iter().collect(),
    };
    for seed in seeds {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(seed)));
        if let Err(panic) = result {
            // Test-only crate: the seed must reach the test output whatever the subscriber.
            eprintln!(
                "ferrtc-testkit: failed with seed {seed}; rerun only it with {SEED_ENV}={seed}"
            );
            std::panic::resume_unwind(panic);
        }
    }
}

/// Handy distinct addresses for endpoints: `addr(1)` is `10.0.0.1:5001`, and so on.
pub fn addr(n: u8) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([10, 0, 0, n], 5000 + u16::from(n)))
}

/// A starting instant for tests that drive a state machine by hand (no [`Sim`]): the one
/// place test code reads the clock, so the crates under test never do (the sans-IO rule).
/// Advance it with `+ Duration`, as a virtual clock.
pub fn epoch() -> std::time::Instant {
    std::time::Instant::now()
}

/// The wall-clock time for tests that need one (a certificate's validity window): like
/// [`epoch`], the one place test code reads it, so the crates under test never do.
pub fn wallclock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}
