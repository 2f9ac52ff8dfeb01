//! STUN message parser: never panics; whatever parses re-encodes to the same attributes.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::{IntegrityKey, Message, MessageBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let key = IntegrityKey::short_term("fuzz").unwrap();
    let _ = m.verify_integrity(&key);
    let _ = (m.username(), m.userhash(), m.realm(), m.nonce());
    let a = m.attributes_unverified();
    let _ = (
        a.xor_mapped_address(),
        a.error_code(),
        a.priority(),
        a.lifetime(),
        a.data(),
        a.channel_number(),
    );
    let Ok(attrs) = a.iter().collect::<Result<Vec<_>, _>>() else {
        return;
    };
    // parse -> write -> parse gives the same attributes.
    let mut b = MessageBuilder::new(m.message_type(), m.transaction_id());
    for x in &attrs {
        b.add(x).unwrap();
    }
    let again = Message::parse(b.build()).unwrap();
    assert_eq!(again.message_type(), m.message_type());
    assert_eq!(again.transaction_id(), m.transaction_id());
    let attrs2: Vec<_> = again
        .attributes_unverified()
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(attrs, attrs2);
});
