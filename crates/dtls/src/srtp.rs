//! DTLS-SRTP (RFC 5764): protection profiles and the keying material exported for SRTP.
//!
//! The profile enum lives here, not in ferrtc-srtp: DESIGN.md keeps the two crates independent
//! (srtp does not know where its keys come from); the peer connection maps one to the other.

use std::fmt;

/// An SRTP protection profile negotiated by the `use_srtp` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001), RFC 5764 §4.1.2.
    Aes128CmSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (0x0002), RFC 5764 §4.1.2.
    Aes128CmSha1_32,
    /// SRTP_AEAD_AES_128_GCM (0x0007), RFC 7714 §14.2.
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008), RFC 7714 §14.2.
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Our default preference: AEAD first (cheaper per packet and stronger), then the
    /// mandatory-to-implement AES_CM profile (RFC 8827 §6.5).
    pub const DEFAULT: &'static [SrtpProfile] = &[
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmSha1_80,
    ];

    /// The IANA profile identifier.
    pub fn id(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmSha1_80 => 0x0001,
            SrtpProfile::Aes128CmSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The name OpenSSL uses (and `openssl s_server -use_srtp` takes).
    pub fn openssl_name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::Aes128CmSha1_32 => "SRTP_AES128_CM_SHA1_32",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// From the IANA identifier.
    pub fn from_id(id: u16) -> Option<Self> {
        [
            SrtpProfile::Aes128CmSha1_80,
            SrtpProfile::Aes128CmSha1_32,
            SrtpProfile::AeadAes128Gcm,
            SrtpProfile::AeadAes256Gcm,
        ]
        .into_iter()
        .find(|p| p.id() == id)
    }

    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes (RFC 3711: 112 bits; RFC 7714: 96 bits).
    pub fn salt_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmSha1_80 | SrtpProfile::Aes128CmSha1_32 => 14,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 12,
        }
    }

    /// Bytes to export: a key and a salt for each direction (RFC 5764 §4.2).
    pub fn keying_material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.openssl_name())
    }
}

/// The SRTP master keys and salts of both directions, from the exporter label
/// `EXTRACTOR-dtls_srtp` (RFC 5764 §4.2): `client_key | server_key | client_salt | server_salt`.
///
/// The client writes with the client key and salt; the server with the server ones.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// The negotiated profile.
    pub profile: SrtpProfile,
    /// Master key the DTLS client uses to protect what it sends.
    pub client_key: Vec<u8>,
    /// Master salt of the DTLS client.
    pub client_salt: Vec<u8>,
    /// Master key the DTLS server uses to protect what it sends.
    pub server_key: Vec<u8>,
    /// Master salt of the DTLS server.
    pub server_salt: Vec<u8>,
}

impl fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys stay out of logs.
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeyingMaterial {
    /// Splits exported material; `None` if `material` has the wrong length for `profile`.
    pub fn split(profile: SrtpProfile, material: &[u8]) -> Option<Self> {
        if material.len() != profile.keying_material_len() {
            return None;
        }
        let (k, s) = (profile.key_len(), profile.salt_len());
        let (client_key, rest) = material.split_at(k);
        let (server_key, rest) = rest.split_at(k);
        let (client_salt, server_salt) = rest.split_at(s);
        Some(SrtpKeyingMaterial {
            profile,
            client_key: client_key.to_vec(),
            client_salt: client_salt.to_vec(),
            server_key: server_key.to_vec(),
            server_salt: server_salt.to_vec(),
        })
    }

    /// The material in export order (`client_key | server_key | client_salt | server_salt`).
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            &self.client_key[..],
            &self.server_key,
            &self.client_salt,
            &self.server_salt,
        ]
        .concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_rfc5764_order() {
        let p = SrtpProfile::Aes128CmSha1_80;
        let m: Vec<u8> = (0..60).collect();
        let k = SrtpKeyingMaterial::split(p, &m).unwrap();
        assert_eq!(k.client_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(k.server_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(k.client_salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(k.server_salt, (46..60).collect::<Vec<u8>>());
        assert_eq!(k.to_bytes(), m);
        assert!(SrtpKeyingMaterial::split(p, &m[..59]).is_none());
        assert_eq!(SrtpProfile::AeadAes128Gcm.keying_material_len(), 56);
        assert_eq!(SrtpProfile::AeadAes256Gcm.keying_material_len(), 88);
        for p in [SrtpProfile::Aes128CmSha1_32, SrtpProfile::AeadAes256Gcm] {
            assert_eq!(SrtpProfile::from_id(p.id()), Some(p));
        }
        assert_eq!(SrtpProfile::from_id(3), None);
    }
}
