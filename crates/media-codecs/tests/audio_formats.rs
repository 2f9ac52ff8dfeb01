//! Opus, G.711, G.722 and RED payload formats: round trips, RFC bytes, malformed input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::g711::{G711Depacketizer, G711Packetizer, Law};
use ferrtc_media_codecs::g722::{G722Depacketizer, G722Packetizer};
use ferrtc_media_codecs::opus::{Bandwidth, Mode, OpusDepacketizer, OpusPacket, OpusPacketizer};
use ferrtc_media_codecs::red::{self, RedBlock, RedDepacketizer, RedPacketizer};
use ferrtc_media_codecs::{Codec, Depacketizer, Error, Packetizer};
use proptest::prelude::*;

/// Packetizes `frame`, depacketizes every payload into one buffer, returns (payload count, frame).
fn round_trip(
    p: &mut dyn Packetizer,
    d: &mut dyn Depacketizer,
    frame: &[u8],
    max_payload: usize,
) -> (usize, Vec<u8>) {
    let payloads = p
        .packetize(Bytes::copy_from_slice(frame), max_payload)
        .unwrap();
    let mut out = Vec::new();
    for (pl, marker) in &payloads {
        assert!(pl.len() <= max_payload, "{} > {max_payload}", pl.len());
        assert!(!marker, "audio packetizers leave the marker to the caller");
        let info = d.packet_info(pl).unwrap();
        assert_eq!(info.frame_start, Some(true));
        assert_eq!(info.frame_end, Some(true));
        d.push(pl, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    (payloads.len(), out)
}

/// A valid code-0 Opus packet: TOC config 31 (CELT FB 20 ms), mono, then `n` bytes.
fn opus_code0(n: usize) -> Vec<u8> {
    let mut v = vec![31 << 3];
    v.extend((0..n).map(|i| (i * 7 + 3) as u8));
    v
}

#[test]
fn opus_round_trip_every_mtu() {
    for max_payload in (200..=1500).step_by(50) {
        for n in [0usize, 1, 2, 60, 199] {
            let frame = opus_code0(n);
            let (count, out) = round_trip(
                &mut OpusPacketizer::new(),
                &mut OpusDepacketizer::new(),
                &frame,
                max_payload,
            );
            assert_eq!(count, 1);
            assert_eq!(out, frame);
        }
    }
}

#[test]
fn opus_larger_than_room_is_refused() {
    let frame = Bytes::from(opus_code0(300));
    let err = OpusPacketizer::new().begin(frame, 200).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MtuTooSmall {
                needed: 301,
                max_payload: 200,
                ..
            }
        ),
        "{err:?}"
    );
    let err = OpusPacketizer::new().begin(Bytes::new(), 200).unwrap_err();
    assert!(matches!(err, Error::BadFrame { .. }), "{err:?}");
}

#[test]
fn opus_toc_facts() {
    // Config 1: SILK NB 20 ms, stereo, code 0.
    let p = OpusPacket::parse(&[(1 << 3) | 0x04, 0xaa]).unwrap();
    assert_eq!(p.toc.config(), 1);
    assert!(p.toc.stereo());
    assert_eq!(p.toc.mode(), Mode::Silk);
    assert_eq!(p.toc.bandwidth(), Bandwidth::Narrowband);
    assert_eq!((p.frames, p.samples), (1, 960));
    // Config 13: Hybrid SWB 20 ms.
    let p = OpusPacket::parse(&[13 << 3]).unwrap();
    assert_eq!(
        (p.toc.mode(), p.toc.bandwidth(), p.samples),
        (Mode::Hybrid, Bandwidth::SuperWideband, 960)
    );
    // Config 22: CELT WB 10 ms.
    let p = OpusPacket::parse(&[22 << 3]).unwrap();
    assert_eq!(
        (p.toc.mode(), p.toc.bandwidth(), p.samples),
        (Mode::Celt, Bandwidth::Wideband, 480)
    );
}

