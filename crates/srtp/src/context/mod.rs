//! An SRTP/SRTCP crypto context for one direction: session keys, and per-SSRC stream
//! state (rollover counter, replay windows, SRTCP index) created on first use.
//!
//! One module per part of RFC 3711: `stream` keeps what §3.2.3 calls the
//! cryptographic context of one SSRC (ROC, replay lists, SRTCP index) and the index and
//! replay checks (§3.3.1, §3.3.2); `srtp` protects and unprotects RTP packets (§3.3);
//! `srtcp` does the same for RTCP (§3.4). This file holds the configuration, the keys
//! (§4.3) and the context that owns the streams.

mod srtcp;
mod srtp;
mod stream;

use crate::cipher::{CmSession, GcmSession, Session};
use crate::error::{Error, PacketKind};
use crate::kdf::{self, Label};
use crate::profile::{ProtectionProfile, Transform};
use stream::{Stream, StreamMap};

const SRTP: PacketKind = PacketKind::Srtp;
const SRTCP: PacketKind = PacketKind::Srtcp;
/// Largest SRTCP index: 31 bits (RFC 3711 §3.4).
const MAX_SRTCP_INDEX: u32 = 0x7FFF_FFFF;
/// The E flag of the SRTCP index word (RFC 3711 §3.4).
const E_FLAG: u32 = 0x8000_0000;

/// Limits and options of a [`Context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// SRTP replay window in packets (rounded up to a power of two, at least 64). Default 1024, as
    /// libwebrtc uses; RFC 3711 requires at least 64.
    pub replay_window: usize,
    /// SRTCP replay window in packets. Default 1024.
    pub rtcp_replay_window: usize,
    /// Most SSRCs (streams) the context tracks; a packet of a new SSRC beyond it is
    /// rejected with [`Error::TooManyStreams`]. Default 1024.
    pub max_streams: usize,
    /// Master key identifier carried in every packet (RFC 3711 §3.1), or none.
    pub mki: Option<Vec<u8>>,
    /// Most SRTP packets the master key may protect or unprotect (RFC 3711 §9.2: 2^48).
    pub max_srtp_packets: u64,
    /// Most SRTCP packets the master key may protect or unprotect (2^31).
    pub max_srtcp_packets: u64,
    /// Allow protecting a packet whose index was already protected (libsrtp's
    /// `allow_repeat_tx`). Reusing an index reuses keystream, so only for retransmitting
    /// the identical packet.
    pub allow_repeat_tx: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            replay_window: 1024,
            rtcp_replay_window: 1024,
            max_streams: 1024,
            mki: None,
            max_srtp_packets: 1 << 48,
            max_srtcp_packets: 1 << 31,
            allow_repeat_tx: false,
        }
    }
}

/// Session keys given directly instead of derived from a master key (for test vectors
/// and for keying schemes that derive them elsewhere).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// SRTP encryption key (ignored by the NULL profiles).
    pub rtp_key: Vec<u8>,
    /// SRTP salt (14 bytes for AES-CM, 12 for GCM).
    pub rtp_salt: Vec<u8>,
    /// SRTP HMAC-SHA1 key (unused by GCM).
    pub rtp_auth_key: Vec<u8>,
    /// SRTCP encryption key.
    pub rtcp_key: Vec<u8>,
    /// SRTCP salt.
    pub rtcp_salt: Vec<u8>,
    /// SRTCP HMAC-SHA1 key (unused by GCM).
    pub rtcp_auth_key: Vec<u8>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

