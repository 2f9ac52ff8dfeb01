#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Deterministic simulations of two associations through ferrtc-testkit.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{message, Node};
use ferrtc_sctp::{ppid, Config, Event, SendOptions, State};
use ferrtc_testkit::{addr, for_each_seed, LinkConfig, Loss, Sim};

fn pair(seed: u64, link: LinkConfig, cfg: Config) -> Sim<Node> {
    let mut sim = Sim::new(seed);
    sim.set_default_link(link);
    let now = sim.now();
    let (a, b) = (addr(1), addr(2));
    let mut na = Node::new(cfg.clone(), now, seed * 2 + 1, b);
    let mut nb = Node::new(cfg, now, seed * 2 + 2, a);
    // Both ends send INIT at once, as WebRTC peers do: exercises the INIT collision.
    na.assoc.connect(now);
    nb.assoc.connect(now);
    sim.add_endpoint(a, na);
    sim.add_endpoint(b, nb);
    sim.run_until(Duration::from_secs(120), |s| {
        s.endpoint(a).unwrap().connected && s.endpoint(b).unwrap().connected
    })
    .expect("handshake");
    sim
}

fn queue(sim: &mut Sim<Node>, from: u8, msgs: impl IntoIterator<Item = (u16, Bytes, SendOptions)>) {
    let now = sim.now();
    let n = sim.endpoint_mut(addr(from)).unwrap();
    for (s, b, o) in msgs {
        n.pending.push_back((s, ppid::BINARY, b, o));
    }
    n.feed(now);
}

/// Sizes from 1 byte to 64 KiB and beyond.
fn sizes(i: u32) -> usize {
    [
        1usize,
        3,
        100,
        1100,
        1144,
        1145,
        3000,
        16 * 1024,
        65536,
        200_000,
    ][(i % 10) as usize]
}

fn reliable_ordered(seed: u64, link: LinkConfig, count: u32) -> ferrtc_sctp::Stats {
    reliable_ordered_with(seed, link, count, false)
}

fn reliable_ordered_with(
    seed: u64,
    link: LinkConfig,
    count: u32,
    idata: bool,
) -> ferrtc_sctp::Stats {
    let cfg = Config {
        heartbeat_interval: Some(Duration::from_secs(5)),
        enable_idata: idata,
        ..Config::default()
    };
    let mut sim = pair(seed, link, cfg);
    let msgs: Vec<_> = (0..count)
        .map(|i| ((i % 3) as u16, message(i, sizes(i)), SendOptions::default()))
        .collect();
    let expect: Vec<Bytes> = msgs.iter().map(|m| m.1.clone()).collect();
    queue(&mut sim, 1, msgs);
    sim.run_until(Duration::from_secs(600), |s| {
        s.endpoint(addr(2)).unwrap().messages.len() >= count as usize
    })
    .unwrap_or_else(|e| panic!("seed {seed}: {e:?}; got {}", 0));
    // Settle: duplicates must not produce extra deliveries.
    sim.run_for(Duration::from_secs(2)).unwrap();
    let got = &sim.endpoint(addr(2)).unwrap().messages;
    assert_eq!(got.len(), count as usize, "exactly once");
    // Per stream, in order.
    for stream in 0..3u16 {
        let want: Vec<&Bytes> = expect
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u32 % 3) as u16 == stream)
            .map(|(_, b)| b)
            .collect();
        let have: Vec<&Bytes> = got
            .iter()
            .filter(|m| m.stream_id == stream)
            .map(|m| &m.payload)
            .collect();
        assert_eq!(have.len(), want.len());
        for (h, w) in have.iter().zip(want.iter()) {
            assert_eq!(h.len(), w.len());
            assert!(h == w, "stream {stream}: payload mismatch");
        }
    }
    assert!(!sim.endpoint(addr(1)).unwrap().aborted);
    sim.endpoint(addr(1)).unwrap().assoc.stats().clone()
}

#[test]
fn reliable_ordered_no_loss() {
    let st = reliable_ordered(1, LinkConfig::with_delay(Duration::from_millis(10)), 60);
    assert_eq!(
        st.retransmits, 0,
        "no spurious retransmissions on a clean link"
    );
}

#[test]
fn reliable_ordered_zero_delay() {
    reliable_ordered(2, LinkConfig::default(), 60);
}

#[test]
fn reliable_ordered_loss_1_5_20() {
    for loss in [0.01, 0.05, 0.20] {
        for_each_seed(10..13, |seed| {
            let link = LinkConfig::with_delay(Duration::from_millis(30)).loss(Loss::Random(loss));
            let st = reliable_ordered(seed, link, 40);
            assert!(
                st.retransmits > 0,
                "loss {loss}: the simulation must exercise retransmission"
            );
        });
    }
}

