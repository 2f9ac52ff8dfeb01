//! `cargo xtask hostile`: every crate's hostile-input corpus (issue 15), one table.
//!
//! Builds every corpus below in one `cargo test --no-run -p <crate>… --test <binary>…` (cargo
//! builds them in parallel), then runs each test binary and prints a row per crate: tests
//! passed, failed and ignored (an ignored test is a known bug written down as a failing test,
//! see its `ignore` reason), and the seconds the tests took. Fails when any corpus fails or
//! does not build. `--only SUBSTRING` runs the rows whose crate
//! contains it; `--list` prints the rows without running them.

use std::process::Command;
use std::time::Instant;

use crate::util;

/// (package, test binaries, what the corpus holds).
const CORPORA: &[(&str, &[&str], &str)] = &[
    (
        "ferrtc-stun",
        &["hostile"],
        "malformed STUN messages and attributes, integrity tampering",
    ),
    (
        "ferrtc-turn-client",
        &["hostile"],
        "a hostile TURN server against a live allocation and channel",
    ),
    (
        "ferrtc-ice",
        &["hostile"],
        "floods, forged checks and responses on a connected agent",
    ),
    (
        "ferrtc-dtls",
        &["hostile", "forged"],
        "malformed records and forged handshake messages during a real handshake",
    ),
    (
        "ferrtc-rtp",
        &["hostile"],
        "malformed RTP headers, extensions, padding, RTX",
    ),
    (
        "ferrtc-rtcp",
        &["hostile"],
        "malformed RTCP packets and feedback",
    ),
    (
        "ferrtc-srtp",
        &["hostile"],
        "malformed, forged, replayed and too-old SRTP/SRTCP; forged SSRCs create no streams",
    ),
    (
        "ferrtc-peerconnection",
        &["hostile_media"],
        "keyless and garbage-payload media into a connected peer connection",
    ),
    (
        "ferrtc-sctp",
        &["hostile"],
        "malformed chunks against an established association",
    ),
    (
        "ferrtc-datachannel",
        &["hostile"],
        "malformed DCEP and PPIDs on a live association",
    ),
    ("ferrtc-sdp", &["hostile"], "malformed and out-of-range SDP"),
];

/// Counts from libtest's `test result:` lines, summed over the binaries of a row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Adds up every `test result: ... N passed; M failed; K ignored; ...` line of `output`.
fn parse_counts(output: &str) -> Counts {
    let mut c = Counts::default();
    for line in output.lines().filter(|l| l.contains("test result:")) {
        let number_before = |word: &str| -> u64 {
            line.split(';')
                .find_map(|part| {
                    let mut it = part.split_whitespace().rev();
                    (it.next() == Some(word))
                        .then(|| it.next().and_then(|n| n.parse().ok()))
                        .flatten()
                })
                .unwrap_or(0)
        };
        c.passed += number_before("passed");
        c.failed += number_before("failed");
        c.ignored += number_before("ignored");
    }
    c
}

/// A test binary cargo built: package name, target name, executable, package directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binary {
    package: String,
    target: String,
    executable: String,
    dir: String,
}

