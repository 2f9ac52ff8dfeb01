#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The W3C RTCDataChannel error table (webrtc-pc §6.2: createDataChannel, send(), close(),
//! bufferedAmount, "announcing a data channel as closed"): one test per row, each checking
//! the error and the exception name it maps to.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_datachannel::{
    ChannelConfig, ChannelError, ChannelInit, DataChannels, DtlsRole, Error, Event, ReadyState,
    W3cError,
};
use ferrtc_sctp::Config;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn dc(role: DtlsRole, seed: u64, sctp: Config, now: Instant) -> DataChannels {
    DataChannels::new(
        role,
        sctp,
        ChannelConfig::default(),
        now,
        &mut StdRng::seed_from_u64(seed),
    )
}

fn exchange(a: &mut DataChannels, b: &mut DataChannels, now: Instant) {
    for _ in 0..50 {
        let pa: Vec<Bytes> = std::iter::from_fn(|| a.poll_transmit()).collect();
        let pb: Vec<Bytes> = std::iter::from_fn(|| b.poll_transmit()).collect();
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

fn events(d: &mut DataChannels) -> Vec<Event> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn pair_with(sctp: Config, now: Instant) -> (DataChannels, DataChannels) {
    let mut a = dc(DtlsRole::Client, 1, sctp.clone(), now);
    let mut b = dc(DtlsRole::Server, 2, sctp, now);
    a.connect(now);
    b.connect(now);
    exchange(&mut a, &mut b, now);
    assert!(events(&mut a).contains(&Event::Connected));
    assert!(events(&mut b).contains(&Event::Connected));
    (a, b)
}

fn pair(now: Instant) -> (DataChannels, DataChannels) {
    pair_with(Config::default(), now)
}

fn open_channel(a: &mut DataChannels, b: &mut DataChannels, now: Instant) -> u16 {
    let id = a.create_channel(ChannelInit::default()).unwrap();
    exchange(a, b, now);
    assert_eq!(a.channel(id).unwrap().ready_state, ReadyState::Open);
    events(a);
    events(b);
    id
}

fn label(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn exception_names() {
    assert_eq!(W3cError::TypeError.name(), "TypeError");
    assert_eq!(W3cError::InvalidStateError.name(), "InvalidStateError");
    assert_eq!(W3cError::OperationError.name(), "OperationError");
}

/// send() step 3: readyState "connecting" → InvalidStateError.
#[test]
fn send_while_connecting_is_invalid_state() {
    let now = Instant::now();
    let mut a = dc(DtlsRole::Client, 1, Config::default(), now);
    let id = a.create_channel(ChannelInit::default()).unwrap();
    assert_eq!(a.channel(id).unwrap().ready_state, ReadyState::Connecting);
    let e = a.send_text(now, id, "too early").unwrap_err();
    assert_eq!(e, Error::NotOpen(id));
    assert_eq!(e.w3c(), W3cError::InvalidStateError);
    assert_eq!(a.buffered_amount(id), 0, "nothing queued");
}

/// send() step 3 for "closing" and "closed", and for an id that never existed.
#[test]
fn send_while_closing_or_closed_is_invalid_state() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    a.close(id).unwrap();
    assert_eq!(a.channel(id).unwrap().ready_state, ReadyState::Closing);
    let e = a.send_text(now, id, "x").unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::NotOpen(id), W3cError::InvalidStateError)
    );
    exchange(&mut a, &mut b, now);
    assert!(events(&mut a).contains(&Event::ChannelClosed(id)));
    let e = a
        .send_binary(now, id, Bytes::from_static(b"x"))
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::NotOpen(id), W3cError::InvalidStateError)
    );
    let e = a.send_text(now, 400, "x").unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::NoSuchChannel(400), W3cError::InvalidStateError)
    );
}

