//! The hot path, one pass per line: while the description is checked, each attribute value
//! is checked and the place of its fields recorded in the same scan ([`check_hot`] for the
//! frequent kinds, [`Packed::of`] for a value the full parse typed); typed views rebuild
//! the value from that record ([`Packed::unpack`]) without reading the line again.

use super::{
    split_attribute, Attribute, Direction, Extmap, Fingerprint, Fmtp, Group, Kind, Msid,
    MsidSemantic, RtcpFb, Rtpmap, Setup, Ssrc, SsrcGroup,
};
use crate::util::{is_non_ws, is_token_char};

/// `x` of an rtcp-fb line for `*` (all formats).
const STAR: u16 = u16::MAX;

/// Where the fields of a typed attribute are in its line (byte offsets from the start of
/// the line, `a=` included) and the numbers already read, as the description's check found
/// them. Which slot holds what depends on the [`Kind`]; [`unpack`](Self::unpack) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Packed {
    /// Start and end of the first text field (encoding name, feedback type, URI, …).
    a: u16,
    b: u16,
    /// Start of a text field that runs to the end of the line, or a small number.
    c: u16,
    /// Payload type (`STAR` for `*`), extmap id, SCTP port, DTLS role.
    x: u16,
    /// Clock rate, SSRC, max-message-size.
    n: u32,
}

/// 1 to 19 digits from `i` (19 cannot overflow a `u64`; longer runs go to the full parse):
/// the value and the index after them.
#[inline(always)]
fn digits(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        j += 1;
    }
    (j > i && j - i <= 19).then_some((v, j))
}

/// 1 to 3 digits from `i`, at most 127 (a payload type), then a space: the value and the
/// index after the space.
#[inline(always)]
fn pt_sp(b: &[u8], i: usize) -> Option<(u16, usize)> {
    let mut v: u16 = 0;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        // At most three digits: v <= 999, no overflow.
        if j >= i + 3 {
            return None;
        }
        v = v * 10 + u16::from(d);
        j += 1;
    }
    (j > i && v <= 127 && b.get(j) == Some(&b' ')).then_some((v, j + 1))
}

/// The index of the first byte from `i` that is not a token character (RFC 8866 §9).
#[inline(always)]
fn token_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while b.get(j).is_some_and(|&c| is_token_char(c)) {
        j += 1;
    }
    j
}

fn direction_code(d: Option<Direction>) -> u16 {
    match d {
        None => 0,
        Some(Direction::SendRecv) => 1,
        Some(Direction::SendOnly) => 2,
        Some(Direction::RecvOnly) => 3,
        Some(Direction::Inactive) => 4,
    }
}

#[inline(always)]
fn direction_of(c: u16) -> Option<Direction> {
    match c {
        1 => Some(Direction::SendRecv),
        2 => Some(Direction::SendOnly),
        3 => Some(Direction::RecvOnly),
        4 => Some(Direction::Inactive),
        _ => None,
    }
}

