//! The SCTP association as a sans-IO state machine (RFC 9260 §4–§10, RFC 3758, RFC 6525).
//!
//! One `Association` talks to one peer over one path (RFC 8261). The caller feeds received
//! packets with [`Association::handle_receive`], timer expiries with
//! [`Association::handle_timeout`], and drains [`Association::poll_transmit`] and
//! [`Association::poll_event`]; [`Association::poll_timeout`] says when to call back.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use hmac::{Hmac, Mac};
use rand_core::RngCore;
use sha2::Sha256;
use tracing::{debug, trace};

use crate::chunk::{
    cause_code, chunk_type, pad4, write_data_header, write_idata_header, Chunk, DataChunk,
    ErrorCause, ForwardTsnStream, GapBlock, InitChunk, SackChunk, UnrecognizedAction,
    DATA_HEADER_LEN, IDATA_HEADER_LEN,
};
use crate::packet::{
    finish_checksum, write_common_header, ChecksumMode, CommonHeader, Packet, COMMON_HEADER_LEN,
};
use crate::param::{reconfig_result, Param, ReconfigParam, EDMID_DTLS};
use crate::{Config, Error};

type HmacSha256 = Hmac<Sha256>;

/// Initial congestion window (RFC 9260 §7.2.1).
fn initial_cwnd(mtu: usize) -> usize {
    (4 * mtu).min((2 * mtu).max(4380))
}

/// Serial-number comparison of TSNs (RFC 9260 §1.6).
/// Takes what one add-streams request can carry (a 16-bit count, RFC 6525 §4.5–4.6) from
/// a queue of streams to add.
fn take_streams(queue: &mut u32) -> u16 {
    let n = u16::try_from(*queue).unwrap_or(u16::MAX);
    *queue -= u32::from(n);
    n
}

fn tsn_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn tsn_le(a: u32, b: u32) -> bool {
    a == b || tsn_lt(a, b)
}

/// Association state (RFC 9260 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No association; an INIT may still be answered statelessly.
    Closed,
    /// INIT sent.
    CookieWait,
    /// COOKIE ECHO sent.
    CookieEchoed,
    /// Data may flow.
    Established,
    /// `shutdown()` called, waiting for outstanding data.
    ShutdownPending,
    /// SHUTDOWN sent.
    ShutdownSent,
    /// SHUTDOWN received, finishing outstanding data.
    ShutdownReceived,
    /// SHUTDOWN ACK sent.
    ShutdownAckSent,
}

/// How a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Deliver without regard to order (U bit).
    pub unordered: bool,
    /// PR-SCTP limited retransmissions: abandon after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// PR-SCTP limited lifetime: abandon when not delivered within this time.
    pub lifetime: Option<Duration>,
}

/// A received user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Stream identifier.
    pub stream_id: u16,
    /// Payload protocol identifier.
    pub ppid: u32,
    /// Whether it was sent unordered.
    pub unordered: bool,
    /// The message.
    pub payload: Bytes,
}

/// What the association tells the layer above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The association is established.
    Connected,
    /// A user message arrived.
    Message(Message),
    /// Queued bytes dropped to the low-water mark.
    SendBufferLow,
    /// A stream's queued bytes dropped to its buffered-amount-low threshold.
    BufferedAmountLow(u16),
    /// Our outgoing streams were reset (RFC 6525): their sequence numbers restart at 0.
    OutgoingStreamsReset(Vec<u16>),
    /// The peer reset these streams towards us.
    IncomingStreamsReset(Vec<u16>),
    /// The peer denied our stream reset request.
    StreamResetFailed(Vec<u16>),
    /// The peer restarted the association (RFC 9260 §5.2.4 case A). Messages in flight
    /// were dropped; queued ones are sent on the new association; stream sequence numbers
    /// start again at 0.
    Restarted,
    /// Streams were added (RFC 6525 §5.1.5, §5.2.5): the usable counts now.
    StreamsAdded {
        /// Streams we may send on (ids `0..outgoing`).
        outgoing: u16,
        /// Streams the peer may send on.
        incoming: u16,
    },
    /// The peer denied our request to add streams (RFC 6525 §4.4 result "Denied").
    AddStreamsDenied {
        /// Outgoing streams asked for in the denied request.
        outgoing: u16,
        /// Incoming streams asked for in the denied request.
        incoming: u16,
    },
    /// The association closed gracefully.
    Closed,
    /// The association was aborted (by the peer, by us, or on too many retransmissions).
    Aborted {
        /// Why.
        reason: String,
    },
}

/// Counters for tests and stats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received and accepted.
    pub packets_received: u64,
    /// DATA chunks retransmitted.
    pub retransmits: u64,
    /// Fast retransmit events.
    pub fast_retransmits: u64,
    /// T3-rtx expiries.
    pub t3_expiries: u64,
    /// User messages abandoned by PR-SCTP on the sending side.
    pub messages_abandoned: u64,
    /// User messages delivered.
    pub messages_received: u64,
    /// Duplicate TSNs received.
    pub duplicate_tsns: u64,
    /// Packets dropped (checksum, tag, malformed).
    pub packets_dropped: u64,
    /// Incomplete received messages discarded because the peer skipped them (FORWARD-TSN).
    pub partial_messages_skipped: u64,
    /// Complete received messages discarded because their sequence number was already
    /// skipped.
    pub stale_messages_dropped: u64,
    /// Unrecognized-chunk reports not sent because of the ERROR rate limit (10 a second).
    pub errors_not_reported: u64,
}

struct OutMessage {
    id: u64,
    ppid: u32,
    payload: Bytes,
    offset: usize,
    unordered: bool,
    /// SSN (DATA, ordered) or MID (I-DATA), assigned with the first fragment.
    seq: u32,
    /// Next FSN (I-DATA).
    fsn: u32,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
}

#[derive(Default)]
struct OutStream {
    queue: VecDeque<OutMessage>,
    /// Next SSN (DATA) or ordered MID (I-DATA).
    next_ssn: u32,
    /// Next unordered MID (I-DATA).
    next_umid: u32,
    resetting: bool,
    buffered: usize,
    low_threshold: usize,
    /// Bytes ever queued on the stream; with `buffered`, tells where in the stream's byte
    /// sequence the sender is.
    queued_total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentState {
    Outstanding,
    NeedsRtx,
    Acked,
    Abandoned,
}

struct Sent {
    tsn: u32,
    stream_id: u16,
    seq: u32,
    fsn: u32,
    ppid: u32,
    flags: u8,
    payload: Bytes,
    msg_id: u64,
    sent_at: Instant,
    tx_count: u32,
    state: SentState,
    misses: u8,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
}

struct Frag {
    stream_id: u16,
    ssn: u16,
    ppid: u32,
    flags: u8,
    payload: Bytes,
}

#[derive(Default)]
struct InStream {
    /// Next SSN (DATA) or ordered MID (I-DATA) to deliver.
    next_ssn: u32,
    pending: BTreeMap<u32, Message>,
}

/// An I-DATA message being reassembled (RFC 8260 §2.1).
#[derive(Default)]
struct Partial {
    frags: BTreeMap<u32, Bytes>,
    ppid: u32,
    last_fsn: Option<u32>,
    bytes: usize,
}

struct Peer {
    vtag: u32,
    a_rwnd: u32,
    initial_tsn: u32,
    num_in: u16,
    num_out: u16,
    forward_tsn: bool,
    reconfig: bool,
    zero_checksum: bool,
    idata: bool,
}

/// What one of our RE-CONFIG requests asks for (RFC 6525 §4).
#[derive(Debug, Clone)]
enum ReqKind {
    /// Outgoing SSN Reset Request (§5.1.2).
    ResetOutgoing { streams: Vec<u16>, last_tsn: u32 },
    /// Add Outgoing Streams Request (§5.1.5).
    AddOutgoing(u16),
    /// Add Incoming Streams Request (§5.1.6).
    AddIncoming(u16),
}

/// A RE-CONFIG request of ours awaiting its response.
#[derive(Debug, Clone)]
struct PendingReq {
    seq: u32,
    kind: ReqKind,
}

/// Shortest time between two ERROR chunks reporting unrecognized chunks.
const ERROR_REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// Responses remembered so a retransmitted request gets the same answer (RFC 6525 §5.2.1).
const REMEMBERED_RESPONSES: usize = 4;

const COOKIE_BODY_LEN: usize = 4 * 7 + 2 * 2 + 1 + 8;
const COOKIE_MAC_LEN: usize = 32;

/// The contents of a State Cookie that passed its MAC (RFC 9260 §5.1.3, §5.2.2).
struct Cookie {
    /// The peer as its INIT described it.
    peer: Peer,
    /// The Initiate Tag of our INIT ACK: our tag in the association the cookie sets up.
    local_tag: u32,
    /// The Initial TSN of our INIT ACK.
    local_tsn: u32,
    /// Local-Tie-Tag: our tag in the association that existed when the cookie was made (0: none).
    local_tie: u32,
    /// Peer's-Tie-Tag: the peer's tag in that association (0: none).
    peer_tie: u32,
    /// How long ago the cookie expired (microseconds), if it has.
    stale_by_us: Option<u64>,
}

/// A sans-IO SCTP association.
pub struct Association {
    cfg: Config,
    state: State,
    epoch: Instant,
    cookie_key: [u8; 32],
    local_vtag: u32,
    local_initial_tsn: u32,
    peer: Option<Peer>,
    cookie_to_echo: Option<Bytes>,
    init_retransmits: u32,
    t1: Option<Instant>,
    t2: Option<Instant>,
    t3: Option<Instant>,
    ack_timer: Option<Instant>,
    hb_timer: Option<Instant>,
    hb_outstanding: bool,
    reconfig_timer: Option<Instant>,
    // --- send side ---
    streams_out: HashMap<u16, OutStream>,
    active: VecDeque<u16>,
    current: Option<u16>,
    next_msg_id: u64,
    queued_bytes: usize,
    above_low_water: bool,
    next_tsn: u32,
    cum_ack: u32,
    inflight: VecDeque<Sent>,
    flight_size: usize,
    rtx_pending: usize,
    fast_rtx_once: bool,
    /// Packets with new data that may still be sent before the next SACK (Max.Burst).
    burst_budget: usize,
    peer_rwnd: usize,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    fast_recovery_exit: Option<u32>,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    error_count: u32,
    // --- receive side ---
    peer_cum: u32,
    out_of_order: BTreeSet<u32>,
    dups: Vec<u32>,
    reasm: BTreeMap<u64, Frag>,
    reasm_base: u32,
    ireasm: BTreeMap<(u16, bool, u32), Partial>,
    /// I-DATA negotiated: both ends listed it in Supported Extensions.
    idata: bool,
    streams_in: HashMap<u16, InStream>,
    rx_buffered: usize,
    /// Part of `rx_buffered` held in incomplete messages.
    rx_partial: usize,
    ack_now: bool,
    ack_pending: bool,
    packets_since_ack: u32,
    last_advertised_rwnd: usize,
    // --- reconfig ---
    reset_queue: Vec<u16>,
    /// Requests in the RE-CONFIG chunk in flight (one chunk at a time, at most two
    /// requests, RFC 6525 §3.1).
    reconfig_inflight: Vec<PendingReq>,
    /// Streams to add, not yet requested.
    add_out_queue: u32,
    add_in_queue: u32,
    next_req_seq: u32,
    peer_next_req_seq: u32,
    deferred_incoming: Option<(u32, u32, Vec<u16>)>,
    last_responses: VecDeque<(u32, u32)>,
    /// Stream counts usable now (RFC 9260 §5.1.1: the smaller of what each side offered),
    /// grown by RE-CONFIG add requests (RFC 6525 §5.1.5, §5.2.5).
    out_streams: u16,
    in_streams: u16,
    /// Counter for tags and TSNs drawn after construction (restart, stale cookie retry).
    tag_counter: u64,
    /// Handshakes started again after a Stale Cookie error (§5.2.6).
    stale_retries: u32,
    /// First error cause of the ABORT that ended the association, if any.
    abort_cause: Option<u16>,
    /// When the last ERROR reporting unrecognized chunks was queued.
    last_error_report: Option<Instant>,
    /// Peer tags this association moved away from in a collision (§5.2.4 B): the peer
    /// never uses them again, so cookies naming them are old duplicates.
    abandoned_peer_tags: VecDeque<u32>,
    // --- output ---
    control: VecDeque<Chunk>,
    transmits: VecDeque<Bytes>,
    events: VecDeque<Event>,
    stats: Stats,
    shutdown_requested: bool,
    /// Latest time the caller gave us; `poll_transmit` stamps packets with it.
    now: Instant,
}

impl std::fmt::Debug for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association")
            .field("state", &self.state)
            .field("local_vtag", &self.local_vtag)
            .field("cwnd", &self.cwnd)
            .field("flight_size", &self.flight_size)
            .finish_non_exhaustive()
    }
}

