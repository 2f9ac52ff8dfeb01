//! SRTP protect/unprotect in thread CPU time: the quiet companion of the `srtp` criterion bench.
//!
//! Wall-clock criterion runs on a shared 2-core machine swing by ±20 %; the CPU time of the
//! measuring thread does not count the time it spends descheduled, so this is the figure to
//! compare implementations with. Same packets as `benches/srtp.rs` (12-byte RTP header, 1200-
//! or 160-byte payload, one SSRC, the sequence number advancing by one per packet and wrapping,
//! so every replay window and ROC estimate does its real work). Packets are prepared in batches
//! of 256 outside the timed loop (plaintexts for protect; the same implementation's protected
//! packets for unprotect), so no copy is timed; every implementation then runs its public API
//! over the batch: ferrtc in place, the others returning a new buffer, which is their API.
//!
//! Output: per operation, ns per packet, the best of `ROUNDS` rounds of `PACKETS` packets.
//!
//!     cargo bench -p ferrtc-benches --bench srtp_cpu            # everything
//!     cargo bench -p ferrtc-benches --bench srtp_cpu -- GCM 160  # lines containing all words
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use bytes::BytesMut;
use ferrtc_srtp::{Config, Context, ProtectionProfile};
use hmac::{Hmac, Mac};

const SSRC: u32 = 0xcafe_babe;
const KEY: [u8; 16] = [7; 16];
const GCM_SALT: [u8; 12] = [9; 12];
const CM_SALT: [u8; 14] = [9; 14];
const BATCH: usize = 256;
const PACKETS: usize = 256 * 1024;
const ROUNDS: usize = 5;

fn cpu_ns() -> f64 {
    cpu_time::ThreadTime::now().as_duration().as_nanos() as f64
}

fn plain(seq: u16, payload: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(12 + payload + 64);
    b.extend_from_slice(&[0x80, 96]);
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(u32::from(seq).wrapping_mul(960)).to_be_bytes());
    b.extend_from_slice(&SSRC.to_be_bytes());
    b.extend((0..payload).map(|i| i as u8));
    b
}

/// Runs `prepare` (untimed) and `op` (timed) over batches; returns the best ns per packet.
fn measure<T>(mut prepare: impl FnMut(u16) -> T, mut op: impl FnMut(&mut T)) -> f64 {
    let mut seq = 0u16;
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let mut total = 0.0;
        let mut batch: Vec<T> = Vec::with_capacity(BATCH);
        for _ in 0..PACKETS / BATCH {
            batch.clear();
            for _ in 0..BATCH {
                seq = seq.wrapping_add(1);
                batch.push(prepare(seq));
            }
            let t0 = cpu_ns();
            for p in batch.iter_mut() {
                op(p);
            }
            total += cpu_ns() - t0;
            // Dropped outside the timed part (the others' outputs are dropped inside: their
            // API allocates a new buffer per packet, and freeing it is part of its cost).
            batch.clear();
        }
        best = best.min(total / PACKETS as f64);
    }
    best
}

fn ferrtc(p: ProtectionProfile, salt: &[u8]) -> Context {
    Context::new(p, &KEY, salt, Config::default()).unwrap()
}

fn rtc(
    p: rtc_srtp::protection_profile::ProtectionProfile,
    salt: &[u8],
) -> rtc_srtp::context::Context {
    let provider = rtc_srtp::crypto::default_provider().unwrap();
    rtc_srtp::context::Context::new(&KEY, salt, p, None, None, provider.crypto()).unwrap()
}

fn webrtc(
    p: webrtc_srtp::protection_profile::ProtectionProfile,
    salt: &[u8],
) -> webrtc_srtp::context::Context {
    webrtc_srtp::context::Context::new(&KEY, salt, p, None, None).unwrap()
}

fn gcm_iv(seq: u16) -> [u8; 12] {
    let mut iv = GCM_SALT;
    iv[10] ^= (seq >> 8) as u8;
    iv[11] ^= seq as u8;
    iv
}

fn seq_of(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}

