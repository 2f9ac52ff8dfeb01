//! Memory per idle peer connection through the facade (issue 17): the live heap, counted by a
//! counting global allocator, that each connection holds while it does nothing: before it
//! connects, and connected over loopback with one open data channel. Beside it, the same for
//! the sans-IO connection alone (two connected in memory), so that what the facade adds
//! (sockets, tasks, queues, handles) is known apart from the protocol state. And the resident
//! growth per connected connection, measured by running this binary again in a fresh process
//! (100 pairs; `FERRTC_IDLE_RSS_PAIRS` changes it; `FERRTC_IDLE_PROFILE=1` in that child
//! leaves with the connections alive, for a heap profiler). One test in this binary: the heap
//! is the process's, and a second test running beside it would move it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use ferrtc::peerconnection as sans;
use ferrtc::{DataChannel, DataChannelInit, PeerConnection, PeerEvent, RtcConfiguration};
use rand::SeedableRng;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not yet freed by the whole process (`stats_alloc` counts a
/// `realloc`'s growth in `bytes_allocated` and its shrinking in `bytes_deallocated`).
fn live_heap() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        interfaces: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..Default::default()
    }
}

async fn next_channel(events: &mut ferrtc::Events) -> DataChannel {
    loop {
        if let PeerEvent::DataChannel(dc) = events.recv().await.unwrap() {
            return dc;
        }
    }
}

/// What an application does with the events it is not waiting for: takes them as they come.
/// (Events nobody takes stay queued, as in a browser's event loop.)
async fn drain(events: &mut ferrtc::Events) {
    while let Ok(Some(_)) = tokio::time::timeout(Duration::ZERO, events.recv()).await {}
}

struct Pair {
    a: PeerConnection,
    b: PeerConnection,
    ea: ferrtc::Events,
    eb: ferrtc::Events,
    dc: DataChannel,
    rb: DataChannel,
}

/// Two connections over loopback with one open channel.
async fn connected_pair() -> Pair {
    let a = PeerConnection::new(loopback()).await.unwrap();
    let b = PeerConnection::new(loopback()).await.unwrap();
    let ea = a.events().unwrap();
    let mut eb = b.events().unwrap();
    let dc = a
        .create_data_channel("idle", DataChannelInit::default())
        .await
        .unwrap();
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
    dc.wait_open().await.unwrap();
    a.wait_connected().await.unwrap();
    b.wait_connected().await.unwrap();
    let rb = next_channel(&mut eb).await;
    rb.wait_open().await.unwrap();
    // One message each way, so that every receive and send path has run once.
    dc.send_text("ping").await.unwrap();
    assert_eq!(rb.recv().await.unwrap().text(), Some("ping"));
    rb.send_text("pong").await.unwrap();
    assert_eq!(dc.recv().await.unwrap().text(), Some("pong"));
    Pair {
        a,
        b,
        ea,
        eb,
        dc,
        rb,
    }
}

/// Lets the connections go idle: the handshakes' last retransmission timers and the first
/// consent checks are done, and the drivers have dropped their send buffers.
async fn settle() {
    tokio::time::sleep(SETTLE).await;
}

/// Two sans-IO connections connected in memory with one open channel, each boxed (as the
/// facade keeps its connection), run on a virtual clock until `idle` after they connected.
struct SansPair {
    a: Box<sans::PeerConnection>,
    b: Box<sans::PeerConnection>,
}

/// Delivers everything each side sends to the other; returns the earliest deadline.
fn shuttle(p: &mut SansPair, now: Instant) -> Instant {
    let (addr_a, addr_b): (SocketAddr, SocketAddr) = (
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:50000".parse().unwrap(),
    );
    let mut next = now + Duration::from_secs(3600);
    for _ in 0..10_000 {
        let mut moved = false;
        for side in 0..2 {
            let (from, to, to_addr) = if side == 0 {
                (&mut p.a, &mut p.b, addr_b)
            } else {
                (&mut p.b, &mut p.a, addr_a)
            };
            loop {
                match from.poll_output() {
                    sans::Output::Transmit(t) => {
                        moved = true;
                        let d = sans::Datagram {
                            source: t.source,
                            destination: to_addr,
                            contents: t.contents,
                        };
                        let _ = to.handle_receive(now, d);
                    }
                    sans::Output::Event(_) => {}
                    sans::Output::Timeout(t) => {
                        next = next.min(t);
                        break;
                    }
                }
            }
        }
        if !moved {
            return next;
        }
    }
    panic!("the pair never went quiet");
}

