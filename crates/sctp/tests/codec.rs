#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Wire codec: CRC32c vectors, round trips, truncation, never-panic.

use bytes::Bytes;
use ferrtc_sctp::chunk::*;
use ferrtc_sctp::packet::{finish_checksum, packet_crc32c, verify_checksum};
use ferrtc_sctp::param::{Param, ReconfigParam};
use ferrtc_sctp::{ChecksumMode, CommonHeader, Error, Packet};
use proptest::prelude::*;

#[test]
fn crc32c_vectors_rfc3720() {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/crc32c_sctp.json")).unwrap();
    let vectors = json["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let data = hex::decode(v["data_hex"].as_str().unwrap()).unwrap();
        let want = u32::from_str_radix(v["crc32c_value_uint32_hex"].as_str().unwrap(), 16).unwrap();
        assert_eq!(crc32c::crc32c(&data), want, "{}", v["description"]);
        // Wire order: least significant byte first.
        let wire = hex::decode(v["crc_bytes_as_listed_hex"].as_str().unwrap()).unwrap();
        assert_eq!(want.to_le_bytes().to_vec(), wire);
    }
    let check = &json["extra_check_value"];
    let want = u32::from_str_radix(check["expected_hex"].as_str().unwrap(), 16).unwrap();
    assert_eq!(
        crc32c::crc32c(check["ascii"].as_str().unwrap().as_bytes()),
        want
    );
}

#[test]
fn packet_checksum_covers_zeroed_field() {
    // A packet whose checksum field holds garbage: the CRC is computed as if it were zero.
    let mut pkt = vec![
        0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 11, 0, 0, 4,
    ];
    let mut zeroed = pkt.clone();
    zeroed[8..12].fill(0);
    assert_eq!(packet_crc32c(&pkt), crc32c::crc32c(&zeroed));
    finish_checksum(&mut pkt, false);
    assert_eq!(&pkt[8..12], &crc32c::crc32c(&zeroed).to_le_bytes());
    verify_checksum(&pkt, ChecksumMode::Crc32c).unwrap();
    pkt[15] ^= 1;
    assert!(matches!(
        verify_checksum(&pkt, ChecksumMode::Crc32c),
        Err(Error::BadChecksum { .. })
    ));
}

#[test]
fn zero_checksum_only_when_allowed() {
    let p = Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: 7,
        },
        chunks: vec![Chunk::CookieAck],
    };
    let z = p.to_bytes(true);
    assert_eq!(&z[8..12], &[0, 0, 0, 0]);
    assert_eq!(
        Packet::parse(z.clone(), ChecksumMode::ZeroAllowed).unwrap(),
        p
    );
    assert!(matches!(
        Packet::parse(z, ChecksumMode::Crc32c),
        Err(Error::BadChecksum { .. })
    ));
    let c = p.to_bytes(false);
    assert_eq!(
        Packet::parse(c.clone(), ChecksumMode::ZeroAllowed).unwrap(),
        p
    );
    assert_eq!(Packet::parse(c, ChecksumMode::Crc32c).unwrap(), p);
}

/// An INIT as Chrome (usrsctp) sends it, checksum recomputed: ports 5000, 65535 streams,
/// Forward-TSN-Supported, Supported Extensions (RE-CONFIG, FORWARD-TSN, ...), random and
/// ASCONF-style params as unknown ones.
#[test]
fn usrsctp_style_init_round_trips_byte_for_byte() {
    let init = Chunk::Init(InitChunk {
        initiate_tag: 0xc3b1_a2f0,
        a_rwnd: 0x0002_0000,
        num_outbound_streams: 0xffff,
        num_inbound_streams: 0xffff,
        initial_tsn: 0x9b2d_1c01,
        params: vec![
            Param::ForwardTsnSupported,
            Param::SupportedExtensions(Bytes::from_static(&[0xc0, 0x0f, 0x81, 0x82, 0x82])),
            Param::Unknown {
                param_type: 0x8002,
                value: Bytes::from(vec![7u8; 32]),
            },
            Param::ZeroChecksumAcceptable { edmid: 1 },
        ],
    });
    let p = Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: 0,
        },
        chunks: vec![init],
    };
    let b = p.to_bytes(false);
    assert_eq!(b.len() % 4, 0);
    assert_eq!(b.len(), p.encoded_len());
    let q = Packet::parse(b.clone(), ChecksumMode::Crc32c).unwrap();
    assert_eq!(q, p);
    assert_eq!(q.to_bytes(false), b);
    // Chunk length field excludes trailing padding of the last parameter.
    assert_eq!(
        u16::from_be_bytes([b[14], b[15]]) as usize,
        4 + 16 + 4 + 12 + 36 + 8
    );
}

