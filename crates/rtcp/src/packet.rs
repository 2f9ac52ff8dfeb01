//! The RTCP packet enum, the common header (RFC 3550 §6.4.1) and compound / reduced-size
//! parsing (RFC 3550 §6.1, A.2; RFC 5506 §3).

use std::borrow::Borrow;

use bytes::{BufMut, Bytes};

use crate::bye::{App, Bye, PT_APP, PT_BYE};
use crate::ccfb::CongestionControlFeedback;
use crate::psfb::{Fir, Pli, Remb, Sli, FMT_AFB, FMT_FIR, FMT_PLI, FMT_SLI, PT_PSFB};
use nom::Parser;

use crate::report::{ReceiverReport, SenderReport, PT_RR, PT_SR};
use crate::rtpfb::{Nack, Tmmb, FMT_CCFB, FMT_NACK, FMT_TMMBN, FMT_TMMBR, FMT_TWCC, PT_RTPFB};
use crate::sdes::{Sdes, PT_SDES};
use crate::twcc::TransportCc;
use crate::wire::{be_u16, be_u8, Body};
use crate::xr::{ExtendedReport, PT_XR};
use crate::Error;

/// A packet this crate does not decode (unknown PT, or an unknown FMT of RTPFB/PSFB), kept raw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawPacket {
    /// The 5-bit count / FMT field.
    pub count: u8,
    /// Packet type.
    pub packet_type: u8,
    /// Body after the 4-byte header, without padding (a multiple of 4 bytes; zeros are
    /// appended when written otherwise).
    pub body: Bytes,
    /// Padding count (P bit) as received; 0 for none. Packets are 32-bit aligned, so with a
    /// body that is a multiple of 4 this is a multiple of 4 too (zeros are inserted before the
    /// padding otherwise, and become part of the body when parsed back).
    pub padding: u8,
}

/// One RTCP packet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RtcpPacket {
    /// Sender report.
    SenderReport(SenderReport),
    /// Receiver report.
    ReceiverReport(ReceiverReport),
    /// Source description.
    Sdes(Sdes),
    /// Goodbye.
    Bye(Bye),
    /// Application-defined.
    App(App),
    /// Generic NACK (RTPFB 1).
    Nack(Nack),
    /// TMMBR (RTPFB 3).
    Tmmbr(Tmmb),
    /// TMMBN (RTPFB 4).
    Tmmbn(Tmmb),
    /// RFC 8888 congestion control feedback (RTPFB 11).
    CongestionControlFeedback(CongestionControlFeedback),
    /// Transport-wide CC feedback (RTPFB 15).
    TransportCc(TransportCc),
    /// Picture loss indication (PSFB 1).
    Pli(Pli),
    /// Slice loss indication (PSFB 2).
    Sli(Sli),
    /// Full intra request (PSFB 4).
    Fir(Fir),
    /// Receiver estimated maximum bitrate (PSFB 15, "REMB").
    Remb(Remb),
    /// Extended report.
    ExtendedReport(ExtendedReport),
    /// Anything else.
    Raw(RawPacket),
}

/// How a datagram of RTCP is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A compound packet (RFC 3550 §6.1, A.2): the first packet is an SR or RR, only the last
    /// one is padded, the lengths add up to the datagram.
    Compound,
    /// Reduced-size RTCP (RFC 5506 §3, negotiated with `a=rtcp-rsize`): any packet may come
    /// first, alone or not; padding is allowed on any packet; lengths must add up. Every valid
    /// compound packet is also valid here, so this is the default for WebRTC ([`parse`]).
    ReducedSize,
    /// [`Mode::Compound`] and also RFC 3550 §6.1's content rule: an SDES packet with a CNAME
    /// item must be present ("a CNAME item MUST be included in each compound RTCP packet").
    /// For endpoints that did not negotiate reduced-size RTCP and want to hold peers to it.
    StrictCompound,
}

impl Mode {
    pub(crate) fn is_compound(self) -> bool {
        matches!(self, Mode::Compound | Mode::StrictCompound)
    }
}

/// Parsing limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most packets accepted in one datagram.
    pub max_packets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_packets: 64 }
    }
}

pub(crate) struct Header {
    pub(crate) padding: bool,
    pub(crate) count: u8,
    pub(crate) packet_type: u8,
    /// Total length in bytes, header included.
    pub(crate) len: usize,
}

