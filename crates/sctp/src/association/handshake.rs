//! Association setup (RFC 9260 §5): INIT / INIT ACK with HMAC-signed State Cookies,
//! COOKIE ECHO and its cases A-D (§5.2.4), INIT collisions and unexpected INITs (§5.2.1,
//! §5.2.2), Stale Cookie errors (§5.2.6), and the ABORT answer to a malformed INIT (§5.1).

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tracing::{debug, trace};

use crate::chunk::{cause_code, chunk_type, Chunk, ErrorCause, InitChunk};
use crate::packet::COMMON_HEADER_LEN;
use crate::param::{Param, EDMID_DTLS};
use crate::Error;

use super::*;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const COOKIE_BODY_LEN: usize = 4 * 7 + 2 * 2 + 1 + 8;

/// The tags, TSNs and tie-tags of a State Cookie body (as `make_cookie` writes them).
type CookieTags = (u32, u32, u32, u32, u32, u32, u32);
/// The stream counts, flags and creation time halves of a State Cookie body.
type CookieRest = (u16, u16, u8, u32, u32);

/// The body of a State Cookie: peer tag, local tag, peer a_rwnd, peer initial TSN, local
/// TSN, the two Tie-Tags, the peer's stream counts, the feature flags and the creation time in
/// milliseconds (two 32-bit halves).
fn cookie_fields(i: &[u8]) -> crate::wire::PResult<'_, (CookieTags, CookieRest)> {
    use crate::wire::{u16f, u32f, u8f};
    use nom::Parser;
    (
        (u32f, u32f, u32f, u32f, u32f, u32f, u32f),
        (u16f, u16f, u8f, u32f, u32f),
    )
        .parse(i)
}
const COOKIE_MAC_LEN: usize = 32;

/// The contents of a State Cookie that passed its MAC (RFC 9260 §5.1.3, §5.2.2).
struct Cookie {
    /// The peer as its INIT described it.
    peer: Peer,
    /// The Initiate Tag of our INIT ACK: our tag in the association the cookie sets up.
    local_tag: u32,
    /// The Initial TSN of our INIT ACK.
    local_tsn: u32,
    /// Local-Tie-Tag: our tag in the association that existed when the cookie was made (0: none).
    local_tie: u32,
    /// Peer's-Tie-Tag: the peer's tag in that association (0: none).
    peer_tie: u32,
    /// How long ago the cookie expired (microseconds), if it has.
    stale_by_us: Option<u64>,
}

impl Association {
    fn init_params(&self) -> Vec<Param> {
        let mut exts = vec![chunk_type::FORWARD_TSN, chunk_type::RE_CONFIG];
        if self.cfg.enable_idata {
            exts.push(chunk_type::I_DATA);
            exts.push(chunk_type::I_FORWARD_TSN);
        }
        let mut params = vec![
            Param::ForwardTsnSupported,
            Param::SupportedExtensions(Bytes::from(exts)),
        ];
        if self.cfg.zero_checksum {
            params.push(Param::ZeroChecksumAcceptable { edmid: EDMID_DTLS });
        }
        params
    }

    /// Starts the handshake by sending INIT (active open). Both ends of a WebRTC
    /// association usually do this at once; the INIT collision is handled (§5.2.1).
    pub fn connect(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state != State::Closed {
            return;
        }
        self.state = State::CookieWait;
        self.init_retransmits = 0;
        self.send_init();
        self.timers.set(Timer::Init, now + self.rto);
    }

    pub(super) fn send_init(&mut self) {
        let init = InitChunk {
            initiate_tag: self.local_vtag,
            a_rwnd: self.cfg.receive_buffer_size as u32,
            num_outbound_streams: self.cfg.num_streams,
            num_inbound_streams: self.cfg.num_streams,
            initial_tsn: self.local_initial_tsn,
            params: self.init_params(),
        };
        self.send_single(0, Chunk::Init(init), true);
    }

