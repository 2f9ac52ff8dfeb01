//! ICE candidate lines (RFC 8839): parse arbitrary text; whatever parses must print back to text
//! that parses to the same value and prints identically.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_ice::Candidate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = Candidate::parse(s) else {
        return;
    };
    let printed = c.to_string();
    let again: Candidate = printed.parse().unwrap();
    assert_eq!(again, c);
    assert_eq!(again.to_string(), printed);
});
