//! `cargo xtask` — project automation that needs more than one cargo command.
//!
//! ```text
//! cargo xtask ci                         fmt check, clippy -D warnings, all tests
//! cargo xtask arch [--write]             docs/ARCHITECTURE.md checked against cargo metadata
//! cargo xtask fuzz [--seconds N] [TARGET] run cargo-fuzz targets on nightly (installs cargo-fuzz)
//! cargo xtask bench [FILTER]             run the criterion benches, rewrite docs/performance.md
//! cargo xtask conformance                every conformance check the project has, one table
//! cargo xtask conformance --self-check [--rows ROW[/SABOTAGE],…]
//!                                        break each row on purpose; every one must turn red
//! cargo xtask interop [--only SUBSTRING]  WHIP data channels with real browsers and stacks
//! cargo xtask demo                       the demo page in headless Chromium
//! ```
//!
//! Each checker against a real peer (coturn, libsrtp, OpenSSL, …) is a module with a
//! `run(&[String]) -> Result<(), String>` and an entry in [`COMMANDS`].
#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod arch;
mod bench;
mod coturn;
mod demo;
mod dtls_openssl;
mod fuzz;
mod hostile;
mod ice_aioice;
mod ice_nat;
mod interop;
mod interop_media;
mod interop_media_aiortc;
mod interop_media_node;
mod libsrtp;
mod media_files;
mod selfcheck;
mod util;

use std::process::ExitCode;

type Command = fn(&[String]) -> Result<(), String>;

