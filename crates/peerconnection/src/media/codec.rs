//! What ferrtc offers and accepts: the default codec and header-extension lists (in the spirit
//! of Chromium's), format-parameter matching (RFC 6184 §8.2.2 for H.264, VP9 `profile-id`,
//! AV1 `profile`, H.265 `profile-id`/`tier-flag`, RFC 7587 for Opus) and the intersection of a
//! remote codec list with ours (JSEP RFC 8829 §5.3.1: the answer keeps the offerer's payload
//! types, its rtcp-fb values are the intersection, RTX (RFC 4588 `apt`) follows its codec).

use ferrtc_media_codecs::h264::{self, H264Fmtp};
use ferrtc_rtp::ExtensionKind;

use super::types::{Codec, MediaKind, RtcpFeedback};

/// The dependency descriptor extension (AV1 RTP specification, appendix A); ferrtc-rtp has no
/// typed value for it, the engine sees its id as an unknown extension.
pub(crate) const DEPENDENCY_DESCRIPTOR_URI: &str =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";

/// One row of the default extension table: id, URI, audio, video.
type ExtensionRow = (u8, fn() -> &'static str, bool, bool);

/// The extensions we offer. The same id means the same extension in every section, as a
/// BUNDLE group requires (RFC 8843 §9.1.4, RFC 8285 §5).
const EXTENSIONS: [ExtensionRow; 10] = [
    (1, || ExtensionKind::AudioLevel.uri(), true, false),
    (2, || ExtensionKind::AbsSendTime.uri(), true, true),
    (3, || ExtensionKind::TransportCc01.uri(), true, true),
    (4, || ExtensionKind::Mid.uri(), true, true),
    (5, || ExtensionKind::PlayoutDelay.uri(), false, true),
    (6, || ExtensionKind::AbsCaptureTime.uri(), true, true),
    (9, || DEPENDENCY_DESCRIPTOR_URI, false, true),
    (10, || ExtensionKind::RtpStreamId.uri(), true, true),
    (11, || ExtensionKind::RepairedRtpStreamId.uri(), true, true),
    (13, || ExtensionKind::VideoOrientation.uri(), false, true),
];

/// The header extensions we offer for `kind`, with their ids.
pub(crate) fn default_extensions(kind: MediaKind) -> Vec<(u8, String)> {
    EXTENSIONS
        .iter()
        .filter(|(_, _, a, v)| match kind {
            MediaKind::Audio => *a,
            MediaKind::Video => *v,
        })
        .map(|(id, uri, _, _)| (*id, uri().to_owned()))
        .collect()
}

/// Whether we support extension `uri` on a `kind` section (the transport-cc 02 form is
/// understood too, though not offered).
pub(crate) fn supports_extension(kind: MediaKind, uri: &str) -> bool {
    default_extensions(kind).iter().any(|(_, u)| u == uri)
        || uri == ExtensionKind::TransportCc02.uri()
}

fn fb(kind: &str, param: Option<&str>) -> RtcpFeedback {
    RtcpFeedback::new(kind, param)
}

/// The rtcp-fb values of every video codec (RFC 4585 §4.2, RFC 5104 §7.1).
fn video_feedback() -> Vec<RtcpFeedback> {
    vec![
        fb("goog-remb", None),
        fb("transport-cc", None),
        fb("ccm", Some("fir")),
        fb("nack", None),
        fb("nack", Some("pli")),
    ]
}

fn codec(
    pt: u8,
    mime: &str,
    clock_rate: u32,
    channels: Option<u16>,
    fmtp: Option<&str>,
    rtcp_feedback: Vec<RtcpFeedback>,
    rtx: Option<u8>,
) -> Codec {
    Codec {
        payload_type: pt,
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.map(str::to_owned),
        rtcp_feedback,
        rtx_payload_type: rtx,
    }
}

/// The codecs we offer for `kind`, in preference order, with Chromium's payload types.
pub(crate) fn default_codecs(kind: MediaKind) -> Vec<Codec> {
    match kind {
        MediaKind::Audio => vec![
            codec(
                111,
                "audio/opus",
                48_000,
                Some(2),
                Some("minptime=10;useinbandfec=1"),
                vec![fb("transport-cc", None)],
                None,
            ),
            // RFC 2198 redundancy of Opus: the fmtp names the redundant payload types.
            codec(
                63,
                "audio/red",
                48_000,
                Some(2),
                Some("111/111"),
                vec![],
                None,
            ),
            codec(9, "audio/G722", 8_000, Some(1), None, vec![], None),
            codec(0, "audio/PCMU", 8_000, Some(1), None, vec![], None),
            codec(8, "audio/PCMA", 8_000, Some(1), None, vec![], None),
        ],
        MediaKind::Video => {
            let v = |pt, mime, fmtp, rtx| {
                codec(pt, mime, 90_000, None, fmtp, video_feedback(), Some(rtx))
            };
            vec![
                v(96, "video/VP8", None, 97),
                v(98, "video/VP9", Some("profile-id=0"), 99),
                v(100, "video/VP9", Some("profile-id=2"), 101),
                v(
                    102,
                    "video/H264",
                    Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
                    103,
                ),
                v(
                    104,
                    "video/H264",
                    Some("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"),
                    107,
                ),
                v(
                    108,
                    "video/H264",
                    Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
                    109,
                ),
                v(
                    114,
                    "video/H264",
                    Some("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
                    115,
                ),
                v(45, "video/AV1", Some("level-idx=5;profile=0;tier=0"), 46),
                v(
                    49,
                    "video/H265",
                    Some("level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST"),
                    50,
                ),
            ]
        }
    }
}

/// The encoding name of a mime type (`video/VP8` → `VP8`).
pub(crate) fn encoding_name(mime: &str) -> &str {
    mime.split_once('/').map_or(mime, |(_, n)| n)
}

/// A parameter of an fmtp line (ASCII case-insensitive key).
pub(crate) fn fmtp_param<'a>(fmtp: Option<&'a str>, key: &str) -> Option<&'a str> {
    fmtp?.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// The outcome of matching a remote codec with one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    /// The fmtp line the answer carries for it.
    pub fmtp: Option<String>,
}

