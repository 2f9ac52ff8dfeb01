//! JSEP: real offers from browsers and stacks, signaling state rules, rollback, renegotiation,
//! ICE restart, trickle candidates with the W3C JSON shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ferrtc_peerconnection::{
    ChannelInit, Error, Event, IceCandidateInit, OfferOptions, RtcSessionDescription, SdpType,
    SignalingState,
};
use ferrtc_sdp::SessionDescription;

mod common;
use common::lone::{desc, events, pc};

const OFFERS: &[(&str, &str)] = &[
    (
        "chromium av+dc",
        include_str!("data/chromium-offer-av-dc.sdp"),
    ),
    (
        "chromium dc mdns",
        include_str!("data/chromium-offer-dc-mdns.sdp"),
    ),
    ("aiortc", include_str!("data/aiortc-offer.sdp")),
    ("werift", include_str!("data/werift-offer.sdp")),
    ("wrtc", include_str!("data/wrtc-offer.sdp")),
    (
        "wrtc audio+dc",
        include_str!("data/wrtc-offer-audio-dc.sdp"),
    ),
];

#[test]
fn answers_every_real_offer() {
    for (name, offer) in OFFERS {
        let now = Instant::now();
        let mut pc = pc(9);
        pc.set_remote_description(now, desc(SdpType::Offer, offer))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pc.signaling_state(), SignalingState::HaveRemoteOffer);
        let answer = pc.create_answer().unwrap();
        pc.set_local_description(now, answer).unwrap();
        let answer = pc.local_description().unwrap();
        let a: SessionDescription = answer.sdp.parse().unwrap();
        let o: SessionDescription = offer.parse().unwrap();
        // One answer section per offered section, same mids, in order (RFC 3264 §6).
        assert_eq!(a.media_count(), o.media_count(), "{name}");
        for (am, om) in a.media().zip(o.media()) {
            assert_eq!(am.mid(), om.mid(), "{name}");
            assert_eq!(am.protocol(), om.protocol(), "{name}");
        }
        // The data section is accepted, on the offerer's BUNDLE transport, as DTLS client.
        let dm = a.media().find(|m| m.protocol().contains("SCTP")).unwrap();
        assert_ne!(dm.port(), 0, "{name}");
        assert_eq!(dm.setup(), Some(ferrtc_sdp::Setup::Active), "{name}");
        assert!(dm.sctp_port().is_some(), "{name}");
        assert!(dm.max_message_size().is_some(), "{name}");
        if o.bundle_groups().next().is_some() {
            let group: Vec<String> = a
                .bundle_groups()
                .next()
                .unwrap()
                .mids()
                .map(str::to_owned)
                .collect();
            assert!(group.iter().any(|m| Some(m.as_str()) == dm.mid()), "{name}");
        }
        assert!(answer.sdp.contains("a=candidate:"), "{name}");
        assert_eq!(pc.signaling_state(), SignalingState::Stable);
    }
}

#[test]
fn signaling_state_rules() {
    let now = Instant::now();
    let mut pc = pc(9);
    // createAnswer without a remote offer: InvalidStateError.
    assert!(matches!(pc.create_answer(), Err(Error::InvalidState(_))));
    // An answer in stable: InvalidStateError.
    let offer_text = OFFERS[0].1;
    assert!(matches!(
        pc.set_remote_description(now, desc(SdpType::Answer, offer_text)),
        Err(Error::InvalidState(_))
    ));
    // Garbage SDP: an error, state unchanged.
    assert!(pc
        .set_remote_description(now, desc(SdpType::Offer, "v=0\r\nnonsense"))
        .is_err());
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    // A data section without a fingerprint is refused (RFC 8842 §5.1).
    let no_fp: String = offer_text
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert!(pc
        .set_remote_description(now, desc(SdpType::Offer, &no_fp))
        .is_err());
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    // Rollback of a remote offer.
    pc.set_remote_description(now, desc(SdpType::Offer, offer_text))
        .unwrap();
    pc.set_remote_description(now, desc(SdpType::Rollback, ""))
        .unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    assert!(pc.remote_description().is_none());
    // Rollback of a local offer.
    pc.create_data_channel(ChannelInit::default()).unwrap();
    let offer = pc.create_offer(OfferOptions::default()).unwrap();
    pc.set_local_description(now, offer).unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::HaveLocalOffer);
    // Glare: a remote offer in have-local-offer is refused.
    assert!(pc
        .set_remote_description(now, desc(SdpType::Offer, offer_text))
        .is_err());
    pc.set_local_description(now, desc(SdpType::Rollback, ""))
        .unwrap();
    assert_eq!(pc.signaling_state(), SignalingState::Stable);
    // A munged offer is refused.
    let mut offer = pc.create_offer(OfferOptions::default()).unwrap();
    offer.sdp = offer.sdp.replace("a=ice-pwd:", "a=ice-pwd:x");
    assert!(pc.set_local_description(now, offer).is_err());
    // Close: everything after it is InvalidStateError.
    pc.close();
    assert!(matches!(
        pc.create_offer(OfferOptions::default()),
        Err(Error::Closed)
    ));
}

#[test]
fn trickle_events_and_w3c_json() {
    let now = Instant::now();
    let mut pc = pc(9);
    pc.create_data_channel(ChannelInit::default()).unwrap();
    let ev = events(&mut pc);
    assert!(ev.contains(&Event::NegotiationNeeded));
    // No candidate events before setLocalDescription (W3C).
    assert!(!ev.iter().any(|e| matches!(e, Event::IceCandidate(_))));
    let offer = pc.create_offer(OfferOptions::default()).unwrap();
    pc.set_local_description(now, offer).unwrap();
    let ev = events(&mut pc);
    let cands: Vec<&IceCandidateInit> = ev
        .iter()
        .filter_map(|e| match e {
            Event::IceCandidate(Some(c)) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(cands.len(), 1);
    assert!(ev.contains(&Event::IceCandidate(None)), "end of candidates");
    let json = serde_json::to_value(cands[0]).unwrap();
    assert!(json["candidate"]
        .as_str()
        .unwrap()
        .starts_with("candidate:"));
    assert_eq!(json["sdpMid"], "0");
    assert_eq!(json["sdpMLineIndex"], 0);
    assert!(json["usernameFragment"].is_string());
    // And back, as a browser sends it.
    let back: IceCandidateInit = serde_json::from_value(json).unwrap();
    assert_eq!(&back, cands[0]);
}

#[test]
fn ice_restart_changes_credentials() {
    let now = Instant::now();
    let mut a = pc(9);
    let mut b = pc(9);
    a.create_data_channel(ChannelInit::default()).unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(now, answer).unwrap();
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    let ufrag = |d: &RtcSessionDescription| {
        d.sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_owned()
    };
    let before = ufrag(&a.local_description().unwrap());
    // A re-offer without restart keeps the credentials and the data section's mid.
    let re = a.create_offer(OfferOptions::default()).unwrap();
    assert_eq!(ufrag(&re), before);
    assert!(re.sdp.contains("a=mid:0"));
    let restart = a.create_offer(OfferOptions { ice_restart: true }).unwrap();
    assert_ne!(ufrag(&restart), before);
    a.set_local_description(now, restart).unwrap();
    let b_before = ufrag(&b.local_description().unwrap());
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    assert_ne!(ufrag(&answer), b_before, "the answerer restarts too");
    b.set_local_description(now, answer).unwrap();
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
}
