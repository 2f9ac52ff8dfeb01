//! What the media interop runners share (`interop-media` with Chromium and aiortc,
//! `interop-media-node` with wrtc and werift): their flags, building the examples, running
//! the rows in a loopback-only namespace, starting the ferrtc examples, running a peer script
//! for its `RESULT {json}` line, making the source files and probing the recorded ones, and
//! the numbers a publish row is judged by.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::util;

/// The flags of a media runner: `--seconds N` (default 5), `--only CODEC`, `--peer P` (kept
/// as given: each runner has its own peers), `--debug` (examples built without `--release`).
pub(crate) struct Flags {
    pub(crate) seconds: u32,
    pub(crate) only: Option<String>,
    pub(crate) release: bool,
    pub(crate) peer: Option<String>,
}

impl Flags {
    /// Parses `args`; `peers` is the usage of `--peer` (e.g. `chromium|aiortc|all`).
    pub(crate) fn parse(args: &[String], peers: &str) -> Result<Flags, String> {
        let mut f = Flags {
            seconds: 5,
            only: None,
            release: true,
            peer: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--seconds" => {
                    f.seconds = it
                        .next()
                        .and_then(|s| s.parse().ok())
                        .filter(|s| *s > 0)
                        .ok_or("--seconds N")?
                }
                "--only" => f.only = Some(it.next().ok_or("--only CODEC")?.to_lowercase()),
                "--peer" => f.peer = Some(it.next().ok_or(format!("--peer {peers}"))?.clone()),
                "--debug" => f.release = false,
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(f)
    }
}

/// `cargo build [--release] -p ferrtc --example NAME…`; the directory of the built examples.
pub(crate) fn build_examples(names: &[&str], release: bool) -> Result<PathBuf, String> {
    let mut build = vec!["build", "-p", "ferrtc"];
    for n in names {
        build.extend(["--example", n]);
    }
    if release {
        build.push("--release");
    }
    util::cargo(&build)?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| util::root().join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("examples"))
}

/// Runs `cargo xtask SUBCOMMAND --inside ARGS…` (this executable) in new network, PID and
/// mount namespaces with only loopback up (`unshare --net --pid --fork --kill-child`, as
/// `interop` does): every peer talks over lo, and nothing outlives the run. `node_dir` is
/// passed on as `FERRTC_INTEROP_NODE`. Whether it succeeded.
pub(crate) fn run_inside<A: AsRef<OsStr>>(
    subcommand: &str,
    args: impl IntoIterator<Item = A>,
    node_dir: &Path,
) -> Result<bool, String> {
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
        .args([subcommand, "--inside"])
        .args(args)
        .current_dir(util::root())
        .env("FERRTC_INTEROP_NODE", node_dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    Ok(status.success())
}

/// Runs a peer script, `timeout 120 PROGRAM xtask/scripts/interop/SCRIPT ARGS…` (stdin
/// closed, stderr into `log`), and parses the `RESULT {json}` line it prints; `who` names
/// the peer in the error when there is none.
pub(crate) fn script_result(
    who: &str,
    program: impl AsRef<OsStr>,
    script: &str,
    args: &[String],
    log: &Path,
) -> Result<serde_json::Value, String> {
    let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let out = Command::new("timeout")
        .arg("120")
        .arg(program)
        .arg(util::root().join("xtask/scripts/interop").join(script))
        .args(args)
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .map_err(|e| format!("timeout: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| {
            format!(
                "{who} gave no result ({}; log {})",
                out.status,
                log.display()
            )
        })
}

/// One `saved PATH codec=MIME …` line of save-to-disk (printed once the client's DELETE
/// ended the session): the file, its codec (lower case) and its session number (files are
/// named `s<session>-<mid>.<ext>`).
pub(crate) struct SavedLine {
    pub(crate) path: PathBuf,
    pub(crate) codec: String,
    pub(crate) session: u64,
}

impl SavedLine {
    /// The line parsed, or `None` when it is not a `saved` line.
    pub(crate) fn parse(line: &str) -> Option<SavedLine> {
        let rest = line.strip_prefix("saved ")?;
        let mut words = rest.split(' ');
        let path = PathBuf::from(words.next().unwrap_or_default());
        let codec = words
            .find_map(|w| w.strip_prefix("codec="))
            .unwrap_or_default()
            .to_lowercase();
        let session = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix('s'))
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        Some(SavedLine {
            path,
            codec,
            session,
        })
    }

    /// An audio file (Ogg Opus).
    pub(crate) fn is_audio(&self) -> bool {
        self.codec.starts_with("audio/")
    }
}

