//! Small helpers for running commands from the workspace root.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Runs `program args…` in the workspace root with inherited stdio; error if it fails.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_in(&root(), program, args)
}

/// Runs `program args…` in `dir` with inherited stdio; error if it fails.
pub fn run_in(dir: &std::path::Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Runs the cargo that runs us.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_in(&root(), args)
}

/// Runs the cargo that runs us in `dir`.
pub fn cargo_in(dir: &std::path::Path, args: &[&str]) -> Result<(), String> {
    cargo_in_target(dir, None, args)
}

/// Runs the cargo that runs us in `dir`, with `CARGO_TARGET_DIR=target` when given.
pub fn cargo_in_target(
    dir: &std::path::Path,
    target: Option<&std::path::Path>,
    args: &[&str],
) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo = tool("cargo", cargo);
    eprintln!("$ {} {}", cargo.display(), args.join(" "));
    let mut cmd = Command::new(&cargo);
    cmd.args(args).current_dir(dir);
    if let Some(t) = target {
        cmd.env("CARGO_TARGET_DIR", t);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", cargo.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{} {}` failed ({status})",
            cargo.display(),
            args.join(" ")
        ))
    }
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Installs Debian packages with apt-get if `probe` is not on PATH.
#[allow(dead_code)]
pub fn ensure_apt(probe: &str, packages: &[&str]) -> Result<(), String> {
    if have(probe) {
        return Ok(());
    }
    let _ = run("apt-get", &["update", "-qq"]);
    let mut args = vec!["install", "-y", "-qq"];
    args.extend_from_slice(packages);
    run("apt-get", &args)
}

/// The environment variable through which `cargo xtask conformance --self-check` asks a row
/// to break itself on purpose (see `selfcheck.rs`); unset in normal runs.
pub const SELFCHECK_ENV: &str = "FERRTC_SELFCHECK";

/// Whether the self-check asked for sabotage `name`. The first time it answers yes it says so
/// on stderr (`self-check: applying sabotage NAME`), so the self-check can tell that the row
/// really took the sabotaged path and did not fail for some other reason.
pub fn sabotage(name: &str) -> bool {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let on = std::env::var(SELFCHECK_ENV).is_ok_and(|v| v == name);
    if on {
        if let Ok(mut said) = SAID.lock() {
            if !said.iter().any(|s| s == name) {
                said.push(name.to_string());
                eprintln!("self-check: applying sabotage {name}");
            }
        }
    }
    on
}

/// The program to start for `name`, normally `real`; under the sabotage `missing:NAME` a
/// path that does not exist, as if the tool were not installed (the row must then fail, not
/// skip).
pub fn tool(name: &str, real: impl Into<PathBuf>) -> PathBuf {
    if sabotage(&format!("missing:{name}")) {
        PathBuf::from(format!("/nonexistent/{name}"))
    } else {
        real.into()
    }
}

/// A copy of `s` with its last character changed (an ASCII letter or digit stays one), for
/// the sabotages that need a wrong password, key or fingerprint of the same shape.
pub fn flip_last(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if let Some(c) = chars.last_mut() {
        *c = match *c {
            '0' => '1',
            'a' => 'b',
            'A' => 'B',
            c if c.is_ascii_digit() || c.is_ascii_alphabetic() => {
                if c.is_ascii_lowercase() {
                    'a'
                } else if c.is_ascii_uppercase() {
                    'A'
                } else {
                    '0'
                }
            }
            _ => 'x',
        };
    }
    chars.into_iter().collect()
}
