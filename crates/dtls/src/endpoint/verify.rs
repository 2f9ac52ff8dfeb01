//! Authentication: the peer's certificate pinned to the remote SDP fingerprint (in OpenSSL's
//! verify callback, and again before anything is reported), then the SRTP keys exported
//! (RFC 5764 §4.2) and the association reported connected.

use std::sync::Mutex;
use std::time::Instant;

use openssl::x509::X509StoreContextRef;

use super::records::observe;
use super::{Cause, Dtls, Event, State};
use crate::cert::Fingerprint;
use crate::error::{Error, Result};
use crate::srtp::{SrtpKeyingMaterial, SrtpProfile};

/// What the certificate verify callback decided, shared with it.
#[derive(Debug, Default)]
pub(super) struct Verify {
    pub(super) expected: Option<Fingerprint>,
    pub(super) failure: Option<Error>,
}

/// OpenSSL verify errors that only say "not signed by a CA we trust": expected for WebRTC's
/// self-signed certificates, which are pinned by fingerprint instead.
fn is_trust_error(code: i32) -> bool {
    // 2 unable to get issuer cert, 18 depth-zero self-signed, 19 self-signed in chain,
    // 20 unable to get issuer locally, 21 unable to verify leaf signature, 24 invalid CA,
    // 26 invalid purpose, 27 cert untrusted, 32 key usage does not include cert signing.
    matches!(code, 2 | 18 | 19 | 20 | 21 | 24 | 26 | 27 | 32)
}

pub(super) fn verify_callback(
    shared: &Mutex<Verify>,
    preverify_ok: bool,
    ctx: &X509StoreContextRef,
) -> bool {
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

impl Dtls {
    /// Verifies the peer against the remote fingerprint, checks SRTP, exports keys, and only
    /// then reports the association connected.
    pub(super) fn authenticate(&mut self, now: Instant) -> Result<()> {
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
}
