//! The checklist (RFC 8445 §6.1.2): candidate pairs, their states and priorities, pair
//! formation, the role that orders them, and the Ta-paced choice of the next pair to check
//! (§6.1.4.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing::debug;

use crate::candidate::{pair_priority, CandidateType};

use super::timer::Timer;
use super::{Agent, Event, Role, TxnKind};

/// State of a candidate pair (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    /// Waiting for a pair of the same foundation to succeed.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is outstanding.
    InProgress,
    /// A check succeeded.
    Succeeded,
    /// Checks failed.
    Failed,
}

/// Statistics of one candidate pair (W3C `RTCIceCandidatePairStats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairStats {
    /// Local base address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// Local candidate type.
    pub local_type: CandidateType,
    /// Remote candidate type.
    pub remote_type: CandidateType,
    /// Pair state.
    pub state: PairState,
    /// Nominated.
    pub nominated: bool,
    /// Pair priority.
    pub priority: u64,
    /// Last round-trip time measured by a check.
    pub current_rtt: Option<Duration>,
    /// Sum of all measured round-trip times.
    pub total_rtt: Duration,
    /// Check requests sent (including retransmissions and consent checks).
    pub requests_sent: u64,
    /// Check requests received.
    pub requests_received: u64,
    /// Check responses sent.
    pub responses_sent: u64,
    /// Authenticated check responses received.
    pub responses_received: u64,
    /// Consent requests sent.
    pub consent_requests_sent: u64,
    /// Application packets sent.
    pub packets_sent: u64,
    /// Application packets received.
    pub packets_received: u64,
    /// Application bytes sent.
    pub bytes_sent: u64,
    /// Application bytes received.
    pub bytes_received: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Pair {
    pub(super) local_prio: u32,
    pub(super) remote_prio: u32,
    pub(super) foundation: (String, String),
    pub(super) priority: u64,
    pub(super) state: PairState,
    /// Nomination complete (selected-capable).
    pub(super) nominated: bool,
    /// Controlled: the remote sent USE-CANDIDATE for this pair.
    pub(super) remote_nominated: bool,
    /// Controlling: the next check carries USE-CANDIDATE.
    pub(super) nominating: bool,
    pub(super) last_consent: Option<Instant>,
    pub(super) stats: PairStats,
}

impl Agent {
    pub(super) fn reset_checks(&mut self) {
        self.pairs.clear();
        self.triggered.clear();
        self.txns
            .retain(|t| matches!(t.kind, TxnKind::Srflx { .. } | TxnKind::Consent));
        self.first_success = None;
        self.consent_lost = false;
        // Local peer-reflexive candidates were learned from this generation's checks.
        self.locals
            .retain(|l| l.cand.typ != CandidateType::PeerReflexive);
        if let Some(sel) = &mut self.selected {
            sel.from_previous_generation = true;
        }
    }

    /// Sets the role before checks start, as JSEP decides it (the offerer controls, RFC 8829
    /// §5.10 / RFC 8445 §6.1.1); later changes come from role conflicts. A lite agent stays
    /// controlled.
    pub fn set_role(&mut self, role: Role) {
        if self.role == role || (self.config.lite && role == Role::Controlling) {
            return;
        }
        self.role = role;
        self.events.push_back(Event::RoleChanged(role));
        let controlling = role == Role::Controlling;
        for p in &mut self.pairs {
            p.priority = if controlling {
                pair_priority(p.local_prio, p.remote_prio)
            } else {
                pair_priority(p.remote_prio, p.local_prio)
            };
            p.nominating = false;
        }
    }

    pub(super) fn pairable_bases(&self) -> Vec<SocketAddr> {
        let relay_only = self.config.relay_only;
        self.locals
            .iter()
            .filter(|l| match l.cand.typ {
                CandidateType::Host => !relay_only,
                CandidateType::Relayed => true,
                _ => false,
            })
            .map(|l| l.base)
            .collect()
    }

    pub(super) fn rebuild_pairs(&mut self) {
        let bases = self.pairable_bases();
        for base in bases {
            for ri in 0..self.remotes.len() {
                self.form_pair(base, ri);
            }
        }
    }

