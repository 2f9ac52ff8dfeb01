//! The media units of issue 13 composed by hand, as the connection will compose them: a
//! sender's RTP crosses a lossy, delayed path to a router and receive streams, whose receiver
//! report goes back over the same delay; the sender then computes the round trip and sees the
//! loss it caused. Virtual clock, fixed loss pattern.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_peerconnection::media::receiver::{ReceiveStreams, StreamsConfig};
use ferrtc_peerconnection::media::reports::ReportBuilder;
use ferrtc_peerconnection::media::router::{
    ReceiverId, ReceiverParams, RouteInfo, Router, RouterConfig, StreamKind,
};
use ferrtc_peerconnection::media::rtt::{RttConfig, RttEstimator};
use ferrtc_peerconnection::media::sender_stats::SenderStats;
use ferrtc_peerconnection::media::NtpTime;
use ferrtc_rtcp::{parse_strict_compound, write_compound, RtcpPacket};
use ferrtc_rtp::values::{ExtensionValue, Mid};
use ferrtc_rtp::{ExtensionMap, ExtensionsBuilder, RtpHeader, RtpPacket};

const SSRC: u32 = 0x5eed;
const ONE_WAY: Duration = Duration::from_millis(40);

#[test]
fn rtp_then_rr_gives_rtt_and_loss_at_the_sender() {
    let t0 = Instant::now();
    // Wall clock of both ends: NTP 1000 s at t0.
    let ntp = |t: Instant| NtpTime(1000 << 32).plus(t - t0);
    let map = ExtensionMap::from_pairs([(1, Mid::URI)]).unwrap();

    let mut sender = SenderStats::new(SSRC, 90_000);
    let mut rtt = RttEstimator::new(RttConfig::default());
    let mut router = Router::new(RouterConfig::default());
    router
        .set_receiver(
            ReceiverId(1),
            ReceiverParams {
                mid: "v".into(),
                payload_types: vec![96],
                ..Default::default()
            },
        )
        .unwrap();
    let mut streams = ReceiveStreams::new(StreamsConfig::default());

    // 100 packets, one per 10 ms; every 10th lost; only the first 5 carry the MID.
    let mut delivered = 0;
    for i in 0..100u16 {
        let sent_at = t0 + Duration::from_millis(10 * u64::from(i));
        let ts = 3000 * u32::from(i / 3); // three packets per frame at 30 fps
        sender.set_timestamp_reference(sent_at, ts);
        let mut header = RtpHeader {
            payload_type: 96,
            sequence_number: 1000 + i,
            timestamp: ts,
            ssrc: SSRC,
            ..Default::default()
        };
        if i < 5 {
            let mut ext = ExtensionsBuilder::new();
            ext.push(1, b"v").unwrap();
            header.extensions = Some(ext.finish(false).unwrap());
        }
        let pkt = RtpPacket {
            header,
            payload: Bytes::from_static(&[0u8; 1000]),
            padding: 0,
        };
        let mut wire = Vec::new();
        pkt.write_to(&mut wire);
        sender.on_packet_sent(sent_at, wire.len() - 1000, 1000);
        if i % 10 == 9 {
            continue; // lost
        }
        let arrive = sent_at + ONE_WAY;
        let parsed = RtpPacket::parse(Bytes::from(wire)).unwrap();
        let ext = parsed
            .header
            .extensions
            .as_ref()
            .map(|e| map.read(e))
            .unwrap_or_default();
        let route = router.route(&RouteInfo::new(&parsed.header, &ext)).unwrap();
        assert_eq!(route.receiver, ReceiverId(1));
        assert_eq!(route.kind, StreamKind::Media);
        streams
            .on_rtp(
                arrive,
                &route,
                parsed.header.sequence_number,
                parsed.header.timestamp,
                parsed.payload.len(),
                90_000,
            )
            .unwrap();
        delivered += 1;
    }
    assert_eq!(delivered, 90);

    // The sender's SR at 1 s reaches the receiver 40 ms later.
    let sr_at = t0 + Duration::from_secs(1);
    let (sr_packets, has_sr) = ReportBuilder::new(&b"send"[..], true).regular(
        sr_at,
        ntp(sr_at),
        SSRC,
        std::slice::from_mut(&mut sender),
        &mut ReceiveStreams::new(StreamsConfig::default()),
    );
    assert!(has_sr);
    rtt.on_sender_report_sent(ntp(sr_at));
    let mut buf = Vec::new();
    write_compound(&sr_packets, &mut buf);
    let RtcpPacket::SenderReport(sr) = &parse_strict_compound(Bytes::from(buf)).unwrap()[0] else {
        panic!("no SR first");
    };
    assert_eq!(sr.packet_count, 100);
    assert_eq!(sr.octet_count, 100_000);
    assert!(streams.on_sender_report(sr_at + ONE_WAY, sr));

    // The receiver reports 200 ms after the SR arrived; the RR takes 40 ms back.
    let rr_at = sr_at + ONE_WAY + Duration::from_millis(200);
    let (rr_packets, has_sr) = ReportBuilder::new(&b"recv"[..], true).regular(
        rr_at,
        ntp(rr_at),
        0x7777,
        &mut [],
        &mut streams,
    );
    assert!(!has_sr);
    let mut buf = Vec::new();
    write_compound(&rr_packets, &mut buf);
    let back = parse_strict_compound(Bytes::from(buf)).unwrap();
    let RtcpPacket::ReceiverReport(rr) = &back[0] else {
        panic!("no RR first");
    };
    let block = rr.reports.iter().find(|b| b.ssrc == SSRC).unwrap();
    // The RFC 3550 default probation skips the first packet, and 1099 was lost, so the
    // highest is 1098: expected 98 (1001..=1098), received 89 (90 delivered minus the first);
    // 9 lost (1009, 1019, ..., 1089).
    assert_eq!(block.cumulative_lost, 9);
    assert_eq!(block.extended_highest_sequence, 1098);
    // fraction = (9 << 8) / 98 = 2304 / 98 = 23.
    assert_eq!(block.fraction_lost, 23);
    // Perfect pacing on a fixed delay, but three packets share a timestamp: transit times
    // differ by 10 ms (900 units) within a frame, so the jitter is not zero.
    assert!(block.jitter > 0);
    let arrival = rr_at + ONE_WAY;
    let measured = rtt.on_report_block(ntp(arrival), block).unwrap();
    // 80 ms round trip, within the 1/65536 s truncations of LSR and DLSR.
    let err = measured.as_secs_f64() - 0.080;
    assert!(err.abs() < 0.000_1, "rtt {measured:?}");
}
