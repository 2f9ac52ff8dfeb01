//! Opus over RTP (RFC 7587) and the facts of an Opus packet (RFC 6716 §3.1-3.2).
//!
//! One Opus packet is one RTP payload, never fragmented nor aggregated (RFC 7587 §4.2), so the
//! packetizer refuses a packet larger than the room and the depacketizer copies the payload.
//! Both validate the packet framing of RFC 6716 §3.4 (requirements R1-R7) so a malformed
//! payload is an error, not a frame handed to a decoder.

use bytes::Bytes;

use crate::{Codec, Depacketizer, Error, PacketInfo, Packetizer, PayloadMeta};

/// The RTP clock rate of Opus, whatever the real sampling rate (RFC 7587 §4.1).
pub const CLOCK_RATE: u32 = 48_000;

/// Largest size of one Opus frame, RFC 6716 §3.2.1 (R2).
const MAX_FRAME_LEN: usize = 1275;

/// Longest duration of one Opus packet, 120 ms in 48 kHz samples (RFC 6716 §3.2.5, R5).
const MAX_PACKET_SAMPLES: u32 = 5760;

/// The coding mode of a configuration (RFC 6716 §3.1, Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SILK-only (configurations 0-11).
    Silk,
    /// Hybrid SILK + CELT (12-15).
    Hybrid,
    /// CELT-only (16-31).
    Celt,
}

/// Audio bandwidth of a configuration (RFC 6716 §2, Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bandwidth {
    /// 4 kHz, 8 kHz sampling.
    Narrowband,
    /// 6 kHz, 12 kHz sampling.
    Mediumband,
    /// 8 kHz, 16 kHz sampling.
    Wideband,
    /// 12 kHz, 24 kHz sampling.
    SuperWideband,
    /// 20 kHz, 48 kHz sampling.
    Fullband,
}

/// The table-of-contents byte that starts every Opus packet (RFC 6716 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toc(pub u8);

impl Toc {
    /// Configuration number, 0-31.
    pub fn config(self) -> u8 {
        self.0 >> 3
    }

    /// The `s` bit: stereo.
    pub fn stereo(self) -> bool {
        self.0 & 0x04 != 0
    }

    /// Frame count code `c`, 0-3 (RFC 6716 §3.2).
    pub fn code(self) -> u8 {
        self.0 & 0x03
    }

    /// Coding mode.
    pub fn mode(self) -> Mode {
        match self.config() {
            0..=11 => Mode::Silk,
            12..=15 => Mode::Hybrid,
            _ => Mode::Celt,
        }
    }

    /// Audio bandwidth.
    pub fn bandwidth(self) -> Bandwidth {
        match self.config() {
            0..=3 | 16..=19 => Bandwidth::Narrowband,
            4..=7 => Bandwidth::Mediumband,
            8..=11 | 20..=23 => Bandwidth::Wideband,
            12..=13 | 24..=27 => Bandwidth::SuperWideband,
            _ => Bandwidth::Fullband,
        }
    }

    /// Duration of each frame of the packet in 48 kHz samples (2.5 ms = 120 ... 60 ms = 2880).
    pub fn frame_samples(self) -> u32 {
        let c = self.config();
        let sizes: (u32, u32, u32, u32) = match c {
            // SILK: 10, 20, 40, 60 ms.
            0..=11 => (480, 960, 1920, 2880),
            // Hybrid: 10, 20 ms.
            12..=15 => (480, 960, 480, 960),
            // CELT: 2.5, 5, 10, 20 ms.
            _ => (120, 240, 480, 960),
        };
        match c % 4 {
            0 => sizes.0,
            1 => sizes.1,
            2 => sizes.2,
            _ => sizes.3,
        }
    }
}

/// What the framing of one Opus packet says (RFC 6716 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusPacket {
    /// The TOC byte.
    pub toc: Toc,
    /// Number of frames, 1-48.
    pub frames: u8,
    /// Total duration in 48 kHz samples (frames × frame duration), at most 5760 (120 ms).
    pub samples: u32,
    /// Padding bytes (code 3 only), including the padding length bytes.
    pub padding: usize,
}

fn invalid(offset: usize, reason: &'static str) -> Error {
    Error::Invalid {
        what: "Opus packet",
        offset,
        reason,
    }
}

