//! The Dependency Descriptor RTP header extension (AV1 RTP payload specification, Appendix A):
//! what an SFU reads to forward by layer, decode target and chain without looking at the media.
//!
//! - [`TemplateStructure`]: the template dependency structure (A.8.2
//!   `template_dependency_structure`), sent on the first packet of a coded video sequence.
//! - [`DependencyDescriptor`]: one packet's descriptor as sent (template id, custom fields).
//! - [`DependencyDescriptorParser`]: stateful; remembers the last template structure and the
//!   active decode targets and resolves each descriptor into a [`FrameDependency`].
//!
//! Parsing never allocates except to store a newly received template structure.

use std::sync::Arc;

use crate::payload::wire::{ns_len, BitReader, BitWriter};
use crate::Error;

/// Most decode targets (`dt_cnt_minus_one` is 5 bits).
pub const MAX_DECODE_TARGETS: usize = 32;
/// Most templates (`frame_dependency_template_id` is 6 bits).
pub const MAX_TEMPLATES: usize = 64;
/// Most frame differences per frame kept (AV1 frames reference at most 7 frames,
/// REFS_PER_FRAME); more is an [`Error::Limit`].
pub const MAX_FDIFFS: usize = 8;
/// Most spatial layers described by render resolutions.
pub const MAX_SPATIAL_LAYERS: usize = 4;

const WHAT: &str = "dependency descriptor";

/// Decode target indication, Table A.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dti {
    /// 0: no payload for this decode target.
    NotPresent,
    /// 1: present and discardable.
    Discardable,
    /// 2: present, switch possible.
    Switch,
    /// 3: present, required.
    Required,
}

impl Dti {
    fn from_bits(v: u32) -> Self {
        match v & 3 {
            0 => Dti::NotPresent,
            1 => Dti::Discardable,
            2 => Dti::Switch,
            _ => Dti::Required,
        }
    }

    fn bits(self) -> u32 {
        self as u32
    }
}

/// Decode target indications of one frame or template: 2 bits per decode target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Dtis {
    packed: u64,
    len: u8,
}

impl Dtis {
    /// From a list (at most [`MAX_DECODE_TARGETS`]; the rest is ignored).
    pub fn from_slice(dtis: &[Dti]) -> Self {
        let mut d = Dtis::default();
        for &x in dtis.iter().take(MAX_DECODE_TARGETS) {
            d.push(x);
        }
        d
    }

    fn push(&mut self, d: Dti) {
        if usize::from(self.len) < MAX_DECODE_TARGETS {
            self.packed |= u64::from(d.bits()) << (2 * u32::from(self.len));
            self.len += 1;
        }
    }

    /// Number of decode targets.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// No decode target.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Indication for decode target `i`.
    pub fn get(&self, i: usize) -> Option<Dti> {
        (i < self.len()).then(|| Dti::from_bits((self.packed >> (2 * i)) as u32))
    }

    /// All indications in order.
    pub fn iter(&self) -> impl Iterator<Item = Dti> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Frame differences (frame_number minus the referred frame's), at most [`MAX_FDIFFS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FrameDiffs {
    diffs: [u16; MAX_FDIFFS],
    len: u8,
}

impl FrameDiffs {
    /// From a list; `None` when longer than [`MAX_FDIFFS`] or holding a zero.
    pub fn from_slice(d: &[u16]) -> Option<Self> {
        let mut f = FrameDiffs::default();
        for &x in d {
            if x == 0 {
                return None;
            }
            f.push(x).ok()?;
        }
        Some(f)
    }

    fn push(&mut self, d: u16) -> Result<(), Error> {
        let slot = self
            .diffs
            .get_mut(usize::from(self.len))
            .ok_or(Error::Limit {
                what: "frame differences per frame",
                limit: MAX_FDIFFS,
            })?;
        *slot = d;
        self.len += 1;
        Ok(())
    }

    /// The differences.
    pub fn as_slice(&self) -> &[u16] {
        self.diffs.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// Chain frame differences (frame_chain_fdiff), one per chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChainDiffs {
    diffs: [u8; MAX_DECODE_TARGETS],
    len: u8,
}

impl ChainDiffs {
    /// From a list (at most [`MAX_DECODE_TARGETS`]; the rest is ignored).
    pub fn from_slice(d: &[u8]) -> Self {
        let mut c = ChainDiffs::default();
        for &x in d.iter().take(MAX_DECODE_TARGETS) {
            c.push(x);
        }
        c
    }

    fn push(&mut self, d: u8) {
        if let Some(slot) = self.diffs.get_mut(usize::from(self.len)) {
            *slot = d;
            self.len += 1;
        }
    }

    /// The differences.
    pub fn as_slice(&self) -> &[u8] {
        self.diffs.get(..usize::from(self.len)).unwrap_or_default()
    }
}

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

    fn max_spatial_id(&self) -> u8 {
        self.templates.last().map_or(0, |t| t.spatial_id)
    }

    fn parse(r: &mut BitReader<'_>) -> Option<Result<Self, Error>> {
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

    fn validate(&self) -> Result<(), Error> {
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

    fn write(&self, w: &mut BitWriter<'_>) {
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

    fn bit_len(&self) -> usize {
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

fn all_targets(dt_cnt: u8) -> u32 {
    if dt_cnt >= 32 {
        u32::MAX
    } else {
        (1u32 << dt_cnt) - 1
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

/// Stateful Dependency Descriptor reader: remembers the last template structure and the
/// active decode targets (A.8.3), so descriptors of later packets can be resolved.
#[derive(Debug, Clone, Default)]
pub struct DependencyDescriptorParser {
    structure: Option<Arc<TemplateStructure>>,
    active_decode_targets: u32,
}

impl DependencyDescriptorParser {
    /// A parser that has seen no structure yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The template structure in force.
    pub fn structure(&self) -> Option<&Arc<TemplateStructure>> {
        self.structure.as_ref()
    }

    /// Parses one packet's descriptor and resolves it. A packet attaching a structure replaces
    /// the remembered one and resets the active decode targets to all (A.8.2).
    pub fn parse(&mut self, data: &[u8]) -> Result<(DependencyDescriptor, FrameDependency), Error> {
        let d = DependencyDescriptor::parse(data, self.structure.as_ref())?;
        if let Some(s) = &d.structure {
            s.validate()?;
            self.structure = Some(s.clone());
            self.active_decode_targets = all_targets(s.decode_target_count);
        }
        let s = self.structure.as_ref().ok_or(Error::Invalid {
            what: WHAT,
            offset: 0,
            reason: "no template structure received yet",
        })?;
        let f = d.resolve(s, self.active_decode_targets)?;
        if let Some(a) = d.active_decode_targets {
            self.active_decode_targets = a;
        }
        Ok((d, f))
    }
}
