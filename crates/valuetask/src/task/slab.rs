//! The slab: the wakers of a task's awaiters 2 to 129, in shards a thread reserves in
//! without a lock and without writing the cell's state word.
//!
//! A pending task's second awaiter takes a block (from this thread's cache of blocks, see
//! [`store`](self#the-store)) under the cell's `LOCKED`, puts its own waker in the block's
//! first slot of its thread's shard (no CAS: nobody else reaches the block yet) and publishes
//! it with `HAS_SLAB`.
//! From then on a new awaiter reserves a slot with one CAS on the reservation word of a shard
//! (its thread's shards first, see [`NARROW_ORDER`]), writes its waker into the slot and sets
//! the slot's `ready` flag. The words of different shards are on different cache lines, and
//! a thread's awaiters keep to their shards until they are full: awaiters on two cores do not
//! bounce one line between them at every registration, which on a host with cheap atomics
//! cost (n16) about a tenth of its round (see docs/benchmarks.md (n)).
//!
//! Eight shards of sixteen slots, in two halves. The narrow half (four shards) is open from
//! the start. An awaiter whose thread filled its own narrow shards opens the wide half, once
//! per task: under `LOCKED` it tags the wide shards for the cell and publishes `SLAB_WIDE`,
//! then it and later awaiters go on in their own wide shards before another thread's. So
//! with two threads each has 64 slots before it reserves on the other's words, while a task
//! with few awaiters costs its completer four closes, not eight (why both matter: (n) in
//! docs/benchmarks.md).
//!
//! A registrant tries its thread's shards of the newest open half inline
//! ([`Slab::register_own`]: its two shards are constants of the loop, unrolled; no call,
//! and in `Cell`'s inline path few registers to save); only when they are full, or the slab
//! is closed, does it take the whole order out of line ([`Slab::reserve`]). That is where nearly every registration of (n16) and (n64)
//! lands, and it is most of what a registration costs beyond the waker's clone.
//!
//! The completer, once `COMPLETE` is published, closes the narrow half's shards, and the
//! wide half's if its claim saw `SLAB_WIDE` (one RMW each), one at a time: it wakes a shard's
//! wakers (each once its flag is set) before it closes the next, so the first awaiters run
//! before the last closes ([`Slab::close_and_wake`]). Then it gives the block back, so a task
//! awaited by up to 129 tasks, round after round, allocates nothing for its list in steady
//! state.
//!
//! # Invariants
//!
//! - A shard word is `tag << TAG_SHIFT | CLOSED? | reserved bits`. The tag names the cell the
//!   block serves ([`tag_if_fits`]; a cell at an address too high for one goes without a slab):
//!   a block goes back to the store at completion and may serve another cell while a
//!   registrant of the first one, which saw its cell pending, still tries a reservation in
//!   it. Its CAS expects its own tag, so it fails, and it reads the task as complete (which
//!   it is, and visibly: see the orderings). So a reservation succeeds only in a block that
//!   serves the registrant's cell and is not closed.
//! - The wide half is used only by a registrant that saw its cell's `SLAB_WIDE`, set under
//!   `LOCKED` after the wide shards were tagged for the cell, while it was pending: so the
//!   completer's claim saw it too and closes them. Until then the wide shards may hold an
//!   earlier cell's words (closed, with their bits, or never opened) or, in a new block,
//!   this cell's tag, open and empty; nobody of this cell reads them: the reservations, the
//!   close and `Cell::drop`'s count all stop at the narrow half without `SLAB_WIDE`.
//! - Blocks are type-stable: once made, a block is only ever a `Slab` (in a cell, in a
//!   thread's cache or in the shared list), never given back to the allocator, so such a
//!   stale access reads a live atomic. The memory this keeps is bounded by the most tasks
//!   with two or more pending awaiters at one time, 2624 bytes each (a test checks the
//!   size), plus the blocks idle in threads' caches (up to [`CACHED`] each, with a batch
//!   moved to the shared list past that): a thread whose cache and the shared list are
//!   empty makes a block even while other threads' caches hold idle ones.
//! - A slot whose bit is set belongs to the awaiter that set it. That awaiter writes it once,
//!   then sets `ready` with Release; after that, the slot is read or written only under the
//!   cell's `LOCKED` (its awaiter re-registering or going away, which clears the flag and
//!   then the bit), by the completer, or by the cell's drop (`&mut`: a cell freed pending).
//!   A slot whose bit is clear is not read.
//! - `ready` is false in every slot whose bit is clear: a block is made so, the completer
//!   clears each flag as it takes the waker (so a block goes back with every flag clear), and
//!   a removal clears the flag before the bit.
//! - The completer closes a shard only after `COMPLETE` is published, and gives the block
//!   back only after every reserved slot's flag was set and its waker moved out: a
//!   registrant's last touch of the block is its flag.
//!
//! # The store
//!
//! Each thread caches up to [`CACHED`] blocks; past that, [`BATCH`] of them go to one shared
//! list under one lock (all of them at thread exit), where a thread with none cached takes
//! up to [`BATCH`] at once. A block is a box, made once. Under loom a block is not reused (a
//! model's atomics do not outlive it): the cell keeps its block until it is freed, and a
//! stale registrant meets `CLOSED` instead of another tag.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::task::Waker;

