//! AV1 depacketizer (AV1 RTP payload specification): arbitrary payload sequences never panic and never grow the output beyond a bound
//! proportional to the input; packetize then depacketize gives the same OBUs.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::av1::{Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::{Depacketizer, Packetizer};
use libfuzzer_sys::fuzz_target;

#[path = "common/depacketize.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::arbitrary_payloads(Av1Depacketizer::new(), data, |total| total * 6 + 2);

    // The whole input as one frame: whatever packetizes must come back as the same OBUs.
    let Some((&m, frame)) = data.split_first() else {
        return;
    };
    let mtu = 3 + usize::from(m) * 6;
    let mut p = Av1Packetizer::new();
    let Ok(pkts) = p.packetize(Bytes::copy_from_slice(frame), mtu) else {
        return;
    };
    let mut d = Av1Depacketizer::new();
    let mut back = Vec::new();
    for (pl, _) in &pkts {
        assert!(pl.len() <= mtu);
        d.push(pl, &mut back).unwrap();
    }
    d.finish(&mut back).unwrap();
    // Packetizing drops TDs, tile lists and padding and adds sizes: compare again after one
    // more round, which must be stable.
    let Ok(pkts2) = Av1Packetizer::new().packetize(Bytes::from(back.clone()), mtu) else {
        panic!("depacketized output must packetize")
    };
    let mut d2 = Av1Depacketizer::new();
    let mut back2 = Vec::new();
    for (pl, _) in &pkts2 {
        d2.push(pl, &mut back2).unwrap();
    }
    d2.finish(&mut back2).unwrap();
    assert_eq!(back2, back);
});
