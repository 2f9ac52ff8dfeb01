//! Nomination (RFC 8445 §8.1.1, regular nomination as controlling; aggressive nominations of a
//! controlling peer accepted) and the selected pair.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing::debug;

use crate::candidate::CandidateType;

use super::config::RemoteSecret;
use super::timer::Timer;
use super::{Agent, Event, PairState, Role};

/// The selected pair, kept apart from the checklist so an ICE restart can keep using it.
#[derive(Debug, Clone)]
pub(super) struct Selected {
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    /// Remote credentials of the generation it was selected in, with their prepared key and
    /// USERNAME (for consent checks).
    pub(super) secret: RemoteSecret,
    pub(super) last_consent: Instant,
    pub(super) from_previous_generation: bool,
}

impl Agent {
    pub(super) fn needs_nomination(&self) -> bool {
        self.role == Role::Controlling
            && !self.config.lite
            && !self.pairs.iter().any(|p| p.nominated || p.nominating)
            && self.pairs.iter().any(|p| p.state == PairState::Succeeded)
    }

    /// How long after the first valid pair the controlling agent nominates the best valid pair
    /// while better pairs are still pending: longer when that pair is relayed.
    pub(super) fn nomination_wait(&self) -> Duration {
        let best_relayed = self
            .pairs
            .iter()
            .filter(|p| p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
            .is_some_and(|p| {
                p.stats.local_type == CandidateType::Relayed
                    || p.stats.remote_type == CandidateType::Relayed
            });
        if best_relayed {
            self.config
                .nomination_delay
                .max(self.config.relay_nomination_delay)
        } else {
            self.config.nomination_delay
        }
    }

    /// Regular nomination (§8.1.1): once the best pair so far succeeded and no better pair is
    /// still pending — or after `nomination_delay` (`relay_nomination_delay` when that pair is
    /// relayed) — check it again with USE-CANDIDATE.
    pub(super) fn maybe_nominate(&mut self, now: Instant) {
        if !self.needs_nomination() || !self.can_check() {
            return;
        }
        let Some((bi, best_prio)) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority))
        else {
            return;
        };
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best_prio
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        let wait = self.nomination_wait();
        let waited = self.first_success.is_some_and(|t| now >= t + wait);
        if better_pending && !waited {
            return;
        }
        let Some(p) = self.pairs.get_mut(bi) else {
            return;
        };
        p.nominating = true;
        let key = (p.stats.local, p.stats.remote);
        self.triggered.retain(|k| *k != key);
        // The nominating check goes out at once instead of waiting for the next Ta slot: it
        // is one packet, sent once per nomination, and waiting would add a Ta to every
        // connection setup. If it cannot go now (TURN permission pending), it is queued as a
        // triggered check.
        if self.relay_ready(key.0, key.1) && self.send_check(now, bi).is_ok() {
            return;
        }
        self.triggered.push_front(key);
    }

    /// Selects the best nominated, succeeded pair (controlled: accepts aggressive nomination,
    /// so a better pair nominated later replaces the current one).
    pub(super) fn select_best(&mut self, now: Instant) {
        let Some(best) = self
            .pairs
            .iter()
            .filter(|p| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
        else {
            return;
        };
        let (local, remote) = (best.stats.local, best.stats.remote);
        let cur = self.selected.as_ref();
        if let Some(c) = cur {
            if !c.from_previous_generation {
                if c.local == local && c.remote == remote {
                    return;
                }
                let cur_prio = self
                    .pairs
                    .iter()
                    .find(|p| p.stats.local == c.local && p.stats.remote == c.remote)
                    .map_or(0, |p| p.priority);
                if cur_prio >= best.priority {
                    return;
                }
            }
        }
        let Some(secret) = self.remote_creds.clone() else {
            return;
        };
        debug!(%local, %remote, "ice: selected pair");
        let jitter = self.consent_jitter();
        self.selected = Some(Selected {
            local,
            remote,
            secret,
            last_consent: now,
            from_previous_generation: false,
        });
        self.timers.set(Timer::ConsentCheck, now + jitter);
        self.previous_local_creds = None;
        self.consent_lost = false;
        self.events
            .push_back(Event::SelectedPairChanged { local, remote });
    }
}
