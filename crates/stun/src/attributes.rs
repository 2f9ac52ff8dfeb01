//! Typed STUN attributes of RFC 8489, RFC 8445 (ICE) and RFC 8656 (TURN).
//!
//! Decoding is zero-copy: text and data values are [`Bytes`] slices of the received
//! message. Attributes this crate does not know are kept raw as [`Attribute::Unknown`].

use crate::error::Error;
use crate::header::{TransactionId, MAGIC_COOKIE};
use bytes::{BufMut, Bytes};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Attribute type numbers (IANA "STUN Attributes" registry).
pub mod attr {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (RFC 8656 §18.4).
    pub const DATA: u16 = 0x0013;
    /// REALM (RFC 8489 §14.9).
    pub const REALM: u16 = 0x0014;
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: u16 = 0x8000;
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.12).
    pub const ADDRESS_ERROR_CODE: u16 = 0x8001;
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// ICMP (RFC 8656 §18.13).
    pub const ICMP: u16 = 0x8004;
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: u16 = 0x802A;

    /// Whether this crate decodes the attribute type (others are kept raw).
    pub fn is_known(t: u16) -> bool {
        matches!(
            t,
            MAPPED_ADDRESS
                | USERNAME
                | MESSAGE_INTEGRITY
                | ERROR_CODE
                | UNKNOWN_ATTRIBUTES
                | CHANNEL_NUMBER
                | LIFETIME
                | XOR_PEER_ADDRESS
                | DATA
                | REALM
                | NONCE
                | XOR_RELAYED_ADDRESS
                | REQUESTED_ADDRESS_FAMILY
                | EVEN_PORT
                | REQUESTED_TRANSPORT
                | DONT_FRAGMENT
                | MESSAGE_INTEGRITY_SHA256
                | PASSWORD_ALGORITHM
                | USERHASH
                | XOR_MAPPED_ADDRESS
                | RESERVATION_TOKEN
                | PRIORITY
                | USE_CANDIDATE
                | ADDITIONAL_ADDRESS_FAMILY
                | ADDRESS_ERROR_CODE
                | PASSWORD_ALGORITHMS
                | ALTERNATE_DOMAIN
                | ICMP
                | SOFTWARE
                | ALTERNATE_SERVER
                | FINGERPRINT
                | ICE_CONTROLLED
                | ICE_CONTROLLING
        )
    }

    /// Types 0x0000-0x7FFF are comprehension-required (RFC 8489 §14): a receiver that
    /// does not understand one must reject the request with 420.
    pub fn is_comprehension_required(t: u16) -> bool {
        t < 0x8000
    }
}

/// Longest USERNAME value (RFC 8489 §14.3: fewer than 509 bytes after preparation; we allow
/// the 513 of RFC 5389 to be lenient with older peers).
pub const MAX_USERNAME_LEN: usize = 513;
/// Longest REALM, NONCE, SOFTWARE, reason phrase and ALTERNATE-DOMAIN (RFC 8489 §14: fewer
/// than 128 characters, up to 763 bytes).
pub const MAX_TEXT_LEN: usize = 763;

/// UTF-8 text held as a zero-copy slice of the message. Validated when decoded.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Text from a string (copies it).
    pub fn new(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
    /// Text from a static string (no copy).
    pub fn from_static(s: &'static str) -> Self {
        Text(Bytes::from_static(s.as_bytes()))
    }
    fn from_bytes(b: Bytes, attr_type: u16, offset: usize) -> Result<Self, Error> {
        if std::str::from_utf8(&b).is_err() {
            return Err(Error::InvalidAttribute {
                attr_type,
                offset,
                reason: "text is not valid UTF-8",
            });
        }
        Ok(Text(b))
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

/// Address family of REQUESTED-ADDRESS-FAMILY and friends (RFC 8656 §18.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// 0x01
    V4,
    /// 0x02
    V6,
}

impl AddressFamily {
    fn to_u8(self) -> u8 {
        match self {
            AddressFamily::V4 => 1,
            AddressFamily::V6 => 2,
        }
    }
    fn from_u8(v: u8, attr_type: u16, offset: usize) -> Result<Self, Error> {
        match v {
            1 => Ok(AddressFamily::V4),
            2 => Ok(AddressFamily::V6),
            _ => Err(Error::InvalidAttribute {
                attr_type,
                offset,
                reason: "unknown address family",
            }),
        }
    }
    /// The family of an IP address.
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddressFamily::V4,
            IpAddr::V6(_) => AddressFamily::V6,
        }
    }
}

