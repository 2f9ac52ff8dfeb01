//! The VP9 scalability structure, RFC 9628 §4.2.1 (Figure 4).

use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

use crate::payload::wire::{nom_error, NomResult};
use crate::Error;

/// One picture of a picture group (§4.2.1): TID, U and its P_DIFFs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PictureGroupEntry {
    /// Temporal layer id.
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// P_DIFFs (each 1..=255 here, R up to 3).
    pub p_diffs: [u8; 3],
    /// Number of P_DIFFs (R).
    pub count: u8,
}

impl PictureGroupEntry {
    /// The P_DIFFs.
    pub fn p_diffs(&self) -> &[u8] {
        self.p_diffs
            .get(..usize::from(self.count))
            .unwrap_or_default()
    }
}

/// The scalability structure, RFC 9628 §4.2.1 (Figure 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScalabilityStructure {
    /// N_S + 1: number of spatial layers (1..=8).
    pub spatial_layers: u8,
    /// Y: (width, height) per spatial layer.
    pub resolutions: Option<Vec<(u16, u16)>>,
    /// G: the picture group (N_G pictures; empty with G=1 and N_G=0).
    pub picture_group: Option<Vec<PictureGroupEntry>>,
}

impl ScalabilityStructure {
    /// Parses an SS at the start of `data`; returns it and its length.
    pub fn parse(data: &[u8]) -> Result<(Self, usize), Error> {
        ss(data)
            .map(|(rest, s)| (s, data.len() - rest.len()))
            .map_err(|e| nom_error("VP9 scalability structure", data, e))
    }

    /// Length of the SS at the start of `data`, without allocating.
    pub(super) fn encoded_len_at(data: &[u8]) -> Result<usize, Error> {
        let t = |offset: usize| Error::Truncated {
            what: "VP9 scalability structure",
            offset,
            needed: 1,
            available: data.len().saturating_sub(offset),
        };
        let &h = data.first().ok_or(t(0))?;
        let ns = usize::from(h >> 5) + 1;
        let mut pos = 1;
        if h & 0x10 != 0 {
            pos += 4 * ns;
        }
        if h & 0x08 != 0 {
            let &ng = data.get(pos).ok_or(t(pos))?;
            pos += 1;
            for _ in 0..ng {
                let &e = data.get(pos).ok_or(t(pos))?;
                pos += 1 + usize::from((e >> 2) & 3);
            }
        }
        if pos > data.len() {
            return Err(t(data.len()));
        }
        Ok(pos)
    }

    /// Bytes [`ScalabilityStructure::write_to`] appends.
    pub fn encoded_len(&self) -> usize {
        1 + self.resolutions.as_ref().map_or(0, |r| 4 * r.len())
            + self.picture_group.as_ref().map_or(0, |g| {
                1 + g.iter().map(|e| 1 + usize::from(e.count)).sum::<usize>()
            })
    }

    /// Appends the SS. Fails when the counts do not fit the fields.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let bad = |reason| {
            Err(Error::Invalid {
                what: "VP9 scalability structure",
                offset: 0,
                reason,
            })
        };
        if !(1..=8).contains(&self.spatial_layers) {
            return bad("1..=8 spatial layers");
        }
        if self
            .resolutions
            .as_ref()
            .is_some_and(|r| r.len() != usize::from(self.spatial_layers))
        {
            return bad("one resolution per spatial layer");
        }
        if self
            .picture_group
            .as_ref()
            .is_some_and(|g| g.len() > 255 || g.iter().any(|e| e.count > 3 || e.tid > 7))
        {
            return bad("at most 255 pictures, 3 P_DIFFs each, TID 0..=7");
        }
        out.push(
            ((self.spatial_layers - 1) << 5)
                | (u8::from(self.resolutions.is_some()) << 4)
                | (u8::from(self.picture_group.is_some()) << 3),
        );
        if let Some(r) = &self.resolutions {
            for &(w, h) in r {
                out.extend_from_slice(&w.to_be_bytes());
                out.extend_from_slice(&h.to_be_bytes());
            }
        }
        if let Some(g) = &self.picture_group {
            out.push(g.len() as u8);
            for e in g {
                out.push((e.tid << 5) | (u8::from(e.switching_up) << 4) | (e.count << 2));
                out.extend_from_slice(e.p_diffs());
            }
        }
        Ok(())
    }
}

/// The SS grammar of RFC 9628 Figure 4.
fn ss(input: &[u8]) -> NomResult<'_, ScalabilityStructure> {
    let (mut i, h) = be_u8(input)?;
    let n = (h >> 5) + 1;
    let mut resolutions = None;
    if h & 0x10 != 0 {
        let mut v = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let (rest, (w, hh)) = (be_u16, be_u16).parse(i)?;
            i = rest;
            v.push((w, hh));
        }
        resolutions = Some(v);
    }
    let mut picture_group = None;
    if h & 0x08 != 0 {
        let (rest, ng) = be_u8(i)?;
        i = rest;
        let mut v = Vec::with_capacity(usize::from(ng));
        for _ in 0..ng {
            let (rest, e) = be_u8(i)?;
            i = rest;
            let count = (e >> 2) & 3;
            let mut entry = PictureGroupEntry {
                tid: e >> 5,
                switching_up: e & 0x10 != 0,
                p_diffs: [0; 3],
                count,
            };
            for slot in entry.p_diffs.iter_mut().take(usize::from(count)) {
                let (rest, d) = be_u8(i)?;
                i = rest;
                *slot = d;
            }
            v.push(entry);
        }
        picture_group = Some(v);
    }
    Ok((
        i,
        ScalabilityStructure {
            spatial_layers: n,
            resolutions,
            picture_group,
        },
    ))
}
