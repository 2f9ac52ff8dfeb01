//! SCTP chunks (RFC 9260 §3.3) and the extension chunks WebRTC uses: FORWARD-TSN (RFC 3758),
//! I-DATA / I-FORWARD-TSN (RFC 8260), RE-CONFIG (RFC 6525) and PAD (RFC 4820).
//!
//! Parsing is zero-copy: user payloads, cookies and opaque values are `Bytes` slices of the
//! received packet. Every chunk is written padded to a multiple of four bytes; the parser
//! accepts a missing pad after the last chunk of a packet.

use bytes::{BufMut, Bytes};

use crate::param::{Param, ReconfigParam};
use crate::Error;

/// Chunk type codes (RFC 9260 §3.2 and the extension RFCs).
pub mod chunk_type {
    /// Payload Data.
    pub const DATA: u8 = 0;
    /// Initiation.
    pub const INIT: u8 = 1;
    /// Initiation Acknowledgement.
    pub const INIT_ACK: u8 = 2;
    /// Selective Acknowledgement.
    pub const SACK: u8 = 3;
    /// Heartbeat Request.
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat Acknowledgement.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort.
    pub const ABORT: u8 = 6;
    /// Shutdown.
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown Acknowledgement.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation Error.
    pub const ERROR: u8 = 9;
    /// State Cookie.
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie Acknowledgement.
    pub const COOKIE_ACK: u8 = 11;
    /// Shutdown Complete.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// I-DATA (RFC 8260).
    pub const I_DATA: u8 = 64;
    /// RE-CONFIG (RFC 6525).
    pub const RE_CONFIG: u8 = 130;
    /// PAD (RFC 4820).
    pub const PAD: u8 = 132;
    /// FORWARD-TSN (RFC 3758).
    pub const FORWARD_TSN: u8 = 192;
    /// I-FORWARD-TSN (RFC 8260).
    pub const I_FORWARD_TSN: u8 = 194;
}

/// Size of a chunk header (type, flags, length).
pub const CHUNK_HEADER_LEN: usize = 4;
/// Size of a DATA chunk header including the chunk header.
pub const DATA_HEADER_LEN: usize = 16;
/// Size of an I-DATA chunk header including the chunk header.
pub const IDATA_HEADER_LEN: usize = 20;

pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn put_padding(out: &mut impl BufMut, len: usize) {
    out.put_bytes(0, pad4(len) - len);
}

/// A big-endian reader over a chunk value that reports offsets in errors.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize, what: &'static str) -> Self {
        Self {
            buf,
            pos: 0,
            base,
            what,
        }
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(Error::Truncated {
                what: self.what,
                offset: self.base + self.pos,
                needed: N,
                available: self.buf.len().saturating_sub(self.pos),
            })?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        self.pos += N;
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

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

impl DataChunk {
    fn flags(&self) -> u8 {
        (self.ending as u8)
            | (self.beginning as u8) << 1
            | (self.unordered as u8) << 2
            | (self.immediate as u8) << 3
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
    fn flags(&self) -> u8 {
        (self.ending as u8)
            | (self.beginning as u8) << 1
            | (self.unordered as u8) << 2
            | (self.immediate as u8) << 3
    }
    /// FSN of this fragment: 0 for the first fragment (RFC 8260 §2.1).
    pub fn fsn(&self) -> u32 {
        if self.beginning {
            0
        } else {
            self.ppid_or_fsn
        }
    }
}

/// The fixed part shared by INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitChunk {
    /// Initiate tag: the verification tag the peer must put in packets to us. Never 0.
    pub initiate_tag: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Number of outbound streams. Never 0.
    pub num_outbound_streams: u16,
    /// Number of inbound streams. Never 0.
    pub num_inbound_streams: u16,
    /// Initial TSN.
    pub initial_tsn: u32,
    /// Optional/variable parameters, in wire order.
    pub params: Vec<Param>,
}

/// A gap ack block of a SACK, as offsets from the cumulative TSN ack (RFC 9260 §3.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapBlock {
    /// Start offset (inclusive).
    pub start: u16,
    /// End offset (inclusive).
    pub end: u16,
}

