#![doc = include_str!("../README.md")]
//!
//! ## Errors and limits
//!
//! Errors follow the W3C algorithms (`createDataChannel`, `send()`, `close()`): every
//! [`Error`] says which exception the browser API throws for it ([`Error::w3c`]). The layer
//! knows the remote's `max-message-size`
//! ([`set_remote_max_message_size_from_sdp`](DataChannels::set_remote_max_message_size_from_sdp))
//! and refuses larger messages; when the association fails, every channel closes with an
//! error ([`close_error`](DataChannels::close_error)).
#![forbid(unsafe_code)]

pub mod dcep;

mod error;
mod types;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrtc_sctp::{ppid, Association, Config, Event as SctpEvent, SendOptions, State as SctpState};
use rand_core::RngCore;
use tracing::debug;

pub use dcep::ChannelType;
pub use error::{ChannelError, Error, W3cError};
pub use types::{
    ChannelConfig, ChannelInfo, ChannelInit, ChannelStats, DtlsRole, Event, ReadyState,
};

struct Channel {
    info: ChannelInfo,
    /// Opener side waits for DATA_CHANNEL_ACK; until then messages go ordered (RFC 8832 §6).
    awaiting_ack: bool,
    /// DCEP OPEN must still be sent (association not up yet).
    open_pending: bool,
    outgoing_reset_done: bool,
    incoming_reset_done: bool,
    /// Deprecated partial PPIDs (52, 54): fragments collected until the final PPID.
    partial: Option<BytesMut>,
    /// A partial-PPID message outgrew `max_partial_message`: its remaining fragments, up to and
    /// including the final one, are dropped too (the whole message is lost, not just its head).
    discarding_partial: bool,
    /// Where our DCEP message sits in the stream's byte sequence (start, end): not
    /// application data, so not part of `bufferedAmount`.
    dcep_bytes: Option<(u64, u64)>,
    stats: ChannelStats,
}

/// What is left of a closed channel until its id is used again.
#[derive(Debug)]
struct ClosedChannel {
    /// The channel's last properties, `ready_state` closed.
    info: ChannelInfo,
    stats: ChannelStats,
}

/// Data channels over one SCTP association.
pub struct DataChannels {
    assoc: Association,
    role: DtlsRole,
    cfg: ChannelConfig,
    /// Boxed: a B-tree node holds eleven values, so one open channel unboxed would cost a
    /// ~1.8 KiB node (issue 17: memory per idle connection); boxed, the node is ~130 B.
    channels: BTreeMap<u16, Box<Channel>>,
    events: std::collections::VecDeque<Event>,
    now: Instant,
    connected: bool,
    /// Channels that closed and whose id was not used again: `close()` on them is a no-op,
    /// and their last properties and counters stay readable.
    closed: BTreeMap<u16, Box<ClosedChannel>>,
    /// Errors of channels that closed with one, until the id is used again.
    close_errors: BTreeMap<u16, ChannelError>,
}

impl std::fmt::Debug for DataChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannels")
            .field("role", &self.role)
            .field("channels", &self.channels.len())
            .field("assoc", &self.assoc)
            .finish()
    }
}

impl DataChannels {
    /// Creates the layer and its association. Call [`connect`](Self::connect) on both ends
    /// once DTLS is up (WebRTC peers both send INIT).
    pub fn new(
        role: DtlsRole,
        sctp: Config,
        cfg: ChannelConfig,
        now: Instant,
        rng: &mut impl RngCore,
    ) -> Self {
        Self {
            assoc: Association::new(sctp, now, rng),
            role,
            cfg,
            channels: BTreeMap::new(),
            events: Default::default(),
            now,
            connected: false,
            closed: BTreeMap::new(),
            close_errors: BTreeMap::new(),
        }
    }

    /// Starts the SCTP handshake.
    pub fn connect(&mut self, now: Instant) {
        self.now = now;
        self.assoc.connect(now);
    }

    /// The underlying association.
    pub fn association(&self) -> &Association {
        &self.assoc
    }