use super::state::{NARROW_SHARDS, SHARD_SLOTS, SLAB_SHARDS, SLAB_SLOTS as SLAB};
use crate::catch_panic::{drop_discarding, wake_caught, Panic};
use crate::sync::{
    broken_under_lock, spin_wait, thread_number, AtomicBool, AtomicU64, Ordering, UnsafeCell,
};

/// The slab: `SLAB_SHARDS` shards of `SHARD_SLOTS` waker slots. A slot's index in the slab is
/// `shard * SHARD_SLOTS + slot`; a mask of slots (as [`close`](Self::close) returns) uses
/// the same bits.
pub(crate) struct Slab {
    shards: [SlabShard; SLAB_SHARDS],
    /// The next block in the store's list this block is in; unused while it serves a cell.
    next_free: Cell<*mut Slab>,
}

// SAFETY: the shards are atomics and slots owned per the module invariants; `next_free` is
// touched only by the owner of the list the block is in (a thread's cache, or the shared
// list under its lock), never while the block serves a cell. Wakers are `Send + Sync`.
unsafe impl Sync for Slab {}
// SAFETY: as above.
unsafe impl Send for Slab {}

/// One shard, on cache lines of its own. The wakers come first, so that no slot straddles
/// two lines (with the word and the flags first, every fourth slot did: a split store at its
/// registration and a split load at its wake); the word and the flags share the last line.
#[repr(C, align(64))]
struct SlabShard {
    /// Slot `i` is initialized while `ready[i]` is set.
    wakers: [UnsafeCell<MaybeUninit<Waker>>; SHARD_SLOTS],
    /// The tag, `CLOSED` and one reservation bit per slot (module invariants).
    word: AtomicU64,
    /// Set by each slot's registrant once its waker is written (Release); cleared by a
    /// removal, before its bit.
    ready: [AtomicBool; SHARD_SLOTS],
}

// No waker slot straddles two cache lines (see `SlabShard`).
#[cfg(not(valuetask_loom))]
const _: () = assert!(
    std::mem::offset_of!(SlabShard, wakers) == 0
        && 64 % std::mem::size_of::<UnsafeCell<MaybeUninit<Waker>>>() == 0
);

/// What a reservation in one shard found.
enum InShard {
    /// This slot of the shard is the caller's to fill.
    Slot(usize),
    /// Every slot of the shard is taken.
    Full,
    /// The shard is closed or serves another cell: as [`Reservation::Closed`].
    Closed,
}

impl SlabShard {
    /// Reserve a free slot, if the word carries the tag `ours` (shifted) and is open.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn reserve(&self, ours: u64) -> InShard {
        // Acquire, success or not: after a removal's Release (its read of the slot comes
        // before our write), after the completer's close or the next owner's tag (so
        // `COMPLETE` is seen).
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            // Another cell's tag, or ours with `CLOSED` (`ours` never has it).
            if cur & !SHARD_FULL != ours {
                return InShard::Closed;
            }
            let free = !cur & SHARD_FULL;
            if free == 0 {
                return InShard::Full;
            }
            let slot = free.trailing_zeros();
            match self.word.compare_exchange_weak(
                cur,
                cur | 1 << slot,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return InShard::Slot(slot as usize),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Write `waker` into slot `i` and mark it ready.
    ///
    /// # Safety
    /// The caller reserved slot `i` of this shard and has not filled it since.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn fill(&self, i: usize, waker: Waker) {
        // SAFETY: reserved by the caller: nobody reads the slot before `ready`, and the
        // completer keeps the block until it sees the flag.
        self.wakers[i].with_mut(|w| unsafe { (*w).write(waker) });
        self.ready[i].store(true, Ordering::Release);
    }

