//! VP8 RTP payload format, RFC 7741.
//!
//! - [`Vp8Descriptor`]: the payload descriptor (RFC 7741 §4.2), parsed with nom and written back.
//! - [`Vp8Packetizer`]: one frame into payloads, picture id continuing across frames (15 bit by
//!   default), optional temporal-layer fields supplied per frame by the encoder side.
//! - [`Vp8Depacketizer`]: payloads back into the frame, keyframe from the VP8 payload header's
//!   P bit (RFC 7741 §4.3), resolution from the keyframe header (RFC 6386 §9.1), decodability from
//!   contiguity and TL0PICIDX/TID/Y (RFC 7741 §4.2).

use bytes::Bytes;
use nom::combinator::cond;
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

use crate::payload::wire::{nom_error, NomResult};
use crate::{Codec, CodecInfo, Depacketizer, Error, Layers, PacketInfo, Packetizer, PayloadMeta};

/// A VP8 picture id: 7 bits (M=0) or 15 bits (M=1), RFC 7741 §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureId {
    /// One octet, 0..=127.
    Short(u8),
    /// Two octets, 0..=32767.
    Long(u16),
}

impl PictureId {
    /// The numeric value.
    pub fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v & 0x7f),
            PictureId::Long(v) => v & 0x7fff,
        }
    }
}

/// The VP8 payload descriptor, RFC 7741 §4.2 (Figure 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp8Descriptor {
    /// N: non-reference frame.
    pub non_reference: bool,
    /// S: start of a VP8 partition.
    pub start_of_partition: bool,
    /// PID: partition index (0..=7).
    pub partition_index: u8,
    /// I: the picture id.
    pub picture_id: Option<PictureId>,
    /// L: TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
    /// T: temporal layer index (0..=3).
    pub tid: Option<u8>,
    /// Y: layer sync (meaningful with T or K).
    pub layer_sync: bool,
    /// K: KEYIDX (0..=31).
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Parses the descriptor at the start of `payload`; returns it and its length.
    pub fn parse(payload: &[u8]) -> Result<(Self, usize), Error> {
        match descriptor(payload) {
            Ok((rest, d)) => Ok((d, payload.len() - rest.len())),
            Err(e) => Err(nom_error("VP8 payload descriptor", payload, e)),
        }
    }

    /// Bytes [`Vp8Descriptor::write_to`] appends.
    pub fn encoded_len(&self) -> usize {
        let ext = self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.tid.is_some()
            || self.key_idx.is_some();
        if !ext {
            return 1;
        }
        let pid = match self.picture_id {
            None => 0,
            Some(PictureId::Short(_)) => 1,
            Some(PictureId::Long(_)) => 2,
        };
        let tk = usize::from(self.tid.is_some() || self.key_idx.is_some());
        2 + pid + usize::from(self.tl0_pic_idx.is_some()) + tk
    }

    /// Appends the descriptor. RFC 7741 §4.2: T is set whenever L is.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let ext = self.encoded_len() > 1;
        out.push(
            (u8::from(ext) << 7)
                | (u8::from(self.non_reference) << 5)
                | (u8::from(self.start_of_partition) << 4)
                | (self.partition_index & 0x07),
        );
        if !ext {
            return;
        }
        let t = self.tid.is_some() || self.tl0_pic_idx.is_some();
        out.push(
            (u8::from(self.picture_id.is_some()) << 7)
                | (u8::from(self.tl0_pic_idx.is_some()) << 6)
                | (u8::from(t) << 5)
                | (u8::from(self.key_idx.is_some()) << 4),
        );
        match self.picture_id {
            None => {}
            Some(PictureId::Short(v)) => out.push(v & 0x7f),
            Some(PictureId::Long(v)) => {
                out.extend_from_slice(&(0x8000 | (v & 0x7fff)).to_be_bytes())
            }
        }
        if let Some(t0) = self.tl0_pic_idx {
            out.push(t0);
        }
        if t || self.key_idx.is_some() {
            out.push(
                ((self.tid.unwrap_or(0) & 0x03) << 6)
                    | (u8::from(self.layer_sync) << 5)
                    | (self.key_idx.unwrap_or(0) & 0x1f),
            );
        }
    }
}

