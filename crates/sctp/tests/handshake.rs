#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Duplicate and unexpected setup chunks, RFC 9260 §5.2: INIT collisions (§5.2.1), unexpected
//! INIT with Tie-Tags (§5.2.2), unexpected INIT ACK (§5.2.3), COOKIE ECHO with an existing
//! association, Table 12 actions A–D and case E (§5.2.4), duplicate COOKIE ACK (§5.2.5) and
//! Stale Cookie errors (§5.2.6). Packets are moved by hand so every ordering is explicit.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_sctp::chunk::{cause_code, Chunk, ErrorCause, InitChunk};
use ferrtc_sctp::param::Param;
use ferrtc_sctp::{
    Association, ChecksumMode, CommonHeader, Config, Error, Event, Packet, SendOptions, State,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn assoc(seed: u64, cfg: Config, now: Instant) -> Association {
    Association::new(cfg, now, &mut StdRng::seed_from_u64(seed))
}

fn drain(a: &mut Association) -> Vec<Bytes> {
    std::iter::from_fn(|| a.poll_transmit()).collect()
}

/// The one packet `a` has to send.
fn one(a: &mut Association) -> Bytes {
    let mut v = drain(a);
    assert_eq!(v.len(), 1, "expected exactly one packet");
    v.pop().unwrap()
}

fn deliver(to: &mut Association, now: Instant, packets: Vec<Bytes>) {
    for p in packets {
        to.handle_receive(now, p).unwrap();
    }
}

fn exchange(a: &mut Association, b: &mut Association, now: Instant) {
    for _ in 0..20 {
        let pa = drain(a);
        let pb = drain(b);
        if pa.is_empty() && pb.is_empty() {
            return;
        }
        for p in pa {
            let _ = b.handle_receive(now, p);
        }
        for p in pb {
            let _ = a.handle_receive(now, p);
        }
    }
}

fn events(a: &mut Association) -> Vec<Event> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn count(evs: &[Event], e: &Event) -> usize {
    evs.iter().filter(|x| *x == e).count()
}

fn parse(p: &Bytes) -> Packet {
    Packet::parse(p.clone(), ChecksumMode::ZeroAllowed).unwrap()
}

fn first_chunk(p: &Bytes) -> Chunk {
    parse(p).chunks.into_iter().next().unwrap()
}

fn init_ack_of(p: &Bytes) -> InitChunk {
    match first_chunk(p) {
        Chunk::InitAck(i) => i,
        c => panic!("expected INIT ACK, got {c:?}"),
    }
}

fn cookie_of(ack: &InitChunk) -> Bytes {
    ack.params
        .iter()
        .find_map(|p| match p {
            Param::StateCookie(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap()
}

fn packet(vtag: u32, chunk: Chunk) -> Bytes {
    Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: vtag,
        },
        chunks: vec![chunk],
    }
    .to_bytes(false)
}

fn send(a: &mut Association, now: Instant, text: &'static str) {
    a.send(
        now,
        0,
        51,
        Bytes::from_static(text.as_bytes()),
        SendOptions::default(),
    )
    .unwrap();
}

fn got_message(evs: &[Event], text: &str) -> bool {
    evs.iter()
        .any(|e| matches!(e, Event::Message(m) if m.payload == text.as_bytes()))
}

/// Data flows both ways between `a` and `b`.
fn assert_talks(a: &mut Association, b: &mut Association, now: Instant) {
    send(a, now, "a to b");
    send(b, now, "b to a");
    exchange(a, b, now);
    assert!(got_message(&events(b), "a to b"));
    assert!(got_message(&events(a), "b to a"));
}

fn established(now: Instant) -> (Association, Association) {
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    events(&mut a);
    events(&mut b);
    (a, b)
}

/// §5.2.1 + §5.2.4 D: both ends send INIT at once (the WebRTC case). Each answers the other's
/// INIT in COOKIE-WAIT with its original tag and stays there with T1 running; the COOKIE
/// ECHOs then match both tags and establish both ends exactly once.
#[test]
fn init_collision_resolves_through_case_d() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    b.connect(now);
    let (ia, ib) = (one(&mut a), one(&mut b));
    b.handle_receive(now, ia).unwrap();
    a.handle_receive(now, ib).unwrap();
    let (ack_a, ack_b) = (one(&mut a), one(&mut b));
    // Same Initiate Tag as the original INIT; addressed with the peer's tag.
    assert_eq!(init_ack_of(&ack_a).initiate_tag, a.local_verification_tag());
    assert_eq!(
        parse(&ack_a).header.verification_tag,
        b.local_verification_tag()
    );
    assert_eq!(init_ack_of(&ack_b).initiate_tag, b.local_verification_tag());
    assert_eq!(a.state(), State::CookieWait);
    assert_eq!(b.state(), State::CookieWait);
    assert!(a.poll_timeout().is_some(), "T1-init keeps running");
    b.handle_receive(now, ack_a).unwrap();
    a.handle_receive(now, ack_b).unwrap();
    assert_eq!(a.state(), State::CookieEchoed);
    assert_eq!(b.state(), State::CookieEchoed);
    let (echo_a, echo_b) = (one(&mut a), one(&mut b));
    b.handle_receive(now, echo_a).unwrap();
    a.handle_receive(now, echo_b).unwrap();
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    // Each answers with COOKIE ACK; the COOKIE ACKs arriving when established are ignored.
    let (ca, cb) = (one(&mut a), one(&mut b));
    assert!(matches!(first_chunk(&ca), Chunk::CookieAck));
    b.handle_receive(now, ca).unwrap();
    a.handle_receive(now, cb).unwrap();
    assert!(drain(&mut a).is_empty() && drain(&mut b).is_empty());
    assert_eq!(count(&events(&mut a), &Event::Connected), 1);
    assert_eq!(count(&events(&mut b), &Event::Connected), 1);
    assert_talks(&mut a, &mut b, now);
}

/// §5.2.4 B with the peer's tag not yet known ("M 0 A A"): our own cookie comes back while we
/// are still in COOKIE-WAIT. Our INIT, answered later in COOKIE-ECHOED, yields an INIT ACK
/// with Tie-Tags that the established peer discards (§5.2.3).
#[test]
fn cookie_echo_in_cookie_wait_is_case_b() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    b.connect(now);
    let (ia, ib) = (one(&mut a), one(&mut b));
    b.handle_receive(now, ia).unwrap();
    a.handle_receive(now, one(&mut b)).unwrap(); // b's INIT ACK
    assert_eq!(a.state(), State::CookieEchoed);
    b.handle_receive(now, one(&mut a)).unwrap(); // a's COOKIE ECHO, b still in COOKIE-WAIT
    assert_eq!(b.state(), State::Established);
    let cookie_ack = one(&mut b);
    // b's own INIT reaches a late: a (COOKIE-ECHOED) answers with its original tag.
    a.handle_receive(now, ib).unwrap();
    let ack = one(&mut a);
    assert_eq!(init_ack_of(&ack).initiate_tag, a.local_verification_tag());
    assert_eq!(a.state(), State::CookieEchoed);
    b.handle_receive(now, ack).unwrap();
    assert!(
        drain(&mut b).is_empty(),
        "INIT ACK when established: discarded"
    );
    a.handle_receive(now, cookie_ack).unwrap();
    assert_eq!(a.state(), State::Established);
    assert_eq!(count(&events(&mut a), &Event::Connected), 1);
    assert_eq!(count(&events(&mut b), &Event::Connected), 1);
    assert_talks(&mut a, &mut b, now);
}

