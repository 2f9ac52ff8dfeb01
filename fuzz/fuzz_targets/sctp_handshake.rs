//! Stateful SCTP handshake: two associations that both send INIT (the WebRTC case) over a
//! network the input controls: packets are delivered, dropped, duplicated, reordered,
//! delayed or altered, arbitrary packets are injected with any of the tags, and one side
//! can restart. Exercises RFC 9260 §5.2 (collisions, Tie-Tags, COOKIE ECHO cases A-E, stale
//! cookies). No panic, bounded memory; and when the input only disturbed the network (no
//! forged or altered packets), two associations that end up established talk to each other.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_sctp::packet::finish_checksum;
use ferrtc_sctp::{Association, Config, Event, SendOptions, State};
use libfuzzer_sys::fuzz_target;

struct Lcg(u64);
impl rand_core::RngCore for Lcg {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u32() as u8;
        }
    }
}

const QUEUE_LIMIT: usize = 64;

struct Side {
    assoc: Association,
    /// Packets on their way to the other side.
    out: VecDeque<Bytes>,
    got: Vec<Bytes>,
}

impl Side {
    fn new(cfg: &Config, now: Instant, seed: u64) -> Self {
        let mut assoc = Association::new(cfg.clone(), now, &mut Lcg(seed));
        assoc.connect(now);
        Side {
            assoc,
            out: VecDeque::new(),
            got: Vec::new(),
        }
    }

    fn collect(&mut self) {
        while let Some(p) = self.assoc.poll_transmit() {
            if self.out.len() < QUEUE_LIMIT {
                self.out.push_back(p);
            }
        }
        while let Some(e) = self.assoc.poll_event() {
            if let Event::Message(m) = e {
                if self.got.len() < 16 {
                    self.got.push(m.payload);
                }
            }
        }
    }
}

fn deliver_front(from: &mut Side, to: &mut Side, now: Instant) {
    if let Some(p) = from.out.pop_front() {
        let _ = to.assoc.handle_receive(now, p);
    }
}

fn settle(a: &mut Side, b: &mut Side, now: &mut Instant) {
    for _ in 0..400 {
        a.collect();
        b.collect();
        while !a.out.is_empty() || !b.out.is_empty() {
            deliver_front(a, b, *now);
            deliver_front(b, a, *now);
            a.collect();
            b.collect();
        }
        *now += Duration::from_millis(100);
        a.assoc.handle_timeout(*now);
        b.assoc.handle_timeout(*now);
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        receive_buffer_size: 64 * 1024,
        max_message_size: 16 * 1024,
        cookie_lifetime: Duration::from_secs(2),
        ..Config::default()
    };
    let bound = cfg.receive_buffer_size + 2 * cfg.max_message_size;
    let mut now = Instant::now();
    let mut a = Side::new(&cfg, now, 1);
    let mut b = Side::new(&cfg, now, 2);
    let mut restarts = 0u64;
    // Whether the input only disturbed the network (loss, duplication, reordering, delay,
    // restart), so the protocol must still converge.
    let mut network_only = true;
    let mut rest = data;
    while rest.len() >= 2 {
        let (op, arg) = (rest[0], rest[1]);
        rest = &rest[2..];
        a.collect();
        b.collect();
        let to_b = op & 0x80 == 0;
        let (from, to) = if to_b {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        match op & 0x07 {
            0 | 1 => deliver_front(from, to, now),
            2 => {
                from.out.pop_front();
            }
            3 => {
                if let Some(p) = from.out.front().cloned() {
                    if from.out.len() < QUEUE_LIMIT {
                        from.out.push_back(p);
                    }
                }
            }
            4 => {
                // Reorder: the front packet goes behind `arg` others.
                if let Some(p) = from.out.pop_front() {
                    let at = usize::from(arg).min(from.out.len());
                    from.out.insert(at, p);
                }
            }
            5 => {
                now += Duration::from_millis(u64::from(arg) * 20);
                a.assoc.handle_timeout(now);
                b.assoc.handle_timeout(now);
            }
            6 => {
                // Alter one byte of the front packet past the common header, with a valid
                // checksum so it reaches the state machine; or inject a packet made of the
                // rest of the input with one of the tags.
                network_only = false;
                if op & 0x08 == 0 {
                    if let Some(p) = from.out.pop_front() {
                        let mut v = p.to_vec();
                        if v.len() > 12 {
                            let i = 12 + usize::from(arg) % (v.len() - 12);
                            v[i] ^= 1 << (op >> 4 & 7);
                            finish_checksum(&mut v, false);
                        }
                        let _ = to.assoc.handle_receive(now, Bytes::from(v));
                    }
                } else {
                    let len = usize::from(arg).min(rest.len());
                    let tag = match op >> 4 & 3 {
                        0 => 0,
                        1 => to.assoc.local_verification_tag(),
                        2 => from.assoc.local_verification_tag(),
                        _ => 0xdead_beef,
                    };
                    let mut v = vec![0x13, 0x88, 0x13, 0x88];
                    v.extend_from_slice(&tag.to_be_bytes());
                    v.extend_from_slice(&[0; 4]);
                    v.extend_from_slice(&rest[..len]);
                    rest = &rest[len..];
                    finish_checksum(&mut v, false);
                    let _ = to.assoc.handle_receive(now, Bytes::from(v));
                }
            }
            _ => {
                // The peer process restarts (RFC 9260 §5.2.4 A); a few times at most.
                if restarts < 3 {
                    restarts += 1;
                    let fresh = Side::new(&cfg, now, 100 + restarts);
                    let old = std::mem::replace(&mut a, fresh);
                    // Its packets still in flight stay in the network.
                    a.out = old.out;
                }
            }
        }
        a.collect();
        b.collect();
        assert!(a.assoc.received_bytes_buffered() <= bound);
        assert!(b.assoc.received_bytes_buffered() <= bound);
    }
    if !network_only {
        return;
    }
    // A clean network from now on: whatever the disturbances did, two associations that are
    // established must be the same association.
    settle(&mut a, &mut b, &mut now);
    if a.assoc.state() != State::Established || b.assoc.state() != State::Established {
        return;
    }
    a.got.clear();
    b.got.clear();
    let ping = Bytes::from_static(b"ping");
    let pong = Bytes::from_static(b"pong");
    let sent_a = a
        .assoc
        .send(now, 0, 51, ping.clone(), SendOptions::default());
    let sent_b = b
        .assoc
        .send(now, 0, 51, pong.clone(), SendOptions::default());
    assert!(sent_a.is_ok() && sent_b.is_ok(), "{sent_a:?} {sent_b:?}");
    settle(&mut a, &mut b, &mut now);
    assert_eq!(b.got, vec![ping], "a: {:?} b: {:?}", a.assoc, b.assoc);
    assert_eq!(a.got, vec![pong], "a: {:?} b: {:?}", a.assoc, b.assoc);
});
