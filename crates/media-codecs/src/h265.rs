//! H.265/HEVC RTP payload format, RFC 7798: single NAL unit packets (§4.4.1), aggregation
//! packets (AP, §4.4.2) and fragmentation units (FU, §4.4.3), with or without the DONL/DOND
//! fields ([`H265Config::donl`], present when sprop-max-don-diff > 0).
//!
//! Frames in and out are Annex B byte streams; the depacketizer writes a 4-byte start code
//! before every NAL unit and assumes transmission order is decoding order (it reads DONL/DOND
//! but does not reorder). Like H.264, the packetizer remembers the last VPS, SPS and PPS and
//! sends them before an IRAP picture the encoder did not precede with them. PACI packets
//! (type 50) are refused.

use bytes::Bytes;

use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

use crate::container::annexb::{AnnexBNals, START_CODE};
use crate::h264::unescape_rbsp;
use crate::nal_payload::{aggregation_unit, FuNames, FuReassembly, ParameterSets};
use crate::payload::wire::BitReader;
use crate::payload::wire::NomResult;
use crate::payload::{merge_common, KeyframeChain};
use crate::{Codec, CodecInfo, Depacketizer, Error, Layers, PacketInfo, Packetizer, PayloadMeta};

/// NAL unit types of H.265 Table 7-1 and RFC 7798 that this module acts on.
pub mod nal {
    /// First IRAP type (BLA_W_LP).
    pub const IRAP_FIRST: u8 = 16;
    /// Last IRAP type (CRA_NUT; 22-23 are reserved IRAP types).
    pub const IRAP_LAST: u8 = 21;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
    /// Aggregation packet (RFC 7798 §4.4.2).
    pub const AP: u8 = 48;
    /// Fragmentation unit (RFC 7798 §4.4.3).
    pub const FU: u8 = 49;
    /// PACI packet (RFC 7798 §4.4.4).
    pub const PACI: u8 = 50;
}

fn nal_type(h0: u8) -> u8 {
    (h0 >> 1) & 0x3f
}

/// Payload-format settings for both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct H265Config {
    /// DONL/DOND fields present (sprop-max-don-diff > 0 for the stream, RFC 7798 §7.1).
    pub donl: bool,
}

/// H.265 facts of a payload (in [`CodecInfo::H265`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct H265Info {
    /// Type of the payload (48 AP, 49 FU, or the single NAL unit's type).
    pub packet_type: u8,
    /// Type of the first carried NAL unit (the fragmented one for an FU).
    pub nal_type: u8,
    /// A VPS is in this payload.
    pub has_vps: bool,
    /// An SPS is in this payload.
    pub has_sps: bool,
    /// A PPS is in this payload.
    pub has_pps: bool,
    /// An IRAP picture's slice (types 16-21) is in this payload.
    pub has_irap: bool,
    /// FU start.
    pub fu_start: bool,
    /// FU end.
    pub fu_end: bool,
    /// DONL of the first unit, when the stream carries it.
    pub donl: Option<u16>,
}

impl H265Info {
    fn add_nal(&mut self, nal: &[u8], resolution: &mut Option<(u16, u16)>) {
        let Some(&h) = nal.first() else { return };
        match nal_type(h) {
            nal::VPS => self.has_vps = true,
            nal::SPS => {
                self.has_sps = true;
                if resolution.is_none() {
                    *resolution = parse_sps_resolution(nal);
                }
            }
            nal::PPS => self.has_pps = true,
            nal::IRAP_FIRST..=nal::IRAP_LAST => self.has_irap = true,
            _ => {}
        }
    }
}

/// H.265 packetizer.
#[derive(Debug, Default)]
pub struct H265Packetizer {
    config: H265Config,
    /// VPS, SPS and PPS.
    parameter_sets: ParameterSets<3>,
    units: Vec<Bytes>,
    max_payload: usize,
    idx: usize,
    frag_off: usize,
    frag_left: usize,
    /// Decoding order number of the next NAL unit (16 LSBs sent as DONL).
    don: u16,
}

