//! The task cell: one block holding the state word, the refcount, the source count, the
//! waiters and the output. `RawTask<O>` is a counted pointer to it. The block comes from the
//! pooled storage (`pool::store_block`: a box only for cells over 4 KiB) and goes back to the
//! pool of whichever thread drops the last handle, so a task allocates nothing in steady state.
//!
//! # Invariants (who may touch what)
//!
//! - `refs` counts `RawTask` handles. The cell is freed when it drops to zero. A static cell
//!   (`Task::completed()` and the cached results, all in [`STATIC_CELLS`]) keeps
//!   `STATIC_REFS` forever: its handles do not count, so it is never freed and never written.
//! - `output` is written exactly once, by the thread that set `CLAIMED`, before that thread
//!   sets `COMPLETE` with Release. It is read only after observing `COMPLETE` with Acquire, and
//!   never written again until the cell is freed: readers get plain `&O`, without a lock.
//! - `inline` (the first awaiter's waker) is accessed only by the thread holding `LOCKED`.
//!   `LOCKED` is taken by a CAS that requires it clear and `COMPLETE` clear; the completer
//!   takes it together with `CLAIMED`, takes the waker, and releases it in the same Release
//!   store that sets `COMPLETE`. While `LOCKED` is held nobody else writes the state word
//!   (a slab reservation writes the slab's words, not this one). Once `COMPLETE` is set
//!   nobody takes `LOCKED` again, so a `WaiterKey` held by a future becomes dead.
//! - `slab` (awaiters 2 to 129) is taken by the second awaiter under `LOCKED` and published
//!   with `HAS_SLAB` in the unlocking store; awaiters reserve its slots with a CAS on the
//!   slab's own shard words, tagged with this cell's address. Its wide half opens under
//!   `LOCKED` too, once, with `SLAB_WIDE` in the unlocking store. The completer closes the
//!   shards (the wide half's if its claim saw `SLAB_WIDE`) after publishing `COMPLETE`,
//!   takes the wakers, clears the pointer (Release) and gives the block back, following the
//!   rules in `slab.rs`. A registrant that loads a null pointer, or finds the block closed
//!   or tagged for another cell, reads the cell as complete. Re-registering or removing a
//!   slab key takes `LOCKED`, under which the cell is pending and the block its own.
//! - `overflow` (awaiters past 129, in per-thread shards with their own locks) is published
//!   under `LOCKED`, once, with `HAS_OVERFLOW` set in the unlocking store, and lives until
//!   the cell is freed. A new awaiter that sees `HAS_OVERFLOW` goes to the overflow without
//!   taking `LOCKED`; one that holds `LOCKED` knows the overflow is not published. It
//!   follows the rules in `waiters.rs`: the completer takes its wakers after publishing
//!   `COMPLETE`, and registrants check `COMPLETE` under their shard's lock.
//! - `sources` counts the `TaskCompletionSource` handles; the last one to drop completes the
//!   cell as abandoned if nobody completed it.
//! - A count of one (`refs` or `sources`) means "only me": only a holder can create another,
//!   so the last drop may skip the read-modify-write.
//! - `CLAIMED` and `LOCKED` are set together by the completer's one CAS, so `CLAIMED` without
//!   `COMPLETE` never exists without `LOCKED`.
//! - No executor or user code runs under `LOCKED` (nor under the source core's, see
//!   `source/core.rs`): wakers are cloned before it is taken (a re-registration with a new
//!   waker releases it, clones, and retries) and dropped or woken after it is released; a
//!   result being discarded is moved out and dropped after. The only call under the bit is
//!   the allocator (the waiter list growing), whose only failure aborts. So a panicking waker
//!   or `Drop` cannot leave a cell locked, and a thread spinning on the bit waits for a few
//!   loads and stores. Not lock-free in the strict sense: a holder preempted by the OS delays
//!   a racing thread (`sync::spin_wait` yields to the OS after 64 rounds).
//! - Observation: reading a faulted output (await, `error`, `try_result`, `wait`) sets
//!   `OBSERVED` once; a faulted cell freed without it calls its `on_unobserved`, which every
//!   task cell gets at creation (`unobserved.rs`). Success paths never pay that
//!   read-modify-write.

use std::mem::MaybeUninit;
use std::process::abort;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

use super::slab::{tag_of, tag_of_tagged, Reservation, Slab, SlotMask};
use super::state::{
    Outcome, Snapshot, ASYNC_CONTINUATIONS, CLAIMED, COMPLETE, HAS_OVERFLOW, HAS_SLAB, HAS_WAITERS,
    LOCKED, OBSERVED, SLAB_WIDE,
};
use super::waiters::{self, NeedsClone, Overflow, Registered, Taken, WaiterKey};
use crate::sync::{fence, spin_wait, AtomicPtr, AtomicUsize, Ordering, UnsafeCell};

/// More handles than this aborts, as `Arc` does, instead of wrapping.
const MAX_REFS: usize = isize::MAX as usize;
/// A static cell starts here, so no sequence of handle drops can free it.
#[cfg(not(valuetask_loom))]
const STATIC_REFS: usize = MAX_REFS / 2;

pub(crate) struct Cell<O> {
    state: AtomicUsize,
    refs: AtomicUsize,
    sources: AtomicUsize,
    /// Called with the output when a faulted cell is freed and nobody observed it.
    on_unobserved: Option<fn(&O)>,
    /// The first awaiter's waker, under `LOCKED`.
    inline: UnsafeCell<Option<Waker>>,
    /// Awaiters 2 to 129: null until the second, then fixed until the completer gives it back.
    slab: AtomicPtr<Slab>,
    /// Awaiters past the first 129: null until needed, then fixed until the cell is freed.
    overflow: AtomicPtr<Overflow>,
    output: UnsafeCell<MaybeUninit<O>>,
}

// SAFETY: the output is shared by reference across threads (needs `Sync`) and dropped or moved
// on whichever thread frees the cell (needs `Send`); everything else is atomics or guarded by
// `LOCKED` as the module invariants state. Wakers are `Send + Sync`.
unsafe impl<O: Send + Sync> Sync for Cell<O> {}
// SAFETY: as above.
unsafe impl<O: Send + Sync> Send for Cell<O> {}

