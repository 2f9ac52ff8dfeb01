//! Hostile SRTP/SRTCP input (issue 15): a table of malformed and forged packets, each with the
//! answer RFC 3711 gives next to it, run against AES-CM/HMAC-SHA1-80 and AEAD-AES-128-GCM
//! contexts. For every case: the expected error, the caller's buffer unchanged, no stream
//! state created by a packet that did not authenticate (RFC 3711 §3.3: the replay list and
//! ROC are updated only after authentication), and a genuine packet still unprotects
//! afterwards. Sources are named next to the cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::BytesMut;
use ferrtc_srtp::{Config, Context, Error, ProtectionProfile};

const PROFILES: [(ProtectionProfile, usize, usize); 2] = [
    (ProtectionProfile::Aes128CmHmacSha1_80, 16, 14),
    (ProtectionProfile::AeadAes128Gcm, 16, 12),
];

fn pair(profile: ProtectionProfile, key_len: usize, salt_len: usize) -> (Context, Context) {
    let key: Vec<u8> = (0..key_len as u8).collect();
    let salt: Vec<u8> = (100..100 + salt_len as u8).collect();
    let tx = Context::new(profile, &key, &salt, Config::default()).unwrap();
    let rx = Context::new(profile, &key, &salt, Config::default()).unwrap();
    (tx, rx)
}

fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> BytesMut {
    let mut b = BytesMut::with_capacity(1500);
    b.extend_from_slice(&[0x80, 96]);
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&3000u32.wrapping_mul(u32::from(seq)).to_be_bytes());
    b.extend_from_slice(&ssrc.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// An RR with one report block, RTCP version 2.
fn rtcp_rr(ssrc: u32) -> BytesMut {
    let mut b = BytesMut::with_capacity(1500);
    b.extend_from_slice(&[0x81, 201, 0, 7]);
    b.extend_from_slice(&ssrc.to_be_bytes());
    b.extend_from_slice(&[0x11; 24]);
    b
}

fn protected_rtp(tx: &mut Context, seq: u16, ssrc: u32) -> BytesMut {
    let mut p = rtp(seq, ssrc, &[0xab; 200]);
    tx.protect_rtp(&mut p).unwrap();
    p
}

/// What a case expects.
type Check = fn(&Error) -> bool;

/// Unprotects `input` as RTP (or RTCP) and checks the error and the untouched buffer.
fn expect_rtp(rx: &mut Context, name: &str, input: &[u8], check: Check) {
    let mut b = BytesMut::from(input);
    let e = rx
        .unprotect_rtp(&mut b)
        .expect_err(&format!("{name}: accepted"));
    assert!(check(&e), "{name}: unexpected error {e:?}");
    assert_eq!(&b[..], input, "{name}: buffer changed on error");
}

fn expect_rtcp(rx: &mut Context, name: &str, input: &[u8], check: Check) {
    let mut b = BytesMut::from(input);
    let e = rx
        .unprotect_rtcp(&mut b)
        .expect_err(&format!("{name}: accepted"));
    assert!(check(&e), "{name}: unexpected error {e:?}");
    assert_eq!(&b[..], input, "{name}: buffer changed on error");
}

fn too_short(e: &Error) -> bool {
    matches!(e, Error::TooShort { .. })
}
fn bad_version(e: &Error) -> bool {
    matches!(e, Error::BadVersion { .. })
}
fn auth_failed(e: &Error) -> bool {
    matches!(e, Error::AuthFailed { .. })
}
fn replay(e: &Error) -> bool {
    matches!(e, Error::Replay { .. })
}
fn too_old(e: &Error) -> bool {
    matches!(e, Error::TooOld { .. })
}
fn short_or_auth(e: &Error) -> bool {
    too_short(e) || auth_failed(e)
}

#[test]
fn malformed_and_forged_srtp_is_refused_and_changes_nothing() {
    for (profile, kl, sl) in PROFILES {
        let (mut tx, mut rx) = pair(profile, kl, sl);
        let ssrc = 0x1234_5678;
        // A genuine first packet sets up the stream.
        let mut first = protected_rtp(&mut tx, 1000, ssrc);
        rx.unprotect_rtp(&mut first).unwrap();
        let genuine = protected_rtp(&mut tx, 1001, ssrc);
        let tag_at = genuine.len() - 1;

        let mut flipped_tag = genuine.to_vec();
        flipped_tag[tag_at] ^= 1;
        let mut flipped_payload = genuine.to_vec();
        flipped_payload[20] ^= 0x80;
        let mut flipped_ssrc = genuine.to_vec();
        flipped_ssrc[11] ^= 1;
        let mut v0 = genuine.to_vec();
        v0[0] &= 0x3f;
        // CSRC count 15: the header claims 12 + 60 bytes before the payload.
        let mut csrcs = vec![0x8f, 96, 0, 1, 0, 0, 0, 0];
        csrcs.extend_from_slice(&ssrc.to_be_bytes());
        csrcs.extend_from_slice(&[0; 20]);
        // X set, extension header announcing 0xffff words.
        let mut ext = vec![0x90, 96, 0, 2, 0, 0, 0, 0];
        ext.extend_from_slice(&ssrc.to_be_bytes());
        ext.extend_from_slice(&[0xbe, 0xde, 0xff, 0xff]);
        ext.extend_from_slice(&[0; 16]);
        // Another key: same layout, other tag (a peer that lost its keys, or a forger).
        let other_key = {
            let key: Vec<u8> = (1..=kl as u8).collect();
            let salt: Vec<u8> = (100..100 + sl as u8).collect();
            let mut c = Context::new(profile, &key, &salt, Config::default()).unwrap();
            let mut p = rtp(1002, ssrc, &[0xab; 200]);
            c.protect_rtp(&mut p).unwrap();
            p.to_vec()
        };

        let cases: Vec<(&str, Vec<u8>, Check)> = vec![
            // RFC 3711 §3.1 / §3.3: no room for the header and tag.
            ("empty datagram", vec![], too_short),
            ("11 bytes", vec![0x80; 11], too_short),
            ("header only, no tag", genuine[..12].to_vec(), short_or_auth),
            // RFC 3550 §5.1: version 2 only.
            ("version 0", v0, bad_version),
            // RTP header fields that overrun the datagram (jitsi-rtp#73-style length bugs).
            ("15 CSRCs in 32 bytes", csrcs, short_or_auth),
            ("extension of 0xffff words", ext, short_or_auth),
            // RFC 3711 §3.4: a tag that does not verify is dropped.
            ("tag bit flipped", flipped_tag, auth_failed),
            ("payload bit flipped", flipped_payload, auth_failed),
            ("SSRC changed after protection", flipped_ssrc, auth_failed),
            ("other master key", other_key, auth_failed),
        ];
        for (name, input, check) in &cases {
            expect_rtp(&mut rx, &format!("{profile:?} {name}"), input, *check);
        }

        // The genuine packet still unprotects after all of that, once; then it is a replay
        // (RFC 3711 §3.3.2).
        let mut g = genuine.clone();
        rx.unprotect_rtp(&mut g).unwrap();
        assert_eq!(&g[12..], &[0xab; 200][..], "{profile:?}: genuine payload");
        expect_rtp(&mut rx, &format!("{profile:?} replay"), &genuine, replay);

        // Behind the replay window (1024 by default): too old.
        let old = protected_rtp(&mut tx, 1003, ssrc);
        for seq in 1004..1004 + 1100 {
            let mut p = protected_rtp(&mut tx, seq, ssrc);
            rx.unprotect_rtp(&mut p).unwrap();
        }
        expect_rtp(
            &mut rx,
            &format!("{profile:?} behind the window"),
            &old,
            too_old,
        );
    }
}

/// RFC 3711 §3.3: a stream's state is created only by a packet that authenticates. Forged
/// packets with thousands of SSRCs must not fill the stream table (a memory and denial
/// attack: the next genuine SSRC would be refused with TooManyStreams).
#[test]
fn forged_packets_with_many_ssrcs_create_no_streams() {
    for (profile, kl, sl) in PROFILES {
        let (mut tx, mut rx) = pair(profile, kl, sl);
        let mut forger = {
            let key = vec![0x55; kl];
            let salt = vec![0x66; sl];
            let cfg = Config {
                max_streams: 8192,
                ..Config::default()
            };
            Context::new(profile, &key, &salt, cfg).unwrap()
        };
        // More forged SSRCs than the receiver's stream limit (1024 by default).
        for ssrc in 0..5_000u32 {
            let mut p = rtp(1, ssrc.wrapping_mul(2_654_435_761), &[1; 50]);
            forger.protect_rtp(&mut p).unwrap();
            let mut b = p.clone();
            assert!(matches!(
                rx.unprotect_rtp(&mut b),
                Err(Error::AuthFailed { .. })
            ));
        }
        assert_eq!(
            rx.stream_count(),
            0,
            "{profile:?}: forged packets made streams"
        );
        let mut g = protected_rtp(&mut tx, 7, 0xfeed_f00d);
        rx.unprotect_rtp(&mut g).unwrap();
        assert_eq!(rx.stream_count(), 1);
    }
}

#[test]
fn malformed_and_forged_srtcp_is_refused_and_changes_nothing() {
    for (profile, kl, sl) in PROFILES {
        let (mut tx, mut rx) = pair(profile, kl, sl);
        let ssrc = 0xcafe_0001;
        let mut genuine = rtcp_rr(ssrc);
        tx.protect_rtcp(&mut genuine).unwrap();
        let mut flipped_tag = genuine.to_vec();
        let last = flipped_tag.len() - 1;
        flipped_tag[last] ^= 1;
        // RFC 3711 §3.4: the E flag and SRTCP index are authenticated.
        let e_at = genuine.len()
            - if profile == ProtectionProfile::AeadAes128Gcm {
                4
            } else {
                14
            };
        let mut e_cleared = genuine.to_vec();
        e_cleared[e_at] ^= 0x80;
        let mut v1 = genuine.to_vec();
        v1[0] = 0x41;
        let cases: Vec<(&str, Vec<u8>, Check)> = vec![
            ("empty", vec![], too_short),
            (
                "RTCP header only",
                vec![0x80, 201, 0, 1, 0, 0, 0, 1],
                too_short,
            ),
            (
                "no room for E+index and tag",
                genuine[..12].to_vec(),
                short_or_auth,
            ),
            ("version 1", v1, |e| bad_version(e) || auth_failed(e)),
            ("tag bit flipped", flipped_tag, auth_failed),
            ("E flag flipped", e_cleared, auth_failed),
        ];
        for (name, input, check) in &cases {
            expect_rtcp(&mut rx, &format!("{profile:?} {name}"), input, *check);
        }
        let mut g = genuine.clone();
        rx.unprotect_rtcp(&mut g).unwrap();
        assert_eq!(&g[..], &rtcp_rr(ssrc)[..], "{profile:?}: genuine RR");
        expect_rtcp(
            &mut rx,
            &format!("{profile:?} SRTCP replay"),
            &genuine,
            replay,
        );
    }
}
