//! The aiortc rows of `cargo xtask interop-media` (`--peer aiortc`, or `all`), run inside the
//! same loopback-only namespace as the Chromium rows, by `xtask/scripts/interop/aiortc_media.py`
//! on the venv `cargo xtask interop` uses (`target/interop/venv`, aiortc 1.16 with PyAV's
//! FFmpeg). aiortc encodes and decodes VP8 and H.264 (and Opus), so those are its rows.
//!
//! 1. aiortc → `save-to-disk` (WHIP): aiortc publishes lavfi `testsrc=size=640x480:rate=30`
//!    and `sine=frequency=440` with the video codec forced by `setCodecPreferences`, for N s;
//!    the script counts the frames its sender took from each track (`framesSent`: every frame
//!    handed to aiortc's encoder goes on the wire) and the seconds they span in media time
//!    (their own timestamps, which become the RTP timestamps: on a loaded machine aiortc's
//!    encoder can fall behind the wall clock, 25.6 fps once at load 20, and a wall-clock rate
//!    would then not match the file's timestamps; the Opus file is compared with the audio
//!    samples sent / 48 kHz), then ends the tracks and DELETEs the session. The files are judged
//!    exactly like Chromium's (`interop_media::Row::judge`: ffprobe decodes them, video frame
//!    count within 10 % of duration × the sent rate, Opus duration within 10 % of the seconds
//!    sent, and the codec in aiortc's answer is the row's), plus one check Chromium's rows
//!    cannot have: the video file holds at least 90 % of the frames aiortc sent (so a lost
//!    first key frame, which moves the file's start, is seen).
//! 2. `play-from-disk` → aiortc (WHEP): aiortc offers recvonly audio + video (video limited
//!    to the row's codec), decodes the remote tracks (`await track.recv()`), and after N s
//!    its decoded video frames, decoded audio samples and receivers' `packetsReceived +
//!    packetsLost` are read right after the example's `GET /stats` answered; judged by
//!    `interop_media::print_play_row`, as Chromium's: decoded ≥ 90 % of ferrtc's `framesSent`,
//!    audio samples rose, packets within 5, video and audio.
//!
//! Self-check sabotage `interop-media-aiortc-wrong-codec`: the script is asked for the other
//! codec than the row judges (VP8 for the H.264 row and the reverse), both directions.

use std::path::{Path, PathBuf};

use crate::interop_media::common::{script_result, start_save_to_disk};
use crate::interop_media::{collect_saved, play_table, print_publish_table, Row};
use crate::{interop, util};

/// The video codecs aiortc encodes and decodes (each row also carries Opus).
pub(crate) const CODECS: &[&str] = &["vp8", "h264"];
/// save-to-disk's port; play-from-disk uses the next ones (the Chromium rows use 18480-18490).
const PORT: u16 = 18_500;
/// The self-check sabotage of these rows.
pub(crate) const WRONG_CODEC: &str = "interop-media-aiortc-wrong-codec";

/// The venv with aiortc (shared with `cargo xtask interop`), installed when missing.
pub(crate) fn install() -> Result<(), String> {
    interop::ensure_aiortc_venv(&util::root().join("target/interop")).map(|_| ())
}

/// The venv's python (a path that does not exist under the sabotage `missing:aiortc`).
fn python() -> PathBuf {
    util::tool(
        "aiortc",
        util::root().join("target/interop/venv/bin/python"),
    )
}

/// The codec the script is asked for: the row's, or under the sabotage the other one.
fn asked(codec: &str) -> &str {
    if util::sabotage(WRONG_CODEC) {
        if codec == "vp8" {
            "h264"
        } else {
            "vp8"
        }
    } else {
        codec
    }
}

/// Runs the script (`timeout 120 python aiortc_media.py ARGS…`, stderr to `log`) and parses
/// its `RESULT {json}` line.
fn script(args: &[String], log: &Path) -> Result<serde_json::Value, String> {
    script_result("aiortc", python(), "aiortc_media.py", args, log)
}

