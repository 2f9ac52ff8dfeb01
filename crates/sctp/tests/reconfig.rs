#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! RE-CONFIG (RFC 6525): adding streams (§5.1.5, §5.1.6, §5.2.5, §5.2.6), result codes,
//! retransmitted and out-of-sequence requests, and DATA on streams that do not exist.

use std::time::Instant;

use bytes::Bytes;
use ferrtc_sctp::chunk::{cause_code, Chunk};
use ferrtc_sctp::packet::finish_checksum;
use ferrtc_sctp::param::{reconfig_result, ReconfigParam};
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

fn chunks(p: &Bytes) -> Vec<Chunk> {
    Packet::parse(p.clone(), ChecksumMode::ZeroAllowed)
        .unwrap()
        .chunks
}

fn pair(now: Instant, ca: Config, cb: Config) -> (Association, Association) {
    let mut a = assoc(1, ca, now);
    let mut b = assoc(2, cb, now);
    a.connect(now);
    b.connect(now);
    exchange(&mut a, &mut b, now);
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    events(&mut a);
    events(&mut b);
    (a, b)
}

fn streams(n: u16) -> Config {
    Config {
        num_streams: n,
        ..Config::default()
    }
}

fn send(a: &mut Association, now: Instant, stream: u16) -> Result<(), Error> {
    a.send(
        now,
        stream,
        53,
        Bytes::from(vec![stream as u8; 10]),
        SendOptions::default(),
    )
}

/// The RE-CONFIG responses in `packets`: (sequence number, result).
fn responses(packets: &[Bytes]) -> Vec<(u32, u32)> {
    packets
        .iter()
        .flat_map(chunks)
        .filter_map(|c| match c {
            Chunk::ReConfig { params } => Some(params),
            _ => None,
        })
        .flatten()
        .filter_map(|p| match p {
            ReconfigParam::Response {
                response_seq,
                result,
                ..
            } => Some((response_seq, result)),
            _ => None,
        })
        .collect()
}

#[test]
fn streams_are_added_in_both_directions() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now, streams(4), streams(4));
    assert_eq!((a.outbound_streams(), a.inbound_streams()), (4, 4));
    assert!(matches!(send(&mut a, now, 4), Err(Error::InvalidStream(4))));
    // 2 more for a to send on, 3 more for b to send on (b adds them with its own request).
    a.add_streams(2, 3).unwrap();
    exchange(&mut a, &mut b, now);
    assert_eq!((a.outbound_streams(), a.inbound_streams()), (6, 7));
    assert_eq!((b.outbound_streams(), b.inbound_streams()), (7, 6));
    let ea = events(&mut a);
    assert!(ea.contains(&Event::StreamsAdded {
        outgoing: 6,
        incoming: 4
    }));
    assert!(ea.contains(&Event::StreamsAdded {
        outgoing: 6,
        incoming: 7
    }));
    let eb = events(&mut b);
    assert!(eb.contains(&Event::StreamsAdded {
        outgoing: 4,
        incoming: 6
    }));
    assert!(eb.contains(&Event::StreamsAdded {
        outgoing: 7,
        incoming: 6
    }));
    // The new streams carry data, starting at SSN 0.
    send(&mut a, now, 5).unwrap();
    send(&mut b, now, 6).unwrap();
    assert!(matches!(send(&mut a, now, 6), Err(Error::InvalidStream(6))));
    exchange(&mut a, &mut b, now);
    assert!(events(&mut b)
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.stream_id == 5)));
    assert!(events(&mut a)
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.stream_id == 6)));
}

#[test]
fn adds_beyond_the_configured_limit_are_denied() {
    let now = Instant::now();
    let limited = Config {
        num_streams: 4,
        max_streams: 5,
        ..Config::default()
    };
    let (mut a, mut b) = pair(now, streams(4), limited);
    // §5.2.5: b would get 6 incoming streams, more than its limit of 5.
    a.add_streams(2, 0).unwrap();
    let out = {
        let mut v = Vec::new();
        for p in drain(&mut a) {
            b.handle_receive(now, p).unwrap();
        }
        v.extend(drain(&mut b));
        v
    };
    assert!(responses(&out)
        .iter()
        .any(|(_, r)| *r == reconfig_result::DENIED));
    for p in out {
        a.handle_receive(now, p).unwrap();
    }
    assert!(events(&mut a).contains(&Event::AddStreamsDenied {
        outgoing: 2,
        incoming: 0
    }));
    assert_eq!(a.outbound_streams(), 4);
    assert_eq!(b.inbound_streams(), 4);
    // §5.2.6: asking b to add 2 outgoing streams is denied the same way.
    a.add_streams(0, 2).unwrap();
    exchange(&mut a, &mut b, now);
    assert!(events(&mut a).contains(&Event::AddStreamsDenied {
        outgoing: 0,
        incoming: 2
    }));
    assert_eq!(b.outbound_streams(), 4);
    // Within the limit it works.
    a.add_streams(1, 0).unwrap();
    exchange(&mut a, &mut b, now);
    assert_eq!(a.outbound_streams(), 5);
    assert_eq!(b.inbound_streams(), 5);
}

