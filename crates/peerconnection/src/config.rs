//! `RTCConfiguration` (W3C webrtc-pc §4.2.1) and the knobs of the layers below.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use ferrtc_datachannel::ChannelConfig;
use ferrtc_dtls::{Certificate, DtlsContext};
use ferrtc_ice::{AgentConfig, TurnTransport};

use crate::Error;

/// `RTCIceServer`: one STUN or TURN server, possibly under several URLs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs (RFC 7064 / 7065).
    pub urls: Vec<String>,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

impl IceServer {
    /// A server with one URL and no credentials.
    pub fn new(url: impl Into<String>) -> Self {
        IceServer {
            urls: vec![url.into()],
            ..Default::default()
        }
    }

    /// A TURN server with long-term credentials.
    pub fn turn(url: impl Into<String>, username: &str, credential: &str) -> Self {
        IceServer {
            urls: vec![url.into()],
            username: Some(username.to_owned()),
            credential: Some(credential.to_owned()),
        }
    }
}

/// URL scheme of an ICE server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceScheme {
    /// `stun:` (RFC 7064).
    Stun,
    /// `stuns:` (STUN over TLS).
    Stuns,
    /// `turn:` (RFC 7065).
    Turn,
    /// `turns:` (TURN over TLS).
    Turns,
}

/// Transport to the ICE server (`?transport=` of RFC 7065; `turns:` implies TCP+TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceServerTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// A parsed `stun:` / `turn:` URL (RFC 7064 §3.1, RFC 7065 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServerUrl {
    /// Scheme.
    pub scheme: IceScheme,
    /// Host: an IP literal or a DNS name (the sans-IO layer needs IPs: the facade resolves).
    pub host: String,
    /// Port (default 3478, or 5349 for the TLS schemes).
    pub port: u16,
    /// Transport.
    pub transport: IceServerTransport,
}

impl IceServerUrl {
    /// The server address, if the host is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl FromStr for IceServerUrl {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::InvalidConfiguration(format!("ICE server URL {url:?}: {why}"));
        let (scheme, rest) = url.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => IceScheme::Stun,
            "stuns" => IceScheme::Stuns,
            "turn" => IceScheme::Turn,
            "turns" => IceScheme::Turns,
            _ => return Err(bad("scheme must be stun, stuns, turn or turns")),
        };
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let tls = matches!(scheme, IceScheme::Stuns | IceScheme::Turns);
        let mut transport = if tls {
            IceServerTransport::Tcp
        } else {
            IceServerTransport::Udp
        };
        if let Some(q) = query {
            if matches!(scheme, IceScheme::Stun | IceScheme::Stuns) {
                return Err(bad("stun URLs take no query (RFC 7064)"));
            }
            transport = match q.to_ascii_lowercase().as_str() {
                "transport=udp" if !tls => IceServerTransport::Udp,
                "transport=tcp" => IceServerTransport::Tcp,
                _ => return Err(bad("query must be transport=udp or transport=tcp")),
            };
        }
        let default_port = if tls { 5349 } else { 3478 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("junk after IPv6 address")),
            };
            (h.to_owned(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (hostport.to_owned(), default_port),
            }
        };
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(bad("bad host"));
        }
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }
}

/// `RTCIceTransportPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IceTransportPolicy {
    /// Every candidate type.
    #[default]
    All,
    /// Relayed candidates only (hides the host's addresses).
    Relay,
}

/// `RTCBundlePolicy` (RFC 8829 §4.1.1). ferrtc always uses one transport for everything it
/// negotiates; the policy decides what it offers and what it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundlePolicy {
    /// Bundle every section of a kind on the first one (the browser default).
    #[default]
    Balanced,
    /// Offer to bundle, but each section could stand alone.
    MaxCompat,
    /// Everything on one transport; sections after the first are `bundle-only`.
    MaxBundle,
}

