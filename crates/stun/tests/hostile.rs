#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for the STUN codec (issue 15).
//!
//! Each case is one datagram with its expected outcome written next to it and where it comes
//! from (the RFC rule, or a public bug in another stack). For every case the harness asserts:
//! - the outcome: the error kind (and the attribute it names), or acceptance with the values
//!   the RFC gives, including an attribute whose *value* is malformed being refused by its
//!   accessor while the message itself parses;
//! - bounded work: at most `ParseLimits::max_attributes` attributes, at most
//!   `MAX_REPORTED_UNKNOWN` unknown types remembered, and nothing copied (accessors return
//!   slices of the input);
//! - that `is_stun` (the demultiplexer's quick test) never claims what `parse` refuses at the
//!   header.

use bytes::Bytes;
use ferrtc_stun::{
    attr, is_stun, Error, IntegrityKey, Message, MessageBuilder, MessageType, ParseLimits,
    TransactionId, MAX_REPORTED_UNKNOWN,
};

/// What must happen.
enum Outcome {
    /// `Message::parse` refuses it with an error this predicate accepts.
    Rejected(fn(&Error) -> bool),
    /// It parses; the message passes this check.
    Accepted(fn(&Message) -> bool),
}

struct Case {
    name: &'static str,
    source: &'static str,
    input: fn() -> Vec<u8>,
    outcome: Outcome,
}

const TID: [u8; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// A header with the given type and length field.
fn header(mtype: u16, len: u16) -> Vec<u8> {
    let mut v = mtype.to_be_bytes().to_vec();
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&MAGIC);
    v.extend_from_slice(&TID);
    v
}

