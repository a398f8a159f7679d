//! Unobserved faults (.NET `TaskScheduler.UnobservedTaskException`): when the last handle of a
//! faulted task is dropped and nobody looked at its error (awaiting it, by value or by
//! reference, or its `result()`; `error()`, `try_result()`, `wait()`, `wait_timeout()`
//! returning it, `try_unwrap()` handing it over), a process-wide hook is called with the
//! error. `status()`, `is_faulted()` and `Debug` do not observe it, as in .NET.
//!
//! # Invariants
//!
//! - Every task cell gets its `on_unobserved` at creation; the cell calls it when a faulted
//!   output nobody observed is freed (`task/cell.rs`: `OBSERVED`).
//! - Internal tasks do not report their abandonment: the tasks behind the library's own
//!   forwarders and waits (`into_task`, `Task::when_all`, continuation waits) are abandoned
//!   exactly when the user's task they serve is, which reports that itself
//!   (`TaskCompletionSource::internal_with_task`, [`report_unless_abandoned`]). Their other faults (a
//!   user's waker that panicked while they completed the user's task) are reported.
//!   Forwarders catch panics in what they forward (`catch_panic.rs`) and put them in the
//!   user's task.

use std::sync::{Arc, RwLock};

use crate::error::{TaskError, TaskOutput};

type Hook = Arc<dyn Fn(&TaskError) + Send + Sync>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Set the process-wide hook called with the error of every faulted [`Task`](crate::Task)
/// whose last handle is dropped while nobody observed the error (.NET
/// `TaskScheduler.UnobservedTaskException`). It runs on the thread that drops that handle; a
/// panic in it is caught. The default hook emits a `tracing` event at warn level.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use valuetask::{set_unobserved_error_hook, Task, TaskError};
///
/// static SEEN: AtomicUsize = AtomicUsize::new(0);
/// set_unobserved_error_hook(|_error| {
///     SEEN.fetch_add(1, Ordering::SeqCst);
/// });
/// drop(Task::<u8>::from_error(TaskError::panicked("nobody looked")));
/// assert_eq!(SEEN.load(Ordering::SeqCst), 1);
/// ```
pub fn set_unobserved_error_hook(hook: impl Fn(&TaskError) + Send + Sync + 'static) {
    let old = HOOK
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .replace(Arc::new(hook));
    // Dropped after the lock (the guard is a temporary of the statement above): the old hook may own the last handle of a faulted task, whose
    // drop reports through the hook (a read of the lock this thread would still hold).
    drop(old);
}

/// Put the default hook (a `tracing` warning) back and return the hook that was set, or the
/// default one, as `std::panic::take_hook` does: to restore it later, or to call it from a
/// new hook that adds to it (.NET: unsubscribing from `UnobservedTaskException`).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use valuetask::{set_unobserved_error_hook, take_unobserved_error_hook, Task, TaskError};
///
/// static SEEN: AtomicUsize = AtomicUsize::new(0);
/// let previous = take_unobserved_error_hook();
/// set_unobserved_error_hook(move |error| {
///     SEEN.fetch_add(1, Ordering::SeqCst);
///     previous(error); // and what was there before
/// });
/// drop(Task::<u8>::from_error(TaskError::panicked("nobody looked")));
/// assert_eq!(SEEN.load(Ordering::SeqCst), 1);
///
/// let ours = take_unobserved_error_hook(); // the default is back
/// drop(Task::<u8>::from_error(TaskError::panicked("nobody looked")));
/// assert_eq!(SEEN.load(Ordering::SeqCst), 1, "ours is off");
/// ours(&TaskError::Abandoned);
/// assert_eq!(SEEN.load(Ordering::SeqCst), 2, "and handed back");
/// ```
pub fn take_unobserved_error_hook() -> Box<dyn Fn(&TaskError) + Send + Sync> {
    let old = HOOK.write().unwrap_or_else(|e| e.into_inner()).take();
    match old {
        Some(hook) => Box::new(move |error| hook(error)),
        None => Box::new(default_hook),
    }
}

/// The default hook: a `tracing` warning.
fn default_hook(error: &TaskError) {
    tracing::warn!(
        error = %error,
        "a faulted valuetask::Task was dropped without anyone observing its error"
    );
}

/// The `on_unobserved` of the library's internal tasks (forwarders, continuation waits): an
/// internal task is abandoned exactly when the user's task it serves is, which reports that
/// itself; any other fault (a waker that panicked while it completed the user's task) is
/// reported.
pub(crate) fn report_unless_abandoned<T>(output: &TaskOutput<T>) {
    if !matches!(output, Err(TaskError::Abandoned)) {
        report(output);
    }
}

/// Report an unobserved faulted output (the cell's `on_unobserved`, and errors nobody can
/// observe any more). A panicking hook is contained here: a report is made from drops,
/// from tokio's task harness and from calls that return a task, none of which may unwind.
pub(crate) fn report<T>(output: &TaskOutput<T>) {
    let Err(error) = output else {
        return;
    };
    let hook = HOOK.read().unwrap_or_else(|e| e.into_inner()).clone();
    // The hook is dropped inside the catch too: a concurrent replacement may have left this
    // the last `Arc` of it, whose captures' `Drop` may panic. The default hook is caught as
    // well: it runs the user's `tracing` subscriber.
    let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || match hook {
        Some(hook) => hook(error),
        None => default_hook(error),
    }));
    if let Err(panic) = called {
        crate::catch_panic::discard(panic);
    }
}
