//! A counting global allocator proves protect/unprotect allocate nothing per packet.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// The counting allocator is the one place that needs unsafe (GlobalAlloc is unsafe).
#![allow(unsafe_code)]

mod common;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrtc_srtp::{Config, ProtectionProfile};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn zero_allocations_per_packet() {
    for p in ProtectionProfile::ALL {
        let (mut tx, mut rx) = common::pair(p, Config::default());
        let mut rtp = common::rtp(0x1234, 65000, 1200);
        let mut rtcp = common::rtcp(0x1234, 100);
        let (rtp0, rtcp0) = (rtp.clone(), rtcp.clone());
        // first packets create the stream state
        tx.protect_rtp(&mut rtp).unwrap();
        rx.unprotect_rtp(&mut rtp).unwrap();
        tx.protect_rtcp(&mut rtcp).unwrap();
        rx.unprotect_rtcp(&mut rtcp).unwrap();
        let before = ALLOCS.load(Ordering::SeqCst);
        for i in 1..2000u16 {
            // rewrite the sequence number in place (crossing the wrap)
            let seq = 65000u16.wrapping_add(i);
            rtp[2..4].copy_from_slice(&seq.to_be_bytes());
            tx.protect_rtp(&mut rtp).unwrap();
            rx.unprotect_rtp(&mut rtp).unwrap();
            tx.protect_rtcp(&mut rtcp).unwrap();
            rx.unprotect_rtcp(&mut rtcp).unwrap();
            // protecting the same index twice is refused without allocating either
            tx.protect_rtp(&mut rtp).unwrap_err();
        }
        let after = ALLOCS.load(Ordering::SeqCst);
        assert_eq!(after - before, 0, "{p}: allocations in steady state");
        assert_eq!(rtp[4..], rtp0[4..]);
        assert_eq!(rtcp, rtcp0);
    }
}
