//! `CountingAllocator::PER_THREAD`: each thread counts its own allocations, bytes and live
//! bytes, and a reallocation counts as one allocation of its new size.

use alloc_count::{during, thread_counts, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::PER_THREAD;

#[test]
fn a_thread_counts_its_own_allocations_and_live_bytes() {
    let (v, counts) = during(|| {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.extend_from_slice(&[1; 16]);
        v.reserve_exact(48); // a reallocation to 64 bytes
        v
    });
    assert_eq!(counts.allocations, 2);
    assert_eq!(counts.bytes, 16 + 64);
    assert_eq!(counts.live, 64);
    let before = thread_counts();
    drop(v);
    assert_eq!(thread_counts().since(before).live, -64);
    assert_eq!(thread_counts().since(before).allocations, 0);
}

#[test]
fn another_threads_allocations_are_not_counted_here() {
    let ((), counts) = during(|| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let boxes: Vec<Box<u64>> = (0..100).map(Box::new).collect();
                drop(boxes);
            });
        });
    });
    // Spawning a scoped thread may allocate on this thread, but not the other's 101.
    assert!(counts.allocations < 20, "{counts:?}");
}
