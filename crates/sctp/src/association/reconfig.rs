//! Stream re-configuration (RFC 6525): outgoing stream resets and added streams, requests
//! of both sides, their responses and retransmission.

use std::time::Instant;

use crate::chunk::Chunk;
use crate::param::{reconfig_result, ReconfigParam};

use super::*;

impl Association {
    pub(super) fn on_reconfig(&mut self, now: Instant, params: Vec<ReconfigParam>) {
        if self.state != State::Established {
            return;
        }
        for p in params {
            match p {
                ReconfigParam::OutgoingSsnReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        let result = match &self.deferred_incoming {
                            Some((seq, _, _)) if *seq == request_seq => {
                                reconfig_result::IN_PROGRESS
                            }
                            _ => known,
                        };
                        self.respond(request_seq, result);
                        continue;
                    }
                    if tsn_le(last_tsn, self.peer_cum) {
                        self.reset_incoming(&streams);
                        self.respond(request_seq, reconfig_result::SUCCESS_PERFORMED);
                    } else {
                        self.deferred_incoming = Some((request_seq, last_tsn, streams));
                        self.respond(request_seq, reconfig_result::IN_PROGRESS);
                    }
                }
                ReconfigParam::AddOutgoingStreams {
                    request_seq,
                    new_streams,
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    // §5.2.5: the peer adds outgoing streams, which are our incoming ones.
                    let total = u32::from(self.in_streams) + u32::from(new_streams);
                    let result = if new_streams == 0 {
                        reconfig_result::SUCCESS_NOTHING_TO_DO
                    } else if total > u32::from(self.cfg.max_streams) {
                        reconfig_result::DENIED
                    } else {
                        self.in_streams = total as u16;
                        self.events.push_back(Event::StreamsAdded {
                            outgoing: self.out_streams,
                            incoming: self.in_streams,
                        });
                        reconfig_result::SUCCESS_PERFORMED
                    };
                    self.respond(request_seq, result);
                }
                ReconfigParam::AddIncomingStreams {
                    request_seq,
                    new_streams,
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    // §5.2.6: the peer wants more streams towards it: we ask to add outgoing
                    // streams (§5.1.5), within our limit, and confirm.
                    let total = u32::from(self.out_streams)
                        + self.add_out_queue
                        + self.inflight_add_out()
                        + u32::from(new_streams);
                    let result = if new_streams == 0 {
                        reconfig_result::SUCCESS_NOTHING_TO_DO
                    } else if total > u32::from(self.cfg.max_streams) {
                        reconfig_result::DENIED
                    } else {
                        self.add_out_queue += u32::from(new_streams);
                        reconfig_result::SUCCESS_PERFORMED
                    };
                    self.respond(request_seq, result);
                }
                ReconfigParam::IncomingSsnReset { request_seq, .. }
                | ReconfigParam::SsnTsnReset { request_seq } => {
                    // Not used by WebRTC (RFC 8831 closes channels with outgoing resets);
                    // denying is allowed (RFC 6525 §5.2.1).
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    self.respond(request_seq, reconfig_result::DENIED);
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                    ..
                } => self.on_reconfig_response(now, response_seq, result),
                ReconfigParam::Unknown { .. } => {}
            }
        }
    }

    /// Sequence-number check of a received request (RFC 6525 §5.2.1, Table 3). `None`: a
    /// new request, to be processed (the expected sequence number advances). `Some(result)`:
    /// not to be processed, answer with `result` (the earlier answer to a retransmission,
    /// or "bad sequence number").
    fn check_request_seq(&mut self, seq: u32) -> Option<u32> {
        if seq == self.peer_next_req_seq {
            self.peer_next_req_seq = seq.wrapping_add(1);
            return None;
        }
        let behind = self.peer_next_req_seq.wrapping_sub(seq);
        if (1..=REMEMBERED_RESPONSES as u32).contains(&behind) {
            let earlier = self
                .last_responses
                .iter()
                .find(|(s, _)| *s == seq)
                .map_or(reconfig_result::SUCCESS_NOTHING_TO_DO, |(_, r)| *r);
            return Some(earlier);
        }
        Some(reconfig_result::ERROR_BAD_SEQUENCE_NUMBER)
    }

    pub(super) fn inflight_add_out(&self) -> u32 {
        self.reconfig_inflight
            .iter()
            .map(|r| match r.kind {
                ReqKind::AddOutgoing(n) => u32::from(n),
                _ => 0,
            })
            .sum()
    }

    fn on_reconfig_response(&mut self, now: Instant, seq: u32, result: u32) {
        let Some(pos) = self.reconfig_inflight.iter().position(|r| r.seq == seq) else {
            return;
        };
        if result == reconfig_result::IN_PROGRESS {
            // §5.2.7 H2: ask again when the timer expires.
            self.timers.set(Timer::Reconfig, now + self.rto);
            return;
        }
        let req = self.reconfig_inflight.remove(pos);
        if self.reconfig_inflight.is_empty() {
            self.timers.stop(Timer::Reconfig);
        }
        let ok = matches!(
            result,
            reconfig_result::SUCCESS_PERFORMED | reconfig_result::SUCCESS_NOTHING_TO_DO
        );
        match req.kind {
            ReqKind::ResetOutgoing { streams, .. } => {
                for s in &streams {
                    if let Some(o) = self.streams_out.get_mut(s) {
                        if ok {
                            o.next_ssn = 0;
                            o.next_umid = 0;
                        }
                        o.resetting = false;
                    }
                }
                self.events.push_back(if ok {
                    Event::OutgoingStreamsReset(streams)
                } else {
                    Event::StreamResetFailed(streams)
                });
            }
            ReqKind::AddOutgoing(n) => {
                if ok {
                    self.out_streams = self.out_streams.saturating_add(n);
                    self.events.push_back(Event::StreamsAdded {
                        outgoing: self.out_streams,
                        incoming: self.in_streams,
                    });
                } else {
                    self.events.push_back(Event::AddStreamsDenied {
                        outgoing: n,
                        incoming: 0,
                    });
                }
            }
            ReqKind::AddIncoming(n) => {
                // Success: the peer now sends its own Add Outgoing Streams request.
                if !ok {
                    self.events.push_back(Event::AddStreamsDenied {
                        outgoing: 0,
                        incoming: n,
                    });
                }
            }
        }
    }

    fn respond(&mut self, seq: u32, result: u32) {
        if result != reconfig_result::IN_PROGRESS
            && result != reconfig_result::ERROR_BAD_SEQUENCE_NUMBER
        {
            self.last_responses.retain(|(s, _)| *s != seq);
            if self.last_responses.len() >= REMEMBERED_RESPONSES {
                self.last_responses.pop_front();
            }
            self.last_responses.push_back((seq, result));
        }
        self.control.push_back(Chunk::ReConfig {
            params: vec![ReconfigParam::Response {
                response_seq: seq,
                result,
                next_tsns: None,
            }],
        });
    }

    fn reset_incoming(&mut self, streams: &[u16]) {
        if streams.is_empty() {
            for s in self.streams_in.values_mut() {
                s.next_ssn = 0;
            }
        }
        for s in streams {
            let st = self.streams_in.entry(*s).or_default();
            st.next_ssn = 0;
            st.pending.clear();
        }
        self.events
            .push_back(Event::IncomingStreamsReset(streams.to_vec()));
    }

    pub(super) fn process_deferred_reset(&mut self) {
        let ready =
            matches!(&self.deferred_incoming, Some((_, last, _)) if tsn_le(*last, self.peer_cum));
        if ready {
            if let Some((seq, _, streams)) = self.deferred_incoming.take() {
                self.reset_incoming(&streams);
                self.respond(seq, reconfig_result::SUCCESS_PERFORMED);
            }
        }
    }

    /// Puts requests that were in flight back in the queues (after a restart).
    pub(super) fn requeue_reconfig(&mut self) {
        for r in std::mem::take(&mut self.reconfig_inflight) {
            match r.kind {
                ReqKind::ResetOutgoing { streams, .. } => {
                    for s in streams {
                        if !self.reset_queue.contains(&s) {
                            self.reset_queue.push(s);
                        }
                    }
                }
                ReqKind::AddOutgoing(n) => self.add_out_queue += u32::from(n),
                ReqKind::AddIncoming(n) => self.add_in_queue += u32::from(n),
            }
        }
    }

    /// Adds a request with the next request sequence number (RFC 6525 §4.1).
    fn queue_request(&mut self, kind: ReqKind) {
        let seq = self.next_req_seq;
        self.next_req_seq = seq.wrapping_add(1);
        self.reconfig_inflight.push(PendingReq { seq, kind });
    }

    /// Sends the next RE-CONFIG request when none is in flight (RFC 6525 §5.1.1): a stream
    /// reset once every message queued on its streams has been handed out, else the
    /// add-streams requests (which may share one chunk, §3.1).
    pub(super) fn maybe_start_reconfig(&mut self, now: Instant) {
        if !self.reconfig_inflight.is_empty() || self.state != State::Established {
            return;
        }
        let busy = self.reset_queue.iter().any(|s| {
            self.streams_out.get(s).is_some_and(|o| !o.queue.is_empty()) || self.current == Some(*s)
        });
        if !self.reset_queue.is_empty() && !busy {
            let streams = std::mem::take(&mut self.reset_queue);
            let last_tsn = self.next_tsn.wrapping_sub(1);
            self.queue_request(ReqKind::ResetOutgoing { streams, last_tsn });
        } else if self.add_out_queue > 0 || self.add_in_queue > 0 {
            if self.add_out_queue > 0 {
                let n = take_streams(&mut self.add_out_queue);
                self.queue_request(ReqKind::AddOutgoing(n));
            }
            if self.add_in_queue > 0 {
                let n = take_streams(&mut self.add_in_queue);
                self.queue_request(ReqKind::AddIncoming(n));
            }
        } else {
            return;
        }
        self.send_reconfig_request();
        self.timers.set(Timer::Reconfig, now + self.rto);
    }

    /// (Re)sends the requests in flight in one RE-CONFIG chunk.
    pub(super) fn send_reconfig_request(&mut self) {
        let response_seq = self.peer_next_req_seq.wrapping_sub(1);
        let params: Vec<ReconfigParam> = self
            .reconfig_inflight
            .iter()
            .map(|r| match &r.kind {
                ReqKind::ResetOutgoing { streams, last_tsn } => ReconfigParam::OutgoingSsnReset {
                    request_seq: r.seq,
                    response_seq,
                    last_tsn: *last_tsn,
                    streams: streams.clone(),
                },
                ReqKind::AddOutgoing(n) => ReconfigParam::AddOutgoingStreams {
                    request_seq: r.seq,
                    new_streams: *n,
                },
                ReqKind::AddIncoming(n) => ReconfigParam::AddIncomingStreams {
                    request_seq: r.seq,
                    new_streams: *n,
                },
            })
            .collect();
        if !params.is_empty() {
            self.control.push_back(Chunk::ReConfig { params });
        }
    }
}