/// ERROR-CODE: a 300..=699 code and a reason phrase (RFC 8489 §14.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode {
    /// The numeric code, e.g. 401.
    pub code: u16,
    /// The reason phrase.
    pub reason: Text,
}

/// Codes used by STUN and TURN (RFC 8489 §14.8, RFC 8656 §19).
pub mod error_code {
    /// Try Alternate.
    pub const TRY_ALTERNATE: u16 = 300;
    /// Bad Request.
    pub const BAD_REQUEST: u16 = 400;
    /// Unauthenticated.
    pub const UNAUTHENTICATED: u16 = 401;
    /// Forbidden (TURN).
    pub const FORBIDDEN: u16 = 403;
    /// Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: u16 = 420;
    /// Allocation Mismatch (TURN).
    pub const ALLOCATION_MISMATCH: u16 = 437;
    /// Stale Nonce.
    pub const STALE_NONCE: u16 = 438;
    /// Address Family not Supported (TURN).
    pub const ADDRESS_FAMILY_NOT_SUPPORTED: u16 = 440;
    /// Wrong Credentials (TURN).
    pub const WRONG_CREDENTIALS: u16 = 441;
    /// Unsupported Transport Protocol (TURN).
    pub const UNSUPPORTED_TRANSPORT: u16 = 442;
    /// Peer Address Family Mismatch (TURN).
    pub const PEER_ADDRESS_FAMILY_MISMATCH: u16 = 443;
    /// Allocation Quota Reached (TURN).
    pub const ALLOCATION_QUOTA_REACHED: u16 = 486;
    /// Role Conflict (ICE).
    pub const ROLE_CONFLICT: u16 = 487;
    /// Server Error.
    pub const SERVER_ERROR: u16 = 500;
    /// Insufficient Capacity (TURN).
    pub const INSUFFICIENT_CAPACITY: u16 = 508;
}

/// One entry of PASSWORD-ALGORITHM(S) (RFC 8489 §14.11, §14.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAlgorithm {
    /// 0x0001 MD5, 0x0002 SHA-256.
    pub algorithm: u16,
    /// Algorithm parameters (empty for MD5 and SHA-256).
    pub params: Bytes,
}

impl PasswordAlgorithm {
    /// MD5 (RFC 8489 §18.5.1.1).
    pub const MD5: u16 = 0x0001;
    /// SHA-256 (RFC 8489 §18.5.1.2).
    pub const SHA256: u16 = 0x0002;

    fn encoded_len(&self) -> usize {
        4 + padded(self.params.len())
    }
    fn write(&self, out: &mut impl BufMut) {
        out.put_u16(self.algorithm);
        out.put_u16(self.params.len() as u16);
        out.put_slice(&self.params);
        put_padding(out, self.params.len());
    }
    /// Decode one entry at the start of `v`, returning it and the bytes consumed.
    fn decode(v: &Bytes, attr_type: u16, offset: usize) -> Result<(Self, usize), Error> {
        let bad = |reason| Error::InvalidAttribute {
            attr_type,
            offset,
            reason,
        };
        let (alg, plen) = match v.get(..4) {
            Some([a, b, c, d]) => (
                u16::from_be_bytes([*a, *b]),
                usize::from(u16::from_be_bytes([*c, *d])),
            ),
            _ => return Err(bad("password algorithm entry truncated")),
        };
        let end = 4 + plen;
        if end > v.len() {
            return Err(bad("password algorithm parameters run past the value"));
        }
        let consumed = (4 + padded(plen)).min(v.len());
        Ok((
            PasswordAlgorithm {
                algorithm: alg,
                params: v.slice(4..end),
            },
            consumed,
        ))
    }
}