impl<O> Cell<O> {
    fn new(
        state: usize,
        output: MaybeUninit<O>,
        refs: usize,
        sources: usize,
        on_unobserved: Option<fn(&O)>,
    ) -> Self {
        // The empty slot as one constant: built in place, its `None` waker (a null vtable
        // beside an undefined data word) went through the stack and was copied into the cell
        // with a wide load straddling the stores, which stalls on store forwarding.
        const EMPTY: Option<Waker> = None;
        Self {
            state: AtomicUsize::new(state),
            refs: AtomicUsize::new(refs),
            sources: AtomicUsize::new(sources),
            on_unobserved,
            inline: UnsafeCell::new(EMPTY),
            slab: AtomicPtr::new(std::ptr::null_mut()),
            overflow: AtomicPtr::new(std::ptr::null_mut()),
            output: UnsafeCell::new(output),
        }
    }

    /// A completed cell for a `static`: its refcount can never reach zero.
    #[cfg(not(valuetask_loom))]
    pub(crate) const fn new_static(output: O, outcome: Outcome) -> Self {
        Self {
            state: AtomicUsize::new(CLAIMED | COMPLETE | outcome.bits()),
            refs: AtomicUsize::new(STATIC_REFS),
            sources: AtomicUsize::new(0),
            on_unobserved: None,
            inline: UnsafeCell::new(None),
            slab: AtomicPtr::new(std::ptr::null_mut()),
            overflow: AtomicPtr::new(std::ptr::null_mut()),
            output: UnsafeCell::new(MaybeUninit::new(output)),
        }
    }
}

