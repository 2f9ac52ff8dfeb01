//! Extended reports (XR, PT 207, RFC 3611): RRTR and DLRR decoded, other blocks kept raw.

use bytes::{BufMut, Bytes};

use crate::wire::{be_u64, pad4, Body};
use crate::Error;

/// PT of XR.
pub const PT_XR: u8 = 207;
/// Block type of the receiver reference time report (RFC 3611 §4.4).
pub const BT_RRTR: u8 = 4;
/// Block type of DLRR (RFC 3611 §4.5).
pub const BT_DLRR: u8 = 5;

/// One DLRR sub-block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DlrrItem {
    /// The receiver.
    pub ssrc: u32,
    /// Middle 32 bits of its last RRTR NTP timestamp.
    pub last_rr: u32,
    /// Delay since that RRTR, in 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// One XR report block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XrBlock {
    /// Receiver reference time: an NTP timestamp.
    Rrtr {
        /// NTP timestamp (32.32).
        ntp_timestamp: u64,
    },
    /// Delay since last receiver report.
    Dlrr(Vec<DlrrItem>),
    /// Any other block, kept raw.
    Other {
        /// Block type.
        block_type: u8,
        /// Type-specific byte.
        type_specific: u8,
        /// Block contents (a multiple of 4 bytes; zeros are appended when written otherwise).
        data: Bytes,
    },
}

impl XrBlock {
    fn len(&self) -> usize {
        4 + match self {
            XrBlock::Rrtr { .. } => 8,
            XrBlock::Dlrr(items) => 12 * items.len().min(5461),
            XrBlock::Other { data, .. } => {
                let n = data.len().min(4 * 65535);
                n + pad4(n)
            }
        }
    }
}

/// An XR packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExtendedReport {
    /// The reporter.
    pub ssrc: u32,
    /// Report blocks.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let ssrc = r.u32("XR SSRC")?;
        let mut blocks = Vec::new();
        while r.remaining() > 0 {
            let block_type = r.u8("XR block type")?;
            let type_specific = r.u8("XR type-specific")?;
            let words = usize::from(r.u16("XR block length")?);
            let at = r.offset();
            match block_type {
                BT_RRTR => {
                    if words != 2 {
                        return Err(Error::Invalid {
                            what: "XR RRTR block",
                            offset: at,
                            why: "block length must be 2",
                        });
                    }
                    blocks.push(XrBlock::Rrtr {
                        ntp_timestamp: r.field("XR RRTR NTP timestamp", 8, be_u64)?,
                    });
                }
                BT_DLRR => {
                    if !words.is_multiple_of(3) {
                        return Err(Error::Invalid {
                            what: "XR DLRR block",
                            offset: at,
                            why: "block length is not a multiple of 3 words",
                        });
                    }
                    if 4 * words > r.remaining() {
                        return Err(Error::Truncated {
                            what: "XR DLRR block",
                            offset: at,
                            needed: 4 * words,
                            available: r.remaining(),
                        });
                    }
                    let mut items = Vec::with_capacity(words / 3);
                    for _ in 0..words / 3 {
                        items.push(DlrrItem {
                            ssrc: r.u32("XR DLRR SSRC")?,
                            last_rr: r.u32("XR DLRR LRR")?,
                            delay_since_last_rr: r.u32("XR DLRR DLRR")?,
                        });
                    }
                    blocks.push(XrBlock::Dlrr(items));
                }
                _ => blocks.push(XrBlock::Other {
                    block_type,
                    type_specific,
                    data: r.bytes(4 * words, "XR block")?,
                }),
            }
        }
        Ok(Self { ssrc, blocks })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + self.blocks.iter().map(XrBlock::len).sum::<usize>()
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.ssrc);
        for b in &self.blocks {
            let words = ((b.len() - 4) / 4) as u16;
            match b {
                XrBlock::Rrtr { ntp_timestamp } => {
                    out.put_u8(BT_RRTR);
                    out.put_u8(0);
                    out.put_u16(words);
                    out.put_u64(*ntp_timestamp);
                }
                XrBlock::Dlrr(items) => {
                    out.put_u8(BT_DLRR);
                    out.put_u8(0);
                    out.put_u16(words);
                    for i in items.iter().take(5461) {
                        out.put_u32(i.ssrc);
                        out.put_u32(i.last_rr);
                        out.put_u32(i.delay_since_last_rr);
                    }
                }
                XrBlock::Other {
                    block_type,
                    type_specific,
                    data,
                } => {
                    let d = data.get(..data.len().min(4 * 65535)).unwrap_or(&[]);
                    out.put_u8(*block_type);
                    out.put_u8(*type_specific);
                    out.put_u16(words);
                    out.put_slice(d);
                    out.put_bytes(0, pad4(d.len()));
                }
            }
        }
    }
}
