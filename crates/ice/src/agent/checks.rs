//! Connectivity checks (RFC 8445 §7): sending a check, answering a request (authentication,
//! role conflicts §7.3.1.1, triggered checks §7.3.1.4), and processing a response (§7.2.5).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing::trace;

use crate::candidate::CandidateType;
use crate::stun::{Builder, Class, IntegrityKey, Message, BINDING};
use crate::Error;

use super::transaction::{Txn, TxnAuth};
use super::{Agent, Datagram, PairState, Role, Transmit, TxnKind};

/// Which of our credentials a request authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// The current ones.
    Current,
    /// The ones before the last ICE restart (answered, nothing else).
    Previous,
}

/// Checks MESSAGE-INTEGRITY with a prepared key; without a usable key nothing verifies.
fn verify(msg: &Message, key: Option<&IntegrityKey>) -> Result<(), Error> {
    match key {
        Some(k) => msg.verify_with(k),
        None => Err(Error::Integrity("bad key")),
    }
}

impl Agent {
    pub(super) fn send_check(&mut self, now: Instant, i: usize) -> Result<(), Error> {
        if self.remote_creds.is_none() {
            return Err(Error::NotConnected);
        }
        let role = self.role;
        let tie = self.tie_breaker;
        let tid = self.new_tid();
        let Some(remote) = &self.remote_creds else {
            return Err(Error::NotConnected);
        };
        let p = self.pairs.get_mut(i).ok_or(Error::Invalid("pair index"))?;
        // Aggressive-nomination remotes are accepted; as controlling we use regular
        // nomination: USE-CANDIDATE only on the check that nominates (§8.1.1).
        let nominate = role == Role::Controlling && p.nominating;
        let prflx_prio =
            (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0x00FF_FFFF);
        let mut b = Builder::new(Class::Request, BINDING, &tid);
        b.username(&remote.username)
            .priority(prflx_prio)
            .role(role == Role::Controlling, tie);
        if nominate {
            b.use_candidate();
        }
        // The key was prepared when the remote credentials were set (issue 17).
        let bytes = b.finish_with(remote.key.as_deref());
        let auth = TxnAuth::Peer(remote.key.clone());
        p.state = PairState::InProgress;
        p.stats.requests_sent += 1;
        let (source, destination) = (p.stats.local, p.stats.remote);
        // Only one check per pair at a time: a new one replaces the old transaction.
        self.txns.retain(|t| {
            !(t.source == source
                && t.destination == destination
                && matches!(t.kind, TxnKind::Check { .. }))
        });
        trace!(%source, %destination, nominate, "ice: check");
        self.start_txn(
            now,
            TxnKind::Check { nominate, role },
            source,
            destination,
            auth,
            bytes,
        )
    }

