//! Two peer connections through the simulated network: JSEP, ICE, DTLS, SCTP and data
//! channels end to end, under impairments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrtc_peerconnection::{
    ChannelId, ChannelInit, Datagram, Event, IceCandidateInit, OfferOptions, PeerConnection,
    PeerConnectionState, ReadyState, RtcSessionDescription, SdpType, SignalingState,
};
use ferrtc_testkit::{Endpoint, LinkConfig, Loss, Sim};
use rand::SeedableRng;

mod common;
use common::media_pc::{config, negotiate, pc, peer, Peer};

fn open(sim: &Sim<Peer>, addr: SocketAddr, ch: ChannelId) -> bool {
    sim.endpoint(addr)
        .unwrap()
        .pc
        .channel(ch)
        .is_some_and(|c| c.ready_state == ReadyState::Open)
}

fn remote_channel(sim: &Sim<Peer>, addr: SocketAddr, label: &str) -> Option<ChannelId> {
    let p = sim.endpoint(addr).unwrap();
    p.events.iter().find_map(|e| match e {
        Event::DataChannel(id) if p.pc.channel(*id).unwrap().label == label => Some(*id),
        _ => None,
    })
}

fn messages(sim: &mut Sim<Peer>, addr: SocketAddr, ch: ChannelId) -> Vec<(Bytes, bool)> {
    let p = sim.endpoint_mut(addr).unwrap();
    let mut out = Vec::new();
    p.events.retain(|e| match e {
        Event::ChannelMessage {
            channel,
            data,
            binary,
        } if *channel == ch => {
            out.push((data.clone(), *binary));
            false
        }
        _ => true,
    });
    out
}

fn setup(seed: u64, link: LinkConfig) -> (Sim<Peer>, SocketAddr, SocketAddr, ChannelId) {
    let mut sim = Sim::new(seed);
    sim.set_default_link(link);
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    let ch = pc(&mut sim, a)
        .create_data_channel(ChannelInit {
            label: "chat".into(),
            ..Default::default()
        })
        .unwrap();
    let (offer, _) = negotiate(&mut sim, a, b);
    assert!(offer.sdp.contains("a=end-of-candidates"), "{}", offer.sdp);
    (sim, a, b, ch)
}

#[test]
fn connects_and_exchanges_messages() {
    let (mut sim, a, b, ch) = setup(1, LinkConfig::default());
    let t = sim
        .run_until(Duration::from_secs(10), |s| {
            open(s, a, ch) && remote_channel(s, b, "chat").is_some()
        })
        .unwrap();
    assert!(t < Duration::from_millis(50), "took {t:?}");
    assert_eq!(
        sim.endpoint(a).unwrap().pc.connection_state(),
        PeerConnectionState::Connected
    );
    let rb = remote_channel(&sim, b, "chat").unwrap();
    // W3C order: datachannel then open.
    pc(&mut sim, a).send_text(ch, "hello").unwrap();
    pc(&mut sim, a)
        .send_binary(ch, Bytes::from_static(&[1, 2, 3]))
        .unwrap();
    pc(&mut sim, a).send_text(ch, "").unwrap();
    sim.run_for(Duration::from_millis(100)).unwrap();
    let got = messages(&mut sim, b, rb);
    assert_eq!(
        got,
        vec![
            (Bytes::from_static(b"hello"), false),
            (Bytes::from_static(&[1, 2, 3]), true),
            (Bytes::new(), false)
        ]
    );
    // Stats: the standard objects with their W3C names.
    let stats = sim.endpoint(a).unwrap().pc.get_stats(1.0e12).to_json();
    let types: Vec<&str> = stats
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    for t in [
        "peer-connection",
        "transport",
        "candidate-pair",
        "local-candidate",
        "remote-candidate",
        "certificate",
        "data-channel",
    ] {
        assert!(types.contains(&t), "{t} missing in {stats}");
    }
    let dc = stats
        .as_object()
        .unwrap()
        .values()
        .find(|v| v["type"] == "data-channel")
        .unwrap();
    assert_eq!(dc["messagesSent"], 3);
    assert_eq!(dc["label"], "chat");
    assert_eq!(stats["T01"]["dtlsState"], "connected");
    assert!(stats["T01"]["selectedCandidatePairId"].is_string());
}

