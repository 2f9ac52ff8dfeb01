//! Chunk parameters: the INIT / INIT ACK parameters (RFC 9260 §3.3.2.1 and extensions) and
//! the RE-CONFIG parameters of RFC 6525 §4.

use bytes::{BufMut, Bytes};

use crate::chunk::{pad4, put_padding, Reader};
use crate::Error;

/// Parameter type codes.
pub mod param_type {
    /// State Cookie (INIT ACK).
    pub const STATE_COOKIE: u16 = 7;
    /// Unrecognized Parameter (INIT ACK).
    pub const UNRECOGNIZED_PARAMETER: u16 = 8;
    /// Outgoing SSN Reset Request (RFC 6525).
    pub const OUTGOING_SSN_RESET: u16 = 13;
    /// Incoming SSN Reset Request (RFC 6525).
    pub const INCOMING_SSN_RESET: u16 = 14;
    /// SSN/TSN Reset Request (RFC 6525).
    pub const SSN_TSN_RESET: u16 = 15;
    /// Re-configuration Response (RFC 6525).
    pub const RECONFIG_RESPONSE: u16 = 16;
    /// Add Outgoing Streams Request (RFC 6525).
    pub const ADD_OUTGOING_STREAMS: u16 = 17;
    /// Add Incoming Streams Request (RFC 6525).
    pub const ADD_INCOMING_STREAMS: u16 = 18;
    /// Zero Checksum Acceptable (RFC 9653).
    pub const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    /// Supported Extensions (RFC 5061 §4.2.7).
    pub const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// Forward-TSN-Supported (RFC 3758 §3.1).
    pub const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
}

/// Error Detection Method Identifier for "SCTP over DTLS" (RFC 9653 §5).
pub const EDMID_DTLS: u32 = 1;

/// An INIT / INIT ACK parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// State Cookie (opaque to the receiver of the INIT ACK).
    StateCookie(Bytes),
    /// Supported Extensions: the chunk types the sender understands.
    SupportedExtensions(Bytes),
    /// Forward-TSN-Supported: the sender implements PR-SCTP.
    ForwardTsnSupported,
    /// Zero Checksum Acceptable with its Error Detection Method Identifier.
    ZeroChecksumAcceptable {
        /// The alternate error detection method (1 = DTLS).
        edmid: u32,
    },
    /// Unrecognized Parameter: the offending parameter, header included.
    UnrecognizedParameter(Bytes),
    /// Any other parameter (IPv4/IPv6 address, cookie preservative, ECN, ...).
    Unknown {
        /// Parameter type.
        param_type: u16,
        /// Parameter value (without padding).
        value: Bytes,
    },
}

impl Param {
    fn param_type(&self) -> u16 {
        use param_type as p;
        match self {
            Param::StateCookie(_) => p::STATE_COOKIE,
            Param::SupportedExtensions(_) => p::SUPPORTED_EXTENSIONS,
            Param::ForwardTsnSupported => p::FORWARD_TSN_SUPPORTED,
            Param::ZeroChecksumAcceptable { .. } => p::ZERO_CHECKSUM_ACCEPTABLE,
            Param::UnrecognizedParameter(_) => p::UNRECOGNIZED_PARAMETER,
            Param::Unknown { param_type, .. } => *param_type,
        }
    }
    fn value_len(&self) -> usize {
        match self {
            Param::StateCookie(b)
            | Param::SupportedExtensions(b)
            | Param::UnrecognizedParameter(b) => b.len(),
            Param::ForwardTsnSupported => 0,
            Param::ZeroChecksumAcceptable { .. } => 4,
            Param::Unknown { value, .. } => value.len(),
        }
    }
    /// Bytes written, padding included.
    pub fn encoded_len(&self) -> usize {
        pad4(4 + self.value_len())
    }
    /// Writes the parameter, padded.
    pub fn write_to(&self, out: &mut impl BufMut) {
        let vlen = self.value_len();
        out.put_u16(self.param_type());
        out.put_u16((4 + vlen) as u16);
        match self {
            Param::StateCookie(b)
            | Param::SupportedExtensions(b)
            | Param::UnrecognizedParameter(b) => out.put_slice(b),
            Param::ForwardTsnSupported => {}
            Param::ZeroChecksumAcceptable { edmid } => out.put_u32(*edmid),
            Param::Unknown { value, .. } => out.put_slice(value),
        }
        put_padding(out, vlen);
    }
}

