//! WHIP (RFC 9725) and WHEP: HTTP signaling for one peer connection per session.
//!
//! Server: [`WhipServer::router`] gives an axum router with `POST {path}` (offer → `201` with
//! the answer, `Location`, `ETag`, ICE servers in `Link`), `PATCH {path}/{id}` (trickle ICE,
//! `application/trickle-ice-sdpfrag`), `DELETE {path}/{id}`, and `OPTIONS` with CORS, so a
//! browser page can use it. WHEP is the same exchange for a receiving client; mount the same
//! router under `/whep`. Client: [`WhipClient::publish`].
//!
//! Media: the hook is run before the offer is applied. A WHIP server takes the connection's
//! events there and gets a [`crate::PeerEvent::Track`] per published track (audio and video
//! sections offered sendonly are answered recvonly); the [`crate::RemoteTrack`]s end when the
//! session does (`DELETE`, failure), so a recorder knows when to finish its files (example
//! `save-to-disk`). A WHEP server calls [`crate::PeerConnection::add_track`] in the hook: the
//! client's recvonly sections take those tracks, the answer says sendonly, and the hook's
//! task feeds the [`crate::TrackSender`]s once connected. A WHEP client adds recvonly
//! transceivers and calls [`WhipClient::publish`].
//!
//! An offer that negotiates nothing (no `m=` section, or every one rejected) is refused with
//! `400`, and a session whose connection is not up within [`WhipOptions::connect_timeout`]
//! (30 s by default) is closed and forgotten, so clients that go away leave nothing behind.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | this table; the public names |
//! | `server.rs` | [`WhipServer`], [`WhipOptions`], [`SessionHook`]: settings, the session table, the axum routes, authorization, `OPTIONS` |
//! | `session.rs` | a session's life: `POST` (offer checked, answered), `PATCH` (trickle), `DELETE`, the connect timeout watch |
//! | `client.rs` | [`WhipClient`] and [`WhipSession`] |
//! | `http.rs` | content types, CORS, replies, `Link` headers ([`link_headers`], [`parse_link_headers`]) |

mod client;
mod http;
mod server;
mod session;

pub use client::{WhipClient, WhipSession};
pub use http::{link_headers, parse_link_headers};
pub use server::{SessionHook, WhipOptions, WhipServer};
