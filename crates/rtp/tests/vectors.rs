//! The RTP vectors of rtp_rtcp_packets.json and real captured packets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtp::values::ExtensionValue;
use ferrtc_rtp::values::{AbsSendTime, TransportCc, TRANSPORT_CC_01_URI};
use ferrtc_rtp::{ExtensionForm, ExtensionMap, RtpHeader, RtpPacket};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/rtp_rtcp_packets.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn field(v: &Value, name: &str) -> u64 {
    v["full_decoding_computed"][name]
        .as_u64()
        .or_else(|| v["expected_fields"][name].as_u64())
        .unwrap_or_else(|| panic!("{}: no field {name}", v["name"]))
}

#[test]
fn every_rtp_vector() {
    let mut n = 0;
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        if !name.starts_with("rtp_") {
            continue;
        }
        n += 1;
        let raw = Bytes::from(hex::decode(v["packet_hex"].as_str().unwrap()).unwrap());
        let p = RtpPacket::parse(raw.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            u64::from(p.header.payload_type),
            field(&v, "payload_type"),
            "{name}"
        );
        assert_eq!(
            u64::from(p.header.sequence_number),
            field(&v, "sequence_number"),
            "{name}"
        );
        assert_eq!(
            u64::from(p.header.timestamp),
            field(&v, "timestamp"),
            "{name}"
        );
        assert_eq!(u64::from(p.header.ssrc), field(&v, "ssrc"), "{name}");
        if let Some(hl) = v["expected_fields"]["header_length"].as_u64() {
            assert_eq!(p.header.encoded_len() as u64, hl, "{name}");
        }
        if let Some(m) = v["full_decoding_computed"]["marker"].as_u64() {
            assert_eq!(u64::from(p.header.marker), m, "{name}");
        }
        if let Some(text) = v["expected_fields"]["payload_ascii"].as_str() {
            assert_eq!(&p.payload[..], text.as_bytes(), "{name}");
        }
        let (h, info) = RtpHeader::parse(&raw).unwrap();
        assert_eq!(h, p.header);
        assert_eq!(info.header_len, p.header.encoded_len());
        assert_eq!(p.to_bytes(), raw, "{name}: re-serialization differs");
    }
    assert_eq!(n, 2, "the vector file has two RTP packets");
}

fn captured() -> Vec<(String, Bytes)> {
    include_str!("data/captured_rtp.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            (
                name.to_owned(),
                Bytes::from(hex::decode(hex.trim()).unwrap()),
            )
        })
        .collect()
}

#[test]
fn captured_packets_round_trip_byte_for_byte() {
    let map = ExtensionMap::from_pairs([(2, AbsSendTime::URI), (4, TRANSPORT_CC_01_URI)]).unwrap();
    let caps = captured();
    assert_eq!(caps.len(), 2);
    for (name, raw) in caps {
        let p = RtpPacket::parse(raw.clone()).unwrap();
        assert_eq!(p.to_bytes(), raw, "{name}");
        assert_eq!(p.encoded_len(), raw.len());
        assert_eq!(p.header.ssrc, 0xf7b1_6e83);
        assert_eq!(p.header.payload_type, 45);
        let ext = p.header.extensions.as_ref().unwrap();
        assert_eq!(ext.form(), ExtensionForm::OneByte);
        let k = map.read(ext);
        match name.as_str() {
            "chrome_audio_3ext" => {
                assert_eq!(p.header.sequence_number, 6751);
                assert_eq!(p.header.timestamp, 3_557_360_969);
                assert!(!p.header.marker);
                assert_eq!(k.abs_send_time, Some(AbsSendTime(0xf34350)));
                assert_eq!(k.transport_cc.unwrap().sequence_number, 0x009b);
                assert_eq!(ext.get(13), Some(&[0x81, 0x00, 0x45][..]));
                assert_eq!(ext.iter().count(), 3);
            }
            "chrome_video_7ext" => {
                assert_eq!(p.header.sequence_number, 6612);
                assert!(p.header.marker);
                assert_eq!(k.abs_send_time, Some(AbsSendTime(0xea432b)));
                assert_eq!(
                    k.transport_cc,
                    Some(TransportCc {
                        sequence_number: 4,
                        feedback_request: None
                    })
                );
                let ids: Vec<u8> = ext.iter().map(|e| e.unwrap().id).collect();
                assert_eq!(ids, [2, 4, 9, 3, 6, 7, 13]);
                assert_eq!(
                    ext.get(7),
                    Some(&hex::decode("0100030009000a002300000000").unwrap()[..])
                );
            }
            other => panic!("unexpected capture {other}"),
        }
    }
}

#[test]
fn truncated_headers_error() {
    let mut all: Vec<Bytes> = captured().into_iter().map(|(_, b)| b).collect();
    for v in vectors() {
        if v["name"].as_str().unwrap().starts_with("rtp_") {
            all.push(Bytes::from(
                hex::decode(v["packet_hex"].as_str().unwrap()).unwrap(),
            ));
        }
    }
    for raw in all {
        let hlen = RtpPacket::parse(raw.clone()).unwrap().header.encoded_len();
        for cut in 0..raw.len() {
            let r = RtpPacket::parse(raw.slice(..cut));
            if cut < hlen {
                assert!(r.is_err(), "cut at {cut} of a {hlen}-byte header parsed");
            }
        }
    }
}