    fn peer_from_init(init: &InitChunk) -> Peer {
        let mut p = Peer {
            vtag: init.initiate_tag,
            a_rwnd: init.a_rwnd,
            initial_tsn: init.initial_tsn,
            num_in: init.num_inbound_streams,
            num_out: init.num_outbound_streams,
            forward_tsn: false,
            reconfig: false,
            zero_checksum: false,
            idata: false,
        };
        for param in &init.params {
            match param {
                Param::ForwardTsnSupported => p.forward_tsn = true,
                Param::SupportedExtensions(e) => {
                    p.reconfig |= e.contains(&chunk_type::RE_CONFIG);
                    p.forward_tsn |= e.contains(&chunk_type::FORWARD_TSN);
                    p.idata |=
                        e.contains(&chunk_type::I_DATA) && e.contains(&chunk_type::I_FORWARD_TSN);
                }
                Param::ZeroChecksumAcceptable { edmid } => p.zero_checksum = *edmid == EDMID_DTLS,
                _ => {}
            }
        }
        p
    }

    /// Builds the State Cookie of an INIT ACK (RFC 9260 §5.1.3): everything needed to create
    /// the association later, the Tie-Tags of §5.2.2 and a timestamp, under an HMAC-SHA256
    /// with a key only we know.
    fn make_cookie(
        &self,
        now: Instant,
        peer: &Peer,
        local_tag: u32,
        local_tsn: u32,
        tie: (u32, u32),
    ) -> Bytes {
        let mut b = BytesMut::with_capacity(COOKIE_BODY_LEN + COOKIE_MAC_LEN);
        b.put_u32(peer.vtag);
        b.put_u32(local_tag);
        b.put_u32(peer.a_rwnd);
        b.put_u32(peer.initial_tsn);
        b.put_u32(local_tsn);
        b.put_u32(tie.0);
        b.put_u32(tie.1);
        b.put_u16(peer.num_in);
        b.put_u16(peer.num_out);
        b.put_u8(
            (peer.forward_tsn as u8)
                | (peer.reconfig as u8) << 1
                | (peer.zero_checksum as u8) << 2
                | (peer.idata as u8) << 3,
        );
        b.put_u64(self.now_ms(now));
        let mac = self.cookie_mac(&b);
        b.put_slice(&mac);
        b.freeze()
    }

    /// A fresh, unpredictable 32-bit value (new Initiate Tags and initial TSNs after
    /// construction, RFC 9260 §5.3.1). Derived with HMAC-SHA256 from the secret key drawn from
    /// the caller's RNG, so the state machine needs no RNG after `new` and stays deterministic
    /// for a given seed.
    fn fresh_u32(&mut self) -> u32 {
        self.tag_counter = self.tag_counter.wrapping_add(1);
        let mut input = [0u8; 24];
        input[..16].copy_from_slice(b"ferrtc-sctp-tag\0");
        input[16..].copy_from_slice(&self.tag_counter.to_be_bytes());
        let mac = self.cookie_mac(&input);
        let v = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
        if v == 0 {
            1
        } else {
            v
        }
    }

    fn cookie_mac(&self, body: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so new_from_slice cannot fail for 32 bytes.
        let mut out = [0u8; 32];
        if let Ok(mut m) = HmacSha256::new_from_slice(&self.cookie_key) {
            m.update(body);
            out.copy_from_slice(&m.finalize().into_bytes());
        }
        out
    }

