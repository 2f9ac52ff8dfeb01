//! Two media engines, A (DTLS client) and B (DTLS server), keyed with the same DTLS-SRTP
//! material in opposite roles, with mirrored negotiated sections built by hand (the JSEP side
//! is not involved). A virtual clock and a one-way delay between them.
//!
//! Real media from small ffmpeg files (tests/data, copied from ferrtc-media-codecs): VP8 (IVF),
//! H.264 baseline (Annex B) and Opus (Ogg) go A → B through SRTP and come out byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{Role, SrtpKeyingMaterial, SrtpProfile};
use ferrtc_media_codecs::container::annexb::{nal_units, AccessUnits, NalSyntax};
use ferrtc_media_codecs::container::ivf::IvfReader;
use ferrtc_media_codecs::container::ogg::OggReader;
use ferrtc_peerconnection::media::engine::{MediaConfig, MediaEngine};
use ferrtc_peerconnection::media::{
    Codec, Direction, KeyframeRequestKind, MediaKind, MediaMode, NegotiatedMedia, OutgoingFrame,
    ReceivedFrame, RtcpFeedback, TransceiverId,
};
use ferrtc_peerconnection::stats::{self, Stats};
use ferrtc_peerconnection::Event;
use ferrtc_rtp::values::{AbsSendTime, ExtensionValue, Mid, TRANSPORT_CC_01_URI};
use ferrtc_rtp::{ExtensionMap, RtpHeader, RtpPacket};

const VIDEO: u32 = 0;
const AUDIO: u32 = 1;
const H264: u32 = 2;

/// A frame with the first negotiated codec, captured at `now`.
fn out_frame(data: Bytes, rtp_timestamp: u32, now: Instant) -> OutgoingFrame {
    OutgoingFrame::new(data, rtp_timestamp, now)
}

fn tid(i: u32) -> TransceiverId {
    TransceiverId::from_index(i)
}

fn keying(profile: SrtpProfile, seed: u8) -> SrtpKeyingMaterial {
    let bytes = |n: usize, k: u8| (0..n).map(|i| (i as u8).wrapping_mul(31) ^ k).collect();
    SrtpKeyingMaterial {
        profile,
        client_key: bytes(profile.key_len(), seed),
        client_salt: bytes(profile.salt_len(), seed ^ 0x11),
        server_key: bytes(profile.key_len(), seed ^ 0x22),
        server_salt: bytes(profile.salt_len(), seed ^ 0x33),
    }
}

fn codec(pt: u8, mime: &str, clock: u32, fmtp: Option<&str>, rtx: Option<u8>) -> Codec {
    Codec {
        payload_type: pt,
        mime_type: mime.into(),
        clock_rate: clock,
        channels: mime.starts_with("audio/opus").then_some(2),
        sdp_fmtp_line: fmtp.map(str::to_owned),
        rtcp_feedback: vec![
            RtcpFeedback::new("nack", None),
            RtcpFeedback::new("nack", Some("pli")),
            RtcpFeedback::new("ccm", Some("fir")),
        ],
        rtx_payload_type: rtx,
    }
}

fn extensions() -> ExtensionMap {
    ExtensionMap::from_pairs([
        (1, Mid::URI),
        (2, AbsSendTime::URI),
        (3, TRANSPORT_CC_01_URI),
    ])
    .unwrap()
}

