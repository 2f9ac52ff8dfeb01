//! Credentials and integrity keys: short-term and long-term (RFC 8489 §9), USERHASH,
//! the nonce cookie with its security-feature bits (§9.2), and password preparation.
//!
//! The string preparation subset is described in the crate documentation,
//! section "String preparation".

use crate::error::Error;
use hmac::digest::KeyInit;
use hmac::Hmac;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The nonce cookie prefix that announces security features (RFC 8489 §9.2).
pub const NONCE_COOKIE: &str = "obMatJos2";

fn is_non_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn is_control(c: char) -> bool {
    matches!(c, '\u{0000}'..='\u{001F}' | '\u{007F}'..='\u{009F}')
}

fn is_noncharacter(c: char) -> bool {
    let v = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&v) || (v & 0xFFFE) == 0xFFFE
}

/// Default-ignorable code points (Unicode DerivedCoreProperties), disallowed by PRECIS.
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Prepare a password (or realm) with the OpaqueString profile (RFC 8265 §4.2), within the
/// subset described in the [crate documentation](crate#string-preparation).
pub fn opaque_string(s: &str) -> Result<String, Error> {
    use unicode_normalization::UnicodeNormalization;
    if s.is_empty() {
        return Err(Error::InvalidCredential("OpaqueString must not be empty"));
    }
    // RFC 8265 §4.2.2: additional mapping (non-ASCII spaces to U+0020), then NFC, then the
    // FreeformClass rules (RFC 8264 §8) on the result.
    let mapped = s
        .chars()
        .map(|c| if is_non_ascii_space(c) { ' ' } else { c });
    let out: String = mapped.nfc().collect();
    for c in out.chars() {
        if is_control(c) {
            return Err(Error::InvalidCredential("control character"));
        } else if is_default_ignorable(c) || is_noncharacter(c) {
            return Err(Error::InvalidCredential(
                "default-ignorable or noncharacter code point",
            ));
        }
    }
    Ok(out)
}

/// RFC 3454 table B.1: commonly mapped to nothing.
fn mapped_to_nothing(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{1806}' | '\u{180B}'..='\u{180D}' | '\u{200B}'..='\u{200D}'
        | '\u{2060}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}')
}

const ROMAN: [&str; 16] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "L", "C", "D", "M",
];

