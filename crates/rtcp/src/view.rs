//! A by-reference walk of an RTCP datagram: [`PacketRefIter`] yields [`RtcpPacketRef`]s,
//! small views that borrow the datagram and read their fields from it on demand.
//!
//! The walk checks what [`PacketIter`](crate::PacketIter) checks, with the same errors at the
//! same offsets: every packet's header, length and padding, the compound rules of the
//! [`Mode`], the limits, and the whole body grammar of the packet types it has views for
//! (SR, RR, SDES, generic NACK, PLI: what a receiver gets on nearly every report interval).
//! Packets of the other types are framed and placed the same way and handed out as
//! [`OtherRef`]; their body is decoded, and checked, when [`OtherRef::parse`] is called.
//!
//! Nothing is copied, allocated or reference-counted: an SDES CNAME is a `&[u8]` into the
//! datagram (the owned [`Sdes`] holds a `Bytes` slice, two atomic updates), and a view is
//! at most 40 bytes, so no 128-byte [`RtcpPacket`] value is written and moved per packet.
//! Views convert to the owned types (`to_report`, `to_sdes`, `to_nack`, `to_packet`) when a value must outlive the datagram.

use bytes::Bytes;

use crate::packet::{check_placement, frame, Frame};
use crate::psfb::{Pli, FMT_PLI, PT_PSFB};
use crate::report::{
    block_bytes, check_profile_extensions, ReceiverReport, ReportBlock, SenderReport, PT_RR, PT_SR,
};
use crate::rtpfb::{Nack, NackPair, FMT_NACK, PT_RTPFB};
use crate::sdes::{Sdes, SdesChunk, SdesItem, SdesItemType, PT_SDES};
use crate::wire::{array, pad4, Body};
use crate::{Error, Limits, Mode, RtcpPacket};

