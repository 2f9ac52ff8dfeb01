//! The transceiver API of the peer connection (W3C webrtc-pc §4.4.1.x and §5.4):
//! addTransceiver, addTrack, removeTrack, setDirection, stop, setCodecPreferences, and the
//! `track` events of applied remote descriptions. The table itself is
//! [`crate::media::transceiver`]; JSEP writes and reads its m= sections in `jsep/`.

use tracing::debug;

use super::{Event, PeerConnection, SignalingState};
use crate::jsep::{self, LocalSection, RemoteInfo, RemoteMedia};
use crate::media::codec;
use crate::media::transceiver::Negotiated;
use crate::media::{
    Codec, Direction, LocalTrack, MediaKind, MediaMode, NegotiatedMedia, TrackInfo, TransceiverId,
    TransceiverInfo, TransceiverInit,
};
use crate::Error;

/// Longest stream, track or RID id we accept from the application (Chromium limits RIDs to
/// 16 characters; ids land in SDP lines, so they are bounded and checked).
const MAX_ID_LEN: usize = 64;
const MAX_RID_LEN: usize = 16;

/// An id that can be written in `a=msid` (RFC 8830 §2: `msid-id` / `msid-appdata` are
/// 1–64 token characters).
fn check_msid_id(what: &str, id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "-"
        && id.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'"' | b'('
                        | b')'
                        | b','
                        | b'/'
                        | b':'
                        | b';'
                        | b'<'
                        | b'='
                        | b'>'
                        | b'?'
                        | b'@'
                        | b'['
                        | b'\\'
                        | b']'
                        | b'{'
                        | b'}'
                )
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfiguration(format!(
            "TypeError: {what} {id:?} is not 1-64 token characters (RFC 8830 §2)"
        )))
    }
}

/// W3C §5.1 addTransceiver step "sendEncodings": RIDs by RFC 8851 §10 grammar, unique, and
/// present on every encoding when there are several.
fn check_encodings(init: &TransceiverInit) -> Result<(), Error> {
    let encs = &init.send_encodings;
    let mut seen: Vec<&str> = Vec::new();
    for e in encs {
        match e.rid.as_deref() {
            Some(r) => {
                let ok = !r.is_empty()
                    && r.len() <= MAX_RID_LEN
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(Error::InvalidConfiguration(format!(
                        "TypeError: rid {r:?} is not 1-16 of [A-Za-z0-9_-] (RFC 8851 §10)"
                    )));
                }
                if seen.contains(&r) {
                    return Err(Error::InvalidConfiguration(format!(
                        "TypeError: rid {r:?} given twice"
                    )));
                }
                seen.push(r);
            }
            None if encs.len() > 1 => {
                return Err(Error::InvalidConfiguration(
                    "TypeError: with several sendEncodings each needs a rid".into(),
                ))
            }
            None => {}
        }
    }
    for s in &init.stream_ids {
        check_msid_id("stream id", s)?;
    }
    Ok(())
}

impl PeerConnection {
    /// `addTransceiver(kind, init)` (W3C §4.4.1.x): a new transceiver with the given
    /// direction, stream ids, send encodings and media mode. Fires negotiationneeded.
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<TransceiverId, Error> {
        self.ensure_open()?;
        check_encodings(&init)?;
        self.room_for_transceiver()?;
        let id = self.transceivers.add(kind, init, None, &mut self.rng);
        self.media_negotiation_needed();
        Ok(id)
    }

    /// `addTrack(track, ...streams)` (W3C §4.4.1.x): reuses a transceiver of the track's kind
    /// whose sender never sent and has no track (its direction gains "send"), else creates a
    /// sendrecv one. Fires negotiationneeded.
    pub fn add_track(&mut self, track: LocalTrack) -> Result<TransceiverId, Error> {
        self.ensure_open()?;
        check_msid_id("track id", &track.id)?;
        for s in &track.stream_ids {
            check_msid_id("stream id", s)?;
        }
        if self
            .transceivers
            .iter()
            .any(|t| !t.stopped && t.sender_track.as_ref().is_some_and(|x| x.id == track.id))
        {
            return Err(Error::InvalidAccess(format!(
                "track {} already has a sender",
                track.id
            )));
        }
        let reuse = self
            .transceivers
            .iter()
            .find(|t| {
                t.sender_track.is_none()
                    && t.kind == track.kind
                    && !t.stopping
                    && !t.stopped
                    && !t.used_to_send
            })
            .map(|t| t.id);
        let id = match reuse.and_then(|id| self.transceivers.get_mut(id)) {
            Some(t) => {
                t.stream_ids = track.stream_ids.clone();
                t.sender_msid_track = track.id.clone();
                t.direction = match t.direction {
                    Direction::RecvOnly => Direction::SendRecv,
                    Direction::Inactive => Direction::SendOnly,
                    d => d,
                };
                t.sender_track = Some(track);
                t.id
            }
            None => {
                self.room_for_transceiver()?;
                let init = TransceiverInit {
                    direction: Direction::SendRecv,
                    stream_ids: track.stream_ids.clone(),
                    ..Default::default()
                };
                self.transceivers
                    .add(track.kind, init, Some(track), &mut self.rng)
            }
        };
        self.media_negotiation_needed();
        Ok(id)
    }

