//! SRTP and SRTCP (RFC 3711, 6188, 7714), in place and allocation-free.
//!
//! A [`Context`] holds one direction's master key (derived into session keys, RFC 3711
//! §4.3 with KDR 0) and per-SSRC state created on first use: the rollover counter
//! (estimated as in RFC 3711 §3.3.1, so reordering across the 65535→0 wrap works), the
//! replay windows and the SRTCP index. Protect and unprotect work in place on a
//! [`bytes::BytesMut`], never allocate in steady state, and leave the buffer untouched on
//! error. Tags are verified before anything is decrypted.
//!
//! ```
//! use bytes::BytesMut;
//! use ferrtc_srtp::{Config, Context, ProtectionProfile};
//!
//! let p = ProtectionProfile::AeadAes128Gcm;
//! let (key, salt) = ([1u8; 16], [2u8; 12]);
//! let mut tx = Context::new(p, &key, &salt, Config::default()).unwrap();
//! let mut rx = Context::new(p, &key, &salt, Config::default()).unwrap();
//! let rtp = [0x80, 96, 0, 1, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
//! let mut buf = BytesMut::with_capacity(64);
//! buf.extend_from_slice(&rtp);
//! tx.protect_rtp(&mut buf).unwrap();
//! assert_eq!(buf.len(), rtp.len() + 16);
//! rx.unprotect_rtp(&mut buf).unwrap();
//! assert_eq!(&buf[..], &rtp[..]);
//! ```
//!
//! Crypto backends, chosen by measurement (docs/performance.md): AES-GCM from `aws-lc-rs`
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
