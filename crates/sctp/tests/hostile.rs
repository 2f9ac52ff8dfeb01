#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the SCTP association (issue 15).
//!
//! Each case is a list of packets a broken or hostile peer sends to an established
//! association `b`, with the outcome written next to it: the RFC's answer, or the public bug
//! in another stack that the input comes from. For every case the harness asserts:
//! - no panic and no hang (the case runs to the end);
//! - the expected outcome ([`Expect`]);
//! - bounded output (at most two packets per input packet, each within the MTU) and bounded
//!   memory (`received_bytes_buffered` within the receive buffer plus two maximum messages);
//! - unless the RFC's answer is an ABORT, the association still delivers data afterwards: a
//!   message sent on the next TSN and SSN arrives.
//!
//! The peer's side is crafted by hand (as an attacker would); `a` only sets the association up.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use ferrtc_sctp::chunk::{
    cause_code, Chunk, DataChunk, ForwardTsnStream, GapBlock, IForwardTsnStream, SackChunk,
};
use ferrtc_sctp::packet::finish_checksum;
use ferrtc_sctp::{
    Association, ChecksumMode, CommonHeader, Config, Event, Packet, SendOptions, State,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// What the RFC (or the fixed bug) says must happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every packet is refused by `handle_receive` (malformed or not ours) and changes nothing.
    Dropped,
    /// Accepted without an ABORT or an ERROR.
    Accepted,
    /// Accepted, and reported to the peer in ERROR chunks with this cause (at most one ERROR
    /// chunk per packet).
    Reported(u16),
    /// The association is aborted with this cause, sent to the peer.
    Aborted(u16),
    /// An ABORT with this cause goes to this tag (a malformed INIT's Initiate Tag); the
    /// association itself is unchanged.
    InitAborted { tag: u32, cause: u16 },
}

/// The victim and what the crafted peer has used so far.
struct Ctx {
    b: Association,
    /// `b`'s verification tag: what the peer puts in its packets.
    tag: u32,
    /// The peer's tag: what `b` puts in its packets.
    peer_tag: u32,
    /// Next TSN and SSN (stream 0) of the crafted peer.
    tsn: u32,
    ssn: u16,
    /// `b`'s Initial TSN (from its INIT ACK).
    b_initial_tsn: u32,
    now: Instant,
}

impl Ctx {
    fn next_tsn(&mut self) -> u32 {
        let t = self.tsn;
        self.tsn = self.tsn.wrapping_add(1);
        t
    }
    fn packet(&self, chunks: Vec<Chunk>) -> Bytes {
        packet(self.tag, chunks)
    }
    /// A packet with hand-written chunk bytes (which the codec would refuse to write).
    fn raw(&self, chunk_bytes: &[u8]) -> Bytes {
        raw(self.tag, chunk_bytes)
    }
}

fn packet(tag: u32, chunks: Vec<Chunk>) -> Bytes {
    Packet {
        header: CommonHeader {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: tag,
        },
        chunks,
    }
    .to_bytes(false)
}

fn raw(tag: u32, chunk_bytes: &[u8]) -> Bytes {
    let mut p = BytesMut::new();
    p.put_u16(5000);
    p.put_u16(5000);
    p.put_u32(tag);
    p.put_u32(0);
    p.put_slice(chunk_bytes);
    finish_checksum(&mut p, false);
    p.freeze()
}

fn data(tsn: u32, ssn: u16, stream_id: u16, b: bool, e: bool, payload: Bytes) -> Chunk {
    Chunk::Data(DataChunk {
        tsn,
        stream_id,
        ssn,
        ppid: 51,
        unordered: false,
        beginning: b,
        ending: e,
        immediate: false,
        payload,
    })
}

fn drain(a: &mut Association) -> Vec<Bytes> {
    std::iter::from_fn(|| a.poll_transmit()).collect()
}

fn events(a: &mut Association) -> Vec<Event> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn messages(evs: &[Event]) -> Vec<Bytes> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.payload.clone()),
            _ => None,
        })
        .collect()
}

