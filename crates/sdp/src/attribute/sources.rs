//! RTP sources and streams: `a=ssrc`, `a=ssrc-group` (RFC 5576), `a=rid` (RFC 8851) and
//! `a=simulcast` (RFC 8853).

use std::fmt;

use super::parse_payload_type;
use crate::util::parse_u32;

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
