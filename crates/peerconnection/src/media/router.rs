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

use std::collections::HashMap;

use ferrtc_rtp::{KnownExtensions, RtpHeader};

use crate::Error;

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

#[derive(Clone, Debug)]
struct Receiver {
    id: ReceiverId,
    params: ReceiverParams,
    /// Learned RIDs (only when none were signaled).
    learned_rids: Vec<Vec<u8>>,
}

impl Receiver {
    fn is_media_pt(&self, pt: u8) -> bool {
        self.params.payload_types.contains(&pt)
    }

    fn is_rtx_pt(&self, pt: u8) -> bool {
        self.params.rtx_payload_types.iter().any(|&(r, _)| r == pt)
    }

    /// Index of `rid`, learning it when no RIDs were signaled; `Err` when unknown.
    fn rid_index(&mut self, rid: &[u8]) -> Result<usize, DropReason> {
        if !self.params.rids.is_empty() {
            return self
                .params
                .rids
                .iter()
                .position(|r| r.as_bytes() == rid)
                .ok_or(DropReason::UnknownRid);
        }
        if let Some(i) = self.learned_rids.iter().position(|r| r == rid) {
            return Ok(i);
        }
        if self.learned_rids.len() >= MAX_LEARNED_RIDS {
            return Err(DropReason::UnknownRid);
        }
        self.learned_rids.push(rid.to_vec());
        Ok(self.learned_rids.len() - 1)
    }