/// The sections of one side: video VP8 (mid "v"), audio Opus ("a"), video H.264 ("h").
/// SSRCs: ours `base + i`; the peer's are not signaled, so B learns them from the MID
/// header extension (RFC 8843 §9.2).
fn sections(base: u32, mode: MediaMode) -> Vec<NegotiatedMedia> {
    let one = |i: u32, mid: &str, kind, codecs: Vec<Codec>| NegotiatedMedia {
        transceiver: tid(i),
        mid: mid.into(),
        kind,
        mode,
        direction: Direction::SendRecv,
        codecs,
        extensions: extensions(),
        rtcp_rsize: true,
        local_ssrc: base + i,
        local_rtx_ssrc: (i == VIDEO).then_some(base + 0x100),
        cname: format!("cname-{base}"),
        remote_ssrcs: Vec::new(),
        remote_rids: Vec::new(),
        local_rids: Vec::new(),
    };
    vec![
        one(
            VIDEO,
            "v",
            MediaKind::Video,
            vec![codec(96, "video/VP8", 90_000, None, Some(97))],
        ),
        one(
            AUDIO,
            "a",
            MediaKind::Audio,
            vec![codec(
                111,
                "audio/opus",
                48_000,
                Some("minptime=10;useinbandfec=1"),
                None,
            )],
        ),
        one(
            H264,
            "h",
            MediaKind::Video,
            vec![codec(
                102,
                "video/H264",
                90_000,
                Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
                None,
            )],
        ),
    ]
}

/// Which A → B datagrams the link loses (by index).
type Loss = Box<dyn FnMut(usize, &Bytes) -> bool>;

/// Two engines and the delayed links between them.
struct Pair {
    now: Instant,
    a: MediaEngine,
    b: MediaEngine,
    delay: Duration,
    to_b: VecDeque<(Instant, Bytes)>,
    to_a: VecDeque<(Instant, Bytes)>,
    /// Every datagram A sent, in order (for replays).
    sent_by_a: Vec<Bytes>,
    /// Drop A → B datagrams for which this returns true (index of the datagram).
    lose: Loss,
    a_count: usize,
    events_b: Vec<Event>,
    events_a: Vec<Event>,
}

impl Pair {
    fn new(profile: SrtpProfile, mode: MediaMode, delay: Duration) -> Self {
        let now = Instant::now();
        let mut a = MediaEngine::with_config(MediaConfig::default(), 1);
        let mut b = MediaEngine::with_config(MediaConfig::default(), 2);
        a.apply(&sections(0xA000, mode));
        b.apply(&sections(0xB000, mode));
        let k = keying(profile, 7);
        a.start_srtp(now, &k, Role::Client, 11).unwrap();
        b.start_srtp(now, &k, Role::Server, 12).unwrap();
        let wall = Duration::from_secs(1_700_000_000);
        a.set_wallclock(now, wall);
        b.set_wallclock(now, wall);
        Self {
            now,
            a,
            b,
            delay,
            to_b: VecDeque::new(),
            to_a: VecDeque::new(),
            sent_by_a: Vec::new(),
            lose: Box::new(|_, _| false),
            a_count: 0,
            events_b: Vec::new(),
            events_a: Vec::new(),
        }
    }

