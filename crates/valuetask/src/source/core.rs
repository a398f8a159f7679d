//! `ManualResetValueTaskSourceCore<T>`: the reusable, versioned completion core
//! (.NET `System.Threading.Tasks.Sources.ManualResetValueTaskSourceCore<TResult>`).
//!
//! This file holds the public API and the locked paths; `core/encoding.rs` the state word's
//! bits (its outcome code is the task cell's, `task::Outcome`), `core/view.rs` the core seen
//! by its output type and the pooled slot's lock-free paths, `core/consumer.rs` which value
//! task is polling, `core/misuse.rs` the panics that name a misuse.
//!
//! # Invariants (who may touch what)
//!
//! The state is one `AtomicU64`: the version in the high 32 bits, flags in the low bits.
//!
//! - `result` and `waker` are touched only by the thread holding `LOCKED`, which is taken by
//!   a CAS that requires it clear. While `LOCKED` is held nobody else writes the state word,
//!   so the holder releases it with a plain Release store of the new state. One exception:
//!   a generation with a single possible completer (a pooled slot's `Completer`) has its
//!   result's words written without the lock while `COMPLETE` is clear, then published by
//!   one CAS from a state without `LOCKED` (`try_publish_unique`); nobody reads the result
//!   before `COMPLETE`, and if the CAS does not happen the words are not a value: the
//!   general path writes the result again under `LOCKED`.
//! - No foreign code runs while `LOCKED` is held: wakers are cloned before it is taken and
//!   dropped or woken after it is released, and a result being discarded (`reset`) is moved
//!   out and dropped after. A critical section is a few loads and stores, so a waiting thread
//!   spins only for those, and a panicking waker or `Drop` cannot leave the core locked.
//!   Nor does any run between a poll's move of the result out (`TAKEN`) and its return: a
//!   clone made for a registration that then finds `COMPLETE` is dropped first, with the
//!   lock released and the result untaken, so a panic there leaves the result to the next
//!   poll.
//! - `result` is initialized exactly when `COMPLETE` is set and `TAKEN` is clear, except
//!   between `sole_consumer_recycle_completed` returning `true` and `read_recycled_result`, when the
//!   pooled slot's consumer owns the result it is about to move out.
//! - The version changes only in `reset`, and in `recycle` and `sole_consumer_recycle_completed`
//!   (by the exclusive owner of a pooled slot), so a CAS that checks the version and takes
//!   `LOCKED` pins the generation for the whole critical section. `reset` bumps it under
//!   `LOCKED`, or, when the state it loaded holds nothing to move out (no `LOCKED`, no
//!   `HAS_WAKER`, no untaken result), by one CAS from exactly that state: the CAS fails if
//!   anything changed in between, and then `reset` takes the lock.
//! - `set_result` claims inline by one CAS (`LOCKED | CLAIMED`) only from a state with none
//!   of `LOCKED`, `CLAIMED`, `HAS_WAKER`: nothing to wake, so it publishes with the result's
//!   words and one Release store; any other state takes the general path (`complete_once`).
//! - `waker` is `Some` exactly when `HAS_WAKER` is set (every path that takes the waker
//!   clears the bit in the same store), which is what lets that CAS skip the waker.
//! - `sole_consumer_poll` (pooled sources only) reads the result after an Acquire load
//!   of `COMPLETE`, without `LOCKED`: sound only because a pooled slot has one consumer and
//!   nobody resets it but that consumer. Its generations never show `TAKEN` at its next
//!   poll (the poll that takes also recycles), and its core never has configuration flags,
//!   which its fast path's test relies on (debug-asserted). That fast path starts the next
//!   generation at version 0 rather than the next version: no token is handed out for a
//!   pooled generation, and between generations only the slot's owner reaches it, so no CAS
//!   of an earlier generation can meet the same state again. Its fast path comes in two halves
//!   (`sole_consumer_recycle_completed`, then `read_recycled_result`): between them the next
//!   generation has started while the old result is still in place, so nothing may touch
//!   the core in between but the consumer putting its slot in this thread's cache.
//! - `consumer` (under `LOCKED`, like the waker) names the value task that registered last:
//!   its source record's address, passed in a thread-local around the record's `poll_result`
//!   call (`Consumer`). `NAMED` says that it is a known value task (not 0) of this
//!   generation which has neither taken the result nor withdrawn, before completion and
//!   after it. Another known value task polling the generation then (registering, or taking
//!   the result the first was woken for) panics (one consumer per generation); 0, a
//!   hand-written or pooled consumer, is never refused. A value task that registered and is
//!   dropped withdraws (`withdraw`, from its record's release): under `LOCKED`, if the
//!   generation still names it, `consumer` and `NAMED` are cleared, and the waker taken if the
//!   generation is still waiting. A wrong token panics naming both numbers.
//! - Results go in and out in 8-byte words (`forwarding.rs`), so a read right after a
//!   same-thread completion is served from the store buffer.
//! - Layout: `repr(C)`, the waker first, then `CoreHead<O>` (state and result, typed by the
//!   output alone), which `CoreView<O>` mirrors so the pool's fast path inlined into
//!   `ValueTask::poll` can read a slot's core without knowing `T` (`source/pool.rs`).