    fn rid_name(&self, i: usize) -> Option<&[u8]> {
        if self.params.rids.is_empty() {
            self.learned_rids.get(i).map(Vec::as_slice)
        } else {
            self.params.rids.get(i).map(String::as_bytes)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Binding {
    /// Index into `Router::receivers`.
    receiver: usize,
    rid: Option<usize>,
    kind: StreamKind,
    signaled: bool,
    /// Sequence number of the newest packet that carried this binding's MID.
    mid_seq: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PtOwner {
    Unique { receiver: usize, rtx: bool },
    Ambiguous,
}

/// The RFC 8843 §9.2 routing table of one BUNDLE transport.
#[derive(Clone, Debug, Default)]
pub struct Router {
    config: RouterConfig,
    receivers: Vec<Receiver>,
    ssrcs: HashMap<u32, Binding>,
    pts: HashMap<u8, PtOwner>,
    drops: [u64; DropReason::ALL.len()],
    rebinds: u64,
}

impl Router {
    /// An empty router.
    pub fn new(config: RouterConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Adds or replaces a receiver (after each negotiation). Its signaled SSRCs are bound;
    /// bindings it learned before are kept if still consistent, so media keeps flowing across
    /// a renegotiation. Errors if the MID is used by another receiver or the signaled SSRCs
    /// do not fit the table.
    pub fn set_receiver(&mut self, id: ReceiverId, params: ReceiverParams) -> Result<(), Error> {
        if self
            .receivers
            .iter()
            .any(|r| r.id != id && r.params.mid == params.mid)
        {
            return Err(Error::InvalidDescription(format!(
                "MID {:?} used by two receivers",
                params.mid
            )));
        }
        let signaled: Vec<u32> = params
            .ssrcs
            .iter()
            .copied()
            .chain(params.rtx_pairs.iter().flat_map(|&(p, r)| [p, r]))
            .collect();
        let existing = self.receivers.iter().position(|r| r.id == id);
        // Room check: every signaled SSRC not yet bound needs a slot.
        let new_slots = signaled
            .iter()
            .filter(|s| !self.ssrcs.contains_key(s))
            .count();
        if self.ssrcs.len().saturating_add(new_slots) > self.config.max_ssrcs {
            return Err(Error::InvalidDescription(format!(
                "{} signaled SSRCs do not fit the table of {}",
                signaled.len(),
                self.config.max_ssrcs
            )));
        }
        let index = match existing {
            Some(i) => {
                if let Some(r) = self.receivers.get_mut(i) {
                    r.params = params;
                    r.learned_rids.clear();
                }
                // Learned bindings of the old parameters may name RIDs that no longer exist.
                for b in self.ssrcs.values_mut().filter(|b| b.receiver == i) {
                    b.rid = None;
                }
                self.ssrcs.retain(|_, b| b.receiver != i || !b.signaled);
                i
            }
            None => {
                self.receivers.push(Receiver {
                    id,
                    params,
                    learned_rids: Vec::new(),
                });
                self.receivers.len() - 1
            }
        };
        if let Some(r) = self.receivers.get(index) {
            let media = r.params.ssrcs.iter().map(|&s| (s, StreamKind::Media));
            let pairs = r.params.rtx_pairs.iter().flat_map(|&(p, x)| {
                [
                    (p, StreamKind::Media),
                    (x, StreamKind::Repair { primary: Some(p) }),
                ]
            });
            for (ssrc, kind) in media.chain(pairs).collect::<Vec<_>>() {
                self.ssrcs.insert(
                    ssrc,
                    Binding {
                        receiver: index,
                        rid: None,
                        kind,
                        signaled: true,
                        mid_seq: None,
                    },
                );
            }
        }
        self.rebuild_pts();
        Ok(())
    }

    /// Removes a receiver (its m= section was rejected or stopped) and every binding to it.
    pub fn remove_receiver(&mut self, id: ReceiverId) {
        let Some(i) = self.receivers.iter().position(|r| r.id == id) else {
            return;
        };
        self.receivers.remove(i);
        self.ssrcs.retain(|_, b| b.receiver != i);
        for b in self.ssrcs.values_mut() {
            if b.receiver > i {
                b.receiver -= 1;
            }
        }
        self.rebuild_pts();
    }

    /// JSEP: the payload type table holds the types that appear in exactly one section.
    fn rebuild_pts(&mut self) {
        self.pts.clear();
        for (i, r) in self.receivers.iter().enumerate() {
            let media = r.params.payload_types.iter().map(|&p| (p, false));
            let rtx = r.params.rtx_payload_types.iter().map(|&(p, _)| (p, true));
            for (pt, is_rtx) in media.chain(rtx) {
                self.pts
                    .entry(pt)
                    .and_modify(|o| {
                        if !matches!(o, PtOwner::Unique { receiver, .. } if *receiver == i) {
                            *o = PtOwner::Ambiguous;
                        }
                    })
                    .or_insert(PtOwner::Unique {
                        receiver: i,
                        rtx: is_rtx,
                    });
            }
        }
    }

    /// Routes one packet, or says why not (and counts it).
    pub fn route(&mut self, info: &RouteInfo<'_>) -> Result<Route, DropReason> {
        let r = self.route_inner(info);
        if let Err(reason) = r {
            if let Some(c) = self.drops.get_mut(reason.index()) {
                *c = c.saturating_add(1);
            }
            tracing::trace!(
                ssrc = info.ssrc,
                pt = info.payload_type,
                ?reason,
                "rtp drop"
            );
        }
        r
    }

    fn route_inner(&mut self, info: &RouteInfo<'_>) -> Result<Route, DropReason> {
        // Fast path: a bound SSRC whose packet names no other MID.
        if let Some(&b) = self.ssrcs.get(&info.ssrc) {
            let same_mid = match info.mid {
                None => true,
                Some(mid) => self
                    .receivers
                    .get(b.receiver)
                    .is_some_and(|r| r.params.mid.as_bytes() == mid),
            };
            // RFC 8843 §9.2: a MID moves the SSRC only if the packet is newer than the last
            // MID update; a late packet with an old MID stays where the SSRC is now.
            let stale = !same_mid
                && b.mid_seq
                    .is_some_and(|last| !seq_newer(info.sequence_number, last));
            if same_mid || stale {
                return self.route_bound(info, b);
            }
        }
        if let Some(mid) = info.mid {
            return self.route_by_mid(info, mid);
        }
        // §9.2: a payload type unique to one m= section.
        match self.pts.get(&info.payload_type) {
            None => Err(DropReason::UnknownPayloadType),
            Some(PtOwner::Ambiguous) => Err(DropReason::AmbiguousPayloadType),
            Some(&PtOwner::Unique { receiver, rtx }) => {
                let layer = if rtx { info.repaired_rid } else { info.rid };
                let rid = match (layer, self.receivers.get_mut(receiver)) {
                    (Some(name), Some(r)) => r.rid_index(name).ok(),
                    _ => None,
                };
                let kind = if rtx {
                    StreamKind::Repair { primary: None }
                } else {
                    StreamKind::Media
                };
                self.bind(info.ssrc, receiver, rid, kind, RoutedBy::PayloadType, None)
            }
        }
    }

    fn route_bound(&mut self, info: &RouteInfo<'_>, b: Binding) -> Result<Route, DropReason> {
        let receiver = self
            .receivers
            .get_mut(b.receiver)
            .ok_or(DropReason::UnknownPayloadType)?;
        let pt_ok = match b.kind {
            StreamKind::Media => receiver.is_media_pt(info.payload_type),
            StreamKind::Repair { .. } => receiver.is_rtx_pt(info.payload_type),
        };
        if !pt_ok {
            return Err(DropReason::PayloadTypeMismatch);
        }
        let id = receiver.id;
        let mut binding = b;
        if info.mid.is_some()
            && b.mid_seq
                .is_none_or(|last| seq_newer(info.sequence_number, last))
        {
            binding.mid_seq = Some(info.sequence_number);
        }
        // A RID may arrive after the binding (e.g. learned from a FID group or the PT).
        let layer = match b.kind {
            StreamKind::Media => info.rid,
            StreamKind::Repair { .. } => info.repaired_rid,
        };
        if binding.rid.is_none() {
            if let Some(name) = layer {
                binding.rid = Some(receiver.rid_index(name)?);
            }
        }
        if let StreamKind::Repair { primary: None } = binding.kind {
            binding.kind = StreamKind::Repair {
                primary: self.find_primary(b.receiver, binding.rid),
            };
        }
        if binding != b {
            self.ssrcs.insert(info.ssrc, binding);
        }
        Ok(Route {
            receiver: id,
            ssrc: info.ssrc,
            rid: binding.rid,
            kind: binding.kind,
            by: RoutedBy::Ssrc,
            new_binding: false,
        })
    }

    fn route_by_mid(&mut self, info: &RouteInfo<'_>, mid: &[u8]) -> Result<Route, DropReason> {
        let index = self
            .receivers
            .iter()
            .position(|r| r.params.mid.as_bytes() == mid)
            .ok_or(DropReason::UnknownMid)?;
        let receiver = self
            .receivers
            .get_mut(index)
            .ok_or(DropReason::UnknownMid)?;
        let repair = info.repaired_rid.is_some() || receiver.is_rtx_pt(info.payload_type);
        let pt_ok = if repair {
            receiver.is_rtx_pt(info.payload_type)
        } else {
            receiver.is_media_pt(info.payload_type)
        };
        if !pt_ok {
            return Err(DropReason::PayloadTypeMismatch);
        }
        let layer = if repair { info.repaired_rid } else { info.rid };
        let rid = match layer {
            Some(name) => Some(receiver.rid_index(name)?),
            None => None,
        };
        let kind = if repair {
            StreamKind::Repair { primary: None }
        } else {
            StreamKind::Media
        };
        self.bind(
            info.ssrc,
            index,
            rid,
            kind,
            RoutedBy::Mid,
            Some(info.sequence_number),
        )
    }

    /// Binds (or rebinds) `ssrc` and returns its route.
    fn bind(
        &mut self,
        ssrc: u32,
        receiver: usize,
        rid: Option<usize>,
        kind: StreamKind,
        by: RoutedBy,
        mid_seq: Option<u16>,
    ) -> Result<Route, DropReason> {
        let previous = self.ssrcs.get(&ssrc).copied();
        if previous.is_none() && self.ssrcs.len() >= self.config.max_ssrcs {
            return Err(DropReason::TableFull);
        }
        let kind = match kind {
            StreamKind::Repair { primary: None } => StreamKind::Repair {
                primary: previous
                    .and_then(|p| match p.kind {
                        StreamKind::Repair { primary } if p.receiver == receiver => primary,
                        _ => None,
                    })
                    .or_else(|| self.find_primary(receiver, rid)),
            },
            k => k,
        };
        let binding = Binding {
            receiver,
            rid: rid.or(previous
                .filter(|p| p.receiver == receiver)
                .and_then(|p| p.rid)),
            kind,
            signaled: previous.is_some_and(|p| p.signaled && p.receiver == receiver),
            mid_seq,
        };
        let moved = previous.is_some_and(|p| p.receiver != receiver);
        if moved {
            // RFC 8843 §9.2: a MID on the packet updates the SSRC's m= section.
            self.rebinds = self.rebinds.saturating_add(1);
        }
        let new_binding = previous.is_none() || moved;
        self.ssrcs.insert(ssrc, binding);
        let id = self
            .receivers
            .get(receiver)
            .map(|r| r.id)
            .ok_or(DropReason::UnknownMid)?;
        Ok(Route {
            receiver: id,
            ssrc,
            rid: binding.rid,
            kind: binding.kind,
            by,
            new_binding,
        })
    }

    /// The media SSRC a repair stream of `receiver` (layer `rid`) repairs: the media stream of
    /// the same layer, else the receiver's only media stream.
    fn find_primary(&self, receiver: usize, rid: Option<usize>) -> Option<u32> {
        let mut media = self
            .ssrcs
            .iter()
            .filter(|(_, b)| b.receiver == receiver && b.kind == StreamKind::Media);
        if let Some(rid) = rid {
            return media
                .find(|(_, b)| b.rid == Some(rid))
                .map(|(&ssrc, _)| ssrc);
        }
        let (&first, _) = media.next()?;
        media.next().is_none().then_some(first)
    }

    /// The name of RID `index` of `receiver` (from [`Route::rid`]).
    pub fn rid(&self, receiver: ReceiverId, index: usize) -> Option<&[u8]> {
        self.receivers
            .iter()
            .find(|r| r.id == receiver)?
            .rid_name(index)
    }

    /// The receiver an SSRC is bound to, if any.
    pub fn receiver_of(&self, ssrc: u32) -> Option<ReceiverId> {
        let b = self.ssrcs.get(&ssrc)?;
        self.receivers.get(b.receiver).map(|r| r.id)
    }

    /// Forgets a learned SSRC (BYE, or timed out). Signaled SSRCs stay.
    pub fn forget_ssrc(&mut self, ssrc: u32) {
        if self.ssrcs.get(&ssrc).is_some_and(|b| !b.signaled) {
            self.ssrcs.remove(&ssrc);
        }
    }

    /// SSRC bindings held.
    pub fn bound_ssrcs(&self) -> usize {
        self.ssrcs.len()
    }

    /// Packets dropped for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).copied().unwrap_or(0)
    }

    /// Every drop counter, by reason.
    pub fn all_drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.drops(r)))
    }

    /// SSRCs moved to another receiver by a MID.
    pub fn rebinds(&self) -> u64 {
        self.rebinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: ReceiverId = ReceiverId(0);
    const VIDEO: ReceiverId = ReceiverId(1);

    fn audio() -> ReceiverParams {
        ReceiverParams {
            mid: "0".into(),
            payload_types: vec![111, 0],
            ..Default::default()
        }
    }

    fn video() -> ReceiverParams {
        ReceiverParams {
            mid: "1".into(),
            payload_types: vec![96, 98],
            rtx_payload_types: vec![(97, 96), (99, 98)],
            ..Default::default()
        }
    }

    fn router() -> Router {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(AUDIO, audio()).unwrap();
        r.set_receiver(VIDEO, video()).unwrap();
        r
    }

    fn pkt(ssrc: u32, pt: u8) -> RouteInfo<'static> {
        RouteInfo {
            ssrc,
            payload_type: pt,
            ..Default::default()
        }
    }

    fn with_mid(ssrc: u32, pt: u8, mid: &'static str) -> RouteInfo<'static> {
        RouteInfo {
            mid: Some(mid.as_bytes()),
            ..pkt(ssrc, pt)
        }
    }

    #[test]
    fn signaled_ssrc_routes_by_ssrc() {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(
            VIDEO,
            ReceiverParams {
                ssrcs: vec![0x1111],
                ..video()
            },
        )
        .unwrap();
        let route = r.route(&pkt(0x1111, 96)).unwrap();
        assert_eq!(route.receiver, VIDEO);
        assert_eq!(route.by, RoutedBy::Ssrc);
        assert_eq!(route.kind, StreamKind::Media);
        assert!(!route.new_binding);
        assert_eq!(r.bound_ssrcs(), 1);
    }

    #[test]
    fn mid_learns_the_ssrc_then_ssrc_routes() {
        let mut r = router();
        let first = r.route(&with_mid(42, 96, "1")).unwrap();
        assert_eq!(
            (first.receiver, first.by, first.new_binding),
            (VIDEO, RoutedBy::Mid, true)
        );
        let next = r.route(&pkt(42, 98)).unwrap();
        assert_eq!(
            (next.receiver, next.by, next.new_binding),
            (VIDEO, RoutedBy::Ssrc, false)
        );
        assert_eq!(r.receiver_of(42), Some(VIDEO));
    }

    #[test]
    fn unknown_mid_is_a_counted_drop_and_disturbs_nothing() {
        let mut r = router();
        r.route(&with_mid(1, 111, "0")).unwrap();
        assert_eq!(r.route(&with_mid(2, 96, "zz")), Err(DropReason::UnknownMid));
        // A newer packet of a bound SSRC naming an unknown MID.
        let newer = RouteInfo {
            sequence_number: 1,
            ..with_mid(1, 111, "9")
        };
        assert_eq!(r.route(&newer), Err(DropReason::UnknownMid));
        assert_eq!(r.drops(DropReason::UnknownMid), 2);
        assert_eq!(r.route(&pkt(1, 111)).unwrap().receiver, AUDIO);
        assert_eq!(r.receiver_of(2), None);
    }

    #[test]
    fn unique_payload_type_routes_and_learns() {
        let mut r = router();
        let route = r.route(&pkt(7, 111)).unwrap();
        assert_eq!(
            (route.receiver, route.by, route.new_binding),
            (AUDIO, RoutedBy::PayloadType, true)
        );
        assert_eq!(r.route(&pkt(7, 0)).unwrap().by, RoutedBy::Ssrc);
        assert_eq!(r.route(&pkt(8, 100)), Err(DropReason::UnknownPayloadType));
        assert_eq!(r.drops(DropReason::UnknownPayloadType), 1);
    }

    #[test]
    fn shared_payload_type_is_ambiguous_until_one_section_goes() {
        let mut r = router();
        let second = ReceiverId(2);
        r.set_receiver(
            second,
            ReceiverParams {
                mid: "2".into(),
                ..video()
            },
        )
        .unwrap();
        assert_eq!(r.route(&pkt(5, 96)), Err(DropReason::AmbiguousPayloadType));
        // With the MID it is fine.
        assert_eq!(r.route(&with_mid(5, 96, "2")).unwrap().receiver, second);
        r.remove_receiver(second);
        assert_eq!(r.receiver_of(5), None, "bindings of a removed receiver go");
        assert_eq!(r.route(&pkt(6, 96)).unwrap().receiver, VIDEO);
        assert_eq!(r.drops(DropReason::AmbiguousPayloadType), 1);
    }

    #[test]
    fn payload_type_of_another_section_on_a_bound_ssrc() {
        let mut r = router();
        r.route(&with_mid(3, 111, "0")).unwrap();
        assert_eq!(r.route(&pkt(3, 96)), Err(DropReason::PayloadTypeMismatch));
        assert_eq!(
            r.route(&with_mid(4, 111, "1")),
            Err(DropReason::PayloadTypeMismatch)
        );
        assert_eq!(r.drops(DropReason::PayloadTypeMismatch), 2);
    }

    #[test]
    fn simulcast_rids_and_repaired_rids() {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(
            VIDEO,
            ReceiverParams {
                rids: vec!["h".into(), "m".into(), "l".into()],
                ..video()
            },
        )
        .unwrap();
        for (ssrc, rid, idx) in [(10, "h", 0), (20, "m", 1), (30, "l", 2)] {
            let p = RouteInfo {
                rid: Some(rid.as_bytes()),
                ..with_mid(ssrc, 96, "1")
            };
            let route = r.route(&p).unwrap();
            assert_eq!((route.rid, route.kind), (Some(idx), StreamKind::Media));
        }
        assert_eq!(r.rid(VIDEO, 1), Some(&b"m"[..]));
        // Later packets without extensions keep their layer.
        assert_eq!(r.route(&pkt(20, 96)).unwrap().rid, Some(1));
        let bad = RouteInfo {
            rid: Some(b"x"),
            ..with_mid(40, 96, "1")
        };
        assert_eq!(r.route(&bad), Err(DropReason::UnknownRid));
        // RTX of layer "m": repaired RID, RTX payload type 97.
        let rtx = RouteInfo {
            repaired_rid: Some(b"m"),
            ..with_mid(21, 97, "1")
        };
        let route = r.route(&rtx).unwrap();
        assert_eq!(route.rid, Some(1));
        assert_eq!(route.kind, StreamKind::Repair { primary: Some(20) });
        assert_eq!(
            r.route(&pkt(21, 97)).unwrap().kind,
            StreamKind::Repair { primary: Some(20) }
        );
        // A media payload type on the RTX SSRC is a mismatch.
        assert_eq!(r.route(&pkt(21, 96)), Err(DropReason::PayloadTypeMismatch));
    }

    #[test]
    fn rids_are_learned_when_none_were_signaled_up_to_a_limit() {
        let mut r = router();
        for i in 0..MAX_LEARNED_RIDS {
            let name: &'static str = Box::leak(format!("r{i}").into_boxed_str());
            let p = RouteInfo {
                rid: Some(name.as_bytes()),
                ..with_mid(100 + i as u32, 96, "1")
            };
            assert_eq!(r.route(&p).unwrap().rid, Some(i));
        }
        let p = RouteInfo {
            rid: Some(b"one-too-many"),
            ..with_mid(999, 96, "1")
        };
        assert_eq!(r.route(&p), Err(DropReason::UnknownRid));
    }

    #[test]
    fn fid_group_pairs_rtx_with_its_primary() {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(
            VIDEO,
            ReceiverParams {
                rtx_pairs: vec![(1000, 2000)],
                ..video()
            },
        )
        .unwrap();
        let route = r.route(&pkt(2000, 97)).unwrap();
        assert_eq!(
            route.kind,
            StreamKind::Repair {
                primary: Some(1000)
            }
        );
        assert_eq!(route.by, RoutedBy::Ssrc);
        assert_eq!(r.route(&pkt(1000, 96)).unwrap().kind, StreamKind::Media);
    }

    #[test]
    fn unsignaled_rtx_finds_its_primary_once_the_media_is_known() {
        let mut r = router();
        // RTX first (PT 97 is unique to video): primary unknown.
        let first = r.route(&pkt(77, 97)).unwrap();
        assert_eq!(first.kind, StreamKind::Repair { primary: None });
        // The media stream appears.
        r.route(&with_mid(55, 96, "1")).unwrap();
        assert_eq!(
            r.route(&pkt(77, 97)).unwrap().kind,
            StreamKind::Repair { primary: Some(55) }
        );
        // With two media streams and no RIDs the pairing stays unknown for a new RTX SSRC.
        r.route(&with_mid(56, 96, "1")).unwrap();
        assert_eq!(
            r.route(&pkt(78, 99)).unwrap().kind,
            StreamKind::Repair { primary: None }
        );
    }

    #[test]
    fn table_is_bounded() {
        let mut r = Router::new(RouterConfig { max_ssrcs: 2 });
        r.set_receiver(VIDEO, video()).unwrap();
        r.route(&with_mid(1, 96, "1")).unwrap();
        r.route(&pkt(2, 96)).unwrap();
        assert_eq!(r.route(&with_mid(3, 96, "1")), Err(DropReason::TableFull));
        assert_eq!(r.route(&pkt(4, 96)), Err(DropReason::TableFull));
        assert_eq!(r.drops(DropReason::TableFull), 2);
        assert_eq!(r.bound_ssrcs(), 2);
        // Known streams keep flowing; forgetting one frees a slot.
        assert!(r.route(&pkt(1, 96)).is_ok());
        r.forget_ssrc(2);
        assert!(r.route(&pkt(4, 96)).is_ok());
        // Signaled SSRCs that do not fit are a description error.
        let err = r.set_receiver(
            AUDIO,
            ReceiverParams {
                ssrcs: vec![5, 6],
                ..audio()
            },
        );
        assert!(matches!(err, Err(Error::InvalidDescription(_))));
    }

    #[test]
    fn mid_moves_an_ssrc_to_another_section() {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(VIDEO, video()).unwrap();
        let other = ReceiverId(9);
        r.set_receiver(
            other,
            ReceiverParams {
                mid: "v2".into(),
                ..video()
            },
        )
        .unwrap();
        r.route(&with_mid(5, 96, "1")).unwrap();
        let moved = r
            .route(&RouteInfo {
                sequence_number: 1,
                ..with_mid(5, 96, "v2")
            })
            .unwrap();
        assert_eq!((moved.receiver, moved.new_binding), (other, true));
        assert_eq!(r.rebinds(), 1);
        assert_eq!(r.route(&pkt(5, 96)).unwrap().receiver, other);
    }

    #[test]
    fn a_late_packet_with_the_old_mid_does_not_move_the_ssrc_back() {
        let mut r = Router::new(RouterConfig::default());
        r.set_receiver(VIDEO, video()).unwrap();
        let other = ReceiverId(9);
        r.set_receiver(
            other,
            ReceiverParams {
                mid: "v2".into(),
                ..video()
            },
        )
        .unwrap();
        let at = |seq: u16, mid: &'static str| RouteInfo {
            sequence_number: seq,
            ..with_mid(5, 96, mid)
        };
        assert_eq!(r.route(&at(65_535, "1")).unwrap().receiver, VIDEO);
        // Newer across the wrap: moves.
        assert_eq!(r.route(&at(1, "v2")).unwrap().receiver, other);
        // Late (65534 is before 1): stays with v2, routed by SSRC.
        let late = r.route(&at(65_534, "1")).unwrap();
        assert_eq!((late.receiver, late.by), (other, RoutedBy::Ssrc));
        assert_eq!(r.rebinds(), 1);
        // A newer packet with the old MID moves it again.
        assert_eq!(r.route(&at(2, "1")).unwrap().receiver, VIDEO);
        assert_eq!(r.rebinds(), 2);
    }

    #[test]
    fn duplicate_mid_is_rejected_and_replacing_keeps_learned_bindings() {
        let mut r = router();
        let err = r.set_receiver(ReceiverId(5), audio());
        assert!(matches!(err, Err(Error::InvalidDescription(_))));
        r.route(&with_mid(8, 96, "1")).unwrap();
        // Renegotiation replaces the video parameters (new PT list).
        r.set_receiver(
            VIDEO,
            ReceiverParams {
                payload_types: vec![96, 45],
                ..video()
            },
        )
        .unwrap();
        assert_eq!(r.route(&pkt(8, 45)).unwrap().by, RoutedBy::Ssrc);
        assert_eq!(r.all_drops().map(|(_, n)| n).sum::<u64>(), 0);
    }

    #[test]
    fn route_info_from_a_parsed_packet() {
        use bytes::Bytes;
        use ferrtc_rtp::values::{ExtensionValue, Mid, RtpStreamId};
        use ferrtc_rtp::{ExtensionMap, RtpPacket};
        let map = ExtensionMap::from_pairs([(1, Mid::URI), (2, RtpStreamId::URI)]).unwrap();
        let raw = Bytes::from_static(&[
            0x90, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 9, // PT 96, SSRC 9, X set
            0xbe, 0xde, 0x00, 0x01, // one-byte form, 1 word
            0x10, b'1', 0x20, b'h', // mid "1", rid "h"
            0xca, 0xfe,
        ]);
        let p = RtpPacket::parse(raw).unwrap();
        let ext = map.read(p.header.extensions.as_ref().unwrap());
        let info = RouteInfo::new(&p.header, &ext);
        assert_eq!(info.ssrc, 9);
        assert_eq!(info.payload_type, 96);
        assert_eq!(info.mid, Some(&b"1"[..]));
        assert_eq!(info.rid, Some(&b"h"[..]));
        assert_eq!(info.repaired_rid, None);
        let mut r = router();
        let route = r.route(&info).unwrap();
        assert_eq!((route.receiver, route.rid), (VIDEO, Some(0)));
    }
}
