//! Reassembly and ordered delivery of received messages: DATA fragments by TSN, I-DATA
//! fragments by (stream, MID, FSN) (RFC 8260 §2.1), stream sequence order, and what a
//! FORWARD-TSN / I-FORWARD-TSN releases (RFC 3758 §3.6, RFC 8260 §2.3).

use std::collections::HashMap;

use bytes::{BufMut, BytesMut};

use crate::Error;

use super::*;

impl Association {
    /// Distance from `b` to `a` in the sequence space in use: 16-bit SSNs with DATA, 32-bit
    /// MIDs with I-DATA.
    fn seq_diff(&self, a: u32, b: u32) -> i64 {
        if self.idata {
            i64::from(a.wrapping_sub(b) as i32)
        } else {
            i64::from((a as u16).wrapping_sub(b as u16) as i16)
        }
    }

    fn seq_next(&self, a: u32) -> u32 {
        if self.idata {
            a.wrapping_add(1)
        } else {
            u32::from((a as u16).wrapping_add(1))
        }
    }

    /// Key of a TSN in the 64-bit reassembly space anchored at `reasm_base`.
    pub(super) fn key_of(&self, tsn: u32) -> u64 {
        (1u64 << 32) + tsn.wrapping_sub(self.reasm_base) as u64
    }

    pub(super) fn try_reassemble(&mut self, key: u64) -> Result<(), Error> {
        let Some(f) = self.reasm.get(&key) else {
            return Ok(());
        };
        let stream = f.stream_id;
        // Walk back to B.
        let mut start = key;
        loop {
            let Some(fr) = self.reasm.get(&start) else {
                return Ok(());
            };
            if fr.stream_id != stream {
                return Ok(());
            }
            if fr.flags & 2 != 0 {
                break;
            }
            start -= 1;
        }
        // Walk forward to E.
        let mut end = key;
        let mut total = 0usize;
        loop {
            let Some(fr) = self.reasm.get(&end) else {
                return Ok(());
            };
            if fr.stream_id != stream || (end != start && fr.flags & 2 != 0) {
                return Ok(());
            }
            if fr.flags & 1 != 0 {
                break;
            }
            end += 1;
        }
        let mut k = start;
        while k <= end {
            total += self.reasm.get(&k).map_or(0, |f| f.payload.len());
            k += 1;
        }
        if total > self.cfg.max_message_size {
            self.abort("received message exceeds max message size");
            return Ok(());
        }
        let mut buf = BytesMut::with_capacity(total);
        let (mut ppid, mut ssn, mut unordered) = (0, 0, false);
        for k in start..=end {
            if let Some(fr) = self.reasm.remove(&k) {
                self.rx_partial = self.rx_partial.saturating_sub(fr.payload.len());
                if k == start {
                    ppid = fr.ppid;
                    ssn = fr.ssn;
                    unordered = fr.flags & 4 != 0;
                }
                buf.put_slice(&fr.payload);
            }
        }
        self.complete_message(
            Message {
                stream_id: stream,
                ppid,
                unordered,
                payload: buf.freeze(),
            },
            u32::from(ssn),
        );
        Ok(())
    }

    pub(super) fn complete_message(&mut self, m: Message, seq: u32) {
        if m.unordered {
            self.deliver(m);
            return;
        }
        let next = self.streams_in.get(&m.stream_id).map_or(0, |s| s.next_ssn);
        let diff = self.seq_diff(seq, next);
        let after = self.seq_next(seq);
        let s = self.streams_in.entry(m.stream_id).or_default();
        if diff == 0 {
            s.next_ssn = after;
            let stream = m.stream_id;
            self.deliver(m);
            self.drain_stream(stream);
        } else if diff > 0 {
            if let Some(old) = s.pending.insert(seq, m) {
                self.rx_buffered = self.rx_buffered.saturating_sub(old.payload.len());
            }
        } else {
            // An old sequence number (skipped by FORWARD-TSN): drop.
            self.stats.stale_messages_dropped += 1;
            self.rx_buffered = self.rx_buffered.saturating_sub(m.payload.len());
        }
    }

