//! AV1 RTP payload format (the AV1 RTP payload specification v1.0.0, §4-§5).
//!
//! - Frames in and out are temporal units in the low-overhead bitstream format (OBUs with
//!   `obu_has_size_field` = 1), e.g. what an IVF file or an encoder gives.
//! - [`Av1Packetizer`]: drops temporal delimiters, tile lists and padding (§5), removes the OBU
//!   size fields (§4.4: "SHOULD be set to zero"), aggregates and fragments OBU elements behind the
//!   aggregation header (Z, Y, W, N), W = element count when it is 1..=3 (last element without
//!   its length), W = 0 otherwise; N = 1 on the first packet of a temporal unit that starts a
//!   coded video sequence (a sequence header and a key frame).
//! - [`Av1Depacketizer`]: accepts W = 0 and W = 1..=3, joins fragments across packets, puts the
//!   OBU size fields back (minimal leb128), drops received temporal delimiters and writes one
//!   temporal delimiter at the start of each temporal unit (configurable), so the output is a
//!   conforming low-overhead temporal unit.
//! - Decodability: with a Dependency Descriptor per packet
//!   ([`Av1Depacketizer::set_frame_dependency`] before [`Depacketizer::push`]), a frame is
//!   decodable when every frame it refers to (frame_number − fdiff) was released decodable;
//!   without one, a keyframe (N = 1) or a frame contiguous with a decodable chain is.

use bytes::Bytes;

use crate::dependency_descriptor::{FrameDependency, FrameDiffs};
use crate::payload::{merge_common, KeyframeChain};
use crate::{Codec, CodecInfo, Depacketizer, Error, Layers, PacketInfo, Packetizer, PayloadMeta};

/// OBU types of the AV1 specification §6.2.2.
pub mod obu {
    /// OBU_SEQUENCE_HEADER.
    pub const SEQUENCE_HEADER: u8 = 1;
    /// OBU_TEMPORAL_DELIMITER.
    pub const TEMPORAL_DELIMITER: u8 = 2;
    /// OBU_FRAME_HEADER.
    pub const FRAME_HEADER: u8 = 3;
    /// OBU_TILE_GROUP.
    pub const TILE_GROUP: u8 = 4;
    /// OBU_METADATA.
    pub const METADATA: u8 = 5;
    /// OBU_FRAME.
    pub const FRAME: u8 = 6;
    /// OBU_REDUNDANT_FRAME_HEADER.
    pub const REDUNDANT_FRAME_HEADER: u8 = 7;
    /// OBU_TILE_LIST.
    pub const TILE_LIST: u8 = 8;
    /// OBU_PADDING.
    pub const PADDING: u8 = 15;
}

mod obu_helpers;

use obu_helpers::{is_key_frame, leb128_bytes};
pub use obu_helpers::{
    leb128_len, parse_sequence_header, read_leb128, write_leb128, SequenceHeaderInfo,
};

/// Most OBUs accepted in one temporal unit by the packetizer.
pub const MAX_OBUS_PER_TEMPORAL_UNIT: usize = 4096;

/// One OBU of a temporal unit, as the packetizer sends it: header (size flag cleared),
/// optional extension byte, payload range in the frame.
#[derive(Debug, Clone, Copy)]
struct ObuRef {
    header: u8,
    ext: Option<u8>,
    start: usize,
    end: usize,
}

impl ObuRef {
    fn header_len(&self) -> usize {
        1 + usize::from(self.ext.is_some())
    }
    fn len(&self) -> usize {
        self.header_len() + (self.end - self.start)
    }
}

