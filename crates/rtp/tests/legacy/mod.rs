//! The hand-written RTP parser that ferrtc-rtp used before its nom grammar (issue 14), kept in
//! the test tree only: `tests/differential.rs` and the `rtp_differential` fuzz target run it and
//! the library on the same inputs and require identical results. It uses the public API only
//! (an owned packet built from the fields it decoded), so it cannot share code with the parser
//! it checks. Delete it once the nom parser has been fuzzed against it (issue 14).
#![allow(dead_code, clippy::indexing_slicing)]

use bytes::{Buf, Bytes};
use ferrtc_rtp::extension::{ExtensionForm, ONE_BYTE_PROFILE, TWO_BYTE_PROFILE};
use ferrtc_rtp::{Csrcs, Error, HeaderExtensions, RtpHeader, RtpPacket};

const FIXED_HEADER_LEN: usize = 12;

/// The old `RtpHeader::parse`: header and header length, padding bit.
pub fn parse_header(buf: &Bytes) -> Result<(RtpHeader, usize, bool), Error> {
    let fixed: &[u8; FIXED_HEADER_LEN] = buf
        .first_chunk::<FIXED_HEADER_LEN>()
        .ok_or(Error::TooShort { len: buf.len() })?;
    let b0 = fixed[0];
    let version = b0 >> 6;
    if version != 2 {
        return Err(Error::BadVersion { version });
    }
    let cc = b0 & 0x0f;
    let mut off = FIXED_HEADER_LEN;
    let csrcs = if cc != 0 {
        let needed = off + 4 * usize::from(cc);
        if needed > buf.len() {
            return Err(Error::TruncatedCsrc {
                count: cc,
                needed,
                len: buf.len(),
            });
        }
        let list: Vec<u32> = buf[off..needed]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        off = needed;
        Csrcs::from_slice(&list).unwrap()
    } else {
        Csrcs::new()
    };
    let extensions = if b0 & 0x10 != 0 {
        let eh: &[u8; 4] =
            buf.get(off..)
                .and_then(<[u8]>::first_chunk::<4>)
                .ok_or(Error::TruncatedExtension {
                    offset: off,
                    needed: off + 4,
                    len: buf.len(),
                })?;
        let profile = u16::from_be_bytes([eh[0], eh[1]]);
        let words = usize::from(u16::from_be_bytes([eh[2], eh[3]]));
        let start = off + 4;
        let end = start + 4 * words;
        if end > buf.len() {
            return Err(Error::TruncatedExtension {
                offset: off,
                needed: end,
                len: buf.len(),
            });
        }
        off = end;
        Some(HeaderExtensions::new(profile, buf.slice(start..end)).unwrap())
    } else {
        None
    };
    Ok((
        RtpHeader {
            marker: fixed[1] & 0x80 != 0,
            payload_type: fixed[1] & 0x7f,
            sequence_number: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            csrcs,
            extensions,
        },
        off,
        b0 & 0x20 != 0,
    ))
}

/// The old `RtpPacket::parse`.
pub fn parse_packet(mut buf: Bytes) -> Result<RtpPacket, Error> {
    let (header, header_len, has_padding) = parse_header(&buf)?;
    let mut padding = 0;
    if has_padding {
        let end = buf.len();
        let available = end - header_len;
        let count = match buf.last() {
            Some(&c) if available > 0 => c,
            _ => {
                return Err(Error::PaddingTooLong {
                    count: 0,
                    offset: header_len,
                    available,
                })
            }
        };
        if count == 0 {
            return Err(Error::ZeroPadding { offset: end - 1 });
        }
        if usize::from(count) > available {
            return Err(Error::PaddingTooLong {
                count,
                offset: end - 1,
                available,
            });
        }
        buf.truncate(end - usize::from(count));
        padding = count;
    }
    buf.advance(header_len);
    Ok(RtpPacket {
        header,
        payload: buf,
        padding,
    })
}

