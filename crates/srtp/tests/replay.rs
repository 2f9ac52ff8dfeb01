//! Replay protection and rollover-counter estimation under reordering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
use common::{pair, rtcp, rtp};
use ferrtc_srtp::{Config, Error, ProtectionProfile};

const PROFILES: [ProtectionProfile; 2] = [
    ProtectionProfile::AeadAes128Gcm,
    ProtectionProfile::Aes128CmHmacSha1_80,
];

#[test]
fn duplicates_and_too_old_are_rejected() {
    for p in PROFILES {
        let (mut tx, mut rx) = pair(p, Config::default());
        let mut sent = Vec::new();
        for seq in 0..2000u16 {
            let mut b = rtp(1, seq, 100);
            tx.protect_rtp(&mut b).unwrap();
            sent.push(b);
        }
        for b in &sent {
            rx.unprotect_rtp(&mut b.clone()).unwrap();
        }
        // duplicate inside the window
        let dup = sent[1990].clone();
        let mut b = dup.clone();
        assert!(
            matches!(
                rx.unprotect_rtp(&mut b),
                Err(Error::Replay { index: 1990, .. })
            ),
            "{p}"
        );
        assert_eq!(b, dup, "buffer untouched on replay");
        // older than the 1024-packet window
        let mut b = sent[100].clone();
        assert!(
            matches!(
                rx.unprotect_rtp(&mut b),
                Err(Error::TooOld { index: 100, .. })
            ),
            "{p}"
        );
        // the sender refuses to reuse an index
        let mut b = rtp(1, 1999, 100);
        assert!(matches!(tx.protect_rtp(&mut b), Err(Error::Replay { .. })));
    }
}

#[test]
fn reordered_in_window_accepted() {
    for p in PROFILES {
        let (mut tx, mut rx) = pair(p, Config::default());
        let mut sent = Vec::new();
        for seq in 0..600u16 {
            let mut b = rtp(7, seq, 40);
            tx.protect_rtp(&mut b).unwrap();
            sent.push(b);
        }
        // deliver in a shuffled order, within the window
        let mut order: Vec<usize> = (0..600).collect();
        for chunk in order.chunks_mut(50) {
            chunk.reverse();
        }
        order.swap(3, 500);
        for i in order {
            let mut b = sent[i].clone();
            rx.unprotect_rtp(&mut b).unwrap();
            assert_eq!(b, rtp(7, i as u16, 40), "{p} packet {i}");
        }
    }
}

#[test]
fn late_packet_from_before_the_wrap_uses_previous_roc() {
    for p in PROFILES {
        let (mut tx, mut rx) = pair(p, Config::default());
        let seqs: Vec<u16> = (65500..=65535).chain(0..100).collect();
        let mut sent = Vec::new();
        for &s in &seqs {
            let mut b = rtp(9, s, 64);
            tx.protect_rtp(&mut b).unwrap();
            sent.push((s, b));
        }
        assert_eq!(tx.roc(9), Some(1));
        // receive everything after the wrap first, holding back 65530..=65535
        let late: Vec<_> = sent
            .iter()
            .filter(|(s, _)| (65530..=65535).contains(s))
            .cloned()
            .collect();
        for (s, b) in sent.iter().filter(|(s, _)| !(65530..=65535).contains(s)) {
            let mut b = b.clone();
            rx.unprotect_rtp(&mut b).unwrap();
            assert_eq!(b, rtp(9, *s, 64));
        }
        assert_eq!(rx.roc(9), Some(1));
        for (s, b) in late {
            let mut b = b.clone();
            rx.unprotect_rtp(&mut b).unwrap();
            assert_eq!(b, rtp(9, s, 64), "{p}: late seq {s} decrypts with ROC 0");
        }
        assert_eq!(rx.roc(9), Some(1));
        // a replay of a pre-wrap packet is still caught
        let mut b = sent[0].1.clone();
        assert!(matches!(
            rx.unprotect_rtp(&mut b),
            Err(Error::Replay { .. })
        ));
    }
}

#[test]
fn signalled_roc() {
    let (mut tx, mut rx) = pair(ProtectionProfile::AeadAes128Gcm, Config::default());
    tx.set_roc(5, 3).unwrap();
    let mut b = rtp(5, 10, 20);
    tx.protect_rtp(&mut b).unwrap();
    // without the ROC the receiver fails to authenticate, with it it works
    let mut c = b.clone();
    assert!(matches!(
        rx.unprotect_rtp(&mut c),
        Err(Error::AuthFailed { .. })
    ));
    assert_eq!(c, b);
    rx.set_roc(5, 3).unwrap();
    rx.unprotect_rtp(&mut b).unwrap();
    assert_eq!(rx.roc(5), Some(3));
    assert!(rx.set_roc(5, 4).is_err());
}

#[test]
fn srtcp_replay() {
    for p in PROFILES {
        let (mut tx, mut rx) = pair(p, Config::default());
        let mut sent = Vec::new();
        for _ in 0..1100 {
            let mut b = rtcp(3, 20);
            tx.protect_rtcp(&mut b).unwrap();
            sent.push(b);
        }
        for b in sent.iter().rev().take(50) {
            rx.unprotect_rtcp(&mut b.clone()).unwrap();
        }
        assert!(matches!(
            rx.unprotect_rtcp(&mut sent[1099].clone()),
            Err(Error::Replay { .. })
        ));
        assert!(matches!(
            rx.unprotect_rtcp(&mut sent[0].clone()),
            Err(Error::TooOld { .. })
        ));
        rx.unprotect_rtcp(&mut sent[500].clone()).unwrap();
    }
}

#[test]
fn stream_limit_and_key_limits() {
    let config = Config {
        max_streams: 2,
        max_srtp_packets: 5,
        max_srtcp_packets: 2,
        ..Config::default()
    };
    let (mut tx, mut rx) = pair(ProtectionProfile::Aes128CmHmacSha1_80, config);
    let mut a = rtp(1, 1, 10);
    let mut b = rtp(2, 1, 10);
    let mut c = rtp(3, 1, 10);
    tx.protect_rtp(&mut a).unwrap();
    tx.protect_rtp(&mut b).unwrap();
    assert!(matches!(
        tx.protect_rtp(&mut c),
        Err(Error::TooManyStreams {
            ssrc: 3,
            limit: 2,
            ..
        })
    ));
    rx.unprotect_rtp(&mut a).unwrap();
    rx.unprotect_rtp(&mut b).unwrap();
    for seq in 2..5 {
        tx.protect_rtp(&mut rtp(1, seq, 10)).unwrap();
    }
    let before = rtp(1, 5, 10);
    let mut d = before.clone();
    assert!(matches!(
        tx.protect_rtp(&mut d),
        Err(Error::KeyExhausted { .. })
    ));
    assert_eq!(d, before);
    tx.protect_rtcp(&mut rtcp(1, 8)).unwrap();
    tx.protect_rtcp(&mut rtcp(1, 8)).unwrap();
    assert!(matches!(
        tx.protect_rtcp(&mut rtcp(1, 8)),
        Err(Error::KeyExhausted { .. })
    ));
}

#[test]
fn srtcp_index_limit() {
    let (mut tx, _) = pair(ProtectionProfile::AeadAes128Gcm, Config::default());
    tx.set_srtcp_index(4, 0x7FFF_FFFE).unwrap();
    let mut b = rtcp(4, 8);
    tx.protect_rtcp(&mut b).unwrap();
    assert_eq!(&b[b.len() - 4..], &[0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(
        tx.protect_rtcp(&mut rtcp(4, 8)),
        Err(Error::KeyExhausted { .. })
    ));
}
