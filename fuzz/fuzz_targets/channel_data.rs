//! TURN ChannelData and stream framing: never panic; parse -> write -> parse is stable.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_turn_client::{ChannelData, Frame, StreamFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cd) = ChannelData::parse(Bytes::copy_from_slice(data)) {
        for pad in [false, true] {
            let mut out = Vec::new();
            cd.write_to(pad, &mut out);
            assert_eq!(out.len(), cd.encoded_len(pad));
            assert_eq!(ChannelData::parse(Bytes::from(out)).unwrap(), cd);
        }
    }
    // The same bytes as a TCP stream, fed in two pieces.
    let mut f = StreamFramer::new(4096);
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    for piece in [&data[..split], &data[split..]] {
        if f.push(piece).is_err() {
            return;
        }
        loop {
            match f.next_frame() {
                Ok(Some(Frame::ChannelData(b))) => {
                    let _ = ChannelData::parse(b);
                }
                Ok(Some(Frame::Stun(b))) => {
                    let _ = ferrtc_stun::Message::parse(b);
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
});
