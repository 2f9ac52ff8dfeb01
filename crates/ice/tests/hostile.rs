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

// ------------------------------------------------------------------------------------------
// Hostile corpus on a connected agent (issue 15).
//
// Each case is one datagram a hostile party (a forger of the peer's address, or anyone) sends
// to the controlled agent `b` of a connected pair, with the outcome written next to it: the
// RFC's answer, or the public bug in another stack it comes from. For every case the harness
// asserts: no panic; the answer `b` sends (an error code, a success, or nothing) for the
// injected transaction; that no STUN-range bytes are delivered as application data; that the
// selected pair and the role are unchanged; and that the connection still delivers data
// afterwards, byte for byte. The three ferrtc deviations found writing this corpus (400 for a
// request without MESSAGE-INTEGRITY, 420 for unknown comprehension-required attributes, a
// malformed STUN header dropped rather than delivered) are fixed and run with the others.

mod corpus {
    use super::R;
    use bytes::Bytes;
    use ferrtc_ice::{
        Agent, AgentConfig, ConnectionState, Credentials, Datagram, Error, Role, Transmit,
    };
    use ferrtc_stun as s;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    const A: &str = "10.0.0.1:5000";
    const B: &str = "10.0.0.2:6000";
    const STRANGER: &str = "192.0.2.77:7777";
    const TID: [u8; 12] = [0x77; 12];

    pub(super) struct Pair {
        pub a: Agent,
        pub b: Agent,
        pub now: Instant,
        pub a_addr: SocketAddr,
        pub b_addr: SocketAddr,
        /// Application data `b` returned.
        pub got_b: Vec<Bytes>,
    }

    impl Pair {
        pub fn new() -> Pair {
            let now = Instant::now();
            let (a_addr, b_addr): (SocketAddr, SocketAddr) =
                (A.parse().unwrap(), B.parse().unwrap());
            let mk = |role, seed, addr| {
                let cfg = AgentConfig {
                    role,
                    ..AgentConfig::default()
                };
                let mut ag = Agent::new(cfg, now, &mut R(seed));
                ag.gather(now, &[addr]).unwrap();
                ag
            };
            let mut p = Pair {
                a: mk(Role::Controlling, 11, a_addr),
                b: mk(Role::Controlled, 12, b_addr),
                now,
                a_addr,
                b_addr,
                got_b: Vec::new(),
            };
            let (ca, cb) = (
                p.a.local_credentials().clone(),
                p.b.local_credentials().clone(),
            );
            p.a.set_remote_credentials(now, cb);
            p.b.set_remote_credentials(now, ca);
            let la: Vec<_> = p.a.local_candidates().cloned().collect();
            let lb: Vec<_> = p.b.local_candidates().cloned().collect();
            for c in lb {
                p.a.add_remote_candidate(now, c).unwrap();
            }
            for c in la {
                p.b.add_remote_candidate(now, c).unwrap();
            }
            p.a.end_of_remote_candidates(now);
            p.b.end_of_remote_candidates(now);
            p.run(|p| p.connected());
            assert!(p.connected(), "{:?} {:?}", p.a.state(), p.b.state());
            p
        }

        pub fn connected(&self) -> bool {
            let ok = |s| matches!(s, ConnectionState::Connected | ConnectionState::Completed);
            ok(self.a.state())
                && ok(self.b.state())
                && self.a.selected_pair().is_some()
                && self.b.selected_pair().is_some()
        }

