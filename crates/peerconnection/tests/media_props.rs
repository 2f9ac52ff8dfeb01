//! Property tests of the media units: arbitrary input never panics, tables stay bounded, and
//! RFC 3550 accounting holds for any reordering of a complete stream.

use std::time::{Duration, Instant};

use ferrtc_peerconnection::media::receiver_stats::{ReceiveConfig, ReceiveStats, Sequence};
use ferrtc_peerconnection::media::router::{
    ReceiverId, ReceiverParams, RouteInfo, Router, RouterConfig,
};
use proptest::prelude::*;

fn no_probation() -> ReceiveConfig {
    ReceiveConfig {
        min_sequential: 1,
        ..ReceiveConfig::new(90_000)
    }
}

proptest! {
    /// Any packets at all: no panic, and a block's numbers stay in their fields' ranges.
    #[test]
    fn receive_stats_never_panic(
        packets in proptest::collection::vec((any::<u16>(), any::<u32>(), 0u64..5_000_000), 1..300),
        clock in prop_oneof![Just(0u32), Just(8_000), Just(90_000), Just(u32::MAX)],
    ) {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, ReceiveConfig::new(clock), t0);
        let mut now = t0;
        for (seq, ts, dt) in packets {
            now += Duration::from_micros(dt);
            s.on_packet(now, seq, ts, 1200);
            if let Some(b) = s.report_block(now) {
                prop_assert!((-0x80_0000..=0x7f_ffff).contains(&b.cumulative_lost));
            }
        }
    }

    /// A complete run of `n` packets, each displaced by fewer than 50 positions (MAX_MISORDER
    /// is 100),
    /// some sent twice: nothing is lost beyond the duplicates (RFC 3550 counts them, so the
    /// loss is minus the duplicate count), whatever the order and the wrap.
    #[test]
    fn reordered_complete_stream_has_no_loss(
        start in any::<u16>(),
        n in 2usize..400,
        offsets in proptest::collection::vec(0usize..50, 400),
        dups in proptest::collection::vec(0usize..400, 0..20),
    ) {
        // Packet i is sorted by i + offset (offset < 50), so none moves 50 or more positions;
        // the first has the smallest key and stays first, so it is the base.
        let mut keyed: Vec<(usize, u16)> = (0..n)
            .map(|i| (if i == 0 { 0 } else { i + offsets[i] }, start.wrapping_add(i as u16)))
            .collect();
        keyed.sort_by_key(|&(k, _)| k);
        let mut order: Vec<u16> = keyed.into_iter().map(|(_, q)| q).collect();
        let mut dup_count = 0;
        for d in dups {
            let i = d % n;
            let seq = order[i];
            // The copy comes right after the original (within the duplicate window).
            order.insert(i + 1, seq);
            dup_count += 1;
        }
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(7, no_probation(), t0);
        let mut seen_dups = 0;
        for (i, seq) in order.iter().enumerate() {
            let v = s.on_packet(t0 + Duration::from_millis(i as u64), *seq, 0, 1);
            prop_assert!(v.extended().is_some(), "{v:?}");
            if matches!(v, Sequence::Duplicate { .. }) {
                seen_dups += 1;
            }
        }
        prop_assert_eq!(seen_dups, dup_count);
        prop_assert_eq!(s.expected(), n as u64);
        prop_assert_eq!(s.cumulative_lost(), -(dup_count as i64));
        let highest = u32::from(start) + n as u32 - 1;
        prop_assert_eq!(s.extended_highest(), highest);
    }

    /// Arbitrary packets against a small table: no panic, the table never exceeds its
    /// limit, and every packet is either routed or counted as a drop.
    #[test]
    fn router_is_bounded_and_accounts_every_packet(
        packets in proptest::collection::vec(
            (0u32..64, 90u8..115, any::<u16>(), proptest::option::of(0u8..4),
             proptest::option::of(0u8..4), proptest::option::of(0u8..4)),
            1..400,
        ),
    ) {
        let mids: [&[u8]; 4] = [b"0", b"1", b"2", b"nope"];
        let rids: [&[u8]; 4] = [b"h", b"m", b"l", b"zz"];
        let mut r = Router::new(RouterConfig { max_ssrcs: 8 });
        r.set_receiver(ReceiverId(0), ReceiverParams {
            mid: "0".into(), payload_types: vec![111], ..Default::default()
        }).unwrap();
        r.set_receiver(ReceiverId(1), ReceiverParams {
            mid: "1".into(), payload_types: vec![96, 98], rtx_payload_types: vec![(97, 96)],
            rids: vec!["h".into(), "m".into(), "l".into()], ..Default::default()
        }).unwrap();
        r.set_receiver(ReceiverId(2), ReceiverParams {
            mid: "2".into(), payload_types: vec![96, 100], rtx_payload_types: vec![(101, 100)],
            rtx_pairs: vec![(40, 41)], ..Default::default()
        }).unwrap();
        let mut routed = 0u64;
        for (ssrc, pt, seq, mid, rid, rrid) in &packets {
            let info = RouteInfo {
                ssrc: *ssrc,
                payload_type: *pt,
                sequence_number: *seq,
                mid: mid.map(|m| mids[usize::from(m)]),
                rid: rid.map(|x| rids[usize::from(x)]),
                repaired_rid: rrid.map(|x| rids[usize::from(x)]),
            };
            if let Ok(route) = r.route(&info) {
                routed += 1;
                prop_assert_eq!(route.ssrc, *ssrc);
                prop_assert_eq!(r.receiver_of(*ssrc), Some(route.receiver));
            }
            prop_assert!(r.bound_ssrcs() <= 8);
        }
        let dropped: u64 = r.all_drops().map(|(_, n)| n).sum();
        prop_assert_eq!(routed + dropped, packets.len() as u64);
    }
}
