//! Sending: the datagrams of one poll leave in GSO batches ([`SendBatch`]), and TURN's
//! TCP/TLS streams are opened and written on demand.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{debug, trace};

use super::task::Driver;
use crate::net;

/// Consecutive datagrams from one socket to one address, all of one size but the last, which
/// the kernel sends in one call and segments (UDP GSO).
#[derive(Debug, Default)]
pub(super) struct SendBatch {
    pub(super) buf: Vec<u8>,
    pub(super) source: Option<SocketAddr>,
    pub(super) dest: Option<SocketAddr>,
    pub(super) segment: usize,
    pub(super) count: usize,
    /// The last datagram was shorter than `segment`: nothing may follow it.
    pub(super) closed: bool,
}

impl SendBatch {
    /// Whether `t` may join (or start, when empty) this batch.
    pub(super) fn fits(&self, t: &ferrtc_ice::Transmit, max_segments: usize) -> bool {
        self.count == 0
            || (self.source == Some(t.source)
                && self.dest == Some(t.destination)
                && !self.closed
                && t.contents.len() <= self.segment
                && self.count < max_segments
                // the IPv4 UDP payload limit, with room for the headers
                && self.buf.len() + t.contents.len() <= 65_000)
    }

    pub(super) fn push(&mut self, t: &ferrtc_ice::Transmit) {
        if self.count == 0 {
            self.source = Some(t.source);
            self.dest = Some(t.destination);
            self.segment = t.contents.len();
        }
        self.closed = t.contents.len() < self.segment;
        self.buf.extend_from_slice(&t.contents);
        self.count += 1;
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.source = None;
        self.dest = None;
        self.count = 0;
        self.closed = false;
    }
}

impl Driver {
    /// Sends the gathered datagrams.
    pub(super) async fn flush(&mut self) {
        let (Some(source), Some(dest)) = (self.batch.source, self.batch.dest) else {
            return;
        };
        match self.sockets.get(&source).cloned() {
            Some(s) => {
                let segment = (self.batch.count > 1).then_some(self.batch.segment);
                s.send(dest, &self.batch.buf, segment).await;
            }
            None => trace!(%source, "no socket for transmit"),
        }
        self.batch.clear();
    }

    /// Writes a stream transmit (`st.transport` TCP or TLS) to the connection from `st.source`
    /// to the TURN server `st.destination`, opening it first if needed (the agent's first bytes
    /// for a server mean "connect"). A failure to connect comes back as
    /// [`super::input::Input::StreamClosed`]; when the connection cannot even be attempted the
    /// agent is told at once.
    pub(super) fn stream_transmit(&mut self, st: ferrtc_ice::Transmit) {
        let key = (st.source, st.destination);
        if let Some((w, _)) = self.streams.get(&key) {
            // If the task has ended, its StreamClosed is on the way: the bytes are moot.
            let _ = w.send(st.contents);
            return;
        }
        let tls = match &st.transport {
            ferrtc_ice::TurnTransport::Tls { server_name } => {
                if self.tls.is_none() {
                    match net::tls_connector(self.tls_ca.as_deref()) {
                        Ok(c) => self.tls = Some(c),
                        Err(e) => {
                            debug!(error = %e, "no TLS for TURN");
                            self.pc
                                .handle_stream_closed(Instant::now(), st.source, st.destination);
                            return;
                        }
                    }
                }
                let name = self
                    .tls_names
                    .get(&st.destination)
                    .cloned()
                    .unwrap_or_else(|| server_name.clone());
                self.tls.clone().map(|c| (c, name))
            }
            _ => None,
        };
        debug!(server = %st.destination, tls = tls.is_some(), "TURN: connecting");
        let (w, r) = mpsc::unbounded_channel();
        let _ = w.send(st.contents);
        let target = net::StreamTarget {
            local: st.source,
            server: st.destination,
            tls,
        };
        let task = net::spawn_turn_stream(target, r, self.tx.clone());
        self.streams.insert(key, (w, task));
    }
}
