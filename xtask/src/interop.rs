//! `cargo xtask interop [--only SUBSTRING]` (`--only control`: the cases without ferrtc): ferrtc's WHIP examples against real WebRTC
//! stacks (headless Chromium, aiortc, @roamhq/wrtc, werift) and against each other, data
//! channels only, each case inside its own loopback-only network namespace.
//!
//! Steps:
//! 1. installs what is missing, idempotently: Debian `chromium` and `coturn`; a Python venv
//!    at `target/interop/venv` with aiortc and aiohttp; an npm project at
//!    `target/interop/node` from `xtask/scripts/interop/package.json` (@roamhq/wrtc, werift,
//!    playwright-core; Chromium is Debian's, playwright never downloads one);
//! 2. builds `cargo build --release -p ferrtc --examples` once, outside the namespaces (if
//!    that fails, the ferrtc cases fail with the reason and the others still run);
//! 3. runs every case as `unshare --net --pid --fork --kill-child --mount-proc` around this
//!    same binary (`xtask interop --inside CASE`), so the case sees only `lo` and every
//!    process it starts (browsers included) dies with it; the inner runner starts coturn
//!    when the case relays, then the WHIP server (waiting for its `listening on …` line),
//!    then the client, and reads the client's JSON result line. 60 s per case.
//! 4. prints one line per case and a matrix (servers × clients), writes `docs/interop.md`
//!    on a full run, and fails if any case failed.
//!
//! The peers and the test protocol they all follow are in `xtask/scripts/interop/`
//! (README.md there). Logs of each case: `target/interop/logs/<case>/`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::util;

/// Budget of one case inside its namespace (server start, client run).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// The outer limit: the case budget plus namespace and coturn start-up.
const OUTER_TIMEOUT: Duration = Duration::from_secs(80);
/// The TURN server every relay case uses, inside its own namespace.
const TURN_URL: &str = "turn:127.0.0.1:3478";
const TURN_USER: &str = "test";
const TURN_PASS: &str = "test";

/// Self-check sabotages (FERRTC_SELFCHECK) the interop cases apply: the aiortc peer missing,
/// the `--relay` client started without `--relay`, the relay client's TURN password wrong.
const INTEROP_SABOTAGES: &[&str] = &[
    "missing:aiortc",
    "interop-relay-not-relay",
    "turn-wrong-password",
];

/// The Python packages of the aiortc peer (pinned to the minor versions tested).
const PIP_PACKAGES: &[&str] = &["aiortc==1.16.*", "aiohttp==3.*"];

/// A WebRTC implementation that can act as WHIP client and as WHIP server.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Peer {
    Ferrtc,
    Chromium,
    Aiortc,
    Wrtc,
    Werift,
}

const PEERS: [Peer; 5] = [
    Peer::Ferrtc,
    Peer::Chromium,
    Peer::Aiortc,
    Peer::Wrtc,
    Peer::Werift,
];

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Ferrtc => "ferrtc",
            Peer::Chromium => "chromium",
            Peer::Aiortc => "aiortc",
            Peer::Wrtc => "wrtc",
            Peer::Werift => "werift",
        }
    }
}

/// One interop case: `client` runs the client sequence against `server`'s WHIP endpoint.
#[derive(Clone, Copy, Debug)]
struct Case {
    server: Peer,
    client: Peer,
    /// The client uses iceTransportPolicy relay through coturn; the server is started with
    /// the same TURN server (policy all).
    relay: bool,
}

impl Case {
    fn name(&self) -> String {
        if self.relay {
            format!(
                "{}-server+turn <- {}-client --relay",
                self.server.name(),
                self.client.name()
            )
        } else {
            format!(
                "{}-server <- {}-client",
                self.server.name(),
                self.client.name()
            )
        }
    }

    fn slug(&self) -> String {
        format!(
            "{}-server-{}-client{}",
            self.server.name(),
            self.client.name(),
            if self.relay { "-relay" } else { "" }
        )
    }

    fn uses_ferrtc(&self) -> bool {
        self.server == Peer::Ferrtc || self.client == Peer::Ferrtc
    }

    /// A control case shows the harness and the foreign peers are right when a ferrtc
    /// case fails.
    fn is_control(&self) -> bool {
        !self.uses_ferrtc()
    }

