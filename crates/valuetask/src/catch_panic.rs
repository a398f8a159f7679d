//! A future adapter that turns a panic in `poll` into a [`TaskError`]: the library's own
//! driving and forwarding futures complete a task with it, so a panic lands in the task whose
//! work panicked, never in a throwaway one.
//!
//! # Invariants
//!
//! - Work is dropped before its task completes: the adapter drops a finished future (also
//!   after a panic) before handing its output on, under the catch, so whoever publishes the
//!   output knows the work's destructors ran, and a panicking `Drop` faults the task. Users:
//!   the forwarding futures of `into_task` and `Task::flatten` (`Task::when_all` catches its
//!   clones' panics itself, after every input completed);
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

impl<T> DropEachCaught<T> {
    /// `inputs` collected, those taken dropped one at a time under a catch if the iterator
    /// panics half-way: a plain `collect` dropped them inside the unwinding, and one whose
    /// `Drop` panicked aborted the process. (What the panicking iterator still holds it drops
    /// itself.) A `Vec`'s own iterator, mapped or not, is collected into its buffer, as by
    /// `collect`.
    pub(crate) fn collect(inputs: impl IntoIterator<Item = T>) -> Self {
        let caught: Vec<DropCaught<T>> = inputs
            .into_iter()
            .map(|input| DropCaught(std::mem::ManuallyDrop::new(input)))
            .collect();
        let mut caught = std::mem::ManuallyDrop::new(caught);
        let (pointer, length, capacity) = (caught.as_mut_ptr(), caught.len(), caught.capacity());
        // SAFETY: `DropCaught<T>` is `repr(transparent)` over `ManuallyDrop<T>`, itself over
        // `T`: the same size and alignment, so the buffer is one of `capacity` `T`s, the
        // first `length` initialized; `caught` is never used or dropped again.
        DropEachCaught(unsafe { Vec::from_raw_parts(pointer.cast::<T>(), length, capacity) })
    }
}

/// A value dropped under a catch ([`drop_discarding`]): [`DropEachCaught::collect`]'s
/// elements while the collection may unwind.
#[repr(transparent)]
struct DropCaught<T>(std::mem::ManuallyDrop<T>);

impl<T> Drop for DropCaught<T> {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and the value is not used after.
        drop_discarding(unsafe { std::mem::ManuallyDrop::take(&mut self.0) });
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

/// Resume a caught `panic` in the caller, unless the thread is already unwinding (the caller
/// is a drop during a panic), where resuming it would abort the process: then it is
/// discarded.
#[cold]
pub(crate) fn resume_unless_unwinding(panic: Panic) {
    if std::thread::panicking() {
        discard(panic);
    } else {
        std::panic::resume_unwind(panic);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its drops; the armed ones panic in `Drop`.
    struct Dropped<'a>(&'a AtomicUsize, bool);

    impl Drop for Dropped<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
            assert!(!self.1, "deliberate panic in a drop");
        }
    }

    #[test]
    fn collect_reuses_a_vecs_buffer_and_drops_each_once() {
        let drops = AtomicUsize::new(0);
        let inputs: Vec<Dropped<'_>> = (0..5).map(|_| Dropped(&drops, false)).collect();
        let buffer = inputs.as_ptr();
        let collected = DropEachCaught::collect(inputs);
        assert_eq!(collected.0.as_ptr(), buffer, "collected in place");
        assert_eq!(collected.0.len(), 5);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(collected);
        assert_eq!(drops.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn collect_drops_what_it_took_one_at_a_time_when_the_iterator_panics() {
        let drops = AtomicUsize::new(0);
        let inputs = (0..4).map(|i| {
            assert!(i < 3, "deliberate panic in the iterator");
            Dropped(&drops, true)
        });
        // Three values whose drops panic, dropped while the iterator's panic unwinds: each
        // under its own catch, or the second would abort.
        let panic = catch_unwind(AssertUnwindSafe(|| DropEachCaught::collect(inputs)))
            .err()
            .expect("the iterator's panic comes out");
        let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
        assert_eq!(message, "deliberate panic in the iterator");
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    }
}
