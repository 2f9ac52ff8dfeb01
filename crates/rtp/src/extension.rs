//! RFC 8285 header extension blocks: the one-byte (0xBEDE) and two-byte (0x100x) forms.
//!
//! A parsed block keeps its bytes as a zero-copy slice of the packet; elements are read lazily
//! by [`HeaderExtensions::iter`] without allocating. [`ExtensionsBuilder`] writes blocks,
//! choosing the one-byte form whenever every element fits it (RFC 8285 §4.1.1).

use bytes::Bytes;

use crate::values::ExtensionValue;
use crate::wire::{self, Step};
use crate::Error;

/// The "defined by profile" value of the one-byte form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The "defined by profile" value of the two-byte form, without its 4 appbits (RFC 8285 §4.3).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// Which RFC 8285 form a block uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// One-byte headers: ids 1..=14, 1..=16 data bytes.
    OneByte,
    /// Two-byte headers: ids 1..=255, 0..=255 data bytes (appbits in the profile's low nibble).
    TwoByte,
    /// A profile this crate does not know (RFC 3550 §5.3.1 generic extension), kept raw.
    Other,
}

impl ExtensionForm {
    /// The form a "defined by profile" value announces (RFC 8285 §4.2, §4.3).
    #[inline]
    pub fn of_profile(profile: u16) -> Self {
        if profile == ONE_BYTE_PROFILE {
            ExtensionForm::OneByte
        } else if profile & 0xfff0 == TWO_BYTE_PROFILE {
            ExtensionForm::TwoByte
        } else {
            ExtensionForm::Other
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExtensionForm::OneByte => "one-byte",
            ExtensionForm::TwoByte => "two-byte",
            ExtensionForm::Other => "unknown",
        }
    }
}

/// One element of an extension block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// The local identifier, mapped to a URI by the SDP `a=extmap` lines.
    pub id: u8,
    /// The element's data.
    pub data: &'a [u8],
}

/// Blocks up to this many bytes are copied inline when parsed (cheaper than sharing the
/// packet buffer: no reference count to touch); longer ones are zero-copy slices. 32 bytes hold
/// what browsers send on nearly every packet (mid, abs-send-time, transport-cc, audio level,
/// rid, playout delay, abs-capture-time) and keep a whole [`RtpPacket`](crate::RtpPacket) at
/// 128 bytes, so it moves with a few vector stores instead of a `memcpy` call.
pub const INLINE_EXTENSION_LEN: usize = 32;

/// A block at the very end of a packet (no payload after it): copied with its real length.
/// Kept out of line so that the common fixed-size copy stays two vector moves (merged with
/// this branch, the compiler emits a variable-length `memcpy` call for both).
#[cold]
#[inline(never)]
fn copy_short(src: &[u8]) -> [u8; INLINE_EXTENSION_LEN] {
    let mut a = [0u8; INLINE_EXTENSION_LEN];
    if let Some(dst) = a.get_mut(..src.len()) {
        dst.copy_from_slice(src);
    }
    a
}

/// `a` copied as four 8-byte words (loaded as `u64`s, stored as `u64`s).
///
/// Written as a `[u8; 32]` copy (or as a loop over the words, which the optimiser turns back
/// into one), the block went through a 32-byte stack temporary and was then moved piece by
/// piece into the header, and 16-byte reads of narrower stores cannot be forwarded (a stall
/// each). As four words the values stay in registers until they are stored where the header
/// is built. Header + three extension reads, thread CPU time: 23.9 -> 19.7 ns with the LTO
/// profile, 23.0 -> 19.7 ns in the plain profile (see docs/performance.md).
#[inline(always)]
fn copy_words(a: &[u8; INLINE_EXTENSION_LEN]) -> [u8; INLINE_EXTENSION_LEN] {
    let word = |i: usize| {
        a.get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
            .to_ne_bytes()
    };
    let (w0, w1, w2, w3) = (word(0), word(8), word(16), word(24));
    let mut o = [0u8; INLINE_EXTENSION_LEN];
    let (o0, rest) = o.split_at_mut(8);
    let (o1, rest) = rest.split_at_mut(8);
    let (o2, o3) = rest.split_at_mut(8);
    o0.copy_from_slice(&w0);
    o1.copy_from_slice(&w1);
    o2.copy_from_slice(&w2);
    o3.copy_from_slice(&w3);
    o
}

