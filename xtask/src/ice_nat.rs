//! `cargo xtask ice-nat`: two ferrtc ICE agents (the `ice_udp_peer` example) behind real Linux
//! NATs in network namespaces, with coturn on the "internet" side, through the case matrix:
//!
//! | case | NAT A / NAT B | agents | expected |
//! |---|---|---|---|
//! | eim-host-srflx | EIM / EIM | STUN only | connects on a direct pair (host -> srflx/prflx) |
//! | eim-direct-over-turn | EIM / EIM | STUN + TURN | connects on a direct pair, not the relay |
//! | relay-only | EIM / EIM | STUN + TURN, relay-only policy | connects relay <-> relay |
//! | relay-only-tls | EIM / EIM | STUN + TURN over TLS, relay-only | connects relay <-> relay |
//! | symmetric-no-turn | symmetric / symmetric | STUN only | both agents fail |
//! | symmetric-turn | symmetric / symmetric | STUN + TURN | connects through a relay |
//! | symmetric-turn-tcp | symmetric / symmetric | STUN + TURN over TCP | connects through a relay |
//!
//! TURN over TLS uses a certificate for `turn.ferrtc.test` (and the server's IP) generated at
//! run time with the `openssl` command; the agents trust it as an extra CA and check the name.
//!
//! Topology (every namespace named `ferrtcice-*`; the addresses exist only inside them):
//!
//! ```text
//! ferrtcice-a    10.10.1.2 -- ferrtcice-nata (NAT, wan 198.51.100.11) --+
//! ferrtcice-b    10.10.2.2 -- ferrtcice-natb (NAT, wan 198.51.100.12) --+-- ferrtcice-inet br0 198.51.100.1
//!                                                                       +-- ferrtcice-srv 198.51.100.20 (coturn)
//! ```
//!
//! How the NATs behave (nftables in the NAT namespaces):
//! - endpoint-independent mapping: `snat to WAN` (Linux keeps the source port, so one mapping
//!   for every destination; filtering is port-restricted through conntrack);
//! - symmetric (address and port dependent mapping): `snat to WAN fully-random`;
//! - unsolicited inbound packets (conntrack state `new` arriving on the WAN side) are dropped
//!   in the forward and input hooks, i.e. before conntrack confirms an entry for them: a
//!   confirmed inbound entry would make the later outbound packet of the same 5-tuple get a new
//!   port and break hole punching when the remote's check arrives first.
//!
//! The NATs and the server default-route into the "internet" namespace, which does not
//! forward: packets to unknown destinations (the peers' private host candidates) vanish there
//! instead of failing with "network unreachable" (coturn stops relaying for an allocation after
//! one such send error).
//!
//! Candidates are exchanged by this command, over the two agents' stdio. Everything is torn
//! down at the end, also on failure; leftovers of an interrupted run are removed at the start,
//! and a detached watchdog (this binary with `--reap-after PID`) tears down if we are killed
//! (ctrl-c) before we could.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util;

/// Prefix of every namespace this command creates (and removes).
const PREFIX: &str = "ferrtcice-";
const NS_A: &str = "ferrtcice-a";
const NS_B: &str = "ferrtcice-b";
const NS_NAT_A: &str = "ferrtcice-nata";
const NS_NAT_B: &str = "ferrtcice-natb";
const NS_INET: &str = "ferrtcice-inet";
const NS_SRV: &str = "ferrtcice-srv";
const ALL_NS: [&str; 6] = [NS_A, NS_B, NS_NAT_A, NS_NAT_B, NS_INET, NS_SRV];

const PEER_A: &str = "10.10.1.2";
const PEER_B: &str = "10.10.2.2";
const WAN_A: &str = "198.51.100.11";
const WAN_B: &str = "198.51.100.12";
const INET: &str = "198.51.100.1";
const SERVER: &str = "198.51.100.20";
const TURN_PORT: u16 = 3478;
const TURNS_PORT: u16 = 5349;
/// The name in coturn's certificate, checked by the agents.
const TURN_NAME: &str = "turn.ferrtc.test";

