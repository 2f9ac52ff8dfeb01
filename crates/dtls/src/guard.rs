//! Checks every received record, and the header of every plaintext handshake fragment, before
//! OpenSSL reads it, so that one malformed record cannot end a handshake.
//!
//! OpenSSL answers many malformed records (an unknown content type, a fragment running past its
//! message or its record, a handshake length over its limit, a message the peer's role never
//! sends) with a fatal alert and ends the connection. RFC 6347 §4.1.2.7 says invalid records
//! SHOULD be silently discarded instead, which is also the only sane answer over UDP, where
//! anyone can forge a datagram. So [`Guard::filter`] drops and counts them ([`Stats`]) and
//! OpenSSL only ever sees records that are well formed.
//!
//! What is dropped, and how much of the datagram goes with it:
//! * **The whole datagram** when its framing is broken: a record header cut short, a record
//!   length running past the end of the datagram, or a `tls12_cid` record (RFC 9146), whose
//!   header has a connection id of a length only a negotiation could tell (ferrtc never
//!   negotiates one), so where it ends — and where the next record starts — is unknown. A
//!   conforming sender never splits a record across datagrams (RFC 6347 §4.1.1), so nothing in
//!   such a datagram can be trusted to be what it seems.
//! * **Only the invalid record** otherwise (the other records of the datagram are delivered):
//!   an unknown content type, a version other than DTLS 1.0/1.2 (1.0 only in epoch 0, where
//!   RFC 6347 §4.1 allows it in the ClientHello and §4.2.1 in the HelloVerifyRequest), an epoch
//!   above 1 (ferrtc never renegotiates), a record longer than 2^14 + 2048 bytes (RFC 5246
//!   §6.2.3), plaintext application data (epoch 0; RFC 5246 §7.4.9 forbids application data
//!   before Finished), a malformed plaintext ChangeCipherSpec (one byte, value 1: RFC 5246
//!   §7.1) or alert (two bytes, level 1 or 2: RFC 5246 §7.2), and epoch-0 handshake records
//!   with a malformed fragment (below).
//!
//! Handshake fragments (RFC 6347 §4.2.2: type(1) length(3) message_seq(2) fragment_offset(3)
//! fragment_length(3), then the fragment) of epoch 0 are checked one by one, and a record with
//! one bad fragment is dropped whole: a fragment header cut short or an empty handshake record
//! (RFC 5246 §6.2.1), `fragment_length` running past the record, `fragment_offset +
//! fragment_length` running past the message `length`, a message `length` above
//! [`crate::Config::max_handshake_message_len`], a message type the peer's role never sends
//! (a HelloRequest — ferrtc never renegotiates and RFC 5246 §7.4.1.1 lets a client ignore it —,
//! a server message sent to a server or a client message to a client, a NewSessionTicket or
//! CertificateStatus ferrtc never asks for, a plaintext Finished, which always follows the
//! ChangeCipherSpec), and a HelloVerifyRequest whose cookie length disagrees with its message
//! length (RFC 6347 §4.2.1: `opaque cookie<0..2^8-1>`, so the message is 3 + cookie bytes,
//! at most 258).
//!
//! Epoch-1 records are encrypted and left to OpenSSL, which drops those that fail to decrypt.
//!
//! Epoch-0 alerts after we sent our ChangeCipherSpec are dropped too
//! ([`DropReason::OldEpoch`]; RFC 6347 §4.1: records from earlier epochs SHOULD be discarded):
//! the peer protects its alerts from then on, and an unencrypted one can be forged by anyone.
//!
//! What passes here still goes through src/reassembly.rs before OpenSSL reads it: handshake
//! messages are reassembled there and handed over only complete, consistent, well formed and
//! in order.

use bytes::{Bytes, BytesMut};

use crate::cookie::{self, Cookie};
use crate::record::{HEADER_LEN, MAX_PLAINTEXT};

