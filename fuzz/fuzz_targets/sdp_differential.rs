//! SDP lines (RFC 8866 and the WebRTC attribute grammars): the nom grammar and the
//! hand-written parsers it replaced (`ferrtc_sdp::legacy`, feature `legacy`) type every
//! line of the input; they must give the same typed line or the same kind of error. Whole
//! descriptions that parse must also type every line the same way through
//! `typed_lines()` (the hand-tuned fast path) as through the nom grammar.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::{legacy, Error, Line, SessionDescription};
use libfuzzer_sys::fuzz_target;

fn class(e: &Error) -> u8 {
    match e {
        Error::Syntax { .. } => 0,
        Error::Attribute { .. } => 1,
        Error::InvalidValue { .. } => 2,
        _ => 3,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let new = Line::parse(line);
        let old = legacy::parse_line(line);
        match (&new, &old) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{line:?}"),
            (Err(a), Err(b)) => assert_eq!(class(a), class(b), "{line:?}: nom {a}, legacy {b}"),
            _ => panic!("{line:?}: nom {new:?}, legacy {old:?}"),
        }
    }
    if let Ok(sdp) = SessionDescription::parse(text) {
        for (line, typed) in sdp.lines().zip(sdp.typed_lines()) {
            assert_eq!(Line::parse(line).unwrap(), typed, "{line:?}");
        }
    }
});
