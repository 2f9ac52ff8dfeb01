//! The per-packet media path of a peer connection (issue 13), one 1200-byte VP8 packet at a
//! time (a ~1150-byte frame that fits one packet, so every packet is a whole frame):
//!
//! - send: frame → VP8 packetizer → RTP header with mid / abs-send-time / transport-cc
//!   extensions → SRTP protect (AES-128-GCM) → the datagram handed out;
//! - receive: SRTP unprotect → RTP parse → route by MID/SSRC (RFC 8843 §9.2) → RFC 3550
//!   receive statistics → frame assembly → the frame handed out.
//!
//! ferrtc: `MediaEngine` keyed by hand (the peer connection keys it from DTLS-SRTP). The
//! receive side is fed datagrams the send side protected beforehand, outside the timing; each
//! batch goes to a fresh receiving engine (SRTP refuses replays), created outside the timing.
//! The frame buffer releases at once (no start-up delay), as a live receiver does once running.
//!
//! str0m 0.25 driven the same way: two `Rtc`s connected in memory (ICE, DTLS-SRTP) with one
//! VP8 send-only section and default header extensions; send = `Writer::write` of the same
//! frame, then `poll_output` until the datagram is out; receive = datagrams A protected
//! beforehand fed to a B that has not seen them (a fresh connected pair per batch, outside the
//! timing), `poll_output` until `Event::MediaData` for each. str0m uses its default crypto
//! backend (aws-lc-rs) and profile negotiation (it prefers AES-128-GCM, like ferrtc here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrtc_dtls::{Role, SrtpKeyingMaterial, SrtpProfile};
use ferrtc_media_codecs::frame_buffer::Config as FrameBufferConfig;
use ferrtc_peerconnection::media::engine::{MediaConfig, MediaEngine};
use ferrtc_peerconnection::media::{
    Codec, Direction, MediaKind, MediaMode, NegotiatedMedia, OutgoingFrame, TransceiverId,
};
use ferrtc_peerconnection::Event;
use ferrtc_rtp::values::{AbsSendTime, ExtensionValue, Mid, TRANSPORT_CC_01_URI};
use ferrtc_rtp::ExtensionMap;

/// Frame bytes: with the 4-byte VP8 descriptor (15-bit picture id), 12-byte header, 16-byte extension
/// block and 16-byte GCM tag the datagram is 1200 bytes.
const FRAME: usize = 1200 - 16 - 4 - 12 - 16;
const BATCH: usize = 4096;

fn keying() -> SrtpKeyingMaterial {
    let p = SrtpProfile::AeadAes128Gcm;
    SrtpKeyingMaterial {
        profile: p,
        client_key: vec![1; p.key_len()],
        client_salt: vec![2; p.salt_len()],
        server_key: vec![3; p.key_len()],
        server_salt: vec![4; p.salt_len()],
    }
}

fn section(ssrc: u32) -> Vec<NegotiatedMedia> {
    vec![NegotiatedMedia {
        transceiver: TransceiverId::from_index(0),
        mid: "0".into(),
        kind: MediaKind::Video,
        mode: MediaMode::Frame,
        direction: Direction::SendRecv,
        codecs: vec![Codec {
            payload_type: 96,
            mime_type: "video/VP8".into(),
            clock_rate: 90_000,
            channels: None,
            sdp_fmtp_line: None,
            rtcp_feedback: Vec::new(),
            rtx_payload_type: None,
        }],
        extensions: ExtensionMap::from_pairs([
            (1, Mid::URI),
            (2, AbsSendTime::URI),
            (3, TRANSPORT_CC_01_URI),
        ])
        .unwrap(),
        rtcp_rsize: true,
        local_ssrc: ssrc,
        local_rtx_ssrc: None,
        cname: "bench".into(),
        remote_ssrcs: Vec::new(),
        remote_rids: Vec::new(),
        local_rids: Vec::new(),
    }]
}

fn engine(role: Role, ssrc: u32, now: Instant) -> MediaEngine {
    let cfg = MediaConfig {
        frame_buffer: FrameBufferConfig {
            startup_delay: Duration::ZERO,
            ..FrameBufferConfig::default()
        },
        ..MediaConfig::default()
    };
    let mut e = MediaEngine::with_config(cfg, 1);
    e.apply(&section(ssrc));
    e.start_srtp(now, &keying(), role, 7).unwrap();
    e
}

