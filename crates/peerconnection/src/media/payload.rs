//! Payload formats chosen by the negotiated codec's mime type: one packetizer and one
//! depacketizer enum over ferrtc-media-codecs, so a sender or a frame buffer holds a plain
//! value (no boxing, no dynamic dispatch on the per-packet path).

use bytes::Bytes;
use ferrtc_media_codecs::av1::{Av1Depacketizer, Av1Packetizer};
use ferrtc_media_codecs::g711::{G711Depacketizer, G711Packetizer, Law};
use ferrtc_media_codecs::g722::{G722Depacketizer, G722Packetizer};
use ferrtc_media_codecs::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use ferrtc_media_codecs::h265::{H265Config, H265Depacketizer, H265Packetizer};
use ferrtc_media_codecs::opus::{OpusDepacketizer, OpusPacketizer};
use ferrtc_media_codecs::vp8::{PictureIdMode, Vp8Depacketizer, Vp8Packetizer};
use ferrtc_media_codecs::vp9::{Vp9Depacketizer, Vp9Packetizer};
use ferrtc_media_codecs::{
    Codec as Format, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta,
};

use super::types::Codec;

/// The payload format of a negotiated codec, from its mime type (`video/VP8`, `audio/opus`,
/// case-insensitive as SDP encoding names are, RFC 4855 §3). `None` for formats ferrtc does
/// not packetize (RTX, RED, FEC, telephone-event, unknown ones).
pub fn format_of(codec: &Codec) -> Option<Format> {
    /// Encoding names and their formats (compared without allocating: this runs per packet
    /// when a stream changes payload type).
    const NAMES: [(&str, Format); 9] = [
        ("opus", Format::Opus),
        ("pcmu", Format::Pcmu),
        ("pcma", Format::Pcma),
        ("g722", Format::G722),
        ("vp8", Format::Vp8),
        ("vp9", Format::Vp9),
        ("h264", Format::H264),
        ("h265", Format::H265),
        ("av1", Format::Av1),
    ];
    let name = codec
        .mime_type
        .split_once('/')
        .map_or(codec.mime_type.as_str(), |(_, n)| n);
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// An fmtp parameter's value (`a=fmtp:96 packetization-mode=1;profile-level-id=42e01f`).
fn fmtp_param<'a>(codec: &'a Codec, key: &str) -> Option<&'a str> {
    codec.sdp_fmtp_line.as_deref()?.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then_some(v.trim())
    })
}

/// A packetizer of any supported format.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AnyPacketizer {
    /// Opus.
    Opus(OpusPacketizer),
    /// G.711.
    G711(G711Packetizer),
    /// G.722.
    G722(G722Packetizer),
    /// VP8.
    Vp8(Vp8Packetizer),
    /// VP9.
    Vp9(Vp9Packetizer),
    /// H.264.
    H264(H264Packetizer),
    /// H.265.
    H265(H265Packetizer),
    /// AV1.
    Av1(Av1Packetizer),
}

impl AnyPacketizer {
    /// The packetizer for `codec`; `first_picture_id` seeds VP8/VP9 picture ids (random).
    pub fn for_codec(codec: &Codec, first_picture_id: u16) -> Option<Self> {
        let p = match format_of(codec)? {
            Format::Opus => Self::Opus(OpusPacketizer::new()),
            Format::Pcmu => Self::G711(G711Packetizer::new(Law::Mu)),
            Format::Pcma => Self::G711(G711Packetizer::new(Law::A)),
            Format::G722 => Self::G722(G722Packetizer::new()),
            Format::Vp8 => Self::Vp8(Vp8Packetizer::new(
                PictureIdMode::Long,
                first_picture_id & 0x7fff,
            )),
            Format::Vp9 => Self::Vp9(Vp9Packetizer::new(false, first_picture_id & 0x7fff)),
            Format::H264 => {
                // RFC 6184 §8.1: packetization-mode absent means 0 (single NAL unit).
                let mode = match fmtp_param(codec, "packetization-mode") {
                    Some("1") => PacketizationMode::NonInterleaved,
                    _ => PacketizationMode::SingleNal,
                };
                Self::H264(H264Packetizer::new(mode))
            }
            Format::H265 => Self::H265(H265Packetizer::new(H265Config::default())),
            Format::Av1 => Self::Av1(Av1Packetizer::new()),
            _ => return None,
        };
        Some(p)
    }

    fn inner(&mut self) -> &mut dyn Packetizer {
        match self {
            Self::Opus(p) => p,
            Self::G711(p) => p,
            Self::G722(p) => p,
            Self::Vp8(p) => p,
            Self::Vp9(p) => p,
            Self::H264(p) => p,
            Self::H265(p) => p,
            Self::Av1(p) => p,
        }
    }

