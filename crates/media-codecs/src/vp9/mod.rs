//! VP9 RTP payload format, RFC 9628.
//!
//! - [`Vp9Descriptor`]: the payload descriptor of §4.2 (flexible and non-flexible mode, I/P/L/F/
//!   B/E/V/Z, 7/15-bit picture id, layer indices, TL0PICIDX, up to three P_DIFFs), parsed with
//!   nom and written back; [`ScalabilityStructure`]: the SS of §4.2.1 (resolutions and picture
//!   group), parsed and written.
//! - [`Vp9Packetizer`]: one VP9 frame (one spatial layer of a picture, or a superframe, as the
//!   encoder gave it) into payloads with B on the first and E on the last; the picture id
//!   continues across pictures; P from the frame's uncompressed header (key frame: P=0), and on
//!   key frames an SS with the resolution unless the caller gives its own.
//! - [`Vp9Depacketizer`]: payloads back into the frame; keyframe = P=0 at spatial layer 0
//!   without inter-layer dependency; decodability from P_DIFF references (flexible mode), from
//!   the SS picture group (non-flexible mode with G) or TL0PICIDX.

use bytes::Bytes;
use nom::combinator::cond;
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

use crate::payload::wire::{nom_error, BitReader, NomResult};
pub use crate::vp8::PictureId;
use crate::{Codec, CodecInfo, Depacketizer, Error, Layers, PacketInfo, Packetizer, PayloadMeta};

mod ss;

pub use ss::{PictureGroupEntry, ScalabilityStructure};

/// Layer indices (§4.2): TID, U, SID, D.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp9Layer {
    /// Temporal layer id (0..=7).
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// Spatial layer id (0..=7).
    pub sid: u8,
    /// D: depends on spatial layer SID-1 of the same picture.
    pub inter_layer_dependency: bool,
}

/// Up to three P_DIFFs (each 1..=127).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PDiffs {
    diffs: [u8; 3],
    len: u8,
}

impl PDiffs {
    /// From a list; `None` when more than three or a value outside 1..=127.
    pub fn from_slice(d: &[u8]) -> Option<Self> {
        if d.len() > 3 || d.iter().any(|&x| x == 0 || x > 127) {
            return None;
        }
        let mut p = PDiffs::default();
        for (slot, &x) in p.diffs.iter_mut().zip(d) {
            *slot = x;
        }
        p.len = d.len() as u8;
        Some(p)
    }

    /// The differences.
    pub fn as_slice(&self) -> &[u8] {
        self.diffs.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// The VP9 payload descriptor, RFC 9628 §4.2 (without the SS, see [`ScalabilityStructure`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp9Descriptor {
    /// P: inter-picture predicted.
    pub inter_picture: bool,
    /// F: flexible mode.
    pub flexible: bool,
    /// B: start of a frame.
    pub start_of_frame: bool,
    /// E: end of a frame.
    pub end_of_frame: bool,
    /// V: an SS follows (parse it with [`ScalabilityStructure::parse`]).
    pub has_ss: bool,
    /// Z: not a reference for upper spatial layers.
    pub not_ref_for_upper: bool,
    /// I: picture id.
    pub picture_id: Option<PictureId>,
    /// L: layer indices.
    pub layer: Option<Vp9Layer>,
    /// TL0PICIDX (non-flexible mode with L).
    pub tl0_pic_idx: Option<u8>,
    /// P_DIFFs (flexible mode with P).
    pub p_diffs: PDiffs,
}

impl Vp9Descriptor {
    /// Parses the descriptor (and skips the SS when V is set) at the start of `payload`;
    /// returns it, the offset of the SS (when V) and the descriptor's total length.
    pub fn parse(payload: &[u8]) -> Result<(Self, Option<usize>, usize), Error> {
        let (rest, d) =
            descriptor(payload).map_err(|e| nom_error("VP9 payload descriptor", payload, e))?;
        let at = payload.len() - rest.len();
        if d.p_diffs.as_slice().contains(&0) {
            return Err(Error::Invalid {
                what: "VP9 payload descriptor",
                offset: at,
                reason: "P_DIFF of zero, RFC 9628 §4.2",
            });
        }
        if d.flexible && d.inter_picture && d.p_diffs.len == 0 {
            return Err(Error::Invalid {
                what: "VP9 payload descriptor",
                offset: at,
                reason: "P=1 and F=1 without a P_DIFF, RFC 9628 §4.2",
            });
        }
        if d.has_ss {
            let len = ScalabilityStructure::encoded_len_at(rest).map_err(|e| match e {
                Error::Truncated {
                    what,
                    offset,
                    needed,
                    available,
                } => Error::Truncated {
                    what,
                    offset: offset + at,
                    needed,
                    available,
                },
                other => other,
            })?;
            return Ok((d, Some(at), at + len));
        }
        Ok((d, None, at))
    }

