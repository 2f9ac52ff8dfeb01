//! Remote candidates and credentials: trickled candidates (RFC 8838), mDNS names waiting for
//! the application's resolver, peer-reflexive remote candidates (RFC 8445 §7.3.1.3), ICE-lite
//! peers, remote restarts.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tracing::debug;

use crate::candidate::{Address, Candidate, CandidateType, Extension, Transport};
use crate::Error;

use super::config::RemoteSecret;
use super::{Agent, Credentials, Event, Role};

#[derive(Debug, Clone)]
pub(super) struct RemoteCand {
    pub(super) cand: Candidate,
    pub(super) addr: SocketAddr,
}

impl Agent {
    /// Sets the remote `ice-ufrag` / `ice-pwd`. Changed credentials mean the remote restarted
    /// ICE: the checklist starts over, data keeps flowing on the old pair until a new one is
    /// selected.
    pub fn set_remote_credentials(&mut self, now: Instant, creds: Credentials) {
        match &self.remote_creds {
            Some(old) if old.creds == creds => return,
            Some(_) => {
                debug!(ufrag = %creds.ufrag, "ice: remote restart");
                self.reset_checks();
            }
            None => {}
        }
        // Remote candidates of another generation (trickled with a `ufrag`) are dropped.
        self.remotes
            .retain(|r| r.cand.ufrag().is_none_or(|u| u == creds.ufrag));
        self.remote_creds = Some(RemoteSecret::new(creds, &self.local_creds.creds.ufrag));
        self.rebuild_pairs();
        self.pump(now);
        self.update_state(now);
    }

    /// The remote is an ICE-lite agent (`a=ice-lite`): we must control (RFC 8445 §6.1.1).
    pub fn set_remote_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != Role::Controlling {
            self.set_role(Role::Controlling);
        }
    }

    /// Adds a remote candidate (trickle: before or after the credentials). TCP candidates are
    /// ignored (UDP only); host names are handed to the application as
    /// [`Event::ResolveName`]; candidates of another generation are dropped.
    pub fn add_remote_candidate(&mut self, now: Instant, cand: Candidate) -> Result<(), Error> {
        if cand.transport != Transport::Udp || cand.component != 1 {
            return Ok(());
        }
        if let (Some(u), Some(c)) = (cand.ufrag(), &self.remote_creds) {
            if u != c.creds.ufrag {
                return Ok(());
            }
        }
        let Some(addr) = cand.socket_addr() else {
            if let Address::Name(name) = &cand.address {
                if self.pending_names.len() >= self.config.max_pending_names {
                    return Err(Error::Limit("pending remote host names"));
                }
                self.events.push_back(Event::ResolveName(name.clone()));
                self.pending_names.push(cand);
            }
            return Ok(());
        };
        self.insert_remote(now, cand, addr)
    }

    /// The application resolved (or failed to resolve: `None`) a remote host name announced by
    /// [`Event::ResolveName`]. Unresolvable names are dropped without failing the session.
    pub fn resolve_remote_name(
        &mut self,
        now: Instant,
        name: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), Error> {
        let (matching, rest): (Vec<Candidate>, Vec<Candidate>) =
            std::mem::take(&mut self.pending_names)
                .into_iter()
                .partition(|c| matches!(&c.address, Address::Name(n) if n == name));
        self.pending_names = rest;
        if let Some(ip) = ip {
            for c in matching {
                let addr = SocketAddr::new(ip, c.port);
                self.insert_remote(now, c, addr)?;
            }
        }
        Ok(())
    }

    /// The remote signalled end-of-candidates (RFC 8838 §9).
    pub fn end_of_remote_candidates(&mut self, now: Instant) {
        self.end_of_remote = true;
        self.update_state(now);
    }

    pub(super) fn insert_remote(
        &mut self,
        now: Instant,
        cand: Candidate,
        addr: SocketAddr,
    ) -> Result<(), Error> {
        if let Some(r) = self.remotes.iter_mut().find(|r| r.addr == addr) {
            // A signalled candidate replaces a peer-reflexive one learned earlier (§7.3.1.3).
            if r.cand.typ == CandidateType::PeerReflexive
                && cand.typ != CandidateType::PeerReflexive
            {
                r.cand = cand;
            }
            return Ok(());
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return Err(Error::Limit("remote candidates"));
        }
        self.remotes.push(RemoteCand { cand, addr });
        let ri = self.remotes.len() - 1;
        let bases: Vec<SocketAddr> = self.pairable_bases();
        for base in bases {
            self.form_pair(base, ri);
        }
        self.pump(now);
        self.update_state(now);
        Ok(())
    }

    /// A request from an address no remote candidate has: a peer-reflexive remote candidate
    /// (RFC 8445 §7.3.1.3) with the request's PRIORITY.
    pub(super) fn add_remote_prflx(
        &mut self,
        now: Instant,
        source: SocketAddr,
        priority: Option<u32>,
    ) -> Result<(), Error> {
        let priority = priority.unwrap_or(1).max(1);
        self.prflx_counter = self.prflx_counter.wrapping_add(1);
        let mut c = Candidate::new(
            format!("prflx{}", self.prflx_counter),
            Transport::Udp,
            priority,
            source,
            CandidateType::PeerReflexive,
            None,
        );
        if let Some(rc) = &self.remote_creds {
            c.extensions.push(Extension::Ufrag(rc.creds.ufrag.clone()));
        }
        debug!(addr = %source, "ice: peer-reflexive remote candidate");
        self.insert_remote(now, c, source)
    }
}
