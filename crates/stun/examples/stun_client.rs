//! Ask a STUN server for our server-reflexive address and print it.
//!
//!     cargo run -p ferrtc-stun --example stun_client -- stun.example.org:3478
//!
//! Drives the sans-IO [`ClientTransaction`] with a std UDP socket: retransmits per RFC 8489
//! §6.2.1 and exits non-zero on timeout or error response.
//!
//! With FERRTC_STUN_USERNAME and FERRTC_STUN_PASSWORD set, the request carries USERNAME and
//! MESSAGE-INTEGRITY (short-term credential) and the response must verify with the same key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use std::net::{ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

fn main() {
    let server = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3478".to_string());
    let server = server
        .to_socket_addrs()
        .expect("resolve")
        .next()
        .expect("address");
    let bind = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(bind).expect("bind");
    let mut tid = [0u8; 12];
    // Examples may use the OS: time-seeded id is fine here, the library takes any RngCore.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for (i, b) in tid.iter_mut().enumerate() {
        *b = (seed >> ((i % 8) * 8)) as u8 ^ (std::process::id() >> (i % 4)) as u8;
    }
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId(tid),
    );
    b.add(&Attribute::Software(Text::from_static(
        "ferrtc-stun example",
    )))
    .unwrap();
    let key = match (
        std::env::var("FERRTC_STUN_USERNAME"),
        std::env::var("FERRTC_STUN_PASSWORD"),
    ) {
        (Ok(user), Ok(pass)) => {
            b.add(&Attribute::Username(Text::new(&user))).unwrap();
            let key = IntegrityKey::short_term(&pass).expect("password");
            b.add_message_integrity(&key).unwrap();
            Some(key)
        }
        _ => None,
    };
    b.add_fingerprint().unwrap();
    let config = TransactionConfig {
        rc: 4,
        ..Default::default()
    };
    let mut t = ClientTransaction::new(
        Instant::now(),
        b.build(),
        TransportReliability::Unreliable,
        config,
    )
    .unwrap();
    let mut buf = vec![0u8; 2048];
    loop {
        while let Some(p) = t.poll_transmit() {
            sock.send_to(&p, server).expect("send");
        }
        if let Some(ev) = t.poll_event() {
            match ev {
                TransactionEvent::Response(m) => {
                    let a = match &key {
                        Some(key) => match m.verify_integrity(key) {
                            Ok(a) => a,
                            Err(e) => {
                                eprintln!("response failed integrity: {e}");
                                std::process::exit(3);
                            }
                        },
                        None => m.attributes_unverified(),
                    };
                    if let Some((code, reason)) = a.error_code().unwrap() {
                        eprintln!("error response {code} {reason}");
                        std::process::exit(1);
                    }
                    let addr = a
                        .xor_mapped_address()
                        .unwrap()
                        .or(a.mapped_address().unwrap())
                        .expect("no mapped address in response");
                    println!("{addr}");
                    return;
                }
                TransactionEvent::TimedOut => {
                    eprintln!("timed out waiting for {server}");
                    std::process::exit(2);
                }
            }
        }
        let deadline = t.poll_timeout().expect("transaction pending");
        let now = Instant::now();
        let wait = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).unwrap();
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if from == server => {
                if let Ok(m) = Message::parse(Bytes::copy_from_slice(&buf[..n])) {
                    t.handle_response(m);
                }
            }
            Ok(_) => {}
            Err(_) => t.handle_timeout(Instant::now()),
        }
    }
}
