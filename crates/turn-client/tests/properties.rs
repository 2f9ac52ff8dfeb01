//! Hostile input never panics the TURN client, in any state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use ferrtc_turn_client::{ChannelData, Config, Event, Transport, TurnClient};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SERVER: &str = "192.0.2.1:3478";

/// A client that is allocated (401 answered, success signed), so that every code path
/// (indications, channel data, responses) is reachable.
fn allocated(transport: Transport) -> (TurnClient<StdRng>, Instant, u16) {
    let server: SocketAddr = SERVER.parse().unwrap();
    let mut c = TurnClient::new(
        Config::new(server, transport, "u", "p"),
        StdRng::seed_from_u64(3),
    );
    let key = IntegrityKey::long_term("u", "r", "p", PasswordAlgorithm::MD5).unwrap();
    let now = Instant::now();
    c.allocate(now).unwrap();
    let req = Message::parse(c.poll_transmit().unwrap().data).unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::ALLOCATE, Class::ErrorResponse),
        req.transaction_id(),
    );
    b.add(&Attribute::ErrorCode(ErrorCode {
        code: 401,
        reason: Text::new("u"),
    }))
    .unwrap();
    b.add(&Attribute::Realm(Text::new("r"))).unwrap();
    b.add(&Attribute::Nonce(Text::new("n"))).unwrap();
    deliver(&mut c, now, b.build(), transport);
    let req = Message::parse(c.poll_transmit().unwrap().data).unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::ALLOCATE, Class::SuccessResponse),
        req.transaction_id(),
    );
    b.add(&Attribute::XorRelayedAddress(
        "192.0.2.1:5000".parse().unwrap(),
    ))
    .unwrap();
    b.add(&Attribute::Lifetime(600)).unwrap();
    b.add_message_integrity(&key).unwrap();
    deliver(&mut c, now, b.build(), transport);
    assert!(c.relayed_addresses().len() == 1);
    let peer: SocketAddr = "203.0.113.1:9".parse().unwrap();
    c.create_permission(now, peer.ip()).unwrap();
    let channel = c.bind_channel(now, peer).unwrap();
    (c, now, channel)
}

/// The client's outstanding requests (CreatePermission, ChannelBind) as sent.
fn pending(c: &mut TurnClient<StdRng>) -> Vec<Message> {
    std::iter::from_fn(|| c.poll_transmit())
        .map(|t| Message::parse(t.data).unwrap())
        .collect()
}

/// A known attribute, typed, for the hostile responses.
fn known_attribute(kind: u8, n: u16) -> Attribute {
    match kind % 6 {
        0 => Attribute::XorMappedAddress(SocketAddr::from(([198, 51, 100, 1], n))),
        1 => Attribute::XorRelayedAddress(SocketAddr::from(([192, 0, 2, 9], n))),
        2 => Attribute::Lifetime(u32::from(n)),
        3 => Attribute::ErrorCode(ErrorCode {
            code: 300 + n % 400,
            reason: Text::new("hostile"),
        }),
        4 => Attribute::Realm(Text::new("r")),
        _ => Attribute::Nonce(Text::new("other-nonce")),
    }
}

fn deliver(c: &mut TurnClient<StdRng>, now: Instant, data: Bytes, transport: Transport) {
    match transport {
        Transport::Udp => {
            let _ = c.handle_receive(now, SERVER.parse().unwrap(), data);
        }
        Transport::Stream => {
            let _ = c.handle_stream_data(now, &data);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_datagrams(datas in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..8),
                           stream in any::<bool>(), step in 0u64..2000) {
        let transport = if stream { Transport::Stream } else { Transport::Udp };
        let (mut c, now, _) = allocated(transport);
        for (i, d) in datas.into_iter().enumerate() {
            let t = now + Duration::from_secs(step * i as u64);
            deliver(&mut c, t, Bytes::from(d), transport);
            c.handle_timeout(t);
            while c.poll_transmit().is_some() {}
            while c.poll_event().is_some() {}
            let _ = c.poll_timeout();
        }
    }

    /// Responses to the client's real outstanding requests (so they reach the response
    /// handlers), with known attributes, unsigned or signed with the wrong key, then ChannelData
    /// on channels that were never confirmed: nothing is believed, the allocation survives.
    #[test]
    fn unauthenticated_responses_and_unbound_channel_data(
        which in 0usize..2, class in 0u8..2, wrong_key in any::<bool>(),
        known in proptest::collection::vec((any::<u8>(), any::<u16>()), 0..5),
        unknown in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..24)), 0..4),
        channel in 0x4000u16..0x4004, payload in proptest::collection::vec(any::<u8>(), 0..40)) {
        for transport in [Transport::Udp, Transport::Stream] {
            let (mut c, now, requested) = allocated(transport);
            let reqs = pending(&mut c);
            prop_assert_eq!(reqs.len(), 2, "CreatePermission and ChannelBind outstanding");
            let req = &reqs[which];
            let class = if class == 0 { Class::SuccessResponse } else { Class::ErrorResponse };
            let mut b = MessageBuilder::new(MessageType::new(req.method(), class), req.transaction_id());
            for (k, n) in &known {
                let _ = b.add(&known_attribute(*k, *n));
            }
            for (t, v) in &unknown {
                // Comprehension-optional unknown types, raw values.
                let _ = b.add(&Attribute::Unknown { attr_type: *t | 0xC000, value: Bytes::from(v.clone()) });
            }
            if wrong_key {
                let k = IntegrityKey::long_term("u", "r", "not-p", PasswordAlgorithm::MD5).unwrap();
                b.add_message_integrity(&k).unwrap();
            }
            deliver(&mut c, now, b.build(), transport);
            let mut w = Vec::new();
            ChannelData { channel, data: Bytes::from(payload.clone()) }.write_to(transport == Transport::Stream, &mut w);
            deliver(&mut c, now, Bytes::from(w), transport);
            let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
            for e in &events {
                // RFC 5766 §11 / RFC 8656 §12: the client SHOULD accept ChannelData on a channel
                // as soon as it has sent the ChannelBind request; on any other channel it is
                // discarded (RFC 8656 §12.6).
                let early_data_on_requested_channel = matches!(e,
                    Event::Data { peer, channel: Some(ch), .. }
                        if *ch == requested && *peer == "203.0.113.1:9".parse::<SocketAddr>().unwrap());
                prop_assert!(
                    early_data_on_requested_channel
                        || !matches!(e, Event::PermissionCreated { .. } | Event::ChannelBound { .. } | Event::Data { .. }
                            | Event::AllocationLost { .. } | Event::AllocationRefreshed { .. }),
                    "believed an unauthenticated response or unbound channel data: {:?}", e
                );
            }
            prop_assert_eq!(c.relayed_addresses().len(), 1, "the allocation survives");
            prop_assert_eq!(c.channel_for("203.0.113.1:9".parse().unwrap()), None);
        }
    }
}
