//! The association's timers as one table of named timers (`Timer`, `TimerTable`), and what
//! happens when each expires: T1-init / T1-cookie (RFC 9260 §5.1), T2-shutdown (§9.2),
//! T3-rtx (§6.3.3), the delayed SACK (§6.2), HEARTBEAT (§8.3) and the RE-CONFIG
//! retransmission (RFC 6525 §5.1.1).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::trace;

use crate::chunk::Chunk;

use super::*;

/// The association's timers. Each is armed at most once at a time; the table below holds
/// its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// T1-init in COOKIE-WAIT, T1-cookie in COOKIE-ECHOED (RFC 9260 §5.1): resend INIT or
    /// COOKIE ECHO.
    Init,
    /// T2-shutdown (§9.2): resend SHUTDOWN or SHUTDOWN ACK.
    Shutdown,
    /// T3-rtx (§6.3.2): retransmit outstanding DATA.
    Retransmit,
    /// Delayed SACK (§6.2): send the SACK that was held back.
    DelayedAck,
    /// HEARTBEAT interval (§8.3), when heartbeats are configured.
    Heartbeat,
    /// RE-CONFIG request retransmission (RFC 6525 §5.1.1).
    Reconfig,
}

impl Timer {
    /// Every timer (the table has one slot each).
    const ALL: [Timer; 6] = [
        Timer::Init,
        Timer::Shutdown,
        Timer::Retransmit,
        Timer::DelayedAck,
        Timer::Reconfig,
        Timer::Heartbeat,
    ];

    fn slot(self) -> usize {
        match self {
            Timer::Init => 0,
            Timer::Shutdown => 1,
            Timer::Retransmit => 2,
            Timer::DelayedAck => 3,
            Timer::Heartbeat => 4,
            Timer::Reconfig => 5,
        }
    }
}

/// Deadlines of the [`Timer`]s: `None` when a timer is not armed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TimerTable {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    /// Arms `timer` to fire at `at` (re-arming replaces the old deadline).
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = Some(at);
        }
    }

    /// Disarms `timer`.
    pub(super) fn stop(&mut self, timer: Timer) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = None;
        }
    }

    /// Disarms every timer (the association closed).
    pub(super) fn stop_all(&mut self) {
        self.deadlines = [None; Timer::ALL.len()];
    }

    /// Whether `timer` is armed.
    pub(super) fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines
            .get(timer.slot())
            .is_some_and(Option::is_some)
    }

    /// Whether `timer` is armed with a deadline at or before `now`.
    pub(super) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.deadlines
            .get(timer.slot())
            .copied()
            .flatten()
            .is_some_and(|t| t <= now)
    }

    /// The earliest deadline of all armed timers.
    pub(super) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

impl Association {
    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Processes timer expiries up to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.timers.is_expired(Timer::Init, now) {
            self.init_retransmits += 1;
            if self.init_retransmits > self.cfg.max_init_retransmits {
                self.close_with(Event::Aborted {
                    reason: "handshake timed out".into(),
                });
                return;
            }
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            match self.state {
                State::CookieWait => self.send_init(),
                State::CookieEchoed => {
                    if let (Some(c), Some(p)) = (self.cookie_to_echo.clone(), &self.peer) {
                        let vt = p.vtag;
                        self.send_single(vt, Chunk::CookieEcho { cookie: c }, true);
                    }
                }
                _ => {}
            }
            self.timers.set(Timer::Init, now + self.rto);
        }
        if self.timers.is_expired(Timer::Shutdown, now) {
            self.error_count += 1;
            if self.error_count > self.cfg.max_retransmits {
                self.close_with(Event::Aborted {
                    reason: "shutdown timed out".into(),
                });
                return;
            }
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
            match self.state {
                State::ShutdownSent => self.control.push_back(Chunk::Shutdown {
                    cum_tsn_ack: self.peer_cum,
                }),
                State::ShutdownAckSent => self.send_single(vt, Chunk::ShutdownAck, false),
                _ => {}
            }
            self.timers.set(Timer::Shutdown, now + self.rto);
        }
        if self.timers.is_expired(Timer::Retransmit, now) {
            self.on_t3(now);
            if self.state == State::Closed {
                return;
            }
        }
        if self.timers.is_expired(Timer::DelayedAck, now) {
            self.timers.stop(Timer::DelayedAck);
            if self.ack_pending {
                self.ack_now = true;
            }
        }
        if self.timers.is_expired(Timer::Reconfig, now) {
            if !self.reconfig_inflight.is_empty() {
                self.send_reconfig_request();
                self.timers.set(Timer::Reconfig, now + self.rto);
            } else {
                self.timers.stop(Timer::Reconfig);
            }
        }
        if self.timers.is_expired(Timer::Heartbeat, now) {
            let interval = self
                .cfg
                .heartbeat_interval
                .unwrap_or(Duration::from_secs(30));
            if self.state == State::Established {
                if self.hb_outstanding {
                    self.error_count += 1;
                    if self.error_count > self.cfg.max_retransmits {
                        self.close_with(Event::Aborted {
                            reason: "peer unreachable (heartbeats)".into(),
                        });
                        return;
                    }
                }
                if self.inflight.is_empty() {
                    let info = Bytes::copy_from_slice(&self.now_ms(now).to_be_bytes());
                    self.control.push_back(Chunk::Heartbeat { info });
                    self.hb_outstanding = true;
                }
            }
            self.timers.set(Timer::Heartbeat, now + interval + self.rto);
        }
    }

    fn on_t3(&mut self, now: Instant) {
        self.stats.t3_expiries += 1;
        self.error_count += 1;
        if self.error_count > self.cfg.max_retransmits {
            self.abort("too many retransmissions");
            return;
        }
        self.rto = (self.rto * 2).min(self.cfg.rto_max);
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu());
        self.cwnd = self.mtu();
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.burst_budget = self.cfg.max_burst;
        for c in self.inflight.iter_mut() {
            if c.state == SentState::Outstanding {
                c.state = SentState::NeedsRtx;
                self.flight_size -= c.payload.len();
                self.rtx_pending += 1;
            }
        }
        self.abandon_marked(now);
        self.update_forward_tsn();
        self.timers.set(Timer::Retransmit, now + self.rto);
        trace!(rto = ?self.rto, "sctp T3-rtx expired");
    }
}