/// Longest a case may run (the agents have their own, shorter, timeouts).
const CASE_TIMEOUT: Duration = Duration::from_secs(40);

/// NAT behaviour of one NAT namespace.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Nat {
    /// Endpoint-independent mapping (port-preserving SNAT).
    Eim,
    /// Address- and port-dependent mapping (random port per 5-tuple).
    Symmetric,
}

impl Nat {
    fn name(self) -> &'static str {
        match self {
            Nat::Eim => "EIM",
            Nat::Symmetric => "symmetric",
        }
    }
}

/// What a case expects of the two agents.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Both connect and exchange data on a pair with no relayed candidate on either side.
    Direct,
    /// Both connect and at least one side's selected pair uses a relayed candidate.
    ViaRelay,
    /// Both connect with relayed candidates on both ends of both sides' selected pairs.
    RelayOnly,
    /// Neither connects.
    Fail,
}

struct Case {
    name: &'static str,
    nat: (Nat, Nat),
    turn: bool,
    /// How the agents reach the TURN server (RFC 8656 §3.1; the relayed address is UDP).
    via: Via,
    relay_only: bool,
    expect: Expect,
}

/// Transport from the agents to the TURN server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    Udp,
    Tcp,
    Tls,
}

const CASES: &[Case] = &[
    Case {
        name: "eim-host-srflx",
        nat: (Nat::Eim, Nat::Eim),
        turn: false,
        via: Via::Udp,
        relay_only: false,
        expect: Expect::Direct,
    },
    Case {
        name: "eim-direct-over-turn",
        nat: (Nat::Eim, Nat::Eim),
        turn: true,
        via: Via::Udp,
        relay_only: false,
        expect: Expect::Direct,
    },
    Case {
        name: "relay-only",
        nat: (Nat::Eim, Nat::Eim),
        turn: true,
        via: Via::Udp,
        relay_only: true,
        expect: Expect::RelayOnly,
    },
    Case {
        name: "relay-only-tls",
        nat: (Nat::Eim, Nat::Eim),
        turn: true,
        via: Via::Tls,
        relay_only: true,
        expect: Expect::RelayOnly,
    },
    Case {
        name: "symmetric-no-turn",
        nat: (Nat::Symmetric, Nat::Symmetric),
        turn: false,
        via: Via::Udp,
        relay_only: false,
        expect: Expect::Fail,
    },
    Case {
        name: "symmetric-turn",
        nat: (Nat::Symmetric, Nat::Symmetric),
        turn: true,
        via: Via::Udp,
        relay_only: false,
        expect: Expect::ViaRelay,
    },
    Case {
        name: "symmetric-turn-tcp",
        nat: (Nat::Symmetric, Nat::Symmetric),
        turn: true,
        via: Via::Tcp,
        relay_only: false,
        expect: Expect::ViaRelay,
    },
];

pub fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--reap-after") {
        return reap_after(args.get(1));
    }
    // `--case NAME` (repeatable): only these cases (the self-check uses it); default all.
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--case" => only.push(it.next().ok_or("--case needs a case name")?.clone()),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: ice-nat [--case NAME]…)"
                ))
            }
        }
    }
    for name in &only {
        if !CASES.iter().any(|c| c.name == name) {
            return Err(format!("no case named `{name}`"));
        }
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Err("network namespaces are not available here".into());
    }
    util::ensure_apt("ip", &["iproute2"])?;
    util::ensure_apt("nft", &["nftables"])?;
    util::ensure_apt("turnserver", &["coturn"])?;
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
        .unwrap_or_else(|_| util::root().join("target"));
    let peer = target.join("debug/examples/ice_udp_peer");

    // Leftovers of an interrupted run go first.
    teardown();
    let mut watchdog = start_watchdog();
    let started = Instant::now();
    let result = run_matrix(&peer, &only);
    teardown();
    if let Some(w) = watchdog.as_mut() {
        let _ = w.kill();
        let _ = w.wait();
    }
    let (lines, failed) = result?;
    println!(
        "ice-nat: {} passed, {} failed ({:.1} s)",
        lines.len() - failed,
        failed,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        Err(format!("{failed} NAT case(s) failed"))
    } else {
        Ok(())
    }
}

