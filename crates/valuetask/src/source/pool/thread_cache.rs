//! This thread's cache of idle slots, type-erased: it holds one pool's slots at a time (the
//! pool it used last), with a strong count on that pool; `thread_cache`'s guard flushes it at
//! thread exit.

use super::*;

/// This thread's idle slots. `const`-initialized and without `Drop`, so reaching it is a
/// plain thread-local access; `thread_cache`'s guard flushes it at thread exit.
pub(super) struct ThreadCache {
    /// The `PoolShared` whose slots are cached (null when none). The cache holds a strong
    /// count on it, so while it is named here no other pool can be allocated at its address
    /// and be mistaken for it. Null while a flush runs, so nothing is cached or taken then.
    owner: Cell<*const ()>,
    /// `slots[..len]` are idle slots of `owner`, owned by the cache.
    slots: [Cell<*mut ()>; THREAD_CACHE],
    len: Cell<usize>,
    /// Returns one cached slot of `owner`'s type to its pool (shared list or free).
    spill: Cell<unsafe fn(NonNull<()>)>,
    /// Drops the cache's strong count on `owner`.
    release: Cell<unsafe fn(*const ())>,
    standing: Standing,
    /// A flush is running (see `flush`).
    flushing: Cell<bool>,
}

impl ThreadCache {
    /// Give the cached slots back to their pool and let go of it. Idle slots hold no result
    /// and no waker, so spilling runs no user code today; still, `owner` is null and
    /// `flushing` set meanwhile, so a nested rent or return (were a drop ever to run one)
    /// bypasses the cache and cannot change what is being flushed.
    pub(super) fn flush(&self) {
        if self.flushing.replace(true) {
            return;
        }
        let owner = self.owner.replace(std::ptr::null());
        let (spill, release) = (self.spill.get(), self.release.get());
        while self.len.get() > 0 {
            let len = self.len.get() - 1;
            self.len.set(len);
            // SAFETY: the slot was cached (owned by the cache) and is of `owner`'s type; it
            // is no longer in the cache.
            unsafe { spill(NonNull::new_unchecked(self.slots[len].get())) };
        }
        if !owner.is_null() {
            // SAFETY: the cache's own strong count, taken when it named `owner`.
            unsafe { release(owner) };
        }
        self.flushing.set(false);
    }
}

/// Gives this thread's cached slots back when the thread exits.
fn flush_cache() {
    let _ = CACHE.try_with(|cache| {
        cache.standing.set_exiting();
        cache.flush();
    });
}

/// # Safety
/// `slot` is an owned, idle `Slot<T>`.
unsafe fn spill_slot<T>(slot: NonNull<()>) {
    put_shared(SlotPtr(slot.cast::<Slot<T>>()));
}

unsafe fn no_spill(_: NonNull<()>) {}

/// # Safety
/// `owner` came from `Arc::<PoolShared<T>>::as_ptr` and the caller owns one strong count.
unsafe fn release_owner<T>(owner: *const ()) {
    // SAFETY: per the caller.
    unsafe { Arc::decrement_strong_count(owner.cast::<PoolShared<T>>()) };
}

unsafe fn no_release(_: *const ()) {}

thread_local! {
    pub(super) static CACHE: ThreadCache = const {
        ThreadCache {
            owner: Cell::new(std::ptr::null()),
            slots: [const { Cell::new(std::ptr::null_mut()) }; THREAD_CACHE],
            len: Cell::new(0),
            spill: Cell::new(no_spill),
            release: Cell::new(no_release),
            standing: Standing::new(),
            flushing: Cell::new(false),
        }
    };
}

/// An idle slot of the pool named `id` (`Arc::as_ptr` of its shared part, whose slots are
/// `Slot<T>`) from this thread's cache, if the cache holds that pool's slots.
#[inline]
pub(super) fn take_cached<T>(id: usize) -> Option<SlotPtr<T>> {
    // Loom runs model threads on one OS thread: a real thread-local would outlive the model.
    if cfg!(valuetask_loom) {
        return None;
    }
    CACHE
        .try_with(|cache| {
            let len = cache.len.get();
            if cache.owner.get() as usize != id || len == 0 {
                return None;
            }
            cache.len.set(len - 1);
            // SAFETY: `slots[..len]` are non-null idle slots of `owner`, which is `id`, and
            // `0 < len <= THREAD_CACHE`.
            Some(SlotPtr(unsafe {
                NonNull::new_unchecked(cache.slots.get_unchecked(len - 1).get().cast())
            }))
        })
        .ok()
        .flatten()
}

