//! Frame buffer: order, duplicates, gaps, wrap, limits, drop reasons, keyframe skipping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_media_codecs::frame_buffer::{Config, DropReason, Dropped, Frame, FrameBuffer};
use ferrtc_media_codecs::opus::OpusDepacketizer;
use ferrtc_media_codecs::{Codec, Depacketizer, Error, PacketInfo};
use ferrtc_rtp::{RtpHeader, RtpPacket};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// A toy payload format: first byte is flags, the rest is media.
/// bit 0: frame start, bit 1: no start information (start = None), bit 2: keyframe,
/// bit 3: frame end by header. 0xff: malformed.
#[derive(Debug, Default)]
struct Toy {
    finished: usize,
}

const START: u8 = 1;
const NOSTART: u8 = 2;
const KEY: u8 = 4;

impl Depacketizer for Toy {
    fn codec(&self) -> Codec {
        Codec::Vp8
    }
    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        let f = *payload.first().ok_or(Error::Truncated {
            what: "toy",
            offset: 0,
            needed: 1,
            available: 0,
        })?;
        if f == 0xff {
            return Err(Error::Invalid {
                what: "toy",
                offset: 0,
                reason: "0xff",
            });
        }
        Ok(PacketInfo {
            frame_start: if f & NOSTART != 0 {
                None
            } else {
                Some(f & START != 0)
            },
            frame_end: (f & 8 != 0).then_some(true),
            keyframe: f & KEY != 0,
            ..PacketInfo::default()
        })
    }
    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let info = self.packet_info(payload)?;
        out.extend_from_slice(&payload[1..]);
        Ok(info)
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        self.finished += 1;
        Ok(())
    }
    fn reset(&mut self) {}
}

/// Default limits without the start-up delay (packets here arrive at one instant).
fn cfg0() -> Config {
    Config {
        startup_delay: Duration::ZERO,
        ..Config::default()
    }
}

fn pkt(seq: u16, ts: u32, marker: bool, payload: Vec<u8>) -> RtpPacket {
    RtpPacket {
        header: RtpHeader {
            marker,
            payload_type: 96,
            sequence_number: seq,
            timestamp: ts,
            ssrc: 1,
            ..RtpHeader::default()
        },
        payload: Bytes::from(payload),
        padding: 0,
    }
}

/// Packets of one toy frame: `n` chunks of media, flags from `first_flags` on the first packet.
fn toy_frame(
    seq: u16,
    ts: u32,
    chunks: &[Vec<u8>],
    first_flags: u8,
    later_flags: u8,
) -> Vec<RtpPacket> {
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut p = vec![if i == 0 { first_flags } else { later_flags }];
            p.extend_from_slice(c);
            pkt(seq.wrapping_add(i as u16), ts, i + 1 == chunks.len(), p)
        })
        .collect()
}

fn drain<D: Depacketizer>(fb: &mut FrameBuffer<D>) -> (Vec<Frame>, Vec<Dropped>) {
    let mut f = Vec::new();
    while let Some(x) = fb.poll_frame() {
        f.push(x);
    }
    let mut d = Vec::new();
    while let Some(x) = fb.poll_drop() {
        d.push(x);
    }
    (f, d)
}

