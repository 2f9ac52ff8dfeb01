//! ICE candidates: the `candidate` attribute grammar of RFC 8839 §5.1 in both directions,
//! candidate priority and foundation (RFC 8445 §5.1.2, §5.1.1.3), pair priority (§6.1.2.3) and
//! redundancy pruning (§5.1.3).
//!
//! Parsing is lossless: `candidate.to_string()` gives back the parsed text byte for byte, for
//! every line browsers and the other stacks write (extensions stay in their order, unknown ones
//! are kept, the transport keeps its case — Firefox writes `UDP`, Chromium `udp`).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::Error;

/// Longest candidate line accepted (browsers write < 200 bytes).
pub const MAX_CANDIDATE_LEN: usize = 1024;
/// Most extension pairs accepted on one candidate line.
pub const MAX_EXTENSIONS: usize = 32;
/// Longest foundation (RFC 8839: `1*32ice-char`).
pub const MAX_FOUNDATION_LEN: usize = 32;
/// Longest connection-address host name accepted (RFC 1035 limit).
pub const MAX_HOSTNAME_LEN: usize = 253;

/// Candidate type (RFC 8445 §5.1.1, `cand-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateType {
    /// Address of a local interface.
    Host,
    /// Address of the local base as seen by a STUN server (outside the NAT).
    ServerReflexive,
    /// Address learned from a connectivity check (§7.2.5.3.1, §7.3.1.3).
    PeerReflexive,
    /// Address allocated on a TURN server.
    Relayed,
}

impl CandidateType {
    /// RFC 8445 §5.1.2.2 recommended type preference.
    pub fn preference(self) -> u32 {
        match self {
            CandidateType::Host => 126,
            CandidateType::PeerReflexive => 110,
            CandidateType::ServerReflexive => 100,
            CandidateType::Relayed => 0,
        }
    }

    /// Token used in SDP (`host`, `srflx`, `prflx`, `relay`).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relayed => "relay",
        }
    }
}

impl FromStr for CandidateType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "host" => Ok(CandidateType::Host),
            "srflx" => Ok(CandidateType::ServerReflexive),
            "prflx" => Ok(CandidateType::PeerReflexive),
            "relay" => Ok(CandidateType::Relayed),
            _ => Err(Error::Candidate(format!("unknown candidate type {s:?}"))),
        }
    }
}

/// Transport protocol of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP (RFC 8445).
    Udp,
    /// TCP (RFC 6544).
    Tcp,
}

/// TCP candidate type (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// Opens outgoing connections only.
    Active,
    /// Accepts incoming connections only.
    Passive,
    /// Simultaneous open.
    So,
}

impl TcpType {
    fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::So => "so",
        }
    }
}

/// `connection-address`: an IP address, or a host name such as the mDNS `<uuid>.local` names
/// browsers use to hide their addresses (RFC 8839 §5.1, draft-ietf-mmusic-mdns-ice-candidates).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A fully qualified domain name, resolved by the application (not by the agent).
    Name(String),
}

impl Address {
    /// The IP address, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Ip(ip) => Some(*ip),
            Address::Name(_) => None,
        }
    }

    /// Whether this is an mDNS name (ends with `.local`).
    pub fn is_mdns(&self) -> bool {
        match self {
            Address::Ip(_) => false,
            Address::Name(n) => n.to_ascii_lowercase().ends_with(".local"),
        }
    }

    fn parse(s: &str) -> Result<Address, Error> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            // IPv6 prints in its RFC 5952 canonical form, which is what every stack writes;
            // a non-canonical spelling is normalised.
            return Ok(Address::Ip(ip));
        }
        if s.is_empty() || s.len() > MAX_HOSTNAME_LEN {
            return Err(Error::Candidate(format!(
                "bad connection-address length {}",
                s.len()
            )));
        }
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !ok || s.starts_with('.') || s.contains("..") {
            return Err(Error::Candidate(format!("bad connection-address {s:?}")));
        }
        Ok(Address::Name(s.to_owned()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Name(n) => f.write_str(n),
        }
    }
}

