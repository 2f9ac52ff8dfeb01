//! The one error type of `ferrtc-turn-client`.

use std::net::{IpAddr, SocketAddr};

/// Errors of the TURN client, its framing and ChannelData codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A STUN message could not be parsed or built.
    #[error("STUN: {0}")]
    Stun(#[from] ferrtc_stun::Error),
    /// ChannelData shorter than its header or its length field says.
    #[error("ChannelData truncated: need {needed} bytes, have {have}")]
    ChannelDataTruncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// ChannelData with a channel number outside 0x4000..=0x4FFF.
    #[error("ChannelData channel number {0:#06x} outside 0x4000..=0x4fff")]
    InvalidChannel(u16),
    /// ChannelData carries more bytes after the data than padding allows.
    #[error("ChannelData for channel {channel:#06x}: {extra} bytes after the data")]
    ChannelDataTrailing {
        /// Channel.
        channel: u16,
        /// Extra bytes.
        extra: usize,
    },
    /// A byte stream from the server starts a frame with a byte that is neither STUN nor
    /// ChannelData: the stream is out of sync and must be closed.
    #[error("stream framing lost at byte {0:#04x}: neither STUN nor ChannelData")]
    StreamDesync(u8),
    /// The stream reassembly buffer is full.
    #[error("stream buffer would exceed {0} bytes")]
    StreamBufferFull(usize),
    /// The operation needs an allocation.
    #[error("no TURN allocation (state: {0})")]
    NoAllocation(&'static str),
    /// Sending to a peer without a permission.
    #[error("no TURN permission for peer {0}")]
    NoPermission(IpAddr),
    /// The peer's family is not one of the allocation's relayed families.
    #[error("peer {0} has an address family the allocation does not relay")]
    PeerFamilyMismatch(SocketAddr),
    /// A configured limit was reached.
    #[error("limit reached: {0}")]
    Limit(&'static str),
    /// Data too large for one STUN message or ChannelData frame.
    #[error("data of {0} bytes is too large to relay")]
    DataTooLarge(usize),
    /// A datagram from an address other than the TURN server.
    #[error("datagram from {0}, which is not the TURN server")]
    NotFromServer(SocketAddr),
}
