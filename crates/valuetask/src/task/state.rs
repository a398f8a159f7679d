//! The task cell's state word: named bits, a decoding `Snapshot`, and the outcome encoding.
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

use std::fmt;

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
    #[inline]
    pub(crate) const fn bits(self) -> usize {
        (self as usize) << OUTCOME_SHIFT
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
    pub(crate) const fn async_continuations(self) -> bool {
        self.0 & ASYNC_CONTINUATIONS != 0
    }
    /// The outcome, if the cell is complete.
    #[inline]
    pub(crate) const fn outcome(self) -> Option<Outcome> {
        if !self.is_complete() {
            return None;
        }
        match (self.0 & OUTCOME_MASK) >> OUTCOME_SHIFT {
            1 => Some(Outcome::RanToCompletion),
            2 => Some(Outcome::Faulted),
            _ => Some(Outcome::Canceled),
        }
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