    /// Bytes [`Vp9Descriptor::write_to`] appends (without the SS).
    pub fn encoded_len(&self) -> usize {
        let pid = match self.picture_id {
            None => 0,
            Some(PictureId::Short(_)) => 1,
            Some(PictureId::Long(_)) => 2,
        };
        let layer = match (self.layer, self.flexible) {
            (None, _) => 0,
            (Some(_), true) => 1,
            (Some(_), false) => 2,
        };
        let pd = if self.flexible && self.inter_picture {
            self.p_diffs.as_slice().len()
        } else {
            0
        };
        1 + pid + layer + pd
    }

    /// Appends the descriptor; the caller appends the SS right after when `has_ss`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let b = |x: bool, s: u8| u8::from(x) << s;
        out.push(
            b(self.picture_id.is_some(), 7)
                | b(self.inter_picture, 6)
                | b(self.layer.is_some(), 5)
                | b(self.flexible, 4)
                | b(self.start_of_frame, 3)
                | b(self.end_of_frame, 2)
                | b(self.has_ss, 1)
                | b(self.not_ref_for_upper, 0),
        );
        match self.picture_id {
            None => {}
            Some(PictureId::Short(v)) => out.push(v & 0x7f),
            Some(PictureId::Long(v)) => {
                out.extend_from_slice(&(0x8000 | (v & 0x7fff)).to_be_bytes())
            }
        }
        if let Some(l) = self.layer {
            out.push(
                ((l.tid & 7) << 5)
                    | b(l.switching_up, 4)
                    | ((l.sid & 7) << 1)
                    | u8::from(l.inter_layer_dependency),
            );
            if !self.flexible {
                out.push(self.tl0_pic_idx.unwrap_or(0));
            }
        }
        if self.flexible && self.inter_picture {
            let d = self.p_diffs.as_slice();
            for (i, &x) in d.iter().enumerate() {
                out.push((x << 1) | u8::from(i + 1 < d.len()));
            }
        }
    }
}

/// The descriptor grammar of RFC 9628 §4.2 (Figures 2 and 3), up to the SS.
fn descriptor(input: &[u8]) -> NomResult<'_, Vp9Descriptor> {
    let (i, b0) = be_u8(input)?;
    let bit = |s: u8| b0 & (1 << s) != 0;
    let (has_i, p, l, f) = (bit(7), bit(6), bit(5), bit(4));
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
    let (i, layer) = cond(l, be_u8).parse(i)?;
    let (i, tl0) = cond(l && !f, be_u8).parse(i)?;
    let mut p_diffs = PDiffs::default();
    let mut i = i;
    if f && p {
        loop {
            let (rest, x) = be_u8(i)?;
            i = rest;
            if let Some(slot) = p_diffs.diffs.get_mut(usize::from(p_diffs.len)) {
                *slot = x >> 1;
                p_diffs.len += 1;
            } else {
                // A fourth P_DIFF: RFC 9628 §4.2 allows three.
                return Err(nom::Err::Failure(nom::error::Error::new(
                    i,
                    nom::error::ErrorKind::TooLarge,
                )));
            }
            if x & 1 == 0 {
                break;
            }
        }
    }
    let layer = layer.map(|x| Vp9Layer {
        tid: x >> 5,
        switching_up: x & 0x10 != 0,
        sid: (x >> 1) & 7,
        inter_layer_dependency: x & 1 != 0,
    });
    Ok((
        i,
        Vp9Descriptor {
            inter_picture: p,
            flexible: f,
            start_of_frame: bit(3),
            end_of_frame: bit(2),
            has_ss: bit(1),
            not_ref_for_upper: bit(0),
            picture_id,
            layer,
            tl0_pic_idx: tl0,
            p_diffs,
        },
    ))
}

/// VP9 facts of a payload (in [`CodecInfo::Vp9`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp9Info {
    /// The payload descriptor.
    pub descriptor: Vp9Descriptor,
}

