//! IVF, Ogg Opus, Annex B and OBU readers and writers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::container::annexb::{self, AccessUnits, NalSyntax};
use ferrtc_media_codecs::container::ivf::{self, IvfHeader, IvfReader};
use ferrtc_media_codecs::container::obu::{self, TemporalUnits};
use ferrtc_media_codecs::container::ogg::{
    self, OggOpusFile, OggOpusWriter, OggReader, OggWriter, OpusHead, OpusTags, Page,
};
use ferrtc_media_codecs::Error;
use proptest::prelude::*;

/// 0.3 s of a 440 Hz sine, made with
/// `ffmpeg -f lavfi -i sine=frequency=440:duration=0.3:sample_rate=48000 -c:a libopus -b:a 12k
/// -fflags +bitexact -map_metadata -1`: three pages, 16 packets, pre-skip 312, last granule
/// 14712 (312 + 14400: the end is trimmed to 0.3 s).
const FFMPEG_OPUS: &[u8] = include_bytes!("data/ffmpeg_sine_300ms.opus");

#[test]
fn ogg_crc_check_value() {
    // CRC-32/CKSUM (poly 0x04c11db7, init 0, not reflected, xorout 0xffffffff) of "123456789"
    // is 0x765e7680 in the CRC catalogue; the Ogg CRC is the same without the final xor.
    assert_eq!(ogg::crc_update(0, b"123456789"), 0x765e_7680 ^ 0xffff_ffff);
}

