//! [`SessionDescription`]: the parsed text plus line spans, with typed views on demand.
//!
//! Design: parsing copies the input once, records where each line starts and ends, and
//! checks every line against the RFC 8866 grammar (and every attribute ferrtc types
//! against its RFC). It allocates nothing per line. Accessors re-read the checked text
//! into borrowed typed views, which costs a few nanoseconds per attribute and means a
//! parsed description always prints back exactly what was received (with CRLF endings):
//! unknown attributes, odd spacing and attribute order all survive.
//!
//! Parts: `check` (the line-by-line RFC 8866 §9 grammar and order checks the parse runs),
//! `section` (a run of lines, the session part or one media section, and the attribute
//! lookups on it), `media` ([`Media`] and [`Codec`], the typed accessors of one media
//! section); this file holds the description itself, its parse loop and the session-level
//! accessors.

mod check;
mod media;
mod section;

use std::fmt;
use std::str::FromStr;

use bytes::BufMut;

use crate::attribute::{
    Attribute, Direction, Fingerprint, Group, Kind, MsidSemantic, Packed, Setup,
};
use crate::error::Error;
use crate::fields::{Bandwidth, Connection, Origin, Timing};

use check::{check_line, stray_control, Grammar};
pub use media::{Codec, Media};
pub use section::IceCredentials;
use section::Section;

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
    /// Where the attribute's fields are, as the check found them: typed views are built
    /// from this without reading the line again (`None`: parse the value again).
    packed: Option<Packed>,
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
            let (kind, packed) = check_line(line, no, &mut g, limits.strict_attributes)?;
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
                packed,
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
            .map(move |&s| crate::Line::from_checked(self.span(s), s.kind, s.packed))
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