/// Why a received record (or datagram) was dropped before OpenSSL saw it. Counted in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Record header cut short or record length past the end of the datagram: the whole
    /// datagram is dropped.
    Framing,
    /// A `tls12_cid` record (content type 25) while no connection id was negotiated: the whole
    /// datagram is dropped (its header length is unknown).
    ConnectionId,
    /// A content type DTLS 1.2 does not define (or one ferrtc never negotiates, like heartbeat).
    ContentType,
    /// A record version other than DTLS 1.2 (or DTLS 1.0 in epoch 0).
    Version,
    /// A record longer than 2^14 + 2048 bytes.
    RecordTooLong,
    /// An epoch above 1.
    Epoch,
    /// Application data in epoch 0 (unencrypted).
    PlaintextApplicationData,
    /// A plaintext ChangeCipherSpec other than the single byte 1, or one outside epoch 0.
    ChangeCipherSpec,
    /// A plaintext alert that is not two bytes with level warning or fatal.
    Alert,
    /// An empty handshake record or a fragment header cut short.
    FragmentHeader,
    /// A fragment longer than what is left of its record.
    FragmentPastRecord,
    /// A fragment whose offset plus length run past the message length.
    FragmentPastMessage,
    /// A handshake message length above [`crate::Config::max_handshake_message_len`].
    MessageTooLong,
    /// A handshake message type the peer's role never sends (HelloRequest, a server message to
    /// a server, a client message to a client, messages ferrtc never negotiates).
    UnexpectedMessage,
    /// A HelloVerifyRequest whose cookie length disagrees with its message length.
    HelloVerifyRequest,
    /// With [`crate::Config::cookie_exchange`]: a ClientHello whose cookie is not empty and not
    /// ours, or whose first fragment is too short to show its cookie.
    Cookie,
    /// After the handshake (ferrtc's record layer): a record that did not authenticate, of
    /// another epoch, or malformed.
    NotAuthentic,
    /// After the handshake (ferrtc's record layer): a replayed record or one older than the
    /// replay window (RFC 6347 §4.1.2.6). Network duplicates land here too.
    Replay,
    /// A complete handshake message whose body does not parse as its type (src/reassembly.rs).
    MalformedMessage,
    /// A fragment (or a set of them) disagreeing with the message that was completed and
    /// handed to OpenSSL instead, or discarded incomplete (too many candidates, or our
    /// retransmission timer fired) (src/reassembly.rs).
    ConflictingFragment,
    /// A fragment of a message already handed to OpenSSL that differs from the first copy: the
    /// peer never changes a message it retransmits (RFC 6347 §4.2.4).
    Retransmission,
    /// A plaintext (epoch 0) alert after the handshake reached epoch 1: records from an earlier
    /// epoch SHOULD be discarded (RFC 6347 §4.1). A fatal one is believed only if our
    /// retransmission timer then expires before the handshake completes.
    OldEpoch,
}

impl DropReason {
    /// Every reason.
    pub const ALL: [DropReason; 22] = [
        DropReason::Framing,
        DropReason::ConnectionId,
        DropReason::ContentType,
        DropReason::Version,
        DropReason::RecordTooLong,
        DropReason::Epoch,
        DropReason::PlaintextApplicationData,
        DropReason::ChangeCipherSpec,
        DropReason::Alert,
        DropReason::FragmentHeader,
        DropReason::FragmentPastRecord,
        DropReason::FragmentPastMessage,
        DropReason::MessageTooLong,
        DropReason::UnexpectedMessage,
        DropReason::HelloVerifyRequest,
        DropReason::Cookie,
        DropReason::NotAuthentic,
        DropReason::Replay,
        DropReason::MalformedMessage,
        DropReason::ConflictingFragment,
        DropReason::Retransmission,
        DropReason::OldEpoch,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Whether this reason drops the whole datagram (its framing cannot be followed).
    pub fn drops_datagram(self) -> bool {
        matches!(self, DropReason::Framing | DropReason::ConnectionId)
    }
}

/// What was dropped from received datagrams, as counters the user can read
/// ([`crate::Dtls::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records dropped one by one (the rest of their datagram was delivered).
    pub records_dropped: u64,
    /// Whole datagrams dropped because their framing was broken.
    pub datagrams_dropped: u64,
    by_reason: [u64; DropReason::ALL.len()],
}

impl Stats {
    /// How many records (or, for [`DropReason::drops_datagram`] reasons, datagrams) were
    /// dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.by_reason.get(reason.index()).copied().unwrap_or(0)
    }

    pub(crate) fn count(&mut self, reason: DropReason) {
        if let Some(n) = self.by_reason.get_mut(reason.index()) {
            *n = n.saturating_add(1);
        }
        if reason.drops_datagram() {
            self.datagrams_dropped = self.datagrams_dropped.saturating_add(1);
        } else {
            self.records_dropped = self.records_dropped.saturating_add(1);
        }
    }
}

/// Content types (RFC 5246 §6.2.1, RFC 9146 §4).
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const TLS12_CID: u8 = 25;