#[test]
fn reliable_ordered_reorder_duplicate_jitter() {
    for_each_seed(20..23, |seed| {
        let link = LinkConfig::with_delay(Duration::from_millis(50))
            .jitter(Duration::from_millis(20))
            .reorder(0.1, Duration::from_millis(30))
            .duplicate(0.05)
            .loss(Loss::Random(0.02));
        reliable_ordered(seed, link, 40);
    });
}

#[test]
fn reliable_ordered_long_delay() {
    reliable_ordered(
        30,
        LinkConfig::with_delay(Duration::from_millis(200)).loss(Loss::Random(0.05)),
        30,
    );
}

#[test]
fn one_mib_messages_intact() {
    let cfg = Config {
        max_message_size: 1 << 20,
        send_buffer_size: 8 << 20,
        ..Config::default()
    };
    let mut sim = pair(
        40,
        LinkConfig::with_delay(Duration::from_millis(20)).loss(Loss::Random(0.01)),
        cfg,
    );
    let msgs: Vec<_> = (0..3)
        .map(|i| (0u16, message(i, 1 << 20), SendOptions::default()))
        .collect();
    let expect: Vec<Bytes> = msgs.iter().map(|m| m.1.clone()).collect();
    queue(&mut sim, 1, msgs);
    sim.run_until(Duration::from_secs(300), |s| {
        s.endpoint(addr(2)).unwrap().messages.len() >= 3
    })
    .unwrap();
    let got = &sim.endpoint(addr(2)).unwrap().messages;
    for (g, e) in got.iter().zip(expect.iter()) {
        assert!(g.payload == *e);
    }
}

#[test]
fn too_large_message_is_refused() {
    let mut sim = pair(41, LinkConfig::default(), Config::default());
    let now = sim.now();
    let n = sim.endpoint_mut(addr(1)).unwrap();
    assert!(n
        .assoc
        .send(
            now,
            0,
            53,
            Bytes::from(vec![0; 300_000]),
            SendOptions::default()
        )
        .is_err());
    assert!(n
        .assoc
        .send(now, 0, 53, Bytes::new(), SendOptions::default())
        .is_err());
}

#[test]
fn unordered_unreliable_by_policy() {
    for_each_seed(50..53, |seed| {
        let link = LinkConfig::with_delay(Duration::from_millis(20)).loss(Loss::Random(0.2));
        let mut sim = pair(seed, link, Config::default());
        let count = 200u32;
        let opts = SendOptions {
            unordered: true,
            max_retransmits: Some(0),
            lifetime: None,
        };
        let msgs: Vec<_> = (0..count).map(|i| (1u16, message(i, 500), opts)).collect();
        queue(&mut sim, 1, msgs);
        sim.run_for(Duration::from_secs(30)).unwrap();
        let rx = sim.endpoint(addr(2)).unwrap();
        let tx = sim.endpoint(addr(1)).unwrap();
        let got: std::collections::BTreeSet<u32> = rx
            .messages
            .iter()
            .map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap()))
            .collect();
        assert_eq!(got.len(), rx.messages.len(), "no message delivered twice");
        let abandoned = tx.assoc.stats().messages_abandoned;
        assert!(
            abandoned > 0,
            "20% loss with no retransmissions must drop some messages"
        );
        assert!(got.len() < count as usize);
        assert!(
            got.len() as u64 + abandoned >= count as u64,
            "each message delivered or abandoned"
        );
        // Nothing stays queued: the association moved past every loss with FORWARD-TSN.
        assert!(tx.pending.is_empty());
        assert_eq!(tx.assoc.buffered_amount_total(), 0);
        // Association still healthy: a reliable message afterwards arrives.
        let now = sim.now();
        sim.endpoint_mut(addr(1))
            .unwrap()
            .assoc
            .send(
                now,
                2,
                51,
                Bytes::from_static(b"after"),
                SendOptions::default(),
            )
            .unwrap();
        sim.run_until(Duration::from_secs(60), |s| {
            s.endpoint(addr(2))
                .unwrap()
                .messages
                .iter()
                .any(|m| m.stream_id == 2)
        })
        .unwrap();
    });
}

