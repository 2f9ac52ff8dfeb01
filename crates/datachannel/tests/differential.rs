//! The nom DCEP parser against the hand-written one it replaced (`ferrtc_datachannel::legacy`,
//! feature `legacy-parser`): fuzz seeds, OPEN messages of every channel type with ASCII and
//! non-ASCII labels, the same cut at every length and with single bytes changed, and random
//! inputs. Any difference in a parsed message or an error fails (issue 14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_datachannel::dcep::{Message, Open};
use ferrtc_datachannel::{legacy, ChannelType};
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.push(Message::Ack.to_bytes().to_vec());
    for (i, channel_type) in [
        ChannelType::Reliable,
        ChannelType::PartialReliableRexmit,
        ChannelType::PartialReliableTimed,
    ]
    .into_iter()
    .enumerate()
    {
        for (label, protocol) in [("", ""), ("chat", "json"), ("données", "协议")] {
            let open = Open {
                channel_type,
                unordered: i == 1,
                priority: 256,
                reliability_parameter: 3000,
                label: label.to_owned(),
                protocol: protocol.to_owned(),
            };
            out.push(Message::Open(open).to_bytes().to_vec());
        }
    }
    out
}

#[test]
fn every_seed_and_built_message_parses_the_same() {
    let corpus = corpus();
    assert!(corpus.len() >= 10, "only {} inputs", corpus.len());
    let mut parsed = 0;
    for bytes in &corpus {
        legacy::check(bytes);
        parsed += usize::from(Message::parse(&Bytes::from(bytes.clone())).is_ok());
    }
    assert!(
        parsed * 10 >= corpus.len() * 9,
        "{parsed} of {}",
        corpus.len()
    );
}

#[test]
fn every_prefix_and_single_byte_change() {
    for bytes in corpus() {
        for n in 0..=bytes.len() {
            legacy::check(&bytes[..n]);
        }
        for i in 0..bytes.len() {
            for v in [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x83, 0xc3, 0xff] {
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
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        legacy::check(&data);
    }

    /// OPEN headers with random fields and small lengths, then random bytes.
    #[test]
    fn random_open(
        ct in any::<u8>(),
        label_len in 0u16..12,
        proto_len in 0u16..12,
        body in prop::collection::vec(any::<u8>(), 0..30),
    ) {
        let mut data = vec![0x03, ct, 1, 0, 0, 0, 0, 5];
        data.extend_from_slice(&label_len.to_be_bytes());
        data.extend_from_slice(&proto_len.to_be_bytes());
        data.extend_from_slice(&body);
        legacy::check(&data);
    }
}
