//! What the two NAL-unit payload formats share, H.264 (RFC 6184) and H.265 (RFC 7798):
//! the aggregation unit's size-prefixed NAL unit, the reassembly of a fragmented NAL unit
//! into Annex B, and the parameter sets a packetizer repeats before a random-access picture.
//! The formats differ in their header layouts, which stay in `h264` and `h265`.

use bytes::Bytes;

use crate::container::annexb::START_CODE;
use crate::Error;

/// `NALU size (16) | NALU` (RFC 6184 Figure 7, RFC 7798 Figure 8 without DONL).
pub(crate) fn aggregation_unit(input: &[u8]) -> crate::payload::wire::NomResult<'_, (u16, &[u8])> {
    use nom::Parser;
    nom::number::complete::be_u16
        .flat_map(|n| nom::combinator::map(nom::bytes::complete::take(n), move |b| (n, b)))
        .parse(input)
}

/// How one format names its fragmentation unit in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FuNames {
    /// "H.264" or "H.265".
    pub(crate) codec: &'static str,
    /// A packet other than a fragment arrived before the end fragment.
    pub(crate) unfinished: &'static str,
    /// A start fragment arrived inside another fragmented unit.
    pub(crate) start_inside: &'static str,
    /// A fragment arrived without its start (or of another NAL unit type).
    pub(crate) without_start: &'static str,
    /// The frame ended inside a fragmented unit.
    pub(crate) frame_ended: &'static str,
}

/// Reassembly of one fragmented NAL unit (FU-A, RFC 6184 §5.8; FU, RFC 7798 §4.4.3): the
/// start fragment writes a start code and the NAL unit header rebuilt from the payload
/// header and the FU header, every fragment appends its bytes, the end fragment closes it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FuReassembly {
    /// A fragmented unit is open.
    active: bool,
    /// Its NAL unit type.
    nal_type: u8,
}

impl FuReassembly {
    /// A packet that is not a fragment arrived: a unit still open is lost.
    pub(crate) fn interrupt(&mut self, names: &FuNames) -> Result<(), Error> {
        self.close_with(names.unfinished, names)
    }

    /// Appends one fragment of a NAL unit of type `nal_type`; `header` is the rebuilt NAL
    /// unit header, written after a start code when `start` is set.
    pub(crate) fn push(
        &mut self,
        names: &FuNames,
        (start, end): (bool, bool),
        nal_type: u8,
        header: &[u8],
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if start {
            if self.active {
                self.active = false;
                return Err(discontinuity(names, names.start_inside));
            }
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(header);
            self.active = true;
            self.nal_type = nal_type;
        } else if !self.active || self.nal_type != nal_type {
            self.active = false;
            return Err(discontinuity(names, names.without_start));
        }
        out.extend_from_slice(data);
        if end {
            self.active = false;
        }
        Ok(())
    }

    /// The frame ends: a unit still open is an error.
    pub(crate) fn finish(&mut self, names: &FuNames) -> Result<(), Error> {
        self.close_with(names.frame_ended, names)
    }

    /// Forgets a unit still open.
    pub(crate) fn reset(&mut self) {
        self.active = false;
    }

    fn close_with(&mut self, reason: &'static str, names: &FuNames) -> Result<(), Error> {
        if std::mem::take(&mut self.active) {
            Err(discontinuity(names, reason))
        } else {
            Ok(())
        }
    }
}

fn discontinuity(names: &FuNames, reason: &'static str) -> Error {
    Error::Discontinuity {
        codec: names.codec,
        reason,
    }
}

/// The last parameter sets a packetizer saw (H.264 SPS and PPS; H.265 VPS, SPS and PPS),
/// sent again before a random-access picture whose frame lacks them (RFC 6184 §8.4, RFC
/// 7798 §7.2: a receiver joining late needs them).
#[derive(Debug, Clone)]
pub(crate) struct ParameterSets<const N: usize> {
    /// The last of each kind, in decoding order.
    last: [Option<Bytes>; N],
    /// Which of them the current frame carried.
    seen: [bool; N],
}

impl<const N: usize> Default for ParameterSets<N> {
    fn default() -> Self {
        Self {
            last: std::array::from_fn(|_| None),
            seen: [false; N],
        }
    }
}

impl<const N: usize> ParameterSets<N> {
    /// Sets kind `i` out of band (e.g. from `sprop-parameter-sets`).
    pub(crate) fn set(&mut self, i: usize, unit: Bytes) {
        if let Some(slot) = self.last.get_mut(i) {
            *slot = Some(unit);
        }
    }

    /// A new frame starts: none of its parameter sets seen yet.
    pub(crate) fn begin_frame(&mut self) {
        self.seen = [false; N];
    }

    /// The frame carries parameter set kind `i`; it replaces the remembered one.
    pub(crate) fn saw(&mut self, i: usize, unit: &Bytes) {
        if let Some(s) = self.seen.get_mut(i) {
            *s = true;
        }
        self.set(i, unit.clone());
    }

    /// A random-access picture follows: when the frame lacks some parameter sets and all are
    /// known, appends the missing ones to `units` (before the picture).
    pub(crate) fn before_random_access(&mut self, units: &mut Vec<Bytes>) {
        if self.seen.iter().all(|&s| s) {
            return;
        }
        if self.last.iter().all(Option::is_some) {
            for (unit, seen) in self.last.iter().zip(self.seen) {
                if let (Some(u), false) = (unit, seen) {
                    units.push(u.clone());
                }
            }
        }
        self.seen = [true; N];
    }
}
