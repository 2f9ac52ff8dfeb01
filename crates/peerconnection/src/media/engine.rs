//! The media engine of one peer connection: SRTP/SRTCP contexts keyed from the DTLS-SRTP
//! exporter (RFC 5764 §4.2), senders (frame → packetizer → RTP → SRTP) and receivers (SRTP →
//! RTP → router → frame buffer or RTP events), RTCP reports and feedback, per-stream stats.

use super::negotiated::NegotiatedMedia;

/// Senders, receivers and the SRTP session of one BUNDLE transport.
#[derive(Debug, Default)]
pub(crate) struct MediaEngine {}

impl MediaEngine {
    /// An engine with nothing negotiated.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Makes senders and receivers match the negotiated sections (idempotent).
    pub(crate) fn apply(&mut self, negotiated: &[NegotiatedMedia]) {
        let _ = negotiated;
    }
}
