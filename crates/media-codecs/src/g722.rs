//! G.722 over RTP (RFC 3551 §4.5.2).
//!
//! G.722 samples at 16 kHz, but its RTP clock rate is 8000 Hz: the RFC keeps the value
//! of RFC 1890 for compatibility, so the RTP timestamp advances by one per octet (two 4-bit
//! sample codes), not by two ([`timestamp_increment`]). The SDP says `G722/8000`.

use bytes::Bytes;

use crate::g711::{raw_audio_info, RawAudio};
use crate::{Codec, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta};

/// RTP clock rate of G.722: 8000 Hz although the audio is sampled at 16 kHz (RFC 3551 §4.5.2).
pub const CLOCK_RATE: u32 = 8000;

/// Static payload type of G.722 (RFC 3551 Table 4).
pub const PAYLOAD_TYPE: u8 = 9;

/// RTP timestamp advance of a G.722 payload of `len` octets: one tick of the 8000 Hz clock per
/// octet (each octet codes two 16 kHz samples).
pub fn timestamp_increment(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// G.722 packetizer: the caller's packet of octets is the payload.
#[derive(Debug, Default)]
pub struct G722Packetizer {
    raw: RawAudio,
}

impl G722Packetizer {
    /// A packetizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Packetizer for G722Packetizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.raw.begin("G722", frame, max_payload)
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        self.raw.next_payload(out)
    }
}

/// G.722 depacketizer: the payload is the octets.
#[derive(Debug, Default)]
pub struct G722Depacketizer;

impl G722Depacketizer {
    /// A depacketizer.
    pub fn new() -> Self {
        Self
    }
}

impl Depacketizer for G722Depacketizer {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        raw_audio_info("G722", payload)
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

    /// Every packet decodes (the ADPCM state recovers by itself).
    fn decodable(&mut self, _frame: &PacketInfo, _contiguous: bool) -> bool {
        true
    }
}
