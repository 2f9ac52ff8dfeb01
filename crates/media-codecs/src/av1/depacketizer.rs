//! The AV1 depacketizer (AV1 RTP specification §4.4): OBU elements joined across packets,
//! size fields put back, one temporal delimiter per temporal unit, and decodability.

use super::obu;
use super::obu_helpers::{leb128_bytes, parse_sequence_header, read_leb128, write_leb128};
use crate::dependency_descriptor::{FrameDependency, FrameDiffs};
use crate::payload::{merge_common, KeyframeChain};
use crate::{Codec, CodecInfo, Depacketizer, Error, Layers, PacketInfo};

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
