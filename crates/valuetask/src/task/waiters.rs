//! The wakers of a pending task.
//!
//! - The first awaiter's: one inline slot in the cell, under the cell's `LOCKED` bit (see
//!   `cell.rs`). A task awaited by one task at a time needs nothing more.
//! - The next 128: the slab ([`Slab`], `slab.rs`), a block the second awaiter takes under
//!   `LOCKED` and publishes with `HAS_SLAB`. From then on an awaiter reserves a slot in its
//!   thread's shards of it with one CAS, without the lock and without writing the state word
//!   (but once per task, when its second half opens); the completer closes the shards once
//!   `COMPLETE` is published, takes the wakers and gives the block back, so a task awaited by
//!   up to 129 tasks, round after round, allocates nothing for its list in steady state. Its
//!   invariants are in `slab.rs`.
//! - Past 129: an overflow ([`Overflow`]) split into per-thread shards, each with its own lock
//!   and cache lines. Its pointer is published once, under `LOCKED`, with `HAS_OVERFLOW`, and
//!   stays until the cell is freed (`Cell::drop` recycles it): registrants may hold a
//!   reference to it without any lock. Four shards of 128 bytes each. Once it is published,
//!   new awaiters go straight to it, even if a slab slot was freed meanwhile.
//!
//! # Invariants (overflow)
//!
//! - A shard's slots are accessed only by the holder of that shard's `locked` flag. A
//!   registrant or remover checks `COMPLETE` under the shard lock and touches no slot once it
//!   is set; the completer publishes `COMPLETE` first and then takes each shard's slots under
//!   its lock. So a waker is either taken by the completer or never stored.
//! - No user code runs under a lock: wakers are cloned before and dropped after it, and an
//!   overflow's are woken only after all of it was taken (the inline waker and each slab
//!   shard's are woken as they are taken, before the later shards close: `slab.rs`). The one
//!   call under a lock is the allocator.
//!
//! Each awaiting future owns a [`WaiterKey`] naming its slot, so a re-poll replaces its own
//! waker (after `will_wake`) instead of growing the list, and a dropped future frees its slot.
//! A key is dead once the task completes. Never push a waker without a key.

#[cfg(not(valuetask_loom))]
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

use super::slab::{Slab, TakenSlab};
use super::state::SLAB_SLOTS as SLAB;
use crate::catch_panic::{wake_caught, Panic};
use crate::sync::{broken_under_lock, spin_wait, thread_number, AtomicBool, Ordering, UnsafeCell};
#[cfg(not(valuetask_loom))]
use crate::thread_cache::Standing;

/// Shards in an overflow (a power of two).
const SHARDS: usize = 4;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// Names one awaiter's slot; `WaiterKey::NONE` when not registered. 0 is the inline slot,
/// `1..=SLAB` the slab, and above that the overflow (shard and index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(u32);

impl WaiterKey {
    pub(crate) const NONE: WaiterKey = WaiterKey(u32::MAX);
    pub(crate) const INLINE: WaiterKey = WaiterKey(0);
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

    /// Slab slot `index`.
    #[inline]
    pub(crate) const fn slab(index: usize) -> Self {
        debug_assert!(index < SLAB);
        WaiterKey(index as u32 + 1)
    }

    /// The slot of a slab key.
    #[inline]
    pub(crate) fn slab_index(self) -> usize {
        debug_assert!(!self.is_none() && !self.is_overflow() && self != Self::INLINE);
        self.0 as usize - 1
    }

