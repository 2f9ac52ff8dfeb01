//! ICE agent: arbitrary datagrams (STUN-shaped or not), and arbitrary bytes on the TCP stream to
//! its TURN server, into a connected-looking agent must never panic, and the agent's queues stay
//! bounded.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::stun::{Builder, Class, BINDING};
use ferrtc_ice::{Agent, AgentConfig, Credentials, Datagram, Role, TurnServer, TurnTransport};
use libfuzzer_sys::fuzz_target;

struct Zero;
impl rand_core::RngCore for Zero {
    fn next_u32(&mut self) -> u32 {
        7
    }
    fn next_u64(&mut self) -> u64 {
        7
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        d.fill(7);
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let cfg = AgentConfig {
        role: Role::Controlled,
        include_loopback: true,
        local_credentials: Some(Credentials {
            ufrag: "local".into(),
            pwd: "localpasswordlocalpassword".into(),
        }),
        turn_servers: vec![TurnServer {
            addr: "127.0.0.1:3478".parse().unwrap(),
            username: "u".into(),
            password: "p".into(),
            transport: TurnTransport::Tcp,
        }],
        ..AgentConfig::default()
    };
    let server = "127.0.0.1:3478".parse().unwrap();
    let mut a = Agent::new(cfg, now, &mut Zero);
    let local = "127.0.0.1:1000".parse().unwrap();
    a.add_local_interface(now, local).unwrap();
    a.set_remote_credentials(
        now,
        Credentials {
            ufrag: "remote".into(),
            pwd: "remotepasswordremotepassword".into(),
        },
    );
    for (i, chunk) in data.split(|b| *b == 0xff).enumerate() {
        let t = now + Duration::from_millis(i as u64 * 10);
        let port = 2000 + u16::from(chunk.first().copied().unwrap_or(0));
        let source = format!("127.0.0.1:{port}").parse().unwrap();
        // Half the time wrap the bytes in a well-authenticated request so the fuzzer reaches
        // the state machine behind the integrity check.
        let contents = if chunk.len() > 1 && chunk[0] & 1 == 1 {
            let mut tid = [0u8; 12];
            for (d, s) in tid.iter_mut().zip(chunk.iter()) {
                *d = *s;
            }
            let mut b = Builder::new(Class::Request, BINDING, &tid);
            b.username("local:remote")
                .priority(u32::from(chunk[1]) << 20 | 1)
                .role(chunk[0] & 2 == 2, u64::from(chunk[1]));
            if chunk[0] & 4 == 4 {
                b.use_candidate();
            }
            b.finish(Some(b"localpasswordlocalpassword"))
        } else {
            Bytes::copy_from_slice(chunk)
        };
        if chunk.first().is_some_and(|b| b & 8 == 8) {
            // Bytes read from the TCP connection to the TURN server (any framing).
            let _ = a.handle_stream_data(t, local, server, chunk);
        } else {
            let _ = a.handle_receive(
                t,
                Datagram {
                    source,
                    destination: local,
                    contents,
                },
            );
        }
        a.handle_timeout(t);
        let mut n = 0;
        while a.poll_transmit().is_some() {
            n += 1;
            assert!(n < 10_000);
        }
        while a.poll_stream_transmit().is_some() {
            n += 1;
            assert!(n < 10_000);
        }
        while a.poll_event().is_some() {}
    }
});
