//! Demultiplexing of one transport by the first byte (RFC 7983, updated by RFC 9443):
//! STUN, ZRTP, DTLS, TURN ChannelData and RTP/RTCP share the ICE-selected 5-tuple.

/// What a packet on a multiplexed port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// First byte 0..=3.
    Stun,
    /// First byte 16..=19.
    Zrtp,
    /// First byte 20..=63.
    Dtls,
    /// First byte 64..=79 (TURN channel numbers 0x4000..=0x4FFF).
    ChannelData,
    /// First byte 128..=191.
    RtpRtcp,
    /// Anything else, or an empty packet: drop it.
    Unknown,
}

/// Classify a packet by its first byte.
pub fn classify(packet: &[u8]) -> PacketKind {
    match packet.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(16..=19) => PacketKind::Zrtp,
        Some(20..=63) => PacketKind::Dtls,
        Some(64..=79) => PacketKind::ChannelData,
        Some(128..=191) => PacketKind::RtpRtcp,
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
        assert_eq!(classify(&[3]), PacketKind::Stun);
        assert_eq!(classify(&[4]), PacketKind::Unknown);
        assert_eq!(classify(&[16]), PacketKind::Zrtp);
        assert_eq!(classify(&[22]), PacketKind::Dtls);
        assert_eq!(classify(&[63]), PacketKind::Dtls);
        assert_eq!(classify(&[0x40]), PacketKind::ChannelData);
        assert_eq!(classify(&[79]), PacketKind::ChannelData);
        assert_eq!(classify(&[80]), PacketKind::Unknown);
        assert_eq!(classify(&[0x80]), PacketKind::RtpRtcp);
        assert_eq!(classify(&[191]), PacketKind::RtpRtcp);
        assert_eq!(classify(&[192]), PacketKind::Unknown);
    }
}