/// Whether remote codec `theirs` (as offered or answered) is the same media format as our
/// `ours` (RFC 3264 §6.1: name, clock rate and channels, plus the format parameters that define
/// the format), and the fmtp line the answer carries if so.
pub(crate) fn match_codec(ours: &Codec, theirs: &Codec) -> Option<Matched> {
    if !encoding_name(&ours.mime_type).eq_ignore_ascii_case(encoding_name(&theirs.mime_type))
        || !ours
            .mime_type
            .get(..5)?
            .eq_ignore_ascii_case(theirs.mime_type.get(..5)?)
        || ours.clock_rate != theirs.clock_rate
    {
        return None;
    }
    // Audio: a missing channel count means 1 (RFC 8866 §6.6); Opus is always /2 (RFC 7587 §7).
    if ours.mime_type.starts_with("audio/")
        && ours.channels.unwrap_or(1) != theirs.channels.unwrap_or(1)
    {
        return None;
    }
    let ofmtp = ours.sdp_fmtp_line.as_deref();
    let tfmtp = theirs.sdp_fmtp_line.as_deref();
    let name = encoding_name(&ours.mime_type).to_ascii_uppercase();
    let same_param = |key: &str, default: &str| {
        fmtp_param(ofmtp, key).unwrap_or(default) == fmtp_param(tfmtp, key).unwrap_or(default)
    };
    match name.as_str() {
        // RFC 6184 §8.2.2: same profile and packetization-mode; the level is negotiated.
        "H264" => {
            let o = H264Fmtp::parse(tfmtp.unwrap_or("")).ok()?;
            let l = H264Fmtp::parse(ofmtp.unwrap_or("")).ok()?;
            let n = h264::negotiate(&o, &l)?;
            let mut line = String::new();
            if o.level_asymmetry_allowed && l.level_asymmetry_allowed {
                line.push_str("level-asymmetry-allowed=1;");
            }
            line.push_str(&format!(
                "packetization-mode={};profile-level-id={}",
                o.packetization_mode, n.answer_profile_level_id
            ));
            Some(Matched { fmtp: Some(line) })
        }
        // draft-ietf-payload-vp9 §6: profile-id (default 0) defines the format.
        "VP9" => same_param("profile-id", "0").then(|| Matched {
            fmtp: tfmtp.map(str::to_owned),
        }),
        // AV1 RTP specification §7.2: profile (default 0) must match.
        "AV1" => same_param("profile", "0").then(|| Matched {
            fmtp: tfmtp.map(str::to_owned),
        }),
        // RFC 7798 §7.2.2: profile-id (default 1) and tier-flag (default 0).
        "H265" => {
            (same_param("profile-id", "1") && same_param("tier-flag", "0")).then(|| Matched {
                fmtp: tfmtp.map(str::to_owned),
            })
        }
        // RED's fmtp names payload types of the remote's list: checked by the caller.
        "RED" => Some(Matched {
            fmtp: tfmtp.map(str::to_owned),
        }),
        // Opus and the rest: the name is the format; answer with our parameters (RFC 7587 §7:
        // they are receiver preferences).
        _ => Some(Matched {
            fmtp: ofmtp.map(str::to_owned),
        }),
    }
}

