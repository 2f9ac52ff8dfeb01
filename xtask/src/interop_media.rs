//! `cargo xtask interop-media [--peer chromium|aiortc|all] [--seconds N] [--only CODEC]
//! [--debug]` (`--debug`: the examples built without `--release`, quicker to build; `--peer`:
//! default all). This file runs the Chromium rows and dispatches; the aiortc rows (VP8 and H.264
//! with Opus, both directions, judged by the same numbers) are in `interop_media_aiortc.rs`.
//!
//! Headless Chromium
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

pub(crate) mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{interop_media_aiortc, util};
use common::{
    build_examples, expected_frames, make_file, probe, run_inside, script_result, start_example,
    start_play_from_disk, start_save_to_disk, within_tenth, Flags, Probe, SavedLine,
};

const CODECS: &[&str] = &["vp8", "vp9", "h264", "av1"];
const PORT: u16 = 18_480;

/// Which peers `--peer` selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peers {
    Chromium,
    Aiortc,
    All,
}

impl Peers {
    fn parse(s: &str) -> Option<Peers> {
        match s {
            "chromium" => Some(Peers::Chromium),
            "aiortc" => Some(Peers::Aiortc),
            "all" => Some(Peers::All),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Peers::Chromium => "chromium",
            Peers::Aiortc => "aiortc",
            Peers::All => "all",
        }
    }

    fn chromium(self) -> bool {
        self != Peers::Aiortc
    }

