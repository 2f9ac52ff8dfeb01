//! `cargo xtask bench [FILTER]`: runs the criterion benches of `benches/` and rewrites the
//! ratio table in docs/performance.md between the `bench:begin` / `bench:end` markers.
//!
//! Convention (see benches/README.md): a criterion group per operation, named `area/operation`,
//! and in it one function per implementation: `ferrtc`, `webrtc-rs 0.17`, `rtc 0.21`,
//! `str0m 0.25`, or `floor: …` for a raw-primitive lower bound. The table gives each other
//! implementation's time divided by ferrtc's (above 1: ferrtc is faster).
//!
//! A full run (no FILTER) first deletes criterion's old results, so rows of benchmark groups
//! that no longer exist cannot survive into the table; every row carries the date its figures
//! were measured (the result file's modification time), so a filtered run's fresh rows and
//! older rows are told apart.
//!
//! `--plain-profile` builds the benches the way most users build their dependencies: the
//! bench profile without LTO and with 16 codegen units (`CARGO_PROFILE_BENCH_LTO=false`,
//! `CARGO_PROFILE_BENCH_CODEGEN_UNITS=16`), in a target directory of its own (`plain-profile/`
//! under the usual one) so the two builds do not evict each other; its table goes between the
//! `bench-plain:begin` / `bench-plain:end` markers when docs/performance.md has them.

use crate::util;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";
const PLAIN_BEGIN: &str = "<!-- bench-plain:begin -->";
const PLAIN_END: &str = "<!-- bench-plain:end -->";

pub fn run(args: &[String]) -> Result<(), String> {
    // `--report`: only rebuild the table from the results criterion already has.
    let report_only = args.iter().any(|a| a == "--report");
    let plain = args.iter().any(|a| a == "--plain-profile");
    // Where criterion writes: `$CARGO_TARGET_DIR/criterion` when that is set.
    let mut target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"));
    if plain {
        target = target.join("plain-profile");
        std::env::set_var("CARGO_TARGET_DIR", &target);
        std::env::set_var("CARGO_PROFILE_BENCH_LTO", "false");
        std::env::set_var("CARGO_PROFILE_BENCH_CODEGEN_UNITS", "16");
    }
    let criterion = target.join("criterion");
    let mut cargo_args = vec!["bench", "-p", "ferrtc-benches"];
    if let Some(f) = args.iter().find(|a| !a.starts_with("--")) {
        cargo_args.extend(["--bench", f.as_str()]);
    }
    let filtered = cargo_args.len() > 3;
    if !report_only {
        if !filtered {
            let old = &criterion;
            if old.exists() {
                std::fs::remove_dir_all(old)
                    .map_err(|e| format!("cannot clear {}: {e}", old.display()))?;
            }
        }
        util::cargo(&cargo_args)?;
    }
    let table = table(&criterion)?;
    println!("{table}");
    let doc = util::root().join("docs/performance.md");
    let text = std::fs::read_to_string(&doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let (begin, end) = if plain {
        (PLAIN_BEGIN, PLAIN_END)
    } else {
        (BEGIN, END)
    };
    let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
        if plain {
            eprintln!("docs/performance.md has no {begin} / {end} markers: table printed only");
            return Ok(());
        }
        return Err("docs/performance.md has no bench:begin / bench:end markers".into());
    };
    let new = format!("{}{begin}\n{table}\n{}", &text[..b], &text[e..]);
    std::fs::write(&doc, new).map_err(|e| e.to_string())?;
    eprintln!("rewrote {}", doc.display());
    Ok(())
}