/// One `extension-att-name SP extension-att-value` pair after the fixed part of the line.
/// The ones WebRTC uses are typed; others are kept as text, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Extension {
    /// `tcptype` (RFC 6544).
    TcpType(TcpType),
    /// `generation` (Chromium; incremented by each ICE restart).
    Generation(u32),
    /// `ufrag`: the ICE username fragment the candidate belongs to (trickle, RFC 8838).
    Ufrag(String),
    /// `network-id` (Chromium).
    NetworkId(u32),
    /// `network-cost` (Chromium).
    NetworkCost(u32),
    /// Anything else, kept verbatim.
    Other(String, String),
}

/// An ICE candidate, as in an SDP `a=candidate` line or `RTCIceCandidate.candidate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Same foundation = same type, base IP, server and transport (§5.1.1.3).
    pub foundation: String,
    /// Component id (1 = RTP; WebRTC muxes RTCP so only 1 is used).
    pub component: u16,
    /// UDP or TCP.
    pub transport: Transport,
    /// The transport token was written in upper case (`UDP`, as Firefox does); kept so a
    /// parse/print cycle is lossless. Case is insignificant for the meaning (RFC 8839).
    pub transport_upper: bool,
    /// Candidate priority (§5.1.2).
    pub priority: u32,
    /// Connection address.
    pub address: Address,
    /// Port.
    pub port: u16,
    /// Candidate type.
    pub typ: CandidateType,
    /// `raddr`: related address (the base or mapped address; §5.1.3 of RFC 8839).
    pub related_address: Option<Address>,
    /// `rport`: related port.
    pub related_port: Option<u16>,
    /// Extension pairs, in line order.
    pub extensions: Vec<Extension>,
}

impl Candidate {
    /// A new candidate with no extensions and a lower-case transport.
    pub fn new(
        foundation: impl Into<String>,
        transport: Transport,
        priority: u32,
        addr: SocketAddr,
        typ: CandidateType,
        related: Option<SocketAddr>,
    ) -> Self {
        Candidate {
            foundation: foundation.into(),
            component: 1,
            transport,
            transport_upper: false,
            priority,
            address: Address::Ip(addr.ip()),
            port: addr.port(),
            typ,
            related_address: related.map(|r| Address::Ip(r.ip())),
            related_port: related.map(|r| r.port()),
            extensions: Vec::new(),
        }
    }

    /// Socket address, if the connection address is an IP.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.address.ip().map(|ip| SocketAddr::new(ip, self.port))
    }

    /// The `tcptype` extension, if present.
    pub fn tcp_type(&self) -> Option<TcpType> {
        self.extensions.iter().find_map(|e| match e {
            Extension::TcpType(t) => Some(*t),
            _ => None,
        })
    }

    /// The `generation` extension, if present.
    pub fn generation(&self) -> Option<u32> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Generation(g) => Some(*g),
            _ => None,
        })
    }

    /// The `ufrag` extension, if present.
    pub fn ufrag(&self) -> Option<&str> {
        self.extensions.iter().find_map(|e| match e {
            Extension::Ufrag(u) => Some(u.as_str()),
            _ => None,
        })
    }

    /// The `network-id` extension, if present.
    pub fn network_id(&self) -> Option<u32> {
        self.extensions.iter().find_map(|e| match e {
            Extension::NetworkId(n) => Some(*n),
            _ => None,
        })
    }

    /// The `network-cost` extension, if present.
    pub fn network_cost(&self) -> Option<u32> {
        self.extensions.iter().find_map(|e| match e {
            Extension::NetworkCost(n) => Some(*n),
            _ => None,
        })
    }

    /// Parses `candidate:...`, with or without the SDP `a=` prefix (which is then printed back
    /// only if it was there: see [`Candidate::to_sdp_line`]).
    pub fn parse(s: &str) -> Result<Candidate, Error> {
        let s = s.strip_prefix("a=").unwrap_or(s);
        s.parse()
    }

    /// The SDP attribute line, `a=candidate:...` (without CRLF).
    pub fn to_sdp_line(&self) -> String {
        format!("a={self}")
    }
}

fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn is_token_char(b: u8) -> bool {
    // RFC 8866 `token-char`: visible ASCII minus a few separators.
    matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
}

fn parse_num<T: FromStr>(what: &str, s: &str) -> Result<T, Error> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Candidate(format!("{what}: not a number: {s:?}")));
    }
    s.parse::<T>()
        .map_err(|_| Error::Candidate(format!("{what}: out of range: {s:?}")))
}

