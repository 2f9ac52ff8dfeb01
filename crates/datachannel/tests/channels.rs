#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Data channels between two endpoints over a simulated network.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_datachannel::dcep::{self, ChannelType};
use ferrtc_datachannel::{ChannelConfig, ChannelInit, DataChannels, DtlsRole, Event, ReadyState};
use ferrtc_sctp::Config;
use ferrtc_testkit::{addr, Endpoint, LinkConfig, Loss, Sim};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Node {
    dc: DataChannels,
    peer: SocketAddr,
    events: Vec<Event>,
}

impl Node {
    fn drain(&mut self) {
        while let Some(e) = self.dc.poll_event() {
            self.events.push(e);
        }
    }
    fn messages(&self, id: u16) -> Vec<(Bytes, bool)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message {
                    id: i,
                    data,
                    binary,
                } if *i == id => Some((data.clone(), *binary)),
                _ => None,
            })
            .collect()
    }
}

impl Endpoint for Node {
    fn handle_receive(&mut self, now: Instant, _from: SocketAddr, data: Bytes) {
        let _ = self.dc.handle_receive(now, data);
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.dc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        let p = self.dc.poll_transmit().map(|b| (self.peer, b));
        self.drain();
        p
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.dc.poll_timeout()
    }
}

const A: u8 = 1;
const B: u8 = 2;

fn pair(seed: u64, link: LinkConfig) -> Sim<Node> {
    let mut sim = Sim::new(seed);
    sim.set_default_link(link);
    let now = sim.now();
    let mk = |role, s, peer| {
        let mut dc = DataChannels::new(
            role,
            Config::default(),
            ChannelConfig::default(),
            now,
            &mut StdRng::seed_from_u64(s),
        );
        dc.connect(now);
        Node {
            dc,
            peer,
            events: Vec::new(),
        }
    };
    sim.add_endpoint(addr(A), mk(DtlsRole::Client, seed * 2, addr(B)));
    sim.add_endpoint(addr(B), mk(DtlsRole::Server, seed * 2 + 1, addr(A)));
    sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(addr(A))
            .unwrap()
            .events
            .contains(&Event::Connected)
            && s.endpoint(addr(B))
                .unwrap()
                .events
                .contains(&Event::Connected)
    })
    .unwrap();
    sim
}

fn node(sim: &mut Sim<Node>, n: u8) -> &mut Node {
    sim.endpoint_mut(addr(n)).unwrap()
}