/// A SACK chunk (RFC 9260 §3.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SackChunk {
    /// Cumulative TSN ack.
    pub cum_tsn_ack: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Gap ack blocks.
    pub gap_blocks: Vec<GapBlock>,
    /// Duplicate TSNs received since the last SACK.
    pub dup_tsns: Vec<u32>,
}

/// An error cause (RFC 9260 §3.3.10), kept as code and raw information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCause {
    /// Cause code (see [`cause_code`]).
    pub code: u16,
    /// Cause-specific information (without padding).
    pub info: Bytes,
}

/// Error cause codes (RFC 9260 §3.3.10, RFC 6525, RFC 8260).
pub mod cause_code {
    /// Invalid Stream Identifier.
    pub const INVALID_STREAM_IDENTIFIER: u16 = 1;
    /// Missing Mandatory Parameter.
    pub const MISSING_MANDATORY_PARAMETER: u16 = 2;
    /// Stale Cookie Error.
    pub const STALE_COOKIE: u16 = 3;
    /// Out of Resource.
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unresolvable Address.
    pub const UNRESOLVABLE_ADDRESS: u16 = 5;
    /// Unrecognized Chunk Type.
    pub const UNRECOGNIZED_CHUNK_TYPE: u16 = 6;
    /// Invalid Mandatory Parameter.
    pub const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// Unrecognized Parameters.
    pub const UNRECOGNIZED_PARAMETERS: u16 = 8;
    /// No User Data.
    pub const NO_USER_DATA: u16 = 9;
    /// Cookie Received While Shutting Down.
    pub const COOKIE_WHILE_SHUTTING_DOWN: u16 = 10;
    /// Restart of an Association with New Addresses.
    pub const RESTART_WITH_NEW_ADDRESSES: u16 = 11;
    /// User-Initiated Abort.
    pub const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol Violation.
    pub const PROTOCOL_VIOLATION: u16 = 13;
}

/// One (stream, SSN) entry of a FORWARD-TSN chunk (RFC 3758 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// Largest skipped stream sequence number.
    pub ssn: u16,
}

/// One entry of an I-FORWARD-TSN chunk (RFC 8260 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// U bit: the skipped message was unordered.
    pub unordered: bool,
    /// Largest skipped message identifier.
    pub mid: u32,
}

/// An SCTP chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// DATA.
    Data(DataChunk),
    /// I-DATA (RFC 8260).
    IData(IDataChunk),
    /// INIT.
    Init(InitChunk),
    /// INIT ACK (its params carry the State Cookie).
    InitAck(InitChunk),
    /// SACK.
    Sack(SackChunk),
    /// HEARTBEAT, with the opaque Heartbeat Information (parameter type 1) value.
    Heartbeat {
        /// Sender-specific heartbeat information.
        info: Bytes,
    },
    /// HEARTBEAT ACK, echoing the Heartbeat Information.
    HeartbeatAck {
        /// The echoed information.
        info: Bytes,
    },
    /// ABORT.
    Abort {
        /// T bit: the verification tag is reflected (RFC 9260 §8.4).
        reflected_tag: bool,
        /// Error causes.
        causes: Vec<ErrorCause>,
    },
    /// SHUTDOWN.
    Shutdown {
        /// Cumulative TSN ack.
        cum_tsn_ack: u32,
    },
    /// SHUTDOWN ACK.
    ShutdownAck,
    /// SHUTDOWN COMPLETE.
    ShutdownComplete {
        /// T bit.
        reflected_tag: bool,
    },
    /// ERROR.
    Error {
        /// Error causes.
        causes: Vec<ErrorCause>,
    },
    /// COOKIE ECHO.
    CookieEcho {
        /// The state cookie from the INIT ACK.
        cookie: Bytes,
    },
    /// COOKIE ACK.
    CookieAck,
    /// PAD (RFC 4820): padding data, ignored by the receiver.
    Pad {
        /// The padding bytes.
        data: Bytes,
    },
    /// FORWARD-TSN (RFC 3758).
    ForwardTsn {
        /// New cumulative TSN.
        new_cum_tsn: u32,
        /// Skipped ordered streams.
        streams: Vec<ForwardTsnStream>,
    },
    /// I-FORWARD-TSN (RFC 8260).
    IForwardTsn {
        /// New cumulative TSN.
        new_cum_tsn: u32,
        /// Skipped messages.
        streams: Vec<IForwardTsnStream>,
    },
    /// RE-CONFIG (RFC 6525): one or two re-configuration parameters.
    ReConfig {
        /// The parameters.
        params: Vec<ReconfigParam>,
    },
    /// A chunk type this implementation does not know; the two upper bits of the type say
    /// what the receiver must do (RFC 9260 §3.2).
    Unknown {
        /// Chunk type.
        chunk_type: u8,
        /// Chunk flags.
        flags: u8,
        /// Chunk value (without padding).
        value: Bytes,
    },
}