    /// The underlying association, for what this layer does not wrap (stats, raw sends with
    /// other PPIDs).
    pub fn association_mut(&mut self) -> &mut Association {
        &mut self.assoc
    }

    /// Creates a channel (W3C `createDataChannel`). With `negotiated`, the id is the
    /// application's and no DCEP is sent; otherwise an id of our parity is chosen and
    /// DATA_CHANNEL_OPEN is sent (at once, or when the association comes up).
    pub fn create_channel(&mut self, init: ChannelInit) -> Result<u16, Error> {
        // The checks in the order of the W3C createDataChannel algorithm.
        init.validate()?;
        if self.channels.len() >= self.cfg.max_channels {
            return Err(Error::NoFreeId);
        }
        let id = match init.negotiated {
            Some(id) => {
                if self.channels.contains_key(&id) {
                    return Err(Error::IdUnavailable(id));
                }
                id
            }
            None => self.free_id()?,
        };
        if self.connected {
            let max = self.assoc.outbound_streams();
            if id >= max {
                return Err(Error::IdBeyondMaxChannels { id, max });
            }
        }
        self.closed.remove(&id);
        self.close_errors.remove(&id);
        let negotiated = init.negotiated.is_some();
        let ch = Channel {
            info: ChannelInfo {
                id,
                label: init.label,
                protocol: init.protocol,
                ordered: init.ordered,
                max_retransmits: init.max_retransmits,
                max_packet_life_time: init.max_packet_life_time,
                negotiated,
                ready_state: ReadyState::Connecting,
                priority: init.priority,
            },
            awaiting_ack: !negotiated,
            open_pending: !negotiated,
            outgoing_reset_done: false,
            incoming_reset_done: false,
            partial: None,
            discarding_partial: false,
            dcep_bytes: None,
            stats: ChannelStats::default(),
        };
        self.channels.insert(id, Box::new(ch));
        if self.connected {
            self.activate(id);
        }
        Ok(id)
    }

    fn free_id(&self) -> Result<u16, Error> {
        let start = match self.role {
            DtlsRole::Client => 0u16,
            DtlsRole::Server => 1,
        };
        // Once connected, only ids below the association's stream count can be used.
        let limit = if self.connected {
            self.assoc.outbound_streams()
        } else {
            65535
        };
        let mut id = start;
        loop {
            if id >= limit {
                return Err(Error::NoFreeId);
            }
            if !self.channels.contains_key(&id) {
                return Ok(id);
            }
            id = match id.checked_add(2) {
                Some(n) => n,
                None => return Err(Error::NoFreeId),
            };
        }
    }

    /// Association is up: send pending OPENs and open negotiated channels.
    fn activate(&mut self, id: u16) {
        let max = self.assoc.outbound_streams();
        let Some(ch) = self.channels.get_mut(&id) else {
            return;
        };
        if ch.info.ready_state != ReadyState::Connecting {
            return;
        }
        if id >= max {
            // W3C "RTCSctpTransport connected" procedure: a channel whose id is not below
            // maxChannels closes with an error.
            self.fail_channel(
                id,
                None,
                format!("stream id {id} is not below the association's {max} streams"),
            );
            return;
        }
        let Some(ch) = self.channels.get_mut(&id) else {
            return;
        };
        if ch.open_pending {
            let (channel_type, param) =
                match (ch.info.max_retransmits, ch.info.max_packet_life_time) {
                    (Some(n), _) => (ChannelType::PartialReliableRexmit, u32::from(n)),
                    (None, Some(ms)) => (ChannelType::PartialReliableTimed, u32::from(ms)),
                    _ => (ChannelType::Reliable, 0),
                };
            let open = dcep::Message::Open(dcep::Open {
                channel_type,
                unordered: !ch.info.ordered,
                priority: ch.info.priority,
                reliability_parameter: param,
                label: ch.info.label.clone(),
                protocol: ch.info.protocol.clone(),
            });
            // DCEP messages are always sent reliably and in order (RFC 8832 §6).
            let open = open.to_bytes();
            let len = open.len() as u64;
            if let Err(e) = self
                .assoc
                .send(self.now, id, ppid::DCEP, open, SendOptions::default())
            {
                debug!(id, error = %e, "DCEP OPEN not sent");
                return;
            }
            let end = self.assoc.stream_bytes_queued(id);
            ch.dcep_bytes = Some((end.saturating_sub(len), end));
            ch.open_pending = false;
        }
        ch.info.ready_state = ReadyState::Open;
        self.events
            .push_back(Event::ChannelOpen { id, remote: false });
    }

