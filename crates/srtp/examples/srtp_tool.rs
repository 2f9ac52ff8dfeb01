//! Line-oriented SRTP filter for cross-checking with other implementations
//! (`cargo xtask libsrtp` drives it next to libsrtp).
//!
//! stdin, one command a line; stdout, one answer a line (hex, or `ERR <message>`):
//!
//! ```text
//! init <PROFILE_NAME> <master key hex> <master salt hex>   -> OK  (a sending and a receiving context)
//! protect_rtp <hex> | unprotect_rtp <hex> | protect_rtcp <hex> | unprotect_rtcp <hex>
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, Write};

use bytes::BytesMut;
use ferrtc_srtp::{Config, Context, ProtectionProfile};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut ctx: Option<(Context, Context)> = None;
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match (words.as_slice(), ctx.as_mut()) {
            (["init", name, key, salt], _) => {
                let p = ProtectionProfile::ALL
                    .into_iter()
                    .find(|p| p.name() == *name);
                match (p, hex::decode(key), hex::decode(salt)) {
                    (Some(p), Ok(k), Ok(s)) => {
                        match (
                            Context::new(p, &k, &s, Config::default()),
                            Context::new(p, &k, &s, Config::default()),
                        ) {
                            (Ok(tx), Ok(rx)) => {
                                ctx = Some((tx, rx));
                                "OK".to_string()
                            }
                            (Err(e), _) | (_, Err(e)) => format!("ERR {e}"),
                        }
                    }
                    _ => "ERR bad init line".to_string(),
                }
            }
            ([op, data], Some((tx, rx))) => match hex::decode(data) {
                Ok(d) => {
                    let mut buf = BytesMut::with_capacity(d.len() + 64);
                    buf.extend_from_slice(&d);
                    let r = match *op {
                        "protect_rtp" => tx.protect_rtp(&mut buf),
                        "unprotect_rtp" => rx.unprotect_rtp(&mut buf),
                        "protect_rtcp" => tx.protect_rtcp(&mut buf),
                        "unprotect_rtcp" => rx.unprotect_rtcp(&mut buf),
                        _ => {
                            writeln!(out, "ERR unknown command {op}").unwrap();
                            continue;
                        }
                    };
                    match r {
                        Ok(()) => hex::encode(&buf),
                        Err(e) => format!("ERR {e}"),
                    }
                }
                Err(e) => format!("ERR bad hex: {e}"),
            },
            _ => "ERR expected `init ...` first, then `<op> <hex>`".to_string(),
        };
        writeln!(out, "{answer}").unwrap();
        out.flush().unwrap();
    }
}
