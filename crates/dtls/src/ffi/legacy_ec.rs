//! OpenSSL 3 only (`cfg(ferrtc_ossl3)`, set by build.rs): generated EC keys stay on OpenSSL's
//! built-in EC code instead of being exported to the default provider. See [`keep_legacy_ec`].

use std::os::raw::c_int;
use std::ptr::NonNull;
use std::sync::OnceLock;

use foreign_types::ForeignTypeRef;
use openssl::ec::EcKey;
use openssl::pkey::Private;

/// `EC_KEY_METHOD` from `<openssl/ec.h>`: opaque.
#[repr(C)]
struct EcKeyMethod {
    _opaque: [u8; 0],
}

extern "C" {
    // In libcrypto since 1.1.0 (deprecated, not removed, in 3.x).
    // const EC_KEY_METHOD *EC_KEY_OpenSSL(void);
    fn EC_KEY_OpenSSL() -> *const EcKeyMethod;
    // EC_KEY_METHOD *EC_KEY_METHOD_new(const EC_KEY_METHOD *meth);
    fn EC_KEY_METHOD_new(meth: *const EcKeyMethod) -> *mut EcKeyMethod;
    // int EC_KEY_set_method(EC_KEY *key, const EC_KEY_METHOD *meth);
    fn EC_KEY_set_method(key: *mut openssl_sys::EC_KEY, meth: *const EcKeyMethod) -> c_int;
}

/// A process-wide copy of OpenSSL's default `EC_KEY_METHOD`, never freed.
struct LegacyEcMethod(NonNull<EcKeyMethod>);

// SAFETY: the method table is written once by `EC_KEY_METHOD_new` (a field-by-field copy of
// OpenSSL's own, constant one) before the pointer is published through the `OnceLock`, and only
// read afterwards, by OpenSSL, from any thread; it is never freed.
unsafe impl Send for LegacyEcMethod {}
// SAFETY: as above: immutable after creation.
unsafe impl Sync for LegacyEcMethod {}

fn legacy_ec_method() -> Option<&'static LegacyEcMethod> {
    static METHOD: OnceLock<Option<LegacyEcMethod>> = OnceLock::new();
    METHOD
        .get_or_init(|| {
            // SAFETY: `EC_KEY_OpenSSL` returns a pointer to a static table (never null in
            // OpenSSL 1.1 and 3.x); `EC_KEY_METHOD_new` copies it into a fresh allocation or
            // returns null on allocation failure, handled below.
            let m = unsafe { EC_KEY_METHOD_new(EC_KEY_OpenSSL()) };
            NonNull::new(m).map(LegacyEcMethod)
        })
        .as_ref()
}

/// Gives a freshly generated EC key a copy of OpenSSL's default `EC_KEY_METHOD`: the same
/// functions, but a table that is not OpenSSL's own, so OpenSSL 3 classes the key as "foreign"
/// (`ossl_ec_key_is_foreign`) and signs with it through the legacy `EVP_PKEY_METHOD`
/// (`ECDSA_sign` on this `EC_KEY` and its group) instead of first exporting it to the default
/// provider. That export builds a new P-256 `EC_GROUP` from the curve name for every new key
/// (about half the CPU time of a certificate); the signature is the same computation either way.
///
/// Returns the key unchanged (and still usable) if the method table could not be allocated.
pub(crate) fn keep_legacy_ec(key: EcKey<Private>) -> EcKey<Private> {
    if let Some(method) = legacy_ec_method() {
        // SAFETY: `key` is owned here, so nothing else uses the `EC_KEY` during the call.
        // `EC_KEY_set_method` calls the old method's `finish` (null for OpenSSL's default) and
        // engine release (no engine: generated without one), stores the pointer, then calls the
        // new method's `init` (null: copied from the default). The table outlives every key (it
        // is never freed), and `EC_KEY_free` does not free a key's method table.
        let ok = unsafe { EC_KEY_set_method(key.as_ptr(), method.0.as_ptr()) };
        if ok != 1 {
            tracing::debug!("EC_KEY_set_method failed; the key keeps the provider path");
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ec_key_gets_the_copied_method_and_still_signs() {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::ecdsa::EcdsaSig;
        use openssl::nid::Nid;
        extern "C" {
            // const EC_KEY_METHOD *EC_KEY_get_method(const EC_KEY *key);
            fn EC_KEY_get_method(key: *const openssl_sys::EC_KEY) -> *const EcKeyMethod;
        }
        let method = |k: &EcKey<Private>| {
            // SAFETY: `k` is a live EC_KEY; the call only reads its method pointer.
            unsafe { EC_KEY_get_method(k.as_ptr()) }
        };
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = EcKey::generate(&group).unwrap();
        // SAFETY: returns a pointer to OpenSSL's static default table.
        let default = unsafe { EC_KEY_OpenSSL() };
        assert_eq!(
            method(&key),
            default,
            "a new key starts on OpenSSL's own table"
        );
        let key = keep_legacy_ec(key);
        assert_ne!(method(&key), default);
        let copy = legacy_ec_method().unwrap().0.as_ptr().cast_const();
        assert_eq!(method(&key), copy);
        // The copy is shared, not made per key.
        assert_eq!(
            method(&keep_legacy_ec(EcKey::generate(&group).unwrap())),
            copy
        );
        // Same functions: it signs, the signature verifies, and not for other data.
        let digest = [7u8; 32];
        let sig = EcdsaSig::sign(&digest, &key).unwrap();
        assert!(sig.verify(&digest, &key).unwrap());
        assert!(!sig.verify(&[8u8; 32], &key).unwrap());
    }
}
