//! Transceivers and JSEP audio/video sections (issue 13): ferrtc offer → ferrtc answer with
//! mirrored negotiated media, answers to real browser/stack offers (codecs per fmtp rules,
//! BUNDLE kept, directions), and hostile codec parameters.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ferrtc_peerconnection::media::NegotiatedMedia;
use ferrtc_peerconnection::{
    Codec, Direction, Error, Event, LocalTrack, MediaKind, OfferOptions, Output, PeerConnection,
    RtcSessionDescription, SdpType, SignalingState, TransceiverInit,
};
use ferrtc_rtp::ExtensionKind;
use ferrtc_sdp::SessionDescription;

mod common;
use common::lone::{desc, events, negotiate, pc};

fn track(kind: MediaKind, id: &str, stream: &str) -> LocalTrack {
    LocalTrack {
        kind,
        id: id.into(),
        stream_ids: vec![stream.into()],
    }
}

fn by_mid<'a>(list: &'a [NegotiatedMedia], mid: &str) -> &'a NegotiatedMedia {
    list.iter()
        .find(|n| n.mid == mid)
        .unwrap_or_else(|| panic!("no mid {mid} in {list:?}"))
}

/// `x` and `y` are the two ends of one section.
fn assert_mirror(x: &NegotiatedMedia, y: &NegotiatedMedia) {
    assert_eq!(x.mid, y.mid);
    assert_eq!(x.kind, y.kind);
    assert_eq!(x.direction, y.direction.reverse(), "{}", x.mid);
    let pts = |n: &NegotiatedMedia| -> Vec<(u8, String, Option<String>, Option<u8>)> {
        n.codecs
            .iter()
            .map(|c| {
                (
                    c.payload_type,
                    c.mime_type.to_ascii_lowercase(),
                    c.sdp_fmtp_line.clone(),
                    c.rtx_payload_type,
                )
            })
            .collect()
    };
    assert_eq!(pts(x), pts(y), "{}", x.mid);
    for (cx, cy) in x.codecs.iter().zip(&y.codecs) {
        assert_eq!(cx.rtcp_feedback, cy.rtcp_feedback, "{}", cx.mime_type);
    }
    assert_eq!(x.extensions, y.extensions, "{}", x.mid);
    assert_eq!(x.rtcp_rsize, y.rtcp_rsize);
    if x.direction.sends() {
        let r = y
            .remote_ssrcs
            .iter()
            .find(|r| r.ssrc == x.local_ssrc)
            .unwrap_or_else(|| panic!("{} not announced to the peer", x.local_ssrc));
        assert_eq!(r.rtx, x.local_rtx_ssrc);
    }
    assert_ne!(x.cname, y.cname);
}