#[test]
fn add_streams_needs_an_association_and_stays_in_range() {
    let now = Instant::now();
    let mut a = assoc(1, Config::default(), now);
    assert_eq!(a.add_streams(1, 0), Err(Error::NotEstablished));
    let (mut a, _b) = pair(now, Config::default(), Config::default());
    assert!(matches!(a.add_streams(1, 0), Err(Error::Reset(_))));
    assert!(matches!(a.add_streams(0, 1), Err(Error::Reset(_))));
}

/// A retransmitted request gets the answer it got the first time (§5.2.1); a request with an
/// unexpected sequence number gets "Error: Bad Sequence Number" and changes nothing.
#[test]
fn retransmitted_and_out_of_sequence_requests() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now, streams(4), streams(4));
    a.add_streams(2, 0).unwrap();
    let req = drain(&mut a);
    let (seq, vtag) = {
        let p = Packet::parse(req[0].clone(), ChecksumMode::ZeroAllowed).unwrap();
        let seq = p
            .chunks
            .iter()
            .find_map(|c| match c {
                Chunk::ReConfig { params } => params.iter().find_map(|x| match x {
                    ReconfigParam::AddOutgoingStreams { request_seq, .. } => Some(*request_seq),
                    _ => None,
                }),
                _ => None,
            })
            .unwrap();
        (seq, p.header.verification_tag)
    };
    for p in req.clone() {
        b.handle_receive(now, p).unwrap();
    }
    let first = responses(&drain(&mut b));
    assert_eq!(first, vec![(seq, reconfig_result::SUCCESS_PERFORMED)]);
    for p in req {
        b.handle_receive(now, p).unwrap();
    }
    assert_eq!(responses(&drain(&mut b)), first);
    assert_eq!(b.inbound_streams(), 6, "not added twice");
    // Far ahead of the expected sequence number.
    let bogus = Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: vtag,
        },
        chunks: vec![Chunk::ReConfig {
            params: vec![ReconfigParam::AddOutgoingStreams {
                request_seq: seq.wrapping_add(1000),
                new_streams: 1,
            }],
        }],
    };
    b.handle_receive(now, bogus.to_bytes(false)).unwrap();
    assert_eq!(
        responses(&drain(&mut b)),
        vec![(
            seq.wrapping_add(1000),
            reconfig_result::ERROR_BAD_SEQUENCE_NUMBER
        )]
    );
    assert_eq!(b.inbound_streams(), 6);
}

/// DATA on a stream the peer may not use (RFC 9260 §6.5): acknowledged, not delivered, and
/// reported with an "Invalid Stream Identifier" error.
#[test]
fn data_on_a_stream_that_does_not_exist_is_reported() {
    let now = Instant::now();
    let (mut a, mut b) = pair(now, streams(4), streams(4));
    send(&mut a, now, 1).unwrap();
    let p = drain(&mut a).pop().unwrap();
    let tsn = match &chunks(&p)[0] {
        Chunk::Data(d) => d.tsn,
        c => panic!("{c:?}"),
    };
    // Rewrite the stream identifier (common header 12 + chunk header 4 + TSN 4).
    let mut v = p.to_vec();
    v[20..22].copy_from_slice(&9u16.to_be_bytes());
    finish_checksum(&mut v, false);
    b.handle_receive(now, Bytes::from(v)).unwrap();
    assert!(events(&mut b).is_empty());
    let mut reply: Vec<Chunk> = drain(&mut b).iter().flat_map(chunks).collect();
    b.handle_timeout(now + std::time::Duration::from_millis(100)); // delayed SACK
    reply.extend(drain(&mut b).iter().flat_map(chunks));
    assert!(reply.iter().any(|c| matches!(c, Chunk::Error { causes }
        if causes[0].code == cause_code::INVALID_STREAM_IDENTIFIER && causes[0].info[..2] == 9u16.to_be_bytes())));
    assert!(reply
        .iter()
        .any(|c| matches!(c, Chunk::Sack(s) if s.cum_tsn_ack == tsn)));
}