/// The borrowed channel handle: the same state as the id-based methods, one owner (the
/// datachannel layer) for ready state and counters, and a closed channel keeps its record.
#[test]
fn channel_handle_sends_counts_and_closes() {
    let (mut sim, a, b, ch) = setup(11, LinkConfig::default());
    // Negotiated but not connected: the stream id is known (the DTLS role is), not open yet.
    {
        let mut h = pc(&mut sim, a).data_channel(ch).unwrap();
        assert_eq!(h.ready_state(), ReadyState::Connecting);
        assert_eq!(
            h.info().id,
            Some(1),
            "the answerer is the DTLS client: odd ids here"
        );
        assert!(matches!(
            h.send_text("too early"),
            Err(ferrtc_peerconnection::Error::DataChannel(
                ferrtc_datachannel::Error::NotOpen(1)
            ))
        ));
    }
    // Before any negotiation: no stream id, nothing to send on.
    {
        let mut lone = PeerConnection::new(
            config(),
            sim.now(),
            &mut rand::rngs::StdRng::seed_from_u64(5),
        )
        .unwrap();
        let id = lone.create_data_channel(ChannelInit::default()).unwrap();
        let mut h = lone.data_channel(id).unwrap();
        assert_eq!(h.info().id, None);
        assert!(matches!(
            h.send_text("too early"),
            Err(ferrtc_peerconnection::Error::InvalidState(_))
        ));
        h.close().unwrap();
        assert_eq!(h.ready_state(), ReadyState::Closed);
    }
    assert!(pc(&mut sim, a).data_channel(ChannelId(999)).is_none());
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, ch) && remote_channel(s, b, "chat").is_some()
    })
    .unwrap();
    let rb = remote_channel(&sim, b, "chat").unwrap();
    {
        let mut h = pc(&mut sim, a).data_channel(ch).unwrap();
        assert_eq!(h.ready_state(), ReadyState::Open);
        assert_eq!(h.info().label, "chat");
        h.send_text("one").unwrap();
        h.send_binary(Bytes::from_static(&[9; 10])).unwrap();
        // The remote's a=max-message-size (262144 by default) is the limit send() applies.
        let too_big = 262_144 + 1;
        assert!(matches!(
            h.send_binary(Bytes::from(vec![0u8; too_big])),
            Err(ferrtc_peerconnection::Error::MessageTooLarge { size, max: 262_144 }) if size == too_big
        ));
        let stats = h.stats();
        assert_eq!((stats.messages_sent, stats.bytes_sent), (2, 13));
    }
    sim.run_for(Duration::from_millis(100)).unwrap();
    assert_eq!(messages(&mut sim, b, rb).len(), 2);
    let got = sim.endpoint(b).unwrap().pc.channel_stats(rb).unwrap();
    assert_eq!((got.messages_received, got.bytes_received), (2, 13));
    // Close through the handle: both ends reach closed; the record stays.
    pc(&mut sim, a).data_channel(ch).unwrap().close().unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(a).unwrap().pc.channel(ch).unwrap().ready_state == ReadyState::Closed
            && s.endpoint(b).unwrap().pc.channel(rb).unwrap().ready_state == ReadyState::Closed
    })
    .unwrap();
    let info = sim.endpoint(a).unwrap().pc.channel(ch).unwrap();
    assert_eq!(info.label, "chat");
    let stats = sim.endpoint(a).unwrap().pc.get_stats(1.0e12).to_json();
    let dc = &stats[format!("D{}", ch.0).as_str()];
    assert_eq!(dc["state"], "closed");
    assert_eq!(dc["messagesSent"], 2);
    assert_eq!(stats["P"]["dataChannelsOpened"], 1);
    assert_eq!(stats["P"]["dataChannelsClosed"], 1);
    assert!(matches!(
        pc(&mut sim, a).send_text(ch, "after close"),
        Err(ferrtc_peerconnection::Error::InvalidState(_))
    ));
    // Closing again does nothing.
    pc(&mut sim, a).close_channel(ch).unwrap();
}

#[test]
fn large_messages_under_loss_arrive_intact_and_in_order() {
    let link = LinkConfig {
        delay: Duration::from_millis(20),
        loss: Loss::Random(0.05),
        ..Default::default()
    };
    let (mut sim, a, b, ch) = setup(7, link);
    sim.run_until(Duration::from_secs(30), |s| {
        open(s, a, ch) && remote_channel(s, b, "chat").is_some()
    })
    .unwrap();
    let rb = remote_channel(&sim, b, "chat").unwrap();
    let sizes = [1usize, 1000, 5000, 65_536, 200_000, 262_144];
    for (i, n) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*n).map(|j| (i * 31 + j) as u8).collect();
        pc(&mut sim, a).send_binary(ch, Bytes::from(data)).unwrap();
    }
    let mut got = Vec::new();
    sim.run_until(Duration::from_secs(60), |s| {
        got.extend(messages(s, b, rb));
        got.len() == sizes.len()
    })
    .unwrap();
    for (i, ((data, binary), n)) in got.iter().zip(sizes).enumerate() {
        assert!(*binary);
        assert_eq!(data.len(), n);
        assert!(data
            .iter()
            .enumerate()
            .all(|(j, x)| *x == (i * 31 + j) as u8));
    }
}

