//! `cargo xtask libsrtp [PACKETS]`: byte-for-byte cross-check of ferrtc-srtp with libsrtp.
//!
//! Creates a virtualenv (`<target dir>/.venv-libsrtp`, never committed) with `pylibsrtp`
//! from PyPI (it bundles libsrtp 2), builds the `srtp_tool` example of ferrtc-srtp, and
//! runs `xtask/scripts/libsrtp_check.py`: random RTP/RTCP packets for every profile
//! pylibsrtp can configure, protected by both and compared byte for byte, each side
//! unprotecting the other's output, across the sequence wrap (ROC 1), plus tampered and
//! replayed packets.

use std::path::PathBuf;

use crate::util;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let packets = args.first().map(String::as_str).unwrap_or("2000");
    packets
        .parse::<u32>()
        .map_err(|_| format!("PACKETS must be a number, got `{packets}`"))?;
    let target = target_dir();
    let venv = target.join(".venv-libsrtp");
    let python = venv.join("bin").join("python");
    let python_s = python.to_string_lossy().to_string();
    let ready = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import pylibsrtp"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !ready {
        std::fs::create_dir_all(&target)
            .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
        util::run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
        util::run(&python_s, &["-m", "pip", "install", "--quiet", "pylibsrtp"])?;
    }
    util::cargo(&[
        "build",
        "--quiet",
        "--release",
        "-p",
        "ferrtc-srtp",
        "--example",
        "srtp_tool",
    ])?;
    let tool = util::tool(
        "srtp_tool",
        target.join("release").join("examples").join("srtp_tool"),
    );
    let script = util::root()
        .join("xtask")
        .join("scripts")
        .join("libsrtp_check.py");
    let (script, tool) = (script.to_string_lossy(), tool.to_string_lossy());
    let mut argv = vec![script.as_ref(), tool.as_ref(), packets];
    // Self-check: ferrtc gets the master key with one bit flipped, libsrtp the right one.
    if util::sabotage("srtp-wrong-key") {
        argv.push("--selfcheck-wrong-key");
    }
    util::run(&python_s, &argv)
}