    /// Checks a State Cookie's MAC and unpacks it (RFC 9260 §5.1.5 steps 1, 2). Its age is
    /// reported, not judged: whether a stale cookie is still acceptable depends on the
    /// association's tags (§5.2.4 step 3).
    fn open_cookie(&self, now: Instant, cookie: &[u8]) -> Result<Cookie, Error> {
        if cookie.len() != COOKIE_BODY_LEN + COOKIE_MAC_LEN {
            return Err(Error::BadCookie("wrong length"));
        }
        let (body, mac) = cookie.split_at(COOKIE_BODY_LEN);
        let mut m =
            HmacSha256::new_from_slice(&self.cookie_key).map_err(|_| Error::BadCookie("key"))?;
        m.update(body);
        m.verify_slice(mac)
            .map_err(|_| Error::BadCookie("MAC mismatch"))?;
        let (_, fields) = crate::wire::run(body, 0, "state cookie", cookie_fields)?;
        let (vtag, local_tag, a_rwnd, initial_tsn, local_tsn, local_tie, peer_tie) = fields.0;
        let (num_in, num_out, f, hi, lo) = fields.1;
        let created = u64::from(hi) << 32 | u64::from(lo);
        let age = self.now_ms(now).saturating_sub(created);
        let life = self.cfg.cookie_lifetime.as_millis() as u64;
        let stale_by_us = (age > life).then(|| (age - life).saturating_mul(1000));
        Ok(Cookie {
            peer: Peer {
                vtag,
                a_rwnd,
                initial_tsn,
                num_in,
                num_out,
                forward_tsn: f & 1 != 0,
                reconfig: f & 2 != 0,
                zero_checksum: f & 4 != 0,
                idata: f & 8 != 0,
            },
            local_tag,
            local_tsn,
            local_tie,
            peer_tie,
            stale_by_us,
        })
    }

    pub(super) fn establish(&mut self, now: Instant, peer: Peer) {
        self.peer_cum = peer.initial_tsn.wrapping_sub(1);
        self.reasm_base = self.peer_cum;
        self.peer_rwnd = peer.a_rwnd as usize;
        self.ssthresh = peer.a_rwnd as usize;
        self.peer_next_req_seq = peer.initial_tsn;
        self.idata = self.cfg.enable_idata && peer.idata;
        // Usable streams: what we offered and what the peer can take (RFC 9260 §5.1.1).
        self.out_streams = self.cfg.num_streams.min(peer.num_in);
        self.in_streams = self.cfg.num_streams.min(peer.num_out);
        self.peer = Some(peer);
        self.state = State::Established;
        self.timers.stop(Timer::Init);
        self.cookie_to_echo = None;
        self.error_count = 0;
        if let Some(i) = self.cfg.heartbeat_interval {
            self.timers.set(Timer::Heartbeat, now + i);
        }
        debug!(vtag = self.local_vtag, "sctp association established");
        self.events.push_back(Event::Connected);
    }

    /// §5.2.6 alternative 1: a Stale Cookie error in COOKIE-ECHOED starts the handshake
    /// again with a new INIT (other states discard the error). The retry uses a new tag, so a
    /// late COOKIE ECHO of the old attempt cannot be confused with the new one (§5.2.4 C),
    /// and counts against Max.Init.Retransmits so a peer cannot keep us retrying forever.
    pub(super) fn on_stale_cookie(&mut self, now: Instant) {
        self.stale_retries += 1;
        if self.stale_retries > self.cfg.max_init_retransmits {
            self.close_with(Event::Aborted {
                reason: "handshake failed: state cookies kept going stale".into(),
            });
            return;
        }
        self.local_vtag = self.fresh_u32();
        self.local_initial_tsn = self.fresh_u32();
        self.next_tsn = self.local_initial_tsn;
        self.cum_ack = self.local_initial_tsn.wrapping_sub(1);
        self.next_req_seq = self.local_initial_tsn;
        self.peer = None;
        self.cookie_to_echo = None;
        self.state = State::CookieWait;
        self.init_retransmits = 0;
        self.send_init();
        self.timers.set(Timer::Init, now + self.rto);
    }

