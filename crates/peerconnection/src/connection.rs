//! The peer connection state machine: signaling (JSEP), the transport stack under it, and
//! the W3C states and events.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_datachannel::{
    ChannelInit, DataChannels, DtlsRole as DcRole, Event as DcEvent, ReadyState,
};
use ferrtc_dtls::{Dtls, DtlsContext, Event as DtlsEvent, Fingerprint, Role as DtlsRole};
use ferrtc_ice::{
    Agent, Candidate, ConnectionState as IceState, Credentials, Datagram, Event as IceEvent,
    Role as IceRole, Transmit,
};
use ferrtc_sdp::{RtcSessionDescription, SdpType, SessionDescription, Setup};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tracing::{debug, trace, warn};

use crate::config::{BundlePolicy, Configuration};
use crate::jsep::{self, LocalSection, RemoteInfo, DATA_PROTO};
use crate::stats::{self, StatsReport};
use crate::Error;

/// `RTCSignalingState` (W3C webrtc-pc §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// A local offer was applied.
    HaveLocalOffer,
    /// A remote offer was applied.
    HaveRemoteOffer,
    /// A remote offer and a local provisional answer were applied.
    HaveLocalPranswer,
    /// A local offer and a remote provisional answer were applied.
    HaveRemotePranswer,
    /// The connection is closed.
    Closed,
}

/// `RTCIceGatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceGatheringState {
    /// Nothing gathered yet (no local description).
    New,
    /// Gathering.
    Gathering,
    /// Done: every candidate was signalled.
    Complete,
}

/// `RTCPeerConnectionState` (W3C webrtc-pc §4.3.3): the aggregate of ICE and DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// ICE connected and DTLS connected.
    Connected,
    /// ICE disconnected.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// [`PeerConnection::close`] was called.
    Closed,
}

/// `RTCDtlsTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsTransportState {
    /// Not started.
    New,
    /// Handshake in progress.
    Connecting,
    /// Connected and the peer authenticated.
    Connected,
    /// Closed by close_notify.
    Closed,
    /// Handshake or authentication failed.
    Failed,
}

impl DtlsTransportState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DtlsTransportState::New => "new",
            DtlsTransportState::Connecting => "connecting",
            DtlsTransportState::Connected => "connected",
            DtlsTransportState::Closed => "closed",
            DtlsTransportState::Failed => "failed",
        }
    }
}

/// `RTCIceCandidateInit`: a candidate as signalled (trickle) in JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// `candidate:...` (empty: end of candidates).
    pub candidate: String,
    /// Media section the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// Index of that section.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// ICE generation.
    #[serde(default)]
    pub username_fragment: Option<String>,
}

/// Options of `createOffer`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// Restart ICE (new credentials; media stays on the current pair until a new one is
    /// selected).
    pub ice_restart: bool,
}

/// A data channel handle. Stable for the channel's lifetime (unlike the SCTP stream id, which
/// is assigned once the DTLS role is known and reused after a channel closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub u64);

/// What `RTCDataChannel` exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInfo {
    /// `label`.
    pub label: String,
    /// `protocol`.
    pub protocol: String,
    /// `id`: the SCTP stream id, once known.
    pub id: Option<u16>,
    /// `ordered`.
    pub ordered: bool,
    /// `maxRetransmits`.
    pub max_retransmits: Option<u16>,
    /// `maxPacketLifeTime` (ms).
    pub max_packet_life_time: Option<u16>,
    /// `negotiated`.
    pub negotiated: bool,
    /// `readyState`.
    pub ready_state: ReadyState,
}

/// What the application learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `icecandidate`: a local candidate to signal; `None` is the end of candidates.
    IceCandidate(Option<IceCandidateInit>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `selectedcandidatepairchange`.
    SelectedCandidatePairChange {
        /// Local address.
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
    /// `datachannel`: the peer opened a channel.
    DataChannel(ChannelId),
    /// The channel's `open` event.
    ChannelOpen(ChannelId),
    /// The channel's `message` event.
    ChannelMessage {
        /// Channel.
        channel: ChannelId,
        /// Payload.
        data: Bytes,
        /// Binary (`ArrayBuffer`) or text (`string`, UTF-8 as received).
        binary: bool,
    },
    /// `bufferedamountlow`.
    ChannelBufferedAmountLow(ChannelId),
    /// `closing`.
    ChannelClosing(ChannelId),
    /// `close`.
    ChannelClosed(ChannelId),
    /// A remote candidate uses this mDNS name: resolve it and call
    /// [`PeerConnection::resolve_name`].
    ResolveName(String),
    /// Answer mDNS queries for `name` with `ip` (when host names are hidden).
    MdnsName {
        /// The name.
        name: String,
        /// The address.
        ip: IpAddr,
    },
}

/// One step of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Tell the application.
    Event(Event),
    /// Nothing more now; call [`PeerConnection::handle_timeout`] at this instant.
    Timeout(Instant),
}

#[derive(Debug)]
pub(crate) struct ChannelEntry {
    pub stream: Option<u16>,
    pub init: ChannelInit,
    pub state: ReadyState,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub threshold: usize,
}

#[derive(Debug, Clone)]
struct Applied {
    desc: RtcSessionDescription,
}

