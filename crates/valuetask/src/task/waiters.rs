//! The wakers of a pending task.
//!
//! - One inline slot and a slab of 15 more ([`Waiters`]), in the cell, guarded by the cell's
//!   `LOCKED` bit (see `cell.rs`). The completer takes them whole under that bit and wakes
//!   them after; the slab is a pooled block (`pool::store_block`) and goes back to the pool
//!   once emptied, so a result awaited by up to 16 tasks, round after round, allocates
//!   nothing for its list in steady state, whichever threads take and give back the slab.
//! - Past 16 awaiters, an overflow ([`Overflow`]) split into per-thread shards, each with
//!   its own lock and cache lines, so many awaiters on several cores do not all contend for
//!   the cell's state word. Its pointer is published once, under `LOCKED`, and stays
//!   until the cell is freed (`Cell::drop` recycles it): registrants may hold a reference to
//!   it without any lock. Four shards of 128 bytes each.
//! - Which slab slots hold a waker is a mask in the cell, so a registration writes only its
//!   own slab slot, and writes it without reading it; the completer reads the slots without
//!   writing them (see [`Waiters`]). Under loom the slab has one slot, so the models reach
//!   the overflow with a third awaiter.
//!
//! # Invariants (slab)
//!
//! - A slab slot holds a waker exactly when its bit in `Waiters::live` is set; the others are
//!   uninitialized. A waker leaves a slot only by clearing its bit first (`remove`,
//!   `wake_all`, `Drop`), so none is read twice, and none is dropped by overwriting.
//!
//! # Invariants (overflow)
//!
//! - A shard's slots are accessed only by the holder of that shard's `locked` flag. A
//!   registrant or remover checks `COMPLETE` under the shard lock and touches no slot once it
//!   is set; the completer publishes `COMPLETE` first and then takes each shard's slots under
//!   its lock. So a waker is either taken by the completer or never stored.
//! - No user code runs under a lock: wakers are cloned before and dropped after, and woken
//!   only after everything was taken. The one call under a lock is the allocator.
//!
//! Each awaiting future owns a [`WaiterKey`] naming its slot, so a re-poll replaces its own
//! waker (after `will_wake`) instead of growing the list, and a dropped future frees its slot.
//! A key is dead once the task completes. Never push a waker without a key.

use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::task::Waker;

use crate::catch_panic::{wake_caught, Panic};
use crate::sync::{spin_wait, AtomicBool, Ordering, UnsafeCell};

/// Slab slots: with the inline one, 16 awaiters before the overflow. Under loom, 1: the
/// models reach the overflow with their third awaiter.
const SLAB: usize = if cfg!(valuetask_loom) { 1 } else { 15 };

/// Shards in an overflow (a power of two).
const SHARDS: usize = 4;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// Names one awaiter's slot; `WaiterKey::NONE` when not registered. 0 is the inline slot,
/// `1..=SLAB` the slab, and above that the overflow (shard and index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(u32);

impl WaiterKey {
    pub(crate) const NONE: WaiterKey = WaiterKey(u32::MAX);
    const INLINE: WaiterKey = WaiterKey(0);
    const FIRST_OVERFLOW: u32 = SLAB as u32 + 1;

    #[inline]
    pub(crate) const fn is_none(self) -> bool {
        self.0 == u32::MAX
    }

    /// True for a key in the overflow.
    #[inline]
    pub(crate) const fn is_overflow(self) -> bool {
        self.0 >= Self::FIRST_OVERFLOW && !self.is_none()
    }

    /// Slot `index` of overflow shard `shard`.
    #[inline]
    fn overflowed(shard: usize, index: u32) -> Self {
        let key = (u64::from(index) << SHARD_BITS | shard as u64) + u64::from(Self::FIRST_OVERFLOW);
        match u32::try_from(key) {
            Ok(key) if key != u32::MAX => WaiterKey(key),
            // Called under a lock: a panic would leave it held. Abort, as `Arc` does on a
            // refcount overflow.
            _ => {
                eprintln!("valuetask: more than a billion concurrent awaiters of one task");
                std::process::abort();
            }
        }
    }

    /// The shard and index of an overflow key.
    fn shard_and_index(self) -> (usize, usize) {
        debug_assert!(self.is_overflow());
        let raw = self.0 - Self::FIRST_OVERFLOW;
        (raw as usize & (SHARDS - 1), (raw >> SHARD_BITS) as usize)
    }
}

