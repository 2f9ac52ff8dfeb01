//! Frame buffer: random packets (any sequence numbers, timestamps, markers, payloads, times)
//! into a FrameBuffer with small limits, over each real depacketizer. Never panics, the packet
//! and byte limits hold after every call, frames come out in sequence order and the report
//! queue stays bounded.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_media_codecs::av1::Av1Depacketizer;
use ferrtc_media_codecs::frame_buffer::{Config, DropReason, FrameBuffer};
use ferrtc_media_codecs::h264::H264Depacketizer;
use ferrtc_media_codecs::opus::OpusDepacketizer;
use ferrtc_media_codecs::vp8::Vp8Depacketizer;
use ferrtc_media_codecs::vp9::Vp9Depacketizer;
use ferrtc_media_codecs::Depacketizer;
use ferrtc_rtp::{RtpHeader, RtpPacket};
use libfuzzer_sys::fuzz_target;

const MAX_PACKETS: usize = 48;
const MAX_BYTES: usize = 8 * 1024;
const MAX_REPORTS: usize = 8;

fn run<D: Depacketizer>(d: D, data: &[u8], skip: bool, startup_ms: u64) {
    let cfg = Config {
        max_packets: MAX_PACKETS,
        max_bytes: MAX_BYTES,
        max_age: Duration::from_millis(200),
        max_drop_reports: MAX_REPORTS,
        startup_delay: Duration::from_millis(startup_ms),
        skip_to_keyframe: skip,
        restart_distance: 1000,
    };
    let mut fb = FrameBuffer::new(d, cfg);
    let t0 = Instant::now();
    let mut now = t0;
    let mut seq: u16 = 65_500;
    let mut ts: u32 = u32::MAX - 10_000;
    let mut last_end: Option<i64> = None;
    let mut rest = data;
    // Each packet: [seq delta (i8)] [flags: bit0 marker, bit1 new timestamp, bit2 timeout]
    // [time advance ms] [payload length] payload.
    while let [dseq, flags, dt, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, after) = tail.split_at(n);
        rest = after;
        seq = seq.wrapping_add(*dseq as i8 as i16 as u16);
        if flags & 2 != 0 {
            ts = ts.wrapping_add(3000);
        }
        now += Duration::from_millis(u64::from(*dt));
        if flags & 4 != 0 {
            fb.handle_timeout(now);
        } else {
            let p = RtpPacket {
                header: RtpHeader {
                    marker: flags & 1 != 0,
                    payload_type: 96,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc: 1,
                    ..RtpHeader::default()
                },
                payload: Bytes::copy_from_slice(payload),
                padding: 0,
            };
            fb.insert(p, now);
        }
        assert!(fb.len() <= MAX_PACKETS, "{} packets", fb.len());
        assert!(fb.bytes() <= MAX_BYTES, "{} bytes", fb.bytes());
        let mut reports = 0;
        while let Some(d) = fb.poll_drop() {
            reports += 1;
            if d.reason == DropReason::Restart {
                // Sequence numbers are extended afresh after a restart.
                last_end = None;
            }
        }
        assert!(reports <= MAX_REPORTS);
        while let Some(f) = fb.poll_frame() {
            assert!(f.first_seq <= f.last_seq);
            if let Some(prev) = last_end {
                assert!(f.first_seq > prev, "frame at {} after {prev}", f.first_seq);
            }
            last_end = Some(f.last_seq);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let skip = sel & 0x10 != 0;
    let startup = u64::from(sel >> 5) * 20;
    match sel % 5 {
        0 => run(OpusDepacketizer::new(), rest, skip, startup),
        1 => run(Vp8Depacketizer::new(), rest, skip, startup),
        2 => run(Vp9Depacketizer::new(), rest, skip, startup),
        3 => run(H264Depacketizer::new(), rest, skip, startup),
        _ => run(Av1Depacketizer::new(), rest, skip, startup),
    }
});
