//! Frame assembly: RTP packets in any order in, complete frames in sequence order out.
//!
//! A [`FrameBuffer`] is a sans-IO state machine generic over a [`Depacketizer`]. It takes
//! [`RtpPacket`]s with duplicates, gaps, reordering and 16-bit sequence wrap (sequence numbers
//! are extended to 64 bits with [`SeqUnwrapper`]) and releases [`Frame`]s in sequence order.
//!
//! # What a frame is
//!
//! A frame is a run of consecutive sequence numbers with one RTP timestamp that
//! - starts at a packet whose [`PacketInfo::frame_start`] is `Some(true)`, or, when the format
//!   cannot tell (`None`, H.264/H.265), right after the previous frame's last packet: a packet
//!   with the marker bit or `frame_end`, a packet with another timestamp, or a padding packet;
//! - ends at the packet with the RTP marker bit or [`PacketInfo::frame_end`] `Some(true)`.
//!
//! Audio formats say `frame_start` and `frame_end` on every payload, so each packet is a frame.
//! Packets with an empty payload (padding-only, RFC 3550 §5.1, used for bandwidth probing) fill
//! their sequence number between frames and are not part of any.
//!
//! # Release order, giving up, limits
//!
//! Frames come out in sequence order. An incomplete frame at the front blocks the ones behind
//! it until
//! - its first buffered packet (the lowest sequence number held) arrived more than
//!   [`Config::max_age`] ago (reason [`DropReason::TooOld`]),
//! - the buffer exceeds [`Config::max_packets`] or [`Config::max_bytes`]
//!   ([`DropReason::BufferFull`]), or
//! - a later keyframe is complete: everything before it is dropped
//!   ([`DropReason::SkippedForKeyframe`]), unless [`Config::skip_to_keyframe`] is off.
//!
//! A packet [`Config::restart_distance`] or more behind the released frames is taken as a
//! sender restart: the buffer drops what it holds and starts over, extending sequence numbers
//! afresh (so [`Frame::first_seq`] starts a new run too).
//!
//! The frame released after a gap has [`Frame::contiguous`] `false`. Every dropped packet or
//! frame is reported as a [`Dropped`] with its reason. The buffer never reads a clock: the caller
//! passes `now` and calls [`FrameBuffer::handle_timeout`] at [`FrameBuffer::poll_timeout`].
//!
//! At start, nothing is released until [`Config::startup_delay`] has passed since the first
//! packet arrived, so that packets reordered behind later ones are not lost as late; then the
//! lowest buffered packet starts the first frame if its `frame_start` says so or, for a format
//! that cannot mark frame starts (H.264, H.265), if the complete run from it to the marker has
//! a packet that says keyframe. Otherwise the buffer waits for a complete keyframe (released
//! at once) or gives up by age. A complete keyframe whose first packet says it starts a frame is
//! released at once too when it is the lowest buffered packet, without waiting out the delay.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use ferrtc_media_codecs::frame_buffer::{Config, FrameBuffer};
//! use ferrtc_media_codecs::opus::OpusDepacketizer;
//! use ferrtc_rtp::{RtpHeader, RtpPacket};
//!
//! let mut fb = FrameBuffer::new(OpusDepacketizer::new(), Config::default());
//! let t0 = Instant::now();
//! for seq in [2u16, 1] {
//!     let header = RtpHeader { sequence_number: seq, timestamp: u32::from(seq) * 960, ..Default::default() };
//!     // An Opus packet: TOC byte (CELT FB 20 ms, one frame) and one byte of frame.
//!     fb.insert(RtpPacket { header, payload: Bytes::from(vec![0xf8, seq as u8]), padding: 0 }, t0);
//! }
//! // Nothing before the start-up delay (reordered first packets may still come)...
//! assert!(fb.poll_frame().is_none());
//! let at = fb.poll_timeout().unwrap();
//! fb.handle_timeout(at);
//! // ...then the frames in sequence order.
//! let first = fb.poll_frame().unwrap();
//! assert_eq!((first.first_seq, &first.data[..]), (1, &[0xf8, 1][..]));
//! assert!(fb.poll_frame().unwrap().contiguous);
//! while let Some(drop) = fb.poll_drop() {
//!     println!("dropped {drop:?}");
//! }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_rtp::{RtpPacket, SeqUnwrapper};

