//! A global allocator that wraps [`System`] and, while counting is switched on, counts
//! allocations and requested bytes with relaxed atomics.
//!
//! Counting is off while timing, so a timed loop pays one relaxed load per allocation and
//! nothing else; [`count`] switches it on for a separate pass.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// The counting allocator; install it with `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

impl CountingAllocator {
    #[inline]
    fn record(size: usize) {
        if COUNTING.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size as u64, Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System`, which upholds the `GlobalAlloc` contract; the
// counting around it only touches atomics and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size());
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size());
        // SAFETY: our caller upholds `GlobalAlloc::alloc_zeroed`'s contract, which is `System`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through it) with
        // `layout`, as our caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A reallocation counts as one allocation of the new size.
        Self::record(new_size);
        // SAFETY: `ptr` came from `System` with `layout`, and our caller upholds `realloc`'s
        // contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made during a [`count`]ed call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocations {
    /// Number of allocations (and reallocations).
    pub count: u64,
    /// Bytes requested by them.
    pub bytes: u64,
}

/// Run `f` with counting switched on and return what it allocated, on any thread: the
/// worker threads of (g), (l) and (n) are counted too (and, with them, anything else the
/// process allocates meanwhile, which is why those rows show fractions).
pub fn count(f: impl FnOnce()) -> Allocations {
    let (count_before, bytes_before) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
    COUNTING.store(true, Relaxed);
    f();
    COUNTING.store(false, Relaxed);
    Allocations {
        count: ALLOCATIONS.load(Relaxed) - count_before,
        bytes: BYTES.load(Relaxed) - bytes_before,
    }
}
