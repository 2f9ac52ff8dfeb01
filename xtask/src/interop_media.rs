//! `cargo xtask interop-media [--seconds N] [--only CODEC] [--debug]` (`--debug`: the examples
//! built without `--release`, quicker to build): headless Chromium
//! publishes its fake camera and microphone over WHIP to ferrtc's `save-to-disk` example, once
//! per video codec (VP8, VP9, H.264, AV1, forced with `setCodecPreferences`) with Opus each
//! time, N seconds (default 5) each; every recorded file is checked with ffprobe / ffmpeg.
//!
//! Steps: playwright-core into `target/interop/media-node` (npm, once; Chromium is Debian's);
//! `cargo build [--release] -p ferrtc --example save-to-disk`; then everything runs inside a
//! loopback-only network namespace (`unshare --net --pid --fork --kill-child`, as `interop`
//! does): the server (`--loopback`, files in `target/interop/media/`), then
//! `xtask/scripts/interop/chromium_media.mjs` for each codec, which prints what Chromium sent
//! (its outbound-rtp `framesSent`, the seconds it sent for) and DELETEs the session; the
//! server then finishes the files and says `saved …`.
//!
//! How each row is judged (numbers, not "it connected"):
//! - decoding: `ffprobe -count_frames` decodes the whole stream; its `nb_read_frames` is the
//!   frame count, and `ffmpeg -v error -i FILE -f null -` must print no decoding error (the
//!   null muxer's own timestamp remarks are not counted);
//! - frame rate: what Chromium sent, `framesSent / seconds sent` (outbound-rtp, page clock);
//! - duration of a video file: IVF (VP8, VP9, AV1) from its own timestamps, `last pts - first
//!   pts + one frame interval at that rate`; H.264 Annex B carries no timestamps, so its
//!   duration is the seconds Chromium sent for;
//! - video passes when `|frames - duration × rate| <= 10 %` of `duration × rate`;
//! - Opus passes when the Ogg file decodes and its duration (granule positions, ffprobe)
//!   is within 10 % of the seconds Chromium sent for.
//!
//! Then the other direction, ferrtc `play-from-disk` (WHEP) to Chromium, one row per codec
//! with Opus: ffmpeg encodes a 640x480 30 fps test pattern (keyframe each second; libvpx,
//! libvpx-vp9, libsvtav1, libx264 baseline) and a 440 Hz Opus tone, N + 3 s long; the page
//! offers recvonly audio + video, plays both, and after N s its inbound-rtp counters are read
//! together with the server's outbound-rtp (`GET /stats` of the example). A row passes when
//! `framesDecoded >= 90 %` of ferrtc's `framesSent`, `totalSamplesReceived` rose, and ferrtc's
//! `packetsSent` = the page's `packetsReceived + packetsLost` within 5, video and audio.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util;

const CODECS: &[&str] = &["vp8", "vp9", "h264", "av1"];
const PORT: u16 = 18_480;

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--inside") {
        return inside(args.get(1..).unwrap_or_default());
    }
    let mut seconds = 5u32;
    let mut only: Option<String> = None;
    let mut release = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds N")?
            }
            "--only" => only = Some(it.next().ok_or("--only CODEC")?.to_lowercase()),
            "--debug" => release = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let root = util::root();
    for tool in ["node", "npm", "ffprobe", "ffmpeg", "unshare", "ip"] {
        if !util::have(tool) {
            return Err(format!("{tool} is needed"));
        }
    }
    util::ensure_apt("chromium", &["chromium"])?;
    let node_dir = root.join("target/interop/media-node");
    if !node_dir.join("node_modules/playwright-core").exists() {
        std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
        std::fs::write(
            node_dir.join("package.json"),
            r#"{"name":"ferrtc-interop-media","private":true,"type":"module","dependencies":{"playwright-core":"1.65.1"}}"#,
        )
        .map_err(|e| e.to_string())?;
        util::run_in(&node_dir, "npm", &["install", "--no-audit", "--no-fund"])?;
    }
    let mut build = vec![
        "build",
        "-p",
        "ferrtc",
        "--example",
        "save-to-disk",
        "--example",
        "play-from-disk",
        "--example",
        "reflect",
    ];
    if release {
        build.push("--release");
    }
    util::cargo(&build)?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let examples = target
        .join(if release { "release" } else { "debug" })
        .join("examples");
    let example = examples.join("save-to-disk");
    let codecs: Vec<&str> = CODECS
        .iter()
        .copied()
        .filter(|c| only.as_deref().is_none_or(|o| o == *c))
        .collect();
    if codecs.is_empty() {
        return Err(format!("--only: one of {}", CODECS.join(", ")));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("unshare")
        .args([
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$@\"",
            "lo-only",
        ])
        .arg(exe)
        .args(["interop-media", "--inside", &seconds.to_string()])
        .arg(&example)
        .args(&codecs)
        .current_dir(&root)
        .env("FERRTC_INTEROP_NODE", &node_dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("interop-media: some rows failed (logs: target/interop/media/)".into())
    }
}