/// `RTCConfiguration` plus the limits of the layers below.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// STUN / TURN servers. Hosts must be IP literals here; the `ferrtc` facade resolves names.
    pub ice_servers: Vec<IceServer>,
    /// `iceTransportPolicy`.
    pub ice_transport_policy: IceTransportPolicy,
    /// `bundlePolicy`.
    pub bundle_policy: BundlePolicy,
    /// The DTLS context (certificate, ciphers, retransmission timing). Build it once and share
    /// it: connections created from one context share the OpenSSL context and certificate.
    pub dtls: DtlsContext,
    /// ICE agent settings (timing knobs, limits, loopback, mDNS). Its `stun_servers`,
    /// `turn_servers`, `relay_only` and `role` are set from the fields above and JSEP.
    pub ice: AgentConfig,
    /// Act as an ICE-lite agent (servers with a public address; `a=ice-lite`).
    pub ice_lite: bool,
    /// SCTP association settings (RTO, buffers, I-DATA, zero checksum). `local_port`,
    /// `remote_port` and `max_message_size` are set from the descriptions.
    pub sctp: ferrtc_sctp::Config,
    /// Data channel limits.
    pub data_channels: ChannelConfig,
    /// `a=max-message-size` we announce: the largest message we accept (RFC 8841 §6).
    pub max_message_size: u64,
    /// `a=sctp-port` we announce.
    pub sctp_port: u16,
    /// Remote candidates accepted through `add_ice_candidate` and descriptions.
    pub max_remote_candidates: usize,
    /// DTLS datagrams kept while no candidate pair is selected yet.
    pub max_pending_datagrams: usize,
    /// Media engine settings: the MTU media is packetized for, frame-buffer, SRTP, router,
    /// NACK and queue limits.
    pub media: crate::media::MediaConfig,
}

impl Configuration {
    /// Defaults around a certificate (the facade generates one per process by default).
    pub fn new(certificate: Certificate) -> Result<Self, Error> {
        let dtls = DtlsContext::new(ferrtc_dtls::Config::new(certificate))?;
        Ok(Self::with_dtls(dtls))
    }

    /// Defaults around a prepared DTLS context.
    pub fn with_dtls(dtls: DtlsContext) -> Self {
        let sctp = ferrtc_sctp::Config {
            max_message_size: 262_144,
            ..Default::default()
        };
        Configuration {
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            bundle_policy: BundlePolicy::Balanced,
            dtls,
            ice: AgentConfig::default(),
            ice_lite: false,
            sctp,
            data_channels: ChannelConfig::default(),
            max_message_size: 262_144,
            sctp_port: 5000,
            max_remote_candidates: 100,
            max_pending_datagrams: 64,
            media: crate::media::MediaConfig::default(),
        }
    }

    /// Shorter consent and disconnection timers than the browser defaults, e.g. for tests.
    pub fn with_consent_timeout(mut self, timeout: Duration) -> Self {
        self.ice.consent_timeout = timeout;
        self
    }

