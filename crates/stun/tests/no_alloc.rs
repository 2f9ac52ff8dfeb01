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
use std::cell::Cell;

struct Counting;

thread_local! {
    // Per thread: the tests of this file run in parallel and must not count each other's
    // allocations (a const-initialised Cell needs no allocation of its own).
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> usize {
    COUNT.with(|c| c.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
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

    let before = allocs();
    for _ in 0..100 {
        let m = Message::parse(packet2.clone()).unwrap();
        let a = m.verify_integrity(&key).unwrap();
        assert_eq!(a.username().unwrap(), Some("evtj:h6vY"));
        assert_eq!(a.priority().unwrap(), Some(1));
        assert_eq!(a.ice_controlling().unwrap(), Some(2));
        assert!(a.use_candidate());
        assert_eq!(a.xor_mapped_address().unwrap(), None);
    }
    let after = allocs();
    assert_eq!(
        after - before,
        0,
        "parse+verify allocated {} times",
        after - before
    );
    drop(packet);
}

#[test]
fn transaction_retransmissions_do_not_allocate() {
    use std::time::{Duration, Instant};
    let request = MessageBuilder::new(
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId([6; 12]),
    )
    .build();
    let cfg = TransactionConfig {
        max_rto: Some(Duration::from_millis(1600)),
        last_wait: LastWait::Rto,
        ..Default::default()
    };
    let t0 = Instant::now();
    let mut t =
        ClientTransaction::new(t0, request.clone(), TransportReliability::Unreliable, cfg).unwrap();
    assert_eq!(t.poll_transmit().as_deref(), Some(&request[..]));

    let before = allocs();
    let mut sends = 0;
    let mut timed_out = false;
    for _ in 0..20 {
        let Some(at) = t.poll_timeout() else { break };
        t.handle_timeout(at);
        while let Some(b) = t.poll_transmit() {
            assert_eq!(b.len(), request.len());
            sends += 1;
        }
        timed_out |= t.poll_event() == Some(TransactionEvent::TimedOut);
    }
    let after = allocs();
    assert_eq!(sends, 6, "six retransmissions after the first request");
    assert!(timed_out);
    assert_eq!(after - before, 0, "retransmitting allocated");
}
