//! Packet assembly: what `poll_transmit` puts in the next packet (SACK, control chunks,
//! retransmissions, then new data within the windows, RFC 9260 §6.1), and `poll_event`.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

use crate::chunk::{
    pad4, write_data_header, write_idata_header, Chunk, DATA_HEADER_LEN, IDATA_HEADER_LEN,
};
use crate::packet::{finish_checksum, write_common_header, CommonHeader};

use super::*;

impl Association {
    /// Next event for the layer above.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let Some(ev) = self.events.pop_front() else {
            release_if_empty(&mut self.events);
            return None;
        };
        if let Event::Message(m) = &ev {
            self.rx_buffered = self.rx_buffered.saturating_sub(m.payload.len());
            // Window update when the window opens substantially (SWS avoidance, §6.2).
            let rwnd = self.rwnd();
            if rwnd
                >= self.last_advertised_rwnd
                    + (self.cfg.receive_buffer_size / 2).min(4 * self.mtu())
                && self.last_advertised_rwnd < self.cfg.receive_buffer_size / 2
            {
                self.ack_now = true;
            }
        }
        Some(ev)
    }

    /// Next packet to send, or `None` when nothing is due.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let now = self.now;
        if let Some(t) = self.transmits.pop_front() {
            self.stats.packets_sent += 1;
            return Some(t);
        }
        if self.state == State::Closed {
            return None;
        }
        self.maybe_start_reconfig(now);
        let p = self.build_packet(now);
        if p.is_some() {
            self.stats.packets_sent += 1;
        } else {
            // Nothing due: the single-packet and control queues are empty. The in-flight
            // queue drains only when every chunk is acknowledged, which a bulk sender keeps
            // from happening; in request/response use its buffer goes back after each reply.
            release_if_empty(&mut self.transmits);
            release_if_empty(&mut self.control);
            release_if_empty(&mut self.inflight);
            release_if_empty(&mut self.active);
        }
        p
    }

    fn can_send_data(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        )
    }

    fn build_packet(&mut self, now: Instant) -> Option<Bytes> {
        let vt = self.peer.as_ref()?.vtag;
        let mtu = self.mtu();
        let mut buf = BytesMut::with_capacity(mtu);
        write_common_header(
            &mut buf,
            &CommonHeader {
                src_port: self.cfg.local_port,
                dst_port: self.cfg.remote_port,
                verification_tag: vt,
            },
        );
        let mut any = false;
        let mut data_sent = false;
        // SACK first when due.
        if self.ack_now || (self.ack_pending && self.can_send_data() && self.has_data_to_send()) {
            let sack = Chunk::Sack(self.build_sack());
            sack.write_to(&mut buf);
            self.ack_now = false;
            self.ack_pending = false;
            self.timers.stop(Timer::DelayedAck);
            self.packets_since_ack = 0;
            any = true;
        }
        // Control chunks.
        while let Some(c) = self.control.front() {
            if buf.len() + c.encoded_len() > mtu && any {
                break;
            }
            if let Some(c) = self.control.pop_front() {
                c.write_to(&mut buf);
                any = true;
            }
        }
        if self.can_send_data() {
            // Retransmissions first (§6.1 C), then new data.
            let rtx = self.write_retransmissions(now, &mut buf, mtu);
            let new = self.rtx_pending == 0 && self.write_new_data(now, &mut buf, mtu);
            any |= rtx || new;
            data_sent = rtx || new;
        }
        if !any {
            return None;
        }
        if data_sent && !self.timers.is_armed(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rto);
        }
        if data_sent {
            self.hb_outstanding = false;
        }
        let zero = self.zero_checksum_negotiated();
        finish_checksum(&mut buf, zero);
        self.check_low_water();
        Some(buf.freeze())
    }

    /// Writes chunks marked for retransmission that fit (§6.1 C, §7.2.4: a fast
    /// retransmission may go out once regardless of cwnd). True if any was written.
    fn write_retransmissions(&mut self, now: Instant, buf: &mut BytesMut, mtu: usize) -> bool {
        let mut sent = false;
        if self.rtx_pending > 0 && (self.fast_rtx_once || self.flight_size < self.cwnd) {
            self.fast_rtx_once = false;
            for c in self.inflight.iter_mut() {
                if c.state != SentState::NeedsRtx {
                    continue;
                }
                let hdr = if self.idata {
                    IDATA_HEADER_LEN
                } else {
                    DATA_HEADER_LEN
                };
                let need = pad4(hdr + c.payload.len());
                if buf.len() + need > mtu {
                    break;
                }
                if self.idata {
                    let f = if c.flags & 2 != 0 { c.ppid } else { c.fsn };
                    write_idata_header(buf, c.flags, c.tsn, c.stream_id, c.seq, f, c.payload.len());
                } else {
                    write_data_header(
                        buf,
                        c.flags,
                        c.tsn,
                        c.stream_id,
                        c.seq as u16,
                        c.ppid,
                        c.payload.len(),
                    );
                }
                buf.put_slice(&c.payload);
                buf.put_bytes(0, need - hdr - c.payload.len());
                c.state = SentState::Outstanding;
                c.tx_count += 1;
                c.misses = 0;
                c.sent_at = now;
                self.flight_size += c.payload.len();
                self.rtx_pending -= 1;
                self.stats.retransmits += 1;
                sent = true;
                if self.rtx_pending == 0 {
                    break;
                }
            }
        }
        sent
    }

    /// Writes new DATA / I-DATA chunks within cwnd, the peer's window and the burst budget
    /// (§6.1 A, B). True if any was written.
    fn write_new_data(&mut self, now: Instant, buf: &mut BytesMut, mtu: usize) -> bool {
        let mut new_data = false;
        loop {
            let room = mtu.saturating_sub(buf.len());
            let window_ok = self.burst_budget > 0
                && self.flight_size < self.cwnd
                && (self.peer_rwnd > 0 || self.flight_size == 0);
            if !window_ok || !self.push_new_chunk(now, buf, room) {
                break;
            }
            new_data = true;
        }
        if new_data {
            self.burst_budget = self.burst_budget.saturating_sub(1);
        }
        new_data
    }

    fn has_data_to_send(&self) -> bool {
        self.rtx_pending > 0 || self.current.is_some() || !self.active.is_empty()
    }
}