/// PASSWORD-ALGORITHMS: a list kept as its raw (validated) value; iterate with [`Self::iter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAlgorithms(Bytes);

impl PasswordAlgorithms {
    /// Build the list (allocates).
    pub fn new(algs: &[PasswordAlgorithm]) -> Self {
        let mut v = Vec::new();
        for a in algs {
            a.write(&mut v);
        }
        PasswordAlgorithms(Bytes::from(v))
    }
    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = PasswordAlgorithm> + '_ {
        let mut rest = self.0.clone();
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (a, n) = PasswordAlgorithm::decode(&rest, attr::PASSWORD_ALGORITHMS, 0).ok()?;
            rest = rest.slice(n..);
            Some(a)
        })
    }
    /// Whether the list offers `algorithm`.
    pub fn contains(&self, algorithm: u16) -> bool {
        self.iter().any(|a| a.algorithm == algorithm)
    }
    fn validate(v: &Bytes, offset: usize) -> Result<(), Error> {
        let mut rest = v.clone();
        while !rest.is_empty() {
            let (_, n) = PasswordAlgorithm::decode(&rest, attr::PASSWORD_ALGORITHMS, offset)?;
            rest = rest.slice(n..);
        }
        Ok(())
    }
}

/// UNKNOWN-ATTRIBUTES: the list of 16-bit types, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAttributes(Bytes);

impl UnknownAttributes {
    /// Build the list (allocates).
    pub fn new(types: &[u16]) -> Self {
        let mut v = Vec::with_capacity(types.len() * 2);
        for t in types {
            v.put_u16(*t);
        }
        UnknownAttributes(Bytes::from(v))
    }
    /// The attribute types.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.chunks_exact(2).map(|c| match c {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        })
    }
}

/// A decoded STUN attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attribute {
    /// MAPPED-ADDRESS.
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS.
    XorMappedAddress(SocketAddr),
    /// USERNAME.
    Username(Text),
    /// USERHASH: SHA-256(username ":" realm).
    UserHash([u8; 32]),
    /// MESSAGE-INTEGRITY (HMAC-SHA1).
    MessageIntegrity([u8; 20]),
    /// MESSAGE-INTEGRITY-SHA256 (16 to 32 bytes, a multiple of 4).
    MessageIntegritySha256(Bytes),
    /// FINGERPRINT.
    Fingerprint(u32),
    /// ERROR-CODE.
    ErrorCode(ErrorCode),
    /// REALM.
    Realm(Text),
    /// NONCE.
    Nonce(Text),
    /// PASSWORD-ALGORITHMS.
    PasswordAlgorithms(PasswordAlgorithms),
    /// PASSWORD-ALGORITHM.
    PasswordAlgorithm(PasswordAlgorithm),
    /// UNKNOWN-ATTRIBUTES.
    UnknownAttributes(UnknownAttributes),
    /// SOFTWARE.
    Software(Text),
    /// ALTERNATE-SERVER.
    AlternateServer(SocketAddr),
    /// ALTERNATE-DOMAIN.
    AlternateDomain(Text),
    /// PRIORITY (ICE).
    Priority(u32),
    /// USE-CANDIDATE (ICE).
    UseCandidate,
    /// ICE-CONTROLLED with its tie-breaker.
    IceControlled(u64),
    /// ICE-CONTROLLING with its tie-breaker.
    IceControlling(u64),
    /// CHANNEL-NUMBER (TURN).
    ChannelNumber(u16),
    /// LIFETIME in seconds (TURN).
    Lifetime(u32),
    /// XOR-PEER-ADDRESS (TURN).
    XorPeerAddress(SocketAddr),
    /// DATA (TURN).
    Data(Bytes),
    /// XOR-RELAYED-ADDRESS (TURN).
    XorRelayedAddress(SocketAddr),
    /// REQUESTED-ADDRESS-FAMILY (TURN).
    RequestedAddressFamily(AddressFamily),
    /// ADDITIONAL-ADDRESS-FAMILY (TURN).
    AdditionalAddressFamily(AddressFamily),
    /// ADDRESS-ERROR-CODE (TURN).
    AddressErrorCode {
        /// Family that failed.
        family: AddressFamily,
        /// Error code.
        code: u16,
        /// Reason phrase.
        reason: Text,
    },
    /// EVEN-PORT with its R (reserve next port) bit.
    EvenPort(bool),
    /// REQUESTED-TRANSPORT: IP protocol number (17 = UDP).
    RequestedTransport(u8),
    /// DONT-FRAGMENT.
    DontFragment,
    /// RESERVATION-TOKEN.
    ReservationToken([u8; 8]),
    /// ICMP (TURN).
    Icmp {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        icmp_code: u8,
        /// Error data.
        error_data: u32,
    },
    /// Any other attribute, raw.
    Unknown {
        /// Its type.
        attr_type: u16,
        /// Its value (without padding).
        value: Bytes,
    },
}