impl FromStr for Candidate {
    type Err = Error;

    /// RFC 8839 §5.1 `candidate-attribute`, with nom (see the private `grammar` module).
    fn from_str(s: &str) -> Result<Candidate, Error> {
        grammar::candidate(s)
    }
}

/// The `candidate-attribute` grammar of RFC 8839 §5.1 with nom 8 combinators:
///
/// ```text
/// candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP
///                       priority SP connection-address SP port SP cand-type
///                       [SP rel-addr] [SP rel-port] *(SP extension-att-name SP
///                       extension-att-value)
/// cand-type           = "typ" SP candidate-types
/// ```
///
/// Fields are split by the grammar; the value checks (foundation characters, number
/// ranges, address forms, known extensions) are the helpers shared with the rest of the
/// module. nom errors become [`Error::Candidate`] naming the field and its byte offset.
mod grammar {
    use nom::bytes::complete::{tag, take_while1};
    use nom::character::complete::char;
    use nom::sequence::preceded;
    use nom::{IResult, Parser};

    use super::*;

    type Res<'a, O> = IResult<&'a str, O, nom::error::Error<&'a str>>;

    /// One space-free field.
    fn field(i: &str) -> Res<'_, &str> {
        take_while1(|c: char| c != ' ').parse(i)
    }

    /// `SP field`.
    fn next(i: &str) -> Res<'_, &str> {
        preceded(char(' '), field).parse(i)
    }

    /// Runs `p` on `i`, turning a nom error into one naming `what` and the offset in `line`.
    fn expect<'a, O>(
        line: &'a str,
        i: &'a str,
        what: &str,
        mut p: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
    ) -> Result<(&'a str, O), Error> {
        p.parse(i).map_err(|_| {
            let offset = line.len().saturating_sub(i.len());
            Error::Candidate(format!("missing or empty {what} at byte {offset}"))
        })
    }

    pub(super) fn candidate(s: &str) -> Result<Candidate, Error> {
        if s.len() > MAX_CANDIDATE_LEN {
            return Err(Error::Candidate(format!(
                "line of {} bytes exceeds {MAX_CANDIDATE_LEN}",
                s.len()
            )));
        }
        let (i, _) = tag::<_, _, nom::error::Error<&str>>("candidate:")
            .parse(s)
            .map_err(|_| Error::Candidate("missing \"candidate:\" prefix".into()))?;
        let (i, foundation) = expect(s, i, "foundation", field)?;
        if foundation.len() > MAX_FOUNDATION_LEN || !foundation.bytes().all(is_ice_char) {
            return Err(Error::Candidate(format!("bad foundation {foundation:?}")));
        }
        let (i, component) = expect(s, i, "component-id", next)?;
        let component: u16 = parse_num("component-id", component)?;
        if component == 0 || component > 256 {
            return Err(Error::Candidate(format!(
                "component-id {component} out of 1..=256"
            )));
        }
        let (i, t) = expect(s, i, "transport", next)?;
        let (transport, transport_upper) = match t {
            "udp" => (Transport::Udp, false),
            "UDP" => (Transport::Udp, true),
            "tcp" => (Transport::Tcp, false),
            "TCP" => (Transport::Tcp, true),
            _ => return Err(Error::Candidate(format!("unsupported transport {t:?}"))),
        };
        let (i, priority) = expect(s, i, "priority", next)?;
        let priority: u32 = parse_num("priority", priority)?;
        if priority == 0 {
            return Err(Error::Candidate("priority 0".into()));
        }
        let (i, address) = expect(s, i, "connection-address", next)?;
        let address = Address::parse(address)?;
        let (i, port) = expect(s, i, "port", next)?;
        let port: u16 = parse_num("port", port)?;
        let (i, _) = expect(s, i, "\"typ\"", preceded(char(' '), tag("typ")))
            .map_err(|_| Error::Candidate("expected \"typ\"".into()))?;
        if i.as_bytes().first().is_some_and(|&b| b != b' ') {
            return Err(Error::Candidate("expected \"typ\"".into()));
        }
        let (mut i, typ) = expect(s, i, "cand-type", next)?;
        let typ: CandidateType = typ.parse()?;

        // [SP rel-addr] [SP rel-port] *(SP extension-att-name SP extension-att-value)
        let mut related_address = None;
        let mut related_port = None;
        let mut extensions = Vec::new();
        while !i.is_empty() {
            if i.starts_with("  ") || i == " " {
                return Err(Error::Candidate("empty token (double space?)".into()));
            }
            let (rest, name) = expect(s, i, "extension name", next)?;
            if rest.is_empty() {
                return Err(Error::Candidate(format!(
                    "extension {name:?} without a value"
                )));
            }
            let (rest, value) = expect(s, rest, "extension value", next)
                .map_err(|_| Error::Candidate("empty token (double space?)".into()))?;
            i = rest;
            match name {
                "raddr" if related_address.is_none() && extensions.is_empty() => {
                    related_address = Some(Address::parse(value)?);
                }
                "rport"
                    if related_address.is_some()
                        && related_port.is_none()
                        && extensions.is_empty() =>
                {
                    related_port = Some(parse_num("rport", value)?);
                }
                _ => {
                    if extensions.len() >= MAX_EXTENSIONS {
                        return Err(Error::Candidate(format!(
                            "more than {MAX_EXTENSIONS} extensions"
                        )));
                    }
                    extensions.push(parse_extension(name, value)?);
                }
            }
        }
        if related_address.is_some() != related_port.is_some() {
            return Err(Error::Candidate("raddr without rport".into()));
        }
        Ok(Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            transport_upper,
            priority,
            address,
            port,
            typ,
            related_address,
            related_port,
            extensions,
        })
    }
}

