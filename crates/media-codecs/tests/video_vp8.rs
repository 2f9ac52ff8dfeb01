//! VP8 (RFC 7741): descriptor bytes from the RFC figures, round trips, malformed input,
//! decodability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::vp8::{
    PictureId, PictureIdMode, Vp8Depacketizer, Vp8Descriptor, Vp8LayerInfo, Vp8Packetizer,
};
use ferrtc_media_codecs::{CodecInfo, Depacketizer, Error, Packetizer};
use proptest::prelude::*;

const MTUS: [usize; 6] = [200, 300, 576, 1000, 1200, 1500];

fn frame(len: usize, seed: u8, keyframe: bool) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    if let Some(b) = v.first_mut() {
        // P bit (RFC 7741 §4.3): 0 = keyframe.
        *b = if keyframe { *b & !1 } else { *b | 1 };
    }
    v
}

#[test]
fn rfc7741_4_6_1_keyframe_single_packet() {
    // X=1 S=1 PID=0 | I=1 | PictureID=17 | Size0|H=1|VER|P=0 | Size1 | Size2 | payload
    let payload = [0x90, 0x80, 0x11, 0x10, 0x02, 0x00, 0xAA, 0xBB];
    let mut d = Vp8Depacketizer::new();
    let mut out = Vec::new();
    let info = d.push(&payload, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    assert_eq!(out, [0x10, 0x02, 0x00, 0xAA, 0xBB]);
    assert!(info.keyframe);
    assert_eq!(info.picture_id, Some(17));
    assert_eq!(info.frame_start, Some(true));
    let (desc, len) = Vp8Descriptor::parse(&payload).unwrap();
    assert_eq!(len, 3);
    assert_eq!(desc.picture_id, Some(PictureId::Short(17)));
    let mut w = Vec::new();
    desc.write_to(&mut w);
    assert_eq!(w, [0x90, 0x80, 0x11]);
}

#[test]
fn rfc7741_4_6_2_interframe_no_picture_id() {
    // X=0 S=1 PID=0, payload header with P=1.
    let payload = [0x10, 0x11, 0x02, 0x00, 0x01];
    let d = Vp8Depacketizer::new();
    let info = d.packet_info(&payload).unwrap();
    assert!(!info.keyframe);
    assert_eq!(info.picture_id, None);
    assert_eq!(info.frame_start, Some(true));
}

#[test]
fn rfc7741_4_6_3_partitions_in_separate_packets() {
    let p1 = [0x90, 0x80, 0x11, 0x11, 0x02, 0x00, 0x01, 0x02];
    let p2 = [0x91, 0x80, 0x11, 0x03, 0x04];
    let mut d = Vp8Depacketizer::new();
    let mut out = Vec::new();
    let i1 = d.push(&p1, &mut out).unwrap();
    let i2 = d.push(&p2, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    assert_eq!(out, [0x11, 0x02, 0x00, 0x01, 0x02, 0x03, 0x04]);
    assert_eq!(i1.frame_start, Some(true));
    assert_eq!(i2.frame_start, Some(false));
    match i2.codec {
        CodecInfo::Vp8(v) => {
            assert_eq!(v.descriptor.partition_index, 1);
            assert!(v.descriptor.start_of_partition);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn all_extension_fields_parse() {
    // X=1 N=1 S=1 PID=2 | I L T K | M=1 picture id 0x1234 | TL0PICIDX 0xfe | TID=2 Y=1 KEYIDX=21
    let payload = [0xB2, 0xF0, 0x92, 0x34, 0xFE, 0xB5, 0x00];
    let (d, n) = Vp8Descriptor::parse(&payload).unwrap();
    assert_eq!(n, 6);
    assert!(d.non_reference);
    assert_eq!(d.partition_index, 2);
    assert_eq!(d.picture_id, Some(PictureId::Long(0x1234)));
    assert_eq!(d.tl0_pic_idx, Some(0xfe));
    assert_eq!(d.tid, Some(2));
    assert!(d.layer_sync);
    assert_eq!(d.key_idx, Some(21));
    let mut w = Vec::new();
    d.write_to(&mut w);
    assert_eq!(w, payload[..6]);
    assert_eq!(d.encoded_len(), 6);
}

#[test]
fn k_without_t_ignores_tid() {
    // I=0 L=0 T=0 K=1: the TID/Y/KEYIDX octet is present, TID ignored.
    let payload = [0x90, 0x10, 0xC7, 0x00];
    let (d, n) = Vp8Descriptor::parse(&payload).unwrap();
    assert_eq!(n, 3);
    assert_eq!(d.tid, None);
    assert_eq!(d.key_idx, Some(7));
}

#[test]
fn keyframe_resolution_from_rfc6386_header() {
    // Frame tag (P=0), start code 9d 01 2a, width 640 (0x0280), height 480 (0x01e0), LE.
    let payload = [
        0x10, 0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00,
    ];
    let info = Vp8Depacketizer::new().packet_info(&payload).unwrap();
    assert!(info.keyframe);
    assert_eq!(info.resolution, Some((640, 480)));
}

#[test]
fn round_trip_every_mtu() {
    for &mtu in &MTUS {
        for &len in &[1usize, 20, 150, 1400, 5 * 1024, 100 * 1024] {
            let src = frame(len, mtu as u8, true);
            let mut p = Vp8Packetizer::new(PictureIdMode::Long, 0x7ffe);
            let mut d = Vp8Depacketizer::new();
            for round in 0..3u16 {
                let pkts = p.packetize(Bytes::from(src.clone()), mtu).unwrap();
                let expected_pkts = len.div_ceil(mtu - 4);
                assert_eq!(pkts.len(), expected_pkts, "len {len} mtu {mtu}");
                if len == 100 * 1024 && mtu == 200 {
                    assert!(pkts.len() > 500);
                }
                let mut out = Vec::new();
                for (i, (pl, marker)) in pkts.iter().enumerate() {
                    assert!(pl.len() <= mtu);
                    assert_eq!(*marker, i + 1 == pkts.len());
                    let info = d.push(pl, &mut out).unwrap();
                    // 15-bit picture id wraps from 0x7fff to 0.
                    assert_eq!(info.picture_id, Some([0x7ffe, 0x7fff, 0][round as usize]));
                }
                d.finish(&mut out).unwrap();
                assert_eq!(out, src);
            }
        }
    }
}

#[test]
fn short_picture_id_and_layers_round_trip() {
    let mut p = Vp8Packetizer::new(PictureIdMode::Short, 127);
    p.set_layer_info(Vp8LayerInfo {
        tl0_pic_idx: Some(9),
        tid: Some(1),
        layer_sync: true,
        key_idx: None,
        non_reference: true,
    });
    let src = frame(3000, 1, false);
    let pkts = p.packetize(Bytes::from(src.clone()), 1200).unwrap();
    let d = Vp8Depacketizer::new();
    let i0 = d.packet_info(&pkts[0].0).unwrap();
    assert_eq!(i0.picture_id, Some(127));
    assert_eq!(i0.tl0_pic_idx, Some(9));
    assert_eq!(i0.layers.temporal, Some(1));
    assert_eq!(p.next_picture_id(), 0);
    // Descriptor: X=1 N=1 S=1 PID=0 | I L T | 0x7f | 9 | TID=1 Y=1
    assert_eq!(&pkts[0].0[..5], &[0xB0, 0xE0, 0x7F, 0x09, 0x60]);
    assert_eq!(&pkts[1].0[..5], &[0xA0, 0xE0, 0x7F, 0x09, 0x60]);
}

#[test]
fn malformed_payloads_are_errors() {
    let d = Vp8Depacketizer::new();
    for bad in [
        &[][..],
        &[0x80],
        &[0x90, 0x80],
        &[0x90, 0x80, 0x80, 0x01],
        &[0x90, 0x40],
        &[0x10],
    ] {
        assert!(d.packet_info(bad).is_err(), "{bad:?}");
    }
    // A frame that does not begin with S=1/PID=0 is refused, nothing is emitted as a frame.
    let mut d = Vp8Depacketizer::new();
    let mut out = Vec::new();
    assert!(matches!(
        d.push(&[0x80, 0x80, 0x05, 0x01], &mut out),
        Err(Error::Discontinuity { .. })
    ));
    // A packet of another picture inside a frame is refused.
    d.push(&[0x90, 0x80, 0x05, 0x01], &mut out).unwrap();
    assert!(d.push(&[0x80, 0x80, 0x06, 0x02], &mut out).is_err());
}

fn info(
    d: &Vp8Depacketizer,
    tid: Option<u8>,
    tl0: Option<u8>,
    y: bool,
    key: bool,
) -> ferrtc_media_codecs::PacketInfo {
    let desc = Vp8Descriptor {
        start_of_partition: true,
        picture_id: Some(PictureId::Long(1)),
        tl0_pic_idx: tl0,
        tid,
        layer_sync: y,
        ..Default::default()
    };
    let mut pl = Vec::new();
    desc.write_to(&mut pl);
    pl.push(if key { 0x00 } else { 0x01 });
    d.packet_info(&pl).unwrap()
}

#[test]
fn decodability_from_tl0picidx() {
    let mut d = Vp8Depacketizer::new();
    // Nothing is decodable before a keyframe.
    let delta = info(&d, None, None, false, false);
    assert!(!d.decodable(&delta, true));
    let key = info(&d, Some(0), Some(10), false, true);
    assert!(d.decodable(&key, false));
    assert!(d.decodable(&info(&d, Some(1), Some(10), false, false), true));
    // Gap: the next base frame (TL0PICIDX 11) depends only on base frame 10: decodable.
    assert!(d.decodable(&info(&d, Some(0), Some(11), false, false), false));
    // A TID 1 frame with Y=1 on base 11 after a gap: decodable.
    assert!(d.decodable(&info(&d, Some(1), Some(11), true, false), false));
    // A TID 2 frame with Y=0 after a gap: not decodable.
    assert!(!d.decodable(&info(&d, Some(2), Some(11), false, false), false));
    // Base frame 13 after a gap where base 12 was lost: not decodable, nor anything after.
    assert!(!d.decodable(&info(&d, Some(0), Some(13), false, false), false));
    assert!(!d.decodable(&info(&d, Some(0), Some(14), false, false), true));
    assert!(!d.decodable(&info(&d, Some(1), Some(14), true, false), false));
    // Until a keyframe.
    assert!(d.decodable(&info(&d, Some(0), Some(15), false, true), false));
    assert!(d.decodable(&info(&d, Some(0), Some(16), false, false), true));
}

#[test]
fn decodability_without_layers() {
    let mut d = Vp8Depacketizer::new();
    assert!(d.decodable(&info(&d, None, None, false, true), false));
    assert!(d.decodable(&info(&d, None, None, false, false), true));
    assert!(!d.decodable(&info(&d, None, None, false, false), false));
    // After a gap, contiguous frames stay undecodable until a keyframe.
    assert!(!d.decodable(&info(&d, None, None, false, false), true));
    assert!(d.decodable(&info(&d, None, None, false, true), true));
}

proptest! {
    #[test]
    fn depacketize_never_panics(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8)) {
        let mut d = Vp8Depacketizer::new();
        let mut out = Vec::new();
        for p in &payloads {
            let _ = d.packet_info(p);
            if d.push(p, &mut out).is_err() {
                out.clear();
                d.reset();
            }
        }
        let _ = d.finish(&mut out);
        prop_assert!(out.len() <= payloads.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn descriptor_round_trip(n in any::<bool>(), pid in 0u8..8, picid in proptest::option::of(0u16..0x8000), long in any::<bool>(),
        tl0 in proptest::option::of(any::<u8>()), tid in proptest::option::of(0u8..4), y in any::<bool>(), key in proptest::option::of(0u8..32)) {
        let tid = if tl0.is_some() { Some(tid.unwrap_or(0)) } else { tid };
        let d = Vp8Descriptor {
            non_reference: n,
            start_of_partition: true,
            partition_index: pid,
            picture_id: picid.map(|v| if long { PictureId::Long(v) } else { PictureId::Short((v & 0x7f) as u8) }),
            tl0_pic_idx: tl0,
            tid,
            layer_sync: y && (tid.is_some() || key.is_some()),
            key_idx: key,
        };
        let mut w = Vec::new();
        d.write_to(&mut w);
        prop_assert_eq!(w.len(), d.encoded_len());
        let (p, len) = Vp8Descriptor::parse(&w).unwrap();
        prop_assert_eq!(len, w.len());
        prop_assert_eq!(p, d);
    }
}

/// ffmpeg + libvpx realtime, testsrc 320x240, 5 frames (key frame first).
const VPX_IVF: &[u8] = include_bytes!("data/video_vpx_320x240.vp8.ivf");

#[test]
fn real_libvpx_frames_round_trip() {
    assert_eq!(&VPX_IVF[..4], b"DKIF");
    let mut frames = Vec::new();
    let mut p = 32;
    while p + 12 <= VPX_IVF.len() {
        let n = u32::from_le_bytes(VPX_IVF[p..p + 4].try_into().unwrap()) as usize;
        frames.push(&VPX_IVF[p + 12..p + 12 + n]);
        p += 12 + n;
    }
    assert_eq!(frames.len(), 5);
    for &mtu in &MTUS {
        let mut pk = Vp8Packetizer::default();
        let mut d = Vp8Depacketizer::new();
        for (i, f) in frames.iter().enumerate() {
            let pkts = pk.packetize(Bytes::copy_from_slice(f), mtu).unwrap();
            let mut out = Vec::new();
            let mut first = None;
            for (pl, _) in &pkts {
                let info = d.push(pl, &mut out).unwrap();
                first.get_or_insert(info);
            }
            d.finish(&mut out).unwrap();
            assert_eq!(out, *f);
            let first = first.unwrap();
            assert_eq!(first.keyframe, i == 0);
            assert_eq!(
                first.resolution,
                if i == 0 { Some((320, 240)) } else { None }
            );
            assert!(d.decodable(&first, i > 0));
        }
    }
}
