//! INIT (RFC 9260 §3.3.2) and INIT ACK (§3.3.3) chunks.

use bytes::{BufMut, Bytes};

use crate::param::{params_len, parse_params, write_params, Param};
use crate::wire::{run, u16f, u32f};
use crate::Error;

/// The fixed part shared by INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitChunk {
    /// Initiate tag: the verification tag the peer must put in packets to us. Never 0.
    pub initiate_tag: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Number of outbound streams. Never 0.
    pub num_outbound_streams: u16,
    /// Number of inbound streams. Never 0.
    pub num_inbound_streams: u16,
    /// Initial TSN.
    pub initial_tsn: u32,
    /// Optional/variable parameters, in wire order.
    pub params: Vec<Param>,
}

impl InitChunk {
    /// The value of an INIT or INIT ACK (RFC 9260 §3.3.2, Figure 6 after the chunk header):
    ///
    /// ```text
    /// |                         Initiate Tag                          |
    /// |           Advertised Receiver Window Credit (a_rwnd)          |
    /// |  Number of Outbound Streams   |   Number of Inbound Streams   |
    /// |                          Initial TSN                          |
    /// \              Optional/Variable-Length Parameters              \
    /// ```
    ///
    /// The initiate tag and both stream counts must not be 0 (§3.3.2).
    pub(super) fn parse(value: &Bytes, base: usize) -> Result<Self, Error> {
        let (
            params,
            (initiate_tag, a_rwnd, num_outbound_streams, num_inbound_streams, initial_tsn),
        ) = run(value, base, "INIT", (u32f, u32f, u16f, u16f, u32f))?;
        let at = value.len() - params.len();
        let init = InitChunk {
            initiate_tag,
            a_rwnd,
            num_outbound_streams,
            num_inbound_streams,
            initial_tsn,
            params: parse_params(&value.slice_ref(params), base + at)?,
        };
        if init.initiate_tag == 0 {
            return Err(Error::InvalidValue {
                what: "INIT initiate tag 0",
                offset: base,
            });
        }
        if init.num_inbound_streams == 0 || init.num_outbound_streams == 0 {
            return Err(Error::InvalidValue {
                what: "INIT stream count 0",
                offset: base + 8,
            });
        }
        Ok(init)
    }

    pub(super) fn value_len(&self) -> usize {
        16 + params_len(&self.params)
    }

    pub(super) fn write_value(&self, out: &mut impl BufMut) {
        out.put_u32(self.initiate_tag);
        out.put_u32(self.a_rwnd);
        out.put_u16(self.num_outbound_streams);
        out.put_u16(self.num_inbound_streams);
        out.put_u32(self.initial_tsn);
        write_params(&self.params, out);
    }
}
