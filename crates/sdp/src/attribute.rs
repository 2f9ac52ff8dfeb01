//! Typed views of the attributes WebRTC uses (RFC 8829 §5 and the RFCs it cites).
//!
//! Every view borrows from the description's text: parsing a typed attribute never
//! allocates. Each view also implements [`Display`](fmt::Display), printing the
//! attribute value in its canonical form, which is what the
//! [builder](crate::SessionDescriptionBuilder) writes. A parsed description never
//! re-prints through these views: it keeps the original text, so unusual spacing
//! survives a round trip.

use std::borrow::Cow;
use std::fmt;

use crate::util::{
    is_digits, is_non_ws, is_token, parse_decimal, parse_u16, parse_u32, parse_u64, split_at_byte,
    split_sp,
};

use crate::error::Problem;

type VResult<T> = Result<T, Problem>;

/// Media direction (RFC 8866 §6.7, RFC 3264 §5.1). The default, when no direction
/// attribute is present, is `sendrecv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name (`sendrecv`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The direction as the other side sees it (what an answer mirrors, RFC 3264 §6.1).
    pub fn reverse(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// DTLS role negotiation, `a=setup` (RFC 4145 §4, RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Setup {
    Active,
    Passive,
    ActPass,
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=group:<semantics> <mid>*` (RFC 5888, BUNDLE in RFC 9143, LS for lip sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// `BUNDLE`, `LS`, `FID`, …
    pub semantics: &'a str,
    /// The identification tags, space separated (see [`Group::mids`]).
    pub mids: &'a str,
}

impl<'a> Group<'a> {
    /// The media identification tags in order.
    pub fn mids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.mids.split(' ').filter(|s| !s.is_empty())
    }
}

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semantics)?;
        for m in self.mids() {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msid<'a> {
    /// The MediaStream id (`-` for none).
    pub stream_id: &'a str,
    /// The "appdata", the track id in WebRTC.
    pub track_id: Option<&'a str>,
}

impl fmt::Display for Msid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stream_id)?;
        if let Some(t) = self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// `a=msid-semantic: WMS [ids]` (the pre-RFC 8830 session-level form browsers still send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsidSemantic<'a> {
    /// Usually `WMS`.
    pub semantic: &'a str,
    /// Stream ids or `*`, space separated; may be empty.
    pub ids: &'a str,
}

impl<'a> MsidSemantic<'a> {
    /// The stream ids in order.
    pub fn ids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.ids.split(' ').filter(|s| !s.is_empty())
    }
}

impl fmt::Display for MsidSemantic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {}", self.semantic)?;
        for id in self.ids() {
            write!(f, " {id}")?;
        }
        Ok(())
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<params>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// RTP payload type, 0–127.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, …); compare case-insensitively.
    pub encoding_name: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

impl Rtpmap<'static> {
    /// The static audio/video payload types of RFC 3551 §6 that WebRTC peers still use
    /// without an `a=rtpmap` line (e.g. `m=audio 9 RTP/AVP 0`).
    pub fn static_payload_type(pt: u8) -> Option<Self> {
        let (encoding_name, clock_rate, channels) = match pt {
            0 => ("PCMU", 8000, Some(1)),
            3 => ("GSM", 8000, Some(1)),
            4 => ("G723", 8000, Some(1)),
            8 => ("PCMA", 8000, Some(1)),
            9 => ("G722", 8000, Some(1)),
            13 => ("CN", 8000, Some(1)),
            18 => ("G729", 8000, Some(1)),
            26 => ("JPEG", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(Rtpmap {
            payload_type: pt,
            encoding_name,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15); the parameters are an ordered list of
/// `key[=value]` items separated by `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (a payload type for RTP media).
    pub format: &'a str,
    /// The parameter text as written.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// The payload type, if the format is numeric.
    pub fn payload_type(&self) -> Option<u8> {
        parse_payload_type(self.format)
    }

    /// The parameters in order, as `(key, value)`, trimmed of spaces. A parameter
    /// without `=` (e.g. `111/111` for RED, `0-15` for telephone-event) has no value.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
    }

    /// The value of parameter `key` (ASCII case-insensitive), if present with a value.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.params()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }
}

impl fmt::Display for Fmtp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.params)
    }
}

/// `a=rtcp-fb:<pt|*> <type> [<param>]` (RFC 4585 §4.2, RFC 5104 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpFb<'a> {
    /// The payload type, or `None` for `*` (all formats).
    pub payload_type: Option<u8>,
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, `trr-int`, …
    pub feedback: &'a str,
    /// The rest: `pli` for `nack pli`, `fir` for `ccm fir`, …
    pub param: Option<&'a str>,
}

impl fmt::Display for RtcpFb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt} {}", self.feedback)?,
            None => write!(f, "* {}", self.feedback)?,
        }
        if let Some(p) = self.param {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extmap<'a> {
    /// The local identifier (1–14 one-byte, 1–255 two-byte, 4096–4351 negotiation).
    pub id: u16,
    /// Optional direction restriction.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: &'a str,
    /// Extension attributes, if any.
    pub attributes: Option<&'a str>,
}

