//! [`SessionDescription`]: the parsed text plus line spans, with typed views on demand.
//!
//! Design: parsing copies the input once, records where each line starts and ends, and
//! checks every line against the RFC 8866 grammar (and every attribute ferrtc types
//! against its RFC). It allocates nothing per line. Accessors re-read the checked text
//! into borrowed typed views, which costs a few nanoseconds per attribute and means a
//! parsed description always prints back exactly what was received (with CRLF endings):
//! unknown attributes, odd spacing and attribute order all survive.

use std::fmt;
use std::str::FromStr;

use bytes::BufMut;

use crate::attribute::{
    split_attribute, Attribute, Direction, Extmap, Fingerprint, Fmtp, Group, Kind, Msid,
    MsidSemantic, Rid, Rtcp, RtcpFb, Rtpmap, Setup, Simulcast, Ssrc, SsrcGroup,
};
use crate::error::Error;
use crate::error::Problem;
use crate::fields::{
    check_key, check_repeat, check_zone, Bandwidth, Connection, MediaKind, MediaLine, Origin,
    Timing,
};

/// Limits and strictness applied while parsing untrusted descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Reject a description in which an attribute that ferrtc types (rtpmap, fingerprint,
    /// …) is malformed, with an error naming the line (default `true`, as browsers do).
    /// When `false`, such lines are kept verbatim and typed as [`Attribute::Other`], so
    /// the typed accessors skip them; the RFC 8866 line grammar is still enforced.
    pub strict_attributes: bool,
    /// Maximum input size in bytes (default 1 MiB; capped at `u32::MAX`).
    pub max_bytes: usize,
    /// Maximum number of lines (default 65 536).
    pub max_lines: usize,
    /// Maximum number of media sections (default 1 024).
    pub max_media: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            strict_attributes: true,
            max_bytes: 1 << 20,
            max_lines: 1 << 16,
            max_media: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
    /// For an `a=` line, what it was typed as at parse time ([`Kind`], `Kind::Other` for a
    /// line kept verbatim by lenient parsing), so typed views skip the name lookup.
    kind: Kind,
}

/// A parsed SDP session description (RFC 8866).
///
/// `FromStr` parses (CRLF or bare LF line endings), `Display` prints with CRLF. Printing
/// a parsed description gives back the same lines, in the same order, byte for byte.
#[derive(Clone)]
pub struct SessionDescription {
    text: String,
    lines: Vec<Span>,
    /// Index in `lines` of each `m=` line.
    media: Vec<u32>,
    /// `text` is exactly the lines, each followed by CRLF: printing is one copy.
    canonical: bool,
}

/// Where the parser is in the RFC 8866 §9 grammar.
struct Grammar {
    in_media: bool,
    /// Rank of the last line seen in the current section (see `session_rank`/`media_rank`).
    rank: u8,
    seen_t: bool,
}

/// Session-level order: v o s i u e p c b t r z k a (then m).
#[inline]
fn session_rank(t: u8) -> Option<(u8, bool)> {
    // (rank, may repeat)
    Some(match t {
        b'v' => (0, false),
        b'o' => (1, false),
        b's' => (2, false),
        b'i' => (3, false),
        b'u' => (4, false),
        b'e' => (5, true),
        b'p' => (6, true),
        b'c' => (7, false),
        b'b' => (8, true),
        b't' => (9, true),
        b'r' => (10, true),
        b'z' => (11, false),
        b'k' => (12, false),
        b'a' => (13, true),
        _ => return None,
    })
}

/// Media-level order: m i c b k a.
#[inline]
fn media_rank(t: u8) -> Option<(u8, bool)> {
    Some(match t {
        b'm' => (0, false),
        b'i' => (1, false),
        b'c' => (2, true),
        b'b' => (3, true),
        b'k' => (4, false),
        b'a' => (5, true),
        _ => return None,
    })
}

