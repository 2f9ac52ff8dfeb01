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
    // 0xff: skip and report (100 ms after the last report: one ERROR per 100 ms at most).
    b.handle_receive(now + Duration::from_millis(100), mk(0xff))
        .unwrap();
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

/// RFC 9260 §12.4: "An SCTP implementation MUST abort the association if it receives a
/// SACK chunk acknowledging a TSN that has not been sent." `a` has sent TSN t0 only; a SACK
/// acknowledging t0 + 1000 aborts it with a Protocol Violation, and the peer learns it.
#[test]
fn hostile_sack_for_unsent_tsn_aborts() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let (t0, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    drain(&mut b);
    let sack = |cum: u32, a: &Association| {
        Packet {
            header: CommonHeader {
                src_port: 5000,
                dst_port: 5000,
                verification_tag: a.local_verification_tag(),
            },
            chunks: vec![Chunk::Sack(ferrtc_sctp::chunk::SackChunk {
                cum_tsn_ack: cum,
                a_rwnd: 100_000,
                gap_blocks: vec![
                    ferrtc_sctp::chunk::GapBlock {
                        start: 1,
                        end: 65535
                    };
                    300
                ],
                dup_tsns: vec![],
            })],
        }
        .to_bytes(false)
    };
    // Acknowledging exactly what was sent is fine.
    a.handle_receive(now, sack(t0, &a)).unwrap();
    assert_eq!(a.state(), State::Established);
    a.handle_receive(now, sack(t0.wrapping_add(1000), &a))
        .unwrap();
    assert_eq!(a.state(), State::Closed);
    assert_eq!(a.abort_cause(), Some(cause_code::PROTOCOL_VIOLATION));
    assert!(events(&mut a)
        .iter()
        .any(|e| matches!(e, Event::Aborted { .. })));
    let out = drain(&mut a);
    let aborts = abort_causes(&out);
    assert_eq!(aborts.len(), 1);
    assert_eq!(aborts[0].0, b.local_verification_tag());
    for p in out {
        b.handle_receive(now, p).unwrap();
    }
    assert_eq!(b.state(), State::Closed);
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

// ---------------------------------------------------------------- issue 15 regressions

/// A packet from `a`'s side to `b`, addressed with `b`'s tag.
fn to_b(b: &Association, chunks: Vec<Chunk>) -> Bytes {
    Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: b.local_verification_tag(),
        },
        chunks,
    }
    .to_bytes(false)
}

/// The TSN of the next DATA chunk `a` sends: sends one message and returns (its TSN, packet).
fn next_tsn_of(a: &mut Association, now: Instant) -> (u32, Bytes) {
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"probe"),
        SendOptions::default(),
    )
    .unwrap();
    let p = drain(a).pop().unwrap();
    let tsn = parse(&p)
        .chunks
        .iter()
        .find_map(|c| match c {
            Chunk::Data(d) => Some(d.tsn),
            Chunk::IData(d) => Some(d.tsn),
            _ => None,
        })
        .unwrap();
    (tsn, p)
}

fn data(tsn: u32, ssn: u16, b: bool, e: bool, payload: &'static [u8]) -> Chunk {
    Chunk::Data(ferrtc_sctp::chunk::DataChunk {
        tsn,
        stream_id: 0,
        ssn,
        ppid: 51,
        unordered: false,
        beginning: b,
        ending: e,
        immediate: false,
        payload: Bytes::from_static(payload),
    })
}

fn messages(evs: &[Event]) -> Vec<Bytes> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.payload.clone()),
            _ => None,
        })
        .collect()
}

fn abort_causes(packets: &[Bytes]) -> Vec<(u32, ferrtc_sctp::chunk::ErrorCause)> {
    packets
        .iter()
        .flat_map(|p| {
            let p = parse(p);
            let vtag = p.header.verification_tag;
            p.chunks.into_iter().filter_map(move |c| match c {
                Chunk::Abort { causes, .. } => Some((vtag, causes[0].clone())),
                _ => None,
            })
        })
        .collect()
}

