//! Real offers captured from browsers and stacks (tests/data/sdp, copied from the shared
//! conformance set), one test per file. Each checks:
//! - the exact round trip: `print(parse(x)) == x` (the files use CRLF);
//! - that bare-LF input parses to an equal value and prints the same CRLF text;
//! - the typed view against values read off the file by eye.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::{Direction, MediaKind, SessionDescription, Setup};

fn round_trip(text: &str) -> SessionDescription {
    let sdp: SessionDescription = text.parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sdp.to_string(), text);
    let mut buf = Vec::new();
    sdp.write_to(&mut buf);
    assert_eq!(buf, text.as_bytes());
    assert_eq!(sdp.encoded_len(), text.len());
    let lf: SessionDescription = text.replace("\r\n", "\n").parse().unwrap();
    assert_eq!(lf, sdp);
    assert_eq!(lf.to_string(), text);
    assert_eq!(lf.encoded_len(), text.len());
    sdp
}

#[test]
fn chromium_offer_av_dc() {
    let sdp = round_trip(include_str!("data/sdp/chromium-offer-av-dc.sdp"));
    assert_eq!(sdp.origin().session_id_u64(), Some(5562781269614818717));
    assert_eq!(
        sdp.bundle_groups()
            .next()
            .unwrap()
            .mids()
            .collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    assert!(sdp.extmap_allow_mixed());
    assert_eq!(sdp.msid_semantic().unwrap().semantic, "WMS");
    let m: Vec<_> = sdp.media().collect();
    assert_eq!(m.len(), 3);
    let (audio, video, data) = (&m[0], &m[1], &m[2]);
    assert_eq!(audio.kind(), MediaKind::Audio);
    assert_eq!(audio.port(), 41767);
    assert_eq!(audio.protocol(), "UDP/TLS/RTP/SAVPF");
    assert_eq!(audio.mid(), Some("0"));
    assert_eq!(audio.direction(), Direction::SendRecv);
    let ice = audio.ice_credentials().unwrap();
    assert_eq!((ice.ufrag, ice.pwd), ("ydZu", "Iu4V/5icSkOO0AiweY9PU6Pk"));
    assert_eq!(audio.ice_options(), ["trickle"]);
    let fp = audio.fingerprint().unwrap();
    assert_eq!(fp.algorithm, "sha-256");
    assert_eq!(fp.bytes().len(), 32);
    assert_eq!(audio.setup(), Some(Setup::ActPass));
    assert!(audio.rtcp_mux() && audio.rtcp_rsize() && !audio.rtcp_mux_only());
    assert_eq!(audio.rtcp().unwrap().port, 9);
    assert_eq!(audio.candidates().count(), 2);
    let codecs = audio.codecs();
    assert_eq!(codecs.len(), 8);
    assert_eq!(codecs[0].payload_type, 111);
    assert_eq!(codecs[0].name(), Some("opus"));
    assert_eq!(codecs[0].channels(), Some(2));
    assert_eq!(
        codecs[0].fmtp_params(),
        [("minptime", Some("10")), ("useinbandfec", Some("1"))]
    );
    assert_eq!(codecs[0].rtcp_fb.len(), 1);
    assert_eq!(codecs[1].fmtp_params(), [("111/111", None)]);
    let ext: Vec<_> = audio.extmaps().map(|e| (e.id, e.uri)).collect();
    assert_eq!(ext[3], (4, "urn:ietf:params:rtp-hdrext:sdes:mid"));
    assert_eq!(audio.ssrcs().count(), 2);
    assert_eq!(audio.ssrcs().next().unwrap().ssrc, 3973733779);
    assert_eq!(
        audio.msids().next().unwrap().track_id,
        Some("45b86129-48f1-4c05-9143-43a34e2b2fd3")
    );

    let vcodecs = video.codecs();
    assert_eq!(vcodecs.len(), 23);
    let vp8 = video.codec(96).unwrap();
    assert_eq!(vp8.name(), Some("VP8"));
    let fb: Vec<_> = vp8.rtcp_fb.iter().map(|f| (f.feedback, f.param)).collect();
    assert_eq!(
        fb,
        [
            ("goog-remb", None),
            ("transport-cc", None),
            ("ccm", Some("fir")),
            ("nack", None),
            ("nack", Some("pli"))
        ]
    );
    assert_eq!(
        video.codec(97).unwrap().fmtp.unwrap().get("apt"),
        Some("96")
    );
    let fid = video.ssrc_groups().next().unwrap();
    assert_eq!(fid.semantics, "FID");
    assert_eq!(fid.ssrcs().collect::<Vec<_>>(), [1804869742, 2009766689]);
    assert_eq!(video.extmaps().count(), 11);

    assert_eq!(data.kind(), MediaKind::Application);
    assert_eq!(data.protocol(), "UDP/DTLS/SCTP");
    assert_eq!(data.formats().collect::<Vec<_>>(), ["webrtc-datachannel"]);
    assert!(data.codecs().is_empty());
    assert_eq!(data.sctp_port(), Some(5000));
    assert_eq!(data.max_message_size(), Some(262144));
}

#[test]
fn chromium_offer_dc_mdns() {
    let sdp = round_trip(include_str!("data/sdp/chromium-offer-dc-mdns.sdp"));
    let dc = sdp.media().next().unwrap();
    assert!(dc.candidates().next().unwrap().contains(".local 49173"));
    assert_eq!(dc.ice_credentials().unwrap().ufrag, "bUf+");
    assert_eq!(sdp.msid_semantic().unwrap().ids().count(), 0);
}

#[test]
fn aiortc_offer() {
    let sdp = round_trip(include_str!("data/sdp/aiortc-offer.sdp"));
    assert!(sdp.media_count() >= 2);
    for m in sdp.media() {
        assert!(m.ice_credentials().is_some(), "{m:?}");
        assert!(m.fingerprint().is_some());
    }
}

#[test]
fn werift_offer() {
    let sdp = round_trip(include_str!("data/sdp/werift-offer.sdp"));
    let dc = sdp.media().next().unwrap();
    assert!(dc.end_of_candidates());
    assert_eq!(dc.max_message_size(), Some(65536));
    assert_eq!(
        sdp.msid_semantic().unwrap().ids().collect::<Vec<_>>(),
        ["*"]
    );
}

#[test]
fn wrtc_offer() {
    let sdp = round_trip(include_str!("data/sdp/wrtc-offer.sdp"));
    assert!(sdp.media_count() >= 1);
}

#[test]
fn wrtc_offer_audio_dc() {
    let sdp = round_trip(include_str!("data/sdp/wrtc-offer-audio-dc.sdp"));
    let kinds: Vec<_> = sdp.media().map(|m| m.kind()).collect();
    assert!(kinds.contains(&MediaKind::Audio));
    assert!(kinds.contains(&MediaKind::Application));
}

/// Errors name the line and what is wrong.
#[test]
fn errors_name_the_line() {
    let good = include_str!("data/sdp/chromium-offer-dc-mdns.sdp");
    let cases = [
        ("a=setup:actpass", "a=setup:sideways", 15, "setup"),
        ("a=sctp-port:5000", "a=sctp-port:x", 17, "sctp-port"),
        ("t=0 0", "t=0", 4, "t="),
        ("c=IN IP4 0.0.0.0", "c=IN IP4", 9, "c="),
        ("a=mid:0", "A=mid:0", 16, "lower-case"),
        ("s=-", "q=-", 3, "s="),
    ];
    for (from, to, line, what) in cases {
        let bad = good.replacen(from, to, 1);
        let e = bad.parse::<SessionDescription>().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(&format!("line {line}:")), "{msg}");
        assert!(msg.contains(what), "{msg}");
    }
    // Out of order: c= after a= at session level.
    let bad = good.replacen(
        "a=msid-semantic: WMS\r\n",
        "a=msid-semantic: WMS\r\nc=IN IP4 1.2.3.4\r\n",
        1,
    );
    let msg = bad.parse::<SessionDescription>().unwrap_err().to_string();
    assert!(msg.contains("line 8") && msg.contains("order"), "{msg}");
}

