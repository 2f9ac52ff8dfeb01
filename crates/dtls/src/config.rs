//! Configuration, and the OpenSSL context built once from it and shared by connections.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::ssl::{
    SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslSessionCacheMode,
    SslVerifyMode, SslVersion,
};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::srtp::SrtpProfile;

/// Receives key-log lines in the `SSLKEYLOGFILE` format (`CLIENT_RANDOM <hex> <hex>`), one call
/// per line without the newline. Append them to a file and Wireshark decrypts the capture.
pub type KeyLog = Arc<dyn Fn(&str) + Send + Sync>;

/// ECDHE with AES-GCM and ChaCha20-Poly1305, ECDSA before RSA: what browsers, aiortc and
/// GStreamer offer. No CBC, no static RSA, no SHA-1 MACs.
pub const DEFAULT_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// Key exchange groups, in preference order.
pub const DEFAULT_GROUPS: &str = "X25519:P-256:P-384";

/// Settings of DTLS connections. Build a [`DtlsContext`] from it once and create every
/// connection from that context.
#[derive(Clone)]
pub struct Config {
    /// Our certificate (its fingerprint goes in the local SDP).
    pub certificate: Certificate,
    /// SRTP protection profiles to offer (client) or accept (server), most preferred first.
    /// Empty: no `use_srtp` (a data-channel-only session).
    pub srtp_profiles: Vec<SrtpProfile>,
    /// Largest datagram we send (DTLS record header included). Default 1200, which fits any
    /// path WebRTC runs on, including TURN over IPv6.
    pub mtu: usize,
    /// First handshake retransmission timeout. Default 100 ms (OpenSSL's own default, 1 s,
    /// dominates connection setup under loss).
    pub initial_retransmit: Duration,
    /// Cap of the doubling retransmission timeout. Default 3.2 s.
    pub max_retransmit: Duration,
    /// Total time the handshake (and the wait for the remote fingerprint) may take before
    /// [`Error::HandshakeTimeout`]. Default 20 s.
    pub handshake_timeout: Duration,
    /// OpenSSL cipher list. Default [`DEFAULT_CIPHERS`].
    pub cipher_list: String,
    /// Where to send `SSLKEYLOGFILE` lines (`None`: nowhere).
    pub key_log: Option<KeyLog>,
    /// Events kept before the oldest application data is dropped. Default 1024.
    pub max_pending_events: usize,
    /// Received datagrams kept while waiting for the remote fingerprint. Default 64.
    pub max_buffered_datagrams: usize,
    /// Times the side that sent the final flight resends it when the peer shows it did not get
    /// it (RFC 6347 §4.2.4). Default 16.
    pub max_final_flight_resends: u32,
    /// After the handshake, protect application data with ferrtc's own DTLS 1.2 record layer
    /// (AES-GCM and ChaCha20-Poly1305 suites, with the session's keys) and free the OpenSSL
    /// connection, which otherwise keeps ~46 KiB per connection for as long as it lives.
    /// Default `true`; `false` keeps OpenSSL's record layer for the whole connection.
    pub rust_record_layer: bool,
    /// Largest handshake message (the `length` of a handshake fragment header) accepted from
    /// the peer; a fragment of a longer message is dropped before OpenSSL sees it (and counted,
    /// see [`crate::Dtls::stats`]). Default 64 KiB, far above any WebRTC handshake message
    /// (a ClientHello with post-quantum key shares is ~2-3 KiB). At least 1024.
    pub max_handshake_message_len: usize,
    /// Server: answer a ClientHello that carries no valid cookie with a HelloVerifyRequest
    /// (RFC 6347 §4.2.1), so that the certificate flight is only sent to a client that proved it
    /// receives at its address (an anti-amplification defence; the client side always handles
    /// it). Costs one round trip per handshake. Default `false`: RFC 6347 makes the exchange the
    /// default but lets a server skip it "in an environment where amplification is not a
    /// problem", which is WebRTC's: DTLS starts only on a path ICE connectivity checks (with the
    /// peer's ICE password) have validated, and browsers' DTLS servers do not send it either.
    /// Turn it on for DTLS on a path nothing validated.
    pub cookie_exchange: bool,
    /// Test hook: pad the client's ClientHello with this many bytes (in an ALPN extension the
    /// server ignores) to exercise handshake fragmentation. 0 by default.
    #[doc(hidden)]
    pub client_hello_padding: usize,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("certificate", &self.certificate)
            .field("srtp_profiles", &self.srtp_profiles)
            .field("mtu", &self.mtu)
            .field("initial_retransmit", &self.initial_retransmit)
            .field("max_retransmit", &self.max_retransmit)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("cipher_list", &self.cipher_list)
            .field("key_log", &self.key_log.is_some())
            .field("rust_record_layer", &self.rust_record_layer)
            .field("max_handshake_message_len", &self.max_handshake_message_len)
            .field("cookie_exchange", &self.cookie_exchange)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults around a certificate.
    pub fn new(certificate: Certificate) -> Self {
        Config {
            certificate,
            srtp_profiles: SrtpProfile::DEFAULT.to_vec(),
            mtu: 1200,
            initial_retransmit: Duration::from_millis(100),
            max_retransmit: Duration::from_millis(3200),
            handshake_timeout: Duration::from_secs(20),
            cipher_list: DEFAULT_CIPHERS.to_string(),
            key_log: None,
            max_pending_events: 1024,
            max_buffered_datagrams: 64,
            max_final_flight_resends: 16,
            rust_record_layer: true,
            max_handshake_message_len: 64 * 1024,
            cookie_exchange: false,
            client_hello_padding: 0,
        }
    }
}

