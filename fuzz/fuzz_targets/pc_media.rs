//! Media into a CONNECTED peer connection (issue 13 "Bad input", issue 16): two sans-IO
//! PeerConnections A (the target) and B, each with a VP8/H.264/... video and an Opus audio
//! transceiver, negotiate, connect over ICE on a virtual clock, and the fuzzer then drives
//! remote SDP, SRTP-protected RTP and SRTCP, raw datagrams and time into A.
//!
//! Keys: a PeerConnection does not reveal its SRTP keys, so B's DTLS is played by a plain
//! `ferrtc_dtls::Dtls` endpoint ("M") holding B's certificate (the fingerprint B's answer
//! announces). A cannot tell the difference; M gives us the DTLS-SRTP keying material. B's
//! media is then sent by a `MediaEngine` ("FB") applied with B's own negotiated sections and
//! keyed with M's material (B's sender path), and the fuzzer's own RTP/RTCP is protected with
//! an SRTP context keyed the same way, so it reaches A's RTP/RTCP parsers, router,
//! depacketizers and frame buffers, not just the authentication check. B the PeerConnection
//! still answers ICE (its own DTLS datagrams are dropped on the wire).
//!
//! Setup per input (a PeerConnection is not `Clone`): certificates once per process,
//! everything else per input.
//!
//! Input: a sequence of operations `[op, fields..]` (fields read as big-endian numbers and
//! length-prefixed byte strings; a short input reads zeros). `op % 8`:
//! 0. a remote re-offer: B's `create_offer` text with line mutations (delete, duplicate,
//!    replace or insert rtpmap/fmtp with impossible parameters, extmap ids out of range or
//!    duplicated, ssrc / ssrc-group lines, mids, directions, BUNDLE groups, rids, rtcp-fb,
//!    m-lines, arbitrary attributes), A applies it and answers;
//! 1. a remote answer: A re-offers, B answers, the answer is mutated the same way; A rolls
//!    back when it refuses it;
//! 2. an RTP packet from fuzz fields (SSRC known or not, payload type, seq, ts, marker,
//!    CSRCs, header extensions including mid/rid/repaired-rid with A's negotiated ids,
//!    payload) protected with the right key; optionally with a broken tag or replayed;
//! 3. raw bytes into A's receive path, from B's address or a stranger's;
//! 4. an RTCP compound from fuzz fields (SR, RR, SDES, BYE, PLI, FIR, NACK, TWCC, REMB, raw
//!    items) protected with the right key (or not);
//! 5. time: advance the virtual clock (total fuzz time at most 20 s);
//! 6. legitimate traffic: B's Opus packet, A's own frames (so NACK/PLI/FIR reach a sender
//!    with history), A's keyframe request;
//! 7. a replay of a legitimate SRTP/SRTCP datagram FB sent earlier.
//!
//! Checks: no panic; per operation A's transmits and events stay bounded and the virtual
//! world settles (no busy timer); when no mutated description was accepted, one good VP8 key
//! frame from B still arrives at A byte for byte after the sequence (hostile input never
//! disturbs the other stream), and the setup frame arrived too.
//!
//! `PC_MEDIA_TRACE=1` prints each operation and what A did.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use ferrtc_dtls::{Dtls, Event as DtlsEvent, Role as DtlsRole, SrtpKeyingMaterial};
use ferrtc_peerconnection::media::{MediaConfig, MediaEngine, NegotiatedMedia};
use ferrtc_peerconnection::{
    Configuration, Datagram, Event, MediaKind, OfferOptions, OutgoingFrame, Output, PeerConnection,
    PeerConnectionState, RtcSessionDescription, SdpType, TransceiverId, TransceiverInit,
};
use ferrtc_rtp::{Csrcs, ExtensionKind, ExtensionsBuilder, RtpHeader, RtpPacket};
use ferrtc_srtp::{Context as SrtpContext, ProtectionProfile};
use libfuzzer_sys::fuzz_target;

const A_ADDR: &str = "10.0.0.1:40000";
const B_ADDR: &str = "10.0.0.2:50000";
const STRANGER: &str = "10.9.9.9:9999";
/// Operations per input.
const MAX_OPS: usize = 48;
/// Virtual time the operations may spend in total (A's consent to B stays fresh).
const MAX_FUZZ_TIME: Duration = Duration::from_secs(20);
/// Transmits or events of A in one operation (one datagram, or a time step).
const OUTPUT_BOUND: usize = 2048;
/// Deliveries and timer firings before the virtual world must have settled.
const SETTLE_BOUND: usize = 200_000;

static KEYFRAME: &[u8] = include_bytes!("common/vp8_keyframe.bin");

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn trace() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::env::var_os("PC_MEDIA_TRACE").is_some())
}

struct Rng(u64);
impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        for x in d {
            *x = self.next_u64() as u8;
        }
    }
}

struct Certs {
    a: Configuration,
    b: Configuration,
}

