//! `Task::continue_with` (.NET `Task.ContinueWith` with `TaskContinuationOptions`).
//!
//! A continuation is a bridge (`value_task/bridge.rs`) over the antecedent's completion, so
//! no executor waits for it: it runs the continuation inline (`ContinueOn::Synchronously`:
//! nesting bounded at 32, also when registered on a completed task) or schedules it on the
//! global runtime's blocking pool (`ContinueOn::Scheduled`; without tokio, the continuation
//! thread), since a continuation is synchronous code and may block. With a cancellation token
//! (`continue_with_cancellation`, feature `tokio`), the bridge also waits for the token: the
//! first of the two it sees decides, and a scheduled continuation checks the token again when
//! its work starts, so a continuation that has not started by the time the token fires never
//! runs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::completion_source::TaskCompletionSource;
use crate::task::{Task, TaskStatus};
use crate::value_task::ValueTask;

/// Which completions of the antecedent run the continuation (.NET's `OnlyOn…` options); for
/// the others the continuation's task ends canceled once its closure is dropped (faulted, with
/// [`TaskError::Panicked`](crate::TaskError::Panicked), if that drop panics). A
/// `Scheduled` continuation's closure is dropped where its work would have run, off the
/// completing call (its captures' `Drop` is user code: a token's handle, a guard), so its task
/// ends canceled there too, a moment after the completion, where .NET cancels it inside the
/// completing call (`Synchronously`: inside it).
///
/// ```
/// use valuetask::{ContinuationOptions, ContinueWhen, Task};
///
/// assert_eq!(ContinueWhen::default(), ContinueWhen::Always);
/// let options = ContinuationOptions::default().when(ContinueWhen::OnlyOnCanceled);
/// let canceled = Task::<u8>::from_canceled();
/// let cleanup = canceled.continue_with_options(options, |t| t.is_canceled());
/// assert_eq!(cleanup.wait(), Ok(&true));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContinueWhen {
    /// Whatever the outcome (.NET `None`).
    #[default]
    Always,
    /// Only when the antecedent ran to completion (.NET `OnlyOnRanToCompletion`).
    OnlyOnRanToCompletion,
    /// Only when it faulted (.NET `OnlyOnFaulted`).
    OnlyOnFaulted,
    /// Only when it was canceled (.NET `OnlyOnCanceled`).
    OnlyOnCanceled,
    /// Unless it ran to completion: when it faulted or was canceled (.NET
    /// `NotOnRanToCompletion`).
    NotOnRanToCompletion,
    /// Unless it faulted (.NET `NotOnFaulted`).
    NotOnFaulted,
    /// Unless it was canceled: on success or fault (.NET `NotOnCanceled`).
    NotOnCanceled,
}

impl ContinueWhen {
    fn admits(self, status: TaskStatus) -> bool {
        match self {
            ContinueWhen::Always => true,
            ContinueWhen::OnlyOnRanToCompletion => status == TaskStatus::RanToCompletion,
            ContinueWhen::OnlyOnFaulted => status == TaskStatus::Faulted,
            ContinueWhen::OnlyOnCanceled => status == TaskStatus::Canceled,
            ContinueWhen::NotOnRanToCompletion => status != TaskStatus::RanToCompletion,
            ContinueWhen::NotOnFaulted => status != TaskStatus::Faulted,
            ContinueWhen::NotOnCanceled => status != TaskStatus::Canceled,
        }
    }
}

