//! Key derivation (RFC 3711 §4.3) with the AES-CM PRF (§4.3.3), key derivation rate 0.
//!
//! With KDR 0 the session keys are derived once per master key (r = 0), so the
//! key_id is just the label in the high octet of a 56-bit value.

use aes::cipher::{KeyIvInit, StreamCipher};

/// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Label {
    /// k_e for SRTP.
    SrtpEncryption = 0x00,
    /// k_a for SRTP.
    SrtpAuth = 0x01,
    /// k_s for SRTP.
    SrtpSalt = 0x02,
    /// k_e for SRTCP.
    SrtcpEncryption = 0x03,
    /// k_a for SRTCP.
    SrtcpAuth = 0x04,
    /// k_s for SRTCP.
    SrtcpSalt = 0x05,
}

/// Fills `out` with PRF_n(k_master, x): the AES-CM keystream under the master key with
/// IV = (key_id XOR master_salt) * 2^16 (RFC 3711 §4.3.1 and §4.3.3).
///
/// `master_salt` may be 14 bytes (AES-CM profiles) or 12 bytes (GCM profiles, RFC 7714 §11,
/// where the 96-bit salt is left-aligned and zero-padded to 112 bits, as libsrtp does).
/// The master key is 16 or 32 bytes (AES-128 or AES-256 PRF, RFC 6188 §3).
/// Returns false if the key or salt length is not one of those.
pub fn derive(master_key: &[u8], master_salt: &[u8], label: Label, out: &mut [u8]) -> bool {
    let mut iv = [0u8; 16];
    let Some(dst) = iv.get_mut(..master_salt.len()) else {
        return false;
    };
    if master_salt.len() > 14 {
        return false;
    }
    dst.copy_from_slice(master_salt);
    // key_id = label || r (r = 0 with KDR 0) is 56 bits, right-aligned under the
    // 112-bit salt: the label lands in octet 7.
    if let Some(b) = iv.get_mut(7) {
        *b ^= label as u8;
    }
    out.fill(0);
    match master_key.len() {
        16 => match ctr::Ctr128BE::<aes::Aes128>::new_from_slices(master_key, &iv) {
            Ok(mut c) => c.apply_keystream(out),
            Err(_) => return false,
        },
        32 => match ctr::Ctr128BE::<aes::Aes256>::new_from_slices(master_key, &iv) {
            Ok(mut c) => c.apply_keystream(out),
            Err(_) => return false,
        },
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3() {
        let mk = h("e1f97a0d3e018be0d64fa32c06de4139");
        let ms = h("0ec675ad498afeebb6960b3aabe6");
        let mut k = [0u8; 16];
        assert!(derive(&mk, &ms, Label::SrtpEncryption, &mut k));
        assert_eq!(k.to_vec(), h("c61e7a93744f39ee10734afe3ff7a087"));
        let mut s = [0u8; 14];
        assert!(derive(&mk, &ms, Label::SrtpSalt, &mut s));
        assert_eq!(s.to_vec(), h("30cbbc08863d8c85d49db34a9ae1"));
        let mut a = [0u8; 20];
        assert!(derive(&mk, &ms, Label::SrtpAuth, &mut a));
        assert_eq!(a.to_vec(), h("cebe321f6ff7716b6fd4ab49af256a156d38baa4"));
        assert!(!derive(&mk[..15], &ms, Label::SrtpSalt, &mut s));
    }
}
