//! Connectivity checks (RFC 8445 §7): sending a check, answering a request (authentication,
//! role conflicts §7.3.1.1, triggered checks §7.3.1.4), and processing a response (§7.2.5).

use std::time::Instant;

use tracing::{debug, trace};

use crate::candidate::{Candidate, CandidateType, Extension, Transport};
use crate::stun::{Builder, Class, IntegrityKey, Message, BINDING};
use crate::Error;

use super::transaction::TxnAuth;
use super::{Agent, Datagram, PairState, Role, Transmit, TxnKind};

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
        let bytes = b.finish_with(remote.key.as_ref());
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
            tid,
            TxnKind::Check { nominate, role },
            source,
            destination,
            auth,
            bytes,
        )
    }

    pub(super) fn on_request(
        &mut self,
        now: Instant,
        d: &Datagram,
        msg: &Message,
    ) -> Result<(), Error> {
        // Authenticate first (RFC 8445 §7.3, RFC 8489 §9.1.3): nothing is acted upon before.
        let Some(username) = msg.username.as_ref() else {
            self.respond_error(d, msg, 400, "Bad Request", None);
            return Err(Error::Integrity("request without USERNAME"));
        };
        let local_part = username
            .iter()
            .position(|b| *b == b':')
            .and_then(|i| username.get(..i))
            .unwrap_or(&username[..]);
        let (key, current) = if local_part == self.local_creds.creds.ufrag.as_bytes() {
            (self.local_creds.key.clone(), true)
        } else if let Some(prev) = self
            .previous_local_creds
            .as_ref()
            .filter(|p| local_part == p.creds.ufrag.as_bytes())
        {
            (prev.key.clone(), false)
        } else {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(Error::Integrity("USERNAME does not carry our ufrag"));
        };
        if let Err(e) = verify(msg, key.as_ref()) {
            self.respond_error(d, msg, 401, "Unauthenticated", None);
            return Err(e);
        }
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
        if !current {
            // A check of the previous generation: answer it (the old pair stays alive until
            // the new one is selected) but change nothing.
            self.respond_success(d, msg, key.as_ref());
            if let Some(sel) = &mut self.selected {
                if sel.remote == d.source && self.config.lite {
                    sel.last_consent = now;
                }
            }
            return Ok(());
        }
        // Role conflict (§7.3.1.1).
        if !self.config.lite {
            match (self.role, msg.ice_controlling, msg.ice_controlled) {
                (Role::Controlling, Some(theirs), _) => {
                    if self.tie_breaker >= theirs {
                        self.respond_error(d, msg, 487, "Role Conflict", key.as_ref());
                        return Ok(());
                    }
                    self.set_role(Role::Controlled);
                }
                (Role::Controlled, _, Some(theirs)) => {
                    if self.tie_breaker >= theirs {
                        self.set_role(Role::Controlling);
                    } else {
                        self.respond_error(d, msg, 487, "Role Conflict", key.as_ref());
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        self.respond_success(d, msg, key.as_ref());
        // Peer-reflexive remote candidate (§7.3.1.3).
        if !self.remotes.iter().any(|r| r.addr == d.source) {
            let priority = msg.priority.unwrap_or(1).max(1);
            self.prflx_counter = self.prflx_counter.wrapping_add(1);
            let mut c = Candidate::new(
                format!("prflx{}", self.prflx_counter),
                Transport::Udp,
                priority,
                d.source,
                CandidateType::PeerReflexive,
                None,
            );
            if let Some(rc) = &self.remote_creds {
                c.extensions.push(Extension::Ufrag(rc.creds.ufrag.clone()));
            }
            debug!(addr = %d.source, "ice: peer-reflexive remote candidate");
            self.insert_remote(now, c, d.source)?;
        }
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

    pub(super) fn respond_success(
        &mut self,
        d: &Datagram,
        msg: &Message,
        key: Option<&IntegrityKey>,
    ) {
        let mut b = Builder::new(Class::SuccessResponse, BINDING, &msg.transaction_id);
        b.xor_mapped_address(d.source);
        let bytes = b.finish_with(key);
        self.transmits.push_back(Transmit {
            source: d.destination,
            destination: d.source,
            contents: bytes,
        });
    }

    pub(super) fn respond_error(
        &mut self,
        d: &Datagram,
        msg: &Message,
        code: u16,
        reason: &str,
        key: Option<&IntegrityKey>,
    ) {
        let mut b = Builder::new(Class::ErrorResponse, BINDING, &msg.transaction_id);
        b.error_code(code, reason);
        let bytes = b.finish_with(key);
        self.transmits.push_back(Transmit {
            source: d.destination,
            destination: d.source,
            contents: bytes,
        });
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        d: &Datagram,
        msg: &Message,
    ) -> Result<(), Error> {
        let Some(ti) = self.txns.iter().position(|t| t.id == msg.transaction_id) else {
            return Err(Error::UnknownTransaction);
        };
        let Some(txn) = self.txns.get(ti) else {
            return Err(Error::UnknownTransaction);
        };
        match &txn.auth {
            // Checked before anything else; a forged response leaves the transaction running.
            TxnAuth::Peer(key) => verify(msg, key.as_ref())?,
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
                    return Ok(());
                }
                if symmetric {
                    if let Some(mapped) = msg.mapped_address {
                        self.learn_local_prflx(txn.source, txn.destination, mapped);
                    }
                }
                let Some(p) = self.pair_mut(txn.source, txn.destination) else {
                    return Ok(()); // pair dropped by a restart meanwhile
                };
                if !symmetric {
                    p.state = PairState::Failed; // §7.2.5.2.1
                    return Ok(());
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
                Ok(())
            }
        }
    }
}
