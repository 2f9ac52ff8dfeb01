//! The TURN client against a scripted in-process fake server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use ferrtc_turn_client::{
    AllocationFamily, AllocationState, ChannelData, Config, Event, Transport, TurnClient,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const SERVER: &str = "192.0.2.1:3478";
const CLIENT: &str = "198.51.100.7:50000";
const RELAY: &str = "192.0.2.1:49152";
const PEER: &str = "203.0.113.5:7000";

/// A TURN server that answers by the rules, plus forced errors for chosen methods.
struct Fake {
    realm: String,
    nonce: String,
    key: IntegrityKey,
    forced: HashMap<u16, u16>,
    stale_once: bool,
    dual: bool,
    received: Vec<Message>,
    lifetime: u32,
}

impl Fake {
    fn new() -> Self {
        Fake {
            realm: "example.org".into(),
            nonce: "nonce-1".into(),
            key: IntegrityKey::long_term("alice", "example.org", "secret", PasswordAlgorithm::MD5)
                .unwrap(),
            forced: HashMap::new(),
            stale_once: false,
            dual: false,
            received: Vec::new(),
            lifetime: 600,
        }
    }

    fn error(&self, req: &Message, code: u16, with_nonce: bool) -> Bytes {
        let mut b = MessageBuilder::new(
            MessageType::new(req.method(), Class::ErrorResponse),
            req.transaction_id(),
        );
        b.add(&Attribute::ErrorCode(ErrorCode {
            code,
            reason: Text::new("scripted"),
        }))
        .unwrap();
        if with_nonce {
            b.add(&Attribute::Realm(Text::new(&self.realm))).unwrap();
            b.add(&Attribute::Nonce(Text::new(&self.nonce))).unwrap();
        } else {
            // An error to an authenticated request carries the integrity of the user's key, as
            // coturn does: RFC 8489 §9.2.5 has the client discard it otherwise.
            b.add_message_integrity(&self.key).unwrap();
        }
        b.add_fingerprint().unwrap();
        b.build()
    }

    /// Answer one datagram from the client; indications and ChannelData are recorded.
    fn handle(&mut self, data: &Bytes) -> Option<Bytes> {
        if data[0] >= 0x40 {
            return None;
        }
        let req = Message::parse(data.clone()).unwrap();
        self.received.push(req.clone());
        if req.class() != Class::Request {
            return None;
        }
        if req.integrity().is_none() {
            return Some(self.error(&req, 401, true));
        }
        let Ok(a) = req.verify_integrity(&self.key) else {
            return Some(self.error(&req, 401, true));
        };
        assert_eq!(a.username().unwrap(), Some("alice"));
        if self.stale_once {
            self.stale_once = false;
            self.nonce = "nonce-2".into();
            return Some(self.error(&req, 438, true));
        }
        if a.nonce().unwrap() != Some(self.nonce.as_str()) {
            return Some(self.error(&req, 438, true));
        }
        if let Some(code) = self.forced.remove(&req.method().value()) {
            return Some(self.error(&req, code, false));
        }
        let mut b = MessageBuilder::new(
            MessageType::new(req.method(), Class::SuccessResponse),
            req.transaction_id(),
        );
        match req.method() {
            Method::ALLOCATE => {
                assert_eq!(
                    a.get(attr::REQUESTED_TRANSPORT).unwrap().unwrap(),
                    Attribute::RequestedTransport(17)
                );
                b.add(&Attribute::XorRelayedAddress(RELAY.parse().unwrap()))
                    .unwrap();
                if self.dual {
                    assert!(a.find(attr::ADDITIONAL_ADDRESS_FAMILY).is_some());
                    b.add(&Attribute::XorRelayedAddress(
                        "[2001:db8::1]:49153".parse().unwrap(),
                    ))
                    .unwrap();
                }
                b.add(&Attribute::XorMappedAddress(CLIENT.parse().unwrap()))
                    .unwrap();
                b.add(&Attribute::Lifetime(self.lifetime)).unwrap();
            }
            Method::REFRESH => {
                let l = a.lifetime().unwrap().unwrap();
                b.add(&Attribute::Lifetime(l.min(self.lifetime))).unwrap();
            }
            _ => {}
        }
        b.add_message_integrity(&self.key).unwrap();
        b.add_fingerprint().unwrap();
        Some(b.build())
    }
}