impl H265Packetizer {
    /// A packetizer with the given settings.
    pub fn new(config: H265Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Overhead of one unit in an AP: [DONL|DOND] + size.
    fn au_overhead(&self, first: bool) -> usize {
        2 + match (self.config.donl, first) {
            (false, _) => 0,
            (true, true) => 2,
            (true, false) => 1,
        }
    }

    fn ap_count(&self) -> usize {
        let mut size = 2;
        let mut n = 0;
        for (i, u) in self.units.iter().skip(self.idx).enumerate() {
            let add = self.au_overhead(i == 0) + u.len();
            if size + add > self.max_payload || u.len() > usize::from(u16::MAX) {
                break;
            }
            size += add;
            n += 1;
        }
        n
    }
}

impl Packetizer for H265Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.units.clear();
        self.idx = 0;
        self.frag_off = 0;
        let hdr = 3 + if self.config.donl { 2 } else { 0 };
        if max_payload <= hdr {
            return Err(Error::MtuTooSmall {
                codec: "H.265",
                max_payload,
                needed: hdr + 1,
            });
        }
        self.max_payload = max_payload;
        let mut it = AnnexBNals::new(&frame);
        self.parameter_sets.begin_frame();
        while let Some(r) = it.next_range() {
            let unit = frame.slice(r);
            if unit.len() < 2 {
                self.units.clear();
                return Err(Error::BadFrame {
                    codec: "H.265",
                    reason: "NAL unit shorter than its 2-byte header",
                });
            }
            let t = unit.first().map_or(0, |&h| nal_type(h));
            let bad = unit.first().is_some_and(|&h| h & 0x80 != 0)
                || unit.get(1).is_some_and(|&h| h & 7 == 0)
                || t >= nal::AP;
            if bad {
                // Forbidden bit, nuh_temporal_id_plus1 = 0, or a type RFC 7798 uses (48-50)
                // or leaves unspecified (51-63).
                self.units.clear();
                return Err(Error::BadFrame {
                    codec: "H.265",
                    reason: "NAL unit with F bit, TID 0 or type 48-63",
                });
            }
            match t {
                nal::VPS => self.parameter_sets.saw(0, &unit),
                nal::SPS => self.parameter_sets.saw(1, &unit),
                nal::PPS => self.parameter_sets.saw(2, &unit),
                // The encoder may not repeat its parameter sets: send the remembered ones.
                nal::IRAP_FIRST..=nal::IRAP_LAST => {
                    self.parameter_sets.before_random_access(&mut self.units)
                }
                _ => {}
            }
            self.units.push(unit);
        }
        if self.units.is_empty() {
            return Err(Error::BadFrame {
                codec: "H.265",
                reason: "no NAL unit after an Annex B start code",
            });
        }
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        let unit = self.units.get(self.idx)?.clone();
        let start = out.len();
        let (h0, h1) = (*unit.first()?, *unit.get(1)?);
        let donl = self.config.donl;
        let single_len = unit.len() + if donl { 2 } else { 0 };
        if self.frag_off == 0 && single_len <= self.max_payload {
            let n = self.ap_count();
            if n >= 2 {
                // AP (§4.4.2): F = OR, LayerId and TID = the lowest of the aggregated units.
                let units = self.units.get(self.idx..self.idx + n)?;
                let f = units
                    .iter()
                    .fold(0u8, |a, u| a | u.first().map_or(0, |b| b & 0x80));
                let layer = units.iter().map(|u| layer_id(u)).min().unwrap_or(0);
                let tid = units
                    .iter()
                    .map(|u| u.get(1).map_or(0, |b| b & 7))
                    .min()
                    .unwrap_or(0);
                out.push(f | (nal::AP << 1) | (layer >> 5));
                out.push(((layer & 0x1f) << 3) | tid);
                for (i, u) in units.iter().enumerate() {
                    if donl {
                        if i == 0 {
                            out.extend_from_slice(&self.don.to_be_bytes());
                        } else {
                            // DOND: DON difference minus one; consecutive units differ by 1.
                            out.push(0);
                        }
                        self.don = self.don.wrapping_add(1);
                    }
                    out.extend_from_slice(&(u.len() as u16).to_be_bytes());
                    out.extend_from_slice(u);
                }
                self.idx += n;
            } else {
                out.extend_from_slice(&[h0, h1]);
                if donl {
                    out.extend_from_slice(&self.don.to_be_bytes());
                    self.don = self.don.wrapping_add(1);
                }
                out.extend_from_slice(unit.get(2..)?);
                self.idx += 1;
            }
        } else {
            // FU (§4.4.3): PayloadHdr with Type 49, FU header S|E|FuType, DONL on the start.
            let body = unit.get(2..)?;
            let room = self.max_payload - 3;
            if self.frag_off == 0 {
                self.frag_off = 1;
                self.frag_left = (body.len() + if donl { 2 } else { 0 })
                    .div_ceil(room)
                    .max(2);
            }
            let done = self.frag_off - 1;
            let s = done == 0;
            let remaining = body.len() - done;
            let extra = if s && donl { 2 } else { 0 };
            let take = remaining
                .div_ceil(self.frag_left.max(1))
                .min(room - extra)
                .max(1)
                .min(remaining);
            let e = take == remaining;
            out.push((h0 & 0x81) | (nal::FU << 1));
            out.push(h1);
            out.push((u8::from(s) << 7) | (u8::from(e) << 6) | nal_type(h0));
            if s && donl {
                out.extend_from_slice(&self.don.to_be_bytes());
                self.don = self.don.wrapping_add(1);
            }
            out.extend_from_slice(body.get(done..done + take)?);
            self.frag_left = self.frag_left.saturating_sub(1);
            if e {
                self.frag_off = 0;
                self.idx += 1;
            } else {
                self.frag_off += take;
            }
        }
        Some(PayloadMeta {
            len: out.len() - start,
            marker: self.idx >= self.units.len(),
        })
    }
}

