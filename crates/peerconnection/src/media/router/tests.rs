//! Router unit tests.

use super::*;
use crate::Error;

const AUDIO: ReceiverId = ReceiverId(0);
const VIDEO: ReceiverId = ReceiverId(1);

fn audio() -> ReceiverParams {
    ReceiverParams {
        mid: "0".into(),
        payload_types: vec![111, 0],
        ..Default::default()
    }
}

fn video() -> ReceiverParams {
    ReceiverParams {
        mid: "1".into(),
        payload_types: vec![96, 98],
        rtx_payload_types: vec![(97, 96), (99, 98)],
        ..Default::default()
    }
}

fn router() -> Router {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(AUDIO, audio()).unwrap();
    r.set_receiver(VIDEO, video()).unwrap();
    r
}

fn pkt(ssrc: u32, pt: u8) -> RouteInfo<'static> {
    RouteInfo {
        ssrc,
        payload_type: pt,
        ..Default::default()
    }
}

fn with_mid(ssrc: u32, pt: u8, mid: &'static str) -> RouteInfo<'static> {
    RouteInfo {
        mid: Some(mid.as_bytes()),
        ..pkt(ssrc, pt)
    }
}

#[test]
fn signaled_ssrc_routes_by_ssrc() {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(
        VIDEO,
        ReceiverParams {
            ssrcs: vec![0x1111],
            ..video()
        },
    )
    .unwrap();
    let route = r.route(&pkt(0x1111, 96)).unwrap();
    assert_eq!(route.receiver, VIDEO);
    assert_eq!(route.by, RoutedBy::Ssrc);
    assert_eq!(route.kind, StreamKind::Media);
    assert!(!route.new_binding);
    assert_eq!(r.bound_ssrcs(), 1);
}

#[test]
fn mid_learns_the_ssrc_then_ssrc_routes() {
    let mut r = router();
    let first = r.route(&with_mid(42, 96, "1")).unwrap();
    assert_eq!(
        (first.receiver, first.by, first.new_binding),
        (VIDEO, RoutedBy::Mid, true)
    );
    let next = r.route(&pkt(42, 98)).unwrap();
    assert_eq!(
        (next.receiver, next.by, next.new_binding),
        (VIDEO, RoutedBy::Ssrc, false)
    );
    assert_eq!(r.receiver_of(42), Some(VIDEO));
}

#[test]
fn unknown_mid_is_a_counted_drop_and_disturbs_nothing() {
    let mut r = router();
    r.route(&with_mid(1, 111, "0")).unwrap();
    assert_eq!(r.route(&with_mid(2, 96, "zz")), Err(DropReason::UnknownMid));
    // A newer packet of a bound SSRC naming an unknown MID.
    let newer = RouteInfo {
        sequence_number: 1,
        ..with_mid(1, 111, "9")
    };
    assert_eq!(r.route(&newer), Err(DropReason::UnknownMid));
    assert_eq!(r.drops(DropReason::UnknownMid), 2);
    assert_eq!(r.route(&pkt(1, 111)).unwrap().receiver, AUDIO);
    assert_eq!(r.receiver_of(2), None);
}

#[test]
fn unique_payload_type_routes_and_learns() {
    let mut r = router();
    let route = r.route(&pkt(7, 111)).unwrap();
    assert_eq!(
        (route.receiver, route.by, route.new_binding),
        (AUDIO, RoutedBy::PayloadType, true)
    );
    assert_eq!(r.route(&pkt(7, 0)).unwrap().by, RoutedBy::Ssrc);
    assert_eq!(r.route(&pkt(8, 100)), Err(DropReason::UnknownPayloadType));
    assert_eq!(r.drops(DropReason::UnknownPayloadType), 1);
}

#[test]
fn shared_payload_type_is_ambiguous_until_one_section_goes() {
    let mut r = router();
    let second = ReceiverId(2);
    r.set_receiver(
        second,
        ReceiverParams {
            mid: "2".into(),
            ..video()
        },
    )
    .unwrap();
    assert_eq!(r.route(&pkt(5, 96)), Err(DropReason::AmbiguousPayloadType));
    // With the MID it is fine.
    assert_eq!(r.route(&with_mid(5, 96, "2")).unwrap().receiver, second);
    r.remove_receiver(second);
    assert_eq!(r.receiver_of(5), None, "bindings of a removed receiver go");
    assert_eq!(r.route(&pkt(6, 96)).unwrap().receiver, VIDEO);
    assert_eq!(r.drops(DropReason::AmbiguousPayloadType), 1);
}

#[test]
fn payload_type_of_another_section_on_a_bound_ssrc() {
    let mut r = router();
    r.route(&with_mid(3, 111, "0")).unwrap();
    assert_eq!(r.route(&pkt(3, 96)), Err(DropReason::PayloadTypeMismatch));
    assert_eq!(
        r.route(&with_mid(4, 111, "1")),
        Err(DropReason::PayloadTypeMismatch)
    );
    assert_eq!(r.drops(DropReason::PayloadTypeMismatch), 2);
}

#[test]
fn simulcast_rids_and_repaired_rids() {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(
        VIDEO,
        ReceiverParams {
            rids: vec!["h".into(), "m".into(), "l".into()],
            ..video()
        },
    )
    .unwrap();
    for (ssrc, rid, idx) in [(10, "h", 0), (20, "m", 1), (30, "l", 2)] {
        let p = RouteInfo {
            rid: Some(rid.as_bytes()),
            ..with_mid(ssrc, 96, "1")
        };
        let route = r.route(&p).unwrap();
        assert_eq!((route.rid, route.kind), (Some(idx), StreamKind::Media));
    }
    assert_eq!(r.rid(VIDEO, 1), Some(&b"m"[..]));
    // Later packets without extensions keep their layer.
    assert_eq!(r.route(&pkt(20, 96)).unwrap().rid, Some(1));
    let bad = RouteInfo {
        rid: Some(b"x"),
        ..with_mid(40, 96, "1")
    };
    assert_eq!(r.route(&bad), Err(DropReason::UnknownRid));
    // RTX of layer "m": repaired RID, RTX payload type 97.
    let rtx = RouteInfo {
        repaired_rid: Some(b"m"),
        ..with_mid(21, 97, "1")
    };
    let route = r.route(&rtx).unwrap();
    assert_eq!(route.rid, Some(1));
    assert_eq!(route.kind, StreamKind::Repair { primary: Some(20) });
    assert_eq!(
        r.route(&pkt(21, 97)).unwrap().kind,
        StreamKind::Repair { primary: Some(20) }
    );
    // A media payload type on the RTX SSRC is a mismatch.
    assert_eq!(r.route(&pkt(21, 96)), Err(DropReason::PayloadTypeMismatch));
}

#[test]
fn rids_are_learned_when_none_were_signaled_up_to_a_limit() {
    let mut r = router();
    for i in 0..MAX_LEARNED_RIDS {
        let name: &'static str = Box::leak(format!("r{i}").into_boxed_str());
        let p = RouteInfo {
            rid: Some(name.as_bytes()),
            ..with_mid(100 + i as u32, 96, "1")
        };
        assert_eq!(r.route(&p).unwrap().rid, Some(i));
    }
    let p = RouteInfo {
        rid: Some(b"one-too-many"),
        ..with_mid(999, 96, "1")
    };
    assert_eq!(r.route(&p), Err(DropReason::UnknownRid));
}

#[test]
fn fid_group_pairs_rtx_with_its_primary() {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(
        VIDEO,
        ReceiverParams {
            rtx_pairs: vec![(1000, 2000)],
            ..video()
        },
    )
    .unwrap();
    let route = r.route(&pkt(2000, 97)).unwrap();
    assert_eq!(
        route.kind,
        StreamKind::Repair {
            primary: Some(1000)
        }
    );
    assert_eq!(route.by, RoutedBy::Ssrc);
    assert_eq!(r.route(&pkt(1000, 96)).unwrap().kind, StreamKind::Media);
}

#[test]
fn unsignaled_rtx_finds_its_primary_once_the_media_is_known() {
    let mut r = router();
    // RTX first (PT 97 is unique to video): primary unknown.
    let first = r.route(&pkt(77, 97)).unwrap();
    assert_eq!(first.kind, StreamKind::Repair { primary: None });
    // The media stream appears.
    r.route(&with_mid(55, 96, "1")).unwrap();
    assert_eq!(
        r.route(&pkt(77, 97)).unwrap().kind,
        StreamKind::Repair { primary: Some(55) }
    );
    // With two media streams and no RIDs the pairing stays unknown for a new RTX SSRC.
    r.route(&with_mid(56, 96, "1")).unwrap();
    assert_eq!(
        r.route(&pkt(78, 99)).unwrap().kind,
        StreamKind::Repair { primary: None }
    );
}

#[test]
fn table_is_bounded() {
    let mut r = Router::new(RouterConfig { max_ssrcs: 2 });
    r.set_receiver(VIDEO, video()).unwrap();
    r.route(&with_mid(1, 96, "1")).unwrap();
    r.route(&pkt(2, 96)).unwrap();
    assert_eq!(r.route(&with_mid(3, 96, "1")), Err(DropReason::TableFull));
    assert_eq!(r.route(&pkt(4, 96)), Err(DropReason::TableFull));
    assert_eq!(r.drops(DropReason::TableFull), 2);
    assert_eq!(r.bound_ssrcs(), 2);
    // Known streams keep flowing; forgetting one frees a slot.
    assert!(r.route(&pkt(1, 96)).is_ok());
    r.forget_ssrc(2);
    assert!(r.route(&pkt(4, 96)).is_ok());
    // Signaled SSRCs that do not fit are a description error.
    let err = r.set_receiver(
        AUDIO,
        ReceiverParams {
            ssrcs: vec![5, 6],
            ..audio()
        },
    );
    assert!(matches!(err, Err(Error::InvalidDescription(_))));
}

#[test]
fn mid_moves_an_ssrc_to_another_section() {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(VIDEO, video()).unwrap();
    let other = ReceiverId(9);
    r.set_receiver(
        other,
        ReceiverParams {
            mid: "v2".into(),
            ..video()
        },
    )
    .unwrap();
    r.route(&with_mid(5, 96, "1")).unwrap();
    let moved = r
        .route(&RouteInfo {
            sequence_number: 1,
            ..with_mid(5, 96, "v2")
        })
        .unwrap();
    assert_eq!((moved.receiver, moved.new_binding), (other, true));
    assert_eq!(r.rebinds(), 1);
    assert_eq!(r.route(&pkt(5, 96)).unwrap().receiver, other);
}

#[test]
fn a_late_packet_with_the_old_mid_does_not_move_the_ssrc_back() {
    let mut r = Router::new(RouterConfig::default());
    r.set_receiver(VIDEO, video()).unwrap();
    let other = ReceiverId(9);
    r.set_receiver(
        other,
        ReceiverParams {
            mid: "v2".into(),
            ..video()
        },
    )
    .unwrap();
    let at = |seq: u16, mid: &'static str| RouteInfo {
        sequence_number: seq,
        ..with_mid(5, 96, mid)
    };
    assert_eq!(r.route(&at(65_535, "1")).unwrap().receiver, VIDEO);
    // Newer across the wrap: moves.
    assert_eq!(r.route(&at(1, "v2")).unwrap().receiver, other);
    // Late (65534 is before 1): stays with v2, routed by SSRC.
    let late = r.route(&at(65_534, "1")).unwrap();
    assert_eq!((late.receiver, late.by), (other, RoutedBy::Ssrc));
    assert_eq!(r.rebinds(), 1);
    // A newer packet with the old MID moves it again.
    assert_eq!(r.route(&at(2, "1")).unwrap().receiver, VIDEO);
    assert_eq!(r.rebinds(), 2);
}