/// The common header (RFC 3550 §6.4.1):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  count  |      PT       |             length            |
/// ```
///
/// `length` is the packet's size in 32-bit words minus one; the packet must fit in `buf`.
#[inline(always)]
fn parse_header(buf: &[u8], offset: usize) -> Result<Header, Error> {
    let (_, (b0, packet_type, length)) =
        (be_u8, be_u8, be_u16)
            .parse(buf)
            .map_err(|_| Error::Truncated {
                what: "RTCP header",
                offset,
                needed: 4,
                available: buf.len(),
            })?;
    let version = b0 >> 6;
    if version != 2 {
        return Err(Error::BadVersion { offset, version });
    }
    let len = 4 * (usize::from(length) + 1);
    if len > buf.len() {
        return Err(Error::BadLength {
            offset,
            length: len,
            available: buf.len(),
        });
    }
    Ok(Header {
        padding: b0 & 0x20 != 0,
        count: b0 & 0x1f,
        packet_type,
        len,
    })
}

/// One packet's framing: its common header, where its body ends (the padding removed) and
/// its padding count.
pub(crate) struct Frame {
    pub(crate) header: Header,
    /// End of the body, from the packet's first byte.
    pub(crate) body_end: usize,
    /// The padding count (P bit), 0 for none.
    pub(crate) padding: u8,
}

/// The header of the packet at the start of `data` and its padding (RFC 3550 §6.4.1: the
/// last octet of a padded packet counts the padding octets, itself included). `offset` is
/// where `data` starts in the datagram, for error messages.
#[inline(always)]
pub(crate) fn frame(data: &[u8], offset: usize) -> Result<Frame, Error> {
    let h = parse_header(data, offset)?;
    let mut body_end = h.len;
    let mut padding = 0u8;
    if h.padding {
        let count = data.get(h.len - 1).copied().unwrap_or(0);
        if count == 0 || usize::from(count) > h.len - 4 {
            return Err(Error::BadPadding {
                offset,
                count,
                length: h.len,
            });
        }
        padding = count;
        body_end -= usize::from(count);
    }
    Ok(Frame {
        header: h,
        body_end,
        padding,
    })
}

/// The datagram-level rules a walk checks after each packet (RFC 3550 §6.1, A.2 in the
/// compound modes): the first packet is an SR or RR, only the last one is padded. `index` is
/// the packet's position in the datagram, `offset` where it starts, `len` its length.
#[inline(always)]
pub(crate) fn check_placement(
    mode: Mode,
    index: usize,
    packet_type: u8,
    padded: bool,
    offset: usize,
    len: usize,
    datagram_len: usize,
) -> Result<(), Error> {
    if mode.is_compound() {
        if index == 0 && packet_type != PT_SR && packet_type != PT_RR {
            return Err(Error::FirstNotReport { packet_type });
        }
        if padded && offset + len != datagram_len {
            return Err(Error::PaddingNotLast { offset });
        }
    }
    Ok(())
}

impl RtcpPacket {
    /// Parses the first packet of `buf`; returns it and its length in bytes. `offset` is where
    /// `buf` starts in the datagram, for error messages.
    pub fn parse_one(buf: &Bytes, offset: usize) -> Result<(RtcpPacket, usize), Error> {
        Self::parse_at(buf, 0, offset)
    }

