//! TURN allocations (RFC 8656) made through `ferrtc-turn-client`: relayed candidates, the
//! permissions a relayed pair waits for, data relayed from peers, and the TCP/TLS stream to a
//! server (RFC 6062 framing).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_core::RngCore;
use tracing::{debug, trace};

use crate::candidate::{
    candidate_priority, foundation, local_preference, Candidate, CandidateType, Transport,
};
use crate::Error;
use ferrtc_turn_client::{Event as TurnEvent, TurnClient};

use super::TurnServer;
use super::{Agent, Datagram, Event, LocalCand, PairState, Transmit, TurnTransport};

/// One TURN allocation made from one local base.
#[derive(Debug)]
pub(super) struct Relay {
    pub(super) client: TurnClient<StdRng>,
    pub(super) base: SocketAddr,
    pub(super) server: SocketAddr,
    pub(super) transport: TurnTransport,
    /// The stream to the server closed or never opened: the relay is dead.
    pub(super) closed: bool,
    pub(super) interface_index: u16,
    pub(super) relayed: Option<SocketAddr>,
    /// Allocation finished (ready or failed): gathering does not wait for it any more.
    pub(super) settled: bool,
    /// Peers a CreatePermission was asked for.
    pub(super) permissions_asked: Vec<IpAddr>,
}

/// Where a relayed candidate came from.
pub(super) struct RelayVia {
    pub(super) base: SocketAddr,
    pub(super) server: SocketAddr,
    pub(super) index: u16,
    pub(super) transport: TurnTransport,
}

impl Relay {
    /// What the TURN client wants sent to its server, as the agent's output: a datagram from
    /// the interface's socket, or bytes for the TCP/TLS stream from it.
    pub(super) fn transmit(&self, x: ferrtc_turn_client::Transmit) -> Transmit {
        if self.transport.is_stream() {
            Transmit {
                transport: self.transport.clone(),
                source: self.base,
                destination: self.server,
                contents: x.data,
            }
        } else {
            Transmit::udp(self.base, x.destination, x.data)
        }
    }
}

impl Agent {
    /// Starts an allocation on every TURN server of the new base's address family (relayed
    /// candidates, RFC 8445 §5.1.1.2).
    pub(super) fn start_relays(&mut self, now: Instant, addr: SocketAddr, index: u16) {
        let turns: Vec<TurnServer> = self
            .config
            .turn_servers
            .iter()
            .filter(|t| t.addr.is_ipv4() == addr.is_ipv4())
            .cloned()
            .collect();
        for t in turns {
            let mut seed = [0u8; 32];
            self.rng.fill_bytes(&mut seed);
            let cfg = ferrtc_turn_client::Config::new(
                t.addr,
                if t.transport.is_stream() {
                    ferrtc_turn_client::Transport::Stream
                } else {
                    ferrtc_turn_client::Transport::Udp
                },
                &t.username,
                &t.password,
            );
            let mut client = TurnClient::new(cfg, StdRng::from_seed(seed));
            if let Err(e) = client.allocate(now) {
                debug!(error = %e, "ice: TURN allocate");
                continue;
            }
            self.relays.push(Relay {
                client,
                base: addr,
                server: t.addr,
                transport: t.transport,
                closed: false,
                interface_index: index,
                relayed: None,
                settled: false,
                permissions_asked: Vec::new(),
            });
        }
        self.drain_relays(now);
    }

    /// Bytes read from the TCP/TLS connection from `local` to the TURN server `server`.
    /// Returns the application data relayed in them (a read may carry several packets).
    pub fn handle_stream_data(
        &mut self,
        now: Instant,
        local: SocketAddr,
        server: SocketAddr,
        data: &[u8],
    ) -> Result<Vec<Bytes>, Error> {
        if self.closed {
            return Ok(Vec::new());
        }
        self.last_now = self.last_now.max(now);
        let Some(r) = self.relays.iter_mut().find(|r| {
            r.transport.is_stream() && !r.closed && r.base == local && r.server == server
        }) else {
            return Err(Error::UnknownSource(server));
        };
        let framing = r.client.handle_stream_data(now, data);
        let app = self.drain_relays(now);
        if let Err(e) = framing {
            // The stream cannot be resynchronised (RFC 8656 §11.5 framing): it is dead.
            debug!(error = %e, %server, "ice: TURN stream framing");
            self.handle_stream_closed(now, local, server);
        }
        self.pump(now);
        self.check_gathering_complete();
        self.update_state(now);
        Ok(app)
    }