impl SessionKeys {
    /// Derives the session keys from a master key and salt (RFC 3711 §4.3, KDR 0).
    pub fn derive(
        profile: ProtectionProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, Error> {
        check_len("master key", profile, master_key.len(), profile.key_len())?;
        check_len(
            "master salt",
            profile,
            master_salt.len(),
            profile.salt_len(),
        )?;
        let d = |label, n| {
            let mut v = vec![0u8; n];
            if kdf::derive(master_key, master_salt, label, &mut v) {
                Ok(v)
            } else {
                Err(Error::Config("key derivation rejected the master key"))
            }
        };
        let (k, s) = (profile.key_len(), profile.salt_len());
        let a = match profile.transform() {
            Transform::CmHmac => 20,
            Transform::Gcm => 0,
        };
        Ok(SessionKeys {
            rtp_key: d(Label::SrtpEncryption, k)?,
            rtp_salt: d(Label::SrtpSalt, s)?,
            rtp_auth_key: d(Label::SrtpAuth, a)?,
            rtcp_key: d(Label::SrtcpEncryption, k)?,
            rtcp_salt: d(Label::SrtcpSalt, s)?,
            rtcp_auth_key: d(Label::SrtcpAuth, a)?,
        })
    }
}

fn check_len(
    what: &'static str,
    profile: ProtectionProfile,
    len: usize,
    need: usize,
) -> Result<(), Error> {
    if len == need {
        Ok(())
    } else {
        Err(Error::KeyLength {
            what,
            profile: profile.name(),
            len,
            need,
        })
    }
}

#[inline]
fn be_u16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

#[inline]
fn be_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

/// The SRTP/SRTCP crypto context of one direction (what we send, or what one peer sends
/// us): one master key, any number of SSRCs up to [`Config::max_streams`].
///
/// Protect and unprotect work in place on a [`BytesMut`](bytes::BytesMut): protect appends
/// the MKI and tag (reserve `max_overhead()` bytes of spare capacity to keep it
/// allocation-free), unprotect truncates them. On any error the buffer is left exactly as it was.
pub struct Context {
    profile: ProtectionProfile,
    config: Config,
    rtp: Session,
    rtcp: Session,
    streams: StreamMap,
    srtp_packets: u64,
    srtcp_packets: u64,
    /// Where AES-GCM writes the plaintext until the tag is verified: the backends
    /// overwrite their output when it does not match, and we promise to leave the
    /// caller's buffer untouched.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("profile", &self.profile)
            .field("streams", &self.streams.len())
            .field("srtp_packets", &self.srtp_packets)
            .field("srtcp_packets", &self.srtcp_packets)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context for `profile` keyed with a master key and salt (RFC 3711 §4.3, KDR 0).
    pub fn new(
        profile: ProtectionProfile,
        master_key: &[u8],
        master_salt: &[u8],
        config: Config,
    ) -> Result<Self, Error> {
        let keys = SessionKeys::derive(profile, master_key, master_salt)?;
        Self::with_session_keys(profile, &keys, config)
    }

    /// A context from session keys given directly (no key derivation).
    pub fn with_session_keys(
        profile: ProtectionProfile,
        keys: &SessionKeys,
        config: Config,
    ) -> Result<Self, Error> {
        if config.replay_window == 0 || config.rtcp_replay_window == 0 {
            return Err(Error::Config("replay window must be at least 1 packet"));
        }
        if config.replay_window > 1 << 20 || config.rtcp_replay_window > 1 << 20 {
            return Err(Error::Config("replay window above 2^20 packets"));
        }
        if config
            .mki
            .as_ref()
            .is_some_and(|m| m.is_empty() || m.len() > 255)
        {
            return Err(Error::Config("MKI must be 1 to 255 bytes"));
        }
        let build = |key: &[u8], salt: &[u8], auth: &[u8]| -> Result<Session, Error> {
            match profile.transform() {
                Transform::CmHmac => {
                    if profile.encrypts() {
                        check_len("session key", profile, key.len(), profile.key_len())?;
                    }
                    check_len("session salt", profile, salt.len(), 14)?;
                    let enc = profile.encrypts().then_some(key);
                    CmSession::new(enc, salt, auth)
                        .map(Session::Cm)
                        .ok_or(Error::Config("AES-CM session keys rejected"))
                }
                Transform::Gcm => {
                    check_len("session key", profile, key.len(), profile.key_len())?;
                    check_len("session salt", profile, salt.len(), 12)?;
                    GcmSession::new(key, salt)
                        .map(Session::Gcm)
                        .ok_or(Error::Config("AES-GCM session keys rejected"))
                }
            }
        };
        Ok(Context {
            profile,
            rtp: build(&keys.rtp_key, &keys.rtp_salt, &keys.rtp_auth_key)?,
            rtcp: build(&keys.rtcp_key, &keys.rtcp_salt, &keys.rtcp_auth_key)?,
            streams: StreamMap::default(),
            srtp_packets: 0,
            srtcp_packets: 0,
            scratch: Vec::with_capacity(1500),
            config,
        })
    }

