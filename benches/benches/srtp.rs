//! SRTP protect/unprotect: ferrtc beside rtc-srtp 0.21 (ring) and webrtc-srtp 0.17, and
//! the raw-primitive floors (ring's and aws-lc's AES-GCM seal: ferrtc uses aws-lc-rs).
//!
//! Every implementation gets the same packets: a 12-byte RTP header and a 1200- or
//! 160-byte payload, one SSRC, the sequence number advancing by one per packet (so the
//! replay windows and ROC logic do their real work). Protect takes a plaintext packet
//! and yields the SRTP packet; unprotect takes the SRTP packet (made by the same
//! implementation's sender, outside the timing) and yields the plaintext. ferrtc works
//! in place; the others return a new buffer, which is their API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use ferrtc_srtp::{Config, Context, ProtectionProfile};
use hmac::{Hmac, Mac};

const SSRC: u32 = 0xcafe_babe;
const GCM_KEY: [u8; 16] = [7; 16];
const GCM_SALT: [u8; 12] = [9; 12];
const CM_KEY: [u8; 16] = [7; 16];
const CM_SALT: [u8; 14] = [9; 14];

fn plain(seq: u16, payload: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(12 + payload + 32);
    b.extend_from_slice(&[0x80, 96]);
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    b.extend_from_slice(&SSRC.to_be_bytes());
    b.extend((0..payload).map(|i| i as u8));
    b
}

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    ferrtc: ProtectionProfile,
    rtc: rtc_srtp::protection_profile::ProtectionProfile,
    webrtc: webrtc_srtp::protection_profile::ProtectionProfile,
    key: &'static [u8],
    salt: &'static [u8],
}

fn cases() -> [Case; 2] {
    [
        Case {
            name: "AEAD_AES_128_GCM",
            ferrtc: ProtectionProfile::AeadAes128Gcm,
            rtc: rtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
            webrtc: webrtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
            key: &GCM_KEY,
            salt: &GCM_SALT,
        },
        Case {
            name: "AES_CM_128_HMAC_SHA1_80",
            ferrtc: ProtectionProfile::Aes128CmHmacSha1_80,
            rtc: rtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
            webrtc: webrtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
            key: &CM_KEY,
            salt: &CM_SALT,
        },
    ]
}

fn ferrtc_ctx(c: &Case) -> Context {
    Context::new(c.ferrtc, c.key, c.salt, Config::default()).unwrap()
}

fn rtc_ctx(c: &Case) -> rtc_srtp::context::Context {
    let provider = rtc_srtp::crypto::default_provider().unwrap();
    rtc_srtp::context::Context::new(c.key, c.salt, c.rtc, None, None, provider.crypto()).unwrap()
}

fn webrtc_ctx(c: &Case) -> webrtc_srtp::context::Context {
    webrtc_srtp::context::Context::new(c.key, c.salt, c.webrtc, None, None).unwrap()
}

/// Raw AES-128-CTR over the payload + HMAC-SHA1 over header, payload and ROC: what
/// AES_CM_128_HMAC_SHA1_80 must compute at least, with the fastest primitives measured
/// (RustCrypto `aes`/`ctr` with AES-NI, `hmac`/`sha1` with SHA-NI).
struct CmFloor {
    aes: aes::Aes128Enc,
    mac: Hmac<sha1::Sha1>,
}

impl CmFloor {
    fn new() -> Self {
        CmFloor {
            aes: aes::Aes128Enc::new_from_slice(&CM_KEY).unwrap(),
            mac: <Hmac<sha1::Sha1> as Mac>::new_from_slice(&[3; 20]).unwrap(),
        }
    }
}

/// The least work a profile needs, with the fastest primitives measured.
trait Floor {
    /// Protects `pkt` (sequence number `seq`) as the profile would, without SRTP's bookkeeping.
    fn run(&self, pkt: &mut BytesMut, seq: u16);
}

impl Floor for CmFloor {
    fn run(&self, pkt: &mut BytesMut, seq: u16) {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&CM_SALT);
        iv[12] ^= (seq >> 8) as u8;
        iv[13] ^= seq as u8;
        let core = ctr::CtrCore::<&aes::Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
            &self.aes,
            (&iv).into(),
        );
        StreamCipherCoreWrapper::from_core(core).apply_keystream(&mut pkt[12..]);
        let mut m = self.mac.clone();
        m.update(pkt);
        m.update(&[0, 0, 0, 0]);
        let tag = m.finalize().into_bytes();
        pkt.extend_from_slice(&tag[..10]);
    }
}