fn certs() -> &'static Certs {
    static C: OnceLock<Certs> = OnceLock::new();
    C.get_or_init(|| {
        let gen = || {
            let c = ferrtc_dtls::Certificate::generate(
                ferrtc_dtls::KeyType::EcdsaP256,
                SystemTime::now(),
            )
            .unwrap();
            Configuration::new(c).unwrap()
        };
        Certs { a: gen(), b: gen() }
    })
}

/// Reads the fuzz input; past its end every read gives zeros.
struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b
    }
    /// A length byte, then that many bytes.
    fn blob(&mut self) -> Vec<u8> {
        let n = usize::from(self.u8());
        self.bytes(n).to_vec()
    }
    /// A length byte, then that many bytes mapped to SDP-safe printable text.
    fn token(&mut self) -> String {
        self.blob()
            .into_iter()
            .map(|b| {
                let c = b % 95 + 32;
                if c == b' ' && b & 0x80 == 0 {
                    '-'
                } else {
                    char::from(c)
                }
            })
            .collect()
    }
}

/// A peer: what its transceivers are, from its own side.
#[derive(Clone, Copy)]
struct Tids {
    video: TransceiverId,
    audio: TransceiverId,
}

struct World {
    now: Instant,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    a: PeerConnection,
    b: PeerConnection,
    /// B's DTLS, played by us.
    m: Dtls,
    m_role: DtlsRole,
    /// B's media, keyed from M.
    fb: Option<MediaEngine>,
    /// Our own SRTP context protecting as B (the fuzzer's packets).
    tx: Option<SrtpContext>,
    /// A context unprotecting what A sends, to learn its sequence numbers (NACKs that hit).
    a_rx: Option<SrtpContext>,
    /// A's last RTP sequence number per SSRC.
    a_last_seq: Vec<(u32, u16)>,
    a_tids: Tids,
    b_tids: Tids,
    /// A's frames received on its video transceiver.
    a_video_frames: Vec<Bytes>,
    /// Per operation: A's transmits and events.
    a_transmits: usize,
    a_events: usize,
    /// Legitimate datagrams FB sent (for replays), a bounded ring.
    fb_sent: VecDeque<Bytes>,
    /// The fuzzer sent an authenticated packet with a video RTX payload type.
    rtx_injected: bool,
}