// The state machine's parts: `assembly` finds and releases complete frames, `give_up`
// drops what cannot be completed (age, size, a later keyframe) and reports it.
mod assembly;
mod give_up;

use crate::{Depacketizer, Error, PacketInfo};

/// Limits of a [`FrameBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most packets held (not counting released frames waiting in [`FrameBuffer::poll_frame`]).
    pub max_packets: usize,
    /// Most payload bytes held.
    pub max_bytes: usize,
    /// How long the first buffered packet (lowest sequence number) of a blocked frame may wait
    /// before that frame is given up.
    pub max_age: Duration,
    /// Most drop reports kept for [`FrameBuffer::poll_drop`]; older ones are discarded and
    /// counted in [`Stats::drop_reports_lost`].
    pub max_drop_reports: usize,
    /// How long after the first packet the first frame may be assumed to start at the lowest
    /// sequence number received (0: at once, for callers that deliver packets in order).
    pub startup_delay: Duration,
    /// When a keyframe after an incomplete frame is complete, drop everything before it at
    /// once (real-time playback: older frames are no longer needed). `false` waits for the
    /// missing packets (retransmissions) until `max_age` or `max_packets` (recording).
    pub skip_to_keyframe: bool,
    /// A packet this many sequence numbers or more behind the frames already released is taken
    /// as a sender restart (RFC 3550 §8.2 lets a source pick a new random start): the buffer
    /// drops what it holds ([`DropReason::Restart`]) and starts over from that packet, instead
    /// of discarding every packet of the new run as late.
    pub restart_distance: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_packets: 2048,
            max_bytes: 8 << 20,
            max_age: Duration::from_secs(1),
            max_drop_reports: 256,
            startup_delay: Duration::from_millis(100),
            skip_to_keyframe: true,
            restart_distance: 3000,
        }
    }
}

/// One assembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame as the depacketizer wrote it (e.g. Annex B for H.264, OBUs with sizes for AV1).
    pub data: Bytes,
    /// Extended sequence number of the first packet.
    pub first_seq: i64,
    /// Extended sequence number of the last packet.
    pub last_seq: i64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Nothing was lost between the previous released frame and this one (padding packets
    /// aside). `false` for the first frame.
    pub contiguous: bool,
    /// The facts of the packets merged by [`Depacketizer::merge_info`] (by default: the first
    /// packet's fields, `keyframe` if any packet said so, the first `resolution` given).
    pub info: PacketInfo,
    /// [`Depacketizer::decodable`] for this frame.
    pub decodable: bool,
    /// Number of packets.
    pub packets: usize,
}

/// Why packets were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The sequence number is already buffered.
    Duplicate,
    /// The sequence number is before the frames already released or given up.
    Late,
    /// The depacketizer refused the payload or the frame.
    Malformed(Error),
    /// The frame waited longer than [`Config::max_age`].
    TooOld,
    /// The buffer was over [`Config::max_packets`] or [`Config::max_bytes`].
    BufferFull,
    /// A later keyframe was complete; what came before it was dropped.
    SkippedForKeyframe,
    /// A packet far behind the released frames started a new run of sequence numbers; what
    /// the buffer held was dropped.
    Restart,
}

