//! Unit tests of the agent that look at its private state (its configuration).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_core::RngCore;

use super::*;
use crate::candidate::{candidate_priority, CandidateType};
use crate::stun::{Builder, Class, BINDING};
use crate::Error;

fn cfg(role: Role) -> AgentConfig {
    AgentConfig {
        role,
        include_loopback: true,
        ..AgentConfig::default()
    }
}

struct Rng(u64);
impl RngCore for Rng {
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
            *b = self.next_u64() as u8;
        }
    }
}

/// Moves datagrams between two agents (no network delay) and runs their timers, until
/// `until` holds or 60 s of virtual time pass. Returns the virtual time taken.
fn drive(
    a: &mut Agent,
    b: &mut Agent,
    start: Instant,
    until: impl Fn(&Agent, &Agent) -> bool,
) -> Duration {
    drive_lossy(a, b, start, |_| false, until)
}

/// Like `drive`, but datagrams for which `dead` holds are lost.
fn drive_lossy(
    a: &mut Agent,
    b: &mut Agent,
    start: Instant,
    dead: impl Fn(&Transmit) -> bool,
    until: impl Fn(&Agent, &Agent) -> bool,
) -> Duration {
    let mut now = start;
    for _ in 0..100_000 {
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                moved = true;
                if !dead(&t) {
                    let _ = b.handle_receive(now, t);
                }
            }
            while let Some(t) = b.poll_transmit() {
                moved = true;
                if !dead(&t) {
                    let _ = a.handle_receive(now, t);
                }
            }
            if !moved {
                break;
            }
        }
        if until(a, b) {
            return now - start;
        }
        let next = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        if now - start > Duration::from_secs(60) {
            break;
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    panic!("condition not reached");
}

fn setup(now: Instant) -> (Agent, Agent) {
    let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(1));
    let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(2));
    let ca = a
        .add_local_interface(now, "127.0.0.1:1000".parse().unwrap())
        .unwrap()
        .unwrap();
    let cb = b
        .add_local_interface(now, "127.0.0.1:2000".parse().unwrap())
        .unwrap()
        .unwrap();
    a.set_remote_credentials(now, b.local_credentials().clone());
    b.set_remote_credentials(now, a.local_credentials().clone());
    a.add_remote_candidate(now, cb).unwrap();
    b.add_remote_candidate(now, ca).unwrap();
    (a, b)
}

#[test]
fn loopback_connects_within_two_milliseconds() {
    let now = ferrtc_testkit::epoch();
    let (mut a, mut b) = setup(now);
    let took = drive(&mut a, &mut b, now, |a, b| {
        a.state() == ConnectionState::Connected && b.state() == ConnectionState::Connected
    });
    assert!(took <= Duration::from_millis(2), "took {took:?}");
    assert_eq!(b.state(), ConnectionState::Connected);
    assert_eq!(
        a.selected_pair(),
        Some((
            "127.0.0.1:1000".parse().unwrap(),
            "127.0.0.1:2000".parse().unwrap()
        ))
    );
    a.send(Bytes::from_static(b"hi")).unwrap();
    let t = a.poll_transmit().unwrap();
    assert_eq!(
        b.handle_receive(now, t).unwrap(),
        Some(Bytes::from_static(b"hi"))
    );
    let s = a.pair_stats();
    assert_eq!(s[0].packets_sent, 1);
    assert!(s[0].requests_sent >= 2 && s[0].responses_received >= 2);
}

#[test]
fn bad_integrity_is_rejected_and_changes_nothing() {
    let now = ferrtc_testkit::epoch();
    let (mut a, mut b) = setup(now);
    let mut t = a.poll_transmit().unwrap();
    let mut raw = t.contents.to_vec();
    let n = raw.len();
    raw[n - 20] ^= 0xff; // inside the HMAC... may hit FINGERPRINT; either way an error
    t.contents = Bytes::from(raw);
    assert!(b.handle_receive(now, t).is_err());
    assert!(b.pair_stats().iter().all(|p| p.requests_received == 0));
    // A response to a transaction never sent.
    let mut bld = Builder::new(Class::SuccessResponse, BINDING, &[9; 12]);
    bld.xor_mapped_address("127.0.0.1:1000".parse().unwrap());
    let d = Datagram {
        source: "127.0.0.1:2000".parse().unwrap(),
        destination: "127.0.0.1:1000".parse().unwrap(),
        contents: bld.finish(Some(b"x")),
    };
    assert_eq!(a.handle_receive(now, d), Err(Error::UnknownTransaction));
}

#[test]
fn loopback_skipped_unless_asked() {
    let now = ferrtc_testkit::epoch();
    let mut a = Agent::new(AgentConfig::default(), now, &mut Rng(1));
    assert_eq!(
        a.add_local_interface(now, "127.0.0.1:1".parse().unwrap())
            .unwrap(),
        None
    );
    assert!(a
        .add_local_interface(now, "0.0.0.0:1".parse().unwrap())
        .is_err());
    assert!(a
        .add_local_interface(now, "10.0.0.1:1".parse().unwrap())
        .unwrap()
        .is_some());
}

