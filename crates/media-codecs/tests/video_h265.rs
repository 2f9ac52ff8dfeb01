//! H.265 (RFC 7798): AP and FU bytes built from the RFC figures, DONL absent and present,
//! round trips at every MTU (real x265 stream and synthetic NAL units), parameter-set
//! insertion, malformed input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::h264::AnnexBNals;
use ferrtc_media_codecs::h265::{
    parse_sps_resolution, H265Config, H265Depacketizer, H265Packetizer,
};
use ferrtc_media_codecs::{CodecInfo, Depacketizer, Error, Packetizer};
use proptest::prelude::*;

const MTUS: [usize; 6] = [200, 300, 576, 1000, 1200, 1500];
/// ffmpeg + x265, testsrc 320x240: VPS SPS PPS SEI IDR, VPS SPS PPS SEI CRA, two more pictures.
const X265: &[u8] = include_bytes!("data/video_x265_320x240.h265");
const DONL: H265Config = H265Config { donl: true };
const NO_DONL: H265Config = H265Config { donl: false };

fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(&[0, 0, 0, 1]);
        v.extend_from_slice(n);
    }
    v
}

/// A NAL unit of type `t`, TID 0 (nuh_temporal_id_plus1 = 1), bytes without 00 00.
fn nal(t: u8, len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![t << 1, 0x01];
    v.extend(
        (0..len.saturating_sub(2)).map(|i| ((i as u8).wrapping_mul(11).wrapping_add(seed)) | 1),
    );
    v
}

