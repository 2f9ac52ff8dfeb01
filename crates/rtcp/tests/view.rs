//! The by-reference walk on hand-written datagrams: every field read from the views is the
//! value written in the bytes (the differential tests against the owned walk are in
//! proptest.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::*;

/// SR (one block) + SDES (CNAME "abc") + generic NACK (two FCI entries), RFC 3550 §6.4.1,
/// §6.5 and RFC 4585 §6.2.1 laid out by hand.
fn sr_sdes_nack() -> Vec<u8> {
    let mut v = Vec::new();
    // SR, RC = 1, length 12 words.
    v.extend_from_slice(&[0x81, 0xc8, 0x00, 0x0c]);
    v.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]); // SSRC
    v.extend_from_slice(&[0xe8, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd]); // NTP
    v.extend_from_slice(&[0x00, 0x2d, 0xc6, 0xc0]); // RTP timestamp 3000000
    v.extend_from_slice(&[0x00, 0x00, 0x03, 0xe8]); // packets 1000
    v.extend_from_slice(&[0x00, 0x0f, 0x42, 0x40]); // octets 1000000
    v.extend_from_slice(&[0x87, 0x65, 0x43, 0x21]); // block SSRC
    v.extend_from_slice(&[0x03, 0xff, 0xff, 0xef]); // fraction 3, cumulative -17
    v.extend_from_slice(&[0x00, 0x01, 0x11, 0x70]); // ext. highest seq 70000
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x2d]); // jitter 45
    v.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]); // LSR
    v.extend_from_slice(&[0x00, 0x00, 0x19, 0x99]); // DLSR 6553
                                                    // SDES, SC = 1, length 3 words: SSRC, CNAME "abc", null, padding.
    v.extend_from_slice(&[0x81, 0xca, 0x00, 0x03]);
    v.extend_from_slice(&[
        0x12, 0x34, 0x56, 0x78, 0x01, 0x03, b'a', b'b', b'c', 0, 0, 0,
    ]);
    // RTPFB FMT 1 (NACK), length 4 words: sender, media, (100, 0x0009), (130, 0x8000).
    v.extend_from_slice(&[0x81, 0xcd, 0x00, 0x04]);
    v.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x87, 0x65, 0x43, 0x21]);
    v.extend_from_slice(&[0x00, 0x64, 0x00, 0x09, 0x00, 0x82, 0x80, 0x00]);
    v
}

#[test]
fn sr_sdes_nack_fields() {
    let raw = Bytes::from(sr_sdes_nack());
    let packets: Vec<RtcpPacketRef<'_>> = PacketRefIter::compound(&raw)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(packets.len(), 3);
    let RtcpPacketRef::SenderReport(sr) = packets[0] else {
        panic!("{:?}", packets[0])
    };
    assert_eq!(sr.ssrc(), 0x1234_5678);
    assert_eq!(sr.ntp_timestamp(), 0xe8f1_2345_6789_abcd);
    assert_eq!(sr.rtp_timestamp(), 3_000_000);
    assert_eq!(sr.packet_count(), 1000);
    assert_eq!(sr.octet_count(), 1_000_000);
    assert_eq!(sr.reports().len(), 1);
    let b = sr.report(0).unwrap();
    assert_eq!(b.ssrc, 0x8765_4321);
    assert_eq!(b.fraction_lost, 3);
    assert_eq!(b.cumulative_lost, -17);
    assert_eq!(b.extended_highest_sequence, 70_000);
    assert_eq!(b.jitter, 45);
    assert_eq!(b.last_sr, 0x1234_5678);
    assert_eq!(b.delay_since_last_sr, 6553);
    assert_eq!(sr.report(1), None);
    assert!(sr.profile_extensions().is_empty());

    let RtcpPacketRef::Sdes(sdes) = packets[1] else {
        panic!("{:?}", packets[1])
    };
    assert!(sdes.has_cname());
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].ssrc, 0x1234_5678);
    assert_eq!(chunks[0].cname(), Some(&b"abc"[..]));
    let items: Vec<_> = chunks[0].items().collect();
    assert_eq!(
        items,
        [SdesItemRef {
            item_type: SdesItemType::Cname,
            value: b"abc"
        }]
    );

    let RtcpPacketRef::Nack(nack) = packets[2] else {
        panic!("{:?}", packets[2])
    };
    assert_eq!(
        (nack.sender_ssrc, nack.media_ssrc),
        (0x1234_5678, 0x8765_4321)
    );
    let pairs: Vec<_> = nack
        .pairs()
        .map(|p| (p.packet_id, p.lost_bitmask))
        .collect();
    assert_eq!(pairs, [(100, 0x0009), (130, 0x8000)]);
    assert_eq!(nack.lost().collect::<Vec<_>>(), [100, 101, 104, 130, 146]);

    // The owned walk reads the same values.
    let owned = parse_compound(raw.clone()).unwrap();
    let converted: Vec<_> = packets.iter().map(|p| p.to_packet().unwrap()).collect();
    assert_eq!(converted, owned);
}

