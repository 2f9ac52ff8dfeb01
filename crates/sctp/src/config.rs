//! Association configuration. Every limit is explicit.

use std::time::Duration;

/// Configuration of an [`Association`](crate::Association).
#[derive(Debug, Clone)]
pub struct Config {
    /// Local SCTP port (RFC 8841 `a=sctp-port`, 5000 by default).
    pub local_port: u16,
    /// Remote SCTP port.
    pub remote_port: u16,
    /// Largest SCTP packet produced. The default, 1160, is a 1200-byte UDP payload minus the
    /// DTLS 1.2 record overhead with AES-GCM (13 header + 8 explicit nonce + 16 tag), rounded
    /// down to a multiple of four.
    pub max_packet_size: usize,
    /// Number of inbound and outbound streams offered (WebRTC browsers offer 65535).
    pub num_streams: u16,
    /// Largest user message accepted for sending and for reassembly (SDP `max-message-size`).
    pub max_message_size: usize,
    /// Receive buffer: the advertised window, and the bound on reassembly memory beyond
    /// the message in progress.
    pub receive_buffer_size: usize,
    /// Send buffer high-water mark: `send` fails when this many bytes are queued.
    pub send_buffer_size: usize,
    /// Low-water mark: [`Event::SendBufferLow`](crate::Event::SendBufferLow) fires when the
    /// queued bytes drop to or below it after having been above.
    pub send_buffer_low_water: usize,
    /// Initial retransmission timeout. RFC 9260 recommends 1 s; WebRTC stacks that use it
    /// delay the first messages after a loss noticeably, so the default is 200 ms.
    pub rto_initial: Duration,
    /// Lower bound of the RTO (RFC 9260: 1 s; default 50 ms, suited to the short RTTs and
    /// timer granularity of a userspace stack driven by an event loop).
    pub rto_min: Duration,
    /// Upper bound of the RTO (default 6 s, so retransmissions resume quickly after an outage).
    pub rto_max: Duration,
    /// INIT / COOKIE ECHO retransmissions before giving up (RFC: Max.Init.Retransmits).
    pub max_init_retransmits: u32,
    /// Consecutive retransmission timeouts before the association fails
    /// (RFC: Association.Max.Retrans). With the default RTO bounds, 10 rides out outages
    /// of more than 30 s.
    pub max_retransmits: u32,
    /// Delay before a SACK is sent for a packet that does not need one at once (RFC 9260
    /// §6.2: at most 500 ms; default 20 ms). A SACK is sent at once for every second packet.
    pub delayed_ack: Duration,
    /// Heartbeat interval on an idle association; `None` disables heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// Lifetime of the state cookie (RFC 9260 Valid.Cookie.Life, 60 s).
    pub cookie_lifetime: Duration,
    /// Max.Burst (RFC 9260 §6.1): packets that may be sent back to back in reply to one SACK.
    pub max_burst: usize,
    /// Offer and use zero checksums (RFC 9653, method 1 = DTLS) when the peer also does.
    pub zero_checksum: bool,
    /// Gap ack blocks processed per received SACK (hostile peers can send thousands).
    pub max_gap_blocks: usize,
    /// Offer I-DATA (RFC 8260) so large messages do not block other streams.
    pub enable_idata: bool,
    /// Largest number of streams, in each direction, that RE-CONFIG add-stream requests may
    /// grow the association to (RFC 6525 §5.2.5, §5.2.6); requests beyond it are denied.
    pub max_streams: u16,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            local_port: 5000,
            remote_port: 5000,
            max_packet_size: 1160,
            num_streams: 65535,
            max_message_size: 256 * 1024,
            receive_buffer_size: 1024 * 1024,
            send_buffer_size: 4 * 1024 * 1024,
            send_buffer_low_water: 1024 * 1024,
            rto_initial: Duration::from_millis(200),
            rto_min: Duration::from_millis(50),
            rto_max: Duration::from_secs(6),
            max_init_retransmits: 8,
            max_retransmits: 10,
            delayed_ack: Duration::from_millis(20),
            heartbeat_interval: Some(Duration::from_secs(30)),
            cookie_lifetime: Duration::from_secs(60),
            max_burst: 4,
            zero_checksum: true,
            max_gap_blocks: 256,
            enable_idata: false,
            max_streams: 65535,
        }
    }
}
