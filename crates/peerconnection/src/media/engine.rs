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

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrtc_dtls::{Role as DtlsRole, SrtpKeyingMaterial};
use ferrtc_media_codecs::frame_buffer::Config as FrameBufferConfig;
use ferrtc_rtcp::{Bye, Fir, FirEntry, Nack, Pli, ReportBlock, RtcpPacket};
use ferrtc_rtp::{ExtensionKind, ExtensionMap, RtpPacket};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tracing::{debug, trace};

use super::nack::{NackConfig, NackGenerator, Sent};
use super::negotiated::NegotiatedMedia;
use super::receive::Receiver;
use super::receiver::{ReceiveStreams, StreamsConfig};
use super::reports::ReportBuilder;
use super::router::{ReceiverId, Route, RouteInfo, Router, RouterConfig, StreamKind};
use super::rtcp_schedule::{RtcpScheduler, ScheduleConfig, LOWER_LAYER_OVERHEAD};
use super::sender::{PacketContext, Sender};
pub use super::srtp_session::MediaDrops;
use super::srtp_session::{is_rtcp, SrtpSession};
use super::types::{
    KeyframeRequestKind, MediaKind, MediaMode, OutgoingFrame, ReceivedFrame, TransceiverId,
};
use super::NtpTime;
use crate::{Error, Event};

