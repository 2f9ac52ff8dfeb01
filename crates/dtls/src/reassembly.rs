//! Reassembles the peer's plaintext handshake messages in Rust and hands OpenSSL only complete,
//! consistent, well-formed messages, in order, so that a forged handshake message or fragment
//! whose headers are valid (src/guard.rs passed it) cannot end a handshake the genuine flight
//! would complete.
//!
//! Left to OpenSSL, the handshake fails on all of these (RFC 6347 §4.1.2.7 says invalid records
//! SHOULD be silently discarded instead):
//! * a complete message with the expected `message_seq` but a body that does not parse as its
//!   type (OpenSSL answers decode_error and fails) — here the body is parsed first
//!   ([`well_formed`]) and a malformed message is dropped, counted
//!   ([`DropReason::MalformedMessage`]) and the genuine one waited for;
//! * a forged *partial* fragment of the expected message: OpenSSL copies every fragment into
//!   one buffer, so a forged fragment whose bytes disagree with the genuine ones (or whose
//!   message length differs) corrupts or aborts the reassembly. Here fragments are kept per
//!   candidate message: a fragment joins every candidate whose type, length and overlapping
//!   bytes agree with it, and starts a candidate of its own otherwise (RFC 6347 §4.2.3 lets
//!   fragments overlap, so overlap alone is no conflict). The first candidate to be complete
//!   and well formed is delivered; when one fragment completes several, the newest candidate
//!   wins (a conflicting fragment arriving after a partial set supersedes it, as a
//!   retransmission does); the others are discarded and counted
//!   ([`DropReason::ConflictingFragment`]). Incomplete candidates are also discarded when our
//!   retransmission timer fires ([`Reassembly::discard_partial`]): the peer then resends its
//!   whole flight (RFC 6347 §4.2.4);
//! * a complete, well-formed message of a type that cannot come next in the handshakes ferrtc
//!   does ([`Reassembly::may_follow`], RFC 5246 §7.3) is dropped ([`DropReason::UnexpectedMessage`])
//!   instead of making OpenSSL answer unexpected_message;
//! * a future message (a `message_seq` above the next one) is held here too, not in OpenSSL,
//!   whose out-of-order queue keeps the first copy of a sequence number and ignores the rest;
//! * a message whose `message_seq` was already handed to OpenSSL: a retransmission (RFC 6347
//!   §4.2.4), passed on unchanged when it agrees with the first copy (OpenSSL ignores it, or
//!   answers a retransmitted ClientHello), and dropped and counted
//!   ([`DropReason::Retransmission`]) when its type, length or bytes differ: the peer never
//!   changes a message it retransmits.
//!
//! What OpenSSL then reads is one record per complete message (or per 15000 bytes of it, each
//! a fragment), so their record sequence numbers are ours: every epoch-0 record handed to
//! OpenSSL during the handshake is renumbered from a counter of our own, which keeps them
//! unique for OpenSSL's replay window (RFC 6347 §4.1.2.6) whatever the peer's numbers were.
//! Epoch-0 records carry no MAC (the null cipher), so their numbers mean nothing else.
//!
//! Memory is bounded: at most [`MAX_CANDIDATES`] candidates of at most [`MAX_PARTS`] fragments,
//! holding copies (never the received datagrams) of at most four times
//! `max_handshake_message_len` bytes in all, the oldest candidate going first; a fragment that
//! adds no byte to a candidate is not kept; message sequence numbers more than [`WINDOW`] ahead
//! are dropped.
//!
//! What stays out of reach without authentication (the DTLS 1.2 handshake is authenticated only
//! by its Finished messages): a forged message that is complete, well formed and arrives before
//! the genuine one — OpenSSL then fails the handshake on what it says (a cipher suite we never
//! offered, a signature that does not verify), as every DTLS 1.2 stack would.

use bytes::{BufMut, Bytes, BytesMut};

use crate::guard::{DropReason, Stats};
use crate::record::HEADER_LEN;

/// Handshake fragment header (RFC 6347 §4.2.2).
const FRAGMENT_HEADER: usize = 12;
/// Most candidate messages held at once.
pub(crate) const MAX_CANDIDATES: usize = 16;
/// Most fragments held for one candidate message (a 64 KiB message in 200-byte fragments
/// takes 330).
pub(crate) const MAX_PARTS: usize = 512;
/// Message sequence numbers held ahead of the next one.
pub(crate) const WINDOW: u16 = 8;
/// Largest fragment we put in one record for OpenSSL (well under 2^14, RFC 5246 §6.2.1).
const CHUNK: usize = 15_000;
/// Largest datagram we hand OpenSSL (its DTLS read buffer holds one record of 2^14 + overhead).
const MAX_DATAGRAM: usize = 16_000;

const HANDSHAKE: u8 = 22;

