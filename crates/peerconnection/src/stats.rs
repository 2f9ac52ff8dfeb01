//! `getStats()` (W3C webrtc-stats): the objects a data-channel peer connection has, with the
//! standard member names, serialising to the JSON a browser's
//! `Object.fromEntries(await pc.getStats())` gives.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use base64::Engine as _;
use ferrtc_ice::{CandidateType, PairState, Role as IceRole};
use serde::Serialize;

use crate::connection::{DtlsTransportState, PeerConnection};
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