/// The descriptor grammar of RFC 7741 §4.2, one optional field after another.
fn descriptor(input: &[u8]) -> NomResult<'_, Vp8Descriptor> {
    let (i, b0) = be_u8(input)?;
    let x = b0 & 0x80 != 0;
    let (i, ext) = cond(x, be_u8).parse(i)?;
    let ext = ext.unwrap_or(0);
    let (has_i, has_l, has_t, has_k) = (
        ext & 0x80 != 0,
        ext & 0x40 != 0,
        ext & 0x20 != 0,
        ext & 0x10 != 0,
    );
    let (i, picture_id) = if has_i {
        let (_, m) = be_u8(i)?;
        if m & 0x80 != 0 {
            let (i, v) = be_u16(i)?;
            (i, Some(PictureId::Long(v & 0x7fff)))
        } else {
            let (i, v) = be_u8(i)?;
            (i, Some(PictureId::Short(v)))
        }
    } else {
        (i, None)
    };
    let (i, tl0_pic_idx) = cond(has_l, be_u8).parse(i)?;
    let (i, tk) = cond(has_t || has_k, be_u8).parse(i)?;
    let tk = tk.unwrap_or(0);
    Ok((
        i,
        Vp8Descriptor {
            non_reference: b0 & 0x20 != 0,
            start_of_partition: b0 & 0x10 != 0,
            partition_index: b0 & 0x07,
            picture_id,
            tl0_pic_idx,
            tid: has_t.then_some(tk >> 6),
            layer_sync: (has_t || has_k) && tk & 0x20 != 0,
            key_idx: has_k.then_some(tk & 0x1f),
        },
    ))
}

/// VP8 facts of a payload (in [`CodecInfo::Vp8`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp8Info {
    /// The payload descriptor.
    pub descriptor: Vp8Descriptor,
}

/// Reads the VP8 payload header (RFC 7741 §4.3 / RFC 6386 §9.1) at the start of the first
/// partition: (keyframe, resolution when a keyframe header with its start code is present).
fn payload_header(data: &[u8]) -> (bool, Option<(u16, u16)>) {
    let Some(&b0) = data.first() else {
        return (false, None);
    };
    // P bit: 0 = key frame (inverse key frame flag).
    let keyframe = b0 & 0x01 == 0;
    if !keyframe {
        return (false, None);
    }
    // RFC 6386 §9.1: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height
    // (little endian, top two bits are the scaling).
    let res = match data.get(3..10) {
        Some([0x9d, 0x01, 0x2a, w0, w1, h0, h1]) => {
            let w = u16::from_le_bytes([*w0, *w1]) & 0x3fff;
            let h = u16::from_le_bytes([*h0, *h1]) & 0x3fff;
            Some((w, h))
        }
        _ => None,
    };
    (true, res)
}

/// Picture id width used by [`Vp8Packetizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureIdMode {
    /// No picture id.
    None,
    /// 7-bit picture id.
    Short,
    /// 15-bit picture id (the default; what browsers send).
    Long,
}

/// Temporal-layer fields for the next frame (from the encoder), RFC 7741 §4.2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vp8LayerInfo {
    /// TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
    /// TID.
    pub tid: Option<u8>,
    /// Y.
    pub layer_sync: bool,
    /// KEYIDX.
    pub key_idx: Option<u8>,
    /// N: the frame is not used for reference.
    pub non_reference: bool,
}

/// VP8 packetizer (RFC 7741 §4): one S=1/PID=0 packet opens the frame, payloads are balanced
/// in size, the marker goes on the last.
#[derive(Debug)]
pub struct Vp8Packetizer {
    mode: PictureIdMode,
    next_picture_id: u16,
    layer: Vp8LayerInfo,
    frame: Bytes,
    pos: usize,
    desc: Vp8Descriptor,
    packets_left: usize,
    active: bool,
}

