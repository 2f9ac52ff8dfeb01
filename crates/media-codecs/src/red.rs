//! Redundant audio data, RFC 2198: build a RED payload from a primary block and earlier blocks,
//! and split one back.
//!
//! Layout (RFC 2198 §3): one 4-byte header per redundant block (F=1, block PT, 14-bit timestamp
//! offset, 10-bit block length), then a 1-byte header for the primary block (F=0, block PT),
//! then the data blocks in header order with no delimiter; the primary block takes what is left.
//! The offset is subtracted from the RTP timestamp: redundancy is always older than the primary.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::{Codec, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta};

/// Largest timestamp offset a redundant block header can carry (14 bits).
pub const MAX_TIMESTAMP_OFFSET: u32 = 0x3fff;

/// Largest redundant block a header can describe (10 bits).
pub const MAX_BLOCK_LEN: usize = 0x3ff;

/// Default bound on the number of blocks (redundant + primary) [`split`] accepts.
pub const DEFAULT_MAX_BLOCKS: usize = 16;

/// One block of a RED payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedBlock {
    /// The block's RTP payload type (7 bits).
    pub payload_type: u8,
    /// How much older than the packet's RTP timestamp this block is (0 for the primary).
    pub timestamp_offset: u16,
    /// The block's payload: a slice of the RED payload.
    pub data: Bytes,
}

/// A RED payload split into its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedPayload {
    /// Redundant blocks, in payload order (normally oldest first).
    pub redundant: Vec<RedBlock>,
    /// The primary block (timestamp offset 0).
    pub primary: RedBlock,
}

fn invalid(offset: usize, reason: &'static str) -> Error {
    Error::Invalid {
        what: "RED header",
        offset,
        reason,
    }
}

/// Reads the headers only: (redundant block headers as (pt, offset, len), primary pt, data
/// offset). Checks that the lengths fit the payload.
fn headers(
    payload: &[u8],
    max_blocks: usize,
    mut each: impl FnMut(u8, u16, usize),
) -> Result<(u8, usize, usize), Error> {
    let mut off = 0usize;
    let mut blocks = 0usize;
    let mut data_len = 0usize;
    loop {
        let b0 = *payload.get(off).ok_or(Error::Truncated {
            what: "RED header",
            offset: off,
            needed: 1,
            available: 0,
        })?;
        blocks += 1;
        if blocks > max_blocks {
            return Err(Error::Limit {
                what: "RED blocks per payload",
                limit: max_blocks,
            });
        }
        if b0 & 0x80 == 0 {
            // Final header: F=0 and the primary's PT (RFC 2198 §3).
            let data_start = off + 1;
            if data_len > payload.len() - data_start {
                return Err(invalid(
                    off,
                    "redundant block lengths exceed the payload (RFC 2198 §3)",
                ));
            }
            return Ok((b0 & 0x7f, data_start, data_len));
        }
        let h = payload.get(off..off + 4).ok_or(Error::Truncated {
            what: "RED header",
            offset: off,
            needed: 4,
            available: payload.len() - off,
        })?;
        let (b1, b2, b3) = match h {
            [_, b1, b2, b3] => (u32::from(*b1), u32::from(*b2), u32::from(*b3)),
            _ => return Err(invalid(off, "short header")),
        };
        let word = (b1 << 16) | (b2 << 8) | b3;
        let ts_offset = (word >> 10) as u16;
        let len = (word & 0x3ff) as usize;
        each(b0 & 0x7f, ts_offset, len);
        data_len += len;
        off += 4;
    }
}

/// Splits a RED payload into its blocks without copying (the blocks are slices of `payload`).
///
/// Fails on a truncated header, block lengths beyond the payload, or more than `max_blocks`
/// blocks in all.
pub fn split(payload: &Bytes, max_blocks: usize) -> Result<RedPayload, Error> {
    let mut hdrs: Vec<(u8, u16, usize)> = Vec::new();
    let (primary_pt, data_start, _) = headers(payload, max_blocks, |pt, ts, len| {
        hdrs.push((pt, ts, len));
    })?;
    let mut off = data_start;
    let mut redundant = Vec::with_capacity(hdrs.len());
    for (pt, ts, len) in hdrs {
        // `headers` checked that all lengths fit after `data_start`.
        let end = off + len;
        redundant.push(RedBlock {
            payload_type: pt,
            timestamp_offset: ts,
            data: payload.slice(off..end),
        });
        off = end;
    }
    Ok(RedPayload {
        redundant,
        primary: RedBlock {
            payload_type: primary_pt,
            timestamp_offset: 0,
            data: payload.slice(off..),
        },
    })
}

/// Writes a RED payload (RFC 2198 §3) to `out`: headers of `redundant` (in the given order), the
/// primary header, then the blocks. Returns the bytes written.
///
/// Fails when a payload type exceeds 7 bits, a redundant block exceeds 1023 bytes, or a
/// timestamp offset exceeds 14 bits; nothing is written then.
pub fn build(
    primary_pt: u8,
    primary: &[u8],
    redundant: &[RedBlock],
    out: &mut Vec<u8>,
) -> Result<usize, Error> {
    if primary_pt > 0x7f {
        return Err(Error::BadFrame {
            codec: "RED",
            reason: "payload type above 127",
        });
    }
    for b in redundant {
        if b.payload_type > 0x7f {
            return Err(Error::BadFrame {
                codec: "RED",
                reason: "payload type above 127",
            });
        }
        if u32::from(b.timestamp_offset) > MAX_TIMESTAMP_OFFSET {
            return Err(Error::BadFrame {
                codec: "RED",
                reason: "timestamp offset above 14 bits",
            });
        }
        if b.data.len() > MAX_BLOCK_LEN {
            return Err(Error::BadFrame {
                codec: "RED",
                reason: "redundant block longer than 1023 bytes",
            });
        }
    }
    let start = out.len();
    for b in redundant {
        let word = (u32::from(b.timestamp_offset) << 10) | (b.data.len() as u32);
        out.push(0x80 | b.payload_type);
        let [_, w1, w2, w3] = word.to_be_bytes();
        out.extend_from_slice(&[w1, w2, w3]);
    }
    out.push(primary_pt);
    for b in redundant {
        out.extend_from_slice(&b.data);
    }
    out.extend_from_slice(primary);
    Ok(out.len() - start)
}