/// Prepare a password with SASLprep (RFC 4013), within the subset described in the
/// [crate documentation](crate#string-preparation). Used by RFC 5389 peers and the RFC 5769 vectors.
pub fn saslprep(s: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let v = u32::from(c);
        if mapped_to_nothing(c) {
            continue;
        } else if is_non_ascii_space(c) {
            out.push(' ');
        } else if is_control(c) || is_noncharacter(c) {
            return Err(Error::InvalidCredential(
                "prohibited character for SASLprep",
            ));
        } else if c == '\u{00AA}' {
            out.push('a');
        } else if c == '\u{00BA}' {
            out.push('o');
        } else if c == '\u{00B9}' {
            out.push('1');
        } else if c == '\u{00B2}' {
            out.push('2');
        } else if c == '\u{00B3}' {
            out.push('3');
        } else if (0x2160..=0x216F).contains(&v) {
            out.push_str(
                ROMAN
                    .get((v - 0x2160) as usize)
                    .copied()
                    .unwrap_or_default(),
            );
        } else if (0x2170..=0x217F).contains(&v) {
            let r = ROMAN
                .get((v - 0x2170) as usize)
                .copied()
                .unwrap_or_default();
            out.push_str(&r.to_ascii_lowercase());
        } else if (0xFF01..=0xFF5E).contains(&v) {
            out.push(char::from_u32(v - 0xFEE0).unwrap_or(c));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

fn sha1_blocks(state: &mut [u32; 5], block: &[u8; 64]) {
    sha1::compress(state, &[(*block).into()]);
}

/// One SHA-1 input block, the type `sha1::compress` takes: filled in place, so that no
/// `[u8; 64]` temporary is copied into it before compressing.
type Block = hmac::digest::generic_array::GenericArray<u8, hmac::digest::consts::U64>;

/// Copy `part` into the two blocks `b` seen as one 128-byte buffer, starting at `at`.
#[inline(always)]
fn put(b: &mut [Block; 2], at: usize, part: &[u8]) {
    let [b0, b1] = b;
    let n0 = 64usize.saturating_sub(at).min(part.len());
    let (p0, p1) = part.split_at(n0);
    if let Some(dst) = b0.get_mut(at..at + n0) {
        dst.copy_from_slice(p0);
    }
    let at1 = at.saturating_sub(64);
    if let Some(dst) = b1.get_mut(at1..at1 + p1.len()) {
        dst.copy_from_slice(p1);
    }
}

/// HMAC-SHA1 with the inner and outer hash states computed once per key (RFC 2104 §4).
///
/// MESSAGE-INTEGRITY is checked on every ICE connectivity check, so this is the hot path
/// of STUN: a 92-byte Binding request costs exactly three SHA-1 compressions (two for the
/// 60 covered bytes, one for the outer hash), with no buffering layers in between.
#[derive(Clone)]
pub(crate) struct Sha1Hmac {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl Sha1Hmac {
    fn new(key: &[u8]) -> Self {
        use sha1::Digest;
        // RFC 2104 §2: a key longer than the block is replaced by its digest; the key is then
        // zero-padded to 64 bytes and XORed with ipad (0x36) / opad (0x5c). The pads are built
        // in the blocks the compression function reads (no intermediate key copy).
        let digest;
        let key: &[u8] = if key.len() > 64 {
            digest = Sha1::digest(key);
            &digest
        } else {
            key
        };
        let mut ipad = Block::from([0x36u8; 64]);
        let mut opad = Block::from([0x5cu8; 64]);
        for ((i, o), b) in ipad.iter_mut().zip(opad.iter_mut()).zip(key) {
            *i ^= b;
            *o ^= b;
        }
        let mut inner = SHA1_IV;
        let mut outer = SHA1_IV;
        sha1::compress(&mut inner, std::slice::from_ref(&ipad));
        sha1::compress(&mut outer, std::slice::from_ref(&opad));
        Sha1Hmac { inner, outer }
    }

    /// HMAC-SHA1 over the concatenation of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 20] {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let st = if len <= 119 {
            self.inner_short(parts, len)
        } else {
            self.inner_long(parts)
        };
        self.outer(st)
    }

    /// Inner hash of up to 119 bytes (one or two blocks with padding, FIPS 180-4 §5.1.1):
    /// the parts are copied straight into the blocks the compression function reads, and
    /// compressed in a single call.
    fn inner_short(&self, parts: &[&[u8]], len: usize) -> [u32; 5] {
        let mut b = [Block::default(), Block::default()];
        let mut at = 0usize;
        for part in parts {
            put(&mut b, at, part);
            at += part.len();
        }
        put(&mut b, len, &[0x80]);
        let nblocks = if len <= 55 { 1 } else { 2 };
        let bits = ((64 + len as u64) * 8).to_be_bytes();
        put(&mut b, nblocks * 64 - 8, &bits);
        let mut st = self.inner;
        sha1::compress(&mut st, b.get(..nblocks).unwrap_or_default());
        st
    }

    /// Inner hash of any length, streamed block by block.
    fn inner_long(&self, parts: &[&[u8]]) -> [u32; 5] {
        let mut st = self.inner;
        let mut block = [0u8; 64];
        let mut fill = 0usize;
        let mut total: u64 = 64;
        for part in parts {
            let mut p: &[u8] = part;
            total += p.len() as u64;
            while !p.is_empty() {
                let n = (64 - fill).min(p.len());
                if let (Some(dst), Some(src)) = (block.get_mut(fill..fill + n), p.get(..n)) {
                    dst.copy_from_slice(src);
                }
                fill += n;
                p = p.get(n..).unwrap_or_default();
                if fill == 64 {
                    sha1_blocks(&mut st, &block);
                    fill = 0;
                }
            }
        }
        // Padding: 0x80, zeros, 64-bit big-endian bit length (FIPS 180-4 §5.1.1).
        if let Some(b) = block.get_mut(fill) {
            *b = 0x80;
        }
        if let Some(rest) = block.get_mut(fill + 1..) {
            rest.fill(0);
        }
        if fill + 1 > 56 {
            sha1_blocks(&mut st, &block);
            block = [0u8; 64];
        }
        if let Some(len) = block.get_mut(56..) {
            len.copy_from_slice(&(total * 8).to_be_bytes());
        }
        sha1_blocks(&mut st, &block);
        st
    }

    fn outer(&self, st: [u32; 5]) -> [u8; 20] {
        let mut ob = Block::default();
        for (chunk, w) in ob.chunks_exact_mut(4).zip(st) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        if let Some(b) = ob.get_mut(20) {
            *b = 0x80;
        }
        if let Some(len) = ob.get_mut(56..) {
            len.copy_from_slice(&((64u64 + 20) * 8).to_be_bytes());
        }
        let mut o = self.outer;
        sha1::compress(&mut o, std::slice::from_ref(&ob));
        let mut out = [0u8; 20];
        for (chunk, w) in out.chunks_exact_mut(4).zip(o) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// A precomputed HMAC key for MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256.
///
/// Creating one hashes the key into the HMAC-SHA1 inner and outer states once; signing and
/// verifying then start from copies of those states, which saves two hash compressions per
/// message. Build it once per credential and keep it. The HMAC-SHA256 states are prepared on
/// first use only: ICE checks never use MESSAGE-INTEGRITY-SHA256, and two SHA-256
/// compressions would double the cost of a key made per message.
#[derive(Clone)]
pub struct IntegrityKey {
    pub(crate) sha1: Sha1Hmac,
    /// The key as HMAC-SHA256 uses it (RFC 2104 §2: a key longer than the 64-byte block is
    /// replaced by its SHA-256 digest), kept until MESSAGE-INTEGRITY-SHA256 needs it.
    sha256_key: [u8; 64],
    sha256_key_len: u8,
    /// Boxed: the prepared states are ~200 bytes that a key made per message would otherwise
    /// write (and move) for nothing.
    sha256: std::sync::OnceLock<Box<HmacSha256>>,
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrityKey(<redacted>)")
    }
}

impl IntegrityKey {
    /// A key from raw bytes (already derived).
    #[inline]
    pub fn from_raw(key: &[u8]) -> Result<Self, Error> {
        let mut sha256_key = [0u8; 64];
        let stored: &[u8] = if key.len() > sha256_key.len() {
            &Sha256::digest(key)
        } else {
            key
        };
        let sha256_key_len = stored.len();
        sha256_key
            .get_mut(..sha256_key_len)
            .ok_or(Error::InvalidCredential("HMAC-SHA256 key"))?
            .copy_from_slice(stored);
        Ok(IntegrityKey {
            sha1: Sha1Hmac::new(key),
            sha256_key,
            sha256_key_len: u8::try_from(sha256_key_len)
                .map_err(|_| Error::InvalidCredential("HMAC-SHA256 key"))?,
            sha256: std::sync::OnceLock::new(),
        })
    }

    /// The prepared HMAC-SHA256 states (made on first use).
    pub(crate) fn sha256(&self) -> &HmacSha256 {
        self.sha256.get_or_init(|| {
            let key = self
                .sha256_key
                .get(..usize::from(self.sha256_key_len))
                .unwrap_or_default();
            // HMAC accepts a key of any length: this cannot fail.
            Box::new(
                <HmacSha256 as KeyInit>::new_from_slice(key)
                    .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default())),
            )
        })
    }

    /// Short-term credential key: OpaqueString(password) (RFC 8489 §9.1.1). This is what
    /// ICE connectivity checks use, with the remote ufrag's password.
    pub fn short_term(password: &str) -> Result<Self, Error> {
        // Printable ASCII is its own OpaqueString (no mapping, NFC-stable, no control or
        // ignorable code points): ICE passwords always are (RFC 8839 §5.4 ice-char), so the
        // common case skips the Unicode pass and its allocation.
        // One call of `from_raw` (inlined), so that the key is written once, in place.
        let prepared;
        let key = if !password.is_empty() && password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            password.as_bytes()
        } else {
            prepared = opaque_string(password)?;
            prepared.as_bytes()
        };
        Self::from_raw(key)
    }

    /// Long-term credential key (RFC 8489 §9.2.2), with `algorithm` one of
    /// [`crate::PasswordAlgorithm::MD5`] or [`crate::PasswordAlgorithm::SHA256`]:
    /// `H(username ":" OpaqueString(realm) ":" OpaqueString(password))`.
    pub fn long_term(
        username: &str,
        realm: &str,
        password: &str,
        algorithm: u16,
    ) -> Result<Self, Error> {
        let realm = opaque_string(realm)?;
        let password = opaque_string(password)?;
        Self::from_raw(&long_term_key_bytes(
            username, &realm, &password, algorithm,
        )?)
    }
}

