//! SRTCP: protecting and unprotecting (compound) RTCP packets (RFC 3711 §3.4, AES-GCM per
//! RFC 7714 §9). The first 8 bytes stay in the clear; the rest is encrypted when the E
//! flag is set; the E flag and 31-bit SRTCP index, the MKI and the tag are appended.

use bytes::{BufMut, BytesMut};

use super::stream::{check_key_budget, check_replay, Stream};
use super::{be_u32, Context, E_FLAG, MAX_SRTCP_INDEX, SRTCP};
use crate::cipher::Session;
use crate::error::Error;

fn check_rtcp_header(packet: &[u8], need: usize) -> Result<(), Error> {
    if packet.len() < need {
        return Err(Error::TooShort {
            kind: SRTCP,
            what: "SRTCP header, index and tag",
            len: packet.len(),
            need,
        });
    }
    let v = packet.first().map_or(0, |b| b >> 6);
    if v != 2 {
        return Err(Error::BadVersion {
            kind: SRTCP,
            version: v,
        });
    }
    Ok(())
}

/// The AES-GCM associated data of an encrypted SRTCP packet: its first 8 bytes and the
/// E flag + index word (RFC 7714 §9.1).
fn gcm_aad(head: &[u8], word: u32) -> [u8; 12] {
    let mut aad = [0u8; 12];
    if let (Some(a), Some(h)) = (aad.get_mut(..8), head.get(..8)) {
        a.copy_from_slice(h);
    }
    if let Some(a) = aad.get_mut(8..) {
        a.copy_from_slice(&word.to_be_bytes());
    }
    aad
}

impl Context {
    /// Protects an RTCP packet (compound) in place: encrypts after the first 8 bytes and
    /// appends the E flag and SRTCP index, MKI and tag (RFC 3711 §3.4, RFC 7714 §9).
    pub fn protect_rtcp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        check_rtcp_header(buf, 8)?;
        let ssrc = be_u32(buf, 4);
        check_key_budget(SRTCP, self.srtcp_packets, self.config.max_srtcp_packets)?;
        let stream = self.stream_for_send(SRTCP, ssrc)?;
        if stream.rtcp_sent >= MAX_SRTCP_INDEX {
            return Err(Error::KeyExhausted {
                kind: SRTCP,
                packets: u64::from(MAX_SRTCP_INDEX),
            });
        }
        // libsrtp numbers the first SRTCP packet 1; we do the same so outputs match.
        stream.rtcp_sent += 1;
        let index = stream.rtcp_sent;
        let encrypt = self.profile.encrypts();
        let word = if encrypt { E_FLAG | index } else { index };
        let tag_len = self.profile.rtcp_tag_len();
        buf.reserve(4 + self.mki_len() + tag_len);
        match &self.rtcp {
            Session::Cm(s) => {
                if encrypt {
                    if let Some(body) = buf.get_mut(8..) {
                        s.apply_keystream(ssrc, u64::from(index), body);
                    }
                }
                buf.put_u32(word);
                let tag = s.tag(buf, &[]);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
                buf.extend_from_slice(tag.get(..tag_len).unwrap_or(&tag));
            }
            Session::Gcm(s) => {
                let aad = gcm_aad(buf, word);
                let body = buf.get_mut(8..).unwrap_or_default();
                let tag = s.seal(SRTCP, ssrc, u64::from(index), &aad, body)?;
                buf.extend_from_slice(&tag);
                buf.put_u32(word);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
            }
        }
        self.srtcp_packets += 1;
        Ok(())
    }

    /// Authenticates and (if the E flag is set) decrypts an SRTCP packet in place,
    /// stripping index, MKI and tag. On error `buf` is unchanged.
    pub fn unprotect_rtcp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let tag_len = self.profile.rtcp_tag_len();
        let mki_len = self.mki_len();
        let len = buf.len();
        check_rtcp_header(buf, 8 + 4 + tag_len + mki_len)?;
        let ssrc = be_u32(buf, 4);
        // Layouts: AES-CM: header | body | E+index | MKI | tag
        //          GCM:    header | body | tag | E+index | MKI
        let (word_at, mki_at, tag_at, plain_end) = match self.rtcp {
            Session::Cm(_) => {
                let tag_at = len - tag_len;
                let mki_at = tag_at - mki_len;
                (mki_at - 4, mki_at, tag_at, mki_at - 4)
            }
            Session::Gcm(_) => {
                let mki_at = len - mki_len;
                let word_at = mki_at - 4;
                (word_at, mki_at, word_at - tag_len, word_at - tag_len)
            }
        };
        let word = be_u32(buf, word_at);
        let encrypted = word & E_FLAG != 0;
        let index = word & MAX_SRTCP_INDEX;
        self.check_mki(SRTCP, buf.get(mki_at..mki_at + mki_len).unwrap_or_default())?;
        check_key_budget(SRTCP, self.srtcp_packets, self.config.max_srtcp_packets)?;
        let limit = self.config.max_streams;
        let stream = self.streams.get(&ssrc);
        if stream.is_none() && self.streams.len() >= limit {
            return Err(Error::TooManyStreams {
                kind: SRTCP,
                ssrc,
                limit,
            });
        }
        if let Some(s) = stream {
            check_replay(SRTCP, ssrc, &s.rtcp, u64::from(index), false)?;
        }
        let auth_failed = Error::AuthFailed {
            kind: SRTCP,
            ssrc,
            index: u64::from(index),
        };
        match &self.rtcp {
            Session::Cm(s) => {
                let (authed, rest) = buf.split_at_mut(mki_at);
                let tag = rest.get(tag_at - mki_at..).unwrap_or_default();
                if !s.verify(authed, &[], tag) {
                    return Err(auth_failed);
                }
                if encrypted {
                    if let Some(body) = authed.get_mut(8..plain_end) {
                        s.apply_keystream(ssrc, u64::from(index), body);
                    }
                }
            }
            Session::Gcm(s) => {
                let (head, rest) = buf.split_at_mut(tag_at);
                let tag = rest.get(..tag_len).unwrap_or_default();
                if encrypted {
                    let aad = gcm_aad(head, word);
                    let body = head.get_mut(8..).unwrap_or_default();
                    if !s.open(ssrc, u64::from(index), &aad, body, tag, &mut self.scratch) {
                        return Err(auth_failed);
                    }
                } else {
                    // Unencrypted: the whole packet and the index word are the AAD
                    // (RFC 7714 §9.2), which are not contiguous on the wire.
                    self.scratch.clear();
                    self.scratch.extend_from_slice(head);
                    self.scratch.extend_from_slice(&word.to_be_bytes());
                    if !s.open(
                        ssrc,
                        u64::from(index),
                        &self.scratch,
                        &mut [],
                        tag,
                        &mut Vec::new(),
                    ) {
                        return Err(auth_failed);
                    }
                }
            }
        }
        buf.truncate(plain_end);
        let config = &self.config;
        self.streams
            .entry(ssrc)
            .or_insert_with(|| Stream::new(config))
            .rtcp
            .accept(u64::from(index));
        self.srtcp_packets += 1;
        Ok(())
    }
}
