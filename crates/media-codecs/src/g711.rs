//! G.711 PCMU (mu-law) and PCMA (A-law) over RTP (RFC 3551 §4.5.14).
//!
//! One octet per sample at 8000 Hz, the RTP clock rate too, so a payload of `n` octets advances
//! the RTP timestamp by `n` ([`timestamp_increment`]). Samples are independent: any octet count
//! is a valid payload. The packetizer keeps one audio packet per RTP payload (splitting would
//! need a new timestamp per part, which is the caller's) and refuses one larger than the room.

use bytes::Bytes;

use crate::{Codec, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta};

/// RTP clock rate of PCMU and PCMA (RFC 3551 Table 4).
pub const CLOCK_RATE: u32 = 8000;

/// Static payload type of PCMU (RFC 3551 Table 4).
pub const PCMU_PAYLOAD_TYPE: u8 = 0;

/// Static payload type of PCMA (RFC 3551 Table 4).
pub const PCMA_PAYLOAD_TYPE: u8 = 8;

/// RTP timestamp advance of a G.711 payload of `len` octets: one sample per octet.
pub fn timestamp_increment(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Which companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// mu-law, PCMU.
    Mu,
    /// A-law, PCMA.
    A,
}

impl Law {
    fn codec(self) -> Codec {
        match self {
            Law::Mu => Codec::Pcmu,
            Law::A => Codec::Pcma,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Law::Mu => "PCMU",
            Law::A => "PCMA",
        }
    }
}

/// Shared by the sample-based audio formats (G.711, G.722): one whole audio packet per payload.
#[derive(Debug, Default)]
pub(crate) struct RawAudio {
    pending: Option<Bytes>,
}

impl RawAudio {
    pub(crate) fn begin(
        &mut self,
        codec: &'static str,
        frame: Bytes,
        max_payload: usize,
    ) -> Result<(), Error> {
        self.pending = None;
        if frame.is_empty() {
            return Err(Error::BadFrame {
                codec,
                reason: "no samples",
            });
        }
        if frame.len() > max_payload {
            return Err(Error::MtuTooSmall {
                codec,
                max_payload,
                needed: frame.len(),
            });
        }
        self.pending = Some(frame);
        Ok(())
    }

    pub(crate) fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        let f = self.pending.take()?;
        out.extend_from_slice(&f);
        Some(PayloadMeta {
            len: f.len(),
            marker: false,
        })
    }
}

/// Facts of a sample-based audio payload: every payload is a whole frame.
pub(crate) fn raw_audio_info(codec: &'static str, payload: &[u8]) -> Result<PacketInfo, Error> {
    if payload.is_empty() {
        return Err(Error::Truncated {
            what: codec,
            offset: 0,
            needed: 1,
            available: 0,
        });
    }
    Ok(PacketInfo {
        frame_start: Some(true),
        frame_end: Some(true),
        ..PacketInfo::default()
    })
}

/// G.711 packetizer: the caller's packet of samples is the payload.
#[derive(Debug)]
pub struct G711Packetizer {
    law: Law,
    raw: RawAudio,
}

impl G711Packetizer {
    /// A packetizer for `law`.
    pub fn new(law: Law) -> Self {
        Self {
            law,
            raw: RawAudio::default(),
        }
    }
}

impl Packetizer for G711Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.raw.begin(self.law.name(), frame, max_payload)
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        self.raw.next_payload(out)
    }
}

/// G.711 depacketizer: the payload is the samples.
#[derive(Debug)]
pub struct G711Depacketizer {
    law: Law,
}

impl G711Depacketizer {
    /// A depacketizer for `law`.
    pub fn new(law: Law) -> Self {
        Self { law }
    }
}

impl Depacketizer for G711Depacketizer {
    fn codec(&self) -> Codec {
        self.law.codec()
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        raw_audio_info(self.law.name(), payload)
    }

    fn push(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<PacketInfo, Error> {
        let info = self.packet_info(payload)?;
        out.extend_from_slice(payload);
        Ok(info)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), Error> {
        Ok(())
    }

    fn reset(&mut self) {}

    /// Samples are independent: every packet decodes.
    fn decodable(&mut self, _frame: &PacketInfo, _contiguous: bool) -> bool {
        true
    }
}
