//! One direction of a simulated network path and the impairments applied to it.
//!
//! A packet put on a [`Link`] goes through, in order (the same order as Linux `netem` + `tbf`):
//!
//! 1. **MTU**: larger than [`LinkConfig::mtu`] → dropped (as a router would without fragmenting).
//! 2. **Loss**: [`Loss::Random`] (independent) or [`Loss::GilbertElliott`] (bursty).
//! 3. **Rate limit**: with [`LinkConfig::rate_bps`] the packet waits for the packets ahead of it
//!    to be serialised, then takes `len * 8 / rate` itself; if the bytes waiting exceed
//!    [`LinkConfig::queue_limit_bytes`] it is tail-dropped.
//! 4. **Delay**: [`LinkConfig::delay`] plus a uniform `[0, jitter]` sample (jitter alone can
//!    reorder packets sent close together).
//! 5. **Reordering**: with probability [`LinkConfig::reorder`] the packet is held back a further
//!    [`LinkConfig::reorder_delay`], so the packets sent after it overtake it.
//! 6. **Duplication**: with probability [`LinkConfig::duplicate`] a second copy is delivered, with
//!    its own delay sample.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;

/// How a link loses packets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// No loss.
    #[default]
    None,
    /// Each packet is lost independently with this probability (0.0 ..= 1.0).
    Random(f64),
    /// Two-state Markov (Gilbert-Elliott) loss: bursts of loss as on Wi-Fi or a congested queue.
    GilbertElliott(GilbertElliott),
}

/// Parameters of the Gilbert-Elliott model. The state changes (maybe) before each packet, then
/// the packet is lost with the loss probability of the current state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state, per packet.
    pub p_enter_bad: f64,
    /// Probability of moving from the bad back to the good state, per packet.
    pub p_leave_bad: f64,
    /// Loss probability while in the good state (usually 0).
    pub loss_in_good: f64,
    /// Loss probability while in the bad state (usually 1).
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// Bursty loss with the given long-run loss rate and mean burst length (in packets), with
    /// every packet lost in the bad state and none in the good one.
    ///
    /// In steady state P(bad) = p / (p + r) and a burst lasts 1 / r packets on average, so
    /// r = 1 / burst and p = rate * r / (1 - rate).
    pub fn bursty(loss_rate: f64, mean_burst_len: f64) -> Self {
        let rate = loss_rate.clamp(0.0, 0.999_999);
        let r = 1.0 / mean_burst_len.max(1.0);
        GilbertElliott {
            p_enter_bad: (rate * r / (1.0 - rate)).clamp(0.0, 1.0),
            p_leave_bad: r,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }
}

/// Impairments of one direction of a path. `LinkConfig::default()` is a perfect link: no delay,
/// no loss, no limit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` for every packet.
    pub jitter: Duration,
    /// Loss model.
    pub loss: Loss,
    /// Probability (0.0 ..= 1.0) that a packet is held back by `reorder_delay`.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// Probability (0.0 ..= 1.0) that a packet is delivered twice.
    pub duplicate: f64,
    /// Largest datagram the link carries; bigger ones are dropped.
    pub mtu: Option<usize>,
    /// Bottleneck rate in bits per second (`None`: infinitely fast).
    pub rate_bps: Option<u64>,
    /// With a rate limit: bytes that may wait to be serialised before new packets are
    /// tail-dropped (`None`: unbounded queue).
    pub queue_limit_bytes: Option<usize>,
}

impl LinkConfig {
    /// A perfect link with only a fixed delay.
    pub fn with_delay(delay: Duration) -> Self {
        LinkConfig {
            delay,
            ..Default::default()
        }
    }

    /// Builder: set the loss model.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Builder: set the jitter.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Builder: reorder `probability` of packets by holding them back `by`.
    pub fn reorder(mut self, probability: f64, by: Duration) -> Self {
        self.reorder = probability;
        self.reorder_delay = by;
        self
    }

    /// Builder: duplicate `probability` of packets.
    pub fn duplicate(mut self, probability: f64) -> Self {
        self.duplicate = probability;
        self
    }

