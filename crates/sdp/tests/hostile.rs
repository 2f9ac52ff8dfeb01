#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the SDP parser (issue 15).
//!
//! Each case is a description a broken or hostile peer sends, with its expected outcome and
//! its source (the RFC 8866 rule, or a public bug in another stack) next to it. Rejections
//! must name the line at fault; accepted descriptions must survive the typed round trip of
//! tests/common (re-print from typed values, parse, compare). Limits keep the work bounded.

use ferrtc_sdp::{Error, ParseOptions, SessionDescription};

mod common;

enum Outcome {
    /// Rejected with an error this predicate accepts (it checks the line number too).
    Rejected(fn(&Error) -> bool),
    /// Accepted; the description passes this check.
    Accepted(fn(&SessionDescription) -> bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    input: fn() -> Vec<u8>,
    outcome: Outcome,
}

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn with(rest: &str) -> Vec<u8> {
    format!("{HEAD}{rest}").into_bytes()
}

fn syntax_at(e: &Error, l: usize) -> bool {
    matches!(e, Error::Syntax { line, .. } if *line == l)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "payload type 4294967296 on the m= line",
            source: "pjproject#2093 (crash on an invalid media format); RFC 3551 §6: 0-127",
            input: || with("m=audio 17000 RTP/AVP 4294967296\r\n"),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::InvalidValue { line: 5, field, .. } if field == "m="),
            ),
        },
        Case {
            name: "an empty v= line before v=0",
            source: "rtpengine#1958 (crash on 'v=\\nv=0'); RFC 8866 §5.1: v=0 only",
            input: || b"v=\nv=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n".to_vec(),
            outcome: Outcome::Rejected(|e| syntax_at(e, 1)),
        },
        Case {
            name: "an empty attribute line",
            source: "pion/sdp#13 (segfault found by a fuzzer: 'a=' and 'a=rtcp-f4')",
            input: || with("m=audio 6 UDP/TLS/RTP/AVP 97\r\na=\r\n"),
            outcome: Outcome::Rejected(|e| match e {
                Error::Syntax { line, .. } | Error::Attribute { line, .. } => *line == 6,
                _ => false,
            }),
        },
        Case {
            name: "an i= line that looks like another line",
            source: "OpenSIPS#51 (crash on 'i=(o=IN IP4 ...)'); RFC 8866 §5.4: free text",
            input: || {
                b"v=0\r\no=- 3585301728 3585301728 IN IP4 1.2.3.4\r\ns=pjmedia\r\n\
                  i=(o=IN IP4 192.168.1.100)\r\nb=AS:84\r\nt=0 0\r\n\
                  m=audio 53930 RTP/AVP 97 0 96\r\nc=IN IP4 213.205.229.228\r\n\
                  b=TIAS:64000\r\na=rtcp:53931 IN IP4 1.2.3.4\r\na=rtpmap:97 speex/8000\r\n"
                    .to_vec()
            },
            outcome: Outcome::Accepted(|s| {
                s.information() == Some("(o=IN IP4 192.168.1.100)")
                    && s.origin().unicast_address == "1.2.3.4"
                    && s.media().next().unwrap().bandwidth_tias() == Some(64000)
            }),
        },
        Case {
            name: "origin made of zeros",
            source: "pion/sdp#11 (fuzzer: print(parse(x)) lost the origin fields)",
            input: || b"v=0\r\no=0 0 0 IN IP4 0\r\ns=\r\nt=0 0\r\n".to_vec(),
            outcome: Outcome::Accepted(|s| {
                let o = s.origin();
                (o.username, o.session_id, o.unicast_address) == ("0", "0", "0")
            }),
        },
        Case {
            name: "a NUL byte inside a line",
            source: "RFC 8866 §9: no NUL anywhere",
            input: || with("a=tool:x\0y\r\n"),
            outcome: Outcome::Rejected(|e| syntax_at(e, 5)),
        },
        Case {
            name: "a lone CR inside a line",
            source: "RFC 8866 §9: CR only before LF",
            input: || with("a=tool:x\ry\r\n"),
            outcome: Outcome::Rejected(|e| syntax_at(e, 5)),
        },
        Case {
            name: "bytes that are not UTF-8",
            source: "RFC 8866 §5: the description is text; ours requires UTF-8",
            input: || {
                with("s=\u{e9}\r\n")
                    .into_iter()
                    .map(|b| if b == 0xc3 { 0xff } else { b })
                    .collect()
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::NotUtf8(_))),
        },
        Case {
            name: "two megabytes",
            source: "bounded memory: ParseOptions::max_bytes (1 MiB)",
            input: || with(&format!("a=x:{}\r\n", "y".repeat(2 << 20))),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::TooLarge { max, .. } if *max == 1 << 20),
            ),
        },
        Case {
            name: "70000 attribute lines",
            source: "bounded work: ParseOptions::max_lines (65536)",
            input: || with(&"a=x\r\n".repeat(70_000)),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooManyLines { max: 65536 })),
        },
        Case {
            name: "1025 media sections",
            source: "bounded work: ParseOptions::max_media (1024)",
            input: || with(&"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n".repeat(1025)),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooManyMedia { max: 1024 })),
        },
        Case {
            name: "extmap id 0",
            source: "RFC 8285 §5: 0 is padding, ids are 1-256",
            input: || with("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:0 urn:x\r\n"),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::InvalidValue { line: 6, field, .. } if field == "a=extmap"),
            ),
        },
        Case {
            name: "rtpmap payload type 300",
            source: "RFC 3550 §5.1: 7-bit payload type",
            input: || with("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:300 opus/48000/2\r\n"),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::InvalidValue { line: 6, field, .. } if field == "a=rtpmap"),
            ),
        },
        Case {
            name: "a fingerprint that is not hex",
            source: "RFC 8122 §5: hash function and colon-separated hex",
            input: || with("a=fingerprint:sha-256 zz:zz\r\n"),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Attribute { line: 5, .. })),
        },
        Case {
            name: "a BUNDLE group with two spaces before its tag",
            source: "RFC 5888 §5: *(SP identification-tag), a tag is a token (fuzz target sdp)",
            input: || with("a=group:BUNDLE  bar\r\n"),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Attribute { line: 5, .. })),
        },
        Case {
            name: "an ssrc-group SSRC with a leading zero",
            source: "RFC 8866 §9 integer = POS-DIGIT *DIGIT, RFC 5576 §4.2 (fuzz target sdp)",
            input: || with("a=ssrc-group:FID 05 6\r\n"),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Attribute { line: 5, .. })),
        },
        Case {
            name: "an m= line before any t= line",
            source: "RFC 8866 §9 line order",
            input: || {
                b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n".to_vec()
            },
            outcome: Outcome::Rejected(|e| syntax_at(e, 4)),
        },
        Case {
            name: "a 100 kB unknown attribute",
            source: "within max_bytes: kept as text, nothing lost",
            input: || with(&format!("a=x-big:{}\r\n", "z".repeat(100_000))),
            outcome: Outcome::Accepted(|s| {
                s.attribute("x-big")
                    .is_some_and(|a| a.to_string().len() == 100_006)
            }),
        },
        Case {
            name: "a rejected section without formats",
            source: "issue 15: older browsers write 'm=audio 0 RTP/AVP'",
            input: || {
                with("m=audio 0 RTP/AVP\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")
            },
            outcome: Outcome::Accepted(|s| {
                let m: Vec<_> = s.media().collect();
                m.len() == 2 && m[0].port() == 0 && m[0].formats().count() == 0
            }),
        },
        Case {
            name: "a section without formats on a live port",
            source: "RFC 8866 §5.14: at least one format",
            input: || with("m=audio 9 RTP/AVP\r\n"),
            outcome: Outcome::Rejected(|e| syntax_at(e, 5)),
        },
        Case {
            name: "a live section whose format list is one trailing space",
            source: "RFC 8866 §5.14: 1*(SP fmt), a fmt is a non-empty token (fuzz target sdp)",
            input: || with("m=audio 9 RTP/AVP \r\n"),
            outcome: Outcome::Rejected(|e| syntax_at(e, 5)),
        },
        Case {
            name: "port 70000",
            source: "RFC 8866 §5.14: a 16-bit port",
            input: || with("m=audio 70000 RTP/AVP 0\r\n"),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::InvalidValue { line: 5, field, .. } if field == "m="),
            ),
        },
        Case {
            name: "a garbage candidate",
            source: "kept as text: ferrtc-ice types candidates (and refuses this one)",
            input: || with("m=audio 9 RTP/AVP 0\r\na=candidate:%%%\r\n"),
            outcome: Outcome::Accepted(|s| s.media().next().unwrap().candidates().eq(["%%%"])),
        },
        Case {
            name: "a repeat interval overflowing 64 bits of seconds",
            source: "issue 15: repeat times range-checked (RFC 8866 §5.10)",
            input: || with("r=999999999999999999d 1h 0\r\n"),
            outcome: Outcome::Rejected(
                |e| matches!(e, Error::InvalidValue { line: 5, field, .. } if field == "r="),
            ),
        },
    ]
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in &cases {
        assert!(!case.source.is_empty());
        let name = case.name;
        let input = (case.input)();
        let res = SessionDescription::from_bytes(&input);
        match (&case.outcome, res) {
            (Outcome::Rejected(ok), Err(e)) => assert!(ok(&e), "{name}: wrong error {e:?}"),
            (Outcome::Rejected(_), Ok(_)) => panic!("{name}: accepted"),
            (Outcome::Accepted(_), Err(e)) => panic!("{name}: rejected: {e}"),
            (Outcome::Accepted(check), Ok(sdp)) => {
                assert!(check(&sdp), "{name}: {sdp:?}");
                common::typed_round_trip(&sdp);
            }
        }
        // The lenient mode never panics on the same input either.
        let _ = std::str::from_utf8(&input).map(|t| {
            SessionDescription::parse_with(
                t,
                &ParseOptions {
                    strict_attributes: false,
                    ..ParseOptions::default()
                },
            )
        });
    }
}
