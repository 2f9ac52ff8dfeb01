//! The only unsafe code in ferrtc: OpenSSL calls the safe `openssl` crate does not expose.
//!
//! * `DTLS_set_timer_cb` (OpenSSL ≥ 1.1.1) replaces OpenSSL's fixed 1 s initial retransmission
//!   timeout with our schedule (initial, doubling, capped).
//! * `DTLSv1_handle_timeout`, a macro for `SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, NULL)`,
//!   asks OpenSSL to retransmit its last flight if *its* timer has expired.
//! * `EC_KEY_METHOD_new` / `EC_KEY_set_method` keep a generated ECDSA key on OpenSSL's built-in
//!   (non-provider) code path with OpenSSL 3; see `ffi/legacy_ec.rs`.
//!
//! OpenSSL's timer reads the wall clock (`gettimeofday`) and cannot be given another one; see
//! the crate documentation ("Time") for how the virtual clock and this timer fit together.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::os::raw::{c_int, c_uint};
use std::time::Duration;

use foreign_types::ForeignTypeRef;
use openssl::ssl::SslRef;

// The copied EC_KEY_METHOD only matters with OpenSSL 3's providers (`ferrtc_ossl3` is set by
// build.rs for OpenSSL 3.x): 1.1.1 has no providers, LibreSSL and BoringSSL neither, and 4.0
// (which removed custom EVP_PKEY methods) is not tested here, so it keeps the plain key.
#[cfg(ferrtc_ossl3)]
mod legacy_ec;
#[cfg(ferrtc_ossl3)]
pub(crate) use legacy_ec::keep_legacy_ec;

/// Without OpenSSL 3: the key as it is.
#[cfg(not(ferrtc_ossl3))]
pub(crate) fn keep_legacy_ec(
    key: openssl::ec::EcKey<openssl::pkey::Private>,
) -> openssl::ec::EcKey<openssl::pkey::Private> {
    key
}

/// `DTLS_CTRL_HANDLE_TIMEOUT` from `<openssl/ssl.h>` (stable since OpenSSL 1.0).
const DTLS_CTRL_HANDLE_TIMEOUT: c_int = 74;

type TimerCb = unsafe extern "C" fn(*mut openssl_sys::SSL, c_uint) -> c_uint;

extern "C" {
    // void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb); in libssl since 1.1.1, which
    // openssl-sys already links.
    fn DTLS_set_timer_cb(s: *mut openssl_sys::SSL, cb: Option<TimerCb>);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cb(previous_us: c_uint) -> c_uint {
        // SAFETY: `timer_cb` never dereferences its `SSL*` argument, so a null one is fine.
        unsafe { timer_cb(std::ptr::null_mut(), previous_us) }
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
