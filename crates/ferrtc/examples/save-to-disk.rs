//! A WHIP server that records what a client (a browser) publishes: Opus to an Ogg file,
//! VP8 / VP9 / AV1 to IVF, H.264 to an Annex B elementary stream. Each file is finished (IVF
//! header with the frame count and size, Ogg end-of-stream page) when the session ends: on
//! the client's `DELETE`, or when the connection fails.
//!
//!     cargo run --release -p ferrtc --example save-to-disk -- [--port 8080] [--out DIR]
//!         [--loopback]
//!
//! Then publish to `http://127.0.0.1:8080/whip` (a browser page with a WHIP client, OBS,
//! `cargo xtask interop-media`). Files are written as `DIR/s<session>-<mid>.<ext>.part` and
//! renamed to `DIR/s<session>-<mid>.<ext>` once complete; a line `saved PATH codec=… frames=N
//! bytes=B` on stdout says each one is done. Video starts at the first key frame. `--loopback`
//! gathers only 127.0.0.1 candidates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrtc::media_codecs::container::ivf::{self, IvfHeader};
use ferrtc::media_codecs::container::ogg::{OggOpusWriter, OpusHead, OpusTags};
use ferrtc::whip::WhipServer;
use ferrtc::{PeerConnection, PeerEvent, ReceivedFrame, RemoteTrack, RtcConfiguration};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One file being written.
enum Writer {
    Ogg {
        w: OggOpusWriter,
    },
    Ivf {
        header: IvfHeader,
        /// RTP timestamp of the last frame, and its distance from the first (unwrapped).
        last: Option<(u32, i64)>,
    },
    AnnexB,
}

struct Recording {
    file: File,
    part: PathBuf,
    path: PathBuf,
    codec: String,
    writer: Writer,
    frames: u64,
    bytes: u64,
    buf: Vec<u8>,
}

impl Recording {
    fn open(dir: &Path, stem: &str, mime: &str, fmtp: Option<&str>) -> Option<Recording> {
        let codec = mime.to_ascii_lowercase();
        let (ext, fourcc) = match codec.as_str() {
            "audio/opus" => ("ogg", None),
            "video/vp8" => ("ivf", Some(ivf::VP8)),
            "video/vp9" => ("ivf", Some(ivf::VP9)),
            "video/av1" => ("ivf", Some(ivf::AV1)),
            "video/h264" => ("h264", None),
            _ => return None,
        };
        let path = dir.join(format!("{stem}.{ext}"));
        let part = dir.join(format!("{stem}.{ext}.part"));
        let mut file = File::create(&part).ok()?;
        let mut buf = Vec::new();
        let writer = match (ext, fourcc) {
            ("ogg", _) => {
                let stereo = fmtp.is_some_and(|f| f.contains("stereo=1"));
                let head = OpusHead {
                    version: 1,
                    channels: if stereo { 2 } else { 1 },
                    // The sender's encoder delay is not known here; nothing is skipped.
                    pre_skip: 0,
                    input_sample_rate: 48_000,
                    output_gain: 0,
                    mapping_family: 0,
                    mapping: Vec::new(),
                };
                let tags = OpusTags {
                    vendor: "ferrtc save-to-disk".into(),
                    comments: Vec::new(),
                };
                let w = OggOpusWriter::new(&head, &tags, 0x6665_7272, 4096, &mut buf);
                Writer::Ogg { w }
            }
            (_, Some(fourcc)) => {
                let header = IvfHeader {
                    fourcc,
                    width: 0,
                    height: 0,
                    timebase_den: 90_000,
                    timebase_num: 1,
                    frame_count: 0,
                };
                // Rewritten with the size and frame count when the file is finished.
                header.write_to(&mut buf);
                Writer::Ivf { header, last: None }
            }
            _ => Writer::AnnexB,
        };
        file.write_all(&buf).ok()?;
        buf.clear();
        Some(Recording {
            file,
            part,
            path,
            codec,
            writer,
            frames: 0,
            bytes: 0,
            buf,
        })
    }