/// Counters are kept by the layer per channel and survive the close, with the channel's
/// last properties, until the id is used again.
#[test]
fn counters_and_closed_record_until_the_id_is_reused() {
    let mut sim = pair(3, LinkConfig::with_delay(Duration::from_millis(5)));
    let id = node(&mut sim, A)
        .dc
        .create_channel(ChannelInit {
            label: "counted".into(),
            ..Default::default()
        })
        .unwrap();
    let now = sim.now();
    node(&mut sim, A).dc.send_text(now, id, "abcd").unwrap();
    node(&mut sim, A)
        .dc
        .send_binary(now, id, Bytes::new())
        .unwrap();
    // Refused sends are not counted.
    assert!(node(&mut sim, A)
        .dc
        .send_binary(now, id, Bytes::from(vec![0; 300_000]))
        .is_err());
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(B)).unwrap().messages(id).len() == 2
    })
    .unwrap();
    let sent = node(&mut sim, A).dc.channel_stats(id).unwrap();
    assert_eq!((sent.messages_sent, sent.bytes_sent), (2, 4));
    assert_eq!((sent.messages_received, sent.bytes_received), (0, 0));
    let got = node(&mut sim, B).dc.channel_stats(id).unwrap();
    assert_eq!((got.messages_received, got.bytes_received), (2, 4));
    node(&mut sim, A).dc.close(id).unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(A))
            .unwrap()
            .events
            .contains(&Event::ChannelClosed(id))
    })
    .unwrap();
    let a = node(&mut sim, A);
    assert!(a.dc.channel(id).is_none());
    let last = a.dc.closed_channel(id).unwrap();
    assert_eq!(last.label, "counted");
    assert_eq!(last.ready_state, ReadyState::Closed);
    assert_eq!(a.dc.channel_stats(id).unwrap().messages_sent, 2);
    // The id used again: a fresh channel, fresh counters, no closed record.
    let again =
        a.dc.create_channel(ChannelInit {
            negotiated: Some(id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again, id);
    assert!(a.dc.closed_channel(id).is_none());
    assert_eq!(a.dc.channel_stats(id).unwrap().messages_sent, 0);
}

#[test]
fn init_validation_without_an_association() {
    let long = "x".repeat(65536);
    let cases = [
        (
            ChannelInit {
                label: long.clone(),
                ..Default::default()
            },
            "TooLong",
        ),
        (
            ChannelInit {
                protocol: long,
                ..Default::default()
            },
            "TooLong",
        ),
        (
            ChannelInit {
                max_retransmits: Some(1),
                max_packet_life_time: Some(1),
                ..Default::default()
            },
            "BothReliabilityLimits",
        ),
        (
            ChannelInit {
                negotiated: Some(65535),
                ..Default::default()
            },
            "IdOutOfRange(65535)",
        ),
    ];
    for (init, want) in cases {
        let err = init.validate().unwrap_err();
        assert_eq!(format!("{err:?}"), want);
    }
    assert!(ChannelInit {
        negotiated: Some(65534),
        ..Default::default()
    }
    .validate()
    .is_ok());
}

#[test]
fn dcep_open_ack_and_messages_both_ways() {
    let mut sim = pair(1, LinkConfig::with_delay(Duration::from_millis(20)));
    let id = node(&mut sim, A)
        .dc
        .create_channel(ChannelInit {
            label: "chat".into(),
            protocol: "json".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(id % 2, 0, "DTLS client picks even ids");
    assert_eq!(
        node(&mut sim, A).dc.channel(id).unwrap().ready_state,
        ReadyState::Open
    );
    let now = sim.now();
    // Sending before the ACK is allowed (ordered until then).
    node(&mut sim, A).dc.send_text(now, id, "hello").unwrap();
    node(&mut sim, A)
        .dc
        .send_binary(now, id, Bytes::from_static(&[1, 2, 3]))
        .unwrap();
    node(&mut sim, A).dc.send_text(now, id, "").unwrap();
    node(&mut sim, A)
        .dc
        .send_binary(now, id, Bytes::new())
        .unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(B)).unwrap().messages(id).len() == 4
    })
    .unwrap();
    let b = node(&mut sim, B);
    assert!(b.events.contains(&Event::ChannelOpen { id, remote: true }));
    let info = b.dc.channel(id).unwrap().clone();
    assert_eq!(
        (
            info.label.as_str(),
            info.protocol.as_str(),
            info.ordered,
            info.negotiated
        ),
        ("chat", "json", true, false)
    );
    assert_eq!(
        b.messages(id),
        vec![
            (Bytes::from_static(b"hello"), false),
            (Bytes::from_static(&[1, 2, 3]), true),
            (Bytes::new(), false),
            (Bytes::new(), true)
        ]
    );
    // Reply on the same channel; the server's own channel gets an odd id.
    let now = sim.now();
    node(&mut sim, B).dc.send_text(now, id, "hi back").unwrap();
    let bid = node(&mut sim, B)
        .dc
        .create_channel(ChannelInit {
            label: "srv".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(bid % 2, 1);
    sim.run_until(Duration::from_secs(5), |s| {
        let a = s.endpoint(addr(A)).unwrap();
        !a.messages(id).is_empty()
            && a.events.contains(&Event::ChannelOpen {
                id: bid,
                remote: true,
            })
    })
    .unwrap();
}

#[test]
fn negotiated_channels_skip_dcep() {
    let mut sim = pair(2, LinkConfig::with_delay(Duration::from_millis(10)));
    let init = ChannelInit {
        label: "neg".into(),
        negotiated: Some(7),
        ..Default::default()
    };
    assert_eq!(
        node(&mut sim, A).dc.create_channel(init.clone()).unwrap(),
        7
    );
    assert_eq!(
        node(&mut sim, B).dc.create_channel(init.clone()).unwrap(),
        7
    );
    assert!(
        node(&mut sim, A).dc.create_channel(init).is_err(),
        "id in use"
    );
    let now = sim.now();
    node(&mut sim, A).dc.send_text(now, 7, "x").unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(B)).unwrap().messages(7).len() == 1
    })
    .unwrap();
    assert!(!node(&mut sim, B)
        .events
        .iter()
        .any(|e| matches!(e, Event::ChannelOpen { remote: true, .. })));
}

