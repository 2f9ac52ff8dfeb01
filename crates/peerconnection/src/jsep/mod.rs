//! The SDP side of JSEP (RFC 8829): what we read from remote descriptions and how we write
//! local ones. Only data channels are negotiated for now; audio and video sections of a
//! remote offer are answered `inactive` inside the BUNDLE group (rejecting the offerer-tagged
//! section would reject the whole group, RFC 8843 §7.3.3), or rejected when not bundled.
//!
//! - [`remote`]: what we take from a remote description (transport, sections, SCTP port);
//! - [`offer`]: the sections of our offers;
//! - [`answer`]: the sections of our answers;
//! - [`write`](mod@write): a local description's text from its sections.
//!
//! Media sections (issue 13) will add their own section variant here, planned by the media
//! transceivers.

mod answer;
mod offer;
mod remote;
mod write;

pub(crate) use answer::answer_sections;
pub(crate) use offer::offer_sections;
pub(crate) use remote::{read_remote, RemoteInfo};
pub(crate) use write::{write_local, LocalParams};

/// The application section's protocol (RFC 8841 §4.1).
pub(crate) const DATA_PROTO: &str = "UDP/DTLS/SCTP";
/// Its format.
pub(crate) const DATA_FORMAT: &str = "webrtc-datachannel";

/// One section of a local description.
#[derive(Debug, Clone)]
pub(crate) enum LocalSection {
    /// The data channel section.
    Data { mid: String, proto: String },
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
        let answer = answer_sections(&info);
        assert_eq!(answer.len(), info.sections.len());
        assert!(answer
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. })));
    }
}
