//! The hand-written RTCP parser that ferrtc-rtcp used before its nom grammar (issue 14), kept
//! only for tests and the `rtcp_differential` fuzz target (feature `legacy-parser`, off by
//! default): they run it and the library on the same datagrams and require identical results.
//! It is a frozen copy of the old code (the `Reader` cursor and one function per packet type),
//! so it shares no parsing code with what it checks. Delete it once the nom parser has been
//! fuzzed against it.
#![allow(missing_docs, dead_code, clippy::all)]

mod reader;

use bytes::Bytes;

use crate::bye::{PT_APP, PT_BYE};
use crate::ccfb::MAX_REPORTS_PER_BLOCK;
use crate::psfb::{FMT_AFB, FMT_FIR, FMT_PLI, FMT_SLI, PT_PSFB, REMB_ID};
use crate::report::{PT_RR, PT_SR};
use crate::rtpfb::{FMT_CCFB, FMT_NACK, FMT_TMMBN, FMT_TMMBR, FMT_TWCC, PT_RTPFB};
use crate::sdes::PT_SDES;
use crate::twcc::TwccData;
use crate::xr::{BT_DLRR, BT_RRTR, PT_XR};
use crate::*;
use reader::{pad4, Reader};

/// The old `parse_with`: every packet of a datagram under `mode` and `limits`.
pub fn parse_with(buf: Bytes, mode: Mode, limits: Limits) -> Result<Vec<RtcpPacket>, Error> {
    let mut out = Vec::new();
    let mut it = Iter {
        buf,
        offset: 0,
        count: 0,
        mode,
        limits,
        failed: false,
        cname_seen: false,
    };
    while let Some(p) = it.next() {
        out.push(p?);
    }
    Ok(out)
}

/// The old `RtcpPacket::parse_one`.
pub fn parse_one(buf: &Bytes, offset: usize) -> Result<(RtcpPacket, usize), Error> {
    parse_at(buf, 0, offset)
}

fn is_remb(body: &[u8]) -> bool {
    body.get(8..12) == Some(&REMB_ID[..])
}

fn has_cname(p: &RtcpPacket) -> bool {
    matches!(p, RtcpPacket::Sdes(s) if s.chunks.iter().any(|c| c.cname().is_some()))
}

fn is_compound(mode: Mode) -> bool {
    matches!(mode, Mode::Compound | Mode::StrictCompound)
}

struct Iter {
    buf: Bytes,
    offset: usize,
    count: usize,
    mode: Mode,
    limits: Limits,
    failed: bool,
    cname_seen: bool,
}

impl Iter {
    #[inline]
    fn step(&mut self) -> Result<RtcpPacket, Error> {
        if self.count == self.limits.max_packets {
            return Err(Error::TooManyPackets {
                max: self.limits.max_packets,
            });
        }
        let buf = &self.buf;
        let (p, n) = parse_at(buf, self.offset, 0)?;
        if is_compound(self.mode) {
            if self.count == 0
                && !matches!(
                    p,
                    RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)
                )
            {
                return Err(Error::FirstNotReport {
                    packet_type: p.packet_type(),
                });
            }
            let padded = buf.get(self.offset).is_some_and(|b| b & 0x20 != 0);
            if padded && self.offset + n != buf.len() {
                return Err(Error::PaddingNotLast {
                    offset: self.offset,
                });
            }
        }
        if self.mode == Mode::StrictCompound && !self.cname_seen {
            self.cname_seen = has_cname(&p);
        }
        self.count += 1;
        self.offset += n;
        Ok(p)
    }
}

impl Iterator for Iter {
    type Item = Result<RtcpPacket, Error>;

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

struct Header {
    padding: bool,
    count: u8,
    packet_type: u8,
    /// Total length in bytes, header included.
    len: usize,
}

fn parse_header(buf: &[u8], offset: usize) -> Result<Header, Error> {
    let h: [u8; 4] = buf
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::Truncated {
            what: "RTCP header",
            offset,
            needed: 4,
            available: buf.len(),
        })?;
    let version = h[0] >> 6;
    if version != 2 {
        return Err(Error::BadVersion { offset, version });
    }
    let len = 4 * (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1);
    if len > buf.len() {
        return Err(Error::BadLength {
            offset,
            length: len,
            available: buf.len(),
        });
    }
    Ok(Header {
        padding: h[0] & 0x20 != 0,
        count: h[0] & 0x1f,
        packet_type: h[1],
        len,
    })
}

