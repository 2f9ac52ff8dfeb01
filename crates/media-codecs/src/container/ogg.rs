//! Ogg pages (RFC 3533) and Ogg Opus (RFC 7845): read and write.
//!
//! Written here rather than taken from the `ogg` crate: that crate reads through
//! `io::Read + Seek` and copies every packet, where this module parses a file held in a
//! [`Bytes`] with zero-copy packets when a packet sits in one page (the common case), enforces
//! explicit limits, and writes with control of page size and granule positions; the format is
//! small (one header layout, one CRC).
//!
//! Page header (RFC 3533 §6): `"OggS"`, version 0, header type (0x01 continued packet, 0x02
//! beginning of stream, 0x04 end of stream), granule position (i64 LE), serial number, page
//! sequence number, CRC-32, segment count, lacing values (a packet is a run of 255s ended by a
//! value below 255), then the segments. The CRC is the Ogg CRC-32 (polynomial 0x04c11db7, not
//! reflected, initial value 0, no final xor) over the whole page with the CRC field zeroed.

use bytes::Bytes;

use crate::opus::OpusPacket;
use crate::Error;

const HEADER_LEN: usize = 27;

/// Header type flag: the page starts with the continuation of a packet.
pub const CONTINUED: u8 = 0x01;
/// Header type flag: first page of a logical stream.
pub const BOS: u8 = 0x02;
/// Header type flag: last page of a logical stream.
pub const EOS: u8 = 0x04;

/// Granule position of a page on which no packet ends (RFC 3533 §6).
pub const NO_GRANULE: u64 = u64::MAX;

// `i` stays below 256, the table's length.
#[allow(clippy::indexing_slicing)]
const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut j = 0;
        while j < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            j += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// Continues the Ogg CRC-32 over `data` (start with 0).
pub fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = ((crc >> 24) as u8 ^ b) as usize;
        crc = (crc << 8) ^ CRC_TABLE.get(idx).copied().unwrap_or(0);
    }
    crc
}

/// The Ogg CRC-32 of a page whose CRC field (bytes 22..26) is taken as zero.
pub fn page_crc(page: &[u8]) -> u32 {
    let head = page.get(..22).unwrap_or(page);
    let mut crc = crc_update(0, head);
    crc = crc_update(crc, &[0, 0, 0, 0]);
    crc_update(crc, page.get(26..).unwrap_or(&[]))
}

/// One parsed page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Header type flags ([`CONTINUED`], [`BOS`], [`EOS`]).
    pub header_type: u8,
    /// Granule position ([`NO_GRANULE`] when no packet ends here).
    pub granule: u64,
    /// Stream serial number.
    pub serial: u32,
    /// Page sequence number.
    pub sequence: u32,
    /// Lacing values.
    pub lacing: Bytes,
    /// Segment data.
    pub data: Bytes,
}

impl Page {
    /// Parses the page at `off` of `file`, checking the CRC; returns it and its total length.
    pub fn parse(file: &Bytes, off: usize) -> Result<(Page, usize), Error> {
        let rest = file.get(off..).unwrap_or(&[]);
        if rest.len() < HEADER_LEN {
            return Err(Error::Truncated {
                what: "Ogg page header",
                offset: off,
                needed: HEADER_LEN,
                available: rest.len(),
            });
        }
        let h = rest.get(..HEADER_LEN).unwrap_or(&[]);
        let byte = |i: usize| h.get(i).copied().unwrap_or(0);
        let u32_at =
            |i: usize| u32::from_le_bytes([byte(i), byte(i + 1), byte(i + 2), byte(i + 3)]);
        if h.get(..4) != Some(b"OggS".as_slice()) {
            return Err(Error::Invalid {
                what: "Ogg page",
                offset: off,
                reason: "capture pattern is not OggS",
            });
        }
        if byte(4) != 0 {
            return Err(Error::Invalid {
                what: "Ogg page",
                offset: off + 4,
                reason: "stream structure version is not 0",
            });
        }
        let header_type = byte(5);
        let granule = u64::from(u32_at(6)) | (u64::from(u32_at(10)) << 32);
        let serial = u32_at(14);
        let sequence = u32_at(18);
        let crc = u32_at(22);
        let nseg = usize::from(byte(26));
        let lacing_end = HEADER_LEN + nseg;
        let lacing = rest.get(HEADER_LEN..lacing_end).ok_or(Error::Truncated {
            what: "Ogg lacing values",
            offset: off + HEADER_LEN,
            needed: nseg,
            available: rest.len() - HEADER_LEN,
        })?;
        let body: usize = lacing.iter().map(|&v| usize::from(v)).sum();
        let total = lacing_end + body;
        let page = rest.get(..total).ok_or(Error::Truncated {
            what: "Ogg page data",
            offset: off + lacing_end,
            needed: body,
            available: rest.len() - lacing_end,
        })?;
        if page_crc(page) != crc {
            return Err(Error::Invalid {
                what: "Ogg page",
                offset: off + 22,
                reason: "CRC mismatch",
            });
        }
        Ok((
            Page {
                header_type,
                granule,
                serial,
                sequence,
                lacing: file.slice(off + HEADER_LEN..off + lacing_end),
                data: file.slice(off + lacing_end..off + total),
            },
            total,
        ))
    }
}

