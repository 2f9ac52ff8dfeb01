//! RTCP compound parse in thread CPU time: the quiet companion of the `rtcp` criterion bench
//! (same inputs, same fields read, same code per implementation as its `rtcp/parse compound
//! SR+SDES+TWCC` and `SR+SDES+NACK` groups; see there what each side does). The CPU time of the measuring thread does not count time it spends
//! descheduled, so on this shared 2-core machine it moves far less than wall-clock criterion.
//!
//!     cargo bench -p ferrtc-benches --bench rtcp_cpu
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use ferrtc_benches::rtcp_fields;

/// The inputs and ferrtc's readers, shared with `rtcp` and the crate's `rtcp_loop` example.
#[path = "../../crates/rtcp/examples/shared/compound.rs"]
mod compound;
use compound::{encode, ferrtc_owned, ferrtc_ref};

const ITERS: usize = 200_000;
const ROUNDS: usize = 10;

fn webrtc_slice(raw: &Bytes) -> i64 {
    rtcp_fields!(webrtc_rtcp, &raw[..])
}

fn webrtc(raw: &Bytes) -> i64 {
    rtcp_fields!(webrtc_rtcp, raw.clone())
}

fn rtc_slice(raw: &Bytes) -> i64 {
    rtcp_fields!(rtc_rtcp, &raw[..])
}

fn rtc(raw: &Bytes) -> i64 {
    rtcp_fields!(rtc_rtcp, raw.clone())
}

/// One implementation: parse the datagram and read the fields.
type Parse = fn(&Bytes) -> i64;

/// Thread CPU ns per call over `ITERS` calls.
fn measure(raw: &Bytes, f: Parse) -> f64 {
    let t0 = cpu_time::ThreadTime::now();
    for _ in 0..ITERS {
        black_box(f(raw));
    }
    t0.elapsed().as_nanos() as f64 / ITERS as f64
}

fn main() {
    for (name, raw) in [
        ("SR+SDES+TWCC", encode(&compound::twcc_packets())),
        ("SR+SDES+NACK", encode(&compound::nack_packets())),
    ] {
        run(name, &raw);
    }
}

fn run(name: &str, raw: &Bytes) {
    // All read the same values.
    assert_eq!(ferrtc_owned(raw), webrtc(raw));
    assert_eq!(ferrtc_owned(raw), rtc(raw));
    assert_eq!(ferrtc_ref(raw), webrtc(raw));
    println!(
        "rtcp/parse compound {name}, thread CPU time per compound, best of {ROUNDS} x {ITERS}"
    );
    // Rounds interleave the implementations, so that a burst of load from other processes
    // hits all of them; each keeps its best round.
    let imps: [(&str, Parse); 6] = [
        ("ferrtc PacketRefIter", ferrtc_ref),
        ("ferrtc PacketIter (owned)", ferrtc_owned),
        ("webrtc-rs 0.17", webrtc),
        ("webrtc-rs 0.17 (from &[u8])", webrtc_slice),
        ("rtc 0.21", rtc),
        ("rtc 0.21 (from &[u8])", rtc_slice),
    ];
    let mut best = [f64::MAX; 6];
    for _ in 0..ROUNDS {
        for (b, (_, f)) in best.iter_mut().zip(imps) {
            *b = b.min(measure(raw, f));
        }
    }
    for (b, (name, _)) in best.iter().zip(imps) {
        println!("  {name:<28} {b:>8.1} ns   {:.2}x", b / best[0]);
    }
}
