//! The handshake timers: retransmission of our last flight (RFC 6347 §4.2.4.1, doubling up to
//! `max_retransmit`) and the total handshake timeout.

use std::time::Instant;

use super::{Cause, Dtls, Event, State};
use crate::error::{Error, Result};
use crate::ffi;

impl Dtls {
    /// Call when [`Dtls::poll_timeout`] is reached: retransmits the handshake flight, or gives
    /// up when the handshake took longer than `handshake_timeout` in total.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        match self.state {
            State::Handshaking | State::AwaitingFingerprint => {}
            State::Failed(ref e) => return Err(e.clone()),
            _ => return Ok(()),
        }
        if now >= self.deadline {
            let err = Error::HandshakeTimeout(now.saturating_duration_since(self.started));
            self.fail(err.clone());
            return Err(err);
        }
        if self.state != State::Handshaking || self.next_retransmit.is_none_or(|t| now < t) {
            return Ok(());
        }
        if let Some(a) = self.suspect_alert {
            // A plaintext fatal alert came after our ChangeCipherSpec and the peer did not
            // finish the handshake since: believe it now.
            self.events.push_back(Event::Alert(a));
            let err = Error::AlertReceived(a);
            self.fail(err.clone());
            return Err(err);
        }
        if let Some(r) = self.reassembly.as_mut() {
            // The peer resends its whole flight when ours is retransmitted (RFC 6347 §4.2.4).
            r.discard_partial(&mut self.stats);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        ffi::set_schedule(self.config.initial_retransmit, self.config.max_retransmit);
        let before = stream.get_ref().outgoing.len();
        let r = ffi::handle_timeout(stream.ssl());
        if r < 0 {
            let detail = openssl::error::ErrorStack::get().to_string();
            let state = stream.ssl().state_string_long();
            self.collect(now, Cause::Timer);
            let err = Error::Handshake { state, detail };
            self.fail(err.clone());
            return Err(err);
        }
        let native = stream.get_ref().outgoing.len() > before;
        if native {
            tracing::debug!(rto = ?self.rto, "dtls: OpenSSL retransmitted its flight");
            self.collect(now, Cause::Timer);
        } else {
            // OpenSSL's timer runs on the wall clock and has not expired yet (the caller's
            // clock runs ahead of it, as in simulations): resend the cached datagrams. To the
            // peer this is indistinguishable from a duplicate on the network.
            tracing::debug!(rto = ?self.rto, n = self.flight.len(), "dtls: resending flight");
            self.transmits.extend(self.flight.iter().cloned());
        }
        self.rto = (self.rto * 2).min(self.config.max_retransmit);
        self.next_retransmit = Some(now + self.rto);
        Ok(())
    }

    /// When [`Dtls::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Handshaking => Some(
                self.next_retransmit
                    .map_or(self.deadline, |t| t.min(self.deadline)),
            ),
            State::AwaitingFingerprint => Some(self.deadline),
            _ => None,
        }
    }
}