    /// Moves what is due, fires timers, collects events.
    fn settle(&mut self) {
        let now = self.now;
        for _ in 0..4 {
            while let Some(d) = self.a.poll_transmit() {
                let i = self.a_count;
                self.a_count += 1;
                self.sent_by_a.push(d.clone());
                if !(self.lose)(i, &d) {
                    self.to_b.push_back((now + self.delay, d));
                }
            }
            while let Some(d) = self.b.poll_transmit() {
                self.to_a.push_back((now + self.delay, d));
            }
            while self.to_b.front().is_some_and(|(t, _)| *t <= now) {
                let (_, d) = self.to_b.pop_front().unwrap();
                self.b.handle_datagram(now, d);
            }
            while self.to_a.front().is_some_and(|(t, _)| *t <= now) {
                let (_, d) = self.to_a.pop_front().unwrap();
                self.a.handle_datagram(now, d);
            }
            if self.a.poll_timeout().is_some_and(|t| t <= now) {
                self.a.handle_timeout(now);
            }
            if self.b.poll_timeout().is_some_and(|t| t <= now) {
                self.b.handle_timeout(now);
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push(e);
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
        }
    }

    /// Advances the clock by `d` in 1 ms steps.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_millis(1);
            self.settle();
        }
    }

    fn frames_b(&self, t: u32) -> Vec<&ReceivedFrame> {
        self.events_b
            .iter()
            .filter_map(|e| match e {
                Event::Frame(f) if f.transceiver == tid(t) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn send(&mut self, t: u32, data: Bytes, rtp_timestamp: u32) {
        let f = out_frame(data, rtp_timestamp, self.now);
        self.a.write_frame(self.now, tid(t), f).unwrap();
        self.settle();
    }
}

fn vp8_frames() -> Vec<Bytes> {
    let file = Bytes::from_static(include_bytes!("data/video_vpx_320x240.vp8.ivf"));
    let mut frames: Vec<Bytes> = IvfReader::new(file)
        .unwrap()
        .map(|f| f.unwrap().data)
        .collect();
    // A large key frame too, to cross many packets: the real key frame's header and filler.
    let key = frames[0].clone();
    let mut big = key.to_vec();
    big.extend((0..6000u32).map(|i| (i * 7 % 251) as u8));
    frames.push(Bytes::from(big));
    frames
}

fn opus_packets() -> Vec<Bytes> {
    let file = Bytes::from_static(include_bytes!("data/ffmpeg_sine_300ms.opus"));
    // Skip OpusHead and OpusTags (RFC 7845 §5).
    OggReader::new(file, 65_536)
        .skip(2)
        .map(|p| p.unwrap().data)
        .collect()
}

fn h264_access_units() -> Vec<Bytes> {
    let file = Bytes::from_static(include_bytes!("data/video_x264_320x240_baseline.h264"));
    AccessUnits::new(file, NalSyntax::H264, 1 << 20)
        .map(|a| a.unwrap())
        .collect()
}

fn nals(au: &[u8]) -> Vec<Vec<u8>> {
    nal_units(au).map(<[u8]>::to_vec).collect()
}

#[test]
fn vp8_opus_h264_arrive_byte_identical_through_srtp() {
    for profile in [SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80] {
        let mut p = Pair::new(profile, MediaMode::Frame, Duration::from_millis(20));
        let vp8 = vp8_frames();
        let opus = opus_packets();
        let h264 = h264_access_units();
        assert!(
            vp8.len() >= 5 && opus.len() >= 10 && h264.len() >= 3,
            "{} {} {}",
            vp8.len(),
            opus.len(),
            h264.len()
        );
        let rounds = vp8.len().max(opus.len()).max(h264.len());
        for i in 0..rounds {
            if let Some(f) = vp8.get(i) {
                p.send(VIDEO, f.clone(), 3000 * i as u32);
            }
            if let Some(f) = opus.get(i) {
                p.send(AUDIO, f.clone(), 960 * i as u32);
            }
            if let Some(f) = h264.get(i) {
                p.send(H264, f.clone(), 3000 * i as u32);
            }
            p.run(Duration::from_millis(20));
        }
        p.run(Duration::from_millis(500));

        let got = p.frames_b(VIDEO);
        assert_eq!(got.len(), vp8.len(), "{profile}: VP8 frames");
        for (i, (g, sent)) in got.iter().zip(&vp8).enumerate() {
            assert_eq!(&g.data[..], &sent[..], "{profile}: VP8 frame {i}");
            assert_eq!(
                g.rtp_timestamp.wrapping_sub(got[0].rtp_timestamp),
                3000 * i as u32
            );
            assert!(g.contiguous || i == 0);
        }
        assert!(got[0].keyframe);
        assert_eq!(got[0].resolution, Some((320, 240)));
        assert!(got.last().unwrap().seq_range.1 - got.last().unwrap().seq_range.0 >= 5);

        let got = p.frames_b(AUDIO);
        assert_eq!(got.len(), opus.len(), "{profile}: Opus packets");
        for (i, (g, sent)) in got.iter().zip(&opus).enumerate() {
            assert_eq!(&g.data[..], &sent[..], "{profile}: Opus packet {i}");
        }

        let got = p.frames_b(H264);
        assert_eq!(got.len(), h264.len(), "{profile}: H.264 access units");
        for (i, (g, sent)) in got.iter().zip(&h264).enumerate() {
            // The depacketizer writes 4-byte start codes; the NAL units are the same bytes.
            assert_eq!(
                nals(&g.data),
                nals(sent),
                "{profile}: H.264 access unit {i}"
            );
        }
        assert!(got[0].keyframe);

        let d = p.b.drops();
        assert_eq!(
            d.auth_failed + d.replayed + d.unrouted + d.malformed,
            0,
            "{d:?}"
        );
    }
}

fn stats_of(e: &MediaEngine) -> Vec<Stats> {
    let mut out = Vec::new();
    stats::media(e, 0.0, &mut out);
    out
}

/// The sections without `a=rtcp-fb nack` (no retransmissions).
fn without_nack(mut v: Vec<NegotiatedMedia>) -> Vec<NegotiatedMedia> {
    for n in &mut v {
        for c in &mut n.codecs {
            c.rtcp_feedback
                .retain(|f| f.kind != "nack" || f.param.is_some());
        }
    }
    v
}

fn lose_first_packet_of_frame_3(p: &mut Pair) -> Vec<Bytes> {
    let vp8 = vp8_frames();
    for (i, f) in vp8.iter().enumerate() {
        if i == 3 {
            // The next datagram A sends.
            let k = p.a_count;
            p.lose = Box::new(move |i, _| i == k);
        }
        p.send(VIDEO, f.clone(), 3000 * i as u32);
        p.run(Duration::from_millis(33));
    }
    p.run(Duration::from_secs(3));
    vp8
}

fn find<T>(e: &MediaEngine, f: impl Fn(Stats) -> Option<T>) -> T {
    stats_of(e).into_iter().find_map(f).expect("stats object")
}

#[test]
fn nack_repairs_a_loss_with_rtx() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(10),
    );
    let vp8 = lose_first_packet_of_frame_3(&mut p);
    let got = p.frames_b(VIDEO);
    assert_eq!(got.len(), vp8.len());
    for (g, sent) in got.iter().zip(&vp8) {
        assert_eq!(&g.data[..], &sent[..]);
    }
    assert!(got.iter().skip(1).all(|f| f.contiguous && f.decodable));
    let out = find(&p.a, |s| match s {
        Stats::OutboundRtp(r) if r.ssrc == 0xA000 => Some(r),
        _ => None,
    });
    assert_eq!((out.nack_count, out.retransmitted_packets_sent), (1, 1));
    let inb = find(&p.b, |s| match s {
        Stats::InboundRtp(r) if r.ssrc == 0xA000 => Some(r),
        _ => None,
    });
    assert_eq!(inb.nack_count, 1);
    assert_eq!(inb.retransmitted_packets_received, 1);
    assert_eq!(inb.packets_lost, 0);
}

