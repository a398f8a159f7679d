//! The core's state word: the version in the high 32 bits, the flags in the low ones, and the
//! outcome in the two-bit code `task::Outcome` gives both state words.

use crate::backing::SourceStatus;
use crate::task::Outcome;

pub(crate) const CLAIMED: u64 = 1 << 0;
pub(crate) const COMPLETE: u64 = 1 << 1;
pub(crate) const LOCKED: u64 = 1 << 2;
pub(crate) const HAS_WAKER: u64 = 1 << 3;
pub(crate) const TAKEN: u64 = 1 << 4;
pub(super) const OUTCOME_SHIFT: u32 = 5;
pub(super) const OUTCOME_MASK: u64 = 0b11 << OUTCOME_SHIFT;
pub(crate) const ASYNC_CONTINUATIONS: u64 = 1 << 7;
/// Pooled sources: the consumer went away before completion; the completer recycles.
pub(crate) const CONSUMER_GONE: u64 = 1 << 8;
/// Pooled sources: the completer waits for `CONSUMER_GONE` (`Completer::closed`), its waker
/// in the slot beside the core. Set and cleared under `LOCKED`; never set once
/// `CONSUMER_GONE` or `COMPLETE` is: the consumer's abandon clears it and wakes that waker,
/// the completion clears it and drops the waker.
pub(crate) const PRODUCER_WAITING: u64 = 1 << 9;
/// A known value task (a source record, `Consumer` id not 0) registered in this generation
/// and has neither taken its result nor withdrawn: `consumer` names it, and another known
/// value task is a second consumer, before completion (beside `HAS_WAKER`) and after it
/// (the completer takes the waker, this bit stays). Set and cleared under `LOCKED`, with
/// the take (`TAKEN`) and the withdrawal; `reset` clears it with the generation.
pub(crate) const NAMED: u64 = 1 << 10;
pub(super) const FLAGS: u64 = u32::MAX as u64;
/// Flags that survive `reset` (configuration, not per-generation state).
pub(super) const CONFIG: u64 = ASYNC_CONTINUATIONS;

#[inline]
pub(super) const fn version_of(state: u64) -> u32 {
    (state >> 32) as u32
}

#[inline]
pub(super) const fn with_version(version: u32, flags: u64) -> u64 {
    ((version as u64) << 32) | (flags & FLAGS)
}

/// An outcome in the state word: the code both state words use (`task::Outcome`), here.
#[inline]
pub(super) const fn outcome_bits(outcome: Outcome) -> u64 {
    (outcome.code() as u64) << OUTCOME_SHIFT
}

/// What a state word says of its generation.
pub(super) fn status_of(state: u64) -> SourceStatus {
    if state & COMPLETE == 0 {
        return SourceStatus::Pending;
    }
    Outcome::from_code(((state & OUTCOME_MASK) >> OUTCOME_SHIFT) as usize).status()
}
