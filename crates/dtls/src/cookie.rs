//! HelloVerifyRequest cookies of a ferrtc server (RFC 6347 §4.2.1), when
//! [`crate::Config::cookie_exchange`] is on.
//!
//! Each server association draws a random cookie when it is created (from OpenSSL's CSPRNG, like
//! the rest of the handshake's randomness) and keeps it with its `SSL` object: OpenSSL's
//! cookie callbacks hand it out in the HelloVerifyRequest and check the second ClientHello
//! against it. A sans-IO association talks to one peer, so a per-association secret is enough:
//! the cookie only has to prove that the client received the HelloVerifyRequest, which is what
//! stops a spoofed ClientHello from making the server send its certificate flight to a victim.

use std::sync::OnceLock;

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslRef};

use crate::error::Result;

/// Cookie length: 128 bits cannot be guessed, and the HelloVerifyRequest stays small.
pub(crate) const COOKIE_LEN: usize = 16;

/// One association's cookie.
pub(crate) type Cookie = [u8; COOKIE_LEN];

/// Where the cookie lives on the `SSL` object.
fn index() -> Result<Index<Ssl, Cookie>> {
    static INDEX: OnceLock<Index<Ssl, Cookie>> = OnceLock::new();
    if let Some(i) = INDEX.get() {
        return Ok(*i);
    }
    let i = Ssl::new_ex_index::<Cookie>()?;
    // Two threads may both create one at first: either index works, each SSL uses the one
    // stored here.
    Ok(*INDEX.get_or_init(|| i))
}

/// Draws a cookie for a new server association and stores it on its `SSL`.
pub(crate) fn install(ssl: &mut SslRef) -> Result<Cookie> {
    let mut cookie = [0u8; COOKIE_LEN];
    openssl::rand::rand_bytes(&mut cookie)?;
    ssl.set_ex_data(index()?, cookie);
    Ok(cookie)
}

/// OpenSSL's cookie-generate callback: the association's cookie.
pub(crate) fn generate(ssl: &mut SslRef, out: &mut [u8]) -> Result<usize, ErrorStack> {
    let cookie = index()
        .ok()
        .and_then(|i| ssl.ex_data(i))
        .ok_or_else(ErrorStack::get)?;
    let dst = out.get_mut(..COOKIE_LEN).ok_or_else(ErrorStack::get)?;
    dst.copy_from_slice(cookie);
    Ok(COOKIE_LEN)
}

/// OpenSSL's cookie-verify callback: whether `cookie` is the association's (constant time).
pub(crate) fn verify(ssl: &mut SslRef, cookie: &[u8]) -> bool {
    index()
        .ok()
        .and_then(|i| ssl.ex_data(i))
        .is_some_and(|ours| matches(ours, cookie))
}

/// Constant-time comparison of a received cookie with ours.
pub(crate) fn matches(ours: &Cookie, received: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(ours, received).is_ok()
}
