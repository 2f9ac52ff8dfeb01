//! Property tests: round trips for every profile, truncation, and never panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
use bytes::BytesMut;
use common::pair;
use ferrtc_srtp::{Config, Context, Error, ProtectionProfile};
use proptest::prelude::*;

fn profile() -> impl Strategy<Value = ProtectionProfile> {
    proptest::sample::select(ProtectionProfile::ALL.to_vec())
}

fn mki() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 1..5))
}

/// An RTP packet with random CSRCs, extension and payload.
fn rtp_packet() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..4,
        any::<bool>(),
        0usize..4,
        any::<[u8; 11]>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(cc, x, ext_words, fixed, payload)| {
            let mut p = vec![0x80 | cc | if x { 0x10 } else { 0 }];
            p.extend_from_slice(&fixed);
            p.extend(std::iter::repeat_n(0xcc, 4 * cc as usize));
            if x {
                p.extend_from_slice(&[0xbe, 0xde, 0, ext_words as u8]);
                p.extend(std::iter::repeat_n(0xee, 4 * ext_words));
            }
            p.extend_from_slice(&payload);
            p
        })
}

/// SRTP and SRTCP authentication tag lengths in bytes, written from the RFCs rather than read
/// from the code under test: RFC 3711 §5.2 / RFC 5764 §4.1.2 (HMAC-SHA1 80 bits, or 32 bits for
/// SRTP only with the _32 profiles; SRTCP always 80) and RFC 7714 §13 (AEAD tag 16 bytes).
fn rfc_tag_lens(p: ProtectionProfile) -> (usize, usize) {
    match p {
        ProtectionProfile::Aes128CmHmacSha1_80
        | ProtectionProfile::Aes256CmHmacSha1_80
        | ProtectionProfile::NullHmacSha1_80 => (10, 10),
        ProtectionProfile::Aes128CmHmacSha1_32
        | ProtectionProfile::Aes256CmHmacSha1_32
        | ProtectionProfile::NullHmacSha1_32 => (4, 10),
        ProtectionProfile::AeadAes128Gcm | ProtectionProfile::AeadAes256Gcm => (16, 16),
        other => panic!("{other:?}: add its RFC tag lengths here"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn rtp_round_trip(p in profile(), mki in mki(), pkt in rtp_packet()) {
        let config = Config { mki, ..Config::default() };
        let (mut tx, mut rx) = pair(p, config.clone());
        let mut buf = BytesMut::from(&pkt[..]);
        tx.protect_rtp(&mut buf).unwrap();
        // RFC 3711 §3.1: the SRTP packet is the RTP packet, the optional MKI and the tag.
        let mki_len = config.mki.as_ref().map_or(0, Vec::len);
        prop_assert_eq!(buf.len(), pkt.len() + mki_len + rfc_tag_lens(p).0);
        let protected = buf.clone();
        // every truncation fails and leaves the buffer untouched
        for n in 0..protected.len() {
            let mut rx2 = pair(p, config.clone()).1;
            let mut t = BytesMut::from(&protected[..n]);
            prop_assert!(rx2.unprotect_rtp(&mut t).is_err());
            prop_assert_eq!(&t[..], &protected[..n]);
        }
        rx.unprotect_rtp(&mut buf).unwrap();
        prop_assert_eq!(&buf[..], &pkt[..]);
    }

    #[test]
    fn rtcp_round_trip(p in profile(), mki in mki(), body in proptest::collection::vec(any::<u8>(), 0..200), ssrc: u32) {
        let mki_len = mki.as_ref().map_or(0, Vec::len);
        let config = Config { mki, ..Config::default() };
        let (mut tx, mut rx) = pair(p, config);
        let mut pkt = vec![0x81, 200, 0, 0];
        pkt.extend_from_slice(&ssrc.to_be_bytes());
        pkt.extend_from_slice(&body);
        let mut buf = BytesMut::from(&pkt[..]);
        tx.protect_rtcp(&mut buf).unwrap();
        // RFC 3711 §3.4: SRTCP adds the E flag + 31-bit index word, the optional MKI and the tag.
        prop_assert_eq!(buf.len(), pkt.len() + 4 + mki_len + rfc_tag_lens(p).1);
        let protected = buf.clone();
        for n in 0..protected.len() {
            let mut t = BytesMut::from(&protected[..n]);
            prop_assert!(rx.unprotect_rtcp(&mut t).is_err());
            prop_assert_eq!(&t[..], &protected[..n]);
        }
        // any single bit flip is rejected and leaves the buffer untouched
        let bit = (ssrc as usize) % (protected.len() * 8);
        let mut flipped = protected.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let mut t = flipped.clone();
        prop_assert!(rx.unprotect_rtcp(&mut t).is_err());
        prop_assert_eq!(&t, &flipped);
        rx.unprotect_rtcp(&mut buf).unwrap();
        prop_assert_eq!(&buf[..], &pkt[..]);
    }

    #[test]
    fn rtp_bit_flip_rejected(p in profile(), pkt in rtp_packet(), bit: usize) {
        let (mut tx, mut rx) = pair(p, Config::default());
        let mut buf = BytesMut::from(&pkt[..]);
        tx.protect_rtp(&mut buf).unwrap();
        let bit = bit % (buf.len() * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        let before = buf.clone();
        prop_assert!(rx.unprotect_rtp(&mut buf).is_err());
        prop_assert_eq!(buf, before);
    }

    #[test]
    fn arbitrary_bytes_never_panic(p in profile(), mki in mki(), data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let key = vec![1u8; p.key_len()];
        let salt = vec![2u8; p.salt_len()];
        let mut ctx = Context::new(p, &key, &salt, Config { mki, ..Config::default() }).unwrap();
        let mut b = BytesMut::from(&data[..]);
        let r = ctx.unprotect_rtp(&mut b);
        prop_assert!(r.is_err());
        prop_assert_eq!(&b[..], &data[..]);
        let r = ctx.unprotect_rtcp(&mut b);
        prop_assert!(r.is_err());
        prop_assert_eq!(&b[..], &data[..]);
        // protect never panics either
        let _ = ctx.protect_rtp(&mut b.clone());
        let _ = ctx.protect_rtcp(&mut b);
    }
}

#[test]
fn wrong_mki_is_reported() {
    let (mut tx, _) = pair(
        ProtectionProfile::Aes128CmHmacSha1_80,
        Config {
            mki: Some(vec![1, 2]),
            ..Config::default()
        },
    );
    let (_, mut rx) = pair(
        ProtectionProfile::Aes128CmHmacSha1_80,
        Config {
            mki: Some(vec![1, 3]),
            ..Config::default()
        },
    );
    let mut b = common::rtp(1, 1, 10);
    tx.protect_rtp(&mut b).unwrap();
    assert!(matches!(
        rx.unprotect_rtp(&mut b),
        Err(Error::MkiMismatch { .. })
    ));
}
