//! RTP: parse arbitrary bytes; whatever parses must re-serialize and re-parse to the same value.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtp::values::{
    AbsCaptureTime, AbsSendTime, AudioLevel, ExtensionValue, Mid, PlayoutDelay,
    RepairedRtpStreamId, RtpStreamId, TransportCc, VideoOrientation,
};
use ferrtc_rtp::{rtx, ExtensionMap, RtpHeader, RtpPacket, RtpPacketView};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let header = RtpHeader::parse(&raw);
    let view = RtpPacketView::parse(raw.clone());
    let Ok(p) = RtpPacket::parse(raw.clone()) else {
        assert!(view.is_err());
        return;
    };
    assert_eq!(view.unwrap().to_packet(), p);
    assert_eq!(header.unwrap().0, p.header);
    let wire = p.to_bytes();
    assert_eq!(wire.len(), p.encoded_len());
    let again = RtpPacket::parse(wire.clone()).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.to_bytes(), wire);
    if let Some(ext) = &p.header.extensions {
        let map = ExtensionMap::from_pairs([
            (1, Mid::URI),
            (2, AbsSendTime::URI),
            (3, TransportCc::URI),
            (4, AudioLevel::URI),
            (5, VideoOrientation::URI),
            (6, PlayoutDelay::URI),
            (7, AbsCaptureTime::URI),
            (8, RtpStreamId::URI),
            (9, RepairedRtpStreamId::URI),
        ])
        .unwrap();
        let _ = map.read(ext);
        for e in ext.iter() {
            let _ = e;
        }
    }
    if let Ok(orig) = rtx::decapsulate(&p, 96, 1) {
        let back = rtx::encapsulate(
            &orig,
            p.header.payload_type,
            p.header.ssrc,
            p.header.sequence_number,
        );
        assert_eq!(back.payload, p.payload);
    }
});