    /// An INIT that fails to parse although its fixed fields are readable: a parameter runs
    /// past the end of the chunk, a parameter has an impossible length, or a stream count is
    /// 0. RFC 9260 §5.1: an endpoint that "decides not to establish the new association due
    /// to missing mandatory parameters in the received INIT [...] invalid parameter values
    /// [...] SHOULD respond with an ABORT chunk", with a cause, and with the Verification Tag
    /// "set to the Initiate Tag value of the received INIT"; §3.3.2 says the same for OS or
    /// MIS 0, and that the existing association (if any) MUST NOT change. The cause is
    /// "Invalid Mandatory Parameter" (§3.3.10.7) for a zero stream count and "Protocol
    /// Violation" (§3.3.10.13) naming the problem otherwise. An Initiate Tag of 0 is
    /// silently discarded (§3.3.2), as are INITs in packets with a non-zero tag (§8.5.1).
    pub(super) fn answer_malformed_init(&mut self, packet_vtag: u32, raw: &Bytes) {
        let Some(&[ty, flags, l0, l1]) = raw.get(COMMON_HEADER_LEN..COMMON_HEADER_LEN + 4) else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if packet_vtag != 0 || ty != chunk_type::INIT || len < 20 {
            return;
        }
        let Some(value) = raw.get(COMMON_HEADER_LEN + 4..COMMON_HEADER_LEN + len) else {
            return; // the chunk itself overruns the packet: nothing to answer
        };
        let Some(&[t0, t1, t2, t3]) = value.get(..4) else {
            return;
        };
        let initiate_tag = u32::from_be_bytes([t0, t1, t2, t3]);
        if initiate_tag == 0 {
            return;
        }
        let err = match Chunk::parse(
            ty,
            flags,
            raw.slice(COMMON_HEADER_LEN + 4..COMMON_HEADER_LEN + len),
            16,
        ) {
            Ok(_) => return, // the INIT is fine; something after it is not
            Err(e) => e,
        };
        let streams_zero = matches!(value.get(8..12), Some(&[0, 0, _, _] | &[_, _, 0, 0]));
        let cause = if streams_zero {
            ErrorCause {
                code: cause_code::INVALID_MANDATORY_PARAMETER,
                info: Bytes::new(),
            }
        } else {
            ErrorCause {
                code: cause_code::PROTOCOL_VIOLATION,
                info: Bytes::from(err.to_string()),
            }
        };
        debug!(%err, "sctp: malformed INIT answered with ABORT");
        self.send_single(
            initiate_tag,
            Chunk::Abort {
                reflected_tag: false,
                causes: vec![cause],
            },
            true,
        );
    }

    /// INIT: answered statelessly with an INIT ACK and a cookie when there is no association;
    /// collisions and unexpected INITs follow RFC 9260 §5.2.1 and §5.2.2.
    pub(super) fn on_init(&mut self, now: Instant, init: InitChunk) {
        let current_peer = self.peer.as_ref().map(|p| p.vtag);
        let (local_tag, local_tsn, tie) = match self.state {
            // §9.2: the SHUTDOWN COMPLETE was probably lost; discard and repeat SHUTDOWN ACK.
            State::ShutdownAckSent => {
                let vt = current_peer.unwrap_or(0);
                self.send_single(vt, Chunk::ShutdownAck, false);
                return;
            }
            State::Closed if self.peer.is_some() => {
                // This association has ended and cannot be set up again: say so at once
                // (ABORT with the INIT's Initiate Tag, T bit clear, §8.4 / §8.5.1 B).
                self.send_single(
                    init.initiate_tag,
                    Chunk::Abort {
                        reflected_tag: false,
                        causes: vec![],
                    },
                    true,
                );
                return;
            }
            // No TCB, or INIT sent (§5.2.1): our original parameters, no Tie-Tags.
            State::Closed | State::CookieWait => (self.local_vtag, self.local_initial_tsn, (0, 0)),
            // §5.2.1: the original parameters, and Tie-Tags so a COOKIE ECHO of this cookie
            // can be matched against the forming association.
            State::CookieEchoed => (
                self.local_vtag,
                self.local_initial_tsn,
                (self.local_vtag, current_peer.unwrap_or(0)),
            ),
            // §5.2.2: an established association answers with a new Initiate Tag and the
            // current tags as Tie-Tags, and changes nothing. Only a COOKIE ECHO of this
            // cookie that matches the Tie-Tags can then restart the association (§5.2.4 A).
            State::Established
            | State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownReceived => {
                let tag = self.fresh_u32();
                let tsn = self.fresh_u32();
                (tag, tsn, (self.local_vtag, current_peer.unwrap_or(0)))
            }
        };
        let peer = Self::peer_from_init(&init);
        let cookie = self.make_cookie(now, &peer, local_tag, local_tsn, tie);
        let mut params = self.init_params();
        params.insert(0, Param::StateCookie(cookie));
        let ack = InitChunk {
            initiate_tag: local_tag,
            a_rwnd: self.cfg.receive_buffer_size as u32,
            num_outbound_streams: self.cfg.num_streams.min(init.num_inbound_streams),
            num_inbound_streams: self.cfg.num_streams,
            initial_tsn: local_tsn,
            params,
        };
        self.send_single(init.initiate_tag, Chunk::InitAck(ack), true);
    }

