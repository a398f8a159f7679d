//! `TaskCompletionSource<T>`: the producer side of a [`Task`] (.NET `TaskCompletionSource<TResult>`).

use std::fmt;
use std::mem::ManuallyDrop;

use crate::continuation_thread::Continuations;
use crate::task::cell::RawTask;
use crate::task::{outcome_of, outcome_of_error, Outcome, Task, TaskError, TaskOutput};

/// The producer of a [`Task`]: complete it once, from any thread (.NET
/// `TaskCompletionSource<TResult>`). It is `Send` and `Sync` for a `T: Send + Sync`, as its
/// [`Task`] is: the value is shared by every handle of the task (a `!Sync` one, a `RefCell`,
/// goes in a `Mutex`, or through a [`CompletionPool`](crate::CompletionPool), whose
/// `Completer` needs `T: Send` only, for one consumer).
///
/// `Clone`: every clone completes the same task, and the first completion wins. `set_*`
/// panics on a second completion; `try_set_*` hands the value back instead. Any completion,
/// `try_set_*` and the abandoning drop included, also panics when an awaiter's waker
/// panicked as it was woken: once every awaiter was woken and the task is complete, that
/// panic resumes in the completing call (unless the source wakes from the continuation
/// thread: [`Continuations::Asynchronous`](crate::Continuations::Asynchronous) discards it).
/// The abandoning drop discards it too when its thread is already unwinding; a `set_*` called
/// from a `Drop` during unwinding does not, so a waker's panic there aborts, as any panic out
/// of such a drop does. .NET's `SetResult` runs continuations that cannot throw into it.
///
/// If every source is dropped while the task is pending, the task completes with
/// [`TaskError::Abandoned`] (status `Faulted`), so no awaiter hangs on a producer that is gone;
/// like any fault nobody observes, it reaches the unobserved-error hook (a `tracing` warning
/// by default: [`set_unobserved_error_hook`](crate::set_unobserved_error_hook)) when the last
/// handle of the task drops unawaited. A source dropped when no handle of its task is left
/// (none was taken, or its consumers gave up and dropped theirs) reports nothing: nobody
/// was there to observe it. .NET has no such case (its task stays pending).
/// A source that is never dropped (leaked with `mem::forget`, or held by a continuation of
/// its own task: a cycle) is never counted gone: the task stays pending, as in .NET.
///
/// ```
/// use valuetask::TaskCompletionSource;
///
/// # futures::executor::block_on(async {
/// let tcs = TaskCompletionSource::new();
/// let task = tcs.task();
/// std::thread::spawn(move || tcs.set_result(7));
/// assert_eq!(task.await, Ok(7));
/// # });
/// ```
pub struct TaskCompletionSource<T> {
    /// Every source of a cell shares one reference to it, dropped by the last source to go
    /// (`sources` in `task/cell.rs`): a clone copies the pointer and counts a source.
    raw: ManuallyDrop<RawTask<TaskOutput<T>>>,
}

// As `Task`'s (see there): the cell it completes is never left half-changed by a panic.
impl<T: std::panic::RefUnwindSafe> std::panic::UnwindSafe for TaskCompletionSource<T> {}
impl<T: std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for TaskCompletionSource<T> {}

impl<T> TaskCompletionSource<T> {
    /// A source whose task wakes awaiters inline on completion (.NET
    /// `new TaskCompletionSource<TResult>()`). One pooled block, shared with the task (no
    /// allocation once this thread's pool is warm).
    ///
    /// ```
    /// use valuetask::TaskCompletionSource;
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// assert!(!tcs.is_completed());
    /// tcs.set_result(1);
    /// assert_eq!(tcs.task().wait(), Ok(&1));
    /// ```
    pub fn new() -> Self {
        Self::with_continuations(Continuations::Inline)
    }

    /// A source whose completion wakes awaiters as `mode` says
    /// (.NET `new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously)`).
    ///
    /// ```
    /// use valuetask::{Continuations, TaskCompletionSource};
    /// let tcs = TaskCompletionSource::with_continuations(Continuations::Asynchronous);
    /// tcs.set_result(1);
    /// assert_eq!(tcs.task().wait(), Ok(&1));
    /// ```
    pub fn with_continuations(mode: Continuations) -> Self {
        Self {
            raw: ManuallyDrop::new(RawTask::new_pending(
                mode == Continuations::Asynchronous,
                1,
                Some(crate::unobserved::report::<T>),
            )),
        }
    }

