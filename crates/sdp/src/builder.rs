//! Writing descriptions: [`SessionDescriptionBuilder`] and [`MediaBuilder`].
//!
//! The builders hold typed values (borrowing their text) in RFC 8866 order and print each
//! line from them with the crate's one writer: one `String`, sized in advance, appended to
//! with `push_str` and `itoa` (no `format!`, no `fmt` machinery). [`to_text`] is that text;
//! [`build`] parses it, so whatever a builder builds is exactly what a peer will receive
//! and has passed the same checks as a remote description. A parsed description can be
//! turned back into a builder ([`SessionDescription::to_builder`]) to change and write again.
//!
//! [`to_text`]: SessionDescriptionBuilder::to_text
//! [`build`]: SessionDescriptionBuilder::build

use crate::attribute::{
    Attribute, Direction, Extmap, Fingerprint, Fmtp, MsidSemantic, Rtcp, RtcpFb, Rtpmap, Setup,
    Ssrc,
};
use crate::error::Error;
use crate::fields::{Bandwidth, Connection, MediaKind, MediaLine, Origin, Timing};
use crate::line::Line;
use crate::session::SessionDescription;
use crate::writer;

/// The `o=` line: typed, or the JSEP form from two numbers.
#[derive(Debug, Clone, Copy)]
enum OriginValue<'a> {
    Typed(Origin<'a>),
    Jsep { id: u64, version: u64 },
}

/// An attribute as the builder keeps it: a typed [`Attribute`], or one of the forms the
/// convenience methods take without text to borrow.
#[derive(Debug, Clone)]
enum Attr<'a> {
    Typed(Attribute<'a>),
    /// `a=group:<semantics> <mid>…` from a list of mids.
    Group(&'a str, Vec<&'a str>),
    /// `a=fmtp:<pt> <params>` with a numeric format.
    Fmtp(u8, &'a str),
}

impl Attr<'_> {
    fn write(&self, s: &mut String) {
        s.push_str("a=");
        match self {
            Attr::Typed(a) => writer::attribute(s, a),
            Attr::Group(semantics, mids) => {
                s.push_str("group:");
                s.push_str(semantics);
                for m in mids {
                    s.push(' ');
                    s.push_str(m);
                }
            }
            Attr::Fmtp(pt, params) => {
                s.push_str("fmtp:");
                writer::int(s, *pt);
                s.push(' ');
                s.push_str(params);
            }
        }
        s.push_str("\r\n");
    }

    fn len_hint(&self) -> usize {
        4 + match self {
            Attr::Typed(a) => writer::attribute_len(a),
            Attr::Group(semantics, mids) => {
                6 + semantics.len() + mids.iter().map(|m| m.len() + 1).sum::<usize>()
            }
            Attr::Fmtp(_, params) => 9 + params.len(),
        }
    }
}

/// A format of the m= line.
#[derive(Debug, Clone, Copy)]
enum Format<'a> {
    /// One format, or several separated by spaces, as text.
    Text(&'a str),
    /// An RTP payload type.
    Pt(u8),
}

/// Builds a [`SessionDescription`] from typed values (used by the peer connection to write
/// offers and answers).
///
/// Defaults: `o=- 0 0 IN IP4 127.0.0.1`, `s=-`, `t=0 0`, as browsers write them. The builder
/// borrows the text it is given; nothing is formatted until [`to_text`](Self::to_text) or
/// [`write_to`](Self::write_to).
#[derive(Debug, Clone)]
pub struct SessionDescriptionBuilder<'a> {
    origin: OriginValue<'a>,
    session_name: &'a str,
    information: Option<&'a str>,
    uri: Option<&'a str>,
    emails: Vec<&'a str>,
    phones: Vec<&'a str>,
    connection: Option<Connection<'a>>,
    bandwidths: Vec<Bandwidth<'a>>,
    /// `t=` and `r=` lines in order (each `t=` followed by its `r=` lines).
    times: Vec<Line<'a>>,
    time_zones: Option<&'a str>,
    key: Option<&'a str>,
    attributes: Vec<Attr<'a>>,
    media: Vec<MediaBuilder<'a>>,
    /// Upper bound of the session part's text, kept as values are added.
    hint: usize,
}