#[test]
fn duplicate_mid_is_rejected_and_replacing_keeps_learned_bindings() {
    let mut r = router();
    let err = r.set_receiver(ReceiverId(5), audio());
    assert!(matches!(err, Err(Error::InvalidDescription(_))));
    r.route(&with_mid(8, 96, "1")).unwrap();
    // Renegotiation replaces the video parameters (new PT list).
    r.set_receiver(
        VIDEO,
        ReceiverParams {
            payload_types: vec![96, 45],
            ..video()
        },
    )
    .unwrap();
    assert_eq!(r.route(&pkt(8, 45)).unwrap().by, RoutedBy::Ssrc);
    assert_eq!(r.all_drops().map(|(_, n)| n).sum::<u64>(), 0);
}

#[test]
fn route_info_from_a_parsed_packet() {
    use bytes::Bytes;
    use ferrtc_rtp::values::{ExtensionValue, Mid, RtpStreamId};
    use ferrtc_rtp::{ExtensionMap, RtpPacket};
    let map = ExtensionMap::from_pairs([(1, Mid::URI), (2, RtpStreamId::URI)]).unwrap();
    let raw = Bytes::from_static(&[
        0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 9, // PT 96, SSRC 9, X set
        0xbe, 0xde, 0x00, 0x01, // one-byte form, 1 word
        0x10, b'1', 0x20, b'h', // mid "1", rid "h"
        0xca, 0xfe,
    ]);
    let p = RtpPacket::parse(raw).unwrap();
    let ext = map.read(p.header.extensions.as_ref().unwrap());
    let info = RouteInfo::new(&p.header, &ext);
    assert_eq!(info.ssrc, 9);
    assert_eq!(info.payload_type, 96);
    assert_eq!(info.mid, Some(&b"1"[..]));
    assert_eq!(info.rid, Some(&b"h"[..]));
    assert_eq!(info.repaired_rid, None);
    let mut r = router();
    let route = r.route(&info).unwrap();
    assert_eq!((route.receiver, route.rid), (VIDEO, Some(0)));
}
