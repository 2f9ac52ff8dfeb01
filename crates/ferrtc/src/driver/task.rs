//! The connection's task: [`Driver`] owns the sans-IO connection, its sockets and its timer,
//! and loops: take inputs (datagrams, commands), drain the output (send, deliver events), sleep
//! until the next input or the next timeout.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ferrtc_peerconnection::{self as pc, ChannelId, Datagram, Output, ReadyState};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, trace};

use super::channel::ChannelSink;
use super::events::PeerEvent;
use super::handle::Snapshot;
use super::input::{Command, Input, Reply};
use super::setup::LiveGuard;
use super::transmit::SendBatch;
use crate::mdns::MdnsResolution;
use crate::net::{self, UdpMux};
use crate::queue;
use crate::Error;

pub(super) struct Driver {
    pub(super) _live: LiveGuard,
    pub(super) alive: oneshot::Receiver<()>,
    pub(super) pc: pc::PeerConnection,
    pub(super) rx: mpsc::Receiver<Input>,
    pub(super) tx: mpsc::Sender<Input>,
    pub(super) sockets: HashMap<SocketAddr, Arc<net::Udp>>,
    /// The sockets' addresses, indexed by [`Input::Datagram`]'s `socket` (the mux's alone).
    pub(super) locals: Vec<SocketAddr>,
    /// Datagrams of this poll waiting to leave together (one GSO send).
    pub(super) batch: SendBatch,
    pub(super) readers: Vec<JoinHandle<()>>,
    pub(super) mux: Option<UdpMux>,
    pub(super) events: queue::Sender<PeerEvent>,
    pub(super) snapshot: watch::Sender<Snapshot>,
    pub(super) channels: HashMap<ChannelId, ChannelSink>,
    /// Open TCP/TLS connections to TURN servers, by (interface, server): the writer queue and
    /// the task.
    pub(super) streams:
        HashMap<(SocketAddr, SocketAddr), (mpsc::UnboundedSender<Bytes>, JoinHandle<()>)>,
    /// Certificate names of `turns:` servers configured by host name.
    pub(super) tls_names: HashMap<SocketAddr, String>,
    /// Extra trusted certificates for `turns:` (PEM).
    pub(super) tls_ca: Option<Vec<u8>>,
    /// Built on the first `turns:` connection.
    pub(super) tls: Option<openssl::ssl::SslConnector>,
    /// How remote host names are resolved, and the resolutions under way.
    pub(super) mdns: MdnsResolution,
    pub(super) resolving: Vec<JoinHandle<()>>,
    /// Where received frames and key frame requests go (`driver/media.rs`).
    pub(super) media: super::media::MediaSinks,
}