/// Splits a temporal unit into OBUs (AV1 §5.3); `obus` is cleared first.
fn split_obus(tu: &[u8], obus: &mut Vec<ObuRef>) -> Result<(), Error> {
    obus.clear();
    let mut pos = 0;
    while pos < tu.len() {
        let at = pos;
        let &h = tu.get(pos).ok_or(Error::Truncated {
            what: "OBU header",
            offset: pos,
            needed: 1,
            available: 0,
        })?;
        if h & 0x80 != 0 {
            return Err(Error::Invalid {
                what: "OBU header",
                offset: pos,
                reason: "obu_forbidden_bit set",
            });
        }
        pos += 1;
        let ext = if h & 0x04 != 0 {
            let e = *tu.get(pos).ok_or(Error::Truncated {
                what: "OBU extension header",
                offset: pos,
                needed: 1,
                available: 0,
            })?;
            pos += 1;
            Some(e)
        } else {
            None
        };
        let end = if h & 0x02 != 0 {
            let (size, n) =
                read_leb128(tu.get(pos..).unwrap_or_default()).ok_or(Error::Invalid {
                    what: "obu_size",
                    offset: pos,
                    reason: "bad leb128",
                })?;
            pos += n;
            pos.checked_add(size as usize)
                .filter(|&e| e <= tu.len())
                .ok_or(Error::Truncated {
                    what: "OBU",
                    offset: at,
                    needed: size as usize,
                    available: tu.len().saturating_sub(pos),
                })?
        } else {
            tu.len()
        };
        let t = (h >> 3) & 0x0f;
        if !matches!(t, obu::TEMPORAL_DELIMITER | obu::TILE_LIST | obu::PADDING) {
            if obus.len() >= MAX_OBUS_PER_TEMPORAL_UNIT {
                return Err(Error::Limit {
                    what: "OBUs per temporal unit",
                    limit: MAX_OBUS_PER_TEMPORAL_UNIT,
                });
            }
            obus.push(ObuRef {
                header: h & !0x02,
                ext,
                start: pos,
                end,
            });
        }
        pos = end;
    }
    Ok(())
}

/// AV1 packetizer.
#[derive(Debug, Default)]
pub struct Av1Packetizer {
    frame: Bytes,
    obus: Vec<ObuRef>,
    max_payload: usize,
    idx: usize,
    off: usize,
    first: bool,
    new_sequence: bool,
    reduced_still: bool,
}

impl Av1Packetizer {
    /// A new packetizer.
    pub fn new() -> Self {
        Self::default()
    }

    fn write_part(&self, o: &ObuRef, from: usize, len: usize, out: &mut Vec<u8>) {
        // Element bytes: header, extension, payload; `from..from+len` of that sequence.
        let hl = o.header_len();
        let mut i = from;
        let end = from + len;
        while i < end.min(hl) {
            out.push(if i == 0 { o.header } else { o.ext.unwrap_or(0) });
            i += 1;
        }
        if end > hl {
            let a = o.start + (i - hl);
            let b = o.start + (end - hl);
            out.extend_from_slice(self.frame.get(a..b).unwrap_or_default());
        }
    }
}

