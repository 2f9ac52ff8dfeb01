//! The sending side: user commands that queue messages or stream requests, the stream
//! scheduler that cuts messages into DATA / I-DATA chunks, and PR-SCTP abandonment with the
//! FORWARD-TSN it leads to (RFC 3758 §3.5, RFC 8260 §2.3).

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

use crate::chunk::{
    pad4, write_data_header, write_idata_header, Chunk, ForwardTsnStream, DATA_HEADER_LEN,
    IDATA_HEADER_LEN,
};
use crate::Error;

use super::*;

/// Payload bytes of the next fragment: `None` when not even a 4-byte fragment fits in
/// `room` after a header of `hdr` bytes, or when the peer's window would only take a runt
/// while data is in flight (SWS avoidance, RFC 9260 §6.2.1). Fragments other than the last
/// are a multiple of 4 bytes so that chunks pack without padding.
fn fragment_len(
    room: usize,
    hdr: usize,
    remaining: usize,
    peer_window: usize,
    flight_size: usize,
) -> Option<usize> {
    if room < hdr + 4 {
        return None;
    }
    let max_payload = (room - hdr) & !3;
    let take = remaining.min(max_payload).min(peer_window.max(1));
    if take == 0 || (take < remaining && take < max_payload && flight_size > 0) {
        return None;
    }
    Some(take)
}

/// Gives a message its stream sequence number with its first fragment: SSN for ordered DATA
/// (16 bits), MID for I-DATA (32 bits, ordered and unordered counted apart, RFC 8260 §2.1).
fn assign_seq(next_ssn: &mut u32, next_umid: &mut u32, m: &mut OutMessage, idata: bool) {
    if idata {
        let ctr = if m.unordered { next_umid } else { next_ssn };
        m.seq = *ctr;
        *ctr = ctr.wrapping_add(1);
    } else if !m.unordered {
        m.seq = *next_ssn;
        *next_ssn = u32::from((*next_ssn as u16).wrapping_add(1));
    }
}

