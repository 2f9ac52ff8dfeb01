//! WHIP (RFC 9725) and WHEP: HTTP signaling for one peer connection per session.
//!
//! Server: [`WhipServer::router`] gives an axum router with `POST {path}` (offer → `201` with
//! the answer, `Location`, `ETag`, ICE servers in `Link`), `PATCH {path}/{id}` (trickle ICE,
//! `application/trickle-ice-sdpfrag`), `DELETE {path}/{id}`, and `OPTIONS` with CORS, so a
//! browser page can use it. WHEP is the same exchange for a receiving client; mount the same
//! router under `/whep`. Client: [`WhipClient::publish`].
//!
//! An offer that negotiates nothing (no `m=` section, or every one rejected) is refused with
//! `400`, and a session whose connection is not up within [`WhipOptions::connect_timeout`]
//! (30 s by default) is closed and forgotten, so clients that go away leave nothing behind.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes as Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use ferrtc_peerconnection::{IceCandidateInit, IceServer, RtcSessionDescription, SdpType};
use tracing::{debug, info};

use crate::{Error, PeerConnection, PeerConnectionState, RtcConfiguration};

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
    config: RtcConfiguration,
    hook: SessionHook,
    options: WhipOptions,
    sessions: Mutex<HashMap<String, Session>>,
    next: AtomicU64,
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

struct Session {
    pc: PeerConnection,
    etag: String,
}

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, If-Match"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, ETag, Link"),
    );
}

fn reply(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = (status, body.into()).into_response();
    cors(r.headers_mut());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `Link: <turn:host:port>; rel="ice-server"; username="…"; credential="…"` values
/// (RFC 9725 §4.6).
pub fn link_headers(servers: &[IceServer]) -> Vec<String> {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = Vec::new();
    for s in servers {
        for u in &s.urls {
            let mut v = format!("<{u}>; rel=\"ice-server\"");
            if let (Some(user), Some(cred)) = (&s.username, &s.credential) {
                v.push_str(&format!(
                    "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                    q(user),
                    q(cred)
                ));
            }
            out.push(v);
        }
    }
    out
}

/// Parses `Link` header values into ICE servers (the `rel="ice-server"` ones).
pub fn parse_link_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<IceServer> {
    let mut out = Vec::new();
    for value in values {
        // One header may hold several comma-separated links.
        for link in split_outside(value, ',') {
            let Some(rest) = link.strip_prefix('<') else {
                continue;
            };
            let (url, params) = match rest.split_once('>') {
                Some((u, p)) => (u, p),
                None => (rest, ""),
            };
            let mut rel = false;
            let mut server = IceServer::new(url.trim());
            for p in split_params(params) {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let v = unquote(v.trim());
                match k.trim().to_ascii_lowercase().as_str() {
                    "rel" => rel = v == "ice-server",
                    "username" => server.username = Some(v),
                    "credential" => server.credential = Some(v),
                    _ => {}
                }
            }
            if rel {
                out.push(server);
            }
        }
    }
    out
}

/// Splits `; a=b; c="d;e"` at semicolons outside quoted strings.
fn split_params(s: &str) -> Vec<&str> {
    split_outside(s, ';')
}

/// Splits at `sep` outside quoted strings and `<…>` URLs.
fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped, mut angle) = (0, false, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or("").trim());
    out.retain(|p| !p.is_empty());
    out
}

/// An RFC 9110 quoted-string's content (or the token as is).
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
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

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.options.bearer_token else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()))
    }

    fn unauthorized() -> Response {
        let mut r = reply(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone)]
struct ServerState {
    server: Arc<WhipServer>,
    base: String,
}

fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

async fn options(State(st): State<ServerState>) -> Response {
    let mut r = reply(StatusCode::NO_CONTENT, "");
    r.headers_mut().remove(header::CONTENT_TYPE);
    r.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"),
    );
    add_links(r.headers_mut(), &st.server.config.ice_servers);
    r
}

fn add_links(h: &mut HeaderMap, servers: &[IceServer]) {
    for l in link_headers(servers) {
        if let Ok(v) = HeaderValue::from_str(&l) {
            h.append(header::LINK, v);
        }
    }
}