use std::fmt;
use std::mem::MaybeUninit;
use std::task::{Context, Poll, Waker};

use crate::continuation_thread::Continuations;
use crate::forwarding::{read_in_words, write_in_words};
use crate::source::{SourceStatus, ValueTaskSource};
use crate::sync::{spin_wait, AtomicU64, Ordering, UnsafeCell};
use crate::task::{outcome_of, Outcome, TaskError, TaskOutput};

mod consumer;
mod encoding;
mod misuse;
mod view;

pub(crate) use consumer::Consumer;
use encoding::*;
pub(crate) use encoding::{CONSUMER_GONE, PRODUCER_WAITING};
use misuse::*;

/// The reusable core of a value task source: complete it, await it by token, reset it, and do
/// it again, with no allocation once this thread's pool is warm (each value task keeps the
/// core's address and its token in a small pooled record) (.NET
/// `ManualResetValueTaskSourceCore<TResult>`).
///
/// Embed it in your own long-lived operation object (a socket's receive operation, a
/// request slot) and hand out `ValueTask`s with
/// [`value_task`](Self::value_task). Every method takes `&self`, so a producer on another
/// thread completes while a consumer awaits. The result is `Result<T, TaskError>`: complete
/// with a value, an error or a cancellation.
///
/// Versions: a fresh core is version 0; [`reset`](Self::reset) bumps it by exactly one (and
/// wraps at `u32::MAX`). A token that is not the current version, stale or from the future,
/// panics with a message naming both numbers, in `status`, `poll_result` and await. (A token
/// exactly 2³² generations old matches again, as .NET's 16-bit tokens do after 65,536.)
///
/// Rules, and what happens when they are broken:
///
/// - complete once per generation: a second `set_*` panics naming the version; `try_set_*`
///   hands the value back instead;
/// - take the result once per generation (`ValueTask` guarantees it): a second
///   `poll_result` after the result was taken panics;
/// - one consumer per generation: call [`value_task`](Self::value_task) once per
///   generation. A value task's poll may register a new waker every time (the `Future`
///   contract allows it, say after moving to another task), but a second value task of the
///   same generation that polls while the first one waits, or after the first was woken and
///   before it took the result, panics, naming the misuse (.NET's core throws
///   `InvalidOperationException` when a second continuation is registered). A value task
///   dropped while it waits (cancelled), or woken and dropped untaken, takes its
///   registration with it, so another may then await the generation (through a user's source, when the
///   source forwards [`ValueTaskSource::withdraw`](crate::ValueTaskSource::withdraw) to
///   [`withdraw`](Self::withdraw)). Code that calls `poll_result` itself, not through a
///   value task, is not told apart: it is the one consumer it says it is;
/// - `reset` when the consumer is done. A `reset` that races a poll or completion running on
///   another thread waits for it to finish (they hold the core for a few instructions). A
///   consumer still waiting on the old generation is woken, and its next poll panics with the
///   stale-token message rather than hanging.
///
/// ```
/// use valuetask::ManualResetValueTaskSourceCore;
///
/// let core = ManualResetValueTaskSourceCore::<u32>::new();
/// for i in 0..3 {
///     let vt = core.value_task();
///     core.set_result(i);
///     assert_eq!(vt.get_result(), Ok(i));
///     core.reset();
/// }
/// assert_eq!(core.version(), 3);
/// ```
#[repr(C)]
pub struct ManualResetValueTaskSourceCore<T> {
    // The waker first, then the state word and the result: the order the compiler chose
    // before the core was `repr(C)` (a pooled slot's row (g) moves with its layout).
    waker: UnsafeCell<Option<Waker>>,
    head: CoreHead<TaskOutput<T>>,
    /// The value task whose waker `waker` is (`Consumer`), under `LOCKED` like the waker.
    consumer: UnsafeCell<usize>,
}