fn layer_id(nal: &[u8]) -> u8 {
    match (nal.first(), nal.get(1)) {
        (Some(a), Some(b)) => ((a & 1) << 5) | (b >> 3),
        _ => 0,
    }
}

/// H.265 depacketizer writing Annex B.
#[derive(Debug, Default)]
pub struct H265Depacketizer {
    config: H265Config,
    fu: FuReassembly,
    chain: KeyframeChain,
}

const FU: FuNames = FuNames {
    codec: "H.265",
    unfinished: "FU ended without its E fragment",
    start_inside: "FU start inside another FU",
    without_start: "FU fragment without its start",
    frame_ended: "frame ended inside an FU",
};

impl H265Depacketizer {
    /// A depacketizer with the given settings.
    pub fn new(config: H265Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    fn info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        let trunc = |what, offset| truncated(payload, what, offset);
        let (&h0, &h1) = match (payload.first(), payload.get(1)) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(trunc("H.265 payload header", 0)),
        };
        if h0 & 0x80 != 0 {
            return Err(Error::Invalid {
                what: "H.265 payload header",
                offset: 0,
                reason: "F bit set",
            });
        }
        if h1 & 7 == 0 {
            return Err(Error::Invalid {
                what: "H.265 payload header",
                offset: 1,
                reason: "TID 0 (nuh_temporal_id_plus1 must not be 0)",
            });
        }
        let t = nal_type(h0);
        let mut info = H265Info {
            packet_type: t,
            ..H265Info::default()
        };
        let mut resolution = None;
        let donl = self.config.donl;
        match t {
            nal::AP => ap_facts(payload, donl, &mut info, &mut resolution)?,
            nal::FU => fu_facts(payload, donl, &mut info)?,
            nal::PACI => {
                return Err(Error::Invalid {
                    what: "H.265 payload header",
                    offset: 0,
                    reason: "PACI packets are not supported",
                });
            }
            51..=63 => {
                return Err(Error::Invalid {
                    what: "H.265 payload header",
                    offset: 0,
                    reason: "unspecified NAL unit type 51-63",
                });
            }
            _ => {
                info.nal_type = t;
                if donl {
                    let d = payload.get(2..4).ok_or(trunc("H.265 DONL", 2))?;
                    info.donl = Some(u16::from_be_bytes([
                        d.first().copied().unwrap_or(0),
                        d.get(1).copied().unwrap_or(0),
                    ]));
                }
                // Facts only need the header; the SPS body is read past the DONL.
                let t0 = nal_type(h0);
                match t0 {
                    nal::VPS => info.has_vps = true,
                    nal::PPS => info.has_pps = true,
                    nal::IRAP_FIRST..=nal::IRAP_LAST => info.has_irap = true,
                    nal::SPS => {
                        info.has_sps = true;
                        if !donl {
                            resolution = parse_sps_resolution(payload);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(PacketInfo {
            frame_start: None,
            frame_end: None,
            keyframe: info.has_irap,
            layers: Layers {
                spatial: Some(layer_id(payload)),
                temporal: Some((h1 & 7).saturating_sub(1)),
            },
            resolution,
            codec: CodecInfo::H265(info),
            ..PacketInfo::default()
        })
    }
}

/// A truncation error for `payload` at `offset`.
fn truncated(payload: &[u8], what: &'static str, offset: usize) -> Error {
    Error::Truncated {
        what,
        offset,
        needed: 1,
        available: payload.len().saturating_sub(offset),
    }
}

/// The facts of an aggregation packet (RFC 7798 §4.4.2): its units' NAL types, parameter
/// sets and IRAP slices, the first unit's DONL; at least two units.
fn ap_facts(
    payload: &[u8],
    donl: bool,
    info: &mut H265Info,
    resolution: &mut Option<(u16, u16)>,
) -> Result<(), Error> {
    let mut it = ApUnits {
        data: payload,
        pos: 2,
        donl,
        first: true,
    };
    let mut n = 0;
    while let Some(u) = it.next() {
        let (don, u) = u?;
        if n == 0 {
            info.donl = don;
            info.nal_type = u.first().map_or(0, |&h| nal_type(h));
        }
        info.add_nal(u, resolution);
        n += 1;
    }
    if n < 2 {
        return Err(Error::Invalid {
            what: "H.265 AP",
            offset: 2,
            reason: "an AP carries two or more aggregation units, RFC 7798 §4.4.2",
        });
    }
    Ok(())
}

/// The facts of a fragmentation unit (RFC 7798 §4.4.3): S and E, the fragmented unit's type,
/// the DONL of a start fragment.
fn fu_facts(payload: &[u8], donl: bool, info: &mut H265Info) -> Result<(), Error> {
    let trunc = |what, offset| truncated(payload, what, offset);
    let &fh = payload.get(2).ok_or(trunc("H.265 FU header", 2))?;
    let (s, e) = (fh & 0x80 != 0, fh & 0x40 != 0);
    if s && e {
        return Err(Error::Invalid {
            what: "H.265 FU header",
            offset: 2,
            reason: "FU with both S and E set, RFC 7798 §4.4.3",
        });
    }
    let ft = fh & 0x3f;
    if matches!(ft, nal::AP | nal::FU | nal::PACI) {
        return Err(Error::Invalid {
            what: "H.265 FU header",
            offset: 2,
            reason: "FuType of an AP/FU/PACI",
        });
    }
    let mut data_at = 3;
    if s && donl {
        let d = payload.get(3..5).ok_or(trunc("H.265 FU DONL", 3))?;
        info.donl = Some(u16::from_be_bytes([
            d.first().copied().unwrap_or(0),
            d.get(1).copied().unwrap_or(0),
        ]));
        data_at = 5;
    }
    if payload.len() <= data_at {
        return Err(trunc("H.265 FU payload", data_at));
    }
    info.fu_start = s;
    info.fu_end = e;
    info.nal_type = ft;
    info.has_irap = (nal::IRAP_FIRST..=nal::IRAP_LAST).contains(&ft);
    info.has_vps = ft == nal::VPS;
    info.has_sps = ft == nal::SPS;
    info.has_pps = ft == nal::PPS;
    Ok(())
}

/// One aggregation unit: its DONL (first unit, when present) and NAL unit.
type ApUnit<'a> = (Option<u16>, &'a [u8]);

/// Aggregation units of an AP (RFC 7798 Figures 5 and 6).
struct ApUnits<'a> {
    data: &'a [u8],
    pos: usize,
    donl: bool,
    first: bool,
}

impl<'a> ApUnits<'a> {
    fn next(&mut self) -> Option<Result<ApUnit<'a>, Error>> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let at = self.pos;
        self.pos = self.data.len();
        let don_len = match (self.donl, self.first) {
            (false, _) => 0,
            (true, true) => 2,
            (true, false) => 1,
        };
        self.first = false;
        let (tail, (don, nal)) = match ap_unit(rest, don_len) {
            Ok(x) => x,
            Err(e) => return Some(Err(nom_error("H.265 aggregation unit", self.data, e, at))),
        };
        if nal.len() < 2 {
            return Some(Err(Error::Invalid {
                what: "H.265 aggregation unit",
                offset: at + don_len,
                reason: "NAL unit shorter than its 2-byte header",
            }));
        }
        self.pos = self.data.len() - tail.len();
        Some(Ok((don, nal)))
    }
}

/// `[DONL (16) | DOND (8)] NALU size (16) | NALU` (RFC 7798 Figures 5 and 6).
fn ap_unit(input: &[u8], don_len: usize) -> NomResult<'_, ApUnit<'_>> {
    let don = move |i| match don_len {
        2 => be_u16.map(Some).parse(i),
        1 => be_u8.map(|_| None).parse(i),
        _ => Ok((i, None)),
    };
    (don, aggregation_unit)
        .map(|(d, (_, nal))| (d, nal))
        .parse(input)
}

/// Maps a nom error inside `full` (the parse began at `base`) to a truncation error.
fn nom_error(
    what: &'static str,
    full: &[u8],
    e: crate::payload::wire::NomErr<'_>,
    base: usize,
) -> Error {
    match crate::payload::wire::nom_error(what, full.get(base..).unwrap_or_default(), e) {
        Error::Truncated {
            what,
            offset,
            needed,
            available,
        } => Error::Truncated {
            what,
            offset: offset + base,
            needed,
            available,
        },
        other => other,
    }
}

impl Depacketizer for H265Depacketizer {
    fn codec(&self) -> Codec {
        Codec::H265
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        self.info(payload)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let info = self.info(payload)?;
        let CodecInfo::H265(h) = info.codec else {
            return Ok(info);
        };
        if h.packet_type != nal::FU {
            self.fu.interrupt(&FU)?;
        }
        let donl = self.config.donl;
        match h.packet_type {
            nal::AP => {
                let mut it = ApUnits {
                    data: payload,
                    pos: 2,
                    donl,
                    first: true,
                };
                while let Some(u) = it.next() {
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(u?.1);
                }
            }
            nal::FU => {
                let skip = 3 + if h.fu_start && donl { 2 } else { 0 };
                // The NAL unit header: F, LayerId and TID of the payload header, type of the
                // FU header.
                let (h0, h1) = (
                    payload.first().copied().unwrap_or(0),
                    payload.get(1).copied().unwrap_or(0),
                );
                let hdr = [(h0 & 0x81) | (h.nal_type << 1), h1];
                let data = payload.get(skip..).unwrap_or_default();
                let flags = (h.fu_start, h.fu_end);
                self.fu.push(&FU, flags, h.nal_type, &hdr, data, out)?;
            }
            _ => {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload.get(..2).unwrap_or_default());
                out.extend_from_slice(payload.get(if donl { 4 } else { 2 }..).unwrap_or_default());
            }
        }
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        self.fu.finish(&FU)
    }

