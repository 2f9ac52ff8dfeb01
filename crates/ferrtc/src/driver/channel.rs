//! Data channels: the [`DataChannel`] handle (`RTCDataChannel`), and the task's side of
//! them: making handles, delivering their events, publishing `bufferedAmount`. Every call on
//! a channel goes through the peer connection's borrowed channel handle
//! (`ferrtc_peerconnection::PeerConnection::data_channel`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferrtc_peerconnection::{self as pc, ChannelId, ChannelInit, ReadyState};
use tokio::sync::{mpsc, watch, Mutex, Notify};

use super::input::{call, Command, Input};
use super::task::Driver;
use crate::queue;
use crate::Error;

/// A message received on a data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Payload.
    pub data: Bytes,
    /// Sent as binary (`ArrayBuffer`) or as a string.
    pub binary: bool,
}

impl Message {
    /// The text of a string message (`None` for binary or invalid UTF-8).
    pub fn text(&self) -> Option<&str> {
        if self.binary {
            None
        } else {
            std::str::from_utf8(&self.data).ok()
        }
    }
}

/// Events of one data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// `open`.
    Open,
    /// `message`.
    Message(Message),
    /// `bufferedamountlow`.
    BufferedAmountLow,
    /// `closing`.
    Closing,
    /// `close`.
    Close,
}

/// `RTCDataChannelInit`.
pub type DataChannelInit = ChannelInit;

pub(super) struct ChannelShared {
    pub(super) buffered: AtomicUsize,
    pub(super) threshold: AtomicUsize,
    pub(super) low: Notify,
    pub(super) state: watch::Sender<ReadyState>,
    pub(super) stream_id: AtomicUsize,
}

pub(super) struct ChannelSink {
    pub(super) shared: Arc<ChannelShared>,
    pub(super) tx: queue::Sender<DataChannelEvent>,
}

/// A channel's event queue, shared by the handle's clones, read by one of them at a time.
pub(super) struct ChannelEvents {
    pub(super) rx: queue::Receiver<DataChannelEvent>,
    pub(super) reader: Mutex<()>,
}

