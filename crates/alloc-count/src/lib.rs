//! One counting global allocator for valuetask's bench, stress run, tests and examples: it
//! forwards to [`System`] and counts allocations, their bytes and the bytes still live.
//!
//! Two ways to count, chosen by the constant installed:
//!
//! - [`CountingAllocator::PER_THREAD`] (tests): every thread counts its own allocations,
//!   always, in const-initialized thread locals, so tests running in parallel do not see each
//!   other's. [`thread_counts`] and [`during`] read them.
//! - [`CountingAllocator::PROCESS`] (the stress run, the examples): the whole process counts,
//!   all threads, in relaxed atomics; [`process_counts`] reads the totals.
//! - [`CountingAllocator::PROCESS_WHEN_ON`] (the bench): the same, but only while
//!   [`set_counting`] has it on, so that a timed loop pays one relaxed load an allocation.
//!   [`count`] switches it on around a call.
//!
//! A reallocation counts as one allocation of its new size. Live bytes go up by an
//! allocation's size and down by a deallocation's, so they mean "live" only while counting
//! stays on (per thread: for memory allocated and freed on the same thread).
//!
//! ```
//! use alloc_count::{during, CountingAllocator};
//!
//! #[global_allocator]
//! static ALLOCATOR: CountingAllocator = CountingAllocator::PER_THREAD;
//!
//! let (v, counts) = during(|| vec![1u8; 10]);
//! assert_eq!((counts.allocations, counts.bytes), (1, 10));
//! drop(v);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// What was allocated: a total, or the difference of two totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Allocations (a reallocation is one).
    pub allocations: u64,
    /// Bytes they requested (a reallocation, its new size).
    pub bytes: u64,
    /// Bytes allocated and not yet freed.
    pub live: i64,
}

impl Counts {
    /// What was counted from `earlier` to `self`.
    pub fn since(self, earlier: Counts) -> Counts {
        Counts {
            allocations: self.allocations - earlier.allocations,
            bytes: self.bytes - earlier.bytes,
            live: self.live - earlier.live,
        }
    }
}

/// The allocator; install one of its constants with `#[global_allocator]`.
#[derive(Debug, Clone, Copy)]
pub struct CountingAllocator {
    mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    PerThread,
    Process,
    ProcessWhenOn,
}

impl CountingAllocator {
    /// Counts per thread, always (module docs).
    pub const PER_THREAD: Self = Self {
        mode: Mode::PerThread,
    };
    /// Counts for the whole process, always (module docs).
    pub const PROCESS: Self = Self {
        mode: Mode::Process,
    };
    /// Counts for the whole process while switched on (module docs).
    pub const PROCESS_WHEN_ON: Self = Self {
        mode: Mode::ProcessWhenOn,
    };

    /// Whether the process-wide counters count now.
    #[inline]
    fn process_counting(&self) -> bool {
        match self.mode {
            Mode::PerThread => false,
            Mode::Process => true,
            Mode::ProcessWhenOn => COUNTING.load(Relaxed),
        }
    }

    #[inline]
    fn allocated(&self, bytes: usize) {
        if self.mode == Mode::PerThread {
            let _ = THREAD.try_with(|counts| {
                let mut c = counts.get();
                c.allocations += 1;
                c.bytes += bytes as u64;
                c.live += bytes as i64;
                counts.set(c);
            });
        } else if self.process_counting() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(bytes as u64, Relaxed);
            LIVE.fetch_add(bytes as i64, Relaxed);
        }
    }

    #[inline]
    fn freed(&self, bytes: usize) {
        if self.mode == Mode::PerThread {
            let _ = THREAD.try_with(|counts| {
                let mut c = counts.get();
                c.live -= bytes as i64;
                counts.set(c);
            });
        } else if self.process_counting() {
            LIVE.fetch_sub(bytes as i64, Relaxed);
        }
    }
}

thread_local! {
    static THREAD: Cell<Counts> = const {
        Cell::new(Counts { allocations: 0, bytes: 0, live: 0 })
    };
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every method forwards to `System`, which upholds the `GlobalAlloc` contract; the
// counting beside it touches only atomics and const-initialized thread locals (`try_with`:
// nothing during a thread's teardown), and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocated(layout.size());
        // SAFETY: our caller upholds `alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.allocated(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.freed(layout.size());
        // SAFETY: `ptr` came from `System` (every allocation goes through it) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.freed(layout.size());
        self.allocated(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; our caller upholds `realloc`'s
        // contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// This thread's totals (with [`CountingAllocator::PER_THREAD`]).
pub fn thread_counts() -> Counts {
    THREAD.with(Cell::get)
}

/// What this thread allocated while `f` ran (with [`CountingAllocator::PER_THREAD`]).
pub fn during<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    let before = thread_counts();
    let result = f();
    (result, thread_counts().since(before))
}

/// Switch process-wide counting on or off (with [`CountingAllocator::PROCESS_WHEN_ON`]).
pub fn set_counting(on: bool) {
    COUNTING.store(on, Relaxed);
}

/// The process's totals (with [`CountingAllocator::PROCESS`], or while counting was on with
/// [`CountingAllocator::PROCESS_WHEN_ON`]).
pub fn process_counts() -> Counts {
    Counts {
        allocations: ALLOCATIONS.load(Relaxed),
        bytes: BYTES.load(Relaxed),
        live: LIVE.load(Relaxed),
    }
}

/// Run `f` with process-wide counting off, then as it was (with
/// [`CountingAllocator::PROCESS_WHEN_ON`]): a measurement's own storage inside a counted run.
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let was = COUNTING.swap(false, Relaxed);
    let result = f();
    COUNTING.store(was, Relaxed);
    result
}

/// Run `f` with process-wide counting on, then off, and return what the process allocated
/// meanwhile, on any thread (with [`CountingAllocator::PROCESS_WHEN_ON`]): a runtime's workers are
/// counted too, and with them anything else the process does meanwhile.
pub fn count(f: impl FnOnce()) -> Counts {
    let before = process_counts();
    set_counting(true);
    f();
    set_counting(false);
    process_counts().since(before)
}
