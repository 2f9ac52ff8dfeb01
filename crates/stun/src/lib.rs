//! STUN (RFC 8489) messages, integrity, fingerprint and sans-IO client transactions.
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
#![forbid(unsafe_code)]

mod attributes;
pub mod demux;
mod error;
mod header;
mod integrity;
mod message;
mod transaction;

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
    ClientTransaction, TransactionConfig, TransactionEvent, TransportReliability,
};