    /// A source for one of the library's internal tasks, and its task, made together (the
    /// task's handle is counted at birth: no increment). Its abandonment is the user's task's
    /// to report (see `unobserved::report_unless_abandoned`).
    pub(crate) fn internal_with_task() -> (Self, Task<T>) {
        let (raw, task) = RawTask::new_pending_pair(
            false,
            1,
            Some(crate::unobserved::report_unless_abandoned::<T>),
        );
        (
            Self {
                raw: ManuallyDrop::new(raw),
            },
            Task::from_raw(task),
        )
    }

    /// [`new`](Self::new) and its task, made together (the task's handle is counted at birth:
    /// no increment, on every `Task::run`).
    pub(crate) fn new_with_task() -> (Self, Task<T>) {
        let (raw, task) = RawTask::new_pending_pair(false, 1, Some(crate::unobserved::report::<T>));
        (
            Self {
                raw: ManuallyDrop::new(raw),
            },
            Task::from_raw(task),
        )
    }

    /// The task this source completes (.NET `TaskCompletionSource.Task`). Every call returns a
    /// handle to the same task.
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// let (a, b) = (tcs.task(), tcs.task());
    /// assert!(a.ptr_eq(&b), "one task");
    /// tcs.set_result(1);
    /// assert_eq!(b.wait(), Ok(&1));
    /// ```
    pub fn task(&self) -> Task<T> {
        Task::from_raw(RawTask::clone(&self.raw))
    }

    /// Complete the task with `value` (.NET `SetResult`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::new();
    /// let task = tcs.task();
    /// tcs.set_result(5);
    /// assert!(task.is_completed_successfully());
    /// assert_eq!(task.wait(), Ok(&5));
    /// ```
    ///
    /// # Panics
    /// If the task was already completed; use [`try_set_result`](Self::try_set_result) when
    /// several producers race.
    #[track_caller]
    pub fn set_result(&self, value: T) {
        if !self.complete_with(Outcome::RanToCompletion, || Ok(value)) {
            already_completed("set_result");
        }
    }

    /// Fail the task with `error` (.NET `SetException`, or `SetCanceled` for
    /// [`TaskError::Canceled`]). Unlike .NET, where `SetException` with an
    /// `OperationCanceledException` leaves the task faulted, `TaskError::Canceled` here
    /// cancels it: the error is the status.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// tcs.set_error(TaskError::panicked("no value"));
    /// assert!(task.is_faulted());
    /// assert_eq!(task.wait(), Err(&TaskError::panicked("no value")));
    /// ```
    ///
    /// # Panics
    /// If the task was already completed, or `error` is an empty
    /// [`TaskError::Aggregate`] (no failure to fault with; .NET's `SetException` throws
    /// `ArgumentException` for an empty list).
    #[track_caller]
    pub fn set_error(&self, error: TaskError) {
        if is_empty_aggregate(&error) {
            empty_aggregate("set_error");
        }
        if !self.complete_with(outcome_of_error(&error), || Err(error)) {
            already_completed("set_error");
        }
    }

    /// Cancel the task (.NET `SetCanceled`). .NET's `SetCanceled(CancellationToken)` overload
    /// records the token in the awaiter's `OperationCanceledException`; [`TaskError::Canceled`]
    /// carries none, so code that must know which token canceled keeps the token itself.
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// tcs.set_canceled();
    /// assert!(task.is_canceled());
    /// assert!(task.wait().unwrap_err().is_canceled());
    /// ```
    ///
    /// # Panics
    /// If the task was already completed.
    #[track_caller]
    #[doc(alias = "set_cancelled")]
    pub fn set_canceled(&self) {
        if !self.complete_with(Outcome::Canceled, || Err(TaskError::Canceled)) {
            already_completed("set_canceled");
        }
    }

