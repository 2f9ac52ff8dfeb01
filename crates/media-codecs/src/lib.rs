//! RTP payload formats, frame assembly and media files, sans-IO.
//!
//! The layer between encoded media and RTP: [`Packetizer`]s turn frames into payloads that fit
//! an MTU, [`Depacketizer`]s turn payloads back into frames with per-codec facts (keyframe,
//! layers, resolution). It knows RTP packets (ferrtc-rtp) and nothing about connections, so an
//! SFU, a recorder or a test tool can use it alone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod payload;

pub mod container;
pub mod frame_buffer;
pub mod g711;
pub mod g722;
pub mod opus;
pub mod red;

pub mod av1;
pub mod dependency_descriptor;
pub mod h264;
pub mod h265;
pub mod vp8;
pub mod vp9;

pub use error::Error;
pub use payload::{Codec, CodecInfo, Depacketizer, Layers, PacketInfo, Packetizer, PayloadMeta};
