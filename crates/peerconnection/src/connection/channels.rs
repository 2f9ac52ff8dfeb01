//! Data channels: `createDataChannel` and the `RTCDataChannel` methods, mapped onto the
//! ferrtc-datachannel layer once the SCTP association exists.

use bytes::Bytes;
use ferrtc_datachannel::{ChannelInit, Event as DcEvent, ReadyState};
use tracing::debug;

use super::*;
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
    /// `id`: the SCTP stream id, once known.
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

#[derive(Debug)]
pub(crate) struct ChannelEntry {
    pub stream: Option<u16>,
    pub init: ChannelInit,
    pub state: ReadyState,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub threshold: usize,
}

impl PeerConnection {
    pub(super) fn create_pending_channels(&mut self) {
        let Some(sctp) = self.sctp.as_mut() else {
            return;
        };
        for (id, ch) in self.channels.iter_mut() {
            if ch.stream.is_some() || ch.state != ReadyState::Connecting {
                continue;
            }
            match sctp.create_channel(ch.init.clone()) {
                Ok(stream) => {
                    ch.stream = Some(stream);
                    self.by_stream.insert(stream, *id);
                    if ch.threshold > 0 {
                        sctp.set_buffered_amount_low_threshold(stream, ch.threshold);
                    }
                }
                Err(e) => {
                    debug!(error = %e, "pc: data channel could not be created");
                    ch.state = ReadyState::Closed;
                    self.events.push_back(Event::ChannelClosed(*id));
                }
            }
        }
    }

    // ----- data channels -----

    /// `createDataChannel`. Before the DTLS role is known the stream id is not assigned yet
    /// ([`DataChannelInfo::id`] is `None`), as in the browser.
    pub fn create_data_channel(&mut self, init: ChannelInit) -> Result<ChannelId, Error> {
        self.ensure_open()?;
        if init.max_retransmits.is_some() && init.max_packet_life_time.is_some() {
            return Err(ferrtc_datachannel::Error::BothReliabilityLimits.into());
        }
        if init.label.len() > 65535 || init.protocol.len() > 65535 {
            return Err(ferrtc_datachannel::Error::TooLong.into());
        }
        if let Some(id) = init.negotiated {
            if id == 65535
                || self
                    .channels
                    .values()
                    .any(|c| c.stream == Some(id) || c.init.negotiated == Some(id))
            {
                return Err(ferrtc_datachannel::Error::IdUnavailable(id).into());
            }
        }
        let id = ChannelId(self.next_channel);
        self.next_channel += 1;
        let first = self.channels.is_empty() && !self.has_data_section();
        let mut entry = ChannelEntry {
            stream: None,
            init: init.clone(),
            state: ReadyState::Connecting,
            messages_sent: 0,
            bytes_sent: 0,
            messages_received: 0,
            bytes_received: 0,
            threshold: 0,
        };
        if let Some(sctp) = self.sctp.as_mut() {
            let stream = sctp.create_channel(init)?;
            entry.stream = Some(stream);
            self.by_stream.insert(stream, id);
        }
        self.channels.insert(id, entry);
        self.want_data_section = true;
        if first {
            // The first channel needs an application section (W3C §6.2 step 19).
            self.events.push_back(Event::NegotiationNeeded);
        }
        self.pump();
        Ok(id)
    }

    pub(super) fn has_data_section(&self) -> bool {
        self.local_sections
            .iter()
            .any(|s| matches!(s, LocalSection::Data { .. }))
            && self.current_local.is_some()
    }

    /// A channel's properties.
    pub fn channel(&self, id: ChannelId) -> Option<DataChannelInfo> {
        let c = self.channels.get(&id)?;
        let state = match (c.stream, self.sctp.as_ref()) {
            (Some(s), Some(sctp)) => sctp.channel(s).map(|i| i.ready_state).unwrap_or(c.state),
            _ => c.state,
        };
        Some(DataChannelInfo {
            label: c.init.label.clone(),
            protocol: c.init.protocol.clone(),
            id: c.stream,
            ordered: c.init.ordered,
            max_retransmits: c.init.max_retransmits,
            max_packet_life_time: c.init.max_packet_life_time,
            negotiated: c.init.negotiated.is_some(),
            ready_state: state,
        })
    }

    /// Handles of every channel.
    pub fn channel_ids(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.keys().copied()
    }

    pub(super) fn stream_of(&self, id: ChannelId) -> Result<u16, Error> {
        let c = self.channels.get(&id).ok_or(Error::NoSuchChannel)?;
        match c.stream {
            Some(s) if self.sctp.is_some() => Ok(s),
            _ => Err(Error::InvalidState("the data channel is not open".into())),
        }
    }

    pub(super) fn check_size(&self, len: usize) -> Result<(), Error> {
        let max = self.max_message_size();
        if len > max {
            return Err(Error::MessageTooLarge { size: len, max });
        }
        Ok(())
    }