impl Packetizer for Av1Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.idx = 0;
        self.off = 0;
        if max_payload < 3 {
            self.obus.clear();
            return Err(Error::MtuTooSmall {
                codec: "AV1",
                max_payload,
                needed: 3,
            });
        }
        if let Err(e) = split_obus(&frame, &mut self.obus) {
            self.obus.clear();
            return Err(e);
        }
        if self.obus.is_empty() {
            return Err(Error::BadFrame {
                codec: "AV1",
                reason: "no OBU besides temporal delimiters",
            });
        }
        // N: a sequence header and a key frame in this temporal unit start a coded video sequence.
        let mut seq = false;
        let mut key = false;
        for o in &self.obus {
            let payload = frame.get(o.start..o.end).unwrap_or_default();
            match (o.header >> 3) & 0x0f {
                obu::SEQUENCE_HEADER => {
                    seq = true;
                    if let Some(s) = parse_sequence_header(payload) {
                        self.reduced_still = s.reduced_still_picture_header;
                    }
                }
                obu::FRAME_HEADER | obu::FRAME => {
                    key = is_key_frame(payload, self.reduced_still);
                    break;
                }
                _ => {}
            }
        }
        self.new_sequence = seq && key;
        self.frame = frame;
        self.max_payload = max_payload;
        self.first = true;
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        if self.idx >= self.obus.len() {
            return None;
        }
        let start = out.len();
        out.push(0);
        let z = self.off > 0;
        let mut room = self.max_payload - 1;
        let mut count = 0usize;
        let mut y = false;
        let mut last_has_len = false;
        while let Some(o) = self.obus.get(self.idx).copied() {
            let rem = o.len() - self.off;
            let more_after = self.idx + 1 < self.obus.len();
            let with_len = rem + leb128_len(rem);
            if more_after && with_len + 2 <= room {
                // A whole element with its length, and room for more.
                write_leb128(rem, out);
                self.write_part(&o, self.off, rem, out);
                room -= with_len;
                self.idx += 1;
                self.off = 0;
                count += 1;
                continue;
            }
            // The last element of this packet.
            let take = if count < 3 {
                rem.min(room)
            } else {
                let t = rem.min(room);
                t.min(room.saturating_sub(leb128_len(t)))
            };
            if take == 0 {
                last_has_len = true;
                break;
            }
            if count >= 3 {
                write_leb128(take, out);
                last_has_len = true;
            }
            self.write_part(&o, self.off, take, out);
            count += 1;
            if take == rem {
                self.idx += 1;
                self.off = 0;
            } else {
                self.off += take;
                y = true;
            }
            break;
        }
        let w = if last_has_len || count > 3 {
            0
        } else {
            count as u8
        };
        let n = self.first && self.new_sequence;
        self.first = false;
        if let Some(h) = out.get_mut(start) {
            *h = (u8::from(z) << 7) | (u8::from(y) << 6) | (w << 4) | (u8::from(n) << 3);
        }
        Some(PayloadMeta {
            len: out.len() - start,
            marker: self.idx >= self.obus.len(),
        })
    }
}

/// AV1 facts of a payload (in [`CodecInfo::Av1`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Av1Info {
    /// Z: the first element continues an OBU.
    pub z: bool,
    /// Y: the last element continues in the next packet.
    pub y: bool,
    /// W: element count (0: every element has a length).
    pub w: u8,
    /// N: first packet of a coded video sequence.
    pub n: bool,
    /// A sequence header OBU starts in this payload.
    pub has_sequence_header: bool,
    /// From the Dependency Descriptor given with [`Av1Depacketizer::set_frame_dependency`].
    pub frame_number: Option<u16>,
    /// The referred frames' differences (same source).
    pub fdiffs: FrameDiffs,
}

/// Iterates over the OBU elements of a payload (after the aggregation header), §4.4.
struct Elements<'a> {
    data: &'a [u8],
    pos: usize,
    w: u8,
    index: u8,
}

impl<'a> Elements<'a> {
    fn next(&mut self) -> Option<Result<&'a [u8], Error>> {
        if self.pos >= self.data.len() {
            return if self.w != 0 && self.index < self.w {
                self.pos = usize::MAX;
                Some(Err(Error::Invalid {
                    what: "AV1 payload",
                    offset: self.data.len(),
                    reason: "fewer OBU elements than W says",
                }))
            } else {
                None
            };
        }
        let rest = self.data.get(self.pos..)?;
        self.index = self.index.saturating_add(1);
        if self.w != 0 && self.index == self.w {
            self.pos = self.data.len();
            return Some(Ok(rest));
        }
        let at = self.pos.saturating_add(1);
        let Some((len, n)) = read_leb128(rest) else {
            self.pos = usize::MAX;
            return Some(Err(Error::Invalid {
                what: "OBU element length",
                offset: at,
                reason: "bad leb128",
            }));
        };
        let body = rest.get(n..n.saturating_add(len as usize));
        match body {
            Some(b) if !b.is_empty() => {
                self.pos += n + len as usize;
                Some(Ok(b))
            }
            _ => {
                self.pos = usize::MAX;
                Some(Err(Error::Invalid {
                    what: "OBU element length",
                    offset: at,
                    reason: "zero or past the payload end",
                }))
            }
        }
    }
}