/// The sans-IO `RTCPeerConnection`.
pub struct PeerConnection {
    cfg: Configuration,
    now: Instant,
    rng: StdRng,
    pub(crate) ice: Agent,
    dtls_ctx: DtlsContext,
    pub(crate) dtls: Option<Dtls>,
    pub(crate) dtls_role: Option<DtlsRole>,
    pub(crate) dtls_state: DtlsTransportState,
    pub(crate) dtls_cipher: Option<String>,
    remote_fingerprint: Option<Fingerprint>,
    pub(crate) sctp: Option<DataChannels>,
    pub(crate) channels: BTreeMap<ChannelId, ChannelEntry>,
    by_stream: HashMap<u16, ChannelId>,
    next_channel: u64,
    pub(crate) channels_opened: u64,
    pub(crate) channels_closed: u64,
    signaling: SignalingState,
    gathering: IceGatheringState,
    pub(crate) ice_state: IceState,
    state: PeerConnectionState,
    current_local: Option<Applied>,
    pending_local: Option<Applied>,
    current_remote: Option<Applied>,
    pending_remote: Option<Applied>,
    /// Parsed pending/current remote description.
    remote: Option<RemoteInfo>,
    last_offer: Option<String>,
    last_answer: Option<String>,
    /// Sections of the last local description (for renegotiation).
    local_sections: Vec<LocalSection>,
    session_id: u64,
    session_version: u64,
    /// Local candidates gathered (`candidate:...`).
    local_candidates: Vec<String>,
    gathering_done: bool,
    /// Remote candidates given before the remote description.
    early_candidates: Vec<Candidate>,
    remote_end_of_candidates: bool,
    /// DTLS output waiting for a selected pair.
    pending_dtls_out: VecDeque<Bytes>,
    /// DTLS input that arrived before the association exists.
    early_dtls_in: VecDeque<Bytes>,
    /// Transmits flushed out of ICE before it closed.
    final_transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    pub(crate) selected_pair_changes: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
    pub(crate) packets_sent: u64,
    pub(crate) packets_received: u64,
    negotiation_needed: bool,
    want_data_section: bool,
    closed: bool,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("signaling", &self.signaling)
            .field("ice", &self.ice_state)
            .field("dtls", &self.dtls_state)
            .field("state", &self.state)
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

fn invalid_state(what: &str, s: SignalingState) -> Error {
    Error::InvalidState(format!("{what} in signaling state {s:?}"))
}

impl PeerConnection {
    /// A new peer connection. `rng` seeds its own CSPRNG (ICE credentials, tie-breaker,
    /// transaction ids, SCTP tags, session id).
    pub fn new(cfg: Configuration, now: Instant, rng: &mut impl RngCore) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = StdRng::from_seed(seed);
        let agent_cfg = cfg.agent_config()?;
        let ice = Agent::new(agent_cfg, now, &mut rng);
        let session_id = rng.next_u64() >> 2; // positive in a signed 64-bit, as browsers write it
        Ok(PeerConnection {
            dtls_ctx: cfg.dtls.clone(),
            cfg,
            now,
            rng,
            ice,
            dtls: None,
            dtls_role: None,
            dtls_state: DtlsTransportState::New,
            dtls_cipher: None,
            remote_fingerprint: None,
            sctp: None,
            channels: BTreeMap::new(),
            by_stream: HashMap::new(),
            next_channel: 0,
            channels_opened: 0,
            channels_closed: 0,
            signaling: SignalingState::Stable,
            gathering: IceGatheringState::New,
            ice_state: IceState::New,
            state: PeerConnectionState::New,
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            remote: None,
            last_offer: None,
            last_answer: None,
            local_sections: Vec::new(),
            session_id,
            session_version: 1,
            local_candidates: Vec::new(),
            gathering_done: false,
            early_candidates: Vec::new(),
            remote_end_of_candidates: false,
            pending_dtls_out: VecDeque::new(),
            early_dtls_in: VecDeque::new(),
            final_transmits: VecDeque::new(),
            events: VecDeque::new(),
            selected_pair_changes: 0,
            bytes_sent: 0,
            bytes_received: 0,
            packets_sent: 0,
            packets_received: 0,
            negotiation_needed: false,
            want_data_section: false,
            closed: false,
        })
    }

    // ----- accessors -----

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.gathering
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceState {
        self.ice_state
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }

    /// The DTLS transport's state.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.dtls_state
    }

    /// The selected candidate pair (local, remote).
    pub fn selected_candidate_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.ice.selected_pair()
    }

    /// The ICE agent, read-only (candidates, pair statistics).
    pub fn ice_agent(&self) -> &Agent {
        &self.ice
    }

    /// The largest message the remote accepts (`RTCSctpTransport.maxMessageSize`, RFC 8841 §6:
    /// 64 KiB when the remote did not say, our own limit when it said 0 = unlimited).
    pub fn max_message_size(&self) -> usize {
        let local = self.cfg.sctp.max_message_size;
        match self.remote.as_ref().map(|r| r.max_message_size) {
            Some(Some(0)) => local,
            Some(Some(n)) => usize::try_from(n).unwrap_or(usize::MAX).min(local),
            Some(None) => 65_536.min(local),
            None => local,
        }
    }

    /// `currentLocalDescription` / `pendingLocalDescription` with the candidates gathered so
    /// far (`localDescription`).
    pub fn local_description(&self) -> Option<RtcSessionDescription> {
        let a = self
            .pending_local
            .as_ref()
            .or(self.current_local.as_ref())?;
        let sdp = self.write_local_sdp(a.desc.sdp_type, &self.local_sections);
        Some(RtcSessionDescription {
            sdp_type: a.desc.sdp_type,
            sdp,
        })
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
            .map(|a| a.desc.clone())
    }

    /// Our certificate's fingerprint, as in `a=fingerprint`.
    pub fn local_fingerprint(&self) -> Result<Fingerprint, Error> {
        Ok(self.dtls_ctx.config().certificate.fingerprint()?)
    }

    // ----- gathering -----

    /// A UDP socket the caller bound for this connection: becomes a host candidate (loopback
    /// only with `ice.include_loopback`), and server-reflexive/relayed gathering starts from it.
    pub fn add_local_interface(&mut self, now: Instant, addr: SocketAddr) -> Result<(), Error> {
        self.now = self.now.max(now);
        self.ice.add_local_interface(now, addr)?;
        self.pump();
        Ok(())
    }

    /// No more interfaces will be added: gathering completes when the STUN/TURN servers have
    /// answered.
    pub fn end_of_local_interfaces(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.ice.end_of_local_interfaces(now);
        self.pump();
    }

    /// Answers an [`Event::ResolveName`] (`None`: unresolvable; the candidate is dropped).
    pub fn resolve_name(&mut self, now: Instant, name: &str, ip: Option<IpAddr>) {
        self.now = self.now.max(now);
        if let Err(e) = self.ice.resolve_remote_name(now, name, ip) {
            debug!(error = %e, name, "pc: resolved name not used");
        }
        self.pump();
    }

    // ----- signaling -----

    fn ensure_open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn local_setup_for_offer(&self) -> Setup {
        // An offer is actpass (RFC 8842 §5.3); a re-offer after DTLS is up keeps our role.
        match self.dtls_role {
            Some(DtlsRole::Client) if self.current_local.is_some() => Setup::Active,
            Some(DtlsRole::Server) if self.current_local.is_some() => Setup::Passive,
            _ => Setup::ActPass,
        }
    }

    fn write_local_sdp(&self, kind: SdpType, sections: &[LocalSection]) -> String {
        let fingerprint = self
            .dtls_ctx
            .config()
            .certificate
            .fingerprint()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let setup = match kind {
            SdpType::Offer => self.local_setup_for_offer(),
            _ => match self.dtls_role {
                Some(DtlsRole::Server) => Setup::Passive,
                _ => Setup::Active,
            },
        };
        let bundle = match kind {
            SdpType::Offer => true,
            _ => self.remote.as_ref().is_some_and(|r| r.bundle.is_some()),
        };
        jsep::write_local(&jsep::LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            creds: self.ice.local_credentials(),
            fingerprint: &fingerprint,
            setup,
            ice_lite: self.cfg.ice_lite,
            sections,
            bundle,
            sctp_port: self.cfg.sctp_port,
            max_message_size: self.cfg.max_message_size,
            candidates: &self.local_candidates,
            end_of_candidates: self.gathering_done,
        })
    }

    fn offer_sections(&self) -> Vec<LocalSection> {
        // Keep the sections already negotiated (in order), add a data section if needed.
        let mut secs: Vec<LocalSection> = self
            .local_sections
            .iter()
            .filter(|_| self.current_local.is_some())
            .cloned()
            .collect();
        let has_data = secs.iter().any(|s| matches!(s, LocalSection::Data { .. }));
        if !has_data && (self.want_data_section || !self.channels.is_empty()) {
            let mut n = secs.len();
            let mid = loop {
                let m = n.to_string();
                if !secs.iter().any(|s| match s {
                    LocalSection::Data { mid, .. } => *mid == m,
                    LocalSection::Inactive { mid, .. } | LocalSection::Rejected { mid, .. } => {
                        mid.as_deref() == Some(&m)
                    }
                }) {
                    break m;
                }
                n += 1;
            };
            secs.push(LocalSection::Data {
                mid,
                proto: DATA_PROTO.to_owned(),
            });
        }
        if self.cfg.bundle_policy == BundlePolicy::MaxBundle {
            // One transport only: nothing else to mark for a data-only offer.
        }
        secs
    }

    /// `createOffer`.
    pub fn create_offer(&mut self, options: OfferOptions) -> Result<RtcSessionDescription, Error> {
        self.ensure_open()?;
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(invalid_state("createOffer", self.signaling));
        }
        if options.ice_restart && self.current_remote.is_some() {
            // RFC 8445 §9: new local credentials; the old pair keeps flowing until a new one is
            // selected. Applied now (JSEP applies it at setLocalDescription; the difference is
            // not observable unless the offer is discarded).
            self.ice.restart(self.now);
            self.local_candidates.clear();
            self.gathering_done = false;
            self.pump();
        }
        let sections = self.offer_sections();
        let sdp = self.write_local_sdp(SdpType::Offer, &sections);
        self.last_offer = Some(sdp.clone());
        Ok(RtcSessionDescription {
            sdp_type: SdpType::Offer,
            sdp,
        })
    }

    /// `createAnswer`.
    pub fn create_answer(&mut self) -> Result<RtcSessionDescription, Error> {
        self.ensure_open()?;
        if !matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(invalid_state("createAnswer", self.signaling));
        }
        let remote = self
            .remote
            .as_ref()
            .ok_or_else(|| invalid_state("createAnswer", self.signaling))?;
        let sections = jsep::answer_sections(remote);
        let kind = SdpType::Answer;
        let sdp = self.write_local_sdp_for_answer(kind, &sections);
        self.last_answer = Some(sdp.clone());
        Ok(RtcSessionDescription {
            sdp_type: kind,
            sdp,
        })
    }

    fn write_local_sdp_for_answer(&self, kind: SdpType, sections: &[LocalSection]) -> String {
        // Our DTLS role as answerer (RFC 8842 §5.3): active unless the offer said active.
        let setup = match self.remote.as_ref().and_then(|r| r.transport.setup) {
            Some(Setup::Active) => Setup::Passive,
            _ => Setup::Active,
        };
        let fingerprint = self
            .dtls_ctx
            .config()
            .certificate
            .fingerprint()
            .map(|f| f.to_string())
            .unwrap_or_default();
        jsep::write_local(&jsep::LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            creds: self.ice.local_credentials(),
            fingerprint: &fingerprint,
            setup,
            ice_lite: self.cfg.ice_lite,
            sections,
            bundle: self.remote.as_ref().is_some_and(|r| r.bundle.is_some())
                && kind != SdpType::Offer,
            sctp_port: self.cfg.sctp_port,
            max_message_size: self.cfg.max_message_size,
            candidates: &self.local_candidates,
            end_of_candidates: self.gathering_done,
        })
    }

    fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.events.push_back(Event::SignalingStateChange(s));
        }
    }

    /// `setLocalDescription`. An empty `sdp` means "the offer or answer I would create now"
    /// (the parameterless form). Rollback discards a pending local offer.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        self.now = self.now.max(now);
        match desc.sdp_type {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveLocalOffer {
                    return Err(invalid_state("rollback of a local offer", self.signaling));
                }
                self.pending_local = None;
                self.restore_sections_from_current();
                self.set_signaling(SignalingState::Stable);
                return Ok(());
            }
            SdpType::Offer => {
                if !matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveLocalOffer
                ) {
                    return Err(invalid_state("setLocalDescription(offer)", self.signaling));
                }
                let desc = if desc.sdp.is_empty() {
                    match self.last_offer.clone() {
                        Some(s) => RtcSessionDescription::new_text(SdpType::Offer, s),
                        None => self.create_offer(OfferOptions::default())?,
                    }
                } else {
                    desc
                };
                // JSEP §5.5: must be the last offer we created (modulo SDP munging, which is
                // not supported).
                self.check_ours(&desc.sdp, self.last_offer.as_deref())?;
                self.local_sections = self.offer_sections();
                if self.current_remote.is_none() && !self.ice.is_lite() {
                    self.ice.set_role(IceRole::Controlling);
                }
                self.pending_local = Some(Applied { desc });
                self.session_version += 1;
                self.set_signaling(SignalingState::HaveLocalOffer);
            }
            SdpType::Answer | SdpType::Pranswer => {
                if !matches!(
                    self.signaling,
                    SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
                ) {
                    return Err(invalid_state("setLocalDescription(answer)", self.signaling));
                }
                let desc = if desc.sdp.is_empty() {
                    let d = self.create_answer()?;
                    RtcSessionDescription::new_text(desc.sdp_type, d.sdp)
                } else {
                    desc
                };
                self.check_ours(&desc.sdp, self.last_answer.as_deref())?;
                let remote = self
                    .remote
                    .clone()
                    .ok_or_else(|| invalid_state("answer", self.signaling))?;
                self.local_sections = jsep::answer_sections(&remote);
                self.session_version += 1;
                // Our DTLS role: the offer's setup decides (RFC 8842 §5.3).
                let role = match remote.transport.setup {
                    Some(Setup::Active) => DtlsRole::Server,
                    _ => DtlsRole::Client,
                };
                if desc.sdp_type == SdpType::Answer {
                    if let Some(a) = self.pending_remote.take() {
                        self.current_remote = Some(a);
                    }
                    self.current_local = Some(Applied { desc });
                    self.pending_local = None;
                    self.set_signaling(SignalingState::Stable);
                } else {
                    self.pending_local = Some(Applied { desc });
                    self.set_signaling(SignalingState::HaveLocalPranswer);
                }
                // The answerer applies the remote transport now (the offerer's checks can come
                // only after it has our answer).
                self.apply_remote_transport(now, &remote, role)?;
            }
        }
        self.start_gathering_events();
        self.pump();
        Ok(())
    }

    fn restore_sections_from_current(&mut self) {
        self.local_sections = match (&self.current_local, &self.remote) {
            (Some(_), _) => self.local_sections.clone(),
            (None, _) => Vec::new(),
        };
    }

    fn check_ours(&self, sdp: &str, last: Option<&str>) -> Result<(), Error> {
        let parsed: SessionDescription = sdp.parse()?;
        let ours = self.ice.local_credentials();
        let creds = parsed
            .media()
            .find_map(|m| m.ice_credentials())
            .or_else(|| parsed.ice_credentials());
        match creds {
            Some(c) if c.ufrag == ours.ufrag && c.pwd == ours.pwd => Ok(()),
            None if parsed.media_count() == 0 => Ok(()),
            _ if last.is_some_and(|l| l == sdp) => Ok(()),
            _ => Err(Error::InvalidDescription(
                "not the description this connection created (SDP munging is not supported)".into(),
            )),
        }
    }

    fn start_gathering_events(&mut self) {
        if self.gathering == IceGatheringState::New {
            self.gathering = IceGatheringState::Gathering;
            self.events
                .push_back(Event::IceGatheringStateChange(IceGatheringState::Gathering));
            // Candidates gathered before the local description are in it; announce them too,
            // as a browser does for the ones it gathers after setLocalDescription.
            let cands = self.local_candidates.clone();
            for c in cands {
                self.emit_candidate(c);
            }
            if self.gathering_done {
                self.finish_gathering_events();
            }
        }
    }

    fn emit_candidate(&mut self, candidate: String) {
        let mid = self
            .local_sections
            .iter()
            .find_map(|s| match s {
                LocalSection::Data { mid, .. } => Some(mid.clone()),
                LocalSection::Inactive { mid, .. } => mid.clone(),
                LocalSection::Rejected { .. } => None,
            })
            .unwrap_or_else(|| "0".to_owned());
        let index = self
            .local_sections
            .iter()
            .position(|s| !matches!(s, LocalSection::Rejected { .. }))
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0);
        self.events
            .push_back(Event::IceCandidate(Some(IceCandidateInit {
                candidate,
                sdp_mid: Some(mid),
                sdp_m_line_index: Some(index),
                username_fragment: Some(self.ice.local_credentials().ufrag.clone()),
            })));
    }

    fn finish_gathering_events(&mut self) {
        if self.gathering != IceGatheringState::Complete {
            self.gathering = IceGatheringState::Complete;
            self.events.push_back(Event::IceCandidate(None));
            self.events
                .push_back(Event::IceGatheringStateChange(IceGatheringState::Complete));
        }
    }

    /// `setRemoteDescription`.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        self.now = self.now.max(now);
        match desc.sdp_type {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveRemoteOffer {
                    return Err(invalid_state("rollback of a remote offer", self.signaling));
                }
                // Nothing of a pending remote offer was applied to the transports yet.
                self.pending_remote = None;
                self.remote = self
                    .current_remote
                    .as_ref()
                    .and_then(|a| a.desc.parse().ok())
                    .and_then(|s| jsep::read_remote(&s).ok());
                self.set_signaling(SignalingState::Stable);
                return Ok(());
            }
            SdpType::Offer => {
                if !matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveRemoteOffer
                ) {
                    return Err(invalid_state("setRemoteDescription(offer)", self.signaling));
                }
            }
            SdpType::Answer | SdpType::Pranswer => {
                if !matches!(
                    self.signaling,
                    SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer
                ) {
                    return Err(invalid_state(
                        "setRemoteDescription(answer)",
                        self.signaling,
                    ));
                }
            }
        }
        let parsed = desc.parse()?;
        let info = jsep::read_remote(&parsed)?;
        if info.data_index.is_some() {
            if info.transport.creds.is_none() {
                return Err(Error::InvalidDescription(
                    "no a=ice-ufrag / a=ice-pwd for the data section".into(),
                ));
            }
            if info.transport.fingerprint.is_none() {
                return Err(Error::InvalidDescription(
                    "no a=fingerprint for the data section (RFC 8842 §5.1)".into(),
                ));
            }
        }
        match desc.sdp_type {
            SdpType::Offer => {
                if info.transport.setup == Some(Setup::HoldConn) {
                    return Err(Error::InvalidDescription("a=setup:holdconn offered".into()));
                }
                if self.current_remote.is_none() && !self.ice.is_lite() {
                    self.ice.set_role(IceRole::Controlled);
                }
                // The remote restarted ICE: so do we, so that our answer carries new
                // credentials too (RFC 8445 §9, RFC 8829 §5.3.1).
                let restarted = match (self.ice.remote_credentials(), &info.transport.creds) {
                    (Some(old), Some(new)) => old.ufrag != new.ufrag || old.pwd != new.pwd,
                    _ => false,
                };
                if restarted {
                    debug!("pc: remote ICE restart");
                    self.ice.restart(now);
                    self.local_candidates.clear();
                    self.gathering_done = false;
                    self.pump();
                }
                self.remote = Some(info);
                self.pending_remote = Some(Applied { desc });
                self.set_signaling(SignalingState::HaveRemoteOffer);
            }
            _ => {
                let ours = self.local_sections.iter().find_map(|s| match s {
                    LocalSection::Data { mid, .. } => Some(mid.clone()),
                    _ => None,
                });
                if ours.is_some() && info.data_mid() != ours.as_deref() {
                    warn!("pc: the answer rejected the data channel section");
                }
                // Our role from the answer's setup (RFC 8842 §5.3).
                let role = match info.transport.setup {
                    Some(Setup::Active) => DtlsRole::Server,
                    Some(Setup::Passive) => DtlsRole::Client,
                    None if info.data_index.is_none() => DtlsRole::Client,
                    other => {
                        return Err(Error::InvalidDescription(format!(
                            "answer has a=setup {:?}; must be active or passive",
                            other.map(Setup::as_str)
                        )))
                    }
                };
                let final_answer = desc.sdp_type == SdpType::Answer;
                self.remote = Some(info.clone());
                if final_answer {
                    self.current_remote = Some(Applied { desc });
                    self.pending_remote = None;
                    if let Some(l) = self.pending_local.take() {
                        self.current_local = Some(l);
                    }
                    self.set_signaling(SignalingState::Stable);
                } else {
                    self.pending_remote = Some(Applied { desc });
                    self.set_signaling(SignalingState::HaveRemotePranswer);
                }
                if info.data_index.is_some() {
                    self.apply_remote_transport(now, &info, role)?;
                }
            }
        }
        self.pump();
        Ok(())
    }

    /// Applies the remote transport parameters: ICE credentials and candidates, the DTLS role
    /// and fingerprint, the SCTP port.
    fn apply_remote_transport(
        &mut self,
        now: Instant,
        remote: &RemoteInfo,
        role: DtlsRole,
    ) -> Result<(), Error> {
        let t = &remote.transport;
        let Some(creds) = t.creds.clone() else {
            return Ok(());
        };
        self.ice.set_remote_lite(t.lite);
        self.ice.set_remote_credentials(now, creds.clone());
        let mut n = 0usize;
        for c in &t.candidates {
            if n >= self.cfg.max_remote_candidates {
                break;
            }
            match Candidate::parse(&format!("candidate:{c}")) {
                Ok(cand) => {
                    if let Err(e) = self.ice.add_remote_candidate(now, cand) {
                        debug!(error = %e, "pc: remote candidate not used");
                    }
                    n += 1;
                }
                Err(e) => debug!(error = %e, candidate = c, "pc: unparsable remote candidate"),
            }
        }
        for cand in std::mem::take(&mut self.early_candidates) {
            if let Err(e) = self.ice.add_remote_candidate(now, cand) {
                debug!(error = %e, "pc: remote candidate not used");
            }
        }
        if t.end_of_candidates || self.remote_end_of_candidates {
            self.ice.end_of_remote_candidates(now);
        }
        let Some(fp) = t.fingerprint.clone() else {
            return Ok(());
        };
        match (&mut self.dtls, &self.remote_fingerprint) {
            (Some(_), Some(old)) if *old == fp => {}
            (Some(_), Some(_)) => {
                // RFC 8842 §5.5: a new fingerprint means a new DTLS association; not supported
                // on a live connection.
                return Err(Error::InvalidDescription(
                    "the remote certificate fingerprint changed on a live connection".into(),
                ));
            }
            (Some(d), None) => {
                d.set_remote_fingerprint(fp.clone(), now)?;
                self.remote_fingerprint = Some(fp);
            }
            (None, _) => self.remote_fingerprint = Some(fp),
        }
        if self.dtls_role.is_none() {
            self.dtls_role = Some(role);
        }
        let mut sctp_cfg = self.cfg.sctp.clone();
        sctp_cfg.local_port = self.cfg.sctp_port;
        sctp_cfg.remote_port = remote.sctp_port.unwrap_or(5000);
        if self.sctp.is_none() {
            let dc_role = match self.dtls_role {
                Some(DtlsRole::Server) => DcRole::Server,
                _ => DcRole::Client,
            };
            let sctp = DataChannels::new(
                dc_role,
                sctp_cfg,
                self.cfg.data_channels.clone(),
                now,
                &mut self.rng,
            );
            self.sctp = Some(sctp);
            self.create_pending_channels();
        }
        self.maybe_start_dtls(now);
        Ok(())
    }

    fn create_pending_channels(&mut self) {
        let Some(sctp) = self.sctp.as_mut() else {
            return;
        };
        for (id, ch) in self.channels.iter_mut() {
            if ch.stream.is_some() || ch.state != ReadyState::Connecting {
                continue;
            }
            match sctp.create_channel(ch.init.clone()) {
                Ok(stream) => {
                    ch.stream = Some(stream);
                    self.by_stream.insert(stream, *id);
                    if ch.threshold > 0 {
                        sctp.set_buffered_amount_low_threshold(stream, ch.threshold);
                    }
                }
                Err(e) => {
                    debug!(error = %e, "pc: data channel could not be created");
                    ch.state = ReadyState::Closed;
                    self.events.push_back(Event::ChannelClosed(*id));
                }
            }
        }
    }

    fn maybe_start_dtls(&mut self, now: Instant) {
        if self.dtls.is_some() || self.closed {
            return;
        }
        let (Some(role), Some(fp)) = (self.dtls_role, self.remote_fingerprint.clone()) else {
            return;
        };
        // The client's ClientHello goes out at once: wait for a selected pair.
        if role == DtlsRole::Client && self.ice.selected_pair().is_none() {
            return;
        }
        match Dtls::new(&self.dtls_ctx, role, Some(fp), now) {
            Ok(d) => {
                self.dtls = Some(d);
                self.dtls_state = DtlsTransportState::Connecting;
                for d in std::mem::take(&mut self.early_dtls_in) {
                    self.dtls_receive(now, d);
                }
            }
            Err(e) => {
                warn!(error = %e, "pc: DTLS could not start");
                self.dtls_state = DtlsTransportState::Failed;
            }
        }
        self.update_state();
    }

    /// `addIceCandidate`. `None` (or an empty `candidate`) is the end of candidates.
    pub fn add_ice_candidate(
        &mut self,
        now: Instant,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        self.now = self.now.max(now);
        if self.remote.is_none() {
            return Err(Error::InvalidState(
                "addIceCandidate before setRemoteDescription".into(),
            ));
        }
        let Some(init) = candidate.filter(|c| !c.candidate.is_empty()) else {
            self.remote_end_of_candidates = true;
            if self.ice.remote_credentials().is_some() {
                self.ice.end_of_remote_candidates(now);
            }
            self.pump();
            return Ok(());
        };
        if let (Some(u), Some(r)) = (&init.username_fragment, self.remote_ufrag()) {
            if *u != r {
                // W3C §4.4.1.6: a candidate of another generation is an OperationError.
                return Err(Error::InvalidCandidate(format!(
                    "ufrag {u} is not the remote's current {r}"
                )));
            }
        }
        let cand = Candidate::parse(&init.candidate)
            .map_err(|e| Error::InvalidCandidate(e.to_string()))?;
        if self.ice.remote_credentials().is_some() {
            self.ice.add_remote_candidate(now, cand)?;
        } else if self.early_candidates.len() < self.cfg.max_remote_candidates {
            self.early_candidates.push(cand);
        } else {
            return Err(Error::InvalidCandidate("too many remote candidates".into()));
        }
        self.pump();
        Ok(())
    }

    fn remote_ufrag(&self) -> Option<String> {
        self.remote
            .as_ref()
            .and_then(|r| r.transport.creds.as_ref())
            .map(|c| c.ufrag.clone())
    }

    /// `restartIce()`: the next offer restarts ICE.
    pub fn restart_ice(&mut self) {
        self.negotiation_needed = true;
        self.events.push_back(Event::NegotiationNeeded);
    }

    // ----- data channels -----

    /// `createDataChannel`. Before the DTLS role is known the stream id is not assigned yet
    /// ([`DataChannelInfo::id`] is `None`), as in the browser.
    pub fn create_data_channel(&mut self, init: ChannelInit) -> Result<ChannelId, Error> {
        self.ensure_open()?;
        if init.max_retransmits.is_some() && init.max_packet_life_time.is_some() {
            return Err(ferrtc_datachannel::Error::BothReliabilityLimits.into());
        }
        if init.label.len() > 65535 || init.protocol.len() > 65535 {
            return Err(ferrtc_datachannel::Error::TooLong.into());
        }
        if let Some(id) = init.negotiated {
            if id == 65535
                || self
                    .channels
                    .values()
                    .any(|c| c.stream == Some(id) || c.init.negotiated == Some(id))
            {
                return Err(ferrtc_datachannel::Error::IdUnavailable(id).into());
            }
        }
        let id = ChannelId(self.next_channel);
        self.next_channel += 1;
        let first = self.channels.is_empty() && !self.has_data_section();
        let mut entry = ChannelEntry {
            stream: None,
            init: init.clone(),
            state: ReadyState::Connecting,
            messages_sent: 0,
            bytes_sent: 0,
            messages_received: 0,
            bytes_received: 0,
            threshold: 0,
        };
        if let Some(sctp) = self.sctp.as_mut() {
            let stream = sctp.create_channel(init)?;
            entry.stream = Some(stream);
            self.by_stream.insert(stream, id);
        }
        self.channels.insert(id, entry);
        self.want_data_section = true;
        if first {
            // The first channel needs an application section (W3C §6.2 step 19).
            self.events.push_back(Event::NegotiationNeeded);
        }
        self.pump();
        Ok(id)
    }

    fn has_data_section(&self) -> bool {
        self.local_sections
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. }))
            && self.current_local.is_some()
    }

    /// A channel's properties.
    pub fn channel(&self, id: ChannelId) -> Option<DataChannelInfo> {
        let c = self.channels.get(&id)?;
        let state = match (c.stream, self.sctp.as_ref()) {
            (Some(s), Some(sctp)) => sctp.channel(s).map(|i| i.ready_state).unwrap_or(c.state),
            _ => c.state,
        };
        Some(DataChannelInfo {
            label: c.init.label.clone(),
            protocol: c.init.protocol.clone(),
            id: c.stream,
            ordered: c.init.ordered,
            max_retransmits: c.init.max_retransmits,
            max_packet_life_time: c.init.max_packet_life_time,
            negotiated: c.init.negotiated.is_some(),
            ready_state: state,
        })
    }

    /// Handles of every channel.
    pub fn channel_ids(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.keys().copied()
    }

    fn stream_of(&self, id: ChannelId) -> Result<u16, Error> {
        let c = self.channels.get(&id).ok_or(Error::NoSuchChannel)?;
        match c.stream {
            Some(s) if self.sctp.is_some() => Ok(s),
            _ => Err(Error::InvalidState("the data channel is not open".into())),
        }
    }

    fn check_size(&self, len: usize) -> Result<(), Error> {
        let max = self.max_message_size();
        if len > max {
            return Err(Error::MessageTooLarge { size: len, max });
        }
        Ok(())
    }

    /// `send(string)`.
    pub fn send_text(&mut self, id: ChannelId, text: &str) -> Result<(), Error> {
        self.ensure_open()?;
        self.check_size(text.len())?;
        let stream = self.stream_of(id)?;
        let now = self.now;
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.send_text(now, stream, text)?;
        }
        if let Some(c) = self.channels.get_mut(&id) {
            c.messages_sent += 1;
            c.bytes_sent += text.len() as u64;
        }
        self.pump();
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub fn send_binary(&mut self, id: ChannelId, data: Bytes) -> Result<(), Error> {
        self.ensure_open()?;
        self.check_size(data.len())?;
        let stream = self.stream_of(id)?;
        let now = self.now;
        let len = data.len() as u64;
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.send_binary(now, stream, data)?;
        }
        if let Some(c) = self.channels.get_mut(&id) {
            c.messages_sent += 1;
            c.bytes_sent += len;
        }
        self.pump();
        Ok(())
    }

    /// `bufferedAmount`.
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        match (self.channels.get(&id).and_then(|c| c.stream), &self.sctp) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(s),
            _ => 0,
        }
    }

    /// `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: ChannelId, threshold: usize) {
        let Some(c) = self.channels.get_mut(&id) else {
            return;
        };
        c.threshold = threshold;
        if let (Some(s), Some(sctp)) = (c.stream, self.sctp.as_mut()) {
            sctp.set_buffered_amount_low_threshold(s, threshold);
        }
    }

    /// The channel's `close()`.
    pub fn close_channel(&mut self, id: ChannelId) -> Result<(), Error> {
        let c = self.channels.get_mut(&id).ok_or(Error::NoSuchChannel)?;
        match (c.stream, self.sctp.as_mut()) {
            (Some(s), Some(sctp)) => sctp.close(s)?,
            _ => {
                if c.state != ReadyState::Closed {
                    c.state = ReadyState::Closed;
                    self.events.push_back(Event::ChannelClosed(id));
                }
            }
        }
        self.pump();
        Ok(())
    }

    // ----- I/O -----

    /// A datagram arrived on one of the sockets (`destination` is that socket's address).
    /// Malformed or unauthenticated input is dropped (and reported as an error) without
    /// affecting the connection.
    pub fn handle_receive(&mut self, now: Instant, datagram: Datagram) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.now = self.now.max(now);
        let r = match self.ice.handle_receive(now, datagram) {
            Ok(Some(data)) => {
                self.app_datagram(now, data);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(Error::Ice(e)),
        };
        self.pump();
        r
    }

    /// Bytes read from the TCP or TLS connection from `local` to the TURN server `server`
    /// (opened because [`PeerConnection::poll_stream_transmit`] asked for it).
    pub fn handle_stream_data(
        &mut self,
        now: Instant,
        local: SocketAddr,
        server: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.now = self.now.max(now);
        let r = match self.ice.handle_stream_data(now, local, server, data) {
            Ok(datagrams) => {
                for d in datagrams {
                    self.app_datagram(now, d);
                }
                Ok(())
            }
            Err(e) => Err(Error::Ice(e)),
        };
        self.pump();
        r
    }

    /// The TCP/TLS connection to a TURN server could not be opened or was closed: the relayed
    /// candidate through it fails (gathering still completes).
    pub fn handle_stream_closed(&mut self, now: Instant, local: SocketAddr, server: SocketAddr) {
        self.now = self.now.max(now);
        self.ice.handle_stream_closed(now, local, server);
        self.pump();
    }

    /// Bytes to write to the TCP/TLS connection to a TURN server (`turn:…?transport=tcp`,
    /// `turns:`). The first one for a (`local`, `server`) pair means "connect"; see
    /// [`ferrtc_ice::StreamTransmit`]. Drain it whenever [`PeerConnection::poll_output`] has
    /// returned a timeout.
    pub fn poll_stream_transmit(&mut self) -> Option<ferrtc_ice::StreamTransmit> {
        if self.closed {
            return None;
        }
        self.ice.poll_stream_transmit()
    }

    /// A datagram the agent let through (from a validated remote, possibly via a relay).
    fn app_datagram(&mut self, now: Instant, data: Bytes) {
        self.packets_received += 1;
        self.bytes_received += data.len() as u64;
        // RFC 7983 §7: demultiplex on the first byte.
        match data.first() {
            Some(20..=63) => self.dtls_receive(now, data),
            Some(128..=191) => trace!("pc: RTP/RTCP ignored (no media negotiated)"),
            _ => trace!("pc: datagram of unknown kind dropped"),
        }
    }

    fn dtls_receive(&mut self, now: Instant, data: Bytes) {
        match self.dtls.as_mut() {
            Some(d) => {
                if let Err(e) = d.handle_receive(now, data) {
                    debug!(error = %e, "pc: DTLS input");
                }
            }
            None => {
                if self.early_dtls_in.len() < self.cfg.max_pending_datagrams {
                    self.early_dtls_in.push_back(data);
                }
            }
        }
    }

    /// Timers are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.now = self.now.max(now);
        if self.ice.poll_timeout().is_some_and(|t| t <= now) {
            self.ice.handle_timeout(now);
        }
        if let Some(d) = self.dtls.as_mut() {
            if d.poll_timeout().is_some_and(|t| t <= now) {
                if let Err(e) = d.handle_timeout(now) {
                    warn!(error = %e, "pc: DTLS failed");
                }
            }
        }
        if let Some(s) = self.sctp.as_mut() {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
        self.pump();
    }

    /// When [`PeerConnection::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t = self.ice.poll_timeout();
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        min(self.dtls.as_ref().and_then(|d| d.poll_timeout()));
        if self.dtls_state == DtlsTransportState::Connected {
            min(self.sctp.as_ref().and_then(|s| s.poll_timeout()));
        }
        t
    }

    /// The next output: datagrams first, then events, then the next timeout.
    pub fn poll_output(&mut self) -> Output {
        if let Some(t) = self.final_transmits.pop_front() {
            return Output::Transmit(t);
        }
        if !self.closed {
            if let Some(t) = self.next_transmit() {
                return Output::Transmit(t);
            }
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        Output::Timeout(
            self.poll_timeout()
                .unwrap_or(self.now + Duration::from_secs(3600)),
        )
    }

    fn next_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.ice.poll_transmit() {
            return Some(t);
        }
        self.pump();
        self.ice.poll_transmit()
    }

    /// Moves data and events between the layers until nothing moves.
    fn pump(&mut self) {
        for _ in 0..64 {
            let mut moved = false;
            while let Some(ev) = self.ice.poll_event() {
                moved = true;
                self.on_ice_event(ev);
            }
            if let Some(d) = self.dtls.as_mut() {
                let mut evs = Vec::new();
                while let Some(ev) = d.poll_event() {
                    evs.push(ev);
                }
                for ev in evs {
                    moved = true;
                    self.on_dtls_event(ev);
                }
                self.sync_dtls_state();
            }
            if self.dtls_state == DtlsTransportState::Connected {
                if let (Some(s), Some(d)) = (self.sctp.as_mut(), self.dtls.as_mut()) {
                    while let Some(p) = s.poll_transmit() {
                        moved = true;
                        if let Err(e) = d.send(&p) {
                            debug!(error = %e, "pc: SCTP packet not sent over DTLS");
                        }
                    }
                }
            }
            if let Some(s) = self.sctp.as_mut() {
                let mut evs = Vec::new();
                while let Some(ev) = s.poll_event() {
                    evs.push(ev);
                }
                for ev in evs {
                    moved = true;
                    self.on_sctp_event(ev);
                }
            }
            if let Some(d) = self.dtls.as_mut() {
                while let Some(b) = d.poll_transmit() {
                    moved = true;
                    self.pending_dtls_out.push_back(b);
                }
            }
            if self.ice.selected_pair().is_some() {
                while let Some(b) = self.pending_dtls_out.pop_front() {
                    self.packets_sent += 1;
                    self.bytes_sent += b.len() as u64;
                    if let Err(e) = self.ice.send(b) {
                        debug!(error = %e, "pc: datagram not sent");
                    }
                }
            } else {
                while self.pending_dtls_out.len() > self.cfg.max_pending_datagrams {
                    self.pending_dtls_out.pop_front();
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn on_ice_event(&mut self, ev: IceEvent) {
        match ev {
            IceEvent::LocalCandidate(c) => {
                let line = c.to_string();
                self.local_candidates.push(line.clone());
                if self.gathering != IceGatheringState::New {
                    self.emit_candidate(line);
                }
            }
            IceEvent::GatheringComplete => {
                self.gathering_done = true;
                if self.gathering == IceGatheringState::Gathering {
                    self.finish_gathering_events();
                }
            }
            IceEvent::ConnectionState(s) => {
                self.ice_state = s;
                self.events.push_back(Event::IceConnectionStateChange(s));
                self.update_state();
            }
            IceEvent::SelectedPairChanged { local, remote } => {
                self.selected_pair_changes += 1;
                self.events
                    .push_back(Event::SelectedCandidatePairChange { local, remote });
                let now = self.now;
                self.maybe_start_dtls(now);
            }
            IceEvent::RoleChanged(_) => {}
            IceEvent::ResolveName(n) => self.events.push_back(Event::ResolveName(n)),
            IceEvent::MdnsName { name, ip } => {
                self.events.push_back(Event::MdnsName { name, ip });
            }
        }
    }

    fn on_dtls_event(&mut self, ev: DtlsEvent) {
        match ev {
            DtlsEvent::Connected { cipher, .. } => {
                debug!(cipher, "pc: DTLS connected");
                self.dtls_cipher = Some(cipher);
                self.dtls_state = DtlsTransportState::Connected;
                let now = self.now;
                if let Some(s) = self.sctp.as_mut() {
                    s.connect(now);
                }
                self.update_state();
            }
            DtlsEvent::ApplicationData(data) => {
                let now = self.now;
                if let Some(s) = self.sctp.as_mut() {
                    if let Err(e) = s.handle_receive(now, data) {
                        debug!(error = %e, "pc: SCTP input");
                    }
                }
            }
            DtlsEvent::Alert(a) => debug!(alert = a.name(), "pc: DTLS alert"),
            DtlsEvent::Closed => {
                self.dtls_state = DtlsTransportState::Closed;
                self.update_state();
            }
        }
    }

    fn sync_dtls_state(&mut self) {
        if let Some(d) = &self.dtls {
            if matches!(d.state(), ferrtc_dtls::State::Failed(_))
                && self.dtls_state != DtlsTransportState::Failed
            {
                self.dtls_state = DtlsTransportState::Failed;
                self.update_state();
            }
        }
    }

    fn handle_for(&mut self, stream: u16) -> ChannelId {
        if let Some(id) = self.by_stream.get(&stream) {
            return *id;
        }
        let id = ChannelId(self.next_channel);
        self.next_channel += 1;
        let info = self.sctp.as_ref().and_then(|s| s.channel(stream)).cloned();
        let init = match info {
            Some(i) => ChannelInit {
                label: i.label,
                protocol: i.protocol,
                ordered: i.ordered,
                max_retransmits: i.max_retransmits,
                max_packet_life_time: i.max_packet_life_time,
                negotiated: None,
                priority: i.priority,
            },
            None => ChannelInit::default(),
        };
        self.channels.insert(
            id,
            ChannelEntry {
                stream: Some(stream),
                init,
                state: ReadyState::Connecting,
                messages_sent: 0,
                bytes_sent: 0,
                messages_received: 0,
                bytes_received: 0,
                threshold: 0,
            },
        );
        self.by_stream.insert(stream, id);
        id
    }

    fn on_sctp_event(&mut self, ev: DcEvent) {
        match ev {
            DcEvent::Connected => debug!("pc: SCTP connected"),
            DcEvent::ChannelOpen { id: stream, remote } => {
                let known = self.by_stream.contains_key(&stream);
                let id = self.handle_for(stream);
                if let Some(c) = self.channels.get_mut(&id) {
                    c.state = ReadyState::Open;
                }
                self.channels_opened += 1;
                if remote && !known {
                    self.events.push_back(Event::DataChannel(id));
                }
                self.events.push_back(Event::ChannelOpen(id));
            }
            DcEvent::Message { id, data, binary } => {
                let Some(&h) = self.by_stream.get(&id) else {
                    return;
                };
                if let Some(c) = self.channels.get_mut(&h) {
                    c.messages_received += 1;
                    c.bytes_received += data.len() as u64;
                }
                self.events.push_back(Event::ChannelMessage {
                    channel: h,
                    data,
                    binary,
                });
            }
            DcEvent::BufferedAmountLow(id) => {
                if let Some(&h) = self.by_stream.get(&id) {
                    self.events.push_back(Event::ChannelBufferedAmountLow(h));
                }
            }
            DcEvent::ChannelClosing(id) => {
                if let Some(&h) = self.by_stream.get(&id) {
                    if let Some(c) = self.channels.get_mut(&h) {
                        c.state = ReadyState::Closing;
                    }
                    self.events.push_back(Event::ChannelClosing(h));
                }
            }
            DcEvent::ChannelClosed(id) => {
                if let Some(h) = self.by_stream.remove(&id) {
                    if let Some(c) = self.channels.get_mut(&h) {
                        if c.state == ReadyState::Open || c.state == ReadyState::Closing {
                            self.channels_closed += 1;
                        }
                        c.state = ReadyState::Closed;
                        c.stream = None;
                    }
                    self.events.push_back(Event::ChannelClosed(h));
                }
            }
            DcEvent::Closed { reason } => {
                debug!(reason, "pc: SCTP association closed");
                let open: Vec<(u16, ChannelId)> =
                    self.by_stream.iter().map(|(s, h)| (*s, *h)).collect();
                for (s, h) in open {
                    self.by_stream.remove(&s);
                    if let Some(c) = self.channels.get_mut(&h) {
                        if c.state != ReadyState::Closed {
                            if c.state == ReadyState::Open {
                                self.channels_closed += 1;
                            }
                            c.state = ReadyState::Closed;
                            self.events.push_back(Event::ChannelClosed(h));
                        }
                    }
                }
            }
        }
    }

    fn update_state(&mut self) {
        let s = if self.closed {
            PeerConnectionState::Closed
        } else if self.ice_state == IceState::Failed
            || self.dtls_state == DtlsTransportState::Failed
        {
            PeerConnectionState::Failed
        } else if self.ice_state == IceState::Disconnected {
            PeerConnectionState::Disconnected
        } else if matches!(self.ice_state, IceState::Connected | IceState::Completed)
            && self.dtls_state == DtlsTransportState::Connected
        {
            PeerConnectionState::Connected
        } else if matches!(self.ice_state, IceState::New | IceState::Closed)
            && matches!(
                self.dtls_state,
                DtlsTransportState::New | DtlsTransportState::Closed
            )
        {
            PeerConnectionState::New
        } else {
            PeerConnectionState::Connecting
        };
        if s != self.state {
            self.state = s;
            self.events.push_back(Event::ConnectionStateChange(s));
        }
    }

    /// `close()`: every channel closes, SCTP is aborted, DTLS sends close_notify, ICE stops.
    /// The final datagrams are still returned by [`PeerConnection::poll_output`].
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        if let Some(s) = self.sctp.as_mut() {
            s.association_mut().abort("peer connection closed");
        }
        self.pump();
        if let Some(d) = self.dtls.as_mut() {
            d.close();
        }
        self.pump();
        while let Some(t) = self.ice.poll_transmit() {
            self.final_transmits.push_back(t);
        }
        self.ice.close();
        self.closed = true;
        for (id, c) in self.channels.iter_mut() {
            if c.state != ReadyState::Closed {
                c.state = ReadyState::Closed;
                self.events.push_back(Event::ChannelClosed(*id));
            }
        }
        self.dtls_state = DtlsTransportState::Closed;
        self.ice_state = IceState::Closed;
        self.signaling = SignalingState::Closed;
        self.update_state();
    }

    /// `getStats()`: W3C webrtc-stats objects; `timestamp` is in milliseconds since the UNIX
    /// epoch (the caller's wall clock).
    pub fn get_stats(&self, timestamp: f64) -> StatsReport {
        stats::collect(self, timestamp)
    }

    pub(crate) fn dtls_context(&self) -> &DtlsContext {
        &self.dtls_ctx
    }

    pub(crate) fn remote_fingerprint(&self) -> Option<&Fingerprint> {
        self.remote_fingerprint.as_ref()
    }

    pub(crate) fn local_creds(&self) -> &Credentials {
        self.ice.local_credentials()
    }
}

trait NewText {
    fn new_text(t: SdpType, sdp: String) -> Self;
}

impl NewText for RtcSessionDescription {
    fn new_text(sdp_type: SdpType, sdp: String) -> Self {
        RtcSessionDescription { sdp_type, sdp }
    }
}