    /// `send(string)`.
    pub fn send_text(&mut self, id: ChannelId, text: &str) -> Result<(), Error> {
        self.ensure_open()?;
        self.check_size(text.len())?;
        let stream = self.stream_of(id)?;
        let now = self.now;
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.send_text(now, stream, text)?;
        }
        if let Some(c) = self.channels.get_mut(&id) {
            c.messages_sent += 1;
            c.bytes_sent += text.len() as u64;
        }
        self.pump();
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub fn send_binary(&mut self, id: ChannelId, data: Bytes) -> Result<(), Error> {
        self.ensure_open()?;
        self.check_size(data.len())?;
        let stream = self.stream_of(id)?;
        let now = self.now;
        let len = data.len() as u64;
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.send_binary(now, stream, data)?;
        }
        if let Some(c) = self.channels.get_mut(&id) {
            c.messages_sent += 1;
            c.bytes_sent += len;
        }
        self.pump();
        Ok(())
    }

    /// `bufferedAmount`.
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        match (self.channels.get(&id).and_then(|c| c.stream), &self.sctp) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(s),
            _ => 0,
        }
    }

    /// `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: ChannelId, threshold: usize) {
        let Some(c) = self.channels.get_mut(&id) else {
            return;
        };
        c.threshold = threshold;
        if let (Some(s), Some(sctp)) = (c.stream, self.sctp.as_mut()) {
            sctp.set_buffered_amount_low_threshold(s, threshold);
        }
    }

    /// The channel's `close()`.
    pub fn close_channel(&mut self, id: ChannelId) -> Result<(), Error> {
        let c = self.channels.get_mut(&id).ok_or(Error::NoSuchChannel)?;
        match (c.stream, self.sctp.as_mut()) {
            (Some(s), Some(sctp)) => sctp.close(s)?,
            _ => {
                if c.state != ReadyState::Closed {
                    c.state = ReadyState::Closed;
                    self.events.push_back(Event::ChannelClosed(id));
                }
            }
        }
        self.pump();
        Ok(())
    }

    pub(super) fn handle_for(&mut self, stream: u16) -> ChannelId {
        if let Some(id) = self.by_stream.get(&stream) {
            return *id;
        }
        let id = ChannelId(self.next_channel);
        self.next_channel += 1;
        let info = self.sctp.as_ref().and_then(|s| s.channel(stream)).cloned();
        let init = match info {
            Some(i) => ChannelInit {
                label: i.label,
                protocol: i.protocol,
                ordered: i.ordered,
                max_retransmits: i.max_retransmits,
                max_packet_life_time: i.max_packet_life_time,
                negotiated: None,
                priority: i.priority,
            },
            None => ChannelInit::default(),
        };
        self.channels.insert(
            id,
            ChannelEntry {
                stream: Some(stream),
                init,
                state: ReadyState::Connecting,
                messages_sent: 0,
                bytes_sent: 0,
                messages_received: 0,
                bytes_received: 0,
                threshold: 0,
            },
        );
        self.by_stream.insert(stream, id);
        id
    }

    pub(super) fn on_sctp_event(&mut self, ev: DcEvent) {
        match ev {
            DcEvent::Connected => debug!("pc: SCTP connected"),
            DcEvent::ChannelOpen { id: stream, remote } => {
                let known = self.by_stream.contains_key(&stream);
                let id = self.handle_for(stream);
                if let Some(c) = self.channels.get_mut(&id) {
                    c.state = ReadyState::Open;
                }
                self.channels_opened += 1;
                if remote && !known {
                    self.events.push_back(Event::DataChannel(id));
                }
                self.events.push_back(Event::ChannelOpen(id));
            }
            DcEvent::Message { id, data, binary } => {
                let Some(&h) = self.by_stream.get(&id) else {
                    return;
                };
                if let Some(c) = self.channels.get_mut(&h) {
                    c.messages_received += 1;
                    c.bytes_received += data.len() as u64;
                }
                self.events.push_back(Event::ChannelMessage {
                    channel: h,
                    data,
                    binary,
                });
            }
            DcEvent::BufferedAmountLow(id) => {
                if let Some(&h) = self.by_stream.get(&id) {
                    self.events.push_back(Event::ChannelBufferedAmountLow(h));
                }
            }
            DcEvent::ChannelClosing(id) => {
                if let Some(&h) = self.by_stream.get(&id) {
                    if let Some(c) = self.channels.get_mut(&h) {
                        c.state = ReadyState::Closing;
                    }
                    self.events.push_back(Event::ChannelClosing(h));
                }
            }
            DcEvent::ChannelClosed(id) => {
                if let Some(h) = self.by_stream.remove(&id) {
                    if let Some(c) = self.channels.get_mut(&h) {
                        if c.state == ReadyState::Open || c.state == ReadyState::Closing {
                            self.channels_closed += 1;
                        }
                        c.state = ReadyState::Closed;
                        c.stream = None;
                    }
                    self.events.push_back(Event::ChannelClosed(h));
                }
            }
            DcEvent::Closed { reason } => {
                debug!(reason, "pc: SCTP association closed");
                let open: Vec<(u16, ChannelId)> =
                    self.by_stream.iter().map(|(s, h)| (*s, *h)).collect();
                for (s, h) in open {
                    self.by_stream.remove(&s);
                    if let Some(c) = self.channels.get_mut(&h) {
                        if c.state != ReadyState::Closed {
                            if c.state == ReadyState::Open {
                                self.channels_closed += 1;
                            }
                            c.state = ReadyState::Closed;
                            self.events.push_back(Event::ChannelClosed(h));
                        }
                    }
                }
            }
        }
    }
}
