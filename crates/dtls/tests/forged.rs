//! Forged handshake messages whose record and fragment headers are valid (so the record guard of
//! src/guard.rs lets them through) but whose bodies are not the genuine peer's, and forged
//! plaintext alerts after the peer moved to epoch 1: none of them may end a handshake that the
//! genuine flights would complete (RFC 6347 §4.1.2.7: invalid records SHOULD be silently
//! discarded; §4.1: packets from earlier epochs SHOULD be discarded).
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
    Certificate, Config, DropReason, Dtls, DtlsContext, Event, Fingerprint, KeyType, Role,
    SrtpKeyingMaterial, State,
};

struct Fixture {
    client: DtlsContext,
    server: DtlsContext,
    /// Both sides with a 300-byte MTU: the Certificate messages are sent in several fragments.
    client_small: DtlsContext,
    server_small: DtlsContext,
    client_fp: Fingerprint,
    server_fp: Fingerprint,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let c = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
        let s = Certificate::generate(KeyType::EcdsaP256, std::time::SystemTime::now()).unwrap();
        let small = |cert: &Certificate| {
            DtlsContext::new(Config {
                mtu: 300,
                ..Config::new(cert.clone())
            })
            .unwrap()
        };
        Fixture {
            client_fp: c.fingerprint().unwrap(),
            server_fp: s.fingerprint().unwrap(),
            client_small: small(&c),
            server_small: small(&s),
            client: DtlsContext::new(Config::new(c)).unwrap(),
            server: DtlsContext::new(Config::new(s)).unwrap(),
        }
    })
}

fn drain(d: &mut Dtls) -> Vec<Bytes> {
    std::iter::from_fn(|| d.poll_transmit()).collect()
}

/// A record of the wire: (content type, epoch, record sequence number, body).
#[derive(Debug, Clone)]
struct Rec {
    ty: u8,
    epoch: u16,
    seq: u64,
    body: Vec<u8>,
}

fn records(d: &[u8]) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 13 <= d.len() {
        let len = usize::from(u16::from_be_bytes([d[at + 11], d[at + 12]]));
        let mut seq = [0u8; 8];
        seq[2..].copy_from_slice(&d[at + 5..at + 11]);
        out.push(Rec {
            ty: d[at],
            epoch: u16::from_be_bytes([d[at + 3], d[at + 4]]),
            seq: u64::from_be_bytes(seq),
            body: d[at + 13..at + 13 + len].to_vec(),
        });
        at += 13 + len;
    }
    out
}

fn encode(r: &Rec) -> Vec<u8> {
    let mut v = vec![r.ty, 0xfe, 0xfd];
    v.extend_from_slice(&r.epoch.to_be_bytes());
    v.extend_from_slice(&r.seq.to_be_bytes()[2..]);
    v.extend_from_slice(&(r.body.len() as u16).to_be_bytes());
    v.extend_from_slice(&r.body);
    v
}

/// A handshake fragment (RFC 6347 §4.2.2).
#[derive(Debug, Clone, PartialEq)]
struct Frag {
    mt: u8,
    msg_len: u32,
    msg_seq: u16,
    offset: u32,
    data: Vec<u8>,
}

fn be24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

fn fragments(body: &[u8]) -> Vec<Frag> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= body.len() {
        let h = &body[at..at + 12];
        let n = be24(&h[9..12]) as usize;
        out.push(Frag {
            mt: h[0],
            msg_len: be24(&h[1..4]),
            msg_seq: u16::from_be_bytes([h[4], h[5]]),
            offset: be24(&h[6..9]),
            data: body[at + 12..at + 12 + n].to_vec(),
        });
        at += 12 + n;
    }
    out
}

