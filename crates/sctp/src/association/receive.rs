//! Receiving packets: checksum, ports and verification tag (RFC 9260 §8.5), chunk dispatch,
//! unrecognized chunks (§3.2), the DATA / I-DATA acceptance rules (§6.2, §6.5) and the SACK
//! timing that follows them.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tracing::debug;

use crate::chunk::{
    cause_code, chunk_type, pad4, Chunk, DataChunk, ErrorCause, UnrecognizedAction,
};
use crate::packet::{ChecksumMode, Packet};
use crate::Error;

use super::*;

/// Shortest time between two ERROR chunks reporting unrecognized chunks.
const ERROR_REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// What one packet's chunks left to do once all were handled.
#[derive(Default)]
struct PacketRx {
    /// DATA, I-DATA or a FORWARD-TSN arrived: a SACK is due (now or delayed).
    got_data: bool,
    /// A DATA chunk had the I bit (RFC 7053): SACK at once.
    immediate: bool,
    /// Unrecognized chunks to report: all of a packet's go into one ERROR chunk.
    unrecognized: Vec<ErrorCause>,
}

/// What to do after one chunk.
enum Flow {
    /// Go on with the next chunk.
    Next,
    /// Stop processing the packet's chunks (RFC 9260 §3.2 upper bits 00/01) but finish the
    /// packet (reports, SACK timing).
    Stop,
    /// The packet is finished (the association closed, restarted or was answered).
    Done,
}

impl Association {
    /// Processes one received SCTP packet.
    pub fn handle_receive(&mut self, now: Instant, datagram: Bytes) -> Result<(), Error> {
        self.now = self.now.max(now);
        let mode = if self.cfg.zero_checksum {
            ChecksumMode::ZeroAllowed
        } else {
            ChecksumMode::Crc32c
        };
        let res = self.receive_inner(now, datagram, mode);
        if res.is_err() {
            self.stats.packets_dropped += 1;
        }
        res
    }

    fn receive_inner(
        &mut self,
        now: Instant,
        datagram: Bytes,
        mode: ChecksumMode,
    ) -> Result<(), Error> {
        // Kept (a reference count, no copy) to answer a malformed INIT below.
        let raw = datagram.clone();
        let (header, iter) = Packet::parse_lazy(datagram, mode)?;
        if header.dst_port != self.cfg.local_port || header.src_port != self.cfg.remote_port {
            return Err(Error::InvalidValue {
                what: "SCTP port",
                offset: 0,
            });
        }
        // Parse every chunk first: a malformed packet is dropped as a whole (an INIT gets an
        // ABORT too, see `answer_malformed_init`).
        let chunks: Vec<Chunk> = match iter.collect::<Result<_, _>>() {
            Ok(c) => c,
            Err(e) => {
                self.answer_malformed_init(header.verification_tag, &raw);
                return Err(e);
            }
        };
        let vtag = header.verification_tag;
        if !self.check_verification_tag(vtag, &chunks)? {
            return Ok(());
        }
        self.stats.packets_received += 1;
        let mut rx = PacketRx::default();
        for chunk in chunks {
            match self.on_chunk(now, vtag, chunk, &mut rx)? {
                Flow::Next => {}
                Flow::Stop => break,
                Flow::Done => return Ok(()),
            }
        }
        self.report_unrecognized(now, std::mem::take(&mut rx.unrecognized));
        if rx.got_data {
            self.after_data(now, rx.immediate);
        }
        self.maybe_progress_shutdown(now);
        Ok(())
    }