/// A registration needs a clone of the waker, which the caller makes outside the lock.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NeedsClone;

/// Register `waker` in `slot`, this awaiter's own. A waker already there that wakes the same
/// task stays; otherwise `fresh`, a clone the caller made beforehand, is stored and the
/// replaced waker returned for the caller to drop after unlocking. `Err(NeedsClone)` when
/// `fresh` is needed and missing: nothing changed.
fn store(
    slot: &mut Option<Waker>,
    waker: &Waker,
    fresh: &mut Option<Waker>,
) -> Result<Option<Waker>, NeedsClone> {
    match slot {
        Some(existing) => replace(existing, waker, fresh),
        None => fresh.take().map(|f| slot.replace(f)).ok_or(NeedsClone),
    }
}

/// [`store`] for a slot known to hold a waker.
fn replace(
    existing: &mut Waker,
    waker: &Waker,
    fresh: &mut Option<Waker>,
) -> Result<Option<Waker>, NeedsClone> {
    if existing.will_wake(waker) {
        return Ok(None);
    }
    let new = fresh.take().ok_or(NeedsClone)?;
    Ok(Some(std::mem::replace(existing, new)))
}

/// The inline slot and the slab, under the cell's `LOCKED`. The slab is a block of its own,
/// so a task that never has two awaiters at once pays one word for it; which of its slots
/// hold a waker is a mask here, in the cell (usually on the state word's cache line, which
/// the registering thread has just locked).
///
/// The slab's slots are written without being read and read without being written: a
/// registration writes a free slot blind, and the completer moves the wakers out and clears
/// the mask, leaving the slots as they were. A slot line is last written by another thread
/// (the previous round's registrant, a neighbouring slot's): a load of it under `LOCKED`
/// stalled the registrant, and every awaiter waiting for the lock behind it, for a cache miss
/// (measured with `perf`: a fifth of the registration's samples sat on that load, and a
/// quarter on the other thread spinning for the lock). A store does not stall the core.
#[derive(Default)]
pub(crate) struct Waiters {
    inline: Option<Waker>,
    /// A pooled block owned by this list: taken at the second registration, given back when
    /// the list is woken or dropped.
    slab: Option<NonNull<Slab>>,
    /// Bit `i` set: slab slot `i` holds a waker. The slots of clear bits are uninitialized.
    live: u32,
}

impl std::fmt::Debug for Waiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiters")
            .field("inline", &self.inline)
            .field("slab", &self.slab.is_some())
            .field("live", &format_args!("{:#b}", self.live))
            .finish()
    }
}

// SAFETY: a `Waiters` owns its slab block exclusively (nothing else points at it), so moving
// the list to another thread moves the slab with it; wakers are `Send + Sync`, and shared
// access goes through the cell's `LOCKED` (see `cell.rs`).
unsafe impl Send for Waiters {}
// SAFETY: as above: `&Waiters` gives no access to the slab's wakers but `Debug`'s flag.
unsafe impl Sync for Waiters {}

/// Every slab slot's bit.
const SLAB_MASK: u32 = (1 << SLAB) - 1;

/// `SLAB` slots; which of them hold a waker is `Waiters::live`. A pooled block
/// (`pool::store_block`), owned by the `Waiters` that points at it.
struct Slab {
    slots: [MaybeUninit<Waker>; SLAB],
}

impl Slab {
    /// Out of line and cold: `insert` would otherwise set up its frame on every registration.
    #[cold]
    #[inline(never)]
    fn new() -> NonNull<Self> {
        crate::pool::store_block(|| Slab {
            slots: [const { MaybeUninit::uninit() }; SLAB],
        })
    }

    /// Give an emptied slab (every waker moved out) back to the pool.
    ///
    /// # Safety
    /// `slab` came from [`Slab::new`] and is not used again.
    unsafe fn recycle(slab: NonNull<Self>) {
        // SAFETY: per the caller; a `Slab` has no drop glue (its wakers are accounted by
        // `Waiters::live`, and none is left).
        unsafe { crate::pool::free_block(slab) }
    }
}

impl Drop for Waiters {
    /// Drops the wakers still registered: a cell freed with awaiters registered (their
    /// futures leaked) drops their wakers with it.
    fn drop(&mut self) {
        if let Some(slab) = self.slab.take() {
            for i in Bits(std::mem::take(&mut self.live)) {
                // SAFETY: the slab is ours (see `Waiters::slab`); a live bit's slot holds a
                // waker, and its bit is cleared, so it is read once.
                drop(unsafe { slab.as_ref().slots[i].assume_init_read() });
            }
            // SAFETY: ours, and no longer referenced.
            unsafe { Slab::recycle(slab) };
        }
    }
}