/// An OBU being reassembled from fragments.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Where its first byte is in `out`.
    pos: usize,
    /// Dropped (temporal delimiter, tile list, padding).
    drop: bool,
}

/// AV1 depacketizer.
#[derive(Debug)]
pub struct Av1Depacketizer {
    emit_temporal_delimiter: bool,
    in_tu: bool,
    pending: Option<Pending>,
    /// Dependency Descriptor of the next pushed packet.
    next_dep: Option<FrameDependency>,
    /// Decodability without a Dependency Descriptor.
    chain: KeyframeChain,
    /// Frame numbers released decodable, indexed by frame_number % len.
    decoded: [Option<u16>; 256],
}

impl Default for Av1Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Av1Depacketizer {
    /// A depacketizer that writes a temporal delimiter at the start of each temporal unit.
    pub fn new() -> Self {
        Self {
            emit_temporal_delimiter: true,
            in_tu: false,
            pending: None,
            next_dep: None,
            chain: KeyframeChain::default(),
            decoded: [None; 256],
        }
    }

    /// Whether to write a temporal delimiter OBU (`12 00`) at the start of each temporal unit
    /// (default true: the low-overhead format starts every temporal unit with one).
    pub fn with_temporal_delimiter(mut self, on: bool) -> Self {
        self.emit_temporal_delimiter = on;
        self
    }

    /// Gives the resolved Dependency Descriptor of the packet about to be pushed (from
    /// [`crate::dependency_descriptor::DependencyDescriptorParser`]). Its frame number and
    /// frame differences go into that packet's [`Av1Info`], which [`Depacketizer::decodable`]
    /// reads. Applies to the next [`Depacketizer::push`] only.
    pub fn set_frame_dependency(&mut self, dep: Option<FrameDependency>) {
        self.next_dep = dep;
    }

    fn info(payload: &[u8]) -> Result<PacketInfo, Error> {
        let &h = payload.first().ok_or(Error::Truncated {
            what: "AV1 aggregation header",
            offset: 0,
            needed: 1,
            available: 0,
        })?;
        let (z, y, w, n) = (h & 0x80 != 0, h & 0x40 != 0, (h >> 4) & 3, h & 0x08 != 0);
        if n && z {
            return Err(Error::Invalid {
                what: "AV1 aggregation header",
                offset: 0,
                reason: "N=1 with Z=1",
            });
        }
        let mut info = Av1Info {
            z,
            y,
            w,
            n,
            ..Av1Info::default()
        };
        let mut layers = Layers::default();
        let mut resolution = None;
        let mut it = Elements {
            data: payload.get(1..).unwrap_or_default(),
            pos: 0,
            w,
            index: 0,
        };
        let mut i = 0;
        let mut count = 0;
        while let Some(e) = it.next() {
            let e = e?;
            count += 1;
            let continuation = i == 0 && z;
            i += 1;
            if continuation {
                continue;
            }
            let Some(&oh) = e.first() else { continue };
            if oh & 0x80 != 0 {
                return Err(Error::Invalid {
                    what: "OBU header",
                    offset: 1,
                    reason: "obu_forbidden_bit set",
                });
            }
            let t = (oh >> 3) & 0x0f;
            if oh & 0x04 != 0 && layers.temporal.is_none() {
                if let Some(&x) = e.get(1) {
                    layers.temporal = Some(x >> 5);
                    layers.spatial = Some((x >> 3) & 3);
                }
            }
            if t == obu::SEQUENCE_HEADER {
                info.has_sequence_header = true;
                let hl = 1 + usize::from(oh & 0x04 != 0);
                let mut body = e.get(hl..).unwrap_or_default();
                if oh & 0x02 != 0 {
                    if let Some((_, n)) = read_leb128(body) {
                        body = body.get(n..).unwrap_or_default();
                    }
                }
                if let Some(s) = parse_sequence_header(body) {
                    resolution = Some((
                        u16::try_from(s.max_width).unwrap_or(u16::MAX),
                        u16::try_from(s.max_height).unwrap_or(u16::MAX),
                    ));
                }
            }
        }
        if count == 0 {
            return Err(Error::Invalid {
                what: "AV1 payload",
                offset: 1,
                reason: "no OBU element",
            });
        }
        Ok(PacketInfo {
            frame_start: if z {
                Some(false)
            } else if n {
                Some(true)
            } else {
                None
            },
            frame_end: None,
            keyframe: n,
            layers,
            picture_id: None,
            tl0_pic_idx: None,
            resolution,
            codec: CodecInfo::Av1(info),
        })
    }

