//! The public vocabulary of media in the peer connection (W3C webrtc-pc §5: `RTCRtpTransceiver`,
//! `RTCRtpSender`, `RTCRtpReceiver`, `RTCRtpCodec`), shared by the JSEP side (which negotiates
//! transceivers) and the media engine (which moves their packets).
//!
//! Two ways to use a transceiver, chosen per transceiver with [`MediaMode`]:
//! - frame level: write an encoded frame or audio packet ([`OutgoingFrame`]), receive assembled
//!   frames ([`ReceivedFrame`]) with keyframe and timing facts;
//! - RTP level: write and receive whole RTP packets (SFUs, forwarders, recorders that keep RTP).
//!
//! Designed so resilience (NACK/RTX, keyframe requests, jitter buffers, FEC), congestion control
//! (TWCC/REMB feedback and a pacer between the engine and the transport) and an SFU (RTP mode,
//! per-packet [`ferrtc_media_codecs::PacketInfo`]) fit in without changing these types.

use std::time::Instant;

use bytes::Bytes;
pub use ferrtc_rtp::values::AudioLevel;

/// `audio` or `video` (W3C `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

impl MediaKind {
    /// The SDP media type (`m=audio` / `m=video`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// `RTCRtpTransceiverDirection` (W3C §5.4) is the SDP direction attribute (RFC 8866 §6.7): one
/// type for both, so JSEP needs no conversion. A stopped transceiver is not a direction here:
/// see [`TransceiverInfo::stopped`].
pub use ferrtc_sdp::Direction;

/// A transceiver of this peer connection: an index that stays valid for the connection's life
/// (stopped transceivers keep their id; ids are never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub(crate) u32);

impl TransceiverId {
    /// The index, for logs and maps.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// What a transceiver's receiver delivers and its sender accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaMode {
    /// Encoded frames in ([`OutgoingFrame`]), assembled frames out ([`ReceivedFrame`]).
    #[default]
    Frame,
    /// Whole RTP packets both ways ([`ferrtc_rtp::RtpPacket`]); the engine still does SRTP,
    /// RTCP reports, stats and SSRC/payload-type mapping.
    Rtp,
}

/// `RTCRtpEncodingParameters` (the part ferrtc uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEncoding {
    /// Simulcast layer name (`a=rid`), `None` without simulcast.
    pub rid: Option<String>,
    /// Whether this encoding is sent.
    pub active: bool,
    /// Upper bound for this encoding's bitrate, bits per second.
    pub max_bitrate_bps: Option<u32>,
}

impl Default for SendEncoding {
    fn default() -> Self {
        Self {
            rid: None,
            active: true,
            max_bitrate_bps: None,
        }
    }
}

/// `RTCRtpTransceiverInit` (W3C §5.1) plus ferrtc's [`MediaMode`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransceiverInit {
    /// Initial direction.
    pub direction: Direction,
    /// The sender's stream ids (`a=msid`); empty: the track is in no stream (`a=msid:-`).
    pub stream_ids: Vec<String>,
    /// Send encodings; empty means one encoding with defaults.
    pub send_encodings: Vec<SendEncoding>,
    /// Frame or RTP level.
    pub mode: MediaMode,
}

/// A local track given to `add_track` (the sans-IO layer knows only its identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTrack {
    /// Audio or video.
    pub kind: MediaKind,
    /// The track id, written in `a=msid` (W3C `MediaStreamTrack.id`).
    pub id: String,
    /// Stream ids the track belongs to.
    pub stream_ids: Vec<String>,
}