impl<O> Drop for Cell<O> {
    fn drop(&mut self) {
        let state = Snapshot(self.state.load(Ordering::Relaxed));
        let overflow = self.overflow.load(Ordering::Relaxed);
        if !overflow.is_null() {
            // SAFETY: published from `Box::into_raw`, and `&mut self`: no other user is left.
            // Wakers are left in it only if the cell never completed (as in the slab below).
            unsafe { Box::from_raw(overflow) }.recycle(state.is_complete());
        }
        // Still here only if the cell never completed (its awaiters' futures were forgotten),
        // or under loom, where the completer leaves it (see `slab.rs`).
        if let Some(slab) = NonNull::new(self.slab.load(Ordering::Relaxed)) {
            if !state.is_complete() {
                // SAFETY: `&mut self`: no registrant is left, so every reserved slot is
                // ready; the mask is taken once.
                drop(unsafe { Slab::take_all(slab, Slab::reserved_now(slab, state.slab_wide())) });
            }
            // SAFETY: every reserved waker was taken (by the completer or just above), and
            // `&mut self`: nobody can reach the block through this cell any more.
            unsafe { Slab::give_back(slab) };
        }
        if state.outcome() == Some(Outcome::Faulted) && !state.is_observed() {
            if let Some(report) = self.on_unobserved {
                // SAFETY: complete, so initialized; `&mut self`, so nobody writes it.
                let output = self.output.with(|p| unsafe { (*p).assume_init_ref() });
                // A panicking hook must not turn this drop into an abort.
                if let Err(panic) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| report(output)))
                {
                    crate::catch_panic::discard(panic);
                }
            }
        }
        if state.is_complete() {
            // SAFETY: `COMPLETE` means the output was written, and `&mut self` means no reader.
            self.output.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

/// Lock attempt on the waiter list.
#[must_use]
enum Lock {
    /// We hold `LOCKED`; the state word is this (with `LOCKED`) until we `unlock` it.
    Held(usize),
    /// The cell completed: the list is gone, read the output instead.
    Completed,
}

/// The cached `i32`s are `FIRST_CACHED_I32..FIRST_CACHED_I32 + CACHED_I32S`: `-1..=8`, as in .NET.
#[cfg(not(valuetask_loom))]
pub(crate) const FIRST_CACHED_I32: i32 = -1;
#[cfg(not(valuetask_loom))]
const CACHED_I32S: usize = 10;

/// Every static cell, in one place: `Task::completed()` and the results `cached.rs` hands out
/// (see the module invariants).
#[cfg(not(valuetask_loom))]
pub(crate) struct StaticCells {
    pub(crate) unit: Cell<crate::error::TaskOutput<()>>,
    pub(crate) bools: [Cell<crate::error::TaskOutput<bool>>; 2],
    pub(crate) ints: [Cell<crate::error::TaskOutput<i32>>; CACHED_I32S],
}

#[cfg(not(valuetask_loom))]
const fn succeeded<T>(value: T) -> Cell<crate::error::TaskOutput<T>> {
    Cell::new_static(Ok(value), Outcome::RanToCompletion)
}

#[cfg(not(valuetask_loom))]
pub(crate) static STATIC_CELLS: StaticCells = StaticCells {
    unit: succeeded(()),
    bools: [succeeded(false), succeeded(true)],
    ints: [
        succeeded(-1),
        succeeded(0),
        succeeded(1),
        succeeded(2),
        succeeded(3),
        succeeded(4),
        succeeded(5),
        succeeded(6),
        succeeded(7),
        succeeded(8),
    ],
};

/// True for a static cell (one of [`STATIC_CELLS`]): its handles neither count nor free it, so
/// threads sharing it only read its cache line. An address-range test that reads nothing from
/// the cell: every other cell pays two compares.
#[inline]
pub(crate) fn is_static<O>(ptr: NonNull<Cell<O>>) -> bool {
    #[cfg(not(valuetask_loom))]
    {
        let start = (&raw const STATIC_CELLS).addr();
        // One unsigned comparison: an address below `start` wraps to a large offset. (Two
        // pointer comparisons compiled to two compares, two flag reads and a test: 4
        // instructions more on every clone and drop of a `Task`.)
        ptr.as_ptr().addr().wrapping_sub(start) < size_of::<StaticCells>()
    }
    #[cfg(valuetask_loom)]
    {
        let _ = ptr;
        false
    }
}

/// A counted pointer to a [`Cell`].
pub(crate) struct RawTask<O> {
    ptr: NonNull<Cell<O>>,
}

// SAFETY: a `RawTask` is a shared reference to a `Cell<O>`, which is `Send + Sync` for such `O`.
unsafe impl<O: Send + Sync> Send for RawTask<O> {}
// SAFETY: as above.
unsafe impl<O: Send + Sync> Sync for RawTask<O> {}

impl<O> RawTask<O> {
    /// A pending cell; `async_continuations` wakes waiters from the continuation thread;
    /// `on_unobserved` reports a fault nobody observed when the cell is freed.
    pub(crate) fn new_pending(
        async_continuations: bool,
        sources: usize,
        on_unobserved: Option<fn(&O)>,
    ) -> Self {
        Self::pending_with_handles(1, async_continuations, sources, on_unobserved)
    }

    /// [`new_pending`](Self::new_pending) with two handles from birth (a source's and its
    /// task's): the second costs no refcount increment.
    pub(crate) fn new_pending_pair(
        async_continuations: bool,
        sources: usize,
        on_unobserved: Option<fn(&O)>,
    ) -> (Self, Self) {
        let first = Self::pending_with_handles(2, async_continuations, sources, on_unobserved);
        let second = Self { ptr: first.ptr };
        (first, second)
    }

    /// A pending cell whose refcount starts at `handles`; the caller makes that many handles.
    fn pending_with_handles(
        handles: usize,
        async_continuations: bool,
        sources: usize,
        on_unobserved: Option<fn(&O)>,
    ) -> Self {
        let flags = if async_continuations {
            ASYNC_CONTINUATIONS
        } else {
            0
        };
        Self::from_cell(|| {
            Cell::new(
                flags,
                MaybeUninit::uninit(),
                handles,
                sources,
                on_unobserved,
            )
        })
    }

    /// A cell that is complete from birth.
    pub(crate) fn new_completed(
        output: O,
        outcome: Outcome,
        on_unobserved: Option<fn(&O)>,
    ) -> Self {
        let state = CLAIMED | COMPLETE | outcome.bits();
        Self::from_cell(|| Cell::new(state, MaybeUninit::new(output), 1, 0, on_unobserved))
    }

    /// Note that someone looked at a faulted output (so it is not reported as unobserved).
    /// One RMW, only the first time and only for faulted cells.
    #[inline]
    fn observe(&self, s: Snapshot) {
        if s.outcome() == Some(Outcome::Faulted) && !s.is_observed() {
            self.cell().state.fetch_or(OBSERVED, Ordering::Relaxed);
        }
    }

    /// A handle to a static completed cell. Never allocates, never frees, never counts.
    ///
    /// # Safety
    /// `cell` points at a `Cell<O>` in [`STATIC_CELLS`].
    #[cfg(not(valuetask_loom))]
    pub(crate) unsafe fn from_static(cell: NonNull<Cell<O>>) -> Self {
        debug_assert!(is_static(cell));
        Self { ptr: cell }
    }

    /// A cell in a pooled block (a box if it is too large for the pool): no allocation in
    /// steady state, on whichever thread the last handle drops.
    #[inline(always)]
    fn from_cell(cell: impl FnOnce() -> Cell<O>) -> Self {
        Self {
            ptr: crate::pool::store_block(cell),
        }
    }

    #[inline]
    fn cell(&self) -> &Cell<O> {
        // SAFETY: our reference keeps the cell alive (refs >= 1 while `self` exists).
        unsafe { self.ptr.as_ref() }
    }

    #[inline]
    fn increment(&self) {
        if is_static(self.ptr) {
            return;
        }
        if self.cell().refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            abort();
        }
    }

    #[inline]
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot(self.cell().state.load(Ordering::Acquire))
    }

    #[inline]
    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }

    /// The cell's address: the task's identity while any handle lives.
    #[inline]
    pub(crate) fn addr(&self) -> *const () {
        self.ptr.as_ptr().cast_const().cast()
    }

    /// The output, if complete. One Acquire load; no lock.
    #[inline]
    pub(crate) fn output(&self) -> Option<&O> {
        let s = self.snapshot();
        if s.is_complete() {
            self.observe(s);
            // SAFETY: `COMPLETE` was observed with Acquire.
            Some(unsafe { self.output_unchecked() })
        } else {
            None
        }
    }

    /// # Safety
    /// `COMPLETE` must have been observed with Acquire ordering (or a CAS that read it).
    #[inline]
    unsafe fn output_unchecked(&self) -> &O {
        // SAFETY: per the caller, the output is initialized and never written again while any
        // handle (such as `self`) lives.
        self.cell()
            .output
            .with(|p| unsafe { (*p).assume_init_ref() })
    }

    /// Ready with the output, or register `waker` under `key` and return `Pending`.
    /// A completion that races with this call either is seen here or wakes `waker`.
    ///
    /// `Ready` retires `key`: once the cell is complete the completer owns every registered
    /// waker, so the awaiter's drop has nothing to remove.
    #[inline]
    pub(crate) fn poll(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<&O> {
        if let Some(out) = self.output() {
            *key = WaiterKey::NONE;
            return Poll::Ready(out);
        }
        // A first registration's clone here, so that the out-of-line part makes no call on
        // its fast path; one call site, so that the ready path above keeps its layout.
        let fresh = key.is_none().then(|| waker.clone());
        self.poll_slow(key, waker, fresh)
    }

    /// Register: a first registration (`fresh`, the waker cloned by the caller) takes the
    /// slab's fast path, which makes no call, else [`poll_new_slow`](Self::poll_new_slow) by
    /// a tail call; a registered key goes to [`poll_registered`](Self::poll_registered). So
    /// this function saves three registers instead of five, and the clone is not a call in
    /// the middle of it: about 6 instructions less a registration, 0.8% of an (n16) round
    /// (callgrind; docs/benchmarks.md, (n)).
    #[cold]
    #[inline(never)]
    fn poll_slow(&self, key: &mut WaiterKey, waker: &Waker, fresh: Option<Waker>) -> Poll<&O> {
        let Some(fresh) = fresh else {
            return self.poll_registered(key, waker);
        };
        match self.register_in_own_shard(key, fresh) {
            Ok(()) => Poll::Pending,
            Err((fresh, cur)) => self.poll_new_slow(key, fresh, cur),
        }
    }

    /// [`poll_slow`](Self::poll_slow)'s every other first registration: the first awaiter,
    /// the second (which creates the slab), a full shard, the overflow, a completed cell.
    #[cold]
    #[inline(never)]
    fn poll_new_slow(&self, key: &mut WaiterKey, fresh: Waker, cur: usize) -> Poll<&O> {
        let registered = self.register_new_slow(key, fresh, cur);
        self.ready_unless_pending(key, registered)
    }

    /// A registered key polled again: re-register (a new waker) or confirm.
    #[cold]
    #[inline(never)]
    fn poll_registered(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<&O> {
        let registered = self.register_unless_complete(key, waker);
        self.ready_unless_pending(key, registered)
    }

    /// `Ready` with the output once a registration found the cell complete.
    #[inline]
    fn ready_unless_pending(&self, key: &mut WaiterKey, registered: Poll<()>) -> Poll<&O> {
        match registered {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                *key = WaiterKey::NONE;
                self.observe(self.snapshot());
                // SAFETY: `COMPLETE` was seen with Acquire.
                Poll::Ready(unsafe { self.output_unchecked() })
            }
        }
    }

    /// Ready once complete, without reading the output: library-internal waiting (`when_any`,
    /// continuations, `cancel_on`) must not count as observing a fault.
    pub(crate) fn poll_complete(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<()> {
        if self.snapshot().is_complete() {
            return Poll::Ready(());
        }
        self.register_unless_complete(key, waker)
    }

    /// Register `waker` under `key`, or `Ready` if the cell completed (seen with Acquire).
    #[inline]
    fn register_unless_complete(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<()> {
        if key.is_none() {
            self.register_new(key, waker.clone())
        } else if key.is_overflow() {
            self.register_in_overflow(key, waker)
        } else {
            self.reregister(key, waker)
        }
    }

    /// A first registration: every awaiter's, once. The waker was cloned before anything
    /// else (a clone is executor code, and an atomic operation on the executor's task). The
    /// first awaiter takes the inline slot and the second creates the slab, under `LOCKED`;
    /// from then on one CAS on a word of the slab reserves a slot, without the lock, and the
    /// overflow takes awaiters past 129.
    #[inline]
    fn register_new(&self, key: &mut WaiterKey, fresh: Waker) -> Poll<()> {
        match self.register_in_own_shard(key, fresh) {
            Ok(()) => Poll::Pending,
            Err((fresh, cur)) => self.register_new_slow(key, fresh, cur),
        }
    }

    /// The inline part of [`register_new`](Self::register_new), the case of nearly every
    /// awaiter from the third on: one load of the state word finds the slab published and
    /// nothing more to look at, and one CAS reserves a slot in one of this thread's shards.
    /// Registered under `key`, or, for anything else, the waker back and the state word
    /// loaded. Inlined into [`poll_slow`](Self::poll_slow), where no call follows it on the way
    /// to `Pending`.
    #[inline(always)]
    fn register_in_own_shard(
        &self,
        key: &mut WaiterKey,
        fresh: Waker,
    ) -> Result<(), (Waker, usize)> {
        let cell = self.cell();
        let cur = cell.state.load(Ordering::Acquire);
        if cur & (COMPLETE | HAS_OVERFLOW | HAS_SLAB) != HAS_SLAB {
            return Err((fresh, cur));
        }
        // As in `register_in_slab`; a null slab (given back) is left to it.
        let Some(slab) = NonNull::new(cell.slab.load(Ordering::Acquire)) else {
            return Err((fresh, cur));
        };
        // `HAS_SLAB` is set only once `tag` gave a tag (`register_new_slow`).
        let tag = self.slab_tag();
        let wide = Snapshot(cur).slab_wide();
        // SAFETY: loaded while the cell was pending; our handle keeps the cell.
        match unsafe { Slab::register_own(slab, tag, wide, fresh) } {
            Ok(index) => {
                *key = WaiterKey::slab(index);
                Ok(())
            }
            Err(back) => Err((back, cur)),
        }
    }

    /// [`register_new`](Self::register_new) from the state word `cur`: its loop over every
    /// state (complete, overflow, slab, locked, the inline slot, the slab's creation). Out of
    /// line but not cold: a task's first awaiter, the common single-awaiter case, comes here.
    #[inline(never)]
    fn register_new_slow(&self, key: &mut WaiterKey, fresh: Waker, mut cur: usize) -> Poll<()> {
        let cell = self.cell();
        let mut spins = 0;
        loop {
            let s = Snapshot(cur);
            if s.is_complete() {
                return Poll::Ready(());
            }
            if s.has_overflow() {
                // The slab filled up: straight to the overflow.
                return self.insert_in_overflow(key, fresh);
            }
            if s.has_slab() {
                return self.register_in_slab(key, fresh, s);
            }
            if s.is_locked() {
                spin_wait(&mut spins);
                cur = cell.state.load(Ordering::Acquire);
                continue;
            }
            let held = cur | LOCKED | HAS_WAITERS;
            if let Err(actual) =
                cell.state
                    .compare_exchange_weak(cur, held, Ordering::Acquire, Ordering::Acquire)
            {
                cur = actual;
                continue;
            }
            // SAFETY: we hold `LOCKED`, so the inline slot is ours alone.
            let vacant = cell.inline.with_mut(|slot| unsafe { (*slot).is_none() });
            if vacant {
                // SAFETY: as above.
                cell.inline.with_mut(|slot| unsafe { *slot = Some(fresh) });
                self.unlock(held);
                *key = WaiterKey::INLINE;
                return Poll::Pending;
            }
            // The second awaiter: publish the slab, once, under `LOCKED`, with this awaiter's
            // waker in it already (a slot reserved before anyone else can reach the block). A
            // cell at an address too high for a tag (see `slab.rs`) goes without: to the
            // overflow.
            let Some(tag) = self.tag() else {
                self.unlock(held);
                return self.register_past_slab(key, fresh, Snapshot(held & !LOCKED));
            };
            let (slab, index) = Slab::new_with_first(tag, fresh);
            cell.slab.store(slab.as_ptr(), Ordering::Relaxed);
            self.unlock_setting(held, HAS_SLAB);
            *key = WaiterKey::slab(index);
            return Poll::Pending;
        }
    }

    /// A new awaiter that saw `HAS_SLAB` (in `s`, seen with Acquire) and not `COMPLETE`:
    /// reserve a slot in the slab and fill it with `fresh`, or go on to the wide half or the
    /// overflow when this thread's shards are full.
    fn register_in_slab(&self, key: &mut WaiterKey, fresh: Waker, s: Snapshot) -> Poll<()> {
        // Published before `HAS_SLAB` (seen with Acquire); null once the completer gave it
        // back, after `COMPLETE` (Acquire: seen then).
        let Some(slab) = NonNull::new(self.cell().slab.load(Ordering::Acquire)) else {
            return Poll::Ready(());
        };
        let tag = self.slab_tag();
        // SAFETY: loaded while the cell was pending; our handle keeps the cell.
        match unsafe { Slab::reserve(slab, tag, s.slab_wide()) } {
            // SAFETY: we reserved `index`.
            Reservation::Slot(index) => unsafe { Self::fill_slot(key, slab, index, fresh) },
            Reservation::Closed => Poll::Ready(()),
            Reservation::Full => self.register_past_slab(key, fresh, s),
            Reservation::NeedsWide => self.register_wide(key, fresh, slab, tag),
        }
    }

    /// Fill the slab slot `index` with `fresh` and name it in `key`: registered.
    ///
    /// # Safety
    /// The caller reserved `index` in `slab` and has not filled it.
    #[inline(always)]
    unsafe fn fill_slot(
        key: &mut WaiterKey,
        slab: NonNull<Slab>,
        index: usize,
        fresh: Waker,
    ) -> Poll<()> {
        // SAFETY: per the caller.
        unsafe { Slab::fill(slab, index, fresh) };
        *key = WaiterKey::slab(index);
        Poll::Pending
    }

    /// A new awaiter whose thread filled its shards in the slab's narrow half: open the wide
    /// half, once, under `LOCKED` (tag its shards for this cell, with this awaiter's waker in
    /// its first slot, then publish `SLAB_WIDE` in the unlocking store), unless another
    /// awaiter did; then reserve there. A completer's claim, which takes `LOCKED` too, either
    /// comes first (this awaiter then finds the cell complete) or sees the bit and closes the
    /// wide half.
    #[cold]
    #[inline(never)]
    fn register_wide(
        &self,
        key: &mut WaiterKey,
        fresh: Waker,
        slab: NonNull<Slab>,
        tag: u64,
    ) -> Poll<()> {
        let s = match self.lock_unless(0, SLAB_WIDE) {
            Ok(held) => {
                // SAFETY: pending and `LOCKED`: the block is this cell's (the completer gives
                // it back only after `COMPLETE`), and its wide half is not open.
                let index = unsafe { Slab::open_wide_with_first(slab, tag, fresh) };
                self.unlock_setting(held, SLAB_WIDE);
                *key = WaiterKey::slab(index);
                return Poll::Pending;
            }
            Err(s) if s.is_complete() => return Poll::Ready(()),
            Err(s) => s, // opened meanwhile
        };
        // SAFETY: as in `register_new`: `slab` was loaded while the cell was pending, and the
        // cell was still pending when `SLAB_WIDE` was seen or set.
        match unsafe { Slab::reserve(slab, tag, true) } {
            // SAFETY: we reserved `index`.
            Reservation::Slot(index) => unsafe { Self::fill_slot(key, slab, index, fresh) },
            Reservation::Closed => Poll::Ready(()),
            Reservation::Full => self.register_past_slab(key, fresh, s),
            Reservation::NeedsWide => unreachable!("a wide reservation tries every shard"),
        }
    }

    /// A new awaiter that found the slab full: to the overflow, which the first such awaiter
    /// publishes, once, under `LOCKED`; `s` is the state word it saw.
    #[cold]
    fn register_past_slab(&self, key: &mut WaiterKey, fresh: Waker, s: Snapshot) -> Poll<()> {
        if !s.has_overflow() {
            match self.lock_unless(0, HAS_OVERFLOW) {
                Ok(held) => {
                    let overflow = Box::into_raw(Overflow::new());
                    self.cell().overflow.store(overflow, Ordering::Release);
                    self.unlock_setting(held, HAS_OVERFLOW);
                }
                Err(s) if s.is_complete() => return Poll::Ready(()),
                Err(_) => {} // published meanwhile
            }
        }
        self.insert_in_overflow(key, fresh)
    }

    /// A new awaiter once `HAS_OVERFLOW` is set: `fresh` (its clone) goes to this thread's
    /// shard of the overflow.
    #[inline]
    fn insert_in_overflow(&self, key: &mut WaiterKey, fresh: Waker) -> Poll<()> {
        // SAFETY: `HAS_OVERFLOW` was seen with Acquire (or set by this thread), after the
        // pointer's Release store; it stays until the cell is freed, which our handle prevents.
        let overflow = unsafe { &*self.cell().overflow.load(Ordering::Relaxed) };
        match overflow.insert(key, fresh, || self.snapshot().is_complete()) {
            Ok(()) => Poll::Pending,
            Err(fresh) => {
                drop(fresh);
                Poll::Ready(())
            }
        }
    }

    /// An overflow key's re-registration.
    #[cold]
    fn register_in_overflow(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<()> {
        let mut fresh = None;
        let overflow = self
            .overflow()
            .expect("`HAS_OVERFLOW` or an overflow key implies the overflow");
        let complete = || self.snapshot().is_complete();
        loop {
            match overflow.register(*key, waker, &mut fresh, complete) {
                Ok(Registered::Pending(replaced)) => {
                    drop(replaced);
                    return Poll::Pending;
                }
                Ok(Registered::Complete) => return Poll::Ready(()),
                Err(NeedsClone) => fresh = Some(waker.clone()),
            }
        }
    }

    /// Re-register an inline or slab key (the awaiter was polled again before completion):
    /// the waker stays if it wakes the same task; a different one is cloned outside the lock,
    /// after releasing it, and the registration retried.
    #[cold]
    fn reregister(&self, key: &mut WaiterKey, waker: &Waker) -> Poll<()> {
        let mut fresh = None;
        loop {
            let Lock::Held(held) = self.lock(0) else {
                return Poll::Ready(());
            };
            let registered = if *key == WaiterKey::INLINE {
                // SAFETY: we hold `LOCKED`, so the inline slot is ours alone.
                self.cell()
                    .inline
                    .with_mut(|slot| waiters::store(unsafe { &mut *slot }, waker, &mut fresh))
            } else {
                // SAFETY: we hold `LOCKED`, the cell is not complete, and the key's bit is set:
                // it is this future's (see `waiters.rs`).
                unsafe {
                    Slab::with_registered(self.held_slab(), key.slab_index(), |w| {
                        waiters::replace(w, waker, &mut fresh)
                    })
                }
            };
            self.unlock(held);
            match registered {
                Ok(replaced) => {
                    drop(replaced);
                    return Poll::Pending;
                }
                Err(NeedsClone) => fresh = Some(waker.clone()),
            }
        }
    }

    /// This cell's tag in its slab's words (see `slab.rs`).
    #[inline]
    fn tag(&self) -> Option<u64> {
        tag_of(self.ptr.as_ptr().cast_const().cast())
    }

    /// The tag of a cell that has (or had) a slab: [`tag`](Self::tag) gave one before
    /// `HAS_SLAB` was set, and a cell's address does not change.
    #[inline]
    fn slab_tag(&self) -> u64 {
        let address = self.ptr.as_ptr().cast_const().cast();
        debug_assert!(tag_of(address).is_some(), "a cell with a slab has a tag");
        tag_of_tagged(address)
    }

    /// The slab, for a holder of `LOCKED` with a slab key (so the slab is published and the
    /// cell not complete).
    fn held_slab(&self) -> NonNull<Slab> {
        NonNull::new(self.cell().slab.load(Ordering::Relaxed))
            .expect("a slab key before completion implies the slab")
    }

    /// The overflow, once published.
    #[inline]
    fn overflow(&self) -> Option<&Overflow> {
        let overflow = self.cell().overflow.load(Ordering::Acquire);
        // SAFETY: published from `Box::into_raw` and kept until the cell is freed, which our
        // handle prevents.
        unsafe { overflow.as_ref() }
    }

    /// Forget `key`'s waker: the awaiter is going away. A no-op after completion.
    #[inline]
    pub(crate) fn remove_waiter(&self, key: &mut WaiterKey) {
        if !key.is_none() {
            self.remove_registered(key);
        }
    }

    fn remove_registered(&self, key: &mut WaiterKey) {
        let k = std::mem::replace(key, WaiterKey::NONE);
        if k.is_overflow() {
            if self.snapshot().is_complete() {
                return; // the completer took the waker (the usual case: dropped after `Ready`)
            }
            let overflow = self
                .overflow()
                .expect("an overflow key implies the overflow");
            drop(overflow.remove(k, || self.snapshot().is_complete()));
        } else if let Lock::Held(held) = self.lock(0) {
            let removed = if k == WaiterKey::INLINE {
                // SAFETY: we hold `LOCKED`.
                let waker = self
                    .cell()
                    .inline
                    .with_mut(|slot| unsafe { (*slot).take() });
                self.unlock(held);
                waker
            } else {
                let index = k.slab_index();
                // SAFETY: we hold `LOCKED`, the cell is not complete, and the key's bit is
                // set; the bit is cleared in the unlocking store below.
                let waker = unsafe { Slab::remove(self.held_slab(), index) };
                self.unlock(held);
                Some(waker)
            };
            drop(removed);
        }
    }

    fn lock(&self, extra: usize) -> Lock {
        match self.lock_unless(extra, 0) {
            Ok(held) => Lock::Held(held),
            Err(_) => Lock::Completed,
        }
    }

    /// Take `LOCKED`, setting `extra` with it, and return the word as held; `Err` with the
    /// word seen instead once the cell is complete or any of the `stop` bits is set.
    #[inline(always)]
    fn lock_unless(&self, extra: usize, stop: usize) -> Result<usize, Snapshot> {
        let state = &self.cell().state;
        let mut spins = 0;
        let mut cur = state.load(Ordering::Acquire);
        loop {
            let s = Snapshot(cur);
            if s.is_complete() || cur & stop != 0 {
                return Err(s);
            }
            if s.is_locked() {
                spin_wait(&mut spins);
                cur = state.load(Ordering::Acquire);
                continue;
            }
            let held = cur | LOCKED | extra;
            match state.compare_exchange_weak(cur, held, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => return Ok(held),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Release `LOCKED` taken as `held`, setting `bits` in the same store (`held` may have
    /// bits cleared, as a slab slot's removal does).
    fn unlock_setting(&self, held: usize, bits: usize) {
        debug_assert_eq!(self.cell().state.load(Ordering::Relaxed), held);
        self.cell()
            .state
            .store((held | bits) & !LOCKED, Ordering::Release);
    }

    /// Release `LOCKED` taken as `held`. A plain store: while `LOCKED` is held nobody else
    /// writes the state word (module invariants), so `held` is still its value.
    fn unlock(&self, held: usize) {
        debug_assert_eq!(self.cell().state.load(Ordering::Relaxed), held);
        self.cell().state.store(held & !LOCKED, Ordering::Release);
    }

    /// Complete with `output`, or hand it back if some completer already claimed the cell.
    ///
    /// One CAS claims the cell and takes the waiter lock together; while `LOCKED` is held no
    /// other thread modifies the state word (every other transition is a CAS that requires
    /// `LOCKED` clear, or the holder's own unlock), so a plain Release store publishes
    /// `COMPLETE` and releases the lock.
    pub(crate) fn try_complete(&self, output: O, outcome: Outcome) -> Result<(), O> {
        match self.claim() {
            Some(before) => {
                self.publish(before, output, outcome);
                Ok(())
            }
            None => Err(output),
        }
    }

    /// [`try_complete`](Self::try_complete), its waiters handed to the continuation thread
    /// whatever the cell's mode: for a completion that must not run awaiters' code on the
    /// completing thread (.NET sets `RunContinuationsAsynchronously` on a `Task.Delay` it
    /// cancels, so its continuations never run inside `Cancel()`).
    pub(crate) fn try_complete_later(&self, output: O, outcome: Outcome) -> Result<(), O> {
        match self.claim() {
            Some(before) => {
                self.publish_as(before, output, outcome, true);
                Ok(())
            }
            None => Err(output),
        }
    }

    /// [`try_complete`](Self::try_complete) for a completer that panics when it comes
    /// second: `false` then. The output is made by `make` once the cell is claimed, so it is
    /// written into the cell from registers: made before the claim, it was kept on the stack
    /// across the claim's loop and copied into the cell with a wide load of the narrow stores
    /// that had just made it, which stalls on store forwarding.
    ///
    /// The uncontended claim and the publish are inline; anything else goes to one
    /// out-of-line call that claims and publishes itself, so the fast path does not meet the
    /// slow one's result at a merge (a test of a constant, and registers saved for the call).
    #[inline]
    pub(crate) fn complete_with(&self, outcome: Outcome, make: impl FnOnce() -> O) -> bool {
        if let Some(before) = self.claim_idle() {
            self.publish(before, make(), outcome);
            return true;
        }
        self.complete_with_slow(outcome, make)
    }

    /// [`complete_with`](Self::complete_with) when the inline claim did not succeed.
    #[cold]
    #[inline(never)]
    fn complete_with_slow(&self, outcome: Outcome, make: impl FnOnce() -> O) -> bool {
        match self.claim_slow() {
            Some(before) => {
                self.publish(before, make(), outcome);
                true
            }
            None => false,
        }
    }

    /// First half of completing: one CAS sets `CLAIMED` and `LOCKED` together, or `None` if
    /// some completer claimed the cell already. Returns the state before.
    #[inline(always)]
    fn claim(&self) -> Option<Snapshot> {
        self.claim_idle().or_else(|| self.claim_slow())
    }

    /// The uncontended claim, inline: one load and one CAS, or `None` with nothing changed
    /// for [`claim_slow`](Self::claim_slow) (a claimed or locked cell, or a failed CAS), so
    /// the completer's path keeps no spin state.
    #[inline(always)]
    fn claim_idle(&self) -> Option<Snapshot> {
        let state = &self.cell().state;
        let cur = state.load(Ordering::Relaxed);
        // Acquire: see the waiter list as the last unlock left it.
        (cur & (CLAIMED | LOCKED) == 0
            && state
                .compare_exchange_weak(
                    cur,
                    cur | CLAIMED | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok())
        .then_some(Snapshot(cur))
    }

    /// [`claim`](Self::claim) when the cell was claimed or locked, or the CAS failed: the
    /// loop, spinning while `LOCKED` is held.
    #[cold]
    #[inline(never)]
    fn claim_slow(&self) -> Option<Snapshot> {
        let cell = self.cell();
        let mut spins = 0;
        let mut cur = cell.state.load(Ordering::Relaxed);
        let before = loop {
            let s = Snapshot(cur);
            if s.is_claimed() {
                return None;
            }
            if s.is_locked() {
                spin_wait(&mut spins);
                cur = cell.state.load(Ordering::Relaxed);
                continue;
            }
            // Acquire: see the waiter list as the last unlock left it.
            match cell.state.compare_exchange_weak(
                cur,
                cur | CLAIMED | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break s,
                Err(actual) => cur = actual,
            }
        };
        Some(before)
    }

    /// Second half: with `CLAIMED` and `LOCKED` set by [`claim`](Self::claim) (`before` is
    /// the state it replaced), write the output, publish `COMPLETE`, and wake the waiters.
    #[inline(always)]
    fn publish(&self, before: Snapshot, output: O, outcome: Outcome) {
        self.publish_as(before, output, outcome, false);
    }

    /// [`publish`](Self::publish); `later` hands the waiters to the continuation thread
    /// whatever the cell's mode.
    #[inline(always)]
    fn publish_as(&self, before: Snapshot, output: O, outcome: Outcome, later: bool) {
        let cell = self.cell();
        // SAFETY: we set `CLAIMED`, so we are the only writer, and nobody reads the output
        // before we set `COMPLETE` below.
        cell.output.with_mut(|p| unsafe { (*p).write(output) });
        let inline = if before.has_waiters() {
            // SAFETY: we hold `LOCKED`: the inline slot is ours alone.
            cell.inline.with_mut(|slot| unsafe { (*slot).take() })
        } else {
            None
        };
        // Release publishes the output and the emptied slot. `before` is still the whole
        // state: nobody else changed it while we held `LOCKED`.
        let done = (before.0 | CLAIMED | COMPLETE | outcome.bits()) & !LOCKED;
        cell.state.store(done, Ordering::Release);
        if later || before.async_continuations() {
            return self.wake_later(before, inline);
        }
        if !before.has_slab() && !before.has_overflow() {
            // One awaiter, the common case: woken straight away. Its panic, if any, comes out
            // as `wake_all_now` would resume it.
            if let Some(waker) = inline {
                waker.wake();
            }
            return;
        }
        self.wake_all_now(before, inline);
    }

    /// The slab, if `before` (the state the completer claimed) has one: its block, which the
    /// completer closes (no slot can be reserved any more) and then takes the wakers of,
    /// which waits for the registrants still filling theirs. The block stays with the cell
    /// until it is given back (a registrant that saw the cell pending may still load its
    /// pointer and find it closed).
    fn slab_to_close(&self, before: Snapshot) -> Option<NonNull<Slab>> {
        if !before.has_slab() {
            return None;
        }
        NonNull::new(self.cell().slab.load(Ordering::Relaxed))
    }

    /// [`slab_to_close`](Self::slab_to_close), closed: its block and the slots reserved for
    /// good.
    fn close_slab(&self, before: Snapshot) -> Option<(NonNull<Slab>, SlotMask)> {
        let slab = self.slab_to_close(before)?;
        // SAFETY: the completer, once, with `COMPLETE` published.
        Some((slab, unsafe { Slab::close(slab, before.slab_wide()) }))
    }

    /// Give the slab's block back once its wakers were taken (the completer): the cell
    /// forgets it first, so a registrant that loads the pointer now finds it null. Under
    /// loom the cell keeps it until freed (see `slab.rs`).
    fn give_back_slab(&self, slab: NonNull<Slab>) {
        if cfg!(valuetask_loom) {
            return;
        }
        // Release: a registrant that loads null sees `COMPLETE`.
        self.cell()
            .slab
            .store(std::ptr::null_mut(), Ordering::Release);
        // SAFETY: complete, every reserved waker taken, and the cell no longer names it.
        unsafe { Slab::give_back(slab) };
    }

    /// The overflow's wakers, if `before` has one (published under `LOCKED` before the claim).
    fn take_overflow(&self, before: Snapshot) -> Option<Taken> {
        if !before.has_overflow() {
            return None;
        }
        self.overflow().map(Overflow::take_all)
    }

    /// Wake every waiter from the completing thread, then resume the first waker's panic.
    #[inline(never)]
    fn wake_all_now(&self, before: Snapshot, inline: Option<Waker>) {
        let slab = self.slab_to_close(before);
        let mut overflow = self.take_overflow(before);
        // SAFETY: the completer's, once, with `COMPLETE` published: it closes the slab.
        let panic = unsafe {
            waiters::wake_all(
                inline,
                slab.map(|slab| (slab, before.slab_wide())),
                overflow.as_mut(),
            )
        };
        if let Some(slab) = slab {
            self.give_back_slab(slab);
        }
        if let Some(taken) = overflow {
            taken.recycle();
        }
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
    }

    /// Hand every waiter to the continuation thread (`ASYNC_CONTINUATIONS`): the slab's and
    /// the overflow's wakers are moved out first, as the cell may be freed before its turn.
    #[cold]
    fn wake_later(&self, before: Snapshot, inline: Option<Waker>) {
        let slab = self.close_slab(before).map(|(slab, reserved)| {
            // SAFETY: the completer's, with the mask `close_slab` returned.
            let taken = unsafe { Slab::take_all(slab, reserved) };
            self.give_back_slab(slab);
            taken
        });
        let slab = slab.filter(|taken| !taken.is_empty());
        let overflow = self.take_overflow(before);
        if inline.is_none() && slab.is_none() && overflow.is_none() {
            return;
        }
        crate::continuations::wake_later(move || {
            let mut overflow = overflow;
            let panic = waiters::wake_in_turn(inline, slab, overflow.as_mut());
            if let Some(taken) = overflow {
                taken.recycle();
            }
            if let Some(panic) = panic {
                std::panic::resume_unwind(panic);
            }
        });
    }

    /// `try_complete` from a `Drop`. A waker's panic resumes once every waker was woken; while
    /// the thread is already unwinding, resuming it would abort the process, so it is dropped.
    pub(crate) fn try_complete_in_drop(&self, output: O, outcome: Outcome) {
        let completed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = self.try_complete(output, outcome);
        }));
        if let Err(panic) = completed {
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
            crate::catch_panic::discard(panic);
        }
    }

    /// Count one more `TaskCompletionSource`.
    pub(crate) fn add_source(&self) {
        if self.cell().sources.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            abort();
        }
    }

    /// Drop one `TaskCompletionSource`; true when it was the last.
    pub(crate) fn release_source(&self) -> bool {
        let sources = &self.cell().sources;
        // Only a source holder can add a source, so a count of one means no other exists.
        sources.load(Ordering::Acquire) == 1 || sources.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Every word of the cell a handle could write outside the waiter list (which only the
    /// holder of `LOCKED` touches): state, refcount, source count, overflow (tests).
    #[cfg(all(test, not(valuetask_loom)))] // its tests do not run under loom
    pub(crate) fn words(cell: &Cell<O>) -> [usize; 4] {
        [
            cell.state.load(Ordering::Relaxed),
            cell.refs.load(Ordering::Relaxed),
            cell.sources.load(Ordering::Relaxed),
            cell.overflow.load(Ordering::Relaxed) as usize,
        ]
    }

    /// The handle count (tests).
    #[cfg(test)]
    pub(crate) fn ref_count(&self) -> usize {
        self.cell().refs.load(Ordering::Relaxed)
    }

    /// Registered waiters right now (tests); takes the lock.
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        match self.lock(0) {
            Lock::Held(held) => {
                // SAFETY: we hold `LOCKED`.
                let inline = self.cell().inline.with(|w| unsafe { (*w).is_some() });
                self.unlock(held);
                let slab =
                    NonNull::new(self.cell().slab.load(Ordering::Relaxed)).map_or(0, |slab| {
                        // SAFETY: published and kept until the cell is freed.
                        unsafe { Slab::reserved_now(slab, Snapshot(held).slab_wide()) }.count_ones()
                            as usize
                    });
                usize::from(inline) + slab + self.overflow().map_or(0, Overflow::len)
            }
            Lock::Completed => 0,
        }
    }
}

impl<O> Clone for RawTask<O> {
    #[inline]
    fn clone(&self) -> Self {
        self.increment();
        Self { ptr: self.ptr }
    }
}

impl<O> Drop for RawTask<O> {
    #[inline]
    fn drop(&mut self) {
        if is_static(self.ptr) {
            return;
        }
        let refs = &self.cell().refs;
        // Only a handle holder can add a handle, so a count of one means we are the last.
        let last = refs.load(Ordering::Acquire) == 1 || refs.fetch_sub(1, Ordering::Release) == 1;
        if last {
            fence(Ordering::Acquire);
            // SAFETY: the last handle; the cell came from `pool::store_block` (a static cell
            // never gets here: `is_static` returned above).
            unsafe { crate::pool::free_block(self.ptr) };
        }
    }
}
