//! SDP (RFC 8866) with a typed view of every attribute WebRTC uses, and a lossless round
//! trip.
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
//!
//! ```
//! use ferrtc_sdp::{Direction, SessionDescription, Setup};
//!
//! let offer: SessionDescription = "v=0\n\
//!     o=- 4611731400430051336 2 IN IP4 127.0.0.1\n\
//!     s=-\n\
//!     t=0 0\n\
//!     a=group:BUNDLE 0\n\
//!     m=audio 9 UDP/TLS/RTP/SAVPF 111\n\
//!     c=IN IP4 0.0.0.0\n\
//!     a=ice-ufrag:EsAw\n\
//!     a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n\
//!     a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24\n\
//!     a=setup:actpass\n\
//!     a=mid:0\n\
//!     a=sendrecv\n\
//!     a=rtpmap:111 opus/48000/2\n\
//!     a=rtcp-fb:111 transport-cc\n\
//!     a=fmtp:111 minptime=10;useinbandfec=1\n\
//!     a=x-custom:kept as is\n"
//!     .parse()?;
//!
//! let audio = offer.media().next().unwrap();
//! assert_eq!(audio.mid(), Some("0"));
//! assert_eq!(audio.direction(), Direction::SendRecv);
//! assert_eq!(audio.setup(), Some(Setup::ActPass));
//! assert_eq!(audio.ice_credentials().unwrap().ufrag, "EsAw");
//! let opus = &audio.codecs()[0];
//! assert_eq!((opus.name(), opus.clock_rate(), opus.channels()), (Some("opus"), Some(48000), Some(2)));
//! assert_eq!(opus.fmtp.unwrap().get("useinbandfec"), Some("1"));
//!
//! // Lossless: the unknown attribute is still there, and lines end in CRLF.
//! assert!(offer.to_string().ends_with("a=x-custom:kept as is\r\n"));
//! # Ok::<(), ferrtc_sdp::Error>(())
//! ```
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
