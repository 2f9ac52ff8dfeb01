//! What the peer connection outputs: events for the application, datagrams, timeouts.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use ferrtc_ice::{ConnectionState as IceState, Transmit};

#[cfg(doc)]
use super::PeerConnection;
use super::{ChannelId, IceGatheringState, PeerConnectionState, SignalingState};
use crate::media::{KeyframeRequestKind, ReceivedFrame, TrackInfo, TransceiverId};

/// `RTCIceCandidateInit`: a candidate as signalled (trickle) in JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// `candidate:...` (empty: end of candidates).
    pub candidate: String,
    /// Media section the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// Index of that section.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// ICE generation.
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// What the application learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `icecandidate`: a local candidate to signal; `None` is the end of candidates.
    IceCandidate(Option<IceCandidateInit>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `selectedcandidatepairchange`.
    SelectedCandidatePairChange {
        /// Local address.
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
    /// `datachannel`: the peer opened a channel.
    DataChannel(ChannelId),
    /// The channel's `open` event.
    ChannelOpen(ChannelId),
    /// The channel's `message` event.
    ChannelMessage {
        /// Channel.
        channel: ChannelId,
        /// Payload.
        data: Bytes,
        /// Binary (`ArrayBuffer`) or text (`string`, UTF-8 as received).
        binary: bool,
    },
    /// `bufferedamountlow`.
    ChannelBufferedAmountLow(ChannelId),
    /// `closing`.
    ChannelClosing(ChannelId),
    /// `close`.
    ChannelClosed(ChannelId),
    /// A remote candidate uses this mDNS name: resolve it and call
    /// [`PeerConnection::resolve_name`].
    ResolveName(String),
    /// Answer mDNS queries for `name` with `ip` (when host names are hidden).
    MdnsName {
        /// The name.
        name: String,
        /// The address.
        ip: IpAddr,
    },
    /// `track`: a remote description announced a track on this transceiver's receiver.
    Track(TrackInfo),
    /// The remote track ended (its section was rejected, stopped, or no longer sends to us).
    TrackEnded(TransceiverId),
    /// A frame assembled by a frame-level receiver.
    Frame(ReceivedFrame),
    /// An RTP packet received by an RTP-level receiver (SRTP removed, header parsed).
    Rtp {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The packet; payload type and SSRC as on the wire.
        packet: ferrtc_rtp::RtpPacket,
    },
    /// The remote receiver asked this transceiver's sender for a key frame.
    KeyframeRequest {
        /// The transceiver.
        transceiver: TransceiverId,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
}

/// One step of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram from the socket bound to its `source`; or, when its `transport` is
    /// TCP or TLS (TURN over TCP/TLS, RFC 8656 §3.1), write these bytes to the stream from
    /// `source` to the TURN server `destination`, opening it first if needed (see
    /// [`ferrtc_ice::Transmit`]; what it reads goes to
    /// [`PeerConnection::handle_stream_data`](crate::PeerConnection::handle_stream_data)).
    Transmit(Transmit),
    /// Tell the application.
    Event(Event),
    /// Nothing more now; call [`PeerConnection::handle_timeout`] at this instant.
    Timeout(Instant),
}
