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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn rtp_round_trip(p in profile(), mki in mki(), pkt in rtp_packet()) {
        let config = Config { mki, ..Config::default() };
        let (mut tx, mut rx) = pair(p, config.clone());
        let mut buf = BytesMut::from(&pkt[..]);
        tx.protect_rtp(&mut buf).unwrap();
        prop_assert_eq!(buf.len(), pkt.len() + p.rtp_tag_len() + tx.max_overhead() - 4 - p.rtp_tag_len().max(p.rtcp_tag_len()));
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
        let config = Config { mki, ..Config::default() };
        let (mut tx, mut rx) = pair(p, config);
        let mut pkt = vec![0x81, 200, 0, 0];
        pkt.extend_from_slice(&ssrc.to_be_bytes());
        pkt.extend_from_slice(&body);
        let mut buf = BytesMut::from(&pkt[..]);
        tx.protect_rtcp(&mut buf).unwrap();
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