#[test]
fn ordered_partially_reliable_lifetime() {
    let link = LinkConfig::with_delay(Duration::from_millis(50)).loss(Loss::Random(0.2));
    let mut sim = pair(60, link, Config::default());
    let opts = SendOptions {
        unordered: false,
        max_retransmits: None,
        lifetime: Some(Duration::from_millis(150)),
    };
    let msgs: Vec<_> = (0..100).map(|i| (3u16, message(i, 2000), opts)).collect();
    queue(&mut sim, 1, msgs);
    sim.run_for(Duration::from_secs(30)).unwrap();
    let rx = sim.endpoint(addr(2)).unwrap();
    let ids: Vec<u32> = rx
        .messages
        .iter()
        .map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap()))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ordered even when partially reliable: {ids:?}"
    );
    assert!(ids.len() < 100);
    let tx = sim.endpoint(addr(1)).unwrap();
    assert!(tx.assoc.stats().messages_abandoned > 0);
    assert!(ids.len() as u64 + tx.assoc.stats().messages_abandoned >= 100);
}

#[test]
fn survives_20s_blackout() {
    let cfg = Config {
        heartbeat_interval: Some(Duration::from_secs(2)),
        ..Config::default()
    };
    let mut sim = pair(70, LinkConfig::with_delay(Duration::from_millis(30)), cfg);
    let msgs: Vec<_> = (0..500)
        .map(|i| (0u16, message(i, 5000), SendOptions::default()))
        .collect();
    queue(&mut sim, 1, msgs);
    sim.run_for(Duration::from_millis(40)).unwrap();
    sim.set_path(
        addr(1),
        addr(2),
        LinkConfig::with_delay(Duration::from_millis(30)).loss(Loss::Random(1.0)),
    );
    sim.run_for(Duration::from_secs(20)).unwrap();
    let before = sim.endpoint(addr(2)).unwrap().messages.len();
    assert!(before < 500);
    assert!(sim.endpoint(addr(1)).unwrap().assoc.stats().t3_expiries >= 3);
    sim.set_path(
        addr(1),
        addr(2),
        LinkConfig::with_delay(Duration::from_millis(30)),
    );
    sim.run_until(Duration::from_secs(60), |s| {
        s.endpoint(addr(2)).unwrap().messages.len() >= 500
    })
    .unwrap();
    assert!(!sim.endpoint(addr(1)).unwrap().aborted);
    assert_eq!(
        sim.endpoint(addr(1)).unwrap().assoc.state(),
        State::Established
    );
}

#[test]
fn graceful_shutdown_after_delivery() {
    let mut sim = pair(
        80,
        LinkConfig::with_delay(Duration::from_millis(10)).loss(Loss::Random(0.05)),
        Config::default(),
    );
    let msgs: Vec<_> = (0..20)
        .map(|i| (0u16, message(i, 3000), SendOptions::default()))
        .collect();
    queue(&mut sim, 1, msgs);
    let now = sim.now();
    sim.endpoint_mut(addr(1)).unwrap().assoc.shutdown(now);
    sim.run_until(Duration::from_secs(120), |s| {
        s.endpoint(addr(1)).unwrap().closed && s.endpoint(addr(2)).unwrap().closed
    })
    .unwrap();
    assert_eq!(sim.endpoint(addr(2)).unwrap().messages.len(), 20);
    assert_eq!(sim.endpoint(addr(1)).unwrap().assoc.state(), State::Closed);
    let now = sim.now();
    assert!(sim
        .endpoint_mut(addr(1))
        .unwrap()
        .assoc
        .send(now, 0, 51, Bytes::from_static(b"x"), SendOptions::default())
        .is_err());
}

#[test]
fn abort_reaches_peer() {
    let mut sim = pair(
        90,
        LinkConfig::with_delay(Duration::from_millis(10)),
        Config::default(),
    );
    sim.endpoint_mut(addr(1)).unwrap().assoc.abort("bye");
    sim.run_until(Duration::from_secs(5), |s| {
        s.endpoint(addr(2)).unwrap().aborted
    })
    .unwrap();
    assert_eq!(sim.endpoint(addr(2)).unwrap().assoc.state(), State::Closed);
}

#[test]
fn peer_unreachable_aborts_eventually() {
    let mut sim = pair(
        91,
        LinkConfig::with_delay(Duration::from_millis(10)),
        Config::default(),
    );
    queue(
        &mut sim,
        1,
        [(0u16, message(1, 100), SendOptions::default())],
    );
    sim.set_path(
        addr(1),
        addr(2),
        LinkConfig::default().loss(Loss::Random(1.0)),
    );
    let r = sim.run_until(Duration::from_secs(600), |s| {
        s.endpoint(addr(1)).unwrap().aborted
    });
    let n = sim.endpoint(addr(1)).unwrap();
    assert!(
        r.is_ok(),
        "{r:?} {:?} {:?} {:?}",
        n.assoc,
        n.assoc.stats(),
        n.assoc.poll_timeout()
    );
}