    /// Forms the pair (base, remote #ri) if compatible and new (RFC 8445 §6.1.2.2).
    pub(super) fn form_pair(&mut self, base: SocketAddr, ri: usize) -> Option<usize> {
        let r = self.remotes.get(ri)?;
        if r.addr.is_ipv4() != base.is_ipv4() || r.addr.ip().is_unspecified() || r.addr.port() == 0
        {
            return None;
        }
        if let Some(i) = self.pair_index(base, r.addr) {
            return Some(i);
        }
        if self.pairs.len() >= self.config.max_pairs {
            debug!("ice: pair limit reached");
            return None;
        }
        let l = self.locals.iter().find(|l| l.base == base)?;
        let (lp, rp) = (l.cand.priority, r.cand.priority);
        let priority = match self.role {
            Role::Controlling => pair_priority(lp, rp),
            Role::Controlled => pair_priority(rp, lp),
        };
        let found = (l.cand.foundation.clone(), r.cand.foundation.clone());
        // Waiting unless a pair of the same foundation is already being checked (§6.1.2.6).
        let blocked = self.pairs.iter().any(|p| {
            p.foundation == found && matches!(p.state, PairState::Waiting | PairState::InProgress)
        });
        let stats = PairStats {
            local: base,
            remote: r.addr,
            local_type: l.cand.typ,
            remote_type: r.cand.typ,
            state: PairState::Frozen,
            nominated: false,
            priority,
            current_rtt: None,
            total_rtt: Duration::ZERO,
            requests_sent: 0,
            requests_received: 0,
            responses_sent: 0,
            responses_received: 0,
            consent_requests_sent: 0,
            packets_sent: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
        };
        self.pairs.push(Pair {
            local_prio: lp,
            remote_prio: rp,
            foundation: found,
            priority,
            state: if blocked {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            nominated: false,
            remote_nominated: false,
            nominating: false,
            last_consent: None,
            stats,
        });
        Some(self.pairs.len() - 1)
    }

    pub(super) fn pair_index(&self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        self.pairs
            .iter()
            .position(|p| p.stats.local == local && p.stats.remote == remote)
    }

    pub(super) fn pair_mut(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<&mut Pair> {
        self.pairs
            .iter_mut()
            .find(|p| p.stats.local == local && p.stats.remote == remote)
    }

    pub(super) fn can_check(&self) -> bool {
        !self.config.lite && !self.closed && self.remote_creds.is_some()
    }

    pub(super) fn has_checkable(&self) -> bool {
        if !self.can_check() {
            return false;
        }
        // A relayed pair without its TURN permission yet is not checkable (no busy timer).
        let blocked = |l: SocketAddr, r: SocketAddr| {
            self.relays
                .iter()
                .any(|x| x.relayed == Some(l) && !x.client.has_permission(r.ip()))
        };
        self.triggered.iter().any(|(l, r)| !blocked(*l, *r))
            || self.pairs.iter().any(|p| {
                matches!(p.state, PairState::Waiting | PairState::Frozen)
                    && !blocked(p.stats.local, p.stats.remote)
            })
    }

    /// Sends the next check if Ta allows (RFC 8445 §6.1.4.2): triggered first, then the
    /// highest-priority Waiting pair, then unfreezes the best Frozen pair of a new foundation.
    pub(super) fn pump(&mut self, now: Instant) {
        if !self.can_check() {
            return;
        }
        while self
            .timers
            .get(Timer::Pacing)
            .is_none_or(|slot| now >= slot)
        {
            let Some(i) = self.next_pair_to_check() else {
                break;
            };
            if self.send_check(now, i).is_err() {
                break;
            }
            self.timers.set(Timer::Pacing, now + self.config.ta);
        }
        // TURN permissions asked for by the checklist go out now, not at the next timer.
        self.flush_relay_transmits();
    }

    pub(super) fn next_pair_to_check(&mut self) -> Option<usize> {
        // Relayed pairs wait for their TURN permission (asked for here).
        let keys: Vec<(SocketAddr, SocketAddr)> = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::Frozen))
            .map(|p| (p.stats.local, p.stats.remote))
            .collect();
        let mut blocked = Vec::new();
        for (l, r) in keys {
            if !self.relay_ready(l, r) {
                blocked.push((l, r));
            }
        }
        let mut deferred = Vec::new();
        let mut found = None;
        while let Some((l, r)) = self.triggered.pop_front() {
            if blocked.contains(&(l, r)) {
                deferred.push((l, r));
                continue;
            }
            if let Some(i) = self.pair_index(l, r) {
                found = Some(i);
                break;
            }
        }
        for k in deferred.into_iter().rev() {
            self.triggered.push_front(k);
        }
        if found.is_some() {
            return found;
        }
        let ok = |p: &Pair| !blocked.contains(&(p.stats.local, p.stats.remote));
        let best = |s: PairState, pairs: &[Pair]| {
            pairs
                .iter()
                .enumerate()
                .filter(|(_, p)| p.state == s && ok(p))
                .max_by_key(|(_, p)| p.priority)
                .map(|(i, _)| i)
        };
        if let Some(i) = best(PairState::Waiting, &self.pairs) {
            return Some(i);
        }
        // No Waiting pair: the best Frozen pair whose foundation is not being checked.
        let busy: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            .map(|p| p.foundation.clone())
            .collect();
        self.pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Frozen && !busy.contains(&p.foundation) && ok(p))
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
    }
}
