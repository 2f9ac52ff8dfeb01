//! HEARTBEAT (RFC 9260 §3.3.5) and HEARTBEAT ACK (§3.3.6) chunks.

use bytes::{BufMut, Bytes};

use nom::Parser;

use crate::wire::{run, tlv_value, u16f};
use crate::Error;

/// Heartbeat Information parameter type (RFC 9260 §3.3.5).
const HEARTBEAT_INFO: u16 = 1;

/// The value of a HEARTBEAT or HEARTBEAT ACK: one Heartbeat Information parameter (type 1,
/// length, opaque sender-specific information). Bytes after it are ignored.
pub(super) fn parse_heartbeat(value: &Bytes, base: usize) -> Result<Bytes, Error> {
    let (after, (t, len)) = run(value, base, "HEARTBEAT info", (u16f, u16f.map(usize::from)))?;
    if t != HEARTBEAT_INFO {
        return Err(Error::InvalidValue {
            what: "HEARTBEAT info type",
            offset: base,
        });
    }
    let (info, _) = tlv_value(after, len).ok_or(Error::InvalidLength {
        what: "HEARTBEAT info",
        offset: base,
        length: len,
    })?;
    Ok(value.slice_ref(info))
}

pub(super) fn write_heartbeat(info: &Bytes, out: &mut impl BufMut) {
    out.put_u16(HEARTBEAT_INFO);
    out.put_u16((4 + info.len()) as u16);
    out.put_slice(info);
}