/// The indexes of the set bits of a mask, lowest first.
struct Bits(u32);

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

impl Waiters {
    pub(crate) const fn new() -> Self {
        Self {
            inline: None,
            slab: None,
            live: 0,
        }
    }

    /// Re-register `waker` under `key`, an inline or slab key (see [`store`]).
    pub(crate) fn register(
        &mut self,
        key: WaiterKey,
        waker: &Waker,
        fresh: &mut Option<Waker>,
    ) -> Result<Option<Waker>, NeedsClone> {
        if key == WaiterKey::INLINE {
            return store(&mut self.inline, waker, fresh);
        }
        replace(self.live_slot(key), waker, fresh)
    }

    /// Store `waker` for an awaiter that is not registered yet (`key` is `NONE`) and write its
    /// key back; `Err(waker)` when the inline slot and the slab are full.
    #[inline]
    pub(crate) fn insert(&mut self, key: &mut WaiterKey, waker: Waker) -> Result<(), Waker> {
        debug_assert!(key.is_none(), "insert is for a first registration");
        if self.inline.is_none() {
            self.inline = Some(waker);
            *key = WaiterKey::INLINE;
            return Ok(());
        }
        let free = !self.live & SLAB_MASK;
        if free == 0 {
            return Err(waker);
        }
        let index = free.trailing_zeros();
        let slab = *self.slab.get_or_insert_with(Slab::new);
        // Written blind: the slot's line may be another thread's (see `Waiters`).
        // SAFETY: the slab is ours (see `Waiters::slab`), and we hold `&mut self`.
        unsafe { (*slab.as_ptr()).slots[index as usize].write(waker) };
        self.live |= 1 << index;
        *key = WaiterKey(index + 1);
        Ok(())
    }

    /// Free `key`'s slot, an inline or slab key (the awaiter went away before completion).
    /// Returns its waker, for the caller to drop after unlocking.
    #[must_use]
    pub(crate) fn remove(&mut self, key: WaiterKey) -> Option<Waker> {
        if key == WaiterKey::INLINE {
            return self.inline.take();
        }
        let index = Self::slab_index(key);
        let (Some(slab), true) = (self.slab, self.live & 1 << index != 0) else {
            debug_assert!(false, "a slab key names a live slot");
            return None;
        };
        self.live &= !(1 << index);
        // SAFETY: the slab is ours; its bit was set, so the slot holds a waker; the bit is now
        // clear, so it is read once.
        Some(unsafe { slab.as_ref().slots[index].assume_init_read() })
    }

    /// True when no waker is registered here.
    pub(crate) fn is_empty(&self) -> bool {
        self.inline.is_none() && self.live == 0
    }

    /// The one waker, if the list holds the inline slot alone (no slab): the completer of a
    /// task with a single awaiter wakes it without the general loop.
    #[inline]
    pub(crate) fn take_single(&mut self) -> Option<Waker> {
        if self.slab.is_none() {
            self.inline.take()
        } else {
            None
        }
    }

