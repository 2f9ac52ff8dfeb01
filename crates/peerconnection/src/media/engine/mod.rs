//! The media engine of one peer connection: SRTP/SRTCP contexts keyed from the DTLS-SRTP
//! exporter (RFC 5764 §4.2), senders (frame → packetizer → RTP → SRTP) and receivers (SRTP →
//! RTP → router → frame buffer or RTP events), RTCP reports and feedback, per-stream stats.
//!
//! Sans-IO like the rest: [`MediaEngine::handle_datagram`] takes SRTP/SRTCP datagrams (RFC
//! 7983 already demultiplexed them), [`MediaEngine::poll_transmit`] gives protected datagrams
//! to send over the selected pair, [`MediaEngine::poll_event`] gives frames, RTP packets and
//! keyframe requests, and [`MediaEngine::poll_timeout`] / [`MediaEngine::handle_timeout`]
//! drive the RTCP schedule and the frame buffers. The [`crate::PeerConnection`] wires it in;
//! an SFU may drive one directly.
//!
//! Bounded everywhere: SSRC bindings (router), receive streams, frame buffers per receiver and
//! their packets/bytes, queued events and datagrams. Bad input is counted in [`MediaDrops`]
//! and never disturbs another stream.
//!
//! This file holds the configuration, the struct, `apply` and the queues; the rest, one
//! concern per file: `receive.rs` (datagrams in, RTP routed and assembled, RTCP acted on),
//! `send.rs` (frames and RTP out, keyframe requests, BYE, close), `timers.rs` (frame buffer
//! deadlines, NACK retries, the RTCP report schedule).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{Role as DtlsRole, SrtpKeyingMaterial};
use ferrtc_media_codecs::frame_buffer::Config as FrameBufferConfig;
use ferrtc_rtp::{ExtensionKind, ExtensionMap};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tracing::debug;

use super::nack::{NackConfig, NackGenerator};
use super::negotiated::NegotiatedMedia;
use super::receive::Receiver;
use super::receiver::{ReceiveStreams, StreamsConfig};
use super::reports::ReportBuilder;
use super::router::{ReceiverId, Router, RouterConfig};
use super::rtcp_schedule::{RtcpScheduler, ScheduleConfig};
use super::sender::Sender;
pub use super::srtp_session::MediaDrops;
use super::srtp_session::SrtpSession;
use super::types::{MediaKind, ReceivedFrame, TransceiverId};
use super::{NtpTime, SsrcMap};
use crate::{Error, Event};

/// Limits and knobs of a [`MediaEngine`].
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Largest datagram the engine sends (SRTP tag included): the UDP payload size. 1200 keeps
    /// clear of IPv6 + TURN overheads on a 1280-byte path MTU, as browsers do.
    pub mtu: usize,
    /// Frame assembly limits (per remote SSRC).
    pub frame_buffer: FrameBufferConfig,
    /// SRTP replay windows and stream limits.
    pub srtp: ferrtc_srtp::Config,
    /// SSRC bindings of the router.
    pub router: RouterConfig,
    /// Receive streams (RFC 3550 statistics) kept.
    pub streams: StreamsConfig,
    /// Events kept for the application before the oldest are dropped.
    pub max_events: usize,
    /// Datagrams kept for the transport before new ones are dropped.
    pub max_transmits: usize,
    /// Session bandwidth for the RTCP interval (bits per second).
    pub session_bandwidth: u64,
    /// Generic NACK limits (where negotiated).
    pub nack: NackConfig,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            mtu: 1200,
            frame_buffer: FrameBufferConfig::default(),
            srtp: ferrtc_srtp::Config::default(),
            router: RouterConfig::default(),
            streams: StreamsConfig::default(),
            max_events: 4096,
            max_transmits: 4096,
            session_bandwidth: 2_000_000,
            nack: NackConfig::default(),
        }
    }
}

/// The last SR a remote source sent (getStats remote-outbound-rtp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteOutbound {
    /// Its NTP timestamp (the remote's wall clock).
    pub ntp: NtpTime,
    /// Packets the remote says it sent.
    pub packets_sent: u32,
    /// Payload octets the remote says it sent.
    pub octets_sent: u32,
    /// SRs received from it.
    pub reports_sent: u64,
    /// Which transceiver receives the source.
    pub transceiver: TransceiverId,
}

