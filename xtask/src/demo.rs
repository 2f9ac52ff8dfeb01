//! `cargo xtask demo`: the README's main job, tried as a new user would: the `demo` example
//! serves its page, headless Chromium (with its fake camera and microphone) opens
//! `/?autotest=NAME`, the page connects through WHIP, chats over the data channel, sends the
//! camera and microphone, which ferrtc reflects back, checks its own layout and console, and
//! posts PASS/FAIL with the numbers it saw, which the server prints. It does so in a desktop
//! window and in a phone-sized viewport, saving a screenshot of each under target/demo/, and
//! fails when the chat gets no answer, when the reflected video does not decode (inbound-rtp
//! framesDecoded >= 30, then rising: checked by the page and again here from its numbers) or
//! the reflected audio is not received (totalSamplesReceived rising), when a card's content
//! overflows it, when the page's console shows an error or warning, or when the page requests
//! something the server does not have (a 404). A third run has no camera at all: the card must
//! say so and the chat still work.
//! Runs inside a loopback-only network namespace when root (as CI is).
//!
//! Self-check sabotages: `demo-no-udp` (ICE cannot connect) and `demo-no-reflect` (the server
//! negotiates its senders but writes no frame back: the media check must fail).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
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
    // The reflected sound plays without a click (Chromium counts received audio samples as
    // they are played out).
    "--autoplay-policy=no-user-gesture-required",
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
        return inside(args.get(1).map(String::as_str) == Some("--netns"));
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
            .args([me.as_str(), "demo", "--inside", "--netns"])
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

/// Where the page is tried: a desktop window, and a phone's viewport (390x844, an iPhone
/// 12-15), both with Chromium's fake camera and microphone; and a desktop window without any
/// camera. Headless Chromium makes no window narrower than 500 px, so the phone is an iframe
/// of that size in a 500 px window (the demo's `/autotest/frame`): the page's own viewport
/// (media queries, `innerWidth`) is then 390 px wide.
struct View {
    name: &'static str,
    width: u32,
    height: u32,
    camera: bool,
}

const VIEWS: &[View] = &[
    View {
        name: "desktop",
        width: 1280,
        height: 900,
        camera: true,
    },
    View {
        name: "phone",
        width: 390,
        height: 844,
        camera: true,
    },
    View {
        name: "nocamera",
        width: 1280,
        height: 900,
        camera: false,
    },
];

/// Chromium's media devices for a view: the fake camera and microphone, or no camera at all
/// (a fake device list of zero cameras, so the run does not depend on the machine's own).
fn camera_flag(camera: bool) -> &'static str {
    if camera {
        "--use-fake-device-for-media-stream"
    } else {
        "--use-fake-device-for-media-stream=device-count=0"
    }
}

/// The self-check sabotage `demo-no-udp`: inside the demo's own network namespace (never
/// on the host), drop every UDP datagram, so the page loads and WHIP answers over TCP but
/// ICE cannot connect; the page must then not report PASS.
fn drop_udp(netns: bool) -> Result<(), String> {
    if !netns {
        return Err(
            "demo-no-udp needs the demo's network namespace (run as root with unshare)".into(),
        );
    }
    let rules = "table inet ferrtc_selfcheck {\n\tchain input { type filter hook input priority 0; meta l4proto udp drop; }\n}\n";
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start nft: {e}"))?;
    if let Some(mut w) = child.stdin.take() {
        std::io::Write::write_all(&mut w, rules.as_bytes()).map_err(|e| format!("nft: {e}"))?;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("nft failed ({status})"))
    }
}

