//! The nom parser against the hand-written one it replaced (`ferrtc_sctp::legacy`, feature
//! `legacy-parser`): fuzz seeds, every chunk and parameter type built with the public types,
//! the packets of a real exchange between two associations (handshake, DATA and I-DATA, SACK,
//! stream reset, add streams, shutdown), the same cut at every length and with single bytes
//! changed, and random inputs. `legacy::check` compares the checksum check, the packet parse
//! and the lazy chunk walk; any difference fails (issue 14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_sctp::chunk::*;
use ferrtc_sctp::param::{Param, ReconfigParam};
use ferrtc_sctp::{legacy, Association, Chunk, CommonHeader, Config, Packet, SendOptions};
use proptest::prelude::*;
use std::time::{Duration, Instant};

struct Rng(u64);
impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for b in d {
            *b = self.next_u32() as u8;
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

fn chunks() -> Vec<Chunk> {
    let b = |s: &'static [u8]| Bytes::from_static(s);
    let init = InitChunk {
        initiate_tag: 0x1234_5678,
        a_rwnd: 1 << 20,
        num_outbound_streams: 1024,
        num_inbound_streams: 65535,
        initial_tsn: 7,
        params: vec![
            Param::StateCookie(b(b"cookie-bytes")),
            Param::SupportedExtensions(b(&[0x82, 0xc0, 0x40])),
            Param::ForwardTsnSupported,
            Param::ZeroChecksumAcceptable { edmid: 1 },
            Param::UnrecognizedParameter(b(&[0x80, 0x07, 0x00, 0x04])),
            Param::Unknown {
                param_type: 0x8007,
                value: b(b"x"),
            },
        ],
    };
    vec![
        Chunk::Data(DataChunk {
            tsn: 1,
            stream_id: 2,
            ssn: 3,
            ppid: 51,
            unordered: true,
            beginning: true,
            ending: false,
            immediate: true,
            payload: b(b"hello"),
        }),
        Chunk::IData(IDataChunk {
            tsn: 9,
            stream_id: 1,
            mid: 4,
            ppid_or_fsn: 53,
            unordered: false,
            beginning: true,
            ending: true,
            immediate: false,
            payload: b(b"i-data payload"),
        }),
        Chunk::Init(init.clone()),
        Chunk::InitAck(init),
        Chunk::Sack(SackChunk {
            cum_tsn_ack: 100,
            a_rwnd: 5000,
            gap_blocks: vec![GapBlock { start: 2, end: 3 }, GapBlock { start: 5, end: 9 }],
            dup_tsns: vec![98, 99],
        }),
        Chunk::Heartbeat {
            info: b(b"hb info 13 by"),
        },
        Chunk::HeartbeatAck { info: b(b"ack") },
        Chunk::Abort {
            reflected_tag: true,
            causes: vec![
                ErrorCause {
                    code: cause_code::USER_INITIATED_ABORT,
                    info: b(b"bye"),
                },
                ErrorCause {
                    code: cause_code::PROTOCOL_VIOLATION,
                    info: Bytes::new(),
                },
            ],
        },
        Chunk::Shutdown { cum_tsn_ack: 77 },
        Chunk::ShutdownAck,
        Chunk::ShutdownComplete {
            reflected_tag: false,
        },
        Chunk::Error {
            causes: vec![ErrorCause {
                code: cause_code::UNRECOGNIZED_CHUNK_TYPE,
                info: b(&[0x7f, 0, 0, 4]),
            }],
        },
        Chunk::CookieEcho {
            cookie: b(b"the cookie"),
        },
        Chunk::CookieAck,
        Chunk::Pad { data: b(&[0; 7]) },
        Chunk::ForwardTsn {
            new_cum_tsn: 50,
            streams: vec![
                ForwardTsnStream {
                    stream_id: 1,
                    ssn: 2,
                },
                ForwardTsnStream {
                    stream_id: 3,
                    ssn: 4,
                },
            ],
        },
        Chunk::IForwardTsn {
            new_cum_tsn: 60,
            streams: vec![IForwardTsnStream {
                stream_id: 5,
                unordered: true,
                mid: 6,
            }],
        },
        Chunk::ReConfig {
            params: vec![
                ReconfigParam::OutgoingSsnReset {
                    request_seq: 1,
                    response_seq: 2,
                    last_tsn: 3,
                    streams: vec![4, 5, 6],
                },
                ReconfigParam::IncomingSsnReset {
                    request_seq: 7,
                    streams: vec![],
                },
                ReconfigParam::SsnTsnReset { request_seq: 8 },
                ReconfigParam::Response {
                    response_seq: 9,
                    result: 1,
                    next_tsns: Some((10, 11)),
                },
                ReconfigParam::Response {
                    response_seq: 12,
                    result: 6,
                    next_tsns: None,
                },
                ReconfigParam::AddOutgoingStreams {
                    request_seq: 13,
                    new_streams: 14,
                },
                ReconfigParam::AddIncomingStreams {
                    request_seq: 15,
                    new_streams: 16,
                },
                ReconfigParam::Unknown {
                    param_type: 99,
                    value: b(b"raw"),
                },
            ],
        },
        Chunk::Unknown {
            chunk_type: 0x7f,
            flags: 0xa5,
            value: b(b"unknown"),
        },
    ]
}

fn built() -> Vec<Vec<u8>> {
    let header = CommonHeader {
        src_port: 5000,
        dst_port: 5000,
        verification_tag: 0xdead_beef,
    };
    let all = chunks();
    let mut out: Vec<Vec<u8>> = all
        .iter()
        .map(|c| {
            Packet {
                header,
                chunks: vec![c.clone()],
            }
            .to_bytes(false)
            .to_vec()
        })
        .collect();
    out.push(
        Packet {
            header,
            chunks: all,
        }
        .to_bytes(true)
        .to_vec(),
    );
    out
}

/// Every packet two associations send each other: handshake, DATA (or I-DATA), SACK,
/// RE-CONFIG for a stream reset and added streams, SHUTDOWN.
fn exchange(idata: bool) -> Vec<Vec<u8>> {
    let mut now = Instant::now();
    let config = Config {
        enable_idata: idata,
        ..Config::default()
    };
    let mut a = Association::new(config.clone(), now, &mut Rng(1));
    let mut b = Association::new(config, now, &mut Rng(2));
    let mut seen = Vec::new();
    let mut pump = |a: &mut Association, b: &mut Association, now: Instant| {
        for _ in 0..8 {
            while let Some(p) = a.poll_transmit() {
                seen.push(p.to_vec());
                let _ = b.handle_receive(now, p);
            }
            while let Some(p) = b.poll_transmit() {
                seen.push(p.to_vec());
                let _ = a.handle_receive(now, p);
            }
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    };
    a.connect(now);
    pump(&mut a, &mut b, now);
    for (i, len) in [1usize, 100, 3000].into_iter().enumerate() {
        let opts = SendOptions {
            unordered: i == 1,
            ..SendOptions::default()
        };
        a.send(now, i as u16, 53, Bytes::from(vec![i as u8; len]), opts)
            .unwrap();
        b.send(
            now,
            i as u16,
            51,
            Bytes::from(vec![b'x'; len / 2 + 1]),
            opts,
        )
        .unwrap();
        pump(&mut a, &mut b, now);
        now += Duration::from_millis(30);
        pump(&mut a, &mut b, now);
    }
    a.reset_streams(&[1, 2]).unwrap();
    pump(&mut a, &mut b, now);
    let _ = b.add_streams(2, 0);
    pump(&mut a, &mut b, now);
    a.shutdown(now);
    pump(&mut a, &mut b, now);
    seen
}

fn corpus() -> Vec<Vec<u8>> {
    let mut c = seeds();
    c.extend(built());
    c.extend(exchange(false));
    c.extend(exchange(true));
    c
}

#[test]
fn every_seed_built_and_exchanged_packet_parses_the_same() {
    let corpus = corpus();
    assert!(corpus.len() > 40, "only {} inputs", corpus.len());
    let mut parsed = 0;
    for bytes in &corpus {
        legacy::check(bytes);
        // As `check` does: Checksum field zeroed (the exchange negotiates zero checksum).
        let mut zeroed = bytes.clone();
        zeroed[8..12].fill(0);
        parsed += usize::from(
            Packet::parse(Bytes::from(zeroed), ferrtc_sctp::ChecksumMode::ZeroAllowed).is_ok(),
        );
    }
    // Real packets: nearly all must parse, or the comparison proves little.
    assert!(
        parsed * 10 >= corpus.len() * 9,
        "{parsed} of {}",
        corpus.len()
    );
}

#[test]
fn every_prefix_and_single_byte_change() {
    for bytes in corpus() {
        for n in 0..=bytes.len().min(300) {
            legacy::check(&bytes[..n]);
        }
        for i in 12..bytes.len().min(160) {
            for v in [0x00, 0x03, 0x04, 0x05, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                legacy::check(&b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..120)) {
        legacy::check(&data);
    }

    /// A common header and chunks of chosen types with random values and lengths (sometimes
    /// wrong), so that every chunk grammar is reached.
    #[test]
    fn random_chunks(
        chunks in prop::collection::vec(
            (prop::sample::select(vec![
                0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 64, 130, 132, 192, 194, 0x7f,
            ]), any::<u8>(), prop::collection::vec(any::<u8>(), 0..48), 0u16..3),
            0..5,
        ),
    ) {
        let mut data = vec![0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4, 0, 0, 0, 0];
        for (t, flags, value, skew) in chunks {
            data.push(t);
            data.push(flags);
            data.extend_from_slice(&((value.len() + 4) as u16 + skew * 5).to_be_bytes());
            data.extend_from_slice(&value);
            data.resize(data.len() + (4 - value.len() % 4) % 4, 0);
        }
        legacy::check(&data);
    }

    /// RE-CONFIG and INIT chunks whose values are runs of parameters with random types and
    /// values, so that the parameter grammars are reached.
    #[test]
    fn random_params(
        init in any::<bool>(),
        params in prop::collection::vec(
            (prop::sample::select(vec![
                7u16, 8, 13, 14, 15, 16, 17, 18, 0x8001, 0x8008, 0xc000, 5,
            ]), prop::collection::vec(any::<u8>(), 0..24)),
            0..5,
        ),
    ) {
        let mut value = Vec::new();
        if init {
            value.extend_from_slice(&[0, 0, 0, 9, 0, 1, 0, 0, 0, 4, 0, 4, 0, 0, 0, 1]);
        }
        for (t, v) in params {
            value.extend_from_slice(&t.to_be_bytes());
            value.extend_from_slice(&((v.len() + 4) as u16).to_be_bytes());
            value.extend_from_slice(&v);
            value.resize(value.len() + (4 - v.len() % 4) % 4, 0);
        }
        let mut data = vec![0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4, 0, 0, 0, 0];
        data.push(if init { 1 } else { 130 });
        data.push(0);
        data.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
        data.extend_from_slice(&value);
        legacy::check(&data);
    }
}
