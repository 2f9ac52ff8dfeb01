//! The W3C state enums of the peer connection and its transports.

#[cfg(doc)]
use super::PeerConnection;

/// `RTCSignalingState` (W3C webrtc-pc §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// A local offer was applied.
    HaveLocalOffer,
    /// A remote offer was applied.
    HaveRemoteOffer,
    /// A remote offer and a local provisional answer were applied.
    HaveLocalPranswer,
    /// A local offer and a remote provisional answer were applied.
    HaveRemotePranswer,
    /// The connection is closed.
    Closed,
}

/// `RTCIceGatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceGatheringState {
    /// Nothing gathered yet (no local description).
    New,
    /// Gathering.
    Gathering,
    /// Done: every candidate was signalled.
    Complete,
}

/// `RTCPeerConnectionState` (W3C webrtc-pc §4.3.3): the aggregate of ICE and DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// ICE connected and DTLS connected.
    Connected,
    /// ICE disconnected.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// [`PeerConnection::close`] was called.
    Closed,
}

/// `RTCDtlsTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsTransportState {
    /// Not started.
    New,
    /// Handshake in progress.
    Connecting,
    /// Connected and the peer authenticated.
    Connected,
    /// Closed by close_notify.
    Closed,
    /// Handshake or authentication failed.
    Failed,
}

impl DtlsTransportState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DtlsTransportState::New => "new",
            DtlsTransportState::Connecting => "connecting",
            DtlsTransportState::Connected => "connected",
            DtlsTransportState::Closed => "closed",
            DtlsTransportState::Failed => "failed",
        }
    }
}