/// One attribute: type, the given length field, the value, zero padding to 4 bytes.
fn attr_raw(t: u16, len: u16, value: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(value);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

fn a(t: u16, value: &[u8]) -> Vec<u8> {
    attr_raw(t, value.len() as u16, value)
}

/// A message of this type holding these attribute bytes, with a correct length field.
fn msg(mtype: u16, attrs: &[Vec<u8>]) -> Vec<u8> {
    let body = attrs.concat();
    let mut v = header(mtype, body.len() as u16);
    v.extend_from_slice(&body);
    v
}

/// An XOR-MAPPED-ADDRESS value: reserved, family, port and address as given (not XORed: the
/// cases only look at the structure).
fn address(family: u8, port: u16, addr: &[u8]) -> Vec<u8> {
    let mut v = vec![0, family];
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(addr);
    v
}

/// The error of the accessor `get` on a parsed message, or `None` if it succeeded.
fn accessor_err<T>(r: Result<T, Error>) -> Option<Error> {
    r.err()
}

fn invalid(e: &Option<Error>, t: u16) -> bool {
    matches!(e, Some(Error::InvalidAttribute { attr_type, .. }) if *attr_type == t)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "19 bytes of a valid header",
            source: "RFC 8489 §5 (20-byte header); str0m#709 (underflow and panic on 19 bytes)",
            input: || header(BINDING_REQUEST, 0)[..19].to_vec(),
            outcome: Outcome::Rejected(|e| matches!(e, Error::Truncated { have: 19, .. })),
        },
        Case {
            name: "top two bits set (an RTP/DTLS first byte)",
            source: "RFC 8489 §5; RFC 7983 demultiplexing",
            input: || {
                let mut v = header(BINDING_REQUEST, 0);
                v[0] = 0x80;
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::NotStun(0x80))),
        },
        Case {
            name: "wrong magic cookie (an RFC 3489 message)",
            source: "RFC 8489 §5, §6.3: the cookie is fixed; pion/turn#425",
            input: || {
                let mut v = header(BINDING_REQUEST, 0);
                v[4..8].copy_from_slice(b"thch");
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::BadMagicCookie(0x7468_6368))),
        },
        Case {
            name: "length not a multiple of 4",
            source: "RFC 8489 §5: the length counts whole 32-bit words",
            input: || {
                let mut v = header(BINDING_REQUEST, 6);
                v.extend_from_slice(&[0; 6]);
                v
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::UnalignedLength(6))),
        },
        Case {
            name: "length 65532 on a 20-byte datagram",
            source: "RFC 8489 §6.3; coturn#1964 (u16 overflow of 20 + length)",
            input: || header(BINDING_REQUEST, 65532),
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::LengthMismatch {
                        declared: 65532,
                        actual: 0
                    }
                )
            }),
        },
        Case {
            name: "eight bytes after a message whose length says zero",
            source: "RFC 8489 §6.3: the length must match the datagram",
            input: || {
                let mut v = header(BINDING_REQUEST, 0);
                v.extend_from_slice(&[0; 8]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::LengthMismatch {
                        declared: 0,
                        actual: 8
                    }
                )
            }),
        },
        Case {
            name: "attribute length 65535 in an 8-byte body",
            source: "RFC 8489 §14; sofia-sip#180 (heap overflow on the unchecked length)",
            input: || {
                let mut v = header(BINDING_REQUEST, 8);
                v.extend_from_slice(&[0x00, 0x30, 0xff, 0xff, 1, 2, 3, 4]);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::AttributeOverflow {
                        attr_type: 0x0030,
                        offset: 20,
                        length: 65535
                    }
                )
            }),
        },
        Case {
            name: "attribute whose padding runs past the body",
            source: "RFC 8489 §14: values are padded to 4 bytes, the padding is part of the body",
            input: || {
                // USERNAME of 5 bytes takes 4 + 8 bytes with its padding; the body has 8.
                let mut v = header(BINDING_REQUEST, 8);
                v.extend_from_slice(&[0x00, 0x06, 0x00, 0x05, b'a', b'b', b'c', b'd']);
                v
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::AttributeOverflow {
                        attr_type: attr::USERNAME,
                        ..
                    }
                )
            }),
        },
        Case {
            name: "XOR-MAPPED-ADDRESS of zero bytes",
            source: "RFC 8489 §14.2; pion/stun#278 (panic on a short value)",
            input: || msg(BINDING_SUCCESS, &[a(attr::XOR_MAPPED_ADDRESS, &[])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().xor_mapped_address()),
                    attr::XOR_MAPPED_ADDRESS,
                )
            }),
        },
        Case {
            name: "XOR-MAPPED-ADDRESS of family IPv6 with 4 address bytes",
            source: "RFC 8489 §14.2 (16 bytes for IPv6); aioice#92 (IndexError)",
            input: || {
                msg(
                    BINDING_SUCCESS,
                    &[a(attr::XOR_MAPPED_ADDRESS, &address(2, 1, &[1, 2, 3, 4]))],
                )
            },
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().xor_mapped_address()),
                    attr::XOR_MAPPED_ADDRESS,
                )
            }),
        },
        Case {
            name: "XOR-MAPPED-ADDRESS of family 3",
            source: "RFC 8489 §14.1: family 0x01 or 0x02",
            input: || {
                msg(
                    BINDING_SUCCESS,
                    &[a(attr::XOR_MAPPED_ADDRESS, &address(3, 1, &[1, 2, 3, 4]))],
                )
            },
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().xor_mapped_address()),
                    attr::XOR_MAPPED_ADDRESS,
                )
            }),
        },
        Case {
            name: "MAPPED-ADDRESS with IPv4 and 3 address bytes",
            source: "RFC 8489 §14.1; pjproject#5201 (out-of-bounds read of a short MAPPED-ADDRESS)",
            input: || {
                msg(
                    BINDING_SUCCESS,
                    &[a(attr::MAPPED_ADDRESS, &address(1, 1, &[1, 2, 3]))],
                )
            },
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().mapped_address()),
                    attr::MAPPED_ADDRESS,
                )
            }),
        },
        Case {
            name: "ERROR-CODE of zero bytes",
            source:
                "RFC 8489 §14.8 (at least 4 bytes); amazon-kinesis-video-streams-webrtc-sdk-c#2305",
            input: || msg(0x0111, &[a(attr::ERROR_CODE, &[])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().error_code()),
                    attr::ERROR_CODE,
                )
            }),
        },
        Case {
            name: "ERROR-CODE class 7",
            source: "RFC 8489 §14.8: the class is 3 to 6",
            input: || msg(0x0111, &[a(attr::ERROR_CODE, &[0, 0, 7, 0])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().error_code()),
                    attr::ERROR_CODE,
                )
            }),
        },
        Case {
            name: "ERROR-CODE number 100",
            source: "RFC 8489 §14.8: the number is 0 to 99",
            input: || msg(0x0111, &[a(attr::ERROR_CODE, &[0, 0, 4, 100])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().error_code()),
                    attr::ERROR_CODE,
                )
            }),
        },
        Case {
            name: "ERROR-CODE 420 with its reason",
            source: "RFC 8489 §14.8",
            input: || {
                msg(
                    0x0111,
                    &[a(attr::ERROR_CODE, b"\0\0\x04\x14Unknown Attribute")],
                )
            },
            outcome: Outcome::Accepted(|m| {
                m.attributes_unverified().error_code() == Ok(Some((420, "Unknown Attribute")))
            }),
        },
        Case {
            name: "USERNAME of 600 bytes",
            source: "RFC 8489 §14.3: less than 513 bytes",
            input: || msg(BINDING_REQUEST, &[a(attr::USERNAME, &[b'u'; 600])]),
            outcome: Outcome::Accepted(|m| {
                m.username().is_err() && m.attributes_unverified().username().is_err()
            }),
        },
        Case {
            name: "USERNAME that is not UTF-8",
            source: "RFC 8489 §14.3: a UTF-8 string",
            input: || msg(BINDING_REQUEST, &[a(attr::USERNAME, &[0xc3, 0x28])]),
            outcome: Outcome::Accepted(|m| m.username().is_err()),
        },
        Case {
            name: "PRIORITY of 3 bytes",
            source: "RFC 8445 §16.1: a 32-bit priority",
            input: || msg(BINDING_REQUEST, &[a(attr::PRIORITY, &[0, 0, 1])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().priority()),
                    attr::PRIORITY,
                )
            }),
        },
        Case {
            name: "ICE-CONTROLLING of 4 bytes",
            source: "RFC 8445 §16.1: a 64-bit tiebreaker",
            input: || msg(BINDING_REQUEST, &[a(attr::ICE_CONTROLLING, &[0, 0, 0, 1])]),
            outcome: Outcome::Accepted(|m| {
                invalid(
                    &accessor_err(m.attributes_unverified().ice_controlling()),
                    attr::ICE_CONTROLLING,
                )
            }),
        },
        Case {
            name: "MESSAGE-INTEGRITY of 19 bytes",
            source: "RFC 8489 §14.5: HMAC-SHA1, 20 bytes",
            input: || msg(BINDING_REQUEST, &[a(attr::MESSAGE_INTEGRITY, &[0; 19])]),
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::InvalidAttribute {
                        attr_type: attr::MESSAGE_INTEGRITY,
                        ..
                    }
                )
            }),
        },
        Case {
            name: "MESSAGE-INTEGRITY-SHA256 of 12 bytes",
            source: "RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[a(attr::MESSAGE_INTEGRITY_SHA256, &[0; 12])],
                )
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::InvalidAttribute {
                        attr_type: attr::MESSAGE_INTEGRITY_SHA256,
                        ..
                    }
                )
            }),
        },
        Case {
            name: "FINGERPRINT followed by another attribute",
            source: "RFC 8489 §14.7: FINGERPRINT is the last attribute",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[a(attr::FINGERPRINT, &[0; 4]), a(attr::SOFTWARE, b"x")],
                )
            },
            outcome: Outcome::Rejected(|e| matches!(e, Error::FingerprintNotLast(20))),
        },
        Case {
            name: "FINGERPRINT with a wrong CRC",
            source: "RFC 8489 §14.7 (and RFC 7983: a FINGERPRINT tells STUN from other protocols)",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[a(attr::FINGERPRINT, &[0xde, 0xad, 0xbe, 0xef])],
                )
            },
            outcome: Outcome::Rejected(|e| {
                matches!(
                    e,
                    Error::FingerprintMismatch {
                        carried: 0xdead_beef,
                        ..
                    }
                )
            }),
        },
        Case {
            name: "a message with 65 attributes",
            source: "bounded work: ParseLimits::max_attributes (64 by default)",
            input: || msg(BINDING_REQUEST, &vec![a(attr::SOFTWARE, b""); 65]),
            outcome: Outcome::Rejected(|e| matches!(e, Error::TooManyAttributes(64))),
        },
        Case {
            name: "an unknown comprehension-required attribute",
            source: "RFC 8489 §6.3.1: the server answers 420 with UNKNOWN-ATTRIBUTES listing it",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[a(0x0030, &[1, 2, 3, 4]), a(0x8030, &[1])],
                )
            },
            outcome: Outcome::Accepted(|m| m.unknown_comprehension_required() == [0x0030]),
        },
        Case {
            name: "twenty unknown comprehension-required attributes",
            source: "bounded: at most MAX_REPORTED_UNKNOWN are remembered for the 420 answer",
            input: || {
                let attrs: Vec<Vec<u8>> = (0..20u16).map(|i| a(0x0040 + i, &[])).collect();
                msg(BINDING_REQUEST, &attrs)
            },
            outcome: Outcome::Accepted(|m| {
                m.unknown_comprehension_required().len() == MAX_REPORTED_UNKNOWN
                    && m.unknown_comprehension_required()[0] == 0x0040
            }),
        },
        Case {
            name: "non-zero padding bytes",
            source: "RFC 8489 §14: padding bits MUST be ignored by the receiver",
            input: || {
                let mut v = msg(BINDING_REQUEST, &[a(attr::SOFTWARE, b"ab")]);
                let n = v.len();
                v[n - 2..].copy_from_slice(&[0xff, 0xff]);
                v
            },
            outcome: Outcome::Accepted(|m| m.attributes_unverified().software() == Ok(Some("ab"))),
        },
        Case {
            name: "USERNAME twice",
            source: "RFC 8489 §14: only the first occurrence of an attribute is processed",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[a(attr::USERNAME, b"first"), a(attr::USERNAME, b"second")],
                )
            },
            outcome: Outcome::Accepted(|m| m.username() == Ok(Some("first"))),
        },
        Case {
            name: "attribute after MESSAGE-INTEGRITY",
            source:
                "RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored",
            input: || {
                msg(
                    BINDING_REQUEST,
                    &[
                        a(attr::USERNAME, b"a:b"),
                        a(attr::MESSAGE_INTEGRITY, &[0; 20]),
                        a(attr::PRIORITY, &[0, 0, 0, 9]),
                    ],
                )
            },
            outcome: Outcome::Accepted(|m| {
                m.username() == Ok(Some("a:b")) && m.attributes_unverified().priority() == Ok(None)
            }),
        },
        Case {
            name: "CHANNEL-NUMBER outside 0x4000-0x4FFF",
            source: "RFC 8656 §18.1 is a 16-bit number; the range (§12) is the ChannelBind \
                     handler's to answer with 400 (§11.2), so the codec returns the value",
            input: || msg(0x0009, &[a(attr::CHANNEL_NUMBER, &[0x7f, 0xff, 0, 0])]),
            outcome: Outcome::Accepted(|m| {
                m.attributes_unverified().channel_number() == Ok(Some(0x7fff))
            }),
        },
    ]
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 25);
    for case in &cases {
        let name = case.name;
        assert!(!case.source.is_empty(), "{name}");
        let buf = Bytes::from((case.input)());
        let parsed = Message::parse(buf.clone());
        match (&case.outcome, parsed) {
            (Outcome::Rejected(ok), Err(e)) => {
                assert!(ok(&e), "{name}: wrong error {e:?}");
                // A header the parser refuses is not claimed as STUN by the demultiplexer.
                if matches!(
                    e,
                    Error::Truncated { .. }
                        | Error::NotStun(_)
                        | Error::BadMagicCookie(_)
                        | Error::UnalignedLength(_)
                ) {
                    assert!(!is_stun(&buf), "{name}");
                }
            }
            (Outcome::Rejected(_), Ok(m)) => panic!("{name}: accepted {m:?}"),
            (Outcome::Accepted(_), Err(e)) => panic!("{name}: rejected: {e}"),
            (Outcome::Accepted(check), Ok(m)) => {
                assert!(is_stun(&buf), "{name}");
                assert!(check(&m), "{name}: {m:?}");
                // Zero copy: the message keeps the input buffer.
                assert_eq!(m.as_bytes().as_ptr(), buf.as_ptr(), "{name}");
                // Every attribute decodes or fails cleanly; the walk is bounded.
                let n = m.attributes_unverified().iter().take(1000).count();
                assert!(n <= ParseLimits::default().max_attributes, "{name}");
            }
        }
    }
}

