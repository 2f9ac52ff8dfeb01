//! Sans-IO STUN client transaction (RFC 8489 §6.2).
//!
//! Over UDP the request is retransmitted after RTO, 2·RTO, 4·RTO, … until Rc requests have
//! been sent; the transaction fails Rm·RTO after the last one. With RTO = 500 ms, Rc = 7 and
//! Rm = 16 (the defaults) requests leave at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s and the
//! transaction times out at 39.5 s. Over TCP/TLS the request is sent once and the
//! transaction fails after Ti (39.5 s).
//!
//! The knobs other users of STUN need are in [`TransactionConfig`]: ICE connectivity checks
//! (RFC 8445 §14.3) cap the doubling RTO ([`TransactionConfig::max_rto`]) and give up one
//! RTO after their last request ([`LastWait::Rto`]); a request that is never retransmitted
//! (an ICE consent check, RFC 7675 §5.1) is `rc = 1`.

use crate::error::Error;
use crate::header::TransactionId;
use crate::message::Message;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Whether the transport retransmits for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportReliability {
    /// UDP: we retransmit.
    Unreliable,
    /// TCP or TLS: single send, Ti timeout.
    Reliable,
}

/// How long an unreliable transaction waits for a response after its last request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastWait {
    /// Rm times the initial RTO (RFC 8489 §6.2.1).
    #[default]
    Rm,
    /// One more RTO, doubled and capped at [`TransactionConfig::max_rto`] as a retransmission
    /// would have been: the ICE agent's checks (RFC 8445 §14.3 leaves the last wait to the
    /// agent). With `rc = 1` this is the initial RTO itself.
    Rto,
}

/// Retransmission parameters (RFC 8489 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Initial retransmission timeout (RTO).
    pub rto: Duration,
    /// Largest RTO the doubling may reach (RFC 8445 §14.3: ICE caps its checks'
    /// retransmission interval). `None`: the RTO doubles without limit (RFC 8489 §6.2.1).
    /// The initial RTO is used as given even when it is larger.
    pub max_rto: Option<Duration>,
    /// Rc: total number of requests sent over UDP (1: never retransmitted).
    pub rc: u32,
    /// Rm: with [`LastWait::Rm`], the final wait is Rm times the initial RTO.
    pub rm: u32,
    /// How long to wait after the last request over UDP.
    pub last_wait: LastWait,
    /// Ti: timeout over reliable transports.
    pub ti: Duration,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            rto: Duration::from_millis(500),
            max_rto: None,
            rc: 7,
            rm: 16,
            last_wait: LastWait::Rm,
            ti: Duration::from_millis(39_500),
        }
    }
}

/// What a transaction reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A response (success or error) with our transaction id arrived. Its integrity has
    /// not been checked: that is the caller's job, with the key of the request.
    Response(Message),
    /// No response in time.
    TimedOut,
}

/// A client transaction for one request.
#[derive(Debug)]
pub struct ClientTransaction {
    tid: TransactionId,
    /// Shared with every transmit: a retransmission copies no bytes and allocates nothing.
    request: Bytes,
    reliability: TransportReliability,
    config: TransactionConfig,
    sent: u32,
    rto: Duration,
    transmit_due: bool,
    deadline: Option<Instant>,
    event: Option<TransactionEvent>,
    done: bool,
}

impl ClientTransaction {
    /// Start a transaction for the encoded `request`; the first transmit is queued now.
    pub fn new(
        now: Instant,
        request: Bytes,
        reliability: TransportReliability,
        config: TransactionConfig,
    ) -> Result<Self, Error> {
        let tid = match request
            .get(8..20)
            .and_then(|t| <[u8; 12]>::try_from(t).ok())
        {
            Some(t) if crate::message::is_stun(&request) => TransactionId(t),
            _ => return Err(Error::Transaction("request is not a STUN message")),
        };
        if config.rc == 0 {
            return Err(Error::Transaction("Rc must be at least 1"));
        }
        let mut t = ClientTransaction {
            tid,
            request,
            reliability,
            config,
            sent: 0,
            rto: config.rto,
            transmit_due: false,
            deadline: None,
            event: None,
            done: false,
        };
        t.send(now);
        Ok(t)
    }

