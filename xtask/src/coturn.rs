//! `cargo xtask coturn`: ferrtc-turn-client and ferrtc-stun against a real coturn.
//!
//! Installs coturn with apt-get when missing, starts `turnserver` on 127.0.0.1 (a free port,
//! a temporary directory, a short `--stale-nonce`), then runs:
//! - the ignored integration tests `crates/turn-client/tests/coturn.rs` (allocate,
//!   permission, Send/Data indication and ChannelData round trips with a UDP peer, refresh,
//!   stale-nonce recovery, deallocate, over UDP and TCP; wrong password);
//! - the ignored facade tests `crates/ferrtc/tests/turn_relay.rs`: two `ferrtc` peers with
//!   `iceTransportPolicy: "relay"` connect through coturn over `turn:…?transport=tcp` and over
//!   `turns:` (by IP and by host name; coturn's TLS uses a self-signed certificate generated
//!   here with the `openssl` command, trusted through `RtcConfiguration::turn_tls_ca`), and
//!   without that trust no relayed candidate is gathered;
//! - the `stun_client` example of ferrtc-stun against coturn's STUN service;
//! - coturn's `turnutils_stunclient` against the `stun_server` example of ferrtc-stun;
//! - aioice's STUN codec (`xtask/scripts/stun_aioice.py`, aioice in `.venv`) against both
//!   examples with short-term MESSAGE-INTEGRITY in both directions, and with a wrong
//!   password, which must fail.
//!
//! coturn and the example server are killed at the end, also on failure.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;

/// Seconds after which coturn declares a nonce stale.
const STALE_NONCE_SECS: u64 = 3;

