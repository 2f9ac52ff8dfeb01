//! VP8 depacketizer (RFC 7741): arbitrary payload sequences never panic and never grow the output beyond a bound
//! proportional to the input; packetize then depacketize gives the frame back.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::vp8::{Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::{Depacketizer, Packetizer};
use libfuzzer_sys::fuzz_target;

#[path = "common/depacketize.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::arbitrary_payloads(Vp8Depacketizer::new(), data, |total| total);

    // The whole input as one frame: whatever packetizes must come back byte for byte.
    let Some((&m, frame)) = data.split_first() else {
        return;
    };
    let mtu = 3 + usize::from(m) * 6;
    let mut p = Vp8Packetizer::default();
    let Ok(pkts) = p.packetize(Bytes::copy_from_slice(frame), mtu) else {
        return;
    };
    let mut d = Vp8Depacketizer::new();
    let mut back = Vec::new();
    for (pl, _) in &pkts {
        assert!(pl.len() <= mtu);
        d.push(pl, &mut back).unwrap();
    }
    d.finish(&mut back).unwrap();
    assert_eq!(back, frame);
});