/// A core seen through its output type `O = TaskOutput<T>` alone: the same fields, types
/// and `repr(C)` order as `ManualResetValueTaskSourceCore<T>`, so the same layout (the
/// alignment included) for every `T`.
#[repr(C)]
pub(crate) struct CoreView<O> {
    waker: UnsafeCell<Option<Waker>>,
    pub(crate) head: CoreHead<O>,
    consumer: UnsafeCell<usize>,
}

// SAFETY: as for `ManualResetValueTaskSourceCore<T>`, which a view is (the same fields and
// layout, `O = TaskOutput<T>`, and `TaskOutput<T>: Send` exactly when `T: Send`).
unsafe impl<O: Send> Sync for CoreView<O> {}
// SAFETY: as above.
unsafe impl<O: Send> Send for CoreView<O> {}

/// The state word and the result of a core, typed by the output `O` (`TaskOutput<T>`)
/// alone: the field after the waker in every `ManualResetValueTaskSourceCore<T>` (both
/// `repr(C)`), so code that knows a pooled slot's output type but not its `T`
/// (`ValueTask::poll`) can run the unique consumer's fast path on it.
#[repr(C)]
pub(crate) struct CoreHead<O> {
    state: AtomicU64,
    result: UnsafeCell<MaybeUninit<O>>,
}

// SAFETY: `result` and `waker` are only touched under `LOCKED` (or by the unique owner, and
// the result by a pooled generation's one completer before it publishes: see the module
// invariants); the result moves between threads, so `T: Send` suffices: it is never shared
// by reference.
unsafe impl<T: Send> Sync for ManualResetValueTaskSourceCore<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for ManualResetValueTaskSourceCore<T> {}

impl<T> ManualResetValueTaskSourceCore<T> {
    /// A pending core at version 0 whose completion wakes the consumer inline (.NET: a
    /// `default` `ManualResetValueTaskSourceCore<TResult>` field).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// assert_eq!(core.version(), 0);
    /// assert_eq!(core.status(0), SourceStatus::Pending);
    /// ```
    pub fn new() -> Self {
        Self::with_continuations(Continuations::Inline)
    }

    /// A pending core at version 0 whose completion wakes the consumer as `mode` says
    /// (.NET `RunContinuationsAsynchronously`).
    ///
    /// ```
    /// use valuetask::{Continuations, ManualResetValueTaskSourceCore};
    ///
    /// let mode = Continuations::Asynchronous;
    /// let core = ManualResetValueTaskSourceCore::<u8>::with_continuations(mode);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| core.set_result(2)); // a waiting consumer is woken from another thread
    ///     assert_eq!(core.value_task().get_result(), Ok(2));
    /// });
    /// ```
    pub fn with_continuations(mode: Continuations) -> Self {
        let flags = if mode == Continuations::Asynchronous {
            ASYNC_CONTINUATIONS
        } else {
            0
        };
        Self {
            waker: UnsafeCell::new(None),
            head: CoreHead {
                state: AtomicU64::new(flags),
                result: UnsafeCell::new(MaybeUninit::uninit()),
            },
            consumer: UnsafeCell::new(0),
        }
    }

    /// The current version: the token of the operation in flight (.NET `Version`).
    ///
    /// ```
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// assert_eq!(core.version(), 0);
    /// core.reset();
    /// assert_eq!(core.version(), 1, "reset bumps it by one");
    /// ```
    pub fn version(&self) -> u32 {
        version_of(self.head.state.load(Ordering::Acquire))
    }