fn parse_extension(name: &str, value: &str) -> Result<Extension, Error> {
    let ext = match name {
        "tcptype" => Extension::TcpType(match value {
            "active" => TcpType::Active,
            "passive" => TcpType::Passive,
            "so" => TcpType::So,
            _ => return Err(Error::Candidate(format!("bad tcptype {value:?}"))),
        }),
        "generation" => Extension::Generation(parse_num("generation", value)?),
        "network-id" => Extension::NetworkId(parse_num("network-id", value)?),
        "network-cost" => Extension::NetworkCost(parse_num("network-cost", value)?),
        "ufrag" => {
            if !value.bytes().all(is_ice_char) || value.len() > 256 {
                return Err(Error::Candidate(format!("bad ufrag {value:?}")));
            }
            Extension::Ufrag(value.to_owned())
        }
        _ => {
            if !name.bytes().all(is_token_char) {
                return Err(Error::Candidate(format!("bad extension name {name:?}")));
            }
            // extension-att-value is `byte-string`: anything but NUL, CR, LF (and SP here).
            if value.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
                return Err(Error::Candidate(format!(
                    "bad value for extension {name:?}"
                )));
            }
            Extension::Other(name.to_owned(), value.to_owned())
        }
    };
    Ok(ext)
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match (self.transport, self.transport_upper) {
            (Transport::Udp, false) => "udp",
            (Transport::Udp, true) => "UDP",
            (Transport::Tcp, false) => "tcp",
            (Transport::Tcp, true) => "TCP",
        };
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            transport,
            self.priority,
            self.address,
            self.port,
            self.typ.as_str()
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        for e in &self.extensions {
            match e {
                Extension::TcpType(t) => write!(f, " tcptype {}", t.as_str())?,
                Extension::Generation(g) => write!(f, " generation {g}")?,
                Extension::Ufrag(u) => write!(f, " ufrag {u}")?,
                Extension::NetworkId(n) => write!(f, " network-id {n}")?,
                Extension::NetworkCost(n) => write!(f, " network-cost {n}")?,
                Extension::Other(n, v) => write!(f, " {n} {v}")?,
            }
        }
        Ok(())
    }
}

/// Local preference (RFC 8445 §5.1.2.1) for an address on the interface with index
/// `interface_index` (0 = preferred). Follows RFC 8421: IPv6 before IPv4 on the same
/// interface, then link-local / IPv4-mapped / loopback addresses last, and each interface's
/// addresses below those of the interfaces before it.
pub fn local_preference(ip: IpAddr, interface_index: u16) -> u16 {
    let class: u16 = match ip {
        IpAddr::V6(v6) if is_plain_v6(&v6) => 0,
        IpAddr::V4(v4) if !v4.is_loopback() => 1,
        IpAddr::V6(v6) if !v6.is_loopback() => 2,
        _ => 3,
    };
    let idx = interface_index.min(0x3FFE);
    u16::MAX
        .saturating_sub(idx.saturating_mul(4))
        .saturating_sub(class)
}

