//! The error-reporting attributes: ERROR-CODE (RFC 8489 §14.8), UNKNOWN-ATTRIBUTES
//! (§14.9) and ADDRESS-ERROR-CODE (RFC 8656 §18.12).

use super::address::AddressFamily;
use super::text::{Text, MAX_TEXT_LEN};
use crate::wire::{NomError, Reason};
use bytes::{BufMut, Bytes};
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

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

/// The ERROR-CODE value (RFC 8489 §14.8, Figure 7): the code and the bytes of the reason
/// phrase (not yet checked).
///
/// ```text
/// |           Reserved, should be 0         |Class|     Number    |
/// |      Reason Phrase (variable)                                ..
/// ```
///
/// ADDRESS-ERROR-CODE (RFC 8656 §18.12) has the same layout with the family in the first
/// reserved byte.
pub(crate) fn code_and_reason(v: &[u8]) -> Result<(u16, &[u8]), Reason> {
    let (reason, (_, class, number)) = (be_u16, be_u8, be_u8)
        .parse(v)
        .map_err(|_: nom::Err<NomError<'_>>| "error code shorter than 4 bytes")?;
    let (class, number) = (u16::from(class & 0x07), u16::from(number));
    if !(3..=6).contains(&class) || number > 99 {
        return Err("error code outside 300..699");
    }
    Ok((class * 100 + number, reason))
}

/// ERROR-CODE with its reason phrase as zero-copy text.
pub(crate) fn error_code_value(value: &Bytes) -> Result<(u16, Text), Reason> {
    let (code, reason) = code_and_reason(value)?;
    Ok((code, Text::parse(value, reason, MAX_TEXT_LEN)?))
}

/// ADDRESS-ERROR-CODE (RFC 8656 §18.12): the family in the first byte, then as ERROR-CODE.
pub(crate) fn address_error_code_value(
    value: &Bytes,
) -> Result<(AddressFamily, u16, Text), Reason> {
    let (_, family) = be_u8
        .parse(&value[..])
        .map_err(|_: nom::Err<NomError<'_>>| "empty ADDRESS-ERROR-CODE")?;
    let family = AddressFamily::from_u8(family)?;
    let (code, reason) = error_code_value(value)?;
    Ok((family, code, reason))
}

/// Write an ERROR-CODE value; `first` is the first reserved byte (the family of
/// ADDRESS-ERROR-CODE).
pub(crate) fn write_error_code(first: u8, code: u16, reason: &Text, out: &mut impl BufMut) {
    out.put_u8(first);
    out.put_u8(0);
    out.put_u8((code / 100) as u8 & 0x07);
    out.put_u8((code % 100) as u8);
    out.put_slice(&reason.0);
}

/// UNKNOWN-ATTRIBUTES: the list of 16-bit types, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAttributes(pub(crate) Bytes);

impl UnknownAttributes {
    /// Build the list (allocates).
    pub fn new(types: &[u16]) -> Self {
        let mut v = Vec::with_capacity(types.len() * 2);
        for t in types {
            v.put_u16(*t);
        }
        UnknownAttributes(Bytes::from(v))
    }
    /// The value of UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): 16-bit types, so an even length.
    pub(crate) fn parse(value: Bytes) -> Result<Self, Reason> {
        if !value.len().is_multiple_of(2) {
            return Err("odd length");
        }
        Ok(UnknownAttributes(value))
    }
    /// The attribute types.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            let (r, t) = be_u16::<_, NomError<'_>>(rest).ok()?;
            rest = r;
            Some(t)
        })
    }
}