#[test]
fn audio_each_packet_is_a_frame() {
    let now = Instant::now();
    let mut fb = FrameBuffer::new(OpusDepacketizer::new(), Config::default());
    // Opus packets out of order: 11, 12, then 10. Nothing comes out during the start-up delay,
    // then all three in order; afterwards each packet is released as it completes the order.
    fb.insert(pkt(11, 960, false, vec![0xf8, 1]), now);
    fb.insert(pkt(12, 1920, false, vec![0xf8, 2]), now);
    fb.insert(
        pkt(10, 0, false, vec![0xf8, 0]),
        now + Duration::from_millis(99),
    );
    assert!(fb.poll_frame().is_none());
    assert_eq!(fb.poll_timeout(), Some(now + Duration::from_millis(100)));
    let now = now + Duration::from_millis(100);
    fb.handle_timeout(now);
    fb.insert(pkt(14, 3840, false, vec![0xf8, 4]), now);
    fb.insert(pkt(9, 0, false, vec![0xf8, 9]), now);
    let (frames, drops) = drain(&mut fb);
    assert_eq!(frames.len(), 3);
    let seqs: Vec<(i64, bool, u8)> = frames
        .iter()
        .map(|f| (f.first_seq, f.contiguous, f.data[1]))
        .collect();
    assert_eq!(seqs, [(10, false, 0), (11, true, 1), (12, true, 2)]);
    assert!(frames.iter().all(|f| f.decodable));
    assert_eq!(drops.len(), 1);
    assert_eq!(
        (drops[0].first_seq, &drops[0].reason),
        (9, &DropReason::Late)
    );
    fb.insert(pkt(13, 2880, false, vec![0xf8, 3]), now);
    let (frames, _) = drain(&mut fb);
    assert_eq!(
        frames.iter().map(|f| f.first_seq).collect::<Vec<_>>(),
        [13, 14]
    );
    // A malformed Opus packet (code 1 with odd length) is reported and never released.
    fb.insert(pkt(15, 4800, false, vec![0xf9, 1, 2, 3]), now);
    let (frames, drops) = drain(&mut fb);
    assert!(frames.is_empty());
    assert!(matches!(
        drops[0].reason,
        DropReason::Malformed(Error::Invalid { .. })
    ));
}

#[test]
fn shuffled_duplicated_frames_come_out_in_order() {
    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let mut fb = FrameBuffer::new(Toy::default(), cfg0());
    let mut all = Vec::new();
    let mut expected = Vec::new();
    let mut seq = 65_500u16; // crosses the wrap
    for f in 0..20u32 {
        let n = 1 + (f as usize * 7) % 9;
        let chunks: Vec<Vec<u8>> = (0..n).map(|i| vec![f as u8, i as u8, 0xaa]).collect();
        expected.push(chunks.concat());
        let flags = if f == 0 { START | KEY } else { START };
        all.extend(toy_frame(seq, f * 3000, &chunks, flags, 0));
        seq = seq.wrapping_add(n as u16);
    }
    let mut dup: Vec<RtpPacket> = all.iter().step_by(3).cloned().collect();
    all.append(&mut dup);
    all.shuffle(&mut rng);
    for p in all {
        fb.insert(p, now);
    }
    let (frames, drops) = drain(&mut fb);
    assert_eq!(frames.len(), 20);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(&f.data[..], &expected[i][..], "frame {i}");
        assert_eq!(f.timestamp, i as u32 * 3000);
        assert_eq!(f.contiguous, i > 0, "frame {i}");
        assert!(f.decodable);
    }
    assert!(frames[0].info.keyframe);
    assert!(!frames[1].info.keyframe);
    // Unwrapped across 65535 -> 0: 99 packets from 65500 to 65598 (mod 65536).
    assert_eq!(frames[19].last_seq - frames[0].first_seq, 98);
    assert_eq!(frames[0].first_seq.rem_euclid(65_536), 65_500);
    assert!(frames
        .windows(2)
        .all(|w| w[1].first_seq == w[0].last_seq + 1));
    assert!(drops
        .iter()
        .all(|d| d.reason == DropReason::Duplicate || d.reason == DropReason::Late));
    assert!(fb.is_empty());
    assert_eq!(fb.bytes(), 0);
}

