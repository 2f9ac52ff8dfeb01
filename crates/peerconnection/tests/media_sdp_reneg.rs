//! Renegotiation of media after connect (issue 13, JSEP RFC 8829 §5.2.2 / §5.3.2): a video
//! transceiver added later, an offer from the other side, a direction change, a stop (port 0,
//! slot recycled with a new mid), and the rollback of a remote offer; the connection stays up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::Duration;

use ferrtc_peerconnection::media::NegotiatedMedia;
use ferrtc_peerconnection::{
    ChannelInit, Direction, Event, LocalTrack, MediaKind, OfferOptions, RtcSessionDescription,
    SdpType, TransceiverInit,
};
use ferrtc_sdp::SessionDescription;
use ferrtc_testkit::{LinkConfig, Sim};

mod common;
use common::media_pc::{connected, negotiate, pc, peer, take_events, Peer};

fn media(sim: &Sim<Peer>, a: SocketAddr) -> Vec<NegotiatedMedia> {
    sim.endpoint(a).unwrap().pc.negotiated_media()
}

fn setup(seed: u64) -> (Sim<Peer>, SocketAddr, SocketAddr) {
    let mut sim = Sim::new(seed);
    sim.set_default_link(LinkConfig::default());
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    pc(&mut sim, a)
        .create_data_channel(ChannelInit {
            label: "chat".into(),
            ..Default::default()
        })
        .unwrap();
    negotiate(&mut sim, a, b);
    sim.run_until(Duration::from_secs(10), |s| {
        connected(s, a) && connected(s, b)
    })
    .unwrap();
    take_events(&mut sim, a);
    take_events(&mut sim, b);
    (sim, a, b)
}

fn cam(id: &str) -> LocalTrack {
    LocalTrack {
        kind: MediaKind::Video,
        id: id.into(),
        stream_ids: vec!["s".into()],
    }
}

fn mids(sdp: &RtcSessionDescription) -> Vec<(String, u16)> {
    let s: SessionDescription = sdp.sdp.parse().unwrap();
    s.media()
        .map(|m| (m.mid().unwrap_or("").to_owned(), m.port()))
        .collect()
}

