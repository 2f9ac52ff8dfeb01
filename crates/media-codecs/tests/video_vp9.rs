//! VP9 (RFC 9628): descriptor and SS bytes built from the RFC figures, round trips at every
//! MTU (real libvpx frames and synthetic ones), malformed input, decodability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::vp9::{
    PDiffs, PictureGroupEntry, PictureId, ScalabilityStructure, Vp9Depacketizer, Vp9Descriptor,
    Vp9FrameInfo, Vp9Layer, Vp9Packetizer,
};
use ferrtc_media_codecs::{CodecInfo, Depacketizer, Error, PacketInfo, Packetizer};
use proptest::prelude::*;

const MTUS: [usize; 6] = [200, 300, 576, 1000, 1200, 1500];
/// ffmpeg + libvpx-vp9 realtime, testsrc 320x240, 5 frames (key frame first).
const VPX_IVF: &[u8] = include_bytes!("data/video_vpx_320x240.vp9.ivf");

fn ivf_frames(data: &[u8]) -> Vec<&[u8]> {
    assert_eq!(&data[..4], b"DKIF");
    let mut p = 32;
    let mut v = Vec::new();
    while p + 12 <= data.len() {
        let n = u32::from_le_bytes(data[p..p + 4].try_into().unwrap()) as usize;
        v.push(&data[p + 12..p + 12 + n]);
        p += 12 + n;
    }
    v
}

fn depacketize(
    d: &mut Vp9Depacketizer,
    pkts: &[(Bytes, bool)],
) -> Result<(Vec<u8>, Vec<PacketInfo>), Error> {
    let mut out = Vec::new();
    let mut infos = Vec::new();
    for (p, _) in pkts {
        infos.push(d.push(p, &mut out)?);
    }
    d.finish(&mut out)?;
    Ok((out, infos))
}

#[test]
fn rfc9628_figure_2_flexible_mode() {
    // I P L F B E V Z = 1 1 1 1 1 0 0 0 | M=1 PID 0x0123 | TID 2 U 1 SID 1 D 1 | P_DIFF 3 N=1 | P_DIFF 1 N=0
    let payload = [0xf8, 0x81, 0x23, 0x53, 0x07, 0x02, 0xaa];
    let (d, ss, n) = Vp9Descriptor::parse(&payload).unwrap();
    assert_eq!(n, 6);
    assert_eq!(ss, None);
    assert!(d.inter_picture && d.flexible && d.start_of_frame && !d.end_of_frame);
    assert_eq!(d.picture_id, Some(PictureId::Long(0x123)));
    assert_eq!(
        d.layer,
        Some(Vp9Layer {
            tid: 2,
            switching_up: true,
            sid: 1,
            inter_layer_dependency: true
        })
    );
    assert_eq!(d.p_diffs.as_slice(), &[3, 1]);
    assert_eq!(d.tl0_pic_idx, None);
    let mut w = Vec::new();
    d.write_to(&mut w);
    assert_eq!(w, payload[..6]);
    assert_eq!(d.encoded_len(), 6);
}

#[test]
fn rfc9628_figure_3_non_flexible_with_ss() {
    // I P L F B E V Z = 1 0 1 0 1 1 1 0 | M=0 PID 5 | TID 0 U 0 SID 0 D 0 | TL0PICIDX 9 |
    // SS: N_S=1 (2 layers) Y=1 G=1 | 320x180 | 640x360 | N_G=2 | TID0 U0 R1 | 2 | TID1 U1 R1 | 1
    let payload = [
        0xae, 0x05, 0x00, 0x09, 0x38, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x02, 0x04,
        0x02, 0x34, 0x01, 0x82, 0x49, 0x83,
    ];
    let (d, ss_at, n) = Vp9Descriptor::parse(&payload).unwrap();
    assert_eq!(ss_at, Some(4));
    assert_eq!(n, 18);
    assert_eq!(d.tl0_pic_idx, Some(9));
    assert!(!d.inter_picture && d.has_ss && d.end_of_frame);
    let (ss, len) = ScalabilityStructure::parse(&payload[4..]).unwrap();
    assert_eq!(len, 14);
    assert_eq!(ss.spatial_layers, 2);
    assert_eq!(ss.resolutions, Some(vec![(320, 180), (640, 360)]));
    let g = ss.picture_group.as_ref().unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(
        (g[0].tid, g[0].switching_up, g[0].p_diffs()),
        (0, false, &[2u8][..])
    );
    assert_eq!(
        (g[1].tid, g[1].switching_up, g[1].p_diffs()),
        (1, true, &[1u8][..])
    );
    let mut w = Vec::new();
    ss.write_to(&mut w).unwrap();
    assert_eq!(w, payload[4..18]);
    let info = Vp9Depacketizer::new().packet_info(&payload).unwrap();
    assert!(info.keyframe);
    assert_eq!(info.resolution, Some((320, 180)));
    assert_eq!(info.tl0_pic_idx, Some(9));
    assert_eq!(info.frame_start, Some(true));
}

