//! Reading a remote description (RFC 8829 §5.10, §5.11): its sections, and the transport
//! parameters of the BUNDLE transport the data channel uses.

use ferrtc_ice::Credentials;
use ferrtc_sdp::{Media, MediaKind, RidDirection, SessionDescription, Setup};
use tracing::debug;

use crate::media::{self, Codec, Direction, RemoteSsrc, RtcpFeedback};
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
    /// What an audio/video section says about its media.
    pub media: Option<RemoteMedia>,
}

/// An audio/video section of a remote description: everything JSEP needs to answer it and
/// the engine needs to receive it (RFC 8829 §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteMedia {
    pub kind: media::MediaKind,
    /// The remote's direction attribute.
    pub direction: Direction,
    /// Codecs of the m= line in order (RTX entries folded into their codec's
    /// `rtx_payload_type`; formats that are no payload type, or have no rtpmap and no static
    /// mapping, left out).
    pub codecs: Vec<Codec>,
    /// `a=extmap` ids (1–255) and URIs, first mapping of an id kept.
    pub extensions: Vec<(u8, String)>,
    pub rtcp_rsize: bool,
    /// `a=ssrc` sources with their `a=ssrc-group:FID` repair SSRC.
    pub ssrcs: Vec<RemoteSsrc>,
    /// `a=msid` stream ids (`-` dropped) and track id (or `a=ssrc:<n> msid:`).
    pub stream_ids: Vec<String>,
    pub track_id: Option<String>,
    /// RIDs the remote sends (`a=rid:<id> send`) and receives (`recv`).
    pub send_rids: Vec<String>,
    pub recv_rids: Vec<String>,
    /// `a=extmap-allow-mixed` in this section (not at session level; RFC 8285 §6).
    pub extmap_allow_mixed: bool,
}

/// What we take from a remote description.
#[derive(Debug, Clone, Default)]
pub(crate) struct RemoteInfo {
    pub sections: Vec<RemoteSection>,
    /// Mids of the first BUNDLE group.
    pub bundle: Option<Vec<String>>,
    /// Index of the (first, non-rejected) data channel section.
    pub data_index: Option<usize>,
    /// Index of the section whose transport the connection uses: the offerer-tagged section
    /// of the BUNDLE group, else the data section, else the first section in use.
    pub transport_index: Option<usize>,
    pub sctp_port: Option<u16>,
    pub max_message_size: Option<u64>,
    pub transport: RemoteTransport,
    /// `a=extmap-allow-mixed` at session level (RFC 8285 §6).
    pub extmap_allow_mixed: bool,
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
        extmap_allow_mixed: sdp.extmap_allow_mixed(),
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
    info.transport_index = transport_index(sdp, &info);
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
        media: match m.kind() {
            MediaKind::Audio => Some(read_media(m, media::MediaKind::Audio)),
            MediaKind::Video => Some(read_media(m, media::MediaKind::Video)),
            _ => None,
        },
        format_lines,
    }
}