/// One packet of a logical stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggPacket {
    /// The packet (a slice of the file when it lies in one page).
    pub data: Bytes,
    /// The page's granule position when this packet is the last one ending on its page.
    pub granule: Option<u64>,
    /// Sequence number of the page the packet ends on.
    pub page: u32,
    /// The packet ends on the last page of the stream.
    pub eos: bool,
}

/// Reads the packets of the first logical stream of an Ogg file (pages of other serial numbers
/// are skipped). Pages must be in sequence without gaps and pass the CRC.
#[derive(Debug)]
pub struct OggReader {
    file: Bytes,
    off: usize,
    serial: Option<u32>,
    next_seq: Option<u32>,
    page: Option<Page>,
    seg: usize,
    data_off: usize,
    partial: Vec<u8>,
    max_packet: usize,
    failed: bool,
}

impl OggReader {
    /// A reader of `file`, refusing packets larger than `max_packet` bytes.
    pub fn new(file: Bytes, max_packet: usize) -> Self {
        OggReader {
            file,
            off: 0,
            serial: None,
            next_seq: None,
            page: None,
            seg: 0,
            data_off: 0,
            partial: Vec::new(),
            max_packet,
            failed: false,
        }
    }

    /// The next packet; `None` at the end; an error once (then `None`) on a broken page.
    pub fn next_packet(&mut self) -> Option<Result<OggPacket, Error>> {
        if self.failed {
            return None;
        }
        let r = self.read_packet();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }

    fn next_page(&mut self) -> Option<Result<(), Error>> {
        loop {
            if self.off >= self.file.len() {
                return None;
            }
            let (page, len) = match Page::parse(&self.file, self.off) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            self.off += len;
            let serial = *self.serial.get_or_insert(page.serial);
            if page.serial != serial {
                continue;
            }
            if let Some(expected) = self.next_seq {
                if page.sequence != expected {
                    return Some(Err(Error::Invalid {
                        what: "Ogg page",
                        offset: self.off - len + 18,
                        reason: "page sequence number gap",
                    }));
                }
            }
            let continued = page.header_type & CONTINUED != 0;
            if continued == self.partial.is_empty() {
                return Some(Err(Error::Invalid {
                    what: "Ogg page",
                    offset: self.off - len + 5,
                    reason: "continued flag does not match the previous page",
                }));
            }
            self.next_seq = Some(page.sequence.wrapping_add(1));
            self.page = Some(page);
            self.seg = 0;
            self.data_off = 0;
            return Some(Ok(()));
        }
    }

    fn read_packet(&mut self) -> Option<Result<OggPacket, Error>> {
        loop {
            let need_page = match &self.page {
                None => true,
                Some(p) => self.seg >= p.lacing.len(),
            };
            if need_page {
                if let Err(e) = self.next_page()? {
                    return Some(Err(e));
                }
                continue;
            }
            let page = self.page.as_ref()?;
            // One packet (or its part on this page): lacing values up to one below 255.
            let start = self.data_off;
            let mut len = 0usize;
            let mut complete = false;
            while let Some(&v) = page.lacing.get(self.seg) {
                self.seg += 1;
                len += usize::from(v);
                if v < 255 {
                    complete = true;
                    break;
                }
            }
            self.data_off = start + len;
            let chunk = page.data.slice(start..start + len);
            if self.partial.len() + chunk.len() > self.max_packet {
                return Some(Err(Error::Limit {
                    what: "Ogg packet size",
                    limit: self.max_packet,
                }));
            }
            if !complete {
                self.partial.extend_from_slice(&chunk);
                continue;
            }
            let data = if self.partial.is_empty() {
                chunk
            } else {
                self.partial.extend_from_slice(&chunk);
                Bytes::from(std::mem::take(&mut self.partial))
            };
            let last_on_page = !page.lacing.iter().skip(self.seg).any(|&v| v < 255);
            return Some(Ok(OggPacket {
                data,
                granule: last_on_page.then_some(page.granule),
                page: page.sequence,
                eos: page.header_type & EOS != 0 && self.seg >= page.lacing.len(),
            }));
        }
    }
}

