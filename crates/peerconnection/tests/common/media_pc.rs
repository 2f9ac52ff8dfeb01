//! The two-peer-connection harness of the media tests: peers on the simulated network, full
//! offer/answer, and what each peer saw (events, largest datagram sent).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_peerconnection::{
    Configuration, Datagram, Event, MediaKind, OfferOptions, Output, PeerConnection,
    PeerConnectionState, TransceiverId,
};
use ferrtc_testkit::{Endpoint, Sim};
use rand::SeedableRng;

pub struct Peer {
    pub addr: SocketAddr,
    pub pc: PeerConnection,
    pub events: Vec<Event>,
    /// The largest datagram sent once the connection was up.
    pub max_sent: usize,
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

pub fn peer(sim: &mut Sim<Peer>, addr: &str) -> SocketAddr {
    let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
    peer_with(sim, addr, Configuration::new(cert).unwrap())
}

pub fn peer_with(sim: &mut Sim<Peer>, addr: &str, cfg: Configuration) -> SocketAddr {
    let addr: SocketAddr = addr.parse().unwrap();
    let now = sim.now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(sim.seed() ^ u64::from(addr.port()));
    let mut pc = PeerConnection::new(cfg, now, &mut rng).unwrap();
    pc.add_local_interface(now, addr).unwrap();
    pc.end_of_local_interfaces(now);
    pc.set_wallclock(now, SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    sim.add_endpoint(
        addr,
        Peer {
            addr,
            pc,
            events: Vec::new(),
            max_sent: 0,
        },
    );
    addr
}

pub fn pc(sim: &mut Sim<Peer>, a: SocketAddr) -> &mut PeerConnection {
    &mut sim.endpoint_mut(a).unwrap().pc
}

pub fn negotiate(sim: &mut Sim<Peer>, a: SocketAddr, b: SocketAddr) {
    let now = sim.now();
    let offer = pc(sim, a).create_offer(OfferOptions::default()).unwrap();
    pc(sim, a).set_local_description(now, offer).unwrap();
    let offer = pc(sim, a).local_description().unwrap();
    pc(sim, b).set_remote_description(now, offer).unwrap();
    let answer = pc(sim, b).create_answer().unwrap();
    pc(sim, b).set_local_description(now, answer).unwrap();
    let answer = pc(sim, b).local_description().unwrap();
    pc(sim, a).set_remote_description(now, answer).unwrap();
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