#[test]
fn negotiated_second_and_unordered_channels() {
    let mut sim = Sim::new(3);
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    let neg = |label: &str| ChannelInit {
        label: label.into(),
        negotiated: Some(7),
        ..Default::default()
    };
    let echo = pc(&mut sim, a)
        .create_data_channel(ChannelInit {
            label: "echo".into(),
            ..Default::default()
        })
        .unwrap();
    let na = pc(&mut sim, a)
        .create_data_channel(neg("negotiated"))
        .unwrap();
    let un = pc(&mut sim, a)
        .create_data_channel(ChannelInit {
            label: "unordered".into(),
            ordered: false,
            max_retransmits: Some(0),
            ..Default::default()
        })
        .unwrap();
    let nb = pc(&mut sim, b)
        .create_data_channel(neg("negotiated"))
        .unwrap();
    let (offer, _) = negotiate(&mut sim, a, b);
    assert!(offer.sdp.contains("a=end-of-candidates"), "{}", offer.sdp);
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, echo) && open(s, a, un) && open(s, a, na) && open(s, b, nb)
    })
    .unwrap();
    assert_eq!(sim.endpoint(a).unwrap().pc.channel(na).unwrap().id, Some(7));
    // A channel created after connect needs no renegotiation.
    let second = pc(&mut sim, a)
        .create_data_channel(ChannelInit {
            label: "second".into(),
            ..Default::default()
        })
        .unwrap();
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, second) && remote_channel(s, b, "second").is_some()
    })
    .unwrap();
    pc(&mut sim, a).send_text(na, "negotiated-hello").unwrap();
    sim.run_for(Duration::from_millis(50)).unwrap();
    assert_eq!(
        messages(&mut sim, b, nb),
        vec![(Bytes::from_static(b"negotiated-hello"), false)]
    );
    // The DTLS client (the answerer here) picks even ids, the offerer (server) odd ones.
    let ids: Vec<u16> = [echo, un, second]
        .iter()
        .map(|c| sim.endpoint(a).unwrap().pc.channel(*c).unwrap().id.unwrap())
        .collect();
    assert!(ids.iter().all(|i| i % 2 == 1), "{ids:?}");
    // Close one: both sides see it close.
    pc(&mut sim, a).close_channel(second).unwrap();
    let rb = remote_channel(&sim, b, "second").unwrap();
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(b)
            .unwrap()
            .events
            .contains(&Event::ChannelClosed(rb))
            && s.endpoint(a)
                .unwrap()
                .events
                .contains(&Event::ChannelClosed(second))
    })
    .unwrap();
}

#[test]
fn trickle_candidates_after_descriptions() {
    let mut sim = Sim::new(11);
    // No interfaces yet: the descriptions carry no candidates.
    let addr_a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let addr_b: SocketAddr = "10.0.0.2:50000".parse().unwrap();
    let now = sim.now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for addr in [addr_a, addr_b] {
        let pc = PeerConnection::new(config(), now, &mut rng).unwrap();
        sim.add_endpoint(addr, Peer::new(addr, pc));
    }
    let ch = pc(&mut sim, addr_a)
        .create_data_channel(ChannelInit {
            label: "t".into(),
            ..Default::default()
        })
        .unwrap();
    let offer = pc(&mut sim, addr_a)
        .create_offer(OfferOptions::default())
        .unwrap();
    assert!(!offer.sdp.contains("a=candidate"));
    pc(&mut sim, addr_a)
        .set_local_description(now, offer.clone())
        .unwrap();
    pc(&mut sim, addr_b)
        .set_remote_description(now, offer)
        .unwrap();
    // The parameterless form: an empty sdp means "the answer I would create".
    pc(&mut sim, addr_b)
        .set_local_description(
            now,
            RtcSessionDescription {
                sdp_type: SdpType::Answer,
                sdp: String::new(),
            },
        )
        .unwrap();
    let answer = pc(&mut sim, addr_b).local_description().unwrap();
    pc(&mut sim, addr_a)
        .set_remote_description(now, answer)
        .unwrap();
    // Now gather, and trickle each side's candidates to the other through the events.
    for addr in [addr_a, addr_b] {
        pc(&mut sim, addr).add_local_interface(now, addr).unwrap();
        pc(&mut sim, addr).end_of_local_interfaces(now);
    }
    for _ in 0..3 {
        for (from, to) in [(addr_a, addr_b), (addr_b, addr_a)] {
            let _ = sim.endpoint_mut(from).unwrap().poll_transmit();
            let cands: Vec<Option<IceCandidateInit>> = sim
                .endpoint_mut(from)
                .unwrap()
                .events
                .drain(..)
                .filter_map(|e| match e {
                    Event::IceCandidate(c) => Some(c),
                    _ => None,
                })
                .collect();
            for c in cands {
                pc(&mut sim, to).add_ice_candidate(now, c).unwrap();
            }
        }
    }
    sim.run_until(Duration::from_secs(10), |s| open(s, addr_a, ch))
        .unwrap();
}