fn parse_at(buf: &Bytes, start: usize, base: usize) -> Result<(RtcpPacket, usize), Error> {
    let data = buf.get(start..).unwrap_or(&[]);
    let h = parse_header(data, base + start)?;
    let mut body_end = h.len;
    let mut padding = 0u8;
    if h.padding {
        let count = data.get(h.len - 1).copied().unwrap_or(0);
        if count == 0 || usize::from(count) > h.len - 4 {
            return Err(Error::BadPadding {
                offset: base + start,
                count,
                length: h.len,
            });
        }
        padding = count;
        body_end -= usize::from(count);
    }
    // Positions in the reader are positions in `buf`.
    let mut r = Reader::range(buf, start + 4, start + body_end, base);
    let p = match (h.packet_type, h.count) {
        (PT_SR, c) => RtcpPacket::SenderReport(sender_report(&mut r, c)?),
        (PT_RR, c) => RtcpPacket::ReceiverReport(receiver_report(&mut r, c)?),
        (PT_SDES, c) => RtcpPacket::Sdes(sdes(&mut r, c)?),
        (PT_BYE, c) => RtcpPacket::Bye(bye(&mut r, c)?),
        (PT_APP, c) => RtcpPacket::App(app(&mut r, c)?),
        (PT_RTPFB, FMT_NACK) => RtcpPacket::Nack(nack(&mut r)?),
        (PT_RTPFB, FMT_TMMBR) => RtcpPacket::Tmmbr(tmmb(&mut r)?),
        (PT_RTPFB, FMT_TMMBN) => RtcpPacket::Tmmbn(tmmb(&mut r)?),
        (PT_RTPFB, FMT_CCFB) => RtcpPacket::CongestionControlFeedback(ccfb(&mut r)?),
        (PT_RTPFB, FMT_TWCC) => {
            let tail = data.get(body_end..h.len).unwrap_or(&[]);
            RtcpPacket::TransportCc(transport_cc(&mut r, padding, tail)?)
        }
        (PT_PSFB, FMT_PLI) => RtcpPacket::Pli(pli(&mut r)?),
        (PT_PSFB, FMT_SLI) => RtcpPacket::Sli(sli(&mut r)?),
        (PT_PSFB, FMT_FIR) => RtcpPacket::Fir(fir(&mut r)?),
        (PT_PSFB, FMT_AFB) if is_remb(data.get(4..body_end).unwrap_or(&[])) => {
            RtcpPacket::Remb(remb(&mut r)?)
        }
        (PT_XR, _) => RtcpPacket::ExtendedReport(extended_report(&mut r)?),
        (packet_type, count) => RtcpPacket::Raw(RawPacket {
            count,
            packet_type,
            body: r.rest(),
            padding,
        }),
    };
    Ok((p, h.len))
}

#[inline(always)]
fn report_block(b: &[u8; 24]) -> ReportBlock {
    let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
    // Sign-extend the 24-bit cumulative loss.
    let cumulative_lost = ((lost << 8) as i32) >> 8;
    ReportBlock {
        ssrc: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        fraction_lost: b[4],
        cumulative_lost,
        extended_highest_sequence: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        jitter: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        last_sr: u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
        delay_since_last_sr: u32::from_be_bytes([b[20], b[21], b[22], b[23]]),
    }
}

#[inline]
fn profile_extensions(r: &mut Reader<'_>) -> Result<Bytes, Error> {
    if !r.remaining().is_multiple_of(4) {
        // Only possible when a padding count cut it (RFC 3550 §6.4.1: 32-bit multiple).
        return Err(r.invalid(
            "report profile extension",
            "not a multiple of 32 bits once padding is removed",
        ));
    }
    Ok(r.rest())
}

/// All `count` blocks: the length is checked once, then each block is decoded straight from
/// the packet (no `Result` per block to write out and read back).
#[inline(always)]
fn parse_blocks(r: &mut Reader<'_>, count: u8) -> Result<ReportBlocks, Error> {
    let n = usize::from(count) * ReportBlock::LEN;
    if n > r.remaining() {
        return Err(Error::Truncated {
            what: "report blocks",
            offset: r.offset(),
            needed: n,
            available: r.remaining(),
        });
    }
    let blocks = r.slice(n, "report blocks")?;
    Ok(blocks
        .chunks_exact(ReportBlock::LEN)
        .filter_map(|b| <&[u8; 24]>::try_from(b).ok())
        .map(report_block)
        .collect())
}

