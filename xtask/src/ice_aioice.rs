//! `cargo xtask ice-aioice`: ferrtc's ICE agent (the `ice_udp_peer` example, std UdpSocket on
//! 127.0.0.1) connects with aioice (aiortc's ICE) in both roles, and with itself as a sanity
//! case. Signalling is line-based over the two processes' stdio; this module relays
//! `creds`/`cand`/`eoc` lines between them and prints one line per case.
//!
//! aioice is pip-installed into `.venv` (git-ignored) when missing.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback-only coturn with user test/test, stopped (by its pid) when dropped.
struct Coturn {
    child: Child,
    addr: String,
    _dir: TempDir,
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Coturn {
    fn start() -> Result<Coturn, String> {
        let dir = std::env::temp_dir().join(format!("ferrtc-ice-coturn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let d = dir.to_string_lossy().to_string();
        // A free port, and a relay port range apart from the other coturn checks'.
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(util::tool("turnserver", "turnserver"))
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--min-port=49400",
                "--max-port=49440",
                "--lt-cred-mech",
                "--user=test:test",
                "--realm=example.org",
                "--fingerprint",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--allow-loopback-peers",
                "--no-multicast-peers",
                &format!("--db={d}/turndb"),
                &format!("--pidfile={d}/turnserver.pid"),
                "--log-file=stdout",
                "--simple-log",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start turnserver: {e}"))?;
        std::thread::sleep(Duration::from_millis(700));
        Ok(Coturn {
            child,
            addr: format!("127.0.0.1:{port}"),
            _dir: TempDir(dir),
        })
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Result lines of one side.
type Lines = Arc<Mutex<Vec<String>>>;

pub fn run(_args: &[String]) -> Result<(), String> {
    let root = util::root();
    let python = util::tool("aioice", ensure_aioice()?);
    util::cargo(&[
        "build",
        "-q",
        "-p",
        "ferrtc-ice",
        "--example",
        "ice_udp_peer",
    ])?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let peer = target.join("debug/examples/ice_udp_peer");
    let script = root.join("xtask/scripts/aioice_peer.py");
    let ferrtc = |role: &str| {
        let mut c = Command::new(&peer);
        c.arg(role);
        c
    };
    let aioice = |role: &str| {
        let mut c = Command::new(&python);
        c.arg(&script).arg(role);
        c
    };
    // Relayed candidates through a real TURN server: the relay rows always run (a missing
    // coturn is installed here, and a failure to install or start it fails the check).
    util::ensure_apt("turnserver", &["coturn"])?;
    let coturn = Coturn::start()?;
    let turn_addr = coturn.addr.clone();
    let turn_pass = if util::sabotage("turn-wrong-password") {
        "wrong"
    } else {
        "test"
    };
    let relay = |role: &str| {
        let mut c = Command::new(&peer);
        c.arg(role).args([
            "--turn",
            &format!("{turn_addr},test,{turn_pass}"),
            "--relay-only",
        ]);
        c
    };
    let mut cases: Vec<(&str, Command, Command)> = vec![
        (
            "ferrtc controlling <-> aioice controlled",
            ferrtc("controlling"),
            aioice("controlled"),
        ),
        (
            "ferrtc controlled <-> aioice controlling",
            ferrtc("controlled"),
            aioice("controlling"),
        ),
        (
            "ferrtc controlling <-> ferrtc controlled",
            ferrtc("controlling"),
            ferrtc("controlled"),
        ),
    ];
    {
        cases.push((
            "ferrtc relay-only via coturn, controlling <-> aioice controlled",
            relay("controlling"),
            aioice("controlled"),
        ));
        cases.push((
            "ferrtc relay-only via coturn <-> ferrtc relay-only via coturn",
            relay("controlling"),
            relay("controlled"),
        ));
    }
    let mut failed = 0;
    let mut report = Vec::new();
    for (name, a, b) in cases {
        match run_pair(a, b) {
            Ok((la, lb)) => {
                let ms = |l: &[String]| {
                    l.iter()
                        .find_map(|x| x.strip_prefix("connected "))
                        .map(|x| x.rsplit(' ').next().unwrap_or("?").to_string())
                        .unwrap_or_else(|| "?".into())
                };
                report.push(format!(
                    "PASS  {name}  (connected after {} ms / {} ms from having the peer's candidates)",
                    ms(&la),
                    ms(&lb)
                ));
            }
            Err(e) => {
                failed += 1;
                report.push(format!("FAIL  {name}: {e}"));
            }
        }
    }
    drop(coturn);
    for line in &report {
        println!("{line}");
    }
    if failed > 0 {
        Err(format!("{failed} ICE interop case(s) failed"))
    } else {
        Ok(())
    }
}

/// Returns the venv's python with aioice importable.
fn ensure_aioice() -> Result<PathBuf, String> {
    let root = util::root();
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        util::run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
    }
    let ok = Command::new(&python)
        .args(["-c", "import aioice"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        util::run(
            &venv.join("bin/pip").to_string_lossy(),
            &["install", "-q", "aioice"],
        )?;
    }
    Ok(python)
}

fn spawn(mut cmd: Command) -> Result<Child, String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))
}

/// Reads `child`'s stdout; signalling lines go to `to`, every line is kept.
fn pump(
    child: &mut Child,
    to: Arc<Mutex<Option<ChildStdin>>>,
    tag: &'static str,
) -> (Lines, std::thread::JoinHandle<()>) {
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    let stdout = child.stdout.take().unwrap();
    let wrong_password = util::sabotage("ice-wrong-password");
    let h = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if std::env::var_os("XTASK_VERBOSE").is_some() {
                eprintln!("[{tag}] {line}");
            }
            if line.starts_with("creds ") || line.starts_with("cand ") || line == "eoc" {
                let relayed = if wrong_password {
                    wrong_creds(&line)
                } else {
                    line.clone()
                };
                if let Some(w) = to.lock().unwrap().as_mut() {
                    let _ = writeln!(w, "{relayed}");
                    let _ = w.flush();
                }
            }
            keep.lock().unwrap().push(line);
        }
    });
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("XTASK_VERBOSE").is_some() {
                    eprintln!("[{tag} err] {line}");
                }
            }
        });
    }
    (lines, h)
}

