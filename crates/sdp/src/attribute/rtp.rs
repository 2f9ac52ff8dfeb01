//! RTP payload formats and their RTCP: `a=rtpmap`, `a=fmtp` (RFC 8866 §6.6, §6.15),
//! `a=rtcp-fb` (RFC 4585), `a=extmap` (RFC 8285) and `a=rtcp` (RFC 3605).

use std::fmt;

use super::{parse_payload_type, Direction};

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<params>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// RTP payload type, 0–127.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, …); compare case-insensitively.
    pub encoding_name: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

impl Rtpmap<'static> {
    /// The static audio/video payload types of RFC 3551 §6 that WebRTC peers still use
    /// without an `a=rtpmap` line (e.g. `m=audio 9 RTP/AVP 0`).
    pub fn static_payload_type(pt: u8) -> Option<Self> {
        let (encoding_name, clock_rate, channels) = match pt {
            0 => ("PCMU", 8000, Some(1)),
            3 => ("GSM", 8000, Some(1)),
            4 => ("G723", 8000, Some(1)),
            8 => ("PCMA", 8000, Some(1)),
            9 => ("G722", 8000, Some(1)),
            13 => ("CN", 8000, Some(1)),
            18 => ("G729", 8000, Some(1)),
            26 => ("JPEG", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(Rtpmap {
            payload_type: pt,
            encoding_name,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15); the parameters are an ordered list of
/// `key[=value]` items separated by `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (a payload type for RTP media).
    pub format: &'a str,
    /// The parameter text as written.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// The payload type, if the format is numeric.
    pub fn payload_type(&self) -> Option<u8> {
        parse_payload_type(self.format)
    }

    /// The parameters in order, as `(key, value)`, trimmed of spaces. A parameter
    /// without `=` (e.g. `111/111` for RED, `0-15` for telephone-event) has no value.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
    }

    /// The value of parameter `key` (ASCII case-insensitive), if present with a value.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.params()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }
}

impl fmt::Display for Fmtp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.params)
    }
}

/// `a=rtcp-fb:<pt|*> <type> [<param>]` (RFC 4585 §4.2, RFC 5104 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpFb<'a> {
    /// The payload type, or `None` for `*` (all formats).
    pub payload_type: Option<u8>,
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, `trr-int`, …
    pub feedback: &'a str,
    /// The rest: `pli` for `nack pli`, `fir` for `ccm fir`, …
    pub param: Option<&'a str>,
}

impl fmt::Display for RtcpFb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt} {}", self.feedback)?,
            None => write!(f, "* {}", self.feedback)?,
        }
        if let Some(p) = self.param {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extmap<'a> {
    /// The local identifier (1–14 one-byte, 1–255 two-byte, 4096–4351 negotiation).
    pub id: u16,
    /// Optional direction restriction.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: &'a str,
    /// Extension attributes, if any.
    pub attributes: Option<&'a str>,
}

impl fmt::Display for Extmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp<'a> {
    /// The RTCP port.
    pub port: u16,
    /// The connection address, if given.
    pub address: Option<crate::Connection<'a>>,
}

impl fmt::Display for Rtcp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = self.address {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}