/// What the packetizer reads from a VP9 uncompressed header (VP9 bitstream spec §6.2):
/// (key frame, resolution of a key frame).
fn frame_header(frame: &[u8]) -> (bool, Option<(u16, u16)>) {
    let mut r = BitReader::new(frame);
    let Some(2) = r.bits(2) else {
        return (false, None);
    }; // frame_marker
    let (Some(lo), Some(hi)) = (r.bit(), r.bit()) else {
        return (false, None);
    };
    let profile = u8::from(lo) | (u8::from(hi) << 1);
    if profile == 3 && r.bit().is_none() {
        return (false, None);
    }
    if r.bit() != Some(false) {
        return (false, None); // show_existing_frame
    }
    if r.bit() != Some(false) {
        return (false, None); // frame_type 1 = NON_KEY_FRAME
    }
    let _ = (r.bit(), r.bit()); // show_frame, error_resilient_mode
    if r.bits(24) != Some(0x49_83_42) {
        return (true, None);
    }
    // color_config (§6.2.2)
    if profile >= 2 && r.bit().is_none() {
        return (true, None);
    }
    let Some(color_space) = r.bits(3) else {
        return (true, None);
    };
    if color_space != 7 {
        r.bit();
        if profile == 1 || profile == 3 {
            r.skip(3);
        }
    } else if profile == 1 || profile == 3 {
        r.skip(1);
    }
    match (r.bits(16), r.bits(16)) {
        (Some(w), Some(h)) => (true, Some(((w + 1) as u16, (h + 1) as u16))),
        _ => (true, None),
    }
}

/// Per-frame settings of [`Vp9Packetizer`] for layered senders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vp9FrameInfo {
    /// Layer indices (None: no L).
    pub layer: Option<Vp9Layer>,
    /// TL0PICIDX for non-flexible mode with layers.
    pub tl0_pic_idx: u8,
    /// P_DIFFs for flexible mode inter frames (default: the previous picture).
    pub p_diffs: Option<PDiffs>,
    /// Z bit.
    pub not_ref_for_upper: bool,
    /// P bit (default: not a key frame by the uncompressed header). Upper spatial layers of a
    /// key picture use inter-layer prediction only: P=0.
    pub inter_picture: Option<bool>,
    /// SS to send with this frame (default on key frames: one layer with its resolution).
    pub ss: Option<ScalabilityStructure>,
    /// This frame starts a new picture (the picture id advances); false for the upper spatial
    /// layers of a picture.
    pub same_picture: bool,
}

/// VP9 packetizer.
#[derive(Debug)]
pub struct Vp9Packetizer {
    flexible: bool,
    next_picture_id: u16,
    info: Vp9FrameInfo,
    frame: Bytes,
    pos: usize,
    desc: Vp9Descriptor,
    ss: Vec<u8>,
    packets_left: usize,
    started: bool,
}

impl Vp9Packetizer {
    /// A packetizer in flexible (`true`) or non-flexible mode with a 15-bit picture id starting
    /// at `first_picture_id`.
    pub fn new(flexible: bool, first_picture_id: u16) -> Self {
        Self {
            flexible,
            next_picture_id: first_picture_id & 0x7fff,
            info: Vp9FrameInfo::default(),
            frame: Bytes::new(),
            pos: 0,
            desc: Vp9Descriptor::default(),
            ss: Vec::new(),
            packets_left: 0,
            started: false,
        }
    }

    /// Settings for the next frame (reset to the default after it).
    pub fn set_frame_info(&mut self, info: Vp9FrameInfo) {
        self.info = info;
    }
}

