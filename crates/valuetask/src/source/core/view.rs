//! The single-consumer pooled fast paths: a `CompletionPool` slot's consumer polls, recycles
//! and reads its core without the lock, through the core's type (`recycle`, `abandon_consumer`)
//! or through `CoreView`/`CoreHead`, the core seen by its output type alone, which is what
//! `ValueTask::poll` knows of a slot. Sound only under the module invariants of `core.rs`
//! (one consumer per pooled generation, nobody else resets it).

use super::*;

impl<T> ManualResetValueTaskSourceCore<T> {
    /// The consumer's poll of a pooled slot: like `poll_result` of the current generation,
    /// but on `Ready` the slot is already recycled (a new generation, empty: version 0 on the
    /// fast path, the next version on the general one). A completed result
    /// is read without `LOCKED` and the next generation is published with one Release store.
    ///
    /// # Safety
    /// This consumer is the only one for the current generation, which is its own: nobody
    /// else resets or recycles the core while it lives (the completer recycles only a
    /// generation whose consumer said `CONSUMER_GONE`, which only this consumer's release
    /// does), so the version it was rented at is the one loaded here; and the completer is
    /// done once it published `COMPLETE` (it holds no reference after).
    #[inline]
    pub(crate) unsafe fn sole_consumer_poll(&self, cx: &mut Context<'_>) -> Poll<TaskOutput<T>> {
        // SAFETY: per the caller.
        if unsafe { self.sole_consumer_recycle_completed() } {
            // SAFETY: just recycled, and nothing touched the core since.
            return Poll::Ready(unsafe { self.read_recycled_result() });
        }
        let token = version_of(self.head.state.load(Ordering::Acquire));
        // Unique by construction: not any record's consumer this thread may be polling for.
        let polled = Consumer::polling(0, || self.poll_result(token, cx));
        if polled.is_ready() {
            // SAFETY: taken, so both halves are done: the slot is ours (per the caller). The
            // result was taken and the completer took the waker: nothing is left to drop.
            drop(unsafe { self.recycle() });
        }
        polled
    }

    /// The unique consumer's fast path, first half (see [`CoreHead::sole_consumer_recycle_completed`]).
    ///
    /// # Safety
    /// As for [`CoreHead::sole_consumer_recycle_completed`].
    #[inline]
    pub(crate) unsafe fn sole_consumer_recycle_completed(&self) -> bool {
        // SAFETY: per the caller.
        unsafe { self.head.sole_consumer_recycle_completed() }
    }

    /// The fast path's second half (see [`CoreHead::read_recycled_result`]).
    ///
    /// # Safety
    /// As for [`CoreHead::read_recycled_result`].
    #[inline]
    pub(crate) unsafe fn read_recycled_result(&self) -> TaskOutput<T> {
        // SAFETY: per the caller.
        unsafe { self.head.read_recycled_result() }
    }

