//! Numeric fields are range-checked (issue 15): a number outside the range its RFC gives is
//! refused with `Error::InvalidValue` naming the line and the field, while the largest (or
//! smallest) value the RFC allows still parses. And the one liberal exception: a rejected
//! media section (port 0) written without formats parses and round-trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::{
    Error, MediaBuilder, MediaKind, ParseOptions, SessionDescription, SessionDescriptionBuilder,
};

/// A description with `session` lines after `t=` (line 5 on) and `media` lines after an
/// audio m= line.
fn sdp(session: &[&str], m: &str, media: &[&str]) -> String {
    let mut s = String::from("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n");
    let (before_t, after_t): (Vec<&str>, Vec<&str>) =
        session.iter().partition(|l| l.starts_with("b="));
    for l in before_t {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("t=0 0\r\n");
    for l in after_t {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str(m);
    s.push_str("\r\n");
    for l in media {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s
}

const M: &str = "m=audio 9 UDP/TLS/RTP/SAVPF 111";

/// (bad line, good line at the edge of the range, field named in the error, RFC).
/// Media-level lines go after `M`; session-level ones (r=, z=, t=-like, b=) before it.
const MEDIA_CASES: &[(&str, &str, &str)] = &[
    // RFC 8285 §5/§6: ids 1-256 (one-byte 1-14, two-byte 1-255, 256 = appbits); §7: 4096-4351
    // may be offered.
    (
        "a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap",
    ),
    (
        "a=extmap:257 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:256 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap",
    ),
    ("a=extmap:4095 urn:x", "a=extmap:4096 urn:x", "a=extmap"),
    ("a=extmap:4352 urn:x", "a=extmap:4351 urn:x", "a=extmap"),
    (
        "a=extmap:70000/sendonly urn:x",
        "a=extmap:14/sendonly urn:x",
        "a=extmap",
    ),
    // RFC 3550 §5.1: the payload type is 7 bits.
    (
        "a=rtpmap:128 opus/48000/2",
        "a=rtpmap:127 opus/48000/2",
        "a=rtpmap",
    ),
    // RFC 8866 §6.6: a clock rate; RFC 3551 §4.1: a channel count of at least one.
    ("a=rtpmap:111 opus/0/2", "a=rtpmap:111 opus/1/2", "a=rtpmap"),
    (
        "a=rtpmap:111 opus/48000/0",
        "a=rtpmap:111 opus/48000/1",
        "a=rtpmap",
    ),
    (
        "a=rtpmap:111 opus/4294967296/2",
        "a=rtpmap:111 opus/4294967295/2",
        "a=rtpmap",
    ),
    (
        "a=rtpmap:111 opus/48000/65536",
        "a=rtpmap:111 opus/48000/65535",
        "a=rtpmap",
    ),
    ("a=rtcp-fb:200 nack", "a=rtcp-fb:0 nack", "a=rtcp-fb"),
    // RFC 5576 §4.1: SSRCs are 32-bit.
    (
        "a=ssrc:4294967296 cname:x",
        "a=ssrc:4294967295 cname:x",
        "a=ssrc",
    ),
    (
        "a=ssrc-group:FID 1 4294967296",
        "a=ssrc-group:FID 1 4294967295",
        "a=ssrc-group",
    ),
    // Ports are 16-bit (RFC 3605 a=rtcp, RFC 8841 a=sctp-port).
    ("a=rtcp:65536", "a=rtcp:65535", "a=rtcp"),
    ("a=sctp-port:65536", "a=sctp-port:65535", "a=sctp-port"),
    // RFC 8841 §6: max-message-size is an integer (we hold 64 bits).
    (
        "a=max-message-size:18446744073709551616",
        "a=max-message-size:18446744073709551615",
        "a=max-message-size",
    ),
    // RFC 8866 §5.8: b= at media level, 64-bit here.
    (
        "b=AS:18446744073709551616",
        "b=AS:18446744073709551615",
        "b=",
    ),
];

const SESSION_CASES: &[(&str, &str, &str)] = &[
    // RFC 8866 §9: repeat-interval = POS-DIGIT *DIGIT [fixed-len-time-unit].
    ("r=0 1h 0", "r=1 1h 0", "r="),
    // 213503982334602 days is more seconds than 64 bits hold; one day less is not.
    ("r=213503982334602d 1h 0", "r=213503982334601d 1h 0", "r="),
    (
        "r=7d 99999999999999999999 0",
        "r=7d 18446744073709551615 0",
        "r=",
    ),
    (
        "r=7d 1h 0 3074457345618258603m",
        "r=7d 1h 0 307445734561825860m",
        "r=",
    ),
    (
        "r=7d 1h 0\r\nz=18446744073709551616 -1h",
        "r=7d 1h 0\r\nz=18446744073709551615 -1h",
        "z=",
    ),
    (
        "r=7d 1h 0\r\nz=2882384638 -5124095576030432h",
        "r=7d 1h 0\r\nz=2882384638 -5124095576030431h",
        "z=",
    ),
    (
        "b=CT:18446744073709551616",
        "b=CT:18446744073709551615",
        "b=",
    ),
];

fn invalid_value(text: &str, opts: &ParseOptions) -> (usize, String) {
    match SessionDescription::parse_with(text, opts) {
        Err(Error::InvalidValue {
            line,
            field,
            message,
        }) => {
            assert!(message.contains("out of range"), "{message}");
            (line, field)
        }
        other => panic!("expected InvalidValue for\n{text}\ngot {other:?}"),
    }
}

#[test]
fn media_level_numbers_out_of_range_name_line_and_field() {
    for strict in [true, false] {
        let opts = ParseOptions {
            strict_attributes: strict,
            ..ParseOptions::default()
        };
        for &(bad, good, field) in MEDIA_CASES {
            let (line, f) = invalid_value(&sdp(&[], M, &[bad]), &opts);
            // v o s t m, then the bad line.
            assert_eq!((line, f.as_str()), (6, field), "{bad}");
            let ok = SessionDescription::parse_with(&sdp(&[], M, &[good]), &opts)
                .unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(ok.media().next().unwrap().lines().nth(1), Some(good));
        }
    }
}

#[test]
fn session_level_numbers_out_of_range_name_line_and_field() {
    let opts = ParseOptions::default();
    for &(bad, good, field) in SESSION_CASES {
        let text = sdp(&[bad], M, &[]);
        let (line, f) = invalid_value(&text, &opts);
        let expected_line = text
            .split("\r\n")
            .position(|l| l.starts_with(field))
            .unwrap()
            + 1;
        assert_eq!((line, f.as_str()), (expected_line, field), "{bad}");
        SessionDescription::parse(&sdp(&[good], M, &[])).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn media_line_numbers_out_of_range() {
    let cases = [
        ("m=audio 65536 RTP/AVP 0", "m=audio 65535 RTP/AVP 0"),
        ("m=audio 9/0 RTP/AVP 0", "m=audio 9/1 RTP/AVP 0"),
        ("m=audio 9/65536 RTP/AVP 0", "m=audio 9/65535 RTP/AVP 0"),
        // RTP profiles: formats are 7-bit payload types (RFC 3551 §6).
        ("m=audio 9 RTP/AVP 0 128", "m=audio 9 RTP/AVP 0 127"),
        (
            "m=video 9 UDP/TLS/RTP/SAVPF 96 1000",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 100",
        ),
    ];
    for (bad, good) in cases {
        let (line, f) = invalid_value(&sdp(&[], bad, &[]), &ParseOptions::default());
        assert_eq!((line, f.as_str()), (5, "m="), "{bad}");
        let ok = SessionDescription::parse(&sdp(&[], good, &[])).unwrap();
        assert_eq!(ok.media().next().unwrap().lines().next(), Some(good));
    }
    // Not digits at all is grammar, not range.
    let e = SessionDescription::parse(&sdp(&[], "m=audio 9 RTP/AVP opus", &[])).unwrap_err();
    assert!(matches!(e, Error::Syntax { line: 5, .. }), "{e:?}");
    // Formats of non-RTP protocols are not payload types.
    SessionDescription::parse(&sdp(
        &[],
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        &[],
    ))
    .unwrap();
}

/// A rejected section written without formats, as some older browsers do:
/// `m=audio 0 RTP/AVP`. RFC 8866 §5.14 wants a format, but nothing is negotiated in a
/// rejected section, so it is accepted. It round-trips both as text and through the typed
/// values (built again with the builder from what was parsed).
#[test]
fn rejected_media_section_without_formats_parses_and_round_trips() {
    let text = sdp(&[], "m=audio 0 RTP/AVP", &["a=inactive"]);
    let parsed = SessionDescription::parse(&text).unwrap();
    assert_eq!(parsed.to_string(), text);
    let m = parsed.media().next().unwrap();
    assert_eq!(m.port(), 0);
    assert_eq!(m.kind(), MediaKind::Audio);
    assert_eq!(m.media_line().protocol, "RTP/AVP");
    assert_eq!(m.formats().count(), 0);
    assert_eq!(m.media_line().to_string(), "audio 0 RTP/AVP");
    // Typed round trip: rebuild from the typed values, parse, compare typed values.
    let ml = m.media_line();
    let rebuilt = SessionDescriptionBuilder::new()
        .media(MediaBuilder::new(ml.kind, ml.port, ml.protocol).direction(m.direction()))
        .build()
        .unwrap();
    let r = rebuilt.media().next().unwrap();
    assert_eq!(
        (
            r.kind(),
            r.port(),
            r.media_line().protocol,
            r.formats().count(),
            r.direction()
        ),
        (ml.kind, 0, "RTP/AVP", 0, m.direction())
    );
    assert_eq!(r.media_line(), ml);
    // Only a rejected section may omit formats.
    let e = SessionDescription::parse(&sdp(&[], "m=audio 9 RTP/AVP", &[])).unwrap_err();
    assert!(matches!(e, Error::Syntax { line: 5, .. }), "{e:?}");
}