impl Driver {
    pub(super) async fn run(mut self: Box<Self>) {
        let mut close_reply: Option<Reply<()>> = None;
        loop {
            let deadline = self.drain().await;
            if let Some(r) = close_reply.take() {
                let _ = r.send(Ok(()));
                break;
            }
            tokio::select! {
                input = self.rx.recv() => {
                    let Some(input) = input else { break };
                    close_reply = self.input(input);
                    // Take whatever else is queued before producing output: fewer wakeups
                    // under load.
                    for _ in 0..64 {
                        if close_reply.is_some() {
                            break;
                        }
                        match self.rx.try_recv() {
                            Ok(i) => close_reply = self.input(i),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                    self.pc.handle_timeout(Instant::now());
                }
                _ = &mut self.alive => break,
            }
        }
        if close_reply.is_none() {
            self.pc.close();
            self.drain().await;
        }
        for r in &self.readers {
            r.abort();
        }
        for (_, (_, task)) in self.streams.drain() {
            task.abort();
        }
        for task in &self.resolving {
            task.abort();
        }
        if let Some(m) = &self.mux {
            m.unregister(&self.tx);
        }
        self.media.close_all();
        for sink in self.channels.values() {
            let _ = sink.shared.state.send(ReadyState::Closed);
            sink.shared.low.notify_waiters();
        }
        debug!("pc: driver ended");
    }

    /// Sends every pending datagram and delivers every event; returns the next timeout.
    pub(super) async fn drain(&mut self) -> Instant {
        loop {
            match self.pc.poll_output() {
                // TURN over TCP/TLS: bytes for the stream to the server (if it cannot be
                // opened, the connection is told and its output comes next).
                Output::Transmit(t) if t.is_stream() => self.stream_transmit(t),
                Output::Transmit(t) => {
                    let max = self.sockets.get(&t.source).map_or(1, |s| s.max_segments());
                    if !self.batch.fits(&t, max) {
                        self.flush().await;
                    }
                    self.batch.push(&t);
                }
                Output::Event(e) => self.event(e),
                Output::Timeout(t) => {
                    self.flush().await;
                    // An idle connection keeps no 64 KiB send buffer (memory per connection).
                    if self.batch.buf.capacity() > 4096 {
                        self.batch.buf = Vec::new();
                    }
                    self.sync_channels();
                    self.sync_state();
                    return t;
                }
            }
        }
    }

    /// Handles one input; returns the reply to send once a close has been flushed.
    pub(super) fn input(&mut self, input: Input) -> Option<Reply<()>> {
        let now = Instant::now();
        match input {
            Input::Datagram {
                socket,
                source,
                contents,
            } => {
                // Always known: the readers are given indexes into `locals`.
                let destination = self.locals.get(usize::from(socket)).copied();
                let d = destination.map(|destination| Datagram {
                    source,
                    destination,
                    contents,
                });
                if let Some(Err(e)) = d.map(|d| self.pc.handle_receive(now, d)) {
                    trace!(error = %e, "datagram dropped");
                }
            }
            Input::Command(c) => return self.command(now, c),
            Input::StreamData { stream, data } => {
                let (local, server) = *stream;
                if let Err(e) = self.pc.handle_stream_data(now, local, server, &data) {
                    trace!(error = %e, "TURN stream data dropped");
                }
            }
            Input::StreamClosed { local, server } => {
                self.streams.remove(&(local, server));
                self.pc.handle_stream_closed(now, local, server);
            }
            Input::Resolved { name, ip } => {
                debug!(name, ?ip, "remote host name resolved");
                self.pc.resolve_name(now, &name, ip);
            }
        }
        None
    }

    pub(super) fn command(&mut self, now: Instant, c: Command) -> Option<Reply<()>> {
        let pc = &mut self.pc;
        match c {
            Command::CreateOffer(o, r) => {
                let _ = r.send(pc.create_offer(o).map_err(Error::from));
            }
            Command::CreateAnswer(r) => {
                let _ = r.send(pc.create_answer().map_err(Error::from));
            }
            Command::SetLocal(d, r) => {
                let _ = r.send(pc.set_local_description(now, d).map_err(Error::from));
            }
            Command::SetRemote(d, r) => {
                let _ = r.send(pc.set_remote_description(now, d).map_err(Error::from));
            }
            Command::AddCandidate(c, r) => {
                let _ = r.send(pc.add_ice_candidate(now, *c).map_err(Error::from));
            }
            Command::LocalDescription(r) => {
                let _ = r.send(Ok(pc.local_description()));
            }
            Command::RemoteDescription(r) => {
                let _ = r.send(Ok(pc.remote_description()));
            }
            Command::CreateChannel(init, r) => {
                let res = match pc.create_data_channel(*init) {
                    Ok(id) => self.make_channel(id).ok_or(Error::Closed),
                    Err(e) => Err(e.into()),
                };
                let _ = r.send(res);
            }
            Command::SendText(id, text, r) => {
                let _ = r.send(self.on_channel(id, |c| c.send_text(&text)));
            }
            Command::SendBinary(id, data, r) => {
                let _ = r.send(self.on_channel(id, |c| c.send_binary(data)));
            }
            Command::CloseChannel(id, r) => {
                let _ = r.send(self.on_channel(id, |c| c.close()));
            }
            Command::SetThreshold(id, n) => {
                let _ = self.on_channel(id, |c| {
                    c.set_buffered_amount_low_threshold(n);
                    Ok(())
                });
            }
            Command::Stats(r) => {
                let ts = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64()
                    * 1000.0;
                let _ = r.send(Ok(pc.get_stats(ts)));
            }
            Command::RestartIce => pc.restart_ice(),
            Command::Close(r) => {
                pc.close();
                return Some(r);
            }
            Command::Media(m) => self.media_command(now, *m),
        }
        None
    }

    /// Publishes the connection's states to the handles (they read them without a round trip).
    pub(super) fn sync_state(&mut self) {
        let snap = Snapshot {
            signaling: self.pc.signaling_state(),
            gathering: self.pc.ice_gathering_state(),
            ice: self.pc.ice_connection_state(),
            state: self.pc.connection_state(),
        };
        self.snapshot.send_if_modified(|s| {
            let changed = s.signaling != snap.signaling
                || s.gathering != snap.gathering
                || s.ice != snap.ice
                || s.state != snap.state;
            *s = snap;
            changed
        });
    }
}