    /// Verification tag rules (RFC 9260 §8.5, §8.5.1). `Ok(false)`: the packet was answered
    /// here (an out-of-the-blue SHUTDOWN ACK) and needs nothing more.
    fn check_verification_tag(&mut self, vtag: u32, chunks: &[Chunk]) -> Result<bool, Error> {
        match chunks.first().map(Chunk::chunk_type) {
            Some(chunk_type::INIT) => {
                if vtag != 0 || chunks.len() != 1 {
                    return Err(Error::InvalidValue {
                        what: "INIT packet",
                        offset: 4,
                    });
                }
            }
            Some(chunk_type::ABORT) | Some(chunk_type::SHUTDOWN_COMPLETE) => {
                let t = matches!(
                    chunks.first(),
                    Some(Chunk::Abort {
                        reflected_tag: true,
                        ..
                    }) | Some(Chunk::ShutdownComplete {
                        reflected_tag: true
                    })
                );
                let expected = if t {
                    self.peer.as_ref().map_or(0, |p| p.vtag)
                } else {
                    self.local_vtag
                };
                if vtag != expected {
                    return Err(Error::BadVerificationTag {
                        received: vtag,
                        expected,
                    });
                }
            }
            Some(chunk_type::COOKIE_ECHO) => {} // checked against the cookie
            Some(chunk_type::SHUTDOWN_ACK)
                if self.state == State::Closed || self.state == State::CookieWait =>
            {
                // §8.4 (5): reply SHUTDOWN COMPLETE with T bit.
                self.send_single(
                    vtag,
                    Chunk::ShutdownComplete {
                        reflected_tag: true,
                    },
                    true,
                );
                return Ok(false);
            }
            _ => {
                if vtag != self.local_vtag {
                    return Err(Error::BadVerificationTag {
                        received: vtag,
                        expected: self.local_vtag,
                    });
                }
            }
        }
        Ok(true)
    }

