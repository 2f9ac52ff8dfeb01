//! The AV1 packetizer (AV1 RTP specification §5): a temporal unit split into OBUs, their
//! size fields removed, aggregated and fragmented behind the aggregation header.

use bytes::Bytes;

use super::obu;
use super::obu_helpers::{
    is_key_frame, leb128_len, parse_sequence_header, read_leb128, write_leb128,
};
use super::MAX_OBUS_PER_TEMPORAL_UNIT;
use crate::{Error, Packetizer, PayloadMeta};

/// One OBU of a temporal unit, as the packetizer sends it: header (size flag cleared),
/// optional extension byte, payload range in the frame.
#[derive(Debug, Clone, Copy)]
struct ObuRef {
    header: u8,
    ext: Option<u8>,
    start: usize,
    end: usize,
}

impl ObuRef {
    fn header_len(&self) -> usize {
        1 + usize::from(self.ext.is_some())
    }
    fn len(&self) -> usize {
        self.header_len() + (self.end - self.start)
    }
}

/// Splits a temporal unit into OBUs (AV1 §5.3); `obus` is cleared first.
fn split_obus(tu: &[u8], obus: &mut Vec<ObuRef>) -> Result<(), Error> {
    obus.clear();
    let mut pos = 0;
    while pos < tu.len() {
        let at = pos;
        let &h = tu.get(pos).ok_or(Error::Truncated {
            what: "OBU header",
            offset: pos,
            needed: 1,
            available: 0,
        })?;
        if h & 0x80 != 0 {
            return Err(Error::Invalid {
                what: "OBU header",
                offset: pos,
                reason: "obu_forbidden_bit set",
            });
        }
        pos += 1;
        let ext = if h & 0x04 != 0 {
            let e = *tu.get(pos).ok_or(Error::Truncated {
                what: "OBU extension header",
                offset: pos,
                needed: 1,
                available: 0,
            })?;
            pos += 1;
            Some(e)
        } else {
            None
        };
        let end = if h & 0x02 != 0 {
            let (size, n) =
                read_leb128(tu.get(pos..).unwrap_or_default()).ok_or(Error::Invalid {
                    what: "obu_size",
                    offset: pos,
                    reason: "bad leb128",
                })?;
            pos += n;
            pos.checked_add(size as usize)
                .filter(|&e| e <= tu.len())
                .ok_or(Error::Truncated {
                    what: "OBU",
                    offset: at,
                    needed: size as usize,
                    available: tu.len().saturating_sub(pos),
                })?
        } else {
            tu.len()
        };
        let t = (h >> 3) & 0x0f;
        if !matches!(t, obu::TEMPORAL_DELIMITER | obu::TILE_LIST | obu::PADDING) {
            if obus.len() >= MAX_OBUS_PER_TEMPORAL_UNIT {
                return Err(Error::Limit {
                    what: "OBUs per temporal unit",
                    limit: MAX_OBUS_PER_TEMPORAL_UNIT,
                });
            }
            obus.push(ObuRef {
                header: h & !0x02,
                ext,
                start: pos,
                end,
            });
        }
        pos = end;
    }
    Ok(())
}

/// AV1 packetizer.
#[derive(Debug, Default)]
pub struct Av1Packetizer {
    frame: Bytes,
    obus: Vec<ObuRef>,
    max_payload: usize,
    idx: usize,
    off: usize,
    first: bool,
    new_sequence: bool,
    reduced_still: bool,
}

impl Av1Packetizer {
    /// A new packetizer.
    pub fn new() -> Self {
        Self::default()
    }

    fn write_part(&self, o: &ObuRef, from: usize, len: usize, out: &mut Vec<u8>) {
        // Element bytes: header, extension, payload; `from..from+len` of that sequence.
        let hl = o.header_len();
        let mut i = from;
        let end = from + len;
        while i < end.min(hl) {
            out.push(if i == 0 { o.header } else { o.ext.unwrap_or(0) });
            i += 1;
        }
        if end > hl {
            let a = o.start + (i - hl);
            let b = o.start + (end - hl);
            out.extend_from_slice(self.frame.get(a..b).unwrap_or_default());
        }
    }
}

impl Packetizer for Av1Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.idx = 0;
        self.off = 0;
        if max_payload < 3 {
            self.obus.clear();
            return Err(Error::MtuTooSmall {
                codec: "AV1",
                max_payload,
                needed: 3,
            });
        }
        if let Err(e) = split_obus(&frame, &mut self.obus) {
            self.obus.clear();
            return Err(e);
        }
        if self.obus.is_empty() {
            return Err(Error::BadFrame {
                codec: "AV1",
                reason: "no OBU besides temporal delimiters",
            });
        }
        // N: a sequence header and a key frame in this temporal unit start a coded video sequence.
        let mut seq = false;
        let mut key = false;
        for o in &self.obus {
            let payload = frame.get(o.start..o.end).unwrap_or_default();
            match (o.header >> 3) & 0x0f {
                obu::SEQUENCE_HEADER => {
                    seq = true;
                    if let Some(s) = parse_sequence_header(payload) {
                        self.reduced_still = s.reduced_still_picture_header;
                    }
                }
                obu::FRAME_HEADER | obu::FRAME => {
                    key = is_key_frame(payload, self.reduced_still);
                    break;
                }
                _ => {}
            }
        }
        self.new_sequence = seq && key;
        self.frame = frame;
        self.max_payload = max_payload;
        self.first = true;
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        if self.idx >= self.obus.len() {
            return None;
        }
        let start = out.len();
        out.push(0);
        let z = self.off > 0;
        let mut room = self.max_payload - 1;
        let mut count = 0usize;
        let mut y = false;
        let mut last_has_len = false;
        while let Some(o) = self.obus.get(self.idx).copied() {
            let rem = o.len() - self.off;
            let more_after = self.idx + 1 < self.obus.len();
            let with_len = rem + leb128_len(rem);
            if more_after && with_len + 2 <= room {
                // A whole element with its length, and room for more.
                write_leb128(rem, out);
                self.write_part(&o, self.off, rem, out);
                room -= with_len;
                self.idx += 1;
                self.off = 0;
                count += 1;
                continue;
            }
            // The last element of this packet.
            let take = if count < 3 {
                rem.min(room)
            } else {
                let t = rem.min(room);
                t.min(room.saturating_sub(leb128_len(t)))
            };
            if take == 0 {
                last_has_len = true;
                break;
            }
            if count >= 3 {
                write_leb128(take, out);
                last_has_len = true;
            }
            self.write_part(&o, self.off, take, out);
            count += 1;
            if take == rem {
                self.idx += 1;
                self.off = 0;
            } else {
                self.off += take;
                y = true;
            }
            break;
        }
        let w = if last_has_len || count > 3 {
            0
        } else {
            count as u8
        };
        let n = self.first && self.new_sequence;
        self.first = false;
        if let Some(h) = out.get_mut(start) {
            *h = (u8::from(z) << 7) | (u8::from(y) << 6) | (w << 4) | (u8::from(n) << 3);
        }
        Some(PayloadMeta {
            len: out.len() - start,
            marker: self.idx >= self.obus.len(),
        })
    }
}