    fn aiortc(self) -> bool {
        self != Peers::Chromium
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--inside") {
        return inside(args.get(1..).unwrap_or_default());
    }
    let usage = "--peer chromium|aiortc|all";
    let Flags {
        seconds,
        only,
        release,
        peer,
    } = Flags::parse(args, usage)?;
    let peers = match peer {
        Some(p) => Peers::parse(&p).ok_or(usage)?,
        None => Peers::All,
    };
    let selected = |list: &[&'static str]| -> Vec<&'static str> {
        list.iter()
            .copied()
            .filter(|c| only.as_deref().is_none_or(|o| o == *c))
            .collect()
    };
    // A peer with none of its codecs selected (aiortc has no VP9/AV1) has no rows.
    let chromium_codecs = if peers.chromium() {
        selected(CODECS)
    } else {
        Vec::new()
    };
    let aiortc_codecs = if peers.aiortc() {
        selected(interop_media_aiortc::CODECS)
    } else {
        Vec::new()
    };
    if chromium_codecs.is_empty() && aiortc_codecs.is_empty() {
        return Err(format!(
            "--only: one of {} (Chromium), {} (aiortc)",
            CODECS.join(", "),
            interop_media_aiortc::CODECS.join(", ")
        ));
    }
    if peers == Peers::All && aiortc_codecs.is_empty() {
        eprintln!(
            "interop-media: aiortc has no {} rows",
            only.as_deref().unwrap_or("?")
        );
    }
    let root = util::root();
    for tool in ["ffprobe", "ffmpeg", "unshare", "ip"] {
        if !util::have(tool) {
            return Err(format!("{tool} is needed"));
        }
    }
    let node_dir = root.join("target/interop/media-node");
    if peers.chromium() {
        for tool in ["node", "npm"] {
            if !util::have(tool) {
                return Err(format!("{tool} is needed"));
            }
        }
        util::ensure_apt("chromium", &["chromium"])?;
        if !node_dir.join("node_modules/playwright-core").exists() {
            std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
            std::fs::write(
                node_dir.join("package.json"),
                r#"{"name":"ferrtc-interop-media","private":true,"type":"module","dependencies":{"playwright-core":"1.65.1"}}"#,
            )
            .map_err(|e| e.to_string())?;
            util::run_in(&node_dir, "npm", &["install", "--no-audit", "--no-fund"])?;
        }
    }
    if !aiortc_codecs.is_empty() {
        interop_media_aiortc::install()?;
    }
    let examples = build_examples(&["save-to-disk", "play-from-disk", "reflect"], release)?;
    let example = examples.join("save-to-disk");
    // Inside: `--inside SECONDS EXAMPLE CHROMIUM_CODECS AIORTC_CODECS` (comma lists, `-` = none).
    let list = |c: &[&str]| {
        if c.is_empty() {
            "-".to_string()
        } else {
            c.join(",")
        }
    };
    eprintln!("interop-media: --peer {}", peers.name());
    let inside = [
        seconds.to_string().into(),
        example.into_os_string(),
        list(&chromium_codecs).into(),
        list(&aiortc_codecs).into(),
    ];
    let status = run_inside("interop-media", inside, &node_dir)?;
    if status {
        Ok(())
    } else {
        Err("interop-media: some rows failed (logs: target/interop/media/)".into())
    }
}

/// One publish row: what the peer says it sent, and the files save-to-disk recorded.
pub(crate) struct Row {
    pub(crate) codec: String,
    pub(crate) sent_frames: u64,
    pub(crate) sent_for: f64,
    pub(crate) video: Option<(PathBuf, Probe)>,
    pub(crate) audio: Option<(PathBuf, Probe)>,
    pub(crate) error: Option<String>,
    /// When set, the video file must also hold at least this share of the frames sent (a peer
    /// whose `framesSent` counts exactly the frames it put on the wire, as aiortc's does).
    pub(crate) min_recorded_share: Option<f64>,
    /// Seconds of audio the peer sent, when it counts them apart from `sent_for` (the Opus
    /// file's duration is compared with this, else with `sent_for`).
    pub(crate) audio_sent_for: Option<f64>,
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
                (duration, expected) = expected_frames(path, p, rate, self.sent_for);
                let within = within_tenth(p.frames as f64, expected);
                if !within {
                    why.push(format!(
                        "video: {} frames, expected {expected:.1} ± 10 %",
                        p.frames
                    ));
                }
                if p.decode_errors > 0 {
                    why.push(format!("video: {} decoding errors", p.decode_errors));
                }
                let share_ok = self.min_recorded_share.is_none_or(|share| {
                    p.frames as f64 >= share * self.sent_frames as f64 && self.sent_frames > 0
                });
                if !share_ok {
                    why.push(format!(
                        "video: {} of {} frames sent recorded",
                        p.frames, self.sent_frames
                    ));
                }
                vok = within && p.decode_errors == 0 && share_ok;
            }
            None => why.push("no video file".into()),
        }
        let aok = match &self.audio {
            Some((_, p)) => {
                let d = p.duration.unwrap_or(0.0);
                let sent = self.audio_sent_for.unwrap_or(self.sent_for);
                let ok = p.frames > 0 && p.decode_errors == 0 && within_tenth(d, sent);
                if !ok {
                    why.push(format!(
                        "opus: {d:.2} s / {} packets / {} errors, sent for {sent:.2} s",
                        p.frames, p.decode_errors
                    ));
                }
                ok
            }
            None => {
                why.push("no Ogg file".into());
                false
            }
        };
        // An error of the row (the peer sent another codec than the row's, gave no result…)
        // fails its video even when a file was recorded.
        if let Some(e) = &self.error {
            why.insert(0, e.clone());
            vok = false;
        }
        (vok, expected, duration, aok, why.join("; "))
    }
}

