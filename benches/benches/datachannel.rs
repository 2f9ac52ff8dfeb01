//! Data channels with the whole stack (ICE, DTLS, SCTP, data channels) over real UDP sockets on
//! 127.0.0.1: throughput of one reliable ordered channel carrying 64 KiB messages, and setup
//! time from createOffer to the offerer's channel `open` event.
//!
//! Both stacks are sans-IO and are driven the same way: one thread, two non-blocking sockets,
//! each peer's output sent at once, every datagram read handed in, timeouts handled when due.
//! Two drivers, each used for both stacks: `sendto`/`recvfrom` per datagram, and batched
//! (each peer's output of one poll loop sent as UDP GSO super-datagrams where consecutive
//! datagrams go to one address with one size, received with GRO and `recvmmsg`, through
//! quinn-udp). On loopback the kernel's per-datagram work is most of the time of a fast
//! stack, so the batched driver shows the stacks' own costs more clearly.
//! Flow control is the same: the sender keeps writing 64 KiB messages while the channel's
//! bufferedAmount is at most 1 MiB − 64 KiB (str0m's send buffer is raised from its 128 KiB
//! default to 1 MiB so that both may buffer the same). str0m uses its default crypto
//! (aws-lc-rs); ferrtc its own (OpenSSL DTLS, AES-128-GCM either way).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::IoSliceMut;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const MSG: usize = 64 * 1024;
const HIGH: usize = 1024 * 1024;
/// Messages per measured iteration (4 MiB).
const PER_ITER: usize = 64;
const LIMIT: Duration = Duration::from_secs(20);

/// A non-blocking UDP socket and how the driver uses it.
struct Io {
    sock: UdpSocket,
    /// `Some`: batched (GSO/GRO); `None`: one syscall per datagram.
    batch: Option<Batch>,
}

struct Batch {
    state: quinn_udp::UdpSocketState,
    /// Datagrams waiting to go out as one GSO send: same destination, all `seg` bytes long
    /// but the last.
    buf: Vec<u8>,
    dest: Option<SocketAddr>,
    seg: usize,
    count: usize,
    /// The last datagram was shorter than `seg`: nothing may follow it in this send.
    closed: bool,
    rbuf: Vec<u8>,
}

fn io(batched: bool) -> Io {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_nonblocking(true).unwrap();
    let batch = batched.then(|| Batch {
        state: quinn_udp::UdpSocketState::new((&sock).into()).unwrap(),
        buf: Vec::with_capacity(65_536),
        dest: None,
        seg: 0,
        count: 0,
        closed: false,
        rbuf: vec![0; 65_536 * 2],
    });
    Io { sock, batch }
}

impl Io {
    fn local(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    fn send(&mut self, dest: SocketAddr, data: &[u8]) {
        let Some(b) = self.batch.as_mut() else {
            let _ = self.sock.send_to(data, dest);
            return;
        };
        let fits = b.dest == Some(dest)
            && !b.closed
            && data.len() <= b.seg
            && b.count < b.state.max_gso_segments()
            && b.buf.len() + data.len() <= 65_000;
        if !fits {
            self.flush();
        }
        let Some(b) = self.batch.as_mut() else {
            return;
        };
        if b.count == 0 {
            b.dest = Some(dest);
            b.seg = data.len();
        }
        b.closed = data.len() < b.seg;
        b.buf.extend_from_slice(data);
        b.count += 1;
    }

    fn flush(&mut self) {
        let Some(b) = self.batch.as_mut() else {
            return;
        };
        if let (Some(dest), true) = (b.dest, b.count > 0) {
            let t = quinn_udp::Transmit {
                destination: dest,
                ecn: None,
                contents: &b.buf,
                segment_size: (b.count > 1).then_some(b.seg),
                src_ip: None,
            };
            let _ = b.state.try_send((&self.sock).into(), &t);
        }
        b.buf.clear();
        b.dest = None;
        b.count = 0;
        b.closed = false;
    }

    /// Hands every datagram waiting on the socket to `f`; whether there was any.
    fn recv(&mut self, mut f: impl FnMut(SocketAddr, &[u8])) -> bool {
        let mut got = false;
        match self.batch.as_mut() {
            None => {
                let mut buf = [0u8; 65_536];
                while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                    got = true;
                    f(from, &buf[..n]);
                }
            }
            Some(b) => loop {
                let (half1, half2) = b.rbuf.split_at_mut(65_536);
                let mut bufs = [IoSliceMut::new(half1), IoSliceMut::new(half2)];
                let mut meta = [quinn_udp::RecvMeta::default(); 2];
                let Ok(n) = b.state.recv((&self.sock).into(), &mut bufs, &mut meta) else {
                    break;
                };
                for (m, buf) in meta.iter().zip(bufs.iter()).take(n) {
                    got = true;
                    for d in buf[..m.len].chunks(m.stride.max(1)) {
                        f(m.addr, d);
                    }
                }
            },
        }
        got
    }
}

