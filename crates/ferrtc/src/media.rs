//! Media handles of the async API (issue 13), shaped like the browser's:
//!
//! - [`PeerConnection::add_track`](crate::PeerConnection::add_track) gives a [`TrackSender`]
//!   (`RTCRtpSender` with its track): [`TrackSender::write_frame`] with the frame's RTP
//!   timestamp, [`TrackSender::write_sample`] with its duration, [`TrackSender::write_rtp`] on
//!   an RTP-level transceiver, [`TrackSender::replace_track`], and the remote receiver's key
//!   frame requests from [`TrackSender::keyframe_request`];
//! - [`PeerEvent::Track`](crate::PeerEvent::Track) gives a [`RemoteTrack`] (`RTCRtpReceiver`
//!   with its track): [`RemoteTrack::recv_frame`] (frame level) or [`RemoteTrack::recv_rtp`]
//!   (RTP level), [`RemoteTrack::request_keyframe`], its stats.
//!
//! What the connection's task hands a [`RemoteTrack`] waits in a bounded queue
//! ([`RECEIVE_QUEUE`] items): a reader that falls behind loses the oldest items, counted by
//! [`RemoteTrack::dropped`], and never slows the connection down.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use ferrtc_peerconnection::stats::StatsReport;
use ferrtc_peerconnection::{
    KeyframeRequestKind, LocalTrack, MediaKind, ReceivedFrame, TrackInfo, TransceiverId,
    TransceiverInfo,
};
use ferrtc_rtp::RtpPacket;
use tokio::sync::mpsc;

use crate::driver::{media_call, Input, MediaCommand};
use crate::Error;

/// Items a [`RemoteTrack`] (frames or RTP packets) and a [`TrackSender`] (key frame requests)
/// keep for their reader; beyond this the oldest is dropped and counted.
pub const RECEIVE_QUEUE: usize = 256;

/// What a receiver delivers.
#[derive(Debug, Clone)]
pub(crate) enum Received {
    Frame(ReceivedFrame),
    Rtp(RtpPacket),
}

struct RingState<T> {
    items: VecDeque<T>,
    waker: Option<Waker>,
    closed: bool,
}

/// A bounded queue from the connection's task to a handle: `push` never waits; when full the
/// oldest item goes and is counted.
pub(crate) struct Ring<T> {
    state: Mutex<RingState<T>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl<T> Ring<T> {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Ring {
            state: Mutex::new(RingState {
                items: VecDeque::new(),
                waker: None,
                closed: false,
            }),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues `item` (dropping the oldest when full) and wakes the reader.
    pub(crate) fn push(&self, item: T) {
        let waker = {
            let Ok(mut s) = self.state.lock() else {
                return;
            };
            if s.closed {
                return;
            }
            while s.items.len() >= self.capacity {
                s.items.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            s.items.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// No more items: the reader gets `None` once the queue is drained.
    pub(crate) fn close(&self) {
        let waker = match self.state.lock() {
            Ok(mut s) => {
                s.closed = true;
                s.waker.take()
            }
            Err(_) => None,
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Ok(mut s) = self.state.lock() else {
            return Poll::Ready(None);
        };
        if let Some(item) = s.items.pop_front() {
            if s.items.is_empty() && s.items.capacity() > 8 {
                s.items = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    pub(crate) async fn pop(&self) -> Option<T> {
        poll_fn(|cx| self.poll_pop(cx)).await
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The sending half of a transceiver with its local track (`RTCRtpSender`). Cheap to clone.
#[derive(Clone)]
pub struct TrackSender {
    pub(crate) id: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) keyframes: Arc<Ring<KeyframeRequestKind>>,
}

impl std::fmt::Debug for TrackSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackSender")
            .field("transceiver", &self.id.index())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl TrackSender {
    /// The transceiver this sender belongs to.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// Sends an encoded frame (video: a VP8/VP9 frame, an H.264 Annex B access unit, an AV1
    /// temporal unit; audio: one Opus packet) with its RTP timestamp in the codec's clock rate,
    /// captured now, with the first negotiated codec. Fails while the connection is not
    /// connected, on an RTP-level transceiver, or when the direction does not send.
    pub async fn write_frame(&self, data: Bytes, rtp_timestamp: u32) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::WriteFrame {
            id: self.id,
            data,
            timestamp: Timestamp::Rtp(rtp_timestamp),
            payload_type: None,
            reply: r,
        })
        .await
    }

    /// [`TrackSender::write_frame`] with a given negotiated payload type (which codec, when
    /// several were negotiated: see [`TrackSender::info`]).
    pub async fn write_frame_as(
        &self,
        data: Bytes,
        rtp_timestamp: u32,
        payload_type: u8,
    ) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::WriteFrame {
            id: self.id,
            data,
            timestamp: Timestamp::Rtp(rtp_timestamp),
            payload_type: Some(payload_type),
            reply: r,
        })
        .await
    }

    /// Like [`TrackSender::write_frame`], with the RTP timestamp counted by the sender: this
    /// frame starts where the previous sample ended, and lasts `duration` (20 ms for a usual
    /// Opus packet, 1/30 s for a 30 fps video frame).
    pub async fn write_sample(&self, data: Bytes, duration: Duration) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::WriteFrame {
            id: self.id,
            data,
            timestamp: Timestamp::Duration(duration),
            payload_type: None,
            reply: r,
        })
        .await
    }

    /// Sends a whole RTP packet on an RTP-level transceiver (SFUs, forwarders): payload type,
    /// sequence number, timestamp, marker and payload are kept; the SSRC and header extensions
    /// are the sender's.
    pub async fn write_rtp(&self, packet: RtpPacket) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::WriteRtp {
            id: self.id,
            packet,
            reply: r,
        })
        .await
    }

    /// `replaceTrack(track)`: sends `track` (or nothing) from now on, without renegotiation.
    pub async fn replace_track(&self, track: Option<LocalTrack>) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::ReplaceTrack {
            id: self.id,
            track,
            reply: r,
        })
        .await
    }