/// A report of dropped packets: one packet, or the buffered packets of one frame given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// First extended sequence number given up (may be a packet that never arrived).
    pub first_seq: i64,
    /// Last extended sequence number given up.
    pub last_seq: i64,
    /// RTP timestamp of the dropped packets, when any was buffered.
    pub timestamp: Option<u32>,
    /// Buffered packets dropped (0 when only missing sequence numbers were given up).
    pub packets: usize,
    /// Why.
    pub reason: DropReason,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames released.
    pub frames: u64,
    /// Packets accepted into the buffer.
    pub packets: u64,
    /// Packets dropped, for any reason.
    pub packets_dropped: u64,
    /// Drop reports discarded because the caller did not poll them.
    pub drop_reports_lost: u64,
}

#[derive(Debug)]
struct Slot {
    payload: Bytes,
    ts: u32,
    marker: bool,
    info: PacketInfo,
    arrival: Instant,
}

impl Slot {
    fn is_padding(&self) -> bool {
        self.payload.is_empty()
    }

    fn ends_frame(&self) -> bool {
        self.marker || self.info.frame_end == Some(true)
    }
}

/// What is known about the packet just before the next expected sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// It ended a frame: the next packet starts one.
    FrameEnd,
    /// It had this timestamp: the next packet starts a frame if its timestamp differs.
    AfterTs(u32),
    /// Nothing: only an explicit `frame_start` starts a frame.
    Unknown,
}

/// Receive buffer that assembles frames; see the [module docs](self).
#[derive(Debug)]
pub struct FrameBuffer<D: Depacketizer> {
    depacketizer: D,
    config: Config,
    unwrapper: SeqUnwrapper,
    packets: BTreeMap<i64, Slot>,
    bytes: usize,
    /// Packets held that end a frame (marker or `frame_end`): no frame is complete without one,
    /// so the searches are skipped while there is none.
    ends: usize,
    /// First sequence number not yet released or given up; `None` before the first frame.
    next: Option<i64>,
    boundary: Boundary,
    /// Nothing lost since the last released frame.
    chain: bool,
    scratch: Vec<u8>,
    frames: VecDeque<Frame>,
    drops: VecDeque<Dropped>,
    stats: Stats,
    /// Arrival of the first packet.
    started: Option<Instant>,
    /// The latest `now` given.
    now: Option<Instant>,
}

impl<D: Depacketizer> FrameBuffer<D> {
    /// A buffer assembling with `depacketizer` within `config`'s limits.
    pub fn new(depacketizer: D, config: Config) -> Self {
        FrameBuffer {
            depacketizer,
            config,
            unwrapper: SeqUnwrapper::new(),
            packets: BTreeMap::new(),
            bytes: 0,
            ends: 0,
            next: None,
            boundary: Boundary::Unknown,
            chain: false,
            scratch: Vec::new(),
            frames: VecDeque::new(),
            drops: VecDeque::new(),
            stats: Stats::default(),
            started: None,
            now: None,
        }
    }

    /// The depacketizer.
    pub fn depacketizer(&self) -> &D {
        &self.depacketizer
    }

    /// The limits.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The next frame released, in sequence order.
    #[must_use]
    pub fn poll_frame(&mut self) -> Option<Frame> {
        self.frames.pop_front()
    }

    /// The next drop report.
    #[must_use]
    pub fn poll_drop(&mut self) -> Option<Dropped> {
        self.drops.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called: when the frame at the
    /// front reaches [`Config::max_age`].
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (_, slot) = self.packets.first_key_value()?;
        let age = slot.arrival.checked_add(self.config.max_age);
        let startup = match (self.next, self.started) {
            (None, Some(t)) => t
                .checked_add(self.config.startup_delay)
                .filter(|d| self.now.is_none_or(|now| *d > now)),
            _ => None,
        };
        match (age, startup) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Gives up blocked frames whose first buffered packet is too old, then releases what
    /// follows.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        self.release();
        self.expire(now);
    }