    fn what(&self) -> String {
        let mut s = format!(
            "{} offers (WHIP client), {} answers (WHIP server)",
            self.client.name(),
            self.server.name()
        );
        if self.relay {
            s.push_str("; client iceTransportPolicy relay through coturn");
        }
        if self.is_control() {
            s.push_str("; control case");
        }
        s
    }
}

/// Every case of the matrix, in run order.
fn cases() -> Vec<Case> {
    use Peer::*;
    let c = |server, client, relay| Case {
        server,
        client,
        relay,
    };
    vec![
        // Control row first: the foreign peers against each other, every one in both roles.
        c(Wrtc, Aiortc, false),
        c(Aiortc, Chromium, false),
        c(Werift, Wrtc, false),
        c(Chromium, Werift, false),
        c(Aiortc, Aiortc, true),
        // ferrtc as WHIP server.
        c(Ferrtc, Chromium, false),
        c(Ferrtc, Aiortc, false),
        c(Ferrtc, Wrtc, false),
        c(Ferrtc, Werift, false),
        c(Ferrtc, Ferrtc, false),
        // ferrtc as WHIP client.
        c(Aiortc, Ferrtc, false),
        c(Wrtc, Ferrtc, false),
        c(Chromium, Ferrtc, false),
        c(Werift, Ferrtc, false),
        // Relayed through a loopback coturn, both directions with aiortc.
        c(Ferrtc, Aiortc, true),
        c(Aiortc, Ferrtc, true),
    ]
}

/// Paths of the installed peers.
struct Paths {
    root: PathBuf,
    interop: PathBuf,
    scripts: PathBuf,
    python: PathBuf,
    node_dir: PathBuf,
    examples: PathBuf,
}

impl Paths {
    fn new() -> Paths {
        let root = util::root();
        let interop = root.join("target/interop");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        Paths {
            scripts: root.join("xtask/scripts/interop"),
            python: interop.join("venv/bin/python"),
            node_dir: interop.join("node"),
            examples: target.join("release/examples"),
            interop,
            root,
        }
    }

    fn logs(&self, case: &Case) -> PathBuf {
        self.interop.join("logs").join(case.slug())
    }

    /// The command line that runs `peer` in `role` ("client" or "server").
    fn command(&self, peer: Peer, role: &str) -> (PathBuf, Vec<String>) {
        let script = |name: &str| self.scripts.join(name).to_string_lossy().into_owned();
        match peer {
            Peer::Ferrtc => (self.examples.join(format!("whip-{role}")), vec![]),
            Peer::Aiortc => (
                util::tool("aiortc", self.python.clone()),
                vec![script("aiortc_peer.py"), role.into()],
            ),
            Peer::Wrtc => ("node".into(), vec![script("wrtc_peer.mjs"), role.into()]),
            Peer::Werift => ("node".into(), vec![script("werift_peer.mjs"), role.into()]),
            Peer::Chromium => (
                "node".into(),
                vec![script("chromium_peer.mjs"), role.into()],
            ),
        }
    }
}