    /// Close this shard (as [`Slab::close`]) and wake the wakers of the slots it held,
    /// keeping the first panic in `panic`.
    ///
    /// # Safety
    /// The completer's, once per shard, with `COMPLETE` published.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn close_and_wake(&self, panic: &mut Option<Panic>) {
        // As in `Slab::close`.
        let word = self.word.fetch_or(CLOSED, Ordering::AcqRel);
        debug_assert!(word & CLOSED == 0, "a slab is closed once");
        // SAFETY: closed just now, so these slots are reserved for good, and taken once.
        unsafe { self.take_reserved(word & SHARD_FULL, |waker| wake_caught(waker, panic)) };
    }

    /// Run `f` on the waker of each slot in `bits`, taken once its registrant marked it
    /// ready; the flags are left clear, for the block's next cell.
    ///
    /// # Safety
    /// The `bits` slots are reserved for good (the shard is closed, or nobody can reserve
    /// any more), and each is taken once.
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn take_reserved(&self, bits: u64, mut f: impl FnMut(Waker)) {
        for i in Bits(bits) {
            let mut spins = 0;
            while !self.ready[i].load(Ordering::Acquire) {
                spin_wait(&mut spins); // its registrant is between its CAS and its flag
            }
            // Cleared for the block's next cell: nobody reads it before the next reservation.
            self.ready[i].store(false, Ordering::Relaxed);
            // SAFETY: ready (Acquire): written; taken once, per the caller (`Bits` yields
            // each index once).
            f(self.wakers[i].with(|w| unsafe { (*w).assume_init_read() }));
        }
    }
}

mod shard_word;
use shard_word::*;
pub(crate) use shard_word::{tag_if_fits, tag_known_to_fit};

/// A set of slab slots, one bit per slot index (as [`close`](Slab::close) returns).
pub(crate) type SlotMask = u128;

/// What a slab reservation found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reservation {
    /// This slab index is the caller's to fill.
    Slot(usize),
    /// Every slot is taken: to the overflow.
    Full,
    /// This thread's shards in the narrow half are full and the caller did not see the wide
    /// half open: open it (the cell's `SLAB_WIDE`) and reserve again.
    NeedsWide,
    /// The completer closed the slab (or it went back and serves another task): the task is
    /// complete, and that is visible to the caller.
    Closed,
}

impl std::fmt::Debug for Slab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slab")
            .field("shards", &SLAB_SHARDS)
            .field("slots", &SLAB)
            .finish()
    }
}

impl Slab {
    /// A block for the cell tagged `tag`, with nothing reserved: this thread's cached one,
    /// else one from the shared list, else a new one. Out of line and cold: once per task,
    /// by its second awaiter.
    #[cold]
    #[inline(never)]
    pub(crate) fn new(tag: u64) -> NonNull<Self> {
        match store::take() {
            Some(block) => {
                // SAFETY: from the store: given back by its last cell, in no list now.
                unsafe { Self::retag(block, tag) };
                block
            }
            None => {
                let slab = Box::new(Slab {
                    shards: std::array::from_fn(|_| SlabShard {
                        word: AtomicU64::new(tag << TAG_SHIFT),
                        ready: std::array::from_fn(|_| AtomicBool::new(false)),
                        wakers: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
                    }),
                    next_free: Cell::new(std::ptr::null_mut()),
                });
                // SAFETY: `Box::into_raw` is never null.
                unsafe { NonNull::new_unchecked(Box::into_raw(slab)) }
            }
        }
    }

    /// A block for the cell tagged `tag`, as [`new`](Self::new), with `waker` already in the
    /// first slot of the calling thread's first own shard: the second awaiter's registration,
    /// reserved and filled while the block is still the caller's alone (it holds the cell's
    /// `LOCKED` and has not published the block), so without a compare-exchange. Returns the
    /// block and the slot's index.
    #[cold]
    #[inline(never)]
    pub(crate) fn new_with_first(tag: u64, waker: Waker) -> (NonNull<Self>, usize) {
        let block = Self::new(tag);
        // SAFETY: a live block, which no registrant of this cell reaches before it is
        // published; its narrow half is tagged for `tag` just now.
        let index = unsafe { Self::place_first(block, tag, 0, waker) };
        (block, index)
    }