fn check_line(line: &str, no: usize, g: &mut Grammar, strict: bool) -> Result<Kind, Error> {
    let b = line.as_bytes();
    let (Some(&t), Some(&b'=')) = (b.first(), b.get(1)) else {
        if line.is_empty() {
            return Err(Error::syntax(no, "empty line"));
        }
        return Err(Error::syntax(no, "expected <type>=<value>"));
    };
    if !t.is_ascii_lowercase() {
        return Err(Error::syntax(no, "the type must be one lower-case letter"));
    }
    let value = line.get(2..).unwrap_or("");
    let tc = char::from(t);

    // Ordering, RFC 8866 §9.
    match no {
        1 if t != b'v' => return Err(Error::syntax(no, "the first line must be v=")),
        2 if t != b'o' => return Err(Error::syntax(no, "the second line must be o=")),
        3 if t != b's' => return Err(Error::syntax(no, "the third line must be s=")),
        _ => {}
    }
    if t == b'm' {
        if !g.seen_t {
            return Err(Error::syntax(no, "m= line before any t= line"));
        }
        g.in_media = true;
        g.rank = 0;
    } else {
        let ranked = if g.in_media {
            media_rank(t)
        } else {
            session_rank(t)
        };
        let Some((rank, repeat)) = ranked else {
            let level = if g.in_media { "media" } else { "session" };
            return Err(Error::syntax(
                no,
                format!("{tc}= is not a known {level}-level line type"),
            ));
        };
        // `t` may follow `r` (each t= has its own r= lines).
        let t_after_r = !g.in_media && t == b't' && g.rank == 10;
        if (rank < g.rank && !t_after_r) || (rank == g.rank && !repeat && no > 1) {
            return Err(Error::syntax(
                no,
                format!("{tc}= line out of order or repeated (RFC 8866 §9 order: v o s i u e p c b t r z k a, then m i c b k a)"),
            ));
        }
        if !g.in_media && rank > 9 && rank < 13 && !g.seen_t {
            return Err(Error::syntax(no, format!("{tc}= line before any t= line")));
        }
        g.rank = rank;
    }

    let res = match t {
        b'v' => {
            if value == "0" {
                Ok(())
            } else {
                Err("only version 0 exists (v=0)".into())
            }
        }
        b'o' => Origin::parse(value).map(|_| ()),
        b's' | b'i' | b'u' | b'e' | b'p' => Ok(()),
        b'c' => Connection::parse(value).map(|_| ()),
        b'b' => Bandwidth::parse(value).map(|_| ()),
        b't' => {
            g.seen_t = true;
            Timing::parse(value).map(|_| ())
        }
        b'r' => check_repeat(value),
        b'z' => check_zone(value),
        b'k' => check_key(value),
        b'm' => MediaLine::parse(value).map(|_| ()),
        b'a' => {
            // Most lines of a WebRTC offer are one of four attributes: recognise them by
            // their prefix (a word compare) before searching for the name's end.
            if let Some((kind, v)) = hot_prefix(value) {
                if crate::attribute::quick_valid(kind, Some(v)) {
                    return Ok(kind);
                }
            }
            let (name, v) = split_attribute(value);
            let kind = Kind::of(name);
            if crate::attribute::quick_valid(kind, v) {
                return Ok(kind);
            }
            return match Attribute::parse_kind(kind, name, v) {
                Ok(_) => Ok(kind),
                // Lenient: keep the line; the name must still be a token (RFC 8866 §9). A
                // number out of its range is refused either way.
                Err(Problem::Syntax(_)) if !strict && crate::util::is_token(name) => {
                    Ok(Kind::Other)
                }
                Err(p) => Err(p.into_error(no, name)),
            };
        }
        _ => Ok(()),
    };
    res.map(|()| Kind::Other).map_err(|p| match p {
        Problem::Syntax(m) => Error::syntax(no, format!("{tc}= {m}")),
        Problem::Value(message) => Error::InvalidValue {
            line: no,
            field: format!("{tc}="),
            message,
        },
    })
}

/// The four most frequent attributes of a browser offer, by prefix.
#[inline]
fn hot_prefix(value: &str) -> Option<(Kind, &str)> {
    for (prefix, kind) in [
        ("rtcp-fb:", Kind::RtcpFb),
        ("rtpmap:", Kind::Rtpmap),
        ("fmtp:", Kind::Fmtp),
        ("extmap:", Kind::Extmap),
    ] {
        if let Some(v) = value.strip_prefix(prefix) {
            return Some((kind, v));
        }
    }
    None
}

/// Builds the error for a NUL or a CR not followed by LF (the rare, slow path).
#[cold]
fn stray_control(text: &str) -> Error {
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.bytes().any(|b| b == 0 || b == b'\r') {
            return Error::syntax(i + 1, "stray CR or NUL inside the line");
        }
    }
    Error::syntax(1, "stray CR or NUL")
}