/// What RFC 9260 §3.2 says to do with an unrecognized chunk or parameter, from the two
/// upper bits of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnrecognizedAction {
    /// 00: stop processing the packet and discard it.
    Stop,
    /// 01: stop, discard, and report it in an ERROR (or INIT ACK) as unrecognized.
    StopAndReport,
    /// 10: skip it and continue.
    Skip,
    /// 11: skip, continue, and report it.
    SkipAndReport,
}

impl UnrecognizedAction {
    /// Action encoded in the two high bits of an 8-bit chunk type.
    pub fn for_chunk_type(t: u8) -> Self {
        Self::from_bits(t >> 6)
    }
    /// Action encoded in the two high bits of a 16-bit parameter type.
    pub fn for_param_type(t: u16) -> Self {
        Self::from_bits((t >> 14) as u8)
    }
    fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Self::Stop,
            1 => Self::StopAndReport,
            2 => Self::Skip,
            _ => Self::SkipAndReport,
        }
    }
}

fn parse_causes(value: &Bytes, base: usize) -> Result<Vec<ErrorCause>, Error> {
    let mut causes = Vec::new();
    let mut pos = 0usize;
    while pos < value.len() {
        let mut r = Reader::new(
            value.get(pos..).unwrap_or_default(),
            base + pos,
            "error cause",
        );
        let code = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 || pos + len > value.len() {
            return Err(Error::InvalidLength {
                what: "error cause",
                offset: base + pos,
                length: len,
            });
        }
        causes.push(ErrorCause {
            code,
            info: value.slice(pos + 4..pos + len),
        });
        pos = (pos + pad4(len)).min(value.len());
    }
    Ok(causes)
}

fn causes_len(causes: &[ErrorCause]) -> usize {
    causes.iter().map(|c| pad4(4 + c.info.len())).sum()
}

fn write_causes(causes: &[ErrorCause], out: &mut impl BufMut) {
    for c in causes {
        out.put_u16(c.code);
        out.put_u16((4 + c.info.len()) as u16);
        out.put_slice(&c.info);
        put_padding(out, c.info.len());
    }
}

fn parse_init(value: &Bytes, base: usize) -> Result<InitChunk, Error> {
    let mut r = Reader::new(value, base, "INIT");
    let initiate_tag = r.u32()?;
    let a_rwnd = r.u32()?;
    let num_outbound_streams = r.u16()?;
    let num_inbound_streams = r.u16()?;
    let initial_tsn = r.u32()?;
    let params = crate::param::parse_params(&value.slice(r.pos()..), base + r.pos())?;
    Ok(InitChunk {
        initiate_tag,
        a_rwnd,
        num_outbound_streams,
        num_inbound_streams,
        initial_tsn,
        params,
    })
}

/// Heartbeat Information parameter type (RFC 9260 §3.3.5).
const HEARTBEAT_INFO: u16 = 1;

fn parse_heartbeat(value: &Bytes, base: usize) -> Result<Bytes, Error> {
    let mut r = Reader::new(value, base, "HEARTBEAT info");
    let t = r.u16()?;
    let len = r.u16()? as usize;
    if t != HEARTBEAT_INFO {
        return Err(Error::InvalidValue {
            what: "HEARTBEAT info type",
            offset: base,
        });
    }
    if len < 4 || len > value.len() {
        return Err(Error::InvalidLength {
            what: "HEARTBEAT info",
            offset: base,
            length: len,
        });
    }
    Ok(value.slice(4..len))
}