    /// Wake every waker here and in `overflow` (taken from the overflow), consuming the list.
    /// A panicking waker does not stop the others: every waker is woken, and the first panic
    /// is returned for the caller to resume. An asynchronous completion's wakers (`IN_TURN`,
    /// on the continuation thread) go through `continuations::wake_in_turn`, so that those
    /// not woken yet move on if one of them blocks.
    #[must_use]
    pub(crate) fn wake_all<const IN_TURN: bool>(
        mut self,
        overflow: Option<&mut Taken>,
    ) -> Option<Panic> {
        let slab = self.slab.take();
        // The mask is cleared before any waker is moved out: if waking panics past
        // `wake_caught`, the wakers not yet moved leak rather than drop twice.
        let live = std::mem::take(&mut self.live);
        let inline = self.inline.take();
        /// A slab slot's waker.
        ///
        /// # Safety
        /// `slab` is the list's, not recycled yet; `i`'s bit was set in the list's mask, which
        /// is cleared, and each `i` is read once.
        unsafe fn moved_out(slab: NonNull<Slab>, i: usize) -> Waker {
            // SAFETY: per the caller. The slots are only read: they stay as they were (see
            // `Waiters`).
            unsafe { slab.as_ref().slots[i].assume_init_read() }
        }
        let panic = if IN_TURN {
            let slabbed = slab.iter().flat_map(|&s| {
                // SAFETY: as `moved_out` requires: `Bits` yields each live index once.
                Bits(live).map(move |i| unsafe { moved_out(s, i) })
            });
            let overflowed = overflow.into_iter().flat_map(|t| {
                t.0.iter_mut()
                    .flat_map(|w| w.iter_mut().filter_map(Option::take))
            });
            crate::continuations::wake_in_turn(inline.into_iter().chain(slabbed).chain(overflowed))
        } else {
            // Plain loops rather than the chained iterator above: this is every completion's
            // path, and the chain kept its state on the stack, at twice the instructions per
            // waker.
            let mut panic = None;
            if let Some(waker) = inline {
                wake_caught(waker, &mut panic);
            }
            if let Some(s) = slab {
                for i in Bits(live) {
                    // SAFETY: as `moved_out` requires: `Bits` yields each live index once.
                    wake_caught(unsafe { moved_out(s, i) }, &mut panic);
                }
            }
            if let Some(taken) = overflow {
                for list in &mut taken.0 {
                    // Drained: emptied as it is read, so `Taken::recycle` need not clear it.
                    for waker in list.drain(..).flatten() {
                        wake_caught(waker, &mut panic);
                    }
                }
            }
            panic
        };
        if let Some(slab) = slab {
            // SAFETY: ours, emptied above, and no longer referenced.
            unsafe { Slab::recycle(slab) };
        }
        panic
    }

    /// Number of registered wakers here (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.inline.is_some()) + self.live.count_ones() as usize
    }

    fn slab_index(key: WaiterKey) -> usize {
        debug_assert!(!key.is_none() && !key.is_overflow() && key != WaiterKey::INLINE);
        key.0 as usize - 1
    }

    /// The waker of a registered slab key.
    fn live_slot(&mut self, key: WaiterKey) -> &mut Waker {
        let index = Self::slab_index(key);
        assert!(self.live & 1 << index != 0, "a slab key names a live slot");
        let slab = self.slab.expect("a slab key implies the slab exists");
        // SAFETY: the slab is ours and we hold `&mut self`; its bit is set, so the slot holds
        // a waker.
        unsafe { (*slab.as_ptr()).slots[index].assume_init_mut() }
    }
}

/// What a registration in the overflow found.
#[derive(Debug)]
pub(crate) enum Registered {
    /// Stored; the replaced waker, if any, is for the caller to drop.
    Pending(Option<Waker>),
    /// The task completed: nothing was stored.
    Complete,
}

/// The overflow: shards of waker slots, each with its own lock and 128 bytes of its own.
#[derive(Debug)]
pub(crate) struct Overflow {
    shards: [Shard; SHARDS],
}

// SAFETY: an overflow is shared by the threads of one task; each shard's slots are accessed only
// under that shard's lock (module invariants), and wakers are `Send + Sync`.
unsafe impl Sync for Overflow {}
// SAFETY: as above.
unsafe impl Send for Overflow {}

/// `repr(C)` and padded to two cache lines rather than aligned to one: the allocation then
/// takes the allocator's plain path, and each shard's hot fields (the lock, the two list
/// headers, at most 64 bytes from the shard's start) still share no line with another's.
#[derive(Debug)]
#[repr(C)]
struct Shard {
    locked: AtomicBool,
    slots: UnsafeCell<Slots>,
    _pad: [u8; SHARD_PAD],
}

/// Fills a shard to 128 bytes.
const SHARD_PAD: usize = 128usize.saturating_sub(8 + std::mem::size_of::<UnsafeCell<Slots>>());

#[derive(Debug, Default)]
struct Slots {
    /// Handed-out slots; `None` when freed or taken.
    wakers: Vec<Option<Waker>>,
    /// Indexes of freed slots, for reuse.
    free: Vec<u32>,
}

/// Most slots (and free indexes) a shard of an overflow kept for reuse may have room for.
#[cfg(not(valuetask_loom))]
const SPARE_MAX_SLOTS: usize = 256;

/// Emptied waker lists a thread keeps for new shards, and the most room each may have.
#[cfg(not(valuetask_loom))]
const SPARE_LISTS: usize = 8;