/// send() step 5: larger than maxMessageSize → TypeError; the limit is the remote's
/// a=max-message-size (RFC 8841 §6 defaults) capped by our own.
#[test]
fn message_larger_than_remote_max_message_size_is_type_error() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    let local = 256 * 1024;
    assert_eq!(a.max_message_size(), local, "remote unknown: our own limit");
    a.set_remote_max_message_size(Some(1000));
    assert_eq!(a.max_message_size(), 1000);
    a.send_binary(now, id, Bytes::from(vec![1; 1000])).unwrap();
    let e = a
        .send_binary(now, id, Bytes::from(vec![1; 1001]))
        .unwrap_err();
    assert_eq!(
        e,
        Error::MessageTooLarge {
            size: 1001,
            max: 1000
        }
    );
    assert_eq!(e.w3c(), W3cError::TypeError);
    let e = a.send_text(now, id, &label(1001)).unwrap_err();
    assert_eq!(e.w3c(), W3cError::TypeError);
    // No attribute in the remote SDP: 64 KiB.
    a.set_remote_max_message_size_from_sdp(None);
    assert_eq!(a.max_message_size(), 65536);
    a.send_binary(now, id, Bytes::from(vec![2; 65536])).unwrap();
    assert!(matches!(
        a.send_binary(now, id, Bytes::from(vec![2; 65537])),
        Err(Error::MessageTooLarge { .. })
    ));
    // 0: no remote limit, ours applies.
    a.set_remote_max_message_size_from_sdp(Some(0));
    assert_eq!(a.max_message_size(), local);
    let e = a
        .send_binary(now, id, Bytes::from(vec![3; local + 1]))
        .unwrap_err();
    assert_eq!(e.w3c(), W3cError::TypeError);
    // A larger remote limit does not lift ours.
    a.set_remote_max_message_size_from_sdp(Some(10 << 20));
    assert_eq!(a.max_message_size(), local);
    // What was accepted arrives.
    exchange(&mut a, &mut b, now);
    let sizes: Vec<usize> = events(&mut b)
        .iter()
        .filter_map(|e| match e {
            Event::Message { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![1000, 65536]);
}

/// The configured remote limit applies from the start.
#[test]
fn remote_max_message_size_from_config() {
    let now = Instant::now();
    let cfg = ChannelConfig {
        remote_max_message_size: Some(10),
        ..ChannelConfig::default()
    };
    let d = DataChannels::new(
        DtlsRole::Client,
        Config::default(),
        cfg,
        now,
        &mut StdRng::seed_from_u64(1),
    );
    assert_eq!(d.max_message_size(), 10);
}

/// createDataChannel steps 5 and 11: label or protocol over 65535 bytes → TypeError.
#[test]
fn long_label_or_protocol_is_type_error() {
    let now = Instant::now();
    let mut a = dc(DtlsRole::Client, 1, Config::default(), now);
    for init in [
        ChannelInit {
            label: label(65536),
            ..ChannelInit::default()
        },
        ChannelInit {
            protocol: label(65536),
            ..ChannelInit::default()
        },
    ] {
        let e = a.create_channel(init).unwrap_err();
        assert_eq!((e.clone(), e.w3c()), (Error::TooLong, W3cError::TypeError));
    }
    // Multi-byte UTF-8 counts in bytes: 21846 × 3 bytes > 65535.
    let e = a
        .create_channel(ChannelInit {
            label: "€".repeat(21846),
            ..ChannelInit::default()
        })
        .unwrap_err();
    assert_eq!(e, Error::TooLong);
    a.create_channel(ChannelInit {
        label: label(65535),
        protocol: label(65535),
        ..ChannelInit::default()
    })
    .unwrap();
}

/// createDataChannel step 15: maxRetransmits and maxPacketLifeTime together → TypeError.
#[test]
fn both_reliability_limits_is_type_error() {
    let now = Instant::now();
    let mut a = dc(DtlsRole::Client, 1, Config::default(), now);
    let e = a
        .create_channel(ChannelInit {
            max_retransmits: Some(1),
            max_packet_life_time: Some(100),
            ..ChannelInit::default()
        })
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::BothReliabilityLimits, W3cError::TypeError)
    );
    assert_eq!(a.channel_ids().count(), 0);
}