#[test]
fn gap_blocks_until_max_age_then_next_frame_is_not_contiguous() {
    let t0 = Instant::now();
    let cfg = Config {
        max_age: Duration::from_millis(100),
        ..cfg0()
    };
    let mut fb = FrameBuffer::new(Toy::default(), cfg);
    let c = |b: u8| vec![vec![b, 1], vec![b, 2], vec![b, 3]];
    for p in toy_frame(100, 0, &c(0), START | KEY, 0) {
        fb.insert(p, t0);
    }
    // Frame 2 loses its middle packet; frame 3 (delta) is complete.
    let f2 = toy_frame(103, 3000, &c(1), START, 0);
    fb.insert(f2[0].clone(), t0);
    fb.insert(f2[2].clone(), t0);
    for p in toy_frame(106, 6000, &c(2), START, 0) {
        fb.insert(p, t0 + Duration::from_millis(10));
    }
    let (frames, drops) = drain(&mut fb);
    assert_eq!(frames.len(), 1);
    assert!(drops.is_empty());
    assert_eq!(fb.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    fb.handle_timeout(t0 + Duration::from_millis(99));
    assert!(fb.poll_frame().is_none());
    fb.handle_timeout(t0 + Duration::from_millis(100));
    let (frames, drops) = drain(&mut fb);
    assert_eq!(drops.len(), 1);
    assert_eq!(
        drops[0],
        Dropped {
            first_seq: 103,
            last_seq: 105,
            timestamp: Some(3000),
            packets: 2,
            reason: DropReason::TooOld
        }
    );
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (
            frames[0].first_seq,
            frames[0].contiguous,
            frames[0].decodable
        ),
        (106, false, false)
    );
    // The resent middle packet is late now.
    fb.insert(f2[1].clone(), t0 + Duration::from_millis(120));
    let (_, drops) = drain(&mut fb);
    assert_eq!(drops[0].reason, DropReason::Late);
}

#[test]
fn complete_keyframe_skips_incomplete_frames() {
    let now = Instant::now();
    let mut fb = FrameBuffer::new(Toy::default(), cfg0());
    let c = |b: u8| vec![vec![b, 1], vec![b, 2]];
    for p in toy_frame(0, 0, &c(0), START | KEY, 0) {
        fb.insert(p, now);
    }
    let f2 = toy_frame(2, 3000, &c(1), START, 0);
    fb.insert(f2[0].clone(), now);
    // Delta frame behind the gap stays blocked.
    for p in toy_frame(4, 6000, &c(2), START, 0) {
        fb.insert(p, now);
    }
    assert_eq!(drain(&mut fb).0.len(), 1);
    // A keyframe completes: frames 2 and 3 are dropped, the keyframe released.
    for p in toy_frame(6, 9000, &c(3), START | KEY, KEY) {
        fb.insert(p, now);
    }
    let (frames, drops) = drain(&mut fb);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (
            frames[0].first_seq,
            frames[0].contiguous,
            frames[0].decodable
        ),
        (6, false, true)
    );
    assert!(frames[0].info.keyframe);
    assert!(drops
        .iter()
        .all(|d| d.reason == DropReason::SkippedForKeyframe));
    let dropped: usize = drops.iter().map(|d| d.packets).sum();
    assert_eq!(dropped, 3);
    assert_eq!(drops.first().unwrap().first_seq, 2);
    assert_eq!(drops.last().unwrap().last_seq, 5);
    assert!(fb.is_empty());
}

#[test]
fn without_keyframe_skip_the_resend_completes_everything() {
    let now = Instant::now();
    let cfg = Config {
        skip_to_keyframe: false,
        ..cfg0()
    };
    let mut fb = FrameBuffer::new(Toy::default(), cfg);
    let c = |b: u8| vec![vec![b, 1], vec![b, 2]];
    let f1 = toy_frame(0, 0, &c(0), START | KEY, 0);
    let f2 = toy_frame(2, 3000, &c(1), START, 0);
    for p in f1.iter().chain(&f2[..1]) {
        fb.insert(p.clone(), now);
    }
    for p in toy_frame(4, 6000, &c(3), START | KEY, KEY) {
        fb.insert(p, now);
    }
    let (frames, drops) = drain(&mut fb);
    assert_eq!((frames.len(), drops.len()), (1, 0));
    // The resent packet completes frame 2; the keyframe behind it follows, all contiguous.
    fb.insert(f2[1].clone(), now);
    let (frames, drops) = drain(&mut fb);
    assert!(drops.is_empty());
    let got: Vec<(i64, bool)> = frames.iter().map(|f| (f.first_seq, f.contiguous)).collect();
    assert_eq!(got, [(2, true), (4, true)]);
}

