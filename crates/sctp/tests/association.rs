#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Association edge cases driven directly (no simulated network).

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_sctp::chunk::{cause_code, Chunk, InitChunk};
use ferrtc_sctp::packet::finish_checksum;
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

fn parse(p: &Bytes) -> Packet {
    Packet::parse(p.clone(), ChecksumMode::ZeroAllowed).unwrap()
}

fn established(now: Instant) -> (Association, Association) {
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    assert!(events(&mut a).contains(&Event::Connected));
    assert!(events(&mut b).contains(&Event::Connected));
    (a, b)
}

#[test]
fn init_is_answered_statelessly() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    let init = drain(&mut a);
    assert_eq!(init.len(), 1);
    b.handle_receive(now, init[0].clone()).unwrap();
    // The INIT ACK carries a cookie; b keeps no state until COOKIE ECHO (RFC 9260 §5.1.3).
    assert_eq!(b.state(), State::Closed);
    let ack = drain(&mut b);
    let p = parse(&ack[0]);
    assert!(
        matches!(&p.chunks[0], Chunk::InitAck(i) if i.params.iter().any(|x| matches!(x, ferrtc_sctp::param::Param::StateCookie(_))))
    );
}

#[test]
fn tampered_and_stale_cookies_are_rejected() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    for p in drain(&mut a) {
        b.handle_receive(now, p).unwrap();
    }
    for p in drain(&mut b) {
        a.handle_receive(now, p).unwrap();
    }
    let echo = drain(&mut a).pop().unwrap();
    // Flip one cookie byte.
    let mut bad = echo.to_vec();
    bad[20] ^= 0x40;
    finish_checksum(&mut bad, false);
    assert!(matches!(
        b.handle_receive(now, Bytes::from(bad)),
        Err(Error::BadCookie(_))
    ));
    assert_eq!(b.state(), State::Closed);
    // The genuine cookie, too late.
    let late = now + Duration::from_secs(61);
    b.handle_receive(late, echo.clone()).unwrap();
    assert_eq!(b.state(), State::Closed);
    let err = drain(&mut b);
    assert!(
        matches!(&parse(&err[0]).chunks[0], Chunk::Error { causes } if causes[0].code == cause_code::STALE_COOKIE)
    );
    // In time it works.
    b.handle_receive(now + Duration::from_secs(1), echo)
        .unwrap();
    assert_eq!(b.state(), State::Established);
}

#[test]
fn wrong_verification_tag_is_dropped() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"hi"),
        SendOptions::default(),
    )
    .unwrap();
    let p = drain(&mut a).pop().unwrap();
    let mut bad = p.to_vec();
    bad[4] ^= 1;
    finish_checksum(&mut bad, false);
    assert!(matches!(
        b.handle_receive(now, Bytes::from(bad)),
        Err(Error::BadVerificationTag { .. })
    ));
    assert!(events(&mut b).is_empty());
    b.handle_receive(now, p).unwrap();
    assert!(matches!(&events(&mut b)[..], [Event::Message(m)] if m.payload == "hi"));
}

#[test]
fn bad_checksum_is_dropped_and_zero_checksum_negotiated() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    assert!(a.zero_checksum_negotiated() && b.zero_checksum_negotiated());
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"hi"),
        SendOptions::default(),
    )
    .unwrap();
    let p = drain(&mut a).pop().unwrap();
    assert_eq!(
        &p[8..12],
        &[0, 0, 0, 0],
        "DATA packets use the zero checksum once negotiated"
    );
    let mut bad = p.to_vec();
    bad[8] = 1; // non-zero and wrong
    assert!(matches!(
        b.handle_receive(now, Bytes::from(bad)),
        Err(Error::BadChecksum { .. })
    ));
    // Without negotiation, CRC32c is required.
    let cfg = Config {
        zero_checksum: false,
        ..Config::default()
    };
    let mut c = assoc(3, cfg.clone(), now);
    let mut d = assoc(4, Config::default(), now);
    c.connect(now);
    exchange(&mut c, &mut d, now);
    assert!(!c.zero_checksum_negotiated() && !d.zero_checksum_negotiated());
    d.send(now, 0, 51, Bytes::from_static(b"x"), SendOptions::default())
        .unwrap();
    let p = drain(&mut d).pop().unwrap();
    assert_ne!(&p[8..12], &[0, 0, 0, 0]);
}

