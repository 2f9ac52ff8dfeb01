//! RTP differential: the nom parser of ferrtc-rtp against the hand-written parser it replaced
//! (crates/rtp/tests/legacy), on the same bytes; any difference in a parsed value or an error
//! is a crash (issue 14).
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/rtp/tests/legacy/mod.rs"]
mod legacy;

fuzz_target!(|data: &[u8]| {
    legacy::check(data);
});
