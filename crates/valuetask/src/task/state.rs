//! The task cell's state word: named bits, a decoding `Snapshot`, the outcome encoding, and
//! [`State`], whose methods are the word's transitions (take and release `LOCKED`, claim,
//! publish `COMPLETE`, mark `OBSERVED`); the rules they keep are `cell.rs`'s invariants.
//!
//! Layout of the word (low bits):
//!
//! | bit | name | meaning |
//! |---|---|---|
//! | 0 | `CLAIMED` | a completer won the right to write the output; set once, never cleared |
//! | 1 | `COMPLETE` | the output is written and published (Release); readers Acquire it |
//! | 2 | `LOCKED` | the waiter list is held by one thread (registrant, remover or completer); nobody else writes the word meanwhile |
//! | 3 | `HAS_WAITERS` | the inline slot was taken since creation; the completer must look at it |
//! | 4-5 | outcome | 1 = ran to completion, 2 = faulted, 3 = canceled; written with `COMPLETE` |
//! | 6 | `ASYNC_CONTINUATIONS` | wake waiters from the continuation thread, not inline |
//! | 7 | `OBSERVED` | someone looked at a faulted output (await, `error`, `try_result`, `wait`) |
//! | 8 | `HAS_OVERFLOW` | the overflow (awaiters past 129) is published: new awaiters go there without taking `LOCKED`; set once, under `LOCKED` |
//! | 9 | `HAS_SLAB` | the slab (awaiters 2 to 129) is published: new awaiters reserve a slot in it without taking `LOCKED`, with a CAS on the slab's own words (see `slab.rs`); set once, under `LOCKED` |
//! | 10 | `SLAB_WIDE` | the slab's second half is tagged for this cell and open: awaiters may reserve there, and the completer closes it; set once, under `LOCKED` |
//! | 11 | `OUTPUT_TAKEN` | the last handle moved the output out (`Task::try_unwrap`): freeing the cell does not drop it; set once, by that handle alone, just before it frees the cell |

use std::fmt;

use crate::backing::SourceStatus;
use crate::sync::{spin_wait, AtomicUsize, Ordering};

pub(crate) const CLAIMED: usize = 1 << 0;
pub(crate) const COMPLETE: usize = 1 << 1;
pub(crate) const LOCKED: usize = 1 << 2;
pub(crate) const HAS_WAITERS: usize = 1 << 3;
const OUTCOME_SHIFT: u32 = 4;
const OUTCOME_MASK: usize = 0b11 << OUTCOME_SHIFT;
pub(crate) const ASYNC_CONTINUATIONS: usize = 1 << 6;
pub(crate) const OBSERVED: usize = 1 << 7;
pub(crate) const HAS_OVERFLOW: usize = 1 << 8;
pub(crate) const HAS_SLAB: usize = 1 << 9;
pub(crate) const SLAB_WIDE: usize = 1 << 10;
pub(crate) const OUTPUT_TAKEN: usize = 1 << 11;

/// Shards in the slab, each with its own reservation word: a thread reserves in its own first.
/// The first half is open from the start; the second opens with `SLAB_WIDE`. Under loom, two
/// shards of one slot: the models reach the slab with their second awaiter, open its second
/// half with their third, and reach the overflow with their fourth.
pub(crate) const SLAB_SHARDS: usize = if cfg!(valuetask_loom) { 2 } else { 8 };
/// The shards open from the start (the first half).
pub(crate) const NARROW_SHARDS: usize = SLAB_SHARDS / 2;
/// Slots per slab shard.
pub(crate) const SHARD_SLOTS: usize = if cfg!(valuetask_loom) { 1 } else { 16 };
/// Slots in the slab: with the inline one, 129 awaiters before the overflow.
pub(crate) const SLAB_SLOTS: usize = SLAB_SHARDS * SHARD_SLOTS;

/// How a completed cell ended; stored in the state word so `status()` is one load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    RanToCompletion = 1,
    Faulted = 2,
    Canceled = 3,
}

impl Outcome {
    /// The two-bit code both state words store (a task cell's here, a source core's in
    /// `source/core/encoding.rs`): 1, 2, 3; 0 is "not complete".
    #[inline]
    pub(crate) const fn code(self) -> usize {
        self as usize
    }

    /// The outcome of a non-zero code.
    #[inline]
    pub(crate) const fn from_code(code: usize) -> Self {
        match code {
            1 => Outcome::RanToCompletion,
            2 => Outcome::Faulted,
            _ => Outcome::Canceled,
        }
    }