/// Senders, receivers and the SRTP session of one BUNDLE transport.
#[derive(Debug)]
pub struct MediaEngine {
    pub(crate) config: MediaConfig,
    rng: StdRng,
    srtp: Option<SrtpSession>,
    pub(crate) senders: Vec<Sender>,
    pub(crate) receivers: Vec<Receiver>,
    pub(crate) router: Router,
    pub(crate) streams: ReceiveStreams,
    extmap: ExtensionMap,
    reports: ReportBuilder,
    scheduler: Option<RtcpScheduler>,
    reporter_ssrc: u32,
    wallclock: Option<(Instant, Duration)>,
    twcc_seq: u16,
    transmits: VecDeque<Bytes>,
    events: VecDeque<Event>,
    pub(crate) drops: MediaDrops,
    pub(crate) remote_outbound: HashMap<u32, RemoteOutbound>,
    /// Last FIR sequence number seen per our SSRC (RFC 5104 §4.3.1.2: a repeated number is
    /// the same request).
    last_fir: HashMap<u32, u8>,
    /// Missing packets per remote media SSRC (receivers with NACK negotiated).
    nack_gens: SsrcMap<(TransceiverId, NackGenerator)>,
    /// Frames assembled by the packet being handled (kept to reuse its allocation).
    frame_scratch: Vec<ReceivedFrame>,
    /// Sections applied (kept to make `apply` idempotent).
    applied: Vec<NegotiatedMedia>,
    started: Option<Instant>,
    closed: bool,
}

impl Default for MediaEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl MediaEngine {
    /// An engine with nothing negotiated and default limits. Its random source is seeded when
    /// SRTP is keyed ([`MediaEngine::start_srtp`]), before any packet can leave.
    pub fn new() -> Self {
        Self::with_config(MediaConfig::default(), 0)
    }

    /// An engine with these limits and random seed.
    pub fn with_config(config: MediaConfig, seed: u64) -> Self {
        Self {
            router: Router::new(config.router),
            streams: ReceiveStreams::new(config.streams),
            config,
            rng: StdRng::seed_from_u64(seed),
            srtp: None,
            senders: Vec::new(),
            receivers: Vec::new(),
            extmap: ExtensionMap::new(),
            reports: ReportBuilder::new(Bytes::new(), false),
            scheduler: None,
            reporter_ssrc: 0,
            wallclock: None,
            twcc_seq: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            drops: MediaDrops::default(),
            remote_outbound: HashMap::new(),
            last_fir: HashMap::new(),
            nack_gens: SsrcMap::default(),
            frame_scratch: Vec::new(),
            applied: Vec::new(),
            started: None,
            closed: false,
        }
    }

    /// Makes senders and receivers match the negotiated sections (idempotent): new sections
    /// get a sender and a receiver, changed ones are updated (streams keep flowing), missing
    /// ones are removed (a BYE goes out for their SSRC once SRTP is up).
    pub fn apply(&mut self, negotiated: &[NegotiatedMedia]) {
        if negotiated == self.applied.as_slice() {
            return;
        }
        // Removed sections.
        let keep = |t: TransceiverId| negotiated.iter().any(|n| n.transceiver == t);
        let gone: Vec<u32> = self
            .senders
            .iter()
            .filter(|s| !keep(s.transceiver) && s.stats.packets_sent() > 0)
            .map(|s| s.ssrc)
            .collect();
        self.senders.retain(|s| keep(s.transceiver));
        for r in self.receivers.iter().filter(|r| !keep(r.transceiver)) {
            self.router
                .remove_receiver(ReceiverId(r.transceiver.index()));
        }
        self.receivers.retain(|r| keep(r.transceiver));
        if !gone.is_empty() && self.srtp.is_some() {
            self.send_bye(gone);
        }
        for n in negotiated {
            match self
                .senders
                .iter_mut()
                .find(|s| s.transceiver == n.transceiver)
            {
                Some(s) => s.update(n),
                None => self.senders.push(Sender::new(n)),
            }
            let r = match self
                .receivers
                .iter_mut()
                .position(|r| r.transceiver == n.transceiver)
            {
                Some(i) => {
                    let r = self.receivers.get_mut(i);
                    if let Some(r) = r {
                        r.update(n);
                    }
                    i
                }
                None => {
                    self.receivers.push(Receiver::new(n));
                    self.receivers.len() - 1
                }
            };
            let id = ReceiverId(n.transceiver.index());
            if let Some(r) = self.receivers.get(r) {
                if n.direction.receives() {
                    if let Err(e) = self.router.set_receiver(id, r.router_params()) {
                        debug!(error = %e, mid = n.mid, "media: receiver not routed");
                    }
                } else {
                    self.router.remove_receiver(id);
                }
            }
        }
        // One extension map for the transport: in a BUNDLE group an id means the same
        // extension in every section (RFC 8285 §6, RFC 8843 §9.1).
        let mut map = ExtensionMap::new();
        for n in negotiated {
            for k in ExtensionKind::ALL {
                if let Some(id) = n.extensions.id_of(k) {
                    if map.kind_of(id).is_none() {
                        let _ = map.insert(id, k.uri());
                    }
                }
            }
        }
        self.extmap = map;
        let cname = negotiated
            .first()
            .map(|n| n.cname.clone())
            .unwrap_or_default();
        let rsize = negotiated.iter().any(|n| n.rtcp_rsize);
        self.reports = ReportBuilder::new(Bytes::from(cname.into_bytes()), rsize);
        if let Some(s) = self.senders.first() {
            self.reporter_ssrc = s.ssrc;
        }
        self.applied = negotiated.to_vec();
    }