#[test]
fn other_packets_are_decoded_on_demand() {
    // RR without blocks, then TWCC (RTPFB 15) for one packet, received with a small delta
    // of 4 ticks: base 7, count 1, reference time 1, fb count 2, one run-length chunk
    // (status 01, run 1), one delta, padding to 32 bits.
    let mut v = vec![0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 9];
    v.extend_from_slice(&[0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 9, 0, 0, 0, 5]);
    v.extend_from_slice(&[0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02]);
    v.extend_from_slice(&[0x20, 0x01, 0x04, 0x00]);
    let raw = Bytes::from(v);
    let packets: Vec<_> = PacketRefIter::compound(&raw)
        .collect::<Result<_, _>>()
        .unwrap();
    let RtcpPacketRef::ReceiverReport(rr) = packets[0] else {
        panic!("{:?}", packets[0])
    };
    assert_eq!(rr.ssrc, 9);
    assert_eq!(rr.reports().len(), 0);
    let RtcpPacketRef::Other(o) = packets[1] else {
        panic!("{:?}", packets[1])
    };
    assert_eq!((o.packet_type, o.count), (205, 15));
    assert_eq!(o.bytes(), &raw[8..]);
    let RtcpPacket::TransportCc(t) = o.parse().unwrap() else {
        panic!()
    };
    assert_eq!(t.base_sequence_number, 7);
    let got: Vec<_> = t
        .packets()
        .map(|p| (p.sequence_number, p.delta_ticks))
        .collect();
    assert_eq!(got, [(7, Some(4))]);
}

#[test]
fn walk_errors() {
    let raw = Bytes::from(sr_sdes_nack());
    // The NACK alone is not a compound packet (RFC 3550 §6.1) but is valid reduced-size RTCP.
    let nack = raw.slice(68..);
    assert_eq!(
        PacketRefIter::compound(&nack).next(),
        Some(Err(Error::FirstNotReport { packet_type: 205 }))
    );
    assert!(matches!(
        PacketRefIter::new(&nack).next(),
        Some(Ok(RtcpPacketRef::Nack(_)))
    ));
    // An SDES item whose length runs past the packet: the offset of the value in the datagram.
    let mut v = sr_sdes_nack();
    v[61] = 9;
    let broken = Bytes::from(v);
    let errs: Vec<_> = PacketRefIter::compound(&broken).collect();
    assert_eq!(errs.len(), 2);
    assert_eq!(
        errs[1],
        Err(Error::Truncated {
            what: "SDES item value",
            offset: 62,
            needed: 9,
            available: 6
        })
    );
    // Strict compound without a CNAME: the SDES item made a NAME (type 2).
    let mut v = sr_sdes_nack();
    v[60] = 2;
    let no_cname = Bytes::from(v);
    let last = PacketRefIter::with(&no_cname, Mode::StrictCompound, Limits::default()).last();
    assert_eq!(last, Some(Err(Error::MissingCname)));
    assert_eq!(
        PacketRefIter::new(&Bytes::new()).next(),
        Some(Err(Error::Empty))
    );
}
