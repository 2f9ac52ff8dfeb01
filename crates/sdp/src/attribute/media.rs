//! Media-level identity and direction: `a=sendrecv` and friends (RFC 3264), `a=group`
//! (RFC 5888, BUNDLE in RFC 9143), `a=msid` (RFC 8830) and `a=msid-semantic`.

use std::fmt;

/// Media direction (RFC 8866 §6.7, RFC 3264 §5.1). The default, when no direction
/// attribute is present, is `sendrecv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name (`sendrecv`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The direction as the other side sees it (what an answer mirrors, RFC 3264 §6.1).
    pub fn reverse(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether this direction sends (`sendrecv` or `sendonly`).
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this direction receives (`sendrecv` or `recvonly`).
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction made of these two halves.
    pub fn from_parts(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=group:<semantics> <mid>*` (RFC 5888, BUNDLE in RFC 9143, LS for lip sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// `BUNDLE`, `LS`, `FID`, …
    pub semantics: &'a str,
    /// The identification tags, space separated (see [`Group::mids`]).
    pub mids: &'a str,
}

impl<'a> Group<'a> {
    /// The media identification tags in order.
    pub fn mids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.mids.split(' ').filter(|s| !s.is_empty())
    }
}

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semantics)?;
        for m in self.mids() {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msid<'a> {
    /// The MediaStream id (`-` for none).
    pub stream_id: &'a str,
    /// The "appdata", the track id in WebRTC.
    pub track_id: Option<&'a str>,
}

impl fmt::Display for Msid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stream_id)?;
        if let Some(t) = self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// `a=msid-semantic: WMS [ids]` (the pre-RFC 8830 session-level form browsers still send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsidSemantic<'a> {
    /// Usually `WMS`.
    pub semantic: &'a str,
    /// Stream ids or `*`, space separated; may be empty.
    pub ids: &'a str,
}

impl<'a> MsidSemantic<'a> {
    /// The stream ids in order.
    pub fn ids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.ids.split(' ').filter(|s| !s.is_empty())
    }
}

impl fmt::Display for MsidSemantic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {}", self.semantic)?;
        for id in self.ids() {
            write!(f, " {id}")?;
        }
        Ok(())
    }
}