    pub(super) fn on_init_ack(&mut self, now: Instant, ack: InitChunk) {
        if self.state != State::CookieWait {
            return;
        }
        let cookie = ack.params.iter().find_map(|p| match p {
            Param::StateCookie(c) => Some(c.clone()),
            _ => None,
        });
        let Some(cookie) = cookie else {
            self.abort("INIT ACK without state cookie");
            return;
        };
        let peer = Self::peer_from_init(&ack);
        let vt = peer.vtag;
        self.peer = Some(peer);
        self.state = State::CookieEchoed;
        self.cookie_to_echo = Some(cookie.clone());
        self.init_retransmits = 0;
        self.timers.set(Timer::Init, now + self.rto);
        self.send_single(vt, Chunk::CookieEcho { cookie }, true);
    }

    /// COOKIE ECHO (RFC 9260 §5.1.5, and §5.2.4 when an association exists). Returns false
    /// when the rest of the packet must be dropped.
    pub(super) fn on_cookie_echo(
        &mut self,
        now: Instant,
        cookie: &[u8],
        vtag: u32,
    ) -> Result<bool, Error> {
        let c = self.open_cookie(now, cookie)?;
        // §8.5.1 D / §5.1.5 step 3: the packet carries the tag we chose in the INIT ACK.
        if vtag != c.local_tag {
            return Err(Error::BadVerificationTag {
                received: vtag,
                expected: c.local_tag,
            });
        }
        if self.state == State::Closed && self.peer.is_some() {
            // This association is over; an Association object is not set up twice.
            return Ok(false);
        }
        let tcb = self.state != State::Closed;
        let cur_local = self.local_vtag;
        // The peer's tag is known once its INIT ACK arrived (COOKIE-ECHOED and later).
        let cur_peer = match self.state {
            State::Closed | State::CookieWait => None,
            _ => self.peer.as_ref().map(|p| p.vtag),
        };
        let local_m = c.local_tag == cur_local;
        let peer_m = cur_peer == Some(c.peer.vtag);
        if let Some(stale_by) = c.stale_by_us {
            // §5.2.4 step 3: an old cookie is still good when both of its tags are those of
            // the current association (case E, a retransmitted COOKIE ECHO); otherwise it
            // is answered with a Stale Cookie error (§5.1.5 step 3).
            if !(tcb && local_m && peer_m) {
                let staleness = u32::try_from(stale_by).unwrap_or(u32::MAX);
                let causes = vec![ErrorCause {
                    code: cause_code::STALE_COOKIE,
                    info: Bytes::copy_from_slice(&staleness.to_be_bytes()),
                }];
                self.send_single(c.peer.vtag, Chunk::Error { causes }, true);
                return Ok(false);
            }
        }
        let peer_vtag = c.peer.vtag;
        if !tcb {
            // No association yet (§5.1.5): the cookie must be from an INIT ACK we sent for it.
            if !local_m {
                return Err(Error::BadCookie("tag of another association"));
            }
            self.establish(now, c.peer);
            self.send_single(peer_vtag, Chunk::CookieAck, false);
            return Ok(true);
        }
        // §5.2.4 Table 12.
        let ties_m = c.local_tie == cur_local && Some(c.peer_tie) == cur_peer;
        let ties_0 = c.local_tie == 0 && c.peer_tie == 0;
        if !local_m && !peer_m && ties_m {
            // Action A: the peer restarted.
            if !self.cookie_action_a(now, c, cur_peer) {
                return Ok(false);
            }
        } else if local_m && peer_m {
            // Action D: both tags match. In COOKIE-ECHOED this is the normal end of an INIT
            // collision; when established, a retransmitted COOKIE ECHO (case E).
            if self.state == State::CookieEchoed {
                self.establish(now, c.peer);
            }
        } else if local_m {
            // Action B: the peer picked a new tag after answering our INIT.
            if !self.cookie_action_b(now, c, cur_peer) {
                return Ok(false);
            }
        } else if peer_m && ties_0 {
            // Action C: our own cookie arrived late; silently discard.
            trace!("sctp late COOKIE ECHO discarded (RFC 9260 §5.2.4 C)");
            return Ok(false);
        } else {
            // Not in Table 12: silently discard.
            trace!("sctp COOKIE ECHO matching no case of RFC 9260 §5.2.4 discarded");
            return Ok(false);
        }
        self.send_single(peer_vtag, Chunk::CookieAck, false);
        Ok(true)
    }

