//! The one error type of `ferrtc-stun`.

/// Everything that can go wrong while parsing, verifying or building STUN messages.
///
/// Messages say what was wrong and where (byte offsets are from the start of the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the structure needs.
    #[error("STUN {what} truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The two most significant bits of the message type are not zero (RFC 8489 §5).
    #[error("not a STUN message: first byte {0:#04x} has the top two bits set")]
    NotStun(u8),
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5).
    #[error("STUN magic cookie is {0:#010x}, expected 0x2112a442")]
    BadMagicCookie(u32),
    /// The message length field is not a multiple of 4.
    #[error("STUN message length {0} is not a multiple of 4")]
    UnalignedLength(u16),
    /// The header's length field disagrees with the datagram size.
    #[error("STUN header declares {declared} body bytes but {actual} follow")]
    LengthMismatch {
        /// Length from the header.
        declared: usize,
        /// Bytes actually present after the header.
        actual: usize,
    },
    /// An attribute's length runs past the end of the message.
    #[error("STUN attribute {attr_type:#06x} at offset {offset}: length {length} exceeds message")]
    AttributeOverflow {
        /// Attribute type.
        attr_type: u16,
        /// Offset of the attribute header.
        offset: usize,
        /// Declared value length.
        length: usize,
    },
    /// An attribute value is malformed.
    #[error("STUN attribute {attr_type:#06x} at offset {offset}: {reason}")]
    InvalidAttribute {
        /// Attribute type.
        attr_type: u16,
        /// Offset of the attribute header (0 when not known, e.g. while encoding).
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More attributes than the configured limit.
    #[error("STUN message has more than {0} attributes")]
    TooManyAttributes(usize),
    /// FINGERPRINT must be the last attribute (RFC 8489 §14.7).
    #[error("STUN FINGERPRINT at offset {0} is not the last attribute")]
    FingerprintNotLast(usize),
    /// FINGERPRINT value does not match the CRC-32 of the message.
    #[error(
        "STUN FINGERPRINT mismatch: message carries {carried:#010x}, computed {computed:#010x}"
    )]
    FingerprintMismatch {
        /// Value in the message.
        carried: u32,
        /// Value computed over the message.
        computed: u32,
    },
    /// Neither MESSAGE-INTEGRITY nor MESSAGE-INTEGRITY-SHA256 is present.
    #[error("STUN message carries no MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256")]
    IntegrityMissing,
    /// The HMAC does not match: wrong key or tampered message.
    #[error("STUN {0} check failed (wrong key or altered message)")]
    IntegrityMismatch(&'static str),
    /// A password or username was rejected by the OpaqueString/SASLprep preparation.
    #[error("STUN credential rejected by string preparation: {0}")]
    InvalidCredential(&'static str),
    /// A value is too long to be encoded.
    #[error("STUN attribute {attr_type:#06x}: value of {len} bytes is too long")]
    ValueTooLong {
        /// Attribute type.
        attr_type: u16,
        /// Value length.
        len: usize,
    },
    /// The encoded message would exceed 65535 body bytes.
    #[error("STUN message body would be {0} bytes, more than 65535")]
    MessageTooLong(usize),
    /// A transaction was given a buffer that is not a STUN request.
    #[error("STUN transaction: {0}")]
    Transaction(&'static str),
}
