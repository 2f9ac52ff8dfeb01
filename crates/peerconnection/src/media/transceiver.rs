//! The transceiver table (W3C webrtc-pc §5.4, JSEP RFC 8829 §4.2.1–§4.2.3 and §5): each
//! transceiver's kind, direction, mid, sender track, codec preferences and what was negotiated
//! for it; produces [`NegotiatedMedia`] for the engine after each applied description.

use ferrtc_rtp::ExtensionMap;
use rand::RngCore;
use tracing::debug;

use super::codec;
use super::negotiated::{NegotiatedMedia, RemoteSsrc};
use super::types::{
    Codec, Direction, LocalTrack, MediaKind, MediaMode, SendEncoding, TrackInfo, TransceiverId,
    TransceiverInfo, TransceiverInit,
};

/// What an applied offer/answer settled for one transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub codecs: Vec<Codec>,
    pub extensions: Vec<(u8, String)>,
    pub rtcp_rsize: bool,
    pub remote_ssrcs: Vec<RemoteSsrc>,
    pub remote_rids: Vec<String>,
    pub local_rids: Vec<String>,
}

/// One transceiver (W3C `RTCRtpTransceiver` with its sender and receiver).
#[derive(Debug, Clone)]
pub(crate) struct Transceiver {
    pub id: TransceiverId,
    pub kind: MediaKind,
    /// The mid, once an offer or answer associated it (JSEP §5.2.1 / §5.10).
    pub mid: Option<String>,
    pub direction: Direction,
    pub current_direction: Option<Direction>,
    /// `stop()` was called; the next offer or answer rejects its section.
    pub stopping: bool,
    /// Its section was rejected or the stop negotiated.
    pub stopped: bool,
    pub sender_track: Option<LocalTrack>,
    /// The sender's stream ids (`a=msid`).
    pub stream_ids: Vec<String>,
    /// The track id written in `a=msid`: the id of the track `addTrack` attached, else a
    /// random one (W3C: the sender's id). `replaceTrack` does not change it (no
    /// renegotiation, W3C §5.2).
    pub sender_msid_track: String,
    pub receiver_track: Option<TrackInfo>,
    pub mode: MediaMode,
    pub send_encodings: Vec<SendEncoding>,
    /// `setCodecPreferences`; empty: our defaults.
    pub codec_preferences: Vec<Codec>,
    pub local_ssrc: u32,
    pub local_rtx_ssrc: Option<u32>,
    /// W3C "[[Sender]] has been used to send": a negotiated direction that sends.
    pub used_to_send: bool,
    /// Created by a remote offer (W3C "process remote tracks"), not by the application.
    pub created_by_remote: bool,
    /// Created by `addTrack` (JSEP §5.10 associates these with remote sections).
    pub created_by_add_track: bool,
    pub negotiated: Option<Negotiated>,
    /// W3C `[[ReceiveCodecs]]` set by a remote offer (webrtc-pc §4.4.1.6): the codecs it
    /// negotiates for receiving that we accept, shown until an answer settles `negotiated`.
    pub receive_codecs: Vec<Codec>,
}

impl Transceiver {
    /// The codecs we offer / accept: the preferences, else the defaults.
    pub(crate) fn local_codecs(&self) -> Vec<Codec> {
        if self.codec_preferences.is_empty() {
            codec::default_codecs(self.kind)
        } else {
            self.codec_preferences.clone()
        }
    }

    /// Our send RIDs (simulcast layers named by the application).
    pub(crate) fn send_rids(&self) -> Vec<String> {
        self.send_encodings
            .iter()
            .filter_map(|e| e.rid.clone())
            .collect()
    }

    /// The codecs its receiver accepts now: the negotiated ones, else those a pending remote
    /// offer negotiates for receiving (empty: it receives nothing).
    pub(crate) fn codecs(&self) -> &[Codec] {
        match &self.negotiated {
            Some(n) => &n.codecs,
            None => &self.receive_codecs,
        }
    }

    /// The public view.
    pub(crate) fn info(&self) -> TransceiverInfo {
        TransceiverInfo {
            id: self.id,
            kind: self.kind,
            mid: self.mid.clone(),
            direction: self.direction,
            current_direction: if self.stopped {
                None
            } else {
                self.current_direction
            },
            stopped: self.stopped || self.stopping,
            sender_track: self.sender_track.clone(),
            receiver_track: self.receiver_track.clone(),
            mode: self.mode,
            codecs: self.codecs().to_vec(),
        }
    }

