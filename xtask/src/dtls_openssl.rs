//! `cargo xtask dtls-openssl`: ferrtc-dtls against the real OpenSSL command line tool on
//! loopback, both roles. Each case checks that the SRTP keying material ferrtc exports equals
//! what OpenSSL prints for `-keymatexport EXTRACTOR-dtls_srtp`, and that application data
//! crosses both ways. The ferrtc side is the `dtls_udp` example of crates/dtls.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util;

/// Lines a child printed on stdout, collected by a thread.
type Lines = Arc<Mutex<Vec<String>>>;

fn collect_stdout(child: &mut Child) -> Lines {
    let lines: Lines = Arc::default();
    let out = child.stdout.take().expect("piped stdout");
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

fn wait_for(lines: &Lines, needle: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(l) = lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
            return Some(l.clone());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Like [`wait_for`], but gives up early when `child` (the ferrtc side) has exited and the
/// line has not come: a refused handshake shows at once instead of after the timeout.
fn wait_for_or_exit(
    lines: &Lines,
    needle: &str,
    child: &mut Child,
    timeout: Duration,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let mut exited_at: Option<Instant> = None;
    while Instant::now() < deadline {
        if let Some(l) = lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
            return Some(l.clone());
        }
        match exited_at {
            // The peer's last output may still be on its way after ferrtc exited.
            Some(t) if t.elapsed() > Duration::from_secs(2) => return None,
            Some(_) => {}
            None => {
                if child.try_wait().ok().flatten().is_some() {
                    exited_at = Some(Instant::now());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// The `openssl` command (a path that does not exist under the self-check's
/// `missing:openssl`).
fn openssl() -> PathBuf {
    util::tool("openssl", "openssl")
}

/// The SRTP exporter label (RFC 5764 §4.2); another one under the self-check sabotage
/// `dtls-keymat-label`, so that the keying material comparison must fail.
fn exporter_label() -> &'static str {
    if util::sabotage("dtls-keymat-label") {
        "EXTRACTOR-selfcheck-wrong-label"
    } else {
        "EXTRACTOR-dtls_srtp"
    }
}

/// The fingerprint ferrtc is told to expect: the peer's, or under the self-check sabotage
/// `dtls-wrong-fingerprint` the same with its last hex digit changed.
fn expected_fingerprint(fp: &str) -> String {
    if util::sabotage("dtls-wrong-fingerprint") {
        util::flip_last(fp)
    } else {
        fp.to_string()
    }
}

fn openssl_out(args: &[&str]) -> Result<String, String> {
    let prog = openssl();
    let out = Command::new(&prog)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", prog.display()))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A certificate for the OpenSSL side and its `sha-256 AB:..` fingerprint.
fn make_cert(dir: &Path, name: &str, rsa: bool) -> Result<(PathBuf, PathBuf, String), String> {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-subj",
        "/CN=openssl-peer",
        "-days",
        "2",
    ];
    if rsa {
        args.extend(["-newkey", "rsa:2048"]);
    } else {
        args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    args.extend(["-keyout", k, "-out", c]);
    openssl_out(&args)?;
    let fp = openssl_out(&["x509", "-noout", "-fingerprint", "-sha256", "-in", c])?;
    let hex = fp
        .trim()
        .split_once('=')
        .map(|(_, h)| h.to_string())
        .ok_or("no fingerprint")?;
    Ok((cert, key, format!("sha-256 {hex}")))
}

fn ferrtc(args: &[&str]) -> Result<Child, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut full = vec![
        "run",
        "--quiet",
        "-p",
        "ferrtc-dtls",
        "--example",
        "dtls_udp",
        "--",
    ];
    full.extend_from_slice(args);
    Command::new(cargo)
        .args(&full)
        .current_dir(util::root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the dtls_udp example: {e}"))
}

fn openssl_child(args: &[&str]) -> Result<(Child, ChildStdin), String> {
    let prog = openssl();
    let mut child = Command::new(&prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", prog.display()))?;
    let stdin = child.stdin.take().expect("piped stdin");
    Ok((child, stdin))
}

/// The checks common to both directions, once both sides ran.
fn verify(ferrtc_lines: &Lines, openssl_lines: &Lines, profile: &str) -> Result<String, String> {
    let f = ferrtc_lines.lock().unwrap().clone();
    let o = openssl_lines.lock().unwrap().clone();
    let ours = f
        .iter()
        .find_map(|l| l.strip_prefix("KEYING_MATERIAL "))
        .ok_or_else(|| format!("ferrtc printed no keying material: {f:?}"))?;
    let theirs = o
        .iter()
        .find_map(|l| l.trim().strip_prefix("Keying material: "))
        .ok_or("OpenSSL printed no keying material")?;
    if !ours.eq_ignore_ascii_case(theirs) {
        return Err(format!(
            "keying material differs: ferrtc {ours}, OpenSSL {theirs}"
        ));
    }
    if !f.iter().any(|l| l == &format!("PROFILE {profile}")) {
        return Err(format!("ferrtc did not negotiate {profile}: {f:?}"));
    }
    if !f.iter().any(|l| l == "RECV hello from openssl") {
        return Err(format!("ferrtc did not receive OpenSSL's data: {f:?}"));
    }
    if !o.iter().any(|l| l.contains("hello from ferrtc")) {
        return Err("OpenSSL did not receive ferrtc's data".into());
    }
    let cipher = f
        .iter()
        .find_map(|l| l.strip_prefix("CONNECTED "))
        .unwrap_or("?");
    Ok(format!(
        "{cipher}, {profile}, {} bytes of keying material equal",
        ours.len() / 2
    ))
}

fn free_port() -> Result<u16, String> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

fn key_len(profile: &str) -> &'static str {
    match profile {
        "SRTP_AEAD_AES_128_GCM" => "56",
        "SRTP_AEAD_AES_256_GCM" => "88",
        _ => "60",
    }
}

/// ferrtc client ↔ `openssl s_server`.
fn client_case(dir: &Path, profile: &str, rsa: bool) -> Result<String, String> {
    let (cert, key, fp) = make_cert(dir, "server", rsa)?;
    let port = free_port()?.to_string();
    let accept = format!("127.0.0.1:{port}");
    let (mut server, mut stdin) = openssl_child(&[
        "s_server",
        "-dtls1_2",
        "-accept",
        &accept,
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
        "-use_srtp",
        profile,
        "-keymatexport",
        exporter_label(),
        "-keymatexportlen",
        key_len(profile),
        "-Verify",
        "1",
        "-naccept",
        "1",
    ])?;
    let server_out = collect_stdout(&mut server);
    let result = (|| {
        wait_for(&server_out, "ACCEPT", Duration::from_secs(10)).ok_or("s_server did not start")?;
        let expect = expected_fingerprint(&fp);
        let mut args = vec![
            "client",
            accept.as_str(),
            "--expect",
            expect.as_str(),
            "--profiles",
            profile,
        ];
        if rsa {
            args.push("--rsa");
        }
        let mut client = ferrtc(&args)?;
        let client_out = collect_stdout(&mut client);
        let r = (|| {
            if wait_for_or_exit(
                &server_out,
                "Keying material:",
                &mut client,
                Duration::from_secs(60),
            )
            .is_none()
            {
                return Err(match client.try_wait().ok().flatten() {
                    Some(st) => format!(
                        "s_server never completed the handshake: the ferrtc client exited ({st})"
                    ),
                    None => "s_server never completed the handshake".into(),
                });
            }
            stdin
                .write_all(b"hello from openssl\n")
                .map_err(|e| e.to_string())?;
            stdin.flush().map_err(|e| e.to_string())?;
            let status =
                wait_exit(&mut client, Duration::from_secs(20)).ok_or("ferrtc client hung")?;
            if !status.success() {
                return Err(format!("ferrtc client failed: {status}"));
            }
            // The reader thread may still hold the exited child's last lines.
            wait_for(&client_out, "RECV hello", Duration::from_secs(5));
            wait_for(&server_out, "hello from ferrtc", Duration::from_secs(5));
            verify(&client_out, &server_out, profile)
        })();
        stop(&mut client);
        r
    })();
    drop(stdin);
    stop(&mut server);
    result
}

/// ferrtc server ↔ `openssl s_client`.
fn server_case(dir: &Path, profile: &str, extra: &[&str]) -> Result<String, String> {
    let (cert, key, fp) = make_cert(dir, "client", false)?;
    let expect = expected_fingerprint(&fp);
    let mut server = ferrtc(&["server", "--expect", &expect, "--profiles", profile])?;
    let server_out = collect_stdout(&mut server);
    let result = (|| {
        let listening = wait_for(&server_out, "LISTENING ", Duration::from_secs(120))
            .ok_or("ferrtc server did not start")?;
        let port = listening
            .trim_start_matches("LISTENING ")
            .trim()
            .to_string();
        let connect = format!("127.0.0.1:{port}");
        let mut args = vec![
            "s_client",
            "-dtls1_2",
            "-connect",
            &connect,
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-use_srtp",
            profile,
            "-keymatexport",
            exporter_label(),
            "-keymatexportlen",
            key_len(profile),
        ];
        args.extend_from_slice(extra);
        let (mut client, mut stdin) = openssl_child(&args)?;
        let client_out = collect_stdout(&mut client);
        let r = (|| {
            if wait_for_or_exit(
                &client_out,
                "Keying material:",
                &mut server,
                Duration::from_secs(20),
            )
            .is_none()
            {
                return Err(match server.try_wait().ok().flatten() {
                    Some(st) => format!(
                        "s_client never completed the handshake: the ferrtc server exited ({st})"
                    ),
                    None => "s_client never completed the handshake".into(),
                });
            }
            stdin
                .write_all(b"hello from openssl\n")
                .map_err(|e| e.to_string())?;
            stdin.flush().map_err(|e| e.to_string())?;
            let status =
                wait_exit(&mut server, Duration::from_secs(20)).ok_or("ferrtc server hung")?;
            if !status.success() {
                return Err(format!("ferrtc server failed: {status}"));
            }
            // The reader thread may still hold the exited child's last lines.
            wait_for(&server_out, "RECV hello", Duration::from_secs(5));
            wait_for(&client_out, "hello from ferrtc", Duration::from_secs(5));
            if !client_out
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("Extended master secret: yes"))
            {
                return Err("extended master secret not negotiated".into());
            }
            verify(&server_out, &client_out, profile)
        })();
        drop(stdin);
        stop(&mut client);
        r
    })();
    stop(&mut server);
    result
}

pub fn run(_args: &[String]) -> Result<(), String> {
    util::ensure_apt("openssl", &["openssl"])?;
    eprintln!("{}", openssl_out(&["version"])?.trim());
    util::cargo(&[
        "build",
        "--quiet",
        "-p",
        "ferrtc-dtls",
        "--example",
        "dtls_udp",
    ])?;
    let dir = std::env::temp_dir().join(format!("ferrtc-dtls-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    type Case<'a> = (&'a str, Box<dyn Fn() -> Result<String, String> + 'a>);
    let d = dir.as_path();
    let cases: Vec<Case> = vec![
        (
            "ferrtc client -> s_server, AES128_CM_SHA1_80",
            Box::new(|| client_case(d, "SRTP_AES128_CM_SHA1_80", false)),
        ),
        (
            "ferrtc client -> s_server, AEAD_AES_256_GCM, RSA",
            Box::new(|| client_case(d, "SRTP_AEAD_AES_256_GCM", true)),
        ),
        (
            "s_client -> ferrtc server, AEAD_AES_128_GCM",
            Box::new(|| server_case(d, "SRTP_AEAD_AES_128_GCM", &[])),
        ),
        (
            "s_client (ECDSA+ChaCha20 only) -> ferrtc server, AES128_CM_SHA1_32",
            Box::new(|| {
                server_case(
                    d,
                    "SRTP_AES128_CM_SHA1_32",
                    &["-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"],
                )
            }),
        ),
    ];
    let mut failed = 0;
    println!("| DTLS interop case | result |\n|---|---|");
    for (name, case) in &cases {
        match case() {
            Ok(detail) => println!("| {name} | PASS ({detail}) |"),
            Err(e) => {
                failed += 1;
                println!("| {name} | FAIL: {e} |");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "dtls-openssl: {} passed, {failed} failed",
        cases.len() - failed
    );
    if failed > 0 {
        Err(format!("{failed} DTLS interop case(s) failed"))
    } else {
        Ok(())
    }
}
