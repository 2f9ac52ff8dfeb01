//! Media through the peer connection: keying SRTP when DTLS connects, RTP/RTCP datagrams to and
//! from the engine ([`crate::media::engine`]), and the send / keyframe / stats calls.

use super::PeerConnection;

impl PeerConnection {}