impl fmt::Display for Extmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ssrc<'a> {
    /// The SSRC.
    pub ssrc: u32,
    /// `cname`, `msid`, …
    pub attribute: &'a str,
    /// The source attribute's value.
    pub value: Option<&'a str>,
}

impl fmt::Display for Ssrc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:<semantics> <ssrc>*` (RFC 5576 §4.2): FID (RTX), FEC, FEC-FR, SIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcGroup<'a> {
    /// `FID`, `FEC`, `FEC-FR`, `SIM`, …
    pub semantics: &'a str,
    /// The SSRCs, space separated (checked at parse; see [`SsrcGroup::ssrcs`]).
    pub ssrcs: &'a str,
}

impl<'a> SsrcGroup<'a> {
    /// The SSRCs in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs
            .split(' ')
            .filter(|s| !s.is_empty())
            .filter_map(parse_u32)
    }
}

impl fmt::Display for SsrcGroup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semantics)?;
        for s in self.ssrcs() {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// Direction of a RID (RFC 8851 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum RidDirection {
    Send,
    Recv,
}

impl RidDirection {
    fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }
}

/// `a=rid:<id> <send|recv> [pt=<fmt>,…;<restriction>=<value>;…]` (RFC 8851 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rid<'a> {
    /// The RTP stream id.
    pub id: &'a str,
    /// Send or receive.
    pub direction: RidDirection,
    /// The `;`-separated parameter list, as written.
    pub params: Option<&'a str>,
}

impl<'a> Rid<'a> {
    /// The restrictions in order, as `(key, value)` (e.g. `("max-width", Some("1280"))`).
    pub fn restrictions(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.params
            .unwrap_or("")
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            })
    }

    /// The payload types of the `pt=` restriction (empty when there is none).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + 'a {
        self.restrictions()
            .filter(|(k, _)| *k == "pt")
            .flat_map(|(_, v)| v.unwrap_or("").split(','))
            .filter_map(parse_payload_type)
    }
}

impl fmt::Display for Rid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        if let Some(p) = self.params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=simulcast:<dir> <list> [<dir> <list>]` (RFC 8853 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Simulcast<'a> {
    /// The send list (`1;2,3` …), if present.
    pub send: Option<SimulcastList<'a>>,
    /// The receive list, if present.
    pub recv: Option<SimulcastList<'a>>,
}

impl fmt::Display for Simulcast<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.send, self.recv) {
            (Some(s), Some(r)) => write!(f, "send {} recv {}", s.0, r.0),
            (Some(s), None) => write!(f, "send {}", s.0),
            (None, Some(r)) => write!(f, "recv {}", r.0),
            (None, None) => Ok(()),
        }
    }
}

/// A simulcast stream list: streams separated by `;`, each a `,`-separated list of
/// alternative RIDs, a RID prefixed with `~` being paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulcastList<'a>(pub &'a str);

impl<'a> SimulcastList<'a> {
    /// The streams in order; each yields its alternatives as `(rid, paused)`.
    pub fn streams(&self) -> impl Iterator<Item = impl Iterator<Item = (&'a str, bool)> + 'a> + 'a {
        self.0.split(';').map(|alts| {
            alts.split(',').map(|rid| match rid.strip_prefix('~') {
                Some(r) => (r, true),
                None => (rid, false),
            })
        })
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp<'a> {
    /// The RTCP port.
    pub port: u16,
    /// The connection address, if given.
    pub address: Option<crate::Connection<'a>>,
}

impl fmt::Display for Rtcp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = self.address {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// `a=fingerprint:<hash> <hex:hex:…>` (RFC 8122 §5, RFC 8842).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// Hash function name as written (`sha-256`); compare case-insensitively.
    pub algorithm: &'a str,
    /// Colon-separated upper- or lower-case hex bytes.
    pub value: &'a str,
}

impl Fingerprint<'_> {
    /// The fingerprint bytes (checked to be well formed at parse time).
    pub fn bytes(&self) -> Vec<u8> {
        self.value
            .split(':')
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect()
    }
}

impl fmt::Display for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}

