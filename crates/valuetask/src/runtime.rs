//! Running futures as hot tasks on tokio (.NET `Task.Run`, `Task.Delay`, `Task.Yield`, and
//! cancellation with `tokio_util::sync::CancellationToken`).
//!
//! Where futures run: the ambient tokio runtime, or, outside one, valuetask's global
//! multi-thread runtime (`valuetask-global` workers, tokio's default of one per core unless
//! `VALUETASK_WORKER_THREADS` is a positive number), started on first use and never shut down.
//! The library's own background work (scheduled continuations, timers) always runs on the
//! global runtime; cancellation watchers need none (`watcher.rs`: they run inside
//! `token.cancel()`). Without feature `tokio`, futures that `ValueTask::as_task` must drive
//! run on a new thread each (a future that never ends keeps its thread for good, whatever
//! becomes of its task's handles), and the `Task::run` family is not available.
//!
//! # Invariants
//!
//! - Background work runs on the global runtime (`global_runtime::background_handle`),
//!   never the ambient
//!   one, which may stop. `Task::run` and `as_task` use the ambient runtime whatever its
//!   flavor, as `tokio::spawn` does.
//! - `Drive` polls a future under a catch and completes a task: a panic faults it; dropped
//!   unfinished (its runtime shut down), it abandons it (faults it, if the future's `Drop`
//!   panics), unless the token fired (below); that completion's awaiters, and those of any
//!   task the future's drop abandons or bridge it wakes, run elsewhere, not inside the
//!   shutdown (unless no thread can be started: `continuation_thread::dropping_at_shutdown`). Its
//!   future is initialized exactly while it holds its source (no flag: see `Drive`).
//! - A fired token's task is completed only by the token's watcher (`cancel_when`, inside
//!   `token.cancel()`), registered before the task is handed out: a `Drive` that sees the
//!   token fire drops its future and lets go of its source without completing the task.
//! - `global_runtime::run_elsewhere` hands a run to the global runtime's blocking pool
//!   (scheduled continuations, bridges and watchers woken too deep in a stack), since a
//!   continuation is synchronous code and may block.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::catch_panic::{drop_caught, finished, poll_caught};
use crate::completion_source::TaskCompletionSource;
use crate::error::TaskError;
use crate::task::Task;

/// Run `future` to completion somewhere else; nobody joins it.
fn spawn_detached(future: impl Future<Output = ()> + Send + 'static, on: Option<&Handle>) {
    #[cfg(feature = "tokio")]
    {
        match on {
            Some(handle) => drop(handle.spawn(future)),
            None => drop(crate::global_runtime::handle().spawn(future)),
        }
    }
    #[cfg(not(feature = "tokio"))]
    {
        let _ = on;
        // A thread refused (the OS is out of them) drops the closure, and with it the
        // future's `Drive`, whose source abandons the task: the task ends
        // `TaskError::Abandoned`, as when a runtime shuts down under it.
        let _ = std::thread::Builder::new()
            .name("valuetask-drive".into())
            .spawn(move || crate::blocking::block_on(future));
    }
}

#[cfg(feature = "tokio")]
type Handle = tokio::runtime::Handle;
#[cfg(not(feature = "tokio"))]
type Handle = std::convert::Infallible;

/// Start `future` on a runtime (`on`, else the ambient or global one) as a hot task; an
/// `internal` one for the library's own forwarders (see `TaskCompletionSource::internal`).
pub(crate) fn drive<F>(future: F, on: Option<&Handle>, internal: bool) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + Sync + 'static,
{
    let (tcs, task) = if internal {
        TaskCompletionSource::internal_with_task()
    } else {
        TaskCompletionSource::new_with_task()
    };
    spawn_detached(Drive::new(future, tcs, NoCancel), on);
    task
}