    /// Complete the task with `value` unless it is already completed; then `value` comes back
    /// as `Err` (.NET `TrySetResult` returning `false`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::new();
    /// assert_eq!(tcs.try_set_result(1), Ok(()));
    /// assert_eq!(tcs.try_set_result(2), Err(2));
    /// ```
    pub fn try_set_result(&self, value: T) -> Result<(), T> {
        self.try_complete(Ok(value)).map_err(|o| match o {
            Ok(v) => v,
            Err(_) => unreachable!("try_complete hands back what it was given"),
        })
    }

    /// Fail the task with `error` unless it is already completed; then `error` comes back
    /// (.NET `TrySetException`). An empty [`TaskError::Aggregate`] names no failure: it comes
    /// back too, and the task stays pending (.NET rejects an empty exception list).
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let none = TaskError::Aggregate(Vec::new().into());
    /// assert!(tcs.try_set_error(none).is_err(), "refused: not a failure");
    /// assert!(!tcs.is_completed());
    /// assert_eq!(tcs.try_set_error(TaskError::Canceled), Ok(()));
    /// assert_eq!(tcs.try_set_error(TaskError::Abandoned), Err(TaskError::Abandoned));
    /// assert!(tcs.task().is_canceled(), "the first completion won");
    /// ```
    pub fn try_set_error(&self, error: TaskError) -> Result<(), TaskError> {
        if is_empty_aggregate(&error) {
            return Err(error);
        }
        self.try_complete(Err(error)).map_err(|o| match o {
            Err(e) => e,
            Ok(_) => unreachable!("try_complete hands back what it was given"),
        })
    }

    /// Complete the task with an outcome you already hold, a value or an error (.NET 8
    /// `SetFromTask`, for a `Result` instead of a finished task).
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let parsed: Result<u8, TaskError> = "7".parse().map_err(TaskError::faulted);
    /// let tcs = TaskCompletionSource::new();
    /// tcs.set_outcome(parsed);
    /// assert_eq!(tcs.task().wait(), Ok(&7));
    /// ```
    ///
    /// # Panics
    /// If the task was already completed, or the outcome is an empty
    /// [`TaskError::Aggregate`] (see [`set_error`](Self::set_error)).
    #[track_caller]
    pub fn set_outcome(&self, outcome: Result<T, TaskError>) {
        if matches!(&outcome, Err(error) if is_empty_aggregate(error)) {
            empty_aggregate("set_outcome");
        }
        if !self.complete_with(outcome_of(&outcome), || outcome) {
            already_completed("set_outcome");
        }
    }

    /// Complete the task with `outcome`, an empty [`TaskError::Aggregate`] included: for the
    /// library's forwarders (`into_task`, `when_all`, `flatten`), which pass on an outcome
    /// made elsewhere (`Task::from_error`, a `Completer`, a core accept an empty aggregate)
    /// and own the task's only source, so it is not completed yet.
    pub(crate) fn forward_outcome(&self, outcome: Result<T, TaskError>) {
        let won = std::cell::Cell::new(false);
        self.try_forward_outcome(outcome, &won);
        debug_assert!(
            won.get(),
            "a forwarder's task is completed by the forwarder alone"
        );
    }

    /// As [`forward_outcome`](Self::forward_outcome), for a task something else may have
    /// completed first (`wait_async`'s timeout or token): `won` is set when this completes
    /// it, before its awaiters are woken, so it tells also when a waker (or, on a lost race,
    /// the outcome's drop) panics out of here.
    pub(crate) fn try_forward_outcome(
        &self,
        outcome: Result<T, TaskError>,
        won: &std::cell::Cell<bool>,
    ) {
        self.complete_with(outcome_of(&outcome), || {
            won.set(true);
            outcome
        });
    }

    /// Complete the task with `outcome` unless it is already completed; then `outcome` comes
    /// back (.NET 8 `TrySetFromTask`), as does an empty [`TaskError::Aggregate`], which names
    /// no failure.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// assert_eq!(tcs.try_set_outcome(Err(TaskError::Canceled)), Ok(()));
    /// assert_eq!(tcs.try_set_outcome(Ok(1)), Err(Ok(1)), "the first completion won");
    /// ```
    pub fn try_set_outcome(
        &self,
        outcome: Result<T, TaskError>,
    ) -> Result<(), Result<T, TaskError>> {
        if matches!(&outcome, Err(error) if is_empty_aggregate(error)) {
            return Err(outcome);
        }
        self.try_complete(outcome)
    }