    /// Ends an OBU that started at `pos` in `out`: sets obu_has_size_field and inserts the size
    /// after the header(s) (AV1 §5.3.1), or drops it.
    fn close_obu(p: Pending, out: &mut Vec<u8>) -> Result<(), Error> {
        if p.drop {
            out.truncate(p.pos);
            return Ok(());
        }
        let Some(&h) = out.get(p.pos) else {
            return Err(Error::Invalid {
                what: "OBU",
                offset: 0,
                reason: "empty OBU",
            });
        };
        if h & 0x02 != 0 {
            // The sender kept the size field: pass through as sent.
            return Ok(());
        }
        let hl = 1 + usize::from(h & 0x04 != 0);
        let total = out.len() - p.pos;
        if total < hl {
            return Err(Error::Invalid {
                what: "OBU",
                offset: 0,
                reason: "OBU shorter than its header",
            });
        }
        let (bytes, n) = leb128_bytes(total - hl);
        let at = p.pos + hl;
        let old_len = out.len();
        out.resize(old_len + n, 0);
        out.copy_within(at..old_len, at + n);
        if let (Some(dst), Some(src)) = (out.get_mut(at..at + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        if let Some(first) = out.get_mut(p.pos) {
            *first |= 0x02;
        }
        Ok(())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.pending = None;
        self.in_tu = false;
        e
    }
}

impl Depacketizer for Av1Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Av1
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        Self::info(payload)
    }