    /// Starts a frame (see [`Packetizer::begin`]).
    pub fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.inner().begin(frame, max_payload)
    }

    /// Appends the next payload to `out` (see [`Packetizer::next_payload`]).
    pub fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        self.inner().next_payload(out)
    }
}

/// A depacketizer of any supported format (what a frame buffer is generic over).
#[derive(Debug)]
pub enum AnyDepacketizer {
    /// Opus.
    Opus(OpusDepacketizer),
    /// G.711.
    G711(G711Depacketizer),
    /// G.722.
    G722(G722Depacketizer),
    /// VP8.
    Vp8(Vp8Depacketizer),
    /// VP9.
    Vp9(Vp9Depacketizer),
    /// H.264.
    H264(H264Depacketizer),
    /// H.265.
    H265(H265Depacketizer),
    /// AV1.
    Av1(Av1Depacketizer),
}

impl AnyDepacketizer {
    /// The depacketizer for `codec`.
    pub fn for_codec(codec: &Codec) -> Option<Self> {
        let d = match format_of(codec)? {
            Format::Opus => Self::Opus(OpusDepacketizer::new()),
            Format::Pcmu => Self::G711(G711Depacketizer::new(Law::Mu)),
            Format::Pcma => Self::G711(G711Depacketizer::new(Law::A)),
            Format::G722 => Self::G722(G722Depacketizer::new()),
            Format::Vp8 => Self::Vp8(Vp8Depacketizer::new()),
            Format::Vp9 => Self::Vp9(Vp9Depacketizer::new()),
            Format::H264 => Self::H264(H264Depacketizer::new()),
            Format::H265 => Self::H265(H265Depacketizer::new(H265Config::default())),
            Format::Av1 => Self::Av1(Av1Depacketizer::new()),
            _ => return None,
        };
        Some(d)
    }

    fn inner(&self) -> &dyn Depacketizer {
        match self {
            Self::Opus(d) => d,
            Self::G711(d) => d,
            Self::G722(d) => d,
            Self::Vp8(d) => d,
            Self::Vp9(d) => d,
            Self::H264(d) => d,
            Self::H265(d) => d,
            Self::Av1(d) => d,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Depacketizer {
        match self {
            Self::Opus(d) => d,
            Self::G711(d) => d,
            Self::G722(d) => d,
            Self::Vp8(d) => d,
            Self::Vp9(d) => d,
            Self::H264(d) => d,
            Self::H265(d) => d,
            Self::Av1(d) => d,
        }
    }
}

impl Depacketizer for AnyDepacketizer {
    fn codec(&self) -> Format {
        self.inner().codec()
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        self.inner().packet_info(payload)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        self.inner_mut().push(payload, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.inner_mut().finish(out)
    }

    fn reset(&mut self) {
        self.inner_mut().reset();
    }

    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        self.inner().merge_info(frame, packet);
    }

    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        self.inner_mut().decodable(frame, contiguous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(mime: &str, fmtp: Option<&str>) -> Codec {
        Codec {
            payload_type: 96,
            mime_type: mime.into(),
            clock_rate: 90_000,
            channels: None,
            sdp_fmtp_line: fmtp.map(str::to_owned),
            rtcp_feedback: Vec::new(),
            rtx_payload_type: None,
        }
    }

    #[test]
    fn formats_by_mime_type() {
        assert_eq!(format_of(&codec("video/VP8", None)), Some(Format::Vp8));
        assert_eq!(format_of(&codec("audio/opus", None)), Some(Format::Opus));
        assert_eq!(format_of(&codec("video/h264", None)), Some(Format::H264));
        assert_eq!(format_of(&codec("video/rtx", None)), None);
        assert!(AnyDepacketizer::for_codec(&codec("video/red", None)).is_none());
        let d = AnyDepacketizer::for_codec(&codec("video/AV1", None)).map(|d| d.codec());
        assert_eq!(d, Some(Format::Av1));
    }

    #[test]
    fn h264_mode_from_fmtp() {
        let c = codec(
            "video/H264",
            Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
        );
        assert_eq!(fmtp_param(&c, "packetization-mode"), Some("1"));
        assert_eq!(fmtp_param(&c, "profile-level-id"), Some("42e01f"));
        assert!(matches!(
            AnyPacketizer::for_codec(&c, 0),
            Some(AnyPacketizer::H264(_))
        ));
        assert_eq!(
            fmtp_param(&codec("video/H264", None), "packetization-mode"),
            None
        );
    }
}