fn truncated(offset: usize, needed: usize, available: usize) -> Error {
    Error::Truncated {
        what: "Opus packet",
        offset,
        needed,
        available,
    }
}

/// Reads a frame length (1 or 2 bytes, RFC 6716 §3.2.1) at `off`; returns (length, bytes used).
fn frame_len(p: &[u8], off: usize) -> Result<(usize, usize), Error> {
    let b0 = *p
        .get(off)
        .ok_or_else(|| truncated(off, 1, p.len().saturating_sub(off)))?;
    if b0 < 252 {
        return Ok((usize::from(b0), 1));
    }
    let b1 = *p.get(off + 1).ok_or_else(|| truncated(off, 2, 1))?;
    Ok((usize::from(b1) * 4 + usize::from(b0), 2))
}

impl OpusPacket {
    /// Parses and validates the framing of an Opus packet (RFC 6716 §3.2, requirements R1-R7).
    // Long on purpose: the four frame-count codes of RFC 6716 §3.2.2-3.2.5 and the checks R1-R7
    // in the RFC's order, so it reads against the RFC; each arm is short.
    pub fn parse(p: &[u8]) -> Result<OpusPacket, Error> {
        // R1: at least one byte.
        let toc = Toc(*p.first().ok_or_else(|| truncated(0, 1, 0))?);
        let n = p.len();
        let rest = n - 1;
        let fs = toc.frame_samples();
        let (frames, padding) = match toc.code() {
            0 => {
                // §3.2.2: one frame.
                if rest > MAX_FRAME_LEN {
                    return Err(invalid(1, "frame longer than 1275 bytes (RFC 6716 R2)"));
                }
                (1u8, 0)
            }
            1 => {
                // §3.2.3: two frames of equal size.
                if !rest.is_multiple_of(2) {
                    return Err(invalid(1, "code 1 with odd payload length (RFC 6716 R3)"));
                }
                if rest / 2 > MAX_FRAME_LEN {
                    return Err(invalid(1, "frame longer than 1275 bytes (RFC 6716 R2)"));
                }
                (2, 0)
            }
            2 => {
                // §3.2.4: two frames, the first one's length coded.
                let (len1, used) = frame_len(p, 1)?;
                let avail = rest - used.min(rest);
                if used > rest || len1 > avail {
                    return Err(invalid(
                        1,
                        "code 2 first frame exceeds packet (RFC 6716 R4)",
                    ));
                }
                if len1 > MAX_FRAME_LEN || avail - len1 > MAX_FRAME_LEN {
                    return Err(invalid(1, "frame longer than 1275 bytes (RFC 6716 R2)"));
                }
                (2, 0)
            }
            _ => {
                // §3.2.5: M frames, CBR or VBR, optional padding.
                let fc = *p.get(1).ok_or_else(|| truncated(1, 1, 0))?;
                let vbr = fc & 0x80 != 0;
                let has_pad = fc & 0x40 != 0;
                let m = fc & 0x3f;
                if m == 0 {
                    return Err(invalid(1, "code 3 with zero frames (RFC 6716 R5)"));
                }
                if u32::from(m) * fs > MAX_PACKET_SAMPLES {
                    return Err(invalid(1, "code 3 longer than 120 ms (RFC 6716 R5)"));
                }
                let mut off = 2usize;
                let mut padding = 0usize;
                if has_pad {
                    // Padding length: bytes of 255 add 254 and continue (§3.2.5).
                    loop {
                        let b = *p
                            .get(off)
                            .ok_or_else(|| truncated(off, 1, n.saturating_sub(off)))?;
                        off += 1;
                        padding += 1;
                        if b == 255 {
                            padding += 254;
                        } else {
                            padding += usize::from(b);
                            break;
                        }
                    }
                }
                // Bytes left for frame lengths and frames, once the padding is removed.
                let pad_data = padding - (off - 2);
                let Some(mut left) = n.checked_sub(off).and_then(|v| v.checked_sub(pad_data))
                else {
                    return Err(invalid(1, "code 3 padding exceeds packet (RFC 6716 R6/R7)"));
                };
                if vbr {
                    // R7: M-1 frame lengths, each frame fits, sum fits.
                    for _ in 1..m {
                        let (len, used) = frame_len(p, off)?;
                        off += used;
                        left = left
                            .checked_sub(used)
                            .and_then(|l| l.checked_sub(len))
                            .ok_or_else(|| {
                                invalid(off, "code 3 VBR frames exceed packet (RFC 6716 R7)")
                            })?;
                        if len > MAX_FRAME_LEN {
                            return Err(invalid(off, "frame longer than 1275 bytes (RFC 6716 R2)"));
                        }
                    }
                    if left > MAX_FRAME_LEN {
                        return Err(invalid(off, "frame longer than 1275 bytes (RFC 6716 R2)"));
                    }
                } else {
                    // R6: the rest divides into M equal frames.
                    if !left.is_multiple_of(usize::from(m)) {
                        return Err(invalid(
                            1,
                            "code 3 CBR length not a multiple of frame count (RFC 6716 R6)",
                        ));
                    }
                    if left / usize::from(m) > MAX_FRAME_LEN {
                        return Err(invalid(1, "frame longer than 1275 bytes (RFC 6716 R2)"));
                    }
                }
                (m, padding)
            }
        };
        Ok(OpusPacket {
            toc,
            frames,
            samples: u32::from(frames) * fs,
            padding,
        })
    }
}

