//! Writing a local description (RFC 8829 §5.2.1 offers, §5.3.1 answers) with the sdp
//! crate's builder, the one SDP writer of the workspace.

use ferrtc_ice::Credentials;
use ferrtc_sdp::{
    Attribute, Connection, MediaBuilder, MediaKind, Msid, Rid, RidDirection, Rtpmap,
    SessionDescription, Setup, Simulcast, SimulcastList, SsrcGroup,
};
use tracing::debug;

use super::{LocalSection, MediaSection, DATA_FORMAT};
use crate::media::codec::encoding_name;

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
    /// In an answer, the offerer-tagged mid: first in our BUNDLE group, the answerer-tagged
    /// section (RFC 8843 §7.3.1).
    pub bundle_tag: Option<&'a str>,
    /// `a=extmap-allow-mixed` at session level: an answer to an offer that has it there
    /// (RFC 8285 §6).
    pub extmap_allow_mixed: bool,
}

/// `c=IN IP4 0.0.0.0`: the address of every section (RFC 8829 §5.2.1; candidates carry the
/// real ones).
const NO_ADDRESS: Connection<'static> = Connection {
    nettype: "IN",
    addrtype: "IP4",
    address: "0.0.0.0",
};

/// Writes a local description (RFC 8829 §5.2.1 / §5.3.1): session lines, the BUNDLE group of
/// the sections in use, then each section with the transport attributes (candidates only in
/// the first one: the BUNDLE transport's, RFC 8843 §7.1.2).
pub(crate) fn write_local(p: &LocalParams<'_>) -> String {
    let mut b = SessionDescription::builder().session_id(p.session_id, p.session_version);
    let live: Vec<&str> = p
        .sections
        .iter()
        .filter(|x| !matches!(x, LocalSection::Rejected { .. }))
        .filter_map(LocalSection::mid)
        .collect();
    let mut live = live;
    if let Some(i) = p
        .bundle_tag
        .and_then(|tag| live.iter().position(|m| *m == tag))
    {
        let tag = live.remove(i);
        live.insert(0, tag);
    }
    let cand_index = transport_section(p.sections, p.bundle, p.bundle_tag);
    if p.bundle && !live.is_empty() {
        b = b.group("BUNDLE", live);
    }
    if p.extmap_allow_mixed {
        b = b.attribute(Attribute::ExtmapAllowMixed);
    }
    if p.ice_lite {
        b = b.ice_lite();
    }
    b = b.msid_semantic("WMS", "");
    // The owned texts the media sections borrow (RTX fmtp, SSRC values, simulcast lists).
    let texts: Vec<Option<MediaTexts>> = p
        .sections
        .iter()
        .map(|s| match s {
            LocalSection::Media(m) => Some(MediaTexts::of(m)),
            _ => None,
        })
        .collect();
    for (i, (sec, text)) in p.sections.iter().zip(&texts).enumerate() {
        let with_candidates = Some(i) == cand_index;
        let m = match sec {
            LocalSection::Media(ms) => {
                let m = MediaBuilder::new(
                    MediaKind::from_name(ms.kind.as_str()),
                    9,
                    super::MEDIA_PROTO,
                );
                let m = transport(p, m, with_candidates);
                match text {
                    Some(t) => media_lines(m, ms, t),
                    None => m,
                }
            }
            LocalSection::Data { mid, proto } => {
                let m = MediaBuilder::new(MediaKind::Application, 9, proto).format(DATA_FORMAT);
                transport(p, m, with_candidates)
                    .mid(mid)
                    .sctp(p.sctp_port, p.max_message_size)
            }
            LocalSection::Inactive {
                kind,
                proto,
                mid,
                format,
                format_lines,
            } => {
                let m = MediaBuilder::new(MediaKind::from_name(kind), 9, proto).format(format);
                let mut m = transport(p, m, with_candidates);
                if let Some(mid) = mid {
                    m = m.mid(mid);
                }
                m = m.direction(ferrtc_sdp::Direction::Inactive).rtcp_mux();
                for l in format_lines {
                    match Attribute::parse_line(l) {
                        Ok(a) => m = m.attribute(a),
                        Err(e) => debug!(error = %e, line = l, "pc: remote format line not echoed"),
                    }
                }
                m
            }
            LocalSection::Rejected {
                kind,
                proto,
                formats,
                mid,
            } => {
                let mut m = MediaBuilder::new(MediaKind::from_name(kind), 0, proto);
                if formats.is_empty() {
                    m = m.format("0");
                }
                for f in formats {
                    m = m.format(f);
                }
                m = m.connection(NO_ADDRESS);
                if let Some(mid) = mid {
                    m = m.mid(mid);
                }
                m
            }
        };
        b = b.media(m);
    }
    b.to_text()
}