/// Polls a future to completion and completes a task with its output or a panic as
/// [`TaskError::Panicked`]; a fired token drops the future at once and leaves the task to the
/// token's watcher, which cancels it. Dropped unfinished (its runtime shut down), its source
/// completes the task as abandoned (or faulted by a panic in the future's `Drop`), unless the
/// token fired: then the watcher cancels it.
///
/// As small as the future allows, since tokio allocates a task's cell in steps of 128 bytes:
/// the future and one word, the source, whose presence says the future is alive (no flag of
/// its own, no `Option` tag around the future); what can cancel it is a type, `C`, and
/// `NoCancel` for `Task::run` takes no space. Two words more (an `Option` around the future
/// and an optional token) made `Task::run` of a small future allocate 256 bytes where
/// `tokio::spawn` allocates 128.
///
/// Invariant: `future` is initialized exactly while `tcs` is `Some`. It is dropped in place,
/// under a catch, after `tcs` is taken, before the task completes (`catch_panic.rs`).
struct Drive<F: Future, C: CancelSignal = NoCancel> {
    future: ManuallyDrop<F>,
    tcs: Option<TaskCompletionSource<F::Output>>,
    cancel: C,
}

impl<F: Future, C: CancelSignal> Drive<F, C> {
    fn new(future: F, tcs: TaskCompletionSource<F::Output>, cancel: C) -> Self {
        Self {
            future: ManuallyDrop::new(future),
            tcs: Some(tcs),
            cancel,
        }
    }
}

/// What can end a [`Drive`] early; asked before the future at every poll.
trait CancelSignal: Unpin {
    /// Whether the signal fired: the future is then dropped (the token's watcher cancels
    /// the task).
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool;
}

/// A [`Drive`] nothing cancels.
struct NoCancel;

impl CancelSignal for NoCancel {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll_fired(&mut self, _: &mut Context<'_>) -> bool {
        false
    }
}

#[cfg(feature = "tokio")]
impl CancelSignal for Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>> {
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
        self.as_mut().poll(cx).is_ready()
    }
}

impl<F: Future, C: CancelSignal> Future for Drive<F, C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `Drive`, which is
        // pinned, only dropped in place; the other fields are not pinned (`C: Unpin`).
        let this = unsafe { self.get_unchecked_mut() };
        assert!(this.tcs.is_some(), "a Drive polled after it completed");
        if this.cancel.poll_fired(cx) {
            // The token fired, so its watcher (`cancel_when`, registered before the task was
            // handed out) cancels the task inside `cancel()`, on the canceling thread, as
            // .NET does. This poll may run on a worker before that: it must not complete the
            // task itself (its awaiters would run here), only drop the work and let go of
            // its source without abandoning the task. A `Drop` that panics cannot fault a
            // task that ends canceled: the panic goes to the unobserved-error hook.
            let (tcs, dropped) = this.finish();
            tcs.release_to_other_completer();
            if let Err(panicked) = dropped {
                crate::unobserved::report::<()>(&Err(panicked));
            }
            return Poll::Ready(());
        }
        // SAFETY: live (`tcs` is `Some`) and structurally pinned (see above).
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let polled = std::task::ready!(poll_caught(future, cx));
        // The work is dropped before its task completes (see `catch_panic.rs`).
        let (tcs, dropped) = this.finish();
        // The token may have canceled the task while the work ran its last poll. Then, as in
        // the branch above, a panic nobody will see (the work's, or the `Drop` of the value
        // thrown away) goes to the unobserved-error hook.
        match finished(polled, dropped) {
            Ok(value) => report_lost(|| {
                tcs.try_set_result(value).err().and_then(|value| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)))
                        .err()
                        .map(crate::catch_panic::panic_error)
                })
            }),
            Err(error) => report_lost(|| tcs.try_set_error(error).err()),
        }
        Poll::Ready(())
    }
}

impl<F: Future, C: CancelSignal> Drive<F, C> {
    /// Take the source and drop the future in place, under a catch: the source to complete,
    /// and `Err` if the future's `Drop` panicked.
    fn finish(&mut self) -> (TaskCompletionSource<F::Output>, Result<(), TaskError>) {
        let tcs = self.tcs.take().expect("a live Drive has its source");
        let future = &mut self.future;
        // SAFETY: `tcs` was `Some`, so the future was live; it is dropped once, in place
        // (pinned data is never moved), and `tcs` is `None` from now on.
        let dropped = drop_caught(|| unsafe { ManuallyDrop::drop(future) });
        (tcs, dropped)
    }
}

