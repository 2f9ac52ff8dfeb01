//! Real media through the whole receive path: read a file, packetize each frame at several
//! payload sizes, scramble the packets (seeded shuffle, duplicates, drops resent later), feed a
//! [`FrameBuffer`], check every frame against the source and write the container back.
//!
//! - `committed_media_round_trip` runs on the small files in `tests/data`.
//! - `generated_media_files` (ignored) is what `cargo xtask media-files` runs: it reads the
//!   streams ffmpeg made in `$FERRTC_MEDIA_DIR`, writes the rebuilt files there and one result
//!   row per file and payload size to `$FERRTC_MEDIA_DIR/results.tsv`; the xtask then checks
//!   the rebuilt files with `ffprobe -count_frames` and prints the table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_media_codecs::av1::{Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::container::annexb::{self, AccessUnits, NalSyntax};
use ferrtc_media_codecs::container::ivf::{self, IvfHeader, IvfReader};
use ferrtc_media_codecs::container::obu::TemporalUnits;
use ferrtc_media_codecs::container::ogg::{OggOpusFile, OggOpusWriter};
use ferrtc_media_codecs::frame_buffer::{Config, DropReason, FrameBuffer};
use ferrtc_media_codecs::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use ferrtc_media_codecs::h265::{H265Config, H265Depacketizer, H265Packetizer};
use ferrtc_media_codecs::opus::{OpusDepacketizer, OpusPacket, OpusPacketizer};
use ferrtc_media_codecs::vp8::{PictureIdMode, Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::vp9::{Vp9Depacketizer, Vp9Packetizer};
use ferrtc_media_codecs::{Codec, Depacketizer, Error, PacketInfo, Packetizer};
use ferrtc_rtp::{RtpHeader, RtpPacket};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const PAYLOAD_SIZES: [usize; 4] = [200, 500, 1200, 1500];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vp8Ivf,
    Vp9Ivf,
    Av1Ivf,
    Av1Obu,
    H264,
    H265,
    OggOpus,
}

impl Kind {
    fn from_file(name: &str) -> Option<Kind> {
        Some(match name {
            "vp8.ivf" => Kind::Vp8Ivf,
            "vp9.ivf" => Kind::Vp9Ivf,
            "av1.ivf" => Kind::Av1Ivf,
            "av1.obu" => Kind::Av1Obu,
            "h264.h264" => Kind::H264,
            "h265.h265" => Kind::H265,
            "opus.opus" => Kind::OggOpus,
            _ => return None,
        })
    }

    /// Packetizer and depacketizer, when the payload format exists in the crate.
    fn codec(self) -> Option<(Box<dyn Packetizer>, Dyn)> {
        Some(match self {
            Kind::Vp8Ivf => (
                Box::new(Vp8Packetizer::new(PictureIdMode::Long, 1000)),
                Dyn(Box::new(Vp8Depacketizer::new())),
            ),
            Kind::Vp9Ivf => (
                Box::new(Vp9Packetizer::new(false, 2000)),
                Dyn(Box::new(Vp9Depacketizer::new())),
            ),
            Kind::Av1Ivf | Kind::Av1Obu => (
                Box::new(Av1Packetizer::new()),
                Dyn(Box::new(Av1Depacketizer::new())),
            ),
            Kind::H264 => (
                Box::new(H264Packetizer::new(PacketizationMode::NonInterleaved)),
                Dyn(Box::new(H264Depacketizer::new())),
            ),
            Kind::OggOpus => (
                Box::new(OpusPacketizer::new()),
                Dyn(Box::new(OpusDepacketizer::new())),
            ),
            Kind::H265 => (
                Box::new(H265Packetizer::new(H265Config::default())),
                Dyn(Box::new(H265Depacketizer::new(H265Config::default()))),
            ),
        })
    }
}

/// A boxed depacketizer as a `Depacketizer` (the frame buffer is generic).
struct Dyn(Box<dyn Depacketizer>);

impl Depacketizer for Dyn {
    fn codec(&self) -> Codec {
        self.0.codec()
    }
    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        self.0.packet_info(payload)
    }
    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        self.0.push(payload, out)
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.0.finish(out)
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        self.0.merge_info(frame, packet)
    }
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        self.0.decodable(frame, contiguous)
    }
}