impl Default for SessionDescriptionBuilder<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> SessionDescriptionBuilder<'a> {
    /// A builder with the browser defaults.
    pub fn new() -> Self {
        SessionDescriptionBuilder {
            origin: OriginValue::Jsep { id: 0, version: 0 },
            session_name: "-",
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            times: Vec::new(),
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
            // v= o= (JSEP form) s= t=0 0
            hint: 5 + 64 + 8 + 9,
        }
    }

    /// The typed values of a parsed description, every line kept in order.
    pub(crate) fn from_description(sdp: &'a SessionDescription) -> Self {
        let mut b = SessionDescriptionBuilder::new();
        let mut media: Option<MediaBuilder<'a>> = None;
        for line in sdp.typed_lines() {
            if let Line::Media(m) = line {
                if let Some(done) = media.take() {
                    b = b.media(done);
                }
                media = Some(MediaBuilder::from_media_line(m));
                continue;
            }
            match media.as_mut() {
                Some(mb) => mb.push_line(line),
                None => b.push_line(line),
            }
        }
        if let Some(done) = media {
            b = b.media(done);
        }
        b
    }

    /// Adds `line` where it belongs (what every line setter does).
    fn line(mut self, line: Line<'a>) -> Self {
        self.push_line(line);
        self
    }

    fn push_line(&mut self, line: Line<'a>) {
        self.hint += line.encoded_len_hint();
        match line {
            Line::Version | Line::Media(_) => {}
            Line::Origin(o) => self.origin = OriginValue::Typed(o),
            Line::SessionName(v) => self.session_name = v,
            Line::Information(v) => self.information = Some(v),
            Line::Uri(v) => self.uri = Some(v),
            Line::Email(v) => self.emails.push(v),
            Line::Phone(v) => self.phones.push(v),
            Line::Connection(c) => self.connection = Some(c),
            Line::Bandwidth(b) => self.bandwidths.push(b),
            Line::Timing(_) | Line::Repeat(_) => self.times.push(line),
            Line::TimeZones(v) => self.time_zones = Some(v),
            Line::Key(v) => self.key = Some(v),
            Line::Attribute(a) => self.attributes.push(Attr::Typed(a)),
        }
    }

    /// Sets the `o=` line.
    pub fn origin(self, origin: Origin<'a>) -> Self {
        self.line(Line::Origin(origin))
    }

    /// Sets `o=- <session id> <version> IN IP4 127.0.0.1`, the JSEP form (RFC 8829 §5.2.1).
    pub fn session_id(mut self, id: u64, version: u64) -> Self {
        self.origin = OriginValue::Jsep { id, version };
        self
    }

    /// Sets the `s=` line.
    pub fn session_name(self, name: &'a str) -> Self {
        self.line(Line::SessionName(name))
    }

    /// Sets the `i=` line.
    pub fn information(self, text: &'a str) -> Self {
        self.line(Line::Information(text))
    }

    /// Sets the `u=` line.
    pub fn uri(self, uri: &'a str) -> Self {
        self.line(Line::Uri(uri))
    }

    /// Adds an `e=` line.
    pub fn email(self, email: &'a str) -> Self {
        self.line(Line::Email(email))
    }

    /// Adds a `p=` line.
    pub fn phone(self, phone: &'a str) -> Self {
        self.line(Line::Phone(phone))
    }

    /// Sets the session-level `c=` line.
    pub fn connection(self, c: Connection<'a>) -> Self {
        self.line(Line::Connection(c))
    }

    /// Adds a session-level `b=` line.
    pub fn bandwidth(self, b: Bandwidth<'a>) -> Self {
        self.line(Line::Bandwidth(b))
    }

    /// Adds a `t=` line (default: one `t=0 0`).
    pub fn timing(self, t: Timing) -> Self {
        self.line(Line::Timing(t))
    }

    /// Adds an `r=` line after the last `t=` line (RFC 8866 §5.10), as text.
    pub fn repeat(self, text: &'a str) -> Self {
        self.line(Line::Repeat(text))
    }

    /// Sets the `z=` line, as text.
    pub fn time_zones(self, text: &'a str) -> Self {
        self.line(Line::TimeZones(text))
    }

    /// Sets the session-level `k=` line (obsolete, RFC 8866 §5.12).
    pub fn key(self, text: &'a str) -> Self {
        self.line(Line::Key(text))
    }

    /// Adds a session-level attribute.
    pub fn attribute(self, a: Attribute<'a>) -> Self {
        self.line(Line::Attribute(a))
    }

    /// Adds `a=group:<semantics> <mids>`.
    pub fn group(mut self, semantics: &'a str, mids: impl IntoIterator<Item = &'a str>) -> Self {
        let a = Attr::Group(semantics, mids.into_iter().collect());
        self.hint += a.len_hint();
        self.attributes.push(a);
        self
    }

    /// `a=ice-lite` (RFC 8839 §5.3).
    pub fn ice_lite(self) -> Self {
        self.attribute(Attribute::IceLite)
    }

    /// `a=msid-semantic: <semantic> <ids>` (`WMS` with no ids is what browsers write for
    /// a description without streams).
    pub fn msid_semantic(self, semantic: &'a str, ids: &'a str) -> Self {
        self.attribute(Attribute::MsidSemantic(MsidSemantic { semantic, ids }))
    }

    /// Adds a media section.
    pub fn media(mut self, m: MediaBuilder<'a>) -> Self {
        self.media.push(m);
        self
    }

    /// An upper bound of the length of [`to_text`](Self::to_text), kept as values are
    /// added (no pass over the values).
    pub fn encoded_len_hint(&self) -> usize {
        self.hint + self.media.iter().map(|m| m.hint).sum::<usize>()
    }

    /// Appends the description, every line formatted from its typed value, CRLF endings.
    pub fn write_to(&self, s: &mut String) {
        s.reserve(self.encoded_len_hint());
        s.push_str("v=0\r\no=");
        match &self.origin {
            OriginValue::Typed(o) => writer::origin(s, o),
            OriginValue::Jsep { id, version } => writer::jsep_origin(s, *id, *version),
        }
        s.push_str("\r\ns=");
        s.push_str(self.session_name);
        s.push_str("\r\n");
        write_lines(s, self.information.map(Line::Information));
        write_lines(s, self.uri.map(Line::Uri));
        write_lines(s, self.emails.iter().map(|&e| Line::Email(e)));
        write_lines(s, self.phones.iter().map(|&p| Line::Phone(p)));
        write_lines(s, self.connection.map(Line::Connection));
        write_lines(s, self.bandwidths.iter().map(|&b| Line::Bandwidth(b)));
        if self.times.is_empty() {
            s.push_str("t=0 0\r\n");
        }
        for t in &self.times {
            t.write_to(s);
        }
        write_lines(s, self.time_zones.map(Line::TimeZones));
        write_lines(s, self.key.map(Line::Key));
        for a in &self.attributes {
            a.write(s);
        }
        for m in &self.media {
            m.write_to(s);
        }
    }

    /// The description as text, with CRLF line endings (one `String`, sized in advance).
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.encoded_len_hint());
        self.write_to(&mut s);
        s
    }

    /// Writes and parses the description. Fails if a value produced an invalid line
    /// (e.g. a media section without formats, a name with a line break).
    pub fn build(&self) -> Result<SessionDescription, Error> {
        SessionDescription::parse(&self.to_text())
    }
}