/// A raw AES-128-GCM seal over the payload, header as AAD, with `$krate` (ring and
/// aws-lc-rs spell this API the same).
macro_rules! gcm_floor {
    ($(#[$doc:meta])* $name:ident, $krate:ident) => {
        $(#[$doc])*
        struct $name($krate::aead::LessSafeKey);

        impl $name {
            fn new() -> Self {
                let k = $krate::aead::UnboundKey::new(&$krate::aead::AES_128_GCM, &GCM_KEY).unwrap();
                $name($krate::aead::LessSafeKey::new(k))
            }
        }

        impl Floor for $name {
            fn run(&self, pkt: &mut BytesMut, seq: u16) {
                let mut iv = GCM_SALT;
                iv[10] ^= (seq >> 8) as u8;
                iv[11] ^= seq as u8;
                let (hdr, payload) = pkt.split_at_mut(12);
                let tag = self
                    .0
                    .seal_in_place_separate_tag(
                        $krate::aead::Nonce::assume_unique_for_key(iv),
                        $krate::aead::Aad::from(&*hdr),
                        payload,
                    )
                    .unwrap();
                pkt.extend_from_slice(tag.as_ref());
            }
        }
    };
}

gcm_floor!(
    /// Raw AES-128-GCM seal with ring.
    GcmFloor,
    ring
);
gcm_floor!(
    /// Raw AES-128-GCM seal with aws-lc-rs (ferrtc's default GCM backend).
    GcmFloorAwsLc,
    aws_lc_rs
);

/// One iteration's work on a fresh packet per iteration: `make` builds it from the next
/// sequence number outside the timing, `run` is timed (what it returns is dropped outside
/// the timing, as criterion does with a routine's output).
fn bench_packets<T, O>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut make: impl FnMut(u16) -> T,
    mut run: impl FnMut(&mut T) -> O,
) {
    let mut seq = 0u16;
    g.bench_function(name, |b| {
        b.iter_batched_ref(
            || {
                seq = seq.wrapping_add(1);
                make(seq)
            },
            &mut run,
            BatchSize::SmallInput,
        )
    });
}

/// A floor's row: the primitive work over a plaintext packet of `payload` bytes.
fn bench_floor(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    floor: &impl Floor,
    payload: usize,
) {
    bench_packets(
        g,
        name,
        |seq| (plain(seq, payload), seq),
        |(pkt, seq)| {
            floor.run(pkt, *seq);
            black_box(&pkt[..]);
        },
    );
}

fn protect(c: &mut Criterion) {
    for case in cases() {
        for payload in [1200usize, 160] {
            let mut g = c.benchmark_group(format!("srtp/protect {} {payload}B", case.name));
            let make = |seq| plain(seq, payload);
            let mut ctx = ferrtc_ctx(&case);
            bench_packets(&mut g, "ferrtc", make, |pkt| {
                ctx.protect_rtp(pkt).unwrap();
                black_box(&pkt[..]);
            });
            let mut ctx = rtc_ctx(&case);
            bench_packets(&mut g, "rtc 0.21", make, |pkt| {
                black_box(ctx.encrypt_rtp(pkt).unwrap())
            });
            let mut ctx = webrtc_ctx(&case);
            bench_packets(&mut g, "webrtc-rs 0.17", make, |pkt| {
                black_box(ctx.encrypt_rtp(pkt).unwrap())
            });
            if case.ferrtc == ProtectionProfile::Aes128CmHmacSha1_80 {
                let floor = CmFloor::new();
                bench_floor(&mut g, "floor: AES-CTR+HMAC-SHA1", &floor, payload);
            } else {
                let floor = GcmFloor::new();
                bench_floor(&mut g, "floor: ring AES-128-GCM seal", &floor, payload);
                let floor = GcmFloorAwsLc::new();
                bench_floor(&mut g, "floor: aws-lc AES-128-GCM seal", &floor, payload);
            }
            g.finish();
        }
    }
}

fn unprotect(c: &mut Criterion) {
    for case in cases() {
        for payload in [1200usize, 160] {
            let mut g = c.benchmark_group(format!("srtp/unprotect {} {payload}B", case.name));
            // Each implementation's packets come from its own sender, outside the timing.
            let (mut tx, mut rx) = (ferrtc_ctx(&case), ferrtc_ctx(&case));
            let make = |seq| {
                let mut p = plain(seq, payload);
                tx.protect_rtp(&mut p).unwrap();
                p
            };
            bench_packets(&mut g, "ferrtc", make, |pkt| {
                rx.unprotect_rtp(pkt).unwrap();
                black_box(&pkt[..]);
            });
            let (mut tx, mut rx) = (rtc_ctx(&case), rtc_ctx(&case));
            let make = |seq| tx.encrypt_rtp(&plain(seq, payload)).unwrap();
            bench_packets(&mut g, "rtc 0.21", make, |pkt| {
                black_box(rx.decrypt_rtp(pkt).unwrap())
            });
            let (mut tx, mut rx) = (webrtc_ctx(&case), webrtc_ctx(&case));
            let make = |seq| tx.encrypt_rtp(&plain(seq, payload)).unwrap();
            bench_packets(&mut g, "webrtc-rs 0.17", make, |pkt| {
                black_box(rx.decrypt_rtp(pkt).unwrap())
            });
            if case.ferrtc == ProtectionProfile::Aes128CmHmacSha1_80 {
                // Unprotect does the same primitive work as protect: HMAC, then CTR.
                let floor = CmFloor::new();
                bench_floor(&mut g, "floor: AES-CTR+HMAC-SHA1", &floor, payload);
            }
            g.finish();
        }
    }
}

criterion_group!(benches, protect, unprotect);
criterion_main!(benches);
