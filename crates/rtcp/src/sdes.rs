//! Source description (SDES, PT 202, RFC 3550 §6.5): chunks of items per source.

use bytes::{BufMut, Bytes};
use smallvec::SmallVec;

use crate::wire::{pad4, Body};
use crate::Error;

/// PT of SDES.
pub const PT_SDES: u8 = 202;

/// SDES item types (RFC 3550 §6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdesItemType {
    /// CNAME (1): canonical end-point identifier.
    Cname,
    /// NAME (2).
    Name,
    /// EMAIL (3).
    Email,
    /// PHONE (4).
    Phone,
    /// LOC (5).
    Loc,
    /// TOOL (6).
    Tool,
    /// NOTE (7).
    Note,
    /// PRIV (8): the value is a prefix length, prefix and value (RFC 3550 §6.5.8).
    Priv,
    /// Any other type (9..=255; 0 ends the item list and is never an item).
    Other(u8),
}

impl SdesItemType {
    /// From the wire value (not 0).
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Cname,
            2 => Self::Name,
            3 => Self::Email,
            4 => Self::Phone,
            5 => Self::Loc,
            6 => Self::Tool,
            7 => Self::Note,
            8 => Self::Priv,
            o => Self::Other(o),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Cname => 1,
            Self::Name => 2,
            Self::Email => 3,
            Self::Phone => 4,
            Self::Loc => 5,
            Self::Tool => 6,
            Self::Note => 7,
            Self::Priv => 8,
            Self::Other(o) => o,
        }
    }
}

/// One SDES item: a type and up to 255 bytes of value (zero-copy).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SdesItem {
    /// The type.
    pub item_type: SdesItemType,
    /// The value; for PRIV, the raw prefix-length/prefix/value bytes.
    pub value: Bytes,
}

impl SdesItem {
    /// A CNAME item.
    pub fn cname(value: impl Into<Bytes>) -> Self {
        Self {
            item_type: SdesItemType::Cname,
            value: value.into(),
        }
    }

    /// For a PRIV item: (prefix, value).
    pub fn priv_parts(&self) -> Option<(&[u8], &[u8])> {
        if self.item_type != SdesItemType::Priv {
            return None;
        }
        let (&n, rest) = self.value.split_first()?;
        let n = usize::from(n);
        Some((rest.get(..n)?, rest.get(n..)?))
    }
}

/// The items of one chunk: one (the CNAME, all a browser sends) is stored inline, so parsing
/// does not allocate for it. Derefs to a slice; build with `vec![..].into()` or `collect()`.
pub type SdesItems = SmallVec<[SdesItem; 1]>;

/// The chunks of an SDES packet: one (the sender's own) is stored inline.
pub type SdesChunks = SmallVec<[SdesChunk; 1]>;

/// The items of one source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SdesChunk {
    /// The source (SSRC or CSRC).
    pub ssrc: u32,
    /// Its items (values longer than 255 bytes are cut when written).
    pub items: SdesItems,
}

impl SdesChunk {
    fn len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len().min(255)).sum();
        // At least one null octet ends the list, then padding to 32 bits.
        let n = 4 + items + 1;
        n + pad4(n)
    }

    /// The CNAME, if present.
    pub fn cname(&self) -> Option<&Bytes> {
        self.items
            .iter()
            .find(|i| i.item_type == SdesItemType::Cname)
            .map(|i| &i.value)
    }
}

/// An SDES packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sdes {
    /// Chunks (at most 31 are written).
    pub chunks: SdesChunks,
}

impl Sdes {
    #[inline]
    pub(crate) fn parse(r: &mut Body<'_>, count: u8) -> Result<Self, Error> {
        let mut chunks = SdesChunks::with_capacity(usize::from(count));
        for _ in 0..count {
            let start = r.remaining();
            let ssrc = r.u32("SDES chunk SSRC")?;
            let mut items = SdesItems::new();
            loop {
                let t = r.u8("SDES item type")?;
                if t == 0 {
                    break;
                }
                let len = r.u8("SDES item length")?;
                let value = r.bytes(usize::from(len), "SDES item value")?;
                items.push(SdesItem {
                    item_type: SdesItemType::from_u8(t),
                    value,
                });
            }
            // Skip the padding up to the next 32-bit boundary. RFC 3550 §6.5 says null octets,
            // but some stacks (webrtc-rs) end it with a count like RTCP padding: accept any.
            let used = start - r.remaining();
            r.skip(pad4(used), "SDES chunk padding")?;
            chunks.push(SdesChunk { ssrc, items });
        }
        if r.remaining() != 0 {
            return Err(r.invalid("SDES", "bytes left after the chunks the count announces"));
        }
        Ok(Self { chunks })
    }

    pub(crate) fn count(&self) -> u8 {
        self.chunks.len().min(31) as u8
    }

    pub(crate) fn body_len(&self) -> usize {
        self.chunks.iter().take(31).map(SdesChunk::len).sum()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        for c in self.chunks.iter().take(31) {
            out.put_u32(c.ssrc);
            let mut n = 4;
            for i in &c.items {
                let v = i.value.get(..i.value.len().min(255)).unwrap_or(&[]);
                out.put_u8(i.item_type.to_u8());
                out.put_u8(v.len() as u8);
                out.put_slice(v);
                n += 2 + v.len();
            }
            let nulls = 1 + pad4(n + 1);
            out.put_bytes(0, nulls);
        }
    }
}