/// Builds one media section for [`SessionDescriptionBuilder::media`].
#[derive(Debug, Clone)]
pub struct MediaBuilder<'a> {
    kind: MediaKind<'a>,
    port: u16,
    num_ports: Option<u16>,
    protocol: &'a str,
    formats: Vec<Format<'a>>,
    information: Option<&'a str>,
    connections: Vec<Connection<'a>>,
    bandwidths: Vec<Bandwidth<'a>>,
    key: Option<&'a str>,
    attributes: Vec<Attr<'a>>,
    /// Upper bound of the section's text.
    hint: usize,
}

impl<'a> MediaBuilder<'a> {
    /// Starts `m=<kind> <port> <protocol>`; formats are added by [`format`](Self::format)
    /// and [`codec`](Self::codec).
    pub fn new(kind: MediaKind<'a>, port: u16, protocol: &'a str) -> Self {
        MediaBuilder {
            kind,
            port,
            num_ports: None,
            protocol,
            formats: Vec::new(),
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
            hint: 24 + kind.as_str().len() + protocol.len(),
        }
    }

    /// A section starting with a parsed `m=` line (its formats included).
    pub fn from_media_line(m: MediaLine<'a>) -> Self {
        let mut b = MediaBuilder::new(m.kind, m.port, m.protocol);
        b.num_ports = m.num_ports;
        if !m.formats.is_empty() {
            b = b.format(m.formats);
        }
        b
    }

