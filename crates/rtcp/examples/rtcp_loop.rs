//! The ferrtc side of the `rtcp` / `rtcp_cpu` benches in a plain loop, for `perf stat` /
//! `perf record` (instructions per compound without criterion around it):
//!
//!     cargo build --release -p ferrtc-rtcp --example rtcp_loop
//!     perf stat -e instructions target/release/examples/rtcp_loop nack ref 10000000
//!
//! Input `twcc` (SR + SDES + TWCC of 40 packets) or `nack` (SR + SDES + NACK of three
//! entries); walk `ref` (`PacketRefIter`) or `owned` (`PacketIter`); the fields the benches
//! read (inputs and readers in `shared/compound.rs`, which the benches include too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;

#[path = "shared/compound.rs"]
mod compound;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = args.get(1).map_or("nack", String::as_str);
    let walk = args.get(2).map_or("ref", String::as_str);
    let n: u64 = args.get(3).map_or(10_000_000, |s| s.parse().unwrap());
    let packets = if input == "nack" {
        compound::nack_packets()
    } else {
        compound::twcc_packets()
    };
    let raw = compound::encode(&packets);
    assert_eq!(compound::ferrtc_owned(&raw), compound::ferrtc_ref(&raw));
    let f: fn(&Bytes) -> i64 = if walk == "owned" {
        compound::ferrtc_owned
    } else {
        compound::ferrtc_ref
    };
    let t0 = std::time::Instant::now();
    let mut acc = 0i64;
    for _ in 0..n {
        acc = acc.wrapping_add(black_box(f(&raw)));
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("{input} {walk}: {ns:.1} ns per compound (wall), checksum {acc}");
}