impl Association {
    /// Creates an association in the CLOSED state. It answers a peer's INIT (passive open)
    /// or starts one with [`connect`](Self::connect). Randomness (verification tag, initial
    /// TSN, cookie key) comes from `rng`.
    pub fn new(config: Config, now: Instant, rng: &mut impl RngCore) -> Self {
        let mut cookie_key = [0u8; 32];
        rng.fill_bytes(&mut cookie_key);
        let mut local_vtag = rng.next_u32();
        if local_vtag == 0 {
            local_vtag = 1;
        }
        let local_initial_tsn = rng.next_u32();
        let mtu = config.max_packet_size;
        let rto = config.rto_initial;
        let rwnd = config.receive_buffer_size;
        Self {
            state: State::Closed,
            epoch: now,
            cookie_key,
            local_vtag,
            local_initial_tsn,
            peer: None,
            cookie_to_echo: None,
            init_retransmits: 0,
            t1: None,
            t2: None,
            t3: None,
            ack_timer: None,
            hb_timer: None,
            hb_outstanding: false,
            reconfig_timer: None,
            streams_out: HashMap::new(),
            active: VecDeque::new(),
            current: None,
            next_msg_id: 0,
            queued_bytes: 0,
            above_low_water: false,
            next_tsn: local_initial_tsn,
            cum_ack: local_initial_tsn.wrapping_sub(1),
            inflight: VecDeque::new(),
            flight_size: 0,
            rtx_pending: 0,
            fast_rtx_once: false,
            burst_budget: config.max_burst,
            peer_rwnd: 0,
            cwnd: initial_cwnd(mtu),
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
            fast_recovery_exit: None,
            srtt: None,
            rttvar: Duration::ZERO,
            rto,
            error_count: 0,
            peer_cum: 0,
            out_of_order: BTreeSet::new(),
            dups: Vec::new(),
            reasm: BTreeMap::new(),
            reasm_base: 0,
            ireasm: BTreeMap::new(),
            idata: false,
            streams_in: HashMap::new(),
            rx_buffered: 0,
            rx_partial: 0,
            ack_now: false,
            ack_pending: false,
            packets_since_ack: 0,
            last_advertised_rwnd: rwnd,
            reset_queue: Vec::new(),
            reconfig_inflight: Vec::new(),
            add_out_queue: 0,
            add_in_queue: 0,
            next_req_seq: local_initial_tsn,
            peer_next_req_seq: 0,
            deferred_incoming: None,
            last_responses: VecDeque::new(),
            out_streams: 0,
            in_streams: 0,
            tag_counter: 0,
            stale_retries: 0,
            abort_cause: None,
            last_error_report: None,
            abandoned_peer_tags: VecDeque::new(),
            control: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            shutdown_requested: false,
            now,
            cfg: config,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Our verification tag (the tag the peer puts in its packets).
    pub fn local_verification_tag(&self) -> u32 {
        self.local_vtag
    }

    /// Received bytes held in reassembly, reordering and undelivered messages; bounded by
    /// `receive_buffer_size + 2 * max_message_size`.
    pub fn received_bytes_buffered(&self) -> usize {
        self.rx_buffered
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Current RTO.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// Current congestion window in bytes.
    pub fn cwnd(&self) -> usize {
        self.cwnd
    }

    /// Bytes queued for sending and not yet handed to the network, over all streams.
    pub fn buffered_amount_total(&self) -> usize {
        self.queued_bytes
    }

    /// Bytes queued on `stream` and not yet sent (the W3C `bufferedAmount`).
    pub fn buffered_amount(&self, stream: u16) -> usize {
        self.streams_out.get(&stream).map_or(0, |s| s.buffered)
    }

    /// Bytes ever queued on `stream` with [`send`](Self::send). Minus
    /// [`buffered_amount`](Self::buffered_amount), the position in the stream's byte
    /// sequence up to which data has left the queue (sent or abandoned).
    pub fn stream_bytes_queued(&self, stream: u16) -> u64 {
        self.streams_out.get(&stream).map_or(0, |s| s.queued_total)
    }

    /// Sets the threshold below which [`Event::BufferedAmountLow`] fires for `stream`.
    pub fn set_buffered_amount_low_threshold(&mut self, stream: u16, threshold: usize) {
        self.streams_out.entry(stream).or_default().low_threshold = threshold;
    }

    /// Whether the peer negotiated PR-SCTP.
    pub fn peer_supports_forward_tsn(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| p.forward_tsn)
    }

    /// Whether I-DATA (RFC 8260) is in use: both ends enabled it.
    pub fn idata_negotiated(&self) -> bool {
        self.idata
    }

    /// Whether zero checksums are in use in both directions (RFC 9653).
    pub fn zero_checksum_negotiated(&self) -> bool {
        self.cfg.zero_checksum && self.peer.as_ref().is_some_and(|p| p.zero_checksum)
    }

    fn mtu(&self) -> usize {
        self.cfg.max_packet_size
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    // ------------------------------------------------------------------ handshake

    fn init_params(&self) -> Vec<Param> {
        let mut exts = vec![chunk_type::FORWARD_TSN, chunk_type::RE_CONFIG];
        if self.cfg.enable_idata {
            exts.push(chunk_type::I_DATA);
            exts.push(chunk_type::I_FORWARD_TSN);
        }
        let mut params = vec![
            Param::ForwardTsnSupported,
            Param::SupportedExtensions(Bytes::from(exts)),
        ];
        if self.cfg.zero_checksum {
            params.push(Param::ZeroChecksumAcceptable { edmid: EDMID_DTLS });
        }
        params
    }

    /// Starts the handshake by sending INIT (active open). Both ends of a WebRTC
    /// association usually do this at once; the INIT collision is handled (§5.2.1).
    pub fn connect(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state != State::Closed {
            return;
        }
        self.state = State::CookieWait;
        self.init_retransmits = 0;
        self.send_init();
        self.t1 = Some(now + self.rto);
    }

    fn send_init(&mut self) {
        let init = InitChunk {
            initiate_tag: self.local_vtag,
            a_rwnd: self.cfg.receive_buffer_size as u32,
            num_outbound_streams: self.cfg.num_streams,
            num_inbound_streams: self.cfg.num_streams,
            initial_tsn: self.local_initial_tsn,
            params: self.init_params(),
        };
        self.send_single(0, Chunk::Init(init), true);
    }

    fn send_single(&mut self, vtag: u32, chunk: Chunk, crc: bool) {
        let p = Packet {
            header: CommonHeader {
                src_port: self.cfg.local_port,
                dst_port: self.cfg.remote_port,
                verification_tag: vtag,
            },
            chunks: vec![chunk],
        };
        let zero = !crc && self.zero_checksum_negotiated();
        self.transmits.push_back(p.to_bytes(zero));
    }

    fn peer_from_init(init: &InitChunk) -> Peer {
        let mut p = Peer {
            vtag: init.initiate_tag,
            a_rwnd: init.a_rwnd,
            initial_tsn: init.initial_tsn,
            num_in: init.num_inbound_streams,
            num_out: init.num_outbound_streams,
            forward_tsn: false,
            reconfig: false,
            zero_checksum: false,
            idata: false,
        };
        for param in &init.params {
            match param {
                Param::ForwardTsnSupported => p.forward_tsn = true,
                Param::SupportedExtensions(e) => {
                    p.reconfig |= e.contains(&chunk_type::RE_CONFIG);
                    p.forward_tsn |= e.contains(&chunk_type::FORWARD_TSN);
                    p.idata |=
                        e.contains(&chunk_type::I_DATA) && e.contains(&chunk_type::I_FORWARD_TSN);
                }
                Param::ZeroChecksumAcceptable { edmid } => p.zero_checksum = *edmid == EDMID_DTLS,
                _ => {}
            }
        }
        p
    }

    /// Builds the State Cookie of an INIT ACK (RFC 9260 §5.1.3): everything needed to create
    /// the association later, the Tie-Tags of §5.2.2 and a timestamp, under an HMAC-SHA256
    /// with a key only we know.
    fn make_cookie(
        &self,
        now: Instant,
        peer: &Peer,
        local_tag: u32,
        local_tsn: u32,
        tie: (u32, u32),
    ) -> Bytes {
        let mut b = BytesMut::with_capacity(COOKIE_BODY_LEN + COOKIE_MAC_LEN);
        b.put_u32(peer.vtag);
        b.put_u32(local_tag);
        b.put_u32(peer.a_rwnd);
        b.put_u32(peer.initial_tsn);
        b.put_u32(local_tsn);
        b.put_u32(tie.0);
        b.put_u32(tie.1);
        b.put_u16(peer.num_in);
        b.put_u16(peer.num_out);
        b.put_u8(
            (peer.forward_tsn as u8)
                | (peer.reconfig as u8) << 1
                | (peer.zero_checksum as u8) << 2
                | (peer.idata as u8) << 3,
        );
        b.put_u64(self.now_ms(now));
        let mac = self.cookie_mac(&b);
        b.put_slice(&mac);
        b.freeze()
    }

    /// A fresh, unpredictable 32-bit value (new Initiate Tags and initial TSNs after
    /// construction, RFC 9260 §5.3.1). Derived with HMAC-SHA256 from the secret key drawn from
    /// the caller's RNG, so the state machine needs no RNG after `new` and stays deterministic
    /// for a given seed.
    fn fresh_u32(&mut self) -> u32 {
        self.tag_counter = self.tag_counter.wrapping_add(1);
        let mut input = [0u8; 24];
        input[..16].copy_from_slice(b"ferrtc-sctp-tag\0");
        input[16..].copy_from_slice(&self.tag_counter.to_be_bytes());
        let mac = self.cookie_mac(&input);
        let v = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
        if v == 0 {
            1
        } else {
            v
        }
    }

    fn cookie_mac(&self, body: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so new_from_slice cannot fail for 32 bytes.
        let mut out = [0u8; 32];
        if let Ok(mut m) = HmacSha256::new_from_slice(&self.cookie_key) {
            m.update(body);
            out.copy_from_slice(&m.finalize().into_bytes());
        }
        out
    }

    /// Checks a State Cookie's MAC and unpacks it (RFC 9260 §5.1.5 steps 1, 2). Its age is
    /// reported, not judged: whether a stale cookie is still acceptable depends on the
    /// association's tags (§5.2.4 step 3).
    fn open_cookie(&self, now: Instant, cookie: &[u8]) -> Result<Cookie, Error> {
        if cookie.len() != COOKIE_BODY_LEN + COOKIE_MAC_LEN {
            return Err(Error::BadCookie("wrong length"));
        }
        let (body, mac) = cookie.split_at(COOKIE_BODY_LEN);
        let mut m =
            HmacSha256::new_from_slice(&self.cookie_key).map_err(|_| Error::BadCookie("key"))?;
        m.update(body);
        m.verify_slice(mac)
            .map_err(|_| Error::BadCookie("MAC mismatch"))?;
        let mut r = crate::chunk::Reader::new(body, 0, "state cookie");
        let vtag = r.u32()?;
        let local_tag = r.u32()?;
        let a_rwnd = r.u32()?;
        let initial_tsn = r.u32()?;
        let local_tsn = r.u32()?;
        let local_tie = r.u32()?;
        let peer_tie = r.u32()?;
        let num_in = r.u16()?;
        let num_out = r.u16()?;
        let f = r.u8()?;
        let hi = r.u32()? as u64;
        let lo = r.u32()? as u64;
        let created = hi << 32 | lo;
        let age = self.now_ms(now).saturating_sub(created);
        let life = self.cfg.cookie_lifetime.as_millis() as u64;
        let stale_by_us = (age > life).then(|| (age - life).saturating_mul(1000));
        Ok(Cookie {
            peer: Peer {
                vtag,
                a_rwnd,
                initial_tsn,
                num_in,
                num_out,
                forward_tsn: f & 1 != 0,
                reconfig: f & 2 != 0,
                zero_checksum: f & 4 != 0,
                idata: f & 8 != 0,
            },
            local_tag,
            local_tsn,
            local_tie,
            peer_tie,
            stale_by_us,
        })
    }

    fn establish(&mut self, now: Instant, peer: Peer) {
        self.peer_cum = peer.initial_tsn.wrapping_sub(1);
        self.reasm_base = self.peer_cum;
        self.peer_rwnd = peer.a_rwnd as usize;
        self.ssthresh = peer.a_rwnd as usize;
        self.peer_next_req_seq = peer.initial_tsn;
        self.idata = self.cfg.enable_idata && peer.idata;
        // Usable streams: what we offered and what the peer can take (RFC 9260 §5.1.1).
        self.out_streams = self.cfg.num_streams.min(peer.num_in);
        self.in_streams = self.cfg.num_streams.min(peer.num_out);
        self.peer = Some(peer);
        self.state = State::Established;
        self.t1 = None;
        self.cookie_to_echo = None;
        self.error_count = 0;
        self.hb_timer = self.cfg.heartbeat_interval.map(|i| now + i);
        debug!(vtag = self.local_vtag, "sctp association established");
        self.events.push_back(Event::Connected);
    }

    // ------------------------------------------------------------------ user commands

    /// Queues a user message on `stream`.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        payload: Bytes,
        opts: SendOptions,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        match self.state {
            State::Established => {}
            State::Closed if self.peer.is_some() => return Err(Error::Closed),
            State::Closed | State::CookieWait | State::CookieEchoed => {
                return Err(Error::NotEstablished)
            }
            _ => return Err(Error::Closed),
        }
        if payload.is_empty() {
            return Err(Error::EmptyMessage);
        }
        if payload.len() > self.cfg.max_message_size {
            return Err(Error::MessageTooLarge {
                size: payload.len(),
                max: self.cfg.max_message_size,
            });
        }
        if stream >= self.out_streams {
            return Err(Error::InvalidStream(stream));
        }
        if self.queued_bytes + payload.len() > self.cfg.send_buffer_size {
            return Err(Error::SendBufferFull {
                buffered: self.queued_bytes,
                limit: self.cfg.send_buffer_size,
            });
        }
        let s = self.streams_out.entry(stream).or_default();
        if s.resetting {
            return Err(Error::StreamResetting(stream));
        }
        let len = payload.len();
        let was_empty = s.queue.is_empty();
        s.queue.push_back(OutMessage {
            id: self.next_msg_id,
            ppid,
            payload,
            offset: 0,
            unordered: opts.unordered,
            seq: 0,
            fsn: 0,
            max_rtx: opts.max_retransmits,
            expires: opts.lifetime.map(|l| now + l),
        });
        s.buffered += len;
        s.queued_total += len as u64;
        self.next_msg_id += 1;
        self.queued_bytes += len;
        if self.flight_size == 0 {
            // Nothing in flight means no SACK will come to refill the burst budget.
            self.burst_budget = self.burst_budget.max(self.cfg.max_burst);
        }
        if self.queued_bytes > self.cfg.send_buffer_low_water {
            self.above_low_water = true;
        }
        if was_empty && self.current != Some(stream) {
            self.active.push_back(stream);
        }
        Ok(())
    }

    /// Resets outgoing streams (RFC 6525 §5.1.2), the way a data channel is closed. Queued
    /// messages are sent first; new ones are refused until
    /// [`Event::OutgoingStreamsReset`] arrives.
    pub fn reset_streams(&mut self, streams: &[u16]) -> Result<(), Error> {
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        if !self.peer.as_ref().is_some_and(|p| p.reconfig) {
            return Err(Error::Reset("peer does not support RE-CONFIG"));
        }
        for &s in streams {
            self.streams_out.entry(s).or_default().resetting = true;
            if !self.reset_queue.contains(&s) {
                self.reset_queue.push(s);
            }
        }
        Ok(())
    }

    /// Asks the peer to add streams (RFC 6525 §5.1.5, §5.1.6): `outgoing` more streams for
    /// us to send on, `incoming` more for the peer to send on. New outgoing streams can be
    /// used once [`Event::StreamsAdded`] reports them; a refusal gives
    /// [`Event::AddStreamsDenied`].
    pub fn add_streams(&mut self, outgoing: u16, incoming: u16) -> Result<(), Error> {
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        if !self.peer.as_ref().is_some_and(|p| p.reconfig) {
            return Err(Error::Reset("peer does not support RE-CONFIG"));
        }
        let out_total = u32::from(self.out_streams)
            + self.add_out_queue
            + self.inflight_add_out()
            + u32::from(outgoing);
        let in_total = u32::from(self.in_streams) + self.add_in_queue + u32::from(incoming);
        if out_total > u32::from(u16::MAX) || in_total > u32::from(u16::MAX) {
            return Err(Error::Reset(
                "an association has at most 65535 streams each way",
            ));
        }
        self.add_out_queue += u32::from(outgoing);
        self.add_in_queue += u32::from(incoming);
        Ok(())
    }

    /// The SCTP cause code (RFC 9260 §3.3.10) of the ABORT that ended the association: the
    /// peer's first cause, or User-Initiated Abort for [`abort`](Self::abort). `None` while
    /// the association lives, and when it failed without an ABORT carrying a cause (timeouts).
    pub fn abort_cause(&self) -> Option<u16> {
        self.abort_cause
    }

    /// Largest user message this association sends or reassembles (`Config::max_message_size`).
    pub fn max_message_size(&self) -> usize {
        self.cfg.max_message_size
    }

    /// Streams we may send on now (ids `0..n`), as negotiated and added.
    pub fn outbound_streams(&self) -> u16 {
        self.out_streams
    }

    /// Streams the peer may send on now.
    pub fn inbound_streams(&self) -> u16 {
        self.in_streams
    }

    /// Starts a graceful shutdown (RFC 9260 §9.2): queued data is delivered first.
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.shutdown_requested = true;
                self.maybe_progress_shutdown(now);
            }
            State::CookieWait | State::CookieEchoed => self.abort("shutdown before establishment"),
            _ => {}
        }
    }

    /// Aborts the association (RFC 9260 §9.1), telling the peer.
    pub fn abort(&mut self, reason: &str) {
        self.abort_with(
            cause_code::USER_INITIATED_ABORT,
            Bytes::copy_from_slice(reason.as_bytes()),
            reason,
        );
    }

    /// Aborts the association with one error cause (RFC 9260 §3.3.7, §3.3.10): the peer is
    /// told `code` and `info`, the layer above gets `reason`.
    fn abort_with(&mut self, code: u16, info: Bytes, reason: &str) {
        if let Some(p) = &self.peer {
            if self.state != State::Closed {
                self.abort_cause = Some(code);
                let vtag = p.vtag;
                let causes = vec![ErrorCause { code, info }];
                self.send_single(
                    vtag,
                    Chunk::Abort {
                        reflected_tag: false,
                        causes,
                    },
                    true,
                );
            }
        }
        self.close_with(Event::Aborted {
            reason: reason.to_string(),
        });
    }

    /// Aborts with a "Protocol Violation" cause (RFC 9260 §3.3.10.13) saying what the peer did.
    fn protocol_violation(&mut self, what: &str) {
        self.abort_with(
            cause_code::PROTOCOL_VIOLATION,
            Bytes::copy_from_slice(what.as_bytes()),
            what,
        );
    }

    fn close_with(&mut self, ev: Event) {
        if self.state == State::Closed && self.peer.is_none() {
            if matches!(ev, Event::Aborted { .. }) {
                self.events.push_back(ev);
            }
            return;
        }
        let was_closed = self.state == State::Closed;
        self.state = State::Closed;
        self.t1 = None;
        self.t2 = None;
        self.t3 = None;
        self.ack_timer = None;
        self.hb_timer = None;
        self.reconfig_timer = None;
        self.control.clear();
        if !was_closed {
            self.events.push_back(ev);
        }
        // Keep `peer` so `send` reports Closed.
        if self.peer.is_none() {
            self.peer = Some(Peer {
                vtag: 0,
                a_rwnd: 0,
                initial_tsn: 0,
                num_in: 0,
                num_out: 0,
                forward_tsn: false,
                reconfig: false,
                zero_checksum: false,
                idata: false,
            });
        }
    }

    // ------------------------------------------------------------------ receive

    /// Processes one received SCTP packet.
    pub fn handle_receive(&mut self, now: Instant, datagram: Bytes) -> Result<(), Error> {
        self.now = self.now.max(now);
        let mode = if self.cfg.zero_checksum {
            ChecksumMode::ZeroAllowed
        } else {
            ChecksumMode::Crc32c
        };
        let res = self.receive_inner(now, datagram, mode);
        if res.is_err() {
            self.stats.packets_dropped += 1;
        }
        res
    }

    fn receive_inner(
        &mut self,
        now: Instant,
        datagram: Bytes,
        mode: ChecksumMode,
    ) -> Result<(), Error> {
        // Kept (a reference count, no copy) to answer a malformed INIT below.
        let raw = datagram.clone();
        let (header, iter) = Packet::parse_lazy(datagram, mode)?;
        if header.dst_port != self.cfg.local_port || header.src_port != self.cfg.remote_port {
            return Err(Error::InvalidValue {
                what: "SCTP port",
                offset: 0,
            });
        }
        // Parse every chunk first: a malformed packet is dropped as a whole (an INIT gets an
        // ABORT too, see `answer_malformed_init`).
        let chunks: Vec<Chunk> = match iter.collect::<Result<_, _>>() {
            Ok(c) => c,
            Err(e) => {
                self.answer_malformed_init(header.verification_tag, &raw);
                return Err(e);
            }
        };
        let vtag = header.verification_tag;
        let first = chunks.first().map(Chunk::chunk_type);
        // Verification tag rules (RFC 9260 §8.5, §8.5.1).
        match first {
            Some(chunk_type::INIT) => {
                if vtag != 0 || chunks.len() != 1 {
                    return Err(Error::InvalidValue {
                        what: "INIT packet",
                        offset: 4,
                    });
                }
            }
            Some(chunk_type::ABORT) | Some(chunk_type::SHUTDOWN_COMPLETE) => {
                let t = matches!(
                    chunks.first(),
                    Some(Chunk::Abort {
                        reflected_tag: true,
                        ..
                    }) | Some(Chunk::ShutdownComplete {
                        reflected_tag: true
                    })
                );
                let expected = if t {
                    self.peer.as_ref().map_or(0, |p| p.vtag)
                } else {
                    self.local_vtag
                };
                if vtag != expected {
                    return Err(Error::BadVerificationTag {
                        received: vtag,
                        expected,
                    });
                }
            }
            Some(chunk_type::COOKIE_ECHO) => {} // checked against the cookie
            Some(chunk_type::SHUTDOWN_ACK)
                if self.state == State::Closed || self.state == State::CookieWait =>
            {
                // §8.4 (5): reply SHUTDOWN COMPLETE with T bit.
                self.send_single(
                    vtag,
                    Chunk::ShutdownComplete {
                        reflected_tag: true,
                    },
                    true,
                );
                return Ok(());
            }
            _ => {
                if vtag != self.local_vtag {
                    return Err(Error::BadVerificationTag {
                        received: vtag,
                        expected: self.local_vtag,
                    });
                }
            }
        }
        self.stats.packets_received += 1;
        let mut got_data = false;
        let mut immediate = false;
        // Unrecognized chunks to report: all of a packet's go into one ERROR chunk.
        let mut unrecognized: Vec<ErrorCause> = Vec::new();
        for chunk in chunks {
            match chunk {
                Chunk::Data(d) if !self.idata => {
                    if !matches!(
                        self.state,
                        State::Established | State::ShutdownPending | State::ShutdownSent
                    ) {
                        continue;
                    }
                    if d.payload.is_empty() {
                        self.no_user_data(d.tsn);
                        return Ok(());
                    }
                    got_data = true;
                    immediate |= d.immediate;
                    self.on_data(d)?;
                }
                Chunk::IData(d) if self.idata => {
                    if !matches!(
                        self.state,
                        State::Established | State::ShutdownPending | State::ShutdownSent
                    ) {
                        continue;
                    }
                    if d.payload.is_empty() {
                        self.no_user_data(d.tsn);
                        return Ok(());
                    }
                    got_data = true;
                    immediate |= d.immediate;
                    self.on_idata(d);
                }
                Chunk::IForwardTsn {
                    new_cum_tsn,
                    streams,
                } if self.idata => {
                    got_data = true;
                    let entries: Vec<(u16, bool, u32)> = streams
                        .iter()
                        .map(|e| (e.stream_id, e.unordered, e.mid))
                        .collect();
                    self.on_forward_tsn(new_cum_tsn, &entries);
                }
                Chunk::Init(init) => self.on_init(now, init),
                Chunk::InitAck(ack) => self.on_init_ack(now, ack),
                Chunk::CookieEcho { cookie } => {
                    if !self.on_cookie_echo(now, &cookie, vtag)? {
                        return Ok(());
                    }
                }
                Chunk::CookieAck => {
                    if self.state == State::CookieEchoed {
                        if let Some(peer) = self.peer.take() {
                            self.establish(now, peer);
                        }
                    }
                }
                Chunk::Sack(s) => self.on_sack(now, s),
                Chunk::Heartbeat { info } => {
                    if let Some(p) = &self.peer {
                        let vt = p.vtag;
                        self.control.push_back(Chunk::HeartbeatAck { info });
                        let _ = vt;
                    }
                }
                Chunk::HeartbeatAck { info } => self.on_heartbeat_ack(now, &info),
                Chunk::Abort { causes, .. } => {
                    self.abort_cause = causes.first().map(|c| c.code);
                    let reason = causes
                        .first()
                        .map(|c| format!("peer abort, cause {}", c.code))
                        .unwrap_or_else(|| "peer abort".to_string());
                    self.close_with(Event::Aborted { reason });
                    return Ok(());
                }
                Chunk::Shutdown { cum_tsn_ack } => self.on_shutdown(now, cum_tsn_ack),
                Chunk::ShutdownAck => {
                    if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
                        let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
                        self.send_single(
                            vt,
                            Chunk::ShutdownComplete {
                                reflected_tag: false,
                            },
                            false,
                        );
                        self.close_with(Event::Closed);
                        return Ok(());
                    }
                }
                Chunk::ShutdownComplete { .. } => {
                    if self.state == State::ShutdownAckSent {
                        self.close_with(Event::Closed);
                        return Ok(());
                    }
                }
                Chunk::Error { causes } => {
                    for c in causes {
                        debug!(code = c.code, "sctp peer reported error");
                        if c.code == cause_code::STALE_COOKIE && self.state == State::CookieEchoed {
                            self.on_stale_cookie(now);
                            return Ok(());
                        }
                    }
                }
                Chunk::ForwardTsn {
                    new_cum_tsn,
                    streams,
                } if !self.idata => {
                    got_data = true;
                    let entries: Vec<(u16, bool, u32)> = streams
                        .iter()
                        .map(|e| (e.stream_id, false, u32::from(e.ssn)))
                        .collect();
                    self.on_forward_tsn(new_cum_tsn, &entries);
                }
                Chunk::IData(_)
                | Chunk::IForwardTsn { .. }
                | Chunk::Data(_)
                | Chunk::ForwardTsn { .. } => {
                    // The wrong one of DATA / I-DATA for what was negotiated (RFC 8260 §2.2).
                    self.protocol_violation("DATA / I-DATA mismatch with negotiation");
                    return Ok(());
                }
                Chunk::ReConfig { params } => self.on_reconfig(now, params),
                Chunk::Pad { .. } => {}
                Chunk::Unknown {
                    chunk_type: t,
                    value,
                    flags,
                } => match UnrecognizedAction::for_chunk_type(t) {
                    UnrecognizedAction::Stop => break,
                    UnrecognizedAction::StopAndReport => {
                        self.collect_unrecognized(&mut unrecognized, t, flags, &value);
                        break;
                    }
                    UnrecognizedAction::Skip => {}
                    UnrecognizedAction::SkipAndReport => {
                        self.collect_unrecognized(&mut unrecognized, t, flags, &value)
                    }
                },
            }
        }
        self.report_unrecognized(now, unrecognized);
        if got_data {
            self.packets_since_ack += 1;
            if immediate
                || self.packets_since_ack >= 2
                || !self.out_of_order.is_empty()
                || !self.dups.is_empty()
            {
                self.ack_now = true;
            } else {
                self.ack_pending = true;
                if self.ack_timer.is_none() {
                    self.ack_timer = Some(now + self.cfg.delayed_ack);
                }
            }
            if self.state == State::ShutdownSent {
                // §9.2: answer DATA with SACK and SHUTDOWN.
                self.ack_now = true;
                self.control.push_back(Chunk::Shutdown {
                    cum_tsn_ack: self.peer_cum,
                });
            }
            self.process_deferred_reset(now);
        }
        self.maybe_progress_shutdown(now);
        Ok(())
    }

    /// §5.2.6 alternative 1: a Stale Cookie error in COOKIE-ECHOED starts the handshake
    /// again with a new INIT (other states discard the error). The retry uses a new tag, so a
    /// late COOKIE ECHO of the old attempt cannot be confused with the new one (§5.2.4 C),
    /// and counts against Max.Init.Retransmits so a peer cannot keep us retrying forever.
    fn on_stale_cookie(&mut self, now: Instant) {
        self.stale_retries += 1;
        if self.stale_retries > self.cfg.max_init_retransmits {
            self.close_with(Event::Aborted {
                reason: "handshake failed: state cookies kept going stale".into(),
            });
            return;
        }
        self.local_vtag = self.fresh_u32();
        self.local_initial_tsn = self.fresh_u32();
        self.next_tsn = self.local_initial_tsn;
        self.cum_ack = self.local_initial_tsn.wrapping_sub(1);
        self.next_req_seq = self.local_initial_tsn;
        self.peer = None;
        self.cookie_to_echo = None;
        self.state = State::CookieWait;
        self.init_retransmits = 0;
        self.send_init();
        self.t1 = Some(now + self.rto);
    }

    /// Adds an "Unrecognized Chunk Type" cause (RFC 9260 §3.3.10.6: the whole chunk, header
    /// included) for a chunk whose type asks to be reported (upper bits 01 or 11, §3.2), as
    /// long as the causes of this packet fit in half a packet. Later ones are not reported.
    fn collect_unrecognized(&self, causes: &mut Vec<ErrorCause>, t: u8, flags: u8, value: &Bytes) {
        let used: usize = causes.iter().map(|c| pad4(4 + c.info.len())).sum();
        let this = pad4(4 + 4 + value.len());
        if self.peer.is_none() || used + this > self.mtu() / 2 {
            return;
        }
        let Ok(len) = u16::try_from(4 + value.len()) else {
            return;
        };
        let mut info = BytesMut::with_capacity(4 + value.len());
        info.put_u8(t);
        info.put_u8(flags);
        info.put_u16(len);
        info.put_slice(value);
        causes.push(ErrorCause {
            code: cause_code::UNRECOGNIZED_CHUNK_TYPE,
            info: info.freeze(),
        });
    }

    /// Sends the unrecognized-chunk causes of one packet in one ERROR chunk, at most one such
    /// ERROR every [`ERROR_REPORT_INTERVAL`] (10 a second): a peer that fills packets with
    /// unknown chunks gets a bounded answer, never one ERROR per chunk (RFC 9260 §12.4: no
    /// more than one packet of control chunks in answer to one packet).
    fn report_unrecognized(&mut self, now: Instant, causes: Vec<ErrorCause>) {
        if causes.is_empty() {
            return;
        }
        if self
            .last_error_report
            .is_some_and(|t| now.saturating_duration_since(t) < ERROR_REPORT_INTERVAL)
        {
            self.stats.errors_not_reported += 1;
            return;
        }
        self.last_error_report = Some(now);
        self.control.push_back(Chunk::Error { causes });
    }

    /// "No User Data" (RFC 9260 §6.2: a DATA chunk with Length 16 "SHOULD" be answered with
    /// an ABORT carrying this cause; §3.3.10.9: the cause names the chunk's TSN). RFC 8260
    /// §2.1 carries the rule over to I-DATA.
    fn no_user_data(&mut self, tsn: u32) {
        self.abort_with(
            cause_code::NO_USER_DATA,
            Bytes::copy_from_slice(&tsn.to_be_bytes()),
            "peer sent DATA with no user data",
        );
    }

    /// An INIT that fails to parse although its fixed fields are readable: a parameter runs
    /// past the end of the chunk, a parameter has an impossible length, or a stream count is
    /// 0. RFC 9260 §5.1: an endpoint that "decides not to establish the new association due
    /// to missing mandatory parameters in the received INIT [...] invalid parameter values
    /// [...] SHOULD respond with an ABORT chunk", with a cause, and with the Verification Tag
    /// "set to the Initiate Tag value of the received INIT"; §3.3.2 says the same for OS or
    /// MIS 0, and that the existing association (if any) MUST NOT change. The cause is
    /// "Invalid Mandatory Parameter" (§3.3.10.7) for a zero stream count and "Protocol
    /// Violation" (§3.3.10.13) naming the problem otherwise. An Initiate Tag of 0 is
    /// silently discarded (§3.3.2), as are INITs in packets with a non-zero tag (§8.5.1).
    fn answer_malformed_init(&mut self, packet_vtag: u32, raw: &Bytes) {
        let Some(&[ty, flags, l0, l1]) = raw.get(COMMON_HEADER_LEN..COMMON_HEADER_LEN + 4) else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if packet_vtag != 0 || ty != chunk_type::INIT || len < 20 {
            return;
        }
        let Some(value) = raw.get(COMMON_HEADER_LEN + 4..COMMON_HEADER_LEN + len) else {
            return; // the chunk itself overruns the packet: nothing to answer
        };
        let Some(&[t0, t1, t2, t3]) = value.get(..4) else {
            return;
        };
        let initiate_tag = u32::from_be_bytes([t0, t1, t2, t3]);
        if initiate_tag == 0 {
            return;
        }
        let err = match Chunk::parse(
            ty,
            flags,
            raw.slice(COMMON_HEADER_LEN + 4..COMMON_HEADER_LEN + len),
            16,
        ) {
            Ok(_) => return, // the INIT is fine; something after it is not
            Err(e) => e,
        };
        let streams_zero = matches!(value.get(8..12), Some(&[0, 0, _, _] | &[_, _, 0, 0]));
        let cause = if streams_zero {
            ErrorCause {
                code: cause_code::INVALID_MANDATORY_PARAMETER,
                info: Bytes::new(),
            }
        } else {
            ErrorCause {
                code: cause_code::PROTOCOL_VIOLATION,
                info: Bytes::from(err.to_string()),
            }
        };
        debug!(%err, "sctp: malformed INIT answered with ABORT");
        self.send_single(
            initiate_tag,
            Chunk::Abort {
                reflected_tag: false,
                causes: vec![cause],
            },
            true,
        );
    }

    /// INIT: answered statelessly with an INIT ACK and a cookie when there is no association;
    /// collisions and unexpected INITs follow RFC 9260 §5.2.1 and §5.2.2.
    fn on_init(&mut self, now: Instant, init: InitChunk) {
        let current_peer = self.peer.as_ref().map(|p| p.vtag);
        let (local_tag, local_tsn, tie) = match self.state {
            // §9.2: the SHUTDOWN COMPLETE was probably lost; discard and repeat SHUTDOWN ACK.
            State::ShutdownAckSent => {
                let vt = current_peer.unwrap_or(0);
                self.send_single(vt, Chunk::ShutdownAck, false);
                return;
            }
            State::Closed if self.peer.is_some() => {
                // This association has ended and cannot be set up again: say so at once
                // (ABORT with the INIT's Initiate Tag, T bit clear, §8.4 / §8.5.1 B).
                self.send_single(
                    init.initiate_tag,
                    Chunk::Abort {
                        reflected_tag: false,
                        causes: vec![],
                    },
                    true,
                );
                return;
            }
            // No TCB, or INIT sent (§5.2.1): our original parameters, no Tie-Tags.
            State::Closed | State::CookieWait => (self.local_vtag, self.local_initial_tsn, (0, 0)),
            // §5.2.1: the original parameters, and Tie-Tags so a COOKIE ECHO of this cookie
            // can be matched against the forming association.
            State::CookieEchoed => (
                self.local_vtag,
                self.local_initial_tsn,
                (self.local_vtag, current_peer.unwrap_or(0)),
            ),
            // §5.2.2: an established association answers with a new Initiate Tag and the
            // current tags as Tie-Tags, and changes nothing. Only a COOKIE ECHO of this
            // cookie that matches the Tie-Tags can then restart the association (§5.2.4 A).
            State::Established
            | State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownReceived => {
                let tag = self.fresh_u32();
                let tsn = self.fresh_u32();
                (tag, tsn, (self.local_vtag, current_peer.unwrap_or(0)))
            }
        };
        let peer = Self::peer_from_init(&init);
        let cookie = self.make_cookie(now, &peer, local_tag, local_tsn, tie);
        let mut params = self.init_params();
        params.insert(0, Param::StateCookie(cookie));
        let ack = InitChunk {
            initiate_tag: local_tag,
            a_rwnd: self.cfg.receive_buffer_size as u32,
            num_outbound_streams: self.cfg.num_streams.min(init.num_inbound_streams),
            num_inbound_streams: self.cfg.num_streams,
            initial_tsn: local_tsn,
            params,
        };
        self.send_single(init.initiate_tag, Chunk::InitAck(ack), true);
    }

    fn on_init_ack(&mut self, now: Instant, ack: InitChunk) {
        if self.state != State::CookieWait {
            return;
        }
        let cookie = ack.params.iter().find_map(|p| match p {
            Param::StateCookie(c) => Some(c.clone()),
            _ => None,
        });
        let Some(cookie) = cookie else {
            self.abort("INIT ACK without state cookie");
            return;
        };
        let peer = Self::peer_from_init(&ack);
        let vt = peer.vtag;
        self.peer = Some(peer);
        self.state = State::CookieEchoed;
        self.cookie_to_echo = Some(cookie.clone());
        self.init_retransmits = 0;
        self.t1 = Some(now + self.rto);
        self.send_single(vt, Chunk::CookieEcho { cookie }, true);
    }

    /// COOKIE ECHO (RFC 9260 §5.1.5, and §5.2.4 when an association exists). Returns false
    /// when the rest of the packet must be dropped.
    fn on_cookie_echo(&mut self, now: Instant, cookie: &[u8], vtag: u32) -> Result<bool, Error> {
        let c = self.open_cookie(now, cookie)?;
        // §8.5.1 D / §5.1.5 step 3: the packet carries the tag we chose in the INIT ACK.
        if vtag != c.local_tag {
            return Err(Error::BadVerificationTag {
                received: vtag,
                expected: c.local_tag,
            });
        }
        if self.state == State::Closed && self.peer.is_some() {
            // This association is over; an Association object is not set up twice.
            return Ok(false);
        }
        let tcb = self.state != State::Closed;
        let cur_local = self.local_vtag;
        // The peer's tag is known once its INIT ACK arrived (COOKIE-ECHOED and later).
        let cur_peer = match self.state {
            State::Closed | State::CookieWait => None,
            _ => self.peer.as_ref().map(|p| p.vtag),
        };
        let local_m = c.local_tag == cur_local;
        let peer_m = cur_peer == Some(c.peer.vtag);
        if let Some(stale_by) = c.stale_by_us {
            // §5.2.4 step 3: an old cookie is still good when both of its tags are those of
            // the current association (case E, a retransmitted COOKIE ECHO); otherwise it
            // is answered with a Stale Cookie error (§5.1.5 step 3).
            if !(tcb && local_m && peer_m) {
                let staleness = u32::try_from(stale_by).unwrap_or(u32::MAX);
                let causes = vec![ErrorCause {
                    code: cause_code::STALE_COOKIE,
                    info: Bytes::copy_from_slice(&staleness.to_be_bytes()),
                }];
                self.send_single(c.peer.vtag, Chunk::Error { causes }, true);
                return Ok(false);
            }
        }
        let peer_vtag = c.peer.vtag;
        if !tcb {
            // No association yet (§5.1.5): the cookie must be from an INIT ACK we sent for it.
            if !local_m {
                return Err(Error::BadCookie("tag of another association"));
            }
            self.establish(now, c.peer);
            self.send_single(peer_vtag, Chunk::CookieAck, false);
            return Ok(true);
        }
        // §5.2.4 Table 12.
        let ties_m = c.local_tie == cur_local && Some(c.peer_tie) == cur_peer;
        let ties_0 = c.local_tie == 0 && c.peer_tie == 0;
        if !local_m && !peer_m && ties_m {
            // Action A: the peer restarted.
            if self.state == State::ShutdownAckSent {
                let vt = cur_peer.unwrap_or(0);
                self.send_single(vt, Chunk::ShutdownAck, false);
                self.send_single(
                    peer_vtag,
                    Chunk::Error {
                        causes: vec![ErrorCause {
                            code: cause_code::COOKIE_WHILE_SHUTTING_DOWN,
                            info: Bytes::new(),
                        }],
                    },
                    true,
                );
                return Ok(false);
            }
            debug!(old = cur_local, new = c.local_tag, "sctp peer restart");
            self.restart(now, c);
        } else if local_m && peer_m {
            // Action D: both tags match. In COOKIE-ECHOED this is the normal end of an INIT
            // collision; when established, a retransmitted COOKIE ECHO (case E).
            if self.state == State::CookieEchoed {
                self.establish(now, c.peer);
            }
        } else if local_m {
            // Action B: the peer picked a new tag after answering our INIT. Take its tag;
            // still forming, the cookie describes the peer completely.
            if self.abandoned_peer_tags.contains(&peer_vtag) {
                // A duplicate of a cookie from an attempt we already moved away from:
                // taking it would switch back to a peer tag nobody uses any more.
                trace!("sctp COOKIE ECHO for an abandoned peer tag discarded");
                return Ok(false);
            }
            if let Some(old) = cur_peer {
                if self.abandoned_peer_tags.len() >= 8 {
                    self.abandoned_peer_tags.pop_front();
                }
                self.abandoned_peer_tags.push_back(old);
            }
            match self.state {
                State::CookieWait | State::CookieEchoed => self.establish(now, c.peer),
                _ => self.adopt_peer(c.peer),
            }
            self.t1 = None;
        } else if peer_m && ties_0 {
            // Action C: our own cookie arrived late; silently discard.
            trace!("sctp late COOKIE ECHO discarded (RFC 9260 §5.2.4 C)");
            return Ok(false);
        } else {
            // Not in Table 12: silently discard.
            trace!("sctp COOKIE ECHO matching no case of RFC 9260 §5.2.4 discarded");
            return Ok(false);
        }
        self.send_single(peer_vtag, Chunk::CookieAck, false);
        Ok(true)
    }

    /// §5.2.4 action B when already established: the peer we are talking to is the one that
    /// sent the cookie's INIT. Besides its tag, take its initial TSN (what we received from
    /// an earlier attempt of the peer is in another TSN space and is dropped) and its
    /// parameters. Our send side is kept: what is in flight is retransmitted with the TSNs
    /// the peer expects from our INIT ACK.
    fn adopt_peer(&mut self, peer: Peer) {
        let same_tsn = self
            .peer
            .as_ref()
            .is_some_and(|p| p.initial_tsn == peer.initial_tsn);
        if !same_tsn {
            self.peer_cum = peer.initial_tsn.wrapping_sub(1);
            self.reasm_base = self.peer_cum;
            self.peer_next_req_seq = peer.initial_tsn;
            self.out_of_order.clear();
            self.dups.clear();
            self.reasm.clear();
            self.ireasm.clear();
            self.streams_in.clear();
            self.rx_buffered = 0;
            self.rx_partial = 0;
            self.deferred_incoming = None;
            self.last_responses.clear();
        }
        if self.next_tsn == self.local_initial_tsn {
            // Nothing sent yet: the data format can still follow the new negotiation.
            self.idata = self.cfg.enable_idata && peer.idata;
        }
        self.out_streams = self.cfg.num_streams.min(peer.num_in);
        self.in_streams = self.cfg.num_streams.min(peer.num_out);
        self.peer = Some(peer);
    }

    /// §5.2.4 action A: the peer restarted. The association starts over with the tags and
    /// TSNs of the cookie, as if an ABORT and a new COOKIE ECHO had arrived, except that the
    /// layer above gets [`Event::Restarted`] and queued, unsent user messages are kept.
    fn restart(&mut self, now: Instant, c: Cookie) {
        self.local_vtag = c.local_tag;
        self.local_initial_tsn = c.local_tsn;
        self.restart_state();
        self.establish(now, c.peer);
        self.events.retain(|e| *e != Event::Connected);
        self.events.push_back(Event::Restarted);
    }

    fn restart_state(&mut self) {
        self.inflight.clear();
        self.flight_size = 0;
        self.rtx_pending = 0;
        self.fast_rtx_once = false;
        self.out_of_order.clear();
        self.dups.clear();
        self.reasm.clear();
        self.ireasm.clear();
        self.streams_in.clear();
        self.rx_buffered = 0;
        self.rx_partial = 0;
        // Messages partly handed out start again from their first byte.
        let mut ids: Vec<u16> = Vec::new();
        for (id, s) in self.streams_out.iter_mut() {
            s.next_ssn = 0;
            s.next_umid = 0;
            if let Some(m) = s.queue.front_mut() {
                if m.offset > 0 {
                    s.buffered += m.offset;
                    self.queued_bytes += m.offset;
                    m.offset = 0;
                    m.fsn = 0;
                }
            }
            if !s.queue.is_empty() {
                ids.push(*id);
            }
        }
        ids.sort_unstable();
        self.current = None;
        self.active = ids.into();
        self.next_tsn = self.local_initial_tsn;
        self.cum_ack = self.local_initial_tsn.wrapping_sub(1);
        // Congestion control starts over (§5.2.4 A).
        self.cwnd = initial_cwnd(self.mtu());
        self.ssthresh = usize::MAX;
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.burst_budget = self.cfg.max_burst;
        self.srtt = None;
        self.rttvar = Duration::ZERO;
        self.rto = self.cfg.rto_initial;
        self.t3 = None;
        self.ack_timer = None;
        self.ack_now = false;
        self.ack_pending = false;
        self.packets_since_ack = 0;
        self.hb_outstanding = false;
        self.control.clear();
        // RE-CONFIG sequence numbers restart from the new initial TSNs; a reset that was in
        // flight is asked for again.
        self.next_req_seq = self.local_initial_tsn;
        self.requeue_reconfig();
        self.deferred_incoming = None;
        self.last_responses.clear();
        self.reconfig_timer = None;
    }

    // ---- DATA receive

    /// Records a received TSN (§6.2): false when it is a duplicate or must be dropped.
    fn accept_tsn(&mut self, tsn: u32, len: usize) -> bool {
        if tsn_le(tsn, self.peer_cum) || self.out_of_order.contains(&tsn) {
            self.stats.duplicate_tsns += 1;
            if self.dups.len() < 16 {
                self.dups.push(tsn);
            }
            return false;
        }
        let distance = tsn.wrapping_sub(self.peer_cum) as usize;
        let max_ahead = (self.cfg.receive_buffer_size / 16).max(1024);
        if distance > max_ahead {
            return false; // far beyond any window we advertised
        }
        if distance != 1 && self.window_used() + len > self.cfg.receive_buffer_size {
            return false; // no room: drop, the peer retransmits (§6.2)
        }
        // Hard memory bound; the next in-order chunk gets one more message of slack so the
        // association cannot deadlock on incomplete messages.
        let cap = self.cfg.receive_buffer_size
            + self.cfg.max_message_size * if distance == 1 { 2 } else { 1 };
        if self.rx_buffered + len > cap {
            return false;
        }
        if distance == 1 {
            self.peer_cum = tsn;
            while let Some(&n) = self.out_of_order.first() {
                if n == self.peer_cum.wrapping_add(1) {
                    self.peer_cum = n;
                    self.out_of_order.pop_first();
                } else {
                    break;
                }
            }
        } else {
            if self.out_of_order.len() >= max_ahead {
                return false;
            }
            self.out_of_order.insert(tsn);
        }
        self.rx_buffered += len;
        true
    }

    /// DATA or I-DATA on a stream the peer may not use (RFC 9260 §6.5): the TSN is
    /// acknowledged, the payload dropped, and an ERROR reports the stream (once per packet).
    fn invalid_stream(&mut self, tsn: u32, stream: u16) {
        self.accept_tsn(tsn, 0);
        let queued = self.control.iter().any(|c| {
            matches!(c, Chunk::Error { causes } if causes.iter().any(|x| x.code == cause_code::INVALID_STREAM_IDENTIFIER))
        });
        if !queued {
            let mut info = BytesMut::with_capacity(4);
            info.put_u16(stream);
            info.put_u16(0);
            self.control.push_back(Chunk::Error {
                causes: vec![ErrorCause {
                    code: cause_code::INVALID_STREAM_IDENTIFIER,
                    info: info.freeze(),
                }],
            });
        }
    }

    fn on_data(&mut self, d: DataChunk) -> Result<(), Error> {
        let tsn = d.tsn;
        if d.stream_id >= self.in_streams {
            self.invalid_stream(tsn, d.stream_id);
            return Ok(());
        }
        if !self.accept_tsn(tsn, d.payload.len()) {
            return Ok(());
        }
        let flags = (d.ending as u8) | (d.beginning as u8) << 1 | (d.unordered as u8) << 2;
        if d.beginning && d.ending {
            let m = Message {
                stream_id: d.stream_id,
                ppid: d.ppid,
                unordered: d.unordered,
                payload: d.payload,
            };
            self.complete_message(m, u32::from(d.ssn));
            return Ok(());
        }
        if self.reasm.is_empty() {
            // Re-anchor the 64-bit key space so TSN wrap-around never reorders keys.
            self.reasm_base = self.peer_cum;
        }
        let key = self.key_of(tsn);
        let len = d.payload.len();
        if let Some(old) = self.reasm.insert(
            key,
            Frag {
                stream_id: d.stream_id,
                ssn: d.ssn,
                ppid: d.ppid,
                flags,
                payload: d.payload,
            },
        ) {
            self.rx_partial = self.rx_partial.saturating_sub(old.payload.len());
        }
        self.rx_partial += len;
        // A message can only complete if this chunk ends it or closes a gap before an end.
        if !d.ending && !self.reasm.contains_key(&(key + 1)) {
            return Ok(());
        }
        self.try_reassemble(key)
    }

    /// I-DATA (RFC 8260 §2.1): fragments are collected per (stream, U, MID) by FSN, so
    /// messages of different streams can interleave.
    fn on_idata(&mut self, d: crate::chunk::IDataChunk) {
        let len = d.payload.len();
        if d.stream_id >= self.in_streams {
            self.invalid_stream(d.tsn, d.stream_id);
            return;
        }
        if !self.accept_tsn(d.tsn, len) {
            return;
        }
        if d.beginning && d.ending {
            let m = Message {
                stream_id: d.stream_id,
                ppid: d.ppid_or_fsn,
                unordered: d.unordered,
                payload: d.payload,
            };
            self.complete_message(m, d.mid);
            return;
        }
        let key = (d.stream_id, d.unordered, d.mid);
        let fsn = d.fsn();
        let p = self.ireasm.entry(key).or_default();
        if d.beginning {
            p.ppid = d.ppid_or_fsn;
        }
        if d.ending {
            p.last_fsn = Some(fsn);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = p.frags.entry(fsn) {
            e.insert(d.payload);
            p.bytes += len;
            self.rx_partial += len;
        } else {
            // Same FSN under a new TSN: a hostile or confused peer; keep the first copy.
            self.rx_buffered = self.rx_buffered.saturating_sub(len);
        }
        if p.bytes > self.cfg.max_message_size {
            self.abort("received message exceeds max message size");
            return;
        }
        let complete = p.last_fsn.is_some_and(|last| {
            p.frags.len() as u64 == u64::from(last) + 1
                && p.frags.last_key_value().is_some_and(|(k, _)| *k == last)
        });
        if !complete {
            return;
        }
        let Some(p) = self.ireasm.remove(&key) else {
            return;
        };
        self.rx_partial = self.rx_partial.saturating_sub(p.bytes);
        let mut buf = BytesMut::with_capacity(p.bytes);
        for f in p.frags.values() {
            buf.put_slice(f);
        }
        let m = Message {
            stream_id: d.stream_id,
            ppid: p.ppid,
            unordered: d.unordered,
            payload: buf.freeze(),
        };
        self.complete_message(m, d.mid);
    }

    /// Distance from `b` to `a` in the sequence space in use: 16-bit SSNs with DATA, 32-bit
    /// MIDs with I-DATA.
    fn seq_diff(&self, a: u32, b: u32) -> i64 {
        if self.idata {
            i64::from(a.wrapping_sub(b) as i32)
        } else {
            i64::from((a as u16).wrapping_sub(b as u16) as i16)
        }
    }

    fn seq_next(&self, a: u32) -> u32 {
        if self.idata {
            a.wrapping_add(1)
        } else {
            u32::from((a as u16).wrapping_add(1))
        }
    }

    /// Key of a TSN in the 64-bit reassembly space anchored at `reasm_base`.
    fn key_of(&self, tsn: u32) -> u64 {
        (1u64 << 32) + tsn.wrapping_sub(self.reasm_base) as u64
    }

    fn try_reassemble(&mut self, key: u64) -> Result<(), Error> {
        let Some(f) = self.reasm.get(&key) else {
            return Ok(());
        };
        let stream = f.stream_id;
        // Walk back to B.
        let mut start = key;
        loop {
            let Some(fr) = self.reasm.get(&start) else {
                return Ok(());
            };
            if fr.stream_id != stream {
                return Ok(());
            }
            if fr.flags & 2 != 0 {
                break;
            }
            start -= 1;
        }
        // Walk forward to E.
        let mut end = key;
        let mut total = 0usize;
        loop {
            let Some(fr) = self.reasm.get(&end) else {
                return Ok(());
            };
            if fr.stream_id != stream || (end != start && fr.flags & 2 != 0) {
                return Ok(());
            }
            if fr.flags & 1 != 0 {
                break;
            }
            end += 1;
        }
        let mut k = start;
        while k <= end {
            total += self.reasm.get(&k).map_or(0, |f| f.payload.len());
            k += 1;
        }
        if total > self.cfg.max_message_size {
            self.abort("received message exceeds max message size");
            return Ok(());
        }
        let mut buf = BytesMut::with_capacity(total);
        let (mut ppid, mut ssn, mut unordered) = (0, 0, false);
        for k in start..=end {
            if let Some(fr) = self.reasm.remove(&k) {
                self.rx_partial = self.rx_partial.saturating_sub(fr.payload.len());
                if k == start {
                    ppid = fr.ppid;
                    ssn = fr.ssn;
                    unordered = fr.flags & 4 != 0;
                }
                buf.put_slice(&fr.payload);
            }
        }
        self.complete_message(
            Message {
                stream_id: stream,
                ppid,
                unordered,
                payload: buf.freeze(),
            },
            u32::from(ssn),
        );
        Ok(())
    }

    fn complete_message(&mut self, m: Message, seq: u32) {
        if m.unordered {
            self.deliver(m);
            return;
        }
        let next = self.streams_in.get(&m.stream_id).map_or(0, |s| s.next_ssn);
        let diff = self.seq_diff(seq, next);
        let after = self.seq_next(seq);
        let s = self.streams_in.entry(m.stream_id).or_default();
        if diff == 0 {
            s.next_ssn = after;
            let stream = m.stream_id;
            self.deliver(m);
            self.drain_stream(stream);
        } else if diff > 0 {
            if let Some(old) = s.pending.insert(seq, m) {
                self.rx_buffered = self.rx_buffered.saturating_sub(old.payload.len());
            }
        } else {
            // An old sequence number (skipped by FORWARD-TSN): drop.
            self.stats.stale_messages_dropped += 1;
            self.rx_buffered = self.rx_buffered.saturating_sub(m.payload.len());
        }
    }

    fn drain_stream(&mut self, stream: u16) {
        loop {
            let Some(next) = self.streams_in.get(&stream).map(|s| s.next_ssn) else {
                return;
            };
            let after = self.seq_next(next);
            let Some(s) = self.streams_in.get_mut(&stream) else {
                return;
            };
            let Some(m) = s.pending.remove(&next) else {
                return;
            };
            s.next_ssn = after;
            self.deliver(m);
        }
    }

    fn deliver(&mut self, m: Message) {
        self.stats.messages_received += 1;
        self.events.push_back(Event::Message(m));
    }

    /// FORWARD-TSN (RFC 3758 §3.6) and I-FORWARD-TSN (RFC 8260 §2.3): entries are
    /// (stream, unordered, SSN or MID).
    ///
    /// A New Cumulative TSN equal to ours. RFC 3758 §3.6 says a FORWARD-TSN "behind or at"
    /// the cumulative TSN point is out of date: the receiver "MUST NOT update its Cumulative
    /// TSN" and SHOULD send a SACK. We read that sentence as being about the cumulative TSN
    /// only. The same section says that "during processing of a FORWARD TSN, the receiver
    /// MUST use the stream sequence information to examine all of the listed stream
    /// reordering queues", and nothing exempts an out-of-date chunk from that. This matters
    /// when the sender abandons a message after sending only some of its fragments: the
    /// unsent fragments never get TSNs, so the sender's Advanced.Peer.Ack.Point (§3.5 C1)
    /// stops at the last fragment it sent. That is the receiver's cumulative TSN. The
    /// FORWARD-TSN then carries New Cumulative TSN == our cumulative TSN and the (stream, SSN)
    /// of the abandoned message. Ignoring it would leave the partial message in reassembly
    /// and every later message on the stream stuck behind its SSN for ever.
    ///
    /// So when the New Cumulative TSN equals ours, we keep the cumulative TSN, drop partial
    /// messages of the listed streams whose sequence number is at or before the listed one,
    /// skip the stream past it, and deliver what was waiting. A New Cumulative TSN strictly
    /// behind ours is a reordered or duplicated older chunk: it only triggers a SACK.
    fn on_forward_tsn(&mut self, new_cum: u32, entries: &[(u16, bool, u32)]) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownSent
        ) {
            return;
        }
        if tsn_lt(new_cum, self.peer_cum) {
            self.ack_now = true;
            return;
        }
        if new_cum == self.peer_cum {
            self.ack_now = true;
        }
        let distance = new_cum.wrapping_sub(self.peer_cum) as usize;
        if distance > (self.cfg.receive_buffer_size / 16).max(1024) * 4 {
            return;
        }
        self.peer_cum = new_cum;
        while let Some(&n) = self.out_of_order.first() {
            if tsn_le(n, self.peer_cum) {
                self.out_of_order.pop_first();
            } else if n == self.peer_cum.wrapping_add(1) {
                self.peer_cum = n;
                self.out_of_order.pop_first();
            } else {
                break;
            }
        }
        // DATA: drop reassembly state at or below the new cumulative TSN.
        if !self.reasm.is_empty() {
            let cut = self.key_of(new_cum) + 1;
            let keep = self.reasm.split_off(&cut);
            let dropped: usize = self.reasm.values().map(|f| f.payload.len()).sum();
            self.stats.partial_messages_skipped +=
                self.reasm.values().filter(|f| f.flags & 2 != 0).count() as u64;
            self.rx_buffered = self.rx_buffered.saturating_sub(dropped);
            self.rx_partial = self.rx_partial.saturating_sub(dropped);
            self.reasm = keep;
        }
        // A chunk holds at most ~16k entries; one per stream is what a peer legitimately sends.
        let entries = entries.get(..entries.len().min(1024)).unwrap_or_default();
        if !self.idata && !self.reasm.is_empty() {
            self.drop_skipped_fragments(entries);
        }
        for &(stream, unordered, seq) in entries {
            if self.idata {
                // Drop partial messages of this stream up to the skipped MID.
                let victims: Vec<(u16, bool, u32)> = self
                    .ireasm
                    .range((stream, unordered, 0)..=(stream, unordered, u32::MAX))
                    .map(|(k, _)| *k)
                    .filter(|(_, _, m)| (seq.wrapping_sub(*m) as i32) >= 0)
                    .collect();
                for v in victims {
                    if let Some(p) = self.ireasm.remove(&v) {
                        self.stats.partial_messages_skipped += 1;
                        self.rx_buffered = self.rx_buffered.saturating_sub(p.bytes);
                        self.rx_partial = self.rx_partial.saturating_sub(p.bytes);
                    }
                }
            }
            if unordered {
                continue;
            }
            let next = self.streams_in.get(&stream).map_or(0, |s| s.next_ssn);
            if self.seq_diff(seq, next) < 0 {
                continue;
            }

            // Deliver complete messages up to the skipped one in order, then move past it.
            let span = self.seq_diff(seq, next);
            let mut keys: Vec<(i64, u32)> = self
                .streams_in
                .get(&stream)
                .map(|s| {
                    s.pending
                        .keys()
                        .map(|k| (self.seq_diff(*k, next), *k))
                        .filter(|(d, _)| *d >= 0 && *d <= span)
                        .collect()
                })
                .unwrap_or_default();
            keys.sort_unstable();
            let mut deliver = Vec::with_capacity(keys.len());
            if let Some(s) = self.streams_in.get_mut(&stream) {
                for (_, k) in keys {
                    if let Some(m) = s.pending.remove(&k) {
                        deliver.push(m);
                    }
                }
            }
            let after = self.seq_next(seq);
            self.streams_in.entry(stream).or_default().next_ssn = after;
            for m in deliver {
                self.deliver(m);
            }
            self.drain_stream(stream);
        }
        // The next in-order chunk may already be sitting in reassembly.
        if let Some((&k, _)) = self.reasm.first_key_value() {
            let _ = self.try_reassemble(k);
        }
    }

    /// Drops the DATA fragments of ordered messages the sender abandoned (RFC 3758 §3.6):
    /// on a listed stream, an SSN from the stream's next expected one up to the listed one,
    /// wherever their TSN lies. One pass over the reassembly queue for all entries.
    fn drop_skipped_fragments(&mut self, entries: &[(u16, bool, u32)]) {
        let mut skipped: HashMap<u16, (u32, u32)> = HashMap::new();
        for &(stream, unordered, seq) in entries {
            if !unordered {
                let next = self.streams_in.get(&stream).map_or(0, |s| s.next_ssn);
                skipped.insert(stream, (next, seq));
            }
        }
        let mut dropped = 0usize;
        let mut messages = 0u64;
        self.reasm.retain(|_, f| {
            let Some(&(next, last)) = skipped.get(&f.stream_id) else {
                return true;
            };
            let ssn = f.ssn;
            let from_next = ssn.wrapping_sub(next as u16) as i16;
            let to_last = ssn.wrapping_sub(last as u16) as i16;
            let abandoned = f.flags & 4 == 0 && from_next >= 0 && to_last <= 0;
            if abandoned {
                dropped += f.payload.len();
                messages += u64::from(f.flags & 2 != 0);
            }
            !abandoned
        });
        self.stats.partial_messages_skipped += messages;
        self.rx_buffered = self.rx_buffered.saturating_sub(dropped);
        self.rx_partial = self.rx_partial.saturating_sub(dropped);
    }

    // ---- SACK receive

    fn on_sack(&mut self, now: Instant, s: SackChunk) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        let cum = s.cum_tsn_ack;
        if tsn_lt(cum, self.cum_ack) {
            return; // stale, §6.2.1 D i
        }
        if tsn_lt(self.next_tsn.wrapping_sub(1), cum) {
            // RFC 9260 §12.4: "An SCTP implementation MUST abort the association if it
            // receives a SACK chunk acknowledging a TSN that has not been sent."
            self.protocol_violation("SACK acknowledges a TSN never sent");
            return;
        }
        let flight_before = self.flight_size;
        let mut bytes_acked = 0usize;
        let mut rtt_sample = None;
        let advanced = cum != self.cum_ack;
        // Cumulative ack.
        while let Some(front) = self.inflight.front() {
            if !tsn_le(front.tsn, cum) {
                break;
            }
            let Some(c) = self.inflight.pop_front() else {
                break;
            };
            match c.state {
                SentState::Outstanding => {
                    self.flight_size -= c.payload.len();
                    bytes_acked += c.payload.len();
                    if c.tx_count == 1 {
                        rtt_sample = Some(now.saturating_duration_since(c.sent_at));
                    }
                }
                SentState::NeedsRtx => {
                    self.rtx_pending -= 1;
                    bytes_acked += c.payload.len();
                }
                SentState::Acked | SentState::Abandoned => {}
            }
        }
        self.cum_ack = cum;
        // Gap ack blocks.
        let mut highest_newly_acked: Option<u32> = None;
        for g in s.gap_blocks.iter().take(self.cfg.max_gap_blocks) {
            if g.start == 0 || g.end < g.start {
                continue;
            }
            let lo = g.start as usize - 1;
            let hi = (g.end as usize - 1).min(self.inflight.len().saturating_sub(1));
            for i in lo..=hi {
                let Some(c) = self.inflight.get_mut(i) else {
                    break;
                };
                match c.state {
                    SentState::Outstanding => {
                        self.flight_size -= c.payload.len();
                        bytes_acked += c.payload.len();
                        c.state = SentState::Acked;
                        if c.tx_count == 1 {
                            rtt_sample = Some(now.saturating_duration_since(c.sent_at));
                        }
                        highest_newly_acked = Some(c.tsn);
                    }
                    SentState::NeedsRtx => {
                        self.rtx_pending -= 1;
                        c.state = SentState::Acked;
                        highest_newly_acked = Some(c.tsn);
                    }
                    _ => {}
                }
            }
        }
        if let Some(r) = rtt_sample {
            self.update_rto(r);
        }
        // Miss indications and fast retransmit (§7.2.4).
        if let Some(high) = highest_newly_acked {
            let mut newly_marked = false;
            let fr = self.fast_recovery_exit.is_some();
            for c in self.inflight.iter_mut() {
                if !tsn_lt(c.tsn, high) {
                    break;
                }
                if c.state == SentState::Outstanding {
                    c.misses = c.misses.saturating_add(1);
                    if c.misses >= 3 {
                        c.misses = 0;
                        c.state = SentState::NeedsRtx;
                        self.flight_size -= c.payload.len();
                        self.rtx_pending += 1;
                        newly_marked = true;
                    }
                }
            }
            if newly_marked {
                self.stats.fast_retransmits += 1;
                self.fast_rtx_once = true;
                if !fr {
                    self.ssthresh = (self.cwnd / 2).max(4 * self.mtu());
                    self.cwnd = self.ssthresh;
                    self.partial_bytes_acked = 0;
                    self.fast_recovery_exit = Some(self.next_tsn.wrapping_sub(1));
                }
                self.abandon_marked(now);
            }
        }
        if let Some(exit) = self.fast_recovery_exit {
            if tsn_le(exit, cum) {
                self.fast_recovery_exit = None;
            }
        }
        // Congestion control (§7.2.1, §7.2.2).
        if advanced && self.fast_recovery_exit.is_none() {
            let mtu = self.mtu();
            if self.cwnd <= self.ssthresh {
                if flight_before + mtu >= self.cwnd {
                    // RFC 9260 §7.2.1 allows one MTU per SACK. A SACK that covers many
                    // packets (receive batching, ack compression) stands for the one SACK
                    // per two packets the peer would otherwise send, so grow by that.
                    self.cwnd += bytes_acked.min(mtu.max(bytes_acked / 2));
                }
            } else {
                self.partial_bytes_acked += bytes_acked;
                if self.partial_bytes_acked >= self.cwnd && flight_before + mtu >= self.cwnd {
                    self.partial_bytes_acked -= self.cwnd;
                    self.cwnd += mtu;
                }
            }
        }
        if advanced {
            self.error_count = 0;
        }
        self.peer_rwnd = (s.a_rwnd as usize).saturating_sub(self.flight_size);
        // Max burst (§6.1 D): in reply to this SACK send at most what it acknowledged plus
        // Max.Burst packets. (Lowering cwnd instead, as RFC 9260 allows, would collapse
        // the window whenever a batch of packets is acknowledged at once.)
        self.burst_budget = bytes_acked.div_ceil(self.mtu()) + self.cfg.max_burst;
        // T3-rtx (§6.3.2 R2, R3).
        if self.flight_size == 0
            && self.rtx_pending == 0
            && !self
                .inflight
                .iter()
                .any(|c| c.state == SentState::Abandoned)
        {
            self.t3 = None;
        } else if advanced {
            self.t3 = Some(now + self.rto);
        }
        self.update_forward_tsn();
        self.check_low_water();
    }

    fn update_rto(&mut self, r: Duration) {
        // §6.3.1 with alpha 1/8, beta 1/4.
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let g = Duration::from_millis(1);
        self.rto = (srtt + (4 * self.rttvar).max(g)).clamp(self.cfg.rto_min, self.cfg.rto_max);
    }

    /// PR-SCTP: abandon marked chunks whose policy is exhausted (RFC 3758 §3.5 A).
    fn abandon_marked(&mut self, now: Instant) {
        if !self.peer_supports_forward_tsn() {
            return;
        }
        let mut abandon = Vec::new();
        for c in &self.inflight {
            if c.state == SentState::NeedsRtx || c.state == SentState::Outstanding {
                let rtx_exhausted = c.max_rtx.is_some_and(|m| c.tx_count > m as u32);
                let expired = c.expires.is_some_and(|e| e <= now);
                if ((rtx_exhausted && c.state == SentState::NeedsRtx) || expired)
                    && abandon.last() != Some(&c.msg_id)
                {
                    abandon.push(c.msg_id);
                }
            }
        }
        abandon.sort_unstable();
        abandon.dedup();
        for id in abandon {
            self.abandon_message(id);
        }
    }

    fn abandon_message(&mut self, id: u64) {
        let mut stream = None;
        for c in self.inflight.iter_mut() {
            if c.msg_id != id {
                continue;
            }
            match c.state {
                SentState::Outstanding => self.flight_size -= c.payload.len(),
                SentState::NeedsRtx => self.rtx_pending -= 1,
                _ => {}
            }
            // Gap-acked fragments are marked too: the receiver may hold them in an incomplete
            // message that only a FORWARD-TSN entry for this message will clear.
            c.state = SentState::Abandoned;
            stream = Some(c.stream_id);
        }
        // Drop the unsent rest of the message (only the current message can be partial).
        if let Some(st) = stream {
            if let Some(s) = self.streams_out.get_mut(&st) {
                if s.queue.front().is_some_and(|m| m.id == id) {
                    if let Some(m) = s.queue.pop_front() {
                        let rest = m.payload.len() - m.offset;
                        s.buffered -= rest;
                        self.queued_bytes -= rest;
                        // The receiver may already hold every fragment that was sent; only a
                        // FORWARD-TSN naming this message lets it drop them. Give the unsent
                        // end a TSN that is never transmitted, so the Advanced.Peer.Ack.Point
                        // can only pass it with a FORWARD-TSN.
                        let tsn = self.next_tsn;
                        self.next_tsn = tsn.wrapping_add(1);
                        self.inflight.push_back(Sent {
                            tsn,
                            stream_id: st,
                            seq: m.seq,
                            fsn: m.fsn,
                            ppid: m.ppid,
                            flags: 1 | (m.unordered as u8) << 2,
                            payload: Bytes::new(),
                            msg_id: id,
                            sent_at: self.now,
                            tx_count: 1,
                            state: SentState::Abandoned,
                            misses: 0,
                            max_rtx: m.max_rtx,
                            expires: m.expires,
                        });
                    }
                    if self.current == Some(st) {
                        self.current = None;
                        if !s.queue.is_empty() {
                            self.active.push_back(st);
                        }
                    }
                }
            }
        }
        self.stats.messages_abandoned += 1;
    }

    fn update_forward_tsn(&mut self) {
        if !self.peer_supports_forward_tsn() {
            return;
        }
        // Advanced.Peer.Ack.Point: skip over abandoned (and gap-acked) chunks at the front.
        let mut adv = self.cum_ack;
        let mut entries: Vec<(u16, bool, u32)> = Vec::new();
        for c in &self.inflight {
            match c.state {
                SentState::Abandoned => {
                    adv = c.tsn;
                    let unordered = c.flags & 4 != 0;
                    // DATA lists ordered streams only; I-DATA lists every skipped message.
                    if unordered && !self.idata {
                        continue;
                    }
                    if let Some(e) = entries
                        .iter_mut()
                        .find(|e| e.0 == c.stream_id && e.1 == unordered)
                    {
                        e.2 = c.seq;
                    } else {
                        entries.push((c.stream_id, unordered, c.seq));
                    }
                }
                SentState::Acked => {}
                _ => break,
            }
        }
        if adv != self.cum_ack {
            self.control
                .retain(|c| !matches!(c, Chunk::ForwardTsn { .. } | Chunk::IForwardTsn { .. }));
            let chunk = if self.idata {
                Chunk::IForwardTsn {
                    new_cum_tsn: adv,
                    streams: entries
                        .into_iter()
                        .map(
                            |(stream_id, unordered, mid)| crate::chunk::IForwardTsnStream {
                                stream_id,
                                unordered,
                                mid,
                            },
                        )
                        .collect(),
                }
            } else {
                Chunk::ForwardTsn {
                    new_cum_tsn: adv,
                    streams: entries
                        .into_iter()
                        .map(|(stream_id, _, ssn)| ForwardTsnStream {
                            stream_id,
                            ssn: ssn as u16,
                        })
                        .collect(),
                }
            };
            self.control.push_back(chunk);
            if self.t3.is_none() {
                // The FORWARD-TSN is retransmitted on T3 until the peer acknowledges it.
                self.t3 = Some(self.now + self.rto);
            }
        }
    }

    fn on_heartbeat_ack(&mut self, now: Instant, info: &Bytes) {
        if info.len() != 8 {
            return;
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(info);
        let sent = u64::from_be_bytes(a);
        let rtt = Duration::from_millis(self.now_ms(now).saturating_sub(sent));
        self.hb_outstanding = false;
        self.error_count = 0;
        self.update_rto(rtt.max(Duration::from_micros(1)));
    }

    fn on_shutdown(&mut self, now: Instant, cum: u32) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        self.on_sack(
            now,
            SackChunk {
                cum_tsn_ack: cum,
                a_rwnd: self.peer_rwnd as u32 + self.flight_size as u32,
                gap_blocks: vec![],
                dup_tsns: vec![],
            },
        );
        if self.state == State::ShutdownSent {
            // Both sides shut down at once: answer with SHUTDOWN ACK (§9.2).
            self.state = State::ShutdownReceived;
        }
        if matches!(self.state, State::Established | State::ShutdownPending) {
            self.state = State::ShutdownReceived;
        }
        self.maybe_progress_shutdown(now);
    }

    fn all_sent_and_acked(&self) -> bool {
        self.inflight.is_empty()
            && self.queued_bytes == 0
            && self.active.is_empty()
            && self.current.is_none()
    }

    fn maybe_progress_shutdown(&mut self, now: Instant) {
        if !self.all_sent_and_acked() {
            return;
        }
        let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
        match self.state {
            State::ShutdownPending => {
                self.state = State::ShutdownSent;
                self.control.push_back(Chunk::Shutdown {
                    cum_tsn_ack: self.peer_cum,
                });
                self.t2 = Some(now + self.rto);
                self.t3 = None;
            }
            State::ShutdownReceived => {
                self.state = State::ShutdownAckSent;
                self.send_single(vt, Chunk::ShutdownAck, false);
                self.t2 = Some(now + self.rto);
                self.t3 = None;
            }
            _ => {}
        }
    }

    // ---- RE-CONFIG

    fn on_reconfig(&mut self, now: Instant, params: Vec<ReconfigParam>) {
        if self.state != State::Established {
            return;
        }
        for p in params {
            match p {
                ReconfigParam::OutgoingSsnReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        let result = match &self.deferred_incoming {
                            Some((seq, _, _)) if *seq == request_seq => {
                                reconfig_result::IN_PROGRESS
                            }
                            _ => known,
                        };
                        self.respond(request_seq, result);
                        continue;
                    }
                    if tsn_le(last_tsn, self.peer_cum) {
                        self.reset_incoming(&streams);
                        self.respond(request_seq, reconfig_result::SUCCESS_PERFORMED);
                    } else {
                        self.deferred_incoming = Some((request_seq, last_tsn, streams));
                        self.respond(request_seq, reconfig_result::IN_PROGRESS);
                    }
                }
                ReconfigParam::AddOutgoingStreams {
                    request_seq,
                    new_streams,
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    // §5.2.5: the peer adds outgoing streams, which are our incoming ones.
                    let total = u32::from(self.in_streams) + u32::from(new_streams);
                    let result = if new_streams == 0 {
                        reconfig_result::SUCCESS_NOTHING_TO_DO
                    } else if total > u32::from(self.cfg.max_streams) {
                        reconfig_result::DENIED
                    } else {
                        self.in_streams = total as u16;
                        self.events.push_back(Event::StreamsAdded {
                            outgoing: self.out_streams,
                            incoming: self.in_streams,
                        });
                        reconfig_result::SUCCESS_PERFORMED
                    };
                    self.respond(request_seq, result);
                }
                ReconfigParam::AddIncomingStreams {
                    request_seq,
                    new_streams,
                } => {
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    // §5.2.6: the peer wants more streams towards it: we ask to add outgoing
                    // streams (§5.1.5), within our limit, and confirm.
                    let total = u32::from(self.out_streams)
                        + self.add_out_queue
                        + self.inflight_add_out()
                        + u32::from(new_streams);
                    let result = if new_streams == 0 {
                        reconfig_result::SUCCESS_NOTHING_TO_DO
                    } else if total > u32::from(self.cfg.max_streams) {
                        reconfig_result::DENIED
                    } else {
                        self.add_out_queue += u32::from(new_streams);
                        reconfig_result::SUCCESS_PERFORMED
                    };
                    self.respond(request_seq, result);
                }
                ReconfigParam::IncomingSsnReset { request_seq, .. }
                | ReconfigParam::SsnTsnReset { request_seq } => {
                    // Not used by WebRTC (RFC 8831 closes channels with outgoing resets);
                    // denying is allowed (RFC 6525 §5.2.1).
                    if let Some(known) = self.check_request_seq(request_seq) {
                        self.respond(request_seq, known);
                        continue;
                    }
                    self.respond(request_seq, reconfig_result::DENIED);
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                    ..
                } => self.on_reconfig_response(now, response_seq, result),
                ReconfigParam::Unknown { .. } => {}
            }
        }
    }

    /// Sequence-number check of a received request (RFC 6525 §5.2.1, Table 3). `None`: a
    /// new request, to be processed (the expected sequence number advances). `Some(result)`:
    /// not to be processed, answer with `result` (the earlier answer to a retransmission,
    /// or "bad sequence number").
    fn check_request_seq(&mut self, seq: u32) -> Option<u32> {
        if seq == self.peer_next_req_seq {
            self.peer_next_req_seq = seq.wrapping_add(1);
            return None;
        }
        let behind = self.peer_next_req_seq.wrapping_sub(seq);
        if (1..=REMEMBERED_RESPONSES as u32).contains(&behind) {
            let earlier = self
                .last_responses
                .iter()
                .find(|(s, _)| *s == seq)
                .map_or(reconfig_result::SUCCESS_NOTHING_TO_DO, |(_, r)| *r);
            return Some(earlier);
        }
        Some(reconfig_result::ERROR_BAD_SEQUENCE_NUMBER)
    }

    fn inflight_add_out(&self) -> u32 {
        self.reconfig_inflight
            .iter()
            .map(|r| match r.kind {
                ReqKind::AddOutgoing(n) => u32::from(n),
                _ => 0,
            })
            .sum()
    }

    fn on_reconfig_response(&mut self, now: Instant, seq: u32, result: u32) {
        let Some(pos) = self.reconfig_inflight.iter().position(|r| r.seq == seq) else {
            return;
        };
        if result == reconfig_result::IN_PROGRESS {
            // §5.2.7 H2: ask again when the timer expires.
            self.reconfig_timer = Some(now + self.rto);
            return;
        }
        let req = self.reconfig_inflight.remove(pos);
        if self.reconfig_inflight.is_empty() {
            self.reconfig_timer = None;
        }
        let ok = matches!(
            result,
            reconfig_result::SUCCESS_PERFORMED | reconfig_result::SUCCESS_NOTHING_TO_DO
        );
        match req.kind {
            ReqKind::ResetOutgoing { streams, .. } => {
                for s in &streams {
                    if let Some(o) = self.streams_out.get_mut(s) {
                        if ok {
                            o.next_ssn = 0;
                            o.next_umid = 0;
                        }
                        o.resetting = false;
                    }
                }
                self.events.push_back(if ok {
                    Event::OutgoingStreamsReset(streams)
                } else {
                    Event::StreamResetFailed(streams)
                });
            }
            ReqKind::AddOutgoing(n) => {
                if ok {
                    self.out_streams = self.out_streams.saturating_add(n);
                    self.events.push_back(Event::StreamsAdded {
                        outgoing: self.out_streams,
                        incoming: self.in_streams,
                    });
                } else {
                    self.events.push_back(Event::AddStreamsDenied {
                        outgoing: n,
                        incoming: 0,
                    });
                }
            }
            ReqKind::AddIncoming(n) => {
                // Success: the peer now sends its own Add Outgoing Streams request.
                if !ok {
                    self.events.push_back(Event::AddStreamsDenied {
                        outgoing: 0,
                        incoming: n,
                    });
                }
            }
        }
    }

    fn respond(&mut self, seq: u32, result: u32) {
        if result != reconfig_result::IN_PROGRESS
            && result != reconfig_result::ERROR_BAD_SEQUENCE_NUMBER
        {
            self.last_responses.retain(|(s, _)| *s != seq);
            if self.last_responses.len() >= REMEMBERED_RESPONSES {
                self.last_responses.pop_front();
            }
            self.last_responses.push_back((seq, result));
        }
        self.control.push_back(Chunk::ReConfig {
            params: vec![ReconfigParam::Response {
                response_seq: seq,
                result,
                next_tsns: None,
            }],
        });
    }

    fn reset_incoming(&mut self, streams: &[u16]) {
        if streams.is_empty() {
            for s in self.streams_in.values_mut() {
                s.next_ssn = 0;
            }
        }
        for s in streams {
            let st = self.streams_in.entry(*s).or_default();
            st.next_ssn = 0;
            st.pending.clear();
        }
        self.events
            .push_back(Event::IncomingStreamsReset(streams.to_vec()));
    }

    fn process_deferred_reset(&mut self, _now: Instant) {
        let ready =
            matches!(&self.deferred_incoming, Some((_, last, _)) if tsn_le(*last, self.peer_cum));
        if ready {
            if let Some((seq, _, streams)) = self.deferred_incoming.take() {
                self.reset_incoming(&streams);
                self.respond(seq, reconfig_result::SUCCESS_PERFORMED);
            }
        }
    }

    /// Puts requests that were in flight back in the queues (after a restart).
    fn requeue_reconfig(&mut self) {
        for r in std::mem::take(&mut self.reconfig_inflight) {
            match r.kind {
                ReqKind::ResetOutgoing { streams, .. } => {
                    for s in streams {
                        if !self.reset_queue.contains(&s) {
                            self.reset_queue.push(s);
                        }
                    }
                }
                ReqKind::AddOutgoing(n) => self.add_out_queue += u32::from(n),
                ReqKind::AddIncoming(n) => self.add_in_queue += u32::from(n),
            }
        }
    }

    /// Adds a request with the next request sequence number (RFC 6525 §4.1).
    fn queue_request(&mut self, kind: ReqKind) {
        let seq = self.next_req_seq;
        self.next_req_seq = seq.wrapping_add(1);
        self.reconfig_inflight.push(PendingReq { seq, kind });
    }

    /// Sends the next RE-CONFIG request when none is in flight (RFC 6525 §5.1.1): a stream
    /// reset once every message queued on its streams has been handed out, else the
    /// add-streams requests (which may share one chunk, §3.1).
    fn maybe_start_reconfig(&mut self, now: Instant) {
        if !self.reconfig_inflight.is_empty() || self.state != State::Established {
            return;
        }
        let busy = self.reset_queue.iter().any(|s| {
            self.streams_out.get(s).is_some_and(|o| !o.queue.is_empty()) || self.current == Some(*s)
        });
        if !self.reset_queue.is_empty() && !busy {
            let streams = std::mem::take(&mut self.reset_queue);
            let last_tsn = self.next_tsn.wrapping_sub(1);
            self.queue_request(ReqKind::ResetOutgoing { streams, last_tsn });
        } else if self.add_out_queue > 0 || self.add_in_queue > 0 {
            if self.add_out_queue > 0 {
                let n = take_streams(&mut self.add_out_queue);
                self.queue_request(ReqKind::AddOutgoing(n));
            }
            if self.add_in_queue > 0 {
                let n = take_streams(&mut self.add_in_queue);
                self.queue_request(ReqKind::AddIncoming(n));
            }
        } else {
            return;
        }
        self.send_reconfig_request();
        self.reconfig_timer = Some(now + self.rto);
    }

    /// (Re)sends the requests in flight in one RE-CONFIG chunk.
    fn send_reconfig_request(&mut self) {
        let response_seq = self.peer_next_req_seq.wrapping_sub(1);
        let params: Vec<ReconfigParam> = self
            .reconfig_inflight
            .iter()
            .map(|r| match &r.kind {
                ReqKind::ResetOutgoing { streams, last_tsn } => ReconfigParam::OutgoingSsnReset {
                    request_seq: r.seq,
                    response_seq,
                    last_tsn: *last_tsn,
                    streams: streams.clone(),
                },
                ReqKind::AddOutgoing(n) => ReconfigParam::AddOutgoingStreams {
                    request_seq: r.seq,
                    new_streams: *n,
                },
                ReqKind::AddIncoming(n) => ReconfigParam::AddIncomingStreams {
                    request_seq: r.seq,
                    new_streams: *n,
                },
            })
            .collect();
        if !params.is_empty() {
            self.control.push_back(Chunk::ReConfig { params });
        }
    }

    fn check_low_water(&mut self) {
        if self.above_low_water && self.queued_bytes <= self.cfg.send_buffer_low_water {
            self.above_low_water = false;
            self.events.push_back(Event::SendBufferLow);
        }
    }

    // ------------------------------------------------------------------ timers

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.t1,
            self.t2,
            self.t3,
            self.ack_timer,
            self.hb_timer,
            self.reconfig_timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Processes timer expiries up to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.t1.is_some_and(|t| t <= now) {
            self.init_retransmits += 1;
            if self.init_retransmits > self.cfg.max_init_retransmits {
                self.close_with(Event::Aborted {
                    reason: "handshake timed out".into(),
                });
                return;
            }
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            match self.state {
                State::CookieWait => self.send_init(),
                State::CookieEchoed => {
                    if let (Some(c), Some(p)) = (self.cookie_to_echo.clone(), &self.peer) {
                        let vt = p.vtag;
                        self.send_single(vt, Chunk::CookieEcho { cookie: c }, true);
                    }
                }
                _ => {}
            }
            self.t1 = Some(now + self.rto);
        }
        if self.t2.is_some_and(|t| t <= now) {
            self.error_count += 1;
            if self.error_count > self.cfg.max_retransmits {
                self.close_with(Event::Aborted {
                    reason: "shutdown timed out".into(),
                });
                return;
            }
            self.rto = (self.rto * 2).min(self.cfg.rto_max);
            let vt = self.peer.as_ref().map_or(0, |p| p.vtag);
            match self.state {
                State::ShutdownSent => self.control.push_back(Chunk::Shutdown {
                    cum_tsn_ack: self.peer_cum,
                }),
                State::ShutdownAckSent => self.send_single(vt, Chunk::ShutdownAck, false),
                _ => {}
            }
            self.t2 = Some(now + self.rto);
        }
        if self.t3.is_some_and(|t| t <= now) {
            self.on_t3(now);
            if self.state == State::Closed {
                return;
            }
        }
        if self.ack_timer.is_some_and(|t| t <= now) {
            self.ack_timer = None;
            if self.ack_pending {
                self.ack_now = true;
            }
        }
        if self.reconfig_timer.is_some_and(|t| t <= now) {
            if !self.reconfig_inflight.is_empty() {
                self.send_reconfig_request();
                self.reconfig_timer = Some(now + self.rto);
            } else {
                self.reconfig_timer = None;
            }
        }
        if self.hb_timer.is_some_and(|t| t <= now) {
            let interval = self
                .cfg
                .heartbeat_interval
                .unwrap_or(Duration::from_secs(30));
            if self.state == State::Established {
                if self.hb_outstanding {
                    self.error_count += 1;
                    if self.error_count > self.cfg.max_retransmits {
                        self.close_with(Event::Aborted {
                            reason: "peer unreachable (heartbeats)".into(),
                        });
                        return;
                    }
                }
                if self.inflight.is_empty() {
                    let info = Bytes::copy_from_slice(&self.now_ms(now).to_be_bytes());
                    self.control.push_back(Chunk::Heartbeat { info });
                    self.hb_outstanding = true;
                }
            }
            self.hb_timer = Some(now + interval + self.rto);
        }
    }

    fn on_t3(&mut self, now: Instant) {
        self.stats.t3_expiries += 1;
        self.error_count += 1;
        if self.error_count > self.cfg.max_retransmits {
            self.abort("too many retransmissions");
            return;
        }
        self.rto = (self.rto * 2).min(self.cfg.rto_max);
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu());
        self.cwnd = self.mtu();
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.burst_budget = self.cfg.max_burst;
        for c in self.inflight.iter_mut() {
            if c.state == SentState::Outstanding {
                c.state = SentState::NeedsRtx;
                self.flight_size -= c.payload.len();
                self.rtx_pending += 1;
            }
        }
        self.abandon_marked(now);
        self.update_forward_tsn();
        self.t3 = Some(now + self.rto);
        trace!(rto = ?self.rto, "sctp T3-rtx expired");
    }

    // ------------------------------------------------------------------ transmit

    /// Next event for the layer above.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.events.pop_front()?;
        if let Event::Message(m) = &ev {
            self.rx_buffered = self.rx_buffered.saturating_sub(m.payload.len());
            // Window update when the window opens substantially (SWS avoidance, §6.2).
            let rwnd = self.rwnd();
            if rwnd
                >= self.last_advertised_rwnd
                    + (self.cfg.receive_buffer_size / 2).min(4 * self.mtu())
                && self.last_advertised_rwnd < self.cfg.receive_buffer_size / 2
            {
                self.ack_now = true;
            }
        }
        Some(ev)
    }

    /// Bytes charged against the advertised window: everything buffered except up to one
    /// maximum-size message still being reassembled, so a message as large as the receive
    /// buffer cannot close the window on itself.
    fn window_used(&self) -> usize {
        self.rx_buffered
            - self
                .rx_partial
                .min(self.cfg.max_message_size)
                .min(self.rx_buffered)
    }

    fn rwnd(&self) -> usize {
        let free = self
            .cfg
            .receive_buffer_size
            .saturating_sub(self.window_used());
        // SWS avoidance: advertise zero rather than a window smaller than one packet.
        if free < self.mtu() {
            0
        } else {
            free
        }
    }

    fn build_sack(&mut self) -> SackChunk {
        let mut gap_blocks = Vec::new();
        let max_blocks = (self.mtu() - COMMON_HEADER_LEN - 16 - 64) / 4;
        let mut iter = self.out_of_order.iter();
        let mut run: Option<(u32, u32)> = None;
        for &t in iter.by_ref() {
            let off = t.wrapping_sub(self.peer_cum);
            if off > u16::MAX as u32 {
                break;
            }
            match run {
                Some((s, e)) if off == e + 1 => run = Some((s, off)),
                Some((s, e)) => {
                    gap_blocks.push(GapBlock {
                        start: s as u16,
                        end: e as u16,
                    });
                    run = Some((off, off));
                }
                None => run = Some((off, off)),
            }
            if gap_blocks.len() >= max_blocks {
                run = None;
                break;
            }
        }
        if let Some((s, e)) = run {
            gap_blocks.push(GapBlock {
                start: s as u16,
                end: e as u16,
            });
        }
        let rwnd = self.rwnd();
        self.last_advertised_rwnd = rwnd;
        SackChunk {
            cum_tsn_ack: self.peer_cum,
            a_rwnd: rwnd.min(u32::MAX as usize) as u32,
            gap_blocks,
            dup_tsns: std::mem::take(&mut self.dups),
        }
    }

    /// Next packet to send, or `None` when nothing is due.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let now = self.now;
        if let Some(t) = self.transmits.pop_front() {
            self.stats.packets_sent += 1;
            return Some(t);
        }
        if self.state == State::Closed {
            return None;
        }
        self.maybe_start_reconfig(now);
        let p = self.build_packet(now);
        if p.is_some() {
            self.stats.packets_sent += 1;
        }
        p
    }

    fn can_send_data(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        )
    }

    fn build_packet(&mut self, now: Instant) -> Option<Bytes> {
        let vt = self.peer.as_ref()?.vtag;
        let mtu = self.mtu();
        let mut buf = BytesMut::with_capacity(mtu);
        write_common_header(
            &mut buf,
            &CommonHeader {
                src_port: self.cfg.local_port,
                dst_port: self.cfg.remote_port,
                verification_tag: vt,
            },
        );
        let mut any = false;
        let mut data_sent = false;
        // SACK first when due.
        if self.ack_now || (self.ack_pending && self.can_send_data() && self.has_data_to_send()) {
            let sack = Chunk::Sack(self.build_sack());
            sack.write_to(&mut buf);
            self.ack_now = false;
            self.ack_pending = false;
            self.ack_timer = None;
            self.packets_since_ack = 0;
            any = true;
        }
        // Control chunks.
        while let Some(c) = self.control.front() {
            if buf.len() + c.encoded_len() > mtu && any {
                break;
            }
            if let Some(c) = self.control.pop_front() {
                c.write_to(&mut buf);
                any = true;
            }
        }
        if self.can_send_data() {
            // Retransmissions first (§6.1 C).
            if self.rtx_pending > 0 && (self.fast_rtx_once || self.flight_size < self.cwnd) {
                self.fast_rtx_once = false;
                for c in self.inflight.iter_mut() {
                    if c.state != SentState::NeedsRtx {
                        continue;
                    }
                    let hdr = if self.idata {
                        IDATA_HEADER_LEN
                    } else {
                        DATA_HEADER_LEN
                    };
                    let need = pad4(hdr + c.payload.len());
                    if buf.len() + need > mtu {
                        break;
                    }
                    if self.idata {
                        let f = if c.flags & 2 != 0 { c.ppid } else { c.fsn };
                        write_idata_header(
                            &mut buf,
                            c.flags,
                            c.tsn,
                            c.stream_id,
                            c.seq,
                            f,
                            c.payload.len(),
                        );
                    } else {
                        write_data_header(
                            &mut buf,
                            c.flags,
                            c.tsn,
                            c.stream_id,
                            c.seq as u16,
                            c.ppid,
                            c.payload.len(),
                        );
                    }
                    buf.put_slice(&c.payload);
                    buf.put_bytes(0, need - hdr - c.payload.len());
                    c.state = SentState::Outstanding;
                    c.tx_count += 1;
                    c.misses = 0;
                    c.sent_at = now;
                    self.flight_size += c.payload.len();
                    self.rtx_pending -= 1;
                    self.stats.retransmits += 1;
                    any = true;
                    data_sent = true;
                    if self.rtx_pending == 0 {
                        break;
                    }
                }
            }
            // New data, within cwnd and the peer's window (§6.1 A, B).
            if self.rtx_pending == 0 {
                let mut new_data = false;
                loop {
                    let room = mtu.saturating_sub(buf.len());
                    let window_ok = self.burst_budget > 0
                        && self.flight_size < self.cwnd
                        && (self.peer_rwnd > 0 || self.flight_size == 0);
                    if !window_ok {
                        break;
                    }
                    if !self.push_new_chunk(now, &mut buf, room) {
                        break;
                    }
                    any = true;
                    data_sent = true;
                    new_data = true;
                }
                if new_data {
                    self.burst_budget = self.burst_budget.saturating_sub(1);
                }
            }
        }
        if !any {
            return None;
        }
        if data_sent && self.t3.is_none() {
            self.t3 = Some(now + self.rto);
        }
        if data_sent {
            self.hb_outstanding = false;
        }
        let zero = self.zero_checksum_negotiated();
        finish_checksum(&mut buf, zero);
        self.check_low_water();
        Some(buf.freeze())
    }

    fn has_data_to_send(&self) -> bool {
        self.rtx_pending > 0 || self.current.is_some() || !self.active.is_empty()
    }

    /// Takes the next fragment from the stream scheduler and writes it. Returns false when
    /// nothing more fits or nothing is queued.
    fn push_new_chunk(&mut self, now: Instant, buf: &mut BytesMut, room: usize) -> bool {
        loop {
            let stream = match self.current {
                Some(s) => s,
                None => match self.active.pop_front() {
                    Some(s) => s,
                    None => return false,
                },
            };
            let Some(s) = self.streams_out.get_mut(&stream) else {
                self.current = None;
                continue;
            };
            let Some(m) = s.queue.front_mut() else {
                self.current = None;
                continue;
            };
            // PR-SCTP lifetime: a message that expired before its first byte left is dropped.
            if m.offset == 0
                && m.expires.is_some_and(|e| e <= now)
                && self.peer.as_ref().is_some_and(|p| p.forward_tsn)
            {
                let len = m.payload.len();
                s.queue.pop_front();
                s.buffered -= len;
                self.queued_bytes -= len;
                self.stats.messages_abandoned += 1;
                self.current = None;
                if !s.queue.is_empty() {
                    self.active.push_front(stream);
                }
                continue;
            }
            let hdr = if self.idata {
                IDATA_HEADER_LEN
            } else {
                DATA_HEADER_LEN
            };
            if room < hdr + 4 {
                // Put the stream back where it was.
                if self.current.is_none() {
                    self.active.push_front(stream);
                }
                return false;
            }
            let max_payload = room - hdr;
            let max_payload = max_payload & !3; // keep chunks 4-aligned so they pack tightly
            let remaining = m.payload.len() - m.offset;
            let peer_window = if self.flight_size == 0 {
                usize::MAX
            } else {
                self.peer_rwnd
            };
            let take = remaining.min(max_payload).min(peer_window.max(1));
            if take == 0 || (take < remaining && take < max_payload && self.flight_size > 0) {
                // Window-limited: wait rather than send a runt (SWS avoidance, §6.2.1).
                if self.current.is_none() {
                    self.active.push_front(stream);
                }
                return false;
            }
            if m.offset == 0 {
                if self.idata {
                    let ctr = if m.unordered {
                        &mut s.next_umid
                    } else {
                        &mut s.next_ssn
                    };
                    m.seq = *ctr;
                    *ctr = ctr.wrapping_add(1);
                } else if !m.unordered {
                    m.seq = s.next_ssn;
                    s.next_ssn = u32::from((s.next_ssn as u16).wrapping_add(1));
                }
            }
            let beginning = m.offset == 0;
            let ending = m.offset + take == m.payload.len();
            let payload = m.payload.slice(m.offset..m.offset + take);
            m.offset += take;
            let flags = (ending as u8) | (beginning as u8) << 1 | (m.unordered as u8) << 2;
            let tsn = self.next_tsn;
            self.next_tsn = tsn.wrapping_add(1);
            let fsn = m.fsn;
            m.fsn = m.fsn.wrapping_add(1);
            if self.idata {
                let f = if beginning { m.ppid } else { fsn };
                write_idata_header(buf, flags, tsn, stream, m.seq, f, take);
            } else {
                write_data_header(buf, flags, tsn, stream, m.seq as u16, m.ppid, take);
            }
            buf.put_slice(&payload);
            buf.put_bytes(0, pad4(take) - take);
            let sent = Sent {
                tsn,
                stream_id: stream,
                seq: m.seq,
                fsn,
                ppid: m.ppid,
                flags,
                payload,
                msg_id: m.id,
                sent_at: now,
                tx_count: 1,
                state: SentState::Outstanding,
                misses: 0,
                max_rtx: m.max_rtx,
                expires: m.expires,
            };
            s.buffered -= take;
            self.queued_bytes -= take;
            self.flight_size += take;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(take);
            let low = s.low_threshold;
            let crossed = s.buffered <= low && s.buffered + take > low;
            if ending {
                s.queue.pop_front();
                self.current = None;
                if !s.queue.is_empty() {
                    // Round robin between streams at message boundaries.
                    self.active.push_back(stream);
                }
            } else if self.idata {
                // I-DATA: rotate between streams at every fragment (RFC 8260 §1), so a large
                // message does not hold back small ones on other streams.
                self.current = None;
                self.active.push_back(stream);
            } else {
                // DATA: the fragments of one message need consecutive TSNs.
                self.current = Some(stream);
            }
            if crossed {
                self.events.push_back(Event::BufferedAmountLow(stream));
            }
            self.inflight.push_back(sent);
            return true;
        }
    }
}
