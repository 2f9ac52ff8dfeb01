//! RED (RFC 2198): split arbitrary payloads; whatever splits must build back to the same bytes,
//! and the depacketizer must agree with the splitter.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::red::{self, RedDepacketizer};
use ferrtc_media_codecs::Depacketizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let split = red::split(&raw, 8);
    let mut d = RedDepacketizer::with_max_blocks(8);
    let mut out = Vec::new();
    let pushed = d.push(data, &mut out);
    assert_eq!(split.is_ok(), pushed.is_ok());
    assert_eq!(split.is_ok(), d.packet_info(data).is_ok());
    let Ok(s) = split else {
        assert!(out.is_empty());
        return;
    };
    assert!(s.redundant.len() < 8);
    assert_eq!(&out[..], &s.primary.data[..]);
    let mut again = Vec::new();
    let n = red::build(s.primary.payload_type, &s.primary.data, &s.redundant, &mut again).unwrap();
    assert_eq!(n, data.len());
    assert_eq!(&again[..], data);
});