/// Where the continuation runs (.NET: `TaskContinuationOptions.ExecuteSynchronously`, or by
/// default the continuation scheduled on `TaskScheduler.Current`, which outside a task of a
/// custom scheduler is `TaskScheduler.Default`, the thread pool).
///
/// ```
/// use valuetask::{ContinuationOptions, ContinueOn, TaskCompletionSource};
///
/// let tcs = TaskCompletionSource::<u8>::new();
/// let inline = ContinuationOptions::default().on(ContinueOn::Synchronously);
/// let next = tcs.task().continue_with_options(inline, |_| std::thread::current().id());
/// tcs.set_result(1);
/// assert!(next.is_completed(), "it ran inside `set_result`");
/// assert_eq!(next.wait(), Ok(&std::thread::current().id()));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContinueOn {
    /// Scheduled: on the blocking pool of valuetask's global tokio runtime (feature `tokio`;
    /// .NET's thread pool), which outlives any runtime of yours; a continuation may block
    /// there, or call `Handle::block_on`, without holding up anything else. Without tokio, on
    /// valuetask's continuation thread, one for the process: a continuation that blocks there
    /// delays the others and every asynchronous wake-up, and one that waits (other than by
    /// valuetask's own `wait`/`get_result`, which hand the thread's work to a new one) for
    /// what another scheduled continuation does never ends.
    /// Not inside the completing call, unless no thread can be started at all (thread or
    /// memory limits): then it runs there rather than never.
    #[default]
    Scheduled,
    /// On the thread that completes the antecedent, inside its completing call (.NET
    /// `ExecuteSynchronously`); on the registering thread if it is already complete; on the
    /// continuation thread if the antecedent's source runs continuations asynchronously. Keep
    /// such continuations short.
    ///
    /// Like .NET's, this is a preference: when the completing thread is already 32
    /// synchronous continuations (or other `as_task` bridges) deep in its stack, the next one
    /// runs on another thread instead (with tokio the global runtime's blocking pool, whose
    /// runtime is then the ambient one; without, a thread of its own), so a long chain does
    /// not deepen the stack, and a deep link that blocks does not hold up the rest. When no
    /// thread can be had, it runs inline after all. Moved or not, a panic of a waker that the
    /// continuation's own completion wakes is not seen by the completing call: it goes to
    /// the unobserved-error hook.
    Synchronously,
}

/// Options for [`Task::continue_with_options`] (.NET `TaskContinuationOptions`).
///
/// ```
/// use valuetask::{ContinuationOptions, ContinueOn, ContinueWhen};
/// let options = ContinuationOptions::default()
///     .when(ContinueWhen::OnlyOnFaulted)
///     .on(ContinueOn::Synchronously);
/// assert_eq!(options.when, ContinueWhen::OnlyOnFaulted);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ContinuationOptions {
    /// Which outcomes run the continuation.
    pub when: ContinueWhen,
    /// Where it runs.
    pub on: ContinueOn,
    /// With a cancellation token ([`Task::continue_with_cancellation`], feature `tokio`): a
    /// token fired before the antecedent completes cancels the continuation only once the
    /// antecedent has completed, so a chain of continuations completes in order (.NET
    /// `LazyCancellation`). Without it (the default), the continuation is canceled as soon
    /// as the token fires.
    pub lazy_cancellation: bool,
}

impl ContinuationOptions {
    /// With `when` (.NET: or-ing in an `OnlyOn…` flag).
    pub fn when(mut self, when: ContinueWhen) -> Self {
        self.when = when;
        self
    }

    /// With `on` (.NET: or-ing in `ExecuteSynchronously`, or not).
    pub fn on(mut self, on: ContinueOn) -> Self {
        self.on = on;
        self
    }

    /// With [`lazy_cancellation`](field@Self::lazy_cancellation) set or not (.NET: or-ing in
    /// `LazyCancellation`, or not).
    pub fn lazy_cancellation(mut self, lazy: bool) -> Self {
        self.lazy_cancellation = lazy;
        self
    }
}

