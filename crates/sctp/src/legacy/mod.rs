//! The hand-written parser that the nom grammar replaced, kept only for the differential
//! tests and fuzz target of issue 14 (feature `legacy-parser`, not part of the API): the
//! packet, chunk, INIT parameter, RE-CONFIG parameter and error cause parsers as they were
//! before the move to nom, so that both can run on the same inputs.
#![allow(missing_docs, missing_debug_implementations, clippy::panic)]

use bytes::Bytes;

use crate::chunk::{
    chunk_type, pad4, DataChunk, ErrorCause, ForwardTsnStream, GapBlock, IDataChunk,
    IForwardTsnStream, InitChunk, SackChunk, CHUNK_HEADER_LEN,
};
use crate::packet::{verify_checksum, ChecksumMode, CommonHeader, Packet, COMMON_HEADER_LEN};
use crate::param::{param_type, Param, ReconfigParam};
use crate::{Chunk, Error};

/// A big-endian reader over a chunk value that reports offsets in errors.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize, what: &'static str) -> Self {
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
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
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

fn parse_init(value: &Bytes, base: usize) -> Result<InitChunk, Error> {
    let mut r = Reader::new(value, base, "INIT");
    let initiate_tag = r.u32()?;
    let a_rwnd = r.u32()?;
    let num_outbound_streams = r.u16()?;
    let num_inbound_streams = r.u16()?;
    let initial_tsn = r.u32()?;
    let params = parse_params(&value.slice(r.pos()..), base + r.pos())?;
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

pub fn parse_chunk(ty: u8, flags: u8, value: Bytes, base: usize) -> Result<Chunk, Error> {
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
            params: parse_reconfig_params(&value, base)?,
        },
        _ => Chunk::Unknown {
            chunk_type: ty,
            flags,
            value,
        },
    };
    Ok(chunk)
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

pub fn parse_params(buf: &Bytes, base: usize) -> Result<Vec<Param>, Error> {
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

fn parse_stream_list(r: &mut Reader<'_>) -> Result<Vec<u16>, Error> {
    let mut v = Vec::with_capacity(r.remaining() / 2);
    while r.remaining() >= 2 {
        v.push(r.u16()?);
    }
    Ok(v)
}

pub fn parse_reconfig_params(buf: &Bytes, base: usize) -> Result<Vec<ReconfigParam>, Error> {
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
    fn next_chunk(&mut self) -> Result<Chunk, Error> {
        let pos = self.pos;
        let mut r = Reader::new(self.buf.get(pos..).unwrap_or_default(), pos, "chunk header");
        let t = r.u8()?;
        let flags = r.u8()?;
        let len = r.u16()? as usize;
        if len < CHUNK_HEADER_LEN || pos + len > self.buf.len() {
            return Err(Error::InvalidLength {
                what: "chunk",
                offset: pos,
                length: len,
            });
        }
        let value = self.buf.slice(pos + CHUNK_HEADER_LEN..pos + len);
        // Padding may be missing after the last chunk.
        self.pos = (pos + pad4(len)).min(self.buf.len());
        parse_chunk(t, flags, value, pos + CHUNK_HEADER_LEN)
    }
}

pub struct Old;

impl Old {
    /// Parses the common header and returns an iterator over the chunks, after checking the
    /// checksum. The iterator borrows nothing: chunk values are slices of `buf`.
    pub fn parse_lazy(buf: Bytes, mode: ChecksumMode) -> Result<(CommonHeader, ChunkIter), Error> {
        verify_checksum(&buf, mode)?;
        let mut r = Reader::new(&buf, 0, "common header");
        let header = CommonHeader {
            src_port: r.u16()?,
            dst_port: r.u16()?,
            verification_tag: r.u32()?,
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
}

/// Run the old and the new parser on `data` and panic on any difference: the checksum check
/// in both modes, then (with the Checksum field zeroed so that the chunks are reached) the
/// whole-packet parse and the lazy chunk walk. For the differential tests and fuzz target.
pub fn check(data: &[u8]) {
    use crate::packet::verify_checksum as new_verify;
    for mode in [ChecksumMode::Crc32c, ChecksumMode::ZeroAllowed] {
        assert_eq!(
            new_verify(data, mode),
            verify_checksum(data, mode),
            "checksum"
        );
    }
    let mut zeroed = data.to_vec();
    if let Some(c) = zeroed.get_mut(8..12) {
        c.fill(0);
    }
    let buf = Bytes::from(zeroed);
    let mode = ChecksumMode::ZeroAllowed;
    assert_eq!(
        Packet::parse(buf.clone(), mode),
        Old::parse(buf.clone(), mode),
        "Packet::parse"
    );
    let new = Packet::parse_lazy(buf.clone(), mode);
    let old = Old::parse_lazy(buf, mode);
    match (new, old) {
        (Ok((hn, itn)), Ok((ho, ito))) => {
            assert_eq!(hn, ho, "common header");
            assert_eq!(itn.collect::<Vec<_>>(), ito.collect::<Vec<_>>(), "chunks");
        }
        (Err(en), Err(eo)) => assert_eq!(en, eo, "parse_lazy"),
        (n, o) => panic!("parse_lazy: {:?} vs {:?}", n.map(|x| x.0), o.map(|x| x.0)),
    }
}