    /// Handles one chunk of a packet that passed the tag checks.
    ///
    /// Longer than 100 lines on purpose: one arm per chunk type, in the order of RFC 9260
    /// §3.2's table and the extension RFCs, so the whole dispatch (and which state each
    /// chunk is accepted in) reads in one place; the arms call the per-chunk handlers.
    fn on_chunk(
        &mut self,
        now: Instant,
        vtag: u32,
        chunk: Chunk,
        rx: &mut PacketRx,
    ) -> Result<Flow, Error> {
        match chunk {
            Chunk::Data(d) if !self.idata => {
                if !matches!(
                    self.state,
                    State::Established | State::ShutdownPending | State::ShutdownSent
                ) {
                    return Ok(Flow::Next);
                }
                if d.payload.is_empty() {
                    self.no_user_data(d.tsn);
                    return Ok(Flow::Done);
                }
                rx.got_data = true;
                rx.immediate |= d.immediate;
                self.on_data(d)?;
            }
            Chunk::IData(d) if self.idata => {
                if !matches!(
                    self.state,
                    State::Established | State::ShutdownPending | State::ShutdownSent
                ) {
                    return Ok(Flow::Next);
                }
                if d.payload.is_empty() {
                    self.no_user_data(d.tsn);
                    return Ok(Flow::Done);
                }
                rx.got_data = true;
                rx.immediate |= d.immediate;
                self.on_idata(d);
            }
            Chunk::IForwardTsn {
                new_cum_tsn,
                streams,
            } if self.idata => {
                rx.got_data = true;
                let entries: Vec<(u16, bool, u32)> = streams
                    .iter()
                    .map(|e| (e.stream_id, e.unordered, e.mid))
                    .collect();
                self.on_forward_tsn(new_cum_tsn, &entries);
            }
            Chunk::Init(init) => self.on_init(now, init),
            Chunk::InitAck(ack) => self.on_init_ack(now, ack),
            Chunk::CookieEcho { cookie } => {
                if !self.on_cookie_echo(now, &cookie, vtag)? {
                    return Ok(Flow::Done);
                }
            }
            Chunk::CookieAck => {
                if self.state == State::CookieEchoed {
                    if let Some(peer) = self.peer.take() {
                        self.establish(now, peer);
                    }
                }
            }
            Chunk::Sack(s) => self.on_sack(now, s),
            Chunk::Heartbeat { info } => {
                if let Some(p) = &self.peer {
                    let vt = p.vtag;
                    self.control.push_back(Chunk::HeartbeatAck { info });
                    let _ = vt;
                }
            }
            Chunk::HeartbeatAck { info } => self.on_heartbeat_ack(now, &info),
            Chunk::Abort { causes, .. } => {
                self.abort_cause = causes.first().map(|c| c.code);
                let reason = causes
                    .first()
                    .map(|c| format!("peer abort, cause {}", c.code))
                    .unwrap_or_else(|| "peer abort".to_string());
                self.close_with(Event::Aborted { reason });
                return Ok(Flow::Done);
            }
            Chunk::Shutdown { cum_tsn_ack } => self.on_shutdown(now, cum_tsn_ack),
            Chunk::ShutdownAck => {
                if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
                    let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
                    self.send_single(
                        vt,
                        Chunk::ShutdownComplete {
                            reflected_tag: false,
                        },
                        false,
                    );
                    self.close_with(Event::Closed);
                    return Ok(Flow::Done);
                }
            }
            Chunk::ShutdownComplete { .. } => {
                if self.state == State::ShutdownAckSent {
                    self.close_with(Event::Closed);
                    return Ok(Flow::Done);
                }
            }
            Chunk::Error { causes } => {
                for c in causes {
                    debug!(code = c.code, "sctp peer reported error");
                    if c.code == cause_code::STALE_COOKIE && self.state == State::CookieEchoed {
                        self.on_stale_cookie(now);
                        return Ok(Flow::Done);
                    }
                }
            }
            Chunk::ForwardTsn {
                new_cum_tsn,
                streams,
            } if !self.idata => {
                rx.got_data = true;
                let entries: Vec<(u16, bool, u32)> = streams
                    .iter()
                    .map(|e| (e.stream_id, false, u32::from(e.ssn)))
                    .collect();
                self.on_forward_tsn(new_cum_tsn, &entries);
            }
            Chunk::IData(_)
            | Chunk::IForwardTsn { .. }
            | Chunk::Data(_)
            | Chunk::ForwardTsn { .. } => {
                // The wrong one of DATA / I-DATA for what was negotiated (RFC 8260 §2.2).
                self.protocol_violation("DATA / I-DATA mismatch with negotiation");
                return Ok(Flow::Done);
            }
            Chunk::ReConfig { params } => self.on_reconfig(now, params),
            Chunk::Pad { .. } => {}
            Chunk::Unknown {
                chunk_type: t,
                value,
                flags,
            } => match UnrecognizedAction::for_chunk_type(t) {
                UnrecognizedAction::Stop => return Ok(Flow::Stop),
                UnrecognizedAction::StopAndReport => {
                    self.collect_unrecognized(&mut rx.unrecognized, t, flags, &value);
                    return Ok(Flow::Stop);
                }
                UnrecognizedAction::Skip => {}
                UnrecognizedAction::SkipAndReport => {
                    self.collect_unrecognized(&mut rx.unrecognized, t, flags, &value)
                }
            },
        }
        Ok(Flow::Next)
    }

    /// After a packet with DATA (or FORWARD-TSN): SACK now or start the delayed SACK
    /// (RFC 9260 §6.2), answer SHUTDOWN-SENT with SHUTDOWN (§9.2), and run a stream reset
    /// that waited for this data (RFC 6525 §5.2.2).
    fn after_data(&mut self, now: Instant, immediate: bool) {
        self.packets_since_ack += 1;
        if immediate
            || self.packets_since_ack >= 2
            || !self.out_of_order.is_empty()
            || !self.dups.is_empty()
        {
            self.ack_now = true;
        } else {
            self.ack_pending = true;
            if !self.timers.is_armed(Timer::DelayedAck) {
                self.timers
                    .set(Timer::DelayedAck, now + self.cfg.delayed_ack);
            }
        }
        if self.state == State::ShutdownSent {
            // §9.2: answer DATA with SACK and SHUTDOWN.
            self.ack_now = true;
            self.control.push_back(Chunk::Shutdown {
                cum_tsn_ack: self.peer_cum,
            });
        }
        self.process_deferred_reset();
    }

    /// Adds an "Unrecognized Chunk Type" cause (RFC 9260 §3.3.10.6: the whole chunk, header
    /// included) for a chunk whose type asks to be reported (upper bits 01 or 11, §3.2), as
    /// long as the causes of this packet fit in half a packet. Later ones are not reported.
    fn collect_unrecognized(&self, causes: &mut Vec<ErrorCause>, t: u8, flags: u8, value: &Bytes) {
        let used: usize = causes.iter().map(|c| pad4(4 + c.info.len())).sum();
        let this = pad4(4 + 4 + value.len());
        if self.peer.is_none() || used + this > self.mtu() / 2 {
            return;
        }
        let Ok(len) = u16::try_from(4 + value.len()) else {
            return;
        };
        let mut info = BytesMut::with_capacity(4 + value.len());
        info.put_u8(t);
        info.put_u8(flags);
        info.put_u16(len);
        info.put_slice(value);
        causes.push(ErrorCause {
            code: cause_code::UNRECOGNIZED_CHUNK_TYPE,
            info: info.freeze(),
        });
    }

    /// Sends the unrecognized-chunk causes of one packet in one ERROR chunk, at most one such
    /// ERROR every [`ERROR_REPORT_INTERVAL`] (10 a second): a peer that fills packets with
    /// unknown chunks gets a bounded answer, never one ERROR per chunk (RFC 9260 §12.4: no
    /// more than one packet of control chunks in answer to one packet).
    fn report_unrecognized(&mut self, now: Instant, causes: Vec<ErrorCause>) {
        if causes.is_empty() {
            return;
        }
        if self
            .last_error_report
            .is_some_and(|t| now.saturating_duration_since(t) < ERROR_REPORT_INTERVAL)
        {
            self.stats.errors_not_reported += 1;
            return;
        }
        self.last_error_report = Some(now);
        self.control.push_back(Chunk::Error { causes });
    }

    /// "No User Data" (RFC 9260 §6.2: a DATA chunk with Length 16 "SHOULD" be answered with
    /// an ABORT carrying this cause; §3.3.10.9: the cause names the chunk's TSN). RFC 8260
    /// §2.1 carries the rule over to I-DATA.
    fn no_user_data(&mut self, tsn: u32) {
        self.abort_with(
            cause_code::NO_USER_DATA,
            Bytes::copy_from_slice(&tsn.to_be_bytes()),
            "peer sent DATA with no user data",
        );
    }

    /// Records a received TSN (§6.2): false when it is a duplicate or must be dropped.
    fn accept_tsn(&mut self, tsn: u32, len: usize) -> bool {
        if tsn_le(tsn, self.peer_cum) || self.out_of_order.contains(&tsn) {
            self.stats.duplicate_tsns += 1;
            if self.dups.len() < 16 {
                self.dups.push(tsn);
            }
            return false;
        }
        let distance = tsn.wrapping_sub(self.peer_cum) as usize;
        let max_ahead = (self.cfg.receive_buffer_size / 16).max(1024);
        if distance > max_ahead {
            return false; // far beyond any window we advertised
        }
        if distance != 1 && self.window_used() + len > self.cfg.receive_buffer_size {
            return false; // no room: drop, the peer retransmits (§6.2)
        }
        // Hard memory bound; the next in-order chunk gets one more message of slack so the
        // association cannot deadlock on incomplete messages.
        let cap = self.cfg.receive_buffer_size
            + self.cfg.max_message_size * if distance == 1 { 2 } else { 1 };
        if self.rx_buffered + len > cap {
            return false;
        }
        if distance == 1 {
            self.peer_cum = tsn;
            while let Some(&n) = self.out_of_order.first() {
                if n == self.peer_cum.wrapping_add(1) {
                    self.peer_cum = n;
                    self.out_of_order.pop_first();
                } else {
                    break;
                }
            }
        } else {
            if self.out_of_order.len() >= max_ahead {
                return false;
            }
            self.out_of_order.insert(tsn);
        }
        self.rx_buffered += len;
        true
    }

    /// DATA or I-DATA on a stream the peer may not use (RFC 9260 §6.5): the TSN is
    /// acknowledged, the payload dropped, and an ERROR reports the stream (once per packet).
    fn invalid_stream(&mut self, tsn: u32, stream: u16) {
        self.accept_tsn(tsn, 0);
        let queued = self.control.iter().any(|c| {
            matches!(c, Chunk::Error { causes } if causes.iter().any(|x| x.code == cause_code::INVALID_STREAM_IDENTIFIER))
        });
        if !queued {
            let mut info = BytesMut::with_capacity(4);
            info.put_u16(stream);
            info.put_u16(0);
            self.control.push_back(Chunk::Error {
                causes: vec![ErrorCause {
                    code: cause_code::INVALID_STREAM_IDENTIFIER,
                    info: info.freeze(),
                }],
            });
        }
    }

    fn on_data(&mut self, d: DataChunk) -> Result<(), Error> {
        let tsn = d.tsn;
        if d.stream_id >= self.in_streams {
            self.invalid_stream(tsn, d.stream_id);
            return Ok(());
        }
        if !self.accept_tsn(tsn, d.payload.len()) {
            return Ok(());
        }
        let flags = (d.ending as u8) | (d.beginning as u8) << 1 | (d.unordered as u8) << 2;
        if d.beginning && d.ending {
            let m = Message {
                stream_id: d.stream_id,
                ppid: d.ppid,
                unordered: d.unordered,
                payload: d.payload,
            };
            self.complete_message(m, u32::from(d.ssn));
            return Ok(());
        }
        if self.reasm.is_empty() {
            // Re-anchor the 64-bit key space so TSN wrap-around never reorders keys.
            self.reasm_base = self.peer_cum;
        }
        let key = self.key_of(tsn);
        let len = d.payload.len();
        if let Some(old) = self.reasm.insert(
            key,
            Frag {
                stream_id: d.stream_id,
                ssn: d.ssn,
                ppid: d.ppid,
                flags,
                payload: d.payload,
            },
        ) {
            self.rx_partial = self.rx_partial.saturating_sub(old.payload.len());
        }
        self.rx_partial += len;
        // A message can only complete if this chunk ends it or closes a gap before an end.
        if !d.ending && !self.reasm.contains_key(&(key + 1)) {
            return Ok(());
        }
        self.try_reassemble(key)
    }

    /// I-DATA (RFC 8260 §2.1): fragments are collected per (stream, U, MID) by FSN, so
    /// messages of different streams can interleave.
    fn on_idata(&mut self, d: crate::chunk::IDataChunk) {
        let len = d.payload.len();
        if d.stream_id >= self.in_streams {
            self.invalid_stream(d.tsn, d.stream_id);
            return;
        }
        if !self.accept_tsn(d.tsn, len) {
            return;
        }
        if d.beginning && d.ending {
            let m = Message {
                stream_id: d.stream_id,
                ppid: d.ppid_or_fsn,
                unordered: d.unordered,
                payload: d.payload,
            };
            self.complete_message(m, d.mid);
            return;
        }
        let key = (d.stream_id, d.unordered, d.mid);
        let fsn = d.fsn();
        let p = self.ireasm.entry(key).or_default();
        if d.beginning {
            p.ppid = d.ppid_or_fsn;
        }
        if d.ending {
            p.last_fsn = Some(fsn);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = p.frags.entry(fsn) {
            e.insert(d.payload);
            p.bytes += len;
            self.rx_partial += len;
        } else {
            // Same FSN under a new TSN: a hostile or confused peer; keep the first copy.
            self.rx_buffered = self.rx_buffered.saturating_sub(len);
        }
        if p.bytes > self.cfg.max_message_size {
            self.abort("received message exceeds max message size");
            return;
        }
        let complete = p.last_fsn.is_some_and(|last| {
            p.frags.len() as u64 == u64::from(last) + 1
                && p.frags.last_key_value().is_some_and(|(k, _)| *k == last)
        });
        if !complete {
            return;
        }
        let Some(p) = self.ireasm.remove(&key) else {
            return;
        };
        self.rx_partial = self.rx_partial.saturating_sub(p.bytes);
        let mut buf = BytesMut::with_capacity(p.bytes);
        for f in p.frags.values() {
            buf.put_slice(f);
        }
        let m = Message {
            stream_id: d.stream_id,
            ppid: p.ppid,
            unordered: d.unordered,
            payload: buf.freeze(),
        };
        self.complete_message(m, d.mid);
    }

    fn on_heartbeat_ack(&mut self, now: Instant, info: &Bytes) {
        if info.len() != 8 {
            return;
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(info);
        let sent = u64::from_be_bytes(a);
        let rtt = Duration::from_millis(self.now_ms(now).saturating_sub(sent));
        self.hb_outstanding = false;
        self.error_count = 0;
        self.update_rto(rtt.max(Duration::from_micros(1)));
    }
}