    /// Cancel the task unless it is already completed; `true` if this call canceled it
    /// (.NET `TrySetCanceled`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::new();
    /// tcs.set_result(1);
    /// assert!(!tcs.try_set_canceled(), "already completed");
    /// assert_eq!(tcs.task().wait(), Ok(&1));
    /// ```
    #[doc(alias = "try_set_cancelled")]
    pub fn try_set_canceled(&self) -> bool {
        self.try_set_error(TaskError::Canceled).is_ok()
    }

    /// Whether the task has been completed (by any source; .NET `tcs.Task.IsCompleted`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// let other = tcs.clone();
    /// assert!(!tcs.is_completed());
    /// other.set_result(1);
    /// assert!(tcs.is_completed(), "completed through a clone");
    /// ```
    pub fn is_completed(&self) -> bool {
        self.raw.snapshot().is_complete()
    }

    fn try_complete(&self, output: TaskOutput<T>) -> Result<(), TaskOutput<T>> {
        let outcome = outcome_of(&output);
        self.raw.try_complete(output, outcome)
    }

    /// Complete with what `make` returns (made once the task is claimed), or `false` if the
    /// task was already completed (`make` is dropped then, and what it holds with it).
    #[inline]
    fn complete_with(&self, outcome: Outcome, make: impl FnOnce() -> TaskOutput<T>) -> bool {
        self.raw.complete_with(outcome, make)
    }
}

/// An aggregate of no failures: refused as a task's error (.NET `SetException` with an empty
/// list throws).
fn is_empty_aggregate(error: &TaskError) -> bool {
    matches!(error, TaskError::Aggregate(errors) if errors.is_empty())
}

#[track_caller]
#[cold]
fn empty_aggregate(method: &str) -> ! {
    panic!(
        "TaskCompletionSource::{method}: an empty TaskError::Aggregate names no failure; \
         fault a task with at least one error"
    )
}

#[track_caller]
#[cold]
fn already_completed(method: &str) -> ! {
    panic!(
        "TaskCompletionSource::{method}: the task was already completed; \
         a task completes exactly once (use try_{method} when completers race)"
    )
}

impl<T> Default for TaskCompletionSource<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for TaskCompletionSource<T> {
    fn clone(&self) -> Self {
        self.raw.add_source();
        Self {
            // SAFETY: the copy is used only while it is a counted source, which keeps the
            // sources' reference (dropped by the last source only).
            raw: unsafe { self.raw.uncounted_copy() },
        }
    }
}

impl<T> TaskCompletionSource<T> {
    /// Whether no handle but the library's own (and sources) holds the task: asked before a
    /// completion by the library (a wait's timeout or forwarded outcome), whose synchronous
    /// continuations may drop a user's handle unobserved.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn is_unheld(&self) -> bool {
        !self.raw.is_held_outside()
    }

    /// Resolves when the task completes, without a handle of it: a completer racing others
    /// (`wait_async`'s timer and watcher) waits for the wait's end through its source, so
    /// that every library-held handle of a wait is a wait on that wait (see
    /// [`is_given_up`](Self::is_given_up)).
    #[cfg(feature = "tokio")]
    pub(crate) fn completion(&self) -> crate::task::Completion<'_, T> {
        crate::task::Completion::of(&self.raw)
    }

    /// Whether no handle at all holds the task, the library's own included: a wait's task,
    /// whose own completers hold no handle (they wait through
    /// [`completion`](Self::completion)), held neither by its user nor by a wait on it
    /// (which reads it as its user does). One load.
    #[cfg(feature = "tokio")]
    pub(crate) fn is_given_up(&self) -> bool {
        self.raw.is_only_handle()
    }

    /// After a completion by the library that [`is_unheld`](Self::is_unheld) or
    /// [`is_given_up`](Self::is_given_up) found nobody could observe, asked before it: its
    /// fault is observed, not reported (the wait was dropped).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn observe_completed(&self) {
        self.raw.observe_completed();
    }

    /// Whether the task's fault is marked observed (tests).
    #[cfg(all(test, feature = "tokio", not(valuetask_loom)))]
    pub(crate) fn is_observed(&self) -> bool {
        self.raw.snapshot().is_observed()
    }

    /// Let go of this source without abandoning its task, for a holder that knows another
    /// completer will complete it (a token's watcher, once the token fired: `runtime.rs`).
    /// If none did, the task would stay pending for good.
    pub(crate) fn release_to_other_completer(self) {
        let mut this = ManuallyDrop::new(self);
        if this.raw.release_source() {
            // SAFETY: the last source takes the sources' reference, once; `this` is not
            // dropped (`ManuallyDrop`) or used again.
            drop(unsafe { ManuallyDrop::take(&mut this.raw) });
        }
    }
}

