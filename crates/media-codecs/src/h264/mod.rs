//! H.264 RTP payload format, RFC 6184: single NAL unit, STAP-A and FU-A packets,
//! packetization-mode 0 and 1 (non-interleaved).
//!
//! - Frames in and out are Annex B byte streams (start codes). The depacketizer writes a 4-byte
//!   start code (`00 00 00 01`) before every NAL unit.
//! - [`H264Packetizer`] remembers the last SPS and PPS it saw and sends them (aggregated in a
//!   STAP-A when they fit) before an IDR picture the encoder did not precede with them.
//! - [`ProfileLevelId`], [`H264Fmtp`] and [`negotiate`]: profile-level-id parsing and the
//!   offer/answer rules of RFC 6184 §8.2.2, for the peer connection.
//! - [`parse_sps`]: profile, level and resolution (with cropping) from a sequence parameter set.

use bytes::Bytes;

use crate::container::annexb::START_CODE;
use crate::nal_payload::{aggregation_unit, FuNames, FuReassembly, ParameterSets};
use crate::payload::{merge_common, KeyframeChain};
use crate::{Codec, CodecInfo, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta};

/// NAL unit types of H.264 Table 7-1 and RFC 6184 Table 1 that this module acts on.
pub mod nal {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
    /// Single-time aggregation packet A (RFC 6184 §5.7.1).
    pub const STAP_A: u8 = 24;
    /// Single-time aggregation packet B (interleaved mode only).
    pub const STAP_B: u8 = 25;
    /// Multi-time aggregation packet, 16-bit offset (interleaved mode only).
    pub const MTAP16: u8 = 26;
    /// Multi-time aggregation packet, 24-bit offset (interleaved mode only).
    pub const MTAP24: u8 = 27;
    /// Fragmentation unit A (RFC 6184 §5.8).
    pub const FU_A: u8 = 28;
    /// Fragmentation unit B (interleaved mode only).
    pub const FU_B: u8 = 29;
}

mod profile;
mod sps;

pub use profile::{negotiate, H264Fmtp, H264Negotiated, H264Profile, ProfileLevelId};
pub(crate) use sps::unescape_rbsp;
pub use sps::{parse_sps, SpsInfo};

pub use crate::container::annexb::AnnexBNals;

/// H.264 facts of a payload (in [`CodecInfo::H264`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct H264Info {
    /// NAL unit type of the payload (24 STAP-A, 28 FU-A, or the single NAL's type).
    pub packet_type: u8,
    /// Type of the (first) NAL unit carried: the aggregated units' first, the fragmented unit's.
    pub nal_type: u8,
    /// An SPS is in this payload.
    pub has_sps: bool,
    /// A PPS is in this payload.
    pub has_pps: bool,
    /// An IDR slice (or its fragment) is in this payload.
    pub has_idr: bool,
    /// FU-A: start fragment.
    pub fu_start: bool,
    /// FU-A: end fragment.
    pub fu_end: bool,
    /// Largest nal_ref_idc in the payload (0: not used for reference).
    pub nal_ref_idc: u8,
}

impl H264Info {
    fn add_nal(&mut self, nal: &[u8], resolution: &mut Option<(u16, u16)>) {
        let Some(&h) = nal.first() else { return };
        let t = h & 0x1f;
        if self.nal_type == 0 {
            self.nal_type = t;
        }
        self.nal_ref_idc = self.nal_ref_idc.max((h >> 5) & 3);
        match t {
            nal::SPS => {
                self.has_sps = true;
                if resolution.is_none() {
                    *resolution = parse_sps(nal).map(|s| (s.width, s.height));
                }
            }
            nal::PPS => self.has_pps = true,
            nal::IDR => self.has_idr = true,
            _ => {}
        }
    }
}

/// Packetization mode (RFC 6184 §6.2, §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacketizationMode {
    /// Mode 0: single NAL unit packets only; a NAL unit that does not fit is an error.
    SingleNal,
    /// Mode 1: single NAL, STAP-A and FU-A (what browsers use).
    #[default]
    NonInterleaved,
}

