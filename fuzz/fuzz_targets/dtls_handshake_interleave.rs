//! Stateful DTLS: a genuine ferrtc client and server handshake in memory, and before each flight
//! the fuzzer may inject malformed records into the endpoint about to receive it — alone, several
//! in one datagram, or glued before or after the genuine records of the flight's datagrams.
//!
//! Every injected record is malformed by construction, by a rule of RFC 6347 / RFC 5246 (the
//! fuzzer chooses which rule, the fields and the payload). Such records must be silently discarded
//! (RFC 6347 §4.1.2.7), so: the genuine handshake always completes (no timeouts are driven, so
//! every genuine flight must get through the first time), both sides export the same SRTP keys,
//! and each side counted exactly the drops the injections call for. The first input byte picks a
//! server with or without HelloVerifyRequest cookies.
//!
//! Two more kinds have headers that are genuine and so reach the handshake reassembly of
//! src/reassembly.rs: a forged *partial* fragment of a message of the genuine flight (its type,
//! length and message_seq; fuzzer bytes, never the whole message), dropped when the genuine
//! message completes unless its bytes happen to agree with the genuine ones (so 0 or 1 drop);
//! and a plaintext fatal alert sent to the client with the server's final flight, after the
//! client's ChangeCipherSpec (RFC 6347 §4.1: not believed, one drop).
#![no_main]
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
    Certificate, Config, Dtls, DtlsContext, Event, Fingerprint, KeyType, Role, SrtpKeyingMaterial,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    client: DtlsContext,
    server: DtlsContext,
    server_cookie: DtlsContext,
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
            server: DtlsContext::new(Config::new(s.clone())).unwrap(),
            server_cookie: DtlsContext::new(Config {
                cookie_exchange: true,
                ..Config::new(s)
            })
            .unwrap(),
        }
    })
}

/// The fuzz input, read front to back; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        let mut v = a.to_vec();
        v.resize(n, 0);
        v
    }
}

const V12: [u8; 2] = [0xfe, 0xfd];
/// Config::max_handshake_message_len's default.
const MAX_MSG: u32 = 64 * 1024;