impl World {
    /// Moves every datagram and event until nothing moves.
    fn settle(&mut self) {
        let mut budget = SETTLE_BOUND;
        loop {
            let mut moved = false;
            // A's outputs.
            loop {
                match self.a.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        self.a_transmits += 1;
                        if t.destination != self.b_addr {
                            continue;
                        }
                        let first = t.contents.first().copied().unwrap_or(0);
                        match first {
                            // RFC 7983: STUN to B.
                            0..=3 => {
                                let _ = self.b.handle_receive(
                                    self.now,
                                    Datagram {
                                        source: t.source,
                                        destination: self.b_addr,
                                        contents: t.contents,
                                    },
                                );
                            }
                            // DTLS to M.
                            20..=63 => {
                                let _ = self.m.handle_receive(self.now, t.contents);
                            }
                            // SRTP/SRTCP to FB.
                            128..=191 => {
                                self.learn_seq(&t.contents);
                                if let Some(fb) = self.fb.as_mut() {
                                    fb.handle_datagram(self.now, t.contents);
                                }
                            }
                            _ => {}
                        }
                    }
                    Output::Event(e) => {
                        moved = true;
                        self.a_events += 1;
                        if trace() {
                            eprintln!(
                                "A event: {}",
                                format!("{e:?}").chars().take(160).collect::<String>()
                            );
                        }
                        if let Event::Frame(f) = e {
                            if f.transceiver == self.a_tids.video {
                                self.a_video_frames.push(f.data);
                            }
                        }
                    }
                    Output::Timeout(_) => break,
                }
                budget = budget
                    .checked_sub(1)
                    .expect("A floods: the world never settles");
            }
            // B's: STUN to A; its own DTLS is dropped (M plays it).
            loop {
                match self.b.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        let first = t.contents.first().copied().unwrap_or(0);
                        if !(20..=63).contains(&first) {
                            self.to_a(self.b_addr, t.contents);
                        }
                    }
                    Output::Event(_) => moved = true,
                    Output::Timeout(_) => break,
                }
                budget = budget.checked_sub(1).expect("B floods");
            }
            while let Some(d) = self.m.poll_transmit() {
                moved = true;
                self.to_a(self.b_addr, d);
                budget = budget.checked_sub(1).expect("M floods");
            }
            while let Some(e) = self.m.poll_event() {
                moved = true;
                if let DtlsEvent::Connected { srtp: Some(k), .. } = e {
                    self.key(&k);
                }
            }
            if let Some(fb) = self.fb.as_mut() {
                while let Some(d) = fb.poll_transmit() {
                    moved = true;
                    if self.fb_sent.len() == 64 {
                        self.fb_sent.pop_front();
                    }
                    self.fb_sent.push_back(d.clone());
                    let _ = self.a.handle_receive(
                        self.now,
                        Datagram {
                            source: self.b_addr,
                            destination: self.a_addr,
                            contents: d,
                        },
                    );
                    budget = budget.checked_sub(1).expect("FB floods");
                }
                while fb.poll_event().is_some() {}
            }
            if !moved {
                break;
            }
        }
    }

    fn to_a(&mut self, from: SocketAddr, contents: Bytes) {
        let _ = self.a.handle_receive(
            self.now,
            Datagram {
                source: from,
                destination: self.a_addr,
                contents,
            },
        );
    }

    /// M connected: key FB (B's negotiated sections, B's DTLS role) and our own context.
    fn key(&mut self, k: &SrtpKeyingMaterial) {
        let mut fb = MediaEngine::with_config(MediaConfig::default(), 7);
        fb.apply(&self.b.negotiated_media());
        fb.start_srtp(self.now, k, self.m_role, 9).unwrap();
        fb.set_wallclock(self.now, Duration::from_secs(1_700_000_000));
        let profile = ProtectionProfile::from_dtls_id(k.profile.id()).unwrap();
        let client = (&k.client_key, &k.client_salt);
        let server = (&k.server_key, &k.server_salt);
        let (ours, theirs) = match self.m_role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        let ctx = |(key, salt): (&Vec<u8>, &Vec<u8>)| {
            SrtpContext::new(profile, key, salt, ferrtc_srtp::Config::default()).unwrap()
        };
        self.tx = Some(ctx(ours));
        self.a_rx = Some(ctx(theirs));
        self.fb = Some(fb);
    }

    /// Notes the sequence number of an SRTP packet A sent (RFC 5761 §4: RTCP has a packet
    /// type in 192..=223 where RTP has marker + payload type).
    fn learn_seq(&mut self, d: &Bytes) {
        if d.len() < 12 || (192..=223).contains(&d[1]) {
            return;
        }
        let Some(rx) = self.a_rx.as_mut() else {
            return;
        };
        let mut buf = BytesMut::from(&d[..]);
        if rx.unprotect_rtp(&mut buf).is_err() {
            return;
        }
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        match self.a_last_seq.iter_mut().find(|(s, _)| *s == ssrc) {
            Some(e) => e.1 = seq,
            None => self.a_last_seq.push((ssrc, seq)),
        }
    }

    /// A sequence number near what A last sent on `ssrc` (`back` behind it).
    fn a_seq(&self, ssrc: u32, back: u16) -> u16 {
        self.a_last_seq
            .iter()
            .find(|(s, _)| *s == ssrc)
            .map_or(0, |(_, q)| q.wrapping_sub(back))
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.m.poll_timeout(),
            self.fb.as_ref().and_then(MediaEngine::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn fire(&mut self) {
        let now = self.now;
        self.a.handle_timeout(now);
        self.b.handle_timeout(now);
        if self.m.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.m.handle_timeout(now);
        }
        if let Some(fb) = self.fb.as_mut() {
            if fb.poll_timeout().is_some_and(|t| t <= now) {
                fb.handle_timeout(now);
            }
        }
        self.settle();
    }

    /// Runs the virtual world until `until`, firing every timer on the way.
    fn advance(&mut self, d: Duration) {
        self.settle();
        let until = self.now + d;
        let mut steps = 0usize;
        while let Some(t) = self.next_deadline() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.fire();
            steps += 1;
            assert!(steps < 50_000, "a timer keeps firing without advancing");
        }
        self.now = until;
        self.fire();
    }

    /// Runs until `done` (checked at every timer), at most `limit` of virtual time.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&World) -> bool) -> bool {
        let until = self.now + limit;
        self.settle();
        while !done(self) {
            let Some(t) = self.next_deadline() else {
                return false;
            };
            if t > until {
                return false;
            }
            self.now = self.now.max(t);
            self.fire();
        }
        true
    }
}

fn tids(pc: &PeerConnection) -> Tids {
    let find = |k: MediaKind| {
        pc.transceivers()
            .into_iter()
            .find(|t| t.kind == k)
            .map(|t| t.id)
            .unwrap()
    };
    Tids {
        video: find(MediaKind::Video),
        audio: find(MediaKind::Audio),
    }
}