pub(crate) fn padded(n: usize) -> usize {
    (n + 3) & !3
}

fn put_padding(out: &mut impl BufMut, n: usize) {
    let pad = padded(n) - n;
    out.put_bytes(0, pad);
}

fn fixed<const N: usize>(v: &[u8], attr_type: u16, offset: usize) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(v).map_err(|_| Error::InvalidAttribute {
        attr_type,
        offset,
        reason: "wrong value length",
    })
}

pub(crate) fn decode_address(
    v: &[u8],
    xor: Option<&TransactionId>,
    attr_type: u16,
    offset: usize,
) -> Result<SocketAddr, Error> {
    let bad = |reason| Error::InvalidAttribute {
        attr_type,
        offset,
        reason,
    };
    let (family, port, addr) = match v {
        [_, f, p0, p1, rest @ ..] => (*f, u16::from_be_bytes([*p0, *p1]), rest),
        _ => return Err(bad("address value shorter than 4 bytes")),
    };
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = if xor.is_some() {
        port ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        port
    };
    let ip = match family {
        1 => {
            let mut a: [u8; 4] = fixed(addr, attr_type, offset)?;
            if xor.is_some() {
                for (b, c) in a.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        2 => {
            let mut a: [u8; 16] = fixed(addr, attr_type, offset)?;
            if let Some(tid) = xor {
                let mask = cookie.iter().chain(tid.0.iter());
                for (b, c) in a.iter_mut().zip(mask) {
                    *b ^= c;
                }
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return Err(bad("unknown address family")),
    };
    Ok(SocketAddr::new(ip, port))
}

fn address_len(a: &SocketAddr) -> usize {
    if a.is_ipv4() {
        8
    } else {
        20
    }
}

fn write_address(a: &SocketAddr, xor: Option<&TransactionId>, out: &mut impl BufMut) {
    out.put_u8(0);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = if xor.is_some() {
        a.port() ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        a.port()
    };
    match a.ip() {
        IpAddr::V4(ip) => {
            out.put_u8(1);
            out.put_u16(port);
            let mut o = ip.octets();
            if xor.is_some() {
                for (b, c) in o.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            out.put_slice(&o);
        }
        IpAddr::V6(ip) => {
            out.put_u8(2);
            out.put_u16(port);
            let mut o = ip.octets();
            if let Some(tid) = xor {
                for (b, c) in o.iter_mut().zip(cookie.iter().chain(tid.0.iter())) {
                    *b ^= c;
                }
            }
            out.put_slice(&o);
        }
    }
}

fn check_len(len: usize, max: usize, attr_type: u16, offset: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::InvalidAttribute {
            attr_type,
            offset,
            reason: "value longer than RFC 8489 allows",
        });
    }
    Ok(())
}

fn decode_error_code(v: &Bytes, attr_type: u16, offset: usize) -> Result<(u16, Text), Error> {
    let bad = |reason| Error::InvalidAttribute {
        attr_type,
        offset,
        reason,
    };
    let (class, number) = match v.get(..4) {
        Some([_, _, c, n]) => (u16::from(c & 0x07), u16::from(*n)),
        _ => return Err(bad("error code shorter than 4 bytes")),
    };
    if !(3..=6).contains(&class) || number > 99 {
        return Err(bad("error code outside 300..699"));
    }
    check_len(v.len() - 4, MAX_TEXT_LEN, attr_type, offset)?;
    let reason = Text::from_bytes(v.slice(4..), attr_type, offset)?;
    Ok((class * 100 + number, reason))
}

impl Attribute {
    /// The attribute type number.
    pub fn attr_type(&self) -> u16 {
        use attr::*;
        match self {
            Attribute::MappedAddress(_) => MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => USERNAME,
            Attribute::UserHash(_) => USERHASH,
            Attribute::MessageIntegrity(_) => MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => FINGERPRINT,
            Attribute::ErrorCode(_) => ERROR_CODE,
            Attribute::Realm(_) => REALM,
            Attribute::Nonce(_) => NONCE,
            Attribute::PasswordAlgorithms(_) => PASSWORD_ALGORITHMS,
            Attribute::PasswordAlgorithm(_) => PASSWORD_ALGORITHM,
            Attribute::UnknownAttributes(_) => UNKNOWN_ATTRIBUTES,
            Attribute::Software(_) => SOFTWARE,
            Attribute::AlternateServer(_) => ALTERNATE_SERVER,
            Attribute::AlternateDomain(_) => ALTERNATE_DOMAIN,
            Attribute::Priority(_) => PRIORITY,
            Attribute::UseCandidate => USE_CANDIDATE,
            Attribute::IceControlled(_) => ICE_CONTROLLED,
            Attribute::IceControlling(_) => ICE_CONTROLLING,
            Attribute::ChannelNumber(_) => CHANNEL_NUMBER,
            Attribute::Lifetime(_) => LIFETIME,
            Attribute::XorPeerAddress(_) => XOR_PEER_ADDRESS,
            Attribute::Data(_) => DATA,
            Attribute::XorRelayedAddress(_) => XOR_RELAYED_ADDRESS,
            Attribute::RequestedAddressFamily(_) => REQUESTED_ADDRESS_FAMILY,
            Attribute::AdditionalAddressFamily(_) => ADDITIONAL_ADDRESS_FAMILY,
            Attribute::AddressErrorCode { .. } => ADDRESS_ERROR_CODE,
            Attribute::EvenPort(_) => EVEN_PORT,
            Attribute::RequestedTransport(_) => REQUESTED_TRANSPORT,
            Attribute::DontFragment => DONT_FRAGMENT,
            Attribute::ReservationToken(_) => RESERVATION_TOKEN,
            Attribute::Icmp { .. } => ICMP,
            Attribute::Unknown { attr_type, .. } => *attr_type,
        }
    }

    /// Decode one attribute value. `value` excludes header and padding; `offset` is the
    /// position of the attribute header in the message, for error messages.
    pub fn decode(
        attr_type: u16,
        value: Bytes,
        tid: &TransactionId,
        offset: usize,
    ) -> Result<Attribute, Error> {
        use attr::*;
        let t = attr_type;
        let v = &value[..];
        let bad = |reason| Error::InvalidAttribute {
            attr_type: t,
            offset,
            reason,
        };
        Ok(match t {
            MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(v, None, t, offset)?),
            XOR_MAPPED_ADDRESS => {
                Attribute::XorMappedAddress(decode_address(v, Some(tid), t, offset)?)
            }
            ALTERNATE_SERVER => Attribute::AlternateServer(decode_address(v, None, t, offset)?),
            XOR_PEER_ADDRESS => Attribute::XorPeerAddress(decode_address(v, Some(tid), t, offset)?),
            XOR_RELAYED_ADDRESS => {
                Attribute::XorRelayedAddress(decode_address(v, Some(tid), t, offset)?)
            }
            USERNAME => {
                check_len(v.len(), MAX_USERNAME_LEN, t, offset)?;
                Attribute::Username(Text::from_bytes(value, t, offset)?)
            }
            REALM | NONCE | SOFTWARE | ALTERNATE_DOMAIN => {
                check_len(v.len(), MAX_TEXT_LEN, t, offset)?;
                let text = Text::from_bytes(value, t, offset)?;
                match t {
                    REALM => Attribute::Realm(text),
                    NONCE => Attribute::Nonce(text),
                    SOFTWARE => Attribute::Software(text),
                    _ => Attribute::AlternateDomain(text),
                }
            }
            USERHASH => Attribute::UserHash(fixed(v, t, offset)?),
            MESSAGE_INTEGRITY => Attribute::MessageIntegrity(fixed(v, t, offset)?),
            MESSAGE_INTEGRITY_SHA256 => {
                if v.len() < 16 || v.len() > 32 || !v.len().is_multiple_of(4) {
                    return Err(bad(
                        "MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4",
                    ));
                }
                Attribute::MessageIntegritySha256(value)
            }
            FINGERPRINT => Attribute::Fingerprint(u32::from_be_bytes(fixed(v, t, offset)?)),
            ERROR_CODE => {
                let (code, reason) = decode_error_code(&value, t, offset)?;
                Attribute::ErrorCode(ErrorCode { code, reason })
            }
            PASSWORD_ALGORITHMS => {
                PasswordAlgorithms::validate(&value, offset)?;
                Attribute::PasswordAlgorithms(PasswordAlgorithms(value))
            }
            PASSWORD_ALGORITHM => {
                let (a, n) = PasswordAlgorithm::decode(&value, t, offset)?;
                if n != v.len() {
                    return Err(bad("trailing bytes after PASSWORD-ALGORITHM"));
                }
                Attribute::PasswordAlgorithm(a)
            }
            UNKNOWN_ATTRIBUTES => {
                if !v.len().is_multiple_of(2) {
                    return Err(bad("odd length"));
                }
                Attribute::UnknownAttributes(UnknownAttributes(value))
            }
            PRIORITY => Attribute::Priority(u32::from_be_bytes(fixed(v, t, offset)?)),
            USE_CANDIDATE | DONT_FRAGMENT => {
                if !v.is_empty() {
                    return Err(bad("flag attribute must be empty"));
                }
                if t == USE_CANDIDATE {
                    Attribute::UseCandidate
                } else {
                    Attribute::DontFragment
                }
            }
            ICE_CONTROLLED => Attribute::IceControlled(u64::from_be_bytes(fixed(v, t, offset)?)),
            ICE_CONTROLLING => Attribute::IceControlling(u64::from_be_bytes(fixed(v, t, offset)?)),
            CHANNEL_NUMBER => {
                let b: [u8; 4] = fixed(v, t, offset)?;
                Attribute::ChannelNumber(u16::from_be_bytes([b[0], b[1]]))
            }
            LIFETIME => Attribute::Lifetime(u32::from_be_bytes(fixed(v, t, offset)?)),
            DATA => Attribute::Data(value),
            REQUESTED_ADDRESS_FAMILY | ADDITIONAL_ADDRESS_FAMILY => {
                let b: [u8; 4] = fixed(v, t, offset)?;
                let f = AddressFamily::from_u8(b[0], t, offset)?;
                if t == REQUESTED_ADDRESS_FAMILY {
                    Attribute::RequestedAddressFamily(f)
                } else {
                    Attribute::AdditionalAddressFamily(f)
                }
            }
            ADDRESS_ERROR_CODE => {
                let fam = match v.first() {
                    Some(f) => AddressFamily::from_u8(*f, t, offset)?,
                    None => return Err(bad("empty ADDRESS-ERROR-CODE")),
                };
                let (code, reason) = decode_error_code(&value, t, offset)?;
                Attribute::AddressErrorCode {
                    family: fam,
                    code,
                    reason,
                }
            }
            EVEN_PORT => {
                let [b]: [u8; 1] = fixed(v, t, offset)?;
                Attribute::EvenPort(b & 0x80 != 0)
            }
            REQUESTED_TRANSPORT => {
                let b: [u8; 4] = fixed(v, t, offset)?;
                Attribute::RequestedTransport(b[0])
            }
            RESERVATION_TOKEN => Attribute::ReservationToken(fixed(v, t, offset)?),
            ICMP => {
                let b: [u8; 8] = fixed(v, t, offset)?;
                Attribute::Icmp {
                    icmp_type: b[2],
                    icmp_code: b[3],
                    error_data: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                }
            }
            _ => Attribute::Unknown {
                attr_type: t,
                value,
            },
        })
    }

    /// Length of the value, without header and padding.
    pub fn value_len(&self) -> usize {
        match self {
            Attribute::MappedAddress(a)
            | Attribute::XorMappedAddress(a)
            | Attribute::AlternateServer(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => address_len(a),
            Attribute::Username(t)
            | Attribute::Realm(t)
            | Attribute::Nonce(t)
            | Attribute::Software(t)
            | Attribute::AlternateDomain(t) => t.0.len(),
            Attribute::UserHash(_) => 32,
            Attribute::MessageIntegrity(_) => 20,
            Attribute::MessageIntegritySha256(b) | Attribute::Data(b) => b.len(),
            Attribute::Fingerprint(_) | Attribute::Priority(_) | Attribute::Lifetime(_) => 4,
            Attribute::ErrorCode(e) => 4 + e.reason.0.len(),
            Attribute::AddressErrorCode { reason, .. } => 4 + reason.0.len(),
            Attribute::PasswordAlgorithms(p) => p.0.len(),
            Attribute::PasswordAlgorithm(p) => p.encoded_len(),
            Attribute::UnknownAttributes(u) => u.0.len(),
            Attribute::UseCandidate | Attribute::DontFragment => 0,
            Attribute::IceControlled(_) | Attribute::IceControlling(_) => 8,
            Attribute::ChannelNumber(_)
            | Attribute::RequestedAddressFamily(_)
            | Attribute::AdditionalAddressFamily(_)
            | Attribute::RequestedTransport(_) => 4,
            Attribute::EvenPort(_) => 1,
            Attribute::ReservationToken(_) | Attribute::Icmp { .. } => 8,
            Attribute::Unknown { value, .. } => value.len(),
        }
    }

    /// Bytes on the wire: header, value and padding.
    pub fn encoded_len(&self) -> usize {
        4 + padded(self.value_len())
    }

    /// Write header, value and zero padding. XOR addresses need the transaction id.
    /// Values longer than 65535 bytes are the caller's error; [`crate::MessageBuilder`]
    /// checks before calling this.
    pub fn write_to(&self, tid: &TransactionId, out: &mut impl BufMut) {
        let len = self.value_len();
        out.put_u16(self.attr_type());
        out.put_u16(len as u16);
        match self {
            Attribute::MappedAddress(a) | Attribute::AlternateServer(a) => {
                write_address(a, None, out)
            }
            Attribute::XorMappedAddress(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => write_address(a, Some(tid), out),
            Attribute::Username(t)
            | Attribute::Realm(t)
            | Attribute::Nonce(t)
            | Attribute::Software(t)
            | Attribute::AlternateDomain(t) => out.put_slice(&t.0),
            Attribute::UserHash(h) => out.put_slice(h),
            Attribute::MessageIntegrity(h) => out.put_slice(h),
            Attribute::MessageIntegritySha256(b) | Attribute::Data(b) => out.put_slice(b),
            Attribute::Fingerprint(v) | Attribute::Priority(v) | Attribute::Lifetime(v) => {
                out.put_u32(*v)
            }
            Attribute::ErrorCode(e) => {
                out.put_u16(0);
                out.put_u8((e.code / 100) as u8 & 0x07);
                out.put_u8((e.code % 100) as u8);
                out.put_slice(&e.reason.0);
            }
            Attribute::AddressErrorCode {
                family,
                code,
                reason,
            } => {
                out.put_u8(family.to_u8());
                out.put_u8(0);
                out.put_u8((code / 100) as u8 & 0x07);
                out.put_u8((code % 100) as u8);
                out.put_slice(&reason.0);
            }
            Attribute::PasswordAlgorithms(p) => out.put_slice(&p.0),
            Attribute::PasswordAlgorithm(p) => p.write(out),
            Attribute::UnknownAttributes(u) => out.put_slice(&u.0),
            Attribute::UseCandidate | Attribute::DontFragment => {}
            Attribute::IceControlled(v) | Attribute::IceControlling(v) => out.put_u64(*v),
            Attribute::ChannelNumber(c) => {
                out.put_u16(*c);
                out.put_u16(0);
            }
            Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f) => {
                out.put_u8(f.to_u8());
                out.put_bytes(0, 3);
            }
            Attribute::RequestedTransport(p) => {
                out.put_u8(*p);
                out.put_bytes(0, 3);
            }
            Attribute::EvenPort(r) => out.put_u8(if *r { 0x80 } else { 0 }),
            Attribute::ReservationToken(t) => out.put_slice(t),
            Attribute::Icmp {
                icmp_type,
                icmp_code,
                error_data,
            } => {
                out.put_u16(0);
                out.put_u8(*icmp_type);
                out.put_u8(*icmp_code);
                out.put_u32(*error_data);
            }
            Attribute::Unknown { value, .. } => out.put_slice(value),
        }
        put_padding(out, len);
    }
}

impl Attribute {
    /// Check that the attribute can be encoded so that it decodes back to itself.
    pub fn validate(&self) -> Result<(), Error> {
        let t = self.attr_type();
        let bad = |reason| Error::InvalidAttribute {
            attr_type: t,
            offset: 0,
            reason,
        };
        let len = self.value_len();
        if len > usize::from(u16::MAX) {
            return Err(Error::ValueTooLong { attr_type: t, len });
        }
        match self {
            Attribute::Username(u) if u.0.len() > MAX_USERNAME_LEN => {
                Err(Error::ValueTooLong { attr_type: t, len })
            }
            Attribute::Realm(x)
            | Attribute::Nonce(x)
            | Attribute::Software(x)
            | Attribute::AlternateDomain(x)
            | Attribute::ErrorCode(ErrorCode { reason: x, .. })
            | Attribute::AddressErrorCode { reason: x, .. }
                if x.0.len() > MAX_TEXT_LEN =>
            {
                Err(Error::ValueTooLong { attr_type: t, len })
            }
            Attribute::ErrorCode(ErrorCode { code, .. })
            | Attribute::AddressErrorCode { code, .. }
                if !(300..=699).contains(code) =>
            {
                Err(bad("error code outside 300..699"))
            }
            Attribute::MessageIntegritySha256(b)
                if b.len() < 16 || b.len() > 32 || !b.len().is_multiple_of(4) =>
            {
                Err(bad(
                    "MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4",
                ))
            }
            Attribute::PasswordAlgorithm(p) if p.params.len() > usize::from(u16::MAX) => {
                Err(bad("parameters too long"))
            }
            Attribute::UnknownAttributes(u) if !u.0.len().is_multiple_of(2) => {
                Err(bad("odd length"))
            }
            Attribute::Unknown { attr_type, .. } if attr::is_known(*attr_type) => {
                Err(bad("raw attribute uses the type of a known attribute"))
            }
            _ => Ok(()),
        }
    }
}
