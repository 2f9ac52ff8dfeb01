//! Two peer connections in one process, connected over loopback UDP: a data channel opens,
//! a few messages go back and forth, and the stats are printed.
//!
//!     cargo run --release -p ferrtc --example data-channels
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ferrtc::{DataChannelInit, PeerConnection, PeerEvent, RtcConfiguration};

#[tokio::main]
async fn main() -> Result<(), ferrtc::Error> {
    let config = RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    };
    let start = Instant::now();
    let alice = PeerConnection::new(config.clone()).await?;
    let bob = PeerConnection::new(config).await?;
    let mut bob_events = bob.events().unwrap();

    let chat = alice
        .create_data_channel("chat", DataChannelInit::default())
        .await?;
    // Offer/answer with complete descriptions (a signaling server would carry these).
    let offer = alice.create_offer().await?;
    alice.set_local_description(offer).await?;
    bob.set_remote_description(alice.gathered_local_description().await?)
        .await?;
    let answer = bob.create_answer().await?;
    bob.set_local_description(answer).await?;
    alice
        .set_remote_description(bob.gathered_local_description().await?)
        .await?;

    chat.wait_open().await?;
    println!("channel open after {:?}", start.elapsed());
    let bobs_chat = loop {
        match bob_events.recv().await {
            Some(PeerEvent::DataChannel(dc)) => break dc,
            Some(_) => continue,
            None => return Err(ferrtc::Error::Closed),
        }
    };
    for i in 0..3 {
        chat.send_text(format!("ping {i}")).await?;
        let m = bobs_chat.recv().await.ok_or(ferrtc::Error::Closed)?;
        println!("bob got {:?}", m.text().unwrap_or_default());
        bobs_chat.send_text(format!("pong {i}")).await?;
        let m = chat.recv().await.ok_or(ferrtc::Error::Closed)?;
        println!("alice got {:?}", m.text().unwrap_or_default());
    }
    let stats = alice.get_stats().await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&stats.to_json()).unwrap_or_default()
    );
    alice.close().await?;
    bob.close().await?;
    Ok(())
}