/// Every extension kind ferrtc reads (for the transport-wide map of a BUNDLE group).
const KINDS: [ExtensionKind; 10] = [
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
    nack_gens: HashMap<u32, (TransceiverId, NackGenerator)>,
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
            nack_gens: HashMap::new(),
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
            for k in KINDS {
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

    fn push_frames(&mut self, frames: Vec<ReceivedFrame>) {
        for f in frames {
            self.push_event(Event::Frame(f));
        }
    }

    fn queue(&mut self, datagram: Bytes) {
        if self.transmits.len() >= self.config.max_transmits.max(1) {
            self.drops.transmits_lost = self.drops.transmits_lost.saturating_add(1);
            return;
        }
        self.transmits.push_back(datagram);
    }

    /// Protects one plain RTP or RTCP packet and queues it.
    fn protect_and_queue(&mut self, plain: Vec<u8>, rtcp: bool) -> Result<(), Error> {
        let d = self.protect(plain, rtcp)?;
        self.queue(d);
        Ok(())
    }

    /// Protects and queues an RTP packet of sender `i`, keeping it for NACKs when negotiated.
    fn send_media(&mut self, i: usize, plain: Vec<u8>) -> Result<(), Error> {
        let (keep, rtx) = self
            .senders
            .get(i)
            .map_or((false, false), |s| (s.nack, s.rtx.is_some()));
        if !keep {
            return self.protect_and_queue(plain, false);
        }
        let seq = match plain.get(2..4) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        };
        let copy = rtx.then(|| Bytes::copy_from_slice(&plain));
        let protected = self.protect(plain, false)?;
        self.queue(protected.clone());
        let limit = self.config.nack.history;
        if let Some(s) = self.senders.get_mut(i) {
            s.history.push(
                Sent {
                    seq,
                    protected,
                    plain: copy,
                },
                limit,
            );
        }
        Ok(())
    }

    fn protect(&mut self, plain: Vec<u8>, rtcp: bool) -> Result<Bytes, Error> {
        let Some(srtp) = self.srtp.as_mut() else {
            return Err(Error::InvalidState("media: SRTP is not keyed yet".into()));
        };
        // Bytes from a Vec and back: the same allocation, no copy.
        let mut buf = BytesMut::from(Bytes::from(plain));
        let r = if rtcp {
            srtp.tx.protect_rtcp(&mut buf)
        } else {
            srtp.tx.protect_rtp(&mut buf)
        };
        match r {
            Ok(()) => Ok(buf.freeze()),
            Err(e) => Err(Error::InvalidState(format!("SRTP protect: {e}"))),
        }
    }

    /// The next protected datagram to send over the selected candidate pair.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// The next media event (frames, RTP packets, keyframe requests).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- receive -----

    /// An SRTP or SRTCP datagram from the peer (RFC 5761 §4 tells them apart).
    pub fn handle_datagram(&mut self, now: Instant, datagram: Bytes) {
        if self.closed {
            return;
        }
        let rtcp = is_rtcp(&datagram);
        let size = datagram.len();
        let Some(srtp) = self.srtp.as_mut() else {
            self.drops.not_keyed = self.drops.not_keyed.saturating_add(1);
            return;
        };
        let Some(plain) = srtp.unprotect(datagram, rtcp, &mut self.drops) else {
            return;
        };
        if rtcp {
            self.handle_rtcp(now, plain, size);
        } else {
            self.handle_rtp(now, plain);
        }
    }

    fn handle_rtp(&mut self, now: Instant, plain: Bytes) {
        let Ok(mut packet) = RtpPacket::parse(plain) else {
            self.drops.malformed = self.drops.malformed.saturating_add(1);
            return;
        };
        let route = {
            let ext = packet
                .header
                .extensions
                .as_ref()
                .map(|e| self.extmap.read(e))
                .unwrap_or_default();
            self.router.route(&RouteInfo::new(&packet.header, &ext))
        };
        let Ok(mut route) = route else {
            self.drops.unrouted = self.drops.unrouted.saturating_add(1);
            return;
        };
        let rid = route
            .rid
            .and_then(|i| self.router.rid(route.receiver, i))
            .map(|r| String::from_utf8_lossy(r).into_owned());
        let Some(ri) = self
            .receivers
            .iter()
            .position(|r| r.transceiver.index() == route.receiver.0)
        else {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        };
        let Some(receiver) = self.receivers.get_mut(ri) else {
            return;
        };
        if !receiver.direction.receives() {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        }
        if let StreamKind::Repair { primary } = route.kind {
            // RFC 4588 §4: OSN in the first two payload octets, apt names the original PT.
            if packet.payload.len() < 2 {
                // Padding-only RTX (bandwidth probing): nothing to deliver.
                return;
            }
            let (Some(primary), Some(apt)) = (primary, receiver.apt(packet.header.payload_type))
            else {
                self.drops.bad_rtx = self.drops.bad_rtx.saturating_add(1);
                return;
            };
            let Ok(original) = ferrtc_rtp::rtx::decapsulate(&packet, apt, primary) else {
                self.drops.bad_rtx = self.drops.bad_rtx.saturating_add(1);
                return;
            };
            receiver.retransmitted_received = receiver.retransmitted_received.saturating_add(1);
            packet = original;
            route = Route {
                ssrc: primary,
                kind: StreamKind::Media,
                ..route
            };
        }
        let clock = receiver
            .codec(packet.header.payload_type)
            .map_or(90_000, |c| c.clock_rate);
        let mode = receiver.mode;
        let tid = receiver.transceiver;
        let nack = receiver.codecs.iter().any(|c| c.has_feedback("nack", None));
        let Ok(verdict) = self.streams.on_rtp(
            now,
            &route,
            packet.header.sequence_number,
            packet.header.timestamp,
            packet.payload.len(),
            clock,
        ) else {
            self.drops.refused = self.drops.refused.saturating_add(1);
            return;
        };
        if let (true, Some(ext)) = (nack, verdict.extended()) {
            // One generator per receive stream: bounded by the stream table.
            if self.nack_gens.contains_key(&route.ssrc)
                || self.nack_gens.len() < self.config.streams.max_streams
            {
                let (_, g) = self
                    .nack_gens
                    .entry(route.ssrc)
                    .or_insert_with(|| (tid, NackGenerator::default()));
                g.on_packet(now, ext, &self.config.nack);
            }
        }
        match mode {
            MediaMode::Rtp => self.push_event(Event::Rtp {
                transceiver: tid,
                packet,
            }),
            MediaMode::Frame => {
                let mut frames = Vec::new();
                let fb = self.config.frame_buffer;
                let ok = self
                    .receivers
                    .get_mut(ri)
                    .is_some_and(|r| r.insert(now, packet, rid, &fb, &mut frames));
                if !ok {
                    self.drops.refused = self.drops.refused.saturating_add(1);
                }
                self.push_frames(frames);
            }
        }
    }

    fn handle_rtcp(&mut self, now: Instant, plain: Bytes, size: usize) {
        let Ok(packets) = ferrtc_rtcp::parse(plain) else {
            self.drops.malformed = self.drops.malformed.saturating_add(1);
            return;
        };
        if let Some(s) = self.scheduler.as_mut() {
            s.on_report_received(size.saturating_add(LOWER_LAYER_OVERHEAD));
        }
        let arrival = self.ntp_at(now);
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if self.streams.on_sender_report(now, &sr) {
                        let tid = self.router.receiver_of(sr.ssrc).map(|r| TransceiverId(r.0));
                        if let Some(transceiver) = tid {
                            let prev = self
                                .remote_outbound
                                .get(&sr.ssrc)
                                .map_or(0, |r| r.reports_sent);
                            self.remote_outbound.insert(
                                sr.ssrc,
                                RemoteOutbound {
                                    ntp: NtpTime(sr.ntp_timestamp),
                                    packets_sent: sr.packet_count,
                                    octets_sent: sr.octet_count,
                                    reports_sent: prev.saturating_add(1),
                                    transceiver,
                                },
                            );
                        }
                    }
                    self.on_blocks(now, arrival, &sr.reports);
                }
                RtcpPacket::ReceiverReport(rr) => self.on_blocks(now, arrival, &rr.reports),
                RtcpPacket::Pli(pli) => {
                    self.keyframe_request(pli.media_ssrc, KeyframeRequestKind::Pli);
                }
                RtcpPacket::Fir(fir) => {
                    for e in &fir.entries {
                        if !self.senders.iter().any(|s| s.ssrc == e.ssrc) {
                            continue;
                        }
                        // RFC 5104 §4.3.1.2: the same sequence number repeats a request
                        // already acted on.
                        if self.last_fir.insert(e.ssrc, e.sequence_number)
                            == Some(e.sequence_number)
                        {
                            continue;
                        }
                        self.keyframe_request(e.ssrc, KeyframeRequestKind::Fir);
                    }
                }
                RtcpPacket::Nack(n) => self.on_nack(&n),
                RtcpPacket::Bye(bye) => {
                    for ssrc in bye.ssrcs {
                        self.forget_remote(ssrc);
                    }
                }
                _ => {}
            }
        }
    }

    /// RFC 4585 §6.2.1 generic NACK: resend what the history still holds, as RTX (RFC 4588
    /// §4) when negotiated, else the same SRTP datagram. At most 128 packets per NACK.
    fn on_nack(&mut self, n: &Nack) {
        let Some(i) = self.senders.iter().position(|s| s.ssrc == n.media_ssrc) else {
            return;
        };
        let mut out: Vec<(Option<Vec<u8>>, Bytes)> = Vec::new();
        if let Some(s) = self.senders.get_mut(i) {
            s.nacks_received = s.nacks_received.saturating_add(1);
            for seq in n.pairs.iter().flat_map(|p| p.lost()).take(128) {
                let Some(sent) = s.history.get(seq).cloned() else {
                    continue;
                };
                let rtx = sent.plain.as_ref().and_then(|plain| {
                    let original = RtpPacket::parse(plain.clone()).ok()?;
                    let rtx_pt = s.rtx_for(original.header.payload_type)?;
                    let (rtx_ssrc, rtx_seq) = s.rtx?;
                    s.rtx = Some((rtx_ssrc, rtx_seq.wrapping_add(1)));
                    let pkt = ferrtc_rtp::rtx::encapsulate(&original, rtx_pt, rtx_ssrc, rtx_seq);
                    s.stats.on_retransmission(original.payload.len());
                    let mut buf = Vec::with_capacity(pkt.encoded_len() + 32);
                    pkt.write_to(&mut buf);
                    Some(buf)
                });
                if rtx.is_none() {
                    s.stats.on_retransmission(sent.protected.len());
                }
                out.push((rtx, sent.protected));
            }
        }
        for (rtx, protected) in out {
            match rtx {
                Some(plain) => {
                    if let Err(e) = self.protect_and_queue(plain, false) {
                        debug!(error = %e, "media: RTX not sent");
                    }
                }
                None => self.queue(protected),
            }
        }
    }

    fn forget_remote(&mut self, ssrc: u32) {
        self.nack_gens.remove(&ssrc);
        self.streams.remove(ssrc);
        self.router.forget_ssrc(ssrc);
        self.remote_outbound.remove(&ssrc);
        for r in &mut self.receivers {
            r.remove_ssrc(ssrc);
        }
    }

    fn on_blocks(&mut self, now: Instant, arrival: NtpTime, blocks: &[ReportBlock]) {
        for b in blocks {
            if let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == b.ssrc) {
                s.on_report_block(now, arrival, b);
            }
        }
    }

    fn keyframe_request(&mut self, ssrc: u32, kind: KeyframeRequestKind) {
        let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == ssrc) else {
            trace!(ssrc, "media: keyframe request for an SSRC we do not send");
            return;
        };
        match kind {
            KeyframeRequestKind::Pli => s.plis_received = s.plis_received.saturating_add(1),
            KeyframeRequestKind::Fir => s.firs_received = s.firs_received.saturating_add(1),
        }
        let transceiver = s.transceiver;
        self.push_event(Event::KeyframeRequest { transceiver, kind });
    }

    // ----- send -----

    fn sender_for(&mut self, tid: TransceiverId, mode: MediaMode) -> Result<usize, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let i = self
            .senders
            .iter()
            .position(|s| s.transceiver == tid)
            .ok_or_else(|| {
                Error::InvalidState(format!(
                    "transceiver {} has no negotiated media section",
                    tid.index()
                ))
            })?;
        let s = self.senders.get(i).ok_or(Error::Closed)?;
        if !s.sends() {
            return Err(Error::InvalidState(format!(
                "transceiver {} (mid {}) does not send: negotiated direction {:?}",
                tid.index(),
                s.mid,
                s.direction
            )));
        }
        if s.mode != mode {
            return Err(Error::InvalidState(format!(
                "transceiver {} is in {:?} mode; use {}",
                tid.index(),
                s.mode,
                match s.mode {
                    MediaMode::Frame => "write_frame",
                    MediaMode::Rtp => "write_rtp",
                }
            )));
        }
        if self.srtp.is_none() {
            return Err(Error::InvalidState(
                "media cannot be sent before DTLS is connected (SRTP not keyed)".into(),
            ));
        }
        Ok(i)
    }

    /// Packetizes, protects and queues one encoded frame on a [`MediaMode::Frame`]
    /// transceiver.
    pub fn write_frame(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        frame: OutgoingFrame,
    ) -> Result<(), Error> {
        let i = self.sender_for(tid, MediaMode::Frame)?;
        let mki = self.config.srtp.mki.as_ref().map_or(0, Vec::len);
        let overhead = self.srtp.as_ref().map_or(0, |s| s.rtp_overhead(mki));
        let room = self.config.mtu.saturating_sub(overhead);
        let ctx = PacketContext {
            ntp_now: self.ntp_at(now),
            twcc_seq: self.twcc_seq,
        };
        let mut plain = Vec::new();
        let sender = self.senders.get_mut(i).ok_or(Error::Closed)?;
        let used = sender.write_frame(now, &frame, room, ctx, &mut self.rng, |p| plain.push(p))?;
        self.twcc_seq = self.twcc_seq.wrapping_add(used);
        for p in plain {
            self.send_media(i, p)?;
        }
        Ok(())
    }

    /// Protects and queues an application's RTP packet on a [`MediaMode::Rtp`] transceiver.
    /// Kept from the packet: payload type (a negotiated one, or its RTX type), sequence
    /// number, timestamp, marker, CSRCs, payload and padding. Set by the engine: our SSRC and
    /// the header extensions we negotiated (mid, abs-send-time, transport-wide-cc); the
    /// packet's own extensions are replaced.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        packet: RtpPacket,
    ) -> Result<(), Error> {
        let i = self.sender_for(tid, MediaMode::Rtp)?;
        let ctx = PacketContext {
            ntp_now: self.ntp_at(now),
            twcc_seq: self.twcc_seq,
        };
        let sender = self.senders.get_mut(i).ok_or(Error::Closed)?;
        let (plain, twcc) = sender.write_rtp(now, packet, ctx)?;
        if twcc {
            self.twcc_seq = self.twcc_seq.wrapping_add(1);
        }
        if plain
            .len()
            .saturating_add(self.srtp.as_ref().map_or(0, SrtpSession::overhead))
            > self.config.mtu
        {
            debug!(
                len = plain.len(),
                "media: RTP packet above the MTU sent anyway"
            );
        }
        self.protect_and_queue(plain, false)
    }

    /// Asks the remote sender of a transceiver's receiver for a key frame: PLI (RFC 4585
    /// §6.3.1) or FIR (RFC 5104 §4.3.1, with a new command sequence number).
    pub fn request_keyframe(
        &mut self,
        tid: TransceiverId,
        kind: KeyframeRequestKind,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.srtp.is_none() {
            return Err(Error::InvalidState(
                "no keyframe request before DTLS is connected".into(),
            ));
        }
        let reporter = self.reporter_ssrc;
        let streams = &self.streams;
        let r = self
            .receivers
            .iter_mut()
            .find(|r| r.transceiver == tid)
            .ok_or_else(|| {
                Error::InvalidState(format!(
                    "transceiver {} has no negotiated media section",
                    tid.index()
                ))
            })?;
        if !r.direction.receives() {
            return Err(Error::InvalidState(format!(
                "transceiver {} does not receive",
                tid.index()
            )));
        }
        let mut ssrcs = r.media_ssrcs();
        for (ssrc, st) in streams.iter() {
            if st.route.receiver.0 == tid.index()
                && st.route.kind == StreamKind::Media
                && !ssrcs.contains(&ssrc)
            {
                ssrcs.push(ssrc);
            }
        }
        if ssrcs.is_empty() {
            return Err(Error::InvalidState(format!(
                "transceiver {}: no remote stream known yet",
                tid.index()
            )));
        }
        let fb: Vec<RtcpPacket> = match kind {
            KeyframeRequestKind::Pli => {
                r.plis_sent = r.plis_sent.saturating_add(1);
                ssrcs
                    .iter()
                    .map(|&media_ssrc| {
                        RtcpPacket::Pli(Pli {
                            sender_ssrc: reporter,
                            media_ssrc,
                        })
                    })
                    .collect()
            }
            KeyframeRequestKind::Fir => {
                r.firs_sent = r.firs_sent.saturating_add(1);
                // RFC 5104 §4.3.1.1: increment per new request, the same for repetitions.
                r.fir_seq = r.fir_seq.wrapping_add(1);
                let seq = r.fir_seq;
                vec![RtcpPacket::Fir(Fir {
                    sender_ssrc: reporter,
                    media_ssrc: 0,
                    entries: ssrcs
                        .iter()
                        .map(|&ssrc| FirEntry {
                            ssrc,
                            sequence_number: seq,
                        })
                        .collect(),
                })]
            }
        };
        let packets = self.reports.feedback(reporter, fb);
        self.send_rtcp(&packets)
    }

    fn send_rtcp(&mut self, packets: &[RtcpPacket]) -> Result<(), Error> {
        let mut plain = Vec::with_capacity(ferrtc_rtcp::compound_len(packets) + 32);
        ferrtc_rtcp::write_compound(packets, &mut plain);
        self.protect_and_queue(plain, true)
    }

    fn send_bye(&mut self, ssrcs: Vec<u32>) {
        let reporter = self.reporter_ssrc;
        let bye = RtcpPacket::Bye(Bye {
            ssrcs,
            reason: None,
        });
        let packets = self.reports.feedback(reporter, vec![bye]);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: BYE not sent");
        }
    }

    /// Sends a BYE for every SSRC we sent with (RFC 3550 §6.6) and stops.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        if self.srtp.is_some() {
            let mut ssrcs: Vec<u32> = self
                .senders
                .iter()
                .filter(|s| s.stats.packets_sent() > 0)
                .map(|s| s.ssrc)
                .collect();
            if ssrcs.is_empty() {
                ssrcs.push(self.reporter_ssrc);
            }
            self.send_bye(ssrcs);
        }
        self.closed = true;
    }

    // ----- timers -----

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let rtcp = self
            .scheduler
            .as_ref()
            .filter(|_| !self.applied.is_empty())
            .map(RtcpScheduler::poll_timeout);
        let fb = self
            .receivers
            .iter()
            .filter_map(Receiver::poll_timeout)
            .min();
        let nack = self
            .nack_gens
            .values()
            .filter_map(|(_, g)| g.poll_timeout())
            .min();
        [rtcp, fb, nack].into_iter().flatten().min()
    }

    /// Fires what is due: frame buffer timers, then the RTCP report (RFC 3550 §6.3.6 with
    /// timer reconsideration).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        let mut frames = Vec::new();
        for r in &mut self.receivers {
            r.handle_timeout(now, &mut frames);
        }
        self.push_frames(frames);
        if self.applied.is_empty() {
            return;
        }
        self.send_nacks(now);
        let members = u32::try_from(self.streams.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let we_sent = self.senders.iter().any(|s| s.stats.is_sender());
        let senders = u32::try_from(self.senders.iter().filter(|s| s.stats.is_sender()).count())
            .unwrap_or(u32::MAX);
        let due = match self.scheduler.as_mut() {
            Some(s) if now >= s.poll_timeout() => {
                s.set_members(members, senders.saturating_add(1).min(members), we_sent);
                s.handle_timeout(now, &mut self.rng)
            }
            _ => false,
        };
        if due {
            self.send_report(now);
        }
    }

    fn send_nacks(&mut self, now: Instant) {
        let cfg = self.config.nack;
        let mut nacks = Vec::new();
        for (&ssrc, (tid, g)) in &mut self.nack_gens {
            if g.poll_timeout().is_some_and(|t| t <= now) {
                let lost = g.due(now, &cfg);
                if !lost.is_empty() {
                    nacks.push((*tid, Nack::from_lost(self.reporter_ssrc, ssrc, lost)));
                }
            }
        }
        if nacks.is_empty() {
            return;
        }
        for (tid, _) in &nacks {
            if let Some(r) = self.receivers.iter_mut().find(|r| r.transceiver == *tid) {
                r.nacks_sent = r.nacks_sent.saturating_add(1);
            }
        }
        let fb = nacks
            .into_iter()
            .map(|(_, n)| RtcpPacket::Nack(n))
            .collect();
        let packets = self.reports.feedback(self.reporter_ssrc, fb);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: NACK not sent");
        }
    }

    fn send_report(&mut self, now: Instant) {
        for ssrc in self.streams.expire(now) {
            self.forget_remote(ssrc);
        }
        let ntp = self.ntp_at(now);
        let mut stats: Vec<_> = self
            .senders
            .iter_mut()
            .map(|s| std::mem::replace(&mut s.stats, super::sender_stats::SenderStats::new(0, 0)))
            .collect();
        let (packets, _) =
            self.reports
                .regular(now, ntp, self.reporter_ssrc, &mut stats, &mut self.streams);
        for (s, st) in self.senders.iter_mut().zip(stats) {
            s.stats = st;
        }
        for p in &packets {
            if let RtcpPacket::SenderReport(sr) = p {
                if let Some(s) = self.senders.iter_mut().find(|s| s.ssrc == sr.ssrc) {
                    s.rtt.on_sender_report_sent(ntp);
                }
            }
        }
        let size = ferrtc_rtcp::compound_len(&packets);
        if let Err(e) = self.send_rtcp(&packets) {
            debug!(error = %e, "media: report not sent");
        }
        let overhead = self.srtp.as_ref().map_or(0, SrtpSession::overhead);
        if let Some(s) = self.scheduler.as_mut() {
            s.on_report_sent(now, size + overhead + LOWER_LAYER_OVERHEAD, &mut self.rng);
        }
    }
}
