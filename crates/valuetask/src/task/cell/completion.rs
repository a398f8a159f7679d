//! Completion: the claim, the output's publication with `COMPLETE`, and the waking of the
//! registered awaiters (inline, or from the continuation thread); the source count, whose
//! last drop completes an abandoned cell. The rules are the cell's invariants (`cell.rs`).

use super::*;

impl<O> RawTask<O> {
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
        if let Some(before) = self.cell().state.claim_idle() {
            self.publish(before, make(), outcome);
            return true;
        }
        self.complete_with_slow(outcome, make)
    }

    /// [`complete_with`](Self::complete_with) when the inline claim did not succeed.
    #[cold]
    #[inline(never)]
    fn complete_with_slow(&self, outcome: Outcome, make: impl FnOnce() -> O) -> bool {
        match self.cell().state.claim_slow() {
            Some(before) => {
                self.publish(before, make(), outcome);
                true
            }
            None => false,
        }
    }

    /// First half of completing: one CAS sets `CLAIMED` and `LOCKED` together, or `None` if
    /// some completer claimed the cell already. Returns the state before.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn claim(&self) -> Option<Snapshot> {
        let state = &self.cell().state;
        state.claim_idle().or_else(|| state.claim_slow())
    }

    /// Second half: with `CLAIMED` and `LOCKED` set by [`claim`](Self::claim) (`before` is
    /// the state it replaced), write the output, publish `COMPLETE`, and wake the waiters.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn publish(&self, before: Snapshot, output: O, outcome: Outcome) {
        self.publish_as(before, output, outcome, false);
    }

    /// [`publish`](Self::publish); `later` hands the waiters to the continuation thread
    /// whatever the cell's mode.
    #[cfg_attr(not(debug_assertions), inline(always))]
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
        // Release publishes the output and the emptied slot.
        cell.state.publish_complete(before, outcome);
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
        crate::continuation_thread::wake_later(move || {
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
    /// `unheld`: no handle but the library's own holds the cell, so a fault it completes
    /// with is observed (not reported) as it lands, before any panic resumes. `later`: as
    /// [`try_complete_later`](Self::try_complete_later).
    pub(crate) fn try_complete_in_drop(
        &self,
        output: O,
        outcome: Outcome,
        unheld: bool,
        later: bool,
    ) {
        let completed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = if later {
                self.try_complete_later(output, outcome)
            } else {
                self.try_complete(output, outcome)
            };
        }));
        if unheld {
            // Complete by us, or claimed by a racing completer, which may not have published
            // yet: then `observe` sees no outcome and marks nothing. The only completers that
            // can race the last source's drop cancel (`try_cancel`, `try_cancel_later`), and a
            // cancellation is never reported, so nothing is missed.
            self.observe(self.snapshot());
        }
        if let Err(panic) = completed {
            crate::catch_panic::resume_unless_unwinding(panic);
        }
    }

    /// Count one more `TaskCompletionSource`.
    pub(crate) fn add_source(&self) {
        if self.cell().sources.fetch_add(1, Ordering::Relaxed) > MAX_SOURCES {
            abort();
        }
    }

    /// Drop one `TaskCompletionSource`; true when it was the last.
    pub(crate) fn release_source(&self) -> bool {
        let sources = &self.cell().sources;
        // Only a source holder can add a source, so a count of one means no other exists.
        sources.load(Ordering::Acquire) == 1 || sources.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Make this handle one of the library's own (`task::InternalHandle`), held for its own
    /// work (a watcher's): not a handle anyone could observe a fault through. One RMW moves
    /// it from the handles to the internal ones, so no look sees it twice or not at all.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn add_internal(&self) {
        if is_static(self.ptr) {
            return;
        }
        let before = self
            .cell()
            .refs
            .fetch_add(ONE_INTERNAL - 1, Ordering::Release);
        if before >> INTERNAL_SHIFT >= MAX_INTERNAL {
            abort(); // the count would reach the top bit, `MAX_REFS`' guard
        }
    }

    /// The library's own handle made by [`add_internal`](Self::add_internal) is a plain
    /// handle again (about to drop as one).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn remove_internal(&self) {
        if is_static(self.ptr) {
            return;
        }
        self.cell()
            .refs
            .fetch_sub(ONE_INTERNAL - 1, Ordering::Release);
    }

    /// Whether this is the cell's only reference: no other can appear, since only a holder
    /// clones one.
    pub(crate) fn is_only_handle(&self) -> bool {
        self.cell().refs.load(Ordering::Acquire) == 1
    }

    /// Whether a handle other than the sources' and the library's own holds the cell, asked
    /// by a source, or by the last one before it lets the sources' reference go: the sources
    /// hold one reference together, so a source dropping on another thread is never seen as
    /// a handle. One load: a handle becomes the library's own, or a plain one again, in one
    /// RMW of the same word. Only a static cell, complete from birth, has no sources.
    pub(crate) fn is_held_outside(&self) -> bool {
        self.cell().refs.load(Ordering::Acquire) & HANDLES_MASK > 1
    }

    /// Mark a complete cell's fault observed (nobody could observe it), so that it is not
    /// reported when the cell is freed. After `COMPLETE` nobody takes `LOCKED`, whose holder's
    /// plain-store unlock could lose the bit.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn observe_completed(&self) {
        let s = self.snapshot();
        if s.is_complete() {
            self.observe(s);
        }
    }
}
