//! Media between two whole peer connections through the simulated network: transceivers
//! negotiated by offer/answer, ICE, DTLS-SRTP keying, then VP8 frames and Opus packets from A
//! arrive at B byte for byte, a PLI from B reaches A as a keyframe request, and the two sides'
//! getStats agree (A's outbound packetsSent = B's inbound packetsReceived + packetsLost).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use ferrtc_dtls::{Certificate, KeyType};
use ferrtc_peerconnection::{
    Configuration, Event, KeyframeRequestKind, MediaKind, TransceiverInit,
};
use ferrtc_testkit::{LinkConfig, Sim};

mod common;
use common::media_pc::*;

#[test]
fn two_peer_connections_exchange_vp8_and_opus_through_srtp() {
    let AvPair {
        mut sim,
        a,
        b,
        video,
        audio,
        b_video,
        b_audio,
    } = av_pair(3, Duration::from_millis(20));
    // Media only: no SCTP association (and so no SCTP INIT to a peer that expects none).
    assert!(!sim.endpoint(a).unwrap().pc.has_sctp());
    assert!(!sim.endpoint(b).unwrap().pc.has_sctp());

    let vp8 = vp8_frames();
    let opus = opus_packets();
    for i in 0..opus.len().max(vp8.len()) {
        let now = sim.now();
        if let Some(f) = vp8.get(i) {
            let f = frame(f.clone(), 3000 * i as u32, now);
            pc(&mut sim, a).write_frame(now, video, f).unwrap();
        }
        if let Some(f) = opus.get(i) {
            let f = frame(f.clone(), 960 * i as u32, now);
            pc(&mut sim, a).write_frame(now, audio, f).unwrap();
        }
        sim.run_for(Duration::from_millis(20)).unwrap();
    }
    sim.run_for(Duration::from_millis(500)).unwrap();
    assert_eq!(frames(&sim, b, b_video), vp8);
    assert_eq!(frames(&sim, b, b_audio), opus);

    // PLI from B arrives at A as a keyframe request on A's video transceiver.
    pc(&mut sim, b)
        .request_keyframe(b_video, KeyframeRequestKind::Pli)
        .unwrap();
    sim.run_for(Duration::from_millis(100)).unwrap();
    let requests: Vec<_> = sim
        .endpoint(a)
        .unwrap()
        .events
        .iter()
        .filter_map(|e| match e {
            Event::KeyframeRequest { transceiver, kind } => Some((*transceiver, *kind)),
            _ => None,
        })
        .collect();
    assert_eq!(requests, [(video, KeyframeRequestKind::Pli)]);

    // Let the reports flow, then compare the two views.
    sim.run_for(Duration::from_secs(6)).unwrap();
    let sa = sim.endpoint(a).unwrap().pc.get_stats(1.0e12).to_json();
    let sb = sim.endpoint(b).unwrap().pc.get_stats(1.0e12).to_json();
    let of_type = |s: &serde_json::Value, t: &str, kind: &str| -> serde_json::Value {
        s.as_object()
            .unwrap()
            .values()
            .find(|v| v["type"] == t && v["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} {t} in {s}"))
            .clone()
    };
    for (kind, n) in [("video", None), ("audio", Some(opus.len()))] {
        let out = of_type(&sa, "outbound-rtp", kind);
        let inb = of_type(&sb, "inbound-rtp", kind);
        assert_eq!(out["ssrc"], inb["ssrc"]);
        let sent = out["packetsSent"].as_u64().unwrap();
        let got =
            inb["packetsReceived"].as_u64().unwrap() as i64 + inb["packetsLost"].as_i64().unwrap();
        assert_eq!(sent as i64, got, "{kind}: {out} vs {inb}");
        if let Some(n) = n {
            assert_eq!(sent, n as u64);
        }
        assert_eq!(out["bytesSent"], inb["bytesReceived"]);
        // B's receiver reports reached A: a round trip of about 2 × 20 ms.
        let ri = of_type(&sa, "remote-inbound-rtp", kind);
        let rtt = ri["roundTripTime"].as_f64().unwrap();
        assert!((0.039..0.045).contains(&rtt), "{kind}: rtt {rtt}");
        assert_eq!(ri["packetsLost"], 0);
    }
    assert_eq!(of_type(&sb, "inbound-rtp", "video")["pliCount"], 1);
    assert_eq!(of_type(&sa, "outbound-rtp", "video")["pliCount"], 1);
    assert_eq!(
        of_type(&sb, "inbound-rtp", "video")["framesReceived"],
        vp8.len() as u64
    );
    assert_eq!(pc(&mut sim, b).media_drops(), Default::default());
}

