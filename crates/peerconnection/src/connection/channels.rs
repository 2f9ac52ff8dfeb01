//! Data channels: `createDataChannel`, the borrowed [`Channel`] handle with the
//! `RTCDataChannel` methods, and the events of the ferrtc-datachannel layer.
//!
//! The datachannel layer owns every channel's state (ready state, properties, counters) once
//! the SCTP association exists. The peer connection only keeps its stable [`ChannelId`]s and
//! what has no other home: the init of a channel created before the association (the DTLS
//! role decides the stream id), and the last state of a closed channel for `getStats`.

use std::collections::HashMap;

use bytes::Bytes;
use ferrtc_datachannel::{ChannelError, ChannelInit, ChannelStats, Event as DcEvent, ReadyState};
use tracing::debug;

use super::{Event, PeerConnection};
use crate::jsep::LocalSection;
use crate::Error;

/// A data channel handle. Stable for the channel's lifetime (unlike the SCTP stream id, which
/// is assigned once the DTLS role is known and reused after a channel closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub u64);

/// What `RTCDataChannel` exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInfo {
    /// `label`.
    pub label: String,
    /// `protocol`.
    pub protocol: String,
    /// `id`: the SCTP stream id, once known (at once for a negotiated channel).
    pub id: Option<u16>,
    /// `ordered`.
    pub ordered: bool,
    /// `maxRetransmits`.
    pub max_retransmits: Option<u16>,
    /// `maxPacketLifeTime` (ms).
    pub max_packet_life_time: Option<u16>,
    /// `negotiated`.
    pub negotiated: bool,
    /// `readyState`.
    pub ready_state: ReadyState,
}

impl DataChannelInfo {
    fn from_init(init: &ChannelInit, ready_state: ReadyState) -> Self {
        DataChannelInfo {
            label: init.label.clone(),
            protocol: init.protocol.clone(),
            id: init.negotiated,
            ordered: init.ordered,
            max_retransmits: init.max_retransmits,
            max_packet_life_time: init.max_packet_life_time,
            negotiated: init.negotiated.is_some(),
            ready_state,
        }
    }

    fn from_layer(i: &ferrtc_datachannel::ChannelInfo) -> Self {
        DataChannelInfo {
            label: i.label.clone(),
            protocol: i.protocol.clone(),
            id: Some(i.id),
            ordered: i.ordered,
            max_retransmits: i.max_retransmits,
            max_packet_life_time: i.max_packet_life_time,
            negotiated: i.negotiated,
            ready_state: i.ready_state,
        }
    }
}

/// Where a channel's state lives. The rarely held variants are boxed so that a slot is small
/// for the common live channel (issue 17: with one channel, the table's B-tree node was
/// ~1.1 KiB per connection with these unboxed).
#[derive(Debug)]
enum Slot {
    /// Created before the SCTP association: the init waits for a stream id.
    Pending {
        init: Box<ChannelInit>,
        threshold: usize,
    },
    /// Owned by the datachannel layer under this stream id. `opened`: it reached `open`
    /// (for `dataChannelsClosed`).
    Live { stream: u16, opened: bool },
    /// Closed: what it was, for [`PeerConnection::channel`] and getStats.
    Closed(Box<ClosedSlot>),
}

/// What is kept of a closed channel.
#[derive(Debug)]
struct ClosedSlot {
    info: DataChannelInfo,
    stats: ChannelStats,
}

impl Slot {
    fn closed(info: DataChannelInfo, stats: ChannelStats) -> Slot {
        Slot::Closed(Box::new(ClosedSlot { info, stats }))
    }
}

/// Slots by [`ChannelId`]: a vector sorted by id. Ids are handed out in increasing order, so a
/// new channel is pushed at the end; lookups are binary searches. One channel costs one
/// 32-byte element instead of a B-tree node of eleven (issue 17: memory per idle connection).
#[derive(Debug, Default)]
struct SlotMap(Vec<(ChannelId, Slot)>);

impl SlotMap {
    fn position(&self, id: ChannelId) -> Result<usize, usize> {
        self.0.binary_search_by_key(&id, |(k, _)| *k)
    }

    fn insert(&mut self, id: ChannelId, slot: Slot) {
        match self.position(id) {
            Ok(i) => {
                if let Some(e) = self.0.get_mut(i) {
                    e.1 = slot;
                }
            }
            Err(i) => {
                if self.0.capacity() == 0 {
                    // Most connections have one channel: no room for four.
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (id, slot));
            }
        }
    }

    fn get(&self, id: &ChannelId) -> Option<&Slot> {
        let i = self.position(*id).ok()?;
        self.0.get(i).map(|(_, s)| s)
    }