/// Both directions for each codec; prints the two tables, true when every row passed.
/// `save_example` is the `save-to-disk` binary, `play-from-disk` is beside it; logs and files
/// go under `dir`.
pub(crate) fn rows(save_example: &Path, dir: &Path, codecs: &[String], seconds: &str) -> bool {
    if let Err(e) = std::fs::create_dir_all(dir) {
        println!("\naiortc rows: FAIL: {}: {e}", dir.display());
        return false;
    }
    let publish_ok = publish_rows(save_example, dir, codecs, seconds);
    let play_ok = play_rows(
        &save_example.with_file_name("play-from-disk"),
        dir,
        codecs,
        seconds,
    );
    publish_ok && play_ok
}

/// aiortc → save-to-disk, one session per codec.
fn publish_rows(example: &Path, dir: &Path, codecs: &[String], seconds: &str) -> bool {
    let (mut server, lines) = match start_save_to_disk(
        example,
        PORT,
        &dir.join("files"),
        &dir.join("save-to-disk.log"),
    ) {
        Ok(s) => s,
        Err(e) => {
            println!("\naiortc → save-to-disk: FAIL: {e}");
            return false;
        }
    };
    let url = format!("http://127.0.0.1:{PORT}/whip");
    let mut rows = Vec::new();
    for (i, codec) in codecs.iter().enumerate() {
        eprintln!("== {codec}: aiortc publishes for {seconds} s");
        let mut row = Row {
            codec: codec.clone(),
            sent_frames: 0,
            sent_for: 0.0,
            video: None,
            audio: None,
            error: None,
            min_recorded_share: Some(0.9),
            audio_sent_for: None,
        };
        let args: Vec<String> = vec![
            "publish".into(),
            url.clone(),
            "--codec".into(),
            asked(codec).into(),
            "--seconds".into(),
            seconds.into(),
        ];
        match script(&args, &dir.join(format!("aiortc-{codec}.log"))) {
            Ok(r) if r["ok"].as_bool() == Some(true) => {
                row.sent_frames = r["video"]["framesSent"].as_u64().unwrap_or(0);
                row.sent_for = r["sentFor"].as_f64().unwrap_or(0.0);
                row.audio_sent_for = r["audio"]["secondsSent"].as_f64();
                eprintln!(
                    "   aiortc: {} video frames over {:.2} s of media ({:.2} s wall), {:.2} s of audio",
                    row.sent_frames,
                    row.sent_for,
                    r["wallSeconds"].as_f64().unwrap_or(0.0),
                    row.audio_sent_for.unwrap_or(0.0)
                );
                let mime = r["video"]["mimeType"].as_str().unwrap_or("?");
                if !mime.eq_ignore_ascii_case(&format!("video/{codec}")) {
                    row.error = Some(format!("aiortc sent {mime}"));
                }
            }
            Ok(r) => row.error = Some(format!("aiortc: {}", r["error"])),
            Err(e) => row.error = Some(e),
        }
        collect_saved(&lines, i + 1, &mut row);
        rows.push(row);
    }
    let _ = server.kill();
    let _ = server.wait();
    print_publish_table("aiortc", &rows)
}

/// play-from-disk → aiortc, one server per codec (files made with ffmpeg, N + 3 s long).
fn play_rows(example: &Path, dir: &Path, codecs: &[String], seconds: &str) -> bool {
    play_table(
        "aiortc",
        (example, dir, PORT + 1),
        codecs,
        seconds,
        |codec, port| {
            let args: Vec<String> = vec![
                "play".into(),
                format!("http://127.0.0.1:{port}/whep"),
                "--codec".into(),
                asked(codec).into(),
                "--server-stats".into(),
                format!("http://127.0.0.1:{port}/stats"),
                "--seconds".into(),
                seconds.into(),
            ];
            script(&args, &dir.join(format!("aiortc-play-{codec}.log")))
        },
    )
}