/// Checks the value of a frequent attribute, which starts at byte `at` of `line` (after
/// `name:`), and records its fields in the same scan. `Some` only when
/// [`Attribute::parse_kind`] accepts the value, and then [`Packed::unpack`] gives the same
/// attribute; `None` sends the line through the full parse, which also builds the error.
// Always inlined into the description's check (its one caller): returned through memory,
// the record was read back with wider loads than it was written with (a store-forwarding
// stall per line in perf).
// Long on purpose: one arm per attribute kind on the hot path, each checking and recording
// its value in place; inlined for the reason above.
#[inline(always)]
pub(crate) fn check_hot(kind: Kind, line: &str, at: usize) -> Option<Packed> {
    let b = line.as_bytes();
    // Offsets are 16-bit; every index below is at most `b.len()`, so `as u16` is exact.
    if b.len() > usize::from(u16::MAX) {
        return None;
    }
    let p = |a: usize, e: usize, c: usize, x: u16, n: u32| Packed {
        a: a as u16,
        b: e as u16,
        c: c as u16,
        x,
        n,
    };
    match kind {
        // RFC 4585 §4.2: `<pt>|* SP <type> [SP <param>]`.
        Kind::RtcpFb => {
            let (x, i) = if b.get(at) == Some(&b'*') && b.get(at + 1) == Some(&b' ') {
                (STAR, at + 2)
            } else {
                pt_sp(b, at)?
            };
            let e = token_end(b, i);
            (e > i && matches!(b.get(e), None | Some(b' '))).then(|| p(i, e, 0, x, 0))
        }
        // RFC 8866 §6.6: `<pt> SP <encoding name>/<clock rate>[/<channels>]`.
        Kind::Rtpmap => {
            let (x, i) = pt_sp(b, at)?;
            let e = token_end(b, i);
            if e == i || b.get(e) != Some(&b'/') {
                return None;
            }
            let (clock, j) = digits(b, e + 1)?;
            let clock = u32::try_from(clock).ok().filter(|&c| c != 0)?;
            let channels = match b.get(j) {
                None => 0,
                Some(b'/') => {
                    let (ch, k) = digits(b, j + 1)?;
                    if k != b.len() {
                        return None;
                    }
                    u16::try_from(ch).ok().filter(|&c| c != 0)?
                }
                Some(_) => return None,
            };
            Some(Packed {
                a: i as u16,
                b: e as u16,
                c: channels,
                x,
                n: clock,
            })
        }
        // RFC 8866 §6.15: `<format> [SP <parameters>]`.
        Kind::Fmtp => {
            let e = token_end(b, at);
            let c = match b.get(e) {
                None => e,
                Some(b' ') => e + 1,
                Some(_) => return None,
            };
            (e > at).then(|| p(at, e, c, 0, 0))
        }
        // RFC 8285 §8: `<id>[/<direction>] SP <uri> [SP <attributes>]`.
        Kind::Extmap => {
            let (id, i) = digits(b, at)?;
            let (dir, j) = match b.get(i) {
                Some(b'/') => {
                    let mut e = i + 1;
                    while b.get(e).is_some_and(|&c| c != b' ') {
                        e += 1;
                    }
                    let d = Direction::from_name(line.get(i + 1..e)?)?;
                    (direction_code(Some(d)), e)
                }
                _ => (0, i),
            };
            // RFC 8285 §5, §6, §7: 1-256, or 4096-4351 in an offer.
            let id = u16::try_from(id)
                .ok()
                .filter(|id| (1..=256).contains(id) || (4096..=4351).contains(id))?;
            if b.get(j) != Some(&b' ') {
                return None;
            }
            let u = j + 1;
            let e = match memchr::memchr(b' ', b.get(u..)?) {
                Some(k) => u + k,
                None => b.len(),
            };
            let uri = b.get(u..e)?;
            (e > u
                && uri
                    .iter()
                    .fold(true, |ok, &c| ok & (c > 0x20) & (c != 0x7F)))
            .then(|| p(u, e, usize::from(dir), id, 0))
        }
        // RFC 5576 §4.1: `<ssrc> SP <attribute>[:<value>]`.
        Kind::Ssrc => {
            let (ssrc, i) = digits(b, at)?;
            let n = u32::try_from(ssrc).ok()?;
            if b.get(i) != Some(&b' ') {
                return None;
            }
            let e = token_end(b, i + 1);
            (e > i + 1 && matches!(b.get(e), None | Some(b':'))).then(|| p(i + 1, e, 0, 0, n))
        }
        // The whole value, not empty.
        Kind::Candidate | Kind::Mid | Kind::IceOptions => (at < b.len()).then(|| p(at, 0, 0, 0, 0)),
        // The whole value, one word.
        Kind::IceUfrag | Kind::IcePwd | Kind::TlsId => {
            is_non_ws(line.get(at..)?).then(|| p(at, 0, 0, 0, 0))
        }
        _ => None,
    }
}

