//! SRTP: protecting and unprotecting RTP packets (RFC 3711 §3.1 and §3.3, AES-GCM per
//! RFC 7714 §7-8). The RTP header stays in the clear and is authenticated; the payload
//! is encrypted; the MKI and the authentication tag are appended.

use bytes::BytesMut;

use super::stream::{check_key_budget, check_replay, srtp_index, Stream};
use super::{be_u16, be_u32, Context, SRTP};
use crate::cipher::Session;
use crate::error::Error;

/// Length of the RTP header including CSRCs and the header extension (RFC 3550 §5.1,
/// §5.3.1), checked against `packet`. SRTP leaves exactly this part unencrypted.
#[inline]
fn rtp_header_len(packet: &[u8]) -> Result<usize, Error> {
    let short = |what, need| Error::TooShort {
        kind: SRTP,
        what,
        len: packet.len(),
        need,
    };
    let Some(&b0) = packet.first() else {
        return Err(short("RTP fixed header", 12));
    };
    if packet.len() < 12 {
        return Err(short("RTP fixed header", 12));
    }
    if b0 >> 6 != 2 {
        return Err(Error::BadVersion {
            kind: SRTP,
            version: b0 >> 6,
        });
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let ext = packet
            .get(len..len + 4)
            .ok_or(short("RTP header extension header", len + 4))?;
        let words = usize::from(u16::from_be_bytes([
            ext.get(2).copied().unwrap_or(0),
            ext.get(3).copied().unwrap_or(0),
        ]));
        len += 4 + 4 * words;
    }
    if packet.len() < len {
        return Err(short("RTP header with CSRCs and extension", len));
    }
    Ok(len)
}

impl Context {
    /// Protects an RTP packet in place: encrypts the payload and appends MKI and tag.
    pub fn protect_rtp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let hlen = rtp_header_len(buf)?;
        let seq = be_u16(buf, 2);
        let ssrc = be_u32(buf, 8);
        check_key_budget(SRTP, self.srtp_packets, self.config.max_srtp_packets)?;
        let allow_repeat = self.config.allow_repeat_tx;
        let stream = self.stream_for_send(SRTP, ssrc)?;
        let (highest, window) = (stream.rtp.highest(), stream.rtp.size());
        let index = srtp_index(ssrc, seq, highest, stream.initial_roc, window)?;
        check_replay(SRTP, ssrc, &stream.rtp, index, allow_repeat)?;
        stream.rtp.accept(index);
        let roc = ((index >> 16) as u32).to_be_bytes();
        let tag_len = self.profile.rtp_tag_len();
        buf.reserve(self.mki_len() + tag_len);
        match &self.rtp {
            Session::Cm(s) => {
                if let Some(payload) = buf.get_mut(hlen..) {
                    s.apply_keystream(ssrc, index, payload);
                }
                let tag = s.tag(buf, &roc);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
                buf.extend_from_slice(tag.get(..tag_len).unwrap_or(&tag));
            }
            Session::Gcm(s) => {
                let (hdr, payload) = buf.split_at_mut(hlen);
                let tag = s.seal(SRTP, ssrc, index, hdr, payload)?;
                buf.extend_from_slice(&tag);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
            }
        }
        self.srtp_packets += 1;
        Ok(())
    }

    /// Authenticates and decrypts an SRTP packet in place, stripping MKI and tag. The
    /// tag is verified before anything is written; on error `buf` is unchanged.
    pub fn unprotect_rtp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let tag_len = self.profile.rtp_tag_len();
        let mki_len = self.mki_len();
        let len = buf.len();
        let need = 12 + tag_len + mki_len;
        if len < need {
            return Err(Error::TooShort {
                kind: SRTP,
                what: "SRTP header, MKI and tag",
                len,
                need,
            });
        }
        // Where the authenticated portion ends and where the plaintext will end.
        let (auth_end, plain_end, mki_at) = match self.rtp {
            Session::Cm(_) => (
                len - tag_len - mki_len,
                len - tag_len - mki_len,
                len - tag_len - mki_len,
            ),
            Session::Gcm(_) => (len - mki_len, len - mki_len - tag_len, len - mki_len),
        };
        let packet = buf.get(..plain_end).unwrap_or_default();
        let hlen = rtp_header_len(packet)?;
        let seq = be_u16(buf, 2);
        let ssrc = be_u32(buf, 8);
        self.check_mki(SRTP, buf.get(mki_at..mki_at + mki_len).unwrap_or_default())?;
        check_key_budget(SRTP, self.srtp_packets, self.config.max_srtp_packets)?;
        let limit = self.config.max_streams;
        // One hash probe per packet: the stream's state is updated through this borrow after
        // the tag checks (the map is not touched in between).
        let at_limit = self.streams.len() >= limit;
        let stream = self.streams.get_mut(&ssrc);
        if stream.is_none() && at_limit {
            return Err(Error::TooManyStreams {
                kind: SRTP,
                ssrc,
                limit,
            });
        }
        let (highest, initial_roc, window) = match stream.as_deref() {
            Some(s) => (s.rtp.highest(), s.initial_roc, s.rtp.size()),
            None => (None, 0, 0),
        };
        let index = srtp_index(ssrc, seq, highest, initial_roc, window)?;
        if let Some(s) = stream.as_deref() {
            check_replay(SRTP, ssrc, &s.rtp, index, false)?;
        }
        let roc = ((index >> 16) as u32).to_be_bytes();
        let auth_failed = Error::AuthFailed {
            kind: SRTP,
            ssrc,
            index,
        };
        match &self.rtp {
            Session::Cm(s) => {
                let (authed, rest) = buf.split_at_mut(auth_end);
                let tag = rest.get(mki_len..).unwrap_or_default();
                if !s.verify(authed, &roc, tag) {
                    return Err(auth_failed);
                }
                if let Some(payload) = authed.get_mut(hlen..) {
                    s.apply_keystream(ssrc, index, payload);
                }
            }
            Session::Gcm(s) => {
                let (hdr, rest) = buf.split_at_mut(hlen);
                let (ct, rest) = rest.split_at_mut(plain_end - hlen);
                let tag = rest.get(..tag_len).unwrap_or_default();
                if !s.open(ssrc, index, hdr, ct, tag, &mut self.scratch) {
                    return Err(auth_failed);
                }
            }
        }
        buf.truncate(plain_end);
        match stream {
            Some(s) => s.rtp.accept(index),
            None => {
                let mut s = Stream::new(&self.config);
                s.rtp.accept(index);
                self.streams.insert(ssrc, s);
            }
        }
        self.srtp_packets += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_len() {
        let mut p = vec![0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(rtp_header_len(&p), Ok(12));
        p[0] = 0x82; // 2 CSRCs
        assert!(rtp_header_len(&p).is_err());
        p.extend_from_slice(&[0; 8]);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x90;
        assert_eq!(rtp_header_len(&p), Ok(16));
        p[15] = 5; // extension of 5 words does not fit
        assert!(rtp_header_len(&p).is_err());
        p.truncate(12);
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x40;
        assert!(matches!(rtp_header_len(&p), Err(Error::BadVersion { .. })));
    }
}
