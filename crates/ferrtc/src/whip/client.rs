//! The client: [`WhipClient::publish`] offers a connection to an endpoint, [`WhipSession`]
//! trickles candidates to it and ends it.

use axum::http::{header, Method, StatusCode};
use ferrtc_peerconnection::{IceCandidateInit, IceServer, RtcSessionDescription, SdpType};

use super::http::{parse_link_headers, SDP, SDPFRAG};
use crate::{Error, PeerConnection};

/// A session created by [`WhipClient::publish`].
#[derive(Debug, Clone)]
pub struct WhipSession {
    /// The session URL (absolute).
    pub location: String,
    /// The entity tag of the ICE session, if the server sent one.
    pub etag: Option<String>,
    /// ICE servers the server offered in `Link` headers.
    pub ice_servers: Vec<IceServer>,
    pub(super) http: reqwest::Client,
    pub(super) token: Option<String>,
}

/// A WHIP/WHEP client.
#[derive(Debug, Clone, Default)]
pub struct WhipClient {
    pub(super) http: reqwest::Client,
    pub(super) token: Option<String>,
}

pub(super) fn http_err(e: reqwest::Error) -> Error {
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
