//! One outgoing media stream (the RTP half of an `RTCRtpSender`): our SSRC, a random initial
//! sequence number and timestamp offset (RFC 3550 §5.1), the negotiated header extensions, a
//! packetizer per payload type, and what it counts and learns from the peer's reports.
//!
//! It writes plain RTP into a caller's buffer; the engine protects it with SRTP and queues it.

use std::time::{Duration, Instant};

use ferrtc_rtcp::ReportBlock;
use ferrtc_rtp::values::{AbsSendTime, AudioLevel, Mid, TransportCc};
use ferrtc_rtp::{ExtensionKind, ExtensionMap, ExtensionsBuilder, RtpHeader, RtpPacket};
use rand_core::RngCore;

use super::nack::SendHistory;
use super::negotiated::NegotiatedMedia;
use super::payload::AnyPacketizer;
use super::rtt::{RttConfig, RttEstimator};
use super::sender_stats::SenderStats;
use super::types::{Codec, Direction, MediaKind, MediaMode, TransceiverId};
use super::NtpTime;
use crate::Error;

/// Most packetizers kept per sender (one per payload type used).
const MAX_PACKETIZERS: usize = 8;

/// What the peer last told us about this stream in a report block (remote-inbound-rtp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteInbound {
    /// The block.
    pub block: ReportBlock,
    /// When it arrived.
    pub at: Instant,
}

/// Per-packet facts the engine gives a sender.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketContext {
    /// Wall-clock time now (abs-send-time).
    pub ntp_now: NtpTime,
    /// The next transport-wide sequence number (used only when negotiated).
    pub twcc_seq: u16,
    /// The audio level to write (RFC 6464), for audio when negotiated.
    pub audio_level: Option<AudioLevel>,
}

/// One outgoing stream.
#[derive(Debug)]
pub struct Sender {
    pub(crate) transceiver: TransceiverId,
    pub(crate) mid: String,
    pub(crate) kind: MediaKind,
    pub(crate) mode: MediaMode,
    pub(crate) direction: Direction,
    pub(crate) codecs: Vec<Codec>,
    pub(crate) extensions: ExtensionMap,
    pub(crate) ssrc: u32,
    /// Next sequence number and the timestamp offset, drawn at the first packet.
    seq: Option<(u16, u32)>,
    packetizers: Vec<(u8, AnyPacketizer)>,
    pub(crate) stats: SenderStats,
    pub(crate) rtt: RttEstimator,
    pub(crate) remote_inbound: Option<RemoteInbound>,
    /// Frames packetized (outbound-rtp `framesEncoded` is not claimed: ferrtc did not encode
    /// them; `framesSent` is this).
    pub(crate) frames_sent: u64,
    /// NACK / PLI / FIR received for this stream.
    pub(crate) nacks_received: u64,
    pub(crate) plis_received: u64,
    pub(crate) firs_received: u64,
    /// Payload type of the last packet sent.
    pub(crate) last_pt: Option<u8>,
    /// Generic NACK negotiated on a codec (RFC 4585 `a=rtcp-fb:<pt> nack`): keep a history.
    pub(crate) nack: bool,
    /// Our RTX SSRC and its next sequence number (RFC 4588 §4).
    pub(crate) rtx: Option<(u32, u16)>,
    /// The last packets sent, to answer NACKs.
    pub(crate) history: SendHistory,
}

impl Sender {
    /// A sender for a negotiated section.
    pub(crate) fn new(n: &NegotiatedMedia) -> Self {
        let clock = n.codecs.first().map_or(90_000, |c| c.clock_rate);
        Self {
            transceiver: n.transceiver,
            mid: n.mid.clone(),
            kind: n.kind,
            mode: n.mode,
            direction: n.direction,
            codecs: n.codecs.clone(),
            extensions: n.extensions.clone(),
            ssrc: n.local_ssrc,
            seq: None,
            packetizers: Vec::new(),
            stats: SenderStats::new(n.local_ssrc, clock),
            rtt: RttEstimator::new(RttConfig::default()),
            remote_inbound: None,
            frames_sent: 0,
            nacks_received: 0,
            plis_received: 0,
            firs_received: 0,
            last_pt: None,
            nack: n.codecs.iter().any(|c| c.has_feedback("nack", None)),
            rtx: n.local_rtx_ssrc.map(|r| (r, (n.local_ssrc ^ r) as u16)),
            history: SendHistory::default(),
        }
    }