    /// Open the wide half for the cell tagged `tag`, as [`open_wide`](Self::open_wide), with
    /// `waker` already in the first slot of the calling thread's first own wide shard (no
    /// registrant of the cell reaches the wide half before `SLAB_WIDE`, which the caller
    /// publishes next). Returns the slot's index.
    ///
    /// # Safety
    /// As for [`open_wide`](Self::open_wide).
    pub(crate) unsafe fn open_wide_with_first(
        slab: NonNull<Self>,
        tag: u64,
        waker: Waker,
    ) -> usize {
        // SAFETY: per the caller.
        unsafe {
            Self::open_wide(slab, tag);
            Self::place_first(slab, tag, NARROW_SHARDS, waker)
        }
    }

    /// Reserve and fill slot 0 of the calling thread's first own shard in the half that
    /// starts at shard `half`, with a store: the caller tagged that half for `tag` just now,
    /// and no registrant of the cell reaches it yet (a stale registrant of an earlier cell
    /// compares its own tag and fails). The slot's index.
    ///
    /// # Safety
    /// As said: the half is the caller's alone, tagged for `tag`, with nothing reserved.
    unsafe fn place_first(slab: NonNull<Self>, tag: u64, half: usize, waker: Waker) -> usize {
        // SAFETY: a live block, per the caller.
        let slab = unsafe { slab.as_ref() };
        let shard_index = ((thread_number() & (NARROW_SHARDS - 1)) ^ NARROW_ORDER[0]) + half;
        let shard = &slab.shards[shard_index];
        // Release, as in `retag`: this word carries the tag too.
        shard.word.store((tag << TAG_SHIFT) | 1, Ordering::Release);
        // SAFETY: slot 0 of this shard is reserved just above, for this caller.
        unsafe { shard.fill(0, waker) };
        shard_index * SHARD_SLOTS
    }

    /// Make a given-back block serve the cell tagged `tag`: its narrow half, which is open from
    /// the start (the wide half is tagged when it opens, see [`open_wide`](Self::open_wide)).
    /// Every flag is clear already (the last completer cleared those it took), so only the
    /// words change.
    ///
    /// # Safety
    /// The block was given back by its last cell and is ours (taken from the store).
    unsafe fn retag(block: NonNull<Self>, tag: u64) {
        // SAFETY: type-stable: a live `Slab`.
        let slab = unsafe { block.as_ref() };
        for shard in &slab.shards[..NARROW_SHARDS] {
            // Release: a stale registrant that reads this tag sees its own task complete
            // (the last completer gave the block back after `COMPLETE`).
            shard.word.store(tag << TAG_SHIFT, Ordering::Release);
        }
    }

    /// Tag the wide half's shards for the cell tagged `tag`, which is opening it: until then
    /// they may hold an earlier cell's words (closed, with its reservation bits, or never
    /// opened), which no registrant of this cell reads before `SLAB_WIDE`.
    ///
    /// # Safety
    /// `slab` is the pending cell's published slab, the caller holds the cell's `LOCKED` and
    /// the cell's wide half is not open (so no registrant of it uses the wide shards yet).
    pub(crate) unsafe fn open_wide(slab: NonNull<Self>, tag: u64) {
        // SAFETY: per the caller.
        let slab = unsafe { slab.as_ref() };
        for shard in &slab.shards[NARROW_SHARDS..] {
            // Release: as in `retag`; the registrants of this cell see it through the
            // unlocking store that publishes `SLAB_WIDE`.
            shard.word.store(tag << TAG_SHIFT, Ordering::Release);
        }
    }

    /// The shard and slot of slab index `index`.
    #[inline]
    fn slot(slab: &Self, index: usize) -> (&SlabShard, usize) {
        (&slab.shards[index / SHARD_SLOTS], index & (SHARD_SLOTS - 1))
    }

