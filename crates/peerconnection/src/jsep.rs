//! The SDP side of JSEP (RFC 8829): what we read from remote descriptions and how we write
//! local ones. Only data channels are negotiated for now; audio and video sections of a
//! remote offer are answered `inactive` inside the BUNDLE group (rejecting the offerer-tagged
//! section would reject the whole group, RFC 8843 §7.3.3), or rejected when not bundled.

use std::fmt::Write as _;

use ferrtc_ice::Credentials;
use ferrtc_sdp::{MediaKind, SessionDescription, Setup};

use crate::Error;

/// The application section's protocol (RFC 8841 §4.1).
pub(crate) const DATA_PROTO: &str = "UDP/DTLS/SCTP";
/// Its format.
pub(crate) const DATA_FORMAT: &str = "webrtc-datachannel";

/// Transport parameters of the remote description (of the BUNDLE transport).
#[derive(Debug, Clone, Default)]
pub(crate) struct RemoteTransport {
    pub creds: Option<Credentials>,
    pub lite: bool,
    pub fingerprint: Option<ferrtc_dtls::Fingerprint>,
    pub setup: Option<Setup>,
    pub candidates: Vec<String>,
    pub end_of_candidates: bool,
}

/// One media section of a remote description, as needed to answer it.
#[derive(Debug, Clone)]
pub(crate) struct RemoteSection {
    pub kind: String,
    pub proto: String,
    pub formats: Vec<String>,
    pub mid: Option<String>,
    pub rejected: bool,
    /// The first format's `a=rtpmap` / `a=fmtp` lines (audio/video), to answer with.
    pub format_lines: Vec<String>,
}

/// What we take from a remote description.
#[derive(Debug, Clone, Default)]
pub(crate) struct RemoteInfo {
    pub sections: Vec<RemoteSection>,
    /// Mids of the first BUNDLE group.
    pub bundle: Option<Vec<String>>,
    /// Index of the (first, non-rejected) data channel section.
    pub data_index: Option<usize>,
    pub sctp_port: Option<u16>,
    pub max_message_size: Option<u64>,
    pub transport: RemoteTransport,
}

impl RemoteInfo {
    pub(crate) fn data_mid(&self) -> Option<&str> {
        self.data_index
            .and_then(|i| self.sections.get(i))
            .and_then(|s| s.mid.as_deref())
    }
}

fn is_data_section(kind: &str, proto: &str) -> bool {
    kind == "application" && proto.to_ascii_uppercase().contains("SCTP")
}

