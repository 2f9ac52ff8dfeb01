//! Property tests: values round-trip, arbitrary bytes never panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtp::values::*;
use ferrtc_rtp::{
    rtx, Csrcs, ExtensionForm, ExtensionMap, ExtensionsBuilder, HeaderExtensions, RtpHeader,
    RtpPacket, RtpPacketView, SeqUnwrapper,
};
use proptest::prelude::*;

fn extensions() -> impl Strategy<Value = Option<HeaderExtensions>> {
    let elements =
        prop::collection::btree_map(1u8..=255, prop::collection::vec(any::<u8>(), 0..20), 0..6);
    prop_oneof![
        Just(None),
        (elements, any::<bool>())
            .prop_filter_map("fits a form", |(els, two)| {
                let mut b = ExtensionsBuilder::new();
                for (id, d) in &els {
                    b.push(*id, d).ok()?;
                }
                b.finish(two).ok()
            })
            .prop_map(Some),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..10)).prop_map(|(profile, mut d)| {
            d.truncate(d.len() / 4 * 4);
            Some(HeaderExtensions::new(profile, Bytes::from(d)).unwrap())
        }),
    ]
}

fn packet() -> impl Strategy<Value = RtpPacket> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        extensions(),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<u8>(),
    )
        .prop_map(
            |(marker, pt, seq, ts, ssrc, csrcs, ext, payload, padding)| RtpPacket {
                header: RtpHeader {
                    marker,
                    payload_type: pt,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc,
                    csrcs: Csrcs::from_slice(&csrcs).unwrap(),
                    extensions: ext,
                },
                payload: Bytes::from(payload),
                padding,
            },
        )
}