    // Long on purpose: one pass over the aggregation header's Z/Y/W/N bits and the OBU
    // elements (AV1 RTP specification §4.4-4.5), where a fragment continues, ends or starts;
    // the state it carries across packets (`pending`, `in_tu`) is easier to follow in one place.
    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let dep = self.next_dep.take();
        let mut info = Self::info(payload).map_err(|e| self.fail(e))?;
        let CodecInfo::Av1(mut a) = info.codec else {
            return Ok(info);
        };
        if let Some(d) = dep {
            a.frame_number = Some(d.frame_number);
            a.fdiffs = d.fdiffs;
            info.layers = Layers {
                spatial: Some(d.spatial_id),
                temporal: Some(d.temporal_id),
            };
            if info.resolution.is_none() {
                info.resolution = d.resolution;
            }
            info.codec = CodecInfo::Av1(a);
        }
        if a.z != self.pending.is_some() {
            let reason = if a.z {
                "continuation without the start of its OBU"
            } else {
                "OBU fragment never completed"
            };
            return Err(self.fail(Error::Discontinuity {
                codec: "AV1",
                reason,
            }));
        }
        if !self.in_tu {
            self.in_tu = true;
            if self.emit_temporal_delimiter {
                out.extend_from_slice(&[0x12, 0x00]);
            }
        }
        let mut it = Elements {
            data: payload.get(1..).unwrap_or_default(),
            pos: 0,
            w: a.w,
            index: 0,
        };
        let mut first = true;
        let mut last_open = false;
        // Elements are known valid (info parsed them); errors are still propagated.
        while let Some(e) = it.next() {
            let e = e.map_err(|e| self.fail(e))?;
            let is_last = it.pos >= it.data.len();
            let open = is_last && a.y;
            if first && a.z {
                first = false;
                let Some(p) = self.pending else {
                    return Err(self.fail(Error::Discontinuity {
                        codec: "AV1",
                        reason: "continuation without start",
                    }));
                };
                if !p.drop {
                    out.extend_from_slice(e);
                }
                if !open {
                    self.pending = None;
                    Self::close_obu(p, out).map_err(|e| self.fail(e))?;
                } else {
                    last_open = true;
                }
                continue;
            }
            first = false;
            let Some(&oh) = e.first() else { continue };
            let t = (oh >> 3) & 0x0f;
            let drop = matches!(t, obu::TEMPORAL_DELIMITER | obu::TILE_LIST | obu::PADDING);
            let p = Pending {
                pos: out.len(),
                drop,
            };
            if open {
                if !drop {
                    out.extend_from_slice(e);
                }
                self.pending = Some(p);
                last_open = true;
            } else if !drop {
                if oh & 0x02 != 0 {
                    out.extend_from_slice(e);
                } else {
                    // Whole OBU: header(s), size, payload, no moving of bytes.
                    let hl = 1 + usize::from(oh & 0x04 != 0);
                    let (hdr, body) = match (e.get(..hl), e.get(hl..)) {
                        (Some(h), Some(b)) => (h, b),
                        _ => {
                            return Err(self.fail(Error::Invalid {
                                what: "OBU",
                                offset: 1,
                                reason: "OBU shorter than its header",
                            }))
                        }
                    };
                    out.push(oh | 0x02);
                    out.extend_from_slice(hdr.get(1..).unwrap_or_default());
                    write_leb128(body.len(), out);
                    out.extend_from_slice(body);
                }
            }
        }
        if a.y && !last_open {
            return Err(self.fail(Error::Invalid {
                what: "AV1 aggregation header",
                offset: 0,
                reason: "Y=1 without a last element",
            }));
        }
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        self.in_tu = false;
        if self.pending.take().is_some() {
            return Err(Error::Discontinuity {
                codec: "AV1",
                reason: "temporal unit ended inside an OBU fragment",
            });
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.in_tu = false;
        self.pending = None;
        self.next_dep = None;
    }

    /// Keeps the first payload's facts (and its Dependency Descriptor frame), ors `keyframe`
    /// and `has_sequence_header`, takes the first resolution.
    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        merge_common(frame, packet);
        if let (CodecInfo::Av1(f), CodecInfo::Av1(p)) = (&mut frame.codec, &packet.codec) {
            f.has_sequence_header |= p.has_sequence_header;
            if f.frame_number.is_none() {
                f.frame_number = p.frame_number;
                f.fdiffs = p.fdiffs;
            }
        }
    }

    /// With a Dependency Descriptor: decodable when every referred frame was released
    /// decodable (frames older than 256 frame numbers count as missing); a frame without
    /// references is decodable. Without one: keyframe (N=1), or contiguous with a decodable
    /// chain. The first packet's descriptor (the lowest spatial layer's frame) stands for the
    /// temporal unit.
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        let a = match frame.codec {
            CodecInfo::Av1(a) => a,
            _ => Av1Info::default(),
        };
        if let Some(fnum) = a.frame_number {
            let slot = |n: u16| usize::from(n) % 256;
            let ok = a.fdiffs.as_slice().iter().all(|&d| {
                let r = fnum.wrapping_sub(d);
                self.decoded.get(slot(r)).copied().flatten() == Some(r)
            });
            if let Some(s) = self.decoded.get_mut(slot(fnum)) {
                *s = if ok { Some(fnum) } else { None };
            }
            self.chain.record(ok, frame.keyframe);
            return ok;
        }
        self.chain.decodable(frame.keyframe, contiguous)
    }
}
