//! SCTP differential: the nom parser of ferrtc-sctp (common header, chunks, INIT and RE-CONFIG
//! parameters, error causes) against the hand-written parser it replaced
//! (`ferrtc_sctp::legacy`, feature `legacy-parser`) on the same bytes; any difference in a parsed
//! value or an error is a crash (issue 14).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrtc_sctp::legacy::check(data);
});
