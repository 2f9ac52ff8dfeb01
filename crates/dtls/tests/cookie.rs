//! HelloVerifyRequest cookies (RFC 6347 §4.2.1) with `Config::cookie_exchange`: what the server
//! sends before the client proved its address, under loss, and against forged ClientHellos.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_dtls::{Certificate, Config, DropReason, Dtls, DtlsContext, Event, KeyType, Role};

struct Pair {
    client: Dtls,
    server: Dtls,
}

fn pair(cookie_exchange: bool) -> Pair {
    let now = Instant::now();
    let c = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
    let s = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
    let server_cfg = Config {
        cookie_exchange,
        ..Config::new(s.clone())
    };
    // The client's own setting does not matter: it only answers HelloVerifyRequests.
    let client_cfg = Config {
        cookie_exchange: true,
        ..Config::new(c.clone())
    };
    Pair {
        client: Dtls::new(
            &DtlsContext::new(client_cfg).unwrap(),
            Role::Client,
            Some(s.fingerprint().unwrap()),
            now,
        )
        .unwrap(),
        server: Dtls::new(
            &DtlsContext::new(server_cfg).unwrap(),
            Role::Server,
            Some(c.fingerprint().unwrap()),
            now,
        )
        .unwrap(),
    }
}

fn drain(d: &mut Dtls) -> Vec<Bytes> {
    std::iter::from_fn(|| d.poll_transmit()).collect()
}

/// Handshake message types in a datagram's plaintext epoch-0 handshake records.
fn message_types(d: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    let mut rest = d;
    while rest.len() >= 13 {
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        if rest[0] == 22 && rest[3..5] == [0, 0] && rest.len() > 13 {
            out.push(rest[13]);
        }
        rest = &rest[(13 + len).min(rest.len())..];
    }
    out
}

fn run(p: &mut Pair, now: Instant) {
    for _ in 0..8 {
        for d in drain(&mut p.client) {
            p.server.handle_receive(now, d).unwrap();
        }
        for d in drain(&mut p.server) {
            p.client.handle_receive(now, d).unwrap();
        }
    }
}

fn assert_connected(p: &mut Pair) {
    let keys = |d: &mut Dtls| {
        std::iter::from_fn(|| d.poll_event())
            .find_map(|e| match e {
                Event::Connected { srtp, .. } => srtp,
                _ => None,
            })
            .expect("connected with SRTP keys")
    };
    assert_eq!(keys(&mut p.client), keys(&mut p.server));
}

#[test]
fn server_answers_the_first_client_hello_with_a_small_hello_verify_request() {
    let now = Instant::now();
    let mut p = pair(true);
    let hello = drain(&mut p.client);
    assert_eq!(message_types(&hello[0]), vec![1]);
    let hello_len: usize = hello.iter().map(Bytes::len).sum();
    for d in hello {
        p.server.handle_receive(now, d).unwrap();
    }
    let answer = drain(&mut p.server);
    assert_eq!(answer.len(), 1);
    assert_eq!(message_types(&answer[0]), vec![3], "HelloVerifyRequest");
    // record(13) + handshake header(12) + version(2) + cookie length(1) + 16-byte cookie.
    assert_eq!(answer[0].len(), 13 + 12 + 3 + 16);
    assert!(answer[0].len() < hello_len, "no amplification");
    // RFC 6347 §3.2.1: the server keeps no retransmission timer for it.
    let deadline = p.server.poll_timeout().unwrap();
    assert!(
        deadline >= now + Duration::from_secs(19),
        "{:?}",
        deadline - now
    );
    p.server
        .handle_timeout(now + Duration::from_secs(5))
        .unwrap();
    assert!(p.server.poll_transmit().is_none());

    // The client answers with a ClientHello carrying the cookie; the server goes on.
    for d in answer {
        p.client.handle_receive(now, d).unwrap();
    }
    let second = drain(&mut p.client);
    assert_eq!(message_types(&second[0]), vec![1]);
    // The cookie is in it: same 16 bytes as the HelloVerifyRequest's (after the record header,
    // handshake header, version, random, empty session id and the cookie length).
    let cookie_at = 13 + 12 + 2 + 32 + 1;
    assert_eq!(second[0][cookie_at], 16);
    for d in second {
        p.server.handle_receive(now, d).unwrap();
    }
    let flight = drain(&mut p.server);
    let types: Vec<u8> = flight.iter().flat_map(|d| message_types(d)).collect();
    assert_eq!(
        types.first(),
        Some(&2),
        "ServerHello after the cookie: {types:?}"
    );
    for d in flight {
        p.client.handle_receive(now, d).unwrap();
    }
    run(&mut p, now);
    assert_connected(&mut p);
}

#[test]
fn without_cookie_exchange_the_server_sends_its_flight_at_once() {
    let now = Instant::now();
    let mut p = pair(false);
    for d in drain(&mut p.client) {
        p.server.handle_receive(now, d).unwrap();
    }
    let types: Vec<u8> = drain(&mut p.server)
        .iter()
        .flat_map(|d| message_types(d))
        .collect();
    assert_eq!(types.first(), Some(&2), "{types:?}");
}

#[test]
fn lost_hello_verify_request_and_lost_second_client_hello() {
    let mut now = Instant::now();
    let mut p = pair(true);
    // ClientHello arrives, the HelloVerifyRequest is lost.
    for d in drain(&mut p.client) {
        p.server.handle_receive(now, d).unwrap();
    }
    assert_eq!(drain(&mut p.server).len(), 1);
    // The client's timer: it retransmits the ClientHello, the server answers again.
    now += Duration::from_millis(150);
    p.client.handle_timeout(now).unwrap();
    for d in drain(&mut p.client) {
        p.server.handle_receive(now, d).unwrap();
    }
    let hvr = drain(&mut p.server);
    assert_eq!(message_types(&hvr[0]), vec![3]);
    for d in hvr {
        p.client.handle_receive(now, d).unwrap();
    }
    // The ClientHello with the cookie is lost; the client retransmits it.
    assert!(!drain(&mut p.client).is_empty());
    now += Duration::from_millis(150);
    p.client.handle_timeout(now).unwrap();
    run(&mut p, now);
    assert_connected(&mut p);
}

#[test]
fn forged_client_hello_with_a_wrong_cookie_is_dropped() {
    let now = Instant::now();
    let mut p = pair(true);
    let first = drain(&mut p.client);
    let forged_base = first[0].to_vec();
    for d in first {
        p.server.handle_receive(now, d).unwrap();
    }
    let hvr = drain(&mut p.server);
    for d in hvr {
        p.client.handle_receive(now, d).unwrap();
    }
    let second = drain(&mut p.client);
    // A copy of the second ClientHello with one cookie byte changed, ahead of the genuine one.
    let cookie_at = 13 + 12 + 2 + 32 + 1;
    let mut forged = second[0].to_vec();
    assert_eq!(forged[cookie_at], 16);
    forged[cookie_at + 5] ^= 1;
    p.server.handle_receive(now, Bytes::from(forged)).unwrap();
    assert_eq!(p.server.stats().dropped(DropReason::Cookie), 1);
    assert!(drain(&mut p.server).is_empty());
    // The first ClientHello again (no cookie) is fine: answered with the HelloVerifyRequest
    // again, as RFC 6347 §4.2.1 allows; it does not break the handshake.
    let _ = forged_base;
    for d in second {
        p.server.handle_receive(now, d).unwrap();
    }
    run(&mut p, now);
    assert_connected(&mut p);
    assert_eq!(p.server.stats().records_dropped, 1);
}