/// Largest record body: 2^14 plaintext + 2048 of expansion (RFC 5246 §6.2.3).
const MAX_RECORD_BODY: usize = MAX_PLAINTEXT + 2048;
/// Handshake fragment header (RFC 6347 §4.2.2).
const FRAGMENT_HEADER: usize = 12;
/// Handshake message types (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 6066 §8).
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

/// The checks of one endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    /// Whether the peer is the client (we are the server).
    pub(crate) peer_is_client: bool,
    /// Largest handshake message length accepted.
    pub(crate) max_handshake_message_len: usize,
    /// Our HelloVerifyRequest cookie (a server with [`crate::Config::cookie_exchange`]).
    pub(crate) cookie: Option<Cookie>,
    /// We sent our ChangeCipherSpec: plaintext alerts are from an old epoch now.
    pub(crate) epoch1: bool,
}

fn be24(b: &[u8]) -> usize {
    match b {
        &[a, b, c] => (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c),
        _ => usize::MAX,
    }
}

impl Guard {
    /// The datagram with only its valid records, or `None` when nothing of it is left. Returns
    /// the datagram itself (no copy) when every record is valid.
    pub(crate) fn filter(&self, datagram: Bytes, stats: &mut Stats) -> Option<Bytes> {
        // First pass: find the verdict of each record; most datagrams are entirely valid.
        let mut invalid = 0usize;
        let mut total = 0usize;
        let mut at = 0usize;
        while at < datagram.len() {
            let (end, verdict) = match self.record_at(&datagram, at) {
                Ok(r) => r,
                Err(reason) => {
                    tracing::debug!(?reason, len = datagram.len(), "dtls: datagram dropped");
                    stats.count(reason);
                    return None;
                }
            };
            total += 1;
            if verdict.is_err() {
                invalid += 1;
            }
            at = end;
        }
        if invalid == 0 {
            return Some(datagram);
        }
        // Second pass: keep the valid records (the framing is known to be sound).
        let mut kept = BytesMut::new();
        let mut at = 0usize;
        while at < datagram.len() {
            let Ok((end, verdict)) = self.record_at(&datagram, at) else {
                return None;
            };
            match verdict {
                Ok(()) => kept.extend_from_slice(datagram.get(at..end).unwrap_or_default()),
                Err(reason) => {
                    tracing::debug!(?reason, offset = at, "dtls: record dropped");
                    stats.count(reason);
                }
            }
            at = end;
        }
        tracing::trace!(
            total,
            invalid,
            "dtls: datagram delivered without its invalid records"
        );
        (!kept.is_empty()).then(|| kept.freeze())
    }

    /// The record starting at `at`: where it ends and whether it is valid; `Err` when the
    /// framing of the datagram is broken from here on.
    fn record_at(
        &self,
        d: &[u8],
        at: usize,
    ) -> Result<(usize, Result<(), DropReason>), DropReason> {
        let header = d
            .get(at..at.saturating_add(HEADER_LEN))
            .ok_or(DropReason::Framing)?;
        let (&[ty, v0, v1, e0, e1], Some(&[l0, l1])) = (
            header.first_chunk::<5>().ok_or(DropReason::Framing)?,
            header.get(11..13),
        ) else {
            return Err(DropReason::Framing);
        };
        if ty == TLS12_CID {
            return Err(DropReason::ConnectionId);
        }
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let start = at + HEADER_LEN;
        let end = start + len;
        let body = d.get(start..end).ok_or(DropReason::Framing)?;
        let epoch = u16::from_be_bytes([e0, e1]);
        Ok((end, self.check_record(ty, [v0, v1], epoch, body)))
    }

    fn check_record(
        &self,
        ty: u8,
        version: [u8; 2],
        epoch: u16,
        body: &[u8],
    ) -> Result<(), DropReason> {
        if !matches!(
            ty,
            CHANGE_CIPHER_SPEC | ALERT | HANDSHAKE | APPLICATION_DATA
        ) {
            return Err(DropReason::ContentType);
        }
        let version_ok = match version {
            [0xfe, 0xfd] => true,
            [0xfe, 0xff] => epoch == 0,
            _ => false,
        };
        if !version_ok {
            return Err(DropReason::Version);
        }
        if epoch > 1 {
            return Err(DropReason::Epoch);
        }
        if body.len() > MAX_RECORD_BODY {
            return Err(DropReason::RecordTooLong);
        }
        if epoch == 1 {
            // Encrypted: OpenSSL authenticates it and drops it if it does not.
            return Ok(());
        }
        match ty {
            APPLICATION_DATA => Err(DropReason::PlaintextApplicationData),
            CHANGE_CIPHER_SPEC if body != [1] => Err(DropReason::ChangeCipherSpec),
            ALERT if !matches!(body, [1 | 2, _]) => Err(DropReason::Alert),
            ALERT if self.epoch1 => Err(DropReason::OldEpoch),
            HANDSHAKE => self.check_fragments(body),
            _ => Ok(()),
        }
    }

