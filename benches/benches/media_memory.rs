//! Memory per connected audio + video peer connection: ferrtc beside str0m 0.25 (issue 13).
//!
//! Both stacks are sans-IO, so both are measured the same way, with no sockets or runtimes:
//! PAIRS pairs of peer connections, each side with one audio and one video track sent both
//! ways (Opus + VP8, each stack's default codec list and header extensions otherwise),
//! connected in memory on a virtual clock (ICE, DTLS-SRTP), then 10 s of media both ways —
//! a 20 ms audio packet every 20 ms and a 4,000-byte video frame (four RTP packets) every
//! 33 ms — so that every buffer a live call fills (send history for NACK, jitter and frame
//! buffers, RTCP reports both ways) is in its steady state. Then, with every pair still
//! connected, the live heap is read.
//!
//! Two figures per stack, per peer connection:
//! - Rust heap: bytes allocated and not freed through the global allocator (`stats_alloc`'s
//!   counting wrapper around the system allocator), taken after the media ran, minus before the pairs
//!   were made, divided by the number of peer connections. This misses memory that C libraries
//!   allocate with their own `malloc` (ferrtc's OpenSSL DTLS state, str0m's aws-lc state).
//! - RSS: the process's resident set growth over the same span (`/proc/self/statm`), which
//!   counts everything, C libraries included, but also allocator slack; PAIRS is large enough
//!   that per-connection figures settle.
//!
//! Each stack runs in its own process (`cargo bench --bench media_memory -- ferrtc` / `str0m`;
//! with no argument the bench re-runs itself once per stack), so one stack's freed memory
//! cannot be reused by the other and RSS stays comparable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

