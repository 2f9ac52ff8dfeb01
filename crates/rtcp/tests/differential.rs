//! The nom parser against the hand-written one it replaced (`ferrtc_rtcp::legacy`, feature
//! `legacy-parser`): every vector and capture of tests/data (and the fuzz seeds copied there),
//! each cut at every length and with single bytes changed, packets of every type built and
//! written by the crate, and random datagrams, under all three modes. Any difference in a
//! parsed value or an error fails (issue 14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::{legacy, Limits, Mode, RtcpPacket};
use proptest::prelude::*;

/// Both parsers on the same datagram, in every mode and packet by packet.
fn check(data: &[u8]) {
    let raw = Bytes::copy_from_slice(data);
    for mode in [Mode::ReducedSize, Mode::Compound, Mode::StrictCompound] {
        for max_packets in [64, 2] {
            let limits = Limits { max_packets };
            assert_eq!(
                ferrtc_rtcp::parse_with(raw.clone(), mode, limits),
                legacy::parse_with(raw.clone(), mode, limits),
                "{mode:?} {max_packets}: {}",
                hex::encode(data)
            );
        }
    }
    assert_eq!(
        RtcpPacket::parse_one(&raw, 7),
        legacy::parse_one(&raw, 7),
        "parse_one: {}",
        hex::encode(data)
    );
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/rtp_rtcp_packets.json")).unwrap();
    for v in v["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        if !name.starts_with("rtp_") {
            out.push((
                name.to_owned(),
                hex::decode(v["packet_hex"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    for l in include_str!("data/captured_rtcp.txt").lines() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let (name, hex) = l.split_once(' ').unwrap();
        out.push((name.to_owned(), hex::decode(hex.trim()).unwrap()));
    }
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds")).unwrap() {
        let e = e.unwrap();
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        ));
    }
    out
}

#[test]
fn every_vector_capture_and_seed_parses_the_same() {
    let corpus = corpus();
    assert!(corpus.len() >= 15, "only {} inputs", corpus.len());
    let mut parsed = 0;
    for (name, bytes) in &corpus {
        println!("{name}");
        check(bytes);
        parsed += usize::from(ferrtc_rtcp::parse(Bytes::copy_from_slice(bytes)).is_ok());
    }
    // Real packets: nearly all must parse, or the comparison proves little.
    assert!(
        parsed * 10 >= corpus.len() * 7,
        "{parsed} of {}",
        corpus.len()
    );
}

#[test]
fn every_prefix_and_changed_byte() {
    for (_, bytes) in corpus() {
        for n in 0..=bytes.len() {
            check(&bytes[..n]);
        }
        for i in 0..bytes.len().min(48) {
            for v in [
                0x00, 0x01, 0x20, 0x7f, 0x80, 0xa0, 0xc8, 0xca, 0xcd, 0xce, 0xff,
            ] {
                let mut b = bytes.clone();
                b[i] = v;
                check(&b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_datagrams(data in prop::collection::vec(any::<u8>(), 0..128)) {
        check(&data);
    }

    /// A valid common header of every packet type this crate decodes (version 2, a length
    /// that fits), then random body bytes: reaches every per-type grammar.
    #[test]
    fn random_bodies(
        pt in prop::sample::select(vec![200u8, 201, 202, 203, 204, 205, 206, 207, 210]),
        count in 0u8..32,
        padded in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let words = body.len() / 4;
        let mut data = vec![0x80 | if padded { 0x20 } else { 0 } | count, pt];
        data.extend_from_slice(&(words as u16).to_be_bytes());
        data.extend_from_slice(&body[..4 * words]);
        check(&data);
    }
}