thread_local! {
    /// Waker lists emptied by completions on this thread, for the shards of later overflows
    /// (an overflow lives as long as its task, but its lists are done with at completion): at
    /// most `SPARE_LISTS` lists of `SPARE_MAX_SLOTS` wakers, 32 KiB.
    #[cfg(not(valuetask_loom))]
    static SPARE_LISTS_KEPT: std::cell::Cell<Vec<Vec<Option<Waker>>>> =
        const { std::cell::Cell::new(Vec::new()) };

    /// One emptied overflow per thread, kept for the next task that needs one when its task is
    /// freed: its shards and their free lists (at most `SHARDS` × `SPARE_MAX_SLOTS` indexes,
    /// 4 KiB; its waker lists went back at completion).
    #[cfg(not(valuetask_loom))]
    static SPARE: std::cell::Cell<Option<Box<Overflow>>> = const { std::cell::Cell::new(None) };
}

/// Holds one shard's lock; releases it when dropped.
struct ShardGuard<'a>(&'a Shard);

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        self.0.locked.store(false, Ordering::Release);
    }
}

impl ShardGuard<'_> {
    fn slots<R>(&mut self, f: impl FnOnce(&mut Slots) -> R) -> R {
        // SAFETY: we hold the shard's lock, so its slots are ours alone.
        self.0.slots.with_mut(|s| f(unsafe { &mut *s }))
    }
}

impl Shard {
    fn new() -> Self {
        Shard {
            locked: AtomicBool::new(false),
            slots: UnsafeCell::new(Slots::default()),
            _pad: [0; SHARD_PAD],
        }
    }

    #[inline]
    fn lock(&self) -> ShardGuard<'_> {
        let mut spins = 0;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_wait(&mut spins);
        }
        ShardGuard(self)
    }
}

/// The shard of the calling thread: threads are spread over the shards round-robin.
#[inline]
fn this_threads_shard() -> usize {
    #[cfg(not(valuetask_loom))]
    {
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
        }
        SHARD
            .try_with(|shard| {
                if shard.get() == usize::MAX {
                    shard.set(NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
                }
                shard.get()
            })
            .unwrap_or(0)
    }
    #[cfg(valuetask_loom)]
    {
        // Deterministic under the model: the model thread's number.
        let id = format!("{:?}", loom::thread::current().id());
        let digits: String = id.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<usize>().unwrap_or(0) % SHARDS
    }
}

impl Overflow {
    /// An empty overflow: this thread's spare, else a new one.
    pub(crate) fn new() -> Box<Self> {
        #[cfg(not(valuetask_loom))]
        if let Ok(Some(spare)) = SPARE.try_with(std::cell::Cell::take) {
            return spare;
        }
        Box::new(Overflow {
            shards: std::array::from_fn(|_| Shard::new()),
        })
    }

    /// Keep an emptied overflow for reuse (the thread keeps one), unless it grew large.
    pub(crate) fn recycle(self: Box<Self>) {
        #[cfg(not(valuetask_loom))]
        {
            for shard in &self.shards {
                let too_big = shard.slots.with_mut(|s| {
                    // SAFETY: the box is ours alone (its cell is being freed): no lock needed.
                    let s = unsafe { &mut *s };
                    debug_assert!(s.wakers.iter().all(Option::is_none));
                    s.wakers.clear();
                    s.free.clear();
                    s.wakers.capacity() > SPARE_MAX_SLOTS || s.free.capacity() > SPARE_MAX_SLOTS
                });
                if too_big {
                    return;
                }
            }
            let _ = SPARE.try_with(|spare| {
                if let Some(previous) = spare.replace(Some(self)) {
                    spare.set(Some(previous)); // keep the one already there; drop this one
                }
            });
        }
        // Loom runs model threads on one OS thread: a real thread-local would outlive the model.
        #[cfg(valuetask_loom)]
        drop(self);
    }

    /// Re-register `waker` under `key`, an overflow key (see [`store`]), unless `complete()`,
    /// checked under the shard's lock, says the task completed.
    pub(crate) fn register(
        &self,
        key: WaiterKey,
        waker: &Waker,
        fresh: &mut Option<Waker>,
        complete: impl Fn() -> bool,
    ) -> Result<Registered, NeedsClone> {
        let (shard, index) = key.shard_and_index();
        let mut guard = self.shards[shard].lock();
        if complete() {
            return Ok(Registered::Complete);
        }
        guard.slots(|slots| store(&mut slots.wakers[index], waker, fresh).map(Registered::Pending))
    }