const PAIRS: usize = 32;
/// Seconds of media; `MEDIA_MEMORY_SECONDS` overrides it (to see what grows with time).
fn seconds() -> u64 {
    std::env::var("MEDIA_MEMORY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}
const VIDEO_FRAME: usize = 4_000;
const AUDIO_FRAME: usize = 80;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not yet freed by the whole process (`stats_alloc` counts a
/// `realloc`'s growth in `bytes_allocated` and its shrinking in `bytes_deallocated`).
fn live_heap() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// What one stack's run measured.
struct Figures {
    heap_per_pc: f64,
    rss_per_pc: f64,
    /// Frames (video + audio) each side received in all: proof the media really flowed.
    frames_received: usize,
}

fn measure(run: impl FnOnce() -> (Box<dyn std::any::Any>, usize)) -> Figures {
    let heap0 = live_heap();
    let rss0 = rss_bytes();
    let (keep, frames_received) = run();
    let heap1 = live_heap();
    let rss1 = rss_bytes();
    let pcs = (2 * PAIRS) as f64;
    let f = Figures {
        heap_per_pc: (heap1 - heap0) as f64 / pcs,
        rss_per_pc: rss1.saturating_sub(rss0) as f64 / pcs,
        frames_received,
    };
    drop(keep);
    f
}

mod ferrtc_side {
    use super::*;
    use bytes::Bytes;
    use ferrtc_dtls::{Certificate, KeyType};
    use ferrtc_peerconnection::{
        Configuration, Datagram, Event, LocalTrack, MediaKind, OfferOptions, OutgoingFrame, Output,
        PeerConnection, PeerConnectionState, TransceiverId,
    };
    use rand::SeedableRng;
    use std::net::SocketAddr;
    use std::time::{SystemTime, UNIX_EPOCH};

    struct Side {
        pc: PeerConnection,
        addr: SocketAddr,
        audio: TransceiverId,
        video: TransceiverId,
        frames: usize,
    }

    fn side(port: u16, now: Instant, seed: u64) -> Side {
        let cert = Certificate::generate(KeyType::EcdsaP256, SystemTime::now()).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut pc = PeerConnection::new(Configuration::new(cert).unwrap(), now, &mut rng).unwrap();
        let addr: SocketAddr = format!("10.0.0.1:{port}").parse().unwrap();
        pc.add_local_interface(now, addr).unwrap();
        pc.end_of_local_interfaces(now);
        pc.set_wallclock(now, SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
        let track = |kind, id: &str| LocalTrack {
            kind,
            id: id.into(),
            stream_ids: vec!["s".into()],
        };
        let audio = pc.add_track(track(MediaKind::Audio, "a")).unwrap();
        let video = pc.add_track(track(MediaKind::Video, "v")).unwrap();
        Side {
            pc,
            addr,
            audio,
            video,
            frames: 0,
        }
    }

    /// Drains `from`; its datagrams go straight to `to`. Returns `from`'s next timeout.
    fn drain(from: &mut Side, to: &mut Side, now: Instant) -> Option<Instant> {
        loop {
            match from.pc.poll_output() {
                Output::Transmit(t) => {
                    let _ = to.pc.handle_receive(
                        now,
                        Datagram {
                            source: from.addr,
                            destination: to.addr,
                            contents: t.contents,
                        },
                    );
                }
                Output::Event(Event::Frame(f)) => {
                    std::hint::black_box(f.data.len());
                    from.frames += 1;
                }
                Output::Event(_) => {}
                Output::Timeout(t) => return Some(t),
            }
        }
    }

    pub struct Pair {
        a: Side,
        b: Side,
        now: Instant,
    }

    fn step(p: &mut Pair, until: Instant) {
        loop {
            let ta = drain(&mut p.a, &mut p.b, p.now);
            let tb = drain(&mut p.b, &mut p.a, p.now);
            let next = [ta, tb].into_iter().flatten().min().unwrap_or(until);
            if next > until {
                p.now = until;
                p.a.pc.handle_timeout(p.now);
                p.b.pc.handle_timeout(p.now);
                return;
            }
            p.now = next.max(p.now);
            p.a.pc.handle_timeout(p.now);
            p.b.pc.handle_timeout(p.now);
            if next == p.now && ta.is_none() && tb.is_none() {
                return;
            }
        }
    }

    pub fn pair(i: usize, start: Instant) -> Pair {
        let port = 10_000 + 2 * i as u16;
        let mut a = side(port, start, 2 * i as u64);
        let mut b = side(port + 1, start, 2 * i as u64 + 1);
        let offer = a.pc.create_offer(OfferOptions::default()).unwrap();
        a.pc.set_local_description(start, offer).unwrap();
        b.pc.set_remote_description(start, a.pc.local_description().unwrap())
            .unwrap();
        let answer = b.pc.create_answer().unwrap();
        b.pc.set_local_description(start, answer).unwrap();
        a.pc.set_remote_description(start, b.pc.local_description().unwrap())
            .unwrap();
        let mut p = Pair { a, b, now: start };
        for _ in 0..200 {
            let until = p.now + Duration::from_millis(50);
            step(&mut p, until);
            if p.a.pc.connection_state() == PeerConnectionState::Connected
                && p.b.pc.connection_state() == PeerConnectionState::Connected
            {
                return p;
            }
        }
        panic!(
            "ferrtc pair {i} did not connect: {:?} / {:?}",
            p.a.pc.connection_state(),
            p.b.pc.connection_state()
        );
    }

    /// `seconds()` of audio and video both ways, in 1 ms steps of the virtual clock.
    pub fn media(p: &mut Pair) {
        let video = Bytes::from(vec![0u8; VIDEO_FRAME]);
        let audio = Bytes::from(vec![0xfcu8; AUDIO_FRAME]);
        let start = p.now;
        for ms in 0..seconds() * 1000 {
            let now = start + Duration::from_millis(ms);
            step(p, now);
            for s in [&mut p.a, &mut p.b] {
                if ms % 20 == 0 {
                    let f = OutgoingFrame::new(audio.clone(), (ms * 48) as u32, now);
                    s.pc.write_frame(now, s.audio, f).unwrap();
                }
                if ms % 33 == 0 {
                    let f = OutgoingFrame::new(video.clone(), (ms * 90) as u32, now);
                    s.pc.write_frame(now, s.video, f).unwrap();
                }
            }
        }
        step(p, start + Duration::from_millis(seconds() * 1000 + 100));
    }

    pub fn run() -> (Box<dyn std::any::Any>, usize) {
        let start = Instant::now();
        let mut pairs: Vec<Pair> = (0..PAIRS).map(|i| pair(i, start)).collect();
        for p in &mut pairs {
            media(p);
        }
        let frames = pairs.iter().map(|p| p.a.frames + p.b.frames).sum();
        (Box::new(pairs), frames)
    }
}

mod str0m_side {
    use super::*;
    use std::net::SocketAddr;
    use str0m::format::Codec;
    use str0m::media::{Direction, MediaKind, MediaTime, Mid, Pt};
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc};

    struct Side {
        rtc: Rtc,
        addr: SocketAddr,
        frames: usize,
    }

    fn feed(to: &mut Side, now: Instant, from: SocketAddr, data: &[u8]) {
        if let Ok(contents) = data.try_into() {
            let _ = to.rtc.handle_input(Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: to.addr,
                    contents,
                },
            ));
        }
    }

    fn drain(from: &mut Side, to: &mut Side, now: Instant) -> Instant {
        loop {
            match from.rtc.poll_output().unwrap() {
                Output::Transmit(t) => feed(to, now, from.addr, &t.contents),
                Output::Event(Event::MediaData(m)) => {
                    std::hint::black_box(m.data.len());
                    from.frames += 1;
                }
                Output::Event(_) => {}
                Output::Timeout(t) => return t,
            }
        }
    }

    pub struct Pair {
        a: Side,
        b: Side,
        audio: Mid,
        video: Mid,
        now: Instant,
    }

    fn step(p: &mut Pair, until: Instant) {
        loop {
            let ta = drain(&mut p.a, &mut p.b, p.now);
            let tb = drain(&mut p.b, &mut p.a, p.now);
            let next = ta.min(tb);
            if next > until {
                p.now = until;
                p.a.rtc.handle_input(Input::Timeout(p.now)).unwrap();
                p.b.rtc.handle_input(Input::Timeout(p.now)).unwrap();
                return;
            }
            let before = p.now;
            p.now = next.max(p.now);
            p.a.rtc.handle_input(Input::Timeout(p.now)).unwrap();
            p.b.rtc.handle_input(Input::Timeout(p.now)).unwrap();
            if p.now == before && next <= before {
                // Both are idle at this instant: nothing more to do before `until`.
                if p.now == until {
                    return;
                }
                p.now = until.min(p.now + Duration::from_millis(1));
            }
        }
    }

    pub fn pair(i: usize, start: Instant) -> Pair {
        let port = 20_000 + 2 * i as u16;
        let mk = |port: u16| {
            let addr: SocketAddr = format!("10.0.0.1:{port}").parse().unwrap();
            let mut rtc = Rtc::builder().build(start);
            rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
            Side {
                rtc,
                addr,
                frames: 0,
            }
        };
        let mut a = mk(port);
        let mut b = mk(port + 1);
        let mut change = a.rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let video = change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let answer = b.rtc.sdp_api().accept_offer(offer).unwrap();
        a.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let mut p = Pair {
            a,
            b,
            audio,
            video,
            now: start,
        };
        for _ in 0..200 {
            let until = p.now + Duration::from_millis(50);
            step(&mut p, until);
            if p.a.rtc.is_connected()
                && p.b.rtc.is_connected()
                && p.a.rtc.writer(video).is_some()
                && p.b.rtc.writer(video).is_some()
            {
                return p;
            }
        }
        panic!("str0m pair {i} did not connect");
    }

    fn pt(rtc: &mut Rtc, mid: Mid, codec: Codec) -> Pt {
        rtc.writer(mid)
            .unwrap()
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
            .unwrap()
    }

    pub fn media(p: &mut Pair) {
        let video: std::sync::Arc<[u8]> = vec![0u8; VIDEO_FRAME].into();
        let audio: std::sync::Arc<[u8]> = vec![0xfcu8; AUDIO_FRAME].into();
        let (audio_mid, video_mid) = (p.audio, p.video);
        let opus = pt(&mut p.a.rtc, audio_mid, Codec::Opus);
        let vp8 = pt(&mut p.a.rtc, video_mid, Codec::Vp8);
        let start = p.now;
        for ms in 0..seconds() * 1000 {
            let now = start + Duration::from_millis(ms);
            step(p, now);
            for s in [&mut p.a, &mut p.b] {
                if ms % 20 == 0 {
                    s.rtc
                        .writer(audio_mid)
                        .unwrap()
                        .write(
                            opus,
                            now,
                            MediaTime::new(ms * 48, str0m::media::Frequency::FORTY_EIGHT_KHZ),
                            audio.clone(),
                        )
                        .unwrap();
                }
                if ms % 33 == 0 {
                    s.rtc
                        .writer(video_mid)
                        .unwrap()
                        .write(vp8, now, MediaTime::from_90khz(ms * 90), video.clone())
                        .unwrap();
                }
            }
        }
        step(p, start + Duration::from_millis(seconds() * 1000 + 100));
    }

    pub fn run() -> (Box<dyn std::any::Any>, usize) {
        let start = Instant::now();
        let mut pairs: Vec<Pair> = (0..PAIRS).map(|i| pair(i, start)).collect();
        for p in &mut pairs {
            media(p);
        }
        let frames = pairs.iter().map(|p| p.a.frames + p.b.frames).sum();
        (Box::new(pairs), frames)
    }
}

fn report(name: &str, f: &Figures) {
    println!(
        "media_memory/{name}: {:.0} B Rust heap, {:.0} B RSS per connected audio+video peer connection ({PAIRS} pairs, {} s of media both ways, {} frames received)",
        f.heap_per_pc,
        f.rss_per_pc,
        seconds(),
        f.frames_received
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match which.first().map(String::as_str) {
        Some("ferrtc") => report("ferrtc", &measure(ferrtc_side::run)),
        Some("str0m") => report("str0m 0.25", &measure(str0m_side::run)),
        Some(other) => eprintln!("media_memory: unknown stack {other:?} (ferrtc | str0m)"),
        None => {
            // One process per stack, so neither reuses the other's freed memory.
            let me = std::env::current_exe().unwrap();
            for stack in ["ferrtc", "str0m"] {
                let status = std::process::Command::new(&me).arg(stack).status().unwrap();
                assert!(status.success(), "{stack} run failed");
            }
        }
    }
}
