//! Typed header extension values and their URIs.
//!
//! Each value parses from and writes to the element data only (the id and length belong to the
//! block, see [`crate::extension`]). Parsing borrows, never allocates.

use crate::Error;

/// A header extension value with a wire format.
pub trait ExtensionValue<'a>: Sized {
    /// The URI that names this extension in SDP `a=extmap` lines.
    const URI: &'static str;
    /// Decodes the element data.
    fn parse(data: &'a [u8]) -> Result<Self, Error>;
    /// Length of the element data.
    fn encoded_len(&self) -> usize;
    /// Writes the element data into `out`, which is exactly `encoded_len()` bytes long.
    fn write_value(&self, out: &mut [u8]);
}

#[inline]
fn exact<const N: usize>(
    what: &'static str,
    expected: &'static str,
    data: &[u8],
) -> Result<[u8; N], Error> {
    data.try_into().map_err(|_| Error::ExtensionValueLength {
        what,
        expected,
        got: data.len(),
    })
}

fn put(out: &mut [u8], bytes: &[u8]) {
    if let Some(dst) = out.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// abs-send-time: the send time as 6.18 fixed-point seconds, 24 bits
/// (<http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// From a 64-bit NTP timestamp (32.32): the middle 24 bits.
    pub fn from_ntp(ntp: u64) -> Self {
        Self(((ntp >> 14) & 0x00ff_ffff) as u32)
    }

    /// From microseconds of any clock (wraps every 64 s).
    pub fn from_micros(us: u64) -> Self {
        Self((((us << 18) / 1_000_000) & 0x00ff_ffff) as u32)
    }

    /// The value in microseconds modulo 64 s.
    pub fn as_micros(self) -> u64 {
        (u64::from(self.0) * 1_000_000) >> 18
    }
}

impl ExtensionValue<'_> for AbsSendTime {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let [a, b, c] = exact::<3>("abs-send-time", "3", data)?;
        Ok(Self(u32::from_be_bytes([0, a, b, c])))
    }
    fn encoded_len(&self) -> usize {
        3
    }
    fn write_value(&self, out: &mut [u8]) {
        let [_, a, b, c] = self.0.to_be_bytes();
        put(out, &[a, b, c]);
    }
}

/// transport-wide-cc: the transport-wide sequence number, and in version 02 an optional
/// feedback request (<http://www.webrtc.org/experiments/rtp-hdrext/transport-wide-cc-02>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TransportCc {
    /// Transport-wide sequence number.
    pub sequence_number: u16,
    /// Version 02 only: request immediate feedback.
    pub feedback_request: Option<FeedbackRequest>,
}

/// The feedback request of transport-wide-cc-02.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FeedbackRequest {
    /// T bit: include timestamps (arrival times) in the feedback.
    pub include_timestamps: bool,
    /// How many packets, ending at this one, the feedback should cover (15 bits).
    pub sequence_count: u16,
}

/// The URI of transport-wide-cc version 01 (sequence number only).
pub const TRANSPORT_CC_01_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

impl ExtensionValue<'_> for TransportCc {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/transport-wide-cc-02";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        match *data {
            [a, b] => Ok(Self {
                sequence_number: u16::from_be_bytes([a, b]),
                feedback_request: None,
            }),
            [a, b, c, d] => Ok(Self {
                sequence_number: u16::from_be_bytes([a, b]),
                feedback_request: Some(FeedbackRequest {
                    include_timestamps: c & 0x80 != 0,
                    sequence_count: u16::from_be_bytes([c & 0x7f, d]),
                }),
            }),
            _ => Err(Error::ExtensionValueLength {
                what: "transport-wide-cc",
                expected: "2 or 4",
                got: data.len(),
            }),
        }
    }
    fn encoded_len(&self) -> usize {
        if self.feedback_request.is_some() {
            4
        } else {
            2
        }
    }
    fn write_value(&self, out: &mut [u8]) {
        let [a, b] = self.sequence_number.to_be_bytes();
        match self.feedback_request {
            None => put(out, &[a, b]),
            Some(r) => {
                let [c, d] = (r.sequence_count & 0x7fff).to_be_bytes();
                put(
                    out,
                    &[a, b, c | if r.include_timestamps { 0x80 } else { 0 }, d],
                );
            }
        }
    }
}

