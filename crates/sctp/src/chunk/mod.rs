//! SCTP chunks (RFC 9260 §3.3) and the extension chunks WebRTC uses: FORWARD-TSN (RFC 3758),
//! I-DATA / I-FORWARD-TSN (RFC 8260), RE-CONFIG (RFC 6525) and PAD (RFC 4820).
//!
//! Parsing is zero-copy: user payloads, cookies and opaque values are `Bytes` slices of the
//! received packet. Every chunk is written padded to a multiple of four bytes; the parser
//! accepts a missing pad after the last chunk of a packet.

use bytes::{BufMut, Bytes};

use crate::param::ReconfigParam;
use crate::wire::{run, u32f};
use crate::Error;

mod data;
mod error_cause;
mod forward_tsn;
mod heartbeat;
mod init;
mod sack;

pub(crate) use data::{write_data_header, write_idata_header};
pub use data::{DataChunk, IDataChunk};
pub use error_cause::{cause_code, ErrorCause};
use error_cause::{causes_len, parse_causes, write_causes};
use forward_tsn::{parse_forward_tsn, parse_i_forward_tsn};
pub use forward_tsn::{ForwardTsnStream, IForwardTsnStream};
use heartbeat::{parse_heartbeat, write_heartbeat};
pub use init::InitChunk;
pub use sack::{GapBlock, SackChunk};

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

pub(crate) use crate::wire::pad4;

pub(crate) fn put_padding(out: &mut impl BufMut, len: usize) {
    out.put_bytes(0, pad4(len) - len);
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

impl Chunk {
    /// Parses one chunk from its type, flags and value (the bytes after the 4-byte header,
    /// without padding). `base` is the offset of the value in the packet, for errors.
    pub fn parse(ty: u8, flags: u8, value: Bytes, base: usize) -> Result<Chunk, Error> {
        use self::chunk_type as t;
        let chunk = match ty {
            t::DATA => Chunk::Data(DataChunk::parse(flags, &value, base)?),
            t::I_DATA => Chunk::IData(IDataChunk::parse(flags, &value, base)?),
            t::INIT => Chunk::Init(InitChunk::parse(&value, base)?),
            t::INIT_ACK => Chunk::InitAck(InitChunk::parse(&value, base)?),
            t::SACK => Chunk::Sack(SackChunk::parse(&value, base)?),
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
            // RFC 9260 §3.3.8: the cumulative TSN ack; anything after it is ignored.
            t::SHUTDOWN => Chunk::Shutdown {
                cum_tsn_ack: run(&value, base, "SHUTDOWN", u32f)?.1,
            },
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
                let (new_cum_tsn, streams) = parse_forward_tsn(&value, base)?;
                Chunk::ForwardTsn {
                    new_cum_tsn,
                    streams,
                }
            }
            t::I_FORWARD_TSN => {
                let (new_cum_tsn, streams) = parse_i_forward_tsn(&value, base)?;
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
            Chunk::Init(i) | Chunk::InitAck(i) => i.value_len(),
            Chunk::Sack(s) => s.value_len(),
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
            Chunk::Data(d) => d.write_value(out),
            Chunk::IData(d) => d.write_value(out),
            Chunk::Init(i) | Chunk::InitAck(i) => i.write_value(out),
            Chunk::Sack(s) => s.write_value(out),
            Chunk::Heartbeat { info } | Chunk::HeartbeatAck { info } => write_heartbeat(info, out),
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
