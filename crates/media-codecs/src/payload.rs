//! The contract between encoded media and RTP payloads: [`Packetizer`], [`Depacketizer`] and
//! the per-packet facts ([`PacketInfo`]) an SFU or a frame buffer reads without copying media.
//!
//! Zero-copy and allocation-free on the hot paths: a packetizer appends each payload to the
//! caller's buffer (which may already hold the RTP header, so SRTP can protect it in place), and
//! a depacketizer appends frame bytes to the caller's buffer.
//!
//! # Forwarding without depacketizing (an SFU)
//!
//! [`Depacketizer::packet_info`] reads only the payload header and never copies media, so a
//! forwarder can decide per packet:
//!
//! ```
//! use ferrtc_media_codecs::vp8::{PictureIdMode, Vp8Depacketizer, Vp8LayerInfo, Vp8Packetizer};
//! use ferrtc_media_codecs::{Depacketizer, Packetizer};
//!
//! // A sender's key frame on temporal layer 0 (first byte: VP8 P bit 0 = key frame).
//! let mut p = Vp8Packetizer::new(PictureIdMode::Long, 100);
//! p.set_layer_info(Vp8LayerInfo { tid: Some(0), tl0_pic_idx: Some(7), ..Default::default() });
//! let payloads = p.packetize(bytes::Bytes::from(vec![0x10; 3000]), 1200).unwrap();
//!
//! let facts = Vp8Depacketizer::new().packet_info(&payloads[0].0).unwrap();
//! assert!(facts.keyframe); // forward it to a receiver waiting for a key frame
//! assert_eq!(facts.frame_start, Some(true));
//! assert_eq!(facts.layers.temporal, Some(0)); // drop TID > target to thin the frame rate
//! assert_eq!(facts.picture_id, Some(100)); // rewrite it when switching streams
//! ```
//!
//! The same fields come from every video format: VP9 adds spatial layers and the
//! scalability structure's resolution, H.264/H.265 say keyframe when a payload holds an
//! IDR/IRAP slice or a parameter set, and AV1 says it from the N bit; for AV1 layer and
//! decode-target decisions, parse the Dependency Descriptor header extension
//! ([`crate::dependency_descriptor::DependencyDescriptorParser`]), which needs no payload at all.

use bytes::Bytes;

use crate::Error;

/// The payload formats this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Opus, RFC 7587.
    Opus,
    /// G.711 mu-law, RFC 3551.
    Pcmu,
    /// G.711 A-law, RFC 3551.
    Pcma,
    /// G.722, RFC 3551.
    G722,
    /// Redundant audio, RFC 2198.
    Red,
    /// VP8, RFC 7741.
    Vp8,
    /// VP9, RFC 9628.
    Vp9,
    /// H.264, RFC 6184.
    H264,
    /// H.265, RFC 7798.
    H265,
    /// AV1, the AV1 RTP payload specification.
    Av1,
}

impl Codec {
    /// Audio formats: one payload is one unit, frame assembly is trivial.
    pub fn is_audio(self) -> bool {
        matches!(
            self,
            Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722 | Codec::Red
        )
    }
}

/// Metadata of one payload written by a [`Packetizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadMeta {
    /// Bytes appended to the caller's buffer.
    pub len: usize,
    /// The RTP marker bit for this payload (video: last packet of the frame; audio: set by the
    /// caller at the start of a talkspurt, always `false` here).
    pub marker: bool,
}

/// Turns one encoded frame (or audio packet) into RTP payloads of at most `max_payload` bytes.
///
/// Use: [`Packetizer::begin`] with the frame, then call [`Packetizer::next_payload`] until it
/// returns `None`. [`Packetizer::packetize`] does both into a `Vec<Bytes>` for simple callers.
pub trait Packetizer {
    /// Starts a frame. `max_payload` is the room for the RTP payload (MTU minus IP, UDP, RTP
    /// header, extensions and SRTP tag). Fails when the frame is invalid for the format or the
    /// room cannot hold the payload header plus one byte. Any unfinished previous frame is dropped.
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error>;

    /// Appends the next payload of the current frame to `out`; `None` when the frame is done.
    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta>;

    /// Packetizes a whole frame into separate payloads (allocates one `Bytes` per payload).
    fn packetize(&mut self, frame: Bytes, max_payload: usize) -> Result<Vec<(Bytes, bool)>, Error> {
        self.begin(frame, max_payload)?;
        let mut payloads = Vec::new();
        let mut buf = Vec::with_capacity(max_payload);
        while let Some(meta) = self.next_payload(&mut buf) {
            payloads.push((Bytes::copy_from_slice(&buf), meta.marker));
            buf.clear();
        }
        Ok(payloads)
    }
}

/// Spatial and temporal layer of a packet, where the payload header (or the Dependency
/// Descriptor) says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Layers {
    /// Spatial layer id (VP9 SID, AV1 spatial_id, H.265 nuh_layer_id).
    pub spatial: Option<u8>,
    /// Temporal layer id (VP8 TID, VP9 TID, AV1 temporal_id, H.265 TemporalId).
    pub temporal: Option<u8>,
}