    /// Reserve a free slot for the cell tagged `tag`, in the calling thread's shards first:
    /// its own narrow shards only ([`NARROW_ORDER`]) unless `wide` (the cell's `SLAB_WIDE` was
    /// seen), else every shard ([`WIDE_ORDER`]). One CAS on a word that stays in this thread's
    /// cache while its awaiters register.
    ///
    /// # Safety
    /// `slab` was loaded from the cell tagged `tag` after the cell was seen pending (the
    /// block may since have been closed, or serve another cell: blocks are type-stable and
    /// tagged), and the caller holds a handle to that cell (so its address, and its tag, is
    /// no other live cell's).
    #[inline]
    pub(crate) unsafe fn reserve(slab: NonNull<Self>, tag: u64, wide: bool) -> Reservation {
        // SAFETY: type-stable: the block is a live `Slab`, whoever it serves now.
        let slab = unsafe { slab.as_ref() };
        let ours = tag << TAG_SHIFT;
        let first = thread_number() & (NARROW_SHARDS - 1);
        let order: &[usize] = if wide { &WIDE_ORDER } else { &NARROW_ORDER };
        for &spill in order {
            let shard_index = first ^ spill;
            match slab.shards[shard_index].reserve(ours) {
                InShard::Slot(i) => return Reservation::Slot(shard_index * SHARD_SLOTS + i),
                InShard::Closed => return Reservation::Closed,
                InShard::Full => {}
            }
        }
        if wide {
            Reservation::Full
        } else {
            // This thread's narrow shards are full: its wide ones come next.
            Reservation::NeedsWide
        }
    }