impl<F: Future, C: CancelSignal> Drop for Drive<F, C> {
    fn drop(&mut self) {
        if self.tcs.is_none() {
            return;
        }
        // Unfinished (its runtime shut down): the future goes first, under a catch. If the
        // token fired, its watcher cancels the task inside `cancel()`, which may not have
        // reached it yet: the source is let go of, as at a poll that sees the token fire.
        // Otherwise a panic in that drop faults the task, and without one the source,
        // dropped here, abandons it. The runtime drops its tasks on its own threads, one
        // after another on each, so a synchronous continuation run here that waited for
        // another of its tasks could wait for good: the awaiters of this task, and of any
        // task the future's drop abandons (a source it holds: `into_task`'s forwarder, a
        // user's) or bridge it wakes (a pool's completer), run elsewhere.
        crate::continuation_thread::dropping_at_shutdown(|| {
            let (tcs, dropped) = self.finish();
            let mut asking = Context::from_waker(std::task::Waker::noop());
            if self.cancel.poll_fired(&mut asking) {
                tcs.release_to_other_completer();
                report_lost(|| dropped.err());
            } else {
                report_lost(move || {
                    dropped
                        .err()
                        .and_then(|panicked| tcs.try_set_error_later(panicked).err())
                });
            }
        });
    }
}

/// Complete a [`Drive`]'s task (or let its last source abandon it; or `wait_async`'s timer
/// its wait) with `complete`, which
/// returns an error nobody will see. That error, or the panic of an awaiter's waker that the
/// completion resumes (woken inline: the continuation thread discards those it wakes), goes
/// to the unobserved-error hook: a drive completes on a runtime worker or in its shutdown,
/// where nobody catches it (tokio drops a task's panic).
pub(crate) fn report_lost(complete: impl FnOnce() -> Option<TaskError>) {
    let lost = std::panic::catch_unwind(std::panic::AssertUnwindSafe(complete))
        .unwrap_or_else(|panicked| Some(crate::catch_panic::panic_error(panicked)));
    if let Some(error) = lost {
        crate::unobserved::report::<()>(&Err(error));
    }
}

/// A `run_blocking` job: dropped unrun (by its runtime's blocking pool at shutdown, or by a
/// spawn refused after it), its task and any a source it holds abandons wake their
/// awaiters from the continuation thread, as a [`Drive`] dropped by a shutdown does: the
/// pool drops its queue one job after another on a thread, and on the caller's thread the
/// drop is inside `run_blocking`.
#[cfg(feature = "tokio")]
struct DropsLater<J>(Option<J>);

#[cfg(feature = "tokio")]
impl<J> Drop for DropsLater<J> {
    fn drop(&mut self) {
        if let Some(unrun) = self.0.take() {
            crate::continuation_thread::dropping_at_shutdown(|| drop(unrun));
        }
    }
}

