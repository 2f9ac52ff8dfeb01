//! The simulator: endpoints, links between them, packets in flight and the virtual clock.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::link::{DropReason, Link, LinkConfig, LinkStats, Verdict};

/// Anything with the sans-IO shape of DESIGN.md. Test code implements it for the protocol under
/// test (usually a thin adapter that also records events for later assertions).
pub trait Endpoint {
    /// A datagram from `from` arrived at virtual time `now`.
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: Bytes);
    /// The instant returned by [`Endpoint::poll_timeout`] has been reached (`now` >= it).
    fn handle_timeout(&mut self, now: Instant);
    /// Next datagram to send: destination and bytes. Drained completely after every event.
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)>;
    /// When [`Endpoint::handle_timeout`] should next be called (`None`: no timer).
    fn poll_timeout(&mut self) -> Option<Instant>;
}

impl<T: Endpoint + ?Sized> Endpoint for Box<T> {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: Bytes) {
        (**self).handle_receive(now, from, data);
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        (**self).poll_transmit()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        (**self).poll_timeout()
    }
}

/// One thing that happened in the simulation, with its virtual time since the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A datagram was put on the link `from` → `to`.
    Send {
        at: Duration,
        from: SocketAddr,
        to: SocketAddr,
        len: usize,
    },
    /// The link dropped it.
    Drop {
        at: Duration,
        from: SocketAddr,
        to: SocketAddr,
        len: usize,
        reason: DropReason,
    },
    /// A copy reached `to`.
    Deliver {
        at: Duration,
        from: SocketAddr,
        to: SocketAddr,
        len: usize,
    },
    /// `handle_timeout` was called on `addr`.
    Timeout { at: Duration, addr: SocketAddr },
}

/// Why a run stopped before its condition held. Every message names the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// Nothing is in flight and no endpoint has a timer, yet the condition is false.
    Idle { seed: u64, at: Duration },
    /// The virtual time limit passed.
    Deadline { seed: u64, at: Duration },
    /// More steps than [`Sim::set_max_steps`] without the condition holding (an endpoint that
    /// keeps asking for a timeout in the past, or a packet storm).
    StepLimit { seed: u64, at: Duration, steps: u64 },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Idle { seed, at } => {
                write!(
                    f,
                    "simulation idle at {at:?} before the condition held (seed {seed})"
                )
            }
            SimError::Deadline { seed, at } => {
                write!(
                    f,
                    "virtual deadline reached at {at:?} before the condition held (seed {seed})"
                )
            }
            SimError::StepLimit { seed, at, steps } => {
                write!(
                    f,
                    "{steps} steps at {at:?} without the condition holding (seed {seed})"
                )
            }
        }
    }
}

impl std::error::Error for SimError {}

/// A datagram on its way, ordered by delivery time then by the order it was scheduled in, so
/// that equal times resolve the same way on every run.
#[derive(Debug)]
struct InFlight {
    at: Instant,
    seq: u64,
    from: SocketAddr,
    to: SocketAddr,
    data: Bytes,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A simulated network of endpoints of type `E` (use `Box<dyn Endpoint>` to mix types).
///
/// The clock is virtual: it starts at an epoch taken once from `Instant::now()` and only moves
/// when the simulator jumps to the next due event (a delivery or an endpoint timer), so a
/// minute of protocol time costs only the work done in it. All randomness comes from the seed.
pub struct Sim<E> {
    seed: u64,
    epoch: Instant,
    now: Instant,
    endpoints: BTreeMap<SocketAddr, E>,
    default_link: LinkConfig,
    links: BTreeMap<(SocketAddr, SocketAddr), Link>,
    in_flight: BinaryHeap<InFlight>,
    next_seq: u64,
    trace: Option<Vec<TraceEvent>>,
    max_steps: u64,
    rng: StdRng,
}

impl<E> fmt::Debug for Sim<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("elapsed", &self.elapsed())
            .field("endpoints", &self.endpoints.keys().collect::<Vec<_>>())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl<E> Drop for Sim<E> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A test is failing with this simulator alive: say how to reproduce it. This is a
            // test-only crate, and the message must reach the test output whatever the
            // tracing subscriber.
            eprintln!(
                "ferrtc-testkit: test failed with Sim seed {} at virtual time {:?}",
                self.seed,
                self.elapsed()
            );
        }
    }
}

