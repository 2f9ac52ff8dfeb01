//! The transport under the peer connection: ICE and DTLS started from the negotiated
//! parameters, datagrams demultiplexed (RFC 7983) between them, and their events.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_datachannel::{DataChannels, DtlsRole as DcRole};
use ferrtc_dtls::{Dtls, Event as DtlsEvent, Role as DtlsRole};
use ferrtc_ice::{Candidate, Datagram, Event as IceEvent};
use ferrtc_stun::demux::{classify, PacketKind};
use tracing::{debug, trace, warn};

use super::{DtlsTransportState, Event, IceGatheringState, PeerConnection};
use crate::jsep::RemoteInfo;
use crate::Error;

impl PeerConnection {
    /// Applies the remote transport parameters: ICE credentials and candidates, the DTLS role
    /// and fingerprint, the SCTP port.
    pub(super) fn apply_remote_transport(
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
        // RFC 8841: SCTP runs only over a negotiated application section. A media-only
        // connection (a browser publishing over WHIP) gets no association, so no SCTP INIT
        // goes to a peer that expects none; one added by renegotiation starts here later.
        if self.sctp.is_none() && remote.data_index.is_some() {
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
            if self.dtls_state == DtlsTransportState::Connected {
                if let Some(s) = self.sctp.as_mut() {
                    s.connect(now);
                }
            }
        }
        if let Some(sctp) = self.sctp.as_mut() {
            // RFC 8841 §6: the remote's a=max-message-size bounds what send() accepts.
            sctp.set_remote_max_message_size_from_sdp(remote.max_message_size);
        }
        self.maybe_start_dtls(now);
        Ok(())
    }

    /// Whether an SCTP association exists: W3C `RTCPeerConnection.sctp` is not null. Only
    /// once a description with a data (application) section has been applied.
    pub fn has_sctp(&self) -> bool {
        self.sctp.is_some()
    }

    pub(super) fn maybe_start_dtls(&mut self, now: Instant) {
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
    /// (opened because an [`Output::Transmit`](super::Output::Transmit) for that stream asked
    /// for it).
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

    /// A datagram the agent let through (from a validated remote, possibly via a relay).
    pub(super) fn app_datagram(&mut self, now: Instant, data: Bytes) {
        self.packets_received += 1;
        self.bytes_received += data.len() as u64;
        // RFC 7983 §7 (updated by RFC 9443): one demultiplexer for the whole stack, the STUN
        // crate's. STUN and TURN ChannelData never get here: the ICE agent consumed them.
        match classify(&data) {
            PacketKind::Dtls => self.dtls_receive(now, data),
            // SRTP/SRTCP: the media engine unprotects, splits RTP from RTCP (RFC 5761 §4) and
            // routes (RFC 8843 §9.2).
            PacketKind::RtpRtcp => self.media_datagram(now, data),
            kind => trace!(?kind, "pc: datagram of another kind dropped"),
        }
    }

    pub(super) fn dtls_receive(&mut self, now: Instant, data: Bytes) {
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

    pub(super) fn on_ice_event(&mut self, ev: IceEvent) {
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

    pub(super) fn on_dtls_event(&mut self, ev: DtlsEvent) {
        match ev {
            DtlsEvent::Connected { cipher, srtp, .. } => {
                debug!(cipher, "pc: DTLS connected");
                self.start_media(srtp.as_ref());
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

    pub(super) fn sync_dtls_state(&mut self) {
        if let Some(d) = &self.dtls {
            if matches!(d.state(), ferrtc_dtls::State::Failed(_))
                && self.dtls_state != DtlsTransportState::Failed
            {
                self.dtls_state = DtlsTransportState::Failed;
                self.update_state();
            }
        }
    }
}
