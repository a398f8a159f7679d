//! The unobserved-fault hook: called once for a faulted task nobody looked at, never for an
//! observed fault or a success. One test: the hook is process-wide.

mod common;

use std::future::Future;
use std::sync::Mutex;

use common::PanicsOnClone;
use valuetask::{set_unobserved_error_hook, Task, TaskCompletionSource, TaskError, ValueTask};

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen() -> Vec<String> {
    std::mem::take(&mut *SEEN.lock().unwrap())
}

/// `Task::run_with_cancellation` of work that fires its own token, then returns `finish()`:
/// the task ends canceled, inside `cancel()`. The work waits for the token's watcher, which is
/// registered before `run_with_cancellation` returns, so that it is there when the token fires.
#[cfg(feature = "tokio")]
fn run_finishing_after_its_token_fired<T: Send + Sync + std::fmt::Debug + 'static>(
    finish: impl FnOnce() -> T + Send + 'static,
) {
    let (go, token) = (
        TaskCompletionSource::<()>::new(),
        tokio_util::sync::CancellationToken::new(),
    );
    let (started, fired) = (go.task(), token.clone());
    let work = async move {
        let _ = started.await;
        fired.cancel();
        finish()
    };
    let t = Task::run_with_cancellation(work, token);
    go.set_result(());
    assert!(t.wait().unwrap_err().is_canceled());
}

/// `Task::run_with_cancellation` with a token that fired before the work started: the task is
/// canceled, and the unstarted work's `Drop` panics ("the unstarted work's drop failed"),
/// which goes to the hook.
#[cfg(feature = "tokio")]
fn run_work_whose_drop_panics_with_a_fired_token() {
    struct WorkPanicsOnDrop;
    impl Drop for WorkPanicsOnDrop {
        fn drop(&mut self) {
            panic!("the unstarted work's drop failed")
        }
    }
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    let held = WorkPanicsOnDrop;
    let task = Task::run_with_cancellation(
        async move {
            let _held = &held;
            1u8
        },
        token,
    );
    assert_eq!(task.try_result(), Some(Err(&TaskError::Canceled)));
}

/// What the hook saw, waiting up to `limit` for a first report made on another thread.
#[cfg(feature = "tokio")]
fn seen_within(limit: std::time::Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let reports = seen();
        if !reports.is_empty() || std::time::Instant::now() > deadline {
            return reports;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A source that never completes and drops every waker it is given.
struct Forgetful;

impl valuetask::ValueTaskSource<Result<u8, TaskError>> for Forgetful {
    fn status(&self, _: u32) -> valuetask::SourceStatus {
        valuetask::SourceStatus::Pending
    }
    fn poll_result(
        &self,
        _: u32,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<u8, TaskError>> {
        std::task::Poll::Pending
    }
}

/// Panics in `poll`, and again when dropped.
struct PanicsTwice;

impl std::future::Future for PanicsTwice {
    type Output = Result<u8, TaskError>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        panic!("poll failed")
    }
}

impl Drop for PanicsTwice {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("drop failed")
        }
    }
}