/// A source file read into frames.
enum Source {
    Ivf(IvfHeader, Vec<(u64, Bytes)>),
    Stream(Vec<Bytes>),
    Opus(OggOpusFile),
}

impl Source {
    fn read(kind: Kind, file: Bytes) -> Result<Source, Error> {
        Ok(match kind {
            Kind::Vp8Ivf | Kind::Vp9Ivf | Kind::Av1Ivf => {
                let r = IvfReader::new(file)?;
                let h = *r.header();
                let frames = r
                    .map(|f| f.map(|f| (f.timestamp, f.data)))
                    .collect::<Result<_, _>>()?;
                Source::Ivf(h, frames)
            }
            Kind::Av1Obu => {
                Source::Stream(TemporalUnits::new(file, 8 << 20).collect::<Result<_, _>>()?)
            }
            Kind::H264 => Source::Stream(
                AccessUnits::new(file, NalSyntax::H264, 8 << 20).collect::<Result<_, _>>()?,
            ),
            Kind::H265 => Source::Stream(
                AccessUnits::new(file, NalSyntax::H265, 8 << 20).collect::<Result<_, _>>()?,
            ),
            Kind::OggOpus => Source::Opus(OggOpusFile::read(file, 1 << 20)?),
        })
    }

    fn frames(&self) -> Vec<Bytes> {
        match self {
            Source::Ivf(_, f) => f.iter().map(|(_, d)| d.clone()).collect(),
            Source::Stream(f) => f.clone(),
            Source::Opus(o) => o.packets.clone(),
        }
    }
}

/// Whether a reassembled frame is the source frame: byte for byte, except Annex B where the
/// NAL units must be byte-identical (start code lengths are the writer's choice).
fn same_frame(kind: Kind, src: &[u8], got: &[u8]) -> bool {
    match kind {
        Kind::H264 | Kind::H265 => annexb::nal_units(src).eq(annexb::nal_units(got)),
        _ => src == got,
    }
}

/// Seeded network: packets shuffled in windows of 16, 3 % duplicated a little later, 3 % lost
/// and resent 40 packets later.
fn scramble(packets: Vec<RtpPacket>, rng: &mut StdRng) -> Vec<RtpPacket> {
    let mut out: Vec<RtpPacket> = Vec::with_capacity(packets.len() * 11 / 10);
    let mut resend: Vec<(usize, RtpPacket)> = Vec::new();
    for chunk in packets.chunks(16) {
        let mut c = chunk.to_vec();
        c.shuffle(rng);
        for p in c {
            let roll = rng.random_range(0..100);
            if roll < 3 {
                resend.push((out.len() + 40, p));
                continue;
            }
            if roll < 6 {
                let at = out.len() + rng.random_range(0..8);
                resend.push((at, p.clone()));
            }
            out.push(p);
            let due: Vec<RtpPacket> = {
                let n = out.len();
                let (now, later): (Vec<_>, Vec<_>) = resend.drain(..).partition(|(at, _)| *at <= n);
                resend = later;
                now.into_iter().map(|(_, p)| p).collect()
            };
            out.extend(due);
        }
    }
    out.extend(resend.into_iter().map(|(_, p)| p));
    out
}

struct Outcome {
    frames_in: usize,
    frames_out: usize,
    packets: usize,
    max_packets_per_frame: usize,
    /// Frames the depacketizer's `decodable` called not decodable (all are, with every frame
    /// delivered).
    undecodable: usize,
    mismatches: Vec<String>,
    written: Vec<u8>,
}

