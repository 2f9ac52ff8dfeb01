//! The agent's STUN client transactions (RFC 8489 §6.2, RFC 8445 §14.3): connectivity checks,
//! consent checks and server-reflexive gathering requests. The retransmission schedule is
//! `ferrtc-stun`'s [`ClientTransaction`] (the one TURN uses too), configured here: checks and
//! gathering requests double the RTO from `initial_rto` up to `max_rto` and give up one RTO
//! after the `max_transmissions`-th send; consent checks are sent once (RFC 7675 §5.1: a new
//! one goes out every consent interval) and given up after the interval.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferrtc_stun::{
    ClientTransaction, LastWait, TransactionConfig, TransactionEvent, TransportReliability,
};
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

/// One outstanding request: the STUN transaction (schedule and bytes) and what the agent
/// needs to act on its outcome.
#[derive(Debug)]
pub(super) struct Txn {
    pub(super) tx: ClientTransaction,
    pub(super) kind: TxnKind,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    /// How the response is authenticated.
    pub(super) auth: TxnAuth,
    /// The first send (round-trip times are measured from it).
    pub(super) sent_at: Instant,
}

impl Txn {
    /// The transaction id responses carry.
    pub(super) fn id(&self) -> TransactionId {
        self.tx.transaction_id().0
    }
}

impl Agent {
    pub(super) fn new_tid(&mut self) -> TransactionId {
        let mut t = [0u8; 12];
        self.rng.fill_bytes(&mut t);
        t
    }

    /// The schedule of a transaction of `kind` (see the module documentation).
    fn txn_config(&self, kind: TxnKind) -> TransactionConfig {
        let rc = self.config.max_transmissions.max(1);
        match kind {
            TxnKind::Consent => TransactionConfig {
                rto: self.config.consent_interval,
                rc: 1,
                last_wait: LastWait::Rto,
                ..TransactionConfig::default()
            },
            TxnKind::Check { .. } | TxnKind::Srflx { .. } => TransactionConfig {
                rto: self.config.initial_rto,
                max_rto: Some(self.config.max_rto),
                rc,
                last_wait: LastWait::Rto,
                ..TransactionConfig::default()
            },
        }
    }

    /// Starts a transaction; its first request is queued at once.
    pub(super) fn start_txn(
        &mut self,
        now: Instant,
        kind: TxnKind,
        source: SocketAddr,
        destination: SocketAddr,
        auth: TxnAuth,
        bytes: Bytes,
    ) -> Result<(), Error> {
        if self.txns.len() >= self.config.max_transactions {
            return Err(Error::Limit("outstanding STUN transactions"));
        }
        let mut tx = ClientTransaction::new(
            now,
            bytes,
            // The path to the peer is UDP even through a TURN server reached over TCP/TLS.
            TransportReliability::Unreliable,
            self.txn_config(kind),
        )
        .map_err(|e| Error::Stun(e.to_string()))?;
        if let Some(contents) = tx.poll_transmit() {
            self.transmits
                .push_back(Transmit::udp(source, destination, contents));
        }
        self.txns.push(Txn {
            tx,
            kind,
            source,
            destination,
            auth,
            sent_at: now,
        });
        Ok(())
    }

    pub(super) fn txn_timed_out(&mut self, txn: Txn) {
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
    }

    /// [`Timer::Retransmit`](super::timer::Timer::Retransmit): every due transaction
    /// retransmits or times out, as its schedule says.
    pub(super) fn retransmit_due(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(txn) = self.txns.get_mut(i) {
            if txn.tx.poll_timeout().is_none_or(|t| t > now) {
                i += 1;
                continue;
            }
            txn.tx.handle_timeout(now);
            if let Some(TransactionEvent::TimedOut) = txn.tx.poll_event() {
                let txn = self.txns.swap_remove(i);
                self.txn_timed_out(txn);
                continue;
            }
            let (source, destination, kind) = (txn.source, txn.destination, txn.kind);
            if let Some(contents) = txn.tx.poll_transmit() {
                if let TxnKind::Check { .. } | TxnKind::Consent = kind {
                    if let Some(p) = self.pair_mut(source, destination) {
                        p.stats.requests_sent += 1;
                    }
                }
                self.transmits
                    .push_back(Transmit::udp(source, destination, contents));
            }
            i += 1;
        }
    }
}
