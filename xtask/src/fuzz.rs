//! `cargo xtask fuzz [--seconds N] [TARGET]`: every cargo-fuzz target in `fuzz/`, on nightly.
//!
//! Each target starts from its committed seeds in `fuzz/seeds/TARGET/` plus whatever the
//! fuzzer found earlier in `fuzz/corpus/TARGET/` (not committed).

use crate::util;
use std::process::Command;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
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
