//! The nom parser against the hand-written one it replaced (`ferrtc_stun::legacy`, feature
//! `legacy-parser`): the RFC 5769 / RFC 8489 B.1 vectors and fuzz seeds, messages built with
//! every attribute type, the same cut at every length and with single bytes changed, and
//! random inputs. `legacy::check` compares the parse result, integrity verification with
//! three keys, every accessor and every decoded attribute; any difference fails (issue 14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use proptest::prelude::*;
use std::net::SocketAddr;

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

fn keys() -> Vec<IntegrityKey> {
    vec![
        IntegrityKey::short_term(PASSWORD).unwrap(),
        IntegrityKey::short_term("pass").unwrap(),
        IntegrityKey::long_term(
            "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}",
            "example.org",
            "TheMatrIX",
            PasswordAlgorithm::MD5,
        )
        .unwrap(),
    ]
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/rfc5769_stun.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for v in v["vectors"].as_array().unwrap() {
        out.push(hex::decode(v["message_hex"].as_str().unwrap()).unwrap());
    }
    out
}

/// Every attribute type this crate decodes, with values of the right and of wrong sizes.
fn built() -> Vec<Vec<u8>> {
    let key = IntegrityKey::short_term("pass").unwrap();
    let v4: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    let v6: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    let typed = vec![
        Attribute::MappedAddress(v4),
        Attribute::XorMappedAddress(v6),
        Attribute::AlternateServer(v6),
        Attribute::XorPeerAddress(v4),
        Attribute::XorRelayedAddress(v6),
        Attribute::Username(Text::new("evtj:h6vY")),
        Attribute::Realm(Text::new("example.org")),
        Attribute::Nonce(Text::new("f//499k954d6OL34oL9FSTvy64sA")),
        Attribute::Software(Text::new("ferrtc")),
        Attribute::AlternateDomain(Text::new("turn.example.org")),
        Attribute::UserHash([7; 32]),
        Attribute::ErrorCode(ErrorCode {
            code: 438,
            reason: Text::new("Stale Nonce"),
        }),
        Attribute::AddressErrorCode {
            family: AddressFamily::V6,
            code: 440,
            reason: Text::new("Address Family not Supported"),
        },
        Attribute::PasswordAlgorithms(PasswordAlgorithms::new(&[
            PasswordAlgorithm {
                algorithm: 2,
                params: Bytes::new(),
            },
            PasswordAlgorithm {
                algorithm: 9,
                params: Bytes::from_static(b"abcde"),
            },
        ])),
        Attribute::PasswordAlgorithm(PasswordAlgorithm {
            algorithm: 1,
            params: Bytes::from_static(b"xyz"),
        }),
        Attribute::UnknownAttributes(UnknownAttributes::new(&[0x7f01, 0x0042, 0x0003])),
        Attribute::Priority(0x6e00_01ff),
        Attribute::UseCandidate,
        Attribute::IceControlled(0x932f_f9b1_5126_3b36),
        Attribute::IceControlling(1),
        Attribute::ChannelNumber(0x4001),
        Attribute::Lifetime(600),
        Attribute::Data(Bytes::from_static(b"hello, peer")),
        Attribute::RequestedAddressFamily(AddressFamily::V4),
        Attribute::AdditionalAddressFamily(AddressFamily::V6),
        Attribute::EvenPort(true),
        Attribute::RequestedTransport(17),
        Attribute::DontFragment,
        Attribute::ReservationToken([3; 8]),
        Attribute::Icmp {
            icmp_type: 3,
            icmp_code: 1,
            error_data: 0xdead_beef,
        },
        Attribute::Unknown {
            attr_type: 0x7f01,
            value: Bytes::from_static(b"abc"),
        },
        Attribute::Unknown {
            attr_type: 0xc001,
            value: Bytes::new(),
        },
    ];
    let mut out = Vec::new();
    // Each typed attribute alone, signed both ways, with FINGERPRINT.
    for (i, a) in typed.iter().enumerate() {
        let mut b = MessageBuilder::new(
            MessageType::new(Method::ALLOCATE, Class::SuccessResponse),
            TransactionId([i as u8; 12]),
        );
        b.add(a).unwrap();
        if i % 2 == 0 {
            b.add_message_integrity(&key).unwrap();
        } else {
            b.add_message_integrity_sha256(&key).unwrap();
        }
        b.add_fingerprint().unwrap();
        out.push(b.build().to_vec());
    }
    // All of them in one message.
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([0xa5; 12]),
    );
    for a in &typed {
        b.add(a).unwrap();
    }
    b.add_message_integrity(&key).unwrap();
    b.add_message_integrity_sha256(&key).unwrap();
    b.add_fingerprint().unwrap();
    out.push(b.build().to_vec());
    // Every known type with values of sizes 0..=21 (most of them wrong).
    for t in (0u16..0x30).chain(0x8000..0x8030) {
        let mut b = MessageBuilder::new(
            MessageType::new(Method::BINDING, Class::Indication),
            TransactionId([t as u8; 12]),
        );
        for len in [0usize, 1, 3, 4, 5, 8, 12, 16, 20, 21] {
            let value: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ 1).collect();
            // The raw form is refused for known types by the builder: write the TLV by hand.
            let mut raw = b.as_slice().to_vec();
            raw.extend_from_slice(&t.to_be_bytes());
            raw.extend_from_slice(&(len as u16).to_be_bytes());
            raw.extend_from_slice(&value);
            raw.resize(raw.len() + (4 - len % 4) % 4, 0);
            let body = (raw.len() - HEADER_LEN) as u16;
            raw[2..4].copy_from_slice(&body.to_be_bytes());
            out.push(raw);
        }
        b.add(&Attribute::Software(Text::new("x"))).unwrap();
    }
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let mut c = seeds();
    c.extend(built());
    c
}

