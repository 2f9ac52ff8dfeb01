//! Per-SSRC stream state (RFC 3711 §3.2.3: the rollover counter, the replay lists and,
//! for SRTCP, the index) and the two checks every packet makes against it: where its
//! index falls (§3.3.1) and whether it is a replay (§3.3.2).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Config;
use crate::error::{Error, PacketKind};
use crate::replay::{Check, ReplayWindow};

/// A fast hasher for SSRC keys: SSRCs are random 32-bit values already, one multiply
/// spreads them; SipHash would cost more than the rest of a small packet's bookkeeping.
#[derive(Default, Debug, Clone, Copy)]
pub(super) struct SsrcHasher(u64);

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

pub(super) type StreamMap = HashMap<u32, Stream, BuildHasherDefault<SsrcHasher>>;

/// Per-SSRC state.
#[derive(Debug)]
pub(super) struct Stream {
    /// SRTP replay window; its highest index is s_l and ROC (RFC 3711 §3.3.1).
    pub(super) rtp: ReplayWindow,
    /// ROC to assume before the first packet (0 unless signalled).
    pub(super) initial_roc: u32,
    /// SRTCP replay window over the 31-bit index.
    pub(super) rtcp: ReplayWindow,
    /// Last SRTCP index sent (outbound), 0 before the first.
    pub(super) rtcp_sent: u32,
}

impl Stream {
    pub(super) fn new(config: &Config) -> Self {
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
pub(super) fn estimate_index(highest: Option<u64>, initial_roc: u32, seq: u16) -> Option<u64> {
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

/// The SRTP packet index of `seq` (RFC 3711 §3.3.1), given the stream's highest index,
/// initial ROC and replay window size (for the error). Refused when it would pass 2^48
/// (the most a master key may protect, §9.2) or fall before ROC 0.
#[inline]
pub(super) fn srtp_index(
    ssrc: u32,
    seq: u16,
    highest: Option<u64>,
    initial_roc: u32,
    window: u64,
) -> Result<u64, Error> {
    match estimate_index(highest, initial_roc, seq) {
        Some(i) if i >> 48 == 0 => Ok(i),
        Some(_) => Err(Error::KeyExhausted {
            kind: PacketKind::Srtp,
            packets: 1 << 48,
        }),
        None => Err(Error::TooOld {
            kind: PacketKind::Srtp,
            ssrc,
            index: u64::from(seq),
            highest: highest.unwrap_or(0),
            window,
        }),
    }
}

/// The replay check of RFC 3711 §3.3.2 as an error: a replayed index (unless
/// `allow_repeat`, libsrtp's `allow_repeat_tx` for the sender) or one behind the window.
#[inline]
pub(super) fn check_replay(
    kind: PacketKind,
    ssrc: u32,
    window: &ReplayWindow,
    index: u64,
    allow_repeat: bool,
) -> Result<(), Error> {
    match window.check(index) {
        Check::Fresh => Ok(()),
        Check::Replay if allow_repeat => Ok(()),
        Check::Replay => Err(Error::Replay { kind, ssrc, index }),
        Check::TooOld => Err(Error::TooOld {
            kind,
            ssrc,
            index,
            highest: window.highest().unwrap_or(0),
            window: window.size(),
        }),
    }
}

/// Refuses another packet once the master key has protected or unprotected `max`
/// packets of this kind (RFC 3711 §9.2).
#[inline]
pub(super) fn check_key_budget(kind: PacketKind, used: u64, max: u64) -> Result<(), Error> {
    if used >= max {
        Err(Error::KeyExhausted {
            kind,
            packets: used,
        })
    } else {
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
}
