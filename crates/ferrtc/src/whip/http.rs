//! The HTTP side shared by server and client: content types, CORS and plain-text replies,
//! `Link` headers carrying ICE servers (RFC 9725 §4.6), the bearer token comparison.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrtc_peerconnection::IceServer;

pub(super) const SDP: &str = "application/sdp";
pub(super) const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

pub(super) fn cors(h: &mut HeaderMap) {
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

pub(super) fn reply(status: StatusCode, body: impl Into<String>) -> Response {
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
pub(super) fn split_params(s: &str) -> Vec<&str> {
    split_outside(s, ';')
}

/// Splits at `sep` outside quoted strings and `<…>` URLs.
pub(super) fn split_outside(s: &str, sep: char) -> Vec<&str> {
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
pub(super) fn unquote(v: &str) -> String {
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

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

pub(super) fn add_links(h: &mut HeaderMap, servers: &[IceServer]) {
    for l in link_headers(servers) {
        if let Ok(v) = HeaderValue::from_str(&l) {
            h.append(header::LINK, v);
        }
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
