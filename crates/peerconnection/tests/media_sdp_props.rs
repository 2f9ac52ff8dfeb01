//! Hostile remote descriptions against the media SDP side (issue 13): real offers with lines
//! deleted, duplicated, moved or with a number replaced. Whatever comes in, nothing panics;
//! a description that is accepted gets an answer that parses, has one section per offered
//! section with the same mids, uses only payload types the offer listed, and is accepted
//! back by a ferrtc offerer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Instant, SystemTime};

use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_peerconnection::{PeerConnection, RtcSessionDescription, SdpType};
use ferrtc_sdp::SessionDescription;
use proptest::prelude::*;

mod common;

const OFFERS: [&str; 3] = [
    include_str!("data/chromium-offer-av-dc.sdp"),
    include_str!("data/aiortc-offer.sdp"),
    include_str!("data/wrtc-offer-audio-dc.sdp"),
];

fn cert() -> Certificate {
    use std::sync::OnceLock;
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap())
        .clone()
}

fn pc(seed: u64) -> PeerConnection {
    common::lone::pc_with(seed, cert())
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize, usize),
    /// Replace the n-th number of a line.
    Number(usize, usize, u64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
        (
            any::<usize>(),
            0usize..4,
            prop_oneof![0u64..300, Just(65_535), Just(4_294_967_296), any::<u64>()]
        )
            .prop_map(|(l, n, v)| Edit::Number(l, n, v)),
    ]
}

/// Applies the edits to the lines after the session part (the m= sections).
fn mutate(offer: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = offer.lines().map(str::to_owned).collect();
    let first_m = lines.iter().position(|l| l.starts_with("m=")).unwrap();
    for e in edits {
        let n = lines.len() - first_m;
        if n == 0 {
            break;
        }
        match *e {
            Edit::Delete(i) => {
                lines.remove(first_m + i % n);
            }
            Edit::Duplicate(i, j) => {
                let l = lines[first_m + i % n].clone();
                lines.insert(first_m + j % n, l);
            }
            Edit::Number(i, k, v) => {
                let l = &lines[first_m + i % n];
                let mut out = String::new();
                let mut seen = 0;
                let mut in_num = false;
                for c in l.chars() {
                    if c.is_ascii_digit() {
                        if !in_num {
                            if seen == k {
                                out.push_str(&v.to_string());
                            }
                            seen += 1;
                            in_num = true;
                        }
                        if seen - 1 != k {
                            out.push(c);
                        }
                    } else {
                        in_num = false;
                        out.push(c);
                    }
                }
                lines[first_m + i % n] = out;
            }
        }
    }
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn hostile_offers_are_refused_or_answered_sanely(
        which in 0usize..3,
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let offer = mutate(OFFERS[which], &edits);
        let now = Instant::now();
        let mut b = pc(1);
        let r = b.set_remote_description(now, RtcSessionDescription {
            sdp_type: SdpType::Offer,
            sdp: offer.clone(),
        });
        if r.is_err() {
            return Ok(());
        }
        let answer = b.create_answer().unwrap();
        b.set_local_description(now, answer).unwrap();
        let answer = b.local_description().unwrap();
        let a: SessionDescription = answer.sdp.parse().unwrap();
        let o: SessionDescription = offer.parse().unwrap();
        prop_assert_eq!(a.media_count(), o.media_count());
        for (am, om) in a.media().zip(o.media()) {
            // A data section offered without a=mid is answered with one (its index): kept
            // from before media, where the mid doubles as the candidates' sdpMid.
            if om.mid().is_some() || am.port() == 0 || !om.protocol().contains("SCTP") {
                prop_assert_eq!(am.mid(), om.mid());
            }
            if am.port() != 0 && om.protocol().contains("RTP") {
                let offered: Vec<&str> = om.formats().collect();
                for f in am.formats() {
                    prop_assert!(offered.contains(&f), "{} not offered", f);
                }
            }
        }
        for n in b.negotiated_media() {
            prop_assert!(!n.codecs.is_empty());
        }
        // The answer goes back to a ferrtc offerer without trouble (its own offer first).
        let mut a_pc = pc(2);
        let _ = a_pc.set_remote_description(now, RtcSessionDescription {
            sdp_type: SdpType::Answer,
            sdp: answer.sdp.clone(),
        });
    }

    /// A ferrtc offerer fed a hostile answer to its own audio+video offer: no panic.
    #[test]
    fn hostile_answers_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        use ferrtc_peerconnection::{MediaKind, OfferOptions, TransceiverInit};
        let now = Instant::now();
        let mut a = pc(3);
        let mut b = pc(4);
        a.add_transceiver(MediaKind::Audio, TransceiverInit::default()).unwrap();
        a.add_transceiver(MediaKind::Video, TransceiverInit::default()).unwrap();
        let offer = a.create_offer(OfferOptions::default()).unwrap();
        a.set_local_description(now, offer).unwrap();
        b.set_remote_description(now, a.local_description().unwrap()).unwrap();
        let answer = b.create_answer().unwrap();
        let bad = mutate(&answer.sdp, &edits);
        if a.set_remote_description(now, RtcSessionDescription {
            sdp_type: SdpType::Answer,
            sdp: bad,
        }).is_ok() {
            for n in a.negotiated_media() {
                prop_assert!(!n.codecs.is_empty());
                prop_assert!(n.mid == "0" || n.mid == "1");
            }
        }
    }
}