    /// What a source reports for it (.NET `ValueTaskSourceStatus`).
    #[inline]
    pub(crate) const fn status(self) -> SourceStatus {
        match self {
            Outcome::RanToCompletion => SourceStatus::Succeeded,
            Outcome::Faulted => SourceStatus::Faulted,
            Outcome::Canceled => SourceStatus::Canceled,
        }
    }

    #[inline]
    pub(crate) const fn bits(self) -> usize {
        self.code() << OUTCOME_SHIFT
    }
}

/// A decoded copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    #[inline]
    pub(crate) const fn is_claimed(self) -> bool {
        self.0 & CLAIMED != 0
    }
    #[inline]
    pub(crate) const fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    #[inline]
    pub(crate) const fn is_locked(self) -> bool {
        self.0 & LOCKED != 0
    }
    #[inline]
    pub(crate) const fn has_waiters(self) -> bool {
        self.0 & HAS_WAITERS != 0
    }
    #[inline]
    pub(crate) const fn has_overflow(self) -> bool {
        self.0 & HAS_OVERFLOW != 0
    }
    #[inline]
    pub(crate) const fn has_slab(self) -> bool {
        self.0 & HAS_SLAB != 0
    }
    #[inline]
    pub(crate) const fn slab_wide(self) -> bool {
        self.0 & SLAB_WIDE != 0
    }
    #[inline]
    pub(crate) const fn is_observed(self) -> bool {
        self.0 & OBSERVED != 0
    }
    #[inline]
    pub(crate) const fn output_taken(self) -> bool {
        self.0 & OUTPUT_TAKEN != 0
    }
    #[inline]
    pub(crate) const fn async_continuations(self) -> bool {
        self.0 & ASYNC_CONTINUATIONS != 0
    }
    /// The outcome, if the cell is complete.
    #[inline]
    pub(crate) const fn outcome(self) -> Option<Outcome> {
        if !self.is_complete() {
            return None;
        }
        Some(Outcome::from_code((self.0 & OUTCOME_MASK) >> OUTCOME_SHIFT))
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("claimed", &self.is_claimed())
            .field("complete", &self.is_complete())
            .field("locked", &self.is_locked())
            .field("has_waiters", &self.has_waiters())
            .field("has_overflow", &self.has_overflow())
            .field("has_slab", &self.has_slab())
            .field("slab_wide", &self.slab_wide())
            .field("outcome", &self.outcome())
            .field("observed", &self.is_observed())
            .field("async_continuations", &self.async_continuations())
            .finish()
    }
}

/// The state word of a task cell, changed only through these transitions.
pub(crate) struct State(AtomicUsize);

/// A lock attempt on the waiter list.
#[must_use]
pub(crate) enum Lock {
    /// We hold `LOCKED`; the state word is this (with `LOCKED`) until we `unlock` it.
    Held(usize),
    /// The cell completed: the list is gone, read the output instead.
    Completed,
}

impl State {
    pub(crate) fn new(bits: usize) -> Self {
        Self(AtomicUsize::new(bits))
    }