    /// Start a new generation: bump the version by one, drop an untaken result, forget the
    /// waker (.NET `Reset`). See the type docs for what happens to a consumer still waiting.
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// core.set_result(1);
    /// core.reset(); // the untaken result is dropped
    /// assert_eq!(core.version(), 1);
    /// assert_eq!(core.status(1), SourceStatus::Pending);
    /// ```
    pub fn reset(&self) {
        // The common case, a generation whose result was taken (or that never had one) and
        // that holds no waker: nothing to move out, so one CAS that checks the state (the
        // version included) bumps the version, with no lock and no second store.
        let cur = self.head.state.load(Ordering::Relaxed);
        if cur & (LOCKED | HAS_WAKER) == 0 && cur & (COMPLETE | TAKEN) != COMPLETE {
            let next = with_version(version_of(cur).wrapping_add(1), cur & CONFIG);
            if self
                .head
                .state
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        self.reset_locked();
    }

    /// `reset` when the generation may hold a result or a waker to move out, or when the fast
    /// path's CAS lost a race.
    #[cold]
    fn reset_locked(&self) {
        // The untaken result and the waker are moved out under the lock and dropped after it.
        let (before, _untaken, waker) = self.locked(|this, state| {
            // SAFETY: we hold `LOCKED`.
            let untaken = unsafe { this.take_result(state) };
            // SAFETY: we hold `LOCKED`.
            let waker = this.waker.with_mut(|w| unsafe { (*w).take() });
            let next = with_version(version_of(state).wrapping_add(1), state & CONFIG);
            (next, (state, untaken, waker))
        });
        if before & COMPLETE == 0 {
            if let Some(waker) = waker {
                if before & ASYNC_CONTINUATIONS != 0 {
                    crate::continuation_thread::wake_later(move || waker.wake());
                } else {
                    waker.wake();
                }
            }
        }
    }

    /// Complete the current generation with `value` (.NET `SetResult`).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// core.set_result(1);
    /// assert_eq!(core.status(0), SourceStatus::Succeeded);
    /// assert_eq!(core.value_task().get_result(), Ok(1));
    /// ```
    ///
    /// # Panics
    /// If this generation was already completed.
    #[inline]
    #[track_caller]
    pub fn set_result(&self, value: T) {
        // The common case, inlined into the caller: unlocked, unclaimed, nobody waiting (the
        // awaiter polls after). One CAS claims; nothing to wake, so publishing is the result's
        // words and one Release store. Anything else (a waker to take, a lock to wait for, a
        // second completion to report) goes the general way.
        if let Some(cur) = self.try_claim_idle() {
            // `cur` has no `HAS_WAKER`: the publish folds to the result's words and the store.
            self.publish_with(cur, Outcome::RanToCompletion, || Ok(value));
            return;
        }
        self.complete_once_slow(Ok(value), "set_result");
    }

    /// The claim of a completion's fast path: one CAS taking `LOCKED` and setting `CLAIMED`
    /// from a state with none of `LOCKED`, `CLAIMED` and `HAS_WAKER` set (the state before
    /// it), else `None` with nothing changed, for the general path (which waits for the
    /// lock, reports a second completion, takes a waker). With no `HAS_WAKER` in the returned
    /// state, [`publish_with`](Self::publish_with) folds to the result's words and one Release
    /// store. No loop: the caller's hot path stays straight-line code.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn try_claim_idle(&self) -> Option<u64> {
        let cur = self.head.state.load(Ordering::Relaxed);
        (cur & (LOCKED | CLAIMED | HAS_WAKER) == 0
            && self
                .head
                .state
                .compare_exchange_weak(
                    cur,
                    cur | LOCKED | CLAIMED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok())
        .then_some(cur)
    }

    /// The fast path of a generation's one completer (a pooled slot's `Completer`): from a
    /// state with none of `LOCKED`, `CLAIMED`, `HAS_WAKER`, `CONSUMER_GONE` and
    /// `PRODUCER_WAITING` (nothing to wake, nobody gone, no waker of the completer's own to
    /// take under `LOCKED`: nothing else to do), write `output`'s words into the result, then
    /// publish it with one CAS that sets `CLAIMED`, `COMPLETE` and the outcome. Otherwise `Err(output)`, nothing
    /// published, for the general path, which writes the result again under `LOCKED` (the
    /// words written here are then not a value: nothing reads or drops them). One RMW and no
    /// store after it, where the shared completer's path ([`try_claim_idle`]) claims, writes
    /// and publishes with a second store: 5 instructions fewer on (f)'s cycle.
    ///
    /// # Safety
    /// The caller is the only one that may complete this generation, so nobody else writes
    /// the result while `COMPLETE` is clear; the consumer reads it only once `COMPLETE` is
    /// published, and `reset` and `recycle` only then too.
    ///
    /// [`try_claim_idle`]: Self::try_claim_idle
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn try_publish_unique(
        &self,
        outcome: Outcome,
        output: TaskOutput<T>,
    ) -> Result<(), TaskOutput<T>> {
        let cur = self.head.state.load(Ordering::Relaxed);
        if cur & (LOCKED | CLAIMED | HAS_WAKER | CONSUMER_GONE | PRODUCER_WAITING) != 0 {
            // A waker to take, a lock to wait for: nothing written, the general path.
            return Err(output);
        }
        let output = std::mem::ManuallyDrop::new(output);
        // SAFETY: per the caller, nobody else writes the result of this generation and nobody
        // reads it before `COMPLETE`; the copy's bits become the result only if the CAS
        // below publishes them (then `output` is forgotten: the result owns the value), and
        // are never read otherwise (then `output` goes back to the caller).
        self.head.result.with_mut(|r| unsafe {
            write_in_words((*r).as_mut_ptr(), std::ptr::read(&*output));
        });
        let done = cur | CLAIMED | COMPLETE | outcome_bits(outcome);
        match self
            .head
            .state
            .compare_exchange_weak(cur, done, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            // The consumer registered or left meanwhile (or a spurious failure).
            Err(_) => Err(std::mem::ManuallyDrop::into_inner(output)),
        }
    }

    /// [`complete_once`](Self::complete_once) out of line: the general path behind an
    /// inlined fast path.
    #[inline(never)]
    #[track_caller]
    fn complete_once_slow(&self, output: TaskOutput<T>, method: &str) {
        self.complete_once(output, method);
    }

    /// Complete the current generation with `error` (.NET `SetException`).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus, TaskError};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// core.set_error(TaskError::panicked("boom"));
    /// assert_eq!(core.status(0), SourceStatus::Faulted);
    /// assert_eq!(core.value_task().get_result(), Err(TaskError::panicked("boom")));
    /// ```
    ///
    /// # Panics
    /// If this generation was already completed.
    #[track_caller]
    pub fn set_error(&self, error: TaskError) {
        self.complete_once(Err(error), "set_error");
    }

    /// Complete the current generation as canceled. (.NET's core has no `SetCanceled`: there
    /// it is `SetException(new OperationCanceledException())`.)
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus, TaskError};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// core.set_canceled();
    /// assert_eq!(core.status(0), SourceStatus::Canceled);
    /// assert_eq!(core.value_task().get_result(), Err(TaskError::Canceled));
    /// ```
    ///
    /// # Panics
    /// If this generation was already completed.
    #[track_caller]
    #[doc(alias = "set_cancelled")]
    pub fn set_canceled(&self) {
        self.complete_once(Err(TaskError::Canceled), "set_canceled");
    }