impl<T: Send + Sync + 'static> Task<T> {
    /// A task that runs `f` with this task once it completes, and completes with `f`'s
    /// result (.NET `ContinueWith`). Scheduled on the runtime; see
    /// [`continue_with_options`](Self::continue_with_options).
    ///
    /// ```
    /// use valuetask::Task;
    /// let next = Task::from_result(20).continue_with(|t| t.try_result().unwrap().unwrap() + 1);
    /// assert_eq!(next.wait(), Ok(&21));
    /// ```
    pub fn continue_with<U: Send + Sync + 'static>(
        &self,
        f: impl FnOnce(&Task<T>) -> U + Send + 'static,
    ) -> Task<U> {
        self.continue_with_options(ContinuationOptions::default(), f)
    }

    /// Like [`continue_with`](Self::continue_with), with options. The continuation runs
    /// exactly once, also when registered after completion; when the options exclude the
    /// antecedent's outcome the returned task ends canceled without running `f` (faulted if
    /// dropping `f` panics); a panic in `f` faults the returned task only (.NET
    /// `ContinueWith(Func, TaskContinuationOptions)`). To cancel it before it runs, see
    /// `continue_with_cancellation` (feature `tokio`).
    ///
    /// ```
    /// use valuetask::{ContinuationOptions, ContinueOn, ContinueWhen, Task, TaskError};
    ///
    /// let failed = Task::<u8>::from_error(TaskError::panicked("boom"));
    /// let on_fault = ContinuationOptions::default()
    ///     .when(ContinueWhen::OnlyOnFaulted)
    ///     .on(ContinueOn::Synchronously);
    /// let report = failed.continue_with_options(on_fault, |t| t.error().is_some());
    /// assert_eq!(report.wait(), Ok(&true));
    ///
    /// let on_success = ContinuationOptions::default().when(ContinueWhen::OnlyOnRanToCompletion);
    /// let skipped = failed.continue_with_options(on_success, |_| ());
    /// assert!(skipped.wait().unwrap_err().is_canceled());
    /// ```
    pub fn continue_with_options<U: Send + Sync + 'static>(
        &self,
        options: ContinuationOptions,
        f: impl FnOnce(&Task<T>) -> U + Send + 'static,
    ) -> Task<U> {
        self.continue_with_token(options, None, f)
    }

    /// Like [`continue_with_options`](Self::continue_with_options), canceled by `token`
    /// unless it started first (.NET `ContinueWith(Func, CancellationToken,
    /// TaskContinuationOptions, TaskScheduler)`). When the token fires before the
    /// continuation starts, its task ends canceled inside `token.cancel()` (while the
    /// antecedent is still pending, too), its closure is dropped there without running, and it
    /// lets go of the antecedent: nothing is left registered on a task that never completes.
    /// As with [`TaskCompletionSource::cancel_on`], on a stack already 32 nested wake-ups
    /// deep, or while another thread runs the continuation's check (its registration, or the
    /// antecedent's completion), that
    /// happens just after `cancel()` returns, on another thread (.NET runs it inside). A
    /// scheduled continuation queued but not started yet when the token fires ends canceled
    /// when its turn comes, without running (as .NET's queued continuation does). Once `f` has
    /// started, the token no longer affects it. A token fired already cancels at once. With
    /// [`ContinuationOptions::lazy_cancellation`](field@ContinuationOptions::lazy_cancellation),
    /// the continuation waits for the antecedent
    /// to complete before it is canceled (.NET `LazyCancellation`).
    ///
    /// ```
    /// use tokio_util::sync::CancellationToken;
    /// use valuetask::{ContinuationOptions, TaskCompletionSource};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let token = CancellationToken::new();
    /// let next = tcs.task().continue_with_cancellation(
    ///     ContinuationOptions::default(),
    ///     token.clone(),
    ///     |_| unreachable!("canceled before the antecedent completed"),
    /// );
    /// token.cancel();
    /// assert!(next.is_canceled(), "inside cancel()");
    /// tcs.set_result(1);
    /// assert!(next.wait().unwrap_err().is_canceled());
    /// ```
    #[cfg(feature = "tokio")]
    pub fn continue_with_cancellation<U: Send + Sync + 'static>(
        &self,
        options: ContinuationOptions,
        token: tokio_util::sync::CancellationToken,
        f: impl FnOnce(&Task<T>) -> U + Send + 'static,
    ) -> Task<U> {
        self.continue_with_token(options, Some(token), f)
    }

    fn continue_with_token<U: Send + Sync + 'static>(
        &self,
        options: ContinuationOptions,
        token: Option<Token>,
        f: impl FnOnce(&Task<T>) -> U + Send + 'static,
    ) -> Task<U> {
        let antecedent = self.clone();
        let tcs = TaskCompletionSource::new();
        let continuation = tcs.task();
        // The continuation lets go of the antecedent before it completes its own task: one
        // awaiting the continuation then finds the antecedent's other handles as they are
        // (`Task::try_unwrap` right after). The antecedent may be the last handle, whose
        // value's `Drop` may panic: discarded, as a value thrown away.
        let run = move |antecedent: Task<T>, canceled: bool| {
            if canceled || !options.when.admits(antecedent.status()) {
                crate::catch_panic::drop_discarding(antecedent);
                // The skipped work goes before its task ends: a panic in that drop is the
                // task's fault.
                match catch_unwind(AssertUnwindSafe(move || drop(f))) {
                    Ok(()) => tcs.set_canceled(),
                    Err(panic) => tcs.set_error(crate::catch_panic::panic_error(panic)),
                }
                return;
            }
            let ran = catch_unwind(AssertUnwindSafe(|| f(&antecedent)));
            crate::catch_panic::drop_discarding(antecedent);
            tcs.set_outcome(ran.map_err(crate::catch_panic::panic_error));
        };
        // Driven by the antecedent's own wake-up (or the token's): inline on the completing
        // (or canceling) thread. Without a token, the future waits for the antecedent alone
        // (no room kept for the token's wait).
        match token {
            None => ValueTask::boxed_lazy(async move {
                antecedent.completion().await;
                start(options.on, antecedent, None, run);
            })
            .run_bridged_detached(),
            Some(token) => ValueTask::boxed_lazy(async move {
                // The token fired first: the antecedent's completion is not waited for, unless
                // the cancellation is lazy.
                let canceled = if options.lazy_cancellation {
                    antecedent.completion().await;
                    fired(&token)
                } else {
                    antecedent_or_token(&antecedent, &token).await
                };
                if canceled {
                    return run(antecedent, true);
                }
                start(options.on, antecedent, Some(token), run);
            })
            .run_bridged_detached(),
        }
        continuation
    }
}