/// Bare AES-128-GCM seal of the payload with the header as AAD, tag appended: what
/// AEAD_AES_128_GCM must compute at least, per backend.
fn gcm_floors(payload: usize) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    {
        use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
        let k = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &KEY).unwrap());
        let t = measure(
            |s| plain(s, payload),
            |p| {
                let iv = gcm_iv(seq_of(p));
                let (h, b) = p.split_at_mut(12);
                let tag = k
                    .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&*h), b)
                    .unwrap();
                p.extend_from_slice(tag.as_ref());
            },
        );
        out.push(("floor: ring 0.17 seal", t));
    }
    {
        use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
        let k = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &KEY).unwrap());
        let t = measure(
            |s| plain(s, payload),
            |p| {
                let iv = gcm_iv(seq_of(p));
                let (h, b) = p.split_at_mut(12);
                let tag = k
                    .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&*h), b)
                    .unwrap();
                p.extend_from_slice(tag.as_ref());
            },
        );
        out.push(("floor: aws-lc-rs 1.19 seal", t));
        // The same key, opening: a protected batch made by sealing outside the timing.
        let t = measure(
            |s| {
                let mut p = plain(s, payload);
                let iv = gcm_iv(s);
                let (h, b) = p.split_at_mut(12);
                let tag = k
                    .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&*h), b)
                    .unwrap();
                p.extend_from_slice(tag.as_ref());
                p
            },
            |p| {
                let iv = gcm_iv(seq_of(p));
                let (h, b) = p.split_at_mut(12);
                let n = k
                    .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(&*h), b)
                    .unwrap()
                    .len();
                p.truncate(12 + n);
            },
        );
        out.push(("floor: aws-lc-rs 1.19 open (in place)", t));
    }
    {
        // OpenSSL 3 through the safe `openssl` crate, one cipher context keyed once, only
        // the IV reset per packet (the cheapest way its EVP API allows).
        use openssl::cipher::Cipher;
        use openssl::cipher_ctx::CipherCtx;
        let mut ctx = CipherCtx::new().unwrap();
        ctx.encrypt_init(Some(Cipher::aes_128_gcm()), Some(&KEY), None)
            .unwrap();
        let t = measure(
            |s| plain(s, payload),
            |p| {
                let iv = gcm_iv(seq_of(p));
                ctx.encrypt_init(None, None, Some(&iv)).unwrap();
                let (h, b) = p.split_at_mut(12);
                ctx.cipher_update(h, None).unwrap();
                let n = b.len();
                ctx.cipher_update_inplace(b, n).unwrap();
                ctx.cipher_final(&mut []).unwrap();
                let mut tag = [0u8; 16];
                ctx.tag(&mut tag).unwrap();
                p.extend_from_slice(&tag);
            },
        );
        out.push(("floor: openssl 3.0 CipherCtx reused, IV reset", t));
    }
    {
        use aes_gcm::aead::AeadInPlace;
        let k = aes_gcm::Aes128Gcm::new_from_slice(&KEY).unwrap();
        let t = measure(
            |s| plain(s, payload),
            |p| {
                let iv = gcm_iv(seq_of(p));
                let (h, b) = p.split_at_mut(12);
                let tag = k.encrypt_in_place_detached((&iv).into(), h, b).unwrap();
                p.extend_from_slice(&tag);
            },
        );
        out.push(("floor: RustCrypto aes-gcm 0.10 seal", t));
    }
    out
}

/// Raw AES-128-CTR over the payload + HMAC-SHA1 over header, payload and ROC, the 80-bit
/// tag appended (RustCrypto with AES-NI and SHA-NI, ferrtc's CM backend).
fn cm_floor(payload: usize) -> f64 {
    let aes = aes::Aes128Enc::new_from_slice(&KEY).unwrap();
    let mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&[3; 20]).unwrap();
    measure(
        |s| plain(s, payload),
        |p| {
            let seq = seq_of(p);
            let mut iv = [0u8; 16];
            iv[..14].copy_from_slice(&CM_SALT);
            iv[12] ^= (seq >> 8) as u8;
            iv[13] ^= seq as u8;
            let core = ctr::CtrCore::<&aes::Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
                &aes,
                (&iv).into(),
            );
            StreamCipherCoreWrapper::from_core(core).apply_keystream(&mut p[12..]);
            let mut m = mac.clone();
            m.update(p);
            m.update(&[0, 0, 0, 0]);
            let tag = m.finalize().into_bytes();
            p.extend_from_slice(&tag[..10]);
        },
    )
}