    fn drain_stream(&mut self, stream: u16) {
        loop {
            let Some(next) = self.streams_in.get(&stream).map(|s| s.next_ssn) else {
                return;
            };
            let after = self.seq_next(next);
            let Some(s) = self.streams_in.get_mut(&stream) else {
                return;
            };
            let Some(m) = s.pending.remove(&next) else {
                return;
            };
            s.next_ssn = after;
            self.deliver(m);
        }
    }

    fn deliver(&mut self, m: Message) {
        self.stats.messages_received += 1;
        self.events.push_back(Event::Message(m));
    }

    /// FORWARD-TSN (RFC 3758 §3.6) and I-FORWARD-TSN (RFC 8260 §2.3): entries are
    /// (stream, unordered, SSN or MID).
    ///
    /// A New Cumulative TSN equal to ours. RFC 3758 §3.6 says a FORWARD-TSN "behind or at"
    /// the cumulative TSN point is out of date: the receiver "MUST NOT update its Cumulative
    /// TSN" and SHOULD send a SACK. We read that sentence as being about the cumulative TSN
    /// only. The same section says that "during processing of a FORWARD TSN, the receiver
    /// MUST use the stream sequence information to examine all of the listed stream
    /// reordering queues", and nothing exempts an out-of-date chunk from that. This matters
    /// when the sender abandons a message after sending only some of its fragments: the
    /// unsent fragments never get TSNs, so the sender's Advanced.Peer.Ack.Point (§3.5 C1)
    /// stops at the last fragment it sent. That is the receiver's cumulative TSN. The
    /// FORWARD-TSN then carries New Cumulative TSN == our cumulative TSN and the (stream, SSN)
    /// of the abandoned message. Ignoring it would leave the partial message in reassembly
    /// and every later message on the stream stuck behind its SSN for ever.
    ///
    /// So when the New Cumulative TSN equals ours, we keep the cumulative TSN, drop partial
    /// messages of the listed streams whose sequence number is at or before the listed one,
    /// skip the stream past it, and deliver what was waiting. A New Cumulative TSN strictly
    /// behind ours is a reordered or duplicated older chunk: it only triggers a SACK.
    pub(super) fn on_forward_tsn(&mut self, new_cum: u32, entries: &[(u16, bool, u32)]) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownSent
        ) {
            return;
        }
        if tsn_lt(new_cum, self.peer_cum) {
            self.ack_now = true;
            return;
        }
        if new_cum == self.peer_cum {
            self.ack_now = true;
        }
        let distance = new_cum.wrapping_sub(self.peer_cum) as usize;
        if distance > (self.cfg.receive_buffer_size / 16).max(1024) * 4 {
            return;
        }
        self.peer_cum = new_cum;
        while let Some(&n) = self.out_of_order.first() {
            if tsn_le(n, self.peer_cum) {
                self.out_of_order.pop_first();
            } else if n == self.peer_cum.wrapping_add(1) {
                self.peer_cum = n;
                self.out_of_order.pop_first();
            } else {
                break;
            }
        }
        // DATA: drop reassembly state at or below the new cumulative TSN.
        if !self.reasm.is_empty() {
            let cut = self.key_of(new_cum) + 1;
            let keep = self.reasm.split_off(&cut);
            let dropped: usize = self.reasm.values().map(|f| f.payload.len()).sum();
            self.stats.partial_messages_skipped +=
                self.reasm.values().filter(|f| f.flags & 2 != 0).count() as u64;
            self.rx_buffered = self.rx_buffered.saturating_sub(dropped);
            self.rx_partial = self.rx_partial.saturating_sub(dropped);
            self.reasm = keep;
        }
        // A chunk holds at most ~16k entries; one per stream is what a peer legitimately sends.
        let entries = entries.get(..entries.len().min(1024)).unwrap_or_default();
        if !self.idata && !self.reasm.is_empty() {
            self.drop_skipped_fragments(entries);
        }
        for &(stream, unordered, seq) in entries {
            if self.idata {
                self.drop_skipped_messages(stream, unordered, seq);
            }
            if !unordered {
                self.skip_stream(stream, seq);
            }
        }
        // The next in-order chunk may already be sitting in reassembly.
        if let Some((&k, _)) = self.reasm.first_key_value() {
            let _ = self.try_reassemble(k);
        }
    }

    /// I-FORWARD-TSN: drops the partial I-DATA messages of (stream, U) up to the skipped
    /// MID (RFC 8260 §2.3.2).
    fn drop_skipped_messages(&mut self, stream: u16, unordered: bool, seq: u32) {
        let victims: Vec<(u16, bool, u32)> = self
            .ireasm
            .range((stream, unordered, 0)..=(stream, unordered, u32::MAX))
            .map(|(k, _)| *k)
            .filter(|(_, _, m)| (seq.wrapping_sub(*m) as i32) >= 0)
            .collect();
        for v in victims {
            if let Some(p) = self.ireasm.remove(&v) {
                self.stats.partial_messages_skipped += 1;
                self.rx_buffered = self.rx_buffered.saturating_sub(p.bytes);
                self.rx_partial = self.rx_partial.saturating_sub(p.bytes);
            }
        }
    }

    /// Moves an ordered stream past the skipped sequence number (RFC 3758 §3.6): complete
    /// messages waiting up to it are delivered in order, then whatever follows it.
    fn skip_stream(&mut self, stream: u16, seq: u32) {
        let next = self.streams_in.get(&stream).map_or(0, |s| s.next_ssn);
        if self.seq_diff(seq, next) < 0 {
            return;
        }
        // Deliver complete messages up to the skipped one in order, then move past it.
        let span = self.seq_diff(seq, next);
        let mut keys: Vec<(i64, u32)> = self
            .streams_in
            .get(&stream)
            .map(|s| {
                s.pending
                    .keys()
                    .map(|k| (self.seq_diff(*k, next), *k))
                    .filter(|(d, _)| *d >= 0 && *d <= span)
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_unstable();
        let mut deliver = Vec::with_capacity(keys.len());
        if let Some(s) = self.streams_in.get_mut(&stream) {
            for (_, k) in keys {
                if let Some(m) = s.pending.remove(&k) {
                    deliver.push(m);
                }
            }
        }
        let after = self.seq_next(seq);
        self.streams_in.entry(stream).or_default().next_ssn = after;
        for m in deliver {
            self.deliver(m);
        }
        self.drain_stream(stream);
    }

    /// Drops the DATA fragments of ordered messages the sender abandoned (RFC 3758 §3.6):
    /// on a listed stream, an SSN from the stream's next expected one up to the listed one,
    /// wherever their TSN lies. One pass over the reassembly queue for all entries.
    fn drop_skipped_fragments(&mut self, entries: &[(u16, bool, u32)]) {
        let mut skipped: HashMap<u16, (u32, u32)> = HashMap::new();
        for &(stream, unordered, seq) in entries {
            if !unordered {
                let next = self.streams_in.get(&stream).map_or(0, |s| s.next_ssn);
                skipped.insert(stream, (next, seq));
            }
        }
        let mut dropped = 0usize;
        let mut messages = 0u64;
        self.reasm.retain(|_, f| {
            let Some(&(next, last)) = skipped.get(&f.stream_id) else {
                return true;
            };
            let ssn = f.ssn;
            let from_next = ssn.wrapping_sub(next as u16) as i16;
            let to_last = ssn.wrapping_sub(last as u16) as i16;
            let abandoned = f.flags & 4 == 0 && from_next >= 0 && to_last <= 0;
            if abandoned {
                dropped += f.payload.len();
                messages += u64::from(f.flags & 2 != 0);
            }
            !abandoned
        });
        self.stats.partial_messages_skipped += messages;
        self.rx_buffered = self.rx_buffered.saturating_sub(dropped);
        self.rx_partial = self.rx_partial.saturating_sub(dropped);
    }
}
