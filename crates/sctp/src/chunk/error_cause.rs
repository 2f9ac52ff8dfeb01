//! Error causes (RFC 9260 §3.3.10), carried by ABORT (§3.3.7) and ERROR (§3.3.10) chunks.

use bytes::{BufMut, Bytes};

use crate::wire::{for_each_tlv, pad4};
use crate::Error;

/// An error cause (RFC 9260 §3.3.10), kept as code and raw information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCause {
    /// Cause code (see [`cause_code`]).
    pub code: u16,
    /// Cause-specific information (without padding).
    pub info: Bytes,
}

/// Error cause codes (RFC 9260 §3.3.10, RFC 6525, RFC 8260).
pub mod cause_code {
    /// Invalid Stream Identifier.
    pub const INVALID_STREAM_IDENTIFIER: u16 = 1;
    /// Missing Mandatory Parameter.
    pub const MISSING_MANDATORY_PARAMETER: u16 = 2;
    /// Stale Cookie Error.
    pub const STALE_COOKIE: u16 = 3;
    /// Out of Resource.
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unresolvable Address.
    pub const UNRESOLVABLE_ADDRESS: u16 = 5;
    /// Unrecognized Chunk Type.
    pub const UNRECOGNIZED_CHUNK_TYPE: u16 = 6;
    /// Invalid Mandatory Parameter.
    pub const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// Unrecognized Parameters.
    pub const UNRECOGNIZED_PARAMETERS: u16 = 8;
    /// No User Data.
    pub const NO_USER_DATA: u16 = 9;
    /// Cookie Received While Shutting Down.
    pub const COOKIE_WHILE_SHUTTING_DOWN: u16 = 10;
    /// Restart of an Association with New Addresses.
    pub const RESTART_WITH_NEW_ADDRESSES: u16 = 11;
    /// User-Initiated Abort.
    pub const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol Violation.
    pub const PROTOCOL_VIOLATION: u16 = 13;
}

/// The causes of an ABORT or ERROR value: cause code, length (with the 4-byte header),
/// information, padding (RFC 9260 §3.3.10, Figure 16).
pub(super) fn parse_causes(value: &Bytes, base: usize) -> Result<Vec<ErrorCause>, Error> {
    let mut causes = Vec::new();
    for_each_tlv(value, base, "error cause", |code, info, _| {
        causes.push(ErrorCause {
            code,
            info: value.slice_ref(info),
        });
        Ok(())
    })?;
    Ok(causes)
}

pub(super) fn causes_len(causes: &[ErrorCause]) -> usize {
    causes.iter().map(|c| pad4(4 + c.info.len())).sum()
}

pub(super) fn write_causes(causes: &[ErrorCause], out: &mut impl BufMut) {
    for c in causes {
        out.put_u16(c.code);
        out.put_u16((4 + c.info.len()) as u16);
        out.put_slice(&c.info);
        out.put_bytes(0, pad4(c.info.len()) - c.info.len());
    }
}
