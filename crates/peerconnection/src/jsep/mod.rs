//! The SDP side of JSEP (RFC 8829): what we read from remote descriptions and how we write
//! local ones: the data channel section and one audio/video section per transceiver (codecs
//! with rtpmap/fmtp/rtcp-fb and RTX, header extensions, msid, SSRCs, RIDs).
//!
//! An audio/video section of a remote offer with no codec in common is rejected (port 0),
//! except the offerer-tagged section of the BUNDLE group (its first mid): rejecting that one
//! would reject the whole group (RFC 8843 §7.3.3), so it is answered `inactive` with its
//! first format echoed instead. Sections outside the BUNDLE group are rejected too (one
//! transport per connection), unless the offer has no BUNDLE group and the section is the
//! one carrying the transport.
//!
//! - [`remote`]: what we take from a remote description (transport, sections, SCTP port,
//!   each media section's codecs, extensions, SSRCs, msid, RIDs);
//! - [`offer`]: the sections of our offers;
//! - [`answer`]: the sections of our answers;
//! - [`write`](mod@write): a local description's text from its sections.

mod answer;
mod offer;
mod remote;
mod write;

pub(crate) use answer::{answer_direction, answer_sections, on_our_transport};
pub(crate) use offer::offer_sections;
pub(crate) use remote::{read_remote, RemoteInfo, RemoteMedia};
pub(crate) use write::{transport_section, write_local, LocalParams};

use crate::media::{Codec, Direction, MediaKind, TransceiverId};

/// The application section's protocol (RFC 8841 §4.1).
pub(crate) const DATA_PROTO: &str = "UDP/DTLS/SCTP";
/// Its format.
pub(crate) const DATA_FORMAT: &str = "webrtc-datachannel";

/// The protocol of our audio/video sections (RFC 8829 §5.1.2).
pub(crate) const MEDIA_PROTO: &str = "UDP/TLS/RTP/SAVPF";

/// An audio/video section of a local description, for one transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaSection {
    pub transceiver: TransceiverId,
    pub kind: MediaKind,
    pub mid: String,
    /// Our direction attribute.
    pub direction: Direction,
    /// Codecs in preference order, each with its RTX payload type (written `a=fmtp:<rtx>
    /// apt=<pt>`).
    pub codecs: Vec<Codec>,
    /// `a=extmap` id and URI.
    pub extensions: Vec<(u8, String)>,
    pub rtcp_rsize: bool,
    /// `a=msid` stream ids (none: `-`) and track id; written when the direction sends.
    pub stream_ids: Vec<String>,
    pub track_id: String,
    /// Our SSRCs (`a=ssrc`, `a=ssrc-group:FID`), written when the direction sends.
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub cname: String,
    /// `a=rid:<id> send` + `a=simulcast:send` (RFC 8851, RFC 8853).
    pub send_rids: Vec<String>,
    /// `a=rid:<id> recv` + `a=simulcast:recv`.
    pub recv_rids: Vec<String>,
    /// `a=extmap-allow-mixed` in the section: an answer echoes the offer's media-level one
    /// (RFC 8285 §6).
    pub extmap_allow_mixed: bool,
}

/// One section of a local description.
#[derive(Debug, Clone)]
pub(crate) enum LocalSection {
    /// The data channel section.
    Data { mid: String, proto: String },
    /// An audio/video section of a transceiver.
    Media(Box<MediaSection>),
    /// An audio/video section answered without media (`a=inactive`).
    Inactive {
        kind: String,
        proto: String,
        mid: Option<String>,
        format: String,
        format_lines: Vec<String>,
    },
    /// A rejected section (port 0).
    Rejected {
        kind: String,
        proto: String,
        formats: Vec<String>,
        mid: Option<String>,
    },
}

impl LocalSection {
    pub(crate) fn mid(&self) -> Option<&str> {
        match self {
            LocalSection::Data { mid, .. } => Some(mid),
            LocalSection::Media(m) => Some(&m.mid),
            LocalSection::Inactive { mid, .. } | LocalSection::Rejected { mid, .. } => {
                mid.as_deref()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrtc_sdp::{SessionDescription, Setup};

    const CHROMIUM: &str = include_str!("../../tests/data/chromium-offer-av-dc.sdp");

    #[test]
    fn reads_chromium_bundle_transport() {
        let sdp: SessionDescription = CHROMIUM.parse().unwrap();
        let info = read_remote(&sdp).unwrap();
        assert!(info.data_index.is_some());
        assert!(info.transport.creds.is_some());
        assert!(info.transport.fingerprint.is_some());
        assert_eq!(info.transport.setup, Some(Setup::ActPass));
        let table = crate::media::transceiver::TransceiverTable::new();
        let answer = answer_sections(&info, &table);
        assert_eq!(answer.len(), info.sections.len());
        assert!(answer
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. })));
    }
}
