//! profile-level-id (RFC 6184 §8.1) and the offer/answer rules of RFC 6184 §8.2.2, for the
//! peer connection to match H.264 formats.

use crate::Error;

/// H.264 profiles as the offer/answer matching sees them (profile_idc plus the constraint
/// flags of profile-iop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum H264Profile {
    /// Constrained Baseline (42 with constraint_set1, 4D with set0, 58 with set0+set1).
    ConstrainedBaseline,
    /// Baseline.
    Baseline,
    /// Main.
    Main,
    /// Extended.
    Extended,
    /// High.
    High,
    /// Constrained High (64 with constraint_set4 and set5).
    ConstrainedHigh,
    /// High 10.
    High10,
    /// High 4:2:2.
    High422,
    /// High 4:4:4 Predictive.
    High444,
}

/// The `profile-level-id` parameter (RFC 6184 §8.1): profile_idc, profile-iop, level_idc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileLevelId {
    /// profile_idc.
    pub profile_idc: u8,
    /// profile-iop: constraint_set0..5 flags and two reserved zero bits.
    pub profile_iop: u8,
    /// level_idc.
    pub level_idc: u8,
}

impl Default for ProfileLevelId {
    /// RFC 6184 §8.1: without profile-level-id, Baseline at level 1 (`42000a`).
    fn default() -> Self {
        Self {
            profile_idc: 0x42,
            profile_iop: 0,
            level_idc: 10,
        }
    }
}

impl std::str::FromStr for ProfileLevelId {
    type Err = Error;

    /// Six hex digits.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = Error::Invalid {
            what: "profile-level-id",
            offset: 0,
            reason: "must be six hex digits",
        };
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad);
        }
        let v = u32::from_str_radix(s, 16).map_err(|_| bad)?;
        let [_, p, i, l] = v.to_be_bytes();
        Ok(Self {
            profile_idc: p,
            profile_iop: i,
            level_idc: l,
        })
    }
}

impl std::fmt::Display for ProfileLevelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.profile_iop, self.level_idc
        )
    }
}

impl ProfileLevelId {
    /// The profile, from profile_idc and the constraint flags (H.264 Annex A); `None` for
    /// combinations no WebRTC profile uses.
    pub fn profile(&self) -> Option<H264Profile> {
        // (profile_idc, mask, value): the flags under `mask` must equal `value`; reserved bits
        // (the low two) must be zero. The order matters: constrained forms first.
        const TABLE: [(u8, u8, u8, H264Profile); 11] = [
            (0x42, 0x4f, 0x40, H264Profile::ConstrainedBaseline),
            (0x4d, 0x8f, 0x80, H264Profile::ConstrainedBaseline),
            (0x58, 0xcf, 0xc0, H264Profile::ConstrainedBaseline),
            (0x42, 0x4f, 0x00, H264Profile::Baseline),
            (0x58, 0xcf, 0x80, H264Profile::Baseline),
            (0x58, 0xcf, 0x00, H264Profile::Extended),
            (0x4d, 0xaf, 0x00, H264Profile::Main),
            (0x64, 0xff, 0x00, H264Profile::High),
            (0x64, 0xff, 0x0c, H264Profile::ConstrainedHigh),
            (0x6e, 0xff, 0x00, H264Profile::High10),
            (0xf4, 0xff, 0x00, H264Profile::High444),
        ];
        if self.profile_idc == 0x7a && self.profile_iop == 0 {
            return Some(H264Profile::High422);
        }
        TABLE
            .iter()
            .find(|(p, mask, value, _)| *p == self.profile_idc && self.profile_iop & mask == *value)
            .map(|t| t.3)
    }

    /// The level as an ordinal where level 1b sits between 1.0 and 1.1 (RFC 6184 §8.2.2:
    /// level_idc 11 with constraint_set3 for profiles 66/77/88, or level_idc 9).
    pub fn level_ordinal(&self) -> u16 {
        let is_1b = self.level_idc == 9
            || (self.level_idc == 11
                && matches!(self.profile_idc, 66 | 77 | 88)
                && self.profile_iop & 0x10 != 0);
        if is_1b {
            21
        } else {
            u16::from(self.level_idc) * 2
        }
    }