    /// Builder: drop datagrams bigger than `mtu` bytes.
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Builder: a bottleneck of `bps` bits per second with a queue of `queue_limit_bytes`.
    pub fn rate(mut self, bps: u64, queue_limit_bytes: Option<usize>) -> Self {
        self.rate_bps = Some(bps);
        self.queue_limit_bytes = queue_limit_bytes;
        self
    }
}

/// Why a link dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Bigger than the link MTU.
    Mtu,
    /// Random or bursty loss.
    Loss,
    /// The rate limiter's queue was full.
    QueueFull,
    /// No endpoint has the destination address.
    NoRoute,
}

/// Counters of one link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered to the link.
    pub sent: u64,
    /// Copies scheduled for delivery (includes duplicates).
    pub scheduled: u64,
    /// Dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Dropped by the loss model.
    pub lost: u64,
    /// Dropped because the rate limiter's queue was full.
    pub dropped_queue: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Packets held back for reordering.
    pub reordered: u64,
}

/// State of one direction of a path.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    pub(crate) stats: LinkStats,
    rng: StdRng,
    ge_bad: bool,
    /// Serialisation finish times and sizes of the packets still in the rate limiter.
    queue: VecDeque<(Instant, usize)>,
}

/// What the link decided for one packet.
pub(crate) enum Verdict {
    Dropped(DropReason),
    /// Deliver at these instants (one, or two with a duplicate).
    Deliver(Instant, Option<Instant>),
}

impl Link {
    pub(crate) fn new(config: LinkConfig, rng: StdRng) -> Self {
        Link {
            config,
            stats: LinkStats::default(),
            rng,
            ge_bad: false,
            queue: VecDeque::new(),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        // `random::<f64>()` is in [0, 1): p <= 0 never fires, p >= 1 always does.
        p > 0.0 && self.rng.random::<f64>() < p
    }

    fn lose(&mut self) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Random(p) => self.chance(p),
            Loss::GilbertElliott(ge) => {
                let flip = if self.ge_bad {
                    ge.p_leave_bad
                } else {
                    ge.p_enter_bad
                };
                if self.chance(flip) {
                    self.ge_bad = !self.ge_bad;
                }
                let p = if self.ge_bad {
                    ge.loss_in_bad
                } else {
                    ge.loss_in_good
                };
                self.chance(p)
            }
        }
    }

    fn propagation(&mut self) -> Duration {
        let jitter = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter == 0 {
            0
        } else {
            self.rng.random_range(0..=jitter)
        };
        self.config.delay + Duration::from_nanos(extra)
    }

    /// Runs a packet of `len` bytes offered at `now` through the impairments.
    pub(crate) fn offer(&mut self, now: Instant, len: usize) -> Verdict {
        self.stats.sent += 1;
        if self.config.mtu.is_some_and(|mtu| len > mtu) {
            self.stats.dropped_mtu += 1;
            return Verdict::Dropped(DropReason::Mtu);
        }
        if self.lose() {
            self.stats.lost += 1;
            return Verdict::Dropped(DropReason::Loss);
        }
        let mut depart = now;
        if let Some(rate) = self.config.rate_bps.filter(|r| *r > 0) {
            while self.queue.front().is_some_and(|(done, _)| *done <= now) {
                self.queue.pop_front();
            }
            let queued: usize = self.queue.iter().map(|(_, l)| l).sum();
            if self
                .config
                .queue_limit_bytes
                .is_some_and(|limit| queued + len > limit)
            {
                self.stats.dropped_queue += 1;
                return Verdict::Dropped(DropReason::QueueFull);
            }
            let start = self.queue.back().map_or(now, |(done, _)| (*done).max(now));
            let bits = u128::try_from(len).unwrap_or(u128::MAX).saturating_mul(8);
            let nanos = bits.saturating_mul(1_000_000_000) / u128::from(rate);
            depart = start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            self.queue.push_back((depart, len));
        }
        let mut first = depart + self.propagation();
        if self.chance(self.config.reorder) {
            self.stats.reordered += 1;
            first += self.config.reorder_delay;
        }
        self.stats.scheduled += 1;
        let second = if self.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            self.stats.scheduled += 1;
            Some(depart + self.propagation())
        } else {
            None
        };
        Verdict::Deliver(first, second)
    }
}
