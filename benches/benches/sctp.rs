//! SCTP throughput: two associations connected in memory (no DTLS, no sockets), one reliable
//! ordered stream, 64 KiB messages. Each iteration moves BATCH messages from one end to the
//! other and waits until the receiver holds all of them.
//!
//! Same conditions on both sides: the real clock (ferrtc's timers are served by sleeping until
//! they are due, as webrtc-sctp's tokio timers are; nothing jumps ahead), and every datagram is
//! copied into a fresh `Vec<u8>` on the way (as the in-memory `Conn` pipe given to webrtc-sctp
//! does) and handed to the receiver as a new buffer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;

const MSG: usize = 64 * 1024;
const BATCH: usize = 64;
const RWND: usize = 1024 * 1024;
const MTU: usize = 1160;

// ------------------------------------------------------------------ ferrtc

struct FerrtcPair {
    a: ferrtc_sctp::Association,
    b: ferrtc_sctp::Association,
    now: Instant,
}

impl FerrtcPair {
    fn new() -> Self {
        let cfg = ferrtc_sctp::Config {
            max_packet_size: MTU,
            receive_buffer_size: RWND,
            max_message_size: MSG,
            heartbeat_interval: None,
            ..Default::default()
        };
        let now = Instant::now();
        let mut a = ferrtc_sctp::Association::new(cfg.clone(), now, &mut StdRng::seed_from_u64(1));
        let b = ferrtc_sctp::Association::new(cfg, now, &mut StdRng::seed_from_u64(2));
        a.connect(now);
        let mut p = FerrtcPair { a, b, now };
        for _ in 0..10 {
            p.pump(&mut 0);
        }
        assert_eq!(p.a.state(), ferrtc_sctp::State::Established);
        assert_eq!(p.b.state(), ferrtc_sctp::State::Established);
        p
    }

    /// Moves packets both ways through a copying pipe; counts delivered messages. Returns
    /// whether anything moved.
    fn pump(&mut self, received: &mut usize) -> bool {
        let mut moved = false;
        self.now = Instant::now();
        while let Some(pkt) = self.a.poll_transmit() {
            let datagram = Bytes::from(pkt.to_vec());
            self.b.handle_receive(self.now, datagram).unwrap();
            moved = true;
        }
        while let Some(ev) = self.b.poll_event() {
            if let ferrtc_sctp::Event::Message(m) = ev {
                std::hint::black_box(&m.payload);
                *received += 1;
            }
        }
        while let Some(pkt) = self.b.poll_transmit() {
            let datagram = Bytes::from(pkt.to_vec());
            self.a.handle_receive(self.now, datagram).unwrap();
            moved = true;
        }
        while self.a.poll_event().is_some() {}
        moved
    }

    fn transfer(&mut self, payload: &Bytes) {
        let mut sent = 0;
        let mut received = 0;
        while received < BATCH {
            while sent < BATCH
                && self
                    .a
                    .send(
                        self.now,
                        1,
                        53,
                        payload.clone(),
                        ferrtc_sctp::SendOptions::default(),
                    )
                    .is_ok()
            {
                sent += 1;
            }
            if !self.pump(&mut received) {
                // Nothing in flight can move: wait, in real time, for the next timer (e.g. the
                // delayed SACK), as a real driver would.
                if let Some(t) = self
                    .a
                    .poll_timeout()
                    .into_iter()
                    .chain(self.b.poll_timeout())
                    .min()
                {
                    let now = Instant::now();
                    if t > now {
                        std::thread::sleep(t - now);
                    }
                }
                self.now = Instant::now();
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }
    }
}

// ------------------------------------------------------------------ webrtc-rs 0.17

mod wrtc {
    use super::*;
    use tokio::sync::{mpsc, Mutex};
    use webrtc_util::conn::Conn;

    /// One end of an in-memory datagram pipe.
    pub struct Pipe {
        tx: mpsc::UnboundedSender<Vec<u8>>,
        rx: Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    }

    pub fn pipe() -> (Arc<Pipe>, Arc<Pipe>) {
        let (t1, r1) = mpsc::unbounded_channel();
        let (t2, r2) = mpsc::unbounded_channel();
        (
            Arc::new(Pipe {
                tx: t1,
                rx: Mutex::new(r2),
            }),
            Arc::new(Pipe {
                tx: t2,
                rx: Mutex::new(r1),
            }),
        )
    }