#[test]
fn wrong_fingerprint_fails_the_connection() {
    let mut sim = Sim::new(21);
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    pc(&mut sim, a)
        .create_data_channel(ChannelInit::default())
        .unwrap();
    let now = sim.now();
    let offer = pc(&mut sim, a)
        .create_offer(OfferOptions::default())
        .unwrap();
    pc(&mut sim, a).set_local_description(now, offer).unwrap();
    let mut offer = pc(&mut sim, a).local_description().unwrap();
    // An attacker in the signaling path cannot swap the fingerprint: flip one hex digit.
    let i = offer.sdp.find("a=fingerprint:sha-256 ").unwrap() + 22;
    let c = &offer.sdp[i..=i];
    let flipped = if c == "A" { "B" } else { "A" };
    offer.sdp.replace_range(i..=i, flipped);
    pc(&mut sim, b).set_remote_description(now, offer).unwrap();
    let answer = pc(&mut sim, b).create_answer().unwrap();
    pc(&mut sim, b).set_local_description(now, answer).unwrap();
    let answer = pc(&mut sim, b).local_description().unwrap();
    pc(&mut sim, a).set_remote_description(now, answer).unwrap();
    sim.run_until(Duration::from_secs(30), |s| {
        s.endpoint(b).unwrap().pc.connection_state() == PeerConnectionState::Failed
    })
    .unwrap();
    assert!(!sim
        .endpoint(b)
        .unwrap()
        .events
        .iter()
        .any(|e| matches!(e, Event::DataChannel(_) | Event::ChannelOpen(_))));
}

#[test]
fn close_reaches_the_peer() {
    let (mut sim, a, b, ch) = setup(31, LinkConfig::default());
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, ch) && remote_channel(s, b, "chat").is_some()
    })
    .unwrap();
    let rb = remote_channel(&sim, b, "chat").unwrap();
    pc(&mut sim, a).close();
    assert_eq!(pc(&mut sim, a).signaling_state(), SignalingState::Closed);
    assert!(pc(&mut sim, a).send_text(ch, "x").is_err());
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(b)
            .unwrap()
            .events
            .contains(&Event::ChannelClosed(rb))
    })
    .unwrap();
}

/// A re-offer from the peer with `a=setup:actpass` (what browsers send) after DTLS is up:
/// the answer keeps the DTLS role we have (RFC 8842 §5.5), here passive, and the channel
/// keeps working.
#[test]
fn answer_to_a_reoffer_keeps_the_dtls_role() {
    let (mut sim, a, b, ch) = setup(43, LinkConfig::default());
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, ch) && remote_channel(s, b, "chat").is_some()
    })
    .unwrap();
    let rb = remote_channel(&sim, b, "chat").unwrap();
    // `b` answered active: `a`, the first offerer, is the DTLS server.
    let stats = pc(&mut sim, a).get_stats(1.0e12).to_json();
    assert_eq!(stats["T01"]["dtlsRole"], "server");
    let now = sim.now();
    let offer = pc(&mut sim, b)
        .create_offer(OfferOptions::default())
        .unwrap();
    assert!(offer.sdp.contains("a=setup:active"), "{}", offer.sdp);
    pc(&mut sim, b).set_local_description(now, offer).unwrap();
    let offer = pc(&mut sim, b).local_description().unwrap();
    let browser_like = RtcSessionDescription {
        sdp_type: SdpType::Offer,
        sdp: offer.sdp.replace("a=setup:active", "a=setup:actpass"),
    };
    pc(&mut sim, a)
        .set_remote_description(now, browser_like)
        .unwrap();
    let answer = pc(&mut sim, a).create_answer().unwrap();
    assert!(answer.sdp.contains("a=setup:passive"), "{}", answer.sdp);
    pc(&mut sim, a).set_local_description(now, answer).unwrap();
    let answer = pc(&mut sim, a).local_description().unwrap();
    assert!(answer.sdp.contains("a=setup:passive"), "{}", answer.sdp);
    pc(&mut sim, b).set_remote_description(now, answer).unwrap();
    pc(&mut sim, a).send_text(ch, "same roles").unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert_eq!(
        messages(&mut sim, b, rb),
        vec![(Bytes::from_static(b"same roles"), false)]
    );
    assert_eq!(
        pc(&mut sim, a).connection_state(),
        PeerConnectionState::Connected
    );
}

