//! Media in the driver (issue 13): the handle's `add_track` / `add_transceiver` /
//! transceiver calls, the [`TrackSender`] and [`RemoteTrack`] commands, and the sans-IO media
//! events delivered to those handles (frames and RTP packets to the receiver's queue, key
//! frame requests to the sender's).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ferrtc_peerconnection::stats::{Stats, StatsReport};
use ferrtc_peerconnection::{
    Codec, Event, KeyframeRequestKind, LocalTrack, MediaKind, MediaMode, OutgoingFrame, TrackInfo,
    TransceiverId, TransceiverInfo, TransceiverInit,
};
use ferrtc_rtp::RtpPacket;
use tokio::sync::{mpsc, oneshot};

use super::events::PeerEvent;
use super::handle::PeerConnection;
use super::input::{Command, Input, Reply};
use super::task::Driver;
use crate::media::{Received, RemoteTrack, Ring, Timestamp, TrackSender, RECEIVE_QUEUE};
use crate::Error;

/// The media calls of the handles (boxed in [`Command::Media`]: rare next to datagrams).
pub(crate) enum MediaCommand {
    AddTrack {
        track: LocalTrack,
        reply: Reply<TrackSender>,
    },
    AddTransceiver {
        kind: MediaKind,
        init: TransceiverInit,
        reply: Reply<TrackSender>,
    },
    RemoveTrack {
        id: TransceiverId,
        reply: Reply<()>,
    },
    SetCodecPreferences {
        id: TransceiverId,
        codecs: Vec<Codec>,
        reply: Reply<()>,
    },
    SetDirection {
        id: TransceiverId,
        direction: ferrtc_peerconnection::Direction,
        reply: Reply<()>,
    },
    Stop {
        id: TransceiverId,
        reply: Reply<()>,
    },
    Transceivers {
        reply: Reply<Vec<TransceiverInfo>>,
    },
    Info {
        id: TransceiverId,
        reply: Reply<TransceiverInfo>,
    },
    WriteFrame {
        id: TransceiverId,
        data: Bytes,
        timestamp: Timestamp,
        payload_type: Option<u8>,
        reply: Reply<()>,
    },
    WriteRtp {
        id: TransceiverId,
        packet: RtpPacket,
        reply: Reply<()>,
    },
    ReplaceTrack {
        id: TransceiverId,
        track: Option<LocalTrack>,
        reply: Reply<()>,
    },
    RequestKeyframe {
        id: TransceiverId,
        kind: KeyframeRequestKind,
        reply: Reply<()>,
    },
    SetMode {
        id: TransceiverId,
        mode: MediaMode,
        reply: Reply<()>,
    },
    Stats {
        id: TransceiverId,
        outbound: bool,
        reply: Reply<StatsReport>,
    },
}

/// Sends a media command and waits for its reply.
pub(crate) async fn media_call<T>(
    tx: &mpsc::Sender<Input>,
    make: impl FnOnce(Reply<T>) -> MediaCommand,
) -> Result<T, Error> {
    let (r, rx) = oneshot::channel();
    tx.send(Input::Command(Command::Media(Box::new(make(r)))))
        .await
        .map_err(|_| Error::Closed)?;
    rx.await.map_err(|_| Error::Closed)?
}

/// The task's side of media: where each transceiver's received items and key frame requests
/// go, and the senders' running timestamps for `write_sample`.
#[derive(Default)]
pub(super) struct MediaSinks {
    receivers: HashMap<TransceiverId, Arc<Ring<Received>>>,
    keyframes: HashMap<TransceiverId, Arc<Ring<KeyframeRequestKind>>>,
    /// Next RTP timestamp of `write_sample`, in the codec's clock units.
    sample_clock: HashMap<TransceiverId, u64>,
    wallclock_set: bool,
}

impl MediaSinks {
    /// Ends every queue (the task is ending): readers get `None` once drained.
    pub(super) fn close_all(&mut self) {
        for r in self.receivers.values() {
            r.close();
        }
        for k in self.keyframes.values() {
            k.close();
        }
    }
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

impl Driver {
    fn anchor_wallclock(&mut self, now: Instant) {
        if !self.media.wallclock_set {
            // Sender reports carry NTP times from this anchor (RFC 3550 §6.4.1).
            self.pc.set_wallclock(now, since_epoch());
            self.media.wallclock_set = true;
        }
    }

    fn sender(&mut self, id: TransceiverId, kind: MediaKind) -> TrackSender {
        let keyframes = self
            .media
            .keyframes
            .entry(id)
            .or_insert_with(|| Ring::new(RECEIVE_QUEUE))
            .clone();
        TrackSender {
            id,
            kind,
            tx: self.tx.clone(),
            keyframes,
        }
    }