    fn get_mut(&mut self, id: &ChannelId) -> Option<&mut Slot> {
        let i = self.position(*id).ok()?;
        self.0.get_mut(i).map(|(_, s)| s)
    }

    fn contains_key(&self, id: &ChannelId) -> bool {
        self.position(*id).is_ok()
    }

    fn keys(&self) -> impl Iterator<Item = &ChannelId> + '_ {
        self.0.iter().map(|(k, _)| k)
    }

    fn values(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.0.iter().map(|(_, s)| s)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&ChannelId, &mut Slot)> + '_ {
        self.0.iter_mut().map(|(k, s)| (&*k, s))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The peer connection's channels by [`ChannelId`], and the stream ids of the live ones.
#[derive(Debug, Default)]
pub(crate) struct ChannelTable {
    slots: SlotMap,
    by_stream: HashMap<u16, ChannelId>,
    next: u64,
    /// `RTCPeerConnectionStats.dataChannelsOpened`.
    pub(crate) opened: u64,
    /// `RTCPeerConnectionStats.dataChannelsClosed`.
    pub(crate) closed: u64,
}

impl ChannelTable {
    fn insert(&mut self, slot: Slot) -> ChannelId {
        let id = ChannelId(self.next);
        self.next += 1;
        if let Slot::Live { stream, .. } = slot {
            self.by_stream.insert(stream, id);
        }
        self.slots.insert(id, slot);
        id
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn negotiated_id_pending(&self, stream: u16) -> bool {
        self.slots
            .values()
            .any(|s| matches!(s, Slot::Pending { init, .. } if init.negotiated == Some(stream)))
    }
}

/// A data channel of a [`PeerConnection`], borrowed: the `RTCDataChannel` methods (str0m's
/// `Rtc::channel`, quinn's `send_stream` have the same shape). Get it with
/// [`PeerConnection::data_channel`].
#[derive(Debug)]
pub struct Channel<'a> {
    pc: &'a mut PeerConnection,
    id: ChannelId,
}

impl Channel<'_> {
    /// The channel's handle.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// Its properties and `readyState`.
    pub fn info(&self) -> DataChannelInfo {
        self.pc.channel(self.id).unwrap_or_else(|| {
            DataChannelInfo::from_init(&ChannelInit::default(), ReadyState::Closed)
        })
    }

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.info().ready_state
    }

    /// `bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        match (self.pc.live_stream(self.id), &self.pc.sctp) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(s),
            _ => 0,
        }
    }

    /// `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, threshold: usize) {
        match self.pc.channels.slots.get_mut(&self.id) {
            Some(Slot::Pending { threshold: t, .. }) => *t = threshold,
            Some(Slot::Live { stream, .. }) => {
                if let Some(sctp) = self.pc.sctp.as_mut() {
                    sctp.set_buffered_amount_low_threshold(*stream, threshold);
                }
            }
            Some(Slot::Closed(_)) | None => {}
        }
    }

    /// `send(string)`.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        let stream = self.open_stream()?;
        let now = self.pc.now;
        if let Some(sctp) = self.pc.sctp.as_mut() {
            sctp.send_text(now, stream, text).map_err(layer_error)?;
        }
        self.pc.pump();
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub fn send_binary(&mut self, data: Bytes) -> Result<(), Error> {
        let stream = self.open_stream()?;
        let now = self.pc.now;
        if let Some(sctp) = self.pc.sctp.as_mut() {
            sctp.send_binary(now, stream, data).map_err(layer_error)?;
        }
        self.pc.pump();
        Ok(())
    }

    /// `close()`: the stream is reset (RFC 8831 §6.7); a channel that has no stream yet
    /// closes at once. Closing a closed channel does nothing.
    pub fn close(&mut self) -> Result<(), Error> {
        let pc = &mut *self.pc;
        match pc.channels.slots.get(&self.id) {
            Some(Slot::Pending { .. }) => pc.retire_channel(self.id),
            Some(Slot::Live { stream, .. }) => {
                let stream = *stream;
                if let Some(sctp) = pc.sctp.as_mut() {
                    sctp.close(stream).map_err(layer_error)?;
                }
            }
            Some(Slot::Closed(_)) => {}
            None => return Err(Error::NoSuchChannel),
        }
        pc.pump();
        Ok(())
    }

    /// Message counters (`RTCDataChannelStats`).
    pub fn stats(&self) -> ChannelStats {
        self.pc.channel_stats(self.id).unwrap_or_default()
    }

    /// The error the channel closed with, if it closed because of one (the W3C `error` event
    /// before `close`; see [`ferrtc_datachannel::DataChannels::close_error`]).
    pub fn close_error(&self) -> Option<ChannelError> {
        let stream = self.info().id?;
        self.pc.sctp.as_ref()?.close_error(stream).cloned()
    }

    /// The stream of an open channel, or why there is none to send on.
    fn open_stream(&self) -> Result<u16, Error> {
        self.pc.ensure_open()?;
        self.pc
            .live_stream(self.id)
            .filter(|_| self.pc.sctp.is_some())
            .ok_or_else(|| Error::InvalidState("the data channel is not open".into()))
    }
}