/// createDataChannel steps 13 and 14: negotiated without an id → TypeError; the id of a
/// channel negotiated in-band is ignored.
#[test]
fn negotiated_without_id_is_type_error() {
    let e = ChannelInit::negotiated_id(true, None).unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::NegotiatedWithoutId, W3cError::TypeError)
    );
    assert_eq!(ChannelInit::negotiated_id(true, Some(4)), Ok(Some(4)));
    assert_eq!(ChannelInit::negotiated_id(false, Some(4)), Ok(None));
    assert_eq!(ChannelInit::negotiated_id(false, None), Ok(None));
}

/// createDataChannel step 17: id 65535 → TypeError.
#[test]
fn id_65535_is_type_error() {
    let now = Instant::now();
    let mut a = dc(DtlsRole::Client, 1, Config::default(), now);
    let e = a
        .create_channel(ChannelInit {
            negotiated: Some(65535),
            ..ChannelInit::default()
        })
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::IdOutOfRange(65535), W3cError::TypeError)
    );
    a.create_channel(ChannelInit {
        negotiated: Some(65534),
        ..ChannelInit::default()
    })
    .unwrap();
}

/// createDataChannel step 18: an id already used by a channel → OperationError.
#[test]
fn id_in_use_is_operation_error() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    for d in [&mut a, &mut b] {
        let e = d
            .create_channel(ChannelInit {
                negotiated: Some(id),
                ..ChannelInit::default()
            })
            .unwrap_err();
        assert_eq!(
            (e.clone(), e.w3c()),
            (Error::IdUnavailable(id), W3cError::OperationError)
        );
    }
    // A closing channel still holds its id.
    a.close(id).unwrap();
    assert!(matches!(
        a.create_channel(ChannelInit {
            negotiated: Some(id),
            ..ChannelInit::default()
        }),
        Err(Error::IdUnavailable(_))
    ));
}

/// createDataChannel step 18: no id left → OperationError.
#[test]
fn no_free_id_is_operation_error() {
    let now = Instant::now();
    let mut a = DataChannels::new(
        DtlsRole::Client,
        Config::default(),
        ChannelConfig {
            max_channels: 2,
            ..ChannelConfig::default()
        },
        now,
        &mut StdRng::seed_from_u64(1),
    );
    a.create_channel(ChannelInit::default()).unwrap();
    a.create_channel(ChannelInit::default()).unwrap();
    let e = a.create_channel(ChannelInit::default()).unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (Error::NoFreeId, W3cError::OperationError)
    );
}

/// createDataChannel step 19 and the "RTCSctpTransport connected" procedure: ids not below
/// maxChannels (the association's stream count) fail with OperationError once connected, and
/// channels created earlier with such ids close with an error when it connects.
#[test]
fn id_beyond_max_channels() {
    let now = Instant::now();
    let small = Config {
        num_streams: 16,
        ..Config::default()
    };
    let mut a = dc(DtlsRole::Client, 1, small.clone(), now);
    let mut b = dc(DtlsRole::Server, 2, small, now);
    let early = a
        .create_channel(ChannelInit {
            negotiated: Some(20),
            ..ChannelInit::default()
        })
        .unwrap();
    a.connect(now);
    b.connect(now);
    exchange(&mut a, &mut b, now);
    let ev = events(&mut a);
    assert!(ev.contains(&Event::ChannelClosed(early)));
    assert!(!ev.contains(&Event::ChannelOpen {
        id: early,
        remote: false
    }));
    assert_eq!(
        a.close_error(early).map(|e| e.error_detail),
        Some("sctp-failure")
    );
    let e = a
        .create_channel(ChannelInit {
            negotiated: Some(16),
            ..ChannelInit::default()
        })
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.w3c()),
        (
            Error::IdBeyondMaxChannels { id: 16, max: 16 },
            W3cError::OperationError
        )
    );
    // Automatic ids stay below the limit: the client has 8 even ids (0..14).
    for _ in 0..8 {
        assert!(a.create_channel(ChannelInit::default()).unwrap() < 16);
    }
    assert_eq!(
        a.create_channel(ChannelInit::default()),
        Err(Error::NoFreeId)
    );
}

