//! Stateful SCTP: establish two associations in memory, then feed an arbitrary sequence of
//! packets (with the right verification tag and checksum, so they reach the state machine)
//! and time steps into one of them, interleaved with legitimate traffic. No panic, and the
//! receive-side memory stays within the configured bounds.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_sctp::packet::finish_checksum;
use ferrtc_sctp::{Association, Config, SendOptions};
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

fn exchange(a: &mut Association, b: &mut Association, now: Instant) {
    for _ in 0..64 {
        let mut moved = false;
        while let Some(p) = a.poll_transmit() {
            let _ = b.handle_receive(now, p);
            moved = true;
        }
        while let Some(p) = b.poll_transmit() {
            let _ = a.handle_receive(now, p);
            moved = true;
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        receive_buffer_size: 64 * 1024,
        max_message_size: 16 * 1024,
        ..Config::default()
    };
    let mut now = Instant::now();
    let mut a = Association::new(cfg.clone(), now, &mut Lcg(1));
    let mut b = Association::new(cfg.clone(), now, &mut Lcg(2));
    a.connect(now);
    exchange(&mut a, &mut b, now);
    let b_tag = b.local_verification_tag();
    let mut rest = data;
    while rest.len() >= 3 {
        let op = rest[0];
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let body = &rest[3..3 + len];
        rest = &rest[3 + len..];
        match op % 4 {
            0 | 1 => {
                // A packet to b: common header with b's tag, fuzzed chunks.
                let mut pkt = vec![0x13, 0x88, 0x13, 0x88];
                pkt.extend_from_slice(&b_tag.to_be_bytes());
                pkt.extend_from_slice(&[0; 4]);
                pkt.extend_from_slice(body);
                finish_checksum(&mut pkt, op % 4 == 1);
                let _ = b.handle_receive(now, Bytes::from(pkt));
            }
            2 => {
                now += Duration::from_millis(u64::from(op >> 2) * 37);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            _ => {
                let _ = a.send(
                    now,
                    u16::from(op >> 4),
                    53,
                    Bytes::copy_from_slice(body),
                    SendOptions {
                        unordered: op & 0x8 != 0,
                        ..SendOptions::default()
                    },
                );
                let _ = b.send(
                    now,
                    1,
                    51,
                    Bytes::copy_from_slice(body),
                    SendOptions::default(),
                );
            }
        }
        exchange(&mut a, &mut b, now);
        assert!(b.received_bytes_buffered() <= cfg.receive_buffer_size + 2 * cfg.max_message_size);
        assert!(a.received_bytes_buffered() <= cfg.receive_buffer_size + 2 * cfg.max_message_size);
    }
});
