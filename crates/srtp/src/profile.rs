//! Protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2, RFC 6188) and the split of
//! DTLS-exported keying material into the two directions' master keys.

use crate::error::Error;

/// An SRTP protection profile: cipher, key sizes and tag lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtectionProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 3711, RFC 5764 id 0x0001).
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (RFC 3711, RFC 5764 id 0x0002). SRTCP keeps an 80-bit tag.
    Aes128CmHmacSha1_32,
    /// SRTP_NULL_HMAC_SHA1_80 (RFC 5764 id 0x0005): authentication only, for tests.
    NullHmacSha1_80,
    /// SRTP_NULL_HMAC_SHA1_32 (RFC 5764 id 0x0006): authentication only, for tests.
    NullHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM (RFC 7714 id 0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (RFC 7714 id 0x0008).
    AeadAes256Gcm,
    /// AES_256_CM_HMAC_SHA1_80 (RFC 6188). No IANA DTLS-SRTP id.
    Aes256CmHmacSha1_80,
    /// AES_256_CM_HMAC_SHA1_32 (RFC 6188). No IANA DTLS-SRTP id. SRTCP keeps an 80-bit tag.
    Aes256CmHmacSha1_32,
}

/// The family of transforms a profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// AES counter mode (or NULL) with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
    CmHmac,
    /// AES-GCM AEAD (RFC 7714).
    Gcm,
}

impl ProtectionProfile {
    /// Every profile, for tests and tools.
    pub const ALL: [ProtectionProfile; 8] = [
        ProtectionProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_32,
        ProtectionProfile::NullHmacSha1_80,
        ProtectionProfile::NullHmacSha1_32,
        ProtectionProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes256Gcm,
        ProtectionProfile::Aes256CmHmacSha1_80,
        ProtectionProfile::Aes256CmHmacSha1_32,
    ];

    /// The DTLS-SRTP protection profile id of the use_srtp extension (RFC 5764 §4.1.2,
    /// RFC 7714 §14.2), or `None` for the RFC 6188 profiles, which have none registered.
    pub fn dtls_id(self) -> Option<u16> {
        match self {
            Self::Aes128CmHmacSha1_80 => Some(0x0001),
            Self::Aes128CmHmacSha1_32 => Some(0x0002),
            Self::NullHmacSha1_80 => Some(0x0005),
            Self::NullHmacSha1_32 => Some(0x0006),
            Self::AeadAes128Gcm => Some(0x0007),
            Self::AeadAes256Gcm => Some(0x0008),
            Self::Aes256CmHmacSha1_80 | Self::Aes256CmHmacSha1_32 => None,
        }
    }

    /// The profile with this DTLS-SRTP id, if ferrtc supports it.
    pub fn from_dtls_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.dtls_id() == Some(id))
    }

    /// The name used in RFCs, SDP (a=crypto) and DTLS-SRTP.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128CmHmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::Aes128CmHmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Self::NullHmacSha1_80 => "NULL_HMAC_SHA1_80",
            Self::NullHmacSha1_32 => "NULL_HMAC_SHA1_32",
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "AEAD_AES_256_GCM",
            Self::Aes256CmHmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            Self::Aes256CmHmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
        }
    }

    /// Master (and session) encryption key length in bytes. The NULL profiles still
    /// carry a 128-bit master key, which feeds the key derivation (RFC 5764 §4.1.2).
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80
            | Self::Aes128CmHmacSha1_32
            | Self::NullHmacSha1_80
            | Self::NullHmacSha1_32
            | Self::AeadAes128Gcm => 16,
            Self::AeadAes256Gcm | Self::Aes256CmHmacSha1_80 | Self::Aes256CmHmacSha1_32 => 32,
        }
    }

    /// Master (and session) salt length in bytes: 112 bits for AES-CM, 96 for GCM.
    pub fn salt_len(self) -> usize {
        match self.transform() {
            Transform::CmHmac => 14,
            Transform::Gcm => 12,
        }
    }

    /// Authentication tag length of SRTP packets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::NullHmacSha1_80 | Self::Aes256CmHmacSha1_80 => 10,
            Self::Aes128CmHmacSha1_32 | Self::NullHmacSha1_32 | Self::Aes256CmHmacSha1_32 => 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// Authentication tag length of SRTCP packets: the _32 profiles still use 80 bits
    /// for SRTCP (RFC 5764 §4.1.2).
    pub fn rtcp_tag_len(self) -> usize {
        match self.transform() {
            Transform::CmHmac => 10,
            Transform::Gcm => 16,
        }
    }

    /// Whether packets are encrypted (false for the NULL profiles).
    pub fn encrypts(self) -> bool {
        !matches!(self, Self::NullHmacSha1_80 | Self::NullHmacSha1_32)
    }

    /// Bytes of keying material to export from DTLS: two keys and two salts (RFC 5764 §4.2).
    pub fn keying_material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }

    pub(crate) fn transform(self) -> Transform {
        match self {
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => Transform::Gcm,
            _ => Transform::CmHmac,
        }
    }
}