/// An established pair; the peer's first message (TSN t0, SSN 0) has been delivered.
fn setup(cfg: Config) -> Ctx {
    let now = Instant::now();
    let mut a = Association::new(cfg.clone(), now, &mut StdRng::seed_from_u64(11));
    let mut b = Association::new(cfg, now, &mut StdRng::seed_from_u64(12));
    a.connect(now);
    let mut b_initial_tsn = None;
    for _ in 0..10 {
        for p in drain(&mut a) {
            let _ = b.handle_receive(now, p);
        }
        for p in drain(&mut b) {
            for ch in Packet::parse(p.clone(), ChecksumMode::ZeroAllowed)
                .unwrap()
                .chunks
            {
                if let Chunk::InitAck(i) = ch {
                    b_initial_tsn = Some(i.initial_tsn);
                }
            }
            let _ = a.handle_receive(now, p);
        }
    }
    assert_eq!(b.state(), State::Established);
    a.send(
        now,
        0,
        51,
        Bytes::from_static(b"first"),
        SendOptions::default(),
    )
    .unwrap();
    let p = drain(&mut a).pop().unwrap();
    let tsn = Packet::parse(p.clone(), ChecksumMode::ZeroAllowed)
        .unwrap()
        .chunks
        .iter()
        .find_map(|c| match c {
            Chunk::Data(d) => Some(d.tsn),
            Chunk::IData(d) => Some(d.tsn),
            _ => None,
        })
        .unwrap();
    b.handle_receive(now, p).unwrap();
    events(&mut b);
    drain(&mut b);
    Ctx {
        tag: b.local_verification_tag(),
        peer_tag: a.local_verification_tag(),
        b,
        tsn: tsn.wrapping_add(1),
        ssn: 1,
        b_initial_tsn: b_initial_tsn.unwrap(),
        now,
    }
}

type Build = fn(&mut Ctx) -> Vec<Bytes>;

struct Case {
    name: &'static str,
    /// Where the input comes from: the RFC text, or the public bug report it reproduces.
    source: &'static str,
    build: Build,
    expect: Expect,
}