/// H.264 packetizer.
#[derive(Debug, Default)]
pub struct H264Packetizer {
    mode: PacketizationMode,
    /// SPS and PPS.
    parameter_sets: ParameterSets<2>,
    units: Vec<Bytes>,
    max_payload: usize,
    /// Next unit to send.
    idx: usize,
    /// Offset inside unit `idx` while fragmenting (0: not fragmenting).
    frag_off: usize,
    frag_left: usize,
}

impl H264Packetizer {
    /// A packetizer in the given mode.
    pub fn new(mode: PacketizationMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// Gives parameter sets out of band (e.g. from `sprop-parameter-sets`), used until the
    /// encoder sends its own.
    pub fn set_parameter_sets(&mut self, sps: Bytes, pps: Bytes) {
        self.parameter_sets.set(0, sps);
        self.parameter_sets.set(1, pps);
    }

    fn stap_count(&self) -> usize {
        // How many units from idx fit in one STAP-A (RFC 6184 §5.7.1): 1 + sum(2 + len).
        let mut size = 1usize;
        let mut n = 0;
        for u in self.units.iter().skip(self.idx) {
            let add = 2 + u.len();
            if size + add > self.max_payload || u.len() > usize::from(u16::MAX) {
                break;
            }
            size += add;
            n += 1;
        }
        n
    }
}

impl Packetizer for H264Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.units.clear();
        self.idx = 0;
        self.frag_off = 0;
        if max_payload < 3 {
            return Err(Error::MtuTooSmall {
                codec: "H.264",
                max_payload,
                needed: 3,
            });
        }
        self.max_payload = max_payload;
        let mut it = AnnexBNals::new(&frame);
        self.parameter_sets.begin_frame();
        while let Some(r) = it.next_range() {
            let unit = frame.slice(r);
            let h = unit.first().copied().unwrap_or(0);
            let t = h & 0x1f;
            if h & 0x80 != 0 || t == 0 || t >= nal::STAP_A {
                // Not sendable as is: forbidden bit, or a type RFC 6184 Table 1 reserves for
                // the payload format.
                self.units.clear();
                return Err(Error::BadFrame {
                    codec: "H.264",
                    reason: "NAL unit with forbidden_zero_bit or type 0/24-31",
                });
            }
            match t {
                nal::SPS => self.parameter_sets.saw(0, &unit),
                nal::PPS => self.parameter_sets.saw(1, &unit),
                // The encoder may not repeat its parameter sets: send the remembered ones.
                nal::IDR => self.parameter_sets.before_random_access(&mut self.units),
                _ => {}
            }
            self.units.push(unit);
        }
        if self.units.is_empty() {
            return Err(Error::BadFrame {
                codec: "H.264",
                reason: "no NAL unit after an Annex B start code",
            });
        }
        if self.mode == PacketizationMode::SingleNal {
            if let Some(big) = self.units.iter().find(|u| u.len() > max_payload) {
                let needed = big.len();
                self.units.clear();
                return Err(Error::MtuTooSmall {
                    codec: "H.264 packetization-mode 0",
                    max_payload,
                    needed,
                });
            }
        }
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        let unit = self.units.get(self.idx)?.clone();
        let start = out.len();
        let &hdr = unit.first()?;
        let fits = unit.len() <= self.max_payload;
        if self.frag_off == 0 && fits {
            let n = if self.mode == PacketizationMode::NonInterleaved {
                self.stap_count()
            } else {
                1
            };
            if n >= 2 {
                // STAP-A: F is the OR, NRI the maximum of the aggregated units (RFC 6184 §5.7).
                let units = self.units.get(self.idx..self.idx + n)?;
                let f = units
                    .iter()
                    .fold(0u8, |a, u| a | u.first().map_or(0, |b| b & 0x80));
                let nri = units
                    .iter()
                    .map(|u| u.first().map_or(0, |b| b & 0x60))
                    .max()
                    .unwrap_or(0);
                out.push(f | nri | nal::STAP_A);
                for u in units {
                    out.extend_from_slice(&(u.len() as u16).to_be_bytes());
                    out.extend_from_slice(u);
                }
                self.idx += n;
            } else {
                out.extend_from_slice(&unit);
                self.idx += 1;
            }
        } else {
            // FU-A (RFC 6184 §5.8): indicator F|NRI|28, header S|E|R|type, then a fragment of the
            // NAL unit payload (its header byte is carried in the two bytes above).
            let body = unit.get(1..)?;
            let room = self.max_payload - 2;
            if self.frag_off == 0 {
                self.frag_off = 1;
                self.frag_left = body.len().div_ceil(room);
            }
            let done = self.frag_off - 1;
            let remaining = body.len() - done;
            let take = remaining.div_ceil(self.frag_left.max(1));
            let s = done == 0;
            let e = take == remaining;
            out.push((hdr & 0xe0) | nal::FU_A);
            out.push((u8::from(s) << 7) | (u8::from(e) << 6) | (hdr & 0x1f));
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

/// H.264 depacketizer (packetization-mode 0 and 1) writing Annex B.
#[derive(Debug, Default)]
pub struct H264Depacketizer {
    fu: FuReassembly,
    chain: KeyframeChain,
}

const FU_A: FuNames = FuNames {
    codec: "H.264",
    unfinished: "FU-A ended without its E fragment",
    start_inside: "FU-A start inside another FU-A",
    without_start: "FU-A fragment without its start",
    frame_ended: "frame ended inside a FU-A",
};

impl H264Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    fn info(payload: &[u8]) -> Result<PacketInfo, Error> {
        let &h = payload.first().ok_or(Error::Truncated {
            what: "H.264 NAL unit header",
            offset: 0,
            needed: 1,
            available: 0,
        })?;
        if h & 0x80 != 0 {
            return Err(Error::Invalid {
                what: "H.264 NAL unit header",
                offset: 0,
                reason: "forbidden_zero_bit set",
            });
        }
        let t = h & 0x1f;
        let mut info = H264Info {
            packet_type: t,
            ..H264Info::default()
        };
        let mut resolution = None;
        match t {
            1..=23 => info.add_nal(payload, &mut resolution),
            nal::STAP_A => {
                let mut it = StapUnits::new(payload, 1);
                while let Some(u) = it.next() {
                    info.add_nal(u?, &mut resolution);
                }
                if info.nal_type == 0 {
                    return Err(Error::Invalid {
                        what: "H.264 STAP-A",
                        offset: 1,
                        reason: "no aggregation unit, RFC 6184 §5.7.1",
                    });
                }
            }
            nal::FU_A => {
                let &fh = payload.get(1).ok_or(Error::Truncated {
                    what: "H.264 FU header",
                    offset: 1,
                    needed: 1,
                    available: 0,
                })?;
                let (s, e) = (fh & 0x80 != 0, fh & 0x40 != 0);
                if s && e {
                    return Err(Error::Invalid {
                        what: "H.264 FU header",
                        offset: 1,
                        reason: "FU-A with both S and E set, RFC 6184 §5.8",
                    });
                }
                if payload.len() < 3 {
                    return Err(Error::Truncated {
                        what: "H.264 FU-A payload",
                        offset: 2,
                        needed: 1,
                        available: 0,
                    });
                }
                let ft = fh & 0x1f;
                if ft == 0 || ft >= 24 {
                    return Err(Error::Invalid {
                        what: "H.264 FU header",
                        offset: 1,
                        reason: "fragmented NAL unit type must be 1..=23",
                    });
                }
                info.fu_start = s;
                info.fu_end = e;
                info.nal_type = ft;
                info.nal_ref_idc = (h >> 5) & 3;
                info.has_idr = ft == nal::IDR;
                info.has_sps = ft == nal::SPS;
                info.has_pps = ft == nal::PPS;
            }
            nal::STAP_B | nal::MTAP16 | nal::MTAP24 | nal::FU_B => {
                return Err(Error::Invalid {
                    what: "H.264 NAL unit header",
                    offset: 0,
                    reason: "interleaved-mode packet type (packetization-mode 2 is not supported)",
                });
            }
            _ => {
                return Err(Error::Invalid {
                    what: "H.264 NAL unit header",
                    offset: 0,
                    reason: "reserved NAL unit type 0/30/31",
                });
            }
        }
        Ok(PacketInfo {
            frame_start: None,
            frame_end: None,
            keyframe: info.has_idr || info.has_sps,
            resolution,
            codec: CodecInfo::H264(info),
            ..PacketInfo::default()
        })
    }
}

/// Aggregation units of a STAP-A (RFC 6184 §5.7.1): 16-bit size then the NAL unit.
struct StapUnits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> StapUnits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    fn next(&mut self) -> Option<Result<&'a [u8], Error>> {
        let rest = self.data.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let (size, body) = match aggregation_unit(rest) {
            Ok((_, (size, body))) => (size, body),
            Err(_) => {
                self.pos = self.data.len();
                return Some(Err(Error::Truncated {
                    what: "aggregation unit",
                    offset: self.pos.min(self.data.len()),
                    needed: 2,
                    available: rest.len(),
                }));
            }
        };
        let at = self.pos;
        if size == 0 {
            self.pos = self.data.len();
            return Some(Err(Error::Invalid {
                what: "aggregation unit",
                offset: at,
                reason: "zero NAL unit size",
            }));
        }
        self.pos = at + 2 + usize::from(size);
        Some(Ok(body))
    }
}

