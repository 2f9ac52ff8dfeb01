//! Parses a browser offer and prints its media sections, codecs and transport details.
//!
//!     cargo run -p ferrtc-sdp --example parse_offer            # a real Chromium offer
//!     cargo run -p ferrtc-sdp --example parse_offer -- my.sdp  # your own file
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::SessionDescription;

const CHROMIUM_OFFER: &str = include_str!("../tests/data/sdp/chromium-offer-av-dc.sdp");

fn main() {
    let (source, text) = match std::env::args().nth(1) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(1)
            });
            (path, text)
        }
        None => (
            "embedded Chromium offer (tests/data/sdp/chromium-offer-av-dc.sdp)".to_owned(),
            CHROMIUM_OFFER.to_owned(),
        ),
    };
    let sdp: SessionDescription = match text.parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{source}: {e}");
            std::process::exit(1)
        }
    };

    let o = sdp.origin();
    println!("{source}");
    println!(
        "session {} version {}, {} lines, {} media sections",
        o.session_id,
        o.session_version,
        sdp.line_count(),
        sdp.media_count()
    );
    for g in sdp.groups() {
        println!(
            "group {}: {}",
            g.semantics,
            g.mids().collect::<Vec<_>>().join(" ")
        );
    }
    if sdp.ice_lite() {
        println!("ice-lite");
    }

    for m in sdp.media() {
        println!();
        println!(
            "m-section {}: {} mid={} port={} proto={} direction={}",
            m.index(),
            m.kind(),
            m.mid().unwrap_or("-"),
            m.port(),
            m.protocol(),
            m.direction()
        );
        match m.ice_credentials() {
            Some(ice) => println!("  ice        ufrag={} pwd={}", ice.ufrag, ice.pwd),
            None => println!("  ice        (no credentials)"),
        }
        let opts = m.ice_options();
        if !opts.is_empty() {
            println!("  ice-options {}", opts.join(" "));
        }
        if let Some(fp) = m.fingerprint() {
            println!("  fingerprint {} {}", fp.algorithm, fp.value);
        }
        if let Some(setup) = m.setup() {
            println!("  setup      {setup}");
        }
        let cands = m.candidates().count();
        if cands > 0 {
            println!(
                "  candidates {cands}{}",
                if m.end_of_candidates() {
                    " (end-of-candidates)"
                } else {
                    ""
                }
            );
        }
        if let Some(port) = m.sctp_port() {
            println!(
                "  sctp-port  {port} max-message-size={}",
                m.max_message_size()
                    .map_or("-".to_owned(), |v| v.to_string())
            );
        }
        for e in m.extmaps() {
            println!("  extmap     {} {}", e.id, e.uri);
        }
        for c in m.codecs() {
            let name = match c.rtpmap {
                Some(r) => match r.channels {
                    Some(ch) => format!("{}/{}/{}", r.encoding_name, r.clock_rate, ch),
                    None => format!("{}/{}", r.encoding_name, r.clock_rate),
                },
                None => "(static)".to_owned(),
            };
            print!("  codec {:>3}  {name}", c.payload_type);
            if let Some(f) = c.fmtp {
                print!("  fmtp: {}", f.params);
            }
            if !c.rtcp_fb.is_empty() {
                let fb: Vec<String> = c
                    .rtcp_fb
                    .iter()
                    .map(|f| match f.param {
                        Some(p) => format!("{} {p}", f.feedback),
                        None => f.feedback.to_owned(),
                    })
                    .collect();
                print!("  rtcp-fb: {}", fb.join(", "));
            }
            println!();
        }
        for g in m.ssrc_groups() {
            println!(
                "  ssrc-group {} {}",
                g.semantics,
                g.ssrcs()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
}
