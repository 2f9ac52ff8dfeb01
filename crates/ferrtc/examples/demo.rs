//! The ferrtc demo: a web page that chats with this Rust process over a WebRTC data channel
//! and sends it the camera, which this process reflects straight back.
//!
//!     cargo run --release -p ferrtc --example demo        # then open http://127.0.0.1:8080
//!     cargo run --release -p ferrtc --example demo -- --port 9000
//!
//! The page (examples/demo/index.html, embedded) connects through WHIP (`POST /whip`) with one
//! peer connection: the data channel `chat` plus a sendrecv audio and a sendrecv video section
//! (no track yet: the Camera button attaches the camera and microphone with `replaceTrack`, so
//! no renegotiation is needed and the chat works without a camera). The server answers every
//! chat message and sends every received audio and video frame back on the same section (as
//! examples/reflect.rs); the page shows its camera beside the reflected video with live stats.
//!
//! `http://127.0.0.1:8080/?autotest` runs the page unattended: it starts the camera, sends one
//! message, checks the answer, that the reflected video decodes (framesDecoded >= 30, then
//! rising) and the reflected audio plays, that no card's content overflows its box and that the
//! console stayed clean, and writes PASS/FAIL into `#result` (the page keeps loading until
//! then, so `chromium --headless --dump-dom` prints the outcome). Every result is also printed
//! as an `autotest: …` line, and every request for something this server does not have as a
//! `not found: …` line (`cargo xtask demo` fails on either). `--no-reflect` (for that
//! command's self-check) answers with senders but writes no frame back: the page must fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use ferrtc::whip::WhipServer;
use ferrtc::{
    DataChannel, DataChannelEvent, Error, KeyframeRequestKind, MediaKind, PeerConnection,
    PeerEvent, RemoteTrack, RtcConfiguration, TrackSender,
};
use tokio::sync::Notify;

const PAGE: &str = include_str!("demo/index.html");

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The server's side of the conversation.
fn answer(text: &str, count: usize, pc_stats: &str) -> String {
    match text.trim().to_ascii_lowercase().as_str() {
        "help" => "I know: time, stats, help. Anything else I repeat.".to_owned(),
        "time" => {
            let t = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            format!("server time: {} s since 1970", t.as_secs())
        }
        "stats" => format!("my side of this connection: {pc_stats}"),
        _ => format!(
            "you said {text:?} ({} bytes; message #{count} on this channel)",
            text.len()
        ),
    }
}

async fn chat(pc: PeerConnection, dc: DataChannel) {
    let mut count = 0usize;
    while let Some(ev) = dc.next_event().await {
        match ev {
            DataChannelEvent::Message(m) => {
                count += 1;
                let text = String::from_utf8_lossy(&m.data).into_owned();
                let stats = match pc.get_stats().await {
                    Ok(s) => {
                        let j = s.to_json();
                        let t = &j["T01"];
                        format!(
                            "{} bytes sent, {} received, DTLS {}",
                            t["bytesSent"], t["bytesReceived"], t["dtlsCipher"]
                        )
                    }
                    Err(_) => "unavailable".into(),
                };
                if dc.send_text(answer(&text, count, &stats)).await.is_err() {
                    break;
                }
            }
            DataChannelEvent::Close => break,
            _ => {}
        }
    }
}

