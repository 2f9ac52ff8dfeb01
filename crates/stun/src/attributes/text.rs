//! The text attributes: USERNAME (RFC 8489 §14.3), REALM (§14.9), NONCE (§14.10), SOFTWARE
//! (§14.14), ALTERNATE-DOMAIN (§14.16) and the reason phrases of the error codes.

use crate::wire::Reason;
use bytes::Bytes;

/// Longest USERNAME value (RFC 8489 §14.3: fewer than 509 bytes after preparation; we allow
/// the 513 of RFC 5389 to be lenient with older peers).
pub const MAX_USERNAME_LEN: usize = 513;
/// Longest REALM, NONCE, SOFTWARE, reason phrase and ALTERNATE-DOMAIN (RFC 8489 §14: fewer
/// than 128 characters, up to 763 bytes).
pub const MAX_TEXT_LEN: usize = 763;

/// The value of a text attribute: at most `max` bytes of UTF-8.
pub(crate) fn text(v: &[u8], max: usize) -> Result<&str, Reason> {
    if v.len() > max {
        return Err("value longer than RFC 8489 allows");
    }
    std::str::from_utf8(v).map_err(|_| "text is not valid UTF-8")
}

/// UTF-8 text held as a zero-copy slice of the message. Validated when decoded.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(pub(crate) Bytes);

impl Text {
    /// Text from a string (copies it).
    pub fn new(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
    /// Text from a static string (no copy).
    pub fn from_static(s: &'static str) -> Self {
        Text(Bytes::from_static(s.as_bytes()))
    }
    /// Text of at most `max` bytes from the part `s` of `value` (zero copy).
    pub(crate) fn parse(value: &Bytes, s: &[u8], max: usize) -> Result<Self, Reason> {
        text(s, max)?;
        Ok(Text(value.slice_ref(s)))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        // Validated on construction; the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}