fn run(kind: Kind, source: &Source, max_payload: usize, seed: u64) -> Result<Outcome, String> {
    let (mut pk, dp) = kind.codec().ok_or("payload format not in the crate")?;
    let frames = source.frames();
    let mut rng = StdRng::seed_from_u64(seed);
    // Sequence numbers start just before the wrap.
    let mut seq: u16 = 65_535 - rng.random_range(0..64);
    let mut ts: u32 = rng.random();
    let mut packets = Vec::new();
    let mut max_ppf = 0;
    let mut frame_ts = std::collections::HashMap::new();
    for (i, f) in frames.iter().enumerate() {
        frame_ts.insert(ts, i);
        let payloads = pk
            .packetize(f.clone(), max_payload)
            .map_err(|e| format!("packetize: {e}"))?;
        max_ppf = max_ppf.max(payloads.len());
        for (payload, marker) in payloads {
            if payload.len() > max_payload {
                return Err(format!(
                    "payload of {} bytes > {max_payload}",
                    payload.len()
                ));
            }
            packets.push(RtpPacket {
                header: RtpHeader {
                    marker,
                    payload_type: 96,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc: 0x1234,
                    ..RtpHeader::default()
                },
                payload,
                padding: 0,
            });
            seq = seq.wrapping_add(1);
        }
        ts = ts.wrapping_add(match kind {
            Kind::OggOpus => OpusPacket::parse(f).map(|p| p.samples).unwrap_or(960),
            _ => 3000,
        });
    }
    let n_packets = packets.len();
    let wire = scramble(packets, &mut rng);
    let cfg = Config {
        max_packets: 1 << 16,
        max_bytes: 64 << 20,
        max_age: Duration::from_secs(10),
        // A recorder: wait for the resent packets instead of skipping to the next keyframe.
        skip_to_keyframe: false,
        ..Config::default()
    };
    let mut fb = FrameBuffer::new(dp, cfg);
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut mismatches = Vec::new();
    let mut undecodable = 0;
    let mut now = t0;
    for p in wire {
        now += Duration::from_millis(1);
        fb.insert(p, now);
        if fb.poll_timeout().is_some_and(|t| t <= now) {
            fb.handle_timeout(now);
        }
        while let Some(f) = fb.poll_frame() {
            got.push(f);
        }
    }
    // Let a start-up delay run out.
    fb.handle_timeout(now + Duration::from_secs(1));
    while let Some(f) = fb.poll_frame() {
        got.push(f);
    }
    while let Some(d) = fb.poll_drop() {
        if d.reason != DropReason::Duplicate && d.reason != DropReason::Late {
            mismatches.push(format!(
                "drop {:?} seq {}..{}",
                d.reason, d.first_seq, d.last_seq
            ));
        }
    }
    for (i, f) in got.iter().enumerate() {
        if f.contiguous != (i > 0) {
            mismatches.push(format!("frame {i}: contiguous {}", f.contiguous));
        }
        if !f.decodable {
            undecodable += 1;
        }
        // Frames are matched to the source by RTP timestamp (a dropped frame shifts indices).
        let Some(&src_i) = frame_ts.get(&f.timestamp) else {
            mismatches.push(format!("frame {i}: unknown timestamp {}", f.timestamp));
            continue;
        };
        let src = &frames[src_i];
        if !same_frame(kind, src, &f.data) {
            mismatches.push(format!(
                "frame {i} (source {src_i}): {} bytes, source {} bytes, differ",
                f.data.len(),
                src.len()
            ));
        }
    }
    if got.len() != frames.len() {
        mismatches.push(format!("{} frames out of {}", got.len(), frames.len()));
    }
    // Write the container back from the reassembled frames.
    let mut written = Vec::new();
    match source {
        Source::Ivf(h, src) => {
            let mut h = *h;
            h.frame_count = got.len() as u32;
            h.write_to(&mut written);
            for (f, (pts, _)) in got.iter().zip(src) {
                ivf::write_frame(*pts, &f.data, &mut written).unwrap();
            }
        }
        Source::Stream(_) => {
            for f in &got {
                written.extend_from_slice(&f.data);
            }
        }
        Source::Opus(o) => {
            let mut w = OggOpusWriter::new(&o.head, &o.tags, o.serial, 4096, &mut written);
            for f in &got {
                w.write_packet(&f.data, &mut written)
                    .map_err(|e| e.to_string())?;
            }
            w.finish(Some(o.final_granule), &mut written);
        }
    }
    // The written file reads back into the same frames.
    match Source::read(kind, Bytes::from(written.clone())) {
        Ok(back) => {
            let back = back.frames();
            if back.len() != got.len()
                || back
                    .iter()
                    .zip(&got)
                    .any(|(b, g)| !same_frame(kind, b, &g.data))
            {
                mismatches.push("written file reads back different".into());
            }
        }
        Err(e) => mismatches.push(format!("written file does not read back: {e}")),
    }
    Ok(Outcome {
        frames_in: frames.len(),
        frames_out: got.len(),
        packets: n_packets,
        max_packets_per_frame: max_ppf,
        undecodable,
        mismatches,
        written,
    })
}