/// The rtcp-fb values both sides list.
fn intersect_feedback(ours: &[RtcpFeedback], theirs: &[RtcpFeedback]) -> Vec<RtcpFeedback> {
    ours.iter()
        .filter(|f| theirs.contains(f))
        .cloned()
        .collect()
}

/// The codecs of an answer to `remote` (JSEP §5.3.1), in `ours`'s order when `prefer_ours`
/// (codec preferences were set) else in the remote's order: each remote codec matching one of
/// `ours`, with the remote's payload type, the fmtp [`match_codec`] gives, rtcp-fb intersected,
/// and RTX kept when both sides have it for that codec. RED is kept only when every payload
/// type its fmtp names is kept.
pub(crate) fn intersect(ours: &[Codec], remote: &[Codec], prefer_ours: bool) -> Vec<Codec> {
    let mut out: Vec<(usize, Codec)> = Vec::new();
    for theirs in remote {
        if out
            .iter()
            .any(|(_, c)| c.payload_type == theirs.payload_type)
        {
            continue;
        }
        let found = ours
            .iter()
            .enumerate()
            .find_map(|(i, o)| match_codec(o, theirs).map(|m| (i, o, m)));
        let Some((rank, o, m)) = found else { continue };
        out.push((
            rank,
            Codec {
                payload_type: theirs.payload_type,
                mime_type: o.mime_type.clone(),
                clock_rate: o.clock_rate,
                channels: o.channels,
                sdp_fmtp_line: m.fmtp,
                rtcp_feedback: intersect_feedback(&o.rtcp_feedback, &theirs.rtcp_feedback),
                rtx_payload_type: o.rtx_payload_type.and(theirs.rtx_payload_type),
            },
        ));
    }
    // RED refers to payload types of the list (RFC 2198 §5 fmtp `pt/pt`).
    let kept: Vec<u8> = out.iter().map(|(_, c)| c.payload_type).collect();
    out.retain(|(_, c)| {
        if !encoding_name(&c.mime_type).eq_ignore_ascii_case("red") {
            return true;
        }
        let refs: Vec<&str> = c
            .sdp_fmtp_line
            .as_deref()
            .unwrap_or("")
            .split('/')
            .map(str::trim)
            .collect();
        !refs.is_empty()
            && refs.iter().all(|r| {
                r.parse::<u8>()
                    .is_ok_and(|pt| pt != c.payload_type && kept.contains(&pt))
            })
    });
    // RED only in front of nothing: a list of RED alone is no codec.
    if out
        .iter()
        .all(|(_, c)| encoding_name(&c.mime_type).eq_ignore_ascii_case("red"))
    {
        out.clear();
    }
    if prefer_ours {
        out.sort_by_key(|(rank, _)| *rank);
    }
    out.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn remote(pt: u8, mime: &str, fmtp: Option<&str>) -> Codec {
        codec(pt, mime, 90_000, None, fmtp, video_feedback(), None)
    }

    #[test]
    fn h264_profiles_and_modes() {
        let ours = default_codecs(MediaKind::Video);
        // Constrained baseline, mode 1, level 3.1 offered at another payload type.
        let cb = remote(
            120,
            "video/H264",
            Some("packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1"),
        );
        let got = intersect(&ours, &[cb], false);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload_type, 120);
        assert_eq!(
            got[0].sdp_fmtp_line.as_deref(),
            Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
        );
        // A lower level without asymmetry: the answer carries the lower level.
        let low = remote(
            121,
            "video/H264",
            Some("packetization-mode=1;profile-level-id=42e00d"),
        );
        let got = intersect(&ours, &[low], false);
        assert_eq!(
            got[0].sdp_fmtp_line.as_deref(),
            Some("packetization-mode=1;profile-level-id=42e00d")
        );
        // High profile and Main profile: not ours.
        let high = remote(
            122,
            "video/H264",
            Some("packetization-mode=1;profile-level-id=640c1f"),
        );
        let main = remote(
            123,
            "video/H264",
            Some("packetization-mode=1;profile-level-id=4d001f"),
        );
        assert!(intersect(&ours, &[high, main], false).is_empty());
        // Mode 2 is no mode of ours.
        let m2 = remote(
            124,
            "video/H264",
            Some("packetization-mode=2;profile-level-id=42e01f"),
        );
        assert!(intersect(&ours, &[m2], false).is_empty());
    }

    #[test]
    fn vp9_av1_profiles() {
        let ours = default_codecs(MediaKind::Video);
        let p1 = remote(98, "video/VP9", Some("profile-id=1"));
        assert!(intersect(&ours, &[p1], false).is_empty());
        let p2 = remote(90, "video/VP9", Some("profile-id=2"));
        assert_eq!(intersect(&ours, &[p2], false)[0].payload_type, 90);
        // No fmtp: profile 0.
        let p0 = remote(91, "video/vp9", None);
        assert_eq!(intersect(&ours, &[p0], false).len(), 1);
        let av1_high = remote(45, "video/AV1", Some("profile=1"));
        assert!(intersect(&ours, &[av1_high], false).is_empty());
        let av1 = remote(35, "video/AV1", None);
        assert_eq!(intersect(&ours, &[av1], false).len(), 1);
    }

    #[test]
    fn feedback_rtx_red_and_order() {
        let ours = default_codecs(MediaKind::Audio);
        let mut opus = codec(
            96,
            "audio/opus",
            48_000,
            Some(2),
            Some("useinbandfec=0"),
            vec![fb("transport-cc", None), fb("nack", None)],
            Some(97),
        );
        let pcmu = codec(0, "audio/PCMU", 8_000, None, None, vec![], None);
        let red_ok = codec(
            100,
            "audio/red",
            48_000,
            Some(2),
            Some("96/96"),
            vec![],
            None,
        );
        let red_bad = codec(
            101,
            "audio/red",
            48_000,
            Some(2),
            Some("55/55"),
            vec![],
            None,
        );
        let mono_opus = codec(102, "audio/opus", 48_000, Some(1), None, vec![], None);
        let got = intersect(
            &ours,
            &[
                pcmu.clone(),
                opus.clone(),
                red_ok,
                red_bad,
                mono_opus.clone(),
            ],
            false,
        );
        let pts: Vec<u8> = got.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [0, 96, 100]);
        let o = &got[1];
        // Our fmtp, our feedback ∩ theirs, no RTX for audio (we have none).
        assert_eq!(
            o.sdp_fmtp_line.as_deref(),
            Some("minptime=10;useinbandfec=1")
        );
        assert_eq!(o.rtcp_feedback, vec![fb("transport-cc", None)]);
        assert_eq!(o.rtx_payload_type, None);
        // Preferences: our order (opus, red, PCMU).
        let got = intersect(&ours, &[pcmu, opus.clone()], true);
        let pts: Vec<u8> = got.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [96, 0]);
        // RED alone is nothing.
        opus.payload_type = 5;
        let red = codec(100, "audio/red", 48_000, Some(2), Some("5/5"), vec![], None);
        assert!(intersect(&ours, &[red], false).is_empty());
        assert!(intersect(&ours, &[mono_opus], false).is_empty());
        // Video RTX kept only if the remote has it.
        let v = default_codecs(MediaKind::Video);
        let mut vp8 = remote(120, "video/VP8", None);
        assert_eq!(
            intersect(&v, &[vp8.clone()], false)[0].rtx_payload_type,
            None
        );
        vp8.rtx_payload_type = Some(121);
        assert_eq!(intersect(&v, &[vp8], false)[0].rtx_payload_type, Some(121));
    }

    #[test]
    fn extension_tables() {
        let a = default_extensions(MediaKind::Audio);
        let v = default_extensions(MediaKind::Video);
        assert!(a
            .iter()
            .any(|(id, u)| *id == 1 && u == "urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
        assert!(!v.iter().any(|(_, u)| u.contains("audio-level")));
        assert!(v.iter().any(|(_, u)| u == "urn:3gpp:video-orientation"));
        // Same id, same URI across kinds (BUNDLE).
        for (id, u) in &a {
            if let Some((_, vu)) = v.iter().find(|(i, _)| i == id) {
                assert_eq!(u, vu);
            }
        }
        assert!(supports_extension(
            MediaKind::Video,
            "http://www.webrtc.org/experiments/rtp-hdrext/transport-wide-cc-02"
        ));
        assert!(!supports_extension(
            MediaKind::Audio,
            "urn:ietf:params:rtp-hdrext:toffset"
        ));
    }
}