    /// A Binding request (RFC 8445 §7.3): authenticated before anything else, answered (or
    /// refused for a role conflict), then the pair it arrived on is updated.
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        d: &Datagram,
        msg: &Message,
    ) -> Result<(), Error> {
        // Authenticate first (RFC 8445 §7.3, RFC 8489 §9.1.3): nothing is acted upon before.
        let generation = self.authenticate_request(d, msg)?;
        let Some(base) = self
            .locals
            .iter()
            .find(|l| l.base == d.destination)
            .map(|l| l.base)
        else {
            return Err(Error::Invalid(
                "request arrived on an address that is not a local base",
            ));
        };
        if generation == Generation::Previous {
            // A check of the previous generation: answer it (the old pair stays alive until
            // the new one is selected) but change nothing.
            self.respond_success(d, msg, generation);
            if let Some(sel) = &mut self.selected {
                if sel.remote == d.source && self.config.lite {
                    sel.last_consent = now;
                }
            }
            return Ok(());
        }
        let unknown = msg.unknown_comprehension_required();
        if !unknown.is_empty() {
            // RFC 8489 §6.3.1: 420 with UNKNOWN-ATTRIBUTES, and nothing else is done.
            let mut b = Builder::new(Class::ErrorResponse, BINDING, &msg.transaction_id);
            b.error_code(420, "Unknown Attribute")
                .unknown_attributes(unknown);
            let bytes = b.finish_with(self.local_key(generation));
            self.transmits
                .push_back(Transmit::udp(d.destination, d.source, bytes));
            return Err(Error::Stun(format!(
                "unknown comprehension-required attributes {unknown:04x?}"
            )));
        }
        if self.refuse_role_conflict(d, msg) {
            return Ok(());
        }
        self.respond_success(d, msg, generation);
        if !self.remotes.iter().any(|r| r.addr == d.source) {
            self.add_remote_prflx(now, d.source, msg.priority)?;
        }
        self.on_valid_request(now, base, d, msg)
    }

    /// Which of our credentials a request's USERNAME names, once its MESSAGE-INTEGRITY
    /// verified with that generation's key; answers 400/401 otherwise (RFC 8489 §9.1.3).
    fn authenticate_request(&mut self, d: &Datagram, msg: &Message) -> Result<Generation, Error> {
        // RFC 8489 §9.1.3: without USERNAME or MESSAGE-INTEGRITY, 400; 401 is for a failed
        // check.
        let Some(username) = msg.username.as_ref() else {
            self.respond_error(d, msg, 400, "Bad Request", None);
            return Err(Error::Integrity("request without USERNAME"));
        };
        if !msg.has_integrity {
            self.respond_error(d, msg, 400, "Bad Request", None);
            return Err(Error::Integrity("request without MESSAGE-INTEGRITY"));
        }
        let local_part = username
            .iter()
            .position(|b| *b == b':')
            .and_then(|i| username.get(..i))
            .unwrap_or(&username[..]);
        let generation = if local_part == self.local_creds.creds.ufrag.as_bytes() {
            Generation::Current
        } else if self
            .previous_local_creds
            .as_ref()
            .is_some_and(|p| local_part == p.creds.ufrag.as_bytes())
        {
            Generation::Previous
        } else {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(Error::Integrity("USERNAME does not carry our ufrag"));
        };
        if let Err(e) = verify(msg, self.local_key(generation)) {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(e);
        }
        Ok(generation)
    }

    /// Role conflict (RFC 8445 §7.3.1.1): either we switch role, or we answer 487 and the
    /// request is not processed further (returns `true`).
    fn refuse_role_conflict(&mut self, d: &Datagram, msg: &Message) -> bool {
        if self.config.lite {
            return false;
        }
        match (self.role, msg.ice_controlling, msg.ice_controlled) {
            (Role::Controlling, Some(theirs), _) => {
                if self.tie_breaker >= theirs {
                    self.respond_error(d, msg, 487, "Role Conflict", Some(Generation::Current));
                    return true;
                }
                self.set_role(Role::Controlled);
            }
            (Role::Controlled, _, Some(theirs)) => {
                if self.tie_breaker >= theirs {
                    self.set_role(Role::Controlling);
                } else {
                    self.respond_error(d, msg, 487, "Role Conflict", Some(Generation::Current));
                    return true;
                }
            }
            _ => {}
        }
        false
    }

    /// An authenticated, answered request from `d.source` on `base`: the pair's statistics,
    /// a remote nomination, and a triggered check (RFC 8445 §7.3.1.4) — or, for a lite
    /// agent, the pair's validation.
    fn on_valid_request(
        &mut self,
        now: Instant,
        base: SocketAddr,
        d: &Datagram,
        msg: &Message,
    ) -> Result<(), Error> {
        let ri = self
            .remotes
            .iter()
            .position(|r| r.addr == d.source)
            .ok_or(Error::Invalid("remote candidate vanished"))?;
        let Some(i) = self.form_pair(base, ri) else {
            return Ok(());
        };
        let lite = self.config.lite;
        let role = self.role;
        let sel_remote = self.selected.as_ref().map(|s| (s.local, s.remote));
        let Some(p) = self.pairs.get_mut(i) else {
            return Ok(());
        };
        p.stats.requests_received += 1;
        p.stats.responses_sent += 1;
        if role == Role::Controlled && msg.use_candidate {
            p.remote_nominated = true;
        }
        if lite {
            // A lite agent has no checks of its own: a valid request makes the pair valid
            // (RFC 8445 §7.3.1.4 / §2.5), and the request is its liveness signal.
            p.state = PairState::Succeeded;
            p.last_consent = Some(now);
            if p.remote_nominated {
                p.nominated = true;
            }
            if sel_remote == Some((base, d.source)) {
                if let Some(s) = &mut self.selected {
                    s.last_consent = now;
                }
            }
        } else {
            match p.state {
                PairState::Succeeded => {
                    if p.remote_nominated {
                        p.nominated = true;
                    }
                }
                PairState::InProgress => {}
                _ => {
                    // Triggered check (§7.3.1.4).
                    p.state = PairState::Waiting;
                    let key = (base, d.source);
                    if !self.triggered.contains(&key) {
                        self.triggered.push_back(key);
                    }
                }
            }
        }
        self.select_best(now);
        Ok(())
    }

    /// The key of our credentials of `generation`, prepared when they were made.
    fn local_key(&self, generation: Generation) -> Option<&IntegrityKey> {
        match generation {
            Generation::Current => self.local_creds.key.as_deref(),
            Generation::Previous => self
                .previous_local_creds
                .as_ref()
                .and_then(|p| p.key.as_deref()),
        }
    }

    fn respond_success(&mut self, d: &Datagram, msg: &Message, generation: Generation) {
        let mut b = Builder::new(Class::SuccessResponse, BINDING, &msg.transaction_id);
        b.xor_mapped_address(d.source);
        let bytes = b.finish_with(self.local_key(generation));
        self.transmits
            .push_back(Transmit::udp(d.destination, d.source, bytes));
    }

    /// An error response, signed with our key of `signed` (unsigned when the request did not
    /// authenticate).
    fn respond_error(
        &mut self,
        d: &Datagram,
        msg: &Message,
        code: u16,
        reason: &str,
        signed: Option<Generation>,
    ) {
        let mut b = Builder::new(Class::ErrorResponse, BINDING, &msg.transaction_id);
        b.error_code(code, reason);
        let bytes = b.finish_with(signed.and_then(|g| self.local_key(g)));
        self.transmits
            .push_back(Transmit::udp(d.destination, d.source, bytes));
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        d: &Datagram,
        msg: &Message,
    ) -> Result<(), Error> {
        let Some(ti) = self.txns.iter().position(|t| t.id() == msg.transaction_id) else {
            return Err(Error::UnknownTransaction);
        };
        let Some(txn) = self.txns.get(ti) else {
            return Err(Error::UnknownTransaction);
        };
        match &txn.auth {
            // Checked before anything else; a forged response leaves the transaction running.
            TxnAuth::Peer(key) => verify(msg, key.as_deref())?,
            TxnAuth::Server if d.source != txn.destination => {
                return Err(Error::UnknownSource(d.source));
            }
            TxnAuth::Server => {}
        }
        let txn = self.txns.swap_remove(ti);
        let rtt = now.saturating_duration_since(txn.sent_at);
        match txn.kind {
            TxnKind::Srflx { interface_index } => {
                if msg.class == Class::SuccessResponse {
                    if let Some(mapped) = msg.mapped_address {
                        self.add_srflx(txn.source, txn.destination, mapped, interface_index);
                    }
                }
                Ok(())
            }
            TxnKind::Consent => {
                let symmetric = d.source == txn.destination && d.destination == txn.source;
                if msg.class == Class::SuccessResponse && symmetric {
                    if let Some(sel) = &mut self.selected {
                        if sel.local == txn.source && sel.remote == txn.destination {
                            sel.last_consent = now;
                        }
                    }
                    if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                        p.stats.responses_received += 1;
                        p.stats.current_rtt = Some(rtt);
                        p.stats.total_rtt += rtt;
                        p.last_consent = Some(now);
                    }
                }
                Ok(())
            }
            TxnKind::Check { nominate, role } => {
                self.on_check_response(now, d, msg, &txn, rtt, nominate, role);
                Ok(())
            }
        }
    }

    /// The authenticated response to our check `txn` (RFC 8445 §7.2.5): a role conflict
    /// (§7.2.5.1), a failure, or a valid pair (§7.2.5.3) that may complete a nomination.
    #[allow(clippy::too_many_arguments)]
    fn on_check_response(
        &mut self,
        now: Instant,
        d: &Datagram,
        msg: &Message,
        txn: &Txn,
        rtt: Duration,
        nominate: bool,
        role: Role,
    ) {
        let symmetric = d.source == txn.destination && d.destination == txn.source;
        if msg.class == Class::ErrorResponse {
            if msg.error_code == Some(487) && msg.has_integrity {
                // Role conflict (§7.2.5.1): switch if we still have the role we sent.
                if role == self.role {
                    let other = match role {
                        Role::Controlling => Role::Controlled,
                        Role::Controlled => Role::Controlling,
                    };
                    self.set_role(other);
                }
                if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                    p.state = PairState::Waiting;
                }
                self.triggered.push_back((txn.source, txn.destination));
            } else if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                p.state = PairState::Failed;
            }
            return;
        }
        if symmetric {
            if let Some(mapped) = msg.mapped_address {
                self.learn_local_prflx(txn.source, txn.destination, mapped);
            }
        }
        let Some(p) = self.pair_mut(txn.source, txn.destination) else {
            return; // pair dropped by a restart meanwhile
        };
        if !symmetric {
            p.state = PairState::Failed; // §7.2.5.2.1
            return;
        }
        p.state = PairState::Succeeded;
        p.stats.responses_received += 1;
        p.stats.current_rtt = Some(rtt);
        p.stats.total_rtt += rtt;
        p.last_consent = Some(now);
        if nominate {
            p.nominated = true;
            p.nominating = false;
        }
        if p.remote_nominated && role == Role::Controlled {
            p.nominated = true;
        }
        let found = p.foundation.clone();
        // Unfreeze pairs of the same foundation (§7.2.5.3.3).
        for q in &mut self.pairs {
            if q.foundation == found && q.state == PairState::Frozen {
                q.state = PairState::Waiting;
            }
        }
        if let Some(sel) = &mut self.selected {
            if sel.local == txn.source && sel.remote == txn.destination {
                sel.last_consent = now;
            }
        }
        self.first_success.get_or_insert(now);
        self.maybe_nominate(now);
        self.select_best(now);
    }
}
