//! The hot path: a quick yes for the most frequent attributes while the description is
//! checked, and typing a line that check has already accepted without repeating it.

use super::{parse_payload_type, split_attribute, Attribute, Direction, Extmap, Fingerprint};
use super::{Fmtp, Kind, RtcpFb, Rtpmap};
use crate::util::{is_non_ws, is_token, parse_u16, parse_u32, split_at_byte, split_sp};

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

#[cfg(test)]
mod tests {
    use super::*;
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
}
