//! [`Media`]: the typed accessors of one media section, and [`Codec`].

use std::fmt;

use super::section::{IceCredentials, Section};
use super::SessionDescription;
use crate::attribute::{
    Attribute, Direction, Extmap, Fingerprint, Fmtp, Msid, Rid, Rtcp, RtcpFb, Rtpmap, Setup,
    Simulcast, Ssrc, SsrcGroup,
};
use crate::fields::{Bandwidth, Connection, MediaKind, MediaLine};

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
    pub(super) sdp: &'a SessionDescription,
    pub(super) index: usize,
    pub(super) section: Section<'a>,
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