fn frag_bytes(f: &Frag) -> Vec<u8> {
    let mut v = vec![f.mt];
    v.extend_from_slice(&f.msg_len.to_be_bytes()[1..]);
    v.extend_from_slice(&f.msg_seq.to_be_bytes());
    v.extend_from_slice(&f.offset.to_be_bytes()[1..]);
    v.extend_from_slice(&(f.data.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(&f.data);
    v
}

/// One plaintext handshake record holding `f`, with a record sequence number above the genuine
/// ones.
fn forged_record(f: &Frag) -> Bytes {
    Bytes::from(encode(&Rec {
        ty: 22,
        epoch: 0,
        seq: 40,
        body: frag_bytes(f),
    }))
}

/// Every epoch-0 handshake fragment of a flight.
fn flight_fragments(flight: &[Bytes]) -> Vec<Frag> {
    flight
        .iter()
        .flat_map(|d| records(d))
        .filter(|r| r.ty == 22 && r.epoch == 0)
        .flat_map(|r| fragments(&r.body))
        .collect()
}

type Keys = Option<SrtpKeyingMaterial>;

/// A genuine handshake between `client_ctx` and `server_ctx` in memory, without timeouts (so
/// every genuine flight must get through the first time). `tamper(to, n, flight)` returns what
/// is delivered to `to` in place of the `n`th flight it receives.
fn handshake(
    client_ctx: &DtlsContext,
    server_ctx: &DtlsContext,
    mut tamper: impl FnMut(Role, usize, Vec<Bytes>) -> Vec<Bytes>,
) -> (Dtls, Dtls, Keys, Keys) {
    let f = fixture();
    let now = Instant::now();
    let mut client = Dtls::new(client_ctx, Role::Client, Some(f.server_fp.clone()), now).unwrap();
    let mut server = Dtls::new(server_ctx, Role::Server, Some(f.client_fp.clone()), now).unwrap();
    let (mut to_c, mut to_s) = (0, 0);
    let (mut kc, mut ks) = (None, None);
    let keys = |d: &mut Dtls, k: &mut Keys| {
        while let Some(ev) = d.poll_event() {
            if let Event::Connected { srtp, .. } = ev {
                *k = srtp;
            }
        }
    };
    for _ in 0..8 {
        let out = drain(&mut client);
        if !out.is_empty() {
            for d in tamper(Role::Server, to_s, out) {
                let _ = server.handle_receive(now, d);
            }
            to_s += 1;
        }
        keys(&mut server, &mut ks);
        let out = drain(&mut server);
        if !out.is_empty() {
            for d in tamper(Role::Client, to_c, out) {
                let _ = client.handle_receive(now, d);
            }
            to_c += 1;
        }
        keys(&mut client, &mut kc);
    }
    (client, server, kc, ks)
}

fn assert_connected(c: &Dtls, s: &Dtls, kc: &Keys, ks: &Keys, what: &str) {
    assert!(
        kc.is_some() && kc == ks,
        "{what}: handshake did not complete: client {:?} {:?}, server {:?} {:?}",
        c.state(),
        c.stats(),
        s.state(),
        s.stats()
    );
}

// ------------------------------------------------------------------------------------------

/// `flight` with `forged` delivered first, in a datagram of its own.
fn before(forged: Bytes, flight: Vec<Bytes>) -> Vec<Bytes> {
    let mut v = vec![forged];
    v.extend(flight);
    v
}

/// The first fragment of message type `mt` in a flight.
fn find(flight: &[Bytes], mt: u8) -> Frag {
    flight_fragments(flight)
        .into_iter()
        .find(|f| f.mt == mt)
        .unwrap_or_else(|| panic!("no message of type {mt} in the flight"))
}

/// RFC 6347 §4.1.2.7 with RFC 5246 §7.4: a message with the expected type, length and
/// message_seq whose body does not parse as its type is an invalid record; it is dropped and the
/// genuine message that follows is used. Before src/reassembly.rs, OpenSSL failed the handshake
/// on each of these ("length mismatch", decode_error).
#[test]
fn a_complete_message_that_does_not_parse_is_dropped() {
    let f = fixture();
    // (receiver, flight index, message type, what the body is)
    let cases: [(Role, usize, u8, &str); 6] = [
        (Role::Client, 0, 2, "ServerHello of 0xaa bytes"),
        (Role::Client, 0, 11, "Certificate of 0xaa bytes"),
        (Role::Client, 0, 12, "ServerKeyExchange of 0xaa bytes"),
        (Role::Server, 0, 1, "ClientHello of 0xaa bytes"),
        (Role::Server, 1, 11, "client Certificate of 0xaa bytes"),
        (Role::Server, 1, 16, "ClientKeyExchange of 0xaa bytes"),
    ];
    for (to, at, mt, what) in cases {
        let (c, s, kc, ks) = handshake(&f.client, &f.server, |role, n, flight| {
            if role != to || n != at {
                return flight;
            }
            let genuine = find(&flight, mt);
            let forged = Frag {
                offset: 0,
                data: vec![0xaa; genuine.msg_len as usize],
                ..genuine
            };
            before(forged_record(&forged), flight)
        });
        assert_connected(&c, &s, &kc, &ks, what);
        let target = if to == Role::Client { &c } else { &s };
        assert_eq!(
            target.stats().dropped(DropReason::MalformedMessage),
            1,
            "{what}: {:?}",
            target.stats()
        );
    }
}

/// RFC 5246 §7.3 (figure 1) and §7.4.3: with an ECDHE suite the server's Certificate is
/// followed by its ServerKeyExchange. A well-formed ServerHelloDone in that place (message_seq
/// 2, where the record guard must allow it, since ServerKeyExchange and CertificateRequest are
/// optional in general) is dropped, and the genuine flight completes; OpenSSL answered it with
/// a fatal unexpected_message.
#[test]
fn a_well_formed_message_out_of_place_is_dropped() {
    let f = fixture();
    let (c, s, kc, ks) = handshake(&f.client, &f.server, |role, n, flight| {
        if role != Role::Client || n != 0 {
            return flight;
        }
        let ske = find(&flight, 12);
        let shd = Frag {
            mt: 14,
            msg_len: 0,
            msg_seq: ske.msg_seq,
            offset: 0,
            data: vec![],
        };
        before(forged_record(&shd), flight)
    });
    assert_connected(
        &c,
        &s,
        &kc,
        &ks,
        "ServerHelloDone in place of ServerKeyExchange",
    );
    assert_eq!(
        c.stats().dropped(DropReason::UnexpectedMessage),
        1,
        "{:?}",
        c.stats()
    );
}

/// RFC 6347 §4.2.4: a retransmitted message is the same message. One whose message_seq was
/// already consumed but whose body differs is not the peer's and is dropped (and counted); the
/// identical retransmission is not counted.
#[test]
fn an_already_consumed_message_seq_with_another_body_is_dropped() {
    let f = fixture();
    let mut first_flight = Vec::new();
    let (c, s, kc, ks) = handshake(&f.client, &f.server, |role, n, flight| {
        if role != Role::Client {
            return flight;
        }
        if n == 0 {
            first_flight.clone_from(&flight);
            return flight;
        }
        // Before the server's final flight: its first flight again (a genuine retransmission),
        // then a ServerHello with the consumed message_seq and one byte of its random changed.
        let mut sh = find(&first_flight, 2);
        sh.data[10] ^= 1;
        let mut v = first_flight.clone();
        v.push(forged_record(&sh));
        v.extend(flight);
        v
    });
    assert_connected(&c, &s, &kc, &ks, "consumed message_seq");
    assert_eq!(
        c.stats().dropped(DropReason::Retransmission),
        1,
        "{:?}",
        c.stats()
    );
    assert_eq!(c.stats().records_dropped, 1, "{:?}", c.stats());
}

/// RFC 6347 §4.2.3: fragments may overlap, and the receiver reassembles them. A forged fragment
/// of the expected message whose bytes disagree with the genuine fragments that follow (or
/// whose message length differs) must not spoil the genuine message. With 300-byte MTUs the
/// Certificate messages come in several fragments.
#[test]
fn a_forged_partial_fragment_does_not_stall_the_handshake() {
    let f = fixture();
    for to in [Role::Client, Role::Server] {
        let at = usize::from(to == Role::Server);
        for (variant, len_delta) in [("same length", 0u32), ("other length", 17)] {
            let what = format!("forged first fragment of the Certificate to the {to:?}, {variant}");
            let (c, s, kc, ks) = handshake(&f.client_small, &f.server_small, |role, n, flight| {
                if role != to || n != at {
                    return flight;
                }
                let parts: Vec<Frag> = flight_fragments(&flight)
                    .into_iter()
                    .filter(|f| f.mt == 11)
                    .collect();
                assert!(parts.len() >= 2, "{what}: Certificate not fragmented");
                let mut forged = parts[0].clone();
                forged.msg_len += len_delta;
                for b in forged.data.iter_mut().skip(20) {
                    *b ^= 0x5a;
                }
                before(forged_record(&forged), flight)
            });
            assert_connected(&c, &s, &kc, &ks, &what);
            let target = if to == Role::Client { &c } else { &s };
            assert_eq!(
                target.stats().dropped(DropReason::ConflictingFragment),
                1,
                "{what}: {:?}",
                target.stats()
            );
        }
    }
}

/// The same, with the forged fragment wedged into the middle of the genuine flight, after the
/// genuine fragment it overlaps: a forged fragment that cannot complete a message is dropped
/// when the genuine one completes.
#[test]
fn a_forged_fragment_inside_the_genuine_flight_is_dropped() {
    let f = fixture();
    let (c, s, kc, ks) = handshake(&f.client_small, &f.server_small, |role, n, flight| {
        if role != Role::Client || n != 0 {
            return flight;
        }
        let parts: Vec<Frag> = flight_fragments(&flight)
            .into_iter()
            .filter(|f| f.mt == 11)
            .collect();
        // Half of the first fragment, with other bytes.
        let mut forged = parts[0].clone();
        forged.data.truncate(forged.data.len() / 2);
        for b in &mut forged.data {
            *b = !*b;
        }
        let first = flight
            .iter()
            .position(|d| {
                flight_fragments(std::slice::from_ref(d))
                    .iter()
                    .any(|f| f.mt == 11)
            })
            .unwrap();
        let mut v = flight.clone();
        v.insert(first + 1, forged_record(&forged));
        v
    });
    assert_connected(&c, &s, &kc, &ks, "forged fragment inside the flight");
    assert_eq!(
        c.stats().dropped(DropReason::ConflictingFragment),
        1,
        "{:?}",
        c.stats()
    );
}

/// Many forged fragments (a flood of distinct conflicting ones) before the genuine flight:
/// memory stays bounded (the oldest candidates go) and the genuine flight still completes.
#[test]
fn a_flood_of_conflicting_fragments_is_bounded() {
    let f = fixture();
    let (c, s, kc, ks) = handshake(&f.client_small, &f.server_small, |role, n, flight| {
        if role != Role::Client || n != 0 {
            return flight;
        }
        let cert = find(&flight, 11);
        let mut v: Vec<Bytes> = (0..200u8)
            .map(|i| {
                let mut forged = cert.clone();
                forged.data.iter_mut().for_each(|b| *b = i);
                forged_record(&forged)
            })
            .collect();
        v.extend(flight);
        v
    });
    assert_connected(&c, &s, &kc, &ks, "flood");
    assert_eq!(
        c.stats().dropped(DropReason::ConflictingFragment),
        200,
        "{:?}",
        c.stats()
    );
}

fn plaintext_fatal_alert(description: u8) -> Bytes {
    Bytes::from(encode(&Rec {
        ty: 21,
        epoch: 0,
        seq: 60,
        body: vec![2, description],
    }))
}

/// RFC 6347 §4.1: "implementations SHOULD discard packets from earlier epochs". Once the client
/// sent its ChangeCipherSpec the server writes to it in epoch 1, so an unencrypted fatal alert
/// (which anyone can forge) is not believed: the genuine final flight that follows completes
/// the handshake. Before this, the client failed with AlertReceived(handshake_failure).
#[test]
fn a_plaintext_fatal_alert_after_epoch_1_is_not_believed() {
    let f = fixture();
    let (c, s, kc, ks) = handshake(&f.client, &f.server, |role, n, flight| {
        if role == Role::Client && n == 1 {
            before(plaintext_fatal_alert(40), flight)
        } else {
            flight
        }
    });
    assert_connected(&c, &s, &kc, &ks, "alert after epoch 1");
    assert_eq!(
        c.stats().dropped(DropReason::OldEpoch),
        1,
        "{:?}",
        c.stats()
    );
    // Once connected, too (OpenSSL still in charge at the server, our record layer at the
    // client).
    let (mut c, mut s) = (c, s);
    let now = Instant::now();
    s.handle_receive(now, plaintext_fatal_alert(40)).unwrap();
    c.handle_receive(now, plaintext_fatal_alert(40)).unwrap();
    assert!(matches!(s.state(), State::Connected) && matches!(c.state(), State::Connected));
    assert_eq!(
        s.stats().dropped(DropReason::OldEpoch),
        1,
        "{:?}",
        s.stats()
    );
}

/// ... but a genuine one (the peer really failed, and so never sends its final flight) is
/// reported when the retransmission timer expires.
#[test]
fn a_plaintext_fatal_alert_after_epoch_1_is_believed_when_the_handshake_stalls() {
    let f = fixture();
    let mut client_out = None;
    let (mut c, _s, kc, _ks) = handshake(&f.client, &f.server, |role, n, flight| match (role, n) {
        (Role::Client, 1) => vec![plaintext_fatal_alert(42)],
        (Role::Server, 1) => {
            client_out = Some(flight.clone());
            flight
        }
        _ => flight,
    });
    assert!(client_out.is_some() && kc.is_none());
    assert!(matches!(c.state(), State::Handshaking), "{:?}", c.state());
    let t = c.poll_timeout().unwrap();
    let err = c.handle_timeout(t).unwrap_err();
    assert!(
        matches!(err, ferrtc_dtls::Error::AlertReceived(a) if a.description == 42),
        "{err:?}"
    );
    assert!(std::iter::from_fn(|| c.poll_event())
        .any(|e| matches!(e, Event::Alert(a) if a.description == 42)));
}

/// Before the client sent its ChangeCipherSpec, a plaintext fatal alert is the only way the
/// server can say no, and is believed at once (as before).
#[test]
fn a_plaintext_fatal_alert_before_epoch_1_ends_the_handshake() {
    let f = fixture();
    let (c, _s, kc, _ks) = handshake(&f.client, &f.server, |role, n, flight| {
        if role == Role::Client && n == 0 {
            vec![plaintext_fatal_alert(40)]
        } else {
            flight
        }
    });
    assert!(kc.is_none());
    assert!(
        matches!(c.state(), State::Failed(ferrtc_dtls::Error::AlertReceived(a)) if a.description == 40),
        "{:?}",
        c.state()
    );
}

/// With loss and timers: the genuine flight is lost, a forged partial fragment of its
/// Certificate waits in the reassembly, and our retransmission timer fires: the incomplete
/// forged set is discarded then (the peer resends its whole flight, RFC 6347 §4.2.4), and the
/// retransmitted flight completes the handshake.
#[test]
fn a_forged_partial_set_goes_on_the_retransmission_timer() {
    let f = fixture();
    let mut now = Instant::now();
    let mut client = Dtls::new(
        &f.client_small,
        Role::Client,
        Some(f.server_fp.clone()),
        now,
    )
    .unwrap();
    let mut server = Dtls::new(
        &f.server_small,
        Role::Server,
        Some(f.client_fp.clone()),
        now,
    )
    .unwrap();
    for d in drain(&mut client) {
        server.handle_receive(now, d).unwrap();
    }
    // The server's first flight is lost; a forged first Certificate fragment arrives.
    let flight = drain(&mut server);
    let mut forged = flight_fragments(&flight)
        .into_iter()
        .find(|fr| fr.mt == 11)
        .unwrap();
    forged.data.truncate(50);
    forged.data.iter_mut().for_each(|b| *b ^= 0xff);
    client.handle_receive(now, forged_record(&forged)).unwrap();
    assert_eq!(client.stats().dropped(DropReason::ConflictingFragment), 0);
    // The client's timer: it resends its ClientHello and drops the incomplete set.
    now = client.poll_timeout().unwrap();
    client.handle_timeout(now).unwrap();
    assert_eq!(
        client.stats().dropped(DropReason::ConflictingFragment),
        1,
        "{:?}",
        client.stats()
    );
    for _ in 0..200 {
        for d in drain(&mut client) {
            let _ = server.handle_receive(now, d);
        }
        for d in drain(&mut server) {
            let _ = client.handle_receive(now, d);
        }
        if client.is_connected() && server.is_connected() {
            break;
        }
        let next = [client.poll_timeout(), server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        now = now.max(next);
        let _ = client.handle_timeout(now);
        let _ = server.handle_timeout(now);
    }
    assert!(
        client.is_connected() && server.is_connected(),
        "client {:?} {:?}, server {:?}",
        client.state(),
        client.stats(),
        server.state()
    );
    assert_eq!(client.srtp_keying_material(), server.srtp_keying_material());
    assert_eq!(client.stats().dropped(DropReason::ConflictingFragment), 1);
}