/// Runs every case, building the lab anew whenever the NAT modes change. Returns the result
/// lines and the number of failed cases; `Err` only when the lab itself could not be built.
fn run_matrix(peer: &Path, only: &[String]) -> Result<(Vec<String>, usize), String> {
    let mut lines = Vec::new();
    let mut failed = 0;
    let mut lab: Option<Lab> = None;
    // The self-check's sabotage of the negative case: symmetric-no-turn behind EIM NATs,
    // where the agents can connect; the case must then fail.
    let eim_for_symmetric = util::sabotage("nat-eim-for-symmetric");
    for case in CASES {
        if !only.is_empty() && !only.iter().any(|n| n == case.name) {
            continue;
        }
        let nat = if eim_for_symmetric && case.expect == Expect::Fail {
            (Nat::Eim, Nat::Eim)
        } else {
            case.nat
        };
        if lab.as_ref().map(|l| l.nat) != Some(nat) {
            drop(lab.take());
            lab = Some(Lab::up(nat)?);
        }
        let t0 = Instant::now();
        let res = run_case(peer, case);
        let secs = t0.elapsed().as_secs_f64();
        let nat = format!("{}/{}", nat.0.name(), nat.1.name());
        let line = match res {
            Ok(detail) => format!("PASS {:<20} {nat:<19} {secs:>5.1} s  {detail}", case.name),
            Err(e) => {
                failed += 1;
                format!("FAIL {:<20} {nat:<19} {secs:>5.1} s  {e}", case.name)
            }
        };
        println!("{line}");
        lines.push(line);
    }
    drop(lab);
    Ok((lines, failed))
}

