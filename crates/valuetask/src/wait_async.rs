//! `Task::wait_async` (.NET `Task.WaitAsync(TimeSpan, CancellationToken)`): a task that
//! completes as the task waited for does, unless a timeout or a token ends the wait first.
//!
//! # Invariants
//!
//! - The task waited for is never completed, canceled or otherwise touched here: only its
//!   completion is watched.
//! - A wait on a completed task is that task (a new handle, no allocation), whatever the
//!   timeout and the token; a wait that cannot end before the task (no token that can fire,
//!   no timeout) is that task too.
//! - Otherwise the wait is a new task with one completer among three: the task's completion
//!   (its outcome, cloned), the token (canceled inside `token.cancel()`, as .NET's
//!   `CancellationPromise` is: awaiters are woken there), and the timer (`TaskError::TimedOut`,
//!   from valuetask's global runtime). Whichever comes first wins (`try_set_*`); the others
//!   end as soon as the wait is complete, so nothing outlives it: the watcher over the task
//!   and the token stops when the wait completes, and the timer races its sleep against the
//!   wait's completion. A wait dropped before it completes does not stop them (as in .NET,
//!   where the timer and the registration stay until one fires): the timer stays until its
//!   deadline, the watcher until the task completes or the token fires.
//! - The watcher's handle of the task is the library's own (`InternalHandle`); the watcher
//!   and the timer hold no handle of the wait, only its source, and await its end through it.
//!   So the only library-held handles of a wait are those of waits on it.
//! - A wait is given up when no handle of the user's holds it and no wait on it reads it
//!   (dropping a wait is how Rust gives it up). A given-up wait that ends faulted is observed,
//!   not reported to the unobserved-error hook, when its own completer (the timer, or the
//!   watcher passing the task's outcome on) won; it reads the task's fault without observing
//!   it, so that fault stays the task's to report. A wait that is not given up takes the
//!   fault over: the task is marked observed once the wait holds its outcome (.NET marks the
//!   original handled), never when the timer or the token won.
//! - Whether a wait is given up is read before its completion (its synchronous continuations
//!   may drop the last handle), so a handle dropped just then leaves a fault reported: a
//!   report too many, never one missed. Likewise a wait read only by a wait on it takes the
//!   task's fault even if that outer wait is dropped later: if the task's own holder reads
//!   the fault, the inner wait's copy is still reported.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::completion_source::TaskCompletionSource;
use crate::error::TaskError;
use crate::task::{InternalHandle, Task};