fn chunk(t: u8, flags: u8, len: u16, value: &[u8]) -> Vec<u8> {
    let mut v = vec![t, flags];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(value);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "chunk with length 0",
            source: "sipsorcery#1758, dpkt#583: a zero chunk length spun the chunk walker for \
                     ever (CVE-2021-3655 class); RFC 9260 §3.2: Length includes the 4-byte header",
            build: |c| vec![c.raw(&[0xC5, 0, 0, 0, 1, 2, 3, 4])],
            expect: Expect::Dropped,
        },
        Case {
            name: "chunk with length 3",
            source: "RFC 9260 §3.2 (Length at least 4); pion/sctp#339 chunk validation",
            build: |c| vec![c.raw(&[0x00, 3, 0, 3, 0, 0, 0, 0])],
            expect: Expect::Dropped,
        },
        Case {
            name: "chunk length past the end of the packet",
            source: "dpkt#582: a length larger than the data read out of bounds",
            build: |c| vec![c.raw(&chunk(0, 3, 400, &[0; 16]))],
            expect: Expect::Dropped,
        },
        Case {
            name: "DATA with no user data (Length 16)",
            source: "RFC 9260 §6.2: SHOULD send an ABORT with 'No User Data'",
            build: |c| {
                let t = c.next_tsn();
                vec![c.packet(vec![data(t, 1, 0, true, true, Bytes::new())])]
            },
            expect: Expect::Aborted(cause_code::NO_USER_DATA),
        },
        Case {
            name: "DATA shorter than its header (Length 12)",
            source: "RFC 9260 §3.3.1: the DATA header is 16 bytes",
            build: |c| vec![c.raw(&chunk(0, 3, 12, &[0; 8]))],
            expect: Expect::Dropped,
        },
        Case {
            name: "DATA with a checksum that does not match",
            source: "RFC 9260 §6.8: packets with an invalid checksum are discarded",
            build: |c| {
                let t = c.tsn;
                let mut p = c
                    .packet(vec![data(t, 1, 0, true, true, Bytes::from_static(b"x"))])
                    .to_vec();
                p[8] ^= 0xff;
                vec![Bytes::from(p)]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "DATA under the wrong verification tag",
            source: "RFC 9260 §8.5: a packet with the wrong tag is silently discarded",
            build: |c| {
                let t = c.tsn;
                vec![packet(
                    c.tag ^ 1,
                    vec![data(t, 1, 0, true, true, Bytes::from_static(b"x"))],
                )]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "ABORT under the wrong verification tag",
            source: "RFC 9260 §8.5.1 B: an ABORT whose tag does not match is discarded",
            build: |c| {
                vec![packet(
                    c.tag.wrapping_add(7),
                    vec![Chunk::Abort {
                        reflected_tag: false,
                        causes: vec![],
                    }],
                )]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "DATA on a stream beyond the negotiated count",
            source: "RFC 9260 §6.5: acknowledge the TSN, report 'Invalid Stream Identifier'",
            build: |c| {
                let t = c.next_tsn();
                vec![c.packet(vec![data(
                    t,
                    0,
                    65535,
                    true,
                    true,
                    Bytes::from_static(b"x"),
                )])]
            },
            expect: Expect::Reported(cause_code::INVALID_STREAM_IDENTIFIER),
        },
        Case {
            name: "DATA two billion TSNs ahead",
            source: "RFC 9260 §6.2: a TSN far beyond the advertised window is dropped",
            build: |c| {
                let t = c.tsn.wrapping_add(0x7fff_0000);
                vec![c.packet(vec![data(t, 9, 0, true, true, Bytes::from_static(b"x"))])]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "the same DATA 1000 times",
            source: "RFC 9260 §6.2: duplicates are reported in the SACK (ours keeps at most 16)",
            build: |c| {
                let t = c.next_tsn();
                let s = c.ssn;
                c.ssn += 1;
                let p = c.packet(vec![data(t, s, 0, true, true, Bytes::from_static(b"dup"))]);
                vec![p; 1000]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "SSN wrap-around from 65535 to 0",
            source: "sctp-proto#5: 'attempt to add with overflow' on the stream sequence number",
            build: |c| {
                // Skip SSNs up to 65534 with FORWARD-TSNs (each step under half the 16-bit
                // space, RFC 9260 §1.6 serial arithmetic), then send 65535 and 0.
                let skip_to = c.tsn;
                c.tsn = c.tsn.wrapping_add(1);
                let t1 = c.next_tsn();
                let t2 = c.next_tsn();
                c.ssn = 1;
                let fwd = |ssn: u16| Chunk::ForwardTsn {
                    new_cum_tsn: skip_to,
                    streams: vec![ForwardTsnStream { stream_id: 0, ssn }],
                };
                vec![
                    c.packet(vec![fwd(20000)]),
                    c.packet(vec![fwd(40000)]),
                    c.packet(vec![fwd(65534)]),
                    c.packet(vec![data(
                        t2,
                        0,
                        0,
                        true,
                        true,
                        Bytes::from_static(b"ssn-0"),
                    )]),
                    c.packet(vec![data(
                        t1,
                        65535,
                        0,
                        true,
                        true,
                        Bytes::from_static(b"ssn-65535"),
                    )]),
                ]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "fragments that never end, far more than the receive buffer",
            source: "webrtc-rs#393, sctp-proto#8: reassembly counters overflowed; RFC 9260 §6.2 \
                     lets the receiver drop what it has no room for",
            build: |c| {
                let mut v = Vec::new();
                let chunk_payload = Bytes::from(vec![7u8; 1100]);
                for _ in 0..1500 {
                    let t = c.next_tsn();
                    let s = c.ssn;
                    c.ssn += 1;
                    v.push(c.packet(vec![data(t, s, 0, true, false, chunk_payload.clone())]));
                }
                // The follow-up goes past the abandoned messages with a FORWARD-TSN.
                let last = c.tsn.wrapping_sub(1);
                v.push(c.packet(vec![Chunk::ForwardTsn {
                    new_cum_tsn: last,
                    streams: vec![ForwardTsnStream {
                        stream_id: 0,
                        ssn: c.ssn - 1,
                    }],
                }]));
                v
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "SACK announcing 65535 gap blocks and carrying none",
            source: "RFC 9260 §3.3.4: the blocks must be present; pion/sctp#339",
            build: |c| {
                let mut v = Vec::new();
                v.extend_from_slice(&0u32.to_be_bytes());
                v.extend_from_slice(&65536u32.to_be_bytes());
                v.extend_from_slice(&[0xff, 0xff, 0, 0]);
                vec![c.raw(&chunk(3, 0, 16, &v))]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "FORWARD-TSN two billion TSNs ahead",
            source: "usrsctp#547 (use-after-free in sctp_handle_forward_tsn); RFC 3758 §3.6",
            build: |c| {
                vec![c.packet(vec![Chunk::ForwardTsn {
                    new_cum_tsn: c.tsn.wrapping_add(0x7000_0000),
                    streams: vec![],
                }])]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "FORWARD-TSN with 3000 stream entries",
            source: "RFC 3758 §3.2: one entry per stream is what a sender needs; work is capped",
            build: |c| {
                let streams = (0..3000u16)
                    .map(|i| ForwardTsnStream {
                        stream_id: 1 + i,
                        ssn: i,
                    })
                    .collect();
                vec![c.packet(vec![Chunk::ForwardTsn {
                    new_cum_tsn: c.tsn.wrapping_sub(1),
                    streams,
                }])]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "I-FORWARD-TSN when I-DATA was not negotiated",
            source: "RFC 8260 §2.2: the wrong one of DATA / I-DATA is a protocol violation",
            build: |c| {
                vec![c.packet(vec![Chunk::IForwardTsn {
                    new_cum_tsn: c.tsn,
                    streams: vec![IForwardTsnStream {
                        stream_id: 0,
                        unordered: false,
                        mid: 5,
                    }],
                }])]
            },
            expect: Expect::Aborted(cause_code::PROTOCOL_VIOLATION),
        },
        Case {
            name: "200 unrecognized chunks asking to be reported",
            source: "RFC 9260 §3.2 (upper bits 11) and §12.4 (one response packet per packet)",
            build: |c| {
                let chunks = (0..200)
                    .map(|i| Chunk::Unknown {
                        chunk_type: 0xC7,
                        flags: i as u8,
                        value: Bytes::from_static(b"abcd"),
                    })
                    .collect();
                vec![c.packet(chunks)]
            },
            expect: Expect::Reported(cause_code::UNRECOGNIZED_CHUNK_TYPE),
        },
        Case {
            name: "AUTH chunk with a garbage HMAC identifier",
            source: "CVE-2020-6831 (usrsctp stack overflow on AUTH); we do not implement AUTH: \
                     type 15 has upper bits 00, RFC 9260 §3.2: stop, discard silently",
            build: |c| {
                let t = c.tsn;
                let mut p = c
                    .raw(&chunk(15, 0, 12, &[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]))
                    .to_vec();
                // The DATA after it must not be processed.
                let d = c.packet(vec![data(t, 99, 0, true, true, Bytes::from_static(b"no"))]);
                p.extend_from_slice(&d[12..]);
                finish_checksum(&mut p, false);
                vec![Bytes::from(p)]
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "ASCONF with a truncated address parameter",
            source: "usrsctp#386 (heap overflow in sctp_process_asconf_add_ip); type 0xC1 is \
                     unknown here: RFC 9260 §3.2 upper bits 11: skip and report",
            build: |c| {
                let v = [0, 0, 0, 1, 0xC0, 0x01, 0x00, 0x40, 0, 0, 0, 0];
                vec![c.raw(&chunk(0xC1, 0, 16, &v))]
            },
            expect: Expect::Reported(cause_code::UNRECOGNIZED_CHUNK_TYPE),
        },
        Case {
            name: "RE-CONFIG with a parameter running past the chunk",
            source: "usrsctp#93 (heap overflow building a deferred reset response)",
            build: |c| {
                let v = [0, 13, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1];
                vec![c.raw(&chunk(130, 0, 16, &v))]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "HEARTBEAT whose info length overruns the chunk",
            source: "RFC 9260 §3.3.5: the Heartbeat Info parameter must fit the chunk",
            build: |c| vec![c.raw(&chunk(4, 0, 12, &[0, 1, 0, 200, 1, 2, 3, 4]))],
            expect: Expect::Dropped,
        },
        Case {
            name: "COOKIE ECHO with a forged cookie",
            source: "RFC 9260 §5.1.5: a cookie failing its MAC is discarded",
            build: |c| {
                vec![c.packet(vec![Chunk::CookieEcho {
                    cookie: Bytes::from(vec![0x42; 73]),
                }])]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "INIT with a parameter straddling the chunk end",
            source: "RFC 9260 §5.1: invalid parameter values SHOULD get an ABORT under the \
                     INIT's Initiate Tag; §3.3.2: the existing association MUST NOT change",
            build: |_| {
                let mut v = Vec::new();
                v.extend_from_slice(&0x5EED_0001u32.to_be_bytes());
                v.extend_from_slice(&65536u32.to_be_bytes());
                v.extend_from_slice(&[0, 8, 0, 8]);
                v.extend_from_slice(&77u32.to_be_bytes());
                v.extend_from_slice(&[0x80, 0x08, 0x00, 0x10, 0xC0, 0x82, 0, 0]);
                vec![raw(0, &chunk(1, 0, 28, &v))]
            },
            expect: Expect::InitAborted {
                tag: 0x5EED_0001,
                cause: cause_code::PROTOCOL_VIOLATION,
            },
        },
        Case {
            name: "INIT with Initiate Tag 0",
            source: "RFC 9260 §3.3.2: MUST silently discard",
            build: |_| {
                let mut v = Vec::new();
                v.extend_from_slice(&0u32.to_be_bytes());
                v.extend_from_slice(&65536u32.to_be_bytes());
                v.extend_from_slice(&[0, 8, 0, 8]);
                v.extend_from_slice(&77u32.to_be_bytes());
                vec![raw(0, &chunk(1, 0, 20, &v))]
            },
            expect: Expect::Dropped,
        },
        Case {
            name: "SACK with 300 overlapping gap blocks",
            source: "RFC 9260 §6.2.1: gap blocks are only hints; ours reads at most \
                     max_gap_blocks of them",
            build: |c| {
                vec![c.packet(vec![Chunk::Sack(SackChunk {
                    // Nothing of `b`'s is acknowledged: the TSN before its first.
                    cum_tsn_ack: c.b_initial_tsn.wrapping_sub(1),
                    a_rwnd: 65536,
                    gap_blocks: vec![
                        GapBlock {
                            start: 1,
                            end: 65535
                        };
                        300
                    ],
                    dup_tsns: vec![1; 300],
                })])]
            },
            expect: Expect::Accepted,
        },
    ]
}

/// Runs one case on a fresh association and checks everything the module doc promises.
fn run(case: &Case, cfg: &Config) {
    let mut c = setup(cfg.clone());
    let input = (case.build)(&mut c);
    let now = c.now;
    let n = input.len();
    let results: Vec<bool> = input
        .into_iter()
        .map(|p| c.b.handle_receive(now, p).is_ok())
        .collect();
    let out = drain(&mut c.b);
    let evs = events(&mut c.b);
    let name = case.name;
    // Bounded output and memory.
    assert!(
        out.len() <= 2 * n + 2,
        "{name}: {} packets out for {n} in",
        out.len()
    );
    assert!(
        out.iter().all(|p| p.len() <= cfg.max_packet_size),
        "{name}: oversized packet"
    );
    let limit = cfg.receive_buffer_size + 2 * cfg.max_message_size;
    assert!(
        c.b.received_bytes_buffered() <= limit,
        "{name}: buffered too much"
    );
    let parsed: Vec<Packet> = out
        .iter()
        .map(|p| Packet::parse(p.clone(), ChecksumMode::ZeroAllowed).unwrap())
        .collect();
    let aborts: Vec<(u32, u16)> = parsed
        .iter()
        .flat_map(|p| {
            let tag = p.header.verification_tag;
            p.chunks.iter().filter_map(move |ch| match ch {
                Chunk::Abort { causes, .. } => Some((tag, causes.first().map_or(0, |x| x.code))),
                _ => None,
            })
        })
        .collect();
    let errors: Vec<Vec<u16>> = parsed
        .iter()
        .flat_map(|p| {
            p.chunks.iter().filter_map(|ch| match ch {
                Chunk::Error { causes } => Some(causes.iter().map(|x| x.code).collect()),
                _ => None,
            })
        })
        .collect();
    match case.expect {
        Expect::Dropped => {
            assert!(
                results.iter().all(|ok| !ok),
                "{name}: a packet was accepted"
            );
            assert!(aborts.is_empty() && errors.is_empty(), "{name}: answered");
        }
        Expect::Accepted => {
            assert!(aborts.is_empty(), "{name}: aborted");
            assert!(errors.is_empty(), "{name}: unexpected ERROR {errors:?}");
        }
        Expect::Reported(code) => {
            assert!(aborts.is_empty(), "{name}: aborted");
            assert!(
                !errors.is_empty() && errors.len() <= n,
                "{name}: {errors:?}"
            );
            assert!(
                errors.iter().all(|e| e.iter().all(|x| *x == code)),
                "{name}: {errors:?}"
            );
        }
        Expect::Aborted(code) => {
            assert_eq!(c.b.state(), State::Closed, "{name}");
            assert_eq!(aborts, vec![(c.peer_tag, code)], "{name}");
            assert!(
                evs.iter().any(|e| matches!(e, Event::Aborted { .. })),
                "{name}"
            );
            return;
        }
        Expect::InitAborted { tag, cause } => {
            assert_eq!(aborts, vec![(tag, cause)], "{name}");
        }
    }
    assert_eq!(c.b.state(), State::Established, "{name}");
    // Still delivers: the next message of the crafted peer arrives.
    let t = c.next_tsn();
    let s = c.ssn;
    let later = now + Duration::from_millis(200);
    let p = c.packet(vec![data(
        t,
        s,
        0,
        true,
        true,
        Bytes::from_static(b"after"),
    )]);
    c.b.handle_receive(later, p)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let got = messages(&events(&mut c.b));
    assert!(
        got.contains(&Bytes::from_static(b"after")),
        "{name}: association stopped delivering ({got:?})"
    );
}

#[test]
fn hostile_corpus() {
    let cfg = Config::default();
    let cases = cases();
    assert!(cases.len() >= 24);
    for case in &cases {
        assert!(!case.source.is_empty());
        run(case, &cfg);
    }
}

/// The SSN wrap case delivers in order across the wrap: 65535 before 0.
#[test]
fn ssn_wrap_delivers_in_order() {
    let mut c = setup(Config::default());
    let case = cases()
        .into_iter()
        .find(|k| k.name.starts_with("SSN wrap"))
        .unwrap();
    let now = c.now;
    for p in (case.build)(&mut c) {
        c.b.handle_receive(now, p).unwrap();
    }
    assert_eq!(
        messages(&events(&mut c.b)),
        vec![
            Bytes::from_static(b"ssn-65535"),
            Bytes::from_static(b"ssn-0")
        ]
    );
}

/// RFC 9260 §12.4, from the victim's own sending side: `b` sends one message, then a SACK
/// acknowledges 2^20 TSNs past it. `b` aborts with a Protocol Violation.
#[test]
fn sack_for_unsent_tsn_aborts() {
    let mut c = setup(Config::default());
    let now = c.now;
    c.b.send(now, 0, 51, Bytes::from_static(b"x"), SendOptions::default())
        .unwrap();
    let sent = drain(&mut c.b);
    let tsn = sent
        .iter()
        .flat_map(|p| {
            Packet::parse(p.clone(), ChecksumMode::ZeroAllowed)
                .unwrap()
                .chunks
        })
        .find_map(|ch| match ch {
            Chunk::Data(d) => Some(d.tsn),
            _ => None,
        })
        .unwrap();
    let sack = c.packet(vec![Chunk::Sack(SackChunk {
        cum_tsn_ack: tsn.wrapping_add(1 << 20),
        a_rwnd: 65536,
        gap_blocks: vec![],
        dup_tsns: vec![],
    })]);
    c.b.handle_receive(now, sack).unwrap();
    assert_eq!(c.b.state(), State::Closed);
    assert_eq!(c.b.abort_cause(), Some(cause_code::PROTOCOL_VIOLATION));
}
