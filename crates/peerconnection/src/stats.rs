//! `getStats()` (W3C webrtc-stats): the objects a data-channel peer connection has, with the
//! standard member names, serialising to the JSON a browser's
//! `Object.fromEntries(await pc.getStats())` gives.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use base64::Engine as _;
use ferrtc_ice::{CandidateType, PairState, Role as IceRole};
use serde::Serialize;

use crate::connection::{DtlsTransportState, PeerConnection};
use crate::media::{MediaEngine, MediaKind, MediaMode};
use crate::ReadyState;

/// `RTCPeerConnectionStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerConnectionStats {
    /// Id.
    pub id: String,
    /// Milliseconds since the UNIX epoch.
    pub timestamp: f64,
    /// Channels that reached `open`.
    pub data_channels_opened: u64,
    /// Open channels that closed.
    pub data_channels_closed: u64,
}

/// `RTCTransportStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Datagrams sent (DTLS and ICE data, not STUN checks).
    pub packets_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// `controlling` / `controlled`.
    pub ice_role: &'static str,
    /// Our ufrag.
    pub ice_local_username_fragment: String,
    /// `RTCIceTransportState`.
    pub ice_state: &'static str,
    /// `RTCDtlsTransportState`.
    pub dtls_state: &'static str,
    /// `client` / `server` / `unknown`.
    pub dtls_role: &'static str,
    /// Selected pair's stats id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_candidate_pair_id: Option<String>,
    /// Times the selected pair changed.
    pub selected_candidate_pair_changes: u64,
    /// Local certificate's stats id.
    pub local_certificate_id: String,
    /// Remote certificate's stats id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_certificate_id: Option<String>,
    /// `FEFD` (DTLS 1.2) once connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// The cipher suite (OpenSSL name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_cipher: Option<String>,
}

/// `RTCIceCandidatePairStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidatePairStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Transport id.
    pub transport_id: String,
    /// Local candidate id.
    pub local_candidate_id: String,
    /// Remote candidate id.
    pub remote_candidate_id: String,
    /// `frozen`, `waiting`, `in-progress`, `succeeded`, `failed`.
    pub state: &'static str,
    /// Nominated.
    pub nominated: bool,
    /// Pair priority.
    pub priority: u64,
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received.
    pub packets_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Seconds, summed over responses.
    pub total_round_trip_time: f64,
    /// Seconds, last response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_round_trip_time: Option<f64>,
    /// Checks sent.
    pub requests_sent: u64,
    /// Checks received.
    pub requests_received: u64,
    /// Responses sent.
    pub responses_sent: u64,
    /// Responses received.
    pub responses_received: u64,
    /// Consent checks sent.
    pub consent_requests_sent: u64,
}

/// `RTCIceCandidateStats` (local-candidate / remote-candidate).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Transport id.
    pub transport_id: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `udp` / `tcp`.
    pub protocol: &'static str,
    /// `host`, `srflx`, `prflx`, `relay`.
    pub candidate_type: &'static str,
    /// Priority.
    pub priority: u32,
    /// Foundation.
    pub foundation: String,
    /// ufrag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// `RTCCertificateStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Hex fingerprint.
    pub fingerprint: String,
    /// `sha-256`, ….
    pub fingerprint_algorithm: &'static str,
    /// DER, base64 (the local certificate; the remote is only known by fingerprint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64_certificate: Option<String>,
}

/// `RTCDataChannelStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Label.
    pub label: String,
    /// Protocol.
    pub protocol: String,
    /// SCTP stream id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel_identifier: Option<u16>,
    /// `connecting`, `open`, `closing`, `closed`.
    pub state: &'static str,
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

/// `RTCCodecStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodecStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Payload type.
    pub payload_type: u8,
    /// Transport id.
    pub transport_id: String,
    /// `video/VP8`, `audio/opus`, ….
    pub mime_type: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// The fmtp parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_fmtp_line: Option<String>,
}

