#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the TURN client (issue 15).
//!
//! Each case is what a broken or hostile server (or anyone forging the server's address) sends
//! to a client that holds an allocation, a permission and a bound channel, with the outcome
//! written next to it: the RFC's answer, or the public bug in another stack it comes from. For
//! every case the harness asserts:
//! - no panic, and the outcome ([`Expect`]): refused with an error kind, or dropped silently
//!   (no event, no state change);
//! - bounded state: the stream framer never buffers more than `max_stream_buffer`;
//! - the connection still delivers data afterwards: ChannelData on the bound channel arrives
//!   as `Event::Data`, byte for byte, and the allocation is still `Allocated`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_stun::{
    Attribute, Class, ErrorCode, IntegrityKey, Message, MessageBuilder, MessageType, Method,
    PasswordAlgorithm, Text, TransactionId,
};
use ferrtc_turn_client::{
    AllocationState, Config, Error, Event, StreamFramer, Transport, TurnClient,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const SERVER: &str = "192.0.2.1:3478";
const CLIENT: &str = "198.51.100.7:50000";
const RELAY: &str = "192.0.2.1:49152";
const PEER: &str = "203.0.113.5:7000";
const REALM: &str = "example.org";
const NONCE: &str = "nonce-1";

fn key() -> IntegrityKey {
    IntegrityKey::long_term("alice", REALM, "secret", PasswordAlgorithm::MD5).unwrap()
}

fn server() -> SocketAddr {
    SERVER.parse().unwrap()
}

fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

/// A TURN server that answers by the rules (401 first, then success with integrity).
fn answer(req: &Message) -> Option<Bytes> {
    if req.class() != Class::Request {
        return None;
    }
    if req.integrity().is_none() {
        let mut b = MessageBuilder::new(
            MessageType::new(req.method(), Class::ErrorResponse),
            req.transaction_id(),
        );
        b.add(&Attribute::ErrorCode(ErrorCode {
            code: 401,
            reason: Text::new("Unauthenticated"),
        }))
        .unwrap();
        b.add(&Attribute::Realm(Text::new(REALM))).unwrap();
        b.add(&Attribute::Nonce(Text::new(NONCE))).unwrap();
        return Some(b.build());
    }
    let a = req.verify_integrity(&key()).ok()?;
    let mut b = MessageBuilder::new(
        MessageType::new(req.method(), Class::SuccessResponse),
        req.transaction_id(),
    );
    if req.method() == Method::ALLOCATE {
        b.add(&Attribute::XorRelayedAddress(RELAY.parse().unwrap()))
            .unwrap();
        b.add(&Attribute::XorMappedAddress(CLIENT.parse().unwrap()))
            .unwrap();
        b.add(&Attribute::Lifetime(600)).unwrap();
    } else if req.method() == Method::REFRESH {
        let l = a.lifetime().unwrap().unwrap_or(600);
        b.add(&Attribute::Lifetime(l)).unwrap();
    }
    b.add_message_integrity(&key()).unwrap();
    b.add_fingerprint().unwrap();
    Some(b.build())
}

/// Delivers the client's requests to the fake server and its answers back, until quiet.
fn pump(c: &mut TurnClient<StdRng>, now: Instant) -> Vec<Event> {
    for _ in 0..50 {
        let Some(t) = c.poll_transmit() else { break };
        if t.data[0] >= 0x40 {
            continue;
        }
        let req = Message::parse(t.data.clone()).unwrap();
        if let Some(resp) = answer(&req) {
            c.handle_receive(now, server(), resp).unwrap();
        }
    }
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A client with an allocation and a channel bound to [`PEER`]; returns the channel number.
fn ready() -> (TurnClient<StdRng>, Instant, u16) {
    let cfg = Config::new(server(), Transport::Udp, "alice", "secret");
    let mut c = TurnClient::new(cfg, StdRng::seed_from_u64(9));
    let now = Instant::now();
    c.allocate(now).unwrap();
    pump(&mut c, now);
    assert_eq!(c.state(), AllocationState::Allocated);
    let ch = c.bind_channel(now, peer()).unwrap();
    let ev = pump(&mut c, now);
    assert_eq!(
        ev,
        vec![Event::ChannelBound {
            peer: peer(),
            channel: ch
        }]
    );
    (c, now, ch)
}

fn channel_data(channel: u16, len_field: u16, data: &[u8]) -> Vec<u8> {
    let mut v = channel.to_be_bytes().to_vec();
    v.extend_from_slice(&len_field.to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// A Data indication (RFC 8656 §10.4) with the given attributes.
fn data_indication(attrs: &[Attribute]) -> Vec<u8> {
    let mut b = MessageBuilder::new(
        MessageType::new(Method::DATA, Class::Indication),
        TransactionId([5; 12]),
    );
    for a in attrs {
        b.add(a).unwrap();
    }
    b.build().to_vec()
}

/// What must happen.
enum Expect {
    /// `handle_receive` returns an error this predicate accepts; nothing else happens.
    Refused(fn(&Error) -> bool),
    /// Accepted and dropped: no event.
    Dropped,
    /// Delivered as `Event::Data` from this peer with this data and channel.
    Data(&'static str, &'static [u8], bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    /// The datagram, given the bound channel number.
    input: fn(u16) -> Vec<u8>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "ChannelData of 3 bytes",
            source: "RFC 8656 §12.4 (4-byte header); pion/turn#40 (index out of range)",
            input: |ch| channel_data(ch, 0, &[])[..3].to_vec(),
            expect: Expect::Refused(|e| {
                matches!(e, Error::ChannelDataTruncated { needed: 4, have: 3 })
            }),
        },
        Case {
            name: "ChannelData length 65535 with 4 bytes of data",
            source: "RFC 8656 §12.4; coturn#1837 (u16 overflow of 4 + length)",
            input: |ch| channel_data(ch, 0xffff, b"abcd"),
            expect: Expect::Refused(|e| {
                matches!(
                    e,
                    Error::ChannelDataTruncated {
                        needed: 65539,
                        have: 8
                    }
                )
            }),
        },
        Case {
            name: "ChannelData with 8 bytes after its data",
            source: "RFC 8656 §12.5: at most 3 bytes of padding",
            input: |ch| channel_data(ch, 2, b"ab\0\0\0\0\0\0\0\0"),
            expect: Expect::Refused(|e| matches!(e, Error::ChannelDataTrailing { extra: 8, .. })),
        },
        Case {
            name: "ChannelData with its 2 bytes of padding",
            source: "RFC 8656 §12.5: padding over UDP is allowed and ignored",
            input: |ch| channel_data(ch, 2, b"ab\0\0"),
            expect: Expect::Data(PEER, b"ab", true),
        },
        Case {
            name: "ChannelData of length 0",
            source: "RFC 8656 §12.4: the length may be 0",
            input: |ch| channel_data(ch, 0, &[]),
            expect: Expect::Data(PEER, b"", true),
        },
        Case {
            name: "ChannelData on a channel never bound",
            source: "RFC 8656 §12.6: ChannelData on an unbound channel is discarded",
            input: |_| channel_data(0x4fff, 4, b"spam"),
            expect: Expect::Dropped,
        },
        Case {
            name: "first byte 0x50 (channel numbers 0x5000-0xFFFF are reserved)",
            source: "RFC 8656 §12; RFC 7983: not ChannelData, not STUN",
            input: |_| channel_data(0x5000, 4, b"spam"),
            expect: Expect::Refused(|e| matches!(e, Error::Stun(_))),
        },
        Case {
            name: "Data indication from a peer without permission",
            source: "RFC 8656 §10.4: discard data from a peer the client has no permission for",
            input: |_| {
                data_indication(&[
                    Attribute::XorPeerAddress("203.0.113.99:1".parse().unwrap()),
                    Attribute::Data(Bytes::from_static(b"spam")),
                ])
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "Data indication without DATA",
            source: "RFC 8656 §10.4: a Data indication without DATA is discarded",
            input: |_| data_indication(&[Attribute::XorPeerAddress(PEER.parse().unwrap())]),
            expect: Expect::Dropped,
        },
        Case {
            name: "Data indication without XOR-PEER-ADDRESS",
            source: "RFC 8656 §10.4: a Data indication without XOR-PEER-ADDRESS is discarded",
            input: |_| data_indication(&[Attribute::Data(Bytes::from_static(b"who"))]),
            expect: Expect::Dropped,
        },
        Case {
            name: "Data indication from the permitted peer",
            source: "RFC 8656 §10.4",
            input: |_| {
                data_indication(&[
                    Attribute::XorPeerAddress(PEER.parse().unwrap()),
                    Attribute::Data(Bytes::from_static(b"hi")),
                ])
            },
            expect: Expect::Data(PEER, b"hi", false),
        },
        Case {
            name: "Data indication whose XOR-PEER-ADDRESS is 2 bytes",
            source: "RFC 8656 §18.3 (an XOR-MAPPED-ADDRESS shape); pion/stun#278",
            input: |_| {
                let mut v = data_indication(&[Attribute::Data(Bytes::from_static(b"x"))]);
                // Append XOR-PEER-ADDRESS with a 2-byte value (and 2 bytes of padding).
                v.extend_from_slice(&[0x00, 0x12, 0x00, 0x02, 0, 1, 0, 0]);
                let n = (v.len() - 20) as u16;
                v[2..4].copy_from_slice(&n.to_be_bytes());
                v
            },
            expect: Expect::Refused(|e| matches!(e, Error::Stun(_))),
        },
        Case {
            name: "success response to a transaction never sent",
            source: "RFC 8489 §6.3.3: a response matching no transaction is discarded",
            input: |_| {
                let mut b = MessageBuilder::new(
                    MessageType::new(Method::REFRESH, Class::SuccessResponse),
                    TransactionId([0xee; 12]),
                );
                b.add(&Attribute::Lifetime(0)).unwrap();
                b.add_message_integrity(&key()).unwrap();
                b.build().to_vec()
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "STUN message with a wrong FINGERPRINT",
            source: "RFC 8489 §14.7",
            input: |_| {
                let mut v = data_indication(&[
                    Attribute::XorPeerAddress(PEER.parse().unwrap()),
                    Attribute::Data(Bytes::from_static(b"hi")),
                ]);
                v.extend_from_slice(&[0x80, 0x28, 0, 4, 1, 2, 3, 4]);
                let n = (v.len() - 20) as u16;
                v[2..4].copy_from_slice(&n.to_be_bytes());
                v
            },
            expect: Expect::Refused(|e| {
                matches!(
                    e,
                    Error::Stun(ferrtc_stun::Error::FingerprintMismatch { .. })
                )
            }),
        },
        Case {
            name: "an empty datagram",
            source: "RFC 8656 §12 / RFC 8489 §5: neither ChannelData nor STUN",
            input: |_| Vec::new(),
            expect: Expect::Refused(|e| matches!(e, Error::Stun(_))),
        },
    ]
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 15);
    for case in &cases {
        let name = case.name;
        assert!(!case.source.is_empty());
        let (mut c, now, ch) = ready();
        let r = c.handle_receive(now, server(), Bytes::from((case.input)(ch)));
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        match (&case.expect, r) {
            (Expect::Refused(ok), Err(e)) => {
                assert!(ok(&e), "{name}: wrong error {e:?}");
                assert!(events.is_empty(), "{name}: {events:?}");
            }
            (Expect::Refused(_), Ok(())) => panic!("{name}: accepted, events {events:?}"),
            (_, Err(e)) => panic!("{name}: refused: {e}"),
            (Expect::Dropped, Ok(())) => assert!(events.is_empty(), "{name}: {events:?}"),
            (Expect::Data(from, data, on_channel), Ok(())) => {
                let want = Event::Data {
                    peer: from.parse().unwrap(),
                    data: Bytes::from_static(data),
                    channel: on_channel.then_some(ch),
                };
                assert_eq!(events, vec![want], "{name}");
            }
        }
        // Nothing was sent in answer (a client never answers indications or stray responses).
        assert!(c.poll_transmit().is_none(), "{name}");
        // The allocation, the permission and the channel still carry data.
        assert_eq!(c.state(), AllocationState::Allocated, "{name}");
        assert!(c.has_permission(peer().ip()), "{name}");
        assert_eq!(c.channel_for(peer()), Some(ch), "{name}");
        c.handle_receive(now, server(), Bytes::from(channel_data(ch, 5, b"after")))
            .unwrap();
        assert_eq!(
            c.poll_event(),
            Some(Event::Data {
                peer: peer(),
                data: Bytes::from_static(b"after"),
                channel: Some(ch)
            }),
            "{name}"
        );
    }
}

/// Datagrams from anyone but the server are refused before they are parsed (RFC 8656 §12.6,
/// §10.4: only the server relays).
#[test]
fn datagrams_not_from_the_server_are_refused() {
    let (mut c, now, ch) = ready();
    let other: SocketAddr = "192.0.2.2:3478".parse().unwrap();
    let r = c.handle_receive(now, other, Bytes::from(channel_data(ch, 4, b"fake")));
    assert!(matches!(r, Err(Error::NotFromServer(a)) if a == other));
    assert_eq!(c.poll_event(), None);
}

/// RFC 8489 §9.2.5: over an unreliable transport, a response that fails the integrity check
/// (or has none) "MUST be discarded, as if it had never been received", and retransmissions
/// continue. A forged success to a pending Refresh changes nothing; the genuine one then
/// refreshes.
#[test]
fn a_forged_success_response_is_discarded() {
    let (mut c, now, _) = ready();
    c.refresh(now).unwrap();
    let t = c.poll_transmit().unwrap();
    let req = Message::parse(t.data.clone()).unwrap();
    // Same transaction, integrity with another password, lifetime 0 (a deallocation).
    let wrong = IntegrityKey::long_term("alice", REALM, "guess", PasswordAlgorithm::MD5).unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::REFRESH, Class::SuccessResponse),
        req.transaction_id(),
    );
    b.add(&Attribute::Lifetime(0)).unwrap();
    b.add_message_integrity(&wrong).unwrap();
    c.handle_receive(now, server(), b.build()).unwrap();
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.state(), AllocationState::Allocated);
    // The genuine answer still completes the transaction.
    let resp = answer(&req).unwrap();
    c.handle_receive(now, server(), resp).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::AllocationRefreshed {
            lifetime: Duration::from_secs(600)
        })
    );
}

