//! RFC 3550 §6.1 / A.2 compound rules against RFC 5506 reduced-size RTCP: which datagrams each
//! mode accepts, and `validate_compound` on packet lists.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::*;

fn rr() -> RtcpPacket {
    RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![ReportBlock {
            ssrc: 2,
            jitter: 7,
            ..Default::default()
        }]
        .into(),
        profile_extensions: Bytes::new(),
    })
}

fn sdes(item: SdesItem) -> RtcpPacket {
    RtcpPacket::Sdes(Sdes {
        chunks: vec![SdesChunk {
            ssrc: 1,
            items: vec![item].into(),
        }]
        .into(),
    })
}

fn cname() -> RtcpPacket {
    sdes(SdesItem::cname(Bytes::from_static(b"user@host")))
}

fn pli() -> RtcpPacket {
    RtcpPacket::Pli(Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    })
}

fn wire(packets: &[RtcpPacket]) -> Bytes {
    let mut v = Vec::new();
    write_compound(packets, &mut v);
    Bytes::from(v)
}

fn iter_result(buf: Bytes, mode: Mode) -> Result<usize, Error> {
    let mut n = 0;
    for p in PacketIter::with(buf, mode, Limits::default()) {
        p?;
        n += 1;
    }
    Ok(n)
}

#[test]
fn full_compound_passes_every_mode() {
    let packets = [rr(), cname(), pli()];
    let raw = wire(&packets);
    assert_eq!(parse(raw.clone()).unwrap(), packets);
    assert_eq!(parse_reduced_size(raw.clone()).unwrap(), packets);
    assert_eq!(parse_compound(raw.clone()).unwrap(), packets);
    assert_eq!(parse_strict_compound(raw.clone()).unwrap(), packets);
    assert_eq!(iter_result(raw, Mode::StrictCompound), Ok(3));
    assert_eq!(validate_compound(&packets), Ok(()));
}

#[test]
fn lone_feedback_is_reduced_size_only() {
    // RFC 5506 §3: a PLI alone is a valid reduced-size packet, not a compound one.
    let raw = wire(&[pli()]);
    assert_eq!(parse(raw.clone()).unwrap(), [pli()]);
    let first_not_report = Err(Error::FirstNotReport { packet_type: 206 });
    assert_eq!(parse_compound(raw.clone()).map(|_| ()), first_not_report);
    assert_eq!(
        parse_strict_compound(raw.clone()).map(|_| ()),
        first_not_report
    );
    assert_eq!(validate_compound(&[pli()]), first_not_report);
    assert_eq!(
        iter_result(raw, Mode::StrictCompound).map(|_| ()),
        first_not_report
    );
}

#[test]
fn compound_without_cname_fails_only_strict() {
    // RR + PLI: valid under RFC 3550 A.2's header checks, but §6.1 requires the CNAME.
    let packets = [rr(), pli()];
    let raw = wire(&packets);
    assert_eq!(parse(raw.clone()).unwrap(), packets);
    assert_eq!(parse_compound(raw.clone()).unwrap(), packets);
    assert_eq!(parse_strict_compound(raw.clone()), Err(Error::MissingCname));
    assert_eq!(validate_compound(&packets), Err(Error::MissingCname));
    // The iterator yields both packets, then the error, then ends.
    let items: Vec<_> = PacketIter::with(raw, Mode::StrictCompound, Limits::default()).collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert_eq!(items[2], Err(Error::MissingCname));
}

#[test]
fn sdes_without_cname_item_is_not_enough() {
    let name = sdes(SdesItem {
        item_type: SdesItemType::Name,
        value: Bytes::from_static(b"Alice"),
    });
    let packets = [rr(), name];
    assert_eq!(
        parse_strict_compound(wire(&packets)),
        Err(Error::MissingCname)
    );
    assert_eq!(validate_compound(&packets), Err(Error::MissingCname));
    // An empty SDES (no chunks) neither.
    let empty = [rr(), RtcpPacket::Sdes(Sdes::default())];
    assert_eq!(
        parse_strict_compound(wire(&empty)),
        Err(Error::MissingCname)
    );
}

#[test]
fn cname_may_come_in_any_chunk_and_position() {
    // A mixer's SDES: the CNAME is in the second chunk, and after a feedback packet.
    let mixed = RtcpPacket::Sdes(Sdes {
        chunks: vec![
            SdesChunk {
                ssrc: 1,
                items: vec![SdesItem {
                    item_type: SdesItemType::Tool,
                    value: Bytes::from_static(b"ferrtc"),
                }]
                .into(),
            },
            SdesChunk {
                ssrc: 3,
                items: vec![SdesItem::cname(Bytes::from_static(b"c"))].into(),
            },
        ]
        .into(),
    });
    let packets = [rr(), pli(), mixed];
    assert_eq!(
        parse_strict_compound(wire(&packets)).unwrap(),
        packets.to_vec()
    );
    assert_eq!(validate_compound(&packets), Ok(()));
}

