//! Readers and writers for the files media lives in: IVF (VP8, VP9, AV1), Ogg Opus
//! (RFC 7845), H.264/H.265 Annex B elementary streams and raw AV1 OBU streams.
//!
//! All work on bytes in memory (sans-IO): readers take a [`bytes::Bytes`] of the whole file and
//! hand out frames as zero-copy slices where the format allows; writers append to a `Vec<u8>`.
//! Every length read from a file is checked against what is there.

pub mod annexb;
pub mod ivf;
pub mod obu;
pub mod ogg;