impl Association {
    /// Queues a user message on `stream`.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        payload: Bytes,
        opts: SendOptions,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        match self.state {
            State::Established => {}
            State::Closed if self.peer.is_some() => return Err(Error::Closed),
            State::Closed | State::CookieWait | State::CookieEchoed => {
                return Err(Error::NotEstablished)
            }
            _ => return Err(Error::Closed),
        }
        if payload.is_empty() {
            return Err(Error::EmptyMessage);
        }
        if payload.len() > self.cfg.max_message_size {
            return Err(Error::MessageTooLarge {
                size: payload.len(),
                max: self.cfg.max_message_size,
            });
        }
        if stream >= self.out_streams {
            return Err(Error::InvalidStream(stream));
        }
        if self.queued_bytes + payload.len() > self.cfg.send_buffer_size {
            return Err(Error::SendBufferFull {
                buffered: self.queued_bytes,
                limit: self.cfg.send_buffer_size,
            });
        }
        let s = self.streams_out.entry(stream).or_default();
        if s.resetting {
            return Err(Error::StreamResetting(stream));
        }
        let len = payload.len();
        let was_empty = s.queue.is_empty();
        s.queue.push_back(OutMessage {
            id: self.next_msg_id,
            ppid,
            payload,
            offset: 0,
            unordered: opts.unordered,
            seq: 0,
            fsn: 0,
            max_rtx: opts.max_retransmits,
            expires: opts.lifetime.map(|l| now + l),
        });
        s.buffered += len;
        s.queued_total += len as u64;
        self.next_msg_id += 1;
        self.queued_bytes += len;
        if self.flight_size == 0 {
            // Nothing in flight means no SACK will come to refill the burst budget.
            self.burst_budget = self.burst_budget.max(self.cfg.max_burst);
        }
        if self.queued_bytes > self.cfg.send_buffer_low_water {
            self.above_low_water = true;
        }
        if was_empty && self.current != Some(stream) {
            self.active.push_back(stream);
        }
        Ok(())
    }

    /// Resets outgoing streams (RFC 6525 §5.1.2), the way a data channel is closed. Queued
    /// messages are sent first; new ones are refused until
    /// [`Event::OutgoingStreamsReset`] arrives.
    pub fn reset_streams(&mut self, streams: &[u16]) -> Result<(), Error> {
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        if !self.peer.as_ref().is_some_and(|p| p.reconfig) {
            return Err(Error::Reset("peer does not support RE-CONFIG"));
        }
        for &s in streams {
            self.streams_out.entry(s).or_default().resetting = true;
            if !self.reset_queue.contains(&s) {
                self.reset_queue.push(s);
            }
        }
        Ok(())
    }

    /// Asks the peer to add streams (RFC 6525 §5.1.5, §5.1.6): `outgoing` more streams for
    /// us to send on, `incoming` more for the peer to send on. New outgoing streams can be
    /// used once [`Event::StreamsAdded`] reports them; a refusal gives
    /// [`Event::AddStreamsDenied`].
    pub fn add_streams(&mut self, outgoing: u16, incoming: u16) -> Result<(), Error> {
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        if !self.peer.as_ref().is_some_and(|p| p.reconfig) {
            return Err(Error::Reset("peer does not support RE-CONFIG"));
        }
        let out_total = u32::from(self.out_streams)
            + self.add_out_queue
            + self.inflight_add_out()
            + u32::from(outgoing);
        let in_total = u32::from(self.in_streams) + self.add_in_queue + u32::from(incoming);
        if out_total > u32::from(u16::MAX) || in_total > u32::from(u16::MAX) {
            return Err(Error::Reset(
                "an association has at most 65535 streams each way",
            ));
        }
        self.add_out_queue += u32::from(outgoing);
        self.add_in_queue += u32::from(incoming);
        Ok(())
    }

    /// PR-SCTP: abandon marked chunks whose policy is exhausted (RFC 3758 §3.5 A).
    pub(super) fn abandon_marked(&mut self, now: Instant) {
        if !self.peer_supports_forward_tsn() {
            return;
        }
        let mut abandon = Vec::new();
        for c in &self.inflight {
            if c.state == SentState::NeedsRtx || c.state == SentState::Outstanding {
                let rtx_exhausted = c.max_rtx.is_some_and(|m| c.tx_count > m as u32);
                let expired = c.expires.is_some_and(|e| e <= now);
                if ((rtx_exhausted && c.state == SentState::NeedsRtx) || expired)
                    && abandon.last() != Some(&c.msg_id)
                {
                    abandon.push(c.msg_id);
                }
            }
        }
        abandon.sort_unstable();
        abandon.dedup();
        for id in abandon {
            self.abandon_message(id);
        }
    }

    fn abandon_message(&mut self, id: u64) {
        let mut stream = None;
        for c in self.inflight.iter_mut() {
            if c.msg_id != id {
                continue;
            }
            match c.state {
                SentState::Outstanding => self.flight_size -= c.payload.len(),
                SentState::NeedsRtx => self.rtx_pending -= 1,
                _ => {}
            }
            // Gap-acked fragments are marked too: the receiver may hold them in an incomplete
            // message that only a FORWARD-TSN entry for this message will clear.
            c.state = SentState::Abandoned;
            stream = Some(c.stream_id);
        }
        // Drop the unsent rest of the message (only the current message can be partial).
        if let Some(st) = stream {
            if let Some(s) = self.streams_out.get_mut(&st) {
                if s.queue.front().is_some_and(|m| m.id == id) {
                    if let Some(m) = s.queue.pop_front() {
                        let rest = m.payload.len() - m.offset;
                        s.buffered -= rest;
                        self.queued_bytes -= rest;
                        // The receiver may already hold every fragment that was sent; only a
                        // FORWARD-TSN naming this message lets it drop them. Give the unsent
                        // end a TSN that is never transmitted, so the Advanced.Peer.Ack.Point
                        // can only pass it with a FORWARD-TSN.
                        let tsn = self.next_tsn;
                        self.next_tsn = tsn.wrapping_add(1);
                        self.inflight.push_back(Sent {
                            tsn,
                            stream_id: st,
                            seq: m.seq,
                            fsn: m.fsn,
                            ppid: m.ppid,
                            flags: 1 | (m.unordered as u8) << 2,
                            payload: Bytes::new(),
                            msg_id: id,
                            sent_at: self.now,
                            tx_count: 1,
                            state: SentState::Abandoned,
                            misses: 0,
                            max_rtx: m.max_rtx,
                            expires: m.expires,
                        });
                    }
                    if self.current == Some(st) {
                        self.current = None;
                        if !s.queue.is_empty() {
                            self.active.push_back(st);
                        }
                    }
                }
            }
        }
        self.stats.messages_abandoned += 1;
    }

    pub(super) fn update_forward_tsn(&mut self) {
        if !self.peer_supports_forward_tsn() {
            return;
        }
        // Advanced.Peer.Ack.Point: skip over abandoned (and gap-acked) chunks at the front.
        let mut adv = self.cum_ack;
        let mut entries: Vec<(u16, bool, u32)> = Vec::new();
        for c in &self.inflight {
            match c.state {
                SentState::Abandoned => {
                    adv = c.tsn;
                    let unordered = c.flags & 4 != 0;
                    // DATA lists ordered streams only; I-DATA lists every skipped message.
                    if unordered && !self.idata {
                        continue;
                    }
                    if let Some(e) = entries
                        .iter_mut()
                        .find(|e| e.0 == c.stream_id && e.1 == unordered)
                    {
                        e.2 = c.seq;
                    } else {
                        entries.push((c.stream_id, unordered, c.seq));
                    }
                }
                SentState::Acked => {}
                _ => break,
            }
        }
        if adv != self.cum_ack {
            self.control
                .retain(|c| !matches!(c, Chunk::ForwardTsn { .. } | Chunk::IForwardTsn { .. }));
            let chunk = if self.idata {
                Chunk::IForwardTsn {
                    new_cum_tsn: adv,
                    streams: entries
                        .into_iter()
                        .map(
                            |(stream_id, unordered, mid)| crate::chunk::IForwardTsnStream {
                                stream_id,
                                unordered,
                                mid,
                            },
                        )
                        .collect(),
                }
            } else {
                Chunk::ForwardTsn {
                    new_cum_tsn: adv,
                    streams: entries
                        .into_iter()
                        .map(|(stream_id, _, ssn)| ForwardTsnStream {
                            stream_id,
                            ssn: ssn as u16,
                        })
                        .collect(),
                }
            };
            self.control.push_back(chunk);
            if !self.timers.is_armed(Timer::Retransmit) {
                // The FORWARD-TSN is retransmitted on T3 until the peer acknowledges it.
                self.timers.set(Timer::Retransmit, self.now + self.rto);
            }
        }
    }

    pub(super) fn check_low_water(&mut self) {
        if self.above_low_water && self.queued_bytes <= self.cfg.send_buffer_low_water {
            self.above_low_water = false;
            self.events.push_back(Event::SendBufferLow);
        }
    }

    /// Takes the next fragment from the stream scheduler and writes it. Returns false when
    /// nothing more fits or nothing is queued.
    pub(super) fn push_new_chunk(&mut self, now: Instant, buf: &mut BytesMut, room: usize) -> bool {
        let hdr = if self.idata {
            IDATA_HEADER_LEN
        } else {
            DATA_HEADER_LEN
        };
        let peer_window = if self.flight_size == 0 {
            usize::MAX
        } else {
            self.peer_rwnd
        };
        loop {
            let stream = match self.current {
                Some(s) => s,
                None => match self.active.pop_front() {
                    Some(s) => s,
                    None => return false,
                },
            };
            let Some(s) = self.streams_out.get_mut(&stream) else {
                self.current = None;
                continue;
            };
            let Some(m) = s.queue.front_mut() else {
                self.current = None;
                continue;
            };
            // PR-SCTP lifetime: a message that expired before its first byte left is dropped.
            if m.offset == 0
                && m.expires.is_some_and(|e| e <= now)
                && self.peer.as_ref().is_some_and(|p| p.forward_tsn)
            {
                self.drop_unsent_head(stream);
                continue;
            }
            let remaining = m.payload.len() - m.offset;
            let Some(take) = fragment_len(room, hdr, remaining, peer_window, self.flight_size)
            else {
                // No room, or window-limited: put the stream back where it was.
                if self.current.is_none() {
                    self.active.push_front(stream);
                }
                return false;
            };
            if m.offset == 0 {
                assign_seq(&mut s.next_ssn, &mut s.next_umid, m, self.idata);
            }
            let beginning = m.offset == 0;
            let ending = m.offset + take == m.payload.len();
            let payload = m.payload.slice(m.offset..m.offset + take);
            m.offset += take;
            let flags = (ending as u8) | (beginning as u8) << 1 | (m.unordered as u8) << 2;
            let tsn = self.next_tsn;
            self.next_tsn = tsn.wrapping_add(1);
            let fsn = m.fsn;
            m.fsn = m.fsn.wrapping_add(1);
            if self.idata {
                let f = if beginning { m.ppid } else { fsn };
                write_idata_header(buf, flags, tsn, stream, m.seq, f, take);
            } else {
                write_data_header(buf, flags, tsn, stream, m.seq as u16, m.ppid, take);
            }
            buf.put_slice(&payload);
            buf.put_bytes(0, pad4(take) - take);
            self.inflight.push_back(Sent {
                tsn,
                stream_id: stream,
                seq: m.seq,
                fsn,
                ppid: m.ppid,
                flags,
                payload,
                msg_id: m.id,
                sent_at: now,
                tx_count: 1,
                state: SentState::Outstanding,
                misses: 0,
                max_rtx: m.max_rtx,
                expires: m.expires,
            });
            s.buffered -= take;
            let low = s.low_threshold;
            let crossed = s.buffered <= low && s.buffered + take > low;
            if ending {
                s.queue.pop_front();
                release_if_empty(&mut s.queue);
            }
            let more = !s.queue.is_empty();
            self.queued_bytes -= take;
            self.flight_size += take;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(take);
            self.schedule_after_fragment(stream, ending, more);
            if crossed {
                self.events.push_back(Event::BufferedAmountLow(stream));
            }
            return true;
        }
    }

    /// Drops the first message of `stream`, which expired before any of it was sent
    /// (PR-SCTP, RFC 3758 §3.1: nothing of it is in flight, so no FORWARD-TSN is needed).
    fn drop_unsent_head(&mut self, stream: u16) {
        let Some(s) = self.streams_out.get_mut(&stream) else {
            return;
        };
        let Some(m) = s.queue.pop_front() else {
            return;
        };
        let len = m.payload.len();
        s.buffered -= len;
        release_if_empty(&mut s.queue);
        let more = !s.queue.is_empty();
        self.queued_bytes -= len;
        self.stats.messages_abandoned += 1;
        self.current = None;
        if more {
            self.active.push_front(stream);
        }
    }

    /// The stream scheduler after a fragment of `stream` was written.
    fn schedule_after_fragment(&mut self, stream: u16, ending: bool, more: bool) {
        if ending {
            self.current = None;
            if more {
                // Round robin between streams at message boundaries.
                self.active.push_back(stream);
            }
        } else if self.idata {
            // I-DATA: rotate between streams at every fragment (RFC 8260 §1), so a large
            // message does not hold back small ones on other streams.
            self.current = None;
            self.active.push_back(stream);
        } else {
            // DATA: the fragments of one message need consecutive TSNs.
            self.current = Some(stream);
        }
    }
}
