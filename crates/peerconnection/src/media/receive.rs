//! The receiving half of one transceiver: what it accepts (codecs, RTX payload types), how it
//! delivers (frames through a bounded frame buffer per remote SSRC, or RTP packets), and the
//! feedback it has sent (getStats inbound-rtp `nackCount`, `pliCount`, `firCount`).

use std::time::Instant;

use ferrtc_media_codecs::frame_buffer::{Config as FrameBufferConfig, FrameBuffer};
use ferrtc_rtp::values::AudioLevel;
use ferrtc_rtp::RtpPacket;

use super::negotiated::{NegotiatedMedia, RemoteSsrc};
use super::payload::{format_of, AnyDepacketizer};
use super::router::ReceiverParams;
use super::types::{Codec, Direction, MediaKind, MediaMode, ReceivedFrame, TransceiverId};

/// Frame buffers kept per receiver (one per remote media SSRC: simulcast layers, SSRC changes).
pub const MAX_BUFFERS: usize = 8;

/// Audio levels remembered per stream until their frame is released: an audio frame is one
/// packet, and the frame buffer holds at most a few of them (reordering, start-up delay).
const LEVELS: usize = 8;

/// One frame buffer and the stream it assembles.
#[derive(Debug)]
struct Assembly {
    ssrc: u32,
    payload_type: u8,
    rid: Option<String>,
    buffer: FrameBuffer<AnyDepacketizer>,
    last_used: Instant,
    /// RFC 6464 levels of the latest packets by RTP timestamp, a ring (`next` is the slot the
    /// next one takes); read when their frame is released.
    levels: [Option<(u32, AudioLevel)>; LEVELS],
    next: usize,
}

impl Assembly {
    fn remember_level(&mut self, timestamp: u32, level: AudioLevel) {
        if let Some(slot) = self.levels.get_mut(self.next) {
            *slot = Some((timestamp, level));
        }
        self.next = (self.next + 1) % LEVELS;
    }

    fn level_of(&self, timestamp: u32) -> Option<AudioLevel> {
        self.levels
            .iter()
            .flatten()
            .find(|(t, _)| *t == timestamp)
            .map(|(_, l)| *l)
    }
}

/// The receiving half of a transceiver.
#[derive(Debug)]
pub struct Receiver {
    pub(crate) transceiver: TransceiverId,
    pub(crate) mid: String,
    pub(crate) kind: MediaKind,
    pub(crate) mode: MediaMode,
    pub(crate) direction: Direction,
    pub(crate) codecs: Vec<Codec>,
    pub(crate) remote_ssrcs: Vec<RemoteSsrc>,
    pub(crate) remote_rids: Vec<String>,
    assemblies: Vec<Assembly>,
    pub(crate) frames_received: u64,
    pub(crate) nacks_sent: u64,
    pub(crate) plis_sent: u64,
    pub(crate) firs_sent: u64,
    /// RFC 5104 §4.3.1.1: the FIR command sequence number, incremented per new request.
    pub(crate) fir_seq: u8,
    /// Packets dropped by the frame buffers (late, duplicate, malformed, too old…).
    pub(crate) packets_discarded: u64,
    /// Retransmitted packets received (RTX unwrapped).
    pub(crate) retransmitted_received: u64,
    /// Generic NACK negotiated on one of the codecs (RFC 4585 `a=rtcp-fb:<pt> nack`), kept
    /// here so the per-packet path does not look through the feedback strings.
    pub(crate) nack: bool,
}

/// Whether generic NACK is negotiated on any of `codecs`.
fn nack_negotiated(codecs: &[Codec]) -> bool {
    codecs.iter().any(|c| c.has_feedback("nack", None))
}

impl Receiver {
    /// A receiver for a negotiated section.
    pub(crate) fn new(n: &NegotiatedMedia) -> Self {
        Self {
            transceiver: n.transceiver,
            mid: n.mid.clone(),
            kind: n.kind,
            mode: n.mode,
            direction: n.direction,
            codecs: n.codecs.clone(),
            remote_ssrcs: n.remote_ssrcs.clone(),
            remote_rids: n.remote_rids.clone(),
            assemblies: Vec::new(),
            frames_received: 0,
            nacks_sent: 0,
            plis_sent: 0,
            firs_sent: 0,
            fir_seq: 0,
            packets_discarded: 0,
            retransmitted_received: 0,
            nack: nack_negotiated(&n.codecs),
        }
    }

    /// Takes a renegotiated section (frame buffers kept unless the codecs changed).
    pub(crate) fn update(&mut self, n: &NegotiatedMedia) {
        if n.codecs != self.codecs || n.mode != self.mode {
            self.assemblies.clear();
        }
        self.mid.clone_from(&n.mid);
        self.mode = n.mode;
        self.direction = n.direction;
        self.codecs.clone_from(&n.codecs);
        self.nack = nack_negotiated(&n.codecs);
        self.remote_ssrcs.clone_from(&n.remote_ssrcs);
        self.remote_rids.clone_from(&n.remote_rids);
    }

    /// What the router must know about this receiver.
    pub(crate) fn router_params(&self) -> ReceiverParams {
        ReceiverParams {
            mid: self.mid.clone(),
            payload_types: self.codecs.iter().map(|c| c.payload_type).collect(),
            rtx_payload_types: self
                .codecs
                .iter()
                .filter_map(|c| c.rtx_payload_type.map(|r| (r, c.payload_type)))
                .collect(),
            rids: self.remote_rids.clone(),
            ssrcs: self
                .remote_ssrcs
                .iter()
                .filter(|s| s.rtx.is_none())
                .map(|s| s.ssrc)
                .collect(),
            rtx_pairs: self
                .remote_ssrcs
                .iter()
                .filter_map(|s| s.rtx.map(|r| (s.ssrc, r)))
                .collect(),
        }
    }