fn frame(i: u32, now: Instant) -> OutgoingFrame {
    let mut v: Vec<u8> = (0..FRAME).map(|k| (k as u8).wrapping_mul(31) | 1).collect();
    // VP8 P bit: a delta frame, except the first.
    v[0] = if i == 0 { 0x10 } else { 0x11 };
    OutgoingFrame::new(Bytes::from(v), i.wrapping_mul(3000), now)
}

fn ferrtc_send(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_path/send 1200-byte VP8 packet");
    g.throughput(Throughput::Elements(1));
    let now = Instant::now();
    let mut a = engine(Role::Client, 0xA, now);
    let frames: Vec<OutgoingFrame> = (0..64).map(|i| frame(i, now)).collect();
    let len = {
        a.write_frame(now, TransceiverId::from_index(0), frames[0].clone())
            .unwrap();
        a.poll_transmit().unwrap().len()
    };
    assert_eq!(len, 1200, "one 1200-byte datagram per frame");
    let mut i = 0usize;
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            i += 1;
            let mut f = frames[i % frames.len()].clone();
            f.rtp_timestamp = (i as u32).wrapping_mul(3000);
            a.write_frame(now, TransceiverId::from_index(0), f).unwrap();
            black_box(a.poll_transmit().unwrap());
        })
    });
    g.finish();
}

fn ferrtc_receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_path/receive 1200-byte VP8 packet");
    g.throughput(Throughput::Elements(1));
    let now = Instant::now();
    // One batch of datagrams, protected once; each timed batch gets a fresh receiver.
    let mut a = engine(Role::Client, 0xA, now);
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..BATCH as u32 {
        a.write_frame(now, TransceiverId::from_index(0), frame(i, now))
            .unwrap();
        batch.push(a.poll_transmit().unwrap());
    }
    // Check once: every datagram becomes one frame of the same bytes.
    {
        let mut b = engine(Role::Server, 0xB, now);
        for d in &batch {
            b.handle_datagram(now, Bytes::copy_from_slice(d));
        }
        let mut n = 0;
        while let Some(e) = b.poll_event() {
            if let Event::Frame(f) = e {
                assert_eq!(f.data.len(), FRAME);
                n += 1;
            }
        }
        assert_eq!(n, BATCH);
    }
    g.bench_function("ferrtc", |bch| {
        bch.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(BATCH);
                left -= n;
                let mut b = engine(Role::Server, 0xB, now);
                // Unshared buffers, as a socket read gives them (unprotect works in place).
                let input: Vec<Bytes> = batch[..n]
                    .iter()
                    .map(|d| Bytes::copy_from_slice(d))
                    .collect();
                let start = Instant::now();
                for d in input {
                    b.handle_datagram(now, d);
                    black_box(b.poll_event());
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

mod str0m_side {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use str0m::format::Codec as S0Codec;
    use str0m::media::{Direction, MediaKind, MediaTime, Mid, Pt};
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc};

    pub struct Pair {
        pub a: Rtc,
        pub b: Rtc,
        pub mid: Mid,
        pub pt: Pt,
        pub now: Instant,
        a_addr: SocketAddr,
        b_addr: SocketAddr,
    }

    fn feed(to: &mut Rtc, now: Instant, from: SocketAddr, at: SocketAddr, data: &[u8]) {
        if let Ok(contents) = data.try_into() {
            let _ = to.handle_input(Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: at,
                    contents,
                },
            ));
        }
    }

    /// Drains one side; transmits go to the other. Returns its next timeout and media frames.
    fn drain(from: &mut Rtc, to: &mut Rtc, now: Instant, media: &mut usize) -> Instant {
        loop {
            match from.poll_output().unwrap() {
                Output::Transmit(t) => {
                    feed(to, now, t.source, t.destination, &t.contents);
                }
                Output::Event(Event::MediaData(_)) => *media += 1,
                Output::Event(_) => {}
                Output::Timeout(t) => return t,
            }
        }
    }

    pub fn connect() -> Pair {
        let mut now = Instant::now();
        let a_addr: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b_addr: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        let build = || {
            Rtc::builder()
                .clear_codecs()
                .enable_vp8(true)
                .set_mtu(1200..=1280)
                .build(now)
        };
        let mut a = build();
        let mut b = build();
        a.add_local_candidate(Candidate::host(a_addr, "udp").unwrap());
        b.add_local_candidate(Candidate::host(b_addr, "udp").unwrap());
        let mut change = a.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let answer = b.sdp_api().accept_offer(offer).unwrap();
        a.sdp_api().accept_answer(pending, answer).unwrap();
        let mut n = 0;
        for _ in 0..10_000 {
            let ta = drain(&mut a, &mut b, now, &mut n);
            let tb = drain(&mut b, &mut a, now, &mut n);
            if a.is_connected() && b.is_connected() && a.writer(mid).is_some() {
                break;
            }
            now = ta.min(tb).max(now + Duration::from_millis(1));
            a.handle_input(Input::Timeout(now)).unwrap();
            b.handle_input(Input::Timeout(now)).unwrap();
        }
        assert!(
            a.is_connected() && b.is_connected(),
            "str0m pair did not connect"
        );
        let pt = a
            .writer(mid)
            .unwrap()
            .payload_params()
            .find(|p| p.spec().codec == S0Codec::Vp8)
            .map(|p| p.pt())
            .unwrap();
        Pair {
            a,
            b,
            mid,
            pt,
            now,
            a_addr,
            b_addr,
        }
    }

    impl Pair {
        /// A writes one frame; the RTP datagrams it puts out are returned (not delivered).
        pub fn send(&mut self, ts: u64, frame: &Arc<[u8]>) -> Vec<Vec<u8>> {
            self.a
                .writer(self.mid)
                .unwrap()
                .write(self.pt, self.now, MediaTime::from_90khz(ts), frame.clone())
                .unwrap();
            let mut out = Vec::new();
            for _ in 0..8 {
                match self.a.poll_output().unwrap() {
                    Output::Transmit(t) => {
                        // RTP/RTCP only (RFC 7983: first byte 128..=191).
                        if (128..=191).contains(&t.contents[0]) {
                            out.push(t.contents.to_vec());
                        }
                    }
                    Output::Event(_) => {}
                    Output::Timeout(t) => {
                        if !out.is_empty() {
                            break;
                        }
                        self.now = self.now.max(t);
                        self.a.handle_input(Input::Timeout(self.now)).unwrap();
                    }
                }
            }
            out
        }

        /// B takes one datagram from A; the frames it completes are counted.
        pub fn receive(&mut self, d: &[u8]) -> usize {
            feed(&mut self.b, self.now, self.a_addr, self.b_addr, d);
            let mut frames = 0;
            loop {
                match self.b.poll_output().unwrap() {
                    Output::Event(Event::MediaData(m)) => {
                        frames += 1;
                        std::hint::black_box(m.data.len());
                    }
                    Output::Timeout(_) => return frames,
                    _ => {}
                }
            }
        }
    }
}