/// A [`Config`] with the OpenSSL context of its ciphers, groups and SRTP profiles. Cheap to
/// clone; build it once and create many connections from it. Building one for each
/// connection (a certificate per connection) is cheap too: the OpenSSL context is shared by
/// every `DtlsContext` of the process with the same ciphers, SRTP profiles and cookie setting
/// and no key log, and each connection presents its own configuration's certificate.
#[derive(Clone)]
pub struct DtlsContext {
    pub(crate) ctx: SslContext,
    pub(crate) config: Arc<Config>,
}

impl fmt::Debug for DtlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DtlsContext {
    /// Checks the configuration and builds the OpenSSL context.
    pub fn new(config: Config) -> Result<Self> {
        // OpenSSL refuses an MTU below 208 (256 minus its maximum overhead).
        if !(256..=65_535).contains(&config.mtu) {
            return Err(Error::Config(format!(
                "mtu {} outside 256..=65535",
                config.mtu
            )));
        }
        if config.initial_retransmit.is_zero() || config.max_retransmit < config.initial_retransmit
        {
            return Err(Error::Config(
                "retransmit timeouts must be > 0 and initial <= max".into(),
            ));
        }
        if config.max_handshake_message_len < 1024 {
            return Err(Error::Config(format!(
                "max_handshake_message_len {} below 1024",
                config.max_handshake_message_len
            )));
        }
        let ctx = match config.key_log {
            // A key log is a callback of this context alone.
            Some(_) => build_ssl_context(&config)?,
            None => shared_ssl_context(&config)?,
        };
        Ok(DtlsContext {
            ctx,
            config: Arc::new(config),
        })
    }

    /// The configuration this context was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Settings of the OpenSSL context that [`build_ssl_context`] reads: contexts built from equal
/// keys are interchangeable.
#[derive(Debug, PartialEq, Eq)]
struct ContextKey {
    cipher_list: String,
    srtp_profiles: Vec<SrtpProfile>,
    cookie_exchange: bool,
}

/// Most distinct shared contexts kept (a process normally has one or two configurations).
const MAX_SHARED_CONTEXTS: usize = 8;

/// The OpenSSL context for `config`, built once per process for each distinct [`ContextKey`]:
/// OpenSSL 3.0 spends ~150 µs of CPU in `SSL_CTX_new` and the cipher, group and SRTP lists,
/// which a connection with its own certificate would otherwise pay each time. The
/// certificate is not part of it: each connection sets its own (`Dtls::new`).
fn shared_ssl_context(config: &Config) -> Result<SslContext> {
    static CONTEXTS: Mutex<Vec<(ContextKey, SslContext)>> = Mutex::new(Vec::new());
    let key = ContextKey {
        cipher_list: config.cipher_list.clone(),
        srtp_profiles: config.srtp_profiles.clone(),
        cookie_exchange: config.cookie_exchange,
    };
    let mut contexts = CONTEXTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, ctx)) = contexts.iter().find(|(k, _)| *k == key) {
        return Ok(ctx.clone());
    }
    let ctx = build_ssl_context(config)?;
    if contexts.len() < MAX_SHARED_CONTEXTS {
        contexts.push((key, ctx.clone()));
    }
    Ok(ctx)
}

