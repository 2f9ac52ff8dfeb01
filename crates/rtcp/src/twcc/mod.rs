//! Transport-wide congestion control feedback (RTPFB FMT 15,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//!
//! The packet chunks and receive deltas are kept as zero-copy slices of the input, checked
//! when parsed and decoded on demand by [`TransportCc::chunks`] and [`TransportCc::packets`],
//! so parsing allocates nothing. [`TransportCcBuilder`] makes feedback from
//! (sequence number, arrival time) records; [`TransportCc::arrivals`] is the reverse.

use bytes::{BufMut, Bytes};

use crate::wire::{pad4, Body};
use crate::Error;

mod builder;
mod packets;

pub use builder::TransportCcBuilder;
pub use packets::TwccPackets;

/// Length of one receive-delta tick in microseconds.
pub const DELTA_TICK_US: i64 = 250;
/// Length of one reference-time unit in microseconds.
pub const REFERENCE_TIME_UNIT_US: i64 = 64_000;

/// The status of one packet (draft §3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketStatus {
    /// 00: not received.
    NotReceived,
    /// 01: received, with a one-byte (small) delta.
    SmallDelta,
    /// 10: received, with a two-byte signed (large or negative) delta.
    LargeDelta,
    /// 11: reserved; carries no delta and is treated as not received.
    Reserved,
}

impl PacketStatus {
    fn from_bits(b: u16) -> Self {
        match b & 3 {
            0 => Self::NotReceived,
            1 => Self::SmallDelta,
            2 => Self::LargeDelta,
            _ => Self::Reserved,
        }
    }

    fn bits(self) -> u16 {
        match self {
            Self::NotReceived => 0,
            Self::SmallDelta => 1,
            Self::LargeDelta => 2,
            Self::Reserved => 3,
        }
    }

    /// Bytes of receive delta this status carries.
    pub fn delta_len(self) -> usize {
        match self {
            Self::SmallDelta => 1,
            Self::LargeDelta => 2,
            _ => 0,
        }
    }
}

/// A packet status chunk (draft §3.1.3, §3.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketStatusChunk {
    /// Run length chunk: `run_length` (13 bits) packets with the same status.
    RunLength {
        /// The status.
        status: PacketStatus,
        /// How many packets (0..=8191).
        run_length: u16,
    },
    /// Status vector chunk with 14 one-bit symbols (not received / small delta).
    OneBit([PacketStatus; 14]),
    /// Status vector chunk with 7 two-bit symbols.
    TwoBit([PacketStatus; 7]),
}

impl PacketStatusChunk {
    /// Decodes a 16-bit chunk.
    pub fn from_u16(v: u16) -> Self {
        if v & 0x8000 == 0 {
            Self::RunLength {
                status: PacketStatus::from_bits(v >> 13),
                run_length: v & 0x1fff,
            }
        } else if v & 0x4000 == 0 {
            let mut s = [PacketStatus::NotReceived; 14];
            for (i, slot) in s.iter_mut().enumerate() {
                if v & (1 << (13 - i)) != 0 {
                    *slot = PacketStatus::SmallDelta;
                }
            }
            Self::OneBit(s)
        } else {
            let mut s = [PacketStatus::NotReceived; 7];
            for (i, slot) in s.iter_mut().enumerate() {
                *slot = PacketStatus::from_bits(v >> (12 - 2 * i));
            }
            Self::TwoBit(s)
        }
    }

    /// Encodes the chunk. One-bit vectors can hold only NotReceived and SmallDelta; other
    /// statuses are written as SmallDelta (received).
    pub fn to_u16(&self) -> u16 {
        match self {
            Self::RunLength { status, run_length } => status.bits() << 13 | (run_length & 0x1fff),
            Self::OneBit(s) => {
                let mut v = 0x8000;
                for (i, st) in s.iter().enumerate() {
                    if *st != PacketStatus::NotReceived {
                        v |= 1 << (13 - i);
                    }
                }
                v
            }
            Self::TwoBit(s) => {
                let mut v = 0xc000;
                for (i, st) in s.iter().enumerate() {
                    v |= st.bits() << (12 - 2 * i);
                }
                v
            }
        }
    }

    /// Number of packets the chunk describes.
    pub fn len(&self) -> usize {
        match self {
            Self::RunLength { run_length, .. } => usize::from(*run_length),
            Self::OneBit(_) => 14,
            Self::TwoBit(_) => 7,
        }
    }

    /// True for an empty run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The status of the `i`th packet of the chunk.
    pub fn status(&self, i: usize) -> PacketStatus {
        match self {
            Self::RunLength { status, .. } => *status,
            Self::OneBit(s) => s.get(i).copied().unwrap_or(PacketStatus::NotReceived),
            Self::TwoBit(s) => s.get(i).copied().unwrap_or(PacketStatus::NotReceived),
        }
    }
}

