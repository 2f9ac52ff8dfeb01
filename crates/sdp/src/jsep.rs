//! The browser's `RTCSessionDescriptionInit` shape: `{"type":"offer","sdp":"…"}`.

use std::fmt;

use crate::{Error, SessionDescription};

/// `RTCSdpType` (W3C webrtc §4.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[allow(missing_docs)]
pub enum SdpType {
    Offer,
    Pranswer,
    Answer,
    Rollback,
}

impl SdpType {
    /// The JSON / JavaScript name.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed SDP with its text, as the browser signals it (`RTCSessionDescriptionInit`).
///
/// The `sdp` stays text so that a `rollback` (whose `sdp` is empty) and descriptions
/// this crate rejects still deserialize; [`parse`](Self::parse) types it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RtcSessionDescription {
    /// offer, pranswer, answer or rollback.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub sdp_type: SdpType,
    /// The SDP text.
    #[cfg_attr(feature = "serde", serde(default))]
    pub sdp: String,
}

impl RtcSessionDescription {
    /// Wraps a description.
    pub fn new(sdp_type: SdpType, sdp: &SessionDescription) -> Self {
        RtcSessionDescription {
            sdp_type,
            sdp: sdp.to_string(),
        }
    }

    /// Parses the SDP text.
    pub fn parse(&self) -> Result<SessionDescription, Error> {
        self.sdp.parse()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SessionDescription {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SessionDescription {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn browser_json_shape() {
        let sdp: SessionDescription = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            .parse()
            .unwrap();
        let d = RtcSessionDescription::new(SdpType::Offer, &sdp);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}"#
        );
        let back: RtcSessionDescription = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.parse().unwrap(), sdp);
        let rb: RtcSessionDescription = serde_json::from_str(r#"{"type":"rollback"}"#).unwrap();
        assert_eq!(rb.sdp_type, SdpType::Rollback);
        assert!(
            serde_json::from_str::<RtcSessionDescription>(r#"{"type":"bogus","sdp":""}"#).is_err()
        );
        let s: SessionDescription =
            serde_json::from_str(&serde_json::to_string(&sdp).unwrap()).unwrap();
        assert_eq!(s, sdp);
    }
}
