//! The DTLS attributes of a media section: `a=setup` (RFC 4145, RFC 8842 §5) and
//! `a=fingerprint` (RFC 8122, RFC 8842).

use std::fmt;

/// DTLS role negotiation, `a=setup` (RFC 4145 §4, RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Setup {
    Active,
    Passive,
    ActPass,
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=fingerprint:<hash> <hex:hex:…>` (RFC 8122 §5, RFC 8842).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// Hash function name as written (`sha-256`); compare case-insensitively.
    pub algorithm: &'a str,
    /// Colon-separated upper- or lower-case hex bytes.
    pub value: &'a str,
}

impl Fingerprint<'_> {
    /// The fingerprint bytes (checked to be well formed at parse time).
    pub fn bytes(&self) -> Vec<u8> {
        self.value
            .split(':')
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect()
    }
}

impl fmt::Display for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}