/// One packet described by a feedback message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TwccPacket {
    /// Transport-wide sequence number.
    pub sequence_number: u16,
    /// Its status.
    pub status: PacketStatus,
    /// Receive delta in 250 µs ticks, relative to the previous received packet (or to the
    /// reference time for the first), when received.
    pub delta_ticks: Option<i16>,
}

/// Transport-wide CC feedback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TransportCc {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source field.
    pub media_ssrc: u32,
    /// First sequence number described.
    pub base_sequence_number: u16,
    /// Number of packets described.
    pub packet_status_count: u16,
    /// Reference time, 24 bits, in multiples of 64 ms.
    pub reference_time: u32,
    /// Feedback packet count, for detecting lost feedback.
    pub feedback_packet_count: u8,
    /// The packet status chunks, then the receive deltas.
    data: TwccData,
    /// Length of the chunks in `data`.
    chunks_len: usize,
    /// RTCP padding count (P bit) of this packet as received; 0 when it had none.
    pub padding: u8,
}

/// Chunks and deltas up to this many bytes are copied inline when parsed (a feedback message
/// for up to ~50 packets); longer ones are zero-copy slices of the datagram. Copying 64 bytes
/// costs less than the two atomic reference-count updates a shared slice needs (measured: a
/// `Bytes` clone + drop is ~25 ns on a busy 2-core machine, a third of the TWCC packet's
/// parse).
const INLINE_DATA_LEN: usize = 62;

/// The status chunks and receive deltas of a feedback message.
#[derive(Clone)]
enum TwccData {
    Inline { len: u8, buf: [u8; INLINE_DATA_LEN] },
    Shared(Bytes),
}

impl Default for TwccData {
    fn default() -> Self {
        Self::Shared(Bytes::new())
    }
}

impl TwccData {
    /// `part`, which is `buf[start..]`, inline when short, else a zero-copy slice.
    #[inline]
    fn of_slice(buf: &Bytes, start: usize, part: &[u8]) -> Self {
        if part.len() > INLINE_DATA_LEN {
            return Self::Shared(buf.slice(start..start + part.len()));
        }
        let mut a = [0u8; INLINE_DATA_LEN];
        if let Some(dst) = a.get_mut(..part.len()) {
            dst.copy_from_slice(part);
        }
        Self::Inline {
            len: part.len() as u8,
            buf: a,
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&[]),
            Self::Shared(b) => b,
        }
    }
}

impl PartialEq for TwccData {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for TwccData {}

impl std::hash::Hash for TwccData {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl std::fmt::Debug for TwccData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// Bytes of delta carried by the first `take` symbols of a chunk.
#[inline]
fn chunk_delta_len(v: u16, take: usize) -> usize {
    if v & 0x8000 == 0 {
        take * PacketStatus::from_bits(v >> 13).delta_len()
    } else if v & 0x4000 == 0 {
        // 14 one-bit symbols, first in bit 13: a set bit is a small delta.
        let mask = (0x3fffu16 >> (14 - take.min(14))) << (14 - take.min(14));
        (v & mask).count_ones() as usize
    } else {
        // 7 two-bit symbols, first in bits 13-12.
        (0..take.min(7))
            .map(|i| PacketStatus::from_bits(v >> (12 - 2 * i)).delta_len())
            .sum()
    }
}

/// Symbols a chunk describes.
#[inline]
fn chunk_len(v: u16) -> usize {
    if v & 0x8000 == 0 {
        usize::from(v & 0x1fff)
    } else if v & 0x4000 == 0 {
        14
    } else {
        7
    }
}

/// Walks the chunks needed for `count` statuses; returns (chunk bytes, delta bytes).
fn measure(chunks: &[u8], count: u16) -> Option<(usize, usize)> {
    let mut left = usize::from(count);
    let mut rest = chunks;
    let mut delta_len = 0usize;
    while left > 0 {
        let (c, r) = rest.split_first_chunk::<2>()?;
        rest = r;
        let v = u16::from_be_bytes(*c);
        let take = chunk_len(v).min(left);
        delta_len += chunk_delta_len(v, take);
        left -= take;
    }
    Some((chunks.len() - rest.len(), delta_len))
}

impl TransportCc {
    /// Makes feedback from decoded parts, checking that the chunks cover `packet_status_count`
    /// packets and that `deltas` holds exactly the deltas they announce.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        sender_ssrc: u32,
        media_ssrc: u32,
        base_sequence_number: u16,
        packet_status_count: u16,
        reference_time: u32,
        feedback_packet_count: u8,
        chunks: &[PacketStatusChunk],
        deltas: &[i16],
    ) -> Result<Self, Error> {
        let mut cbuf = Vec::with_capacity(2 * chunks.len());
        for c in chunks {
            cbuf.put_u16(c.to_u16());
        }
        let (clen, dlen) = measure(&cbuf, packet_status_count).ok_or(Error::Build {
            what: "transport-cc feedback",
            why: "the chunks cover fewer packets than packet_status_count",
        })?;
        if clen != cbuf.len() {
            return Err(Error::Build {
                what: "transport-cc feedback",
                why: "more chunks than packet_status_count needs",
            });
        }
        let mut fb = Self {
            sender_ssrc,
            media_ssrc,
            base_sequence_number,
            packet_status_count,
            reference_time: reference_time & 0x00ff_ffff,
            feedback_packet_count,
            data: TwccData::default(),
            chunks_len: clen,
            padding: 0,
        };
        let mut dbuf = cbuf;
        dbuf.reserve(dlen);
        let mut d = deltas.iter();
        let mut left = usize::from(packet_status_count);
        let statuses = chunks.iter().flat_map(|c| {
            let take = c.len().min(left);
            left -= take;
            (0..take).map(move |i| c.status(i))
        });
        for status in statuses {
            match status {
                PacketStatus::SmallDelta => {
                    let v = d.next().copied().unwrap_or(0);
                    let v = u8::try_from(v).map_err(|_| Error::Build {
                        what: "transport-cc feedback",
                        why: "a small delta is outside 0..=255 ticks",
                    })?;
                    dbuf.put_u8(v);
                }
                PacketStatus::LargeDelta => dbuf.put_i16(d.next().copied().unwrap_or(0)),
                _ => {}
            }
        }
        if dbuf.len() != clen + dlen || d.next().is_some() {
            return Err(Error::Build {
                what: "transport-cc feedback",
                why: "the number of deltas does not match the received statuses",
            });
        }
        fb.data = TwccData::Shared(Bytes::from(dbuf));
        Ok(fb)
    }

