//! H.264 / H.265 Annex B elementary streams: NAL units behind start codes, split into access
//! units.
//!
//! A NAL unit runs from after a start code (`00 00 01`, optionally behind more zero bytes) to
//! the next start code; trailing zero bytes before a start code are `trailing_zero_8bits`, not
//! part of it (H.264 B.1.1 / H.265 B.2.1).
//!
//! Access unit boundaries (the first-picture detection of H.264 §7.4.1.2.3 and H.265
//! §7.4.2.4.4, simplified to what one-layer streams need): once the current access unit holds a
//! VCL NAL unit, a new one starts at
//! - H.264: an access unit delimiter (9), SPS (7), PPS (8), SEI (6), types 14-18, or a slice
//!   (1, 5) whose `first_mb_in_slice` is 0 (its first bit is 1: ue(v) value 0);
//! - H.265: AUD (35), VPS (32), SPS (33), PPS (34), prefix SEI (39), types 41-44 and 48-55, or a
//!   VCL unit (0-31) with `first_slice_segment_in_pic_flag` set.
//!
//! End of sequence/stream, filler data and suffix SEI stay in the access unit they follow.

use bytes::Bytes;
use memchr::memmem;

use crate::Error;

/// The 4-byte start code (`00 00 00 01`) written before every NAL unit.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Which syntax the NAL unit headers follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalSyntax {
    /// H.264: one header byte, type in the low 5 bits.
    H264,
    /// H.265: two header bytes, type in bits 1-6 of the first.
    H265,
}

/// Finds the next start code at or after `from`: returns (offset of the first zero of the start
/// code including leading zeros, offset of the NAL unit after it).
fn next_start_code(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let rel = memchr::memmem::find(data.get(from..)?, &[0, 0, 1])?;
    let pos = from + rel;
    // Include leading zero bytes (zero_byte / trailing_zero_8bits) in the start code.
    let mut begin = pos;
    while begin > from && data.get(begin - 1) == Some(&0) {
        begin -= 1;
    }
    Some((begin, pos + 3))
}

/// Iterator over the NAL units of an Annex B byte stream (H.264 / H.265 Annex B): the bytes
/// between start codes, without the start codes and without trailing zero bytes. Bytes before
/// the first start code are skipped.
#[derive(Debug, Clone)]
pub struct AnnexBNals<'a> {
    data: &'a [u8],
    /// Position just after the current start code, or `None` when done.
    pos: Option<usize>,
    finder: memmem::Finder<'static>,
}

impl<'a> AnnexBNals<'a> {
    /// Iterates over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let finder = memmem::Finder::new(&[0u8, 0, 1]).into_owned();
        let pos = finder.find(data).map(|p| p + 3);
        Self { data, pos, finder }
    }

    /// Next NAL unit as a range of the input.
    pub fn next_range(&mut self) -> Option<std::ops::Range<usize>> {
        loop {
            let start = self.pos?;
            let rest = self.data.get(start..)?;
            let (mut end, next) = match self.finder.find(rest) {
                Some(p) => (start + p, Some(start + p + 3)),
                None => (self.data.len(), None),
            };
            self.pos = next;
            // Trailing zeros belong to the next start code (zero_byte) or are trailing_zero_8bits.
            while end > start && self.data.get(end - 1) == Some(&0) {
                end -= 1;
            }
            if end > start {
                return Some(start..end);
            }
        }
    }
}

impl<'a> Iterator for AnnexBNals<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.next_range()?;
        self.data.get(r)
    }
}

/// Iterates over the NAL units of an Annex B buffer (without start codes or trailing zeros).
#[derive(Debug, Clone)]
pub struct NalUnits<'a>(AnnexBNals<'a>);

/// The NAL units of `data`; bytes before the first start code are skipped.
pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
    NalUnits(AnnexBNals::new(data))
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.next()
    }
}

/// Type of a NAL unit.
pub fn nal_type(syntax: NalSyntax, nal: &[u8]) -> Option<u8> {
    let b = *nal.first()?;
    Some(match syntax {
        NalSyntax::H264 => b & 0x1f,
        NalSyntax::H265 => (b >> 1) & 0x3f,
    })
}

fn is_vcl(syntax: NalSyntax, t: u8) -> bool {
    match syntax {
        NalSyntax::H264 => (1..=5).contains(&t),
        NalSyntax::H265 => t <= 31,
    }
}

/// Whether this NAL unit begins a new access unit when the current one already has a VCL unit.
fn starts_access_unit(syntax: NalSyntax, nal: &[u8]) -> bool {
    let Some(t) = nal_type(syntax, nal) else {
        return false;
    };
    match syntax {
        NalSyntax::H264 => match t {
            6..=9 | 14..=18 => true,
            // first_mb_in_slice == 0: ue(v) of value 0 is a single 1 bit.
            1 | 5 => nal.get(1).is_some_and(|b| b & 0x80 != 0),
            _ => false,
        },
        NalSyntax::H265 => match t {
            32..=35 | 39 | 41..=44 | 48..=55 => true,
            0..=31 => nal.get(2).is_some_and(|b| b & 0x80 != 0),
            _ => false,
        },
    }
}

/// Splits an Annex B stream held in memory into access units (zero-copy slices that keep the
/// start codes as they are in the file).
#[derive(Debug, Clone)]
pub struct AccessUnits {
    data: Bytes,
    syntax: NalSyntax,
    /// Offset of the next NAL unit's start code.
    pos: Option<usize>,
    max_au: usize,
    failed: bool,
}

impl AccessUnits {
    /// Access units of `data`; an access unit larger than `max_au` bytes is an error.
    pub fn new(data: Bytes, syntax: NalSyntax, max_au: usize) -> Self {
        let pos = next_start_code(&data, 0).map(|(b, _)| b);
        AccessUnits {
            data,
            syntax,
            pos,
            max_au,
            failed: false,
        }
    }

    /// The next access unit.
    pub fn next_access_unit(&mut self) -> Option<Result<Bytes, Error>> {
        if self.failed {
            return None;
        }
        let au_start = self.pos?;
        let mut seen_vcl = false;
        let mut cursor = au_start;
        while let Some((_, nal_start)) = next_start_code(&self.data, cursor) {
            let next = next_start_code(&self.data, nal_start);
            let nal_end = next.map_or(self.data.len(), |(b, _)| b);
            let nal = self.data.get(nal_start..nal_end).unwrap_or(&[]);
            if seen_vcl && starts_access_unit(self.syntax, nal) {
                self.pos = Some(cursor);
                return Some(self.cut(au_start, cursor));
            }
            if nal_type(self.syntax, nal).is_some_and(|t| is_vcl(self.syntax, t)) {
                seen_vcl = true;
            }
            match next {
                Some((b, _)) => cursor = b,
                None => {
                    cursor = self.data.len();
                    break;
                }
            }
        }
        self.pos = None;
        Some(self.cut(au_start, cursor))
    }

    fn cut(&mut self, start: usize, end: usize) -> Result<Bytes, Error> {
        if end - start > self.max_au {
            self.failed = true;
            return Err(Error::Limit {
                what: "Annex B access unit size",
                limit: self.max_au,
            });
        }
        Ok(self.data.slice(start..end))
    }
}

impl Iterator for AccessUnits {
    type Item = Result<Bytes, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_access_unit()
    }
}

/// Writes NAL units as Annex B with 4-byte start codes.
pub fn write_nal_units<'a>(nals: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for n in nals {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(n);
    }
}