impl<T> TaskCompletionSource<T> {
    /// [`try_set_error`](Self::try_set_error) whose awaiters are woken from the continuation
    /// thread, not this one, whatever the task's mode (`runtime::Drive`'s drop: see
    /// `continuation_thread::dropping_at_shutdown`).
    pub(crate) fn try_set_error_later(&self, error: TaskError) -> Result<(), TaskError> {
        let outcome = crate::task::outcome_of_error(&error);
        self.raw
            .try_complete_later(Err(error), outcome)
            .map_err(|output| output.err().expect("handed back as given"))
    }
}

impl<T> Drop for TaskCompletionSource<T> {
    fn drop(&mut self) {
        if !self.raw.release_source() {
            // Another source holds the sources' reference: this one is gone once uncounted.
            return;
        }
        // SAFETY: the last source takes the sources' reference, once, in its drop; `self.raw`
        // is not used after. Owned here, it is dropped even if the abandonment panics.
        let raw = unsafe { ManuallyDrop::take(&mut self.raw) };
        // With no handle of the task left (none was taken, or every one was dropped: a
        // consumer that gave up), nobody can await the abandonment or fail to observe it:
        // the cell just goes, unreported. With only the library's own left (a `cancel_on` or
        // `wait_async` watcher), it is abandoned, which ends them, and counts as observed.
        if !raw.snapshot().is_claimed() {
            abandon(&raw);
        }
    }
}

/// The last source dropped with the task not completed (its reference still held): abandon
/// the task if a handle is left (out of line: the completed case, the common one, stays a
/// load and a test). Its awaiters are woken here, or from the continuation thread inside
/// `continuation_thread::dropping_at_shutdown` (work a runtime's shutdown drops).
#[cold]
#[inline(never)]
fn abandon<T>(raw: &RawTask<TaskOutput<T>>) {
    // Any other handle, the library's own included (its watchers end on the abandonment).
    if !raw.is_only_handle() {
        let held = raw.is_held_outside();
        let later = crate::continuation_thread::is_dropping_at_shutdown();
        // No other source is left, but a completer without one can still race us
        // (`Task::try_cancel`, say from a `cancel_on` watcher): the completion is a
        // compare-and-swap, so whichever comes first wins and the other is ignored.
        raw.try_complete_in_drop(Err(TaskError::Abandoned), Outcome::Faulted, !held, later);
    }
}

impl<T> fmt::Debug for TaskCompletionSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCompletionSource")
            .field("task", &self.task())
            .finish()
    }
}

#[cfg(all(test, valuetask_loom))]
mod loom_models {
    use super::TaskCompletionSource;

    /// A library handle made from a user's handle (a clone, then counted internal: a
    /// `wait_async` on the task) while a source asks whether a user's handle holds the task.
    /// The user's handle is there throughout, so the answer is yes. The references and the
    /// internal count are two loads: read once each, the internal count could include the new
    /// handle while the references did not, and the user's handle would be taken for it.
    #[test]
    fn an_internal_handle_made_during_the_look_hides_no_users_handle() {
        let mut builder = loom::model::Builder::new();
        builder.max_branches = 100_000;
        builder.check(|| {
            let tcs = TaskCompletionSource::<u32>::new();
            let users = loom::sync::Arc::new(tcs.task());
            let shared = users.clone();
            let library = loom::thread::spawn(move || drop((*shared).clone().internal()));
            assert!(!tcs.is_unheld(), "the user's handle was not seen");
            library.join().unwrap();
            drop(users);
        });
    }
}
