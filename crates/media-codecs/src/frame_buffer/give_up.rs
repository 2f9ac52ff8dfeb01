//! Giving up: dropping the frame at the front when it is too old or the buffer is full,
//! or everything before a later complete keyframe, and reporting what was dropped.

use std::time::Instant;

use super::{Boundary, DropReason, Dropped, FrameBuffer};
use crate::Depacketizer;

impl<D: Depacketizer> FrameBuffer<D> {
    pub(super) fn expire(&mut self, now: Instant) {
        let mut guard = self.packets.len() + 2;
        while guard > 0 {
            guard -= 1;
            let Some((_, slot)) = self.packets.first_key_value() else {
                return;
            };
            if now.saturating_duration_since(slot.arrival) < self.config.max_age {
                return;
            }
            if !self.give_up(DropReason::TooOld) {
                return;
            }
            self.release();
        }
    }

    pub(super) fn drop_one(&mut self, seq: i64, ts: u32, reason: DropReason) {
        tracing::trace!(seq, ts, ?reason, "frame buffer: packet dropped");
        self.stats.packets_dropped += 1;
        self.report(Dropped {
            first_seq: seq,
            last_seq: seq,
            timestamp: Some(ts),
            packets: 1,
            reason,
        });
    }

    /// Looks for a complete keyframe after `front`; drops everything before it.
    pub(super) fn skip_to_keyframe(&mut self, front: i64) -> bool {
        if self.ends == 0 {
            return false;
        }
        let mut target = None;
        for (&s, slot) in self.packets.range(front + 1..) {
            if self.starts_frame(s, slot) && self.keyframe_run(s) {
                target = Some(s);
                break;
            }
        }
        let Some(target) = target else { return false };
        let mut guard = self.packets.len() + 2;
        while self.front().is_some_and(|f| f < target) && guard > 0 {
            guard -= 1;
            if !self.give_up_before(DropReason::SkippedForKeyframe, target) {
                break;
            }
        }
        self.next = Some(target);
        self.boundary = Boundary::FrameEnd;
        self.chain = false;
        true
    }

    /// Gives up the frame at the front; false when there is nothing to give up.
    pub(super) fn give_up(&mut self, reason: DropReason) -> bool {
        self.give_up_before(reason, i64::MAX)
    }

    /// Gives up the frame at the front, never past `limit`.
    pub(super) fn give_up_before(&mut self, reason: DropReason, limit: i64) -> bool {
        let Some((&first, first_slot)) = self.packets.first_key_value() else {
            return false;
        };
        let front = self.next.unwrap_or(first).min(first);
        if first == front && first_slot.is_padding() {
            // A padding packet is never part of a frame: consuming it loses nothing.
            self.remove(first);
            self.next = Some(first + 1);
            self.boundary = Boundary::FrameEnd;
            return true;
        }
        if first > front
            && (first_slot.is_padding()
                || first_slot.info.frame_start == Some(true)
                || first >= limit)
        {
            // Only missing sequence numbers before a known start.
            let cut = first.min(limit);
            self.report(Dropped {
                first_seq: front,
                last_seq: cut - 1,
                timestamp: None,
                packets: 0,
                reason,
            });
            self.next = Some(cut);
            self.boundary = Boundary::FrameEnd;
            self.chain = false;
            return true;
        }
        let ts0 = first_slot.ts;
        let mut cut = None;
        let mut boundary = Boundary::AfterTs(ts0);
        let mut prev: Option<(i64, u32)> = None;
        let mut last = first;
        for (&s, slot) in self.packets.range(first..) {
            if s >= limit {
                cut = Some((s.min(limit), Boundary::FrameEnd));
                break;
            }
            if s > first {
                let adjacent = prev.is_some_and(|(p, _)| p + 1 == s);
                if slot.is_padding() || slot.info.frame_start == Some(true) {
                    cut = Some((s, Boundary::FrameEnd));
                    break;
                }
                if let Some((_, pts)) = prev {
                    if adjacent && pts != slot.ts {
                        cut = Some((s, Boundary::AfterTs(pts)));
                        break;
                    }
                }
                if !adjacent && slot.ts != ts0 {
                    cut = Some((s, Boundary::Unknown));
                    break;
                }
            }
            last = s;
            if slot.ends_frame() {
                cut = Some((s + 1, Boundary::FrameEnd));
                break;
            }
            prev = Some((s, slot.ts));
        }
        let cut = match cut {
            Some((c, b)) => {
                boundary = b;
                c
            }
            None => last + 1,
        };
        let doomed: Vec<i64> = self.packets.range(first..cut).map(|(k, _)| *k).collect();
        let n = doomed.len();
        for s in doomed {
            self.remove(s);
        }
        self.stats.packets_dropped += n as u64;
        tracing::debug!(
            first = front,
            last = cut - 1,
            ?reason,
            "frame buffer: frame given up"
        );
        self.report(Dropped {
            first_seq: front,
            last_seq: cut - 1,
            timestamp: Some(ts0),
            packets: n,
            reason,
        });
        self.next = Some(cut);
        self.boundary = boundary;
        self.chain = false;
        true
    }
}