    /// The agent configuration with servers and policy applied. `turn:` URLs become TURN
    /// servers over UDP or (`?transport=tcp`) TCP, `turns:` URLs TURN over TLS checked against
    /// the URL's host (the connections are opened by whoever drives the connection, when
    /// [`crate::Output::Transmit`] carries stream bytes). STUN over TCP/TLS is parsed but not
    /// used (server-reflexive candidates come from UDP); such URLs are skipped with a warning
    /// rather than failing the configuration, as a browser skips servers it cannot reach.
    pub(crate) fn agent_config(&self) -> Result<AgentConfig, Error> {
        let mut c = self.ice.clone();
        c.lite = self.ice_lite;
        c.relay_only = self.ice_transport_policy == IceTransportPolicy::Relay;
        for server in &self.ice_servers {
            for url in &server.urls {
                let u: IceServerUrl = url.parse()?;
                let Some(addr) = u.socket_addr() else {
                    return Err(Error::InvalidConfiguration(format!(
                        "ICE server {url:?}: host must be resolved to an IP address first"
                    )));
                };
                let turn_transport = match (u.scheme, u.transport) {
                    (IceScheme::Turn, IceServerTransport::Udp) => Some(TurnTransport::Udp),
                    (IceScheme::Turn, IceServerTransport::Tcp) => Some(TurnTransport::Tcp),
                    (IceScheme::Turns, _) => Some(TurnTransport::Tls {
                        server_name: u
                            .host
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_owned(),
                    }),
                    _ => None,
                };
                match (u.scheme, turn_transport) {
                    (IceScheme::Stun, _) if u.transport == IceServerTransport::Udp => {
                        c.stun_servers.push(addr)
                    }
                    (_, Some(transport)) => {
                        let (Some(username), Some(password)) =
                            (server.username.clone(), server.credential.clone())
                        else {
                            // W3C webrtc-pc §4.4.1.1 step 11: InvalidAccessError.
                            return Err(Error::InvalidConfiguration(format!(
                                "TURN server {url:?} needs a username and a credential"
                            )));
                        };
                        c.turn_servers.push(ferrtc_ice::TurnServer {
                            addr,
                            username,
                            password,
                            transport,
                        });
                    }
                    _ => {
                        tracing::warn!(url, "ICE server transport not supported yet; skipped");
                    }
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u: IceServerUrl = "turn:127.0.0.1:3478?transport=udp".parse().unwrap();
        assert_eq!(u.scheme, IceScheme::Turn);
        assert_eq!(u.socket_addr(), Some("127.0.0.1:3478".parse().unwrap()));
        let u: IceServerUrl = "turns:example.org".parse().unwrap();
        assert_eq!((u.port, u.transport), (5349, IceServerTransport::Tcp));
        assert_eq!(u.socket_addr(), None);
        let u: IceServerUrl = "stun:[::1]:19302".parse().unwrap();
        assert_eq!(u.socket_addr(), Some("[::1]:19302".parse().unwrap()));
        let u: IceServerUrl = "turn:10.0.0.1?transport=tcp".parse().unwrap();
        assert_eq!((u.port, u.transport), (3478, IceServerTransport::Tcp));
        for bad in [
            "http://x",
            "stun:x?transport=udp",
            "turns:x?transport=udp",
            "turn:x:99999",
            "turn:",
            "turn:[::1",
            "stun",
        ] {
            assert!(bad.parse::<IceServerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn turn_urls_map_to_agent_turn_servers_with_their_transport() {
        let dtls = DtlsContext::new(ferrtc_dtls::Config::new(
            Certificate::generate(
                ferrtc_dtls::KeyType::EcdsaP256,
                std::time::SystemTime::now(),
            )
            .unwrap(),
        ))
        .unwrap();
        let mut cfg = Configuration::with_dtls(dtls);
        cfg.ice_transport_policy = IceTransportPolicy::Relay;
        cfg.ice_servers = vec![
            IceServer {
                urls: vec![
                    "turn:10.0.0.1".into(),
                    "turn:10.0.0.1:3478?transport=tcp".into(),
                    "turns:10.0.0.1:5349".into(),
                    "turns:[2001:db8::1]".into(),
                ],
                username: Some("u".into()),
                credential: Some("p".into()),
            },
            IceServer::new("stun:10.0.0.2"),
        ];
        let a = cfg.agent_config().unwrap();
        assert!(a.relay_only);
        assert_eq!(a.stun_servers, ["10.0.0.2:3478".parse().unwrap()]);
        let got: Vec<(String, TurnTransport)> = a
            .turn_servers
            .iter()
            .map(|t| (t.addr.to_string(), t.transport.clone()))
            .collect();
        let tls = |n: &str| TurnTransport::Tls {
            server_name: n.into(),
        };
        assert_eq!(
            got,
            [
                ("10.0.0.1:3478".to_string(), TurnTransport::Udp),
                ("10.0.0.1:3478".to_string(), TurnTransport::Tcp),
                ("10.0.0.1:5349".to_string(), tls("10.0.0.1")),
                ("[2001:db8::1]:5349".to_string(), tls("2001:db8::1")),
            ]
        );
        assert!(a.turn_servers.iter().all(|t| t.username == "u"));
        // TURN without credentials is an error whatever the transport.
        cfg.ice_servers = vec![IceServer::new("turns:10.0.0.1")];
        assert!(cfg.agent_config().is_err());
    }
}