fn rec(ty: u8, version: [u8; 2], epoch: u16, seq: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, version[0], version[1]];
    v.extend_from_slice(&epoch.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn frag(mt: u8, msg_len: u32, msg_seq: u16, offset: u32, frag_len: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![mt];
    v.extend_from_slice(&msg_len.to_be_bytes()[1..]);
    v.extend_from_slice(&msg_seq.to_be_bytes());
    v.extend_from_slice(&offset.to_be_bytes()[1..]);
    v.extend_from_slice(&frag_len.to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// Message types a peer of this role sends in plaintext (RFC 5246 §7.4, RFC 6347 §4.2.1).
fn peer_sends(to: Role, mt: u8) -> bool {
    match to {
        Role::Server => matches!(mt, 1 | 11 | 15 | 16),
        Role::Client => matches!(mt, 2 | 3 | 11 | 12 | 13 | 14),
    }
}

/// A message type the peer of `to` does send (so that only the chosen rule is broken).
fn plausible_type(to: Role, b: u8) -> u8 {
    let types: &[u8] = match to {
        Role::Server => &[1, 11, 15, 16],
        Role::Client => &[2, 11, 12, 13, 14],
    };
    types[usize::from(b) % types.len()]
}

/// Number of kinds of `malformed` below; the last two break the framing of the whole datagram.
/// Kinds 14 and 15 are made in `interleave` from the genuine flight.
const KINDS: u8 = 16;
const MALFORMED_KINDS: u8 = 14;
const FRAMING_KINDS: [u8; 2] = [12, 13];

/// One malformed record for an endpoint of role `to`, of kind `kind`.
fn malformed(kind: u8, to: Role, inp: &mut Input<'_>) -> Vec<u8> {
    let seq = inp.u16();
    let msg_seq = u16::from(inp.u8() % 8);
    let mt = plausible_type(to, inp.u8());
    let payload_len = usize::from(inp.u8());
    match kind {
        // fragment_offset + fragment_length past the message length.
        0 => {
            let msg_len = u32::from(inp.u16()) % MAX_MSG;
            let frag_len = u32::try_from(payload_len).unwrap();
            let offset =
                (msg_len.saturating_sub(frag_len) + 1 + u32::from(inp.u8())).min(0xff_ffff);
            let body = inp.bytes(payload_len);
            rec(
                22,
                V12,
                0,
                seq,
                &frag(mt, msg_len, msg_seq, offset, frag_len, &body),
            )
        }
        // fragment_length longer than what the record holds.
        1 => {
            let body = inp.bytes(payload_len);
            let frag_len = u32::try_from(payload_len).unwrap() + 1 + u32::from(inp.u16());
            let msg_len = frag_len + u32::from(inp.u8());
            rec(
                22,
                V12,
                0,
                seq,
                &frag(mt, msg_len, msg_seq, 0, frag_len, &body),
            )
        }
        // Handshake message length above the limit (up to 2^24 - 1).
        2 => {
            let msg_len = MAX_MSG + 1 + (u32::from(inp.u16()) << 8 | u32::from(inp.u8()));
            let msg_len = msg_len.min(0xff_ffff);
            let body = inp.bytes(payload_len);
            let frag_len = u32::try_from(payload_len).unwrap();
            let offset = u32::from(inp.u16()).min(msg_len - frag_len);
            rec(
                22,
                V12,
                0,
                seq,
                &frag(mt, msg_len, msg_seq, offset, frag_len, &body),
            )
        }
        // A message type the peer's role never sends (HelloRequest, our own role's, unknown).
        3 => {
            let mut t = inp.u8();
            while peer_sends(to, t) {
                t = t.wrapping_add(1);
            }
            let body = inp.bytes(payload_len);
            let n = u32::try_from(payload_len).unwrap();
            rec(22, V12, 0, seq, &frag(t, n, msg_seq, 0, n, &body))
        }
        // A content type DTLS 1.2 does not define here (not 20-23, not 25).
        4 => {
            let mut t = inp.u8();
            while matches!(t, 20..=23 | 25) {
                t = t.wrapping_add(7);
            }
            rec(t, V12, inp.u16() % 2, seq, &inp.bytes(payload_len))
        }
        // A version other than DTLS 1.2 (and DTLS 1.0 in epoch 1).
        5 => {
            let epoch = inp.u16() % 2;
            let mut v = [inp.u8(), inp.u8()];
            while v == V12 || (v == [0xfe, 0xff] && epoch == 0) {
                v[1] = v[1].wrapping_add(3);
            }
            let body = inp.bytes(payload_len);
            let n = u32::try_from(payload_len).unwrap();
            rec(22, v, epoch, seq, &frag(mt, n, msg_seq, 0, n, &body))
        }
        // An epoch above 1.
        6 => {
            let epoch = inp.u16().max(2);
            let ty = 20 + inp.u8() % 4;
            rec(ty, V12, epoch, seq, &inp.bytes(payload_len))
        }
        // Plaintext application data.
        7 => rec(23, V12, 0, seq, &inp.bytes(payload_len)),
        // A ChangeCipherSpec that is not the single byte 1.
        8 => {
            let mut body = inp.bytes(payload_len % 4);
            if body == [1] {
                body[0] = 2;
            }
            rec(20, V12, 0, seq, &body)
        }
        // An alert that is not two bytes with level 1 or 2.
        9 => {
            let mut body = inp.bytes(payload_len % 5);
            if let [level @ (1 | 2), _] = body.as_mut_slice() {
                *level += 2;
            }
            rec(21, V12, 0, seq, &body)
        }
        // An empty handshake record or a fragment header cut short (1..=11 bytes).
        10 => rec(22, V12, 0, seq, &inp.bytes(payload_len % 12)),
        // HelloVerifyRequest (to a client: cookie length disagreeing with the message; to a
        // server: a message it never gets).
        11 => {
            let cookie = inp.bytes(payload_len);
            let mut cookie_len = inp.u8();
            if usize::from(cookie_len) == cookie.len() && to == Role::Client {
                cookie_len = cookie_len.wrapping_add(1);
            }
            let mut body = vec![0xfe, 0xff, cookie_len];
            body.extend_from_slice(&cookie);
            let n = u32::try_from(body.len()).unwrap();
            rec(22, V12, 0, seq, &frag(3, n, msg_seq, 0, n, &body))
        }
        // tls12_cid record (RFC 9146) while no connection id was negotiated.
        12 => rec(25, V12, inp.u16() % 2, seq, &inp.bytes(payload_len)),
        // Broken framing: a header cut short, or a length past the end of the datagram.
        _ => {
            let body = inp.bytes(payload_len);
            let mut r = rec(20 + inp.u8() % 4, V12, 0, seq, &body);
            let cut = usize::from(inp.u8()) % 13;
            if inp.u8() % 2 == 0 {
                r.truncate(cut.max(1));
            } else {
                let claimed = u16::try_from(body.len())
                    .unwrap()
                    .saturating_add(1 + u16::from(inp.u8()));
                r[11..13].copy_from_slice(&claimed.to_be_bytes());
            }
            r
        }
    }
}

/// (type, message length, message_seq) of the plaintext handshake messages of a flight.
fn messages(flight: &[Bytes]) -> Vec<(u8, u32, u16)> {
    let mut out = Vec::new();
    for d in flight {
        let mut at = 0usize;
        while at + 13 <= d.len() {
            let len = usize::from(u16::from_be_bytes([d[at + 11], d[at + 12]]));
            let body = &d[at + 13..(at + 13 + len).min(d.len())];
            if d[at] == 22 && d[at + 3..at + 5] == [0, 0] && body.len() >= 12 {
                let msg_len = u32::from_be_bytes([0, body[1], body[2], body[3]]);
                let m = (body[0], msg_len, u16::from_be_bytes([body[4], body[5]]));
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            at += 13 + len;
        }
    }
    out
}

/// Datagrams to deliver to `to` before (or around) the genuine flight `genuine`; returns the
/// least and most drops they must cause.
fn interleave(inp: &mut Input<'_>, to: Role, genuine: Vec<Bytes>) -> (Vec<Bytes>, u64, u64) {
    let mut out = Vec::new();
    let mut expected = 0u64;
    let mut maybe = 0u64;
    let mut genuine = genuine;
    let msgs = messages(&genuine);
    let final_flight = genuine.iter().any(|d| d.get(3..5) == Some(&[0, 1]));
    for _ in 0..inp.u8() % 4 {
        let kind = inp.u8() % KINDS;
        if kind == 14 {
            // A forged partial fragment of a genuine message, alone before the flight.
            let Some(&(mt, msg_len, msg_seq)) =
                (!msgs.is_empty()).then(|| &msgs[usize::from(inp.u8()) % msgs.len()])
            else {
                continue;
            };
            if msg_len < 2 {
                continue;
            }
            let offset = u32::from(inp.u16()) % msg_len;
            let room = msg_len - offset - u32::from(offset == 0);
            let n = 1 + u32::from(inp.u16()) % room;
            let body = inp.bytes(n as usize);
            out.push(Bytes::from(rec(
                22,
                V12,
                0,
                inp.u16(),
                &frag(mt, msg_len, msg_seq, offset, n, &body),
            )));
            maybe += 1;
            continue;
        }
        if kind == 15 {
            // A plaintext fatal alert to a client that sent its ChangeCipherSpec.
            if to == Role::Client && final_flight {
                out.push(Bytes::from(rec(21, V12, 0, inp.u16(), &[2, inp.u8()])));
                expected += 1;
            }
            continue;
        }
        let placement = inp.u8() % 4;
        let first = malformed(kind, to, inp);
        if FRAMING_KINDS.contains(&kind) || placement == 0 || genuine.is_empty() {
            // Alone in its datagram; a second, third record may follow in it (placed last if it
            // breaks the framing, so that it breaks nothing but its own datagram).
            let mut d = Vec::new();
            let mut bad = vec![(kind, first)];
            for _ in 0..placement % 3 {
                let k = inp.u8() % MALFORMED_KINDS;
                bad.push((k, malformed(k, to, inp)));
            }
            bad.sort_by_key(|(k, _)| FRAMING_KINDS.contains(k));
            let framing = bad.iter().any(|(k, _)| FRAMING_KINDS.contains(k));
            expected += if framing { 1 } else { bad.len() as u64 };
            for (_, r) in bad {
                d.extend_from_slice(&r);
            }
            out.push(Bytes::from(d));
        } else {
            // Glued to a genuine datagram of the flight: only this record may be dropped.
            let i = usize::from(inp.u8()) % genuine.len();
            let g = &genuine[i];
            let glued = if placement == 1 {
                [&first[..], &g[..]].concat()
            } else {
                [&g[..], &first[..]].concat()
            };
            genuine[i] = Bytes::from(glued);
            expected += 1;
        }
    }
    out.extend(genuine);
    (out, expected, expected + maybe)
}

fn keys(d: &mut Dtls, k: &mut Option<SrtpKeyingMaterial>) {
    while let Some(ev) = d.poll_event() {
        if let Event::Connected { srtp, .. } = ev {
            *k = srtp;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut inp = Input(data);
    let now = Instant::now();
    let mut client = Dtls::new(&f.client, Role::Client, Some(f.server_fp.clone()), now).unwrap();
    let server_ctx = if inp.u8() % 2 == 0 {
        &f.server
    } else {
        &f.server_cookie
    };
    let mut server = Dtls::new(server_ctx, Role::Server, Some(f.client_fp.clone()), now).unwrap();
    let (mut expect_c, mut expect_s) = ((0u64, 0u64), (0u64, 0u64));
    let (mut keys_c, mut keys_s) = (None, None);
    for _ in 0..8 {
        let flight: Vec<Bytes> = std::iter::from_fn(|| client.poll_transmit()).collect();
        if !flight.is_empty() && !server.is_connected() {
            let (datagrams, lo, hi) = interleave(&mut inp, Role::Server, flight);
            expect_s = (expect_s.0 + lo, expect_s.1 + hi);
            for d in datagrams {
                server.handle_receive(now, d).unwrap();
            }
        } else {
            for d in flight {
                server.handle_receive(now, d).unwrap();
            }
        }
        keys(&mut server, &mut keys_s);
        let flight: Vec<Bytes> = std::iter::from_fn(|| server.poll_transmit()).collect();
        if !flight.is_empty() && !client.is_connected() {
            let (datagrams, lo, hi) = interleave(&mut inp, Role::Client, flight);
            expect_c = (expect_c.0 + lo, expect_c.1 + hi);
            for d in datagrams {
                client.handle_receive(now, d).unwrap();
            }
        } else {
            for d in flight {
                client.handle_receive(now, d).unwrap();
            }
        }
        keys(&mut client, &mut keys_c);
        if keys_c.is_some() && keys_s.is_some() {
            break;
        }
    }
    assert!(
        keys_c.is_some() && keys_c == keys_s,
        "genuine handshake did not complete: client {:?} {:?}, server {:?} {:?}",
        client.state(),
        client.stats(),
        server.state(),
        server.stats()
    );
    for (d, (lo, hi)) in [(&client, expect_c), (&server, expect_s)] {
        let s = d.stats();
        let dropped = s.records_dropped + s.datagrams_dropped;
        assert!(
            (lo..=hi).contains(&dropped),
            "{:?}: {dropped} drops, expected {lo}..={hi}: {s:?}",
            d.role()
        );
    }
});
