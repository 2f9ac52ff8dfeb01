//! A WHEP server that plays files to whoever connects: video from IVF (VP8, VP9, AV1) or an
//! H.264 Annex B stream, audio from Ogg Opus, paced in real time and looped.
//!
//!     cargo run --release -p ferrtc --example play-from-disk -- [--port 8080]
//!         [--video FILE.ivf|FILE.h264] [--fps 30] [--audio FILE.ogg] [--loopback]
//!
//! The endpoint is `http://127.0.0.1:PORT/whep`: a client offers recvonly audio/video (a
//! browser page, `cargo xtask interop-media`), the answer is sendonly, and the frames start
//! once connected, with the negotiated payload type of the file's codec. `GET /stats` gives
//! each live session's sender counters (`packetsSent`, `framesSent`) as JSON, to compare with
//! the receiver's view. `--fps` paces H.264 (Annex B carries no timestamps); IVF frames keep
//! their own timestamps. `--loopback` gathers only 127.0.0.1 candidates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use bytes::Bytes;
use ferrtc::media_codecs::container::annexb::{AccessUnits, NalSyntax};
use ferrtc::media_codecs::container::ivf::{self, IvfReader};
use ferrtc::media_codecs::container::ogg::OggReader;
use ferrtc::media_codecs::opus::OpusPacket;
use ferrtc::peerconnection::stats::Stats;
use ferrtc::whip::WhipServer;
use ferrtc::{Error, MediaKind, PeerConnection, RtcConfiguration, TrackSender};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Frames with their times (seconds from the start of the file) and the codec's mime type.
struct Media {
    mime: &'static str,
    frames: Vec<(f64, Bytes)>,
    /// Length of one pass, seconds (last frame's time plus one frame).
    length: f64,
}

fn load_video(path: &str, fps: f64) -> Media {
    let data = Bytes::from(std::fs::read(path).expect("--video file"));
    if path.ends_with(".ivf") {
        let reader = IvfReader::new(data).expect("an IVF file");
        let h = *reader.header();
        let mime = match h.fourcc {
            ivf::VP8 => "video/VP8",
            ivf::VP9 => "video/VP9",
            ivf::AV1 => "video/AV1",
            other => panic!("IVF fourcc {other:?} is not VP8, VP9 or AV1"),
        };
        let unit = f64::from(h.timebase_num.max(1)) / f64::from(h.timebase_den.max(1));
        let frames: Vec<(f64, Bytes)> = reader
            .map(|f| f.unwrap())
            .map(|f| (f.timestamp as f64 * unit, f.data))
            .collect();
        let step = if frames.len() > 1 {
            frames[frames.len() - 1].0 / (frames.len() - 1) as f64
        } else {
            1.0 / fps
        };
        let length = frames.last().map_or(0.0, |f| f.0) + step;
        Media {
            mime,
            frames,
            length,
        }
    } else {
        let mut aus = AccessUnits::new(data, NalSyntax::H264, 4 << 20);
        let mut frames = Vec::new();
        while let Some(au) = aus.next_access_unit() {
            frames.push((frames.len() as f64 / fps, au.expect("an H.264 access unit")));
        }
        let length = frames.len() as f64 / fps;
        Media {
            mime: "video/H264",
            frames,
            length,
        }
    }
}

fn load_audio(path: &str) -> Media {
    let data = Bytes::from(std::fs::read(path).expect("--audio file"));
    let mut t = 0.0;
    let mut frames = Vec::new();
    // The first two packets are OpusHead and OpusTags (RFC 7845 §5).
    for p in OggReader::new(data, 1 << 16).skip(2) {
        let p = p.expect("an Ogg Opus file");
        let samples = OpusPacket::parse(&p.data).map_or(960, |o| o.samples);
        frames.push((t, p.data));
        t += f64::from(samples) / 48_000.0;
    }
    Media {
        mime: "audio/opus",
        frames,
        length: t,
    }
}