impl SessionDescription {
    /// Parses with the default [`ParseOptions`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::parse_with(text, &ParseOptions::default())
    }

    /// Parses bytes, which must be UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8(e.valid_up_to()))?;
        Self::parse(text)
    }

    /// Parses with explicit limits and strictness.
    pub fn parse_with(text: &str, options: &ParseOptions) -> Result<Self, Error> {
        let limits = options;
        let max = limits.max_bytes.min(u32::MAX as usize);
        if text.len() > max {
            return Err(Error::TooLarge {
                len: text.len(),
                max,
            });
        }
        let mut lines = Vec::with_capacity(text.len() / 24 + 4);
        let mut media = Vec::new();
        let mut canonical = true;
        let mut g = Grammar {
            in_media: false,
            rank: 0,
            seen_t: false,
        };
        let bytes = text.as_bytes();
        // RFC 8866 §9: no NUL, and no CR except before LF, anywhere. Checked once for the
        // whole text (fast); the slow path below finds the line to blame.
        // Two SIMD scans (memchr): a scalar fold doing both measured 4 us slower.
        let crs = memchr::memchr_iter(b'\r', bytes).count();
        let mut crlf = 0usize;
        if memchr::memchr(0, bytes).is_some() {
            return Err(stray_control(text));
        }
        let mut pos = 0usize;
        let mut newlines = memchr::memchr_iter(b'\n', bytes);
        while pos < bytes.len() {
            let (end, next) = match newlines.next() {
                Some(i) => (i, i + 1),
                None => {
                    canonical = false;
                    (bytes.len(), bytes.len())
                }
            };
            let line_end = if next > end && end > pos && bytes.get(end - 1) == Some(&b'\r') {
                crlf += 1;
                end - 1
            } else {
                canonical = false;
                end
            };
            let no = lines.len() + 1;
            if no > limits.max_lines {
                return Err(Error::TooManyLines {
                    max: limits.max_lines,
                });
            }
            let line = text.get(pos..line_end).unwrap_or("");
            let kind = check_line(line, no, &mut g, limits.strict_attributes)?;
            if line.as_bytes().first() == Some(&b'm') {
                if media.len() >= limits.max_media {
                    return Err(Error::TooManyMedia {
                        max: limits.max_media,
                    });
                }
                media.push(lines.len() as u32);
            }
            // Both fit in u32: text.len() <= u32::MAX was checked above.
            lines.push(Span {
                start: pos as u32,
                end: line_end as u32,
                kind,
            });
            pos = next;
        }
        if crlf != crs {
            return Err(stray_control(text));
        }
        match lines.len() {
            0 => return Err(Error::Missing("v= line (the description is empty)")),
            1 => return Err(Error::Missing("o= line")),
            2 => return Err(Error::Missing("s= line")),
            _ => {}
        }
        if !g.seen_t {
            return Err(Error::Missing("t= line"));
        }
        Ok(SessionDescription {
            text: text.to_owned(),
            lines,
            media,
            canonical,
        })
    }

    /// Starts a [`SessionDescriptionBuilder`](crate::SessionDescriptionBuilder).
    pub fn builder<'a>() -> crate::SessionDescriptionBuilder<'a> {
        crate::SessionDescriptionBuilder::new()
    }

    #[inline]
    fn span(&self, s: Span) -> &str {
        self.text
            .get(s.start as usize..s.end as usize)
            .unwrap_or("")
    }

    /// All lines in order, without line endings.
    pub fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        self.lines.iter().map(move |&s| self.span(s))
    }

    /// Every line as a typed value, in order (see [`Line`](crate::Line)).
    pub fn typed_lines(&self) -> impl Iterator<Item = crate::Line<'_>> + '_ {
        self.lines
            .iter()
            .map(move |&s| crate::Line::from_checked(self.span(s), s.kind))
    }

    /// A builder holding this description's typed values, to modify and write again
    /// (every line is printed from its typed value).
    pub fn to_builder(&self) -> crate::SessionDescriptionBuilder<'_> {
        crate::SessionDescriptionBuilder::from_description(self)
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    fn session_spans(&self) -> &[Span] {
        let end = self.media.first().map_or(self.lines.len(), |&m| m as usize);
        self.lines.get(..end).unwrap_or(&[])
    }

    fn session(&self) -> Section<'_> {
        Section {
            sdp: self,
            spans: self.session_spans(),
        }
    }

    /// The `o=` line.
    pub fn origin(&self) -> Origin<'_> {
        self.session()
            .value(b'o')
            .and_then(|v| Origin::parse(v).ok())
            .unwrap_or(Origin {
                username: "",
                session_id: "",
                session_version: "",
                nettype: "",
                addrtype: "",
                unicast_address: "",
            })
    }

    /// The `s=` line.
    pub fn session_name(&self) -> &str {
        self.session().value(b's').unwrap_or("")
    }

    /// The session-level `i=` line.
    pub fn information(&self) -> Option<&str> {
        self.session().value(b'i')
    }

    /// The `u=` line.
    pub fn uri(&self) -> Option<&str> {
        self.session().value(b'u')
    }

    /// The `e=` lines.
    pub fn emails(&self) -> impl Iterator<Item = &str> + '_ {
        self.session().values(b'e')
    }

    /// The `p=` lines.
    pub fn phones(&self) -> impl Iterator<Item = &str> + '_ {
        self.session().values(b'p')
    }

    /// The session-level `c=` line.
    pub fn connection(&self) -> Option<Connection<'_>> {
        self.session()
            .value(b'c')
            .and_then(|v| Connection::parse(v).ok())
    }

    /// The session-level `b=` lines.
    pub fn bandwidths(&self) -> impl Iterator<Item = Bandwidth<'_>> + '_ {
        self.session()
            .values(b'b')
            .filter_map(|v| Bandwidth::parse(v).ok())
    }

    /// The `t=` lines.
    pub fn timings(&self) -> impl Iterator<Item = Timing> + '_ {
        self.session()
            .values(b't')
            .filter_map(|v| Timing::parse(v).ok())
    }

    /// The `r=` lines, as text.
    pub fn repeat_times(&self) -> impl Iterator<Item = &str> + '_ {
        self.session().values(b'r')
    }

    /// The `z=` line, as text.
    pub fn time_zones(&self) -> Option<&str> {
        self.session().value(b'z')
    }

    /// The session-level `k=` line, as text (obsolete, RFC 8866 §5.12).
    pub fn key(&self) -> Option<&str> {
        self.session().value(b'k')
    }

    /// Session-level attributes, typed, in order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> + '_ {
        self.session().attributes()
    }

    /// The first session-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'_>> {
        self.session().attribute(name)
    }

    /// The media sections in order.
    pub fn media(&self) -> impl ExactSizeIterator<Item = Media<'_>> + '_ {
        (0..self.media.len()).map(move |i| self.media_at(i))
    }

    /// The number of media sections.
    pub fn media_count(&self) -> usize {
        self.media.len()
    }

    fn media_at(&self, i: usize) -> Media<'_> {
        let start = self.media.get(i).map_or(self.lines.len(), |&m| m as usize);
        let end = self
            .media
            .get(i + 1)
            .map_or(self.lines.len(), |&m| m as usize);
        Media {
            sdp: self,
            index: i,
            section: Section {
                sdp: self,
                spans: self.lines.get(start..end).unwrap_or(&[]),
            },
        }
    }

    /// The media section with `a=mid:<mid>`.
    pub fn media_by_mid(&self, mid: &str) -> Option<Media<'_>> {
        self.media().find(|m| m.mid() == Some(mid))
    }

    /// The `a=group` attributes.
    pub fn groups(&self) -> impl Iterator<Item = Group<'_>> + '_ {
        self.attributes().filter_map(|a| match a {
            Attribute::Group(g) => Some(g),
            _ => None,
        })
    }

    /// The `a=group:BUNDLE` groups (RFC 9143).
    pub fn bundle_groups(&self) -> impl Iterator<Item = Group<'_>> + '_ {
        self.groups().filter(|g| g.semantics == "BUNDLE")
    }

    /// `a=ice-lite` at session level (RFC 8839 §5.3).
    pub fn ice_lite(&self) -> bool {
        self.session().has(|a| matches!(a, Attribute::IceLite))
    }

    /// `a=extmap-allow-mixed` at session level.
    pub fn extmap_allow_mixed(&self) -> bool {
        self.session()
            .has(|a| matches!(a, Attribute::ExtmapAllowMixed))
    }

    /// `a=msid-semantic`.
    pub fn msid_semantic(&self) -> Option<MsidSemantic<'_>> {
        self.attributes().find_map(|a| match a {
            Attribute::MsidSemantic(m) => Some(m),
            _ => None,
        })
    }

    /// Session-level ICE credentials.
    pub fn ice_credentials(&self) -> Option<IceCredentials<'_>> {
        self.session().ice_credentials()
    }

    /// Session-level `a=ice-options`, split into option tags.
    pub fn ice_options(&self) -> impl Iterator<Item = &str> + '_ {
        self.session().ice_options()
    }

    /// Session-level fingerprints.
    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint<'_>> + '_ {
        self.session().fingerprints()
    }

    /// Session-level `a=setup`.
    pub fn setup(&self) -> Option<Setup> {
        self.session().setup()
    }

    /// Session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.session().direction()
    }

    /// Number of bytes [`write_to`](Self::write_to) writes.
    pub fn encoded_len(&self) -> usize {
        if self.canonical {
            self.text.len()
        } else {
            self.lines
                .iter()
                .map(|s| (s.end - s.start) as usize + 2)
                .sum()
        }
    }

    /// Writes the description with CRLF line endings.
    pub fn write_to(&self, out: &mut impl BufMut) {
        if self.canonical {
            out.put_slice(self.text.as_bytes());
        } else {
            for l in self.lines() {
                out.put_slice(l.as_bytes());
                out.put_slice(b"\r\n");
            }
        }
    }
}