    /// Parses the packet that starts at `buf[start..]`; returns it and its length in bytes.
    /// `base` is where `buf` starts in the datagram, for error messages. Slices of the packet
    /// are taken from `buf` itself, so a caller walking a datagram needs no `Bytes` of its own
    /// per packet (each one costs a reference-count update).
    #[inline]
    pub(crate) fn parse_at(
        buf: &Bytes,
        start: usize,
        base: usize,
    ) -> Result<(RtcpPacket, usize), Error> {
        let data = buf.get(start..).unwrap_or(&[]);
        let Frame {
            header: h,
            body_end,
            padding,
        } = frame(data, base + start)?;
        // Positions in the reader are positions in `buf`.
        let mut r = Body::new(buf, start + 4, start + body_end, base);
        let p = match (h.packet_type, h.count) {
            (PT_SR, c) => RtcpPacket::SenderReport(SenderReport::parse(&mut r, c)?),
            (PT_RR, c) => RtcpPacket::ReceiverReport(ReceiverReport::parse(&mut r, c)?),
            (PT_SDES, c) => RtcpPacket::Sdes(Sdes::parse(&mut r, c)?),
            (PT_BYE, c) => RtcpPacket::Bye(Bye::parse(&mut r, c)?),
            (PT_APP, c) => RtcpPacket::App(App::parse(&mut r, c)?),
            (PT_RTPFB, FMT_NACK) => RtcpPacket::Nack(Nack::parse(&mut r)?),
            (PT_RTPFB, FMT_TMMBR) => RtcpPacket::Tmmbr(Tmmb::parse(&mut r)?),
            (PT_RTPFB, FMT_TMMBN) => RtcpPacket::Tmmbn(Tmmb::parse(&mut r)?),
            (PT_RTPFB, FMT_CCFB) => {
                RtcpPacket::CongestionControlFeedback(CongestionControlFeedback::parse(&mut r)?)
            }
            (PT_RTPFB, FMT_TWCC) => {
                let tail = data.get(body_end..h.len).unwrap_or(&[]);
                RtcpPacket::TransportCc(TransportCc::parse(&mut r, padding, tail)?)
            }
            (PT_PSFB, FMT_PLI) => RtcpPacket::Pli(Pli::parse(&mut r)?),
            (PT_PSFB, FMT_SLI) => RtcpPacket::Sli(Sli::parse(&mut r)?),
            (PT_PSFB, FMT_FIR) => RtcpPacket::Fir(Fir::parse(&mut r)?),
            (PT_PSFB, FMT_AFB) if Remb::is_remb(data.get(4..body_end).unwrap_or(&[])) => {
                RtcpPacket::Remb(Remb::parse(&mut r)?)
            }
            (PT_XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::parse(&mut r)?),
            (packet_type, count) => RtcpPacket::Raw(RawPacket {
                count,
                packet_type,
                body: r.rest(),
                padding,
            }),
        };
        Ok((p, h.len))
    }

    /// Parses a single packet that fills `buf` exactly.
    pub fn parse(buf: Bytes) -> Result<RtcpPacket, Error> {
        let (p, n) = Self::parse_one(&buf, 0)?;
        if n != buf.len() {
            return Err(Error::Invalid {
                what: "RTCP packet",
                offset: n,
                why: "bytes left after the packet",
            });
        }
        Ok(p)
    }