    /// Marks the transceiver stopped (JSEP §4.2.2: its section is rejected from now on).
    /// Returns whether a remote track ended.
    pub(crate) fn set_stopped(&mut self) -> bool {
        self.stopped = true;
        self.stopping = true;
        self.current_direction = None;
        self.negotiated = None;
        self.receive_codecs.clear();
        self.receiver_track.take().is_some()
    }
}

/// Most transceivers one connection holds (each costs a section in every later offer; a
/// remote peer could otherwise grow the table with each renegotiation). Stopped ones are
/// dropped to make room before this limit refuses a new one.
pub(crate) const MAX_TRANSCEIVERS: usize = 512;

/// A random 32-bit id no one in `used` has and not 0.
fn fresh_ssrc(rng: &mut impl RngCore, used: &[u32]) -> u32 {
    loop {
        let s = rng.next_u32();
        if s != 0 && !used.contains(&s) {
            return s;
        }
    }
}

/// All transceivers of one peer connection, in creation order (the order of their m= sections
/// in our first offer).
#[derive(Debug, Default)]
pub(crate) struct TransceiverTable {
    list: Vec<Transceiver>,
    next_id: u32,
    /// Our RTCP CNAME (RFC 7022: random, one per connection), made with the first transceiver.
    cname: String,
    /// The table before the pending remote offer, for its rollback (JSEP §4.1.8.2).
    before_remote_offer: Option<Vec<Transceiver>>,
    /// Transceivers whose mid the pending local offer assigned, for its rollback.
    mids_of_local_offer: Vec<TransceiverId>,
    /// The local sections in force before the pending local offer, for its rollback.
    pub(crate) sections_before_local_offer: Option<Vec<crate::jsep::LocalSection>>,
}

