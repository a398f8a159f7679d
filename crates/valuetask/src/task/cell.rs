//! The task cell: one block holding the state word, the refcount, the source count, the
//! waiters and the output. `RawTask<O>` is a counted pointer to it. The block comes from the
//! pooled storage (`pool::store_block`: a box only for cells over 4 KiB) and goes back to the
//! pool of whichever thread drops the last handle, so a task allocates nothing in steady state.
//!
//! This file holds the layout, the handles' refcount and the static cells; an awaiter's side
//! is `cell/registration.rs`, a completer's `cell/completion.rs`, and the state word's
//! transitions are `State`'s methods (`state.rs`).
//!
//! # Invariants (who may touch what)
//!
//! - `refs` counts `RawTask` handles in its low `INTERNAL_SHIFT` bits, and above them the
//!   library's own handles (`add_internal`: a watcher's, which keeps no result for anyone),
//!   so one load reads both and `is_held_outside` needs no second word. A handle becomes the
//!   library's own, and back, in one RMW. The cell is freed when the whole word drops to zero
//!   (exact whatever the split: the word is the sum). The handles' part could carry into
//!   the other only past 2^48 handles, leaked (`mem::forget`), which would mislead
//!   `is_held_outside` (a report made or missed), never the freeing; past `MAX_REFS` the
//!   process aborts, as with `Arc`. A static cell (`Task::completed()` and the cached
//!   results, all in [`STATIC_CELLS`]) keeps `STATIC_REFS` forever: its handles do not
//!   count, so it is never freed and never written.
//! - `output` is written exactly once, by the thread that set `CLAIMED`, before that thread
//!   sets `COMPLETE` with Release. It is read only after observing `COMPLETE` with Acquire, and
//!   never written again until the cell is freed: readers get plain `&O`, without a lock.
//!   The one exception is the last handle of a complete cell (`try_take_output`, behind
//!   `Task::try_unwrap`): with nobody else to read it, it moves the output out, sets
//!   `OUTPUT_TAKEN` and frees the cell, whose drop then leaves the output alone.
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
//!   taking `LOCKED`; a new awaiter that holds `LOCKED` knows the overflow is not published
//!   (a re-registration or removal of an inline or slab key may take it after). It
//!   follows the rules in `waiters.rs`: the completer takes its wakers after publishing
//!   `COMPLETE`, and registrants check `COMPLETE` under their shard's lock.
//! - `sources` counts the `TaskCompletionSource` handles. All the sources hold one reference
//!   in `refs` together, which the last source to drop lets go last (so `refs` never counts
//!   a source that is on its way out, and a source sees every other handle of the cell
//!   exactly). The last source to drop completes the cell as abandoned if nobody completed
//!   it and another handle is left to see it; when only the library's own are left, the
//!   abandonment (which ends their watchers) counts as observed: nobody could observe it. If
//!   no handle at all is left, the cell is freed pending: nobody can be waiting.
//! - A count of one (`refs` or `sources`) means "only me": only a holder can create another,
//!   so the last drop may skip the read-modify-write.
//! - `CLAIMED` and `LOCKED` are set together by the completer's one CAS, so `CLAIMED` without
//!   `COMPLETE` never exists without `LOCKED`.
//! - No executor or user code runs under `LOCKED` (nor under the source core's, see
//!   `source/core.rs`): wakers are cloned before it is taken (a re-registration with a new
//!   waker releases it, clones, and retries) and dropped or woken after it is released; a
//!   result being discarded is moved out and dropped after. The only calls under the bit are
//!   the allocator (the waiter list growing), whose only failure aborts, the overflow's spare
//!   from the thread's `SPARES`, the first use of `sync::thread_number` on a thread (one
//!   `fetch_add`), and the slab store's `take` (`slab/store.rs`: a std mutex, held by
//!   threads that touch no cell, and the thread cache's first registration on a thread); an internal
//!   invariant found broken under it aborts too (`sync::broken_under_lock`). So a panicking waker or
//!   `Drop` cannot leave a cell locked, and a thread spinning on the bit waits for a few
//!   loads and stores. Not lock-free in the strict sense: a holder preempted by the OS delays
//!   a racing thread (`sync::spin_wait` yields to the OS after 64 rounds), and so does a slab
//!   registrant preempted between its reservation and its `ready` flag, which the completer
//!   waits for before it wakes that shard (`slab.rs`).
//! - Observation: reading a faulted output (await, `error`, `try_result`, `wait`) sets
//!   `OBSERVED` once; a faulted cell freed without it calls its `on_unobserved`, which every
//!   task cell gets at creation (`unobserved.rs`). Success paths never pay that
//!   read-modify-write.