/// §5.2.1 in COOKIE-ECHOED + §5.2.4 B ("M X A A"): the peer gave up on its first attempt and
/// comes back with a new tag. We answer with our original tag and Tie-Tags, stay in
/// COOKIE-ECHOED, and the new cookie establishes us with the peer's new tag.
#[test]
fn new_peer_tag_while_cookie_echoed_is_case_b() {
    let now = Instant::now();
    let mut z = assoc(1, Config::default(), now);
    let mut a = assoc(2, Config::default(), now);
    z.connect(now);
    a.handle_receive(now, one(&mut z)).unwrap();
    z.handle_receive(now, one(&mut a)).unwrap(); // a's INIT ACK, tag Ta
    assert_eq!(z.state(), State::CookieEchoed);
    let _lost_echo = one(&mut z);
    // The peer restarts its attempt with a new tag.
    let mut a2 = assoc(3, Config::default(), now);
    a2.connect(now);
    z.handle_receive(now, one(&mut a2)).unwrap();
    let ack = one(&mut z);
    assert_eq!(init_ack_of(&ack).initiate_tag, z.local_verification_tag());
    assert_eq!(
        parse(&ack).header.verification_tag,
        a2.local_verification_tag()
    );
    assert_eq!(z.state(), State::CookieEchoed, "state unchanged (§5.2.1)");
    a2.handle_receive(now, ack).unwrap();
    z.handle_receive(now, one(&mut a2)).unwrap(); // COOKIE ECHO from a2
    assert_eq!(z.state(), State::Established);
    assert!(
        z.poll_timeout()
            .is_none_or(|t| t > now + Duration::from_secs(1)),
        "T1 stopped"
    );
    exchange(&mut z, &mut a2, now);
    assert_eq!(a2.state(), State::Established);
    // z now uses a2's tag: a2 accepts z's packets.
    events(&mut z);
    assert_talks(&mut z, &mut a2, now);
}

