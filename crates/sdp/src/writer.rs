//! The one SDP writer: typed values to text, appended to one `String`.
//!
//! Everything the crate prints from typed values (the builders, [`Line::write_to`]) goes
//! through these functions. They append with `push_str` and write integers with `itoa`
//! (no `format!`, no `fmt::Formatter`, no intermediate `String`), so printing a description
//! is a run of copies into one buffer sized in advance.
//!
//! [`Line::write_to`]: crate::Line::write_to

use crate::attribute::{
    Attribute, Extmap, Fingerprint, Fmtp, Group, Msid, MsidSemantic, Rid, RidDirection, Rtcp,
    RtcpFb, Rtpmap, Simulcast, Ssrc, SsrcGroup,
};
use crate::fields::{Bandwidth, Connection, MediaLine, Origin, Timing};

/// Appends an integer in decimal.
#[inline]
pub(crate) fn int<I: itoa::Integer>(s: &mut String, v: I) {
    let mut b = itoa::Buffer::new();
    s.push_str(b.format(v));
}

/// Appends a decimal (`a=ptime`, `a=framerate`): whole numbers as integers, as browsers
/// write them, the rest through `Display` (rare).
pub(crate) fn decimal(s: &mut String, v: f64) {
    // 2^53: every whole f64 below it converts to u64 exactly.
    if v.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&v) {
        int(s, v as u64);
    } else {
        use std::fmt::Write as _;
        let _ = write!(s, "{v}");
    }
}

/// `<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
pub(crate) fn origin(s: &mut String, o: &Origin<'_>) {
    for (i, f) in [
        o.username,
        o.session_id,
        o.session_version,
        o.nettype,
        o.addrtype,
        o.unicast_address,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(f);
    }
}

/// `- <id> <version> IN IP4 127.0.0.1`, the JSEP origin (RFC 8829 §5.2.1).
pub(crate) fn jsep_origin(s: &mut String, id: u64, version: u64) {
    s.push_str("- ");
    int(s, id);
    s.push(' ');
    int(s, version);
    s.push_str(" IN IP4 127.0.0.1");
}

/// `<nettype> <addrtype> <address>`.
pub(crate) fn connection(s: &mut String, c: &Connection<'_>) {
    s.push_str(c.nettype);
    s.push(' ');
    s.push_str(c.addrtype);
    s.push(' ');
    s.push_str(c.address);
}

/// `<bwtype>:<bandwidth>`.
pub(crate) fn bandwidth(s: &mut String, b: &Bandwidth<'_>) {
    s.push_str(b.bwtype);
    s.push(':');
    int(s, b.bandwidth);
}

/// `<start> <stop>`.
pub(crate) fn timing(s: &mut String, t: &Timing) {
    int(s, t.start);
    s.push(' ');
    int(s, t.stop);
}

/// `<media> <port>[/<n>] <proto>` (the formats are written by the caller).
pub(crate) fn media_head(
    s: &mut String,
    kind: &str,
    port: u16,
    num_ports: Option<u16>,
    protocol: &str,
) {
    s.push_str(kind);
    s.push(' ');
    int(s, port);
    if let Some(n) = num_ports {
        s.push('/');
        int(s, n);
    }
    s.push(' ');
    s.push_str(protocol);
}

/// `<media> <port>[/<n>] <proto> <fmt> …`.
pub(crate) fn media_line(s: &mut String, m: &MediaLine<'_>) {
    media_head(s, m.kind.as_str(), m.port, m.num_ports, m.protocol);
    if !m.formats.is_empty() {
        s.push(' ');
        s.push_str(m.formats);
    }
}

fn words(s: &mut String, list: &str) {
    for w in list.split(' ').filter(|w| !w.is_empty()) {
        s.push(' ');
        s.push_str(w);
    }
}

fn group(s: &mut String, g: &Group<'_>) {
    s.push_str(g.semantics);
    words(s, g.mids);
}