#[test]
fn sender_restart_starts_over() {
    let now = Instant::now();
    let mut fb = FrameBuffer::new(Toy::default(), cfg0());
    for i in 0..10u16 {
        fb.insert(
            pkt(40_000 + i, u32::from(i) * 10, true, vec![START, i as u8]),
            now,
        );
    }
    // One packet of an unfinished frame is held when the sender restarts 20000 back.
    fb.insert(pkt(40_010, 100, false, vec![START, 10]), now);
    assert_eq!(drain(&mut fb).0.len(), 10);
    // 100 behind: late. 20000 behind: a restart.
    fb.insert(pkt(39_910, 5, true, vec![START, 0xee]), now);
    fb.insert(pkt(20_000, 7, true, vec![START, 0xaa]), now);
    fb.insert(pkt(20_001, 8, true, vec![START, 0xbb]), now);
    let (frames, drops) = drain(&mut fb);
    assert_eq!(drops[0].reason, DropReason::Late);
    assert_eq!(
        (
            drops[1].reason.clone(),
            drops[1].packets,
            drops[1].first_seq
        ),
        (DropReason::Restart, 1, 40_010)
    );
    let got: Vec<(i64, u8, bool)> = frames
        .iter()
        .map(|f| (f.first_seq, f.data[0], f.contiguous))
        .collect();
    assert_eq!(got, [(20_000, 0xaa, false), (20_001, 0xbb, true)]);
}

#[test]
fn buffer_full_gives_up_the_front() {
    let now = Instant::now();
    let cfg = Config {
        max_packets: 8,
        max_bytes: 1 << 20,
        ..cfg0()
    };
    let mut fb = FrameBuffer::new(Toy::default(), cfg);
    // Frame at 0 never completes (packet 1 missing); then 6 complete 2-packet delta frames.
    fb.insert(pkt(0, 0, false, vec![START | KEY, 0]), now);
    let mut seq = 2;
    for f in 1..=6u32 {
        for p in toy_frame(seq, f * 100, &[vec![f as u8], vec![f as u8]], START, 0) {
            fb.insert(p, now);
            assert!(fb.len() <= 8);
        }
        seq += 2;
    }
    let (frames, drops) = drain(&mut fb);
    assert_eq!(drops[0].reason, DropReason::BufferFull);
    assert_eq!((drops[0].first_seq, drops[0].packets), (0, 1));
    // Everything after the give-up came out, the first of them non-contiguous.
    assert_eq!(frames.len(), 6);
    assert!(!frames[0].contiguous);
    assert!(frames[1..].iter().all(|f| f.contiguous));
}

#[test]
fn byte_limit_holds() {
    let now = Instant::now();
    let cfg = Config {
        max_packets: 1000,
        max_bytes: 1000,
        ..cfg0()
    };
    let mut fb = FrameBuffer::new(Toy::default(), cfg);
    // A frame of 20 packets of 100 bytes never fits.
    let chunks: Vec<Vec<u8>> = (0..20).map(|_| vec![9u8; 99]).collect();
    for p in toy_frame(0, 0, &chunks, START, 0) {
        fb.insert(p, now);
        assert!(fb.bytes() <= 1000, "{}", fb.bytes());
    }
    let (frames, drops) = drain(&mut fb);
    assert!(frames.is_empty());
    assert!(drops.iter().all(|d| d.reason == DropReason::BufferFull));
    // Eleven packets (1100 bytes) overflowed and were given up; nine wait for their age.
    assert_eq!(drops.iter().map(|d| d.packets).sum::<usize>(), 11);
    assert_eq!(fb.len(), 9);
    fb.handle_timeout(now + Duration::from_secs(1));
    let (frames, drops) = drain(&mut fb);
    assert!(frames.is_empty());
    assert_eq!(drops.len(), 1);
    assert_eq!(
        (drops[0].packets, &drops[0].reason),
        (9, &DropReason::TooOld)
    );
    assert!(fb.is_empty());
}