    fn send(&mut self, now: Instant) {
        self.transmit_due = true;
        self.sent += 1;
        self.deadline = Some(match self.reliability {
            TransportReliability::Reliable => now + self.config.ti,
            TransportReliability::Unreliable if self.sent >= self.config.rc => {
                match self.config.last_wait {
                    LastWait::Rm => now + self.config.rto.saturating_mul(self.config.rm),
                    LastWait::Rto => now + self.rto,
                }
            }
            TransportReliability::Unreliable => {
                let at = now + self.rto;
                let doubled = self.rto.saturating_mul(2);
                self.rto = match self.config.max_rto {
                    Some(max) => doubled.min(max),
                    None => doubled,
                };
                at
            }
        });
    }

    /// The transaction id responses must carry.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// How many times the request has been sent.
    pub fn transmissions(&self) -> u32 {
        self.sent
    }

    /// Whether the transaction has finished (response or timeout).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Offer a received message. Returns `true` if it was the response of this
    /// transaction (then it is reported as [`TransactionEvent::Response`]).
    pub fn handle_response(&mut self, msg: Message) -> bool {
        if self.done || msg.transaction_id() != self.tid || !msg.class().is_response() {
            return false;
        }
        self.done = true;
        self.deadline = None;
        self.transmit_due = false;
        self.event = Some(TransactionEvent::Response(msg));
        true
    }

