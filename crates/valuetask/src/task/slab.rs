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
//!   size).
//! - A slot whose bit is set belongs to the awaiter that set it. That awaiter writes it once,
//!   then sets `ready` with Release; after that, the slot is read or written only under the
//!   cell's `LOCKED` (its awaiter re-registering or going away, which clears the flag and
//!   then the bit) or by the completer. A slot whose bit is clear is not read.
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
use crate::catch_panic::{wake_caught, Panic};
use crate::sync::{spin_wait, thread_number, AtomicBool, AtomicU64, Ordering, UnsafeCell};

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
    #[inline(always)]
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
    #[inline(always)]
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
    #[inline(always)]
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
    #[inline(always)]
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

/// The shard word's bit the completer sets.
const CLOSED: u64 = 1 << SHARD_SLOTS;
/// Every slot's reservation bit in a shard word.
const SHARD_FULL: u64 = (1 << SHARD_SLOTS) - 1;
/// Where the tag starts in a shard word.
const TAG_SHIFT: u32 = SHARD_SLOTS as u32 + 1;
const _: () = assert!(SHARD_SLOTS <= 16 && SLAB <= SlotMask::BITS as usize);
/// Cells at or above this address do not use a slab: their tag would not fit.
const TAGGED_BELOW: u64 = match 1u64.checked_shl(64 - TAG_SHIFT + 4) {
    Some(bound) => bound,
    None => u64::MAX, // one-slot shards (loom's): every address
};

/// The tag of the cell at `cell`: its address over 16, if that fits the bits a shard word
/// has above its flags (an address below 2^51: every address a process gets on today's
/// 64-bit hosts, which hand out 47 or 48 bits unless asked for more). Two live cells are
/// more than 16 bytes apart (a cell is larger than that), so they have different tags.
#[inline]
pub(crate) fn tag_if_fits(cell: *const ()) -> Option<u64> {
    let address = cell as usize as u64;
    (address < TAGGED_BELOW).then(|| tag_known_to_fit(cell))
}

/// [`tag_if_fits`] for a cell known to have a tag (one that `tag_if_fits` gave a tag before).
#[inline]
pub(crate) fn tag_known_to_fit(cell: *const ()) -> u64 {
    cell as usize as u64 >> 4
}

/// Narrow shards a thread counts as its own: with two threads, half of the narrow half each.
const NARROW_SHARDS_PER_THREAD: usize = if NARROW_SHARDS > 1 {
    NARROW_SHARDS / 2
} else {
    1
};

