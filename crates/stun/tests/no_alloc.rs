//! The parse + verify path of a Binding request does not allocate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// The counting allocator is the one place that needs unsafe (GlobalAlloc is unsafe).
#![allow(unsafe_code)]

use bytes::Bytes;
use ferrtc_stun::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn parse_verify_does_not_allocate() {
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    let mut b = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([5; 12]),
    );
    b.add(&Attribute::Username(Text::new("evtj:h6vY"))).unwrap();
    b.add(&Attribute::Priority(1)).unwrap();
    b.add(&Attribute::IceControlling(2)).unwrap();
    b.add(&Attribute::UseCandidate).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    // Vec-backed Bytes, as a socket read would give.
    let packet = Bytes::from(b.build().to_vec());
    let packet2 = packet.clone(); // promote to shared once, outside the measured region

    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..100 {
        let m = Message::parse(packet2.clone()).unwrap();
        let a = m.verify_integrity(&key).unwrap();
        assert_eq!(a.username().unwrap(), Some("evtj:h6vY"));
        assert_eq!(a.priority().unwrap(), Some(1));
        assert_eq!(a.ice_controlling().unwrap(), Some(2));
        assert!(a.use_candidate());
        assert_eq!(a.xor_mapped_address().unwrap(), None);
    }
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(
        after - before,
        0,
        "parse+verify allocated {} times",
        after - before
    );
    drop(packet);
}
