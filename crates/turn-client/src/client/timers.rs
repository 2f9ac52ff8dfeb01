//! Timers of the TURN client: retransmissions, allocation refresh, permission and channel
//! refresh and expiry (RFC 8656 §7.3, §9, §12), and when the caller must wake it next.

use ferrtc_stun::TransactionEvent;
use rand_core::RngCore;
use std::time::{Duration, Instant};

use super::{now_plus, AllocationState, Event, Purpose, TurnClient};

impl<R: RngCore> TurnClient<R> {
    /// Advance timers: retransmissions, refreshes, expiries.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        for (i, p) in self.pending.iter_mut().enumerate() {
            p.tx.handle_timeout(now);
            if let Some(TransactionEvent::TimedOut) = p.tx.poll_event() {
                timed_out.push(i);
            }
        }
        for i in timed_out.into_iter().rev() {
            if i < self.pending.len() {
                let p = self.pending.swap_remove(i);
                self.fail(p.purpose, None, "no response from the TURN server".into());
            }
        }
        if self.state == AllocationState::Allocated {
            if self.expires.is_some_and(|e| now >= e) {
                self.lose("allocation expired".into());
            } else if self.refresh_at.is_some_and(|r| now >= r)
                && !self
                    .pending
                    .iter()
                    .any(|p| matches!(p.purpose, Purpose::Refresh { .. }))
            {
                self.refresh_at = None;
                if let Err(e) = self.refresh(now) {
                    tracing::warn!(error = %e, "TURN refresh could not be sent");
                }
            }
        }
        if self.state == AllocationState::Allocated {
            self.maintain_permissions(now);
            self.maintain_channels(now);
        }
        self.flush();
    }

    pub(super) fn maintain_permissions(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut refresh = Vec::new();
        for (ip, p) in self.permissions.iter_mut() {
            if !p.installed || p.pending {
                continue;
            }
            if now >= p.expires {
                expired.push(*ip);
            } else if now >= p.refresh_at && p.used {
                p.pending = true;
                p.used = false;
                refresh.push(*ip);
            }
        }
        for ip in expired {
            self.permissions.remove(&ip);
            self.events.push_back(Event::PermissionExpired { peer: ip });
        }
        if !refresh.is_empty() {
            if let Err(e) = self.start(now, Purpose::CreatePermission { peers: refresh }, 0) {
                tracing::warn!(error = %e, "TURN permission refresh could not be sent");
            }
        }
    }

    pub(super) fn maintain_channels(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut refresh = Vec::new();
        for (n, c) in self.channels.iter_mut() {
            if !c.bound || c.pending {
                continue;
            }
            if now >= c.expires {
                expired.push(*n);
            } else if now >= c.refresh_at && c.used {
                c.pending = true;
                c.used = false;
                refresh.push((*n, c.peer));
            }
        }
        for n in expired {
            if let Some(c) = self.channels.remove(&n) {
                self.events.push_back(Event::ChannelExpired {
                    peer: c.peer,
                    channel: n,
                });
            }
        }
        for (channel, peer) in refresh {
            if let Err(e) = self.start(now, Purpose::ChannelBind { peer, channel }, 0) {
                tracing::warn!(error = %e, "TURN channel refresh could not be sent");
            }
        }
    }

    /// When [`Self::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.pending.iter().filter_map(|p| p.tx.poll_timeout());
        let mut t: Option<Instant> = tx.min();
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.state == AllocationState::Allocated {
            consider(self.refresh_at);
            consider(self.expires);
            for p in self
                .permissions
                .values()
                .filter(|p| p.installed && !p.pending)
            {
                consider(Some(if p.used { p.refresh_at } else { p.expires }));
            }
            for c in self.channels.values().filter(|c| c.bound && !c.pending) {
                consider(Some(if c.used { c.refresh_at } else { c.expires }));
            }
        }
        t
    }

    pub(super) fn schedule_refresh(&mut self, now: Instant, lifetime: Duration) {
        let margin = Duration::from_secs(60).min(lifetime / 2);
        self.refresh_at = Some(now_plus(now, lifetime - margin));
        self.expires = Some(now_plus(now, lifetime));
    }
}