/// §5.2.2: an INIT for an established association is answered with a new Initiate Tag, sent
/// to the INIT's tag, and changes nothing.
#[test]
fn unexpected_init_when_established_changes_nothing() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let tag_b = b.local_verification_tag();
    let mut x = assoc(9, Config::default(), now);
    x.connect(now);
    b.handle_receive(now, one(&mut x)).unwrap();
    let ack = one(&mut b);
    assert_eq!(
        parse(&ack).header.verification_tag,
        x.local_verification_tag()
    );
    let init_ack = init_ack_of(&ack);
    assert_ne!(init_ack.initiate_tag, tag_b, "a new tag (§5.2.2)");
    assert_ne!(init_ack.initiate_tag, 0);
    assert_eq!(b.state(), State::Established);
    assert_eq!(b.local_verification_tag(), tag_b);
    assert!(events(&mut b).is_empty());
    assert_talks(&mut a, &mut b, now);
}

/// §5.2.4 A ("X X M M"): the peer restarted. Both tags change to those of the new cookie, the
/// layer above hears Restarted (not Connected), the old peer's packets are refused, and
/// sequence numbers start again at 0.
#[test]
fn peer_restart_is_case_a() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    send(&mut b, now, "before");
    exchange(&mut a, &mut b, now);
    events(&mut a);
    let old_tag = b.local_verification_tag();
    let mut a2 = assoc(77, Config::default(), now);
    a2.connect(now);
    exchange(&mut a2, &mut b, now);
    assert_eq!(a2.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    assert_ne!(b.local_verification_tag(), old_tag);
    let eb = events(&mut b);
    assert_eq!(count(&eb, &Event::Restarted), 1);
    assert_eq!(count(&eb, &Event::Connected), 0);
    assert_talks(&mut a2, &mut b, now);
    // The crashed incarnation's packets carry the old tag.
    send(&mut a, now, "stale");
    for p in drain(&mut a) {
        assert!(matches!(
            b.handle_receive(now, p),
            Err(Error::BadVerificationTag { .. })
        ));
    }
}

