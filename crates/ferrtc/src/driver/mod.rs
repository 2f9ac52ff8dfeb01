//! The tokio driver: one task per peer connection owns the sans-IO
//! [`ferrtc_peerconnection::PeerConnection`], its sockets and its timer; the handles
//! ([`PeerConnection`], [`DataChannel`]) talk to it through a queue. Nothing is shared behind
//! locks with the protocol state, so nothing can deadlock on it.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | this table; the public names |
//! | [`config`] | [`RtcConfiguration`]; the default DTLS context; ICE server names resolved |
//! | [`setup`] | [`PeerConnection::new`]: sans-IO connection, sockets or mux, readers, the task; [`live_peer_connections`] |
//! | [`handle`] | the [`PeerConnection`] handle: its methods (a command and its reply each) and the state snapshot |
//! | [`input`] | what the task receives: `Input` (datagrams, TURN stream data, name answers), `Command`, `call` |
//! | [`task`] | `Driver`, the task: its loop, draining output, inputs, commands, publishing states |
//! | [`transmit`] | sending: GSO batches (`SendBatch`), TURN TCP/TLS streams opened on demand |
//! | [`events`] | [`PeerEvent`], the [`Events`] stream, sans-IO events mapped to the handles' |
//! | [`channel`] | [`DataChannel`] and its events; the task's side of channels (through `pc.data_channel(id)`) |
//! | [`media`] | `add_track` / `add_transceiver` and the transceiver calls, the [`crate::TrackSender`] / [`crate::RemoteTrack`] commands, the sans-IO media events to those handles' queues |

mod channel;
mod config;
mod events;
mod handle;
mod input;
mod media;
mod setup;
mod task;
mod transmit;

pub use channel::{DataChannel, DataChannelEvent, DataChannelInit, Message};
pub use config::RtcConfiguration;
pub use events::{Events, PeerEvent};
pub use handle::PeerConnection;
pub(crate) use input::Input;
pub(crate) use media::{media_call, MediaCommand};
pub use setup::live_peer_connections;