/// Integrity is never optional: a message whose bytes changed after MESSAGE-INTEGRITY was
/// computed, or checked with another key, is refused (RFC 8489 §9.1.3), and only the verified
/// message exposes its attributes through `verify_integrity`.
#[test]
fn tampered_or_wrong_key_integrity_is_refused() {
    let key = IntegrityKey::short_term("the right password").unwrap();
    let other = IntegrityKey::short_term("another password").unwrap();
    let tid = TransactionId(TID);
    let mut b = MessageBuilder::new(MessageType::from_u16(BINDING_REQUEST), tid);
    b.add(&ferrtc_stun::Attribute::Priority(7)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    let good = b.build();
    let m = Message::parse(good.clone()).unwrap();
    assert_eq!(m.verify_integrity(&key).unwrap().priority(), Ok(Some(7)));
    assert!(matches!(
        m.verify_integrity(&other),
        Err(Error::IntegrityMismatch(_))
    ));
    // Flip one bit of the PRIORITY value: the FINGERPRINT catches it first...
    let mut bad = good.to_vec();
    bad[20 + 4 + 3] ^= 1;
    assert!(matches!(
        Message::parse(Bytes::from(bad.clone())),
        Err(Error::FingerprintMismatch { .. })
    ));
    // ...and without the FINGERPRINT, the integrity check does.
    let cut = bad.len() - 8;
    bad.truncate(cut);
    let body = (cut - 20) as u16;
    bad[2..4].copy_from_slice(&body.to_be_bytes());
    let m = Message::parse(Bytes::from(bad)).unwrap();
    assert!(matches!(
        m.verify_integrity(&key),
        Err(Error::IntegrityMismatch(_))
    ));
    // No integrity attribute at all.
    let plain = Message::parse(Bytes::from(msg(BINDING_REQUEST, &[]))).unwrap();
    assert!(matches!(
        plain.verify_integrity(&key),
        Err(Error::IntegrityMissing)
    ));
}

/// Every prefix of every case is refused or parsed, never a panic, and a prefix that changes
/// the length never parses as the same message.
#[test]
fn every_truncation_is_refused_or_parsed() {
    for case in cases() {
        let full = (case.input)();
        for n in 0..full.len().min(128) {
            let r = Message::parse(Bytes::from(full[..n].to_vec()));
            if let Ok(m) = r {
                assert_eq!(m.as_bytes().len(), n, "{}", case.name);
                let _ = m.attributes_unverified().iter().take(1000).count();
            }
        }
    }
}