/// Splits a run of TLV parameters into (type, value, offset-of-parameter) triples.
fn for_each_tlv(
    buf: &Bytes,
    base: usize,
    what: &'static str,
    mut f: impl FnMut(u16, Bytes, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut pos = 0usize;
    while pos < buf.len() {
        let mut r = Reader::new(buf.get(pos..).unwrap_or_default(), base + pos, what);
        let t = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 || pos + len > buf.len() {
            return Err(Error::InvalidLength {
                what,
                offset: base + pos,
                length: len,
            });
        }
        f(t, buf.slice(pos + 4..pos + len), base + pos)?;
        pos = (pos + pad4(len)).min(buf.len());
    }
    Ok(())
}

pub(crate) fn parse_params(buf: &Bytes, base: usize) -> Result<Vec<Param>, Error> {
    use param_type as p;
    let mut params = Vec::new();
    for_each_tlv(buf, base, "INIT parameter", |t, value, off| {
        let param = match t {
            p::STATE_COOKIE => Param::StateCookie(value),
            p::SUPPORTED_EXTENSIONS => Param::SupportedExtensions(value),
            p::FORWARD_TSN_SUPPORTED if value.is_empty() => Param::ForwardTsnSupported,
            p::UNRECOGNIZED_PARAMETER => Param::UnrecognizedParameter(value),
            p::ZERO_CHECKSUM_ACCEPTABLE => {
                if value.len() != 4 {
                    return Err(Error::InvalidLength {
                        what: "Zero Checksum Acceptable parameter",
                        offset: off,
                        length: value.len() + 4,
                    });
                }
                let mut r = Reader::new(&value, off + 4, "Zero Checksum Acceptable parameter");
                Param::ZeroChecksumAcceptable { edmid: r.u32()? }
            }
            _ => Param::Unknown {
                param_type: t,
                value,
            },
        };
        params.push(param);
        Ok(())
    })?;
    Ok(params)
}

pub(crate) fn params_len(params: &[Param]) -> usize {
    params.iter().map(Param::encoded_len).sum()
}

pub(crate) fn write_params(params: &[Param], out: &mut impl BufMut) {
    for p in params {
        p.write_to(out);
    }
}

/// Result codes of a Re-configuration Response (RFC 6525 §4.4).
pub mod reconfig_result {
    /// Success - Nothing to do.
    pub const SUCCESS_NOTHING_TO_DO: u32 = 0;
    /// Success - Performed.
    pub const SUCCESS_PERFORMED: u32 = 1;
    /// Denied.
    pub const DENIED: u32 = 2;
    /// Error - Wrong SSN.
    pub const ERROR_WRONG_SSN: u32 = 3;
    /// Error - Request already in progress.
    pub const ERROR_REQUEST_ALREADY_IN_PROGRESS: u32 = 4;
    /// Error - Bad Sequence Number.
    pub const ERROR_BAD_SEQUENCE_NUMBER: u32 = 5;
    /// In progress.
    pub const IN_PROGRESS: u32 = 6;
}

/// A RE-CONFIG parameter (RFC 6525 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigParam {
    /// Outgoing SSN Reset Request (§4.1).
    OutgoingSsnReset {
        /// Re-configuration request sequence number.
        request_seq: u32,
        /// Sequence number of the last response the sender expects... (RFC: "Re-configuration
        /// Response Sequence Number").
        response_seq: u32,
        /// Sender's last assigned TSN.
        last_tsn: u32,
        /// Streams to reset; empty means all.
        streams: Vec<u16>,
    },
    /// Incoming SSN Reset Request (§4.2).
    IncomingSsnReset {
        /// Request sequence number.
        request_seq: u32,
        /// Streams; empty means all.
        streams: Vec<u16>,
    },
    /// SSN/TSN Reset Request (§4.3).
    SsnTsnReset {
        /// Request sequence number.
        request_seq: u32,
    },
    /// Re-configuration Response (§4.4).
    Response {
        /// Sequence number of the request answered.
        response_seq: u32,
        /// Result (see [`reconfig_result`]).
        result: u32,
        /// Optional sender's and receiver's next TSN (SSN/TSN reset responses only).
        next_tsns: Option<(u32, u32)>,
    },
    /// Add Outgoing Streams Request (§4.5).
    AddOutgoingStreams {
        /// Request sequence number.
        request_seq: u32,
        /// Number of new streams.
        new_streams: u16,
    },
    /// Add Incoming Streams Request (§4.6).
    AddIncomingStreams {
        /// Request sequence number.
        request_seq: u32,
        /// Number of new streams.
        new_streams: u16,
    },
    /// A parameter type not defined by RFC 6525.
    Unknown {
        /// Parameter type.
        param_type: u16,
        /// Value.
        value: Bytes,
    },
}

fn parse_stream_list(r: &mut Reader<'_>) -> Result<Vec<u16>, Error> {
    let mut v = Vec::with_capacity(r.remaining() / 2);
    while r.remaining() >= 2 {
        v.push(r.u16()?);
    }
    Ok(v)
}

