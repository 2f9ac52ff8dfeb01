//! The only unsafe code in ferrtc: OpenSSL calls the safe `openssl` crate does not expose.
//!
//! * `DTLS_set_timer_cb` (OpenSSL ≥ 1.1.1) replaces OpenSSL's fixed 1 s initial retransmission
//!   timeout with our schedule (initial, doubling, capped).
//! * `DTLSv1_handle_timeout`, a macro for `SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, NULL)`,
//!   asks OpenSSL to retransmit its last flight if *its* timer has expired.
//! * `EC_KEY_METHOD_new` / `EC_KEY_set_method` keep a generated ECDSA key on OpenSSL's built-in
//!   (non-provider) code path; see [`keep_legacy_ec`].
//!
//! OpenSSL's timer reads the wall clock (`gettimeofday`) and cannot be given another one; see
//! the crate documentation ("Time") for how the virtual clock and this timer fit together.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::os::raw::{c_int, c_uint};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::time::Duration;

use foreign_types::ForeignTypeRef;
use openssl::ec::EcKey;
use openssl::pkey::Private;
use openssl::ssl::SslRef;

/// `DTLS_CTRL_HANDLE_TIMEOUT` from `<openssl/ssl.h>` (stable since OpenSSL 1.0).
const DTLS_CTRL_HANDLE_TIMEOUT: c_int = 74;

type TimerCb = unsafe extern "C" fn(*mut openssl_sys::SSL, c_uint) -> c_uint;

/// `EC_KEY_METHOD` from `<openssl/ec.h>`: opaque.
#[repr(C)]
struct EcKeyMethod {
    _opaque: [u8; 0],
}

extern "C" {
    // void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb); in libssl since 1.1.1, which
    // openssl-sys already links.
    fn DTLS_set_timer_cb(s: *mut openssl_sys::SSL, cb: Option<TimerCb>);
    // In libcrypto since 1.1.0 (deprecated, not removed, in 3.x).
    // const EC_KEY_METHOD *EC_KEY_OpenSSL(void);
    fn EC_KEY_OpenSSL() -> *const EcKeyMethod;
    // EC_KEY_METHOD *EC_KEY_METHOD_new(const EC_KEY_METHOD *meth);
    fn EC_KEY_METHOD_new(meth: *const EcKeyMethod) -> *mut EcKeyMethod;
    // int EC_KEY_set_method(EC_KEY *key, const EC_KEY_METHOD *meth);
    fn EC_KEY_set_method(key: *mut openssl_sys::EC_KEY, meth: *const EcKeyMethod) -> c_int;
}

thread_local! {
    /// (initial, cap) in microseconds for the connection OpenSSL is running on this thread.
    /// Set by [`set_schedule`] right before every call into OpenSSL, so the callback, which gets
    /// no user pointer, uses the schedule of the connection being driven.
    static SCHEDULE: Cell<(c_uint, c_uint)> = const { Cell::new((100_000, 6_400_000)) };
}

fn micros(d: Duration) -> c_uint {
    c_uint::try_from(d.as_micros())
        .unwrap_or(c_uint::MAX)
        .max(1)
}

/// Makes the next OpenSSL calls on this thread use this retransmission schedule.
pub(crate) fn set_schedule(initial: Duration, cap: Duration) {
    let initial = micros(initial);
    let _ = SCHEDULE.try_with(|s| s.set((initial, micros(cap).max(initial))));
}

/// OpenSSL calls this with 0 when it starts the timer for a new flight, and with the previous
/// duration when that timer expired (just before it retransmits). Returns the next duration.
/// Must not panic: it is called from C.
unsafe extern "C" fn timer_cb(_ssl: *mut openssl_sys::SSL, previous_us: c_uint) -> c_uint {
    let (initial, cap) = SCHEDULE.try_with(Cell::get).unwrap_or((100_000, 6_400_000));
    if previous_us == 0 {
        initial
    } else {
        previous_us.saturating_mul(2).min(cap)
    }
}

/// Installs [`timer_cb`] on a connection.
pub(crate) fn install_timer_cb(ssl: &SslRef) {
    // SAFETY: `ssl.as_ptr()` is a valid, live `SSL*` for the duration of the call (borrowed from
    // an `SslRef`), `timer_cb` has exactly the `DTLS_timer_cb` signature, is a plain function
    // with 'static lifetime, and never unwinds (no panicking operation in it). OpenSSL only
    // stores the pointer in the SSL object.
    unsafe { DTLS_set_timer_cb(ssl.as_ptr(), Some(timer_cb)) }
}

/// `DTLSv1_handle_timeout`: 1 if OpenSSL's own timer had expired and it retransmitted its
/// flight (into the BIO), 0 if its timer had not expired (or none runs), < 0 on a fatal error
/// (e.g. OpenSSL's own limit of 12 retransmissions reached).
///
/// Takes `&SslRef` because that is all `SslStream` lends; the caller holds the stream mutably,
/// so nothing else uses the `SSL` during the call.
pub(crate) fn handle_timeout(ssl: &SslRef) -> i64 {
    // SAFETY: `ssl.as_ptr()` is a valid `SSL*` (see above) created with a DTLS method, for which
    // `SSL_ctrl(DTLS_CTRL_HANDLE_TIMEOUT, 0, NULL)` is defined; the NULL `parg` is not read for
    // this command. Exclusive access is guaranteed by the caller's `&mut SslStream`, and the
    // BIO it may write to is the stream's own, alive as long as the stream.
    let r = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            DTLS_CTRL_HANDLE_TIMEOUT,
            0,
            std::ptr::null_mut(),
        )
    };
    // `c_long` is i32 on some targets.
    #[allow(clippy::useless_conversion)]
    i64::from(r)
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

    fn cb(previous_us: c_uint) -> c_uint {
        // SAFETY: `timer_cb` never dereferences its `SSL*` argument, so a null one is fine.
        unsafe { timer_cb(std::ptr::null_mut(), previous_us) }
    }

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

    #[test]
    fn timer_callback_follows_the_schedule() {
        set_schedule(Duration::from_millis(100), Duration::from_millis(3200));
        assert_eq!(cb(0), 100_000);
        assert_eq!(cb(100_000), 200_000);
        assert_eq!(cb(2_000_000), 3_200_000);
        assert_eq!(cb(c_uint::MAX), 3_200_000);
        set_schedule(Duration::from_millis(50), Duration::from_millis(10));
        assert_eq!(cb(0), 50_000, "cap below initial is raised to initial");
        assert_eq!(cb(50_000), 50_000);
    }
}