/// A new OpenSSL context with everything of `config` but the certificate.
fn build_ssl_context(config: &Config) -> Result<SslContext> {
    let mut b = SslContextBuilder::new(SslMethod::dtls())?;
    b.set_min_proto_version(Some(SslVersion::DTLS1_2))?;
    b.set_max_proto_version(Some(SslVersion::DTLS1_2))?;
    b.set_cipher_list(&config.cipher_list)?;
    b.set_groups_list(DEFAULT_GROUPS)?;
    // NO_QUERY_MTU: the MTU is ours (set per connection), not the kernel's.
    // Extended master secret (RFC 7627) is on by default in OpenSSL >= 1.1.0.
    b.set_options(
        SslOptions::NO_QUERY_MTU
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::NO_TICKET
            | SslOptions::CIPHER_SERVER_PREFERENCE,
    );
    b.set_session_cache_mode(SslSessionCacheMode::OFF);
    // Free the record buffers while a connection is idle: thousands of idle connections
    // would otherwise keep ~34 KiB each.
    b.set_mode(SslMode::RELEASE_BUFFERS);
    if !config.srtp_profiles.is_empty() {
        // OpenSSL rejects a list naming a profile twice: keep the first mention.
        let mut names: Vec<&str> = Vec::new();
        for p in &config.srtp_profiles {
            if !names.contains(&p.openssl_name()) {
                names.push(p.openssl_name());
            }
        }
        b.set_tlsext_use_srtp(&names.join(":"))?;
    }
    // Peer certificates are self-signed; each connection pins it by fingerprint in its own
    // verify callback (see `Dtls::new`).
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    if config.cookie_exchange {
        // Consulted by servers only; each association's cookie is in src/cookie.rs.
        b.set_options(SslOptions::COOKIE_EXCHANGE);
        b.set_cookie_generate_cb(crate::cookie::generate);
        b.set_cookie_verify_cb(crate::cookie::verify);
    }
    if let Some(log) = config.key_log.clone() {
        b.set_keylog_callback(move |_, line| log(line));
    }
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use foreign_types::ForeignTypeRef;

    fn cert() -> Certificate {
        Certificate::generate(crate::KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap()
    }

    #[test]
    fn openssl_context_shared_by_equal_settings_only() {
        let ptr = |c: &DtlsContext| c.ctx.as_ptr();
        let a = DtlsContext::new(Config::new(cert())).unwrap();
        let b = DtlsContext::new(Config::new(cert())).unwrap();
        assert_eq!(ptr(&a), ptr(&b), "another certificate, same settings");
        let other_srtp = DtlsContext::new(Config {
            srtp_profiles: vec![SrtpProfile::Aes128CmSha1_80],
            ..Config::new(cert())
        })
        .unwrap();
        assert_ne!(ptr(&a), ptr(&other_srtp));
        let cookies = DtlsContext::new(Config {
            cookie_exchange: true,
            ..Config::new(cert())
        })
        .unwrap();
        assert_ne!(ptr(&a), ptr(&cookies));
        let logged = |c| {
            DtlsContext::new(Config {
                key_log: Some(Arc::new(|_: &str| {})),
                ..Config::new(c)
            })
            .unwrap()
        };
        let (l1, l2) = (logged(cert()), logged(cert()));
        assert_ne!(ptr(&l1), ptr(&l2), "a key log callback is never shared");
        assert_ne!(ptr(&l1), ptr(&a));
        // A bad cipher list is still refused, shared or not.
        for _ in 0..2 {
            assert!(DtlsContext::new(Config {
                cipher_list: "NO-SUCH-CIPHER".into(),
                ..Config::new(cert())
            })
            .is_err());
        }
    }
}