    #[inline]
    pub(crate) fn parse(r: &mut Body<'_>, padding: u8, padded_tail: &[u8]) -> Result<Self, Error> {
        let sender_ssrc = r.u32("TWCC sender SSRC")?;
        let media_ssrc = r.u32("TWCC media SSRC")?;
        let base_sequence_number = r.u16("TWCC base sequence number")?;
        let packet_status_count = r.u16("TWCC packet status count")?;
        let v = r.u32("TWCC reference time")?;
        let start = r.offset();
        let body = r.peek();
        let (clen, dlen) = measure(body, packet_status_count).ok_or(Error::Truncated {
            what: "TWCC packet status chunks",
            offset: start,
            needed: 2 * (body.len() / 2 + 1),
            available: body.len(),
        })?;
        let data = if clen + dlen <= body.len() {
            TwccData::of_slice(r.source(), r.pos(), body.get(..clen + dlen).unwrap_or(&[]))
        } else {
            // Deltas that run into the RTCP padding: some senders (pion's test packets) do
            // this; read them from the padding bytes rather than reject the packet.
            let have = body.len().saturating_sub(clen);
            match (body.get(clen..), padded_tail.get(..dlen - have)) {
                (Some(part), Some(extra)) => {
                    let mut v = Vec::with_capacity(clen + dlen);
                    v.extend_from_slice(body.get(..clen).unwrap_or(&[]));
                    v.extend_from_slice(part);
                    v.extend_from_slice(extra);
                    TwccData::Shared(Bytes::from(v))
                }
                _ => {
                    return Err(Error::Truncated {
                        what: "TWCC receive deltas",
                        offset: start + clen,
                        needed: dlen,
                        available: have,
                    })
                }
            }
        };
        let trailing = body.len().saturating_sub(clen + dlen);
        if trailing > 3 {
            return Err(Error::Invalid {
                what: "TWCC",
                offset: start + clen + dlen,
                why: "more than 3 bytes left after the receive deltas",
            });
        }
        r.skip(r.remaining(), "TWCC")?;
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            base_sequence_number,
            packet_status_count,
            reference_time: v >> 8,
            feedback_packet_count: v as u8,
            data,
            chunks_len: clen,
            padding,
        })
    }

    /// The raw packet status chunks.
    pub fn raw_chunks(&self) -> &[u8] {
        self.data.as_slice().get(..self.chunks_len).unwrap_or(&[])
    }

    /// The raw receive deltas.
    pub fn raw_deltas(&self) -> &[u8] {
        self.data.as_slice().get(self.chunks_len..).unwrap_or(&[])
    }

    /// The packet status chunks.
    pub fn chunks(&self) -> impl Iterator<Item = PacketStatusChunk> + '_ {
        self.raw_chunks().chunks_exact(2).map(|b| {
            PacketStatusChunk::from_u16(u16::from_be_bytes(b.try_into().unwrap_or([0; 2])))
        })
    }

    /// Every packet described, in sequence order, with its delta.
    pub fn packets(&self) -> TwccPackets<'_> {
        TwccPackets {
            chunks: self.raw_chunks(),
            deltas: self.raw_deltas(),
            seq: self.base_sequence_number,
            end: self
                .base_sequence_number
                .wrapping_add(self.packet_status_count),
            bits: 0,
            left_in_chunk: 0,
        }
    }

    /// The reverse of [`TransportCcBuilder`]: (sequence number, arrival time in µs) for each
    /// packet, `None` when not received. Times are on the feedback sender's clock:
    /// reference time × 64 ms plus the running sum of deltas.
    pub fn arrivals(&self) -> impl Iterator<Item = (u16, Option<i64>)> + '_ {
        let mut t = i64::from(self.reference_time) * REFERENCE_TIME_UNIT_US;
        self.packets().map(move |p| match p.delta_ticks {
            Some(d) => {
                t += i64::from(d) * DELTA_TICK_US;
                (p.sequence_number, Some(t))
            }
            None => (p.sequence_number, None),
        })
    }

    fn unpadded_len(&self) -> usize {
        16 + self.data.as_slice().len()
    }

    pub(crate) fn body_len(&self) -> usize {
        let n = self.unpadded_len();
        if self.padding == 0 {
            n + pad4(n)
        } else {
            let p = usize::from(self.padding);
            n + pad4(n + p) + p
        }
    }

    /// Body without the P-bit padding (which the caller writes).
    ///
    /// The packet status chunks and receive deltas are encoded from their typed values, not
    /// copied from the bytes a parsed feedback keeps: each chunk is decoded to a
    /// [`PacketStatusChunk`] and written with [`PacketStatusChunk::to_u16`], and each
    /// received packet's delta is written from its [`TwccPacket::delta_ticks`] as one byte
    /// (small) or two (large). That is the work an implementation holding chunks and deltas
    /// in vectors does (webrtc-rs), plus the decoding; there is no copying fast path.
    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        out.put_u16(self.base_sequence_number);
        out.put_u16(self.packet_status_count);
        out.put_u32(self.reference_time << 8 | u32::from(self.feedback_packet_count));
        for c in self.chunks() {
            out.put_u16(c.to_u16());
        }
        for p in self.packets() {
            match (p.status, p.delta_ticks) {
                // A small delta is 0..=255 ticks by construction (parsed from one byte or
                // checked by `from_parts`).
                (PacketStatus::SmallDelta, Some(d)) => out.put_u8(d as u8),
                (PacketStatus::LargeDelta, Some(d)) => out.put_i16(d),
                _ => {}
            }
        }
        let n = self.unpadded_len();
        if self.padding == 0 {
            out.put_bytes(0, pad4(n));
        } else {
            out.put_bytes(0, pad4(n + usize::from(self.padding)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::packets::spread_bits;
    use super::*;

    #[test]
    fn spread_bits_moves_bit_i_to_2i() {
        for i in 0..16 {
            assert_eq!(spread_bits(1 << i), 1 << (2 * i));
        }
        assert_eq!(spread_bits(0x3fff), 0x0555_5555);
        assert_eq!(spread_bits(0), 0);
    }

    #[test]
    fn draft_chunk_examples() {
        // draft §3.1.3 / §3.1.4 examples.
        assert_eq!(
            PacketStatusChunk::from_u16(0x00dd),
            PacketStatusChunk::RunLength {
                status: PacketStatus::NotReceived,
                run_length: 221
            }
        );
        assert_eq!(
            PacketStatusChunk::from_u16(0x6018),
            PacketStatusChunk::RunLength {
                status: PacketStatus::Reserved,
                run_length: 24
            }
        );
        for v in [0x00dd, 0x6018, 0x9f1c, 0xcd50] {
            assert_eq!(PacketStatusChunk::from_u16(v).to_u16(), v);
        }
    }

    #[test]
    fn builder_round_trip() {
        let mut b = TransportCcBuilder::new();
        b.add(65534, 1_000_000)
            .add(1, 1_010_000)
            .add(0, 1_005_000)
            .add(3, 900_000);
        let fb = b.build(1, 2, 7).unwrap();
        assert_eq!(fb.base_sequence_number, 65534);
        assert_eq!(fb.packet_status_count, 6);
        let a: Vec<_> = fb.arrivals().collect();
        assert_eq!(
            a,
            vec![
                (65534, Some(1_000_000)),
                (65535, None),
                (0, Some(1_005_000)),
                (1, Some(1_010_000)),
                (2, None),
                (3, Some(900_000)),
            ]
        );
    }
}
