//! Which receiver an incoming RTP packet belongs to, on one BUNDLE transport (RFC 8843 §9.2,
//! RFC 8852 for RID / repaired RID, RFC 4588 + RFC 5576 for RTX and `ssrc-group:FID`).
//!
//! The order is the RFC's:
//! 1. a packet carrying a MID goes to that MID's receiver, and its SSRC is (re)bound to it
//!    (a bound SSRC moves only if the packet is newer than the last one that carried a MID);
//! 2. else a known SSRC goes where it is bound, if its payload type belongs there;
//! 3. else a payload type used by exactly one receiver routes there, and the SSRC is learned;
//! 4. else the packet is dropped and counted with a [`DropReason`].
//!
//! Within a receiver the RID (simulcast layer) or, for a repair stream, the repaired RID picks
//! the layer, and an RTX payload type or a repaired RID marks the stream as a repair
//! ([`StreamKind::Repair`]) whose primary SSRC comes from the FID group, the layer with that RID,
//! or the receiver's only media stream. The router keeps at most
//! [`RouterConfig::max_ssrcs`] bindings, signaled ones included.
//!
//! A [`Route`] is `Copy` and names the receiver, the SSRC, the layer and the stream kind, so
//! the receive path can hand it to the per-SSRC state (stats, NACK, RTX unwrapping, frame
//! buffer) without another lookup by string.
//!
//! This file holds the public vocabulary; the table itself is in `table.rs`.

use ferrtc_rtp::{KnownExtensions, RtpHeader};

/// Identifies a receiver (one m= section of the BUNDLE group) to the router. The caller
/// chooses the values (e.g. the transceiver index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiverId(pub u32);

/// What the router must know about one receiver, from the negotiated descriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverParams {
    /// The m= section's MID.
    pub mid: String,
    /// Media payload types (codecs, RED, FEC) of the section.
    pub payload_types: Vec<u8>,
    /// RTX payload types with the payload type each repairs (`a=fmtp:<rtx> apt=<pt>`).
    pub rtx_payload_types: Vec<(u8, u8)>,
    /// RIDs the section receives (`a=rid:<id> recv`), in order. When empty, RIDs seen on
    /// the wire are learned, up to [`MAX_LEARNED_RIDS`].
    pub rids: Vec<String>,
    /// Signaled media SSRCs (`a=ssrc`).
    pub ssrcs: Vec<u32>,
    /// Signaled RTX pairs (`a=ssrc-group:FID <primary> <rtx>`).
    pub rtx_pairs: Vec<(u32, u32)>,
}

/// True if sequence number `a` is after `b` (RFC 3550 serial arithmetic on 16 bits).
fn seq_newer(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) > 0
}

/// RIDs learned per receiver when none were signaled.
pub const MAX_LEARNED_RIDS: usize = 8;

/// Limits of a [`Router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterConfig {
    /// Maximum SSRC bindings (signaled and learned). A packet that would need one more is
    /// dropped with [`DropReason::TableFull`].
    pub max_ssrcs: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        // Plenty for audio + video with three simulcast layers and RTX each, per receiver, for
        // a few dozen receivers.
        Self { max_ssrcs: 256 }
    }
}

/// The fields of an RTP packet the router looks at (header + MID/RID/repaired-RID extensions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteInfo<'a> {
    /// SSRC.
    pub ssrc: u32,
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number (a MID moves an SSRC only from a packet newer than the last MID seen
    /// on it, RFC 8843 §9.2).
    pub sequence_number: u16,
    /// MID header extension.
    pub mid: Option<&'a [u8]>,
    /// RID (rtp-stream-id) header extension.
    pub rid: Option<&'a [u8]>,
    /// Repaired RID (repaired-rtp-stream-id) header extension.
    pub repaired_rid: Option<&'a [u8]>,
}

impl<'a> RouteInfo<'a> {
    /// From a parsed header and the extensions the negotiated map decoded.
    pub fn new(header: &RtpHeader, ext: &KnownExtensions<'a>) -> Self {
        Self {
            ssrc: header.ssrc,
            payload_type: header.payload_type,
            sequence_number: header.sequence_number,
            mid: ext.mid.map(|m| m.0),
            rid: ext.rtp_stream_id.map(|r| r.0),
            repaired_rid: ext.repaired_rtp_stream_id.map(|r| r.0),
        }
    }
}

/// Media or repair stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// The original media.
    Media,
    /// An RTX stream (RFC 4588) repairing `primary`, when known.
    Repair {
        /// The SSRC of the repaired media stream.
        primary: Option<u32>,
    },
}

/// How the route was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutedBy {
    /// The SSRC was bound already.
    Ssrc,
    /// The MID header extension.
    Mid,
    /// A payload type unique to one receiver.
    PayloadType,
}

/// Where a packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The receiver.
    pub receiver: ReceiverId,
    /// The packet's SSRC.
    pub ssrc: u32,
    /// Index of the layer's RID in the receiver's RID list ([`Router::rid`] names it).
    pub rid: Option<usize>,
    /// Media or repair.
    pub kind: StreamKind,
    /// How it was found.
    pub by: RoutedBy,
    /// True when this packet created or moved the SSRC's binding (a new remote stream).
    pub new_binding: bool,
}

/// Why a packet was not routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// It carries a MID no receiver has.
    UnknownMid,
    /// It carries a RID its receiver does not receive.
    UnknownRid,
    /// Its payload type is not one of its receiver's.
    PayloadTypeMismatch,
    /// Unknown SSRC, no MID, and no receiver uses its payload type.
    UnknownPayloadType,
    /// Unknown SSRC, no MID, and several receivers use its payload type.
    AmbiguousPayloadType,
    /// A new SSRC, but the table is full.
    TableFull,
}

impl DropReason {
    const ALL: [DropReason; 6] = [
        Self::UnknownMid,
        Self::UnknownRid,
        Self::PayloadTypeMismatch,
        Self::UnknownPayloadType,
        Self::AmbiguousPayloadType,
        Self::TableFull,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

mod table;
pub use table::Router;

#[cfg(test)]
mod tests;