    /// The handshake fragments of one plaintext record.
    fn check_fragments(&self, mut body: &[u8]) -> Result<(), DropReason> {
        if body.is_empty() {
            return Err(DropReason::FragmentHeader);
        }
        // Each iteration consumes at least FRAGMENT_HEADER bytes.
        while !body.is_empty() {
            let header = body
                .get(..FRAGMENT_HEADER)
                .ok_or(DropReason::FragmentHeader)?;
            let (Some(&mt), Some(l), Some(&[q0, q1]), Some(o), Some(fl)) = (
                header.first(),
                header.get(1..4),
                header.get(4..6),
                header.get(6..9),
                header.get(9..12),
            ) else {
                return Err(DropReason::FragmentHeader);
            };
            let message_seq = u16::from_be_bytes([q0, q1]);
            let (msg_len, offset, frag_len) = (be24(l), be24(o), be24(fl));
            let fragment = body
                .get(FRAGMENT_HEADER..FRAGMENT_HEADER.saturating_add(frag_len))
                .ok_or(DropReason::FragmentPastRecord)?;
            if offset.saturating_add(frag_len) > msg_len {
                return Err(DropReason::FragmentPastMessage);
            }
            if msg_len > self.max_handshake_message_len {
                return Err(DropReason::MessageTooLong);
            }
            if !self.peer_sends(mt) || !self.in_sequence(mt, message_seq) {
                return Err(DropReason::UnexpectedMessage);
            }
            if mt == msg::HELLO_VERIFY_REQUEST {
                check_hello_verify_request(msg_len, offset, fragment)?;
            }
            if let (msg::CLIENT_HELLO, 0, Some(ours)) = (mt, offset, self.cookie.as_ref()) {
                check_client_hello_cookie(fragment, ours)?;
            }
            body = body.get(FRAGMENT_HEADER + frag_len..).unwrap_or_default();
        }
        Ok(())
    }

    /// Whether a message of type `mt` can carry `message_seq` in the handshakes ferrtc does
    /// (RFC 6347 §4.2.2: each side numbers its messages from 0). A message out of place is one
    /// OpenSSL would answer with a fatal unexpected_message alert, when it has the sequence
    /// number OpenSSL expects next.
    ///
    /// From a client (we are the server) each message has one place: ClientHello 0 (and 1, the
    /// second ClientHello, with our cookie exchange), then Certificate, ClientKeyExchange,
    /// CertificateVerify, all always sent since we require a client certificate.
    ///
    /// From a server the places vary a little: up to two HelloVerifyRequests (0 and 1: a server
    /// may answer a second ClientHello with a new cookie, RFC 6347 §4.2.1) shift the rest by up
    /// to two, and ServerKeyExchange and CertificateRequest may be absent (a key exchange
    /// without it, a server not asking for a certificate), which moves what follows them back.
    fn in_sequence(&self, mt: u8, seq: u16) -> bool {
        if self.peer_is_client {
            let shift = u16::from(self.cookie.is_some());
            return match mt {
                msg::CLIENT_HELLO => seq <= shift,
                msg::CERTIFICATE => seq == 1 + shift,
                msg::CLIENT_KEY_EXCHANGE => seq == 2 + shift,
                msg::CERTIFICATE_VERIFY => seq == 3 + shift,
                _ => false,
            };
        }
        // (place without HelloVerifyRequest, optional messages that may precede it)
        let (place, optional_before) = match mt {
            msg::HELLO_VERIFY_REQUEST => return seq <= 1,
            msg::SERVER_HELLO => (0, 0),
            msg::CERTIFICATE => (1, 0),
            msg::SERVER_KEY_EXCHANGE => (2, 0),
            msg::CERTIFICATE_REQUEST => (3, 1),
            msg::SERVER_HELLO_DONE => (4, 2),
            _ => return false,
        };
        seq + optional_before >= place && seq <= place + 2
    }

