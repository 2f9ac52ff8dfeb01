//! The nom ChannelData parser and stream framer against the hand-written code they replaced
//! (`ferrtc_turn_client::legacy`, feature `legacy-parser`): fuzz seeds, ChannelData on every
//! channel edge with padding and without, a stream mixing STUN and ChannelData, the same cut
//! at every length and with single bytes changed, and random inputs. Any difference fails
//! (issue 14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_turn_client::{legacy, ChannelData};
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let mut stream = Vec::new();
    for (channel, len) in [(0x4000u16, 0usize), (0x4001, 1), (0x4abc, 4), (0x4fff, 7)] {
        let cd = ChannelData {
            channel,
            data: Bytes::from(vec![0x5a; len]),
        };
        for pad in [false, true] {
            let mut v = Vec::new();
            cd.write_to(pad, &mut v);
            out.push(v);
        }
        cd.write_to(true, &mut stream);
        stream.extend_from_slice(
            &ferrtc_stun::MessageBuilder::new(
                ferrtc_stun::MessageType::new(
                    ferrtc_stun::Method::DATA,
                    ferrtc_stun::Class::Indication,
                ),
                ferrtc_stun::TransactionId([len as u8; 12]),
            )
            .build(),
        );
    }
    out.push(stream);
    out
}

#[test]
fn every_seed_and_built_frame_parses_the_same() {
    let corpus = corpus();
    assert!(corpus.len() >= 12, "only {} inputs", corpus.len());
    for bytes in &corpus {
        legacy::check(bytes);
    }
    // The built ChannelData must parse, or the comparison proves little.
    let ok = corpus
        .iter()
        .filter(|b| ChannelData::parse(Bytes::from((*b).clone())).is_ok())
        .count();
    assert!(ok >= 8, "{ok} parsed");
}

#[test]
fn every_prefix_and_single_byte_change() {
    for bytes in corpus() {
        for n in 0..=bytes.len() {
            legacy::check(&bytes[..n]);
        }
        for i in 0..bytes.len().min(64) {
            for v in [0x00, 0x01, 0x3f, 0x40, 0x4f, 0x50, 0x80, 0xff] {
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
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..80)) {
        legacy::check(&data);
    }

    /// A ChannelData-looking header with a length near the real one.
    #[test]
    fn random_channel_data(
        channel in 0x3ff0u16..0x5010,
        skew in -5i32..5,
        body in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let len = (body.len() as i32 + skew).max(0) as u16;
        let mut data = channel.to_be_bytes().to_vec();
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(&body);
        legacy::check(&data);
    }
}
