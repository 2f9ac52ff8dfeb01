//! TURN ChannelData differential: the nom ChannelData parser and stream framer of
//! ferrtc-turn-client against the hand-written code they replaced
//! (`ferrtc_turn_client::legacy`, feature `legacy-parser`) on the same bytes; any difference
//! in a parsed value, a frame boundary or an error is a crash (issue 14).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrtc_turn_client::legacy::check(data);
});
