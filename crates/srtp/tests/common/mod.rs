#![allow(dead_code)]
use bytes::BytesMut;
use ferrtc_srtp::{Config, Context, ProtectionProfile};

pub fn pair(p: ProtectionProfile, config: Config) -> (Context, Context) {
    let key: Vec<u8> = (0..p.key_len() as u8)
        .map(|i| i.wrapping_mul(7) ^ 0x5a)
        .collect();
    let salt: Vec<u8> = (0..p.salt_len() as u8)
        .map(|i| i.wrapping_mul(13) ^ 0xa5)
        .collect();
    (
        Context::new(p, &key, &salt, config.clone()).unwrap(),
        Context::new(p, &key, &salt, config).unwrap(),
    )
}

pub fn rtp(ssrc: u32, seq: u16, payload_len: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(12 + payload_len + 64);
    b.extend_from_slice(&[0x80, 96]);
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    b.extend_from_slice(&ssrc.to_be_bytes());
    b.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    b
}

pub fn rtcp(ssrc: u32, body_len: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(8 + body_len + 64);
    let words = ((8 + body_len) / 4 - 1) as u16;
    b.extend_from_slice(&[0x80, 201]);
    b.extend_from_slice(&words.to_be_bytes());
    b.extend_from_slice(&ssrc.to_be_bytes());
    b.extend((0..body_len).map(|i| i as u8));
    b
}
