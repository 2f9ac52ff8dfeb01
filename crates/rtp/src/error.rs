//! The one error type of ferrtc-rtp.

/// Everything that can go wrong while parsing or building RTP packets and header extensions.
///
/// Messages say what was wrong and where (byte offsets are from the start of the packet, or
/// of the extension block for element errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer than 12 bytes: no room for the fixed header (RFC 3550 §5.1).
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The version field (first two bits) is not 2.
    #[error("RTP version {version} at offset 0: only version 2 is supported")]
    BadVersion {
        /// Version found.
        version: u8,
    },
    /// The CSRC list announced by CC does not fit.
    #[error("RTP header with {count} CSRCs needs {needed} bytes, packet has {len}")]
    TruncatedCsrc {
        /// CSRC count.
        count: u8,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// The header extension (X bit) does not fit.
    #[error("RTP header extension at offset {offset}: needs {needed} bytes, packet has {len}")]
    TruncatedExtension {
        /// Offset of the extension header.
        offset: usize,
        /// Bytes needed up to the end of the extension.
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// P is set but the last octet is zero (it must count itself, RFC 3550 §5.1).
    #[error("RTP padding count at offset {offset} is 0, but with P set it must count itself")]
    ZeroPadding {
        /// Offset of the padding count octet.
        offset: usize,
    },
    /// P is set and the padding count is larger than what follows the header.
    #[error("RTP padding count {count} at offset {offset} exceeds the {available} bytes after the header")]
    PaddingTooLong {
        /// The padding count octet.
        count: u8,
        /// Offset of the padding count octet.
        offset: usize,
        /// Bytes after the header.
        available: usize,
    },
    /// An element of an RFC 8285 extension block runs past the block.
    #[error("header extension element id {id} at offset {offset} of the block: length {len} runs past the block end")]
    ExtensionElementTruncated {
        /// Element id.
        id: u8,
        /// Offset in the extension block.
        offset: usize,
        /// Announced data length.
        len: usize,
    },
    /// An extension element id that the chosen form cannot carry.
    #[error("header extension id {id} cannot be used in the {form} form")]
    InvalidExtensionId {
        /// Element id.
        id: u8,
        /// "one-byte" or "two-byte".
        form: &'static str,
    },
    /// An extension element whose length the chosen form cannot carry.
    #[error("header extension id {id}: a {len}-byte value cannot be encoded in the {form} form")]
    ExtensionValueTooLong {
        /// Element id.
        id: u8,
        /// Data length.
        len: usize,
        /// "one-byte" or "two-byte".
        form: &'static str,
    },
    /// The same extension id appears twice in a block being built.
    #[error("header extension id {id} appears twice")]
    DuplicateExtensionId {
        /// Element id.
        id: u8,
    },
    /// An extension block longer than its 16-bit word count, or not a multiple of 4 bytes.
    #[error(
        "header extension block of {len} bytes is not a multiple of 4 of at most 262140 bytes"
    )]
    InvalidExtensionBlock {
        /// Block length.
        len: usize,
    },
    /// Too many CSRCs (the CC field has 4 bits).
    #[error("{count} CSRCs given, an RTP header holds at most 15")]
    TooManyCsrcs {
        /// Count given.
        count: usize,
    },
    /// A typed extension value has the wrong length.
    #[error("{what} extension value of {got} bytes: expected {expected}")]
    ExtensionValueLength {
        /// Extension name.
        what: &'static str,
        /// Lengths accepted.
        expected: &'static str,
        /// Length found.
        got: usize,
    },
    /// A typed extension value is out of range.
    #[error("{what} extension value is invalid: {why}")]
    InvalidExtensionValue {
        /// Extension name.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
    /// An extension map entry that cannot be used.
    #[error(
        "extension map id {id} is invalid: ids are 1..=255 and 15 is reserved in the one-byte form"
    )]
    InvalidMapId {
        /// The id.
        id: u8,
    },
    /// An RTX packet without room for the original sequence number (RFC 4588 §4).
    #[error("RTX payload of {len} bytes has no 2-byte original sequence number")]
    RtxTooShort {
        /// Payload length.
        len: usize,
    },
}
