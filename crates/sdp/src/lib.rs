#![doc = include_str!("../README.md")]
//!
//! ## Where to start
//!
//! - [`SessionDescription`] parses the whole RFC 8866 grammar (`v o s i u e p c b t r z k
//!   a m`), with CRLF or bare LF line endings, and prints with CRLF. Errors name the line
//!   and what is wrong with it.
//! - Attributes ferrtc does not know are kept verbatim and in order: printing a parsed
//!   description gives back the input (line endings aside).
//! - [`Media`] gives typed accessors for one media section: [`codecs`](Media::codecs)
//!   (rtpmap + fmtp + rtcp-fb per payload type), ICE credentials, fingerprint, setup, mid,
//!   direction, extmaps, SSRCs, simulcast, SCTP port, …; [`Attribute`] types each
//!   attribute line.
//! - [`SessionDescriptionBuilder`] and [`MediaBuilder`] write descriptions from typed
//!   values into one pre-sized `String`; [`SessionDescription::to_builder`] turns a parsed
//!   description back into typed values to change and write again.
//! - [`SessionDescription::typed_lines`] gives every line as a typed [`Line`].
//! - With the `serde` feature, [`RtcSessionDescription`] is the browser's
//!   `{"type":"offer","sdp":"…"}` JSON shape.
//!
//! Parsing copies the text once and records line spans; typed views borrow from it, so
//! nothing is allocated per line. Every attribute ferrtc types is checked at parse time,
//! so a malformed `a=rtpmap` or `a=fingerprint` is an error naming its line;
//! [`ParseOptions`] sets the size limits and can keep such lines verbatim instead.
//! Numbers are range-checked wherever an RFC gives a range (ports, payload types, extmap
//! ids, SSRCs, clock rates, repeat times, bandwidths, …): one out of range is
//! [`Error::InvalidValue`] naming the line and the field, in either mode. A rejected
//! section written without formats (`m=audio 0 RTP/AVP`, as some older browsers do) is
//! accepted.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attribute;
mod builder;
mod error;
mod fields;
mod grammar;
mod jsep;
mod line;
mod session;
mod util;
mod writer;

pub use attribute::{
    Attribute, Direction, Extmap, Fingerprint, Fmtp, Group, Msid, MsidSemantic, Rid, RidDirection,
    Rtcp, RtcpFb, Rtpmap, Setup, Simulcast, SimulcastList, Ssrc, SsrcGroup,
};
pub use builder::{MediaBuilder, SessionDescriptionBuilder};
pub use error::Error;
pub use fields::{Bandwidth, Connection, MediaKind, MediaLine, Origin, Timing};
pub use jsep::{RtcSessionDescription, SdpType};
pub use line::Line;
pub use session::{Codec, IceCredentials, Media, ParseOptions, SessionDescription};
