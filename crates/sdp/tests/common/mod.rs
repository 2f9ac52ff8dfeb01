//! A round trip through the typed values, not through the stored text.
//!
//! A parsed `SessionDescription` keeps its source text and prints it back, so
//! `parse(x).to_string() == x` holds whatever the typed views do. This module re-prints every
//! line from its typed value (`Origin`, `Connection`, `Bandwidth`, `Timing`, `MediaLine`,
//! `Attribute` and their `Display`), parses that text, and compares the typed values of the two
//! descriptions field by field. A typed view that loses or changes a field on the way makes the
//! comparison fail. Lines the crate keeps as text (`v s i u e p r z k`) are copied.
//!
//! Shared by tests/vectors.rs, tests/proptests.rs and fuzz/fuzz_targets/sdp.rs.
#![allow(dead_code)]

use ferrtc_sdp::{Attribute, SessionDescription};

/// The description printed from its typed values, one line at a time (CRLF endings).
pub fn reprint(sdp: &SessionDescription) -> String {
    let mut out = String::new();
    let session_len = sdp
        .lines()
        .position(|l| l.starts_with("m="))
        .unwrap_or(sdp.line_count());
    let session: Vec<&str> = sdp.lines().take(session_len).collect();
    let bandwidths: Vec<String> = sdp.bandwidths().map(|b| b.to_string()).collect();
    let timings: Vec<String> = sdp.timings().map(|t| t.to_string()).collect();
    let (mut b, mut t) = (0, 0);
    for line in session {
        let typed = match line.as_bytes().first() {
            Some(b'o') => Some(sdp.origin().to_string()),
            Some(b'c') => sdp.connection().map(|c| c.to_string()),
            Some(b'b') => {
                b += 1;
                bandwidths.get(b - 1).cloned()
            }
            Some(b't') => {
                t += 1;
                timings.get(t - 1).cloned()
            }
            Some(b'a') => Some(attribute(line)),
            _ => None,
        };
        push(&mut out, line, typed);
    }
    for m in sdp.media() {
        let bandwidths: Vec<String> = m.bandwidths().map(|b| b.to_string()).collect();
        let mut b = 0;
        for line in m.lines() {
            let typed = match line.as_bytes().first() {
                Some(b'm') => Some(m.media_line().to_string()),
                Some(b'c') => m.connection().map(|c| c.to_string()),
                Some(b'b') => {
                    b += 1;
                    bandwidths.get(b - 1).cloned()
                }
                Some(b'a') => Some(attribute(line)),
                _ => None,
            };
            push(&mut out, line, typed);
        }
    }
    out
}

fn attribute(line: &str) -> String {
    match Attribute::parse_line(line) {
        Ok(a) => a.to_string(),
        Err(e) => panic!("a line of a parsed description does not parse alone: {line}: {e}"),
    }
}

fn push(out: &mut String, line: &str, typed: Option<String>) {
    match typed {
        Some(v) => {
            out.push_str(line.get(..2).unwrap_or(""));
            out.push_str(&v);
        }
        None => out.push_str(line),
    }
    out.push_str("\r\n");
}

/// Asserts that `a` and `b` have the same typed values, accessor by accessor.
pub fn assert_same_typed(a: &SessionDescription, b: &SessionDescription) {
    assert_eq!(a.origin(), b.origin());
    assert_eq!(a.session_name(), b.session_name());
    assert_eq!(a.information(), b.information());
    assert_eq!(a.uri(), b.uri());
    assert!(a.emails().eq(b.emails()));
    assert!(a.phones().eq(b.phones()));
    assert_eq!(a.connection(), b.connection());
    assert_eq!(
        a.bandwidths().collect::<Vec<_>>(),
        b.bandwidths().collect::<Vec<_>>()
    );
    assert_eq!(
        a.timings().collect::<Vec<_>>(),
        b.timings().collect::<Vec<_>>()
    );
    assert!(a.repeat_times().eq(b.repeat_times()));
    assert_eq!(a.time_zones(), b.time_zones());
    assert_eq!(a.key(), b.key());
    assert_eq!(
        a.attributes().collect::<Vec<_>>(),
        b.attributes().collect::<Vec<_>>()
    );
    assert_eq!(a.media_count(), b.media_count());
    for (m, n) in a.media().zip(b.media()) {
        assert_eq!(m.media_line(), n.media_line());
        assert_eq!(m.information(), n.information());
        assert_eq!(m.connection(), n.connection());
        assert_eq!(
            m.bandwidths().collect::<Vec<_>>(),
            n.bandwidths().collect::<Vec<_>>()
        );
        assert_eq!(m.key(), n.key());
        assert_eq!(
            m.attributes().collect::<Vec<_>>(),
            n.attributes().collect::<Vec<_>>()
        );
        assert_eq!(m.codecs(), n.codecs());
        assert_eq!(m.direction(), n.direction());
    }
}

/// Re-prints `sdp` from its typed values, parses the result and compares typed values.
/// Returns the re-printed text.
pub fn typed_round_trip(sdp: &SessionDescription) -> String {
    assert_typed_lines_match_checked_parse(sdp);
    let text = reprint(sdp);
    let again: SessionDescription = text
        .parse()
        .unwrap_or_else(|e| panic!("typed re-print does not parse: {e}\n{text}"));
    assert_same_typed(sdp, &again);
    text
}

/// `typed_lines()` (which rebuilds each line from what the parse recorded, or splits it
/// without checking it again) gives, line by line, the same value as the checked parse of
/// that line alone (`Attribute::parse`, `Line::parse`).
pub fn assert_typed_lines_match_checked_parse(sdp: &SessionDescription) {
    assert_eq!(sdp.typed_lines().count(), sdp.line_count());
    for (line, typed) in sdp.lines().zip(sdp.typed_lines()) {
        assert_eq!(Some(typed.letter()), line.chars().next(), "{line}");
        if let ferrtc_sdp::Line::Attribute(a) = typed {
            let text = line.get(2..).unwrap_or("");
            let (name, value) = match text.split_once(':') {
                Some((n, v)) => (n, Some(v)),
                None => (text, None),
            };
            let checked = Attribute::parse(name, value).unwrap_or(Attribute::Other { name, value });
            assert_eq!(a, checked, "{line}");
        } else {
            // The other lines are split without their checks: the checked parse of the
            // line alone gives the same value.
            assert_eq!(Ok(typed), ferrtc_sdp::Line::parse(line), "{line}");
        }
    }
}
