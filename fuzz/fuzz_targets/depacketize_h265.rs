//! H.265 depacketizer (RFC 7798): arbitrary payload sequences never panic and never grow the output beyond a bound
//! proportional to the input; packetize then depacketize gives the same NAL units.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::h265::{H265Config, H265Depacketizer, H265Packetizer};
use ferrtc_media_codecs::{Depacketizer, Packetizer};
use libfuzzer_sys::fuzz_target;

#[path = "common/depacketize.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::arbitrary_payloads(
        H265Depacketizer::new(H265Config {
            donl: data.len() % 2 == 0,
        }),
        data,
        |total| total * 3 + 4,
    );

    // The whole input as one frame: whatever packetizes must come back as the same NAL units.
    let Some((&m, frame)) = data.split_first() else {
        return;
    };
    let mtu = 3 + usize::from(m) * 6;
    let mut p = H265Packetizer::new(H265Config {
        donl: data.len() % 2 == 0,
    });
    let Ok(pkts) = p.packetize(Bytes::copy_from_slice(frame), mtu) else {
        return;
    };
    let mut d = H265Depacketizer::new(H265Config {
        donl: data.len() % 2 == 0,
    });
    let mut back = Vec::new();
    for (pl, _) in &pkts {
        assert!(pl.len() <= mtu);
        d.push(pl, &mut back).unwrap();
    }
    d.finish(&mut back).unwrap();
    let a: Vec<&[u8]> = ferrtc_media_codecs::h264::AnnexBNals::new(frame).collect();
    let b: Vec<&[u8]> = ferrtc_media_codecs::h264::AnnexBNals::new(&back).collect();
    assert_eq!(a, b);
});