impl Depacketizer for H264Depacketizer {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        Self::info(payload)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let info = Self::info(payload)?;
        let CodecInfo::H264(h) = info.codec else {
            return Ok(info);
        };
        if h.packet_type != nal::FU_A {
            self.fu.interrupt(&FU_A)?;
        }
        match h.packet_type {
            nal::STAP_A => {
                let mut it = StapUnits::new(payload, 1);
                while let Some(u) = it.next() {
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(u?);
                }
            }
            nal::FU_A => {
                // The NAL unit header: F and NRI of the FU indicator, type of the FU header.
                let hdr = (payload.first().copied().unwrap_or(0) & 0xe0) | h.nal_type;
                let data = payload.get(2..).unwrap_or_default();
                let flags = (h.fu_start, h.fu_end);
                self.fu.push(&FU_A, flags, h.nal_type, &[hdr], data, out)?;
            }
            _ => {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload);
            }
        }
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        self.fu.finish(&FU_A)
    }

    fn reset(&mut self) {
        self.fu.reset();
    }

    /// Ors the NAL unit flags of every payload into the frame's [`H264Info`] (an IDR slice
    /// often follows a STAP-A of parameter sets).
    fn merge_info(&self, frame: &mut PacketInfo, packet: &PacketInfo) {
        merge_common(frame, packet);
        if let (CodecInfo::H264(f), CodecInfo::H264(p)) = (&mut frame.codec, &packet.codec) {
            f.has_sps |= p.has_sps;
            f.has_pps |= p.has_pps;
            f.has_idr |= p.has_idr;
            f.nal_ref_idc = f.nal_ref_idc.max(p.nal_ref_idc);
        }
    }

    /// An IDR picture is decodable; other pictures are when contiguous with a decodable chain
    /// since the last IDR (a lost frame breaks the chain until the next IDR).
    fn decodable(&mut self, frame: &PacketInfo, contiguous: bool) -> bool {
        let idr = match frame.codec {
            CodecInfo::H264(h) => h.has_idr || frame.keyframe,
            _ => frame.keyframe,
        };
        self.chain.decodable(idr, contiguous)
    }
}