/// One recorded file as ffprobe and ffmpeg see it.
pub(crate) struct Probe {
    pub(crate) frames: u64,
    /// Stream duration (Ogg: from granule positions), seconds.
    pub(crate) duration: Option<f64>,
    /// Packet timestamps, seconds.
    pub(crate) pts: Vec<f64>,
    pub(crate) decode_errors: usize,
}

pub(crate) fn probe(file: &Path) -> Result<Probe, String> {
    let out = Command::new(util::tool("ffprobe", "ffprobe"))
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .arg("stream=codec_name,nb_read_frames,duration:packet=pts_time")
        .args(["-of", "json"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot start ffprobe: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ffprobe {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("ffprobe JSON: {e}"))?;
    let stream = &v["streams"][0];
    let frames = stream["nb_read_frames"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let duration = stream["duration"].as_str().and_then(|s| s.parse().ok());
    let pts = v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["pts_time"].as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    let dec = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .map_err(|e| e.to_string())?;
    // The null muxer's complaints about two frames in one output tick (Chromium's capture
    // times jitter; the muxer's time base is 1/frame rate) are not decoding errors.
    let decode_errors = String::from_utf8_lossy(&dec.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("[null @"))
        .count()
        + usize::from(!dec.status.success());
    Ok(Probe {
        frames,
        duration,
        pts,
        decode_errors,
    })
}

struct Row {
    codec: String,
    sent_frames: u64,
    sent_for: f64,
    video: Option<(PathBuf, Probe)>,
    audio: Option<(PathBuf, Probe)>,
    error: Option<String>,
}

impl Row {
    /// (video ok, expected frames, duration used, audio ok, why not).
    fn judge(&self) -> (bool, f64, f64, bool, String) {
        let mut why = Vec::new();
        let rate = if self.sent_for > 0.0 {
            self.sent_frames as f64 / self.sent_for
        } else {
            0.0
        };
        let (mut vok, mut expected, mut duration) = (false, 0.0, 0.0);
        match &self.video {
            Some((path, p)) => {
                let ivf = path.extension().is_some_and(|e| e == "ivf");
                duration = match (ivf, p.pts.first(), p.pts.last()) {
                    (true, Some(a), Some(b)) if rate > 0.0 => b - a + 1.0 / rate,
                    _ => self.sent_for,
                };
                expected = duration * rate;
                let within = expected > 0.0 && (p.frames as f64 - expected).abs() <= 0.1 * expected;
                if !within {
                    why.push(format!(
                        "video: {} frames, expected {expected:.1} ± 10 %",
                        p.frames
                    ));
                }
                if p.decode_errors > 0 {
                    why.push(format!("video: {} decoding errors", p.decode_errors));
                }
                vok = within && p.decode_errors == 0;
            }
            None => why.push("no video file".into()),
        }
        let aok = match &self.audio {
            Some((_, p)) => {
                let d = p.duration.unwrap_or(0.0);
                let ok = p.frames > 0
                    && p.decode_errors == 0
                    && (d - self.sent_for).abs() <= 0.1 * self.sent_for;
                if !ok {
                    why.push(format!(
                        "opus: {d:.2} s / {} packets / {} errors, sent for {:.2} s",
                        p.frames, p.decode_errors, self.sent_for
                    ));
                }
                ok
            }
            None => {
                why.push("no Ogg file".into());
                false
            }
        };
        if let Some(e) = &self.error {
            why.insert(0, e.clone());
        }
        (vok, expected, duration, aok, why.join("; "))
    }
}

/// Inside the namespace: `--inside SECONDS EXAMPLE CODEC...`.
fn inside(args: &[String]) -> Result<(), String> {
    let seconds = args.first().ok_or("seconds")?.clone();
    let example = PathBuf::from(args.get(1).ok_or("example")?);
    let codecs = args.get(2..).unwrap_or_default();
    let root = util::root();
    let dir = root.join("target/interop/media");
    let _ = std::fs::remove_dir_all(&dir);
    let files = dir.join("files");
    std::fs::create_dir_all(&files).map_err(|e| e.to_string())?;
    let server_log =
        std::fs::File::create(dir.join("save-to-disk.log")).map_err(|e| e.to_string())?;
    let mut server = Command::new(&example)
        .args(["--port", &PORT.to_string(), "--loopback", "--out"])
        .arg(&files)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(server_log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", example.display()))?;
    let (tx, lines) = mpsc::channel::<String>();
    if let Some(out) = server.stdout.take() {
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    let result = (|| {
        let first = lines
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "save-to-disk did not start".to_string())?;
        if !first.starts_with("listening on") {
            return Err(format!("save-to-disk said {first:?}"));
        }
        let url = format!("http://127.0.0.1:{PORT}/whip");
        let script = root.join("xtask/scripts/interop/chromium_media.mjs");
        let mut rows = Vec::new();
        for (i, codec) in codecs.iter().enumerate() {
            let session = i + 1;
            eprintln!("== {codec}: Chromium publishes for {seconds} s");
            let out = Command::new("timeout")
                .args(["120", "node"])
                .arg(&script)
                .args([url.as_str(), "--codec", codec, "--seconds", &seconds])
                .stderr(
                    std::fs::File::create(dir.join(format!("chromium-{codec}.log")))
                        .map_err(|e| e.to_string())?,
                )
                .output()
                .map_err(|e| format!("node: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let result: Option<serde_json::Value> = text
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .and_then(|j| serde_json::from_str(j).ok());
            let mut row = Row {
                codec: codec.clone(),
                sent_frames: 0,
                sent_for: 0.0,
                video: None,
                audio: None,
                error: None,
            };
            match &result {
                Some(r) if r["ok"].as_bool() == Some(true) => {
                    row.sent_frames = r["video"]["framesSent"].as_u64().unwrap_or(0);
                    row.sent_for = r["sentFor"].as_f64().unwrap_or(0.0);
                    let mime = r["video"]["mimeType"].as_str().unwrap_or("?");
                    if !mime.eq_ignore_ascii_case(&format!("video/{codec}")) {
                        row.error = Some(format!("Chromium sent {mime}"));
                    }
                }
                Some(r) => row.error = Some(format!("Chromium: {}", r["error"])),
                None => row.error = Some(format!("Chromium gave no result ({})", out.status)),
            }
            // The session's files are finished after the DELETE.
            let deadline = Instant::now() + Duration::from_secs(15);
            let prefix = format!("s{session}-");
            while row.video.is_none() || row.audio.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                let Ok(line) = lines.recv_timeout(left) else {
                    break;
                };
                let Some(rest) = line.strip_prefix("saved ") else {
                    continue;
                };
                let path = PathBuf::from(rest.split(' ').next().unwrap_or_default());
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                if !name.is_some_and(|n| n.starts_with(&prefix)) {
                    continue;
                }
                match probe(&path) {
                    Ok(p) if line.contains("codec=audio/") => row.audio = Some((path, p)),
                    Ok(p) => row.video = Some((path, p)),
                    Err(e) => row.error = Some(e),
                }
            }
            rows.push(row);
        }
        Ok(rows)
    })();
    let _ = server.kill();
    let _ = server.wait();
    let rows = result?;
    println!();
    println!(
        "| video codec | Chromium sent (frames / s / fps) | file | frames decoded | duration s | expected frames | video | Opus file: s / packets | Opus | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut all_ok = true;
    for r in &rows {
        let (vok, expected, duration, aok, why) = r.judge();
        all_ok &= vok && aok;
        let rate = if r.sent_for > 0.0 {
            r.sent_frames as f64 / r.sent_for
        } else {
            0.0
        };
        let name = |f: &Option<(PathBuf, Probe)>| {
            f.as_ref()
                .and_then(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "-".into())
        };
        let (vframes, audio) = (
            r.video.as_ref().map_or(0, |(_, p)| p.frames),
            r.audio.as_ref().map_or("-".to_string(), |(_, p)| {
                format!("{:.2} / {}", p.duration.unwrap_or(0.0), p.frames)
            }),
        );
        println!(
            "| {} | {} / {:.2} / {:.1} | {} | {} | {:.2} | {:.1} | {} | {} {} | {} | {} |",
            r.codec.to_uppercase(),
            r.sent_frames,
            r.sent_for,
            rate,
            name(&r.video),
            vframes,
            duration,
            expected,
            if vok { "pass" } else { "FAIL" },
            name(&r.audio),
            audio,
            if aok { "pass" } else { "FAIL" },
            why
        );
    }
    let play_ok = play_rows(
        &example.with_file_name("play-from-disk"),
        &dir,
        codecs,
        &seconds,
    );
    let reflect_ok = reflect_row(&example.with_file_name("reflect"), &dir, &seconds);
    if all_ok && play_ok && reflect_ok {
        Ok(())
    } else {
        Err("some rows failed".into())
    }
}

/// Encodes a 640x480 test pattern at 30 fps (keyframe every second) and a 440 Hz tone as
/// Opus, `seconds` long, with ffmpeg.
pub(crate) fn make_file(dir: &Path, codec: &str, seconds: &str) -> Result<PathBuf, String> {
    let (name, args): (&str, &[&str]) = match codec {
        "vp8" => (
            "v.vp8.ivf",
            &["-c:v", "libvpx", "-b:v", "1M", "-deadline", "realtime"],
        ),
        "vp9" => (
            "v.vp9.ivf",
            &[
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "1M",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
        ),
        "av1" => (
            "v.av1.ivf",
            &["-c:v", "libsvtav1", "-preset", "12", "-b:v", "1M"],
        ),
        "h264" => (
            "v.h264",
            &[
                "-c:v",
                "libx264",
                "-profile:v",
                "baseline",
                "-bf",
                "0",
                "-b:v",
                "1M",
            ],
        ),
        "opus" => (
            "a.ogg",
            &["-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20"],
        ),
        _ => return Err(format!("no file for {codec}")),
    };
    let out = dir.join(name);
    let input: &[&str] = if codec == "opus" {
        &["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    } else {
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=30",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
        ]
    };
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(input)
        .args(["-t", seconds])
        .args(args)
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if status.success() {
        Ok(out)
    } else {
        Err(format!("ffmpeg could not write {name}"))
    }
}

/// ferrtc `play-from-disk` (WHEP) to Chromium, one row per video codec with Opus. A row
/// passes when the page decoded at least 90 % of the frames ferrtc sent (the page's
/// inbound-rtp `framesDecoded` against the server's outbound-rtp `framesSent`, both read at
/// the same moment), its `totalSamplesReceived` rose, and ferrtc's `packetsSent` equals the
/// page's `packetsReceived + packetsLost` within 5 packets, for video and for audio.
fn play_rows(example: &Path, dir: &Path, codecs: &[String], seconds: &str) -> bool {
    let files = dir.join("play");
    let _ = std::fs::create_dir_all(&files);
    let play_for = seconds.parse::<u32>().unwrap_or(5);
    let file_len = (play_for + 3).to_string();
    let audio = match make_file(&files, "opus", &file_len) {
        Ok(a) => a,
        Err(e) => {
            println!("\nplay-from-disk: {e}");
            return false;
        }
    };
    println!();
    println!(
        "| play-from-disk codec | ferrtc framesSent | page framesDecoded | decoded % | video packets: sent / received+lost | audio packets: sent / received+lost | totalSamplesReceived | result | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut all_ok = true;
    for (i, codec) in codecs.iter().enumerate() {
        let port = PORT + 1 + i as u16;
        let row = (|| -> Result<serde_json::Value, String> {
            let video = make_file(&files, codec, &file_len)?;
            let log = std::fs::File::create(dir.join(format!("play-from-disk-{codec}.log")))
                .map_err(|e| e.to_string())?;
            let mut server = Command::new(example)
                .args(["--port", &port.to_string(), "--loopback", "--video"])
                .arg(&video)
                .arg("--audio")
                .arg(&audio)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", example.display()))?;
            let mut first = String::new();
            if let Some(out) = server.stdout.as_mut() {
                let _ = BufReader::new(out).read_line(&mut first);
            }
            let out = Command::new("timeout")
                .args(["120", "node"])
                .arg(util::root().join("xtask/scripts/interop/chromium_media.mjs"))
                .arg("--play")
                .arg(format!("http://127.0.0.1:{port}/whep"))
                .arg("--server-stats")
                .arg(format!("http://127.0.0.1:{port}/stats"))
                .args(["--seconds", seconds])
                .stderr(
                    std::fs::File::create(dir.join(format!("chromium-play-{codec}.log")))
                        .map_err(|e| e.to_string())?,
                )
                .output();
            let _ = server.kill();
            let _ = server.wait();
            let out = out.map_err(|e| format!("node: {e}"))?;
            if !first.starts_with("listening on") {
                return Err(format!("play-from-disk said {first:?}"));
            }
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .and_then(|j| serde_json::from_str(j).ok())
                .ok_or_else(|| format!("Chromium gave no result ({})", out.status))
        })();
        let r = match row {
            Ok(r) if r["ok"].as_bool() == Some(true) => r,
            Ok(r) => {
                all_ok = false;
                println!(
                    "| {} | | | | | | | FAIL | {} |",
                    codec.to_uppercase(),
                    r["error"]
                );
                continue;
            }
            Err(e) => {
                all_ok = false;
                println!("| {} | | | | | | | FAIL | {e} |", codec.to_uppercase());
                continue;
            }
        };
        let server = r["server"]
            .as_object()
            .and_then(|m| m.values().next())
            .cloned()
            .unwrap_or_default();
        let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        let i = |v: &serde_json::Value| v.as_i64().unwrap_or(0);
        let sent_frames = u(&server["video"]["framesSent"]);
        let decoded = u(&r["last"]["video"]["framesDecoded"]);
        let pct = if sent_frames > 0 {
            100.0 * decoded as f64 / sent_frames as f64
        } else {
            0.0
        };
        let vs = i(&server["video"]["packetsSent"]);
        let vr = i(&r["last"]["video"]["packetsReceived"]) + i(&r["last"]["video"]["packetsLost"]);
        let as_ = i(&server["audio"]["packetsSent"]);
        let ar = i(&r["last"]["audio"]["packetsReceived"]) + i(&r["last"]["audio"]["packetsLost"]);
        let s0 = u(&r["first"]["audio"]["totalSamplesReceived"]);
        let s1 = u(&r["last"]["audio"]["totalSamplesReceived"]);
        let mime = r["last"]["video"]["mimeType"].as_str().unwrap_or("?");
        let mut why = Vec::new();
        if !mime.eq_ignore_ascii_case(&format!("video/{codec}")) {
            why.push(format!("page received {mime}"));
        }
        if sent_frames == 0 || pct < 90.0 {
            why.push(format!("{pct:.1} % decoded"));
        }
        if (vs - vr).abs() > 5 || vs == 0 {
            why.push(format!("video packets {vs} vs {vr}"));
        }
        if (as_ - ar).abs() > 5 || as_ == 0 {
            why.push(format!("audio packets {as_} vs {ar}"));
        }
        if s1 <= s0 {
            why.push("totalSamplesReceived did not rise".into());
        }
        let ok = why.is_empty();
        all_ok &= ok;
        println!(
            "| {} | {sent_frames} | {decoded} | {pct:.1} | {vs} / {vr} | {as_} / {ar} | {s0} -> {s1} | {} | {} |",
            codec.to_uppercase(),
            if ok { "pass" } else { "FAIL" },
            why.join("; ")
        );
    }
    all_ok
}

/// ferrtc `reflect` with Chromium: the page publishes sendrecv (its default codec) and plays
/// what comes back. Passes when the page decoded at least 90 % of the video frames it sent
/// (its inbound-rtp `framesDecoded` against its outbound-rtp `framesSent`) and received audio
/// (`totalSamplesReceived` > 0).
fn reflect_row(example: &Path, dir: &Path, seconds: &str) -> bool {
    let port = PORT + 10;
    let r = (|| -> Result<serde_json::Value, String> {
        let log = std::fs::File::create(dir.join("reflect.log")).map_err(|e| e.to_string())?;
        let mut server = Command::new(example)
            .args(["--port", &port.to_string(), "--loopback"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", example.display()))?;
        let mut first = String::new();
        if let Some(out) = server.stdout.as_mut() {
            let _ = BufReader::new(out).read_line(&mut first);
        }
        let out = Command::new("timeout")
            .args(["120", "node"])
            .arg(util::root().join("xtask/scripts/interop/chromium_media.mjs"))
            .arg("--reflect")
            .arg(format!("http://127.0.0.1:{port}/whip"))
            .args(["--seconds", seconds])
            .stderr(
                std::fs::File::create(dir.join("chromium-reflect.log"))
                    .map_err(|e| e.to_string())?,
            )
            .output();
        let _ = server.kill();
        let _ = server.wait();
        let out = out.map_err(|e| format!("node: {e}"))?;
        if !first.starts_with("listening on") {
            return Err(format!("reflect said {first:?}"));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| format!("Chromium gave no result ({})", out.status))
    })();
    println!();
    println!("| reflect (Chromium default codec) | page framesSent | page framesDecoded (reflected) | decoded % | audio totalSamplesReceived | result | notes |");
    println!("|---|---|---|---|---|---|---|");
    let r = match r {
        Ok(r) if r["ok"].as_bool() == Some(true) => r,
        Ok(r) => {
            println!("| | | | | | FAIL | {} |", r["error"]);
            return false;
        }
        Err(e) => {
            println!("| | | | | | FAIL | {e} |");
            return false;
        }
    };
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let sent = u(&r["outbound"]["video"]["framesSent"]);
    let decoded = u(&r["inbound"]["video"]["framesDecoded"]);
    let samples = u(&r["inbound"]["audio"]["totalSamplesReceived"]);
    let pct = if sent > 0 {
        100.0 * decoded as f64 / sent as f64
    } else {
        0.0
    };
    let ok = sent > 0 && pct >= 90.0 && samples > 0;
    println!(
        "| {} | {sent} | {decoded} | {pct:.1} | {samples} | {} | |",
        r["inbound"]["video"]["mimeType"].as_str().unwrap_or("?"),
        if ok { "pass" } else { "FAIL" }
    );
    ok
}