    /// The consumer gives up before taking the result. Returns `true` when the consumer must
    /// recycle the slot (the generation is complete); `false` when the completer will (it sees
    /// `CONSUMER_GONE`). A completer waiting for this (`PRODUCER_WAITING`) is woken: its waker
    /// is what `take_producer_waker` moves out of the slot, called under `LOCKED`.
    pub(crate) fn abandon_consumer(
        &self,
        take_producer_waker: impl FnOnce() -> Option<Waker>,
    ) -> bool {
        // The wakers are moved out under the lock, and woken or dropped after it.
        let (recycle, _waker, producer) = self.locked(|this, state| {
            if state & COMPLETE != 0 {
                (state, (true, None, None))
            } else {
                // SAFETY: we hold `LOCKED`.
                let waker = this.waker.with_mut(|w| unsafe { (*w).take() });
                let producer = if state & PRODUCER_WAITING != 0 {
                    take_producer_waker()
                } else {
                    None
                };
                let next = (state | CONSUMER_GONE) & !(HAS_WAKER | PRODUCER_WAITING);
                (next, (false, waker, producer))
            }
        });
        if let Some(producer) = producer {
            // The consumer may be a value task dropped during an unwind, where a panic of this
            // wake would abort: it is discarded then, as the completer's abandoning drop
            // discards its awaiter's (`source/pool.rs`). Only a pending generation's completer
            // waits, so the slot stays the completer's to recycle either way.
            if let Err(panic) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| producer.wake()))
            {
                crate::catch_panic::resume_unless_unwinding(panic);
            }
        }
        recycle
    }

    /// The completer of a pooled generation waits for its consumer to go
    /// (`Completer::poll_closed`): `true` when it is gone; else `cx`'s waker is kept in
    /// `place` (the slot's, beside the core), `PRODUCER_WAITING` set, for
    /// [`abandon_consumer`](Self::abandon_consumer) to wake. A waker already kept that wakes
    /// the same task is left as it is; wakers are cloned and dropped outside the lock.
    ///
    /// # Safety
    /// The caller is the generation's one completer, which has not completed it, and
    /// `place` is the slot's producer waker, touched only under `LOCKED` (or by the slot's
    /// exclusive owner).
    pub(crate) unsafe fn wait_consumer_gone(
        &self,
        cx: &Context<'_>,
        place: &UnsafeCell<Option<Waker>>,
    ) -> bool {
        let state = self.head.state.load(Ordering::Acquire);
        if state & CONSUMER_GONE != 0 {
            return true;
        }
        let mut fresh = (state & PRODUCER_WAITING == 0).then(|| cx.waker().clone());
        loop {
            let (gone, replaced, clone) = self.locked(|_, cur| {
                if cur & CONSUMER_GONE != 0 {
                    return (cur, (true, None, false));
                }
                // SAFETY: we hold `LOCKED`.
                place.with_mut(|p| unsafe {
                    match &mut *p {
                        Some(kept) if kept.will_wake(cx.waker()) => (cur, (false, None, false)),
                        kept => match fresh.take() {
                            Some(fresh) => {
                                let replaced = kept.replace(fresh);
                                (cur | PRODUCER_WAITING, (false, replaced, false))
                            }
                            None => (cur, (false, None, true)),
                        },
                    }
                })
            });
            drop(replaced);
            if !clone {
                drop(fresh);
                return gone;
            }
            fresh = Some(cx.waker().clone());
        }
    }

    /// True when the consumer abandoned this generation (pooled sources).
    pub(crate) fn consumer_gone(&self) -> bool {
        self.head.state.load(Ordering::Acquire) & CONSUMER_GONE != 0
    }

    /// Start the next generation of a pooled slot. Returns what the finished generation left
    /// (an untaken result, a waker) for the caller to drop once the slot is kept: a panicking
    /// `Drop` then cannot lose the slot.
    ///
    /// # Safety
    /// The caller owns the slot exclusively: the consumer and completer of the current
    /// generation are both done.
    #[inline]
    pub(crate) unsafe fn recycle(&self) -> Leftovers<T> {
        let state = self.head.state.load(Ordering::Acquire);
        // SAFETY: exclusive per the caller; the next state below forgets the result.
        let result = unsafe { self.take_result(state) };
        // SAFETY: exclusive per the caller.
        let waker = self.waker.with_mut(|w| unsafe { (*w).take() });
        let next = with_version(version_of(state).wrapping_add(1), state & CONFIG);
        self.head.state.store(next, Ordering::Release);
        Leftovers {
            _result: result,
            _waker: waker,
        }
    }
}

impl<O> CoreView<O> {
    /// [`ManualResetValueTaskSourceCore::status`], for a core seen through its output type.
    #[track_caller]
    pub(crate) fn status(&self, token: u32) -> SourceStatus {
        let state = self.head.state.load(Ordering::Acquire);
        if version_of(state) != token {
            wrong_token("status", token, version_of(state));
        }
        status_of(state)
    }

