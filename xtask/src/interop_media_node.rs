//! `cargo xtask interop-media-node [--peer werift|wrtc|all] [--seconds N] [--only CODEC]
//! [--debug]` (`--debug`: the examples built without `--release`): the media rows of issue 13
//! with the two Node stacks, @roamhq/wrtc (Google's libwebrtc, which encodes and decodes VP8
//! and Opus itself) and werift (RTP level: it neither encodes nor decodes), both directions,
//! N seconds (default 5) each.
//!
//! Steps: the npm project `target/interop/node` from `xtask/scripts/interop/package.json`, as
//! `cargo xtask interop` installs it (same stamp file, so neither reinstalls after the other);
//! `cargo build [--release] -p ferrtc --example save-to-disk --example play-from-disk`; then
//! everything runs inside a loopback-only network namespace (`unshare --net --pid --fork
//! --kill-child`, as `interop-media` does). Scripts: `xtask/scripts/interop/wrtc_media.mjs`
//! and `werift_media.mjs`; logs and files in `target/interop/media-js/`.
//!
//! Publish rows (peer → ferrtc `save-to-disk` over WHIP, video + Opus; files checked with the
//! `probe` of `interop_media.rs`: ffprobe decodes the whole stream and counts its frames,
//! `ffmpeg -f null` must print no decoding error, the file's codec must be the row's):
//! - wrtc, VP8: an `RTCVideoSource` fed 640x480 I420 frames of a moving pattern at 30 fps and
//!   an `RTCAudioSource` fed 10 ms frames of a 440 Hz tone, N s. As for Chromium, the rate is
//!   what wrtc sent (`framesSent / seconds pushed`, its outbound-rtp; the frames pushed when it
//!   has no such counter), the IVF's duration comes from its own timestamps (`last - first +
//!   one frame interval`), and the video passes when `|frames - duration × rate| <= 10 %` of
//!   `duration × rate`; Opus passes when the Ogg's duration is within 10 % of the seconds pushed.
//! - werift, VP8 / VP9 / H.264 (ffmpeg 5.1's RTP muxer has no AV1): ffmpeg makes N-second
//!   files (`make_file` of `interop_media.rs`: 640x480 30 fps test pattern, 440 Hz Opus),
//!   plays them in real time as RTP (`-re -c copy -f rtp`) to a UDP port in the namespace,
//!   and werift forwards each packet with `track.writeRtp`. The video passes when the recorded
//!   frames are within 10 % of the source file's frame count, Opus when the recorded duration is
//!   within 10 % of the source file's.
//!
//! Play rows (ferrtc `play-from-disk` over WHEP → peer; a file N + 3 s long, 640x480 30 fps
//! test pattern with a key frame each second, and a 440 Hz Opus tone; the peer offers recvonly
//! video with only the row's codec, and Opus; after N s the peer's counters are read together
//! with the example's `GET /stats`, ferrtc's outbound-rtp `framesSent` / `packetsSent`):
//! - wrtc, VP8: passes when the frames its `RTCVideoSink` got (decoded frames) are at least
//!   90 % of ferrtc's `framesSent`, the samples its `RTCAudioSink` got rose over the N s, and
//!   ferrtc's `packetsSent` equals wrtc's inbound-rtp `packetsReceived + packetsLost` within 5,
//!   video and audio (when wrtc's getStats has them; the row says so when not).
//! - werift, VP8 / VP9 / H.264 / AV1: `track.onReceiveRtp` counts packets (padding-only
//!   packets apart) and distinct RTP timestamps (frames); passes when its frames are at least
//!   90 % of ferrtc's `framesSent`, its packets equal ferrtc's `packetsSent` within 5 (video
//!   and audio), and its audio packets rose over the N s.
//!
//! Self-check sabotage `media-node-silent`: the peer scripts run with `--silent` (publish
//! sends no frame, sample or packet; play counts nothing), so every row must fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::interop_media::common::{
    build_examples, expected_frames, make_file, probe, run_inside, script_result,
    start_play_from_disk, start_save_to_disk, within_tenth, Flags, Probe, SavedLine,
};
use crate::util;

/// save-to-disk's port; the play rows use the next ones.
const PORT: u16 = 18_520;
/// Where werift's ffmpeg sends RTP (video, its RTCP, audio, its RTCP).
const RTP_PORT: u16 = 18_600;
/// The self-check sabotage: the peers send (or count) nothing.
const SILENT: &str = "media-node-silent";
/// Packets ferrtc sent and the peer received may differ by this much (in flight, the moment
/// the two counters are read).
const PACKET_SLACK: i64 = 5;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Peer {
    Wrtc,
    Werift,
}