    /// Advance time: retransmit or time out.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        let exhausted = match self.reliability {
            TransportReliability::Reliable => true,
            TransportReliability::Unreliable => self.sent >= self.config.rc,
        };
        if exhausted {
            tracing::debug!(tid = ?self.tid, sent = self.sent, "STUN transaction timed out");
            self.done = true;
            self.deadline = None;
            self.transmit_due = false;
            self.event = Some(TransactionEvent::TimedOut);
        } else {
            tracing::trace!(tid = ?self.tid, sent = self.sent, "STUN retransmit");
            self.send(now);
        }
    }

    /// Bytes to send now, if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if std::mem::take(&mut self.transmit_due) {
            Some(self.request.clone())
        } else {
            None
        }
    }

    /// When to call [`Self::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The outcome, once.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.event.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Class, MessageBuilder, MessageType, Method};

    fn request(tid: [u8; 12]) -> Bytes {
        MessageBuilder::new(
            MessageType::new(Method::BINDING, Class::Request),
            TransactionId(tid),
        )
        .build()
    }

    #[test]
    fn udp_schedule_matches_rfc_example() {
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request([1; 12]),
            TransportReliability::Unreliable,
            TransactionConfig::default(),
        )
        .unwrap();
        let mut sends = vec![];
        let mut now = t0;
        loop {
            while t.poll_transmit().is_some() {
                sends.push((now - t0).as_millis());
            }
            if let Some(ev) = t.poll_event() {
                assert_eq!(ev, TransactionEvent::TimedOut);
                break;
            }
            now = t.poll_timeout().unwrap();
            t.handle_timeout(now);
        }
        assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!((now - t0).as_millis(), 39500);
        assert!(t.is_done());
        assert_eq!(t.poll_timeout(), None);
    }

    /// Runs an unreliable transaction that never gets an answer: the send times and the
    /// timeout, in ms after the start.
    fn schedule(cfg: TransactionConfig) -> (Vec<u128>, u128) {
        let t0 = Instant::now();
        let mut t =
            ClientTransaction::new(t0, request([9; 12]), TransportReliability::Unreliable, cfg)
                .unwrap();
        let mut sends = vec![];
        let mut now = t0;
        for _ in 0..100 {
            while t.poll_transmit().is_some() {
                sends.push((now - t0).as_millis());
            }
            if let Some(ev) = t.poll_event() {
                assert_eq!(ev, TransactionEvent::TimedOut);
                assert!(t.is_done());
                assert_eq!(t.poll_timeout(), None);
                return (sends, (now - t0).as_millis());
            }
            now = t.poll_timeout().unwrap();
            t.handle_timeout(now);
        }
        panic!("no timeout after 100 steps: {sends:?}");
    }

    #[test]
    fn max_rto_caps_the_doubling() {
        // RFC 8445 §14.3 style: 500 ms doubling, capped at 1.6 s; the final wait stays
        // Rm x the initial RTO (16 x 500 ms = 8 s) after the 7th request at 7.9 s.
        let cfg = TransactionConfig {
            max_rto: Some(Duration::from_millis(1600)),
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0, 500, 1500, 3100, 4700, 6300, 7900]);
        assert_eq!(timeout, 15_900);
    }

    #[test]
    fn initial_rto_above_the_cap_is_used_once() {
        let cfg = TransactionConfig {
            rto: Duration::from_millis(2000),
            max_rto: Some(Duration::from_millis(1000)),
            rc: 3,
            last_wait: LastWait::Rto,
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0, 2000, 3000]);
        assert_eq!(timeout, 4000);
    }

    #[test]
    fn last_wait_rto_is_one_more_capped_rto() {
        // The ICE agent's checks: 7 sends, then one more 1.6 s interval.
        let cfg = TransactionConfig {
            max_rto: Some(Duration::from_millis(1600)),
            last_wait: LastWait::Rto,
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0, 500, 1500, 3100, 4700, 6300, 7900]);
        assert_eq!(timeout, 9500);
        // Uncapped: the doubled RTO (500, 1000, then 2000 after the third request).
        let cfg = TransactionConfig {
            rc: 3,
            last_wait: LastWait::Rto,
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0, 500, 1500]);
        assert_eq!(timeout, 3500);
    }

    #[test]
    fn rc_one_is_never_retransmitted() {
        // An ICE consent check (RFC 7675 §5.1): one request, given up after the interval.
        let cfg = TransactionConfig {
            rto: Duration::from_secs(5),
            rc: 1,
            last_wait: LastWait::Rto,
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0]);
        assert_eq!(timeout, 5000);
        // With the RFC 8489 last wait: Rm x RTO.
        let cfg = TransactionConfig {
            rc: 1,
            rm: 4,
            ..Default::default()
        };
        let (sends, timeout) = schedule(cfg);
        assert_eq!(sends, vec![0]);
        assert_eq!(timeout, 2000);
    }

    #[test]
    fn tcp_single_send_then_ti() {
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request([2; 12]),
            TransportReliability::Reliable,
            TransactionConfig::default(),
        )
        .unwrap();
        assert!(t.poll_transmit().is_some());
        assert!(t.poll_transmit().is_none());
        assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_millis(39_500)));
        t.handle_timeout(t0 + Duration::from_secs(10));
        assert!(t.poll_transmit().is_none());
        t.handle_timeout(t0 + Duration::from_millis(39_500));
        assert_eq!(t.poll_event(), Some(TransactionEvent::TimedOut));
    }

    #[test]
    fn response_matched_by_transaction_id() {
        let t0 = Instant::now();
        let cfg = TransactionConfig {
            rc: 3,
            rm: 4,
            ..Default::default()
        };
        let mut t =
            ClientTransaction::new(t0, request([3; 12]), TransportReliability::Unreliable, cfg)
                .unwrap();
        let other = MessageBuilder::new(
            MessageType::new(Method::BINDING, Class::SuccessResponse),
            TransactionId([4; 12]),
        )
        .build();
        assert!(!t.handle_response(Message::parse(other).unwrap()));
        // A request with the same id is not a response.
        assert!(!t.handle_response(Message::parse(request([3; 12])).unwrap()));
        let ours = MessageBuilder::new(
            MessageType::new(Method::BINDING, Class::ErrorResponse),
            TransactionId([3; 12]),
        )
        .build();
        assert!(t.handle_response(Message::parse(ours).unwrap()));
        assert!(matches!(
            t.poll_event(),
            Some(TransactionEvent::Response(_))
        ));
        assert!(t.is_done());
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn rejects_non_stun() {
        let r = ClientTransaction::new(
            Instant::now(),
            Bytes::from_static(b"hello"),
            TransportReliability::Reliable,
            TransactionConfig::default(),
        );
        assert!(r.is_err());
    }
}