impl Packed {
    /// Records `attr`, typed from `line` by the full parse (its text fields are slices of
    /// `line`), for [`unpack`](Self::unpack). `None` for the kinds not recorded (rare ones:
    /// rid, simulcast, rtcp, ptime, …) and for a field that is not a slice of `line`.
    pub(crate) fn of(line: &str, attr: &Attribute<'_>) -> Option<Packed> {
        let len = line.len();
        if len > usize::from(u16::MAX) {
            return None;
        }
        let base = line.as_ptr() as usize;
        // Where `s` is in `line` (offsets fit in 16 bits: `len` does).
        let span = |s: &str| -> Option<(u16, u16)> {
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(s.len())?;
            (end <= len).then_some((start as u16, end as u16))
        };
        // The start of a field that runs to the end of the line (`""`: the end).
        let tail = |s: &str| -> Option<u16> {
            if s.is_empty() {
                return Some(len as u16);
            }
            let (a, e) = span(s)?;
            (usize::from(e) == len).then_some(a)
        };
        let text = |s: &str, c: u16, x: u16, n: u32| -> Option<Packed> {
            let (a, b) = span(s)?;
            Some(Packed { a, b, c, x, n })
        };
        let whole = |s: &str| -> Option<Packed> {
            Some(Packed {
                a: tail(s)?,
                ..Packed::default()
            })
        };
        match *attr {
            Attribute::RtcpFb(r) => text(r.feedback, 0, r.payload_type.map_or(STAR, u16::from), 0),
            Attribute::Rtpmap(r) => text(
                r.encoding_name,
                r.channels.unwrap_or(0),
                u16::from(r.payload_type),
                r.clock_rate,
            ),
            Attribute::Fmtp(f) => text(f.format, tail(f.params)?, 0, 0),
            Attribute::Extmap(e) => text(e.uri, direction_code(e.direction), e.id, 0),
            Attribute::Ssrc(s) => text(s.attribute, 0, 0, s.ssrc),
            Attribute::Candidate(v)
            | Attribute::Mid(v)
            | Attribute::IceUfrag(v)
            | Attribute::IcePwd(v)
            | Attribute::IceOptions(v)
            | Attribute::TlsId(v) => whole(v),
            Attribute::Fingerprint(f) => text(f.algorithm, 0, 0, 0),
            Attribute::Msid(m) => text(m.stream_id, 0, 0, 0),
            Attribute::Group(g) => text(g.semantics, tail(g.mids)?, 0, 0),
            Attribute::MsidSemantic(m) => text(m.semantic, tail(m.ids)?, 0, 0),
            Attribute::SsrcGroup(g) => text(g.semantics, tail(g.ssrcs)?, 0, 0),
            Attribute::Other { name, .. } => text(name, 0, 0, 0),
            Attribute::Setup(s) => Some(Packed {
                x: match s {
                    Setup::Active => 0,
                    Setup::Passive => 1,
                    Setup::ActPass => 2,
                    Setup::HoldConn => 3,
                },
                ..Packed::default()
            }),
            Attribute::SctpPort(port) => Some(Packed {
                x: port,
                ..Packed::default()
            }),
            Attribute::MaxMessageSize(m) => Some(Packed {
                n: u32::try_from(m).ok()?,
                ..Packed::default()
            }),
            // Not recorded: parsed again when typed (rare lines).
            Attribute::Rid(_)
            | Attribute::Simulcast(_)
            | Attribute::Rtcp(_)
            | Attribute::Ptime(_)
            | Attribute::MaxPtime(_)
            | Attribute::Framerate(_) => None,
            // The rest carry no value (flags, directions): the kind says it all.
            _ => Some(Packed::default()),
        }
    }