/// Yield to the executor once (.NET `Task.Yield()`): the first poll wakes the task and returns
/// `Pending`, the second completes. Works on any executor.
///
/// ```
/// # futures::executor::block_on(async {
/// valuetask::yield_now().await;
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`] (.NET `YieldAwaitable`).
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let mut yielding: valuetask::YieldNow = valuetask::yield_now();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(Pin::new(&mut yielding).poll(&mut cx), Poll::Pending);
/// assert_eq!(Pin::new(&mut yielding).poll(&mut cx), Poll::Ready(()));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(feature = "tokio")]
pub(crate) use on_tokio::deadline_after;

#[cfg(feature = "tokio")]
mod on_tokio {
    use std::future::Future;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::{drive, report_lost, Drive, DropsLater, TaskCompletionSource};
    use crate::task::Task;

    impl<T: Send + Sync + 'static> Task<T> {
        /// Start `future` now as a hot task (.NET `Task.Run`), on the ambient tokio runtime
        /// or, outside one, on valuetask's global runtime. A panic in the future faults the
        /// task with the panic message; it never takes the process down. A panic of an
        /// awaiter's waker, woken as the task completes on the runtime, goes to the
        /// unobserved-error hook ([`set_unobserved_error_hook`](crate::set_unobserved_error_hook)):
        /// there is no caller to resume it in (the same for [`run_blocking`](Self::run_blocking)).
        /// If the runtime shuts down first, the future is dropped and the task ends
        /// [`TaskError::Abandoned`](crate::TaskError::Abandoned) (faulted, if that drop
        /// panics), its awaiters woken from valuetask's continuation thread, as are those of
        /// a task abandoned by that drop (a `TaskCompletionSource` the future held): a
        /// synchronous continuation does not run inside the shutdown, which drops the
        /// runtime's tasks one after another and would wait for it.
        ///
        /// The global runtime is a multi-thread tokio runtime started on first use and never
        /// shut down; its workers are named `valuetask-global`, one per core (tokio's default,
        /// which tokio's `TOKIO_WORKER_THREADS` overrides) unless the environment variable
        /// `VALUETASK_WORKER_THREADS` (read once, at that first use) sets their number; a
        /// value that is not a positive integer is ignored. For full control, build your own
        /// runtime and use
        /// [`run_on`](Self::run_on).
        ///
        /// Unlike `tokio::spawn`, the output must be `Sync` too: a [`Task`] shares its value
        /// with every handle (`&T` from [`result`](Self::result) and [`wait`](Self::wait));
        /// a `!Sync` one goes in a `Mutex`, or through a value task.
        ///
        /// On an ambient current-thread runtime the task is spawned there, as `tokio::spawn`
        /// does: it runs only while that runtime's thread awaits, so awaiting it works, but
        /// [`wait`](Self::wait) on that thread would never return. Use `run_on` with another
        /// runtime to block on it there.
        ///
        /// ```
        /// use valuetask::Task;
        /// let task = Task::run(async { 6 * 7 });
        /// assert_eq!(task.wait(), Ok(&42));
        /// ```
        #[doc(alias = "spawn")]
        pub fn run(future: impl std::future::Future<Output = T> + Send + 'static) -> Task<T> {
            drive(future, None, false)
        }

        /// Like [`run`](Self::run), on the runtime `handle` points at (.NET
        /// `Task.Factory.StartNew` with a `TaskScheduler`).
        ///
        /// ```
        /// let runtime = tokio::runtime::Builder::new_multi_thread()
        ///     .worker_threads(1)
        ///     .build()
        ///     .unwrap();
        /// let task = valuetask::Task::run_on(runtime.handle(), async { 6 * 7 });
        /// assert_eq!(task.wait(), Ok(&42));
        /// ```
        pub fn run_on(
            handle: &tokio::runtime::Handle,
            future: impl std::future::Future<Output = T> + Send + 'static,
        ) -> Task<T> {
            drive(future, Some(handle), false)
        }

        /// Run a blocking closure on tokio's blocking pool: the ambient runtime's, else
        /// valuetask's global one (.NET `Task.Factory.StartNew(.., TaskCreationOptions.LongRunning)`,
        /// which starts a thread of its own). A panic faults the task. The ambient runtime's
        /// pool has a cap (512 threads unless its builder says otherwise): closures past it
        /// queue until a thread frees, so closures that wait for one another past the cap
        /// never end (the global runtime's cap is 32,767). A closure still queued when its
        /// runtime shuts down may run (tokio runs what its busy blocking threads reach before
        /// they exit) or be dropped (a thread that wakes for it after the shutdown began drops
        /// the queue), its task then ending
        /// [`TaskError::Abandoned`](crate::TaskError::Abandoned), as does one handed to a
        /// runtime already shut down; the awaiters of a closure dropped unrun, and of any task
        /// that drop abandons, are woken from valuetask's continuation thread, as for
        /// [`run`](Self::run).
        ///
        /// ```
        /// let task = valuetask::Task::run_blocking(|| std::fs::metadata(".").is_ok());
        /// assert_eq!(task.wait(), Ok(&true));
        /// ```
        #[doc(alias = "spawn_blocking")]
        pub fn run_blocking(f: impl FnOnce() -> T + Send + 'static) -> Task<T> {
            let tcs = TaskCompletionSource::new();
            let task = tcs.task();
            let mut job = DropsLater(Some(move || {
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                report_lost(move || {
                    tcs.set_outcome(ran.map_err(crate::catch_panic::panic_error));
                    None
                });
            }));
            drop(crate::global_runtime::handle().spawn_blocking(move || {
                job.0.take().expect("run once")();
            }));
            task
        }

        /// Like [`run`](Self::run), canceled by `token` (.NET `Task.Run(func, token)`): a
        /// token canceled before the task starts ends it canceled without running the future
        /// (a panic in the future's `Drop` then goes to the unobserved-error hook too);
        /// one canceled later ends the task canceled inside `token.cancel()` (so awaiters see
        /// it when `cancel()` returns, with no runtime involved; but see
        /// [`cancel_on`](crate::TaskCompletionSource::cancel_on) for a `cancel()` deep in a
        /// stack) and drops the future at its
        /// next poll on the runtime. A future that completes while the token fires may still
        /// win (its poll on the runtime finishing before the token's watcher reaches the
        /// task, as when that watcher is handed to another thread): either way the task has
        /// exactly one outcome. That differs from .NET on purpose: there, a token
        /// canceled after the start only reaches a body that watches it, while a Rust future
        /// can be dropped safely at any suspension. A panic in the future's `Drop` then
        /// cannot fault the canceled task: it goes to the unobserved-error hook
        /// ([`set_unobserved_error_hook`](crate::set_unobserved_error_hook)), as does that of
        /// a future that finishes after the token fired (its poll's panic, or the `Drop` of
        /// the value it returned). Awaiters of a task canceled inside `cancel()` are woken
        /// there, so a synchronous continuation runs there, as for a .NET `Task.Run` task
        /// canceled by its token.
        ///
        /// ```
        /// use tokio_util::sync::CancellationToken;
        /// use valuetask::Task;
        ///
        /// let token = CancellationToken::new();
        /// token.cancel();
        /// let task = Task::run_with_cancellation(async { 1 }, token);
        /// assert!(task.wait().unwrap_err().is_canceled());
        /// ```
        pub fn run_with_cancellation(
            future: impl std::future::Future<Output = T> + Send + 'static,
            token: CancellationToken,
        ) -> Task<T> {
            run_with_cancellation_on(&crate::global_runtime::handle(), future, token)
        }

        /// Like [`run_with_cancellation`](Self::run_with_cancellation), on the runtime
        /// `handle` points at (.NET `Task.Factory.StartNew(func, token, options, scheduler)`).
        ///
        /// ```
        /// use tokio_util::sync::CancellationToken;
        /// use valuetask::Task;
        ///
        /// let runtime = tokio::runtime::Builder::new_multi_thread()
        ///     .worker_threads(1)
        ///     .build()
        ///     .unwrap();
        /// let token = CancellationToken::new();
        /// let task = Task::run_with_cancellation_on(runtime.handle(), async { 5 }, token);
        /// assert_eq!(task.wait(), Ok(&5));
        /// ```
        pub fn run_with_cancellation_on(
            handle: &tokio::runtime::Handle,
            future: impl std::future::Future<Output = T> + Send + 'static,
            token: CancellationToken,
        ) -> Task<T> {
            run_with_cancellation_on(handle, future, token)
        }
    }

    /// [`Task::run_with_cancellation`] on the runtime `handle` points at.
    fn run_with_cancellation_on<T: Send + Sync + 'static>(
        handle: &tokio::runtime::Handle,
        future: impl std::future::Future<Output = T> + Send + 'static,
        token: CancellationToken,
    ) -> Task<T> {
        run_canceled_by(handle, future, token, Cancel::Inline)
    }

    /// [`run_with_cancellation_on`], the cancellation's awaiters woken as `cancel` says.
    fn run_canceled_by<T: Send + Sync + 'static>(
        handle: &tokio::runtime::Handle,
        future: impl std::future::Future<Output = T> + Send + 'static,
        token: CancellationToken,
        cancel: Cancel,
    ) -> Task<T> {
        if token.is_cancelled() {
            // Dropped here, unstarted; the task is canceled whatever that drop does, and a
            // panic in it goes to the unobserved-error hook, as mid-flight (see the docs).
            if let Err(panic) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(future)))
            {
                crate::unobserved::report::<()>(&Err(crate::catch_panic::panic_error(panic)));
            }
            return Task::from_canceled();
        }
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        drop(handle.spawn(Drive::new(
            future,
            tcs,
            Box::pin(token.clone().cancelled_owned()),
        )));
        // The task turns canceled inside `token.cancel()`; the future is dropped at its next
        // poll on the runtime (`Drive`, woken by the same token).
        cancel_when(token, task.clone(), cancel);
        task
    }

    /// Where the awaiters of a task canceled inside `token.cancel()` are woken.
    #[derive(Clone, Copy)]
    enum Cancel {
        /// There, as the task's own mode says (.NET: a `Task.Run` task's continuations, or a
        /// `TaskCompletionSource`'s, run inside `Cancel()` unless it runs them asynchronously).
        Inline,
        /// On the continuation thread, never inside `cancel()` (.NET's canceled `Task.Delay`
        /// runs its continuations asynchronously).
        Later,
    }

    impl Task<()> {
        /// A task that completes after `duration` (.NET `Task.Delay`), counted from this call.
        /// The timer runs on valuetask's global runtime, which always has one: the ambient
        /// runtime may have no time driver, or be a current-thread runtime that runs only
        /// while its thread awaits. (So a paused tokio clock does not apply to it.)
        ///
        /// ```
        /// let t = valuetask::Task::delay(std::time::Duration::from_millis(1));
        /// assert_eq!(t.wait(), Ok(&()));
        /// ```
        ///
        /// A zero `duration` gives [`Task::completed`], complete on return (.NET's
        /// `Task.Delay(0)` returns `Task.CompletedTask`). A `duration` whose deadline is past
        /// what `Instant` can hold, or within a second of it (`Duration::MAX`, the usual
        /// "forever"; tokio rounds a deadline up, past the largest `Instant`), gives a task that
        /// never completes and runs nothing: it is freed with its last handle. Any other delay's
        /// timer runs until its deadline, whether or not a handle is left (as .NET's): a
        /// delay given up long before it (a lost `select!` branch) is `tokio::time::sleep`'s
        /// job, which is freed when dropped. (A
        /// continuation of it, or a `when_all` or `when_any` over it, holds a handle while it
        /// waits, so both stay for good: nothing will ever complete them.)
        #[must_use = "the returned task is the only effect of this call: await it or keep it"]
        #[doc(alias = "sleep")]
        pub fn delay(duration: Duration) -> Task<()> {
            if duration.is_zero() {
                return Task::completed();
            }
            match deadline_after(duration) {
                Some(deadline) => Task::run_on(
                    &crate::global_runtime::background_handle(),
                    sleep_until(deadline),
                ),
                None => Task::never(),
            }
        }

        /// A task that completes after `duration`, or ends canceled when `token` fires first
        /// (.NET `Task.Delay(TimeSpan, CancellationToken)`).
        ///
        /// As in .NET, a token already canceled gives a canceled task, and otherwise a zero
        /// `duration` gives [`Task::completed`]. Canceled inside `token.cancel()`, as in .NET:
        /// the task is Canceled when `cancel()` returns (see
        /// [`cancel_on`](crate::TaskCompletionSource::cancel_on) for a `cancel()` deep in a
        /// stack). Its awaiters are woken from valuetask's continuation thread, though, not
        /// inside `cancel()`, so a synchronous continuation
        /// ([`ContinueOn::Synchronously`](crate::ContinueOn::Synchronously)) never runs on the
        /// canceling thread's stack (.NET's canceled `Task.Delay` runs its continuations
        /// asynchronously). When the delay elapses, they run where the timer completes it.
        ///
        /// Until it ends, the delay holds a clone of `token` (to be woken when it fires), and a
        /// token cannot tell that nobody else is left to cancel it. So with a `duration` past
        /// what `Instant` can hold (`Duration::MAX`), a delay whose token is dropped without
        /// being canceled stays, with a small watcher, for the life of the process, where
        /// [`delay`](Self::delay)'s is freed with its last handle: cancel the token when its
        /// work is done (a `drop_guard`), or give a finite duration.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tokio_util::sync::CancellationToken;
        /// use valuetask::Task;
        ///
        /// let token = CancellationToken::new();
        /// let delay = Task::delay_with_cancellation(Duration::from_secs(60), token.clone());
        /// token.cancel();
        /// assert!(delay.wait().unwrap_err().is_canceled());
        /// ```
        #[must_use = "the returned task is the only effect of this call: await it or keep it"]
        pub fn delay_with_cancellation(duration: Duration, token: CancellationToken) -> Task<()> {
            if token.is_cancelled() {
                return Task::from_canceled();
            }
            if duration.is_zero() {
                return Task::completed();
            }
            let deadline = deadline_after(duration);
            let sleep = async move {
                match deadline {
                    Some(deadline) => sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            // Canceled inside `token.cancel()`, but its awaiters (a synchronous continuation)
            // are woken from the continuation thread, as .NET's canceled `Task.Delay` does.
            run_canceled_by(
                &crate::global_runtime::background_handle(),
                sleep,
                token,
                Cancel::Later,
            )
        }
    }

    /// Cancel `task` inside `token.cancel()` (.NET runs `token.Register` callbacks inside
    /// `Cancel()`), unless it completes first: a watcher (`crate::watcher`) over the token and the task,
    /// polled on whichever thread wakes it, with no runtime. It is freed when either fires:
    /// nothing is left per task.
    fn cancel_when<T: Send + Sync + 'static>(
        token: CancellationToken,
        task: Task<T>,
        cancel: Cancel,
    ) {
        // The watcher's handle is the library's own: a task abandoned while only it is left
        // is one nobody could observe.
        let task = task.internal();
        crate::watcher::watch(async move {
            let mut cancelled = std::pin::pin!(token.cancelled());
            let mut done = std::pin::pin!(task.completion());
            std::future::poll_fn(|cx| {
                if cancelled.as_mut().poll(cx).is_ready() {
                    // Inside `token.cancel()`, in tokio's loop over the token's waiters: a
                    // panic of an awaiter's waker must not unwind through it (the waiters
                    // after this one would never be woken). Every awaiter is woken first;
                    // the panic is then discarded, as the continuation thread does.
                    let canceled =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cancel {
                            Cancel::Inline => task.try_cancel(),
                            Cancel::Later => task.try_cancel_later(),
                        }));
                    if let Err(panic) = canceled {
                        crate::catch_panic::discard(panic);
                    }
                    return std::task::Poll::Ready(());
                }
                done.as_mut().poll(cx)
            })
            .await;
        });
    }

    /// The deadline `duration` from now, or `None` when no timer can hold it: past what
    /// `Instant` can hold, or within a second of it, where tokio's rounding of a deadline up
    /// to its next millisecond overflows (a panic in the timer). No timer that long ends.
    pub(crate) fn deadline_after(duration: Duration) -> Option<std::time::Instant> {
        let now = std::time::Instant::now();
        now.checked_add(duration)
            .filter(|deadline| deadline.checked_add(Duration::from_secs(1)).is_some())
    }

    /// A sleep until `deadline`, taken on the real clock when the delay was asked for (a paused
    /// test clock of the ambient runtime must not shift it).
    async fn sleep_until(deadline: std::time::Instant) {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
    }

    impl<T: Send + Sync + 'static> TaskCompletionSource<T> {
        /// Cancel the task when `token` fires, unless it was completed first
        /// (.NET `token.Register(() => tcs.TrySetCanceled())`). As in .NET, the task is
        /// canceled inside `token.cancel()`, on the canceling thread, with no runtime: when
        /// `cancel()` returns, the task is canceled, and so have its awaiters (and a
        /// `when_all` over it) seen it, unless the source wakes them from the continuation
        /// thread ([`Continuations::Asynchronous`](crate::Continuations::Asynchronous)): then
        /// they are woken there, soon after. On a stack already 32 nested wake-ups deep (a
        /// long chain of waits or continuations completing one another), the rest of the
        /// chain completes just after, on another thread, so that the stack stays bounded.
        /// A `cancel()` that finds the token fired already returns at once, before the
        /// `cancel()` that fired it, on another thread, has reached this task (tokio-util's,
        /// as .NET's `Cancel()`). Nothing is left behind once the task completes either way. Once the token may
        /// fire, producers should complete with `try_set_*`: `set_*` panics on a task the
        /// token already canceled. An awaiter's waker that panics there is discarded once
        /// every awaiter was woken: it cannot unwind through `cancel()`, whose other waiters
        /// are woken too.
        ///
        /// ```
        /// use tokio_util::sync::CancellationToken;
        /// use valuetask::TaskCompletionSource;
        ///
        /// let token = CancellationToken::new();
        /// let tcs = TaskCompletionSource::<u8>::new();
        /// tcs.cancel_on(token.clone());
        /// token.cancel();
        /// assert!(tcs.task().is_canceled(), "inside cancel()");
        /// ```
        pub fn cancel_on(&self, token: CancellationToken) {
            if token.is_cancelled() {
                let _ = self.try_set_canceled();
                return;
            }
            // The watcher holds the task, not a source: dropping every source still abandons
            // the task, which also ends the watcher.
            cancel_when(token, self.task(), Cancel::Inline);
        }
    }
}
