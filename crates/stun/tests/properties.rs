//! Round-trip, never-panic and truncation properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
    ]
}

fn text(max: usize) -> impl Strategy<Value = Text> {
    proptest::string::string_regex(&format!(".{{0,{}}}", max / 4))
        .unwrap()
        .prop_map(|s| Text::new(&s))
}

fn family() -> impl Strategy<Value = AddressFamily> {
    prop_oneof![Just(AddressFamily::V4), Just(AddressFamily::V6)]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    let bytes = |n: usize| proptest::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from);
    prop_oneof![
        addr().prop_map(Attribute::MappedAddress),
        addr().prop_map(Attribute::XorMappedAddress),
        addr().prop_map(Attribute::AlternateServer),
        addr().prop_map(Attribute::XorPeerAddress),
        addr().prop_map(Attribute::XorRelayedAddress),
        text(MAX_USERNAME_LEN).prop_map(Attribute::Username),
        text(MAX_TEXT_LEN).prop_map(Attribute::Realm),
        text(MAX_TEXT_LEN).prop_map(Attribute::Nonce),
        text(MAX_TEXT_LEN).prop_map(Attribute::Software),
        text(MAX_TEXT_LEN).prop_map(Attribute::AlternateDomain),
        any::<[u8; 32]>().prop_map(Attribute::UserHash),
        (300u16..700, text(MAX_TEXT_LEN))
            .prop_map(|(code, reason)| Attribute::ErrorCode(ErrorCode { code, reason })),
        (family(), 300u16..700, text(MAX_TEXT_LEN)).prop_map(|(family, code, reason)| {
            Attribute::AddressErrorCode {
                family,
                code,
                reason,
            }
        }),
        proptest::collection::vec((any::<u16>(), bytes(9)), 0..4).prop_map(|v| {
            let list: Vec<_> = v
                .into_iter()
                .map(|(algorithm, params)| PasswordAlgorithm { algorithm, params })
                .collect();
            Attribute::PasswordAlgorithms(PasswordAlgorithms::new(&list))
        }),
        (any::<u16>(), bytes(9)).prop_map(|(algorithm, params)| Attribute::PasswordAlgorithm(
            PasswordAlgorithm { algorithm, params }
        )),
        proptest::collection::vec(any::<u16>(), 0..5)
            .prop_map(|v| Attribute::UnknownAttributes(UnknownAttributes::new(&v))),
        any::<u32>().prop_map(Attribute::Priority),
        Just(Attribute::UseCandidate),
        any::<u64>().prop_map(Attribute::IceControlled),
        any::<u64>().prop_map(Attribute::IceControlling),
        any::<u16>().prop_map(Attribute::ChannelNumber),
        any::<u32>().prop_map(Attribute::Lifetime),
        bytes(200).prop_map(Attribute::Data),
        family().prop_map(Attribute::RequestedAddressFamily),
        family().prop_map(Attribute::AdditionalAddressFamily),
        any::<bool>().prop_map(Attribute::EvenPort),
        any::<u8>().prop_map(Attribute::RequestedTransport),
        Just(Attribute::DontFragment),
        any::<[u8; 8]>().prop_map(Attribute::ReservationToken),
        (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(t, c, d)| Attribute::Icmp {
            icmp_type: t,
            icmp_code: c,
            error_data: d
        }),
        (0xC000u16..0xFFFF, bytes(30))
            .prop_map(|(attr_type, value)| Attribute::Unknown { attr_type, value }),
    ]
}

fn mtype() -> impl Strategy<Value = MessageType> {
    (0u16..0x1000, 0u8..4).prop_map(|(m, c)| {
        let class = match c {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        };
        MessageType::new(Method::new(m), class)
    })
}