impl Iterator for OggReader {
    type Item = Result<OggPacket, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet()
    }
}

/// Writes one logical stream as Ogg pages.
///
/// Packets go into the current page; a page is written out when it would exceed
/// `max_page_data` bytes of data or 255 lacing values, or when [`OggWriter::flush_page`] is
/// called. A packet larger than the room continues on the next page.
#[derive(Debug)]
pub struct OggWriter {
    serial: u32,
    sequence: u32,
    max_page_data: usize,
    lacing: Vec<u8>,
    data: Vec<u8>,
    /// The first segment of the current page continues a packet.
    continued: bool,
    /// No page written yet.
    first: bool,
    /// Granule of the last packet completed on the current page.
    granule: Option<u64>,
}

impl OggWriter {
    /// A writer of stream `serial` with at most `max_page_data` data bytes per page (clamped
    /// to 255..=65025).
    pub fn new(serial: u32, max_page_data: usize) -> Self {
        OggWriter {
            serial,
            sequence: 0,
            max_page_data: max_page_data.clamp(255, 255 * 255),
            lacing: Vec::new(),
            data: Vec::new(),
            continued: false,
            first: true,
            granule: None,
        }
    }

    /// Adds a packet whose end has granule position `granule`.
    pub fn write_packet(&mut self, packet: &[u8], granule: u64, out: &mut Vec<u8>) {
        let mut rest = packet;
        loop {
            let room_seg = 255 - self.lacing.len().min(255);
            let room_data = self.max_page_data.saturating_sub(self.data.len());
            // Ending the packet here takes len/255 values of 255 and one below 255.
            let full = rest.len() / 255;
            if full < room_seg && rest.len() <= room_data {
                self.lacing.extend(std::iter::repeat_n(255u8, full));
                self.lacing.push((rest.len() % 255) as u8);
                self.data.extend_from_slice(rest);
                self.granule = Some(granule);
                return;
            }
            // Otherwise as many whole segments as fit, and the packet continues on a new page.
            let n = room_seg.min(room_data / 255).min(full);
            let (now, later) = rest.split_at((n * 255).min(rest.len()));
            self.lacing.extend(std::iter::repeat_n(255u8, n));
            self.data.extend_from_slice(now);
            rest = later;
            self.write_page(0, out);
            self.continued = n > 0;
        }
    }

    /// Writes the current page if it holds anything (ends the page early, e.g. after headers).
    pub fn flush_page(&mut self, out: &mut Vec<u8>) {
        if !self.lacing.is_empty() {
            self.write_page(0, out);
            self.continued = false;
        }
    }

    /// Writes the last page with the EOS flag (an empty one if nothing is pending). If
    /// `final_granule` is given it replaces the last page's granule (end trimming, RFC 7845 §4.5).
    pub fn finish(mut self, final_granule: Option<u64>, out: &mut Vec<u8>) {
        if final_granule.is_some() {
            self.granule = final_granule;
        }
        self.write_page(EOS, out);
    }

    fn write_page(&mut self, flags: u8, out: &mut Vec<u8>) {
        let start = out.len();
        let mut header_type = flags;
        if self.continued {
            header_type |= CONTINUED;
        }
        if self.first {
            header_type |= BOS;
        }
        let granule = self.granule.take().unwrap_or(NO_GRANULE);
        out.extend_from_slice(b"OggS");
        out.push(0);
        out.push(header_type);
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.push(self.lacing.len() as u8);
        out.extend_from_slice(&self.lacing);
        out.extend_from_slice(&self.data);
        let crc = page_crc(out.get(start..).unwrap_or(&[]));
        if let Some(field) = out.get_mut(start + 22..start + 26) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.first = false;
        self.continued = false;
        self.lacing.clear();
        self.data.clear();
    }
}

fn le32(b: &[u8]) -> u32 {
    match b {
        [a, c, d, e, ..] => u32::from_le_bytes([*a, *c, *d, *e]),
        _ => 0,
    }
}

