//! `cargo xtask conformance --self-check [--rows ROW[/SABOTAGE],…]` (also `cargo xtask
//! self-check …`): shows that every conformance row can turn red.
//!
//! Each entry of [`SABOTAGES`] runs one conformance row (this same binary, `xtask ROW ARGS…`)
//! with `FERRTC_SELFCHECK=SABOTAGE` in its environment. The row reads that variable at the
//! place where the break belongs (a wrong password in the signalling it relays, a wrong
//! fingerprint on the command line of the DTLS example, a tool path pointing at
//! `/nonexistent`, a truncated media file, …) and otherwise runs exactly as in
//! `cargo xtask conformance`. The entry is RED as expected only when
//! - the row exits with failure,
//! - it printed `self-check: applying sabotage SABOTAGE` (it really took the sabotaged path),
//! - and its output holds every expected reason (a pattern `a…b` means one line holding `a`
//!   and later `b`).
//!
//! A row that stays green is a bug in the row; a row that turns red for another reason is
//! reported too (the harness broke something else, or the row's message changed). The output
//! of every run is kept in `<target dir>/selfcheck/<row>-<sabotage>.log`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util;

/// One deliberate break of one row.
pub struct Sabotage {
    /// The conformance row (an xtask command).
    pub row: &'static str,
    /// Arguments of the row for this run (a subset of its cases, fewer packets…).
    pub args: &'static [&'static str],
    /// The value of `FERRTC_SELFCHECK`.
    pub sabotage: &'static str,
    /// What is broken, for the table.
    pub what: &'static str,
    /// Reasons the row's output must show (`a…b`: one line holding `a`, later `b`).
    pub expect: &'static [&'static str],
}

