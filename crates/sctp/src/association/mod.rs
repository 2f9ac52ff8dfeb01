//! The SCTP association as a sans-IO state machine (RFC 9260 §4–§10, RFC 3758, RFC 6525).
//!
//! One `Association` talks to one peer over one path (RFC 8261). The caller feeds received
//! packets with [`Association::handle_receive`], timer expiries with
//! [`Association::handle_timeout`], and drains [`Association::poll_transmit`] and
//! [`Association::poll_event`]; [`Association::poll_timeout`] says when to call back.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_core::RngCore;

use crate::chunk::{cause_code, Chunk, ErrorCause};
use crate::packet::{CommonHeader, Packet};
use crate::Config;

mod assembly;
mod handshake;
#[cfg(test)]
mod idle_tests;
mod reassembly;
mod receive;
mod reconfig;
mod sack;
mod send;
mod shutdown;
mod timers;

use timers::{Timer, TimerTable};

/// Initial congestion window (RFC 9260 §7.2.1).
fn initial_cwnd(mtu: usize) -> usize {
    (4 * mtu).min((2 * mtu).max(4380))
}

/// Takes what one add-streams request can carry (a 16-bit count, RFC 6525 §4.5–4.6) from
/// a queue of streams to add.
fn take_streams(queue: &mut u32) -> u16 {
    let n = u16::try_from(*queue).unwrap_or(u16::MAX);
    *queue -= u32::from(n);
    n
}

/// Gives an empty queue's buffer back, so that an idle association keeps no capacity sized
/// for its last burst (issue 17: memory per idle connection). Called where a queue drains,
/// off the paths that run per packet of a bulk transfer.
fn release_if_empty<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() != 0 {
        *q = VecDeque::new();
    }
}

/// Serial-number comparison of TSNs (RFC 9260 §1.6): `a` comes before `b`.
fn tsn_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
/// `a` is `b` or comes before it.
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

/// Responses remembered so a retransmitted request gets the same answer (RFC 6525 §5.2.1).
const REMEMBERED_RESPONSES: usize = 4;

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
    /// T1-init/T1-cookie, T2-shutdown, T3-rtx, delayed SACK, heartbeat, RE-CONFIG.
    timers: TimerTable,
    hb_outstanding: bool,
    // --- send side ---
    /// Boxed: the map allocates room for several entries at once (issue 17: an idle
    /// connection with one channel paid for four 80-byte entries).
    streams_out: HashMap<u16, Box<OutStream>>,
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
            timers: TimerTable::default(),
            hb_outstanding: false,
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
        self.timers.stop_all();
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
}