impl FromStr for SessionDescription {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SessionDescription::parse(s)
    }
}

/// Prints the description with CRLF line endings.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.canonical {
            f.write_str(&self.text)
        } else {
            for l in self.lines() {
                f.write_str(l)?;
                f.write_str("\r\n")?;
            }
            Ok(())
        }
    }
}

impl fmt::Debug for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.lines()).finish()
    }
}

/// Two descriptions are equal when they have the same lines (line endings aside).
impl PartialEq for SessionDescription {
    fn eq(&self, other: &Self) -> bool {
        self.lines.len() == other.lines.len() && self.lines().eq(other.lines())
    }
}

impl Eq for SessionDescription {}

/// ICE username fragment and password (RFC 8839 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IceCredentials<'a> {
    /// `a=ice-ufrag`.
    pub ufrag: &'a str,
    /// `a=ice-pwd`.
    pub pwd: &'a str,
}

/// A run of lines: the session part or one media section.
#[derive(Clone, Copy)]
struct Section<'a> {
    sdp: &'a SessionDescription,
    spans: &'a [Span],
}

impl<'a> Section<'a> {
    fn raw(&self) -> impl Iterator<Item = &'a str> + 'a {
        let sdp = self.sdp;
        self.spans.iter().map(move |&s| sdp.span(s))
    }