#[test]
fn opus_frame_counts_per_code() {
    // Code 1: two equal frames, even remainder.
    let p = OpusPacket::parse(&[(31 << 3) | 1, 1, 2, 3, 4]).unwrap();
    assert_eq!((p.frames, p.samples), (2, 1920));
    // Code 2: first frame 2 bytes, second 3 bytes.
    let p = OpusPacket::parse(&[(31 << 3) | 2, 2, 9, 9, 8, 8, 8]).unwrap();
    assert_eq!(p.frames, 2);
    // Code 2 with a two-byte length: 252 + 4*1 = 256 bytes first frame.
    let mut v = vec![(31 << 3) | 2, 252, 1];
    v.extend(std::iter::repeat_n(0u8, 256 + 10));
    assert_eq!(OpusPacket::parse(&v).unwrap().frames, 2);
    // Code 3 CBR: 6 frames of 20 ms = 120 ms, 12 bytes = 6 x 2.
    let mut v = vec![(31 << 3) | 3, 6];
    v.extend([0u8; 12]);
    let p = OpusPacket::parse(&v).unwrap();
    assert_eq!((p.frames, p.samples), (6, 5760));
    // Code 3 VBR, 3 frames (lengths 1 and 2 coded, last one takes the rest = 4).
    let v = [(31 << 3) | 3, 0x80 | 3, 1, 2, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(OpusPacket::parse(&v).unwrap().frames, 3);
    // Code 3 with padding: P bit, padding length 255 (=254 + next) then 2 -> 256 padding bytes.
    let mut v = vec![(31 << 3) | 3, 0x40 | 2, 255, 2];
    v.extend([7u8; 4]); // two CBR frames of 2 bytes
    v.extend([0u8; 256]);
    let p = OpusPacket::parse(&v).unwrap();
    assert_eq!((p.frames, p.padding), (2, 258));
    // CELT 2.5 ms: 48 frames = 120 ms is the most code 3 allows.
    let mut v = vec![(16 << 3) | 3, 48];
    v.extend([0u8; 48]);
    assert_eq!(OpusPacket::parse(&v).unwrap().samples, 5760);
}

#[test]
fn opus_malformed() {
    let cases: &[(&str, Vec<u8>)] = &[
        ("empty", vec![]),
        ("code 1 odd", vec![(31 << 3) | 1, 1, 2, 3]),
        ("code 2 no length", vec![(31 << 3) | 2]),
        (
            "code 2 first frame beyond packet",
            vec![(31 << 3) | 2, 9, 1, 2],
        ),
        ("code 3 no count", vec![(31 << 3) | 3]),
        ("code 3 zero frames", vec![(31 << 3) | 3, 0]),
        ("code 3 longer than 120 ms", {
            let mut v = vec![(31 << 3) | 3, 7];
            v.extend([0u8; 7]);
            v
        }),
        ("code 3 CBR not divisible", vec![(31 << 3) | 3, 2, 1, 2, 3]),
        (
            "code 3 VBR lengths beyond packet",
            vec![(31 << 3) | 3, 0x80 | 2, 50, 1],
        ),
        (
            "code 3 padding beyond packet",
            vec![(31 << 3) | 3, 0x40 | 1, 200, 1, 2],
        ),
        ("code 0 frame over 1275", {
            let mut v = vec![31 << 3];
            v.extend(std::iter::repeat_n(0u8, 1276));
            v
        }),
    ];
    let mut d = OpusDepacketizer::new();
    for (name, bytes) in cases {
        assert!(OpusPacket::parse(bytes).is_err(), "{name} parsed");
        let mut out = Vec::new();
        assert!(d.push(bytes, &mut out).is_err(), "{name} depacketized");
        assert!(out.is_empty(), "{name} wrote bytes");
    }
}

#[test]
fn g711_and_g722_round_trip() {
    let frame: Vec<u8> = (0..160).map(|i| (i * 13) as u8).collect();
    for max_payload in (200..=1500).step_by(100) {
        for law in [Law::Mu, Law::A] {
            let mut d = G711Depacketizer::new(law);
            assert_eq!(
                d.codec(),
                if law == Law::Mu {
                    Codec::Pcmu
                } else {
                    Codec::Pcma
                }
            );
            let (n, out) = round_trip(&mut G711Packetizer::new(law), &mut d, &frame, max_payload);
            assert_eq!((n, out.as_slice()), (1, frame.as_slice()));
        }
        let (n, out) = round_trip(
            &mut G722Packetizer::new(),
            &mut G722Depacketizer::new(),
            &frame,
            max_payload,
        );
        assert_eq!((n, out.as_slice()), (1, frame.as_slice()));
    }
    // 20 ms of G.722 is 160 octets and 160 ticks of its 8000 Hz RTP clock (RFC 3551 §4.5.2).
    assert_eq!(ferrtc_media_codecs::g722::timestamp_increment(160), 160);
    assert_eq!(ferrtc_media_codecs::g722::CLOCK_RATE, 8000);
    assert_eq!(ferrtc_media_codecs::g711::timestamp_increment(240), 240);
    assert!(G722Depacketizer::new().packet_info(&[]).is_err());
    assert!(G711Packetizer::new(Law::A)
        .begin(Bytes::from(vec![0u8; 300]), 200)
        .is_err());
}

/// RFC 2198 §7: DVI4 primary (PT 5, 84 bytes) with one LPC block (PT 7, 14 bytes), both 20 ms
/// at 8 kHz, so the offset is 160. Header bytes worked out by hand from the §3 bit layout:
/// 1|0000111 = 0x87; offset 160 (14 bits) then length 14 (10 bits) = 0x02 0x80 0x0e; 0|0000101.
#[test]
fn red_rfc2198_example() {
    let lpc: Vec<u8> = (0..14).map(|i| 0xa0 + i as u8).collect();
    let dvi: Vec<u8> = (0..84).map(|i| i as u8).collect();
    let mut out = Vec::new();
    let n = red::build(
        5,
        &dvi,
        &[RedBlock {
            payload_type: 7,
            timestamp_offset: 160,
            data: Bytes::from(lpc.clone()),
        }],
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 5 + 14 + 84);
    assert_eq!(&out[..5], &[0x87, 0x02, 0x80, 0x0e, 0x05]);
    assert_eq!(&out[5..19], &lpc[..]);
    assert_eq!(&out[19..], &dvi[..]);

    let split = red::split(&Bytes::from(out.clone()), 16).unwrap();
    assert_eq!(split.redundant.len(), 1);
    assert_eq!(split.redundant[0].payload_type, 7);
    assert_eq!(split.redundant[0].timestamp_offset, 160);
    assert_eq!(&split.redundant[0].data[..], &lpc[..]);
    assert_eq!(split.primary.payload_type, 5);
    assert_eq!(&split.primary.data[..], &dvi[..]);

    let mut d = RedDepacketizer::new();
    let mut frame = Vec::new();
    d.push(&out, &mut frame).unwrap();
    assert_eq!(frame, dvi);
}

#[test]
fn red_limits_on_build() {
    let big = RedBlock {
        payload_type: 111,
        timestamp_offset: 960,
        data: Bytes::from(vec![0u8; 1024]),
    };
    assert!(red::build(111, &[1], &[big], &mut Vec::new()).is_err());
    let old = RedBlock {
        payload_type: 111,
        timestamp_offset: 0x3fff,
        data: Bytes::from_static(&[1]),
    };
    let mut out = Vec::new();
    red::build(111, &[2], &[old], &mut out).unwrap();
    // Offset 0x3fff, length 1: 0x3fff << 10 | 1 = 0xfffc01.
    assert_eq!(out, [0x80 | 111, 0xff, 0xfc, 0x01, 111, 1, 2]);
    assert!(red::build(128, &[2], &[], &mut Vec::new()).is_err());
}

#[test]
fn red_malformed() {
    let cases: &[(&str, &[u8])] = &[
        ("empty", &[]),
        ("truncated redundant header", &[0x87, 0x02, 0x80]),
        ("no final header", &[0x87, 0x02, 0x80, 0x00]),
        (
            "block length beyond payload",
            &[0x87, 0x00, 0x00, 0x05, 0x05, 1, 2],
        ),
    ];
    for (name, bytes) in cases {
        let b = Bytes::copy_from_slice(bytes);
        assert!(red::split(&b, 16).is_err(), "{name} split");
        assert!(
            RedDepacketizer::new().packet_info(bytes).is_err(),
            "{name} info"
        );
        let mut out = Vec::new();
        assert!(
            RedDepacketizer::new().push(bytes, &mut out).is_err(),
            "{name} push"
        );
        assert!(out.is_empty());
    }
    // Block count bound: 3 redundant headers of length 0 + primary = 4 blocks.
    let mut v = Vec::new();
    for _ in 0..3 {
        v.extend([0x80 | 5, 0, 0, 0]);
    }
    v.push(5);
    let b = Bytes::from(v);
    assert!(red::split(&b, 4).is_ok());
    assert!(matches!(
        red::split(&b, 3),
        Err(Error::Limit { limit: 3, .. })
    ));
}

#[test]
fn red_packetizer_carries_previous_frames() {
    // Distance 2, 20 ms Opus frames (960 ticks).
    let mut p = RedPacketizer::new(111, 2, 960);
    let frames: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
    let mut payloads = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if i == 0 {
            p.set_timestamp(1000);
        }
        let out = p.packetize(Bytes::from(f.clone()), 1200).unwrap();
        assert_eq!(out.len(), 1);
        payloads.push(out[0].0.clone());
    }
    // First: no redundancy. Only the primary header.
    assert_eq!(payloads[0][0], 111);
    assert_eq!(&payloads[0][1..], &frames[0][..]);
    // Fourth: frames 1 and 2 as redundancy, oldest first, offsets 1920 and 960.
    let s = red::split(&payloads[3], 16).unwrap();
    assert_eq!(s.redundant.len(), 2);
    assert_eq!(s.redundant[0].timestamp_offset, 1920);
    assert_eq!(&s.redundant[0].data[..], &frames[1][..]);
    assert_eq!(s.redundant[1].timestamp_offset, 960);
    assert_eq!(&s.redundant[1].data[..], &frames[2][..]);
    assert_eq!(&s.primary.data[..], &frames[3][..]);
    // A room that holds only the primary and one block drops the older one.
    let mut p = RedPacketizer::new(111, 2, 960);
    for f in &frames[..3] {
        let _ = p.packetize(Bytes::from(f.clone()), 1200).unwrap();
    }
    let out = p
        .packetize(Bytes::from(frames[3].clone()), 1 + 13 + 4 + 12)
        .unwrap();
    let s = red::split(&out[0].0, 16).unwrap();
    assert_eq!(s.redundant.len(), 1);
    assert_eq!(&s.redundant[0].data[..], &frames[2][..]);
}