/// Builds RED payloads from a stream of primary payloads, carrying up to `distance` earlier
/// ones as redundancy (oldest first, as many as fit the room; RFC 2198 §3).
///
/// The RTP timestamp of each primary comes from [`RedPacketizer::set_timestamp`] before
/// [`Packetizer::begin`], or, when not set, from the previous one plus the frame duration given
/// to [`RedPacketizer::new`].
#[derive(Debug)]
pub struct RedPacketizer {
    primary_pt: u8,
    distance: usize,
    frame_duration: u32,
    next_ts: Option<u32>,
    last_ts: Option<u32>,
    history: VecDeque<(u32, Bytes)>,
    blocks: Vec<RedBlock>,
    pending: Option<Bytes>,
    max_payload: usize,
}

impl RedPacketizer {
    /// Primary payload type `primary_pt`, up to `distance` redundant blocks, `frame_duration` RTP
    /// ticks between primaries when [`set_timestamp`](Self::set_timestamp) is not used.
    pub fn new(primary_pt: u8, distance: usize, frame_duration: u32) -> Self {
        Self {
            primary_pt: primary_pt & 0x7f,
            distance: distance.min(DEFAULT_MAX_BLOCKS - 1),
            frame_duration,
            next_ts: None,
            last_ts: None,
            history: VecDeque::new(),
            blocks: Vec::new(),
            pending: None,
            max_payload: 0,
        }
    }

    /// The RTP timestamp of the next primary given to `begin`.
    pub fn set_timestamp(&mut self, ts: u32) {
        self.next_ts = Some(ts);
    }
}

impl Packetizer for RedPacketizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.pending = None;
        if frame.len() + 1 > max_payload {
            return Err(Error::MtuTooSmall {
                codec: "RED",
                max_payload,
                needed: frame.len() + 1,
            });
        }
        let ts = match (self.next_ts.take(), self.last_ts) {
            (Some(ts), _) => ts,
            (None, Some(last)) => last.wrapping_add(self.frame_duration),
            (None, None) => 0,
        };
        // Newest first, stop at the first block that does not fit or is too old.
        self.blocks.clear();
        let mut room = max_payload - frame.len() - 1;
        for (hts, data) in self.history.iter().rev() {
            let offset = ts.wrapping_sub(*hts);
            if offset == 0 || offset > MAX_TIMESTAMP_OFFSET || data.len() > MAX_BLOCK_LEN {
                break;
            }
            let need = 4 + data.len();
            if need > room {
                break;
            }
            room -= need;
            self.blocks.push(RedBlock {
                payload_type: self.primary_pt,
                timestamp_offset: offset as u16,
                data: data.clone(),
            });
        }
        self.blocks.reverse();
        self.history.push_back((ts, frame.clone()));
        while self.history.len() > self.distance {
            self.history.pop_front();
        }
        self.last_ts = Some(ts);
        self.max_payload = max_payload;
        self.pending = Some(frame);
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        let f = self.pending.take()?;
        let len = build(self.primary_pt, &f, &self.blocks, out).ok()?;
        Some(PayloadMeta { len, marker: false })
    }
}

/// Reads RED payloads: the frame is the primary block; [`split`] gives the redundant ones for
/// loss recovery.
#[derive(Debug)]
pub struct RedDepacketizer {
    max_blocks: usize,
}

impl Default for RedDepacketizer {
    fn default() -> Self {
        Self {
            max_blocks: DEFAULT_MAX_BLOCKS,
        }
    }
}

impl RedDepacketizer {
    /// A depacketizer accepting up to [`DEFAULT_MAX_BLOCKS`] blocks per payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// A depacketizer accepting up to `max_blocks` blocks per payload.
    pub fn with_max_blocks(max_blocks: usize) -> Self {
        Self { max_blocks }
    }
}

impl Depacketizer for RedDepacketizer {
    fn codec(&self) -> Codec {
        Codec::Red
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        headers(payload, self.max_blocks, |_, _, _| {})?;
        Ok(PacketInfo {
            frame_start: Some(true),
            frame_end: Some(true),
            ..PacketInfo::default()
        })
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let (_, data_start, data_len) = headers(payload, self.max_blocks, |_, _, _| {})?;
        let primary = payload
            .get(data_start + data_len..)
            .ok_or(invalid(0, "redundant block lengths exceed the payload"))?;
        out.extend_from_slice(primary);
        Ok(PacketInfo {
            frame_start: Some(true),
            frame_end: Some(true),
            ..PacketInfo::default()
        })
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        Ok(())
    }

    fn reset(&mut self) {}

    fn decodable(&mut self, _frame: &PacketInfo, _contiguous: bool) -> bool {
        true
    }
}
