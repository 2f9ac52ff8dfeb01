//! WHIP and WHEP with media over loopback: a ferrtc WHIP client publishes VP8 and Opus to a
//! WHIP server that answers recvonly and hands the session's remote tracks to the application
//! (through its session hook's `PeerEvent::Track`); the frames arrive byte for byte and the
//! tracks end on DELETE. WHEP: the server's hook adds a track and feeds it, the client offers
//! recvonly and receives the frames.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrtc::media_codecs::container::ivf::IvfReader;
use ferrtc::media_codecs::container::ogg::OggReader;
use ferrtc::whip::{WhipClient, WhipServer};
use ferrtc::{
    Direction, MediaKind, PeerConnection, PeerEvent, RemoteTrack, RtcConfiguration, TrackSender,
    TransceiverInit,
};
use tokio::sync::mpsc;

fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    }
}

async fn serve(server: Arc<WhipServer>, path: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server.router(path);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}{path}")
}

fn vp8_frames() -> Vec<Bytes> {
    let ivf = Bytes::from_static(include_bytes!("data/video_vpx_320x240.vp8.ivf"));
    IvfReader::new(ivf)
        .unwrap()
        .map(|f| f.unwrap().data)
        .collect()
}

fn opus_packets() -> Vec<Bytes> {
    let ogg = Bytes::from_static(include_bytes!("data/ffmpeg_sine_300ms.opus"));
    OggReader::new(ogg, 65_536)
        .skip(2)
        .map(|p| p.unwrap().data)
        .collect()
}

/// Writes `frames` 3000 ticks apart, retrying the first until SRTP is keyed.
async fn send_all(sender: &TrackSender, frames: &[Bytes], step: u32) {
    let mut tries = 0;
    while sender.write_frame(frames[0].clone(), 0).await.is_err() {
        tries += 1;
        assert!(tries < 200, "the sender never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (i, f) in frames.iter().enumerate().skip(1) {
        sender
            .write_frame(f.clone(), step * i as u32)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn receive(track: &RemoteTrack, n: usize) -> Vec<Bytes> {
    let mut got = Vec::new();
    while got.len() < n {
        let f = tokio::time::timeout(Duration::from_secs(5), track.recv_frame())
            .await
            .expect("a frame")
            .expect("the track is live");
        got.push(f.data);
    }
    got
}

fn directions(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .map(str::trim)
        .filter(|l| {
            matches!(
                *l,
                "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
            )
        })
        .collect()
}

#[tokio::test]
async fn whip_publish_audio_and_video_to_a_recording_server() {
    let t = tokio::time::timeout(Duration::from_secs(30), async {
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel::<RemoteTrack>();
        let server = WhipServer::new(loopback(), move |pc: PeerConnection| {
            let tracks_tx = tracks_tx.clone();
            async move {
                let mut events = pc.events().unwrap();
                tokio::spawn(async move {
                    while let Some(ev) = events.recv().await {
                        if let PeerEvent::Track(t) = ev {
                            let _ = tracks_tx.send(t);
                        }
                    }
                });
            }
        });
        let url = serve(server.clone(), "/whip").await;
        let pc = PeerConnection::new(loopback()).await.unwrap();
        let send_only = || TransceiverInit {
            direction: Direction::SendOnly,
            stream_ids: vec!["live".into()],
            ..Default::default()
        };
        let video = pc
            .add_transceiver(MediaKind::Video, send_only())
            .await
            .unwrap();
        let audio = pc
            .add_transceiver(MediaKind::Audio, send_only())
            .await
            .unwrap();
        let session = WhipClient::new(None).publish(&url, &pc).await.unwrap();
        let answer = pc.remote_description().await.unwrap().unwrap();
        assert_eq!(directions(&answer.sdp), ["a=recvonly", "a=recvonly"]);
        let a = tracks.recv().await.unwrap();
        let b = tracks.recv().await.unwrap();
        let (rv, ra) = if a.kind() == MediaKind::Video {
            (a, b)
        } else {
            (b, a)
        };
        assert_eq!(rv.stream_ids(), ["live".to_owned()]);
        pc.wait_connected().await.unwrap();
        let vp8 = vp8_frames();
        let opus = opus_packets();
        send_all(&video, &vp8, 3000).await;
        send_all(&audio, &opus, 960).await;
        assert_eq!(receive(&rv, vp8.len()).await, vp8);
        assert_eq!(receive(&ra, opus.len()).await, opus);
        // DELETE ends the session: the server's tracks end, so a recorder can finish its
        // files.
        session.delete().await.unwrap();
        for t in [&rv, &ra] {
            let end = tokio::time::timeout(Duration::from_secs(5), t.recv_frame()).await;
            assert!(matches!(end, Ok(None)), "the track ends on DELETE");
        }
        assert_eq!(server.session_count(), 0);
    })
    .await;
    assert!(t.is_ok(), "timed out");
}

#[tokio::test]
async fn whep_play_from_a_server_track() {
    let t = tokio::time::timeout(Duration::from_secs(30), async {
        let server = WhipServer::new(loopback(), |pc: PeerConnection| async move {
            // The server's track, added before the client's offer is applied: the offer's
            // recvonly video section takes it and the answer says sendonly.
            let sender = pc
                .add_track(MediaKind::Video, "file", &["play"])
                .await
                .unwrap();
            tokio::spawn(async move {
                if pc.wait_connected().await.is_ok() {
                    send_all(&sender, &vp8_frames(), 3000).await;
                }
            });
        });
        let url = serve(server, "/whep").await;
        let pc = PeerConnection::new(loopback()).await.unwrap();
        let mut events = pc.events().unwrap();
        pc.add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                direction: Direction::RecvOnly,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let _session = WhipClient::new(None).publish(&url, &pc).await.unwrap();
        let answer = pc.remote_description().await.unwrap().unwrap();
        assert_eq!(directions(&answer.sdp), ["a=sendonly"]);
        let track = loop {
            if let PeerEvent::Track(t) = events.recv().await.unwrap() {
                break t;
            }
        };
        assert_eq!(track.track_id(), "file");
        let vp8 = vp8_frames();
        assert_eq!(receive(&track, vp8.len()).await, vp8);
    })
    .await;
    assert!(t.is_ok(), "timed out");
}