        /// Routes transmits and fires timers until `done` (bounded: 10 virtual seconds).
        pub fn run(&mut self, done: impl Fn(&Pair) -> bool) {
            let end = self.now + Duration::from_secs(10);
            for _ in 0..10_000 {
                let mut moved = false;
                while let Some(t) = self.a.poll_transmit() {
                    moved = true;
                    if t.destination == self.b_addr {
                        if let Ok(Some(d)) = self.b.handle_receive(self.now, t) {
                            self.got_b.push(d);
                        }
                    }
                }
                while let Some(t) = self.b.poll_transmit() {
                    moved = true;
                    if t.destination == self.a_addr {
                        let _ = self.a.handle_receive(self.now, t);
                    }
                }
                while self.a.poll_event().is_some() {}
                while self.b.poll_event().is_some() {}
                if done(self) {
                    return;
                }
                if !moved {
                    let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                        .into_iter()
                        .flatten()
                        .min();
                    match next {
                        Some(t) if t <= end => {
                            self.now = self.now.max(t);
                            self.a.handle_timeout(self.now);
                            self.b.handle_timeout(self.now);
                        }
                        _ => return,
                    }
                }
            }
        }
    }

    /// What `b` must answer to the injected transaction.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Answer {
        /// An error response with this code.
        Error(u16),
        /// A success response whose XOR-MAPPED-ADDRESS is the source.
        Success,
        /// Nothing.
        Silent,
        /// An error response (any code) or nothing, but no success.
        NotSuccess,
    }

    pub(super) struct Case {
        pub name: &'static str,
        pub source: &'static str,
        /// The datagram's source and bytes, given `b`'s and `a`'s credentials.
        pub input: fn(&Credentials, &Credentials) -> (&'static str, Vec<u8>),
        pub answer: Answer,
    }

    /// A Binding message from `a` to `b` with these attributes, integrity with `key` (if any)
    /// and FINGERPRINT.
    fn binding(class: s::Class, attrs: &[s::Attribute], key: Option<&str>) -> Vec<u8> {
        let mut m = s::MessageBuilder::new(
            s::MessageType::new(s::Method::BINDING, class),
            s::TransactionId(TID),
        );
        for a in attrs {
            m.add(a).unwrap();
        }
        if let Some(k) = key {
            m.add_message_integrity(&s::IntegrityKey::short_term(k).unwrap())
                .unwrap();
        }
        m.add_fingerprint().unwrap();
        m.build().to_vec()
    }

    fn username(b: &Credentials, a: &Credentials) -> s::Attribute {
        s::Attribute::Username(s::Text::new(&format!("{}:{}", b.ufrag, a.ufrag)))
    }

    /// A check as `a` would send it (RFC 8445 §7.2.2): USERNAME, PRIORITY, ICE-CONTROLLING.
    fn check(b: &Credentials, a: &Credentials, extra: &[s::Attribute]) -> Vec<s::Attribute> {
        let mut v = vec![
            username(b, a),
            s::Attribute::Priority(0x7e00_00ff),
            s::Attribute::IceControlling(1),
        ];
        v.extend_from_slice(extra);
        v
    }

    pub(super) fn cases() -> Vec<Case> {
        vec![
            Case {
                name: "check with the wrong password",
                source: "RFC 8489 §9.1.3: integrity fails -> 401; RFC 8445 §7.3",
                input: |b, a| {
                    (
                        A,
                        binding(
                            s::Class::Request,
                            &check(b, a, &[]),
                            Some("not the password at all"),
                        ),
                    )
                },
                answer: Answer::Error(401),
            },
            Case {
                name: "check with another session's ufrag",
                source: "RFC 8445 §7.3 / RFC 8489 §9.1.3: unknown USERNAME -> 401",
                input: |b, _| {
                    let attrs = [s::Attribute::Username(s::Text::new("nobody:x"))];
                    (A, binding(s::Class::Request, &attrs, Some(&b.pwd)))
                },
                answer: Answer::Error(401),
            },
            Case {
                name: "check without USERNAME",
                source: "RFC 8489 §9.1.3: no USERNAME -> 400",
                input: |b, _| {
                    (
                        A,
                        binding(
                            s::Class::Request,
                            &[s::Attribute::Priority(1)],
                            Some(&b.pwd),
                        ),
                    )
                },
                answer: Answer::Error(400),
            },
            Case {
                name: "check without MESSAGE-INTEGRITY",
                source: "RFC 8489 §9.1.3: no MESSAGE-INTEGRITY -> 400 (401 is for a failed check)",
                input: |b, a| (A, binding(s::Class::Request, &check(b, a, &[]), None)),
                answer: Answer::Error(400),
            },
            Case {
                name: "authentic check with an unknown comprehension-required attribute",
                source: "RFC 8489 §6.3.1: 420 with UNKNOWN-ATTRIBUTES",
                input: |b, a| {
                    let extra = [s::Attribute::Unknown {
                        attr_type: 0x0031,
                        value: Bytes::from_static(&[1, 2, 3, 4]),
                    }];
                    (
                        A,
                        binding(s::Class::Request, &check(b, a, &extra), Some(&b.pwd)),
                    )
                },
                answer: Answer::Error(420),
            },
            Case {
                name: "check with a wrong FINGERPRINT",
                source: "RFC 8489 §14.7, RFC 8445 §7.3: not a valid STUN message, dropped",
                input: |b, a| {
                    let mut v = binding(s::Class::Request, &check(b, a, &[]), Some(&b.pwd));
                    let n = v.len();
                    v[n - 1] ^= 1;
                    (A, v)
                },
                answer: Answer::Silent,
            },
            Case {
                name: "Binding indication",
                source: "RFC 8445 §11: indications are keepalives, never answered",
                input: |_, _| (A, binding(s::Class::Indication, &[], None)),
                answer: Answer::Silent,
            },
            Case {
                name: "19 bytes starting like STUN from the peer's address",
                source: "RFC 7983 §7: first byte 0-3 is STUN; a malformed one is dropped, not data",
                input: |_, _| {
                    let mut v = binding(s::Class::Indication, &[], None);
                    v.truncate(19);
                    (A, v)
                },
                answer: Answer::Silent,
            },
            Case {
                name: "authentic success response to a transaction never sent",
                source: "RFC 8489 §6.3.3: a response to no transaction is discarded",
                input: |_, a| {
                    let attrs = [s::Attribute::XorMappedAddress(B.parse().unwrap())];
                    (A, binding(s::Class::SuccessResponse, &attrs, Some(&a.pwd)))
                },
                answer: Answer::Silent,
            },
            Case {
                name: "487 Role Conflict to a transaction never sent",
                source: "RFC 8445 §7.2.5.1: only a 487 to our own check switches the role",
                input: |_, a| {
                    let attrs = [s::Attribute::ErrorCode(s::ErrorCode {
                        code: 487,
                        reason: s::Text::new("Role Conflict"),
                    })];
                    (A, binding(s::Class::ErrorResponse, &attrs, Some(&a.pwd)))
                },
                answer: Answer::Silent,
            },
            Case {
                name: "an Allocate request",
                source: "RFC 8445 §7.3: an ICE agent answers Binding only",
                input: |b, a| {
                    let mut m = s::MessageBuilder::new(
                        s::MessageType::new(s::Method::ALLOCATE, s::Class::Request),
                        s::TransactionId(TID),
                    );
                    m.add(&username(b, a)).unwrap();
                    m.add_message_integrity(&s::IntegrityKey::short_term(&b.pwd).unwrap())
                        .unwrap();
                    (A, m.build().to_vec())
                },
                answer: Answer::NotSuccess,
            },
            Case {
                name: "authentic check from an unknown address",
                source: "RFC 8445 §7.3.1.3: a peer-reflexive candidate, answered with its address",
                input: |b, a| {
                    (
                        STRANGER,
                        binding(s::Class::Request, &check(b, a, &[]), Some(&b.pwd)),
                    )
                },
                answer: Answer::Success,
            },
            Case {
                name: "non-STUN datagram from an unknown address",
                source: "RFC 8445 §11: data only from a candidate pair of the peer",
                input: |_, _| (STRANGER, vec![0x17, 0xfe, 0xfd, 0, 1, 2, 3]),
                answer: Answer::Silent,
            },
            Case {
                name: "authentic check with an unknown comprehension-optional attribute",
                source: "RFC 8489 §6.3: unknown comprehension-optional attributes are ignored",
                input: |b, a| {
                    let extra = [s::Attribute::Unknown {
                        attr_type: 0x8099,
                        value: Bytes::from_static(&[9; 7]),
                    }];
                    (
                        A,
                        binding(s::Class::Request, &check(b, a, &extra), Some(&b.pwd)),
                    )
                },
                answer: Answer::Success,
            },
        ]
    }

    /// The responses `b` sent for the injected transaction: (class, error code, mapped address).
    fn answers(ts: &[Transmit]) -> Vec<(s::Class, Option<u16>, Option<SocketAddr>)> {
        ts.iter()
            .filter_map(|t| s::Message::parse(t.contents.clone()).ok())
            .filter(|m| m.transaction_id() == s::TransactionId(TID))
            .map(|m| {
                let a = m.attributes_unverified();
                (
                    m.class(),
                    a.error_code().ok().flatten().map(|(c, _)| c),
                    a.xor_mapped_address().ok().flatten(),
                )
            })
            .collect()
    }

    pub(super) fn run(case: &Case) {
        let name = case.name;
        assert!(!case.source.is_empty());
        let mut p = Pair::new();
        let (sel, role) = (p.b.selected_pair(), p.b.role());
        let (cb, ca) = (
            p.b.local_credentials().clone(),
            p.a.local_credentials().clone(),
        );
        let (from, bytes) = (case.input)(&cb, &ca);
        let source: SocketAddr = from.parse().unwrap();
        let r = p.b.handle_receive(
            p.now,
            Datagram {
                source,
                destination: p.b_addr,
                contents: Bytes::from(bytes),
            },
        );
        // STUN-range bytes are never application data.
        assert!(!matches!(r, Ok(Some(_))), "{name}: delivered as data");
        if from == STRANGER && case.answer == Answer::Silent {
            assert!(matches!(r, Err(Error::UnknownSource(_))), "{name}: {r:?}");
        }
        let sent: Vec<Transmit> = std::iter::from_fn(|| p.b.poll_transmit()).collect();
        let got = answers(&sent);
        match case.answer {
            Answer::Error(code) => {
                assert_eq!(
                    got,
                    vec![(s::Class::ErrorResponse, Some(code), None)],
                    "{name}"
                )
            }
            Answer::Success => {
                assert_eq!(
                    got,
                    vec![(s::Class::SuccessResponse, None, Some(source))],
                    "{name}"
                )
            }
            Answer::Silent => assert!(got.is_empty(), "{name}: answered {got:?}"),
            Answer::NotSuccess => assert!(
                got.iter().all(|(c, _, _)| *c == s::Class::ErrorResponse),
                "{name}: {got:?}"
            ),
        }
        // Whatever else `b` had to send goes on.
        for t in sent {
            if t.destination == p.a_addr {
                let _ = p.a.handle_receive(p.now, t);
            }
        }
        assert_eq!(p.b.role(), role, "{name}: role changed");
        assert_eq!(p.b.selected_pair(), sel, "{name}: selected pair changed");
        // The connection still delivers data, byte for byte.
        p.got_b.clear();
        p.a.send(Bytes::from_static(b"still here")).unwrap();
        p.run(|p| !p.got_b.is_empty());
        assert_eq!(p.got_b, vec![Bytes::from_static(b"still here")], "{name}");
        assert!(p.connected(), "{name}");
    }
}

#[test]
fn hostile_corpus_on_a_connected_agent() {
    let cases = corpus::cases();
    assert!(cases.len() >= 14);
    for case in &cases {
        corpus::run(case);
    }
}
