#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the RTCP parser (issue 15).
//!
//! Each case is one datagram with its expected outcome written next to it and where the input
//! comes from (the RFC rule, or a public bug in another stack). For every case the harness
//! asserts the outcome, that parsing is bounded (at most [`Limits::max_packets`] packets, the
//! TWCC walk at most `packet_status_count` packets), and that whatever was accepted
//! serializes again and parses back to the same typed values.

use bytes::Bytes;
use ferrtc_rtcp::{parse, parse_compound, write_compound, Error, Limits, RtcpPacket};

/// What must happen.
enum Outcome {
    /// Rejected with an error this predicate accepts.
    Rejected(fn(&Error) -> bool),
    /// Accepted; the packets pass this check.
    Accepted(fn(&[RtcpPacket]) -> bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    /// `true`: parse under RFC 3550 compound rules; `false`: the WebRTC default (RFC 5506).
    compound: bool,
    input: fn() -> Vec<u8>,
    outcome: Outcome,
}

/// An RTCP header: V=2, padding, count, packet type, length in 32-bit words minus one.
fn hdr(padding: bool, count: u8, pt: u8, words_minus_one: u16) -> Vec<u8> {
    let mut v = vec![0x80 | (u8::from(padding) << 5) | (count & 0x1f), pt];
    v.extend_from_slice(&words_minus_one.to_be_bytes());
    v
}

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// A transport-cc feedback (RTPFB FMT 15) with these chunks, count and delta bytes.
fn twcc(count: u16, chunks: &[u16], deltas: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    be32(&mut body, 1);
    be32(&mut body, 2);
    body.extend_from_slice(&7u16.to_be_bytes());
    body.extend_from_slice(&count.to_be_bytes());
    be32(&mut body, 0x0000_0100);
    for c in chunks {
        body.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(deltas);
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let mut v = hdr(false, 15, 205, (body.len() / 4) as u16);
    v.extend_from_slice(&body);
    v
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "empty datagram",
            source: "RFC 3550 §6.4: a packet has at least a 4-byte header",
            compound: false,
            input: Vec::new,
            outcome: Outcome::Rejected(|e| matches!(e, Error::Empty)),
        },
        Case {
            name: "three bytes",
            source: "pion/webrtc#285 (slice out of range on a short packet)",
            compound: false,
            input: || vec![0x80, 0xc9, 0x00],
            outcome: Outcome::Rejected(|e| matches!(e, Error::Truncated { .. })),
        },
        Case {
            name: "version 0",
            source: "RFC 3550 §6.4.1: V is 2",
            compound: false,
            input: || vec![0x00, 0xc9, 0, 1, 0, 0, 0, 1],
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadVersion { .. })),
        },
        Case {
            name: "length field 65535 on an 8-byte datagram",
            source: "RFC 3550 §6.4.1 length; pion/rtcp#10 'packet too short'",
            compound: false,
            input: || vec![0x80, 0xc9, 0xff, 0xff, 0, 0, 0, 1],
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::BadLength { .. })
            }),
        },
        Case {
            name: "RR announcing 31 report blocks and carrying none",
            source: "webrtc-rs#678 (panics on invalid block sizes); RFC 3550 §6.4.2",
            compound: false,
            input: || {
                let mut v = hdr(false, 31, 201, 1);
                be32(&mut v, 1);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::Truncated { .. } | Error::BadLength { .. } | Error::Invalid { .. }
                )
            }),
        },
        Case {
            name: "SR with one report block and room for none",
            source: "webrtc-rs#678; RFC 3550 §6.4.1",
            compound: false,
            input: || {
                let mut v = hdr(false, 1, 200, 6);
                v.extend_from_slice(&[0; 24]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::Truncated { .. } | Error::BadLength { .. } | Error::Invalid { .. }
                )
            }),
        },
        Case {
            name: "SDES item whose length runs past the chunk",
            source: "RFC 3550 §6.5: items must fit the packet",
            compound: false,
            input: || {
                let mut v = hdr(false, 1, 202, 2);
                be32(&mut v, 1);
                v.extend_from_slice(&[1, 200, b'a', b'b']);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::Invalid { .. })
            }),
        },
        Case {
            name: "BYE announcing 31 SSRCs and carrying one",
            source: "RFC 3550 §6.6",
            compound: false,
            input: || {
                let mut v = hdr(false, 31, 203, 1);
                be32(&mut v, 1);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::Truncated { .. } | Error::Invalid { .. } | Error::BadLength { .. }
                )
            }),
        },
        Case {
            name: "BYE reason length past the packet",
            source: "RFC 3550 §6.6: the reason is a length-prefixed string inside the packet",
            compound: false,
            input: || {
                let mut v = hdr(false, 1, 203, 2);
                be32(&mut v, 1);
                v.extend_from_slice(&[250, b'b', b'y', b'e']);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::Invalid { .. })
            }),
        },
        Case {
            name: "padding bit with a padding count of 0",
            source: "RFC 3550 §6.4.1: the last octet counts the padding, itself included",
            compound: false,
            input: || {
                let mut v = hdr(true, 0, 201, 2);
                be32(&mut v, 1);
                be32(&mut v, 0);
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadPadding { .. })),
        },
        Case {
            name: "padding count larger than the packet",
            source: "RFC 3550 §6.4.1; pion/webrtc#3148 (padding handling panics in an SFU)",
            compound: false,
            input: || {
                let mut v = hdr(true, 0, 201, 2);
                be32(&mut v, 1);
                be32(&mut v, 0xff);
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadPadding { .. })),
        },
        Case {
            name: "TWCC describing 65535 packets with chunks for 8191",
            source: "draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: chunks must \
                     cover packet_status_count",
            compound: false,
            input: || twcc(65535, &[0x1fff], &[]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Truncated { .. })),
        },
        Case {
            name: "TWCC with large-delta statuses and no deltas",
            source: "draft §3.1.5: each received packet carries a delta",
            compound: false,
            input: || twcc(7, &[0xc000 | 0x2aaa], &[]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Truncated { .. })),
        },
        Case {
            name: "TWCC describing 65535 lost packets (8 full runs and one of 7)",
            source: "draft §3.1.3: run-length chunks; the largest valid feedback, walked \
                     packet by packet in bounded time",
            compound: false,
            input: || {
                let mut chunks = vec![0x1fffu16; 8];
                chunks.push(7);
                twcc(65535, &chunks, &[])
            },
            outcome: Outcome::Accepted(|p| {
                matches!(p, [RtcpPacket::TransportCc(t)]
                    if t.packets().count() == 65535
                        && t.packets().all(|x| x.delta_ticks.is_none()))
            }),
        },
        Case {
            name: "REMB with exponent 63 and the largest mantissa",
            source: "issue 15: mantissa x 2^exp beyond 64 bits must saturate, not wrap",
            compound: false,
            input: || {
                let mut v = hdr(false, 15, 206, 5);
                be32(&mut v, 1);
                be32(&mut v, 0);
                v.extend_from_slice(b"REMB");
                v.extend_from_slice(&[1, 0xff, 0xff, 0xff]);
                be32(&mut v, 9);
                v
            },
            outcome: Outcome::Accepted(
                |p| matches!(p, [RtcpPacket::Remb(r)] if r.bitrate() == u64::MAX),
            ),
        },
        Case {
            name: "REMB announcing 255 SSRCs and carrying none",
            source: "draft-alvestrand-rmcat-remb-03 §2.2: Num SSRC entries follow",
            compound: false,
            input: || {
                let mut v = hdr(false, 15, 206, 4);
                be32(&mut v, 1);
                be32(&mut v, 0);
                v.extend_from_slice(b"REMB");
                v.extend_from_slice(&[255, 0x04, 0x00, 0x00]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::Invalid { .. })
            }),
        },
        Case {
            name: "65 receiver reports in one datagram",
            source: "bounded work per datagram: Limits::max_packets (64)",
            compound: false,
            input: || {
                let mut v = Vec::new();
                for i in 0..65 {
                    v.extend_from_slice(&hdr(false, 0, 201, 1));
                    be32(&mut v, i);
                }
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooManyPackets { max: 64 })),
        },
        Case {
            name: "compound datagram starting with a PLI",
            source: "RFC 3550 §6.1: a compound packet starts with SR or RR",
            compound: true,
            input: || {
                let mut v = hdr(false, 1, 206, 2);
                be32(&mut v, 1);
                be32(&mut v, 2);
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::FirstNotReport { .. })),
        },
        Case {
            name: "XR block whose length runs past the packet",
            source: "RFC 3611 §3: block length in 32-bit words",
            compound: false,
            input: || {
                let mut v = hdr(false, 0, 207, 2);
                be32(&mut v, 1);
                v.extend_from_slice(&[5, 0, 0, 40]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::Invalid { .. })
            }),
        },
        Case {
            name: "unknown packet type 210",
            source: "RFC 3550 §6.4: unknown types are ignored; kept raw here",
            compound: false,
            input: || {
                let mut v = hdr(false, 3, 210, 1);
                be32(&mut v, 0xdead_beef);
                v
            },
            outcome: Outcome::Accepted(
                |p| matches!(p, [RtcpPacket::Raw(r)] if r.packet_type == 210),
            ),
        },
        Case {
            name: "NACK truncated inside its FCI",
            source: "RFC 4585 §6.2.1: FCI entries are 4 bytes; pion/rtp#63 size validation",
            compound: false,
            input: || {
                let mut v = hdr(false, 1, 205, 3);
                be32(&mut v, 1);
                be32(&mut v, 2);
                v.extend_from_slice(&[0, 1]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::Truncated { .. } | Error::BadLength { .. })
            }),
        },
    ]
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in &cases {
        assert!(!case.source.is_empty());
        let buf = Bytes::from((case.input)());
        let res = if case.compound {
            parse_compound(buf.clone())
        } else {
            parse(buf.clone())
        };
        let name = case.name;
        match (&case.outcome, res) {
            (Outcome::Rejected(ok), Err(e)) => assert!(ok(&e), "{name}: wrong error {e:?}"),
            (Outcome::Rejected(_), Ok(p)) => panic!("{name}: accepted {p:?}"),
            (Outcome::Accepted(_), Err(e)) => panic!("{name}: rejected: {e}"),
            (Outcome::Accepted(check), Ok(p)) => {
                assert!(p.len() <= Limits::default().max_packets, "{name}");
                assert!(check(&p), "{name}: {p:?}");
                // What was accepted serializes and parses back to the same values.
                let mut out = Vec::new();
                write_compound(&p, &mut out);
                let back = parse(Bytes::from(out)).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(back, p, "{name}");
            }
        }
    }
}