/// One packet of a datagram, borrowed; see the [module](self) documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpPacketRef<'a> {
    /// Sender report.
    SenderReport(SenderReportRef<'a>),
    /// Receiver report.
    ReceiverReport(ReceiverReportRef<'a>),
    /// Source description.
    Sdes(SdesRef<'a>),
    /// Generic NACK (RTPFB 1).
    Nack(NackRef<'a>),
    /// Picture loss indication (PSFB 1).
    Pli(Pli),
    /// Any other packet: framed and placed, its body decoded by [`OtherRef::parse`].
    Other(OtherRef<'a>),
}

impl<'a> RtcpPacketRef<'a> {
    /// Packet type.
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacketRef::SenderReport(_) => PT_SR,
            RtcpPacketRef::ReceiverReport(_) => PT_RR,
            RtcpPacketRef::Sdes(_) => PT_SDES,
            RtcpPacketRef::Nack(_) => PT_RTPFB,
            RtcpPacketRef::Pli(_) => PT_PSFB,
            RtcpPacketRef::Other(o) => o.packet_type,
        }
    }

    /// The owned packet: what [`PacketIter`](crate::PacketIter) yields for the same bytes.
    /// Views copy their variable parts (SDES values, report extensions) into new buffers;
    /// [`OtherRef`] is decoded now, zero-copy, and may fail.
    pub fn to_packet(self) -> Result<RtcpPacket, Error> {
        Ok(match self {
            RtcpPacketRef::SenderReport(p) => RtcpPacket::SenderReport(p.to_report()),
            RtcpPacketRef::ReceiverReport(p) => RtcpPacket::ReceiverReport(p.to_report()),
            RtcpPacketRef::Sdes(p) => RtcpPacket::Sdes(p.to_sdes()),
            RtcpPacketRef::Nack(p) => RtcpPacket::Nack(p.to_nack()),
            RtcpPacketRef::Pli(p) => RtcpPacket::Pli(p),
            RtcpPacketRef::Other(o) => o.parse()?,
        })
    }

    /// Parses the packet at `buf[start..]` (its header already known to be in bounds or not:
    /// this checks). Returns the view and the packet's length.
    #[inline(always)]
    fn parse_at(buf: &'a Bytes, start: usize) -> Result<(Self, usize), Error> {
        let data = buf.get(start..).unwrap_or(&[]);
        let Frame {
            header: h,
            body_end,
            ..
        } = frame(data, start)?;
        // Positions in the reader are positions in `buf` (base 0, as `PacketIter` numbers them).
        let mut r = Body::new(buf, start + 4, start + body_end, 0);
        let p = match (h.packet_type, h.count) {
            (PT_SR, c) => RtcpPacketRef::SenderReport(SenderReportRef::parse(&mut r, c)?),
            (PT_RR, c) => RtcpPacketRef::ReceiverReport(ReceiverReportRef::parse(&mut r, c)?),
            (PT_SDES, c) => RtcpPacketRef::Sdes(SdesRef::parse(&mut r, c)?),
            (PT_RTPFB, FMT_NACK) => RtcpPacketRef::Nack(NackRef::parse(&mut r)?),
            (PT_PSFB, FMT_PLI) => RtcpPacketRef::Pli(Pli::parse(&mut r)?),
            (packet_type, count) => RtcpPacketRef::Other(OtherRef {
                buf,
                start,
                len: h.len,
                packet_type,
                count,
            }),
        };
        Ok((p, h.len))
    }
}

/// A sender report (RFC 3550 §6.4.1), borrowed: fields are read from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderReportRef<'a> {
    /// SSRC, NTP timestamp, RTP timestamp, packet and octet counts.
    info: &'a [u8; 24],
    /// The report blocks, 24 bytes each.
    blocks: &'a [u8],
    /// The profile-specific extension.
    ext: &'a [u8],
}

impl<'a> SenderReportRef<'a> {
    #[inline(always)]
    fn parse(r: &mut Body<'a>, count: u8) -> Result<Self, Error> {
        // The same reads as `SenderReport::parse`: sender info, blocks, extension.
        let info = r.field("sender info", 24, array::<24>)?;
        let blocks = block_bytes(r, count)?;
        check_profile_extensions(r)?;
        Ok(Self {
            info,
            blocks,
            ext: r.peek(),
        })
    }

    /// The sender.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        let [a, b, c, d, ..] = *self.info;
        u32::from_be_bytes([a, b, c, d])
    }

    /// NTP timestamp (32.32) of this report.
    #[inline]
    pub fn ntp_timestamp(&self) -> u64 {
        let [_, _, _, _, a, b, c, d, e, f, g, h, ..] = *self.info;
        u64::from_be_bytes([a, b, c, d, e, f, g, h])
    }

    /// The RTP timestamp matching the NTP timestamp.
    #[inline]
    pub fn rtp_timestamp(&self) -> u32 {
        be32_at(self.info, 12)
    }

    /// Packets sent.
    #[inline]
    pub fn packet_count(&self) -> u32 {
        be32_at(self.info, 16)
    }

    /// Payload octets sent.
    #[inline]
    pub fn octet_count(&self) -> u32 {
        be32_at(self.info, 20)
    }

    /// The reception report blocks.
    #[inline]
    pub fn reports(&self) -> ReportBlockIter<'a> {
        ReportBlockIter::new(self.blocks)
    }

    /// The `i`th report block.
    #[inline]
    pub fn report(&self, i: usize) -> Option<ReportBlock> {
        block_at(self.blocks, i)
    }

    /// The profile-specific extension after the blocks (a multiple of 4 bytes).
    #[inline]
    pub fn profile_extensions(&self) -> &'a [u8] {
        self.ext
    }

    /// The owned report (the extension copied).
    pub fn to_report(self) -> SenderReport {
        SenderReport {
            ssrc: self.ssrc(),
            ntp_timestamp: self.ntp_timestamp(),
            rtp_timestamp: self.rtp_timestamp(),
            packet_count: self.packet_count(),
            octet_count: self.octet_count(),
            reports: self.reports().collect(),
            profile_extensions: Bytes::copy_from_slice(self.ext),
        }
    }
}

/// A receiver report (RFC 3550 §6.4.2), borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverReportRef<'a> {
    /// The reporter.
    pub ssrc: u32,
    blocks: &'a [u8],
    ext: &'a [u8],
}