/// The identification header of Ogg Opus (RFC 7845 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusHead {
    /// Version (1; any 0x0X is readable).
    pub version: u8,
    /// Output channel count, at least 1.
    pub channels: u8,
    /// Samples (48 kHz) to discard from the decoder output at the start.
    pub pre_skip: u16,
    /// Sample rate of the original input (informational).
    pub input_sample_rate: u32,
    /// Output gain in Q7.8 dB.
    pub output_gain: i16,
    /// Channel mapping family.
    pub mapping_family: u8,
    /// Stream count, coupled count and mapping table (families other than 0).
    pub mapping: Vec<u8>,
}

impl OpusHead {
    /// Parses an OpusHead packet.
    pub fn parse(p: &[u8]) -> Result<OpusHead, Error> {
        let err = |offset, reason| Error::Invalid {
            what: "OpusHead",
            offset,
            reason,
        };
        if p.len() < 19 {
            return Err(Error::Truncated {
                what: "OpusHead",
                offset: 0,
                needed: 19,
                available: p.len(),
            });
        }
        if p.get(..8) != Some(b"OpusHead".as_slice()) {
            return Err(err(0, "magic is not OpusHead"));
        }
        let b = |i: usize| p.get(i).copied().unwrap_or(0);
        let version = b(8);
        if version & 0xf0 != 0 {
            return Err(err(8, "unsupported major version (RFC 7845 §5.1)"));
        }
        let channels = b(9);
        if channels == 0 {
            return Err(err(9, "zero channels (RFC 7845 §5.1)"));
        }
        let mapping_family = b(18);
        let mapping = if mapping_family == 0 {
            if channels > 2 {
                return Err(err(
                    9,
                    "family 0 allows 1 or 2 channels (RFC 7845 §5.1.1.1)",
                ));
            }
            Vec::new()
        } else {
            let n = 2 + usize::from(channels);
            p.get(19..19 + n)
                .ok_or(Error::Truncated {
                    what: "OpusHead channel mapping table",
                    offset: 19,
                    needed: n,
                    available: p.len() - 19,
                })?
                .to_vec()
        };
        Ok(OpusHead {
            version,
            channels,
            pre_skip: u16::from_le_bytes([b(10), b(11)]),
            input_sample_rate: u32::from_le_bytes([b(12), b(13), b(14), b(15)]),
            output_gain: i16::from_le_bytes([b(16), b(17)]),
            mapping_family,
            mapping,
        })
    }

    /// Writes the packet (RFC 7845 §5.1 layout).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"OpusHead");
        out.push(self.version);
        out.push(self.channels);
        out.extend_from_slice(&self.pre_skip.to_le_bytes());
        out.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        out.extend_from_slice(&self.output_gain.to_le_bytes());
        out.push(self.mapping_family);
        if self.mapping_family != 0 {
            out.extend_from_slice(&self.mapping);
        }
    }
}

/// The comment header of Ogg Opus (RFC 7845 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusTags {
    /// Vendor string.
    pub vendor: String,
    /// User comments, `TAG=value`.
    pub comments: Vec<String>,
}

impl OpusTags {
    /// Parses an OpusTags packet (at most `max_comments` comments).
    pub fn parse(p: &[u8], max_comments: usize) -> Result<OpusTags, Error> {
        if p.get(..8) != Some(b"OpusTags".as_slice()) {
            return Err(Error::Invalid {
                what: "OpusTags",
                offset: 0,
                reason: "magic is not OpusTags",
            });
        }
        let mut off = 8usize;
        let read_str = |off: &mut usize| -> Result<String, Error> {
            let l = p.get(*off..*off + 4).ok_or(Error::Truncated {
                what: "OpusTags length",
                offset: *off,
                needed: 4,
                available: p.len().saturating_sub(*off),
            })?;
            let n = le32(l) as usize;
            *off += 4;
            let s = p
                .get(*off..(*off).saturating_add(n))
                .ok_or(Error::Truncated {
                    what: "OpusTags string",
                    offset: *off,
                    needed: n,
                    available: p.len().saturating_sub(*off),
                })?;
            *off += n;
            Ok(String::from_utf8_lossy(s).into_owned())
        };
        let vendor = read_str(&mut off)?;
        let count = p.get(off..off + 4).ok_or(Error::Truncated {
            what: "OpusTags comment count",
            offset: off,
            needed: 4,
            available: p.len().saturating_sub(off),
        })?;
        let count = le32(count) as usize;
        off += 4;
        if count > max_comments {
            return Err(Error::Limit {
                what: "OpusTags comments",
                limit: max_comments,
            });
        }
        let mut comments = Vec::with_capacity(count);
        for _ in 0..count {
            comments.push(read_str(&mut off)?);
        }
        Ok(OpusTags { vendor, comments })
    }