proptest! {
    #[test]
    fn roundtrip(t in mtype(), tid in any::<[u8; 12]>(), attrs in proptest::collection::vec(attribute(), 0..12),
                 sign in any::<bool>(), sha256 in any::<bool>(), fp in any::<bool>()) {
        let key = IntegrityKey::short_term("pass").unwrap();
        let mut b = MessageBuilder::new(t, TransactionId(tid));
        for a in &attrs {
            b.add(a).unwrap();
        }
        if sign {
            if sha256 { b.add_message_integrity_sha256(&key).unwrap(); }
            else { b.add_message_integrity(&key).unwrap(); }
        }
        if fp { b.add_fingerprint().unwrap(); }
        let bytes = b.build();
        let m = Message::parse(bytes.clone()).unwrap();
        prop_assert_eq!(m.message_type(), t);
        prop_assert_eq!(m.transaction_id(), TransactionId(tid));
        prop_assert_eq!(m.has_fingerprint(), fp);
        let view = if sign { m.verify_integrity(&key).unwrap() } else {
            prop_assert_eq!(m.verify_integrity(&key).unwrap_err(), Error::IntegrityMissing);
            m.attributes_unverified()
        };
        let decoded: Vec<Attribute> = view.iter().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&decoded, &attrs);
        // Re-encoding what we decoded gives the same bytes.
        let mut b2 = MessageBuilder::new(t, TransactionId(tid));
        for a in &decoded { b2.add(a).unwrap(); }
        if sign {
            if sha256 { b2.add_message_integrity_sha256(&key).unwrap(); }
            else { b2.add_message_integrity(&key).unwrap(); }
        }
        if fp { b2.add_fingerprint().unwrap(); }
        prop_assert_eq!(b2.build(), bytes.clone());
        // Flipping any bit of a signed message breaks integrity or fingerprint (or parse).
        if sign {
            let mut bad = bytes.to_vec();
            // Only bytes covered by the HMAC: a FINGERPRINT after it is not protected (a
            // flipped FINGERPRINT type is just an unknown attribute after the integrity).
            let covered = bad.len() - if fp { 8 } else { 0 };
            let i = (tid[0] as usize * 7 + 3) % covered;
            bad[i] ^= 0x01;
            let ok = Message::parse(Bytes::from(bad)).map(|m| m.verify_integrity(&key).is_ok());
            prop_assert!(!matches!(ok, Ok(true)));
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = IntegrityKey::short_term("x").unwrap();
        if let Ok(m) = Message::parse(Bytes::from(data)) {
            let _ = m.verify_integrity(&key);
            let a = m.attributes_unverified();
            for x in a.iter() { let _ = x; }
            let _ = (a.username(), a.xor_mapped_address(), a.error_code(), a.priority(), a.data());
        }
    }

    #[test]
    fn never_panics_on_stunlike_bytes(t in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Valid header, random body: exercises the attribute walker.
        let mut data = vec![];
        data.extend_from_slice(&(t & 0x3fff).to_be_bytes());
        let len = body.len() & !3;
        data.extend_from_slice(&(len as u16).to_be_bytes());
        data.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        data.extend_from_slice(&[7; 12]);
        data.extend_from_slice(&body[..len]);
        let key = IntegrityKey::short_term("x").unwrap();
        if let Ok(m) = Message::parse(Bytes::from(data)) {
            let _ = m.verify_integrity(&key);
            for x in m.attributes_unverified().iter() { let _ = x; }
        }
    }
}

fn sample() -> Bytes {
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([9; 12]),
    );
    b.add(&Attribute::Username(Text::new("evtj:h6vY"))).unwrap();
    b.add(&Attribute::Priority(0x6e0001ff)).unwrap();
    b.add(&Attribute::IceControlling(42)).unwrap();
    b.add(&Attribute::UseCandidate).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    b.build()
}

#[test]
fn every_truncation_is_an_error() {
    let full = sample();
    assert_eq!(full.len(), 92);
    Message::parse(full.clone()).unwrap();
    for n in 0..full.len() {
        assert!(
            Message::parse(full.slice(..n)).is_err(),
            "prefix of {n} bytes parsed"
        );
    }
}

