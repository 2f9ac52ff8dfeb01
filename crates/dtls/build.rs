//! Sets `cfg(ferrtc_ossl3)` when openssl-sys links OpenSSL 3.x (src/ffi/legacy_ec.rs).
//!
//! openssl-sys announces the version it found as `DEP_OPENSSL_VERSION_NUMBER` (hex
//! `OPENSSL_VERSION_NUMBER`) to the crates that depend on it directly; it does not set it for
//! LibreSSL, BoringSSL or AWS-LC.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(ferrtc_ossl3)");
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_VERSION_NUMBER");
    let version = std::env::var("DEP_OPENSSL_VERSION_NUMBER")
        .ok()
        .and_then(|v| u64::from_str_radix(&v, 16).ok());
    if let Some(v) = version {
        if (0x3000_0000..0x4000_0000).contains(&v) {
            println!("cargo:rustc-cfg=ferrtc_ossl3");
        }
    }
}
