//! Frame buffer with the real VP8 depacketizer on libvpx frames: losses, give-ups, keyframe
//! skipping and the decodability the depacketizer derives from what was released.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_media_codecs::container::ivf::IvfReader;
use ferrtc_media_codecs::frame_buffer::{Config, DropReason, Frame, FrameBuffer};
use ferrtc_media_codecs::vp8::{PictureIdMode, Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::Packetizer;
use ferrtc_rtp::{RtpHeader, RtpPacket};

/// libvpx VP8, 320x240: a keyframe then delta frames.
fn vp8_frames() -> Vec<Bytes> {
    IvfReader::new(Bytes::from_static(include_bytes!(
        "data/video_vpx_320x240.vp8.ivf"
    )))
    .unwrap()
    .map(|f| f.unwrap().data)
    .collect()
}

/// Packetizes `frames` with consecutive sequence numbers from `seq` and timestamps 3000 apart.
fn packets(
    p: &mut Vp8Packetizer,
    frames: &[Bytes],
    seq: &mut u16,
    ts: &mut u32,
) -> Vec<Vec<RtpPacket>> {
    frames
        .iter()
        .map(|f| {
            let out: Vec<RtpPacket> = p
                .packetize(f.clone(), 40)
                .unwrap()
                .into_iter()
                .map(|(payload, marker)| {
                    let pkt = RtpPacket {
                        header: RtpHeader {
                            marker,
                            payload_type: 96,
                            sequence_number: *seq,
                            timestamp: *ts,
                            ssrc: 7,
                            ..RtpHeader::default()
                        },
                        payload,
                        padding: 0,
                    };
                    *seq = seq.wrapping_add(1);
                    pkt
                })
                .collect();
            *ts = ts.wrapping_add(3000);
            out
        })
        .collect()
}

fn frames_of(fb: &mut FrameBuffer<Vp8Depacketizer>) -> Vec<Frame> {
    std::iter::from_fn(|| fb.poll_frame()).collect()
}

#[test]
fn loss_breaks_decodability_until_the_next_keyframe() {
    let src = vp8_frames();
    assert!(src.len() >= 4);
    let cfg = Config {
        startup_delay: Duration::ZERO,
        max_age: Duration::from_millis(500),
        ..Config::default()
    };
    let mut fb = FrameBuffer::new(Vp8Depacketizer::new(), cfg);
    let mut pk = Vp8Packetizer::new(PictureIdMode::Long, 100);
    let (mut seq, mut ts) = (65_530u16, 90_000u32);
    let pkts = packets(&mut pk, &src, &mut seq, &mut ts);
    assert!(
        pkts[1].len() >= 2,
        "delta frame 1 must span packets at 40 bytes"
    );
    let t0 = Instant::now();
    // Frame 0 (key) whole, frame 1 without its last packet, the rest whole.
    for (i, f) in pkts.iter().enumerate() {
        for (j, p) in f.iter().enumerate() {
            if i == 1 && j + 1 == f.len() {
                continue;
            }
            fb.insert(p.clone(), t0);
        }
    }
    let first = frames_of(&mut fb);
    assert_eq!(first.len(), 1);
    assert!(first[0].info.keyframe && first[0].decodable);
    assert_eq!(first[0].info.resolution, Some((320, 240)));
    assert_eq!(&first[0].data[..], &src[0][..]);
    // Frame 1 is given up by age; the delta frames after it are released, not decodable.
    fb.handle_timeout(t0 + Duration::from_millis(500));
    let drops: Vec<_> = std::iter::from_fn(|| fb.poll_drop()).collect();
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].reason, DropReason::TooOld);
    assert_eq!(drops[0].packets, pkts[1].len() - 1);
    let rest = frames_of(&mut fb);
    assert_eq!(rest.len(), src.len() - 2);
    assert!(!rest[0].contiguous);
    assert!(rest[1..].iter().all(|f| f.contiguous));
    assert!(rest.iter().all(|f| !f.decodable && !f.info.keyframe));
    for (f, s) in rest.iter().zip(&src[2..]) {
        assert_eq!(&f.data[..], &s[..]);
    }
    // The keyframe again (as a new frame): decodable, and the deltas after it too.
    let again = packets(&mut pk, &src[..2], &mut seq, &mut ts);
    for p in again.iter().flatten() {
        fb.insert(p.clone(), t0 + Duration::from_millis(600));
    }
    let after = frames_of(&mut fb);
    assert_eq!(after.len(), 2);
    assert!(after[0].info.keyframe && after[0].decodable && after[0].contiguous);
    assert!(after[1].decodable);
}

#[test]
fn complete_keyframe_skips_a_stalled_delta_frame() {
    let src = vp8_frames();
    let cfg = Config {
        startup_delay: Duration::ZERO,
        ..Config::default()
    };
    let mut fb = FrameBuffer::new(Vp8Depacketizer::new(), cfg);
    let mut pk = Vp8Packetizer::new(PictureIdMode::Short, 5);
    let (mut seq, mut ts) = (1u16, 0u32);
    let key_and_delta = packets(&mut pk, &src[..2], &mut seq, &mut ts);
    let key_again = packets(&mut pk, &src[..1], &mut seq, &mut ts);
    assert!(key_and_delta[1].len() >= 2);
    let now = Instant::now();
    for p in &key_and_delta[0] {
        fb.insert(p.clone(), now);
    }
    // The delta frame loses its first packet; the next keyframe arrives complete, reversed.
    for p in &key_and_delta[1][1..] {
        fb.insert(p.clone(), now);
    }
    for p in key_again[0].iter().rev() {
        fb.insert(p.clone(), now);
    }
    let frames = frames_of(&mut fb);
    assert_eq!(frames.len(), 2);
    assert!(frames[1].info.keyframe && frames[1].decodable && !frames[1].contiguous);
    assert_eq!(&frames[1].data[..], &src[0][..]);
    let drops: Vec<_> = std::iter::from_fn(|| fb.poll_drop()).collect();
    assert!(drops
        .iter()
        .all(|d| d.reason == DropReason::SkippedForKeyframe));
    assert_eq!(
        drops.iter().map(|d| d.packets).sum::<usize>(),
        key_and_delta[1].len() - 1
    );
    assert!(fb.is_empty());
}