/// `RTCInboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundRtpStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Remote SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: &'static str,
    /// Transport id.
    pub transport_id: String,
    /// Codec id, once a packet arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// The m= section's mid.
    pub mid: String,
    /// The remote-outbound-rtp object of this SSRC, once an SR arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Packets received.
    pub packets_received: u64,
    /// RFC 3550 A.3 cumulative loss (negative with duplicates).
    pub packets_lost: i64,
    /// Interarrival jitter, seconds (A.8).
    pub jitter: f64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// NACKs sent.
    pub nack_count: u64,
    /// PLIs sent (video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pli_count: Option<u64>,
    /// FIRs sent (video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fir_count: Option<u64>,
    /// Frames assembled (video, frame mode). `framesDecoded` is not reported: ferrtc does not
    /// decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_received: Option<u64>,
    /// Packets the frame buffer discarded (late, duplicate, malformed, given up).
    pub packets_discarded: u64,
    /// Retransmitted packets received (RTX).
    pub retransmitted_packets_received: u64,
}

/// `RTCOutboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundRtpStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Our SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: &'static str,
    /// Transport id.
    pub transport_id: String,
    /// Codec id of the last packet sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// The m= section's mid.
    pub mid: String,
    /// The remote-inbound-rtp object, once a report block arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Packets sent.
    pub packets_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Header bytes sent (RTP header and extensions).
    pub header_bytes_sent: u64,
    /// Retransmitted packets sent.
    pub retransmitted_packets_sent: u64,
    /// Retransmitted payload bytes sent.
    pub retransmitted_bytes_sent: u64,
    /// NACKs received.
    pub nack_count: u64,
    /// PLIs received (video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pli_count: Option<u64>,
    /// FIRs received (video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fir_count: Option<u64>,
    /// Frames packetized and sent (video, frame mode). `framesEncoded` is not reported: the
    /// application encoded them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_sent: Option<u64>,
}

/// `RTCRemoteInboundRtpStreamStats`: what the peer reports about our stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteInboundRtpStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Our SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: &'static str,
    /// Transport id.
    pub transport_id: String,
    /// Codec id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// The outbound-rtp object.
    pub local_id: String,
    /// Cumulative loss the peer reports.
    pub packets_lost: i64,
    /// Fraction lost in the last interval (0..1).
    pub fraction_lost: f64,
    /// Jitter the peer reports, seconds.
    pub jitter: f64,
    /// Latest round trip, seconds (RFC 3550 §6.4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
    /// Sum of round trips, seconds.
    pub total_round_trip_time: f64,
    /// Round trips measured.
    pub round_trip_time_measurements: u64,
}

/// `RTCRemoteOutboundRtpStreamStats`: what the peer's SRs say about the stream we receive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteOutboundRtpStats {
    /// Id.
    pub id: String,
    /// Timestamp.
    pub timestamp: f64,
    /// Remote SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: &'static str,
    /// Transport id.
    pub transport_id: String,
    /// The inbound-rtp object.
    pub local_id: String,
    /// Packets the peer sent.
    pub packets_sent: u64,
    /// Payload bytes the peer sent.
    pub bytes_sent: u64,
    /// The SR's NTP time as milliseconds since the UNIX epoch (the peer's clock).
    pub remote_timestamp: f64,
    /// SRs received.
    pub reports_sent: u64,
}

/// One stats object; `type` is the W3C `RTCStatsType`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Stats {
    PeerConnection(PeerConnectionStats),
    Transport(TransportStats),
    CandidatePair(CandidatePairStats),
    LocalCandidate(CandidateStats),
    RemoteCandidate(CandidateStats),
    Certificate(CertificateStats),
    DataChannel(DataChannelStats),
    Codec(CodecStats),
    InboundRtp(InboundRtpStats),
    OutboundRtp(OutboundRtpStats),
    RemoteInboundRtp(RemoteInboundRtpStats),
    RemoteOutboundRtp(RemoteOutboundRtpStats),
}

impl Stats {
    /// The object's id.
    pub fn id(&self) -> &str {
        match self {
            Stats::PeerConnection(s) => &s.id,
            Stats::Transport(s) => &s.id,
            Stats::CandidatePair(s) => &s.id,
            Stats::LocalCandidate(s) | Stats::RemoteCandidate(s) => &s.id,
            Stats::Certificate(s) => &s.id,
            Stats::DataChannel(s) => &s.id,
            Stats::Codec(s) => &s.id,
            Stats::InboundRtp(s) => &s.id,
            Stats::OutboundRtp(s) => &s.id,
            Stats::RemoteInboundRtp(s) => &s.id,
            Stats::RemoteOutboundRtp(s) => &s.id,
        }
    }
}

/// `RTCStatsReport`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsReport {
    /// The objects, in a stable order.
    pub stats: Vec<Stats>,
}

