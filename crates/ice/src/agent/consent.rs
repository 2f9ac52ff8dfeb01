//! Consent freshness (RFC 7675): a Binding request on the selected pair every
//! `consent_interval` (±20 %), Disconnected after `disconnected_timeout` and consent lost after
//! `consent_timeout` without a response.

use std::time::{Duration, Instant};

use rand::Rng;
use tracing::debug;

use crate::candidate::CandidateType;
use crate::stun::{Builder, Class, BINDING};

use super::timer::Timer;
use super::transaction::TxnAuth;
use super::{Agent, Role, TxnKind};

impl Agent {
    pub(super) fn consent_jitter(&mut self) -> Duration {
        // RFC 7675 §5.1: uniformly random in [0.8, 1.2] × the interval.
        let f: f64 = self.rng.random_range(0.8..1.2);
        self.config.consent_interval.mul_f64(f)
    }

    /// [`Timer::ConsentExpiry`]: no consent response for `consent_timeout` (RFC 7675 §5.1).
    /// The selected pair is dropped and the agent fails.
    pub(super) fn consent_lost(&mut self) {
        if let Some(sel) = self.selected.take() {
            debug!(remote = %sel.remote, "ice: consent lost");
        }
        self.timers.stop(Timer::ConsentCheck);
        self.consent_lost = true;
        self.txns.retain(|t| t.kind != TxnKind::Consent);
    }

    /// [`Timer::ConsentCheck`]: sends a consent check on the selected pair and schedules the
    /// next one (RFC 7675 §5.1).
    pub(super) fn send_consent_check(&mut self, now: Instant) {
        let Some(sel) = self.selected.clone() else {
            return;
        };
        let jitter = self.consent_jitter();
        self.timers.set(Timer::ConsentCheck, now + jitter);
        let tid = self.new_tid();
        let mut b = Builder::new(Class::Request, BINDING, &tid);
        let prio = self
            .pairs
            .iter()
            .find(|p| p.stats.local == sel.local && p.stats.remote == sel.remote)
            .map_or(1, |p| {
                (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0xFF_FFFF)
            });
        b.username(&sel.secret.username)
            .priority(prio)
            .role(self.role == Role::Controlling, self.tie_breaker);
        let bytes = b.finish_with(sel.secret.key.as_deref());
        if let Some(p) = self.pair_mut(sel.local, sel.remote) {
            p.stats.requests_sent += 1;
            p.stats.consent_requests_sent += 1;
        }
        // Only the newest consent check is kept outstanding.
        self.txns.retain(|t| t.kind != TxnKind::Consent);
        let _ = self.start_txn(
            now,
            TxnKind::Consent,
            sel.local,
            sel.remote,
            TxnAuth::Peer(sel.secret.key),
            bytes,
        );
    }
}
