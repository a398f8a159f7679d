//! A future adapter that turns a panic in `poll` into a [`TaskError`]: the library's own
//! driving and forwarding futures complete a task with it, so a panic lands in the task whose
//! work panicked, never in a throwaway one.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::task::TaskError;

/// `future`, yielding `Err(TaskError::Panicked(..))` if a poll panics. The panicked future is
/// dropped at once, also under the catch (a `Drop` that panics too cannot escape).
pub(crate) fn catch_panic<F: Future>(future: F) -> CatchPanic<F> {
    CatchPanic(Some(future))
}

/// The future of [`catch_panic`].
pub(crate) struct CatchPanic<F>(Option<F>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the inner future is structurally pinned: it is never moved out of the
        // adapter, which is pinned; it is only dropped in place (`Pin::set`).
        let mut slot = unsafe { self.map_unchecked_mut(|c| &mut c.0) };
        let polled = catch_unwind(AssertUnwindSafe(|| {
            slot.as_mut()
                .as_pin_mut()
                .expect("CatchPanic polled after it completed")
                .poll(cx)
        }));
        match polled {
            Ok(polled) => polled.map(Ok),
            Err(panic) => {
                let error = TaskError::from_panic(&*panic);
                let _ = catch_unwind(AssertUnwindSafe(|| slot.set(None)));
                Poll::Ready(Err(error))
            }
        }
    }
}