#[test]
fn ferrtc_offer_ferrtc_answer_mirror_each_other() {
    let mut a = pc(1);
    let mut b = pc(2);
    let mic = a
        .add_track(track(MediaKind::Audio, "mic-a", "stream-a"))
        .unwrap();
    let cam = a
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                direction: Direction::SendOnly,
                stream_ids: vec!["stream-a".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(events(&mut a).contains(&Event::NegotiationNeeded));
    // B's own track: associated with A's audio section (an unassociated addTrack transceiver).
    let b_mic = b
        .add_track(track(MediaKind::Audio, "mic-b", "stream-b"))
        .unwrap();
    let (offer, answer) = negotiate(&mut a, &mut b);

    // The offer: both sections bundled with RTP/SAVPF, codecs, RTX, extensions, ssrcs.
    let o: SessionDescription = offer.parse().unwrap();
    assert_eq!(o.media_count(), 2);
    let group: Vec<&str> = o.bundle_groups().next().unwrap().mids().collect();
    assert_eq!(group, ["0", "1"]);
    let audio = o.media().next().unwrap();
    assert_eq!(audio.protocol(), "UDP/TLS/RTP/SAVPF");
    let apts: Vec<&str> = audio.formats().collect();
    assert_eq!(apts, ["111", "63", "9", "0", "8"]);
    assert!(offer.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    assert!(offer.contains("a=msid:stream-a mic-a\r\n"));
    assert!(audio.rtcp_mux() && audio.rtcp_rsize());
    let video = o.media().nth(1).unwrap();
    assert_eq!(video.direction(), ferrtc_sdp::Direction::SendOnly);
    let vc = video.codec(96).unwrap();
    assert_eq!(vc.name(), Some("VP8"));
    assert!(vc
        .rtcp_fb
        .iter()
        .any(|f| f.feedback == "nack" && f.param == Some("pli")));
    assert_eq!(video.codec(97).unwrap().name(), Some("rtx"));
    assert_eq!(
        video.codec(97).unwrap().fmtp.unwrap().get("apt"),
        Some("96")
    );
    let fid = video.ssrc_groups().next().unwrap();
    assert_eq!(fid.semantics, "FID");
    assert_eq!(fid.ssrcs().count(), 2);
    assert!(video
        .extmaps()
        .any(|e| e.uri == "urn:3gpp:video-orientation"));
    assert!(!video.extmaps().any(|e| e.uri.contains("audio-level")));

    // Both sides' negotiated media mirror each other.
    let na = a.negotiated_media();
    let nb = b.negotiated_media();
    assert_eq!(na.len(), 2);
    assert_eq!(nb.len(), 2);
    for mid in ["0", "1"] {
        assert_mirror(by_mid(&na, mid), by_mid(&nb, mid));
        assert_mirror(by_mid(&nb, mid), by_mid(&na, mid));
    }
    let aa = by_mid(&na, "0");
    assert_eq!(aa.transceiver, mic);
    assert_eq!(aa.direction, Direction::SendRecv);
    assert_eq!(by_mid(&nb, "0").transceiver, b_mic, "B's addTrack reused");
    assert_eq!(aa.codecs[0].mime_type, "audio/opus");
    assert_eq!(aa.codecs[0].payload_type, 111);
    assert_eq!(aa.extensions.id_of(ExtensionKind::Mid), Some(4));
    assert_eq!(aa.extensions.id_of(ExtensionKind::AudioLevel), Some(1));
    assert_eq!(aa.local_rtx_ssrc, None);
    let av = by_mid(&na, "1");
    assert_eq!(av.transceiver, cam);
    assert_eq!(av.direction, Direction::SendOnly);
    assert_eq!(by_mid(&nb, "1").direction, Direction::RecvOnly);
    assert_eq!(av.codecs.len(), 9);
    assert!(av.codecs.iter().all(|c| c.rtx_payload_type.is_some()));
    assert!(av.local_rtx_ssrc.is_some());
    assert_eq!(
        av.extensions.id_of(ExtensionKind::VideoOrientation),
        Some(13)
    );
    // Our CNAME is the same in every section of one connection.
    assert_eq!(aa.cname, av.cname);

    // Tracks: B learns A's two tracks, A learns B's audio track.
    let eb = events(&mut b);
    let tracks_b: Vec<_> = eb
        .iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tracks_b.len(), 2, "{eb:?}");
    // W3C §4.4.1.6: track events come after the signalingstatechange of their description.
    let first_track = eb
        .iter()
        .position(|e| matches!(e, Event::Track(_)))
        .unwrap();
    let have_offer = eb
        .iter()
        .position(|e| *e == Event::SignalingStateChange(SignalingState::HaveRemoteOffer))
        .unwrap();
    assert!(have_offer < first_track, "{eb:?}");
    assert_eq!(tracks_b[0].track_id, "mic-a");
    assert_eq!(tracks_b[0].stream_ids, ["stream-a"]);
    assert_eq!(tracks_b[1].kind, MediaKind::Video);
    let ea = events(&mut a);
    let tracks_a: Vec<_> = ea
        .iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tracks_a.len(), 1, "{ea:?}");
    assert_eq!(tracks_a[0].track_id, "mic-b");
    assert_eq!(tracks_a[0].transceiver, mic);
    // currentDirection in the transceiver view; the answer carries B's direction.
    assert_eq!(
        a.transceiver(cam).unwrap().current_direction,
        Some(Direction::SendOnly)
    );
    let ans: SessionDescription = answer.parse().unwrap();
    assert_eq!(
        ans.media().nth(1).unwrap().direction(),
        ferrtc_sdp::Direction::RecvOnly
    );
    assert!(!answer.contains("a=ssrc-group"), "B sends no video");
}

const CHROMIUM: &str = include_str!("data/chromium-offer-av-dc.sdp");
const AIORTC: &str = include_str!("data/aiortc-offer.sdp");
const WRTC_AUDIO: &str = include_str!("data/wrtc-offer-audio-dc.sdp");

/// Answers `offer` with a fresh ferrtc connection; returns it, the answer and the events.
fn answer(offer: &str, prepare: impl FnOnce(&mut PeerConnection)) -> (PeerConnection, String) {
    let now = Instant::now();
    let mut b = pc(7);
    prepare(&mut b);
    b.set_remote_description(now, desc(SdpType::Offer, offer))
        .unwrap();
    let ans = b.create_answer().unwrap();
    b.set_local_description(now, ans).unwrap();
    let sdp = b.local_description().unwrap().sdp;
    (b, sdp)
}

fn formats(sdp: &SessionDescription, i: usize) -> Vec<String> {
    sdp.media()
        .nth(i)
        .unwrap()
        .formats()
        .map(str::to_owned)
        .collect()
}

