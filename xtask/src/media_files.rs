//! `cargo xtask media-files [--keep]`: real media through ferrtc-media-codecs.
//!
//! 1. ffmpeg (installed with apt-get when missing) makes a few seconds of VP8, VP9 and AV1 in
//!    IVF, AV1 as a raw OBU stream, H.264 and H.265 Annex B and Opus in Ogg, in a temporary
//!    directory.
//! 2. The ignored test `generated_media_files` of `crates/media-codecs/tests/media_files.rs`
//!    reads every file, packetizes each frame at 200, 500, 1200 and 1500 bytes, scrambles the
//!    packets (seeded shuffle, duplicates, losses resent later), reassembles them with the
//!    frame buffer, checks each frame against the source and writes the container back; it
//!    writes one row per file and payload size to `results.tsv`.
//! 3. Here, `ffprobe -count_frames` decodes every written file: its frame count must equal the
//!    source's (counted by ffprobe too) and the number of frames read from the source.
//!
//! Prints one table; fails if any row fails. Formats whose payload format is not in the crate
//! show as SKIP.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// (file name, ffmpeg arguments after `-y -hide_banner -loglevel error`).
fn sources() -> Vec<(&'static str, Vec<&'static str>)> {
    const VIDEO: [&str; 6] = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30",
        "-t",
        "3",
    ];
    let v = |rest: &[&'static str]| -> Vec<&'static str> {
        let mut a = VIDEO.to_vec();
        a.extend_from_slice(&["-pix_fmt", "yuv420p", "-g", "30"]);
        a.extend_from_slice(rest);
        a
    };
    vec![
        (
            "vp8.ivf",
            v(&[
                "-c:v",
                "libvpx",
                "-b:v",
                "1M",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-f",
                "ivf",
            ]),
        ),
        (
            "vp9.ivf",
            v(&[
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "1M",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-f",
                "ivf",
            ]),
        ),
        (
            "av1.ivf",
            v(&[
                "-c:v",
                "libaom-av1",
                "-b:v",
                "1M",
                "-usage",
                "realtime",
                "-cpu-used",
                "8",
                "-f",
                "ivf",
            ]),
        ),
        (
            "h264.h264",
            v(&[
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-x264-params",
                "slices=4",
                "-f",
                "h264",
            ]),
        ),
        (
            "h265.h265",
            v(&[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error",
                "-f",
                "hevc",
            ]),
        ),
        (
            "opus.opus",
            vec![
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=3:sample_rate=48000",
                "-ac",
                "2",
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                "-f",
                "ogg",
            ],
        ),
    ]
}

/// The self-check sabotage `media-truncated`: cuts an IVF file inside the payload of one of
/// its middle frames (the 32-byte file header, then per frame a 12-byte header with the
/// little-endian payload size), as a transfer cut short would.
fn truncate_mid_frame(file: &Path) -> Result<(), String> {
    let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut frames = Vec::new();
    let mut at = 32usize;
    while let Some(h) = data.get(at..at + 12) {
        let size = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        frames.push((at, size));
        at += 12 + size;
    }
    let &(start, size) = frames
        .get(frames.len() / 2)
        .ok_or_else(|| format!("{}: no IVF frames", file.display()))?;
    let cut = start + 12 + size / 2;
    std::fs::write(file, &data[..cut.min(data.len())])
        .map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!(
        "media-files: cut {} to {cut} bytes, inside frame {} of {}",
        file.display(),
        frames.len() / 2,
        frames.len()
    );
    Ok(())
}

fn ffmpeg(dir: &Path, args: &[&str], out: &str) -> Result<(), String> {
    let status = Command::new(util::tool("ffmpeg", "ffmpeg"))
        .args(["-y", "-hide_banner", "-loglevel", "error"])
        .args(args)
        .arg(dir.join(out))
        .status()
        .map_err(|e| format!("cannot start ffmpeg: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ffmpeg failed ({status}) making {out}"))
    }
}

