//! The one error type of ferrtc-sctp.

/// Everything that can go wrong while parsing SCTP packets or driving an association.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended before a field could be read.
    #[error("SCTP {what} at offset {offset}: need {needed} bytes, only {available} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset of the item in the packet (or in its chunk value).
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A length field is inconsistent with its item.
    #[error("SCTP {what} at offset {offset}: invalid length {length}")]
    InvalidLength {
        /// What carried the length.
        what: &'static str,
        /// Offset of the item.
        offset: usize,
        /// The length read from the wire.
        length: usize,
    },
    /// A field holds a value the RFC forbids.
    #[error("SCTP {what} at offset {offset}: invalid value")]
    InvalidValue {
        /// The field.
        what: &'static str,
        /// Offset of the item.
        offset: usize,
    },
    /// The CRC32c of the packet does not match its Checksum field (RFC 9260 §6.8).
    #[error("SCTP checksum mismatch: packet says {received:#010x}, computed {computed:#010x}")]
    BadChecksum {
        /// Value in the common header.
        received: u32,
        /// Value computed over the packet.
        computed: u32,
    },
    /// The packet's verification tag is not the one this association expects (RFC 9260 §8.5).
    #[error("SCTP verification tag {received:#010x} does not match expected {expected:#010x}")]
    BadVerificationTag {
        /// Tag in the packet.
        received: u32,
        /// Tag expected.
        expected: u32,
    },
    /// A state cookie failed its MAC, was stale, or was malformed (RFC 9260 §5.1.5).
    #[error("SCTP state cookie rejected: {0}")]
    BadCookie(&'static str),
    /// The command needs an established association.
    #[error("SCTP association is not established")]
    NotEstablished,
    /// The association has been closed or aborted.
    #[error("SCTP association is closed")]
    Closed,
    /// The stream identifier is outside the negotiated range.
    #[error("SCTP stream {0} is outside the negotiated number of streams")]
    InvalidStream(u16),
    /// The stream is being reset and accepts no new messages.
    #[error("SCTP stream {0} is being reset")]
    StreamResetting(u16),
    /// The message exceeds the configured maximum message size.
    #[error("SCTP message of {size} bytes exceeds the maximum message size {max}")]
    MessageTooLarge {
        /// Size of the message.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The send buffer is full (configured `send_buffer_size`).
    #[error("SCTP send buffer full: {buffered} bytes buffered, limit {limit}")]
    SendBufferFull {
        /// Bytes currently buffered.
        buffered: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Empty user messages cannot be sent in SCTP DATA (RFC 9260 §3.3.1).
    #[error("SCTP cannot send an empty message")]
    EmptyMessage,
    /// A stream reset request is already outstanding for this association.
    #[error("SCTP stream reset: {0}")]
    Reset(&'static str),
}
