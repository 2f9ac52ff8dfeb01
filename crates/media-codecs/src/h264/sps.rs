//! Sequence parameter set reading (H.264 §7.3.2.1.1): profile, level and the cropped
//! resolution, without allocating.

use super::nal;
use crate::payload::wire::BitReader;

/// What [`parse_sps`] reads from a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpsInfo {
    /// profile_idc.
    pub profile_idc: u8,
    /// constraint_set0..5 flags and reserved bits (the profile-iop octet).
    pub constraint_flags: u8,
    /// level_idc.
    pub level_idc: u8,
    /// seq_parameter_set_id.
    pub sps_id: u32,
    /// Width in luma samples after cropping.
    pub width: u16,
    /// Height in luma samples after cropping.
    pub height: u16,
}

/// Removes emulation prevention bytes (`00 00 03`, H.264 §7.4.1) from at most `buf.len()` bytes
/// of `nal` into `buf`; returns the length written.
pub(crate) fn unescape_rbsp(nal: &[u8], buf: &mut [u8]) -> usize {
    let mut zeros = 0;
    let mut n = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        let Some(slot) = buf.get_mut(n) else { break };
        *slot = b;
        n += 1;
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    n
}

/// Parses an SPS NAL unit (with its one-byte header), H.264 §7.3.2.1.1; `None` if malformed.
/// Reads the first 512 bytes at most, without allocating.
// Long on purpose: the fields of seq_parameter_set_data() (H.264 §7.3.2.1.1) in the order
// of the syntax table, each read once; splitting would hide the order the bits come in.
pub fn parse_sps(nal: &[u8]) -> Option<SpsInfo> {
    if nal.first()? & 0x1f != nal::SPS {
        return None;
    }
    let mut buf = [0u8; 512];
    let n = unescape_rbsp(nal.get(1..)?, &mut buf);
    let mut r = BitReader::new(buf.get(..n)?);
    let profile_idc = r.bits(8)? as u8;
    let constraint_flags = r.bits(8)? as u8;
    let level_idc = r.bits(8)? as u8;
    let sps_id = r.ue()?;
    let mut chroma_format_idc = 1;
    let mut separate_colour_plane = false;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            separate_colour_plane = r.bit()?;
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? {
            // seq_scaling_matrix_present_flag: skip the scaling lists (§7.3.2.1.1.1).
            let lists = if chroma_format_idc != 3 { 8 } else { 12 };
            for i in 0..lists {
                if r.bit()? {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            // §7.4.2.1.1.1: delta_scale is in -128..=127; anything else is
                            // a broken (or hostile) SPS, and would overflow the sum below.
                            let delta = r.se()?;
                            if !(-128..=127).contains(&delta) {
                                return None;
                            }
                            next = (last + delta + 256).rem_euclid(256);
                        }
                        last = if next == 0 { last } else { next };
                    }
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    let w_mbs = u64::from(r.ue()?) + 1;
    let h_map = u64::from(r.ue()?) + 1;
    let frame_mbs_only = r.bit()?;
    if !frame_mbs_only {
        r.bit()?; // mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    let (mut cl, mut cr, mut ct, mut cb) = (0u64, 0u64, 0u64, 0u64);
    if r.bit()? {
        cl = u64::from(r.ue()?);
        cr = u64::from(r.ue()?);
        ct = u64::from(r.ue()?);
        cb = u64::from(r.ue()?);
    }
    // §7.4.2.1.1: CropUnitX/Y from ChromaArrayType and frame_mbs_only_flag.
    let chroma_array_type = if separate_colour_plane {
        0
    } else {
        chroma_format_idc
    };
    let (sub_w, sub_h) = match chroma_array_type {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let field = if frame_mbs_only { 1 } else { 2 };
    let (crop_x, crop_y) = if chroma_array_type == 0 {
        (1, field)
    } else {
        (sub_w, sub_h * field)
    };
    let width = (w_mbs * 16).checked_sub(crop_x * (cl + cr))?;
    let height = (h_map * 16 * field).checked_sub(crop_y * (ct + cb))?;
    Some(SpsInfo {
        profile_idc,
        constraint_flags,
        level_idc,
        sps_id,
        width: u16::try_from(width).ok()?,
        height: u16::try_from(height).ok()?,
    })
}
