//! The per-frame fields a descriptor or a template carries (AV1 RTP specification,
//! Appendix A.8): decode target indications (Table A.1), frame differences (fdiff) and
//! chain frame differences (frame_chain_fdiff), each kept inline without allocating.

use super::{MAX_DECODE_TARGETS, MAX_FDIFFS};
use crate::Error;

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
    pub(super) fn from_bits(v: u32) -> Self {
        match v & 3 {
            0 => Dti::NotPresent,
            1 => Dti::Discardable,
            2 => Dti::Switch,
            _ => Dti::Required,
        }
    }

    pub(super) fn bits(self) -> u32 {
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

    pub(super) fn push(&mut self, d: Dti) {
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

    pub(super) fn push(&mut self, d: u16) -> Result<(), Error> {
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

    pub(super) fn push(&mut self, d: u8) {
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