impl std::fmt::Display for ProtectionProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Our side of the DTLS handshake, which decides which half of the exported keying
/// material protects what we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// DTLS client: sends with the client write key.
    Client,
    /// DTLS server: sends with the server write key.
    Server,
}

/// A master key and master salt for one direction.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    /// Master key (16 or 32 bytes).
    pub key: Vec<u8>,
    /// Master salt (14 or 12 bytes).
    pub salt: Vec<u8>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("MasterKey")
            .field("key_len", &self.key.len())
            .field("salt_len", &self.salt.len())
            .finish()
    }
}

/// Splits keying material exported with the label "EXTRACTOR-dtls_srtp" into
/// `(local, remote)` master keys. The layout is client_write_key, server_write_key,
/// client_write_salt, server_write_salt (RFC 5764 §4.2).
pub fn split_keying_material(
    profile: ProtectionProfile,
    material: &[u8],
    role: Role,
) -> Result<(MasterKey, MasterKey), Error> {
    let need = profile.keying_material_len();
    if material.len() != need {
        return Err(Error::KeyLength {
            what: "DTLS-SRTP keying material",
            profile: profile.name(),
            len: material.len(),
            need,
        });
    }
    let k = profile.key_len();
    let s = profile.salt_len();
    let (client_key, rest) = material.split_at(k);
    let (server_key, rest) = rest.split_at(k);
    let (client_salt, server_salt) = rest.split_at(s);
    let client = MasterKey {
        key: client_key.to_vec(),
        salt: client_salt.to_vec(),
    };
    let server = MasterKey {
        key: server_key.to_vec(),
        salt: server_salt.to_vec(),
    };
    Ok(match role {
        Role::Client => (client, server),
        Role::Server => (server, client),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for p in ProtectionProfile::ALL {
            if let Some(id) = p.dtls_id() {
                assert_eq!(ProtectionProfile::from_dtls_id(id), Some(p));
            }
        }
        assert_eq!(
            ProtectionProfile::from_dtls_id(0x0007),
            Some(ProtectionProfile::AeadAes128Gcm)
        );
        assert_eq!(ProtectionProfile::from_dtls_id(0x0003), None);
    }

    #[test]
    fn split_by_role() {
        let p = ProtectionProfile::AeadAes128Gcm;
        let m: Vec<u8> = (0..p.keying_material_len() as u8).collect();
        assert_eq!(m.len(), 56);
        let (local, remote) = split_keying_material(p, &m, Role::Client).unwrap();
        assert_eq!(local.key, (0..16).collect::<Vec<u8>>());
        assert_eq!(remote.key, (16..32).collect::<Vec<u8>>());
        assert_eq!(local.salt, (32..44).collect::<Vec<u8>>());
        assert_eq!(remote.salt, (44..56).collect::<Vec<u8>>());
        let (l2, r2) = split_keying_material(p, &m, Role::Server).unwrap();
        assert_eq!(l2, remote);
        assert_eq!(r2, local);
        assert!(split_keying_material(p, &m[1..], Role::Client).is_err());
    }
}