/// The namespaces, NATs and coturn; torn down when dropped.
struct Lab {
    nat: (Nat, Nat),
    coturn: Option<Child>,
    dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(c) = self.coturn.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        teardown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Scratch directory of the lab (coturn's database, pid file and log).
fn lab_dir() -> PathBuf {
    std::env::temp_dir().join("ferrtc-ice-nat")
}

impl Lab {
    fn up(nat: (Nat, Nat)) -> Result<Lab, String> {
        let dir = lab_dir();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // From here on a failure drops `lab`, which tears down whatever was built.
        let mut lab = Lab {
            nat,
            coturn: None,
            dir,
        };
        for ns in ALL_NS {
            ip(&["netns", "add", ns])?;
            ns_run(
                ns,
                "sysctl",
                &[
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            )?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        for ns in [NS_NAT_A, NS_NAT_B] {
            ns_run(ns, "sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        }
        // The "internet" bridges the NATs' WAN links and the server but routes nothing.
        ns_run(NS_INET, "sysctl", &["-qw", "net.ipv4.ip_forward=0"])?;
        ip(&["-n", NS_INET, "link", "add", "br0", "type", "bridge"])?;
        veth(NS_A, "eth0", NS_NAT_A, "lan")?;
        veth(NS_B, "eth0", NS_NAT_B, "lan")?;
        veth(NS_NAT_A, "wan", NS_INET, "nata")?;
        veth(NS_NAT_B, "wan", NS_INET, "natb")?;
        veth(NS_SRV, "eth0", NS_INET, "srv")?;
        for port in ["nata", "natb", "srv"] {
            ip(&["-n", NS_INET, "link", "set", port, "master", "br0", "up"])?;
        }
        addr(NS_INET, "br0", &format!("{INET}/24"))?;
        addr(NS_SRV, "eth0", &format!("{SERVER}/24"))?;
        addr(NS_NAT_A, "wan", &format!("{WAN_A}/24"))?;
        addr(NS_NAT_A, "lan", "10.10.1.1/24")?;
        addr(NS_A, "eth0", &format!("{PEER_A}/24"))?;
        addr(NS_NAT_B, "wan", &format!("{WAN_B}/24"))?;
        addr(NS_NAT_B, "lan", "10.10.2.1/24")?;
        addr(NS_B, "eth0", &format!("{PEER_B}/24"))?;
        ip(&["-n", NS_A, "route", "add", "default", "via", "10.10.1.1"])?;
        ip(&["-n", NS_B, "route", "add", "default", "via", "10.10.2.1"])?;
        for ns in [NS_NAT_A, NS_NAT_B, NS_SRV] {
            ip(&["-n", ns, "route", "add", "default", "via", INET])?;
        }
        nat_rules(NS_NAT_A, WAN_A, nat.0)?;
        nat_rules(NS_NAT_B, WAN_B, nat.1)?;
        tls_cert(&lab.dir)?;
        lab.coturn = Some(start_coturn(&lab.dir)?);
        Ok(lab)
    }
}

/// Runs `ip args…`; the error carries its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    quiet("ip", args)
}

/// Runs `program args…` inside namespace `ns`.
fn ns_run(ns: &str, program: &str, args: &[&str]) -> Result<(), String> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    quiet("ip", &all)
}

/// Runs a command with captured output; error with its stderr if it fails.
fn quiet(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A veth pair: `a_dev` in `a`, `b_dev` in `b`.
fn veth(a: &str, a_dev: &str, b: &str, b_dev: &str) -> Result<(), String> {
    ip(&[
        "-n", a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b,
    ])
}

fn addr(ns: &str, dev: &str, cidr: &str) -> Result<(), String> {
    ip(&["-n", ns, "addr", "add", cidr, "dev", dev])?;
    ip(&["-n", ns, "link", "set", dev, "up"])
}

/// Source NAT on the `wan` link of `ns`, and the drop of unsolicited inbound packets (see the
/// module documentation for why they are dropped in the forward/input hooks).
fn nat_rules(ns: &str, wan: &str, nat: Nat) -> Result<(), String> {
    let random = match nat {
        Nat::Eim => "",
        Nat::Symmetric => " fully-random",
    };
    let rules = format!(
        "table ip ferrtc {{\n\
         \tchain nat_out {{ type nat hook postrouting priority srcnat; oifname \"wan\" snat to {wan}{random}; }}\n\
         \tchain guard_fwd {{ type filter hook forward priority 0; iifname \"wan\" ct state new drop; }}\n\
         \tchain guard_in {{ type filter hook input priority 0; iifname \"wan\" ct state new drop; }}\n\
         }}\n"
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start nft: {e}"))?;
    if let Some(mut w) = child.stdin.take() {
        w.write_all(rules.as_bytes())
            .map_err(|e| format!("nft stdin: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft in {ns} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A self-signed certificate for coturn's TLS listener (`turn-cert.pem`, `turn-key.pem`).
fn tls_cert(dir: &Path) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", &format!("/CN={TURN_NAME}"), "-addext"])
        .arg(format!("subjectAltName=DNS:{TURN_NAME},IP:{SERVER}"))
        .arg("-keyout")
        .arg(dir.join("turn-key.pem"))
        .arg("-out")
        .arg(dir.join("turn-cert.pem"))
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// coturn in the server namespace (user test/test, realm example.org), once it listens on UDP,
/// TCP and TLS.
fn start_coturn(dir: &Path) -> Result<Child, String> {
    let d = dir.to_string_lossy();
    let log = std::fs::File::create(dir.join("turnserver.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new("ip")
        .args(["netns", "exec", NS_SRV])
        .arg(util::tool("turnserver", "turnserver"))
        .arg("-n")
        .args([
            format!("--listening-ip={SERVER}"),
            format!("--relay-ip={SERVER}"),
            format!("--listening-port={TURN_PORT}"),
            "--lt-cred-mech".into(),
            "--user=test:test".into(),
            "--realm=example.org".into(),
            "--fingerprint".into(),
            format!("--tls-listening-port={TURNS_PORT}"),
            format!("--cert={d}/turn-cert.pem"),
            format!("--pkey={d}/turn-key.pem"),
            "--no-dtls".into(),
            "--no-cli".into(),
            "--log-file=stdout".into(),
            "--simple-log".into(),
            format!("--db={d}/turndb"),
            format!("--pidfile={d}/turnserver.pid"),
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start turnserver: {e}"))?;
    let listening = |flags: &str, port: u16| -> Result<bool, String> {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                NS_SRV,
                "ss",
                flags,
                &format!("sport = :{port}"),
            ])
            .output()
            .map_err(|e| e.to_string())?;
        Ok(!out.stdout.is_empty())
    };
    for _ in 0..100 {
        if listening("-Hlun", TURN_PORT)?
            && listening("-Hltn", TURN_PORT)?
            && listening("-Hltn", TURNS_PORT)?
        {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "turnserver exited ({status}): see {}",
                dir.join("turnserver.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err("turnserver did not start listening within 10 s".into())
}

/// Removes every `ferrtcice-*` namespace and ends the processes inside them (only ours live
/// there). Idempotent; errors are ignored, there is nothing better to do with them.
fn teardown() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    let mut pids: Vec<String> = Vec::new();
    for ns in list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
    {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
            pids.extend(
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(String::from),
            );
        }
        let _ = Command::new("ip").args(["netns", "del", ns]).status();
    }
    if pids.is_empty() {
        return;
    }
    signal(&pids, "-TERM");
    let alive = |p: &String| Path::new(&format!("/proc/{p}")).exists();
    for _ in 0..30 {
        if !pids.iter().any(alive) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let left: Vec<String> = pids.into_iter().filter(alive).collect();
    if !left.is_empty() {
        signal(&left, "-KILL");
    }
    let _ = std::fs::remove_dir_all(lab_dir());
}

fn signal(pids: &[String], sig: &str) {
    let _ = Command::new("kill")
        .arg(sig)
        .args(pids)
        .stderr(Stdio::null())
        .status();
}

/// Starts `xtask ice-nat --reap-after <our pid>` in its own process group (so a ctrl-c on the
/// terminal does not reach it): it tears the lab down if we die before doing it ourselves.
fn start_watchdog() -> Option<Child> {
    let exe = std::env::current_exe().ok()?;
    Command::new(exe)
        .args([
            "ice-nat".to_string(),
            "--reap-after".to_string(),
            std::process::id().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            eprintln!("ice-nat: no watchdog ({e}); an interrupted run is cleaned next time")
        })
        .ok()
}

/// The watchdog: waits until process `pid` is gone, then tears the lab down.
fn reap_after(pid: Option<&String>) -> Result<(), String> {
    let pid: u32 = pid
        .and_then(|p| p.parse().ok())
        .ok_or("--reap-after wants a pid")?;
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    while proc_dir.exists() {
        std::thread::sleep(Duration::from_millis(200));
    }
    teardown();
    Ok(())
}

/// Output of one agent: stdout lines (signalling and progress) and stderr lines (diagnostics).
#[derive(Default)]
struct Output {
    out: Vec<String>,
    err: Vec<String>,
}

type Shared = Arc<Mutex<Output>>;

/// The agent's arguments for a case; `a` is controlling.
fn agent_cmd(peer: &Path, case: &Case, a: bool) -> Command {
    let (ns, bind, role) = if a {
        (NS_A, PEER_A, "controlling")
    } else {
        (NS_B, PEER_B, "controlled")
    };
    let server = format!("{SERVER}:{TURN_PORT}");
    // Self-check sabotages: a STUN server address nobody answers on, a wrong TURN password.
    let stun = if util::sabotage("stun-unreachable") {
        format!("{SERVER}:{}", TURN_PORT + 1)
    } else {
        server.clone()
    };
    let pass = if util::sabotage("turn-wrong-password") {
        "wrong"
    } else {
        "test"
    };
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(peer).arg(role).args([
        "--bind",
        &format!("{bind}:0"),
        "--stun",
        &stun,
    ]);
    if case.turn {
        match case.via {
            Via::Udp => {
                c.args(["--turn", &format!("{server},test,{pass}")]);
            }
            Via::Tcp => {
                c.args(["--turn", &format!("{server},test,{pass}"), "--turn-tcp"]);
            }
            Via::Tls => {
                let ca = lab_dir().join("turn-cert.pem");
                c.args([
                    "--turn",
                    &format!("{SERVER}:{TURNS_PORT},test,{pass}"),
                    "--turn-tls",
                    &format!("{TURN_NAME},{}", ca.display()),
                ]);
            }
        }
    }
    if case.relay_only {
        c.arg("--relay-only");
    }
    if case.expect == Expect::Fail {
        // Unanswered checks give up after ~3 s instead of ~10 s: the agents reach Failed.
        c.args([
            "--rto-ms",
            "200",
            "--max-transmissions",
            "5",
            "--timeout",
            "15",
        ]);
    } else {
        c.args(["--timeout", "25"]);
    }
    c
}

fn run_case(peer: &Path, case: &Case) -> Result<String, String> {
    let mut ca = spawn(agent_cmd(peer, case, true))?;
    let mut cb = match spawn(agent_cmd(peer, case, false)) {
        Ok(c) => c,
        Err(e) => {
            let _ = ca.kill();
            let _ = ca.wait();
            return Err(e);
        }
    };
    let a_in = Arc::new(Mutex::new(ca.stdin.take()));
    let b_in = Arc::new(Mutex::new(cb.stdin.take()));
    let (oa, ha) = pump(&mut ca, b_in.clone(), "a");
    let (ob, hb) = pump(&mut cb, a_in.clone(), "b");
    let start = Instant::now();
    let mut status = (None, None);
    let mut timed_out = false;
    while status.0.is_none() || status.1.is_none() {
        if status.0.is_none() {
            status.0 = ca.try_wait().map_err(|e| e.to_string())?;
        }
        if status.1.is_none() {
            status.1 = cb.try_wait().map_err(|e| e.to_string())?;
        }
        if start.elapsed() > CASE_TIMEOUT {
            for c in [&mut ca, &mut cb] {
                let _ = c.kill();
                let _ = c.wait();
            }
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    a_in.lock().unwrap().take();
    b_in.lock().unwrap().take();
    for h in ha.into_iter().chain(hb) {
        let _ = h.join();
    }
    if timed_out {
        return Err(format!("agents still running after {CASE_TIMEOUT:?}"));
    }
    let (sa, sb) = (status.0.unwrap(), status.1.unwrap());
    let oa = std::mem::take(&mut *oa.lock().unwrap());
    let ob = std::mem::take(&mut *ob.lock().unwrap());
    judge(case, (sa.success(), &oa), (sb.success(), &ob))
}

/// What one agent reported: connected (and the ms it took), the selected pair's types, done.
struct Seen {
    ok: bool,
    ms: Option<String>,
    pair: Option<(String, String)>,
    reached_failed: bool,
    /// It announced a server-reflexive candidate (its STUN server answered through the NAT).
    srflx: bool,
    done: bool,
}

fn seen(ok: bool, o: &Output) -> Seen {
    let ms = o
        .out
        .iter()
        .find_map(|l| l.strip_prefix("connected "))
        .and_then(|l| l.rsplit(' ').next())
        .map(String::from);
    let pair = o.out.iter().find_map(|l| {
        let mut it = l.strip_prefix("pair ")?.split(' ');
        Some((it.next()?.to_string(), it.next()?.to_string()))
    });
    Seen {
        ok,
        ms,
        pair,
        reached_failed: o.err.iter().any(|l| l == "ice_udp_peer: failed"),
        srflx: o
            .out
            .iter()
            .any(|l| l.starts_with("cand ") && l.contains(" typ srflx")),
        done: o.out.iter().any(|l| l == "done"),
    }
}

fn judge(case: &Case, a: (bool, &Output), b: (bool, &Output)) -> Result<String, String> {
    let (sa, sb) = (seen(a.0, a.1), seen(b.0, b.1));
    let tail = |o: &Output| {
        o.out
            .iter()
            .chain(o.err.iter())
            .rev()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" | ")
    };
    if case.expect == Expect::Fail {
        if sa.ms.is_some() || sb.ms.is_some() {
            return Err(format!(
                "connected although it must not: A {:?}, B {:?}",
                sa.pair, sb.pair
            ));
        }
        if sa.ok || sb.ok {
            return Err("an agent exited 0 without connecting".into());
        }
        // Not connecting proves nothing by itself (a crash, a bad flag or an unreachable STUN
        // server would not connect either): both agents must have gathered a server-reflexive
        // candidate through their NAT and then reached ICE state Failed on their own.
        for (who, s, o) in [("A", &sa, a.1), ("B", &sb, b.1)] {
            if !s.srflx {
                return Err(format!(
                    "agent {who} gathered no srflx candidate [{}]",
                    tail(o)
                ));
            }
            if !s.reached_failed {
                return Err(format!("agent {who} did not reach Failed [{}]", tail(o)));
            }
        }
        return Ok("srflx gathered on both sides, no connection, both Failed as expected".into());
    }
    if !(sa.ok && sb.ok && sa.done && sb.done) {
        return Err(format!(
            "not connected: A exit ok={} [{}]; B exit ok={} [{}]",
            sa.ok,
            tail(a.1),
            sb.ok,
            tail(b.1)
        ));
    }
    let (Some(pa), Some(pb)) = (&sa.pair, &sb.pair) else {
        return Err("connected but no `pair` line".into());
    };
    let relay = |p: &(String, String)| (p.0 == "relay", p.1 == "relay");
    let good = match case.expect {
        Expect::Direct => relay(pa) == (false, false) && relay(pb) == (false, false),
        Expect::ViaRelay => relay(pa) != (false, false) || relay(pb) != (false, false),
        Expect::RelayOnly => relay(pa) == (true, true) && relay(pb) == (true, true),
        Expect::Fail => false,
    };
    let detail = format!(
        "A {}->{}, B {}->{}, connected after {} / {} ms, data echoed both ways",
        pa.0,
        pa.1,
        pb.0,
        pb.1,
        sa.ms.as_deref().unwrap_or("?"),
        sb.ms.as_deref().unwrap_or("?")
    );
    if good {
        Ok(detail)
    } else {
        Err(format!("wrong pair types for {:?}: {detail}", case.expect))
    }
}

fn spawn(mut cmd: Command) -> Result<Child, String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))
}

/// Reads `child`'s stdout and stderr into the returned [`Output`]; signalling lines (`creds`,
/// `cand`, `eoc`) are forwarded to `to`, the other agent's stdin.
fn pump(
    child: &mut Child,
    to: Arc<Mutex<Option<ChildStdin>>>,
    tag: &'static str,
) -> (Shared, Vec<std::thread::JoinHandle<()>>) {
    let shared: Shared = Arc::new(Mutex::new(Output::default()));
    let verbose = std::env::var_os("XTASK_VERBOSE").is_some();
    let keep = shared.clone();
    let stdout = child.stdout.take().unwrap();
    let wrong_password = util::sabotage("ice-wrong-password");
    let mut handles = vec![std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if verbose {
                eprintln!("[{tag}] {line}");
            }
            if line.starts_with("creds ") || line.starts_with("cand ") || line == "eoc" {
                let relayed = if wrong_password {
                    crate::ice_aioice::wrong_creds(&line)
                } else {
                    line.clone()
                };
                if let Some(w) = to.lock().unwrap().as_mut() {
                    let _ = writeln!(w, "{relayed}");
                    let _ = w.flush();
                }
            }
            keep.lock().unwrap().out.push(line);
        }
    })];
    if let Some(err) = child.stderr.take() {
        let keep = shared.clone();
        handles.push(std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if verbose {
                    eprintln!("[{tag} err] {line}");
                }
                keep.lock().unwrap().err.push(line);
            }
        }));
    }
    (shared, handles)
}
