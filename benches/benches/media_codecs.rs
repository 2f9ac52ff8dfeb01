//! Video payload formats: packetize + depacketize of one frame, ferrtc beside webrtc-rs
//! (`rtp::codecs` 0.17, the async line, and `rtc-rtp` 0.21, the sans-IO line).
//!
//! Same input on every side: a 100 KiB key frame and a 5 KiB delta frame per codec, 1200-byte
//! payloads. Same work on every side, per iteration:
//! - packetize: the whole frame into RTP payloads of at most 1200 bytes. ferrtc writes them into
//!   one reused buffer (its API: the caller gives the buffer); webrtc-rs returns a fresh
//!   `Vec<Bytes>` (its API: one allocation per payload).
//! - depacketize: every payload in order, reassembling the frame into one reused `Vec<u8>`.
//!   ferrtc appends to it directly; webrtc-rs's `depacketize` returns a `Bytes` per payload that
//!   the loop appends (what its SampleBuilder does to build a frame).
//! - The outputs are checked once, outside the timing, to be the same frame (H.264: the same
//!   NAL units; AV1: the same OBUs).
//!
//! webrtc-rs 0.17 has no AV1 depacketizer, so AV1 is measured against rtc 0.21 only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use ferrtc_media_codecs::av1::{Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::h264::{AnnexBNals, H264Depacketizer, H264Packetizer};
use ferrtc_media_codecs::vp8::{Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::{Depacketizer, Packetizer};

const MTU: usize = 1200;
const KEY: usize = 100 * 1024;
const DELTA: usize = 5 * 1024;

/// Filler without `00 00` pairs (no accidental Annex B start codes).
fn filler(n: usize, seed: u8) -> impl Iterator<Item = u8> {
    (0..n).map(move |i| (i as u8).wrapping_mul(29).wrapping_add(seed) | 1)
}

fn vp8_frame(len: usize, key: bool) -> Bytes {
    let mut v: Vec<u8> = filler(len, 3).collect();
    // P bit (RFC 7741 §4.3): 0 on key frames.
    v[0] = if key { 0x10 } else { 0x11 };
    Bytes::from(v)
}

fn h264_frame(len: usize, key: bool) -> Bytes {
    let mut v = Vec::new();
    if key {
        v.extend_from_slice(&[
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8,
        ]);
        v.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80]);
        v.extend_from_slice(&[0, 0, 0, 1, 0x65]);
    } else {
        v.extend_from_slice(&[0, 0, 0, 1, 0x41]);
    }
    let rest = len.saturating_sub(v.len());
    v.extend(filler(rest, 5));
    Bytes::from(v)
}

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn av1_frame(len: usize, key: bool) -> Bytes {
    let mut v = vec![0x12, 0x00]; // temporal delimiter
    if key {
        // Sequence header of a 320x240 libaom stream.
        v.extend_from_slice(&[
            0x0a, 0x0b, 0x00, 0x00, 0x00, 0x04, 0x3c, 0xff, 0xbc, 0xda, 0x00, 0x00, 0x00,
        ]);
    }
    let body = len.saturating_sub(v.len() + 4);
    v.push(0x32); // OBU_FRAME with obu_has_size_field
    leb128(body, &mut v);
    // frame header: show_existing_frame 0, frame_type KEY (00) or INTER (01)
    v.push(if key { 0x10 } else { 0x30 });
    v.extend(filler(body - 1, 7));
    Bytes::from(v)
}

/// ferrtc: payloads into one reused buffer, then depacketized into one reused frame buffer.
struct Ferrtc<P, D> {
    p: P,
    d: D,
    wire: Vec<u8>,
    bounds: Vec<(usize, usize)>,
    out: Vec<u8>,
}

impl<P: Packetizer, D: Depacketizer> Ferrtc<P, D> {
    fn new(p: P, d: D) -> Self {
        Self {
            p,
            d,
            wire: Vec::with_capacity(256 * 1024),
            bounds: Vec::with_capacity(256),
            out: Vec::with_capacity(256 * 1024),
        }
    }

    fn run(&mut self, frame: &Bytes) -> usize {
        self.wire.clear();
        self.bounds.clear();
        self.out.clear();
        self.p.begin(frame.clone(), MTU).unwrap();
        let mut start = 0;
        while let Some(m) = self.p.next_payload(&mut self.wire) {
            self.bounds.push((start, start + m.len));
            start += m.len;
        }
        for &(a, b) in &self.bounds {
            self.d.push(&self.wire[a..b], &mut self.out).unwrap();
        }
        self.d.finish(&mut self.out).unwrap();
        self.out.len()
    }
}

/// webrtc-rs 0.17 (`webrtc_rtp`) and rtc 0.21 (`rtc_rtp`), which spell this API the same:
/// payload() then depacketize() per payload, appending to one reused buffer.
macro_rules! theirs {
    ($name:ident, $krate:ident) => {
        fn $name(
            p: &mut dyn $krate::packetizer::Payloader,
            d: &mut dyn $krate::packetizer::Depacketizer,
            frame: &Bytes,
            out: &mut Vec<u8>,
        ) -> usize {
            out.clear();
            for pkt in p.payload(MTU, frame).unwrap() {
                let b = d.depacketize(&pkt).unwrap();
                out.extend_from_slice(&b);
            }
            out.len()
        }
    };
}

