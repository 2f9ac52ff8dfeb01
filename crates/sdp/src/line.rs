//! [`Line`]: one description line as a typed value.

use crate::attribute::{split_attribute, Attribute, Kind, Packed};
use crate::error::{Error, Problem};
use crate::fields::{check_key, check_repeat, check_zone};
use crate::fields::{Bandwidth, Connection, MediaLine, Origin, Timing};
use crate::writer;

/// One line of a description, typed (RFC 8866 §5). Lines whose value ferrtc keeps as text
/// (`s= i= u= e= p= r= z= k=`) carry the text.
///
/// [`SessionDescription::typed_lines`](crate::SessionDescription::typed_lines) yields one per
/// line; [`write_to`](Line::write_to) prints one.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Line<'a> {
    /// `v=0`.
    Version,
    /// `o=`.
    Origin(Origin<'a>),
    /// `s=`.
    SessionName(&'a str),
    /// `i=` (session or media level).
    Information(&'a str),
    /// `u=`.
    Uri(&'a str),
    /// `e=`.
    Email(&'a str),
    /// `p=`.
    Phone(&'a str),
    /// `c=`.
    Connection(Connection<'a>),
    /// `b=`.
    Bandwidth(Bandwidth<'a>),
    /// `t=`.
    Timing(Timing),
    /// `r=`, as text.
    Repeat(&'a str),
    /// `z=`, as text.
    TimeZones(&'a str),
    /// `k=`, as text.
    Key(&'a str),
    /// `m=`.
    Media(MediaLine<'a>),
    /// `a=`.
    Attribute(Attribute<'a>),
}

impl<'a> Line<'a> {
    /// Types a line that the description parser has already checked. Never fails: an
    /// attribute that does not type (kept by lenient parsing) is [`Attribute::Other`]; an
    /// `o= c= b= t= m=` value that does not read, which the parser's checks rule out, would
    /// come back as [`Line::Information`] with its text.
    // Always inlined into the iterators: returning this ~100-byte value through a call
    // made the caller copy it again (perf: store-forwarding stalls on the copy).
    #[inline(always)]
    pub(crate) fn from_checked(line: &'a str, kind: Kind, packed: Option<Packed>) -> Line<'a> {
        let b = line.as_bytes();
        let value = line.get(2..).unwrap_or("");
        match b.first().copied().unwrap_or(0) {
            b'a' => Line::Attribute(Attribute::from_line(kind, packed, line)),
            b'o' => Origin::from_checked(value).map_or(Line::Information(value), Line::Origin),
            b's' => Line::SessionName(value),
            b'i' => Line::Information(value),
            b'u' => Line::Uri(value),
            b'e' => Line::Email(value),
            b'p' => Line::Phone(value),
            b'c' => {
                Connection::from_checked(value).map_or(Line::Information(value), Line::Connection)
            }
            b'b' => Bandwidth::parse(value).map_or(Line::Information(value), Line::Bandwidth),
            b't' => Timing::parse(value).map_or(Line::Information(value), Line::Timing),
            b'r' => Line::Repeat(value),
            b'z' => Line::TimeZones(value),
            b'k' => Line::Key(value),
            b'm' => MediaLine::from_checked(value).map_or(Line::Information(value), Line::Media),
            _ => Line::Version,
        }
    }

    /// The line type letter.
    pub fn letter(&self) -> char {
        match self {
            Line::Version => 'v',
            Line::Origin(_) => 'o',
            Line::SessionName(_) => 's',
            Line::Information(_) => 'i',
            Line::Uri(_) => 'u',
            Line::Email(_) => 'e',
            Line::Phone(_) => 'p',
            Line::Connection(_) => 'c',
            Line::Bandwidth(_) => 'b',
            Line::Timing(_) => 't',
            Line::Repeat(_) => 'r',
            Line::TimeZones(_) => 'z',
            Line::Key(_) => 'k',
            Line::Media(_) => 'm',
            Line::Attribute(_) => 'a',
        }
    }

    /// Appends the line, `<type>=<value>` and CRLF, formatted from the typed value.
    pub fn write_to(&self, s: &mut String) {
        let letter = match self {
            Line::Version => {
                s.push_str("v=0\r\n");
                return;
            }
            l => l.letter(),
        };
        s.push(letter);
        s.push('=');
        match self {
            Line::Version => {}
            Line::Origin(o) => writer::origin(s, o),
            Line::SessionName(v)
            | Line::Information(v)
            | Line::Uri(v)
            | Line::Email(v)
            | Line::Phone(v)
            | Line::Repeat(v)
            | Line::TimeZones(v)
            | Line::Key(v) => s.push_str(v),
            Line::Connection(c) => writer::connection(s, c),
            Line::Bandwidth(b) => writer::bandwidth(s, b),
            Line::Timing(t) => writer::timing(s, t),
            Line::Media(m) => writer::media_line(s, m),
            Line::Attribute(a) => writer::attribute(s, a),
        }
        s.push_str("\r\n");
    }

    /// An upper bound of the bytes [`write_to`](Self::write_to) appends.
    pub fn encoded_len_hint(&self) -> usize {
        4 + match self {
            Line::Version => 1,
            Line::Origin(o) => {
                o.username.len()
                    + o.session_id.len()
                    + o.session_version.len()
                    + o.nettype.len()
                    + o.addrtype.len()
                    + o.unicast_address.len()
                    + 5
            }
            Line::SessionName(v)
            | Line::Information(v)
            | Line::Uri(v)
            | Line::Email(v)
            | Line::Phone(v)
            | Line::Repeat(v)
            | Line::TimeZones(v)
            | Line::Key(v) => v.len(),
            Line::Connection(c) => c.nettype.len() + c.addrtype.len() + c.address.len() + 2,
            Line::Bandwidth(b) => b.bwtype.len() + 21,
            Line::Timing(_) => 41,
            Line::Media(m) => m.kind.as_str().len() + m.protocol.len() + m.formats.len() + 16,
            Line::Attribute(a) => writer::attribute_len(a),
        }
    }
}

type VResult<T> = Result<T, Problem>;

impl<'a> Line<'a> {
    /// Parses and types one line alone (`<type>=<value>`, without its line ending), with
    /// the checks a description applies to it; errors name line 1. The order of lines is
    /// not checked (that needs the whole description).
    pub fn parse(line: &'a str) -> Result<Line<'a>, Error> {
        parse_line_with(line)
    }
}

/// [`Line::parse`]: the nom grammar of grammar.rs for the typed values.
fn parse_line_with<'a>(line: &'a str) -> Result<Line<'a>, Error> {
    let b = line.as_bytes();
    let (Some(&t), Some(&b'=')) = (b.first(), b.get(1)) else {
        return Err(Error::syntax(1, "expected <type>=<value>"));
    };
    let value = line.get(2..).unwrap_or("");
    let tc = char::from(t);
    let res: VResult<Line<'a>> = match t {
        b'v' if value == "0" => Ok(Line::Version),
        b'v' => Err("only version 0 exists (v=0)".into()),
        b'o' => crate::grammar::origin(value).map(Line::Origin),
        b's' => Ok(Line::SessionName(value)),
        b'i' => Ok(Line::Information(value)),
        b'u' => Ok(Line::Uri(value)),
        b'e' => Ok(Line::Email(value)),
        b'p' => Ok(Line::Phone(value)),
        b'c' => crate::grammar::connection(value).map(Line::Connection),
        b'b' => crate::grammar::bandwidth(value).map(Line::Bandwidth),
        b't' => crate::grammar::timing(value).map(Line::Timing),
        b'r' => check_repeat(value).map(|()| Line::Repeat(value)),
        b'z' => check_zone(value).map(|()| Line::TimeZones(value)),
        b'k' => check_key(value).map(|()| Line::Key(value)),
        b'm' => crate::grammar::media_line(value).map(Line::Media),
        b'a' => {
            let (name, v) = split_attribute(value);
            return crate::grammar::parse_kind(Kind::of(name), name, v)
                .map(Line::Attribute)
                .map_err(|e| e.into_error(1, name));
        }
        _ => return Err(Error::syntax(1, format!("{tc}= is not a known line type"))),
    };
    res.map_err(|e| match e {
        Problem::Syntax(m) => Error::syntax(1, format!("{tc}= {m}")),
        Problem::Value(message) => Error::InvalidValue {
            line: 1,
            field: format!("{tc}="),
            message,
        },
    })
}