    /// The same profile with the level of `other` (level 1b carried over correctly).
    pub fn with_level_of(mut self, other: &ProfileLevelId) -> Self {
        let other_1b = other.level_ordinal() == 21;
        let baseline_family = matches!(self.profile_idc, 66 | 77 | 88);
        if baseline_family {
            self.profile_iop &= !0x10;
        }
        if other_1b {
            if baseline_family {
                self.level_idc = 11;
                self.profile_iop |= 0x10;
            } else {
                self.level_idc = 9;
            }
        } else {
            self.level_idc = other.level_idc;
        }
        self
    }
}

/// The H.264 format parameters that matter for matching (RFC 6184 §8.1, §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct H264Fmtp {
    /// profile-level-id (default `42000a`).
    pub profile_level_id: ProfileLevelId,
    /// packetization-mode (default 0).
    pub packetization_mode: u8,
    /// level-asymmetry-allowed (default false).
    pub level_asymmetry_allowed: bool,
}

impl H264Fmtp {
    /// Reads an `a=fmtp` parameter string (`key=value;key=value`); unknown keys are ignored,
    /// a malformed profile-level-id or packetization-mode is an error.
    pub fn parse(params: &str) -> Result<Self, Error> {
        let mut f = Self::default();
        for kv in params.split(';') {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("profile-level-id") {
                f.profile_level_id = v.parse()?;
            } else if k.eq_ignore_ascii_case("packetization-mode") {
                f.packetization_mode = v.parse().map_err(|_| Error::Invalid {
                    what: "packetization-mode",
                    offset: 0,
                    reason: "must be 0, 1 or 2",
                })?;
            } else if k.eq_ignore_ascii_case("level-asymmetry-allowed") {
                f.level_asymmetry_allowed = v == "1";
            }
        }
        Ok(f)
    }

    /// RFC 6184 §8.2.2: same media format configuration (profile and packetization-mode; the
    /// level part may differ).
    pub fn same_configuration(&self, other: &H264Fmtp) -> bool {
        match (
            self.profile_level_id.profile(),
            other.profile_level_id.profile(),
        ) {
            (Some(a), Some(b)) => a == b && self.packetization_mode == other.packetization_mode,
            _ => false,
        }
    }
}

/// Result of [`negotiate`]: the profile-level-id to put in the answer and the levels of each
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Negotiated {
    /// profile-level-id for the answer's fmtp line.
    pub answer_profile_level_id: ProfileLevelId,
    /// Level (as [`ProfileLevelId::level_ordinal`]) the offerer sends with.
    pub offerer_to_answerer_level: u16,
    /// Level the answerer sends with.
    pub answerer_to_offerer_level: u16,
}

/// RFC 6184 §8.2.2 for an answerer: `offer` is the remote format, `local` what this side
/// supports (its level = the highest it receives). `None` when the configurations differ
/// (profile or packetization-mode), i.e. the answer must drop the payload type.
///
/// Without level asymmetry (either side lacks level-asymmetry-allowed=1), both directions use
/// the lower of the two levels and the answer carries it; with it, each side sends at the
/// level the other receives and the answer carries the local level.
pub fn negotiate(offer: &H264Fmtp, local: &H264Fmtp) -> Option<H264Negotiated> {
    if !offer.same_configuration(local) {
        return None;
    }
    let (o, l) = (offer.profile_level_id, local.profile_level_id);
    if offer.level_asymmetry_allowed && local.level_asymmetry_allowed {
        Some(H264Negotiated {
            answer_profile_level_id: o.with_level_of(&l),
            offerer_to_answerer_level: l.level_ordinal(),
            answerer_to_offerer_level: o.level_ordinal(),
        })
    } else {
        let low = if l.level_ordinal() < o.level_ordinal() {
            l
        } else {
            o
        };
        Some(H264Negotiated {
            answer_profile_level_id: o.with_level_of(&low),
            offerer_to_answerer_level: low.level_ordinal(),
            answerer_to_offerer_level: low.level_ordinal(),
        })
    }
}