impl Packetizer for Vp9Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.packets_left = 0;
        let info = std::mem::take(&mut self.info);
        if frame.is_empty() {
            return Err(Error::BadFrame {
                codec: "VP9",
                reason: "empty frame",
            });
        }
        let (key, res) = frame_header(&frame);
        if !info.same_picture && self.started {
            self.next_picture_id = (self.next_picture_id + 1) & 0x7fff;
        }
        self.started = true;
        let sid = info.layer.map_or(0, |l| l.sid);
        let inter = info.inter_picture.unwrap_or(!key);
        let p_diffs = info.p_diffs.unwrap_or(PDiffs {
            diffs: [1, 0, 0],
            len: 1,
        });
        self.ss.clear();
        let ss = info.ss.clone().or_else(|| {
            (key && sid == 0).then(|| ScalabilityStructure {
                spatial_layers: 1,
                resolutions: res.map(|r| vec![r]),
                picture_group: None,
            })
        });
        if let Some(s) = &ss {
            s.write_to(&mut self.ss)?;
        }
        let desc = Vp9Descriptor {
            inter_picture: inter,
            flexible: self.flexible,
            start_of_frame: true,
            end_of_frame: false,
            has_ss: ss.is_some(),
            not_ref_for_upper: info.not_ref_for_upper,
            picture_id: Some(PictureId::Long(self.next_picture_id)),
            layer: info.layer,
            tl0_pic_idx: info.layer.map(|_| info.tl0_pic_idx),
            p_diffs: if self.flexible && inter {
                p_diffs
            } else {
                PDiffs::default()
            },
        };
        let hdr = desc.encoded_len();
        // The first packet carries the SS as well.
        let room = max_payload.saturating_sub(hdr);
        let first_room = room.saturating_sub(self.ss.len());
        if room == 0 || first_room == 0 {
            return Err(Error::MtuTooSmall {
                codec: "VP9",
                max_payload,
                needed: hdr + self.ss.len() + 1,
            });
        }
        let after_first = frame.len().saturating_sub(first_room);
        self.packets_left = 1 + after_first.div_ceil(room);
        self.frame = frame;
        self.pos = 0;
        self.desc = desc;
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        if self.packets_left == 0 {
            return None;
        }
        let start = out.len();
        let first = self.pos == 0;
        let remaining = self.frame.len() - self.pos;
        let take = if first {
            // Balanced over the packets, the first one shortened by the SS.
            let share = (remaining + self.ss.len()).div_ceil(self.packets_left);
            share.saturating_sub(self.ss.len()).max(1).min(remaining)
        } else {
            remaining.div_ceil(self.packets_left)
        };
        self.packets_left -= 1;
        let last = self.packets_left == 0 || take == remaining;
        let mut d = self.desc;
        d.start_of_frame = first;
        d.end_of_frame = last;
        d.has_ss = first && !self.ss.is_empty();
        d.write_to(out);
        if d.has_ss {
            out.extend_from_slice(&self.ss);
        }
        out.extend_from_slice(self.frame.get(self.pos..self.pos + take)?);
        self.pos += take;
        if last {
            self.packets_left = 0;
        }
        Some(PayloadMeta {
            len: out.len() - start,
            marker: last,
        })
    }
}

/// VP9 depacketizer and decodability tracker.
#[derive(Debug)]
pub struct Vp9Depacketizer {
    in_frame: bool,
    /// The last SS received (for non-flexible decodability).
    ss: Option<ScalabilityStructure>,
    seen_keyframe: bool,
    chain: bool,
    base_tl0: Option<u8>,
    /// Picture id of the last key picture (index 0 of the picture group).
    key_pid: u16,
    /// Picture ids released decodable, by pid % 256.
    decoded: [Option<u16>; 256],
}

impl Default for Vp9Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Vp9Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self {
            in_frame: false,
            ss: None,
            seen_keyframe: false,
            chain: false,
            base_tl0: None,
            key_pid: 0,
            decoded: [None; 256],
        }
    }

    /// The last scalability structure received.
    pub fn scalability_structure(&self) -> Option<&ScalabilityStructure> {
        self.ss.as_ref()
    }

    fn info(payload: &[u8]) -> Result<(PacketInfo, Option<usize>, usize), Error> {
        let (d, ss_at, n) = Vp9Descriptor::parse(payload)?;
        if payload.len() <= n {
            return Err(Error::Invalid {
                what: "VP9 payload",
                offset: n,
                reason: "no VP9 data after the payload descriptor",
            });
        }
        let sid = d.layer.map_or(0, |l| l.sid);
        let resolution = match ss_at.and_then(|a| payload.get(a..)) {
            Some(ss) => ScalabilityStructure::parse(ss)
                .ok()
                .and_then(|(s, _)| s.resolutions.and_then(|r| r.get(usize::from(sid)).copied())),
            None => None,
        };
        // Without an SS, a key frame's uncompressed header says its size (VP9 §6.2).
        let resolution = match resolution {
            None if d.start_of_frame && !d.inter_picture => {
                frame_header(payload.get(n..).unwrap_or_default()).1
            }
            r => r,
        };
        let keyframe =
            !d.inter_picture && sid == 0 && !d.layer.is_some_and(|l| l.inter_layer_dependency);
        Ok((
            PacketInfo {
                frame_start: Some(d.start_of_frame && sid == 0),
                frame_end: if !d.end_of_frame {
                    Some(false)
                } else if d.layer.is_none() {
                    Some(true)
                } else {
                    None
                },
                keyframe,
                layers: Layers {
                    spatial: d.layer.map(|l| l.sid),
                    temporal: d.layer.map(|l| l.tid),
                },
                picture_id: d.picture_id.map(PictureId::value),
                tl0_pic_idx: d.tl0_pic_idx,
                resolution,
                codec: CodecInfo::Vp9(Vp9Info { descriptor: d }),
            },
            ss_at,
            n,
        ))
    }

    fn pid_slot(pid: u16) -> usize {
        usize::from(pid) % 256
    }

    fn referenced_ok(&self, pid: u16, diffs: impl Iterator<Item = u16>, mask: u16) -> bool {
        let mut all = true;
        for d in diffs {
            let r = pid.wrapping_sub(d) & mask;
            all &= self.decoded.get(Self::pid_slot(r)).copied().flatten() == Some(r);
        }
        all
    }
}