    /// Packet type.
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => PT_SR,
            RtcpPacket::ReceiverReport(_) => PT_RR,
            RtcpPacket::Sdes(_) => PT_SDES,
            RtcpPacket::Bye(_) => PT_BYE,
            RtcpPacket::App(_) => PT_APP,
            RtcpPacket::Nack(_)
            | RtcpPacket::Tmmbr(_)
            | RtcpPacket::Tmmbn(_)
            | RtcpPacket::CongestionControlFeedback(_)
            | RtcpPacket::TransportCc(_) => PT_RTPFB,
            RtcpPacket::Pli(_) | RtcpPacket::Sli(_) | RtcpPacket::Fir(_) | RtcpPacket::Remb(_) => {
                PT_PSFB
            }
            RtcpPacket::ExtendedReport(_) => PT_XR,
            RtcpPacket::Raw(r) => r.packet_type,
        }
    }

    fn count(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(p) => p.count(),
            RtcpPacket::ReceiverReport(p) => p.count(),
            RtcpPacket::Sdes(p) => p.count(),
            RtcpPacket::Bye(p) => p.count(),
            RtcpPacket::App(p) => p.count(),
            RtcpPacket::Nack(_) => FMT_NACK,
            RtcpPacket::Tmmbr(_) => FMT_TMMBR,
            RtcpPacket::Tmmbn(_) => FMT_TMMBN,
            RtcpPacket::CongestionControlFeedback(_) => FMT_CCFB,
            RtcpPacket::TransportCc(_) => FMT_TWCC,
            RtcpPacket::Pli(_) => FMT_PLI,
            RtcpPacket::Sli(_) => FMT_SLI,
            RtcpPacket::Fir(_) => FMT_FIR,
            RtcpPacket::Remb(_) => FMT_AFB,
            RtcpPacket::ExtendedReport(_) => 0,
            RtcpPacket::Raw(r) => r.count & 0x1f,
        }
    }

    /// Padding count written after the body (0: P bit clear).
    fn padding(&self) -> u8 {
        match self {
            RtcpPacket::TransportCc(p) => p.padding,
            RtcpPacket::Raw(p) => p.padding,
            _ => 0,
        }
    }

    /// Body length without P-bit padding but with any alignment zeros.
    fn body_len(&self) -> usize {
        match self {
            RtcpPacket::SenderReport(p) => p.body_len(),
            RtcpPacket::ReceiverReport(p) => p.body_len(),
            RtcpPacket::Sdes(p) => p.body_len(),
            RtcpPacket::Bye(p) => p.body_len(),
            RtcpPacket::App(p) => p.body_len(),
            RtcpPacket::Nack(p) => p.body_len(),
            RtcpPacket::Tmmbr(p) | RtcpPacket::Tmmbn(p) => p.body_len(),
            RtcpPacket::CongestionControlFeedback(p) => p.body_len(),
            // Includes its padding.
            RtcpPacket::TransportCc(p) => p.body_len() - usize::from(p.padding),
            RtcpPacket::Pli(_) => 8,
            RtcpPacket::Sli(p) => p.body_len(),
            RtcpPacket::Fir(p) => p.body_len(),
            RtcpPacket::Remb(p) => p.body_len(),
            RtcpPacket::ExtendedReport(p) => p.body_len(),
            RtcpPacket::Raw(p) => {
                p.body.len() + crate::wire::pad4(p.body.len() + usize::from(p.padding))
            }
        }
    }

    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        4 + self.body_len() + usize::from(self.padding())
    }

    /// Writes the packet.
    pub fn write_to(&self, out: &mut impl BufMut) {
        let padding = self.padding();
        let len = self.encoded_len();
        out.put_u8(0x80 | if padding != 0 { 0x20 } else { 0 } | self.count());
        out.put_u8(self.packet_type());
        out.put_u16((len / 4 - 1) as u16);
        match self {
            RtcpPacket::SenderReport(p) => p.write_body(out),
            RtcpPacket::ReceiverReport(p) => p.write_body(out),
            RtcpPacket::Sdes(p) => p.write_body(out),
            RtcpPacket::Bye(p) => p.write_body(out),
            RtcpPacket::App(p) => p.write_body(out),
            RtcpPacket::Nack(p) => p.write_body(out),
            RtcpPacket::Tmmbr(p) | RtcpPacket::Tmmbn(p) => p.write_body(out),
            RtcpPacket::CongestionControlFeedback(p) => p.write_body(out),
            RtcpPacket::TransportCc(p) => p.write_body(out),
            RtcpPacket::Pli(p) => p.write_body(out),
            RtcpPacket::Sli(p) => p.write_body(out),
            RtcpPacket::Fir(p) => p.write_body(out),
            RtcpPacket::Remb(p) => p.write_body(out),
            RtcpPacket::ExtendedReport(p) => p.write_body(out),
            RtcpPacket::Raw(p) => {
                out.put_slice(&p.body);
                out.put_bytes(0, crate::wire::pad4(p.body.len() + usize::from(padding)));
            }
        }
        if padding != 0 {
            out.put_bytes(0, usize::from(padding) - 1);
            out.put_u8(padding);
        }
    }

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut v);
        Bytes::from(v)
    }
}

/// Iterates the packets of a datagram without collecting them (no allocation for the list),
/// checking the same rules as [`parse_with`] as it goes: after an `Err` it ends.
///
/// It owns the datagram (`PacketIter::new(bytes)`) or borrows it (`PacketIter::new(&bytes)`):
/// borrowing saves the caller a `Bytes` clone; the packets it yields hold their own slices
/// either way.
#[derive(Clone, Debug)]
pub struct PacketIter<B: Borrow<Bytes> = Bytes> {
    buf: B,
    /// Where the next packet starts in `buf`.
    offset: usize,
    count: usize,
    mode: Mode,
    limits: Limits,
    failed: bool,
    /// An SDES packet with a CNAME item was seen ([`Mode::StrictCompound`]).
    cname_seen: bool,
}

impl<B: Borrow<Bytes>> PacketIter<B> {
    /// Iterates `buf` under reduced-size rules (any packet first; see [`Mode::ReducedSize`]).
    pub fn new(buf: B) -> Self {
        Self::with(buf, Mode::ReducedSize, Limits::default())
    }

    /// Iterates `buf` under compound rules (RFC 3550 §6.1; see [`Mode::Compound`]).
    pub fn compound(buf: B) -> Self {
        Self::with(buf, Mode::Compound, Limits::default())
    }