fn tracks(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some(t.track_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn media_added_changed_stopped_after_connect() {
    let (mut sim, a, b) = setup(5);
    assert!(media(&sim, a).is_empty());

    // 1. A adds a camera after connect: negotiationneeded, a re-offer with the data section
    //    first (its mid kept) and a new video section.
    let video = pc(&mut sim, a).add_track(cam("cam-a")).unwrap();
    assert!(take_events(&mut sim, a).contains(&Event::NegotiationNeeded));
    let (offer, _) = negotiate(&mut sim, a, b);
    assert_eq!(
        mids(&offer),
        [("0".to_owned(), 9), ("1".to_owned(), 9)],
        "{}",
        offer.sdp
    );
    assert_eq!(tracks(&take_events(&mut sim, b)), ["cam-a"]);
    let (ma, mb) = (media(&sim, a), media(&sim, b));
    assert_eq!(ma.len(), 1);
    assert_eq!(mb.len(), 1);
    assert_eq!(ma[0].transceiver, video);
    assert_eq!(
        ma[0].direction,
        Direction::SendOnly,
        "B has nothing to send"
    );
    assert_eq!(mb[0].direction, Direction::RecvOnly);
    assert_eq!(mb[0].remote_ssrcs[0].ssrc, ma[0].local_ssrc);
    assert_eq!(mb[0].remote_ssrcs[0].rtx, ma[0].local_rtx_ssrc);

    // 2. B offers its own audio back (the other direction); A creates a recvonly transceiver
    //    for it and B's video transceiver, now with a track, sends too.
    pc(&mut sim, b)
        .add_track(LocalTrack {
            kind: MediaKind::Audio,
            id: "mic-b".into(),
            stream_ids: vec![],
        })
        .unwrap();
    let b_video = mb[0].transceiver;
    pc(&mut sim, b).add_track(cam("cam-b")).unwrap();
    assert_eq!(
        sim.endpoint(b).unwrap().pc.transceivers().len(),
        2,
        "cam-b reused B's video transceiver (W3C addTrack)"
    );
    let (offer, answer) = negotiate(&mut sim, b, a);
    assert_eq!(
        mids(&offer)
            .iter()
            .map(|m| m.0.as_str())
            .collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    assert!(offer.sdp.contains("a=msid:- mic-b"), "{}", offer.sdp);
    assert!(
        answer.sdp.contains("a=group:BUNDLE 0 1 2"),
        "{}",
        answer.sdp
    );
    let mut got = tracks(&take_events(&mut sim, a));
    got.sort();
    assert_eq!(got, ["cam-b", "mic-b"]);
    let ma = media(&sim, a);
    assert_eq!(ma.len(), 2);
    let video_a = ma.iter().find(|m| m.mid == "1").unwrap();
    assert_eq!(video_a.direction, Direction::SendRecv);
    let audio_a = ma.iter().find(|m| m.mid == "2").unwrap();
    assert_eq!(audio_a.direction, Direction::RecvOnly);
    assert_eq!(
        sim.endpoint(b)
            .unwrap()
            .pc
            .transceiver(b_video)
            .unwrap()
            .current_direction,
        Some(Direction::SendRecv)
    );

    // 3. A stops receiving video: B's receiver track ends on the next exchange.
    pc(&mut sim, a)
        .set_direction(video, Direction::SendOnly)
        .unwrap();
    negotiate(&mut sim, a, b);
    let eb = take_events(&mut sim, b);
    assert!(
        !eb.iter().any(|e| matches!(e, Event::TrackEnded(_))),
        "A still sends: {eb:?}"
    );
    let ea = take_events(&mut sim, a);
    assert!(ea.contains(&Event::TrackEnded(video)), "{ea:?}");
    let mb = media(&sim, b);
    let v = mb.iter().find(|m| m.mid == "1").unwrap();
    assert_eq!(v.direction, Direction::RecvOnly);

    // 4. A stops the video transceiver: port 0 in the next offer and answer; gone from both.
    pc(&mut sim, a).stop_transceiver(video).unwrap();
    assert!(media(&sim, a).iter().all(|m| m.mid != "1"), "stops at once");
    let (offer, answer) = negotiate(&mut sim, a, b);
    assert_eq!(mids(&offer)[1], ("1".to_owned(), 0));
    assert_eq!(mids(&answer)[1], ("1".to_owned(), 0));
    assert!(media(&sim, b).iter().all(|m| m.mid != "1"));
    assert!(take_events(&mut sim, b).contains(&Event::TrackEnded(b_video)));
    assert!(
        sim.endpoint(a)
            .unwrap()
            .pc
            .transceiver(video)
            .unwrap()
            .stopped
    );

    // 5. A new video transceiver recycles the rejected slot with a new mid.
    let again = pc(&mut sim, a)
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let (offer, _) = negotiate(&mut sim, a, b);
    assert_eq!(
        mids(&offer),
        [
            ("0".to_owned(), 9),
            ("3".to_owned(), 9),
            ("2".to_owned(), 9)
        ]
    );
    let ma = media(&sim, a);
    assert_eq!(ma.iter().find(|m| m.mid == "3").unwrap().transceiver, again);
    assert_eq!(media(&sim, b).len(), 2);

    // Through all of it the transport stayed up.
    sim.run_for(Duration::from_millis(200)).unwrap();
    assert!(connected(&sim, a) && connected(&sim, b));
}

#[test]
fn rollback_of_a_remote_offer_removes_its_transceivers() {
    let (mut sim, a, b) = setup(6);
    let now = sim.now();
    pc(&mut sim, a).add_track(cam("cam-a")).unwrap();
    let offer = pc(&mut sim, a)
        .create_offer(OfferOptions::default())
        .unwrap();
    pc(&mut sim, a).set_local_description(now, offer).unwrap();
    let offer = pc(&mut sim, a).local_description().unwrap();
    pc(&mut sim, b)
        .set_remote_description(now, offer.clone())
        .unwrap();
    assert_eq!(sim.endpoint(b).unwrap().pc.transceivers().len(), 1);
    assert_eq!(tracks(&take_events(&mut sim, b)), ["cam-a"]);
    let created = sim.endpoint(b).unwrap().pc.transceivers()[0].id;
    pc(&mut sim, b)
        .set_remote_description(
            now,
            RtcSessionDescription {
                sdp_type: SdpType::Rollback,
                sdp: String::new(),
            },
        )
        .unwrap();
    assert!(sim.endpoint(b).unwrap().pc.transceivers().is_empty());
    assert!(take_events(&mut sim, b).contains(&Event::TrackEnded(created)));
    assert!(media(&sim, b).is_empty());
    // A rolls back its offer too: its transceiver loses the mid the offer gave it.
    pc(&mut sim, a)
        .set_local_description(
            now,
            RtcSessionDescription {
                sdp_type: SdpType::Rollback,
                sdp: String::new(),
            },
        )
        .unwrap();
    assert_eq!(sim.endpoint(a).unwrap().pc.transceivers()[0].mid, None);
    // And the exchange can be done again.
    negotiate(&mut sim, a, b);
    assert_eq!(media(&sim, b).len(), 1);
    assert_eq!(media(&sim, a).len(), 1);
}

/// Without a data channel the BUNDLE transport is the audio section's: ICE and DTLS come up
/// from its attributes alone.
#[test]
fn media_only_connection_uses_the_tagged_sections_transport() {
    let mut sim = Sim::new(8);
    sim.set_default_link(LinkConfig::default());
    let a = peer(&mut sim, "10.0.0.1:40000");
    let b = peer(&mut sim, "10.0.0.2:50000");
    pc(&mut sim, a)
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let (offer, answer) = negotiate(&mut sim, a, b);
    assert!(!offer.sdp.contains("m=application"));
    assert!(!answer.sdp.contains("m=application"));
    sim.run_until(Duration::from_secs(10), |s| {
        connected(s, a) && connected(s, b)
    })
    .unwrap();
    assert_eq!(media(&sim, a).len(), 1);
    assert_eq!(media(&sim, b)[0].direction, Direction::RecvOnly);
}

/// The answerer stops a transceiver, then the peer re-offers before the stop was negotiated:
/// no track event for it, and the answer rejects its section, which stops the offerer's.
#[test]
fn stop_then_remote_reoffer_rejects_the_section() {
    let (mut sim, a, b) = setup(9);
    let va = pc(&mut sim, a).add_track(cam("cam-a")).unwrap();
    negotiate(&mut sim, a, b);
    let vb = media(&sim, b)[0].transceiver;
    take_events(&mut sim, b);
    pc(&mut sim, b).stop_transceiver(vb).unwrap();
    assert_eq!(take_events(&mut sim, b)[..1], [Event::TrackEnded(vb)]);
    assert!(media(&sim, b).is_empty());
    // A re-offers (say, after an ICE-independent change of its own).
    pc(&mut sim, a)
        .set_direction(va, Direction::SendRecv)
        .unwrap();
    let (_, answer) = negotiate(&mut sim, a, b);
    assert_eq!(mids(&answer)[1], ("1".to_owned(), 0), "{}", answer.sdp);
    assert!(!take_events(&mut sim, b)
        .iter()
        .any(|e| matches!(e, Event::Track(_))));
    assert!(sim.endpoint(a).unwrap().pc.transceiver(va).unwrap().stopped);
    assert!(sim.endpoint(b).unwrap().pc.transceiver(vb).unwrap().stopped);
    assert!(media(&sim, a).is_empty() && media(&sim, b).is_empty());
}