    /// The consumer's fast path through a value task that borrows the core: if generation
    /// `token` is complete, its result untaken and the core unlocked, take the result (one
    /// CAS for `LOCKED`, the result read in words, one Release store that says `TAKEN`).
    /// `None` when any of that does not hold (pending, a stale token, taken, or busy):
    /// nothing was touched, and the caller polls with [`poll_result`](Self::poll_result),
    /// which waits, registers or panics as the state says.
    ///
    /// A generation that names a consumer (`NAMED`: one registered and was woken) is left to
    /// `poll_result` too, which tells that consumer from a second one: the fast path stays
    /// the state check it was (one mask), for the result that lands before the first poll.
    #[inline]
    pub(crate) fn take_completed(&self, token: u32) -> Option<O> {
        let cur = self.head.state.load(Ordering::Acquire);
        if version_of(cur) != token || cur & (COMPLETE | TAKEN | LOCKED | NAMED) != COMPLETE {
            return None;
        }
        self.head
            .state
            .compare_exchange(cur, cur | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        let result = &self.head.result;
        // SAFETY: we hold `LOCKED` on generation `token`, `COMPLETE` and not `TAKEN`: the
        // result is initialized and ours to move out, once. In words: a completion on this
        // thread may still be in the store buffer (see `forwarding`).
        let out = result.with(|r| unsafe { read_in_words((*r).as_ptr()) });
        self.head.state.store(cur | TAKEN, Ordering::Release);
        Some(out)
    }

    #[track_caller]
    pub(crate) fn poll_result(&self, token: u32, cx: &mut Context<'_>) -> Poll<O> {
        // Wakers are cloned and dropped outside the lock (executor code must not run under
        // it): a first registration, the common case, clones before taking it; a different
        // waker found under the lock releases it unchanged, clones, and retries.
        let state = self.head.state.load(Ordering::Relaxed);
        let mut fresh = (state & (HAS_WAKER | COMPLETE) == 0).then(|| cx.waker().clone());
        loop {
            // The check refuses (and this panics, at the `#[track_caller]` chain's first caller
            // outside it: a direct `poll_result`'s, not a value task's awaiter) before locking.
            let locked = self.head.lock(0, |cur| match version_of(cur) {
                version if version != token => Err(Some(version)),
                _ if cur & TAKEN != 0 => Err(None),
                _ => Ok(()),
            });
            let cur = match locked {
                Ok(cur) => cur,
                Err(Some(version)) => wrong_token("poll_result", token, version),
                Err(None) => taken_twice(token),
            };
            // We hold `LOCKED` on generation `token`.
            let me = Consumer::current();
            // SAFETY: we hold `LOCKED`.
            let them = self.consumer.with(|c| unsafe { *c });
            // One consumer per generation: a value task that registered (`NAMED`: known, its
            // result not taken, not withdrawn) and another known one polling, complete or
            // not. Checked before `will_wake`, which two value tasks polled by one task
            // would pass.
            if cur & NAMED != 0 && me != 0 && me != them {
                // Nobody else writes the state word while we hold `LOCKED`: `cur` is it.
                self.head.state.store(cur, Ordering::Release);
                drop(fresh);
                second_consumer(token);
            }
            if cur & COMPLETE != 0 {
                if fresh.is_some() {
                    // Completed since the first load (or by the clone itself). Release the
                    // lock unchanged, drop the clone, and take the result on the next turn:
                    // no executor code runs between moving the result out and returning it,
                    // so a waker whose drop panics leaves the result untaken, not taken by a
                    // poll that never returned it (a pooled slot would then never recycle).
                    self.head.state.store(cur, Ordering::Release);
                    drop(fresh.take());
                    continue;
                }
                let result = &self.head.result;
                // SAFETY: we hold `LOCKED`; `COMPLETE` and not `TAKEN` means initialized. Read
                // in words: a completion on this thread may still be in the store buffer.
                let out = result.with(|r| unsafe { read_in_words((*r).as_ptr()) });
                self.head
                    .state
                    .store((cur | TAKEN) & !NAMED, Ordering::Release);
                return Poll::Ready(out);
            }
            // SAFETY: we hold `LOCKED`.
            let registered = self.waker.with_mut(|w| unsafe {
                match &mut *w {
                    Some(existing) if existing.will_wake(cx.waker()) => Some(None),
                    slot => fresh.take().map(|fresh| slot.replace(fresh)),
                }
            });
            if registered.is_some() {
                // SAFETY: we hold `LOCKED`.
                self.consumer.with_mut(|c| unsafe { *c = me });
            }
            match registered {
                Some(replaced) => {
                    // `NAMED` when a known value task is `consumer` now.
                    let named = if me != 0 { NAMED } else { 0 };
                    let next = (cur & !NAMED) | HAS_WAKER | named;
                    self.head.state.store(next, Ordering::Release);
                    drop(replaced);
                    return Poll::Pending;
                }
                None => {
                    // Nobody else writes the state word while we hold `LOCKED`: `cur` is it.
                    self.head.state.store(cur, Ordering::Release);
                    fresh = Some(cx.waker().clone());
                }
            }
        }
    }

    /// The consumer `me` (a value task being dropped: [`Consumer`]'s id of it) gives up its
    /// registration in generation `token`, if it has one there (`NAMED`, `consumer` is `me`):
    /// its waker, if the generation is still waiting, is dropped, and the generation has no
    /// consumer, so another value task may await it (or, complete, take its result).
    /// Anything else (another generation, another consumer's registration, an unknown
    /// consumer, 0, a result taken) is left as it is. One load when there is nothing to
    /// withdraw.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn withdraw(&self, token: u32, me: usize) {
        if me != 0 && named(self.head.state.load(Ordering::Acquire), token) {
            self.withdraw_named(token, me);
        }
    }