    /// Takes one RTP packet (any order). Frames it completes become available from
    /// [`poll_frame`](Self::poll_frame); drops from [`poll_drop`](Self::poll_drop).
    pub fn insert(&mut self, packet: RtpPacket, now: Instant) {
        self.now = Some(now);
        self.started.get_or_insert(now);
        let seq16 = packet.header.sequence_number;
        let seq = self.unwrapper.peek(seq16);
        if self.unwrapper.last().is_none_or(|last| seq > last) {
            self.unwrapper.unwrap(seq16);
        }
        let ts = packet.header.timestamp;
        let mut seq = seq;
        if let Some(next) = self.next.filter(|next| seq < *next) {
            if next - seq < i64::from(self.config.restart_distance.max(1)) {
                self.drop_one(seq, ts, DropReason::Late);
                return;
            }
            self.restart(now);
            self.unwrapper = SeqUnwrapper::new();
            seq = self.unwrapper.unwrap(seq16);
        }
        if self.packets.contains_key(&seq) {
            self.drop_one(seq, ts, DropReason::Duplicate);
            return;
        }
        let info = if packet.payload.is_empty() {
            PacketInfo::default()
        } else {
            match self.depacketizer.packet_info(&packet.payload) {
                Ok(info) => info,
                Err(e) => {
                    self.drop_one(seq, ts, DropReason::Malformed(e));
                    return;
                }
            }
        };
        self.bytes += packet.payload.len();
        self.stats.packets += 1;
        let slot = Slot {
            payload: packet.payload,
            ts,
            marker: packet.header.marker,
            info,
            arrival: now,
        };
        if slot.ends_frame() {
            self.ends += 1;
        }
        self.packets.insert(seq, slot);
        self.release();
        // Bound the buffer: give up the front until the limits hold.
        let mut guard = self.packets.len() + 2;
        while (self.packets.len() > self.config.max_packets || self.bytes > self.config.max_bytes)
            && guard > 0
        {
            guard -= 1;
            if !self.give_up(DropReason::BufferFull) {
                break;
            }
            self.release();
        }
        self.expire(now);
    }

    /// Drops everything held and starts over as if new (sequence numbers are extended afresh).
    fn restart(&mut self, now: Instant) {
        if let (Some((&first, slot)), Some((&last, _))) = (
            self.packets.first_key_value(),
            self.packets.last_key_value(),
        ) {
            let n = self.packets.len();
            let ts = slot.ts;
            self.stats.packets_dropped += n as u64;
            self.report(Dropped {
                first_seq: first,
                last_seq: last,
                timestamp: Some(ts),
                packets: n,
                reason: DropReason::Restart,
            });
        } else {
            self.report(Dropped {
                first_seq: self.next.unwrap_or(0),
                last_seq: self.next.unwrap_or(0),
                timestamp: None,
                packets: 0,
                reason: DropReason::Restart,
            });
        }
        tracing::debug!("frame buffer: sequence numbers restarted");
        self.packets.clear();
        self.bytes = 0;
        self.ends = 0;
        self.next = None;
        self.boundary = Boundary::Unknown;
        self.chain = false;
        self.started = Some(now);
        self.depacketizer.reset();
    }

    fn report(&mut self, d: Dropped) {
        if self.drops.len() >= self.config.max_drop_reports {
            self.drops.pop_front();
            self.stats.drop_reports_lost += 1;
        }
        if self.config.max_drop_reports > 0 {
            self.drops.push_back(d);
        } else {
            self.stats.drop_reports_lost += 1;
        }
    }

    fn remove(&mut self, seq: i64) -> Option<Slot> {
        let slot = self.packets.remove(&seq)?;
        self.bytes = self.bytes.saturating_sub(slot.payload.len());
        if slot.ends_frame() {
            self.ends = self.ends.saturating_sub(1);
        }
        Some(slot)
    }

    /// The sequence number frames are released from: `next`, or the first buffered packet
    /// before anything was released.
    fn front(&self) -> Option<i64> {
        self.next
            .or_else(|| self.packets.first_key_value().map(|(k, _)| *k))
    }
}
