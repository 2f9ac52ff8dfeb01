//! Datagrams from the peer: filtered (src/guard.rs) and reassembled (src/reassembly.rs) for
//! OpenSSL during the handshake, read through OpenSSL until our record layer takes over; and
//! the retransmissions that show the peer lost our final flight.

use std::time::Instant;

use bytes::Bytes;
use openssl::ssl::ErrorCode;

use super::records::observe;
use super::{Cause, Dtls, Event, State, RECORD_HEADER};
use crate::alert::{self, Alert, AlertLevel};
use crate::error::{Error, Result};

thread_local! {
    /// Scratch space for `SSL_read` (a record's plaintext is at most 2^14 bytes), shared by the
    /// connections of a thread instead of 16 KiB kept by each idle one.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 1 << 14]);
}

/// Whether a datagram holds an epoch-0 handshake or ChangeCipherSpec record: after our
/// handshake completed, that means the peer is retransmitting its last flight because it did
/// not get ours.
pub(super) fn is_handshake_retransmission(mut d: &[u8]) -> bool {
    for _ in 0..64 {
        let (Some(&ty), Some(&[e0, e1]), Some(&[l0, l1])) = (d.first(), d.get(3..5), d.get(11..13))
        else {
            return false;
        };
        if (ty == 22 || ty == 20) && [e0, e1] == [0, 0] {
            return true;
        }
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        match d.get(RECORD_HEADER + len..) {
            Some(rest) if !rest.is_empty() => d = rest,
            _ => return false,
        }
    }
    false
}

impl Dtls {
    /// A datagram from the peer (already demultiplexed as DTLS: first byte 20..=63).
    ///
    /// Malformed records are dropped and counted ([`Dtls::stats`]), never an error: only a
    /// genuine fatal condition (authentication, negotiation, a fatal alert) fails the
    /// association.
    pub fn handle_receive(&mut self, now: Instant, datagram: Bytes) -> Result<()> {
        if datagram.is_empty() {
            // A zero-length read would look like end-of-file to OpenSSL.
            return Ok(());
        }
        if matches!(self.state, State::Failed(_) | State::Closed) {
            return Err(Error::Closed);
        }
        if self.guard.epoch1 && self.state == State::Handshaking {
            if let Some(description) = crate::guard::plaintext_fatal_alert(&datagram) {
                // RFC 6347 §4.1: records from an earlier epoch SHOULD be discarded. The guard
                // drops it; it is believed only if the handshake then stalls (handle_timeout).
                tracing::debug!(
                    description,
                    "dtls: plaintext fatal alert after our ChangeCipherSpec, not believed yet"
                );
                self.suspect_alert.get_or_insert(Alert {
                    level: AlertLevel::Fatal,
                    description,
                });
            }
        }
        let datagram = if self.stream.is_some() {
            // OpenSSL reads it: only well-formed records (src/guard.rs).
            match self.guard.filter(datagram, &mut self.stats) {
                Some(d) => d,
                None => return Ok(()),
            }
        } else {
            datagram
        };
        match &self.state {
            State::Failed(_) | State::Closed => return Err(Error::Closed),
            State::AwaitingFingerprint => {
                let max = self.config.max_buffered_datagrams;
                if let Some(stream) = self.stream.as_mut() {
                    if stream.get_ref().incoming.len() < max {
                        stream.get_mut().incoming.push_back(datagram);
                    } else {
                        tracing::debug!(
                            "dtls: buffer full while awaiting fingerprint, dropped datagram"
                        );
                    }
                }
                return Ok(());
            }
            State::Handshaking | State::Connected => {}
        }
        if let Some(hvr) = &self.hello_verify_request {
            if crate::guard::has_client_hello_without_cookie(&datagram) {
                // RFC 6347 §3.2.1 / §4.2.1: the client did not get our HelloVerifyRequest.
                tracing::debug!("dtls: ClientHello retransmitted, resending HelloVerifyRequest");
                self.transmits.push_back(hvr.clone());
            }
        }
        let Some(stream) = self.stream.as_mut() else {
            // OpenSSL is gone: the record layer is ours.
            self.receive_records(&datagram);
            return self.result();
        };
        let retransmission = self.state == State::Connected
            && self.final_flight_sender
            && is_handshake_retransmission(&datagram);
        if let Some(records) = self.records.as_mut() {
            // OpenSSL still reads (see `Dtls`): note the records it authenticates in our replay
            // window too, so that they are replays to us once we take over.
            observe(records, &datagram);
        }
        match self.reassembly.as_mut() {
            Some(r) if self.state == State::Handshaking => {
                // Only complete, well-formed, in-order handshake messages (src/reassembly.rs).
                let max = self.config.max_handshake_message_len;
                let incoming = &mut stream.get_mut().incoming;
                incoming.extend(r.process(&datagram, max, &mut self.stats));
            }
            _ => stream.get_mut().incoming.push_back(datagram),
        }
        let before = self.transmits.len();
        self.drive(now, Cause::Input);
        if retransmission
            && self.transmits.len() == before
            && self.final_flight_resends < self.config.max_final_flight_resends
        {
            // RFC 6347 §4.2.4: the peer did not get our final flight. OpenSSL drops its
            // retransmission as a replay when it carries the same record numbers (a verbatim
            // resend, see `handle_timeout`), so resend the flight ourselves.
            self.final_flight_resends += 1;
            tracing::debug!(
                resend = self.final_flight_resends,
                "dtls: resending final flight"
            );
            self.transmits.extend(self.flight.iter().cloned());
        }
        // Nothing OpenSSL did not consume stays queued.
        if let Some(stream) = self.stream.as_mut() {
            stream.get_mut().incoming.clear();
            if self.state == State::Connected {
                // Only needed until the record layer is built: do not pin the caller's buffer.
                stream.get_mut().last_read = None;
            }
        }
        self.result()
    }

