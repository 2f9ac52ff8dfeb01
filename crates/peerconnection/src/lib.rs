#![doc = include_str!("../README.md")]
//!
//! ## Driving it
//!
//! The caller binds UDP sockets and hands their addresses in
//! ([`PeerConnection::add_local_interface`]), feeds every datagram
//! ([`PeerConnection::handle_receive`]) and calls [`PeerConnection::poll_output`] until it
//! returns [`Output::Timeout`]: each [`Output::Transmit`] is sent from the socket named by its
//! `source` (a UDP datagram, or with `transport` TCP/TLS the next bytes of the stream to that
//! TURN server, the first ones meaning "connect"; bytes read back go to
//! [`PeerConnection::handle_stream_data`]), each [`Output::Event`] is for the application, and
//! at the timeout
//! [`PeerConnection::handle_timeout`] is due.
//!
//! ## Where things are
//!
//! - `connection/`: the [`PeerConnection`] state machine. `mod.rs` holds the struct, the
//!   `poll_output` loop and the pump that moves data between the layers; `signaling`
//!   (offer/answer, rollback), `candidates` (gathering, trickle), `transport` (ICE + DTLS
//!   wiring, RFC 7983 demultiplexing), `channels` (data channels), `state` and `event` (the
//!   W3C enums and the outputs).
//!   `transceivers` holds the transceiver API (`add_transceiver`, `add_track`,
//!   `remove_track`, `replace_track`, `set_direction`, `stop_transceiver`,
//!   `set_codec_preferences`, `set_media_mode`) and applies descriptions to the transceiver
//!   table (association, track events, negotiated codecs and extensions).
//! - `jsep/`: the SDP side: `remote` reads a remote description (with each audio/video
//!   section's codecs, extensions, SSRCs, msid, RIDs), `offer` and `answer` plan the local
//!   sections (one audio/video section per transceiver), `write` prints them.
//! - the [`stats`] module: `getStats()`.
//! - `config`: [`Configuration`].
//!
//! - `media/`: the media engine beside `connection/` (transceivers, senders, receivers, the
//!   BUNDLE router, RTCP reports, NACK/RTX, SRTP session, stats), wired into
//!   `connection/transport.rs` where RTP/RTCP datagrams are demultiplexed, and into the pump.
#![forbid(unsafe_code)]

mod config;
mod connection;
mod jsep;
pub mod media;
pub mod stats;

pub use config::{
    BundlePolicy, Configuration, IceScheme, IceServer, IceServerTransport, IceServerUrl,
    IceTransportPolicy,
};
pub use connection::{
    Channel, ChannelId, DataChannelInfo, DtlsTransportState, Event, IceCandidateInit,
    IceGatheringState, OfferOptions, Output, PeerConnection, PeerConnectionState, SignalingState,
};
pub use ferrtc_datachannel::{ChannelError, ChannelInit, ChannelStats, ReadyState};
pub use ferrtc_ice::{ConnectionState as IceConnectionState, Datagram, Transmit};
pub use ferrtc_sdp::{RtcSessionDescription, SdpType};
pub use media::{
    Codec, Direction, KeyframeRequestKind, LocalTrack, MediaKind, MediaMode, OutgoingFrame,
    ReceivedFrame, RtcpFeedback, SendEncoding, TrackInfo, TransceiverId, TransceiverInfo,
    TransceiverInit,
};

/// Errors of the peer connection. Each names the W3C exception a browser would throw, so
/// applications can map them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The call is not allowed in the current signaling state (W3C `InvalidStateError`).
    #[error("InvalidStateError: {0}")]
    InvalidState(String),
    /// A description could not be parsed or used (W3C `InvalidAccessError` / `OperationError`).
    #[error("invalid session description: {0}")]
    InvalidDescription(String),
    /// A configuration value is wrong (W3C `InvalidAccessError` / `SyntaxError`).
    #[error("invalid configuration: {0}")]
    InvalidConfiguration(String),
    /// A candidate could not be parsed or used (W3C `OperationError`).
    #[error("invalid ICE candidate: {0}")]
    InvalidCandidate(String),
    /// The data channel does not exist.
    #[error("no such data channel")]
    NoSuchChannel,
    /// The transceiver does not exist.
    #[error("no such transceiver")]
    NoSuchTransceiver,
    /// A change the object does not allow (W3C `InvalidModificationError`, e.g.
    /// `setCodecPreferences` with a codec that is not supported).
    #[error("InvalidModificationError: {0}")]
    InvalidModification(String),
    /// An argument that cannot be used here (W3C `InvalidAccessError`, e.g. `addTrack` of a
    /// track that already has a sender).
    #[error("InvalidAccessError: {0}")]
    InvalidAccess(String),
    /// The message exceeds the remote `max-message-size` (W3C `TypeError`).
    #[error("TypeError: message of {size} bytes exceeds the remote max-message-size {max}")]
    MessageTooLarge {
        /// Message size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The connection is closed (W3C `InvalidStateError`).
    #[error("InvalidStateError: the peer connection is closed")]
    Closed,
    /// From the data channel layer.
    #[error(transparent)]
    DataChannel(#[from] ferrtc_datachannel::Error),
    /// From DTLS.
    #[error("DTLS: {0}")]
    Dtls(String),
    /// From ICE.
    #[error(transparent)]
    Ice(#[from] ferrtc_ice::Error),
}

impl From<ferrtc_dtls::Error> for Error {
    fn from(e: ferrtc_dtls::Error) -> Self {
        Error::Dtls(e.to_string())
    }
}

impl From<ferrtc_sdp::Error> for Error {
    fn from(e: ferrtc_sdp::Error) -> Self {
        Error::InvalidDescription(e.to_string())
    }
}