#[test]
fn a_lost_packet_breaks_contiguity_and_is_reported_as_lost() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(10),
    );
    p.a.apply(&without_nack(sections(0xA000, MediaMode::Frame)));
    p.b.apply(&without_nack(sections(0xB000, MediaMode::Frame)));
    let vp8 = lose_first_packet_of_frame_3(&mut p);
    let got = p.frames_b(VIDEO);
    assert!(got.len() < vp8.len(), "one frame lost");
    let broken: Vec<_> = got.iter().filter(|f| !f.contiguous).collect();
    // The first frame, and the one after the gap.
    assert_eq!(
        broken.len(),
        2,
        "{:?}",
        got.iter().map(|f| f.contiguous).collect::<Vec<_>>()
    );
    // B's receiver report told A about the loss (remote-inbound-rtp).
    let remote_inbound = stats_of(&p.a)
        .into_iter()
        .find_map(|s| match s {
            Stats::RemoteInboundRtp(r) if r.ssrc == 0xA000 => Some(r),
            _ => None,
        })
        .expect("remote-inbound-rtp for the video sender");
    assert_eq!(remote_inbound.packets_lost, 1);
    // And B's own inbound stats say so.
    let inbound = stats_of(&p.b)
        .into_iter()
        .find_map(|s| match s {
            Stats::InboundRtp(r) if r.ssrc == 0xA000 => Some(r),
            _ => None,
        })
        .expect("inbound-rtp");
    assert_eq!(inbound.packets_lost, 1);
    assert_eq!(inbound.mid, "v");
}