/// One side of a connection, as the bench loop sees it.
trait Side {
    /// Sends pending datagrams, collects events; returns the next timeout.
    fn pump(&mut self, io: &mut Io) -> Option<Instant>;
    fn receive(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]);
    fn timeout(&mut self, now: Instant);
    /// Channel open (on this side).
    fn open(&self) -> bool;
    /// Bytes of messages received so far.
    fn received(&self) -> usize;
    fn buffered(&mut self) -> usize;
    fn write(&mut self, data: &Bytes) -> bool;
}

/// Runs both sides until `done`.
fn drive<A: Side, B: Side>(
    a: &mut A,
    b: &mut B,
    socks: &mut [Io; 2],
    mut done: impl FnMut(&mut A, &mut B) -> bool,
) {
    let start = Instant::now();
    let (la, lb) = (socks[0].local(), socks[1].local());
    loop {
        let ta = a.pump(&mut socks[0]);
        socks[0].flush();
        let tb = b.pump(&mut socks[1]);
        socks[1].flush();
        if done(a, b) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "bench run did not finish");
        let [s0, s1] = socks;
        let got0 = s0.recv(|from, d| a.receive(from, la, d));
        let got1 = s1.recv(|from, d| b.receive(from, lb, d));
        let now = Instant::now();
        if ta.is_some_and(|t| t <= now) {
            a.timeout(now);
        }
        if tb.is_some_and(|t| t <= now) {
            b.timeout(now);
        }
        if !got0 && !got1 {
            std::hint::spin_loop();
        }
    }
}

mod ferrtc_side {
    use super::*;
    use ferrtc_peerconnection::{
        ChannelId, ChannelInit, Configuration, Datagram, Event, OfferOptions, Output,
        PeerConnection, ReadyState,
    };

    pub struct F {
        pub pc: PeerConnection,
        pub ch: Option<ChannelId>,
        pub received: usize,
    }

    impl Side for F {
        fn pump(&mut self, io: &mut Io) -> Option<Instant> {
            loop {
                match self.pc.poll_output() {
                    Output::Transmit(t) => io.send(t.destination, &t.contents),
                    Output::Event(Event::ChannelMessage { data, .. }) => {
                        self.received += data.len()
                    }
                    Output::Event(Event::DataChannel(id)) => self.ch = Some(id),
                    Output::Event(_) => {}
                    Output::Timeout(t) => return Some(t),
                }
            }
        }
        fn receive(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
            let _ = self.pc.handle_receive(
                Instant::now(),
                Datagram {
                    source: from,
                    destination: to,
                    contents: Bytes::copy_from_slice(data),
                },
            );
        }
        fn timeout(&mut self, now: Instant) {
            self.pc.handle_timeout(now);
        }
        fn open(&self) -> bool {
            self.ch
                .and_then(|c| self.pc.channel(c))
                .is_some_and(|c| c.ready_state == ReadyState::Open)
        }
        fn received(&self) -> usize {
            self.received
        }
        fn buffered(&mut self) -> usize {
            self.ch.map_or(0, |c| self.pc.buffered_amount(c))
        }
        fn write(&mut self, data: &Bytes) -> bool {
            match self.ch {
                Some(c) => self.pc.send_binary(c, data.clone()).is_ok(),
                None => false,
            }
        }
    }

    pub fn pair(socks: &[Io; 2]) -> (F, F) {
        // One certificate per peer, generated here, as str0m's `Rtc::builder().build()` does
        // for each of its peers: both stacks pay for two key generations per setup.
        let config = || {
            let cert = ferrtc_dtls::Certificate::generate(
                ferrtc_dtls::KeyType::EcdsaP256,
                SystemTime::now(),
            )
            .unwrap();
            let mut cfg = Configuration::new(cert).unwrap();
            cfg.ice.include_loopback = true;
            cfg
        };
        let now = Instant::now();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let mut a = PeerConnection::new(config(), now, &mut rng).unwrap();
        let mut b = PeerConnection::new(config(), now, &mut rng).unwrap();
        a.add_local_interface(now, socks[0].local()).unwrap();
        a.end_of_local_interfaces(now);
        b.add_local_interface(now, socks[1].local()).unwrap();
        b.end_of_local_interfaces(now);
        let ch = a
            .create_data_channel(ChannelInit {
                label: "bench".into(),
                ..Default::default()
            })
            .unwrap();
        let offer = a.create_offer(OfferOptions::default()).unwrap();
        a.set_local_description(now, offer).unwrap();
        b.set_remote_description(now, a.local_description().unwrap())
            .unwrap();
        let answer = b.create_answer().unwrap();
        b.set_local_description(now, answer).unwrap();
        a.set_remote_description(now, b.local_description().unwrap())
            .unwrap();
        (
            F {
                pc: a,
                ch: Some(ch),
                received: 0,
            },
            F {
                pc: b,
                ch: None,
                received: 0,
            },
        )
    }
}