/// RFC 8489 §9.2.5: "If the response is an error response with an error code of 400 (Bad
/// Request) and does not contain either the MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256
/// attribute, then the response MUST be discarded, as if it were never received", and over
/// UDP the same holds for any response to an authenticated request whose integrity is missing.
/// A forged error (400, 437 Allocation Mismatch) to a pending Refresh must not end the
/// allocation.
#[test]
fn an_unauthenticated_error_response_to_an_authenticated_request_is_discarded() {
    for code in [400u16, 437] {
        let (mut c, now, ch) = ready();
        c.refresh(now).unwrap();
        let t = c.poll_transmit().unwrap();
        let req = Message::parse(t.data.clone()).unwrap();
        let mut b = MessageBuilder::new(
            MessageType::new(Method::REFRESH, Class::ErrorResponse),
            req.transaction_id(),
        );
        b.add(&Attribute::ErrorCode(ErrorCode {
            code,
            reason: Text::new("forged"),
        }))
        .unwrap();
        let _ = c.handle_receive(now, server(), b.build());
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(events.is_empty(), "{code}: {events:?}");
        assert_eq!(c.state(), AllocationState::Allocated, "{code}");
        assert_eq!(c.channel_for(peer()), Some(ch), "{code}");
        let resp = answer(&req).unwrap();
        c.handle_receive(now, server(), resp).unwrap();
        assert_eq!(
            c.poll_event(),
            Some(Event::AllocationRefreshed {
                lifetime: Duration::from_secs(600)
            }),
            "{code}"
        );
    }
}

