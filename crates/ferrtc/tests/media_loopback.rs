//! Media through the async API over loopback sockets: two facade peer connections, VP8 frames
//! (from an IVF file) and Opus packets (from an Ogg file) from A to B arrive byte for byte, a
//! PLI from B's remote track reaches A's sender as a key frame request, per-sender and
//! per-receiver stats agree, and a reader that falls behind loses the oldest frames (counted)
//! without holding the connection up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use bytes::Bytes;
use ferrtc::media_codecs::container::ivf::IvfReader;
use ferrtc::media_codecs::container::ogg::OggReader;
use ferrtc::peerconnection::stats::Stats;
use ferrtc::{
    Direction, KeyframeRequestKind, MediaKind, PeerConnection, PeerEvent, RemoteTrack,
    RtcConfiguration, TransceiverInit,
};

fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    }
}

async fn connect(a: &PeerConnection, b: &PeerConnection) {
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(offer).await.unwrap();
    b.set_remote_description(a.gathered_local_description().await.unwrap())
        .await
        .unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(answer).await.unwrap();
    a.set_remote_description(b.gathered_local_description().await.unwrap())
        .await
        .unwrap();
}

async fn tracks(events: &mut ferrtc::Events, n: usize) -> Vec<RemoteTrack> {
    let mut out = Vec::new();
    while out.len() < n {
        if let PeerEvent::Track(t) = events.recv().await.unwrap() {
            out.push(t);
        }
    }
    out
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
    // The first two packets are OpusHead and OpusTags (RFC 7845 §5).
    OggReader::new(ogg, 65_536)
        .skip(2)
        .map(|p| p.unwrap().data)
        .collect()
}

fn counter(report: &ferrtc::StatsReport, f: impl Fn(&Stats) -> Option<u64>) -> u64 {
    report.stats.iter().filter_map(f).sum()
}

