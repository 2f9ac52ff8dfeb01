//! RTCP: parse arbitrary bytes as reduced-size and compound RTCP; whatever parses must
//! re-serialize and re-parse to the same value.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::{parse_compound, parse_reduced_size, write_compound, PacketIter, RtcpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let compound = parse_compound(raw.clone());
    let Ok(packets) = parse_reduced_size(raw.clone()) else {
        assert!(compound.is_err());
        return;
    };
    if let Ok(c) = compound {
        assert_eq!(c, packets);
    }
    let iterated: Vec<RtcpPacket> = PacketIter::new(raw).map(|p| p.unwrap()).collect();
    assert_eq!(iterated, packets);
    let mut out = Vec::new();
    write_compound(&packets, &mut out);
    assert_eq!(out.len(), ferrtc_rtcp::compound_len(&packets));
    let again = parse_reduced_size(Bytes::from(out.clone())).unwrap();
    assert_eq!(again, packets);
    let mut out2 = Vec::new();
    write_compound(&again, &mut out2);
    assert_eq!(out2, out);
    for p in &packets {
        if let RtcpPacket::TransportCc(t) = p {
            assert_eq!(t.packets().count(), usize::from(t.packet_status_count));
            let _ = t.arrivals().count();
        }
        if let RtcpPacket::Nack(n) = p {
            let _ = n.lost().count();
        }
    }
});
