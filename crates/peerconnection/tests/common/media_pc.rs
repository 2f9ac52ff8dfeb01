//! The two-peer-connection harness of the integration tests (data channels and media): peers on
//! the simulated network, full offer/answer, and what each peer saw (events, largest datagram
//! sent).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_media_codecs::container::ivf::IvfReader;
use ferrtc_media_codecs::container::ogg::OggReader;
use ferrtc_peerconnection::{
    Configuration, Datagram, Event, MediaKind, OfferOptions, OutgoingFrame, Output, PeerConnection,
    PeerConnectionState, RtcSessionDescription, SignalingState, TransceiverId, TransceiverInit,
};
use ferrtc_testkit::{Endpoint, LinkConfig, Sim};
use rand::SeedableRng;

pub struct Peer {
    pub addr: SocketAddr,
    pub pc: PeerConnection,
    pub events: Vec<Event>,
    /// The largest datagram sent once the connection was up.
    pub max_sent: usize,
}

impl Peer {
    /// A peer at `addr` with no interface added yet.
    pub fn new(addr: SocketAddr, pc: PeerConnection) -> Self {
        Peer {
            addr,
            pc,
            events: Vec::new(),
            max_sent: 0,
        }
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: Bytes) {
        let _ = self.pc.handle_receive(
            now,
            Datagram {
                source: from,
                destination: self.addr,
                contents: data,
            },
        );
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        loop {
            match self.pc.poll_output() {
                Output::Transmit(t) => {
                    if self.pc.connection_state() == PeerConnectionState::Connected {
                        self.max_sent = self.max_sent.max(t.contents.len());
                    }
                    return Some((t.destination, t.contents));
                }
                Output::Event(e) => self.events.push(e),
                Output::Timeout(_) => return None,
            }
        }
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

/// A configuration with a fresh certificate (OpenSSL's key generation is not seedable; each
/// peer's own randomness is seeded from the simulation's seed in [`peer_with`]).
pub fn config() -> Configuration {
    let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
    Configuration::new(cert).unwrap()
}

pub fn peer(sim: &mut Sim<Peer>, addr: &str) -> SocketAddr {
    peer_with(sim, addr, config())
}

pub fn peer_with(sim: &mut Sim<Peer>, addr: &str, cfg: Configuration) -> SocketAddr {
    let addr: SocketAddr = addr.parse().unwrap();
    let now = sim.now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(sim.seed() ^ u64::from(addr.port()));
    let mut pc = PeerConnection::new(cfg, now, &mut rng).unwrap();
    pc.add_local_interface(now, addr).unwrap();
    pc.end_of_local_interfaces(now);
    pc.set_wallclock(now, SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    sim.add_endpoint(addr, Peer::new(addr, pc));
    addr
}

pub fn pc(sim: &mut Sim<Peer>, a: SocketAddr) -> &mut PeerConnection {
    &mut sim.endpoint_mut(a).unwrap().pc
}

/// Offer from `a`, answer from `b` (complete descriptions, no trickle); both end stable.
/// Returns the offer and the answer.
pub fn negotiate(
    sim: &mut Sim<Peer>,
    a: SocketAddr,
    b: SocketAddr,
) -> (RtcSessionDescription, RtcSessionDescription) {
    let now = sim.now();
    let offer = pc(sim, a).create_offer(OfferOptions::default()).unwrap();
    pc(sim, a).set_local_description(now, offer).unwrap();
    let offer = pc(sim, a).local_description().unwrap();
    pc(sim, b)
        .set_remote_description(now, offer.clone())
        .unwrap();
    let answer = pc(sim, b).create_answer().unwrap();
    pc(sim, b).set_local_description(now, answer).unwrap();
    let answer = pc(sim, b).local_description().unwrap();
    pc(sim, a)
        .set_remote_description(now, answer.clone())
        .unwrap();
    assert_eq!(pc(sim, a).signaling_state(), SignalingState::Stable);
    assert_eq!(pc(sim, b).signaling_state(), SignalingState::Stable);
    (offer, answer)
}

/// Everything `a` saw since the last call (what the connection still holds drained first).
pub fn take_events(sim: &mut Sim<Peer>, a: SocketAddr) -> Vec<Event> {
    let p = sim.endpoint_mut(a).unwrap();
    while let Output::Event(e) = p.pc.poll_output() {
        p.events.push(e);
    }
    std::mem::take(&mut p.events)
}

pub fn connected(sim: &Sim<Peer>, a: SocketAddr) -> bool {
    sim.endpoint(a).unwrap().pc.connection_state() == PeerConnectionState::Connected
}

/// B's transceiver that receives A's track of this kind (from B's `track` event).
pub fn remote_track(sim: &Sim<Peer>, b: SocketAddr, kind: MediaKind) -> TransceiverId {
    sim.endpoint(b)
        .unwrap()
        .events
        .iter()
        .find_map(|e| match e {
            Event::Track(t) if t.kind == kind => Some(t.transceiver),
            _ => None,
        })
        .expect("a track event")
}

pub fn frames(sim: &Sim<Peer>, at: SocketAddr, t: TransceiverId) -> Vec<Bytes> {
    sim.endpoint(at)
        .unwrap()
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Frame(f) if f.transceiver == t => Some(f.data.clone()),
            _ => None,
        })
        .collect()
}

/// Runs the simulation until both peers are connected (10 s at most).
pub fn run_until_connected(sim: &mut Sim<Peer>, a: SocketAddr, b: SocketAddr) {
    sim.run_until(Duration::from_secs(10), |s| {
        connected(s, a) && connected(s, b)
    })
    .unwrap();
}

/// The VP8 frames of the test clip (320x240, key frame first).
pub fn vp8_frames() -> Vec<Bytes> {
    let ivf = Bytes::from_static(include_bytes!("../data/video_vpx_320x240.vp8.ivf"));
    IvfReader::new(ivf)
        .unwrap()
        .map(|f| f.unwrap().data)
        .collect()
}

/// The Opus packets of the 300 ms test tone (the two header pages skipped).
pub fn opus_packets() -> Vec<Bytes> {
    let ogg = Bytes::from_static(include_bytes!("../data/ffmpeg_sine_300ms.opus"));
    OggReader::new(ogg, 65_536)
        .skip(2)
        .map(|p| p.unwrap().data)
        .collect()
}

/// A frame with the first negotiated codec, captured at `now`.
pub fn frame(data: Bytes, rtp_timestamp: u32, now: Instant) -> OutgoingFrame {
    OutgoingFrame::new(data, rtp_timestamp, now)
}

/// A writes `frames` on transceiver `t` at 30 fps (RTP clock 90 kHz), then the network settles.
pub fn send_video(sim: &mut Sim<Peer>, a: SocketAddr, t: TransceiverId, frames: &[Bytes]) {
    for (i, f) in frames.iter().enumerate() {
        let now = sim.now();
        pc(sim, a)
            .write_frame(now, t, frame(f.clone(), 3000 * i as u32, now))
            .unwrap();
        sim.run_for(Duration::from_millis(33)).unwrap();
    }
    sim.run_for(Duration::from_millis(300)).unwrap();
}

/// Two connected peers: A sends video and audio (sendrecv transceivers), B receives them.
pub struct AvPair {
    pub sim: Sim<Peer>,
    pub a: SocketAddr,
    pub b: SocketAddr,
    /// A's transceivers.
    pub video: TransceiverId,
    pub audio: TransceiverId,
    /// B's transceivers receiving them (from its track events).
    pub b_video: TransceiverId,
    pub b_audio: TransceiverId,
}

/// A video and an audio transceiver on A, negotiated with B over links of `delay` each way,
/// run until both are connected.
pub fn av_pair(seed: u64, delay: Duration) -> AvPair {
    let mut sim = Sim::new(seed);
    sim.set_default_link(LinkConfig::with_delay(delay));
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    let video = pc(&mut sim, a)
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let audio = pc(&mut sim, a)
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    negotiate(&mut sim, a, b);
    run_until_connected(&mut sim, a, b);
    let b_video = remote_track(&sim, b, MediaKind::Video);
    let b_audio = remote_track(&sim, b, MediaKind::Audio);
    AvPair {
        sim,
        a,
        b,
        video,
        audio,
        b_video,
        b_audio,
    }
}