/// What one case gave.
struct Outcome {
    case: Case,
    ok: bool,
    seconds: f64,
    /// The failure reason, or notes on a pass (capped sizes…).
    detail: String,
}

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--inside") {
        let name = args.get(1).ok_or("--inside needs a case name")?;
        return inside(name);
    }
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => only = Some(it.next().ok_or("--only needs a substring")?.clone()),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: interop [--only SUBSTRING])"
                ))
            }
        }
    }
    // The self-check sabotages this row knows; they are applied inside the case namespaces
    // (which inherit the environment), announced here where the self-check reads the output.
    for s in INTEROP_SABOTAGES {
        util::sabotage(s);
    }
    let started = Instant::now();
    let paths = Paths::new();
    let selected: Vec<Case> = cases()
        .into_iter()
        .filter(|c| {
            only.as_ref()
                .is_none_or(|s| c.name().contains(s.as_str()) || (s == "control" && c.is_control()))
        })
        .collect();
    if selected.is_empty() {
        return Err(format!("no case matches {:?}", only.unwrap_or_default()));
    }
    install(&paths)?;
    let ferrtc = if selected.iter().any(Case::uses_ferrtc) {
        build_ferrtc(&paths)
    } else {
        Ok(())
    };
    if let Err(e) = &ferrtc {
        eprintln!("interop: the ferrtc cases will fail: {e}");
    }

    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut outcomes = Vec::new();
    for case in selected {
        let outcome = match (&ferrtc, case.uses_ferrtc()) {
            (Err(e), true) => Outcome {
                case,
                ok: false,
                seconds: 0.0,
                detail: format!("ferrtc examples not built: {e}"),
            },
            _ => run_outside(&exe, &paths, case),
        };
        let line = if outcome.ok {
            format!(
                "PASS {}  ({:.1} s){}",
                case.name(),
                outcome.seconds,
                if outcome.detail.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", outcome.detail)
                }
            )
        } else {
            format!(
                "FAIL {}  ({:.1} s): {}\n     logs: {}",
                case.name(),
                outcome.seconds,
                outcome.detail,
                paths.logs(&case).display()
            )
        };
        println!("{line}");
        let _ = std::io::stdout().flush();
        outcomes.push(outcome);
    }

    let matrix = matrix(&outcomes);
    println!("\n{matrix}");
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    println!(
        "{} passed, {} failed  ({:.0} s in all)",
        outcomes.len() - failed,
        failed,
        started.elapsed().as_secs_f64()
    );
    if only.is_none() {
        let mut doc = report(&paths, &outcomes, &matrix, &ferrtc);
        let path = paths.root.join("docs/interop.md");
        // The media sections below the marker are written by hand (interop-media and
        // interop-media-node): a rewrite keeps them.
        if let Ok(old) = std::fs::read_to_string(&path) {
            if let Some(at) = old.find(HAND_WRITTEN) {
                doc = format!("{}\n{}", doc.trim_end(), &old[at..]);
            }
        }
        std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    } else {
        println!("docs/interop.md not rewritten (--only)");
    }
    if failed > 0 {
        Err(format!("{failed} interop case(s) failed"))
    } else {
        Ok(())
    }
}