#[test]
fn frames_without_start_flag_and_padding() {
    let now = Instant::now();
    let mut fb = FrameBuffer::new(Toy::default(), Config::default());
    // H.264-like: no start information; the first frame is a keyframe.
    let c = |b: u8| vec![vec![b, 1], vec![b, 2], vec![b, 3]];
    let f1 = toy_frame(10, 0, &c(1), NOSTART | KEY, NOSTART);
    let f2 = toy_frame(14, 3000, &c(2), NOSTART, NOSTART);
    // Frame 2 arrives first, then a padding packet (13), then frame 1.
    for p in &f2 {
        fb.insert(p.clone(), now);
    }
    fb.insert(pkt(13, 1500, false, vec![]), now);
    assert!(fb.poll_frame().is_none(), "delta frame at start must wait");
    for p in f1.iter().rev() {
        fb.insert(p.clone(), now);
    }
    // Nothing says packet 10 is the first of its frame: it is trusted after the startup delay.
    assert!(fb.poll_frame().is_none());
    assert_eq!(
        fb.poll_timeout(),
        Some(now + Config::default().startup_delay)
    );
    let now = now + Config::default().startup_delay;
    fb.handle_timeout(now);
    let (frames, drops) = drain(&mut fb);
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(&frames[0].data[..], &[1, 1, 1, 2, 1, 3]);
    assert_eq!((frames[1].first_seq, frames[1].contiguous), (14, true));
    // Frame 3 loses its last packet (19) for good; frame 4 follows the gap. Without a start
    // flag nothing says where frame 4 begins, so it is not released as if it were whole.
    let f3 = toy_frame(17, 6000, &c(3), NOSTART, NOSTART);
    fb.insert(f3[0].clone(), now);
    fb.insert(f3[1].clone(), now);
    let later = now + Duration::from_millis(1500);
    for p in toy_frame(20, 9000, &c(4), NOSTART, NOSTART) {
        fb.insert(p, later);
    }
    assert!(fb.poll_frame().is_none());
    fb.handle_timeout(now + Duration::from_secs(2));
    let (frames, drops) = drain(&mut fb);
    assert!(frames.is_empty());
    assert_eq!(drops.len(), 1);
    assert_eq!(
        (drops[0].first_seq, drops[0].last_seq, drops[0].packets),
        (17, 19, 2)
    );
    fb.handle_timeout(later + Duration::from_secs(1));
    let (frames, drops) = drain(&mut fb);
    assert!(frames.is_empty());
    assert_eq!(
        (drops[0].first_seq, drops[0].last_seq, drops[0].packets),
        (20, 22, 3)
    );
    // After a frame end, the next frame without start flag is found again.
    for p in toy_frame(23, 12000, &c(5), NOSTART, NOSTART) {
        fb.insert(p, later);
    }
    let (frames, _) = drain(&mut fb);
    assert_eq!((frames.len(), frames[0].contiguous), (1, false));
}

#[test]
fn malformed_frame_is_dropped_not_released() {
    #[derive(Debug, Default)]
    struct Strict;
    impl Depacketizer for Strict {
        fn codec(&self) -> Codec {
            Codec::Vp8
        }
        fn packet_info(&self, _p: &[u8]) -> Result<PacketInfo, Error> {
            Ok(PacketInfo {
                frame_start: Some(true),
                frame_end: Some(true),
                ..PacketInfo::default()
            })
        }
        fn push(&mut self, p: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
            out.extend_from_slice(p);
            self.packet_info(p)
        }
        fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
            if out.len() < 2 {
                return Err(Error::Discontinuity {
                    codec: "strict",
                    reason: "too short",
                });
            }
            Ok(())
        }
        fn reset(&mut self) {}
    }
    let now = Instant::now();
    let mut fb = FrameBuffer::new(Strict, cfg0());
    fb.insert(pkt(1, 0, true, vec![1, 2]), now);
    fb.insert(pkt(2, 1, true, vec![1]), now);
    fb.insert(pkt(3, 2, true, vec![3, 4]), now);
    let (frames, drops) = drain(&mut fb);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].first_seq, 3);
    assert!(!frames[1].contiguous);
    assert_eq!(drops.len(), 1);
    assert!(matches!(
        drops[0].reason,
        DropReason::Malformed(Error::Discontinuity { .. })
    ));
}

