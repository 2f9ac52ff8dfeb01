//! Sliding replay window over packet indices (RFC 3711 §3.3.2).
//!
//! The window is a ring bitmap of `size` bits (rounded up to a power of two, at least 64), where
//! bit `i % size` records whether index `i` was seen, for `i` in
//! `(highest - size, highest]`. It is allocated once when the stream is created.

/// Outcome of a replay check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Not seen and inside (or ahead of) the window.
    Fresh,
    /// Already seen.
    Replay,
    /// Behind the window: cannot tell, so reject.
    TooOld,
}

#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    bits: Vec<u64>,
    /// Window size in packets (a power of two, at least 64).
    size: u64,
    /// Highest index accepted so far; meaningless while `empty`.
    highest: u64,
    empty: bool,
}

impl ReplayWindow {
    /// A window of at least `size` packets (rounded up to a power of two, at least 64).
    pub(crate) fn new(size: usize) -> Self {
        // A power of two, so that the slot of an index is a mask, not a division.
        let words = size.div_ceil(64).max(1).next_power_of_two();
        ReplayWindow {
            bits: vec![0; words],
            size: words as u64 * 64,
            highest: 0,
            empty: true,
        }
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn highest(&self) -> Option<u64> {
        (!self.empty).then_some(self.highest)
    }

    fn bit(&self, index: u64) -> (usize, u64) {
        let pos = index & (self.size - 1);
        ((pos / 64) as usize, 1u64 << (pos % 64))
    }

    pub(crate) fn check(&self, index: u64) -> Check {
        if self.empty || index > self.highest {
            return Check::Fresh;
        }
        if self.highest - index >= self.size {
            return Check::TooOld;
        }
        let (w, m) = self.bit(index);
        match self.bits.get(w) {
            Some(word) if word & m != 0 => Check::Replay,
            _ => Check::Fresh,
        }
    }

    /// Records `index` as seen; call only after `check` returned `Fresh` and the packet
    /// authenticated.
    pub(crate) fn accept(&mut self, index: u64) {
        if self.empty {
            self.bits.fill(0);
            self.highest = index;
            self.empty = false;
        } else if index == self.highest + 1 {
            // The common case, in order: only the new slot changes, and it is set below.
            self.highest = index;
        } else if index > self.highest {
            let advance = index - self.highest;
            if advance >= self.size {
                self.bits.fill(0);
            } else {
                // Clear the slots of the indices we skip over (they are now unseen).
                for i in self.highest + 1..index {
                    let (w, m) = self.bit(i);
                    if let Some(word) = self.bits.get_mut(w) {
                        *word &= !m;
                    }
                }
                let (w, m) = self.bit(index);
                if let Some(word) = self.bits.get_mut(w) {
                    *word &= !m;
                }
            }
            self.highest = index;
        }
        let (w, m) = self.bit(index);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_basics() {
        let mut w = ReplayWindow::new(100);
        assert_eq!(w.size(), 128);
        assert_eq!(w.check(5), Check::Fresh);
        w.accept(5);
        assert_eq!(w.check(5), Check::Replay);
        assert_eq!(w.check(4), Check::Fresh);
        w.accept(200);
        assert_eq!(w.check(5), Check::TooOld);
        assert_eq!(w.check(72), Check::TooOld);
        assert_eq!(w.check(73), Check::Fresh);
        w.accept(73);
        assert_eq!(w.check(73), Check::Replay);
        assert_eq!(w.check(199), Check::Fresh);
        w.accept(201);
        assert_eq!(w.check(200), Check::Replay);
        assert_eq!(w.check(201), Check::Replay);
        assert_eq!(w.check(73), Check::TooOld);
        // a large jump clears everything
        w.accept(100_000);
        assert_eq!(w.check(99_999), Check::Fresh);
        assert_eq!(w.check(100_000), Check::Replay);
    }

    #[test]
    fn skipped_slots_are_cleared() {
        let mut w = ReplayWindow::new(64);
        for i in 0..64 {
            w.accept(i);
        }
        w.accept(100); // skip 64..100: those map onto slots of 0..36
        for i in 64..100 {
            assert_eq!(w.check(i), Check::Fresh, "{i}");
        }
    }
}