/// The index of the section that carries the transport (and the candidates) among
/// `sections`: with BUNDLE, the tagged section — the first mid of our group, i.e. in an answer
/// the offerer-tagged one when we kept it (RFC 8843 §7.1.2, §7.3.1) — else the first section
/// in use. Trickled candidates name this section (its mid and m-line index).
pub(crate) fn transport_section(
    sections: &[LocalSection],
    bundle: bool,
    bundle_tag: Option<&str>,
) -> Option<usize> {
    let live = |s: &&LocalSection| !matches!(s, LocalSection::Rejected { .. });
    let tagged = bundle_tag
        .filter(|_| bundle)
        .and_then(|t| sections.iter().position(|s| live(&s) && s.mid() == Some(t)));
    tagged.or_else(|| sections.iter().position(|s| live(&s)))
}

/// Texts of a media section that the builder borrows.
struct MediaTexts {
    rtx_fmtp: Vec<String>,
    msid_value: String,
    fid: Option<String>,
    send_list: String,
    recv_list: String,
}

impl MediaTexts {
    fn of(m: &MediaSection) -> Self {
        let track = &m.track_id;
        let msid_value = match m.stream_ids.first() {
            Some(s) => format!("{s} {track}"),
            None => format!("- {track}"),
        };
        MediaTexts {
            rtx_fmtp: m
                .codecs
                .iter()
                .map(|c| format!("apt={}", c.payload_type))
                .collect(),
            msid_value,
            fid: m.rtx_ssrc.map(|r| format!("{} {r}", m.ssrc)),
            send_list: m.send_rids.join(";"),
            recv_list: m.recv_rids.join(";"),
        }
    }
}