    /// Properties of a channel.
    pub fn channel(&self, id: u16) -> Option<&ChannelInfo> {
        self.channels.get(&id).map(|c| &c.info)
    }

    /// The last properties of a closed channel (`ready_state` [`ReadyState::Closed`]), kept
    /// until its id is used again.
    pub fn closed_channel(&self, id: u16) -> Option<&ChannelInfo> {
        self.closed.get(&id).map(|c| &c.info)
    }

    /// A channel's message counters, open or closed (until its id is used again).
    pub fn channel_stats(&self, id: u16) -> Option<ChannelStats> {
        match self.channels.get(&id) {
            Some(c) => Some(c.stats),
            None => self.closed.get(&id).map(|c| c.stats),
        }
    }

    /// Ids of all channels, ascending.
    pub fn channel_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.channels.keys().copied()
    }

    /// W3C `bufferedAmount`: bytes of application data queued with `send` and not yet sent.
    /// It only grows while the channel is open and does not drop to zero when the channel
    /// closes. Our DCEP message is not application data and is not counted; an empty
    /// message counts as the 1 byte RFC 8831 §6.6 puts on the wire.
    pub fn buffered_amount(&self, id: u16) -> usize {
        let queued = self.assoc.buffered_amount(id);
        let Some((start, end)) = self.channels.get(&id).and_then(|c| c.dcep_bytes) else {
            return queued;
        };
        // Bytes before `left` have left the queue.
        let left = self
            .assoc
            .stream_bytes_queued(id)
            .saturating_sub(queued as u64);
        let dcep_unsent = end.saturating_sub(start.max(left));
        queued.saturating_sub(usize::try_from(dcep_unsent).unwrap_or(usize::MAX))
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, threshold: usize) {
        self.assoc.set_buffered_amount_low_threshold(id, threshold);
    }

    fn send_options(&self, ch: &Channel) -> SendOptions {
        SendOptions {
            // Until the ACK arrives the opener sends in order (RFC 8832 §6).
            unordered: !ch.info.ordered && !ch.awaiting_ack,
            max_retransmits: ch.info.max_retransmits,
            lifetime: ch
                .info
                .max_packet_life_time
                .map(|ms| Duration::from_millis(u64::from(ms))),
        }
    }

    fn send(&mut self, id: u16, data: Bytes, binary: bool) -> Result<(), Error> {
        let ch = match self.channels.get(&id) {
            Some(ch) => ch,
            None if self.closed.contains_key(&id) => return Err(Error::NotOpen(id)),
            None => return Err(Error::NoSuchChannel(id)),
        };
        if ch.info.ready_state != ReadyState::Open {
            return Err(Error::NotOpen(id));
        }
        let max = self.max_message_size();
        if data.len() > max {
            return Err(Error::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let opts = self.send_options(ch);
        let data_len = data.len();
        // Empty messages use their own PPIDs with one byte of payload (RFC 8831 §6.6).
        let (ppid, payload) = match (binary, data.is_empty()) {
            (false, false) => (ppid::STRING, data),
            (false, true) => (ppid::STRING_EMPTY, Bytes::from_static(&[0])),
            (true, false) => (ppid::BINARY, data),
            (true, true) => (ppid::BINARY_EMPTY, Bytes::from_static(&[0])),
        };
        let len = data_len as u64;
        self.assoc.send(self.now, id, ppid, payload, opts)?;
        if let Some(ch) = self.channels.get_mut(&id) {
            ch.stats.messages_sent += 1;
            ch.stats.bytes_sent += len;
        }
        Ok(())
    }

    /// Sends a text message (`send(string)`).
    pub fn send_text(&mut self, now: Instant, id: u16, text: &str) -> Result<(), Error> {
        self.now = self.now.max(now);
        self.send(id, Bytes::copy_from_slice(text.as_bytes()), false)
    }

    /// Sends a binary message (`send(ArrayBuffer)`).
    pub fn send_binary(&mut self, now: Instant, id: u16, data: Bytes) -> Result<(), Error> {
        self.now = self.now.max(now);
        self.send(id, data, true)
    }

    /// W3C `close()`: the outgoing stream is reset once queued data is sent; the channel is
    /// closed when both directions are reset (RFC 8831 §6.7). Closing a channel that is
    /// closing or closed does nothing (W3C `close()` step 2).
    pub fn close(&mut self, id: u16) -> Result<(), Error> {
        if !self.channels.contains_key(&id) && self.closed.contains_key(&id) {
            return Ok(());
        }
        let ch = self.channels.get_mut(&id).ok_or(Error::NoSuchChannel(id))?;
        match ch.info.ready_state {
            ReadyState::Closing | ReadyState::Closed => return Ok(()),
            _ => {}
        }
        ch.info.ready_state = ReadyState::Closing;
        self.events.push_back(Event::ChannelClosing(id));
        if self.assoc.state() == SctpState::Established {
            self.assoc.reset_streams(&[id])?;
        } else {
            self.finish_close(id);
        }
        Ok(())
    }

    fn finish_close(&mut self, id: u16) {
        if let Some(ch) = self.channels.remove(&id) {
            let mut info = ch.info;
            info.ready_state = ReadyState::Closed;
            self.closed.insert(
                id,
                Box::new(ClosedChannel {
                    info,
                    stats: ch.stats,
                }),
            );
            self.events.push_back(Event::ChannelClosed(id));
        }
    }

    /// Closes a channel because of an SCTP-level failure: the error is kept for
    /// [`close_error`](Self::close_error), then [`Event::ChannelClosed`] follows.
    fn fail_channel(&mut self, id: u16, sctp_cause_code: Option<u16>, message: String) {
        if !self.channels.contains_key(&id) {
            return;
        }
        self.close_errors.insert(
            id,
            ChannelError {
                error_detail: "sctp-failure",
                sctp_cause_code,
                message,
            },
        );
        self.finish_close(id);
    }

    /// The error a channel closed with, if it closed because of one (W3C: the `error` event
    /// with errorDetail "sctp-failure" fired before `close`). Check it when
    /// [`Event::ChannelClosed`] arrives; it is kept until the id is used again.
    pub fn close_error(&self, id: u16) -> Option<&ChannelError> {
        self.close_errors.get(&id)
    }

    /// `RTCSctpTransport.maxMessageSize`: the largest message `send` accepts, the smaller of
    /// the remote's limit (when known) and our own SCTP `max_message_size`.
    pub fn max_message_size(&self) -> usize {
        let local = self.assoc.max_message_size();
        self.cfg
            .remote_max_message_size
            .map_or(local, |r| r.min(local))
    }

    /// Sets the remote's largest acceptable message (its SDP `a=max-message-size`); `None`
    /// when not known, so only our own limit applies.
    pub fn set_remote_max_message_size(&mut self, max: Option<usize>) {
        self.cfg.remote_max_message_size = max;
    }

    /// Sets the remote's limit from its SDP with the rules of RFC 8841 §6: no attribute
    /// means 65536 bytes, 0 means no limit beyond our own.
    pub fn set_remote_max_message_size_from_sdp(&mut self, attribute: Option<u64>) {
        let max = match attribute {
            None => Some(65536),
            Some(0) => None,
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        self.set_remote_max_message_size(max);
    }

    /// Feeds one received SCTP packet.
    pub fn handle_receive(&mut self, now: Instant, packet: Bytes) -> Result<(), Error> {
        self.now = self.now.max(now);
        let r = self.assoc.handle_receive(now, packet);
        self.process_events();
        r.map_err(Error::from)
    }

    /// Timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.assoc.handle_timeout(now);
        self.process_events();
    }

    /// Next packet to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let p = self.assoc.poll_transmit();
        self.process_events();
        p
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }

    /// Next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.process_events();
        let ev = self.events.pop_front();
        if ev.is_none() && self.events.capacity() != 0 {
            // Drained: give the buffer back, so an idle layer holds none (issue 17).
            self.events = std::collections::VecDeque::new();
        }
        ev
    }

    fn process_events(&mut self) {
        while let Some(ev) = self.assoc.poll_event() {
            match ev {
                SctpEvent::Connected | SctpEvent::Restarted => {
                    if ev == SctpEvent::Restarted {
                        // RFC 9260 §5.2.4 A: the peer lost its association state, and with
                        // it every channel (RFC 8831 has no way to bring them back). Close
                        // ours with an error instead of leaving them open towards nobody;
                        // channels still connecting open on the new association.
                        let gone: Vec<u16> = self
                            .channels
                            .iter()
                            .filter(|(_, c)| c.info.ready_state != ReadyState::Connecting)
                            .map(|(id, _)| *id)
                            .collect();
                        for id in gone {
                            self.fail_channel(
                                id,
                                None,
                                "the peer restarted the SCTP association".into(),
                            );
                        }
                    }
                    self.connected = true;
                    self.events.push_back(Event::Connected);
                    let ids: Vec<u16> = self.channels.keys().copied().collect();
                    for id in ids {
                        self.activate(id);
                    }
                }
                SctpEvent::Message(m) => self.on_message(m),
                SctpEvent::BufferedAmountLow(id) => {
                    self.events.push_back(Event::BufferedAmountLow(id))
                }
                SctpEvent::SendBufferLow
                | SctpEvent::StreamsAdded { .. }
                | SctpEvent::AddStreamsDenied { .. } => {}
                SctpEvent::OutgoingStreamsReset(ids) => {
                    for id in ids {
                        if let Some(ch) = self.channels.get_mut(&id) {
                            ch.outgoing_reset_done = true;
                            if ch.incoming_reset_done {
                                self.finish_close(id);
                            }
                        }
                    }
                }
                SctpEvent::IncomingStreamsReset(ids) => {
                    for id in ids {
                        let Some(ch) = self.channels.get_mut(&id) else {
                            continue;
                        };
                        ch.incoming_reset_done = true;
                        if ch.outgoing_reset_done {
                            self.finish_close(id);
                            continue;
                        }
                        if ch.info.ready_state != ReadyState::Closing {
                            // The peer closed: close our side too.
                            ch.info.ready_state = ReadyState::Closing;
                            self.events.push_back(Event::ChannelClosing(id));
                            if self.assoc.reset_streams(&[id]).is_err() {
                                self.finish_close(id);
                            }
                        }
                    }
                }
                SctpEvent::StreamResetFailed(ids) => {
                    for id in ids {
                        self.fail_channel(id, None, "the peer refused the stream reset".into());
                    }
                }
                SctpEvent::Closed | SctpEvent::Aborted { .. } => {
                    let reason = match &ev {
                        SctpEvent::Aborted { reason } => reason.clone(),
                        _ => "closed".to_string(),
                    };
                    let ids: Vec<u16> = self.channels.keys().copied().collect();
                    let aborted = matches!(ev, SctpEvent::Aborted { .. });
                    let cause = self.assoc.abort_cause();
                    for id in ids {
                        if aborted {
                            // W3C: the transport closed with an error; every channel gets an
                            // `error` (sctp-failure) and then `close`.
                            self.fail_channel(id, cause, reason.clone());
                        } else {
                            self.finish_close(id);
                        }
                    }
                    self.events.push_back(Event::Closed { reason });
                }
            }
        }
    }

    fn on_message(&mut self, m: ferrtc_sctp::Message) {
        let id = m.stream_id;
        if m.ppid == ppid::DCEP {
            match dcep::Message::parse(&m.payload) {
                Ok(dcep::Message::Open(o)) => self.on_open(id, o),
                Ok(dcep::Message::Ack) => {
                    if let Some(ch) = self.channels.get_mut(&id) {
                        ch.awaiting_ack = false;
                    }
                }
                Err(e) => debug!(id, error = %e, "bad DCEP message ignored"),
            }
            return;
        }
        let Some(ch) = self.channels.get_mut(&id) else {
            debug!(id, "message on a stream without a channel dropped");
            return;
        };
        if ch.info.ready_state == ReadyState::Closed {
            return;
        }
        // Any data from the peer implies it got our OPEN (RFC 8832 §6).
        ch.awaiting_ack = false;
        let (binary, data) = match m.ppid {
            ppid::STRING => (false, m.payload),
            ppid::BINARY => (true, m.payload),
            ppid::STRING_EMPTY => (false, Bytes::new()),
            ppid::BINARY_EMPTY => (true, Bytes::new()),
            ppid::STRING_PARTIAL | ppid::BINARY_PARTIAL => {
                // Deprecated (RFC 8831 §8): a fragment of a larger message.
                if ch.discarding_partial {
                    return;
                }
                let buf = ch.partial.get_or_insert_with(BytesMut::new);
                if buf.len() + m.payload.len() > self.cfg.max_partial_message {
                    ch.partial = None;
                    ch.discarding_partial = true;
                    debug!(id, "partial-PPID message too large, dropped");
                } else {
                    buf.extend_from_slice(&m.payload);
                }
                return;
            }
            other => {
                debug!(id, ppid = other, "unknown PPID dropped");
                return;
            }
        };
        if std::mem::take(&mut ch.discarding_partial) {
            // The final fragment of a message already dropped for its size.
            return;
        }
        let data = match ch.partial.take() {
            Some(mut head) => {
                if head.len() + data.len() > self.cfg.max_partial_message {
                    return;
                }
                head.extend_from_slice(&data);
                head.freeze()
            }
            None => data,
        };
        ch.stats.messages_received += 1;
        ch.stats.bytes_received += data.len() as u64;
        self.events.push_back(Event::Message { id, data, binary });
    }

    fn on_open(&mut self, id: u16, o: dcep::Open) {
        let theirs = match self.role {
            DtlsRole::Client => !id.is_multiple_of(2),
            DtlsRole::Server => id.is_multiple_of(2),
        };
        if self.channels.contains_key(&id)
            || !theirs
            || self.channels.len() >= self.cfg.max_channels
        {
            debug!(id, "DCEP OPEN for an id in use or of our parity: ignored");
            return;
        }
        self.closed.remove(&id);
        self.close_errors.remove(&id);
        let (max_retransmits, max_packet_life_time) = match o.channel_type {
            ChannelType::Reliable => (None, None),
            ChannelType::PartialReliableRexmit => {
                (Some(o.reliability_parameter.min(65535) as u16), None)
            }
            ChannelType::PartialReliableTimed => {
                (None, Some(o.reliability_parameter.min(65535) as u16))
            }
        };
        let ch = Channel {
            info: ChannelInfo {
                id,
                label: o.label,
                protocol: o.protocol,
                ordered: !o.unordered,
                max_retransmits,
                max_packet_life_time,
                negotiated: false,
                ready_state: ReadyState::Open,
                priority: o.priority,
            },
            awaiting_ack: false,
            open_pending: false,
            outgoing_reset_done: false,
            incoming_reset_done: false,
            partial: None,
            discarding_partial: false,
            dcep_bytes: None,
            stats: ChannelStats::default(),
        };
        self.channels.insert(id, Box::new(ch));
        let ack = dcep::Message::Ack.to_bytes();
        let len = ack.len() as u64;
        match self
            .assoc
            .send(self.now, id, ppid::DCEP, ack, SendOptions::default())
        {
            Ok(()) => {
                let end = self.assoc.stream_bytes_queued(id);
                if let Some(ch) = self.channels.get_mut(&id) {
                    ch.dcep_bytes = Some((end.saturating_sub(len), end));
                }
            }
            Err(e) => debug!(id, error = %e, "DCEP ACK not sent"),
        }
        self.events
            .push_back(Event::ChannelOpen { id, remote: true });
    }
}
