//! The one error type of ferrtc-media-codecs.

/// Everything that can go wrong while packetizing, depacketizing, assembling frames or reading
/// and writing media files. Offsets are from the start of the buffer given to the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// A field holds a value its specification forbids.
    #[error("{what} at offset {offset}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
        /// Why it is invalid (names the rule, e.g. "FU-A with both S and E set, RFC 6184 §5.8").
        reason: &'static str,
    },
    /// A payload arrived that cannot continue the unit being reassembled (e.g. an FU-A middle
    /// fragment without its start). The partial unit is discarded; nothing wrong is emitted.
    #[error("{codec}: {reason}")]
    Discontinuity {
        /// Codec name.
        codec: &'static str,
        /// What was missing.
        reason: &'static str,
    },
    /// The MTU cannot hold even the payload header plus one byte of data.
    #[error("maximum payload size {max_payload} too small for {codec} (needs at least {needed})")]
    MtuTooSmall {
        /// Codec name.
        codec: &'static str,
        /// Maximum payload size given.
        max_payload: usize,
        /// Smallest size that works.
        needed: usize,
    },
    /// An explicit limit was reached (frame size, packets per frame, OBUs per temporal unit...).
    #[error("limit exceeded: {what} (limit {limit})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
    /// The input frame is not what the codec accepts (empty, not Annex B, ...).
    #[error("invalid frame for {codec}: {reason}")]
    BadFrame {
        /// Codec name.
        codec: &'static str,
        /// Why.
        reason: &'static str,
    },
}