/// A civil date (UTC) for a file's modification time: days since 1970 to year-month-day
/// (Howard Hinnant's `civil_from_days`).
fn date_of(path: &Path) -> String {
    let Ok(secs) = std::fs::metadata(path).and_then(|m| m.modified()).map(|t| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }) else {
        return "?".into();
    };
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Mean time in ns and measurement date per (group, function), from criterion's `new/`
/// result directories.
fn collect(dir: &Path, out: &mut BTreeMap<String, BTreeMap<String, (f64, String)>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let bench = std::fs::read_to_string(p.join("benchmark.json")).ok();
                let est = std::fs::read_to_string(p.join("estimates.json")).ok();
                if let (Some(b), Some(e)) = (bench, est) {
                    let b: Value = serde_json::from_str(&b).unwrap_or(Value::Null);
                    let e: Value = serde_json::from_str(&e).unwrap_or(Value::Null);
                    let group = b["group_id"].as_str().unwrap_or("?").to_string();
                    let func = b["function_id"].as_str().unwrap_or("?").to_string();
                    if let Some(ns) = e["mean"]["point_estimate"].as_f64() {
                        let date = date_of(&p.join("estimates.json"));
                        out.entry(group).or_default().insert(func, (ns, date));
                    }
                }
            } else {
                collect(&p, out);
            }
        }
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn table(dir: &Path) -> Result<String, String> {
    let mut res = BTreeMap::new();
    collect(dir, &mut res);
    if res.is_empty() {
        return Err(format!("no criterion results under {}", dir.display()));
    }
    let mut s = String::from(
        "| benchmark | ferrtc | other | other's time | ratio (other / ferrtc) | measured | what each side does per iteration |\n|---|---|---|---|---|---|---|\n",
    );
    for (group, funcs) in &res {
        // ferrtc's side is the function `ferrtc`, or several `ferrtc…` variants (e.g. the ICE
        // check with the key prepared once and keyed per message): a row per variant and other.
        let (ours, others): (Vec<_>, Vec<_>) =
            funcs.iter().partition(|(f, _)| f.starts_with("ferrtc"));
        // The note goes on a group's first row only: the rows below it share it.
        let mut note = same_work(group);
        for (variant, (ours, our_date)) in ours {
            let label = if variant == "ferrtc" {
                group.clone()
            } else {
                format!("{group} — {variant}")
            };
            if others.is_empty() {
                s += &format!(
                    "| {label} | {} | — | — | — | {our_date} | {note} |\n",
                    fmt_ns(*ours)
                );
                note = "″";
            }
            for (name, (t, date)) in &others {
                // Both sides of a ratio must come from one run; say so when they do not.
                let when = if date == our_date {
                    our_date.clone()
                } else {
                    format!("{our_date} / {date}")
                };
                s += &format!(
                    "| {label} | {} | {name} | {} | {:.2}× | {when} | {note} |\n",
                    fmt_ns(*ours),
                    fmt_ns(*t),
                    t / ours
                );
                note = "″";
            }
        }
    }
    Ok(s)
}

/// What every side of a benchmark group does per iteration, in a few words (the bench file's
/// doc comment says it at length). Keyed by the start of the group name; a group with no entry
/// says so, so a new bench cannot slip into the table without one.
fn same_work(group: &str) -> &'static str {
    const NOTES: &[(&str, &str)] = &[
        ("datachannel/setup", "createOffer → channel open over UDP loopback, one thread drives both peers; a certificate per peer on both sides"),
        ("datachannel/throughput", "64 KiB reliable ordered messages over UDP loopback (ICE+DTLS+SCTP), same flow-control window (1 MiB), same driver"),
        ("dtls/certificate", "ECDSA P-256 self-signed certificate generated; thread CPU time"),
        ("dtls/handshake", "DTLS 1.2 mutual-auth handshake with cookie exchange, fingerprint check, use_srtp (GCM asserted), keys exported; thread CPU time"),
        ("ice/connect", "both agents from credentials + host candidate to connected, real UDP sockets, each stack's default pacing"),
        ("media/", "packetize a frame into ≤1200-byte payloads, depacketize them back into one frame buffer; outputs checked equal"),
        ("media_path/send", "frame → packetizer → RTP header with mid/abs-send-time/transport-cc → SRTP (AES-128-GCM) → datagram out"),
        ("media_path/receive", "SRTP unprotect → RTP parse → route by MID/SSRC → RFC 3550 stats → frame assembly → frame out"),
        ("rtcp/parse", "walk the compound and read the same fields: SR NTP + block jitter, CNAME length, every TWCC delta or NACK PID/BLP"),
        ("rtcp/serialize", "encode SR + SDES + TWCC from parsed values into a buffer (ferrtc writes each chunk and re-encodes every delta; others marshal their structs)"),
        ("rtp/parse 1200B", "continuity row: ferrtc a borrowed view + 3 extension reads; others a full owned unmarshal + get_extension"),
        ("rtp/parse owned", "owned packet from a Bytes clone, payload zero-copy, mid/abs-send-time/transport-cc decoded"),
        ("rtp/header", "header parse + the three extension values decoded, payload untouched"),
        ("rtp/serialize", "header + extension block + 1200-byte payload into a caller buffer (ferrtc copies its stored extension block; others write element by element)"),
        ("sctp/throughput", "64 KiB messages between two associations in memory, real clock for timers, every datagram copied into a fresh Vec"),
        ("sdp/parse", "177-line Chrome offer parsed; ferrtc a typed value per line, others unmarshal (attributes as key/value strings)"),
        ("sdp/serialize", "every line formatted from typed values into one String (ferrtc builder; others marshal); outputs checked equal to the input"),
        ("srtp/", "the same packets (12-byte header + payload, seq advancing); ferrtc in place, others return a new buffer; floors are the bare cipher"),
        ("stun/build", "Binding request with USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY and FINGERPRINT built and signed; others key the HMAC from the password per message, ferrtc both ways (variant named)"),
        ("stun/parse", "parse a 92-byte Binding request, verify MESSAGE-INTEGRITY and FINGERPRINT, read the 4 ICE attributes; others key the HMAC from the password per message, ferrtc both ways (variant named)"),
        ("stun/ice check", "one connectivity check's STUN work on both ends as the ICE agent does it (build+sign, parse+verify)"),
    ];
    NOTES
        .iter()
        .find(|(prefix, _)| group.starts_with(prefix))
        .map_or(
            "(no note: add one to xtask/src/bench.rs `same_work`)",
            |(_, n)| n,
        )
}