impl<T: Clone + Send + Sync + 'static> Task<T> {
    /// A task that completes as this one does, or ends with [`TaskError::TimedOut`] after
    /// `timeout`, or canceled when `token` fires, whichever comes first (.NET
    /// `Task.WaitAsync(TimeSpan, CancellationToken)`). This task is not canceled by either:
    /// only the wait ends.
    ///
    /// - On a completed task it is this task itself, with its own outcome, even with a zero
    ///   timeout and a token already canceled, and allocates nothing.
    /// - On a pending one: a token already canceled gives a canceled task; a zero timeout a
    ///   timed-out one; otherwise the wait stays pending until one of the three happens. A
    ///   token canceled later cancels the wait inside `token.cancel()` (see
    ///   [`TaskCompletionSource::cancel_on`](crate::TaskCompletionSource::cancel_on) for a
    ///   `cancel()` deep in a stack). `Duration::MAX` (or any timeout past what `Instant`
    ///   can hold, or within a second of it) waits without a timeout.
    ///
    /// The value is cloned into the wait's task when this task completes first. Dropping the
    /// wait gives it up, but its timer stays until the deadline and its watch of the task
    /// until the task completes or the token fires (as .NET's do); a fault it then ends with
    /// is not reported as unobserved (a fault of this task stays this task's to report).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio_util::sync::CancellationToken;
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let token = CancellationToken::new();
    /// let wait = tcs.task().wait_async(Duration::from_secs(60), token.clone());
    /// assert!(!wait.is_completed());
    /// token.cancel();
    /// assert_eq!(wait.error(), Some(&TaskError::Canceled), "canceled inside cancel()");
    /// assert!(!tcs.task().is_completed(), "the task itself goes on");
    ///
    /// let late = tcs.task().wait_async(Duration::from_millis(1), CancellationToken::new());
    /// assert_eq!(late.wait(), Err(&TaskError::TimedOut));
    ///
    /// tcs.set_result(7);
    /// let done = tcs.task().wait_async(Duration::ZERO, token); // canceled token, zero timeout
    /// assert!(done.ptr_eq(&tcs.task()), "a completed task is its own wait");
    /// ```
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn wait_async(&self, timeout: Duration, token: CancellationToken) -> Task<T> {
        self.wait_until(Some(timeout), Some(token))
    }

    /// [`wait_async`](Self::wait_async) with a timeout only (.NET `Task.WaitAsync(TimeSpan)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use valuetask::{TaskCompletionSource, TaskError};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let wait = tcs.task().wait_async_timeout(Duration::ZERO);
    /// assert!(wait.error().is_some_and(TaskError::is_timeout));
    /// ```
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn wait_async_timeout(&self, timeout: Duration) -> Task<T> {
        self.wait_until(Some(timeout), None)
    }

    /// [`wait_async`](Self::wait_async) with a token only (.NET
    /// `Task.WaitAsync(CancellationToken)`).
    ///
    /// ```
    /// use tokio_util::sync::CancellationToken;
    /// use valuetask::TaskCompletionSource;
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let token = CancellationToken::new();
    /// let wait = tcs.task().wait_async_cancellation(token.clone());
    /// tcs.set_result(1);
    /// assert_eq!(wait.wait(), Ok(&1), "the task completed first");
    /// token.cancel();
    /// assert_eq!(wait.wait(), Ok(&1));
    /// ```
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn wait_async_cancellation(&self, token: CancellationToken) -> Task<T> {
        self.wait_until(None, Some(token))
    }

    fn wait_until(&self, timeout: Option<Duration>, token: Option<CancellationToken>) -> Task<T> {
        let deadline = timeout.and_then(crate::runtime::deadline_after);
        if self.is_completed() || (deadline.is_none() && token.is_none()) {
            return self.clone();
        }
        if token.as_ref().is_some_and(CancellationToken::is_cancelled) {
            return Task::from_canceled();
        }
        if timeout == Some(Duration::ZERO) {
            return Task::from_error(TaskError::TimedOut);
        }
        let tcs = TaskCompletionSource::new();
        let wait = tcs.task();
        if let Some(deadline) = deadline {
            time_out_at(deadline, tcs.clone());
        }
        watch(self.clone(), token, tcs);
        wait
    }
}

/// Complete the wait with the task's outcome, or cancel it inside `token.cancel()`, unless it
/// completed otherwise first; stops once the wait is complete.
fn watch<T: Clone + Send + Sync + 'static>(
    task: Task<T>,
    token: Option<CancellationToken>,
    wait: TaskCompletionSource<T>,
) {
    // The watcher's handle of the task is the library's own; the wait's end is awaited
    // through its source, with no handle (see `is_given_up`).
    let task = task.internal();
    crate::watcher::watch(async move {
        let mut done = pin!(task.completion());
        let mut ended = pin!(wait.completion());
        let mut canceled = pin!(token.as_ref().map(CancellationToken::cancelled));
        std::future::poll_fn(|cx| {
            if let Some(canceled) = canceled.as_mut().as_pin_mut() {
                if canceled.poll(cx).is_ready() {
                    // Inside `token.cancel()`: an awaiter's waker that panics must not unwind
                    // through tokio's loop over the token's waiters (see `cancel_on`).
                    let canceled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        wait.try_set_canceled();
                    }));
                    if let Err(panic) = canceled {
                        crate::catch_panic::discard(panic);
                    }
                    return Poll::Ready(());
                }
            }
            // The wait ended otherwise (timed out): the task's outcome is not read, so a fault
            // it ends with later is still reported if nobody else looks (.NET's `WaitAsync`
            // removes its continuation and never reads the task either).
            if ended.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if done.as_mut().poll(cx).is_ready() {
                forward(&task, &wait);
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    });
}