/// Why an offer cannot make a session, if it cannot: with no `m=` section, or with every one
/// offered with port 0 and not `a=bundle-only` (RFC 3264 §5.1: "offered but MUST NOT be
/// used"; RFC 8843 §6 for bundle-only), there is no transport to negotiate and the session
/// could never connect.
fn negotiates_nothing(sdp: &ferrtc_sdp::SessionDescription) -> Option<&'static str> {
    if sdp.media_count() == 0 {
        return Some(
            "the offer has no media and no data channel section (no m= line): \
             there is nothing to connect",
        );
    }
    if sdp.media().all(|m| m.port() == 0 && !m.bundle_only()) {
        return Some(
            "every m= section of the offer is rejected (port 0): there is nothing to connect",
        );
    }
    None
}

async fn post(State(st): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    let server = &st.server;
    if !server.authorized(&headers) {
        return WhipServer::unauthorized();
    }
    if !content_type_is(&headers, SDP) {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as Content-Type: application/sdp\n",
        );
    }
    if server.session_count() >= server.options.max_sessions {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "too many sessions\n");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return reply(StatusCode::BAD_REQUEST, "the offer is not UTF-8\n");
    };
    let offer = RtcSessionDescription {
        sdp_type: SdpType::Offer,
        sdp: text.to_owned(),
    };
    match offer.parse() {
        Err(e) => return reply(StatusCode::BAD_REQUEST, format!("bad SDP offer: {e}\n")),
        Ok(sdp) => {
            if let Some(why) = negotiates_nothing(&sdp) {
                return reply(StatusCode::BAD_REQUEST, format!("{why}\n"));
            }
        }
    }
    let started = tokio::time::Instant::now();
    let pc = match PeerConnection::new(server.config.clone()).await {
        Ok(pc) => pc,
        Err(e) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot create a peer connection: {e}\n"),
            )
        }
    };
    (server.hook)(pc.clone()).await;
    if let Err(e) = pc.set_remote_description(offer).await {
        let _ = pc.close().await;
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("offer not accepted: {e}\n"),
        );
    }
    let answer = match pc.create_answer().await {
        Ok(a) => a,
        Err(e) => {
            let _ = pc.close().await;
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no answer: {e}\n"),
            );
        }
    };
    if let Err(e) = pc.set_local_description(answer).await {
        let _ = pc.close().await;
        return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"));
    }
    let answer = match tokio::time::timeout(
        server.options.gather_timeout,
        pc.gathered_local_description(),
    )
    .await
    {
        Ok(Ok(a)) => a,
        _ => match pc.local_description().await {
            Ok(Some(a)) => a,
            _ => {
                let _ = pc.close().await;
                return reply(StatusCode::INTERNAL_SERVER_ERROR, "no local description\n");
            }
        },
    };
    let n = server.next.fetch_add(1, Ordering::Relaxed);
    let id = format!("{n:x}{:08x}", {
        use rand::{RngCore, SeedableRng};
        rand::rngs::StdRng::from_os_rng().next_u32()
    });
    let etag = format!("\"{id}\"");
    if let Ok(mut s) = server.sessions.lock() {
        s.insert(
            id.clone(),
            Session {
                pc: pc.clone(),
                etag: etag.clone(),
            },
        );
    }
    // Forget the session when its connection does not come up in time, or ends on its own.
    let weak = Arc::downgrade(server);
    let watch_id = id.clone();
    let watched = pc.clone();
    let deadline = started + server.options.connect_timeout;
    drop(pc);
    tokio::spawn(async move {
        let up = matches!(
            tokio::time::timeout_at(deadline, watched.wait_connected()).await,
            Ok(Ok(()))
        );
        if up {
            // Connected: wait for the end, but do not keep the connection alive for a
            // server that is gone.
            loop {
                if matches!(
                    watched.connection_state(),
                    PeerConnectionState::Failed | PeerConnectionState::Closed
                ) || weak.strong_count() == 0
                {
                    break;
                }
                let _ =
                    tokio::time::timeout(Duration::from_millis(500), watched.wait_ended()).await;
            }
        } else if watched.connection_state() != PeerConnectionState::Closed {
            info!(
                session = watch_id,
                "WHIP session not connected in time: closed"
            );
        }
        if let Some(s) = weak.upgrade() {
            if let Ok(mut m) = s.sessions.lock() {
                m.remove(&watch_id);
            }
        }
        let _ = watched.close().await;
    });
    info!(session = id, "WHIP session created");
    let mut r = (StatusCode::CREATED, answer.sdp).into_response();
    let h = r.headers_mut();
    cors(h);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    if let Ok(v) = HeaderValue::from_str(&format!("{}/{id}", st.base)) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    add_links(h, &server.config.ice_servers);
    r
}

