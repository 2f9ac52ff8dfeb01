//! Typed views of the RFC 8866 description lines other than `a=`.

use std::fmt;

use crate::attribute::number_u64;
use crate::util::{is_digits, is_token, parse_u16, parse_u64, split_at_byte, split_sp};

use crate::error::Problem;

type VResult<T> = Result<T, Problem>;

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// User name, `-` when there is none.
    pub username: &'a str,
    /// Session id, digits (browsers use up to 19 digits; see [`Origin::session_id_u64`]).
    pub session_id: &'a str,
    /// Session version, digits.
    pub session_version: &'a str,
    /// `IN`.
    pub nettype: &'a str,
    /// `IP4` or `IP6`.
    pub addrtype: &'a str,
    /// Address or host name.
    pub unicast_address: &'a str,
}

impl<'a> Origin<'a> {
    pub(crate) fn parse(v: &'a str) -> VResult<Self> {
        crate::grammar::origin(v)
    }

    /// Splits an `o=` value the description parser has already checked (six fields
    /// separated by single spaces, none with a space in it): no checks again; `None` if it
    /// does not split, which the checks rule out.
    #[inline]
    pub(crate) fn from_checked(v: &'a str) -> Option<Self> {
        let (username, r) = split_sp(v);
        let (session_id, r) = split_sp(r?);
        let (session_version, r) = split_sp(r?);
        let (nettype, r) = split_sp(r?);
        let (addrtype, unicast_address) = split_sp(r?);
        Some(Origin {
            username,
            session_id,
            session_version,
            nettype,
            addrtype,
            unicast_address: unicast_address?,
        })
    }

    /// The session id as a number, if it fits in 64 bits.
    pub fn session_id_u64(&self) -> Option<u64> {
        parse_u64(self.session_id)
    }

    /// The session version as a number, if it fits in 64 bits.
    pub fn session_version_u64(&self) -> Option<u64> {
        parse_u64(self.session_version)
    }
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype,
            self.addrtype,
            self.unicast_address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7); also the address part
/// of `a=rtcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `IN`.
    pub nettype: &'a str,
    /// `IP4` or `IP6`.
    pub addrtype: &'a str,
    /// The address, possibly with `/ttl` and `/count` for multicast.
    pub address: &'a str,
}

impl<'a> Connection<'a> {
    pub(crate) fn parse(v: &'a str) -> VResult<Self> {
        crate::grammar::connection(v)
    }

    /// Splits a `c=` value the description parser has already checked (see
    /// [`Origin::from_checked`]).
    #[inline]
    pub(crate) fn from_checked(v: &'a str) -> Option<Self> {
        let (nettype, r) = split_sp(v);
        let (addrtype, address) = split_sp(r?);
        Some(Connection {
            nettype,
            addrtype,
            address: address?,
        })
    }

    /// The address without a multicast `/ttl` or `/count` suffix.
    pub fn host(&self) -> &'a str {
        self.address.split('/').next().unwrap_or(self.address)
    }
}

impl fmt::Display for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.nettype, self.addrtype, self.address)
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8; `AS` in kbit/s, `TIAS` in bit/s per RFC 3890).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// `AS`, `CT`, `TIAS`, `RS`, `RR`, …
    pub bwtype: &'a str,
    /// The value, in the unit of the type.
    pub bandwidth: u64,
}

impl<'a> Bandwidth<'a> {
    pub(crate) fn parse(v: &'a str) -> VResult<Self> {
        crate::grammar::bandwidth(v)
    }
}

impl fmt::Display for Bandwidth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bwtype, self.bandwidth)
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9), NTP seconds; `0 0` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Start, NTP seconds.
    pub start: u64,
    /// Stop, NTP seconds.
    pub stop: u64,
}

impl Timing {
    pub(crate) fn parse(v: &str) -> VResult<Self> {
        crate::grammar::timing(v)
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.start, self.stop)
    }
}

/// RFC 8866 `typed-time`: digits with an optional `d`, `h`, `m` or `s` unit, as seconds.
/// Not a typed time is a syntax error; more seconds than a `u64` holds is out of range.
fn typed_time(s: &str, allow_minus: bool, what: &str) -> VResult<u64> {
    let s = if allow_minus {
        s.strip_prefix('-').unwrap_or(s)
    } else {
        s
    };
    let (digits, unit) = match s.strip_suffix(['d', 'h', 'm', 's']) {
        Some(d) => (d, s.as_bytes().last().copied()),
        None => (s, None),
    };
    if !is_digits(digits) {
        return Err(format!("{what} {s:?} is not a typed time").into());
    }
    let scale: u64 = match unit {
        Some(b'd') => 86_400,
        Some(b'h') => 3_600,
        Some(b'm') => 60,
        _ => 1,
    };
    parse_u64(digits)
        .and_then(|v| v.checked_mul(scale))
        .ok_or_else(|| Problem::range(format!("{what} {s}"), "at most 2^64-1 seconds"))
}

