//! What a connection's task receives: datagrams from the socket readers, commands from the
//! handles (each with its reply), TURN stream data and name resolutions.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use ferrtc_peerconnection::stats::StatsReport;
use ferrtc_peerconnection::{
    ChannelId, ChannelInit, IceCandidateInit, OfferOptions, RtcSessionDescription,
};
use tokio::sync::{mpsc, oneshot};

use super::DataChannel;
use crate::Error;

/// Input of the driver task: datagrams from the sockets and commands from the handles.
///
/// The input queue allocates its slots 32 at a time, each the size of the largest variant, and
/// an idle connection keeps one such block: the variants are kept at 72 bytes (rare large
/// payloads boxed) rather than the 104 that `ferrtc_ice::Datagram` and two addresses take.
pub(crate) enum Input {
    /// A datagram read from the socket at `socket` in the driver's `locals`.
    Datagram {
        socket: u16,
        source: SocketAddr,
        contents: Bytes,
    },
    Command(Command),
    /// Bytes read from the TCP/TLS connection from `stream.0` (the interface) to the TURN
    /// server `stream.1`.
    StreamData {
        stream: Box<(SocketAddr, SocketAddr)>,
        data: Bytes,
    },
    /// That connection could not be opened, or ended.
    StreamClosed {
        local: SocketAddr,
        server: SocketAddr,
    },
    /// The answer to a remote candidate's host name (`None`: not found).
    Resolved {
        name: String,
        ip: Option<IpAddr>,
    },
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, Error>>;

pub(crate) enum Command {
    CreateOffer(OfferOptions, Reply<RtcSessionDescription>),
    CreateAnswer(Reply<RtcSessionDescription>),
    SetLocal(RtcSessionDescription, Reply<()>),
    SetRemote(RtcSessionDescription, Reply<()>),
    AddCandidate(Box<Option<IceCandidateInit>>, Reply<()>),
    LocalDescription(Reply<Option<RtcSessionDescription>>),
    RemoteDescription(Reply<Option<RtcSessionDescription>>),
    CreateChannel(Box<ChannelInit>, Reply<DataChannel>),
    SendText(ChannelId, String, Reply<()>),
    SendBinary(ChannelId, Bytes, Reply<()>),
    CloseChannel(ChannelId, Reply<()>),
    SetThreshold(ChannelId, usize),
    Stats(Reply<StatsReport>),
    RestartIce,
    Close(Reply<()>),
    /// Tracks, transceivers, frames (`driver/media.rs`).
    Media(Box<super::media::MediaCommand>),
}

/// Queue depth between the sockets/handles and a connection's task.
pub(super) const INPUT_QUEUE: usize = 1024;

/// Sends a command and waits for its reply.
pub(super) async fn call<T>(
    tx: &mpsc::Sender<Input>,
    make: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, Error> {
    let (r, rx) = oneshot::channel();
    tx.send(Input::Command(make(r)))
        .await
        .map_err(|_| Error::Closed)?;
    rx.await.map_err(|_| Error::Closed)?
}