/// The test executables in the output of `cargo test --no-run --message-format=json`.
fn binaries(json_lines: &str) -> Vec<Binary> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact")
        .filter_map(|v| {
            let executable = v["executable"].as_str()?.to_string();
            let target = v["target"]["name"].as_str()?.to_string();
            let manifest = v["manifest_path"].as_str()?;
            let dir = std::path::Path::new(manifest)
                .parent()?
                .to_string_lossy()
                .into_owned();
            // `path+file:///…/crates/rtp#ferrtc-rtp@0.1.0`, or `…/name#0.1.0` when the
            // directory is the package name.
            let id = v["package_id"].as_str()?;
            let (path, tail) = id.rsplit_once('#')?;
            let package = match tail.split_once('@') {
                Some((name, _)) => name.to_string(),
                None => path.rsplit('/').next()?.to_string(),
            };
            Some(Binary {
                package,
                target,
                executable,
                dir,
            })
        })
        .collect()
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut only: Option<&str> = None;
    let mut list = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => only = Some(it.next().ok_or("--only needs a SUBSTRING")?),
            "--list" => list = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: hostile [--only SUBSTRING] [--list])"
                ))
            }
        }
    }
    let rows: Vec<_> = CORPORA
        .iter()
        .filter(|(p, ..)| only.is_none_or(|o| p.contains(o)))
        .collect();
    if rows.is_empty() {
        return Err("no corpus matches --only".into());
    }
    if list {
        for (p, bins, what) in &rows {
            println!("{p:<20} {:<16} {what}", bins.join(","));
        }
        return Ok(());
    }
    let started = Instant::now();
    // One build of every corpus (cargo builds them in parallel), then each binary on its own.
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(util::root())
        .args(["test", "--no-run", "--message-format=json"]);
    let mut names: Vec<&str> = Vec::new();
    for (package, bins, _) in &rows {
        build.args(["-p", package]);
        for b in *bins {
            if !names.contains(b) {
                names.push(b);
            }
        }
    }
    for b in &names {
        build.args(["--test", b]);
    }
    eprintln!("== hostile: building {} corpora", rows.len());
    let out = build
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("the corpora do not build (errors above)".into());
    }
    let built = binaries(&String::from_utf8_lossy(&out.stdout));
    let build_secs = started.elapsed().as_secs_f64();

    let mut table = Vec::new();
    for (package, bins, what) in &rows {
        let mut counts = Counts::default();
        let mut secs = 0.0;
        let mut status = "PASS";
        for b in *bins {
            let Some(bin) = built
                .iter()
                .find(|x| x.package == *package && x.target == *b)
            else {
                status = "NOT BUILT";
                continue;
            };
            eprintln!("== hostile: {package} {b}");
            let t = Instant::now();
            let out = Command::new(&bin.executable)
                .current_dir(&bin.dir)
                .env("CARGO_MANIFEST_DIR", &bin.dir)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", bin.executable))?;
            secs += t.elapsed().as_secs_f64();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let c = parse_counts(&text);
            counts.passed += c.passed;
            counts.failed += c.failed;
            counts.ignored += c.ignored;
            if !out.status.success() {
                status = "FAIL";
                // Show why, without drowning the table.
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                for l in tail.into_iter().rev() {
                    eprintln!("   {l}");
                }
            }
        }
        if status == "PASS" && counts.passed == 0 {
            status = "EMPTY";
        }
        table.push((*package, bins.join(","), *what, counts, secs, status));
    }
    println!(
        "\n| crate | tests | what | passed | failed | ignored (known bugs) | seconds | result |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut bad = 0;
    for (p, bins, what, c, secs, status) in &table {
        if *status != "PASS" {
            bad += 1;
        }
        println!(
            "| {p} | {bins} | {what} | {} | {} | {} | {secs:.1} | {status} |",
            c.passed, c.failed, c.ignored
        );
    }
    println!(
        "\n{} corpora, {bad} not passing; build {build_secs:.0} s, {:.0} s in all",
        table.len(),
        started.elapsed().as_secs_f64()
    );
    if bad > 0 {
        return Err(format!("{bad} corpus run(s) did not pass"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_binaries() {
        let out = "running 3 tests\n\
            test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.2s\n\
            noise\n\
            test result: FAILED. 7 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.0s\n";
        assert_eq!(
            parse_counts(out),
            Counts {
                passed: 10,
                failed: 2,
                ignored: 1
            }
        );
        assert_eq!(parse_counts("error[E0433]: nothing ran"), Counts::default());
    }

    #[test]
    fn executables_are_found_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/rtp#ferrtc-rtp@0.1.0","manifest_path":"/w/crates/rtp/Cargo.toml","target":{"name":"hostile","kind":["test"]},"executable":"/t/deps/hostile-1"}
{"reason":"compiler-artifact","package_id":"path+file:///w/xtask#0.1.0","manifest_path":"/w/xtask/Cargo.toml","target":{"name":"xtask","kind":["bin"]},"executable":null}
{"reason":"compiler-artifact","package_id":"path+file:///w/crates/dtls#ferrtc-dtls@0.1.0","manifest_path":"/w/crates/dtls/Cargo.toml","target":{"name":"forged","kind":["test"]},"executable":"/t/deps/forged-2"}
{"reason":"build-finished","success":true}"#;
        let b = binaries(json);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[1],
            Binary {
                package: "ferrtc-dtls".into(),
                target: "forged".into(),
                executable: "/t/deps/forged-2".into(),
                dir: "/w/crates/dtls".into(),
            }
        );
        assert_eq!(
            (b[0].package.as_str(), b[0].target.as_str()),
            ("ferrtc-rtp", "hostile")
        );
    }
}