/// Installs what is missing; quick when everything is there.
fn install(paths: &Paths) -> Result<(), String> {
    util::ensure_apt("chromium", &["chromium"])?;
    util::ensure_apt("turnserver", &["coturn"])?;
    for tool in ["node", "npm", "python3", "unshare", "ip"] {
        if !util::have(tool) {
            return Err(format!("`{tool}` is not installed"));
        }
    }
    std::fs::create_dir_all(&paths.interop)
        .map_err(|e| format!("{}: {e}", paths.interop.display()))?;

    ensure_aiortc_venv(&paths.interop)?;

    // npm project: reinstall when package.json changed since the last install.
    let want = std::fs::read_to_string(paths.scripts.join("package.json"))
        .map_err(|e| format!("xtask/scripts/interop/package.json: {e}"))?;
    let stamp = paths.node_dir.join(".installed-package.json");
    let have = std::fs::read_to_string(&stamp).unwrap_or_default();
    let complete = ["@roamhq/wrtc", "werift", "playwright-core"]
        .iter()
        .all(|p| {
            paths
                .node_dir
                .join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        });
    if have != want || !complete {
        std::fs::create_dir_all(&paths.node_dir).map_err(|e| e.to_string())?;
        std::fs::write(paths.node_dir.join("package.json"), &want).map_err(|e| e.to_string())?;
        eprintln!("$ npm install (in {})", paths.node_dir.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&paths.node_dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !status.success() {
            return Err(format!("npm install failed ({status})"));
        }
        std::fs::write(&stamp, &want).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The Python venv with aiortc and aiohttp at `INTEROP/venv`, created and filled with pip when
/// `import aiortc, aiohttp` fails there; returns its python. The aiortc rows of
/// `interop-media` use it too.
pub(crate) fn ensure_aiortc_venv(interop: &Path) -> Result<PathBuf, String> {
    let venv = interop.join("venv");
    let python = venv.join("bin/python");
    let importable = || {
        Command::new(&python)
            .args(["-c", "import aiortc, aiohttp"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !importable() {
        if !python.exists() {
            util::run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
        }
        let pip = venv.join("bin/pip").to_string_lossy().into_owned();
        let mut args = vec!["install", "-q", "--disable-pip-version-check"];
        args.extend_from_slice(PIP_PACKAGES);
        util::run(&pip, &args)?;
        if !importable() {
            return Err("aiortc still not importable after pip install".into());
        }
    }
    Ok(python)
}

/// `cargo build --release -p ferrtc --examples`; the reason when it fails.
fn build_ferrtc(paths: &Paths) -> Result<(), String> {
    let logs = paths.interop.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log_path = logs.join("ferrtc-build.log");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "$ cargo build --release -p ferrtc --examples  (log: {})",
        log_path.display()
    );
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "ferrtc", "--examples"])
        .current_dir(&paths.root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::write(&log_path, &text);
    if !out.status.success() {
        let first_error = text
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("see the log")
            .to_string();
        return Err(format!(
            "`cargo build --release -p ferrtc --examples` failed: {first_error} (log: {})",
            log_path.display()
        ));
    }
    for bin in ["whip-server", "whip-client"] {
        if !paths.examples.join(bin).exists() {
            return Err(format!(
                "{} missing after the build",
                paths.examples.join(bin).display()
            ));
        }
    }
    Ok(())
}

/// Runs one case in a fresh loopback-only network namespace (and PID namespace, so that
/// nothing it started survives it).
fn run_outside(exe: &Path, paths: &Paths, case: Case) -> Outcome {
    let start = Instant::now();
    let fail = |detail: String| Outcome {
        case,
        ok: false,
        seconds: start.elapsed().as_secs_f64(),
        detail,
    };
    let logs = paths.logs(&case);
    let _ = std::fs::remove_dir_all(&logs);
    if let Err(e) = std::fs::create_dir_all(&logs) {
        return fail(format!("{}: {e}", logs.display()));
    }
    let stderr = match std::fs::File::create(logs.join("runner.log")) {
        Ok(f) => f,
        Err(e) => return fail(e.to_string()),
    };
    let mut child = match Command::new("unshare")
        .args([
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$@\"",
            "lo-only",
        ])
        .arg(exe)
        .args(["interop", "--inside", &case.name()])
        .current_dir(&paths.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot run unshare: {e}")),
    };
    let lines = read_lines(&mut child);
    let mut result: Option<serde_json::Value> = None;
    let deadline = start + OUTER_TIMEOUT;
    loop {
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            return fail(format!(
                "no result after {} s (killed)",
                OUTER_TIMEOUT.as_secs()
            ));
        }
        match lines.recv_timeout(deadline - now) {
            Ok(line) => {
                if let Some(json) = line.strip_prefix("RESULT ") {
                    result = serde_json::from_str(json).ok();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait();
    let seconds = start.elapsed().as_secs_f64();
    let Some(r) = result else {
        let tail = tail(&logs.join("runner.log"), 5);
        return fail(format!(
            "the namespace runner gave no result ({}){}",
            status.map(|s| s.to_string()).unwrap_or_default(),
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {tail}")
            }
        ));
    };
    let ok = r["ok"].as_bool() == Some(true);
    let detail = r["detail"].as_str().unwrap_or_default().to_string();
    Outcome {
        case,
        ok,
        seconds,
        detail,
    }
}

/// Lines of the child's stdout, read on a thread.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `n` non-empty lines of a file, joined with " | ".
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Inside the namespace: coturn if relayed, the server, the client; prints `RESULT {json}`.
fn inside(name: &str) -> Result<(), String> {
    let case = cases()
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("no case named {name:?}"))?;
    let (ok, detail) = match inside_case(case) {
        Ok(detail) => (true, detail),
        Err(e) => (false, e),
    };
    let line = serde_json::json!({ "ok": ok, "detail": detail });
    println!("RESULT {line}");
    let _ = std::io::stdout().flush();
    // Everything we started dies with this PID namespace when we return.
    Ok(())
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        kill(&mut self.0);
    }
}

fn spawn(program: &Path, args: &[String], log: &Path, paths: &Paths) -> Result<Proc, String> {
    let err = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    eprintln!("$ {} {}", program.display(), args.join(" "));
    Command::new(program)
        .args(args)
        .current_dir(&paths.root)
        .env("FERRTC_INTEROP_NODE", &paths.node_dir)
        .env("PYTHONUNBUFFERED", "1")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map(Proc)
        .map_err(|e| format!("cannot start {}: {e}", program.display()))
}

/// The TURN arguments of a peer; the client's password is wrong under the self-check
/// sabotage `turn-wrong-password`.
fn turn_args(client: bool) -> Vec<String> {
    let pass = if client && util::sabotage("turn-wrong-password") {
        "wrong"
    } else {
        TURN_PASS
    };
    vec![
        "--turn".into(),
        TURN_URL.into(),
        "--turn-user".into(),
        TURN_USER.into(),
        "--turn-pass".into(),
        pass.into(),
    ]
}

fn inside_case(case: Case) -> Result<String, String> {
    let start = Instant::now();
    let paths = Paths::new();
    let logs = paths.logs(&case);
    let index = cases()
        .iter()
        .position(|c| c.name() == case.name())
        .unwrap_or(0);
    let port = 8100 + index as u16;

    let _coturn = if case.relay {
        Some(start_coturn(&logs)?)
    } else {
        None
    };

    // The server, until it says it is listening.
    let (program, mut args) = paths.command(case.server, "server");
    args.extend(["--port".into(), port.to_string()]);
    if case.relay {
        args.extend(turn_args(false));
    }
    let server_log = logs.join("server.log");
    let mut server = spawn(&program, &args, &server_log, &paths)?;
    let server_lines = read_lines(&mut server.0);
    let url = format!("http://127.0.0.1:{port}/whip");
    loop {
        let left = CASE_TIMEOUT
            .saturating_sub(start.elapsed())
            .min(Duration::from_secs(30));
        match server_lines.recv_timeout(left) {
            Ok(line) if line.contains(&format!("listening on {url}")) => break,
            Ok(_) => {}
            Err(e) => {
                if e == mpsc::RecvTimeoutError::Disconnected {
                    // stdout closed: the server is exiting; give it a moment to be reaped.
                    let t = Instant::now();
                    while server.0.try_wait().ok().flatten().is_none()
                        && t.elapsed() < Duration::from_secs(2)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                let status = server.0.try_wait().ok().flatten();
                return Err(format!(
                    "{} server {}: {}",
                    case.server.name(),
                    match status {
                        Some(s) => format!("exited ({s}) before listening"),
                        None => format!("did not print `listening on {url}` in time"),
                    },
                    tail(&server_log, 3)
                ));
            }
        }
    }
    eprintln!("server ready after {:.1} s", start.elapsed().as_secs_f64());
    probe_whip_http(port).map_err(|e| format!("{} WHIP endpoint: {e}", case.server.name()))?;

    // The client, with what is left of the budget.
    let (program, mut args) = paths.command(case.client, "client");
    args.push(url);
    if case.relay {
        // Self-check: without --relay the client offers host candidates; the case must fail.
        if !util::sabotage("interop-relay-not-relay") {
            args.push("--relay".into());
        }
        args.extend(turn_args(true));
    }
    let client_log = logs.join("client.log");
    let mut client = spawn(&program, &args, &client_log, &paths)?;
    let client_lines = read_lines(&mut client.0);
    let mut json: Option<serde_json::Value> = None;
    let mut last_line = String::new();
    let deadline = start + CASE_TIMEOUT;
    let finished = loop {
        let now = Instant::now();
        if now >= deadline {
            break false;
        }
        match client_lines.recv_timeout(deadline - now) {
            Ok(line) => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) {
                    if v.get("ok").is_some() {
                        json = Some(v);
                    }
                }
                last_line = line;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break false,
            Err(mpsc::RecvTimeoutError::Disconnected) => break true,
        }
    };
    if !finished {
        return Err(format!(
            "timeout: the {} client gave no result in {} s (last client log: {})",
            case.client.name(),
            CASE_TIMEOUT.as_secs(),
            tail(&client_log, 2)
        ));
    }
    let status = client.0.wait().map_err(|e| e.to_string())?;
    let server_died = server.0.try_wait().ok().flatten();
    let died = server_died
        .map(|s| format!(" (the server had exited: {s})"))
        .unwrap_or_default();
    let Some(v) = json else {
        return Err(format!(
            "the {} client printed no JSON result (status {status}, last stdout {last_line:?}, log: {}){died}",
            case.client.name(),
            tail(&client_log, 2)
        ));
    };
    if v["ok"].as_bool() != Some(true) {
        return Err(format!(
            "{}{died}",
            v["error"].as_str().unwrap_or("client reported failure")
        ));
    }
    if !status.success() {
        return Err(format!("client printed ok but exited with {status}"));
    }
    if v["messages"].as_u64() != Some(100) {
        return Err(format!("client result without 100 messages: {v}"));
    }
    if server_died.is_some() {
        return Err(format!("client passed, but{died}"));
    }
    let mut notes = Vec::new();
    if case.relay {
        // The client's own report of the candidate types it offered (optional field).
        match v["offer_candidates"].as_array() {
            Some(types) if !types.is_empty() => {
                if types.iter().any(|t| t.as_str() != Some("relay")) {
                    return Err(format!(
                        "the --relay client offered non-relay candidates: {}",
                        v["offer_candidates"]
                    ));
                }
                notes.push(format!(
                    "client offered {} relay candidate(s) only",
                    types.len()
                ));
            }
            // Every client of xtask/scripts/interop and whip-client reports it: a relay case
            // whose offer cannot be checked is not a relay case that passed.
            _ => {
                return Err(format!(
                    "the --relay client reported no offer_candidates, so the relay-only offer is unverified: {v}"
                ))
            }
        }
    }
    if let Some(c) = v["capped"].as_str() {
        notes.push(c.to_string());
    }
    if let Some(s) = v["seconds"].as_f64() {
        notes.push(format!("client {s:.2} s"));
    }
    Ok(notes.join("; "))
}

/// One HTTP/1.1 request with `Connection: close`: the status and the lower-cased headers.
fn http_request(port: u16, head: &str, body: &str) -> Result<(u16, Vec<(String, String)>), String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!(
        "{head}\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:9\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Until the server closes, times out, or the head is complete and it keeps quiet.
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) if buf.windows(4).any(|w| w == b"\r\n\r\n") => break,
            Err(e) => return Err(format!("no answer: {e}")),
        }
        if buf.len() > 1 << 16 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers))
}