/// One attribute line, `a=<name>[:<value>]`, with a typed view of everything WebRTC uses.
///
/// Attributes ferrtc does not know are [`Attribute::Other`]: they are kept verbatim and
/// in order, never dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// `a=group` (RFC 5888, 9143).
    Group(Group<'a>),
    /// `a=mid` (RFC 5888 §4): the media identification tag.
    Mid(&'a str),
    /// `a=msid` (RFC 8830).
    Msid(Msid<'a>),
    /// `a=msid-semantic`.
    MsidSemantic(MsidSemantic<'a>),
    /// `a=rtpmap`.
    Rtpmap(Rtpmap<'a>),
    /// `a=fmtp`.
    Fmtp(Fmtp<'a>),
    /// `a=rtcp-fb`.
    RtcpFb(RtcpFb<'a>),
    /// `a=extmap`.
    Extmap(Extmap<'a>),
    /// `a=extmap-allow-mixed` (RFC 8285 §6): one- and two-byte extensions may mix.
    ExtmapAllowMixed,
    /// `a=ssrc`.
    Ssrc(Ssrc<'a>),
    /// `a=ssrc-group`.
    SsrcGroup(SsrcGroup<'a>),
    /// `a=rid`.
    Rid(Rid<'a>),
    /// `a=simulcast`.
    Simulcast(Simulcast<'a>),
    /// `a=rtcp`.
    Rtcp(Rtcp<'a>),
    /// `a=rtcp-mux` (RFC 5761).
    RtcpMux,
    /// `a=rtcp-mux-only` (RFC 8858).
    RtcpMuxOnly,
    /// `a=rtcp-rsize` (RFC 5506).
    RtcpRsize,
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    IceUfrag(&'a str),
    /// `a=ice-pwd`.
    IcePwd(&'a str),
    /// `a=ice-options`: space-separated option tags (`trickle`, `ice2`, …).
    IceOptions(&'a str),
    /// `a=ice-lite`.
    IceLite,
    /// `a=candidate`, kept as text: ferrtc-ice types candidates.
    Candidate(&'a str),
    /// `a=end-of-candidates` (RFC 8838).
    EndOfCandidates,
    /// `a=fingerprint`.
    Fingerprint(Fingerprint<'a>),
    /// `a=setup`.
    Setup(Setup),
    /// `a=tls-id` (RFC 8842 §5.2).
    TlsId(&'a str),
    /// `a=sctp-port` (RFC 8841 §5).
    SctpPort(u16),
    /// `a=max-message-size` (RFC 8841 §6); 0 means no limit.
    MaxMessageSize(u64),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`.
    Direction(Direction),
    /// `a=bundle-only` (RFC 9143 §6).
    BundleOnly,
    /// `a=ptime` in milliseconds.
    Ptime(f64),
    /// `a=maxptime` in milliseconds.
    MaxPtime(f64),
    /// `a=framerate` in frames per second.
    Framerate(f64),
    /// Any other attribute, verbatim.
    Other {
        /// The attribute name.
        name: &'a str,
        /// Everything after the first `:`, if there was one.
        value: Option<&'a str>,
    },
}

/// Payload type: 1–3 digits, 0–127.
#[inline]
pub(crate) fn parse_payload_type(s: &str) -> Option<u8> {
    let mut v: u16 = 0;
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 3 {
        return None;
    }
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        v = v * 10 + u16::from(d);
    }
    u8::try_from(v).ok().filter(|&p| p <= 127)
}

pub(crate) fn need(value: Option<&str>) -> VResult<&str> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err("needs a value".into()),
    }
}

pub(crate) fn flag<'a>(value: Option<&str>, a: Attribute<'a>) -> VResult<Attribute<'a>> {
    match value {
        None => Ok(a),
        Some(_) => Err("takes no value".into()),
    }
}

pub(crate) fn non_ws(v: &str, what: &'static str) -> VResult<()> {
    if is_non_ws(v) {
        Ok(())
    } else {
        Err(format!("{what} must be one word without spaces, got {v:?}").into())
    }
}

/// Which attribute a name is, found by length first (one comparison of a short constant
/// string per candidate) rather than by trying every name in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    Candidate,
    RtcpFb,
    Rtpmap,
    Fmtp,
    Ssrc,
    Extmap,
    Mid,
    Msid,
    SsrcGroup,
    IceUfrag,
    IcePwd,
    IceOptions,
    Fingerprint,
    Setup,
    Group,
    MsidSemantic,
    Rid,
    Simulcast,
    Rtcp,
    TlsId,
    SctpPort,
    MaxMessageSize,
    Ptime,
    MaxPtime,
    Framerate,
    RtcpMux,
    RtcpMuxOnly,
    RtcpRsize,
    IceLite,
    EndOfCandidates,
    ExtmapAllowMixed,
    BundleOnly,
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
    /// Not a name ferrtc types.
    Other,
}

impl Kind {
    /// The attribute name of a known kind (`""` for [`Kind::Other`]).
    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Mid => "mid",
            Kind::Rid => "rid",
            Kind::Fmtp => "fmtp",
            Kind::Ssrc => "ssrc",
            Kind::Msid => "msid",
            Kind::Rtcp => "rtcp",
            Kind::Setup => "setup",
            Kind::Group => "group",
            Kind::Ptime => "ptime",
            Kind::Rtpmap => "rtpmap",
            Kind::Extmap => "extmap",
            Kind::TlsId => "tls-id",
            Kind::RtcpFb => "rtcp-fb",
            Kind::IcePwd => "ice-pwd",
            Kind::MaxPtime => "maxptime",
            Kind::RtcpMux => "rtcp-mux",
            Kind::IceLite => "ice-lite",
            Kind::SendRecv => "sendrecv",
            Kind::SendOnly => "sendonly",
            Kind::RecvOnly => "recvonly",
            Kind::Inactive => "inactive",
            Kind::Candidate => "candidate",
            Kind::IceUfrag => "ice-ufrag",
            Kind::Simulcast => "simulcast",
            Kind::SctpPort => "sctp-port",
            Kind::Framerate => "framerate",
            Kind::SsrcGroup => "ssrc-group",
            Kind::RtcpRsize => "rtcp-rsize",
            Kind::IceOptions => "ice-options",
            Kind::Fingerprint => "fingerprint",
            Kind::BundleOnly => "bundle-only",
            Kind::MsidSemantic => "msid-semantic",
            Kind::RtcpMuxOnly => "rtcp-mux-only",
            Kind::MaxMessageSize => "max-message-size",
            Kind::EndOfCandidates => "end-of-candidates",
            Kind::ExtmapAllowMixed => "extmap-allow-mixed",
            Kind::Other => "",
        }
    }

    #[inline]
    pub(crate) fn of(name: &str) -> Kind {
        match name.len() {
            3 => match name {
                "mid" => Kind::Mid,
                "rid" => Kind::Rid,
                _ => Kind::Other,
            },
            4 => match name {
                "fmtp" => Kind::Fmtp,
                "ssrc" => Kind::Ssrc,
                "msid" => Kind::Msid,
                "rtcp" => Kind::Rtcp,
                _ => Kind::Other,
            },
            5 => match name {
                "setup" => Kind::Setup,
                "group" => Kind::Group,
                "ptime" => Kind::Ptime,
                _ => Kind::Other,
            },
            6 => match name {
                "rtpmap" => Kind::Rtpmap,
                "extmap" => Kind::Extmap,
                "tls-id" => Kind::TlsId,
                _ => Kind::Other,
            },
            7 => match name {
                "rtcp-fb" => Kind::RtcpFb,
                "ice-pwd" => Kind::IcePwd,
                _ => Kind::Other,
            },
            8 => match name {
                "maxptime" => Kind::MaxPtime,
                "rtcp-mux" => Kind::RtcpMux,
                "ice-lite" => Kind::IceLite,
                "sendrecv" => Kind::SendRecv,
                "sendonly" => Kind::SendOnly,
                "recvonly" => Kind::RecvOnly,
                "inactive" => Kind::Inactive,
                _ => Kind::Other,
            },
            9 => match name {
                "candidate" => Kind::Candidate,
                "ice-ufrag" => Kind::IceUfrag,
                "simulcast" => Kind::Simulcast,
                "sctp-port" => Kind::SctpPort,
                "framerate" => Kind::Framerate,
                _ => Kind::Other,
            },
            10 => match name {
                "ssrc-group" => Kind::SsrcGroup,
                "rtcp-rsize" => Kind::RtcpRsize,
                _ => Kind::Other,
            },
            11 => match name {
                "ice-options" => Kind::IceOptions,
                "fingerprint" => Kind::Fingerprint,
                "bundle-only" => Kind::BundleOnly,
                _ => Kind::Other,
            },
            13 => match name {
                "msid-semantic" => Kind::MsidSemantic,
                "rtcp-mux-only" => Kind::RtcpMuxOnly,
                _ => Kind::Other,
            },
            16 => match name {
                "max-message-size" => Kind::MaxMessageSize,
                _ => Kind::Other,
            },
            17 => match name {
                "end-of-candidates" => Kind::EndOfCandidates,
                _ => Kind::Other,
            },
            18 => match name {
                "extmap-allow-mixed" => Kind::ExtmapAllowMixed,
                _ => Kind::Other,
            },
            _ => Kind::Other,
        }
    }
}

/// A quick yes for the most frequent attributes: `true` only when
/// [`Attribute::parse_kind`] would accept the value (a subset of what it accepts; `false`
/// sends the line through the full parse, which also builds the error). No `Result`, no
/// value built: this runs on most lines of a WebRTC description.
#[inline]
pub(crate) fn quick_valid(kind: Kind, value: Option<&str>) -> bool {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return false;
    };
    match kind {
        Kind::RtcpFb => {
            let (p, rest) = split_sp(v);
            (p == "*" || parse_payload_type(p).is_some())
                && rest.is_some_and(|r| is_token(split_sp(r).0))
        }
        Kind::Rtpmap => {
            let (p, enc) = split_sp(v);
            let Some((name, rest)) = enc.and_then(|e| split_at_byte(e, b'/')) else {
                return false;
            };
            let (clock, chans) = match split_at_byte(rest, b'/') {
                Some((c, ch)) => (c, Some(ch)),
                None => (rest, None),
            };
            parse_payload_type(p).is_some()
                && is_token(name)
                && parse_u32(clock).is_some_and(|c| c != 0)
                && chans.is_none_or(|c| parse_u16(c).is_some_and(|n| n != 0))
        }
        Kind::Fmtp => is_token(split_sp(v).0),
        Kind::Extmap => {
            let (idd, rest) = split_sp(v);
            let id_ok = |i: &str| {
                parse_u16(i)
                    .is_some_and(|id| (1..=256).contains(&id) || (4096..=4351).contains(&id))
            };
            let head_ok = match split_at_byte(idd, b'/') {
                Some((i, d)) => Direction::from_name(d).is_some() && id_ok(i),
                None => id_ok(idd),
            };
            head_ok
                && rest.is_some_and(|r| {
                    let uri = match memchr::memchr(b' ', r.as_bytes()) {
                        Some(i) => r.get(..i).unwrap_or(""),
                        None => r,
                    };
                    is_non_ws(uri)
                })
        }
        Kind::Ssrc => {
            let (x, rest) = split_sp(v);
            parse_u32(x).is_some() && rest.is_some_and(|r| is_token(split_attribute(r).0))
        }
        Kind::IceUfrag | Kind::IcePwd | Kind::TlsId => is_non_ws(v),
        Kind::Candidate | Kind::Mid | Kind::IceOptions => true,
        _ => false,
    }
}

/// Digits the parser has already checked, as a number (wrapping arithmetic: no panic
/// whatever the input; the parser's range checks make the result exact).
#[inline]
fn checked_digits(s: &str) -> u64 {
    s.bytes().fold(0u64, |v, c| {
        v.wrapping_mul(10)
            .wrapping_add(u64::from(c.wrapping_sub(b'0')))
    })
}

#[inline]
fn trusted_rtcp_fb(v: &str) -> Option<RtcpFb<'_>> {
    let (p, rest) = split_sp(v);
    let payload_type = if p == "*" {
        None
    } else {
        Some(u8::try_from(checked_digits(p)).ok()?)
    };
    let (feedback, param) = split_sp(rest?);
    Some(RtcpFb {
        payload_type,
        feedback,
        param,
    })
}

#[inline]
fn trusted_rtpmap(v: &str) -> Option<Rtpmap<'_>> {
    let (p, enc) = split_sp(v);
    let (encoding_name, rest) = split_at_byte(enc?, b'/')?;
    let (clock, chans) = match split_at_byte(rest, b'/') {
        Some((c, ch)) => (c, Some(ch)),
        None => (rest, None),
    };
    Some(Rtpmap {
        payload_type: u8::try_from(checked_digits(p)).ok()?,
        encoding_name,
        clock_rate: u32::try_from(checked_digits(clock)).ok()?,
        channels: match chans {
            Some(c) => Some(u16::try_from(checked_digits(c)).ok()?),
            None => None,
        },
    })
}

#[inline]
fn trusted_extmap(v: &str) -> Option<Extmap<'_>> {
    let (idd, rest) = split_sp(v);
    let (id, direction) = match split_at_byte(idd, b'/') {
        Some((i, d)) => (i, Some(Direction::from_name(d)?)),
        None => (idd, None),
    };
    let rest = rest?;
    let (uri, attributes) = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)),
        None => (rest, None),
    };
    Some(Extmap {
        id: u16::try_from(checked_digits(id)).ok()?,
        direction,
        uri,
        attributes,
    })
}

impl<'a> Attribute<'a> {
    /// Types an attribute line (the text after `a=`) that the description parser has
    /// already accepted as `kind`. The name is not searched for (a known kind gives its
    /// length) and the most frequent WebRTC attributes (rtcp-fb, rtpmap, fmtp, extmap) are
    /// split without repeating the checks; the rest go through
    /// [`parse_kind`](Self::parse_kind). Anything that does not type is `Other`.
    // Always inlined: returned through a call, the value was copied again by the caller.
    #[inline(always)]
    pub(crate) fn from_checked(kind: Kind, text: &'a str) -> Self {
        // The four hot kinds first, by their fixed `name:` length (a kind is recorded only
        // for a line whose name is exactly that one, with a value): no name lookup.
        match kind {
            Kind::RtcpFb => {
                if let Some(x) = text.get(8..).and_then(trusted_rtcp_fb) {
                    return Attribute::RtcpFb(x);
                }
            }
            Kind::Rtpmap => {
                if let Some(x) = text.get(7..).and_then(trusted_rtpmap) {
                    return Attribute::Rtpmap(x);
                }
            }
            Kind::Fmtp => {
                if let Some(v) = text.get(5..) {
                    let (format, params) = split_sp(v);
                    return Attribute::Fmtp(Fmtp {
                        format,
                        params: params.unwrap_or(""),
                    });
                }
            }
            Kind::Extmap => {
                if let Some(x) = text.get(7..).and_then(trusted_extmap) {
                    return Attribute::Extmap(x);
                }
            }
            _ => {}
        }
        let known = kind.name();
        // A kind other than `Other` was recorded only for a line whose name is exactly
        // `kind.name()` (`Kind::of`), so the name need not be compared again.
        let (name, value) = match text.get(known.len()..) {
            Some(rest) if kind != Kind::Other => match rest.as_bytes().first() {
                None => (known, None),
                Some(b':') => (known, rest.get(1..)),
                Some(_) => split_attribute(text),
            },
            _ => split_attribute(text),
        };
        // Early returns, no intermediate Option<Attribute>: each move of this 64-byte
        // value showed up in perf.
        if let Some(v) = value {
            match kind {
                Kind::RtcpFb => {
                    if let Some(x) = trusted_rtcp_fb(v) {
                        return Attribute::RtcpFb(x);
                    }
                }
                Kind::Rtpmap => {
                    if let Some(x) = trusted_rtpmap(v) {
                        return Attribute::Rtpmap(x);
                    }
                }
                Kind::Fmtp => {
                    let (format, params) = split_sp(v);
                    return Attribute::Fmtp(Fmtp {
                        format,
                        params: params.unwrap_or(""),
                    });
                }
                Kind::Extmap => {
                    if let Some(x) = trusted_extmap(v) {
                        return Attribute::Extmap(x);
                    }
                }
                Kind::Fingerprint => {
                    if let (algorithm, Some(value)) = split_sp(v) {
                        return Attribute::Fingerprint(Fingerprint { algorithm, value });
                    }
                }
                Kind::Candidate => return Attribute::Candidate(v),
                _ => {}
            }
        }
        match Self::parse_kind(kind, name, value) {
            Ok(a) => a,
            Err(_) => Attribute::Other { name, value },
        }
    }
}

impl<'a> Attribute<'a> {
    /// Types an attribute from its name and value (the text after `a=`, split at the
    /// first `:`). Unknown names give [`Attribute::Other`]; a known name with a malformed
    /// value is an error that says what is wrong.
    pub fn parse(name: &'a str, value: Option<&'a str>) -> Result<Self, Cow<'static, str>> {
        Self::parse_checked(name, value).map_err(Problem::message)
    }

    /// [`parse`](Self::parse), telling a number out of range apart from bad grammar.
    pub(crate) fn parse_checked(name: &'a str, value: Option<&'a str>) -> VResult<Self> {
        Self::parse_kind(Kind::of(name), name, value)
    }

    /// [`parse_checked`](Self::parse_checked) with the name already looked up.
    #[inline]
    pub(crate) fn parse_kind(kind: Kind, name: &'a str, value: Option<&'a str>) -> VResult<Self> {
        crate::grammar::parse_kind(kind, name, value)
    }

    /// Parses a whole attribute line: `a=name[:value]` (or just `name[:value]`).
    pub fn parse_line(line: &'a str) -> Result<Self, crate::Error> {
        let text = line.strip_prefix("a=").unwrap_or(line);
        let (name, value) = split_attribute(text);
        if !is_token(name) {
            return Err(crate::Error::syntax(
                1,
                "attribute name must be a token (RFC 8866 §9)",
            ));
        }
        Attribute::parse_checked(name, value).map_err(|p| p.into_error(1, name))
    }

    /// The attribute name.
    pub fn name(&self) -> &'a str {
        match self {
            Attribute::Group(_) => "group",
            Attribute::Mid(_) => "mid",
            Attribute::Msid(_) => "msid",
            Attribute::MsidSemantic(_) => "msid-semantic",
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::RtcpFb(_) => "rtcp-fb",
            Attribute::Extmap(_) => "extmap",
            Attribute::ExtmapAllowMixed => "extmap-allow-mixed",
            Attribute::Ssrc(_) => "ssrc",
            Attribute::SsrcGroup(_) => "ssrc-group",
            Attribute::Rid(_) => "rid",
            Attribute::Simulcast(_) => "simulcast",
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::RtcpMuxOnly => "rtcp-mux-only",
            Attribute::RtcpRsize => "rtcp-rsize",
            Attribute::IceUfrag(_) => "ice-ufrag",
            Attribute::IcePwd(_) => "ice-pwd",
            Attribute::IceOptions(_) => "ice-options",
            Attribute::IceLite => "ice-lite",
            Attribute::Candidate(_) => "candidate",
            Attribute::EndOfCandidates => "end-of-candidates",
            Attribute::Fingerprint(_) => "fingerprint",
            Attribute::Setup(_) => "setup",
            Attribute::TlsId(_) => "tls-id",
            Attribute::SctpPort(_) => "sctp-port",
            Attribute::MaxMessageSize(_) => "max-message-size",
            Attribute::Direction(d) => d.as_str(),
            Attribute::BundleOnly => "bundle-only",
            Attribute::Ptime(_) => "ptime",
            Attribute::MaxPtime(_) => "maxptime",
            Attribute::Framerate(_) => "framerate",
            Attribute::Other { name, .. } => name,
        }
    }
}

/// Prints `name[:value]` (without `a=`), the canonical form.
impl fmt::Display for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Attribute::Group(v) => write!(f, ":{v}"),
            Attribute::Mid(v)
            | Attribute::IceUfrag(v)
            | Attribute::IcePwd(v)
            | Attribute::IceOptions(v)
            | Attribute::Candidate(v)
            | Attribute::TlsId(v) => write!(f, ":{v}"),
            Attribute::Msid(v) => write!(f, ":{v}"),
            Attribute::MsidSemantic(v) => write!(f, ":{v}"),
            Attribute::Rtpmap(v) => write!(f, ":{v}"),
            Attribute::Fmtp(v) => write!(f, ":{v}"),
            Attribute::RtcpFb(v) => write!(f, ":{v}"),
            Attribute::Extmap(v) => write!(f, ":{v}"),
            Attribute::Ssrc(v) => write!(f, ":{v}"),
            Attribute::SsrcGroup(v) => write!(f, ":{v}"),
            Attribute::Rid(v) => write!(f, ":{v}"),
            Attribute::Simulcast(v) => write!(f, ":{v}"),
            Attribute::Rtcp(v) => write!(f, ":{v}"),
            Attribute::Fingerprint(v) => write!(f, ":{v}"),
            Attribute::Setup(v) => write!(f, ":{v}"),
            Attribute::SctpPort(v) => write!(f, ":{v}"),
            Attribute::MaxMessageSize(v) => write!(f, ":{v}"),
            Attribute::Ptime(v) | Attribute::MaxPtime(v) | Attribute::Framerate(v) => {
                write!(f, ":{v}")
            }
            Attribute::Other { value: Some(v), .. } => write!(f, ":{v}"),
            Attribute::ExtmapAllowMixed
            | Attribute::RtcpMux
            | Attribute::RtcpMuxOnly
            | Attribute::RtcpRsize
            | Attribute::IceLite
            | Attribute::EndOfCandidates
            | Attribute::Direction(_)
            | Attribute::BundleOnly
            | Attribute::Other { value: None, .. } => Ok(()),
        }
    }
}

/// Splits the text after `a=` into name and value at the first `:`.
#[inline]
pub(crate) fn split_attribute(text: &str) -> (&str, Option<&str>) {
    match text.as_bytes().iter().position(|&b| b == b':') {
        Some(i) => (
            text.get(..i).unwrap_or(""),
            Some(text.get(i + 1..).unwrap_or("")),
        ),
        None => (text, None),
    }
}

pub(crate) fn decimal(value: Option<&str>) -> VResult<f64> {
    let v = need(value)?;
    parse_decimal(v).ok_or_else(|| format!("{v:?} is not a decimal number").into())
}

pub(crate) fn pt(s: &str) -> VResult<u8> {
    match parse_payload_type(s) {
        Some(p) => Ok(p),
        None if is_digits(s) => Err(Problem::range(format!("payload type {s}"), "0-127")),
        None => Err(format!("payload type {s:?} is not a number").into()),
    }
}

/// Digits as a `u16`: not digits is a syntax error, too large an out-of-range value.
pub(crate) fn number_u16(s: &str, what: &str) -> VResult<u16> {
    match parse_u16(s) {
        Some(v) => Ok(v),
        None if is_digits(s) => Err(Problem::range(format!("{what} {s}"), "0-65535")),
        None => Err(format!("{what} {s:?} is not a number").into()),
    }
}

/// Digits as a `u32` (see [`number_u16`]).
pub(crate) fn number_u32(s: &str, what: &str) -> VResult<u32> {
    match parse_u32(s) {
        Some(v) => Ok(v),
        None if is_digits(s) => Err(Problem::range(format!("{what} {s}"), "0-4294967295")),
        None => Err(format!("{what} {s:?} is not a number").into()),
    }
}

/// Digits as a `u64` (see [`number_u16`]).
pub(crate) fn number_u64(s: &str, what: &str) -> VResult<u64> {
    match parse_u64(s) {
        Some(v) => Ok(v),
        None if is_digits(s) => Err(Problem::range(
            format!("{what} {s}"),
            "0-18446744073709551615",
        )),
        None => Err(format!("{what} {s:?} is not a number").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Attribute<'_> {
        Attribute::parse_line(line).unwrap()
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            p("a=rtpmap:111 opus/48000/2"),
            Attribute::Rtpmap(Rtpmap {
                payload_type: 111,
                encoding_name: "opus",
                clock_rate: 48000,
                channels: Some(2)
            })
        );
        let Attribute::Fmtp(f) = p("a=fmtp:99 useinbandfec=1; usedtx=0") else {
            panic!()
        };
        assert_eq!(
            f.params().collect::<Vec<_>>(),
            vec![("useinbandfec", Some("1")), ("usedtx", Some("0"))]
        );
        assert_eq!(f.get("usedtx"), Some("0"));
        assert_eq!(
            p("a=rtcp-fb:* ccm pause nowait"),
            Attribute::RtcpFb(RtcpFb {
                payload_type: None,
                feedback: "ccm",
                param: Some("pause nowait")
            })
        );
        assert_eq!(
            p("a=extmap:2/sendonly urn:x attr"),
            Attribute::Extmap(Extmap {
                id: 2,
                direction: Some(Direction::SendOnly),
                uri: "urn:x",
                attributes: Some("attr")
            })
        );
        let Attribute::Simulcast(s) = p("a=simulcast:send 1;~4,3 recv 5") else {
            panic!()
        };
        let send: Vec<Vec<_>> = s.send.unwrap().streams().map(|a| a.collect()).collect();
        assert_eq!(
            send,
            vec![vec![("1", false)], vec![("4", true), ("3", false)]]
        );
        let Attribute::Rid(r) = p("a=rid:1 send pt=99,102;max-br=64000") else {
            panic!()
        };
        assert_eq!(r.payload_types().collect::<Vec<_>>(), vec![99, 102]);
        let Attribute::Fingerprint(f) = p("a=fingerprint:sha-256 0A:ff") else {
            panic!()
        };
        assert_eq!(f.bytes(), vec![0x0a, 0xff]);
        assert_eq!(p("a=sendonly"), Attribute::Direction(Direction::SendOnly));
        assert_eq!(
            p("a=x-foo:bar:baz"),
            Attribute::Other {
                name: "x-foo",
                value: Some("bar:baz")
            }
        );
    }

    #[test]
    fn malformed_values_say_what() {
        for bad in [
            "a=rtpmap:128 opus/48000",
            "a=rtpmap:96 opus",
            "a=rtpmap:96 opus/x",
            "a=rtcp-fb:96",
            "a=extmap:0 urn:x",
            "a=ssrc:4294967296 cname:x",
            "a=setup:maybe",
            "a=fingerprint:sha-256 0G:00",
            "a=sctp-port:70000",
            "a=rtcp-mux:yes",
            "a=mid",
            "a=simulcast:send",
            "a=ptime:abc",
        ] {
            let e = Attribute::parse_line(bad).unwrap_err();
            assert!(e.to_string().contains("line 1"), "{bad}: {e}");
        }
    }

    proptest::proptest! {
        /// `quick_valid` says yes only where the full parse accepts, and the trusted split
        /// of an accepted value gives the same attribute as the full parse.
        #[test]
        fn quick_path_is_a_subset_of_the_full_parse(
            k in 0usize..8,
            v in "[0-9a-zA-Z/ *:~;=.,_-]{0,40}",
        ) {
            let names = ["rtcp-fb", "rtpmap", "fmtp", "extmap", "ssrc", "ice-ufrag", "candidate", "fingerprint"];
            let name = names[k];
            let kind = Kind::of(name);
            let full = Attribute::parse_kind(kind, name, Some(&v));
            if quick_valid(kind, Some(&v)) {
                proptest::prop_assert!(full.is_ok(), "{name}:{v}");
            }
            if let Ok(a) = full {
                let text = format!("{name}:{v}");
                proptest::prop_assert_eq!(Attribute::from_checked(kind, &text), a);
            }
        }
    }

    #[test]
    fn quick_path_examples() {
        for (name, v, ok) in [
            ("rtcp-fb", "96 nack pli", true),
            ("rtcp-fb", "* ccm fir", true),
            ("rtcp-fb", "128 nack", false),
            ("rtpmap", "111 opus/48000/2", true),
            ("rtpmap", "111 opus/0", false),
            ("rtpmap", "111 opus/48000/0", false),
            ("extmap", "4096/sendonly urn:x", true),
            ("extmap", "257 urn:x", false),
            ("ssrc", "4294967295 cname:x", true),
            ("ssrc", "4294967296 cname:x", false),
        ] {
            assert_eq!(quick_valid(Kind::of(name), Some(v)), ok, "{name}:{v}");
            if ok {
                assert!(Attribute::parse(name, Some(v)).is_ok());
            }
        }
    }

    #[test]
    fn display_is_canonical() {
        for line in [
            "rtpmap:111 opus/48000/2",
            "fmtp:111 minptime=10;useinbandfec=1",
            "rtcp-fb:96 nack pli",
            "extmap:3 http://x",
            "ssrc:1 cname:abc",
            "ssrc-group:FID 1 2",
            "group:BUNDLE 0 1",
            "rid:1 send pt=97",
            "simulcast:send 1;2 recv 3",
            "setup:actpass",
            "sctp-port:5000",
            "ptime:20",
            "rtcp:9 IN IP4 0.0.0.0",
            "ice-lite",
        ] {
            assert_eq!(Attribute::parse_line(line).unwrap().to_string(), line);
        }
    }
}
