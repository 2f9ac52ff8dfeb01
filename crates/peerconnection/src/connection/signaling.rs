//! Signaling: the JSEP offer/answer state machine (RFC 8829 §4.1.8-§4.1.10), rollback, ICE
//! restart.

use std::time::Instant;

use ferrtc_dtls::Role as DtlsRole;
use ferrtc_ice::Role as IceRole;
use ferrtc_sdp::{RtcSessionDescription, SdpType, SessionDescription, Setup};
use tracing::{debug, warn};

use super::{Applied, Event, PeerConnection, SignalingState};
use crate::jsep::{self, LocalSection, RemoteInfo};
use crate::Error;

/// Options of `createOffer`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// Restart ICE (new credentials; media stays on the current pair until a new one is
    /// selected).
    pub ice_restart: bool,
}

pub(super) fn invalid_state(what: &str, s: SignalingState) -> Error {
    Error::InvalidState(format!("{what} in signaling state {s:?}"))
}

impl PeerConnection {
    // ----- signaling -----

    pub(super) fn ensure_open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Our `a=setup` (RFC 8842 §5.3, §5.5). An offer is actpass, but a re-offer once DTLS
    /// is up keeps our role. An answer keeps the role DTLS has; in a first answer we are
    /// active unless the offer said active.
    pub(super) fn local_setup(&self, kind: SdpType) -> Setup {
        let negotiated = self.current_local.is_some();
        match (kind, self.dtls_role) {
            (SdpType::Offer, Some(DtlsRole::Client)) if negotiated => Setup::Active,
            (SdpType::Offer, Some(DtlsRole::Server)) if negotiated => Setup::Passive,
            (SdpType::Offer, _) => Setup::ActPass,
            (_, Some(DtlsRole::Server)) => Setup::Passive,
            (_, Some(DtlsRole::Client)) => Setup::Active,
            (_, None) => match self.remote.as_ref().and_then(|r| r.transport.setup) {
                Some(Setup::Active) => Setup::Passive,
                _ => Setup::Active,
            },
        }
    }