/// §5.2.4 A in SHUTDOWN-ACK-SENT: no new association; SHUTDOWN ACK again plus an ERROR
/// "Cookie Received While Shutting Down".
#[test]
fn restart_cookie_while_shutdown_ack_sent() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let mut a2 = assoc(77, Config::default(), now);
    a2.connect(now);
    b.handle_receive(now, one(&mut a2)).unwrap();
    a2.handle_receive(now, one(&mut b)).unwrap(); // INIT ACK with Tie-Tags
    let echo = one(&mut a2);
    a.shutdown(now);
    deliver(&mut b, now, drain(&mut a)); // SHUTDOWN
    assert_eq!(b.state(), State::ShutdownAckSent);
    let _lost_shutdown_ack = drain(&mut b);
    b.handle_receive(now, echo).unwrap();
    let out: Vec<Chunk> = drain(&mut b).iter().map(first_chunk).collect();
    assert!(out.iter().any(|c| matches!(c, Chunk::ShutdownAck)));
    assert!(out.iter().any(|c| matches!(c, Chunk::Error { causes } if causes[0].code == cause_code::COOKIE_WHILE_SHUTTING_DOWN)));
    assert!(!out.iter().any(|c| matches!(c, Chunk::CookieAck)));
    assert_eq!(b.state(), State::ShutdownAckSent);
    assert!(!events(&mut b).contains(&Event::Restarted));
}

/// §9.2 / §5.2.2: an INIT in SHUTDOWN-ACK-SENT is discarded and the SHUTDOWN ACK repeated.
#[test]
fn init_in_shutdown_ack_sent_repeats_shutdown_ack() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    a.shutdown(now);
    deliver(&mut b, now, drain(&mut a));
    assert_eq!(b.state(), State::ShutdownAckSent);
    let _lost = drain(&mut b);
    let mut x = assoc(9, Config::default(), now);
    x.connect(now);
    b.handle_receive(now, one(&mut x)).unwrap();
    let p = one(&mut b);
    assert!(matches!(first_chunk(&p), Chunk::ShutdownAck));
    assert_eq!(
        parse(&p).header.verification_tag,
        a.local_verification_tag()
    );
    deliver(&mut a, now, vec![p]);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.state(), State::Closed);
    assert_eq!(b.state(), State::Closed);
}

/// §5.2.4 C ("X M 0 0"): our own cookie from an abandoned attempt arrives after a retry with a
/// new tag established the association: silently discarded, nothing changes.
#[test]
fn late_cookie_of_abandoned_attempt_is_case_c() {
    let now = Instant::now();
    let mut z = assoc(1, Config::default(), now);
    // The peer's cookies expire quickly, so z's first attempt meets a Stale Cookie error.
    let short = Config {
        cookie_lifetime: Duration::from_secs(1),
        ..Config::default()
    };
    let mut a = assoc(2, short, now);
    z.connect(now);
    a.connect(now);
    let (iz, ia) = (one(&mut z), one(&mut a));
    z.handle_receive(now, ia).unwrap();
    let old_ack = one(&mut z); // cookie {Tz1, Ta, no Tie-Tags}, delivered late
    let tz1 = z.local_verification_tag();
    a.handle_receive(now, iz).unwrap();
    z.handle_receive(now, one(&mut a)).unwrap();
    assert_eq!(z.state(), State::CookieEchoed);
    let t = now + Duration::from_secs(2);
    a.handle_receive(t, one(&mut z)).unwrap(); // stale at a
    let err = one(&mut a);
    assert!(
        matches!(first_chunk(&err), Chunk::Error { causes } if causes[0].code == cause_code::STALE_COOKIE)
    );
    z.handle_receive(t, err).unwrap();
    // §5.2.6: z starts again with a new INIT and a new tag.
    assert_eq!(z.state(), State::CookieWait);
    assert_ne!(z.local_verification_tag(), tz1);
    exchange(&mut z, &mut a, t);
    assert_eq!(z.state(), State::Established);
    assert_eq!(a.state(), State::Established);
    events(&mut z);
    // The first attempt's COOKIE ECHO (tag Tz1) finally arrives.
    let late = packet(
        tz1,
        Chunk::CookieEcho {
            cookie: cookie_of(&init_ack_of(&old_ack)),
        },
    );
    z.handle_receive(t, late).unwrap();
    assert!(drain(&mut z).is_empty(), "silently discarded");
    assert!(events(&mut z).is_empty());
    assert_eq!(z.state(), State::Established);
    events(&mut a);
    assert_talks(&mut z, &mut a, t);
}

