//! The connection's events: [`PeerEvent`] (the browser's event handlers), the [`Events`]
//! stream the application takes them from, and the mapping from the sans-IO connection's
//! events (data channel events go to their channel, name lookups to the resolver).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use ferrtc_peerconnection::{
    Event, IceCandidateInit, IceConnectionState, IceGatheringState, PeerConnectionState,
    SignalingState,
};

use super::channel::{DataChannel, DataChannelEvent, Message};
use super::input::Input;
use super::task::Driver;
use crate::mdns::MdnsResolution;
use crate::queue;

/// Events of the peer connection.
#[derive(Debug)]
pub enum PeerEvent {
    /// `icecandidate` (`None`: end of candidates).
    IceCandidate(Option<IceCandidateInit>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `selectedcandidatepairchange`.
    SelectedCandidatePairChange {
        /// Local address.
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
    },
    /// `datachannel`: the peer opened a channel.
    DataChannel(DataChannel),
    /// `track`: a remote description announced a track; read its frames or RTP packets.
    Track(crate::media::RemoteTrack),
}

/// The stream of [`PeerEvent`]s (a `futures_core::Stream`; also `recv().await`).
#[derive(Debug)]
pub struct Events {
    pub(super) rx: queue::Receiver<PeerEvent>,
}

impl Events {
    /// The next event (`None` once the connection is gone).
    pub async fn recv(&mut self) -> Option<PeerEvent> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for Events {
    type Item = PeerEvent;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PeerEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Driver {
    pub(super) fn event(&mut self, e: Event) {
        let out = match e {
            Event::IceCandidate(c) => PeerEvent::IceCandidate(c),
            Event::IceGatheringStateChange(s) => PeerEvent::IceGatheringStateChange(s),
            Event::IceConnectionStateChange(s) => PeerEvent::IceConnectionStateChange(s),
            Event::ConnectionStateChange(s) => PeerEvent::ConnectionStateChange(s),
            Event::SignalingStateChange(s) => PeerEvent::SignalingStateChange(s),
            Event::NegotiationNeeded => PeerEvent::NegotiationNeeded,
            Event::SelectedCandidatePairChange { local, remote } => {
                PeerEvent::SelectedCandidatePairChange { local, remote }
            }
            Event::DataChannel(id) => match self.make_channel(id) {
                Some(dc) => PeerEvent::DataChannel(dc),
                None => return,
            },
            Event::ChannelOpen(id) => return self.channel_event(id, DataChannelEvent::Open),
            Event::ChannelMessage {
                channel,
                data,
                binary,
            } => {
                return self
                    .channel_event(channel, DataChannelEvent::Message(Message { data, binary }))
            }
            Event::ChannelBufferedAmountLow(id) => {
                let buffered = self.pc.data_channel(id).map_or(0, |c| c.buffered_amount());
                if let Some(s) = self.channels.get(&id) {
                    s.shared.buffered.store(buffered, Ordering::Relaxed);
                    s.shared.low.notify_waiters();
                }
                return self.channel_event(id, DataChannelEvent::BufferedAmountLow);
            }
            Event::ChannelClosing(id) => return self.channel_event(id, DataChannelEvent::Closing),
            Event::ChannelClosed(id) => return self.channel_event(id, DataChannelEvent::Close),
            Event::ResolveName(name) => {
                if !crate::mdns::is_mdns_name(&name) || matches!(self.mdns, MdnsResolution::Off) {
                    // Dropped at once (peer-reflexive discovery may still find the peer).
                    self.pc.resolve_name(Instant::now(), &name, None);
                    return;
                }
                // Resolved off this task; the answer comes back as an input. The agent bounds
                // the names pending at once (`max_pending_names`).
                let lookup = self.mdns.resolve(&name);
                let tx = self.tx.clone();
                self.resolving.retain(|t| !t.is_finished());
                self.resolving.push(tokio::spawn(async move {
                    let ip = lookup.await;
                    let _ = tx.send(Input::Resolved { name, ip }).await;
                }));
                return;
            }
            Event::MdnsName { .. } => return,
            // Media events go to the media handles (issue 13, `driver/media.rs`).
            e @ (Event::Track(_)
            | Event::TrackEnded(_)
            | Event::Frame(_)
            | Event::Rtp { .. }
            | Event::KeyframeRequest { .. }) => return self.media_event(e),
        };
        self.events.send(out);
    }
}