    fn values(&self, t: u8) -> impl Iterator<Item = &'a str> + 'a {
        self.raw().filter_map(move |l| {
            let b = l.as_bytes();
            if b.first() == Some(&t) && b.get(1) == Some(&b'=') {
                l.get(2..)
            } else {
                None
            }
        })
    }

    fn value(&self, t: u8) -> Option<&'a str> {
        self.values(t).next()
    }

    /// The `a=` lines as (text after `a=`, kind recorded at parse time).
    fn attribute_texts(&self) -> impl Iterator<Item = (&'a str, Kind)> + 'a {
        let sdp = self.sdp;
        self.spans.iter().filter_map(move |&s| {
            let l = sdp.span(s);
            let b = l.as_bytes();
            if b.first() == Some(&b'a') && b.get(1) == Some(&b'=') {
                Some((l.get(2..)?, s.kind))
            } else {
                None
            }
        })
    }

    fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + 'a {
        // Lines kept verbatim by lenient parsing were recorded as `Kind::Other`.
        self.attribute_texts()
            .map(|(text, kind)| Attribute::from_checked(kind, text))
    }

    /// Attributes called `name`, typed (cheaper than typing them all: the kind recorded
    /// at parse time is compared, not the name).
    fn named(&self, wanted: &'a str) -> impl Iterator<Item = Attribute<'a>> + 'a {
        let want = Kind::of(wanted);
        self.attribute_texts()
            .filter(move |&(text, kind)| {
                kind == want && (want != Kind::Other || split_attribute(text).0 == wanted)
            })
            .map(|(text, kind)| Attribute::from_checked(kind, text))
    }

    fn attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.attributes().find(|a| a.name() == name)
    }

    fn has(&self, f: impl Fn(&Attribute<'a>) -> bool) -> bool {
        self.attributes().any(|a| f(&a))
    }

    fn ice_credentials(&self) -> Option<IceCredentials<'a>> {
        let ufrag = self.named("ice-ufrag").find_map(|a| match a {
            Attribute::IceUfrag(u) => Some(u),
            _ => None,
        })?;
        let pwd = self.named("ice-pwd").find_map(|a| match a {
            Attribute::IcePwd(p) => Some(p),
            _ => None,
        })?;
        Some(IceCredentials { ufrag, pwd })
    }

    fn ice_options(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.named("ice-options")
            .filter_map(|a| match a {
                Attribute::IceOptions(o) => Some(o),
                _ => None,
            })
            .flat_map(|o| o.split(' ').filter(|s| !s.is_empty()))
    }

    fn fingerprints(&self) -> impl Iterator<Item = Fingerprint<'a>> + 'a {
        self.named("fingerprint").filter_map(|a| match a {
            Attribute::Fingerprint(f) => Some(f),
            _ => None,
        })
    }

    fn setup(&self) -> Option<Setup> {
        self.named("setup").find_map(|a| match a {
            Attribute::Setup(s) => Some(s),
            _ => None,
        })
    }

    fn direction(&self) -> Option<Direction> {
        self.attributes().find_map(|a| match a {
            Attribute::Direction(d) => Some(d),
            _ => None,
        })
    }
}

