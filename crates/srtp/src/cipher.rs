//! Session crypto of one direction and one packet kind (SRTP or SRTCP): the session
//! keys derived from the master key, ready for per-packet use without allocation.

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
#[cfg(feature = "aws-lc")]
use aws_lc_rs::aead;
use hmac::{Hmac, Mac};
#[cfg(all(feature = "ring", not(feature = "aws-lc")))]
use ring::aead;
use sha1::Sha1;

#[cfg(not(any(feature = "aws-lc", feature = "ring")))]
compile_error!("ferrtc-srtp needs an AES-GCM backend: enable feature `aws-lc` (default) or `ring`");

use crate::error::{Error, PacketKind};

/// AES in counter mode, or nothing for the NULL profiles. Encrypt-only key schedules:
/// counter mode never decrypts a block.
// Contexts are few and long-lived; keeping the key schedule inline saves an indirection
// per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum CmAes {
    Null,
    Aes128(aes::Aes128Enc),
    Aes256(aes::Aes256Enc),
}

/// AES-CM (or NULL) + HMAC-SHA1 session keys (RFC 3711 §4.1.1, §4.2.1).
#[derive(Clone)]
pub(crate) struct CmSession {
    aes: CmAes,
    /// k_s, the 112-bit session salt.
    salt: [u8; 14],
    /// HMAC-SHA1 keyed with k_a: the inner and outer pads are already absorbed, so a
    /// packet costs a clone of two SHA-1 states.
    mac: Hmac<Sha1>,
}

impl CmSession {
    pub(crate) fn new(enc_key: Option<&[u8]>, salt: &[u8], auth_key: &[u8]) -> Option<Self> {
        let aes = match enc_key {
            None => CmAes::Null,
            Some(k) if k.len() == 16 => CmAes::Aes128(aes::Aes128Enc::new_from_slice(k).ok()?),
            Some(k) if k.len() == 32 => CmAes::Aes256(aes::Aes256Enc::new_from_slice(k).ok()?),
            Some(_) => return None,
        };
        let salt: [u8; 14] = salt.try_into().ok()?;
        let mac = <Hmac<Sha1> as Mac>::new_from_slice(auth_key).ok()?;
        Some(CmSession { aes, salt, mac })
    }

    /// XORs the AES-CM keystream for (SSRC, index) into `data`:
    /// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16) (RFC 3711 §4.1.1). For SRTCP,
    /// `index` is the 31-bit SRTCP index.
    #[inline]
    pub(crate) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        let iv = cm_iv(&self.salt, ssrc, index);
        match &self.aes {
            CmAes::Null => {}
            CmAes::Aes128(a) => {
                let core = ctr::CtrCore::<&aes::Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
                    a,
                    (&iv).into(),
                );
                StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
            }
            CmAes::Aes256(a) => {
                let core = ctr::CtrCore::<&aes::Aes256Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
                    a,
                    (&iv).into(),
                );
                StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
            }
        }
    }

    /// HMAC-SHA1(k_a, authenticated || trailer), the full 20 bytes (RFC 3711 §4.2.1).
    #[inline]
    pub(crate) fn tag(&self, authenticated: &[u8], trailer: &[u8]) -> [u8; 20] {
        let mut m = self.mac.clone();
        m.update(authenticated);
        m.update(trailer);
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of a (truncated) tag.
    #[inline]
    pub(crate) fn verify(&self, authenticated: &[u8], trailer: &[u8], received: &[u8]) -> bool {
        let full = self.tag(authenticated, trailer);
        ct_eq_prefix(&full, received)
    }
}

/// The 16-byte AES-CM counter block for (salt, SSRC, index).
#[inline]
pub(crate) fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    let mut hi = [0u8; 8];
    hi[4..8].copy_from_slice(&ssrc.to_be_bytes());
    let lo = (index << 16).to_be_bytes();
    let (a, b) = iv.split_at_mut(8);
    let (sa, sb) = salt.split_at(8);
    for ((o, s), x) in a.iter_mut().zip(sa).zip(hi) {
        *o = s ^ x;
    }
    // bytes 8..14 carry the 48-bit index; the last two are the block counter (0).
    for ((o, s), x) in b.iter_mut().zip(sb).zip(lo) {
        *o = s ^ x;
    }
    iv
}

fn ct_eq_prefix(full: &[u8; 20], received: &[u8]) -> bool {
    if received.is_empty() || received.len() > full.len() {
        return false;
    }
    let mut diff = 0u8;
    for (a, b) in full.iter().zip(received) {
        diff |= a ^ b;
    }
    diff == 0
}

