//! Typed STUN attributes of RFC 8489, RFC 8445 (ICE) and RFC 8656 (TURN).
//!
//! Decoding is zero-copy: text and data values are [`Bytes`] slices of the received
//! message. Attributes this crate does not know are kept raw as [`Attribute::Unknown`].
//!
//! One module per family, each with its types and the nom grammar of its values:
//! `address` (the address attributes and families), `text` (USERNAME, REALM, NONCE,
//! SOFTWARE, ALTERNATE-DOMAIN), `errors` (ERROR-CODE, UNKNOWN-ATTRIBUTES,
//! ADDRESS-ERROR-CODE), `password` (PASSWORD-ALGORITHM(S)), `attr` (the type numbers);
//! the fixed-size ICE and TURN values are single nom parsers in [`Attribute::decode`].

pub(crate) mod address;
pub mod attr;
pub(crate) mod errors;
pub(crate) mod password;
pub(crate) mod text;

pub use address::AddressFamily;
pub use errors::{error_code, ErrorCode, UnknownAttributes};
pub use password::{PasswordAlgorithm, PasswordAlgorithms};
pub use text::{Text, MAX_TEXT_LEN, MAX_USERNAME_LEN};

use crate::error::Error;
use crate::header::TransactionId;
use crate::wire::{array, exact, padded, Reason};
use address::{address, address_len, family_value, write_address};
use bytes::{BufMut, Bytes};
use errors::{address_error_code_value, error_code_value, write_error_code};
use nom::number::complete::{be_u16, be_u32, be_u64, be_u8};
use std::net::SocketAddr;

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

fn put_padding(out: &mut impl BufMut, n: usize) {
    out.put_bytes(0, padded(n) - n);
}

/// CHANNEL-NUMBER (RFC 8656 §18.1): the channel number and 16 reserved bits.
pub(crate) fn channel_number(v: &[u8]) -> Result<u16, Reason> {
    exact((be_u16, be_u16), v).map(|(c, _rffu)| c)
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
        Self::decode_value(attr_type, value, tid).map_err(|reason| Error::InvalidAttribute {
            attr_type,
            offset,
            reason,
        })
    }

    /// The value grammar of each known type; values stay slices of `value`.
    fn decode_value(t: u16, value: Bytes, tid: &TransactionId) -> Result<Attribute, Reason> {
        use attr::*;
        let v = &value[..];
        Ok(match t {
            MAPPED_ADDRESS => Attribute::MappedAddress(address(v, None)?),
            XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(address(v, Some(tid))?),
            ALTERNATE_SERVER => Attribute::AlternateServer(address(v, None)?),
            XOR_PEER_ADDRESS => Attribute::XorPeerAddress(address(v, Some(tid))?),
            XOR_RELAYED_ADDRESS => Attribute::XorRelayedAddress(address(v, Some(tid))?),
            USERNAME => Attribute::Username(Text::parse(&value, v, MAX_USERNAME_LEN)?),
            REALM => Attribute::Realm(Text::parse(&value, v, MAX_TEXT_LEN)?),
            NONCE => Attribute::Nonce(Text::parse(&value, v, MAX_TEXT_LEN)?),
            SOFTWARE => Attribute::Software(Text::parse(&value, v, MAX_TEXT_LEN)?),
            ALTERNATE_DOMAIN => Attribute::AlternateDomain(Text::parse(&value, v, MAX_TEXT_LEN)?),
            USERHASH => Attribute::UserHash(exact(array::<32>, v)?),
            MESSAGE_INTEGRITY => Attribute::MessageIntegrity(exact(array::<20>, v)?),
            MESSAGE_INTEGRITY_SHA256 => {
                // RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4 (a truncated HMAC).
                if v.len() < 16 || v.len() > 32 || !v.len().is_multiple_of(4) {
                    return Err("MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4");
                }
                Attribute::MessageIntegritySha256(value)
            }
            FINGERPRINT => Attribute::Fingerprint(exact(be_u32, v)?),
            ERROR_CODE => {
                let (code, reason) = error_code_value(&value)?;
                Attribute::ErrorCode(ErrorCode { code, reason })
            }
            PASSWORD_ALGORITHMS => Attribute::PasswordAlgorithms(PasswordAlgorithms::parse(value)?),
            PASSWORD_ALGORITHM => Attribute::PasswordAlgorithm(PasswordAlgorithm::parse(&value)?),
            UNKNOWN_ATTRIBUTES => Attribute::UnknownAttributes(UnknownAttributes::parse(value)?),
            PRIORITY => Attribute::Priority(exact(be_u32, v)?),
            USE_CANDIDATE | DONT_FRAGMENT => {
                if !v.is_empty() {
                    return Err("flag attribute must be empty");
                }
                if t == USE_CANDIDATE {
                    Attribute::UseCandidate
                } else {
                    Attribute::DontFragment
                }
            }
            ICE_CONTROLLED => Attribute::IceControlled(exact(be_u64, v)?),
            ICE_CONTROLLING => Attribute::IceControlling(exact(be_u64, v)?),
            CHANNEL_NUMBER => Attribute::ChannelNumber(channel_number(v)?),
            LIFETIME => Attribute::Lifetime(exact(be_u32, v)?),
            DATA => Attribute::Data(value),
            REQUESTED_ADDRESS_FAMILY => Attribute::RequestedAddressFamily(family_value(v)?),
            ADDITIONAL_ADDRESS_FAMILY => Attribute::AdditionalAddressFamily(family_value(v)?),
            ADDRESS_ERROR_CODE => {
                let (family, code, reason) = address_error_code_value(&value)?;
                Attribute::AddressErrorCode {
                    family,
                    code,
                    reason,
                }
            }
            // RFC 8656 §18.7: R bit, then 7 reserved bits.
            EVEN_PORT => Attribute::EvenPort(exact(be_u8, v)? & 0x80 != 0),
            // RFC 8656 §18.8: protocol number, then 24 reserved bits.
            REQUESTED_TRANSPORT => Attribute::RequestedTransport(exact((be_u8, array::<3>), v)?.0),
            RESERVATION_TOKEN => Attribute::ReservationToken(exact(array::<8>, v)?),
            // RFC 8656 §18.13: 16 reserved bits, ICMP type, ICMP code, error data.
            ICMP => {
                let (_, icmp_type, icmp_code, error_data) =
                    exact((be_u16, be_u8, be_u8, be_u32), v)?;
                Attribute::Icmp {
                    icmp_type,
                    icmp_code,
                    error_data,
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
            Attribute::ErrorCode(e) => write_error_code(0, e.code, &e.reason, out),
            Attribute::AddressErrorCode {
                family,
                code,
                reason,
            } => write_error_code(family.to_u8(), *code, reason, out),
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
