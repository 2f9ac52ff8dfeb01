//! Property tests: generated descriptions round-trip with their typed values intact, and
//! arbitrary input never panics (whatever parses also re-prints and re-parses equal).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::{
    Attribute, Connection, Direction, Extmap, MediaBuilder, MediaKind, Rtpmap, SessionDescription,
    Setup, Ssrc,
};
use proptest::prelude::*;

mod common;

const CHROME: &str = include_str!("data/sdp/chromium-offer-av-dc.sdp");

#[derive(Debug, Clone)]
struct GenCodec {
    pt: u8,
    name: String,
    clock: u32,
    channels: Option<u16>,
    fmtp: Vec<(String, u32)>,
    fb: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone)]
struct GenMedia {
    kind: u8,
    port: u16,
    mid: String,
    dir: u8,
    ufrag: String,
    pwd: String,
    setup: u8,
    codecs: Vec<GenCodec>,
    extmaps: Vec<(u16, String)>,
    ssrcs: Vec<(u32, String)>,
    unknown: Vec<(String, Option<String>)>,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_.+-]{0,11}"
}

fn codec() -> impl Strategy<Value = GenCodec> {
    (
        0u8..=127,
        "[A-Za-z][A-Za-z0-9-]{0,7}",
        1u32..200_000,
        proptest::option::of(1u16..9),
        proptest::collection::vec(("[a-z][a-z-]{0,10}", any::<u32>()), 0..4),
        proptest::collection::vec((token(), proptest::option::of(token())), 0..4),
    )
        .prop_map(|(pt, name, clock, channels, fmtp, fb)| GenCodec {
            pt,
            name,
            clock,
            channels,
            fmtp,
            fb,
        })
}

fn media() -> impl Strategy<Value = GenMedia> {
    (
        (
            0u8..3,
            any::<u16>(),
            token(),
            0u8..4,
            "[A-Za-z0-9+/]{4,8}",
            "[A-Za-z0-9+/]{22,32}",
            0u8..4,
        ),
        proptest::collection::vec(codec(), 1..5),
        proptest::collection::vec((1u16..15, "urn:[a-z:-]{1,30}"), 0..4),
        proptest::collection::vec((any::<u32>(), token()), 0..3),
        proptest::collection::vec(
            ("x-[a-z-]{1,10}", proptest::option::of("[ -~]{0,20}")),
            0..3,
        ),
    )
        .prop_map(
            |((kind, port, mid, dir, ufrag, pwd, setup), codecs, extmaps, ssrcs, unknown)| {
                GenMedia {
                    kind,
                    port,
                    mid,
                    dir,
                    ufrag,
                    pwd,
                    setup,
                    codecs,
                    extmaps,
                    ssrcs,
                    unknown,
                }
            },
        )
}

const DIRS: [Direction; 4] = [
    Direction::SendRecv,
    Direction::SendOnly,
    Direction::RecvOnly,
    Direction::Inactive,
];
const SETUPS: [Setup; 4] = [
    Setup::Active,
    Setup::Passive,
    Setup::ActPass,
    Setup::HoldConn,
];

fn build(id: u64, name: &str, media: &[GenMedia]) -> SessionDescription {
    // The builder borrows its text: the fmtp parameter strings live until it has written.
    let fmtps: Vec<Vec<String>> = media
        .iter()
        .map(|m| {
            m.codecs
                .iter()
                .map(|c| {
                    let p: Vec<String> = c.fmtp.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    p.join(";")
                })
                .collect()
        })
        .collect();
    let mut b = SessionDescription::builder()
        .session_id(id, 1)
        .session_name(name)
        .group("BUNDLE", media.iter().map(|m| m.mid.as_str()));
    for (m, fmtps) in media.iter().zip(&fmtps) {
        let kind = [MediaKind::Audio, MediaKind::Video, MediaKind::Other("text")][m.kind as usize];
        let mut mb = MediaBuilder::new(kind, m.port, "UDP/TLS/RTP/SAVPF")
            .connection(Connection {
                nettype: "IN",
                addrtype: "IP4",
                address: "0.0.0.0",
            })
            .mid(&m.mid)
            .direction(DIRS[m.dir as usize])
            .ice_credentials(&m.ufrag, &m.pwd)
            .setup(SETUPS[m.setup as usize]);
        for (c, fmtp) in m.codecs.iter().zip(fmtps) {
            let fb: Vec<(&str, Option<&str>)> =
                c.fb.iter()
                    .map(|(a, b)| (a.as_str(), b.as_deref()))
                    .collect();
            mb = mb.codec(
                Rtpmap {
                    payload_type: c.pt,
                    encoding_name: &c.name,
                    clock_rate: c.clock,
                    channels: c.channels,
                },
                fmtp,
                &fb,
            );
        }
        for (id, uri) in &m.extmaps {
            mb = mb.attribute(Attribute::Extmap(Extmap {
                id: *id,
                direction: None,
                uri,
                attributes: None,
            }));
        }
        for (ssrc, cname) in &m.ssrcs {
            mb = mb.attribute(Attribute::Ssrc(Ssrc {
                ssrc: *ssrc,
                attribute: "cname",
                value: Some(cname),
            }));
        }
        for (name, value) in &m.unknown {
            mb = mb.attribute(Attribute::Other {
                name,
                value: value.as_deref(),
            });
        }
        b = b.media(mb);
    }
    b.build().unwrap()
}

