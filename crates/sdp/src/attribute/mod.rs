//! Typed views of the attributes WebRTC uses (RFC 8829 §5 and the RFCs it cites).
//!
//! Every view borrows from the description's text: parsing a typed attribute never
//! allocates. Each view also implements [`Display`](fmt::Display), printing the
//! attribute value in its canonical form, which is what the
//! [builder](crate::SessionDescriptionBuilder) writes. A parsed description never
//! re-prints through these views: it keeps the original text, so unusual spacing
//! survives a round trip.
//!
//! One module per attribute family: [`media`] (direction, BUNDLE groups, msid), [`rtp`]
//! (rtpmap, fmtp, rtcp-fb, extmap, rtcp), [`sources`] (ssrc, ssrc-group, rid,
//! simulcast), [`dtls`] (setup, fingerprint); [`kind`] maps a name to its kind,
//! [`value`] holds the field checks the grammars share, and [`trusted`] is the hot path
//! that types a line the description parser has already checked.

mod dtls;
mod kind;
mod media;
mod rtp;
mod sources;
mod trusted;
mod value;

use std::borrow::Cow;
use std::fmt;

use crate::error::Problem;
use crate::util::is_token;

pub use dtls::{Fingerprint, Setup};
pub(crate) use kind::Kind;
pub use media::{Direction, Group, Msid, MsidSemantic};
pub use rtp::{Extmap, Fmtp, Rtcp, RtcpFb, Rtpmap};
pub use sources::{Rid, RidDirection, Simulcast, SimulcastList, Ssrc, SsrcGroup};
pub(crate) use trusted::{check_hot, Packed};
pub(crate) use value::{
    decimal, flag, need, non_ws, number_u16, number_u32, number_u64, parse_payload_type, pt,
};

type VResult<T> = Result<T, Problem>;