#[test]
fn answers_chromium_with_the_codecs_fmtp_rules_allow() {
    let (mut b, text) = answer(CHROMIUM, |_| {});
    let a: SessionDescription = text.parse().unwrap();
    let group: Vec<&str> = a.bundle_groups().next().unwrap().mids().collect();
    assert_eq!(group, ["0", "1", "2"]);
    // Audio: Opus, RED, G.722, PCMU, PCMA kept at Chromium's payload types; CN and
    // telephone-event dropped.
    assert_eq!(formats(&a, 0), ["111", "63", "9", "0", "8"]);
    let audio = a.media().next().unwrap();
    assert_eq!(audio.direction(), ferrtc_sdp::Direction::RecvOnly);
    assert!(audio.rtcp_rsize());
    let ext: Vec<(u16, &str)> = audio.extmaps().map(|e| (e.id, e.uri)).collect();
    assert_eq!(
        ext,
        [
            (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
            (
                2,
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            (
                3,
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            ),
            (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        ]
    );
    // Video: VP8, the four constrained-baseline/baseline H.264 formats, AV1, VP9 p0 and p2,
    // each with its RTX; Main-profile H.264 (116, 39), red, ulpfec and their RTX dropped.
    assert_eq!(
        formats(&a, 1),
        [
            "96", "97", "102", "103", "104", "107", "108", "109", "114", "115", "45", "46", "98",
            "99", "100", "101"
        ]
    );
    let video = a.media().nth(1).unwrap();
    assert_eq!(
        video.codec(104).unwrap().fmtp.unwrap().params,
        "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"
    );
    let vext: Vec<u16> = video.extmaps().map(|e| e.id).collect();
    assert_eq!(vext, [2, 13, 3, 5, 4, 10, 11], "toffset and 6-8 dropped");
    // The negotiated media: remote SSRCs with their FID pair, msid as the track.
    let n = b.negotiated_media();
    assert_eq!(n.len(), 2);
    let v = by_mid(&n, "1");
    assert_eq!(v.remote_ssrcs.len(), 1);
    assert_eq!(v.remote_ssrcs[0].ssrc, 1_804_869_742);
    assert_eq!(v.remote_ssrcs[0].rtx, Some(2_009_766_689));
    assert_eq!(v.direction, Direction::RecvOnly);
    assert_eq!(
        v.codecs
            .iter()
            .find(|c| c.payload_type == 102)
            .unwrap()
            .rtx_payload_type,
        Some(103)
    );
    let au = by_mid(&n, "0");
    assert_eq!(au.remote_ssrcs[0].ssrc, 3_973_733_779);
    assert_eq!(
        au.codecs[0].rtcp_feedback,
        vec![ferrtc_peerconnection::RtcpFeedback::new(
            "transport-cc",
            None
        )]
    );
    let ev = events(&mut b);
    let ids: Vec<(String, Vec<String>)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some((t.track_id.clone(), t.stream_ids.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        [
            (
                "45b86129-48f1-4c05-9143-43a34e2b2fd3".to_owned(),
                vec!["69b03d49-1303-4fe6-ae85-b9b6e6428dfb".to_owned()]
            ),
            (
                "58fe1133-14cc-4889-90e5-a38e0e4bfa1e".to_owned(),
                vec!["69b03d49-1303-4fe6-ae85-b9b6e6428dfb".to_owned()]
            ),
        ]
    );
}

#[test]
fn answers_aiortc_and_wrtc_offers() {
    // aiortc: Opus at 96, VP8 at 97 with RTX 98, H.264 42001f (Baseline) and 42e01f.
    let (b, text) = answer(AIORTC, |b| {
        b.add_track(track(MediaKind::Video, "cam", "s")).unwrap();
    });
    let a: SessionDescription = text.parse().unwrap();
    assert_eq!(formats(&a, 0), ["96", "9", "0", "8"]);
    assert_eq!(formats(&a, 1), ["97", "98", "99", "100", "101", "102"]);
    let video = a.media().nth(1).unwrap();
    assert_eq!(video.direction(), ferrtc_sdp::Direction::SendRecv);
    // Our added track took the offered video section: we send, with ssrcs and msid.
    assert!(video.msids().any(|m| m.track_id == Some("cam")));
    assert_eq!(video.ssrc_groups().count(), 1);
    // rtcp-fb intersected: aiortc lists no ccm fir and no transport-cc.
    let vp8 = video.codec(97).unwrap();
    let fb: Vec<(&str, Option<&str>)> = vp8.rtcp_fb.iter().map(|f| (f.feedback, f.param)).collect();
    assert_eq!(
        fb,
        [("goog-remb", None), ("nack", None), ("nack", Some("pli"))]
    );
    assert!(!a.media().next().unwrap().rtcp_rsize(), "not offered");
    let n = b.negotiated_media();
    assert_eq!(by_mid(&n, "1").direction, Direction::SendRecv);
    assert_eq!(
        by_mid(&n, "1").extensions.id_of(ExtensionKind::AbsSendTime),
        Some(3)
    );
    assert_eq!(by_mid(&n, "0").codecs[0].payload_type, 96);

    // wrtc: audio only, no video section, ISAC/ILBC/CN dropped.
    let (_, text) = answer(WRTC_AUDIO, |_| {});
    let a: SessionDescription = text.parse().unwrap();
    assert_eq!(formats(&a, 0), ["111", "63", "9", "0", "8"]);
    assert_eq!(a.media_count(), 2);
}

/// Replaces the video section's formats, codecs and extmaps of the Chromium offer by
/// `formats` and `codec_lines` (written at the end of the section).
fn chromium_with_video(formats: &str, codec_lines: &str) -> String {
    let mut out = String::new();
    let mut in_video = false;
    for l in CHROMIUM.lines() {
        if l.starts_with("m=") {
            if in_video {
                for c in codec_lines.lines() {
                    out.push_str(c);
                    out.push_str("\r\n");
                }
            }
            in_video = l.starts_with("m=video");
            if in_video {
                out.push_str(&format!("m=video 37459 UDP/TLS/RTP/SAVPF {formats}\r\n"));
                continue;
            }
        }
        let codec_line = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:", "a=ssrc", "a=extmap:"]
            .iter()
            .any(|p| l.starts_with(p));
        if in_video && codec_line {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}

#[test]
fn h264_profile_mismatch_rejects_the_section_and_keeps_bundle() {
    // Only High-profile H.264: no codec in common.
    let offer = chromium_with_video(
        "122 123",
        "a=rtpmap:122 H264/90000\na=fmtp:122 packetization-mode=1;profile-level-id=640c1f\na=rtpmap:123 rtx/90000\na=fmtp:123 apt=122",
    );
    let (mut b, text) = answer(&offer, |_| {});
    let a: SessionDescription = text.parse().unwrap();
    let video = a.media().nth(1).unwrap();
    assert_eq!(video.port(), 0, "{text}");
    let group: Vec<&str> = a.bundle_groups().next().unwrap().mids().collect();
    assert_eq!(group, ["0", "2"]);
    assert_ne!(a.media().next().unwrap().port(), 0);
    let n = b.negotiated_media();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].mid, "0");
    // The transceiver created for the section is stopped; no codec in common, so no track
    // was ever announced for it (only the audio one).
    let ev = events(&mut b);
    let tracks: Vec<MediaKind> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some(t.kind),
            _ => None,
        })
        .collect();
    assert_eq!(tracks, [MediaKind::Audio], "{ev:?}");
    assert!(
        !ev.iter().any(|e| matches!(e, Event::TrackEnded(_))),
        "{ev:?}"
    );
    assert!(b
        .transceivers()
        .iter()
        .any(|t| t.kind == MediaKind::Video && t.stopped));

    // A High-profile-only video section that is the offerer-tagged one: answered inactive,
    // so the BUNDLE group survives.
    let tagged = offer.replace("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 1 0 2");
    let (b, text) = answer(&tagged, |_| {});
    let a: SessionDescription = text.parse().unwrap();
    let video = a.media().nth(1).unwrap();
    assert_ne!(video.port(), 0);
    assert_eq!(video.direction(), ferrtc_sdp::Direction::Inactive);
    let group: Vec<&str> = a.bundle_groups().next().unwrap().mids().collect();
    assert_eq!(group, ["1", "0", "2"]);
    // The candidates are in the answerer-tagged section, the transport's.
    assert!(video.candidates().next().is_some(), "{text}");
    assert!(a.media().next().unwrap().candidates().next().is_none());
    assert_eq!(b.negotiated_media().len(), 1);
    // B's re-offer keeps that section as it was: three sections, no duplicate for the video
    // transceiver associated with it.
    let mut b = b;
    let re = b.create_offer(OfferOptions::default()).unwrap();
    let r: SessionDescription = re.sdp.parse().unwrap();
    let mids: Vec<Option<&str>> = r.media().map(|m| m.mid()).collect();
    assert_eq!(mids, [Some("0"), Some("1"), Some("2")], "{}", re.sdp);
    assert_eq!(
        r.media().nth(1).unwrap().direction(),
        ferrtc_sdp::Direction::Inactive
    );
}

#[test]
fn impossible_codec_parameters_error_or_reject_never_panic() {
    let now = Instant::now();
    // Refused by the SDP parser: the description is an error, signaling unchanged.
    for (what, formats, lines) in [
        ("pt > 127", "200", "a=rtpmap:200 VP8/90000"),
        ("rtpmap without clock rate", "96", "a=rtpmap:96 VP8"),
        (
            "extmap id 0",
            "96",
            "a=rtpmap:96 VP8/90000\na=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid",
        ),
        (
            "extmap id > 256",
            "96",
            "a=rtpmap:96 VP8/90000\na=extmap:300 urn:ietf:params:rtp-hdrext:sdes:mid",
        ),
        (
            "format 300 on the m= line",
            "300 96",
            "a=rtpmap:96 VP8/90000",
        ),
    ] {
        let offer = chromium_with_video(formats, lines);
        let mut b = pc(8);
        let r = b.set_remote_description(now, desc(SdpType::Offer, &offer));
        assert!(
            matches!(r, Err(Error::InvalidDescription(_))),
            "{what}: {r:?}"
        );
        assert_eq!(b.signaling_state(), SignalingState::Stable, "{what}");
        assert!(b.transceivers().is_empty(), "{what}");
    }
    // Accepted by the parser but unusable: left out of the answer.
    let cases: [(&str, &str, &str, Vec<&str>); 4] = [
        // RTX whose apt names no codec: VP8 kept without RTX.
        (
            "apt to a missing pt",
            "96 97",
            "a=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\na=fmtp:97 apt=55",
            vec!["96"],
        ),
        // id 256 parses (two-byte form reaches 255) but no RTP header can carry it.
        (
            "extmap id 256",
            "96",
            "a=rtpmap:96 VP8/90000\na=extmap:256 urn:ietf:params:rtp-hdrext:sdes:mid",
            vec!["96"],
        ),
        // A dynamic payload type without rtpmap.
        (
            "format without rtpmap",
            "101 96",
            "a=rtpmap:96 VP8/90000",
            vec!["96"],
        ),
        // Nothing we know: the section is rejected.
        (
            "no known codec",
            "126 127",
            "a=rtpmap:126 telephone-event/8000\na=rtpmap:127 rtx/90000\na=fmtp:127 apt=126",
            vec![],
        ),
    ];
    for (what, formats, lines, want) in cases {
        let offer = chromium_with_video(formats, lines);
        let (b, text) = answer(&offer, |_| {});
        let a: SessionDescription = text.parse().unwrap();
        let video = a.media().nth(1).unwrap();
        if want.is_empty() {
            assert_eq!(video.port(), 0, "{what}: {text}");
            continue;
        }
        let got: Vec<&str> = video.formats().collect();
        assert_eq!(got, want, "{what}");
        assert_eq!(video.extmaps().count(), 0, "{what}");
        let n = b.negotiated_media();
        let v = by_mid(&n, "1");
        assert_eq!(v.codecs.len(), 1, "{what}");
        assert_eq!(v.codecs[0].rtx_payload_type, None, "{what}");
    }
}

#[test]
fn codec_preferences_and_api_errors() {
    let mut a = pc(3);
    let v = a
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let vp9 = Codec {
        payload_type: 0,
        mime_type: "video/VP9".into(),
        clock_rate: 90_000,
        channels: None,
        sdp_fmtp_line: Some("profile-id=2".into()),
        rtcp_feedback: vec![],
        rtx_payload_type: None,
    };
    let h264_high = Codec {
        mime_type: "video/H264".into(),
        sdp_fmtp_line: Some("packetization-mode=1;profile-level-id=640c1f".into()),
        ..vp9.clone()
    };
    assert!(matches!(
        a.set_codec_preferences(v, vec![h264_high]),
        Err(Error::InvalidModification(_))
    ));
    let opus = Codec {
        mime_type: "audio/opus".into(),
        clock_rate: 48_000,
        channels: Some(2),
        sdp_fmtp_line: None,
        ..vp9.clone()
    };
    assert!(matches!(
        a.set_codec_preferences(v, vec![opus]),
        Err(Error::InvalidModification(_))
    ));
    a.set_codec_preferences(v, vec![vp9]).unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    let o: SessionDescription = offer.sdp.parse().unwrap();
    assert_eq!(
        formats(&o, 0),
        ["100", "101"],
        "VP9 profile 2 at our pt, with RTX"
    );
    // Ids that would break SDP lines are refused.
    assert!(a.add_track(track(MediaKind::Audio, "bad id", "s")).is_err());
    assert!(a
        .add_track(track(MediaKind::Audio, "ok", "bad\r\nstream"))
        .is_err());
    let two_without_rid = TransceiverInit {
        send_encodings: vec![Default::default(), Default::default()],
        ..Default::default()
    };
    assert!(a
        .add_transceiver(MediaKind::Video, two_without_rid)
        .is_err());
    // Same track twice: InvalidAccess.
    a.add_track(track(MediaKind::Audio, "t1", "s")).unwrap();
    assert!(matches!(
        a.add_track(track(MediaKind::Audio, "t1", "s")),
        Err(Error::InvalidAccess(_))
    ));
    let mut other = pc(4);
    let mut foreign = None;
    for _ in 0..6 {
        foreign = Some(
            other
                .add_transceiver(MediaKind::Audio, TransceiverInit::default())
                .unwrap(),
        );
    }
    assert!(matches!(
        a.set_direction(foreign.unwrap(), Direction::Inactive),
        Err(Error::NoSuchTransceiver)
    ));
}

/// Simulcast (RFC 8851 / RFC 8853): three send encodings with RIDs are offered as
/// `a=rid:<id> send` + `a=simulcast:send`, the answerer receives them (`recv`), and each side's
/// NegotiatedMedia names them on its side.
#[test]
fn simulcast_rids_are_offered_and_received() {
    let mut a = pc(11);
    let mut b = pc(12);
    let enc = |rid: &str| ferrtc_peerconnection::SendEncoding {
        rid: Some(rid.into()),
        ..Default::default()
    };
    a.add_transceiver(
        MediaKind::Video,
        TransceiverInit {
            direction: Direction::SendOnly,
            send_encodings: vec![enc("h"), enc("m"), enc("l")],
            ..Default::default()
        },
    )
    .unwrap();
    let (offer, answer) = negotiate(&mut a, &mut b);
    let o: SessionDescription = offer.parse().unwrap();
    let v = o.media().next().unwrap();
    let rids: Vec<(&str, ferrtc_sdp::RidDirection)> =
        v.rids().map(|r| (r.id, r.direction)).collect();
    assert_eq!(
        rids,
        [
            ("h", ferrtc_sdp::RidDirection::Send),
            ("m", ferrtc_sdp::RidDirection::Send),
            ("l", ferrtc_sdp::RidDirection::Send)
        ]
    );
    assert!(offer.contains("a=simulcast:send h;m;l\r\n"), "{offer}");
    assert!(answer.contains("a=simulcast:recv h;m;l\r\n"), "{answer}");
    let ans: SessionDescription = answer.parse().unwrap();
    assert!(ans
        .media()
        .next()
        .unwrap()
        .rids()
        .all(|r| r.direction == ferrtc_sdp::RidDirection::Recv));
    assert_eq!(a.negotiated_media()[0].local_rids, ["h", "m", "l"]);
    assert_eq!(b.negotiated_media()[0].remote_rids, ["h", "m", "l"]);
    assert!(b.negotiated_media()[0].local_rids.is_empty());
    assert!(a.negotiated_media()[0].remote_rids.is_empty());
    // An invalid rid is refused before it reaches SDP.
    assert!(a
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                send_encodings: vec![enc("h i")],
                ..Default::default()
            },
        )
        .is_err());
}