#[test]
fn ogg_crc_matches_ffmpeg_pages() {
    let file = Bytes::from_static(FFMPEG_OPUS);
    let mut off = 0;
    let mut pages = Vec::new();
    while off < file.len() {
        let stored = u32::from_le_bytes(file[off + 22..off + 26].try_into().unwrap());
        let (page, len) = Page::parse(&file, off).unwrap();
        assert_eq!(ogg::page_crc(&file[off..off + len]), stored);
        pages.push(page);
        off += len;
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].header_type, ogg::BOS);
    assert_eq!(pages[2].header_type, ogg::EOS);
    assert_eq!(pages[2].granule, 14712);
    // A flipped bit anywhere breaks the CRC.
    let mut bad = FFMPEG_OPUS.to_vec();
    bad[100] ^= 0x10;
    let err = Page::parse(&Bytes::from(bad), 47).unwrap_err(); // page 1: 27 + 1 + 19 bytes in
    assert!(
        matches!(
            err,
            Error::Invalid {
                reason: "CRC mismatch",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn ogg_opus_reads_ffmpeg_file() {
    let f = OggOpusFile::read(Bytes::from_static(FFMPEG_OPUS), 10_000).unwrap();
    assert_eq!(f.head.version, 1);
    assert_eq!(f.head.channels, 1);
    assert_eq!(f.head.pre_skip, 312);
    assert_eq!(f.head.input_sample_rate, 48_000);
    assert_eq!(f.head.mapping_family, 0);
    assert_eq!(f.tags.vendor, "ffmpeg");
    assert_eq!(f.tags.comments, vec!["encoder=Lavc libopus".to_string()]);
    assert_eq!(f.packets.len(), 16);
    assert_eq!(f.final_granule, 14712);
    // Packet lengths from the third page's lacing values.
    let lens: Vec<usize> = f.packets.iter().map(|p| p.len()).collect();
    assert_eq!(
        lens,
        [51, 44, 45, 47, 35, 40, 50, 48, 51, 47, 47, 54, 46, 41, 44, 25]
    );
}

#[test]
fn ogg_opus_write_back_and_granules() {
    let src = OggOpusFile::read(Bytes::from_static(FFMPEG_OPUS), 10_000).unwrap();
    for max_page in [255usize, 300, 4096] {
        let mut out = Vec::new();
        let mut w = OggOpusWriter::new(&src.head, &src.tags, 0x1234, max_page, &mut out);
        for p in &src.packets {
            w.write_packet(p, &mut out).unwrap();
        }
        // 16 packets of 20 ms = 15360 samples counted.
        assert_eq!(w.granule(), 15360);
        w.finish(Some(src.final_granule), &mut out);
        let back = OggOpusFile::read(Bytes::from(out.clone()), 10_000).unwrap();
        assert_eq!(back.head, src.head);
        assert_eq!(back.tags, src.tags);
        assert_eq!(back.packets, src.packets);
        assert_eq!(back.final_granule, 14712);
        // Page granules: the number of samples of the packets completed so far, 960 each.
        let mut r = OggReader::new(Bytes::from(out.clone()), 1 << 20);
        let mut n = 0u64;
        let mut pages_with_granule = 0;
        for (i, p) in (&mut r).enumerate() {
            let p = p.unwrap();
            if i < 2 {
                assert_eq!(p.granule, Some(0), "header pages have granule 0");
                continue;
            }
            n += 960;
            if let Some(g) = p.granule {
                pages_with_granule += 1;
                if !p.eos {
                    assert_eq!(g, n);
                }
            }
        }
        assert!(pages_with_granule >= 1);
        // Pages are bounded.
        let mut off = 0;
        let file = Bytes::from(out);
        while off < file.len() {
            let (page, len) = Page::parse(&file, off).unwrap();
            assert!(
                page.data.len() <= max_page.max(255),
                "{} > {max_page}",
                page.data.len()
            );
            off += len;
        }
    }
}

/// RFC 7845 §5.1 figure: "OpusHead", version 1, channel count, pre-skip (LE16), input sample
/// rate (LE32), output gain (LE16), mapping family. §5.2: "OpusTags", vendor length (LE32),
/// vendor, comment count (LE32), then length-prefixed comments.
#[test]
fn rfc7845_header_layout() {
    let head = OpusHead {
        version: 1,
        channels: 2,
        pre_skip: 0x0138,
        input_sample_rate: 44_100,
        output_gain: -256,
        mapping_family: 0,
        mapping: vec![],
    };
    let mut b = Vec::new();
    head.write_to(&mut b);
    assert_eq!(
        b,
        [
            b'O', b'p', b'u', b's', b'H', b'e', b'a', b'd', 1, 2, 0x38, 0x01, 0x44, 0xac, 0x00,
            0x00, 0x00, 0xff, 0
        ]
    );
    assert_eq!(OpusHead::parse(&b).unwrap(), head);
    let tags = OpusTags {
        vendor: "x".into(),
        comments: vec!["A=b".into()],
    };
    let mut t = Vec::new();
    tags.write_to(&mut t);
    assert_eq!(
        t,
        [
            b'O', b'p', b'u', b's', b'T', b'a', b'g', b's', 1, 0, 0, 0, b'x', 1, 0, 0, 0, 3, 0, 0,
            0, b'A', b'=', b'b'
        ]
    );
    assert_eq!(OpusTags::parse(&t, 10).unwrap(), tags);
    // Malformed: zero channels, family 0 with 3 channels, truncated, bad magic, too many tags.
    let mut z = b.clone();
    z[9] = 0;
    assert!(OpusHead::parse(&z).is_err());
    let mut z = b.clone();
    z[9] = 3;
    assert!(OpusHead::parse(&z).is_err());
    assert!(OpusHead::parse(&b[..18]).is_err());
    assert!(OpusHead::parse(b"OpusHeaX\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00").is_err());
    assert!(matches!(OpusTags::parse(&t, 0), Err(Error::Limit { .. })));
    assert!(OpusTags::parse(&t[..20], 10).is_err());
}

#[test]
fn ogg_large_packets_span_pages() {
    let packets: Vec<Vec<u8>> = vec![
        (0..70_000).map(|i| (i % 251) as u8).collect(),
        vec![],
        vec![7; 255],
        vec![8; 510],
        vec![9; 3],
    ];
    let mut out = Vec::new();
    let mut w = OggWriter::new(9, 4096);
    for (i, p) in packets.iter().enumerate() {
        w.write_packet(p, i as u64 * 10, &mut out);
    }
    w.finish(None, &mut out);
    let got: Vec<_> = OggReader::new(Bytes::from(out.clone()), 1 << 20)
        .map(|p| p.unwrap())
        .collect();
    assert_eq!(got.len(), packets.len());
    for (g, p) in got.iter().zip(&packets) {
        assert_eq!(&g.data[..], &p[..]);
    }
    assert!(got.last().unwrap().eos);
    // 70000 bytes need at least 18 pages of 4096 bytes.
    let mut off = 0;
    let mut count = 0;
    let file = Bytes::from(out.clone());
    while off < file.len() {
        let (page, len) = Page::parse(&file, off).unwrap();
        if count > 0 && count < 17 {
            assert_eq!(page.header_type & ogg::CONTINUED, ogg::CONTINUED);
            assert_eq!(
                page.granule,
                ogg::NO_GRANULE,
                "no packet ends on page {count}"
            );
        }
        off += len;
        count += 1;
    }
    assert!(count >= 18);
    // The packet size limit holds.
    let mut r = OggReader::new(Bytes::from(out), 1000);
    assert!(matches!(r.next(), Some(Err(Error::Limit { .. }))));
    assert!(r.next().is_none());
}

#[test]
fn ogg_malformed() {
    let file = Bytes::from_static(FFMPEG_OPUS);
    // Truncated file.
    let cut = file.slice(..file.len() - 10);
    assert!(OggOpusFile::read(cut, 100).is_err());
    // Page sequence gap: drop the second page.
    let (_, l0) = Page::parse(&file, 0).unwrap();
    let (_, l1) = Page::parse(&file, l0).unwrap();
    let mut gap = file[..l0].to_vec();
    gap.extend_from_slice(&file[l0 + l1..]);
    assert!(OggOpusFile::read(Bytes::from(gap), 100).is_err());
    // Not Ogg.
    assert!(OggOpusFile::read(Bytes::from_static(b"RIFF...."), 100).is_err());
    // Packet count limit.
    assert!(matches!(
        OggOpusFile::read(file, 10),
        Err(Error::Limit { .. })
    ));
}

#[test]
fn ivf_round_trip_and_layout() {
    let header = IvfHeader {
        fourcc: ivf::VP8,
        width: 320,
        height: 240,
        timebase_den: 30,
        timebase_num: 1,
        frame_count: 2,
    };
    let mut out = Vec::new();
    header.write_to(&mut out);
    assert_eq!(out.len(), 32);
    assert_eq!(
        out,
        [
            b'D', b'K', b'I', b'F', 0, 0, 32, 0, b'V', b'P', b'8', b'0', 0x40, 0x01, 0xf0, 0x00,
            30, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    ivf::write_frame(0, &[1, 2, 3], &mut out).unwrap();
    ivf::write_frame(0x1_0000_0001, &[], &mut out).unwrap();
    assert_eq!(&out[32..44], &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut r = IvfReader::new(Bytes::from(out.clone())).unwrap();
    assert_eq!(*r.header(), header);
    let f1 = r.next().unwrap().unwrap();
    assert_eq!((f1.timestamp, &f1.data[..]), (0, &[1u8, 2, 3][..]));
    let f2 = r.next().unwrap().unwrap();
    assert_eq!((f2.timestamp, f2.data.len()), (0x1_0000_0001, 0));
    assert!(r.next().is_none());
    // Truncated frame and header.
    let mut r = IvfReader::new(Bytes::from(out[..40].to_vec())).unwrap();
    assert!(matches!(r.next(), Some(Err(Error::Truncated { .. }))));
    assert!(r.next().is_none());
    let mut r = IvfReader::new(Bytes::from(out[..46].to_vec())).unwrap();
    assert!(matches!(r.next(), Some(Err(Error::Truncated { .. }))));
    assert!(IvfReader::new(Bytes::from(out[..31].to_vec())).is_err());
    let mut bad = out.clone();
    bad[0] = b'X';
    assert!(IvfReader::new(Bytes::from(bad)).is_err());
    let mut bad = out.clone();
    bad[6] = 16; // header size below 32
    assert!(IvfReader::new(Bytes::from(bad)).is_err());
}

fn annexb(nals: &[&[u8]], four: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(if four { &[0, 0, 0, 1] } else { &[0, 0, 1] });
        v.extend_from_slice(n);
    }
    v
}

#[test]
fn h264_access_units() {
    // SPS, PPS, IDR slice (first_mb 0: first bit 1), IDR slice (first_mb 1: ue '010'),
    // then a P slice with first_mb 0, SEI + P slice, AUD + P slice + end of stream.
    let sps: &[u8] = &[0x67, 0x42, 0xc0, 0x1e];
    let pps: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
    let idr0: &[u8] = &[0x65, 0x88, 0x84];
    let idr1: &[u8] = &[0x65, 0x40, 0x11];
    let p0: &[u8] = &[0x41, 0x9a, 0x02];
    let sei: &[u8] = &[0x06, 0x05, 0x01, 0x80];
    let p1: &[u8] = &[0x41, 0x9b, 0x03];
    let aud: &[u8] = &[0x09, 0xf0];
    let p2: &[u8] = &[0x41, 0x9c, 0x04];
    let eos: &[u8] = &[0x0b];
    let nals = [sps, pps, idr0, idr1, p0, sei, p1, aud, p2, eos];
    let stream = annexb(&nals, true);
    let aus: Vec<Bytes> = AccessUnits::new(Bytes::from(stream.clone()), NalSyntax::H264, 1 << 20)
        .map(|a| a.unwrap())
        .collect();
    assert_eq!(aus.len(), 4);
    let units: Vec<Vec<&[u8]>> = aus.iter().map(|a| annexb::nal_units(a).collect()).collect();
    assert_eq!(units[0], vec![sps, pps, idr0, idr1]);
    assert_eq!(units[1], vec![p0]);
    assert_eq!(units[2], vec![sei, p1]);
    assert_eq!(units[3], vec![aud, p2, eos]);
    // The access units tile the stream exactly.
    assert_eq!(aus.concat(), stream);
    // 3-byte start codes and trailing zeros.
    let mut s3 = annexb(&nals, false);
    s3.extend_from_slice(&[0, 0]);
    let n: Vec<&[u8]> = annexb::nal_units(&s3).collect();
    assert_eq!(n, nals.to_vec());
    let aus = AccessUnits::new(Bytes::from(s3), NalSyntax::H264, 1 << 20).count();
    assert_eq!(aus, 4);
    // Size limit.
    let mut it = AccessUnits::new(Bytes::from(stream), NalSyntax::H264, 8);
    assert!(matches!(it.next(), Some(Err(Error::Limit { .. }))));
    assert!(it.next().is_none());
}

#[test]
fn h265_access_units() {
    // VPS(32) SPS(33) PPS(34) IDR_W_RADL(19, first_slice flag 1) slice(19, flag 0),
    // TRAIL_R(1, flag 1) suffix SEI(40), AUD(35) TRAIL_R(1, flag 1).
    let vps: &[u8] = &[0x40, 0x01, 0x0c];
    let sps: &[u8] = &[0x42, 0x01, 0x01];
    let pps: &[u8] = &[0x44, 0x01, 0xc1];
    let idr_a: &[u8] = &[0x26, 0x01, 0xaf];
    let idr_b: &[u8] = &[0x26, 0x01, 0x2f];
    let trail: &[u8] = &[0x02, 0x01, 0xd0];
    let suffix: &[u8] = &[0x50, 0x01, 0x05];
    let aud: &[u8] = &[0x46, 0x01, 0x50];
    let trail2: &[u8] = &[0x02, 0x01, 0xd1];
    let stream = annexb(
        &[vps, sps, pps, idr_a, idr_b, trail, suffix, aud, trail2],
        true,
    );
    let aus: Vec<Bytes> = AccessUnits::new(Bytes::from(stream), NalSyntax::H265, 1 << 20)
        .map(|a| a.unwrap())
        .collect();
    let units: Vec<Vec<&[u8]>> = aus.iter().map(|a| annexb::nal_units(a).collect()).collect();
    assert_eq!(units.len(), 3);
    assert_eq!(units[0], vec![vps, sps, pps, idr_a, idr_b]);
    assert_eq!(units[1], vec![trail, suffix]);
    assert_eq!(units[2], vec![aud, trail2]);
}

fn obu(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![(t << 3) | 0x02];
    obu::write_leb128(payload.len() as u64, &mut v);
    v.extend_from_slice(payload);
    v
}

#[test]
fn obu_temporal_units() {
    let td = obu(2, &[]);
    let seq = obu(1, &[0, 0, 0, 0x40]);
    let frame = obu(6, &[0x10; 200]); // 200 bytes: two-byte leb128 size
    assert_eq!(&frame[1..3], &[0xc8, 0x01]);
    let frame2 = obu(6, &[0x20; 3]);
    let tu1 = [td.clone(), seq, frame].concat();
    let tu2 = [td.clone(), frame2].concat();
    let stream = [tu1.clone(), tu2.clone()].concat();
    let tus: Vec<Bytes> = TemporalUnits::new(Bytes::from(stream.clone()), 1 << 20)
        .map(|t| t.unwrap())
        .collect();
    assert_eq!(tus, vec![Bytes::from(tu1), Bytes::from(tu2)]);
    // Malformed: no size field, does not start with a TD, truncated payload, long leb128.
    assert!(obu::parse_obu(&[0x30, 0x00]).is_err());
    let mut it = TemporalUnits::new(Bytes::from(obu(6, &[1])), 100);
    assert!(matches!(it.next(), Some(Err(Error::Invalid { .. }))));
    let mut cut = stream.clone();
    cut.truncate(stream.len() - 1);
    assert!(TemporalUnits::new(Bytes::from(cut), 1 << 20).any(|t| t.is_err()));
    assert!(obu::read_leb128(&[0x80; 9]).is_err());
    assert!(matches!(
        TemporalUnits::new(Bytes::from(stream), 10).next(),
        Some(Err(Error::Limit { .. }))
    ));
    // Extension header: temporal_id 2, spatial_id 1.
    let h = obu::parse_obu(&[(6 << 3) | 0x06, (2 << 5) | (1 << 3), 1, 0xaa]).unwrap();
    assert_eq!(
        (h.temporal_id, h.spatial_id, h.header_len, h.size),
        (Some(2), Some(1), 3, 1)
    );
}

proptest! {
    #[test]
    fn leb128_round_trip(v in 0u64..(1 << 56)) {
        let mut b = Vec::new();
        obu::write_leb128(v, &mut b);
        prop_assert_eq!(obu::read_leb128(&b).unwrap(), (v, b.len()));
    }

    #[test]
    fn readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let b = Bytes::from(bytes);
        if let Ok(r) = IvfReader::new(b.clone()) { for f in r.take(100) { let _ = f; } }
        for p in OggReader::new(b.clone(), 4096).take(100) { let _ = p; }
        let _ = OggOpusFile::read(b.clone(), 100);
        for a in AccessUnits::new(b.clone(), NalSyntax::H264, 1 << 16).take(100) { let _ = a; }
        for a in AccessUnits::new(b.clone(), NalSyntax::H265, 1 << 16).take(100) { let _ = a; }
        for t in TemporalUnits::new(b.clone(), 1 << 16).take(100) { let _ = t; }
        let _ = OpusHead::parse(&b);
        let _ = OpusTags::parse(&b, 10);
    }

    #[test]
    fn ogg_round_trip(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..20),
        max_page in 255usize..5000,
    ) {
        let mut out = Vec::new();
        let mut w = OggWriter::new(1, max_page);
        for (i, p) in packets.iter().enumerate() {
            w.write_packet(p, i as u64, &mut out);
        }
        w.finish(None, &mut out);
        let got: Vec<Bytes> = OggReader::new(Bytes::from(out), 1 << 20).map(|p| p.unwrap().data).collect();
        prop_assert_eq!(got.len(), packets.len());
        for (g, p) in got.iter().zip(&packets) {
            prop_assert_eq!(&g[..], &p[..]);
        }
    }
}