/// Every sabotage, by row, in the order of `cargo xtask conformance`.
pub const SABOTAGES: &[Sabotage] = &[
    // vectors
    Sabotage {
        row: "vectors",
        args: &[],
        sabotage: "corrupt-vector",
        what: "a copy of HEAD with one hex digit of the MESSAGE-INTEGRITY of RFC 5769 §2.1 \
               (crates/stun/tests/data/rfc5769_stun.json) changed",
        expect: &["rfc5769_2_1_request", "test result: FAILED"],
    },
    Sabotage {
        row: "vectors",
        args: &[],
        sabotage: "missing:cargo",
        what: "cargo at /nonexistent",
        expect: &["cannot start `/nonexistent/cargo`"],
    },
    // ice-aioice
    Sabotage {
        row: "ice-aioice",
        args: &[],
        sabotage: "ice-wrong-password",
        what: "the ICE password relayed to each peer has its last character changed",
        expect: &[
            "FAIL  ferrtc controlling <-> aioice controlled",
            "FAIL  ferrtc controlling <-> ferrtc controlled",
            "5 ICE interop case(s) failed",
        ],
    },
    Sabotage {
        row: "ice-aioice",
        args: &[],
        sabotage: "missing:aioice",
        what: "the aioice peer's python at /nonexistent",
        expect: &[
            "FAIL  ferrtc controlled <-> aioice controlling: cannot start",
            "3 ICE interop case(s) failed",
        ],
    },
    Sabotage {
        row: "ice-aioice",
        args: &[],
        sabotage: "missing:turnserver",
        what: "coturn's turnserver at /nonexistent (the relay cases must not be skipped)",
        expect: &["cannot start turnserver"],
    },
    Sabotage {
        row: "ice-aioice",
        args: &[],
        sabotage: "turn-wrong-password",
        what: "the relay-only agents log in to coturn with a wrong password",
        expect: &[
            "FAIL  ferrtc relay-only via coturn, controlling <-> aioice controlled",
            "2 ICE interop case(s) failed",
        ],
    },
    // ice-nat
    Sabotage {
        row: "ice-nat",
        args: &["--case", "eim-host-srflx"],
        sabotage: "ice-wrong-password",
        what: "the ICE password relayed to each agent has its last character changed",
        expect: &[
            "FAIL eim-host-srflx…integrity check failed",
            "1 NAT case(s) failed",
        ],
    },
    Sabotage {
        row: "ice-nat",
        args: &["--case", "relay-only"],
        sabotage: "turn-wrong-password",
        what: "the agents log in to coturn with a wrong password",
        expect: &["FAIL relay-only", "1 NAT case(s) failed"],
    },
    Sabotage {
        row: "ice-nat",
        args: &["--case", "symmetric-no-turn"],
        sabotage: "nat-eim-for-symmetric",
        what: "the negative case symmetric-no-turn is run behind EIM NATs, where it can connect",
        expect: &["FAIL symmetric-no-turn…connected although it must not"],
    },
    Sabotage {
        row: "ice-nat",
        args: &["--case", "symmetric-no-turn"],
        sabotage: "stun-unreachable",
        what: "the agents' STUN server is a port nobody listens on (no srflx, so not a real \
               symmetric-NAT failure)",
        expect: &["FAIL symmetric-no-turn…gathered no srflx candidate"],
    },
    Sabotage {
        row: "ice-nat",
        args: &["--case", "eim-host-srflx"],
        sabotage: "missing:turnserver",
        what: "coturn's turnserver at /nonexistent",
        expect: &["turnserver exited"],
    },
    // libsrtp
    Sabotage {
        row: "libsrtp",
        args: &["200"],
        sabotage: "srtp-wrong-key",
        what: "ferrtc's srtp_tool gets the master key with one bit flipped; libsrtp the right one",
        expect: &[
            "AES_CM_128_HMAC_SHA1_80…MISMATCHES",
            "AEAD_AES_256_GCM…MISMATCHES",
        ],
    },
    Sabotage {
        row: "libsrtp",
        args: &["200"],
        sabotage: "missing:srtp_tool",
        what: "ferrtc's srtp_tool at /nonexistent",
        expect: &["/nonexistent/srtp_tool"],
    },
    // dtls-openssl
    Sabotage {
        row: "dtls-openssl",
        args: &[],
        sabotage: "dtls-wrong-fingerprint",
        what:
            "ferrtc expects the OpenSSL peer's certificate fingerprint with its last digit changed",
        expect: &[
            "dtls_udp: DTLS remote certificate fingerprint mismatch",
            "4 DTLS interop case(s) failed",
        ],
    },
    Sabotage {
        row: "dtls-openssl",
        args: &[],
        sabotage: "dtls-keymat-label",
        what: "OpenSSL exports keying material with another label than EXTRACTOR-dtls_srtp",
        expect: &["keying material differs", "4 DTLS interop case(s) failed"],
    },
    Sabotage {
        row: "dtls-openssl",
        args: &[],
        sabotage: "missing:openssl",
        what: "the openssl command at /nonexistent",
        expect: &["/nonexistent/openssl"],
    },
    // interop
    Sabotage {
        row: "interop",
        args: &["--only", "ferrtc-server <- aiortc-client"],
        sabotage: "missing:aiortc",
        what: "the aiortc peer's python at /nonexistent",
        expect: &["FAIL ferrtc-server <- aiortc-client…cannot start /nonexistent/aiortc"],
    },
    Sabotage {
        row: "interop",
        args: &["--only", "ferrtc-server+turn <- aiortc-client --relay"],
        sabotage: "interop-relay-not-relay",
        what: "the --relay case's client is started without --relay (it offers host candidates)",
        expect: &["FAIL ferrtc-server+turn <- aiortc-client --relay…offered non-relay"],
    },
    Sabotage {
        row: "interop",
        args: &["--only", "aiortc-server+turn <- ferrtc-client --relay"],
        sabotage: "turn-wrong-password",
        what: "the relay-only client logs in to coturn with a wrong password",
        expect: &["FAIL aiortc-server+turn <- ferrtc-client --relay"],
    },
    // demo
    Sabotage {
        row: "demo",
        args: &[],
        sabotage: "missing:chromium",
        what: "chromium at /nonexistent",
        expect: &["cannot run chromium"],
    },
    Sabotage {
        row: "demo",
        args: &[],
        sabotage: "demo-no-udp",
        what: "every UDP datagram dropped (nftables) in the demo's network namespace: the page \
               and WHIP load over TCP, ICE cannot connect",
        expect: &["page result", "the demo page did not pass"],
    },
    Sabotage {
        row: "demo",
        args: &[],
        sabotage: "demo-no-reflect",
        what: "the demo server negotiates its audio and video senders but writes nothing back: \
               the page's camera card sees no reflected frames or samples",
        expect: &["page result", "the demo page did not pass"],
    },
    // coturn
    Sabotage {
        row: "coturn",
        args: &[],
        sabotage: "turn-wrong-password",
        what: "the TURN client tests and the relay-only ferrtc peers get a wrong coturn password",
        expect: &[
            "FAIL  turn-client <-> coturn",
            "FAIL  ferrtc peers (relay only)",
        ],
    },
    Sabotage {
        row: "coturn",
        args: &[],
        sabotage: "stun-wrong-password-accepted",
        what: "the must-be-rejected STUN requests use the right password (a negative check that \
               must fail when the positive thing happens)",
        expect: &[
            "FAIL  aioice STUN client -> stun_server example",
            "FAIL  stun_client example -> aioice STUN server",
        ],
    },
    Sabotage {
        row: "coturn",
        args: &[],
        sabotage: "missing:turnserver",
        what: "coturn's turnserver at /nonexistent",
        expect: &["cannot start turnserver"],
    },
    Sabotage {
        row: "coturn",
        args: &[],
        sabotage: "missing:turnutils_stunclient",
        what: "coturn's turnutils_stunclient at /nonexistent",
        expect: &["FAIL  turnutils_stunclient -> stun_server example: cannot run"],
    },
    // media-files
    Sabotage {
        row: "media-files",
        args: &[],
        sabotage: "media-truncated",
        what: "vp8.ivf cut off in the middle of a frame after ffmpeg wrote it",
        expect: &["| vp8.ivf |…FAIL"],
    },
    Sabotage {
        row: "media-files",
        args: &[],
        sabotage: "missing:ffmpeg",
        what: "ffmpeg at /nonexistent (no source files)",
        expect: &[
            "| vp8.ivf |…FAIL: cannot start ffmpeg",
            "media file check(s) failed",
        ],
    },
    Sabotage {
        row: "media-files",
        args: &[],
        sabotage: "missing:ffprobe",
        what: "ffprobe at /nonexistent",
        expect: &["cannot start ffprobe"],
    },
    // interop-media
    Sabotage {
        row: "interop-media",
        args: &["--peer", "chromium", "--only", "vp8"],
        sabotage: "missing:ffprobe",
        what: "ffprobe at /nonexistent: Chromium's recorded files cannot be checked",
        expect: &["cannot start ffprobe", "some rows failed"],
    },
    Sabotage {
        row: "interop-media",
        args: &["--peer", "aiortc", "--only", "h264"],
        sabotage: "interop-media-aiortc-wrong-codec",
        what: "aiortc is asked for VP8 in the H.264 rows: it publishes VP8 to save-to-disk and \
               offers only VP8 to play-from-disk's H.264 file",
        expect: &[
            "| H264 |…FAIL…aiortc sent video/VP8",
            "| H264 |…FAIL…received video/VP8",
            "some rows failed",
        ],
    },
    // interop-media-node
    Sabotage {
        row: "interop-media-node",
        args: &["--peer", "werift", "--only", "vp8", "--seconds", "3"],
        sabotage: "media-node-silent",
        what: "the werift scripts run with --silent: publishing forwards no RTP packet, playing \
               counts none",
        expect: &[
            "| werift | VP8 | source…FAIL…no video file",
            "| werift | VP8 |…FAIL…0.0 % of the frames",
            "some rows failed",
        ],
    },
];