/// The inline bytes, 8-byte aligned: in the enum they then start at offset 8, after the tag,
/// length and profile, so the 32 bytes copied from the packet are four 8-byte stores straight
/// into place ([`copy_words`]). At offset 4 (a plain byte array), the copy went through a
/// stack temporary and was re-assembled piece by piece (callgrind: ~24 instructions per parse).
#[derive(Clone, Copy)]
#[repr(align(8))]
struct InlineBuf([u8; INLINE_EXTENSION_LEN]);

/// The profile lives in each variant so that the enum's tag and the profile share one word:
/// 40 bytes in all (an `Option` of it too, through the tag's niche).
#[derive(Clone)]
enum ExtData {
    Inline {
        profile: u16,
        len: u8,
        buf: InlineBuf,
    },
    Shared {
        profile: u16,
        data: Bytes,
    },
}

/// An RTP header extension block (RFC 3550 §5.3.1): the 16-bit profile and the data, whose
/// length is a multiple of 4.
#[derive(Clone)]
pub struct HeaderExtensions {
    data: ExtData,
}

impl PartialEq for HeaderExtensions {
    fn eq(&self, other: &Self) -> bool {
        self.profile() == other.profile() && self.data() == other.data()
    }
}

impl Eq for HeaderExtensions {}

impl std::hash::Hash for HeaderExtensions {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.profile().hash(state);
        self.data().hash(state);
    }
}

impl std::fmt::Debug for HeaderExtensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderExtensions")
            .field("profile", &format_args!("{:#06x}", self.profile()))
            .field("data", &self.data())
            .finish()
    }
}

impl HeaderExtensions {
    /// A block from its profile and raw data; the data must be a multiple of 4 bytes and at
    /// most 65535 words.
    pub fn new(profile: u16, data: Bytes) -> Result<Self, Error> {
        if !data.len().is_multiple_of(4) || data.len() > 4 * usize::from(u16::MAX) {
            return Err(Error::InvalidExtensionBlock { len: data.len() });
        }
        Ok(Self {
            data: ExtData::Shared { profile, data },
        })
    }

    /// From a parsed packet: `buf[start..end]`, already checked to be in bounds.
    #[inline(always)]
    pub(crate) fn from_packet(profile: u16, buf: &Bytes, start: usize, end: usize) -> Self {
        let n = end - start;
        let data = if n <= INLINE_EXTENSION_LEN {
            // Copy a fixed 32 bytes when the packet has them (it nearly always does: the payload
            // follows), which compiles to four 8-byte loads and stores instead of a memcpy call.
            let inline = match buf
                .get(start..)
                .and_then(<[u8]>::first_chunk::<INLINE_EXTENSION_LEN>)
            {
                // Bytes past the block are never exposed (`data()` stops at `len`).
                Some(a) => copy_words(a),
                None => copy_short(buf.get(start..end).unwrap_or(&[])),
            };
            ExtData::Inline {
                profile,
                len: n as u8,
                buf: InlineBuf(inline),
            }
        } else {
            ExtData::Shared {
                profile,
                data: buf.slice(start..end),
            }
        };
        Self { data }
    }

    /// The "defined by profile" field.
    #[inline]
    pub fn profile(&self) -> u16 {
        match &self.data {
            ExtData::Inline { profile, .. } | ExtData::Shared { profile, .. } => *profile,
        }
    }

    /// The raw block (after the 4-byte extension header).
    #[inline]
    pub fn data(&self) -> &[u8] {
        match &self.data {
            ExtData::Inline { len, buf, .. } => buf.0.get(..usize::from(*len)).unwrap_or(&[]),
            ExtData::Shared { data, .. } => data,
        }
    }

    /// The RFC 8285 form of this block.
    #[inline]
    pub fn form(&self) -> ExtensionForm {
        ExtensionForm::of_profile(self.profile())
    }

