//! OBU-level helpers (AV1 specification §4.10.5 leb128, §5.5 sequence header, §5.9.2 frame
//! header start).

use crate::payload::wire::BitReader;

/// Reads a leb128 value (AV1 §4.10.5): at most 8 bytes, value at most 2^32 - 1.
/// Returns (value, bytes read).
pub fn read_leb128(data: &[u8]) -> Option<(u32, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in data.iter().take(8).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((u32::try_from(v).ok()?, i + 1));
        }
    }
    None
}

/// Bytes the minimal leb128 encoding of `v` takes.
pub fn leb128_len(v: usize) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v != 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// Appends the minimal leb128 encoding of `v`.
pub fn write_leb128(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

pub(super) fn leb128_bytes(mut v: usize) -> ([u8; 10], usize) {
    let mut b = [0u8; 10];
    let mut n = 0;
    for slot in b.iter_mut() {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        n += 1;
        if v == 0 {
            *slot = byte;
            break;
        }
        *slot = byte | 0x80;
    }
    (b, n)
}

/// What a sequence header says that matters here (AV1 §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceHeaderInfo {
    /// seq_profile.
    pub profile: u8,
    /// reduced_still_picture_header.
    pub reduced_still_picture_header: bool,
    /// max_frame_width_minus_1 + 1.
    pub max_width: u32,
    /// max_frame_height_minus_1 + 1.
    pub max_height: u32,
}

/// Parses a sequence header OBU payload (without the OBU header) as far as the maximum frame
/// size, AV1 §5.5.1; `None` when malformed.
pub fn parse_sequence_header(payload: &[u8]) -> Option<SequenceHeaderInfo> {
    let mut r = BitReader::new(payload);
    let profile = r.bits(3)? as u8;
    let _still_picture = r.bit()?;
    let reduced = r.bit()?;
    if reduced {
        r.bits(5)?; // seq_level_idx[0]
    } else {
        let timing_info_present = r.bit()?;
        let mut decoder_model_info_present = false;
        let mut buffer_delay_length = 0;
        if timing_info_present {
            r.bits(32)?; // num_units_in_display_tick
            r.bits(32)?; // time_scale
            if r.bit()? {
                // equal_picture_interval: num_ticks_per_picture_minus_1 uvlc()
                let mut zeros = 0;
                while !r.bit()? {
                    zeros += 1;
                    if zeros >= 32 {
                        return None;
                    }
                }
                r.bits(zeros)?;
            }
            decoder_model_info_present = r.bit()?;
            if decoder_model_info_present {
                buffer_delay_length = r.bits(5)? + 1;
                r.bits(32)?; // num_units_in_decoding_tick
                r.bits(5)?; // buffer_removal_time_length_minus_1
                r.bits(5)?; // frame_presentation_time_length_minus_1
            }
        }
        let initial_display_delay_present = r.bit()?;
        let op_cnt = r.bits(5)? + 1;
        for _ in 0..op_cnt {
            r.bits(12)?; // operating_point_idc
            let level = r.bits(5)?;
            if level > 7 {
                r.bit()?; // seq_tier
            }
            if decoder_model_info_present && r.bit()? {
                r.bits(buffer_delay_length)?; // decoder_buffer_delay
                r.bits(buffer_delay_length)?; // encoder_buffer_delay
                r.bit()?; // low_delay_mode_flag
            }
            if initial_display_delay_present && r.bit()? {
                r.bits(4)?;
            }
        }
    }
    let wbits = r.bits(4)? + 1;
    let hbits = r.bits(4)? + 1;
    let max_width = r.bits(wbits)? + 1;
    let max_height = r.bits(hbits)? + 1;
    Some(SequenceHeaderInfo {
        profile,
        reduced_still_picture_header: reduced,
        max_width,
        max_height,
    })
}

/// Whether a frame header / frame OBU payload starts a key frame shown now (AV1 §5.9.2:
/// show_existing_frame = 0 and frame_type = KEY_FRAME), given the sequence header.
pub(super) fn is_key_frame(frame_header: &[u8], reduced_still_picture_header: bool) -> bool {
    if reduced_still_picture_header {
        return true;
    }
    let mut r = BitReader::new(frame_header);
    matches!((r.bit(), r.bits(2)), (Some(false), Some(0)))
}
