//! TLS alerts (RFC 5246 §7.2) as surfaced to the user.

use std::fmt;

/// Alert level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertLevel {
    /// The connection may continue (close_notify is sent at this level).
    Warning,
    /// The connection is over.
    Fatal,
}

/// An alert received from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alert {
    /// Warning or fatal.
    pub level: AlertLevel,
    /// The AlertDescription code (RFC 5246 §7.2, RFC 8446 §6).
    pub description: u8,
}

impl Alert {
    /// The RFC name of the description, or "unknown".
    pub fn name(&self) -> &'static str {
        match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            22 => "record_overflow",
            40 => "handshake_failure",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            112 => "unrecognized_name",
            120 => "no_application_protocol",
            _ => "unknown",
        }
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description)
    }
}

/// OpenSSL reports a received alert as an error whose reason is
/// `SSL_AD_REASON_OFFSET` (1000) + the alert description.
pub(crate) fn from_openssl_errors(stack: &openssl::error::ErrorStack) -> Option<Alert> {
    stack.errors().iter().find_map(|e| {
        let reason = e.reason_code();
        if (1000..1256).contains(&reason) {
            let description = u8::try_from(reason - 1000).ok()?;
            Some(Alert {
                level: AlertLevel::Fatal,
                description,
            })
        } else {
            None
        }
    })
}