/// The media part of an audio/video section. Impossible values are left out with a debug
/// line rather than failing the description (RFC 3264 §6: the answerer ignores formats it
/// does not understand): a payload type above 127, a codec without rtpmap and no static
/// mapping, an RTX whose `apt` names no listed codec, an extmap id above 255.
fn read_media(m: &Media<'_>, kind: media::MediaKind) -> RemoteMedia {
    let all = m.codecs();
    let mut codecs: Vec<Codec> = Vec::new();
    let mut rtx: Vec<(u8, u8)> = Vec::new();
    for c in &all {
        let Some(rtpmap) = c.rtpmap else {
            debug!(
                pt = c.payload_type,
                "pc: remote format without rtpmap ignored"
            );
            continue;
        };
        if rtpmap.encoding_name.eq_ignore_ascii_case("rtx") {
            match c
                .fmtp
                .and_then(|f| f.get("apt"))
                .and_then(|a| a.parse::<u8>().ok())
            {
                Some(apt) => rtx.push((c.payload_type, apt)),
                None => debug!(pt = c.payload_type, "pc: rtx without apt ignored"),
            }
            continue;
        }
        if rtpmap.clock_rate == 0 {
            debug!(
                pt = c.payload_type,
                "pc: remote codec with clock rate 0 ignored"
            );
            continue;
        }
        codecs.push(Codec {
            payload_type: c.payload_type,
            mime_type: format!("{}/{}", kind.as_str(), rtpmap.encoding_name),
            clock_rate: rtpmap.clock_rate,
            channels: rtpmap.channels,
            sdp_fmtp_line: c.fmtp.map(|f| f.params.to_owned()),
            rtcp_feedback: c
                .rtcp_fb
                .iter()
                .map(|f| RtcpFeedback::new(f.feedback, f.param))
                .collect(),
            rtx_payload_type: None,
        });
    }
    for (pt, apt) in rtx {
        match codecs.iter_mut().find(|c| c.payload_type == apt) {
            Some(c) if c.rtx_payload_type.is_none() => c.rtx_payload_type = Some(pt),
            Some(_) => debug!(pt, apt, "pc: second rtx for one codec ignored"),
            None => debug!(
                pt,
                apt, "pc: rtx apt names no codec of the section; ignored"
            ),
        }
    }
    let mut extensions: Vec<(u8, String)> = Vec::new();
    for e in m.extmaps() {
        match u8::try_from(e.id) {
            Ok(id) if id != 0 && !extensions.iter().any(|(i, _)| *i == id) => {
                extensions.push((id, e.uri.to_owned()));
            }
            _ => debug!(
                id = e.id,
                uri = e.uri,
                "pc: remote extmap id not usable; ignored"
            ),
        }
    }
    // RFC 5576 §4.2 / RFC 4588 §8.1: FID groups pair a media SSRC with its RTX SSRC.
    let mut fid: Vec<(u32, u32)> = Vec::new();
    for g in m.ssrc_groups() {
        if g.semantics.eq_ignore_ascii_case("FID") {
            let mut it = g.ssrcs();
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                fid.push((a, b));
            }
        }
    }
    let mut ssrcs: Vec<RemoteSsrc> = Vec::new();
    let mut ssrc_msid: Option<(&str, Option<&str>)> = None;
    for s in m.ssrcs() {
        if s.attribute == "msid" && ssrc_msid.is_none() {
            if let Some(v) = s.value {
                let mut w = v.split(' ');
                ssrc_msid = w.next().map(|stream| (stream, w.next()));
            }
        }
        let is_rtx = fid.iter().any(|(_, r)| *r == s.ssrc);
        if is_rtx || ssrcs.iter().any(|x| x.ssrc == s.ssrc) {
            continue;
        }
        ssrcs.push(RemoteSsrc {
            ssrc: s.ssrc,
            rtx: fid.iter().find(|(a, _)| *a == s.ssrc).map(|(_, r)| *r),
        });
    }
    let mut stream_ids = Vec::new();
    let mut track_id = None;
    for msid in m.msids() {
        if msid.stream_id != "-" && !stream_ids.iter().any(|s| s == msid.stream_id) {
            stream_ids.push(msid.stream_id.to_owned());
        }
        if track_id.is_none() {
            track_id = msid.track_id.map(str::to_owned);
        }
    }
    if stream_ids.is_empty() && track_id.is_none() {
        if let Some((stream, track)) = ssrc_msid {
            if stream != "-" {
                stream_ids.push(stream.to_owned());
            }
            track_id = track.map(str::to_owned);
        }
    }
    let mut send_rids = Vec::new();
    let mut recv_rids = Vec::new();
    for r in m.rids() {
        match r.direction {
            RidDirection::Send => send_rids.push(r.id.to_owned()),
            RidDirection::Recv => recv_rids.push(r.id.to_owned()),
        }
    }
    RemoteMedia {
        kind,
        direction: m.direction(),
        codecs,
        extensions,
        rtcp_rsize: m.rtcp_rsize(),
        ssrcs,
        stream_ids,
        track_id,
        send_rids,
        recv_rids,
        extmap_allow_mixed: m.lines().any(|l| l.trim_end() == "a=extmap-allow-mixed"),
    }
}

/// The section whose transport the connection uses (RFC 9143 §7.1: the offerer-tagged
/// section of the BUNDLE group; without a group, the data section, else the first section in
/// use).
fn transport_index(sdp: &SessionDescription, info: &RemoteInfo) -> Option<usize> {
    let tagged = info
        .bundle
        .as_ref()
        .and_then(|g| g.first())
        .and_then(|tag| sdp.media().position(|m| m.mid() == Some(tag.as_str())))
        .filter(|&i| info.sections.get(i).is_some_and(|s| !s.rejected));
    tagged
        .or(info.data_index)
        .or_else(|| info.sections.iter().position(|s| !s.rejected))
}

/// The transport of the section the connection uses ([`transport_index`]). Candidates are
/// gathered from every section of the BUNDLE group when that section is bundled.
fn read_transport(sdp: &SessionDescription, info: &RemoteInfo) -> Result<RemoteTransport, Error> {
    let Some(ti) = info.transport_index else {
        return Ok(RemoteTransport::default());
    };
    let ti_mid = info.sections.get(ti).and_then(|s| s.mid.as_deref());
    let group = match (&info.bundle, ti_mid) {
        (Some(group), Some(mid)) if group.iter().any(|g| g == mid) => Some(group),
        _ => None,
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
