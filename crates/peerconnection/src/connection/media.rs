//! Media through the peer connection: keying SRTP when DTLS connects, RTP/RTCP datagrams to and
//! from the engine ([`crate::media::engine`]), and the send / keyframe / stats calls.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::SrtpKeyingMaterial;
use ferrtc_rtp::RtpPacket;
use rand::RngCore;
use tracing::{debug, warn};

use super::PeerConnection;
use crate::media::{KeyframeRequestKind, MediaDrops, MediaEngine, OutgoingFrame, TransceiverId};
use crate::Error;

impl PeerConnection {
    /// Sends an encoded frame (video) or packet (audio) on a frame-level transceiver at `now`
    /// (the caller's clock: abs-send-time, the send statistics and the connection's clock
    /// follow it): it is packetized for the MTU, given our SSRC, sequence numbers, timestamp
    /// offset and header extensions, protected with SRTP and sent over the selected candidate
    /// pair.
    ///
    /// Errors (nothing sent): unknown transceiver or one without a negotiated section, a
    /// direction that does not send, an RTP-level transceiver, DTLS not connected yet, a
    /// payload type that was not negotiated, a frame the payload format refuses.
    pub fn write_frame(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        frame: OutgoingFrame,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        let r = self.engine_for(tid)?.write_frame(now, tid, frame);
        self.pump();
        r
    }

    /// Sends an application's RTP packet on an RTP-level transceiver (an SFU forwarding) at
    /// `now` (the caller's clock, as for [`PeerConnection::write_frame`]).
    /// Kept: payload type (negotiated, or its RTX type), sequence number, timestamp, marker,
    /// CSRCs, payload. Replaced: the SSRC (ours for this transceiver) and the header extensions
    /// (the negotiated mid, abs-send-time and transport-wide-cc we send). Same errors as
    /// [`PeerConnection::write_frame`].
    pub fn write_rtp(
        &mut self,
        now: Instant,
        tid: TransceiverId,
        packet: RtpPacket,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        let r = self.engine_for(tid)?.write_rtp(now, tid, packet);
        self.pump();
        r
    }

    /// Asks the remote sender of this transceiver's receiver for a key frame (PLI or FIR).
    pub fn request_keyframe(
        &mut self,
        tid: TransceiverId,
        kind: KeyframeRequestKind,
    ) -> Result<(), Error> {
        let r = self.engine_for(tid)?.request_keyframe(tid, kind);
        self.pump();
        r
    }

    /// Anchors the wall clock: at `now` it was `since_unix_epoch` (what
    /// `SystemTime::now().duration_since(UNIX_EPOCH)` gives). Sender reports carry NTP times
    /// from it; the facade calls it, sans-IO code reads no clock.
    pub fn set_wallclock(&mut self, now: Instant, since_unix_epoch: Duration) {
        self.wallclock = Some((now, since_unix_epoch));
        if let Some(m) = self.media.as_mut() {
            m.set_wallclock(now, since_unix_epoch);
        }
    }

    /// Incoming RTP/RTCP dropped, by reason.
    pub fn media_drops(&self) -> MediaDrops {
        match self.media.as_deref() {
            Some(m) => m.drops(),
            None => MediaDrops {
                not_keyed: self.media_without_engine,
                ..MediaDrops::default()
            },
        }
    }

    /// The media engine, read-only (per-stream counters, router drops); `None` until a media
    /// section is first negotiated (a data-only connection has none).
    pub fn media_engine(&self) -> Option<&MediaEngine> {
        self.media.as_deref()
    }

    /// The engine, for a call on transceiver `tid`; without one, no media section was
    /// negotiated (the engine's own error for a transceiver without one).
    fn engine_for(&mut self, tid: TransceiverId) -> Result<&mut MediaEngine, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.media.as_deref_mut().ok_or_else(|| {
            Error::InvalidState(format!(
                "transceiver {} has no negotiated media section",
                tid.index()
            ))
        })
    }

    /// DTLS connected with SRTP keys: key the media engine (RFC 5764 §4.2, our DTLS role says
    /// which half protects what we send). A connection with no media negotiated (data channels
    /// only) keeps the keying material and keys SRTP when media is first negotiated, so it
    /// spends no SRTP/SRTCP contexts (~5 KiB) it will never use.
    pub(super) fn start_media(&mut self, keying: Option<&SrtpKeyingMaterial>) {
        let (Some(keying), Some(role)) = (keying, self.dtls_role) else {
            debug!("pc: DTLS connected without SRTP keys; no media");
            return;
        };
        let Some(media) = self.media.as_deref_mut().filter(|m| m.has_media()) else {
            self.srtp_keying = Some(keying.clone());
            return;
        };
        self.srtp_keying = None;
        let seed = self.rng.next_u64();
        let now = self.now;
        if let Err(e) = media.start_srtp(now, keying, role, seed) {
            warn!(error = %e, "pc: SRTP could not be keyed");
        }
    }

    /// Hands the engine what is negotiated now (JSEP §5.10/§5.11 "apply"), keying SRTP if DTLS
    /// connected before any media was negotiated.
    pub(super) fn apply_media(&mut self) {
        let negotiated = self.transceivers.negotiated();
        if self.media.is_none() {
            if negotiated.is_empty() {
                // Nothing negotiated and no engine: a data-only connection stays without one.
                return;
            }
            // Seeded again from our CSPRNG when SRTP is keyed, before any packet leaves.
            let mut m = MediaEngine::with_config(self.cfg.media.clone(), 0);
            if let Some((at, since)) = self.wallclock {
                m.set_wallclock(at, since);
            }
            self.media = Some(Box::new(m));
        }
        let Some(media) = self.media.as_deref_mut() else {
            return;
        };
        media.apply(&negotiated);
        if !media.is_keyed() && media.has_media() {
            if let Some(keying) = self.srtp_keying.take() {
                self.start_media(Some(&keying));
            }
        }
    }

    /// An RTP or RTCP datagram (RFC 7983) from the selected pair.
    pub(super) fn media_datagram(&mut self, now: Instant, data: Bytes) {
        match self.media.as_deref_mut() {
            Some(m) => m.handle_datagram(now, data),
            None => self.media_without_engine = self.media_without_engine.saturating_add(1),
        }
    }

    /// Moves the engine's datagrams to ICE and its events to the application; true if
    /// anything moved.
    pub(super) fn flush_media(&mut self) -> bool {
        let mut moved = false;
        let Some(media) = self.media.as_deref_mut() else {
            return false;
        };
        while let Some(e) = media.poll_event() {
            moved = true;
            self.events.push_back(e);
        }
        let selected = self.ice.selected_pair().is_some();
        while let Some(b) = media.poll_transmit() {
            moved = true;
            if !selected {
                continue;
            }
            self.packets_sent += 1;
            self.bytes_sent += b.len() as u64;
            if let Err(e) = self.ice.send(b) {
                debug!(error = %e, "pc: media datagram not sent");
            }
        }
        moved
    }
}
