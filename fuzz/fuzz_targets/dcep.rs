//! DCEP (RFC 8832) messages: parsing arbitrary bytes never panics, and whatever parses
//! writes back to bytes that parse to the same message.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_datachannel::dcep::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let wire = m.to_bytes();
    assert_eq!(wire.len(), m.encoded_len());
    let again = Message::parse(&wire).expect("a written DCEP message parses");
    assert_eq!(again, m);
});