/// a (one interface) and b, where b signals its second interface as a relayed candidate;
/// `lost` says which transmits are dropped. Returns the time to both selected, and a's pair.
fn direct_vs_relay(
    lost: impl Fn(&Transmit) -> bool,
) -> (Duration, Option<(SocketAddr, SocketAddr)>, Agent) {
    let now = ferrtc_testkit::epoch();
    let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(7));
    let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(8));
    let a_addr: SocketAddr = "10.0.0.1:1000".parse().unwrap();
    let ca = a.add_local_interface(now, a_addr).unwrap().unwrap();
    let direct = b.add_local_interface(now, B_DIRECT).unwrap().unwrap();
    let mut relayed = b.add_local_interface(now, B_RELAYED).unwrap().unwrap();
    relayed.typ = CandidateType::Relayed;
    relayed.priority = candidate_priority(CandidateType::Relayed, 65535, 1);
    relayed.foundation = "relay".into();
    a.set_remote_credentials(now, b.local_credentials().clone());
    b.set_remote_credentials(now, a.local_credentials().clone());
    a.add_remote_candidate(now, direct).unwrap();
    a.add_remote_candidate(now, relayed).unwrap();
    b.add_remote_candidate(now, ca).unwrap();
    a.end_of_remote_candidates(now);
    b.end_of_remote_candidates(now);
    let took = drive_lossy(&mut a, &mut b, now, lost, |a, b| {
        a.selected_pair().is_some() && b.selected_pair().is_some()
    });
    let sel = a.selected_pair();
    (took, sel, a)
}

const B_DIRECT: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)), 2000);
const B_RELAYED: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 3)), 3000);

#[test]
fn relay_pair_does_not_win_over_a_direct_pair_that_needs_a_retransmission() {
    // The first two packets of the direct path are lost (both sides' first checks crossing
    // two NATs): the relay pair validates first, yet the direct pair is selected once its
    // retransmission succeeds, well before `relay_nomination_delay`.
    let dropped = std::cell::Cell::new(0);
    let (took, sel, a) = direct_vs_relay(|t| {
        let direct = t.source == B_DIRECT || t.destination == B_DIRECT;
        if direct && dropped.get() < 2 {
            dropped.set(dropped.get() + 1);
            return true;
        }
        false
    });
    assert_eq!(dropped.get(), 2);
    assert_eq!(sel.map(|s| s.1), Some(B_DIRECT), "{took:?}");
    assert!(took >= a.config.initial_rto, "{took:?}");
    assert!(took < a.config.relay_nomination_delay, "{took:?}");
}

#[test]
fn relay_pair_is_nominated_after_the_relay_delay_when_the_direct_path_is_dead() {
    let (took, sel, a) = direct_vs_relay(|t| t.source == B_DIRECT || t.destination == B_DIRECT);
    assert_eq!(sel.map(|s| s.1), Some(B_RELAYED));
    assert!(took >= a.config.relay_nomination_delay, "{took:?}");
    assert!(
        took < a.config.relay_nomination_delay + Duration::from_millis(50),
        "{took:?}"
    );
}

#[test]
fn dead_best_interface_nominates_the_next_pair_after_the_delay() {
    // a has two interfaces; the preferred one (index 0) cannot reach b. The controlling
    // agent waits `nomination_delay` for the better pair, then nominates the working one,
    // and reaches Completed once the dead pair has failed.
    let now = ferrtc_testkit::epoch();
    let mut a = Agent::new(cfg(Role::Controlling), now, &mut Rng(5));
    let mut b = Agent::new(cfg(Role::Controlled), now, &mut Rng(6));
    let dead_if: SocketAddr = "10.9.9.9:1000".parse().unwrap();
    let good_if: SocketAddr = "10.0.0.1:1000".parse().unwrap();
    let b_addr: SocketAddr = "10.0.0.2:2000".parse().unwrap();
    let c_dead = a.add_local_interface(now, dead_if).unwrap().unwrap();
    let c_good = a.add_local_interface(now, good_if).unwrap().unwrap();
    assert!(
        c_dead.priority > c_good.priority,
        "interface order sets local preference"
    );
    assert_ne!(c_dead.foundation, c_good.foundation);
    let cb = b.add_local_interface(now, b_addr).unwrap().unwrap();
    a.set_remote_credentials(now, b.local_credentials().clone());
    b.set_remote_credentials(now, a.local_credentials().clone());
    a.add_remote_candidate(now, cb).unwrap();
    b.add_remote_candidate(now, c_dead).unwrap();
    b.add_remote_candidate(now, c_good).unwrap();
    a.end_of_remote_candidates(now);
    b.end_of_remote_candidates(now);
    let dead = |t: &Transmit| t.source == dead_if || t.destination == dead_if;
    let took = drive_lossy(&mut a, &mut b, now, dead, |a, b| {
        a.selected_pair().is_some() && b.selected_pair().is_some()
    });
    assert!(took >= a.config.nomination_delay, "{took:?}");
    assert!(
        took < a.config.nomination_delay + Duration::from_millis(50),
        "{took:?}"
    );
    assert_eq!(a.selected_pair(), Some((good_if, b_addr)));
    assert_eq!(b.selected_pair(), Some((b_addr, good_if)));
    let t2 = drive_lossy(&mut a, &mut b, now, dead, |a, _| {
        a.state() == ConnectionState::Completed
    });
    assert!(
        t2 > Duration::from_secs(3),
        "dead pair must time out first: {t2:?}"
    );
    let dead_pair = a
        .pair_stats()
        .into_iter()
        .find(|p| p.local == dead_if)
        .unwrap();
    assert_eq!(dead_pair.state, PairState::Failed);
    assert_eq!(
        dead_pair.requests_sent,
        u64::from(a.config.max_transmissions)
    );
}