/// Cutting a valid description anywhere never panics; cutting inside the mandatory
/// header is an error.
#[test]
fn every_truncation_is_handled() {
    let text = include_str!("data/sdp/chromium-offer-av-dc.sdp");
    for i in 0..text.len() {
        let r = text[..i].parse::<SessionDescription>();
        if i < text.find("t=0 0").unwrap() + 4 {
            assert!(r.is_err(), "prefix {i} parsed");
        }
        if let Ok(sdp) = r {
            let again: SessionDescription = sdp.to_string().parse().unwrap();
            assert_eq!(again, sdp);
        }
    }
}

/// Lenient mode keeps a malformed known attribute verbatim instead of failing; typed
/// accessors then skip it. The line grammar is still enforced.
#[test]
fn lenient_attributes() {
    use ferrtc_sdp::{Attribute, ParseOptions};
    let good = include_str!("data/sdp/chromium-offer-dc-mdns.sdp");
    let bad = good.replacen("a=setup:actpass", "a=setup:actpass ", 1);
    assert!(bad.parse::<SessionDescription>().is_err());
    let lenient = ParseOptions {
        strict_attributes: false,
        ..ParseOptions::default()
    };
    let sdp = SessionDescription::parse_with(&bad, &lenient).unwrap();
    assert_eq!(sdp.to_string(), bad);
    let m = sdp.media().next().unwrap();
    assert_eq!(m.setup(), None);
    assert!(m.attributes().any(|a| a
        == Attribute::Other {
            name: "setup",
            value: Some("actpass ")
        }));
    // Still a grammar error: a non-token attribute name, or a bad m= line.
    let e = SessionDescription::parse_with(&good.replacen("a=mid:0", "a=m id:0", 1), &lenient);
    assert!(e.is_err());
    let e = SessionDescription::parse_with(
        &good.replacen("m=application 9", "m=application x", 1),
        &lenient,
    );
    assert!(e.is_err());
}

