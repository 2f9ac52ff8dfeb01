//! One DTLS association: the sans-IO state machine around an OpenSSL `SSL`.
//!
//! [`Dtls`] is one struct whose methods are spread over submodules along the life of an
//! association:
//! - this file: the types, construction, the caller's commands (`send`, `close`), the queues;
//! - `handshake`: driving OpenSSL's handshake and collecting its flights;
//! - `receive`: datagrams in, to OpenSSL (filtered and reassembled) or to our record layer;
//! - `timer`: the retransmission and handshake timers;
//! - `verify`: pinning the peer's certificate to the SDP fingerprint, exporting SRTP keys;
//! - `records`: handing the record layer over from OpenSSL to ferrtc's (src/record.rs).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use openssl::ssl::{Ssl, SslStream, SslVerifyMode};

use crate::alert::Alert;
use crate::bio::MemChannel;
use crate::cert::Fingerprint;
use crate::config::{Config, DtlsContext};
use crate::cookie;
use crate::error::{Error, Result};
use crate::ffi;
use crate::guard::{Guard, Stats};
use crate::reassembly::Reassembly;
use crate::record::{self, RecordLayer};
use crate::srtp::SrtpKeyingMaterial;

mod handshake;
mod receive;
mod records;
#[cfg(test)]
mod tests;
mod timer;
mod verify;

use verify::{verify_callback, Verify};

/// Which side of the handshake we are (from SDP `a=setup`: `active` is the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the ClientHello.
    Client,
    /// Waits for it.
    Server,
}

/// Where the association is.
#[derive(Debug, Clone)]
pub enum State {
    /// Handshake in progress.
    Handshaking,
    /// OpenSSL finished the handshake but the remote fingerprint is not known yet
    /// ([`Dtls::set_remote_fingerprint`]); nothing is reported or exported until it is.
    AwaitingFingerprint,
    /// Authenticated; keys exported; application data flows.
    Connected,
    /// Closed by close_notify (either side).
    Closed,
    /// Failed; the error says why.
    Failed(Error),
}

impl PartialEq for State {
    /// Same state; two failures are equal when their messages are.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (State::Failed(a), State::Failed(b)) => a.to_string() == b.to_string(),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// What the layer above must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed and the peer's certificate matched the remote fingerprint.
    Connected {
        /// Fingerprint of the peer's certificate (with the hash function of the remote SDP).
        remote_fingerprint: Fingerprint,
        /// Negotiated cipher suite (OpenSSL name).
        cipher: String,
        /// SRTP keys, if `use_srtp` was configured and negotiated.
        srtp: Option<SrtpKeyingMaterial>,
    },
    /// Application data from the peer (one DTLS record).
    ApplicationData(Bytes),
    /// The peer sent an alert. A fatal one also fails the association.
    Alert(Alert),
    /// The peer closed the association (close_notify).
    Closed,
}

/// What caused OpenSSL output: decides whether it is a new flight (timer restarts from the
/// initial timeout) or a retransmission (timer keeps backing off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Input,
    Timer,
}

/// A DTLS 1.2 association, sans-IO: feed it datagrams ([`Dtls::handle_receive`]) and timeouts
/// ([`Dtls::handle_timeout`]); take datagrams ([`Dtls::poll_transmit`]) and events
/// ([`Dtls::poll_event`]) out.
///
/// OpenSSL runs the handshake. After it, application data and alerts are protected by ferrtc's
/// own record layer (src/record.rs) with the session's keys and the OpenSSL `SSL` is freed
/// (~46 KiB per connection): at once by the side that did not send the handshake's final
/// flight (the client, in a full handshake), and by the side that sent it (the server) as soon
/// as the first authenticated application data from the peer proves the peer got that flight
/// (RFC 6347 §4.2.4); until then the server keeps OpenSSL for everything, so that it can still
/// retransmit its Finished and no record number is used by both record layers.
pub struct Dtls {
    /// OpenSSL, until the record layer takes over.
    stream: Option<SslStream<MemChannel>>,
    /// Our record layer, built once the peer is authenticated (if the suite is one we
    /// implement); in charge once `stream` is `None`.
    records: Option<Box<RecordLayer>>,
    /// Negotiated cipher suite (OpenSSL name), kept after OpenSSL is freed.
    cipher: String,
    config: Arc<Config>,
    role: Role,
    state: State,
    verify: Arc<Mutex<Verify>>,
    transmits: VecDeque<Bytes>,
    events: VecDeque<Event>,
    /// Datagrams of the last flight we sent, for retransmission when OpenSSL's wall-clock timer
    /// has not expired under a faster virtual clock.
    flight: Vec<Bytes>,
    /// We sent the final flight of the handshake: resend it if the peer retransmits.
    final_flight_sender: bool,
    final_flight_resends: u32,
    rto: Duration,
    next_retransmit: Option<Instant>,
    deadline: Instant,
    started: Instant,
    srtp: Option<SrtpKeyingMaterial>,
    /// Checks received records before OpenSSL reads them (src/guard.rs).
    guard: Guard,
    /// What was dropped of the received datagrams.
    stats: Stats,
    /// The HelloVerifyRequest we sent (a server with cookie exchange), until our ServerHello
    /// flight: resent when the client retransmits its first ClientHello, since OpenSSL keeps no
    /// copy of it (it ignores that ClientHello as an old message, and the handshake would wait
    /// for the timeout).
    hello_verify_request: Option<Bytes>,
    /// The peer's plaintext handshake messages on their way to OpenSSL, until the handshake is
    /// done (src/reassembly.rs).
    reassembly: Option<Box<Reassembly>>,
    /// A plaintext fatal alert received after we sent our ChangeCipherSpec: not believed at once
    /// (anyone can forge it), but the failure reported if our retransmission timer expires
    /// before the handshake completes.
    suspect_alert: Option<Alert>,
}