    /// Store `waker` for a new awaiter in this thread's shard and write its key, unless
    /// `complete()`, checked under the shard's lock, says the task completed: then the waker
    /// is handed back. Every awaiter past the 16th comes here once.
    #[inline]
    pub(crate) fn insert(
        &self,
        key: &mut WaiterKey,
        waker: Waker,
        complete: impl Fn() -> bool,
    ) -> Result<(), Waker> {
        let shard = this_threads_shard();
        let mut guard = self.shards[shard].lock();
        if complete() {
            return Err(waker);
        }
        let index = guard.slots(|slots| match slots.free.pop() {
            Some(index) => {
                slots.wakers[index as usize] = Some(waker);
                index
            }
            None => {
                let index = slots.wakers.len();
                if slots.wakers.capacity() == 0 {
                    slots.wakers = spare_list();
                }
                slots.wakers.push(Some(waker));
                u32::try_from(index).unwrap_or(u32::MAX)
            }
        });
        *key = WaiterKey::overflowed(shard, index);
        Ok(())
    }

    /// Free `key`'s slot, unless `complete()` (checked under the shard's lock): then the
    /// completer owns the waker. Returns the waker, for the caller to drop after unlocking.
    #[must_use]
    pub(crate) fn remove(&self, key: WaiterKey, complete: impl Fn() -> bool) -> Option<Waker> {
        let (shard, index) = key.shard_and_index();
        let mut guard = self.shards[shard].lock();
        if complete() {
            return None;
        }
        guard.slots(|slots| {
            let waker = slots.wakers[index].take();
            slots.free.push(index as u32);
            waker
        })
    }

    /// Take every shard's wakers (the completer, after publishing `COMPLETE`): each list is
    /// moved out under its shard's lock, to be woken outside it.
    pub(crate) fn take_all(&self) -> Taken {
        Taken(std::array::from_fn(|i| {
            self.shards[i]
                .lock()
                .slots(|s| std::mem::take(&mut s.wakers))
        }))
    }

    /// Registered wakers right now (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().slots(|s| s.wakers.iter().flatten().count()))
            .sum()
    }
}

/// The wakers taken from an overflow's shards.
#[derive(Debug)]
pub(crate) struct Taken([Vec<Option<Waker>>; SHARDS]);

/// A kept emptied list, if this thread has one.
fn spare_list() -> Vec<Option<Waker>> {
    #[cfg(not(valuetask_loom))]
    if let Ok(Some(list)) = SPARE_LISTS_KEPT.try_with(|kept| {
        let mut lists = kept.take();
        let list = lists.pop();
        kept.set(lists);
        list
    }) {
        return list;
    }
    Vec::new()
}