    /// Slot `index` of overflow shard `shard`.
    #[inline]
    fn overflowed(shard: usize, index: u32) -> Self {
        let key = (u64::from(index) << SHARD_BITS | shard as u64) + u64::from(Self::FIRST_OVERFLOW);
        match u32::try_from(key) {
            Ok(key) if key != u32::MAX => WaiterKey(key),
            // Called under a lock: a panic would leave it held.
            _ => broken_under_lock("more than a billion concurrent awaiters of one task"),
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
pub(crate) fn store(
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
pub(crate) fn replace(
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

/// Wake the inline waker, the slab's (`slab`: the block, closed here shard by shard, and
/// whether its wide half is open) and the overflow's (taken from it): the completer's path.
/// Plain loops, not the chained iterator of [`wake_in_turn`]: every awaiter waits for this
/// loop, and the chain kept its state on the stack, at twice the instructions per waker. A
/// panicking waker does not stop the others: every waker is woken, and the first panic is
/// returned for the caller to resume.
///
/// # Safety
/// As for [`Slab::close_and_wake`], for `slab`.
#[must_use]
pub(crate) unsafe fn wake_all(
    inline: Option<Waker>,
    slab: Option<(NonNull<Slab>, bool)>,
    overflow: Option<&mut Taken>,
) -> Option<Panic> {
    let mut panic = None;
    if let Some(waker) = inline {
        wake_caught(waker, &mut panic);
    }
    if let Some((slab, wide)) = slab {
        // SAFETY: per the caller.
        unsafe { Slab::close_and_wake(slab, wide, &mut panic) };
    }
    if let Some(taken) = overflow {
        taken.wake_all(&mut panic);
    }
    panic
}

/// Wake the inline waker, the slab's and the overflow's (taken from it) from the continuation
/// thread (an asynchronous completion's), through `continuation_thread::wake_in_turn`, so that those
/// not woken yet move on if one of them blocks. Every waker is woken; the first panic is
/// returned for the caller to resume.
#[must_use]
pub(crate) fn wake_in_turn(
    inline: Option<Waker>,
    slab: Option<TakenSlab>,
    overflow: Option<&mut Taken>,
) -> Option<Panic> {
    let overflowed = overflow.into_iter().flat_map(|t| {
        t.0.iter_mut()
            .flat_map(|w| w.iter_mut().filter_map(Option::take))
    });
    crate::continuation_thread::wake_in_turn(
        inline
            .into_iter()
            .chain(slab.into_iter().flatten())
            .chain(overflowed),
    )
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

/// What this thread keeps of finished overflows, `const` and without drop glue (contents in
/// `ManuallyDrop`): `thread_cache`'s guard frees them when the thread exits.
#[cfg(not(valuetask_loom))]
struct Spares {
    /// Waker lists emptied by completions on this thread, for the shards of later overflows
    /// (an overflow lives as long as its task, but its lists are done with at completion): at
    /// most `SPARE_LISTS` lists of `SPARE_MAX_SLOTS` wakers, 32 KiB.
    lists: std::cell::Cell<ManuallyDrop<Vec<Vec<Option<Waker>>>>>,
    /// One emptied overflow, kept for the next task that needs one when its task is freed:
    /// its shards and their free lists (at most `SHARDS` × `SPARE_MAX_SLOTS` indexes, 4 KiB;
    /// its waker lists went back at completion).
    overflow: std::cell::Cell<Option<ManuallyDrop<Box<Overflow>>>>,
    standing: Standing,
}

#[cfg(not(valuetask_loom))]
thread_local! {
    static SPARES: Spares = const {
        Spares {
            lists: std::cell::Cell::new(ManuallyDrop::new(Vec::new())),
            overflow: std::cell::Cell::new(None),
            standing: Standing::new(),
        }
    };
}

/// Frees this thread's spares when the thread exits.
#[cfg(not(valuetask_loom))]
fn flush_spares() {
    let _ = SPARES.try_with(|spares| {
        spares.standing.set_exiting();
        drop(ManuallyDrop::into_inner(spares.lists.take()));
        drop(spares.overflow.take().map(ManuallyDrop::into_inner));
    });
}

/// Run `keep` on this thread's spares if they may keep something (registering their flush
/// the first time); `None` once the thread is exiting.
#[cfg(not(valuetask_loom))]
fn keep_in_spares<R>(keep: impl FnOnce(&Spares) -> R) -> Option<R> {
    SPARES
        .try_with(|spares| {
            (spares.standing.is_registered() || spares.standing.register(flush_spares))
                .then(|| keep(spares))
        })
        .ok()
        .flatten()
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

/// The overflow shard of the calling thread (see [`thread_number`]).
#[inline]
pub(crate) fn this_threads_shard() -> usize {
    thread_number() & (SHARDS - 1)
}

impl Overflow {
    /// An empty overflow: this thread's spare, else a new one.
    pub(crate) fn new() -> Box<Self> {
        #[cfg(not(valuetask_loom))]
        if let Ok(Some(spare)) = SPARES.try_with(|spares| spares.overflow.take()) {
            return ManuallyDrop::into_inner(spare);
        }
        Box::new(Overflow {
            shards: std::array::from_fn(|_| Shard::new()),
        })
    }

    /// Keep an overflow for reuse (the thread keeps one), unless it grew large. Its cell is
    /// being freed: `complete` if the completer took every waker; else (a cell that never
    /// completed, its awaiters' futures forgotten) the wakers still in it are dropped here.
    pub(crate) fn recycle(self: Box<Self>, complete: bool) {
        #[cfg(not(valuetask_loom))]
        {
            let mut too_big = false;
            for shard in &self.shards {
                too_big |= shard.slots.with_mut(|s| {
                    // SAFETY: the box is ours alone (its cell is being freed): no lock needed.
                    let s = unsafe { &mut *s };
                    debug_assert!(!complete || s.wakers.iter().all(Option::is_none));
                    // One at a time under a catch: see `Cell::drop_wakers_left`.
                    s.wakers
                        .drain(..)
                        .for_each(crate::catch_panic::drop_discarding);
                    s.free.clear();
                    s.wakers.capacity() > SPARE_MAX_SLOTS || s.free.capacity() > SPARE_MAX_SLOTS
                });
            }
            if too_big {
                return;
            }
            // Keep it unless one is kept already (then this one is freed).
            let _ = keep_in_spares(|spares| {
                let kept = spares.overflow.take();
                spares
                    .overflow
                    .set(Some(kept.unwrap_or_else(|| ManuallyDrop::new(self))));
            });
        }
        // Loom runs model threads on one OS thread: a real thread-local would outlive the model.
        #[cfg(valuetask_loom)]
        {
            let _ = complete;
            drop(self);
        }
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
    /// is handed back. Every awaiter past the 129th comes here once.
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
    /// moved out under its shard's lock, to be woken outside it ([`Taken::wake_all`]).
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
    if let Ok(Some(list)) = SPARES.try_with(|spares| {
        let mut lists = spares.lists.take();
        let list = lists.pop();
        spares.lists.set(lists);
        list
    }) {
        return list;
    }
    Vec::new()
}

impl Taken {
    /// Wake every waker taken, keeping the first panic in `panic` (see [`wake_caught`]).
    pub(crate) fn wake_all(&mut self, panic: &mut Option<Panic>) {
        for list in &mut self.0 {
            // Drained: emptied as it is read, so `recycle` need not clear it.
            for waker in list.drain(..).flatten() {
                wake_caught(waker, panic);
            }
        }
    }

    /// Keep the emptied lists on this thread for later overflows (bounded).
    pub(crate) fn recycle(self) {
        #[cfg(not(valuetask_loom))]
        let _ = keep_in_spares(|spares| {
            let mut lists = spares.lists.take();
            for mut list in self.0 {
                if list.capacity() > 0
                    && list.capacity() <= SPARE_MAX_SLOTS
                    && lists.len() < SPARE_LISTS
                {
                    list.clear();
                    lists.push(list);
                }
            }
            spares.lists.set(lists);
        });
    }
}

#[cfg(all(test, not(valuetask_loom)))]
pub(super) mod tests;