    /// Register `waker` in one of the calling thread's own shards of the newest open half
    /// (the narrow half, or the wide one if `wide`), where nearly every registration lands:
    /// reserve a slot there and fill it. The slot's index, or the waker back for anything
    /// else (those shards full, the slab closed): then [`reserve`](Self::reserve) says what.
    /// The registrant's inline path: only the thread's own shards (the narrow order, a
    /// constant the loop unrolls), no call.
    ///
    /// # Safety
    /// As for [`reserve`](Self::reserve).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn register_own(
        slab: NonNull<Self>,
        tag: u64,
        wide: bool,
        waker: Waker,
    ) -> Result<usize, Waker> {
        // SAFETY: as in `reserve`.
        let slab = unsafe { slab.as_ref() };
        let first = thread_number() & (NARROW_SHARDS - 1);
        let half = if wide { NARROW_SHARDS } else { 0 };
        for spill in NARROW_ORDER {
            let shard_index = (first ^ spill) + half;
            let shard = &slab.shards[shard_index];
            match shard.reserve(tag << TAG_SHIFT) {
                InShard::Slot(i) => {
                    // SAFETY: we reserved slot `i` of this shard just now.
                    unsafe { shard.fill(i, waker) };
                    return Ok(shard_index * SHARD_SLOTS + i);
                }
                InShard::Closed => return Err(waker),
                InShard::Full => {}
            }
        }
        Err(waker)
    }

    /// Write `waker` into slot `index` and mark it ready.
    ///
    /// # Safety
    /// The caller reserved `index` ([`reserve`](Self::reserve)) and has not filled it since.
    #[inline]
    pub(crate) unsafe fn fill(slab: NonNull<Self>, index: usize, waker: Waker) {
        // SAFETY: the completer keeps the block until it sees the slot's flag, which `fill`
        // sets last.
        let (shard, i) = Self::slot(unsafe { slab.as_ref() }, index);
        // SAFETY: per the caller.
        unsafe { shard.fill(i, waker) };
    }

    /// Run `f` on the waker of registered slot `index`.
    ///
    /// # Safety
    /// The caller holds the cell's `LOCKED`, the cell is not complete (so the block is its
    /// cell's and no shard is closed), and `index` is the caller's own filled slot.
    pub(crate) unsafe fn with_registered<R>(
        slab: NonNull<Self>,
        index: usize,
        f: impl FnOnce(&mut Waker) -> R,
    ) -> R {
        // SAFETY: per the caller: the block is live, and nobody else touches the slot.
        let (shard, i) = Self::slot(unsafe { slab.as_ref() }, index);
        if !shard.ready[i].load(Ordering::Relaxed) {
            broken_under_lock("a slab key names a filled slot");
        }
        // SAFETY: as above; ready, so initialized.
        shard.wakers[i].with_mut(|w| f(unsafe { (*w).assume_init_mut() }))
    }

    /// Move the waker out of registered slot `index`, clear its flag and free the slot.
    ///
    /// # Safety
    /// As for [`with_registered`](Self::with_registered).
    #[must_use]
    pub(crate) unsafe fn remove(slab: NonNull<Self>, index: usize) -> Waker {
        // SAFETY: per the caller.
        let (shard, i) = Self::slot(unsafe { slab.as_ref() }, index);
        if !shard.ready[i].load(Ordering::Relaxed) {
            broken_under_lock("a slab key names a filled slot");
        }
        shard.ready[i].store(false, Ordering::Relaxed);
        // SAFETY: it was ready, so initialized; its flag is now clear, so it is read once.
        let waker = shard.wakers[i].with(|w| unsafe { (*w).assume_init_read() });
        // Release: the read above comes before the next reservation's write.
        let before = shard.word.fetch_and(!(1 << i), Ordering::Release);
        debug_assert!(before & CLOSED == 0 && before & 1 << i != 0);
        waker
    }

    /// Close the narrow half's shards, and the wide half's if `wide` (the cell's `SLAB_WIDE`,
    /// as the completer's claim saw it): no slot can be reserved any more (the completer, once
    /// `COMPLETE` is published). Returns the slots reserved for good.
    ///
    /// # Safety
    /// `slab` is the cell's published slab, and the cell is complete; called once.
    pub(crate) unsafe fn close(slab: NonNull<Self>, wide: bool) -> SlotMask {
        // SAFETY: per the caller.
        let slab = unsafe { slab.as_ref() };
        let open = if wide { SLAB_SHARDS } else { NARROW_SHARDS };
        let mut reserved = 0;
        for (s, shard) in slab.shards[..open].iter().enumerate() {
            // Release: a registrant that finds `CLOSED` sees `COMPLETE`, stored before.
            // Acquire: after every reservation it ends.
            let word = shard.word.fetch_or(CLOSED, Ordering::AcqRel);
            debug_assert!(word & CLOSED == 0, "a slab is closed once");
            reserved |= SlotMask::from(word & SHARD_FULL) << (s * SHARD_SLOTS);
        }
        reserved
    }

    /// The slots reserved right now in the narrow half, and in the wide half if `wide` (the
    /// cell's `SLAB_WIDE`): for good once nobody can reserve any more (the cell is being
    /// freed), a snapshot otherwise (tests).
    ///
    /// # Safety
    /// `slab` is a live cell's published slab.
    pub(crate) unsafe fn reserved_now(slab: NonNull<Self>, wide: bool) -> SlotMask {
        // SAFETY: per the caller.
        let slab = unsafe { slab.as_ref() };
        let open = if wide { SLAB_SHARDS } else { NARROW_SHARDS };
        let mut reserved = 0;
        for (s, shard) in slab.shards[..open].iter().enumerate() {
            let word = shard.word.load(Ordering::Acquire);
            reserved |= SlotMask::from(word & SHARD_FULL) << (s * SHARD_SLOTS);
        }
        reserved
    }

    /// Close each open shard (the narrow half's, and the wide half's if `wide`, as in
    /// [`close`](Self::close)) and wake its wakers, each once its registrant marked it ready,
    /// keeping the first panic in `panic` (see [`wake_caught`]): the completer's path, which
    /// every awaiter waits for. A close is an RMW on a line the registrants of another core
    /// may hold, so no close waits for another before a wake it could not delay: a shard's
    /// wakers are woken before the next shard is closed, and the shards that hold no
    /// reservation at a first look are closed last (a registrant may still have reserved in
    /// one since: its close returns it). Closing every shard before the first wake makes
    /// the first awaiter wait for every close (re-measure row (n64) after changing the
    /// order).
    ///
    /// # Safety
    /// As for [`close`](Self::close); the caller then gives the block back.
    pub(crate) unsafe fn close_and_wake(
        slab: NonNull<Self>,
        wide: bool,
        panic: &mut Option<Panic>,
    ) {
        // SAFETY: per the caller.
        let slab = unsafe { slab.as_ref() };
        let open = if wide { SLAB_SHARDS } else { NARROW_SHARDS };
        let mut empty = 0;
        for (s, shard) in slab.shards[..open].iter().enumerate() {
            if shard.word.load(Ordering::Relaxed) & SHARD_FULL == 0 {
                empty |= 1 << s;
                continue;
            }
            // SAFETY: per the caller, each shard is closed once (this one here).
            unsafe { shard.close_and_wake(panic) };
        }
        for s in Bits(empty) {
            // SAFETY: as above (not closed in the loop above).
            unsafe { slab.shards[s].close_and_wake(panic) };
        }
    }

    /// Run `f` on the waker of each of the `reserved` slots, taken once its registrant marked
    /// it ready, shard by shard.
    ///
    /// # Safety
    /// The block is live, the `reserved` slots are reserved and no more can be (see
    /// `take_all`), and each mask is taken once.
    #[inline]
    unsafe fn for_each_reserved(slab: NonNull<Self>, reserved: SlotMask, mut f: impl FnMut(Waker)) {
        // SAFETY: per the caller.
        let slab = unsafe { slab.as_ref() };
        let mut rest = reserved;
        while rest != 0 {
            // The next shard with a reserved slot (shards with none are skipped: a task with
            // few awaiters has most of them empty).
            let s = rest.trailing_zeros() as usize / SHARD_SLOTS;
            let shift = s * SHARD_SLOTS;
            // Its bits, as its word holds them.
            let bits = (rest >> shift) as u64 & SHARD_FULL;
            rest &= !(SlotMask::from(SHARD_FULL) << shift);
            // SAFETY: per the caller.
            unsafe { slab.shards[s].take_reserved(bits, &mut f) };
        }
    }

    /// The wakers of the `reserved` slots, each taken once its registrant marked it ready.
    ///
    /// # Safety
    /// `reserved` is what [`close`](Self::close) returned (the completer) or
    /// [`reserved_now`](Self::reserved_now) (`Cell::drop`): no slot can be reserved any
    /// more; each mask is taken once.
    pub(crate) unsafe fn take_all(slab: NonNull<Self>, reserved: SlotMask) -> TakenSlab {
        let mut taken = TakenSlab::EMPTY;
        // SAFETY: the block is live; per the caller, the slots are reserved for good, and this
        // mask is taken once.
        unsafe {
            Self::for_each_reserved(slab, reserved, |waker| {
                taken.wakers[taken.len].write(waker);
                taken.len += 1;
            });
        }
        taken
    }

    /// Give the block back to the store.
    ///
    /// # Safety
    /// The block's cell is complete and every reserved waker was taken (the completer), or
    /// the cell is being freed with its wakers taken (`Cell::drop`); the caller does not use
    /// the block again, and the cell no longer names it.
    pub(crate) unsafe fn give_back(slab: NonNull<Self>) {
        store::put(slab);
    }
}

