//! Extending 16-bit sequence numbers and 32-bit timestamps to 64 bits across wraparound.
//!
//! Each new value is placed at the extended value nearest to the previous one (RFC 3550
//! Appendix A.1 does the same with a cycle count), so reordering around a wrap is handled.
//! Values are `i64`: a packet older than the first one seen, across a wrap, extends to a
//! negative number instead of a wrong huge one.

macro_rules! unwrapper {
    ($(#[$m:meta])* $name:ident, $t:ty, $signed:ty) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            last: Option<i64>,
        }

        impl $name {
            /// A fresh unwrapper; the first value extends to itself.
            pub const fn new() -> Self {
                Self { last: None }
            }

            /// Extends `value` and remembers it as the reference for the next one.
            pub fn unwrap(&mut self, value: $t) -> i64 {
                let v = self.peek(value);
                self.last = Some(v);
                v
            }

            /// Extends `value` without changing the reference.
            pub fn peek(&self, value: $t) -> i64 {
                match self.last {
                    None => i64::from(value),
                    Some(last) => {
                        let delta = value.wrapping_sub(last as $t) as $signed;
                        last.wrapping_add(i64::from(delta))
                    }
                }
            }

            /// The last extended value.
            pub fn last(&self) -> Option<i64> {
                self.last
            }
        }
    };
}

unwrapper!(
    /// Extends RTP sequence numbers (16 bits) to 64 bits.
    SeqUnwrapper, u16, i16
);
unwrapper!(
    /// Extends RTP timestamps (32 bits) to 64 bits.
    TimestampUnwrapper, u32, i32
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_wraps_forward_and_back() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(65534), 65534);
        assert_eq!(u.unwrap(65535), 65535);
        assert_eq!(u.unwrap(0), 65536);
        assert_eq!(u.unwrap(65535), 65535);
        assert_eq!(u.unwrap(1), 65537);
        assert_eq!(u.unwrap(1000), 66536);
    }

    #[test]
    fn before_first() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(0), 0);
        assert_eq!(u.unwrap(65535), -1);
    }

    #[test]
    fn timestamps() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 10), i64::from(u32::MAX) - 10);
        assert_eq!(u.unwrap(5), i64::from(u32::MAX) + 6);
        // many wraps
        let mut u = TimestampUnwrapper::new();
        let mut t: u32 = 0;
        for i in 1..=10u64 {
            t = t.wrapping_add(1 << 30);
            assert_eq!(u.unwrap(t), (i << 30) as i64);
        }
    }
}