    pub(super) fn close_notify_received(&mut self) {
        tracing::debug!("dtls: close_notify received");
        self.events.push_back(Event::Alert(Alert {
            level: AlertLevel::Warning,
            description: 0,
        }));
        self.events.push_back(Event::Closed);
        // Answer with our close_notify.
        self.send_close_notify();
        self.state = State::Closed;
    }

    /// Application data and alerts through OpenSSL (before our record layer takes over).
    pub(super) fn read_records(&mut self) {
        let mut got_data = false;
        // Bounded: each iteration consumes a record, and every datagram holds at most 64 KiB.
        for _ in 0..4096 {
            let Some(stream) = self.stream.as_mut() else {
                return;
            };
            let read = READ_BUF.with_borrow_mut(|buf| {
                stream
                    .ssl_read(buf)
                    .map(|n| Bytes::copy_from_slice(buf.get(..n).unwrap_or_default()))
            });
            match read {
                Ok(data) => {
                    got_data = true;
                    if self.events.len() >= self.config.max_pending_events {
                        tracing::warn!("dtls: event queue full, dropping application data");
                    } else {
                        self.events.push_back(Event::ApplicationData(data));
                    }
                }
                Err(e) => {
                    match e.code() {
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => {}
                        ErrorCode::ZERO_RETURN => self.close_notify_received(),
                        _ => {
                            let alert = e.ssl_error().and_then(alert::from_openssl_errors);
                            let err = match alert {
                                Some(a) => {
                                    self.events.push_back(Event::Alert(a));
                                    Error::AlertReceived(a)
                                }
                                None => Error::Record(e.to_string()),
                            };
                            self.transmits.extend(stream.get_mut().outgoing.drain(..));
                            self.fail(err);
                        }
                    }
                    break;
                }
            }
        }
        if got_data && self.state == State::Connected {
            // Authenticated application data from the peer: it has our final flight (RFC 6347
            // §4.2.4), so OpenSSL has nothing left to retransmit.
            self.release_openssl();
        }
    }
}