    /// [`withdraw`](Self::withdraw) once a load saw a known consumer named in generation
    /// `token`.
    #[cold]
    #[inline(never)]
    fn withdraw_named(&self, token: u32, me: usize) {
        let locked = self
            .head
            .lock(0, |cur| if named(cur, token) { Ok(()) } else { Err(()) });
        let Ok(cur) = locked else {
            return;
        };
        // We hold `LOCKED` on generation `token`, which names a consumer: before completion
        // it has a waker (`NAMED` implies `HAS_WAKER` there), after it the completer took it.
        // SAFETY: we hold `LOCKED`.
        let mine = self.consumer.with(|c| unsafe { *c }) == me;
        let waiting = cur & COMPLETE == 0;
        let withdrawn = mine.then(|| {
            // SAFETY: we hold `LOCKED`.
            self.consumer.with_mut(|c| unsafe { *c = 0 });
            // SAFETY: we hold `LOCKED`; `HAS_WAKER` means `Some`, cleared in the same store.
            waiting.then(|| self.waker.with_mut(|w| unsafe { (*w).take() }))
        });
        let after = match (mine, waiting) {
            (true, true) => cur & !(NAMED | HAS_WAKER),
            (true, false) => cur & !NAMED,
            (false, _) => cur,
        };
        self.head.state.store(after, Ordering::Release);
        // Executor code runs outside the lock.
        drop(withdrawn);
    }
}

/// Whether state `cur` is generation `token` with a known consumer named (`NAMED`).
#[cfg_attr(not(debug_assertions), inline(always))]
fn named(cur: u64, token: u32) -> bool {
    version_of(cur) == token && cur & NAMED != 0
}