impl<'a> ReceiverReportRef<'a> {
    #[inline(always)]
    fn parse(r: &mut Body<'a>, count: u8) -> Result<Self, Error> {
        // The same reads as `ReceiverReport::parse`.
        let ssrc = r.u32("RR sender SSRC")?;
        let blocks = block_bytes(r, count)?;
        check_profile_extensions(r)?;
        Ok(Self {
            ssrc,
            blocks,
            ext: r.peek(),
        })
    }

    /// The reception report blocks.
    #[inline]
    pub fn reports(&self) -> ReportBlockIter<'a> {
        ReportBlockIter::new(self.blocks)
    }

    /// The `i`th report block.
    #[inline]
    pub fn report(&self, i: usize) -> Option<ReportBlock> {
        block_at(self.blocks, i)
    }

    /// The profile-specific extension after the blocks (a multiple of 4 bytes).
    #[inline]
    pub fn profile_extensions(&self) -> &'a [u8] {
        self.ext
    }

    /// The owned report (the extension copied).
    pub fn to_report(self) -> ReceiverReport {
        ReceiverReport {
            ssrc: self.ssrc,
            reports: self.reports().collect(),
            profile_extensions: Bytes::copy_from_slice(self.ext),
        }
    }
}

#[inline(always)]
fn be32_at(info: &[u8; 24], i: usize) -> u32 {
    info.get(i..i + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

#[inline(always)]
fn block_at(blocks: &[u8], i: usize) -> Option<ReportBlock> {
    let start = i.checked_mul(ReportBlock::LEN)?;
    let b = blocks.get(start..)?.first_chunk::<24>()?;
    Some(ReportBlock::from_bytes(b))
}

/// The report blocks of a borrowed SR or RR, decoded one by one.
#[derive(Clone, Debug)]
pub struct ReportBlockIter<'a> {
    blocks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> ReportBlockIter<'a> {
    fn new(blocks: &'a [u8]) -> Self {
        Self {
            blocks: blocks.chunks_exact(ReportBlock::LEN),
        }
    }
}

impl Iterator for ReportBlockIter<'_> {
    type Item = ReportBlock;

    #[inline]
    fn next(&mut self) -> Option<ReportBlock> {
        let b = self.blocks.next()?;
        Some(ReportBlock::from_bytes(b.first_chunk::<24>()?))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.blocks.size_hint()
    }
}

impl ExactSizeIterator for ReportBlockIter<'_> {}

/// A source description packet (RFC 3550 §6.5), borrowed and already checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesRef<'a> {
    /// The chunks as they are on the wire.
    body: &'a [u8],
    /// The number of chunks.
    count: u8,
    /// One of the items is a CNAME.
    has_cname: bool,
}

impl<'a> SdesRef<'a> {
    /// The same reads, in the same order and with the same errors, as `Sdes::parse`; nothing
    /// is kept but the body.
    #[inline(always)]
    fn parse(r: &mut Body<'a>, count: u8) -> Result<Self, Error> {
        let body = r.peek();
        let mut has_cname = false;
        for _ in 0..count {
            let start = r.remaining();
            r.u32("SDES chunk SSRC")?;
            loop {
                let t = r.u8("SDES item type")?;
                if t == 0 {
                    break;
                }
                has_cname |= t == 1;
                let len = r.u8("SDES item length")?;
                r.skip(usize::from(len), "SDES item value")?;
            }
            // Padding to the next 32-bit boundary: any octets, as `Sdes::parse` accepts.
            let used = start - r.remaining();
            r.skip(pad4(used), "SDES chunk padding")?;
        }
        if r.remaining() != 0 {
            return Err(r.invalid("SDES", "bytes left after the chunks the count announces"));
        }
        Ok(Self {
            body,
            count,
            has_cname,
        })
    }