#[test]
fn unknown_chunk_actions() {
    assert_eq!(
        UnrecognizedAction::for_chunk_type(0x3f),
        UnrecognizedAction::Stop
    );
    assert_eq!(
        UnrecognizedAction::for_chunk_type(0x40),
        UnrecognizedAction::StopAndReport
    );
    assert_eq!(
        UnrecognizedAction::for_chunk_type(0x80),
        UnrecognizedAction::Skip
    );
    assert_eq!(
        UnrecognizedAction::for_chunk_type(0xc1),
        UnrecognizedAction::SkipAndReport
    );
    assert_eq!(
        UnrecognizedAction::for_param_type(0xC000),
        UnrecognizedAction::SkipAndReport
    );
    assert_eq!(
        UnrecognizedAction::for_param_type(0x8008),
        UnrecognizedAction::Skip
    );
}

#[test]
fn missing_final_padding_is_accepted() {
    let d = Chunk::Data(DataChunk {
        tsn: 1,
        stream_id: 2,
        ssn: 3,
        ppid: 51,
        unordered: false,
        beginning: true,
        ending: true,
        immediate: false,
        payload: Bytes::from_static(b"hello"),
    });
    let p = Packet {
        header: CommonHeader {
            src_port: 1,
            dst_port: 2,
            verification_tag: 3,
        },
        chunks: vec![d],
    };
    let mut v = p.to_bytes(false).to_vec();
    v.truncate(v.len() - 3); // drop the 3 pad bytes
    finish_checksum(&mut v, false);
    assert_eq!(
        Packet::parse(Bytes::from(v), ChecksumMode::Crc32c).unwrap(),
        p
    );
}

#[test]
fn invalid_values_rejected() {
    // DATA without user data (Length 16) is well formed: the codec returns it with its TSN
    // so the association can answer "No User Data" (RFC 9260 §6.2, §3.3.10.9).
    let mut v = vec![0u8; 12];
    v.extend_from_slice(&[0, 3, 0, 16]);
    v.extend_from_slice(&[0, 0, 0, 42]);
    v.extend_from_slice(&[0; 8]);
    finish_checksum(&mut v, false);
    let p = Packet::parse(Bytes::from(v), ChecksumMode::Crc32c).unwrap();
    assert!(
        matches!(&p.chunks[..], [ferrtc_sctp::Chunk::Data(d)] if d.tsn == 42 && d.payload.is_empty() && d.beginning && d.ending)
    );
    // Shorter than a DATA header: rejected.
    let mut v = vec![0u8; 12];
    v.extend_from_slice(&[0, 3, 0, 12]);
    v.extend_from_slice(&[0; 8]);
    finish_checksum(&mut v, false);
    assert!(Packet::parse(Bytes::from(v), ChecksumMode::Crc32c).is_err());
    // INIT with initiate tag 0.
    let init = InitChunk {
        initiate_tag: 1,
        a_rwnd: 1,
        num_outbound_streams: 1,
        num_inbound_streams: 1,
        initial_tsn: 1,
        params: vec![],
    };
    let p = Packet {
        header: CommonHeader::default(),
        chunks: vec![Chunk::Init(init)],
    };
    let mut v = p.to_bytes(false).to_vec();
    v[16..20].fill(0);
    finish_checksum(&mut v, false);
    assert!(matches!(
        Packet::parse(Bytes::from(v), ChecksumMode::Crc32c),
        Err(Error::InvalidValue { .. })
    ));
    // Chunk length smaller than its header.
    let mut v = vec![0u8; 12];
    v.extend_from_slice(&[11, 0, 0, 2]);
    finish_checksum(&mut v, false);
    assert!(matches!(
        Packet::parse(Bytes::from(v), ChecksumMode::Crc32c),
        Err(Error::InvalidLength { .. })
    ));
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}
fn arb_nonempty(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 1..max).prop_map(Bytes::from)
}

