//! Reading a remote description (RFC 8829 §5.10, §5.11): its sections, and the transport
//! parameters of the BUNDLE transport the data channel uses.

use ferrtc_ice::Credentials;
use ferrtc_sdp::{Media, MediaKind, SessionDescription, Setup};

use crate::Error;

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
        let sec = read_section(&m);
        if info.data_index.is_none() && !sec.rejected && is_data_section(&sec.kind, &sec.proto) {
            info.data_index = Some(info.sections.len());
            info.sctp_port = m.sctp_port().or_else(|| {
                // The pre-RFC 8841 form: `m=application 9 DTLS/SCTP 5000` + `a=sctpmap`.
                sec.formats.first().and_then(|f| f.parse().ok())
            });
            info.max_message_size = m.max_message_size();
        }
        info.sections.push(sec);
    }
    info.transport = read_transport(sdp, &info)?;
    Ok(info)
}

/// One m= section as needed to answer it.
fn read_section(m: &Media<'_>) -> RemoteSection {
    let kind = match m.kind() {
        MediaKind::Audio => "audio".to_owned(),
        MediaKind::Video => "video".to_owned(),
        MediaKind::Application => "application".to_owned(),
        MediaKind::Other(s) => s.to_owned(),
    };
    let formats: Vec<String> = m.formats().map(str::to_owned).collect();
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
    RemoteSection {
        kind,
        proto: m.protocol().to_owned(),
        formats,
        mid: m.mid().map(str::to_owned),
        // A bundle-only section has port 0 but is not rejected (RFC 9143 §6).
        rejected: m.is_rejected() && !m.bundle_only(),
        format_lines,
    }
}

/// The transport of the data section: that of the offerer-tagged section (first mid of the
/// BUNDLE group) when the data section is bundled, else the data section's own (RFC 9143
/// §7.1). Candidates are gathered from every section of the group.
fn read_transport(sdp: &SessionDescription, info: &RemoteInfo) -> Result<RemoteTransport, Error> {
    let group = match (&info.bundle, info.data_mid()) {
        (Some(group), Some(mid)) if group.iter().any(|g| g == mid) => Some(group),
        _ => None,
    };
    let transport_index = group
        .and_then(|g| g.first())
        .and_then(|tag| sdp.media().position(|m| m.mid() == Some(tag.as_str())))
        .or(info.data_index);
    let Some(ti) = transport_index else {
        return Ok(RemoteTransport::default());
    };
    let bundled: Vec<usize> = match group {
        Some(group) => sdp
            .media()
            .enumerate()
            .filter(|(_, m)| m.mid().is_some_and(|x| group.iter().any(|g| g == x)))
            .map(|(i, _)| i)
            .collect(),
        None => vec![ti],
    };
    let Some(m) = sdp.media().nth(ti) else {
        return Ok(RemoteTransport::default());
    };
    let mut t = RemoteTransport {
        creds: m.ice_credentials().map(|c| Credentials {
            ufrag: c.ufrag.to_owned(),
            pwd: c.pwd.to_owned(),
        }),
        lite: sdp.ice_lite(),
        setup: m.setup(),
        fingerprint: best_fingerprint(&m)?,
        ..Default::default()
    };
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
    Ok(t)
}

/// The fingerprint DTLS pins. Any listed one the peer's certificate matches is fine, so take
/// the strongest hash we know, sha-256 first (RFC 8122 §5).
fn best_fingerprint(m: &Media<'_>) -> Result<Option<ferrtc_dtls::Fingerprint>, Error> {
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
    let best = fps.into_iter().next();
    if best.is_none() && !m.fingerprints().is_empty() {
        return Err(Error::InvalidDescription(
            "a=fingerprint uses an unknown hash function".into(),
        ));
    }
    Ok(best)
}