fn inside(netns: bool) -> Result<(), String> {
    if util::sabotage("demo-no-udp") {
        drop_udp(netns)?;
    }
    let port = 18_000 + (std::process::id() % 1000) as u16;
    // Where cargo put it: CARGO_TARGET_DIR when set (as the other checks honour it).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"));
    let bin = target.join("release/examples/demo");
    let mut demo_args = vec!["--port".to_owned(), port.to_string()];
    if util::sabotage("demo-no-reflect") {
        demo_args.push("--no-reflect".into());
    }
    let mut demo = Command::new(&bin)
        .args(&demo_args)
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
    // The server's later lines: `autotest: …` results and `not found: …` requests.
    let server_lines = Arc::new(Mutex::new(Vec::new()));
    let sink = server_lines.clone();
    let reader = std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            if let Ok(mut v) = sink.lock() {
                v.push(l);
            }
        }
    });
    let shots = util::root().join("target/demo");
    let _ = std::fs::create_dir_all(&shots);
    let mut failures = Vec::new();
    for view in VIEWS {
        if let Err(e) = one_view(port, view, &shots, &server_lines) {
            failures.push(format!("{}: {e}", view.name));
        }
    }
    let _ = demo.kill();
    let _ = demo.wait();
    let _ = reader.join();
    let server_lines = server_lines.lock().map(|v| v.clone()).unwrap_or_default();
    for l in server_lines.iter().filter(|l| l.starts_with("not found:")) {
        failures.push(format!("the page requested a missing resource ({l})"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Opens `/?autotest=NAME` in a `width`x`height` viewport, saves a screenshot once its
/// autotest has finished (target/demo/NAME.png) and checks the result the page posted
/// (printed by the server): PASS means connected, answered, no card content wider than its
/// box and a clean console (the page checks those itself, see examples/demo/index.html).
fn one_view(
    port: u16,
    view: &View,
    shots: &Path,
    server_lines: &Mutex<Vec<String>>,
) -> Result<(), String> {
    let &View {
        name,
        width,
        height,
        camera,
    } = view;
    let dir = std::env::temp_dir().join(format!("ferrtc-demo-{}-{name}", std::process::id()));
    let shot = shots.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    // Narrower than Chromium's smallest window: the page in an iframe of that size, served
    // by the demo (same origin, so its requests are the page's own).
    let (url, window) = if width < 500 {
        (
            format!("http://127.0.0.1:{port}/autotest/frame?run={name}&w={width}&h={height}"),
            (500, height),
        )
    } else {
        let expect = if camera { "" } else { "&camera=none" };
        (
            format!("http://127.0.0.1:{port}/?autotest={name}{expect}"),
            (width, height),
        )
    };
    let start = Instant::now();
    let chromium = util::tool("chromium", "chromium");
    let out = Command::new("timeout")
        .arg("60")
        .arg(&chromium)
        .args(FLAGS)
        .arg(camera_flag(camera))
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg(format!("--window-size={},{}", window.0, window.1))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    let status = out.map_err(|e| format!("cannot run timeout: {e}"))?;
    // timeout(1) exits 126/127 when it cannot start the command.
    if matches!(status.code(), Some(126 | 127)) {
        return Err(format!(
            "cannot run chromium ({}): {status}",
            chromium.display()
        ));
    }
    // The server prints the page's result when it arrives, before the page finishes loading.
    let tag = format!("run={name} ");
    let mut result = None;
    for _ in 0..20 {
        result = server_lines.lock().ok().and_then(|v| {
            v.iter()
                .find(|l| l.starts_with("autotest: ") && l.contains(&tag))
                .map(|l| l.trim_start_matches("autotest: ").to_owned())
        });
        if result.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let result = result.unwrap_or_default();
    let shot_ok = std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0);
    println!(
        "demo page in headless Chromium, {name} {width}x{height}: {} ({:.1} s); screenshot {}",
        if result.is_empty() {
            "no result"
        } else {
            &result
        },
        start.elapsed().as_secs_f64(),
        if shot_ok {
            shot.display().to_string()
        } else {
            "missing".into()
        }
    );
    if !result.starts_with("PASS") {
        return Err(format!("page result: {result:?}"));
    }
    if !result.contains(&format!(" width={width} ")) {
        return Err(format!(
            "the page's viewport was not {width} px wide: {result}"
        ));
    }
    if !shot_ok {
        return Err(format!("no screenshot at {}", shot.display()));
    }
    let media = check_media(&result, camera)?;
    println!("  {name}: {media}");
    Ok(())
}

/// The page's `media={…}` numbers, checked again here (not only the page's PASS): with a
/// camera, the reflected video decoded at least 30 frames and went on decoding, and the
/// reflected audio's received samples rose; without one, the card said there is no camera.
/// Returns them as one line for the report.
fn check_media(result: &str, camera: bool) -> Result<String, String> {
    let json = result
        .split_once(" media=")
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("no media numbers in the page's result: {result}"))?;
    let media: serde_json::Value = serde_json::Deserializer::from_str(json)
        .into_iter::<serde_json::Value>()
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| format!("unreadable media numbers: {json}"))?;
    if !camera {
        let message = media["message"].as_str().unwrap_or("");
        if media["camera"] != "none" || !message.contains("No camera") {
            return Err(format!("without a camera the card said: {media}"));
        }
        return Ok(format!(
            "no camera; the card says {message:?}; chat answered"
        ));
    }
    let pair = |k: &str| -> (u64, u64) {
        let v = &media[k];
        (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
    };
    let (f0, f1) = pair("framesDecoded");
    let (s0, s1) = pair("totalSamplesReceived");
    let line = format!(
        "reflected video framesDecoded {f0} -> {f1} over {} s ({} {}, 30 decoded {} s after connecting), \
         reflected audio totalSamplesReceived {s0} -> {s1}",
        media["seconds"],
        media["codec"].as_str().unwrap_or("?"),
        media["resolution"].as_str().unwrap_or("?"),
        media["secondsTo30"],
    );
    if f0 < 30 || f1 <= f0 {
        return Err(format!("the reflected video did not decode: {line}"));
    }
    if s1 <= s0 {
        return Err(format!("the reflected audio was not received: {line}"));
    }
    Ok(line)
}