/// One codec of an RTP media section: its `rtpmap`, `fmtp` and `rtcp-fb` lines joined by
/// payload type.
#[derive(Debug, Clone, PartialEq)]
pub struct Codec<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// `a=rtpmap`, or for a static payload type without one, its RFC 3551 mapping
    /// ([`Rtpmap::static_payload_type`]); `None` for an unknown payload type without one.
    pub rtpmap: Option<Rtpmap<'a>>,
    /// `a=fmtp` for this payload type.
    pub fmtp: Option<Fmtp<'a>>,
    /// `a=rtcp-fb` for this payload type and for `*`, in order.
    pub rtcp_fb: Vec<RtcpFb<'a>>,
}

impl<'a> Codec<'a> {
    /// The encoding name (`opus`, `VP8`, …), if there is an rtpmap.
    pub fn name(&self) -> Option<&'a str> {
        self.rtpmap.map(|r| r.encoding_name)
    }

    /// The clock rate, if there is an rtpmap.
    pub fn clock_rate(&self) -> Option<u32> {
        self.rtpmap.map(|r| r.clock_rate)
    }

    /// The channel count, if given.
    pub fn channels(&self) -> Option<u16> {
        self.rtpmap.and_then(|r| r.channels)
    }

    /// The fmtp parameters in order (empty without fmtp).
    pub fn fmtp_params(&self) -> Vec<(&'a str, Option<&'a str>)> {
        self.fmtp.map(|f| f.params().collect()).unwrap_or_default()
    }
}

/// A view of one media section (`m=` line and what follows it).
#[derive(Clone, Copy)]
pub struct Media<'a> {
    sdp: &'a SessionDescription,
    index: usize,
    section: Section<'a>,
}

impl fmt::Debug for Media<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.lines()).finish()
    }
}

macro_rules! find_attr {
    ($self:ident, $name:literal, $pat:pat => $out:expr) => {
        $self.section.named($name).find_map(|a| match a {
            $pat => Some($out),
            _ => None,
        })
    };
}

macro_rules! all_attr {
    ($self:ident, $name:literal, $pat:pat => $out:expr) => {
        $self.section.named($name).filter_map(|a| match a {
            $pat => Some($out),
            _ => None,
        })
    };
}

impl<'a> Media<'a> {
    /// Position of this section among the description's media sections.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The section's lines, `m=` first, without line endings.
    pub fn lines(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.section.raw()
    }