    pub(super) fn media_command(&mut self, now: Instant, c: MediaCommand) {
        self.anchor_wallclock(now);
        match c {
            MediaCommand::AddTrack { track, reply } => {
                let kind = track.kind;
                let r = self.pc.add_track(track).map_err(Error::from);
                let _ = reply.send(r.map(|id| self.sender(id, kind)));
            }
            MediaCommand::AddTransceiver { kind, init, reply } => {
                let r = self.pc.add_transceiver(kind, init).map_err(Error::from);
                let _ = reply.send(r.map(|id| self.sender(id, kind)));
            }
            MediaCommand::RemoveTrack { id, reply } => {
                let _ = reply.send(self.pc.remove_track(id).map_err(Error::from));
            }
            MediaCommand::SetCodecPreferences { id, codecs, reply } => {
                let r = self.pc.set_codec_preferences(id, codecs);
                let _ = reply.send(r.map_err(Error::from));
            }
            MediaCommand::SetDirection {
                id,
                direction,
                reply,
            } => {
                let _ = reply.send(self.pc.set_direction(id, direction).map_err(Error::from));
            }
            MediaCommand::Stop { id, reply } => {
                let _ = reply.send(self.pc.stop_transceiver(id).map_err(Error::from));
            }
            MediaCommand::Transceivers { reply } => {
                let _ = reply.send(Ok(self.pc.transceivers()));
            }
            MediaCommand::Info { id, reply } => {
                let r = self
                    .pc
                    .transceiver(id)
                    .ok_or(ferrtc_peerconnection::Error::NoSuchTransceiver.into());
                let _ = reply.send(r);
            }
            MediaCommand::WriteFrame {
                id,
                data,
                timestamp,
                payload_type,
                reply,
            } => {
                // Timers due by now fire first; the frame is stamped with the driver's now.
                self.pc.handle_timeout(now);
                let rtp_timestamp = match timestamp {
                    Timestamp::Rtp(ts) => ts,
                    Timestamp::Duration(d) => self.sample_timestamp(id, d),
                };
                let frame = OutgoingFrame {
                    payload_type,
                    ..OutgoingFrame::new(data, rtp_timestamp, now)
                };
                let _ = reply.send(self.pc.write_frame(now, id, frame).map_err(Error::from));
            }
            MediaCommand::WriteRtp { id, packet, reply } => {
                self.pc.handle_timeout(now);
                let _ = reply.send(self.pc.write_rtp(now, id, packet).map_err(Error::from));
            }
            MediaCommand::ReplaceTrack { id, track, reply } => {
                let _ = reply.send(self.pc.replace_track(id, track).map_err(Error::from));
            }
            MediaCommand::RequestKeyframe { id, kind, reply } => {
                self.pc.handle_timeout(now);
                let _ = reply.send(self.pc.request_keyframe(id, kind).map_err(Error::from));
            }
            MediaCommand::SetMode { id, mode, reply } => {
                let _ = reply.send(self.pc.set_media_mode(id, mode).map_err(Error::from));
            }
            MediaCommand::Stats {
                id,
                outbound,
                reply,
            } => {
                let mid = self.pc.transceiver(id).and_then(|t| t.mid);
                let ts = since_epoch().as_secs_f64() * 1000.0;
                let all = self.pc.get_stats(ts);
                let _ = reply.send(Ok(stats_of(all, mid.as_deref(), outbound)));
            }
        }
    }

    /// The RTP timestamp of a sample lasting `d` that follows the previous one; the clock
    /// rate is the first negotiated codec's (90 kHz video, 48 kHz audio before negotiation).
    fn sample_timestamp(&mut self, id: TransceiverId, d: Duration) -> u32 {
        let info = self.pc.transceiver(id);
        let rate = info
            .as_ref()
            .and_then(|t| t.codecs.first().map(|c| c.clock_rate))
            .unwrap_or(match info.map(|t| t.kind) {
                Some(MediaKind::Audio) => 48_000,
                _ => 90_000,
            });
        let ticks = d.as_nanos().saturating_mul(u128::from(rate)) / 1_000_000_000;
        let ticks = u64::try_from(ticks).unwrap_or(u64::MAX);
        let next = self.media.sample_clock.entry(id).or_insert(0);
        let ts = *next;
        *next = next.wrapping_add(ticks);
        // RTP timestamps wrap modulo 2^32 (RFC 3550 §5.1).
        (ts & 0xffff_ffff) as u32
    }

    /// A media event of the sans-IO connection, to the handles.
    pub(super) fn media_event(&mut self, e: Event) {
        match e {
            Event::Track(info) => {
                self.anchor_wallclock(Instant::now());
                let track = self.remote_track(info);
                self.events.send(PeerEvent::Track(track));
            }
            Event::TrackEnded(id) => {
                if let Some(r) = self.media.receivers.remove(&id) {
                    r.close();
                }
            }
            Event::Frame(f) => {
                if let Some(r) = self.media.receivers.get(&f.transceiver) {
                    r.push(Received::Frame(f));
                }
            }
            Event::Rtp {
                transceiver,
                packet,
            } => {
                if let Some(r) = self.media.receivers.get(&transceiver) {
                    r.push(Received::Rtp(packet));
                }
            }
            Event::KeyframeRequest { transceiver, kind } => {
                if let Some(k) = self.media.keyframes.get(&transceiver) {
                    k.push(kind);
                }
            }
            _ => {}
        }
    }

