//! One packet's descriptor (AV1 RTP specification, Appendix A.8.1
//! `dependency_descriptor`: the mandatory fields and the extended ones), its parsing and
//! writing, and its resolution against a template structure into a [`FrameDependency`].

use std::sync::Arc;

use super::fields::{ChainDiffs, Dti, Dtis, FrameDiffs};
use super::structure::TemplateStructure;
use super::WHAT;
use crate::payload::wire::{BitReader, BitWriter};
use crate::Error;

/// One packet's Dependency Descriptor as carried on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyDescriptor {
    /// start_of_frame.
    pub start_of_frame: bool,
    /// end_of_frame.
    pub end_of_frame: bool,
    /// frame_dependency_template_id (0..=63).
    pub template_id: u8,
    /// frame_number.
    pub frame_number: u16,
    /// The template structure, when attached to this packet.
    pub structure: Option<Arc<TemplateStructure>>,
    /// active_decode_targets_bitmask, when present in this packet.
    pub active_decode_targets: Option<u32>,
    /// Custom decode target indications.
    pub custom_dtis: Option<Dtis>,
    /// Custom frame differences (each 1..=4096).
    pub custom_fdiffs: Option<FrameDiffs>,
    /// Custom chain differences.
    pub custom_chains: Option<ChainDiffs>,
}

/// A descriptor resolved against its template structure: the facts of the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FrameDependency {
    /// frame_number.
    pub frame_number: u16,
    /// start_of_frame.
    pub start_of_frame: bool,
    /// end_of_frame.
    pub end_of_frame: bool,
    /// Spatial id.
    pub spatial_id: u8,
    /// Temporal id.
    pub temporal_id: u8,
    /// Decode target indications.
    pub dtis: Dtis,
    /// Frames this frame refers to, as differences of frame_number.
    pub fdiffs: FrameDiffs,
    /// Previous frame in each chain, as differences of frame_number (0: none needed).
    pub chain_diffs: ChainDiffs,
    /// Active decode targets (bit i = decode target i).
    pub active_decode_targets: u32,
    /// Max render resolution of this spatial layer, when the structure has resolutions.
    pub resolution: Option<(u16, u16)>,
}

impl FrameDependency {
    /// frame_numbers of the referred frames (modulo 2^16).
    pub fn referred_frames(&self) -> impl Iterator<Item = u16> + '_ {
        self.fdiffs
            .as_slice()
            .iter()
            .map(move |&d| self.frame_number.wrapping_sub(d))
    }
}

