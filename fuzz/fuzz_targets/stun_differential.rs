//! STUN differential: the nom parser of ferrtc-stun against the hand-written parser it
//! replaced (`ferrtc_stun::legacy`, feature `legacy-parser`) on the same bytes: parse result,
//! integrity check, every accessor and decoded attribute; any difference is a crash (issue 14).
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_stun::{legacy, IntegrityKey};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static [IntegrityKey] {
    static KEYS: OnceLock<Vec<IntegrityKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap(),
            IntegrityKey::short_term("pass").unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    legacy::check(data, keys());
});