impl<O> CoreHead<O> {
    /// Take `LOCKED` (plus `bits`) by CAS, spinning while another thread holds it. `check`
    /// sees each candidate state first and may refuse it (`Err`) or panic. Returns the state
    /// before the lock; the holder releases with a Release store of the new state.
    pub(super) fn lock<E>(
        &self,
        bits: u64,
        mut check: impl FnMut(u64) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut spins = 0;
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            check(cur)?;
            if cur & LOCKED != 0 {
                spin_wait(&mut spins);
                cur = self.state.load(Ordering::Acquire);
                continue;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | LOCKED | bits,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(cur),
                Err(actual) => cur = actual,
            }
        }
    }

    /// The state, if the current generation is complete (and so its result untaken): the one
    /// load a unique consumer's poll needs to know whether the fast path applies, kept for
    /// [`recycle_completed`](Self::recycle_completed). Only `COMPLETE` is tested: a pooled
    /// slot's generation never shows `TAKEN` to its consumer's next poll, because the poll
    /// that takes the result also recycles the slot (`sole_consumer_poll`), and nobody
    /// else takes it (2 instructions a cycle fewer than testing both bits).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn completed_untaken(&self) -> Option<CompletedState> {
        let state = self.state.load(Ordering::Acquire);
        debug_assert!(
            state & TAKEN == 0,
            "a unique consumer's generation is recycled as its result is taken"
        );
        (state & COMPLETE != 0).then_some(CompletedState(state))
    }

    /// The unique consumer's fast path, first half: if the generation is complete and its
    /// result untaken, start the next generation (one Acquire load, one Release store) and
    /// return `true`. The result stays where it is, moved out in all but fact: the caller
    /// moves it out with [`read_recycled_result`](Self::read_recycled_result), once, before
    /// anything else touches the core. In between, the caller may put the slot in its thread's
    /// cache, so the result can move straight into the caller's return value.
    ///
    /// # Safety
    /// As for [`ManualResetValueTaskSourceCore::sole_consumer_poll`]; and after `true`,
    /// the caller moves the result out with `read_recycled_result` exactly once, before the
    /// slot can be rented again or is freed. (Read after a new renter completed it, it would
    /// move out that generation's result, which its consumer moves out again. Never read, it
    /// only leaks.)
    #[inline]
    pub(crate) unsafe fn sole_consumer_recycle_completed(&self) -> bool {
        match self.completed_untaken() {
            Some(seen) => {
                // SAFETY: per the caller.
                unsafe { self.recycle_completed(seen) };
                true
            }
            None => false,
        }
    }

    /// Start the next generation of a completed one whose result is untaken, `seen` by
    /// [`completed_untaken`](Self::completed_untaken): one Release store. `COMPLETE` was seen
    /// with Acquire, so the result is initialized and the completer no longer touches the
    /// core (it took the waker: it clears `HAS_WAKER`, so nothing else needs dropping), and
    /// nobody but the unique consumer writes the state word until the next rent: `seen` is
    /// still the state. The next generation starts empty; the result is the caller's now.
    ///
    /// # Safety
    /// As for [`sole_consumer_recycle_completed`](Self::sole_consumer_recycle_completed) returning `true`;
    /// `seen` is this generation's, and nothing ran on the core since it was loaded.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn recycle_completed(&self, seen: CompletedState) {
        // A pooled slot's core is made with `new()` and never has configuration flags; and no
        // token is handed out for a pooled generation (its value task holds the slot itself),
        // nor can anyone but the slot's owner reach it between generations. So the next
        // generation starts from the zero state, version 0 and no flag, with a store that does
        // not depend on `seen` (one instruction where bumping the version took four).
        debug_assert_eq!(
            seen.0 & CONFIG,
            0,
            "a pooled slot has no configuration flags"
        );
        self.state.store(0, Ordering::Release);
    }

    /// The fast path's second half: move out the result of the generation that
    /// [`sole_consumer_recycle_completed`](Self::sole_consumer_recycle_completed) just recycled.
    ///
    /// # Safety
    /// `sole_consumer_recycle_completed` returned `true`, this is the one call for it, and nothing
    /// touched the core in between (no rent, no completion, no drop).
    #[inline]
    pub(crate) unsafe fn read_recycled_result(&self) -> O {
        // SAFETY: per the caller, the result that was complete and untaken is still in place
        // and nobody else reads or writes it; it is moved out once. In words: the completion
        // that wrote it is often this thread's, moments ago (see `forwarding`).
        self.result
            .with(|r| unsafe { read_in_words((*r).as_ptr()) })
    }
}
