//! RTCP: parse arbitrary bytes as reduced-size, compound and strict compound RTCP (the modes
//! must agree with each other and with `validate_compound`); whatever parses must re-serialize
//! and re-parse to the same value; walking a borrowed datagram equals walking an owned one.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::{
    parse_compound, parse_reduced_size, parse_strict_compound, validate_compound, write_compound,
    Limits, Mode, PacketIter, RtcpPacket,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    // Walking a borrowed datagram gives exactly what walking an owned one does, errors included.
    for mode in [Mode::ReducedSize, Mode::Compound, Mode::StrictCompound] {
        let owned: Vec<_> = PacketIter::with(raw.clone(), mode, Limits::default()).collect();
        let borrowed: Vec<_> = PacketIter::with(&raw, mode, Limits::default()).collect();
        assert_eq!(owned, borrowed);
    }
    let compound = parse_compound(raw.clone());
    let strict = parse_strict_compound(raw.clone());
    let Ok(packets) = parse_reduced_size(raw.clone()) else {
        assert!(compound.is_err());
        assert!(strict.is_err());
        return;
    };
    // Strict = compound + a CNAME; on packets that passed the wire checks, validate_compound
    // decides the same.
    assert_eq!(
        strict.is_ok(),
        compound.is_ok() && validate_compound(&packets).is_ok()
    );
    if let Ok(s) = strict {
        assert_eq!(s, packets);
    }
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