    /// The chunks.
    #[inline]
    pub fn chunks(&self) -> SdesChunkIter<'a> {
        SdesChunkIter {
            rest: self.body,
            left: self.count,
        }
    }

    /// The number of chunks.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when there are no chunks.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True when one of the chunks has a CNAME item.
    #[inline]
    pub fn has_cname(&self) -> bool {
        self.has_cname
    }

    /// The owned packet (the item values copied).
    pub fn to_sdes(self) -> Sdes {
        Sdes {
            chunks: self
                .chunks()
                .map(|c| SdesChunk {
                    ssrc: c.ssrc,
                    items: c
                        .items()
                        .map(|i| SdesItem {
                            item_type: i.item_type,
                            value: Bytes::copy_from_slice(i.value),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The chunks of a borrowed SDES packet.
#[derive(Clone, Debug)]
pub struct SdesChunkIter<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for SdesChunkIter<'a> {
    type Item = SdesChunkRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<SdesChunkRef<'a>> {
        // The body was checked when the view was made: every step below succeeds.
        self.left = self.left.checked_sub(1)?;
        let (ssrc, after) = self.rest.split_first_chunk::<4>()?;
        // The items end at the first type octet that is 0.
        let mut at = 0;
        while let Some(&t) = after.get(at) {
            if t == 0 {
                break;
            }
            let len = usize::from(*after.get(at + 1)?);
            at += 2 + len;
        }
        let items = after.get(..at)?;
        let used = 4 + at + 1;
        self.rest = self.rest.get(used + pad4(used)..)?;
        Some(SdesChunkRef {
            ssrc: u32::from_be_bytes(*ssrc),
            items,
        })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for SdesChunkIter<'_> {}

/// One chunk of a borrowed SDES packet: a source and its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesChunkRef<'a> {
    /// The source (SSRC or CSRC).
    pub ssrc: u32,
    /// The items, without the null octet that ends them.
    items: &'a [u8],
}

impl<'a> SdesChunkRef<'a> {
    /// The items.
    #[inline]
    pub fn items(&self) -> SdesItemIter<'a> {
        SdesItemIter { rest: self.items }
    }

    /// The value of the first CNAME item, if any.
    #[inline]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.item_type == SdesItemType::Cname)
            .map(|i| i.value)
    }
}

/// The items of a borrowed SDES chunk.
#[derive(Clone, Debug)]
pub struct SdesItemIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItemIter<'a> {
    type Item = SdesItemRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<SdesItemRef<'a>> {
        let (&[t, len], rest) = self.rest.split_first_chunk::<2>()?;
        let (value, rest) = rest.split_at_checked(usize::from(len))?;
        self.rest = rest;
        Some(SdesItemRef {
            item_type: SdesItemType::from_u8(t),
            value,
        })
    }
}

/// One SDES item, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesItemRef<'a> {
    /// The type.
    pub item_type: SdesItemType,
    /// The value; for PRIV, the raw prefix-length/prefix/value bytes.
    pub value: &'a [u8],
}

/// A generic NACK (RFC 4585 §6.2.1), borrowed: the FCI entries are read on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackRef<'a> {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source the losses are on.
    pub media_ssrc: u32,
    fci: &'a [u8],
}

impl<'a> NackRef<'a> {
    #[inline(always)]
    fn parse(r: &mut Body<'a>) -> Result<Self, Error> {
        // The same reads as `Nack::parse`.
        let sender_ssrc = r.u32("NACK sender SSRC")?;
        let media_ssrc = r.u32("NACK media SSRC")?;
        if !r.remaining().is_multiple_of(4) {
            return Err(r.invalid("NACK FCI", "not a whole number of 4-byte entries"));
        }
        let fci = r.slice(r.remaining(), "NACK FCI")?;
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            fci,
        })
    }

    /// The FCI entries (PID, BLP).
    #[inline]
    pub fn pairs(&self) -> NackPairIter<'a> {
        NackPairIter {
            fci: self.fci.chunks_exact(4),
        }
    }

    /// All sequence numbers reported lost.
    pub fn lost(&self) -> impl Iterator<Item = u16> + 'a {
        self.pairs().flat_map(|p| {
            std::iter::once(p.packet_id).chain(
                (0..16u16)
                    .filter(move |i| p.lost_bitmask & (1 << i) != 0)
                    .map(move |i| p.packet_id.wrapping_add(i + 1)),
            )
        })
    }

    /// The owned packet.
    pub fn to_nack(self) -> Nack {
        Nack {
            sender_ssrc: self.sender_ssrc,
            media_ssrc: self.media_ssrc,
            pairs: self.pairs().collect(),
        }
    }
}

