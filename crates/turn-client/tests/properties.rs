//! Hostile input never panics the TURN client, in any state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use ferrtc_turn_client::{ChannelData, Config, Transport, TurnClient};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SERVER: &str = "192.0.2.1:3478";

/// A client that is allocated (401 answered, success signed), so that every code path
/// (indications, channel data, responses) is reachable.
fn allocated(transport: Transport) -> (TurnClient<StdRng>, Instant, IntegrityKey) {
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
    c.bind_channel(now, peer).unwrap();
    (c, now, key)
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

    #[test]
    fn stunlike_and_channeldata(method in 0u16..0x10, class in 0u8..4, attrs in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..24)), 0..6),
                                channel in 0x4000u16..0x4004, payload in proptest::collection::vec(any::<u8>(), 0..40)) {
        for transport in [Transport::Udp, Transport::Stream] {
            let (mut c, now, _) = allocated(transport);
            let class = match class { 0 => Class::Request, 1 => Class::Indication, 2 => Class::SuccessResponse, _ => Class::ErrorResponse };
            let mut b = MessageBuilder::new(MessageType::new(Method::new(method), class), TransactionId([1; 12]));
            for (t, v) in &attrs {
                // Raw values of any type, bypassing the typed encoder.
                let _ = b.add(&Attribute::Unknown { attr_type: *t | 0xC000, value: Bytes::from(v.clone()) });
            }
            deliver(&mut c, now, b.build(), transport);
            let mut w = Vec::new();
            ChannelData { channel, data: Bytes::from(payload.clone()) }.write_to(transport == Transport::Stream, &mut w);
            deliver(&mut c, now, Bytes::from(w), transport);
            while c.poll_event().is_some() {}
        }
    }
}