    #[async_trait::async_trait]
    impl Conn for Pipe {
        async fn connect(&self, _addr: std::net::SocketAddr) -> webrtc_util::Result<()> {
            Ok(())
        }
        async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
            let Some(v) = self.rx.lock().await.recv().await else {
                return Err(webrtc_util::Error::Other("closed".into()));
            };
            let n = v.len().min(buf.len());
            buf[..n].copy_from_slice(&v[..n]);
            Ok(n)
        }
        async fn recv_from(
            &self,
            buf: &mut [u8],
        ) -> webrtc_util::Result<(usize, std::net::SocketAddr)> {
            let n = self.recv(buf).await?;
            Ok((n, "127.0.0.1:5000".parse().unwrap()))
        }
        async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
            self.tx
                .send(buf.to_vec())
                .map_err(|_| webrtc_util::Error::Other("closed".into()))?;
            Ok(buf.len())
        }
        async fn send_to(
            &self,
            buf: &[u8],
            _t: std::net::SocketAddr,
        ) -> webrtc_util::Result<usize> {
            self.send(buf).await
        }
        fn local_addr(&self) -> webrtc_util::Result<std::net::SocketAddr> {
            Ok("127.0.0.1:5000".parse().unwrap())
        }
        fn remote_addr(&self) -> Option<std::net::SocketAddr> {
            None
        }
        async fn close(&self) -> webrtc_util::Result<()> {
            Ok(())
        }
        fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
            self
        }
    }

    pub struct WrtcPair {
        pub rt: tokio::runtime::Runtime,
        pub tx: Arc<webrtc_sctp::stream::Stream>,
        pub rx: Arc<webrtc_sctp::stream::Stream>,
        _assocs: (
            webrtc_sctp::association::Association,
            webrtc_sctp::association::Association,
        ),
    }

    impl WrtcPair {
        pub fn new() -> Self {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let (c1, c2) = pipe();
            let cfg = |c: Arc<Pipe>, name: &str| webrtc_sctp::association::Config {
                net_conn: c,
                max_receive_buffer_size: RWND as u32,
                max_message_size: MSG as u32,
                mtu: MTU as u32,
                name: name.into(),
                remote_port: 5000,
                local_port: 5000,
            };
            let (a, b, tx, rx) = rt.block_on(async {
                let server = tokio::spawn({
                    let c = cfg(c2, "server");
                    async move {
                        webrtc_sctp::association::Association::server(c)
                            .await
                            .unwrap()
                    }
                });
                let a = webrtc_sctp::association::Association::client(cfg(c1, "client"))
                    .await
                    .unwrap();
                let b = server.await.unwrap();
                let tx = a
                    .open_stream(
                        1,
                        webrtc_sctp::chunk::chunk_payload_data::PayloadProtocolIdentifier::Binary,
                    )
                    .await
                    .unwrap();
                // The stream appears at the server with the first message.
                tx.write(&Bytes::from_static(b"hello")).await.unwrap();
                let rx = b.accept_stream().await.unwrap();
                let mut buf = vec![0u8; MSG];
                rx.read(&mut buf).await.unwrap();
                (a, b, tx, rx)
            });
            WrtcPair {
                rt,
                tx,
                rx,
                _assocs: (a, b),
            }
        }

        pub fn transfer(&self, payload: &Bytes) {
            let tx = self.tx.clone();
            let rx = self.rx.clone();
            let payload = payload.clone();
            self.rt.block_on(async move {
                let reader = tokio::spawn(async move {
                    let mut buf = vec![0u8; MSG];
                    for _ in 0..BATCH {
                        let n = rx.read(&mut buf).await.unwrap();
                        assert_eq!(n, MSG);
                        std::hint::black_box(&buf);
                    }
                });
                for _ in 0..BATCH {
                    // Back-pressure the same way an application does: bounded buffered amount.
                    while tx.buffered_amount() > 4 * RWND {
                        tokio::task::yield_now().await;
                    }
                    tx.write(&payload).await.unwrap();
                }
                reader.await.unwrap();
            });
        }
    }
}

fn bench(c: &mut Criterion) {
    let payload = Bytes::from(vec![0xa5u8; MSG]);
    let mut g = c.benchmark_group("sctp/throughput 64KiB reliable ordered");
    g.throughput(Throughput::Bytes((MSG * BATCH) as u64));
    g.sample_size(10);
    let mut f = FerrtcPair::new();
    g.bench_function("ferrtc", |b| b.iter(|| f.transfer(&payload)));
    let w = wrtc::WrtcPair::new();
    g.bench_function("webrtc-rs 0.17", |b| b.iter(|| w.transfer(&payload)));
    g.finish();
    let _ = Duration::ZERO;
}

criterion_group!(benches, bench);
criterion_main!(benches);