impl Chunk {
    /// Parses one chunk from its type, flags and value (the bytes after the 4-byte header,
    /// without padding). `base` is the offset of the value in the packet, for errors.
    pub fn parse(ty: u8, flags: u8, value: Bytes, base: usize) -> Result<Chunk, Error> {
        use self::chunk_type as t;
        let chunk = match ty {
            t::DATA => {
                let mut r = Reader::new(&value, base, "DATA");
                let tsn = r.u32()?;
                let stream_id = r.u16()?;
                let ssn = r.u16()?;
                let ppid = r.u32()?;
                // A DATA chunk with no user data (Length 16) is well formed; what to do with
                // it is the association's business: RFC 9260 §6.2 answers it with an ABORT
                // carrying "No User Data" (§3.3.10.9), which needs the TSN parsed here.
                Chunk::Data(DataChunk {
                    tsn,
                    stream_id,
                    ssn,
                    ppid,
                    ending: flags & 1 != 0,
                    beginning: flags & 2 != 0,
                    unordered: flags & 4 != 0,
                    immediate: flags & 8 != 0,
                    payload: value.slice(12..),
                })
            }
            t::I_DATA => {
                let mut r = Reader::new(&value, base, "I-DATA");
                let tsn = r.u32()?;
                let stream_id = r.u16()?;
                let _reserved = r.u16()?;
                let mid = r.u32()?;
                let ppid_or_fsn = r.u32()?;
                // No user data: parsed, and aborted by the association (RFC 8260 §2.1 keeps
                // the DATA rules, RFC 9260 §6.2).
                Chunk::IData(IDataChunk {
                    tsn,
                    stream_id,
                    mid,
                    ppid_or_fsn,
                    ending: flags & 1 != 0,
                    beginning: flags & 2 != 0,
                    unordered: flags & 4 != 0,
                    immediate: flags & 8 != 0,
                    payload: value.slice(16..),
                })
            }
            t::INIT | t::INIT_ACK => {
                let init = parse_init(&value, base)?;
                if init.initiate_tag == 0 {
                    return Err(Error::InvalidValue {
                        what: "INIT initiate tag 0",
                        offset: base,
                    });
                }
                if init.num_inbound_streams == 0 || init.num_outbound_streams == 0 {
                    return Err(Error::InvalidValue {
                        what: "INIT stream count 0",
                        offset: base + 8,
                    });
                }
                if ty == t::INIT {
                    Chunk::Init(init)
                } else {
                    Chunk::InitAck(init)
                }
            }
            t::SACK => {
                let mut r = Reader::new(&value, base, "SACK");
                let cum_tsn_ack = r.u32()?;
                let a_rwnd = r.u32()?;
                let ngap = r.u16()? as usize;
                let ndup = r.u16()? as usize;
                let need = ngap * 4 + ndup * 4;
                if r.remaining() < need {
                    return Err(Error::Truncated {
                        what: "SACK blocks",
                        offset: base + 12,
                        needed: need,
                        available: r.remaining(),
                    });
                }
                let mut gap_blocks = Vec::with_capacity(ngap);
                for _ in 0..ngap {
                    let start = r.u16()?;
                    let end = r.u16()?;
                    gap_blocks.push(GapBlock { start, end });
                }
                let mut dup_tsns = Vec::with_capacity(ndup);
                for _ in 0..ndup {
                    dup_tsns.push(r.u32()?);
                }
                Chunk::Sack(SackChunk {
                    cum_tsn_ack,
                    a_rwnd,
                    gap_blocks,
                    dup_tsns,
                })
            }
            t::HEARTBEAT => Chunk::Heartbeat {
                info: parse_heartbeat(&value, base)?,
            },
            t::HEARTBEAT_ACK => Chunk::HeartbeatAck {
                info: parse_heartbeat(&value, base)?,
            },
            t::ABORT => Chunk::Abort {
                reflected_tag: flags & 1 != 0,
                causes: parse_causes(&value, base)?,
            },
            t::SHUTDOWN => {
                let mut r = Reader::new(&value, base, "SHUTDOWN");
                Chunk::Shutdown {
                    cum_tsn_ack: r.u32()?,
                }
            }
            t::SHUTDOWN_ACK => Chunk::ShutdownAck,
            t::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete {
                reflected_tag: flags & 1 != 0,
            },
            t::ERROR => Chunk::Error {
                causes: parse_causes(&value, base)?,
            },
            t::COOKIE_ECHO => Chunk::CookieEcho { cookie: value },
            t::COOKIE_ACK => Chunk::CookieAck,
            t::PAD => Chunk::Pad { data: value },
            t::FORWARD_TSN => {
                let mut r = Reader::new(&value, base, "FORWARD-TSN");
                let new_cum_tsn = r.u32()?;
                let mut streams = Vec::with_capacity(r.remaining() / 4);
                while r.remaining() >= 4 {
                    let stream_id = r.u16()?;
                    let ssn = r.u16()?;
                    streams.push(ForwardTsnStream { stream_id, ssn });
                }
                if r.remaining() != 0 {
                    return Err(Error::InvalidLength {
                        what: "FORWARD-TSN",
                        offset: base,
                        length: value.len() + 4,
                    });
                }
                Chunk::ForwardTsn {
                    new_cum_tsn,
                    streams,
                }
            }
            t::I_FORWARD_TSN => {
                let mut r = Reader::new(&value, base, "I-FORWARD-TSN");
                let new_cum_tsn = r.u32()?;
                let mut streams = Vec::with_capacity(r.remaining() / 8);
                while r.remaining() >= 8 {
                    let stream_id = r.u16()?;
                    let f = r.u16()?;
                    let mid = r.u32()?;
                    if f & !1 != 0 {
                        return Err(Error::InvalidValue {
                            what: "I-FORWARD-TSN reserved bits",
                            offset: base + r.pos() - 6,
                        });
                    }
                    streams.push(IForwardTsnStream {
                        stream_id,
                        unordered: f & 1 != 0,
                        mid,
                    });
                }
                if r.remaining() != 0 {
                    return Err(Error::InvalidLength {
                        what: "I-FORWARD-TSN",
                        offset: base,
                        length: value.len() + 4,
                    });
                }
                Chunk::IForwardTsn {
                    new_cum_tsn,
                    streams,
                }
            }
            t::RE_CONFIG => Chunk::ReConfig {
                params: crate::param::parse_reconfig_params(&value, base)?,
            },
            _ => Chunk::Unknown {
                chunk_type: ty,
                flags,
                value,
            },
        };
        Ok(chunk)
    }

