//! The agent's timers as one table of named timers (the shape of quinn-proto's `TimerTable`
//! and of `ferrtc-sctp`'s association timers).
//!
//! Every deadline the agent has is one [`Timer`]; [`Agent::deadline`] says when each is due,
//! [`Agent::poll_timeout`] is the earliest of them and [`Agent::handle_timeout`] fires the due
//! ones in the order of [`Timer::VALUES`].
//!
//! Two timers are deadlines the agent schedules itself and are stored in the [`TimerTable`]:
//! the next Ta slot ([`Timer::Pacing`]) and the next consent check ([`Timer::ConsentCheck`]).
//! The others follow from state that already holds their time (a transaction's next
//! retransmission, a TURN client's own timer, the first valid pair, the last consent
//! response), so they are derived from it when asked and can never go stale.

use std::time::Instant;

use super::{Agent, ConnectionState};

/// A named timer of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// The TURN clients' own timers (allocation and permission refreshes, their STUN
    /// retransmissions): `handle_timeout` of each due client. Derived.
    Turn,
    /// The earliest retransmission or timeout of the agent's STUN transactions (checks,
    /// consent checks, server-reflexive requests; RFC 8489 §6.2.1). Derived.
    Retransmit,
    /// Consent lost (RFC 7675 §5.1): `consent_timeout` after the last consent response on the
    /// selected pair; the agent fails. Derived.
    ConsentExpiry,
    /// The next consent check on the selected pair (RFC 7675 §5.1: every `consent_interval`,
    /// ±20 %). Stored; full agents only.
    ConsentCheck,
    /// Regular nomination (RFC 8445 §8.1.1): `nomination_delay` (or `relay_nomination_delay`)
    /// after the first valid pair, while no pair is nominated. Derived.
    Nomination,
    /// The next Ta slot (RFC 8445 §6.1.4.2, §14.2): when the next ordinary or triggered check
    /// may go. Stored; reported only while a pair is checkable.
    Pacing,
    /// Connected/Completed becomes Disconnected `disconnected_timeout` after the last consent
    /// response (W3C `RTCIceConnectionState`). Derived.
    Disconnected,
}

impl Timer {
    /// Every timer, in the order `handle_timeout` fires due ones.
    pub(super) const VALUES: [Timer; 7] = [
        Timer::Turn,
        Timer::Retransmit,
        Timer::ConsentExpiry,
        Timer::ConsentCheck,
        Timer::Nomination,
        Timer::Pacing,
        Timer::Disconnected,
    ];

    fn slot(self) -> usize {
        self as usize
    }
}

/// Deadlines of the stored [`Timer`]s (`None`: not armed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TimerTable {
    deadlines: [Option<Instant>; Timer::VALUES.len()],
}

impl TimerTable {
    /// Arms `timer` at `at` (re-arming replaces the deadline).
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = Some(at);
        }
    }

    /// Disarms `timer`.
    pub(super) fn stop(&mut self, timer: Timer) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = None;
        }
    }

    /// The stored deadline of `timer`.
    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer.slot()).copied().flatten()
    }
}

impl Agent {
    /// When `timer` is due, or `None` when it is not armed.
    pub(super) fn deadline(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::Turn => self
                .relays
                .iter()
                .filter(|r| !r.closed)
                .filter_map(|r| r.client.poll_timeout())
                .min(),
            Timer::Retransmit => self.txns.iter().filter_map(|t| t.tx.poll_timeout()).min(),
            Timer::ConsentExpiry => self
                .selected
                .as_ref()
                .map(|s| s.last_consent + self.config.consent_timeout),
            Timer::ConsentCheck => self
                .selected
                .as_ref()
                .filter(|_| !self.config.lite)
                .and(self.timers.get(Timer::ConsentCheck)),
            Timer::Nomination => self
                .first_success
                .filter(|_| self.needs_nomination())
                .map(|t| t + self.nomination_wait()),
            Timer::Pacing => self
                .timers
                .get(Timer::Pacing)
                .filter(|_| self.has_checkable()),
            Timer::Disconnected => self
                .selected
                .as_ref()
                .filter(|_| {
                    matches!(
                        self.state,
                        ConnectionState::Connected | ConnectionState::Completed
                    )
                })
                .map(|s| s.last_consent + self.config.disconnected_timeout),
        }
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.deadline(timer).is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stored_deadlines_are_per_timer() {
        let t0 = ferrtc_testkit::epoch();
        let mut table = TimerTable::default();
        assert_eq!(table.get(Timer::Pacing), None);
        table.set(Timer::Pacing, t0 + Duration::from_millis(1));
        table.set(Timer::ConsentCheck, t0 + Duration::from_secs(5));
        assert_eq!(
            table.get(Timer::Pacing),
            Some(t0 + Duration::from_millis(1))
        );
        assert_eq!(
            table.get(Timer::ConsentCheck),
            Some(t0 + Duration::from_secs(5))
        );
        table.stop(Timer::Pacing);
        assert_eq!(table.get(Timer::Pacing), None);
        assert_eq!(
            table.get(Timer::ConsentCheck),
            Some(t0 + Duration::from_secs(5))
        );
        // Every timer has its own slot.
        let slots: Vec<usize> = Timer::VALUES.iter().map(|t| t.slot()).collect();
        assert_eq!(slots, (0..Timer::VALUES.len()).collect::<Vec<_>>());
    }
}