/// Reads a remote description (RFC 8829 §5.10 and §5.11).
pub(crate) fn read_remote(sdp: &SessionDescription) -> Result<RemoteInfo, Error> {
    let mut info = RemoteInfo {
        bundle: sdp
            .bundle_groups()
            .next()
            .map(|g| g.mids().map(str::to_owned).collect()),
        ..Default::default()
    };
    for m in sdp.media() {
        let kind = match m.kind() {
            MediaKind::Audio => "audio".to_owned(),
            MediaKind::Video => "video".to_owned(),
            MediaKind::Application => "application".to_owned(),
            MediaKind::Other(s) => s.to_owned(),
        };
        let proto = m.protocol().to_owned();
        let formats: Vec<String> = m.formats().map(str::to_owned).collect();
        let mid = m.mid().map(str::to_owned);
        // A bundle-only section has port 0 but is not rejected (RFC 9143 §6).
        let rejected = m.is_rejected() && !m.bundle_only();
        let mut format_lines = Vec::new();
        if let Some(first) = formats.first() {
            let rtpmap = format!("a=rtpmap:{first} ");
            let fmtp = format!("a=fmtp:{first} ");
            format_lines.extend(
                m.lines()
                    .filter(|l| l.starts_with(&rtpmap) || l.starts_with(&fmtp))
                    .map(str::to_owned),
            );
        }
        if info.data_index.is_none() && !rejected && is_data_section(&kind, &proto) {
            info.data_index = Some(info.sections.len());
            info.sctp_port = m.sctp_port().or_else(|| {
                // The pre-RFC 8841 form: `m=application 9 DTLS/SCTP 5000` + `a=sctpmap`.
                formats.first().and_then(|f| f.parse().ok())
            });
            info.max_message_size = m.max_message_size();
        }
        info.sections.push(RemoteSection {
            kind,
            proto,
            formats,
            mid,
            rejected,
            format_lines,
        });
    }
    // The transport: that of the offerer-tagged section (first mid of the BUNDLE group) when
    // the data section is bundled, else the data section's own (RFC 9143 §7.1).
    let data_mid = info.data_mid().map(str::to_owned);
    let transport_index = match (&info.bundle, &data_mid) {
        (Some(group), Some(mid)) if group.iter().any(|g| g == mid) => group
            .first()
            .and_then(|tag| sdp.media().position(|m| m.mid() == Some(tag.as_str()))),
        _ => None,
    }
    .or(info.data_index);
    let Some(ti) = transport_index else {
        return Ok(info);
    };
    let bundled: Vec<usize> = match (&info.bundle, &data_mid) {
        (Some(group), Some(mid)) if group.iter().any(|g| g == mid) => sdp
            .media()
            .enumerate()
            .filter(|(_, m)| m.mid().is_some_and(|x| group.iter().any(|g| g == x)))
            .map(|(i, _)| i)
            .collect(),
        _ => vec![ti],
    };
    let Some(m) = sdp.media().nth(ti) else {
        return Ok(info);
    };
    let t = &mut info.transport;
    t.creds = m.ice_credentials().map(|c| Credentials {
        ufrag: c.ufrag.to_owned(),
        pwd: c.pwd.to_owned(),
    });
    t.lite = sdp.ice_lite();
    t.setup = m.setup();
    // Prefer a sha-256 fingerprint; any listed one the peer's certificate matches is fine,
    // but DTLS pins one, so take the strongest we know.
    let mut fps: Vec<ferrtc_dtls::Fingerprint> = m
        .fingerprints()
        .iter()
        .filter_map(|f| format!("{} {}", f.algorithm, f.value).parse().ok())
        .collect();
    fps.sort_by_key(|f: &ferrtc_dtls::Fingerprint| match f.algorithm {
        ferrtc_dtls::HashAlgorithm::Sha256 => 0,
        ferrtc_dtls::HashAlgorithm::Sha384 => 1,
        ferrtc_dtls::HashAlgorithm::Sha512 => 2,
        _ => 3,
    });
    t.fingerprint = fps.into_iter().next();
    if t.fingerprint.is_none() && !m.fingerprints().is_empty() {
        return Err(Error::InvalidDescription(
            "a=fingerprint uses an unknown hash function".into(),
        ));
    }
    for i in bundled {
        if let Some(m) = sdp.media().nth(i) {
            for c in m.candidates() {
                if !t.candidates.iter().any(|x| x == c) {
                    t.candidates.push(c.to_owned());
                }
            }
            t.end_of_candidates |= m.end_of_candidates();
        }
    }
    Ok(info)
}

/// One section of a local description.
#[derive(Debug, Clone)]
pub(crate) enum LocalSection {
    /// The data channel section.
    Data { mid: String, proto: String },
    /// An audio/video section answered without media (`a=inactive`).
    Inactive {
        kind: String,
        proto: String,
        mid: Option<String>,
        format: String,
        format_lines: Vec<String>,
    },
    /// A rejected section (port 0).
    Rejected {
        kind: String,
        proto: String,
        formats: Vec<String>,
        mid: Option<String>,
    },
}

impl LocalSection {
    fn mid(&self) -> Option<&str> {
        match self {
            LocalSection::Data { mid, .. } => Some(mid),
            LocalSection::Inactive { mid, .. } | LocalSection::Rejected { mid, .. } => {
                mid.as_deref()
            }
        }
    }
}

/// Everything a local description is written from.
#[derive(Debug)]
pub(crate) struct LocalParams<'a> {
    pub session_id: u64,
    pub session_version: u64,
    pub creds: &'a Credentials,
    pub fingerprint: &'a str,
    pub setup: Setup,
    pub ice_lite: bool,
    pub sections: &'a [LocalSection],
    pub bundle: bool,
    pub sctp_port: u16,
    pub max_message_size: u64,
    pub candidates: &'a [String],
    pub end_of_candidates: bool,
}