fn client(transport: Transport, password: &str) -> TurnClient<StdRng> {
    let mut c = Config::new(SERVER.parse().unwrap(), transport, "alice", password);
    c.software = Some("ferrtc test".into());
    TurnClient::new(c, StdRng::seed_from_u64(7))
}

/// Run client and server until quiet; returns the events.
fn pump(c: &mut TurnClient<StdRng>, s: &mut Fake, now: Instant) -> Vec<Event> {
    let server: SocketAddr = SERVER.parse().unwrap();
    for _ in 0..50 {
        let Some(t) = c.poll_transmit() else { break };
        assert_eq!(t.destination, server);
        if let Some(resp) = s.handle(&t.data) {
            c.handle_receive(now, server, resp).unwrap();
        }
    }
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn allocated(transport: Transport) -> (TurnClient<StdRng>, Fake, Instant) {
    let mut c = client(transport, "secret");
    let mut s = Fake::new();
    let now = Instant::now();
    c.allocate(now).unwrap();
    let ev = pump(&mut c, &mut s, now);
    assert_eq!(
        ev,
        vec![Event::AllocationReady {
            relayed: vec![RELAY.parse().unwrap()],
            mapped: Some(CLIENT.parse().unwrap()),
            lifetime: Duration::from_secs(600)
        }]
    );
    assert_eq!(c.state(), AllocationState::Allocated);
    // First Allocate without credentials, then with them.
    assert_eq!(s.received.len(), 2);
    assert_eq!(s.received[0].integrity(), None);
    assert_eq!(s.received[1].integrity(), Some(IntegrityKind::Sha1));
    (c, s, now)
}

#[test]
fn allocate_after_401_challenge() {
    let (c, _, _) = allocated(Transport::Udp);
    assert_eq!(c.realm(), Some("example.org"));
    assert_eq!(
        c.relayed_addresses(),
        &[RELAY.parse::<SocketAddr>().unwrap()]
    );
}

#[test]
fn wrong_password_is_a_clear_error() {
    let mut c = client(Transport::Udp, "wrong");
    let mut s = Fake::new();
    let now = Instant::now();
    c.allocate(now).unwrap();
    let ev = pump(&mut c, &mut s, now);
    match &ev[..] {
        [Event::AllocationFailed {
            code: Some(401),
            reason,
        }] => assert!(
            reason.contains("rejected the username or password"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state(), AllocationState::Closed);
}

#[test]
fn stale_nonce_is_retried_with_the_new_nonce() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    s.stale_once = true;
    c.refresh(now).unwrap();
    let ev = pump(&mut c, &mut s, now);
    assert_eq!(
        ev,
        vec![Event::AllocationRefreshed {
            lifetime: Duration::from_secs(600)
        }]
    );
    let last = s.received.last().unwrap();
    assert_eq!(last.nonce().unwrap(), Some("nonce-2"));
    assert_eq!(c.stale_nonce_retries(), 1);
}

#[test]
fn stale_nonce_retries_are_bounded() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    s.nonce = "changes-every-time".into();
    // The fake answers 438 forever if the client's nonce never matches: make it so.
    s.forced.clear();
    let before = s.received.len();
    // Swap the nonce after each 438 by answering by hand.
    c.refresh(now).unwrap();
    let server: SocketAddr = SERVER.parse().unwrap();
    let mut n = 0;
    while let Some(t) = c.poll_transmit() {
        n += 1;
        let req = Message::parse(t.data.clone()).unwrap();
        s.nonce = format!("nonce-x{n}");
        let resp = s.error(&req, 438, true);
        c.handle_receive(now, server, resp).unwrap();
        assert!(n < 10, "unbounded stale-nonce loop");
    }
    assert_eq!(n, 4, "one request and three retries");
    assert!(s.received.len() >= before);
    // A refresh failing with 438 repeatedly does not lose the allocation immediately.
    assert_eq!(c.state(), AllocationState::Allocated);
}

#[test]
fn permission_send_indication_and_data_indication() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    let peer: SocketAddr = PEER.parse().unwrap();
    assert!(matches!(
        c.send(now, peer, b"x"),
        Err(ferrtc_turn_client::Error::NoPermission(_))
    ));
    c.create_permission(now, peer.ip()).unwrap();
    let ev = pump(&mut c, &mut s, now);
    assert_eq!(ev, vec![Event::PermissionCreated { peer: peer.ip() }]);
    assert!(c.has_permission(peer.ip()));

    c.send(now, peer, b"hello peer").unwrap();
    pump(&mut c, &mut s, now);
    let ind = s.received.last().unwrap();
    assert_eq!(ind.class(), Class::Indication);
    assert_eq!(ind.method(), Method::SEND);
    let a = ind.attributes_unverified();
    assert_eq!(a.xor_peer_address().unwrap(), Some(peer));
    assert_eq!(a.data().unwrap(), Bytes::from_static(b"hello peer"));

    // Data indication from the peer.
    let mut b = MessageBuilder::new(
        MessageType::new(Method::DATA, Class::Indication),
        TransactionId([3; 12]),
    );
    b.add(&Attribute::XorPeerAddress(peer)).unwrap();
    b.add(&Attribute::Data(Bytes::from_static(b"hi back")))
        .unwrap();
    c.handle_receive(now, SERVER.parse().unwrap(), b.build())
        .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Data {
            peer,
            data: Bytes::from_static(b"hi back"),
            channel: None
        })
    );
    // From a peer without permission: dropped.
    let mut b = MessageBuilder::new(
        MessageType::new(Method::DATA, Class::Indication),
        TransactionId([4; 12]),
    );
    b.add(&Attribute::XorPeerAddress(
        "203.0.113.99:1".parse().unwrap(),
    ))
    .unwrap();
    b.add(&Attribute::Data(Bytes::from_static(b"spam")))
        .unwrap();
    c.handle_receive(now, SERVER.parse().unwrap(), b.build())
        .unwrap();
    assert_eq!(c.poll_event(), None);
    // Not from the server: rejected.
    assert!(c
        .handle_receive(now, PEER.parse().unwrap(), Bytes::from_static(b"x"))
        .is_err());
}