impl std::fmt::Debug for Dtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dtls")
            .field("role", &self.role)
            .field("state", &self.state)
            .field(
                "openssl_state",
                &self.stream.as_ref().map(|s| s.ssl().state_string_long()),
            )
            .field("records", &self.records)
            .field("next_retransmit", &self.next_retransmit)
            .finish_non_exhaustive()
    }
}

/// DTLS record header: type(1) version(2) epoch(2) sequence(6) length(2).
const RECORD_HEADER: usize = 13;

/// Per-record overhead with the configured AEAD suites: 13-byte header, 8-byte explicit
/// nonce (AES-GCM), 16-byte tag.
const RECORD_OVERHEAD: usize = 13 + 8 + 16;

impl Dtls {
    /// A new association. A client sends its ClientHello right away (see
    /// [`Dtls::poll_transmit`]); a server waits for one. `remote_fingerprint` may be given
    /// later with [`Dtls::set_remote_fingerprint`] (the SDP answer can arrive after the
    /// handshake started).
    pub fn new(
        context: &DtlsContext,
        role: Role,
        remote_fingerprint: Option<Fingerprint>,
        now: Instant,
    ) -> Result<Self> {
        let config = context.config.clone();
        let mut ssl = Ssl::new(&context.ctx)?;
        // The OpenSSL context is shared by every configuration like this one (src/config.rs);
        // the certificate is this connection's.
        ssl.set_certificate(config.certificate.x509())?;
        ssl.set_private_key(config.certificate.key())?;
        ssl.set_mtu(u32::try_from(config.mtu).unwrap_or(1200))?;
        let verify = Arc::new(Mutex::new(Verify {
            expected: remote_fingerprint,
            failure: None,
        }));
        let shared = verify.clone();
        ssl.set_verify_callback(
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            move |ok, ctx| verify_callback(&shared, ok, ctx),
        );
        ffi::install_timer_cb(&ssl);
        let cookie = if role == Role::Server && config.cookie_exchange {
            Some(cookie::install(&mut ssl)?)
        } else {
            None
        };
        match role {
            Role::Client => {
                ssl.set_connect_state();
                if config.client_hello_padding > 0 {
                    // ALPN protocol names of up to 255 bytes, each with a length prefix.
                    let mut alpn = Vec::with_capacity(config.client_hello_padding + 256);
                    let mut left = config.client_hello_padding;
                    while left > 0 {
                        let n = left.min(255);
                        alpn.push(u8::try_from(n).unwrap_or(255));
                        alpn.extend(std::iter::repeat_n(b'x', n));
                        left -= n;
                    }
                    ssl.set_alpn_protos(&alpn)?;
                }
            }
            Role::Server => ssl.set_accept_state(),
        }
        let stream = SslStream::new(ssl, MemChannel::default())?;
        let mut dtls = Dtls {
            stream: Some(stream),
            records: None,
            cipher: String::new(),
            role,
            state: State::Handshaking,
            verify,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            flight: Vec::new(),
            final_flight_sender: false,
            final_flight_resends: 0,
            rto: config.initial_retransmit,
            next_retransmit: None,
            deadline: now + config.handshake_timeout,
            started: now,
            srtp: None,
            guard: Guard {
                peer_is_client: role == Role::Server,
                max_handshake_message_len: config.max_handshake_message_len,
                cookie,
                epoch1: false,
            },
            stats: Stats::default(),
            hello_verify_request: None,
            reassembly: Some(Box::new(Reassembly::new(
                &config.cipher_list,
                role == Role::Server,
            ))),
            suspect_alert: None,
            config,
        };
        if role == Role::Client {
            dtls.drive(now, Cause::Input);
        }
        Ok(dtls)
    }