/// Inside the namespace: `--inside SECONDS EXAMPLE CHROMIUM_CODECS AIORTC_CODECS` (comma
/// lists, `-` for none); EXAMPLE is `save-to-disk`, the other examples are beside it.
fn inside(args: &[String]) -> Result<(), String> {
    let seconds = args.first().ok_or("seconds")?.clone();
    let example = PathBuf::from(args.get(1).ok_or("example")?);
    let codecs = |i: usize| -> Vec<String> {
        args.get(i)
            .map(|l| {
                l.split(',')
                    .filter(|c| !c.is_empty() && *c != "-")
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (chromium_codecs, aiortc_codecs) = (codecs(2), codecs(3));
    let dir = util::root().join("target/interop/media");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut ok = true;
    if !chromium_codecs.is_empty() {
        ok &= match chromium_rows(&example, &dir, &chromium_codecs, &seconds) {
            Ok(ok) => ok,
            Err(e) => {
                println!("\nChromium rows: FAIL: {e}");
                false
            }
        };
    }
    if !aiortc_codecs.is_empty() {
        ok &= interop_media_aiortc::rows(&example, &dir.join("aiortc"), &aiortc_codecs, &seconds);
    }
    if ok {
        Ok(())
    } else {
        Err("some rows failed".into())
    }
}

/// Waits (up to 15 s) for save-to-disk's `saved …` lines of session `session` (files
/// `s<session>-*`, finished after the DELETE) and probes them into `row`.
pub(crate) fn collect_saved(lines: &mpsc::Receiver<String>, session: usize, row: &mut Row) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while row.video.is_none() || row.audio.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        let Some(saved) = SavedLine::parse(&line) else {
            continue;
        };
        if saved.session != session as u64 {
            continue;
        }
        match probe(&saved.path) {
            Ok(p) if saved.is_audio() => row.audio = Some((saved.path, p)),
            Ok(p) => row.video = Some((saved.path, p)),
            Err(e) => row.error = Some(e),
        }
    }
}

/// The Chromium → save-to-disk rows, then play-from-disk → Chromium and reflect.
fn chromium_rows(
    example: &Path,
    dir: &Path,
    codecs: &[String],
    seconds: &str,
) -> Result<bool, String> {
    let (mut server, lines) = start_save_to_disk(
        example,
        PORT,
        &dir.join("files"),
        &dir.join("save-to-disk.log"),
    )?;
    let url = format!("http://127.0.0.1:{PORT}/whip");
    let mut rows = Vec::new();
    for (i, codec) in codecs.iter().enumerate() {
        let session = i + 1;
        eprintln!("== {codec}: Chromium publishes for {seconds} s");
        let mut row = Row {
            codec: codec.clone(),
            sent_frames: 0,
            sent_for: 0.0,
            video: None,
            audio: None,
            error: None,
            min_recorded_share: None,
            audio_sent_for: None,
        };
        let args = [url.as_str(), "--codec", codec, "--seconds", seconds].map(String::from);
        let log = dir.join(format!("chromium-{codec}.log"));
        match script_result("Chromium", "node", "chromium_media.mjs", &args, &log) {
            Ok(r) if r["ok"].as_bool() == Some(true) => {
                row.sent_frames = r["video"]["framesSent"].as_u64().unwrap_or(0);
                row.sent_for = r["sentFor"].as_f64().unwrap_or(0.0);
                let mime = r["video"]["mimeType"].as_str().unwrap_or("?");
                if !mime.eq_ignore_ascii_case(&format!("video/{codec}")) {
                    row.error = Some(format!("Chromium sent {mime}"));
                }
            }
            Ok(r) => row.error = Some(format!("Chromium: {}", r["error"])),
            Err(e) => row.error = Some(e),
        }
        collect_saved(&lines, session, &mut row);
        rows.push(row);
    }
    let _ = server.kill();
    let _ = server.wait();
    let all_ok = print_publish_table("Chromium", &rows);
    let play_ok = play_rows(
        &example.with_file_name("play-from-disk"),
        dir,
        codecs,
        seconds,
    );
    let reflect_ok = reflect_row(&example.with_file_name("reflect"), dir, seconds);
    Ok(all_ok && play_ok && reflect_ok)
}

/// Prints the publish table of `peer` (one line per row, `pass`/`FAIL` for video and Opus
/// with the reasons); whether every row passed.
pub(crate) fn print_publish_table(peer: &str, rows: &[Row]) -> bool {
    println!();
    println!(
        "| video codec | {peer} sent (frames / s / fps) | file | frames decoded | duration s | expected frames | video | Opus file: s / packets | Opus | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut all_ok = true;
    for r in rows {
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
    all_ok
}

/// ferrtc `play-from-disk` (WHEP) to Chromium, one row per video codec with Opus. A row
/// passes when the page decoded at least 90 % of the frames ferrtc sent (the page's
/// inbound-rtp `framesDecoded` against the server's outbound-rtp `framesSent`, both read at
/// the same moment), its `totalSamplesReceived` rose, and ferrtc's `packetsSent` equals the
/// page's `packetsReceived + packetsLost` within 5 packets, for video and for audio.
fn play_rows(example: &Path, dir: &Path, codecs: &[String], seconds: &str) -> bool {
    play_table(
        "page",
        (example, dir, PORT + 1),
        codecs,
        seconds,
        |codec, port| {
            let args = [
                "--play".to_string(),
                format!("http://127.0.0.1:{port}/whep"),
                "--server-stats".into(),
                format!("http://127.0.0.1:{port}/stats"),
                "--seconds".into(),
                seconds.into(),
            ];
            let log = dir.join(format!("chromium-play-{codec}.log"));
            script_result("Chromium", "node", "chromium_media.mjs", &args, &log)
        },
    )
}

/// A play-from-disk table: per codec, a video file and the Opus file (ffmpeg, N + 3 s long,
/// in `dir/play`), `example` (play-from-disk) serving them on its own port from `first_port`
/// on, and `receiver(codec, port)` playing them and giving its `RESULT`; each row judged and
/// printed by [`print_play_row`]. Whether every row passed.
pub(crate) fn play_table(
    receiver: &str,
    (example, dir, first_port): (&Path, &Path, u16),
    codecs: &[String],
    seconds: &str,
    mut run: impl FnMut(&str, u16) -> Result<serde_json::Value, String>,
) -> bool {
    let files = dir.join("play");
    let file_len = (seconds.parse::<u32>().unwrap_or(5) + 3).to_string();
    let audio = std::fs::create_dir_all(&files)
        .map_err(|e| e.to_string())
        .and_then(|()| make_file(&files, "opus", &file_len));
    let audio = match audio {
        Ok(a) => a,
        Err(e) => {
            println!("\nplay-from-disk → {receiver}: FAIL: {e}");
            return false;
        }
    };
    print_play_header(receiver);
    let mut all_ok = true;
    for (i, codec) in codecs.iter().enumerate() {
        let port = first_port + i as u16;
        let row = make_file(&files, codec, &file_len).and_then(|video| {
            let log = dir.join(format!("play-from-disk-{codec}.log"));
            let mut server = start_play_from_disk(example, port, &video, &audio, &log)?;
            let r = run(codec, port);
            let _ = server.kill();
            let _ = server.wait();
            r
        });
        all_ok &= print_play_row(codec, row);
    }
    all_ok
}

/// The header of a play-from-disk table; `receiver` names the receiving side's counters.
fn print_play_header(receiver: &str) {
    println!();
    println!(
        "| play-from-disk codec | ferrtc framesSent | {receiver} framesDecoded | decoded % | video packets: sent / received+lost | audio packets: sent / received+lost | totalSamplesReceived | result | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
}

/// Judges and prints one play-from-disk row from the receiver's `RESULT` (`first` / `last`
/// samples of its inbound counters, `server`: the example's `GET /stats` read with `last`).
/// Passes when `framesDecoded >= 90 %` of ferrtc's `framesSent`, `totalSamplesReceived` rose,
/// the video codec is the row's, and ferrtc's `packetsSent` = the receiver's `packetsReceived
/// + packetsLost` within 5, video and audio.
fn print_play_row(codec: &str, row: Result<serde_json::Value, String>) -> bool {
    let r = match row {
        Ok(r) if r["ok"].as_bool() == Some(true) => r,
        Ok(r) => {
            println!(
                "| {} | | | | | | | FAIL | {} |",
                codec.to_uppercase(),
                r["error"]
            );
            return false;
        }
        Err(e) => {
            println!("| {} | | | | | | | FAIL | {e} |", codec.to_uppercase());
            return false;
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
        why.push(format!("received {mime}"));
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
    println!(
        "| {} | {sent_frames} | {decoded} | {pct:.1} | {vs} / {vr} | {as_} / {ar} | {s0} -> {s1} | {} | {} |",
        codec.to_uppercase(),
        if ok { "pass" } else { "FAIL" },
        why.join("; ")
    );
    ok
}

/// ferrtc `reflect` with Chromium: the page publishes sendrecv (its default codec) and plays
/// what comes back. Passes when the page decoded at least 90 % of the video frames it sent
/// (its inbound-rtp `framesDecoded` against its outbound-rtp `framesSent`) and received audio
/// (`totalSamplesReceived` > 0).
fn reflect_row(example: &Path, dir: &Path, seconds: &str) -> bool {
    let port = PORT + 10;
    let r = (|| -> Result<serde_json::Value, String> {
        let mut server = start_example(example, port, [""; 0], &dir.join("reflect.log"))?;
        let args = [
            "--reflect".to_string(),
            format!("http://127.0.0.1:{port}/whip"),
            "--seconds".into(),
            seconds.into(),
        ];
        let log = dir.join("chromium-reflect.log");
        let r = script_result("Chromium", "node", "chromium_media.mjs", &args, &log);
        let _ = server.kill();
        let _ = server.wait();
        r
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