/// Keep `slot` in this thread's cache; hand it back when the cache is full, flushing, or
/// gone.
#[inline]
pub(super) fn put_cached<T>(slot: NonNull<Slot<T>>) -> Result<(), SlotPtr<T>> {
    if cfg!(valuetask_loom) {
        return Err(SlotPtr(slot));
    }
    // SAFETY: `slot` is owned and alive.
    let id = unsafe { slot.as_ref() }.pool.id();
    let kept = CACHE.try_with(|cache| {
        let len = cache.len.get();
        if cache.owner.get() == id && len < THREAD_CACHE {
            cache.slots[len].set(slot.as_ptr().cast());
            cache.len.set(len + 1);
            true
        } else {
            put_cached_slow(cache, slot)
        }
    });
    match kept {
        Ok(true) => Ok(()),
        _ => Err(SlotPtr(slot)),
    }
}

/// `put_cached` when the cache names another pool (or none), is full, or is being flushed.
#[cold]
fn put_cached_slow<T>(cache: &ThreadCache, slot: NonNull<Slot<T>>) -> bool {
    // SAFETY: `slot` is owned and alive.
    let pool = &unsafe { slot.as_ref() }.pool;
    let id = pool.id();
    if !cache.standing.register(flush_cache) {
        return false;
    }
    if cache.owner.get() == id || cache.flushing.get() {
        return false; // full, or a flush is running
    }
    // Switch pools: the previous pool's slots go back to it, and the cache takes a strong
    // count on the new one (kept alive, its address cannot be reused by another pool, of
    // another `T`, while the cache names it). Nested calls during the flush bypass the cache.
    cache.flush();
    debug_assert!(cache.owner.get().is_null() && cache.len.get() == 0);
    // The cache's own count, released by `flush`.
    std::mem::forget(pool.arc());
    cache.owner.set(id);
    cache.spill.set(spill_slot::<T>);
    cache.release.set(release_owner::<T>);
    cache.slots[0].set(slot.as_ptr().cast());
    cache.len.set(1);
    true
}

/// The consumer's poll of a rented slot whose generation is complete, when this thread's
/// cache names the slot's pool (open or closed: see below) and has room: recycle the slot,
/// keep it in the cache and move the result out, all inlined into `ValueTask::poll` (the same
/// steps as `Slot::poll`'s fast path, without the call through the header, so the result
/// goes straight into the caller's value). `None` when any of that does not hold: nothing was
/// touched, and the caller polls the slot through its header.
///
/// # Safety
/// `header` starts a rented `Slot<T>` with `O = TaskOutput<T>`, and the caller is its consumer.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn take_completed<O>(header: NonNull<Header<O>>) -> Option<O> {
    // Loom runs model threads on one OS thread: no thread cache there (see `take_cached`).
    if cfg!(valuetask_loom) {
        return None;
    }
    // SAFETY: per the caller, a live `Slot<T>`, which starts with a `SlotHead<O>`.
    let slot = unsafe { header.cast::<SlotHead<O>>().as_ref() };
    // First the one check that a pending slot (a first poll) fails, before anything else.
    let seen = slot.core.head.completed_untaken()?;
    let pool = slot.pool;
    let recycled = CACHE
        .try_with(|cache| {
            let len = cache.len.get();
            if cache.owner.get() != pool.as_ptr().cast_const().cast() || len >= THREAD_CACHE {
                return false;
            }
            // The pool is not checked for `closed`: the cache names it, so holds a strong
            // count on it, and a closed pool's cached slots are freed at the next flush (at
            // most `THREAD_CACHE` of them, as for slots cached before the pool closed).
            //
            // SAFETY: we are the slot's only consumer, and nobody else resets or recycles it
            // while we live (see `Slot::poll`); `seen` is the state just loaded, and nothing
            // ran on the core since.
            unsafe { slot.core.head.recycle_completed(seen) };
            // Recycled: the slot is ours, and goes in this thread's cache (named for its
            // pool, with room), where only this thread can rent it again.
            //
            // SAFETY: `len < THREAD_CACHE`, checked above.
            unsafe { cache.slots.get_unchecked(len) }.set(header.as_ptr().cast());
            cache.len.set(len + 1);
            true
        })
        .unwrap_or(false);
    // The result is read outside the closure, once the branch is decided: read inside and
    // returned as an `Option`, its tag was compared against the `None` niches after the load
    // (2 instructions more per (f) cycle).
    //
    // SAFETY: recycled just above, and untouched since: nothing between here and the recycle
    // could rent, complete or free it (only this thread can rent from its cache).
    recycled.then(|| unsafe { slot.core.head.read_recycled_result() })
}
