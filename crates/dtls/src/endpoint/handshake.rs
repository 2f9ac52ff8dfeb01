//! Driving OpenSSL's handshake and collecting its output as flights (RFC 6347 §4.2.4): each
//! new flight restarts the retransmission timer; a HelloVerifyRequest is not retransmitted.

use std::time::Instant;

use bytes::Bytes;

use openssl::ssl::ErrorCode;

use super::{Cause, Dtls, Event, Role, State, RECORD_HEADER};
use crate::alert;
use crate::error::Error;
use crate::ffi;

/// Whether a datagram is a HelloVerifyRequest: an epoch-0 handshake record whose first
/// fragment is of type hello_verify_request (3).
fn is_hello_verify_request(d: &[u8]) -> bool {
    d.first() == Some(&22) && d.get(3..5) == Some(&[0, 0]) && d.get(RECORD_HEADER) == Some(&3)
}

impl Dtls {
    /// Moves OpenSSL's output to the transmit queue; during the handshake remembers it as the
    /// current flight and (re)arms the retransmission timer.
    pub(super) fn collect(&mut self, now: Instant, cause: Cause) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let out: Vec<Bytes> = stream.get_mut().outgoing.drain(..).collect();
        if out.is_empty() {
            return;
        }
        if stream
            .get_ref()
            .highest_written
            .is_some_and(|(epoch, _)| epoch >= 1)
        {
            // Our ChangeCipherSpec is out: the peer's alerts come encrypted from now on.
            self.guard.epoch1 = true;
        }
        if self.role == Role::Server && out.iter().all(|d| is_hello_verify_request(d)) {
            // RFC 6347 §3.2.1: no timeout and retransmission for a HelloVerifyRequest (that
            // would be state); the client retransmits its ClientHello if it was lost.
            self.flight.clear();
            self.next_retransmit = None;
            self.hello_verify_request = out.first().cloned();
        } else if cause == Cause::Input {
            self.hello_verify_request = None;
            // A new flight: back to the initial timeout (RFC 6347 §4.2.4.1).
            self.flight.clone_from(&out);
            self.rto = self.config.initial_retransmit;
            self.next_retransmit = Some(now + self.rto);
        }
        self.transmits.extend(out);
    }

    pub(super) fn drive(&mut self, now: Instant, cause: Cause) {
        ffi::set_schedule(self.config.initial_retransmit, self.config.max_retransmit);
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        if self.state == State::Handshaking {
            match stream.do_handshake() {
                Ok(()) => {
                    let sent_final = !stream.get_ref().outgoing.is_empty();
                    self.collect(now, cause);
                    self.next_retransmit = None;
                    self.final_flight_sender = sent_final;
                    if !sent_final {
                        self.flight.clear();
                    }
                    tracing::debug!(role = ?self.role, "dtls: handshake done");
                    self.state = State::AwaitingFingerprint;
                    self.reassembly = None;
                    self.suspect_alert = None;
                    self.guard.epoch1 = true;
                    if self
                        .verify
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .expected
                        .is_some()
                    {
                        let _ = self.authenticate(now);
                    }
                }
                Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {
                    self.collect(now, cause);
                }
                Err(e) => {
                    let failure = self
                        .verify
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .failure
                        .take();
                    let alert = e.ssl_error().and_then(alert::from_openssl_errors);
                    if let Some(a) = alert {
                        self.events.push_back(Event::Alert(a));
                    }
                    let err = match (failure, alert) {
                        (Some(f), _) => f,
                        (None, Some(a)) => Error::AlertReceived(a),
                        (None, None) => Error::Handshake {
                            state: stream.ssl().state_string_long(),
                            detail: e.to_string(),
                        },
                    };
                    // OpenSSL queued a fatal alert for the peer: send it.
                    self.collect(now, cause);
                    self.fail(err);
                }
            }
        } else if self.state == State::Connected {
            self.read_records();
        }
    }
}
