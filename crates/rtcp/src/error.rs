//! The one error type of ferrtc-rtcp.

/// Everything that can go wrong while parsing or building RTCP. Offsets are from the start of
/// the buffer given to the parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing to parse.
    #[error("empty RTCP packet")]
    Empty,
    /// Not enough bytes for a field or structure.
    #[error("{what} at offset {offset}: needs {needed} bytes, {available} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Version is not 2.
    #[error("RTCP packet at offset {offset}: version {version}, only 2 is valid")]
    BadVersion {
        /// Offset of the packet.
        offset: usize,
        /// Version found.
        version: u8,
    },
    /// The length field points past the end of the buffer.
    #[error(
        "RTCP packet at offset {offset}: length field says {length} bytes, {available} remain"
    )]
    BadLength {
        /// Offset of the packet.
        offset: usize,
        /// Length announced, in bytes.
        length: usize,
        /// Bytes remaining.
        available: usize,
    },
    /// The padding count is 0 or larger than the packet body.
    #[error("RTCP packet at offset {offset}: padding count {count} is invalid for a {length}-byte packet")]
    BadPadding {
        /// Offset of the packet.
        offset: usize,
        /// Padding count octet.
        count: u8,
        /// Packet length.
        length: usize,
    },
    /// A compound packet that does not start with SR or RR (RFC 3550 §6.1, A.2).
    #[error("compound RTCP must start with SR or RR (RFC 3550 §6.1); the first packet has type {packet_type}")]
    FirstNotReport {
        /// Packet type found.
        packet_type: u8,
    },
    /// Padding on a packet that is not the last of a compound (RFC 3550 §6.4.1, A.2).
    #[error("RTCP packet at offset {offset}: only the last packet of a compound may be padded (RFC 3550 §6.4.1)")]
    PaddingNotLast {
        /// Offset of the packet.
        offset: usize,
    },
    /// A compound packet without an SDES CNAME item (RFC 3550 §6.1), in strict mode.
    #[error("compound RTCP has no SDES packet with a CNAME item (RFC 3550 §6.1)")]
    MissingCname,
    /// More packets than the configured limit.
    #[error("compound RTCP has more than {max} packets")]
    TooManyPackets {
        /// The limit.
        max: usize,
    },
    /// A field value that the format forbids.
    #[error("{what} at offset {offset}: {why}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
        /// Why it is invalid.
        why: &'static str,
    },
    /// A value that cannot be built or encoded.
    #[error("cannot build {what}: {why}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
}