    fn reset(&mut self) {
        self.fu.reset();
    }

    /// Ors the NAL unit flags of every payload into the frame's [`H265Info`].
    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        merge_common(frame, packet);
        if let (CodecInfo::H265(f), CodecInfo::H265(p)) = (&mut frame.codec, &packet.codec) {
            f.has_vps |= p.has_vps;
            f.has_sps |= p.has_sps;
            f.has_pps |= p.has_pps;
            f.has_irap |= p.has_irap;
        }
    }

    /// An IRAP picture is decodable; other pictures when contiguous with a decodable chain
    /// since the last IRAP.
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        self.chain.decodable(frame.keyframe, contiguous)
    }
}

/// Width and height (after the conformance window) from an H.265 SPS NAL unit (with its
/// 2-byte header), H.265 §7.3.2.2; `None` if malformed. Reads at most 512 bytes, no allocation.
pub fn parse_sps_resolution(nal: &[u8]) -> Option<(u16, u16)> {
    if nal_type(*nal.first()?) != nal::SPS {
        return None;
    }
    let mut buf = [0u8; 512];
    let n = unescape_rbsp(nal.get(2..)?, &mut buf);
    let mut r = BitReader::new(buf.get(..n)?);
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)? as usize;
    r.bit()?; // sps_temporal_id_nesting_flag
              // profile_tier_level(1, sps_max_sub_layers_minus1), §7.3.3
    r.skip(96)?; // general profile (88 bits) + general_level_idc (8)
    let mut sub = [(false, false); 8];
    for s in sub.iter_mut().take(max_sub_layers_minus1) {
        *s = (r.bit()?, r.bit()?);
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1))?;
    }
    for &(p, l) in sub.iter().take(max_sub_layers_minus1) {
        if p {
            r.skip(88)?;
        }
        if l {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma = r.ue()?;
    let separate = chroma == 3 && r.bit()?;
    let w = u64::from(r.ue()?);
    let h = u64::from(r.ue()?);
    let (mut cw, mut ch) = (w, h);
    if r.bit()? {
        let (l, rt, t, b) = (
            u64::from(r.ue()?),
            u64::from(r.ue()?),
            u64::from(r.ue()?),
            u64::from(r.ue()?),
        );
        let (sw, sh) = match (chroma, separate) {
            (1, false) => (2, 2),
            (2, false) => (2, 1),
            _ => (1, 1),
        };
        cw = w.checked_sub(sw * (l + rt))?;
        ch = h.checked_sub(sh * (t + b))?;
    }
    Some((u16::try_from(cw).ok()?, u16::try_from(ch).ok()?))
}
