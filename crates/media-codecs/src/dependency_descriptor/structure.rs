//! The template dependency structure (AV1 RTP specification, Appendix A.8.2
//! `template_dependency_structure`): the templates, chains and render resolutions sent on
//! the first packet of a coded video sequence, and what it says about each decode target.

use super::fields::{ChainDiffs, Dti, Dtis, FrameDiffs};
use super::{MAX_DECODE_TARGETS, MAX_SPATIAL_LAYERS, MAX_TEMPLATES, WHAT};
use crate::payload::wire::{ns_len, BitReader, BitWriter};
use crate::Error;

/// One frame dependency template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrameTemplate {
    /// Spatial id.
    pub spatial_id: u8,
    /// Temporal id.
    pub temporal_id: u8,
    /// Decode target indications (DtCnt of them).
    pub dtis: Dtis,
    /// Frame differences (each 1..=16).
    pub fdiffs: FrameDiffs,
    /// Chain differences (chain_cnt of them, each 0..=15).
    pub chain_diffs: ChainDiffs,
}

/// The template dependency structure (A.8.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TemplateStructure {
    /// template_id_offset (0..=63).
    pub template_id_offset: u8,
    /// Number of decode targets (1..=32).
    pub decode_target_count: u8,
    /// Templates in order; spatial/temporal ids must follow the next_layer_idc rules (each
    /// template has the same ids as the previous, or temporal+1, or spatial+1 with temporal 0).
    pub templates: Vec<FrameTemplate>,
    /// Number of chains (0..=decode_target_count).
    pub chain_count: u8,
    /// decode_target_protected_by, one per decode target when chains are used.
    pub decode_target_protected_by: Vec<u8>,
    /// max render resolution (width, height) per spatial layer, when present.
    pub resolutions: Option<Vec<(u16, u16)>>,
}

impl TemplateStructure {
    /// (spatial id, temporal id) of decode target `dt` (A.8.2 decode_target_layers).
    pub fn decode_target_layers(&self, dt: usize) -> (u8, u8) {
        let mut s = 0;
        let mut t = 0;
        for tpl in &self.templates {
            if tpl.dtis.get(dt).is_some_and(|d| d != Dti::NotPresent) {
                s = s.max(tpl.spatial_id);
                t = t.max(tpl.temporal_id);
            }
        }
        (s, t)
    }

    pub(super) fn max_spatial_id(&self) -> u8 {
        self.templates.last().map_or(0, |t| t.spatial_id)
    }

    pub(super) fn parse(r: &mut BitReader<'_>) -> Option<Result<Self, Error>> {
        let template_id_offset = r.bits(6)? as u8;
        let dt_cnt = r.bits(5)? as u8 + 1;
        // template_layers()
        let mut templates: Vec<FrameTemplate> = Vec::new();
        let (mut s, mut t) = (0u8, 0u8);
        loop {
            if templates.len() >= MAX_TEMPLATES {
                return Some(Err(Error::Limit {
                    what: "dependency descriptor templates",
                    limit: MAX_TEMPLATES,
                }));
            }
            templates.push(FrameTemplate {
                spatial_id: s,
                temporal_id: t,
                dtis: Dtis::default(),
                fdiffs: FrameDiffs::default(),
                chain_diffs: ChainDiffs::default(),
            });
            match r.bits(2)? {
                0 => {}
                1 => t = t.saturating_add(1),
                2 => {
                    t = 0;
                    s = s.saturating_add(1);
                }
                _ => break,
            }
        }
        // template_dtis()
        for tpl in &mut templates {
            for _ in 0..dt_cnt {
                tpl.dtis.push(Dti::from_bits(r.bits(2)?));
            }
        }
        // template_fdiffs()
        for tpl in &mut templates {
            while r.bit()? {
                let d = r.bits(4)? as u16 + 1;
                if let Err(e) = tpl.fdiffs.push(d) {
                    return Some(Err(e));
                }
            }
        }
        // template_chains()
        let chain_count = r.ns(u32::from(dt_cnt) + 1)? as u8;
        let mut decode_target_protected_by = Vec::new();
        if chain_count > 0 {
            for _ in 0..dt_cnt {
                decode_target_protected_by.push(r.ns(u32::from(chain_count))? as u8);
            }
            for tpl in &mut templates {
                for _ in 0..chain_count {
                    tpl.chain_diffs.push(r.bits(4)? as u8);
                }
            }
        }
        // decode_target_layers() is derived on demand. render_resolutions():
        let mut resolutions = None;
        if r.bit()? {
            let max_s = usize::from(templates.last().map_or(0, |t| t.spatial_id));
            if max_s >= MAX_SPATIAL_LAYERS {
                return Some(Err(Error::Limit {
                    what: "dependency descriptor spatial layers",
                    limit: MAX_SPATIAL_LAYERS,
                }));
            }
            let mut v = Vec::with_capacity(max_s + 1);
            for _ in 0..=max_s {
                let w = r.bits(16)? as u16;
                let h = r.bits(16)? as u16;
                v.push((w.wrapping_add(1), h.wrapping_add(1)));
            }
            resolutions = Some(v);
        }
        Some(Ok(TemplateStructure {
            template_id_offset,
            decode_target_count: dt_cnt,
            templates,
            chain_count,
            decode_target_protected_by,
            resolutions,
        }))
    }