/// The old `ExtensionIter` over a block: every element (id, data) or the error that ended it.
pub fn elements(data: &[u8], form: ExtensionForm) -> Vec<Result<(u8, Vec<u8>), Error>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let start = pos;
        let Some(&b) = data.get(start) else {
            return out;
        };
        match form {
            ExtensionForm::OneByte => {
                let id = b >> 4;
                if id == 0 {
                    pos += 1;
                    continue;
                }
                if id == 15 {
                    return out;
                }
                let len = usize::from(b & 0x0f) + 1;
                let end = start + 1 + len;
                match data.get(start + 1..end) {
                    Some(d) => {
                        pos = end;
                        out.push(Ok((id, d.to_vec())));
                    }
                    None => {
                        out.push(Err(Error::ExtensionElementTruncated {
                            id,
                            offset: start,
                            len,
                        }));
                        return out;
                    }
                }
            }
            ExtensionForm::TwoByte => {
                if b == 0 {
                    pos += 1;
                    continue;
                }
                let Some(&len) = data.get(start + 1) else {
                    out.push(Err(Error::ExtensionElementTruncated {
                        id: b,
                        offset: start,
                        len: 0,
                    }));
                    return out;
                };
                let len = usize::from(len);
                let end = start + 2 + len;
                match data.get(start + 2..end) {
                    Some(d) => {
                        pos = end;
                        out.push(Ok((b, d.to_vec())));
                    }
                    None => {
                        out.push(Err(Error::ExtensionElementTruncated {
                            id: b,
                            offset: start,
                            len,
                        }));
                        return out;
                    }
                }
            }
            _ => return out,
        }
    }
}

/// The form a profile announces (as the old parser decided it).
pub fn form_of(profile: u16) -> ExtensionForm {
    if profile == ONE_BYTE_PROFILE {
        ExtensionForm::OneByte
    } else if profile & 0xfff0 == TWO_BYTE_PROFILE {
        ExtensionForm::TwoByte
    } else {
        ExtensionForm::Other
    }
}

/// Runs the library and the old parser on `data` and panics on any difference: the owned
/// packet, the view, the header-only parse, the elements of the block (both forms, and the
/// raw input read as a block), and the typed values `ExtensionMap::read` decodes.
pub fn check(data: &[u8]) {
    use ferrtc_rtp::extension::ExtensionIter;
    use ferrtc_rtp::values::{
        AbsSendTime, AudioLevel, ExtensionValue, Mid, PlayoutDelay, TransportCc, VideoOrientation,
    };
    use ferrtc_rtp::{ExtensionMap, KnownExtensions, RtpPacketView};

    let raw = Bytes::copy_from_slice(data);
    let old = parse_packet(raw.clone());
    assert_eq!(RtpPacket::parse(raw.clone()), old, "RtpPacket::parse");
    assert_eq!(
        RtpPacketView::parse(raw.clone()).map(|v| v.to_packet()),
        old,
        "RtpPacketView::parse"
    );
    assert_eq!(
        RtpHeader::parse(&raw).map(|(h, i)| (h, i.header_len, i.padding)),
        parse_header(&raw),
        "RtpHeader::parse"
    );
    let new_elements = |d: &[u8], f: ExtensionForm| -> Vec<Result<(u8, Vec<u8>), Error>> {
        ExtensionIter::new(d, f)
            .map(|r| r.map(|e| (e.id, e.data.to_vec())))
            .collect()
    };
    for form in [ExtensionForm::OneByte, ExtensionForm::TwoByte] {
        assert_eq!(
            new_elements(data, form),
            elements(data, form),
            "{form:?} raw"
        );
    }
    let map = ExtensionMap::from_pairs([
        (1, Mid::URI),
        (2, AbsSendTime::URI),
        (3, TransportCc::URI),
        (4, AudioLevel::URI),
        (5, VideoOrientation::URI),
        (6, PlayoutDelay::URI),
    ])
    .unwrap();
    let Ok(p) = old else { return };
    let Some(ext) = &p.header.extensions else {
        return;
    };
    let form = form_of(ext.profile());
    let old_elements = elements(ext.data(), form);
    assert_eq!(new_elements(ext.data(), form), old_elements, "elements");
    // What the old reader stored: every element up to the first malformed one, later ids
    // overwriting earlier ones, malformed values absent.
    let mut want = KnownExtensions::default();
    for e in &old_elements {
        let Ok((id, d)) = e else { break };
        match id {
            1 => want.mid = Mid::parse(d).ok(),
            2 => want.abs_send_time = AbsSendTime::parse(d).ok(),
            3 => want.transport_cc = TransportCc::parse(d).ok(),
            4 => want.audio_level = AudioLevel::parse(d).ok(),
            5 => want.video_orientation = VideoOrientation::parse(d).ok(),
            6 => want.playout_delay = PlayoutDelay::parse(d).ok(),
            _ => {}
        }
    }
    let got = map.read(ext);
    // `Mid` borrows: compare what it holds.
    assert_eq!(got.mid.map(|m| m.0), want.mid.map(|m| m.0), "mid");
    assert_eq!(got.abs_send_time, want.abs_send_time, "abs-send-time");
    assert_eq!(got.transport_cc, want.transport_cc, "transport-cc");
    assert_eq!(got.audio_level, want.audio_level, "audio level");
    assert_eq!(
        got.video_orientation, want.video_orientation,
        "video orientation"
    );
    assert_eq!(got.playout_delay, want.playout_delay, "playout delay");
}