/// RFC 9260 §6.2: "If an endpoint receives a DATA chunk with no user data (i.e., the Length
/// field is set to 16), it SHOULD send an ABORT chunk with a 'No User Data' error cause";
/// §3.3.10.9: the cause (code 9, length 8) carries "the TSN of the DATA chunk received with
/// no User Data field".
#[test]
fn data_without_user_data_aborts_with_no_user_data_naming_its_tsn() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let (tsn, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    let empty = data(tsn.wrapping_add(1), 1, true, true, b"");
    let raw = to_b(&b, vec![empty]);
    // On the wire the chunk's Length field is 16.
    assert_eq!(&raw[12 + 2..12 + 4], &16u16.to_be_bytes());
    b.handle_receive(now, raw).unwrap();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.abort_cause(), Some(cause_code::NO_USER_DATA));
    assert!(events(&mut b)
        .iter()
        .any(|e| matches!(e, Event::Aborted { .. })));
    let out = drain(&mut b);
    let aborts = abort_causes(&out);
    assert_eq!(aborts.len(), 1, "exactly one ABORT");
    let (vtag, cause) = &aborts[0];
    assert_eq!(*vtag, a.local_verification_tag());
    assert_eq!(cause.code, 9);
    assert_eq!(&cause.info[..], &tsn.wrapping_add(1).to_be_bytes());
    // Cause Length = 8 on the wire: code, length, TSN.
    for p in &out {
        a.handle_receive(now, p.clone()).unwrap();
    }
    assert_eq!(a.state(), State::Closed);
    assert_eq!(a.abort_cause(), Some(9));
}

/// RFC 8260 §2.1 keeps DATA's rules for I-DATA: an I-DATA chunk without user data (Length
/// 20) gets the same ABORT.
#[test]
fn idata_without_user_data_aborts_with_no_user_data() {
    let now = Instant::now();
    let cfg = Config {
        enable_idata: true,
        ..Config::default()
    };
    let mut a = assoc(1, cfg.clone(), now);
    let mut b = assoc(2, cfg, now);
    a.connect(now);
    exchange(&mut a, &mut b, now);
    assert!(a.idata_negotiated() && b.idata_negotiated());
    let (tsn, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    let empty = Chunk::IData(ferrtc_sctp::chunk::IDataChunk {
        tsn: tsn.wrapping_add(1),
        stream_id: 0,
        mid: 1,
        ppid_or_fsn: 51,
        unordered: false,
        beginning: true,
        ending: true,
        immediate: false,
        payload: Bytes::new(),
    });
    b.handle_receive(now, to_b(&b, vec![empty])).unwrap();
    assert_eq!(b.state(), State::Closed);
    let aborts = abort_causes(&drain(&mut b));
    assert_eq!(aborts.len(), 1);
    assert_eq!(aborts[0].1.code, cause_code::NO_USER_DATA);
    assert_eq!(&aborts[0].1.info[..], &tsn.wrapping_add(1).to_be_bytes());
}

fn unknown(t: u8, n: u8) -> Chunk {
    Chunk::Unknown {
        chunk_type: t,
        flags: n,
        value: Bytes::from(vec![n; 4]),
    }
}

fn error_chunks(packets: &[Bytes]) -> Vec<Vec<ferrtc_sctp::chunk::ErrorCause>> {
    packets
        .iter()
        .flat_map(|p| {
            parse(p).chunks.into_iter().filter_map(|c| match c {
                Chunk::Error { causes } => Some(causes),
                _ => None,
            })
        })
        .collect()
}

/// RFC 9260 §3.2: chunk types with upper bits 11 are skipped "but report[ed] in an ERROR
/// chunk using the 'Unrecognized Chunk Type' error cause", and §12.4 forbids answering one
/// packet with more than one packet of control chunks. A packet of 40 such chunks gets one
/// ERROR chunk (all 40 causes fit in it here), and the next packet within 100 ms gets none
/// (the limit: one such ERROR per 100 ms). Data still flows.
#[test]
fn many_unrecognized_chunks_get_one_rate_limited_error() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let chunks: Vec<Chunk> = (0..40).map(|i| unknown(0xC5, i)).collect();
    b.handle_receive(now, to_b(&b, chunks.clone())).unwrap();
    let errs = error_chunks(&drain(&mut b));
    assert_eq!(errs.len(), 1, "one ERROR chunk for the packet");
    assert_eq!(errs[0].len(), 40);
    for (i, c) in errs[0].iter().enumerate() {
        assert_eq!(c.code, cause_code::UNRECOGNIZED_CHUNK_TYPE);
        // The whole chunk: type, flags, length 8, value.
        assert_eq!(&c.info[..4], &[0xC5, i as u8, 0, 8]);
    }
    // Another such packet 10 ms later: not reported.
    let t = now + Duration::from_millis(10);
    b.handle_receive(t, to_b(&b, chunks.clone())).unwrap();
    assert!(error_chunks(&drain(&mut b)).is_empty());
    assert_eq!(b.stats().errors_not_reported, 1);
    // 100 ms after the first report, reports resume.
    let t = now + Duration::from_millis(100);
    b.handle_receive(t, to_b(&b, chunks)).unwrap();
    assert_eq!(error_chunks(&drain(&mut b)).len(), 1);
    assert_eq!(b.state(), State::Established);
    a.send(
        t,
        0,
        51,
        Bytes::from_static(b"still"),
        SendOptions::default(),
    )
    .unwrap();
    exchange(&mut a, &mut b, t);
    assert_eq!(
        messages(&events(&mut b)),
        vec![Bytes::from_static(b"still")]
    );
}