/// One `a=rtcp-fb` value (RFC 4585 §4.2, RFC 5104 §7.1, transport-cc, goog-remb).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFeedback {
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`.
    pub kind: String,
    /// `pli` (with `nack`), `fir` (with `ccm`), or none.
    pub param: Option<String>,
}

impl RtcpFeedback {
    /// A feedback value from its two SDP words.
    pub fn new(kind: &str, param: Option<&str>) -> Self {
        Self {
            kind: kind.to_owned(),
            param: param.map(str::to_owned),
        }
    }
}

/// `RTCRtpCodecParameters`: one codec as negotiated (or offered) with its payload type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type (`a=rtpmap:<pt>`).
    pub payload_type: u8,
    /// `video/VP8`, `audio/opus`, … (W3C `mimeType`, the rtpmap encoding name with its kind).
    pub mime_type: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (`opus/48000/2` → 2); `None` for video.
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters, as written after the payload type.
    pub sdp_fmtp_line: Option<String>,
    /// `a=rtcp-fb` values for this payload type.
    pub rtcp_feedback: Vec<RtcpFeedback>,
    /// Payload type of the RTX stream repairing this codec (RFC 4588 `apt=`), if negotiated.
    pub rtx_payload_type: Option<u8>,
}

impl Codec {
    /// Whether `a=rtcp-fb` lists this kind/param pair.
    pub fn has_feedback(&self, kind: &str, param: Option<&str>) -> bool {
        self.rtcp_feedback
            .iter()
            .any(|f| f.kind == kind && f.param.as_deref() == param)
    }
}

/// An encoded frame (video) or packet (audio) to send on a [`MediaMode::Frame`] transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFrame {
    /// The encoded bytes: an Annex B access unit (H.264/H.265), a temporal unit of OBUs (AV1),
    /// a VP8/VP9 frame, one Opus/G.711/G.722 packet.
    pub data: Bytes,
    /// RTP timestamp of the frame, in the codec's clock rate (the application's media clock;
    /// the engine adds the sender's random offset, RFC 3550 §5.1).
    pub rtp_timestamp: u32,
    /// When the frame was captured (for the SR's NTP↔RTP mapping and abs-capture-time).
    pub capture_time: Instant,
    /// Payload type to send with; `None`: the first negotiated codec.
    pub payload_type: Option<u8>,
    /// Audio: the level and voice activity of this packet (RFC 6464), written as the
    /// `ssrc-audio-level` header extension when it was negotiated; `None` writes none. Ignored
    /// on video and where the extension was not negotiated.
    pub audio_level: Option<AudioLevel>,
}

impl OutgoingFrame {
    /// A frame of `data` with the first negotiated codec and no audio level.
    pub fn new(data: Bytes, rtp_timestamp: u32, capture_time: Instant) -> Self {
        Self {
            data,
            rtp_timestamp,
            capture_time,
            payload_type: None,
            audio_level: None,
        }
    }
}

/// A frame assembled by the receiver of a [`MediaMode::Frame`] transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// The transceiver it arrived on.
    pub transceiver: TransceiverId,
    /// RID of the simulcast layer, if any.
    pub rid: Option<String>,
    /// Payload type (which codec).
    pub payload_type: u8,
    /// RTP timestamp.
    pub rtp_timestamp: u32,
    /// The depacketized bytes (Annex B for H.264/H.265, OBUs for AV1).
    pub data: Bytes,
    /// A key frame (decodable on its own).
    pub keyframe: bool,
    /// Whether every packet from the previous frame up to this one arrived (no gap before it).
    pub contiguous: bool,
    /// Whether everything this frame depends on was delivered (from the codec's dependency
    /// information).
    pub decodable: bool,
    /// Extended sequence numbers of the first and last packet.
    pub seq_range: (u64, u64),
    /// Arrival time of the last packet that completed the frame.
    pub arrival: Instant,
    /// Resolution, when the payload says it (key frames).
    pub resolution: Option<(u16, u16)>,
    /// The sender's audio level for this frame (RFC 6464 `ssrc-audio-level`, what
    /// `RTCRtpReceiver.getSynchronizationSources()` reports): `None` for video, or when the
    /// extension is not negotiated or not sent.
    pub audio_level: Option<AudioLevel>,
}

/// Which key frame request (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyframeRequestKind {
    /// Picture Loss Indication.
    Pli,
    /// Full Intra Request.
    Fir,
}

/// A remote track announced by a remote description (`track` event, W3C §5.2 / JSEP §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    /// The transceiver whose receiver carries it.
    pub transceiver: TransceiverId,
    /// The m= section's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The remote track id (`a=msid` appdata), or a generated one.
    pub track_id: String,
    /// The remote stream ids (`a=msid`).
    pub stream_ids: Vec<String>,
}

/// What the application can read about a transceiver (`RTCRtpTransceiver` attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransceiverInfo {
    /// Its id.
    pub id: TransceiverId,
    /// Audio or video.
    pub kind: MediaKind,
    /// The mid, once negotiated or offered (`null` before).
    pub mid: Option<String>,
    /// The direction the application asked for.
    pub direction: Direction,
    /// The negotiated direction (`currentDirection`), `None` before negotiation or when stopped.
    pub current_direction: Option<Direction>,
    /// Stopped (or stopping): its m= section is or will be rejected.
    pub stopped: bool,
    /// The local track its sender sends, if any.
    pub sender_track: Option<LocalTrack>,
    /// The remote track its receiver receives, once announced.
    pub receiver_track: Option<TrackInfo>,
    /// Frame or RTP level.
    pub mode: MediaMode,
    /// The negotiated codecs, in preference order (empty before negotiation).
    pub codecs: Vec<Codec>,
}