    /// The attribute of kind `kind` recorded from `line` (see [`check_hot`] and
    /// [`of`](Self::of)); a kind that is not recorded is parsed again.
    // Always inlined, and no `Option<Attribute>` in between: each arm writes the value where
    // the caller wants it (perf: the copy out of an intermediate was read back with wider
    // loads than it was written with, a store-forwarding stall per line).
    // Long on purpose: one arm per recorded attribute kind, the inverse of `check_hot`'s
    // arms; inlined for the reason above.
    #[inline(always)]
    pub(crate) fn unpack(self, kind: Kind, line: &str) -> Attribute<'_> {
        // Not recorded (or a record that does not fit the line, which cannot happen).
        let again = || Attribute::from_checked(kind, line.get(2..).unwrap_or(""));
        macro_rules! or_again {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return again(),
                }
            };
        }
        let (a, b, c) = (
            usize::from(self.a),
            usize::from(self.b),
            usize::from(self.c),
        );
        // The first text field.
        let first = || line.get(a..b);
        // What follows the first text field and its separator, if anything does (the
        // separator is there exactly when the field ends before the line).
        let after = || line.get(b + 1..);
        match kind {
            Kind::RtcpFb => Attribute::RtcpFb(RtcpFb {
                payload_type: u8::try_from(self.x).ok(),
                feedback: or_again!(first()),
                param: after(),
            }),
            Kind::Rtpmap => Attribute::Rtpmap(Rtpmap {
                payload_type: or_again!(u8::try_from(self.x).ok()),
                encoding_name: or_again!(first()),
                clock_rate: self.n,
                channels: (self.c != 0).then_some(self.c),
            }),
            Kind::Fmtp => Attribute::Fmtp(Fmtp {
                format: or_again!(first()),
                params: or_again!(line.get(c..)),
            }),
            Kind::Extmap => Attribute::Extmap(Extmap {
                id: self.x,
                direction: direction_of(self.c),
                uri: or_again!(first()),
                attributes: after(),
            }),
            Kind::Ssrc => Attribute::Ssrc(Ssrc {
                ssrc: self.n,
                attribute: or_again!(first()),
                value: after(),
            }),
            Kind::Candidate => Attribute::Candidate(or_again!(line.get(a..))),
            Kind::Mid => Attribute::Mid(or_again!(line.get(a..))),
            Kind::IceUfrag => Attribute::IceUfrag(or_again!(line.get(a..))),
            Kind::IcePwd => Attribute::IcePwd(or_again!(line.get(a..))),
            Kind::IceOptions => Attribute::IceOptions(or_again!(line.get(a..))),
            Kind::TlsId => Attribute::TlsId(or_again!(line.get(a..))),
            Kind::Fingerprint => Attribute::Fingerprint(Fingerprint {
                algorithm: or_again!(first()),
                value: or_again!(after()),
            }),
            Kind::Msid => Attribute::Msid(Msid {
                stream_id: or_again!(first()),
                track_id: after(),
            }),
            Kind::Group => Attribute::Group(Group {
                semantics: or_again!(first()),
                mids: or_again!(line.get(c..)),
            }),
            Kind::MsidSemantic => Attribute::MsidSemantic(MsidSemantic {
                semantic: or_again!(first()),
                ids: or_again!(line.get(c..)),
            }),
            Kind::SsrcGroup => Attribute::SsrcGroup(SsrcGroup {
                semantics: or_again!(first()),
                ssrcs: or_again!(line.get(c..)),
            }),
            Kind::Setup => Attribute::Setup(match self.x {
                0 => Setup::Active,
                1 => Setup::Passive,
                2 => Setup::ActPass,
                _ => Setup::HoldConn,
            }),
            Kind::SctpPort => Attribute::SctpPort(self.x),
            Kind::MaxMessageSize => Attribute::MaxMessageSize(u64::from(self.n)),
            Kind::ExtmapAllowMixed => Attribute::ExtmapAllowMixed,
            Kind::RtcpMux => Attribute::RtcpMux,
            Kind::RtcpMuxOnly => Attribute::RtcpMuxOnly,
            Kind::RtcpRsize => Attribute::RtcpRsize,
            Kind::IceLite => Attribute::IceLite,
            Kind::EndOfCandidates => Attribute::EndOfCandidates,
            Kind::BundleOnly => Attribute::BundleOnly,
            Kind::SendRecv => Attribute::Direction(Direction::SendRecv),
            Kind::SendOnly => Attribute::Direction(Direction::SendOnly),
            Kind::RecvOnly => Attribute::Direction(Direction::RecvOnly),
            Kind::Inactive => Attribute::Direction(Direction::Inactive),
            Kind::Other => Attribute::Other {
                name: or_again!(first()),
                value: after(),
            },
            Kind::Rid
            | Kind::Simulcast
            | Kind::Rtcp
            | Kind::Ptime
            | Kind::MaxPtime
            | Kind::Framerate => again(),
        }
    }
}

impl<'a> Attribute<'a> {
    /// Types an attribute line that the description parser has accepted as `kind`,
    /// from what it recorded (`packed`) or, for the kinds it does not record, by parsing
    /// the value again. Anything that does not type (a line kept verbatim by lenient
    /// parsing) is `Other`.
    // Always inlined: returned through a call, the value was copied again by the caller.
    #[inline(always)]
    pub(crate) fn from_line(kind: Kind, packed: Option<Packed>, line: &'a str) -> Self {
        match packed {
            Some(p) => p.unpack(kind, line),
            None => Self::from_checked(kind, line.get(2..).unwrap_or("")),
        }
    }

