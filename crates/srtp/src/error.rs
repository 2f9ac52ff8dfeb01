//! The one error type of ferrtc-srtp.

/// Which kind of packet an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// An SRTP (RTP) packet.
    Srtp,
    /// An SRTCP (RTCP) packet.
    Srtcp,
}

impl std::fmt::Display for PacketKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PacketKind::Srtp => "SRTP",
            PacketKind::Srtcp => "SRTCP",
        })
    }
}

/// Everything that can go wrong when protecting or unprotecting a packet.
///
/// On every error the caller's buffer is left exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The packet is shorter than its header, trailer and tag require.
    #[error("{kind} packet of {len} bytes is too short: {what} needs {need} bytes")]
    TooShort {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// Which part did not fit.
        what: &'static str,
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The packet header is not a valid RTP/RTCP version 2 header.
    #[error("{kind} header: version {version} is not 2")]
    BadVersion {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// The version bits found.
        version: u8,
    },
    /// The authentication tag does not match: forged, corrupted, or wrong key/ROC.
    #[error("{kind} authentication tag mismatch for SSRC {ssrc:#010x} at index {index}")]
    AuthFailed {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// SSRC of the packet.
        ssrc: u32,
        /// Estimated packet index (48-bit SRTP index or 31-bit SRTCP index).
        index: u64,
    },
    /// A packet with this index was already seen (or protected, for outbound).
    #[error("{kind} replay: SSRC {ssrc:#010x} index {index} was already seen")]
    Replay {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// SSRC of the packet.
        ssrc: u32,
        /// Packet index.
        index: u64,
    },
    /// The packet is older than the replay window.
    #[error("{kind} packet too old: SSRC {ssrc:#010x} index {index} is behind the replay window (highest {highest}, window {window})")]
    TooOld {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// SSRC of the packet.
        ssrc: u32,
        /// Packet index.
        index: u64,
        /// Highest index seen on this stream.
        highest: u64,
        /// Replay window size in packets.
        window: u64,
    },
    /// A new SSRC arrived but the context already holds its configured maximum of streams.
    #[error("{kind}: unknown SSRC {ssrc:#010x} and the stream limit of {limit} is reached")]
    TooManyStreams {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// The new SSRC.
        ssrc: u32,
        /// The configured limit.
        limit: usize,
    },
    /// The master key has protected as many packets as allowed (RFC 3711 §9.2).
    #[error("{kind}: master key exhausted after {packets} packets, rekey required")]
    KeyExhausted {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// The limit that was reached.
        packets: u64,
    },
    /// The MKI of the packet is not the one of this context's master key.
    #[error("{kind}: MKI of the packet does not match the master key's MKI")]
    MkiMismatch {
        /// SRTP or SRTCP.
        kind: PacketKind,
    },
    /// A key, salt or keying material had the wrong length for the profile.
    #[error("{what}: {len} bytes, the profile {profile} requires {need}")]
    KeyLength {
        /// Which input.
        what: &'static str,
        /// Profile name.
        profile: &'static str,
        /// Length given.
        len: usize,
        /// Length required.
        need: usize,
    },
    /// An invalid configuration value.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// Not supported by this implementation.
    #[error("{kind}: unsupported: {what}")]
    Unsupported {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// What.
        what: &'static str,
    },
    /// The crypto backend refused an operation (a bug or an impossible input length).
    #[error("{kind}: crypto backend error: {what}")]
    Crypto {
        /// SRTP or SRTCP.
        kind: PacketKind,
        /// What.
        what: &'static str,
    },
}