    /// Adds `line` where it belongs (what every line setter does).
    fn line(mut self, line: Line<'a>) -> Self {
        self.push_line(line);
        self
    }

    fn push_line(&mut self, line: Line<'a>) {
        self.hint += line.encoded_len_hint();
        match line {
            Line::Information(v) => self.information = Some(v),
            Line::Connection(c) => self.connections.push(c),
            Line::Bandwidth(b) => self.bandwidths.push(b),
            Line::Key(v) => self.key = Some(v),
            Line::Attribute(a) => self.attributes.push(Attr::Typed(a)),
            // Not media-level lines (a parsed section has none).
            _ => {}
        }
    }

    fn push_attr(&mut self, a: Attr<'a>) {
        self.hint += a.len_hint();
        self.attributes.push(a);
    }

    /// Adds a format to the m= line (several may be given at once, separated by spaces).
    pub fn format(mut self, fmt: &'a str) -> Self {
        self.hint += fmt.len() + 1;
        self.formats.push(Format::Text(fmt));
        self
    }

    /// Adds an RTP payload type to the m= line.
    pub fn payload_type(mut self, pt: u8) -> Self {
        self.hint += 4;
        self.formats.push(Format::Pt(pt));
        self
    }

    /// Sets the number of ports (`m=<kind> <port>/<n> …`).
    pub fn num_ports(mut self, n: u16) -> Self {
        self.hint += 6;
        self.num_ports = Some(n);
        self
    }

    /// Sets the `i=` line.
    pub fn information(self, text: &'a str) -> Self {
        self.line(Line::Information(text))
    }

    /// Adds a `c=` line.
    pub fn connection(self, c: Connection<'a>) -> Self {
        self.line(Line::Connection(c))
    }

    /// Adds a `b=` line (`b=AS`, `b=TIAS`, …).
    pub fn bandwidth(self, b: Bandwidth<'a>) -> Self {
        self.line(Line::Bandwidth(b))
    }

    /// Sets the media-level `k=` line.
    pub fn key(self, text: &'a str) -> Self {
        self.line(Line::Key(text))
    }

    /// Adds an attribute.
    pub fn attribute(self, a: Attribute<'a>) -> Self {
        self.line(Line::Attribute(a))
    }