#[test]
fn the_hook_fires_once_for_unobserved_faults_only() {
    set_unobserved_error_hook(|e| SEEN.lock().unwrap().push(e.to_string()));

    // Unobserved, with several handles: reported once, when the last one drops.
    let t: Task<u8> = Task::from_error(TaskError::panicked("lost"));
    let t2 = t.clone();
    drop(t);
    assert!(seen().is_empty(), "a handle is still alive");
    drop(t2);
    assert_eq!(seen(), ["task panicked: lost"]);

    // Observed in each way: not reported.
    let t: Task<u8> = Task::from_error(TaskError::panicked("looked at"));
    assert!(t.error().is_some());
    drop(t);
    let t: Task<u8> = Task::from_error(TaskError::panicked("tried"));
    assert!(t.try_result().is_some());
    drop(t);
    let t: Task<u8> = Task::from_error(TaskError::panicked("waited"));
    assert!(t.wait().is_err());
    drop(t);
    let t: Task<u8> = Task::from_error(TaskError::panicked("awaited"));
    assert!(futures::executor::block_on(t).is_err());
    let t: Task<u8> = Task::from_error(TaskError::panicked("through a value task"));
    assert!(ValueTask::from(t).get_result().is_err());
    let t: Task<u8> = Task::from_error(TaskError::panicked("awaited by reference"));
    assert!(futures::executor::block_on(std::future::IntoFuture::into_future(&t)).is_err());
    drop(t);
    let t: Task<u8> = Task::from_error(TaskError::panicked("its result awaited"));
    assert!(futures::executor::block_on(t.result()).is_err());
    drop(t);
    let t: Task<u8> = Task::from_error(TaskError::panicked("waited with a timeout"));
    assert!(matches!(
        t.wait_timeout(std::time::Duration::from_secs(1)),
        Some(Err(_))
    ));
    drop(t);
    assert!(seen().is_empty(), "observed faults are not reported");

    // Looking at the status is not observing the error, as in .NET.
    let t: Task<u8> = Task::from_error(TaskError::panicked("only its status"));
    assert_eq!(t.status(), valuetask::TaskStatus::Faulted);
    assert!(t.is_faulted() && !t.is_canceled() && t.is_completed());
    assert!(format!("{t:?}").contains("Faulted"));
    drop(t);
    assert_eq!(seen(), ["task panicked: only its status"]);

    // Successes and cancellations are never reported.
    drop(Task::from_result(1u8));
    drop(Task::<u8>::from_canceled());
    assert!(seen().is_empty());

    // A completion source failed, every handle dropped unobserved.
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    tcs.set_error(TaskError::panicked("from a source"));
    drop(task);
    drop(tcs);
    assert_eq!(seen(), ["task panicked: from a source"]);

    // Abandoned counts as faulted, when a handle of the task was left to observe it.
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    drop(tcs);
    assert!(seen().is_empty(), "reported when its last handle drops");
    drop(task);
    assert_eq!(seen().len(), 1, "the abandonment reported once");

    // With no handle left (none taken, or the consumer gave up first), nobody could observe
    // the abandonment: nothing is reported.
    drop(TaskCompletionSource::<u8>::new());
    let tcs = TaskCompletionSource::<u8>::new();
    drop(tcs.task());
    let clone = tcs.clone();
    drop(tcs);
    drop(clone);
    assert!(seen().is_empty(), "a source nobody could await reported");

    // The library's own forwarding tasks never report: a failure reaches the user's task,
    // which reports only if nobody observes it.
    // - `into_task` of a future that panics: the user's task carries the panic.
    let panics: ValueTask<'static, Result<u8, TaskError>> = ValueTask::boxed(async {
        valuetask::yield_now().await;
        panic!("forwarded panic")
    });
    let t = panics.into_task();
    assert_eq!(
        t.wait().unwrap_err().panic_message(),
        Some("forwarded panic")
    );
    drop(t);
    // - `into_task` of a source that drops its waker: the user's task ends abandoned.
    let t = ValueTask::from_arc_source(std::sync::Arc::new(Forgetful), 0).into_task();
    assert_eq!(t.error(), Some(&TaskError::Abandoned));
    drop(t);
    // - `when_all` whose result clone panics: `all` carries the panic.
    let tcs = TaskCompletionSource::<PanicsOnClone>::new();
    let all = Task::when_all([tcs.task()]);
    tcs.set_result(PanicsOnClone);
    assert_eq!(
        all.wait().unwrap_err().panic_message(),
        Some("clone failed")
    );
    drop((all, tcs));
    assert!(seen().is_empty(), "internal tasks reported: {:?}", seen());
    // - a forwarded future whose poll panics and whose drop panics too: the user's task
    //   carries the poll's panic (not an abandonment).
    let both: ValueTask<'static, Result<u8, TaskError>> = ValueTask::new(PanicsTwice);
    let t = both.into_task();
    assert_eq!(t.wait().unwrap_err().panic_message(), Some("poll failed"));
    drop(t);
    assert!(seen().is_empty(), "{:?}", seen());
    // - but a waker of the user's task that panics while a forwarder completes it is not a
    //   fault of that task: it is reported, once, from the forwarder's own task.
    let source = std::sync::Arc::new(valuetask::ManualResetValueTaskSourceCore::<u8>::new());
    let t = ValueTask::from_arc_source(source.clone(), 0).into_task();
    let boom = common::waker_that_panics_on_wake();
    let mut awaiting = t.clone();
    assert!(std::pin::Pin::new(&mut awaiting)
        .poll(&mut std::task::Context::from_waker(&boom))
        .is_pending());
    source.set_result(5);
    assert_eq!(t.wait(), Ok(&5));
    drop((t, awaiting, source));
    assert_eq!(seen(), ["task panicked: this waker panics"]);

    // `flatten` observes the outer and inner faults and carries them to the flattened task,
    // which reports once if nobody looks at it (.NET `Unwrap` marks them handled too).
    let outer: Task<Task<u8>> = Task::from_error(TaskError::panicked("outer lost"));
    drop(outer.flatten());
    assert_eq!(seen(), ["task panicked: outer lost"]);
    let (outer, inner) = (
        TaskCompletionSource::new(),
        TaskCompletionSource::<u8>::new(),
    );
    let flat = outer.task().flatten();
    outer.set_result(inner.task());
    inner.set_error(TaskError::panicked("inner lost"));
    assert!(flat.is_faulted());
    drop((flat, outer, inner));
    assert_eq!(seen(), ["task panicked: inner lost"]);
    let outer: Task<Task<u8>> = Task::from_error(TaskError::panicked("looked at"));
    assert!(outer.flatten().error().is_some());
    assert!(seen().is_empty(), "{:?}", seen());
    // An error moved out by `try_unwrap` went to its owner: not reported.
    let taken = Task::<u8>::from_error(TaskError::panicked("taken")).try_unwrap();
    assert_eq!(taken.ok(), Some(Err(TaskError::panicked("taken"))));
    assert!(seen().is_empty(), "{:?}", seen());

    // Work that finishes after its token canceled its task (here the work fires the token
    // itself, inside its last poll): the panic nobody will see, the work's own or that of the
    // `Drop` of the value it returned, goes to the hook, as when the work is dropped.
    #[cfg(feature = "tokio")]
    {
        #[derive(Debug)]
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("the unused value's drop failed")
            }
        }
        run_finishing_after_its_token_fired(|| -> u8 {
            panic!("the work failed after its token fired")
        });
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: the work failed after its token fired"]
        );
        run_finishing_after_its_token_fired(|| PanicsOnDrop);
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: the unused value's drop failed"]
        );

        // A token canceled before the work starts: the task is canceled, and the panic of
        // the unstarted work's `Drop` goes to the hook, as mid-flight.
        run_work_whose_drop_panics_with_a_fired_token();
        assert_eq!(seen(), ["task panicked: the unstarted work's drop failed"]);

        // A wait that timed out does not observe the task it waited for, even when the task
        // faulted before the wait's watcher ran again: the task's wake-up of the watcher is
        // queued on the continuation thread, held up here by a waker that blocks until the
        // wait has timed out.
        struct Blocks(Mutex<std::sync::mpsc::Receiver<()>>);
        impl std::task::Wake for Blocks {
            fn wake(self: std::sync::Arc<Self>) {
                let _ = self.0.lock().unwrap().recv();
            }
        }
        let (release, released) = std::sync::mpsc::channel();
        let asynchronous = || {
            TaskCompletionSource::<u8>::with_continuations(valuetask::Continuations::Asynchronous)
        };
        let blocker = asynchronous();
        let held = blocker.task();
        let mut awaiting = Box::pin(std::future::IntoFuture::into_future(&held));
        let blocks = std::task::Waker::from(std::sync::Arc::new(Blocks(Mutex::new(released))));
        let mut cx = std::task::Context::from_waker(&blocks);
        assert!(awaiting.as_mut().poll(&mut cx).is_pending());
        blocker.set_result(0); // the continuation thread blocks in the waker
        let faulting = asynchronous();
        let wait = faulting
            .task()
            .wait_async_timeout(std::time::Duration::from_millis(50));
        faulting.set_error(TaskError::panicked("after the wait timed out"));
        assert_eq!(wait.wait(), Err(&TaskError::TimedOut));
        release.send(()).unwrap();
        drop(awaiting);
        drop((wait, faulting, held));
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: after the wait timed out"]
        );
    }

    // A waker of a continuation's awaiter that panics when the continuation completes its
    // task: reported, whether the continuation ran inline or was scheduled.
    #[cfg(feature = "tokio")]
    for on in [
        valuetask::ContinueOn::Synchronously,
        valuetask::ContinueOn::Scheduled,
    ] {
        let tcs = TaskCompletionSource::<u8>::new();
        let options = valuetask::ContinuationOptions::default().on(on);
        let continuation = tcs.task().continue_with_options(options, |_| 1u8);
        let mut awaiting = Box::pin(std::future::IntoFuture::into_future(&continuation));
        let waker = common::waker_that_panics_on_wake();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(awaiting.as_mut().poll(&mut cx).is_pending());
        tcs.set_result(0);
        assert_eq!(continuation.wait(), Ok(&1), "{on:?}");
        let reports = seen_within(std::time::Duration::from_secs(10));
        assert_eq!(reports.len(), 1, "{on:?}: {reports:?}");
        assert!(reports[0].starts_with("task panicked"), "{reports:?}");
    }

    // A waker of a `Task::run` awaiter that panics when the work completes its task on a
    // runtime worker: reported, not unwound into the runtime (which drops a task's panic).
    #[cfg(feature = "tokio")]
    {
        let gate = TaskCompletionSource::<u8>::new();
        let opened = gate.task();
        let run = Task::run(async move { *opened.await.as_ref().unwrap() + 1 });
        let mut awaiting = Box::pin(std::future::IntoFuture::into_future(&run));
        let waker = common::waker_that_panics_on_wake();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(awaiting.as_mut().poll(&mut cx).is_pending());
        gate.set_result(1);
        assert_eq!(run.wait(), Ok(&2));
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: this waker panics"]
        );
        // The same for `run_blocking`, completed on a blocking thread.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocking = Task::run_blocking(move || released.recv().is_ok());
        let mut awaiting = Box::pin(std::future::IntoFuture::into_future(&blocking));
        assert!(awaiting.as_mut().poll(&mut cx).is_pending());
        release.send(()).unwrap();
        assert_eq!(blocking.wait(), Ok(&true));
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: this waker panics"]
        );
    }

    // The library's own handles (a `cancel_on` or `wait_async` watcher, `run_with_cancellation`'s)
    // are not handles anyone could observe through: a fault that lands while only they hold a
    // task is not reported, as with no handle at all; one that lands while the user holds a
    // handle still is. (A wait held by a wait on it is read as its user reads it: below.)
    #[cfg(feature = "tokio")]
    {
        use tokio_util::sync::CancellationToken;
        let token = CancellationToken::new();
        // `cancel_on`, the consumer gone before the source: not reported.
        let tcs = TaskCompletionSource::<u8>::new();
        drop(tcs.task());
        tcs.cancel_on(token.clone());
        drop(tcs);
        // `wait_async`, the wait and the task dropped, then the source: not reported.
        let tcs = TaskCompletionSource::<u8>::new();
        drop(tcs.task().wait_async_cancellation(token.clone()));
        drop(tcs);
        // A wait dropped before it timed out (Rust's cancellation of it): not reported. (Its
        // timeout leaves room for a slow run, under valgrind, to drop it first: one that times
        // out while still held is the user's unobserved fault, reported.)
        let tcs = TaskCompletionSource::<u8>::new();
        drop(
            tcs.task()
                .wait_async_timeout(std::time::Duration::from_millis(200)),
        );
        // `run_with_cancellation`, the task dropped, then its runtime shut down.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        {
            let _entered = runtime.enter();
            drop(Task::run_with_cancellation(
                std::future::pending::<u8>(),
                token.clone(),
            ));
        }
        drop(runtime);
        std::thread::sleep(std::time::Duration::from_millis(400)); // past the timeout
        drop(tcs);
        let reports = seen();
        assert!(reports.is_empty(), "unheld tasks reported: {reports:?}");

        // Held by the user, the same faults are reported once the last handle drops.
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        tcs.cancel_on(token.clone());
        drop(tcs);
        drop(task);
        let tcs = TaskCompletionSource::<u8>::new();
        let wait = tcs.task().wait_async_cancellation(token.clone());
        drop(tcs);
        assert_eq!(
            wait.wait(),
            Err(&TaskError::Abandoned),
            "observed: not reported"
        );
        drop(wait);
        let tcs = TaskCompletionSource::<u8>::new();
        let wait = tcs
            .task()
            .wait_async_timeout(std::time::Duration::from_millis(1));
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(wait);
        drop(tcs);
        let reports = seen_within(std::time::Duration::from_secs(10));
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(reports[0].starts_with("task abandoned"), "{reports:?}");
        assert_eq!(reports[1], TaskError::TimedOut.to_string(), "{reports:?}");
        // A wait dropped while the user still holds the task: the task's own fault (or its
        // abandonment) that lands later is the task's to report, once its last handle
        // drops, not observed by the dropped wait's watcher.
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        drop(task.wait_async_cancellation(token.clone()));
        tcs.set_error(TaskError::panicked("after its wait was dropped"));
        drop((task, tcs));
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        drop(task.wait_async_timeout(std::time::Duration::from_secs(3600)));
        drop(tcs);
        drop(task);
        let reports = seen_within(std::time::Duration::from_secs(10));
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert_eq!(reports[0], "task panicked: after its wait was dropped");
        assert!(reports[1].starts_with("task abandoned"), "{reports:?}");
        // A continuation holds the wait when it times out, and lets it go unobserved inside
        // that completion: reported (held when the fault landed).
        let tcs = TaskCompletionSource::<u8>::new();
        let wait = tcs
            .task()
            .wait_async_timeout(std::time::Duration::from_millis(1));
        let inline =
            valuetask::ContinuationOptions::default().on(valuetask::ContinueOn::Synchronously);
        let continuation = wait.continue_with_options(inline, |_| ());
        drop(wait);
        assert_eq!(continuation.wait(), Ok(&()));
        drop((continuation, tcs));
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            [TaskError::TimedOut.to_string()]
        );
        // A wait on a wait, the inner one dropped (`wait_async_cancellation(..)
        // .wait_async_timeout(..)` in one expression): the user reads the fault through the
        // outer wait, so neither the task nor the inner wait reports it.
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        let outer = task
            .wait_async_cancellation(token.clone())
            .wait_async_timeout(std::time::Duration::from_secs(3600));
        tcs.set_error(TaskError::panicked("read through a wait on a wait"));
        assert!(outer.wait().is_err());
        drop((outer, task, tcs));
        // Unread, the outer wait's copy is reported, once (its timer ends with it).
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        let outer = task
            .wait_async_cancellation(token.clone())
            .wait_async_timeout(std::time::Duration::from_secs(3600));
        tcs.set_error(TaskError::panicked("in a wait on a wait, unread"));
        drop((outer, task, tcs));
        assert_eq!(
            seen_within(std::time::Duration::from_secs(10)),
            ["task panicked: in a wait on a wait, unread"]
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(seen(), Vec::<String>::new(), "reported twice");
    }

    // A panicking hook is contained: in a task's drop, and where a report is made for an
    // error nobody can observe (the `Drop` of work whose token fired before it started).
    set_unobserved_error_hook(|_| panic!("the hook itself failed"));
    drop(Task::<u8>::from_error(TaskError::panicked("x")));
    #[cfg(feature = "tokio")]
    {
        run_work_whose_drop_panics_with_a_fired_token();
    }

    // Replacing a hook that owns the last handle of a faulted task: the old hook is dropped
    // after the lock is released, so the task's report reaches the new hook (no deadlock).
    let orphan: Task<u8> = Task::from_error(TaskError::panicked("owned by the old hook"));
    set_unobserved_error_hook(move |_| {
        let _ = &orphan;
    });
    set_unobserved_error_hook(|e| SEEN.lock().unwrap().push(e.to_string()));
    assert_eq!(seen(), ["task panicked: owned by the old hook"]);
}