/// AES-GCM session key and salt (RFC 7714), on aws-lc-rs or ring (same API shape).
pub(crate) struct GcmSession {
    key: aead::LessSafeKey,
    salt: [u8; 12],
}

impl GcmSession {
    pub(crate) fn new(key: &[u8], salt: &[u8]) -> Option<Self> {
        let alg = match key.len() {
            16 => &aead::AES_128_GCM,
            32 => &aead::AES_256_GCM,
            _ => return None,
        };
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?);
        let salt: [u8; 12] = salt.try_into().ok()?;
        Some(GcmSession { key, salt })
    }

    /// IV = (0x0000 || SSRC || ROC || SEQ) XOR salt for SRTP (RFC 7714 §8.1) and
    /// (0x0000 || SSRC || 0x0000 || 0 || SRTCP index) XOR salt for SRTCP (§9.1): both are
    /// the 48-bit index in the last six octets.
    #[inline]
    fn nonce(&self, ssrc: u32, index: u64) -> aead::Nonce {
        let mut iv = [0u8; 12];
        let s = ssrc.to_be_bytes();
        let i = index.to_be_bytes();
        let parts = [
            0, 0, s[0], s[1], s[2], s[3], i[2], i[3], i[4], i[5], i[6], i[7],
        ];
        for ((o, a), b) in iv.iter_mut().zip(self.salt).zip(parts) {
            *o = a ^ b;
        }
        aead::Nonce::assume_unique_for_key(iv)
    }

    /// Encrypts `data` in place and returns the 16-byte tag.
    #[inline]
    pub(crate) fn seal(
        &self,
        kind: PacketKind,
        ssrc: u32,
        index: u64,
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; 16], Error> {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(ssrc, index), aead::Aad::from(aad), data)
            .map_err(|_| Error::Crypto {
                kind,
                what: "AES-GCM seal refused the input length",
            })?;
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Verifies and decrypts `data` in place; on failure `data` is left as it was. Both
    /// backends overwrite their output when the tag does not match, so the plaintext is
    /// produced in `scratch` (grown to the largest packet seen, never shrunk) and copied
    /// back only once the tag has been verified.
    #[inline]
    pub(crate) fn open(
        &self,
        ssrc: u32,
        index: u64,
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
        scratch: &mut Vec<u8>,
    ) -> bool {
        if tag.len() != 16 {
            return false;
        }
        if scratch.len() < data.len() {
            scratch.resize(data.len(), 0);
        }
        let Some(out) = scratch.get_mut(..data.len()) else {
            return false;
        };
        if !self.open_to(self.nonce(ssrc, index), aad, data, tag, out) {
            return false;
        }
        data.copy_from_slice(out);
        true
    }

    /// Out of place: aws-lc decrypts from `ct` straight into `out`.
    #[cfg(feature = "aws-lc")]
    #[inline]
    fn open_to(
        &self,
        nonce: aead::Nonce,
        aad: &[u8],
        ct: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> bool {
        self.key
            .open_separate_gather(nonce, aead::Aad::from(aad), ct, tag, out)
            .is_ok()
    }

    /// ring only opens in place: copy, then open the copy.
    #[cfg(all(feature = "ring", not(feature = "aws-lc")))]
    #[inline]
    fn open_to(
        &self,
        nonce: aead::Nonce,
        aad: &[u8],
        ct: &[u8],
        tag: &[u8],
        out: &mut [u8],
    ) -> bool {
        let Ok(tag) = aead::Tag::try_from(tag) else {
            return false;
        };
        out.copy_from_slice(ct);
        self.key
            .open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, out, 0..)
            .is_ok()
    }
}

/// One direction's session crypto for one packet kind.
// Inline rather than boxed: one indirection less per packet, and contexts are few.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Session {
    Cm(CmSession),
    Gcm(GcmSession),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cm_iv_layout() {
        let salt = [
            0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
        ];
        assert_eq!(
            cm_iv(&salt, 0, 0),
            [
                0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
                0, 0
            ]
        );
        let iv = cm_iv(&[0; 14], 0x0102_0304, 0x0000_aabb_ccdd_eeff);
        assert_eq!(
            iv,
            [0, 0, 0, 0, 1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0]
        );
    }

    #[test]
    fn ct_compare() {
        let a = [7u8; 20];
        assert!(ct_eq_prefix(&a, &[7; 10]));
        assert!(!ct_eq_prefix(&a, &[7, 7, 8]));
        assert!(!ct_eq_prefix(&a, &[]));
    }
}