/// `token *("/" token)`: an m= line protocol such as `UDP/TLS/RTP/SAVPF`.
pub(crate) fn is_slash_tokens(s: &str) -> bool {
    let b = s.as_bytes();
    let mut prev_slash = true;
    for &c in b {
        if c == b'/' {
            if prev_slash {
                return false;
            }
            prev_slash = true;
        } else if crate::util::is_token_char(c) {
            prev_slash = false;
        } else {
            return false;
        }
    }
    !prev_slash
}

/// Payload types 0-127 (one to three digits) separated by single spaces, or nothing.
pub(crate) fn payload_type_list(s: &str) -> bool {
    let mut value: u32 = 0;
    let mut digits = 0u32;
    for &c in s.as_bytes() {
        if c == b' ' {
            if digits == 0 || value > 127 {
                return false;
            }
            value = 0;
            digits = 0;
        } else if c.is_ascii_digit() && digits < 3 {
            value = value * 10 + u32::from(c - b'0');
            digits += 1;
        } else {
            return false;
        }
    }
    s.is_empty() || (digits > 0 && value <= 127)
}

/// `r=<repeat interval> <active duration> <offsets>…` (RFC 8866 §5.10). The grammar
/// (§9) makes the repeat interval non-zero (`POS-DIGIT *DIGIT`).
pub(crate) fn check_repeat(v: &str) -> VResult<()> {
    let mut n = 0;
    for w in v.split(' ') {
        let what = match n {
            0 => "repeat interval",
            1 => "active duration",
            _ => "offset",
        };
        let secs = typed_time(w, false, what)?;
        if n == 0 && secs == 0 {
            return Err(Problem::range("repeat interval 0", "greater than 0"));
        }
        n += 1;
    }
    if n < 3 {
        return Err("expected <interval> <duration> <offset>…".into());
    }
    Ok(())
}

/// `z=<adjustment time> <offset> …` (RFC 8866 §5.11).
pub(crate) fn check_zone(v: &str) -> VResult<()> {
    let mut n = 0;
    for (i, w) in v.split(' ').enumerate() {
        if i % 2 == 0 {
            number_u64(w, "adjustment time")?;
        } else {
            typed_time(w, true, "offset")?;
        }
        n += 1;
    }
    if n % 2 != 0 {
        return Err("expected pairs of <adjustment time> <offset>".into());
    }
    Ok(())
}

/// `k=` (RFC 8866 §5.12, obsolete): `prompt`, `clear:…`, `base64:…` or `uri:…`.
pub(crate) fn check_key(v: &str) -> VResult<()> {
    let method = v.split(':').next().unwrap_or("");
    if is_token(method) {
        Ok(())
    } else {
        Err("expected <method>[:<key>]".into())
    }
}

/// The kind of media of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind<'a> {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `application` (data channels)
    Application,
    /// Anything else (`text`, `message`, `image`, …).
    Other(&'a str),
}

impl<'a> MediaKind<'a> {
    /// Types a media name.
    pub fn from_name(s: &'a str) -> Self {
        match s {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Application,
            o => MediaKind::Other(o),
        }
    }

    /// The media name.
    pub fn as_str(&self) -> &'a str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Other(o) => o,
        }
    }
}

impl fmt::Display for MediaKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> …` (RFC 8866 §5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLine<'a> {
    /// audio, video, application, …
    pub kind: MediaKind<'a>,
    /// Transport port (9 is the WebRTC "discard" placeholder, 0 rejects the section).
    pub port: u16,
    /// Number of ports, if given.
    pub num_ports: Option<u16>,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, …
    pub protocol: &'a str,
    /// The media formats, space separated (see [`MediaLine::formats`]).
    pub formats: &'a str,
}

impl<'a> MediaLine<'a> {
    pub(crate) fn parse(v: &'a str) -> VResult<Self> {
        crate::grammar::media_line(v)
    }

    /// Splits an `m=` value the description parser has already checked (no checks again;
    /// `None` if it does not split, which the checks rule out).
    #[inline]
    pub(crate) fn from_checked(v: &'a str) -> Option<Self> {
        let (kind, rest) = split_sp(v);
        let (port_s, rest) = split_sp(rest?);
        let (port, num_ports) = match split_at_byte(port_s, b'/') {
            Some((p, n)) => (p, Some(parse_u16(n)?)),
            None => (port_s, None),
        };
        let (protocol, formats) = split_sp(rest?);
        Some(MediaLine {
            kind: MediaKind::from_name(kind),
            port: parse_u16(port)?,
            num_ports,
            protocol,
            formats: formats.unwrap_or(""),
        })
    }

    /// The formats in order (payload types for RTP); none for a rejected section written
    /// without formats.
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.formats.split(' ').filter(|f| !f.is_empty())
    }
}

impl fmt::Display for MediaLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.port)?;
        if let Some(n) = self.num_ports {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        if !self.formats.is_empty() {
            write!(f, " {}", self.formats)?;
        }
        Ok(())
    }
}