/// The media lines of an audio/video section after its transport lines, in Chromium's order
/// (RFC 8829 §5.2.1): mid, extmaps, direction, msid, rtcp-mux, rtcp-rsize, codecs (rtpmap,
/// rtcp-fb, fmtp; RTX after its codec), rids and simulcast, ssrc-group and ssrcs.
fn media_lines<'a>(
    mut m: MediaBuilder<'a>,
    s: &'a MediaSection,
    t: &'a MediaTexts,
) -> MediaBuilder<'a> {
    m = m.mid(&s.mid);
    for (id, uri) in &s.extensions {
        m = m.extmap(u16::from(*id), uri);
    }
    if s.extmap_allow_mixed {
        m = m.attribute(Attribute::ExtmapAllowMixed);
    }
    m = m.direction(s.direction);
    let sends = s.direction.sends();
    if sends {
        if s.stream_ids.is_empty() {
            m = m.attribute(Attribute::Msid(Msid {
                stream_id: "-",
                track_id: Some(&s.track_id),
            }));
        }
        for stream in &s.stream_ids {
            m = m.attribute(Attribute::Msid(Msid {
                stream_id: stream,
                track_id: Some(&s.track_id),
            }));
        }
    }
    m = m.rtcp_mux();
    if s.rtcp_rsize {
        m = m.attribute(Attribute::RtcpRsize);
    }
    for (c, apt) in s.codecs.iter().zip(&t.rtx_fmtp) {
        let fb: Vec<(&str, Option<&str>)> = c
            .rtcp_feedback
            .iter()
            .map(|f| (f.kind.as_str(), f.param.as_deref()))
            .collect();
        m = m.codec(
            Rtpmap {
                payload_type: c.payload_type,
                encoding_name: encoding_name(&c.mime_type),
                clock_rate: c.clock_rate,
                channels: c.channels.filter(|&n| n > 1),
            },
            c.sdp_fmtp_line.as_deref().unwrap_or(""),
            &fb,
        );
        if let Some(rtx) = c.rtx_payload_type {
            m = m.codec(
                Rtpmap {
                    payload_type: rtx,
                    encoding_name: "rtx",
                    clock_rate: c.clock_rate,
                    channels: None,
                },
                apt,
                &[],
            );
        }
    }
    for rid in &s.send_rids {
        m = m.attribute(Attribute::Rid(Rid {
            id: rid,
            direction: RidDirection::Send,
            params: None,
        }));
    }
    for rid in &s.recv_rids {
        m = m.attribute(Attribute::Rid(Rid {
            id: rid,
            direction: RidDirection::Recv,
            params: None,
        }));
    }
    let send = (!s.send_rids.is_empty()).then_some(SimulcastList(&t.send_list));
    let recv = (!s.recv_rids.is_empty()).then_some(SimulcastList(&t.recv_list));
    if send.is_some() || recv.is_some() {
        m = m.attribute(Attribute::Simulcast(Simulcast { send, recv }));
    }
    if sends {
        if let Some(fid) = &t.fid {
            m = m.attribute(Attribute::SsrcGroup(SsrcGroup {
                semantics: "FID",
                ssrcs: fid,
            }));
        }
        for ssrc in std::iter::once(s.ssrc).chain(s.rtx_ssrc) {
            m = m
                .ssrc(ssrc, "cname", Some(&s.cname))
                .ssrc(ssrc, "msid", Some(&t.msid_value));
        }
    }
    m
}

