//! SCTP packets: parse arbitrary bytes (with the CRC32c fixed up so the fuzzer reaches the
//! chunk parsers); whatever parses must re-serialize and re-parse to the same value.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_sctp::packet::finish_checksum;
use ferrtc_sctp::{ChecksumMode, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Raw input: checksum almost always wrong, must be an error, never a panic.
    let _ = Packet::parse(Bytes::copy_from_slice(data), ChecksumMode::Crc32c);
    let mut fixed = data.to_vec();
    finish_checksum(&mut fixed, false);
    let Ok(p) = Packet::parse(Bytes::from(fixed), ChecksumMode::Crc32c) else {
        return;
    };
    let wire = p.to_bytes(false);
    assert_eq!(wire.len(), p.encoded_len());
    let again = Packet::parse(wire.clone(), ChecksumMode::Crc32c).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.to_bytes(false), wire);
});