/// The raw long-term key, with username, realm and password already prepared.
pub fn long_term_key_bytes(
    username: &str,
    realm: &str,
    password: &str,
    algorithm: u16,
) -> Result<Vec<u8>, Error> {
    fn h<D: Digest>(u: &str, r: &str, p: &str) -> Vec<u8> {
        let mut d = D::new();
        d.update(u.as_bytes());
        d.update(b":");
        d.update(r.as_bytes());
        d.update(b":");
        d.update(p.as_bytes());
        d.finalize().to_vec()
    }
    match algorithm {
        crate::PasswordAlgorithm::MD5 => Ok(h::<Md5>(username, realm, password)),
        crate::PasswordAlgorithm::SHA256 => Ok(h::<Sha256>(username, realm, password)),
        _ => Err(Error::InvalidCredential("unsupported password algorithm")),
    }
}

/// USERHASH = SHA-256(username ":" realm) (RFC 8489 §14.4), realm OpaqueString-prepared.
pub fn userhash(username: &str, realm: &str) -> Result<[u8; 32], Error> {
    let realm = opaque_string(realm)?;
    let mut d = Sha256::new();
    d.update(username.as_bytes());
    d.update(b":");
    d.update(realm.as_bytes());
    Ok(d.finalize().into())
}

/// The STUN security features announced in a nonce cookie (RFC 8489 §9.2, §18.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecurityFeatures(pub u32);