/// Run the continuation `run` of the completed `antecedent` where `on` says: here, or
/// scheduled, where a `token` fired while it was queued still cancels it.
fn start<T: Send + Sync + 'static>(
    on: ContinueOn,
    antecedent: Task<T>,
    token: Option<Token>,
    run: impl FnOnce(Task<T>, bool) + Send + 'static,
) {
    match on {
        ContinueOn::Synchronously => run(antecedent, false),
        // A waker of the continuation's awaiters that panics in its completion: to the
        // unobserved hook, as the inline bridge reports it (not into the pool's job).
        ContinueOn::Scheduled => schedule(move || {
            // Queued, not started: a token fired meanwhile still cancels it.
            let canceled = token.as_ref().is_some_and(fired);
            let ran = catch_unwind(AssertUnwindSafe(move || run(antecedent, canceled)));
            if let Err(panic) = ran {
                let error = crate::catch_panic::panic_error(panic);
                crate::unobserved::report::<()>(&Err(error));
            }
        }),
    }
}

/// What cancels a continuation: a `CancellationToken` with tokio, nothing without.
#[cfg(feature = "tokio")]
type Token = tokio_util::sync::CancellationToken;
#[cfg(not(feature = "tokio"))]
type Token = std::convert::Infallible;

#[cfg(feature = "tokio")]
fn fired(token: &Token) -> bool {
    token.is_cancelled()
}

#[cfg(not(feature = "tokio"))]
fn fired(token: &Token) -> bool {
    match *token {}
}

/// Waits until `antecedent` completes or `token` fires; `true` when the token fired (checked
/// first at every poll: a token fired already wins over a completed antecedent, as in .NET,
/// where a canceled token cancels the continuation before it is registered).
#[cfg(feature = "tokio")]
async fn antecedent_or_token<T: Send + Sync + 'static>(
    antecedent: &Task<T>,
    token: &Token,
) -> bool {
    let mut canceled = std::pin::pin!(token.cancelled());
    let mut done = std::pin::pin!(antecedent.completion());
    std::future::poll_fn(|cx| {
        if std::future::Future::poll(canceled.as_mut(), cx).is_ready() {
            return std::task::Poll::Ready(true);
        }
        std::future::Future::poll(done.as_mut(), cx).map(|()| false)
    })
    .await
}

#[cfg(not(feature = "tokio"))]
async fn antecedent_or_token<T: Send + Sync + 'static>(_: &Task<T>, token: &Token) -> bool {
    match *token {}
}

/// Run `job` off the current call: on the global runtime's blocking pool (a continuation is
/// synchronous code, which may block or call `Handle::block_on`, as .NET's thread pool
/// allows), or the continuation thread.
fn schedule(job: impl FnOnce() + Send + 'static) {
    #[cfg(feature = "tokio")]
    if let Err(job) = crate::global_runtime::run_elsewhere(job) {
        job(); // no thread to be had: here rather than never
    }
    #[cfg(not(feature = "tokio"))]
    crate::continuation_thread::wake_later(job);
}