/// The TCP/TLS framer (RFC 8656 §12.5, RFC 8489 §6.2.2): a first byte that is neither STUN
/// nor ChannelData desynchronizes the stream (an error, the stream must be closed); a frame
/// announcing more than the buffer is refused at once rather than waited for; bytes beyond the
/// buffer are refused. Never more than `max` bytes are held.
#[test]
fn the_stream_framer_is_bounded() {
    let max = 4096;
    // 0x80: an RTP/DTLS byte on a TURN stream.
    let mut f = StreamFramer::new(max);
    f.push(&[0x80, 0, 0, 4, 1, 2, 3, 4]).unwrap();
    assert!(matches!(f.next_frame(), Err(Error::StreamDesync(0x80))));
    // A STUN header announcing 65532 body bytes with a 4 KiB buffer.
    let mut f = StreamFramer::new(max);
    f.push(&[0x00, 0x01, 0xff, 0xfc]).unwrap();
    assert!(matches!(f.next_frame(), Err(Error::StreamBufferFull(4096))));
    // A ChannelData header announcing 65535 bytes.
    let mut f = StreamFramer::new(max);
    f.push(&[0x40, 0x00, 0xff, 0xff]).unwrap();
    assert!(matches!(f.next_frame(), Err(Error::StreamBufferFull(4096))));
    // More bytes than the buffer, in small pieces.
    let mut f = StreamFramer::new(max);
    let mut refused = false;
    for _ in 0..100 {
        if f.push(&[0x40; 100]).is_err() {
            refused = true;
            break;
        }
        assert!(f.buffered() <= max);
    }
    assert!(refused);
    // Two frames in one read, the second cut: the first comes out, the second waits.
    let mut f = StreamFramer::new(max);
    f.push(&[
        0x40, 0x00, 0x00, 0x01, b'x', 0, 0, 0, 0x40, 0x00, 0x00, 0x05, b'y',
    ])
    .unwrap();
    assert!(f.next_frame().unwrap().is_some());
    assert!(f.next_frame().unwrap().is_none());
    assert_eq!(f.buffered(), 5);
}

