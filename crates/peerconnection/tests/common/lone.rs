//! Peer connections driven by hand, without a network: one on a documentation address with its
//! host candidate gathered, descriptions, the events it holds, and offer/answer between two.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_peerconnection::{
    Configuration, Event, OfferOptions, Output, PeerConnection, RtcSessionDescription, SdpType,
    SignalingState,
};
use rand::SeedableRng;

/// A peer connection seeded with `seed`, a fresh certificate, one host interface (192.0.2.x).
pub fn pc(seed: u64) -> PeerConnection {
    let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
    pc_with(seed, cert)
}

/// The same with a given certificate (property tests reuse one: key generation is slow).
pub fn pc_with(seed: u64, cert: Certificate) -> PeerConnection {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let now = Instant::now();
    let mut pc = PeerConnection::new(Configuration::new(cert).unwrap(), now, &mut rng).unwrap();
    let addr: SocketAddr = format!("192.0.2.{}:40000", 10 + seed % 200)
        .parse()
        .unwrap();
    pc.add_local_interface(now, addr).unwrap();
    pc.end_of_local_interfaces(now);
    pc
}

pub fn desc(t: SdpType, sdp: &str) -> RtcSessionDescription {
    RtcSessionDescription {
        sdp_type: t,
        sdp: sdp.to_owned(),
    }
}

/// The events `pc` holds now (transmits are discarded).
pub fn events(pc: &mut PeerConnection) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        match pc.poll_output() {
            Output::Event(e) => out.push(e),
            Output::Transmit(_) => {}
            Output::Timeout(_) => return out,
        }
    }
}

/// Offer from `a`, answer from `b`; both end stable. Returns the offer and answer texts.
pub fn negotiate(a: &mut PeerConnection, b: &mut PeerConnection) -> (String, String) {
    let now = Instant::now();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    let offer = a.local_description().unwrap();
    b.set_remote_description(now, offer.clone()).unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(now, answer).unwrap();
    let answer = b.local_description().unwrap();
    a.set_remote_description(now, answer.clone()).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    (offer.sdp, answer.sdp)
}