/// One attribute line, `a=<name>[:<value>]`, with a typed view of everything WebRTC uses.
///
/// Attributes ferrtc does not know are [`Attribute::Other`]: they are kept verbatim and
/// in order, never dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// `a=group` (RFC 5888, 9143).
    Group(Group<'a>),
    /// `a=mid` (RFC 5888 §4): the media identification tag.
    Mid(&'a str),
    /// `a=msid` (RFC 8830).
    Msid(Msid<'a>),
    /// `a=msid-semantic`.
    MsidSemantic(MsidSemantic<'a>),
    /// `a=rtpmap`.
    Rtpmap(Rtpmap<'a>),
    /// `a=fmtp`.
    Fmtp(Fmtp<'a>),
    /// `a=rtcp-fb`.
    RtcpFb(RtcpFb<'a>),
    /// `a=extmap`.
    Extmap(Extmap<'a>),
    /// `a=extmap-allow-mixed` (RFC 8285 §6): one- and two-byte extensions may mix.
    ExtmapAllowMixed,
    /// `a=ssrc`.
    Ssrc(Ssrc<'a>),
    /// `a=ssrc-group`.
    SsrcGroup(SsrcGroup<'a>),
    /// `a=rid`.
    Rid(Rid<'a>),
    /// `a=simulcast`.
    Simulcast(Simulcast<'a>),
    /// `a=rtcp`.
    Rtcp(Rtcp<'a>),
    /// `a=rtcp-mux` (RFC 5761).
    RtcpMux,
    /// `a=rtcp-mux-only` (RFC 8858).
    RtcpMuxOnly,
    /// `a=rtcp-rsize` (RFC 5506).
    RtcpRsize,
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    IceUfrag(&'a str),
    /// `a=ice-pwd`.
    IcePwd(&'a str),
    /// `a=ice-options`: space-separated option tags (`trickle`, `ice2`, …).
    IceOptions(&'a str),
    /// `a=ice-lite`.
    IceLite,
    /// `a=candidate`, kept as text: ferrtc-ice types candidates.
    Candidate(&'a str),
    /// `a=end-of-candidates` (RFC 8838).
    EndOfCandidates,
    /// `a=fingerprint`.
    Fingerprint(Fingerprint<'a>),
    /// `a=setup`.
    Setup(Setup),
    /// `a=tls-id` (RFC 8842 §5.2).
    TlsId(&'a str),
    /// `a=sctp-port` (RFC 8841 §5).
    SctpPort(u16),
    /// `a=max-message-size` (RFC 8841 §6); 0 means no limit.
    MaxMessageSize(u64),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`.
    Direction(Direction),
    /// `a=bundle-only` (RFC 9143 §6).
    BundleOnly,
    /// `a=ptime` in milliseconds.
    Ptime(f64),
    /// `a=maxptime` in milliseconds.
    MaxPtime(f64),
    /// `a=framerate` in frames per second.
    Framerate(f64),
    /// Any other attribute, verbatim.
    Other {
        /// The attribute name.
        name: &'a str,
        /// Everything after the first `:`, if there was one.
        value: Option<&'a str>,
    },
}

impl<'a> Attribute<'a> {
    /// Types an attribute from its name and value (the text after `a=`, split at the
    /// first `:`). Unknown names give [`Attribute::Other`]; a known name with a malformed
    /// value is an error that says what is wrong.
    pub fn parse(name: &'a str, value: Option<&'a str>) -> Result<Self, Cow<'static, str>> {
        Self::parse_checked(name, value).map_err(Problem::message)
    }

    /// [`parse`](Self::parse), telling a number out of range apart from bad grammar.
    pub(crate) fn parse_checked(name: &'a str, value: Option<&'a str>) -> VResult<Self> {
        Self::parse_kind(Kind::of(name), name, value)
    }

    /// [`parse_checked`](Self::parse_checked) with the name already looked up.
    #[inline]
    pub(crate) fn parse_kind(kind: Kind, name: &'a str, value: Option<&'a str>) -> VResult<Self> {
        crate::grammar::parse_kind(kind, name, value)
    }

    /// Parses a whole attribute line: `a=name[:value]` (or just `name[:value]`).
    pub fn parse_line(line: &'a str) -> Result<Self, crate::Error> {
        let text = line.strip_prefix("a=").unwrap_or(line);
        let (name, value) = split_attribute(text);
        if !is_token(name) {
            return Err(crate::Error::syntax(
                1,
                "attribute name must be a token (RFC 8866 §9)",
            ));
        }
        Attribute::parse_checked(name, value).map_err(|p| p.into_error(1, name))
    }

    /// The attribute name.
    pub fn name(&self) -> &'a str {
        match self {
            Attribute::Group(_) => "group",
            Attribute::Mid(_) => "mid",
            Attribute::Msid(_) => "msid",
            Attribute::MsidSemantic(_) => "msid-semantic",
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::RtcpFb(_) => "rtcp-fb",
            Attribute::Extmap(_) => "extmap",
            Attribute::ExtmapAllowMixed => "extmap-allow-mixed",
            Attribute::Ssrc(_) => "ssrc",
            Attribute::SsrcGroup(_) => "ssrc-group",
            Attribute::Rid(_) => "rid",
            Attribute::Simulcast(_) => "simulcast",
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::RtcpMuxOnly => "rtcp-mux-only",
            Attribute::RtcpRsize => "rtcp-rsize",
            Attribute::IceUfrag(_) => "ice-ufrag",
            Attribute::IcePwd(_) => "ice-pwd",
            Attribute::IceOptions(_) => "ice-options",
            Attribute::IceLite => "ice-lite",
            Attribute::Candidate(_) => "candidate",
            Attribute::EndOfCandidates => "end-of-candidates",
            Attribute::Fingerprint(_) => "fingerprint",
            Attribute::Setup(_) => "setup",
            Attribute::TlsId(_) => "tls-id",
            Attribute::SctpPort(_) => "sctp-port",
            Attribute::MaxMessageSize(_) => "max-message-size",
            Attribute::Direction(d) => d.as_str(),
            Attribute::BundleOnly => "bundle-only",
            Attribute::Ptime(_) => "ptime",
            Attribute::MaxPtime(_) => "maxptime",
            Attribute::Framerate(_) => "framerate",
            Attribute::Other { name, .. } => name,
        }
    }
}

/// Prints `name[:value]` (without `a=`), the canonical form.
impl fmt::Display for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Attribute::Group(v) => write!(f, ":{v}"),
            Attribute::Mid(v)
            | Attribute::IceUfrag(v)
            | Attribute::IcePwd(v)
            | Attribute::IceOptions(v)
            | Attribute::Candidate(v)
            | Attribute::TlsId(v) => write!(f, ":{v}"),
            Attribute::Msid(v) => write!(f, ":{v}"),
            Attribute::MsidSemantic(v) => write!(f, ":{v}"),
            Attribute::Rtpmap(v) => write!(f, ":{v}"),
            Attribute::Fmtp(v) => write!(f, ":{v}"),
            Attribute::RtcpFb(v) => write!(f, ":{v}"),
            Attribute::Extmap(v) => write!(f, ":{v}"),
            Attribute::Ssrc(v) => write!(f, ":{v}"),
            Attribute::SsrcGroup(v) => write!(f, ":{v}"),
            Attribute::Rid(v) => write!(f, ":{v}"),
            Attribute::Simulcast(v) => write!(f, ":{v}"),
            Attribute::Rtcp(v) => write!(f, ":{v}"),
            Attribute::Fingerprint(v) => write!(f, ":{v}"),
            Attribute::Setup(v) => write!(f, ":{v}"),
            Attribute::SctpPort(v) => write!(f, ":{v}"),
            Attribute::MaxMessageSize(v) => write!(f, ":{v}"),
            Attribute::Ptime(v) | Attribute::MaxPtime(v) | Attribute::Framerate(v) => {
                write!(f, ":{v}")
            }
            Attribute::Other { value: Some(v), .. } => write!(f, ":{v}"),
            Attribute::ExtmapAllowMixed
            | Attribute::RtcpMux
            | Attribute::RtcpMuxOnly
            | Attribute::RtcpRsize
            | Attribute::IceLite
            | Attribute::EndOfCandidates
            | Attribute::Direction(_)
            | Attribute::BundleOnly
            | Attribute::Other { value: None, .. } => Ok(()),
        }
    }
}

/// Splits the text after `a=` into name and value at the first `:`.
#[inline]
pub(crate) fn split_attribute(text: &str) -> (&str, Option<&str>) {
    match text.as_bytes().iter().position(|&b| b == b':') {
        Some(i) => (
            text.get(..i).unwrap_or(""),
            Some(text.get(i + 1..).unwrap_or("")),
        ),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Attribute<'_> {
        Attribute::parse_line(line).unwrap()
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            p("a=rtpmap:111 opus/48000/2"),
            Attribute::Rtpmap(Rtpmap {
                payload_type: 111,
                encoding_name: "opus",
                clock_rate: 48000,
                channels: Some(2)
            })
        );
        let Attribute::Fmtp(f) = p("a=fmtp:99 useinbandfec=1; usedtx=0") else {
            panic!()
        };
        assert_eq!(
            f.params().collect::<Vec<_>>(),
            vec![("useinbandfec", Some("1")), ("usedtx", Some("0"))]
        );
        assert_eq!(f.get("usedtx"), Some("0"));
        assert_eq!(
            p("a=rtcp-fb:* ccm pause nowait"),
            Attribute::RtcpFb(RtcpFb {
                payload_type: None,
                feedback: "ccm",
                param: Some("pause nowait")
            })
        );
        assert_eq!(
            p("a=extmap:2/sendonly urn:x attr"),
            Attribute::Extmap(Extmap {
                id: 2,
                direction: Some(Direction::SendOnly),
                uri: "urn:x",
                attributes: Some("attr")
            })
        );
        let Attribute::Simulcast(s) = p("a=simulcast:send 1;~4,3 recv 5") else {
            panic!()
        };
        let send: Vec<Vec<_>> = s.send.unwrap().streams().map(|a| a.collect()).collect();
        assert_eq!(
            send,
            vec![vec![("1", false)], vec![("4", true), ("3", false)]]
        );
        let Attribute::Rid(r) = p("a=rid:1 send pt=99,102;max-br=64000") else {
            panic!()
        };
        assert_eq!(r.payload_types().collect::<Vec<_>>(), vec![99, 102]);
        let Attribute::Fingerprint(f) = p("a=fingerprint:sha-256 0A:ff") else {
            panic!()
        };
        assert_eq!(f.bytes(), vec![0x0a, 0xff]);
        assert_eq!(p("a=sendonly"), Attribute::Direction(Direction::SendOnly));
        assert_eq!(
            p("a=x-foo:bar:baz"),
            Attribute::Other {
                name: "x-foo",
                value: Some("bar:baz")
            }
        );
    }

    #[test]
    fn malformed_values_say_what() {
        for bad in [
            "a=rtpmap:128 opus/48000",
            "a=rtpmap:96 opus",
            "a=rtpmap:96 opus/x",
            "a=rtcp-fb:96",
            "a=extmap:0 urn:x",
            "a=ssrc:4294967296 cname:x",
            "a=setup:maybe",
            "a=fingerprint:sha-256 0G:00",
            "a=sctp-port:70000",
            "a=rtcp-mux:yes",
            "a=mid",
            "a=simulcast:send",
            "a=ptime:abc",
        ] {
            let e = Attribute::parse_line(bad).unwrap_err();
            assert!(e.to_string().contains("line 1"), "{bad}: {e}");
        }
    }

    #[test]
    fn display_is_canonical() {
        for line in [
            "rtpmap:111 opus/48000/2",
            "fmtp:111 minptime=10;useinbandfec=1",
            "rtcp-fb:96 nack pli",
            "extmap:3 http://x",
            "ssrc:1 cname:abc",
            "ssrc-group:FID 1 2",
            "group:BUNDLE 0 1",
            "rid:1 send pt=97",
            "simulcast:send 1;2 recv 3",
            "setup:actpass",
            "sctp-port:5000",
            "ptime:20",
            "rtcp:9 IN IP4 0.0.0.0",
            "ice-lite",
        ] {
            assert_eq!(Attribute::parse_line(line).unwrap().to_string(), line);
        }
    }
}