impl Peer {
    fn parse(s: &str) -> Option<Peer> {
        match s {
            "wrtc" => Some(Peer::Wrtc),
            "werift" => Some(Peer::Werift),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Peer::Wrtc => "wrtc",
            Peer::Werift => "werift",
        }
    }

    fn script(self) -> &'static str {
        match self {
            Peer::Wrtc => "wrtc_media.mjs",
            Peer::Werift => "werift_media.mjs",
        }
    }

    /// Video codecs of the publish rows (each with Opus).
    fn publish_codecs(self) -> &'static [&'static str] {
        match self {
            Peer::Wrtc => &["vp8"],
            // ffmpeg 5.1 (Debian 12) has no AV1 RTP packetizer.
            Peer::Werift => &["vp8", "vp9", "h264"],
        }
    }

    /// Video codecs of the play rows (each with Opus).
    fn play_codecs(self) -> &'static [&'static str] {
        match self {
            Peer::Wrtc => &["vp8"],
            Peer::Werift => &["vp8", "vp9", "h264", "av1"],
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--inside") {
        return inside(args.get(1..).unwrap_or_default());
    }
    let usage = "--peer werift|wrtc|all";
    let Flags {
        seconds,
        only,
        release,
        peer,
    } = Flags::parse(args, usage)?;
    let peers = match peer.as_deref() {
        None | Some("all") => vec![Peer::Wrtc, Peer::Werift],
        Some(p) => vec![Peer::parse(p).ok_or(usage)?],
    };
    if let Some(o) = &only {
        let known = peers.iter().any(|p| {
            p.publish_codecs().contains(&o.as_str()) || p.play_codecs().contains(&o.as_str())
        });
        if !known {
            return Err(format!(
                "--only {o}: no row of {} has it",
                peers
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for tool in [
        "node", "npm", "ffprobe", "ffmpeg", "unshare", "ip", "timeout",
    ] {
        if !util::have(tool) {
            return Err(format!("{tool} is needed"));
        }
    }
    let root = util::root();
    let node_dir = ensure_node(&root)?;
    let examples = build_examples(&["save-to-disk", "play-from-disk"], release)?;
    let peer_list = peers.iter().map(|p| p.name()).collect::<Vec<_>>().join(",");
    let inside = [
        seconds.to_string().into(),
        examples.into_os_string(),
        peer_list.into(),
        only.unwrap_or_else(|| "all".into()).into(),
    ];
    if run_inside("interop-media-node", inside, &node_dir)? {
        Ok(())
    } else {
        Err("interop-media-node: some rows failed (logs: target/interop/media-js/)".into())
    }
}

/// The npm project of the Node peers, `target/interop/node`, installed from
/// `xtask/scripts/interop/package.json` exactly as `cargo xtask interop` does (the same
/// `.installed-package.json` stamp), when it is missing or the package list changed.
fn ensure_node(root: &Path) -> Result<PathBuf, String> {
    let node_dir = root.join("target/interop/node");
    let want = std::fs::read_to_string(root.join("xtask/scripts/interop/package.json"))
        .map_err(|e| format!("xtask/scripts/interop/package.json: {e}"))?;
    let stamp = node_dir.join(".installed-package.json");
    let have = std::fs::read_to_string(&stamp).unwrap_or_default();
    let complete = ["@roamhq/wrtc", "werift"].iter().all(|p| {
        node_dir
            .join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    });
    if have != want || !complete {
        std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
        std::fs::write(node_dir.join("package.json"), &want).map_err(|e| e.to_string())?;
        eprintln!("$ npm install (in {})", node_dir.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node_dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !status.success() {
            return Err(format!("npm install failed ({status})"));
        }
        std::fs::write(&stamp, &want).map_err(|e| e.to_string())?;
    }
    Ok(node_dir)
}

/// Runs `node SCRIPT ARGS…` (120 s at most), its stderr into `log`; the `RESULT {json}` line
/// it printed.
fn node(script: &str, args: &[String], log: &Path) -> Result<Value, String> {
    script_result(script, "node", script, args, log)
}

/// The files the source of each codec was made into, per length (made once).
struct Sources {
    dir: PathBuf,
    made: HashMap<(String, String), Result<PathBuf, String>>,
}

impl Sources {
    fn get(&mut self, codec: &str, seconds: &str) -> Result<PathBuf, String> {
        let key = (codec.to_string(), seconds.to_string());
        if let Some(r) = self.made.get(&key) {
            return r.clone();
        }
        let dir = self.dir.join(format!("{seconds}s"));
        let r = std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| make_file(&dir, codec, seconds));
        self.made.insert(key, r.clone());
        r
    }
}

/// One recorded file: where, the codec save-to-disk says it is, what ffprobe saw.
struct Saved {
    path: PathBuf,
    codec: String,
    probe: Probe,
}

/// One publish row: what the peer sent and what save-to-disk recorded.
struct PublishRow {
    peer: Peer,
    codec: String,
    /// What the peer said it sent, for the table.
    sent: String,
    /// Video frames per second the peer sent (wrtc), or the source file's frame count
    /// (werift, `source_frames`).
    rate: f64,
    source_frames: Option<u64>,
    /// Seconds of audio expected in the Ogg file.
    audio_secs: f64,
    video: Option<Saved>,
    audio: Option<Saved>,
    error: Option<String>,
}

impl PublishRow {
    /// (passes, expected frames, video verdict, audio verdict, why not).
    fn judge(&self) -> (bool, f64, bool, bool, String) {
        let mut why = Vec::new();
        if let Some(e) = &self.error {
            why.push(e.clone());
        }
        let mut expected = 0.0;
        let vok = match &self.video {
            Some(v) => {
                expected = match self.source_frames {
                    Some(n) => n as f64,
                    None => expected_frames(&v.path, &v.probe, self.rate, self.audio_secs).1,
                };
                let frames = v.probe.frames as f64;
                let within = within_tenth(frames, expected);
                if !within {
                    why.push(format!(
                        "video: {frames} frames, expected {expected:.1} ± 10 %"
                    ));
                }
                if v.probe.decode_errors > 0 {
                    why.push(format!("video: {} decoding errors", v.probe.decode_errors));
                }
                let right = v.codec == format!("video/{}", self.codec);
                if !right {
                    why.push(format!("recorded {}", v.codec));
                }
                within && right && v.probe.decode_errors == 0
            }
            None => {
                why.push("no video file".into());
                false
            }
        };
        let aok = match &self.audio {
            Some(a) => {
                let d = a.probe.duration.unwrap_or(0.0);
                let ok = a.probe.frames > 0
                    && a.probe.decode_errors == 0
                    && a.codec == "audio/opus"
                    && within_tenth(d, self.audio_secs);
                if !ok {
                    why.push(format!(
                        "opus: {d:.2} s / {} packets / {} errors, expected {:.2} s",
                        a.probe.frames, a.probe.decode_errors, self.audio_secs
                    ));
                }
                ok
            }
            None => {
                why.push("no Ogg file".into());
                false
            }
        };
        (
            vok && aok && self.error.is_none(),
            expected,
            vok,
            aok,
            why.join("; "),
        )
    }
}

/// save-to-disk, running, with its stdout lines.
struct Recorder {
    lines: mpsc::Receiver<String>,
    /// The highest session number whose files were taken.
    session: u64,
    /// Why save-to-disk did not start (every publish row fails with it).
    failed: Option<String>,
}

impl Recorder {
    /// No save-to-disk: `why`.
    fn failed(why: String) -> Recorder {
        Recorder {
            lines: mpsc::channel().1,
            session: 0,
            failed: Some(why),
        }
    }

    /// The files of the next session(s), announced by `saved PATH codec=… …` lines once the
    /// client's DELETE ended the session; waits at most 15 s for both.
    fn collect(&mut self) -> (Option<Saved>, Option<Saved>, Option<String>) {
        let (mut video, mut audio, mut error) = (None, None, None);
        let mut newest = self.session;
        let deadline = Instant::now() + Duration::from_secs(15);
        while video.is_none() || audio.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let Some(SavedLine {
                path,
                codec,
                session,
            }) = SavedLine::parse(&line)
            else {
                continue;
            };
            // Files of an earlier row that came late are not this row's.
            if session <= self.session {
                continue;
            }
            newest = newest.max(session);
            let slot = if codec.starts_with("audio/") {
                &mut audio
            } else {
                &mut video
            };
            match probe(&path) {
                Ok(probe) => *slot = Some(Saved { path, codec, probe }),
                Err(e) => error = Some(e),
            }
        }
        self.session = newest;
        (video, audio, error)
    }
}

/// Inside the namespace: `--inside SECONDS EXAMPLES_DIR PEER,… CODEC|all`.
fn inside(args: &[String]) -> Result<(), String> {
    let seconds: u32 = args.first().and_then(|s| s.parse().ok()).ok_or("seconds")?;
    let examples = PathBuf::from(args.get(1).ok_or("examples directory")?);
    let peers: Vec<Peer> = args
        .get(2)
        .ok_or("peers")?
        .split(',')
        .filter_map(Peer::parse)
        .collect();
    let only = args.get(3).filter(|o| *o != "all").cloned();
    let wanted = |c: &str| only.as_deref().is_none_or(|o| o == c);
    let silent = util::sabotage(SILENT);
    let root = util::root();
    let dir = root.join("target/interop/media-js");
    let _ = std::fs::remove_dir_all(&dir);
    let files = dir.join("files");
    std::fs::create_dir_all(&files).map_err(|e| e.to_string())?;
    let mut sources = Sources {
        dir: dir.join("src"),
        made: HashMap::new(),
    };

    // Publish: each peer to save-to-disk.
    let secs = seconds.to_string();
    let mut publish = Vec::new();
    let wants_publish = peers
        .iter()
        .any(|p| p.publish_codecs().iter().any(|c| wanted(c)));
    if wants_publish {
        let started = start_save_to_disk(
            &examples.join("save-to-disk"),
            PORT,
            &files,
            &dir.join("save-to-disk.log"),
        );
        let (mut server, mut rec) = match started {
            Ok((server, lines)) => (
                Some(server),
                Recorder {
                    lines,
                    session: 0,
                    failed: None,
                },
            ),
            Err(e) => (None, Recorder::failed(e)),
        };
        let url = format!("http://127.0.0.1:{PORT}/whip");
        for peer in &peers {
            for codec in peer.publish_codecs().iter().filter(|c| wanted(c)) {
                eprintln!(
                    "== {} publishes {codec} + Opus for {seconds} s",
                    peer.name()
                );
                let mut row = PublishRow {
                    peer: *peer,
                    codec: codec.to_string(),
                    sent: String::new(),
                    rate: 0.0,
                    source_frames: None,
                    audio_secs: 0.0,
                    video: None,
                    audio: None,
                    error: None,
                };
                if let Some(e) = &rec.failed {
                    row.error = Some(e.clone());
                    publish.push(row);
                    continue;
                }
                let log = dir.join(format!("{}-publish-{codec}.log", peer.name()));
                let mut a = vec!["publish".to_string(), url.clone()];
                let r = match peer {
                    Peer::Wrtc => {
                        a.extend(["--seconds".into(), secs.clone()]);
                        if silent {
                            a.push("--silent".into());
                        }
                        node(peer.script(), &a, &log)
                    }
                    Peer::Werift => (|| {
                        let video = sources.get(codec, &secs)?;
                        let audio = sources.get("opus", &secs)?;
                        let v = probe(&video)?;
                        let au = probe(&audio)?;
                        row.source_frames = Some(v.frames);
                        row.audio_secs = au.duration.unwrap_or(0.0);
                        a.extend(["--codec".into(), codec.to_string(), "--video".into()]);
                        a.push(video.to_string_lossy().into_owned());
                        a.push("--audio".into());
                        a.push(audio.to_string_lossy().into_owned());
                        a.extend(["--rtp-port".into(), RTP_PORT.to_string()]);
                        if silent {
                            a.push("--silent".into());
                        }
                        node(peer.script(), &a, &log)
                    })(),
                };
                match r {
                    Ok(r) if r["ok"].as_bool() == Some(true) => {
                        let f = |v: &Value| v.as_f64().unwrap_or(0.0);
                        let sent_for = f(&r["sentFor"]);
                        match peer {
                            Peer::Wrtc => {
                                let sent = r["video"]["framesSent"].as_u64();
                                let pushed = r["framesPushed"].as_u64().unwrap_or(0);
                                let frames = sent.unwrap_or(pushed);
                                row.rate = if sent_for > 0.0 {
                                    frames as f64 / sent_for
                                } else {
                                    0.0
                                };
                                row.audio_secs = sent_for;
                                row.sent = format!(
                                    "{pushed} frames pushed, framesSent {}, {:.2} s, {:.1} fps, {} audio packets ({})",
                                    sent.map_or("-".into(), |s| s.to_string()),
                                    sent_for,
                                    row.rate,
                                    r["audio"]["packetsSent"],
                                    r["video"]["mimeType"].as_str().unwrap_or("?")
                                );
                            }
                            Peer::Werift => {
                                row.sent = format!(
                                    "source {} frames / {:.2} s Opus; forwarded {} video + {} audio packets in {sent_for:.2} s",
                                    row.source_frames.unwrap_or(0),
                                    row.audio_secs,
                                    r["forwarded"]["video"],
                                    r["forwarded"]["audio"]
                                );
                            }
                        }
                    }
                    Ok(r) => row.error = Some(format!("{}: {}", peer.name(), r["error"])),
                    Err(e) => row.error = Some(e),
                }
                let (video, audio, error) = rec.collect();
                row.video = video;
                row.audio = audio;
                if row.error.is_none() {
                    row.error = error;
                }
                publish.push(row);
            }
        }
        if let Some(server) = server.as_mut() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    let mut all_ok = true;
    if !publish.is_empty() {
        println!();
        println!("| peer → ferrtc save-to-disk | video | peer sent | video file | frames decoded | expected frames | video | Opus file: s / packets | Opus | result | notes |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
    }
    for r in &publish {
        let (ok, expected, vok, aok, why) = r.judge();
        all_ok &= ok;
        let name = |s: &Option<Saved>| {
            s.as_ref()
                .and_then(|s| s.path.file_name())
                .map_or("-".into(), |n| n.to_string_lossy().into_owned())
        };
        let verdict = |b: bool| if b { "pass" } else { "FAIL" };
        println!(
            "| {} | {} | {} | {} | {} | {expected:.1} | {} | {} {} | {} | {} | {} |",
            r.peer.name(),
            r.codec.to_uppercase(),
            r.sent,
            name(&r.video),
            r.video.as_ref().map_or(0, |v| v.probe.frames),
            verdict(vok),
            name(&r.audio),
            r.audio.as_ref().map_or("-".into(), |a| format!(
                "{:.2} / {}",
                a.probe.duration.unwrap_or(0.0),
                a.probe.frames
            )),
            verdict(aok),
            verdict(ok),
            why.replace('|', "\\|")
        );
    }

    // Play: play-from-disk to each peer.
    let play_secs = (seconds + 3).to_string();
    let mut header = false;
    let mut port = PORT;
    for peer in &peers {
        for codec in peer.play_codecs().iter().filter(|c| wanted(c)) {
            port += 1;
            if !header {
                header = true;
                println!();
                println!("| ferrtc play-from-disk → peer | video | ferrtc framesSent | peer frames | % | video packets: ferrtc sent / peer got | audio packets: ferrtc sent / peer got | audio at 1 s → N s | result | notes |");
                println!("|---|---|---|---|---|---|---|---|---|---|");
            }
            eprintln!(
                "== play-from-disk plays {codec} + Opus to {} for {seconds} s",
                peer.name()
            );
            let row = play_row(
                *peer,
                codec,
                &examples.join("play-from-disk"),
                &dir,
                &mut sources,
                &play_secs,
                &secs,
                port,
                silent,
            );
            all_ok &= row;
        }
    }
    if all_ok {
        Ok(())
    } else {
        Err("some rows failed".into())
    }
}

/// One play row: starts play-from-disk with the row's files, runs the peer's `play`, prints
/// the row; whether it passed.
#[allow(clippy::too_many_arguments)]
fn play_row(
    peer: Peer,
    codec: &str,
    example: &Path,
    dir: &Path,
    sources: &mut Sources,
    file_secs: &str,
    seconds: &str,
    port: u16,
    silent: bool,
) -> bool {
    let label = format!("| {} | {} |", peer.name(), codec.to_uppercase());
    let r = (|| -> Result<Value, String> {
        let video = sources.get(codec, file_secs)?;
        let audio = sources.get("opus", file_secs)?;
        let log = dir.join(format!("play-from-disk-{}-{codec}.log", peer.name()));
        let mut server = start_play_from_disk(example, port, &video, &audio, &log)?;
        let r = {
            let mut a = vec![
                "play".to_string(),
                format!("http://127.0.0.1:{port}/whep"),
                "--server-stats".into(),
                format!("http://127.0.0.1:{port}/stats"),
                "--seconds".into(),
                seconds.to_string(),
            ];
            if peer == Peer::Werift {
                a.extend(["--codec".into(), codec.to_string()]);
            }
            if silent {
                a.push("--silent".into());
            }
            node(
                peer.script(),
                &a,
                &dir.join(format!("{}-play-{codec}.log", peer.name())),
            )
        };
        let _ = server.kill();
        let _ = server.wait();
        r
    })();
    let r = match r {
        Ok(r) if r["ok"].as_bool() == Some(true) => r,
        Ok(r) => {
            println!("{label} | | | | | | FAIL | {} |", r["error"]);
            return false;
        }
        Err(e) => {
            println!("{label} | | | | | | FAIL | {} |", e.replace('|', "\\|"));
            return false;
        }
    };
    let u = |v: &Value| v.as_u64().unwrap_or(0);
    let i = |v: &Value| v.as_i64().unwrap_or(0);
    // GET /stats: {session: {video: {...}, audio: {...}}}, one live session.
    let server = r["server"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or_default();
    let sent_frames = u(&server["video"]["framesSent"]);
    let vs = i(&server["video"]["packetsSent"]);
    let as_ = i(&server["audio"]["packetsSent"]);
    let mut why = Vec::new();
    let (frames, vr, ar, audio, extra) = match peer {
        Peer::Wrtc => {
            let (first, last) = (&r["first"], &r["last"]);
            let frames = u(&last["counters"]["videoFrames"]);
            let s0 = u(&first["counters"]["audioSamples"]);
            let s1 = u(&last["counters"]["audioSamples"]);
            if s1 <= s0 {
                why.push("audio samples did not rise".to_string());
            }
            let stats = &last["stats"];
            let mime = stats["video"]["mimeType"].as_str();
            if let Some(m) = mime {
                if !m.eq_ignore_ascii_case(&format!("video/{codec}")) {
                    why.push(format!("wrtc received {m}"));
                }
            }
            let got = |k: &str| -> Option<i64> {
                let s = &stats[k];
                s["packetsReceived"]
                    .as_i64()
                    .map(|p| p + s["packetsLost"].as_i64().unwrap_or(0))
            };
            let (vr, ar) = (got("video"), got("audio"));
            if vr.is_none() || ar.is_none() {
                why.push("(wrtc getStats has no inbound-rtp packetsReceived)".into());
            }
            let extra = format!(
                "{}x{}, getStats framesDecoded {}",
                last["counters"]["width"],
                last["counters"]["height"],
                stats["video"]["framesDecoded"]
            );
            (frames, vr, ar, format!("{s0} → {s1} samples"), extra)
        }
        Peer::Werift => {
            let (first, last) = (&r["first"], &r["last"]);
            let frames = u(&last["video"]["frames"]);
            let p0 = u(&first["audio"]["packets"]);
            let p1 = u(&last["audio"]["packets"]);
            if p1 <= p0 {
                why.push("audio packets did not rise".to_string());
            }
            let pts = &last["video"]["payloadTypes"];
            if pts.as_array().map(Vec::len) != Some(1) || pts[0] != r["videoPayloadType"] {
                why.push(format!(
                    "video payload types {pts}, offered {}",
                    r["videoPayloadType"]
                ));
            }
            let extra = format!(
                "padding-only packets: video {}, audio {}",
                last["video"]["padding"], last["audio"]["padding"]
            );
            (
                frames,
                Some(i(&last["video"]["packets"])),
                Some(i(&last["audio"]["packets"])),
                format!("{p0} → {p1} packets"),
                extra,
            )
        }
    };
    let pct = if sent_frames > 0 {
        100.0 * frames as f64 / sent_frames as f64
    } else {
        0.0
    };
    if sent_frames == 0 || pct < 90.0 {
        why.push(format!("{pct:.1} % of the frames"));
    }
    for (kind, sent, got) in [("video", vs, vr), ("audio", as_, ar)] {
        if sent == 0 {
            why.push(format!("ferrtc sent no {kind} packet"));
        }
        if let Some(g) = got {
            if (sent - g).abs() > PACKET_SLACK {
                why.push(format!("{kind} packets {sent} vs {g}"));
            }
        }
    }
    // Only the note about missing getStats counters does not fail a row.
    let ok = why.iter().all(|w| w.starts_with('('));
    let show = |g: Option<i64>| g.map_or("-".into(), |g| g.to_string());
    why.push(extra);
    println!(
        "{label} {sent_frames} | {frames} | {pct:.1} | {vs} / {} | {as_} / {} | {audio} | {} | {} |",
        show(vr),
        show(ar),
        if ok { "pass" } else { "FAIL" },
        why.join("; ").replace('|', "\\|")
    );
    ok
}
