//! DCEP differential: the nom DATA_CHANNEL_OPEN/ACK parser of ferrtc-datachannel against the
//! hand-written parser it replaced
//! (`ferrtc_datachannel::legacy`, feature `legacy-parser`) on the same bytes; any difference in a parsed
//! value or an error is a crash (issue 14).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrtc_datachannel::legacy::check(data);
});