mod msg {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const HELLO_VERIFY_REQUEST: u8 = 3;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CERTIFICATE_VERIFY: u8 = 15;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// One message the peer may be sending, put together from the fragments that agree.
#[derive(Debug)]
struct Candidate {
    seq: u16,
    mt: u8,
    len: usize,
    /// (offset, bytes) as received; overlapping parts agree.
    parts: Vec<(usize, Bytes)>,
    /// When it was started (a counter), for "newest wins" and "oldest goes".
    born: u64,
}

impl Candidate {
    /// Whether `data` at `offset` agrees with every part it overlaps.
    fn agrees(&self, offset: usize, data: &[u8]) -> bool {
        let end = offset.saturating_add(data.len());
        self.parts.iter().all(|(o, p)| {
            let (lo, hi) = (offset.max(*o), end.min(o.saturating_add(p.len())));
            if lo >= hi {
                return true;
            }
            let ours = p.get(lo - o..hi - o);
            let theirs = data.get(lo - offset..hi - offset);
            ours.is_some() && ours == theirs
        })
    }

    /// Whether the parts already hold every byte of `offset..end`.
    fn covers(&self, offset: usize, end: usize) -> bool {
        let mut sorted: Vec<(usize, usize)> = self
            .parts
            .iter()
            .map(|(o, p)| (*o, o.saturating_add(p.len())))
            .collect();
        sorted.sort_unstable();
        let mut at = offset;
        for (o, e) in sorted {
            if at >= end {
                break;
            }
            if o <= at {
                at = at.max(e);
            }
        }
        at >= end
    }

    fn bytes_held(&self) -> usize {
        self.parts.iter().map(|(_, p)| p.len()).sum()
    }

    /// The whole message, if every byte of it arrived.
    fn assemble(&self) -> Option<Vec<u8>> {
        let mut sorted: Vec<&(usize, Bytes)> = self.parts.iter().collect();
        sorted.sort_by_key(|(o, _)| *o);
        let mut covered = 0usize;
        for (o, p) in &sorted {
            if *o > covered {
                return None;
            }
            covered = covered.max(o.saturating_add(p.len()));
        }
        if covered < self.len {
            return None;
        }
        let mut out = vec![0u8; self.len];
        for (o, p) in sorted {
            if let Some(dst) = out.get_mut(*o..o.saturating_add(p.len())) {
                dst.copy_from_slice(p);
            }
        }
        Some(out)
    }
}

/// A message handed to OpenSSL: its first copy, to compare retransmissions with.
#[derive(Debug)]
struct Delivered {
    seq: u16,
    mt: u8,
    body: Vec<u8>,
}

/// The handshake messages of the peer on their way to OpenSSL (see the module documentation).
#[derive(Debug)]
pub(crate) struct Reassembly {
    /// The peer's next message_seq not yet handed to OpenSSL.
    next_seq: u16,
    delivered: Vec<Delivered>,
    candidates: Vec<Candidate>,
    born: u64,
    /// Record sequence number of the next epoch-0 record handed to OpenSSL.
    out_seq: u64,
    /// Only ECDHE key exchanges are configured: ServerKeyExchange and ClientKeyExchange bodies
    /// can be checked, and a ServerKeyExchange always follows the server's Certificate.
    ecdhe_only: bool,
    /// The peer is the client (we are the server).
    peer_is_client: bool,
}

/// A fragment read from a record.
struct Fragment {
    mt: u8,
    len: usize,
    seq: u16,
    offset: usize,
    data: Bytes,
}

/// The fragments of a handshake record body (the guard already checked their headers; anything
/// that does not parse ends the list).
fn fragments(body: &Bytes) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(h) = body.get(at..at.saturating_add(FRAGMENT_HEADER)) {
        let (Some(&mt), Some(l), Some(&[q0, q1]), Some(o), Some(fl)) = (
            h.first(),
            h.get(1..4),
            h.get(4..6),
            h.get(6..9),
            h.get(9..12),
        ) else {
            break;
        };
        let n = be24(fl);
        let start = at + FRAGMENT_HEADER;
        let Some(end) = start.checked_add(n).filter(|e| *e <= body.len()) else {
            break;
        };
        out.push(Fragment {
            mt,
            len: be24(l),
            seq: u16::from_be_bytes([q0, q1]),
            offset: be24(o),
            data: body.slice(start..end),
        });
        at = end;
    }
    out
}

fn be24(b: &[u8]) -> usize {
    match b {
        &[a, b, c] => (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c),
        _ => usize::MAX,
    }
}

fn put24(out: &mut BytesMut, v: usize) {
    let v = u32::try_from(v).unwrap_or(0xff_ffff).min(0xff_ffff);
    out.put_slice(v.to_be_bytes().get(1..).unwrap_or_default());
}

impl Reassembly {
    pub(crate) fn new(cipher_list: &str, peer_is_client: bool) -> Self {
        let ecdhe_only = cipher_list
            .split([':', ',', ' '])
            .filter(|s| !s.is_empty())
            .all(|s| s.starts_with("ECDHE-"));
        Reassembly {
            next_seq: 0,
            delivered: Vec::new(),
            candidates: Vec::new(),
            born: 0,
            out_seq: 0,
            ecdhe_only,
            peer_is_client,
        }
    }

