//! H.264 (RFC 6184): RFC figure payloads, round trips at every MTU, parameter-set insertion,
//! SPS parsing, profile-level-id matching, malformed input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::h264::{
    negotiate, parse_sps, AnnexBNals, H264Depacketizer, H264Fmtp, H264Packetizer, H264Profile,
    PacketizationMode, ProfileLevelId,
};
use ferrtc_media_codecs::{CodecInfo, Depacketizer, Error, Packetizer};
use proptest::prelude::*;

const MTUS: [usize; 6] = [200, 300, 576, 1000, 1200, 1500];
/// x264 (ffmpeg testsrc 320x240, baseline): SPS, PPS, SEI, IDR, two P slices.
const X264: &[u8] = include_bytes!("data/video_x264_320x240_baseline.h264");
/// x264 SPS of a 1920x1080 High-profile stream (1088 coded lines, cropped by 8).
const SPS_1080P: &str = "67640028acd940780227e5c044000003000400000300f03c60c658";
/// x264 SPS of a 176x144 High-profile stream.
const SPS_QCIF: &str = "6764000bacd942c4ec0440000003004000000f03c50a6580";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(&[0, 0, 0, 1]);
        v.extend_from_slice(n);
    }
    v
}

fn nal(t: u8, nri: u8, len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![(nri << 5) | t];
    // Payload bytes that never form a start code (no 00 00 sequences).
    v.extend(
        (0..len.saturating_sub(1)).map(|i| ((i as u8).wrapping_mul(7).wrapping_add(seed)) | 1),
    );
    v
}