theirs!(webrtc_017, webrtc_rtp);
theirs!(rtc_021, rtc_rtp);

/// One codec and frame: checks that every side gives back the same frame (as `view` reads
/// it), outside the timing, then times each side in one group. The other sides' payloaders
/// and depacketizers are passed as their own types (and turned into trait objects at the
/// call, as before this helper existed).
fn group<P, D, WP, WD, RP, RD, K>(
    c: &mut Criterion,
    (codec, name, frame): (&str, &str, &Bytes),
    mut f: Ferrtc<P, D>,
    webrtc: Option<(WP, WD)>,
    (mut rp, mut rd): (RP, RD),
    view: impl Fn(&[u8]) -> K,
) where
    P: Packetizer,
    D: Depacketizer,
    WP: webrtc_rtp::packetizer::Payloader,
    WD: webrtc_rtp::packetizer::Depacketizer,
    RP: rtc_rtp::packetizer::Payloader,
    RD: rtc_rtp::packetizer::Depacketizer,
    K: PartialEq + std::fmt::Debug,
{
    f.run(frame);
    assert_eq!(view(&f.out), view(frame));
    let mut w = webrtc.map(|(p, d)| (p, d, Vec::new()));
    if let Some((wp, wd, wout)) = &mut w {
        webrtc_017(wp, wd, frame, wout);
        assert_eq!(view(wout), view(frame));
    }
    let mut rout = Vec::new();
    rtc_021(&mut rp, &mut rd, frame, &mut rout);
    assert_eq!(view(&rout), view(frame));
    let mut g = c.benchmark_group(format!("media/{codec} packetize+depacketize {name}"));
    g.bench_function("ferrtc", |b| b.iter(|| black_box(f.run(black_box(frame)))));
    if let Some((wp, wd, wout)) = &mut w {
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| black_box(webrtc_017(wp, wd, black_box(frame), wout)))
        });
    }
    g.bench_function("rtc 0.21", |b| {
        b.iter(|| black_box(rtc_021(&mut rp, &mut rd, black_box(frame), &mut rout)))
    });
    g.finish();
}

fn nals(data: &[u8]) -> Vec<Vec<u8>> {
    AnnexBNals::new(data).map(<[u8]>::to_vec).collect()
}

/// OBUs of a temporal unit without temporal delimiters, as (type, payload).
fn obus(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while !data.is_empty() {
        let h = data[0];
        let mut i = 1 + usize::from(h & 0x04 != 0);
        let mut size = 0usize;
        let mut shift = 0;
        loop {
            let b = data[i];
            i += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let t = (h >> 3) & 0x0f;
        if t != 2 {
            v.push((t, data[i..i + size].to_vec()));
        }
        data = &data[i + size..];
    }
    v
}

fn vp8(c: &mut Criterion) {
    for (name, frame) in [
        ("key 100KiB", vp8_frame(KEY, true)),
        ("delta 5KiB", vp8_frame(DELTA, false)),
    ] {
        let mut wp = webrtc_rtp::codecs::vp8::Vp8Payloader::default();
        wp.enable_picture_id = true;
        let mut rp = rtc_rtp::codec::vp8::Vp8Payloader::default();
        rp.enable_picture_id = true;
        group(
            c,
            ("vp8", name, &frame),
            Ferrtc::new(Vp8Packetizer::default(), Vp8Depacketizer::new()),
            Some((wp, webrtc_rtp::codecs::vp8::Vp8Packet::default())),
            (rp, rtc_rtp::codec::vp8::Vp8Packet::default()),
            <[u8]>::to_vec,
        );
    }
}

fn h264(c: &mut Criterion) {
    for (name, frame) in [
        ("key 100KiB", h264_frame(KEY, true)),
        ("delta 5KiB", h264_frame(DELTA, false)),
    ] {
        group(
            c,
            ("h264", name, &frame),
            Ferrtc::new(H264Packetizer::default(), H264Depacketizer::new()),
            Some((
                webrtc_rtp::codecs::h264::H264Payloader::default(),
                webrtc_rtp::codecs::h264::H264Packet::default(),
            )),
            (
                rtc_rtp::codec::h264::H264Payloader::default(),
                rtc_rtp::codec::h264::H264Packet::default(),
            ),
            nals,
        );
    }
}

fn av1(c: &mut Criterion) {
    for (name, frame) in [
        ("key 100KiB", av1_frame(KEY, true)),
        ("delta 5KiB", av1_frame(DELTA, false)),
    ] {
        group(
            c,
            ("av1", name, &frame),
            Ferrtc::new(Av1Packetizer::new(), Av1Depacketizer::new()),
            // webrtc-rs 0.17 has no AV1 depacketizer (the types only name the absent side).
            None::<(
                webrtc_rtp::codecs::vp8::Vp8Payloader,
                webrtc_rtp::codecs::vp8::Vp8Packet,
            )>,
            (
                rtc_rtp::codec::av1::Av1Payloader::default(),
                rtc_rtp::codec::av1::Av1Depacketizer::new(),
            ),
            obus,
        );
    }
}

criterion_group!(benches, vp8, h264, av1);
criterion_main!(benches);
