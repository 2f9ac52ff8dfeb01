//! Each impairment does what it says, the clock is virtual, and runs are reproducible.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_testkit::{
    addr, for_each_seed, DropReason, Endpoint, GilbertElliott, LinkConfig, Loss, Sim, SimError,
    TraceEvent,
};

/// Records every datagram it receives; never sends.
#[derive(Default)]
struct Sink {
    got: Vec<(Instant, SocketAddr, Bytes)>,
}

impl Endpoint for Sink {
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, data: Bytes) {
        self.got.push((now, from, data));
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

fn numbered(i: u32, len: usize) -> Bytes {
    let mut v = vec![0u8; len.max(4)];
    v[..4].copy_from_slice(&i.to_be_bytes());
    Bytes::from(v)
}

fn number(b: &Bytes) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

/// A sim with a sink at addr(2); packets are injected from addr(1).
fn sink_sim(seed: u64, link: LinkConfig) -> Sim<Sink> {
    let mut sim = Sim::new(seed);
    sim.add_endpoint(addr(2), Sink::default());
    sim.set_link(addr(1), addr(2), link);
    sim
}

/// Sends `n` numbered packets of `len` bytes, one every `gap`, then lets everything arrive.
fn blast(sim: &mut Sim<Sink>, n: u32, len: usize, gap: Duration) -> Vec<Instant> {
    let mut sent = Vec::new();
    for i in 0..n {
        sent.push(sim.now());
        sim.send(addr(1), addr(2), numbered(i, len));
        if !gap.is_zero() {
            sim.run_for(gap).unwrap();
        }
    }
    sim.run_for(Duration::from_secs(60)).unwrap();
    sent
}

/// `k` within `sigmas` standard deviations of a binomial(n, p) mean.
fn within_binomial(k: u64, n: u64, p: f64, sigmas: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (k as f64 - mean).abs() <= sigmas * sd
}

#[test]
fn delay_is_exact() {
    let delay = Duration::from_millis(37);
    let mut sim = sink_sim(1, LinkConfig::with_delay(delay));
    let sent = blast(&mut sim, 100, 100, Duration::from_micros(1500));
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert_eq!(got.len(), 100);
    for (at, from, data) in got {
        assert_eq!(*from, addr(1));
        assert_eq!(*at - sent[number(data) as usize], delay);
    }
    // In order, since there is no jitter.
    assert!(got.windows(2).all(|w| number(&w[0].2) < number(&w[1].2)));
}

#[test]
fn jitter_stays_in_range_and_varies() {
    let (delay, jitter) = (Duration::from_millis(20), Duration::from_millis(10));
    let mut sim = sink_sim(2, LinkConfig::with_delay(delay).jitter(jitter));
    let sent = blast(&mut sim, 1000, 100, Duration::from_millis(1));
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert_eq!(got.len(), 1000);
    let lat: Vec<Duration> = got
        .iter()
        .map(|(at, _, d)| *at - sent[number(d) as usize])
        .collect();
    assert!(lat.iter().all(|l| *l >= delay && *l <= delay + jitter));
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    assert!(
        mean > Duration::from_millis(24) && mean < Duration::from_millis(26),
        "{mean:?}"
    );
    // 1 ms apart with 10 ms of jitter: some packets overtake others.
    assert!(got.windows(2).any(|w| number(&w[0].2) > number(&w[1].2)));
}

#[test]
fn random_loss_is_within_statistical_bounds() {
    for_each_seed(0..5, |seed| {
        let mut sim = sink_sim(seed, LinkConfig::default().loss(Loss::Random(0.10)));
        blast(&mut sim, 10_000, 50, Duration::ZERO);
        let stats = sim.link_stats(addr(1), addr(2));
        assert_eq!(stats.sent, 10_000);
        // 5 sigma (sigma = 30 packets): a false failure is far less likely than one in a million.
        assert!(
            within_binomial(stats.lost, 10_000, 0.10, 5.0),
            "lost {}",
            stats.lost
        );
        let got = sim.endpoint(addr(2)).unwrap().got.len() as u64;
        assert_eq!(got + stats.lost, 10_000);
    });
}

/// Lengths of the runs of consecutive lost packets, given the numbers that arrived.
fn loss_bursts(n: u32, got: &[(Instant, SocketAddr, Bytes)]) -> Vec<u32> {
    let mut arrived = vec![false; n as usize];
    for (_, _, d) in got {
        arrived[number(d) as usize] = true;
    }
    let mut bursts = Vec::new();
    let mut run = 0;
    for a in arrived {
        if a {
            if run > 0 {
                bursts.push(run);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    if run > 0 {
        bursts.push(run);
    }
    bursts
}

#[test]
fn gilbert_elliott_loss_is_bursty_with_the_asked_rate() {
    let n = 100_000;
    let ge = GilbertElliott::bursty(0.10, 5.0);
    let mut sim = sink_sim(3, LinkConfig::default().loss(Loss::GilbertElliott(ge)));
    blast(&mut sim, n, 20, Duration::ZERO);
    let lost = sim.link_stats(addr(1), addr(2)).lost;
    let rate = lost as f64 / f64::from(n);
    assert!((0.085..0.115).contains(&rate), "loss rate {rate}");
    let bursts = loss_bursts(n, &sim.endpoint(addr(2)).unwrap().got);
    let mean_burst = bursts.iter().sum::<u32>() as f64 / bursts.len() as f64;
    assert!((4.0..6.0).contains(&mean_burst), "mean burst {mean_burst}");

    // The same rate without bursts: runs are ~1.1 packets long.
    let mut sim = sink_sim(3, LinkConfig::default().loss(Loss::Random(0.10)));
    blast(&mut sim, n, 20, Duration::ZERO);
    let bursts = loss_bursts(n, &sim.endpoint(addr(2)).unwrap().got);
    let mean_burst = bursts.iter().sum::<u32>() as f64 / bursts.len() as f64;
    assert!(mean_burst < 1.3, "mean burst {mean_burst}");
}

#[test]
fn reordering_holds_packets_back() {
    let cfg =
        LinkConfig::with_delay(Duration::from_millis(10)).reorder(0.2, Duration::from_millis(5));
    let mut sim = sink_sim(4, cfg);
    blast(&mut sim, 2000, 100, Duration::from_millis(1));
    let stats = sim.link_stats(addr(1), addr(2));
    assert!(
        within_binomial(stats.reordered, 2000, 0.2, 5.0),
        "{stats:?}"
    );
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert_eq!(got.len(), 2000, "reordering loses nothing");
    let inversions = got
        .windows(2)
        .filter(|w| number(&w[0].2) > number(&w[1].2))
        .count();
    assert!(inversions > 100, "{inversions} inversions");

    // Without reordering nor jitter, order is kept.
    let mut sim = sink_sim(4, LinkConfig::with_delay(Duration::from_millis(10)));
    blast(&mut sim, 2000, 100, Duration::from_millis(1));
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert!(got.windows(2).all(|w| number(&w[0].2) < number(&w[1].2)));
}

#[test]
fn duplication_delivers_extra_copies() {
    let mut sim = sink_sim(
        5,
        LinkConfig::with_delay(Duration::from_millis(5)).duplicate(0.1),
    );
    blast(&mut sim, 10_000, 30, Duration::ZERO);
    let stats = sim.link_stats(addr(1), addr(2));
    assert!(
        within_binomial(stats.duplicated, 10_000, 0.1, 5.0),
        "{stats:?}"
    );
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert_eq!(got.len() as u64, 10_000 + stats.duplicated);
    let mut count = vec![0u32; 10_000];
    for (_, _, d) in got {
        count[number(d) as usize] += 1;
    }
    assert!(count.iter().all(|c| *c == 1 || *c == 2));
    assert_eq!(
        count.iter().filter(|c| **c == 2).count() as u64,
        stats.duplicated
    );
}

#[test]
fn mtu_drops_oversize_datagrams() {
    let mut sim = sink_sim(6, LinkConfig::default().mtu(1200));
    sim.send(addr(1), addr(2), numbered(0, 1200));
    sim.send(addr(1), addr(2), numbered(1, 1201));
    sim.send(addr(1), addr(2), numbered(2, 64));
    sim.run_for(Duration::from_secs(1)).unwrap();
    let got: Vec<u32> = sim
        .endpoint(addr(2))
        .unwrap()
        .got
        .iter()
        .map(|g| number(&g.2))
        .collect();
    assert_eq!(got, vec![0, 2]);
    assert_eq!(sim.link_stats(addr(1), addr(2)).dropped_mtu, 1);
    assert!(sim.trace().iter().any(|e| matches!(
        e,
        TraceEvent::Drop {
            len: 1201,
            reason: DropReason::Mtu,
            ..
        }
    )));
}

#[test]
fn rate_limit_spaces_packets_and_tail_drops() {
    // 1 Mbit/s: a 1250-byte packet takes 10 ms to serialise.
    let cfg = LinkConfig::with_delay(Duration::from_millis(30)).rate(1_000_000, Some(5_000));
    let mut sim = sink_sim(7, cfg);
    let start = sim.now();
    blast(&mut sim, 10, 1250, Duration::ZERO);
    let got = &sim.endpoint(addr(2)).unwrap().got;
    // 5000 bytes of queue hold four packets; the other six are dropped.
    assert_eq!(got.len(), 4);
    assert_eq!(sim.link_stats(addr(1), addr(2)).dropped_queue, 6);
    for (i, (at, _, d)) in got.iter().enumerate() {
        assert_eq!(number(d), i as u32);
        assert_eq!(*at - start, Duration::from_millis(30 + 10 * (i as u64 + 1)));
    }

    // Sent slower than the rate: no queueing delay at all.
    let cfg = LinkConfig::with_delay(Duration::from_millis(30)).rate(1_000_000, Some(5_000));
    let mut sim = sink_sim(7, cfg);
    let sent = blast(&mut sim, 10, 1250, Duration::from_millis(20));
    let got = &sim.endpoint(addr(2)).unwrap().got;
    assert_eq!(got.len(), 10);
    for (at, _, d) in got {
        assert_eq!(*at - sent[number(d) as usize], Duration::from_millis(40));
    }
}

#[test]
fn packets_to_nobody_are_dropped() {
    let mut sim = sink_sim(8, LinkConfig::default());
    sim.send(addr(1), addr(9), Bytes::from_static(b"lost"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(sim.trace().iter().any(|e| matches!(
        e,
        TraceEvent::Drop {
            reason: DropReason::NoRoute,
            ..
        }
    )));
}

/// Pings its peer every `interval` until `target` pongs came back; answers pings with pongs.
struct Pinger {
    peer: SocketAddr,
    interval: Duration,
    next_ping: Option<Instant>,
    target: u32,
    sent: u32,
    pongs: u32,
    out: Vec<Bytes>,
}

impl Pinger {
    fn new(peer: SocketAddr, start: Option<Instant>, target: u32) -> Self {
        Pinger {
            peer,
            interval: Duration::from_secs(1),
            next_ping: start,
            target,
            sent: 0,
            pongs: 0,
            out: vec![],
        }
    }
}

impl Endpoint for Pinger {
    fn handle_receive(&mut self, _now: Instant, _from: SocketAddr, data: Bytes) {
        match &data[..4] {
            b"ping" => self.out.push(Bytes::from([b"pong", &data[4..]].concat())),
            b"pong" => self.pongs += 1,
            _ => panic!("unexpected datagram"),
        }
        if self.pongs >= self.target {
            self.next_ping = None;
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.sent += 1;
        self.out.push(Bytes::from(
            [&b"ping"[..], &self.sent.to_be_bytes()].concat(),
        ));
        self.next_ping = Some(now + self.interval);
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        self.out.pop().map(|d| (self.peer, d))
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_ping
    }
}

fn ping_pong(seed: u64) -> Sim<Pinger> {
    let mut sim = Sim::new(seed);
    let now = sim.now();
    sim.set_default_link(LinkConfig::with_delay(Duration::from_millis(40)).loss(Loss::Random(0.3)));
    sim.add_endpoint(addr(1), Pinger::new(addr(2), Some(now), 100));
    sim.add_endpoint(addr(2), Pinger::new(addr(1), None, 0));
    sim
}

#[test]
fn ping_pong_runs_minutes_of_virtual_time_fast() {
    let real = Instant::now();
    let mut sim = ping_pong(9);
    let took = sim
        .run_until(Duration::from_secs(3600), |s| {
            s.endpoint(addr(1)).unwrap().pongs >= 100
        })
        .unwrap();
    let pinger = sim.endpoint(addr(1)).unwrap();
    // ~49% of round trips survive 30% loss each way, one ping a second.
    assert!(
        pinger.sent > 150 && pinger.sent < 260,
        "sent {}",
        pinger.sent
    );
    assert!(took > Duration::from_secs(150), "{took:?}");
    assert!(
        real.elapsed() < took / 100,
        "virtual time should run far faster than real time"
    );
    // Once done, nothing is scheduled any more.
    let err = sim
        .run_until(Duration::from_secs(10), |_| false)
        .unwrap_err();
    assert!(matches!(err, SimError::Idle { seed: 9, .. }), "{err:?}");
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let run = |seed| {
        let mut sim = ping_pong(seed);
        sim.set_default_link(
            LinkConfig::with_delay(Duration::from_millis(40))
                .jitter(Duration::from_millis(30))
                .loss(Loss::GilbertElliott(GilbertElliott::bursty(0.2, 3.0)))
                .duplicate(0.05)
                .reorder(0.1, Duration::from_millis(20)),
        );
        sim.run_until(Duration::from_secs(3600), |s| {
            s.endpoint(addr(1)).unwrap().pongs >= 50
        })
        .unwrap();
        // Durations from the epoch, not Instants: comparable across runs.
        sim.trace().to_vec()
    };
    let a = run(11);
    assert!(a.len() > 200);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
}

#[test]
fn run_errors_name_the_seed() {
    let mut sim = ping_pong(42);
    let err = sim
        .run_until(Duration::from_secs(5), |_| false)
        .unwrap_err();
    assert!(
        matches!(err, SimError::Deadline { seed: 42, .. }),
        "{err:?}"
    );
    assert_eq!(sim.elapsed(), Duration::from_secs(5));
    assert!(err.to_string().contains("seed 42"), "{err}");
    assert!(format!("{sim:?}").contains("seed: 42"));

    let mut sim = ping_pong(43);
    sim.set_max_steps(10);
    let err = sim
        .run_until(Duration::from_secs(3600), |_| false)
        .unwrap_err();
    assert!(
        matches!(
            err,
            SimError::StepLimit {
                seed: 43,
                steps: 11,
                ..
            }
        ),
        "{err:?}"
    );

    let mut sim: Sim<Sink> = Sim::new(44);
    let err = sim
        .run_until(Duration::from_secs(1), |_| false)
        .unwrap_err();
    assert_eq!(
        err,
        SimError::Idle {
            seed: 44,
            at: Duration::ZERO
        }
    );
}

#[test]
fn for_each_seed_stops_at_the_failing_seed() {
    let ran = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        for_each_seed(0..10, |seed| {
            ran.lock().unwrap().push(seed);
            assert!(seed != 3, "seed 3 fails");
        })
    });
    assert!(result.is_err());
    if std::env::var(ferrtc_testkit::SEED_ENV).is_err() {
        assert_eq!(*ran.lock().unwrap(), vec![0, 1, 2, 3]);
    }
}