    /// The TCP/TLS connection from `local` to the TURN server `server` could not be opened
    /// (refused, TLS handshake or certificate failure) or closed. The allocation is gone with
    /// it (RFC 8656 §3.1): its relayed candidate fails, and gathering no longer waits for it.
    pub fn handle_stream_closed(&mut self, now: Instant, local: SocketAddr, server: SocketAddr) {
        let mut dead = Vec::new();
        for r in &mut self.relays {
            if r.transport.is_stream() && !r.closed && r.base == local && r.server == server {
                debug!(%server, allocated = r.relayed.is_some(), "ice: TURN stream closed");
                r.closed = true;
                r.settled = true;
                while r.client.poll_transmit().is_some() {}
                if let Some(a) = r.relayed {
                    dead.push(a);
                }
            }
        }
        // The dead relayed candidate pairs with nothing any more.
        self.locals.retain(|l| !dead.contains(&l.base));
        // Bytes still queued for the dead stream are moot.
        self.transmits
            .retain(|t| !(t.is_stream() && t.source == local && t.destination == server));
        for a in dead {
            for p in &mut self.pairs {
                if p.stats.local == a {
                    p.state = PairState::Failed;
                    p.nominating = false;
                }
            }
            self.triggered.retain(|(l, _)| *l != a);
            self.txns.retain(|t| t.source != a);
        }
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// Moves TURN clients' output into the agent: datagrams to the servers, relayed
    /// candidates, and data relayed from peers (processed as if received on the relayed
    /// address). Returns application data, if some arrived.
    pub(super) fn drain_relays(&mut self, now: Instant) -> Vec<Bytes> {
        self.flush_relay_transmits();
        let mut events = Vec::new();
        for (i, r) in self.relays.iter_mut().enumerate() {
            if r.closed {
                continue;
            }
            while let Some(e) = r.client.poll_event() {
                events.push((i, e));
            }
        }
        let mut app = Vec::new();
        for (i, e) in events {
            match e {
                TurnEvent::AllocationReady {
                    relayed, mapped, ..
                } => {
                    let Some(r) = self.relays.get_mut(i) else {
                        continue;
                    };
                    r.settled = true;
                    let (base, server, index) = (r.base, r.server, r.interface_index);
                    let stream = r.transport.clone();
                    let Some(addr) = relayed.into_iter().find(|a| a.is_ipv4() == base.is_ipv4())
                    else {
                        continue;
                    };
                    r.relayed = Some(addr);
                    let via = RelayVia {
                        base,
                        server,
                        index,
                        transport: stream,
                    };
                    self.add_relayed(now, addr, mapped.unwrap_or(base), via);
                }
                TurnEvent::AllocationFailed { reason, .. }
                | TurnEvent::AllocationLost { reason } => {
                    debug!(%reason, "ice: TURN allocation failed or lost");
                    if let Some(r) = self.relays.get_mut(i) {
                        r.settled = true;
                    }
                }
                TurnEvent::Data { peer, data, .. } => {
                    let Some(relayed) = self.relays.get(i).and_then(|r| r.relayed) else {
                        continue;
                    };
                    let d = Datagram {
                        source: peer,
                        destination: relayed,
                        contents: data,
                    };
                    match self.receive_inner(now, d) {
                        Ok(Some(x)) => app.push(x),
                        Ok(None) => {}
                        Err(e) => debug!(error = %e, "ice: relayed datagram"),
                    }
                }
                other => trace!(?other, "ice: TURN event"),
            }
        }
        self.check_gathering_complete();
        app
    }

    /// Moves what the TURN clients want to send to the servers into the agent's queue
    /// (datagrams from the interface's socket, or bytes for the stream).
    pub(super) fn flush_relay_transmits(&mut self) {
        for r in self.relays.iter_mut().filter(|r| !r.closed) {
            while let Some(x) = r.client.poll_transmit() {
                self.transmits.push_back(r.transmit(x));
            }
        }
    }

    pub(super) fn add_relayed(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        mapped: SocketAddr,
        via: RelayVia,
    ) {
        let RelayVia {
            base,
            server,
            index,
            transport,
        } = via;
        if self.locals.len() >= self.config.max_local_candidates {
            return;
        }
        // UDP to the server is preferred over TCP, TCP over TLS (each adds latency and
        // head-of-line blocking), as browsers rank them; the gaps exceed any interface spread.
        let penalty = match transport {
            TurnTransport::Udp => 0,
            TurnTransport::Tcp => 0x2000,
            TurnTransport::Tls { .. } => 0x4000,
        };
        let prio = candidate_priority(
            CandidateType::Relayed,
            local_preference(base.ip(), index).saturating_sub(penalty),
            1,
        );
        // The foundation includes the protocol used to reach the server (RFC 8445 §5.1.1.3).
        let f = foundation(
            CandidateType::Relayed,
            base.ip(),
            Some(server.ip()),
            if transport.is_stream() {
                Transport::Tcp
            } else {
                Transport::Udp
            },
        );
        let related = self.related_address(base, mapped);
        let cand = self.with_ufrag(Candidate::new(
            f,
            Transport::Udp,
            prio,
            addr,
            CandidateType::Relayed,
            Some(related),
        ));
        // A relayed candidate is its own base (RFC 8445 §5.1.1.2).
        self.locals.push(LocalCand {
            cand: cand.clone(),
            base: addr,
        });
        self.events.push_back(Event::LocalCandidate(cand));
        for ri in 0..self.remotes.len() {
            self.form_pair(addr, ri);
        }
        self.pump(now);
    }

    /// A relayed pair may be checked once the TURN server lets the peer's packets in;
    /// asks for the permission the first time.
    pub(super) fn relay_ready(&mut self, local: SocketAddr, remote: SocketAddr) -> bool {
        let now = self.last_now;
        let Some(r) = self.relays.iter_mut().find(|r| r.relayed == Some(local)) else {
            return true; // not relayed
        };
        if r.closed {
            return false;
        }
        if r.client.has_permission(remote.ip()) {
            return true;
        }
        if !r.permissions_asked.contains(&remote.ip()) {
            r.permissions_asked.push(remote.ip());
            if let Err(e) = r.client.create_permission(now, remote.ip()) {
                debug!(error = %e, "ice: TURN permission");
            }
        }
        false
    }
}
