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

mod descriptor;
mod fields;
mod structure;

use std::sync::Arc;

pub use descriptor::{DependencyDescriptor, FrameDependency};
pub use fields::{ChainDiffs, Dti, Dtis, FrameDiffs};
pub use structure::{FrameTemplate, TemplateStructure};

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

fn all_targets(dt_cnt: u8) -> u32 {
    if dt_cnt >= 32 {
        u32::MAX
    } else {
        (1u32 << dt_cnt) - 1
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
