//! An idle association holds no queue buffers sized for its last burst (issue 17: memory per
//! idle connection). White-box: the capacities are not visible through the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;

fn deliver(from: &mut Association, to: &mut Association, now: Instant) {
    while let Some(p) = from.poll_transmit() {
        let _ = to.handle_receive(now, p);
    }
}

/// Moves packets both ways until nothing moves; returns the messages `b` delivered.
fn settle(a: &mut Association, b: &mut Association, now: Instant) -> usize {
    let mut got = 0;
    for _ in 0..50 {
        deliver(a, b, now);
        deliver(b, a, now);
        while a.poll_event().is_some() {}
        while let Some(ev) = b.poll_event() {
            got += usize::from(matches!(ev, Event::Message(_)));
        }
    }
    got
}

#[test]
fn queues_give_their_buffers_back_once_drained() {
    let t0 = ferrtc_testkit::epoch();
    let cfg = Config {
        heartbeat_interval: None,
        ..Default::default()
    };
    let mut a = Association::new(cfg.clone(), t0, &mut StdRng::seed_from_u64(1));
    let mut b = Association::new(cfg, t0, &mut StdRng::seed_from_u64(2));
    a.connect(t0);
    settle(&mut a, &mut b, t0);
    assert_eq!(a.state(), State::Established);
    // A burst: twenty messages of three packets each on one stream.
    for _ in 0..20 {
        a.send(
            t0,
            1,
            53,
            Bytes::from(vec![7u8; 3000]),
            SendOptions::default(),
        )
        .unwrap();
    }
    assert!(a.streams_out.get(&1).unwrap().queue.capacity() >= 20);
    let mut now = t0;
    let mut got = 0;
    for _ in 0..200 {
        got += settle(&mut a, &mut b, now);
        if got == 20 {
            break;
        }
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert_eq!(got, 20);
    // Let the delayed SACK go out and be processed.
    now += Duration::from_millis(500);
    a.handle_timeout(now);
    b.handle_timeout(now);
    settle(&mut a, &mut b, now);
    assert!(a.inflight.is_empty());
    for (side, x) in [("sender", &a), ("receiver", &b)] {
        assert_eq!(x.inflight.capacity(), 0, "{side}: in-flight queue");
        assert_eq!(x.events.capacity(), 0, "{side}: event queue");
        assert_eq!(x.transmits.capacity(), 0, "{side}: packet queue");
        assert_eq!(x.control.capacity(), 0, "{side}: control queue");
        assert_eq!(x.active.capacity(), 0, "{side}: stream schedule");
    }
    assert_eq!(a.streams_out.get(&1).unwrap().queue.capacity(), 0);
}
