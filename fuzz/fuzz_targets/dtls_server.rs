//! Stateful DTLS: bring a ferrtc-dtls server to one of its handshake states with a real ferrtc
//! client (fresh; after the ClientHello; in the middle of the client's second flight; connected;
//! connected but waiting for the remote fingerprint), then feed it arbitrary datagrams and
//! timeouts. No panic; a connected server always has its keys; a server never reports a
//! connection with an unauthenticated peer.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{
    Certificate, Config, Dtls, DtlsContext, Event, Fingerprint, KeyType, Role, State,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    client: DtlsContext,
    server: DtlsContext,
    client_fp: Fingerprint,
    server_fp: Fingerprint,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (c, s) = (
            Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
            Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
        );
        Fixture {
            client_fp: c.fingerprint().unwrap(),
            server_fp: s.fingerprint().unwrap(),
            client: DtlsContext::new(Config::new(c)).unwrap(),
            server: DtlsContext::new(Config::new(s)).unwrap(),
        }
    })
}

fn drain(d: &mut Dtls) -> Vec<Bytes> {
    std::iter::from_fn(|| d.poll_transmit()).collect()
}

/// A server in handshake state `stage`: 0 fresh, 1 after the ClientHello, 2 after a second
/// ClientHello and a retransmission, 3 connected, 4 handshake done but awaiting the fingerprint,
/// 5 connected with OpenSSL freed (ferrtc's record layer in charge after the client's data).
fn server_at(stage: u8, now: Instant) -> Dtls {
    let f = fixture();
    let expect = if stage == 4 {
        None
    } else {
        Some(f.client_fp.clone())
    };
    let mut server = Dtls::new(&f.server, Role::Server, expect, now).unwrap();
    if stage == 0 {
        return server;
    }
    let mut client = Dtls::new(&f.client, Role::Client, Some(f.server_fp.clone()), now).unwrap();
    for d in drain(&mut client) {
        server.handle_receive(now, d).unwrap();
    }
    if stage == 1 {
        return server;
    }
    if stage == 2 {
        // The ClientHello again, and a retransmission timeout: timer backed off.
        let mut again = Dtls::new(&f.client, Role::Client, None, now).unwrap();
        for d in drain(&mut again) {
            let _ = server.handle_receive(now, d);
        }
        server
            .handle_timeout(now + Duration::from_millis(100))
            .unwrap();
        let _ = drain(&mut server);
        return server;
    }
    for d in drain(&mut server) {
        client.handle_receive(now, d).unwrap();
    }
    let flight5 = drain(&mut client);
    for d in flight5 {
        server.handle_receive(now, d).unwrap();
    }
    let want = if stage == 4 {
        State::AwaitingFingerprint
    } else {
        State::Connected
    };
    assert_eq!(*server.state(), want);
    if stage == 5 {
        for d in drain(&mut server) {
            client.handle_receive(now, d).unwrap();
        }
        client.send(b"data").unwrap();
        for d in drain(&mut client) {
            server.handle_receive(now, d).unwrap();
        }
        assert!(server.is_openssl_released());
    }
    server
}

fuzz_target!(|data: &[u8]| {
    let Some((&stage, mut rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let mut server = server_at(stage % 6, now);
    let was_connected = server.is_connected();
    let mut t = now;
    // Chunks: [flags, len_hi, len_lo, bytes..]; flags bit 0: advance time by (flags >> 1) * 50 ms
    // and call handle_timeout first.
    while let [flags, hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (datagram, next) = tail.split_at(n);
        rest = next;
        if flags & 1 == 1 {
            t += Duration::from_millis(u64::from(flags >> 1) * 50);
            let _ = server.handle_timeout(t);
        }
        let _ = server.handle_receive(t, Bytes::copy_from_slice(datagram));
        while let Some(ev) = server.poll_event() {
            if let Event::Connected { srtp, .. } = ev {
                // Arbitrary bytes cannot complete a handshake with a pinned peer.
                assert!(was_connected, "connected without the real client");
                assert!(srtp.is_some());
            }
        }
        let _ = drain(&mut server);
        if server.is_connected() {
            assert!(server.srtp_keying_material().is_some());
        }
        let _ = server.send(b"x");
    }
});
