//! SDP parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO line).
//!
//! Input: a real 177-line Chromium offer (audio, video with 23 codecs, data channel).
//! Parse: every implementation parses the text and reads the number of media sections and
//! the first section's ice-ufrag. Serialize: every implementation prints an already-parsed
//! description back to a `String`.
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
            let ufrag = sdp
                .media()
                .next()
                .and_then(|m| m.ice_credentials())
                .map(|i| i.ufrag.len());
            black_box((sdp.media_count(), ufrag));
            sdp
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| {
            let mut r = Cursor::new(black_box(OFFER).as_bytes());
            let sdp = webrtc_sdp::SessionDescription::unmarshal(&mut r).unwrap();
            let ufrag = sdp.media_descriptions[0]
                .attribute("ice-ufrag")
                .flatten()
                .map(str::len);
            black_box((sdp.media_descriptions.len(), ufrag));
            sdp
        })
    });
    g.bench_function("rtc 0.21", |b| {
        b.iter(|| {
            let mut r = Cursor::new(black_box(OFFER).as_bytes());
            let sdp = rtc_sdp::SessionDescription::unmarshal(&mut r).unwrap();
            let ufrag = sdp.media_descriptions[0]
                .attribute("ice-ufrag")
                .flatten()
                .map(str::len);
            black_box((sdp.media_descriptions.len(), ufrag));
            sdp
        })
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let mut g = c.benchmark_group("sdp/serialize chromium offer");
    let ours: SessionDescription = OFFER.parse().unwrap();
    assert_eq!(ours.to_string(), OFFER);
    g.bench_function("ferrtc", |b| b.iter(|| black_box(&ours).to_string()));
    let theirs =
        webrtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| black_box(&theirs).marshal())
    });
    let rtc = rtc_sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
    g.bench_function("rtc 0.21", |b| b.iter(|| black_box(&rtc).marshal()));
    g.finish();
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
