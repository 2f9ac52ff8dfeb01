//! Local candidates (RFC 8445 §5.1): host candidates from the caller's interfaces,
//! server-reflexive ones from STUN servers, peer-reflexive ones learned from checks
//! (§7.2.5.3.1), mDNS host names, and when gathering is complete.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand_core::RngCore;
use tracing::debug;

use crate::candidate::{
    candidate_priority, foundation, local_preference, pair_priority, Address, Candidate,
    CandidateType, Extension, Transport,
};
use crate::stun::{Builder, Class, BINDING};
use crate::Error;

use super::transaction::TxnAuth;
use super::{Agent, Event, Role, TxnKind};

#[derive(Debug, Clone)]
pub(super) struct LocalCand {
    pub(super) cand: Candidate,
    pub(super) base: SocketAddr,
}

impl Agent {
    /// Adds a local interface: the address of a UDP socket the application bound. Creates a
    /// host candidate (announced as [`Event::LocalCandidate`]) and starts server-reflexive
    /// gathering from it. Returns the host candidate, or `None` if the address is skipped
    /// (loopback without `include_loopback`, or unspecified).
    pub fn add_local_interface(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Result<Option<Candidate>, Error> {
        if addr.ip().is_unspecified() || addr.port() == 0 {
            return Err(Error::Invalid(
                "interface address must be a bound, specific address",
            ));
        }
        if addr.ip().is_loopback() && !self.config.include_loopback {
            return Ok(None);
        }
        if self.locals.iter().any(|l| l.base == addr) {
            return Ok(None);
        }
        if self.locals.len() >= self.config.max_local_candidates {
            return Err(Error::Limit("local candidates"));
        }
        let index = self.interfaces;
        self.interfaces = self.interfaces.saturating_add(1);
        let prio = candidate_priority(CandidateType::Host, local_preference(addr.ip(), index), 1);
        let f = foundation(CandidateType::Host, addr.ip(), None, Transport::Udp);
        let mut cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            addr,
            CandidateType::Host,
            None,
        ));
        if self.config.mdns_host_names {
            let name = self.mdns_name();
            self.events.push_back(Event::MdnsName {
                name: name.clone(),
                ip: addr.ip(),
            });
            cand.address = Address::Name(name);
        }
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base: addr,
        });
        self.last_now = self.last_now.max(now);
        if !self.config.relay_only {
            self.events.push_back(Event::LocalCandidate(cand.clone()));
        }
        if !self.config.lite {
            self.start_relays(now, addr, index);
        }
        if !self.config.lite && !self.config.relay_only {
            self.start_srflx(now, addr, index, prio)?;
        }
        // Trickle: pair the new base with every remote candidate already known.
        for ri in 0..self.remotes.len() {
            self.form_pair(addr, ri);
        }
        self.pump(now);
        self.update_state(now);
        Ok(Some(cand))
    }

    /// Server-reflexive gathering from the new base `addr` (RFC 8445 §5.1.1.1): a Binding
    /// request to every STUN server of its address family.
    fn start_srflx(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        index: u16,
        prio: u32,
    ) -> Result<(), Error> {
        let servers: Vec<SocketAddr> = self
            .config
            .stun_servers
            .iter()
            .copied()
            .filter(|s| s.is_ipv4() == addr.is_ipv4())
            .collect();
        for server in servers {
            let tid = self.new_tid();
            let mut b = Builder::new(Class::Request, BINDING, &tid);
            b.priority(prio);
            let bytes = b.finish(None);
            self.start_txn(
                now,
                TxnKind::Srflx {
                    interface_index: index,
                },
                addr,
                server,
                TxnAuth::Server,
                bytes,
            )?;
        }
        Ok(())
    }

    /// Adds every interface, then [`Agent::end_of_local_interfaces`].
    pub fn gather(&mut self, now: Instant, addrs: &[SocketAddr]) -> Result<(), Error> {
        for a in addrs {
            self.add_local_interface(now, *a)?;
        }
        self.end_of_local_interfaces(now);
        Ok(())
    }

    /// No more interfaces will be added: [`Event::GatheringComplete`] follows once the STUN
    /// servers have answered (or timed out).
    pub fn end_of_local_interfaces(&mut self, now: Instant) {
        self.end_of_local = true;
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// The related address (`raddr`/`rport`) a candidate from `base` shows: `related`, or
    /// with mDNS host names the unspecified address of `base`'s family and port 0, so that
    /// the base address does not leak through it.
    pub(super) fn related_address(&self, base: SocketAddr, related: SocketAddr) -> SocketAddr {
        if !self.config.mdns_host_names {
            return related;
        }
        let unspecified = match base {
            SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        };
        SocketAddr::new(unspecified, 0)
    }

    pub(super) fn with_ufrag(&self, mut c: Candidate) -> Candidate {
        c.extensions
            .push(Extension::Ufrag(self.local_creds.creds.ufrag.clone()));
        c
    }

    /// A random version-4 UUID followed by `.local`, as browsers name their host candidates.
    pub(super) fn mdns_name(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        if let Some(x) = b.get_mut(6) {
            *x = (*x & 0x0f) | 0x40;
        }
        if let Some(x) = b.get_mut(8) {
            *x = (*x & 0x3f) | 0x80;
        }
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}.local",
            h.get(0..8).unwrap_or_default(),
            h.get(8..12).unwrap_or_default(),
            h.get(12..16).unwrap_or_default(),
            h.get(16..20).unwrap_or_default(),
            h.get(20..32).unwrap_or_default()
        )
    }

    pub(super) fn gathering_pending(&self) -> bool {
        self.txns
            .iter()
            .any(|t| matches!(t.kind, TxnKind::Srflx { .. }))
            || self.relays.iter().any(|r| !r.settled)
    }

    /// A successful check from `base` to `remote` reported our address as `mapped`. If no
    /// local candidate has that address, it is a new local peer-reflexive candidate (RFC 8445
    /// §7.2.5.3.1): its priority is the PRIORITY the check carried, its base the check's
    /// source. It is not signalled (the peer learns it from our checks), and the valid pair
    /// takes it as its local candidate (§7.2.5.3.2), which sets the pair's priority.
    pub(super) fn learn_local_prflx(
        &mut self,
        base: SocketAddr,
        remote: SocketAddr,
        mapped: SocketAddr,
    ) {
        let known = self.locals.iter().any(|l| {
            l.cand.socket_addr() == Some(mapped)
                || (l.base == mapped && l.cand.typ != CandidateType::ServerReflexive)
        });
        if known || mapped.is_ipv4() != base.is_ipv4() {
            return;
        }
        let Some(p) = self
            .pairs
            .iter()
            .find(|p| p.stats.local == base && p.stats.remote == remote)
        else {
            return;
        };
        let prio = (CandidateType::PeerReflexive.preference() << 24) | (p.local_prio & 0xFF_FFFF);
        if self.locals.len() >= self.config.max_local_candidates {
            debug!("ice: local candidate limit, peer-reflexive candidate not kept");
            return;
        }
        let related = self.related_address(base, base);
        let f = foundation(
            CandidateType::PeerReflexive,
            base.ip(),
            None,
            Transport::Udp,
        );
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            mapped,
            CandidateType::PeerReflexive,
            Some(related),
        ));
        debug!(%base, %mapped, "ice: peer-reflexive local candidate");
        self.locals.push(LocalCand { cand, base });
        let controlling = self.role == Role::Controlling;
        if let Some(p) = self.pair_mut(base, remote) {
            p.local_prio = prio;
            p.priority = if controlling {
                pair_priority(prio, p.remote_prio)
            } else {
                pair_priority(p.remote_prio, prio)
            };
            p.stats.local_type = CandidateType::PeerReflexive;
        }
    }

    pub(super) fn add_srflx(
        &mut self,
        base: SocketAddr,
        server: SocketAddr,
        mapped: SocketAddr,
        index: u16,
    ) {
        if mapped.is_ipv4() != base.is_ipv4() {
            return;
        }
        let prio = candidate_priority(
            CandidateType::ServerReflexive,
            local_preference(base.ip(), index),
            1,
        );
        // Redundant if it equals a candidate with the same base (no NAT) (§5.1.3).
        let redundant = self
            .locals
            .iter()
            .any(|l| l.base == base && (l.base == mapped || l.cand.socket_addr() == Some(mapped)));
        if redundant || self.locals.len() >= self.config.max_local_candidates {
            return;
        }
        let f = foundation(
            CandidateType::ServerReflexive,
            base.ip(),
            Some(server.ip()),
            Transport::Udp,
        );
        let related = self.related_address(base, base);
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            mapped,
            CandidateType::ServerReflexive,
            Some(related),
        ));
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base,
        });
        self.events.push_back(Event::LocalCandidate(cand));
    }

    pub(super) fn check_gathering_complete(&mut self) {
        if self.end_of_local && !self.gathering_complete_sent && !self.gathering_pending() {
            self.gathering_complete_sent = true;
            self.events.push_back(Event::GatheringComplete);
        }
    }
}