fn setup(now: Instant) -> World {
    let c = certs();
    let (a_addr, b_addr) = (sa(A_ADDR), sa(B_ADDR));
    let mk = |cfg: &Configuration, addr: SocketAddr, seed: u64| {
        let mut pc = PeerConnection::new(cfg.clone(), now, &mut Rng(seed)).unwrap();
        pc.add_local_interface(now, addr).unwrap();
        pc.end_of_local_interfaces(now);
        pc.set_wallclock(now, SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
        for k in [MediaKind::Video, MediaKind::Audio] {
            pc.add_transceiver(k, TransceiverInit::default()).unwrap();
        }
        pc
    };
    let mut a = mk(&c.a, a_addr, 1);
    let mut b = mk(&c.b, b_addr, 2);
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(now, answer).unwrap();
    let answer = b.local_description().unwrap();
    a.set_remote_description(now, answer.clone()).unwrap();
    // JSEP: the answerer is active (DTLS client) unless it says passive.
    let m_role = if answer.sdp.contains("a=setup:passive") {
        DtlsRole::Server
    } else {
        DtlsRole::Client
    };
    let m = Dtls::new(&c.b.dtls, m_role, Some(a.local_fingerprint().unwrap()), now).unwrap();
    let (a_tids, b_tids) = (tids(&a), tids(&b));
    World {
        now,
        a_addr,
        b_addr,
        a,
        b,
        m,
        m_role,
        fb: None,
        tx: None,
        a_rx: None,
        a_last_seq: Vec::new(),
        a_tids,
        b_tids,
        a_video_frames: Vec::new(),
        a_transmits: 0,
        a_events: 0,
        fb_sent: VecDeque::new(),
        rtx_injected: false,
    }
}

// ----- SDP mutations -----

const CODECS: &[&str] = &[
    "VP8/90000",
    "VP9/90000",
    "H264/90000",
    "AV1/90000",
    "opus/48000/2",
    "opus/48000/9",
    "rtx/90000",
    "red/90000",
    "red/48000/2",
    "ulpfec/90000",
    "PCMU/8000",
    "H265/90000",
    "VP8/0",
    "opus/4294967295/65535",
];

const FMTPS: &[&str] = &[
    "apt=",
    "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
    "profile-level-id=zzzzzz;packetization-mode=7",
    "profile-level-id=640c1f;packetization-mode=0",
    "profile-id=9",
    "profile=3",
    "minptime=0;useinbandfec=1;maxplaybackrate=0;stereo=2;maxaveragebitrate=4294967296",
    "111/111",
    "apt=96;rtx-time=4294967295",
    "x-google-start-bitrate=-1",
    ";;;=;",
];

const URIS: &[&str] = &[
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "urn:3gpp:video-orientation",
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension",
    "urn:example:unknown",
];

const FEEDBACK: &[&str] = &[
    "nack",
    "nack pli",
    "ccm fir",
    "goog-remb",
    "transport-cc",
    "x",
];
const DIRECTIONS: &[&str] = &["sendrecv", "sendonly", "recvonly", "inactive"];
const MIDS: &[&str] = &["0", "1", "2", "", "video", "0 1 0", "1 0"];

fn template(inp: &mut Input<'_>) -> String {
    let pt = inp.u8();
    match inp.u8() % 16 {
        0 => {
            let c = CODECS[usize::from(inp.u8()) % CODECS.len()];
            format!("a=rtpmap:{pt} {c}")
        }
        1 => {
            let f = FMTPS[usize::from(inp.u8()) % FMTPS.len()];
            let extra = if f == "apt=" {
                inp.u8().to_string()
            } else {
                String::new()
            };
            format!("a=fmtp:{pt} {f}{extra}")
        }
        2 => format!("a=fmtp:{pt} {}", inp.token()),
        3 => {
            let id = inp.u8();
            let u = URIS[usize::from(inp.u8()) % URIS.len()];
            format!("a=extmap:{id} {u}")
        }
        4 => {
            let id = inp.u8();
            let d = DIRECTIONS[usize::from(inp.u8()) % DIRECTIONS.len()];
            let u = URIS[usize::from(inp.u8()) % URIS.len()];
            format!("a=extmap:{id}/{d} {u}")
        }
        5 => format!("a=ssrc:{} cname:{}", inp.u32(), inp.token()),
        6 => format!("a=ssrc-group:FID {} {}", inp.u32(), inp.u32()),
        7 => {
            let m = MIDS[usize::from(inp.u8()) % MIDS.len()];
            format!("a=mid:{m}")
        }
        8 => format!("a={}", DIRECTIONS[usize::from(inp.u8()) % DIRECTIONS.len()]),
        9 => {
            let m = MIDS[usize::from(inp.u8()) % MIDS.len()];
            format!("a=group:BUNDLE {m}")
        }
        10 => format!(
            "a=rid:{} {}",
            inp.token(),
            if pt & 1 == 0 { "send" } else { "recv" }
        ),
        11 => format!("a=simulcast:send {}", inp.token()),
        12 => {
            let f = FEEDBACK[usize::from(inp.u8()) % FEEDBACK.len()];
            format!("a=rtcp-fb:{pt} {f}")
        }
        13 => {
            let kind = if pt & 1 == 0 { "video" } else { "audio" };
            let port = if pt & 2 == 0 { 9 } else { 0 };
            let n = usize::from(inp.u8() % 6);
            let pts: Vec<String> = (0..n).map(|_| inp.u8().to_string()).collect();
            format!("m={kind} {port} UDP/TLS/RTP/SAVPF {}", pts.join(" "))
        }
        14 => format!("a=msid:{} {}", inp.token(), inp.token()),
        _ => format!("a={}", inp.token()),
    }
}

/// Mutates SDP text line by line; returns the text and whether anything changed.
fn mutate(sdp: &str, inp: &mut Input<'_>) -> (String, bool) {
    let mut lines: Vec<String> = sdp.lines().map(str::to_owned).collect();
    let n = usize::from(inp.u8() % 8);
    let mut changed = false;
    for _ in 0..n {
        if lines.is_empty() {
            break;
        }
        let at = usize::from(inp.u16()) % lines.len();
        match inp.u8() % 4 {
            0 => {
                lines.remove(at);
            }
            1 => {
                let l = lines[at].clone();
                lines.insert(at, l);
            }
            2 => lines[at] = template(inp),
            _ => lines.insert(at + 1, template(inp)),
        }
        changed = true;
    }
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    (out, changed)
}

// ----- RTP and RTCP from fuzz fields -----

const EXT_KINDS: [ExtensionKind; 10] = [
    ExtensionKind::AbsSendTime,
    ExtensionKind::TransportCc01,
    ExtensionKind::TransportCc02,
    ExtensionKind::Mid,
    ExtensionKind::RtpStreamId,
    ExtensionKind::RepairedRtpStreamId,
    ExtensionKind::AudioLevel,
    ExtensionKind::VideoOrientation,
    ExtensionKind::PlayoutDelay,
    ExtensionKind::AbsCaptureTime,
];

/// SSRCs the operations pick from.
struct Ssrcs {
    /// B's (FB's) sources: audio, audio RTX.
    b_audio: u32,
    /// B's video source and its RTX: the stream the final check watches. Fuzz RTP and BYE
    /// never use them (an authenticated peer may legitimately break its own stream).
    b_video: u32,
    b_video_rtx: Option<u32>,
    /// A's senders (media SSRCs of feedback).
    a_video: u32,
    a_audio: u32,
    a_video_rtx: Option<u32>,
}

impl Ssrcs {
    fn of(w: &World) -> Self {
        let find = |list: &[NegotiatedMedia], k: MediaKind| {
            list.iter()
                .find(|n| n.kind == k)
                .map(|n| (n.local_ssrc, n.local_rtx_ssrc))
                .unwrap_or((0, None))
        };
        let (b, a) = (w.b.negotiated_media(), w.a.negotiated_media());
        Ssrcs {
            b_audio: find(&b, MediaKind::Audio).0,
            b_video: find(&b, MediaKind::Video).0,
            b_video_rtx: find(&b, MediaKind::Video).1,
            a_video: find(&a, MediaKind::Video).0,
            a_audio: find(&a, MediaKind::Audio).0,
            a_video_rtx: find(&a, MediaKind::Video).1,
        }
    }

    fn pick(&self, inp: &mut Input<'_>) -> u32 {
        match inp.u8() % 8 {
            0 | 1 => self.b_audio,
            2 => self.b_video,
            3 => self.a_video,
            4 => self.a_audio,
            5 => self.a_video_rtx.unwrap_or(1),
            _ => inp.u32(),
        }
    }

    /// Never the watched video stream.
    fn not_watched(&self, ssrc: u32) -> u32 {
        if ssrc == self.b_video || Some(ssrc) == self.b_video_rtx {
            ssrc ^ 0x5a5a_0001
        } else {
            ssrc
        }
    }
}

fn rtp_op(w: &mut World, s: &Ssrcs, inp: &mut Input<'_>) -> Option<Bytes> {
    let flags = inp.u8();
    let ssrc = s.not_watched(s.pick(inp));
    // Payload types: one negotiated in A's sections (any codec, its RTX) or raw.
    let negotiated: Vec<u8> =
        w.a.negotiated_media()
            .iter()
            .flat_map(|n| n.codecs.iter())
            .flat_map(|c| [Some(c.payload_type), c.rtx_payload_type])
            .flatten()
            .collect();
    let sel = inp.u8();
    let pt = if sel & 0x80 == 0 && !negotiated.is_empty() {
        negotiated[usize::from(sel) % negotiated.len()]
    } else {
        sel & 0x7f
    };
    let seq = inp.u16();
    let ts = inp.u32();
    let ncsrc = usize::from(inp.u8() % 4);
    let csrcs: Vec<u32> = (0..ncsrc).map(|_| inp.u32()).collect();
    let next = w.a.negotiated_media();
    let map = next.first().map(|n| n.extensions.clone());
    let mids: Vec<String> = next.iter().map(|n| n.mid.clone()).collect();
    let mut ext = ExtensionsBuilder::new();
    let nexts = usize::from(inp.u8() % 5);
    for _ in 0..nexts {
        let k = inp.u8();
        let kind = EXT_KINDS[usize::from(k) % EXT_KINDS.len()];
        let id = if k & 0x80 == 0 {
            map.as_ref().and_then(|m| m.id_of(kind)).unwrap_or(k & 0x0f)
        } else {
            inp.u8()
        };
        let value: Vec<u8> = if kind == ExtensionKind::Mid && k & 0x40 == 0 && !mids.is_empty() {
            mids[usize::from(inp.u8()) % mids.len()]
                .clone()
                .into_bytes()
        } else {
            inp.blob()
        };
        let _ = ext.push(id, &value);
    }
    let extensions = if nexts == 0 {
        None
    } else {
        ext.finish(flags & 2 != 0).ok()
    };
    let n = usize::from(inp.u16() % 1400);
    let payload = Bytes::copy_from_slice(inp.bytes(n));
    let packet = RtpPacket {
        header: RtpHeader {
            marker: flags & 1 != 0,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            csrcs: Csrcs::from_slice(&csrcs).unwrap_or_default(),
            extensions,
        },
        payload,
        padding: if flags & 4 != 0 { inp.u8() } else { 0 },
    };
    let mut buf = BytesMut::from(&packet.to_bytes()[..]);
    w.tx.as_mut()?.protect_rtp(&mut buf).ok()?;
    if flags & 8 != 0 {
        // A broken tag (or a flipped bit anywhere).
        let at = usize::from(inp.u16()) % buf.len();
        buf[at] ^= inp.u8() | 1;
    }
    let rtx_pts: Vec<u8> = next
        .iter()
        .filter(|n| n.kind == MediaKind::Video)
        .flat_map(|n| n.codecs.iter())
        .filter_map(|c| c.rtx_payload_type)
        .collect();
    if flags & 8 == 0 && rtx_pts.contains(&pt) {
        // RFC 4588 / RFC 8843 §9.2: an authenticated repair stream of the video section
        // (unsignaled, found by its MID or payload type) legitimately feeds the watched video
        // stream's packets, so the final check cannot hold.
        w.rtx_injected = true;
    }
    let d = buf.freeze();
    w.to_a(w.b_addr, d.clone());
    if flags & 16 != 0 {
        w.to_a(w.b_addr, d.clone()); // replayed at once
    }
    Some(d)
}

fn rtcp_header(out: &mut Vec<u8>, count: u8, pt: u8, body: &[u8]) {
    // RFC 3550 §6.4.1: length in 32-bit words minus one; the body is padded to a word.
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let words = (body.len() / 4) as u16;
    out.push(0x80 | (count & 0x1f));
    out.push(pt);
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&body);
}