fn is_plain_v6(v6: &Ipv6Addr) -> bool {
    let seg0 = v6.segments()[0];
    !v6.is_loopback()
        && (seg0 & 0xffc0) != 0xfe80 // link-local
        && v6.to_ipv4_mapped().is_none()
        && seg0 != 0x2001 // Teredo 2001::/32 (and other 2001 specials) ranked lower
}

/// Candidate priority (RFC 8445 §5.1.2.1):
/// `2^24 * type preference + 2^8 * local preference + (256 - component)`.
pub fn candidate_priority(typ: CandidateType, local_preference: u16, component: u16) -> u32 {
    let component = u32::from(component.clamp(1, 256));
    (typ.preference() << 24) + (u32::from(local_preference) << 8) + (256 - component)
}

/// Candidate-pair priority (RFC 8445 §6.1.2.3), `g` the controlling agent's candidate priority,
/// `d` the controlled agent's: `2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)`.
pub fn pair_priority(g: u32, d: u32) -> u64 {
    let (g, d) = (u64::from(g), u64::from(d));
    // Priorities above 2^31 (out of spec, but parseable) must not overflow: saturate.
    (g.min(d) << 32)
        .saturating_add(2 * g.max(d))
        .saturating_add(u64::from(g > d))
}

/// Foundation (RFC 8445 §5.1.1.3): equal for candidates of the same type, base IP, STUN/TURN
/// server IP and transport; different otherwise. A short decimal hash, as Chromium writes.
pub fn foundation(
    typ: CandidateType,
    base_ip: IpAddr,
    server: Option<IpAddr>,
    transport: Transport,
) -> String {
    let mut h = crc32fast::Hasher::new();
    h.update(typ.as_str().as_bytes());
    match base_ip {
        IpAddr::V4(v4) => h.update(&v4.octets()),
        IpAddr::V6(v6) => h.update(&v6.octets()),
    }
    match server {
        Some(IpAddr::V4(v4)) => h.update(&v4.octets()),
        Some(IpAddr::V6(v6)) => h.update(&v6.octets()),
        None => h.update(b"-"),
    }
    h.update(match transport {
        Transport::Udp => b"udp",
        Transport::Tcp => b"tcp",
    });
    h.finalize().to_string()
}