impl Taken {
    /// Keep the emptied lists on this thread for later overflows (bounded).
    pub(crate) fn recycle(self) {
        #[cfg(not(valuetask_loom))]
        let _ = SPARE_LISTS_KEPT.try_with(|kept| {
            let mut lists = kept.take();
            for mut list in self.0 {
                if list.capacity() > 0
                    && list.capacity() <= SPARE_MAX_SLOTS
                    && lists.len() < SPARE_LISTS
                {
                    list.clear();
                    lists.push(list);
                }
            }
            kept.set(lists);
        });
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn the_inline_slot_and_the_slab_fill_then_refuse_and_freed_slots_are_reused() {
        let (count, waker) = counting();
        let mut w = Waiters::new();
        let mut keys = [WaiterKey::NONE; SLAB + 1];
        for key in &mut keys {
            assert!(w.insert(key, waker.clone()).is_ok());
            assert!(!key.is_overflow());
        }
        assert_eq!(keys[0], WaiterKey::INLINE);
        let mut extra = WaiterKey::NONE;
        assert!(w.insert(&mut extra, waker.clone()).is_err(), "full");
        assert!(extra.is_none(), "nothing changed");
        assert!(w.remove(keys[3]).is_some());
        assert!(w.remove(keys[5]).is_some());
        let (mut x, mut y) = (WaiterKey::NONE, WaiterKey::NONE);
        assert!(w.insert(&mut x, waker.clone()).is_ok());
        assert!(w.insert(&mut y, waker.clone()).is_ok());
        assert_eq!(
            [x, y],
            [keys[3], keys[5]],
            "freed slots first, lowest first"
        );
        let mut extra = WaiterKey::NONE;
        assert!(w.insert(&mut extra, waker.clone()).is_err(), "full again");
        assert_eq!(w.len(), SLAB + 1);
        assert!(w.wake_all::<false>(None).is_none());
        assert_eq!(count.0.load(Ordering::SeqCst), SLAB + 1);
    }

    /// A thread keeps at most one emptied overflow, and none whose shards grew past
    /// `SPARE_MAX_SLOTS` (its memory bound).
    #[test]
    #[cfg(not(valuetask_loom))]
    fn a_thread_keeps_one_spare_overflow_and_none_that_grew_large() {
        let with_capacity = |wakers: usize, free: usize| {
            let overflow = Overflow::new();
            overflow.shards[1].slots.with_mut(|s| {
                // SAFETY: the overflow is ours alone.
                let s = unsafe { &mut *s };
                s.wakers.reserve_exact(wakers);
                s.free.reserve_exact(free);
            });
            overflow
        };
        let kept = || SPARE.with(|spare| spare.take().is_some());
        let _ = kept(); // start with no spare
        for (wakers, free, keeps) in [
            (SPARE_MAX_SLOTS, SPARE_MAX_SLOTS, true),
            (SPARE_MAX_SLOTS + 1, 0, false),
            (0, SPARE_MAX_SLOTS + 1, false),
        ] {
            with_capacity(wakers, free).recycle();
            assert_eq!(kept(), keeps, "wakers {wakers}, free {free}");
        }
        Overflow::new().recycle();
        let second = Overflow::new(); // the spare, taken back
        Overflow::new().recycle();
        second.recycle(); // one is kept already: this one is freed
        assert!(kept());
        assert!(!kept(), "only one");
    }

    /// A thread keeps at most `SPARE_LISTS` emptied waker lists, none larger than
    /// `SPARE_MAX_SLOTS` and none without capacity.
    #[test]
    #[cfg(not(valuetask_loom))]
    fn a_thread_keeps_a_bounded_number_of_spare_waker_lists() {
        let kept = || {
            SPARE_LISTS_KEPT.with(|k| {
                let lists = k.take();
                let capacities: Vec<usize> = lists.iter().map(Vec::capacity).collect();
                capacities
            })
        };
        let _ = kept();
        let lists = |capacity: usize| Taken(std::array::from_fn(|_| Vec::with_capacity(capacity)));
        lists(SPARE_MAX_SLOTS + 1).recycle();
        lists(0).recycle();
        assert_eq!(kept(), Vec::<usize>::new());
        lists(SPARE_MAX_SLOTS).recycle();
        assert_eq!(kept().len(), SHARDS);
        for _ in 0..3 {
            lists(1).recycle();
        }
        let capacities = kept();
        assert_eq!(capacities.len(), SPARE_LISTS);
        assert!(capacities
            .iter()
            .all(|&c| (1..=SPARE_MAX_SLOTS).contains(&c)));
    }

    #[test]
    fn the_list_is_empty_exactly_when_every_registered_awaiter_was_removed() {
        let (_, waker) = counting();
        let mut w = Waiters::new();
        assert!(w.is_empty());
        let mut keys = [WaiterKey::NONE; 3];
        for key in &mut keys {
            assert!(w.insert(key, waker.clone()).is_ok());
        }
        for key in keys {
            assert!(!w.is_empty());
            assert!(w.remove(key).is_some());
        }
        assert!(w.is_empty());
        let mut again = [WaiterKey::NONE; 2];
        assert!(w.insert(&mut again[0], waker.clone()).is_ok());
        assert!(w.insert(&mut again[1], waker).is_ok());
        assert!(w.remove(again[0]).is_some());
        assert!(!w.is_empty(), "a slab awaiter is left");
    }

    #[test]
    // Miri gives each use of a vtable its own address, so `will_wake` of a clone is false
    // there (it is best-effort by contract); the swap path then runs, which is also correct.
    #[cfg_attr(
        miri,
        ignore = "will_wake compares vtable addresses, which Miri duplicates"
    )]
    fn re_registering_keeps_a_waker_for_the_same_task_and_swaps_another() {
        let (_, waker) = counting();
        let (_, other) = counting();
        let mut w = Waiters::new();
        let mut key = WaiterKey::NONE;
        w.insert(&mut key, waker.clone()).unwrap();
        assert!(
            w.register(key, &waker, &mut None).unwrap().is_none(),
            "same: kept"
        );
        assert!(matches!(
            w.register(key, &other, &mut None),
            Err(NeedsClone)
        ));
        let replaced = w.register(key, &other, &mut Some(other.clone())).unwrap();
        assert!(
            replaced.unwrap().will_wake(&waker),
            "the old one comes back"
        );
        assert!(w.remove(key).unwrap().will_wake(&other));
        assert!(w.is_empty());
    }

    #[test]
    fn the_overflow_registers_re_registers_removes_and_refuses_once_complete() {
        let (count, waker) = counting();
        let overflow = Overflow::new();
        let not_complete = || false;
        let mut keys = [WaiterKey::NONE; 40];
        for key in &mut keys {
            assert!(overflow.insert(key, waker.clone(), not_complete).is_ok());
            assert!(key.is_overflow());
        }
        assert_eq!(overflow.len(), 40);
        let (_, other) = counting();
        assert_eq!(
            overflow
                .register(keys[0], &other, &mut None, not_complete)
                .unwrap_err(),
            NeedsClone
        );
        let swapped = overflow.register(keys[0], &other, &mut Some(other.clone()), not_complete);
        assert!(matches!(swapped, Ok(Registered::Pending(Some(_)))));
        assert!(overflow.remove(keys[7], not_complete).is_some());
        let mut reused = WaiterKey::NONE;
        assert!(overflow
            .insert(&mut reused, waker.clone(), not_complete)
            .is_ok());
        assert_eq!(reused, keys[7], "a freed slot is reused");
        // (Whether the same waker is kept or replaced depends on `will_wake`, which differs
        // under Miri.)
        assert!(matches!(
            overflow.register(reused, &waker, &mut Some(waker.clone()), not_complete),
            Ok(Registered::Pending(_))
        ));
        let complete = || true;
        let mut late = WaiterKey::NONE;
        assert!(overflow.insert(&mut late, waker.clone(), complete).is_err());
        assert!(late.is_none());
        assert!(matches!(
            overflow.register(keys[9], &waker, &mut None, complete),
            Ok(Registered::Complete)
        ));
        assert!(
            overflow.remove(keys[8], complete).is_none(),
            "the completer owns it"
        );
        let mut taken = overflow.take_all();
        assert!(Waiters::new().wake_all::<false>(Some(&mut taken)).is_none());
        taken.recycle();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            39,
            "all but the swapped one"
        );
        assert_eq!(overflow.len(), 0);
        overflow.recycle();
    }

    /// The padding keeps each shard's hot fields off every other shard's cache lines.
    #[test]
    fn a_shard_is_two_cache_lines_with_its_hot_fields_first() {
        assert_eq!(std::mem::size_of::<Shard>(), 128);
        assert!(std::mem::offset_of!(Shard, slots) + std::mem::size_of::<Slots>() <= 64);
    }

    #[test]
    fn keys_round_trip_through_shards_and_indexes() {
        for shard in 0..SHARDS {
            for index in [0, 1, 1000, (1 << 29) - 2] {
                let key = WaiterKey::overflowed(shard, index);
                assert!(key.is_overflow() && !key.is_none());
                assert_eq!(key.shard_and_index(), (shard, index as usize));
            }
        }
    }

    /// Wakers that panic with a payload whose `Drop` panics too do not stop the others, in
    /// the slab or the overflow: every waker is woken, and the first panic comes out.
    #[test]
    fn panicking_wakers_with_panicking_payloads_do_not_stop_the_others() {
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("the payload's drop panics");
            }
        }
        struct Bomb;
        impl Wake for Bomb {
            fn wake(self: Arc<Self>) {
                std::panic::panic_any(PanicsOnDrop);
            }
        }
        let (count, counted) = counting();
        let bomb = Waker::from(Arc::new(Bomb));
        let mut w = Waiters::new();
        for waker in [bomb.clone(), bomb.clone(), counted.clone()] {
            let mut key = WaiterKey::NONE;
            w.insert(&mut key, waker).unwrap();
        }
        let overflow = Overflow::new();
        for waker in [bomb, counted] {
            let mut key = WaiterKey::NONE;
            assert!(overflow.insert(&mut key, waker, || false).is_ok());
        }
        let mut taken = overflow.take_all();
        let first = w.wake_all::<false>(Some(&mut taken)).expect("a panic");
        assert!(first.is::<PanicsOnDrop>(), "the first panic comes out");
        std::mem::forget(first);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            2,
            "both counting wakers were woken"
        );
    }
}