#[test]
fn unknown_chunks_follow_the_upper_bits() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let vtag = b.local_verification_tag();
    let mk = |t: u8| {
        Packet {
            header: CommonHeader {
                src_port: 5000,
                dst_port: 5000,
                verification_tag: vtag,
            },
            chunks: vec![
                Chunk::Unknown {
                    chunk_type: t,
                    flags: 0,
                    value: Bytes::from_static(b"abcd"),
                },
                Chunk::Heartbeat {
                    info: Bytes::from_static(b"12345678"),
                },
            ],
        }
        .to_bytes(false)
    };
    // 0x3f: stop, no report; the HEARTBEAT after it is not processed.
    b.handle_receive(now, mk(0x3f)).unwrap();
    assert!(drain(&mut b).is_empty());
    // 0x7f: stop and report.
    b.handle_receive(now, mk(0x7f)).unwrap();
    let out: Vec<Chunk> = drain(&mut b).iter().flat_map(|p| parse(p).chunks).collect();
    assert!(out.iter().any(|c| matches!(c, Chunk::Error { causes } if causes[0].code == cause_code::UNRECOGNIZED_CHUNK_TYPE)));
    assert!(!out.iter().any(|c| matches!(c, Chunk::HeartbeatAck { .. })));
    // 0xbf: skip silently, the HEARTBEAT is answered.
    b.handle_receive(now, mk(0xbf)).unwrap();
    let out: Vec<Chunk> = drain(&mut b).iter().flat_map(|p| parse(p).chunks).collect();
    assert!(out.iter().any(|c| matches!(c, Chunk::HeartbeatAck { .. })));
    assert!(!out.iter().any(|c| matches!(c, Chunk::Error { .. })));
    // 0xff: skip and report.
    b.handle_receive(now, mk(0xff)).unwrap();
    let out: Vec<Chunk> = drain(&mut b).iter().flat_map(|p| parse(p).chunks).collect();
    assert!(out.iter().any(|c| matches!(c, Chunk::HeartbeatAck { .. })));
    assert!(out.iter().any(|c| matches!(c, Chunk::Error { .. })));
    let _ = &mut a;
}

#[test]
fn rto_follows_measurements_and_backs_off() {
    let t0 = Instant::now();
    let (mut a, mut b) = established(t0);
    assert_eq!(a.rto(), Duration::from_millis(200));
    let mut now = t0;
    for i in 0..20u32 {
        a.send(
            now,
            0,
            53,
            Bytes::from(vec![i as u8; 100]),
            SendOptions::default(),
        )
        .unwrap();
        let ps = drain(&mut a);
        now += Duration::from_millis(30);
        for p in ps {
            b.handle_receive(now, p).unwrap();
        }
        // Delayed SACK fires.
        now += Duration::from_millis(20);
        b.handle_timeout(now);
        now += Duration::from_millis(30);
        for p in drain(&mut b) {
            a.handle_receive(now, p).unwrap();
        }
    }
    // RTT is 80 ms: RTO converges to RTT + 4 * RTTVAR, clamped to rto_min (50 ms).
    let rto = a.rto();
    assert!(
        rto >= Duration::from_millis(80) && rto <= Duration::from_millis(120),
        "{rto:?}"
    );
    // Now the peer goes silent: T3 doubles the RTO each time.
    a.send(
        now,
        0,
        53,
        Bytes::from_static(b"lost"),
        SendOptions::default(),
    )
    .unwrap();
    drain(&mut a);
    let mut last = a.rto();
    for _ in 0..4 {
        let t = a.poll_timeout().unwrap();
        now = t;
        a.handle_timeout(now);
        assert!(!drain(&mut a).is_empty(), "retransmission");
        assert_eq!(a.rto(), (last * 2).min(Duration::from_secs(6)));
        last = a.rto();
    }
    assert_eq!(a.stats().t3_expiries, 4);
}

