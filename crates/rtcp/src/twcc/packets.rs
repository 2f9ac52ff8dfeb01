//! Decoding the packet status chunks and receive deltas of a feedback message (draft
//! §3.1.3-§3.1.5) one packet at a time, without allocating.

use super::{PacketStatus, TwccPacket};

/// Iterator over the packets of a feedback message; see
/// [`TransportCc::packets`](super::TransportCc::packets).
///
/// Runs and status vectors decode alike: every chunk becomes a 32-bit register of two-bit
/// symbols, next one in the top bits, rotated by two bits per packet. A one-bit vector has its
/// bits spread to two-bit codes (0 → 00, 1 → 01, which mean the same); a run repeats its
/// status in all sixteen slots, so rotating it yields the same status for as long as it
/// lasts. Constant shifts and a small state keep the caller's loop in registers.
#[derive(Clone, Debug)]
pub struct TwccPackets<'a> {
    pub(super) chunks: &'a [u8],
    pub(super) deltas: &'a [u8],
    /// Sequence number of the next packet.
    pub(super) seq: u16,
    /// Sequence number after the last packet (base + `packet_status_count`, wrapping): the
    /// walk ends when `seq` reaches it. One register less than a separate count, which lets a
    /// caller's loop keep its own state in registers.
    pub(super) end: u16,
    /// Two-bit symbols of the current chunk, next one in the top bits.
    pub(super) bits: u32,
    /// Symbols left in the current chunk (a run holds up to 8191).
    pub(super) left_in_chunk: u16,
}

/// Spreads the 16 bits of `x` to the even bits of a `u32` (bit i to bit 2i), turning one-bit
/// symbols into the two-bit codes 00 and 01.
#[inline]
pub(super) fn spread_bits(x: u16) -> u32 {
    let mut x = u32::from(x);
    x = (x | x << 8) & 0x00ff_00ff;
    x = (x | x << 4) & 0x0f0f_0f0f;
    x = (x | x << 2) & 0x3333_3333;
    (x | x << 1) & 0x5555_5555
}

impl Iterator for TwccPackets<'_> {
    type Item = TwccPacket;

    #[inline]
    fn next(&mut self) -> Option<TwccPacket> {
        if self.seq == self.end {
            return None;
        }
        while self.left_in_chunk == 0 {
            let (c, rest) = self.chunks.split_first_chunk::<2>()?;
            self.chunks = rest;
            let v = u16::from_be_bytes(*c);
            if v & 0x8000 == 0 {
                // Run length chunk (draft §3.1.3): status in bits 14-13, length in 12-0.
                self.bits = u32::from((v >> 13) & 3) * 0x5555_5555;
                self.left_in_chunk = v & 0x1fff;
            } else if v & 0x4000 == 0 {
                // One-bit status vector (§3.1.4): 14 symbols, first in bit 13.
                self.bits = spread_bits(v & 0x3fff) << 4;
                self.left_in_chunk = 14;
            } else {
                // Two-bit status vector: 7 symbols, first in bits 13-12.
                self.bits = u32::from(v & 0x3fff) << 18;
                self.left_in_chunk = 7;
            }
        }
        let code = self.bits >> 30;
        self.bits = self.bits.rotate_left(2);
        self.left_in_chunk -= 1;
        // Delta bytes per code (00 → 0, 01 → 1, 10 → 2, 11 → 0) from a nibble table, then one
        // slice split and a match on its length: no jump table per packet.
        let n = ((0x0210u32 >> (4 * code)) & 3) as usize;
        let (d, rest) = self.deltas.split_at_checked(n)?;
        self.deltas = rest;
        let (status, delta_ticks) = match *d {
            [a] => (PacketStatus::SmallDelta, Some(i16::from(a))),
            [a, b] => (PacketStatus::LargeDelta, Some(i16::from_be_bytes([a, b]))),
            _ if code == 0 => (PacketStatus::NotReceived, None),
            _ => (PacketStatus::Reserved, None),
        };
        let sequence_number = self.seq;
        self.seq = self.seq.wrapping_add(1);
        Some(TwccPacket {
            sequence_number,
            status,
            delta_ticks,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.end.wrapping_sub(self.seq))))
    }
}