impl Depacketizer for Vp9Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Vp9
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        Self::info(payload).map(|(i, _, _)| i)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let (info, ss_at, n) = Self::info(payload)?;
        let CodecInfo::Vp9(v) = info.codec else {
            return Ok(info);
        };
        let d = v.descriptor;
        // RFC 9628 §4.3: B opens a frame, E closes it; several frames (spatial layers) may
        // follow each other in one picture.
        if d.start_of_frame == self.in_frame {
            self.in_frame = false;
            let reason = if d.start_of_frame {
                "frame started before the previous one ended (E)"
            } else {
                "frame continues without its start (B)"
            };
            return Err(Error::Discontinuity {
                codec: "VP9",
                reason,
            });
        }
        if let Some(a) = ss_at {
            if let Some((s, _)) = payload
                .get(a..)
                .and_then(|x| ScalabilityStructure::parse(x).ok())
            {
                self.ss = Some(s);
            }
        }
        out.extend_from_slice(payload.get(n..).unwrap_or_default());
        self.in_frame = !d.end_of_frame;
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        if std::mem::take(&mut self.in_frame) {
            return Err(Error::Discontinuity {
                codec: "VP9",
                reason: "frame ended without E",
            });
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.in_frame = false;
    }

    /// Key picture: decodable. Flexible mode: decodable when every P_DIFF reference was released
    /// decodable. Non-flexible mode: with an SS picture group, the same check with the group's
    /// P_DIFFs (picture index = pid - key pid modulo N_G); otherwise contiguous with a decodable
    /// chain, or after a gap a TID 0 picture whose TL0PICIDX follows the last decodable base
    /// picture's (or a U=1 picture on that base).
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        let d = match frame.codec {
            CodecInfo::Vp9(i) => i.descriptor,
            _ => Vp9Descriptor::default(),
        };
        let (pid, mask) = match d.picture_id {
            Some(PictureId::Short(v)) => (u16::from(v), 0x7f),
            Some(PictureId::Long(v)) => (v, 0x7fff),
            None => (0, 0),
        };
        let mark = |s: &mut Self, ok: bool| {
            if d.picture_id.is_some() {
                if let Some(slot) = s.decoded.get_mut(Self::pid_slot(pid)) {
                    *slot = ok.then_some(pid);
                }
            }
        };
        if frame.keyframe {
            self.seen_keyframe = true;
            self.chain = true;
            self.base_tl0 = d.tl0_pic_idx;
            self.key_pid = pid;
            mark(self, true);
            return true;
        }
        if !self.seen_keyframe {
            mark(self, false);
            return false;
        }
        let group = self
            .ss
            .as_ref()
            .and_then(|s| s.picture_group.as_ref())
            .filter(|g| !g.is_empty() && d.picture_id.is_some() && !d.flexible);
        // References known explicitly (flexible P_DIFFs or the SS picture group).
        let explicit = (d.flexible && d.picture_id.is_some()) || group.is_some();
        let ok = if d.flexible && d.picture_id.is_some() {
            !d.inter_picture
                || self.referenced_ok(
                    pid,
                    d.p_diffs.as_slice().iter().map(|&x| u16::from(x)),
                    mask,
                )
        } else if let Some(g) = group {
            let idx = usize::from(pid.wrapping_sub(self.key_pid) & mask) % g.len();
            g.get(idx).is_some_and(|e| {
                self.referenced_ok(pid, e.p_diffs().iter().map(|&x| u16::from(x)), mask)
            })
        } else {
            let layered = match (d.layer, d.tl0_pic_idx, self.base_tl0) {
                (Some(l), Some(t0), Some(base)) if l.tid == 0 => t0 == base.wrapping_add(1),
                (Some(l), Some(t0), Some(base)) => l.switching_up && t0 == base,
                _ => false,
            };
            (contiguous && self.chain) || layered
        };
        if ok {
            if d.layer.is_some_and(|l| l.tid == 0) {
                self.base_tl0 = d.tl0_pic_idx;
            }
            self.chain = explicit || (contiguous && self.chain);
        } else {
            self.chain = false;
            if d.layer.is_none_or(|l| l.tid == 0) {
                self.base_tl0 = None;
            }
        }
        mark(self, ok);
        ok
    }
}