/// close() step 2: closing a closing or closed channel does nothing.
#[test]
fn closing_a_closed_channel_is_a_no_op() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    a.close(id).unwrap();
    a.close(id).unwrap();
    exchange(&mut a, &mut b, now);
    let ev = events(&mut a);
    assert_eq!(
        ev.iter()
            .filter(|e| **e == Event::ChannelClosing(id))
            .count(),
        1
    );
    assert_eq!(
        ev.iter()
            .filter(|e| **e == Event::ChannelClosed(id))
            .count(),
        1
    );
    assert!(events(&mut b).contains(&Event::ChannelClosed(id)));
    assert_eq!(a.close(id), Ok(()));
    assert_eq!(b.close(id), Ok(()), "the peer's view: closed too");
    exchange(&mut a, &mut b, now);
    assert!(events(&mut a).is_empty());
    assert!(events(&mut b).is_empty());
    assert!(a.close_error(id).is_none(), "a normal close has no error");
    // An id that never existed is still an error.
    assert_eq!(a.close(300), Err(Error::NoSuchChannel(300)));
}

/// bufferedAmount only grows through send() while open, and does not reset to zero when the
/// channel closes (W3C bufferedAmount attribute).
#[test]
fn buffered_amount_survives_close() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    // The peer is unreachable from now on: nothing is acknowledged.
    for _ in 0..10 {
        a.send_binary(now, id, Bytes::from(vec![9; 10_000]))
            .unwrap();
    }
    let _lost: Vec<Bytes> = std::iter::from_fn(|| a.poll_transmit()).collect();
    let queued = a.buffered_amount(id);
    assert!(queued > 50_000, "cwnd holds most of it back: {queued}");
    a.close(id).unwrap();
    assert_eq!(
        a.buffered_amount(id),
        queued,
        "close() does not drop queued data"
    );
    assert!(a.send_text(now, id, "after close").is_err());
    assert_eq!(
        a.buffered_amount(id),
        queued,
        "send() after close adds nothing"
    );
    // The association dies; the channel closes; bufferedAmount stays.
    let mut t = now;
    while a.association().state() != ferrtc_sctp::State::Closed {
        t += Duration::from_secs(1);
        a.handle_timeout(t);
        let _lost: Vec<Bytes> = std::iter::from_fn(|| a.poll_transmit()).collect();
        assert!(t < now + Duration::from_secs(600), "never gave up");
    }
    assert!(events(&mut a).contains(&Event::ChannelClosed(id)));
    assert_eq!(a.buffered_amount(id), queued);
    let _ = b;
}

