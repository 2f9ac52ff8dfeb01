//! Data channel throughput through the facade: two peer connections in one process over
//! loopback UDP, one reliable ordered channel, 64 KiB messages sent with bufferedAmount flow
//! control (at most 1 MiB queued), every byte checked on arrival; prints MiB/s.
//!
//!     cargo run --release -p ferrtc --example throughput [-- MIB]     (default 256 MiB)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use bytes::Bytes;
use ferrtc::{DataChannelInit, PeerConnection, PeerEvent, RtcConfiguration};

const MSG: usize = 64 * 1024;
const HIGH: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), ferrtc::Error> {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(256, |a| a.parse().expect("MIB: a number"));
    let config = RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    };
    let alice = PeerConnection::new(config.clone()).await?;
    let bob = PeerConnection::new(config).await?;
    let mut bob_events = bob.events().unwrap();
    let tx = alice
        .create_data_channel("bulk", DataChannelInit::default())
        .await?;
    let offer = alice.create_offer().await?;
    alice.set_local_description(offer).await?;
    bob.set_remote_description(alice.gathered_local_description().await?)
        .await?;
    let answer = bob.create_answer().await?;
    bob.set_local_description(answer).await?;
    alice
        .set_remote_description(bob.gathered_local_description().await?)
        .await?;
    tx.wait_open().await?;
    let rx = loop {
        match bob_events.recv().await {
            Some(PeerEvent::DataChannel(dc)) => break dc,
            Some(_) => continue,
            None => return Err(ferrtc::Error::Closed),
        }
    };

    let count = mib * 1024 * 1024 / MSG;
    let receiver = tokio::spawn(async move {
        let mut bytes = 0usize;
        for i in 0..count {
            let m = rx.recv().await.expect("channel closed early");
            assert_eq!(m.data.len(), MSG, "message {i}: wrong size");
            assert!(
                m.data.iter().all(|&b| b == i as u8),
                "message {i}: wrong bytes"
            );
            bytes += m.data.len();
        }
        bytes
    });
    tx.set_buffered_amount_low_threshold(HIGH / 2).await?;
    let start = Instant::now();
    for i in 0..count {
        while tx.buffered_amount() + MSG > HIGH {
            tx.buffered_amount_low().await?;
        }
        tx.send_binary(Bytes::from(vec![i as u8; MSG])).await?;
    }
    let bytes = receiver.await.expect("receiver task");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} MiB in {:.3} s: {:.1} MiB/s ({:.2} Gbit/s)",
        bytes / (1024 * 1024),
        secs,
        bytes as f64 / secs / (1024.0 * 1024.0),
        bytes as f64 * 8.0 / secs / 1e9
    );
    alice.close().await?;
    bob.close().await?;
    Ok(())
}