/// Pass the completed task's outcome into the wait, unless the wait completed first.
///
/// Asked before completing (the wait's synchronous continuations, which hold it, run inside
/// the completion): whether the wait is given up, held by nobody (dropped: Rust's
/// cancellation of it) and read by no wait on it. A given-up wait reads the task without
/// observing it, so a fault stays the task's to report, and ends observed. Otherwise the
/// fault moves into the wait and is the wait's to report (.NET marks the original handled
/// then): the task is marked observed once the wait took its outcome, never when the timer
/// or the token won (the wait then ends with its own error, not the task's).
fn forward<T: Clone>(task: &InternalHandle<T>, wait: &TaskCompletionSource<T>) {
    let given_up = wait.is_given_up();
    // A panicking `T::clone` faults the wait (as it faults an `as_task` of the task), rather
    // than leaving it to the timeout or pending.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match task.peek() {
        Some(Ok(value)) => Ok(value.clone()),
        Some(Err(error)) => Err(error.clone()),
        None => unreachable!("a completed task has an outcome"),
    }))
    .unwrap_or_else(|panic| Err(crate::catch_panic::panic_error(panic)));
    // An empty `Aggregate` is passed on too (`try_set_outcome` would refuse it). Inside the
    // task's completion: a waker of the wait's awaiters that panics must not unwind into the
    // task's completer (as in the token's branch).
    let won = std::cell::Cell::new(false);
    let completed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait.try_forward_outcome(outcome, &won);
    }));
    if won.get() {
        if given_up {
            wait.observe_completed();
        } else {
            // Read to mark it observed: the wait holds its outcome now.
            let _ = task.try_result();
        }
    }
    if let Err(panic) = completed {
        crate::catch_panic::discard(panic);
    }
}

/// End the wait with `TaskError::TimedOut` at `deadline`, unless it completed first: a sleep
/// on valuetask's global runtime (which always has a timer), raced against the wait's end,
/// awaited through its source.
fn time_out_at<T: Send + Sync + 'static>(deadline: Instant, wait: TaskCompletionSource<T>) {
    drop(
        crate::global_runtime::background_handle().spawn(async move {
            let mut sleep = pin!(tokio::time::sleep_until(tokio::time::Instant::from_std(
                deadline
            )));
            let mut ended = pin!(wait.completion());
            std::future::poll_fn(|cx| {
                if sleep.as_mut().poll(cx).is_ready() {
                    time_out(&wait);
                    return Poll::Ready(());
                }
                ended.as_mut().poll(cx)
            })
            .await;
        }),
    );
}

/// The timer's completion. A wait held by nobody but the library ends observed, but only
/// when this completed it: a fault the task's outcome brought in first stays to report. A
/// wait on this wait is no holder here: it reads the timeout as its user does, or, given up
/// itself, drops it. On a runtime worker, where tokio would drop it unreported, the panic of
/// an awaiter's waker goes to the unobserved-error hook.
fn time_out<T>(wait: &TaskCompletionSource<T>) {
    let given_up = wait.is_unheld();
    let won = std::cell::Cell::new(false);
    crate::runtime::report_lost(|| {
        wait.try_forward_outcome(Err(TaskError::TimedOut), &won);
        None
    });
    if won.get() && given_up {
        wait.observe_completed();
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;

    /// The timer's sleep and the wait's completion both ready when the timer runs (its
    /// worker was busy past the deadline): the task's fault came in first, into a wait the
    /// user held and dropped unread. The timer lost: the fault stays the wait's to report.
    #[test]
    fn a_timer_that_lost_leaves_a_passed_on_fault_to_report() {
        let wait = TaskCompletionSource::<u8>::new();
        let held = wait.task();
        forward(
            &Task::from_error(TaskError::panicked("passed on")).internal(),
            &wait,
        );
        drop(held);
        time_out(&wait);
        assert!(
            !wait.is_observed(),
            "the timer marked a fault it did not bring"
        );
        let _ = wait.task().error(); // observed here, so that the test reports nothing
                                     // Its own timeout, in a wait nobody holds, is observed.
        let wait = TaskCompletionSource::<u8>::new();
        time_out(&wait);
        assert!(wait.is_observed());
    }

    /// The timer won in a wait the user holds: the task's outcome, passed on after, does not
    /// mark the task observed (the wait holds a timeout, not the task's fault).
    #[test]
    fn a_forward_that_lost_leaves_the_tasks_fault_to_report() {
        let wait = TaskCompletionSource::<u8>::new();
        let held = wait.task();
        time_out(&wait);
        let tcs = TaskCompletionSource::<u8>::new();
        tcs.set_error(TaskError::panicked("the task's own"));
        forward(&tcs.task().internal(), &wait);
        assert!(
            !tcs.is_observed(),
            "the task's fault was taken by a wait that did not hold it"
        );
        assert_eq!(held.error(), Some(&TaskError::TimedOut));
        let _ = tcs.task().error(); // observed here, so that the test reports nothing
    }
}