    /// Discards the candidates that are not complete (our retransmission timer fired: the peer
    /// resends its whole flight).
    pub(crate) fn discard_partial(&mut self, stats: &mut Stats) {
        let before = self.candidates.len();
        self.candidates.retain(|c| c.assemble().is_some());
        for _ in self.candidates.len()..before {
            stats.count(DropReason::ConflictingFragment);
        }
    }

    /// The datagrams OpenSSL reads in place of `datagram` (already filtered by the guard): its
    /// records, with epoch-0 handshake fragments replaced by the complete messages they
    /// finish, in order. Empty when nothing is left for OpenSSL.
    pub(crate) fn process(
        &mut self,
        datagram: &Bytes,
        max_message_len: usize,
        stats: &mut Stats,
    ) -> Vec<Bytes> {
        let mut out = Out::default();
        let mut at = 0usize;
        while let Some(header) = datagram.get(at..at.saturating_add(HEADER_LEN)) {
            let (Some(&ty), Some(&[e0, e1]), Some(&[l0, l1])) =
                (header.first(), header.get(3..5), header.get(11..13))
            else {
                break;
            };
            let end = at + HEADER_LEN + usize::from(u16::from_be_bytes([l0, l1]));
            let Some(record) = datagram.get(at..end) else {
                break;
            };
            let epoch = u16::from_be_bytes([e0, e1]);
            if epoch != 0 {
                // Encrypted: OpenSSL authenticates it.
                out.push_verbatim(record);
            } else if ty != HANDSHAKE {
                // ChangeCipherSpec, alert: renumbered into our epoch-0 sequence.
                let body = record.get(HEADER_LEN..).unwrap_or_default();
                out.push_record(header, &mut self.out_seq, body);
            } else {
                let body = datagram.slice(at + HEADER_LEN..end);
                let mut passed = BytesMut::new();
                for f in fragments(&body) {
                    self.fragment(f, max_message_len, stats, &mut passed, &mut out, header);
                }
                if !passed.is_empty() {
                    out.push_record(header, &mut self.out_seq, &passed);
                }
            }
            at = end;
        }
        out.finish()
    }

    /// One fragment: compared with the first copy if its message was delivered, held as part of
    /// a candidate otherwise; complete messages go to `out`.
    fn fragment(
        &mut self,
        f: Fragment,
        max_message_len: usize,
        stats: &mut Stats,
        passed: &mut BytesMut,
        out: &mut Out,
        header: &[u8],
    ) {
        if f.seq < self.next_seq {
            let same = self.delivered.iter().any(|d| {
                d.seq == f.seq
                    && d.mt == f.mt
                    && d.body.len() == f.len
                    && d.body.get(f.offset..f.offset.saturating_add(f.data.len()))
                        == Some(&f.data[..])
            });
            if same {
                // A retransmission: OpenSSL recognises it as such.
                put_fragment(passed, f.mt, f.len, f.seq, f.offset, &f.data);
            } else {
                tracing::debug!(
                    seq = f.seq,
                    mt = f.mt,
                    "dtls: retransmitted message differs from the first copy, dropped"
                );
                stats.count(DropReason::Retransmission);
            }
            return;
        }
        if f.seq - self.next_seq > WINDOW || f.len > max_message_len {
            stats.count(DropReason::UnexpectedMessage);
            return;
        }
        // Held as a copy: a slice would pin the whole received datagram.
        let data = Bytes::copy_from_slice(&f.data);
        let end = f.offset.saturating_add(data.len());
        let mut joined = false;
        for c in self
            .candidates
            .iter_mut()
            .filter(|c| c.seq == f.seq && c.mt == f.mt && c.len == f.len)
        {
            if c.agrees(f.offset, &data) {
                // Bytes it already has add nothing (a duplicate, an overlapping resend).
                if !c.covers(f.offset, end) && c.parts.len() < MAX_PARTS {
                    c.parts.push((f.offset, data.clone()));
                }
                joined = true;
            }
        }
        if !joined {
            if self.candidates.len() >= MAX_CANDIDATES {
                // The oldest goes: a flood of forgeries cannot keep the genuine flight out for
                // longer than it keeps flooding.
                if let Some(i) = (0..self.candidates.len())
                    .min_by_key(|&i| self.candidates.get(i).map_or(u64::MAX, |c| c.born))
                {
                    self.candidates.swap_remove(i);
                    stats.count(DropReason::ConflictingFragment);
                }
            }
            self.born += 1;
            self.candidates.push(Candidate {
                seq: f.seq,
                mt: f.mt,
                len: f.len,
                parts: vec![(f.offset, data)],
                born: self.born,
            });
        }
        // At most what four whole messages take (overlapping forgeries cannot grow a
        // candidate past it either): the oldest candidates go first.
        let max_held = max_message_len.saturating_mul(4);
        while self.held() > max_held {
            let Some(i) = (0..self.candidates.len())
                .min_by_key(|&i| self.candidates.get(i).map_or(u64::MAX, |c| c.born))
            else {
                break;
            };
            self.candidates.swap_remove(i);
            stats.count(DropReason::ConflictingFragment);
        }
        self.deliver_ready(stats, out, header);
    }

