//! The layer's error type and the W3C exception each error maps to.

/// The exception the W3C WebRTC API throws for an [`Error`] (webrtc-pc §6.2, the
/// `createDataChannel`, `send()` and `close()` algorithms). See [`Error::w3c`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum W3cError {
    /// `TypeError`: the arguments can never work.
    TypeError,
    /// `InvalidStateError`: not in this state (the channel is not open).
    InvalidStateError,
    /// `OperationError`: the operation failed (id taken, no id left, buffer full).
    OperationError,
}

impl W3cError {
    /// The exception's name as JavaScript reports it.
    pub fn name(self) -> &'static str {
        match self {
            W3cError::TypeError => "TypeError",
            W3cError::InvalidStateError => "InvalidStateError",
            W3cError::OperationError => "OperationError",
        }
    }
}

/// Errors of the data channel layer. Each variant's documentation names the exception the
/// W3C API throws for it; [`Error::w3c`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A DCEP message could not be parsed. Not thrown to the application: the message is
    /// dropped (`OperationError` if it had to be named).
    #[error("DCEP message at offset {offset}: {what}")]
    Dcep {
        /// What was wrong.
        what: &'static str,
        /// Offset in the message.
        offset: usize,
    },
    /// No channel has this id: it never existed, or it closed and was forgotten
    /// (`InvalidStateError`, as for a closed channel).
    #[error("data channel {0} does not exist")]
    NoSuchChannel(u16),
    /// The id is in use by another channel, or an automatically chosen id has the wrong
    /// parity (`createDataChannel` step 18: `OperationError`).
    #[error("data channel id {0} is in use or not valid for this role")]
    IdUnavailable(u16),
    /// Every stream id of our parity is in use, or the `max_channels` limit is reached
    /// (`createDataChannel` step 18: `OperationError`).
    #[error("no free data channel id")]
    NoFreeId,
    /// `send()` on a channel whose readyState is not "open": connecting, closing or closed
    /// (`send()` step 3: `InvalidStateError`).
    #[error("data channel {0} is not open")]
    NotOpen(u16),
    /// Both maxRetransmits and maxPacketLifeTime were given (`createDataChannel` step 15:
    /// `TypeError`).
    #[error("maxRetransmits and maxPacketLifeTime are mutually exclusive")]
    BothReliabilityLimits,
    /// Label or protocol longer than 65535 bytes of UTF-8 (`createDataChannel` steps 5 and 11:
    /// `TypeError`).
    #[error("data channel label or protocol longer than 65535 bytes")]
    TooLong,
    /// `negotiated` is true but no id was given (`createDataChannel` step 14: `TypeError`).
    #[error("a negotiated data channel needs an id")]
    NegotiatedWithoutId,
    /// The id is 65535, above the largest allowed id 65534 (`createDataChannel` step 17:
    /// `TypeError`).
    #[error("data channel id {0} is out of range (at most 65534)")]
    IdOutOfRange(u16),
    /// The id is not below the number of streams of the connected association
    /// (`RTCSctpTransport.maxChannels`, `createDataChannel` step 19: `OperationError`).
    #[error("data channel id {id} is not below maxChannels {max}")]
    IdBeyondMaxChannels {
        /// The id asked for.
        id: u16,
        /// The association's outbound stream count.
        max: u16,
    },
    /// The message is larger than `RTCSctpTransport.maxMessageSize`, the smaller of the
    /// remote's `a=max-message-size` and our own limit (`send()` step 5: `TypeError`).
    #[error("data channel message of {size} bytes exceeds maxMessageSize {max}")]
    MessageTooLarge {
        /// Byte size of the message.
        size: usize,
        /// The maxMessageSize in force.
        max: usize,
    },
    /// An error from the SCTP association. A full send buffer is `OperationError`
    /// (`send()` step 6), an association that is not up or is gone `InvalidStateError`;
    /// see [`Error::w3c`].
    #[error(transparent)]
    Sctp(#[from] ferrtc_sctp::Error),
}

impl Error {
    /// The exception the W3C API throws for this error.
    pub fn w3c(&self) -> W3cError {
        use ferrtc_sctp::Error as S;
        match self {
            Error::TooLong
            | Error::BothReliabilityLimits
            | Error::NegotiatedWithoutId
            | Error::IdOutOfRange(_)
            | Error::MessageTooLarge { .. } => W3cError::TypeError,
            Error::NotOpen(_) | Error::NoSuchChannel(_) => W3cError::InvalidStateError,
            Error::IdUnavailable(_)
            | Error::NoFreeId
            | Error::IdBeyondMaxChannels { .. }
            | Error::Dcep { .. } => W3cError::OperationError,
            Error::Sctp(e) => match e {
                S::MessageTooLarge { .. } | S::EmptyMessage => W3cError::TypeError,
                S::NotEstablished | S::Closed | S::StreamResetting(_) => {
                    W3cError::InvalidStateError
                }
                _ => W3cError::OperationError,
            },
        }
    }
}

/// Why a channel closed with an error: the W3C `RTCErrorEvent` fired at the channel before
/// its `close` event (webrtc-pc §6.2 "announcing a data channel as closed", step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError {
    /// `RTCError.errorDetail`: always "sctp-failure" here.
    pub error_detail: &'static str,
    /// `RTCError.sctpCauseCode`: the cause of the ABORT, when there was one.
    pub sctp_cause_code: Option<u16>,
    /// `message`: what happened.
    pub message: String,
}
