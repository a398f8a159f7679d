//! Where a synchronous continuation of a task canceled inside `token.cancel()` runs, for each
//! task the library completes from a token, as .NET does for its counterpart: a canceled
//! `Task.Delay` runs its continuations asynchronously (never on the canceling thread); a
//! `Task.Run` task, or a `TaskCompletionSource` registered with `token.Register`, runs them
//! inside `Cancel()` unless the source runs continuations asynchronously. In every case the
//! task is Canceled when `cancel()` returns.
#![cfg(feature = "tokio")]

use std::thread::{self, ThreadId};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use valuetask::{
    ContinuationOptions, Continuations, ContinueOn, Task, TaskCompletionSource, TaskError,
};

/// Registers a synchronous continuation on `task`, cancels `token`, and says whether `task`
/// was Canceled when `cancel()` returned and whether the continuation ran on the canceling
/// thread.
fn cancel_and_see<T: Send + Sync + 'static>(
    task: &Task<T>,
    token: &CancellationToken,
) -> (bool, bool) {
    let inline = ContinuationOptions::default().on(ContinueOn::Synchronously);
    let next = task.continue_with_options(inline, |t| (thread::current().id(), t.is_canceled()));
    assert!(!task.is_completed(), "pending before the cancel");
    let canceling: ThreadId = thread::current().id();
    token.cancel();
    let canceled_on_return = task.is_canceled();
    let &(ran_on, saw_canceled) = next.wait().expect("the continuation ran");
    assert!(saw_canceled, "the continuation saw the cancellation");
    (canceled_on_return, ran_on == canceling)
}

#[test]
fn a_canceled_delay_runs_its_synchronous_continuations_on_another_thread() {
    for _ in 0..20 {
        let token = CancellationToken::new();
        let delay = Task::delay_with_cancellation(Duration::from_secs(3600), token.clone());
        assert_eq!(
            cancel_and_see(&delay, &token),
            (true, false),
            "Canceled when cancel() returns; its continuation not inside cancel()"
        );
        assert_eq!(delay.wait().unwrap_err(), &TaskError::Canceled);
    }
}

#[test]
fn a_delay_that_elapses_still_completes_on_the_timer_side() {
    let token = CancellationToken::new();
    let delay = Task::delay_with_cancellation(Duration::from_millis(1), token.clone());
    assert_eq!(delay.wait(), Ok(&()));
    token.cancel();
    assert!(
        delay.is_completed_successfully(),
        "a late cancel changes nothing"
    );
}

#[test]
fn a_run_canceled_by_its_token_runs_synchronous_continuations_inside_cancel_as_dotnet() {
    // Repeated: the run's own poll on a worker sees the token fire too, and must leave the
    // completion to the token's watcher inside `cancel()`.
    for _ in 0..200 {
        let token = CancellationToken::new();
        let run = Task::run_with_cancellation(std::future::pending::<u8>(), token.clone());
        assert_eq!(cancel_and_see(&run, &token), (true, true));
    }
}

#[test]
fn cancel_on_follows_the_sources_own_mode() {
    let token = CancellationToken::new();
    let inline = TaskCompletionSource::<u8>::new();
    inline.cancel_on(token.clone());
    assert_eq!(cancel_and_see(&inline.task(), &token), (true, true));

    let token = CancellationToken::new();
    let asynchronous = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    asynchronous.cancel_on(token.clone());
    assert_eq!(cancel_and_see(&asynchronous.task(), &token), (true, false));
}

/// A waker that panics when woken.
struct PanicsInWake;

impl std::task::Wake for PanicsInWake {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("a waker that panics in wake");
    }
}

/// tokio's limit, listed in `misuse.rs`: a waker of another waiter of the token that panics
/// in `wake` makes `cancel()` panic there, and tokio drops the token's other waiters unwoken,
/// the watcher of a `cancel_on` source among them: the task stays pending (valuetask's own
/// wakers never panic there).
#[test]
fn a_waker_panicking_inside_cancel_leaves_the_watchers_after_it_unwoken() {
    use std::future::Future;
    let token = CancellationToken::new();
    // Registered first: tokio wakes the token's waiters in that order.
    let mut ahead = Box::pin(token.clone().cancelled_owned());
    let waker = std::task::Waker::from(std::sync::Arc::new(PanicsInWake));
    assert!(ahead
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker))
        .is_pending());
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.cancel_on(token.clone());
    let canceled = std::panic::catch_unwind(|| token.cancel());
    assert!(canceled.is_err(), "cancel() passed the waker's panic on");
    assert!(token.is_cancelled());
    assert!(!tcs.task().is_completed(), "the watcher was never woken");
    assert!(tcs.try_set_canceled(), "the source still completes it");
}