/// replaceTrack (W3C §5.2) swaps the sent track without renegotiation; the msid stays.
#[test]
fn replace_track_needs_no_negotiation() {
    let mut a = pc(13);
    let mut b = pc(14);
    let t = a.add_track(track(MediaKind::Video, "cam1", "s")).unwrap();
    negotiate(&mut a, &mut b);
    events(&mut a);
    a.replace_track(t, Some(track(MediaKind::Video, "cam2", "s")))
        .unwrap();
    assert!(!events(&mut a).contains(&Event::NegotiationNeeded));
    assert_eq!(
        a.transceiver(t).unwrap().sender_track.unwrap().id,
        "cam2".to_owned()
    );
    let re = a.create_offer(OfferOptions::default()).unwrap();
    assert!(re.sdp.contains("a=msid:s cam1\r\n"), "{}", re.sdp);
    assert!(a
        .replace_track(t, Some(track(MediaKind::Audio, "mic", "s")))
        .is_err());
    // removeTrack does renegotiate: the direction loses "send".
    a.remove_track(t).unwrap();
    assert!(events(&mut a).contains(&Event::NegotiationNeeded));
    a.replace_track(t, None).unwrap();
    assert!(!events(&mut a).contains(&Event::NegotiationNeeded));
    assert_eq!(a.transceiver(t).unwrap().direction, Direction::RecvOnly);
}