    /// The codec of a media payload type.
    pub(crate) fn codec(&self, pt: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }

    /// The media payload type an RTX payload type repairs (RFC 4588 §8.6 `apt`).
    pub(crate) fn apt(&self, rtx_pt: u8) -> Option<u8> {
        self.codecs
            .iter()
            .find(|c| c.rtx_payload_type == Some(rtx_pt))
            .map(|c| c.payload_type)
    }

    /// Remote media SSRCs currently assembled or announced (keyframe requests go to them).
    pub(crate) fn media_ssrcs(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.assemblies.iter().map(|a| a.ssrc).collect();
        for s in &self.remote_ssrcs {
            if !v.contains(&s.ssrc) {
                v.push(s.ssrc);
            }
        }
        v
    }

    /// Feeds a media packet to the frame buffer of its SSRC; frames it completes are pushed
    /// to `out`. `rid` names the simulcast layer, when known; `audio_level` is the packet's
    /// RFC 6464 header extension, handed on with its frame. Returns false when the payload
    /// type has no depacketizer.
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        packet: RtpPacket,
        rid: Option<&[u8]>,
        audio_level: Option<AudioLevel>,
        config: &FrameBufferConfig,
        out: &mut Vec<ReceivedFrame>,
    ) -> bool {
        let ssrc = packet.header.ssrc;
        let pt = packet.header.payload_type;
        let pos = self.assemblies.iter().position(|a| a.ssrc == ssrc);
        // The same payload type is the same format (the common case: no lookup by name).
        let same_format = |a: &Assembly, codecs: &[Codec]| {
            let f = |pt: u8| {
                codecs
                    .iter()
                    .find(|c| c.payload_type == pt)
                    .and_then(format_of)
            };
            a.payload_type == pt || f(a.payload_type) == f(pt)
        };
        let rid_name = |r: &[u8]| String::from_utf8_lossy(r).into_owned();
        let index = match pos {
            Some(i)
                if self
                    .assemblies
                    .get(i)
                    .is_some_and(|a| same_format(a, &self.codecs)) =>
            {
                i
            }
            other => {
                let Some(d) = self.codec(pt).and_then(AnyDepacketizer::for_codec) else {
                    return false;
                };
                let a = Assembly {
                    ssrc,
                    payload_type: pt,
                    rid: rid.map(rid_name),
                    buffer: FrameBuffer::new(d, *config),
                    last_used: now,
                    levels: [None; LEVELS],
                    next: 0,
                };
                match other {
                    Some(i) => {
                        if let Some(slot) = self.assemblies.get_mut(i) {
                            *slot = a;
                        }
                        i
                    }
                    None => {
                        if self.assemblies.len() >= MAX_BUFFERS {
                            // Evict the stream silent the longest.
                            if let Some(old) = self
                                .assemblies
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, a)| a.last_used)
                                .map(|(i, _)| i)
                            {
                                self.assemblies.remove(old);
                            }
                        }
                        self.assemblies.push(a);
                        self.assemblies.len() - 1
                    }
                }
            }
        };
        if let Some(a) = self.assemblies.get_mut(index) {
            a.last_used = now;
            a.payload_type = pt;
            if let Some(r) = rid {
                if a.rid.as_deref().map(str::as_bytes) != Some(r) {
                    a.rid = Some(rid_name(r));
                }
            }
            if let Some(level) = audio_level {
                a.remember_level(packet.header.timestamp, level);
            }
            a.buffer.insert(packet, now);
        }
        self.drain(now, out);
        true
    }

    /// Releases frames and counts drops of every buffer.
    fn drain(&mut self, now: Instant, out: &mut Vec<ReceivedFrame>) {
        for a in &mut self.assemblies {
            while let Some(f) = a.buffer.poll_frame() {
                self.frames_received = self.frames_received.saturating_add(1);
                out.push(ReceivedFrame {
                    transceiver: self.transceiver,
                    rid: a.rid.clone(),
                    payload_type: a.payload_type,
                    rtp_timestamp: f.timestamp,
                    data: f.data,
                    keyframe: f.info.keyframe,
                    contiguous: f.contiguous,
                    decodable: f.decodable,
                    seq_range: (
                        u64::try_from(f.first_seq).unwrap_or(0),
                        u64::try_from(f.last_seq).unwrap_or(0),
                    ),
                    arrival: now,
                    resolution: f.info.resolution,
                    audio_level: a.level_of(f.timestamp),
                });
            }
            while let Some(d) = a.buffer.poll_drop() {
                let n = u64::try_from(d.packets).unwrap_or(u64::MAX);
                self.packets_discarded = self.packets_discarded.saturating_add(n);
                tracing::trace!(ssrc = a.ssrc, ?d.reason, "media: frame buffer drop");
            }
        }
    }

    /// The earliest frame buffer deadline.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.assemblies
            .iter()
            .filter_map(|a| a.buffer.poll_timeout())
            .min()
    }

    /// Fires due frame buffer timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Vec<ReceivedFrame>) {
        for a in &mut self.assemblies {
            if a.buffer.poll_timeout().is_some_and(|t| t <= now) {
                a.buffer.handle_timeout(now);
            }
        }
        self.drain(now, out);
    }

    /// Forgets the frame buffer of an SSRC (BYE, timeout).
    pub(crate) fn remove_ssrc(&mut self, ssrc: u32) {
        self.assemblies.retain(|a| a.ssrc != ssrc);
    }
}
