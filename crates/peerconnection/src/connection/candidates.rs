//! ICE candidates: local interfaces and gathering events (`icecandidate`,
//! `icegatheringstatechange`), remote candidates (`addIceCandidate`), mDNS names.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ferrtc_ice::Candidate;
use ferrtc_sdp::SdpType;
use tracing::debug;

use super::{Event, IceCandidateInit, IceGatheringState, PeerConnection};
use crate::jsep::{self, LocalSection};
use crate::Error;

impl PeerConnection {
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

    pub(super) fn start_gathering_events(&mut self) {
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

    /// Announces a local candidate (`icecandidate`) for the section that carries the BUNDLE
    /// transport: the tagged section of our local description — in an answer the
    /// offerer-tagged one (RFC 8843 §7.3.1), which need not be the first — the one whose
    /// `a=candidate` lines `local_description()` writes (RFC 8838 §4.4: sdpMid and
    /// sdpMLineIndex name that section).
    pub(super) fn emit_candidate(&mut self, candidate: String) {
        let kind = self
            .pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .map_or(SdpType::Offer, |a| a.desc.sdp_type);
        let (bundle, tag) = self.bundle_of(kind);
        let index = jsep::transport_section(&self.local_sections, bundle, tag);
        let mid = index
            .and_then(|i| self.local_sections.get(i))
            .and_then(LocalSection::mid)
            .unwrap_or("0")
            .to_owned();
        let index = index.and_then(|i| u16::try_from(i).ok()).unwrap_or(0);
        self.events
            .push_back(Event::IceCandidate(Some(IceCandidateInit {
                candidate,
                sdp_mid: Some(mid),
                sdp_m_line_index: Some(index),
                username_fragment: Some(self.ice.local_credentials().ufrag.clone()),
            })));
    }

    pub(super) fn finish_gathering_events(&mut self) {
        if self.gathering != IceGatheringState::Complete {
            self.gathering = IceGatheringState::Complete;
            self.events.push_back(Event::IceCandidate(None));
            self.events
                .push_back(Event::IceGatheringStateChange(IceGatheringState::Complete));
        }
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

    pub(super) fn remote_ufrag(&self) -> Option<String> {
        self.remote
            .as_ref()
            .and_then(|r| r.transport.creds.as_ref())
            .map(|c| c.ufrag.clone())
    }
}