fn arb_param() -> impl Strategy<Value = Param> {
    prop_oneof![
        arb_bytes(40).prop_map(Param::StateCookie),
        arb_bytes(10).prop_map(Param::SupportedExtensions),
        Just(Param::ForwardTsnSupported),
        any::<u32>().prop_map(|edmid| Param::ZeroChecksumAcceptable { edmid }),
        arb_bytes(12).prop_map(Param::UnrecognizedParameter),
        (
            prop_oneof![Just(5u16), Just(6), Just(9), Just(0x8000), Just(0x4123)],
            arb_bytes(12)
        )
            .prop_map(|(param_type, value)| Param::Unknown { param_type, value }),
    ]
}

fn arb_reconfig() -> impl Strategy<Value = ReconfigParam> {
    let streams = proptest::collection::vec(any::<u16>(), 0..5);
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>(), streams.clone()).prop_map(|(a, b, c, s)| {
            ReconfigParam::OutgoingSsnReset {
                request_seq: a,
                response_seq: b,
                last_tsn: c,
                streams: s,
            }
        }),
        (any::<u32>(), streams).prop_map(|(a, s)| ReconfigParam::IncomingSsnReset {
            request_seq: a,
            streams: s
        }),
        any::<u32>().prop_map(|a| ReconfigParam::SsnTsnReset { request_seq: a }),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::option::of(any::<(u32, u32)>())
        )
            .prop_map(|(a, b, n)| ReconfigParam::Response {
                response_seq: a,
                result: b,
                next_tsns: n
            }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, n)| ReconfigParam::AddOutgoingStreams {
            request_seq: a,
            new_streams: n
        }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, n)| ReconfigParam::AddIncomingStreams {
            request_seq: a,
            new_streams: n
        }),
        arb_bytes(8).prop_map(|v| ReconfigParam::Unknown {
            param_type: 99,
            value: v
        }),
    ]
}

fn arb_cause() -> impl Strategy<Value = ErrorCause> {
    (any::<u16>(), arb_bytes(9)).prop_map(|(code, info)| ErrorCause { code, info })
}

fn arb_init() -> impl Strategy<Value = InitChunk> {
    (
        1..=u32::MAX,
        any::<u32>(),
        1..=u16::MAX,
        1..=u16::MAX,
        any::<u32>(),
        proptest::collection::vec(arb_param(), 0..5),
    )
        .prop_map(|(t, w, o, i, tsn, params)| InitChunk {
            initiate_tag: t,
            a_rwnd: w,
            num_outbound_streams: o,
            num_inbound_streams: i,
            initial_tsn: tsn,
            params,
        })
}

fn arb_chunk() -> impl Strategy<Value = Chunk> {
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    prop_oneof![
        (
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            flags,
            arb_nonempty(50)
        )
            .prop_map(
                |(tsn, stream_id, ssn, ppid, (u, b, e, i), payload)| Chunk::Data(DataChunk {
                    tsn,
                    stream_id,
                    ssn,
                    ppid,
                    unordered: u,
                    beginning: b,
                    ending: e,
                    immediate: i,
                    payload
                })
            ),
        (
            any::<u32>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            flags,
            arb_nonempty(50)
        )
            .prop_map(
                |(tsn, stream_id, mid, f, (u, b, e, i), payload)| Chunk::IData(IDataChunk {
                    tsn,
                    stream_id,
                    mid,
                    ppid_or_fsn: f,
                    unordered: u,
                    beginning: b,
                    ending: e,
                    immediate: i,
                    payload
                })
            ),
        arb_init().prop_map(Chunk::Init),
        arb_init().prop_map(Chunk::InitAck),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<(u16, u16)>(), 0..6),
            proptest::collection::vec(any::<u32>(), 0..4)
        )
            .prop_map(|(c, w, g, d)| Chunk::Sack(SackChunk {
                cum_tsn_ack: c,
                a_rwnd: w,
                gap_blocks: g
                    .into_iter()
                    .map(|(start, end)| GapBlock { start, end })
                    .collect(),
                dup_tsns: d,
            })),
        arb_bytes(30).prop_map(|info| Chunk::Heartbeat { info }),
        arb_bytes(30).prop_map(|info| Chunk::HeartbeatAck { info }),
        (any::<bool>(), proptest::collection::vec(arb_cause(), 0..3)).prop_map(|(t, causes)| {
            Chunk::Abort {
                reflected_tag: t,
                causes,
            }
        }),
        any::<u32>().prop_map(|c| Chunk::Shutdown { cum_tsn_ack: c }),
        Just(Chunk::ShutdownAck),
        any::<bool>().prop_map(|t| Chunk::ShutdownComplete { reflected_tag: t }),
        proptest::collection::vec(arb_cause(), 0..3).prop_map(|causes| Chunk::Error { causes }),
        arb_bytes(60).prop_map(|cookie| Chunk::CookieEcho { cookie }),
        Just(Chunk::CookieAck),
        arb_bytes(20).prop_map(|data| Chunk::Pad { data }),
        (
            any::<u32>(),
            proptest::collection::vec(any::<(u16, u16)>(), 0..4)
        )
            .prop_map(|(c, s)| Chunk::ForwardTsn {
                new_cum_tsn: c,
                streams: s
                    .into_iter()
                    .map(|(stream_id, ssn)| ForwardTsnStream { stream_id, ssn })
                    .collect(),
            }),
        (
            any::<u32>(),
            proptest::collection::vec(any::<(u16, bool, u32)>(), 0..4)
        )
            .prop_map(|(c, s)| Chunk::IForwardTsn {
                new_cum_tsn: c,
                streams: s
                    .into_iter()
                    .map(|(stream_id, unordered, mid)| IForwardTsnStream {
                        stream_id,
                        unordered,
                        mid
                    })
                    .collect(),
            }),
        proptest::collection::vec(arb_reconfig(), 0..3)
            .prop_map(|params| Chunk::ReConfig { params }),
        (
            prop_oneof![Just(0x0fu8), Just(0x50), Just(0x9f), Just(0xc5)],
            any::<u8>(),
            arb_bytes(20)
        )
            .prop_map(|(chunk_type, flags, value)| Chunk::Unknown {
                chunk_type,
                flags,
                value
            }),
    ]
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        proptest::collection::vec(arb_chunk(), 0..5),
    )
        .prop_map(|(s, d, v, chunks)| Packet {
            header: CommonHeader {
                src_port: s,
                dst_port: d,
                verification_tag: v,
            },
            chunks,
        })
}

