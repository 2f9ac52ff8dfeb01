//! Data channels with the whole stack (ICE, DTLS, SCTP, data channels) over real UDP sockets on
//! 127.0.0.1: throughput of one reliable ordered channel carrying 64 KiB messages, and setup
//! time from createOffer to the offerer's channel `open` event.
//!
//! Both stacks are sans-IO and are driven the same way: one thread, two non-blocking sockets,
//! each peer's output sent at once, every datagram read handed in, timeouts handled when due.
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

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const MSG: usize = 64 * 1024;
const HIGH: usize = 1024 * 1024;
/// Messages per measured iteration (4 MiB).
const PER_ITER: usize = 64;
const LIMIT: Duration = Duration::from_secs(20);

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

/// One side of a connection, as the bench loop sees it.
trait Side {
    /// Sends pending datagrams, collects events; returns the next timeout.
    fn pump(&mut self, sock: &UdpSocket) -> Option<Instant>;
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
    socks: &[UdpSocket; 2],
    mut done: impl FnMut(&mut A, &mut B) -> bool,
) {
    let start = Instant::now();
    let mut buf = vec![0u8; 65_536];
    loop {
        let ta = a.pump(&socks[0]);
        let tb = b.pump(&socks[1]);
        if done(a, b) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "bench run did not finish");
        let mut got = false;
        for (i, s) in socks.iter().enumerate() {
            let local = s.local_addr().unwrap();
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                got = true;
                if i == 0 {
                    a.receive(from, local, &buf[..n]);
                } else {
                    b.receive(from, local, &buf[..n]);
                }
            }
        }
        let now = Instant::now();
        if ta.is_some_and(|t| t <= now) {
            a.timeout(now);
        }
        if tb.is_some_and(|t| t <= now) {
            b.timeout(now);
        }
        if !got {
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
        fn pump(&mut self, sock: &UdpSocket) -> Option<Instant> {
            loop {
                match self.pc.poll_output() {
                    Output::Transmit(t) => {
                        let _ = sock.send_to(&t.contents, t.destination);
                    }
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

    pub fn pair(socks: &[UdpSocket; 2]) -> (F, F) {
        let cert =
            ferrtc_dtls::Certificate::generate(ferrtc_dtls::KeyType::EcdsaP256, SystemTime::now())
                .unwrap();
        let mut cfg = Configuration::new(cert).unwrap();
        cfg.ice.include_loopback = true;
        let now = Instant::now();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let mut a = PeerConnection::new(cfg.clone(), now, &mut rng).unwrap();
        let mut b = PeerConnection::new(cfg, now, &mut rng).unwrap();
        a.add_local_interface(now, socks[0].local_addr().unwrap())
            .unwrap();
        a.end_of_local_interfaces(now);
        b.add_local_interface(now, socks[1].local_addr().unwrap())
            .unwrap();
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
        fn pump(&mut self, sock: &UdpSocket) -> Option<Instant> {
            loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Transmit(t) => {
                        let _ = sock.send_to(&t.contents, t.destination);
                    }
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

    pub fn pair(socks: &[UdpSocket; 2]) -> (S, S) {
        let now = Instant::now();
        let build = || Rtc::builder().set_sctp_max_buffered_amount(HIGH).build(now);
        let mut a = build();
        let mut b = build();
        a.add_local_candidate(Candidate::host(socks[0].local_addr().unwrap(), "udp").unwrap());
        b.add_local_candidate(Candidate::host(socks[1].local_addr().unwrap(), "udp").unwrap());
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
fn transfer<A: Side, B: Side>(a: &mut A, b: &mut B, socks: &[UdpSocket; 2], data: &Bytes) {
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
    let mut g = c.benchmark_group("datachannel/throughput 64KiB reliable ordered UDP loopback");
    g.throughput(Throughput::Bytes((PER_ITER * MSG) as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(6));
    let data = Bytes::from(vec![0x5a; MSG]);
    g.bench_function("ferrtc", |bch| {
        let socks = [socket(), socket()];
        let (mut a, mut b) = ferrtc_side::pair(&socks);
        drive(&mut a, &mut b, &socks, |a, b| a.open() && b.open());
        bch.iter(|| transfer(&mut a, &mut b, &socks, &data));
    });
    g.bench_function("str0m 0.25", |bch| {
        let socks = [socket(), socket()];
        let (mut a, mut b) = str0m_side::pair(&socks);
        drive(&mut a, &mut b, &socks, |a, b| a.open() && b.open());
        bch.iter(|| transfer(&mut a, &mut b, &socks, &data));
    });
    g.finish();
}

fn setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("datachannel/setup createOffer to open UDP loopback");
    g.sample_size(20);
    g.bench_function("ferrtc", |bch| {
        bch.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let socks = [socket(), socket()];
                let start = Instant::now();
                let (mut a, mut b) = ferrtc_side::pair(&socks);
                drive(&mut a, &mut b, &socks, |a, _| a.open());
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("str0m 0.25", |bch| {
        bch.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let socks = [socket(), socket()];
                let start = Instant::now();
                let (mut a, mut b) = str0m_side::pair(&socks);
                drive(&mut a, &mut b, &socks, |a, _| a.open());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, throughput, setup);
criterion_main!(benches);