#[test]
fn padding_rules() {
    // A padded packet first: compound modes reject it (RFC 3550 A.2), reduced-size accepts.
    let padded = RtcpPacket::Raw(RawPacket {
        count: 0,
        packet_type: 205,
        body: Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 2]),
        padding: 4,
    });
    let rr_padded = {
        let mut raw = wire(&[rr()]).to_vec();
        raw[0] |= 0x20;
        raw.extend_from_slice(&[0, 0, 0, 4]);
        let words = (raw.len() / 4 - 1) as u16;
        raw[2..4].copy_from_slice(&words.to_be_bytes());
        Bytes::from(raw)
    };
    let mut both = rr_padded.to_vec();
    both.extend_from_slice(&wire(&[cname()]));
    let both = Bytes::from(both);
    assert!(parse(both.clone()).is_ok());
    assert_eq!(
        parse_compound(both.clone()),
        Err(Error::PaddingNotLast { offset: 0 })
    );
    assert_eq!(
        parse_strict_compound(both),
        Err(Error::PaddingNotLast { offset: 0 })
    );
    // Padding on the last packet is fine everywhere.
    let ok = [rr(), cname(), padded.clone()];
    assert_eq!(parse_strict_compound(wire(&ok)).unwrap(), ok.to_vec());
    assert_eq!(validate_compound(&ok), Ok(()));
    // validate_compound sees the padding of a packet that is not last.
    let bad = [rr(), padded, cname()];
    let at = rr().encoded_len();
    assert_eq!(
        validate_compound(&bad),
        Err(Error::PaddingNotLast { offset: at })
    );
}

#[test]
fn empty_inputs() {
    assert_eq!(validate_compound(&[]), Err(Error::Empty));
    assert_eq!(parse_strict_compound(Bytes::new()), Err(Error::Empty));
    assert_eq!(parse(Bytes::new()), Err(Error::Empty));
}

#[test]
fn browser_style_compound_is_strictly_valid() {
    // What Chrome sends every report interval: SR + SDES CNAME, then feedback.
    let sr = RtcpPacket::SenderReport(SenderReport {
        ssrc: 1,
        ntp_timestamp: 0xe8f1_2345_6789_abcd,
        rtp_timestamp: 3000,
        packet_count: 10,
        octet_count: 12_000,
        reports: ReportBlocks::new(),
        profile_extensions: Bytes::new(),
    });
    let packets = [sr, cname()];
    assert_eq!(parse_strict_compound(wire(&packets)).unwrap(), packets);
}

/// Borrowing the datagram (`PacketIter::new(&bytes)`) yields exactly what owning it does: the
/// same packets, and for a broken second packet the same error with the same absolute offset.
#[test]
fn borrowed_iterator_matches_owned() {
    let good = wire(&[rr(), cname(), pli()]);
    for mode in [Mode::Compound, Mode::ReducedSize, Mode::StrictCompound] {
        let owned: Vec<_> = PacketIter::with(good.clone(), mode, Limits::default()).collect();
        let borrowed: Vec<_> = PacketIter::with(&good, mode, Limits::default()).collect();
        assert_eq!(owned, borrowed);
        assert_eq!(owned.len(), 3);
    }
    // Second packet (the SDES, at offset 32) claims more length than the datagram has left.
    let mut bad = good.to_vec();
    let sdes_at = rr().encoded_len();
    bad[sdes_at + 3] = 0x7f;
    let bad = Bytes::from(bad);
    let owned: Vec<_> = PacketIter::new(bad.clone()).collect();
    let borrowed: Vec<_> = PacketIter::new(&bad).collect();
    assert_eq!(owned, borrowed);
    assert_eq!(owned.len(), 2);
    match &owned[1] {
        Err(Error::BadLength { offset, .. }) => assert_eq!(*offset, sdes_at),
        other => panic!("expected BadLength at {sdes_at}, got {other:?}"),
    }
    // Slices in the packets refer to the right bytes of the datagram.
    let Some(Ok(RtcpPacket::Sdes(s))) = PacketIter::new(&good).nth(1) else {
        panic!("second packet is the SDES");
    };
    assert_eq!(&s.chunks[0].cname().unwrap()[..], b"user@host");
}
