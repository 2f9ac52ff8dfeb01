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
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion};
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

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
