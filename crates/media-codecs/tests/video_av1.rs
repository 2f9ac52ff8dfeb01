//! AV1 RTP payload format and the Dependency Descriptor: spec figures, round trips at every
//! MTU (real libaom temporal units and synthetic ones), malformed input, decodability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use bytes::Bytes;
use ferrtc_media_codecs::av1::{parse_sequence_header, Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::dependency_descriptor::{
    ChainDiffs, DependencyDescriptor, DependencyDescriptorParser, Dti, Dtis, FrameDiffs,
    FrameTemplate, TemplateStructure,
};
use ferrtc_media_codecs::{CodecInfo, Depacketizer, Error, Packetizer};
use proptest::prelude::*;

const MTUS: [usize; 6] = [200, 300, 576, 1000, 1200, 1500];
/// ffmpeg + libaom, testsrc 320x240, 5 temporal units (key frame first).
const AOM_IVF: &[u8] = include_bytes!("data/video_aom_320x240.ivf");

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

fn depacketize(d: &mut Av1Depacketizer, payloads: &[(Bytes, bool)]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for (p, _) in payloads {
        d.push(p, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

/// An OBU in the low-overhead format: header with obu_has_size_field, leb128 size, payload.
fn obu(t: u8, ext: Option<u8>, len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![(t << 3) | 0x02 | if ext.is_some() { 0x04 } else { 0 }];
    v.extend(ext);
    let mut n = len;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            break;
        }
        v.push(b | 0x80);
    }
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)));
    v
}