    /// The next key frame request (PLI or FIR) from the remote receiver; `None` once the
    /// connection is gone.
    pub async fn keyframe_request(&self) -> Option<KeyframeRequestKind> {
        self.keyframes.pop().await
    }

    /// The transceiver as it is now (mid, directions, negotiated codecs).
    pub async fn info(&self) -> Result<TransceiverInfo, Error> {
        media_call(&self.tx, |r| MediaCommand::Info {
            id: self.id,
            reply: r,
        })
        .await
    }

    /// This sender's part of getStats: its outbound-rtp, the remote-inbound-rtp the peer's
    /// reports made, and their codec.
    pub async fn get_stats(&self) -> Result<StatsReport, Error> {
        media_call(&self.tx, |r| MediaCommand::Stats {
            id: self.id,
            outbound: true,
            reply: r,
        })
        .await
    }
}

/// How a frame's RTP timestamp is given.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timestamp {
    Rtp(u32),
    Duration(Duration),
}

/// A remote track (`RTCRtpReceiver` and its `MediaStreamTrack`), from
/// [`PeerEvent::Track`](crate::PeerEvent::Track). Cheap to clone; the clones share one queue.
#[derive(Clone)]
pub struct RemoteTrack {
    pub(crate) info: Arc<TrackInfo>,
    pub(crate) tx: mpsc::Sender<Input>,
    pub(crate) queue: Arc<Ring<Received>>,
}

impl std::fmt::Debug for RemoteTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTrack")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl RemoteTrack {
    /// The transceiver whose receiver this is.
    pub fn transceiver(&self) -> TransceiverId {
        self.info.transceiver
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.info.kind
    }

    /// The m= section's mid.
    pub fn mid(&self) -> &str {
        &self.info.mid
    }

    /// The remote track id (`a=msid`).
    pub fn track_id(&self) -> &str {
        &self.info.track_id
    }

    /// The remote stream ids.
    pub fn stream_ids(&self) -> &[String] {
        &self.info.stream_ids
    }

    /// The next assembled frame; `None` once the track ended (or the connection is gone) and
    /// every frame was read. RTP packets (after `set_media_mode(Rtp)`) are skipped.
    pub async fn recv_frame(&self) -> Option<ReceivedFrame> {
        loop {
            match self.queue.pop().await? {
                Received::Frame(f) => return Some(f),
                Received::Rtp(_) => {}
            }
        }
    }

    /// The next RTP packet of an RTP-level receiver; `None` once the track ended. Frames are
    /// skipped.
    pub async fn recv_rtp(&self) -> Option<RtpPacket> {
        loop {
            match self.queue.pop().await? {
                Received::Rtp(p) => return Some(p),
                Received::Frame(_) => {}
            }
        }
    }

    /// Frames or packets dropped because the reader was more than [`RECEIVE_QUEUE`] behind.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// Asks the remote sender for a key frame (PLI or FIR).
    pub async fn request_keyframe(&self, kind: KeyframeRequestKind) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::RequestKeyframe {
            id: self.info.transceiver,
            kind,
            reply: r,
        })
        .await
    }

    /// Frame or RTP level for this receiver (and its transceiver's sender), at once.
    pub async fn set_media_mode(
        &self,
        mode: ferrtc_peerconnection::MediaMode,
    ) -> Result<(), Error> {
        media_call(&self.tx, |r| MediaCommand::SetMode {
            id: self.info.transceiver,
            mode,
            reply: r,
        })
        .await
    }

    /// The transceiver as it is now (its negotiated codecs say what the payload types are).
    pub async fn info(&self) -> Result<TransceiverInfo, Error> {
        media_call(&self.tx, |r| MediaCommand::Info {
            id: self.info.transceiver,
            reply: r,
        })
        .await
    }

    /// This receiver's part of getStats: its inbound-rtp, the remote-outbound-rtp from the
    /// peer's sender reports, and their codec.
    pub async fn get_stats(&self) -> Result<StatsReport, Error> {
        media_call(&self.tx, |r| MediaCommand::Stats {
            id: self.info.transceiver,
            outbound: false,
            reply: r,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_ring_drops_the_oldest_and_counts() {
        let ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i);
        }
        assert_eq!(ring.dropped(), 2);
        ring.close();
        let mut got = Vec::new();
        while let Some(x) = ring.pop().await {
            got.push(x);
        }
        assert_eq!(got, vec![2, 3, 4]);
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken() {
        let ring = Ring::new(4);
        let r2 = ring.clone();
        let waiter = tokio::spawn(async move { r2.pop().await });
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        ring.push(9u8);
        assert_eq!(waiter.await.unwrap(), Some(9));
    }
}