pub(crate) fn parse_reconfig_params(buf: &Bytes, base: usize) -> Result<Vec<ReconfigParam>, Error> {
    use param_type as p;
    let mut params = Vec::new();
    for_each_tlv(buf, base, "RE-CONFIG parameter", |t, value, off| {
        let mut r = Reader::new(&value, off + 4, "RE-CONFIG parameter");
        let param = match t {
            p::OUTGOING_SSN_RESET => {
                let request_seq = r.u32()?;
                let response_seq = r.u32()?;
                let last_tsn = r.u32()?;
                let streams = parse_stream_list(&mut r)?;
                ReconfigParam::OutgoingSsnReset {
                    request_seq,
                    response_seq,
                    last_tsn,
                    streams,
                }
            }
            p::INCOMING_SSN_RESET => {
                let request_seq = r.u32()?;
                let streams = parse_stream_list(&mut r)?;
                ReconfigParam::IncomingSsnReset {
                    request_seq,
                    streams,
                }
            }
            p::SSN_TSN_RESET => ReconfigParam::SsnTsnReset {
                request_seq: r.u32()?,
            },
            p::RECONFIG_RESPONSE => {
                let response_seq = r.u32()?;
                let result = r.u32()?;
                let next_tsns = if r.remaining() >= 8 {
                    Some((r.u32()?, r.u32()?))
                } else {
                    None
                };
                ReconfigParam::Response {
                    response_seq,
                    result,
                    next_tsns,
                }
            }
            p::ADD_OUTGOING_STREAMS | p::ADD_INCOMING_STREAMS => {
                let request_seq = r.u32()?;
                let new_streams = r.u16()?;
                let _reserved = r.u16()?;
                if t == p::ADD_OUTGOING_STREAMS {
                    ReconfigParam::AddOutgoingStreams {
                        request_seq,
                        new_streams,
                    }
                } else {
                    ReconfigParam::AddIncomingStreams {
                        request_seq,
                        new_streams,
                    }
                }
            }
            _ => {
                return {
                    params.push(ReconfigParam::Unknown {
                        param_type: t,
                        value,
                    });
                    Ok(())
                }
            }
        };
        if r.remaining() != 0 {
            return Err(Error::InvalidLength {
                what: "RE-CONFIG parameter",
                offset: off,
                length: value.len() + 4,
            });
        }
        params.push(param);
        Ok(())
    })?;
    Ok(params)
}

impl ReconfigParam {
    fn value_len(&self) -> usize {
        match self {
            ReconfigParam::OutgoingSsnReset { streams, .. } => 12 + 2 * streams.len(),
            ReconfigParam::IncomingSsnReset { streams, .. } => 4 + 2 * streams.len(),
            ReconfigParam::SsnTsnReset { .. } => 4,
            ReconfigParam::Response { next_tsns, .. } => {
                8 + if next_tsns.is_some() { 8 } else { 0 }
            }
            ReconfigParam::AddOutgoingStreams { .. } | ReconfigParam::AddIncomingStreams { .. } => {
                8
            }
            ReconfigParam::Unknown { value, .. } => value.len(),
        }
    }
    /// Bytes written, padding included.
    pub fn encoded_len(&self) -> usize {
        pad4(4 + self.value_len())
    }
    /// Writes the parameter, padded.
    pub fn write_to(&self, out: &mut impl BufMut) {
        use param_type as p;
        let vlen = self.value_len();
        let t = match self {
            ReconfigParam::OutgoingSsnReset { .. } => p::OUTGOING_SSN_RESET,
            ReconfigParam::IncomingSsnReset { .. } => p::INCOMING_SSN_RESET,
            ReconfigParam::SsnTsnReset { .. } => p::SSN_TSN_RESET,
            ReconfigParam::Response { .. } => p::RECONFIG_RESPONSE,
            ReconfigParam::AddOutgoingStreams { .. } => p::ADD_OUTGOING_STREAMS,
            ReconfigParam::AddIncomingStreams { .. } => p::ADD_INCOMING_STREAMS,
            ReconfigParam::Unknown { param_type, .. } => *param_type,
        };
        out.put_u16(t);
        out.put_u16((4 + vlen) as u16);
        match self {
            ReconfigParam::OutgoingSsnReset {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            } => {
                out.put_u32(*request_seq);
                out.put_u32(*response_seq);
                out.put_u32(*last_tsn);
                streams.iter().for_each(|s| out.put_u16(*s));
            }
            ReconfigParam::IncomingSsnReset {
                request_seq,
                streams,
            } => {
                out.put_u32(*request_seq);
                streams.iter().for_each(|s| out.put_u16(*s));
            }
            ReconfigParam::SsnTsnReset { request_seq } => out.put_u32(*request_seq),
            ReconfigParam::Response {
                response_seq,
                result,
                next_tsns,
            } => {
                out.put_u32(*response_seq);
                out.put_u32(*result);
                if let Some((a, b)) = next_tsns {
                    out.put_u32(*a);
                    out.put_u32(*b);
                }
            }
            ReconfigParam::AddOutgoingStreams {
                request_seq,
                new_streams,
            }
            | ReconfigParam::AddIncomingStreams {
                request_seq,
                new_streams,
            } => {
                out.put_u32(*request_seq);
                out.put_u16(*new_streams);
                out.put_u16(0);
            }
            ReconfigParam::Unknown { value, .. } => out.put_slice(value),
        }
        put_padding(out, vlen);
    }
}

pub(crate) fn reconfig_params_len(params: &[ReconfigParam]) -> usize {
    params.iter().map(ReconfigParam::encoded_len).sum()
}

pub(crate) fn write_reconfig_params(params: &[ReconfigParam], out: &mut impl BufMut) {
    for p in params {
        p.write_to(out);
    }
}
