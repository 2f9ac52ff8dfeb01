//! The writer: descriptions printed from typed values (`to_builder().to_text()`,
//! `Line::write_to`), checked against the `Display` re-print of tests/common (a separate
//! implementation), against the source text of real offers and against literal text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use ferrtc_sdp::{
    Attribute, Connection, Direction, Line, MediaBuilder, MediaKind, Rtpmap, SessionDescription,
    Setup,
};

const REAL: [(&str, &str); 6] = [
    ("aiortc", include_str!("data/sdp/aiortc-offer.sdp")),
    (
        "chromium-av-dc",
        include_str!("data/sdp/chromium-offer-av-dc.sdp"),
    ),
    (
        "chromium-dc-mdns",
        include_str!("data/sdp/chromium-offer-dc-mdns.sdp"),
    ),
    ("werift", include_str!("data/sdp/werift-offer.sdp")),
    (
        "wrtc-audio-dc",
        include_str!("data/sdp/wrtc-offer-audio-dc.sdp"),
    ),
    ("wrtc", include_str!("data/sdp/wrtc-offer.sdp")),
];

#[test]
fn real_offers_rewritten_from_typed_values() {
    for (name, text) in REAL {
        let sdp: SessionDescription = text.parse().unwrap();
        let b = sdp.to_builder();
        let written = b.to_text();
        assert!(
            written.len() <= b.encoded_len_hint(),
            "{name}: hint {} < {}",
            b.encoded_len_hint(),
            written.len()
        );
        // Same text as the Display-based re-print (independent code) ...
        assert_eq!(written, common::reprint(&sdp), "{name}");
        // ... and the same typed values once parsed again.
        let again: SessionDescription = written.parse().unwrap();
        common::assert_same_typed(&sdp, &again);
        // Line by line, too.
        let mut lines = String::new();
        for l in sdp.typed_lines() {
            l.write_to(&mut lines);
        }
        assert_eq!(lines, written, "{name}");
        assert_eq!(sdp.typed_lines().count(), sdp.line_count());
    }
}

#[test]
fn chromium_offer_is_canonical() {
    // Chromium writes every line in the canonical form, so printing its typed values gives
    // the file back byte for byte.
    let text = include_str!("data/sdp/chromium-offer-av-dc.sdp");
    let sdp: SessionDescription = text.parse().unwrap();
    assert_eq!(sdp.to_builder().to_text(), text);
}

#[test]
fn typed_lines_are_typed() {
    let sdp: SessionDescription = include_str!("data/sdp/chromium-offer-av-dc.sdp")
        .parse()
        .unwrap();
    let lines: Vec<Line<'_>> = sdp.typed_lines().collect();
    assert_eq!(lines[0], Line::Version);
    let Line::Origin(o) = lines[1] else {
        panic!("{:?}", lines[1])
    };
    assert_eq!(o.session_id, "5562781269614818717");
    assert_eq!(lines[2], Line::SessionName("-"));
    let Line::Media(m) = lines[7] else {
        panic!("{:?}", lines[7])
    };
    assert_eq!((m.kind, m.port), (MediaKind::Audio, 41767));
    assert!(lines.contains(&Line::Attribute(Attribute::Rtpmap(Rtpmap {
        payload_type: 111,
        encoding_name: "opus",
        clock_rate: 48000,
        channels: Some(2),
    }))));
    // No attribute of this offer falls back to text but the unknown ones.
    for l in &lines {
        if let Line::Attribute(Attribute::Other { name, .. }) = l {
            assert!(
                ["rtcp-xr", "sctpmap", "extmap-allow-mixed"].contains(name)
                    || name.starts_with("x-"),
                "{name}"
            );
        }
    }
}

#[test]
fn builder_writes_the_expected_text() {
    let b = SessionDescription::builder()
        .session_id(4611731400430051336, 2)
        .group("BUNDLE", ["0", "1"])
        .ice_lite()
        .msid_semantic("WMS", "")
        .media(
            MediaBuilder::new(MediaKind::Audio, 9, "UDP/TLS/RTP/SAVPF")
                .connection(Connection {
                    nettype: "IN",
                    addrtype: "IP4",
                    address: "0.0.0.0",
                })
                .ice_credentials("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1")
                .ice_options("trickle")
                .fingerprint("sha-256", "D2:FA")
                .setup(Setup::ActPass)
                .candidate("candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host")
                .candidate("a=candidate:2 1 udp 1 192.0.2.2 9 typ host")
                .end_of_candidates()
                .mid("0")
                .direction(Direction::Inactive)
                .rtcp_mux()
                .codec(
                    Rtpmap {
                        payload_type: 111,
                        encoding_name: "opus",
                        clock_rate: 48000,
                        channels: Some(2),
                    },
                    "minptime=10",
                    &[("transport-cc", None), ("nack", Some("pli"))],
                )
                .attribute(Attribute::Ptime(20.0))
                .attribute(Attribute::Framerate(29.97)),
        )
        .media(
            MediaBuilder::new(MediaKind::Application, 0, "UDP/DTLS/SCTP")
                .format("webrtc-datachannel")
                .mid("1")
                .sctp(5000, 262144),
        );
    let expected = "v=0\r\n\
        o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        t=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        a=ice-lite\r\n\
        a=msid-semantic: WMS\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        c=IN IP4 0.0.0.0\r\n\
        a=ice-ufrag:EsAw\r\n\
        a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n\
        a=ice-options:trickle\r\n\
        a=fingerprint:sha-256 D2:FA\r\n\
        a=setup:actpass\r\n\
        a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n\
        a=candidate:2 1 udp 1 192.0.2.2 9 typ host\r\n\
        a=end-of-candidates\r\n\
        a=mid:0\r\n\
        a=inactive\r\n\
        a=rtcp-mux\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        a=rtcp-fb:111 transport-cc\r\n\
        a=rtcp-fb:111 nack pli\r\n\
        a=fmtp:111 minptime=10\r\n\
        a=ptime:20\r\n\
        a=framerate:29.97\r\n\
        m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        a=mid:1\r\n\
        a=sctp-port:5000\r\n\
        a=max-message-size:262144\r\n";
    let text = b.to_text();
    assert_eq!(text, expected);
    assert!(text.len() <= b.encoded_len_hint());
    let sdp = b.build().unwrap();
    assert!(sdp.ice_lite());
    assert_eq!(sdp.media().next().unwrap().candidates().count(), 2);
}

#[test]
fn modified_description_is_written_from_its_values() {
    let text = include_str!("data/sdp/chromium-offer-dc-mdns.sdp");
    let sdp: SessionDescription = text.parse().unwrap();
    let out = sdp
        .to_builder()
        .session_id(7, 3)
        .session_name("changed")
        .to_text();
    assert!(
        out.starts_with("v=0\r\no=- 7 3 IN IP4 127.0.0.1\r\ns=changed\r\n"),
        "{out}"
    );
    let again: SessionDescription = out.parse().unwrap();
    assert_eq!(again.session_name(), "changed");
    assert_eq!(again.media_count(), sdp.media_count());
    assert_eq!(again.line_count(), sdp.line_count());
}