/// The answer `b` sends to a request `raw` from `a`'s address, as (class, ERROR-CODE).
fn answer_to(
    b: &mut Agent,
    now: Instant,
    raw: Bytes,
) -> (Result<Option<Bytes>, Error>, Vec<Option<u16>>) {
    let r = b.handle_receive(
        now,
        Datagram {
            source: "127.0.0.1:1000".parse().unwrap(),
            destination: "127.0.0.1:2000".parse().unwrap(),
            contents: raw,
        },
    );
    let answers = std::iter::from_fn(|| b.poll_transmit())
        .filter_map(|t| crate::stun::Message::parse(t.contents).ok())
        .filter(|m| m.class == Class::ErrorResponse)
        .map(|m| m.error_code)
        .collect();
    (r, answers)
}

#[test]
fn requests_are_answered_as_rfc_8489_says() {
    use ferrtc_stun as s;
    let now = ferrtc_testkit::epoch();
    let (a, mut b) = setup(now);
    while b.poll_transmit().is_some() {}
    let user = format!(
        "{}:{}",
        b.local_credentials().ufrag,
        a.local_credentials().ufrag
    );
    let key = s::IntegrityKey::from_raw(b.local_credentials().pwd.as_bytes()).unwrap();
    let build = |extra: Option<s::Attribute>, sign: bool| {
        let mut m = s::MessageBuilder::new(
            s::MessageType::new(s::Method::BINDING, s::Class::Request),
            s::TransactionId([4; 12]),
        );
        m.add(&s::Attribute::Username(s::Text::new(&user))).unwrap();
        m.add(&s::Attribute::Priority(7)).unwrap();
        if let Some(x) = extra {
            m.add(&x).unwrap();
        }
        if sign {
            m.add_message_integrity(&key).unwrap();
        }
        m.add_fingerprint().unwrap();
        m.build()
    };
    // No MESSAGE-INTEGRITY: 400, not 401 (§9.1.3).
    let (r, ans) = answer_to(&mut b, now, build(None, false));
    assert!(r.is_err());
    assert_eq!(ans, [Some(400)]);
    // An authentic request with an unknown comprehension-required attribute: 420 (§6.3.1).
    let unknown = s::Attribute::Unknown {
        attr_type: 0x0031,
        value: Bytes::from_static(&[1, 2, 3, 4]),
    };
    let (r, ans) = answer_to(&mut b, now, build(Some(unknown), true));
    assert!(r.is_err());
    assert_eq!(ans, [Some(420)]);
    assert!(b.pair_stats().iter().all(|p| p.requests_received == 0));
    // The same request without it is answered with success.
    let (r, ans) = answer_to(&mut b, now, build(None, true));
    assert_eq!(r, Ok(None));
    assert!(ans.is_empty());
    // 19 bytes that start like STUN (RFC 7983 §7) are dropped, not data.
    let mut short = build(None, true).to_vec();
    short.truncate(19);
    let (r, _) = answer_to(&mut b, now, Bytes::from(short));
    assert!(r.is_err());
}

#[test]
fn related_address_hides_the_base_behind_mdns_names() {
    let now = ferrtc_testkit::epoch();
    let base: SocketAddr = "192.168.1.20:5000".parse().unwrap();
    let mapped: SocketAddr = "203.0.113.9:6000".parse().unwrap();
    let base6: SocketAddr = "[2001:db8::20]:5000".parse().unwrap();
    let plain = Agent::new(cfg(Role::Controlling), now, &mut Rng(7));
    assert_eq!(plain.related_address(base, base), base);
    assert_eq!(plain.related_address(base, mapped), mapped);
    let hidden = Agent::new(
        AgentConfig {
            mdns_host_names: true,
            ..cfg(Role::Controlling)
        },
        now,
        &mut Rng(8),
    );
    // raddr 0.0.0.0 rport 0 (or :: for IPv6), whatever the candidate would have shown.
    let v4: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let v6: SocketAddr = "[::]:0".parse().unwrap();
    assert_eq!(hidden.related_address(base, base), v4);
    assert_eq!(hidden.related_address(base, mapped), v4);
    assert_eq!(hidden.related_address(base6, base6), v6);
}