    fn remote_track(&mut self, info: TrackInfo) -> RemoteTrack {
        // A track announced again (a re-offer) replaces the earlier one, which ends.
        let queue = Ring::new(RECEIVE_QUEUE);
        if let Some(old) = self.media.receivers.insert(info.transceiver, queue.clone()) {
            old.close();
        }
        RemoteTrack {
            info: Arc::new(info),
            tx: self.tx.clone(),
            queue,
        }
    }
}

/// The objects of `all` about the section `mid`: outbound-rtp (or inbound-rtp), the remote
/// objects linked to it, and their codecs.
fn stats_of(all: StatsReport, mid: Option<&str>, outbound: bool) -> StatsReport {
    let Some(mid) = mid else {
        return StatsReport::default();
    };
    let mut locals: Vec<String> = Vec::new();
    let mut codecs: Vec<String> = Vec::new();
    for s in &all.stats {
        match s {
            Stats::OutboundRtp(o) if outbound && o.mid == mid => {
                locals.push(o.id.clone());
                codecs.extend(o.codec_id.clone());
            }
            Stats::InboundRtp(i) if !outbound && i.mid == mid => {
                locals.push(i.id.clone());
                codecs.extend(i.codec_id.clone());
            }
            _ => {}
        }
    }
    let stats = all
        .stats
        .into_iter()
        .filter(|s| match s {
            Stats::OutboundRtp(_) | Stats::InboundRtp(_) => locals.iter().any(|l| l == s.id()),
            Stats::RemoteInboundRtp(r) if outbound => locals.contains(&r.local_id),
            Stats::RemoteOutboundRtp(r) if !outbound => locals.contains(&r.local_id),
            Stats::Codec(c) => codecs.contains(&c.id),
            _ => false,
        })
        .collect();
    StatsReport { stats }
}

impl PeerConnection {
    /// `addTrack(track, ...streams)`: a track of `kind` named `track_id` in the streams
    /// `stream_ids`, on a free transceiver of that kind or a new sendrecv one. Fires
    /// negotiationneeded. The [`TrackSender`] writes its frames.
    pub async fn add_track(
        &self,
        kind: MediaKind,
        track_id: &str,
        stream_ids: &[&str],
    ) -> Result<TrackSender, Error> {
        let track = LocalTrack {
            kind,
            id: track_id.to_owned(),
            stream_ids: stream_ids.iter().map(|s| (*s).to_owned()).collect(),
        };
        media_call(&self.inner.tx, |reply| MediaCommand::AddTrack {
            track,
            reply,
        })
        .await
    }

    /// `addTransceiver(kind, init)` (direction, stream ids, send encodings, frame or RTP
    /// level). The [`TrackSender`] is its sender (it sends when the direction does).
    pub async fn add_transceiver(
        &self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<TrackSender, Error> {
        media_call(&self.inner.tx, |reply| MediaCommand::AddTransceiver {
            kind,
            init,
            reply,
        })
        .await
    }

    /// `removeTrack(sender)`: the sender's track goes, its direction loses "send".
    pub async fn remove_track(&self, sender: &TrackSender) -> Result<(), Error> {
        let id = sender.transceiver();
        media_call(&self.inner.tx, |reply| MediaCommand::RemoveTrack {
            id,
            reply,
        })
        .await
    }

    /// `getTransceivers()`.
    pub async fn transceivers(&self) -> Result<Vec<TransceiverInfo>, Error> {
        media_call(&self.inner.tx, |reply| MediaCommand::Transceivers { reply }).await
    }

    /// `transceiver.setCodecPreferences(codecs)`: codecs ferrtc supports, matched by mime
    /// type, clock rate, channels and fmtp, in the order wanted.
    pub async fn set_codec_preferences(
        &self,
        id: TransceiverId,
        codecs: Vec<Codec>,
    ) -> Result<(), Error> {
        media_call(&self.inner.tx, |reply| MediaCommand::SetCodecPreferences {
            id,
            codecs,
            reply,
        })
        .await
    }

    /// `transceiver.direction = direction`.
    pub async fn set_direction(
        &self,
        id: TransceiverId,
        direction: ferrtc_peerconnection::Direction,
    ) -> Result<(), Error> {
        media_call(&self.inner.tx, |reply| MediaCommand::SetDirection {
            id,
            direction,
            reply,
        })
        .await
    }

    /// `transceiver.stop()`.
    pub async fn stop_transceiver(&self, id: TransceiverId) -> Result<(), Error> {
        media_call(&self.inner.tx, |reply| MediaCommand::Stop { id, reply }).await
    }
}