#[test]
fn close_resets_stream_and_id_is_reused() {
    let mut sim = pair(
        3,
        LinkConfig::with_delay(Duration::from_millis(10)).loss(Loss::Random(0.05)),
    );
    let id = node(&mut sim, A)
        .dc
        .create_channel(ChannelInit::default())
        .unwrap();
    let now = sim.now();
    for i in 0..20 {
        node(&mut sim, A)
            .dc
            .send_text(now, id, &format!("m{i}"))
            .unwrap();
    }
    node(&mut sim, A).dc.close(id).unwrap();
    assert_eq!(
        node(&mut sim, A).dc.channel(id).unwrap().ready_state,
        ReadyState::Closing
    );
    assert!(node(&mut sim, A).dc.send_text(now, id, "late").is_err());
    sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(addr(A))
            .unwrap()
            .events
            .contains(&Event::ChannelClosed(id))
            && s.endpoint(addr(B))
                .unwrap()
                .events
                .contains(&Event::ChannelClosed(id))
    })
    .unwrap();
    assert_eq!(
        node(&mut sim, B).messages(id).len(),
        20,
        "data queued before close() is delivered"
    );
    // The id is free again, in both roles' views, and works with fresh sequence numbers.
    let again = node(&mut sim, A)
        .dc
        .create_channel(ChannelInit::default())
        .unwrap();
    assert_eq!(again, id);
    let now = sim.now();
    node(&mut sim, A)
        .dc
        .send_text(now, again, "reused")
        .unwrap();
    sim.run_until(Duration::from_secs(10), |s| {
        s.endpoint(addr(B)).unwrap().messages(id).len() == 21
    })
    .unwrap();
    // The server closing a channel the client opened works too.
    node(&mut sim, B).dc.close(id).unwrap();
    sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(addr(A))
            .unwrap()
            .events
            .iter()
            .filter(|e| **e == Event::ChannelClosed(id))
            .count()
            == 2
    })
    .unwrap();
}

#[test]
fn partially_reliable_and_unordered_channels() {
    let mut sim = pair(
        4,
        LinkConfig::with_delay(Duration::from_millis(20)).loss(Loss::Random(0.2)),
    );
    let init = ChannelInit {
        ordered: false,
        max_retransmits: Some(0),
        ..Default::default()
    };
    let id = node(&mut sim, A).dc.create_channel(init).unwrap();
    assert!(node(&mut sim, A)
        .dc
        .create_channel(ChannelInit {
            max_retransmits: Some(1),
            max_packet_life_time: Some(1),
            ..Default::default()
        })
        .is_err());
    sim.run_until(Duration::from_secs(20), |s| {
        s.endpoint(addr(B))
            .unwrap()
            .events
            .contains(&Event::ChannelOpen { id, remote: true })
    })
    .unwrap();
    let info = node(&mut sim, B).dc.channel(id).unwrap().clone();
    assert!(!info.ordered);
    assert_eq!(info.max_retransmits, Some(0));
    let now = sim.now();
    for i in 0..100u32 {
        let mut v = vec![0u8; 1000];
        v[..4].copy_from_slice(&i.to_be_bytes());
        node(&mut sim, A)
            .dc
            .send_binary(now, id, Bytes::from(v))
            .unwrap();
    }
    sim.run_for(Duration::from_secs(20)).unwrap();
    let got = node(&mut sim, B).messages(id);
    assert!(got.len() < 100 && got.len() > 30, "{}", got.len());
    let abandoned = node(&mut sim, A)
        .dc
        .association()
        .stats()
        .messages_abandoned;
    assert!(got.len() as u64 + abandoned >= 100);
}

#[test]
fn buffered_amount_and_low_threshold_event() {
    let mut sim = pair(5, LinkConfig::with_delay(Duration::from_millis(20)));
    let id = node(&mut sim, A)
        .dc
        .create_channel(ChannelInit::default())
        .unwrap();
    node(&mut sim, A)
        .dc
        .set_buffered_amount_low_threshold(id, 10_000);
    let now = sim.now();
    for _ in 0..10 {
        node(&mut sim, A)
            .dc
            .send_binary(now, id, Bytes::from(vec![7u8; 20_000]))
            .unwrap();
    }
    assert!(node(&mut sim, A).dc.buffered_amount(id) >= 190_000);
    sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(addr(B)).unwrap().messages(id).len() == 10
    })
    .unwrap();
    assert_eq!(node(&mut sim, A).dc.buffered_amount(id), 0);
    assert_eq!(
        node(&mut sim, A)
            .events
            .iter()
            .filter(|e| **e == Event::BufferedAmountLow(id))
            .count(),
        1
    );
}