#[test]
fn committed_media_round_trip() {
    let files: [(Kind, &[u8]); 6] = [
        (
            Kind::Vp8Ivf,
            include_bytes!("data/video_vpx_320x240.vp8.ivf"),
        ),
        (
            Kind::Vp9Ivf,
            include_bytes!("data/video_vpx_320x240.vp9.ivf"),
        ),
        (
            Kind::H264,
            include_bytes!("data/video_x264_320x240_baseline.h264"),
        ),
        (Kind::H265, include_bytes!("data/video_x265_320x240.h265")),
        (Kind::Av1Ivf, include_bytes!("data/video_aom_320x240.ivf")),
        (Kind::OggOpus, include_bytes!("data/ffmpeg_sine_300ms.opus")),
    ];
    for (kind, bytes) in files {
        let source = Source::read(kind, Bytes::from_static(bytes)).unwrap();
        assert!(source.frames().len() >= 2, "{kind:?}");
        for (i, max_payload) in PAYLOAD_SIZES.iter().enumerate() {
            let o = run(kind, &source, *max_payload, i as u64).unwrap();
            assert!(
                o.mismatches.is_empty(),
                "{kind:?} at {max_payload}: {:?}",
                o.mismatches
            );
            // Every frame arrives, so every frame is decodable.
            assert_eq!(o.undecodable, 0, "{kind:?} at {max_payload}");
            assert_eq!(o.frames_out, o.frames_in);
            eprintln!(
                "{kind:?} max_payload {max_payload}: {} frames, {} packets, up to {} per frame, {} undecodable",
                o.frames_out, o.packets, o.max_packets_per_frame, o.undecodable
            );
            assert!(o.packets >= o.frames_in);
        }
    }
}

#[test]
#[ignore = "run by `cargo xtask media-files` on streams made by ffmpeg"]
fn generated_media_files() {
    let dir = std::env::var("FERRTC_MEDIA_DIR").expect("FERRTC_MEDIA_DIR");
    let dir = Path::new(&dir);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| Kind::from_file(n).is_some())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no media files in {}", dir.display());
    let mut tsv = String::new();
    let mut failed = 0;
    for name in names {
        let kind = Kind::from_file(&name).unwrap();
        let bytes = Bytes::from(std::fs::read(dir.join(&name)).unwrap());
        let source = match Source::read(kind, bytes) {
            Ok(s) => s,
            Err(e) => {
                failed += 1;
                writeln!(tsv, "{name}\t-\t-\t-\t-\t-\t-\tFAIL\tread: {e}").unwrap();
                continue;
            }
        };
        for (i, max_payload) in PAYLOAD_SIZES.iter().enumerate() {
            let out_name = format!("out_{max_payload}_{name}");
            match run(kind, &source, *max_payload, 1000 + i as u64) {
                Err(e) if kind.codec().is_none() => {
                    writeln!(tsv, "{name}\t{max_payload}\t-\t-\t-\t-\t-\tSKIP\t{e}").unwrap();
                    break;
                }
                Err(e) => {
                    failed += 1;
                    writeln!(tsv, "{name}\t{max_payload}\t-\t-\t-\t-\t-\tFAIL\t{e}").unwrap();
                }
                Ok(o) => {
                    std::fs::write(dir.join(&out_name), &o.written).unwrap();
                    let ok = o.mismatches.is_empty();
                    if !ok {
                        failed += 1;
                    }
                    let detail = o
                        .mismatches
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ");
                    writeln!(
                        tsv,
                        "{name}\t{max_payload}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        o.frames_in,
                        o.frames_out,
                        o.packets,
                        o.max_packets_per_frame,
                        o.undecodable,
                        if ok { "PASS" } else { "FAIL" },
                        if ok { out_name } else { detail }
                    )
                    .unwrap();
                }
            }
        }
    }
    std::fs::write(dir.join("results.tsv"), &tsv).unwrap();
    print!("{tsv}");
    assert_eq!(failed, 0, "{failed} failing rows");
}