proptest! {
    #[test]
    fn generated_descriptions_round_trip(
        id in any::<u64>(),
        name in "[ -~]{1,30}",
        media in proptest::collection::vec(media(), 0..4),
    ) {
        let sdp = build(id, &name, &media);
        let text = sdp.to_string();
        // Typed values survive printing from the typed views and parsing again; the
        // checks below compare the re-parsed values with the generator's.
        let again: SessionDescription = common::typed_round_trip(&sdp).parse().unwrap();
        let lf: SessionDescription = text.replace("\r\n", "\n").parse().unwrap();
        common::assert_same_typed(&lf, &sdp);

        prop_assert_eq!(again.origin().session_id_u64(), Some(id));
        prop_assert_eq!(again.session_name(), name.as_str());
        prop_assert_eq!(again.media_count(), media.len());
        for (m, g) in again.media().zip(&media) {
            prop_assert_eq!(m.port(), g.port);
            prop_assert_eq!(m.mid(), Some(g.mid.as_str()));
            prop_assert_eq!(m.direction(), DIRS[g.dir as usize]);
            prop_assert_eq!(m.setup(), Some(SETUPS[g.setup as usize]));
            let ice = m.ice_credentials().unwrap();
            prop_assert_eq!((ice.ufrag, ice.pwd), (g.ufrag.as_str(), g.pwd.as_str()));
            let codecs = m.codecs();
            prop_assert_eq!(codecs.len(), g.codecs.len());
            for (c, gc) in codecs.iter().zip(&g.codecs) {
                prop_assert_eq!(c.payload_type, gc.pt);
                // Duplicate payload types join to the first rtpmap, as a receiver would.
                let first = g.codecs.iter().find(|x| x.pt == gc.pt).unwrap();
                prop_assert_eq!(c.name(), Some(first.name.as_str()));
                prop_assert_eq!(c.clock_rate(), Some(first.clock));
                prop_assert_eq!(c.channels(), first.channels);
            }
            let ext: Vec<_> = m.extmaps().map(|e| (e.id, e.uri.to_owned())).collect();
            prop_assert_eq!(ext, g.extmaps.clone());
            let ssrcs: Vec<_> = m.ssrcs().map(|s| (s.ssrc, s.value.unwrap().to_owned())).collect();
            prop_assert_eq!(ssrcs, g.ssrcs.clone());
            let unknown: Vec<_> = m
                .attributes()
                .filter_map(|a| match a {
                    Attribute::Other { name, value } => Some((name.to_owned(), value.map(str::to_owned))),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(unknown, g.unknown.clone());
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC*") {
        if let Ok(sdp) = s.parse::<SessionDescription>() {
            common::typed_round_trip(&sdp);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(sdp) = SessionDescription::from_bytes(&b) {
            common::typed_round_trip(&sdp);
        }
    }

    /// A real offer with one line replaced by random text: never panics, and whatever
    /// parses round-trips. This reaches the attribute parsers far more often than random
    /// strings do.
    #[test]
    fn mutated_real_offer(line in 0usize..177, prefix in "[a-z]=[a-z-]{0,12}:?", rest in "[ -~]{0,40}") {
        let mut lines: Vec<&str> = CHROME.split("\r\n").collect();
        let new = format!("{prefix}{rest}");
        lines[line] = &new;
        let text = lines.join("\r\n");
        if let Ok(sdp) = text.parse::<SessionDescription>() {
            common::typed_round_trip(&sdp);
        }
    }

    /// Typed attribute lines print back the same when written canonically.
    #[test]
    fn attribute_lines_round_trip(line in "(rtpmap|fmtp|rtcp-fb|extmap|ssrc|rid|simulcast|group|msid|fingerprint|setup|sctp-port):[ -~]{0,40}") {
        if let Ok(a) = Attribute::parse_line(&line) {
            let printed = a.to_string();
            let again = Attribute::parse_line(&printed).unwrap();
            prop_assert_eq!(again, a);
        }
    }
}