#[test]
fn truncated_with_fixed_length_field_is_an_error() {
    // A message cut short and its length field patched to match: integrity over a
    // truncated message must fail (or the structure be rejected).
    let full = sample().to_vec();
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    for cut in (24..full.len()).step_by(4) {
        let mut v = full[..cut].to_vec();
        let l = (cut - 20) as u16;
        v[2..4].copy_from_slice(&l.to_be_bytes());
        if let Ok(m) = Message::parse(Bytes::from(v)) {
            if cut == full.len() - 8 {
                // Only FINGERPRINT removed: still a valid, integrity-protected message.
                assert!(!m.has_fingerprint());
                assert!(m.verify_integrity(&key).is_ok());
            } else {
                assert!(m.verify_integrity(&key).is_err(), "cut at {cut} verified");
            }
        }
    }
}

#[test]
fn malformed_inputs_give_errors() {
    let good = sample().to_vec();
    // Not STUN (top bits).
    let mut v = good.clone();
    v[0] = 0x80;
    assert!(matches!(
        Message::parse(Bytes::from(v)),
        Err(Error::NotStun(0x80))
    ));
    // Bad cookie.
    let mut v = good.clone();
    v[4] = 0;
    assert!(matches!(
        Message::parse(Bytes::from(v)),
        Err(Error::BadMagicCookie(_))
    ));
    // Attribute past the end: USERNAME length inflated.
    let mut v = good.clone();
    v[22..24].copy_from_slice(&200u16.to_be_bytes());
    let e = Message::parse(Bytes::from(v)).unwrap_err();
    assert_eq!(
        e,
        Error::AttributeOverflow {
            attr_type: 0x0006,
            offset: 20,
            length: 200
        }
    );
    assert!(e.to_string().contains("0x0006 at offset 20"));
    // Fingerprint mismatch.
    let mut v = good.clone();
    let n = v.len();
    v[n - 1] ^= 1;
    assert!(matches!(
        Message::parse(Bytes::from(v)),
        Err(Error::FingerprintMismatch { .. })
    ));
    // Length not a multiple of 4.
    let mut v = good;
    v[3] = 1;
    assert!(matches!(
        Message::parse(Bytes::from(v)),
        Err(Error::UnalignedLength(_))
    ));
}

#[test]
fn unknown_comprehension_required_reported() {
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([1; 12]),
    );
    b.add(&Attribute::Unknown {
        attr_type: 0x7F01,
        value: Bytes::from_static(b"abc"),
    })
    .unwrap()
    .add(&Attribute::Unknown {
        attr_type: 0xC001,
        value: Bytes::new(),
    })
    .unwrap();
    let raw = b.build();
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.unknown_comprehension_required(), &[0x7F01]);
    let a = m.attributes_unverified();
    let all: Vec<_> = a.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        all[0],
        Attribute::Unknown {
            attr_type: 0x7F01,
            value: Bytes::from_static(b"abc")
        }
    );
    // A 420 answer listing them.
    let mut r = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::ErrorResponse),
        m.transaction_id(),
    );
    r.add(&Attribute::ErrorCode(ErrorCode {
        code: error_code::UNKNOWN_ATTRIBUTE,
        reason: Text::from_static("Unknown Attribute"),
    }))
    .unwrap()
    .add(&Attribute::UnknownAttributes(UnknownAttributes::new(
        m.unknown_comprehension_required(),
    )))
    .unwrap();
    let resp = Message::parse(r.build()).unwrap();
    let ra = resp.attributes_unverified();
    assert_eq!(ra.error_code().unwrap(), Some((420, "Unknown Attribute")));
    match ra.get(attr::UNKNOWN_ATTRIBUTES).unwrap().unwrap() {
        Attribute::UnknownAttributes(u) => assert_eq!(u.iter().collect::<Vec<_>>(), vec![0x7F01]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn attributes_after_integrity_are_ignored() {
    let key = IntegrityKey::short_term("k").unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([1; 12]),
    );
    b.add(&Attribute::Priority(1)).unwrap();
    b.add_message_integrity(&key).unwrap();
    // Injected after MI (not covered by the HMAC).
    b.add(&Attribute::UseCandidate).unwrap();
    b.add(&Attribute::Priority(2)).unwrap();
    let m = Message::parse(b.build()).unwrap();
    let a = m.verify_integrity(&key).unwrap();
    assert_eq!(a.priority().unwrap(), Some(1));
    assert!(!a.use_candidate());
    assert_eq!(a.iter().count(), 1);
}