/// Case E: a retransmitted COOKIE ECHO when established gets another COOKIE ACK and no second
/// Connected, even after the cookie's lifetime, because both tags match (§5.2.4 step 3).
#[test]
fn duplicate_cookie_echo_is_acked_again() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    b.handle_receive(now, one(&mut a)).unwrap();
    a.handle_receive(now, one(&mut b)).unwrap();
    let echo = one(&mut a);
    b.handle_receive(now, echo.clone()).unwrap();
    a.handle_receive(now, one(&mut b)).unwrap();
    events(&mut a);
    assert_eq!(count(&events(&mut b), &Event::Connected), 1);
    for t in [now + Duration::from_secs(1), now + Duration::from_secs(600)] {
        b.handle_receive(t, echo.clone()).unwrap();
        let p = one(&mut b);
        assert!(matches!(first_chunk(&p), Chunk::CookieAck));
        a.handle_receive(t, p).unwrap();
        assert!(events(&mut b).is_empty());
        assert!(
            events(&mut a).is_empty(),
            "duplicate COOKIE ACK ignored (§5.2.5)"
        );
    }
    assert_talks(&mut a, &mut b, now + Duration::from_secs(600));
}

/// §5.2.4 step 3: a stale cookie whose tags are not the association's gets a Stale Cookie
/// error with the Measure of Staleness, and the association is untouched. The COOKIE-ECHOED
/// side reacts by sending a new INIT (§5.2.6).
#[test]
fn stale_cookie_for_established_association_is_refused() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let mut x = assoc(9, Config::default(), now);
    x.connect(now);
    b.handle_receive(now, one(&mut x)).unwrap();
    x.handle_receive(now, one(&mut b)).unwrap();
    let echo = one(&mut x);
    let late = now + Duration::from_secs(61);
    b.handle_receive(late, echo).unwrap();
    let err = one(&mut b);
    assert_eq!(
        parse(&err).header.verification_tag,
        x.local_verification_tag()
    );
    match first_chunk(&err) {
        Chunk::Error { causes } => {
            assert_eq!(causes[0].code, cause_code::STALE_COOKIE);
            let us = u32::from_be_bytes(causes[0].info[..4].try_into().unwrap());
            assert!((900_000..=1_100_000).contains(&us), "staleness {us} us");
        }
        c => panic!("{c:?}"),
    }
    assert_eq!(b.state(), State::Established);
    assert!(events(&mut b).is_empty());
    let old_tag = x.local_verification_tag();
    x.handle_receive(late, err).unwrap();
    assert_eq!(x.state(), State::CookieWait);
    assert_ne!(x.local_verification_tag(), old_tag);
    assert!(matches!(first_chunk(&one(&mut x)), Chunk::Init(_)));
    assert_talks(&mut a, &mut b, late);
}

/// §5.2.6: a Stale Cookie error outside COOKIE-ECHOED is discarded.
#[test]
fn stale_cookie_error_when_established_is_ignored() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let err = packet(
        a.local_verification_tag(),
        Chunk::Error {
            causes: vec![ErrorCause {
                code: cause_code::STALE_COOKIE,
                info: Bytes::from_static(&[0, 0, 0, 1]),
            }],
        },
    );
    a.handle_receive(now, err).unwrap();
    assert_eq!(a.state(), State::Established);
    assert!(drain(&mut a).is_empty());
    assert_talks(&mut a, &mut b, now);
}