use std::mem::MaybeUninit;
use std::process::abort;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

use super::slab::{tag_if_fits, tag_known_to_fit, Reservation, Slab, SlotMask};
use super::state::{
    Lock, Outcome, Snapshot, State, ASYNC_CONTINUATIONS, CLAIMED, COMPLETE, HAS_OVERFLOW, HAS_SLAB,
    HAS_WAITERS, LOCKED, SLAB_WIDE,
};
use super::waiters::{self, NeedsClone, Overflow, Registered, Taken, WaiterKey};
use crate::catch_panic::drop_discarding;
use crate::sync::{
    broken_under_lock, fence, spin_wait, AtomicPtr, AtomicUsize, Ordering, UnsafeCell,
};

mod completion;
mod registration;

/// `refs`' bits below this count the handles; the bits from here to the top one, the
/// library's own handles (`add_internal`), so that one load reads both.
const INTERNAL_SHIFT: u32 = 48;
/// One of the library's own handles in `refs`.
const ONE_INTERNAL: usize = 1 << INTERNAL_SHIFT;
/// The handles' part of `refs`.
const HANDLES_MASK: usize = ONE_INTERNAL - 1;
/// More of the library's own handles than this aborts: their count stays clear of the top
/// bit, so that `MAX_REFS` catches only the handles.
const MAX_INTERNAL: usize = (isize::MAX as usize) >> INTERNAL_SHIFT;
/// A `refs` word past this aborts, as `Arc` does, instead of wrapping.
const MAX_REFS: usize = isize::MAX as usize;
/// More sources than this aborts, as `Arc` does, instead of wrapping.
const MAX_SOURCES: usize = isize::MAX as usize;
/// A static cell starts here, so no sequence of handle drops can free it.
#[cfg(not(valuetask_loom))]
const STATIC_REFS: usize = HANDLES_MASK / 2;