/// Redundancy pruning (RFC 8445 §5.1.3): a candidate is redundant if another one has the same
/// transport address and the same base with a higher (or equal, earlier) priority. Keeps the
/// first of equals; `base` of each candidate is given by the caller (a host candidate is its
/// own base). Returns the kept indices in order.
pub fn prune_redundant(cands: &[(SocketAddr, SocketAddr, u32)]) -> Vec<usize> {
    let mut keep = Vec::with_capacity(cands.len());
    for (i, &(addr, base, prio)) in cands.iter().enumerate() {
        let redundant = cands.iter().enumerate().any(|(j, &(a2, b2, p2))| {
            j != i && a2 == addr && b2 == base && (p2 > prio || (p2 == prio && j < i))
        });
        if !redundant {
            keep.push(i);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_examples() {
        for line in [
            "candidate:1 1 UDP 1694498815 192.0.2.33 10000 typ host",
            "candidate:1510613869 1 udp 2122194687 127.0.0.1 47042 typ host generation 0 network-id 1",
            "candidate:1876313031 1 tcp 1518288127 ::1 44013 typ host tcptype passive generation 0 network-id 2",
            "candidate:3586996187 1 udp 2113937151 fe6b1529-e1fd-4551-b249-a5baa8b792d3.local 49173 typ host generation 0 network-cost 999",
            "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Wd2o network-cost 999",
            "candidate:3 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 61665 foo bar",
        ] {
            let c: Candidate = line.parse().unwrap();
            assert_eq!(c.to_string(), line);
        }
        let c = Candidate::parse("a=candidate:1 1 udp 1 ::1 9 typ host tcptype so").unwrap();
        assert_eq!(c.address, Address::Ip("::1".parse().unwrap()));
        assert_eq!(c.tcp_type(), None.or(Some(TcpType::So)));
        assert_eq!(
            c.to_sdp_line(),
            "a=candidate:1 1 udp 1 ::1 9 typ host tcptype so"
        );
    }

    #[test]
    fn accessors_and_mdns() {
        let c: Candidate = "candidate:3586996187 1 udp 2113937151 fe6b1529.local 49173 typ host generation 3 ufrag ab network-id 7 network-cost 10"
            .parse()
            .unwrap();
        assert!(c.address.is_mdns());
        assert_eq!(c.socket_addr(), None);
        assert_eq!(c.generation(), Some(3));
        assert_eq!(c.ufrag(), Some("ab"));
        assert_eq!(c.network_id(), Some(7));
        assert_eq!(c.network_cost(), Some(10));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "candidate:",
            "1 1 udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ hostx",
            "candidate:1 0 udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 0 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 65536 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 type host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host generation",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host  generation 0",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr 1.2.3.4",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype sideways",
            "candidate:1 1 udp 1 bad..name 5 typ host",
            "candidate:f\u{e9} 1 udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host generation -1",
            "candidate:1 1 udp 99999999999 1.2.3.4 5 typ host",
        ] {
            assert!(bad.parse::<Candidate>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn priorities() {
        // RFC 8445 §5.1.2.1 with local preference 65535, component 1.
        assert_eq!(
            candidate_priority(CandidateType::Host, 65535, 1),
            2130706431
        );
        assert_eq!(
            candidate_priority(CandidateType::ServerReflexive, 65535, 1),
            1694498815
        );
        assert_eq!(
            candidate_priority(CandidateType::Relayed, 65535, 1),
            16777215
        );
        assert_eq!(
            candidate_priority(CandidateType::PeerReflexive, 65535, 1),
            1862270975
        );
        assert!(
            local_preference("2001:db8::1".parse().unwrap(), 0)
                < local_preference("2a00::1".parse().unwrap(), 0)
        );
        assert!(
            local_preference("10.0.0.1".parse().unwrap(), 0)
                < local_preference("2a00::1".parse().unwrap(), 0)
        );
        assert!(
            local_preference("10.0.0.1".parse().unwrap(), 1)
                < local_preference("10.0.0.1".parse().unwrap(), 0)
        );
        assert!(
            local_preference("127.0.0.1".parse().unwrap(), 0)
                < local_preference("10.0.0.1".parse().unwrap(), 0)
        );
        // Pair priority: symmetric in value, tie-broken by who controls.
        let a = pair_priority(10, 20);
        let b = pair_priority(20, 10);
        assert_eq!(a, (10u64 << 32) + 40);
        assert_eq!(b, (10u64 << 32) + 41);
        assert_eq!(pair_priority(u32::MAX, u32::MAX), u64::MAX);
        let top = (1u32 << 31) - 1;
        assert_eq!(
            pair_priority(top, top),
            (u64::from(top) << 32) + 2 * u64::from(top)
        );
    }

    #[test]
    fn foundations() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let s: IpAddr = "1.1.1.1".parse().unwrap();
        let f1 = foundation(CandidateType::Host, ip, None, Transport::Udp);
        assert_eq!(
            f1,
            foundation(CandidateType::Host, ip, None, Transport::Udp)
        );
        assert_ne!(
            f1,
            foundation(CandidateType::Host, ip, None, Transport::Tcp)
        );
        assert_ne!(
            f1,
            foundation(CandidateType::ServerReflexive, ip, Some(s), Transport::Udp)
        );
        assert!(f1.len() <= MAX_FOUNDATION_LEN && f1.bytes().all(is_ice_char));
    }

    #[test]
    fn pruning() {
        let h: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let m: SocketAddr = "1.2.3.4:6000".parse().unwrap();
        // srflx equal to its host (no NAT) is redundant; a distinct srflx is not.
        let kept = prune_redundant(&[(h, h, 2000), (h, h, 1000), (m, h, 1000)]);
        assert_eq!(kept, vec![0, 2]);
        let kept = prune_redundant(&[(h, h, 5), (h, h, 5)]);
        assert_eq!(kept, vec![0]);
    }
}
