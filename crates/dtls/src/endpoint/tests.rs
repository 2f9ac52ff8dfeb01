//! Unit tests of the association that look inside it (the record layer after OpenSSL).

use super::receive::is_handshake_retransmission;
use super::*;
use crate::alert::AlertLevel;
use crate::cert::{Certificate, KeyType};

/// A client with certificate `a` and a server with `b`, after six round trips in memory.
fn handshake(a: &Certificate, b: &Certificate, now: Instant) -> (Dtls, Dtls) {
    let ctx = |c: &Certificate| DtlsContext::new(Config::new(c.clone())).unwrap();
    let mut client = Dtls::new(&ctx(a), Role::Client, Some(b.fingerprint().unwrap()), now).unwrap();
    let mut server = Dtls::new(&ctx(b), Role::Server, Some(a.fingerprint().unwrap()), now).unwrap();
    for _ in 0..6 {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, d).unwrap();
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, d).unwrap();
        }
    }
    (client, server)
}

fn generate() -> Certificate {
    Certificate::generate(KeyType::EcdsaP256, ferrtc_testkit::wallclock()).unwrap()
}

/// A connected pair, both on our record layer.
fn released_pair() -> (Dtls, Dtls) {
    let now = ferrtc_testkit::epoch();
    let (mut client, mut server) = handshake(&generate(), &generate(), now);
    client.send(b"x").unwrap();
    while let Some(d) = client.poll_transmit() {
        server.handle_receive(now, d).unwrap();
    }
    assert!(client.is_openssl_released() && server.is_openssl_released());
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    (client, server)
}

#[test]
fn handshake_between_two_generated_certificates() {
    let (a, b) = (generate(), generate());
    // Both contexts share one OpenSSL context (src/config.rs): each side must still present its
    // own certificate, which the peer pins.
    let (mut client, mut server) = handshake(&a, &b, ferrtc_testkit::epoch());
    let peer = |d: &mut Dtls| loop {
        match d.poll_event() {
            Some(Event::Connected {
                remote_fingerprint, ..
            }) => break remote_fingerprint,
            Some(_) => {}
            None => panic!("not connected: {:?}", d.state()),
        }
    };
    // The fingerprints each side saw, against an independent hash of the DER (OpenSSL's).
    let sha256 = |c: &Certificate| {
        crate::Fingerprint::of_der(crate::HashAlgorithm::Sha256, &c.der().unwrap()).unwrap()
    };
    assert_eq!(peer(&mut client), sha256(&b));
    assert_eq!(peer(&mut server), sha256(&a));
    assert_ne!(sha256(&a), sha256(&b));
}

#[test]
fn alerts_after_release() {
    let now = ferrtc_testkit::epoch();
    let (mut client, mut server) = released_pair();
    // A warning alert other than close_notify is ignored.
    let warning = client
        .records
        .as_mut()
        .unwrap()
        .seal(record::ALERT, &[1, 90])
        .unwrap();
    server.handle_receive(now, warning).unwrap();
    assert!(server.poll_event().is_none());
    assert!(server.is_connected());
    // A fatal one fails the association, with the alert as event and error, no answer.
    let fatal = client
        .records
        .as_mut()
        .unwrap()
        .seal(record::ALERT, &[2, 40])
        .unwrap();
    let err = server.handle_receive(now, fatal).unwrap_err();
    let alert = Alert {
        level: AlertLevel::Fatal,
        description: 40,
    };
    assert!(matches!(err, Error::AlertReceived(a) if a == alert));
    assert_eq!(server.poll_event(), Some(Event::Alert(alert)));
    assert!(server.poll_transmit().is_none());
    assert!(matches!(server.send(b"y"), Err(Error::Closed)));
}

#[test]
fn sequence_numbers_continue_after_openssl() {
    let (mut client, mut server) = released_pair();
    // The client's OpenSSL wrote its Finished (epoch 1, seq 0); we continue from 1.
    client.send(b"a").unwrap();
    let d = client.poll_transmit().unwrap();
    let recs = record::split_records(&d, 4);
    assert_eq!(
        (recs[0].epoch, recs[0].seq),
        (1, 2),
        "seq 1 was the first data"
    );
    // The server's OpenSSL wrote its Finished; our first record follows it.
    server.send(b"b").unwrap();
    let d = server.poll_transmit().unwrap();
    let recs = record::split_records(&d, 4);
    assert_eq!((recs[0].epoch, recs[0].seq), (1, 1));
}

#[test]
fn recognises_epoch0_handshake_records() {
    let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 9, 9];
    assert!(is_handshake_retransmission(&d));
    d[4] = 1; // epoch 1
    assert!(!is_handshake_retransmission(&d));
    // Second record is a CCS in epoch 0.
    d.extend_from_slice(&[20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1]);
    assert!(is_handshake_retransmission(&d));
    assert!(!is_handshake_retransmission(&d[..5]));
    assert!(!is_handshake_retransmission(&[23; 40]));
    assert!(!is_handshake_retransmission(&[]));
}