/// The transport lines of a section in use: address, ICE credentials and options, DTLS
/// fingerprint and role, and in the first one the candidates.
fn transport<'a>(p: &LocalParams<'a>, m: MediaBuilder<'a>, first: bool) -> MediaBuilder<'a> {
    let mut m = m
        .connection(NO_ADDRESS)
        .ice_credentials(&p.creds.ufrag, &p.creds.pwd);
    if !p.ice_lite {
        m = m.ice_options("trickle");
    }
    let (algorithm, value) = p.fingerprint.split_once(' ').unwrap_or((p.fingerprint, ""));
    m = m.fingerprint(algorithm, value).setup(p.setup);
    if first {
        for c in p.candidates {
            m = m.candidate(c);
        }
        if p.end_of_candidates {
            m = m.end_of_candidates();
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsep::{answer_sections, offer_sections, read_remote};

    /// The writer this module had before it used the sdp builder (`write!` into a String),
    /// kept to check that the builder writes the same bytes.
    mod legacy {
        use std::fmt::Write as _;

        use super::super::{LocalParams, LocalSection, DATA_FORMAT};

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
                    LocalSection::Media(_) => panic!("the former writer had no media sections"),
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
    }

    fn creds() -> Credentials {
        Credentials {
            ufrag: "Ab3d".into(),
            pwd: "0123456789abcdefghijkl".into(),
        }
    }

    const FP: &str = "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    fn params<'a>(
        creds: &'a Credentials,
        sections: &'a [LocalSection],
        candidates: &'a [String],
    ) -> LocalParams<'a> {
        LocalParams {
            session_id: 4_611_686_018_427_387_903,
            session_version: 2,
            creds,
            fingerprint: FP,
            setup: Setup::ActPass,
            ice_lite: false,
            sections,
            bundle: true,
            sctp_port: 5000,
            max_message_size: 262_144,
            candidates,
            end_of_candidates: true,
            bundle_tag: None,
            extmap_allow_mixed: false,
        }
    }

    fn same(p: &LocalParams<'_>) -> String {
        let new = write_local(p);
        assert_eq!(new, legacy::write_local(p));
        new.parse::<SessionDescription>().unwrap();
        new
    }

    #[test]
    fn builder_writes_the_bytes_of_the_former_writer() {
        let creds = creds();
        let cands = vec![
            "candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host".to_owned(),
            "candidate:2 1 udp 1694498815 198.51.100.7 50123 typ srflx raddr 192.0.2.1 rport 40000"
                .to_owned(),
        ];
        // A data-only offer, then with ICE lite, no candidates, no BUNDLE, another setup.
        let table = crate::media::transceiver::TransceiverTable::new();
        let offer = offer_sections(&[], true, &table, &[]);
        let text = same(&params(&creds, &offer, &cands));
        assert!(text.contains("a=candidate:2 1 udp"), "{text}");
        let mut p = params(&creds, &offer, &[]);
        p.ice_lite = true;
        p.end_of_candidates = false;
        p.bundle = false;
        p.setup = Setup::Passive;
        same(&p);
        // Answers to real offers: audio/video answered inactive (rtpmap/fmtp echoed) or
        // rejected, the data section accepted.
        for offer in [
            include_str!("../../tests/data/chromium-offer-av-dc.sdp"),
            include_str!("../../tests/data/wrtc-offer-audio-dc.sdp"),
            include_str!("../../tests/data/aiortc-offer.sdp"),
            include_str!("../../tests/data/werift-offer.sdp"),
        ] {
            let remote = read_remote(&offer.parse().unwrap()).unwrap();
            // No transceivers: media sections are answered inactive (tagged) or rejected.
            let table = crate::media::transceiver::TransceiverTable::new();
            let sections = answer_sections(&remote, &table);
            let mut p = params(&creds, &sections, &cands);
            p.setup = Setup::Active;
            p.bundle = remote.bundle.is_some();
            let text = same(&p);
            if sections
                .iter()
                .any(|s| matches!(s, LocalSection::Inactive { .. }))
            {
                assert!(
                    text.contains("a=inactive\r\na=rtcp-mux\r\na=rtpmap:"),
                    "{text}"
                );
            }
        }
        // Hand-made sections: a rejected one without formats, an inactive one without mid.
        let odd = [
            LocalSection::Rejected {
                kind: "text".into(),
                proto: "RTP/AVP".into(),
                formats: vec![],
                mid: None,
            },
            LocalSection::Inactive {
                kind: "audio".into(),
                proto: "UDP/TLS/RTP/SAVPF".into(),
                mid: None,
                format: "0".into(),
                format_lines: vec!["a=rtpmap:0 PCMU/8000".into(), "a=fmtp:0 x=1".into()],
            },
        ];
        let text = same(&params(&creds, &odd, &cands));
        assert!(text.contains("m=text 0 RTP/AVP 0\r\n"), "{text}");
        // No section at all.
        same(&params(&creds, &[], &[]));
    }

    /// The one intended difference: a remote rtpmap/fmtp line that does not parse is not
    /// echoed into our answer (the former writer copied it, producing an answer that a
    /// strict parser may refuse).
    #[test]
    fn malformed_remote_format_lines_are_not_echoed() {
        let creds = creds();
        let sections = [LocalSection::Inactive {
            kind: "video".into(),
            proto: "UDP/TLS/RTP/SAVPF".into(),
            mid: Some("1".into()),
            format: "96".into(),
            format_lines: vec!["a=rtpmap:96 VP8".into(), "a=fmtp:96 max-fs=12288".into()],
        }];
        let text = write_local(&params(&creds, &sections, &[]));
        assert!(!text.contains("a=rtpmap:96 VP8"), "{text}");
        assert!(text.contains("a=fmtp:96 max-fs=12288\r\n"), "{text}");
        text.parse::<SessionDescription>().unwrap();
    }
}
