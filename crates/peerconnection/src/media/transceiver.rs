//! The transceiver table (W3C webrtc-pc §5.4, JSEP RFC 8829 §4.2.1–§4.2.3 and §5): each
//! transceiver's kind, direction, mid, sender track, codec preferences and what was negotiated
//! for it; produces [`NegotiatedMedia`] for the engine after each applied description.

use super::negotiated::NegotiatedMedia;

/// All transceivers of one peer connection, in creation order (the order of their m= sections
/// in our first offer).
#[derive(Debug, Default)]
pub(crate) struct TransceiverTable {}

impl TransceiverTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// What the engine must run now: one entry per negotiated, non-stopped transceiver.
    pub(crate) fn negotiated(&self) -> Vec<NegotiatedMedia> {
        Vec::new()
    }
}