fn channel_roundtrip(transport: Transport) {
    let (mut c, mut s, now) = allocated(transport);
    let peer: SocketAddr = PEER.parse().unwrap();
    let ch = c.bind_channel(now, peer).unwrap();
    assert_eq!(ch, 0x4000);
    let ev = pump(&mut c, &mut s, now);
    assert_eq!(ev, vec![Event::ChannelBound { peer, channel: ch }]);
    assert_eq!(c.channel_for(peer), Some(ch));
    // ChannelBind also installed the permission.
    assert!(c.has_permission(peer.ip()));
    let req = s.received.last().unwrap();
    let a = req.verify_integrity(&s.key).unwrap();
    assert_eq!(a.channel_number().unwrap(), Some(ch));
    assert_eq!(a.xor_peer_address().unwrap(), Some(peer));

    c.send(now, peer, b"abcde").unwrap();
    let t = c.poll_transmit().unwrap();
    match transport {
        Transport::Udp => assert_eq!(&t.data[..], b"\x40\x00\x00\x05abcde"),
        Transport::Stream => assert_eq!(&t.data[..], b"\x40\x00\x00\x05abcde\0\0\0"),
    }
    let cd = ChannelData::parse(t.data).unwrap();
    assert_eq!(cd.channel, ch);

    // ChannelData from the server.
    let mut wire = Vec::new();
    let back = ChannelData {
        channel: ch,
        data: Bytes::from_static(b"xyz"),
    };
    back.write_to(transport == Transport::Stream, &mut wire);
    match transport {
        Transport::Udp => c
            .handle_receive(now, SERVER.parse().unwrap(), Bytes::from(wire))
            .unwrap(),
        Transport::Stream => {
            for chunk in wire.chunks(1) {
                c.handle_stream_data(now, chunk).unwrap();
            }
        }
    }
    assert_eq!(
        c.poll_event(),
        Some(Event::Data {
            peer,
            data: Bytes::from_static(b"xyz"),
            channel: Some(ch)
        })
    );
}