/// The payload type negotiated for `mime` on this sender (H.264: packetization mode 1 first).
async fn payload_type(sender: &TrackSender, mime: &str) -> Option<(u8, u32)> {
    let info = sender.info().await.ok()?;
    let mut matching: Vec<_> = info
        .codecs
        .iter()
        .filter(|c| c.mime_type.eq_ignore_ascii_case(mime))
        .collect();
    matching.sort_by_key(|c| {
        !c.sdp_fmtp_line
            .as_deref()
            .unwrap_or_default()
            .contains("packetization-mode=1")
    });
    matching.first().map(|c| (c.payload_type, c.clock_rate))
}

/// Plays `media` on `sender` in real time, looping, until the connection closes.
async fn play(sender: TrackSender, media: Arc<Media>) {
    let Some((pt, clock)) = payload_type(&sender, media.mime).await else {
        tracing::warn!(mime = media.mime, "the client did not negotiate this codec");
        return;
    };
    let start = tokio::time::Instant::now();
    let mut pass = 0u32;
    loop {
        for (t, data) in &media.frames {
            let at = f64::from(pass) * media.length + t;
            tokio::time::sleep_until(start + Duration::from_secs_f64(at)).await;
            let ts = (at * f64::from(clock)) as u64 as u32;
            match sender.write_frame_as(data.clone(), ts, pt).await {
                Ok(()) => {}
                Err(Error::Closed) => return,
                // Not keyed yet, or a frame the packetizer refuses: skipped.
                Err(e) => tracing::debug!(error = %e, "frame not sent"),
            }
        }
        pass += 1;
    }
}

type Live = Arc<Mutex<HashMap<u64, Vec<TrackSender>>>>;

async fn stats(live: Live) -> String {
    let sessions: Vec<(u64, Vec<TrackSender>)> = live
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let mut out = serde_json::Map::new();
    for (n, senders) in sessions {
        let mut s = serde_json::Map::new();
        for sender in senders {
            let Ok(report) = sender.get_stats().await else {
                continue;
            };
            for o in &report.stats {
                if let Stats::OutboundRtp(o) = o {
                    s.insert(
                        o.kind.to_owned(),
                        serde_json::json!({
                            "packetsSent": o.packets_sent,
                            "framesSent": o.frames_sent,
                            "bytesSent": o.bytes_sent,
                        }),
                    );
                }
            }
        }
        out.insert(n.to_string(), serde_json::Value::Object(s));
    }
    serde_json::Value::Object(out).to_string()
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
    let fps: f64 = arg("--fps").map_or(30.0, |f| f.parse().expect("--fps N"));
    let video = arg("--video").map(|p| Arc::new(load_video(&p, fps)));
    let audio = arg("--audio").map(|p| Arc::new(load_audio(&p)));
    assert!(
        video.is_some() || audio.is_some(),
        "give --video and/or --audio"
    );
    let mut config = RtcConfiguration::default();
    if std::env::args().any(|a| a == "--loopback") {
        config.interfaces = Some(vec!["127.0.0.1".parse().unwrap()]);
    }
    let live: Live = Arc::default();
    let sessions = Arc::new(AtomicU64::new(1));
    let live2 = live.clone();
    let server = WhipServer::new(config, move |pc: PeerConnection| {
        let n = sessions.fetch_add(1, Ordering::Relaxed);
        let (video, audio, live) = (video.clone(), audio.clone(), live2.clone());
        async move {
            // Added before the client's offer is applied: its recvonly sections take them.
            let mut players = Vec::new();
            if let Some(v) = video {
                let s = pc.add_track(MediaKind::Video, "video", &["play"]).await;
                players.extend(s.ok().map(|s| (s, v)));
            }
            if let Some(a) = audio {
                let s = pc.add_track(MediaKind::Audio, "audio", &["play"]).await;
                players.extend(s.ok().map(|s| (s, a)));
            }
            live.lock()
                .unwrap()
                .insert(n, players.iter().map(|(s, _)| s.clone()).collect());
            tokio::spawn(async move {
                if pc.wait_connected().await.is_ok() {
                    tracing::info!(session = n, "playing");
                    for (s, m) in players {
                        tokio::spawn(play(s, m));
                    }
                    pc.wait_ended().await;
                }
                live.lock().unwrap().remove(&n);
                tracing::info!(session = n, "ended");
            });
        }
    });
    let app = server
        .router("/whep")
        .route("/stats", get(move || stats(live.clone())));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on http://127.0.0.1:{port}/whep");
    axum::serve(listener, app).await.expect("serve");
}
