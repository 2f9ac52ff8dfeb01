//! The peer connection state machine: signaling (JSEP), the transport stack under it, and
//! the W3C states and events.
//!
//! This file holds the struct, the accessors, the output loop (`poll_output`, `pump`,
//! timers) and `close`. The rest, one concern per file:
//!
//! | file | what |
//! |------|------|
//! | `signaling.rs` | createOffer/createAnswer, setLocal/RemoteDescription, rollback, `a=setup` |
//! | `candidates.rs` | local interfaces, gathering events, addIceCandidate, mDNS names |
//! | `transport.rs` | remote transport applied to ICE/DTLS/SCTP, datagram demux, ICE and DTLS events |
//! | `channels.rs` | data channels: the channel table, the [`Channel`] handle, datachannel events |
//! | `timer.rs` | the table of named timers |
//! | `state.rs`, `event.rs` | W3C state enums, [`Event`] and [`Output`] |
//!
//! Everything moves through [`PeerConnection::pump`]: it drains each layer's events and
//! output into the next until nothing moves, then arms the timers. Media (issue 13) plugs in
//! at the same two places: its datagrams in `transport.rs`, its output and timers in `pump`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_datachannel::DataChannels;
use ferrtc_dtls::{Dtls, DtlsContext, Fingerprint, Role as DtlsRole};
use ferrtc_ice::{Agent, Candidate, ConnectionState as IceState, Credentials, Transmit};
use ferrtc_sdp::RtcSessionDescription;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tracing::{debug, warn};

use crate::config::Configuration;
use crate::jsep::{LocalSection, RemoteInfo};
use crate::media::engine::MediaEngine;
use crate::media::transceiver::TransceiverTable;
use crate::stats::{self, StatsReport};
use crate::Error;

mod candidates;
mod channels;
mod event;
mod media;
mod signaling;
mod state;
mod timer;
mod transceivers;
mod transport;

use timer::{Timer, TimerTable};

/// What [`Output::Timeout`] says when no timer is set: come back in an hour.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

pub(crate) use channels::ChannelTable;
pub use channels::{Channel, ChannelId, DataChannelInfo};
pub use event::{Event, IceCandidateInit, Output};
pub use signaling::OfferOptions;
pub use state::{DtlsTransportState, IceGatheringState, PeerConnectionState, SignalingState};
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
    pub(crate) channels: ChannelTable,
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
    /// Deadlines of the state machines under the connection.
    timers: TimerTable,
    /// Transceivers: the JSEP side of media (`transceivers.rs`).
    pub(crate) transceivers: TransceiverTable,
    /// The media engine: SRTP, senders, receivers, RTCP (`media.rs`). Made when the first
    /// media section is negotiated: a data-only connection does not carry one.
    pub(crate) media: Option<Box<MediaEngine>>,
    /// The wall-clock anchor for the engine (`set_wallclock`), kept until it exists.
    wallclock: Option<(Instant, Duration)>,
    /// RTP/RTCP datagrams that arrived while no media engine existed (counted as
    /// [`crate::media::MediaDrops::not_keyed`]).
    media_without_engine: u64,
    /// DTLS-SRTP keys kept while no media is negotiated (`media.rs`, `start_media`).
    srtp_keying: Option<ferrtc_dtls::SrtpKeyingMaterial>,
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
            channels: ChannelTable::default(),
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
            timers: TimerTable::default(),
            transceivers: TransceiverTable::new(),
            media: None,
            wallclock: None,
            media_without_engine: 0,
            srtp_keying: None,
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
        if let Some(sctp) = &self.sctp {
            return sctp.max_message_size();
        }
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

    /// Timers are due: fires every expired entry of the timer table.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.now = self.now.max(now);
        for timer in Timer::VALUES {
            if self.timers.is_expired(timer, now) {
                self.timers.stop(timer);
                self.on_timer(timer, now);
            }
        }
        self.pump();
    }

    fn on_timer(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::Ice => self.ice.handle_timeout(now),
            Timer::Dtls => {
                if let Some(d) = self.dtls.as_mut() {
                    if let Err(e) = d.handle_timeout(now) {
                        warn!(error = %e, "pc: DTLS failed");
                    }
                }
            }
            Timer::Sctp => {
                if let Some(s) = self.sctp.as_mut() {
                    s.handle_timeout(now);
                }
            }
            Timer::Media => {
                if let Some(m) = self.media.as_mut() {
                    m.handle_timeout(now);
                }
            }
        }
    }

    /// Copies the deadlines of the state machines into the timer table. Called at the end of
    /// every [`pump`](Self::pump), after which nothing changes them until the next input.
    pub(super) fn arm_timers(&mut self) {
        self.timers.set(Timer::Ice, self.ice.poll_timeout());
        self.timers
            .set(Timer::Dtls, self.dtls.as_ref().and_then(Dtls::poll_timeout));
        let sctp = match self.dtls_state {
            DtlsTransportState::Connected => self.sctp.as_ref().and_then(|s| s.poll_timeout()),
            _ => None,
        };
        self.timers.set(Timer::Sctp, sctp);
        let media = self.media.as_ref().and_then(|m| m.poll_timeout());
        self.timers.set(Timer::Media, media);
    }

    /// When [`PeerConnection::handle_timeout`] is next due: the earliest timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        self.timers.next_timeout()
    }

    /// The next output: datagrams first, then events, then the next timeout.
    #[must_use]
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
        Output::Timeout(self.poll_timeout().unwrap_or(self.now + IDLE_TIMEOUT))
    }

    pub(super) fn next_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.ice.poll_transmit() {
            return Some(t);
        }
        self.pump();
        self.ice.poll_transmit()
    }

    /// Moves data and events between the layers until nothing moves.
    pub(super) fn pump(&mut self) {
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
            // Media: protected RTP/RTCP out over the selected pair, frames and requests up.
            moved |= self.flush_media();
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
        self.arm_timers();
    }

    pub(super) fn update_state(&mut self) {
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
        // RTCP BYE for our streams (RFC 3550 §6.6), out with the final datagrams.
        if let Some(m) = self.media.as_mut() {
            m.close();
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
        self.retire_all_channels();
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