/// A data-channel-only connection keys no SRTP (the keying material is kept); when a video
/// track is added by renegotiation after connect, SRTP is keyed then and frames flow.
#[test]
fn media_added_after_a_data_only_connect_is_keyed_then() {
    let mut sim = Sim::new(5);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    pc(&mut sim, a)
        .create_data_channel(ferrtc_peerconnection::ChannelInit {
            label: "chat".into(),
            ..Default::default()
        })
        .unwrap();
    negotiate(&mut sim, a, b);
    run_until_connected(&mut sim, a, b);
    // No media negotiated: no media engine at all (a data-only connection does not pay for
    // one), and an RTP-looking datagram is a counted drop.
    assert!(sim.endpoint(a).unwrap().pc.media_engine().is_none());
    assert!(sim.endpoint(b).unwrap().pc.media_engine().is_none());
    let (a_addr, b_addr) = (a, b);
    let now = sim.now();
    let _ = pc(&mut sim, b).handle_receive(
        now,
        ferrtc_peerconnection::Datagram {
            source: a_addr,
            destination: b_addr,
            contents: Bytes::from_static(&[0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4]),
        },
    );
    assert_eq!(pc(&mut sim, b).media_drops().not_keyed, 1);
    assert!(sim.endpoint(a).unwrap().pc.has_sctp());

    let video = pc(&mut sim, a)
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    negotiate(&mut sim, a, b);
    sim.run_for(Duration::from_millis(100)).unwrap();
    for p in [a, b] {
        let engine = sim.endpoint(p).unwrap().pc.media_engine();
        assert!(engine.is_some_and(|e| e.is_keyed()));
    }
    let b_video = remote_track(&sim, b, MediaKind::Video);
    let vp8 = vp8_frames();
    send_video(&mut sim, a, video, &vp8);
    assert_eq!(frames(&sim, b, b_video), vp8);
}

/// A media-only connection that later negotiates a data section starts its SCTP association
/// then, over the DTLS connection that is already up, and the channel opens both ways.
#[test]
fn a_data_channel_added_after_a_media_only_connect_opens() {
    let mut sim = Sim::new(9);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    pc(&mut sim, a)
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    negotiate(&mut sim, a, b);
    run_until_connected(&mut sim, a, b);
    assert!(!sim.endpoint(a).unwrap().pc.has_sctp());
    let chat = pc(&mut sim, a)
        .create_data_channel(ferrtc_peerconnection::ChannelInit {
            label: "chat".into(),
            ..Default::default()
        })
        .unwrap();
    negotiate(&mut sim, a, b);
    sim.run_until(Duration::from_secs(10), |s| {
        s.endpoint(a)
            .unwrap()
            .events
            .iter()
            .any(|e| matches!(e, Event::ChannelOpen(id) if *id == chat))
    })
    .unwrap();
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert!(sim.endpoint(a).unwrap().pc.has_sctp());
    assert!(sim.endpoint(b).unwrap().pc.has_sctp());
    assert!(sim
        .endpoint(b)
        .unwrap()
        .events
        .iter()
        .any(|e| matches!(e, Event::DataChannel(_))));
}

/// `Configuration::media.mtu` bounds every media datagram: a 600-byte MTU packetizes the VP8
/// key frame into smaller packets (none above 600 bytes on the wire, SRTP tag included) and the
/// frames still arrive byte for byte.
#[test]
fn the_configured_mtu_bounds_media_datagrams() {
    let mut sim = Sim::new(13);
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
    let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
    let mut cfg = Configuration::new(cert).unwrap();
    cfg.media.mtu = 600;
    let a = peer_with(&mut sim, "10.0.0.1:40000", cfg);
    let b = peer(&mut sim, "10.0.0.2:50000");
    let video = pc(&mut sim, a)
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    negotiate(&mut sim, a, b);
    run_until_connected(&mut sim, a, b);
    sim.endpoint_mut(a).unwrap().max_sent = 0;
    let b_video = remote_track(&sim, b, MediaKind::Video);
    let vp8 = vp8_frames();
    assert!(vp8[0].len() > 1200, "the key frame needs several packets");
    send_video(&mut sim, a, video, &vp8);
    assert_eq!(frames(&sim, b, b_video), vp8);
    let max = sim.endpoint(a).unwrap().max_sent;
    assert!(max <= 600 && max > 400, "largest datagram {max} bytes");
}

/// The media engine lives behind a pointer, made when media is first negotiated: a data-only
/// connection stays small (the engine alone is several KiB inline).
#[test]
fn a_peer_connection_does_not_hold_the_media_engine_inline() {
    let pc_size = std::mem::size_of::<ferrtc_peerconnection::PeerConnection>();
    let engine = std::mem::size_of::<ferrtc_peerconnection::media::MediaEngine>();
    assert!(engine > 4096, "engine {engine} bytes");
    // Inline, the engine alone would make the connection larger than this.
    assert!(
        pc_size < engine + 2048,
        "PeerConnection {pc_size}, engine {engine} bytes"
    );
}

