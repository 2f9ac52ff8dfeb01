//! The hand-written ChannelData and stream-frame readers that the nom grammar replaced, kept
//! only for the differential test and fuzz target of issue 14 (feature `legacy-parser`, not
//! part of the API).
#![allow(
    missing_docs,
    clippy::panic,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use bytes::Bytes;

use crate::channel_data::padded;
use crate::{ChannelData, Error, Frame, StreamFramer, MAX_CHANNEL, MIN_CHANNEL};

/// The old `ChannelData::parse`.
pub fn parse(buf: Bytes) -> Result<ChannelData, Error> {
    let (channel, len) = match buf.get(..4) {
        Some([a, b, c, d]) => (
            u16::from_be_bytes([*a, *b]),
            usize::from(u16::from_be_bytes([*c, *d])),
        ),
        _ => {
            return Err(Error::ChannelDataTruncated {
                needed: 4,
                have: buf.len(),
            })
        }
    };
    if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&channel) {
        return Err(Error::InvalidChannel(channel));
    }
    if buf.len() < 4 + len {
        return Err(Error::ChannelDataTruncated {
            needed: 4 + len,
            have: buf.len(),
        });
    }
    if buf.len() > 4 + padded(len) {
        return Err(Error::ChannelDataTrailing {
            channel,
            extra: buf.len() - 4 - len,
        });
    }
    Ok(ChannelData {
        channel,
        data: buf.slice(4..4 + len),
    })
}

/// The old frame boundary of `StreamFramer::next_frame`: the frame's total length and whether
/// it is STUN, `Ok(None)` before a whole header has arrived.
pub fn frame_len(buf: &[u8]) -> Result<Option<(usize, bool)>, Error> {
    let (first, len) = match buf.get(..4) {
        Some([a, _, c, d]) => (*a, usize::from(u16::from_be_bytes([*c, *d]))),
        _ => return Ok(None),
    };
    let (total, stun) = match first {
        0x00..=0x3F => (20 + len, true),
        0x40..=0x4F => (4 + padded(len), false),
        b => return Err(Error::StreamDesync(b)),
    };
    Ok(Some((total, stun)))
}

/// Run the old and the new code on `data` and panic on any difference: ChannelData parsing
/// and, with `data` as a stream, every frame boundary.
pub fn check(data: &[u8]) {
    let buf = Bytes::copy_from_slice(data);
    assert_eq!(
        ChannelData::parse(buf.clone()),
        parse(buf),
        "ChannelData::parse"
    );
    // The framer on the whole stream, against the old boundaries.
    let max = 1 << 17;
    let mut f = StreamFramer::new(max);
    f.push(data).unwrap();
    let mut rest = data;
    loop {
        let old = frame_len(rest).map(|o| o.filter(|(total, _)| *total <= rest.len()));
        let new = f.next_frame();
        match (new, old) {
            (Ok(None), Ok(None)) => break,
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "framing error");
                break;
            }
            (Ok(Some(frame)), Ok(Some((total, stun)))) => {
                let (bytes, is_stun) = match frame {
                    Frame::Stun(b) => (b, true),
                    Frame::ChannelData(b) => (b, false),
                };
                assert_eq!((bytes.len(), is_stun), (total, stun), "frame");
                assert_eq!(&bytes[..], &rest[..total], "frame bytes");
                rest = &rest[total..];
            }
            (n, o) => panic!("framer: {n:?} vs {o:?}"),
        }
    }
}