#[test]
fn rtt_from_sender_and_receiver_reports_with_a_simulated_delay() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(50),
    );
    let opus = opus_packets();
    for i in 0..250u32 {
        let f = opus[i as usize % opus.len()].clone();
        p.send(AUDIO, f, 960 * i);
        let vf = vp8_frames()[1].clone();
        p.send(VIDEO, vf, 1800 * i);
        p.run(Duration::from_millis(20));
    }
    let ri: Vec<_> = stats_of(&p.a)
        .into_iter()
        .filter_map(|s| match s {
            Stats::RemoteInboundRtp(r) => Some(r),
            _ => None,
        })
        .collect();
    assert!(!ri.is_empty());
    for r in ri {
        let rtt = r.round_trip_time.expect("a round trip");
        // 2 × 50 ms, within the 1 ms step of the virtual clock and 1/65536 s rounding.
        assert!(
            (0.099..=0.103).contains(&rtt),
            "ssrc {:#x}: rtt {rtt}",
            r.ssrc
        );
        assert!(r.round_trip_time_measurements >= 1);
    }
    // B saw A's SRs (remote-outbound-rtp).
    let ro = stats_of(&p.b)
        .into_iter()
        .find_map(|s| match s {
            Stats::RemoteOutboundRtp(r) if r.ssrc == 0xA000 => Some(r),
            _ => None,
        })
        .expect("remote-outbound-rtp");
    assert!(ro.packets_sent > 100 && ro.reports_sent >= 1);
}