fn audio_info() -> PacketInfo {
    PacketInfo {
        frame_start: Some(true),
        frame_end: Some(true),
        ..PacketInfo::default()
    }
}

/// Puts each Opus packet in one RTP payload (RFC 7587 §4.2).
#[derive(Debug, Default)]
pub struct OpusPacketizer {
    pending: Option<Bytes>,
}

impl OpusPacketizer {
    /// A packetizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Packetizer for OpusPacketizer {
    fn begin(&mut self, frame: Bytes, max_payload: usize) -> Result<(), Error> {
        self.pending = None;
        if frame.is_empty() {
            return Err(Error::BadFrame {
                codec: "Opus",
                reason: "empty packet (RFC 6716 R1)",
            });
        }
        if frame.len() > max_payload {
            // An Opus packet is never fragmented (RFC 7587 §4.2).
            return Err(Error::MtuTooSmall {
                codec: "Opus",
                max_payload,
                needed: frame.len(),
            });
        }
        self.pending = Some(frame);
        Ok(())
    }

    fn next_payload(&mut self, out: &mut Vec<u8>) -> Option<PayloadMeta> {
        let f = self.pending.take()?;
        out.extend_from_slice(&f);
        Some(PayloadMeta {
            len: f.len(),
            marker: false,
        })
    }
}

/// Reads Opus RTP payloads: each is one whole Opus packet, validated (RFC 7587 §4.2).
#[derive(Debug, Default)]
pub struct OpusDepacketizer;

impl OpusDepacketizer {
    /// A depacketizer.
    pub fn new() -> Self {
        Self
    }
}

impl Depacketizer for OpusDepacketizer {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn packet_info(&self, payload: &[u8]) -> Result<PacketInfo, Error> {
        OpusPacket::parse(payload)?;
        Ok(audio_info())
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

    /// Every Opus packet decodes on its own (a lost one is concealed by the decoder).
    fn decodable(&mut self, _frame: &PacketInfo, _contiguous: bool) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_table() {
        // RFC 6716 Table 2 spot checks: config 0 SILK NB 10 ms, 15 Hybrid FB 20 ms,
        // 16 CELT NB 2.5 ms, 31 CELT FB 20 ms.
        let t = Toc(0 << 3);
        assert_eq!(
            (t.mode(), t.bandwidth(), t.frame_samples()),
            (Mode::Silk, Bandwidth::Narrowband, 480)
        );
        let t = Toc(15 << 3 | 0x04);
        assert_eq!(
            (t.mode(), t.bandwidth(), t.frame_samples(), t.stereo()),
            (Mode::Hybrid, Bandwidth::Fullband, 960, true)
        );
        let t = Toc(16 << 3);
        assert_eq!(
            (t.mode(), t.bandwidth(), t.frame_samples()),
            (Mode::Celt, Bandwidth::Narrowband, 120)
        );
        let t = Toc(31 << 3);
        assert_eq!(
            (t.mode(), t.bandwidth(), t.frame_samples()),
            (Mode::Celt, Bandwidth::Fullband, 960)
        );
        let t = Toc(3 << 3);
        assert_eq!(t.frame_samples(), 2880);
    }
}