/// §5.2.6: a peer that answers every COOKIE ECHO with a Stale Cookie error cannot keep us
/// retrying forever: the retries count against Max.Init.Retransmits.
#[test]
fn endless_stale_cookie_errors_end_the_handshake() {
    let now = Instant::now();
    let cfg = Config {
        max_init_retransmits: 3,
        ..Config::default()
    };
    let mut a = assoc(1, cfg, now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    for round in 0..10 {
        b.handle_receive(now, one(&mut a)).unwrap(); // INIT
        a.handle_receive(now, one(&mut b)).unwrap(); // INIT ACK
        assert_eq!(a.state(), State::CookieEchoed, "round {round}");
        let _echo = one(&mut a);
        let err = packet(
            a.local_verification_tag(),
            Chunk::Error {
                causes: vec![ErrorCause {
                    code: cause_code::STALE_COOKIE,
                    info: Bytes::from_static(&[0, 0, 0, 1]),
                }],
            },
        );
        a.handle_receive(now, err).unwrap();
        if a.state() == State::Closed {
            assert_eq!(round, 3);
            assert!(events(&mut a)
                .iter()
                .any(|e| matches!(e, Event::Aborted { .. })));
            return;
        }
    }
    panic!("the handshake never gave up");
}

/// §5.2.3 and §5.2.5: INIT ACK and COOKIE ACK in ESTABLISHED are discarded.
#[test]
fn unexpected_init_ack_and_cookie_ack_are_discarded() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let tag = b.local_verification_tag();
    let ack = InitChunk {
        initiate_tag: 1234,
        a_rwnd: 65536,
        num_outbound_streams: 10,
        num_inbound_streams: 10,
        initial_tsn: 1,
        params: vec![Param::StateCookie(Bytes::from_static(b"cookie"))],
    };
    b.handle_receive(now, packet(tag, Chunk::InitAck(ack)))
        .unwrap();
    b.handle_receive(now, packet(tag, Chunk::CookieAck))
        .unwrap();
    assert!(drain(&mut b).is_empty());
    assert!(events(&mut b).is_empty());
    assert_eq!(b.state(), State::Established);
    assert_talks(&mut a, &mut b, now);
}

/// A COOKIE ECHO must come with the tag the cookie names (§8.5.1), and a forged or foreign
/// cookie never creates or changes an association.
#[test]
fn cookie_echo_with_wrong_tag_or_mac_is_refused() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    b.handle_receive(now, one(&mut a)).unwrap();
    let cookie = cookie_of(&init_ack_of(&one(&mut b)));
    let wrong = packet(b.local_verification_tag() ^ 1, Chunk::CookieEcho { cookie });
    assert!(matches!(
        b.handle_receive(now, wrong),
        Err(Error::BadVerificationTag { .. })
    ));
    // A cookie made by another endpoint (another key).
    let mut c = assoc(3, Config::default(), now);
    let mut x = assoc(4, Config::default(), now);
    x.connect(now);
    c.handle_receive(now, one(&mut x)).unwrap();
    let foreign = packet(
        c.local_verification_tag(),
        Chunk::CookieEcho {
            cookie: cookie_of(&init_ack_of(&one(&mut c))),
        },
    );
    assert!(matches!(
        b.handle_receive(now, foreign),
        Err(Error::BadCookie(_) | Error::BadVerificationTag { .. })
    ));
    assert_eq!(b.state(), State::Closed);
    assert!(drain(&mut b).is_empty());
}