fn main() {
    // `cargo bench` passes `--bench`; other words filter the lines to run.
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |line: &str| words.iter().all(|w| line.contains(w.as_str()));
    type Profiles = (
        &'static str,
        ProtectionProfile,
        rtc_srtp::protection_profile::ProtectionProfile,
        webrtc_srtp::protection_profile::ProtectionProfile,
        &'static [u8],
    );
    let profiles: [Profiles; 2] = [
        (
            "AEAD_AES_128_GCM",
            ProtectionProfile::AeadAes128Gcm,
            rtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
            webrtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
            &GCM_SALT,
        ),
        (
            "AES_CM_128_HMAC_SHA1_80",
            ProtectionProfile::Aes128CmHmacSha1_80,
            rtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
            webrtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
            &CM_SALT,
        ),
    ];
    println!("thread CPU time per packet, best of {ROUNDS} rounds of {PACKETS} packets");
    for (name, fp, rp, wp, salt) in profiles {
        for payload in [1200usize, 160] {
            let title = format!("srtp/protect {name} {payload}B");
            if wanted(&title) {
                println!("{title}");
                let mut c = ferrtc(fp, salt);
                let f = measure(|s| plain(s, payload), |p| c.protect_rtp(p).unwrap());
                let mut c = rtc(rp, salt);
                let r = measure(
                    |s| plain(s, payload),
                    |p| drop(black_box(c.encrypt_rtp(p).unwrap())),
                );
                let mut c = webrtc(wp, salt);
                let w = measure(
                    |s| plain(s, payload),
                    |p| drop(black_box(c.encrypt_rtp(p).unwrap())),
                );
                report(f, r, w);
                let floors = if name.contains("GCM") {
                    gcm_floors(payload)
                } else {
                    vec![("floor: AES-CTR+HMAC-SHA1 (RustCrypto)", cm_floor(payload))]
                };
                for (n, t) in floors {
                    println!("  {n:<46} {t:>8.1} ns   ferrtc / floor {:.2}", f / t);
                }
            }
            let title = format!("srtp/unprotect {name} {payload}B");
            if wanted(&title) {
                println!("{title}");
                let (mut tx, mut rx) = (ferrtc(fp, salt), ferrtc(fp, salt));
                let f = measure(
                    |s| {
                        let mut p = plain(s, payload);
                        tx.protect_rtp(&mut p).unwrap();
                        p
                    },
                    |p| rx.unprotect_rtp(p).unwrap(),
                );
                let (mut tx, mut rx) = (rtc(rp, salt), rtc(rp, salt));
                let r = measure(
                    |s| tx.encrypt_rtp(&plain(s, payload)).unwrap(),
                    |p| drop(black_box(rx.decrypt_rtp(p).unwrap())),
                );
                let (mut tx, mut rx) = (webrtc(wp, salt), webrtc(wp, salt));
                let w = measure(
                    |s| tx.encrypt_rtp(&plain(s, payload)).unwrap(),
                    |p| drop(black_box(rx.decrypt_rtp(p).unwrap())),
                );
                report(f, r, w);
            }
        }
    }
}

fn report(f: f64, r: f64, w: f64) {
    println!("  {:<46} {f:>8.1} ns", "ferrtc");
    println!(
        "  {:<46} {r:>8.1} ns   ferrtc / rtc {:.2}",
        "rtc 0.21",
        f / r
    );
    println!(
        "  {:<46} {w:>8.1} ns   webrtc / ferrtc {:.2}x",
        "webrtc-rs 0.17",
        w / f
    );
}
