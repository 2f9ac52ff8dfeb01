//! The routing table of one BUNDLE transport ([`Router`]): receivers, SSRC bindings and the
//! payload type owners, and the RFC 8843 §9.2 routing order the module documentation gives.

use std::collections::HashMap;

use crate::media::SsrcMap;

use super::{
    seq_newer, DropReason, ReceiverId, ReceiverParams, Route, RouteInfo, RoutedBy, RouterConfig,
    StreamKind, MAX_LEARNED_RIDS,
};
use crate::Error;

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
    ssrcs: SsrcMap<Binding>,
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