    /// Complete with `value` unless this generation is already completed; then `value` comes
    /// back (as `TaskCompletionSource.TrySetResult`; .NET's core has none).
    ///
    /// ```
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// assert_eq!(core.try_set_result(1), Ok(()));
    /// assert_eq!(core.try_set_result(2), Err(2), "already completed: handed back");
    /// assert_eq!(core.value_task().get_result(), Ok(1));
    /// ```
    pub fn try_set_result(&self, value: T) -> Result<(), T> {
        self.complete(Ok(value))
            .map(drop)
            .map_err(|(o, _)| match o {
                Ok(v) => v,
                Err(_) => unreachable!("complete hands back what it was given"),
            })
    }

    /// Complete with `error` unless this generation is already completed; then `error` comes
    /// back (as `TaskCompletionSource.TrySetException`; .NET's core has none).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, TaskError};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// core.set_result(1);
    /// assert_eq!(core.try_set_error(TaskError::Canceled), Err(TaskError::Canceled));
    /// assert_eq!(core.value_task().get_result(), Ok(1), "the first completion stands");
    /// ```
    pub fn try_set_error(&self, error: TaskError) -> Result<(), TaskError> {
        self.complete(Err(error))
            .map(drop)
            .map_err(|(o, _)| match o {
                Err(e) => e,
                Ok(_) => unreachable!("complete hands back what it was given"),
            })
    }

    /// Complete as canceled unless this generation is already completed; `true` if this call
    /// completed it (as `TaskCompletionSource.TrySetCanceled`; .NET's core has none).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// assert!(core.try_set_canceled());
    /// assert!(!core.try_set_canceled(), "already completed");
    /// assert_eq!(core.status(0), SourceStatus::Canceled);
    /// ```
    #[doc(alias = "try_set_cancelled")]
    pub fn try_set_canceled(&self) -> bool {
        self.try_set_error(TaskError::Canceled).is_ok()
    }