    /// §5.2.4 action A, the peer restarted: restart the association from the cookie, or in
    /// SHUTDOWN-ACK-SENT answer with SHUTDOWN ACK and a "Cookie Received While Shutting
    /// Down" error (§5.2.4 A). True when a COOKIE ACK is due.
    fn cookie_action_a(&mut self, now: Instant, c: Cookie, cur_peer: Option<u32>) -> bool {
        if self.state == State::ShutdownAckSent {
            let vt = cur_peer.unwrap_or(0);
            self.send_single(vt, Chunk::ShutdownAck, false);
            self.send_single(
                c.peer.vtag,
                Chunk::Error {
                    causes: vec![ErrorCause {
                        code: cause_code::COOKIE_WHILE_SHUTTING_DOWN,
                        info: Bytes::new(),
                    }],
                },
                true,
            );
            return false;
        }
        debug!(
            old = self.local_vtag,
            new = c.local_tag,
            "sctp peer restart"
        );
        self.restart(now, c);
        true
    }

    /// §5.2.4 action B: the peer picked a new tag after answering our INIT. Take its tag;
    /// still forming, the cookie describes the peer completely. True when a COOKIE ACK is
    /// due.
    fn cookie_action_b(&mut self, now: Instant, c: Cookie, cur_peer: Option<u32>) -> bool {
        if self.abandoned_peer_tags.contains(&c.peer.vtag) {
            // A duplicate of a cookie from an attempt we already moved away from:
            // taking it would switch back to a peer tag nobody uses any more.
            trace!("sctp COOKIE ECHO for an abandoned peer tag discarded");
            return false;
        }
        if let Some(old) = cur_peer {
            if self.abandoned_peer_tags.len() >= 8 {
                self.abandoned_peer_tags.pop_front();
            }
            self.abandoned_peer_tags.push_back(old);
        }
        match self.state {
            State::CookieWait | State::CookieEchoed => self.establish(now, c.peer),
            _ => self.adopt_peer(c.peer),
        }
        self.timers.stop(Timer::Init);
        true
    }