    /// Hands OpenSSL every message that is next in order and complete.
    fn deliver_ready(&mut self, stats: &mut Stats, out: &mut Out, header: &[u8]) {
        loop {
            let seq = self.next_seq;
            // Complete candidates for the next message, newest first.
            let mut ready: Vec<(u64, Vec<u8>)> = self
                .candidates
                .iter()
                .filter(|c| c.seq == seq)
                .filter_map(|c| c.assemble().map(|b| (c.born, b)))
                .collect();
            if ready.is_empty() {
                return;
            }
            ready.sort_by_key(|(born, _)| std::cmp::Reverse(*born));
            let mut chosen = None;
            for (born, body) in ready {
                let mt = self
                    .candidates
                    .iter()
                    .find(|c| c.born == born)
                    .map_or(0, |c| c.mt);
                if chosen.is_some() {
                    continue;
                }
                if !self.may_follow(mt) {
                    tracing::debug!(seq, mt, "dtls: handshake message out of place dropped");
                    stats.count(DropReason::UnexpectedMessage);
                    self.candidates.retain(|c| c.born != born);
                } else if well_formed(mt, &body, self.ecdhe_only) {
                    chosen = Some((born, mt, body));
                } else {
                    tracing::debug!(seq, mt, "dtls: malformed handshake message dropped");
                    stats.count(DropReason::MalformedMessage);
                    self.candidates.retain(|c| c.born != born);
                }
            }
            let Some((_, mt, body)) = chosen else {
                // Every complete one was malformed: wait for the genuine one.
                return;
            };
            let before = self.candidates.len();
            self.candidates.retain(|c| c.seq != seq);
            for _ in 1..before - self.candidates.len() {
                stats.count(DropReason::ConflictingFragment);
            }
            for (i, chunk) in body.chunks(CHUNK).enumerate() {
                let mut rec = BytesMut::with_capacity(FRAGMENT_HEADER + chunk.len());
                put_fragment(&mut rec, mt, body.len(), seq, i * CHUNK, chunk);
                out.push_record(header, &mut self.out_seq, &rec);
            }
            if body.is_empty() {
                let mut rec = BytesMut::with_capacity(FRAGMENT_HEADER);
                put_fragment(&mut rec, mt, 0, seq, 0, &[]);
                out.push_record(header, &mut self.out_seq, &rec);
            }
            self.delivered.push(Delivered { seq, mt, body });
            self.next_seq = seq.saturating_add(1);
        }
    }

    /// Whether a message of type `mt` may follow the peer's last delivered message in the
    /// handshakes ferrtc does (RFC 5246 §7.3 figure 1, RFC 6347 §4.2.1): a full handshake with
    /// certificates on both sides (we always send a CertificateRequest and require the client's
    /// certificate), ECDHE when `ecdhe_only`.
    fn may_follow(&self, mt: u8) -> bool {
        use msg::*;
        let prev = self.delivered.last().map(|d| d.mt);
        if self.peer_is_client {
            return match prev {
                None => mt == CLIENT_HELLO,
                // A second ClientHello answers our HelloVerifyRequest (the guard checks its seq).
                Some(CLIENT_HELLO) => matches!(mt, CLIENT_HELLO | CERTIFICATE),
                Some(CERTIFICATE) => mt == CLIENT_KEY_EXCHANGE,
                Some(CLIENT_KEY_EXCHANGE) => mt == CERTIFICATE_VERIFY,
                _ => false,
            };
        }
        match prev {
            None | Some(HELLO_VERIFY_REQUEST) => matches!(mt, SERVER_HELLO | HELLO_VERIFY_REQUEST),
            Some(SERVER_HELLO) => mt == CERTIFICATE,
            Some(CERTIFICATE) if self.ecdhe_only => mt == SERVER_KEY_EXCHANGE,
            Some(CERTIFICATE) => matches!(
                mt,
                SERVER_KEY_EXCHANGE | CERTIFICATE_REQUEST | SERVER_HELLO_DONE
            ),
            Some(SERVER_KEY_EXCHANGE) => matches!(mt, CERTIFICATE_REQUEST | SERVER_HELLO_DONE),
            Some(CERTIFICATE_REQUEST) => mt == SERVER_HELLO_DONE,
            _ => false,
        }
    }

    /// Bytes held in candidates.
    fn held(&self) -> usize {
        self.candidates.iter().map(Candidate::bytes_held).sum()
    }
}

fn put_fragment(out: &mut BytesMut, mt: u8, len: usize, seq: u16, offset: usize, data: &[u8]) {
    out.put_u8(mt);
    put24(out, len);
    out.put_u16(seq);
    put24(out, offset);
    put24(out, data.len());
    out.put_slice(data);
}