    /// A state for a `static` cell.
    #[cfg(not(valuetask_loom))]
    pub(crate) const fn new_static(bits: usize) -> Self {
        Self(AtomicUsize::new(bits))
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn load(&self, order: Ordering) -> usize {
        self.0.load(order)
    }

    /// Take `LOCKED` from the word `cur` (seen without it), as `held` (`cur`, `LOCKED` and any
    /// bits the holder sets with it): `Err` with the word seen instead if it changed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[must_use = "a failed CAS did not take the lock"]
    pub(crate) fn try_lock_from(&self, cur: usize, held: usize) -> Result<(), usize> {
        debug_assert_eq!(held & (cur | LOCKED), cur | LOCKED);
        self.0
            .compare_exchange_weak(cur, held, Ordering::Acquire, Ordering::Acquire)
            .map(drop)
    }

    /// Take `LOCKED` (setting `extra` with it), spinning while another holder has it, or
    /// [`Lock::Completed`] once the cell is complete.
    pub(crate) fn lock(&self, extra: usize) -> Lock {
        match self.lock_unless(extra, 0) {
            Ok(held) => Lock::Held(held),
            Err(_) => Lock::Completed,
        }
    }

    /// Take `LOCKED`, setting `extra` with it, and return the word as held; `Err` with the
    /// word seen instead once the cell is complete or any of the `stop` bits is set.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn lock_unless(&self, extra: usize, stop: usize) -> Result<usize, Snapshot> {
        let mut spins = 0;
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let s = Snapshot(cur);
            if s.is_complete() || cur & stop != 0 {
                return Err(s);
            }
            if s.is_locked() {
                spin_wait(&mut spins);
                cur = self.0.load(Ordering::Acquire);
                continue;
            }
            match self.try_lock_from(cur, cur | LOCKED | extra) {
                Ok(()) => return Ok(cur | LOCKED | extra),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Release `LOCKED` taken as `held`, setting `bits` in the same store (a structure
    /// published under the lock: `HAS_SLAB`, `SLAB_WIDE`, `HAS_OVERFLOW`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn unlock_setting(&self, held: usize, bits: usize) {
        debug_assert_eq!(self.0.load(Ordering::Relaxed), held);
        self.0.store((held | bits) & !LOCKED, Ordering::Release);
    }

    /// Release `LOCKED` taken as `held`. A plain store: while `LOCKED` is held nobody else
    /// writes the state word, so `held` is still its value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn unlock(&self, held: usize) {
        debug_assert_eq!(self.0.load(Ordering::Relaxed), held);
        self.0.store(held & !LOCKED, Ordering::Release);
    }

    /// The uncontended claim, inline: one load and one CAS setting `CLAIMED` and `LOCKED`
    /// together, or `None` with nothing changed for [`claim_slow`](Self::claim_slow) (a
    /// claimed or locked cell, or a failed CAS), so the completer's path keeps no spin state.
    /// Returns the state before.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[must_use]
    pub(crate) fn claim_idle(&self) -> Option<Snapshot> {
        let cur = self.0.load(Ordering::Relaxed);
        // Acquire: see the waiter list as the last unlock left it.
        (cur & (CLAIMED | LOCKED) == 0
            && self
                .0
                .compare_exchange_weak(
                    cur,
                    cur | CLAIMED | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok())
        .then_some(Snapshot(cur))
    }

    /// The claim when the cell was claimed or locked, or the idle CAS failed: the loop,
    /// spinning while `LOCKED` is held; `None` if some completer claimed the cell already.
    #[cold]
    #[inline(never)]
    #[must_use]
    pub(crate) fn claim_slow(&self) -> Option<Snapshot> {
        let mut spins = 0;
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let s = Snapshot(cur);
            if s.is_claimed() {
                return None;
            }
            if s.is_locked() {
                spin_wait(&mut spins);
                cur = self.0.load(Ordering::Relaxed);
                continue;
            }
            // Acquire: see the waiter list as the last unlock left it.
            match self.0.compare_exchange_weak(
                cur,
                cur | CLAIMED | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(s),
                Err(actual) => cur = actual,
            }
        }
    }

    /// The claimer publishes: `COMPLETE` and the outcome set and `LOCKED` released in one
    /// Release store (which publishes the output written before it). `before` is the word
    /// the claim replaced, still the whole state: nobody else writes it while `LOCKED` is
    /// held.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn publish_complete(&self, before: Snapshot, outcome: Outcome) {
        let done = (before.0 | CLAIMED | COMPLETE | outcome.bits()) & !LOCKED;
        self.0.store(done, Ordering::Release);
    }

    /// The last handle moved the complete output out: set `OUTPUT_TAKEN` (and `OBSERVED`: the
    /// output went to its owner). A plain store: nobody else reaches the cell any more.
    #[inline]
    pub(crate) fn mark_output_taken(&self, complete: Snapshot) {
        self.0
            .store(complete.0 | OUTPUT_TAKEN | OBSERVED, Ordering::Relaxed);
    }

    /// Someone looked at a faulted output: set `OBSERVED` (one RMW, the first time only).
    #[inline]
    pub(crate) fn mark_observed(&self) {
        self.0.fetch_or(OBSERVED, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_decodes_outcome_only_when_complete() {
        let s = Snapshot(CLAIMED | Outcome::Faulted.bits());
        assert_eq!(s.outcome(), None);
        let s = Snapshot(CLAIMED | COMPLETE | Outcome::Faulted.bits());
        assert_eq!(s.outcome(), Some(Outcome::Faulted));
        let s = Snapshot(CLAIMED | COMPLETE | Outcome::Canceled.bits());
        assert_eq!(s.outcome(), Some(Outcome::Canceled));
        let s = Snapshot(CLAIMED | COMPLETE | Outcome::RanToCompletion.bits());
        assert_eq!(s.outcome(), Some(Outcome::RanToCompletion));
        assert!(format!("{s:?}").contains("RanToCompletion"));
    }
}