    /// Whether the peer's role sends this message type in plaintext in a handshake ferrtc
    /// negotiates (full handshakes with mutual authentication, no tickets, no OCSP stapling, no
    /// renegotiation).
    fn peer_sends(&self, mt: u8) -> bool {
        if self.peer_is_client {
            matches!(
                mt,
                msg::CLIENT_HELLO
                    | msg::CERTIFICATE
                    | msg::CLIENT_KEY_EXCHANGE
                    | msg::CERTIFICATE_VERIFY
            )
        } else {
            // Not HELLO_REQUEST (0), NewSessionTicket (4), CertificateStatus (22), Finished (20).
            matches!(
                mt,
                msg::SERVER_HELLO
                    | msg::HELLO_VERIFY_REQUEST
                    | msg::CERTIFICATE
                    | msg::SERVER_KEY_EXCHANGE
                    | msg::CERTIFICATE_REQUEST
                    | msg::SERVER_HELLO_DONE
            )
        }
    }
}

/// RFC 6347 §4.2.1: `struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; }`, so
/// the message is 3 + cookie length bytes long (at most 258).
fn check_hello_verify_request(
    msg_len: usize,
    offset: usize,
    fragment: &[u8],
) -> Result<(), DropReason> {
    if !(3..=3 + 255).contains(&msg_len) {
        return Err(DropReason::HelloVerifyRequest);
    }
    // The cookie length byte is at offset 2 of the message, if this fragment holds it.
    if let Some(&cookie_len) = 2usize.checked_sub(offset).and_then(|i| fragment.get(i)) {
        if 3 + usize::from(cookie_len) != msg_len {
            return Err(DropReason::HelloVerifyRequest);
        }
    }
    Ok(())
}

/// The cookie of a ClientHello's first fragment (`fragment` starts at offset 0 of the message):
/// client_version(2) random(32) session_id<0..32> cookie<0..2^8-1> (RFC 6347 §4.2.1). `None`
/// when the fragment ends before the cookie does.
fn client_hello_cookie(first_fragment: &[u8]) -> Option<&[u8]> {
    let sid_len = usize::from(*first_fragment.get(34)?);
    let at = 35 + sid_len;
    let cookie_len = usize::from(*first_fragment.get(at)?);
    first_fragment.get(at + 1..at + 1 + cookie_len)
}

/// Whether a (validated) datagram holds the first fragment of a ClientHello without a cookie:
/// a client retransmitting its first ClientHello because our HelloVerifyRequest was lost.
pub(crate) fn has_client_hello_without_cookie(mut d: &[u8]) -> bool {
    while let (Some(&ty), Some(&[e0, e1]), Some(&[l0, l1])) =
        (d.first(), d.get(3..5), d.get(11..13))
    {
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let body = d.get(HEADER_LEN..HEADER_LEN + len).unwrap_or_default();
        if ty == HANDSHAKE && [e0, e1] == [0, 0] {
            let (Some(&mt), Some(o)) = (body.first(), body.get(6..9)) else {
                return false;
            };
            let fragment = body.get(FRAGMENT_HEADER..).unwrap_or_default();
            if mt == msg::CLIENT_HELLO
                && be24(o) == 0
                && client_hello_cookie(fragment).is_some_and(<[u8]>::is_empty)
            {
                return true;
            }
        }
        d = d.get(HEADER_LEN + len..).unwrap_or_default();
    }
    false
}

/// The first plaintext fatal alert of a (validated) datagram: its description.
pub(crate) fn plaintext_fatal_alert(mut d: &[u8]) -> Option<u8> {
    while let (Some(&ty), Some(&[e0, e1]), Some(&[l0, l1])) =
        (d.first(), d.get(3..5), d.get(11..13))
    {
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let body = d.get(HEADER_LEN..HEADER_LEN + len).unwrap_or_default();
        if let (ALERT, [0, 0], &[2, description]) = (ty, [e0, e1], body) {
            return Some(description);
        }
        d = d.get(HEADER_LEN + len..).unwrap_or_default();
    }
    None
}