/// The FCI entries of a borrowed NACK.
#[derive(Clone, Debug)]
pub struct NackPairIter<'a> {
    fci: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for NackPairIter<'_> {
    type Item = NackPair;

    #[inline]
    fn next(&mut self) -> Option<NackPair> {
        let &[a, b, c, d] = self.fci.next()?.first_chunk::<4>()?;
        Some(NackPair {
            packet_id: u16::from_be_bytes([a, b]),
            lost_bitmask: u16::from_be_bytes([c, d]),
        })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fci.size_hint()
    }
}

impl ExactSizeIterator for NackPairIter<'_> {}

/// A packet of a type without a view (TWCC, BYE, APP, FIR, REMB, XR, …): framed and placed
/// by the walk, its body decoded by [`parse`](Self::parse).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtherRef<'a> {
    buf: &'a Bytes,
    start: usize,
    len: usize,
    /// Packet type.
    pub packet_type: u8,
    /// The 5-bit count / FMT field.
    pub count: u8,
}

impl<'a> OtherRef<'a> {
    /// The whole packet, header and padding included.
    #[inline]
    pub fn bytes(self) -> &'a [u8] {
        self.buf
            .get(self.start..self.start + self.len)
            .unwrap_or(&[])
    }

    /// Decodes the packet, as [`PacketIter`](crate::PacketIter) would have (variable parts
    /// are zero-copy slices of the datagram; errors carry offsets in the datagram).
    pub fn parse(self) -> Result<RtcpPacket, Error> {
        RtcpPacket::parse_at(self.buf, self.start, 0).map(|(p, _)| p)
    }
}

/// Iterates the packets of a borrowed datagram as views, checking the same rules as
/// [`PacketIter`](crate::PacketIter) as it goes (see the [module](self) documentation); after
/// an `Err` it ends.
#[derive(Clone, Debug)]
pub struct PacketRefIter<'a> {
    buf: &'a Bytes,
    offset: usize,
    count: usize,
    mode: Mode,
    limits: Limits,
    failed: bool,
    cname_seen: bool,
}

impl<'a> PacketRefIter<'a> {
    /// Iterates `buf` under reduced-size rules (any packet first; see [`Mode::ReducedSize`]).
    pub fn new(buf: &'a Bytes) -> Self {
        Self::with(buf, Mode::ReducedSize, Limits::default())
    }

    /// Iterates `buf` under compound rules (RFC 3550 §6.1; see [`Mode::Compound`]).
    pub fn compound(buf: &'a Bytes) -> Self {
        Self::with(buf, Mode::Compound, Limits::default())
    }

    /// Iterates `buf` under `mode` and `limits`.
    pub fn with(buf: &'a Bytes, mode: Mode, limits: Limits) -> Self {
        Self {
            buf,
            offset: 0,
            count: 0,
            mode,
            limits,
            failed: false,
            cname_seen: false,
        }
    }

    #[inline(always)]
    fn step(&mut self) -> Result<RtcpPacketRef<'a>, Error> {
        if self.count == self.limits.max_packets {
            return Err(Error::TooManyPackets {
                max: self.limits.max_packets,
            });
        }
        let (p, n) = RtcpPacketRef::parse_at(self.buf, self.offset)?;
        if self.mode.is_compound() {
            let padded = self.buf.get(self.offset).is_some_and(|b| b & 0x20 != 0);
            check_placement(
                self.mode,
                self.count,
                p.packet_type(),
                padded,
                self.offset,
                n,
                self.buf.len(),
            )?;
        }
        if self.mode == Mode::StrictCompound && !self.cname_seen {
            self.cname_seen = matches!(p, RtcpPacketRef::Sdes(s) if s.has_cname);
        }
        self.count += 1;
        self.offset += n;
        Ok(p)
    }
}

impl<'a> Iterator for PacketRefIter<'a> {
    type Item = Result<RtcpPacketRef<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.offset >= self.buf.len() {
            self.failed = true;
            if self.count == 0 {
                return Some(Err(Error::Empty));
            }
            if self.mode == Mode::StrictCompound && !self.cname_seen {
                return Some(Err(Error::MissingCname));
            }
            return None;
        }
        let r = self.step();
        self.failed = r.is_err();
        Some(r)
    }
}