/// A section the answer rejected (the answerer stopped its transceiver) stops ours, and its
/// slot is recycled by the next new transceiver with a new mid (JSEP §5.2.2).
#[test]
fn rejected_by_the_answer_then_recycled() {
    let now = Instant::now();
    let mut a = pc(15);
    let mut b = pc(16);
    a.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let v = a
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let bv = b
        .transceivers()
        .into_iter()
        .find(|t| t.kind == MediaKind::Video)
        .unwrap()
        .id;
    b.stop_transceiver(bv).unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(now, answer).unwrap();
    let answer = b.local_description().unwrap();
    let ans: SessionDescription = answer.sdp.parse().unwrap();
    assert_eq!(ans.media().nth(1).unwrap().port(), 0);
    a.set_remote_description(now, answer).unwrap();
    assert!(a.transceiver(v).unwrap().stopped);
    assert_eq!(a.negotiated_media().len(), 1);
    let w = a
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let (re, _) = negotiate(&mut a, &mut b);
    let r: SessionDescription = re.parse().unwrap();
    let mids: Vec<(Option<&str>, u16)> = r.media().map(|m| (m.mid(), m.port())).collect();
    assert_eq!(mids, [(Some("0"), 9), (Some("2"), 9)], "{re}");
    assert_eq!(by_mid(&a.negotiated_media(), "2").transceiver, w);
    assert_eq!(b.negotiated_media().len(), 2);
}