/// Writes a local description (RFC 8829 §5.2.1 / §5.3.1).
pub(crate) fn write_local(p: &LocalParams<'_>) -> String {
    let mut s = String::with_capacity(1024);
    let _ = write!(
        s,
        "v=0\r\no=- {} {} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        p.session_id, p.session_version
    );
    let live: Vec<&str> = p
        .sections
        .iter()
        .filter(|x| !matches!(x, LocalSection::Rejected { .. }))
        .filter_map(LocalSection::mid)
        .collect();
    if p.bundle && !live.is_empty() {
        let _ = write!(s, "a=group:BUNDLE {}\r\n", live.join(" "));
    }
    if p.ice_lite {
        s.push_str("a=ice-lite\r\n");
    }
    s.push_str("a=msid-semantic: WMS\r\n");
    let mut first_live = true;
    for sec in p.sections {
        let transport = |s: &mut String, first: &mut bool| {
            let _ = write!(
                s,
                "c=IN IP4 0.0.0.0\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
                p.creds.ufrag, p.creds.pwd
            );
            if !p.ice_lite {
                s.push_str("a=ice-options:trickle\r\n");
            }
            let _ = write!(
                s,
                "a=fingerprint:{}\r\na=setup:{}\r\n",
                p.fingerprint,
                p.setup.as_str()
            );
            if *first {
                for c in p.candidates {
                    let _ = write!(s, "a={c}\r\n");
                }
                if p.end_of_candidates {
                    s.push_str("a=end-of-candidates\r\n");
                }
                *first = false;
            }
        };
        match sec {
            LocalSection::Data { mid, proto } => {
                let _ = write!(s, "m=application 9 {proto} {DATA_FORMAT}\r\n");
                transport(&mut s, &mut first_live);
                let _ = write!(
                    s,
                    "a=mid:{mid}\r\na=sctp-port:{}\r\na=max-message-size:{}\r\n",
                    p.sctp_port, p.max_message_size
                );
            }
            LocalSection::Inactive {
                kind,
                proto,
                mid,
                format,
                format_lines,
            } => {
                let _ = write!(s, "m={kind} 9 {proto} {format}\r\n");
                transport(&mut s, &mut first_live);
                if let Some(mid) = mid {
                    let _ = write!(s, "a=mid:{mid}\r\n");
                }
                s.push_str("a=inactive\r\na=rtcp-mux\r\n");
                for l in format_lines {
                    let _ = write!(s, "{l}\r\n");
                }
            }
            LocalSection::Rejected {
                kind,
                proto,
                formats,
                mid,
            } => {
                let f = if formats.is_empty() {
                    "0".to_owned()
                } else {
                    formats.join(" ")
                };
                let _ = write!(s, "m={kind} 0 {proto} {f}\r\nc=IN IP4 0.0.0.0\r\n");
                if let Some(mid) = mid {
                    let _ = write!(s, "a=mid:{mid}\r\n");
                }
            }
        }
    }
    s
}

/// The sections of an answer to `remote` (RFC 8829 §5.3.1).
pub(crate) fn answer_sections(remote: &RemoteInfo) -> Vec<LocalSection> {
    let bundled = |mid: &Option<String>| match (&remote.bundle, mid) {
        (Some(g), Some(m)) => g.iter().any(|x| x == m),
        _ => false,
    };
    let data_bundled = remote
        .data_index
        .and_then(|i| remote.sections.get(i))
        .is_some_and(|s| bundled(&s.mid));
    remote
        .sections
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            let reject = || LocalSection::Rejected {
                kind: sec.kind.clone(),
                proto: sec.proto.clone(),
                formats: sec.formats.clone(),
                mid: sec.mid.clone(),
            };
            if sec.rejected {
                return reject();
            }
            if Some(i) == remote.data_index {
                return LocalSection::Data {
                    mid: sec.mid.clone().unwrap_or_else(|| i.to_string()),
                    proto: sec.proto.clone(),
                };
            }
            let media = sec.kind == "audio" || sec.kind == "video";
            match sec.formats.first() {
                Some(f) if media && data_bundled && bundled(&sec.mid) => LocalSection::Inactive {
                    kind: sec.kind.clone(),
                    proto: sec.proto.clone(),
                    mid: sec.mid.clone(),
                    format: f.clone(),
                    format_lines: sec.format_lines.clone(),
                },
                _ => reject(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM: &str = include_str!("../tests/data/chromium-offer-av-dc.sdp");

    #[test]
    fn reads_chromium_bundle_transport() {
        let sdp: SessionDescription = CHROMIUM.parse().unwrap();
        let info = read_remote(&sdp).unwrap();
        assert!(info.data_index.is_some());
        assert!(info.transport.creds.is_some());
        assert!(info.transport.fingerprint.is_some());
        assert_eq!(info.transport.setup, Some(Setup::ActPass));
        let answer = answer_sections(&info);
        assert_eq!(answer.len(), info.sections.len());
        assert!(answer
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. })));
    }
}