fn report_blocks(inp: &mut Input<'_>, s: &Ssrcs, n: u8, body: &mut Vec<u8>) {
    for _ in 0..n {
        body.extend_from_slice(&s.pick(inp).to_be_bytes());
        body.extend_from_slice(&inp.u32().to_be_bytes()); // fraction lost, cumulative lost
        body.extend_from_slice(&inp.u32().to_be_bytes()); // extended highest seq
        body.extend_from_slice(&inp.u32().to_be_bytes()); // jitter
        body.extend_from_slice(&inp.u32().to_be_bytes()); // LSR
        body.extend_from_slice(&inp.u32().to_be_bytes()); // DLSR
    }
}

fn rtcp_op(w: &mut World, s: &Ssrcs, inp: &mut Input<'_>) {
    let flags = inp.u8();
    let items = 1 + usize::from(inp.u8() % 6);
    let mut out = Vec::new();
    for _ in 0..items {
        let start = out.len();
        let sender = s.pick(inp);
        let mut body = sender.to_be_bytes().to_vec();
        match inp.u8() % 10 {
            0 => {
                // SR (RFC 3550 §6.4.1).
                body.extend_from_slice(&inp.u64().to_be_bytes());
                for _ in 0..3 {
                    body.extend_from_slice(&inp.u32().to_be_bytes());
                }
                let n = inp.u8() % 4;
                report_blocks(inp, s, n, &mut body);
                rtcp_header(&mut out, n, 200, &body);
            }
            1 => {
                // RR.
                let n = inp.u8() % 4;
                report_blocks(inp, s, n, &mut body);
                rtcp_header(&mut out, n, 201, &body);
            }
            2 => {
                // SDES (§6.5): one chunk, items, an END.
                let n = inp.u8() % 4;
                for _ in 0..n {
                    body.push(inp.u8() % 9);
                    let v = inp.blob();
                    body.push(v.len() as u8);
                    body.extend_from_slice(&v);
                }
                body.push(0);
                rtcp_header(&mut out, 1, 202, &body);
            }
            3 => {
                // BYE (§6.6), never for the watched video stream.
                let n = inp.u8() % 3;
                body.clear();
                for _ in 0..=n {
                    body.extend_from_slice(&s.not_watched(s.pick(inp)).to_be_bytes());
                }
                let reason = inp.blob();
                if !reason.is_empty() {
                    body.push(reason.len() as u8);
                    body.extend_from_slice(&reason);
                }
                rtcp_header(&mut out, n + 1, 203, &body);
            }
            4 => {
                // PLI (RFC 4585 §6.3.1).
                body.extend_from_slice(&s.pick(inp).to_be_bytes());
                rtcp_header(&mut out, 1, 206, &body);
            }
            5 => {
                // FIR (RFC 5104 §4.3.1).
                body.extend_from_slice(&0u32.to_be_bytes());
                let n = 1 + inp.u8() % 3;
                for _ in 0..n {
                    body.extend_from_slice(&s.pick(inp).to_be_bytes());
                    body.extend_from_slice(&[inp.u8(), 0, 0, 0]);
                }
                rtcp_header(&mut out, 4, 206, &body);
            }
            6 => {
                // Generic NACK (RFC 4585 §6.2.1); a PID is raw, or a little behind what A
                // last sent on that SSRC (so the NACK hits the send history).
                let media = s.pick(inp);
                body.extend_from_slice(&media.to_be_bytes());
                let n = 1 + inp.u8() % 8;
                for _ in 0..n {
                    let pid = inp.u16();
                    let pid = if pid & 0x8000 != 0 {
                        w.a_seq(media, pid & 0x3f)
                    } else {
                        pid
                    };
                    body.extend_from_slice(&pid.to_be_bytes());
                    body.extend_from_slice(&inp.u16().to_be_bytes());
                }
                rtcp_header(&mut out, 1, 205, &body);
            }
            7 => {
                // transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
                // §3.1): base seq, status count, reference time, fb count, then chunks and
                // deltas from the fuzzer.
                body.extend_from_slice(&s.pick(inp).to_be_bytes());
                body.extend_from_slice(&inp.u16().to_be_bytes());
                body.extend_from_slice(&inp.u16().to_be_bytes());
                body.extend_from_slice(&inp.u32().to_be_bytes());
                let rest = inp.blob();
                body.extend_from_slice(&rest);
                rtcp_header(&mut out, 15, 205, &body);
            }
            8 => {
                // REMB (draft-alvestrand-rmcat-remb-03 §2.2).
                body.extend_from_slice(&0u32.to_be_bytes());
                body.extend_from_slice(b"REMB");
                let n = inp.u8() % 3;
                body.push(n);
                body.extend_from_slice(inp.bytes(3));
                for _ in 0..n {
                    body.extend_from_slice(&s.pick(inp).to_be_bytes());
                }
                rtcp_header(&mut out, 15, 206, &body);
            }
            _ => {
                // Raw: any count / packet type, body from the fuzzer.
                let count = inp.u8();
                let pt = inp.u8();
                body.extend_from_slice(&inp.blob());
                rtcp_header(&mut out, count, pt, &body);
            }
        }
        if flags & 1 != 0 {
            // A wrong length field (low byte) in this item.
            out[start + 3] ^= inp.u8();
        }
    }
    if flags & 2 != 0 {
        // Truncate the compound somewhere.
        let keep = usize::from(inp.u16()) % (out.len() + 1);
        out.truncate(keep.max(8).min(out.len()));
    }
    let mut buf = BytesMut::from(&out[..]);
    let protected = flags & 4 == 0
        && w.tx
            .as_mut()
            .map(|tx| tx.protect_rtcp(&mut buf).is_ok())
            .unwrap_or(false);
    if protected && flags & 8 != 0 {
        let at = usize::from(inp.u16()) % buf.len();
        buf[at] ^= inp.u8() | 1;
    }
    w.to_a(w.b_addr, buf.freeze());
}

