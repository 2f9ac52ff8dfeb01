//! An SRTP/SRTCP crypto context for one direction: session keys, and per-SSRC stream
//! state (rollover counter, replay windows, SRTCP index) created on first use.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bytes::{BufMut, BytesMut};

use crate::cipher::{CmSession, GcmSession, Session};
use crate::error::{Error, PacketKind};
use crate::kdf::{self, Label};
use crate::profile::{ProtectionProfile, Transform};
use crate::replay::{Check, ReplayWindow};

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

/// A fast hasher for SSRC keys: SSRCs are random 32-bit values already, one multiply
/// spreads them; SipHash would cost more than the rest of a small packet's bookkeeping.
#[derive(Default, Debug, Clone, Copy)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (u64::from(i) ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type StreamMap = HashMap<u32, Stream, BuildHasherDefault<SsrcHasher>>;

/// Per-SSRC state.
#[derive(Debug)]
struct Stream {
    /// SRTP replay window; its highest index is s_l and ROC (RFC 3711 §3.3.1).
    rtp: ReplayWindow,
    /// ROC to assume before the first packet (0 unless signalled).
    initial_roc: u32,
    /// SRTCP replay window over the 31-bit index.
    rtcp: ReplayWindow,
    /// Last SRTCP index sent (outbound), 0 before the first.
    rtcp_sent: u32,
}

impl Stream {
    fn new(config: &Config) -> Self {
        Stream {
            rtp: ReplayWindow::new(config.replay_window),
            initial_roc: 0,
            rtcp: ReplayWindow::new(config.rtcp_replay_window),
            rtcp_sent: 0,
        }
    }
}

/// Estimates the 48-bit packet index i = 2^16 * v + SEQ of a packet with sequence number
/// `seq`, given the highest index seen (RFC 3711 §3.3.1 and Appendix A). Returns `None`
/// when the estimate would be before ROC 0 (a packet "from before the start").
#[inline]
fn estimate_index(highest: Option<u64>, initial_roc: u32, seq: u16) -> Option<u64> {
    let Some(h) = highest else {
        return Some((u64::from(initial_roc) << 16) | u64::from(seq));
    };
    let roc = h >> 16;
    let s_l = h as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    Some((v << 16) | u64::from(seq))
}

