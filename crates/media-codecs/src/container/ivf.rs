//! IVF, the simple container of libvpx/libaom test streams: a 32-byte file header, then frames
//! each behind a 12-byte header (size, 64-bit timestamp), all little-endian.
//!
//! ```text
//! 0  "DKIF"  4  version (0)  6  header size (32)  8  fourcc  12 width  14 height
//! 16 timebase denominator (rate)  20 numerator (scale)  24 frame count  28 unused
//! frame: 0 size (u32)  4 timestamp (u64, in timebase units)  12 data
//! ```

use bytes::Bytes;

use crate::Error;

/// Fourcc of VP8 in IVF.
pub const VP8: [u8; 4] = *b"VP80";
/// Fourcc of VP9 in IVF.
pub const VP9: [u8; 4] = *b"VP90";
/// Fourcc of AV1 in IVF.
pub const AV1: [u8; 4] = *b"AV01";

/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of a frame header.
pub const FRAME_HEADER_LEN: usize = 12;

/// The IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// Codec fourcc ([`VP8`], [`VP9`], [`AV1`]).
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Timebase denominator (frame rate numerator), e.g. 30.
    pub timebase_den: u32,
    /// Timebase numerator, e.g. 1.
    pub timebase_num: u32,
    /// Frame count as written (writers often leave it 0 or stale; readers do not trust it).
    pub frame_count: u32,
}

/// One IVF frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Presentation timestamp in timebase units.
    pub timestamp: u64,
    /// The frame (a slice of the file).
    pub data: Bytes,
}

fn le16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

impl IvfHeader {
    /// Parses the file header at the start of `file`; returns it and the offset of the first
    /// frame (the header size field, at least 32).
    pub fn parse(file: &[u8]) -> Result<(IvfHeader, usize), Error> {
        if file.len() < FILE_HEADER_LEN {
            return Err(Error::Truncated {
                what: "IVF file header",
                offset: 0,
                needed: FILE_HEADER_LEN,
                available: file.len(),
            });
        }
        if file.get(..4) != Some(b"DKIF".as_slice()) {
            return Err(Error::Invalid {
                what: "IVF file header",
                offset: 0,
                reason: "signature is not DKIF",
            });
        }
        if le16(file, 4) != 0 {
            return Err(Error::Invalid {
                what: "IVF file header",
                offset: 4,
                reason: "version is not 0",
            });
        }
        let header_len = usize::from(le16(file, 6));
        if header_len < FILE_HEADER_LEN || header_len > file.len() {
            return Err(Error::Invalid {
                what: "IVF file header",
                offset: 6,
                reason: "header size below 32 or beyond the file",
            });
        }
        let mut fourcc = [0u8; 4];
        if let Some(f) = file.get(8..12) {
            fourcc.copy_from_slice(f);
        }
        Ok((
            IvfHeader {
                fourcc,
                width: le16(file, 12),
                height: le16(file, 14),
                timebase_den: le32(file, 16),
                timebase_num: le32(file, 20),
                frame_count: le32(file, 24),
            },
            header_len,
        ))
    }

    /// Writes the 32-byte file header.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"DKIF");
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        out.extend_from_slice(&self.fourcc);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.timebase_den.to_le_bytes());
        out.extend_from_slice(&self.timebase_num.to_le_bytes());
        out.extend_from_slice(&self.frame_count.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
}

/// Reads the frames of an IVF file held in memory, without copying them.
#[derive(Debug, Clone)]
pub struct IvfReader {
    file: Bytes,
    off: usize,
    header: IvfHeader,
    failed: bool,
}

impl IvfReader {
    /// Parses the header of `file`.
    pub fn new(file: Bytes) -> Result<Self, Error> {
        let (header, off) = IvfHeader::parse(&file)?;
        Ok(IvfReader {
            file,
            off,
            header,
            failed: false,
        })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame: `None` at the end of the file, an error (once, then `None`) when a frame
    /// header or frame is cut short.
    pub fn next_frame(&mut self) -> Option<Result<IvfFrame, Error>> {
        if self.failed || self.off >= self.file.len() {
            return None;
        }
        let res = self.read_frame();
        if res.is_err() {
            self.failed = true;
        }
        Some(res)
    }

    fn read_frame(&mut self) -> Result<IvfFrame, Error> {
        let off = self.off;
        let available = self.file.len() - off;
        if available < FRAME_HEADER_LEN {
            return Err(Error::Truncated {
                what: "IVF frame header",
                offset: off,
                needed: FRAME_HEADER_LEN,
                available,
            });
        }
        let size = le32(&self.file, off) as usize;
        let ts =
            u64::from(le32(&self.file, off + 4)) | (u64::from(le32(&self.file, off + 8)) << 32);
        let start = off + FRAME_HEADER_LEN;
        if size > self.file.len() - start {
            return Err(Error::Truncated {
                what: "IVF frame",
                offset: start,
                needed: size,
                available: self.file.len() - start,
            });
        }
        self.off = start + size;
        Ok(IvfFrame {
            timestamp: ts,
            data: self.file.slice(start..start + size),
        })
    }
}

impl Iterator for IvfReader {
    type Item = Result<IvfFrame, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame()
    }
}

/// Writes one frame (12-byte header and data). Fails for a frame of 4 GiB or more.
pub fn write_frame(timestamp: u64, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let size = u32::try_from(data.len()).map_err(|_| Error::Limit {
        what: "IVF frame size",
        limit: u32::MAX as usize,
    })?;
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(data);
    Ok(())
}