/// The datachannel layer's error, with a message too large reported as the peer connection's
/// own [`Error::MessageTooLarge`] (the W3C `TypeError` of `send()`).
fn layer_error(e: ferrtc_datachannel::Error) -> Error {
    match e {
        ferrtc_datachannel::Error::MessageTooLarge { size, max } => {
            Error::MessageTooLarge { size, max }
        }
        e => Error::DataChannel(e),
    }
}

impl PeerConnection {
    // ----- data channels -----

    /// `createDataChannel`. Before the DTLS role is known the stream id is not assigned yet
    /// ([`DataChannelInfo::id`] is `None` unless the channel is negotiated), as in the browser.
    pub fn create_data_channel(&mut self, init: ChannelInit) -> Result<ChannelId, Error> {
        self.ensure_open()?;
        let first = self.channels.is_empty() && !self.has_data_section();
        let slot = match self.sctp.as_mut() {
            Some(sctp) => Slot::Live {
                stream: sctp.create_channel(init)?,
                opened: false,
            },
            None => {
                // The checks the datachannel layer would make, before it exists.
                init.validate()?;
                if let Some(id) = init.negotiated {
                    if self.channels.negotiated_id_pending(id) {
                        return Err(ferrtc_datachannel::Error::IdUnavailable(id).into());
                    }
                }
                Slot::Pending {
                    init: Box::new(init),
                    threshold: 0,
                }
            }
        };
        let id = self.channels.insert(slot);
        self.want_data_section = true;
        if first {
            // The first channel needs an application section (W3C §6.2 step 19).
            self.events.push_back(Event::NegotiationNeeded);
        }
        self.pump();
        Ok(id)
    }