proptest! {
    #[test]
    fn packet_round_trips(p in packet()) {
        let wire = p.to_bytes();
        prop_assert_eq!(wire.len(), p.encoded_len());
        let back = RtpPacket::parse(wire.clone()).unwrap();
        prop_assert_eq!(&back, &p);
        let view = RtpPacketView::parse(wire.clone()).unwrap();
        prop_assert_eq!(view.to_packet(), p.clone());
        prop_assert_eq!(view.payload(), &p.payload[..]);
        prop_assert_eq!(view.csrcs().collect::<Vec<_>>(), p.header.csrcs.to_vec());
        let (h, info) = RtpHeader::parse(&wire).unwrap();
        prop_assert_eq!(h, p.header.clone());
        prop_assert_eq!(info.padding, p.padding != 0);
        // Every cut inside the header errors; any cut never panics.
        let hlen = p.header.encoded_len();
        for cut in 0..wire.len() {
            let r = RtpPacket::parse(wire.slice(..cut));
            prop_assert_eq!(r.is_ok(), RtpPacketView::parse(wire.slice(..cut)).is_ok());
            if cut < hlen {
                prop_assert!(r.is_err());
            }
        }
    }

    #[test]
    fn built_extensions_read_back(
        els in prop::collection::btree_map(1u8..=14, prop::collection::vec(any::<u8>(), 1..=16), 0..8),
        two in any::<bool>(),
    ) {
        let mut b = ExtensionsBuilder::new();
        for (id, d) in &els {
            b.push(*id, d).unwrap();
        }
        let ext = if two { b.finish_as(ExtensionForm::TwoByte) } else { b.finish(false) }.unwrap();
        let got: Vec<(u8, Vec<u8>)> = ext.iter().map(|e| { let e = e.unwrap(); (e.id, e.data.to_vec()) }).collect();
        let want: Vec<(u8, Vec<u8>)> = els.into_iter().collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200), as_rtp in any::<bool>()) {
        let mut data = data;
        if as_rtp && !data.is_empty() {
            data[0] = (data[0] & 0x3f) | 0x80;
        }
        let raw = Bytes::from(data);
        let _ = RtpHeader::parse(&raw);
        let view = RtpPacketView::parse(raw.clone());
        prop_assert_eq!(view.is_ok(), RtpPacket::parse(raw.clone()).is_ok());
        if let Ok(v) = &view {
            prop_assert_eq!(v.to_packet(), RtpPacket::parse(raw.clone()).unwrap());
            if let Some(e) = v.extensions() {
                let _ = e.iter().count();
            }
        }
        if let Ok(p) = RtpPacket::parse(raw.clone()) {
            // Whatever parses re-serializes to something that parses to the same value.
            prop_assert_eq!(RtpPacket::parse(p.to_bytes()).unwrap(), p.clone());
            if let Some(ext) = &p.header.extensions {
                let map = ExtensionMap::from_pairs([
                    (1, Mid::URI), (2, AbsSendTime::URI), (3, TransportCc::URI),
                    (4, AudioLevel::URI), (5, VideoOrientation::URI), (6, PlayoutDelay::URI),
                    (7, AbsCaptureTime::URI), (8, RtpStreamId::URI), (9, RepairedRtpStreamId::URI),
                ]).unwrap();
                let _ = map.read(ext);
                let _ = ext.iter().count();
            }
            let _ = rtx::decapsulate(&p, 96, 1);
        }
    }

    #[test]
    fn typed_values_round_trip(
        ast in 0u32..(1 << 24), seq in any::<u16>(), req in proptest::option::of((any::<bool>(), 0u16..(1 << 15))),
        voice in any::<bool>(), level in 0u8..128, cam in any::<bool>(), flip in any::<bool>(), rot in 0u8..4,
        min in 0u16..4096, max in 0u16..4096, ntp in any::<u64>(), off in proptest::option::of(any::<i64>()),
        mid in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let mut b = ExtensionsBuilder::new();
        let tcc = TransportCc { sequence_number: seq, feedback_request: req.map(|(t, c)| FeedbackRequest { include_timestamps: t, sequence_count: c }) };
        let al = AudioLevel { voice_activity: voice, level };
        let vo = VideoOrientation { back_camera: cam, flip, rotation: rot };
        let pd = PlayoutDelay { min, max };
        let act = AbsCaptureTime { capture_ntp: ntp, estimated_clock_offset: off };
        b.push_value(1, &AbsSendTime(ast)).unwrap()
            .push_value(2, &tcc).unwrap()
            .push_value(3, &al).unwrap()
            .push_value(4, &vo).unwrap()
            .push_value(5, &pd).unwrap()
            .push_value(6, &act).unwrap()
            .push_value(7, &Mid(&mid)).unwrap()
            .push_value(8, &RtpStreamId(&mid)).unwrap()
            .push_value(9, &RepairedRtpStreamId(&mid)).unwrap();
        let ext = b.finish(false).unwrap();
        let map = ExtensionMap::from_pairs([
            (1, AbsSendTime::URI), (2, TransportCc::URI), (3, AudioLevel::URI),
            (4, VideoOrientation::URI), (5, PlayoutDelay::URI), (6, AbsCaptureTime::URI),
            (7, Mid::URI), (8, RtpStreamId::URI), (9, RepairedRtpStreamId::URI),
        ]).unwrap();
        let k = map.read(&ext);
        prop_assert_eq!(k.abs_send_time, Some(AbsSendTime(ast)));
        prop_assert_eq!(k.transport_cc, Some(tcc));
        prop_assert_eq!(k.audio_level, Some(al));
        prop_assert_eq!(k.video_orientation, Some(vo));
        prop_assert_eq!(k.playout_delay, Some(pd));
        prop_assert_eq!(k.abs_capture_time, Some(act));
        prop_assert_eq!(k.mid, Some(Mid(&mid)));
        prop_assert_eq!(k.rtp_stream_id, Some(RtpStreamId(&mid)));
        prop_assert_eq!(k.repaired_rtp_stream_id, Some(RepairedRtpStreamId(&mid)));
    }

    #[test]
    fn rtx_round_trips(p in packet(), rtx_pt in 0u8..128, rtx_ssrc in any::<u32>(), rtx_seq in any::<u16>()) {
        let mut p = p;
        p.padding = 0;
        let r = rtx::encapsulate(&p, rtx_pt, rtx_ssrc, rtx_seq);
        let wire = RtpPacket::parse(r.to_bytes()).unwrap();
        prop_assert_eq!(rtx::original_sequence_number(&wire).unwrap(), p.header.sequence_number);
        prop_assert_eq!(rtx::decapsulate(&wire, p.header.payload_type, p.header.ssrc).unwrap(), p);
    }

    #[test]
    fn seq_unwrap_matches_counter(steps in prop::collection::vec(-1000i64..3000, 1..200), start in any::<u16>()) {
        let mut u = SeqUnwrapper::new();
        let mut ext = i64::from(start);
        prop_assert_eq!(u.unwrap(start), ext);
        for s in steps {
            ext += s;
            prop_assert_eq!(u.unwrap(ext.rem_euclid(65536) as u16), ext);
        }
    }
}