impl StatsReport {
    /// The object with this id.
    pub fn get(&self, id: &str) -> Option<&Stats> {
        self.stats.iter().find(|s| s.id() == id)
    }

    /// `{ id: object, … }`, as `Object.fromEntries(report)` in a browser.
    pub fn to_json(&self) -> serde_json::Value {
        let map: BTreeMap<String, serde_json::Value> = self
            .stats
            .iter()
            .map(|s| {
                (
                    s.id().to_owned(),
                    serde_json::to_value(s).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect();
        serde_json::to_value(map).unwrap_or(serde_json::Value::Null)
    }
}

fn cand_type(t: CandidateType) -> &'static str {
    t.as_str()
}

fn addr_id(prefix: &str, a: SocketAddr) -> String {
    format!("{prefix}{}_{}", a.ip(), a.port())
}

fn ice_state(s: ferrtc_ice::ConnectionState) -> &'static str {
    use ferrtc_ice::ConnectionState as S;
    match s {
        S::New => "new",
        S::Checking => "checking",
        S::Connected => "connected",
        S::Completed => "completed",
        S::Disconnected => "disconnected",
        S::Failed => "failed",
        S::Closed => "closed",
    }
}

pub(crate) fn collect(pc: &PeerConnection, timestamp: f64) -> StatsReport {
    let mut out = vec![Stats::PeerConnection(PeerConnectionStats {
        id: "P".into(),
        timestamp,
        data_channels_opened: pc.channels.opened,
        data_channels_closed: pc.channels.closed,
    })];
    transport(pc, timestamp, &mut out);
    candidate_pairs(pc, timestamp, &mut out);
    candidates(pc, timestamp, &mut out);
    certificates(pc, timestamp, &mut out);
    data_channels(pc, timestamp, &mut out);
    if let Some(engine) = pc.media.as_deref() {
        media(engine, timestamp, &mut out);
    }
    StatsReport { stats: out }
}

fn pair_id(l: SocketAddr, r: SocketAddr) -> String {
    format!("CP{}_{}_{}_{}", l.ip(), l.port(), r.ip(), r.port())
}

fn transport(pc: &PeerConnection, timestamp: f64, out: &mut Vec<Stats>) {
    let selected = pc.ice.selected_pair();
    let remote_fp = pc.remote_fingerprint();
    out.push(Stats::Transport(TransportStats {
        id: "T01".into(),
        timestamp,
        packets_sent: pc.packets_sent,
        packets_received: pc.packets_received,
        bytes_sent: pc.bytes_sent,
        bytes_received: pc.bytes_received,
        ice_role: match pc.ice.role() {
            IceRole::Controlling => "controlling",
            IceRole::Controlled => "controlled",
        },
        ice_local_username_fragment: pc.local_creds().ufrag.clone(),
        ice_state: ice_state(pc.ice_state),
        dtls_state: pc.dtls_state.as_str(),
        dtls_role: match pc.dtls_role {
            Some(ferrtc_dtls::Role::Client) => "client",
            Some(ferrtc_dtls::Role::Server) => "server",
            None => "unknown",
        },
        selected_candidate_pair_id: selected.map(|(l, r)| pair_id(l, r)),
        selected_candidate_pair_changes: pc.selected_pair_changes,
        local_certificate_id: "CFlocal".into(),
        remote_certificate_id: remote_fp.map(|_| "CFremote".into()),
        tls_version: (pc.dtls_state == DtlsTransportState::Connected).then(|| "FEFD".into()),
        dtls_cipher: pc.dtls_cipher.clone(),
    }));
}

fn candidate_pairs(pc: &PeerConnection, timestamp: f64, out: &mut Vec<Stats>) {
    for p in pc.ice.pair_stats() {
        out.push(Stats::CandidatePair(CandidatePairStats {
            id: pair_id(p.local, p.remote),
            timestamp,
            transport_id: "T01".into(),
            local_candidate_id: addr_id("IL", p.local),
            remote_candidate_id: addr_id("IR", p.remote),
            state: match p.state {
                PairState::Frozen => "frozen",
                PairState::Waiting => "waiting",
                PairState::InProgress => "in-progress",
                PairState::Succeeded => "succeeded",
                PairState::Failed => "failed",
            },
            nominated: p.nominated,
            priority: p.priority,
            packets_sent: p.packets_sent,
            packets_received: p.packets_received,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            total_round_trip_time: p.total_rtt.as_secs_f64(),
            current_round_trip_time: p.current_rtt.map(|d| d.as_secs_f64()),
            requests_sent: p.requests_sent,
            requests_received: p.requests_received,
            responses_sent: p.responses_sent,
            responses_received: p.responses_received,
            consent_requests_sent: p.consent_requests_sent,
        }));
    }
}

fn candidates(pc: &PeerConnection, timestamp: f64, out: &mut Vec<Stats>) {
    let cand = |prefix: &str, c: &ferrtc_ice::Candidate| {
        let addr = match &c.address {
            ferrtc_ice::Address::Ip(ip) => ip.to_string(),
            ferrtc_ice::Address::Name(n) => n.clone(),
        };
        CandidateStats {
            id: format!("{prefix}{}_{}", addr, c.port),
            timestamp,
            transport_id: "T01".into(),
            address: addr,
            port: c.port,
            protocol: match c.transport {
                ferrtc_ice::Transport::Udp => "udp",
                ferrtc_ice::Transport::Tcp => "tcp",
            },
            candidate_type: cand_type(c.typ),
            priority: c.priority,
            foundation: c.foundation.clone(),
            username_fragment: c.ufrag().map(str::to_owned),
        }
    };
    for c in pc.ice.local_candidates() {
        out.push(Stats::LocalCandidate(cand("IL", c)));
    }
    for c in pc.ice.remote_candidates() {
        out.push(Stats::RemoteCandidate(cand("IR", c)));
    }
}

fn certificates(pc: &PeerConnection, timestamp: f64, out: &mut Vec<Stats>) {
    let cert = &pc.dtls_context().config().certificate;
    let local_fp = cert.fingerprint().ok();
    let remote_fp = pc.remote_fingerprint();
    if let Some(fp) = local_fp {
        out.push(Stats::Certificate(CertificateStats {
            id: "CFlocal".into(),
            timestamp,
            fingerprint: fp.hex(),
            fingerprint_algorithm: fp.algorithm.as_str(),
            base64_certificate: cert
                .der()
                .ok()
                .map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
        }));
    }
    if let Some(fp) = remote_fp {
        out.push(Stats::Certificate(CertificateStats {
            id: "CFremote".into(),
            timestamp,
            fingerprint: fp.hex(),
            fingerprint_algorithm: fp.algorithm.as_str(),
            base64_certificate: None,
        }));
    }
}

fn data_channels(pc: &PeerConnection, timestamp: f64, out: &mut Vec<Stats>) {
    for id in pc.channel_ids() {
        let (Some(info), Some(counts)) = (pc.channel(id), pc.channel_stats(id)) else {
            continue;
        };
        out.push(Stats::DataChannel(DataChannelStats {
            id: format!("D{}", id.0),
            timestamp,
            label: info.label,
            protocol: info.protocol,
            data_channel_identifier: info.id,
            state: match info.ready_state {
                ReadyState::Connecting => "connecting",
                ReadyState::Open => "open",
                ReadyState::Closing => "closing",
                ReadyState::Closed => "closed",
            },
            messages_sent: counts.messages_sent,
            bytes_sent: counts.bytes_sent,
            messages_received: counts.messages_received,
            bytes_received: counts.bytes_received,
        }));
    }
}

fn codec_id(tid: u32, pt: u8) -> String {
    format!("CIT01_{tid}_{pt}")
}

/// The media objects of the engine: codec, inbound-rtp, outbound-rtp, remote-inbound-rtp,
/// remote-outbound-rtp (W3C webrtc-stats §3), from the engine's RFC 3550 counters.
pub fn media(engine: &MediaEngine, timestamp: f64, out: &mut Vec<Stats>) {
    let transport_id = || "T01".to_owned();
    for r in &engine.receivers {
        for c in &r.codecs {
            out.push(Stats::Codec(CodecStats {
                id: codec_id(r.transceiver.index(), c.payload_type),
                timestamp,
                payload_type: c.payload_type,
                transport_id: transport_id(),
                mime_type: c.mime_type.clone(),
                clock_rate: c.clock_rate,
                channels: c.channels,
                sdp_fmtp_line: c.sdp_fmtp_line.clone(),
            }));
        }
    }
    let kind = |k: MediaKind| k.as_str();
    for (ssrc, stream) in engine.streams.iter() {
        let Some(r) = engine
            .receivers
            .iter()
            .find(|r| r.transceiver.index() == stream.route.receiver.0)
        else {
            continue;
        };
        let video = r.kind == MediaKind::Video;
        let st = &stream.stats;
        let remote = engine.remote_outbound.get(&ssrc);
        out.push(Stats::InboundRtp(InboundRtpStats {
            id: format!("IT01{}{ssrc}", if video { "V" } else { "A" }),
            timestamp,
            ssrc,
            kind: kind(r.kind),
            transport_id: transport_id(),
            codec_id: r
                .codecs
                .first()
                .map(|c| codec_id(r.transceiver.index(), c.payload_type)),
            mid: r.mid.clone(),
            remote_id: remote.map(|_| format!("ROA{ssrc}")),
            // Every packet, those of the RFC 3550 probation included (A.3's `expected`
            // starts after probation, so received + lost = what the peer sent).
            packets_received: st.packets_seen(),
            packets_lost: st.cumulative_lost(),
            jitter: st.jitter_seconds(),
            bytes_received: st.bytes_seen(),
            nack_count: r.nacks_sent,
            pli_count: video.then_some(r.plis_sent),
            fir_count: video.then_some(r.firs_sent),
            frames_received: (video && r.mode == MediaMode::Frame).then_some(r.frames_received),
            packets_discarded: r.packets_discarded,
            retransmitted_packets_received: r.retransmitted_received,
        }));
        if let Some(ro) = remote {
            // NTP (1900) to milliseconds since 1970.
            let secs = (ro.ntp.0 >> 32) as f64 - 2_208_988_800.0;
            let frac = (ro.ntp.0 & 0xffff_ffff) as f64 / 4_294_967_296.0;
            out.push(Stats::RemoteOutboundRtp(RemoteOutboundRtpStats {
                id: format!("ROA{ssrc}"),
                timestamp,
                ssrc,
                kind: kind(r.kind),
                transport_id: transport_id(),
                local_id: format!("IT01{}{ssrc}", if video { "V" } else { "A" }),
                packets_sent: u64::from(ro.packets_sent),
                bytes_sent: u64::from(ro.octets_sent),
                remote_timestamp: (secs + frac) * 1000.0,
                reports_sent: ro.reports_sent,
            }));
        }
    }
    for s in &engine.senders {
        if s.stats.packets_sent() == 0 && !s.direction.sends() {
            continue;
        }
        let video = s.kind == MediaKind::Video;
        let ssrc = s.ssrc;
        let local_id = format!("OT01{}{ssrc}", if video { "V" } else { "A" });
        let codec = s.last_pt.map(|pt| codec_id(s.transceiver.index(), pt));
        let (rtx_packets, rtx_bytes) = s.stats.retransmitted();
        out.push(Stats::OutboundRtp(OutboundRtpStats {
            id: local_id.clone(),
            timestamp,
            ssrc,
            kind: kind(s.kind),
            transport_id: transport_id(),
            codec_id: codec.clone(),
            mid: s.mid.clone(),
            remote_id: s.remote_inbound.map(|_| format!("RIA{ssrc}")),
            packets_sent: s.stats.packets_sent(),
            bytes_sent: s.stats.payload_octets(),
            header_bytes_sent: s.stats.header_octets(),
            retransmitted_packets_sent: rtx_packets,
            retransmitted_bytes_sent: rtx_bytes,
            nack_count: s.nacks_received,
            pli_count: video.then_some(s.plis_received),
            fir_count: video.then_some(s.firs_received),
            frames_sent: (video && s.mode == MediaMode::Frame).then_some(s.frames_sent),
        }));
        if let Some(ri) = s.remote_inbound {
            let clock = s
                .codecs
                .first()
                .map_or(90_000.0, |c| f64::from(c.clock_rate.max(1)));
            out.push(Stats::RemoteInboundRtp(RemoteInboundRtpStats {
                id: format!("RIA{ssrc}"),
                timestamp,
                ssrc,
                kind: kind(s.kind),
                transport_id: transport_id(),
                codec_id: codec,
                local_id,
                packets_lost: i64::from(ri.block.cumulative_lost),
                fraction_lost: f64::from(ri.block.fraction_lost) / 256.0,
                jitter: f64::from(ri.block.jitter) / clock,
                round_trip_time: s.rtt.latest().map(|d| d.as_secs_f64()),
                total_round_trip_time: s.rtt.total().as_secs_f64(),
                round_trip_time_measurements: s.rtt.measurements(),
            }));
        }
    }
}
