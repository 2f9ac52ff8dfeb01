//! RFC 3711 B.2/B.3, RFC 6188 §7 and RFC 7714 §16/§17 test vectors (tests/data/).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::BytesMut;
use ferrtc_srtp::kdf::{derive, Label};
use ferrtc_srtp::{Config, Context, Error, ProtectionProfile, SessionKeys};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn keys(key: &[u8], salt: &[u8]) -> SessionKeys {
    SessionKeys {
        rtp_key: key.to_vec(),
        rtp_salt: salt.to_vec(),
        rtp_auth_key: vec![0; 20],
        rtcp_key: key.to_vec(),
        rtcp_salt: salt.to_vec(),
        rtcp_auth_key: vec![0; 20],
    }
}

#[test]
fn rfc3711_b3_key_derivation() {
    let d = load("rfc3711_srtp_aes_cm_f8_kdf.json");
    let v = &d["key_derivation_B3"];
    let (mk, ms) = (hx(&v["master_key_hex"]), hx(&v["master_salt_hex"]));
    let mut k = vec![0; 16];
    assert!(derive(&mk, &ms, Label::SrtpEncryption, &mut k));
    assert_eq!(k, hx(&v["cipher_key_hex"]));
    let mut s = vec![0; 14];
    assert!(derive(&mk, &ms, Label::SrtpSalt, &mut s));
    assert_eq!(s, hx(&v["cipher_salt_hex"]));
    let want = hx(&v["auth_key_94_octets_hex"]);
    let mut a = vec![0; want.len()];
    assert!(derive(&mk, &ms, Label::SrtpAuth, &mut a));
    assert_eq!(a, want);
}

#[test]
fn rfc6188_aes256_prf() {
    let d = load("rfc6188_srtp_aes192_aes256.json");
    let v = &d["aes_256_cm_prf_kdf_7_2"];
    let (mk, ms) = (hx(&v["master_key_hex"]), hx(&v["master_salt_hex"]));
    let mut k = vec![0; 32];
    assert!(derive(&mk, &ms, Label::SrtpEncryption, &mut k));
    assert_eq!(k, hx(&v["cipher_key_hex"]));
    let mut s = vec![0; 14];
    assert!(derive(&mk, &ms, Label::SrtpSalt, &mut s));
    assert_eq!(s, hx(&v["cipher_salt_hex"]));
    let mut a = vec![0; 20];
    assert!(derive(&mk, &ms, Label::SrtpAuth, &mut a));
    assert_eq!(a, hx(&v["auth_key_hex"]));
    // AES-192 (RFC 6188 §7.3/7.4) has no DTLS-SRTP profile and is not supported.
    let v = &d["aes_192_cm_prf_kdf_7_4"];
    assert!(!derive(
        &hx(&v["master_key_hex"]),
        &hx(&v["master_salt_hex"]),
        Label::SrtpEncryption,
        &mut k
    ));
}

/// Encrypts a zero payload of SSRC 0, SEQ 0, ROC 0: the ciphertext is the keystream.
fn keystream_check(profile: ProtectionProfile, v: &Value) {
    let key = hx(&v["session_key_hex"]);
    let iv = hx(&v["session_salt_shifted_hex"]);
    let ctx_keys = keys(&key, &iv[..14]);
    let mut ctx = Context::with_session_keys(profile, &ctx_keys, Config::default()).unwrap();
    let blocks = v["blocks"].as_array().unwrap();
    let iv_num = u128::from_be_bytes(iv.clone().try_into().unwrap());
    let last = blocks
        .iter()
        .map(|b| u128::from_be_bytes(hx(&b["counter_block_hex"]).try_into().unwrap()) - iv_num)
        .max()
        .unwrap() as usize;
    let mut buf = BytesMut::with_capacity(12 + 16 * (last + 1) + 16);
    buf.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    buf.resize(12 + 16 * (last + 1), 0);
    ctx.protect_rtp(&mut buf).unwrap();
    for b in blocks {
        let n = (u128::from_be_bytes(hx(&b["counter_block_hex"]).try_into().unwrap()) - iv_num)
            as usize;
        assert_eq!(
            &buf[12 + 16 * n..12 + 16 * (n + 1)],
            &hx(&b["keystream_hex"])[..],
            "block {n}"
        );
    }
}