/// A ClientHello (RFC 6347 §4.2.1: client_version(2) random(32) session_id<0..32>
/// cookie<0..2^8-1> ...) must carry no cookie or ours. OpenSSL's stateful server fails the
/// handshake on a wrong one (where RFC 6347 §4.2.1 says to treat it as no cookie), so a forged
/// ClientHello with a made-up cookie is dropped here instead. The first fragment of a genuine
/// ClientHello always reaches past the cookie (its MTU is far above the ~100 bytes needed).
fn check_client_hello_cookie(first_fragment: &[u8], ours: &Cookie) -> Result<(), DropReason> {
    let received = client_hello_cookie(first_fragment).ok_or(DropReason::Cookie)?;
    if received.is_empty() || cookie::matches(ours, received) {
        Ok(())
    } else {
        Err(DropReason::Cookie)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V12: [u8; 2] = [0xfe, 0xfd];

    fn record(ty: u8, version: [u8; 2], epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty, version[0], version[1]];
        v.extend_from_slice(&epoch.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
        v.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn fragment(mt: u8, msg_len: u32, offset: u32, frag_len: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![mt];
        v.extend_from_slice(&msg_len.to_be_bytes()[1..]);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&offset.to_be_bytes()[1..]);
        v.extend_from_slice(&frag_len.to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    const SERVER: Guard = Guard {
        peer_is_client: true,
        max_handshake_message_len: 1000,
        cookie: None,
        epoch1: false,
    };
    const CLIENT: Guard = Guard {
        peer_is_client: false,
        max_handshake_message_len: 1000,
        cookie: None,
        epoch1: false,
    };

    /// A ClientHello body up to its cookie, plus a byte of what follows.
    fn client_hello(session_id: &[u8], cookie: &[u8]) -> Vec<u8> {
        let mut v = vec![0xfe, 0xfd];
        v.extend_from_slice(&[0x11; 32]);
        v.push(session_id.len() as u8);
        v.extend_from_slice(session_id);
        v.push(cookie.len() as u8);
        v.extend_from_slice(cookie);
        v.push(0);
        v
    }

    fn hs(g: &Guard, mt: u8, seq: u16) -> bool {
        // A ClientHello shows its (empty) cookie; the rest are empty messages.
        let body = if mt == 1 {
            client_hello(&[], &[])
        } else {
            vec![]
        };
        let n = u32::try_from(body.len()).unwrap();
        let mut f = fragment(mt, n, 0, n, &body);
        f[4..6].copy_from_slice(&seq.to_be_bytes());
        verdict(g, record(22, V12, 0, &f)).0.is_some()
    }

    #[test]
    fn messages_in_their_place() {
        let cookie_server = Guard {
            cookie: Some([1; COOKIE_LEN_FOR_TESTS]),
            ..SERVER
        };
        // From a client, without and with our cookie exchange (RFC 6347 §4.2.2 numbering).
        for (g, places) in [
            (
                SERVER,
                [
                    (1u8, vec![0u16]),
                    (11, vec![1]),
                    (16, vec![2]),
                    (15, vec![3]),
                ],
            ),
            (
                cookie_server,
                [(1, vec![0, 1]), (11, vec![2]), (16, vec![3]), (15, vec![4])],
            ),
        ] {
            for (mt, ok) in places {
                for seq in 0..8 {
                    assert_eq!(hs(&g, mt, seq), ok.contains(&seq), "type {mt} seq {seq}");
                }
            }
        }
        // From a server: ServerHello 0..=2, Certificate 1..=3, ServerKeyExchange 2..=4,
        // CertificateRequest 2..=5, ServerHelloDone 2..=6, HelloVerifyRequest 0..=1.
        for (mt, lo, hi) in [
            (2u8, 0u16, 2u16),
            (11, 1, 3),
            (12, 2, 4),
            (13, 2, 5),
            (14, 2, 6),
        ] {
            for seq in 0..10 {
                assert_eq!(
                    hs(&CLIENT, mt, seq),
                    (lo..=hi).contains(&seq),
                    "type {mt} seq {seq}"
                );
            }
        }
        let hvr = |seq: u16| {
            let mut f = fragment(3, 3, 0, 3, &[0xfe, 0xff, 0]);
            f[4..6].copy_from_slice(&seq.to_be_bytes());
            verdict(&CLIENT, record(22, V12, 0, &f)).0.is_some()
        };
        assert!(hvr(0) && hvr(1) && !hvr(2));
    }

    #[test]
    fn every_reason_has_its_own_counter() {
        let mut s = Stats::default();
        for (i, r) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
            s.count(r);
            assert_eq!(s.dropped(r), 1, "{r:?}");
        }
        assert_eq!(s.datagrams_dropped, 2);
        assert_eq!(s.records_dropped, DropReason::ALL.len() as u64 - 2);
    }

    #[test]
    fn client_hello_cookies() {
        let ours = [7u8; COOKIE_LEN_FOR_TESTS];
        let g = Guard {
            cookie: Some(ours),
            ..SERVER
        };
        let ch = |sid: &[u8], cookie: &[u8], cut: usize| {
            let mut body = client_hello(sid, cookie);
            body.truncate(body.len() - cut);
            let n = u32::try_from(body.len()).unwrap();
            record(22, V12, 0, &fragment(1, n + 50, 0, n, &body))
        };
        for (d, ok) in [
            (ch(&[], &[], 0), true),
            (ch(&[9; 32], &ours, 0), true),
            (ch(&[], &ours, 1), true),
            (ch(&[], &[7; 15], 0), false),
            (ch(&[1; 4], &[8; 16], 0), false),
            // Cut inside the cookie, and before the session id length.
            (ch(&[], &ours, 3), false),
            (
                record(22, V12, 0, &fragment(1, 100, 0, 30, &[0; 30])),
                false,
            ),
            // A later fragment is not checked.
            (
                record(22, V12, 0, &fragment(1, 100, 50, 10, &[0; 10])),
                true,
            ),
        ] {
            let (out, s) = verdict(&g, d.clone());
            assert_eq!(out.is_some(), ok, "{d:?}");
            assert_eq!(s.dropped(DropReason::Cookie), u64::from(!ok));
            // Without cookie exchange nothing of this is looked at.
            assert!(verdict(&SERVER, d).0.is_some());
        }
    }

    const COOKIE_LEN_FOR_TESTS: usize = crate::cookie::COOKIE_LEN;

    fn verdict(g: &Guard, d: Vec<u8>) -> (Option<Bytes>, Stats) {
        let mut s = Stats::default();
        (g.filter(Bytes::from(d), &mut s), s)
    }

    #[test]
    fn valid_datagram_is_passed_through_without_copy() {
        let mut d = record(22, [0xfe, 0xff], 0, &fragment(1, 4, 0, 4, &[1, 2, 3, 4]));
        d.extend(record(20, V12, 0, &[1]));
        d.extend(record(22, V12, 1, &[9; 40]));
        let d = Bytes::from(d);
        let mut s = Stats::default();
        let out = SERVER.filter(d.clone(), &mut s).unwrap();
        assert_eq!(out.as_ptr(), d.as_ptr());
        assert_eq!(s, Stats::default());
    }

    #[test]
    fn each_rule() {
        let ok_frag = fragment(1, 4, 0, 4, &[0; 4]);
        let cases: Vec<(Guard, Vec<u8>, DropReason)> = vec![
            (SERVER, record(99, V12, 0, &[1]), DropReason::ContentType),
            (
                SERVER,
                record(24, V12, 0, &[1, 2, 3]),
                DropReason::ContentType,
            ),
            (SERVER, record(22, [3, 3], 0, &ok_frag), DropReason::Version),
            (
                SERVER,
                record(22, [0xfe, 0xff], 1, &ok_frag),
                DropReason::Version,
            ),
            (SERVER, record(22, V12, 2, &ok_frag), DropReason::Epoch),
            (
                SERVER,
                record(23, V12, 0, &[1]),
                DropReason::PlaintextApplicationData,
            ),
            (
                SERVER,
                record(20, V12, 0, &[1, 1]),
                DropReason::ChangeCipherSpec,
            ),
            (
                SERVER,
                record(20, V12, 0, &[2]),
                DropReason::ChangeCipherSpec,
            ),
            (SERVER, record(21, V12, 0, &[1, 2, 3]), DropReason::Alert),
            (SERVER, record(21, V12, 0, &[7, 10]), DropReason::Alert),
            (SERVER, record(22, V12, 0, &[]), DropReason::FragmentHeader),
            (
                SERVER,
                record(22, V12, 0, &[1, 0, 0]),
                DropReason::FragmentHeader,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(1, 100, 0, 100, &[0; 10])),
                DropReason::FragmentPastRecord,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(1, 100, 90, 20, &[0; 20])),
                DropReason::FragmentPastMessage,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(1, 0xff_ffff, 0, 4, &[0; 4])),
                DropReason::MessageTooLong,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(0, 0, 0, 0, &[])),
                DropReason::UnexpectedMessage,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(0, 0, 0, 0, &[])),
                DropReason::UnexpectedMessage,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(2, 4, 0, 4, &[0; 4])),
                DropReason::UnexpectedMessage,
            ),
            (
                CLIENT,
                record(22, V12, 0, &ok_frag),
                DropReason::UnexpectedMessage,
            ),
            (
                SERVER,
                record(22, V12, 0, &fragment(3, 3, 0, 3, &[0xfe, 0xff, 0])),
                DropReason::UnexpectedMessage,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(20, 12, 0, 12, &[0; 12])),
                DropReason::UnexpectedMessage,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(4, 4, 0, 4, &[0; 4])),
                DropReason::UnexpectedMessage,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(3, 5, 0, 5, &[0xfe, 0xff, 200, 1, 2])),
                DropReason::HelloVerifyRequest,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(3, 5, 0, 5, &[0xfe, 0xff, 0, 1, 2])),
                DropReason::HelloVerifyRequest,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(3, 2, 0, 2, &[0xfe, 0xff])),
                DropReason::HelloVerifyRequest,
            ),
            (
                CLIENT,
                record(22, V12, 0, &fragment(3, 300, 0, 3, &[0xfe, 0xff, 255])),
                DropReason::HelloVerifyRequest,
            ),
            (
                SERVER,
                record(25, V12, 0, &[0; 8]),
                DropReason::ConnectionId,
            ),
            (
                SERVER,
                record(22, V12, 0, &ok_frag)[..10].to_vec(),
                DropReason::Framing,
            ),
        ];
        for (i, (g, d, want)) in cases.into_iter().enumerate() {
            let (out, s) = verdict(&g, d);
            assert!(out.is_none(), "case {i}: {want:?} not dropped");
            assert_eq!(s.dropped(want), 1, "case {i}: {s:?}");
            let total = s.records_dropped + s.datagrams_dropped;
            assert_eq!(total, 1, "case {i}");
            assert_eq!(
                s.datagrams_dropped,
                u64::from(want.drops_datagram()),
                "case {i}"
            );
        }
    }

    #[test]
    fn well_formed_messages_pass() {
        for (g, d) in [
            (
                CLIENT,
                record(22, V12, 0, &fragment(3, 5, 0, 5, &[0xfe, 0xff, 2, 1, 2])),
            ),
            // A later fragment of a HelloVerifyRequest does not hold the cookie length.
            (CLIENT, record(22, V12, 0, &fragment(3, 5, 3, 2, &[1, 2]))),
            (CLIENT, {
                // ServerHelloDone, message_seq 4.
                let mut f = fragment(14, 0, 0, 0, &[]);
                f[5] = 4;
                record(22, V12, 0, &f)
            }),
            (
                SERVER,
                record(22, V12, 0, &fragment(1, 1000, 990, 10, &[0; 10])),
            ),
            (SERVER, record(21, V12, 0, &[2, 40])),
            (SERVER, record(23, V12, 1, &[0; 30])),
        ] {
            let (out, s) = verdict(&g, d.clone());
            assert_eq!(out.as_deref(), Some(&d[..]));
            assert_eq!(s, Stats::default());
        }
    }

    #[test]
    fn only_the_invalid_record_goes_unless_the_framing_breaks() {
        let good1 = record(22, V12, 0, &fragment(1, 4, 0, 4, &[1, 2, 3, 4]));
        let bad = record(99, V12, 0, &[5; 7]);
        let good2 = record(20, V12, 0, &[1]);
        let d = [good1.clone(), bad.clone(), good2.clone()].concat();
        let (out, s) = verdict(&SERVER, d);
        assert_eq!(
            out.unwrap().as_ref(),
            &[good1.clone(), good2.clone()].concat()[..]
        );
        assert_eq!((s.records_dropped, s.datagrams_dropped), (1, 0));
        // A length running past the end: nothing of the datagram is delivered.
        let mut cut = record(22, V12, 0, &fragment(1, 4, 0, 4, &[1, 2, 3, 4]));
        cut[12] += 1;
        let (out, s) = verdict(&SERVER, [good1.clone(), cut].concat());
        assert!(out.is_none());
        assert_eq!((s.records_dropped, s.datagrams_dropped), (0, 1));
        assert_eq!(s.dropped(DropReason::Framing), 1);
        // A connection-id record after a valid one: the whole datagram.
        let (out, s) = verdict(
            &SERVER,
            [good1, record(25, V12, 0, &[0; 4]), good2].concat(),
        );
        assert!(out.is_none());
        assert_eq!(s.dropped(DropReason::ConnectionId), 1);
        // Two fragments in one record, the second bad: the record goes.
        let two = [fragment(1, 8, 0, 4, &[0; 4]), fragment(1, 8, 6, 4, &[0; 4])].concat();
        let (out, s) = verdict(&SERVER, record(22, V12, 0, &two));
        assert!(out.is_none());
        assert_eq!(s.dropped(DropReason::FragmentPastMessage), 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_only_whole_records(d in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut s = Stats::default();
            if let Some(out) = SERVER.filter(Bytes::from(d.clone()), &mut s) {
                // What is kept re-parses as valid records only.
                let mut again = Stats::default();
                let back = SERVER.filter(out.clone(), &mut again);
                proptest::prop_assert_eq!(back, Some(out));
                proptest::prop_assert_eq!(again, Stats::default());
            }
        }
    }
}