/// Bytes of delta carried by the first `take` symbols of a chunk.
#[inline]
fn chunk_delta_len(v: u16, take: usize) -> usize {
    if v & 0x8000 == 0 {
        take * status_from_bits(v >> 13).delta_len()
    } else if v & 0x4000 == 0 {
        // 14 one-bit symbols, first in bit 13: a set bit is a small delta.
        let mask = (0x3fffu16 >> (14 - take.min(14))) << (14 - take.min(14));
        (v & mask).count_ones() as usize
    } else {
        // 7 two-bit symbols, first in bits 13-12.
        (0..take.min(7))
            .map(|i| status_from_bits(v >> (12 - 2 * i)).delta_len())
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

pub(crate) fn sender_report(r: &mut Reader<'_>, count: u8) -> Result<SenderReport, Error> {
    let f: &[u8; 24] = r.array_ref("sender info")?;
    let reports = parse_blocks(r, count)?;
    Ok(SenderReport {
        ssrc: u32::from_be_bytes([f[0], f[1], f[2], f[3]]),
        ntp_timestamp: u64::from_be_bytes([f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]]),
        rtp_timestamp: u32::from_be_bytes([f[12], f[13], f[14], f[15]]),
        packet_count: u32::from_be_bytes([f[16], f[17], f[18], f[19]]),
        octet_count: u32::from_be_bytes([f[20], f[21], f[22], f[23]]),
        reports,
        profile_extensions: profile_extensions(r)?,
    })
}

pub(crate) fn receiver_report(r: &mut Reader<'_>, count: u8) -> Result<ReceiverReport, Error> {
    let ssrc = r.u32("RR sender SSRC")?;
    let reports = parse_blocks(r, count)?;
    Ok(ReceiverReport {
        ssrc,
        reports,
        profile_extensions: profile_extensions(r)?,
    })
}

pub(crate) fn sdes(r: &mut Reader<'_>, count: u8) -> Result<Sdes, Error> {
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
    Ok(Sdes { chunks })
}

pub(crate) fn bye(r: &mut Reader<'_>, count: u8) -> Result<Bye, Error> {
    let mut ssrcs = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        ssrcs.push(r.u32("BYE SSRC")?);
    }
    let reason = if r.remaining() > 0 {
        let len = r.u8("BYE reason length")?;
        let reason = r.bytes(usize::from(len), "BYE reason")?;
        // Padding to 32 bits; its content is not checked (senders differ, as with SDES).
        r.skip(pad4(1 + usize::from(len)), "BYE reason padding")?;
        Some(reason)
    } else {
        None
    };
    if r.remaining() != 0 {
        return Err(r.invalid("BYE", "bytes left after the reason"));
    }
    Ok(Bye { ssrcs, reason })
}

pub(crate) fn app(r: &mut Reader<'_>, count: u8) -> Result<App, Error> {
    let ssrc = r.u32("APP SSRC")?;
    let name = r.array("APP name")?;
    if !r.remaining().is_multiple_of(4) {
        // Only possible when a padding count cut the data (RFC 3550 §6.7: 32-bit multiple).
        return Err(r.invalid(
            "APP data",
            "not a multiple of 32 bits once padding is removed",
        ));
    }
    Ok(App {
        subtype: count,
        ssrc,
        name,
        data: r.rest(),
    })
}

pub(crate) fn nack(r: &mut Reader<'_>) -> Result<Nack, Error> {
    let sender_ssrc = r.u32("NACK sender SSRC")?;
    let media_ssrc = r.u32("NACK media SSRC")?;
    if !r.remaining().is_multiple_of(4) {
        return Err(r.invalid("NACK FCI", "not a whole number of 4-byte entries"));
    }
    // Each entry is read straight from the packet (no `Result` per field).
    let fci = r.slice(r.remaining(), "NACK FCI")?;
    let pairs = fci
        .chunks_exact(4)
        .filter_map(|c| <&[u8; 4]>::try_from(c).ok())
        .map(|c| NackPair {
            packet_id: u16::from_be_bytes([c[0], c[1]]),
            lost_bitmask: u16::from_be_bytes([c[2], c[3]]),
        })
        .collect();
    Ok(Nack {
        sender_ssrc,
        media_ssrc,
        pairs,
    })
}

