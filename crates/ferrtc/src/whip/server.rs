//! The server: [`WhipServer`] with its settings ([`WhipOptions`]) and sessions, its axum
//! routes, the bearer token check and `OPTIONS`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;

use super::http::{add_links, constant_time_eq, reply};
use super::session::{delete, patch, post};
use crate::{PeerConnection, RtcConfiguration};

/// The hook a server runs for each new session, before the answer is created: set up
/// negotiated channels, take the event stream, spawn the session's work.
pub type SessionHook =
    Arc<dyn Fn(PeerConnection) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Settings of a [`WhipServer`] ([`WhipServer::with`]).
#[derive(Clone)]
pub struct WhipOptions {
    /// A token clients must present as `Authorization: Bearer …` (`None`: no authentication).
    pub bearer_token: Option<String>,
    /// Sessions alive at once; a POST beyond this is answered `503`. Default 1000.
    pub max_sessions: usize,
    /// A session whose connection is not `connected` this long after its offer arrived is
    /// closed and removed (its client went away, or can never reach this server). Default 30 s.
    pub connect_timeout: Duration,
    /// How long the answer waits for ICE gathering to complete before it is sent with the
    /// candidates gathered so far. Default 5 s.
    pub gather_timeout: Duration,
}

impl Default for WhipOptions {
    fn default() -> Self {
        WhipOptions {
            bearer_token: None,
            max_sessions: 1000,
            connect_timeout: Duration::from_secs(30),
            gather_timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for WhipOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhipOptions")
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<set>"))
            .field("max_sessions", &self.max_sessions)
            .field("connect_timeout", &self.connect_timeout)
            .field("gather_timeout", &self.gather_timeout)
            .finish()
    }
}

/// A WHIP/WHEP endpoint.
pub struct WhipServer {
    pub(super) config: RtcConfiguration,
    pub(super) hook: SessionHook,
    pub(super) options: WhipOptions,
    pub(super) sessions: Mutex<HashMap<String, Session>>,
    pub(super) next: AtomicU64,
}

impl std::fmt::Debug for WhipServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhipServer")
            .field("config", &self.config)
            .field("options", &self.options)
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

pub(super) struct Session {
    pub(super) pc: PeerConnection,
    pub(super) etag: String,
}

impl WhipServer {
    /// A server creating each session's peer connection from `config` and running `hook` on it.
    pub fn new<F, Fut>(config: RtcConfiguration, hook: F) -> Arc<WhipServer>
    where
        F: Fn(PeerConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::with(config, hook, WhipOptions::default())
    }

    /// With a bearer token clients must present, and a session limit (the other
    /// [`WhipOptions`] at their defaults).
    pub fn with_options<F, Fut>(
        config: RtcConfiguration,
        hook: F,
        bearer_token: Option<String>,
        max_sessions: usize,
    ) -> Arc<WhipServer>
    where
        F: Fn(PeerConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::with(
            config,
            hook,
            WhipOptions {
                bearer_token,
                max_sessions,
                ..WhipOptions::default()
            },
        )
    }

    /// A server with every setting given.
    pub fn with<F, Fut>(config: RtcConfiguration, hook: F, options: WhipOptions) -> Arc<WhipServer>
    where
        F: Fn(PeerConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Arc::new(WhipServer {
            config,
            hook: Arc::new(move |pc| Box::pin(hook(pc))),
            options,
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        })
    }

    /// The settings.
    pub fn options(&self) -> &WhipOptions {
        &self.options
    }

    /// Sessions alive: answered, not yet deleted, failed, closed or timed out.
    /// ([`crate::live_peer_connections`] counts the connections themselves.)
    pub fn session_count(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// The routes, at `path` (e.g. `/whip`).
    pub fn router(self: &Arc<Self>, path: &str) -> Router {
        let base = path.trim_end_matches('/').to_owned();
        let with_id = format!("{base}/{{id}}");
        Router::new()
            .route(
                &base,
                on(MethodFilter::POST, post).on(MethodFilter::OPTIONS, options),
            )
            .route(
                &with_id,
                on(MethodFilter::DELETE, delete)
                    .on(MethodFilter::PATCH, patch)
                    .on(MethodFilter::OPTIONS, options),
            )
            .with_state(ServerState {
                server: self.clone(),
                base,
            })
    }

    pub(super) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.options.bearer_token else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()))
    }

    pub(super) fn unauthorized() -> Response {
        let mut r = reply(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    }
}

#[derive(Clone)]
pub(super) struct ServerState {
    pub(super) server: Arc<WhipServer>,
    pub(super) base: String,
}

pub(super) async fn options(State(st): State<ServerState>) -> Response {
    let mut r = reply(StatusCode::NO_CONTENT, "");
    r.headers_mut().remove(header::CONTENT_TYPE);
    r.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"),
    );
    add_links(r.headers_mut(), &st.server.config.ice_servers);
    r
}