fn sans_pair(cfg: &sans::Configuration, rng: &mut rand::rngs::StdRng, start: Instant) -> SansPair {
    let now = start;
    let mut a = Box::new(sans::PeerConnection::new(cfg.clone(), now, rng).unwrap());
    let mut b = Box::new(sans::PeerConnection::new(cfg.clone(), now, rng).unwrap());
    a.add_local_interface(now, "10.0.0.1:40000".parse().unwrap())
        .unwrap();
    a.end_of_local_interfaces(now);
    b.add_local_interface(now, "10.0.0.2:50000".parse().unwrap())
        .unwrap();
    b.end_of_local_interfaces(now);
    let ch = a
        .create_data_channel(sans::ChannelInit {
            label: "idle".into(),
            ..Default::default()
        })
        .unwrap();
    let offer = a.create_offer(sans::OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(now, answer).unwrap();
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    let mut p = SansPair { a, b };
    // Virtual time: from each deadline to the next, until the channel is open and then for as
    // long as the facade's connections are left to settle.
    let mut now = now;
    let mut open_at = None;
    while open_at.is_none_or(|t: Instant| now < t + SETTLE) {
        assert!(now < start + Duration::from_secs(60), "no connection");
        let next = shuttle(&mut p, now);
        if open_at.is_none()
            && p.a
                .channel(ch)
                .is_some_and(|c| c.ready_state == ferrtc::ReadyState::Open)
        {
            p.a.send_text(ch, "ping").unwrap();
            open_at = Some(now);
            continue;
        }
        now = next.max(now + Duration::from_millis(1));
        p.a.handle_timeout(now);
        p.b.handle_timeout(now);
    }
    assert_eq!(
        p.a.connection_state(),
        ferrtc::PeerConnectionState::Connected
    );
    p
}

/// How long connections are left alone before they are measured.
const SETTLE: Duration = Duration::from_millis(1500);

/// Connections per measurement: enough that what one shared structure costs (a runtime's
/// slab page, a map's growth) is spread thin, few enough for 2 cores.
const N: i64 = 16;

/// Issue 17 asks for 32 KiB per idle connection with one open channel, all told. When it was
/// filed, the sans-IO connection held ~22 KiB of that (docs/performance.md: 19.4 KiB heap,
/// 22.0 KiB RSS per idle connected connection), which leaves the facade 10 KiB: its sockets,
/// its task and the socket reader's, the input queue, the handles and the channel's queues.
const FACADE_BOUND: i64 = 10 * 1024;

/// Issue 17's goal for the whole idle connection with one open channel: heap, and resident
/// growth in a fresh process.
const ISSUE_GOAL: i64 = 32 * 1024;

/// The whole connection's heap, with a little margin over what it measured when the SCTP
/// association and the data-channel layer started giving idle buffers back (26.7 KB,
/// 2026-12-07): a regression of a couple of KiB fails here, well before the goal does.
const WHOLE_BOUND: i64 = 28 * 1024;

/// Resident memory of the process in bytes (`/proc/self/statm`, second field, in pages).
fn resident() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Set in the child process that measures resident memory (its value: the number of pairs).
const RSS_CHILD: &str = "FERRTC_IDLE_RSS_PAIRS";

/// Pairs the resident-memory child connects: resident memory moves in pages and in the
/// allocator's chunks, so it needs more connections than the heap count to be read per
/// connection. `FERRTC_IDLE_RSS_PAIRS` in the parent's environment overrides it.
const RSS_PAIRS: usize = 100;

/// Resident growth per idle connected connection, measured in a process of its own: the
/// heap measurements before it free memory that later connections would reuse without
/// growing the resident set, which would hide what a connection costs a fresh process.
/// Prints one line `rss <bytes per connection> heap <bytes per connection>` on stdout.
async fn rss_child(pairs: usize) {
    // Warm up as the parent does, then measure `pairs` more.
    let p = connected_pair().await;
    p.a.close().await.unwrap();
    p.b.close().await.unwrap();
    drop(p);
    settle().await;
    let mut all = Vec::with_capacity(pairs);
    let (rss_before, heap_before) = (resident(), live_heap());
    for _ in 0..pairs {
        all.push(connected_pair().await);
    }
    settle().await;
    for p in &mut all {
        drain(&mut p.ea).await;
        drain(&mut p.eb).await;
    }
    let conns = 2 * pairs as i64;
    let rss = (resident() - rss_before) / conns;
    let heap = (live_heap() - heap_before) / conns;
    for p in &all {
        assert_eq!(p.dc.ready_state(), ferrtc::ReadyState::Open);
        assert_eq!(p.rb.ready_state(), ferrtc::ReadyState::Open);
    }
    println!("rss {rss} heap {heap}");
    if std::env::var_os("FERRTC_IDLE_PROFILE").is_some() {
        // Leaves with every connection alive, so that a heap profiler run on this child
        // (`heaptrack`, valgrind's massif) reports what each part holds as "leaked".
        std::process::exit(0);
    }
}

/// Runs this test binary again in the resident-memory mode; returns (RSS, heap) per
/// connection.
fn measure_rss_in_child() -> (i64, i64) {
    let pairs = std::env::var(RSS_CHILD)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(RSS_PAIRS);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_idle_peer_connection_holds_little_heap",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(RSS_CHILD, pairs.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the resident-memory child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("rss ").map(|(_, figures)| figures))
        .unwrap_or_else(|| panic!("no figure from the child: {stdout}"));
    let mut it = line.split_whitespace();
    let rss = it.next().unwrap().parse().unwrap();
    assert_eq!(it.next(), Some("heap"));
    let heap = it.next().unwrap().parse().unwrap();
    (rss, heap)
}

#[tokio::test]
async fn an_idle_peer_connection_holds_little_heap() {
    if let Some(pairs) = std::env::var(RSS_CHILD).ok().and_then(|v| v.parse().ok()) {
        rss_child(pairs).await;
        return;
    }
    // Inline sizes of the parts (the facade's driver holds the sans-IO connection by value).
    println!(
        "sizes: sans-IO PeerConnection {} B (ice::Agent {} B, datachannel::DataChannels {} B \
         with sctp::Association {} B, dtls::Dtls {} B)",
        std::mem::size_of::<sans::PeerConnection>(),
        std::mem::size_of::<ferrtc::ice::Agent>(),
        std::mem::size_of::<ferrtc::datachannel::DataChannels>(),
        std::mem::size_of::<ferrtc::sctp::Association>(),
        std::mem::size_of::<ferrtc::dtls::Dtls>(),
    );
    // Resident growth first, in a process of its own (blocks this runtime while it runs:
    // nothing lives here yet).
    let (rss, rss_heap) = measure_rss_in_child();
    // Warm up: the process-wide certificate, the runtime's structures, tracing's callsites.
    let p = connected_pair().await;
    p.a.close().await.unwrap();
    p.b.close().await.unwrap();
    drop(p);
    settle().await;

    // The sans-IO connection alone, connected in memory.
    let cfg = sans::Configuration::with_dtls(
        ferrtc::dtls::DtlsContext::new(ferrtc::dtls::Config::new(
            ferrtc::dtls::Certificate::generate(
                ferrtc::dtls::KeyType::EcdsaP256,
                SystemTime::now(),
            )
            .unwrap(),
        ))
        .unwrap(),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    drop(sans_pair(&cfg, &mut rng, Instant::now()));
    let before = live_heap();
    let mut in_memory = Vec::new();
    for _ in 0..N {
        in_memory.push(sans_pair(&cfg, &mut rng, Instant::now()));
    }
    let sans_connected = (live_heap() - before) / (2 * N);
    drop(in_memory);
    // And not connected: an offer applied, one host candidate.
    let before = live_heap();
    let mut offerers = Vec::new();
    for i in 0..N {
        let now = Instant::now();
        let mut pc = Box::new(sans::PeerConnection::new(cfg.clone(), now, &mut rng).unwrap());
        let addr = SocketAddr::from(([10, 0, 1, i as u8], 40000));
        pc.add_local_interface(now, addr).unwrap();
        pc.end_of_local_interfaces(now);
        pc.create_data_channel(sans::ChannelInit {
            label: "idle".into(),
            ..Default::default()
        })
        .unwrap();
        let offer = pc.create_offer(sans::OfferOptions::default()).unwrap();
        pc.set_local_description(now, offer).unwrap();
        while !matches!(pc.poll_output(), sans::Output::Timeout(_)) {}
        offerers.push(pc);
    }
    let sans_unconnected = (live_heap() - before) / N;
    drop(offerers);

    // Not connected: created, an offer applied, candidates gathered.
    let before = live_heap();
    let mut fresh = Vec::new();
    for _ in 0..N {
        let pc = PeerConnection::new(loopback()).await.unwrap();
        let events = pc.events().unwrap();
        let _dc = pc
            .create_data_channel("idle", DataChannelInit::default())
            .await
            .unwrap();
        let offer = pc.create_offer().await.unwrap();
        pc.set_local_description(offer).await.unwrap();
        pc.gathered_local_description().await.unwrap();
        fresh.push((pc, events));
    }
    settle().await;
    for (_, events) in &mut fresh {
        drain(events).await;
    }
    let unconnected = (live_heap() - before) / N;
    for (pc, _) in &fresh {
        pc.close().await.unwrap();
    }
    drop(fresh);
    settle().await;

    // Connected, one open channel each.
    let before = live_heap();
    let mut pairs = Vec::new();
    for _ in 0..N {
        pairs.push(connected_pair().await);
    }
    settle().await;
    for p in &mut pairs {
        drain(&mut p.ea).await;
        drain(&mut p.eb).await;
    }
    let connected = (live_heap() - before) / (2 * N);
    let facade = connected - sans_connected;
    let facade_unconnected = unconnected - sans_unconnected;
    println!(
        "live heap per idle peer connection: {unconnected} B before it connects (sans-IO \
         {sans_unconnected} B, facade {facade_unconnected} B); {connected} B connected with one \
         open channel (sans-IO {sans_connected} B, facade {facade} B); issue 17's goal: \
         {ISSUE_GOAL} B all told"
    );
    println!(
        "resident growth per idle connected peer connection (a fresh process, {} pairs): {rss} B \
         (its live heap {rss_heap} B); issue 17's goal: {ISSUE_GOAL} B",
        std::env::var(RSS_CHILD)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(RSS_PAIRS)
    );
    // Still connected: the measurement was of live connections, not of closed ones.
    for p in &pairs {
        assert_eq!(
            p.a.connection_state(),
            ferrtc::PeerConnectionState::Connected
        );
        assert_eq!(
            p.b.connection_state(),
            ferrtc::PeerConnectionState::Connected
        );
        assert_eq!(p.dc.ready_state(), ferrtc::ReadyState::Open);
        assert_eq!(p.rb.ready_state(), ferrtc::ReadyState::Open);
    }
    // A connection holds at least its sockets, tasks and protocol state: a figure near zero
    // would mean the counter saw nothing.
    assert!(connected > 2 * 1024, "{connected} B: nothing counted?");
    assert!(unconnected > 2 * 1024, "{unconnected} B: nothing counted?");
    assert!(
        sans_connected > 2 * 1024,
        "{sans_connected} B: nothing counted?"
    );
    assert!(
        facade <= FACADE_BOUND,
        "the facade adds {facade} B per idle connected peer connection (bound {FACADE_BOUND} B)"
    );
    assert!(
        connected <= WHOLE_BOUND,
        "an idle connected peer connection holds {connected} B of heap (bound {WHOLE_BOUND} B)"
    );
    assert!(rss > 2 * 1024, "{rss} B resident: nothing measured?");
    assert!(
        rss <= ISSUE_GOAL,
        "an idle connected peer connection grows the resident set by {rss} B (goal {ISSUE_GOAL} B)"
    );
    assert!(
        sans_unconnected > 1024,
        "{sans_unconnected} B: nothing counted?"
    );
    assert!(
        facade_unconnected <= FACADE_BOUND,
        "the facade adds {facade_unconnected} B per idle peer connection that has not connected \
         (bound {FACADE_BOUND} B)"
    );
}