/// Static payload types without rtpmap get their RFC 3551 names (RFC 8866 §5 example).
#[test]
fn static_payload_types() {
    let sdp: SessionDescription = "v=0\n\
        o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\n\
        s=Call\n\
        t=0 0\n\
        m=audio 49170 RTP/AVP 0 96\n\
        a=rtpmap:96 opus/48000/2\n"
        .parse()
        .unwrap();
    let m = sdp.media().next().unwrap();
    let c = m.codecs();
    assert_eq!((c[0].name(), c[0].clock_rate()), (Some("PCMU"), Some(8000)));
    assert_eq!(c[1].name(), Some("opus"));
}

/// The configurable limits turn oversized input into errors.
#[test]
fn limits_are_enforced() {
    use ferrtc_sdp::{Error, ParseOptions};
    let text = include_str!("data/sdp/chromium-offer-av-dc.sdp");
    let with = |o: ParseOptions| SessionDescription::parse_with(text, &o);
    let d = ParseOptions::default();
    assert!(with(d).is_ok());
    assert!(matches!(
        with(ParseOptions {
            max_bytes: 1000,
            ..d
        }),
        Err(Error::TooLarge { max: 1000, .. })
    ));
    assert!(matches!(
        with(ParseOptions {
            max_lines: 100,
            ..d
        }),
        Err(Error::TooManyLines { max: 100 })
    ));
    assert!(matches!(
        with(ParseOptions { max_media: 2, ..d }),
        Err(Error::TooManyMedia { max: 2 })
    ));
    // Stray CR and NUL are errors that name the line.
    let e = text
        .replacen("s=-", "s=a\rb", 1)
        .parse::<SessionDescription>()
        .unwrap_err();
    assert_eq!(e.to_string(), "SDP line 3: stray CR or NUL inside the line");
    let e = text
        .replacen("s=-", "s=\0", 1)
        .parse::<SessionDescription>()
        .unwrap_err();
    assert_eq!(e.to_string(), "SDP line 3: stray CR or NUL inside the line");
    assert!(matches!(
        SessionDescription::from_bytes(b"v=0\r\n\xff"),
        Err(Error::NotUtf8(5))
    ));
}