/// Every subcommand: name, one-line help, entry point, and whether `conformance` runs it.
const COMMANDS: &[(&str, &str, Command, bool)] = &[
    (
        "ci",
        "fmt check, clippy with warnings denied, all tests",
        ci,
        false,
    ),
    (
        "arch",
        "[--write]: docs/ARCHITECTURE.md's crate map, graph and sans-IO block vs cargo metadata and the sources; crate README front pages",
        arch::run,
        false,
    ),
    (
        "fuzz",
        "[--seconds N] [TARGET] | --smoke: run the cargo-fuzz targets (--smoke: stable build, seeds only)",
        fuzz::run,
        false,
    ),
    (
        "bench",
        "[FILTER]: run benches and rewrite docs/performance.md",
        bench::run,
        false,
    ),
    (
        "conformance",
        "run every conformance check and print one table",
        conformance,
        false,
    ),
    (
        "self-check",
        "[--rows ROW[/SABOTAGE],...] [--list]: run each conformance row with a deliberate break; each must turn red",
        selfcheck::run,
        false,
    ),
    ("hostile", "[--only CRATE] [--list]: every crate's hostile-input corpus, one table", hostile::run, false),
    (
        "vectors",
        "RFC test vectors and real captures (cargo test of the vector suites)",
        vectors,
        true,
    ),
    (
        "ice-aioice",
        "ferrtc ICE agent <-> aioice on loopback, both roles",
        ice_aioice::run,
        true,
    ),
    (
        "ice-nat",
        "two ferrtc ICE agents behind EIM/symmetric NATs (netns, nftables) with coturn",
        ice_nat::run,
        true,
    ),
    (
        "libsrtp",
        "[PACKETS]: ferrtc-srtp <-> libsrtp (pylibsrtp), byte for byte, every profile",
        libsrtp::run,
        true,
    ),
    (
        "dtls-openssl",
        "ferrtc-dtls <-> openssl s_server/s_client on loopback, keying material equal",
        dtls_openssl::run,
        true,
    ),
    (
        "interop",
        "[--only SUBSTRING]: WHIP data channels vs Chromium, aiortc, wrtc, werift (netns)",
        interop::run,
        true,
    ),
    (
        "demo",
        "the README demo page in headless Chromium (WHIP: data channel chat + camera video/audio reflected by ferrtc), netns",
        demo::run,
        true,
    ),
    (
        "coturn",
        "turn-client, stun examples, ferrtc relay-only peers <-> coturn on loopback (UDP, TCP, TLS)",
        coturn::run,
        true,
    ),
    (
        "media-files",
        "[--keep]: ffmpeg VP8/VP9/AV1/H.264/H.265/Opus files -> RTP (scrambled) -> frame buffer -> files, ffprobe",
        media_files::run,
        true,
    ),
    ("interop-media", "[--peer chromium|aiortc|all] [--seconds N] [--only CODEC] [--debug]: Chromium (VP8/VP9/H.264/AV1) and aiortc (VP8/H.264) publish + Opus over WHIP to save-to-disk (files checked with ffprobe) and play from play-from-disk over WHEP (receiver stats), netns", interop_media::run, true),
    ("interop-media-node", "[--peer werift|wrtc|all] [--seconds N] [--only CODEC] [--debug]: @roamhq/wrtc (VP8) and werift (RTP: VP8/VP9/H.264 publish, + AV1 play) publish to save-to-disk (ffprobe) and play from play-from-disk (counts vs GET /stats), netns", interop_media_node::run, true),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        usage();
        return ExitCode::FAILURE;
    };
    let Some((_, _, f, _)) = COMMANDS.iter().find(|(n, ..)| n == cmd) else {
        eprintln!("xtask: unknown command `{cmd}`");
        usage();
        return ExitCode::FAILURE;
    };
    match f(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() {
    eprintln!("usage: cargo xtask <command>");
    for (name, help, _, _) in COMMANDS {
        eprintln!("  {name:<12} {help}");
    }
}

fn ci(_args: &[String]) -> Result<(), String> {
    util::cargo(&["fmt", "--all", "--check"])?;
    util::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    util::cargo(&["test", "--workspace"])
}

/// The RFC vector suites (every `tests/*vectors*.rs` of the workspace).
fn vectors(_args: &[String]) -> Result<(), String> {
    if util::sabotage("corrupt-vector") {
        return corrupt_vector();
    }
    vectors_in(&util::root(), None)
}

/// `cargo test` of the vector suites of the workspace at `root` (in `target` when given).
fn vectors_in(root: &std::path::Path, target: Option<&std::path::Path>) -> Result<(), String> {
    util::cargo_in_target(
        root,
        target,
        &["test", "--workspace", "--quiet", "--test", "*vectors*"],
    )
}

/// The self-check sabotage `corrupt-vector`: [`vectors_in`] on a copy of HEAD (the checkout
/// is shared, nothing in it is touched; outside git, a copy of the tree) whose RFC 5769 §2.1 sample request has one hex digit
/// of its MESSAGE-INTEGRITY changed; `rfc5769_2_1_request` must fail.
fn corrupt_vector() -> Result<(), String> {
    let copy =
        std::env::temp_dir().join(format!("ferrtc-selfcheck-vectors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).map_err(|e| format!("{}: {e}", copy.display()))?;
    let result = (|| {
        util::run(
            "sh",
            &[
                "-c",
                // HEAD of the checkout; the tree itself when it is not a git checkout (a
                // `git archive` copy of the workspace).
                "if git rev-parse --git-dir >/dev/null 2>&1; then git archive HEAD; \
                 else tar -c --exclude=./target .; fi | tar -x -C \"$1\"",
                "archive",
                &copy.to_string_lossy(),
            ],
        )?;
        let file = copy.join("crates/stun/tests/data/rfc5769_stun.json");
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let msg = v["vectors"]
            .as_array_mut()
            .and_then(|a| a.iter_mut().find(|x| x["name"] == "sample_request"))
            .and_then(|x| x.get_mut("message_hex"))
            .ok_or("no sample_request message_hex in rfc5769_stun.json")?;
        let hex = msg
            .as_str()
            .ok_or("message_hex is not a string")?
            .to_string();
        // The message ends with MESSAGE-INTEGRITY (4 + 20 bytes) and FINGERPRINT (4 + 4):
        // hex digit len-20 lies in the HMAC (RFC 5769 §2.1).
        let at = hex.len().checked_sub(20).ok_or("message_hex too short")?;
        let (head, tail) = hex.split_at(at);
        *msg = serde_json::Value::String(format!("{}{tail}", util::flip_last(head)));
        let out = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
        std::fs::write(&file, out).map_err(|e| format!("{}: {e}", file.display()))?;
        // A target directory of its own: cargo names the copy's artifacts as the checkout's
        // (path packages hash relative to the workspace), so in the shared one the copy's
        // test binaries (with the copy's CARGO_MANIFEST_DIR and include_str! data baked in)
        // would later be taken as up to date for the real checkout.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| util::root().join("target"))
            .join("selfcheck-vectors");
        vectors_in(&copy, Some(&target))
    })();
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// Runs every check marked for conformance and prints one table; fails if any failed.
/// `--self-check [--rows …]` instead breaks each row on purpose (see `selfcheck.rs`).
fn conformance(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--self-check") {
        return selfcheck::run(args);
    }
    if let Some(a) = args.first() {
        return Err(format!(
            "unknown argument `{a}` (usage: conformance [--self-check [--rows ROW[/SABOTAGE],…]])"
        ));
    }
    let mut rows = Vec::new();
    for (name, help, f, in_conformance) in COMMANDS {
        if !in_conformance {
            continue;
        }
        eprintln!("== conformance: {name}");
        let res = f(&[]);
        rows.push((*name, *help, res));
    }
    println!("\n| check | what | result |\n|---|---|---|");
    let mut failed = 0;
    for (name, help, res) in &rows {
        let r = match res {
            Ok(()) => "PASS".to_string(),
            Err(e) => {
                failed += 1;
                format!("FAIL: {e}")
            }
        };
        println!("| {name} | {help} | {r} |");
    }
    println!("\n{} passed, {} failed", rows.len() - failed, failed);
    if failed > 0 {
        Err(format!("{failed} conformance check(s) failed"))
    } else {
        Ok(())
    }
}
