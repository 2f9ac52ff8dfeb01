//! SRTP/SRTCP unprotect of arbitrary bytes with a fixed key, every profile: never panics,
//! and a failed unprotect leaves the buffer untouched. The first byte picks the profile
//! (low 3 bits), RTP or RTCP (bit 3) and an MKI (bit 4); the rest is the packet. A packet
//! that protects must also unprotect back to itself.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::BytesMut;
use ferrtc_srtp::{Config, Context, ProtectionProfile};
use libfuzzer_sys::fuzz_target;

fn ctx(p: ProtectionProfile, mki: bool) -> Context {
    let key = [0x11u8; 32];
    let salt = [0x22u8; 14];
    let config = Config {
        mki: mki.then(|| vec![0xab, 0xcd]),
        replay_window: 64,
        ..Config::default()
    };
    Context::new(p, &key[..p.key_len()], &salt[..p.salt_len()], config).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, packet)) = data.split_first() else {
        return;
    };
    let p = ProtectionProfile::ALL[usize::from(sel & 7)];
    let rtcp = sel & 8 != 0;
    let mki = sel & 16 != 0;
    let mut rx = ctx(p, mki);
    let mut buf = BytesMut::from(packet);
    let r = if rtcp {
        rx.unprotect_rtcp(&mut buf)
    } else {
        rx.unprotect_rtp(&mut buf)
    };
    if r.is_err() {
        assert_eq!(&buf[..], packet, "buffer changed on error");
    } else {
        assert!(buf.len() < packet.len());
    }

    // Round trip: whatever protects must unprotect to the same bytes.
    let mut tx = ctx(p, mki);
    let mut rx = ctx(p, mki);
    let mut buf = BytesMut::from(packet);
    let ok = if rtcp {
        tx.protect_rtcp(&mut buf)
    } else {
        tx.protect_rtp(&mut buf)
    };
    if ok.is_ok() {
        let r = if rtcp {
            rx.unprotect_rtcp(&mut buf)
        } else {
            rx.unprotect_rtp(&mut buf)
        };
        r.unwrap();
        assert_eq!(&buf[..], packet);
    }
});