async fn delete(
    State(st): State<ServerState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !st.server.authorized(&headers) {
        return WhipServer::unauthorized();
    }
    let session = st
        .server
        .sessions
        .lock()
        .ok()
        .and_then(|mut s| s.remove(&id));
    match session {
        Some(s) => {
            let _ = s.pc.close().await;
            debug!(session = id, "WHIP session deleted");
            reply(StatusCode::OK, "")
        }
        None => reply(StatusCode::NOT_FOUND, "no such session\n"),
    }
}

async fn patch(
    State(st): State<ServerState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !st.server.authorized(&headers) {
        return WhipServer::unauthorized();
    }
    if !content_type_is(&headers, SDPFRAG) {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "PATCH bodies must be application/trickle-ice-sdpfrag\n",
        );
    }
    let Some((pc, etag)) = st
        .server
        .sessions
        .lock()
        .ok()
        .and_then(|s| s.get(&id).map(|s| (s.pc.clone(), s.etag.clone())))
    else {
        return reply(StatusCode::NOT_FOUND, "no such session\n");
    };
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let Ok(text) = std::str::from_utf8(&body) else {
        return reply(StatusCode::BAD_REQUEST, "not UTF-8\n");
    };
    let mut ufrag = None;
    let mut candidates = Vec::new();
    let mut end = false;
    for line in text.lines().map(str::trim) {
        if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            ufrag = Some(u.to_owned());
        } else if let Some(c) = line.strip_prefix("a=candidate:") {
            candidates.push(format!("candidate:{c}"));
        } else if line == "a=end-of-candidates" {
            end = true;
        }
    }
    let remote_ufrag = pc
        .remote_description()
        .await
        .ok()
        .flatten()
        .and_then(|d| d.parse().ok())
        .and_then(|s: ferrtc_sdp::SessionDescription| {
            s.media()
                .find_map(|m| m.ice_credentials().map(|c| c.ufrag.to_owned()))
        });
    if if_match == Some("*")
        || ufrag
            .as_ref()
            .is_some_and(|u| Some(u) != remote_ufrag.as_ref())
    {
        // Trickle is supported, ICE restart through PATCH is not: 422 (RFC 9725 §4.3.1).
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ICE restart is not supported by this session\n",
        );
    }
    if let Some(m) = if_match {
        if m != etag {
            return reply(StatusCode::PRECONDITION_FAILED, "ETag does not match\n");
        }
    }
    for c in candidates {
        let init = IceCandidateInit {
            candidate: c,
            sdp_mid: None,
            sdp_m_line_index: Some(0),
            username_fragment: ufrag.clone(),
        };
        if let Err(e) = pc.add_ice_candidate(Some(init)).await {
            // Unusable candidates are discarded silently (RFC 9725 §4.3.1).
            debug!(error = %e, "trickled candidate discarded");
        }
    }
    if end {
        let _ = pc.add_ice_candidate(None).await;
    }
    let mut r = reply(StatusCode::NO_CONTENT, "");
    r.headers_mut().remove(header::CONTENT_TYPE);
    r
}

/// A session created by [`WhipClient::publish`].
#[derive(Debug, Clone)]
pub struct WhipSession {
    /// The session URL (absolute).
    pub location: String,
    /// The entity tag of the ICE session, if the server sent one.
    pub etag: Option<String>,
    /// ICE servers the server offered in `Link` headers.
    pub ice_servers: Vec<IceServer>,
    http: reqwest::Client,
    token: Option<String>,
}

/// A WHIP/WHEP client.
#[derive(Debug, Clone, Default)]
pub struct WhipClient {
    http: reqwest::Client,
    token: Option<String>,
}

fn http_err(e: reqwest::Error) -> Error {
    Error::Whip(e.to_string())
}