/// splitmix64: spreads a seed and a stream number into an independent seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn addr_key(a: &SocketAddr) -> u64 {
    let ip = match a.ip() {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    };
    mix((ip as u64) ^ ((ip >> 64) as u64).rotate_left(17) ^ u64::from(a.port()).rotate_left(48))
}

impl<E> Sim<E> {
    /// The seed this simulator was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.epoch)
    }
}

impl<E: Endpoint> Sim<E> {
    /// An empty network whose every random choice follows from `seed`.
    pub fn new(seed: u64) -> Self {
        let epoch = Instant::now();
        Sim {
            seed,
            epoch,
            now: epoch,
            endpoints: BTreeMap::new(),
            default_link: LinkConfig::default(),
            links: BTreeMap::new(),
            in_flight: BinaryHeap::new(),
            next_seq: 0,
            trace: Some(Vec::new()),
            max_steps: 10_000_000,
            rng: StdRng::seed_from_u64(mix(seed ^ 0x5eed)),
        }
    }

    /// A new random generator for an endpoint, derived from the seed (call in a fixed order).
    pub fn fork_rng(&mut self) -> StdRng {
        StdRng::seed_from_u64(self.rng.random())
    }

    /// Adds an endpoint at `addr` (replacing any endpoint already there).
    pub fn add_endpoint(&mut self, addr: SocketAddr, endpoint: E) {
        self.endpoints.insert(addr, endpoint);
    }

    /// The endpoint at `addr`.
    pub fn endpoint(&self, addr: SocketAddr) -> Option<&E> {
        self.endpoints.get(&addr)
    }

    /// The endpoint at `addr`, mutably (to issue commands or read its events).
    pub fn endpoint_mut(&mut self, addr: SocketAddr) -> Option<&mut E> {
        self.endpoints.get_mut(&addr)
    }

    /// Removes and returns the endpoint at `addr`; packets to it are dropped from then on.
    pub fn remove_endpoint(&mut self, addr: SocketAddr) -> Option<E> {
        self.endpoints.remove(&addr)
    }