#[test]
fn spec_4_4_figure_w2_and_w0() {
    // W=2: element 1 with a 2-byte length (200 bytes), element 2 without (100 bytes): 303 bytes.
    let e1: Vec<u8> = std::iter::once(0x30)
        .chain((0..199).map(|i| i as u8))
        .collect();
    let e2: Vec<u8> = std::iter::once(0x30)
        .chain((0..99).map(|i| 200 - i as u8))
        .collect();
    let mut w2 = vec![0x20, 0xc8, 0x01];
    w2.extend(&e1);
    w2.extend(&e2);
    assert_eq!(w2.len(), 303);
    let mut w0 = vec![0x00, 0xc8, 0x01];
    w0.extend(&e1);
    w0.push(100);
    w0.extend(&e2);
    // Expected: TD, then each OBU with obu_has_size_field and its size (199 = c7 01, 99 = 63).
    let mut expected = vec![0x12, 0x00, 0x32, 0xc7, 0x01];
    expected.extend(&e1[1..]);
    expected.extend([0x32, 0x63]);
    expected.extend(&e2[1..]);
    for payload in [w2, w0] {
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        let info = d.push(&payload, &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert_eq!(out, expected);
        assert!(!info.keyframe);
    }
}

#[test]
fn fragments_across_packets_and_n_bit() {
    // Sequence header (whole, W=2 first element) then a frame OBU split over three packets.
    let sh = [
        0x08, 0x00, 0x00, 0x00, 0x42, 0xa7, 0xbf, 0xe4, 0x60, 0x0d, 0x00, 0x40,
    ];
    let p1 = [&[0x68u8, sh.len() as u8][..], &sh, &[0x30, 1, 2, 3]].concat(); // Y=1 W=2 N=1
    let p2 = [0xd0u8, 4, 5, 6].to_vec(); // Z=1 Y=1 W=1
    let p3 = [0x90u8, 7, 8].to_vec(); // Z=1 W=1
    let mut d = Av1Depacketizer::new().with_temporal_delimiter(false);
    let mut out = Vec::new();
    let i1 = d.push(&p1, &mut out).unwrap();
    assert!(i1.keyframe);
    let CodecInfo::Av1(a) = i1.codec else {
        panic!()
    };
    assert!(a.n && a.y && !a.z && a.has_sequence_header);
    assert_eq!(i1.frame_start, Some(true));
    let i2 = d.push(&p2, &mut out).unwrap();
    assert_eq!(i2.frame_start, Some(false));
    d.push(&p3, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    let expected = [
        &[0x0a, sh.len() as u8 - 1][..],
        &sh[1..],
        &[0x32, 8, 1, 2, 3, 4, 5, 6, 7, 8],
    ]
    .concat();
    assert_eq!(out, expected);
}

#[test]
fn malformed_payloads_are_errors() {
    let d = Av1Depacketizer::new();
    let bad: &[&[u8]] = &[
        &[],
        &[0x00],                                                       // no element
        &[0x20, 0x05, 0x30], // W=2 but one element (length past the end)
        &[0x00, 0x00, 0x30], // zero length
        &[0x00, 0x02, 0x30], // length past the end
        &[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // leb128 too long
        &[0x10, 0xb0, 0x01], // forbidden bit
        &[0x88, 0x30, 0x01], // N with Z
        &[0x30, 0x01, 0x30, 0x30], // W=3 but two elements
    ];
    for b in bad {
        assert!(d.packet_info(b).is_err(), "{b:02x?}");
    }
    // A continuation without its start, and an unfinished fragment, are refused.
    let mut d = Av1Depacketizer::new();
    let mut out = Vec::new();
    assert!(matches!(
        d.push(&[0x90, 0x30, 1], &mut out),
        Err(Error::Discontinuity { .. })
    ));
    let mut out = Vec::new();
    d.push(&[0x50, 0x30, 1], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
    let mut out = Vec::new();
    d.push(&[0x50, 0x30, 1], &mut out).unwrap();
    assert!(d.push(&[0x10, 0x30, 1], &mut out).is_err());
}

#[test]
fn real_libaom_temporal_units_round_trip() {
    let frames = ivf_frames(AOM_IVF);
    assert_eq!(frames.len(), 5);
    for &mtu in &MTUS {
        let mut p = Av1Packetizer::new();
        let mut d = Av1Depacketizer::new();
        for (i, tu) in frames.iter().enumerate() {
            let pkts = p.packetize(Bytes::copy_from_slice(tu), mtu).unwrap();
            for (j, (pl, m)) in pkts.iter().enumerate() {
                assert!(pl.len() <= mtu);
                assert_eq!(*m, j + 1 == pkts.len());
                // Temporal delimiters are not sent.
                assert_ne!(&pl[..], &[0x10, 0x12, 0x00][..]);
            }
            let first = d.packet_info(&pkts[0].0).unwrap();
            assert_eq!(first.keyframe, i == 0, "tu {i}");
            if i == 0 {
                assert_eq!(first.resolution, Some((320, 240)));
            }
            // libaom starts each temporal unit with a temporal delimiter: byte-identical.
            assert_eq!(depacketize(&mut d, &pkts).unwrap(), *tu, "mtu {mtu} tu {i}");
        }
    }
}

#[test]
fn synthetic_round_trips_small_and_huge() {
    let seq = [
        0x0a, 0x0b, 0x00, 0x00, 0x00, 0x04, 0x3c, 0xff, 0xbc, 0xda, 0x00, 0x00, 0x00,
    ]; // any
    let cases: Vec<Vec<u8>> = vec![
        [&[0x12, 0x00][..], &obu(6, None, 3, 1)].concat(),
        [&[0x12, 0x00][..], &obu(6, Some(0x28), 100 * 1024, 2)].concat(),
        [&[0x12, 0x00][..], &seq[..], &obu(6, None, 5 * 1024, 3)].concat(),
        // Many small OBUs: more than three elements per packet (W=0).
        std::iter::once(vec![0x12, 0x00])
            .chain((0..40).map(|i| obu(5, None, 1 + i % 7, i as u8)))
            .flatten()
            .collect(),
        // Element sizes around the leb128 1/2 byte boundary.
        [
            &[0x12, 0x00][..],
            &obu(3, None, 127, 0),
            &obu(4, None, 128, 1),
            &obu(4, None, 16383, 2),
            &obu(4, None, 16384, 3),
        ]
        .concat(),
    ];
    for &mtu in &MTUS {
        for tu in &cases {
            let pkts = Av1Packetizer::new()
                .packetize(Bytes::from(tu.clone()), mtu)
                .unwrap();
            if tu.len() > 100 * 1024 && mtu == 200 {
                assert!(pkts.len() > 500);
            }
            for (pl, _) in &pkts {
                assert!(pl.len() <= mtu);
            }
            let out = depacketize(&mut Av1Depacketizer::new(), &pkts).unwrap();
            assert_eq!(&out, tu, "mtu {mtu} len {}", tu.len());
        }
    }
}

#[test]
fn sequence_header_fields() {
    let frames = ivf_frames(AOM_IVF);
    // 12 00 | 0a 0b <11 bytes of sequence header>
    let s = parse_sequence_header(&frames[0][4..15]).unwrap();
    assert_eq!((s.max_width, s.max_height), (320, 240));
    assert_eq!(s.profile, 0);
    assert!(!s.reduced_still_picture_header);
    assert_eq!(parse_sequence_header(&frames[0][4..6]), None);
}

/// L1T3 of the spec's A.10.2.1 with template_id_offset 0, render resolution 1280x720,
/// frame_number 1, template 0; bits laid out by hand from the A.8.2 syntax.
const DD_L1T3: [u8; 20] = [
    0xc0, 0x00, 0x01, 0x80, 0x02, 0x14, 0xea, 0xaa, 0x44, 0x10, 0x4d, 0x14, 0x10, 0x20, 0x84, 0x27,
    0x04, 0xff, 0x02, 0xcf,
];
/// Template 3 (temporal 2), frame_number 2, mandatory fields only.
const DD_T2: [u8; 3] = [0xc3, 0x00, 0x02];
/// Template 1, frame 5, active decode targets 0b011, custom fdiffs [1, 300].
const DD_CUSTOM: [u8; 7] = [0x81, 0x00, 0x05, 0x53, 0x43, 0x12, 0xb0];

fn l1t3() -> TemplateStructure {
    use Dti::*;
    let t = |temporal: u8, dtis: &[Dti], fdiffs: &[u16], chain: u8| FrameTemplate {
        spatial_id: 0,
        temporal_id: temporal,
        dtis: Dtis::from_slice(dtis),
        fdiffs: FrameDiffs::from_slice(fdiffs).unwrap(),
        chain_diffs: ChainDiffs::from_slice(&[chain]),
    };
    TemplateStructure {
        template_id_offset: 0,
        decode_target_count: 3,
        templates: vec![
            t(0, &[Switch, Switch, Switch], &[], 0),
            t(0, &[Switch, Switch, Switch], &[4], 4),
            t(1, &[Switch, Discardable, NotPresent], &[2], 2),
            t(2, &[Discardable, NotPresent, NotPresent], &[1], 1),
            t(2, &[Discardable, NotPresent, NotPresent], &[1], 3),
        ],
        chain_count: 1,
        decode_target_protected_by: vec![0, 0, 0],
        resolutions: Some(vec![(1280, 720)]),
    }
}

#[test]
fn dependency_descriptor_l1t3_parse() {
    let mut p = DependencyDescriptorParser::new();
    // Nothing resolves before a structure arrives.
    assert!(p.parse(&DD_T2).is_err());
    let (d, f) = p.parse(&DD_L1T3).unwrap();
    assert_eq!(d.structure.as_deref(), Some(&l1t3()));
    assert!(d.start_of_frame && d.end_of_frame);
    assert_eq!(f.frame_number, 1);
    assert_eq!((f.spatial_id, f.temporal_id), (0, 0));
    assert_eq!(f.active_decode_targets, 0b111);
    assert_eq!(f.resolution, Some((1280, 720)));
    assert_eq!(p.structure().unwrap().decode_target_layers(1), (0, 1));
    let (_, f) = p.parse(&DD_T2).unwrap();
    assert_eq!(f.temporal_id, 2);
    assert_eq!(f.referred_frames().collect::<Vec<_>>(), vec![1]);
    assert_eq!(f.chain_diffs.as_slice(), &[1]);
    assert_eq!(f.dtis.get(0), Some(Dti::Discardable));
    let (d, f) = p.parse(&DD_CUSTOM).unwrap();
    assert_eq!(d.active_decode_targets, Some(0b011));
    assert_eq!(f.fdiffs.as_slice(), &[1, 300]);
    assert_eq!(f.temporal_id, 0);
    // The active decode targets stay for later packets.
    let (_, f) = p.parse(&DD_T2).unwrap();
    assert_eq!(f.active_decode_targets, 0b011);
    // A template id outside the structure is an error.
    assert!(p.parse(&[0x85, 0x00, 0x06]).is_err());
}

#[test]
fn dependency_descriptor_write_matches_hand_built_bytes() {
    let s = Arc::new(l1t3());
    let d = DependencyDescriptor {
        start_of_frame: true,
        end_of_frame: true,
        template_id: 0,
        frame_number: 1,
        structure: Some(s.clone()),
        ..Default::default()
    };
    let mut out = Vec::new();
    d.write_to(None, &mut out).unwrap();
    assert_eq!(out, DD_L1T3);
    assert_eq!(d.encoded_len(None), 20);
    let d = DependencyDescriptor {
        start_of_frame: true,
        end_of_frame: false,
        template_id: 1,
        frame_number: 5,
        active_decode_targets: Some(0b011),
        custom_fdiffs: FrameDiffs::from_slice(&[1, 300]),
        ..Default::default()
    };
    let mut out = Vec::new();
    d.write_to(Some(&s), &mut out).unwrap();
    assert_eq!(out, DD_CUSTOM);
    // Custom DTIs of the wrong count are refused.
    let d = DependencyDescriptor {
        custom_dtis: Some(Dtis::from_slice(&[Dti::Required])),
        ..Default::default()
    };
    assert!(d.write_to(Some(&s), &mut Vec::new()).is_err());
}

#[test]
fn dependency_descriptor_malformed() {
    let mut p = DependencyDescriptorParser::new();
    for bad in [
        &[][..],
        &[0x80, 0x00],
        &DD_L1T3[..10],
        &[0x80, 0x00, 0x01, 0x40],
    ] {
        assert!(p.parse(bad).is_err(), "{bad:02x?}");
    }
}

#[test]
fn decodability_from_dependency_descriptor() {
    let mut parser = DependencyDescriptorParser::new();
    let mut d = Av1Depacketizer::new();
    let mut frame = |d: &mut Av1Depacketizer, dd: &[u8], key: bool| {
        let (_, f) = parser.parse(dd).unwrap();
        d.set_frame_dependency(Some(f));
        let mut out = Vec::new();
        let payload: &[u8] = if key {
            &[0x18, 0x30, 0x01]
        } else {
            &[0x10, 0x30, 0x01]
        };
        let info = d.push(payload, &mut out).unwrap();
        d.finish(&mut out).unwrap();
        info
    };
    // Frame 1 (no references): decodable.
    let f1 = frame(&mut d, &DD_L1T3, true);
    assert!(d.decodable(&f1, false));
    // Frame 2 refers to 1: decodable even if not contiguous.
    let f2 = frame(&mut d, &DD_T2, false);
    assert!(d.decodable(&f2, false));
    // Frame 5 refers to 4 and 65241 (5 - 300), never released: not decodable.
    let f5 = frame(&mut d, &DD_CUSTOM, false);
    assert!(!d.decodable(&f5, true));
    // Without a descriptor: keyframe or contiguous chain.
    let mut d = Av1Depacketizer::new();
    let key = d.packet_info(&[0x18, 0x30, 0x01]).unwrap();
    let delta = d.packet_info(&[0x10, 0x30, 0x01]).unwrap();
    assert!(!d.decodable(&delta, true));
    assert!(d.decodable(&key, false));
    assert!(d.decodable(&delta, true));
    assert!(!d.decodable(&delta, false));
    assert!(!d.decodable(&delta, true));
}

proptest! {
    #[test]
    fn depacketize_never_panics(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        for p in &payloads {
            let _ = d.packet_info(p);
            if d.push(p, &mut out).is_err() {
                d.reset();
                out.clear();
            }
        }
        let _ = d.finish(&mut out);
        // Each payload byte yields at most itself plus a header bit and a 5-byte size, + TDs.
        prop_assert!(out.len() <= payloads.iter().map(|p| p.len() * 6 + 2).sum::<usize>());
    }

    #[test]
    fn dd_parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80), second in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut p = DependencyDescriptorParser::new();
        let _ = p.parse(&data);
        let _ = p.parse(&DD_L1T3);
        let _ = p.parse(&second);
    }

    #[test]
    fn dd_round_trip(template_id in 0u8..5, frame_number in any::<u16>(), sof in any::<bool>(), eof in any::<bool>(),
        fdiffs in proptest::option::of(proptest::collection::vec(1u16..4096, 0..8)), active in proptest::option::of(0u32..8),
        chains in proptest::option::of(any::<u8>()), attach in any::<bool>()) {
        let s = Arc::new(l1t3());
        let d = DependencyDescriptor {
            start_of_frame: sof,
            end_of_frame: eof,
            template_id,
            frame_number,
            structure: attach.then(|| s.clone()),
            active_decode_targets: active,
            custom_dtis: None,
            custom_fdiffs: fdiffs.map(|f| FrameDiffs::from_slice(&f).unwrap()),
            custom_chains: chains.map(|c| ChainDiffs::from_slice(&[c])),
        };
        let mut out = Vec::new();
        d.write_to(Some(&s), &mut out).unwrap();
        prop_assert_eq!(out.len(), d.encoded_len(Some(&s)));
        let back = DependencyDescriptor::parse(&out, Some(&s)).unwrap();
        prop_assert_eq!(back, d);
    }

    #[test]
    fn round_trip_random_obus(sizes in proptest::collection::vec(0usize..3000, 1..8), mtu in 3usize..1500) {
        let tu: Vec<u8> = sizes.iter().enumerate().flat_map(|(i, &n)| obu(6, None, n, i as u8)).collect();
        let pkts = Av1Packetizer::new().packetize(Bytes::from(tu.clone()), mtu).unwrap();
        for (pl, _) in &pkts { prop_assert!(pl.len() <= mtu); }
        let out = depacketize(&mut Av1Depacketizer::new().with_temporal_delimiter(false), &pkts).unwrap();
        prop_assert_eq!(out, tu);
    }
}

/// A template structure built from random choices that follow the A.8.2 rules.
fn structure_strategy() -> impl Strategy<Value = TemplateStructure> {
    (
        0u8..64,
        1u8..=32,
        proptest::collection::vec(
            (
                0u8..3,
                proptest::collection::vec(0u8..4, 32),
                proptest::collection::vec(1u16..=16, 0..4),
                proptest::collection::vec(0u8..16, 32),
            ),
            1..20,
        ),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(offset, dt_cnt, raw, seed, with_res)| {
            let chain_count = (seed % (u32::from(dt_cnt) + 1)) as u8;
            let (mut s, mut t) = (0u8, 0u8);
            let mut templates = Vec::new();
            for (i, (step, dtis, fdiffs, chains)) in raw.iter().enumerate() {
                if i > 0 {
                    match step {
                        1 => t += 1,
                        2 if s < 3 => {
                            s += 1;
                            t = 0;
                        }
                        _ => {}
                    }
                }
                let dtis: Vec<Dti> = dtis[..usize::from(dt_cnt)]
                    .iter()
                    .map(|d| {
                        [
                            Dti::NotPresent,
                            Dti::Discardable,
                            Dti::Switch,
                            Dti::Required,
                        ][usize::from(*d)]
                    })
                    .collect();
                templates.push(FrameTemplate {
                    spatial_id: s,
                    temporal_id: t,
                    dtis: Dtis::from_slice(&dtis),
                    fdiffs: FrameDiffs::from_slice(fdiffs).unwrap(),
                    chain_diffs: ChainDiffs::from_slice(&chains[..usize::from(chain_count)]),
                });
            }
            let protected = (0..dt_cnt)
                .map(|i| {
                    if chain_count == 0 {
                        0
                    } else {
                        (u32::from(i) * 7 + seed) as u8 % chain_count
                    }
                })
                .collect();
            TemplateStructure {
                template_id_offset: offset,
                decode_target_count: dt_cnt,
                resolutions: with_res.then(|| {
                    (0..=s)
                        .map(|i| (640 * (u16::from(i) + 1), 360 * (u16::from(i) + 1)))
                        .collect()
                }),
                templates,
                chain_count,
                decode_target_protected_by: if chain_count == 0 {
                    Vec::new()
                } else {
                    protected
                },
            }
        })
}

proptest! {
    #[test]
    fn dd_structure_round_trip(s in structure_strategy(), frame_number in any::<u16>(), pick in any::<u8>()) {
        let s = Arc::new(s);
        let template_id = ((usize::from(s.template_id_offset) + usize::from(pick) % s.templates.len()) % 64) as u8;
        let d = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: true,
            template_id,
            frame_number,
            structure: Some(s.clone()),
            ..Default::default()
        };
        let mut out = Vec::new();
        d.write_to(None, &mut out).unwrap();
        let mut parser = DependencyDescriptorParser::new();
        let (back, f) = parser.parse(&out).unwrap();
        prop_assert_eq!(&back, &d);
        let tpl = &s.templates[usize::from(pick) % s.templates.len()];
        prop_assert_eq!(f.spatial_id, tpl.spatial_id);
        prop_assert_eq!(f.fdiffs, tpl.fdiffs);
        prop_assert_eq!(f.active_decode_targets, if s.decode_target_count == 32 { u32::MAX } else { (1u32 << s.decode_target_count) - 1 });
    }
}
