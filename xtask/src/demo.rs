//! `cargo xtask demo`: the README's main job, tried as a new user would: the `demo` example
//! serves its page, headless Chromium opens `/?autotest`, the page connects through WHIP,
//! chats over the data channel and writes PASS/FAIL into the DOM, which `--dump-dom` prints.
//! Runs inside a loopback-only network namespace when root (as CI is).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util;

const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
];

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--inside") {
        return inside();
    }
    util::ensure_apt("chromium", &["chromium"])?;
    util::cargo(&["build", "--release", "-p", "ferrtc", "--example", "demo"])?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let me = me.to_string_lossy().into_owned();
    let status = if is_root() && util::have("unshare") {
        Command::new("unshare")
            .args([
                "-n",
                "--",
                "sh",
                "-c",
                "ip link set lo up && exec \"$@\"",
                "lo-only",
            ])
            .args([me.as_str(), "demo", "--inside"])
            .current_dir(util::root())
            .status()
    } else {
        Command::new(&me)
            .args(["demo", "--inside"])
            .current_dir(util::root())
            .status()
    }
    .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("the demo page did not pass in headless Chromium".into())
    }
}

fn inside() -> Result<(), String> {
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let bin = util::root().join("target/release/examples/demo");
    let mut demo = Command::new(&bin)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = demo.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(l)) if l.contains("http://") => {}
        other => {
            let _ = demo.kill();
            return Err(format!("demo did not start: {other:?}"));
        }
    }
    let dir = std::env::temp_dir().join(format!("ferrtc-demo-{}", std::process::id()));
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg("40")
        .arg("chromium")
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg("--dump-dom")
        .arg(format!("http://127.0.0.1:{port}/?autotest"))
        .stderr(Stdio::null())
        .output();
    let _ = demo.kill();
    let _ = demo.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.map_err(|e| format!("cannot run chromium: {e}"))?;
    let dom = String::from_utf8_lossy(&out.stdout);
    let result = dom
        .split("<div id=\"result\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or("")
        .to_owned();
    println!(
        "demo page in headless Chromium: {} ({:.1} s)",
        if result.is_empty() {
            "no result"
        } else {
            &result
        },
        start.elapsed().as_secs_f64()
    );
    if result.starts_with("PASS") {
        Ok(())
    } else {
        Err(format!("demo page result: {result:?}"))
    }
}
