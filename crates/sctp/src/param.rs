//! Chunk parameters: the INIT / INIT ACK parameters (RFC 9260 §3.3.2.1 and extensions) and
//! the RE-CONFIG parameters of RFC 6525 §4.

use bytes::{BufMut, Bytes};

use nom::multi::many0;
use nom::Parser;

use crate::chunk::{pad4, put_padding};
use crate::wire::{for_each_tlv, run, u16f, u32f, PResult};
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

/// The optional/variable-length parameters of an INIT or INIT ACK (RFC 9260 §3.3.2.1): type,
/// length (with the 4-byte header), value, padding.
pub(crate) fn parse_params(buf: &Bytes, base: usize) -> Result<Vec<Param>, Error> {
    use param_type as p;
    let mut params = Vec::new();
    for_each_tlv(buf, base, "INIT parameter", |t, v, off| {
        let value = buf.slice_ref(v);
        let param = match t {
            p::STATE_COOKIE => Param::StateCookie(value),
            p::SUPPORTED_EXTENSIONS => Param::SupportedExtensions(value),
            p::FORWARD_TSN_SUPPORTED if value.is_empty() => Param::ForwardTsnSupported,
            p::UNRECOGNIZED_PARAMETER => Param::UnrecognizedParameter(value),
            // RFC 9653 §5.1: the Error Detection Method Identifier, 32 bits.
            p::ZERO_CHECKSUM_ACCEPTABLE => {
                if value.len() != 4 {
                    return Err(Error::InvalidLength {
                        what: "Zero Checksum Acceptable parameter",
                        offset: off,
                        length: value.len() + 4,
                    });
                }
                let (_, edmid) = run(v, off + 4, "Zero Checksum Acceptable parameter", u32f)?;
                Param::ZeroChecksumAcceptable { edmid }
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

/// A list of 16-bit stream identifiers up to the end of the value (RFC 6525 §4.1, §4.2); an
/// odd byte left over is for the caller to reject.
fn stream_list(i: &[u8]) -> PResult<'_, Vec<u16>> {
    many0(u16f).parse(i)
}

/// The value of one RE-CONFIG parameter of a type RFC 6525 defines, which must be read to its
/// last byte; `None` for other types.
fn reconfig_param(t: u16, v: &[u8], off: usize) -> Result<Option<ReconfigParam>, Error> {
    use param_type as p;
    let what = "RE-CONFIG parameter";
    let at = off + 4;
    let (rest, param) = match t {
        // §4.1: request seq, response seq, sender's last assigned TSN, streams.
        p::OUTGOING_SSN_RESET => {
            let (rest, (request_seq, response_seq, last_tsn, streams)) =
                run(v, at, what, (u32f, u32f, u32f, stream_list))?;
            let param = ReconfigParam::OutgoingSsnReset {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            };
            (rest, param)
        }
        // §4.2: request seq, streams.
        p::INCOMING_SSN_RESET => {
            let (rest, (request_seq, streams)) = run(v, at, what, (u32f, stream_list))?;
            let param = ReconfigParam::IncomingSsnReset {
                request_seq,
                streams,
            };
            (rest, param)
        }
        // §4.3: request seq.
        p::SSN_TSN_RESET => {
            let (rest, request_seq) = run(v, at, what, u32f)?;
            (rest, ReconfigParam::SsnTsnReset { request_seq })
        }
        // §4.4: response seq, result, and the two next TSNs when present.
        p::RECONFIG_RESPONSE => {
            let (rest, (response_seq, result)) = run(v, at, what, (u32f, u32f))?;
            let (rest, next_tsns) = if rest.len() >= 8 {
                let pos = at + (v.len() - rest.len());
                let (rest, tsns) = run(rest, pos, what, (u32f, u32f))?;
                (rest, Some(tsns))
            } else {
                (rest, None)
            };
            let param = ReconfigParam::Response {
                response_seq,
                result,
                next_tsns,
            };
            (rest, param)
        }
        // §4.5, §4.6: request seq, number of new streams, 16 reserved bits.
        p::ADD_OUTGOING_STREAMS | p::ADD_INCOMING_STREAMS => {
            let (rest, (request_seq, new_streams, _reserved)) =
                run(v, at, what, (u32f, u16f, u16f))?;
            let param = if t == p::ADD_OUTGOING_STREAMS {
                ReconfigParam::AddOutgoingStreams {
                    request_seq,
                    new_streams,
                }
            } else {
                ReconfigParam::AddIncomingStreams {
                    request_seq,
                    new_streams,
                }
            };
            (rest, param)
        }
        _ => return Ok(None),
    };
    if !rest.is_empty() {
        return Err(Error::InvalidLength {
            what,
            offset: off,
            length: v.len() + 4,
        });
    }
    Ok(Some(param))
}

/// The parameters of a RE-CONFIG chunk (RFC 6525 §3.1): TLVs as in INIT; types RFC 6525 does
/// not define are kept raw.
pub(crate) fn parse_reconfig_params(buf: &Bytes, base: usize) -> Result<Vec<ReconfigParam>, Error> {
    let mut params = Vec::new();
    for_each_tlv(buf, base, "RE-CONFIG parameter", |t, v, off| {
        let param = match reconfig_param(t, v, off)? {
            Some(p) => p,
            None => ReconfigParam::Unknown {
                param_type: t,
                value: buf.slice_ref(v),
            },
        };
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