    /// Impairments of every link not configured with [`Sim::set_link`].
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default_link = config;
    }

    fn link(&mut self, from: SocketAddr, to: SocketAddr) -> &mut Link {
        let seed = mix(self.seed ^ addr_key(&from) ^ addr_key(&to).rotate_left(1));
        let default = &self.default_link;
        self.links
            .entry((from, to))
            .or_insert_with(|| Link::new(default.clone(), StdRng::seed_from_u64(seed)))
    }

    /// Impairments of the one-way link `from` → `to` (its loss state and queue are kept).
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, config: LinkConfig) {
        self.link(from, to).config = config;
    }

    /// The same impairments on both directions between `a` and `b`.
    pub fn set_path(&mut self, a: SocketAddr, b: SocketAddr, config: LinkConfig) {
        self.set_link(a, b, config.clone());
        self.set_link(b, a, config);
    }

    /// Counters of the link `from` → `to`.
    pub fn link_stats(&self, from: SocketAddr, to: SocketAddr) -> LinkStats {
        self.links
            .get(&(from, to))
            .map(|l| l.stats)
            .unwrap_or_default()
    }

    /// Stops (`false`) or restarts recording the trace; stopping also frees it.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = if on {
            Some(self.trace.take().unwrap_or_default())
        } else {
            None
        };
    }

    /// Everything that happened, in order (empty if tracing is off).
    pub fn trace(&self) -> &[TraceEvent] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// Steps a single `run_*` call may take before it gives up with [`SimError::StepLimit`].
    pub fn set_max_steps(&mut self, steps: u64) {
        self.max_steps = steps;
    }

    fn record(&mut self, event: TraceEvent) {
        if let Some(t) = &mut self.trace {
            t.push(event);
        }
    }

    /// Puts a datagram on the link `from` → `to` now, as if `from` had sent it (`from` need not
    /// be an endpoint: handy to inject traffic or attacks).
    pub fn send(&mut self, from: SocketAddr, to: SocketAddr, data: Bytes) {
        let now = self.now;
        let at = self.elapsed();
        let len = data.len();
        self.record(TraceEvent::Send { at, from, to, len });
        if !self.endpoints.contains_key(&to) {
            tracing::trace!(%from, %to, len, "no route");
            self.record(TraceEvent::Drop {
                at,
                from,
                to,
                len,
                reason: DropReason::NoRoute,
            });
            return;
        }
        match self.link(from, to).offer(now, len) {
            Verdict::Dropped(reason) => {
                tracing::trace!(%from, %to, len, ?reason, "dropped");
                self.record(TraceEvent::Drop {
                    at,
                    from,
                    to,
                    len,
                    reason,
                });
            }
            Verdict::Deliver(first, dup) => {
                for at in std::iter::once(first).chain(dup) {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    self.in_flight.push(InFlight {
                        at,
                        seq,
                        from,
                        to,
                        data: data.clone(),
                    });
                }
            }
        }
    }

    /// Drains every endpoint's pending transmits onto the links, in address order.
    fn flush(&mut self) {
        let mut out = Vec::new();
        for (addr, ep) in &mut self.endpoints {
            while let Some((to, data)) = ep.poll_transmit() {
                out.push((*addr, to, data));
            }
        }
        for (from, to, data) in out {
            self.send(from, to, data);
        }
    }

    /// When the next thing happens: a delivery or an endpoint timer (may be in the past).
    pub fn next_event(&mut self) -> Option<Instant> {
        self.flush();
        let timers = self
            .endpoints
            .values_mut()
            .filter_map(|e| e.poll_timeout())
            .min();
        let packet = self.in_flight.peek().map(|p| p.at);
        match (timers, packet) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances the clock to the next event (never backwards) and processes everything due
    /// then: deliveries first, then timers, then the resulting transmits. Returns `false` when
    /// nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        self.process_until(t);
        true
    }

    fn process_until(&mut self, t: Instant) {
        self.now = self.now.max(t);
        let now = self.now;
        let at = self.elapsed();
        while self.in_flight.peek().is_some_and(|p| p.at <= now) {
            let Some(p) = self.in_flight.pop() else { break };
            let len = p.data.len();
            if let Some(ep) = self.endpoints.get_mut(&p.to) {
                ep.handle_receive(now, p.from, p.data);
                self.record(TraceEvent::Deliver {
                    at,
                    from: p.from,
                    to: p.to,
                    len,
                });
            } else {
                let (from, to) = (p.from, p.to);
                self.record(TraceEvent::Drop {
                    at,
                    from,
                    to,
                    len,
                    reason: DropReason::NoRoute,
                });
            }
        }
        let mut fired = Vec::new();
        for (addr, ep) in &mut self.endpoints {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
                fired.push(*addr);
            }
        }
        for addr in fired {
            self.record(TraceEvent::Timeout { at, addr });
        }
        self.flush();
    }

    /// Runs until `done` holds (checked before every step), for at most `limit` of virtual
    /// time. Returns the virtual time it took.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> Result<Duration, SimError> {
        let start = self.now;
        let deadline = start + limit;
        let mut steps = 0u64;
        loop {
            if done(self) {
                return Ok(self.now - start);
            }
            let seed = self.seed;
            let Some(t) = self.next_event() else {
                return Err(SimError::Idle {
                    seed,
                    at: self.elapsed(),
                });
            };
            if t > deadline {
                self.now = self.now.max(deadline);
                return Err(SimError::Deadline {
                    seed,
                    at: self.elapsed(),
                });
            }
            steps += 1;
            if steps > self.max_steps {
                return Err(SimError::StepLimit {
                    seed,
                    at: self.elapsed(),
                    steps,
                });
            }
            self.process_until(t);
        }
    }

    /// Runs every event due in the next `duration` of virtual time, then sets the clock to the
    /// end of it.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), SimError> {
        let end = self.now + duration;
        match self.run_until(duration, |_| false) {
            Err(SimError::StepLimit { seed, at, steps }) => {
                Err(SimError::StepLimit { seed, at, steps })
            }
            _ => {
                self.now = self.now.max(end);
                Ok(())
            }
        }
    }
}
