#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! [`Packetizer`] and [`Depacketizer`] are the contract (see [`payload`] for forwarding without
//! depacketizing), one module per format ([`opus`], [`vp8`], [`vp9`], [`h264`], [`h265`],
//! [`av1`], [`g711`], [`g722`], [`red`]), [`frame_buffer`] for frame assembly and [`container`]
//! for files.
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
mod nal_payload;
pub mod vp8;
pub mod vp9;

pub use error::Error;
pub use payload::{Codec, CodecInfo, Depacketizer, Layers, PacketInfo, Packetizer, PayloadMeta};