    /// The text of a local description of this `kind` with these sections, the candidates
    /// gathered so far included.
    pub(super) fn write_local_sdp(&self, kind: SdpType, sections: &[LocalSection]) -> String {
        let fingerprint = self
            .dtls_ctx
            .config()
            .certificate
            .fingerprint()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let (bundle, bundle_tag) = self.bundle_of(kind);
        let mut sdp = jsep::write_local(&jsep::LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            creds: self.ice.local_credentials(),
            fingerprint: &fingerprint,
            setup: self.local_setup(kind),
            ice_lite: self.cfg.ice_lite,
            sections,
            bundle,
            sctp_port: self.cfg.sctp_port,
            max_message_size: self.cfg.max_message_size,
            candidates: &self.local_candidates,
            end_of_candidates: self.gathering_done,
            bundle_tag,
            // RFC 8285 §6: an offer with audio/video says a=extmap-allow-mixed at session level
            // (as browsers do: the peer may then mix one- and two-byte extension elements,
            // which ferrtc reads); an answer echoes it only where the offer had it.
            extmap_allow_mixed: match kind {
                SdpType::Offer => sections
                    .iter()
                    .any(|s| matches!(s, jsep::LocalSection::Media(_))),
                _ => self.remote.as_ref().is_some_and(|r| r.extmap_allow_mixed),
            },
        });
        // The text is kept (the last offer or answer, the applied descriptions): no slack
        // from the writer's size estimate (issue 17: memory per idle connection).
        sdp.shrink_to_fit();
        sdp
    }

    /// Whether a local description of this `kind` has a BUNDLE group, and (in an answer) the
    /// offerer-tagged mid. An offer proposes BUNDLE; an answer accepts it if the offer had it
    /// (RFC 9143 §7).
    pub(super) fn bundle_of(&self, kind: SdpType) -> (bool, Option<&str>) {
        match kind {
            SdpType::Offer => (true, None),
            _ => {
                let group = self.remote.as_ref().and_then(|r| r.bundle.as_ref());
                (
                    group.is_some(),
                    group.and_then(|g| g.first()).map(String::as_str),
                )
            }
        }
    }

    pub(super) fn offer_sections(&self) -> Vec<LocalSection> {
        let negotiated: &[LocalSection] = if self.current_local.is_some() {
            &self.local_sections
        } else {
            &[]
        };
        // Mids of the remote description are not given to new sections (RFC 8843 §7.2.1:
        // a mid identifies one section for the session's life).
        let taken: Vec<String> = self
            .remote
            .as_ref()
            .map(|r| r.sections.iter().filter_map(|s| s.mid.clone()).collect())
            .unwrap_or_default();
        jsep::offer_sections(
            negotiated,
            self.want_data_section || !self.channels.is_empty(),
            &self.transceivers,
            &taken,
        )
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
        let sections = jsep::answer_sections(remote, &self.transceivers);
        let kind = SdpType::Answer;
        let sdp = self.write_local_sdp(kind, &sections);
        self.last_answer = Some(sdp.clone());
        Ok(RtcSessionDescription {
            sdp_type: kind,
            sdp,
        })
    }

    pub(super) fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.events.push_back(Event::SignalingStateChange(s));
        }
        if s == SignalingState::Stable {
            // An offer/answer exchange completed or was rolled back: the engine runs what is
            // negotiated now (JSEP §5.10/§5.11 "apply").
            self.apply_media();
            // W3C §4.4.1.6: back in stable, changes made meanwhile need another offer.
            if self.media_needs_negotiation() {
                self.events.push_back(Event::NegotiationNeeded);
            }
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
            SdpType::Rollback => return self.rollback_local(),
            SdpType::Offer => self.set_local_offer(desc)?,
            SdpType::Answer | SdpType::Pranswer => self.set_local_answer(now, desc)?,
        }
        self.start_gathering_events();
        self.pump();
        Ok(())
    }

    /// Rollback of a pending local offer (RFC 8829 §4.1.10.2).
    fn rollback_local(&mut self) -> Result<(), Error> {
        if self.signaling != SignalingState::HaveLocalOffer {
            return Err(invalid_state("rollback of a local offer", self.signaling));
        }
        self.pending_local = None;
        self.transceivers.rollback_local_offer();
        match self.current_local.as_ref().map(|a| a.desc.sdp_type) {
            None => self.local_sections.clear(),
            // Back to the sections of the description in force (JSEP §4.1.8.2).
            Some(_) => {
                if let Some(secs) = self.transceivers.sections_before_local_offer.take() {
                    self.local_sections = secs;
                }
            }
        }
        self.set_signaling(SignalingState::Stable);
        Ok(())
    }

    fn set_local_offer(&mut self, desc: RtcSessionDescription) -> Result<(), Error> {
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(invalid_state("setLocalDescription(offer)", self.signaling));
        }
        let desc = if desc.sdp.is_empty() {
            match self.last_offer.clone() {
                Some(sdp) => RtcSessionDescription {
                    sdp_type: SdpType::Offer,
                    sdp,
                },
                None => self.create_offer(OfferOptions::default())?,
            }
        } else {
            desc
        };
        // JSEP §5.5: must be the last offer we created (modulo SDP munging, which is not
        // supported).
        self.check_ours(&desc.sdp, self.last_offer.as_deref())?;
        let sections = self.offer_sections();
        if self.signaling == SignalingState::Stable {
            self.transceivers.sections_before_local_offer =
                Some(std::mem::replace(&mut self.local_sections, sections));
        } else {
            self.local_sections = sections;
        }
        // JSEP §5.2.1: the offer gives mids to the transceivers it adds sections for.
        let mids: Vec<_> = self
            .local_sections
            .iter()
            .filter_map(|s| match s {
                LocalSection::Media(m) => Some((m.transceiver, m.mid.clone())),
                _ => None,
            })
            .collect();
        self.transceivers.assign_offer_mids(&mids);
        if self.current_remote.is_none() && !self.ice.is_lite() {
            self.ice.set_role(IceRole::Controlling);
        }
        self.pending_local = Some(Applied { desc });
        self.session_version += 1;
        self.set_signaling(SignalingState::HaveLocalOffer);
        Ok(())
    }

    fn set_local_answer(&mut self, now: Instant, desc: RtcSessionDescription) -> Result<(), Error> {
        if !matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(invalid_state("setLocalDescription(answer)", self.signaling));
        }
        let desc = if desc.sdp.is_empty() {
            let d = self.create_answer()?;
            RtcSessionDescription {
                sdp_type: desc.sdp_type,
                sdp: d.sdp,
            }
        } else {
            desc
        };
        self.check_ours(&desc.sdp, self.last_answer.as_deref())?;
        let remote = self
            .remote
            .clone()
            .ok_or_else(|| invalid_state("answer", self.signaling))?;
        self.local_sections = jsep::answer_sections(&remote, &self.transceivers);
        let mark = self.events.len();
        self.apply_local_answer(&remote);
        let tracks = self.take_events_since(mark);
        self.session_version += 1;
        // Our DTLS role: what our answer says (RFC 8842 §5.3).
        let role = match self.local_setup(SdpType::Answer) {
            Setup::Passive => DtlsRole::Server,
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
        self.events.extend(tracks);
        // The answerer applies the remote transport now (the offerer's checks can come only
        // after it has our answer).
        self.apply_remote_transport(now, &remote, role)
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

    /// `setRemoteDescription`.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        self.now = self.now.max(now);
        let (allowed, what) = match desc.sdp_type {
            SdpType::Rollback => return self.rollback_remote(),
            SdpType::Offer => (
                matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveRemoteOffer
                ),
                "setRemoteDescription(offer)",
            ),
            SdpType::Answer | SdpType::Pranswer => (
                matches!(
                    self.signaling,
                    SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer
                ),
                "setRemoteDescription(answer)",
            ),
        };
        if !allowed {
            return Err(invalid_state(what, self.signaling));
        }
        let info = jsep::read_remote(&desc.parse()?)?;
        if let Some(ti) = info.transport_index {
            let what = if Some(ti) == info.data_index {
                "the data section"
            } else {
                "the BUNDLE transport's section"
            };
            if info.transport.creds.is_none() {
                return Err(Error::InvalidDescription(format!(
                    "no a=ice-ufrag / a=ice-pwd for {what}"
                )));
            }
            if info.transport.fingerprint.is_none() {
                return Err(Error::InvalidDescription(format!(
                    "no a=fingerprint for {what} (RFC 8842 §5.1)"
                )));
            }
        }
        match desc.sdp_type {
            SdpType::Offer => self.set_remote_offer(now, desc, info)?,
            _ => self.set_remote_answer(now, desc, info)?,
        }
        self.pump();
        Ok(())
    }

    /// Rollback of a pending remote offer (RFC 8829 §4.1.10.2): nothing of it was applied to
    /// the transports yet.
    fn rollback_remote(&mut self) -> Result<(), Error> {
        if self.signaling != SignalingState::HaveRemoteOffer {
            return Err(invalid_state("rollback of a remote offer", self.signaling));
        }
        self.pending_remote = None;
        self.remote = self
            .current_remote
            .as_ref()
            .and_then(|a| a.desc.parse().ok())
            .and_then(|s| jsep::read_remote(&s).ok());
        let ended = self.transceivers.rollback_remote_offer();
        self.set_signaling(SignalingState::Stable);
        self.events.extend(ended.into_iter().map(Event::TrackEnded));
        Ok(())
    }

    fn set_remote_offer(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
        info: RemoteInfo,
    ) -> Result<(), Error> {
        if info.transport.setup == Some(Setup::HoldConn) {
            return Err(Error::InvalidDescription("a=setup:holdconn offered".into()));
        }
        if self.current_remote.is_none() && !self.ice.is_lite() {
            self.ice.set_role(IceRole::Controlled);
        }
        // The remote restarted ICE: so do we, so that our answer carries new credentials too
        // (RFC 8445 §9, RFC 8829 §5.3.1).
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
        let mark = self.events.len();
        self.associate_remote_offer(&info);
        let tracks = self.take_events_since(mark);
        self.remote = Some(info);
        self.pending_remote = Some(Applied { desc });
        self.set_signaling(SignalingState::HaveRemoteOffer);
        // W3C §4.4.1.6: track events after signalingstatechange.
        self.events.extend(tracks);
        Ok(())
    }

    fn set_remote_answer(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
        info: RemoteInfo,
    ) -> Result<(), Error> {
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
            None if info.transport_index.is_none() => DtlsRole::Client,
            other => {
                return Err(Error::InvalidDescription(format!(
                    "answer has a=setup {:?}; must be active or passive",
                    other.map(Setup::as_str)
                )))
            }
        };
        self.remote = Some(info.clone());
        let mark = self.events.len();
        self.apply_remote_answer(&info);
        let tracks = self.take_events_since(mark);
        if desc.sdp_type == SdpType::Answer {
            self.transceivers.sections_before_local_offer = None;
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
        self.events.extend(tracks);
        if info.transport_index.is_some() {
            self.apply_remote_transport(now, &info, role)?;
        }
        Ok(())
    }

    /// The events queued since `mark` (the track events of a description being applied), to
    /// be queued again after its signalingstatechange (W3C §4.4.1.6 order).
    fn take_events_since(&mut self, mark: usize) -> Vec<Event> {
        let mark = mark.min(self.events.len());
        self.events.drain(mark..).collect()
    }

    /// `restartIce()`: the next offer restarts ICE.
    pub fn restart_ice(&mut self) {
        self.negotiation_needed = true;
        self.events.push_back(Event::NegotiationNeeded);
    }
}