    /// Iterates `buf` under `mode` and `limits`.
    pub fn with(buf: B, mode: Mode, limits: Limits) -> Self {
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

    #[inline]
    fn step(&mut self) -> Result<RtcpPacket, Error> {
        if self.count == self.limits.max_packets {
            return Err(Error::TooManyPackets {
                max: self.limits.max_packets,
            });
        }
        let buf = self.buf.borrow();
        let (p, n) = RtcpPacket::parse_at(buf, self.offset, 0)?;
        if self.mode.is_compound() {
            // The rules of `check_placement`, with the packet type looked at only for the
            // first packet (here it is a match on the decoded value).
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

impl<B: Borrow<Bytes>> Iterator for PacketIter<B> {
    type Item = Result<RtcpPacket, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.offset >= self.buf.borrow().len() {
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

/// Parses a datagram of RTCP under `mode` and `limits`.
pub fn parse_with(buf: Bytes, mode: Mode, limits: Limits) -> Result<Vec<RtcpPacket>, Error> {
    let mut out = Vec::with_capacity(4);
    for p in PacketIter::with(buf, mode, limits) {
        out.push(p?);
    }
    Ok(out)
}

/// Parses a datagram of RTCP the way a WebRTC endpoint should by default: under reduced-size
/// rules (RFC 5506 §3, which WebRTC endpoints must support, RFC 8834 §4.6), which also accept every valid
/// compound packet. Default limits.
pub fn parse(buf: Bytes) -> Result<Vec<RtcpPacket>, Error> {
    parse_with(buf, Mode::ReducedSize, Limits::default())
}

/// Parses a compound RTCP packet (the validity checks of RFC 3550 A.2: first packet SR or RR,
/// only the last padded, lengths add up; default limits). It does not require a CNAME: use
/// [`Mode::StrictCompound`] or [`validate_compound`] for that.
pub fn parse_compound(buf: Bytes) -> Result<Vec<RtcpPacket>, Error> {
    parse_with(buf, Mode::Compound, Limits::default())
}

/// Parses a compound RTCP packet under all of RFC 3550 §6.1: [`parse_compound`]'s checks and
/// an SDES CNAME ([`Mode::StrictCompound`]).
pub fn parse_strict_compound(buf: Bytes) -> Result<Vec<RtcpPacket>, Error> {
    parse_with(buf, Mode::StrictCompound, Limits::default())
}

fn has_cname(p: &RtcpPacket) -> bool {
    matches!(p, RtcpPacket::Sdes(s) if s.chunks.iter().any(|c| c.cname().is_some()))
}

/// Checks packets already parsed (or about to be sent) against the compound rules of
/// RFC 3550 §6.1: at least one packet, the first an SR or RR, only the last one padded, and an
/// SDES packet with a CNAME item among them. Use it on what you build before sending to a
/// peer that did not negotiate reduced-size RTCP (`a=rtcp-rsize`), or on what
/// [`parse`] accepted when the compound rules must hold.
pub fn validate_compound(packets: &[RtcpPacket]) -> Result<(), Error> {
    let first = packets.first().ok_or(Error::Empty)?;
    if !matches!(
        first,
        RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)
    ) {
        return Err(Error::FirstNotReport {
            packet_type: first.packet_type(),
        });
    }
    let mut offset = 0;
    for p in packets.iter().take(packets.len() - 1) {
        if p.padding() != 0 {
            return Err(Error::PaddingNotLast { offset });
        }
        offset += p.encoded_len();
    }
    if !packets.iter().any(has_cname) {
        return Err(Error::MissingCname);
    }
    Ok(())
}

/// Parses reduced-size RTCP (RFC 5506, default limits).
pub fn parse_reduced_size(buf: Bytes) -> Result<Vec<RtcpPacket>, Error> {
    parse_with(buf, Mode::ReducedSize, Limits::default())
}

/// Encoded length of several packets.
pub fn compound_len(packets: &[RtcpPacket]) -> usize {
    packets.iter().map(RtcpPacket::encoded_len).sum()
}

/// Writes several packets back to back (a compound packet when the first is an SR or RR).
pub fn write_compound(packets: &[RtcpPacket], out: &mut impl BufMut) {
    for p in packets {
        p.write_to(out);
    }
}
