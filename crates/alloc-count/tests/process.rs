//! `CountingAllocator::PROCESS_WHEN_ON`: the whole process counts, every thread, only while
//! switched on (`count`).

use alloc_count::{count, process_counts, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::PROCESS_WHEN_ON;

/// One test in this binary: the counters are the process's.
#[test]
fn counts_every_thread_while_on_and_nothing_while_off() {
    let before = process_counts();
    let off: Vec<Box<u64>> = (0..10).map(Box::new).collect();
    assert_eq!(process_counts(), before, "counting is off");
    let counts = count(|| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let boxes: Vec<Box<u32>> = (0..100).map(Box::new).collect();
                drop(boxes);
            });
        });
    });
    // The other thread's 100 boxes and their vector, and whatever the spawn allocates.
    assert!(counts.allocations >= 101, "{counts:?}");
    assert!(counts.bytes >= 100 * 4, "{counts:?}");
    drop(off);
    assert_eq!(
        process_counts().since(before).allocations,
        counts.allocations
    );
}
