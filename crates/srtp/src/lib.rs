#![doc = include_str!("../README.md")]
//!
//! ## Crypto backends
//!
//! Chosen by measurement (docs/performance.md): AES-GCM from `aws-lc-rs`
//! (default feature `aws-lc`: AVX-512/AVX2 VAES and VPCLMULQDQ assembly) or `ring` (feature
//! `ring`, for builds without a C compiler), AES-CM and HMAC-SHA1 from RustCrypto
//! `aes`/`ctr`/`hmac`/`sha1` (AES-NI and SHA-NI detected at run time).
#![forbid(unsafe_code)]

mod cipher;
mod context;
mod error;
pub mod kdf;
mod profile;
mod replay;

pub use context::{Config, Context, SessionKeys};
pub use error::{Error, PacketKind};
pub use profile::{split_keying_material, MasterKey, ProtectionProfile, Role};