/// An SFU switches the transceiver a remote offer created to RTP level from its track event;
/// the engine's entry follows without renegotiation.
#[test]
fn media_mode_of_a_remote_transceiver() {
    use ferrtc_peerconnection::MediaMode;
    let (mut b, _) = answer(CHROMIUM, |_| {});
    let video = events(&mut b)
        .into_iter()
        .find_map(|e| match e {
            Event::Track(t) if t.kind == MediaKind::Video => Some(t.transceiver),
            _ => None,
        })
        .unwrap();
    assert_eq!(by_mid(&b.negotiated_media(), "1").mode, MediaMode::Frame);
    b.set_media_mode(video, MediaMode::Rtp).unwrap();
    assert_eq!(by_mid(&b.negotiated_media(), "1").mode, MediaMode::Rtp);
    assert_eq!(by_mid(&b.negotiated_media(), "0").mode, MediaMode::Frame);
    assert_eq!(b.transceiver(video).unwrap().mode, MediaMode::Rtp);
    assert!(!events(&mut b).contains(&Event::NegotiationNeeded));
}

/// A provisional answer, then the final one (JSEP §4.1.8.1): the final answer settles the
/// media; the track event of the peer's sender fires once.
#[test]
fn pranswer_then_answer() {
    let now = Instant::now();
    let mut a = pc(17);
    let mut b = pc(18);
    let mic = a.add_track(track(MediaKind::Audio, "mic-a", "s")).unwrap();
    b.add_track(track(MediaKind::Audio, "mic-b", "t")).unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    let pr = RtcSessionDescription {
        sdp_type: SdpType::Pranswer,
        sdp: answer.sdp.clone(),
    };
    b.set_local_description(now, pr).unwrap();
    assert_eq!(b.signaling_state(), SignalingState::HaveLocalPranswer);
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::HaveRemotePranswer);
    let final_answer = b.create_answer().unwrap();
    b.set_local_description(now, final_answer).unwrap();
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    let tracks: Vec<_> = events(&mut a)
        .into_iter()
        .filter(|e| matches!(e, Event::Track(_)))
        .collect();
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    let na = a.negotiated_media();
    let nb = b.negotiated_media();
    assert_eq!(na.len(), 1);
    assert_eq!(na[0].transceiver, mic);
    assert_mirror(&na[0], &nb[0]);
    assert_eq!(na[0].direction, Direction::SendRecv);
}