#[test]
fn stream_reset_both_directions() {
    let mut sim = pair(
        100,
        LinkConfig::with_delay(Duration::from_millis(10)).loss(Loss::Random(0.05)),
        Config::default(),
    );
    queue(
        &mut sim,
        1,
        (0..10).map(|i| (7u16, message(i, 100), SendOptions::default())),
    );
    sim.endpoint_mut(addr(1))
        .unwrap()
        .assoc
        .reset_streams(&[7])
        .unwrap();
    sim.run_until(Duration::from_secs(60), |s| {
        s.endpoint(addr(1))
            .unwrap()
            .events
            .contains(&Event::OutgoingStreamsReset(vec![7]))
    })
    .unwrap();
    let rx = sim.endpoint(addr(2)).unwrap();
    assert_eq!(
        rx.messages.len(),
        10,
        "queued messages delivered before the reset"
    );
    assert!(rx.events.contains(&Event::IncomingStreamsReset(vec![7])));
    // The stream is usable again with SSN 0.
    queue(
        &mut sim,
        1,
        [(7u16, message(99, 10), SendOptions::default())],
    );
    sim.run_until(Duration::from_secs(10), |s| {
        s.endpoint(addr(2)).unwrap().messages.len() == 11
    })
    .unwrap();
}

#[test]
fn deterministic_for_a_seed() {
    let run = || {
        let mut sim = pair(
            5,
            LinkConfig::with_delay(Duration::from_millis(15)).loss(Loss::Random(0.1)),
            Config::default(),
        );
        queue(
            &mut sim,
            1,
            (0..30).map(|i| (0u16, message(i, 4000), SendOptions::default())),
        );
        sim.run_until(Duration::from_secs(120), |s| {
            s.endpoint(addr(2)).unwrap().messages.len() >= 30
        })
        .unwrap()
    };
    assert_eq!(run(), run());
}

// ------------------------------------------------------------------ I-DATA (RFC 8260)

#[test]
fn idata_reliable_ordered_with_loss_and_reordering() {
    for_each_seed(200..203, |seed| {
        let link = LinkConfig::with_delay(Duration::from_millis(30))
            .loss(Loss::Random(0.05))
            .reorder(0.05, Duration::from_millis(20))
            .duplicate(0.02);
        let st = reliable_ordered_with(seed, link, 40, true);
        assert!(st.retransmits > 0);
    });
    reliable_ordered_with(
        203,
        LinkConfig::with_delay(Duration::from_millis(30)).loss(Loss::Random(0.2)),
        30,
        true,
    );
}

#[test]
fn idata_partial_reliability() {
    let cfg = Config {
        enable_idata: true,
        ..Config::default()
    };
    let link = LinkConfig::with_delay(Duration::from_millis(20)).loss(Loss::Random(0.2));
    let mut sim = pair(210, link, cfg);
    assert!(sim.endpoint(addr(1)).unwrap().assoc.idata_negotiated());
    assert!(sim.endpoint(addr(2)).unwrap().assoc.idata_negotiated());
    assert!(sim
        .endpoint(addr(1))
        .unwrap()
        .assoc
        .zero_checksum_negotiated());
    let unordered = SendOptions {
        unordered: true,
        max_retransmits: Some(0),
        lifetime: None,
    };
    let ordered = SendOptions {
        unordered: false,
        max_retransmits: Some(1),
        lifetime: None,
    };
    let msgs: Vec<_> = (0..150u32)
        .map(|i| {
            if i % 2 == 0 {
                (1u16, message(i, 3000), unordered)
            } else {
                (2u16, message(i, 3000), ordered)
            }
        })
        .collect();
    queue(&mut sim, 1, msgs);
    sim.run_for(Duration::from_secs(30)).unwrap();
    let rx = sim.endpoint(addr(2)).unwrap();
    let tx = sim.endpoint(addr(1)).unwrap();
    let ids: Vec<u32> = rx
        .messages
        .iter()
        .map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap()))
        .collect();
    let set: std::collections::BTreeSet<u32> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "no duplicates");
    let ordered_ids: Vec<u32> = rx
        .messages
        .iter()
        .filter(|m| m.stream_id == 2)
        .map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap()))
        .collect();
    assert!(ordered_ids.windows(2).all(|w| w[0] < w[1]));
    for m in &rx.messages {
        let id = u32::from_be_bytes(m.payload[..4].try_into().unwrap());
        assert!(
            m.payload == message(id, 3000),
            "fragments of different messages never mix"
        );
    }
    let abandoned = tx.assoc.stats().messages_abandoned;
    assert!(abandoned > 0);
    let missing: Vec<u32> = (0..150).filter(|i| !set.contains(i)).collect();
    assert!(
        ids.len() as u64 + abandoned >= 150,
        "missing {missing:?} {} + {abandoned}; tx {:?} {:?} pending {} buffered {}; rx {:?}",
        ids.len(),
        tx.assoc,
        tx.assoc.stats(),
        tx.pending.len(),
        tx.assoc.buffered_amount_total(),
        rx.assoc.stats()
    );
    assert_eq!(
        rx.assoc.received_bytes_buffered(),
        0,
        "no partial message left behind"
    );
}

