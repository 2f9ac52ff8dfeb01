//! `RTCConfiguration` for the async API, and what is derived from it before a connection
//! starts: the DTLS context, the ICE servers' addresses.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use ferrtc_dtls::{Certificate, DtlsContext, KeyType};
use ferrtc_peerconnection::{
    self as pc, BundlePolicy, Configuration, IceServer, IceTransportPolicy,
};
use tracing::debug;

use crate::mdns::MdnsResolution;
use crate::net::UdpMux;
use crate::Error;

/// `RTCConfiguration` for the async API.
#[derive(Clone, Default)]
pub struct RtcConfiguration {
    /// STUN/TURN servers (`stun:`, `turn:`, `turn:…?transport=tcp`, `turns:` URLs; host names
    /// are resolved here, and a `turns:` certificate is checked against the URL's host).
    pub ice_servers: Vec<IceServer>,
    /// `iceTransportPolicy`.
    pub ice_transport_policy: IceTransportPolicy,
    /// `bundlePolicy`.
    pub bundle_policy: BundlePolicy,
    /// The DTLS certificate. Default: one ECDSA P-256 certificate generated once per process
    /// and shared by every connection (like a browser profile's).
    pub certificate: Option<Certificate>,
    /// Local addresses to gather host candidates on. Default: every up interface, or loopback
    /// when there is no other (see [`RtcConfiguration::include_loopback`]).
    pub interfaces: Option<Vec<IpAddr>>,
    /// Also gather on loopback (useful for tests on one machine).
    pub include_loopback: bool,
    /// Serve this connection from a shared socket instead of its own.
    pub mux: Option<UdpMux>,
    /// Act as an ICE-lite agent (servers).
    pub ice_lite: bool,
    /// Extra certificates (PEM: a private CA, or a self-signed server certificate) trusted for
    /// `turns:` servers besides the system's roots. The certificate must match the URL's host.
    pub turn_tls_ca: Option<Vec<u8>>,
    /// How remote candidates' mDNS host names (`<uuid>.local`, which browsers use to hide
    /// their addresses) are resolved. Default: [`MdnsResolution::Multicast`], one-shot mDNS
    /// queries on the local link with a 5 s timeout; [`MdnsResolution::Off`] turns it off (such
    /// candidates are dropped, as are host names that are not `.local` in any case).
    pub mdns: MdnsResolution,
    /// Anything else: ICE timing, SCTP limits, DTLS settings.
    #[allow(clippy::type_complexity)]
    pub configure: Option<Arc<dyn Fn(&mut Configuration) + Send + Sync>>,
}

impl std::fmt::Debug for RtcConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcConfiguration")
            .field("ice_servers", &self.ice_servers)
            .field("ice_transport_policy", &self.ice_transport_policy)
            .field("bundle_policy", &self.bundle_policy)
            .field("interfaces", &self.interfaces)
            .field("include_loopback", &self.include_loopback)
            .field("mux", &self.mux.as_ref().map(UdpMux::local_addr))
            .field("ice_lite", &self.ice_lite)
            .field("turn_tls_ca", &self.turn_tls_ca.as_ref().map(Vec::len))
            .field("mdns", &self.mdns)
            .finish_non_exhaustive()
    }
}

pub(super) fn default_dtls() -> Result<DtlsContext, Error> {
    static CTX: OnceLock<Result<DtlsContext, String>> = OnceLock::new();
    CTX.get_or_init(|| {
        let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now())
            .map_err(|e| e.to_string())?;
        DtlsContext::new(ferrtc_dtls::Config::new(cert)).map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Dtls)
}

/// Resolves the servers' host names. Returns the servers with IP literals, and for `turns:`
/// servers given by name, the name their certificate is checked against.
pub(super) async fn resolve_servers(
    servers: &[IceServer],
) -> (Vec<IceServer>, HashMap<SocketAddr, String>) {
    let mut out = Vec::new();
    let mut tls_names = HashMap::new();
    for s in servers {
        let mut urls = Vec::new();
        for u in &s.urls {
            let Ok(parsed) = u.parse::<pc::IceServerUrl>() else {
                urls.push(u.clone()); // rejected with a clear error by Configuration
                continue;
            };
            if parsed.socket_addr().is_some() {
                urls.push(u.clone());
                continue;
            }
            let lookup = tokio::net::lookup_host((parsed.host.clone(), parsed.port)).await;
            match lookup {
                Ok(mut addrs) => {
                    if let Some(a) = addrs.next() {
                        if parsed.scheme == pc::IceScheme::Turns {
                            tls_names.insert(a, parsed.host.clone());
                        }
                        let host = match a.ip() {
                            IpAddr::V4(v4) => v4.to_string(),
                            IpAddr::V6(v6) => format!("[{v6}]"),
                        };
                        urls.push(u.replacen(&parsed.host, &host, 1));
                    }
                }
                Err(e) => debug!(url = u, error = %e, "ICE server name not resolved; skipped"),
            }
        }
        out.push(IceServer {
            urls,
            username: s.username.clone(),
            credential: s.credential.clone(),
        });
    }
    (out, tls_names)
}