proptest! {
    #[test]
    fn audio_depacketizers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let mut out = Vec::new();
        let ds: Vec<Box<dyn Depacketizer>> = vec![
            Box::new(OpusDepacketizer::new()),
            Box::new(G711Depacketizer::new(Law::Mu)),
            Box::new(G722Depacketizer::new()),
            Box::new(RedDepacketizer::new()),
        ];
        for mut d in ds {
            let info = d.packet_info(&bytes);
            out.clear();
            let pushed = d.push(&bytes, &mut out);
            prop_assert_eq!(info.is_ok(), pushed.is_ok());
            if pushed.is_err() {
                prop_assert!(out.is_empty());
            }
        }
        let _ = red::split(&Bytes::from(bytes.clone()), 16);
    }

    #[test]
    fn red_round_trip(
        primary in proptest::collection::vec(any::<u8>(), 0..300),
        blocks in proptest::collection::vec((0u8..128, 0u16..0x4000, proptest::collection::vec(any::<u8>(), 0..1024)), 0..4),
    ) {
        let red_blocks: Vec<RedBlock> = blocks
            .iter()
            .map(|(pt, ts, d)| RedBlock { payload_type: *pt, timestamp_offset: *ts, data: Bytes::from(d.clone()) })
            .collect();
        let mut out = Vec::new();
        red::build(96, &primary, &red_blocks, &mut out).unwrap();
        let s = red::split(&Bytes::from(out), 16).unwrap();
        prop_assert_eq!(s.redundant, red_blocks);
        prop_assert_eq!(&s.primary.data[..], &primary[..]);
        prop_assert_eq!(s.primary.payload_type, 96);
    }
}