proptest! {
    /// Any permutation with duplicates of a frame's packets gives the identical frame.
    #[test]
    fn permutation_gives_identical_frame(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..50), 1..40),
        seed in any::<u64>(),
        start in any::<u16>(),
        dups in 0usize..20,
    ) {
        let now = Instant::now();
        let mut fb = FrameBuffer::new(Toy::default(), cfg0());
        let mut pkts = toy_frame(start, 1234, &chunks, START | KEY, 0);
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..dups {
            let i = rng.random_range(0..pkts.len());
            pkts.push(pkts[i].clone());
        }
        pkts.shuffle(&mut rng);
        for p in pkts {
            fb.insert(p, now);
        }
        let f = fb.poll_frame().unwrap();
        prop_assert!(fb.poll_frame().is_none());
        let expected: Vec<u8> = chunks.concat();
        prop_assert_eq!(&f.data[..], &expected[..]);
        prop_assert_eq!(f.packets, chunks.len());
        prop_assert_eq!(f.last_seq - f.first_seq + 1, chunks.len() as i64);
        prop_assert_eq!(f.timestamp, 1234);
        while let Some(d) = fb.poll_drop() {
            prop_assert!(d.reason == DropReason::Duplicate || d.reason == DropReason::Late);
        }
    }

    /// Random packets: limits hold, frames come out in order, nothing panics.
    #[test]
    fn limits_hold_under_random_input(
        ops in proptest::collection::vec((any::<u16>(), 0u32..8, any::<bool>(), 0u8..16, 0usize..300, 0u64..50), 1..400),
        base in any::<u16>(),
        max_packets in 1usize..64,
        max_bytes in 1usize..4000,
    ) {
        let cfg = Config { max_packets, max_bytes, max_age: Duration::from_millis(200), max_drop_reports: 16, ..cfg0() };
        let mut fb = FrameBuffer::new(Toy::default(), cfg);
        let t0 = Instant::now();
        let mut last_frame_end: Option<i64> = None;
        let mut elapsed = 0u64;
        for (seq_off, ts, marker, flags, len, dt) in ops {
            elapsed += dt;
            let now = t0 + Duration::from_millis(elapsed);
            let seq = base.wrapping_add(seq_off % 200);
            let mut payload = vec![flags];
            payload.resize(len.max(1), 7);
            if len == 0 { payload.clear(); }
            fb.insert(pkt(seq, ts, marker, payload), now);
            prop_assert!(fb.len() <= max_packets);
            prop_assert!(fb.bytes() <= max_bytes);
            if let Some(deadline) = fb.poll_timeout() {
                if deadline <= now {
                    fb.handle_timeout(now);
                }
            }
            prop_assert!(fb.poll_timeout().is_none_or(|d| d > now));
            while let Some(f) = fb.poll_frame() {
                prop_assert!(f.last_seq >= f.first_seq);
                if let Some(prev) = last_frame_end {
                    prop_assert!(f.first_seq > prev, "frame {} after {}", f.first_seq, prev);
                    if f.contiguous { prop_assert!(f.first_seq > prev); }
                }
                last_frame_end = Some(f.last_seq);
            }
            let mut n = 0;
            while fb.poll_drop().is_some() { n += 1; }
            prop_assert!(n <= 16);
        }
    }
}

#[test]
fn first_complete_keyframe_is_not_skipped_for_a_second_within_the_startup_delay() {
    // A new stream opens with two complete keyframes 20 ms apart (VP8-like: start flags), both
    // inside the start-up delay. Both are frames the sender meant to be seen: the first is
    // released at once (it says it starts there and is whole), not skipped for the second.
    let now = Instant::now();
    let mut fb = FrameBuffer::new(Toy::default(), Config::default());
    let c = |b: u8| vec![vec![b, 1], vec![b, 2], vec![b, 3]];
    for p in toy_frame(100, 0, &c(1), START | KEY, 0) {
        fb.insert(p, now);
    }
    let later = now + Duration::from_millis(20);
    for p in toy_frame(103, 3000, &c(2), START | KEY, 0) {
        fb.insert(p, later);
    }
    fb.handle_timeout(later + Config::default().startup_delay);
    let (frames, drops) = drain(&mut fb);
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(
        frames.iter().map(|f| f.first_seq).collect::<Vec<_>>(),
        [100, 103]
    );
    assert_eq!(&frames[0].data[..], &[1, 1, 1, 2, 1, 3]);
}
