//! Arbitrary datagrams and timeouts never panic a server, in any handshake state, and never
//! make it report an unauthenticated peer as connected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{Certificate, Config, Dtls, DtlsContext, Event, Fingerprint, KeyType, Role};
use proptest::prelude::*;

struct Fixture {
    client: DtlsContext,
    server: DtlsContext,
    client_fp: Fingerprint,
    server_fp: Fingerprint,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let c = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
        let s = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
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

/// 0 fresh, 1 after the ClientHello, 2 connected, 3 connected with OpenSSL freed (our record
/// layer in charge after the client's first data).
fn server_at(stage: u8, now: Instant) -> Dtls {
    let f = fixture();
    let mut server = Dtls::new(&f.server, Role::Server, Some(f.client_fp.clone()), now).unwrap();
    if stage == 0 {
        return server;
    }
    let mut client = Dtls::new(&f.client, Role::Client, Some(f.server_fp.clone()), now).unwrap();
    for d in drain(&mut client) {
        server.handle_receive(now, d).unwrap();
    }
    if stage >= 2 {
        for d in drain(&mut server) {
            client.handle_receive(now, d).unwrap();
        }
        for d in drain(&mut client) {
            server.handle_receive(now, d).unwrap();
        }
        assert!(server.is_connected());
    }
    if stage == 3 {
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

/// A DTLS 1.2 record header in front of arbitrary bytes, so input reaches past the first check.
fn record(ty: u8, epoch: u16, seq: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, 0xfe, 0xfd];
    v.extend_from_slice(&epoch.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0, 0, seq]);
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn arbitrary_datagrams_never_panic(
        stage in 0u8..4,
        inputs in proptest::collection::vec(
            (any::<bool>(), 20u8..26, 0u16..3, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300), 0u64..2000),
            1..12,
        ),
    ) {
        let now = Instant::now();
        let mut server = server_at(stage, now);
        let was_connected = server.is_connected();
        let mut t = now;
        for (framed, ty, epoch, seq, body, advance) in inputs {
            t += Duration::from_millis(advance);
            let _ = server.handle_timeout(t);
            let datagram = if framed { record(ty, epoch, seq, &body) } else { body };
            let _ = server.handle_receive(t, Bytes::from(datagram));
            while let Some(ev) = server.poll_event() {
                if matches!(ev, Event::Connected { .. }) {
                    prop_assert!(was_connected);
                }
            }
            let _ = drain(&mut server);
            prop_assert!(!server.is_connected() || server.srtp_keying_material().is_some());
        }
    }
}
