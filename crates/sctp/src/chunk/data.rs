//! DATA (RFC 9260 §3.3.1) and I-DATA (RFC 8260 §2.1) chunks.

use bytes::{BufMut, Bytes};

use super::{chunk_type, DATA_HEADER_LEN, IDATA_HEADER_LEN};
use crate::wire::{run, u16f, u32f};
use crate::Error;

/// A DATA chunk (RFC 9260 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChunk {
    /// TSN of this chunk.
    pub tsn: u32,
    /// Stream identifier.
    pub stream_id: u16,
    /// Stream sequence number (ignored for unordered chunks).
    pub ssn: u16,
    /// Payload protocol identifier (WebRTC: string, binary, DCEP...).
    pub ppid: u32,
    /// U bit: unordered delivery.
    pub unordered: bool,
    /// B bit: first fragment of a user message.
    pub beginning: bool,
    /// E bit: last fragment of a user message.
    pub ending: bool,
    /// I bit (RFC 7053): ask the receiver to SACK immediately.
    pub immediate: bool,
    /// User data of this fragment. Senders never leave it empty (RFC 9260 §6.2); an empty
    /// one is parsed so the receiver can answer it with "No User Data".
    pub payload: Bytes,
}

/// The U, B, E, I bits of the flags of DATA (RFC 9260 §3.3.1, RFC 7053) and I-DATA.
fn flag_bits(flags: u8) -> (bool, bool, bool, bool) {
    (
        flags & 4 != 0,
        flags & 2 != 0,
        flags & 1 != 0,
        flags & 8 != 0,
    )
}

/// The I, U, B, E flag bits of DATA and I-DATA.
fn data_flags(unordered: bool, beginning: bool, ending: bool, immediate: bool) -> u8 {
    (ending as u8) | (beginning as u8) << 1 | (unordered as u8) << 2 | (immediate as u8) << 3
}

impl DataChunk {
    pub(super) fn flags(&self) -> u8 {
        data_flags(self.unordered, self.beginning, self.ending, self.immediate)
    }

    /// The value of a DATA chunk (RFC 9260 §3.3.1, Figure 5 after the chunk header):
    ///
    /// ```text
    /// |                              TSN                              |
    /// |      Stream Identifier S      |   Stream Sequence Number n    |
    /// |                  Payload Protocol Identifier                  |
    /// \                 User Data (seq n of Stream S)                 \
    /// ```
    ///
    /// A DATA chunk with no user data (Length 16) is well formed; what to do with it is the
    /// association's business: RFC 9260 §6.2 answers it with an ABORT carrying "No User
    /// Data" (§3.3.10.9), which needs the TSN parsed here.
    pub(super) fn parse(flags: u8, value: &Bytes, base: usize) -> Result<Self, Error> {
        let (payload, (tsn, stream_id, ssn, ppid)) =
            run(value, base, "DATA", (u32f, u16f, u16f, u32f))?;
        let (unordered, beginning, ending, immediate) = flag_bits(flags);
        Ok(DataChunk {
            tsn,
            stream_id,
            ssn,
            ppid,
            unordered,
            beginning,
            ending,
            immediate,
            payload: value.slice_ref(payload),
        })
    }

    pub(super) fn write_value(&self, out: &mut impl BufMut) {
        out.put_u32(self.tsn);
        out.put_u16(self.stream_id);
        out.put_u16(self.ssn);
        out.put_u32(self.ppid);
        out.put_slice(&self.payload);
    }
}

/// An I-DATA chunk (RFC 8260 §2.1): messages are identified by (stream, MID) and fragments
/// by FSN, so fragments of different messages may interleave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IDataChunk {
    /// TSN of this chunk.
    pub tsn: u32,
    /// Stream identifier.
    pub stream_id: u16,
    /// Message identifier.
    pub mid: u32,
    /// PPID when `beginning` is set, else the fragment sequence number (the field is shared).
    pub ppid_or_fsn: u32,
    /// U bit.
    pub unordered: bool,
    /// B bit.
    pub beginning: bool,
    /// E bit.
    pub ending: bool,
    /// I bit.
    pub immediate: bool,
    /// User data.
    pub payload: Bytes,
}

impl IDataChunk {
    pub(super) fn flags(&self) -> u8 {
        data_flags(self.unordered, self.beginning, self.ending, self.immediate)
    }
    /// FSN of this fragment: 0 for the first fragment (RFC 8260 §2.1).
    pub fn fsn(&self) -> u32 {
        if self.beginning {
            0
        } else {
            self.ppid_or_fsn
        }
    }

    /// The value of an I-DATA chunk (RFC 8260 §2.1, Figure 1 after the chunk header): TSN,
    /// stream identifier, 16 reserved bits, MID, PPID or FSN, user data. Without user data
    /// it is parsed, and aborted by the association (RFC 8260 §2.1 keeps the DATA rules).
    pub(super) fn parse(flags: u8, value: &Bytes, base: usize) -> Result<Self, Error> {
        let (payload, (tsn, stream_id, _reserved, mid, ppid_or_fsn)) =
            run(value, base, "I-DATA", (u32f, u16f, u16f, u32f, u32f))?;
        let (unordered, beginning, ending, immediate) = flag_bits(flags);
        Ok(IDataChunk {
            tsn,
            stream_id,
            mid,
            ppid_or_fsn,
            unordered,
            beginning,
            ending,
            immediate,
            payload: value.slice_ref(payload),
        })
    }

    pub(super) fn write_value(&self, out: &mut impl BufMut) {
        out.put_u32(self.tsn);
        out.put_u16(self.stream_id);
        out.put_u16(0);
        out.put_u32(self.mid);
        out.put_u32(self.ppid_or_fsn);
        out.put_slice(&self.payload);
    }
}

/// Writes a DATA chunk header for `payload_len` bytes without building a [`DataChunk`]
/// (the sender's hot path); the caller then puts the payload and padding.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_data_header(
    out: &mut impl BufMut,
    flags: u8,
    tsn: u32,
    stream_id: u16,
    ssn: u16,
    ppid: u32,
    payload_len: usize,
) {
    out.put_u8(chunk_type::DATA);
    out.put_u8(flags);
    out.put_u16((DATA_HEADER_LEN + payload_len) as u16);
    out.put_u32(tsn);
    out.put_u16(stream_id);
    out.put_u16(ssn);
    out.put_u32(ppid);
}

/// Writes an I-DATA chunk header (see [`write_data_header`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_idata_header(
    out: &mut impl BufMut,
    flags: u8,
    tsn: u32,
    stream_id: u16,
    mid: u32,
    ppid_or_fsn: u32,
    payload_len: usize,
) {
    out.put_u8(chunk_type::I_DATA);
    out.put_u8(flags);
    out.put_u16((IDATA_HEADER_LEN + payload_len) as u16);
    out.put_u32(tsn);
    out.put_u16(stream_id);
    out.put_u16(0);
    out.put_u32(mid);
    out.put_u32(ppid_or_fsn);
}