    /// The `m=` line.
    pub fn media_line(&self) -> MediaLine<'a> {
        self.section
            .value(b'm')
            .and_then(|v| MediaLine::parse(v).ok())
            .unwrap_or(MediaLine {
                kind: MediaKind::Other(""),
                port: 0,
                num_ports: None,
                protocol: "",
                formats: "",
            })
    }

    /// audio, video, application, …
    pub fn kind(&self) -> MediaKind<'a> {
        self.media_line().kind
    }

    /// The m= line port.
    pub fn port(&self) -> u16 {
        self.media_line().port
    }

    /// The transport protocol (`UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, …).
    pub fn protocol(&self) -> &'a str {
        self.media_line().protocol
    }

    /// The formats of the m= line, in preference order.
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.media_line().formats()
    }

    /// A port of 0 without `a=bundle-only` rejects or disables the section (RFC 3264 §6,
    /// RFC 9143 §7.5).
    pub fn is_rejected(&self) -> bool {
        self.port() == 0 && !self.bundle_only()
    }

    /// The media-level `i=` line.
    pub fn information(&self) -> Option<&'a str> {
        self.section.value(b'i')
    }

    /// The connection: the media's first `c=` line, or else the session's.
    pub fn connection(&self) -> Option<Connection<'a>> {
        self.section
            .value(b'c')
            .and_then(|v| Connection::parse(v).ok())
            .or_else(|| self.sdp.connection())
    }

    /// The media-level `b=` lines.
    pub fn bandwidths(&self) -> impl Iterator<Item = Bandwidth<'a>> + 'a {
        self.section
            .values(b'b')
            .filter_map(|v| Bandwidth::parse(v).ok())
    }

    /// The value of the `b=<bwtype>:` line.
    pub fn bandwidth(&self, bwtype: &str) -> Option<u64> {
        self.bandwidths()
            .find(|b| b.bwtype == bwtype)
            .map(|b| b.bandwidth)
    }

    /// `b=AS` in kbit/s.
    pub fn bandwidth_as(&self) -> Option<u64> {
        self.bandwidth("AS")
    }

    /// `b=TIAS` in bit/s (RFC 3890).
    pub fn bandwidth_tias(&self) -> Option<u64> {
        self.bandwidth("TIAS")
    }

    /// The media-level `k=` line.
    pub fn key(&self) -> Option<&'a str> {
        self.section.value(b'k')
    }

    /// Media-level attributes, typed, in order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + 'a {
        self.section.attributes()
    }

    /// The first media-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.section.attribute(name)
    }

    /// `a=mid`.
    pub fn mid(&self) -> Option<&'a str> {
        find_attr!(self, "mid", Attribute::Mid(m) => m)
    }

    /// `a=msid` lines.
    pub fn msids(&self) -> impl Iterator<Item = Msid<'a>> + 'a {
        all_attr!(self, "msid", Attribute::Msid(m) => m)
    }

    /// The direction: the media's direction attribute, or the session's, or `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn direction(&self) -> Direction {
        self.section
            .direction()
            .or_else(|| self.sdp.direction())
            .unwrap_or_default()
    }

    /// `a=rtpmap` lines.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap<'a>> + 'a {
        all_attr!(self, "rtpmap", Attribute::Rtpmap(r) => r)
    }

    /// `a=fmtp` lines.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp<'a>> + 'a {
        all_attr!(self, "fmtp", Attribute::Fmtp(f) => f)
    }

    /// `a=rtcp-fb` lines.
    pub fn rtcp_fbs(&self) -> impl Iterator<Item = RtcpFb<'a>> + 'a {
        all_attr!(self, "rtcp-fb", Attribute::RtcpFb(f) => f)
    }

    /// The codecs of the m= line in preference order, each with its rtpmap, fmtp and
    /// rtcp-fb lines. Formats that are not payload types (e.g. `webrtc-datachannel`) are
    /// skipped.
    pub fn codecs(&self) -> Vec<Codec<'a>> {
        let mut rtpmaps = Vec::new();
        let mut fmtps = Vec::new();
        let mut fbs = Vec::new();
        for a in self.attributes() {
            match a {
                Attribute::Rtpmap(r) => rtpmaps.push(r),
                Attribute::Fmtp(f) => fmtps.push(f),
                Attribute::RtcpFb(f) => fbs.push(f),
                _ => {}
            }
        }
        self.formats()
            .filter_map(crate::attribute::parse_payload_type)
            .map(|pt| Codec {
                payload_type: pt,
                rtpmap: rtpmaps
                    .iter()
                    .find(|r| r.payload_type == pt)
                    .copied()
                    .or_else(|| Rtpmap::static_payload_type(pt)),
                fmtp: fmtps.iter().find(|f| f.payload_type() == Some(pt)).copied(),
                rtcp_fb: fbs
                    .iter()
                    .filter(|f| f.payload_type.is_none_or(|p| p == pt))
                    .copied()
                    .collect(),
            })
            .collect()
    }

    /// The codec with payload type `pt`, if the m= line lists it.
    pub fn codec(&self, pt: u8) -> Option<Codec<'a>> {
        self.codecs().into_iter().find(|c| c.payload_type == pt)
    }

    /// `a=extmap` lines of this section, then the session's (RFC 8285 allows both).
    pub fn extmaps(&self) -> impl Iterator<Item = Extmap<'a>> + 'a {
        let session = self.sdp.session();
        all_attr!(self, "extmap", Attribute::Extmap(e) => e).chain(
            session.named("extmap").filter_map(|a| match a {
                Attribute::Extmap(e) => Some(e),
                _ => None,
            }),
        )
    }

    /// `a=extmap-allow-mixed` in this section or at session level.
    pub fn extmap_allow_mixed(&self) -> bool {
        self.section
            .has(|a| matches!(a, Attribute::ExtmapAllowMixed))
            || self.sdp.extmap_allow_mixed()
    }

    /// `a=ssrc` lines.
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc<'a>> + 'a {
        all_attr!(self, "ssrc", Attribute::Ssrc(s) => s)
    }

    /// `a=ssrc-group` lines.
    pub fn ssrc_groups(&self) -> impl Iterator<Item = SsrcGroup<'a>> + 'a {
        all_attr!(self, "ssrc-group", Attribute::SsrcGroup(s) => s)
    }

    /// `a=rid` lines.
    pub fn rids(&self) -> impl Iterator<Item = Rid<'a>> + 'a {
        all_attr!(self, "rid", Attribute::Rid(r) => r)
    }

    /// `a=simulcast`.
    pub fn simulcast(&self) -> Option<Simulcast<'a>> {
        find_attr!(self, "simulcast", Attribute::Simulcast(s) => s)
    }

    /// `a=rtcp`.
    pub fn rtcp(&self) -> Option<Rtcp<'a>> {
        find_attr!(self, "rtcp", Attribute::Rtcp(r) => r)
    }

    /// `a=rtcp-mux`.
    pub fn rtcp_mux(&self) -> bool {
        self.section.values(b'a').any(|v| v == "rtcp-mux")
    }

    /// `a=rtcp-mux-only`.
    pub fn rtcp_mux_only(&self) -> bool {
        self.section.values(b'a').any(|v| v == "rtcp-mux-only")
    }

    /// `a=rtcp-rsize`.
    pub fn rtcp_rsize(&self) -> bool {
        self.section.values(b'a').any(|v| v == "rtcp-rsize")
    }

    /// `a=bundle-only`.
    pub fn bundle_only(&self) -> bool {
        self.section.values(b'a').any(|v| v == "bundle-only")
    }

    /// `a=end-of-candidates` in this section or at session level.
    pub fn end_of_candidates(&self) -> bool {
        self.section.values(b'a').any(|v| v == "end-of-candidates")
            || self
                .sdp
                .session()
                .values(b'a')
                .any(|v| v == "end-of-candidates")
    }

    /// ICE credentials: this section's, or else the session's (RFC 8839 §5.4).
    pub fn ice_credentials(&self) -> Option<IceCredentials<'a>> {
        self.section
            .ice_credentials()
            .or_else(|| self.sdp.session().ice_credentials())
    }

    /// `a=ice-options` tags of this section, or else the session's.
    pub fn ice_options(&self) -> Vec<&'a str> {
        let m: Vec<_> = self.section.ice_options().collect();
        if m.is_empty() {
            self.sdp.session().ice_options().collect()
        } else {
            m
        }
    }

    /// `a=candidate` values (without `candidate:`), as text.
    pub fn candidates(&self) -> impl Iterator<Item = &'a str> + 'a {
        all_attr!(self, "candidate", Attribute::Candidate(c) => c)
    }

    /// Fingerprints of this section, or else the session's (RFC 8842 §5.1).
    pub fn fingerprints(&self) -> Vec<Fingerprint<'a>> {
        let m: Vec<_> = self.section.fingerprints().collect();
        if m.is_empty() {
            self.sdp.session().fingerprints().collect()
        } else {
            m
        }
    }

    /// The first fingerprint of this section or else of the session.
    pub fn fingerprint(&self) -> Option<Fingerprint<'a>> {
        self.section
            .fingerprints()
            .next()
            .or_else(|| self.sdp.session().fingerprints().next())
    }

    /// `a=setup` of this section, or else the session's.
    pub fn setup(&self) -> Option<Setup> {
        self.section.setup().or_else(|| self.sdp.session().setup())
    }

    /// `a=tls-id` of this section, or else the session's.
    pub fn tls_id(&self) -> Option<&'a str> {
        find_attr!(self, "tls-id", Attribute::TlsId(t) => t).or_else(|| {
            self.sdp.session().named("tls-id").find_map(|a| match a {
                Attribute::TlsId(t) => Some(t),
                _ => None,
            })
        })
    }

    /// `a=sctp-port`.
    pub fn sctp_port(&self) -> Option<u16> {
        find_attr!(self, "sctp-port", Attribute::SctpPort(p) => p)
    }

    /// `a=max-message-size`.
    pub fn max_message_size(&self) -> Option<u64> {
        find_attr!(self, "max-message-size", Attribute::MaxMessageSize(p) => p)
    }

    /// `a=ptime` in ms.
    pub fn ptime(&self) -> Option<f64> {
        find_attr!(self, "ptime", Attribute::Ptime(p) => p)
    }

    /// `a=maxptime` in ms.
    pub fn maxptime(&self) -> Option<f64> {
        find_attr!(self, "maxptime", Attribute::MaxPtime(p) => p)
    }

    /// `a=framerate` in frames per second.
    pub fn framerate(&self) -> Option<f64> {
        find_attr!(self, "framerate", Attribute::Framerate(p) => p)
    }
}
