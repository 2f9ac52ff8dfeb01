#![allow(dead_code)]
//! Test adapters: an association as a testkit endpoint that records what it received.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_sctp::{Association, Config, Event, Message};
use ferrtc_testkit::Endpoint;
use rand::rngs::StdRng;
use rand::SeedableRng;

pub struct Node {
    pub assoc: Association,
    pub peer: SocketAddr,
    pub messages: Vec<Message>,
    /// Virtual arrival time of each message.
    pub arrivals: Vec<Instant>,
    pub events: Vec<Event>,
    pub connected: bool,
    pub closed: bool,
    pub aborted: bool,
    /// Messages to send when the send buffer has room: (stream, ppid, payload, options).
    pub pending: VecDeque<(u16, u32, Bytes, ferrtc_sctp::SendOptions)>,
    pub now: Option<Instant>,
}

impl Node {
    pub fn new(config: Config, now: Instant, seed: u64, peer: SocketAddr) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Node {
            assoc: Association::new(config, now, &mut rng),
            peer,
            messages: Vec::new(),
            arrivals: Vec::new(),
            events: Vec::new(),
            connected: false,
            closed: false,
            aborted: false,
            pending: VecDeque::new(),
            now: None,
        }
    }

    fn drain(&mut self, now: Instant) {
        self.now = Some(now);
        while let Some(ev) = self.assoc.poll_event() {
            match &ev {
                Event::Connected => self.connected = true,
                Event::Closed => self.closed = true,
                Event::Aborted { .. } => self.aborted = true,
                _ => {}
            }
            if let Event::Message(m) = ev {
                self.messages.push(m);
                self.arrivals.push(now);
            } else {
                self.events.push(ev);
            }
        }
        self.feed(now);
    }

    /// Moves queued application messages into the association while it accepts them.
    pub fn feed(&mut self, now: Instant) {
        while let Some((s, p, b, o)) = self.pending.front().cloned() {
            match self.assoc.send(now, s, p, b, o) {
                Ok(()) => {
                    self.pending.pop_front();
                }
                Err(_) => break,
            }
        }
    }
}

impl Endpoint for Node {
    fn handle_receive(&mut self, now: Instant, _from: SocketAddr, data: Bytes) {
        let _ = self.assoc.handle_receive(now, data);
        self.drain(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.drain(now);
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        if let Some(now) = self.now {
            self.drain(now);
        }
        self.assoc.poll_transmit().map(|b| (self.peer, b))
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

/// A deterministic message of `len` bytes identified by `n`.
pub fn message(n: u32, len: usize) -> Bytes {
    let mut v = Vec::with_capacity(len);
    let mut x = n.wrapping_mul(2654435761).wrapping_add(len as u32);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    if len >= 4 {
        v[..4].copy_from_slice(&n.to_be_bytes());
    }
    Bytes::from(v)
}