    /// §5.2.4 action B when already established: the peer we are talking to is the one that
    /// sent the cookie's INIT. Besides its tag, take its initial TSN (what we received from
    /// an earlier attempt of the peer is in another TSN space and is dropped) and its
    /// parameters. Our send side is kept: what is in flight is retransmitted with the TSNs
    /// the peer expects from our INIT ACK.
    fn adopt_peer(&mut self, peer: Peer) {
        let same_tsn = self
            .peer
            .as_ref()
            .is_some_and(|p| p.initial_tsn == peer.initial_tsn);
        if !same_tsn {
            self.peer_cum = peer.initial_tsn.wrapping_sub(1);
            self.reasm_base = self.peer_cum;
            self.peer_next_req_seq = peer.initial_tsn;
            self.out_of_order.clear();
            self.dups.clear();
            self.reasm.clear();
            self.ireasm.clear();
            self.streams_in.clear();
            self.rx_buffered = 0;
            self.rx_partial = 0;
            self.deferred_incoming = None;
            self.last_responses.clear();
        }
        if self.next_tsn == self.local_initial_tsn {
            // Nothing sent yet: the data format can still follow the new negotiation.
            self.idata = self.cfg.enable_idata && peer.idata;
        }
        self.out_streams = self.cfg.num_streams.min(peer.num_in);
        self.in_streams = self.cfg.num_streams.min(peer.num_out);
        self.peer = Some(peer);
    }

    /// §5.2.4 action A: the peer restarted. The association starts over with the tags and
    /// TSNs of the cookie, as if an ABORT and a new COOKIE ECHO had arrived, except that the
    /// layer above gets [`Event::Restarted`] and queued, unsent user messages are kept.
    fn restart(&mut self, now: Instant, c: Cookie) {
        self.local_vtag = c.local_tag;
        self.local_initial_tsn = c.local_tsn;
        self.restart_state();
        self.establish(now, c.peer);
        self.events.retain(|e| *e != Event::Connected);
        self.events.push_back(Event::Restarted);
    }

    fn restart_state(&mut self) {
        self.inflight.clear();
        self.flight_size = 0;
        self.rtx_pending = 0;
        self.fast_rtx_once = false;
        self.out_of_order.clear();
        self.dups.clear();
        self.reasm.clear();
        self.ireasm.clear();
        self.streams_in.clear();
        self.rx_buffered = 0;
        self.rx_partial = 0;
        // Messages partly handed out start again from their first byte.
        let mut ids: Vec<u16> = Vec::new();
        for (id, s) in self.streams_out.iter_mut() {
            s.next_ssn = 0;
            s.next_umid = 0;
            if let Some(m) = s.queue.front_mut() {
                if m.offset > 0 {
                    s.buffered += m.offset;
                    self.queued_bytes += m.offset;
                    m.offset = 0;
                    m.fsn = 0;
                }
            }
            if !s.queue.is_empty() {
                ids.push(*id);
            }
        }
        ids.sort_unstable();
        self.current = None;
        self.active = ids.into();
        self.next_tsn = self.local_initial_tsn;
        self.cum_ack = self.local_initial_tsn.wrapping_sub(1);
        // Congestion control starts over (§5.2.4 A).
        self.cwnd = initial_cwnd(self.mtu());
        self.ssthresh = usize::MAX;
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.burst_budget = self.cfg.max_burst;
        self.srtt = None;
        self.rttvar = Duration::ZERO;
        self.rto = self.cfg.rto_initial;
        self.timers.stop(Timer::Retransmit);
        self.timers.stop(Timer::DelayedAck);
        self.ack_now = false;
        self.ack_pending = false;
        self.packets_since_ack = 0;
        self.hb_outstanding = false;
        self.control.clear();
        // RE-CONFIG sequence numbers restart from the new initial TSNs; a reset that was in
        // flight is asked for again.
        self.next_req_seq = self.local_initial_tsn;
        self.requeue_reconfig();
        self.deferred_incoming = None;
        self.last_responses.clear();
        self.timers.stop(Timer::Reconfig);
    }
}