pub(crate) fn tmmb(r: &mut Reader<'_>) -> Result<Tmmb, Error> {
    let sender_ssrc = r.u32("TMMBR/TMMBN sender SSRC")?;
    let media_ssrc = r.u32("TMMBR/TMMBN media SSRC")?;
    if !r.remaining().is_multiple_of(8) {
        return Err(r.invalid("TMMBR/TMMBN FCI", "not a whole number of 8-byte entries"));
    }
    let mut items = Vec::with_capacity(r.remaining() / 8);
    while r.remaining() > 0 {
        let ssrc = r.u32("TMMBR SSRC")?;
        let v = r.u32("TMMBR MxTBR")?;
        items.push(TmmbItem {
            ssrc,
            exp: (v >> 26) as u8,
            mantissa: (v >> 9) & 0x1_ffff,
            overhead: (v & 0x1ff) as u16,
        });
    }
    Ok(Tmmb {
        sender_ssrc,
        media_ssrc,
        items,
    })
}

pub(crate) fn ccfb(r: &mut Reader<'_>) -> Result<CongestionControlFeedback, Error> {
    let sender_ssrc = r.u32("CCFB sender SSRC")?;
    let mut blocks = Vec::new();
    while r.remaining() > 4 {
        let ssrc = r.u32("CCFB report block SSRC")?;
        let begin_seq = r.u16("CCFB begin_seq")?;
        let n = usize::from(r.u16("CCFB num_reports")?);
        if n > MAX_REPORTS_PER_BLOCK {
            return Err(r.invalid("CCFB num_reports", "more than 16384 metric blocks"));
        }
        let padded = n + n % 2;
        let raw = r.slice(2 * padded, "CCFB packet metric blocks")?;
        let mut metrics = Vec::with_capacity(n);
        for m in raw.chunks_exact(2).take(n) {
            let v = u16::from_be_bytes([
                m.first().copied().unwrap_or(0),
                m.get(1).copied().unwrap_or(0),
            ]);
            metrics.push(PacketMetric {
                received: v & 0x8000 != 0,
                ecn: ((v >> 13) & 3) as u8,
                arrival_time_offset: v & 0x1fff,
            });
        }
        blocks.push(CcfbReportBlock {
            ssrc,
            begin_seq,
            metrics,
        });
    }
    let report_timestamp = r.u32("CCFB report timestamp")?;
    Ok(CongestionControlFeedback {
        sender_ssrc,
        blocks,
        report_timestamp,
    })
}

pub(crate) fn pli(r: &mut Reader<'_>) -> Result<Pli, Error> {
    let v = Pli {
        sender_ssrc: r.u32("PLI sender SSRC")?,
        media_ssrc: r.u32("PLI media SSRC")?,
    };
    if r.remaining() != 0 {
        return Err(r.invalid("PLI", "a PLI has no FCI (RFC 4585 §6.3.1)"));
    }
    Ok(v)
}

pub(crate) fn sli(r: &mut Reader<'_>) -> Result<Sli, Error> {
    let sender_ssrc = r.u32("SLI sender SSRC")?;
    let media_ssrc = r.u32("SLI media SSRC")?;
    if !r.remaining().is_multiple_of(4) {
        return Err(r.invalid("SLI FCI", "not a whole number of 4-byte entries"));
    }
    let mut entries = Vec::with_capacity(r.remaining() / 4);
    while r.remaining() > 0 {
        let v = r.u32("SLI entry")?;
        entries.push(SliEntry {
            first: (v >> 19) as u16,
            number: ((v >> 6) & 0x1fff) as u16,
            picture_id: (v & 0x3f) as u8,
        });
    }
    Ok(Sli {
        sender_ssrc,
        media_ssrc,
        entries,
    })
}

pub(crate) fn fir(r: &mut Reader<'_>) -> Result<Fir, Error> {
    let sender_ssrc = r.u32("FIR sender SSRC")?;
    let media_ssrc = r.u32("FIR media SSRC")?;
    if !r.remaining().is_multiple_of(8) {
        return Err(r.invalid("FIR FCI", "not a whole number of 8-byte entries"));
    }
    let mut entries = Vec::with_capacity(r.remaining() / 8);
    while r.remaining() > 0 {
        let ssrc = r.u32("FIR SSRC")?;
        let v = r.u32("FIR sequence number")?;
        entries.push(FirEntry {
            ssrc,
            sequence_number: (v >> 24) as u8,
        });
    }
    Ok(Fir {
        sender_ssrc,
        media_ssrc,
        entries,
    })
}

