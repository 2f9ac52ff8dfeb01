//! ferrtc's own record layer after the handshake (src/record.rs), checked byte for byte against
//! OpenSSL's: one side of each test keeps OpenSSL's record layer (`rust_record_layer: false`,
//! or a server that has not yet freed its `SSL`), so every record we seal is opened by OpenSSL
//! and every record we open was sealed by OpenSSL. Both roles, each AEAD suite, the server's
//! Finished lost, replays, duplicates, tampering, close_notify both ways, oversized data.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_dtls::{
    AlertLevel, Certificate, Config, Dtls, DtlsContext, Error, Event, Fingerprint, KeyType, Role,
    State,
};

const SUITES: [&str; 3] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
];

fn certs() -> &'static (Certificate, Certificate) {
    static C: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    C.get_or_init(|| {
        (
            Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
            Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap(),
        )
    })
}

struct Pair {
    client: Dtls,
    server: Dtls,
    now: Instant,
}

fn config(cert: &Certificate, cipher: &str, rust: bool) -> Config {
    let mut c = Config::new(cert.clone());
    c.cipher_list = cipher.to_string();
    c.rust_record_layer = rust;
    c
}

fn fp(c: &Certificate) -> Fingerprint {
    c.fingerprint().unwrap()
}

/// A client and a server, not yet connected.
fn pair(cipher: &str, client_rust: bool, server_rust: bool) -> Pair {
    let (a, b) = certs();
    let now = Instant::now();
    let client = Dtls::new(
        &DtlsContext::new(config(a, cipher, client_rust)).unwrap(),
        Role::Client,
        Some(fp(b)),
        now,
    )
    .unwrap();
    let server = Dtls::new(
        &DtlsContext::new(config(b, cipher, server_rust)).unwrap(),
        Role::Server,
        Some(fp(a)),
        now,
    )
    .unwrap();
    Pair {
        client,
        server,
        now,
    }
}

fn drain(d: &mut Dtls) -> Vec<Bytes> {
    std::iter::from_fn(|| d.poll_transmit()).collect()
}

