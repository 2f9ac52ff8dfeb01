//! Writing descriptions: [`SessionDescriptionBuilder`] and [`MediaBuilder`].
//!
//! The builders write SDP text line by line in RFC 8866 order from typed values, then
//! parse the result, so whatever they build is exactly what a peer will receive and has
//! passed the same checks as a remote description.

use std::fmt::Write as _;

use crate::attribute::{
    Attribute, Direction, Extmap, Fingerprint, Rtcp, RtcpFb, Rtpmap, Setup, Ssrc,
};
use crate::error::Error;
use crate::fields::{Bandwidth, Connection, MediaKind, Origin, Timing};
use crate::session::SessionDescription;

/// Builds a [`SessionDescription`] (used by the peer connection to write offers and
/// answers).
///
/// Defaults: `o=- 0 0 IN IP4 127.0.0.1`, `s=-`, `t=0 0`, as browsers write them.
#[derive(Debug, Clone)]
pub struct SessionDescriptionBuilder {
    origin: String,
    session_name: String,
    information: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<String>,
    bandwidths: Vec<String>,
    timings: Vec<String>,
    attributes: Vec<String>,
    media: Vec<MediaBuilder>,
}

impl Default for SessionDescriptionBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionDescriptionBuilder {
    /// A builder with the browser defaults.
    pub fn new() -> Self {
        SessionDescriptionBuilder {
            origin: "- 0 0 IN IP4 127.0.0.1".into(),
            session_name: "-".into(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: Vec::new(),
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Sets the `o=` line.
    pub fn origin(mut self, origin: Origin<'_>) -> Self {
        self.origin = origin.to_string();
        self
    }

    /// Sets `o=- <session id> <version> IN IP4 127.0.0.1`, the JSEP form (RFC 8829 §5.2.1).
    pub fn session_id(mut self, id: u64, version: u64) -> Self {
        self.origin = format!("- {id} {version} IN IP4 127.0.0.1");
        self
    }

    /// Sets the `s=` line.
    pub fn session_name(mut self, name: &str) -> Self {
        self.session_name = name.into();
        self
    }

    /// Sets the `i=` line.
    pub fn information(mut self, text: &str) -> Self {
        self.information = Some(text.into());
        self
    }

    /// Sets the `u=` line.
    pub fn uri(mut self, uri: &str) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Adds an `e=` line.
    pub fn email(mut self, email: &str) -> Self {
        self.emails.push(email.into());
        self
    }

    /// Adds a `p=` line.
    pub fn phone(mut self, phone: &str) -> Self {
        self.phones.push(phone.into());
        self
    }

    /// Sets the session-level `c=` line.
    pub fn connection(mut self, c: Connection<'_>) -> Self {
        self.connection = Some(c.to_string());
        self
    }

    /// Adds a session-level `b=` line.
    pub fn bandwidth(mut self, b: Bandwidth<'_>) -> Self {
        self.bandwidths.push(b.to_string());
        self
    }

    /// Adds a `t=` line (default: one `t=0 0`).
    pub fn timing(mut self, t: Timing) -> Self {
        self.timings.push(t.to_string());
        self
    }

    /// Adds a session-level attribute.
    pub fn attribute(mut self, a: Attribute<'_>) -> Self {
        self.attributes.push(a.to_string());
        self
    }

    /// Adds `a=group:<semantics> <mids>`.
    pub fn group<'m>(mut self, semantics: &str, mids: impl IntoIterator<Item = &'m str>) -> Self {
        let mut s = format!("group:{semantics}");
        for m in mids {
            let _ = write!(s, " {m}");
        }
        self.attributes.push(s);
        self
    }

    /// Adds a media section.
    pub fn media(mut self, m: MediaBuilder) -> Self {
        self.media.push(m);
        self
    }

    /// The text the builder will parse, with CRLF line endings.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(1024);
        let mut line = |t: &str, v: &str| {
            s.push_str(t);
            s.push_str(v);
            s.push_str("\r\n");
        };
        line("v=", "0");
        line("o=", &self.origin);
        line("s=", &self.session_name);
        if let Some(i) = &self.information {
            line("i=", i);
        }
        if let Some(u) = &self.uri {
            line("u=", u);
        }
        for e in &self.emails {
            line("e=", e);
        }
        for p in &self.phones {
            line("p=", p);
        }
        if let Some(c) = &self.connection {
            line("c=", c);
        }
        for b in &self.bandwidths {
            line("b=", b);
        }
        if self.timings.is_empty() {
            line("t=", "0 0");
        }
        for t in &self.timings {
            line("t=", t);
        }
        for a in &self.attributes {
            line("a=", a);
        }
        for m in &self.media {
            m.write(&mut s);
        }
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
pub struct MediaBuilder {
    kind: String,
    port: u16,
    protocol: String,
    formats: Vec<String>,
    information: Option<String>,
    connections: Vec<String>,
    bandwidths: Vec<String>,
    attributes: Vec<String>,
}

impl MediaBuilder {
    /// Starts `m=<kind> <port> <protocol>`; formats are added by [`format`](Self::format)
    /// and [`codec`](Self::codec).
    pub fn new(kind: MediaKind<'_>, port: u16, protocol: &str) -> Self {
        MediaBuilder {
            kind: kind.as_str().into(),
            port,
            protocol: protocol.into(),
            formats: Vec::new(),
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// Adds a format to the m= line.
    pub fn format(mut self, fmt: &str) -> Self {
        self.formats.push(fmt.into());
        self
    }

    /// Sets the `i=` line.
    pub fn information(mut self, text: &str) -> Self {
        self.information = Some(text.into());
        self
    }

    /// Adds a `c=` line.
    pub fn connection(mut self, c: Connection<'_>) -> Self {
        self.connections.push(c.to_string());
        self
    }

    /// Adds a `b=` line (`b=AS`, `b=TIAS`, …).
    pub fn bandwidth(mut self, b: Bandwidth<'_>) -> Self {
        self.bandwidths.push(b.to_string());
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, a: Attribute<'_>) -> Self {
        self.attributes.push(a.to_string());
        self
    }

    /// Adds a codec: its payload type to the m= line, then `a=rtpmap`, the `a=rtcp-fb`
    /// lines and `a=fmtp` (if `fmtp` is not empty), as Chrome orders them.
    pub fn codec(
        mut self,
        rtpmap: Rtpmap<'_>,
        fmtp: &str,
        rtcp_fb: &[(&str, Option<&str>)],
    ) -> Self {
        let pt = rtpmap.payload_type;
        self.formats.push(pt.to_string());
        self.attributes.push(Attribute::Rtpmap(rtpmap).to_string());
        for &(feedback, param) in rtcp_fb {
            self.attributes.push(
                Attribute::RtcpFb(RtcpFb {
                    payload_type: Some(pt),
                    feedback,
                    param,
                })
                .to_string(),
            );
        }
        if !fmtp.is_empty() {
            self.attributes.push(format!("fmtp:{pt} {fmtp}"));
        }
        self
    }

    /// `a=mid`.
    pub fn mid(self, mid: &str) -> Self {
        self.attribute(Attribute::Mid(mid))
    }

    /// A direction attribute.
    pub fn direction(self, d: Direction) -> Self {
        self.attribute(Attribute::Direction(d))
    }

    /// `a=ice-ufrag` and `a=ice-pwd`.
    pub fn ice_credentials(self, ufrag: &str, pwd: &str) -> Self {
        self.attribute(Attribute::IceUfrag(ufrag))
            .attribute(Attribute::IcePwd(pwd))
    }

    /// `a=fingerprint`.
    pub fn fingerprint(self, algorithm: &str, value: &str) -> Self {
        self.attribute(Attribute::Fingerprint(Fingerprint { algorithm, value }))
    }

    /// `a=setup`.
    pub fn setup(self, s: Setup) -> Self {
        self.attribute(Attribute::Setup(s))
    }

    /// `a=extmap:<id> <uri>`.
    pub fn extmap(self, id: u16, uri: &str) -> Self {
        self.attribute(Attribute::Extmap(Extmap {
            id,
            direction: None,
            uri,
            attributes: None,
        }))
    }

    /// `a=ssrc:<ssrc> <attribute>[:<value>]`.
    pub fn ssrc(self, ssrc: u32, attribute: &str, value: Option<&str>) -> Self {
        self.attribute(Attribute::Ssrc(Ssrc {
            ssrc,
            attribute,
            value,
        }))
    }

    /// `a=rtcp:<port> IN IP4 <address>` is often required by older stacks; this writes
    /// the given form.
    pub fn rtcp(self, rtcp: Rtcp<'_>) -> Self {
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

    fn write(&self, s: &mut String) {
        let _ = write!(s, "m={} {} {}", self.kind, self.port, self.protocol);
        for f in &self.formats {
            s.push(' ');
            s.push_str(f);
        }
        s.push_str("\r\n");
        if let Some(i) = &self.information {
            let _ = write!(s, "i={i}\r\n");
        }
        for c in &self.connections {
            let _ = write!(s, "c={c}\r\n");
        }
        for b in &self.bandwidths {
            let _ = write!(s, "b={b}\r\n");
        }
        for a in &self.attributes {
            let _ = write!(s, "a={a}\r\n");
        }
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
