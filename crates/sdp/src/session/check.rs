//! The RFC 8866 §9 checks the parse runs on every line: the order of line types, each
//! value's grammar, and every attribute ferrtc types against its RFC.

use crate::attribute::{split_attribute, Attribute, Kind};
use crate::error::{Error, Problem};
use crate::fields::{check_key, check_repeat, check_zone, Bandwidth, Connection, MediaLine};
use crate::fields::{Origin, Timing};

/// Where the parser is in the RFC 8866 §9 grammar.
pub(super) struct Grammar {
    pub(super) in_media: bool,
    /// Rank of the last line seen in the current section (see `session_rank`/`media_rank`).
    pub(super) rank: u8,
    pub(super) seen_t: bool,
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

pub(super) fn check_line(
    line: &str,
    no: usize,
    g: &mut Grammar,
    strict: bool,
) -> Result<Kind, Error> {
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
pub(super) fn stray_control(text: &str) -> Error {
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.bytes().any(|b| b == 0 || b == b'\r') {
            return Error::syntax(i + 1, "stray CR or NUL inside the line");
        }
    }
    Error::syntax(1, "stray CR or NUL")
}
