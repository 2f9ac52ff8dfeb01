//! The values of the W3C `RTCDataChannel` model: init, properties, state, counters, the
//! layer's events and limits.

use bytes::Bytes;

use crate::Error;

/// Which DTLS role this endpoint has; it decides the parity of the stream ids it picks
/// (RFC 8832 §6: the DTLS client uses even ids, the server odd ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// DTLS client: even stream ids.
    Client,
    /// DTLS server: odd stream ids.
    Server,
}

/// W3C `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Waiting for the association (or, for the opener, DCEP in flight).
    Connecting,
    /// Data may be sent.
    Open,
    /// `close()` called or the peer reset the stream; waiting for both resets.
    Closing,
    /// Closed; the id can be reused.
    Closed,
}

/// W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInit {
    /// Label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// In-order delivery (default true).
    pub ordered: bool,
    /// Partial reliability by retransmissions.
    pub max_retransmits: Option<u16>,
    /// Partial reliability by lifetime, in milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// Out-of-band negotiated channel with this id (no DCEP); `None` for DCEP.
    pub negotiated: Option<u16>,
    /// DCEP priority (256 = normal).
    pub priority: u16,
}

impl ChannelInit {
    /// The checks of `createDataChannel` that need no association (W3C webrtc-pc §6.2 steps
    /// 5, 11, 15 and 17): label and protocol length, one reliability limit at most, id 65535.
    /// [`DataChannels::create_channel`](crate::DataChannels::create_channel) makes them too; a layer that keeps channels before
    /// the association exists (the peer connection) calls this first.
    pub fn validate(&self) -> Result<(), Error> {
        if self.label.len() > 65535 || self.protocol.len() > 65535 {
            return Err(Error::TooLong);
        }
        if self.max_retransmits.is_some() && self.max_packet_life_time.is_some() {
            return Err(Error::BothReliabilityLimits);
        }
        if self.negotiated == Some(65535) {
            return Err(Error::IdOutOfRange(65535));
        }
        Ok(())
    }

    /// The W3C `negotiated` and `id` members as this struct's `negotiated` field
    /// (`createDataChannel` steps 13 and 14): the id counts only for a negotiated channel,
    /// and a negotiated channel without an id is a `TypeError`
    /// ([`Error::NegotiatedWithoutId`]).
    pub fn negotiated_id(negotiated: bool, id: Option<u16>) -> Result<Option<u16>, Error> {
        match (negotiated, id) {
            (true, Some(id)) => Ok(Some(id)),
            (true, None) => Err(Error::NegotiatedWithoutId),
            (false, _) => Ok(None),
        }
    }
}

impl Default for ChannelInit {
    fn default() -> Self {
        Self {
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            negotiated: None,
            priority: 256,
        }
    }
}

/// A channel's properties, as the W3C API exposes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Stream id.
    pub id: u16,
    /// Label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// maxRetransmits.
    pub max_retransmits: Option<u16>,
    /// maxPacketLifeTime (ms).
    pub max_packet_life_time: Option<u16>,
    /// Negotiated out of band.
    pub negotiated: bool,
    /// readyState.
    pub ready_state: ReadyState,
    /// DCEP priority.
    pub priority: u16,
}

/// A channel's message counters (W3C `RTCDataChannelStats`). Empty messages count as 0
/// bytes, as the application sent or received them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// `messagesSent`.
    pub messages_sent: u64,
    /// `bytesSent`: payload bytes.
    pub bytes_sent: u64,
    /// `messagesReceived`.
    pub messages_received: u64,
    /// `bytesReceived`: payload bytes.
    pub bytes_received: u64,
}

/// What the data channel layer tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The SCTP association is up.
    Connected,
    /// A channel became open (ours, or one the peer opened with DCEP: `RTCDataChannelEvent`).
    ChannelOpen {
        /// Stream id.
        id: u16,
        /// Whether the peer opened it.
        remote: bool,
    },
    /// A message arrived.
    Message {
        /// Channel.
        id: u16,
        /// Payload (empty for the empty-string / empty-binary PPIDs).
        data: Bytes,
        /// Binary (PPID 53/57) or text (51/56).
        binary: bool,
    },
    /// bufferedAmount dropped to the bufferedAmountLowThreshold.
    BufferedAmountLow(u16),
    /// The channel is closing.
    ChannelClosing(u16),
    /// The channel closed; its id is free again.
    ChannelClosed(u16),
    /// The association ended.
    Closed {
        /// Why.
        reason: String,
    },
}

/// Limits of the data channel layer.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Largest number of channels (open or closing) at once.
    pub max_channels: usize,
    /// Largest message assembled from deprecated partial-PPID fragments.
    pub max_partial_message: usize,
    /// The remote's largest acceptable message (SDP `a=max-message-size`, RFC 8841 §6), when
    /// known; `None`: only our own SCTP `max_message_size` applies. See
    /// [`DataChannels::set_remote_max_message_size`](crate::DataChannels::set_remote_max_message_size).
    pub remote_max_message_size: Option<usize>,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            max_channels: 65534,
            max_partial_message: 256 * 1024,
            remote_max_message_size: None,
        }
    }
}
