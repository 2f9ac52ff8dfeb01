//! Graceful shutdown (RFC 9260 §9.2).

use std::time::Instant;

use crate::chunk::{Chunk, SackChunk};

use super::*;

impl Association {
    /// Starts a graceful shutdown (RFC 9260 §9.2): queued data is delivered first.
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.shutdown_requested = true;
                self.maybe_progress_shutdown(now);
            }
            State::CookieWait | State::CookieEchoed => self.abort("shutdown before establishment"),
            _ => {}
        }
    }

    pub(super) fn on_shutdown(&mut self, now: Instant, cum: u32) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        self.on_sack(
            now,
            SackChunk {
                cum_tsn_ack: cum,
                a_rwnd: self.peer_rwnd as u32 + self.flight_size as u32,
                gap_blocks: vec![],
                dup_tsns: vec![],
            },
        );
        if self.state == State::ShutdownSent {
            // Both sides shut down at once: answer with SHUTDOWN ACK (§9.2).
            self.state = State::ShutdownReceived;
        }
        if matches!(self.state, State::Established | State::ShutdownPending) {
            self.state = State::ShutdownReceived;
        }
        self.maybe_progress_shutdown(now);
    }

    fn all_sent_and_acked(&self) -> bool {
        self.inflight.is_empty()
            && self.queued_bytes == 0
            && self.active.is_empty()
            && self.current.is_none()
    }

    pub(super) fn maybe_progress_shutdown(&mut self, now: Instant) {
        if !self.all_sent_and_acked() {
            return;
        }
        let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
        match self.state {
            State::ShutdownPending => {
                self.state = State::ShutdownSent;
                self.control.push_back(Chunk::Shutdown {
                    cum_tsn_ack: self.peer_cum,
                });
                self.timers.set(Timer::Shutdown, now + self.rto);
                self.timers.stop(Timer::Retransmit);
            }
            State::ShutdownReceived => {
                self.state = State::ShutdownAckSent;
                self.send_single(vt, Chunk::ShutdownAck, false);
                self.timers.set(Timer::Shutdown, now + self.rto);
                self.timers.stop(Timer::Retransmit);
            }
            _ => {}
        }
    }
}