impl SecurityFeatures {
    /// Bit 0: the server supports PASSWORD-ALGORITHMS (bit 0 is the most significant).
    pub const PASSWORD_ALGORITHMS: u32 = 1 << 23;
    /// Bit 1: the server supports USERHASH (username anonymity).
    pub const USERNAME_ANONYMITY: u32 = 1 << 22;

    /// Read the features from a NONCE value; `None` when it carries no nonce cookie.
    pub fn from_nonce(nonce: &str) -> Option<Self> {
        let enc = nonce.strip_prefix(NONCE_COOKIE)?.get(..4)?;
        let mut v = 0u32;
        for c in enc.bytes() {
            v = (v << 6) | u32::from(base64_value(c)?);
        }
        Some(SecurityFeatures(v))
    }
    /// The 13-character cookie prefix a server puts in front of its nonce.
    pub fn nonce_cookie(self) -> String {
        let mut s = String::from(NONCE_COOKIE);
        for shift in [18u32, 12, 6, 0] {
            let idx = ((self.0 >> shift) & 0x3F) as usize;
            s.push(char::from(*BASE64.get(idx).unwrap_or(&b'A')));
        }
        s
    }
    /// Whether the password-algorithms feature is announced.
    pub fn password_algorithms(self) -> bool {
        self.0 & Self::PASSWORD_ALGORITHMS != 0
    }
    /// Whether the username-anonymity (USERHASH) feature is announced.
    pub fn username_anonymity(self) -> bool {
        self.0 & Self::USERNAME_ANONYMITY != 0
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_value(c: u8) -> Option<u8> {
    BASE64.iter().position(|&b| b == c).map(|p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_hmac_matches_the_hmac_crate() {
        use hmac::Mac;
        let keys: [&[u8]; 4] = [b"", b"key", &[0x42; 64], &[0x17; 100]];
        for key in keys {
            let fast = Sha1Hmac::new(key);
            for len in 0..200usize {
                let msg: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
                let mut reference = <Hmac<Sha1> as KeyInit>::new_from_slice(key).unwrap();
                reference.update(&msg);
                let want = reference.finalize().into_bytes();
                assert_eq!(fast.tag(&[&msg]), want[..], "len {len}");
                let (a, b) = msg.split_at(len / 3);
                assert_eq!(fast.tag(&[a, b, &[]]), want[..], "split len {len}");
            }
        }
    }

    /// The lazily prepared HMAC-SHA256 states give the HMAC of the key as given, for short
    /// keys and for keys longer than the block (hashed first, RFC 2104 §2).
    #[test]
    fn lazy_sha256_matches_the_hmac_crate() {
        use hmac::Mac;
        let keys: [&[u8]; 4] = [b"k", &[0x42; 64], &[0x17; 65], &[0x99; 300]];
        for key in keys {
            let k = IntegrityKey::from_raw(key).unwrap();
            let msg = b"a STUN message body";
            let mut ours = k.sha256().clone();
            ours.update(msg);
            let mut reference = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
            reference.update(msg);
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes(),
                "key of {} bytes",
                key.len()
            );
        }
    }

    /// The printable-ASCII fast path of `short_term` gives the same key as OpaqueString, and
    /// anything else still goes through OpaqueString (mapping, NFC, rejections).
    #[test]
    fn short_term_ascii_fast_path_is_opaque_string() {
        let tag = |k: &IntegrityKey| k.sha1.tag(&[b"message"]);
        for p in ["VOkJxbRl1RmTxUk/WvJxBt", "a b~", " "] {
            assert_eq!(
                tag(&IntegrityKey::short_term(p).unwrap()),
                tag(&IntegrityKey::from_raw(opaque_string(p).unwrap().as_bytes()).unwrap())
            );
        }
        assert_eq!(
            tag(&IntegrityKey::short_term("a\u{00A0}b").unwrap()),
            tag(&IntegrityKey::from_raw(b"a b").unwrap())
        );
        assert!(IntegrityKey::short_term("").is_err());
        assert!(IntegrityKey::short_term("a\u{7f}").is_err());
        assert!(IntegrityKey::short_term("tab\there").is_err());
    }

    #[test]
    fn opaque_string_subset() {
        assert_eq!(
            opaque_string("VOkJxbRl1RmTxUk/WvJxBt").unwrap(),
            "VOkJxbRl1RmTxUk/WvJxBt"
        );
        assert_eq!(opaque_string("a\u{00A0}b\u{3000}c").unwrap(), "a b c");
        assert_eq!(opaque_string("пароль").unwrap(), "пароль");
        assert!(opaque_string("").is_err());
        assert!(opaque_string("a\u{0007}").is_err());
        assert!(opaque_string("The\u{00AD}M").is_err());
    }

    #[test]
    fn saslprep_rfc5769_password() {
        assert_eq!(
            saslprep("The\u{00AD}M\u{00AA}tr\u{2168}").unwrap(),
            "TheMatrIX"
        );
        assert_eq!(saslprep("\u{FF21}\u{FF42}").unwrap(), "Ab");
        assert!(saslprep("x\u{0000}").is_err());
    }

    #[test]
    fn nonce_cookie_roundtrip() {
        let f = SecurityFeatures(SecurityFeatures::PASSWORD_ALGORITHMS);
        let cookie = f.nonce_cookie();
        assert_eq!(cookie, "obMatJos2gAAA");
        let parsed = SecurityFeatures::from_nonce(&(cookie + "xyz")).unwrap();
        assert!(parsed.password_algorithms());
        assert!(!parsed.username_anonymity());
        assert_eq!(SecurityFeatures::from_nonce("plainnonce"), None);
        assert_eq!(SecurityFeatures::from_nonce("obMatJos2A!AA"), None);
        // The RFC 8489 Appendix B nonce: "AAAC" sets bit 22 only.
        let b = SecurityFeatures::from_nonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA").unwrap();
        assert_eq!(b.0, 2);
    }
}

#[cfg(test)]
mod nfc_tests {
    use super::opaque_string;

    #[test]
    fn opaque_string_applies_nfc() {
        // "e" + COMBINING ACUTE ACCENT composes to U+00E9 (RFC 8265 §4.2.2 rule 4).
        assert_eq!(opaque_string("caf\u{0065}\u{0301}").unwrap(), "caf\u{00E9}");
        // Already-NFC text and ASCII are unchanged; compatibility characters are kept (NFC, not NFKC).
        assert_eq!(
            opaque_string("pass\u{00AA}word").unwrap(),
            "pass\u{00AA}word"
        );
        assert_eq!(opaque_string("a\u{3000}b").unwrap(), "a b");
        assert!(opaque_string("a\u{0007}").is_err());
    }
}