fn depacketize(payloads: &[(Bytes, bool)]) -> Result<Vec<u8>, Error> {
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    for (p, _) in payloads {
        d.push(p, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

#[test]
fn rfc6184_stap_a_figure_7() {
    // STAP-A NAL HDR (NRI 3, type 24) | size 4 | SPS-like NAL | size 2 | PPS-like NAL
    let payload = [
        0x78, 0x00, 0x04, 0x67, 0x42, 0x00, 0x00, 0x00, 0x02, 0x68, 0xce,
    ];
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    let info = d.push(&payload, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    assert_eq!(
        out,
        [0, 0, 0, 1, 0x67, 0x42, 0x00, 0x00, 0, 0, 0, 1, 0x68, 0xce]
    );
    let CodecInfo::H264(h) = info.codec else {
        panic!()
    };
    assert_eq!(h.packet_type, 24);
    assert!(h.has_sps && h.has_pps && !h.has_idr);
    assert!(info.keyframe);
}

#[test]
fn rfc6184_fu_a_figures_14_15() {
    // IDR NAL header 0x65 fragmented: FU indicator 0x7c (NRI 3, type 28), FU header S|5, -|5, E|5.
    let p = [
        vec![0x7c, 0x85, 0x01, 0x02],
        vec![0x7c, 0x05, 0x03],
        vec![0x7c, 0x45, 0x04, 0x05],
    ];
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    for x in &p {
        let i = d.push(x, &mut out).unwrap();
        assert!(i.keyframe);
    }
    d.finish(&mut out).unwrap();
    assert_eq!(out, [0, 0, 0, 1, 0x65, 1, 2, 3, 4, 5]);
}

#[test]
fn fu_a_errors() {
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    // S and E both set.
    assert!(matches!(
        d.push(&[0x7c, 0xc5, 0x01], &mut out),
        Err(Error::Invalid { .. })
    ));
    // Middle fragment without start.
    assert!(matches!(
        d.push(&[0x7c, 0x05, 0x01], &mut out),
        Err(Error::Discontinuity { .. })
    ));
    // Start, then the frame ends without E.
    d.push(&[0x7c, 0x85, 0x01], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
    // Start then a single NAL: the fragment is incomplete.
    d.push(&[0x7c, 0x85, 0x01], &mut out).unwrap();
    assert!(d.push(&[0x41, 0x01], &mut out).is_err());
}

#[test]
fn malformed_payloads_are_errors() {
    let d = H264Depacketizer::new();
    let bad: &[&[u8]] = &[
        &[],
        &[0x80, 0x01],             // forbidden bit
        &[0x00, 0x01],             // type 0
        &[0x1e],                   // type 30
        &[0x78],                   // empty STAP-A
        &[0x78, 0x00, 0x05, 0x67], // STAP-A size past the end
        &[0x78, 0x00, 0x00],       // zero-size unit
        &[0x7c],                   // FU-A without header
        &[0x7c, 0x85],             // FU-A without data
        &[0x7c, 0x98, 0x01],       // FU-A of a STAP-A
        &[0x79, 0x00],             // STAP-B
        &[0x7d, 0x85, 0x00, 0x00], // FU-B
    ];
    for b in bad {
        assert!(d.packet_info(b).is_err(), "{b:02x?}");
    }
}

#[test]
fn annex_b_iteration() {
    let data = [
        0xff, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 0, 3, 0, 0,
    ];
    let nals: Vec<&[u8]> = AnnexBNals::new(&data).collect();
    assert_eq!(
        nals,
        vec![&[0x67, 1][..], &[0x68, 2][..], &[0x65, 0, 3][..]]
    );
}

#[test]
fn round_trip_every_mtu() {
    for &mtu in &MTUS {
        for &sizes in &[
            &[5usize][..],
            &[10, 4, 100][..],
            &[1400][..],
            &[5 * 1024][..],
            &[20, 4, 100 * 1024, 3000][..],
        ] {
            let nals: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| nal(1 + (i as u8 % 5), 2, n, mtu as u8))
                .collect();
            let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
            let src = annex_b(&refs);
            let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
            let pkts = p.packetize(Bytes::from(src.clone()), mtu).unwrap();
            for (i, (pl, m)) in pkts.iter().enumerate() {
                assert!(pl.len() <= mtu, "mtu {mtu} len {}", pl.len());
                assert_eq!(*m, i + 1 == pkts.len());
            }
            if sizes.contains(&(100 * 1024)) && mtu == 200 {
                assert!(pkts.len() > 500, "{}", pkts.len());
            }
            if sizes == [10, 4, 100] {
                // Three small units: one STAP-A.
                assert_eq!(pkts.len(), 1);
                assert_eq!(pkts[0].0[0] & 0x1f, 24);
            }
            assert_eq!(
                depacketize(&pkts).unwrap(),
                src,
                "mtu {mtu} sizes {sizes:?}"
            );
        }
    }
}

#[test]
fn real_x264_stream_round_trip() {
    for &mtu in &MTUS {
        let mut p = H264Packetizer::default();
        let pkts = p.packetize(Bytes::from_static(X264), mtu).unwrap();
        let out = depacketize(&pkts).unwrap();
        let a: Vec<&[u8]> = AnnexBNals::new(X264).collect();
        let b: Vec<&[u8]> = AnnexBNals::new(&out).collect();
        assert_eq!(a.len(), 6);
        assert_eq!(a, b);
        let d = H264Depacketizer::new();
        let first = d.packet_info(&pkts[0].0).unwrap();
        assert!(first.keyframe);
        assert_eq!(first.resolution, Some((320, 240)));
    }
}

#[test]
fn mode_0_single_nal_only() {
    let big = nal(5, 3, 1500, 0);
    let small = nal(1, 2, 100, 0);
    let mut p = H264Packetizer::new(PacketizationMode::SingleNal);
    let e = p
        .packetize(Bytes::from(annex_b(&[&small, &big])), 1200)
        .unwrap_err();
    assert!(matches!(e, Error::MtuTooSmall { needed: 1500, .. }));
    let pkts = p
        .packetize(Bytes::from(annex_b(&[&small, &small])), 1200)
        .unwrap();
    // No aggregation in mode 0.
    assert_eq!(pkts.len(), 2);
    assert_eq!(pkts[0].0.as_ref(), small.as_slice());
}

#[test]
fn parameter_sets_sent_before_idr_without_them() {
    let sps = hex(SPS_QCIF);
    let pps = vec![0x68, 0xeb, 0xe3, 0xcb];
    let idr = nal(5, 3, 50, 1);
    let p_slice = nal(1, 2, 50, 2);
    let mut p = H264Packetizer::default();
    // Frame 1 carries SPS/PPS: sent as given.
    let f1 = annex_b(&[&sps, &pps, &idr]);
    assert_eq!(
        depacketize(&p.packetize(Bytes::from(f1.clone()), 1200).unwrap()).unwrap(),
        f1
    );
    // Frame 2: a P slice, nothing inserted.
    let f2 = annex_b(&[&p_slice]);
    assert_eq!(
        depacketize(&p.packetize(Bytes::from(f2.clone()), 1200).unwrap()).unwrap(),
        f2
    );
    // Frame 3: an IDR alone: SPS and PPS go first, in one STAP-A with it when it fits.
    let f3 = annex_b(&[&idr]);
    let pkts = p.packetize(Bytes::from(f3), 1200).unwrap();
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].0[0] & 0x1f, 24);
    assert_eq!(depacketize(&pkts).unwrap(), annex_b(&[&sps, &pps, &idr]));
    // With a small MTU the parameter sets share a STAP-A and the IDR goes alone.
    let pkts = p.packetize(Bytes::from(annex_b(&[&idr])), 60).unwrap();
    assert_eq!(pkts.len(), 2);
    assert_eq!(
        pkts[0].0.as_ref(),
        [&[0x78u8, 0, sps.len() as u8][..], &sps, &[0, 4], &pps].concat()
    );
}

#[test]
fn sps_resolution_and_cropping() {
    let s = parse_sps(&hex(SPS_1080P)).unwrap();
    assert_eq!((s.profile_idc, s.level_idc), (100, 40));
    assert_eq!((s.width, s.height), (1920, 1080));
    let s = parse_sps(&hex(SPS_QCIF)).unwrap();
    assert_eq!((s.width, s.height), (176, 144));
    assert_eq!(parse_sps(&hex(SPS_1080P)[..6]), None);
    assert_eq!(parse_sps(&[0x68, 0x42]), None);
}

#[test]
fn profile_level_id_parsing() {
    let cases = [
        ("42e01f", H264Profile::ConstrainedBaseline, 62),
        ("42c01f", H264Profile::ConstrainedBaseline, 62),
        ("4de01f", H264Profile::ConstrainedBaseline, 62),
        ("42001f", H264Profile::Baseline, 62),
        ("4d001f", H264Profile::Main, 62),
        ("640c34", H264Profile::ConstrainedHigh, 104),
        ("640028", H264Profile::High, 80),
        ("42f00b", H264Profile::ConstrainedBaseline, 21), // level 1b
    ];
    for (s, prof, lvl) in cases {
        let p: ProfileLevelId = s.parse().unwrap();
        assert_eq!(p.profile(), Some(prof), "{s}");
        assert_eq!(p.level_ordinal(), lvl, "{s}");
        assert_eq!(p.to_string(), s);
    }
    assert!("42e01".parse::<ProfileLevelId>().is_err());
    assert!("42e01g".parse::<ProfileLevelId>().is_err());
    assert_eq!("640101".parse::<ProfileLevelId>().unwrap().profile(), None);
}

#[test]
fn rfc6184_8_2_2_offer_answer() {
    let offer =
        H264Fmtp::parse("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
            .unwrap();
    // Constrained baseline written another way, same mode, level 3.0 and asymmetry: match,
    // the answer keeps the offer's profile and carries the local level.
    let local =
        H264Fmtp::parse("profile-level-id=42c01e;packetization-mode=1;level-asymmetry-allowed=1")
            .unwrap();
    let n = negotiate(&offer, &local).unwrap();
    assert_eq!(n.answer_profile_level_id.to_string(), "42e01e");
    assert_eq!(n.offerer_to_answerer_level, 60);
    assert_eq!(n.answerer_to_offerer_level, 62);
    // Without asymmetry: the lower level both ways.
    let local = H264Fmtp::parse("profile-level-id=42e034;packetization-mode=1").unwrap();
    let n = negotiate(&offer, &local).unwrap();
    assert_eq!(n.answer_profile_level_id.to_string(), "42e01f");
    assert_eq!(
        (n.offerer_to_answerer_level, n.answerer_to_offerer_level),
        (62, 62)
    );
    // Packetization mode differs: no match.
    let local = H264Fmtp::parse("profile-level-id=42e01f").unwrap();
    assert_eq!(negotiate(&offer, &local), None);
    // Profile differs: no match.
    let local = H264Fmtp::parse("profile-level-id=640c1f;packetization-mode=1").unwrap();
    assert_eq!(negotiate(&offer, &local), None);
    // Level 1b answer from a baseline local: constraint_set3 marks it.
    let local = H264Fmtp::parse("profile-level-id=42f00b;packetization-mode=1").unwrap();
    let n = negotiate(&offer, &local).unwrap();
    assert_eq!(n.answer_profile_level_id.to_string(), "42f00b");
    // Defaults: Baseline level 1, mode 0.
    let d = H264Fmtp::parse("").unwrap();
    assert_eq!(d.profile_level_id.to_string(), "42000a");
    assert_eq!(d.packetization_mode, 0);
}

#[test]
fn decodability_idr_chain() {
    let mut d = H264Depacketizer::new();
    let idr = d.packet_info(&nal(5, 3, 10, 0)).unwrap();
    let p = d.packet_info(&nal(1, 2, 10, 0)).unwrap();
    assert!(!d.decodable(&p, true));
    assert!(d.decodable(&idr, false));
    assert!(d.decodable(&p, true));
    assert!(!d.decodable(&p, false));
    assert!(!d.decodable(&p, true));
    assert!(d.decodable(&idr, false));
}

proptest! {
    #[test]
    fn depacketize_never_panics(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
        let mut d = H264Depacketizer::new();
        let mut out = Vec::new();
        for p in &payloads {
            let _ = d.packet_info(p);
            if d.push(p, &mut out).is_err() {
                d.reset();
                out.clear();
            }
        }
        let _ = d.finish(&mut out);
        // Every payload byte becomes at most itself plus start codes (4 per 2-byte STAP unit).
        prop_assert!(out.len() <= payloads.iter().map(|p| p.len() * 3 + 4).sum::<usize>());
    }

    #[test]
    fn round_trip_random_nals(sizes in proptest::collection::vec(1usize..3000, 1..6), mtu in 200usize..1500) {
        let nals: Vec<Vec<u8>> = sizes.iter().map(|&n| nal(1, 1, n, n as u8)).collect();
        let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        let src = annex_b(&refs);
        let pkts = H264Packetizer::default().packetize(Bytes::from(src.clone()), mtu).unwrap();
        prop_assert_eq!(depacketize(&pkts).unwrap(), src);
    }

    #[test]
    fn sps_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut v = vec![0x67];
        v.extend(data);
        let _ = parse_sps(&v);
    }
}

#[test]
fn merged_facts_of_a_keyframe_split_over_stap_a_and_fu_a() {
    // Key frame: STAP-A with SPS and PPS, then the IDR slice in FU-As.
    let sps = hex(SPS_QCIF);
    let frame = annex_b(&[&sps, &[0x68, 0xeb, 0xe3, 0xcb], &nal(5, 3, 3000, 1)]);
    let pkts = H264Packetizer::default()
        .packetize(Bytes::from(frame), 1200)
        .unwrap();
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    let mut merged = None;
    for (p, _) in &pkts {
        let info = d.push(p, &mut out).unwrap();
        match merged.as_mut() {
            None => merged = Some(info),
            Some(m) => d.merge_info(m, &info),
        }
    }
    let merged = merged.unwrap();
    let CodecInfo::H264(h) = merged.codec else {
        panic!()
    };
    assert_eq!(h.packet_type, 24);
    assert!(h.has_sps && h.has_pps && h.has_idr);
    assert_eq!(merged.resolution, Some((176, 144)));
    assert!(d.decodable(&merged, false));
}

/// An SPS bit by bit (H.264 §7.3.2.1.1), High profile 640x480 with a scaling matrix whose
/// first list carries `delta_scale` (§7.3.2.1.1.1).
fn sps_with_scaling_delta(delta: i64) -> Vec<u8> {
    struct Bits(Vec<bool>);
    impl Bits {
        fn put(&mut self, v: u64, n: u32) {
            for i in (0..n).rev() {
                self.0.push(v >> i & 1 == 1);
            }
        }
        fn ue(&mut self, v: u64) {
            let x = v + 1;
            let n = 64 - x.leading_zeros();
            self.put(0, n - 1);
            self.put(x, n);
        }
        fn se(&mut self, v: i64) {
            self.ue(if v > 0 {
                2 * v as u64 - 1
            } else {
                2 * v.unsigned_abs()
            });
        }
    }
    let mut b = Bits(Vec::new());
    b.put(100, 8); // profile_idc: High
    b.put(0, 8); // constraint flags
    b.put(30, 8); // level_idc
    b.ue(0); // seq_parameter_set_id
    b.ue(1); // chroma_format_idc 4:2:0
    b.ue(0); // bit_depth_luma_minus8
    b.ue(0); // bit_depth_chroma_minus8
    b.put(0, 1); // qpprime_y_zero_transform_bypass_flag
    b.put(1, 1); // seq_scaling_matrix_present_flag
    b.put(1, 1); // list 0 present
    b.se(delta); // its first delta_scale: -8 makes nextScale 0, ending the list
    if (8 + delta).rem_euclid(256) != 0 {
        // Otherwise the list goes on: 15 more delta_scale of 0 (as a reader that ignored the
        // range would read it: nextScale stays put).
        for _ in 0..15 {
            b.se(0);
        }
    }
    b.put(0, 7); // lists 1..7 absent
    b.ue(0); // log2_max_frame_num_minus4
    b.ue(2); // pic_order_cnt_type
    b.ue(1); // max_num_ref_frames
    b.put(0, 1); // gaps_in_frame_num_value_allowed_flag
    b.ue(39); // pic_width_in_mbs_minus1: 640
    b.ue(29); // pic_height_in_map_units_minus1: 480
    b.put(1, 1); // frame_mbs_only_flag
    b.put(1, 1); // direct_8x8_inference_flag
    b.put(0, 1); // frame_cropping_flag
    b.put(0, 1); // vui_parameters_present_flag
    b.put(1, 1); // rbsp_stop_one_bit
    while !b.0.len().is_multiple_of(8) {
        b.0.push(false);
    }
    let mut nal = vec![0x67];
    nal.extend(
        b.0.chunks(8)
            .map(|c| c.iter().fold(0u8, |a, &bit| a << 1 | u8::from(bit))),
    );
    nal
}

#[test]
fn sps_scaling_list_delta_outside_its_range_is_refused() {
    // In range: parses (the control, so the refusals below are about the delta alone).
    let s = parse_sps(&sps_with_scaling_delta(-8)).unwrap();
    assert_eq!((s.profile_idc, s.width, s.height), (100, 640, 480));
    assert!(parse_sps(&sps_with_scaling_delta(127)).is_some());
    assert!(parse_sps(&sps_with_scaling_delta(-128)).is_some());
    // Outside -128..=127 (§7.4.2.1.1.1): refused. The SPS is otherwise complete, so the old
    // reader accepted 128 and -129, and overflowed on the extremes (found by
    // fuzz/fuzz_targets/depacketize_h264, input in fuzz/regressions/depacketize_h264/).
    assert_eq!(parse_sps(&sps_with_scaling_delta(128)), None);
    assert_eq!(parse_sps(&sps_with_scaling_delta(-129)), None);
    assert_eq!(
        parse_sps(&sps_with_scaling_delta(i64::from(i32::MAX))),
        None
    );
    assert_eq!(
        parse_sps(&sps_with_scaling_delta(i64::from(i32::MIN) + 1)),
        None
    );
}