/// The datagrams for OpenSSL being built.
#[derive(Default)]
struct Out {
    done: Vec<Bytes>,
    current: BytesMut,
}

impl Out {
    fn room_for(&mut self, n: usize) {
        if !self.current.is_empty() && self.current.len() + n > MAX_DATAGRAM {
            self.done.push(std::mem::take(&mut self.current).freeze());
        }
    }

    fn push_verbatim(&mut self, record: &[u8]) {
        self.room_for(record.len());
        self.current.extend_from_slice(record);
    }

    /// A plaintext record with `header`'s type and version, epoch 0 and our next sequence
    /// number.
    fn push_record(&mut self, header: &[u8], out_seq: &mut u64, body: &[u8]) {
        self.room_for(HEADER_LEN + body.len());
        self.current
            .put_slice(header.get(..3).unwrap_or(&[HANDSHAKE, 0xfe, 0xfd]));
        self.current.put_u16(0);
        self.current
            .put_slice(out_seq.to_be_bytes().get(2..).unwrap_or_default());
        *out_seq = out_seq.saturating_add(1);
        self.current
            .put_u16(u16::try_from(body.len()).unwrap_or(u16::MAX));
        self.current.put_slice(body);
    }

    fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.done.push(self.current.freeze());
        }
        self.done
    }
}

/// A cursor over a message body; every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1)?.first().map(|&b| usize::from(b))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(be16)
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3).map(be24)
    }
    /// `opaque x<lo..hi>` with a one-byte length.
    fn vec8(&mut self, lo: usize, hi: usize) -> Option<&'a [u8]> {
        let n = self.u8()?;
        (lo..=hi).contains(&n).then_some(())?;
        self.take(n)
    }
    fn vec16(&mut self, lo: usize, hi: usize) -> Option<&'a [u8]> {
        let n = self.u16()?;
        (lo..=hi).contains(&n).then_some(())?;
        self.take(n)
    }
    fn vec24(&mut self, lo: usize, hi: usize) -> Option<&'a [u8]> {
        let n = self.u24()?;
        (lo..=hi).contains(&n).then_some(())?;
        self.take(n)
    }
    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

fn be16(b: &[u8]) -> usize {
    match b {
        &[a, b] => usize::from(u16::from_be_bytes([a, b])),
        _ => usize::MAX,
    }
}

/// Whether a complete handshake message body parses as its type (RFC 5246 §7.4, RFC 6347
/// §4.2.1, RFC 8422 §5.4/§5.7 for the ECDHE key exchange). Types not listed pass (the guard
/// already dropped those the peer never sends).
pub(crate) fn well_formed(mt: u8, body: &[u8], ecdhe_only: bool) -> bool {
    let mut r = Reader(body);
    let ok = match mt {
        // client_version random session_id<0..32> cookie<0..2^8-1>
        // cipher_suites<2..2^16-2> compression_methods<1..2^8-1> [extensions]
        msg::CLIENT_HELLO => (|| {
            r.take(2 + 32)?;
            r.vec8(0, 32)?;
            r.vec8(0, 255)?;
            let suites = r.vec16(2, 0xfffe)?;
            (suites.len() % 2 == 0).then_some(())?;
            r.vec8(1, 255)?;
            extensions(&mut r)
        })(),
        // server_version random session_id<0..32> cipher_suite compression_method [extensions]
        msg::SERVER_HELLO => (|| {
            r.take(2 + 32)?;
            r.vec8(0, 32)?;
            r.take(2 + 1)?;
            extensions(&mut r)
        })(),
        // server_version cookie<0..2^8-1>
        msg::HELLO_VERIFY_REQUEST => (|| {
            r.take(2)?;
            r.vec8(0, 255)?;
            r.end()
        })(),
        // certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>, each a DER SEQUENCE.
        msg::CERTIFICATE => (|| {
            let list = r.vec24(0, 0xff_ffff)?;
            r.end()?;
            let mut l = Reader(list);
            while !l.0.is_empty() {
                let cert = l.vec24(1, 0xff_ffff)?;
                (cert.first() == Some(&0x30)).then_some(())?;
            }
            Some(())
        })(),
        // ECDHE (RFC 8422 §5.4): curve_type named_curve(3), namedcurve, point<1..2^8-1>,
        // then the signature: SignatureAndHashAlgorithm, signature<0..2^16-1>.
        msg::SERVER_KEY_EXCHANGE if ecdhe_only => (|| {
            (r.u8()? == 3).then_some(())?;
            r.take(2)?;
            r.vec8(1, 255)?;
            r.take(2)?;
            r.vec16(0, 0xffff)?;
            r.end()
        })(),
        // certificate_types<1..2^8-1> supported_signature_algorithms<2..2^16-2>
        // certificate_authorities<0..2^16-1> of DistinguishedName<1..2^16-1>.
        msg::CERTIFICATE_REQUEST => (|| {
            r.vec8(1, 255)?;
            let algs = r.vec16(2, 0xfffe)?;
            (algs.len() % 2 == 0).then_some(())?;
            let cas = r.vec16(0, 0xffff)?;
            r.end()?;
            let mut c = Reader(cas);
            while !c.0.is_empty() {
                c.vec16(1, 0xffff)?;
            }
            Some(())
        })(),
        msg::SERVER_HELLO_DONE => r.end(),
        // digitally-signed: SignatureAndHashAlgorithm, signature<0..2^16-1>.
        msg::CERTIFICATE_VERIFY => (|| {
            r.take(2)?;
            r.vec16(0, 0xffff)?;
            r.end()
        })(),
        // ECDHE (RFC 8422 §5.7): ClientECDiffieHellmanPublic, point<1..2^8-1>.
        msg::CLIENT_KEY_EXCHANGE if ecdhe_only => (|| {
            r.vec8(1, 255)?;
            r.end()
        })(),
        _ => Some(()),
    };
    ok.is_some()
}