fn sdp_op(w: &mut World, inp: &mut Input<'_>, remote_offer: bool) -> bool {
    let now = w.now;
    let mut accepted_change = false;
    if remote_offer {
        let Ok(offer) = w.b.create_offer(OfferOptions::default()) else {
            return false;
        };
        let (text, changed) = mutate(&offer.sdp, inp);
        if w.a
            .set_remote_description(
                now,
                RtcSessionDescription {
                    sdp_type: SdpType::Offer,
                    sdp: text,
                },
            )
            .is_ok()
        {
            accepted_change = changed;
            let answer =
                w.a.create_answer()
                    .expect("an accepted offer has an answer");
            answer
                .sdp
                .parse::<ferrtc_sdp::SessionDescription>()
                .expect("our answer parses");
            w.a.set_local_description(now, answer)
                .expect("our own answer applies");
        }
    } else {
        let Ok(offer) = w.a.create_offer(OfferOptions::default()) else {
            return false;
        };
        if w.a.set_local_description(now, offer.clone()).is_err() {
            return false;
        }
        let offer = w.a.local_description().unwrap_or(offer);
        let b_answer =
            w.b.set_remote_description(now, offer)
                .and_then(|()| w.b.create_answer());
        let Ok(answer) = b_answer else {
            let _ = w.a.set_local_description(now, rollback());
            return false;
        };
        let _ = w.b.set_local_description(now, answer.clone());
        let (text, changed) = mutate(&answer.sdp, inp);
        if w.a
            .set_remote_description(
                now,
                RtcSessionDescription {
                    sdp_type: SdpType::Answer,
                    sdp: text,
                },
            )
            .is_ok()
        {
            accepted_change = changed;
        } else {
            w.a.set_local_description(now, rollback())
                .expect("rollback of our own offer");
        }
    }
    accepted_change
}