/// Whether `got` is within 10 % of `expected` (and something was expected).
pub(crate) fn within_tenth(got: f64, expected: f64) -> bool {
    expected > 0.0 && (got - expected).abs() <= 0.1 * expected
}

/// The frames a recorded video file should hold when the peer sent `rate` frames per second:
/// (duration, frames). An IVF file's duration is its own, `last pts - first pts + one frame
/// interval`; H.264 Annex B has no timestamps, so it is `sent_for`, the seconds sent.
pub(crate) fn expected_frames(path: &Path, probe: &Probe, rate: f64, sent_for: f64) -> (f64, f64) {
    let ivf = path.extension().is_some_and(|e| e == "ivf");
    let duration = match (ivf, probe.pts.first(), probe.pts.last()) {
        (true, Some(a), Some(b)) if rate > 0.0 => b - a + 1.0 / rate,
        _ => sent_for,
    };
    (duration, duration * rate)
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

/// Starts `save-to-disk` on `port` writing into `files` (stderr to `log`) and waits for its
/// `listening on` line; the receiver gives its later stdout lines (`saved …`).
pub(crate) fn start_save_to_disk(
    example: &Path,
    port: u16,
    files: &Path,
    log: &Path,
) -> Result<(Child, mpsc::Receiver<String>), String> {
    std::fs::create_dir_all(files).map_err(|e| e.to_string())?;
    let server_log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut server = Command::new(example)
        .args(["--port", &port.to_string(), "--loopback", "--out"])
        .arg(files)
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
    let first = lines.recv_timeout(Duration::from_secs(20));
    match first {
        Ok(l) if l.starts_with("listening on") => Ok((server, lines)),
        other => {
            let _ = server.kill();
            let _ = server.wait();
            Err(match other {
                Ok(l) => format!("save-to-disk said {l:?}"),
                Err(_) => "save-to-disk did not start".to_string(),
            })
        }
    }
}

/// Starts a ferrtc example server, `EXAMPLE --port PORT --loopback ARGS…` (stderr to `log`),
/// and waits for its `listening on` line.
pub(crate) fn start_example<A: AsRef<OsStr>>(
    example: &Path,
    port: u16,
    args: impl IntoIterator<Item = A>,
    log: &Path,
) -> Result<Child, String> {
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut server = Command::new(example)
        .args(["--port", &port.to_string(), "--loopback"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", example.display()))?;
    let mut first = String::new();
    if let Some(out) = server.stdout.as_mut() {
        let _ = BufReader::new(out).read_line(&mut first);
    }
    if first.starts_with("listening on") {
        Ok(server)
    } else {
        let _ = server.kill();
        let _ = server.wait();
        let name = example.file_name().unwrap_or_default().to_string_lossy();
        Err(format!("{name} said {first:?}"))
    }
}

/// Starts `play-from-disk` on `port` with `video` and `audio` (stderr to `log`) and waits for
/// its `listening on` line.
pub(crate) fn start_play_from_disk(
    example: &Path,
    port: u16,
    video: &Path,
    audio: &Path,
    log: &Path,
) -> Result<Child, String> {
    let args = [
        OsStr::new("--video"),
        video.as_os_str(),
        OsStr::new("--audio"),
        audio.as_os_str(),
    ];
    start_example(example, port, args, log)
}