/// Kills the child process when dropped.
struct Guard(Child, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        eprintln!("stopped {}", self.1);
    }
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port".into())
}

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| util::root().join("target"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn run(_args: &[String]) -> Result<(), String> {
    util::ensure_apt("turnserver", &["coturn"])?;
    let dir = std::env::temp_dir().join(format!("ferrtc-coturn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = run_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A self-signed certificate for coturn's TLS listener, valid for 127.0.0.1 and localhost.
fn self_signed_cert(dir: &std::path::Path) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join("turn-cert.pem"), dir.join("turn-key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext"])
        .arg("subjectAltName=IP:127.0.0.1,DNS:localhost")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((cert, key))
}

fn run_in(dir: &std::path::Path) -> Result<(), String> {
    let port = free_port()?;
    let tls_port = free_port()?;
    let (cert, key) = self_signed_cert(dir)?;
    let relay_min = 49160 + (port % 500) * 20;
    let log = std::fs::File::create(dir.join("turnserver.log")).map_err(|e| e.to_string())?;
    let args: Vec<String> = vec![
        "-n".into(),
        "--listening-ip=127.0.0.1".into(),
        "--relay-ip=127.0.0.1".into(),
        format!("--listening-port={port}"),
        format!("--min-port={relay_min}"),
        format!("--max-port={}", relay_min + 19),
        "--lt-cred-mech".into(),
        "--user=test:test".into(),
        "--realm=example.org".into(),
        "--fingerprint".into(),
        format!("--tls-listening-port={tls_port}"),
        format!("--cert={}", cert.display()),
        format!("--pkey={}", key.display()),
        "--no-dtls".into(),
        "--no-cli".into(),
        "--allow-loopback-peers".into(),
        "--no-multicast-peers".into(),
        format!("--stale-nonce={STALE_NONCE_SECS}"),
        format!("--db={}", dir.join("turndb").display()),
        format!("--pidfile={}", dir.join("turnserver.pid").display()),
        "--log-file=stdout".into(),
        "--simple-log".into(),
    ];
    eprintln!("$ turnserver {}", args.join(" "));
    let child = Command::new(util::tool("turnserver", "turnserver"))
        .args(&args)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start turnserver: {e}"))?;
    let _coturn = Guard(child, "coturn");
    let server = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while TcpStream::connect(&server).is_err() {
        if start.elapsed() > Duration::from_secs(15) {
            let log = std::fs::read_to_string(dir.join("turnserver.log")).unwrap_or_default();
            return Err(format!(
                "coturn did not start listening on {server}:\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let tls_server = format!("127.0.0.1:{tls_port}");
    while TcpStream::connect(&tls_server).is_err() {
        if start.elapsed() > Duration::from_secs(15) {
            return Err(format!(
                "coturn did not start listening on {tls_server} (TLS)"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("coturn listening on {server}, TLS on {tls_server}");

    // Self-check sabotage: the TURN scenarios log in with a wrong password; they must fail.
    let pass = if util::sabotage("turn-wrong-password") {
        "wrong"
    } else {
        "test"
    };
    let mut report = Vec::new();
    let mut failed = 0;
    let mut check = |name: &str, r: Result<(), String>| match &r {
        Ok(()) => report.push(format!("PASS  {name}")),
        Err(e) => {
            failed += 1;
            report.push(format!("FAIL  {name}: {e}"));
        }
    };

    // 1. The TURN client scenarios.
    let status = Command::new(cargo())
        .args([
            "test",
            "-q",
            "-p",
            "ferrtc-turn-client",
            "--test",
            "coturn",
            "--",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .current_dir(util::root())
        .env("FERRTC_TURN_SERVER", &server)
        .env("FERRTC_TURN_USER", "test")
        .env("FERRTC_TURN_PASS", pass)
        .env("FERRTC_TURN_STALE_NONCE", STALE_NONCE_SECS.to_string())
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    check(
        "turn-client <-> coturn: allocate, permission, Send/Data indication, ChannelData, \
         refresh, stale nonce, deallocate over UDP and TCP; wrong password",
        if status.success() {
            Ok(())
        } else {
            Err(format!("cargo test failed ({status})"))
        },
    );

    // 2. Two ferrtc peers, relay only, through coturn over TCP and TLS.
    let status = Command::new(cargo())
        .args(["test", "-q", "-p", "ferrtc", "--test", "turn_relay", "--"])
        .args(["--ignored", "--test-threads=1", "--nocapture"])
        .current_dir(util::root())
        .env("FERRTC_TURN_SERVER", &server)
        .env("FERRTC_TURN_TLS_SERVER", &tls_server)
        .env("FERRTC_TURN_TLS_CA", &cert)
        .env("FERRTC_TURN_USER", "test")
        .env("FERRTC_TURN_PASS", pass)
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    check(
        "ferrtc peers (relay only) <-> coturn over turn:?transport=tcp and turns: (IP and \
         name, self-signed CA added); untrusted certificate gathers no relay",
        if status.success() {
            Ok(())
        } else {
            Err(format!("cargo test failed ({status})"))
        },
    );

    // 3. The STUN examples.
    util::cargo(&["build", "-q", "-p", "ferrtc-stun", "--examples"])?;
    let examples = target_dir().join("debug/examples");
    let out = Command::new(examples.join("stun_client"))
        .arg(&server)
        .output()
        .map_err(|e| format!("cannot run stun_client: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    check(
        "stun_client example -> coturn Binding",
        if out.status.success() && text.starts_with("127.0.0.1:") {
            eprintln!("stun_client: reflexive address {text}");
            Ok(())
        } else {
            Err(format!(
                "status {}, stdout {text:?}, stderr {:?}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        },
    );

    let stun_port = free_port()?;
    let srv = Command::new(examples.join("stun_server"))
        .arg(format!("127.0.0.1:{stun_port}"))
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start stun_server: {e}"))?;
    let _srv = Guard(srv, "stun_server example");
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(util::tool("turnutils_stunclient", "turnutils_stunclient"))
        .args(["-p", &stun_port.to_string(), "127.0.0.1"])
        .output()
        .map_err(|e| format!("cannot run turnutils_stunclient: {e}"));
    check(
        "turnutils_stunclient -> stun_server example",
        out.and_then(|out| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.success() && text.contains("reflexive addr: 127.0.0.1:") {
                Ok(())
            } else {
                Err(format!("status {}, output {text:?}", out.status))
            }
        }),
    );

    // 4. aioice's STUN codec against both examples, with short-term integrity.
    match aioice_python() {
        Ok(python) => {
            let r = aioice_checks(&python, &examples);
            for (name, res) in r {
                check(&name, res);
            }
        }
        Err(e) => check(
            "aioice STUN <-> examples",
            Err(format!("aioice unavailable: {e}")),
        ),
    }

    for line in &report {
        println!("{line}");
    }
    if failed > 0 {
        Err(format!("{failed} coturn check(s) failed"))
    } else {
        Ok(())
    }
}

/// The venv python with aioice importable (installed into `.venv` like `ice-aioice` does).
fn aioice_python() -> Result<PathBuf, String> {
    let venv = util::root().join(".venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        util::run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
    }
    let ok = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import aioice"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !ok(&python) {
        util::run(
            &venv.join("bin/pip").to_string_lossy(),
            &["install", "-q", "aioice"],
        )?;
    }
    if ok(&python) {
        Ok(python)
    } else {
        Err("cannot import aioice".into())
    }
}

fn aioice_checks(
    python: &PathBuf,
    examples: &std::path::Path,
) -> Vec<(String, Result<(), String>)> {
    use std::io::BufRead;
    let script = util::root().join("xtask/scripts/stun_aioice.py");
    let mut out = Vec::new();
    // Self-check sabotage of the negative checks: the request that must be rejected carries
    // the right password; both checks must then fail.
    let wrong_pass = if util::sabotage("stun-wrong-password-accepted") {
        "ferrtc-pass"
    } else {
        "wrong-pass"
    };

    // aioice client -> stun_server example (requires and signs MESSAGE-INTEGRITY).
    let r = (|| -> Result<(), String> {
        let port = free_port()?;
        let srv = Command::new(examples.join("stun_server"))
            .arg(format!("127.0.0.1:{port}"))
            .env("FERRTC_STUN_PASSWORD", "ferrtc-pass")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start stun_server: {e}"))?;
        let _srv = Guard(srv, "stun_server example");
        std::thread::sleep(Duration::from_millis(300));
        let run = |pass: &str| {
            Command::new(python)
                .arg(&script)
                .args(["client", "127.0.0.1", &port.to_string(), "user", pass])
                .output()
                .map_err(|e| format!("cannot run python: {e}"))
        };
        let good = run("ferrtc-pass")?;
        let text = String::from_utf8_lossy(&good.stdout).to_string();
        if !good.status.success() || !text.contains("mapped 127.0.0.1:") {
            return Err(format!(
                "aioice client failed: {text} {}",
                String::from_utf8_lossy(&good.stderr)
            ));
        }
        // The expected rejection, not just any failure: the server answers 401
        // (RFC 8489 §9.1.3), which the client reports as an error response.
        let bad = run(wrong_pass)?;
        let err = String::from_utf8_lossy(&bad.stderr).to_string();
        if bad.status.success() || !err.contains("error response (401") {
            return Err(format!(
                "aioice client with a wrong password: status {}, expected a 401 error response, got {err:?}",
                bad.status
            ));
        }
        Ok(())
    })();
    out.push((
        "aioice STUN client -> stun_server example (MESSAGE-INTEGRITY both ways; wrong password rejected)"
            .to_string(),
        r,
    ));

    // stun_client example -> aioice server (checks our integrity, signs its response).
    let r = (|| -> Result<(), String> {
        for (pass, want_ok) in [("ferrtc-pass", true), (wrong_pass, false)] {
            let mut child = Command::new(python)
                .arg(&script)
                .args(["server", "ferrtc-pass"])
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run python: {e}"))?;
            let stdout = child.stdout.take().ok_or("no stdout")?;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
            let port = first
                .strip_prefix("listening ")
                .ok_or_else(|| format!("unexpected aioice server output {first:?}"))?
                .trim()
                .to_string();
            let server = Guard(child, "aioice STUN server");
            let res = Command::new(examples.join("stun_client"))
                .arg(format!("127.0.0.1:{port}"))
                .env("FERRTC_STUN_USERNAME", "user")
                .env("FERRTC_STUN_PASSWORD", pass)
                .output()
                .map_err(|e| format!("cannot run stun_client: {e}"))?;
            let text = String::from_utf8_lossy(&res.stdout).trim().to_string();
            let err = String::from_utf8_lossy(&res.stderr).to_string();
            let verdict = lines.next().and_then(|l| l.ok()).unwrap_or_default();
            drop(server);
            let ok = res.status.success() && text.starts_with("127.0.0.1:");
            // The wrong password must fail for the right reason: aioice found our
            // MESSAGE-INTEGRITY wrong, and our client refused its 401 (signed with the key we
            // do not share, so it fails our integrity check, or is reported as a 401).
            let rejected_as_expected = !res.status.success()
                && verdict == "request integrity FAILED"
                && (err.contains("response failed integrity")
                    || err.contains("error response 401"));
            let as_expected = if want_ok {
                ok && verdict == "request integrity ok"
            } else {
                rejected_as_expected
            };
            if !as_expected {
                return Err(format!(
                    "stun_client with {pass}: status {}, stdout {text:?}, stderr {err:?}, aioice {verdict:?}",
                    res.status
                ));
            }
        }
        Ok(())
    })();
    out.push((
        "stun_client example -> aioice STUN server (MESSAGE-INTEGRITY both ways; wrong password rejected)"
            .to_string(),
        r,
    ));
    out
}