    /// Writes the packet (RFC 7845 §5.2 layout).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"OpusTags");
        out.extend_from_slice(&(self.vendor.len() as u32).to_le_bytes());
        out.extend_from_slice(self.vendor.as_bytes());
        out.extend_from_slice(&(self.comments.len() as u32).to_le_bytes());
        for c in &self.comments {
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
            out.extend_from_slice(c.as_bytes());
        }
    }
}

/// An Ogg Opus file read into its headers and audio packets.
#[derive(Debug, Clone)]
pub struct OggOpusFile {
    /// Identification header.
    pub head: OpusHead,
    /// Comment header.
    pub tags: OpusTags,
    /// Stream serial number.
    pub serial: u32,
    /// Audio packets in order.
    pub packets: Vec<Bytes>,
    /// Granule position of the last page (total samples incl. pre-skip after end trimming).
    pub final_granule: u64,
}

impl OggOpusFile {
    /// Reads an Ogg Opus file: OpusHead alone on the first page, OpusTags, then audio packets
    /// (each validated as an Opus packet). At most `max_packets` packets.
    pub fn read(file: Bytes, max_packets: usize) -> Result<OggOpusFile, Error> {
        let mut r = OggReader::new(file.clone(), 1 << 20);
        let head_pkt = r.next_packet().ok_or(Error::Truncated {
            what: "Ogg Opus: OpusHead",
            offset: 0,
            needed: 1,
            available: 0,
        })??;
        let head = OpusHead::parse(&head_pkt.data)?;
        let serial = Page::parse(&file, 0)?.0.serial;
        let tags_pkt = r.next_packet().ok_or(Error::Truncated {
            what: "Ogg Opus: OpusTags",
            offset: 0,
            needed: 1,
            available: 0,
        })??;
        let tags = OpusTags::parse(&tags_pkt.data, 4096)?;
        let mut packets = Vec::new();
        let mut final_granule = 0;
        for p in r {
            let p = p?;
            OpusPacket::parse(&p.data)?;
            if packets.len() >= max_packets {
                return Err(Error::Limit {
                    what: "Ogg Opus packets",
                    limit: max_packets,
                });
            }
            if let Some(g) = p.granule {
                final_granule = g;
            }
            packets.push(p.data);
        }
        Ok(OggOpusFile {
            head,
            tags,
            serial,
            packets,
            final_granule,
        })
    }
}

/// Writes an Ogg Opus stream: headers on their own pages (RFC 7845 §3), then audio packets with
/// granule positions counting 48 kHz samples from the start, pre-skip included (§4).
#[derive(Debug)]
pub struct OggOpusWriter {
    ogg: OggWriter,
    granule: u64,
}

impl OggOpusWriter {
    /// Writes the OpusHead page and the OpusTags page(s) to `out`.
    pub fn new(
        head: &OpusHead,
        tags: &OpusTags,
        serial: u32,
        max_page_data: usize,
        out: &mut Vec<u8>,
    ) -> Self {
        let mut ogg = OggWriter::new(serial, max_page_data);
        let mut buf = Vec::new();
        head.write_to(&mut buf);
        ogg.write_packet(&buf, 0, out);
        ogg.flush_page(out);
        buf.clear();
        tags.write_to(&mut buf);
        ogg.write_packet(&buf, 0, out);
        ogg.flush_page(out);
        OggOpusWriter { ogg, granule: 0 }
    }

    /// Adds one Opus packet; its duration (from the TOC) advances the granule position.
    pub fn write_packet(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let facts = OpusPacket::parse(packet)?;
        self.granule += u64::from(facts.samples);
        self.ogg.write_packet(packet, self.granule, out);
        Ok(())
    }

    /// Granule position after the packets written so far.
    pub fn granule(&self) -> u64 {
        self.granule
    }

    /// Ends the stream (EOS page). `final_granule` below the running count trims the end
    /// (RFC 7845 §4.5).
    pub fn finish(self, final_granule: Option<u64>, out: &mut Vec<u8>) {
        self.ogg.finish(final_granule, out);
    }
}
