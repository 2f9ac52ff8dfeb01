//! RTCP differential: the nom parser of ferrtc-rtcp against the hand-written parser it
//! replaced (`ferrtc_rtcp::legacy`, feature `legacy-parser`), on the same datagram, in every
//! validation mode and with a small packet limit; any difference in a parsed value or an error
//! is a crash (issue 14).
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::{legacy, Limits, Mode, RtcpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    for mode in [Mode::ReducedSize, Mode::Compound, Mode::StrictCompound] {
        for max_packets in [64, 2] {
            let limits = Limits { max_packets };
            assert_eq!(
                ferrtc_rtcp::parse_with(raw.clone(), mode, limits),
                legacy::parse_with(raw.clone(), mode, limits),
            );
        }
    }
    assert_eq!(RtcpPacket::parse_one(&raw, 7), legacy::parse_one(&raw, 7));
});