/// `media::supported_codecs` is the list an application filters for `set_codec_preferences`
/// (W3C getCapabilities): keeping only H.264 gives an offer whose video formats are H.264 and
/// its RTX, and the answer negotiates H.264.
#[test]
fn supported_codecs_filtered_to_h264_become_the_offer() {
    let mut a = pc(71);
    let mut b = pc(72);
    let video = a
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let all = ferrtc_peerconnection::media::supported_codecs(MediaKind::Video);
    assert!(all.iter().any(|c| c.mime_type == "video/VP8"));
    let h264: Vec<Codec> = all
        .into_iter()
        .filter(|c| c.mime_type == "video/H264")
        .collect();
    assert!(!h264.is_empty());
    a.set_codec_preferences(video, h264.clone()).unwrap();
    let (offer, _answer) = negotiate(&mut a, &mut b);
    let sdp: SessionDescription = offer.parse().unwrap();
    let offered = formats(&sdp, 0);
    let rtx: Vec<String> = h264
        .iter()
        .filter_map(|c| c.rtx_payload_type.map(|p| p.to_string()))
        .collect();
    for f in &offered {
        assert!(
            h264.iter().any(|c| c.payload_type.to_string() == *f) || rtx.contains(f),
            "format {f} is neither H.264 nor its RTX in {offered:?}"
        );
    }
    let negotiated = a.transceiver(video).unwrap().codecs;
    assert!(!negotiated.is_empty());
    assert!(negotiated.iter().all(|c| c.mime_type == "video/H264"));
}

/// Track events with the codecs each one's transceiver shows at that moment (`None` when the
/// transceiver lists none), in order.
fn tracks_with_codecs(pc: &mut PeerConnection) -> Vec<(MediaKind, Option<Vec<Codec>>)> {
    let mut out = Vec::new();
    loop {
        match pc.poll_output() {
            Output::Event(Event::Track(t)) => {
                let codecs = pc.transceiver(t.transceiver).unwrap().codecs;
                out.push((t.kind, (!codecs.is_empty()).then_some(codecs)));
            }
            Output::Event(_) | Output::Transmit(_) => {}
            Output::Timeout(_) => return out,
        }
    }
}

/// W3C webrtc-pc §4.4.1.6: `[[ReceiveCodecs]]` are set before the track event fires, so an
/// application handling `Event::Track` sees the receiver's codecs in `transceivers()`; they
/// are the codecs the answer then negotiates. A section with no codec in common announces no
/// track.
#[test]
fn track_events_come_with_the_receivers_codecs() {
    let now = Instant::now();
    let mut b = pc(21);
    b.set_remote_description(now, desc(SdpType::Offer, CHROMIUM))
        .unwrap();
    let seen = tracks_with_codecs(&mut b);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (kind, codecs) in &seen {
        assert!(codecs.is_some(), "{kind:?} track announced without codecs");
    }
    let ans = b.create_answer().unwrap();
    b.set_local_description(now, ans).unwrap();
    for (kind, codecs) in seen {
        let t = b
            .transceivers()
            .into_iter()
            .find(|t| t.kind == kind)
            .unwrap();
        assert_eq!(
            Some(t.codecs),
            codecs,
            "{kind:?}: the answer negotiated others"
        );
    }

    // The offerer's side: the track events of the answer come with the negotiated codecs.
    let mut a = pc(22);
    let mut c = pc(23);
    for kind in [MediaKind::Audio, MediaKind::Video] {
        a.add_transceiver(kind, TransceiverInit::default()).unwrap();
        c.add_transceiver(kind, TransceiverInit::default()).unwrap();
    }
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    c.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = c.create_answer().unwrap();
    c.set_local_description(now, answer).unwrap();
    tracks_with_codecs(&mut a);
    a.set_remote_description(now, c.local_description().unwrap())
        .unwrap();
    let seen = tracks_with_codecs(&mut a);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|(_, c)| c.is_some()), "{seen:?}");

    // No codec in common (High-profile H.264 only): no track for the video section.
    let offer = chromium_with_video(
        "122",
        "a=rtpmap:122 H264/90000\na=fmtp:122 packetization-mode=1;profile-level-id=640c1f",
    );
    let mut d = pc(24);
    d.set_remote_description(now, desc(SdpType::Offer, &offer))
        .unwrap();
    let seen = tracks_with_codecs(&mut d);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, MediaKind::Audio);
}

