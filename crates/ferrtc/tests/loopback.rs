//! The async API over real loopback sockets: two peers, WHIP server and client, the WHIP
//! HTTP error answers, and many connections on one shared socket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use bytes::Bytes;
use ferrtc::whip::{WhipClient, WhipOptions, WhipServer};
use ferrtc::{
    DataChannel, DataChannelEvent, DataChannelInit, PeerConnection, PeerConnectionState, PeerEvent,
    RtcConfiguration, UdpMux,
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

async fn next_channel(events: &mut ferrtc::Events) -> DataChannel {
    loop {
        if let PeerEvent::DataChannel(dc) = events.recv().await.unwrap() {
            return dc;
        }
    }
}

#[tokio::test]
async fn two_peers_over_loopback() {
    let t = tokio::time::timeout(Duration::from_secs(20), async {
        let a = PeerConnection::new(loopback()).await.unwrap();
        let b = PeerConnection::new(loopback()).await.unwrap();
        let mut eb = b.events().unwrap();
        let dc = a
            .create_data_channel("chat", DataChannelInit::default())
            .await
            .unwrap();
        assert_eq!(dc.id(), None, "no stream id before the DTLS role is known");
        connect(&a, &b).await;
        dc.wait_open().await.unwrap();
        a.wait_connected().await.unwrap();
        assert!(dc.id().is_some());
        let rb = next_channel(&mut eb).await;
        assert_eq!(rb.label(), "chat");
        // 1 MiB of messages with flow control, binary, in order.
        dc.set_buffered_amount_low_threshold(64 * 1024)
            .await
            .unwrap();
        let n = 64;
        let sender = {
            let dc = dc.clone();
            tokio::spawn(async move {
                for i in 0..n {
                    while dc.buffered_amount() > 256 * 1024 {
                        dc.buffered_amount_low().await.unwrap();
                    }
                    dc.send_binary(Bytes::from(vec![i as u8; 16 * 1024]))
                        .await
                        .unwrap();
                }
            })
        };
        for i in 0..n {
            let m = rb.recv().await.unwrap();
            assert!(m.binary);
            assert_eq!(m.data.len(), 16 * 1024);
            assert!(m.data.iter().all(|&x| x == i as u8), "message {i}");
        }
        sender.await.unwrap();
        rb.send_text("bye").await.unwrap();
        assert_eq!(dc.recv().await.unwrap().text(), Some("bye"));
        // Too large for the remote's max-message-size: a TypeError, nothing sent.
        let err = dc.send_binary(vec![0u8; 300_000]).await.unwrap_err();
        assert!(err.to_string().contains("max-message-size"), "{err}");
        let stats = a.get_stats().await.unwrap().to_json();
        assert_eq!(stats["T01"]["dtlsState"], "connected");
        a.close().await.unwrap();
        // The peer learns: its channel closes.
        loop {
            match rb.next_event().await {
                Some(DataChannelEvent::Close) | None => break,
                _ => {}
            }
        }
        assert_eq!(a.connection_state(), PeerConnectionState::Closed);
    })
    .await;
    t.expect("timed out");
}

async fn serve(server: std::sync::Arc<WhipServer>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server.router("/whip");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/whip")
}

fn echo_server(token: Option<String>) -> std::sync::Arc<WhipServer> {
    echo_server_with(WhipOptions {
        bearer_token: token,
        max_sessions: 100,
        ..WhipOptions::default()
    })
}

fn echo_server_with(options: WhipOptions) -> std::sync::Arc<WhipServer> {
    WhipServer::with(
        loopback(),
        |pc: PeerConnection| async move {
            let mut ev = pc.events().unwrap();
            tokio::spawn(async move {
                while let Some(e) = ev.recv().await {
                    if let PeerEvent::DataChannel(dc) = e {
                        tokio::spawn(async move {
                            while let Some(m) = dc.recv().await {
                                if m.binary {
                                    dc.send_binary(m.data).await.unwrap();
                                } else {
                                    dc.send_text(m.text().unwrap().to_owned()).await.unwrap();
                                }
                            }
                        });
                    }
                }
            });
        },
        options,
    )
}

#[tokio::test]
async fn whip_client_and_server() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let server = echo_server(Some("s3cret".into()));
        let url = serve(server.clone()).await;
        let pc = PeerConnection::new(loopback()).await.unwrap();
        let dc = pc
            .create_data_channel("echo", DataChannelInit::default())
            .await
            .unwrap();
        // Wrong token: 401, no session, and the connection is untouched: the same connection
        // and channel are then published with the right token and carry data.
        let err = WhipClient::new(Some("wrong".into()))
            .publish(&url, &pc)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        assert_eq!(server.session_count(), 0);
        assert_eq!(pc.connection_state(), PeerConnectionState::New);
        let session = WhipClient::new(Some("s3cret".into()))
            .publish(&url, &pc)
            .await
            .unwrap();
        assert!(session.location.starts_with(&url), "{}", session.location);
        assert!(session.etag.is_some());
        dc.wait_open().await.unwrap();
        pc.wait_connected().await.unwrap();
        dc.send_text("ping").await.unwrap();
        assert_eq!(dc.recv().await.unwrap().text(), Some("ping"));
        dc.send_binary(Bytes::from_static(b"\x00\x01"))
            .await
            .unwrap();
        let m = dc.recv().await.unwrap();
        assert!(m.binary);
        assert_eq!(&m.data[..], b"\x00\x01");
        assert_eq!(server.session_count(), 1);
        session.delete().await.unwrap();
        assert_eq!(server.session_count(), 0);
        assert!(session.delete().await.is_err(), "second DELETE is a 404");
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn whip_connect_timeout_spares_connected_sessions() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let server = echo_server_with(WhipOptions {
            connect_timeout: Duration::from_millis(300),
            ..WhipOptions::default()
        });
        let url = serve(server.clone()).await;
        let pc = PeerConnection::new(loopback()).await.unwrap();
        let dc = pc
            .create_data_channel("echo", DataChannelInit::default())
            .await
            .unwrap();
        let session = WhipClient::new(None).publish(&url, &pc).await.unwrap();
        dc.wait_open().await.unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(server.session_count(), 1, "a connected session stays");
        dc.send_text("still here").await.unwrap();
        assert_eq!(dc.recv().await.unwrap().text(), Some("still here"));
        session.delete().await.unwrap();
        assert_eq!(server.session_count(), 0);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn whip_http_errors() {
    let server = echo_server(None);
    let url = serve(server.clone()).await;
    let http = reqwest::Client::new();
    let r = http
        .post(&url)
        .header("content-type", "text/plain")
        .body("v=0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = http
        .post(&url)
        .header("content-type", "application/sdp")
        .body("not sdp")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("bad SDP"));
    let r = http
        .request(reqwest::Method::OPTIONS, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let r = http.delete(format!("{url}/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .patch(format!("{url}/nope"))
        .header("content-type", "application/trickle-ice-sdpfrag")
        .body("a=end-of-candidates\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(server.session_count(), 0);
}

#[tokio::test]
async fn many_connections_on_one_shared_socket() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mux = UdpMux::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let server_cfg = RtcConfiguration {
            mux: Some(mux.clone()),
            ice_lite: true,
            ..loopback()
        };
        let mut clients = Vec::new();
        for i in 0..8 {
            let server = PeerConnection::new(server_cfg.clone()).await.unwrap();
            let mut se = server.events().unwrap();
            let client = PeerConnection::new(loopback()).await.unwrap();
            let dc = client
                .create_data_channel(&format!("c{i}"), DataChannelInit::default())
                .await
                .unwrap();
            connect(&client, &server).await;
            dc.wait_open().await.unwrap();
            let sdc = next_channel(&mut se).await;
            clients.push((server, client, dc, sdc));
        }
        assert_eq!(mux.connections(), 8);
        for (i, (_, _, dc, sdc)) in clients.iter().enumerate() {
            dc.send_text(format!("to server {i}")).await.unwrap();
            let m = sdc.recv().await.unwrap();
            assert_eq!(m.text(), Some(format!("to server {i}").as_str()));
            assert_eq!(sdc.label(), format!("c{i}"));
        }
        for (s, c, _, _) in &clients {
            assert!(s.local_addrs().contains(&mux.local_addr()));
            c.close().await.unwrap();
            s.close().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(mux.connections(), 0);
    })
    .await
    .expect("timed out");
}
