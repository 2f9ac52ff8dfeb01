//! Times compound parsing of the bench input (SR + SDES + TWCC of 40 packets) in a loop:
//! ferrtc's owned walk, best of 5 rounds (inputs and reader in `shared/compound.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
use std::hint::black_box;
use std::time::Instant;

#[path = "shared/compound.rs"]
mod compound;

fn main() {
    let raw = compound::encode(&compound::twcc_packets());
    let n = 2_000_000;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            black_box(compound::ferrtc_owned(&raw));
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    println!("{best:.1} ns per compound");
}
