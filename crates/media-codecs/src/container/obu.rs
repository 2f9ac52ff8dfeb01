//! Raw AV1 OBU streams in the low-overhead bitstream format (AV1 specification §5.2, Annex
//! B is not this): every OBU carries `obu_has_size_field` = 1 and a leb128 size, and a
//! temporal unit begins with a temporal delimiter OBU (type 2).

use bytes::Bytes;

use crate::Error;

/// OBU type of a temporal delimiter.
pub const OBU_TEMPORAL_DELIMITER: u8 = 2;

/// Reads a leb128 value (AV1 §4.10.5, at most 8 bytes); returns (value, bytes used).
pub fn read_leb128(data: &[u8]) -> Result<(u64, usize), Error> {
    let mut value = 0u64;
    for i in 0..8 {
        let b = *data.get(i).ok_or(Error::Truncated {
            what: "leb128",
            offset: i,
            needed: 1,
            available: 0,
        })?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(Error::Invalid {
        what: "leb128",
        offset: 0,
        reason: "longer than 8 bytes (AV1 §4.10.5)",
    })
}

/// Writes a leb128 value.
pub fn write_leb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The header of one OBU in a low-overhead stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObuHeader {
    /// obu_type.
    pub obu_type: u8,
    /// temporal_id, when the extension header is present.
    pub temporal_id: Option<u8>,
    /// spatial_id, when the extension header is present.
    pub spatial_id: Option<u8>,
    /// Header length (1 or 2) plus the size field.
    pub header_len: usize,
    /// obu_size: payload bytes after the header and size field.
    pub size: usize,
}

/// Parses the OBU header and size at the start of `data` (low-overhead format: size required).
pub fn parse_obu(data: &[u8]) -> Result<ObuHeader, Error> {
    let h = *data.first().ok_or(Error::Truncated {
        what: "OBU header",
        offset: 0,
        needed: 1,
        available: 0,
    })?;
    if h & 0x80 != 0 {
        return Err(Error::Invalid {
            what: "OBU header",
            offset: 0,
            reason: "forbidden bit set (AV1 §6.2.2)",
        });
    }
    let obu_type = (h >> 3) & 0x0f;
    let ext = h & 0x04 != 0;
    if h & 0x02 == 0 {
        return Err(Error::Invalid {
            what: "OBU header",
            offset: 0,
            reason: "obu_has_size_field is 0 in a low-overhead stream (AV1 §5.2)",
        });
    }
    let mut off = 1;
    let (mut tid, mut sid) = (None, None);
    if ext {
        let e = *data.get(1).ok_or(Error::Truncated {
            what: "OBU extension header",
            offset: 1,
            needed: 1,
            available: 0,
        })?;
        tid = Some(e >> 5);
        sid = Some((e >> 3) & 0x03);
        off = 2;
    }
    let (size, used) = read_leb128(data.get(off..).unwrap_or(&[])).map_err(|e| match e {
        Error::Truncated {
            what,
            needed,
            available,
            ..
        } => Error::Truncated {
            what,
            offset: off,
            needed,
            available,
        },
        other => other,
    })?;
    let header_len = off + used;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > data.len() - header_len {
        return Err(Error::Truncated {
            what: "OBU payload",
            offset: header_len,
            needed: size,
            available: data.len() - header_len,
        });
    }
    Ok(ObuHeader {
        obu_type,
        temporal_id: tid,
        spatial_id: sid,
        header_len,
        size,
    })
}

/// Splits a low-overhead OBU stream held in memory into temporal units (zero-copy slices, each
/// starting with its temporal delimiter).
#[derive(Debug, Clone)]
pub struct TemporalUnits {
    data: Bytes,
    off: usize,
    max_tu: usize,
    failed: bool,
}

impl TemporalUnits {
    /// Temporal units of `data`; one larger than `max_tu` bytes is an error.
    pub fn new(data: Bytes, max_tu: usize) -> Self {
        TemporalUnits {
            data,
            off: 0,
            max_tu,
            failed: false,
        }
    }

    fn read(&mut self) -> Result<Bytes, Error> {
        let start = self.off;
        let mut off = start;
        let mut first = true;
        while off < self.data.len() {
            let rest = self.data.get(off..).unwrap_or(&[]);
            let h = parse_obu(rest).map_err(|e| shift(e, off))?;
            if h.obu_type == OBU_TEMPORAL_DELIMITER && !first {
                break;
            }
            if first && h.obu_type != OBU_TEMPORAL_DELIMITER {
                return Err(Error::Invalid {
                    what: "temporal unit",
                    offset: off,
                    reason: "does not start with a temporal delimiter (AV1 §7.5)",
                });
            }
            first = false;
            off += h.header_len + h.size;
            if off - start > self.max_tu {
                return Err(Error::Limit {
                    what: "AV1 temporal unit size",
                    limit: self.max_tu,
                });
            }
        }
        self.off = off;
        Ok(self.data.slice(start..off))
    }
}

fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Truncated {
            what,
            offset,
            needed,
            available,
        } => Error::Truncated {
            what,
            offset: offset + by,
            needed,
            available,
        },
        Error::Invalid {
            what,
            offset,
            reason,
        } => Error::Invalid {
            what,
            offset: offset + by,
            reason,
        },
        other => other,
    }
}

impl Iterator for TemporalUnits {
    type Item = Result<Bytes, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.off >= self.data.len() {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}