/// "Announcing a data channel as closed" step 5: when the association is aborted, every
/// channel gets an error (sctp-failure, with the ABORT's cause code) and then closes.
#[test]
fn peer_abort_closes_every_channel_with_an_error() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let c1 = open_channel(&mut a, &mut b, now);
    let c2 = open_channel(&mut b, &mut a, now);
    let connecting = a
        .create_channel(ChannelInit {
            negotiated: Some(100),
            ..ChannelInit::default()
        })
        .unwrap();
    events(&mut a);
    b.association_mut().abort("going away");
    exchange(&mut a, &mut b, now);
    let ev = events(&mut a);
    let closed_at = |id| {
        ev.iter()
            .position(|e| *e == Event::ChannelClosed(id))
            .unwrap()
    };
    let end = ev
        .iter()
        .position(|e| matches!(e, Event::Closed { .. }))
        .unwrap();
    for id in [c1, c2, connecting] {
        assert!(closed_at(id) < end, "channels close before the transport");
        let err: &ChannelError = a.close_error(id).unwrap();
        assert_eq!(err.error_detail, "sctp-failure");
        assert_eq!(
            err.sctp_cause_code,
            Some(ferrtc_sctp::chunk::cause_code::USER_INITIATED_ABORT)
        );
    }
    assert_eq!(a.channel_ids().count(), 0);
    let e = a.send_text(now, c1, "x").unwrap_err();
    assert_eq!(e.w3c(), W3cError::InvalidStateError);
    assert_eq!(a.close(c1), Ok(()));
    // The aborting side's channels close with the same kind of error.
    let eb = events(&mut b);
    assert!(eb.contains(&Event::ChannelClosed(c1)));
    assert!(b.close_error(c1).is_some());
}

/// send() step 6: the send buffer is full → OperationError.
#[test]
fn full_send_buffer_is_operation_error() {
    let now = Instant::now();
    let cfg = Config {
        send_buffer_size: 20_000,
        send_buffer_low_water: 1000,
        ..Config::default()
    };
    let (mut a, mut b) = pair_with(cfg, now);
    let id = open_channel(&mut a, &mut b, now);
    a.send_binary(now, id, Bytes::from(vec![0; 15_000]))
        .unwrap();
    let e = a
        .send_binary(now, id, Bytes::from(vec![0; 15_000]))
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Sctp(ferrtc_sctp::Error::SendBufferFull { .. })
    ));
    assert_eq!(e.w3c(), W3cError::OperationError);
}

/// bufferedAmount counts application data only: the DCEP OPEN (or ACK) queued on the same
/// stream is not part of it.
#[test]
fn buffered_amount_excludes_dcep() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = a.create_channel(ChannelInit::default()).unwrap();
    assert!(a.association().buffered_amount(id) > 0, "DCEP OPEN queued");
    assert_eq!(a.buffered_amount(id), 0);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.buffered_amount(id), 0);
    // The peer's ACK is queued on its side of the stream, not counted either.
    let id2 = b.create_channel(ChannelInit::default()).unwrap();
    let _open: Vec<Bytes> = std::iter::from_fn(|| b.poll_transmit()).collect();
    for p in _open {
        a.handle_receive(now, p).unwrap();
    }
    assert!(a.association().buffered_amount(id2) > 0, "DCEP ACK queued");
    assert_eq!(a.buffered_amount(id2), 0);
    a.send_binary(now, id2, Bytes::from(vec![1; 100])).unwrap();
    assert_eq!(a.buffered_amount(id2), 100);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.buffered_amount(id2), 0);
}

/// The peer restarted (RFC 9260 §5.2.4 A): its channels are gone, so ours close with an
/// error; new channels work on the restarted association.
#[test]
fn peer_restart_closes_open_channels_with_an_error() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now);
    let id = open_channel(&mut a, &mut b, now);
    drop(b);
    // The peer process comes back with a fresh association, same DTLS role.
    let mut b2 = dc(DtlsRole::Server, 7, Config::default(), now);
    b2.connect(now);
    exchange(&mut a, &mut b2, now);
    let ev = events(&mut a);
    assert!(ev.contains(&Event::ChannelClosed(id)), "{ev:?}");
    let err = a.close_error(id).unwrap();
    assert_eq!(err.error_detail, "sctp-failure");
    assert!(events(&mut b2).contains(&Event::Connected));
    let id2 = open_channel(&mut a, &mut b2, now);
    a.send_text(now, id2, "again").unwrap();
    exchange(&mut a, &mut b2, now);
    assert!(events(&mut b2)
        .iter()
        .any(|e| matches!(e, Event::Message { id, data, .. } if *id == id2 && data == "again")));
}