mod str0m_side {
    use super::*;
    use str0m::channel::ChannelId;
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc};

    pub struct S {
        pub rtc: Rtc,
        pub ch: Option<ChannelId>,
        pub open: bool,
        pub received: usize,
    }

    impl Side for S {
        fn pump(&mut self, io: &mut Io) -> Option<Instant> {
            loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Transmit(t) => io.send(t.destination, &t.contents),
                    Output::Event(Event::ChannelData(d)) => self.received += d.data.len(),
                    Output::Event(Event::ChannelOpen(id, _)) => {
                        self.ch = Some(id);
                        self.open = true;
                    }
                    Output::Event(_) => {}
                    Output::Timeout(t) => return Some(t),
                }
            }
        }
        fn receive(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
            let Ok(contents) = data.try_into() else {
                return;
            };
            let _ = self.rtc.handle_input(Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: to,
                    contents,
                },
            ));
        }
        fn timeout(&mut self, now: Instant) {
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
        fn open(&self) -> bool {
            self.open
        }
        fn received(&self) -> usize {
            self.received
        }
        fn buffered(&mut self) -> usize {
            match self.ch.and_then(|c| self.rtc.channel(c)) {
                Some(mut c) => c.buffered_amount(),
                None => 0,
            }
        }
        fn write(&mut self, data: &Bytes) -> bool {
            match self.ch.and_then(|c| self.rtc.channel(c)) {
                Some(mut c) => c.write(true, data).unwrap_or(false),
                None => false,
            }
        }
    }

    pub fn pair(socks: &[Io; 2]) -> (S, S) {
        let now = Instant::now();
        let build = || Rtc::builder().set_sctp_max_buffered_amount(HIGH).build(now);
        let mut a = build();
        let mut b = build();
        a.add_local_candidate(Candidate::host(socks[0].local(), "udp").unwrap());
        b.add_local_candidate(Candidate::host(socks[1].local(), "udp").unwrap());
        let mut change = a.sdp_api();
        let _cid = change.add_channel("bench".into());
        let (offer, pending) = change.apply().unwrap();
        let answer = b.sdp_api().accept_offer(offer).unwrap();
        a.sdp_api().accept_answer(pending, answer).unwrap();
        (
            S {
                rtc: a,
                ch: None,
                open: false,
                received: 0,
            },
            S {
                rtc: b,
                ch: None,
                open: false,
                received: 0,
            },
        )
    }
}

/// Sends `PER_ITER` messages from `a` to `b` and waits until `b` has them all.
fn transfer<A: Side, B: Side>(a: &mut A, b: &mut B, socks: &mut [Io; 2], data: &Bytes) {
    let target = b.received() + PER_ITER * MSG;
    let mut sent = 0;
    drive(a, b, socks, |a, b| {
        while sent < PER_ITER && a.buffered() + MSG <= HIGH {
            if !a.write(data) {
                break;
            }
            sent += 1;
        }
        b.received() >= target
    });
}

fn throughput(c: &mut Criterion) {
    for (batched, group) in [
        (
            false,
            "datachannel/throughput 64KiB reliable ordered UDP loopback",
        ),
        (
            true,
            "datachannel/throughput 64KiB reliable ordered UDP loopback GSO+GRO",
        ),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes((PER_ITER * MSG) as u64));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(6));
        let data = Bytes::from(vec![0x5a; MSG]);
        g.bench_function("ferrtc", |bch| {
            let mut socks = [io(batched), io(batched)];
            let (mut a, mut b) = ferrtc_side::pair(&socks);
            drive(&mut a, &mut b, &mut socks, |a, b| a.open() && b.open());
            bch.iter(|| transfer(&mut a, &mut b, &mut socks, &data));
        });
        g.bench_function("str0m 0.25", |bch| {
            let mut socks = [io(batched), io(batched)];
            let (mut a, mut b) = str0m_side::pair(&socks);
            drive(&mut a, &mut b, &mut socks, |a, b| a.open() && b.open());
            bch.iter(|| transfer(&mut a, &mut b, &mut socks, &data));
        });
        g.finish();
    }
}

fn setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("datachannel/setup createOffer to open UDP loopback");
    g.sample_size(20);
    g.bench_function("ferrtc", |bch| {
        bch.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let mut socks = [io(false), io(false)];
                let start = Instant::now();
                let (mut a, mut b) = ferrtc_side::pair(&socks);
                drive(&mut a, &mut b, &mut socks, |a, _| a.open());
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("str0m 0.25", |bch| {
        bch.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let mut socks = [io(false), io(false)];
                let start = Instant::now();
                let (mut a, mut b) = str0m_side::pair(&socks);
                drive(&mut a, &mut b, &mut socks, |a, _| a.open());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, throughput, setup);
criterion_main!(benches);