    /// Complete the current generation with `outcome`: a value or an error, as a
    /// [`TaskCompletionSource::set_outcome`](crate::TaskCompletionSource::set_outcome) does
    /// (.NET 8 `TaskCompletionSource.SetFromTask`; .NET's core has none), except that an
    /// empty [`TaskError::Aggregate`] is taken as it is, as [`set_error`](Self::set_error)
    /// takes it.
    ///
    /// ```
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// let parsed = "7".parse::<u8>().map_err(valuetask::TaskError::faulted);
    /// core.set_outcome(parsed);
    /// assert_eq!(core.value_task().get_result(), Ok(7));
    /// ```
    ///
    /// # Panics
    /// If this generation was already completed.
    #[track_caller]
    pub fn set_outcome(&self, outcome: Result<T, TaskError>) {
        self.complete_once(outcome, "set_outcome");
    }

    /// Complete with `outcome` unless this generation is already completed; then `outcome`
    /// comes back (.NET 8 `TrySetFromTask`; .NET's core has none).
    ///
    /// ```
    /// use valuetask::TaskError;
    ///
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// assert_eq!(core.try_set_outcome(Ok(1)), Ok(()));
    /// assert_eq!(core.try_set_outcome(Err(TaskError::Canceled)), Err(Err(TaskError::Canceled)));
    /// assert_eq!(core.value_task().get_result(), Ok(1), "the first completion stands");
    /// ```
    pub fn try_set_outcome(
        &self,
        outcome: Result<T, TaskError>,
    ) -> Result<(), Result<T, TaskError>> {
        self.complete(outcome).map(drop).map_err(|(o, _)| o)
    }