/// The report of one packet is bounded: 250 reportable chunks with 4-byte values (12 bytes
/// of cause each) produce one ERROR chunk no larger than half a packet, not 250 chunks.
#[test]
fn unrecognized_chunk_report_is_bounded_by_packet_size() {
    let now = Instant::now();
    let (_a, mut b) = established(now);
    let chunks: Vec<Chunk> = (0..250).map(|i| unknown(0xC5, i as u8)).collect();
    let raw = to_b(&b, chunks);
    assert!(raw.len() > 2000);
    b.handle_receive(now, raw).unwrap();
    let out = drain(&mut b);
    let errs = error_chunks(&out);
    assert_eq!(errs.len(), 1);
    let bytes: usize = errs[0].iter().map(|c| 4 + c.info.len()).sum();
    assert!(bytes <= Config::default().max_packet_size / 2, "{bytes}");
    assert!(errs[0].len() < 250);
    assert!(out
        .iter()
        .all(|p| p.len() <= Config::default().max_packet_size));
}

/// Upper bits 01: "Stop processing this SCTP packet [...] and report the unrecognized chunk":
/// the DATA after it is not processed, and one cause is reported.
#[test]
fn stop_and_report_chunk_reports_once_and_discards_the_rest() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let (tsn, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    events(&mut b);
    let raw = to_b(
        &b,
        vec![
            unknown(0x45, 1),
            unknown(0x45, 2),
            data(tsn.wrapping_add(1), 1, true, true, b"dropped"),
        ],
    );
    b.handle_receive(now, raw).unwrap();
    let errs = error_chunks(&drain(&mut b));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].len(), 1);
    assert_eq!(errs[0][0].info[0], 0x45);
    assert!(messages(&events(&mut b)).is_empty());
}

/// RFC 3758 §3.6 (reading explained at `on_forward_tsn`): the sender abandoned SSN 1 after
/// sending two of its fragments (B, middle), so its FORWARD-TSN carries New Cumulative TSN
/// equal to the receiver's cumulative TSN and the entry (stream 0, SSN 1). The receiver must
/// keep its cumulative TSN, drop the partial message and let SSN 2 through.
#[test]
fn forward_tsn_at_cumulative_tsn_still_releases_the_stream() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let (t0, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    assert_eq!(messages(&events(&mut b)).len(), 1);
    // SSN 1: first two fragments only (TSN t0+1, t0+2): b's cumulative TSN is t0+2.
    b.handle_receive(
        now,
        to_b(
            &b,
            vec![
                data(t0.wrapping_add(1), 1, true, false, b"part-1"),
                data(t0.wrapping_add(2), 1, false, false, b"part-2"),
            ],
        ),
    )
    .unwrap();
    let fwd = Chunk::ForwardTsn {
        new_cum_tsn: t0.wrapping_add(2),
        streams: vec![ferrtc_sctp::chunk::ForwardTsnStream {
            stream_id: 0,
            ssn: 1,
        }],
    };
    b.handle_receive(now, to_b(&b, vec![fwd])).unwrap();
    assert!(messages(&events(&mut b)).is_empty());
    assert_eq!(b.stats().partial_messages_skipped, 1);
    // The SACK says the cumulative TSN stayed at t0+2.
    let sacks: Vec<u32> = drain(&mut b)
        .iter()
        .flat_map(|p| parse(p).chunks)
        .filter_map(|c| match c {
            Chunk::Sack(s) => Some(s.cum_tsn_ack),
            _ => None,
        })
        .collect();
    assert_eq!(
        sacks,
        vec![t0.wrapping_add(2)],
        "SACK at once, cum TSN kept"
    );
    b.handle_receive(
        now,
        to_b(&b, vec![data(t0.wrapping_add(3), 2, true, true, b"next")]),
    )
    .unwrap();
    assert_eq!(messages(&events(&mut b)), vec![Bytes::from_static(b"next")]);
}