/// `k` with its bits reversed over the bits of a narrow shard index: threads of neighbouring
/// numbers, XORed with it, own disjoint halves (quarters, ...) of the narrow half before
/// either reaches the other's (with two threads, thread 0 owns narrow shards 0 and 2, thread 1
/// shards 1 and 3).
const fn reversed(k: usize) -> usize {
    let bits = NARROW_SHARDS.trailing_zeros();
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// The shards a thread tries while the wide half is closed, each XORed with its first narrow
/// shard (`thread_number()` modulo `NARROW_SHARDS`): its own narrow shards, and no other
/// thread's. Past them a registrant opens the wide half ([`Reservation::NeedsWide`]).
const NARROW_ORDER: [usize; NARROW_SHARDS_PER_THREAD] = {
    let mut order = [0; NARROW_SHARDS_PER_THREAD];
    let mut k = 0;
    while k < NARROW_SHARDS_PER_THREAD {
        order[k] = reversed(k);
        k += 1;
    }
    order
};

/// The shards a thread tries once the wide half is open, XORed as above: its own wide shards
/// (the twins of its own narrow ones, plus `NARROW_SHARDS`), its own narrow ones, then each
/// other thread's wide and narrow shards: 4, 6, 0, 2, 5, 7, 1, 3 from thread 0. Wide first,
/// so the thread that opened the half does not try its full narrow shards again at every
/// registration. Tables: reversing bits is about twenty instructions on x86-64, per shard
/// tried.
const WIDE_ORDER: [usize; SLAB_SHARDS] = {
    let mut order = [0; SLAB_SHARDS];
    let (mut i, mut start) = (0, 0);
    while start < NARROW_SHARDS {
        let mut k = start;
        while k < start + NARROW_SHARDS_PER_THREAD {
            order[i] = reversed(k) + NARROW_SHARDS;
            order[i + NARROW_SHARDS_PER_THREAD] = reversed(k);
            i += 1;
            k += 1;
        }
        i += NARROW_SHARDS_PER_THREAD;
        start += NARROW_SHARDS_PER_THREAD;
    }
    order
};
const _: () = assert!(SLAB_SHARDS == 2 * NARROW_SHARDS);
// `register_own` tries the narrow order's shards, in the wide half once it is open: the
// first shards of the wide order.
const _: () = {
    let mut k = 0;
    while k < NARROW_SHARDS_PER_THREAD {
        assert!(WIDE_ORDER[k] == NARROW_ORDER[k] + NARROW_SHARDS);
        k += 1;
    }
};
const _: () = assert!(SLAB_SHARDS.is_power_of_two() && SHARD_SLOTS.is_power_of_two());

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
    /// `slab` was loaded from the cell tagged `tag` while it was pending, and the caller
    /// holds a handle to that cell (so its address, and its tag, is no other live cell's).
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
    #[inline(always)]
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
        assert!(
            shard.ready[i].load(Ordering::Relaxed),
            "a slab key names a filled slot"
        );
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
        assert!(
            shard.ready[i].load(Ordering::Relaxed),
            "a slab key names a filled slot"
        );
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

impl Drop for TakenSlab {
    fn drop(&mut self) {
        for waker in self.by_ref() {
            drop(waker);
        }
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

/// The store of blocks (module docs): type-stable, so never freed.
mod store {
    use super::{Slab, BATCH, CACHED};
    use crate::thread_cache::Standing;
    use std::cell::Cell;
    use std::ptr::NonNull;

    /// A chain of blocks linked by `next_free`, and its length.
    struct Chain {
        head: *mut Slab,
        len: usize,
    }

    // SAFETY: the chain's blocks are reached only through the chain's owner (the shared
    // list's lock).
    unsafe impl Send for Chain {}

    impl Chain {
        const EMPTY: Chain = Chain {
            head: std::ptr::null_mut(),
            len: 0,
        };

        /// Push `block`.
        ///
        /// # Safety
        /// `block` is a live `Slab` in no list, serving no cell.
        unsafe fn push(&mut self, block: NonNull<Slab>) {
            // SAFETY: per the caller, the block is ours to link.
            unsafe { block.as_ref() }.next_free.set(self.head);
            self.head = block.as_ptr();
            self.len += 1;
        }

        fn pop(&mut self) -> Option<NonNull<Slab>> {
            let block = NonNull::new(self.head)?;
            // SAFETY: a block in the chain is a live `Slab` only the chain's owner touches.
            self.head = unsafe { block.as_ref() }
                .next_free
                .replace(std::ptr::null_mut());
            self.len -= 1;
            Some(block)
        }

        /// Move up to `n` blocks from `self` to `to`.
        fn move_to(&mut self, to: &mut Chain, n: usize) {
            for _ in 0..n {
                let Some(block) = self.pop() else { break };
                // SAFETY: popped from our chain: in no list, serving no cell.
                unsafe { to.push(block) };
            }
        }
    }

    static SHARED: std::sync::Mutex<Chain> = std::sync::Mutex::new(Chain::EMPTY);

    /// This thread's cache, `const` and without drop glue; its blocks go to the shared list
    /// when the thread exits (`flush`, run by `thread_cache`'s guard).
    struct Cache {
        chain: Cell<Chain>,
        standing: Standing,
    }

    thread_local! {
        static CACHE: Cache = const {
            Cache {
                chain: Cell::new(Chain::EMPTY),
                standing: Standing::new(),
            }
        };
    }

    /// Hands this thread's blocks to the shared list when the thread exits.
    fn flush() {
        let _ = CACHE.try_with(|cache| {
            cache.standing.set_exiting();
            let mut chain = cache.chain.replace(Chain::EMPTY);
            let len = chain.len;
            chain.move_to(&mut crate::sync::lock_std(&SHARED), len);
        });
    }

    /// Whether this thread's cache may be used (registering its flush the first time).
    #[inline]
    fn usable(cache: &Cache) -> bool {
        cache.standing.is_registered() || cache.standing.register(flush)
    }

    /// A block from this thread's cache, else from the shared list (taking up to [`BATCH`]
    /// at once, the rest for this thread's cache), if either has one.
    pub(super) fn take() -> Option<NonNull<Slab>> {
        if cfg!(valuetask_loom) {
            return None;
        }
        CACHE
            .try_with(|cache| {
                if !usable(cache) {
                    return crate::sync::lock_std(&SHARED).pop();
                }
                let mut chain = cache.chain.replace(Chain::EMPTY);
                if chain.len == 0 {
                    crate::sync::lock_std(&SHARED).move_to(&mut chain, BATCH);
                }
                let block = chain.pop();
                cache.chain.set(chain);
                block
            })
            .unwrap_or_else(|_| crate::sync::lock_std(&SHARED).pop())
    }

    /// Keep `block` for a later slab in this thread's cache; past [`CACHED`] blocks, [`BATCH`]
    /// of them go to the shared list at once (all of them once the thread's cache is gone).
    /// Under loom, freed.
    pub(super) fn put(block: NonNull<Slab>) {
        if cfg!(valuetask_loom) {
            // SAFETY: under loom no block is reused or reached after its cell (module docs):
            // it came from `Box::into_raw` and is ours.
            drop(unsafe { Box::from_raw(block.as_ptr()) });
            return;
        }
        let cached = CACHE.try_with(|cache| {
            if !usable(cache) {
                return false;
            }
            let mut chain = cache.chain.replace(Chain::EMPTY);
            // SAFETY: the caller gave it back: in no list, serving no cell.
            unsafe { chain.push(block) };
            if chain.len > CACHED {
                chain.move_to(&mut crate::sync::lock_std(&SHARED), BATCH);
            }
            cache.chain.set(chain);
            true
        });
        if cached != Ok(true) {
            // SAFETY: as above.
            unsafe { crate::sync::lock_std(&SHARED).push(block) };
        }
    }

    /// How many blocks this thread's cache holds (tests).
    #[cfg(all(test, not(valuetask_loom)))] // its tests do not run under loom
    pub(super) fn cached_here() -> usize {
        CACHE.with(|cache| {
            let chain = cache.chain.replace(Chain::EMPTY);
            let len = chain.len;
            cache.chain.set(chain);
            len
        })
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;
    use crate::task::waiters::replace;
    use crate::task::waiters::tests::Count;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Every slot's bit in a mask.
    const ALL_SLOTS: SlotMask = SlotMask::MAX >> (SlotMask::BITS as usize - SLAB);

    /// A cell's tag, as `tag_if_fits` makes them.
    const TAG: u64 = 0x7f00_1234_5670 >> 4;

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// A slab's slots are reserved once each (the calling thread's narrow shards first, then,
    /// once the wide half is open, its wide ones, then the others), filled, replaced and
    /// removed one by one; a freed slot is reserved again; the completer's close returns every
    /// reserved slot and stops reservations; it takes them all at once: every waker once.
    #[test]
    fn slab_slots_are_reserved_filled_replaced_removed_and_taken_once_each() {
        let (count, waker) = counting();
        let slab = Slab::new(TAG);
        let mut reserved: SlotMask = 0;
        let first = thread_number() & (NARROW_SHARDS - 1);
        // The thread's own narrow shards, then the wide order without them (full by then).
        let order: Vec<usize> = NARROW_ORDER
            .iter()
            .chain(WIDE_ORDER.iter().filter(|s| !NARROW_ORDER.contains(s)))
            .copied()
            .collect();
        assert_eq!(order, [0, 2, 4, 6, 5, 7, 1, 3]);
        let mut wide = false;
        for n in 0..SLAB {
            let i = loop {
                // SAFETY: a live block, as published.
                match unsafe { Slab::reserve(slab, TAG, wide) } {
                    Reservation::Slot(i) => break i,
                    Reservation::NeedsWide if !wide => {
                        assert_eq!(n, SHARD_SLOTS * NARROW_SHARDS / 2, "own narrow shards full");
                        // As the cell does under `LOCKED`: a block from the store still has
                        // its last cell's words in the wide half.
                        // SAFETY: the block is this test's, and its wide half is not open.
                        unsafe { Slab::open_wide(slab, TAG) };
                        wide = true;
                    }
                    other => panic!("slot {n} of {SLAB}: {other:?}"),
                }
            };
            assert_eq!(
                i / SHARD_SLOTS,
                first ^ order[n / SHARD_SLOTS],
                "reservation {n}: in the thread's order"
            );
            assert_eq!(reserved & 1 << i, 0, "each slot once");
            reserved |= 1 << i;
            // SAFETY: reserved just now.
            unsafe { Slab::fill(slab, i, waker.clone()) };
        }
        assert_eq!(reserved, ALL_SLOTS);
        // SAFETY: as above.
        assert_eq!(unsafe { Slab::reserve(slab, TAG, true) }, Reservation::Full);
        let (other_count, other) = counting();
        // SAFETY: slot 0 is filled and nothing else touches the block.
        let replaced = unsafe {
            Slab::with_registered(slab, 0, |w| replace(w, &other, &mut Some(other.clone())))
        };
        assert!(
            matches!(replaced, Ok(Some(_))),
            "another task's waker swaps"
        );
        drop(replaced);
        // SAFETY: as above.
        let removed = unsafe { Slab::remove(slab, SLAB - 1) };
        drop(removed);
        // SAFETY: as above.
        let again = unsafe { Slab::reserve(slab, TAG, true) };
        assert_eq!(
            again,
            Reservation::Slot(SLAB - 1),
            "a freed slot is reserved again"
        );
        // SAFETY: reserved just now.
        unsafe { Slab::fill(slab, SLAB - 1, waker.clone()) };
        // SAFETY: a snapshot; nothing else reserves in this test's block.
        assert_eq!(unsafe { Slab::reserved_now(slab, true) }, reserved);
        let mut panic = None;
        // SAFETY: the completer's, once.
        unsafe { Slab::close_and_wake(slab, true, &mut panic) };
        // SAFETY: as above.
        let after_close = unsafe { Slab::reserve(slab, TAG, true) };
        assert_eq!(after_close, Reservation::Closed);
        // SAFETY: every reserved waker was taken.
        unsafe { Slab::give_back(slab) };
        assert!(panic.is_none());
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            SLAB - 1,
            "all but the replaced"
        );
        assert_eq!(other_count.0.load(Ordering::SeqCst), 1);
    }

    /// The slots a block's creator and its wide half's opener fill before publishing are
    /// reserved like any other: the thread's next reservation takes the slot after, the
    /// close returns them, and their wakers are woken once each.
    #[test]
    fn slots_placed_before_publishing_are_reserved_and_woken() {
        let (count, waker) = counting();
        let (slab, first) = Slab::new_with_first(TAG, waker.clone());
        let own = (thread_number() & (NARROW_SHARDS - 1)) ^ NARROW_ORDER[0];
        assert_eq!(
            first,
            own * SHARD_SLOTS,
            "slot 0 of the thread's first shard"
        );
        // SAFETY: a live block for `TAG`, as published.
        let next = unsafe { Slab::reserve(slab, TAG, false) };
        assert_eq!(next, Reservation::Slot(first + 1));
        // SAFETY: reserved just now.
        unsafe { Slab::fill(slab, first + 1, waker.clone()) };
        // SAFETY: the wide half is not open; the block is this test's.
        let wide_first = unsafe { Slab::open_wide_with_first(slab, TAG, waker.clone()) };
        assert_eq!(wide_first, (own + NARROW_SHARDS) * SHARD_SLOTS);
        // SAFETY: the wide half is open now.
        let wide_next = unsafe { Slab::reserve(slab, TAG, true) };
        assert_eq!(wide_next, Reservation::Slot(wide_first + 1));
        // SAFETY: reserved just now.
        unsafe { Slab::fill(slab, wide_first + 1, waker.clone()) };
        let expected = [first, first + 1, wide_first, wide_first + 1]
            .iter()
            .fold(0, |mask: SlotMask, &i| mask | 1 << i);
        let mut panic = None;
        // SAFETY: the completer's, once, with the wide half open; then given back.
        unsafe {
            assert_eq!(Slab::reserved_now(slab, true), expected);
            Slab::close_and_wake(slab, true, &mut panic);
            Slab::give_back(slab);
        }
        assert!(panic.is_none());
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            4,
            "each placed or reserved slot woken once"
        );
        assert_eq!(Arc::strong_count(&count), 2);
    }

    /// Taken wakers that are dropped rather than woken are dropped once each.
    #[test]
    fn taken_slab_wakers_not_woken_are_dropped() {
        let (count, waker) = counting();
        let slab = Slab::new(TAG);
        for i in 0..SLAB {
            // SAFETY: a fresh block, each slot filled once.
            unsafe { Slab::fill(slab, i, waker.clone()) };
        }
        assert_eq!(Arc::strong_count(&count), SLAB + 2);
        // SAFETY: every slot is filled; the block is not used again.
        let mut taken = unsafe { Slab::take_all(slab, ALL_SLOTS) };
        // SAFETY: every reserved waker was taken.
        unsafe { Slab::give_back(slab) };
        assert!(!taken.is_empty());
        taken.next().unwrap().wake();
        drop(taken);
        assert_eq!(Arc::strong_count(&count), 2);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    /// A block given back and handed to another cell refuses a reservation for the first
    /// cell (a registrant that saw it pending and loaded its slab pointer before the
    /// completer gave the block back), and leaves the new cell's slots alone. The first cell
    /// fills one slot, or every slot with its wide half open: the new cell does not read
    /// the first cell's closed wide half until it opens its own, which starts empty.
    #[test]
    fn a_block_serving_another_cell_refuses_the_first_cells_registrant() {
        let (_, waker) = counting();
        for wide in [false, true] {
            let slab = Slab::new(TAG);
            if wide {
                // SAFETY: a live block for `TAG`, its wide half not open.
                unsafe { Slab::open_wide(slab, TAG) };
            }
            for _ in 0..if wide { SLAB } else { 1 } {
                // SAFETY: a live block for `TAG`.
                let Reservation::Slot(i) = (unsafe { Slab::reserve(slab, TAG, wide) }) else {
                    panic!("a free slot");
                };
                // SAFETY: reserved just now.
                unsafe { Slab::fill(slab, i, waker.clone()) };
            }
            // SAFETY: the completer's, once; the mask taken once; then given back.
            unsafe {
                let reserved = Slab::close(slab, wide);
                drop(Slab::take_all(slab, reserved));
                Slab::give_back(slab);
            }
            let other = Slab::new(TAG + 1);
            assert_eq!(other, slab, "this thread's cached block comes back");
            // SAFETY: type-stable: the stale registrant's access is to a live block.
            let stale = unsafe { Slab::reserve(other, TAG, wide) };
            assert_eq!(stale, Reservation::Closed);
            // SAFETY: the block serves `TAG + 1` now.
            let reserved = unsafe { Slab::reserved_now(other, false) };
            assert_eq!(reserved, 0, "nothing reserved for the stale one");
            // SAFETY: as above.
            let Reservation::Slot(j) = (unsafe { Slab::reserve(other, TAG + 1, false) }) else {
                panic!("the new cell reserves");
            };
            // SAFETY: reserved just now; the wide half opened by its cell under `LOCKED`;
            // then closed, taken and given back.
            unsafe {
                Slab::fill(other, j, waker.clone());
                Slab::open_wide(other, TAG + 1);
                assert_eq!(Slab::reserve(other, TAG, true), Reservation::Closed);
                assert_eq!(
                    Slab::reserved_now(other, true),
                    1 << j,
                    "an empty wide half"
                );
                let reserved = Slab::close(other, true);
                assert_eq!(reserved, 1 << j);
                drop(Slab::take_all(other, reserved));
                Slab::give_back(other);
            }
        }
    }

    /// A thread's cache keeps up to `CACHED` blocks and passes `BATCH` at once to the shared
    /// list past that; a thread with none cached takes up to `BATCH` at once from it.
    #[test]
    fn blocks_move_between_a_threads_cache_and_the_shared_list_in_batches() {
        std::thread::spawn(|| {
            assert_eq!(store::cached_here(), 0, "a new thread caches nothing");
            let blocks: Vec<_> = (0..=CACHED).map(|_| Slab::new(TAG)).collect();
            for (n, &block) in blocks.iter().enumerate() {
                // SAFETY: nothing was reserved in it; not used again.
                unsafe { Slab::give_back(block) };
                let expected = if n < CACHED {
                    n + 1
                } else {
                    CACHED + 1 - BATCH
                };
                assert_eq!(
                    store::cached_here(),
                    expected,
                    "after giving back {}",
                    n + 1
                );
            }
            let mut taken: Vec<_> = (0..CACHED + 1 - BATCH).map(|_| Slab::new(TAG)).collect();
            assert_eq!(store::cached_here(), 0);
            // The shared list holds at least the `BATCH` this thread gave it (other tests may
            // add and take some meanwhile, never more than `BATCH` at once).
            taken.push(Slab::new(TAG));
            let refilled = store::cached_here();
            assert!(refilled < BATCH, "took {} at once", refilled + 1);
            for block in taken {
                // SAFETY: as above.
                unsafe { Slab::give_back(block) };
            }
        })
        .join()
        .unwrap();
    }

    /// Distinct cells get distinct tags, which fit above a word's flags.
    #[test]
    fn tags_of_distinct_cells_differ_and_leave_the_flags_clear() {
        let cells = [0u128; 4];
        let tags: Vec<u64> = cells
            .iter()
            .map(|c| {
                tag_if_fits((c as *const u128).cast()).expect("a heap or stack address has a tag")
            })
            .collect();
        for (i, a) in tags.iter().enumerate() {
            assert_eq!((a << TAG_SHIFT) & (SHARD_FULL | CLOSED), 0);
            assert!(tags[i + 1..].iter().all(|b| b != a));
        }
    }

    /// The size the module docs state, of a block of eight shards of sixteen slots.
    #[test]
    fn a_block_is_the_size_the_docs_state() {
        assert_eq!(std::mem::size_of::<Slab>(), 2624);
    }
}

/// Run from `.ci/run`'s loom step. Under loom a block is not reused through the store (module
/// docs), so the model hands it to another cell itself, as the store would.
#[cfg(all(test, valuetask_loom))]
mod loom_models {
    use super::*;

    /// A registrant of a task that saw it pending races the completer's close, its taking of
    /// the wakers and the block's handing to another cell: either it reserved before the
    /// close and the completer took its waker, or it reads the task as complete; it never
    /// reserves in the block once it serves the other cell. In the narrow half, and in the
    /// wide half once open (the registrant saw `SLAB_WIDE`, so the completer's claim did too).
    /// (Without the tag check in `reserve`, this model fails.)
    #[test]
    fn a_late_registrant_never_reserves_in_a_block_serving_another_cell() {
        for wide in [false, true] {
            loom::model(move || {
                let slab = Slab::new(1);
                if wide {
                    // The narrow shard is full and the wide half open (tagged under the cell's
                    // `LOCKED`), as a registrant that opens the wide half leaves them.
                    // SAFETY: a live block for cell 1, no other thread yet.
                    unsafe { Slab::open_wide(slab, 1) };
                    // SAFETY: as above.
                    let Reservation::Slot(i) = (unsafe { Slab::reserve(slab, 1, false) }) else {
                        panic!("the narrow slot is free");
                    };
                    // SAFETY: reserved just now.
                    unsafe { Slab::fill(slab, i, Waker::noop().clone()) };
                }
                let address = slab.as_ptr() as usize;
                let registrant = loom::thread::spawn(move || {
                    let slab = NonNull::new(address as *mut Slab).expect("not null");
                    // SAFETY: loaded while "cell 1" was pending; the block outlives the model.
                    match unsafe { Slab::reserve(slab, 1, wide) } {
                        Reservation::Slot(i) => {
                            // SAFETY: reserved just now.
                            unsafe { Slab::fill(slab, i, Waker::noop().clone()) };
                            true
                        }
                        Reservation::Closed => false,
                        other => panic!("one registrant, a free slot: {other:?}"),
                    }
                });
                // SAFETY: the completer of cell 1, once; the mask taken once; then the block
                // is handed to cell 2 as the store would (it is ours: cell 1 forgot it).
                let taken = unsafe {
                    let reserved = Slab::close(slab, wide);
                    let taken = Slab::take_all(slab, reserved);
                    Slab::retag(slab, 2);
                    taken
                };
                let reserved_by_registrant = registrant.join().expect("no panic");
                assert_eq!(
                    taken.count(),
                    usize::from(wide) + usize::from(reserved_by_registrant),
                    "a slot reserved is taken by the completer"
                );
                // SAFETY: the block serves cell 2 now.
                let for_cell_2 = unsafe { Slab::reserved_now(slab, false) };
                assert_eq!(for_cell_2, 0, "nothing reserved in cell 2's block");
                // SAFETY: from `Box::into_raw` (no store under loom); nobody uses it any more.
                drop(unsafe { Box::from_raw(slab.as_ptr()) });
            });
        }
    }
}
