//! BYE (PT 203, RFC 3550 §6.6) and APP (PT 204, RFC 3550 §6.7).

use bytes::{BufMut, Bytes};

use crate::wire::{array, pad4, Body};
use crate::Error;

/// PT of BYE.
pub const PT_BYE: u8 = 203;
/// PT of APP.
pub const PT_APP: u8 = 204;

/// BYE: sources leaving, and an optional reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bye {
    /// Sources leaving (at most 31 are written).
    pub ssrcs: Vec<u32>,
    /// Reason for leaving (at most 255 bytes are written).
    pub reason: Option<Bytes>,
}

impl Bye {
    pub(crate) fn parse(r: &mut Body<'_>, count: u8) -> Result<Self, Error> {
        let mut ssrcs = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            ssrcs.push(r.u32("BYE SSRC")?);
        }
        let reason = if r.remaining() > 0 {
            let len = r.u8("BYE reason length")?;
            let reason = r.bytes(usize::from(len), "BYE reason")?;
            // Padding to 32 bits; its content is not checked (senders differ, as with SDES).
            r.skip(pad4(1 + usize::from(len)), "BYE reason padding")?;
            Some(reason)
        } else {
            None
        };
        if r.remaining() != 0 {
            return Err(r.invalid("BYE", "bytes left after the reason"));
        }
        Ok(Self { ssrcs, reason })
    }

    pub(crate) fn count(&self) -> u8 {
        self.ssrcs.len().min(31) as u8
    }

    fn reason_bytes(&self) -> Option<&[u8]> {
        self.reason
            .as_ref()
            .map(|r| r.get(..r.len().min(255)).unwrap_or(&[]))
    }

    pub(crate) fn body_len(&self) -> usize {
        4 * usize::from(self.count())
            + self.reason_bytes().map_or(0, |r| {
                let n = 1 + r.len();
                n + pad4(n)
            })
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        for s in self.ssrcs.iter().take(31) {
            out.put_u32(*s);
        }
        if let Some(r) = self.reason_bytes() {
            out.put_u8(r.len() as u8);
            out.put_slice(r);
            out.put_bytes(0, pad4(1 + r.len()));
        }
    }
}

/// APP: application-defined packet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct App {
    /// Subtype (the 5-bit count field).
    pub subtype: u8,
    /// Source.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application data; a multiple of 4 bytes (zeros are appended when written otherwise).
    pub data: Bytes,
}

impl App {
    pub(crate) fn parse(r: &mut Body<'_>, count: u8) -> Result<Self, Error> {
        let ssrc = r.u32("APP SSRC")?;
        let name = *r.field("APP name", 4, array::<4>)?;
        if !r.remaining().is_multiple_of(4) {
            // Only possible when a padding count cut the data (RFC 3550 §6.7: 32-bit multiple).
            return Err(r.invalid(
                "APP data",
                "not a multiple of 32 bits once padding is removed",
            ));
        }
        Ok(Self {
            subtype: count,
            ssrc,
            name,
            data: r.rest(),
        })
    }

    pub(crate) fn count(&self) -> u8 {
        self.subtype & 0x1f
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + self.data.len() + pad4(self.data.len())
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.ssrc);
        out.put_slice(&self.name);
        out.put_slice(&self.data);
        out.put_bytes(0, pad4(self.data.len()));
    }
}