fn rollback() -> RtcSessionDescription {
    RtcSessionDescription {
        sdp_type: SdpType::Rollback,
        sdp: String::new(),
    }
}

fn frame(data: &[u8], ts: u32, now: Instant) -> OutgoingFrame {
    OutgoingFrame {
        data: Bytes::copy_from_slice(data),
        rtp_timestamp: ts,
        capture_time: now,
        payload_type: None,
        audio_level: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut w = setup(t0);
    let connected = w.run_until(Duration::from_secs(10), |w| {
        w.a.connection_state() == PeerConnectionState::Connected && w.fb.is_some()
    });
    assert!(
        connected,
        "setup: A connects to B (ICE with B, DTLS with M)"
    );
    let s = Ssrcs::of(&w);
    let (bv, ba) = (w.b_tids.video, w.b_tids.audio);
    // One good key frame from B before anything hostile: the harness works.
    let now = w.now;
    w.fb.as_mut()
        .unwrap()
        .write_frame(now, bv, frame(KEYFRAME, 0, now))
        .unwrap();
    // The frame buffer's start-up delay (100 ms by default) holds the first frame.
    w.advance(Duration::from_millis(150));
    if trace() {
        eprintln!(
            "setup: A {:?}, {} frames, drops {:?}, streams {:?}, fb codecs {:?}",
            w.a.connection_state(),
            w.a_video_frames.len(),
            w.a.media_drops(),
            w.a.media_engine().map(|e| e.receive_streams()),
            w.b.negotiated_media()
                .first()
                .map(|n| n.codecs.first().cloned())
        );
    }
    assert!(
        w.a_video_frames.len() == 1 && w.a_video_frames[0].as_ref() == KEYFRAME,
        "setup: B's key frame arrives at A ({} frames)",
        w.a_video_frames.len()
    );
    let setup_time = w.now;

    let mut inp = Input(data);
    let mut sdp_changed = false;
    let mut ts = 0u32;
    let mut audio_ts = 0u32;
    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        w.a_transmits = 0;
        w.a_events = 0;
        let op = inp.u8();
        match op % 8 {
            0 | 1 => {
                let changed = sdp_op(&mut w, &mut inp, op % 8 == 0);
                if trace() {
                    eprintln!("sdp op: a mutated description accepted: {changed}");
                }
                sdp_changed |= changed;
            }
            2 => {
                let _ = rtp_op(&mut w, &s, &mut inp);
            }
            3 => {
                let from = if op & 0x80 == 0 {
                    w.b_addr
                } else {
                    sa(STRANGER)
                };
                let n = usize::from(inp.u16() % 1500);
                let d = Bytes::copy_from_slice(inp.bytes(n));
                w.to_a(from, d);
            }
            4 => rtcp_op(&mut w, &s, &mut inp),
            5 => {
                let ms = u64::from(inp.u16() % 5000);
                let left = MAX_FUZZ_TIME.saturating_sub(w.now - setup_time);
                w.advance(Duration::from_millis(ms).min(left));
            }
            6 => {
                let now = w.now;
                match inp.u8() % 4 {
                    0 => {
                        audio_ts = audio_ts.wrapping_add(960);
                        let len = usize::from(inp.u8());
                        let f = frame(inp.bytes(len), audio_ts, now);
                        let _ = w.fb.as_mut().unwrap().write_frame(now, ba, f);
                    }
                    1 => {
                        ts = ts.wrapping_add(3000);
                        let tid = w.a_tids.video;
                        let _ = w.a.write_frame(now, tid, frame(KEYFRAME, ts, now));
                    }
                    2 => {
                        let tid = w.a_tids.audio;
                        let _ = w.a.write_frame(now, tid, frame(&[0xfc, 1, 2, 3], ts, now));
                    }
                    _ => {
                        let tid = w.a_tids.video;
                        let kind = if inp.u8() & 1 == 0 {
                            ferrtc_peerconnection::KeyframeRequestKind::Pli
                        } else {
                            ferrtc_peerconnection::KeyframeRequestKind::Fir
                        };
                        let _ = w.a.request_keyframe(tid, kind);
                    }
                }
            }
            _ => {
                if !w.fb_sent.is_empty() {
                    let i = usize::from(inp.u8()) % w.fb_sent.len();
                    let d = w.fb_sent[i].clone();
                    w.to_a(w.b_addr, d);
                }
            }
        }
        w.settle();
        if trace() {
            eprintln!(
                "op {} -> A: {} transmits, {} events, state {:?}, drops {:?}",
                op % 8,
                w.a_transmits,
                w.a_events,
                w.a.connection_state(),
                w.a.media_drops()
            );
        }
        assert!(
            w.a_transmits <= OUTPUT_BOUND && w.a_events <= OUTPUT_BOUND,
            "op {}: A produced {} transmits and {} events",
            op % 8,
            w.a_transmits,
            w.a_events
        );
    }

    // The other stream keeps working: B's next key frame arrives byte for byte (unless the
    // fuzzer renegotiated something else into place).
    if !sdp_changed {
        assert_eq!(
            w.a.connection_state(),
            PeerConnectionState::Connected,
            "hostile media disconnected A"
        );
    }
    if !sdp_changed && !w.rtx_injected {
        let before = w.a_video_frames.len();
        let now = w.now;
        w.fb.as_mut()
            .unwrap()
            .write_frame(now, bv, frame(KEYFRAME, 90_000, now))
            .unwrap();
        w.advance(Duration::from_millis(200));
        assert!(
            w.a_video_frames
                .get(before..)
                .unwrap_or_default()
                .iter()
                .any(|f| f.as_ref() == KEYFRAME),
            "B's key frame after the hostile sequence did not arrive at A: {:?}",
            w.a.media_drops()
        );
    }
});