fn events(d: &mut Dtls) -> Vec<Event> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn data(evs: &[Event]) -> Vec<Bytes> {
    evs.iter()
        .filter_map(|e| match e {
            Event::ApplicationData(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

impl Pair {
    /// Shuttles datagrams until both sides are quiet.
    fn settle(&mut self) {
        for _ in 0..20 {
            let c = drain(&mut self.client);
            let s = drain(&mut self.server);
            if c.is_empty() && s.is_empty() {
                return;
            }
            for d in c {
                let _ = self.server.handle_receive(self.now, d);
            }
            for d in s {
                let _ = self.client.handle_receive(self.now, d);
            }
        }
    }

    fn connect(&mut self) -> (String, String) {
        self.settle();
        assert!(self.client.is_connected() && self.server.is_connected());
        let cipher = |evs: Vec<Event>| {
            evs.into_iter()
                .find_map(|e| match e {
                    Event::Connected { cipher, .. } => Some(cipher),
                    _ => None,
                })
                .unwrap()
        };
        (
            cipher(events(&mut self.client)),
            cipher(events(&mut self.server)),
        )
    }

    /// Sends `msgs` from one side to the other; returns what arrived.
    fn transfer(&mut self, from_client: bool, msgs: &[Vec<u8>]) -> Vec<Bytes> {
        let (tx, rx) = if from_client {
            (&mut self.client, &mut self.server)
        } else {
            (&mut self.server, &mut self.client)
        };
        for m in msgs {
            tx.send(m).unwrap();
        }
        for d in drain(tx) {
            rx.handle_receive(self.now, d).unwrap();
        }
        data(&events(rx))
    }
}

/// Messages of every size from 0 to the largest that fits.
fn messages(max: usize) -> Vec<Vec<u8>> {
    let mut sizes = vec![1, 2, 15, 16, 17, 100, 1000, max - 1, max];
    sizes.extend((0..20).map(|i| i * 53 % max + 1));
    sizes
        .into_iter()
        .enumerate()
        .map(|(i, n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect()
}

fn expected(msgs: &[Vec<u8>]) -> Vec<Bytes> {
    msgs.iter().map(|m| Bytes::from(m.clone())).collect()
}

/// Both roles on our record layer, the other side on OpenSSL's for the whole connection:
/// every suite, data both ways, byte for byte.
#[test]
fn rust_and_openssl_record_layers_interoperate_every_suite_both_roles() {
    for cipher in SUITES {
        for rust_is_client in [true, false] {
            let mut p = pair(cipher, rust_is_client, !rust_is_client);
            let (cc, sc) = p.connect();
            assert_eq!(cc, cipher);
            assert_eq!(sc, cipher);
            let msgs = messages(p.client.max_send_len());
            for round in 0..3 {
                assert_eq!(
                    p.transfer(true, &msgs),
                    expected(&msgs),
                    "{cipher} rust client {rust_is_client} round {round} c->s"
                );
                assert_eq!(
                    p.transfer(false, &msgs),
                    expected(&msgs),
                    "{cipher} rust client {rust_is_client} round {round} s->c"
                );
            }
            let (rust, openssl) = if rust_is_client {
                (&p.client, &p.server)
            } else {
                (&p.server, &p.client)
            };
            assert!(rust.is_openssl_released(), "{cipher}");
            assert!(!openssl.is_openssl_released(), "{cipher}");
        }
    }
}

/// Default configuration on both sides: the client frees OpenSSL as soon as it is connected;
/// the server keeps it (and sends through it) until the client's first data arrives.
#[test]
fn client_releases_at_once_server_on_first_data() {
    for cipher in SUITES {
        let mut p = pair(cipher, true, true);
        p.connect();
        assert!(p.client.is_openssl_released());
        assert!(!p.server.is_openssl_released());
        // Server (still OpenSSL) → client (ours).
        let msgs = messages(p.server.max_send_len());
        assert_eq!(p.transfer(false, &msgs), expected(&msgs), "{cipher}");
        assert!(!p.server.is_openssl_released());
        // Client (ours) → server (OpenSSL reads it, then is freed).
        assert_eq!(p.transfer(true, &msgs), expected(&msgs), "{cipher}");
        assert!(p.server.is_openssl_released());
        // Ours both ways, continuing OpenSSL's sequence numbers.
        for _ in 0..3 {
            assert_eq!(p.transfer(false, &msgs), expected(&msgs), "{cipher}");
            assert_eq!(p.transfer(true, &msgs), expected(&msgs), "{cipher}");
        }
    }
}

/// The server's Finished is lost: the client retransmits its flight and the server, connected
/// and already sending application data, must still answer with its Finished.
#[test]
fn server_finished_lost_client_retransmits() {
    for cipher in SUITES {
        let mut p = pair(cipher, true, true);
        let now = p.now;
        for d in drain(&mut p.client) {
            p.server.handle_receive(now, d).unwrap();
        }
        for d in drain(&mut p.server) {
            p.client.handle_receive(now, d).unwrap();
        }
        // Client's second flight (… Finished) reaches the server; the server's Finished is lost.
        for d in drain(&mut p.client) {
            p.server.handle_receive(now, d).unwrap();
        }
        assert!(p.server.is_connected());
        assert!(!drain(&mut p.server).is_empty());
        p.server.send(b"early").unwrap();
        let early = drain(&mut p.server);
        assert!(!p.client.is_connected());
        // The client's timer fires; its retransmission reaches the server, which answers.
        let t = p.client.poll_timeout().unwrap();
        p.client.handle_timeout(t).unwrap();
        let retransmitted = drain(&mut p.client);
        assert!(!retransmitted.is_empty());
        for d in retransmitted {
            p.server.handle_receive(t, d).unwrap();
        }
        let answer = drain(&mut p.server);
        assert!(
            !answer.is_empty(),
            "{cipher}: server did not resend its Finished"
        );
        for d in answer {
            p.client.handle_receive(t, d).unwrap();
        }
        assert!(p.client.is_connected(), "{cipher}");
        assert!(p.client.is_openssl_released());
        // The early record arrives late: it is still good data (sealed by the server's OpenSSL).
        for d in early {
            p.client.handle_receive(t, d).unwrap();
        }
        let got = data(&events(&mut p.client));
        assert_eq!(got, vec![Bytes::from_static(b"early")], "{cipher}");
        let msgs = messages(200);
        assert_eq!(p.transfer(true, &msgs), expected(&msgs), "{cipher}");
        assert!(p.server.is_openssl_released());
        assert_eq!(p.transfer(false, &msgs), expected(&msgs), "{cipher}");
    }
}

/// Both sides on our record layer.
fn released_pair(cipher: &str) -> Pair {
    let mut p = pair(cipher, true, true);
    p.connect();
    assert_eq!(
        p.transfer(true, &[b"x".to_vec()]),
        vec![Bytes::from_static(b"x")]
    );
    assert!(p.client.is_openssl_released() && p.server.is_openssl_released());
    p
}

#[test]
fn replayed_duplicated_and_tampered_records_are_dropped() {
    for cipher in SUITES {
        let mut p = released_pair(cipher);
        let now = p.now;
        for (from_client, label) in [(true, "c->s"), (false, "s->c")] {
            let (tx, rx) = if from_client {
                (&mut p.client, &mut p.server)
            } else {
                (&mut p.server, &mut p.client)
            };
            tx.send(b"first").unwrap();
            tx.send(b"second").unwrap();
            let ds = drain(tx);
            assert_eq!(ds.len(), 2);
            // Tampered copies first: none delivers, none fails the association.
            for d in &ds {
                for i in 0..d.len() {
                    let mut t = d.to_vec();
                    t[i] ^= 0x01;
                    rx.handle_receive(now, Bytes::from(t)).unwrap();
                }
                rx.handle_receive(now, d.slice(..d.len() - 1)).unwrap();
            }
            assert!(data(&events(rx)).is_empty(), "{cipher} {label}");
            // Out of order, then duplicated: each delivered once.
            rx.handle_receive(now, ds[1].clone()).unwrap();
            rx.handle_receive(now, ds[0].clone()).unwrap();
            rx.handle_receive(now, ds[1].clone()).unwrap();
            rx.handle_receive(now, ds[0].clone()).unwrap();
            // Two records in one datagram, both replays.
            let mut both = ds[0].to_vec();
            both.extend_from_slice(&ds[1]);
            rx.handle_receive(now, Bytes::from(both)).unwrap();
            assert_eq!(
                data(&events(rx)),
                vec![Bytes::from_static(b"second"), Bytes::from_static(b"first")],
                "{cipher} {label}"
            );
            assert!(rx.is_connected());
        }
        // Still works both ways.
        let msgs = messages(300);
        assert_eq!(p.transfer(true, &msgs), expected(&msgs));
        assert_eq!(p.transfer(false, &msgs), expected(&msgs));
    }
}

/// Handshake records that arrive after OpenSSL was freed (a late retransmission) are ignored.
#[test]
fn late_handshake_records_are_ignored() {
    let mut p = pair(SUITES[0], true, true);
    let now = p.now;
    let mut from_client = Vec::new();
    let mut from_server = Vec::new();
    for _ in 0..6 {
        let c = drain(&mut p.client);
        let s = drain(&mut p.server);
        from_client.extend(c.iter().cloned());
        from_server.extend(s.iter().cloned());
        for d in c {
            p.server.handle_receive(now, d).unwrap();
        }
        for d in s {
            p.client.handle_receive(now, d).unwrap();
        }
    }
    p.transfer(true, &[b"go".to_vec()]);
    assert!(p.client.is_openssl_released() && p.server.is_openssl_released());
    let _ = events(&mut p.client);
    let _ = events(&mut p.server);
    for d in from_client {
        p.server.handle_receive(now, d).unwrap();
    }
    for d in from_server {
        p.client.handle_receive(now, d).unwrap();
    }
    assert!(events(&mut p.client).is_empty());
    assert!(events(&mut p.server).is_empty());
    assert!(drain(&mut p.client).is_empty());
    assert!(drain(&mut p.server).is_empty());
    let msgs = messages(100);
    assert_eq!(p.transfer(false, &msgs), expected(&msgs));
}

fn assert_closed_by_peer(evs: &[Event]) {
    assert!(
        evs.iter().any(
            |e| matches!(e, Event::Alert(a) if a.description == 0 && a.level == AlertLevel::Warning)
        ),
        "{evs:?}"
    );
    assert_eq!(evs.last(), Some(&Event::Closed), "{evs:?}");
}

/// close_notify both ways, with each combination of record layers on the two sides.
#[test]
fn close_notify_both_ways() {
    for cipher in SUITES {
        for (client_rust, server_rust) in [(true, true), (true, false), (false, true)] {
            for client_closes in [true, false] {
                let mut p = pair(cipher, client_rust, server_rust);
                p.connect();
                p.transfer(true, &[b"x".to_vec()]);
                p.transfer(false, &[b"y".to_vec()]);
                let now = p.now;
                let (closer, peer) = if client_closes {
                    (&mut p.client, &mut p.server)
                } else {
                    (&mut p.server, &mut p.client)
                };
                closer.close();
                assert_eq!(*closer.state(), State::Closed);
                assert!(matches!(closer.send(b"z"), Err(Error::Closed)));
                for d in drain(closer) {
                    peer.handle_receive(now, d).unwrap();
                }
                assert_closed_by_peer(&events(peer));
                assert_eq!(*peer.state(), State::Closed);
                // The peer answered with its own close_notify; the closer ignores it.
                for d in drain(peer) {
                    assert!(matches!(closer.handle_receive(now, d), Err(Error::Closed)));
                }
            }
        }
    }
}

#[test]
fn oversized_data_is_an_error_and_changes_nothing() {
    let mut p = released_pair(SUITES[0]);
    let max = p.client.max_send_len();
    for side in [&mut p.client, &mut p.server] {
        assert!(matches!(
            side.send(&vec![0; max + 1]),
            Err(Error::DataTooLarge { len, max: m }) if len == max + 1 && m == max
        ));
        assert!(side.is_connected());
    }
    let msgs = messages(max);
    assert_eq!(p.transfer(true, &msgs), expected(&msgs));
}

/// A record longer than the datagram, or with a length beyond the DTLS ciphertext limit,
/// is dropped without an error.
#[test]
fn malformed_records_after_release_are_dropped() {
    let mut p = released_pair(SUITES[2]);
    let now = p.now;
    let mut huge = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99, 0xff, 0xff];
    huge.extend(std::iter::repeat_n(0u8, 0xffff));
    p.server.handle_receive(now, Bytes::from(huge)).unwrap();
    let short = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99, 0, 40, 1, 2, 3];
    p.server.handle_receive(now, Bytes::from(short)).unwrap();
    let tiny = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99, 0, 3, 1, 2, 3];
    p.server.handle_receive(now, Bytes::from(tiny)).unwrap();
    // A forged alert with a huge sequence number does not move the replay window.
    let mut forged = vec![
        21, 0xfe, 0xfd, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 26,
    ];
    forged.extend_from_slice(&[0u8; 26]);
    p.server.handle_receive(now, Bytes::from(forged)).unwrap();
    assert!(events(&mut p.server).is_empty());
    assert!(p.server.is_connected());
    let msgs = messages(100);
    assert_eq!(p.transfer(true, &msgs), expected(&msgs));
}