    /// Takes a renegotiated section: codecs, extensions, direction (counters and sequence
    /// numbers continue; a changed SSRC starts a new stream).
    pub(crate) fn update(&mut self, n: &NegotiatedMedia) {
        if n.local_ssrc != self.ssrc {
            *self = Self::new(n);
            return;
        }
        if n.codecs != self.codecs {
            self.packetizers.clear();
        }
        self.mid.clone_from(&n.mid);
        self.mode = n.mode;
        self.direction = n.direction;
        self.codecs.clone_from(&n.codecs);
        self.extensions = n.extensions.clone();
        self.nack = n.codecs.iter().any(|c| c.has_feedback("nack", None));
        if self.rtx.map(|(r, _)| r) != n.local_rtx_ssrc {
            self.rtx = n.local_rtx_ssrc.map(|r| (r, (n.local_ssrc ^ r) as u16));
        }
    }

    /// The RTX payload type repairing `pt`, when RTX is negotiated for it and we have an RTX
    /// SSRC.
    pub(crate) fn rtx_for(&self, pt: u8) -> Option<u8> {
        self.rtx?;
        self.codecs
            .iter()
            .find(|c| c.payload_type == pt)
            .and_then(|c| c.rtx_payload_type)
    }

    /// The codec to send with: `pt`, or the first negotiated one.
    pub(crate) fn codec(&self, pt: Option<u8>) -> Result<&Codec, Error> {
        match pt {
            None => self.codecs.first().ok_or_else(|| {
                Error::InvalidState(format!("transceiver {}: no codec negotiated", self.mid))
            }),
            Some(pt) => self
                .codecs
                .iter()
                .find(|c| c.payload_type == pt)
                .ok_or_else(|| {
                    Error::InvalidState(format!(
                        "transceiver {}: payload type {pt} was not negotiated",
                        self.mid
                    ))
                }),
        }
    }

    fn next_seq(&mut self, rng: &mut impl RngCore) -> (u16, u32) {
        // RFC 3550 §5.1: random initial sequence number and timestamp offset.
        let (seq, offset) = *self
            .seq
            .get_or_insert_with(|| ((rng.next_u32() & 0x7fff) as u16, rng.next_u32()));
        self.seq = Some((seq.wrapping_add(1), offset));
        (seq, offset)
    }

    /// The timestamp offset (drawn now if no packet was sent yet).
    fn offset(&mut self, rng: &mut impl RngCore) -> u32 {
        match self.seq {
            Some((_, o)) => o,
            None => {
                let v = ((rng.next_u32() & 0x7fff) as u16, rng.next_u32());
                self.seq = Some(v);
                v.1
            }
        }
    }

    /// The header extensions we put on every packet: mid (RFC 8843 §15), abs-send-time,
    /// transport-wide-cc sequence number, and on audio the level the application gave
    /// (RFC 6464), when each was negotiated. `uses_twcc` says whether the transport-wide
    /// number was consumed.
    fn extensions_for(&self, ctx: &PacketContext) -> (Option<ferrtc_rtp::HeaderExtensions>, bool) {
        let mut b = ExtensionsBuilder::new();
        let mut twcc = false;
        if let Some(id) = self.extensions.id_of(ExtensionKind::Mid) {
            let _ = b.push_value(id, &Mid(self.mid.as_bytes()));
        }
        if let Some(id) = self.extensions.id_of(ExtensionKind::AbsSendTime) {
            let _ = b.push_value(id, &AbsSendTime::from_ntp(ctx.ntp_now.0));
        }
        // RFC 6464 §3: one octet, the V flag and the level in -dBov; audio streams only.
        if let (MediaKind::Audio, Some(level)) = (self.kind, ctx.audio_level) {
            if let Some(id) = self.extensions.id_of(ExtensionKind::AudioLevel) {
                let _ = b.push_value(id, &level);
            }
        }
        let tcc = self
            .extensions
            .id_of(ExtensionKind::TransportCc01)
            .or_else(|| self.extensions.id_of(ExtensionKind::TransportCc02));
        if let Some(id) = tcc {
            let v = TransportCc {
                sequence_number: ctx.twcc_seq,
                feedback_request: None,
            };
            twcc = b.push_value(id, &v).is_ok();
        }
        if b.is_empty() {
            return (None, twcc);
        }
        // Two-byte form only if a value needs it (a long MID); peers accept it per RFC 8285 §4.3
        // only with extmap-allow-mixed, so a MID over 16 bytes is the application's choice.
        (b.finish(true).ok(), twcc)
    }

