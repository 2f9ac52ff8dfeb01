//! SCTP packets: common header (RFC 9260 §3.1), CRC32c checksum (§6.8, Appendix A) and the
//! zero checksum of RFC 9653.

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::number::complete::le_u32;
use nom::Parser;

use crate::chunk::{Chunk, CHUNK_HEADER_LEN};
use crate::wire::{run, tlv_value, u16f, u32f, u8f, Short};
use crate::Error;

/// Size of the SCTP common header.
pub const COMMON_HEADER_LEN: usize = 12;

/// How the checksum of a packet is checked or produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Always CRC32c.
    Crc32c,
    /// RFC 9653: a zero Checksum field is accepted (on receive) / written (on send) because
    /// the lower layer (DTLS) detects errors. A non-zero field is still verified on receive.
    ZeroAllowed,
}

/// The SCTP common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommonHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
}

/// CRC32c of a packet computed with its Checksum field taken as zero (RFC 9260 Appendix A).
pub fn packet_crc32c(packet: &[u8]) -> u32 {
    let head = packet.get(..8).unwrap_or(packet);
    let mut crc = crc32c::crc32c(head);
    if packet.len() >= COMMON_HEADER_LEN {
        crc = crc32c::crc32c_append(crc, &[0u8; 4]);
        crc = crc32c::crc32c_append(crc, packet.get(COMMON_HEADER_LEN..).unwrap_or_default());
    }
    crc
}

/// Verifies the checksum of a received packet.
pub fn verify_checksum(packet: &[u8], mode: ChecksumMode) -> Result<(), Error> {
    // The CRC value is stored least-significant byte first (RFC 9260 Appendix A).
    let (_, (_, received)) = (take::<_, _, Short>(8usize), le_u32)
        .parse(packet)
        .map_err(|_| Error::Truncated {
            what: "common header",
            offset: 0,
            needed: COMMON_HEADER_LEN,
            available: packet.len(),
        })?;
    if received == 0 && mode == ChecksumMode::ZeroAllowed {
        return Ok(());
    }
    let computed = packet_crc32c(packet);
    if computed != received {
        return Err(Error::BadChecksum { received, computed });
    }
    Ok(())
}

/// Writes the checksum into a serialized packet (CRC32c, or zero when `zero` is set).
pub fn finish_checksum(packet: &mut [u8], zero: bool) {
    let crc = if zero { 0 } else { packet_crc32c(packet) };
    if let Some(f) = packet.get_mut(8..12) {
        f.copy_from_slice(&crc.to_le_bytes());
    }
}

/// A parsed SCTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Common header.
    pub header: CommonHeader,
    /// Chunks in wire order.
    pub chunks: Vec<Chunk>,
}

/// Iterates over the chunks of a packet without collecting them.
#[derive(Debug)]
pub struct ChunkIter {
    buf: Bytes,
    pos: usize,
}

impl Iterator for ChunkIter {
    type Item = Result<Chunk, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let res = self.next_chunk();
        if res.is_err() {
            self.pos = self.buf.len();
        }
        Some(res)
    }
}

impl ChunkIter {
    /// One chunk (RFC 9260 §3.2): type, flags, length (with the 4-byte header), value,
    /// padding to four bytes (which may be missing after the last chunk).
    fn next_chunk(&mut self) -> Result<Chunk, Error> {
        let pos = self.pos;
        let rest = self.buf.get(pos..).unwrap_or_default();
        let (after, (t, flags, len)) =
            run(rest, pos, "chunk header", (u8f, u8f, u16f.map(usize::from)))?;
        let (value, next) = tlv_value(after, len).ok_or(Error::InvalidLength {
            what: "chunk",
            offset: pos,
            length: len,
        })?;
        let value = self.buf.slice_ref(value);
        self.pos = self.buf.len() - next.len();
        Chunk::parse(t, flags, value, pos + CHUNK_HEADER_LEN)
    }
}

impl Packet {
    /// Parses the common header and returns an iterator over the chunks, after checking the
    /// checksum. The iterator borrows nothing: chunk values are slices of `buf`.
    pub fn parse_lazy(buf: Bytes, mode: ChecksumMode) -> Result<(CommonHeader, ChunkIter), Error> {
        verify_checksum(&buf, mode)?;
        // RFC 9260 §3.1: source port, destination port, verification tag, checksum.
        let (_, (src_port, dst_port, verification_tag)) =
            run(&buf, 0, "common header", (u16f, u16f, u32f))?;
        let header = CommonHeader {
            src_port,
            dst_port,
            verification_tag,
        };
        Ok((
            header,
            ChunkIter {
                buf,
                pos: COMMON_HEADER_LEN,
            },
        ))
    }

    /// Parses a whole packet, verifying its checksum.
    pub fn parse(buf: Bytes, mode: ChecksumMode) -> Result<Packet, Error> {
        let (header, iter) = Self::parse_lazy(buf, mode)?;
        let chunks = iter.collect::<Result<Vec<_>, _>>()?;
        Ok(Packet { header, chunks })
    }

    /// Bytes written by [`write_to`](Self::write_to).
    pub fn encoded_len(&self) -> usize {
        COMMON_HEADER_LEN + self.chunks.iter().map(Chunk::encoded_len).sum::<usize>()
    }

    /// Writes the packet with a zero Checksum field; call [`finish_checksum`] on the written
    /// bytes (or use [`to_bytes`](Self::to_bytes)) to fill it in.
    pub fn write_to(&self, out: &mut impl BufMut) {
        write_common_header(out, &self.header);
        for c in &self.chunks {
            c.write_to(out);
        }
    }

    /// Serializes the packet with its checksum (CRC32c unless `zero_checksum`).
    pub fn to_bytes(&self, zero_checksum: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        finish_checksum(&mut out, zero_checksum);
        out.freeze()
    }
}

/// Writes a common header with a zero Checksum field.
pub fn write_common_header(out: &mut impl BufMut, h: &CommonHeader) {
    out.put_u16(h.src_port);
    out.put_u16(h.dst_port);
    out.put_u32(h.verification_tag);
    out.put_u32(0);
}