    /// The chunk type code.
    pub fn chunk_type(&self) -> u8 {
        use chunk_type as t;
        match self {
            Chunk::Data(_) => t::DATA,
            Chunk::IData(_) => t::I_DATA,
            Chunk::Init(_) => t::INIT,
            Chunk::InitAck(_) => t::INIT_ACK,
            Chunk::Sack(_) => t::SACK,
            Chunk::Heartbeat { .. } => t::HEARTBEAT,
            Chunk::HeartbeatAck { .. } => t::HEARTBEAT_ACK,
            Chunk::Abort { .. } => t::ABORT,
            Chunk::Shutdown { .. } => t::SHUTDOWN,
            Chunk::ShutdownAck => t::SHUTDOWN_ACK,
            Chunk::ShutdownComplete { .. } => t::SHUTDOWN_COMPLETE,
            Chunk::Error { .. } => t::ERROR,
            Chunk::CookieEcho { .. } => t::COOKIE_ECHO,
            Chunk::CookieAck => t::COOKIE_ACK,
            Chunk::Pad { .. } => t::PAD,
            Chunk::ForwardTsn { .. } => t::FORWARD_TSN,
            Chunk::IForwardTsn { .. } => t::I_FORWARD_TSN,
            Chunk::ReConfig { .. } => t::RE_CONFIG,
            Chunk::Unknown { chunk_type, .. } => *chunk_type,
        }
    }

    fn flags(&self) -> u8 {
        match self {
            Chunk::Data(d) => d.flags(),
            Chunk::IData(d) => d.flags(),
            Chunk::Abort { reflected_tag, .. } | Chunk::ShutdownComplete { reflected_tag } => {
                *reflected_tag as u8
            }
            Chunk::Unknown { flags, .. } => *flags,
            _ => 0,
        }
    }