impl Default for Vp8Packetizer {
    fn default() -> Self {
        Self::new(PictureIdMode::Long, 0)
    }
}

impl Vp8Packetizer {
    /// A packetizer whose first frame carries `first_picture_id` (pick it at random).
    pub fn new(mode: PictureIdMode, first_picture_id: u16) -> Self {
        Self {
            mode,
            next_picture_id: first_picture_id,
            layer: Vp8LayerInfo::default(),
            frame: Bytes::new(),
            pos: 0,
            desc: Vp8Descriptor::default(),
            packets_left: 0,
            active: false,
        }
    }

    /// Layer fields for the frames that follow (until changed).
    pub fn set_layer_info(&mut self, layer: Vp8LayerInfo) {
        self.layer = layer;
    }

    /// The picture id the next frame gets.
    pub fn next_picture_id(&self) -> u16 {
        self.next_picture_id
    }
}

impl Packetizer for Vp8Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.active = false;
        if frame.is_empty() {
            return Err(Error::BadFrame {
                codec: "VP8",
                reason: "empty frame",
            });
        }
        let picture_id = match self.mode {
            PictureIdMode::None => None,
            PictureIdMode::Short => Some(PictureId::Short((self.next_picture_id & 0x7f) as u8)),
            PictureIdMode::Long => Some(PictureId::Long(self.next_picture_id & 0x7fff)),
        };
        let desc = Vp8Descriptor {
            non_reference: self.layer.non_reference,
            start_of_partition: true,
            partition_index: 0,
            picture_id,
            tl0_pic_idx: self.layer.tl0_pic_idx,
            tid: self.layer.tid.or(self.layer.tl0_pic_idx.map(|_| 0)),
            layer_sync: self.layer.layer_sync,
            key_idx: self.layer.key_idx,
        };
        let hdr = desc.encoded_len();
        let room = max_payload.saturating_sub(hdr);
        if room == 0 {
            return Err(Error::MtuTooSmall {
                codec: "VP8",
                max_payload,
                needed: hdr + 1,
            });
        }
        self.packets_left = frame.len().div_ceil(room);
        self.frame = frame;
        self.pos = 0;
        self.desc = desc;
        self.active = true;
        // RFC 7741 §4.2: the picture id increases by one per frame and wraps.
        let mask = if self.mode == PictureIdMode::Short {
            0x7f
        } else {
            0x7fff
        };
        self.next_picture_id = self.next_picture_id.wrapping_add(1) & mask;
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        if !self.active || self.packets_left == 0 {
            return None;
        }
        let start = out.len();
        let remaining = self.frame.len().saturating_sub(self.pos);
        // Balanced sizes: the remaining bytes spread over the remaining packets.
        let take = remaining.div_ceil(self.packets_left);
        self.desc.start_of_partition = self.pos == 0;
        self.desc.write_to(out);
        let end = self.pos.saturating_add(take).min(self.frame.len());
        out.extend_from_slice(self.frame.get(self.pos..end).unwrap_or_default());
        self.pos = end;
        self.packets_left -= 1;
        let marker = self.packets_left == 0;
        if marker {
            self.active = false;
        }
        Some(PayloadMeta {
            len: out.len() - start,
            marker,
        })
    }
}

/// VP8 depacketizer and decodability tracker.
#[derive(Debug, Default)]
pub struct Vp8Depacketizer {
    /// Inside a frame: the first packet's picture id.
    frame_picture_id: Option<Option<u16>>,
    // Decodability state (RFC 7741 §4.2).
    seen_keyframe: bool,
    /// Every frame since the last keyframe was released and decodable.
    chain: bool,
    /// TL0PICIDX of the last decodable base-layer frame, while the base chain is intact.
    base_tl0: Option<u8>,
}