#[test]
fn thousand_channels_on_one_association() {
    let mut sim = pair(6, LinkConfig::with_delay(Duration::from_millis(5)));
    let mut ids = Vec::new();
    for i in 0..1000 {
        let side = if i % 2 == 0 { A } else { B };
        let id = node(&mut sim, side)
            .dc
            .create_channel(ChannelInit {
                label: format!("ch{i}"),
                ..Default::default()
            })
            .unwrap();
        ids.push((side, id));
    }
    sim.run_until(Duration::from_secs(30), |s| {
        let opened = |n: u8| {
            s.endpoint(addr(n))
                .unwrap()
                .events
                .iter()
                .filter(|e| matches!(e, Event::ChannelOpen { remote: true, .. }))
                .count()
        };
        opened(A) == 500 && opened(B) == 500
    })
    .unwrap();
    let now = sim.now();
    for (side, id) in &ids {
        node(&mut sim, *side)
            .dc
            .send_text(now, *id, &format!("on {id}"))
            .unwrap();
    }
    sim.run_until(Duration::from_secs(30), |s| {
        ids.iter().all(|(side, id)| {
            let other = if *side == A { B } else { A };
            s.endpoint(addr(other)).unwrap().messages(*id).len() == 1
        })
    })
    .unwrap();
    for (side, id) in &ids {
        let other = if *side == A { B } else { A };
        assert_eq!(
            node(&mut sim, other).messages(*id)[0].0,
            Bytes::from(format!("on {id}"))
        );
        assert_eq!(
            node(&mut sim, other).dc.channel(*id).unwrap().label,
            format!("ch{}", ids.iter().position(|x| x.1 == *id).unwrap())
        );
    }
    // Close them all.
    for (side, id) in &ids {
        node(&mut sim, *side).dc.close(*id).unwrap();
    }
    sim.run_until(Duration::from_secs(60), |s| {
        s.endpoint(addr(A)).unwrap().dc.channel_ids().count() == 0
            && s.endpoint(addr(B)).unwrap().dc.channel_ids().count() == 0
    })
    .unwrap();
}

#[test]
fn deprecated_partial_ppids_are_reassembled() {
    // Drive the association directly to send PPID 54 fragments then 51.
    let mut sim = pair(7, LinkConfig::default());
    let init = ChannelInit {
        negotiated: Some(3),
        ..Default::default()
    };
    node(&mut sim, A).dc.create_channel(init.clone()).unwrap();
    node(&mut sim, B).dc.create_channel(init).unwrap();
    // A sender using the deprecated partial PPIDs (RFC 8831 §8): 54, 54, then 51.
    let now = sim.now();
    let opts = ferrtc_sctp::SendOptions::default();
    let a = &mut node(&mut sim, A).dc;
    a.association_mut()
        .send(
            now,
            3,
            ferrtc_sctp::ppid::STRING_PARTIAL,
            Bytes::from_static(b"hel"),
            opts,
        )
        .unwrap();
    a.association_mut()
        .send(
            now,
            3,
            ferrtc_sctp::ppid::STRING_PARTIAL,
            Bytes::from_static(b"lo "),
            opts,
        )
        .unwrap();
    a.association_mut()
        .send(
            now,
            3,
            ferrtc_sctp::ppid::STRING,
            Bytes::from_static(b"world"),
            opts,
        )
        .unwrap();
    a.send_text(now, 3, "whole").unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(B)).unwrap().messages(3).len() == 2
    })
    .unwrap();
    assert_eq!(
        node(&mut sim, B).messages(3),
        vec![
            (Bytes::from_static(b"hello world"), false),
            (Bytes::from_static(b"whole"), false)
        ]
    );
}

#[test]
fn dcep_open_vector_rfc8832() {
    // DATA_CHANNEL_OPEN, reliable unordered, priority 256, label "a", protocol "bc".
    let wire = [
        0x03, 0x80, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 2, b'a', b'b', b'c',
    ];
    let m = dcep::Message::parse(&Bytes::copy_from_slice(&wire)).unwrap();
    let dcep::Message::Open(o) = &m else { panic!() };
    assert_eq!(o.channel_type, ChannelType::Reliable);
    assert!(o.unordered);
    assert_eq!(
        (o.label.as_str(), o.protocol.as_str(), o.priority),
        ("a", "bc", 256)
    );
    assert_eq!(&m.to_bytes()[..], &wire[..]);
    for n in 0..12 {
        assert!(dcep::Message::parse(&Bytes::copy_from_slice(&wire[..n])).is_err());
    }
    assert_eq!(
        dcep::Message::parse(&Bytes::from_static(&[0x02])).unwrap(),
        dcep::Message::Ack
    );
    assert!(dcep::Message::parse(&Bytes::from_static(&[0x07])).is_err());
}

proptest! {
    #[test]
    fn dcep_round_trip(t in 0u8..3, u in any::<bool>(), p in any::<u16>(), r in any::<u32>(), l in ".{0,20}", pr in ".{0,20}") {
        let channel_type = [ChannelType::Reliable, ChannelType::PartialReliableRexmit, ChannelType::PartialReliableTimed][t as usize];
        let m = dcep::Message::Open(dcep::Open { channel_type, unordered: u, priority: p, reliability_parameter: r, label: l, protocol: pr });
        let b = m.to_bytes();
        prop_assert_eq!(b.len(), m.encoded_len());
        prop_assert_eq!(dcep::Message::parse(&b).unwrap(), m);
    }

    #[test]
    fn dcep_never_panics(v in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = dcep::Message::parse(&Bytes::from(v));
    }
}