    /// Iterates the elements. A malformed element ends the iteration with one `Err`; a block of
    /// an unknown profile has no elements.
    #[inline]
    pub fn iter(&self) -> ExtensionIter<'_> {
        ExtensionIter {
            data: self.data(),
            pos: 0,
            form: self.form(),
        }
    }

    /// The data of the first element with this id, if any (malformed blocks give `None`).
    #[inline]
    pub fn get(&self, id: u8) -> Option<&[u8]> {
        self.iter()
            .map_while(Result::ok)
            .find(|e| e.id == id)
            .map(|e| e.data)
    }

    /// Reads and decodes a typed value.
    pub fn get_value<'a, V: ExtensionValue<'a>>(&'a self, id: u8) -> Option<Result<V, Error>> {
        self.get(id).map(V::parse)
    }
}

/// Iterator over the elements of a block; see [`HeaderExtensions::iter`].
#[derive(Clone, Debug)]
pub struct ExtensionIter<'a> {
    data: &'a [u8],
    pos: usize,
    form: ExtensionForm,
}

impl<'a> ExtensionIter<'a> {
    /// Iterates a raw block of the given form.
    pub fn new(data: &'a [u8], form: ExtensionForm) -> Self {
        Self { data, pos: 0, form }
    }
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = Result<ExtensionElement<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.data.get(self.pos..).filter(|r| !r.is_empty())?;
            let step = match self.form {
                ExtensionForm::OneByte => wire::one_byte_element(rest),
                ExtensionForm::TwoByte => wire::two_byte_element(rest),
                ExtensionForm::Other => return None,
            };
            match step {
                Ok((tail, Step::Padding)) => self.pos = self.data.len() - tail.len(),
                Ok((_, Step::Stop)) => {
                    self.pos = self.data.len();
                    return None;
                }
                Ok((tail, Step::Element(id, data))) => {
                    self.pos = self.data.len() - tail.len();
                    return Some(Ok(ExtensionElement { id, data }));
                }
                Err((id, len)) => {
                    let offset = self.pos;
                    self.pos = self.data.len();
                    return Some(Err(Error::ExtensionElementTruncated { id, offset, len }));
                }
            }
        }
    }
}

/// Builds an extension block from (id, data) elements.
///
/// Elements are collected first; [`finish`](Self::finish) picks the one-byte form when every
/// id is in 1..=14 and every value is 1..=16 bytes, otherwise the two-byte form if it is allowed
/// (negotiated with `a=extmap-allow-mixed`, RFC 8285 §6), otherwise it fails.
#[derive(Clone, Debug, Default)]
pub struct ExtensionsBuilder {
    /// Elements in two-byte layout: id, len, data.
    scratch: Vec<u8>,
    ids: [u64; 4],
    fits_one_byte: bool,
    count: usize,
}

