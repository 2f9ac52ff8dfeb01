//! ICE candidate lines (RFC 8839 §5.1): the nom grammar and the hand-written parser it
//! replaced (`ferrtc_ice::candidate::legacy`, feature `legacy`) run on the same input and
//! must give the same typed candidate, or both refuse it.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_ice::candidate::legacy;
use ferrtc_ice::Candidate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let s = s.strip_prefix("a=").unwrap_or(s);
    let new = s.parse::<Candidate>();
    let old = legacy::parse(s);
    match (&new, &old) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{s:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{s:?}: nom {new:?}, legacy {old:?}"),
    }
});