/// Time from queuing a small message on stream B, while a 1 MiB message on stream A is
/// being sent, to its arrival.
fn small_behind_large(idata: bool) -> (Duration, Duration) {
    let cfg = Config {
        enable_idata: idata,
        max_message_size: 1 << 20,
        ..Config::default()
    };
    let one_way = Duration::from_millis(50);
    let mut sim = pair(220, LinkConfig::with_delay(one_way), cfg);
    queue(
        &mut sim,
        1,
        [(1u16, message(1, 1 << 20), SendOptions::default())],
    );
    sim.run_for(Duration::from_millis(250)).unwrap();
    let queued_at = sim.now();
    queue(
        &mut sim,
        1,
        [(2u16, message(2, 100), SendOptions::default())],
    );
    sim.run_until(Duration::from_secs(60), |s| {
        s.endpoint(addr(2)).unwrap().messages.len() == 2
    })
    .unwrap();
    let rx = sim.endpoint(addr(2)).unwrap();
    let b = rx.messages.iter().position(|m| m.stream_id == 2).unwrap();
    let a = rx.messages.iter().position(|m| m.stream_id == 1).unwrap();
    assert!(rx.messages[a].payload == message(1, 1 << 20));
    (rx.arrivals[b] - queued_at, rx.arrivals[a] - queued_at)
}

#[test]
fn idata_small_message_not_blocked_by_large() {
    let rtt = Duration::from_millis(100);
    let (b_idata, a_idata) = small_behind_large(true);
    // One-way delay plus at most one RTT of waiting for the window to open.
    assert!(
        b_idata <= Duration::from_millis(50) + rtt,
        "I-DATA: small message took {b_idata:?}"
    );
    assert!(
        b_idata < a_idata,
        "the small message overtakes the large one"
    );
    let (b_data, _) = small_behind_large(false);
    eprintln!("small message latency: I-DATA {b_idata:?}, DATA {b_data:?}");
    // With DATA it waits for the whole 1 MiB message: the problem I-DATA solves.
    assert!(
        b_data > b_idata + rtt,
        "DATA: {b_data:?} vs I-DATA {b_idata:?}"
    );
}

/// Both ends send INIT at once (the WebRTC case, RFC 9260 §5.2.1) over lossy, reordering,
/// duplicating links with delays from 0 to 200 ms: every run ends in exactly one association
/// (one Connected, no Restarted, no abort on either side) that carries data both ways.
#[test]
fn simultaneous_open_under_loss_reordering_and_duplication() {
    for_each_seed(40..70, |seed| {
        let delay = Duration::from_millis((seed % 5) * 50);
        let link = LinkConfig::with_delay(delay)
            .jitter(Duration::from_millis(seed % 3 * 10))
            .reorder(0.2, Duration::from_millis(40))
            .duplicate(0.2)
            .loss(Loss::Random(0.2));
        let mut sim = pair(seed, link, Config::default());
        queue(
            &mut sim,
            1,
            [(0u16, message(1, 500), SendOptions::default())],
        );
        queue(
            &mut sim,
            2,
            [(1u16, message(2, 500), SendOptions::default())],
        );
        sim.run_until(Duration::from_secs(120), |s| {
            !s.endpoint(addr(1)).unwrap().messages.is_empty()
                && !s.endpoint(addr(2)).unwrap().messages.is_empty()
        })
        .unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
        sim.run_for(Duration::from_secs(5)).unwrap();
        for n in [1u8, 2] {
            let node = sim.endpoint(addr(n)).unwrap();
            let connected = node
                .events
                .iter()
                .filter(|e| **e == Event::Connected)
                .count();
            assert_eq!(connected, 1, "seed {seed} node {n}: {:?}", node.events);
            assert!(!node.events.contains(&Event::Restarted), "seed {seed}");
            assert!(!node.aborted, "seed {seed}");
            assert_eq!(node.messages.len(), 1, "seed {seed}: exactly once");
            assert_eq!(node.assoc.state(), State::Established);
        }
    });
}