/// An ended association answers a new INIT with ABORT at once rather than a cookie it would
/// never accept.
#[test]
fn init_after_abort_is_answered_with_abort() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    a.abort("bye");
    deliver(&mut b, now, drain(&mut a));
    assert_eq!(b.state(), State::Closed);
    let mut x = assoc(9, Config::default(), now);
    x.connect(now);
    b.handle_receive(now, one(&mut x)).unwrap();
    let p = one(&mut b);
    assert!(matches!(first_chunk(&p), Chunk::Abort { .. }));
    x.handle_receive(now, p).unwrap();
    assert_eq!(x.state(), State::Closed);
}

/// §5.2.4 B when already established (found by the sctp_handshake fuzz target): a late
/// COOKIE ACK of the peer's first attempt establishes us with that attempt, then the cookie
/// of the peer's second attempt (new tag, new initial TSN) arrives. We must take the second
/// attempt's tag *and* its initial TSN, or its data is refused forever.
#[test]
fn case_b_when_established_takes_the_new_peer_tsn() {
    let now = Instant::now();
    let mut z = assoc(1, Config::default(), now);
    let mut a1 = assoc(2, Config::default(), now);
    z.connect(now);
    a1.connect(now);
    let _lost_init = one(&mut a1);
    a1.handle_receive(now, one(&mut z)).unwrap();
    z.handle_receive(now, one(&mut a1)).unwrap(); // INIT ACK
    a1.handle_receive(now, one(&mut z)).unwrap(); // COOKIE ECHO: a1 established (B, "M 0")
    let late_cookie_ack = one(&mut a1);
    // The peer's second attempt reaches z while z is still in COOKIE-ECHOED.
    let mut a2 = assoc(3, Config::default(), now);
    a2.connect(now);
    z.handle_receive(now, one(&mut a2)).unwrap();
    a2.handle_receive(now, one(&mut z)).unwrap();
    let echo2 = one(&mut a2);
    z.handle_receive(now, late_cookie_ack).unwrap();
    assert_eq!(z.state(), State::Established);
    z.handle_receive(now, echo2).unwrap();
    assert_eq!(z.state(), State::Established);
    exchange(&mut z, &mut a2, now);
    assert_eq!(a2.state(), State::Established);
    events(&mut z);
    events(&mut a2);
    assert_talks(&mut z, &mut a2, now);
}

/// After §5.2.4 B moved the association to the peer's new tag, a duplicate of the old
/// attempt's COOKIE ECHO (also "M X" now) must not switch it back (found by the
/// sctp_handshake fuzz target).
#[test]
fn old_cookie_does_not_undo_case_b() {
    let now = Instant::now();
    let mut b = assoc(1, Config::default(), now);
    let mut a1 = assoc(2, Config::default(), now);
    a1.connect(now);
    b.connect(now);
    let (ia, ib) = (one(&mut a1), one(&mut b));
    b.handle_receive(now, ia).unwrap();
    a1.handle_receive(now, ib).unwrap();
    let (ack_b, ack_a) = (one(&mut b), one(&mut a1));
    a1.handle_receive(now, ack_b).unwrap();
    b.handle_receive(now, ack_a).unwrap();
    let echo1 = one(&mut a1);
    let _echo_b = one(&mut b);
    // The peer restarts its attempt with a new tag while b is in COOKIE-ECHOED.
    let mut a2 = assoc(3, Config::default(), now);
    a2.connect(now);
    b.handle_receive(now, one(&mut a2)).unwrap();
    a2.handle_receive(now, one(&mut b)).unwrap();
    let echo2 = one(&mut a2);
    b.handle_receive(now, echo1.clone()).unwrap(); // D: established with a1
    let _ack1 = one(&mut b);
    b.handle_receive(now, echo2).unwrap(); // B: a2 from now on
    a2.handle_receive(now, one(&mut b)).unwrap();
    assert_eq!(a2.state(), State::Established);
    b.handle_receive(now, echo1).unwrap(); // the old attempt again
    assert!(drain(&mut b).is_empty(), "discarded");
    events(&mut b);
    events(&mut a2);
    assert_talks(&mut b, &mut a2, now);
}