    /// A borrowed handle on a channel, with the `RTCDataChannel` methods; `None` if the id
    /// was never handed out.
    pub fn data_channel(&mut self, id: ChannelId) -> Option<Channel<'_>> {
        if !self.channels.slots.contains_key(&id) {
            return None;
        }
        Some(Channel { pc: self, id })
    }

    fn has_data_section(&self) -> bool {
        self.local_sections
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. }))
            && self.current_local.is_some()
    }

    /// A channel's properties.
    pub fn channel(&self, id: ChannelId) -> Option<DataChannelInfo> {
        Some(match self.channels.slots.get(&id)? {
            Slot::Pending { init, .. } => DataChannelInfo::from_init(init, ReadyState::Connecting),
            Slot::Live { stream, .. } => {
                let sctp = self.sctp.as_ref()?;
                let info = sctp
                    .channel(*stream)
                    .or_else(|| sctp.closed_channel(*stream))?;
                DataChannelInfo::from_layer(info)
            }
            Slot::Closed(c) => c.info.clone(),
        })
    }

    /// A channel's message counters (`RTCDataChannelStats`).
    pub fn channel_stats(&self, id: ChannelId) -> Option<ChannelStats> {
        match self.channels.slots.get(&id)? {
            Slot::Pending { .. } => Some(ChannelStats::default()),
            Slot::Live { stream, .. } => self.sctp.as_ref()?.channel_stats(*stream),
            Slot::Closed(c) => Some(c.stats),
        }
    }

    /// Handles of every channel.
    pub fn channel_ids(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.slots.keys().copied()
    }

    fn live_stream(&self, id: ChannelId) -> Option<u16> {
        match self.channels.slots.get(&id)? {
            Slot::Live { stream, .. } => Some(*stream),
            _ => None,
        }
    }

    /// `send(string)`; the same as [`Channel::send_text`].
    pub fn send_text(&mut self, id: ChannelId, text: &str) -> Result<(), Error> {
        self.data_channel(id)
            .ok_or(Error::NoSuchChannel)?
            .send_text(text)
    }

    /// `send(ArrayBuffer)`; the same as [`Channel::send_binary`].
    pub fn send_binary(&mut self, id: ChannelId, data: Bytes) -> Result<(), Error> {
        self.data_channel(id)
            .ok_or(Error::NoSuchChannel)?
            .send_binary(data)
    }

    /// `bufferedAmount` (0 for an unknown channel); the same as [`Channel::buffered_amount`].
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        match (self.live_stream(id), &self.sctp) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(s),
            _ => 0,
        }
    }

    /// `bufferedAmountLowThreshold`; the same as [`Channel::set_buffered_amount_low_threshold`].
    pub fn set_buffered_amount_low_threshold(&mut self, id: ChannelId, threshold: usize) {
        if let Some(mut c) = self.data_channel(id) {
            c.set_buffered_amount_low_threshold(threshold);
        }
    }

    /// The channel's `close()`; the same as [`Channel::close`].
    pub fn close_channel(&mut self, id: ChannelId) -> Result<(), Error> {
        self.data_channel(id).ok_or(Error::NoSuchChannel)?.close()
    }

    /// The association exists: channels created before it get their stream ids.
    pub(super) fn create_pending_channels(&mut self) {
        let Some(sctp) = self.sctp.as_mut() else {
            return;
        };
        let table = &mut self.channels;
        for (id, slot) in table.slots.iter_mut() {
            let Slot::Pending { init, threshold } = slot else {
                continue;
            };
            match sctp.create_channel(ChannelInit::clone(init)) {
                Ok(stream) => {
                    if *threshold > 0 {
                        sctp.set_buffered_amount_low_threshold(stream, *threshold);
                    }
                    table.by_stream.insert(stream, *id);
                    *slot = Slot::Live {
                        stream,
                        opened: false,
                    };
                }
                Err(e) => {
                    debug!(error = %e, "pc: data channel could not be created");
                    *slot = Slot::closed(
                        DataChannelInfo::from_init(init, ReadyState::Closed),
                        ChannelStats::default(),
                    );
                    self.events.push_back(Event::ChannelClosed(*id));
                }
            }
        }
    }

    /// Marks a channel closed, keeping its last properties and counters; `ChannelClosed` is
    /// announced unless it was already closed.
    pub(super) fn retire_channel(&mut self, id: ChannelId) {
        let Some(slot) = self.channels.slots.get(&id) else {
            return;
        };
        let (mut info, stats, opened) = match slot {
            Slot::Closed(_) => return,
            Slot::Pending { init, .. } => (
                DataChannelInfo::from_init(init, ReadyState::Closed),
                ChannelStats::default(),
                false,
            ),
            Slot::Live { stream, opened } => {
                self.channels.by_stream.remove(stream);
                let info = self.channel(id).unwrap_or_else(|| {
                    DataChannelInfo::from_init(&ChannelInit::default(), ReadyState::Closed)
                });
                let stats = self.channel_stats(id).unwrap_or_default();
                (info, stats, *opened)
            }
        };
        info.ready_state = ReadyState::Closed;
        if opened {
            self.channels.closed += 1;
        }
        self.channels.slots.insert(id, Slot::closed(info, stats));
        self.events.push_back(Event::ChannelClosed(id));
    }

    /// Every channel closes (the peer connection closed).
    pub(super) fn retire_all_channels(&mut self) {
        let ids: Vec<ChannelId> = self.channels.slots.keys().copied().collect();
        for id in ids {
            self.retire_channel(id);
        }
    }

    pub(super) fn on_sctp_event(&mut self, ev: DcEvent) {
        let handle = |pc: &Self, stream: u16| pc.channels.by_stream.get(&stream).copied();
        match ev {
            DcEvent::Connected => debug!("pc: SCTP connected"),
            DcEvent::ChannelOpen { id: stream, remote } => {
                let known = handle(self, stream);
                let id = known.unwrap_or_else(|| {
                    self.channels.insert(Slot::Live {
                        stream,
                        opened: false,
                    })
                });
                if let Some(Slot::Live { opened, .. }) = self.channels.slots.get_mut(&id) {
                    *opened = true;
                }
                self.channels.opened += 1;
                if remote && known.is_none() {
                    self.events.push_back(Event::DataChannel(id));
                }
                self.events.push_back(Event::ChannelOpen(id));
            }
            DcEvent::Message { id, data, binary } => {
                if let Some(channel) = handle(self, id) {
                    self.events.push_back(Event::ChannelMessage {
                        channel,
                        data,
                        binary,
                    });
                }
            }
            DcEvent::BufferedAmountLow(id) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(Event::ChannelBufferedAmountLow(h));
                }
            }
            DcEvent::ChannelClosing(id) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(Event::ChannelClosing(h));
                }
            }
            DcEvent::ChannelClosed(id) => {
                if let Some(h) = handle(self, id) {
                    self.retire_channel(h);
                }
            }
            DcEvent::Closed { reason } => {
                debug!(reason, "pc: SCTP association closed");
                // The layer closed its channels before this event; any left are closed too.
                let live: Vec<ChannelId> = self.channels.by_stream.values().copied().collect();
                for h in live {
                    self.retire_channel(h);
                }
            }
        }
    }
}