fn msid(s: &mut String, m: &Msid<'_>) {
    s.push_str(m.stream_id);
    if let Some(t) = m.track_id {
        s.push(' ');
        s.push_str(t);
    }
}

fn msid_semantic(s: &mut String, m: &MsidSemantic<'_>) {
    s.push(' ');
    s.push_str(m.semantic);
    words(s, m.ids);
}

pub(crate) fn rtpmap(s: &mut String, r: &Rtpmap<'_>) {
    int(s, r.payload_type);
    s.push(' ');
    s.push_str(r.encoding_name);
    s.push('/');
    int(s, r.clock_rate);
    if let Some(c) = r.channels {
        s.push('/');
        int(s, c);
    }
}

fn fmtp(s: &mut String, f: &Fmtp<'_>) {
    s.push_str(f.format);
    s.push(' ');
    s.push_str(f.params);
}

pub(crate) fn rtcp_fb(s: &mut String, f: &RtcpFb<'_>) {
    match f.payload_type {
        Some(pt) => int(s, pt),
        None => s.push('*'),
    }
    s.push(' ');
    s.push_str(f.feedback);
    if let Some(p) = f.param {
        s.push(' ');
        s.push_str(p);
    }
}

fn extmap(s: &mut String, e: &Extmap<'_>) {
    int(s, e.id);
    if let Some(d) = e.direction {
        s.push('/');
        s.push_str(d.as_str());
    }
    s.push(' ');
    s.push_str(e.uri);
    if let Some(a) = e.attributes {
        s.push(' ');
        s.push_str(a);
    }
}

fn ssrc(s: &mut String, x: &Ssrc<'_>) {
    int(s, x.ssrc);
    s.push(' ');
    s.push_str(x.attribute);
    if let Some(v) = x.value {
        s.push(':');
        s.push_str(v);
    }
}

fn ssrc_group(s: &mut String, g: &SsrcGroup<'_>) {
    s.push_str(g.semantics);
    for x in g.ssrcs() {
        s.push(' ');
        int(s, x);
    }
}

fn rid(s: &mut String, r: &Rid<'_>) {
    s.push_str(r.id);
    s.push_str(match r.direction {
        RidDirection::Send => " send",
        RidDirection::Recv => " recv",
    });
    if let Some(p) = r.params {
        s.push(' ');
        s.push_str(p);
    }
}

fn simulcast(s: &mut String, x: &Simulcast<'_>) {
    if let Some(l) = x.send {
        s.push_str("send ");
        s.push_str(l.0);
    }
    if let Some(l) = x.recv {
        if x.send.is_some() {
            s.push(' ');
        }
        s.push_str("recv ");
        s.push_str(l.0);
    }
}

fn rtcp(s: &mut String, r: &Rtcp<'_>) {
    int(s, r.port);
    if let Some(c) = &r.address {
        s.push(' ');
        connection(s, c);
    }
}

fn fingerprint(s: &mut String, f: &Fingerprint<'_>) {
    s.push_str(f.algorithm);
    s.push(' ');
    s.push_str(f.value);
}