/// The wakers taken from a slab, by value: an owned list, so waking them may outlive the
/// cell (the continuation thread's turn). Dropping it drops the wakers not woken.
pub(crate) struct TakenSlab {
    wakers: [MaybeUninit<Waker>; SLAB],
    /// `wakers[next..len]` are initialized.
    next: usize,
    len: usize,
}

impl TakenSlab {
    const EMPTY: TakenSlab = TakenSlab {
        wakers: [const { MaybeUninit::uninit() }; SLAB],
        next: 0,
        len: 0,
    };

    pub(crate) fn is_empty(&self) -> bool {
        self.next == self.len
    }
}

impl Iterator for TakenSlab {
    type Item = Waker;

    #[inline]
    fn next(&mut self) -> Option<Waker> {
        if self.next == self.len {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // SAFETY: `i` was in `next..len`, initialized, and is now outside it: read once.
        Some(unsafe { self.wakers[i].assume_init_read() })
    }
}

/// Wakers not woken are dropped one at a time under a catch (a panic discarded), so one
/// waker's panicking `Drop` leaves none of the others undropped.
impl Drop for TakenSlab {
    fn drop(&mut self) {
        self.by_ref().for_each(drop_discarding);
    }
}

impl std::fmt::Debug for TakenSlab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TakenSlab")
            .field("wakers", &(self.len - self.next))
            .finish()
    }
}

/// The indexes of the set bits of a mask, lowest first.
struct Bits(u64);

impl Iterator for Bits {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

/// Blocks a thread keeps for its next slabs (2624 bytes each) before giving some to the shared
/// list.
const CACHED: usize = 8;

/// How many blocks move between a thread's cache and the shared list under one lock. Blocks
/// flow one way when the thread that makes a task's slab (its second awaiter) is not the one
/// that completes it (which gives the block back to its own cache): moving them one at a time
/// took the shared list's lock in about a fifth of (n16)'s rounds.
const BATCH: usize = CACHED / 2;

mod store;

#[cfg(all(test, not(valuetask_loom)))]
mod tests;

#[cfg(all(test, valuetask_loom))]
mod loom_models;