#[test]
fn channel_bind_and_channel_data_udp() {
    channel_roundtrip(Transport::Udp);
}

#[test]
fn channel_bind_and_channel_data_stream() {
    channel_roundtrip(Transport::Stream);
}

#[test]
fn stream_transport_frames_stun_responses() {
    // Over a stream, responses arrive as bytes in arbitrary chunks.
    let mut c = client(Transport::Stream, "secret");
    let mut s = Fake::new();
    let now = Instant::now();
    c.allocate(now).unwrap();
    let mut ready = false;
    for _ in 0..5 {
        let Some(t) = c.poll_transmit() else { break };
        if let Some(resp) = s.handle(&t.data) {
            let mut both = resp.to_vec();
            // Also glue a ChannelData for an unknown channel: ignored, not an error.
            both.extend_from_slice(b"\x40\x07\x00\x01z\0\0\0");
            for chunk in both.chunks(7) {
                c.handle_stream_data(now, chunk).unwrap();
            }
        }
        while let Some(e) = c.poll_event() {
            ready |= matches!(e, Event::AllocationReady { .. });
        }
    }
    assert!(ready);
    // Over a stream a request is sent once, then times out after Ti.
    c.refresh(now).unwrap();
    assert!(c.poll_transmit().is_some());
    c.handle_timeout(now + Duration::from_secs(5));
    assert!(c.poll_transmit().is_none());
    c.handle_timeout(now + Duration::from_millis(39_500));
    assert!(matches!(c.poll_event(), Some(Event::AllocationLost { .. })));
    // Garbage on the stream is a framing error.
    let mut c = client(Transport::Stream, "secret");
    assert!(c.handle_stream_data(now, &[0x80, 0, 0, 0]).is_err());
}

#[test]
fn udp_requests_are_retransmitted() {
    let mut c = client(Transport::Udp, "secret");
    let now = Instant::now();
    c.allocate(now).unwrap();
    let first = c.poll_transmit().unwrap();
    assert!(c.poll_transmit().is_none());
    let t = c.poll_timeout().unwrap();
    assert_eq!(t, now + Duration::from_millis(500));
    c.handle_timeout(t);
    assert_eq!(c.poll_transmit().unwrap().data, first.data);
    // Give up after Rc sends.
    let mut at = t;
    for _ in 0..10 {
        let Some(n) = c.poll_timeout() else { break };
        at = n;
        c.handle_timeout(n);
        while c.poll_transmit().is_some() {}
    }
    assert_eq!(at, now + Duration::from_millis(39_500));
    assert!(matches!(
        c.poll_event(),
        Some(Event::AllocationFailed { code: None, .. })
    ));
}

#[test]
fn refresh_is_scheduled_before_expiry_and_deallocate() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(540)));
    c.handle_timeout(now + Duration::from_secs(540));
    let ev = pump(&mut c, &mut s, now + Duration::from_secs(540));
    assert_eq!(
        ev,
        vec![Event::AllocationRefreshed {
            lifetime: Duration::from_secs(600)
        }]
    );
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(1080)));
    c.deallocate(now + Duration::from_secs(600)).unwrap();
    let ev = pump(&mut c, &mut s, now + Duration::from_secs(600));
    assert_eq!(ev, vec![Event::Deallocated]);
    let last = s.received.last().unwrap();
    assert_eq!(
        last.verify_integrity(&s.key).unwrap().lifetime().unwrap(),
        Some(0)
    );
    assert_eq!(c.state(), AllocationState::Closed);
}