macro_rules! sdes_value {
    ($(#[$m:meta])* $name:ident, $uri:literal, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub struct $name<'a>(pub &'a [u8]);

        impl<'a> $name<'a> {
            /// The identifier as text, when it is UTF-8.
            pub fn as_str(&self) -> Option<&'a str> {
                std::str::from_utf8(self.0).ok()
            }
        }

        impl<'a> ExtensionValue<'a> for $name<'a> {
            const URI: &'static str = $uri;

            #[inline]
            fn parse(data: &'a [u8]) -> Result<Self, Error> {
                if data.is_empty() {
                    return Err(Error::InvalidExtensionValue {
                        what: $what,
                        why: "empty identifier",
                    });
                }
                Ok(Self(data))
            }
            fn encoded_len(&self) -> usize {
                self.0.len()
            }
            fn write_value(&self, out: &mut [u8]) {
                put(out, self.0);
            }
        }
    };
}

sdes_value!(
    /// sdes:mid, the media identification of BUNDLE (RFC 8843 §15.1).
    Mid, "urn:ietf:params:rtp-hdrext:sdes:mid", "sdes:mid"
);
sdes_value!(
    /// sdes:rtp-stream-id, the simulcast RID (RFC 8852).
    RtpStreamId, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "sdes:rtp-stream-id"
);
sdes_value!(
    /// sdes:repaired-rtp-stream-id, the RID a repair stream repairs (RFC 8852).
    RepairedRtpStreamId,
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    "sdes:repaired-rtp-stream-id"
);

/// ssrc-audio-level (RFC 6464): voice activity flag and level in -dBov (0..=127).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AudioLevel {
    /// V bit: the packet contains voice.
    pub voice_activity: bool,
    /// Level, 0 (loudest) to 127 (silence), in -dBov.
    pub level: u8,
}

impl ExtensionValue<'_> for AudioLevel {
    const URI: &'static str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let [b] = exact::<1>("ssrc-audio-level", "1", data)?;
        Ok(Self {
            voice_activity: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn write_value(&self, out: &mut [u8]) {
        put(
            out,
            &[u8::from(self.voice_activity) << 7 | (self.level & 0x7f)],
        );
    }
}

/// video-orientation (3GPP TS 26.114 §7.4.5): camera, flip and rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VideoOrientation {
    /// C bit: back-facing camera.
    pub back_camera: bool,
    /// F bit: horizontal flip.
    pub flip: bool,
    /// R1R0: rotation in steps of 90° (0..=3).
    pub rotation: u8,
}

impl VideoOrientation {
    /// Rotation in degrees: 0, 90, 180 or 270.
    pub fn degrees(&self) -> u16 {
        u16::from(self.rotation & 3) * 90
    }
}

impl ExtensionValue<'_> for VideoOrientation {
    const URI: &'static str = "urn:3gpp:video-orientation";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let [b] = exact::<1>("video-orientation", "1", data)?;
        Ok(Self {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: b & 0x03,
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn write_value(&self, out: &mut [u8]) {
        put(
            out,
            &[u8::from(self.back_camera) << 3 | u8::from(self.flip) << 2 | (self.rotation & 3)],
        );
    }
}

/// playout-delay: minimum and maximum playout delay, 12 bits each, in units of 10 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PlayoutDelay {
    /// Minimum delay in 10 ms units (0..=4095).
    pub min: u16,
    /// Maximum delay in 10 ms units (0..=4095).
    pub max: u16,
}

impl ExtensionValue<'_> for PlayoutDelay {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let [a, b, c] = exact::<3>("playout-delay", "3", data)?;
        Ok(Self {
            min: u16::from(a) << 4 | u16::from(b >> 4),
            max: u16::from(b & 0x0f) << 8 | u16::from(c),
        })
    }
    fn encoded_len(&self) -> usize {
        3
    }
    fn write_value(&self, out: &mut [u8]) {
        let min = self.min & 0x0fff;
        let max = self.max & 0x0fff;
        put(
            out,
            &[
                (min >> 4) as u8,
                ((min & 0x0f) << 4) as u8 | (max >> 8) as u8,
                max as u8,
            ],
        );
    }
}