impl Vp8Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    fn info(payload: &[u8]) -> Result<(PacketInfo, usize), Error> {
        let (d, n) = Vp8Descriptor::parse(payload)?;
        let data = payload.get(n..).unwrap_or_default();
        if data.is_empty() {
            return Err(Error::Invalid {
                what: "VP8 payload",
                offset: n,
                reason: "no VP8 data after the payload descriptor",
            });
        }
        let first = d.start_of_partition && d.partition_index == 0;
        let (keyframe, resolution) = if first {
            payload_header(data)
        } else {
            (false, None)
        };
        Ok((
            PacketInfo {
                frame_start: Some(first),
                frame_end: None,
                keyframe,
                layers: Layers {
                    spatial: None,
                    temporal: d.tid,
                },
                picture_id: d.picture_id.map(PictureId::value),
                tl0_pic_idx: d.tl0_pic_idx,
                resolution,
                codec: CodecInfo::Vp8(Vp8Info { descriptor: d }),
            },
            n,
        ))
    }
}

impl Depacketizer for Vp8Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Vp8
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        Self::info(payload).map(|(i, _)| i)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let (info, n) = Self::info(payload)?;
        match self.frame_picture_id {
            None => {
                // RFC 7741 §4.2: the S bit is set (with PID 0) on the first packet of a frame.
                if info.frame_start != Some(true) {
                    return Err(Error::Discontinuity {
                        codec: "VP8",
                        reason: "frame does not start with S=1, PID=0",
                    });
                }
                self.frame_picture_id = Some(info.picture_id);
            }
            Some(pid) => {
                if pid != info.picture_id || info.frame_start == Some(true) {
                    self.frame_picture_id = None;
                    return Err(Error::Discontinuity {
                        codec: "VP8",
                        reason: "packet of another picture inside a frame",
                    });
                }
            }
        }
        out.extend_from_slice(payload.get(n..).unwrap_or_default());
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        let had = self.frame_picture_id.take().is_some();
        if had {
            Ok(())
        } else {
            Err(Error::Discontinuity {
                codec: "VP8",
                reason: "no packet in frame",
            })
        }
    }

    fn reset(&mut self) {
        self.frame_picture_id = None;
    }

    /// RFC 7741 §4.2: a keyframe is always decodable; otherwise a frame contiguous with a
    /// decodable chain is; after a gap, a base-layer frame (TID 0) is when its TL0PICIDX is one
    /// more than the last decodable base frame's, and a higher-layer frame with Y=1 is when its
    /// TL0PICIDX names that base frame. Other frames after a gap wait for a keyframe.
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        let d = match frame.codec {
            CodecInfo::Vp8(i) => i.descriptor,
            _ => Vp8Descriptor::default(),
        };
        if frame.keyframe {
            self.seen_keyframe = true;
            self.chain = true;
            self.base_tl0 = d.tl0_pic_idx;
            return true;
        }
        if !self.seen_keyframe {
            return false;
        }
        let layered = match (d.tid, d.tl0_pic_idx, self.base_tl0) {
            (Some(0), Some(t0), Some(base)) => t0 == base.wrapping_add(1),
            (Some(t), Some(t0), Some(base)) if t > 0 => d.layer_sync && t0 == base,
            _ => false,
        };
        let ok = (contiguous && self.chain) || layered;
        if !ok {
            self.chain = false;
            if d.tid.unwrap_or(0) == 0 {
                // A lost or undecodable base frame breaks the base chain until a keyframe.
                self.base_tl0 = None;
            }
            return false;
        }
        if !(contiguous && self.chain) {
            // Decodable through the layer structure only: later non-sync frames may depend on
            // frames that were not released.
            self.chain = false;
        }
        if d.tid == Some(0) || (d.tid.is_none() && d.tl0_pic_idx.is_some()) {
            self.base_tl0 = d.tl0_pic_idx;
        }
        true
    }
}
