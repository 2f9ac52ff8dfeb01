//! The crate's one error type.

use std::borrow::Cow;

/// Why a session description could not be parsed or built.
///
/// Every variant that comes from a line says which line (1-based, as an editor counts
/// them) and what was wrong with it, so a bad offer from a remote peer can be diagnosed
/// from the log line alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A line does not follow the RFC 8866 grammar (bad type letter, bad field, wrong order).
    #[error("SDP line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: Cow<'static, str>,
    },
    /// An attribute that ferrtc types (RFC 8866 §6 and the WebRTC RFCs) has a malformed value.
    #[error("SDP line {line}: a={name}: {message}")]
    Attribute {
        /// 1-based line number.
        line: usize,
        /// The attribute name, e.g. `rtpmap`.
        name: String,
        /// What is wrong with its value.
        message: Cow<'static, str>,
    },
    /// A numeric field holds a number outside the range its RFC allows (a port over 65535,
    /// a payload type over 127, an extmap id of 0, a repeat interval that overflows, …).
    #[error("SDP line {line}: {field} invalid value: {message}")]
    InvalidValue {
        /// 1-based line number.
        line: usize,
        /// The line type or attribute, e.g. `m=` or `a=extmap`.
        field: String,
        /// Which value and the range allowed.
        message: Cow<'static, str>,
    },
    /// The description is over [`ParseOptions::max_bytes`](crate::ParseOptions::max_bytes).
    #[error("SDP is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The description has more lines than [`ParseOptions::max_lines`](crate::ParseOptions::max_lines).
    #[error("SDP has more than {max} lines")]
    TooManyLines {
        /// The configured limit.
        max: usize,
    },
    /// The description has more media sections than
    /// [`ParseOptions::max_media`](crate::ParseOptions::max_media).
    #[error("SDP has more than {max} media sections (m= lines)")]
    TooManyMedia {
        /// The configured limit.
        max: usize,
    },
    /// A mandatory line is missing (RFC 8866 §5: v=, o=, s= and at least one t=).
    #[error("SDP has no {0}")]
    Missing(&'static str),
    /// The bytes are not UTF-8.
    #[error("SDP is not UTF-8 (invalid byte at offset {0})")]
    NotUtf8(usize),
}

impl Error {
    pub(crate) fn syntax(line: usize, message: impl Into<Cow<'static, str>>) -> Self {
        Error::Syntax {
            line,
            message: message.into(),
        }
    }
}

/// Why a line or attribute value was refused, before the line number is known: a grammar
/// problem, or a number outside its range (which becomes [`Error::InvalidValue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Not the grammar.
    Syntax(Cow<'static, str>),
    /// A number outside its range.
    Value(Cow<'static, str>),
}

impl Problem {
    /// A number outside its range: `what` (with the value) and the range allowed.
    pub(crate) fn range(what: impl std::fmt::Display, allowed: &str) -> Self {
        Problem::Value(format!("{what} is out of range ({allowed})").into())
    }

    /// The crate error for attribute `name` on line `line`.
    pub(crate) fn into_error(self, line: usize, name: &str) -> Error {
        match self {
            Problem::Syntax(message) => Error::Attribute {
                line,
                name: name.to_owned(),
                message,
            },
            Problem::Value(message) => Error::InvalidValue {
                line,
                field: format!("a={name}"),
                message,
            },
        }
    }

    pub(crate) fn message(self) -> Cow<'static, str> {
        match self {
            Problem::Syntax(m) | Problem::Value(m) => m,
        }
    }
}

impl From<&'static str> for Problem {
    fn from(m: &'static str) -> Self {
        Problem::Syntax(m.into())
    }
}

impl From<String> for Problem {
    fn from(m: String) -> Self {
        Problem::Syntax(m.into())
    }
}

impl From<Cow<'static, str>> for Problem {
    fn from(m: Cow<'static, str>) -> Self {
        Problem::Syntax(m)
    }
}