/// Over a stream transport a malformed frame is dropped and the frames after it still arrive
/// (the client's `handle_stream_data`).
#[test]
fn a_malformed_frame_on_the_stream_costs_only_itself() {
    let cfg = Config::new(server(), Transport::Stream, "alice", "secret");
    let mut c = TurnClient::new(cfg, StdRng::seed_from_u64(11));
    let now = Instant::now();
    c.allocate(now).unwrap();
    for _ in 0..10 {
        let Some(t) = c.poll_transmit() else { break };
        let req = Message::parse(t.data.clone()).unwrap();
        if let Some(resp) = answer(&req) {
            c.handle_stream_data(now, &resp).unwrap();
        }
    }
    assert_eq!(c.state(), AllocationState::Allocated);
    let ch = c.bind_channel(now, peer()).unwrap();
    for _ in 0..10 {
        let Some(t) = c.poll_transmit() else { break };
        let req = Message::parse(t.data.clone()).unwrap();
        if let Some(resp) = answer(&req) {
            c.handle_stream_data(now, &resp).unwrap();
        }
    }
    while c.poll_event().is_some() {}
    // A STUN frame with a bad FINGERPRINT, then a good ChannelData frame, in one read.
    let mut bad = data_indication(&[
        Attribute::XorPeerAddress(peer()),
        Attribute::Data(Bytes::from_static(b"bad")),
    ]);
    bad.extend_from_slice(&[0x80, 0x28, 0, 4, 1, 2, 3, 4]);
    let n = (bad.len() - 20) as u16;
    bad[2..4].copy_from_slice(&n.to_be_bytes());
    let mut stream = bad;
    stream.extend(channel_data(ch, 3, b"ok!\0"));
    c.handle_stream_data(now, &stream).unwrap();
    assert_eq!(
        std::iter::from_fn(|| c.poll_event()).collect::<Vec<_>>(),
        vec![Event::Data {
            peer: peer(),
            data: Bytes::from_static(b"ok!"),
            channel: Some(ch)
        }]
    );
}
