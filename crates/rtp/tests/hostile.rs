#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the RTP parser (issue 15).
//!
//! Each case is one datagram with its expected outcome written next to it and where it comes
//! from (the RFC rule, or a public bug in another stack). For every case the harness asserts:
//! - the outcome: the error kind, or acceptance with the fields the RFC gives;
//! - both parsers agree (`RtpPacket::parse` and the zero-copy `RtpPacketView::parse`);
//! - what is accepted is bounded: the payload is a slice of the input (nothing copied or
//!   grown), walking the header extension ends within the block, and the packet serializes
//!   and parses back to the same value;
//! - an RTX payload (RFC 4588 §4) is decapsulated only when it holds the 2-byte OSN.

use bytes::Bytes;
use ferrtc_rtp::{rtx, Error, ExtensionForm, RtpPacket, RtpPacketView};

/// What must happen.
enum Outcome {
    /// Rejected with an error this predicate accepts.
    Rejected(fn(&Error) -> bool),
    /// Accepted; the packet passes this check.
    Accepted(fn(&RtpPacket) -> bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    input: fn() -> Vec<u8>,
    outcome: Outcome,
}

/// A fixed header: V=2, P, X, CC, M, PT, sequence 0x1234, timestamp 0x01020304, SSRC 0x0a0b0c0d.
fn fixed(p: bool, x: bool, cc: u8, pt: u8) -> Vec<u8> {
    let mut v = vec![
        0x80 | (u8::from(p) << 5) | (u8::from(x) << 4) | (cc & 0xf),
        pt & 0x7f,
    ];
    v.extend_from_slice(&[0x12, 0x34, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
    v
}

/// A header extension: profile, length in words, data (padded to words by the caller).
fn ext(profile: u16, words: u16, data: &[u8]) -> Vec<u8> {
    let mut v = profile.to_be_bytes().to_vec();
    v.extend_from_slice(&words.to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The elements of the packet's extension block: `Ok(id, len)` or the error that ended the walk.
fn elements(p: &RtpPacket) -> Vec<Result<(u8, usize), Error>> {
    p.header
        .extensions
        .as_ref()
        .map(|e| {
            e.iter()
                .take(1000)
                .map(|r| r.map(|el| (el.id, el.data.len())))
                .collect()
        })
        .unwrap_or_default()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "empty datagram",
            source: "RFC 3550 §5.1: the fixed header is 12 octets",
            input: Vec::new,
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooShort { len: 0 })),
        },
        Case {
            name: "11 bytes",
            source: "RFC 3550 §5.1; jitsi/jitsi-rtp#73 (validate the RTP header length)",
            input: || fixed(false, false, 0, 96)[..11].to_vec(),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooShort { len: 11 })),
        },
        Case {
            name: "version 1",
            source: "RFC 3550 §5.1: V is 2 (RFC 7983 demultiplexing sends V=1 elsewhere)",
            input: || {
                let mut v = fixed(false, false, 0, 96);
                v[0] = 0x40;
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadVersion { version: 1 })),
        },
        Case {
            name: "version 3",
            source: "RFC 3550 §5.1",
            input: || {
                let mut v = fixed(false, false, 0, 96);
                v[0] = 0xc0;
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadVersion { version: 3 })),
        },
        Case {
            name: "CC=15 and no CSRC list",
            source: "RFC 3550 §5.1 CC; libsrtp#32 (header length not checked against CC)",
            input: || fixed(false, false, 15, 96),
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::TruncatedCsrc { count: 15, needed: 72, len: 12 })
            }),
        },
        Case {
            name: "CC=2 with one CSRC",
            source: "RFC 3550 §5.1",
            input: || cat(&[&fixed(false, false, 2, 96), &[0, 0, 0, 1]]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TruncatedCsrc { count: 2, .. })),
        },
        Case {
            name: "X set and no extension header",
            source: "RFC 3550 §5.3.1; pion/rtp#315, amazon-kinesis-video-streams-webrtc-sdk-c#2350",
            input: || fixed(false, true, 0, 96),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TruncatedExtension { .. })),
        },
        Case {
            name: "X set, extension header cut after its profile",
            source: "RFC 3550 §5.3.1; dholroyd/rtp-rs#1 (read of the length past the buffer)",
            input: || cat(&[&fixed(false, true, 0, 96), &[0xbe, 0xde]]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TruncatedExtension { .. })),
        },
        Case {
            name: "extension length 65535 words on a 20-byte packet",
            source: "RFC 3550 §5.3.1 length in 32-bit words; pion/webrtc#308 (crash, bytes taken for words)",
            input: || cat(&[&fixed(false, true, 0, 96), &ext(0xbede, 0xffff, &[1, 2, 3, 4])]),
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::TruncatedExtension { needed, len: 20, .. } if *needed == 16 + 4 * 65535)
            }),
        },
        Case {
            name: "extension after CSRCs running one word past the end",
            source: "RFC 3550 §5.3.1: the extension follows the CSRC list",
            input: || {
                cat(&[
                    &fixed(false, true, 1, 96),
                    &[0, 0, 0, 9],
                    &ext(0xbede, 2, &[0x10, 0xaa, 0, 0]),
                ])
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::TruncatedExtension { offset: 16, .. })),
        },
        Case {
            name: "zero-length extension",
            source: "RFC 3550 §5.3.1 'zero is a valid length'; pion/rtp#315 (panicked on it)",
            input: || cat(&[&fixed(false, true, 0, 96), &ext(0xbede, 0, &[]), b"pay"]),
            outcome: Outcome::Accepted(|p| {
                p.header.extensions.as_ref().is_some_and(|e| e.data().is_empty())
                    && &p.payload[..] == b"pay"
                    && elements(p).is_empty()
            }),
        },
        Case {
            name: "P set, padding count 0",
            source: "RFC 3550 §5.1: the last octet counts the padding, itself included",
            input: || cat(&[&fixed(true, false, 0, 96), &[1, 2, 3, 0]]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::ZeroPadding { offset: 15 })),
        },
        Case {
            name: "P set, padding count 200 on a 4-byte payload",
            source: "RFC 3550 §5.1; webrtc-rs/rtp#9 via pion/rtp#131 (padding taken as payload)",
            input: || cat(&[&fixed(true, false, 0, 96), &[1, 2, 3, 200]]),
            outcome: Outcome::Rejected(|e| {
                matches!(e, Error::PaddingTooLong { count: 200, available: 4, .. })
            }),
        },
        Case {
            name: "P set on a 12-byte packet",
            source: "RFC 3550 §5.1: no padding count to read; str0m#212 (panic), rvoip#17",
            input: || fixed(true, false, 0, 96),
            outcome: Outcome::Rejected(|e| matches!(e, Error::PaddingTooLong { available: 0, .. })),
        },
        Case {
            name: "P set, padding count reaching into the header extension",
            source: "RFC 3550 §5.1: padding follows the payload, never the header",
            input: || {
                cat(&[
                    &fixed(true, true, 0, 96),
                    &ext(0xbede, 1, &[0x10, 0xaa, 0, 0]),
                    &[9, 9, 6],
                ])
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::PaddingTooLong { count: 6, .. })),
        },
        Case {
            name: "padding that is the whole payload",
            source: "RFC 3550 §5.1 (padding-only packets are sent by bandwidth probes, RFC 8888 users)",
            input: || cat(&[&fixed(true, false, 0, 96), &[0, 0, 0, 4]]),
            outcome: Outcome::Accepted(|p| p.payload.is_empty() && p.padding == 4),
        },
        Case {
            name: "one-byte element running past the block",
            source: "RFC 8285 §4.2 L is length-1; pion/rtp#363 (panics in the extension handlers)",
            input: || {
                // id 1, L=15 (16 bytes) in a 4-byte block.
                cat(&[&fixed(false, true, 0, 96), &ext(0xbede, 1, &[0x1f, 1, 2, 3])])
            },
            outcome: Outcome::Accepted(|p| {
                matches!(
                    elements(p)[..],
                    [Err(Error::ExtensionElementTruncated { id: 1, offset: 0, .. })]
                )
            }),
        },
        Case {
            name: "one-byte id 15 stops the walk",
            source: "RFC 8285 §4.2: id 15 is reserved; on it, processing of the block stops",
            input: || {
                cat(&[
                    &fixed(false, true, 0, 96),
                    &ext(0xbede, 2, &[0x10, 0xaa, 0xf0, 0xbb, 0x20, 1, 2, 0]),
                ])
            },
            outcome: Outcome::Accepted(|p| matches!(elements(p)[..], [Ok((1, 1))])),
        },
        Case {
            name: "one-byte padding octets between elements",
            source: "RFC 8285 §4.2: id 0 bytes are padding and are skipped",
            input: || {
                cat(&[
                    &fixed(false, true, 0, 96),
                    &ext(0xbede, 2, &[0, 0, 0x10, 0xaa, 0, 0x21, 7, 8]),
                ])
            },
            outcome: Outcome::Accepted(|p| matches!(elements(p)[..], [Ok((1, 1)), Ok((2, 2))])),
        },
        Case {
            name: "two-byte element of 255 bytes in a 4-byte block",
            source: "RFC 8285 §4.3",
            input: || cat(&[&fixed(false, true, 0, 96), &ext(0x1000, 1, &[3, 255, 1, 2])]),
            outcome: Outcome::Accepted(|p| {
                matches!(
                    elements(p)[..],
                    [Err(Error::ExtensionElementTruncated { id: 3, len: 255, .. })]
                )
            }),
        },
        Case {
            name: "two-byte element of length 0",
            source: "RFC 8285 §4.3: a two-byte element may be empty",
            input: || cat(&[&fixed(false, true, 0, 96), &ext(0x1000, 1, &[5, 0, 0, 0])]),
            outcome: Outcome::Accepted(|p| matches!(elements(p)[..], [Ok((5, 0))])),
        },
        Case {
            name: "unknown extension profile",
            source: "RFC 3550 §5.3.1: a profile the receiver does not know is ignored, not an error",
            input: || cat(&[&fixed(false, true, 0, 96), &ext(0xabac, 1, &[1, 2, 3, 4])]),
            outcome: Outcome::Accepted(|p| {
                p.header
                    .extensions
                    .as_ref()
                    .is_some_and(|e| e.form() == ExtensionForm::Other && e.data() == [1, 2, 3, 4])
                    && elements(p).is_empty()
            }),
        },
        Case {
            name: "every field at its maximum: 15 CSRCs, extension, marker, PT 127, padding",
            source: "RFC 3550 §5.1 limits",
            input: || {
                let mut v = fixed(true, true, 15, 127);
                v[1] |= 0x80;
                for i in 0..15u32 {
                    v.extend_from_slice(&i.to_be_bytes());
                }
                v.extend(ext(0xbede, 1, &[0x10, 0xaa, 0, 0]));
                v.extend_from_slice(&[7; 10]);
                v.extend_from_slice(&[0, 0, 3]);
                v
            },
            outcome: Outcome::Accepted(|p| {
                p.header.marker
                    && p.header.payload_type == 127
                    && p.header.csrcs.len() == 15
                    && p.payload.len() == 10
                    && p.padding == 3
            }),
        },
        Case {
            name: "a 65000-byte payload",
            source: "RFC 3550 places no limit below the datagram; nothing may be copied",
            input: || cat(&[&fixed(false, false, 0, 96), &vec![0x55; 65_000]]),
            outcome: Outcome::Accepted(|p| p.payload.len() == 65_000),
        },
        Case {
            name: "RTCP packet type in the RTP position (PT 72 with M set = 200)",
            source: "RFC 5761 §4: RTP and RTCP are told apart by PT; the RTP parser still parses it",
            input: || {
                let mut v = fixed(false, false, 0, 72);
                v[1] |= 0x80;
                v
            },
            outcome: Outcome::Accepted(|p| p.header.payload_type == 72 && p.header.marker),
        },
    ]
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in &cases {
        let name = case.name;
        assert!(!case.source.is_empty(), "{name}");
        let buf = Bytes::from((case.input)());
        let parsed = RtpPacket::parse(buf.clone());
        let view = RtpPacketView::parse(buf.clone());
        // The two parsers agree on what is valid and on the error.
        match (&parsed, &view) {
            (Ok(p), Ok(v)) => assert_eq!(&v.to_packet(), p, "{name}"),
            (Err(a), Err(b)) => assert_eq!(a, b, "{name}"),
            _ => panic!(
                "{name}: parsers disagree: {parsed:?} / {:?}",
                view.map(|v| v.to_packet())
            ),
        }
        match (&case.outcome, parsed) {
            (Outcome::Rejected(ok), Err(e)) => {
                assert!(ok(&e), "{name}: wrong error {e:?}");
                // The message names where (an offset or a length), so it is never empty.
                assert!(!e.to_string().is_empty());
            }
            (Outcome::Rejected(_), Ok(p)) => panic!("{name}: accepted {p:?}"),
            (Outcome::Accepted(_), Err(e)) => panic!("{name}: rejected: {e}"),
            (Outcome::Accepted(check), Ok(p)) => {
                assert!(check(&p), "{name}: {p:?}");
                // Zero copy: the payload lies inside the input buffer.
                let (lo, hi) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
                let at = p.payload.as_ptr() as usize;
                assert!(
                    p.payload.is_empty() || (lo..hi).contains(&at),
                    "{name}: payload copied"
                );
                assert!(p.encoded_len() <= buf.len(), "{name}: grew");
                // Serializes and parses back to the same value.
                let again =
                    RtpPacket::parse(p.to_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(again, p, "{name}");
                // RTX (RFC 4588 §4): a payload of at least two bytes carries the OSN.
                match rtx::decapsulate(&p, 100, 0x99) {
                    Ok(orig) => {
                        assert!(p.payload.len() >= 2, "{name}");
                        let osn = u16::from_be_bytes([p.payload[0], p.payload[1]]);
                        assert_eq!(orig.header.sequence_number, osn, "{name}");
                        assert_eq!(orig.payload.len(), p.payload.len() - 2, "{name}");
                    }
                    Err(e) => {
                        assert!(p.payload.len() < 2, "{name}");
                        assert!(matches!(e, Error::RtxTooShort { .. }), "{name}: {e:?}");
                    }
                }
            }
        }
    }
}

/// Every prefix of every accepted case is either accepted or refused with an error; none
/// panics (truncation is the most common malformation on the wire).
#[test]
fn every_truncation_is_refused_or_parsed() {
    for case in cases() {
        let full = (case.input)();
        for n in 0..full.len().min(200) {
            let buf = Bytes::from(full[..n].to_vec());
            let a = RtpPacket::parse(buf.clone());
            let b = RtpPacketView::parse(buf);
            assert_eq!(a.is_ok(), b.is_ok(), "{}: prefix {n}", case.name);
            if let Ok(p) = a {
                for r in p.header.extensions.iter().flat_map(|e| e.iter()).take(1000) {
                    let _ = r;
                }
            }
        }
    }
}
