//! The video depacketize paths allocate nothing per packet once the caller's buffer has room,
//! and the packetize paths allocate nothing per payload.
//!
//! A counting global allocator lives in this test binary only; the cases run in one test
//! function so no other test thread allocates meanwhile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

use bytes::Bytes;
use ferrtc_media_codecs::av1::{Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::dependency_descriptor::DependencyDescriptorParser;
use ferrtc_media_codecs::h264::{H264Depacketizer, H264Packetizer};
use ferrtc_media_codecs::h265::{H265Config, H265Depacketizer, H265Packetizer};
use ferrtc_media_codecs::vp8::{Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::vp9::{Vp9Depacketizer, Vp9Packetizer};
use ferrtc_media_codecs::{Depacketizer, Packetizer};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocs() -> usize {
    let s = GLOBAL.stats();
    s.allocations + s.reallocations
}

/// Packetizes `frame` into one flat buffer (payload boundaries kept aside), counting the
/// allocations of `next_payload` only; then depacketizes, counting the allocations of push and
/// finish. Returns (packetize allocations, depacketize allocations, output).
fn run(
    p: &mut dyn Packetizer,
    d: &mut dyn Depacketizer,
    frame: &Bytes,
    mtu: usize,
) -> (usize, usize, Vec<u8>) {
    let mut wire = Vec::with_capacity(frame.len() * 2 + 4096);
    let mut bounds = Vec::with_capacity(frame.len() / 100 + 16);
    p.begin(frame.clone(), mtu).unwrap();
    let before = allocs();
    let mut start = 0;
    while let Some(m) = p.next_payload(&mut wire) {
        bounds.push((start, start + m.len));
        start += m.len;
    }
    let pk = allocs() - before;
    let mut out = Vec::with_capacity(frame.len() * 2 + 64);
    let before = allocs();
    for &(a, b) in &bounds {
        d.push(&wire[a..b], &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    (pk, allocs() - before, out)
}

fn annex_b(nals: &[usize]) -> Bytes {
    let mut v = Vec::new();
    for (i, &n) in nals.iter().enumerate() {
        v.extend_from_slice(&[0, 0, 0, 1, 0x41 + i as u8 % 4]);
        v.extend((1..n).map(|j| (j as u8) | 1));
    }
    Bytes::from(v)
}

fn annex_b_265(nals: &[usize]) -> Bytes {
    let mut v = Vec::new();
    for &n in nals {
        v.extend_from_slice(&[0, 0, 0, 1, 0x02, 0x01]);
        v.extend((2..n).map(|j| (j as u8) | 1));
    }
    Bytes::from(v)
}

#[test]
fn no_allocation_per_packet() {
    let big = 100 * 1024;
    // VP8
    let f = Bytes::from((0..big).map(|i| i as u8).collect::<Vec<_>>());
    let (pk, dp, out) = run(
        &mut Vp8Packetizer::default(),
        &mut Vp8Depacketizer::new(),
        &f,
        1200,
    );
    assert_eq!((pk, dp), (0, 0), "VP8");
    assert_eq!(out, f);
    // VP9 (non-key frame: no SS)
    let f9 = Bytes::from(
        std::iter::once(0x86u8)
            .chain((1..big).map(|i| i as u8))
            .collect::<Vec<_>>(),
    );
    let (pk, dp, out) = run(
        &mut Vp9Packetizer::new(true, 1),
        &mut Vp9Depacketizer::new(),
        &f9,
        1200,
    );
    assert_eq!((pk, dp), (0, 0), "VP9");
    assert_eq!(out, f9);
    // H.264: STAP-A, single NAL and FU-A in one frame.
    let h = annex_b(&[10, 20, 800, big]);
    let (pk, dp, _) = run(
        &mut H264Packetizer::default(),
        &mut H264Depacketizer::new(),
        &h,
        1200,
    );
    assert_eq!((pk, dp), (0, 0), "H.264");
    // H.265 with DONL.
    let c = H265Config { donl: true };
    let h5 = annex_b_265(&[10, 20, 800, big]);
    let (pk, dp, _) = run(
        &mut H265Packetizer::new(c),
        &mut H265Depacketizer::new(c),
        &h5,
        1200,
    );
    assert_eq!((pk, dp), (0, 0), "H.265");
    // AV1: small OBUs aggregated, a large one fragmented.
    let mut tu = vec![0x12, 0x00];
    for i in 0..5u8 {
        tu.extend_from_slice(&[0x2a, 3, i, i, i]);
    }
    tu.extend_from_slice(&[0x32, 0x80, 0x80, 0x06]); // OBU_FRAME, size 98304
    tu.extend((0..98304).map(|i| i as u8));
    let tu = Bytes::from(tu);
    let (pk, dp, out) = run(
        &mut Av1Packetizer::new(),
        &mut Av1Depacketizer::new(),
        &tu,
        1200,
    );
    assert_eq!((pk, dp), (0, 0), "AV1");
    // The depacketizer writes the minimal size (3 bytes for 98304), so compare past it.
    assert_eq!(out.len(), tu.len());
    // Dependency Descriptor without a structure attached.
    let mut parser = DependencyDescriptorParser::new();
    parser
        .parse(&[
            0xc0, 0x00, 0x01, 0x80, 0x02, 0x14, 0xea, 0xaa, 0x44, 0x10, 0x4d, 0x14, 0x10, 0x20,
            0x84, 0x27, 0x04, 0xff, 0x02, 0xcf,
        ])
        .unwrap();
    let before = allocs();
    for _ in 0..100 {
        parser.parse(&[0xc3, 0x00, 0x02]).unwrap();
    }
    assert_eq!(allocs() - before, 0, "dependency descriptor");
}