/// Optional `Extension extensions<0..2^16-1>` at the end of a hello (RFC 5246 §7.4.1.2,
/// §7.4.1.4: no two of the same type).
fn extensions(r: &mut Reader<'_>) -> Option<()> {
    if r.0.is_empty() {
        return Some(());
    }
    let block = r.vec16(0, 0xffff)?;
    r.end()?;
    let mut e = Reader(block);
    let mut seen: Vec<usize> = Vec::new();
    while !e.0.is_empty() {
        let ty = e.u16()?;
        e.vec16(0, 0xffff)?;
        if seen.contains(&ty) {
            return None;
        }
        seen.push(ty);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, body: &[u8]) -> Vec<u8> {
        let mut v = vec![22, 0xfe, 0xfd, 0, 0];
        v.extend_from_slice(&seq.to_be_bytes()[2..]);
        v.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn frag(mt: u8, len: usize, seq: u16, offset: usize, data: &[u8]) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_fragment(&mut b, mt, len, seq, offset, data);
        b.to_vec()
    }

    /// A well-formed ServerHelloDone-free flight needs messages that parse: a Certificate
    /// message holding one "certificate" of `n` bytes starting with 0x30.
    fn certificate(n: usize, fill: u8) -> Vec<u8> {
        let mut cert = vec![fill; n];
        cert[0] = 0x30;
        let mut v = Vec::new();
        v.extend_from_slice(&u32::try_from(n + 3).unwrap().to_be_bytes()[1..]);
        v.extend_from_slice(&u32::try_from(n).unwrap().to_be_bytes()[1..]);
        v.extend_from_slice(&cert);
        v
    }

    /// What OpenSSL would read: (type, seq, body) of each complete message, and record seqs.
    type Messages = Vec<(u8, u16, Vec<u8>)>;

    fn delivered(out: &[Bytes]) -> (Messages, Vec<u64>) {
        let mut msgs = Vec::new();
        let mut seqs = Vec::new();
        for d in out {
            let mut at = 0;
            while at < d.len() {
                let len = usize::from(u16::from_be_bytes([d[at + 11], d[at + 12]]));
                let mut s = [0u8; 8];
                s[2..].copy_from_slice(&d[at + 5..at + 11]);
                seqs.push(u64::from_be_bytes(s));
                let body = d.slice(at + 13..at + 13 + len);
                for f in fragments(&body) {
                    assert_eq!(f.offset, 0, "one fragment per message");
                    assert_eq!(f.data.len(), f.len);
                    msgs.push((f.mt, f.seq, f.data.to_vec()));
                }
                at += 13 + len;
            }
        }
        (msgs, seqs)
    }

    /// A client's reassembly that delivered the ServerHello (message_seq 0).
    fn after_server_hello() -> Reassembly {
        let mut r = Reassembly::new("ECDHE-ECDSA-AES128-GCM-SHA256", false);
        r.delivered.push(Delivered {
            seq: 0,
            mt: 2,
            body: vec![],
        });
        r.next_seq = 1;
        r
    }

    fn feed(r: &mut Reassembly, s: &mut Stats, d: Vec<u8>) -> Vec<Bytes> {
        r.process(&Bytes::from(d), 64 * 1024, s)
    }

    #[test]
    fn fragments_are_reassembled_in_order_and_renumbered() {
        let mut r = Reassembly::new("ECDHE-ECDSA-AES128-GCM-SHA256", false);
        let mut s = Stats::default();
        let cert = certificate(300, 7);
        // Message 1 arrives before message 0, and message 0 in two overlapping fragments.
        let out = feed(
            &mut r,
            &mut s,
            record(9, &frag(11, cert.len(), 1, 0, &cert)),
        );
        assert!(out.is_empty());
        let sh = {
            let mut v = vec![0xfe, 0xfd];
            v.extend_from_slice(&[1; 32]);
            v.extend_from_slice(&[0, 0xc0, 0x2b, 0]);
            v
        };
        let out = feed(
            &mut r,
            &mut s,
            record(3, &frag(2, sh.len(), 0, 0, &sh[..20])),
        );
        assert!(out.is_empty());
        let out = feed(
            &mut r,
            &mut s,
            record(4, &frag(2, sh.len(), 0, 10, &sh[10..])),
        );
        let (msgs, seqs) = delivered(&out);
        assert_eq!(msgs, vec![(2, 0, sh.clone()), (11, 1, cert.clone())]);
        assert_eq!(seqs, vec![0, 1]);
        assert_eq!(s, Stats::default());
        assert_eq!(r.held(), 0);
        // A retransmission of message 0 agrees: passed on (renumbered), not counted.
        let out = feed(&mut r, &mut s, record(12, &frag(2, sh.len(), 0, 0, &sh)));
        assert_eq!(delivered(&out).1, vec![2]);
        assert_eq!(s, Stats::default());
        // One that differs is dropped and counted.
        let mut other = sh.clone();
        other[5] ^= 1;
        let out = feed(&mut r, &mut s, record(13, &frag(2, sh.len(), 0, 0, &other)));
        assert!(out.is_empty());
        assert_eq!(s.dropped(DropReason::Retransmission), 1);
    }

    #[test]
    fn a_forged_partial_fragment_does_not_spoil_the_genuine_message() {
        let cert = certificate(400, 9);
        let n = cert.len();
        for forged_len in [n, n + 10] {
            let mut r = after_server_hello();
            let mut s = Stats::default();
            let mut forged = cert[..200].to_vec();
            forged[100] ^= 0xff;
            assert!(feed(
                &mut r,
                &mut s,
                record(50, &frag(11, forged_len, 1, 0, &forged))
            )
            .is_empty());
            assert!(feed(&mut r, &mut s, record(1, &frag(11, n, 1, 0, &cert[..200]))).is_empty());
            let out = feed(
                &mut r,
                &mut s,
                record(2, &frag(11, n, 1, 200, &cert[200..])),
            );
            assert_eq!(delivered(&out).0, vec![(11, 1, cert.clone())]);
            assert_eq!(s.dropped(DropReason::ConflictingFragment), 1);
            assert_eq!(r.held(), 0);
        }
    }

    #[test]
    fn a_malformed_complete_message_waits_for_the_genuine_one() {
        let mut r = after_server_hello();
        let mut s = Stats::default();
        let cert = certificate(100, 1);
        let garbage = vec![0xaa; cert.len()];
        assert!(feed(
            &mut r,
            &mut s,
            record(1, &frag(11, cert.len(), 1, 0, &garbage))
        )
        .is_empty());
        assert_eq!(s.dropped(DropReason::MalformedMessage), 1);
        let out = feed(
            &mut r,
            &mut s,
            record(2, &frag(11, cert.len(), 1, 0, &cert)),
        );
        assert_eq!(delivered(&out).0, vec![(11, 1, cert)]);
    }

    #[test]
    fn candidates_are_bounded_and_partial_ones_go_on_the_timer() {
        let mut r = after_server_hello();
        let mut s = Stats::default();
        for i in 0..100u8 {
            let out = feed(
                &mut r,
                &mut s,
                record(u64::from(i), &frag(11, 60_000, 1, 0, &[i; 1000])),
            );
            assert!(out.is_empty());
            assert!(r.candidates.len() <= MAX_CANDIDATES);
        }
        assert_eq!(r.held(), MAX_CANDIDATES * 1000);
        assert_eq!(
            s.dropped(DropReason::ConflictingFragment),
            100 - MAX_CANDIDATES as u64
        );
        r.discard_partial(&mut s);
        assert_eq!(r.held(), 0);
        assert_eq!(s.dropped(DropReason::ConflictingFragment), 100);
        // Too far ahead.
        assert!(feed(&mut r, &mut s, record(1, &frag(14, 0, WINDOW + 2, 0, &[]))).is_empty());
        assert_eq!(s.dropped(DropReason::UnexpectedMessage), 1);
    }

    #[test]
    fn overlapping_agreeing_fragments_do_not_grow_without_bound() {
        let mut r = after_server_hello();
        let mut s = Stats::default();
        // A forged 60000-byte message sent as 5000 overlapping 1000-byte fragments, each
        // shifted by one byte (all agree: every byte is 7), then many covering duplicates.
        for i in 0..5000usize {
            let out = feed(
                &mut r,
                &mut s,
                record(i as u64, &frag(11, 60_000, 1, i, &[7; 1000])),
            );
            assert!(out.is_empty());
            assert!(r.held() <= 4 * 64 * 1024, "{}", r.held());
            assert!(r.candidates.iter().all(|c| c.parts.len() <= MAX_PARTS));
        }
        let held = r.held();
        for _ in 0..100 {
            feed(
                &mut r,
                &mut s,
                record(9, &frag(11, 60_000, 1, 4999, &[7; 100])),
            );
        }
        assert_eq!(r.held(), held, "covered fragments are not kept");
        assert_eq!(r.candidates.len(), 1);
    }

    #[test]
    fn long_messages_are_cut_into_records_under_the_limit() {
        let mut r = after_server_hello();
        let mut s = Stats::default();
        let cert = certificate(40_000, 3);
        let mut out = Vec::new();
        for (i, part) in cert.chunks(1000).enumerate() {
            out.extend(feed(
                &mut r,
                &mut s,
                record(i as u64, &frag(11, cert.len(), 1, i * 1000, part)),
            ));
        }
        assert!(out.iter().all(|d| d.len() <= MAX_DATAGRAM));
        let mut joined = Vec::new();
        for d in &out {
            let mut at = 0;
            while at < d.len() {
                let len = usize::from(u16::from_be_bytes([d[at + 11], d[at + 12]]));
                for f in fragments(&d.slice(at + 13..at + 13 + len)) {
                    assert_eq!(f.offset, joined.len());
                    joined.extend_from_slice(&f.data);
                }
                at += 13 + len;
            }
        }
        assert_eq!(joined, cert);
    }

    #[test]
    fn a_message_out_of_place_is_dropped() {
        // A well-formed ServerHelloDone where the Certificate must come, then the Certificate.
        let mut r = after_server_hello();
        let mut s = Stats::default();
        assert!(feed(&mut r, &mut s, record(1, &frag(14, 0, 1, 0, &[]))).is_empty());
        assert_eq!(s.dropped(DropReason::UnexpectedMessage), 1);
        let cert = certificate(50, 2);
        let out = feed(
            &mut r,
            &mut s,
            record(2, &frag(11, cert.len(), 1, 0, &cert)),
        );
        assert_eq!(delivered(&out).0, vec![(11, 1, cert)]);
        // From a client: only a ClientHello first.
        let mut r = Reassembly::new("ECDHE-ECDSA-AES128-GCM-SHA256", true);
        assert!(feed(&mut r, &mut s, record(1, &frag(16, 2, 0, 0, &[1, 4]))).is_empty());
        assert_eq!(s.dropped(DropReason::UnexpectedMessage), 2);
    }

    #[test]
    fn message_shapes() {
        let ecdhe = true;
        // ServerHelloDone must be empty.
        assert!(well_formed(14, &[], ecdhe));
        assert!(!well_formed(14, &[0], ecdhe));
        // ClientKeyExchange: point<1..2^8-1>.
        assert!(well_formed(16, &[2, 4, 5], ecdhe));
        assert!(!well_formed(16, &[0], ecdhe));
        assert!(!well_formed(16, &[3, 4, 5], ecdhe));
        assert!(well_formed(16, &[3, 4, 5], false));
        // CertificateVerify.
        assert!(well_formed(15, &[4, 3, 0, 2, 9, 9], ecdhe));
        assert!(!well_formed(15, &[4, 3, 0, 3, 9, 9], ecdhe));
        // ServerKeyExchange: named_curve(3) x25519(29) point sig.
        assert!(well_formed(12, &[3, 0, 29, 1, 7, 4, 3, 0, 1, 8], ecdhe));
        assert!(!well_formed(12, &[1, 0, 29, 1, 7, 4, 3, 0, 1, 8], ecdhe));
        // CertificateRequest.
        assert!(well_formed(13, &[1, 64, 0, 2, 4, 3, 0, 0], ecdhe));
        assert!(!well_formed(13, &[1, 64, 0, 3, 4, 3, 1, 0, 0], ecdhe));
        assert!(!well_formed(13, &[1, 64, 0, 2, 4, 3, 0, 2, 0, 0], ecdhe));
        // Certificate: empty list allowed, a cert must be a DER SEQUENCE.
        assert!(well_formed(11, &[0, 0, 0], ecdhe));
        assert!(!well_formed(11, &[0, 0, 4, 0, 0, 1, 0x31], ecdhe));
        assert!(!well_formed(11, &[0, 0, 5, 0, 0, 1, 0x30], ecdhe));
        // HelloVerifyRequest.
        assert!(well_formed(3, &[0xfe, 0xff, 1, 9], ecdhe));
        assert!(!well_formed(3, &[0xfe, 0xff, 2, 9], ecdhe));
        // ClientHello with and without extensions; a duplicated extension.
        let mut ch = vec![0xfe, 0xfd];
        ch.extend_from_slice(&[0; 32]);
        ch.extend_from_slice(&[0, 0, 0, 2, 0xc0, 0x2b, 1, 0]);
        assert!(well_formed(1, &ch, ecdhe));
        let mut with = ch.clone();
        with.extend_from_slice(&[0, 4, 0, 14, 0, 0]);
        assert!(well_formed(1, &with, ecdhe));
        let mut dup = ch.clone();
        dup.extend_from_slice(&[0, 8, 0, 14, 0, 0, 0, 14, 0, 0]);
        assert!(!well_formed(1, &dup, ecdhe));
        let mut odd = ch.clone();
        odd[37] = 3;
        assert!(!well_formed(1, &odd, ecdhe));
    }
}
