//! A remote description of arbitrary text at a peer connection: setRemoteDescription, and when
//! it is accepted createAnswer + setLocalDescription, then an addIceCandidate of the same
//! text. Never a panic; an accepted offer always yields an answer that parses.
#![no_main]

use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use ferrtc_peerconnection::{
    Configuration, IceCandidateInit, PeerConnection, RtcSessionDescription, SdpType,
};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Configuration {
    static C: OnceLock<Configuration> = OnceLock::new();
    C.get_or_init(|| {
        let cert =
            ferrtc_dtls::Certificate::generate(ferrtc_dtls::KeyType::EcdsaP256, SystemTime::now())
                .unwrap();
        Configuration::new(cert).unwrap()
    })
}

struct Rng(u64);
impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        self.0
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            *b = self.next_u32() as u8;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Instant::now();
    let Ok(mut pc) = PeerConnection::new(config().clone(), now, &mut Rng(1)) else {
        return;
    };
    let _ = pc.add_local_interface(now, "192.0.2.1:4000".parse().unwrap());
    pc.end_of_local_interfaces(now);
    let offer = RtcSessionDescription {
        sdp_type: SdpType::Offer,
        sdp: text.to_owned(),
    };
    if pc.set_remote_description(now, offer).is_ok() {
        let answer = pc.create_answer().expect("an accepted offer has an answer");
        answer
            .sdp
            .parse::<ferrtc_sdp::SessionDescription>()
            .expect("our answer parses");
        pc.set_local_description(now, answer)
            .expect("our own answer applies");
    }
    let _ = pc.add_ice_candidate(
        now,
        Some(IceCandidateInit {
            candidate: text.to_owned(),
            sdp_mid: None,
            sdp_m_line_index: Some(0),
            username_fragment: None,
        }),
    );
    pc.handle_timeout(now);
});
