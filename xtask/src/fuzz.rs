//! `cargo xtask fuzz [--seconds N] [TARGET]`: every cargo-fuzz target in `fuzz/`, on nightly.
//!
//! Each target starts from its committed seeds in `fuzz/seeds/TARGET/` plus whatever the
//! fuzzer found earlier in `fuzz/corpus/TARGET/` (not committed).
//!
//! `cargo xtask fuzz --smoke` (what CI runs): builds every target with the stable toolchain
//! (no sanitizer instrumentation, debug build so overflow checks are on) and runs each one
//! over every committed seed file, so no target can rot and no seed can regress unnoticed.

use crate::util;
use std::process::Command;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--smoke" => return smoke(),
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?;
            }
            t => only = Some(t.to_string()),
        }
    }
    if !Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        util::run("cargo", &["+nightly", "install", "cargo-fuzz", "--locked"])?;
    }
    let out = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(util::root().join("fuzz"))
        .output()
        .map_err(|e| format!("cargo fuzz list: {e}"))?;
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    let targets: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty() && only.as_deref().is_none_or(|o| o == *t))
        .collect();
    if targets.is_empty() {
        return Err(format!("no fuzz target matches {only:?}"));
    }
    let mut failed = Vec::new();
    for t in &targets {
        let corpus = util::root().join("fuzz/corpus").join(t);
        let seeds = util::root().join("fuzz/seeds").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
        let corpus = corpus.display().to_string();
        let seeds = seeds.display().to_string();
        let max_time = format!("-max_total_time={seconds}");
        let mut cmd_args = vec!["+nightly", "fuzz", "run", t, &corpus];
        if std::path::Path::new(&seeds).is_dir() {
            cmd_args.push(&seeds);
        }
        cmd_args.extend([
            "--",
            &max_time,
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ]);
        eprintln!("== fuzz {t} for {seconds} s");
        let status = Command::new("cargo")
            .args(&cmd_args)
            .current_dir(util::root().join("fuzz"))
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            failed.push(t.to_string());
        }
    }
    println!(
        "fuzz: {} target(s), {} failed {:?}",
        targets.len(),
        failed.len(),
        failed
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets crashed: {failed:?} (see fuzz/artifacts/)"
        ))
    }
}

/// The fuzz targets declared in fuzz/Cargo.toml (`[[bin]] name = "..."`).
fn declared_targets() -> Result<Vec<String>, String> {
    let manifest = util::root().join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(v) = line.strip_prefix("name") {
                let name = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                targets.push(name.to_string());
            }
        }
    }
    if targets.is_empty() {
        return Err("fuzz/Cargo.toml declares no [[bin]] target".into());
    }
    Ok(targets)
}

/// Stable build of every target, then each run over its committed seed files.
fn smoke() -> Result<(), String> {
    let fuzz_dir = util::root().join("fuzz");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ (cd fuzz && cargo build --bins --locked)");
    let status = Command::new(&cargo)
        .args(["build", "--bins", "--locked"])
        .current_dir(&fuzz_dir)
        // The outer cargo's target dir is for the workspace, not for the fuzz crate.
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the fuzz targets failed ({status})"));
    }
    let mut failed = Vec::new();
    let mut total = 0usize;
    let targets = declared_targets()?;
    for t in &targets {
        let bin = fuzz_dir.join("target/debug").join(t);
        let seeds = fuzz_dir.join("seeds").join(t);
        let mut files: Vec<String> = match std::fs::read_dir(&seeds) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
                .collect(),
            Err(_) => Vec::new(),
        };
        if files.is_empty() {
            // No seeds yet: at least run the empty input through it.
            let empty = std::env::temp_dir().join(format!("ferrtc-fuzz-empty-{t}"));
            std::fs::write(&empty, b"").map_err(|e| e.to_string())?;
            files.push(empty.display().to_string());
        }
        files.sort();
        total += files.len();
        // Given files (not directories), libFuzzer runs each input once and exits.
        let out = Command::new(&bin)
            .args(&files)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let ok = out.status.success();
        println!(
            "fuzz smoke {t:24} {:4} inputs  {}",
            files.len(),
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            for l in tail.into_iter().rev() {
                eprintln!("  {l}");
            }
            failed.push(t.clone());
        }
    }
    println!(
        "fuzz smoke: {} targets, {total} inputs, {} failed {failed:?}",
        targets.len(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed on their seeds: {failed:?}"))
    }
}