/// `<name>[:<value>]`, the canonical form (the same text as `Attribute`'s `Display`).
pub(crate) fn attribute(s: &mut String, a: &Attribute<'_>) {
    s.push_str(a.name());
    match a {
        Attribute::Group(v) => {
            s.push(':');
            group(s, v);
        }
        Attribute::Mid(v)
        | Attribute::IceUfrag(v)
        | Attribute::IcePwd(v)
        | Attribute::IceOptions(v)
        | Attribute::Candidate(v)
        | Attribute::TlsId(v)
        | Attribute::Other { value: Some(v), .. } => {
            s.push(':');
            s.push_str(v);
        }
        Attribute::Msid(v) => {
            s.push(':');
            msid(s, v);
        }
        Attribute::MsidSemantic(v) => {
            s.push(':');
            msid_semantic(s, v);
        }
        Attribute::Rtpmap(v) => {
            s.push(':');
            rtpmap(s, v);
        }
        Attribute::Fmtp(v) => {
            s.push(':');
            fmtp(s, v);
        }
        Attribute::RtcpFb(v) => {
            s.push(':');
            rtcp_fb(s, v);
        }
        Attribute::Extmap(v) => {
            s.push(':');
            extmap(s, v);
        }
        Attribute::Ssrc(v) => {
            s.push(':');
            ssrc(s, v);
        }
        Attribute::SsrcGroup(v) => {
            s.push(':');
            ssrc_group(s, v);
        }
        Attribute::Rid(v) => {
            s.push(':');
            rid(s, v);
        }
        Attribute::Simulcast(v) => {
            s.push(':');
            simulcast(s, v);
        }
        Attribute::Rtcp(v) => {
            s.push(':');
            rtcp(s, v);
        }
        Attribute::Fingerprint(v) => {
            s.push(':');
            fingerprint(s, v);
        }
        Attribute::Setup(v) => {
            s.push(':');
            s.push_str(v.as_str());
        }
        Attribute::SctpPort(v) => {
            s.push(':');
            int(s, *v);
        }
        Attribute::MaxMessageSize(v) => {
            s.push(':');
            int(s, *v);
        }
        Attribute::Ptime(v) | Attribute::MaxPtime(v) | Attribute::Framerate(v) => {
            s.push(':');
            decimal(s, *v);
        }
        Attribute::ExtmapAllowMixed
        | Attribute::RtcpMux
        | Attribute::RtcpMuxOnly
        | Attribute::RtcpRsize
        | Attribute::IceLite
        | Attribute::EndOfCandidates
        | Attribute::Direction(_)
        | Attribute::BundleOnly
        | Attribute::Other { value: None, .. } => {}
    }
}

/// An upper bound of what [`attribute`] writes, for sizing the buffer.
pub(crate) fn attribute_len(a: &Attribute<'_>) -> usize {
    // Name, ':' and up to 40 bytes of numbers and separators, plus the borrowed text.
    let text = match a {
        Attribute::Group(v) => v.semantics.len() + v.mids.len(),
        Attribute::Mid(v)
        | Attribute::IceUfrag(v)
        | Attribute::IcePwd(v)
        | Attribute::IceOptions(v)
        | Attribute::Candidate(v)
        | Attribute::TlsId(v)
        | Attribute::Other { value: Some(v), .. } => v.len(),
        Attribute::Msid(v) => v.stream_id.len() + v.track_id.map_or(0, str::len),
        Attribute::MsidSemantic(v) => v.semantic.len() + v.ids.len(),
        Attribute::Rtpmap(v) => v.encoding_name.len(),
        Attribute::Fmtp(v) => v.format.len() + v.params.len(),
        Attribute::RtcpFb(v) => v.feedback.len() + v.param.map_or(0, str::len),
        Attribute::Extmap(v) => v.uri.len() + v.attributes.map_or(0, str::len),
        Attribute::Ssrc(v) => v.attribute.len() + v.value.map_or(0, str::len),
        // Each SSRC is written back with at most as many digits as it was read with.
        Attribute::SsrcGroup(v) => v.semantics.len() + v.ssrcs.len(),
        Attribute::Rid(v) => v.id.len() + v.params.map_or(0, str::len),
        Attribute::Simulcast(v) => {
            v.send.map_or(0, |l| l.0.len()) + v.recv.map_or(0, |l| l.0.len())
        }
        Attribute::Rtcp(v) => v
            .address
            .map_or(0, |c| c.nettype.len() + c.addrtype.len() + c.address.len()),
        Attribute::Fingerprint(v) => v.algorithm.len() + v.value.len(),
        _ => 0,
    };
    a.name().len() + text + 44
}
