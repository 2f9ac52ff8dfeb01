//! Assembly: when the packet at the front starts a frame, when the run from it is a
//! complete frame (consecutive sequence numbers, one timestamp, ending at the marker or
//! `frame_end`), and releasing it through the depacketizer.

use bytes::Bytes;

use super::{Boundary, DropReason, Dropped, Frame, FrameBuffer, Slot};
use crate::{Depacketizer, Error, PacketInfo};

impl<D: Depacketizer> FrameBuffer<D> {
    /// Whether the buffered packet at `s` starts a frame.
    pub(super) fn starts_frame(&self, s: i64, slot: &Slot) -> bool {
        if slot.is_padding() {
            return false;
        }
        if self.next.is_none() && self.front() == Some(s) {
            // Start-up (module docs): the lowest packet received within the start-up delay
            // starts the first frame if it says so, or, without a start flag, says keyframe.
            let waited = match (self.started, self.now) {
                (Some(t), Some(now)) => {
                    now.saturating_duration_since(t) >= self.config.startup_delay
                }
                _ => false,
            };
            // A complete keyframe that says it starts there starts at once, as a complete
            // keyframe later in the buffer would (`skip_to_keyframe`): waiting would only let
            // a later one skip it. Without a start flag (H.264, H.265) the run may lack its
            // first packets, so it waits.
            if slot.info.frame_start == Some(true) && self.keyframe_run(s) {
                return true;
            }
            return waited
                && match slot.info.frame_start {
                    Some(v) => v,
                    None => self.keyframe_run(s),
                };
        }
        match slot.info.frame_start {
            Some(v) => v,
            None => {
                if self.next == Some(s) {
                    return match self.boundary {
                        Boundary::FrameEnd => true,
                        Boundary::AfterTs(ts) => ts != slot.ts,
                        Boundary::Unknown => false,
                    };
                }
                match self.packets.get(&(s - 1)) {
                    Some(p) => p.is_padding() || p.ends_frame() || p.ts != slot.ts,
                    None => false,
                }
            }
        }
    }

    /// The last sequence number of the complete frame starting at `start`, if it is complete.
    pub(super) fn complete_run(&self, start: i64) -> Option<i64> {
        if self.ends == 0 {
            return None;
        }
        let ts = self.packets.get(&start)?.ts;
        for (expected, (&s, slot)) in (start..).zip(self.packets.range(start..)) {
            if s != expected || slot.is_padding() || slot.ts != ts {
                return None;
            }
            if s != start && slot.info.frame_start == Some(true) {
                return None;
            }
            if slot.ends_frame() {
                return Some(s);
            }
        }
        None
    }

    /// Whether the complete frame starting at `start` has a packet that says keyframe.
    pub(super) fn keyframe_run(&self, start: i64) -> bool {
        self.complete_run(start).is_some_and(|end| {
            self.packets
                .range(start..=end)
                .any(|(_, slot)| slot.info.keyframe)
        })
    }

    /// Releases every frame that can be released.
    pub(super) fn release(&mut self) {
        let mut guard = self.packets.len() + 2;
        while guard > 0 {
            guard -= 1;
            let Some(front) = self.front() else { return };
            if let Some(slot) = self.packets.get(&front) {
                if slot.is_padding() && self.next.is_some() {
                    // A padding packet between frames: consume it, nothing is lost. (Before
                    // the first frame it stays: it tells where the frame after it starts.)
                    self.remove(front);
                    self.next = Some(front + 1);
                    continue;
                }
                if self.starts_frame(front, slot) {
                    if let Some(end) = self.complete_run(front) {
                        self.emit(front, end);
                        continue;
                    }
                }
            }
            if !self.config.skip_to_keyframe || !self.skip_to_keyframe(front) {
                return;
            }
        }
    }

    /// Assembles and releases the complete frame `start..=end`.
    pub(super) fn emit(&mut self, start: i64, end: i64) {
        let contiguous = self.chain && self.next == Some(start);
        if !contiguous {
            self.depacketizer.reset();
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let size: usize = self
            .packets
            .range(start..=end)
            .map(|(_, s)| s.payload.len())
            .sum();
        out.reserve(size + 64);
        let mut merged: Option<PacketInfo> = None;
        let mut err = None;
        let mut ts = 0;
        let mut count = 0usize;
        for s in start..=end {
            let Some(slot) = self.remove(s) else { continue };
            ts = slot.ts;
            count += 1;
            if err.is_some() {
                continue;
            }
            match self.depacketizer.push(&slot.payload, &mut out) {
                Ok(info) => match merged.as_mut() {
                    None => merged = Some(info),
                    Some(m) => self.depacketizer.merge_info(m, &info),
                },
                Err(e) => err = Some(e),
            }
        }
        if err.is_none() {
            if let Err(e) = self.depacketizer.finish(&mut out) {
                err = Some(e);
            }
        }
        self.next = Some(end + 1);
        self.boundary = Boundary::FrameEnd;
        match (err, merged) {
            (None, Some(info)) => {
                let decodable = self.depacketizer.decodable(&info, contiguous);
                self.stats.frames += 1;
                self.chain = true;
                self.frames.push_back(Frame {
                    data: Bytes::from(out),
                    first_seq: start,
                    last_seq: end,
                    timestamp: ts,
                    contiguous,
                    info,
                    decodable,
                    packets: count,
                });
            }
            (err, _) => {
                self.depacketizer.reset();
                self.scratch = out;
                self.chain = false;
                self.stats.packets_dropped += count as u64;
                let reason = DropReason::Malformed(err.unwrap_or(Error::Discontinuity {
                    codec: "frame buffer",
                    reason: "empty frame",
                }));
                self.report(Dropped {
                    first_seq: start,
                    last_seq: end,
                    timestamp: Some(ts),
                    packets: count,
                    reason,
                });
            }
        }
    }
}
