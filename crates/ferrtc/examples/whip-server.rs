//! A WHIP endpoint that echoes every data channel message back unchanged.
//!
//!     cargo run --release -p ferrtc --example whip-server -- [--port 8080]
//!         [--turn turn:127.0.0.1:3478 --turn-user U --turn-pass P [--relay]] [--token T]
//!
//! Listens on 127.0.0.1; the endpoint is `/whip`. For each session it also creates the
//! negotiated channel `{negotiated: true, id: 7}` (label `negotiated`), as the interop tests
//! expect. Every message on every channel comes back on the same channel as the same kind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc::whip::WhipServer;
use ferrtc::{
    DataChannel, DataChannelEvent, DataChannelInit, IceServer, IceTransportPolicy, PeerConnection,
    PeerEvent, RtcConfiguration,
};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Echoes one channel until it closes.
async fn echo(dc: DataChannel) {
    while let Some(ev) = dc.next_event().await {
        match ev {
            DataChannelEvent::Message(m) => {
                let r = if m.binary {
                    dc.send_binary(m.data).await
                } else {
                    dc.send_text(String::from_utf8_lossy(&m.data).into_owned())
                        .await
                };
                if let Err(e) = r {
                    tracing::warn!(label = dc.label(), error = %e, "echo failed");
                }
            }
            DataChannelEvent::Close => break,
            _ => {}
        }
    }
}

async fn session(pc: PeerConnection) {
    let mut events = pc.events().unwrap();
    let negotiated = pc
        .create_data_channel(
            "negotiated",
            DataChannelInit {
                negotiated: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tokio::spawn(echo(negotiated));
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::DataChannel(dc) => {
                    tracing::info!(label = dc.label(), "channel opened by the client");
                    tokio::spawn(echo(dc));
                }
                PeerEvent::ConnectionStateChange(s) => tracing::info!(?s, "connection state"),
                _ => {}
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
    if let Some(turn) = arg("--turn") {
        config.ice_servers.push(IceServer::turn(
            turn,
            &arg("--turn-user").unwrap_or_default(),
            &arg("--turn-pass").unwrap_or_default(),
        ));
    }
    if std::env::args().any(|a| a == "--relay") {
        config.ice_transport_policy = IceTransportPolicy::Relay;
    }
    let server = WhipServer::with_options(
        config,
        |pc| async move { session(pc).await },
        arg("--token"),
        10_000,
    );
    let app = server.router("/whip");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on http://127.0.0.1:{port}/whip");
    axum::serve(listener, app).await.expect("serve");
}
