#![doc = include_str!("../README.md")]
//!
//! # Authentication
//!
//! Certificates are self-signed and pinned by the remote SDP's `a=fingerprint`. The peer's
//! certificate is compared in OpenSSL's verify callback (a mismatch aborts the handshake with a
//! `bad_certificate` alert) and again before [`Event::Connected`] is emitted; no SRTP key
//! leaves the crate before that. If the remote fingerprint is not known when the handshake
//! ends, the association waits in [`State::AwaitingFingerprint`] (within the handshake
//! timeout) for [`Dtls::set_remote_fingerprint`]. Expiry is checked, against the wall clock.
//!
//! # Time: what is virtual and what is not
//!
//! *Virtual* (the caller's `now`): the retransmission schedule ([`Config::initial_retransmit`],
//! default 100 ms, doubling to [`Config::max_retransmit`]) returned by [`Dtls::poll_timeout`],
//! and the total [`Config::handshake_timeout`] after which [`Error::HandshakeTimeout`] ends it.
//!
//! *Not virtual* (OpenSSL reads `gettimeofday` and cannot be given a clock): OpenSSL's own DTLS
//! timer, certificate validity checks, and the randomness OpenSSL draws from its CSPRNG.
//! OpenSSL's timer is given the same schedule through `DTLS_set_timer_cb` (src/ffi.rs), so with
//! a real clock both timers expire together. When our virtual timer fires,
//! [`Dtls::handle_timeout`] calls `DTLSv1_handle_timeout`:
//! - if OpenSSL's wall-clock timer has also expired (normal operation), OpenSSL retransmits the
//!   flight itself with fresh record sequence numbers and backs its timer off through our
//!   callback;
//! - if it has not (the caller's clock runs faster than the wall clock, as in a simulation),
//!   OpenSSL does nothing, and we resend the datagrams of the last flight as they were. To the
//!   peer this is a network duplicate: records it already has are dropped as replays, lost ones
//!   are accepted. The one case a verbatim copy cannot cover is the final flight (the peer's
//!   replay check drops our retransmitted Finished, so it would not learn that its last flight
//!   was lost); there, the side that sent the final flight resends it when it sees the peer
//!   retransmitting epoch-0 handshake records (RFC 6347 §4.2.4), which ferrtc does on both
//!   sides.
//!
//! OpenSSL also checks its timer whenever it reads during the handshake and retransmits if it
//! expired; with a real clock that can happen just before our timer fires and is harmless. The
//! outcome of a run is therefore fully determined by the virtual clock and the inputs, except
//! for such wall-clock-triggered retransmissions when a test runs slower than real time.
//!
//! # After the handshake: ferrtc's record layer, OpenSSL freed
//!
//! An OpenSSL `SSL` keeps ~46 KiB per connection after a DTLS handshake (its handshake buffer,
//! a record read buffer that `SSL_MODE_RELEASE_BUFFERS` does not release for DTLS, the object
//! itself). So once the peer is authenticated, application data and alerts go through a DTLS
//! 1.2 record layer of this crate (src/record.rs: keys from the TLS 1.2 PRF over the session's
//! master secret, AES-GCM per RFC 5288 and ChaCha20-Poly1305 per RFC 7905 with aws-lc-rs,
//! the 64-record anti-replay window of RFC 6347 §4.1.2.6), continuing the record sequence
//! numbers OpenSSL reached, and the `SSL` is dropped:
//! - by the side that did not send the handshake's final flight (the client) at once;
//! - by the side that sent it (the server) when the peer's first authenticated application data
//!   shows that the flight arrived (RFC 6347 §4.2.4). Until then OpenSSL stays in charge of
//!   everything on that side, so it can still retransmit its Finished and no sequence number
//!   (hence no AEAD nonce) is ever used by both record layers.
//!
//! Late handshake records are then ignored; close_notify and fatal alerts are handled as before.
//! A suite other than the AEAD suites of [`DEFAULT_CIPHERS`] keeps OpenSSL's record layer, and
//! [`Config::rust_record_layer`] = `false` keeps it always. [`Dtls::is_openssl_released`] says
//! which one is in charge.
//!
//! # Hostile input
//!
//! Every received record, and the header of every plaintext handshake fragment, is checked in
//! Rust before OpenSSL reads it (src/guard.rs): malformed records (unknown content types,
//! connection-id records nobody negotiated, fragments running past their record or message,
//! handshake lengths above [`Config::max_handshake_message_len`], messages the peer's role never
//! sends, a HelloVerifyRequest whose cookie overruns, bad versions, epochs and lengths) are
//! silently discarded as RFC 6347 §4.1.2.7 asks, and counted in [`Dtls::stats`] by
//! [`DropReason`], instead of making OpenSSL end the handshake. The association fails only on a
//! genuine fatal condition (authentication, negotiation, a fatal alert) or its own timeout.
//!
//! The peer's plaintext handshake messages are then reassembled in Rust (src/reassembly.rs) and
//! handed to OpenSSL only complete, consistent, in order, in a place the handshake allows and
//! parsing as their type: a forged message body, a forged partial fragment that disagrees with
//! the genuine ones, or a changed retransmission is dropped and counted, and the genuine flight
//! still completes. A plaintext alert after we sent our ChangeCipherSpec comes from an old epoch
//! (RFC 6347 §4.1) and is not believed; a fatal one is reported only if the handshake then
//! stalls until our retransmission timer. What cannot be filtered without authentication: a
//! forged handshake message that is complete, well formed, in its place and arrives before the
//! genuine one (DTLS 1.2 authenticates the handshake only with its Finished messages).
//!
//! A server can also answer the first ClientHello with a HelloVerifyRequest cookie (RFC 6347
//! §4.2.1, [`Config::cookie_exchange`], off by default: WebRTC runs DTLS on an ICE-validated
//! path), so that its certificate flight only goes to a client that receives at its address.
//!
//! # Unsafe code
//!
//! `#![deny(unsafe_code)]`, except `src/ffi.rs`: OpenSSL calls that the `openssl` crate does
//! not expose (`DTLS_set_timer_cb`, `DTLSv1_handle_timeout`, and `EC_KEY_METHOD_new` /
//! `EC_KEY_set_method` for generated keys), each with a SAFETY note.
#![deny(unsafe_code)]

mod alert;
mod bio;
mod cert;
mod config;
mod cookie;
mod endpoint;
mod error;
mod ffi;
mod guard;
mod reassembly;
mod record;
mod srtp;

pub use alert::{Alert, AlertLevel};
pub use cert::{Certificate, Fingerprint, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
pub use config::{Config, DtlsContext, KeyLog, DEFAULT_CIPHERS, DEFAULT_GROUPS};
pub use endpoint::{Dtls, Event, Role, State};
pub use error::{Error, Result};
pub use guard::{DropReason, Stats};
pub use srtp::{SrtpKeyingMaterial, SrtpProfile};
