//! The nom grammar against the hand-written parsers it replaced (`ferrtc_sdp::legacy`,
//! feature `legacy`, enabled for this crate's tests only): every line of every real offer
//! and RFC vector, every truncation of those lines and a copy with a doubled space, and
//! generated lines, typed by both. They must give the same typed line, or both refuse it
//! with the same kind of error (grammar, attribute, value out of range).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::{legacy, Error, Line};

const REAL: [&str; 6] = [
    include_str!("data/sdp/aiortc-offer.sdp"),
    include_str!("data/sdp/chromium-offer-av-dc.sdp"),
    include_str!("data/sdp/chromium-offer-dc-mdns.sdp"),
    include_str!("data/sdp/werift-offer.sdp"),
    include_str!("data/sdp/wrtc-offer-audio-dc.sdp"),
    include_str!("data/sdp/wrtc-offer.sdp"),
];

const VECTORS: [&str; 11] = [
    include_str!("data/vectors/sdp_rfc8829_jsep_examples.json"),
    include_str!("data/vectors/sdp_rfc8829bis_draft_examples.json"),
    include_str!("data/vectors/sdp_rfc8838_examples.json"),
    include_str!("data/vectors/sdp_rfc8839_examples.json"),
    include_str!("data/vectors/sdp_rfc8841_examples.json"),
    include_str!("data/vectors/sdp_rfc8842_examples.json"),
    include_str!("data/vectors/sdp_rfc8843_examples.json"),
    include_str!("data/vectors/sdp_rfc8851_examples.json"),
    include_str!("data/vectors/sdp_rfc8853_examples.json"),
    include_str!("data/vectors/sdp_rfc8866_examples.json"),
    include_str!("data/vectors/sdp_rfc9143_examples.json"),
];

fn class(e: &Error) -> u8 {
    match e {
        Error::Syntax { .. } => 0,
        Error::Attribute { .. } => 1,
        Error::InvalidValue { .. } => 2,
        _ => 3,
    }
}

/// Both parsers on one line: equal values, or errors of the same kind.
pub fn same(line: &str) {
    let new = Line::parse(line);
    let old = legacy::parse_line(line);
    match (&new, &old) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{line:?}"),
        (Err(a), Err(b)) => assert_eq!(class(a), class(b), "{line:?}: nom {a}, legacy {b}"),
        _ => panic!("{line:?}: nom {new:?}, legacy {old:?}"),
    }
}

fn all_lines() -> Vec<String> {
    let mut texts: Vec<String> = REAL.iter().map(|s| s.to_string()).collect();
    for v in VECTORS {
        let json: serde_json::Value = serde_json::from_str(v).unwrap();
        for ex in json["examples"].as_array().unwrap() {
            if let Some(s) = ex["sdp_crlf"].as_str() {
                texts.push(s.to_owned());
            }
        }
    }
    let mut lines: Vec<String> = texts
        .iter()
        .flat_map(|t| t.lines().map(|l| l.trim_end_matches('\r').to_owned()))
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

#[test]
fn every_real_and_vector_line() {
    let lines = all_lines();
    assert!(lines.len() > 400, "{}", lines.len());
    let mut typed = 0;
    for l in &lines {
        same(l);
        typed += usize::from(Line::parse(l).is_ok());
    }
    // Most of them are valid lines: the comparison is mostly of typed values.
    assert!(typed * 10 > lines.len() * 9, "{typed} of {}", lines.len());
}

#[test]
fn every_truncation_and_doubled_space() {
    for l in all_lines() {
        for (i, _) in l.char_indices() {
            same(&l[..i]);
            same(&format!("{} {}", &l[..i], &l[i..]));
            same(&format!("{}/{}", &l[..i], &l[i..]));
            same(&format!("{}0{}", &l[..i], &l[i..]));
        }
    }
}

proptest::proptest! {
    #[test]
    fn generated_lines(
        head in proptest::sample::select(vec![
            "o=", "c=", "b=", "t=", "m=", "r=", "z=", "k=", "v=", "a=rtpmap:", "a=fmtp:",
            "a=rtcp-fb:", "a=extmap:", "a=ssrc:", "a=ssrc-group:", "a=rid:", "a=simulcast:",
            "a=fingerprint:", "a=msid:", "a=group:", "a=msid-semantic:", "a=rtcp:",
            "a=setup:", "a=sctp-port:", "a=max-message-size:", "a=ptime:", "a=ice-ufrag:",
            "a=candidate:", "a=rtcp-mux", "a=x-", "a=",
        ]),
        body in "[0-9a-zA-Z/ *:~;=.,_-]{0,40}",
    ) {
        same(&format!("{head}{body}"));
    }
}
