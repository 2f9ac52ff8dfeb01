//! One DTLS association: the sans-IO state machine around an OpenSSL `SSL`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use openssl::ssl::{ErrorCode, Ssl, SslStream, SslVerifyMode};
use openssl::x509::X509StoreContextRef;

use crate::alert::{self, Alert, AlertLevel};
use crate::bio::MemChannel;
use crate::cert::Fingerprint;
use crate::config::{Config, DtlsContext};
use crate::cookie;
use crate::error::{Error, Result};
use crate::ffi;
use crate::guard::{Guard, Stats};
use crate::reassembly::Reassembly;
use crate::record::{self, Opened, RecordLayer, SessionSecrets, Suite};
use crate::srtp::{SrtpKeyingMaterial, SrtpProfile};

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

/// What the certificate verify callback decided, shared with it.
#[derive(Debug, Default)]
struct Verify {
    expected: Option<Fingerprint>,
    failure: Option<Error>,
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

/// OpenSSL verify errors that only say "not signed by a CA we trust": expected for WebRTC's
/// self-signed certificates, which are pinned by fingerprint instead.
fn is_trust_error(code: i32) -> bool {
    // 2 unable to get issuer cert, 18 depth-zero self-signed, 19 self-signed in chain,
    // 20 unable to get issuer locally, 21 unable to verify leaf signature, 24 invalid CA,
    // 26 invalid purpose, 27 cert untrusted, 32 key usage does not include cert signing.
    matches!(code, 2 | 18 | 19 | 20 | 21 | 24 | 26 | 27 | 32)
}

fn verify_callback(shared: &Mutex<Verify>, preverify_ok: bool, ctx: &X509StoreContextRef) -> bool {
    let mut v = shared.lock().unwrap_or_else(|p| p.into_inner());
    if ctx.error_depth() != 0 {
        // Only the leaf is pinned; intermediate certificates, if any, do not matter.
        return true;
    }
    if !preverify_ok {
        let err = ctx.error();
        let code = err.as_raw();
        match code {
            // Validity is checked against the wall clock (OpenSSL's X509 time check).
            9 => {
                v.failure = Some(Error::CertificateExpired("certificate is not yet valid"));
                return false;
            }
            10 => {
                v.failure = Some(Error::CertificateExpired("certificate has expired"));
                return false;
            }
            c if is_trust_error(c) => {}
            _ => {
                v.failure = Some(Error::CertificateInvalid(format!(
                    "OpenSSL verify error {code}: {}",
                    err.error_string()
                )));
                return false;
            }
        }
    }
    let Some(expected) = v.expected.clone() else {
        // Not known yet: checked before the handshake is reported (AwaitingFingerprint).
        return true;
    };
    let Some(cert) = ctx.current_cert() else {
        v.failure = Some(Error::NoPeerCertificate);
        return false;
    };
    match Fingerprint::of_x509(expected.algorithm, cert) {
        Ok(actual) if actual == expected => true,
        Ok(actual) => {
            v.failure = Some(Error::FingerprintMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
            false
        }
        Err(e) => {
            v.failure = Some(e);
            false
        }
    }
}

thread_local! {
    /// Scratch space for `SSL_read` (a record's plaintext is at most 2^14 bytes), shared by the
    /// connections of a thread instead of 16 KiB kept by each idle one.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 1 << 14]);
}

/// DTLS record header: type(1) version(2) epoch(2) sequence(6) length(2).
const RECORD_HEADER: usize = 13;

/// Whether a datagram holds an epoch-0 handshake or ChangeCipherSpec record: after our
/// handshake completed, that means the peer is retransmitting its last flight because it did
/// not get ours.
fn is_handshake_retransmission(mut d: &[u8]) -> bool {
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

/// Whether a datagram is a HelloVerifyRequest: an epoch-0 handshake record whose first
/// fragment is of type hello_verify_request (3).
fn is_hello_verify_request(d: &[u8]) -> bool {
    d.first() == Some(&22) && d.get(3..5) == Some(&[0, 0]) && d.get(RECORD_HEADER) == Some(&3)
}

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

    fn result(&self) -> Result<()> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

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

    /// Next datagram to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// Next event for the layer above.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Dtls::handle_timeout`] must be called next.
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

    /// Moves OpenSSL's output to the transmit queue; during the handshake remembers it as the
    /// current flight and (re)arms the retransmission timer.
    fn collect(&mut self, now: Instant, cause: Cause) {
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

    fn drive(&mut self, now: Instant, cause: Cause) {
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

    /// Verifies the peer against the remote fingerprint, checks SRTP, exports keys, and only
    /// then reports the association connected.
    fn authenticate(&mut self, now: Instant) -> Result<()> {
        match self.verify_and_export() {
            Ok((remote_fingerprint, srtp)) => {
                self.srtp = srtp.clone();
                self.state = State::Connected;
                let cipher = self
                    .stream
                    .as_ref()
                    .and_then(|s| s.ssl().current_cipher())
                    .map(|c| c.name().to_string())
                    .unwrap_or_default();
                self.cipher.clone_from(&cipher);
                tracing::debug!(role = ?self.role, %cipher, "dtls: connected");
                self.events.push_back(Event::Connected {
                    remote_fingerprint,
                    cipher,
                    srtp,
                });
                self.records = self.build_record_layer();
                if let Some(stream) = self.stream.as_mut() {
                    let channel = stream.get_mut();
                    let last = channel.last_read.take();
                    if let Some(records) = self.records.as_mut() {
                        // The peer's Finished, and records that arrived while we waited for
                        // the fingerprint, which OpenSSL reads now.
                        for d in last.iter().chain(channel.incoming.iter()) {
                            observe(records, d);
                        }
                    }
                }
                // Records that arrived while we waited for the fingerprint.
                self.drive(now, Cause::Input);
                if let Some(stream) = self.stream.as_mut() {
                    stream.get_mut().incoming.clear();
                }
                if !self.final_flight_sender && self.state == State::Connected {
                    // The peer sent the final flight, and we have it: nothing of the
                    // handshake is left to retransmit.
                    self.release_openssl();
                }
                Ok(())
            }
            Err(e) => {
                self.fail(e.clone());
                Err(e)
            }
        }
    }

    /// Our record layer for the session OpenSSL negotiated, if it is one we implement and
    /// [`Config::rust_record_layer`] is on.
    fn build_record_layer(&self) -> Option<Box<RecordLayer>> {
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
    fn release_openssl(&mut self) {
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
    fn receive_records(&mut self, datagram: &Bytes) {
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

    fn close_notify_received(&mut self) {
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

    fn verify_and_export(&mut self) -> Result<(Fingerprint, Option<SrtpKeyingMaterial>)> {
        let expected = self
            .verify
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expected
            .clone()
            .ok_or(Error::NotConnected(
                "verify the peer without its fingerprint",
            ))?;
        let ssl = self
            .stream
            .as_ref()
            .ok_or(Error::NotConnected("verify the peer"))?
            .ssl();
        let cert = ssl.peer_certificate().ok_or(Error::NoPeerCertificate)?;
        let actual = Fingerprint::of_x509(expected.algorithm, &cert)?;
        if actual != expected {
            return Err(Error::FingerprintMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        if self.config.srtp_profiles.is_empty() {
            return Ok((actual, None));
        }
        let offered = || {
            self.config
                .srtp_profiles
                .iter()
                .map(|p| p.openssl_name())
                .collect::<Vec<_>>()
                .join(":")
        };
        let profile = ssl
            .selected_srtp_profile()
            .and_then(|p| SrtpProfile::from_id(u16::try_from(p.id().as_raw()).unwrap_or(0)))
            .filter(|p| self.config.srtp_profiles.contains(p))
            .ok_or_else(|| Error::NoSrtpProfile { offered: offered() })?;
        let mut material = vec![0u8; profile.keying_material_len()];
        ssl.export_keying_material(&mut material, "EXTRACTOR-dtls_srtp", None)?;
        let keys = SrtpKeyingMaterial::split(profile, &material)
            .ok_or_else(|| Error::Config("exported keying material of the wrong length".into()))?;
        Ok((actual, Some(keys)))
    }

    /// Application data and alerts through OpenSSL (before our record layer takes over).
    fn read_records(&mut self) {
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

/// Most records taken from one datagram (a 64 KiB datagram of empty records would hold ~5000).
const MAX_RECORDS_PER_DATAGRAM: usize = 512;

/// Authenticates the epoch-1 records of a datagram that OpenSSL is going to read (or read), to
/// mark them in our replay window; nothing is delivered.
fn observe(records: &mut RecordLayer, datagram: &Bytes) {
    for raw in record::split_records(datagram, MAX_RECORDS_PER_DATAGRAM) {
        if raw.epoch == records.epoch() {
            let _ = records.open(&raw, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{Certificate, KeyType};

    /// A connected pair, both on our record layer.
    fn released_pair() -> (Dtls, Dtls) {
        let now = Instant::now();
        let a = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
        let b = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
        let ctx = |c: &Certificate| DtlsContext::new(Config::new(c.clone())).unwrap();
        let mut client =
            Dtls::new(&ctx(&a), Role::Client, Some(b.fingerprint().unwrap()), now).unwrap();
        let mut server =
            Dtls::new(&ctx(&b), Role::Server, Some(a.fingerprint().unwrap()), now).unwrap();
        for _ in 0..6 {
            while let Some(d) = client.poll_transmit() {
                server.handle_receive(now, d).unwrap();
            }
            while let Some(d) = server.poll_transmit() {
                client.handle_receive(now, d).unwrap();
            }
        }
        client.send(b"x").unwrap();
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, d).unwrap();
        }
        assert!(client.is_openssl_released() && server.is_openssl_released());
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        (client, server)
    }

    #[test]
    fn alerts_after_release() {
        let now = Instant::now();
        let (mut client, mut server) = released_pair();
        // A warning alert other than close_notify is ignored.
        let warning = client
            .records
            .as_mut()
            .unwrap()
            .seal(record::ALERT, &[1, 90])
            .unwrap();
        server.handle_receive(now, warning).unwrap();
        assert!(server.poll_event().is_none());
        assert!(server.is_connected());
        // A fatal one fails the association, with the alert as event and error, no answer.
        let fatal = client
            .records
            .as_mut()
            .unwrap()
            .seal(record::ALERT, &[2, 40])
            .unwrap();
        let err = server.handle_receive(now, fatal).unwrap_err();
        let alert = Alert {
            level: AlertLevel::Fatal,
            description: 40,
        };
        assert!(matches!(err, Error::AlertReceived(a) if a == alert));
        assert_eq!(server.poll_event(), Some(Event::Alert(alert)));
        assert!(server.poll_transmit().is_none());
        assert!(matches!(server.send(b"y"), Err(Error::Closed)));
    }

    #[test]
    fn sequence_numbers_continue_after_openssl() {
        let (mut client, mut server) = released_pair();
        // The client's OpenSSL wrote its Finished (epoch 1, seq 0); we continue from 1.
        client.send(b"a").unwrap();
        let d = client.poll_transmit().unwrap();
        let recs = record::split_records(&d, 4);
        assert_eq!(
            (recs[0].epoch, recs[0].seq),
            (1, 2),
            "seq 1 was the first data"
        );
        // The server's OpenSSL wrote its Finished; our first record follows it.
        server.send(b"b").unwrap();
        let d = server.poll_transmit().unwrap();
        let recs = record::split_records(&d, 4);
        assert_eq!((recs[0].epoch, recs[0].seq), (1, 1));
    }

    #[test]
    fn recognises_epoch0_handshake_records() {
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 9, 9];
        assert!(is_handshake_retransmission(&d));
        d[4] = 1; // epoch 1
        assert!(!is_handshake_retransmission(&d));
        // Second record is a CCS in epoch 0.
        d.extend_from_slice(&[20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1]);
        assert!(is_handshake_retransmission(&d));
        assert!(!is_handshake_retransmission(&d[..5]));
        assert!(!is_handshake_retransmission(&[23; 40]));
        assert!(!is_handshake_retransmission(&[]));
    }
}