impl WhipClient {
    /// A client; `bearer_token` is sent as `Authorization: Bearer …`.
    pub fn new(bearer_token: Option<String>) -> Self {
        WhipClient {
            http: reqwest::Client::new(),
            token: bearer_token,
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// ICE servers the endpoint announces (`OPTIONS`), to configure the connection with before
    /// the offer.
    pub async fn ice_servers(&self, url: &str) -> Result<Vec<IceServer>, Error> {
        let resp = self
            .auth(self.http.request(Method::OPTIONS, url))
            .send()
            .await
            .map_err(http_err)?;
        Ok(parse_link_headers(
            resp.headers()
                .get_all(header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        ))
    }

    /// Offers `pc` (with its channels and tracks already added) to the endpoint at `url`: a
    /// complete offer is POSTed, the answer applied.
    pub async fn publish(&self, url: &str, pc: &PeerConnection) -> Result<WhipSession, Error> {
        let offer = pc.create_offer().await?;
        pc.set_local_description(offer).await?;
        let offer = pc.gathered_local_description().await?;
        let resp = self
            .auth(self.http.post(url))
            .header(header::CONTENT_TYPE, SDP)
            .body(offer.sdp)
            .send()
            .await
            .map_err(http_err)?;
        let status = resp.status();
        if status != StatusCode::CREATED {
            let body = resp.text().await.unwrap_or_default();
            return Err(Error::Whip(format!(
                "POST {url}: {status}: {}",
                body.trim()
            )));
        }
        let base = resp.url().clone();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Whip("201 without a Location header".into()))?;
        let location = base
            .join(location)
            .map_err(|e| Error::Whip(format!("bad Location: {e}")))?
            .to_string();
        let etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ice_servers = parse_link_headers(
            resp.headers()
                .get_all(header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let answer = resp.text().await.map_err(http_err)?;
        pc.set_remote_description(RtcSessionDescription {
            sdp_type: SdpType::Answer,
            sdp: answer,
        })
        .await?;
        Ok(WhipSession {
            location,
            etag,
            ice_servers,
            http: self.http.clone(),
            token: self.token.clone(),
        })
    }
}

impl WhipSession {
    /// Ends the session (`DELETE`).
    pub async fn delete(&self) -> Result<(), Error> {
        let mut rb = self.http.delete(&self.location);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.map_err(http_err)?;
        if !resp.status().is_success() {
            return Err(Error::Whip(format!("DELETE: {}", resp.status())));
        }
        Ok(())
    }

    /// Trickles candidates (`PATCH` with an `application/trickle-ice-sdpfrag` body).
    pub async fn trickle(
        &self,
        ufrag: &str,
        pwd: &str,
        candidates: &[IceCandidateInit],
        end_of_candidates: bool,
    ) -> Result<(), Error> {
        let mut body = format!("a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n");
        for c in candidates {
            body.push_str(&format!("a={}\r\n", c.candidate));
        }
        if end_of_candidates {
            body.push_str("a=end-of-candidates\r\n");
        }
        let mut rb = self
            .http
            .patch(&self.location)
            .header(header::CONTENT_TYPE, SDPFRAG)
            .body(body);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(e) = &self.etag {
            rb = rb.header(header::IF_MATCH, e);
        }
        let resp = rb.send().await.map_err(http_err)?;
        if !resp.status().is_success() {
            return Err(Error::Whip(format!("PATCH: {}", resp.status())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_round_trip() {
        let servers = vec![
            IceServer::new("stun:127.0.0.1:3478"),
            IceServer::turn("turn:127.0.0.1:3478?transport=udp", "us\"er", "pa;ss"),
        ];
        let links = link_headers(&servers);
        assert_eq!(links.len(), 2);
        let parsed = parse_link_headers(links.iter().map(String::as_str));
        assert_eq!(parsed[0].urls, servers[0].urls);
        assert_eq!(parsed[1].urls, servers[1].urls);
        assert_eq!(parsed[1].username.as_deref(), Some("us\"er"));
        let joined = links.join(", ");
        assert_eq!(parse_link_headers([joined.as_str()]).len(), 2);
        assert!(parse_link_headers(["<https://x>; rel=\"next\"", "garbage"]).is_empty());
    }
}