/// Length of the RTP header including CSRCs and the header extension (RFC 3550 §5.1,
/// §5.3.1), checked against `packet`. SRTP leaves exactly this part unencrypted.
#[inline]
fn rtp_header_len(packet: &[u8]) -> Result<usize, Error> {
    let short = |what, need| Error::TooShort {
        kind: SRTP,
        what,
        len: packet.len(),
        need,
    };
    let Some(&b0) = packet.first() else {
        return Err(short("RTP fixed header", 12));
    };
    if packet.len() < 12 {
        return Err(short("RTP fixed header", 12));
    }
    if b0 >> 6 != 2 {
        return Err(Error::BadVersion {
            kind: SRTP,
            version: b0 >> 6,
        });
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let ext = packet
            .get(len..len + 4)
            .ok_or(short("RTP header extension header", len + 4))?;
        let words = usize::from(u16::from_be_bytes([
            ext.get(2).copied().unwrap_or(0),
            ext.get(3).copied().unwrap_or(0),
        ]));
        len += 4 + 4 * words;
    }
    if packet.len() < len {
        return Err(short("RTP header with CSRCs and extension", len));
    }
    Ok(len)
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

fn check_rtcp_header(packet: &[u8], need: usize) -> Result<(), Error> {
    if packet.len() < need {
        return Err(Error::TooShort {
            kind: SRTCP,
            what: "SRTCP header, index and tag",
            len: packet.len(),
            need,
        });
    }
    let v = packet.first().map_or(0, |b| b >> 6);
    if v != 2 {
        return Err(Error::BadVersion {
            kind: SRTCP,
            version: v,
        });
    }
    Ok(())
}

/// The SRTP/SRTCP crypto context of one direction (what we send, or what one peer sends
/// us): one master key, any number of SSRCs up to [`Config::max_streams`].
///
/// Protect and unprotect work in place on a [`BytesMut`]: protect appends the MKI and tag
/// (reserve `max_overhead()` bytes of spare capacity to keep it allocation-free),
/// unprotect truncates them. On any error the buffer is left exactly as it was.
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

    /// Protects an RTP packet in place: encrypts the payload and appends MKI and tag.
    pub fn protect_rtp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let hlen = rtp_header_len(buf)?;
        let seq = be_u16(buf, 2);
        let ssrc = be_u32(buf, 8);
        if self.srtp_packets >= self.config.max_srtp_packets {
            return Err(Error::KeyExhausted {
                kind: SRTP,
                packets: self.srtp_packets,
            });
        }
        let allow_repeat = self.config.allow_repeat_tx;
        let stream = self.stream_for_send(SRTP, ssrc)?;
        let index = match estimate_index(stream.rtp.highest(), stream.initial_roc, seq) {
            Some(i) if i >> 48 == 0 => i,
            Some(_) => {
                return Err(Error::KeyExhausted {
                    kind: SRTP,
                    packets: 1 << 48,
                })
            }
            None => {
                return Err(Error::TooOld {
                    kind: SRTP,
                    ssrc,
                    index: u64::from(seq),
                    highest: stream.rtp.highest().unwrap_or(0),
                    window: stream.rtp.size(),
                })
            }
        };
        match stream.rtp.check(index) {
            Check::Fresh => {}
            Check::Replay if allow_repeat => {}
            Check::Replay => {
                return Err(Error::Replay {
                    kind: SRTP,
                    ssrc,
                    index,
                })
            }
            Check::TooOld => {
                return Err(Error::TooOld {
                    kind: SRTP,
                    ssrc,
                    index,
                    highest: stream.rtp.highest().unwrap_or(0),
                    window: stream.rtp.size(),
                })
            }
        }
        stream.rtp.accept(index);
        let roc = ((index >> 16) as u32).to_be_bytes();
        let tag_len = self.profile.rtp_tag_len();
        buf.reserve(self.mki_len() + tag_len);
        match &self.rtp {
            Session::Cm(s) => {
                if let Some(payload) = buf.get_mut(hlen..) {
                    s.apply_keystream(ssrc, index, payload);
                }
                let tag = s.tag(buf, &roc);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
                buf.extend_from_slice(tag.get(..tag_len).unwrap_or(&tag));
            }
            Session::Gcm(s) => {
                let (hdr, payload) = buf.split_at_mut(hlen);
                let tag = s.seal(SRTP, ssrc, index, hdr, payload)?;
                buf.extend_from_slice(&tag);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
            }
        }
        self.srtp_packets += 1;
        Ok(())
    }

    /// Authenticates and decrypts an SRTP packet in place, stripping MKI and tag. The
    /// tag is verified before anything is written; on error `buf` is unchanged.
    pub fn unprotect_rtp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let tag_len = self.profile.rtp_tag_len();
        let mki_len = self.mki_len();
        let len = buf.len();
        let need = 12 + tag_len + mki_len;
        if len < need {
            return Err(Error::TooShort {
                kind: SRTP,
                what: "SRTP header, MKI and tag",
                len,
                need,
            });
        }
        // Where the authenticated portion ends and where the plaintext will end.
        let (auth_end, plain_end, mki_at) = match self.rtp {
            Session::Cm(_) => (
                len - tag_len - mki_len,
                len - tag_len - mki_len,
                len - tag_len - mki_len,
            ),
            Session::Gcm(_) => (len - mki_len, len - mki_len - tag_len, len - mki_len),
        };
        let packet = buf.get(..plain_end).unwrap_or_default();
        let hlen = rtp_header_len(packet)?;
        let seq = be_u16(buf, 2);
        let ssrc = be_u32(buf, 8);
        self.check_mki(SRTP, buf.get(mki_at..mki_at + mki_len).unwrap_or_default())?;
        if self.srtp_packets >= self.config.max_srtp_packets {
            return Err(Error::KeyExhausted {
                kind: SRTP,
                packets: self.srtp_packets,
            });
        }
        let limit = self.config.max_streams;
        // One hash probe per packet: the stream's state is updated through this borrow after
        // the tag checks (the map is not touched in between).
        let at_limit = self.streams.len() >= limit;
        let stream = self.streams.get_mut(&ssrc);
        if stream.is_none() && at_limit {
            return Err(Error::TooManyStreams {
                kind: SRTP,
                ssrc,
                limit,
            });
        }
        let (highest, initial_roc, window) = match stream.as_deref() {
            Some(s) => (s.rtp.highest(), s.initial_roc, s.rtp.size()),
            None => (None, 0, 0),
        };
        let too_old = |index| Error::TooOld {
            kind: SRTP,
            ssrc,
            index,
            highest: highest.unwrap_or(0),
            window,
        };
        let index = match estimate_index(highest, initial_roc, seq) {
            Some(i) if i >> 48 == 0 => i,
            Some(_) => {
                return Err(Error::KeyExhausted {
                    kind: SRTP,
                    packets: 1 << 48,
                })
            }
            None => return Err(too_old(u64::from(seq))),
        };
        if let Some(s) = stream.as_deref() {
            match s.rtp.check(index) {
                Check::Fresh => {}
                Check::Replay => {
                    return Err(Error::Replay {
                        kind: SRTP,
                        ssrc,
                        index,
                    })
                }
                Check::TooOld => return Err(too_old(index)),
            }
        }
        let roc = ((index >> 16) as u32).to_be_bytes();
        let auth_failed = Error::AuthFailed {
            kind: SRTP,
            ssrc,
            index,
        };
        match &self.rtp {
            Session::Cm(s) => {
                let (authed, rest) = buf.split_at_mut(auth_end);
                let tag = rest.get(mki_len..).unwrap_or_default();
                if !s.verify(authed, &roc, tag) {
                    return Err(auth_failed);
                }
                if let Some(payload) = authed.get_mut(hlen..) {
                    s.apply_keystream(ssrc, index, payload);
                }
            }
            Session::Gcm(s) => {
                let (hdr, rest) = buf.split_at_mut(hlen);
                let (ct, rest) = rest.split_at_mut(plain_end - hlen);
                let tag = rest.get(..tag_len).unwrap_or_default();
                if !s.open(ssrc, index, hdr, ct, tag, &mut self.scratch) {
                    return Err(auth_failed);
                }
            }
        }
        buf.truncate(plain_end);
        match stream {
            Some(s) => s.rtp.accept(index),
            None => {
                let mut s = Stream::new(&self.config);
                s.rtp.accept(index);
                self.streams.insert(ssrc, s);
            }
        }
        self.srtp_packets += 1;
        Ok(())
    }

    /// Protects an RTCP packet (compound) in place: encrypts after the first 8 bytes and
    /// appends the E flag and SRTCP index, MKI and tag (RFC 3711 §3.4, RFC 7714 §9).
    pub fn protect_rtcp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        check_rtcp_header(buf, 8)?;
        let ssrc = be_u32(buf, 4);
        if self.srtcp_packets >= self.config.max_srtcp_packets {
            return Err(Error::KeyExhausted {
                kind: SRTCP,
                packets: self.srtcp_packets,
            });
        }
        let stream = self.stream_for_send(SRTCP, ssrc)?;
        if stream.rtcp_sent >= MAX_SRTCP_INDEX {
            return Err(Error::KeyExhausted {
                kind: SRTCP,
                packets: u64::from(MAX_SRTCP_INDEX),
            });
        }
        // libsrtp numbers the first SRTCP packet 1; we do the same so outputs match.
        stream.rtcp_sent += 1;
        let index = stream.rtcp_sent;
        let encrypt = self.profile.encrypts();
        let word = if encrypt { E_FLAG | index } else { index };
        let tag_len = self.profile.rtcp_tag_len();
        buf.reserve(4 + self.mki_len() + tag_len);
        match &self.rtcp {
            Session::Cm(s) => {
                if encrypt {
                    if let Some(body) = buf.get_mut(8..) {
                        s.apply_keystream(ssrc, u64::from(index), body);
                    }
                }
                buf.put_u32(word);
                let tag = s.tag(buf, &[]);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
                buf.extend_from_slice(tag.get(..tag_len).unwrap_or(&tag));
            }
            Session::Gcm(s) => {
                let mut aad = [0u8; 12];
                if let (Some(a), Some(h)) = (aad.get_mut(..8), buf.get(..8)) {
                    a.copy_from_slice(h);
                }
                if let Some(a) = aad.get_mut(8..) {
                    a.copy_from_slice(&word.to_be_bytes());
                }
                let body = buf.get_mut(8..).unwrap_or_default();
                let tag = s.seal(SRTCP, ssrc, u64::from(index), &aad, body)?;
                buf.extend_from_slice(&tag);
                buf.put_u32(word);
                if let Some(m) = &self.config.mki {
                    buf.extend_from_slice(m);
                }
            }
        }
        self.srtcp_packets += 1;
        Ok(())
    }

    /// Authenticates and (if the E flag is set) decrypts an SRTCP packet in place,
    /// stripping index, MKI and tag. On error `buf` is unchanged.
    pub fn unprotect_rtcp(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        let tag_len = self.profile.rtcp_tag_len();
        let mki_len = self.mki_len();
        let len = buf.len();
        check_rtcp_header(buf, 8 + 4 + tag_len + mki_len)?;
        let ssrc = be_u32(buf, 4);
        // Layouts: AES-CM: header | body | E+index | MKI | tag
        //          GCM:    header | body | tag | E+index | MKI
        let (word_at, mki_at, tag_at, plain_end) = match self.rtcp {
            Session::Cm(_) => {
                let tag_at = len - tag_len;
                let mki_at = tag_at - mki_len;
                (mki_at - 4, mki_at, tag_at, mki_at - 4)
            }
            Session::Gcm(_) => {
                let mki_at = len - mki_len;
                let word_at = mki_at - 4;
                (word_at, mki_at, word_at - tag_len, word_at - tag_len)
            }
        };
        let word = be_u32(buf, word_at);
        let encrypted = word & E_FLAG != 0;
        let index = word & MAX_SRTCP_INDEX;
        self.check_mki(SRTCP, buf.get(mki_at..mki_at + mki_len).unwrap_or_default())?;
        if self.srtcp_packets >= self.config.max_srtcp_packets {
            return Err(Error::KeyExhausted {
                kind: SRTCP,
                packets: self.srtcp_packets,
            });
        }
        let limit = self.config.max_streams;
        let stream = self.streams.get(&ssrc);
        if stream.is_none() && self.streams.len() >= limit {
            return Err(Error::TooManyStreams {
                kind: SRTCP,
                ssrc,
                limit,
            });
        }
        if let Some(s) = stream {
            match s.rtcp.check(u64::from(index)) {
                Check::Fresh => {}
                Check::Replay => {
                    return Err(Error::Replay {
                        kind: SRTCP,
                        ssrc,
                        index: u64::from(index),
                    })
                }
                Check::TooOld => {
                    return Err(Error::TooOld {
                        kind: SRTCP,
                        ssrc,
                        index: u64::from(index),
                        highest: s.rtcp.highest().unwrap_or(0),
                        window: s.rtcp.size(),
                    })
                }
            }
        }
        let auth_failed = Error::AuthFailed {
            kind: SRTCP,
            ssrc,
            index: u64::from(index),
        };
        match &self.rtcp {
            Session::Cm(s) => {
                let (authed, rest) = buf.split_at_mut(mki_at);
                let tag = rest.get(tag_at - mki_at..).unwrap_or_default();
                if !s.verify(authed, &[], tag) {
                    return Err(auth_failed);
                }
                if encrypted {
                    if let Some(body) = authed.get_mut(8..plain_end) {
                        s.apply_keystream(ssrc, u64::from(index), body);
                    }
                }
            }
            Session::Gcm(s) => {
                let (head, rest) = buf.split_at_mut(tag_at);
                let tag = rest.get(..tag_len).unwrap_or_default();
                if encrypted {
                    let mut aad = [0u8; 12];
                    if let (Some(a), Some(h)) = (aad.get_mut(..8), head.get(..8)) {
                        a.copy_from_slice(h);
                    }
                    if let Some(a) = aad.get_mut(8..) {
                        a.copy_from_slice(&word.to_be_bytes());
                    }
                    let body = head.get_mut(8..).unwrap_or_default();
                    if !s.open(ssrc, u64::from(index), &aad, body, tag, &mut self.scratch) {
                        return Err(auth_failed);
                    }
                } else {
                    // Unencrypted: the whole packet and the index word are the AAD
                    // (RFC 7714 §9.2), which are not contiguous on the wire.
                    self.scratch.clear();
                    self.scratch.extend_from_slice(head);
                    self.scratch.extend_from_slice(&word.to_be_bytes());
                    if !s.open(
                        ssrc,
                        u64::from(index),
                        &self.scratch,
                        &mut [],
                        tag,
                        &mut Vec::new(),
                    ) {
                        return Err(auth_failed);
                    }
                }
            }
        }
        buf.truncate(plain_end);
        let config = &self.config;
        self.streams
            .entry(ssrc)
            .or_insert_with(|| Stream::new(config))
            .rtcp
            .accept(u64::from(index));
        self.srtcp_packets += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_estimation() {
        // Appendix A cases
        assert_eq!(estimate_index(None, 0, 5), Some(5));
        assert_eq!(estimate_index(None, 3, 5), Some(3 << 16 | 5));
        assert_eq!(estimate_index(Some(65535), 0, 0), Some(1 << 16));
        assert_eq!(estimate_index(Some(1 << 16), 0, 65535), Some(65535));
        assert_eq!(estimate_index(Some(100), 0, 65000), None);
        assert_eq!(estimate_index(Some(40000), 0, 10000), Some(10000));
        assert_eq!(estimate_index(Some(40000), 0, 100), Some(1 << 16 | 100));
        assert_eq!(estimate_index(Some(40000), 0, 7000), Some(1 << 16 | 7000));
        assert_eq!(
            estimate_index(Some(5 << 16 | 10), 0, 60000),
            Some(4 << 16 | 60000)
        );
    }

    #[test]
    fn header_len() {
        let mut p = vec![0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(rtp_header_len(&p), Ok(12));
        p[0] = 0x82; // 2 CSRCs
        assert!(rtp_header_len(&p).is_err());
        p.extend_from_slice(&[0; 8]);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x90;
        assert_eq!(rtp_header_len(&p), Ok(16));
        p[15] = 5; // extension of 5 words does not fit
        assert!(rtp_header_len(&p).is_err());
        p.truncate(12);
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x40;
        assert!(matches!(rtp_header_len(&p), Err(Error::BadVersion { .. })));
    }
}