/// `RTCDataChannel`. Cheap to clone; all clones share one event queue.
#[derive(Clone)]
pub struct DataChannel {
    pub(super) id: ChannelId,
    pub(super) label: Arc<str>,
    pub(super) protocol: Arc<str>,
    pub(super) ordered: bool,
    pub(super) max_retransmits: Option<u16>,
    pub(super) max_packet_life_time: Option<u16>,
    pub(super) negotiated: bool,
    pub(super) tx: mpsc::Sender<Input>,
    pub(super) shared: Arc<ChannelShared>,
    pub(super) state_rx: watch::Receiver<ReadyState>,
    pub(super) events: Arc<ChannelEvents>,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel")
            .field("label", &self.label)
            .field("id", &self.id())
            .field("state", &self.ready_state())
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// `label`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.ordered
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        self.max_retransmits
    }

    /// `maxPacketLifeTime`.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.max_packet_life_time
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// `id`: the SCTP stream id, once the DTLS role is known.
    pub fn id(&self) -> Option<u16> {
        match self.shared.stream_id.load(Ordering::Relaxed) {
            usize::MAX => None,
            n => u16::try_from(n).ok(),
        }
    }

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        *self.state_rx.borrow()
    }

    /// Waits until the channel is open (error if it closes first).
    pub async fn wait_open(&self) -> Result<(), Error> {
        let mut rx = self.state_rx.clone();
        loop {
            match *rx.borrow_and_update() {
                ReadyState::Open => return Ok(()),
                ReadyState::Closing | ReadyState::Closed => return Err(Error::Closed),
                ReadyState::Connecting => {}
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    /// `send(string)`.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        let text = text.into();
        let len = text.len();
        call(&self.tx, |r| Command::SendText(self.id, text, r)).await?;
        self.shared.buffered.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// `send(ArrayBuffer)`.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        let data = data.into();
        let len = data.len();
        call(&self.tx, |r| Command::SendBinary(self.id, data, r)).await?;
        self.shared.buffered.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// `bufferedAmount` (as of the driver's last step).
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered.load(Ordering::Relaxed)
    }

    /// `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(&self, threshold: usize) -> Result<(), Error> {
        self.shared.threshold.store(threshold, Ordering::Relaxed);
        self.tx
            .send(Input::Command(Command::SetThreshold(self.id, threshold)))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Waits until `bufferedAmount` is at or below the low threshold (flow control:
    /// `while dc.buffered_amount() > HIGH { dc.buffered_amount_low().await }`).
    pub async fn buffered_amount_low(&self) -> Result<(), Error> {
        loop {
            let notified = self.shared.low.notified();
            if self.buffered_amount() <= self.shared.threshold.load(Ordering::Relaxed) {
                return Ok(());
            }
            if matches!(self.ready_state(), ReadyState::Closed) {
                return Err(Error::Closed);
            }
            notified.await;
        }
    }

    /// The channel's next event (`None` once the connection is gone).
    pub async fn next_event(&self) -> Option<DataChannelEvent> {
        let _reading = self.events.reader.lock().await;
        self.events.rx.recv().await
    }

    /// The next message, skipping other events (`None` when the channel closed).
    pub async fn recv(&self) -> Option<Message> {
        let _reading = self.events.reader.lock().await;
        loop {
            match self.events.rx.recv().await? {
                DataChannelEvent::Message(m) => return Some(m),
                DataChannelEvent::Close => return None,
                _ => {}
            }
        }
    }

    /// `close()`.
    pub async fn close(&self) -> Result<(), Error> {
        call(&self.tx, |r| Command::CloseChannel(self.id, r)).await
    }
}

impl Driver {
    /// Runs `f` on channel `id` through the peer connection's borrowed channel handle.
    pub(super) fn on_channel<T>(
        &mut self,
        id: ChannelId,
        f: impl FnOnce(&mut pc::Channel<'_>) -> Result<T, pc::Error>,
    ) -> Result<T, Error> {
        let mut channel = self.pc.data_channel(id).ok_or(pc::Error::NoSuchChannel)?;
        f(&mut channel).map_err(Error::from)
    }

    /// Publishes each channel's `bufferedAmount` and wakes who waits for it to run low.
    pub(super) fn sync_channels(&mut self) {
        for (id, sink) in &self.channels {
            let b = self.pc.data_channel(*id).map_or(0, |c| c.buffered_amount());
            sink.shared.buffered.store(b, Ordering::Relaxed);
            if b <= sink.shared.threshold.load(Ordering::Relaxed) {
                sink.shared.low.notify_waiters();
            }
        }
    }

    /// A handle on channel `id`, and the sink the task delivers its events to.
    pub(super) fn make_channel(&mut self, id: ChannelId) -> Option<DataChannel> {
        let info = self.pc.data_channel(id)?.info();
        let (state, state_rx) = watch::channel(info.ready_state);
        let shared = Arc::new(ChannelShared {
            buffered: AtomicUsize::new(0),
            threshold: AtomicUsize::new(0),
            low: Notify::new(),
            state,
            stream_id: AtomicUsize::new(info.id.map_or(usize::MAX, usize::from)),
        });
        let (tx, rx) = queue::queue();
        self.channels.insert(
            id,
            ChannelSink {
                shared: shared.clone(),
                tx,
            },
        );
        Some(DataChannel {
            id,
            label: info.label.into(),
            protocol: info.protocol.into(),
            ordered: info.ordered,
            max_retransmits: info.max_retransmits,
            max_packet_life_time: info.max_packet_life_time,
            negotiated: info.negotiated,
            tx: self.tx.clone(),
            shared,
            state_rx,
            events: Arc::new(ChannelEvents {
                rx,
                reader: Mutex::new(()),
            }),
        })
    }

    /// Delivers `ev` to channel `id`'s handles, with its state as of now.
    pub(super) fn channel_event(&mut self, id: ChannelId, ev: DataChannelEvent) {
        let state = self.pc.data_channel(id).map(|c| {
            let info = c.info();
            (info.ready_state, info.id)
        });
        let Some(sink) = self.channels.get(&id) else {
            return;
        };
        if let Some((s, stream)) = state {
            let _ = sink.shared.state.send_replace(s);
            sink.shared
                .stream_id
                .store(stream.map_or(usize::MAX, usize::from), Ordering::Relaxed);
        }
        let closed = ev == DataChannelEvent::Close;
        if closed {
            let _ = sink.shared.state.send_replace(ReadyState::Closed);
            sink.shared.low.notify_waiters();
        }
        sink.tx.send(ev);
        if closed {
            self.channels.remove(&id);
        }
    }
}
