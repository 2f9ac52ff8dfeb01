#![doc = include_str!("../README.md")]
//!
//! ## Where things are
//!
//! The protocol crates: [`sdp`], [`stun`], [`turn_client`], [`ice`], [`dtls`], [`srtp`],
//! [`rtp`], [`rtcp`], [`sctp`], [`datachannel`], [`media_codecs`], [`peerconnection`]. The
//! sans-IO [`peerconnection::PeerConnection`] is there for people who drive their own event
//! loop; [`PeerConnection`] is the same thing driven by tokio, with [`DataChannel`] handles and
//! [`PeerEvent`]s. [`UdpMux`] serves many connections from one socket, [`mdns`] resolves
//! browsers' `.local` candidates, [`media`] has the track handles, and [`whip`] has a WHIP/WHEP
//! server (axum) and client (reqwest).
#![forbid(unsafe_code)]

mod driver;
pub mod mdns;
pub mod media;
mod net;
mod queue;
pub mod whip;

pub use ferrtc_datachannel as datachannel;
pub use ferrtc_dtls as dtls;
pub use ferrtc_ice as ice;
pub use ferrtc_media_codecs as media_codecs;
pub use ferrtc_peerconnection as peerconnection;
pub use ferrtc_rtcp as rtcp;
pub use ferrtc_rtp as rtp;
pub use ferrtc_sctp as sctp;
pub use ferrtc_sdp as sdp;
pub use ferrtc_srtp as srtp;
pub use ferrtc_stun as stun;
pub use ferrtc_turn_client as turn_client;

pub use driver::{
    live_peer_connections, DataChannel, DataChannelEvent, DataChannelInit, Events, Message,
    PeerConnection, PeerEvent, RtcConfiguration,
};
pub use ferrtc_peerconnection::stats::StatsReport;
pub use ferrtc_peerconnection::{
    BundlePolicy, IceCandidateInit, IceConnectionState, IceGatheringState, IceServer,
    IceTransportPolicy, PeerConnectionState, ReadyState, RtcSessionDescription, SdpType,
    SignalingState,
};
pub use ferrtc_peerconnection::{
    Codec, Direction, KeyframeRequestKind, LocalTrack, MediaKind, MediaMode, ReceivedFrame,
    SendEncoding, TrackInfo, TransceiverId, TransceiverInfo, TransceiverInit,
};
pub use mdns::{MdnsResolution, NameResolver};
pub use media::{RemoteTrack, TrackSender};
pub use net::UdpMux;

/// Errors of the async API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// From the peer connection (signaling state, descriptions, data channels).
    #[error(transparent)]
    PeerConnection(#[from] ferrtc_peerconnection::Error),
    /// A socket operation failed.
    #[error("I/O: {0}")]
    Io(String),
    /// The connection's driver task has ended (closed, or the runtime shut down).
    #[error("the peer connection is closed")]
    Closed,
    /// A timeout expired.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// WHIP/WHEP: HTTP or protocol failure.
    #[error("WHIP: {0}")]
    Whip(String),
    /// Certificate generation.
    #[error("DTLS: {0}")]
    Dtls(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<ferrtc_dtls::Error> for Error {
    fn from(e: ferrtc_dtls::Error) -> Self {
        Error::Dtls(e.to_string())
    }
}
