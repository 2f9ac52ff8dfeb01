//! `Attributes::find` answers the ICE attributes (USERNAME, PRIORITY, ICE-CONTROLLING,
//! ICE-CONTROLLED, USE-CANDIDATE) from offsets the parse noted: it must give exactly what a
//! walk of the attributes gives — the first occurrence, and nothing after MESSAGE-INTEGRITY
//! (RFC 8489 §14.5) — for any order, repetition and position of attributes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bytes::Bytes;
use ferrtc_stun::Message;

const TYPES: [u16; 7] = [0x0006, 0x0024, 0x802A, 0x8029, 0x0025, 0x8022, 0x0008];

/// A Binding request with these (type, value length) attributes; MESSAGE-INTEGRITY (0x0008)
/// always carries 20 bytes.
fn message(attrs: &[(u16, usize)]) -> Bytes {
    let mut body = Vec::new();
    for (i, &(t, len)) in attrs.iter().enumerate() {
        let len = if t == 0x0008 { 20 } else { len };
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(len as u16).to_be_bytes());
        body.extend((0..len).map(|j| (i * 7 + j) as u8));
        body.resize(body.len().div_ceil(4) * 4, 0);
    }
    let mut m = vec![0x00, 0x01];
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&body);
    Bytes::from(m)
}

#[test]
fn indexed_find_equals_a_walk() {
    let mut seed = 0x2545_f491_u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut with_mi_hidden = 0;
    for _ in 0..3000 {
        let count = next(9) as usize;
        let attrs: Vec<(u16, usize)> = (0..count)
            .map(|_| (TYPES[next(TYPES.len() as u64) as usize], next(13) as usize))
            .collect();
        let m = Message::parse(message(&attrs)).unwrap();
        let a = m.attributes_unverified();
        for t in TYPES {
            let walked = a.raw().find(|r| r.attr_type == t);
            assert_eq!(a.find(t), walked, "type {t:#06x} in {attrs:?}");
            if walked.is_none() && attrs.iter().any(|&(x, _)| x == t) {
                with_mi_hidden += 1;
            }
        }
    }
    // The generator did produce attributes hidden behind MESSAGE-INTEGRITY.
    assert!(with_mi_hidden > 100, "{with_mi_hidden}");
}

#[test]
fn the_first_of_repeated_attributes_and_none_after_integrity() {
    let m = Message::parse(message(&[
        (0x0024, 4),
        (0x0006, 3),
        (0x0006, 5),
        (0x0008, 20),
        (0x802A, 8),
    ]))
    .unwrap();
    let a = m.attributes_unverified();
    assert_eq!(a.find(0x0006).unwrap().value.len(), 3);
    assert_eq!(a.find(0x0006).unwrap().offset, 28);
    assert!(a.find(0x802A).is_none());
    assert!(a.find(0x0025).is_none());
}
