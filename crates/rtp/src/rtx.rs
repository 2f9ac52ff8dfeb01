//! RTX retransmission payload format (RFC 4588 §4): the original sequence number (OSN) in the
//! first two payload octets, then the original payload.

use bytes::{BufMut, Bytes};

use crate::{Error, RtpPacket};

/// Wraps `original` for retransmission on the RTX stream (session multiplexing, RFC 4588 §4):
/// same timestamp, marker, CSRCs and extensions; RTX payload type, SSRC and sequence number;
/// payload = OSN + original payload. Padding is not carried over.
pub fn encapsulate(
    original: &RtpPacket,
    rtx_payload_type: u8,
    rtx_ssrc: u32,
    rtx_sequence_number: u16,
) -> RtpPacket {
    let mut payload = Vec::with_capacity(2 + original.payload.len());
    payload.put_u16(original.header.sequence_number);
    payload.extend_from_slice(&original.payload);
    let mut header = original.header.clone();
    header.payload_type = rtx_payload_type;
    header.ssrc = rtx_ssrc;
    header.sequence_number = rtx_sequence_number;
    RtpPacket {
        header,
        payload: Bytes::from(payload),
        padding: 0,
    }
}

/// The original sequence number carried by an RTX packet.
pub fn original_sequence_number(rtx: &RtpPacket) -> Result<u16, Error> {
    match rtx.payload.get(..2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Error::RtxTooShort {
            len: rtx.payload.len(),
        }),
    }
}

/// Restores the original packet from an RTX packet, given the original stream's payload type
/// and SSRC (from the `apt` parameter and the FID ssrc-group). The payload is a zero-copy slice.
pub fn decapsulate(
    rtx: &RtpPacket,
    original_payload_type: u8,
    original_ssrc: u32,
) -> Result<RtpPacket, Error> {
    let osn = original_sequence_number(rtx)?;
    let mut header = rtx.header.clone();
    header.payload_type = original_payload_type;
    header.ssrc = original_ssrc;
    header.sequence_number = osn;
    Ok(RtpPacket {
        header,
        payload: rtx.payload.slice(2..),
        padding: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RtpHeader;

    #[test]
    fn round_trip() {
        let orig = RtpPacket {
            header: RtpHeader {
                marker: true,
                payload_type: 96,
                sequence_number: 4242,
                timestamp: 90000,
                ssrc: 1,
                ..Default::default()
            },
            payload: Bytes::from_static(b"frame"),
            padding: 0,
        };
        let rtx = encapsulate(&orig, 97, 2, 7);
        assert_eq!(rtx.header.payload_type, 97);
        assert_eq!(rtx.header.sequence_number, 7);
        assert_eq!(&rtx.payload[..], b"\x10\x92frame");
        let wire = RtpPacket::parse(rtx.to_bytes()).unwrap();
        assert_eq!(decapsulate(&wire, 96, 1).unwrap(), orig);
        let empty = RtpPacket {
            payload: Bytes::from_static(b"\x01"),
            ..Default::default()
        };
        assert_eq!(
            decapsulate(&empty, 96, 1),
            Err(Error::RtxTooShort { len: 1 })
        );
    }
}