impl ExtensionsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            scratch: Vec::new(),
            ids: [0; 4],
            fits_one_byte: true,
            count: 0,
        }
    }

    /// Adds an element with raw data.
    pub fn push(&mut self, id: u8, data: &[u8]) -> Result<&mut Self, Error> {
        if id == 0 {
            return Err(Error::InvalidExtensionId {
                id,
                form: "two-byte",
            });
        }
        let len = u8::try_from(data.len()).map_err(|_| Error::ExtensionValueTooLong {
            id,
            len: data.len(),
            form: "two-byte",
        })?;
        let word = usize::from(id / 64);
        let bit = 1u64 << (id % 64);
        let slot = self.ids.get_mut(word).ok_or(Error::InvalidExtensionId {
            id,
            form: "two-byte",
        })?;
        if *slot & bit != 0 {
            return Err(Error::DuplicateExtensionId { id });
        }
        *slot |= bit;
        if id > 14 || data.is_empty() || data.len() > 16 {
            self.fits_one_byte = false;
        }
        self.scratch.push(id);
        self.scratch.push(len);
        self.scratch.extend_from_slice(data);
        self.count += 1;
        Ok(self)
    }

    /// Adds a typed value.
    pub fn push_value<'a, V: ExtensionValue<'a>>(
        &mut self,
        id: u8,
        value: &V,
    ) -> Result<&mut Self, Error> {
        let mut buf = [0u8; 255];
        let n = value.encoded_len().min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or(&mut []);
        value.write_value(dst);
        self.push(id, dst)
    }

    /// Number of elements added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Builds the block. `allow_two_byte` says whether the two-byte form may be used.
    pub fn finish(&self, allow_two_byte: bool) -> Result<HeaderExtensions, Error> {
        if self.fits_one_byte {
            return self.finish_as(ExtensionForm::OneByte);
        }
        if allow_two_byte {
            return self.finish_as(ExtensionForm::TwoByte);
        }
        // Report the first element that does not fit.
        let mut it = ExtensionIter::new(&self.scratch, ExtensionForm::TwoByte);
        match it.find_map(|e| {
            e.ok()
                .filter(|e| e.id > 14 || e.data.is_empty() || e.data.len() > 16)
        }) {
            Some(e) if e.id > 14 => Err(Error::InvalidExtensionId {
                id: e.id,
                form: "one-byte",
            }),
            Some(e) => Err(Error::ExtensionValueTooLong {
                id: e.id,
                len: e.data.len(),
                form: "one-byte",
            }),
            None => self.finish_as(ExtensionForm::OneByte),
        }
    }

    /// Builds the block in the given form (with zero appbits for the two-byte form).
    pub fn finish_as(&self, form: ExtensionForm) -> Result<HeaderExtensions, Error> {
        let mut out = Vec::with_capacity(self.scratch.len() + 3);
        let profile = match form {
            ExtensionForm::OneByte => {
                for e in ExtensionIter::new(&self.scratch, ExtensionForm::TwoByte) {
                    let e = e?;
                    if e.id > 14 {
                        return Err(Error::InvalidExtensionId {
                            id: e.id,
                            form: form.name(),
                        });
                    }
                    if e.data.is_empty() || e.data.len() > 16 {
                        return Err(Error::ExtensionValueTooLong {
                            id: e.id,
                            len: e.data.len(),
                            form: form.name(),
                        });
                    }
                    out.push(e.id << 4 | (e.data.len() as u8 - 1));
                    out.extend_from_slice(e.data);
                }
                ONE_BYTE_PROFILE
            }
            ExtensionForm::TwoByte => {
                out.extend_from_slice(&self.scratch);
                TWO_BYTE_PROFILE
            }
            ExtensionForm::Other => {
                return Err(Error::InvalidExtensionId {
                    id: 0,
                    form: form.name(),
                })
            }
        };
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        HeaderExtensions::new(profile, Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_parse_with_padding_and_stop() {
        // id 1 len 1, padding, id 2 len 2, then id 15 stops.
        let data = [0x10, 0xaa, 0x00, 0x21, 0xbb, 0xcc, 0xf0, 0x31];
        let e = HeaderExtensions::new(ONE_BYTE_PROFILE, Bytes::copy_from_slice(&data)).unwrap();
        let v: Vec<_> = e.iter().map(|r| r.unwrap()).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            ExtensionElement {
                id: 1,
                data: &[0xaa]
            }
        );
        assert_eq!(
            v[1],
            ExtensionElement {
                id: 2,
                data: &[0xbb, 0xcc]
            }
        );
        assert_eq!(e.get(3), None);
    }

    #[test]
    fn two_byte_parse() {
        let data = [0x01, 0x00, 0x00, 0x10, 0x02, 0xaa, 0xbb, 0x00];
        let e = HeaderExtensions::new(0x1001, Bytes::copy_from_slice(&data)).unwrap();
        assert_eq!(e.form(), ExtensionForm::TwoByte);
        assert_eq!(e.get(1), Some(&[][..]));
        assert_eq!(e.get(16), Some(&[0xaa, 0xbb][..]));
    }

    #[test]
    fn truncated_element() {
        let data = [0x13, 0xaa, 0xbb, 0xcc];
        let e = HeaderExtensions::new(ONE_BYTE_PROFILE, Bytes::copy_from_slice(&data)).unwrap();
        let v: Vec<_> = e.iter().collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_err());
    }

    #[test]
    fn builder_forms() {
        let mut b = ExtensionsBuilder::new();
        b.push(1, &[1]).unwrap().push(14, &[1; 16]).unwrap();
        let e = b.finish(false).unwrap();
        assert_eq!(e.form(), ExtensionForm::OneByte);
        assert_eq!(e.get(14), Some(&[1; 16][..]));
        b.push(20, &[]).unwrap();
        assert!(b.finish(false).is_err());
        let e = b.finish(true).unwrap();
        assert_eq!(e.form(), ExtensionForm::TwoByte);
        assert_eq!(e.get(20), Some(&[][..]));
        assert_eq!(e.get(1), Some(&[1][..]));
        assert!(b.push(1, &[2]).is_err());
        assert_eq!(e.data().len() % 4, 0);
    }
}
