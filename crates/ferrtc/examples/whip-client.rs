//! A WHIP client that checks a data channel echo end to end, then exits 0 only if every echo
//! matched.
//!
//!     cargo run --release -p ferrtc --example whip-client -- http://127.0.0.1:8080/whip
//!         [--messages 100] [--turn turn:127.0.0.1:3478 --turn-user U --turn-pass P [--relay]]
//!
//! It opens `echo` (reliable, ordered), `negotiated` (`{negotiated: true, id: 7}`) and
//! `unordered` (`{ordered: false, maxRetransmits: 0}`), POSTs a complete offer, checks one echo, then sends
//! messages from 1 byte to 256 KiB (text and binary alternately, capped at the server's
//! max-message-size) on `echo` with bufferedAmount flow control and checks each echo; opens
//! `second` after connect; checks `negotiated`; waits for `unordered` to open; DELETEs the
//! session; prints one JSON line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc::whip::WhipClient;
use ferrtc::{
    DataChannel, DataChannelInit, IceServer, IceTransportPolicy, PeerConnection, RtcConfiguration,
};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn payload(i: usize, size: usize) -> (Bytes, bool) {
    if i.is_multiple_of(2) {
        let c = b'a' + (i % 26) as u8;
        let mut v = vec![c; size];
        // A marker at the start makes mismatches readable.
        let tag = format!("{i}:");
        for (d, s) in v.iter_mut().zip(tag.bytes()) {
            *d = s;
        }
        (Bytes::from(v), false)
    } else {
        (
            Bytes::from((0..size).map(|j| (i * 7 + j) as u8).collect::<Vec<u8>>()),
            true,
        )
    }
}

async fn expect_echo(dc: &DataChannel, text: &str) -> Result<(), String> {
    dc.send_text(text).await.map_err(|e| e.to_string())?;
    match dc.recv().await {
        Some(m) if m.text() == Some(text) => Ok(()),
        Some(m) => Err(format!("{}: wrong echo {:?}", dc.label(), m.text())),
        None => Err(format!("{}: closed before the echo", dc.label())),
    }
}

/// The `typ` of every `a=candidate` line of an SDP (what the harness checks of a relay-only offer).
fn candidate_types(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter(|l| l.trim_start().starts_with("a=candidate:"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            it.find(|t| *t == "typ")
                .and_then(|_| it.next())
                .map(str::to_string)
        })
        .collect()
}

async fn run(url: &str, messages: usize) -> Result<(usize, usize, Vec<String>), String> {
    let mut config = RtcConfiguration {
        include_loopback: true,
        ..Default::default()
    };
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
    let pc = PeerConnection::new(config)
        .await
        .map_err(|e| e.to_string())?;
    let echo = pc
        .create_data_channel("echo", DataChannelInit::default())
        .await
        .map_err(|e| e.to_string())?;
    let negotiated = pc
        .create_data_channel(
            "negotiated",
            DataChannelInit {
                negotiated: Some(7),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let unordered = pc
        .create_data_channel(
            "unordered",
            DataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let client = WhipClient::new(arg("--token"));
    let session = client.publish(url, &pc).await.map_err(|e| e.to_string())?;
    // WHIP sends a complete offer: what it carried is the local description.
    let offered = pc
        .local_description()
        .await
        .ok()
        .flatten()
        .map_or_else(Vec::new, |d| candidate_types(&d.sdp));
    echo.wait_open()
        .await
        .map_err(|e| format!("echo did not open: {e}"))?;
    // One round trip before the burst. @roamhq/wrtc 0.10 as the answerer delivers messages
    // that arrive while its JS channel object is being created out of order (seen in the
    // server's own log: 0, 1, 4, 2, 3, …), in about one run in three when the burst follows
    // `open` at once; Chromium with the same libwebrtc does not. Waiting for one echo first
    // keeps the 100-message check about ordering and integrity on an established channel.
    expect_echo(&echo, "hello").await?;

    // The server's limit (RFC 8841 §6: 64 KiB when absent, 0 = none).
    let remote = pc.remote_description().await.ok().flatten().unwrap();
    let max = remote
        .sdp
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=max-message-size:"))
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(65_536, |v| if v == 0 { usize::MAX } else { v });
    let cap = max.min(262_144);
    let sizes: Vec<usize> = (0..messages)
        .map(|i| {
            let e = if messages > 1 {
                i as f64 / (messages - 1) as f64
            } else {
                0.0
            };
            (262_144f64.powf(e).round() as usize).clamp(1, cap)
        })
        .collect();
    echo.set_buffered_amount_low_threshold(256 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    let receiver = {
        let echo = echo.clone();
        let sizes = sizes.clone();
        tokio::spawn(async move {
            for (i, size) in sizes.iter().enumerate() {
                let (want, binary) = payload(i, *size);
                match echo.recv().await {
                    Some(m) if m.binary == binary && m.data == want => {}
                    Some(m) => {
                        return Err(format!(
                            "message {i}: got {} bytes binary={} want {} bytes binary={binary}",
                            m.data.len(),
                            m.binary,
                            want.len()
                        ))
                    }
                    None => return Err(format!("echo closed at message {i}")),
                }
            }
            Ok(())
        })
    };
    for (i, size) in sizes.iter().enumerate() {
        while echo.buffered_amount() > 1024 * 1024 {
            echo.buffered_amount_low()
                .await
                .map_err(|e| e.to_string())?;
        }
        let (data, binary) = payload(i, *size);
        let r = if binary {
            echo.send_binary(data).await
        } else {
            echo.send_text(String::from_utf8(data.to_vec()).unwrap())
                .await
        };
        r.map_err(|e| format!("send {i}: {e}"))?;
    }
    receiver.await.map_err(|e| e.to_string())??;

    let second = pc
        .create_data_channel("second", DataChannelInit::default())
        .await
        .map_err(|e| e.to_string())?;
    second
        .wait_open()
        .await
        .map_err(|e| format!("second: {e}"))?;
    expect_echo(&second, "second-hello").await?;
    negotiated
        .wait_open()
        .await
        .map_err(|e| format!("negotiated: {e}"))?;
    expect_echo(&negotiated, "negotiated-hello").await?;
    unordered
        .wait_open()
        .await
        .map_err(|e| format!("unordered: {e}"))?;
    let _ = unordered.send_text("unordered-hello").await;

    session.delete().await.map_err(|e| e.to_string())?;
    pc.close().await.map_err(|e| e.to_string())?;
    Ok((messages, *sizes.last().unwrap_or(&0), offered))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some(url) = std::env::args().nth(1).filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: whip-client URL [--messages N] [--turn URL --turn-user U --turn-pass P] [--relay]");
        std::process::exit(2);
    };
    let messages: usize = arg("--messages").map_or(100, |n| n.parse().expect("--messages N"));
    let start = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), run(&url, messages)).await;
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(Ok((n, max, offered))) => {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "messages": n,
                    "max_size": max,
                    "seconds": (seconds * 1000.0).round() / 1000.0,
                    "offer_candidates": offered,
                })
            );
        }
        Ok(Err(e)) => {
            println!(
                "{}",
                serde_json::json!({"ok": false, "error": e, "seconds": seconds})
            );
            std::process::exit(1);
        }
        Err(_) => {
            println!(
                "{}",
                serde_json::json!({"ok": false, "error": "timed out after 30 s"})
            );
            std::process::exit(1);
        }
    }
}