    pub(super) fn validate(&self) -> Result<(), Error> {
        let bad = |reason| {
            Err(Error::Invalid {
                what: WHAT,
                offset: 0,
                reason,
            })
        };
        if self.decode_target_count == 0
            || usize::from(self.decode_target_count) > MAX_DECODE_TARGETS
        {
            return bad("decode target count must be 1..=32");
        }
        if self.templates.is_empty()
            || self.templates.len() > MAX_TEMPLATES
            || self.template_id_offset > 63
        {
            return bad("1..=64 templates, offset 0..=63");
        }
        let mut prev: Option<(u8, u8)> = None;
        for t in &self.templates {
            if let Some((ps, pt)) = prev {
                let ok = (t.spatial_id == ps && (t.temporal_id == pt || t.temporal_id == pt + 1))
                    || (t.spatial_id == ps + 1 && t.temporal_id == 0);
                if !ok {
                    return bad("template layers must follow next_layer_idc (A.8.2)");
                }
            } else if t.spatial_id != 0 || t.temporal_id != 0 {
                return bad("first template must be spatial 0, temporal 0");
            }
            prev = Some((t.spatial_id, t.temporal_id));
            if t.dtis.len() != usize::from(self.decode_target_count)
                || t.chain_diffs.as_slice().len() != usize::from(self.chain_count)
                || t.fdiffs.as_slice().iter().any(|&d| d == 0 || d > 16)
                || t.chain_diffs.as_slice().iter().any(|&d| d > 15)
            {
                return bad("template fields do not match the structure's counts or ranges");
            }
        }
        if self.chain_count > self.decode_target_count
            || (self.chain_count > 0
                && (self.decode_target_protected_by.len() != usize::from(self.decode_target_count)
                    || self
                        .decode_target_protected_by
                        .iter()
                        .any(|&c| c >= self.chain_count)))
        {
            return bad("chains do not match the decode targets");
        }
        if let Some(r) = &self.resolutions {
            if r.len() != usize::from(self.max_spatial_id()) + 1
                || r.iter().any(|&(w, h)| w == 0 || h == 0)
            {
                return bad("one non-zero resolution per spatial layer");
            }
        }
        Ok(())
    }

    pub(super) fn write(&self, w: &mut BitWriter<'_>) {
        w.bits(u32::from(self.template_id_offset), 6);
        w.bits(u32::from(self.decode_target_count) - 1, 5);
        for (i, t) in self.templates.iter().enumerate() {
            let idc = match self.templates.get(i + 1) {
                None => 3,
                Some(n) if n.spatial_id == t.spatial_id && n.temporal_id == t.temporal_id => 0,
                Some(n) if n.spatial_id == t.spatial_id => 1,
                Some(_) => 2,
            };
            w.bits(idc, 2);
        }
        for t in &self.templates {
            for d in t.dtis.iter() {
                w.bits(d.bits(), 2);
            }
        }
        for t in &self.templates {
            for &d in t.fdiffs.as_slice() {
                w.bit(true);
                w.bits(u32::from(d) - 1, 4);
            }
            w.bit(false);
        }
        w.ns(
            u32::from(self.chain_count),
            u32::from(self.decode_target_count) + 1,
        );
        if self.chain_count > 0 {
            for &p in &self.decode_target_protected_by {
                w.ns(u32::from(p), u32::from(self.chain_count));
            }
            for t in &self.templates {
                for &c in t.chain_diffs.as_slice() {
                    w.bits(u32::from(c), 4);
                }
            }
        }
        w.bit(self.resolutions.is_some());
        if let Some(r) = &self.resolutions {
            for &(wd, ht) in r {
                w.bits(u32::from(wd) - 1, 16);
                w.bits(u32::from(ht) - 1, 16);
            }
        }
    }

    pub(super) fn bit_len(&self) -> usize {
        let dt = usize::from(self.decode_target_count);
        let mut n = 6 + 5 + 2 * self.templates.len() + 2 * dt * self.templates.len();
        for t in &self.templates {
            n += 5 * t.fdiffs.as_slice().len() + 1;
        }
        n += ns_len(
            u32::from(self.chain_count),
            u32::from(self.decode_target_count) + 1,
        ) as usize;
        if self.chain_count > 0 {
            for &p in &self.decode_target_protected_by {
                n += ns_len(u32::from(p), u32::from(self.chain_count)) as usize;
            }
            n += 4 * usize::from(self.chain_count) * self.templates.len();
        }
        n += 1 + self.resolutions.as_ref().map_or(0, |r| 32 * r.len());
        n
    }
}