#[tokio::test]
async fn vp8_and_opus_one_way_byte_for_byte_with_keyframe_request_and_stats() {
    let t = tokio::time::timeout(Duration::from_secs(30), async {
        let a = PeerConnection::new(loopback()).await.unwrap();
        let b = PeerConnection::new(loopback()).await.unwrap();
        let mut eb = b.events().unwrap();
        let video = a.add_track(MediaKind::Video, "cam", &["s1"]).await.unwrap();
        let audio = a
            .add_transceiver(
                MediaKind::Audio,
                TransceiverInit {
                    direction: Direction::SendOnly,
                    stream_ids: vec!["s1".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        connect(&a, &b).await;
        let remote = tracks(&mut eb, 2).await;
        let rv = remote
            .iter()
            .find(|t| t.kind() == MediaKind::Video)
            .unwrap()
            .clone();
        let ra = remote
            .iter()
            .find(|t| t.kind() == MediaKind::Audio)
            .unwrap()
            .clone();
        assert_eq!(rv.track_id(), "cam");
        assert_eq!(rv.stream_ids(), ["s1".to_owned()]);
        a.wait_connected().await.unwrap();
        b.wait_connected().await.unwrap();

        let vp8 = vp8_frames();
        let opus = opus_packets();
        assert!(
            vp8.len() >= 5 && opus.len() >= 10,
            "{} {}",
            vp8.len(),
            opus.len()
        );
        // DTLS-SRTP may finish a moment after connectionState says connected on this side:
        // retry the first frame until the engine takes it.
        let mut tries = 0;
        while video.write_frame(vp8[0].clone(), 0).await.is_err() {
            tries += 1;
            assert!(tries < 100, "the sender never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (i, f) in vp8.iter().enumerate().skip(1) {
            video.write_frame(f.clone(), 3000 * i as u32).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for p in &opus {
            audio
                .write_sample(p.clone(), Duration::from_millis(20))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut got_v = Vec::new();
        while got_v.len() < vp8.len() {
            let f = tokio::time::timeout(Duration::from_secs(5), rv.recv_frame())
                .await
                .expect("a video frame")
                .unwrap();
            got_v.push(f);
        }
        assert_eq!(
            got_v.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            vp8
        );
        assert!(
            got_v[0].keyframe,
            "the first VP8 frame of the file is a key frame"
        );
        assert_eq!(got_v[0].resolution, Some((320, 240)));
        // RTP timestamps keep the spacing they were written with (the offset is random).
        assert_eq!(
            got_v[1].rtp_timestamp.wrapping_sub(got_v[0].rtp_timestamp),
            3000
        );
        let mut got_a = Vec::new();
        while got_a.len() < opus.len() {
            let f = tokio::time::timeout(Duration::from_secs(5), ra.recv_frame())
                .await
                .expect("an audio packet")
                .unwrap();
            got_a.push(f);
        }
        assert_eq!(
            got_a.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            opus
        );
        // write_sample of 20 ms at 48 kHz: 960 ticks apart.
        assert_eq!(
            got_a[1].rtp_timestamp.wrapping_sub(got_a[0].rtp_timestamp),
            960
        );
        assert_eq!(rv.dropped(), 0);

        // Keyframe request round trip: B asks, A's sender hears a PLI.
        rv.request_keyframe(KeyframeRequestKind::Pli).await.unwrap();
        let k = tokio::time::timeout(Duration::from_secs(5), video.keyframe_request())
            .await
            .expect("a keyframe request");
        assert_eq!(k, Some(KeyframeRequestKind::Pli));

        // Per-sender and per-receiver stats.
        let sent = video.get_stats().await.unwrap();
        let received = rv.get_stats().await.unwrap();
        let packets_sent = counter(&sent, |s| match s {
            Stats::OutboundRtp(o) => Some(o.packets_sent),
            _ => None,
        });
        let packets_received = counter(&received, |s| match s {
            Stats::InboundRtp(i) => Some(i.packets_received),
            _ => None,
        });
        let frames_sent = counter(&sent, |s| match s {
            Stats::OutboundRtp(o) => o.frames_sent,
            _ => None,
        });
        assert_eq!(frames_sent, vp8.len() as u64);
        assert!(packets_sent >= vp8.len() as u64);
        assert_eq!(
            packets_received, packets_sent,
            "nothing is lost on loopback"
        );
        assert_eq!(
            counter(&sent, |s| match s {
                Stats::OutboundRtp(o) => o.pli_count,
                _ => None,
            }),
            1
        );
        // Only the video sender's objects: no inbound or audio objects.
        assert!(sent.stats.iter().all(|s| match s {
            Stats::OutboundRtp(o) => o.kind == "video",
            Stats::RemoteInboundRtp(_) | Stats::Codec(_) => true,
            _ => false,
        }));
        let audio_sent = counter(&audio.get_stats().await.unwrap(), |s| match s {
            Stats::OutboundRtp(o) => Some(o.packets_sent),
            _ => None,
        });
        assert_eq!(
            audio_sent,
            opus.len() as u64,
            "one RTP packet per Opus packet"
        );

        // The connection closes: the remote track's queue ends.
        a.close().await.unwrap();
        b.close().await.unwrap();
        let end = tokio::time::timeout(Duration::from_secs(5), rv.recv_frame()).await;
        assert!(matches!(end, Ok(None)));
    })
    .await;
    assert!(t.is_ok(), "timed out");
}

#[tokio::test]
async fn a_slow_reader_loses_the_oldest_frames_and_they_are_counted() {
    let t = tokio::time::timeout(Duration::from_secs(30), async {
        let a = PeerConnection::new(loopback()).await.unwrap();
        let b = PeerConnection::new(loopback()).await.unwrap();
        let mut eb = b.events().unwrap();
        let audio = a.add_track(MediaKind::Audio, "mic", &[]).await.unwrap();
        connect(&a, &b).await;
        let ra = tracks(&mut eb, 1).await.remove(0);
        a.wait_connected().await.unwrap();
        let opus = opus_packets();
        let n = ferrtc::media::RECEIVE_QUEUE + 44;
        let mut tries = 0;
        while audio.write_frame(opus[0].clone(), 0).await.is_err() {
            tries += 1;
            assert!(tries < 100, "the sender never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for i in 1..n {
            let p = opus[i % opus.len()].clone();
            audio.write_frame(p, 960 * i as u32).await.unwrap();
            if i % 16 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        // Nobody read: wait until every packet was counted by B's receiver.
        let mut received = 0;
        for _ in 0..200 {
            let s = ra.get_stats().await.unwrap();
            received = counter(&s, |s| match s {
                Stats::InboundRtp(i) => Some(i.packets_received),
                _ => None,
            });
            if received >= n as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(received, n as u64);
        assert_eq!(ra.dropped(), 44);
        // What is left is the newest RECEIVE_QUEUE packets, in order.
        let first = ra.recv_frame().await.unwrap();
        assert_eq!(first.data, opus[44 % opus.len()]);
        let mut left = 1;
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(200), ra.recv_frame()).await
        {
            left += 1;
        }
        assert_eq!(left, ferrtc::media::RECEIVE_QUEUE);
    })
    .await;
    assert!(t.is_ok(), "timed out");
}
