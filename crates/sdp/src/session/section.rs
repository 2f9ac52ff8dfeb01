//! A run of lines (the session part or one media section) and the lookups on it.

use super::{SessionDescription, Span};
use crate::attribute::{split_attribute, Attribute, Direction, Fingerprint, Kind, Packed, Setup};

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
pub(super) struct Section<'a> {
    pub(super) sdp: &'a SessionDescription,
    pub(super) spans: &'a [Span],
}

impl<'a> Section<'a> {
    pub(super) fn raw(&self) -> impl Iterator<Item = &'a str> + 'a {
        let sdp = self.sdp;
        self.spans.iter().map(move |&s| sdp.span(s))
    }

    pub(super) fn values(&self, t: u8) -> impl Iterator<Item = &'a str> + 'a {
        self.raw().filter_map(move |l| {
            let b = l.as_bytes();
            if b.first() == Some(&t) && b.get(1) == Some(&b'=') {
                l.get(2..)
            } else {
                None
            }
        })
    }

    pub(super) fn value(&self, t: u8) -> Option<&'a str> {
        self.values(t).next()
    }

    /// The `a=` lines as (the whole line, kind and fields recorded at parse time).
    pub(super) fn attribute_lines(
        &self,
    ) -> impl Iterator<Item = (&'a str, Kind, Option<Packed>)> + 'a {
        let sdp = self.sdp;
        self.spans.iter().filter_map(move |&s| {
            let l = sdp.span(s);
            let b = l.as_bytes();
            if b.first() == Some(&b'a') && b.get(1) == Some(&b'=') {
                Some((l, s.kind, s.packed))
            } else {
                None
            }
        })
    }

    pub(super) fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + 'a {
        // Lines kept verbatim by lenient parsing were recorded as `Kind::Other`.
        self.attribute_lines()
            .map(|(line, kind, packed)| Attribute::from_line(kind, packed, line))
    }

    /// Attributes called `name`, typed (cheaper than typing them all: the kind recorded
    /// at parse time is compared, not the name).
    pub(super) fn named(&self, wanted: &'a str) -> impl Iterator<Item = Attribute<'a>> + 'a {
        let want = Kind::of(wanted);
        self.attribute_lines()
            .filter(move |&(line, kind, _)| {
                kind == want
                    && (want != Kind::Other
                        || split_attribute(line.get(2..).unwrap_or("")).0 == wanted)
            })
            .map(|(line, kind, packed)| Attribute::from_line(kind, packed, line))
    }

    pub(super) fn attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.attributes().find(|a| a.name() == name)
    }

    pub(super) fn has(&self, f: impl Fn(&Attribute<'a>) -> bool) -> bool {
        self.attributes().any(|a| f(&a))
    }

    pub(super) fn ice_credentials(&self) -> Option<IceCredentials<'a>> {
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

    pub(super) fn ice_options(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.named("ice-options")
            .filter_map(|a| match a {
                Attribute::IceOptions(o) => Some(o),
                _ => None,
            })
            .flat_map(|o| o.split(' ').filter(|s| !s.is_empty()))
    }

    pub(super) fn fingerprints(&self) -> impl Iterator<Item = Fingerprint<'a>> + 'a {
        self.named("fingerprint").filter_map(|a| match a {
            Attribute::Fingerprint(f) => Some(f),
            _ => None,
        })
    }

    pub(super) fn setup(&self) -> Option<Setup> {
        self.named("setup").find_map(|a| match a {
            Attribute::Setup(s) => Some(s),
            _ => None,
        })
    }

    pub(super) fn direction(&self) -> Option<Direction> {
        self.attributes().find_map(|a| match a {
            Attribute::Direction(d) => Some(d),
            _ => None,
        })
    }
}