    /// Length of the chunk value (after the 4-byte header, before padding).
    fn value_len(&self) -> usize {
        match self {
            Chunk::Data(d) => 12 + d.payload.len(),
            Chunk::IData(d) => 16 + d.payload.len(),
            Chunk::Init(i) | Chunk::InitAck(i) => 16 + crate::param::params_len(&i.params),
            Chunk::Sack(s) => 12 + 4 * s.gap_blocks.len() + 4 * s.dup_tsns.len(),
            Chunk::Heartbeat { info } | Chunk::HeartbeatAck { info } => 4 + info.len(),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => causes_len(causes),
            Chunk::Shutdown { .. } => 4,
            Chunk::ShutdownAck | Chunk::ShutdownComplete { .. } | Chunk::CookieAck => 0,
            Chunk::CookieEcho { cookie } => cookie.len(),
            Chunk::Pad { data } => data.len(),
            Chunk::ForwardTsn { streams, .. } => 4 + 4 * streams.len(),
            Chunk::IForwardTsn { streams, .. } => 4 + 8 * streams.len(),
            Chunk::ReConfig { params } => crate::param::reconfig_params_len(params),
            Chunk::Unknown { value, .. } => value.len(),
        }
    }

    /// Bytes [`write_to`](Self::write_to) writes, padding included.
    pub fn encoded_len(&self) -> usize {
        pad4(CHUNK_HEADER_LEN + self.value_len())
    }

    /// Writes the chunk, padded to a multiple of four bytes.
    pub fn write_to(&self, out: &mut impl BufMut) {
        let vlen = self.value_len();
        out.put_u8(self.chunk_type());
        out.put_u8(self.flags());
        out.put_u16((CHUNK_HEADER_LEN + vlen) as u16);
        match self {
            Chunk::Data(d) => {
                out.put_u32(d.tsn);
                out.put_u16(d.stream_id);
                out.put_u16(d.ssn);
                out.put_u32(d.ppid);
                out.put_slice(&d.payload);
            }
            Chunk::IData(d) => {
                out.put_u32(d.tsn);
                out.put_u16(d.stream_id);
                out.put_u16(0);
                out.put_u32(d.mid);
                out.put_u32(d.ppid_or_fsn);
                out.put_slice(&d.payload);
            }
            Chunk::Init(i) | Chunk::InitAck(i) => {
                out.put_u32(i.initiate_tag);
                out.put_u32(i.a_rwnd);
                out.put_u16(i.num_outbound_streams);
                out.put_u16(i.num_inbound_streams);
                out.put_u32(i.initial_tsn);
                crate::param::write_params(&i.params, out);
            }
            Chunk::Sack(s) => {
                out.put_u32(s.cum_tsn_ack);
                out.put_u32(s.a_rwnd);
                out.put_u16(s.gap_blocks.len() as u16);
                out.put_u16(s.dup_tsns.len() as u16);
                for g in &s.gap_blocks {
                    out.put_u16(g.start);
                    out.put_u16(g.end);
                }
                for d in &s.dup_tsns {
                    out.put_u32(*d);
                }
            }
            Chunk::Heartbeat { info } | Chunk::HeartbeatAck { info } => {
                out.put_u16(HEARTBEAT_INFO);
                out.put_u16((4 + info.len()) as u16);
                out.put_slice(info);
            }
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => write_causes(causes, out),
            Chunk::Shutdown { cum_tsn_ack } => out.put_u32(*cum_tsn_ack),
            Chunk::ShutdownAck | Chunk::ShutdownComplete { .. } | Chunk::CookieAck => {}
            Chunk::CookieEcho { cookie } => out.put_slice(cookie),
            Chunk::Pad { data } => out.put_slice(data),
            Chunk::ForwardTsn {
                new_cum_tsn,
                streams,
            } => {
                out.put_u32(*new_cum_tsn);
                for s in streams {
                    out.put_u16(s.stream_id);
                    out.put_u16(s.ssn);
                }
            }
            Chunk::IForwardTsn {
                new_cum_tsn,
                streams,
            } => {
                out.put_u32(*new_cum_tsn);
                for s in streams {
                    out.put_u16(s.stream_id);
                    out.put_u16(s.unordered as u16);
                    out.put_u32(s.mid);
                }
            }
            Chunk::ReConfig { params } => crate::param::write_reconfig_params(params, out),
            Chunk::Unknown { value, .. } => out.put_slice(value),
        }
        put_padding(out, vlen);
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