#[test]
fn permissions_refresh_while_used_and_expire_when_idle() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    let peer: SocketAddr = PEER.parse().unwrap();
    let idle: IpAddr = "203.0.113.6".parse().unwrap();
    c.create_permission(now, peer.ip()).unwrap();
    c.create_permission(now, idle).unwrap();
    pump(&mut c, &mut s, now);
    c.send(now, peer, b"keepalive").unwrap();
    pump(&mut c, &mut s, now);
    let n = s.received.len();
    let t = now + Duration::from_secs(240);
    c.handle_timeout(t);
    let ev = pump(&mut c, &mut s, t);
    assert!(ev.is_empty(), "{ev:?}");
    let refresh = &s.received[n];
    assert_eq!(refresh.method(), Method::CREATE_PERMISSION);
    assert_eq!(
        refresh
            .verify_integrity(&s.key)
            .unwrap()
            .xor_peer_address()
            .unwrap()
            .map(|a| a.ip()),
        Some(peer.ip())
    );
    let t = now + Duration::from_secs(300);
    c.handle_timeout(t);
    let ev = pump(&mut c, &mut s, t);
    assert_eq!(ev, vec![Event::PermissionExpired { peer: idle }]);
    assert!(c.has_permission(peer.ip()));
    assert!(!c.has_permission(idle));
}

#[test]
fn channels_refresh_before_ten_minutes() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    s.lifetime = 3600;
    c.refresh(now).unwrap();
    pump(&mut c, &mut s, now);
    let peer: SocketAddr = PEER.parse().unwrap();
    let ch = c.bind_channel(now, peer).unwrap();
    pump(&mut c, &mut s, now);
    // Keep it used and step through time.
    let mut binds = 0;
    for sec in (10..=1200).step_by(10) {
        let t = now + Duration::from_secs(sec);
        c.send(t, peer, b"x").unwrap();
        while let Some(tx) = c.poll_transmit() {
            if tx.data[0] < 0x40 {
                let m = Message::parse(tx.data.clone()).unwrap();
                if m.method() == Method::CHANNEL_BIND {
                    binds += 1;
                }
            }
            if let Some(r) = s.handle(&tx.data) {
                c.handle_receive(t, SERVER.parse().unwrap(), r).unwrap();
            }
        }
        c.handle_timeout(t);
        while let Some(tx) = c.poll_transmit() {
            if tx.data[0] < 0x40
                && Message::parse(tx.data.clone()).unwrap().method() == Method::CHANNEL_BIND
            {
                binds += 1;
            }
            if let Some(r) = s.handle(&tx.data) {
                c.handle_receive(t, SERVER.parse().unwrap(), r).unwrap();
            }
        }
        while let Some(e) = c.poll_event() {
            assert!(!matches!(e, Event::ChannelExpired { .. }), "{e:?} at {sec}");
        }
        assert_eq!(c.channel_for(peer), Some(ch), "at {sec}");
    }
    assert_eq!(binds, 2, "re-bound at ~540 s and ~1080 s");
}

fn forced_error(method: Method, code: u16) -> (TurnClient<StdRng>, Vec<Event>) {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    s.forced.insert(method.value(), code);
    let peer: SocketAddr = PEER.parse().unwrap();
    match method {
        Method::REFRESH => c.refresh(now).unwrap(),
        Method::CREATE_PERMISSION => c.create_permission(now, peer.ip()).unwrap(),
        Method::CHANNEL_BIND => {
            c.bind_channel(now, peer).unwrap();
        }
        _ => unreachable!(),
    }
    let ev = pump(&mut c, &mut s, now);
    (c, ev)
}