impl TransceiverTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Our CNAME.
    pub(crate) fn cname(&self) -> &str {
        &self.cname
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Transceiver> {
        self.list.iter()
    }

    #[cfg(test)]
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Transceiver> {
        self.list.iter_mut()
    }

    pub(crate) fn get(&self, id: TransceiverId) -> Option<&Transceiver> {
        self.list.iter().find(|t| t.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: TransceiverId) -> Option<&mut Transceiver> {
        self.list.iter_mut().find(|t| t.id == id)
    }

    pub(crate) fn by_mid(&self, mid: &str) -> Option<&Transceiver> {
        self.list.iter().find(|t| t.mid.as_deref() == Some(mid))
    }

    pub(crate) fn by_mid_mut(&mut self, mid: &str) -> Option<&mut Transceiver> {
        self.list.iter_mut().find(|t| t.mid.as_deref() == Some(mid))
    }

    /// Whether another transceiver fits ([`MAX_TRANSCEIVERS`]), after dropping stopped ones
    /// if needed (W3C §4.4.1.6 removes stopped transceivers from the set).
    pub(crate) fn make_room(&mut self) -> bool {
        if self.list.len() >= MAX_TRANSCEIVERS {
            self.list.retain(|t| !t.stopped);
        }
        self.list.len() < MAX_TRANSCEIVERS
    }

    /// Adds a transceiver with fresh SSRCs (an RTX one for video: every video codec we offer
    /// has RTX).
    pub(crate) fn add(
        &mut self,
        kind: MediaKind,
        init: TransceiverInit,
        track: Option<LocalTrack>,
        rng: &mut impl RngCore,
    ) -> TransceiverId {
        if self.cname.is_empty() {
            self.cname = random_token(rng, 16);
        }
        let used: Vec<u32> = self
            .list
            .iter()
            .flat_map(|t| [Some(t.local_ssrc), t.local_rtx_ssrc])
            .flatten()
            .collect();
        let local_ssrc = fresh_ssrc(rng, &used);
        let local_rtx_ssrc = match kind {
            MediaKind::Video => {
                let mut used = used;
                used.push(local_ssrc);
                Some(fresh_ssrc(rng, &used))
            }
            MediaKind::Audio => None,
        };
        let id = TransceiverId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        let send_encodings = if init.send_encodings.is_empty() {
            vec![SendEncoding::default()]
        } else {
            init.send_encodings
        };
        self.list.push(Transceiver {
            id,
            kind,
            mid: None,
            direction: init.direction,
            current_direction: None,
            stopping: false,
            stopped: false,
            sender_msid_track: match &track {
                Some(t) => t.id.clone(),
                None => random_token(rng, 24),
            },
            created_by_add_track: track.is_some(),
            sender_track: track,
            stream_ids: init.stream_ids,
            receiver_track: None,
            mode: init.mode,
            send_encodings,
            codec_preferences: Vec::new(),
            local_ssrc,
            local_rtx_ssrc,
            used_to_send: false,
            created_by_remote: false,
            negotiated: None,
            receive_codecs: Vec::new(),
        });
        id
    }

    /// Before applying a remote offer: remember the table for a rollback.
    pub(crate) fn begin_remote_offer(&mut self) {
        self.before_remote_offer = Some(self.list.clone());
    }

    /// The remote offer was answered (or replaced): nothing to roll back to.
    pub(crate) fn commit_remote_offer(&mut self) {
        self.before_remote_offer = None;
    }

    /// Rollback of a remote offer (JSEP §4.1.8.2, W3C §4.4.1.5): the transceivers it created
    /// go (unless the application attached a track since), the mids it assigned are cleared,
    /// receivers return to what they were. Returns the ids whose remote track ended.
    pub(crate) fn rollback_remote_offer(&mut self) -> Vec<TransceiverId> {
        let Some(before) = self.before_remote_offer.take() else {
            return Vec::new();
        };
        let mut ended = Vec::new();
        let mut restored = Vec::new();
        for t in std::mem::take(&mut self.list) {
            match before.iter().find(|b| b.id == t.id) {
                Some(b) => {
                    if t.receiver_track.is_some() && b.receiver_track.is_none() {
                        ended.push(t.id);
                    }
                    // Application changes made since (direction, track, stop) stay.
                    let mut b = b.clone();
                    b.direction = t.direction;
                    b.sender_track = t.sender_track;
                    b.stream_ids = t.stream_ids;
                    b.stopping = t.stopping || b.stopping;
                    b.codec_preferences = t.codec_preferences;
                    restored.push(b);
                }
                None if t.created_by_remote && t.sender_track.is_none() => {
                    if t.receiver_track.is_some() {
                        ended.push(t.id);
                    }
                }
                None => {
                    // Created by the offer but given a track by addTrack since: kept,
                    // unassociated (W3C §4.4.1.5 rollback step for such transceivers).
                    let mut t = t;
                    if t.receiver_track.take().is_some() {
                        ended.push(t.id);
                    }
                    t.mid = None;
                    restored.push(t);
                }
            }
        }
        self.list = restored;
        ended
    }

    /// Records the mids a local offer gives to transceivers that had none.
    pub(crate) fn assign_offer_mids(&mut self, mids: &[(TransceiverId, String)]) {
        for (id, mid) in mids {
            if let Some(t) = self.get_mut(*id) {
                if t.mid.is_none() {
                    t.mid = Some(mid.clone());
                    self.mids_of_local_offer.push(*id);
                }
            }
        }
    }

    /// The local offer was answered: its mids stay.
    pub(crate) fn commit_local_offer(&mut self) {
        self.mids_of_local_offer.clear();
    }

    /// Rollback of a local offer: the mids it assigned are cleared (JSEP §4.1.8.2).
    pub(crate) fn rollback_local_offer(&mut self) {
        for id in std::mem::take(&mut self.mids_of_local_offer) {
            if let Some(t) = self.get_mut(id) {
                if t.current_direction.is_none() {
                    t.mid = None;
                }
            }
        }
    }

    /// Creates a transceiver for a remote section no transceiver takes (W3C §4.4.1.6
    /// "process remote tracks": direction recvonly).
    pub(crate) fn add_for_remote(
        &mut self,
        kind: MediaKind,
        rng: &mut impl RngCore,
    ) -> TransceiverId {
        let id = self.add(
            kind,
            TransceiverInit {
                direction: Direction::RecvOnly,
                ..Default::default()
            },
            None,
            rng,
        );
        if let Some(t) = self.get_mut(id) {
            t.created_by_remote = true;
        }
        id
    }

    /// What the engine must run now: one entry per negotiated, non-stopped transceiver.
    pub(crate) fn negotiated(&self) -> Vec<NegotiatedMedia> {
        self.list
            .iter()
            // A stopping transceiver stops sending and receiving at once (W3C §5.4 stop()).
            .filter(|t| !t.stopped && !t.stopping)
            .filter_map(|t| {
                let n = t.negotiated.as_ref()?;
                let mid = t.mid.clone()?;
                let direction = t.current_direction?;
                let mut extensions = ExtensionMap::new();
                for (id, uri) in &n.extensions {
                    if let Err(e) = extensions.insert(*id, uri) {
                        debug!(error = %e, id, uri, "pc: extension id not usable");
                    }
                }
                Some(NegotiatedMedia {
                    transceiver: t.id,
                    mid,
                    kind: t.kind,
                    mode: t.mode,
                    direction,
                    codecs: n.codecs.clone(),
                    extensions,
                    rtcp_rsize: n.rtcp_rsize,
                    local_ssrc: t.local_ssrc,
                    local_rtx_ssrc: if n.codecs.iter().any(|c| c.rtx_payload_type.is_some()) {
                        t.local_rtx_ssrc
                    } else {
                        None
                    },
                    cname: self.cname.clone(),
                    remote_ssrcs: n.remote_ssrcs.clone(),
                    remote_rids: n.remote_rids.clone(),
                    local_rids: n.local_rids.clone(),
                })
            })
            .collect()
    }
}

/// `n` random characters from the RFC 4566 token set browsers use for ids (letters, digits,
/// `+`, `/`).
pub(crate) fn random_token(rng: &mut impl RngCore, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n)
        .map(|_| {
            let i = (rng.next_u32() % 64) as usize;
            ALPHABET.get(i).copied().map_or('A', char::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ssrcs_are_distinct_and_video_has_rtx() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut t = TransceiverTable::new();
        let a = t.add(MediaKind::Audio, TransceiverInit::default(), None, &mut rng);
        let v = t.add(MediaKind::Video, TransceiverInit::default(), None, &mut rng);
        let (a, v) = (t.get(a).unwrap(), t.get(v).unwrap());
        assert!(a.local_rtx_ssrc.is_none());
        let rtx = v.local_rtx_ssrc.unwrap();
        assert_ne!(v.local_ssrc, rtx);
        assert_ne!(a.local_ssrc, v.local_ssrc);
        assert_eq!(t.cname().len(), 16);
        // Nothing negotiated yet: nothing for the engine.
        assert!(t.negotiated().is_empty());
    }

    #[test]
    fn the_table_is_bounded_and_stopped_ones_make_room() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut t = TransceiverTable::new();
        let mut first = None;
        while t.make_room() {
            let id = t.add(MediaKind::Audio, TransceiverInit::default(), None, &mut rng);
            first.get_or_insert(id);
        }
        assert_eq!(t.iter().count(), MAX_TRANSCEIVERS);
        t.get_mut(first.unwrap()).unwrap().set_stopped();
        assert!(t.make_room());
        assert_eq!(t.iter().count(), MAX_TRANSCEIVERS - 1);
        assert!(t.get(first.unwrap()).is_none());
    }

    #[test]
    fn remote_offer_rollback_removes_what_it_created() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let mut t = TransceiverTable::new();
        let mine = t.add(MediaKind::Audio, TransceiverInit::default(), None, &mut rng);
        t.begin_remote_offer();
        t.get_mut(mine).unwrap().mid = Some("0".into());
        let theirs = t.add_for_remote(MediaKind::Video, &mut rng);
        t.get_mut(theirs).unwrap().mid = Some("1".into());
        t.get_mut(theirs).unwrap().receiver_track = Some(TrackInfo {
            transceiver: theirs,
            mid: "1".into(),
            kind: MediaKind::Video,
            track_id: "x".into(),
            stream_ids: vec![],
        });
        let ended = t.rollback_remote_offer();
        assert_eq!(ended, vec![theirs]);
        assert!(t.get(theirs).is_none());
        assert_eq!(t.get(mine).unwrap().mid, None);
    }
}
