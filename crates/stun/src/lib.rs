#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! - [`Message::parse`] checks structure and FINGERPRINT without allocating; attribute
//!   values are reached only through [`Message::verify_integrity`] (constant-time
//!   MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 check) or the explicitly named
//!   [`Message::attributes_unverified`].
//! - [`MessageBuilder`] encodes into a reusable buffer and signs with a precomputed
//!   [`IntegrityKey`].
//! - [`ClientTransaction`] retransmits requests (RFC 8489 §6.2) without doing any I/O.
//! - [`demux`] tells STUN from DTLS, RTP/RTCP, ChannelData and ZRTP by the first byte
//!   (RFC 7983).
//!
//! ## String preparation
//!
//! RFC 8489 prepares passwords and realms with the OpaqueString profile of PRECIS
//! (RFC 8265 §4.2); RFC 5389 (and its test vectors, RFC 5769) used SASLprep (RFC 4013).
//! Full implementations need the Unicode character database. This crate implements the
//! subset that matters for real credentials, without tables it cannot ship:
//!
//! [`opaque_string`] (what [`IntegrityKey`] uses):
//! - maps non-ASCII space characters (Unicode Zs) to U+0020 (RFC 8265 §4.2.2 rule 1);
//! - rejects the empty string, control characters (Cc) and the default-ignorable and
//!   noncharacter code points that PRECIS FreeformClass disallows (RFC 8264 §9);
//! - applies Unicode NFC normalization (RFC 8265 §4.2.2 rule 4, with the
//!   `unicode-normalization` crate);
//! - does **not** reject code points unassigned in the Unicode version PRECIS is pinned to
//!   (that needs the general-category tables); such passwords are prepared as given.
//!
//! [`saslprep`] (for peers that still follow RFC 5389):
//! - maps the "commonly mapped to nothing" characters of RFC 3454 B.1 to nothing and
//!   non-ASCII spaces to U+0020;
//! - applies NFKC only to the compatibility characters that occur in practice and in
//!   RFC 5769: feminine/masculine ordinals, superscript digits, Roman numerals U+2160–217F
//!   and the fullwidth ASCII block U+FF01–FF5E;
//! - rejects control characters and noncharacters.
//!
//! RFC 8489 Appendix B.1 calls its password preparation OpaqueString, but the mapping it
//! shows (soft hyphen dropped, U+00AA to `a`, U+2168 to `IX`) is SASLprep's; real
//! OpaqueString rejects the soft hyphen. The vector tests use [`saslprep`] for it.
#![forbid(unsafe_code)]

mod attributes;
pub mod demux;
mod error;
mod header;
mod integrity;
mod message;
mod transaction;
mod wire;

pub use attributes::{
    attr, error_code, AddressFamily, Attribute, ErrorCode, PasswordAlgorithm, PasswordAlgorithms,
    Text, UnknownAttributes, MAX_TEXT_LEN, MAX_USERNAME_LEN,
};
pub use error::Error;
pub use header::{Class, MessageType, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE};
pub use integrity::{
    long_term_key_bytes, opaque_string, saslprep, userhash, IntegrityKey, SecurityFeatures,
    NONCE_COOKIE,
};
pub use message::{
    is_stun, stun_frame_len, Attributes, IntegrityKind, Message, MessageBuilder, ParseLimits,
    RawAttribute, FINGERPRINT_XOR, MAX_REPORTED_UNKNOWN,
};
pub use transaction::{
    ClientTransaction, LastWait, TransactionConfig, TransactionEvent, TransportReliability,
};