    /// `removeTrack(sender)` (W3C §4.4.1.x): the sender's track goes and its direction loses
    /// "send". Fires negotiationneeded.
    pub fn remove_track(&mut self, id: TransceiverId) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        if t.stopped || t.sender_track.is_none() {
            return Ok(());
        }
        t.sender_track = None;
        t.direction = match t.direction {
            Direction::SendRecv => Direction::RecvOnly,
            Direction::SendOnly => Direction::Inactive,
            d => d,
        };
        self.media_negotiation_needed();
        Ok(())
    }

    /// `sender.replaceTrack(track)` (W3C §5.2): the sender sends `track` (or nothing) from now
    /// on, without renegotiation; the track must be of the transceiver's kind.
    pub fn replace_track(
        &mut self,
        id: TransceiverId,
        track: Option<LocalTrack>,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        if t.stopping || t.stopped {
            return Err(Error::InvalidState(format!(
                "transceiver {} is stopped",
                id.index()
            )));
        }
        if let Some(tr) = &track {
            if tr.kind != t.kind {
                return Err(Error::InvalidConfiguration(format!(
                    "TypeError: a {} track on a {} transceiver",
                    tr.kind.as_str(),
                    t.kind.as_str()
                )));
            }
        }
        t.sender_track = track;
        Ok(())
    }

    /// Frame or RTP level for this transceiver's sender and receiver (ferrtc's addition to
    /// W3C: an SFU sets [`MediaMode::Rtp`] on the transceivers a remote offer created, from
    /// its `track` event). Applies at once, no renegotiation.
    pub fn set_media_mode(&mut self, id: TransceiverId, mode: MediaMode) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        if t.mode != mode {
            t.mode = mode;
            if t.negotiated.is_some() {
                self.apply_media();
            }
        }
        Ok(())
    }

    /// `transceiver.direction = d` (W3C §5.4). Fires negotiationneeded when it changes.
    pub fn set_direction(&mut self, id: TransceiverId, direction: Direction) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        if t.stopping || t.stopped {
            return Err(Error::InvalidState(format!(
                "transceiver {} is stopped",
                id.index()
            )));
        }
        if t.direction != direction {
            t.direction = direction;
            self.media_negotiation_needed();
        }
        Ok(())
    }

    /// `transceiver.stop()` (W3C §5.4, JSEP §4.2.2): sending and receiving stop now, the
    /// remote track ends, and the next offer or answer rejects the section. Fires
    /// negotiationneeded.
    pub fn stop_transceiver(&mut self, id: TransceiverId) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        if t.stopping || t.stopped {
            return Ok(());
        }
        t.stopping = true;
        let ended = t.receiver_track.take().is_some();
        if t.mid.is_none() {
            // Never negotiated: nothing to reject.
            t.stopped = true;
        }
        if ended {
            self.events.push_back(Event::TrackEnded(id));
        }
        self.apply_media();
        self.media_negotiation_needed();
        Ok(())
    }

    /// `setCodecPreferences(codecs)` (W3C §5.4): the codecs of this transceiver's future
    /// offers and answers, in this order. Each must be one we support (matched by mime type,
    /// clock rate, channels and format parameters; payload types are ours), and one at least
    /// must not be RED; otherwise `InvalidModificationError`. An empty list restores the
    /// defaults.
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: Vec<Codec>,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        let t = self
            .transceivers
            .get_mut(id)
            .ok_or(Error::NoSuchTransceiver)?;
        let defaults = codec::default_codecs(t.kind);
        let mut prefs: Vec<Codec> = Vec::new();
        for c in &codecs {
            let Some(ours) = defaults.iter().find(|d| codec::match_codec(d, c).is_some()) else {
                return Err(Error::InvalidModification(format!(
                    "codec {} {} Hz {:?} is not supported for {}",
                    c.mime_type,
                    c.clock_rate,
                    c.sdp_fmtp_line,
                    t.kind.as_str()
                )));
            };
            if !prefs.iter().any(|p| p.payload_type == ours.payload_type) {
                prefs.push(ours.clone());
            }
        }
        if !prefs.is_empty()
            && prefs
                .iter()
                .all(|p| codec::encoding_name(&p.mime_type).eq_ignore_ascii_case("red"))
        {
            return Err(Error::InvalidModification(
                "codec preferences hold only RED".into(),
            ));
        }
        t.codec_preferences = prefs;
        Ok(())
    }

    /// `getTransceivers()`, in creation order.
    pub fn transceivers(&self) -> Vec<TransceiverInfo> {
        self.transceivers.iter().map(|t| t.info()).collect()
    }

    /// One transceiver.
    pub fn transceiver(&self, id: TransceiverId) -> Option<TransceiverInfo> {
        self.transceivers.get(id).map(|t| t.info())
    }

    /// What the media engine runs after the last applied description: one entry per
    /// negotiated transceiver that is not stopped (what `setRemoteDescription` /
    /// `setLocalDescription` hand the engine on returning to stable), for inspection.
    pub fn negotiated_media(&self) -> Vec<NegotiatedMedia> {
        self.transceivers.negotiated()
    }

    fn room_for_transceiver(&mut self) -> Result<(), Error> {
        if self.transceivers.make_room() {
            Ok(())
        } else {
            Err(Error::InvalidState(format!(
                "at most {} transceivers per connection",
                crate::media::transceiver::MAX_TRANSCEIVERS
            )))
        }
    }

    // ----- negotiation-needed -----

    /// A transceiver change needs an offer (W3C §4.7.3 "update the negotiation-needed flag"):
    /// fired now when signaling is stable, else when it returns to stable.
    fn media_negotiation_needed(&mut self) {
        if self.signaling == SignalingState::Stable && self.media_needs_negotiation() {
            self.events.push_back(Event::NegotiationNeeded);
        }
    }

    /// W3C §4.7.3 "check if negotiation is needed", for the transceivers.
    pub(super) fn media_needs_negotiation(&self) -> bool {
        let we_offered = self
            .current_local
            .as_ref()
            .is_some_and(|a| a.desc.sdp_type == ferrtc_sdp::SdpType::Offer);
        self.transceivers.iter().any(|t| {
            if t.stopped {
                return false;
            }
            if t.stopping {
                return true;
            }
            let Some(mid) = &t.mid else { return true };
            let section = self.local_sections.iter().find_map(|s| match s {
                LocalSection::Media(m) if &m.mid == mid => Some(m),
                _ => None,
            });
            let Some(section) = section else {
                return true;
            };
            let wanted = if we_offered {
                t.direction
            } else {
                let offered = self.remote.as_ref().and_then(|r| {
                    r.sections
                        .iter()
                        .find(|s| s.mid.as_deref() == Some(mid))
                        .and_then(|s| s.media.as_ref())
                        .map(|m| m.direction)
                });
                match offered {
                    Some(o) => jsep::answer_direction(t.direction, o),
                    None => t.direction,
                }
            };
            // The msid of a sending section changed (addTrack on a reused transceiver).
            wanted != section.direction
                || (t.direction.sends()
                    && (t.sender_msid_track != section.track_id
                        || t.stream_ids != section.stream_ids))
        })
    }

    // ----- applying descriptions -----

    /// W3C §4.4.1.6 "process the addition/removal of a remote track" for transceiver `id`:
    /// a receiver starts when the remote sends to us (`remote_sends`), ends when it stops.
    fn update_remote_track(
        &mut self,
        id: TransceiverId,
        mid: &str,
        media: &RemoteMedia,
        remote_sends: bool,
    ) {
        let Some(t) = self.transceivers.get_mut(id) else {
            return;
        };
        // A stopping transceiver receives nothing any more (W3C §5.4 stop()); nor does one
        // without a codec in common: its track would be announced with no codec to decode,
        // and the section is answered inactive or rejected anyway. The track event comes only
        // once the receiver's codecs are visible in `transceivers()`.
        let remote_sends = remote_sends && !t.stopping && !t.stopped && !t.codecs().is_empty();
        if !remote_sends {
            if t.receiver_track.take().is_some() {
                self.events.push_back(Event::TrackEnded(id));
            }
            return;
        }
        let info = TrackInfo {
            transceiver: id,
            mid: mid.to_owned(),
            kind: t.kind,
            track_id: media
                .track_id
                .clone()
                .unwrap_or_else(|| format!("{}-{mid}", t.kind.as_str())),
            stream_ids: media.stream_ids.clone(),
        };
        match &t.receiver_track {
            Some(old) if old.track_id == info.track_id => {}
            Some(_) => {
                t.receiver_track = Some(info.clone());
                self.events.push_back(Event::TrackEnded(id));
                self.events.push_back(Event::Track(info));
            }
            None => {
                t.receiver_track = Some(info.clone());
                self.events.push_back(Event::Track(info));
            }
        }
    }

    /// A remote offer is applied (JSEP §5.10, W3C §4.4.1.6): each audio/video section is
    /// associated with a transceiver (the one with its mid, else an unassociated one of its
    /// kind, else a new recvonly one) and its receiver starts or ends.
    pub(super) fn associate_remote_offer(&mut self, info: &RemoteInfo) {
        if self.signaling == SignalingState::Stable {
            self.transceivers.begin_remote_offer();
        }
        for (i, sec) in info.sections.iter().enumerate() {
            let (Some(media), Some(mid)) = (&sec.media, &sec.mid) else {
                continue;
            };
            if sec.rejected {
                if let Some(t) = self.transceivers.by_mid_mut(mid) {
                    let id = t.id;
                    if t.set_stopped() {
                        self.events.push_back(Event::TrackEnded(id));
                    }
                }
                continue;
            }
            if !jsep::on_our_transport(info, i) {
                continue;
            }
            let id = match self.transceivers.by_mid(mid) {
                Some(t) if t.kind == media.kind => t.id,
                Some(_) => {
                    debug!(mid, "pc: remote section changed kind; not associated");
                    continue;
                }
                None => {
                    let free = self
                        .transceivers
                        .iter()
                        .filter(|t| {
                            t.mid.is_none() && !t.stopped && !t.stopping && t.kind == media.kind
                        })
                        // JSEP §5.10 prefers transceivers made by addTrack.
                        .min_by_key(|t| (!t.created_by_add_track, t.id))
                        .map(|t| t.id);
                    let id = match free {
                        Some(id) => id,
                        None if self.transceivers.make_room() => {
                            self.transceivers.add_for_remote(media.kind, &mut self.rng)
                        }
                        None => {
                            debug!(mid, "pc: transceiver limit reached; section not associated");
                            continue;
                        }
                    };
                    if let Some(t) = self.transceivers.get_mut(id) {
                        t.mid = Some(mid.clone());
                    }
                    id
                }
            };
            // A stopping transceiver receives nothing any more (W3C §5.4 stop()).
            let Some(t) = self
                .transceivers
                .get_mut(id)
                .filter(|t| !t.stopped && !t.stopping)
            else {
                continue;
            };
            // W3C §4.4.1.6: [[ReceiveCodecs]] are the codecs the offer negotiates for
            // receiving that we are prepared to receive (what our answer will keep, JSEP
            // §5.3.1), set before the track event so the application sees them with it.
            t.receive_codecs = if media.direction.sends() {
                codec::intersect(
                    &t.local_codecs(),
                    &media.codecs,
                    !t.codec_preferences.is_empty(),
                )
            } else {
                Vec::new()
            };
            self.update_remote_track(id, mid, media, media.direction.sends());
        }
    }

    /// Our answer is applied (JSEP §5.10 for the answerer): each accepted section's
    /// negotiated codecs, extensions, SSRCs and currentDirection are recorded; rejected
    /// sections stop their transceivers.
    pub(super) fn apply_local_answer(&mut self, remote: &RemoteInfo) {
        let sections = self.local_sections.clone();
        for (local, rsec) in sections.iter().zip(&remote.sections) {
            match local {
                LocalSection::Media(m) => {
                    let Some(t) = self.transceivers.get_mut(m.transceiver) else {
                        continue;
                    };
                    t.current_direction = Some(m.direction);
                    t.used_to_send |= m.direction.sends();
                    t.receive_codecs.clear();
                    t.negotiated = Some(Negotiated {
                        codecs: m.codecs.clone(),
                        extensions: m.extensions.clone(),
                        rtcp_rsize: m.rtcp_rsize,
                        remote_ssrcs: rsec
                            .media
                            .as_ref()
                            .map(|x| x.ssrcs.clone())
                            .unwrap_or_default(),
                        remote_rids: m.recv_rids.clone(),
                        local_rids: m.send_rids.clone(),
                    });
                }
                LocalSection::Rejected { mid: Some(mid), .. } => {
                    if let Some(t) = self.transceivers.by_mid_mut(mid) {
                        let id = t.id;
                        if t.set_stopped() {
                            self.events.push_back(Event::TrackEnded(id));
                        }
                    }
                }
                LocalSection::Inactive { mid: Some(mid), .. } => {
                    if let Some(t) = self.transceivers.by_mid_mut(mid) {
                        let id = t.id;
                        t.current_direction = Some(Direction::Inactive);
                        t.negotiated = None;
                        t.receive_codecs.clear();
                        if t.receiver_track.take().is_some() {
                            self.events.push_back(Event::TrackEnded(id));
                        }
                    }
                }
                _ => {}
            }
        }
        self.transceivers.commit_remote_offer();
    }

    /// The remote answer to our offer is applied (JSEP §5.11): for each of our audio/video
    /// sections, the codecs the answer kept (our payload types; fmtp as answered, rtcp-fb and
    /// RTX intersected), the extensions it kept with our ids, currentDirection (the answer's
    /// reversed), the remote SSRCs and RIDs; a rejected section stops its transceiver.
    pub(super) fn apply_remote_answer(&mut self, answer: &RemoteInfo) {
        let sections = self.local_sections.clone();
        for local in &sections {
            match local {
                LocalSection::Media(m) => {
                    let rsec = answer
                        .sections
                        .iter()
                        .find(|s| s.mid.as_deref() == Some(m.mid.as_str()));
                    let accepted = rsec.filter(|s| !s.rejected).and_then(|s| s.media.as_ref());
                    let id = m.transceiver;
                    let Some(media) = accepted else {
                        if let Some(t) = self.transceivers.get_mut(id) {
                            if t.set_stopped() {
                                self.events.push_back(Event::TrackEnded(id));
                            }
                        }
                        continue;
                    };
                    let codecs: Vec<Codec> = media
                        .codecs
                        .iter()
                        .filter_map(|ac| {
                            let oc = m
                                .codecs
                                .iter()
                                .find(|c| c.payload_type == ac.payload_type)?;
                            codec::match_codec(oc, ac)?;
                            Some(Codec {
                                payload_type: oc.payload_type,
                                mime_type: oc.mime_type.clone(),
                                clock_rate: oc.clock_rate,
                                channels: oc.channels,
                                sdp_fmtp_line: ac.sdp_fmtp_line.clone(),
                                rtcp_feedback: oc
                                    .rtcp_feedback
                                    .iter()
                                    .filter(|f| ac.rtcp_feedback.contains(f))
                                    .cloned()
                                    .collect(),
                                rtx_payload_type: oc
                                    .rtx_payload_type
                                    .filter(|r| ac.rtx_payload_type == Some(*r)),
                            })
                        })
                        .collect();
                    let extensions: Vec<(u8, String)> = media
                        .extensions
                        .iter()
                        .filter(|e| m.extensions.contains(e))
                        .cloned()
                        .collect();
                    let current = media.direction.reverse();
                    let Some(t) = self.transceivers.get_mut(id) else {
                        continue;
                    };
                    t.current_direction = Some(current);
                    t.used_to_send |= current.sends();
                    t.negotiated = if codecs.is_empty() {
                        debug!(mid = m.mid, "pc: the answer kept no codec we offered");
                        None
                    } else {
                        Some(Negotiated {
                            codecs,
                            extensions,
                            rtcp_rsize: m.rtcp_rsize && media.rtcp_rsize,
                            remote_ssrcs: media.ssrcs.clone(),
                            remote_rids: media.send_rids.clone(),
                            local_rids: media
                                .recv_rids
                                .iter()
                                .filter(|r| m.send_rids.contains(r))
                                .cloned()
                                .collect(),
                        })
                    };
                    let media = media.clone();
                    self.update_remote_track(id, &m.mid, &media, media.direction.sends());
                }
                LocalSection::Rejected { mid: Some(mid), .. } => {
                    if let Some(t) = self.transceivers.by_mid_mut(mid) {
                        if t.stopping || t.stopped {
                            let id = t.id;
                            if t.set_stopped() {
                                self.events.push_back(Event::TrackEnded(id));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        self.transceivers.commit_local_offer();
    }
}
