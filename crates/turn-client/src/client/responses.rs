//! What the server sends: ChannelData and Data indications to deliver, and the responses
//! that complete, retry (401, 438) or fail the pending requests (RFC 8656 §7.3, §10, §12).

use crate::channel_data::ChannelData;
use crate::error::Error;
use ferrtc_stun::{attr, error_code, Attribute, Class, Message, Method};
use rand_core::RngCore;
use std::time::{Duration, Instant};

use super::{
    now_plus, AllocationState, Event, Pending, Permission, Purpose, TurnClient, CHANNEL_LIFETIME,
    CHANNEL_REFRESH, PERMISSION_LIFETIME, PERMISSION_REFRESH,
};

impl<R: RngCore> TurnClient<R> {
    pub(super) fn handle_channel_data(&mut self, cd: ChannelData) -> Result<(), Error> {
        let Some(c) = self.channels.get_mut(&cd.channel) else {
            tracing::debug!(
                channel = cd.channel,
                "TURN: ChannelData on an unbound channel"
            );
            return Ok(());
        };
        c.used = true;
        let peer = c.peer;
        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
            p.used = true;
        }
        self.events.push_back(Event::Data {
            peer,
            data: cd.data,
            channel: Some(cd.channel),
        });
        Ok(())
    }

    pub(super) fn handle_stun(&mut self, now: Instant, msg: Message) -> Result<(), Error> {
        if msg.class() == Class::Indication {
            if msg.method() == Method::DATA {
                // Indications carry no integrity by design (RFC 8656 §10.4); we only accept
                // data from peers we gave a permission to.
                let a = msg.attributes_unverified();
                let (Some(peer), Some(data)) = (a.xor_peer_address()?, a.data()) else {
                    return Ok(());
                };
                match self.permissions.get_mut(&peer.ip()) {
                    Some(p) => p.used = true,
                    None => {
                        tracing::debug!(%peer, "TURN: Data indication from a peer without permission");
                        return Ok(());
                    }
                }
                self.events.push_back(Event::Data {
                    peer,
                    data,
                    channel: None,
                });
            }
            return Ok(());
        }
        if !msg.class().is_response() {
            return Ok(());
        }
        let tid = msg.transaction_id();
        let Some(idx) = self
            .pending
            .iter()
            .position(|p| p.tx.transaction_id() == tid)
        else {
            tracing::trace!(?tid, "TURN: response to no pending request");
            return Ok(());
        };
        if msg.class() == Class::SuccessResponse {
            // A success response must carry the integrity of our credentials.
            let Some(auth) = &self.auth else {
                tracing::debug!("TURN: success response before authentication, dropped");
                return Ok(());
            };
            if let Err(e) = msg.verify_integrity(&auth.key) {
                tracing::warn!(error = %e, "TURN: response failed integrity, dropped");
                return Ok(());
            }
        } else if let (Some(auth), true) = (
            &self.auth,
            self.pending.get(idx).is_some_and(|p| p.authenticated),
        ) {
            // RFC 8489 §9.2.5: an error response to an authenticated request is believed only
            // with our integrity, except 401 and 438 (which carry a new realm/nonce the server
            // cannot sign with a key we do not share yet). Over UDP an unauthenticated one is
            // discarded "as if it had never been received": the retransmissions go on, so a
            // forged 400 or 437 cannot end a Refresh that the genuine server answers.
            let code = msg
                .attributes_unverified()
                .error_code()
                .ok()
                .flatten()
                .map(|(c, _)| c);
            let exempt = matches!(
                code,
                Some(error_code::UNAUTHENTICATED | error_code::STALE_NONCE)
            );
            if !exempt && msg.verify_integrity(&auth.key).is_err() {
                tracing::debug!(
                    ?code,
                    "TURN: error response without our integrity, discarded"
                );
                return Ok(());
            }
        }
        let p = self.pending.swap_remove(idx);
        let r = match msg.class() {
            Class::SuccessResponse => self.on_success(now, p.purpose, &msg),
            _ => self.on_error(now, p, &msg),
        };
        self.flush();
        r
    }

    pub(super) fn on_success(
        &mut self,
        now: Instant,
        purpose: Purpose,
        msg: &Message,
    ) -> Result<(), Error> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        let a = msg.verify_integrity(&auth.key)?;
        match purpose {
            Purpose::Allocate => {
                let mut relayed = Vec::new();
                for x in a.iter() {
                    if let Ok(Attribute::XorRelayedAddress(r)) = x {
                        relayed.push(r);
                    }
                }
                if relayed.is_empty() {
                    self.state = AllocationState::Closed;
                    self.events.push_back(Event::AllocationFailed {
                        code: None,
                        reason: "Allocate success response without XOR-RELAYED-ADDRESS".into(),
                    });
                    return Ok(());
                }
                let lifetime = Duration::from_secs(u64::from(a.lifetime()?.unwrap_or(600)));
                self.mapped = a.xor_mapped_address()?;
                self.relayed = relayed.clone();
                self.state = AllocationState::Allocated;
                self.schedule_refresh(now, lifetime);
                tracing::info!(?relayed, ?lifetime, "TURN allocation ready");
                self.events.push_back(Event::AllocationReady {
                    relayed,
                    mapped: self.mapped,
                    lifetime,
                });
            }
            Purpose::Refresh { lifetime: 0 } => {
                self.state = AllocationState::Closed;
                self.relayed.clear();
                self.events.push_back(Event::Deallocated);
            }
            Purpose::Refresh { .. } => {
                let lifetime = Duration::from_secs(u64::from(a.lifetime()?.unwrap_or(600)));
                if self.state == AllocationState::Allocated {
                    self.schedule_refresh(now, lifetime);
                    self.events
                        .push_back(Event::AllocationRefreshed { lifetime });
                }
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    if let Some(p) = self.permissions.get_mut(&ip) {
                        let first = !p.installed;
                        p.installed = true;
                        p.pending = false;
                        p.refresh_at = now_plus(now, PERMISSION_REFRESH);
                        p.expires = now_plus(now, PERMISSION_LIFETIME);
                        if first {
                            self.events.push_back(Event::PermissionCreated { peer: ip });
                        }
                    }
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                if let Some(c) = self.channels.get_mut(&channel) {
                    let first = !c.bound;
                    c.bound = true;
                    c.pending = false;
                    c.refresh_at = now_plus(now, CHANNEL_REFRESH);
                    c.expires = now_plus(now, CHANNEL_LIFETIME);
                    if first {
                        self.events.push_back(Event::ChannelBound { peer, channel });
                    }
                }
                // ChannelBind installs or refreshes the permission too (RFC 8656 §11.2).
                let p = self.permissions.entry(peer.ip()).or_insert(Permission {
                    installed: false,
                    pending: false,
                    used: false,
                    refresh_at: now,
                    expires: now,
                });
                if !p.pending {
                    p.installed = true;
                    p.refresh_at = now_plus(now, PERMISSION_REFRESH);
                    p.expires = now_plus(now, PERMISSION_LIFETIME);
                }
            }
        }
        Ok(())
    }

    pub(super) fn on_error(
        &mut self,
        now: Instant,
        p: Pending,
        msg: &Message,
    ) -> Result<(), Error> {
        let a = msg.attributes_unverified();
        let (code, reason) = match a.error_code()? {
            Some((c, r)) => (c, r.to_string()),
            None => (0, String::from("error response without ERROR-CODE")),
        };
        match code {
            error_code::UNAUTHENTICATED if !p.authenticated => {
                let (Some(realm), Some(nonce)) = (a.realm()?, a.nonce()?) else {
                    self.fail(p.purpose, Some(code), "401 without REALM/NONCE".into());
                    return Ok(());
                };
                let offered = match a.get(attr::PASSWORD_ALGORITHMS) {
                    Some(Ok(Attribute::PasswordAlgorithms(list))) => Some(list),
                    _ => None,
                };
                if let Err(e) = self.set_auth(realm, nonce, offered) {
                    self.fail(p.purpose, Some(code), format!("bad credentials: {e}"));
                    return Ok(());
                }
                self.start(now, p.purpose, p.stale_retries)?;
            }
            error_code::STALE_NONCE if p.stale_retries < self.config.max_stale_nonce_retries => {
                let Some(nonce) = a.nonce()? else {
                    self.fail(p.purpose, Some(code), "438 without NONCE".into());
                    return Ok(());
                };
                if let Some(auth) = &mut self.auth {
                    tracing::debug!("TURN: stale nonce, retrying with the new one");
                    self.stale_nonce_retries += 1;
                    auth.nonce = nonce.to_string();
                    if let Some(realm) = a.realm()? {
                        if realm != auth.realm {
                            let (realm, nonce) = (realm.to_string(), nonce.to_string());
                            let offered = auth.algorithms.as_ref().map(|(l, _)| l.clone());
                            self.set_auth(&realm, &nonce, offered)?;
                        }
                    }
                }
                self.start(now, p.purpose, p.stale_retries + 1)?;
            }
            _ => {
                let reason = match code {
                    error_code::UNAUTHENTICATED => {
                        format!("401 {reason}: the server rejected the username or password")
                    }
                    error_code::WRONG_CREDENTIALS => {
                        format!("441 {reason}: credentials differ from the allocation's")
                    }
                    _ => format!("{code} {reason}"),
                };
                self.fail(p.purpose, Some(code), reason);
            }
        }
        Ok(())
    }

    pub(super) fn lose(&mut self, reason: String) {
        tracing::warn!(%reason, "TURN allocation lost");
        self.state = AllocationState::Closed;
        self.relayed.clear();
        self.permissions.clear();
        self.channels.clear();
        self.refresh_at = None;
        self.expires = None;
        self.events.push_back(Event::AllocationLost { reason });
    }

    pub(super) fn fail(&mut self, purpose: Purpose, code: Option<u16>, reason: String) {
        match purpose {
            Purpose::Allocate => {
                self.state = AllocationState::Closed;
                self.events
                    .push_back(Event::AllocationFailed { code, reason });
            }
            Purpose::Refresh { lifetime: 0 } => {
                // Deleting failed or timed out: the allocation will expire anyway.
                self.state = AllocationState::Closed;
                self.events.push_back(Event::Deallocated);
            }
            Purpose::Refresh { .. } => {
                if self.state == AllocationState::Allocated {
                    if code == Some(error_code::ALLOCATION_MISMATCH) || code.is_none() {
                        self.lose(reason);
                    } else if self.expires.is_some() {
                        // Try again at the next timer until the allocation expires.
                        self.refresh_at = self.expires;
                        tracing::warn!(%reason, "TURN refresh failed");
                    }
                }
            }
            Purpose::CreatePermission { peers } => {
                for ip in peers {
                    let installed = self.permissions.get(&ip).is_some_and(|p| p.installed);
                    if installed {
                        if let Some(p) = self.permissions.get_mut(&ip) {
                            p.pending = false;
                        }
                    } else {
                        self.permissions.remove(&ip);
                    }
                    self.events.push_back(Event::PermissionFailed {
                        peer: ip,
                        code,
                        reason: reason.clone(),
                    });
                }
            }
            Purpose::ChannelBind { peer, channel } => {
                let bound = self.channels.get(&channel).is_some_and(|c| c.bound);
                if bound {
                    if let Some(c) = self.channels.get_mut(&channel) {
                        c.pending = false;
                    }
                } else {
                    self.channels.remove(&channel);
                }
                self.events.push_back(Event::ChannelBindFailed {
                    peer,
                    channel,
                    code,
                    reason,
                });
            }
        }
    }
}