fn run_pair(a: Command, b: Command) -> Result<(Vec<String>, Vec<String>), String> {
    let mut ca = spawn(a)?;
    let mut cb = spawn(b)?;
    let a_in = Arc::new(Mutex::new(ca.stdin.take()));
    let b_in = Arc::new(Mutex::new(cb.stdin.take()));
    let (la, ha) = pump(&mut ca, b_in.clone(), "a");
    let (lb, hb) = pump(&mut cb, a_in.clone(), "b");
    let start = Instant::now();
    let mut status = (None, None);
    while status.0.is_none() || status.1.is_none() {
        if status.0.is_none() {
            status.0 = ca.try_wait().map_err(|e| e.to_string())?;
        }
        if status.1.is_none() {
            status.1 = cb.try_wait().map_err(|e| e.to_string())?;
        }
        if start.elapsed() > TIMEOUT {
            let _ = ca.kill();
            let _ = cb.kill();
            let _ = ca.wait();
            let _ = cb.wait();
            return Err(format!("timeout after {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Close the pipes so the readers end.
    a_in.lock().unwrap().take();
    b_in.lock().unwrap().take();
    let _ = ha.join();
    let _ = hb.join();
    let la = la.lock().unwrap().clone();
    let lb = lb.lock().unwrap().clone();
    let (sa, sb) = (status.0.unwrap(), status.1.unwrap());
    let done = |l: &[String]| l.iter().any(|x| x == "done");
    if !sa.success() || !sb.success() || !done(&la) || !done(&lb) {
        return Err(format!(
            "exit {sa} / {sb}; last lines: {:?} / {:?}",
            la.iter().rev().take(3).collect::<Vec<_>>(),
            lb.iter().rev().take(3).collect::<Vec<_>>()
        ));
    }
    Ok((la, lb))
}

/// The self-check sabotage `ice-wrong-password`: a `creds <ufrag> <pwd>` line with the
/// password's last character changed (the peer then signs and checks with a wrong key,
/// RFC 8445 §7.2.2); other lines unchanged.
pub fn wrong_creds(line: &str) -> String {
    match line.strip_prefix("creds ").and_then(|r| r.split_once(' ')) {
        Some((ufrag, pwd)) => format!("creds {ufrag} {}", util::flip_last(pwd.trim())),
        None => line.to_string(),
    }
}