/// The m= sections of a description's text, each with its lines (the session part first).
fn section_texts(sdp: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for l in sdp.lines() {
        if l.starts_with("m=") {
            out.push(String::new());
        }
        let last = out.last_mut().unwrap();
        last.push_str(l);
        last.push('\n');
    }
    out
}

/// RFC 8285 §6: the answer has a=extmap-allow-mixed where the offer has it (session or media
/// level), and nowhere when the offer does not.
#[test]
fn extmap_allow_mixed_is_echoed_where_offered() {
    const MIXED: &str = "a=extmap-allow-mixed";
    let has = |s: &str| s.lines().any(|l| l == MIXED);
    // Chromium: at session level.
    assert!(has(&section_texts(CHROMIUM)[0]));
    let (_, text) = answer(CHROMIUM, |_| {});
    let secs = section_texts(&text);
    assert!(has(&secs[0]), "{text}");
    assert_eq!(text.matches(MIXED).count(), 1, "{text}");

    // At media level in the video section only.
    let mut offer = String::new();
    for l in CHROMIUM.lines().filter(|l| *l != MIXED) {
        offer.push_str(l);
        offer.push_str("\r\n");
        if l == "a=mid:1" {
            offer.push_str("a=extmap-allow-mixed\r\n");
        }
    }
    let (_, text) = answer(&offer, |_| {});
    let secs = section_texts(&text);
    assert!(!has(&secs[0]), "{text}");
    assert!(!has(&secs[1]), "audio: {text}");
    assert!(has(&secs[2]), "video: {text}");
    assert_eq!(text.matches(MIXED).count(), 1, "{text}");

    // Not offered: not answered.
    let plain: String = CHROMIUM
        .lines()
        .filter(|l| *l != MIXED)
        .map(|l| format!("{l}\r\n"))
        .collect();
    let (_, text) = answer(&plain, |_| {});
    assert!(!text.contains(MIXED), "{text}");
}

/// RFC 8285 §6: ferrtc's offer with audio/video says a=extmap-allow-mixed once, at session
/// level (as browsers' offers do), and the answer from a second ferrtc echoes it there; a
/// data-only offer has no extmap and says nothing.
#[test]
fn offers_with_media_allow_mixed_extensions() {
    const MIXED: &str = "a=extmap-allow-mixed";
    let now = Instant::now();
    let mut a = pc(41);
    let mut b = pc(42);
    a.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    let secs = section_texts(&offer.sdp);
    assert!(secs[0].lines().any(|l| l == MIXED), "{}", offer.sdp);
    assert_eq!(offer.sdp.matches(MIXED).count(), 1, "{}", offer.sdp);
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    assert!(section_texts(&answer.sdp)[0].lines().any(|l| l == MIXED));

    let mut d = pc(43);
    d.create_data_channel(Default::default()).unwrap();
    let offer = d.create_offer(OfferOptions::default()).unwrap();
    assert!(!offer.sdp.contains(MIXED), "{}", offer.sdp);
}

/// Trickled candidates (RFC 8838 §4.4) name the section that carries the BUNDLE transport:
/// in an answer, the offerer-tagged one (the first mid of the offer's group, RFC 8843 §7.3.1),
/// which is where `local_description()` writes the candidates too.
#[test]
fn trickled_candidates_name_the_bundle_tagged_section() {
    for (group, mid, index) in [("0 1 2", "0", 0u16), ("1 0 2", "1", 1), ("2 1 0", "2", 2)] {
        let offer = CHROMIUM.replace("a=group:BUNDLE 0 1 2", &format!("a=group:BUNDLE {group}"));
        let now = Instant::now();
        let mut b = pc(31);
        b.set_remote_description(now, desc(SdpType::Offer, &offer))
            .unwrap();
        events(&mut b);
        let ans = b.create_answer().unwrap();
        b.set_local_description(now, ans).unwrap();
        let cands: Vec<_> = events(&mut b)
            .into_iter()
            .filter_map(|e| match e {
                Event::IceCandidate(Some(c)) => Some(c),
                _ => None,
            })
            .collect();
        assert!(!cands.is_empty(), "group {group}: no candidate announced");
        for c in &cands {
            assert_eq!(c.sdp_mid.as_deref(), Some(mid), "group {group}");
            assert_eq!(c.sdp_m_line_index, Some(index), "group {group}");
        }
        let text = b.local_description().unwrap().sdp;
        let secs = section_texts(&text);
        let with: Vec<usize> = (1..secs.len())
            .filter(|&i| secs[i].contains("a=candidate:"))
            .map(|i| i - 1)
            .collect();
        assert_eq!(with, [usize::from(index)], "group {group}: {text}");
    }
}
