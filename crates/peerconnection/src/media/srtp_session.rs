//! The SRTP/SRTCP session of one BUNDLE transport: two ferrtc-srtp contexts keyed from the
//! DTLS-SRTP keying material (RFC 5764 §4.2: the DTLS client protects what it sends with the
//! client write key and salt, the server with the server ones), and the counted reasons a
//! protected datagram was dropped.

use bytes::{Bytes, BytesMut};
use ferrtc_dtls::{Role as DtlsRole, SrtpKeyingMaterial};
use ferrtc_srtp::{Context, ProtectionProfile};

use crate::Error;

/// Why an incoming RTP or RTCP datagram was dropped. Every drop is counted; none disturbs
/// another stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaDrops {
    /// RTP/RTCP before SRTP was keyed (DTLS not connected yet).
    pub not_keyed: u64,
    /// Authentication tag mismatch (forged, corrupted, wrong key).
    pub auth_failed: u64,
    /// Replayed (index already seen or too old for the window).
    pub replayed: u64,
    /// Other SRTP/SRTCP refusals (too short, bad version, too many streams, key exhausted).
    pub srtp_other: u64,
    /// Decrypted, but not a valid RTP packet / RTCP compound.
    pub malformed: u64,
    /// RTP the router could not place (unknown SSRC / MID / payload type; details in the
    /// router's own counters).
    pub unrouted: u64,
    /// RTP for a transceiver that does not receive, or whose stream table is full.
    pub refused: u64,
    /// RTX packets that could not be unwrapped (no original stream known, too short).
    pub bad_rtx: u64,
    /// Events dropped because the application did not poll them (oldest first).
    pub events_lost: u64,
    /// Datagrams dropped because the transmit queue was full.
    pub transmits_lost: u64,
}

/// The two SRTP contexts of a connection.
pub struct SrtpSession {
    /// Protects what we send.
    pub(crate) tx: Context,
    /// Unprotects what the peer sends.
    pub(crate) rx: Context,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSession")
            .field("profile", &self.tx.profile())
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    /// Keys both directions for our DTLS `role` (RFC 5764 §4.2).
    pub fn new(
        keying: &SrtpKeyingMaterial,
        role: DtlsRole,
        config: &ferrtc_srtp::Config,
    ) -> Result<Self, Error> {
        let profile = ProtectionProfile::from_dtls_id(keying.profile.id())
            .ok_or_else(|| Error::Dtls(format!("SRTP profile {} not supported", keying.profile)))?;
        let client = (&keying.client_key, &keying.client_salt);
        let server = (&keying.server_key, &keying.server_salt);
        let (local, remote) = match role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        let ctx = |(key, salt): (&Vec<u8>, &Vec<u8>)| {
            Context::new(profile, key, salt, config.clone())
                .map_err(|e| Error::Dtls(format!("SRTP keying: {e}")))
        };
        Ok(Self {
            tx: ctx(local)?,
            rx: ctx(remote)?,
        })
    }

    /// The negotiated profile.
    pub fn profile(&self) -> ProtectionProfile {
        self.tx.profile()
    }

    /// Bytes protect adds at most (tag, MKI, SRTCP index).
    pub fn overhead(&self) -> usize {
        self.tx.max_overhead()
    }

    /// Bytes protect adds to an RTP packet: the SRTP tag and the MKI (no SRTCP index).
    pub fn rtp_overhead(&self, mki_len: usize) -> usize {
        self.tx.profile().rtp_tag_len().saturating_add(mki_len)
    }

    /// Unprotects an SRTP or SRTCP datagram, counting the reason when it fails.
    pub fn unprotect(&mut self, data: Bytes, rtcp: bool, drops: &mut MediaDrops) -> Option<Bytes> {
        // Zero-copy when the datagram's buffer is not shared; otherwise one copy.
        let mut buf = data
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        let r = if rtcp {
            self.rx.unprotect_rtcp(&mut buf)
        } else {
            self.rx.unprotect_rtp(&mut buf)
        };
        match r {
            Ok(()) => Some(buf.freeze()),
            Err(e) => {
                let counter = match e {
                    ferrtc_srtp::Error::AuthFailed { .. } => &mut drops.auth_failed,
                    ferrtc_srtp::Error::Replay { .. } => &mut drops.replayed,
                    _ => &mut drops.srtp_other,
                };
                *counter = counter.saturating_add(1);
                tracing::trace!(error = %e, rtcp, "media: SRTP drop");
                None
            }
        }
    }
}

/// RFC 5761 §4: on a muxed port, a packet whose second octet (marker bit masked off) is 64–95
/// is RTCP (packet types 192–223), everything else is RTP.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram
        .get(1)
        .is_some_and(|b| (64..=95).contains(&(b & 0x7f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_rtcp_split() {
        // SR (200), RR (201), SDES (202), PSFB (206) are RTCP.
        for pt in [200u8, 201, 202, 206, 192, 223] {
            assert!(is_rtcp(&[0x80, pt]), "{pt}");
        }
        // RTP payload types 96, 111 and 0, with and without the marker.
        for b in [96u8, 111, 0, 0x80 | 96, 0x80 | 111, 63, 0x80 | 63] {
            assert!(!is_rtcp(&[0x80, b]), "{b}");
        }
        assert!(!is_rtcp(&[0x80]));
    }
}