/// The WHIP endpoint's HTTP behaviour the protocol asks for besides POST/DELETE (those are
/// checked by every client): a CORS preflight answered with 204 and the CORS headers, and
/// 415 for a body that is not `application/sdp`.
fn probe_whip_http(port: u16) -> Result<(), String> {
    let (status, headers) = http_request(
        port,
        "OPTIONS /whip HTTP/1.1\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type",
        "",
    )
    .map_err(|e| format!("OPTIONS /whip: {e}"))?;
    let get = |name: &str| {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if status != 204 {
        return Err(format!("OPTIONS /whip: status {status}, expected 204"));
    }
    if get("access-control-allow-origin") != "*" {
        return Err(format!(
            "OPTIONS /whip: Access-Control-Allow-Origin {:?}, expected \"*\"",
            get("access-control-allow-origin")
        ));
    }
    let methods = get("access-control-allow-methods");
    for m in ["post", "delete", "patch", "options"] {
        if !methods.contains(m) {
            return Err(format!(
                "OPTIONS /whip: Access-Control-Allow-Methods {methods:?} lacks {}",
                m.to_ascii_uppercase()
            ));
        }
    }
    let allowed = get("access-control-allow-headers");
    for h in ["content-type", "authorization", "if-match"] {
        if !allowed.contains(h) && allowed != "*" {
            return Err(format!(
                "OPTIONS /whip: Access-Control-Allow-Headers {allowed:?} lacks {h}"
            ));
        }
    }
    let (status, _) = http_request(
        port,
        "POST /whip HTTP/1.1\r\nContent-Type: text/plain",
        "not an offer",
    )
    .map_err(|e| format!("POST /whip with text/plain: {e}"))?;
    if status != 415 {
        return Err(format!(
            "POST /whip with Content-Type text/plain: status {status}, expected 415"
        ));
    }
    Ok(())
}

/// A loopback coturn on 127.0.0.1:3478 with user test/test (like `coturn.rs` starts it).
fn start_coturn(logs: &Path) -> Result<Proc, String> {
    let d = logs.to_string_lossy();
    let args: Vec<String> = [
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        "--listening-port=3478",
        "--min-port=49160",
        "--max-port=49200",
        "--lt-cred-mech",
        &format!("--user={TURN_USER}:{TURN_PASS}"),
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = std::fs::File::create(logs.join("coturn.log")).map_err(|e| e.to_string())?;
    let child = Command::new("turnserver")
        .args(&args)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start turnserver: {e}"))?;
    let proc = Proc(child);
    let start = Instant::now();
    while std::net::TcpStream::connect("127.0.0.1:3478").is_err() {
        if start.elapsed() > Duration::from_secs(15) {
            return Err(format!(
                "coturn did not listen on 127.0.0.1:3478: {}",
                tail(&logs.join("coturn.log"), 3)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(proc)
}

/// The servers × clients matrix as a Markdown table.
fn matrix(outcomes: &[Outcome]) -> String {
    let mut cells: BTreeMap<(Peer, Peer), Vec<String>> = BTreeMap::new();
    for o in outcomes {
        let r = if o.ok { "PASS" } else { "FAIL" };
        let cell = if o.case.relay {
            format!("relay {r}")
        } else {
            r.to_string()
        };
        cells
            .entry((o.case.server, o.case.client))
            .or_default()
            .push(cell);
    }
    let mut s = String::from("| server \\ client |");
    for c in PEERS {
        s.push_str(&format!(" {} |", c.name()));
    }
    s.push_str("\n|---|");
    for _ in PEERS {
        s.push_str("---|");
    }
    for server in PEERS {
        s.push_str(&format!("\n| **{}** |", server.name()));
        for client in PEERS {
            let cell = cells
                .get(&(server, client))
                .map(|v| v.join(", "))
                .unwrap_or_else(|| "·".into());
            s.push_str(&format!(" {cell} |"));
        }
    }
    s.push('\n');
    s
}

/// Output of a command, trimmed; `?` when it cannot run.
fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

fn npm_version(paths: &Paths, package: &str) -> String {
    let path = paths
        .node_dir
        .join("node_modules")
        .join(package)
        .join("package.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(String::from))
        .unwrap_or_else(|| "?".into())
}

/// Where docs/interop.md's hand-written part starts; everything from it on survives a rewrite.
const HAND_WRITTEN: &str = "<!-- hand-written below: kept by `cargo xtask interop` -->";

/// docs/interop.md.
fn report(
    paths: &Paths,
    outcomes: &[Outcome],
    matrix: &str,
    ferrtc: &Result<(), String>,
) -> String {
    let date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = output(
        "git",
        &[
            "-C",
            &paths.root.to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let py = output(
        &paths.python.to_string_lossy(),
        &[
            "-c",
            "import aiortc, aioice, aiohttp; print(aiortc.__version__, aioice.__version__, aiohttp.__version__)",
        ],
    );
    let mut py = py.split_whitespace();
    let (aiortc, aioice, aiohttp) = (
        py.next().unwrap_or("?").to_string(),
        py.next().unwrap_or("?").to_string(),
        py.next().unwrap_or("?").to_string(),
    );
    let chromium = output("chromium", &["--version"]);
    let coturn = output("dpkg-query", &["-W", "-f=${Version}", "coturn"]);
    let node = output("node", &["--version"]);
    let passed = outcomes.iter().filter(|o| o.ok).count();

    let mut s = String::new();
    s.push_str("# Interoperability: ferrtc against real WebRTC stacks\n\n");
    s.push_str(&format!(
        "Written by `cargo xtask interop` on {date} at commit `{commit}` (plus the working tree). \
         {passed} of {} cases passed.\n\n",
        outcomes.len()
    ));
    if let Err(e) = ferrtc {
        s.push_str(&format!("**The ferrtc examples did not build:** {e}\n\n"));
    }
    s.push_str("## Matrix\n\nRows are the WHIP server (the answerer), columns the WHIP client (the offerer). \
                `relay` is the same pair with the client on iceTransportPolicy relay through coturn.\n\n");
    s.push_str(matrix);
    s.push_str("\n## Cases\n\n| case | what | result | time | notes |\n|---|---|---|---|---|\n");
    for o in outcomes {
        s.push_str(&format!(
            "| `{}` | {} | {} | {:.1} s | {} |\n",
            o.case.name(),
            o.case.what(),
            if o.ok { "PASS" } else { "FAIL" },
            o.seconds,
            o.detail.replace('|', "\\|").replace('\n', " ")
        ));
    }
    s.push_str(&format!(
        "\n## Peers\n\n\
         | peer | version | driven by |\n|---|---|---|\n\
         | ferrtc | `{commit}` | `target/release/examples/whip-server`, `whip-client` |\n\
         | Chromium (Google libwebrtc) | {chromium} (Debian) | `xtask/scripts/interop/chromium_peer.mjs`, playwright-core {} |\n\
         | aiortc | aiortc {aiortc}, aioice {aioice}, aiohttp {aiohttp} | `xtask/scripts/interop/aiortc_peer.py` |\n\
         | @roamhq/wrtc (libwebrtc for Node) | {} | `xtask/scripts/interop/wrtc_peer.mjs` |\n\
         | werift | {} | `xtask/scripts/interop/werift_peer.mjs` |\n\
         | coturn | {coturn} (Debian) | TURN server of the relay cases |\n\
         | Node.js | {node} | |\n",
        npm_version(paths, "playwright-core"),
        npm_version(paths, "@roamhq/wrtc"),
        npm_version(paths, "werift"),
    ));
    s.push_str(
        "\n## What each case checks\n\n\
Each case runs in its own network namespace that has only `lo` (and its own PID namespace, so \
nothing survives it), with a 60 s budget. The server is started with `--port N` and must print \
`listening on http://127.0.0.1:N/whip`; then the client runs against that URL and prints one \
JSON line. The protocol is the same for every peer (`xtask/scripts/interop/README.md`):\n\n\
- WHIP (RFC 9725): the client POSTs a complete (non-trickle) offer with `Content-Type: \
application/sdp`; the server answers `201 Created` with a complete answer and `Location`; at \
the end the client DELETEs the Location (200). Before the client starts, the harness \
checks that the server answers a CORS preflight (`OPTIONS /whip`) with 204, \
`Access-Control-Allow-Origin: *` and the methods and headers of the protocol, and a POST \
with `Content-Type: text/plain` with 415. The Chromium client makes these requests from a page, so the \
server's CORS answers (including `Access-Control-Expose-Headers: Location`) are exercised.\n\
- Before its offer the client creates `echo` (ordered, reliable), `negotiated` \
(`{negotiated: true, id: 7}`, which the server also creates before answering) and `unordered` \
(`{ordered: false, maxRetransmits: 0}`).\n\
- 1: on `echo`, 100 messages of sizes from 1 byte to 256 KiB (geometric: \
round(262144^(i/99))), even ones text, odd ones binary, sent with bufferedAmount flow control \
(at most ~1 MiB queued); every echo must come back in order, the same kind, the same bytes. \
If the server's `a=max-message-size` is below 262144 the sizes are capped (noted in the case). \
The ferrtc client first waits for one echo (`hello`): @roamhq/wrtc 0.10 as the server delivers \
messages that arrive while its JS channel object is being created out of order (its own log \
showed 0, 1, 4, 2, 3, … in about one run in three), which Chromium on the same libwebrtc does \
not.\n\
- 2: after `echo` is open the client creates `second` (no renegotiation) and expects its echo.\n\
- 3: `negotiated` echoes `negotiated-hello`.\n\
- 4: `unordered` opens.\n\
- The relay cases start coturn on 127.0.0.1:3478 (user test/test, realm example.org) in the \
namespace; the client gathers only relayed candidates, the server is given the same TURN \
server.\n\n\
The control cases (no ferrtc) show that the harness and the foreign peers work, so a failing \
ferrtc case is ferrtc's.\n\n\
## How to reproduce\n\n\
```sh\n\
cargo xtask interop                  # installs what is missing, runs every case, rewrites this file\n\
cargo xtask interop --only ferrtc-server   # a subset (this file is not rewritten)\n\
```\n\n\
It needs root (for `unshare`) and the Debian, PyPI and npm registries for the first install \
(Chromium and coturn from apt, `target/interop/venv`, `target/interop/node`). Logs of every \
case: `target/interop/logs/<case>/{server,client,coturn,runner}.log`. \
`cargo xtask conformance` runs it too.\n",
    );
    s
}