    /// Adds a codec: its payload type to the m= line, then `a=rtpmap`, the `a=rtcp-fb`
    /// lines and `a=fmtp` (if `fmtp` is not empty), as Chrome orders them.
    pub fn codec(
        mut self,
        rtpmap: Rtpmap<'a>,
        fmtp: &'a str,
        rtcp_fb: &[(&'a str, Option<&'a str>)],
    ) -> Self {
        let pt = rtpmap.payload_type;
        self = self.payload_type(pt).attribute(Attribute::Rtpmap(rtpmap));
        for &(feedback, param) in rtcp_fb {
            self = self.attribute(Attribute::RtcpFb(RtcpFb {
                payload_type: Some(pt),
                feedback,
                param,
            }));
        }
        if !fmtp.is_empty() {
            self.push_attr(Attr::Fmtp(pt, fmtp));
        }
        self
    }

    /// `a=fmtp:<format> <parameters>`.
    pub fn fmtp(self, format: &'a str, params: &'a str) -> Self {
        self.attribute(Attribute::Fmtp(Fmtp { format, params }))
    }

    /// `a=mid`.
    pub fn mid(self, mid: &'a str) -> Self {
        self.attribute(Attribute::Mid(mid))
    }

    /// A direction attribute.
    pub fn direction(self, d: Direction) -> Self {
        self.attribute(Attribute::Direction(d))
    }

    /// `a=ice-ufrag` and `a=ice-pwd`.
    pub fn ice_credentials(self, ufrag: &'a str, pwd: &'a str) -> Self {
        self.attribute(Attribute::IceUfrag(ufrag))
            .attribute(Attribute::IcePwd(pwd))
    }

    /// `a=ice-options:<tags>` (space-separated, e.g. `trickle`).
    pub fn ice_options(self, tags: &'a str) -> Self {
        self.attribute(Attribute::IceOptions(tags))
    }

    /// `a=candidate:<value>`; `candidate` may be given with or without the `candidate:`
    /// (or `a=candidate:`) prefix, as `RTCIceCandidate.candidate` writes it.
    pub fn candidate(self, candidate: &'a str) -> Self {
        let c = candidate.strip_prefix("a=").unwrap_or(candidate);
        let c = c.strip_prefix("candidate:").unwrap_or(c);
        self.attribute(Attribute::Candidate(c))
    }

    /// `a=end-of-candidates` (RFC 8838 §8.2).
    pub fn end_of_candidates(self) -> Self {
        self.attribute(Attribute::EndOfCandidates)
    }

    /// `a=fingerprint`.
    pub fn fingerprint(self, algorithm: &'a str, value: &'a str) -> Self {
        self.attribute(Attribute::Fingerprint(Fingerprint { algorithm, value }))
    }

    /// `a=setup`.
    pub fn setup(self, s: Setup) -> Self {
        self.attribute(Attribute::Setup(s))
    }

    /// `a=extmap:<id> <uri>`.
    pub fn extmap(self, id: u16, uri: &'a str) -> Self {
        self.attribute(Attribute::Extmap(Extmap {
            id,
            direction: None,
            uri,
            attributes: None,
        }))
    }

    /// `a=ssrc:<ssrc> <attribute>[:<value>]`.
    pub fn ssrc(self, ssrc: u32, attribute: &'a str, value: Option<&'a str>) -> Self {
        self.attribute(Attribute::Ssrc(Ssrc {
            ssrc,
            attribute,
            value,
        }))
    }

    /// `a=rtcp:<port> IN IP4 <address>` is often required by older stacks; this writes
    /// the given form.
    pub fn rtcp(self, rtcp: Rtcp<'a>) -> Self {
        self.attribute(Attribute::Rtcp(rtcp))
    }

    /// `a=rtcp-mux`.
    pub fn rtcp_mux(self) -> Self {
        self.attribute(Attribute::RtcpMux)
    }

    /// `a=sctp-port` and `a=max-message-size` for a data channel section (RFC 8841).
    pub fn sctp(self, port: u16, max_message_size: u64) -> Self {
        self.attribute(Attribute::SctpPort(port))
            .attribute(Attribute::MaxMessageSize(max_message_size))
    }