    fn write(&mut self, f: &ReceivedFrame) {
        match &mut self.writer {
            Writer::Ogg { w } => {
                if w.write_packet(&f.data, &mut self.buf).is_err() {
                    return; // not an Opus packet: skipped
                }
            }
            Writer::Ivf { header, last } => {
                if let Some((w, h)) = f.resolution {
                    if header.width == 0 {
                        header.width = w;
                        header.height = h;
                    }
                }
                // Timestamps from the first frame's, unwrapped (RFC 3550 §5.1: they wrap
                // modulo 2^32; a step is taken as the shorter way round).
                let ts = match *last {
                    None => 0,
                    Some((prev, at)) => at + i64::from(f.rtp_timestamp.wrapping_sub(prev) as i32),
                };
                *last = Some((f.rtp_timestamp, ts));
                let mut data = f.data.to_vec();
                if header.fourcc == ivf::AV1 && data.first().map(|b| (b >> 3) & 0x0f) != Some(2) {
                    // Each IVF AV1 frame is a temporal unit that starts with a temporal
                    // delimiter OBU (AV1 spec §7.5).
                    data.splice(0..0, [0x12, 0x00]);
                }
                if ivf::write_frame(ts.max(0) as u64, &data, &mut self.buf).is_err() {
                    return;
                }
                header.frame_count = header.frame_count.saturating_add(1);
            }
            Writer::AnnexB => self.buf.extend_from_slice(&f.data),
        }
        self.frames += 1;
        self.bytes += f.data.len() as u64;
        let _ = self.file.write_all(&self.buf);
        self.buf.clear();
    }

    fn finish(mut self) {
        match self.writer {
            Writer::Ogg { w } => {
                w.finish(None, &mut self.buf);
                let _ = self.file.write_all(&self.buf);
            }
            Writer::Ivf { header, .. } => {
                let mut h = Vec::new();
                header.write_to(&mut h);
                let _ = self.file.seek(SeekFrom::Start(0));
                let _ = self.file.write_all(&h);
            }
            Writer::AnnexB => {}
        }
        let _ = self.file.sync_all();
        drop(self.file);
        if std::fs::rename(&self.part, &self.path).is_ok() {
            println!(
                "saved {} codec={} frames={} bytes={}",
                self.path.display(),
                self.codec,
                self.frames,
                self.bytes
            );
        }
    }
}

/// Records one remote track until it ends.
async fn record(track: RemoteTrack, dir: PathBuf, session: u64) {
    let stem = format!("s{session}-{}", track.mid());
    let mut rec: Option<Recording> = None;
    let mut unknown = false;
    while let Some(f) = track.recv_frame().await {
        if rec.is_none() {
            if unknown {
                continue;
            }
            // The negotiated codec of this payload type says which file to write.
            let Ok(info) = track.info().await else { break };
            let Some(codec) = info
                .codecs
                .iter()
                .find(|c| c.payload_type == f.payload_type)
            else {
                continue;
            };
            let video = codec.mime_type.to_ascii_lowercase().starts_with("video/");
            if video && !f.keyframe {
                continue; // a decoder starts at a key frame
            }
            rec = Recording::open(
                &dir,
                &stem,
                &codec.mime_type,
                codec.sdp_fmtp_line.as_deref(),
            );
            if rec.is_none() {
                tracing::warn!(mime = codec.mime_type, "codec not recorded");
                unknown = true;
                continue;
            }
        }
        if let Some(r) = rec.as_mut() {
            r.write(&f);
        }
    }
    if track.dropped() > 0 {
        tracing::warn!(
            mid = track.mid(),
            dropped = track.dropped(),
            "frames dropped"
        );
    }
    if let Some(r) = rec {
        r.finish();
    }
}

async fn session(pc: PeerConnection, dir: PathBuf, n: u64) {
    let mut events = pc.events().unwrap();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::Track(t) => {
                    tracing::info!(session = n, mid = t.mid(), kind = ?t.kind(), "recording");
                    tokio::spawn(record(t, dir.clone(), n));
                }
                PeerEvent::ConnectionStateChange(s) => {
                    tracing::info!(session = n, ?s, "connection state")
                }
                _ => {}
            }
        }
    });
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let port: u16 = arg("--port").map_or(8080, |p| p.parse().expect("--port N"));
    let dir = PathBuf::from(arg("--out").unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir).expect("--out directory");
    let mut config = RtcConfiguration::default();
    if std::env::args().any(|a| a == "--loopback") {
        config.interfaces = Some(vec!["127.0.0.1".parse().unwrap()]);
    }
    let sessions = Arc::new(AtomicU64::new(1));
    let server = WhipServer::new(config, move |pc| {
        let n = sessions.fetch_add(1, Ordering::Relaxed);
        session(pc, dir.clone(), n)
    });
    let app = server.router("/whip");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on http://127.0.0.1:{port}/whip");
    axum::serve(listener, app).await.expect("serve");
}