/// Longest one sabotaged row may run before it is stopped (counted as not red as expected).
const ROW_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// What one sabotaged run showed.
enum Verdict {
    Red,
    StillGreen,
    NotApplied,
    OtherReason(Vec<&'static str>),
    Timeout,
    NotRun(String),
}

impl Verdict {
    fn text(&self) -> String {
        match self {
            Verdict::Red => "RED as expected".into(),
            Verdict::StillGreen => "STILL GREEN = bug".into(),
            Verdict::NotApplied => "red, but the sabotage was never applied = bug".into(),
            Verdict::OtherReason(missing) => format!(
                "red for another reason (missing {}) = bug",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Verdict::Timeout => format!("no verdict in {} s = bug", ROW_TIMEOUT.as_secs()),
            Verdict::NotRun(e) => format!("not run: {e}"),
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut rows: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--self-check" => {}
            "--rows" => {
                let v = it.next().ok_or("--rows needs ROW[/SABOTAGE],…")?;
                rows = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            "--list" => {
                for s in SABOTAGES {
                    println!("{}/{}  {}", s.row, s.sabotage, s.what);
                }
                return Ok(());
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: conformance --self-check [--rows ROW[/SABOTAGE],…] [--list])"
                ))
            }
        }
    }
    let selected: Vec<&Sabotage> = SABOTAGES
        .iter()
        .filter(|s| {
            rows.as_ref().is_none_or(|r| {
                r.iter()
                    .any(|x| x == s.row || *x == format!("{}/{}", s.row, s.sabotage))
            })
        })
        .collect();
    if let Some(r) = &rows {
        for x in r {
            if !SABOTAGES
                .iter()
                .any(|s| x == s.row || *x == format!("{}/{}", s.row, s.sabotage))
            {
                return Err(format!("no row or sabotage named `{x}` (see --list)"));
            }
        }
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let logs = target_dir().join("selfcheck");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    let mut results = Vec::new();
    for s in &selected {
        eprintln!(
            "== self-check: {} with sabotage {} ({})",
            s.row, s.sabotage, s.what
        );
        let log = logs.join(format!(
            "{}-{}.log",
            s.row,
            s.sabotage.replace([':', '/'], "-")
        ));
        let t0 = Instant::now();
        let verdict = run_one(&exe, s, &log);
        let secs = t0.elapsed().as_secs_f64();
        eprintln!("   {} ({secs:.0} s, log {})", verdict.text(), log.display());
        results.push((*s, verdict, secs, log));
    }

    println!("\n| row | sabotage | what is broken | result | time |\n|---|---|---|---|---|");
    let mut bad = 0;
    for (s, v, secs, _) in &results {
        if !matches!(v, Verdict::Red) {
            bad += 1;
        }
        println!(
            "| {} | `{}` | {} | {} | {secs:.0} s |",
            s.row,
            s.sabotage,
            s.what,
            v.text()
        );
    }
    println!(
        "\n{} of {} sabotaged runs turned red as expected; logs in {}",
        results.len() - bad,
        results.len(),
        logs.display()
    );
    if bad > 0 {
        Err(format!(
            "{bad} sabotaged run(s) did not turn red as expected"
        ))
    } else {
        Ok(())
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// Runs `xtask ROW ARGS…` with the sabotage in its environment, its stdout and stderr into
/// `log`, and judges the result.
fn run_one(exe: &std::path::Path, s: &Sabotage, log: &std::path::Path) -> Verdict {
    let file = match std::fs::File::create(log) {
        Ok(f) => f,
        Err(e) => return Verdict::NotRun(format!("{}: {e}", log.display())),
    };
    let err = match file.try_clone() {
        Ok(f) => f,
        Err(e) => return Verdict::NotRun(e.to_string()),
    };
    let mut child = match Command::new(exe)
        .arg(s.row)
        .args(s.args)
        .env(util::SELFCHECK_ENV, s.sabotage)
        .current_dir(util::root())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        // Its own process group, so that a run over time can be stopped with all it started.
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Verdict::NotRun(format!("cannot start {}: {e}", exe.display())),
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Verdict::NotRun(e.to_string()),
        }
        if start.elapsed() > ROW_TIMEOUT {
            // The group we created above, by its id (the row's own pid).
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            std::thread::sleep(Duration::from_secs(3));
            let _ = child.kill();
            let _ = child.wait();
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(log) {
                let _ = writeln!(f, "self-check: stopped after {ROW_TIMEOUT:?}");
            }
            return Verdict::Timeout;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    judge(s, status.success(), &text)
}

/// The verdict on one run from its exit status and output.
fn judge(s: &Sabotage, success: bool, text: &str) -> Verdict {
    if success {
        return Verdict::StillGreen;
    }
    if !text
        .lines()
        .any(|l| l == format!("self-check: applying sabotage {}", s.sabotage))
    {
        return Verdict::NotApplied;
    }
    let missing: Vec<&'static str> = s
        .expect
        .iter()
        .copied()
        .filter(|pat| !text.lines().any(|l| line_matches(l, pat)))
        .collect();
    if missing.is_empty() {
        Verdict::Red
    } else {
        Verdict::OtherReason(missing)
    }
}

/// Whether `line` holds the parts of `pat` (separated by `…`) in order.
fn line_matches(line: &str, pat: &str) -> bool {
    let mut rest = line;
    for part in pat.split('…') {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Sabotage = Sabotage {
        row: "r",
        args: &[],
        sabotage: "wrong-key",
        what: "",
        expect: &["| a.ivf |…FAIL", "2 failed"],
    };

    #[test]
    fn a_passing_row_is_still_green() {
        let v = judge(
            &S,
            true,
            "self-check: applying sabotage wrong-key\n| a.ivf | FAIL\n2 failed\n",
        );
        assert!(matches!(v, Verdict::StillGreen));
    }

    #[test]
    fn red_needs_the_sabotage_applied_and_every_reason() {
        let full = "self-check: applying sabotage wrong-key\n| a.ivf | x | FAIL: short\n2 failed\n";
        assert!(matches!(judge(&S, false, full), Verdict::Red));
        let not_applied = "| a.ivf | FAIL\n2 failed\n";
        assert!(matches!(judge(&S, false, not_applied), Verdict::NotApplied));
        // The reason on another line than the file, or in the wrong order, is not the reason.
        let other =
            "self-check: applying sabotage wrong-key\n| a.ivf | PASS\n| b.ivf | FAIL\n2 failed\n";
        match judge(&S, false, other) {
            Verdict::OtherReason(m) => assert_eq!(m, vec!["| a.ivf |…FAIL"]),
            _ => panic!("expected OtherReason"),
        }
        let reversed = "self-check: applying sabotage wrong-key\nFAIL | a.ivf |\n2 failed\n";
        assert!(matches!(
            judge(&S, false, reversed),
            Verdict::OtherReason(_)
        ));
    }

    #[test]
    fn every_sabotage_names_a_conformance_row_once() {
        for s in SABOTAGES {
            assert!(
                crate::COMMANDS
                    .iter()
                    .any(|(n, _, _, conf)| *n == s.row && *conf),
                "{} is not a conformance row",
                s.row
            );
            assert_eq!(
                SABOTAGES
                    .iter()
                    .filter(|o| o.row == s.row && o.sabotage == s.sabotage)
                    .count(),
                1
            );
            assert!(!s.expect.is_empty());
        }
        // Every conformance row has at least one sabotage.
        for (n, _, _, conf) in crate::COMMANDS {
            if *conf {
                assert!(SABOTAGES.iter().any(|s| s.row == *n), "{n} has no sabotage");
            }
        }
    }
}
