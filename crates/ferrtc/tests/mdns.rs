//! Remote host candidates hidden behind mDNS names (`<uuid>.local`, as browsers send them):
//! the facade resolves the name and the ICE agent gets the address.
//!
//! The offerer is an ICE-lite agent: it never sends checks, so the answerer cannot learn its
//! address from them (peer-reflexive) and connects only if the name was resolved. Its offer's
//! host candidates carry a `.local` name instead of 127.0.0.1. The plumbing is tested with an
//! injected resolver (and with resolution off, which must not connect); the real thing with
//! `mdns-sd`'s responder announcing the name on this machine's links.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrtc::mdns::{MdnsResolution, NameResolver, Resolution};
use ferrtc::{
    DataChannel, DataChannelInit, PeerConnection, PeerEvent, RtcConfiguration,
    RtcSessionDescription,
};

fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    }
}

/// A name like a browser's: a random UUID (v4 layout) under `.local`.
fn uuid_name() -> String {
    use rand::{RngCore, SeedableRng};
    let mut b = [0u8; 16];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}.local",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Resolves one name to one address and records every question.
struct Fixed {
    name: String,
    ip: IpAddr,
    asked: Mutex<Vec<String>>,
}

impl NameResolver for Fixed {
    fn resolve(&self, name: &str) -> Resolution {
        self.asked.lock().unwrap().push(name.to_owned());
        let answer = (name.eq_ignore_ascii_case(&self.name)).then_some(self.ip);
        Box::pin(async move { answer })
    }
}

struct Pair {
    lite: PeerConnection,
    full: PeerConnection,
    dc: DataChannel,
    lite_port: u16,
}

/// A lite offerer whose host candidates say `name`, and a full answerer resolving with
/// `mdns`. Returns once descriptions are exchanged.
async fn pair(name: &str, mdns: MdnsResolution) -> Pair {
    let lite = PeerConnection::new(RtcConfiguration {
        ice_lite: true,
        ..loopback()
    })
    .await
    .unwrap();
    let full = PeerConnection::new(RtcConfiguration { mdns, ..loopback() })
        .await
        .unwrap();
    let lite_port = lite.local_addrs()[0].port();
    let dc = lite
        .create_data_channel("hidden", DataChannelInit::default())
        .await
        .unwrap();
    let offer = lite.create_offer().await.unwrap();
    lite.set_local_description(offer).await.unwrap();
    let offer = lite.gathered_local_description().await.unwrap();
    let mut hidden = 0;
    let sdp: String = offer
        .sdp
        .split_inclusive('\n')
        .map(|l| {
            if l.starts_with("a=candidate:") && l.contains(" 127.0.0.1 ") {
                hidden += 1;
                l.replacen(" 127.0.0.1 ", &format!(" {name} "), 1)
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(hidden >= 1, "no host candidate to hide in {}", offer.sdp);
    assert!(sdp.contains("a=ice-lite"), "{sdp}");
    full.set_remote_description(RtcSessionDescription { sdp, ..offer })
        .await
        .unwrap();
    let answer = full.create_answer().await.unwrap();
    full.set_local_description(answer).await.unwrap();
    lite.set_remote_description(full.gathered_local_description().await.unwrap())
        .await
        .unwrap();
    Pair {
        lite,
        full,
        dc,
        lite_port,
    }
}

/// The answerer's remote candidates as (type, address, port).
async fn remote_candidates(pc: &PeerConnection) -> Vec<(String, String, u64)> {
    let stats = pc.get_stats().await.unwrap().to_json();
    stats
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["type"] == "remote-candidate")
        .map(|s| {
            (
                s["candidateType"].as_str().unwrap().to_owned(),
                s["address"].as_str().unwrap().to_owned(),
                s["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Connected, and a message crosses from the answerer to the lite offerer.
async fn works(p: &Pair, name: &str) {
    let mut events = p.full.events().unwrap();
    let remote = loop {
        if let PeerEvent::DataChannel(dc) = events.recv().await.unwrap() {
            break dc;
        }
    };
    p.dc.wait_open().await.unwrap();
    remote.send_text("found you").await.unwrap();
    assert_eq!(p.dc.recv().await.unwrap().text(), Some("found you"));
    // The agent holds the host candidate under its name (as signalled), and the pair in use
    // goes to the address the name resolved to.
    let cands = remote_candidates(&p.full).await;
    assert_eq!(
        cands,
        vec![("host".into(), name.to_owned(), u64::from(p.lite_port))]
    );
    let stats = p.full.get_stats().await.unwrap().to_json();
    let pair = stats["T01"]["selectedCandidatePairId"].as_str().unwrap();
    assert_eq!(
        stats[pair]["remoteCandidateId"],
        format!("IR127.0.0.1_{}", p.lite_port),
        "{stats}"
    );
}

#[tokio::test]
async fn an_injected_resolver_gives_the_agent_the_address() {
    let name = uuid_name();
    let resolver = Arc::new(Fixed {
        name: name.clone(),
        ip: "127.0.0.1".parse().unwrap(),
        asked: Mutex::new(Vec::new()),
    });
    let p = pair(&name, MdnsResolution::Custom(resolver.clone())).await;
    tokio::time::timeout(Duration::from_secs(15), works(&p, &name))
        .await
        .expect("connects through the resolved name");
    assert_eq!(*resolver.asked.lock().unwrap(), vec![name]);
    p.full.close().await.unwrap();
    p.lite.close().await.unwrap();
}

#[tokio::test]
async fn with_resolution_off_the_hidden_candidate_is_dropped() {
    let name = uuid_name();
    let p = pair(&name, MdnsResolution::Off).await;
    let connected = tokio::time::timeout(Duration::from_secs(3), p.full.wait_connected()).await;
    assert!(
        !matches!(connected, Ok(Ok(()))),
        "connected without resolving"
    );
    assert!(remote_candidates(&p.full).await.is_empty());
    p.full.close().await.unwrap();
    p.lite.close().await.unwrap();
}

#[tokio::test]
async fn a_name_nobody_answers_for_is_dropped_after_the_timeout() {
    let p = pair(
        &uuid_name(),
        MdnsResolution::Multicast {
            timeout: Duration::from_millis(300),
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(remote_candidates(&p.full).await.is_empty());
    assert_ne!(
        p.full.connection_state(),
        ferrtc::PeerConnectionState::Connected
    );
    p.full.close().await.unwrap();
    p.lite.close().await.unwrap();
}

/// Real multicast: `mdns-sd`'s responder announces the name (as a browser's responder does)
/// and the facade's default resolver finds it.
#[tokio::test]
async fn a_name_announced_by_an_mdns_responder_is_resolved() {
    let name = uuid_name();
    let responder = mdns_sd::ServiceDaemon::new().unwrap();
    let instance = name.split('-').next().unwrap().to_owned();
    let service = mdns_sd::ServiceInfo::new(
        "_ferrtc-test._udp.local.",
        &instance,
        &format!("{name}."),
        "127.0.0.1",
        9,
        None,
    )
    .unwrap();
    responder.register(service).unwrap();
    let p = pair(
        &name,
        MdnsResolution::Multicast {
            timeout: Duration::from_secs(5),
        },
    )
    .await;
    tokio::time::timeout(Duration::from_secs(20), works(&p, &name))
        .await
        .expect("connects through the name the responder announced");
    p.full.close().await.unwrap();
    p.lite.close().await.unwrap();
    let _ = responder.shutdown();
}