/// `write_frame` stamps what it sends with the caller's `now`, not the connection's last one
/// (abs-send-time follows it), and an audio frame's level and voice activity go out as the
/// negotiated ssrc-audio-level extension (RFC 6464); a frame without one carries none.
#[test]
fn audio_frames_carry_the_callers_time_and_audio_level() {
    use ferrtc_peerconnection::media::AudioLevel;
    use ferrtc_peerconnection::MediaMode;
    use ferrtc_rtp::ExtensionKind;
    let AvPair {
        mut sim,
        a,
        b,
        audio,
        b_audio,
        ..
    } = av_pair(17, Duration::from_millis(10));
    pc(&mut sim, b)
        .set_media_mode(b_audio, MediaMode::Rtp)
        .unwrap();
    let map = sim
        .endpoint(b)
        .unwrap()
        .pc
        .negotiated_media()
        .into_iter()
        .find(|n| n.transceiver == b_audio)
        .unwrap()
        .extensions;
    assert!(map.id_of(ExtensionKind::AudioLevel).is_some());
    assert!(map.id_of(ExtensionKind::AbsSendTime).is_some());
    take_events(&mut sim, b);
    // Three packets written together, stamped by the caller 400 ms apart (all before the
    // connection's current time).
    let base = sim.now();
    sim.run_for(Duration::from_secs(1)).unwrap();
    let levels = [
        Some(AudioLevel {
            voice_activity: true,
            level: 30,
        }),
        None,
        Some(AudioLevel {
            voice_activity: false,
            level: 127,
        }),
    ];
    let opus = opus_packets();
    for (i, level) in levels.iter().enumerate() {
        let mut f = frame(opus[i].clone(), 960 * i as u32, base);
        f.audio_level = *level;
        let at = base + Duration::from_millis(400) * i as u32;
        pc(&mut sim, a).write_frame(at, audio, f).unwrap();
    }
    sim.run_for(Duration::from_millis(100)).unwrap();
    let got: Vec<(Option<AudioLevel>, u32)> = take_events(&mut sim, b)
        .into_iter()
        .filter_map(|e| match e {
            Event::Rtp {
                transceiver,
                packet,
            } if transceiver == b_audio => {
                let ext = map.read(packet.header.extensions.as_ref().unwrap());
                Some((ext.audio_level, ext.abs_send_time.unwrap().0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    let got_levels: Vec<_> = got.iter().map(|g| g.0).collect();
    assert_eq!(got_levels, levels);
    // abs-send-time is 6.18 fixed point seconds: 400 ms is 104 857.6 units.
    for w in got.windows(2) {
        let d = w[1].1.wrapping_sub(w[0].1) & 0x00ff_ffff;
        assert!((104_855..=104_860).contains(&d), "{got:?}");
    }
}

/// A received audio frame carries the level its packet's ssrc-audio-level extension said
/// (RFC 6464; what `getSynchronizationSources()` reports), and none when the packet had none.
#[test]
fn received_audio_frames_carry_the_senders_audio_level() {
    use ferrtc_peerconnection::media::AudioLevel;
    let AvPair {
        mut sim,
        a,
        b,
        audio,
        b_audio,
        ..
    } = av_pair(18, Duration::from_millis(10));
    take_events(&mut sim, b);
    let base = sim.now();
    let levels = [
        Some(AudioLevel {
            voice_activity: true,
            level: 30,
        }),
        None,
        Some(AudioLevel {
            voice_activity: false,
            level: 127,
        }),
        Some(AudioLevel {
            voice_activity: true,
            level: 0,
        }),
    ];
    let opus = opus_packets();
    for (i, level) in levels.iter().enumerate() {
        let mut f = frame(opus[i % opus.len()].clone(), 960 * i as u32, base);
        f.audio_level = *level;
        let now = sim.now();
        pc(&mut sim, a).write_frame(now, audio, f).unwrap();
        sim.run_for(Duration::from_millis(20)).unwrap();
    }
    sim.run_for(Duration::from_millis(300)).unwrap();
    let got: Vec<(u32, Option<AudioLevel>)> = take_events(&mut sim, b)
        .into_iter()
        .filter_map(|e| match e {
            Event::Frame(f) if f.transceiver == b_audio => Some((f.rtp_timestamp, f.audio_level)),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), levels.len(), "{got:?}");
    let first = got[0].0;
    for (i, (ts, level)) in got.iter().enumerate() {
        assert_eq!(ts.wrapping_sub(first), 960 * i as u32, "{got:?}");
        assert_eq!(*level, levels[i], "frame {i}: {got:?}");
    }
}