fn str0m_send(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_path/send 1200-byte VP8 packet");
    g.throughput(Throughput::Elements(1));
    let mut p = str0m_side::connect();
    let now = Instant::now();
    let frame: std::sync::Arc<[u8]> = frame(1, now).data.to_vec().into();
    let first = p.send(0, &frame);
    assert_eq!(first.len(), 1, "one datagram per frame");
    eprintln!("str0m datagram: {} bytes", first[0].len());
    let mut ts = 0u64;
    g.bench_function("str0m 0.25", |b| {
        b.iter(|| {
            ts += 3000;
            black_box(p.send(ts, &frame));
        })
    });
    g.finish();
}

fn str0m_receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("media_path/receive 1200-byte VP8 packet");
    g.throughput(Throughput::Elements(1));
    let now = Instant::now();
    let frames: Vec<std::sync::Arc<[u8]>> = (0..BATCH as u32)
        .map(|i| frame(i, now).data.to_vec().into())
        .collect();
    // A connected pair and A's datagrams for B, made outside the timing.
    let prepare = |n: usize| {
        let mut p = str0m_side::connect();
        let mut ds = Vec::with_capacity(n);
        for (i, f) in frames.iter().take(n).enumerate() {
            ds.extend(p.send(3000 * i as u64, f));
        }
        (p, ds)
    };
    {
        let (mut p, ds) = prepare(256);
        let got: usize = ds.iter().map(|d| p.receive(d)).sum();
        assert!(got >= 250, "str0m delivered {got} of 256 frames");
    }
    g.bench_function("str0m 0.25", |bch| {
        bch.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(BATCH);
                left -= n;
                let (mut p, ds) = prepare(n);
                let start = Instant::now();
                for d in &ds {
                    black_box(p.receive(d));
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    ferrtc_send,
    str0m_send,
    ferrtc_receive,
    str0m_receive
);
criterion_main!(benches);