/// What one RTP payload says about the frame it belongs to, read from the payload header
/// without copying media: enough for an SFU to forward by layer and to spot keyframes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// `Some(true)`: this payload begins a frame (VP8 S=1 and PID=0; VP9 B=1 in the first
    /// spatial layer; AV1 first packet of a temporal unit; audio: always). `Some(false)`: it does
    /// not. `None`: the format cannot tell from this payload alone (H.264/H.265 NAL units).
    pub frame_start: Option<bool>,
    /// `Some(true)`: this payload ends a frame by the payload header (VP9 E bit of the last
    /// spatial layer); otherwise the RTP marker bit decides.
    pub frame_end: Option<bool>,
    /// This payload belongs to a keyframe / IDR / intra-only picture (as far as this payload
    /// shows: for H.264 an IDR slice or SPS in this payload).
    pub keyframe: bool,
    /// Layer ids where known.
    pub layers: Layers,
    /// Picture id (VP8 / VP9), when present (7 or 15 bit value).
    pub picture_id: Option<u16>,
    /// TL0PICIDX (VP8 / VP9 non-flexible mode), when present.
    pub tl0_pic_idx: Option<u8>,
    /// Resolution when the bitstream in this payload says it (VP8 keyframe header, VP9 SS,
    /// H.264/H.265 SPS, AV1 sequence header).
    pub resolution: Option<(u16, u16)>,
    /// Codec-specific facts used for the decodability decision.
    pub codec: CodecInfo,
}

/// Codec-specific facts of a payload, beyond [`PacketInfo`]'s common fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecInfo {
    /// Audio, or nothing codec-specific.
    #[default]
    None,
    /// VP8 payload descriptor facts.
    Vp8(crate::vp8::Vp8Info),
    /// VP9 payload descriptor facts.
    Vp9(crate::vp9::Vp9Info),
    /// H.264 NAL unit facts.
    H264(crate::h264::H264Info),
    /// H.265 NAL unit facts.
    H265(crate::h265::H265Info),
    /// AV1 aggregation header facts (and Dependency Descriptor frame facts when given).
    Av1(crate::av1::Av1Info),
}

/// Turns RTP payloads back into a frame, appending to the caller's buffer (no allocation per
/// packet once the buffer has room).
///
/// Use, per frame: [`Depacketizer::push`] each payload in sequence order, then
/// [`Depacketizer::finish`]. On any error the frame in `out` must be discarded (a depacketizer
/// never emits a wrong frame); the depacketizer is ready for the next frame after `finish` or
/// [`Depacketizer::reset`].
pub trait Depacketizer {
    /// The format.
    fn codec(&self) -> Codec;

    /// Reads only the payload header: the facts, no media copied.
    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error>;

    /// Appends the media of one payload of the current frame to `out` and returns its facts.
    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error>;

    /// Ends the current frame (flushes what the format holds back, e.g. AV1 OBU sizes). Fails if
    /// a fragmented unit was left incomplete.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error>;

    /// Forgets any partial frame.
    fn reset(&mut self);

    /// Merges the facts of a later payload of the same frame into `frame` (the frame buffer
    /// calls it for each payload after the first, in order). The default keeps the first
    /// payload's fields, sets `keyframe` if any payload says so and takes the first
    /// `resolution` given. A format whose [`CodecInfo`] holds facts of later payloads that
    /// [`Depacketizer::decodable`] needs (e.g. an H.264 IDR slice in a FU-A after a STAP-A of
    /// parameter sets) overrides it.
    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        merge_common(frame, packet);
    }

    /// Called once per assembled frame in release order with the facts of its packets merged
    /// by [`Depacketizer::merge_info`] and whether it follows the
    /// previous released frame without a gap. Returns whether a decoder that saw every frame
    /// released so far can decode it, and updates the reference state the codec's dependency
    /// information describes. The default suits formats without inter-frame prediction facts.
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        frame.keyframe || contiguous
    }
}

/// What every [`Depacketizer::merge_info`] does: `keyframe` if any payload says so, the
/// first `resolution` given.
pub(crate) fn merge_common(frame: &mut PacketInfo, packet: &PacketInfo) {
    frame.keyframe |= packet.keyframe;
    if frame.resolution.is_none() {
        frame.resolution = packet.resolution;
    }
}

/// The decodability chain of a format whose pictures predict from earlier ones since the
/// last keyframe (IDR, IRAP, AV1 key frame) and that says nothing finer: a keyframe is
/// decodable, and so is a frame contiguous with a decodable chain since one; a lost or
/// undecodable frame breaks the chain until the next keyframe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyframeChain {
    seen_keyframe: bool,
    chain: bool,
}

impl KeyframeChain {
    /// Whether the next released frame is decodable; updates the chain.
    pub(crate) fn decodable(&mut self, keyframe: bool, contiguous: bool) -> bool {
        let ok = keyframe || (self.seen_keyframe && self.chain && contiguous);
        self.record(ok, keyframe);
        ok
    }

    /// Records a frame whose decodability was decided otherwise (e.g. from its references).
    pub(crate) fn record(&mut self, decodable: bool, keyframe: bool) {
        if decodable && keyframe {
            self.seen_keyframe = true;
        }
        self.chain = decodable;
    }
}

