//! A STUN Binding server (RFC 8489 §6.3) on a UDP socket.
//!
//!     cargo run -p ferrtc-stun --example stun_server -- 127.0.0.1:3478
//!
//! Answers every Binding request with XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS for RFC 3489
//! era clients), SOFTWARE and FINGERPRINT; answers requests with unknown
//! comprehension-required attributes with 420. With FERRTC_STUN_MAX=N it exits after N
//! requests (for tests).
//!
//! With FERRTC_STUN_PASSWORD set, requests must carry USERNAME and a MESSAGE-INTEGRITY
//! made with that short-term password (else 400 or 401, RFC 8489 §9.1.3), and responses
//! are signed with it, as in an ICE connectivity check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_stun::*;
use std::net::UdpSocket;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3478".to_string());
    let max: Option<usize> = std::env::var("FERRTC_STUN_MAX")
        .ok()
        .and_then(|v| v.parse().ok());
    let key = std::env::var("FERRTC_STUN_PASSWORD")
        .ok()
        .map(|p| IntegrityKey::short_term(&p).expect("password"));
    let sock = UdpSocket::bind(&addr).expect("bind");
    println!("listening on {}", sock.local_addr().unwrap());
    let mut buf = vec![0u8; 2048];
    let mut served = 0usize;
    loop {
        let (n, from) = sock.recv_from(&mut buf).expect("recv");
        let msg = match Message::parse(Bytes::copy_from_slice(&buf[..n])) {
            Ok(m) => m,
            Err(e) => {
                println!("{from}: ignored: {e}");
                continue;
            }
        };
        if msg.method() != Method::BINDING || msg.class() != Class::Request {
            continue;
        }
        // Integrity first: nothing of the request is believed before it is checked.
        let auth_error = key.as_ref().and_then(|key| {
            if msg.integrity().is_none() || msg.username().ok().flatten().is_none() {
                return Some((error_code::BAD_REQUEST, "Bad Request"));
            }
            match msg.verify_integrity(key) {
                Ok(_) => None,
                Err(_) => Some((error_code::UNAUTHENTICATED, "Unauthenticated")),
            }
        });
        let unknown = msg.unknown_comprehension_required();
        let mut b = if let Some((code, reason)) = auth_error {
            let mut b = MessageBuilder::new(
                MessageType::new(Method::BINDING, Class::ErrorResponse),
                msg.transaction_id(),
            );
            b.add(&Attribute::ErrorCode(ErrorCode {
                code,
                reason: Text::from_static(reason),
            }))
            .unwrap();
            b
        } else if unknown.is_empty() {
            let mut b = MessageBuilder::new(
                MessageType::new(Method::BINDING, Class::SuccessResponse),
                msg.transaction_id(),
            );
            b.add(&Attribute::XorMappedAddress(from)).unwrap();
            b.add(&Attribute::MappedAddress(from)).unwrap();
            b
        } else {
            let mut b = MessageBuilder::new(
                MessageType::new(Method::BINDING, Class::ErrorResponse),
                msg.transaction_id(),
            );
            b.add(&Attribute::ErrorCode(ErrorCode {
                code: error_code::UNKNOWN_ATTRIBUTE,
                reason: Text::from_static("Unknown Attribute"),
            }))
            .unwrap();
            b.add(&Attribute::UnknownAttributes(UnknownAttributes::new(
                unknown,
            )))
            .unwrap();
            b
        };
        b.add(&Attribute::Software(Text::from_static(
            "ferrtc-stun example",
        )))
        .unwrap();
        if let (Some(key), None) = (&key, auth_error) {
            b.add_message_integrity(key).unwrap();
        }
        b.add_fingerprint().unwrap();
        sock.send_to(&b.build(), from).expect("send");
        println!("{from}: binding request answered");
        served += 1;
        if max.is_some_and(|m| served >= m) {
            return;
        }
    }
}