#[test]
fn every_vector_seed_and_built_message_parses_the_same() {
    let keys = keys();
    let corpus = corpus();
    assert!(corpus.len() > 100, "only {} inputs", corpus.len());
    let mut parsed = 0;
    for bytes in &corpus {
        legacy::check(bytes, &keys);
        parsed += usize::from(Message::parse(Bytes::from(bytes.clone())).is_ok());
    }
    // Most of the corpus must parse, or the comparison of the attribute paths proves little.
    assert!(parsed * 2 >= corpus.len(), "{parsed} of {}", corpus.len());
}

/// The vectors, seeds and the messages with one typed attribute each (not the ones with
/// raw values of every size, which the test above covers).
#[test]
fn every_prefix_and_single_byte_change() {
    let keys = keys();
    let mut inputs = seeds();
    inputs.extend(built().into_iter().take(34));
    for bytes in inputs {
        for n in 0..=bytes.len() {
            legacy::check(&bytes[..n], &keys);
        }
        for i in 0..bytes.len().min(96) {
            for v in [0x00, 0x03, 0x13, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                legacy::check(&b, &[]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..120)) {
        legacy::check(&data, &[]);
    }

    /// A valid header and a body of TLVs with chosen types and lengths, so that the
    /// attribute walk and the value grammars are reached on nearly every case.
    #[test]
    fn random_attributes(
        mtype in 0u16..0x4000,
        attrs in prop::collection::vec(
            (prop::sample::select(vec![
                0x0001u16, 0x0006, 0x0008, 0x0009, 0x000a, 0x000c, 0x000d, 0x0012, 0x0013,
                0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001a, 0x001c, 0x001d, 0x001e,
                0x0020, 0x0022, 0x0024, 0x0025, 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8022,
                0x8023, 0x8028, 0x8029, 0x802a, 0x7f00, 0xc0de,
            ]), prop::collection::vec(any::<u8>(), 0..40), 0u16..3),
            0..8,
        ),
        fix_length in any::<bool>(),
    ) {
        let mut data = Vec::new();
        data.extend_from_slice(&mtype.to_be_bytes());
        data.extend_from_slice(&[0, 0]);
        data.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        data.extend_from_slice(&[0x5a; 12]);
        for (t, value, skew) in attrs {
            data.extend_from_slice(&t.to_be_bytes());
            // Sometimes announce more than follows.
            data.extend_from_slice(&(value.len() as u16 + skew * 3).to_be_bytes());
            data.extend_from_slice(&value);
            data.resize(data.len() + (4 - value.len() % 4) % 4, 0);
        }
        if fix_length {
            let body = (data.len() - HEADER_LEN) as u16;
            data[2..4].copy_from_slice(&body.to_be_bytes());
        }
        legacy::check(&data, &[]);
    }
}