#[test]
fn error_responses() {
    for code in [403u16, 437, 440, 442, 486, 508] {
        let mut c = client(Transport::Udp, "secret");
        let mut s = Fake::new();
        s.forced.insert(Method::ALLOCATE.value(), code);
        let now = Instant::now();
        c.allocate(now).unwrap();
        let ev = pump(&mut c, &mut s, now);
        assert!(
            matches!(&ev[..], [Event::AllocationFailed { code: Some(x), .. }] if *x == code),
            "{code}: {ev:?}"
        );
    }
    let (c, ev) = forced_error(Method::REFRESH, 437);
    assert!(matches!(&ev[..], [Event::AllocationLost { .. }]), "{ev:?}");
    assert_eq!(c.state(), AllocationState::Closed);
    let (_, ev) = forced_error(Method::REFRESH, 441);
    assert!(
        matches!(&ev[..], []),
        "a 441 on refresh keeps the allocation until it expires: {ev:?}"
    );
    let (c, ev) = forced_error(Method::CREATE_PERMISSION, 403);
    assert!(
        matches!(
            &ev[..],
            [Event::PermissionFailed {
                code: Some(403),
                ..
            }]
        ),
        "{ev:?}"
    );
    assert!(!c.has_permission(PEER.parse::<SocketAddr>().unwrap().ip()));
    let (c, ev) = forced_error(Method::CHANNEL_BIND, 508);
    assert!(
        matches!(
            &ev[..],
            [Event::ChannelBindFailed {
                code: Some(508),
                ..
            }]
        ),
        "{ev:?}"
    );
    assert_eq!(c.channel_for(PEER.parse().unwrap()), None);
}

#[test]
fn forged_success_response_is_dropped() {
    let mut c = client(Transport::Udp, "secret");
    let mut s = Fake::new();
    let now = Instant::now();
    c.allocate(now).unwrap();
    // Answer the first (unauthenticated) request with the 401, then forge the success.
    let t = c.poll_transmit().unwrap();
    let r = s.handle(&t.data).unwrap();
    c.handle_receive(now, SERVER.parse().unwrap(), r).unwrap();
    let t = c.poll_transmit().unwrap();
    let req = Message::parse(t.data).unwrap();
    let wrong =
        IntegrityKey::long_term("alice", "example.org", "nope", PasswordAlgorithm::MD5).unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::ALLOCATE, Class::SuccessResponse),
        req.transaction_id(),
    );
    b.add(&Attribute::XorRelayedAddress(RELAY.parse().unwrap()))
        .unwrap();
    b.add_message_integrity(&wrong).unwrap();
    c.handle_receive(now, SERVER.parse().unwrap(), b.build())
        .unwrap();
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.state(), AllocationState::Allocating);
}

#[test]
fn dual_allocation() {
    let mut cfg = Config::new(SERVER.parse().unwrap(), Transport::Udp, "alice", "secret");
    cfg.family = AllocationFamily::Dual;
    let mut c = TurnClient::new(cfg, StdRng::seed_from_u64(1));
    let mut s = Fake::new();
    s.dual = true;
    let now = Instant::now();
    c.allocate(now).unwrap();
    let ev = pump(&mut c, &mut s, now);
    match &ev[..] {
        [Event::AllocationReady { relayed, .. }] => assert_eq!(relayed.len(), 2),
        other => panic!("{other:?}"),
    }
}

/// RFC 8656 §9: an installed permission lasts 300 s unless refreshed; `send` uses its `now` to
/// refuse a peer whose permission has run out (the server would drop the data), and accepts it
/// again once a refresh has installed it anew.
#[test]
fn send_refuses_a_peer_whose_permission_expired() {
    let (mut c, mut s, now) = allocated(Transport::Udp);
    let peer: SocketAddr = PEER.parse().unwrap();
    c.create_permission(now, peer.ip()).unwrap();
    pump(&mut c, &mut s, now);
    assert!(c.has_permission(peer.ip()));
    c.send(now + Duration::from_secs(299), peer, b"in time")
        .unwrap();
    assert!(matches!(
        c.send(now + Duration::from_secs(301), peer, b"too late"),
        Err(ferrtc_turn_client::Error::NoPermission(_))
    ));
    c.create_permission(now + Duration::from_secs(301), peer.ip())
        .unwrap();
    pump(&mut c, &mut s, now + Duration::from_secs(301));
    c.send(now + Duration::from_secs(302), peer, b"again")
        .unwrap();
}