/// Sends `track`'s frames back on `sender` (same payload type and RTP timestamp) until the
/// track ends; the page's key frame requests for what we send go to the page's own sender.
/// With `reflect` false (the self-check) the frames are read and dropped.
async fn reflect(track: RemoteTrack, sender: TrackSender, reflect: bool) {
    let requests = {
        let (track, sender) = (track.clone(), sender.clone());
        tokio::spawn(async move {
            while let Some(kind) = sender.keyframe_request().await {
                let _ = track.request_keyframe(kind).await;
            }
        })
    };
    if track.kind() == MediaKind::Video {
        // Start the reflected stream at a key frame (before the page sends anything this
        // fails harmlessly; the browser's encoder starts with one anyway).
        let _ = track.request_keyframe(KeyframeRequestKind::Pli).await;
    }
    let mut sent = 0u64;
    while let Some(f) = track.recv_frame().await {
        if !reflect {
            continue;
        }
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

/// One WHIP session: the chat on every data channel the page opens, and every track the page
/// sends reflected back.
async fn session(pc: PeerConnection, reflect_media: bool) {
    let Some(mut events) = pc.events() else {
        tracing::warn!("the session's events were already taken");
        return;
    };
    // Added before the offer is applied: the page's sendrecv sections take these senders, one
    // per kind, and the answer is sendrecv. An offer without media leaves them unused.
    let mut senders = Vec::new();
    for (kind, id) in [
        (MediaKind::Video, "reflected-video"),
        (MediaKind::Audio, "reflected-audio"),
    ] {
        match pc.add_track(kind, id, &["reflect"]).await {
            Ok(s) => senders.push(s),
            Err(e) => tracing::warn!(error = %e, "no {id} sender"),
        }
    }
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::DataChannel(dc) => {
                    tokio::spawn(chat(pc.clone(), dc));
                }
                PeerEvent::Track(t) => {
                    match senders.iter().find(|s| s.transceiver() == t.transceiver()) {
                        Some(s) => {
                            tokio::spawn(reflect(t, s.clone(), reflect_media));
                        }
                        None => tracing::warn!(mid = t.mid(), "no sender on this section"),
                    }
                }
                _ => {}
            }
        }
    });
}

/// Results of autotest pages, by page URL (the Referer of their requests): several runs (a
/// desktop and a phone-sized window) can share one server.
#[derive(Default)]
struct Autotest {
    results: Mutex<HashMap<String, String>>,
    done: Notify,
}

fn referer(headers: &HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
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
    let config = RtcConfiguration {
        include_loopback: true,
        ..Default::default()
    };
    let reflect_media = !std::env::args().any(|a| a == "--no-reflect");
    let whip = WhipServer::new(config, move |pc: PeerConnection| session(pc, reflect_media));
    let autotest = Arc::new(Autotest::default());
    let (a1, a2) = (autotest.clone(), autotest.clone());
    let app = whip
        .router("/whip")
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/autotest/result",
            post(move |headers: HeaderMap, body: String| async move {
                println!("autotest: {body}");
                a1.results.lock().unwrap().insert(referer(&headers), body);
                a1.done.notify_waiters();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/autotest/wait",
            get(move |headers: HeaderMap| async move {
                // Only the autotest page waits (its Referer carries `?autotest`): the page's
                // load event, and so `--dump-dom`, then comes after the result.
                let page = referer(&headers);
                if page.contains("autotest") {
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                    loop {
                        let wait = a2.done.notified();
                        if a2.results.lock().unwrap().contains_key(&page) {
                            break;
                        }
                        if tokio::time::timeout_at(deadline, wait).await.is_err() {
                            break;
                        }
                    }
                }
                ([(header::CONTENT_TYPE, "text/javascript")], "").into_response()
            }),
        )
        .route(
            "/autotest/frame",
            get(|uri: Uri| async move {
                // The page in an iframe of a given size (`?run=phone&w=390&h=844`): how a
                // phone's viewport is tried where the browser's window cannot be that narrow.
                let q = uri.query().unwrap_or("");
                let param = |k: &str| {
                    q.split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .find(|(key, _)| *key == k)
                        .map(|(_, v)| v.to_owned())
                };
                let num = |k: &str, d: u32| param(k).and_then(|v| v.parse().ok()).unwrap_or(d);
                let run: String = param("run")
                    .unwrap_or_else(|| "frame".into())
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                Html(format!(
                    "<!doctype html><title>{run}</title><link rel=\"icon\" href=\"data:,\">\
                     <body style=\"margin:0\"><iframe src=\"/?autotest={run}\" \
                     style=\"border:0;width:{}px;height:{}px\"></iframe>",
                    num("w", 390),
                    num("h", 844)
                ))
            }),
        )
        .fallback(|method: Method, uri: Uri| async move {
            // A page asking for something that is not here shows a 404 in its console.
            println!("not found: {method} {uri}");
            StatusCode::NOT_FOUND
        });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("ferrtc demo: open http://127.0.0.1:{port}/ in a browser");
    axum::serve(listener, app).await.expect("serve");
}