    /// Whether the current generation is complete (.NET: `GetStatus(Version) != Pending`):
    /// its result is set, whether or not a value task took it. `reset` starts a new,
    /// incomplete generation.
    ///
    /// ```
    /// let core = valuetask::ManualResetValueTaskSourceCore::<u8>::new();
    /// assert!(!core.is_completed());
    /// core.set_result(3);
    /// assert!(core.is_completed());
    /// assert_eq!(core.value_task().get_result(), Ok(3));
    /// assert!(core.is_completed(), "still this generation's");
    /// core.reset();
    /// assert!(!core.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        // One load: a `reset` on another thread cannot make the version read go stale.
        self.head.state.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// The status of the generation `token` (.NET `GetStatus`).
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, SourceStatus, TaskError};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// assert_eq!(core.status(0), SourceStatus::Pending);
    /// core.set_error(TaskError::panicked("boom"));
    /// assert_eq!(core.status(0), SourceStatus::Faulted);
    /// let stale = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| core.status(7)));
    /// assert!(stale.is_err(), "a token that is not the current version panics");
    /// ```
    ///
    /// # Panics
    /// If `token` is not the current version.
    #[track_caller]
    pub fn status(&self, token: u32) -> SourceStatus {
        self.view().status(token)
    }

    /// This core as a [`CoreView`] of its output type (the same layout).
    #[inline]
    pub(crate) fn view(&self) -> &CoreView<TaskOutput<T>> {
        // SAFETY: a core and the view of its output type have one layout (`repr(C)`, the
        // same fields in the same order: `a_core_and_its_view_have_one_layout`).
        unsafe { &*(self as *const Self).cast::<CoreView<TaskOutput<T>>>() }
    }

    /// The result of generation `token` if it is complete, else register `cx`'s waker
    /// (.NET `OnCompleted` + `GetResult`). The result is moved out: take it once.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use valuetask::ManualResetValueTaskSourceCore;
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(core.poll_result(0, &mut cx).is_pending()); // the waker is registered
    /// core.set_result(5);
    /// assert_eq!(core.poll_result(0, &mut cx), Poll::Ready(Ok(5)));
    /// ```
    ///
    /// # Panics
    /// If `token` is not the current version, or the result was already taken, or, polled
    /// by a value task, if another value task of this generation registered and has not
    /// taken the result (one consumer per generation).
    #[track_caller]
    pub fn poll_result(&self, token: u32, cx: &mut Context<'_>) -> Poll<TaskOutput<T>> {
        self.view().poll_result(token, cx)
    }

    /// For [`ValueTaskSource::withdraw`](crate::ValueTaskSource::withdraw): the value task
    /// of generation `token` that is being dropped gives up its registration (its waker is
    /// dropped, if the generation is still waiting), so that another value task may await the
    /// generation (or, complete, take its result); one that never registered, that took its
    /// result, or whose generation was reset, leaves nothing to withdraw.
    /// Called outside a value task's drop or poll, it does nothing; called from your source's
    /// `poll_result` (where the polling value task is known), it withdraws that value task's
    /// registration, which then is not woken: call it from `withdraw` only. No .NET
    /// counterpart: a .NET
    /// `await` cannot be withdrawn; a Rust future is cancelled by dropping it.
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::task::{Context, Waker};
    /// use valuetask::ManualResetValueTaskSourceCore;
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut first = core.value_task();
    /// assert!(Pin::new(&mut first).poll(&mut cx).is_pending());
    /// drop(first); // cancelled while it waits: its registration goes with it
    /// let second = core.value_task();
    /// core.set_result(3);
    /// assert_eq!(second.get_result(), Ok(3));
    /// ```
    pub fn withdraw(&self, token: u32) {
        self.view().withdraw(token, Consumer::current());
    }

    /// Complete the current generation, or hand the output back if it is already complete.
    /// Returns the state before completion (for pooled slots: `CONSUMER_GONE`).
    #[inline]
    pub(crate) fn complete(&self, output: TaskOutput<T>) -> Result<u64, (TaskOutput<T>, u32)> {
        match self.claim() {
            Ok(cur) => {
                self.publish(cur, output);
                Ok(cur)
            }
            Err(completed_version) => Err((output, completed_version)),
        }
    }

    /// [`complete`](Self::complete) where a completed generation is a bug: panic, naming
    /// `method` and the version. The output is not kept for a return that never comes.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[track_caller]
    pub(crate) fn complete_once(&self, output: TaskOutput<T>, method: &str) -> u64 {
        match self.claim() {
            Ok(cur) => {
                self.publish(cur, output);
                cur
            }
            Err(version) => {
                // A panic of the output's `Drop` must not replace the misuse's message.
                crate::catch_panic::drop_discarding(output);
                already_completed(method, version)
            }
        }
    }

    /// First half of completing: take `LOCKED` and set `CLAIMED`, or say which version was
    /// already claimed. Returns the state before.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn claim(&self) -> Result<u64, u32> {
        self.lock(CLAIMED, |cur| {
            if cur & CLAIMED != 0 {
                Err(version_of(cur))
            } else {
                Ok(())
            }
        })
    }

    /// [`claim`](Self::claim) by the one completer a generation can have (a pooled slot's):
    /// nobody else sets `CLAIMED`, so only `LOCKED` is waited for. (A one-bit `fetch_or`,
    /// one `lock bts` with no load before it, would be four instructions shorter, but a
    /// `fetch_or` that finds the lock held writes the word concurrently with the holder's
    /// release, and loom, which orders stores by causality, then lets this thread read its
    /// own write forever: its models could not check it.)
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn claim_unique(&self) -> u64 {
        let Ok(before) = self.lock(CLAIMED, |_| Ok::<(), std::convert::Infallible>(()));
        debug_assert_eq!(before & CLAIMED, 0, "a unique completer claims once");
        before
    }

    /// Second half: with `LOCKED` held and `CLAIMED` set by [`claim`](Self::claim) (`cur` is
    /// the state before it), write `output`, publish `COMPLETE`, and wake the waiter.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn publish(&self, cur: u64, output: TaskOutput<T>) {
        self.publish_with(cur, outcome_of(&output), || output);
    }

    /// [`publish`](Self::publish) an output of `outcome` that `make` makes now, with the
    /// claim held: made before the claim, it is kept in memory across the claim's loop.
    /// Clears `PRODUCER_WAITING`: a pooled slot's completer takes its own waker from the slot
    /// first (`Completer::closed`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn publish_with(
        &self,
        cur: u64,
        outcome: Outcome,
        make: impl FnOnce() -> TaskOutput<T>,
    ) {
        let outcome = outcome_bits(outcome);
        let output = make();
        let result = &self.head.result;
        // SAFETY: we hold `LOCKED` and set `CLAIMED`: the slot holds no value (uninitialized,
        // or the words of a failed `try_publish_unique`, which are not one) and is ours.
        // In words: the consumer, often on this thread moments later, reads it back in words
        // (see `forwarding`).
        result.with_mut(|r| unsafe { write_in_words((*r).as_mut_ptr(), output) });
        let waker = if cur & HAS_WAKER != 0 {
            // SAFETY: we hold `LOCKED`.
            self.waker.with_mut(|w| unsafe { (*w).take() })
        } else {
            None
        };
        // `PRODUCER_WAITING` too: the completer's own waker, which its caller took.
        let done = (cur | CLAIMED | COMPLETE | outcome) & !(LOCKED | HAS_WAKER | PRODUCER_WAITING);
        self.head.state.store(done, Ordering::Release);
        if let Some(waker) = waker {
            if cur & ASYNC_CONTINUATIONS != 0 {
                crate::continuation_thread::wake_later(move || waker.wake());
            } else {
                waker.wake();
            }
        }
    }

    /// Take `LOCKED` (plus `bits`): see [`CoreHead::lock`].
    fn lock<E>(&self, bits: u64, check: impl FnMut(u64) -> Result<(), E>) -> Result<u64, E> {
        self.head.lock(bits, check)
    }

    /// Run `f` holding `LOCKED`; `f` returns the state to store (which must clear `LOCKED`).
    fn locked<R>(&self, f: impl FnOnce(&Self, u64) -> (u64, R)) -> R {
        let Ok(cur) = self.lock(0, |_| Ok::<(), std::convert::Infallible>(()));
        let (next, r) = f(self, cur);
        debug_assert_eq!(next & LOCKED, 0);
        self.head.state.store(next, Ordering::Release);
        r
    }

    /// Move the result out if one is stored and untaken (to drop it after the lock).
    ///
    /// # Safety
    /// The caller holds `LOCKED` (or `&mut self`), `state` is the current state, and the new
    /// state the caller stores does not say `COMPLETE` without `TAKEN` for this result.
    unsafe fn take_result(&self, state: u64) -> Option<TaskOutput<T>> {
        if state & COMPLETE != 0 && state & TAKEN == 0 {
            let result = &self.head.result;
            // SAFETY: per the caller, exclusive; `COMPLETE && !TAKEN` means initialized, and
            // the caller's next state forgets it.
            Some(result.with(|r| unsafe { (*r).assume_init_read() }))
        } else {
            None
        }
    }

    /// Drop the result if one is stored and untaken.
    ///
    /// # Safety
    /// The caller holds `LOCKED` (or `&mut self`), and `state` is the current state.
    unsafe fn drop_result(&self, state: u64) {
        if state & COMPLETE != 0 && state & TAKEN == 0 {
            // SAFETY: per the caller, exclusive; `COMPLETE && !TAKEN` means initialized.
            self.head
                .result
                .with_mut(|r| unsafe { (*r).assume_init_drop() });
        }
    }

    // --- pooled sources (one consumer, one completer, the consumer recycles) ---
}