pub(crate) fn remb(r: &mut Reader<'_>) -> Result<Remb, Error> {
    let sender_ssrc = r.u32("REMB sender SSRC")?;
    let media_ssrc = r.u32("REMB media SSRC")?;
    r.skip(4, "REMB identifier")?;
    let num = r.u8("REMB number of SSRCs")?;
    let [a, b, c] = r.array::<3>("REMB bitrate")?;
    let v = u32::from_be_bytes([0, a, b, c]);
    let mut ssrcs = Vec::with_capacity(usize::from(num));
    for _ in 0..num {
        ssrcs.push(r.u32("REMB SSRC")?);
    }
    if r.remaining() != 0 {
        return Err(r.invalid("REMB", "bytes left after the SSRC list"));
    }
    Ok(Remb {
        sender_ssrc,
        media_ssrc,
        exp: (v >> 18) as u8,
        mantissa: v & 0x3_ffff,
        ssrcs,
    })
}

pub(crate) fn extended_report(r: &mut Reader<'_>) -> Result<ExtendedReport, Error> {
    let ssrc = r.u32("XR SSRC")?;
    let mut blocks = Vec::new();
    while r.remaining() > 0 {
        let block_type = r.u8("XR block type")?;
        let type_specific = r.u8("XR type-specific")?;
        let words = usize::from(r.u16("XR block length")?);
        let at = r.offset();
        match block_type {
            BT_RRTR => {
                if words != 2 {
                    return Err(Error::Invalid {
                        what: "XR RRTR block",
                        offset: at,
                        why: "block length must be 2",
                    });
                }
                blocks.push(XrBlock::Rrtr {
                    ntp_timestamp: r.u64("XR RRTR NTP timestamp")?,
                });
            }
            BT_DLRR => {
                if !words.is_multiple_of(3) {
                    return Err(Error::Invalid {
                        what: "XR DLRR block",
                        offset: at,
                        why: "block length is not a multiple of 3 words",
                    });
                }
                if 4 * words > r.remaining() {
                    return Err(Error::Truncated {
                        what: "XR DLRR block",
                        offset: at,
                        needed: 4 * words,
                        available: r.remaining(),
                    });
                }
                let mut items = Vec::with_capacity(words / 3);
                for _ in 0..words / 3 {
                    items.push(DlrrItem {
                        ssrc: r.u32("XR DLRR SSRC")?,
                        last_rr: r.u32("XR DLRR LRR")?,
                        delay_since_last_rr: r.u32("XR DLRR DLRR")?,
                    });
                }
                blocks.push(XrBlock::Dlrr(items));
            }
            _ => blocks.push(XrBlock::Other {
                block_type,
                type_specific,
                data: r.bytes(4 * words, "XR block")?,
            }),
        }
    }
    Ok(ExtendedReport { ssrc, blocks })
}

pub(crate) fn transport_cc(
    r: &mut Reader<'_>,
    padding: u8,
    padded_tail: &[u8],
) -> Result<TransportCc, Error> {
    let sender_ssrc = r.u32("TWCC sender SSRC")?;
    let media_ssrc = r.u32("TWCC media SSRC")?;
    let base_sequence_number = r.u16("TWCC base sequence number")?;
    let packet_status_count = r.u16("TWCC packet status count")?;
    let v = r.u32("TWCC reference time")?;
    let start = r.offset();
    let (body, body_pos) = r.peek_rest();
    let (clen, dlen) = measure(body, packet_status_count).ok_or(Error::Truncated {
        what: "TWCC packet status chunks",
        offset: start,
        needed: 2 * (body.len() / 2 + 1),
        available: body.len(),
    })?;
    let data = if clen + dlen <= body.len() {
        TwccData::of_packet(r.source(), body_pos, body_pos + clen + dlen)
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
    Ok(TransportCc {
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

fn status_from_bits(b: u16) -> PacketStatus {
    match b & 3 {
        0 => PacketStatus::NotReceived,
        1 => PacketStatus::SmallDelta,
        2 => PacketStatus::LargeDelta,
        _ => PacketStatus::Reserved,
    }
}