#[test]
fn pli_and_fir_round_trip() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(5),
    );
    // B knows no remote stream yet: a clear error.
    assert!(p
        .b
        .request_keyframe(tid(VIDEO), KeyframeRequestKind::Pli)
        .is_err());
    p.send(VIDEO, vp8_frames()[0].clone(), 0);
    p.run(Duration::from_millis(200));
    p.b.request_keyframe(tid(VIDEO), KeyframeRequestKind::Pli)
        .unwrap();
    p.run(Duration::from_millis(20));
    p.b.request_keyframe(tid(VIDEO), KeyframeRequestKind::Fir)
        .unwrap();
    p.run(Duration::from_millis(20));
    p.b.request_keyframe(tid(VIDEO), KeyframeRequestKind::Fir)
        .unwrap();
    p.run(Duration::from_millis(20));
    let requests: Vec<_> = p
        .events_a
        .iter()
        .filter_map(|e| match e {
            Event::KeyframeRequest { transceiver, kind } => Some((*transceiver, *kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        [
            (tid(VIDEO), KeyframeRequestKind::Pli),
            (tid(VIDEO), KeyframeRequestKind::Fir),
            (tid(VIDEO), KeyframeRequestKind::Fir),
        ]
    );
    let out = stats_of(&p.a)
        .into_iter()
        .find_map(|s| match s {
            Stats::OutboundRtp(r) if r.ssrc == 0xA000 => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!((out.pli_count, out.fir_count), (Some(1), Some(2)));
}

#[test]
fn wrong_calls_are_clear_errors() {
    let mut p = Pair::new(SrtpProfile::AeadAes128Gcm, MediaMode::Frame, Duration::ZERO);
    let now = p.now;
    let frame = |pt| OutgoingFrame {
        payload_type: pt,
        ..out_frame(Bytes::from_static(&[0xf8, 1, 2]), 0, now)
    };
    let e = p.a.write_frame(p.now, tid(9), frame(None)).unwrap_err();
    assert!(e.to_string().contains("no negotiated media section"), "{e}");
    let e =
        p.a.write_frame(p.now, tid(AUDIO), frame(Some(96)))
            .unwrap_err();
    assert!(
        e.to_string().contains("payload type 96 was not negotiated"),
        "{e}"
    );
    let e =
        p.a.write_rtp(p.now, tid(AUDIO), RtpPacket::default())
            .unwrap_err();
    assert!(e.to_string().contains("use write_frame"), "{e}");
    // Not connected yet.
    let mut fresh = MediaEngine::new();
    fresh.apply(&sections(1, MediaMode::Frame));
    let e = fresh
        .write_frame(p.now, tid(AUDIO), frame(None))
        .unwrap_err();
    assert!(e.to_string().contains("DTLS"), "{e}");
    // Receive-only: not sending.
    let mut recv_only = sections(1, MediaMode::Frame);
    recv_only[1].direction = Direction::RecvOnly;
    p.a.apply(&recv_only);
    let e = p.a.write_frame(p.now, tid(AUDIO), frame(None)).unwrap_err();
    assert!(e.to_string().contains("does not send"), "{e}");
    // Nothing was queued by any of these.
    assert!(p.a.poll_transmit().is_none());
}

#[test]
fn rtp_mode_delivers_packets_with_app_fields_kept() {
    let mut p = Pair::new(
        SrtpProfile::Aes128CmSha1_80,
        MediaMode::Rtp,
        Duration::from_millis(5),
    );
    for i in 0..20u16 {
        let pkt = RtpPacket {
            header: RtpHeader {
                marker: i % 5 == 4,
                payload_type: 96,
                sequence_number: 40_000u16.wrapping_add(i * 1000),
                timestamp: 7_000 + u32::from(i) * 3000,
                ssrc: 0xdead, // replaced by ours
                ..Default::default()
            },
            payload: Bytes::from(vec![i as u8; 100 + usize::from(i)]),
            padding: 0,
        };
        p.a.write_rtp(p.now, tid(VIDEO), pkt).unwrap();
        p.run(Duration::from_millis(10));
    }
    let got: Vec<&RtpPacket> = p
        .events_b
        .iter()
        .filter_map(|e| match e {
            Event::Rtp {
                transceiver,
                packet,
            } if *transceiver == tid(VIDEO) => Some(packet),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 20);
    for (i, g) in got.iter().enumerate() {
        let i = i as u16;
        assert_eq!(g.header.ssrc, 0xA000);
        assert_eq!(g.header.sequence_number, 40_000u16.wrapping_add(i * 1000));
        assert_eq!(g.header.timestamp, 7_000 + u32::from(i) * 3000);
        assert_eq!(g.header.marker, i % 5 == 4);
        assert_eq!(&g.payload[..], &vec![i as u8; 100 + usize::from(i)][..]);
        // Our MID extension is on it.
        let ext = extensions().read(g.header.extensions.as_ref().unwrap());
        assert_eq!(ext.mid.unwrap().as_str(), Some("v"));
    }
}

#[test]
fn hostile_input_is_counted_and_other_streams_keep_flowing() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(5),
    );
    let opus = opus_packets();
    for (i, f) in opus.iter().take(5).enumerate() {
        p.send(AUDIO, f.clone(), 960 * i as u32);
    }
    p.run(Duration::from_millis(300));
    assert_eq!(p.frames_b(AUDIO).len(), 5);

    // 1. Wrong key: an engine keyed with other material, same sections.
    let mut wrong = MediaEngine::with_config(MediaConfig::default(), 3);
    wrong.apply(&sections(0xA000, MediaMode::Frame));
    let k = keying(SrtpProfile::AeadAes128Gcm, 99);
    wrong.start_srtp(p.now, &k, Role::Client, 4).unwrap();
    wrong
        .write_frame(p.now, tid(AUDIO), out_frame(opus[0].clone(), 0, p.now))
        .unwrap();
    let mut n_wrong = 0;
    while let Some(d) = wrong.poll_transmit() {
        p.b.handle_datagram(p.now, d);
        n_wrong += 1;
    }
    assert_eq!(p.b.drops().auth_failed, n_wrong);

    // 2. Replays of everything A sent so far.
    let replays = p.sent_by_a.clone();
    for d in &replays {
        p.b.handle_datagram(p.now, d.clone());
    }
    assert_eq!(p.b.drops().replayed, replays.len() as u64);

    // 3. Genuine SRTP (A's keys) for a MID and an SSRC nobody has: a sender for mid "zz".
    let mut stranger = MediaEngine::with_config(MediaConfig::default(), 5);
    let mut s = sections(0xC000, MediaMode::Frame);
    s[1].mid = "zz".into();
    stranger.apply(&s);
    let k = keying(SrtpProfile::AeadAes128Gcm, 7);
    stranger.start_srtp(p.now, &k, Role::Client, 6).unwrap();
    stranger
        .write_frame(p.now, tid(AUDIO), out_frame(opus[0].clone(), 0, p.now))
        .unwrap();
    while let Some(d) = stranger.poll_transmit() {
        p.b.handle_datagram(p.now, d);
    }
    assert_eq!(p.b.drops().unrouted, 1);
    assert_eq!(
        p.b.router()
            .drops(ferrtc_peerconnection::media::router::DropReason::UnknownMid),
        1
    );

    // 4. RTCP garbage, unauthenticated, and too short.
    for g in [
        vec![
            0x80, 200, 0, 1, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
        ],
        vec![0x80, 201],
        vec![0x80],
        vec![],
    ] {
        p.b.handle_datagram(p.now, Bytes::from(g));
    }
    let d = p.b.drops();
    assert_eq!(d.auth_failed + d.srtp_other, n_wrong + 4, "{d:?}");

    // Nothing of that disturbed A's audio.
    for (i, f) in opus.iter().enumerate().skip(5).take(5) {
        p.send(AUDIO, f.clone(), 960 * i as u32);
    }
    p.run(Duration::from_millis(300));
    let got = p.frames_b(AUDIO);
    assert_eq!(got.len(), 10);
    for (g, sent) in got.iter().zip(&opus) {
        assert_eq!(&g.data[..], &sent[..]);
    }
    assert!(got.iter().skip(1).all(|f| f.contiguous));
}

#[test]
fn apply_is_idempotent_and_removal_sends_bye() {
    let mut p = Pair::new(
        SrtpProfile::AeadAes128Gcm,
        MediaMode::Frame,
        Duration::from_millis(5),
    );
    let opus = opus_packets();
    p.send(AUDIO, opus[0].clone(), 0);
    p.run(Duration::from_millis(200));
    // Same list again: nothing changes, nothing is sent.
    p.a.apply(&sections(0xA000, MediaMode::Frame));
    assert!(p.a.poll_transmit().is_none());
    p.send(AUDIO, opus[1].clone(), 960);
    p.run(Duration::from_millis(200));
    let got = p.frames_b(AUDIO);
    assert_eq!(got.len(), 2);
    assert!(
        got[1].contiguous,
        "the stream continued across the re-apply"
    );
    // Audio removed at A: a BYE tells B, which forgets the stream.
    let mut without_audio = sections(0xA000, MediaMode::Frame);
    without_audio.remove(1);
    p.a.apply(&without_audio);
    assert!(p.b.receive_streams().get(0xA001).is_some());
    p.run(Duration::from_millis(50));
    assert!(p.b.receive_streams().get(0xA001).is_none());
    let e =
        p.a.write_frame(p.now, tid(AUDIO), out_frame(opus[2].clone(), 1920, p.now));
    assert!(e.is_err());
}