    /// Keys SRTP/SRTCP from the DTLS-SRTP keying material for our DTLS `role` and reseeds the
    /// engine's random source (initial sequence numbers, timestamp offsets, RTCP intervals).
    pub fn start_srtp(
        &mut self,
        now: Instant,
        keying: &SrtpKeyingMaterial,
        role: DtlsRole,
        seed: u64,
    ) -> Result<(), Error> {
        self.srtp = Some(SrtpSession::new(keying, role, &self.config.srtp)?);
        self.rng = StdRng::seed_from_u64(seed);
        if self.reporter_ssrc == 0 {
            self.reporter_ssrc = self.rng.next_u32() | 1;
        }
        let video =
            self.senders.iter().any(|s| s.kind == MediaKind::Video) || self.applied.is_empty();
        let rsize = self.reports.reduced_size;
        let cfg = ScheduleConfig::webrtc(self.config.session_bandwidth, video, rsize);
        self.scheduler = Some(RtcpScheduler::new(cfg, now, &mut self.rng));
        self.started = Some(now);
        debug!(profile = %keying.profile, "media: SRTP keyed");
        Ok(())
    }

    /// Whether any media section is negotiated (applied).
    pub fn has_media(&self) -> bool {
        !self.applied.is_empty()
    }

    /// Whether SRTP is keyed (DTLS connected with use_srtp).
    pub fn is_keyed(&self) -> bool {
        self.srtp.is_some()
    }

    /// Anchors wall-clock time: `since_unix_epoch` was the wall clock at `now`. SRs carry NTP
    /// times from it (without it, NTP times count from the Unix epoch at the engine's start:
    /// round trips still work, lip sync with other hosts does not).
    pub fn set_wallclock(&mut self, now: Instant, since_unix_epoch: Duration) {
        self.wallclock = Some((now, since_unix_epoch));
    }

    fn ntp_at(&self, now: Instant) -> NtpTime {
        match self.wallclock {
            Some((at, since)) => {
                let t = if now >= at {
                    since.saturating_add(now - at)
                } else {
                    since.saturating_sub(at - now)
                };
                NtpTime::from_unix(t)
            }
            None => {
                let base = self.started.unwrap_or(now);
                NtpTime::from_unix(now.saturating_duration_since(base))
            }
        }
    }

    /// What was dropped, by reason.
    pub fn drops(&self) -> MediaDrops {
        self.drops
    }

    /// The router (its per-reason drop counters).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The RFC 3550 receive statistics by remote SSRC.
    pub fn receive_streams(&self) -> &ReceiveStreams {
        &self.streams
    }

    /// Our senders.
    pub fn senders(&self) -> &[Sender] {
        &self.senders
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= self.config.max_events.max(1) {
            self.events.pop_front();
            self.drops.events_lost = self.drops.events_lost.saturating_add(1);
        }
        self.events.push_back(e);
    }

    /// Moves assembled frames to the events (`frames` is left empty, to be reused).
    fn push_frames(&mut self, frames: &mut Vec<ReceivedFrame>) {
        for f in frames.drain(..) {
            self.push_event(Event::Frame(f));
        }
    }

    /// The next protected datagram to send over the selected candidate pair.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// The next media event (frames, RTP packets, keyframe requests).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

mod receive;
mod send;
mod timers;
