//! After the handshake: ferrtc's record layer built from the session OpenSSL negotiated,
//! OpenSSL freed, and the records received from then on (see [`Dtls`] for when).

use bytes::Bytes;

use super::{Dtls, Event, Role, State};
use crate::alert::{Alert, AlertLevel};
use crate::error::Error;
use crate::record::{self, Opened, RecordLayer, SessionSecrets, Suite};

impl Dtls {
    /// Our record layer for the session OpenSSL negotiated, if it is one we implement and
    /// [`Config::rust_record_layer`] is on.
    pub(super) fn build_record_layer(&self) -> Option<Box<RecordLayer>> {
        if !self.config.rust_record_layer {
            return None;
        }
        let stream = self.stream.as_ref()?;
        let ssl = stream.ssl();
        let Some(suite) = ssl
            .current_cipher()
            .and_then(|c| Suite::from_id(c.protocol_id()))
        else {
            tracing::debug!(cipher = %self.cipher, "dtls: suite not implemented, OpenSSL keeps the record layer");
            return None;
        };
        let (epoch, seq) = stream.get_ref().highest_written?;
        if epoch != 1 {
            return None;
        }
        let mut master = [0u8; 48];
        let n = ssl.session()?.master_key(&mut master);
        let (mut client_random, mut server_random) = ([0u8; 32], [0u8; 32]);
        if n != 48 || ssl.client_random(&mut client_random) != 32 {
            return None;
        }
        if ssl.server_random(&mut server_random) != 32 {
            return None;
        }
        let secrets = SessionSecrets {
            master_secret: &master,
            client_random: &client_random,
            server_random: &server_random,
        };
        let layer = RecordLayer::new(suite, &secrets, self.role == Role::Client, epoch, seq + 1);
        master.fill(0);
        match layer {
            Ok(layer) => Some(Box::new(layer)),
            Err(e) => {
                tracing::debug!(error = %e, "dtls: cannot build the record layer, OpenSSL keeps it");
                None
            }
        }
    }

    /// Frees the OpenSSL `SSL` (and its buffers); our record layer continues from the record
    /// numbers OpenSSL reached. Does nothing if we have no record layer for this session.
    pub(super) fn release_openssl(&mut self) {
        let Some(records) = self.records.as_mut() else {
            return;
        };
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        // Anything OpenSSL still queued goes out before it is freed.
        self.transmits.extend(stream.get_mut().outgoing.drain(..));
        if let Some((epoch, seq)) = stream.get_ref().highest_written {
            if epoch == records.epoch() {
                records.raise_next_write_seq(seq + 1);
            }
        }
        drop(stream);
        self.flight = Vec::new();
        tracing::debug!(role = ?self.role, "dtls: OpenSSL freed, record layer in Rust");
    }

    /// Records received once OpenSSL is freed.
    pub(super) fn receive_records(&mut self, datagram: &Bytes) {
        let Some(records) = self.records.as_mut() else {
            return;
        };
        for raw in record::split_records(datagram, MAX_RECORDS_PER_DATAGRAM) {
            let opened = records.open(&raw, true);
            match opened {
                Ok(Opened::ApplicationData(data)) => {
                    if data.is_empty() {
                        continue;
                    }
                    if self.events.len() >= self.config.max_pending_events {
                        tracing::warn!("dtls: event queue full, dropping application data");
                    } else {
                        self.events.push_back(Event::ApplicationData(data));
                    }
                }
                Ok(Opened::Alert(_, 0)) => {
                    self.close_notify_received();
                    return;
                }
                Ok(Opened::Alert(2, description)) => {
                    let a = Alert {
                        level: AlertLevel::Fatal,
                        description,
                    };
                    self.events.push_back(Event::Alert(a));
                    // No answer to a fatal alert (RFC 5246 §7.2.2).
                    self.next_retransmit = None;
                    tracing::debug!(alert = %a, "dtls: association failed");
                    self.state = State::Failed(Error::AlertReceived(a));
                    return;
                }
                Ok(Opened::Alert(level, description)) => {
                    tracing::debug!(level, description, "dtls: warning alert ignored");
                }
                Ok(Opened::Marked) => {}
                Ok(Opened::Dropped(why)) => {
                    self.stats.count(why);
                    tracing::trace!(
                        ?why,
                        epoch = raw.epoch,
                        seq = raw.seq,
                        content_type = raw.content_type,
                        "dtls: record dropped"
                    );
                }
                Err(err) => {
                    self.fail(err);
                    return;
                }
            }
        }
    }
}

/// Most records taken from one datagram (a 64 KiB datagram of empty records would hold ~5000).
const MAX_RECORDS_PER_DATAGRAM: usize = 512;

/// Authenticates the epoch-1 records of a datagram that OpenSSL is going to read (or read), to
/// mark them in our replay window; nothing is delivered.
pub(super) fn observe(records: &mut RecordLayer, datagram: &Bytes) {
    for raw in record::split_records(datagram, MAX_RECORDS_PER_DATAGRAM) {
        if raw.epoch == records.epoch() {
            let _ = records.open(&raw, false);
        }
    }
}