#[test]
fn ice_restart_keeps_the_channel_working() {
    let (mut sim, a, b, ch) = setup(41, LinkConfig::default());
    sim.run_until(Duration::from_secs(10), |s| {
        open(s, a, ch) && remote_channel(s, b, "chat").is_some()
    })
    .unwrap();
    let rb = remote_channel(&sim, b, "chat").unwrap();
    let creds_before = (
        pc(&mut sim, a).ice_agent().local_credentials().clone(),
        pc(&mut sim, b).ice_agent().local_credentials().clone(),
    );
    let now = sim.now();
    let offer = pc(&mut sim, a)
        .create_offer(OfferOptions { ice_restart: true })
        .unwrap();
    pc(&mut sim, a).set_local_description(now, offer).unwrap();
    let offer = pc(&mut sim, a).local_description().unwrap();
    pc(&mut sim, b).set_remote_description(now, offer).unwrap();
    let answer = pc(&mut sim, b).create_answer().unwrap();
    pc(&mut sim, b).set_local_description(now, answer).unwrap();
    let answer = pc(&mut sim, b).local_description().unwrap();
    pc(&mut sim, a).set_remote_description(now, answer).unwrap();
    // The restart happened (RFC 8445 §9): both sides have new credentials, each knows the
    // other's new ones, and the new session connected again.
    let (ca, cb) = (
        pc(&mut sim, a).ice_agent().local_credentials().clone(),
        pc(&mut sim, b).ice_agent().local_credentials().clone(),
    );
    assert_ne!(ca.ufrag, creds_before.0.ufrag, "offerer kept its ufrag");
    assert_ne!(cb.ufrag, creds_before.1.ufrag, "answerer kept its ufrag");
    assert_eq!(pc(&mut sim, a).ice_agent().remote_credentials(), Some(&cb));
    assert_eq!(pc(&mut sim, b).ice_agent().remote_credentials(), Some(&ca));
    sim.run_for(Duration::from_secs(2)).unwrap();
    assert!(pc(&mut sim, a).ice_agent().selected_pair().is_some());
    pc(&mut sim, a).send_text(ch, "after restart").unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert_eq!(
        messages(&mut sim, b, rb),
        vec![(Bytes::from_static(b"after restart"), false)]
    );
    assert_eq!(
        sim.endpoint(a).unwrap().pc.connection_state(),
        PeerConnectionState::Connected
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Hostile datagrams (arbitrary bytes, and mutated STUN / DTLS / SCTP-looking ones) at a
    /// connected peer: never a panic, and the connection keeps working.
    #[test]
    fn hostile_datagrams_do_not_hurt(
        junk in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 1..20),
        first in proptest::sample::select(vec![0u8, 1, 20, 22, 23, 64, 128, 200]),
    ) {
        let (mut sim, a, b, ch) = setup(51, LinkConfig::default());
        sim.run_until(Duration::from_secs(10), |s| {
            open(s, a, ch) && remote_channel(s, b, "chat").is_some()
        })
        .unwrap();
        let rb = remote_channel(&sim, b, "chat").unwrap();
        let now = sim.now();
        for mut j in junk {
            if let Some(x) = j.first_mut() {
                *x = first;
            }
            let _ = pc(&mut sim, b).handle_receive(
                now,
                Datagram { source: a, destination: b, contents: Bytes::from(j.clone()) },
            );
            // Also from an address nobody signalled.
            let _ = pc(&mut sim, b).handle_receive(
                now,
                Datagram { source: "10.9.9.9:9".parse().unwrap(), destination: b, contents: Bytes::from(j) },
            );
        }
        pc(&mut sim, a).send_text(ch, "still here").unwrap();
        sim.run_for(Duration::from_millis(200)).unwrap();
        proptest::prop_assert_eq!(
            messages(&mut sim, b, rb),
            vec![(Bytes::from_static(b"still here"), false)]
        );
    }
}
