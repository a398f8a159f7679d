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
//! | 8 | `HAS_OVERFLOW` | the overflow (awaiters past 16) is published: new awaiters go there without taking `LOCKED`; set once, under `LOCKED` |
//! | 9 | `HAS_SLAB` | the slab (awaiters 2 to 16) is published: new awaiters reserve a slot in it without taking `LOCKED`; set once, under `LOCKED` |
//! | 16-30 | `RESERVED` | bit `16 + i`: slab slot `i` is reserved by an awaiter (see `waiters.rs`); set by a CAS from a word without `LOCKED`, cleared under `LOCKED` |

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

/// Slots in the slab: with the inline one, 16 awaiters before the overflow. Under loom, 1:
/// the models reach the slab with their second awaiter and the overflow with their third.
pub(crate) const SLAB_SLOTS: usize = if cfg!(valuetask_loom) { 1 } else { 15 };
const RESERVED_SHIFT: u32 = 16;
/// Every slab slot's reservation bit.
pub(crate) const RESERVED: usize = ((1 << SLAB_SLOTS) - 1) << RESERVED_SHIFT;

/// The reservation bit of slab slot `index`.
#[inline]
pub(crate) const fn reserved_bit(index: usize) -> usize {
    1 << (RESERVED_SHIFT as usize + index)
}

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
    /// Which slab slots are reserved (bit `i`: slot `i`).
    #[inline]
    pub(crate) const fn reserved(self) -> u32 {
        ((self.0 & RESERVED) >> RESERVED_SHIFT) as u32
    }
    /// The lowest slab slot not reserved, if any.
    #[inline]
    pub(crate) const fn free_slab_slot(self) -> Option<usize> {
        let free = !self.0 & RESERVED;
        if free == 0 {
            None
        } else {
            Some((free.trailing_zeros() - RESERVED_SHIFT) as usize)
        }
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
            .field("reserved", &format_args!("{:#b}", self.reserved()))
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

    #[test]
    fn slab_reservations_fill_lowest_first_and_stay_clear_of_the_named_bits() {
        let named = CLAIMED
            | COMPLETE
            | LOCKED
            | HAS_WAITERS
            | OUTCOME_MASK
            | ASYNC_CONTINUATIONS
            | OBSERVED
            | HAS_OVERFLOW
            | HAS_SLAB;
        assert_eq!(named & RESERVED, 0);
        assert!(
            RESERVED_SHIFT as usize + SLAB_SLOTS <= 31,
            "fits a 32-bit word"
        );
        let mut s = Snapshot(HAS_SLAB);
        for i in 0..SLAB_SLOTS {
            assert_eq!(s.free_slab_slot(), Some(i));
            s = Snapshot(s.0 | reserved_bit(i));
        }
        assert_eq!(s.free_slab_slot(), None);
        assert_eq!(s.reserved().count_ones() as usize, SLAB_SLOTS);
        let freed = Snapshot(s.0 & !reserved_bit(0));
        assert_eq!(freed.free_slab_slot(), Some(0));
    }
}
