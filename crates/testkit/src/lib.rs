#![doc = include_str!("../README.md")]
//!
//! ## Using it
//!
//! A test wraps each state machine in a small adapter implementing [`Endpoint`], puts the
//! adapters in a [`Sim`] at [`SocketAddr`](std::net::SocketAddr)s, configures the links between
//! them ([`LinkConfig`]: delay, jitter, [`Loss`], reordering, duplication, MTU, rate limit with
//! a queue) and runs it with [`Sim::run_until`] or [`Sim::run_for`]. The same seed gives the
//! same [`Sim::trace`]. When a test panics while a [`Sim`] is alive, the seed is printed; run
//! a test body over many seeds with [`for_each_seed`], which names the failing one.
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