    /// Counters of what was dropped from received datagrams: records (or datagrams) that were
    /// malformed, not authentic or replayed. Invalid records are discarded silently (RFC 6347
    /// §4.1.2.7) rather than ending the association; these counters are how to see them.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the association is.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether the handshake completed and the peer is authenticated.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether OpenSSL's connection has been freed and ferrtc's own record layer protects the
    /// application data (see [`Dtls`] for when that happens, [`Config::rust_record_layer`] to
    /// turn it off).
    pub fn is_openssl_released(&self) -> bool {
        self.stream.is_none() && self.records.is_some()
    }

    /// SRTP keys, once connected (never before the fingerprint was verified).
    pub fn srtp_keying_material(&self) -> Option<&SrtpKeyingMaterial> {
        if self.is_connected() {
            self.srtp.as_ref()
        } else {
            None
        }
    }

    /// Our certificate's sha-256 fingerprint.
    pub fn local_fingerprint(&self) -> Result<Fingerprint> {
        self.config.certificate.fingerprint()
    }

    /// Sets the remote fingerprint from the remote SDP. If the handshake already finished, the
    /// peer is verified now: [`Event::Connected`] or an error (the association then fails).
    pub fn set_remote_fingerprint(&mut self, fingerprint: Fingerprint, now: Instant) -> Result<()> {
        self.verify
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expected = Some(fingerprint);
        if self.state == State::AwaitingFingerprint {
            self.authenticate(now)?;
        }
        Ok(())
    }

    fn result(&self) -> Result<()> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// Next datagram to send to the peer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// Next event for the layer above.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Largest application data [`Dtls::send`] accepts in one call (one record in one
    /// datagram of `mtu` bytes).
    pub fn max_send_len(&self) -> usize {
        self.config.mtu.saturating_sub(RECORD_OVERHEAD)
    }

    /// Sends application data as one record.
    pub fn send(&mut self, data: &[u8]) -> Result<()> {
        match &self.state {
            State::Connected => {}
            State::Failed(_) | State::Closed => return Err(Error::Closed),
            _ => return Err(Error::NotConnected("send application data")),
        }
        let max = self.max_send_len();
        if data.len() > max {
            return Err(Error::DataTooLarge {
                len: data.len(),
                max,
            });
        }
        let Some(stream) = self.stream.as_mut() else {
            let sealed = match self.records.as_mut() {
                Some(records) => records.seal(record::APPLICATION_DATA, data),
                None => Err(Error::Closed),
            };
            return match sealed {
                Ok(datagram) => {
                    self.transmits.push_back(datagram);
                    Ok(())
                }
                Err(err) => {
                    self.fail(err.clone());
                    Err(err)
                }
            };
        };
        ffi::set_schedule(self.config.initial_retransmit, self.config.max_retransmit);
        match stream.ssl_write(data) {
            Ok(_) => {
                self.transmits.extend(stream.get_mut().outgoing.drain(..));
                Ok(())
            }
            Err(e) => {
                let err = Error::Record(e.to_string());
                self.fail(err.clone());
                Err(err)
            }
        }
    }

    /// Sends close_notify and closes the association.
    pub fn close(&mut self) {
        if matches!(
            self.state,
            State::Connected | State::AwaitingFingerprint | State::Handshaking
        ) {
            self.send_close_notify();
            self.state = State::Closed;
            self.next_retransmit = None;
        }
    }

    /// Queues a close_notify alert, through OpenSSL or our record layer.
    fn send_close_notify(&mut self) {
        if let Some(stream) = self.stream.as_mut() {
            let _ = stream.shutdown();
            self.transmits.extend(stream.get_mut().outgoing.drain(..));
        } else if let Some(records) = self.records.as_mut() {
            // RFC 5246 §7.2.1: close_notify at warning level.
            if let Ok(datagram) = records.seal(record::ALERT, &[1, 0]) {
                self.transmits.push_back(datagram);
            }
        }
    }

    fn fail(&mut self, err: Error) {
        tracing::debug!(error = %err, "dtls: association failed");
        if matches!(self.state, State::Connected | State::AwaitingFingerprint) {
            // The handshake is over, so OpenSSL cannot send a fatal alert for us: tell the peer
            // with close_notify.
            self.send_close_notify();
        }
        if let Some(stream) = self.stream.as_mut() {
            self.transmits.extend(stream.get_mut().outgoing.drain(..));
        }
        self.next_retransmit = None;
        self.state = State::Failed(err);
    }
}