    /// The protection profile.
    pub fn profile(&self) -> ProtectionProfile {
        self.profile
    }

    /// The most bytes protect appends to a packet (MKI + tag, + SRTCP index).
    pub fn max_overhead(&self) -> usize {
        self.mki_len() + 4 + self.profile.rtp_tag_len().max(self.profile.rtcp_tag_len())
    }

    /// Number of SSRCs with state.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The rollover counter of an SSRC's SRTP stream, if known.
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        let s = self.streams.get(&ssrc)?;
        Some(match s.rtp.highest() {
            Some(h) => (h >> 16) as u32,
            None => s.initial_roc,
        })
    }

    /// Sets the ROC to assume for an SSRC before its first packet (e.g. signalled when
    /// joining a stream late). Fails if packets of the stream were already seen.
    pub fn set_roc(&mut self, ssrc: u32, roc: u32) -> Result<(), Error> {
        let limit = self.config.max_streams;
        if !self.streams.contains_key(&ssrc) && self.streams.len() >= limit {
            return Err(Error::TooManyStreams {
                kind: SRTP,
                ssrc,
                limit,
            });
        }
        let config = &self.config;
        let s = self
            .streams
            .entry(ssrc)
            .or_insert_with(|| Stream::new(config));
        if s.rtp.highest().is_some() {
            return Err(Error::Config("ROC can only be set before the first packet"));
        }
        s.initial_roc = roc;
        Ok(())
    }

    /// Sets the last SRTCP index sent for an SSRC, so the next protected SRTCP packet
    /// carries `last + 1` (e.g. to continue a stream's numbering).
    pub fn set_srtcp_index(&mut self, ssrc: u32, last: u32) -> Result<(), Error> {
        if last > MAX_SRTCP_INDEX {
            return Err(Error::Config("SRTCP index is 31 bits"));
        }
        self.stream_for_send(SRTCP, ssrc)?.rtcp_sent = last;
        Ok(())
    }

    /// Forgets an SSRC's state (e.g. after RTCP BYE).
    pub fn remove_stream(&mut self, ssrc: u32) {
        self.streams.remove(&ssrc);
    }

    fn mki_len(&self) -> usize {
        self.config.mki.as_ref().map_or(0, Vec::len)
    }

    fn check_mki(&self, kind: PacketKind, got: &[u8]) -> Result<(), Error> {
        match &self.config.mki {
            Some(m) if m.as_slice() != got => Err(Error::MkiMismatch { kind }),
            _ => Ok(()),
        }
    }

    fn stream_for_send(&mut self, kind: PacketKind, ssrc: u32) -> Result<&mut Stream, Error> {
        let limit = self.config.max_streams;
        // Only at the limit does a second lookup happen: one hash probe per packet otherwise.
        if self.streams.len() >= limit && !self.streams.contains_key(&ssrc) {
            return Err(Error::TooManyStreams { kind, ssrc, limit });
        }
        let config = &self.config;
        Ok(self
            .streams
            .entry(ssrc)
            .or_insert_with(|| Stream::new(config)))
    }
}
