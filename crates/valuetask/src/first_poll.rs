//! The waker of a body's first poll, at the call (`stored_future::start_with`): it wakes
//! nothing, and records whether the body woke it during that poll, which is how a future says
//! "poll me again at once" (a yield, a cooperative budget spent), and whether it cloned it (to
//! register it somewhere, or to wake it later, as tokio's `yield_now` defers its wake-up
//! inside a runtime). The value task hands such a wake-up to its caller's executor at the
//! first real poll (see `stored_future.rs`).
//!
//! # Invariants
//!
//! - The recording waker exists only as a borrowed `&Waker` inside one `poll` call, and its
//!   data pointer is the [`FirstPoll`] on the caller's stack, which outlives that call. A
//!   future can keep it past the poll only by cloning it (which the clone records), and a
//!   clone wakes nothing and reads no data (a no-op waker): a clone woken later is a
//!   registration made against the first poll's waker, which a later poll with the caller's
//!   waker replaces by polling the body again (the first real poll, or, for a body that woke
//!   itself, the one after it: see `stored_future.rs`).
//! - `wake` (by value) is never called on the recording waker itself (nobody owns it), only
//!   on clones; it is implemented as `wake_by_ref` all the same.
//! - The flag is atomic: `&Waker` is `Sync`, so a body may wake it from a scoped thread
//!   during the poll.

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// Whether the body woke or cloned the first poll's waker.
pub(crate) struct FirstPoll {
    woken: AtomicBool,
    cloned: AtomicBool,
}

impl FirstPoll {
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn new() -> Self {
        FirstPoll {
            woken: AtomicBool::new(false),
            cloned: AtomicBool::new(false),
        }
    }

    /// The recording waker, for one poll while `self` is borrowed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn waker(&self) -> ManuallyDrop<Waker> {
        let data: *const FirstPoll = self;
        // SAFETY: `RECORDING`'s functions follow the `RawWaker` contract: `clone` gives a
        // waker that reads no data; the others read `data` only while the borrow of `self`
        // that made this waker lives (module invariants). `ManuallyDrop`: its drop is a no-op.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data.cast(), &RECORDING)) })
    }

    /// Whether the body woke the waker during the poll.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn woken(&self) -> bool {
        self.woken.load(Ordering::Relaxed)
    }

    /// Whether the body cloned the waker during the poll.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn cloned(&self) -> bool {
        self.cloned.load(Ordering::Relaxed)
    }
}

static RECORDING: RawWakerVTable = RawWakerVTable::new(clone_to_noop, record, record, do_nothing);

static NOOP: RawWakerVTable = RawWakerVTable::new(noop_clone, do_nothing, do_nothing, do_nothing);

/// # Safety
/// `data` is the live `FirstPoll` the recording waker was made from (module invariants).
unsafe fn clone_to_noop(data: *const ()) -> RawWaker {
    // SAFETY: per the caller.
    unsafe { &*data.cast::<FirstPoll>() }
        .cloned
        .store(true, Ordering::Relaxed);
    RawWaker::new(ptr::null(), &NOOP)
}

unsafe fn noop_clone(_: *const ()) -> RawWaker {
    RawWaker::new(ptr::null(), &NOOP)
}

/// # Safety
/// `data` is the live `FirstPoll` the recording waker was made from (module invariants).
unsafe fn record(data: *const ()) {
    // SAFETY: per the caller.
    unsafe { &*data.cast::<FirstPoll>() }
        .woken
        .store(true, Ordering::Relaxed);
}

unsafe fn do_nothing(_: *const ()) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_and_a_clone_during_the_poll_are_recorded_and_a_clone_wakes_nothing() {
        let first = FirstPoll::new();
        {
            let waker = first.waker();
            assert!(!first.cloned());
            let clone = (*waker).clone();
            assert!(first.cloned());
            let _ = clone.clone();
            clone.wake_by_ref();
            clone.wake();
            assert!(!first.woken(), "clones read no data");
            waker.wake_by_ref();
        }
        assert!(first.woken());
    }
}