proptest! {
    #[test]
    fn packet_round_trip(p in arb_packet(), zero in any::<bool>()) {
        let b = p.to_bytes(zero);
        prop_assert_eq!(b.len(), p.encoded_len());
        let mode = if zero { ChecksumMode::ZeroAllowed } else { ChecksumMode::Crc32c };
        let q = Packet::parse(b.clone(), mode).unwrap();
        prop_assert_eq!(&q, &p);
        prop_assert_eq!(q.to_bytes(zero), b);
    }

    #[test]
    fn every_truncation_fails(p in arb_packet()) {
        let b = p.to_bytes(false);
        for n in 0..b.len() {
            let mut v = b[..n].to_vec();
            finish_checksum(&mut v, false);
            let r = Packet::parse(Bytes::from(v), ChecksumMode::Crc32c);
            // A cut exactly at a chunk boundary (or inside the final padding) is a valid
            // shorter packet; anything else must be an error.
            // Valid cut points: the end of the header, or anywhere between the unpadded and
            // padded end of a chunk (padding may be missing). Anything else must fail.
            let mut ok_cuts = vec![(12usize, 12usize)];
            let mut off = 12;
            for c in &p.chunks {
                let raw = u16::from_be_bytes([b[off + 2], b[off + 3]]) as usize;
                ok_cuts.push((off + raw, off + c.encoded_len()));
                off += c.encoded_len();
            }
            let expect_ok = ok_cuts.iter().any(|&(lo, hi)| n >= lo && n <= hi);
            match r {
                Ok(q) => {
                    prop_assert!(expect_ok, "truncation to {} parsed as {:?}", n, q);
                    prop_assert_eq!(&q.chunks[..], &p.chunks[..q.chunks.len()]);
                }
                Err(_) => prop_assert!(!expect_ok, "valid cut {} rejected", n),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut v = v;
        if v.len() >= 12 { finish_checksum(&mut v, false); }
        if let Ok(p) = Packet::parse(Bytes::from(v), ChecksumMode::ZeroAllowed) {
            // Whatever parses re-serializes into something that parses to the same value.
            let b = p.to_bytes(false);
            prop_assert_eq!(Packet::parse(b, ChecksumMode::Crc32c).unwrap(), p);
        }
    }

    #[test]
    fn arbitrary_chunk_values_never_panic(t in any::<u8>(), f in any::<u8>(), v in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(c) = Chunk::parse(t, f, Bytes::from(v), 16) {
            let mut out = Vec::new();
            c.write_to(&mut out);
            prop_assert_eq!(out.len(), c.encoded_len());
        }
    }
}