    /// Appends the section, every line formatted from its typed value.
    pub fn write_to(&self, s: &mut String) {
        s.push_str("m=");
        writer::media_head(
            s,
            self.kind.as_str(),
            self.port,
            self.num_ports,
            self.protocol,
        );
        for f in &self.formats {
            s.push(' ');
            match f {
                Format::Text(t) => s.push_str(t),
                Format::Pt(pt) => writer::int(s, *pt),
            }
        }
        s.push_str("\r\n");
        write_lines(s, self.information.map(Line::Information));
        write_lines(s, self.connections.iter().map(|&c| Line::Connection(c)));
        write_lines(s, self.bandwidths.iter().map(|&b| Line::Bandwidth(b)));
        write_lines(s, self.key.map(Line::Key));
        for a in &self.attributes {
            a.write(s);
        }
    }
}

/// Writes each line (letter, `=`, value, CRLF).
fn write_lines<'a>(s: &mut String, lines: impl IntoIterator<Item = Line<'a>>) {
    for line in lines {
        line.write_to(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_offer_that_reads_back() {
        let sdp = SessionDescription::builder()
            .session_id(42, 2)
            .group("BUNDLE", ["0", "1"])
            .attribute(Attribute::ExtmapAllowMixed)
            .media(
                MediaBuilder::new(MediaKind::Audio, 9, "UDP/TLS/RTP/SAVPF")
                    .connection(Connection {
                        nettype: "IN",
                        addrtype: "IP4",
                        address: "0.0.0.0",
                    })
                    .mid("0")
                    .ice_credentials("ufrg", "passwordpasswordpassword")
                    .fingerprint("sha-256", "AB:CD")
                    .setup(Setup::ActPass)
                    .direction(Direction::SendRecv)
                    .rtcp_mux()
                    .codec(
                        Rtpmap {
                            payload_type: 111,
                            encoding_name: "opus",
                            clock_rate: 48000,
                            channels: Some(2),
                        },
                        "minptime=10;useinbandfec=1",
                        &[("transport-cc", None)],
                    ),
            )
            .media(
                MediaBuilder::new(MediaKind::Application, 9, "UDP/DTLS/SCTP")
                    .format("webrtc-datachannel")
                    .mid("1")
                    .sctp(5000, 262144),
            )
            .build()
            .unwrap();
        assert_eq!(sdp.origin().session_id, "42");
        assert_eq!(
            sdp.bundle_groups()
                .next()
                .unwrap()
                .mids()
                .collect::<Vec<_>>(),
            ["0", "1"]
        );
        let audio = sdp.media_by_mid("0").unwrap();
        let codecs = audio.codecs();
        assert_eq!(codecs.len(), 1);
        assert_eq!(codecs[0].name(), Some("opus"));
        assert_eq!(codecs[0].fmtp.unwrap().get("useinbandfec"), Some("1"));
        assert_eq!(codecs[0].rtcp_fb[0].feedback, "transport-cc");
        assert_eq!(audio.ice_credentials().unwrap().ufrag, "ufrg");
        assert_eq!(audio.setup(), Some(Setup::ActPass));
        let dc = sdp.media_by_mid("1").unwrap();
        assert_eq!(dc.sctp_port(), Some(5000));
        assert_eq!(dc.max_message_size(), Some(262144));
        // And the text round-trips.
        let text = sdp.to_string();
        assert_eq!(
            text.parse::<SessionDescription>().unwrap().to_string(),
            text
        );
    }

    #[test]
    fn invalid_values_are_errors_not_bad_sdp() {
        let e = SessionDescription::builder()
            .session_name("a\r\nm=evil")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Syntax { line: 3 | 4, .. }), "{e}");
        let e = SessionDescription::builder()
            .media(MediaBuilder::new(MediaKind::Video, 9, "UDP/TLS/RTP/SAVPF"))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("format"), "{e}");
    }
}