    /// Types the text after `a=` of a line the description parser has accepted as `kind`
    /// (a kind other than `Other` is recorded only for a line whose name is exactly
    /// `kind.name()`, so the name is not searched for again).
    pub(crate) fn from_checked(kind: Kind, text: &'a str) -> Self {
        let known = kind.name();
        let (name, value) = match text.get(known.len()..) {
            Some(rest) if kind != Kind::Other => match rest.as_bytes().first() {
                None => (known, None),
                Some(b':') => (known, rest.get(1..)),
                Some(_) => split_attribute(text),
            },
            _ => split_attribute(text),
        };
        match Self::parse_kind(kind, name, value) {
            Ok(a) => a,
            Err(_) => Attribute::Other { name, value },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 18] = [
        "rtcp-fb",
        "rtpmap",
        "fmtp",
        "extmap",
        "ssrc",
        "ice-ufrag",
        "candidate",
        "fingerprint",
        "mid",
        "msid",
        "group",
        "msid-semantic",
        "ssrc-group",
        "setup",
        "sctp-port",
        "max-message-size",
        "rtcp-mux",
        "x-other",
    ];

    /// What the parse records for `a=<name>:<v>` and what the typed views then give, beside
    /// the full parse of the value alone: the one-scan check accepts only what the full
    /// parse accepts, and every record gives back the full parse's attribute.
    fn agree(name: &str, v: &str) -> Result<(), String> {
        let kind = Kind::of(name);
        let line = format!("a={name}:{v}");
        let at = name.len() + 3;
        let full = Attribute::parse_kind(kind, name, Some(v)).ok();
        if let Some(p) = check_hot(kind, &line, at) {
            if full.is_none() {
                return Err(format!("{line}: one scan accepts, the full parse refuses"));
            }
            if Some(p.unpack(kind, &line)) != full {
                return Err(format!("{line}: {:?} != {full:?}", p.unpack(kind, &line)));
            }
        }
        if let Some(a) = full {
            let packed = Packed::of(&line, &a);
            if let Some(p) = packed {
                if p.unpack(kind, &line) != a {
                    return Err(format!(
                        "{line}: record of {a:?} gives {:?}",
                        p.unpack(kind, &line)
                    ));
                }
            }
            if Attribute::from_line(kind, packed, &line) != a {
                return Err(format!("{line}: from_line"));
            }
            if Attribute::from_checked(kind, &line[2..]) != a {
                return Err(format!("{line}: from_checked"));
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn one_scan_agrees_with_the_full_parse(k in 0usize..18, v in "[0-9a-zA-Z/ *:~;=.,_-]{0,40}") {
            proptest::prop_assert_eq!(agree(NAMES[k], &v), Ok(()));
        }

        /// Values shaped like the hot attributes (numbers, slashes, directions, spaces).
        #[test]
        fn one_scan_agrees_on_shaped_values(
            k in 0usize..5,
            v in "(\\*|[0-9]{1,4}|0{0,3}[0-9]{1,20})(/(sendonly|recvonly|x|))? ?[!-~]{0,8}(/[0-9]{0,11}){0,2}(:[ -~]{0,6})?( [ -~]{0,10})?",
        ) {
            proptest::prop_assert_eq!(agree(NAMES[k], &v), Ok(()));
        }
    }

    #[test]
    fn one_scan_examples() {
        for (name, v, ok) in [
            ("rtcp-fb", "96 nack pli", true),
            ("rtcp-fb", "* ccm fir", true),
            ("rtcp-fb", "128 nack", false),
            ("rtcp-fb", "96 nack", true),
            ("rtpmap", "111 opus/48000/2", true),
            ("rtpmap", "96 VP8/90000", true),
            ("rtpmap", "111 opus/0", false),
            ("rtpmap", "111 opus/48000/0", false),
            ("rtpmap", "111 opus/48000/2/1", false),
            ("fmtp", "111 minptime=10;useinbandfec=1", true),
            ("fmtp", "111", true),
            ("extmap", "4096/sendonly urn:x", true),
            ("extmap", "3 urn:x attr", true),
            ("extmap", "257 urn:x", false),
            ("extmap", "1/sideways urn:x", false),
            ("ssrc", "4294967295 cname:x", true),
            ("ssrc", "4294967296 cname:x", false),
            ("ssrc", "1 cname", true),
            ("ice-ufrag", "a b", false),
        ] {
            let kind = Kind::of(name);
            let line = format!("a={name}:{v}");
            assert_eq!(
                check_hot(kind, &line, name.len() + 3).is_some(),
                ok,
                "{line}"
            );
            assert_eq!(agree(name, v), Ok(()));
        }
        // The record of a hot line gives its fields.
        let line = "a=rtpmap:111 opus/48000/2";
        let p = check_hot(Kind::Rtpmap, line, 9).unwrap();
        assert_eq!(
            p.unpack(Kind::Rtpmap, line),
            Attribute::Rtpmap(Rtpmap {
                payload_type: 111,
                encoding_name: "opus",
                clock_rate: 48000,
                channels: Some(2)
            })
        );
        let line = "a=extmap:2/sendonly urn:x attr";
        let p = check_hot(Kind::Extmap, line, 9).unwrap();
        assert_eq!(
            p.unpack(Kind::Extmap, line),
            Attribute::Extmap(Extmap {
                id: 2,
                direction: Some(Direction::SendOnly),
                uri: "urn:x",
                attributes: Some("attr")
            })
        );
    }
}
