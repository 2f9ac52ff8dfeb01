//! The RFC 8866 §9 checks the parse runs on every line: the order of line types, each
//! value's grammar, and every attribute ferrtc types against its RFC.

use crate::attribute::{check_hot, split_attribute, Attribute, Kind, Packed};
use crate::error::{Error, Problem};
use crate::fields::{check_key, check_repeat, check_zone, Bandwidth, Connection, MediaLine};
use crate::fields::{Origin, Timing};

/// Where the parser is in the RFC 8866 §9 grammar.
pub(super) struct Grammar {
    pub(super) in_media: bool,
    /// Rank of the last line seen in the current section (see `SESSION_RANKS`, `MEDIA_RANKS`).
    pub(super) rank: u8,
    pub(super) seen_t: bool,
}

/// The order of line types (RFC 8866 §9) as a table by letter: the rank of each type that
/// may appear at that level, with `REPEATS` set when it may repeat; `NONE` otherwise.
type Ranks = [u8; 26];
const NONE: u8 = 0xFF;
const REPEATS: u8 = 0x80;

// Indexing in a const initializer cannot panic at run time: out of range fails the build.
#[allow(clippy::indexing_slicing)]
const fn ranks(order: &[u8], repeat: &[u8]) -> Ranks {
    let mut t = [NONE; 26];
    let mut i = 0;
    while i < order.len() {
        let c = order[i];
        let mut r = i as u8;
        let mut j = 0;
        while j < repeat.len() {
            if repeat[j] == c {
                r |= REPEATS;
            }
            j += 1;
        }
        t[(c - b'a') as usize] = r;
        i += 1;
    }
    t
}

/// Session level: v o s i u e p c b t r z k a (then m).
static SESSION_RANKS: Ranks = ranks(b"vosiuepcbtrzka", b"epbtra");
/// Media level: m i c b k a.
static MEDIA_RANKS: Ranks = ranks(b"micbka", b"cba");

/// (rank, may repeat) of a lower-case line type at this level.
#[inline]
fn rank(ranks: &Ranks, t: u8) -> Option<(u8, bool)> {
    let r = *ranks.get(usize::from(t.wrapping_sub(b'a')))?;
    (r != NONE).then_some((r & !REPEATS, r & REPEATS != 0))
}

/// Checks one line (`no` counts from 1) and says what an `a=` line was typed as, with where
/// its fields are when they were recorded (see [`Packed`]).
// Always inlined into the parse loop (its one caller), also in builds without LTO: returned
// through memory, the (kind, record) pair was read back with wider loads than it was
// written with, a store-forwarding stall on every line (perf: ~25 % of the plain-profile
// parse).
// Long on purpose: the per-line checks of RFC 8866 §9's grammar for every line type in one
// pass (what may follow what, and each line's fields), inlined for the reason above.
#[inline(always)]
pub(super) fn check_line(
    line: &str,
    no: usize,
    g: &mut Grammar,
    strict: bool,
) -> Result<(Kind, Option<Packed>), Error> {
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
        let ranked = rank(
            if g.in_media {
                &MEDIA_RANKS
            } else {
                &SESSION_RANKS
            },
            t,
        );
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
            // One scan checks the value and records where its fields are.
            let (kind, name, v) = match hot_prefix(value) {
                Some((kind, v)) => (kind, kind.name(), Some(v)),
                None => {
                    let (name, v) = split_attribute(value);
                    (Kind::of(name), name, v)
                }
            };
            if let Some(v) = v {
                if let Some(p) = check_hot(kind, line, line.len().saturating_sub(v.len())) {
                    return Ok((kind, Some(p)));
                }
            }
            return match Attribute::parse_kind(kind, name, v) {
                Ok(a) => Ok((kind, Packed::of(line, &a))),
                // Lenient: keep the line; the name must still be a token (RFC 8866 §9). A
                // number out of its range is refused either way.
                Err(Problem::Syntax(_)) if !strict && crate::util::is_token(name) => {
                    Ok((Kind::Other, None))
                }
                Err(p) => Err(p.into_error(no, name)),
            };
        }
        _ => Ok(()),
    };
    res.map(|()| (Kind::Other, None)).map_err(|p| match p {
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
