//! The one error type of ferrtc-dtls.

use std::time::Duration;

use crate::alert::Alert;

/// Everything that can go wrong in ferrtc-dtls. Each message says what and where.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The remote certificate does not hash to the fingerprint from the remote SDP. The
    /// connection is closed and no key leaves the crate.
    #[error("DTLS remote certificate fingerprint mismatch: expected {expected}, got {actual}")]
    FingerprintMismatch {
        /// Fingerprint from the remote SDP.
        expected: String,
        /// Fingerprint of the certificate the peer presented (same hash function).
        actual: String,
    },
    /// The remote certificate is outside its validity period (checked against the wall clock).
    #[error("DTLS remote certificate rejected: {0}")]
    CertificateExpired(&'static str),
    /// The remote certificate could not be used (malformed, bad signature, unusable key).
    #[error("DTLS remote certificate rejected: {0}")]
    CertificateInvalid(String),
    /// The peer completed the handshake without presenting a certificate.
    #[error("DTLS peer presented no certificate")]
    NoPeerCertificate,
    /// DTLS-SRTP was configured but the peer agreed to none of our protection profiles.
    #[error("DTLS-SRTP: the peer agreed to none of the offered SRTP profiles ({offered})")]
    NoSrtpProfile {
        /// The profiles we offered, in preference order.
        offered: String,
    },
    /// The handshake did not complete within the configured total time.
    #[error("DTLS handshake gave up after {0:?} without completing (peer silent or unreachable)")]
    HandshakeTimeout(Duration),
    /// The peer sent a fatal alert.
    #[error("DTLS peer sent fatal alert {0}")]
    AlertReceived(Alert),
    /// OpenSSL failed the handshake for another reason.
    #[error("DTLS handshake failed in state {state:?}: {detail}")]
    Handshake {
        /// OpenSSL's state string when it failed.
        state: &'static str,
        /// OpenSSL's error queue.
        detail: String,
    },
    /// OpenSSL failed after the handshake (record decryption, write).
    #[error("DTLS record layer error: {0}")]
    Record(String),
    /// An OpenSSL call failed (configuration, certificate generation, key export).
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// A fingerprint string could not be parsed.
    #[error("invalid fingerprint {input:?}: {reason}")]
    InvalidFingerprint {
        /// What was given (truncated to 120 characters).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The private key given with a certificate is not the certificate's key.
    #[error("certificate and private key do not match")]
    KeyMismatch,
    /// The configuration is unusable.
    #[error("invalid DTLS configuration: {0}")]
    Config(String),
    /// An operation needs a connected session.
    #[error("DTLS not connected: cannot {0} before the handshake completed")]
    NotConnected(&'static str),
    /// The connection was closed or failed earlier.
    #[error("DTLS connection is closed")]
    Closed,
    /// Application data bigger than fits in one record within the MTU.
    #[error("DTLS application data of {len} bytes exceeds the limit of {max} bytes")]
    DataTooLarge {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
}

/// Short for `Result<T, ferrtc_dtls::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