/// Helpers shared by the payload-header parsers: nom error mapping and a bit reader.
pub(crate) mod wire {
    use crate::Error;

    /// nom's error over byte input.
    pub(crate) type NomErr<'a> = nom::Err<nom::error::Error<&'a [u8]>>;
    /// nom's result over byte input.
    pub(crate) type NomResult<'a, O> = nom::IResult<&'a [u8], O, nom::error::Error<&'a [u8]>>;

    /// Maps a nom error on `full` (the buffer given to the call) to [`Error::Truncated`] with the
    /// offset where the field was missing.
    pub(crate) fn nom_error(what: &'static str, full: &[u8], e: NomErr<'_>) -> Error {
        let rest = match &e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e.input.len(),
            nom::Err::Incomplete(_) => 0,
        };
        Error::Truncated {
            what,
            offset: full.len().saturating_sub(rest),
            needed: 1,
            available: rest,
        }
    }

    /// MSB-first bit reader (H.264/H.265 RBSP, AV1 and VP9 headers, the Dependency Descriptor).
    /// Every read returns `None` past the end.
    #[derive(Debug, Clone)]
    pub(crate) struct BitReader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl<'a> BitReader<'a> {
        pub(crate) fn new(data: &'a [u8]) -> Self {
            Self { data, pos: 0 }
        }

        /// Bits read so far.
        pub(crate) fn position(&self) -> usize {
            self.pos
        }

        /// Bits left.
        pub(crate) fn remaining(&self) -> usize {
            (self.data.len() * 8).saturating_sub(self.pos)
        }

        pub(crate) fn bit(&mut self) -> Option<bool> {
            let byte = *self.data.get(self.pos / 8)?;
            let b = (byte >> (7 - (self.pos % 8))) & 1;
            self.pos += 1;
            Some(b == 1)
        }

        /// Reads `n` <= 32 bits.
        pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
            if n > 32 || self.remaining() < n as usize {
                return None;
            }
            let mut v: u64 = 0;
            for _ in 0..n {
                v = (v << 1) | u64::from(self.bit()?);
            }
            u32::try_from(v).ok()
        }

        pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
            if self.remaining() < n {
                return None;
            }
            self.pos += n;
            Some(())
        }

        /// Unsigned exp-Golomb, ue(v) (H.264 §9.1); `None` past 32 bits.
        pub(crate) fn ue(&mut self) -> Option<u32> {
            let mut zeros = 0u32;
            while !self.bit()? {
                zeros += 1;
                if zeros > 31 {
                    return None;
                }
            }
            let rest = self.bits(zeros)?;
            let v = (1u64 << zeros) - 1 + u64::from(rest);
            u32::try_from(v).ok()
        }

        /// Signed exp-Golomb, se(v) (H.264 §9.1.1).
        pub(crate) fn se(&mut self) -> Option<i32> {
            let k = i64::from(self.ue()?);
            let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
            i32::try_from(v).ok()
        }

        /// ns(n): non-symmetric unsigned value in 0..n (AV1 §4.10.7, Dependency Descriptor).
        pub(crate) fn ns(&mut self, n: u32) -> Option<u32> {
            if n <= 1 {
                return Some(0);
            }
            let w = 32 - n.leading_zeros(); // FloorLog2(n) + 1
            let m = (1u64 << w) - u64::from(n);
            let v = u64::from(self.bits(w - 1)?);
            if v < m {
                return u32::try_from(v).ok();
            }
            let extra = u64::from(self.bit()?);
            u32::try_from((v << 1) - m + extra).ok()
        }
    }

    /// MSB-first bit writer into a byte vector.
    #[derive(Debug)]
    pub(crate) struct BitWriter<'a> {
        out: &'a mut Vec<u8>,
        bit: u32,
    }

    impl<'a> BitWriter<'a> {
        pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
            Self { out, bit: 0 }
        }

        pub(crate) fn bit(&mut self, b: bool) {
            if self.bit == 0 {
                self.out.push(0);
            }
            if b {
                if let Some(last) = self.out.last_mut() {
                    *last |= 0x80 >> self.bit;
                }
            }
            self.bit = (self.bit + 1) % 8;
        }

        /// Writes the low `n` bits of `v`, MSB first.
        pub(crate) fn bits(&mut self, v: u32, n: u32) {
            for i in (0..n).rev() {
                self.bit((v >> i) & 1 == 1);
            }
        }

        /// ns(n) (AV1 §4.10.7).
        pub(crate) fn ns(&mut self, v: u32, n: u32) {
            if n <= 1 {
                return;
            }
            let w = 32 - n.leading_zeros();
            let m = (1u32 << w).wrapping_sub(n);
            if v < m {
                self.bits(v, w - 1);
            } else {
                let x = v + m;
                self.bits(x >> 1, w - 1);
                self.bit(x & 1 == 1);
            }
        }
    }

    /// Bits needed to write `n` with [`BitWriter::ns`].
    pub(crate) fn ns_len(v: u32, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w).wrapping_sub(n);
        if v < m {
            w - 1
        } else {
            w
        }
    }
}