/// A core's state word, loaded with Acquire, that said complete and untaken
/// ([`CoreHead::completed_untaken`]).
#[derive(Clone, Copy)]
pub(crate) struct CompletedState(u64);

/// What a recycled generation left behind: dropped by the caller after the slot is kept.
#[must_use = "drop the leftovers after keeping the slot"]
pub(crate) struct Leftovers<T> {
    _result: Option<TaskOutput<T>>,
    _waker: Option<Waker>,
}

impl<T> Default for ManualResetValueTaskSourceCore<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for ManualResetValueTaskSourceCore<T> {
    fn drop(&mut self) {
        let state = self.head.state.load(Ordering::Relaxed);
        // SAFETY: `&mut self`: exclusive.
        unsafe { self.drop_result(state) };
    }
}

impl<T> fmt::Debug for ManualResetValueTaskSourceCore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.head.state.load(Ordering::Acquire);
        f.debug_struct("ManualResetValueTaskSourceCore")
            .field("version", &version_of(state))
            .field("status", &status_of(state))
            .field("taken", &(state & TAKEN != 0))
            .field("has_waker", &(state & HAS_WAKER != 0))
            .finish()
    }
}

impl<T: Send> ValueTaskSource<TaskOutput<T>> for ManualResetValueTaskSourceCore<T> {
    fn status(&self, token: u32) -> SourceStatus {
        ManualResetValueTaskSourceCore::status(self, token)
    }

    fn poll_result(&self, token: u32, cx: &mut Context<'_>) -> Poll<TaskOutput<T>> {
        ManualResetValueTaskSourceCore::poll_result(self, token, cx)
    }

    fn withdraw(&self, token: u32) {
        ManualResetValueTaskSourceCore::withdraw(self, token);
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests;