fn depacketize(config: H265Config, payloads: &[(Bytes, bool)]) -> Result<Vec<u8>, Error> {
    let mut d = H265Depacketizer::new(config);
    let mut out = Vec::new();
    for (p, _) in payloads {
        d.push(p, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

#[test]
fn rfc7798_figure_7_ap_without_donl() {
    // PayloadHdr Type=48 (0x60 0x01) | size 4 | VPS-like NAL | size 3 | PPS-like NAL
    let payload = [
        0x60, 0x01, 0x00, 0x04, 0x40, 0x01, 0x0c, 0x01, 0x00, 0x03, 0x44, 0x01, 0xc1,
    ];
    let mut d = H265Depacketizer::new(NO_DONL);
    let mut out = Vec::new();
    let info = d.push(&payload, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    assert_eq!(
        out,
        [0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0, 0, 0, 1, 0x44, 0x01, 0xc1]
    );
    let CodecInfo::H265(h) = info.codec else {
        panic!()
    };
    assert!(h.has_vps && h.has_pps && !h.has_irap);
    assert_eq!(h.nal_type, 32);
}

#[test]
fn rfc7798_figure_8_ap_with_donl_and_dond() {
    // PayloadHdr | DONL 0x0102 | size 3 | NAL | DOND 0 | size 3 | NAL
    let payload = [
        0x60, 0x01, 0x01, 0x02, 0x00, 0x03, 0x26, 0x01, 0xaa, 0x00, 0x00, 0x03, 0x02, 0x01, 0xbb,
    ];
    let mut d = H265Depacketizer::new(DONL);
    let mut out = Vec::new();
    let info = d.push(&payload, &mut out).unwrap();
    assert_eq!(
        out,
        [0, 0, 0, 1, 0x26, 0x01, 0xaa, 0, 0, 0, 1, 0x02, 0x01, 0xbb]
    );
    let CodecInfo::H265(h) = info.codec else {
        panic!()
    };
    assert_eq!(h.donl, Some(0x0102));
    assert!(h.has_irap && info.keyframe); // type 19 IDR_W_RADL
                                          // The same bytes without DONL configured are a different (malformed) AP.
    assert!(H265Depacketizer::new(NO_DONL)
        .packet_info(&payload)
        .is_err());
}

#[test]
fn rfc7798_figure_9_fu_with_and_without_donl() {
    // IDR_W_RADL (type 19, header 26 01) fragmented: PayloadHdr Type=49 (62 01), FU header S|19.
    let no_donl = [
        vec![0x62, 0x01, 0x93, 1, 2],
        vec![0x62, 0x01, 0x13, 3],
        vec![0x62, 0x01, 0x53, 4],
    ];
    assert_eq!(
        depacketize(
            NO_DONL,
            &no_donl
                .iter()
                .map(|p| (Bytes::from(p.clone()), false))
                .collect::<Vec<_>>()
        )
        .unwrap(),
        [0, 0, 0, 1, 0x26, 0x01, 1, 2, 3, 4]
    );
    // With DONL: two bytes after the FU header of the start fragment only.
    let donl = [
        vec![0x62, 0x01, 0x93, 0x00, 0x07, 1, 2],
        vec![0x62, 0x01, 0x13, 3],
        vec![0x62, 0x01, 0x53, 4],
    ];
    assert_eq!(
        depacketize(
            DONL,
            &donl
                .iter()
                .map(|p| (Bytes::from(p.clone()), false))
                .collect::<Vec<_>>()
        )
        .unwrap(),
        [0, 0, 0, 1, 0x26, 0x01, 1, 2, 3, 4]
    );
}

#[test]
fn single_nal_with_donl() {
    let mut d = H265Depacketizer::new(DONL);
    let mut out = Vec::new();
    let info = d
        .push(&[0x02, 0x01, 0x00, 0x09, 0xaa, 0xbb], &mut out)
        .unwrap();
    assert_eq!(out, [0, 0, 0, 1, 0x02, 0x01, 0xaa, 0xbb]);
    let CodecInfo::H265(h) = info.codec else {
        panic!()
    };
    assert_eq!(h.donl, Some(9));
}

#[test]
fn malformed_payloads_are_errors() {
    let d = H265Depacketizer::new(NO_DONL);
    let bad: &[&[u8]] = &[
        &[],
        &[0x02],
        &[0x82, 0x01, 0x00],                               // F bit
        &[0x02, 0x00, 0x00],                               // TID 0
        &[0x60, 0x01, 0x00, 0x02, 0x02, 0x01],             // AP with one unit
        &[0x60, 0x01, 0x00, 0x09, 0x02, 0x01],             // AP size past the end
        &[0x60, 0x01, 0x00, 0x01, 0x02, 0x00, 0x01, 0x02], // unit shorter than a header
        &[0x62, 0x01],                                     // FU without header
        &[0x62, 0x01, 0xd3, 0x01],                         // FU S and E
        &[0x62, 0x01, 0x93],                               // FU without data
        &[0x62, 0x01, 0xb0, 0x01],                         // FU of an AP
        &[0x64, 0x01, 0x00],                               // PACI
        &[0x7e, 0x01, 0x00],                               // type 63
    ];
    for b in bad {
        assert!(d.packet_info(b).is_err(), "{b:02x?}");
    }
    let mut d = H265Depacketizer::new(NO_DONL);
    let mut out = Vec::new();
    assert!(matches!(
        d.push(&[0x62, 0x01, 0x13, 3], &mut out),
        Err(Error::Discontinuity { .. })
    ));
    d.push(&[0x62, 0x01, 0x93, 3], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
}

#[test]
fn real_x265_stream_round_trip() {
    for config in [NO_DONL, DONL] {
        for &mtu in &MTUS {
            let pkts = H265Packetizer::new(config)
                .packetize(Bytes::from_static(X265), mtu)
                .unwrap();
            for (i, (p, m)) in pkts.iter().enumerate() {
                assert!(p.len() <= mtu);
                assert_eq!(*m, i + 1 == pkts.len());
            }
            let out = depacketize(config, &pkts).unwrap();
            let a: Vec<&[u8]> = AnnexBNals::new(X265).collect();
            let b: Vec<&[u8]> = AnnexBNals::new(&out).collect();
            assert_eq!(a.len(), 12);
            assert_eq!(a, b);
        }
    }
    let sps: &[u8] = AnnexBNals::new(X265).nth(1).unwrap();
    assert_eq!(parse_sps_resolution(sps), Some((320, 240)));
    let first = H265Packetizer::new(NO_DONL)
        .packetize(Bytes::from_static(X265), 1200)
        .unwrap();
    assert_eq!(
        H265Depacketizer::new(NO_DONL)
            .packet_info(&first[0].0)
            .unwrap()
            .resolution,
        Some((320, 240))
    );
}

#[test]
fn synthetic_round_trip_every_mtu() {
    for config in [NO_DONL, DONL] {
        for &mtu in &MTUS {
            for sizes in [
                &[3usize][..],
                &[10, 4, 100][..],
                &[1500][..],
                &[5 * 1024][..],
                &[20, 100 * 1024, 7][..],
            ] {
                let nals: Vec<Vec<u8>> = sizes
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| nal(1 + i as u8, n, mtu as u8))
                    .collect();
                let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
                let src = annex_b(&refs);
                let pkts = H265Packetizer::new(config)
                    .packetize(Bytes::from(src.clone()), mtu)
                    .unwrap();
                if sizes.contains(&(100 * 1024)) && mtu == 200 {
                    assert!(pkts.len() > 500);
                }
                for (p, _) in &pkts {
                    assert!(p.len() <= mtu);
                }
                assert_eq!(
                    depacketize(config, &pkts).unwrap(),
                    src,
                    "{config:?} mtu {mtu} {sizes:?}"
                );
            }
        }
    }
}

#[test]
fn parameter_sets_sent_before_irap_without_them() {
    let vps = nal(32, 20, 1);
    let sps = nal(33, 30, 2);
    let pps = nal(34, 8, 3);
    let idr = nal(19, 200, 4);
    let trail = nal(1, 50, 5);
    let mut p = H265Packetizer::new(NO_DONL);
    let f1 = annex_b(&[&vps, &sps, &pps, &idr]);
    assert_eq!(
        depacketize(
            NO_DONL,
            &p.packetize(Bytes::from(f1.clone()), 1200).unwrap()
        )
        .unwrap(),
        f1
    );
    let f2 = annex_b(&[&trail]);
    assert_eq!(
        depacketize(
            NO_DONL,
            &p.packetize(Bytes::from(f2.clone()), 1200).unwrap()
        )
        .unwrap(),
        f2
    );
    let pkts = p.packetize(Bytes::from(annex_b(&[&idr])), 1200).unwrap();
    assert_eq!(pkts.len(), 1);
    assert_eq!((pkts[0].0[0] >> 1) & 0x3f, 48);
    assert_eq!(
        depacketize(NO_DONL, &pkts).unwrap(),
        annex_b(&[&vps, &sps, &pps, &idr])
    );
}

#[test]
fn decodability_irap_chain() {
    let mut d = H265Depacketizer::new(NO_DONL);
    let irap = d.packet_info(&nal(21, 10, 0)).unwrap();
    let trail = d.packet_info(&nal(1, 10, 0)).unwrap();
    assert!(irap.keyframe && !trail.keyframe);
    assert!(!d.decodable(&trail, true));
    assert!(d.decodable(&irap, false));
    assert!(d.decodable(&trail, true));
    assert!(!d.decodable(&trail, false));
    assert!(!d.decodable(&trail, true));
}

proptest! {
    #[test]
    fn depacketize_never_panics(donl in any::<bool>(), payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
        let mut d = H265Depacketizer::new(H265Config { donl });
        let mut out = Vec::new();
        for p in &payloads {
            let _ = d.packet_info(p);
            if d.push(p, &mut out).is_err() {
                d.reset();
                out.clear();
            }
        }
        let _ = d.finish(&mut out);
        prop_assert!(out.len() <= payloads.iter().map(|p| p.len() * 3 + 4).sum::<usize>());
    }

    #[test]
    fn sps_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut v = vec![0x42, 0x01];
        v.extend(data);
        let _ = parse_sps_resolution(&v);
    }
}
