//! Registration: an awaiter's poll of a task cell, its waker registered in the inline slot,
//! the slab or the overflow, re-registered with a new waker, or removed when the awaiter is
//! dropped. The rules are the cell's invariants (`cell.rs`) and the slab's and overflow's
//! (`slab.rs`, `waiters.rs`).

use super::*;

impl<O> RawTask<O> {
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
    /// the middle of it (re-check row (n16)'s instructions per round after changing it).
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
    #[cfg_attr(not(debug_assertions), inline(always))]
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
        // SAFETY: loaded after the cell was seen pending (the block may since have been
        // closed, or given back and serve another cell: it is type-stable, and the tag tells
        // them apart); our handle keeps the cell.
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
            if let Err(actual) = cell.state.try_lock_from(cur, held) {
                cur = actual;
                continue;
            }
            // SAFETY: we hold `LOCKED`, so the inline slot is ours alone.
            let vacant = cell.inline.with_mut(|slot| unsafe { (*slot).is_none() });
            if vacant {
                // SAFETY: as above.
                cell.inline.with_mut(|slot| unsafe { *slot = Some(fresh) });
                self.cell().state.unlock(held);
                *key = WaiterKey::INLINE;
                return Poll::Pending;
            }
            // The second awaiter: publish the slab, once, under `LOCKED`, with this awaiter's
            // waker in it already (a slot reserved before anyone else can reach the block). A
            // cell at an address too high for a tag (see `slab.rs`) goes without: to the
            // overflow.
            let Some(tag) = self.tag() else {
                self.cell().state.unlock(held);
                return self.register_past_slab(key, fresh, Snapshot(held & !LOCKED));
            };
            let (slab, index) = Slab::new_with_first(tag, fresh);
            cell.slab.store(slab.as_ptr(), Ordering::Relaxed);
            self.cell().state.unlock_setting(held, HAS_SLAB);
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
        // SAFETY: loaded after the cell was seen pending (the block may since have been
        // closed, or given back and serve another cell: it is type-stable, and the tag tells
        // them apart); our handle keeps the cell.
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
    #[cfg_attr(not(debug_assertions), inline(always))]
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
        let s = match self.cell().state.lock_unless(0, SLAB_WIDE) {
            Ok(held) => {
                // SAFETY: pending and `LOCKED`: the block is this cell's (the completer gives
                // it back only after `COMPLETE`), and its wide half is not open.
                let index = unsafe { Slab::open_wide_with_first(slab, tag, fresh) };
                self.cell().state.unlock_setting(held, SLAB_WIDE);
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
            match self.cell().state.lock_unless(0, HAS_OVERFLOW) {
                Ok(held) => {
                    let overflow = Box::into_raw(Overflow::new());
                    self.cell().overflow.store(overflow, Ordering::Release);
                    self.cell().state.unlock_setting(held, HAS_OVERFLOW);
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
            let Lock::Held(held) = self.cell().state.lock(0) else {
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
            self.cell().state.unlock(held);
            match registered {
                Ok(replaced) => {
                    drop(replaced);
                    return Poll::Pending;
                }
                Err(NeedsClone) => fresh = Some(waker.clone()),
            }
        }
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
        } else if let Lock::Held(held) = self.cell().state.lock(0) {
            let removed = if k == WaiterKey::INLINE {
                // SAFETY: we hold `LOCKED`.
                let waker = self
                    .cell()
                    .inline
                    .with_mut(|slot| unsafe { (*slot).take() });
                self.cell().state.unlock(held);
                waker
            } else {
                let index = k.slab_index();
                // SAFETY: we hold `LOCKED`, the cell is not complete, and the key's bit is
                // set; `remove` clears it (its Release orders the waker's read before the
                // next reservation of the slot).
                let waker = unsafe { Slab::remove(self.held_slab(), index) };
                self.cell().state.unlock(held);
                Some(waker)
            };
            drop(removed);
        }
    }
}
