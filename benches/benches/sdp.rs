//! SDP parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO line).
//!
//! Input: a real 177-line Chromium offer (audio, video with 23 codecs, data channel).
//!
//! What each side does per iteration (the same work: all of the text in, every line decoded;
//! all of the description out, every line formatted):
//! - `sdp/parse chromium offer`:
//!   - ferrtc: `SessionDescription::parse` (checks every line against RFC 8866 and every
//!     attribute it types against its RFC), then `typed_lines()`: a typed value for every
//!     line (`Origin`, `Connection`, `Timing`, `MediaLine`, `Attribute::Rtpmap { pt, name,
//!     clock, channels }`, `Attribute::Extmap`, `Attribute::Ssrc`, …), each passed to
//!     `black_box`.
//!   - webrtc-rs 0.17 / rtc 0.21: `SessionDescription::unmarshal`, which decodes every line
//!     into its struct (origin and timing numbers, media name/port/protos/formats as owned
//!     strings, each attribute as an owned key and value string; it does not split rtpmap,
//!     fmtp, extmap, … further).
//! - `sdp/serialize chromium offer (from typed values)`:
//!   - ferrtc: `SessionDescriptionBuilder::to_text` on a builder holding the offer's typed
//!     values (`SessionDescription::to_builder`, made once outside the loop): every line is
//!     formatted from its typed value (numbers written from integers, rtpmap/rtcp-fb/extmap/
//!     ssrc from their fields) into one `String` sized in advance. It does not copy the
//!     stored source text.
//!   - webrtc-rs 0.17 / rtc 0.21: `SessionDescription::marshal` of the unmarshalled struct
//!     (formats each line from the struct's fields, attributes as key:value).
//!
//!   All three outputs are checked equal to the input text before timing.
//!
//! `cargo bench -p ferrtc-benches --bench sdp -- cpu` runs the same closures in thread CPU
//! time instead of criterion (CLOCK_THREAD_CPUTIME_ID: time spent descheduled on the shared
//! machine does not count), the implementations interleaved, best of 30 rounds × 500 calls.
//! `-- cpu parse:ferrtc` runs only the rows whose `operation:implementation` contains
//! `parse:ferrtc` and says how many calls it made (for `perf stat -e instructions`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, Criterion};
use ferrtc_sdp::SessionDescription;

const OFFER: &str = include_str!("../data/chromium-offer-av-dc.sdp");

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("sdp/parse chromium offer");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let sdp: SessionDescription = black_box(OFFER).parse().unwrap();
            for line in sdp.typed_lines() {
                black_box(&line);
            }
            sdp
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| {
            let mut r = Cursor::new(black_box(OFFER).as_bytes());
            webrtc_sdp::SessionDescription::unmarshal(&mut r).unwrap()
        })
    });
    g.bench_function("rtc 0.21", |b| {
        b.iter(|| {
            let mut r = Cursor::new(black_box(OFFER).as_bytes());
            rtc_sdp::SessionDescription::unmarshal(&mut r).unwrap()
        })
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let mut g = c.benchmark_group("sdp/serialize chromium offer (from typed values)");
    let ours: SessionDescription = OFFER.parse().unwrap();
    let builder = ours.to_builder();
    assert_eq!(builder.to_text(), OFFER);
    g.bench_function("ferrtc", |b| b.iter(|| black_box(&builder).to_text()));
    let theirs =
        webrtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    assert_eq!(theirs.marshal(), OFFER);
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| black_box(&theirs).marshal())
    });
    let rtc = rtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    assert_eq!(rtc.marshal(), OFFER);
    g.bench_function("rtc 0.21", |b| b.iter(|| black_box(&rtc).marshal()));
    g.finish();
}

/// One row of the CPU-time table: the work of one implementation, called once.
type Work<'a> = Box<dyn Fn() + 'a>;

const CPU_ROUNDS: usize = 30;
const CPU_CALLS: usize = 500;

fn cpu_rows(filters: &[String]) {
    let ours: SessionDescription = OFFER.parse().unwrap();
    let builder = ours.to_builder();
    assert_eq!(builder.to_text(), OFFER);
    let theirs =
        webrtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    assert_eq!(theirs.marshal(), OFFER);
    let rtc = rtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    assert_eq!(rtc.marshal(), OFFER);
    // The same closures as the criterion groups above.
    let rows: Vec<(&str, &str, Work)> = vec![
        (
            "parse",
            "ferrtc",
            Box::new(|| {
                let sdp: SessionDescription = black_box(OFFER).parse().unwrap();
                for line in sdp.typed_lines() {
                    black_box(&line);
                }
                black_box(sdp);
            }),
        ),
        (
            "parse",
            "webrtc-rs 0.17",
            Box::new(|| {
                let mut r = Cursor::new(black_box(OFFER).as_bytes());
                black_box(webrtc_sdp::SessionDescription::unmarshal(&mut r).unwrap());
            }),
        ),
        (
            "parse",
            "rtc 0.21",
            Box::new(|| {
                let mut r = Cursor::new(black_box(OFFER).as_bytes());
                black_box(rtc_sdp::SessionDescription::unmarshal(&mut r).unwrap());
            }),
        ),
        (
            "format",
            "ferrtc",
            Box::new(|| {
                black_box(black_box(&builder).to_text());
            }),
        ),
        (
            "format",
            "webrtc-rs 0.17",
            Box::new(|| {
                black_box(black_box(&theirs).marshal());
            }),
        ),
        (
            "format",
            "rtc 0.21",
            Box::new(|| {
                black_box(black_box(&rtc).marshal());
            }),
        ),
    ];
    let chosen: Vec<_> = rows
        .iter()
        .filter(|(op, imp, _)| {
            let name = format!("{op}:{imp}");
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    let mut best = vec![f64::MAX; chosen.len()];
    for _ in 0..CPU_ROUNDS {
        // Interleaved: every implementation sees the machine of this round.
        for (i, (_, _, work)) in chosen.iter().enumerate() {
            let t = cpu_time::ThreadTime::now();
            for _ in 0..CPU_CALLS {
                work();
            }
            let ns = t.elapsed().as_nanos() as f64 / CPU_CALLS as f64;
            best[i] = best[i].min(ns);
        }
    }
    println!(
        "sdp, thread CPU time per call, best of {CPU_ROUNDS} rounds x {CPU_CALLS} calls ({} calls each):",
        CPU_ROUNDS * CPU_CALLS
    );
    for (i, (op, imp, _)) in chosen.iter().enumerate() {
        let ferrtc = chosen
            .iter()
            .position(|(o, m, _)| o == op && *m == "ferrtc")
            .map(|j| best[j]);
        let ratio = match ferrtc {
            Some(f) if *imp != "ferrtc" => format!("  {:.2}x ferrtc's time", best[i] / f),
            _ => String::new(),
        };
        println!("  {op:<7} {imp:<15} {:>9.2} us{ratio}", best[i] / 1000.0);
    }
}

criterion_group!(benches, parse, serialize);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "cpu") {
        let filters: Vec<String> = args
            .get(i + 1..)
            .unwrap_or(&[])
            .iter()
            .filter(|a| !a.starts_with("--"))
            .cloned()
            .collect();
        cpu_rows(&filters);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