#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let d = load("rfc3711_srtp_aes_cm_f8_kdf.json");
    keystream_check(
        ProtectionProfile::Aes128CmHmacSha1_80,
        &d["aes_cm_keystream_B2"],
    );
}

#[test]
fn rfc6188_aes256_cm_keystream() {
    let d = load("rfc6188_srtp_aes192_aes256.json");
    keystream_check(
        ProtectionProfile::Aes256CmHmacSha1_80,
        &d["aes_256_cm_keystream_7_1"],
    );
}

fn gcm_profile(key: &[u8]) -> ProtectionProfile {
    match key.len() {
        16 => ProtectionProfile::AeadAes128Gcm,
        32 => ProtectionProfile::AeadAes256Gcm,
        n => panic!("key length {n}"),
    }
}

#[test]
fn rfc7714_gcm() {
    let d = load("rfc7714_srtp_aes_gcm.json");
    let mut ran = 0;
    for v in d["vectors"].as_array().unwrap() {
        let key = hx(&v["key_hex"]);
        let salt = hx(&v["salt_hex"]);
        let p = gcm_profile(&key);
        let mut ctx = Context::with_session_keys(p, &keys(&key, &salt), Config::default()).unwrap();
        let section = v["section"].as_str().unwrap();
        match v["operation"].as_str().unwrap() {
            "srtp_encrypt" => {
                let mut buf = BytesMut::from(&hx(&v["rtp_packet_hex"])[..]);
                ctx.protect_rtp(&mut buf).unwrap();
                assert_eq!(&buf[..], &hx(&v["srtp_packet_hex"])[..], "{section}");
            }
            "srtp_decrypt" => {
                let srtp = hx(&v["srtp_packet_hex"]);
                let mut buf = BytesMut::from(&srtp[..]);
                ctx.unprotect_rtp(&mut buf).unwrap();
                assert_eq!(
                    &buf[12..],
                    &hx(&v["decrypted_payload_hex"])[..],
                    "{section}"
                );
                // a flipped tag bit fails and leaves the buffer as it was
                let mut bad = srtp.clone();
                *bad.last_mut().unwrap() ^= 1;
                let mut ctx =
                    Context::with_session_keys(p, &keys(&key, &salt), Config::default()).unwrap();
                let mut buf = BytesMut::from(&bad[..]);
                assert!(matches!(
                    ctx.unprotect_rtp(&mut buf),
                    Err(Error::AuthFailed { .. })
                ));
                assert_eq!(&buf[..], &bad[..]);
            }
            "srtcp_encrypt" => {
                let rtcp = hx(&v["rtcp_packet_hex"]);
                let index = v["srtcp_index"].as_u64().unwrap() as u32;
                let ssrc = u32::from_be_bytes(rtcp[4..8].try_into().unwrap());
                ctx.set_srtcp_index(ssrc, index - 1).unwrap();
                let mut buf = BytesMut::from(&rtcp[..]);
                ctx.protect_rtcp(&mut buf).unwrap();
                assert_eq!(&buf[..], &hx(&v["srtcp_packet_hex"])[..], "{section}");
            }
            "srtcp_decrypt" | "srtcp_verify_tag_only" => {
                let srtcp = hx(&v["srtcp_packet_hex"]);
                let mut buf = BytesMut::from(&srtcp[..]);
                ctx.unprotect_rtcp(&mut buf).unwrap();
                assert_eq!(&buf[..], &hx(&v["rtcp_packet_hex"])[..], "{section}");
                let mut bad = srtcp.clone();
                bad[9] ^= 0x40;
                let mut ctx =
                    Context::with_session_keys(p, &keys(&key, &salt), Config::default()).unwrap();
                let mut buf = BytesMut::from(&bad[..]);
                assert!(matches!(
                    ctx.unprotect_rtcp(&mut buf),
                    Err(Error::AuthFailed { .. })
                ));
                assert_eq!(&buf[..], &bad[..]);
            }
            // GCM authentication-only SRTP (16.x.3/4) and sending unencrypted SRTCP
            // (17.3) are not offered by any DTLS-SRTP profile.
            "srtp_tag_only" | "srtp_verify_tag_only" | "srtcp_tag_only" => continue,
            op => panic!("unknown operation {op}"),
        }
        ran += 1;
    }
    assert_eq!(ran, 7);
}
