//! The transceiver API of the peer connection (W3C webrtc-pc §4.4.1.x and §5.4):
//! addTransceiver, addTrack, removeTrack, setDirection, stop, setCodecPreferences, and the
//! `track` events of applied remote descriptions. The table itself is
//! [`crate::media::transceiver`]; JSEP writes and reads its m= sections in `jsep/`.

use super::PeerConnection;

impl PeerConnection {}
