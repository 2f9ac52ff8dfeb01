//! The peer connection's timers as a table of named deadlines (the shape of quinn-proto's
//! `TimerTable`). Each entry is the deadline of one state machine the connection drives;
//! [`PeerConnection::poll_timeout`](super::PeerConnection::poll_timeout) is the earliest
//! entry and `handle_timeout` fires exactly the expired ones.
//!
//! Media (issue 13) adds its timers here (RTCP report schedule, NACK, pacer, …): one variant
//! each, armed by the media code, fired by `PeerConnection::on_timer`.

use std::time::Instant;

/// A named timer of the peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The ICE agent's next check, retransmission, keepalive or consent deadline.
    Ice = 0,
    /// The DTLS handshake retransmission timer.
    Dtls = 1,
    /// The SCTP association's timers (T1, T3-rtx, delayed SACK, heartbeat, …); armed only
    /// while DTLS is connected, as SCTP packets can only leave through it.
    Sctp = 2,
    /// The media engine: RTCP report schedule and frame buffer deadlines.
    Media = 3,
}

impl Timer {
    /// Every timer, in the order `handle_timeout` fires expired ones.
    pub(crate) const VALUES: [Timer; 4] = [Timer::Ice, Timer::Dtls, Timer::Sctp, Timer::Media];
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; Timer::VALUES.len()],
}

impl TimerTable {
    /// Sets (or with `None` stops) a timer.
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        if let Some(slot) = self.deadlines.get_mut(timer as usize) {
            *slot = at;
        }
    }

    /// Stops a timer.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.set(timer, None);
    }

    /// A timer's deadline.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer as usize).copied().flatten()
    }

    /// Whether the timer is set and due at `now`.
    pub(crate) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// The earliest deadline of all.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_set_timer_is_next_and_only_due_ones_expire() {
        let t0 = ferrtc_testkit::epoch();
        let mut table = TimerTable::default();
        assert_eq!(table.next_timeout(), None);
        table.set(Timer::Sctp, Some(t0 + Duration::from_millis(300)));
        table.set(Timer::Ice, Some(t0 + Duration::from_millis(50)));
        table.set(Timer::Dtls, Some(t0 + Duration::from_millis(1000)));
        table.set(Timer::Media, Some(t0 + Duration::from_millis(2000)));
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_millis(50)));
        let now = t0 + Duration::from_millis(300);
        let due: Vec<Timer> = Timer::VALUES
            .into_iter()
            .filter(|t| table.is_expired(*t, now))
            .collect();
        assert_eq!(due, [Timer::Ice, Timer::Sctp]);
        table.stop(Timer::Ice);
        assert_eq!(table.get(Timer::Ice), None);
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_millis(300)));
        table.set(Timer::Sctp, None);
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_millis(1000)));
    }
}
