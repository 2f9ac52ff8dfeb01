//! A session's life on the server: the offer checked and answered (`POST`), trickled
//! candidates (`PATCH`), the end (`DELETE`), and the watch that forgets a session whose
//! connection never comes up or has ended.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes as Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrtc_peerconnection::{IceCandidateInit, RtcSessionDescription, SdpType};
use tracing::{debug, info};

use super::http::{add_links, content_type_is, cors, reply, SDP, SDPFRAG};
use super::server::{ServerState, Session, WhipServer};
use crate::{PeerConnection, PeerConnectionState};

/// Why an offer cannot make a session, if it cannot: with no `m=` section, or with every one
/// offered with port 0 and not `a=bundle-only` (RFC 3264 §5.1: "offered but MUST NOT be
/// used"; RFC 8843 §6 for bundle-only), there is no transport to negotiate and the session
/// could never connect.
pub(super) fn negotiates_nothing(sdp: &ferrtc_sdp::SessionDescription) -> Option<&'static str> {
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

pub(super) async fn post(
    State(st): State<ServerState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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
    let (pc, answer, started) = match negotiate(server, offer).await {
        Ok(negotiated) => negotiated,
        Err(refused) => return refused,
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
    let deadline = started + server.options.connect_timeout;
    watch(server, id.clone(), pc, deadline);
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

/// A connection for `offer`, the hook run on it, and its answer with the candidates gathered
/// (or those gathered by [`super::WhipOptions::gather_timeout`]); with the time it started.
/// On failure, the response to send (the connection closed).
pub(super) async fn negotiate(
    server: &WhipServer,
    offer: RtcSessionDescription,
) -> Result<(PeerConnection, RtcSessionDescription, tokio::time::Instant), Response> {
    let started = tokio::time::Instant::now();
    let pc = match PeerConnection::new(server.config.clone()).await {
        Ok(pc) => pc,
        Err(e) => {
            return Err(reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot create a peer connection: {e}\n"),
            ))
        }
    };
    (server.hook)(pc.clone()).await;
    if let Err(e) = pc.set_remote_description(offer).await {
        let _ = pc.close().await;
        return Err(reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("offer not accepted: {e}\n"),
        ));
    }
    let answer = match pc.create_answer().await {
        Ok(a) => a,
        Err(e) => {
            let _ = pc.close().await;
            return Err(reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no answer: {e}\n"),
            ));
        }
    };
    if let Err(e) = pc.set_local_description(answer).await {
        let _ = pc.close().await;
        return Err(reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")));
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
                return Err(reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no local description\n",
                ));
            }
        },
    };
    Ok((pc, answer, started))
}

/// Removes session `watch_id` from `server` once its connection is up and then ends, or is
/// not up by `deadline`; closes the connection then.
pub(super) fn watch(
    server: &Arc<WhipServer>,
    watch_id: String,
    watched: PeerConnection,
    deadline: tokio::time::Instant,
) {
    let weak = Arc::downgrade(server);
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
                remove_session(&mut m, &watch_id);
            }
        }
        let _ = watched.close().await;
    });
}

/// Removes a session; once the table is mostly empty its capacity is given back, so a burst
/// of sessions (a flood of offers that never connect, up to `max_sessions`) does not leave the
/// server holding a table sized for the burst.
fn remove_session(
    sessions: &mut std::collections::HashMap<String, Session>,
    id: &str,
) -> Option<Session> {
    let removed = sessions.remove(id);
    if sessions.len().saturating_mul(4) < sessions.capacity() && sessions.capacity() > 16 {
        sessions.shrink_to(sessions.len().saturating_mul(2));
    }
    removed
}

pub(super) async fn delete(
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
        .and_then(|mut s| remove_session(&mut s, &id));
    match session {
        Some(s) => {
            let _ = s.pc.close().await;
            debug!(session = id, "WHIP session deleted");
            reply(StatusCode::OK, "")
        }
        None => reply(StatusCode::NOT_FOUND, "no such session\n"),
    }
}

pub(super) async fn patch(
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