#[test]
fn malformed_payloads_are_errors() {
    let d = Vp9Depacketizer::new();
    let bad: &[&[u8]] = &[
        &[],
        &[0x08],                                     // no data
        &[0x80, 0x01],                               // PID, no data... (descriptor only)
        &[0x88, 0x81],                               // 15-bit PID truncated
        &[0xd8, 0x05, 0x01, 0x01, 0x01, 0x01, 0x00], // four P_DIFFs
        &[0xd8, 0x05, 0x00, 0x01],                   // P=1 F=1 with P_DIFF 0... then data
        &[0xa8, 0x05, 0x00],                         // L in non-flexible mode without TL0PICIDX
        &[0x0a, 0x10, 0x00],                         // SS with Y but resolutions cut
        &[0x0a, 0x08, 0x02, 0x04],                   // SS picture group cut
    ];
    for b in bad {
        assert!(d.packet_info(b).is_err(), "{b:02x?}");
    }
    // B=0 first, and B=1 inside a frame, are refused.
    let mut d = Vp9Depacketizer::new();
    let mut out = Vec::new();
    assert!(matches!(
        d.push(&[0x80, 0x05, 0xaa], &mut out),
        Err(Error::Discontinuity { .. })
    ));
    d.push(&[0x88, 0x05, 0xaa], &mut out).unwrap();
    assert!(d.push(&[0x88, 0x05, 0xaa], &mut out).is_err());
    let mut d = Vp9Depacketizer::new();
    d.push(&[0x88, 0x05, 0xaa], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
}

#[test]
fn real_libvpx_frames_round_trip() {
    let frames = ivf_frames(VPX_IVF);
    assert_eq!(frames.len(), 5);
    for flexible in [false, true] {
        for &mtu in &MTUS {
            let mut p = Vp9Packetizer::new(flexible, 0x7ffe);
            let mut d = Vp9Depacketizer::new();
            for (i, f) in frames.iter().enumerate() {
                let pkts = p.packetize(Bytes::copy_from_slice(f), mtu).unwrap();
                for (j, (pl, m)) in pkts.iter().enumerate() {
                    assert!(pl.len() <= mtu);
                    assert_eq!(*m, j + 1 == pkts.len());
                }
                let (out, infos) = depacketize(&mut d, &pkts).unwrap();
                assert_eq!(out, *f);
                assert_eq!(infos[0].keyframe, i == 0);
                assert_eq!(infos[0].picture_id, Some((0x7ffe + i as u16) & 0x7fff));
                if i == 0 {
                    assert_eq!(infos[0].resolution, Some((320, 240)));
                    // Also from the key frame header alone, without the SS.
                    let mut no_ss = vec![0x88, 0x00];
                    no_ss.extend_from_slice(f);
                    let i0 = Vp9Depacketizer::new().packet_info(&no_ss).unwrap();
                    assert_eq!(i0.resolution, Some((320, 240)));
                    assert!(i0.keyframe);
                    assert!(matches!(infos[0].codec, CodecInfo::Vp9(v) if v.descriptor.has_ss));
                } else if flexible {
                    assert!(
                        matches!(infos[0].codec, CodecInfo::Vp9(v) if v.descriptor.p_diffs.as_slice() == [1])
                    );
                }
                let merged = infos[0];
                assert!(d.decodable(&merged, true));
            }
        }
    }
}

#[test]
fn synthetic_round_trip_small_and_huge() {
    for &mtu in &MTUS {
        for len in [1usize, 100, 5 * 1024, 100 * 1024] {
            // Non-key frames (frame_marker 2, frame_type 1).
            let f: Vec<u8> = std::iter::once(0x86u8)
                .chain((1..len).map(|i| i as u8))
                .collect();
            let mut p = Vp9Packetizer::new(true, 3);
            let pkts = p.packetize(Bytes::from(f.clone()), mtu).unwrap();
            if len == 100 * 1024 && mtu == 200 {
                assert!(pkts.len() > 500);
            }
            let (out, _) = depacketize(&mut Vp9Depacketizer::new(), &pkts).unwrap();
            assert_eq!(out, f);
        }
    }
}

fn desc_info(
    flexible: bool,
    pid: u16,
    p: bool,
    diffs: &[u8],
    layer: Option<Vp9Layer>,
    tl0: Option<u8>,
) -> PacketInfo {
    let d = Vp9Descriptor {
        inter_picture: p,
        flexible,
        start_of_frame: true,
        end_of_frame: true,
        picture_id: Some(PictureId::Long(pid)),
        layer,
        tl0_pic_idx: tl0,
        p_diffs: PDiffs::from_slice(diffs).unwrap(),
        ..Default::default()
    };
    let mut v = Vec::new();
    d.write_to(&mut v);
    v.push(0);
    Vp9Depacketizer::new().packet_info(&v).unwrap()
}

#[test]
fn decodability_flexible_p_diffs() {
    let mut d = Vp9Depacketizer::new();
    assert!(!d.decodable(&desc_info(true, 9, true, &[1], None, None), true));
    assert!(d.decodable(&desc_info(true, 10, false, &[], None, None), false));
    assert!(d.decodable(&desc_info(true, 11, true, &[1], None, None), true));
    // 12 is lost; 13 refers to 11 only: decodable despite the gap.
    assert!(d.decodable(&desc_info(true, 13, true, &[2], None, None), false));
    // 14 refers to 12 (lost): not decodable; 15 refers to 14: not decodable either.
    assert!(!d.decodable(&desc_info(true, 14, true, &[2, 1], None, None), true));
    assert!(!d.decodable(&desc_info(true, 15, true, &[1], None, None), true));
    assert!(d.decodable(&desc_info(true, 16, true, &[3], None, None), false));
}

#[test]
fn decodability_non_flexible_tl0picidx() {
    let l = |tid, u| {
        Some(Vp9Layer {
            tid,
            switching_up: u,
            sid: 0,
            inter_layer_dependency: false,
        })
    };
    let mut d = Vp9Depacketizer::new();
    assert!(d.decodable(
        &desc_info(false, 1, false, &[], l(0, false), Some(7)),
        false
    ));
    assert!(d.decodable(&desc_info(false, 2, true, &[], l(1, false), Some(7)), true));
    assert!(d.decodable(&desc_info(false, 4, true, &[], l(0, false), Some(8)), false));
    assert!(d.decodable(&desc_info(false, 5, true, &[], l(1, true), Some(8)), false));
    assert!(!d.decodable(&desc_info(false, 7, true, &[], l(1, false), Some(8)), false));
    assert!(!d.decodable(
        &desc_info(false, 9, true, &[], l(0, false), Some(10)),
        false
    ));
}

#[test]
fn ss_write_rejects_bad_counts() {
    let s = ScalabilityStructure {
        spatial_layers: 2,
        resolutions: Some(vec![(1, 1)]),
        picture_group: None,
    };
    assert!(s.write_to(&mut Vec::new()).is_err());
    let s = ScalabilityStructure {
        spatial_layers: 1,
        resolutions: None,
        picture_group: Some(vec![PictureGroupEntry {
            tid: 0,
            switching_up: false,
            p_diffs: [1, 2, 3],
            count: 4,
        }]),
    };
    assert!(s.write_to(&mut Vec::new()).is_err());
}

#[test]
fn layered_packetizer_fields() {
    let mut p = Vp9Packetizer::new(false, 100);
    p.set_frame_info(Vp9FrameInfo {
        layer: Some(Vp9Layer {
            tid: 1,
            switching_up: true,
            sid: 0,
            inter_layer_dependency: false,
        }),
        tl0_pic_idx: 33,
        ..Default::default()
    });
    let pkts = p
        .packetize(Bytes::from_static(&[0x86, 1, 2, 3]), 1200)
        .unwrap();
    // I P L F B E V Z = 1 1 1 0 1 1 0 0 | M=1 PID 100 | TID1 U1 SID0 D0 | TL0PICIDX 33
    assert_eq!(&pkts[0].0[..], &[0xec, 0x80, 100, 0x30, 33, 0x86, 1, 2, 3]);
}

proptest! {
    #[test]
    fn depacketize_never_panics(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
        let mut d = Vp9Depacketizer::new();
        let mut out = Vec::new();
        for p in &payloads {
            let i = d.packet_info(p);
            match d.push(p, &mut out) {
                Ok(info) => { let _ = d.decodable(&info, true); }
                Err(_) => { d.reset(); out.clear(); }
            }
            let _ = i;
        }
        let _ = d.finish(&mut out);
        prop_assert!(out.len() <= payloads.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn descriptor_round_trip(p in any::<bool>(), f in any::<bool>(), b in any::<bool>(), e in any::<bool>(), z in any::<bool>(),
        pid in proptest::option::of(0u16..0x8000), long in any::<bool>(), layer in proptest::option::of((0u8..8, any::<bool>(), 0u8..8, any::<bool>())),
        tl0 in any::<u8>(), diffs in proptest::collection::vec(1u8..128, 1..4)) {
        let f = f && pid.is_some();
        let d = Vp9Descriptor {
            inter_picture: p, flexible: f, start_of_frame: b, end_of_frame: e, has_ss: false, not_ref_for_upper: z,
            picture_id: pid.map(|v| if long { PictureId::Long(v) } else { PictureId::Short((v & 0x7f) as u8) }),
            layer: layer.map(|(tid, switching_up, sid, inter_layer_dependency)| Vp9Layer { tid, switching_up, sid, inter_layer_dependency }),
            tl0_pic_idx: (layer.is_some() && !f).then_some(tl0),
            p_diffs: if f && p { PDiffs::from_slice(&diffs).unwrap() } else { PDiffs::default() },
        };
        let mut w = Vec::new();
        d.write_to(&mut w);
        prop_assert_eq!(w.len(), d.encoded_len());
        w.push(0xff);
        let (back, ss, n) = Vp9Descriptor::parse(&w).unwrap();
        prop_assert_eq!(back, d);
        prop_assert_eq!(ss, None);
        prop_assert_eq!(n, w.len() - 1);
    }
}