    /// Packetizes one frame: each RTP packet (plain, not yet protected) is handed to `emit`.
    /// `room` is the largest RTP packet allowed (MTU minus SRTP overhead). Returns the number
    /// of transport-wide sequence numbers used.
    pub(crate) fn write_frame(
        &mut self,
        now: Instant,
        frame: &super::types::OutgoingFrame,
        room: usize,
        mut ctx: PacketContext,
        rng: &mut impl RngCore,
        mut emit: impl FnMut(Vec<u8>),
    ) -> Result<u16, Error> {
        let pt = self.codec(frame.payload_type)?.payload_type;
        let offset = self.offset(rng);
        let timestamp = frame.rtp_timestamp.wrapping_add(offset);
        // The first packet's extensions decide the header size (every packet gets the same
        // set, so the same size).
        let (probe, _) = self.extensions_for(&ctx);
        let header_len = RtpHeader {
            extensions: probe,
            ..Default::default()
        }
        .encoded_len();
        let max_payload = room.saturating_sub(header_len);
        let index = match self.packetizers.iter().position(|(p, _)| *p == pt) {
            Some(i) => i,
            None => {
                let codec = self.codec(Some(pt))?;
                let p = AnyPacketizer::for_codec(codec, (rng.next_u32() & 0x7fff) as u16)
                    .ok_or_else(|| {
                        Error::InvalidState(format!(
                            "payload type {pt} ({}) cannot be sent at frame level; use write_rtp",
                            codec.mime_type
                        ))
                    })?;
                if self.packetizers.len() >= MAX_PACKETIZERS {
                    self.packetizers.remove(0);
                }
                self.packetizers.push((pt, p));
                self.packetizers.len() - 1
            }
        };
        let Some((_, packetizer)) = self.packetizers.get_mut(index) else {
            return Err(Error::InvalidState("packetizer vanished".into()));
        };
        packetizer
            .begin(frame.data.clone(), max_payload)
            .map_err(|e| Error::InvalidState(format!("frame refused by the packetizer: {e}")))?;
        self.stats
            .set_timestamp_reference(frame.capture_time, timestamp);
        let mut used = 0u16;
        loop {
            let (exts, twcc) = self.extensions_for(&ctx);
            let (seq, _) = self.seq.unwrap_or_default();
            let header = RtpHeader {
                marker: false,
                payload_type: pt,
                sequence_number: seq,
                timestamp,
                ssrc: self.ssrc,
                csrcs: Default::default(),
                extensions: exts,
            };
            // One buffer per datagram: it becomes the `Bytes` handed to the transport, with
            // room for the SRTP tag so protecting it does not reallocate.
            let mut buf = Vec::with_capacity(room.saturating_add(32));
            header.write_to(false, &mut buf);
            let hlen = buf.len();
            let Some((_, packetizer)) = self.packetizers.get_mut(index) else {
                break;
            };
            let Some(meta) = packetizer.next_payload(&mut buf) else {
                break;
            };
            if meta.marker {
                if let Some(b) = buf.get_mut(1) {
                    *b |= 0x80;
                }
            }
            self.next_seq(rng);
            if twcc {
                ctx.twcc_seq = ctx.twcc_seq.wrapping_add(1);
                used = used.wrapping_add(1);
            }
            self.stats.on_packet_sent(now, hlen, meta.len);
            emit(buf);
        }
        self.frames_sent = self.frames_sent.saturating_add(1);
        self.last_pt = Some(pt);
        Ok(used)
    }

    /// An application's RTP packet: its payload type (must be negotiated), sequence number,
    /// timestamp, marker, CSRCs and payload are kept; the SSRC becomes ours and the header
    /// extensions become the negotiated ones we send (mid, abs-send-time, transport-cc).
    pub(crate) fn write_rtp(
        &mut self,
        now: Instant,
        mut packet: RtpPacket,
        ctx: PacketContext,
    ) -> Result<(Vec<u8>, bool), Error> {
        let pt = packet.header.payload_type;
        let is_rtx = self.codecs.iter().any(|c| c.rtx_payload_type == Some(pt));
        if !is_rtx {
            self.codec(Some(pt))?;
        }
        let (exts, twcc) = self.extensions_for(&ctx);
        packet.header.ssrc = self.ssrc;
        packet.header.extensions = exts;
        let mut buf = Vec::with_capacity(packet.encoded_len() + 32);
        packet.write_to(&mut buf);
        self.stats
            .set_timestamp_reference(now, packet.header.timestamp);
        self.stats
            .on_packet_sent(now, packet.header.encoded_len(), packet.payload.len());
        self.last_pt = Some(pt);
        Ok((buf, twcc))
    }

    /// A report block about this stream arrived at wall-clock `arrival`.
    pub(crate) fn on_report_block(&mut self, now: Instant, arrival: NtpTime, block: &ReportBlock) {
        let _ = self.rtt.on_report_block(arrival, block);
        self.remote_inbound = Some(RemoteInbound {
            block: *block,
            at: now,
        });
    }

    /// Whether this sender may send now.
    pub(crate) fn sends(&self) -> bool {
        self.direction.sends()
    }

    /// The latest round trip.
    pub fn round_trip_time(&self) -> Option<Duration> {
        self.rtt.latest()
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }
}
