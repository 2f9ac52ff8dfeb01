//! The nom parser against the hand-written one it replaced (tests/legacy): every vector and
//! captured packet of tests/data, the same packets cut at every length and with every single
//! byte changed, and random inputs. Any difference in a parsed value or an error fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod legacy;

use proptest::prelude::*;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/rtp_rtcp_packets.json")).unwrap();
    for v in v["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        if name.starts_with("rtp_") {
            out.push((
                name.to_owned(),
                hex::decode(v["packet_hex"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    for l in include_str!("data/captured_rtp.txt").lines() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let (name, hex) = l.split_once(' ').unwrap();
        out.push((name.to_owned(), hex::decode(hex.trim()).unwrap()));
    }
    out
}

#[test]
fn every_vector_and_capture_parses_the_same() {
    let corpus = corpus();
    assert!(corpus.len() >= 4, "only {} inputs", corpus.len());
    let mut parsed = 0;
    for (name, bytes) in &corpus {
        println!("{name}");
        legacy::check(bytes);
        parsed += usize::from(ferrtc_rtp::RtpPacket::parse(bytes.clone().into()).is_ok());
    }
    // The corpus is real packets: nearly all must parse, or the comparison proves little.
    assert!(
        parsed * 10 >= corpus.len() * 9,
        "{parsed} of {}",
        corpus.len()
    );
}

#[test]
fn every_prefix_and_every_byte_changed() {
    for (_, bytes) in corpus() {
        for n in 0..=bytes.len() {
            legacy::check(&bytes[..n]);
        }
        for i in 0..bytes.len().min(64) {
            for v in [0x00, 0x0f, 0x10, 0x1f, 0x20, 0xbe, 0xde, 0xf0, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                legacy::check(&b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..96)) {
        legacy::check(&data);
    }

    /// Random packets with a valid start: version 2, the X bit set and a one-byte or two-byte
    /// block announced, so the extension walk is reached often.
    #[test]
    fn random_extension_blocks(
        b0 in 0u8..0x40,
        profile in prop::sample::select(vec![0xbede_u16, 0x1000, 0x100f, 0x1234]),
        words in 0u16..6,
        body in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut data = vec![0x80 | 0x10 | (b0 & 0x2f), 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        data.extend_from_slice(&profile.to_be_bytes());
        data.extend_from_slice(&words.to_be_bytes());
        data.extend_from_slice(&body);
        legacy::check(&data);
    }
}