impl DependencyDescriptor {
    /// Parses `data` (the extension's bytes) with `known` as the current template structure
    /// (ignored when the packet attaches its own). Returns the descriptor as sent.
    pub fn parse(data: &[u8], known: Option<&Arc<TemplateStructure>>) -> Result<Self, Error> {
        let mut r = BitReader::new(data);
        let trunc = |r: &BitReader<'_>| Error::Truncated {
            what: WHAT,
            offset: r.position() / 8,
            needed: 1,
            available: r.remaining() / 8,
        };
        if data.len() < 3 {
            return Err(Error::Truncated {
                what: WHAT,
                offset: 0,
                needed: 3,
                available: data.len(),
            });
        }
        let start_of_frame = r.bit().ok_or_else(|| trunc(&r))?;
        let end_of_frame = r.bit().ok_or_else(|| trunc(&r))?;
        let template_id = r.bits(6).ok_or_else(|| trunc(&r))? as u8;
        let frame_number = r.bits(16).ok_or_else(|| trunc(&r))? as u16;
        let mut d = DependencyDescriptor {
            start_of_frame,
            end_of_frame,
            template_id,
            frame_number,
            ..Default::default()
        };
        if data.len() == 3 {
            return Ok(d);
        }
        let flags = r.bits(5).ok_or_else(|| trunc(&r))?;
        let (has_structure, has_active, c_dtis, c_fdiffs, c_chains) = (
            flags & 16 != 0,
            flags & 8 != 0,
            flags & 4 != 0,
            flags & 2 != 0,
            flags & 1 != 0,
        );
        if has_structure {
            let s = TemplateStructure::parse(&mut r).ok_or_else(|| trunc(&r))??;
            d.structure = Some(Arc::new(s));
        }
        let structure = match (&d.structure, known) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(k)) => Some(k.clone()),
            (None, None) => None,
        };
        let needs_structure = has_active || c_dtis || c_chains;
        let s = match (&structure, needs_structure) {
            (Some(s), _) => Some(s),
            (None, true) => {
                return Err(Error::Invalid {
                    what: WHAT,
                    offset: 3,
                    reason: "custom fields without a template structure",
                })
            }
            (None, false) => None,
        };
        let dt_cnt = s.map_or(0, |s| s.decode_target_count);
        if has_active {
            d.active_decode_targets = Some(r.bits(u32::from(dt_cnt)).ok_or_else(|| trunc(&r))?);
        }
        if c_dtis {
            let mut x = Dtis::default();
            for _ in 0..dt_cnt {
                x.push(Dti::from_bits(r.bits(2).ok_or_else(|| trunc(&r))?));
            }
            d.custom_dtis = Some(x);
        }
        if c_fdiffs {
            let mut f = FrameDiffs::default();
            loop {
                let size = r.bits(2).ok_or_else(|| trunc(&r))?;
                if size == 0 {
                    break;
                }
                let v = r.bits(4 * size).ok_or_else(|| trunc(&r))? + 1;
                f.push(v as u16)?;
            }
            d.custom_fdiffs = Some(f);
        }
        if c_chains {
            let mut c = ChainDiffs::default();
            for _ in 0..s.map_or(0, |s| s.chain_count) {
                c.push(r.bits(8).ok_or_else(|| trunc(&r))? as u8);
            }
            d.custom_chains = Some(c);
        }
        Ok(d)
    }

    /// Resolves the descriptor against `structure` (the attached one or the last received).
    pub fn resolve(
        &self,
        structure: &TemplateStructure,
        active_decode_targets: u32,
    ) -> Result<FrameDependency, Error> {
        let idx =
            (usize::from(self.template_id) + 64 - usize::from(structure.template_id_offset)) % 64;
        let tpl = structure.templates.get(idx).ok_or(Error::Invalid {
            what: WHAT,
            offset: 0,
            reason: "frame_dependency_template_id outside the template structure",
        })?;
        Ok(FrameDependency {
            frame_number: self.frame_number,
            start_of_frame: self.start_of_frame,
            end_of_frame: self.end_of_frame,
            spatial_id: tpl.spatial_id,
            temporal_id: tpl.temporal_id,
            dtis: self.custom_dtis.unwrap_or(tpl.dtis),
            fdiffs: self.custom_fdiffs.unwrap_or(tpl.fdiffs),
            chain_diffs: self.custom_chains.unwrap_or(tpl.chain_diffs),
            active_decode_targets: self.active_decode_targets.unwrap_or(active_decode_targets),
            resolution: structure
                .resolutions
                .as_ref()
                .and_then(|r| r.get(usize::from(tpl.spatial_id)).copied()),
        })
    }

    /// The structure these fields are written against: the attached one, else `known`.
    fn structure_for<'a>(
        &'a self,
        known: Option<&'a TemplateStructure>,
    ) -> Option<&'a TemplateStructure> {
        self.structure.as_deref().or(known)
    }

    fn extended(&self) -> bool {
        self.structure.is_some()
            || self.active_decode_targets.is_some()
            || self.custom_dtis.is_some()
            || self.custom_fdiffs.is_some()
            || self.custom_chains.is_some()
    }

    /// Bytes [`DependencyDescriptor::write_to`] appends.
    pub fn encoded_len(&self, known: Option<&TemplateStructure>) -> usize {
        if !self.extended() {
            return 3;
        }
        let s = self.structure_for(known);
        let dt = s.map_or(0, |s| usize::from(s.decode_target_count));
        let mut bits = 24 + 5;
        bits += self.structure.as_ref().map_or(0, |s| s.bit_len());
        bits += if self.active_decode_targets.is_some() {
            dt
        } else {
            0
        };
        bits += if self.custom_dtis.is_some() {
            2 * dt
        } else {
            0
        };
        if let Some(f) = &self.custom_fdiffs {
            for &d in f.as_slice() {
                let v = u32::from(d) - 1;
                bits += 2 + 4 * fdiff_size(v) as usize;
            }
            bits += 2;
        }
        bits += if self.custom_chains.is_some() {
            8 * s.map_or(0, |s| usize::from(s.chain_count))
        } else {
            0
        };
        bits.div_ceil(8)
    }

    /// Appends the descriptor; `known` is the structure in force when this packet does not
    /// attach one. Fails when the fields do not fit the structure.
    pub fn write_to(
        &self,
        known: Option<&TemplateStructure>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let bad = |reason| {
            Err(Error::Invalid {
                what: WHAT,
                offset: 0,
                reason,
            })
        };
        if self.template_id > 63 {
            return bad("template id is 6 bits");
        }
        if let Some(s) = &self.structure {
            s.validate()?;
        }
        let s = self.structure_for(known);
        let dt = s.map_or(0, |s| s.decode_target_count);
        if self.extended()
            && s.is_none()
            && (self.active_decode_targets.is_some()
                || self.custom_dtis.is_some()
                || self.custom_chains.is_some())
        {
            return bad("custom fields need a template structure");
        }
        if self.custom_dtis.is_some_and(|d| d.len() != usize::from(dt))
            || self
                .custom_chains
                .is_some_and(|c| c.as_slice().len() != s.map_or(0, |s| usize::from(s.chain_count)))
        {
            return bad("custom fields do not match the structure's counts");
        }
        let len = self.encoded_len(known);
        let start = out.len();
        let mut w = BitWriter::new(out);
        w.bit(self.start_of_frame);
        w.bit(self.end_of_frame);
        w.bits(u32::from(self.template_id), 6);
        w.bits(u32::from(self.frame_number), 16);
        if self.extended() {
            w.bit(self.structure.is_some());
            w.bit(self.active_decode_targets.is_some());
            w.bit(self.custom_dtis.is_some());
            w.bit(self.custom_fdiffs.is_some());
            w.bit(self.custom_chains.is_some());
            if let Some(st) = &self.structure {
                st.write(&mut w);
            }
            if let Some(a) = self.active_decode_targets {
                w.bits(a, u32::from(dt));
            }
            if let Some(d) = &self.custom_dtis {
                for x in d.iter() {
                    w.bits(x.bits(), 2);
                }
            }
            if let Some(f) = &self.custom_fdiffs {
                for &d in f.as_slice() {
                    let v = u32::from(d).saturating_sub(1);
                    let size = fdiff_size(v);
                    w.bits(size, 2);
                    w.bits(v, 4 * size);
                }
                w.bits(0, 2);
            }
            if let Some(c) = &self.custom_chains {
                for &x in c.as_slice() {
                    w.bits(u32::from(x), 8);
                }
            }
        }
        // zero_padding up to the byte length.
        out.resize(start + len, 0);
        Ok(())
    }
}

/// next_fdiff_size for fdiff_minus_one `v` (4, 8 or 12 bits).
fn fdiff_size(v: u32) -> u32 {
    if v < 16 {
        1
    } else if v < 256 {
        2
    } else {
        3
    }
}