pub(crate) struct Cell<O> {
    state: State,
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
            state: State::new(state),
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
            state: State::new_static(CLAIMED | COMPLETE | outcome.bits()),
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

impl<O> Cell<O> {
    /// Drop the wakers left in the inline slot and the slab of a cell freed before it
    /// completed (its awaiters' futures were forgotten), one at a time under a catch, a panic
    /// discarded: one waker's panicking `Drop` must not keep the others, the slab block or the
    /// output from being dropped. (The overflow does the same with its own.) Out of line: the
    /// catch's landing pads would cost every cell's drop its registers.
    #[cold]
    #[inline(never)]
    fn drop_wakers_left(&mut self, state: Snapshot) {
        // SAFETY: `&mut self`: nobody else holds `LOCKED` or reads the slot.
        drop_discarding(self.inline.with_mut(|w| unsafe { (*w).take() }));
        if let Some(slab) = NonNull::new(self.slab.load(Ordering::Relaxed)) {
            // SAFETY: `&mut self`: no registrant is left, so every reserved slot is ready;
            // the mask is taken once (the caller gives the block back after this).
            drop(unsafe { Slab::take_all(slab, Slab::reserved_now(slab, state.slab_wide())) });
        }
    }
}

impl<O> Drop for Cell<O> {
    fn drop(&mut self) {
        let state = Snapshot(self.state.load(Ordering::Relaxed));
        if !state.is_complete() {
            self.drop_wakers_left(state);
        }
        let overflow = self.overflow.load(Ordering::Relaxed);
        if !overflow.is_null() {
            // SAFETY: published from `Box::into_raw`, and `&mut self`: no other user is left.
            // Wakers are left in it only if the cell never completed (as in the slab below).
            unsafe { Box::from_raw(overflow) }.recycle(state.is_complete());
        }
        // Still here only if the cell never completed (its wakers were dropped above), or
        // under loom, where the completer leaves it (see `slab.rs`).
        if let Some(slab) = NonNull::new(self.slab.load(Ordering::Relaxed)) {
            // SAFETY: every reserved waker was taken (by the completer or just above), and
            // `&mut self`: nobody can reach the block through this cell any more.
            unsafe { Slab::give_back(slab) };
        }
        if state.outcome() == Some(Outcome::Faulted) && !state.is_observed() {
            if let Some(report) = self.on_unobserved {
                // SAFETY: complete, so initialized; `&mut self`, so nobody writes it.
                let output = self.output.with(|p| unsafe { (*p).assume_init_ref() });
                // A panic must not turn this drop into an abort (`report` contains the
                // hook's own; this is for any other `on_unobserved`).
                if let Err(panic) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| report(output)))
                {
                    crate::catch_panic::discard(panic);
                }
            }
        }
        if state.is_complete() && !state.output_taken() {
            // SAFETY: `COMPLETE` means the output was written (and not `OUTPUT_TAKEN`: still
            // there), and `&mut self` means no reader.
            self.output.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
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
            self.cell().state.mark_observed();
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
    #[cfg_attr(not(debug_assertions), inline(always))]
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

    /// The output by value, if the cell is complete and this is its only handle; else this
    /// handle back. The cell is then freed without dropping the output (`OUTPUT_TAKEN`).
    pub(crate) fn try_take_output(self) -> Result<O, Self> {
        if !self.can_take_output() {
            return Err(self);
        }
        if is_static(self.ptr) {
            let copy = self.cell().output.with(|p| {
                // SAFETY: a static cell is complete from the start, never written or freed,
                // and holds `Ok` of `()`, a `bool` or an `i32` (`STATIC_CELLS`): a bitwise
                // copy is a value of its own, whose drop touches nothing the cell holds.
                unsafe { (*p).assume_init_read() }
            });
            return Ok(copy);
        }
        let state = self.snapshot();
        let output = self.cell().output.with(|p| {
            // SAFETY: `COMPLETE` observed with Acquire: the output is written; this is the
            // only handle, so nobody reads it meanwhile, and `OUTPUT_TAKEN` keeps the cell's
            // drop from dropping it again.
            unsafe { (*p).assume_init_read() }
        });
        self.cell().state.mark_output_taken(state);
        drop(self); // the last handle: frees the cell
        Ok(output)
    }

    /// Whether [`try_take_output`](Self::try_take_output) would take the output: the cell is
    /// complete and this is its only handle (then it stays so: only a holder can add one), or
    /// it is a static cell, whose `Copy` value every handle may take a copy of.
    pub(crate) fn can_take_output(&self) -> bool {
        // Acquire: every other handle's drop (a Release decrement) happened before. A source
        // is a handle: the cell is complete and its completer done with it.
        is_static(self.ptr)
            || (self.cell().refs.load(Ordering::Acquire) == 1 && self.snapshot().is_complete())
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

    /// [`output`](Self::output) without marking a fault observed: for the library's own
    /// readers that pass the outcome to a task nobody holds (a dropped wait's watcher), so
    /// the fault stays the cell's to report.
    pub(crate) fn output_unobserved(&self) -> Option<&O> {
        let s = self.snapshot();
        // SAFETY: `COMPLETE` was observed with Acquire.
        s.is_complete().then(|| unsafe { self.output_unchecked() })
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

    /// This cell's tag in its slab's words (see `slab.rs`).
    #[inline]
    fn tag(&self) -> Option<u64> {
        tag_if_fits(self.ptr.as_ptr().cast_const().cast())
    }

    /// The tag of a cell that has (or had) a slab: [`tag`](Self::tag) gave one before
    /// `HAS_SLAB` was set, and a cell's address does not change.
    #[inline]
    fn slab_tag(&self) -> u64 {
        let address = self.ptr.as_ptr().cast_const().cast();
        debug_assert!(
            tag_if_fits(address).is_some(),
            "a cell with a slab has a tag"
        );
        tag_known_to_fit(address)
    }

    /// The slab, for a holder of `LOCKED` with a slab key (so the slab is published and the
    /// cell not complete).
    fn held_slab(&self) -> NonNull<Slab> {
        let Some(slab) = NonNull::new(self.cell().slab.load(Ordering::Relaxed)) else {
            broken_under_lock("a slab key before completion implies the slab")
        };
        slab
    }

    /// The overflow, once published.
    #[inline]
    fn overflow(&self) -> Option<&Overflow> {
        let overflow = self.cell().overflow.load(Ordering::Acquire);
        // SAFETY: published from `Box::into_raw` and kept until the cell is freed, which our
        // handle prevents.
        unsafe { overflow.as_ref() }
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
        self.cell().refs.load(Ordering::Relaxed) & HANDLES_MASK
    }

    /// Registered waiters right now (tests); takes the lock.
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        match self.cell().state.lock(0) {
            Lock::Held(held) => {
                // SAFETY: we hold `LOCKED`.
                let inline = self.cell().inline.with(|w| unsafe { (*w).is_some() });
                self.cell().state.unlock(held);
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

impl<O> RawTask<O> {
    /// Another handle to the cell that adds no reference, for the sources, which hold one
    /// together: it is never dropped unless it takes over the reference it shares.
    ///
    /// # Safety
    /// The copy must not be used once the reference it shares is dropped.
    pub(crate) unsafe fn uncounted_copy(&self) -> std::mem::ManuallyDrop<Self> {
        std::mem::ManuallyDrop::new(Self { ptr: self.ptr })
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
