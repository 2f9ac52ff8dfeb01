//! The agent's STUN client transactions (RFC 8489 §6.2, RFC 8445 §14.3): connectivity checks,
//! consent checks and server-reflexive gathering requests, their retransmission schedule
//! (doubling RTO capped at `max_rto`, `max_transmissions` sends) and timeouts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_core::RngCore;
use tracing::trace;

use crate::stun::{IntegrityKey, TransactionId};
use crate::Error;

use super::{Agent, PairState, Role, Transmit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxnKind {
    Check { nominate: bool, role: Role },
    Consent,
    Srflx { interface_index: u16 },
}

/// How the response to a transaction is authenticated.
#[derive(Debug, Clone)]
pub(super) enum TxnAuth {
    /// A STUN server's (server-reflexive gathering): no integrity, but it must come from the
    /// address the request went to.
    Server,
    /// A peer's (checks and consent checks): MESSAGE-INTEGRITY with the remote password's key,
    /// prepared when the credentials were set (`None`: the key was unusable, nothing verifies).
    /// The key is shared with the credentials it was prepared for (no copy per check).
    Peer(Option<Arc<IntegrityKey>>),
}

#[derive(Debug, Clone)]
pub(super) struct Txn {
    pub(super) id: TransactionId,
    pub(super) kind: TxnKind,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    /// How the response is authenticated.
    pub(super) auth: TxnAuth,
    pub(super) bytes: Bytes,
    pub(super) sent_at: Instant,
    pub(super) next_retx: Instant,
    pub(super) rto: Duration,
    pub(super) transmissions: u32,
}

impl Agent {
    pub(super) fn new_tid(&mut self) -> TransactionId {
        let mut t = [0u8; 12];
        self.rng.fill_bytes(&mut t);
        t
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_txn(
        &mut self,
        now: Instant,
        id: TransactionId,
        kind: TxnKind,
        source: SocketAddr,
        destination: SocketAddr,
        auth: TxnAuth,
        bytes: Bytes,
    ) -> Result<(), Error> {
        if self.txns.len() >= self.config.max_transactions {
            return Err(Error::Limit("outstanding STUN transactions"));
        }
        let rto = match kind {
            // Consent checks are not retransmitted: a new one goes out every consent interval
            // and consent only expires after `consent_timeout` without any response.
            TxnKind::Consent => self.config.consent_interval,
            _ => self.config.initial_rto,
        };
        self.txns.push(Txn {
            id,
            kind,
            source,
            destination,
            auth,
            bytes: bytes.clone(),
            sent_at: now,
            next_retx: now + rto,
            rto,
            transmissions: if kind == TxnKind::Consent {
                self.config.max_transmissions
            } else {
                1
            },
        });
        self.transmits.push_back(Transmit {
            source,
            destination,
            contents: bytes,
        });
        Ok(())
    }

    pub(super) fn txn_timed_out(&mut self, now: Instant, txn: Txn) {
        match txn.kind {
            TxnKind::Check { .. } => {
                if let Some(p) = self.pair_mut(txn.source, txn.destination) {
                    if p.state == PairState::InProgress {
                        trace!(remote = %txn.destination, "ice: check timed out");
                        p.state = PairState::Failed;
                        p.nominating = false;
                    }
                }
            }
            TxnKind::Consent | TxnKind::Srflx { .. } => {}
        }
        let _ = now;
    }

    /// [`Timer::Retransmit`](super::timer::Timer::Retransmit): retransmits every due
    /// transaction with a doubled RTO (capped at `max_rto`), or ends it after
    /// `max_transmissions` sends.
    pub(super) fn retransmit_due(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(txn) = self.txns.get_mut(i) {
            if txn.next_retx > now {
                i += 1;
                continue;
            }
            if txn.transmissions >= self.config.max_transmissions {
                let txn = self.txns.swap_remove(i);
                self.txn_timed_out(now, txn);
                continue;
            }
            txn.transmissions += 1;
            txn.rto = (txn.rto * 2).min(self.config.max_rto);
            txn.next_retx = now + txn.rto;
            let (source, destination, contents) = (txn.source, txn.destination, txn.bytes.clone());
            if let TxnKind::Check { .. } | TxnKind::Consent = txn.kind {
                if let Some(p) = self.pair_mut(source, destination) {
                    p.stats.requests_sent += 1;
                }
            }
            self.transmits.push_back(Transmit {
                source,
                destination,
                contents,
            });
            i += 1;
        }
    }
}