/// Same, with the next message already waiting when the FORWARD-TSN arrives: it is
/// delivered by the FORWARD-TSN. A FORWARD-TSN strictly behind the cumulative TSN changes
/// nothing.
#[test]
fn forward_tsn_at_cumulative_tsn_delivers_waiting_message() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    let (t0, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    events(&mut b);
    b.handle_receive(
        now,
        to_b(
            &b,
            vec![
                data(t0.wrapping_add(1), 1, true, false, b"part-1"),
                data(t0.wrapping_add(2), 1, false, false, b"part-2"),
                data(t0.wrapping_add(3), 2, true, true, b"waiting"),
            ],
        ),
    )
    .unwrap();
    assert!(messages(&events(&mut b)).is_empty());
    let fwd = |cum: u32, ssn: u16| Chunk::ForwardTsn {
        new_cum_tsn: cum,
        streams: vec![ferrtc_sctp::chunk::ForwardTsnStream { stream_id: 0, ssn }],
    };
    // Behind (t0+1 < t0+3): out of date.
    b.handle_receive(now, to_b(&b, vec![fwd(t0.wrapping_add(1), 1)]))
        .unwrap();
    assert!(messages(&events(&mut b)).is_empty());
    // At t0+3 (the cumulative TSN): releases SSN 2.
    b.handle_receive(now, to_b(&b, vec![fwd(t0.wrapping_add(3), 1)]))
        .unwrap();
    assert_eq!(
        messages(&events(&mut b)),
        vec![Bytes::from_static(b"waiting")]
    );
}

/// The INIT of a fresh peer with its last parameter (Supported Extensions, Length 12) running
/// 4 bytes past the end of the chunk.
fn init_with_straddling_param(tag: u32, os: u16, mis: u16) -> Bytes {
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&tag.to_be_bytes());
    chunk.extend_from_slice(&131_072u32.to_be_bytes());
    chunk.extend_from_slice(&os.to_be_bytes());
    chunk.extend_from_slice(&mis.to_be_bytes());
    chunk.extend_from_slice(&1000u32.to_be_bytes());
    // Forward-TSN-Supported, well formed.
    chunk.extend_from_slice(&[0xC0, 0x00, 0x00, 0x04]);
    // Supported Extensions claiming 12 bytes with only 8 present.
    chunk.extend_from_slice(&[0x80, 0x08, 0x00, 0x0C, 0xC0, 0x82, 0x00, 0x00]);
    let mut p = vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0];
    p.push(1); // INIT
    p.push(0);
    p.extend_from_slice(&((4 + chunk.len()) as u16).to_be_bytes());
    p.extend_from_slice(&chunk);
    finish_checksum(&mut p, false);
    Bytes::from(p)
}

/// RFC 9260 §5.1: an endpoint that "decides not to establish the new association due to
/// [...] invalid parameter values [...] SHOULD respond with an ABORT chunk", with an error
/// cause, the Verification Tag "set to the Initiate Tag value of the received INIT".
#[test]
fn init_with_parameter_past_chunk_end_is_answered_with_abort() {
    let now = Instant::now();
    let mut b = assoc(2, Config::default(), now);
    let err = b
        .handle_receive(now, init_with_straddling_param(0xABCD_0001, 16, 16))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidLength { .. }), "{err:?}");
    let out = drain(&mut b);
    assert_eq!(out.len(), 1);
    let p = parse(&out[0]);
    assert_eq!(p.header.verification_tag, 0xABCD_0001);
    assert!(matches!(
        &p.chunks[..],
        [Chunk::Abort { reflected_tag: false, causes }] if causes[0].code == cause_code::PROTOCOL_VIOLATION
    ));
    assert_eq!(b.state(), State::Closed);
    assert!(events(&mut b).is_empty());
}

