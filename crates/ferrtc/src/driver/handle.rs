//! The [`PeerConnection`] handle (`RTCPeerConnection`): each method is a command to the
//! connection's task and a wait for its reply; states are read from the last snapshot the task
//! published, without a round trip.

use std::net::SocketAddr;
use std::sync::Arc;

use ferrtc_peerconnection::stats::StatsReport;
use ferrtc_peerconnection::{
    self as pc, ChannelInit, IceCandidateInit, IceConnectionState, IceGatheringState, OfferOptions,
    PeerConnectionState, RtcSessionDescription, SignalingState,
};
use tokio::sync::{mpsc, oneshot, watch};

use super::channel::{DataChannel, DataChannelInit};
use super::events::{Events, PeerEvent};
use super::input::{call, Command, Input};
use crate::queue;
use crate::Error;

/// The connection's states, as the task last published them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    pub(super) signaling: SignalingState,
    pub(super) gathering: IceGatheringState,
    pub(super) ice: IceConnectionState,
    pub(super) state: PeerConnectionState,
}

/// The async `RTCPeerConnection`. Cheap to clone; the connection closes when
/// [`PeerConnection::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct PeerConnection {
    pub(super) inner: Arc<Handle>,
}

pub(super) struct Handle {
    pub(super) tx: mpsc::Sender<Input>,
    /// Dropped with the last handle: the driver then closes the connection.
    pub(super) _alive: oneshot::Sender<()>,
    pub(super) events: std::sync::Mutex<Option<queue::Receiver<PeerEvent>>>,
    pub(super) snapshot: watch::Receiver<Snapshot>,
    pub(super) local_addrs: Vec<SocketAddr>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("state", &self.connection_state())
            .field("local_addrs", &self.inner.local_addrs)
            .finish_non_exhaustive()
    }
}

impl PeerConnection {
    /// The event stream. It can be taken once; later calls return `None`.
    pub fn events(&self) -> Option<Events> {
        self.inner
            .events
            .lock()
            .ok()
            .and_then(|mut e| e.take())
            .map(|rx| Events { rx })
    }

    /// Addresses of this connection's sockets.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.local_addrs
    }

    fn tx(&self) -> &mpsc::Sender<Input> {
        &self.inner.tx
    }

    /// `createOffer()`.
    pub async fn create_offer(&self) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), |r| {
            Command::CreateOffer(OfferOptions::default(), r)
        })
        .await
    }

    /// `createOffer({iceRestart})`.
    pub async fn create_offer_with(
        &self,
        options: OfferOptions,
    ) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), |r| Command::CreateOffer(options, r)).await
    }

    /// `createAnswer()`.
    pub async fn create_answer(&self) -> Result<RtcSessionDescription, Error> {
        call(self.tx(), Command::CreateAnswer).await
    }

    /// `setLocalDescription(desc)`.
    pub async fn set_local_description(&self, desc: RtcSessionDescription) -> Result<(), Error> {
        call(self.tx(), |r| Command::SetLocal(desc, r)).await
    }

    /// `setRemoteDescription(desc)`.
    pub async fn set_remote_description(&self, desc: RtcSessionDescription) -> Result<(), Error> {
        call(self.tx(), |r| Command::SetRemote(desc, r)).await
    }

    /// `addIceCandidate(candidate)` (`None`: end of candidates).
    pub async fn add_ice_candidate(
        &self,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), Error> {
        call(self.tx(), |r| Command::AddCandidate(Box::new(candidate), r)).await
    }

    /// `localDescription`, with the candidates gathered so far.
    pub async fn local_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        call(self.tx(), Command::LocalDescription).await
    }

    /// `remoteDescription`.
    pub async fn remote_description(&self) -> Result<Option<RtcSessionDescription>, Error> {
        call(self.tx(), Command::RemoteDescription).await
    }

    /// Waits for ICE gathering to complete, then returns `localDescription` with every
    /// candidate: what non-trickle signaling (WHIP) sends.
    pub async fn gathered_local_description(&self) -> Result<RtcSessionDescription, Error> {
        let mut rx = self.inner.snapshot.clone();
        loop {
            if rx.borrow_and_update().gathering == IceGatheringState::Complete {
                break;
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
        self.local_description().await?.ok_or_else(|| {
            Error::PeerConnection(pc::Error::InvalidState("no local description".into()))
        })
    }

    /// `createDataChannel(label, init)` (`init.label` is replaced by `label`).
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel, Error> {
        let init = ChannelInit {
            label: label.to_owned(),
            ..init
        };
        call(self.tx(), |r| Command::CreateChannel(Box::new(init), r)).await
    }

    /// `getStats()`.
    pub async fn get_stats(&self) -> Result<StatsReport, Error> {
        call(self.tx(), Command::Stats).await
    }

    /// `restartIce()`.
    pub async fn restart_ice(&self) -> Result<(), Error> {
        self.tx()
            .send(Input::Command(Command::RestartIce))
            .await
            .map_err(|_| Error::Closed)
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.inner.snapshot.borrow().state
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.inner.snapshot.borrow().ice
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.inner.snapshot.borrow().gathering
    }

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.inner.snapshot.borrow().signaling
    }

    /// Waits until `connectionState` is `connected` (error on `failed` / `closed`).
    pub async fn wait_connected(&self) -> Result<(), Error> {
        let mut rx = self.inner.snapshot.clone();
        loop {
            match rx.borrow_and_update().state {
                PeerConnectionState::Connected => return Ok(()),
                PeerConnectionState::Failed | PeerConnectionState::Closed => {
                    return Err(Error::Closed)
                }
                _ => {}
            }
            rx.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    /// Waits until `connectionState` is `failed` or `closed` (or the connection's task has
    /// ended).
    pub async fn wait_ended(&self) {
        let mut rx = self.inner.snapshot.clone();
        loop {
            if matches!(
                rx.borrow_and_update().state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// `close()`: the final datagrams (SCTP ABORT, DTLS close_notify) are sent before this
    /// returns.
    pub async fn close(&self) -> Result<(), Error> {
        match call(self.tx(), Command::Close).await {
            Ok(()) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
