#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile inputs are bounded and never panic: floods of candidates, checks with bad
//! integrity, responses to transactions never sent, arbitrary datagrams.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_ice::stun::{Builder, Class, BINDING};
use ferrtc_ice::{
    Agent, AgentConfig, Candidate, CandidateType, Credentials, Datagram, Error, Role, Transport,
};
use proptest::prelude::*;

struct R(u64);
impl rand_core::RngCore for R {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 7
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for x in d {
            *x = self.next_u64() as u8;
        }
    }
}

const LOCAL: &str = "10.0.0.1:5000";
const REMOTE_PWD: &str = "remotepasswordremotepass";

fn agent(now: Instant, max_remote: usize) -> (Agent, SocketAddr) {
    let cfg = AgentConfig {
        role: Role::Controlled,
        max_remote_candidates: max_remote,
        ..AgentConfig::default()
    };
    let mut a = Agent::new(cfg, now, &mut R(3));
    let local: SocketAddr = LOCAL.parse().unwrap();
    a.gather(now, &[local]).unwrap();
    a.set_remote_credentials(
        now,
        Credentials {
            ufrag: "rem1".into(),
            pwd: REMOTE_PWD.into(),
        },
    );
    (a, local)
}

fn drain(a: &mut Agent) -> usize {
    let mut n = 0;
    while a.poll_transmit().is_some() {
        n += 1;
    }
    while a.poll_event().is_some() {}
    n
}

#[test]
fn ten_thousand_candidates_are_capped() {
    let now = Instant::now();
    let (mut a, _) = agent(now, 50);
    let mut rejected = 0;
    for i in 0..10_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + 256 + i);
        let c = Candidate::new(
            i.to_string(),
            Transport::Udp,
            2_000_000_000 - i,
            SocketAddr::new(ip.into(), 9000),
            CandidateType::Host,
            None,
        );
        match a.add_remote_candidate(now, c) {
            Ok(()) => {}
            Err(Error::Limit(_)) => rejected += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(rejected, 10_000 - 50);
    assert_eq!(a.remote_candidates().count(), 50);
    assert!(a.pair_stats().len() <= 50);
    // Checks are paced: one per Ta, however many pairs there are.
    assert!(drain(&mut a) <= 1);
    let mut t = now;
    let mut sent = 0;
    for _ in 0..2000 {
        let Some(next) = a.poll_timeout() else { break };
        t = next.max(t);
        a.handle_timeout(t);
        sent += drain(&mut a);
        if t > now + Duration::from_secs(30) {
            break;
        }
    }
    // 50 pairs × 7 transmissions at most, then all failed.
    assert!(sent <= 50 * 7, "{sent}");
    assert!(a
        .pair_stats()
        .iter()
        .all(|p| p.state == ferrtc_ice::PairState::Failed));
}

#[test]
fn checks_with_bad_integrity_are_not_acted_on() {
    let now = Instant::now();
    let (mut a, local) = agent(now, 100);
    let lc = a.local_credentials().clone();
    let source: SocketAddr = "192.0.2.66:4444".parse().unwrap();
    for (user, pwd) in [
        (
            format!("{}:rem1", lc.ufrag),
            "wrong password wrong pass".to_string(),
        ),
        ("someoneelse:rem1".to_string(), lc.pwd.clone()),
    ] {
        let mut b = Builder::new(Class::Request, BINDING, &[4; 12]);
        b.username(&user).priority(1).role(true, 1).use_candidate();
        let req = b.finish(Some(pwd.as_bytes()));
        let r = a.handle_receive(
            now,
            Datagram {
                source,
                destination: local,
                contents: req,
            },
        );
        assert!(matches!(r, Err(Error::Integrity(_))), "{r:?}");
        // No peer-reflexive candidate, no pair, no check: only a 401 answer.
        assert_eq!(a.remote_candidates().count(), 0);
        assert!(a.pair_stats().is_empty());
        assert_eq!(drain(&mut a), 1);
    }
    // Without MESSAGE-INTEGRITY at all.
    let mut b = Builder::new(Class::Request, BINDING, &[5; 12]);
    b.username(&format!("{}:rem1", lc.ufrag)).use_candidate();
    let r = a.handle_receive(
        now,
        Datagram {
            source,
            destination: local,
            contents: b.finish(None),
        },
    );
    assert!(matches!(r, Err(Error::Integrity(_))));
    assert_eq!(a.remote_candidates().count(), 0);
}

#[test]
fn responses_to_transactions_never_sent() {
    let now = Instant::now();
    let (mut a, local) = agent(now, 100);
    let source: SocketAddr = "192.0.2.66:4444".parse().unwrap();
    for class in [Class::SuccessResponse, Class::ErrorResponse] {
        let mut b = Builder::new(class, BINDING, &[6; 12]);
        if class == Class::ErrorResponse {
            b.error_code(487, "Role Conflict");
        } else {
            b.xor_mapped_address(source);
        }
        let resp = b.finish(Some(REMOTE_PWD.as_bytes()));
        let r = a.handle_receive(
            now,
            Datagram {
                source,
                destination: local,
                contents: resp,
            },
        );
        assert_eq!(r, Err(Error::UnknownTransaction));
    }
    assert_eq!(a.role(), Role::Controlled);
    assert_eq!(drain(&mut a), 0);
}

#[test]
fn datagram_from_unknown_source_is_not_data() {
    let now = Instant::now();
    let (mut a, local) = agent(now, 100);
    let r = a.handle_receive(
        now,
        Datagram {
            source: "192.0.2.9:1".parse().unwrap(),
            destination: local,
            contents: Bytes::from_static(b"\x80rtp"),
        },
    );
    assert!(matches!(r, Err(Error::UnknownSource(_))));
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        msgs in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..120), any::<bool>(), 0u16..4), 1..30)
    ) {
        let now = Instant::now();
        let (mut a, local) = agent(now, 100);
        for (i, (mut bytes, stunish, port)) in msgs.into_iter().enumerate() {
            if stunish && bytes.len() >= 20 {
                // Make it look like STUN so the parser, not the demultiplexer, sees it.
                bytes[0] &= 0x01;
                bytes[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
                let len = ((bytes.len() - 20) as u16).to_be_bytes();
                bytes[2..4].copy_from_slice(&len);
            }
            let t = now + Duration::from_millis(i as u64);
            let source = SocketAddr::new("192.0.2.1".parse().unwrap(), 1000 + port);
            let _ = a.handle_receive(t, Datagram { source, destination: local, contents: Bytes::from(bytes) });
            a.handle_timeout(t);
            prop_assert!(drain(&mut a) < 100);
        }
    }
}