/// §3.3.2: OS (or MIS) 0: "MUST discard the packet, SHOULD send [...] an ABORT chunk and
/// using the Initiate Tag as the Verification Tag, and MUST NOT change the state of any
/// existing association". An Initiate Tag of 0: "MUST silently discard".
#[test]
fn malformed_init_leaves_an_existing_association_alone() {
    let now = Instant::now();
    let (mut a, mut b) = established(now);
    b.handle_receive(now, init_with_straddling_param(0x0BAD_0002, 0, 16))
        .unwrap_err();
    let out = drain(&mut b);
    assert_eq!(out.len(), 1);
    let p = parse(&out[0]);
    assert_eq!(p.header.verification_tag, 0x0BAD_0002);
    assert!(matches!(
        &p.chunks[..],
        [Chunk::Abort { causes, .. }] if causes[0].code == cause_code::INVALID_MANDATORY_PARAMETER
    ));
    b.handle_receive(now, init_with_straddling_param(0, 16, 16))
        .unwrap_err();
    assert!(drain(&mut b).is_empty(), "tag 0: silently discarded");
    assert_eq!(b.state(), State::Established);
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"alive"),
        SendOptions::default(),
    )
    .unwrap();
    exchange(&mut a, &mut b, now);
    assert!(messages(&events(&mut b)).contains(&Bytes::from_static(b"alive")));
}

/// The I-DATA form of the same case (RFC 8260 §2.3.2 keeps RFC 3758 §3.6's receiver rules):
/// MID 1 abandoned after two fragments; an I-FORWARD-TSN at the cumulative TSN naming
/// (stream 0, ordered, MID 1) drops them and lets MID 2 through.
#[test]
fn i_forward_tsn_at_cumulative_tsn_releases_the_stream() {
    let now = Instant::now();
    let cfg = Config {
        enable_idata: true,
        ..Config::default()
    };
    let mut a = assoc(1, cfg.clone(), now);
    let mut b = assoc(2, cfg, now);
    a.connect(now);
    exchange(&mut a, &mut b, now);
    assert!(b.idata_negotiated());
    let (t0, p) = next_tsn_of(&mut a, now);
    b.handle_receive(now, p).unwrap();
    assert_eq!(messages(&events(&mut b)).len(), 1);
    let idata =
        |tsn: u32, mid: u32, fsn_or_ppid: u32, first: bool, last: bool, body: &'static [u8]| {
            Chunk::IData(ferrtc_sctp::chunk::IDataChunk {
                tsn,
                stream_id: 0,
                mid,
                ppid_or_fsn: fsn_or_ppid,
                unordered: false,
                beginning: first,
                ending: last,
                immediate: false,
                payload: Bytes::from_static(body),
            })
        };
    b.handle_receive(
        now,
        to_b(
            &b,
            vec![
                idata(t0.wrapping_add(1), 1, 51, true, false, b"part-1"),
                idata(t0.wrapping_add(2), 1, 1, false, false, b"part-2"),
            ],
        ),
    )
    .unwrap();
    let fwd = Chunk::IForwardTsn {
        new_cum_tsn: t0.wrapping_add(2),
        streams: vec![ferrtc_sctp::chunk::IForwardTsnStream {
            stream_id: 0,
            unordered: false,
            mid: 1,
        }],
    };
    b.handle_receive(now, to_b(&b, vec![fwd])).unwrap();
    assert_eq!(b.stats().partial_messages_skipped, 1);
    b.handle_receive(
        now,
        to_b(
            &b,
            vec![idata(t0.wrapping_add(3), 2, 51, true, true, b"next")],
        ),
    )
    .unwrap();
    assert_eq!(messages(&events(&mut b)), vec![Bytes::from_static(b"next")]);
    assert_eq!(b.received_bytes_buffered(), 0);
}
