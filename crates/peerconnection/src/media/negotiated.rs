//! The contract between the JSEP side and the media engine: what one negotiated media section
//! means for the packets. The transceiver table produces a [`NegotiatedMedia`] per transceiver
//! after every applied description (offer/answer complete, or rollback); the engine applies the
//! whole list ([`super::engine::MediaEngine::apply`]) and creates, updates or removes its
//! senders and receivers to match. Nothing else crosses between the two.

use ferrtc_rtp::ExtensionMap;

use super::types::{Codec, Direction, MediaKind, MediaMode, TransceiverId};

/// A remote send stream announced in SDP (`a=ssrc`, `a=ssrc-group:FID`, RFC 5576 / RFC 4588).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSsrc {
    /// The media SSRC.
    pub ssrc: u32,
    /// Its RTX (repair) SSRC, from `a=ssrc-group:FID <ssrc> <rtx>`.
    pub rtx: Option<u32>,
}

/// One negotiated media section, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// The transceiver.
    pub transceiver: TransceiverId,
    /// Its mid (the MID header extension value, RFC 8843 §15).
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// Frame or RTP level.
    pub mode: MediaMode,
    /// The negotiated direction from our side (`currentDirection`): the engine sends only when
    /// it [`Direction::sends`] and expects packets only when it [`Direction::receives`].
    /// A stopped transceiver or a rejected section is not in the list at all.
    pub direction: Direction,
    /// The negotiated codecs in preference order, payload types as on the wire (JSEP §5.3.1:
    /// the answerer uses the offerer's payload types, so one list serves both directions on a
    /// BUNDLE transport), each with its negotiated rtcp-fb and RTX payload type.
    pub codecs: Vec<Codec>,
    /// Negotiated header extension ids (`a=extmap` present in both offer and answer).
    pub extensions: ExtensionMap,
    /// `a=rtcp-rsize` negotiated (RFC 5506): feedback may be sent as reduced-size RTCP.
    pub rtcp_rsize: bool,
    /// Our media SSRC for this sender (chosen once per transceiver, written as `a=ssrc`).
    pub local_ssrc: u32,
    /// Our RTX SSRC, when a codec has RTX (`a=ssrc-group:FID`).
    pub local_rtx_ssrc: Option<u32>,
    /// Our RTCP CNAME (one per peer connection, RFC 7022).
    pub cname: String,
    /// Remote SSRCs the remote description announced for this section (may be empty: then the
    /// router learns them from MID/RID header extensions, RFC 8843 §9.2).
    pub remote_ssrcs: Vec<RemoteSsrc>,
    /// Remote simulcast RIDs we receive (`a=rid:<id> send` in the remote description).
    pub remote_rids: Vec<String>,
    /// Our send RIDs (`a=rid:<id> send` in our description), empty without simulcast.
    pub local_rids: Vec<String>,
}

impl super::types::TransceiverId {
    /// The id of the transceiver with this index. The transceiver table hands ids out; this is
    /// for a [`super::engine::MediaEngine`] driven without it (an SFU, tests), whose
    /// [`NegotiatedMedia`] values are built by hand.
    pub fn from_index(index: u32) -> Self {
        Self(index)
    }
}