/// Frames ffprobe decodes from the first stream of `file`.
fn ffprobe_frames(file: &Path) -> Result<u64, String> {
    let out = Command::new(util::tool("ffprobe", "ffprobe"))
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot start ffprobe: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches(',');
    if !out.status.success() || !String::from_utf8_lossy(&out.stderr).trim().is_empty() {
        return Err(format!(
            "ffprobe {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("failed")
        ));
    }
    first
        .parse()
        .map_err(|_| format!("ffprobe {}: no frame count in {text:?}", file.display()))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let keep = args.iter().any(|a| a == "--keep");
    util::ensure_apt("ffmpeg", &["ffmpeg"])?;
    let dir: PathBuf =
        std::env::temp_dir().join(format!("ferrtc-media-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!("media-files: making test streams in {}", dir.display());

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut failed = 0usize;
    for (name, a) in sources() {
        if let Err(e) = ffmpeg(&dir, &a, name) {
            failed += 1;
            rows.push(vec![
                name.into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("FAIL: {e}"),
            ]);
            continue;
        }
        if name == "av1.ivf" {
            // The same AV1 stream as a raw low-overhead OBU stream.
            if let Err(e) = ffmpeg(
                &dir,
                &[
                    "-i",
                    dir.join(name).to_str().unwrap_or(""),
                    "-c",
                    "copy",
                    "-f",
                    "obu",
                ],
                "av1.obu",
            ) {
                failed += 1;
                rows.push(vec![
                    "av1.obu".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("FAIL: {e}"),
                ]);
            }
        }
    }

    if util::sabotage("media-truncated") {
        truncate_mid_frame(&dir.join("vp8.ivf"))?;
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ {cargo} test -p ferrtc-media-codecs --test media_files -- --ignored --exact generated_media_files");
    let status = Command::new(&cargo)
        .args([
            "test",
            "-p",
            "ferrtc-media-codecs",
            "--test",
            "media_files",
            "--",
            "--ignored",
            "--exact",
            "generated_media_files",
        ])
        .env("FERRTC_MEDIA_DIR", &dir)
        .current_dir(util::root())
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    // No results (the test failed before writing them, e.g. no source file at all): one
    // FAIL row, and the table with the rows above (ffmpeg's failures) is still printed.
    let tsv = match std::fs::read_to_string(dir.join("results.tsv")) {
        Ok(t) => t,
        Err(e) => {
            failed += 1;
            let mut row = vec!["(all)".to_string()];
            row.extend(std::iter::repeat_n("-".to_string(), 7));
            row.push(format!(
                "FAIL: the media_files test wrote no results ({status}): {e}"
            ));
            rows.push(row);
            String::new()
        }
    };

    let mut source_counts: std::collections::HashMap<String, Result<u64, String>> =
        Default::default();
    for line in tsv.lines() {
        // file, max payload, frames in, frames out, packets, max per frame, undecodable,
        // PASS/FAIL/SKIP, output file or reason.
        let f: Vec<&str> = line.split('\t').collect();
        let [file, size, fin, fout, packets, ppf, undecodable, verdict, detail] = f.as_slice()
        else {
            failed += 1;
            rows.push(vec![
                line.into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "FAIL: bad row".into(),
            ]);
            continue;
        };
        let src_count = source_counts
            .entry(file.to_string())
            .or_insert_with(|| ffprobe_frames(&dir.join(file)))
            .clone();
        let mut result = match *verdict {
            "PASS" => "PASS".to_string(),
            "SKIP" => format!("SKIP: {detail}"),
            _ => {
                failed += 1;
                format!("FAIL: {detail}")
            }
        };
        let mut probe = "-".to_string();
        if *verdict == "PASS" {
            let written = ffprobe_frames(&dir.join(detail));
            probe = format!(
                "{} / {}",
                src_count.as_ref().map_or("error".into(), |n| n.to_string()),
                written.as_ref().map_or("error".into(), |n| n.to_string())
            );
            let expected: u64 = fin.parse().unwrap_or(u64::MAX);
            let ok = match (&src_count, &written) {
                (Ok(s), Ok(w)) => *s == expected && *w == expected,
                _ => false,
            };
            if !ok {
                failed += 1;
                result = match (&src_count, &written) {
                    (Err(e), _) | (_, Err(e)) => format!("FAIL: {e}"),
                    _ => format!("FAIL: ffprobe frames {probe}, expected {expected}"),
                };
            }
        }
        rows.push(vec![
            file.to_string(),
            size.to_string(),
            fin.to_string(),
            fout.to_string(),
            packets.to_string(),
            ppf.to_string(),
            undecodable.to_string(),
            probe,
            result,
        ]);
    }

    println!("\n| file | max payload | frames | frames out | packets | max packets/frame | undecodable | ffprobe frames source / written | result |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("| {} |", r.join(" | "));
    }
    let total = rows.len();
    let skipped = rows
        .iter()
        .filter(|r| r.last().is_some_and(|v| v.starts_with("SKIP")))
        .count();
    println!(
        "\n{} passed, {} failed, {} skipped",
        total - failed - skipped,
        failed,
        skipped
    );
    if keep {
        eprintln!("media-files: files kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if failed > 0 {
        Err(format!("{failed} media file check(s) failed"))
    } else {
        Ok(())
    }
}
