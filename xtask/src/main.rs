//! `cargo xtask` — project automation that needs more than one cargo command.
//!
//! ```text
//! cargo xtask ci                         fmt check, clippy -D warnings, all tests
//! cargo xtask fuzz [--seconds N] [TARGET] run cargo-fuzz targets on nightly (installs cargo-fuzz)
//! cargo xtask bench [FILTER]             run the criterion benches, rewrite docs/performance.md
//! cargo xtask conformance                every conformance check the project has, one table
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

mod bench;
mod coturn;
mod demo;
mod dtls_openssl;
mod fuzz;
mod ice_aioice;
mod ice_nat;
mod interop;
mod libsrtp;
mod media_files;
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
        "the README demo page in headless Chromium (WHIP + data channel chat), netns",
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

fn vectors(_args: &[String]) -> Result<(), String> {
    util::cargo(&["test", "--workspace", "--quiet", "--test", "*vectors*"]).or_else(|_| {
        // Fall back to the whole suite when no target matches the pattern.
        util::cargo(&["test", "--workspace", "--quiet"])
    })
}

/// Runs every check marked for conformance and prints one table; fails if any failed.
fn conformance(_args: &[String]) -> Result<(), String> {
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
