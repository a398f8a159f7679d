//! A future adapter that turns a panic in `poll` into a [`TaskError`]: the library's own
//! driving and forwarding futures complete a task with it, so a panic lands in the task whose
//! work panicked, never in a throwaway one.
//!
//! # Invariants
//!
//! - Work is dropped before its task completes: the adapter drops a finished future (also
//!   after a panic) before handing its output on, under the catch, so whoever publishes the
//!   output knows the work's destructors ran, and a panicking `Drop` faults the task. Users:
//!   the forwarding futures of `into_task`, `Task::when_all` and `Task::flatten`;
//!   `runtime::Drive` keeps the same rule with a layout of its own (two words smaller). The
//!   exception is cancellation by token: the task is canceled inside
//!   `cancel()` and `Drive` drops the future at its next poll; a panic in that drop goes to
//!   the unobserved-error hook.
//! - Caught payloads are dropped with [`discard`], and thrown-away values with
//!   [`DropEachCaught`] / [`drop_discarding`], one at a time under a catch: a payload or value
//!   whose `Drop` panics can neither kill a thread nor, with a second panic, abort.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::error::TaskError;

/// `future`, yielding `Err(TaskError::Panicked(..))` if a poll panics. The future is dropped
/// as soon as it finishes (`Ready`, or panicked), before its output is handed on, and under
/// the catch: whoever publishes the output knows the work's destructors have run, and a
/// `Drop` that panics becomes the error.
pub(crate) fn catch_panic<F: Future>(future: F) -> CatchPanic<F> {
    CatchPanic(Some(future))
}

/// The future of [`catch_panic`].
pub(crate) struct CatchPanic<F>(Option<F>);

/// Poll `future` under a catch: a panic is the error. The caller then drops the finished
/// future ([`drop_caught`]) and hands on [`finished`]'s result: the rule of this module, for
/// [`CatchPanic`] and for `runtime::Drive`, which keeps its future without an `Option`.
pub(crate) fn poll_caught<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, TaskError>> {
    match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
        Err(panic) => Poll::Ready(Err(panic_error(panic))),
    }
}

/// Run `drop_it` (the drop of a finished future, in place) under a catch: `Err` if it
/// panicked.
pub(crate) fn drop_caught(drop_it: impl FnOnce()) -> Result<(), TaskError> {
    catch_unwind(AssertUnwindSafe(drop_it)).map_err(panic_error)
}

/// What a finished future hands on, from its poll's result and its drop's: a panic in the
/// poll is the error (one in the drop after it is discarded); a panic in the drop after a
/// value is the error, and the value is discarded (the work's destructor failed: the
/// operation failed).
pub(crate) fn finished<T>(
    polled: Result<T, TaskError>,
    dropped: Result<(), TaskError>,
) -> Result<T, TaskError> {
    match (polled, dropped) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(value), Err(error)) => {
            drop_discarding(value);
            Err(error)
        }
        (Err(error), _) => Err(error),
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the inner future is structurally pinned: it is never moved out of the
        // adapter, which is pinned; it is only dropped in place (`Pin::set`).
        let mut slot = unsafe { self.map_unchecked_mut(|c| &mut c.0) };
        let future = slot
            .as_mut()
            .as_pin_mut()
            .expect("CatchPanic polled after it completed");
        let polled = std::task::ready!(poll_caught(future, cx));
        Poll::Ready(finished(polled, drop_caught(|| slot.set(None))))
    }
}

/// The error for a caught panic; its payload is dropped with [`discard`].
pub(crate) fn panic_error(payload: Box<dyn Any + Send>) -> TaskError {
    let error = TaskError::from_panic(&*payload);
    discard(payload);
    error
}

/// Drop a caught panic's payload without letting a panicking `Drop` of the payload escape.
/// The panic of that `Drop` has a payload of its own (usually a string), dropped the same way;
/// only a chain of payloads that keep panicking, past a few, is leaked.
pub(crate) fn discard(payload: Box<dyn Any + Send>) {
    let mut payload = payload;
    for _ in 0..4 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(again) => payload = again,
        }
    }
    std::mem::forget(payload);
}

/// Values dropped one at a time, each under its own catch, when this drops: one value whose
/// `Drop` panics cannot make the next one's panic a panic during an unwind (an abort), nor
/// leave the rest undropped. Such panics are discarded: the values were being thrown away.
pub(crate) struct DropEachCaught<T>(pub(crate) Vec<T>);

impl<T> Drop for DropEachCaught<T> {
    fn drop(&mut self) {
        self.0.drain(..).for_each(drop_discarding);
    }
}

/// Drop `value`; a panic in its `Drop` is discarded (the value was being thrown away, and
/// the caller may already be reporting a failure of its own).
pub(crate) fn drop_discarding<T>(value: T) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        discard(panic);
    }
}
/// A panic caught from a waker: its payload.
pub(crate) type Panic = Box<dyn std::any::Any + Send>;

/// Wake each waker, catching panics; returns the first one.
pub(crate) fn wake_each(wakers: impl Iterator<Item = Waker>) -> Option<Panic> {
    let mut first_panic = None;
    for w in wakers {
        wake_caught(w, &mut first_panic);
    }
    first_panic
}

/// Wake `waker`, catching a panic: kept in `first_panic` if it is the first, discarded
/// otherwise. For loops that wake several wakers and must wake them all.
#[inline]
pub(crate) fn wake_caught(waker: Waker, first_panic: &mut Option<Panic>) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
        keep_first(panic, first_panic);
    }
}

#[cold]
fn keep_first(panic: Panic, first_panic: &mut Option<Panic>) {
    match first_panic {
        None => *first_panic = Some(panic),
        // Dropped so that a payload whose `Drop` panics cannot stop the loop.
        Some(_) => discard(panic),
    }
}
