//! The ICE agent (RFC 8445), sans-IO: gathering (host, server-reflexive, relayed), the
//! checklist with Ta pacing, triggered checks, role conflicts, nomination, peer-reflexive
//! candidates, trickle (RFC 8838), consent freshness (RFC 7675), ICE restart, ICE-lite,
//! per-pair statistics.
//!
//! One data stream and one component (RTP and RTCP multiplexed, BUNDLE), as WebRTC uses.
//!
//! # Where things are
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Agent`]: its state, constructor, accessors, and the sans-IO surface (`handle_receive`, `handle_timeout`, `poll_*`, `send`, `restart`, `close`) |
//! | `config.rs` | [`AgentConfig`] (every limit and timing knob), [`Role`], [`Credentials`], [`TurnServer`], [`TurnTransport`] |
//! | `events.rs` | what the caller gets and is given: [`Transmit`] (datagrams and TURN stream bytes), [`Datagram`], [`Event`], [`ConnectionState`] and the rule that derives it |
//! | `gathering.rs` | local candidates: host, server-reflexive, peer-reflexive (§7.2.5.3.1), mDNS names, gathering complete |
//! | `remote.rs` | remote credentials and candidates: trickle, mDNS names to resolve, peer-reflexive remotes (§7.3.1.3), ICE-lite peers |
//! | `checklist.rs` | candidate pairs ([`PairState`], [`PairStats`]), pair formation, priorities and role, the paced choice of the next check |
//! | `checks.rs` | connectivity checks: sending one, answering a request, processing a response |
//! | `transaction.rs` | the agent's STUN transactions: what each is for, on `ferrtc-stun`'s `ClientTransaction` schedule |
//! | `nomination.rs` | regular nomination as controlling, accepting nominations as controlled, the selected pair |
//! | `timer.rs` | every deadline of the agent as one table of named timers, and when each is due |
//! | `consent.rs` | consent freshness on the selected pair |
//! | `relay.rs` | TURN allocations: relayed candidates, permissions, relayed data, TURN over TCP/TLS |
//! | `tests.rs` | unit tests that look at private state |

mod checklist;
mod checks;
mod config;
mod consent;
mod events;
mod gathering;
mod nomination;
mod relay;
mod remote;
#[cfg(test)]
mod tests;
mod timer;
mod transaction;

pub use checklist::{PairState, PairStats};
pub use config::{AgentConfig, Credentials, Role, TurnServer, TurnTransport};
pub use events::{ConnectionState, Datagram, Event, Transmit};

use checklist::Pair;
use config::{LocalSecret, RemoteSecret};
use gathering::LocalCand;
use nomination::Selected;
use relay::Relay;
use remote::RemoteCand;
use timer::{Timer, TimerTable};
use transaction::{Txn, TxnKind};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_stun::demux::{classify, PacketKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_core::RngCore;
use tracing::debug;

use crate::candidate::{Candidate, CandidateType, Extension};
use crate::stun::{self, Class, Message, BINDING};
use crate::Error;

/// The ICE agent. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    rng: StdRng,
    role: Role,
    tie_breaker: u64,
    local_creds: LocalSecret,
    /// Credentials of the generation before the last restart, still answered for the old pair.
    previous_local_creds: Option<LocalSecret>,
    remote_creds: Option<RemoteSecret>,
    remote_lite: bool,
    locals: Vec<LocalCand>,
    interfaces: u16,
    remotes: Vec<RemoteCand>,
    pending_names: Vec<Candidate>,
    pairs: Vec<Pair>,
    triggered: VecDeque<(SocketAddr, SocketAddr)>,
    txns: Vec<Txn>,
    selected: Option<Selected>,
    /// The stored timers (the next Ta slot and the next consent check; see `timer.rs`).
    timers: TimerTable,
    first_success: Option<Instant>,
    end_of_local: bool,
    gathering_complete_sent: bool,
    end_of_remote: bool,
    consent_lost: bool,
    closed: bool,
    state: ConnectionState,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    prflx_counter: u32,
    relays: Vec<Relay>,
    last_now: Instant,
}

impl Agent {
    /// A new agent. `rng` seeds the agent's own CSPRNG (transaction ids, tie-breaker,
    /// credentials, consent jitter).
    pub fn new(config: AgentConfig, now: Instant, rng: &mut impl RngCore) -> Agent {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut own = StdRng::from_seed(seed);
        let local_creds = config
            .local_credentials
            .clone()
            .unwrap_or_else(|| Credentials::random(&mut own));
        let role = if config.lite {
            Role::Controlled
        } else {
            config.role
        };
        Agent {
            tie_breaker: own.next_u64(),
            rng: own,
            role,
            local_creds: LocalSecret::new(local_creds),
            previous_local_creds: None,
            remote_creds: None,
            remote_lite: false,
            locals: Vec::new(),
            interfaces: 0,
            remotes: Vec::new(),
            pending_names: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            txns: Vec::new(),
            selected: None,
            timers: {
                let mut t = TimerTable::default();
                t.set(Timer::Pacing, now);
                t
            },
            first_success: None,
            end_of_local: false,
            gathering_complete_sent: false,
            end_of_remote: false,
            consent_lost: false,
            closed: false,
            state: ConnectionState::New,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            prflx_counter: 0,
            relays: Vec::new(),
            last_now: now,
            config,
        }
    }

    /// Our credentials (for `a=ice-ufrag` / `a=ice-pwd`).
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds.creds
    }

    /// The remote credentials, once known.
    pub fn remote_credentials(&self) -> Option<&Credentials> {
        self.remote_creds.as_ref().map(|r| &r.creds)
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Current connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Whether this agent is ICE-lite.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// Local candidates gathered so far.
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.locals.iter().map(|l| &l.cand)
    }

    /// Remote candidates known (signalled and peer-reflexive).
    pub fn remote_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.remotes.iter().map(|r| &r.cand)
    }

    /// The selected pair (local base, remote address).
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected.as_ref().map(|s| (s.local, s.remote))
    }

    /// Statistics of every pair in the checklist.
    pub fn pair_stats(&self) -> Vec<PairStats> {
        self.pairs
            .iter()
            .map(|p| {
                let mut s = p.stats.clone();
                s.state = p.state;
                s.nominated = p.nominated;
                s.priority = p.priority;
                s
            })
            .collect()
    }

    /// ICE restart (RFC 8445 §9): new local credentials, a new checklist; data keeps flowing on
    /// the current pair until a new one is selected. Local candidates are announced again.
    pub fn restart(&mut self, now: Instant) -> Credentials {
        let new = Credentials::random(&mut self.rng);
        self.previous_local_creds = Some(std::mem::replace(
            &mut self.local_creds,
            LocalSecret::new(new.clone()),
        ));
        self.reset_checks();
        self.remote_creds = None;
        self.remotes.clear();
        self.end_of_remote = false;
        let ufrag = self.local_creds.creds.ufrag.clone();
        for l in &mut self.locals {
            l.cand
                .extensions
                .retain(|e| !matches!(e, Extension::Ufrag(_)));
            l.cand.extensions.push(Extension::Ufrag(ufrag.clone()));
            let signalled = match l.cand.typ {
                CandidateType::Relayed => true,
                CandidateType::PeerReflexive => false,
                _ => !self.config.relay_only,
            };
            if signalled {
                self.events.push_back(Event::LocalCandidate(l.cand.clone()));
            }
        }
        if self.end_of_local && !self.gathering_pending() {
            self.events.push_back(Event::GatheringComplete);
        }
        self.update_state(now);
        new
    }

    /// Closes the agent: nothing is sent any more.
    pub fn close(&mut self) {
        self.closed = true;
        self.txns.clear();
        self.selected = None;
        self.timers.stop(Timer::ConsentCheck);
        self.transmits.clear();
        if self.state != ConnectionState::Closed {
            self.state = ConnectionState::Closed;
            self.events
                .push_back(Event::ConnectionState(ConnectionState::Closed));
        }
    }

    /// Sends application data on the selected pair.
    pub fn send(&mut self, data: Bytes) -> Result<(), Error> {
        let sel = self.selected.as_ref().ok_or(Error::NotConnected)?;
        let (local, remote) = (sel.local, sel.remote);
        if let Some(p) = self.pair_mut(local, remote) {
            p.stats.packets_sent += 1;
            p.stats.bytes_sent += data.len() as u64;
        }
        self.transmits.push_back(Transmit::udp(local, remote, data));
        Ok(())
    }

    /// Next bytes to send: a datagram, or bytes for the TCP/TLS stream to a TURN server (see
    /// [`Transmit`]). One queue, in order.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let t = self.transmits.pop_front()?;
            // Sent "from" a relayed address: it goes through that TURN allocation.
            let Some(r) = self.relays.iter_mut().find(|r| r.relayed == Some(t.source)) else {
                return Some(t);
            };
            if r.closed {
                continue;
            }
            if let Err(e) = r.client.send(self.last_now, t.destination, &t.contents) {
                debug!(error = %e, peer = %t.destination, "ice: TURN send");
                continue;
            }
            // What the client wraps it in (ChannelData or a Send indication, RFC 8656 §11-12)
            // goes out next, before anything queued after it, without a buffer of its own.
            let mut at = 0;
            while let Some(x) = r.client.poll_transmit() {
                self.transmits.insert(at, r.transmit(x));
                at += 1;
            }
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Agent::handle_timeout`] must next be called: the earliest armed timer (see
    /// `agent/timer.rs`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        Timer::VALUES
            .into_iter()
            .filter_map(|t| self.deadline(t))
            .min()
    }

    /// Fires the due timers (see `timer.rs`): TURN clients, retransmissions, consent; then the
    /// steps every input ends with, which send the nominating check, the next paced check and
    /// move the connection state (Disconnected) when their time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.last_now = self.last_now.max(now);
        if self.is_due(Timer::Turn, now) {
            for r in self.relays.iter_mut().filter(|r| !r.closed) {
                if r.client.poll_timeout().is_some_and(|t| t <= now) {
                    r.client.handle_timeout(now);
                }
            }
        }
        self.drain_relays(now);
        if self.is_due(Timer::Retransmit, now) {
            self.retransmit_due(now);
        }
        if self.is_due(Timer::ConsentExpiry, now) {
            self.consent_lost();
        } else if self.is_due(Timer::ConsentCheck, now) {
            self.send_consent_check(now);
        }
        // Timer::Nomination, Timer::Pacing and Timer::Disconnected.
        self.maybe_nominate(now);
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// A datagram arrived. STUN messages for ICE are consumed (`Ok(None)`); application data
    /// from a known remote candidate is returned (`Ok(Some(payload))`). A [`Transmit`] of
    /// another agent may be handed over as it is (a simulated network).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        d: impl Into<Datagram>,
    ) -> Result<Option<Bytes>, Error> {
        let d = d.into();
        if self.closed {
            return Ok(None);
        }
        self.last_now = self.last_now.max(now);
        // From a TURN server we allocated on (unless it answers one of our own Binding
        // requests, as a STUN server on the same address would).
        let ours = stun::is_stun(&d.contents)
            && d.contents
                .get(8..20)
                .is_some_and(|tid| self.txns.iter().any(|t| t.id()[..] == *tid));
        if !ours {
            if let Some(r) = self.relays.iter_mut().find(|r| {
                !r.transport.is_stream() && r.server == d.source && r.base == d.destination
            }) {
                if let Err(e) = r.client.handle_receive(now, d.source, d.contents) {
                    debug!(error = %e, "ice: TURN receive");
                }
                // One datagram from the server carries at most one relayed packet.
                let app = self.drain_relays(now).pop();
                self.pump(now);
                self.check_gathering_complete();
                self.update_state(now);
                return Ok(app);
            }
        }
        self.receive_inner(now, d)
    }

    fn receive_inner(&mut self, now: Instant, d: Datagram) -> Result<Option<Bytes>, Error> {
        if classify(&d.contents) == PacketKind::Stun && !stun::is_stun(&d.contents) {
            // RFC 7983 §7 (the STUN crate's demultiplexer): a first byte of 0-3 is STUN; one
            // that is not a valid STUN header is dropped, never handed up as application data.
            return Err(Error::Stun("malformed STUN header".into()));
        }
        if !stun::is_stun(&d.contents) {
            let known = self.remotes.iter().any(|r| r.addr == d.source)
                || self.selected.as_ref().is_some_and(|s| s.remote == d.source);
            if !known {
                return Err(Error::UnknownSource(d.source));
            }
            if let Some(p) = self.pair_mut(d.destination, d.source) {
                p.stats.packets_received += 1;
                p.stats.bytes_received += d.contents.len() as u64;
            }
            return Ok(Some(d.contents));
        }
        let msg = Message::parse(d.contents.clone())?;
        if msg.method != BINDING {
            return Err(Error::Stun(format!(
                "method 0x{:03x} is not Binding",
                msg.method
            )));
        }
        let r = match msg.class {
            Class::Request => self.on_request(now, &d, &msg),
            Class::SuccessResponse | Class::ErrorResponse => self.on_response(now, &d, &msg),
            Class::Indication => Ok(()), // Binding indications are keepalives (RFC 8445 §11).
        };
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
        r.map(|()| None)
    }
}