/// abs-capture-time: the NTP (UQ32.32) capture time of the first sample, and optionally the
/// estimated offset (Q32.32) between the capturer's clock and the sender's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AbsCaptureTime {
    /// Capture time, NTP format.
    pub capture_ntp: u64,
    /// Estimated capture clock offset, signed Q32.32.
    pub estimated_clock_offset: Option<i64>,
}

impl ExtensionValue<'_> for AbsCaptureTime {
    const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

    #[inline]
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let (ts, off) = match data.len() {
            8 => (data, None),
            16 => (data.get(..8).unwrap_or(&[]), data.get(8..)),
            got => {
                return Err(Error::ExtensionValueLength {
                    what: "abs-capture-time",
                    expected: "8 or 16",
                    got,
                })
            }
        };
        let ts: [u8; 8] = exact("abs-capture-time", "8 or 16", ts)?;
        let off = match off {
            Some(o) => Some(i64::from_be_bytes(exact("abs-capture-time", "8 or 16", o)?)),
            None => None,
        };
        Ok(Self {
            capture_ntp: u64::from_be_bytes(ts),
            estimated_clock_offset: off,
        })
    }
    fn encoded_len(&self) -> usize {
        if self.estimated_clock_offset.is_some() {
            16
        } else {
            8
        }
    }
    fn write_value(&self, out: &mut [u8]) {
        put(out, &self.capture_ntp.to_be_bytes());
        if let (Some(o), Some(rest)) = (self.estimated_clock_offset, out.get_mut(8..)) {
            put(rest, &o.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt<'a, V: ExtensionValue<'a> + PartialEq + std::fmt::Debug>(v: V, buf: &'a mut Vec<u8>) {
        buf.resize(v.encoded_len(), 0);
        v.write_value(buf);
        let back = V::parse(buf).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn round_trips() {
        rt(AbsSendTime(0xabcdef), &mut Vec::new());
        rt(
            TransportCc {
                sequence_number: 7,
                feedback_request: None,
            },
            &mut Vec::new(),
        );
        rt(
            TransportCc {
                sequence_number: 7,
                feedback_request: Some(FeedbackRequest {
                    include_timestamps: true,
                    sequence_count: 0x7ff1,
                }),
            },
            &mut Vec::new(),
        );
        rt(
            AudioLevel {
                voice_activity: true,
                level: 42,
            },
            &mut Vec::new(),
        );
        rt(
            VideoOrientation {
                back_camera: true,
                flip: false,
                rotation: 3,
            },
            &mut Vec::new(),
        );
        rt(
            PlayoutDelay {
                min: 0xabc,
                max: 0x123,
            },
            &mut Vec::new(),
        );
        rt(
            AbsCaptureTime {
                capture_ntp: 1 << 40,
                estimated_clock_offset: Some(-5),
            },
            &mut Vec::new(),
        );
        rt(
            AbsCaptureTime {
                capture_ntp: 99,
                estimated_clock_offset: None,
            },
            &mut Vec::new(),
        );
        let mid = b"audio0".to_vec();
        rt(Mid(&mid), &mut Vec::new());
    }

    #[test]
    fn known_encodings() {
        assert_eq!(
            PlayoutDelay::parse(&[0x01, 0x40, 0x64]).unwrap(),
            PlayoutDelay { min: 20, max: 100 }
        );
        assert_eq!(
            AudioLevel::parse(&[0x9e]).unwrap(),
            AudioLevel {
                voice_activity: true,
                level: 30
            }
        );
        assert_eq!(VideoOrientation::parse(&[0x01]).unwrap().degrees(), 90);
        assert_eq!(AbsSendTime::from_micros(1_000_000).0, 1 << 18);
        assert_eq!(AbsSendTime(1 << 18).as_micros(), 1_000_000);
        assert!(TransportCc::parse(&[1, 2, 3]).is_err());
        assert!(Mid::parse(&[]).is_err());
    }
}
