//! A WHIP server that sends each received track straight back to its sender: every frame the
//! client publishes on a sendrecv section comes back on the same section, with the same
//! payload type and RTP timestamp; key frame requests from the client are passed on to it.
//!
//!     cargo run --release -p ferrtc --example reflect -- [--port 8080] [--loopback]
//!
//! Publish to `http://127.0.0.1:PORT/whip` with sendrecv audio and video (a browser page that
//! shows the track it receives; `cargo xtask interop-media`). `--loopback` gathers only
//! 127.0.0.1 candidates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc::whip::WhipServer;
use ferrtc::{
    Error, KeyframeRequestKind, MediaKind, PeerConnection, PeerEvent, RemoteTrack,
    RtcConfiguration, TrackSender,
};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Sends `track`'s frames back on `sender` until the track ends.
async fn reflect(track: RemoteTrack, sender: TrackSender) {
    // The client's key frame requests for what we send go to the client's own sender.
    let requests = {
        let (track, sender) = (track.clone(), sender.clone());
        tokio::spawn(async move {
            while let Some(kind) = sender.keyframe_request().await {
                let _ = track.request_keyframe(kind).await;
            }
        })
    };
    if track.kind() == MediaKind::Video {
        // Start the reflected stream at a key frame.
        let _ = track.request_keyframe(KeyframeRequestKind::Pli).await;
    }
    let mut sent = 0u64;
    while let Some(f) = track.recv_frame().await {
        match sender
            .write_frame_as(f.data, f.rtp_timestamp, f.payload_type)
            .await
        {
            Ok(()) => sent += 1,
            Err(Error::Closed) => break,
            Err(e) => tracing::debug!(error = %e, "frame not reflected"),
        }
    }
    requests.abort();
    tracing::info!(mid = track.mid(), frames = sent, "track ended");
}

async fn session(pc: PeerConnection) {
    let mut events = pc.events().unwrap();
    // Added before the offer is applied: the client's sendrecv sections take these senders,
    // one per kind, and the answer is sendrecv.
    let video = pc
        .add_track(MediaKind::Video, "reflected-video", &["reflect"])
        .await
        .unwrap();
    let audio = pc
        .add_track(MediaKind::Audio, "reflected-audio", &["reflect"])
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let PeerEvent::Track(t) = ev {
                let sender = [&video, &audio]
                    .into_iter()
                    .find(|s| s.transceiver() == t.transceiver())
                    .cloned();
                match sender {
                    Some(s) => {
                        tokio::spawn(reflect(t, s));
                    }
                    None => tracing::warn!(mid = t.mid(), "no sender on this section"),
                }
            }
        }
    });
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let port: u16 = arg("--port").map_or(8080, |p| p.parse().expect("--port N"));
    let mut config = RtcConfiguration::default();
    if std::env::args().any(|a| a == "--loopback") {
        config.interfaces = Some(vec!["127.0.0.1".parse().unwrap()]);
    }
    let server = WhipServer::new(config, session);
    let app = server.router("/whip");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on http://127.0.0.1:{port}/whip");
    axum::serve(listener, app).await.expect("serve");
}