#[test]
fn init_with_data_packet_is_rejected() {
    let now = Instant::now();
    let mut b = assoc(2, Config::default(), now);
    let init = InitChunk {
        initiate_tag: 5,
        a_rwnd: 1000,
        num_outbound_streams: 1,
        num_inbound_streams: 1,
        initial_tsn: 1,
        params: vec![],
    };
    let p = Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: 0,
        },
        chunks: vec![Chunk::Init(init), Chunk::CookieAck],
    };
    assert!(b.handle_receive(now, p.to_bytes(false)).is_err());
    assert!(drain(&mut b).is_empty());
}

#[test]
fn send_buffer_limits_and_low_water_event() {
    let now = Instant::now();
    let cfg = Config {
        send_buffer_size: 10_000,
        send_buffer_low_water: 2_000,
        ..Config::default()
    };
    let mut a = assoc(1, cfg, now);
    let mut b = assoc(2, Config::default(), now);
    a.connect(now);
    exchange(&mut a, &mut b, now);
    events(&mut a);
    a.send(
        now,
        0,
        53,
        Bytes::from(vec![0; 6000]),
        SendOptions::default(),
    )
    .unwrap();
    a.send(
        now,
        1,
        53,
        Bytes::from(vec![0; 4000]),
        SendOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        a.send(now, 2, 53, Bytes::from(vec![0; 1]), SendOptions::default()),
        Err(Error::SendBufferFull { .. })
    ));
    assert_eq!(a.buffered_amount(0), 6000);
    assert_eq!(a.buffered_amount(1), 4000);
    exchange(&mut a, &mut b, now);
    for _ in 0..10 {
        let t = now + Duration::from_millis(50);
        a.handle_timeout(t);
        b.handle_timeout(t);
        exchange(&mut a, &mut b, t);
    }
    assert_eq!(a.buffered_amount_total(), 0);
    assert!(events(&mut a).contains(&Event::SendBufferLow));
    assert_eq!(
        events(&mut b)
            .iter()
            .filter(|e| matches!(e, Event::Message(_)))
            .count(),
        2
    );
    assert!(matches!(
        a.send(
            now,
            65535,
            53,
            Bytes::from_static(b"x"),
            SendOptions::default()
        ),
        Ok(()) | Err(Error::InvalidStream(_))
    ));
}

#[test]
fn peer_restart_is_detected() {
    let now = Instant::now();
    let (_a, mut b) = established(now);
    // The peer process restarts: a new association with a new tag and TSN.
    let mut a2 = assoc(77, Config::default(), now);
    a2.connect(now);
    exchange(&mut a2, &mut b, now);
    assert_eq!(a2.state(), State::Established);
    assert!(events(&mut b).contains(&Event::Restarted));
    a2.send(
        now,
        0,
        51,
        Bytes::from_static(b"after restart"),
        SendOptions::default(),
    )
    .unwrap();
    exchange(&mut a2, &mut b, now);
    assert!(events(&mut b)
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.payload == "after restart")));
}

#[test]
fn hostile_sack_for_unsent_tsn_aborts() {
    let now = Instant::now();
    let (mut a, b) = established(now);
    let vtag = a.local_verification_tag();
    let sack = Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: vtag,
        },
        chunks: vec![Chunk::Sack(ferrtc_sctp::chunk::SackChunk {
            cum_tsn_ack: 0x7fff_0000,
            a_rwnd: 1000,
            gap_blocks: vec![
                ferrtc_sctp::chunk::GapBlock {
                    start: 1,
                    end: 65535
                };
                300
            ],
            dup_tsns: vec![],
        })],
    };
    a.handle_receive(now, sack.to_bytes(false)).unwrap();
    // Either ignored as stale or a protocol violation; never a panic, never a hang.
    assert!(matches!(a.state(), State::Established | State::Closed));
    let _ = b;
}

#[test]
fn simultaneous_shutdown_closes_both() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"last"),
        SendOptions::default(),
    )
    .unwrap();
    a.shutdown(now);
    b.shutdown(now);
    let mut t = now;
    for _ in 0..20 {
        exchange(&mut a, &mut b, t);
        t += Duration::from_millis(100);
        a.handle_timeout(t);
        b.handle_timeout(t);
    }
    assert_eq!(a.state(), State::Closed);
    assert_eq!(b.state(), State::Closed);
    let eb = events(&mut b);
    assert!(eb
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.payload == "last")));
    assert!(eb.contains(&Event::Closed));
    assert!(events(&mut a).contains(&Event::Closed));
}
