//! `Task::continue_with`: every option, before and after completion, panics, threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use valuetask::{
    ContinuationOptions, ContinueOn, ContinueWhen, Task, TaskCompletionSource, TaskError,
    TaskStatus,
};

const WAIT: Duration = Duration::from_secs(5);

fn options(when: ContinueWhen, on: ContinueOn) -> ContinuationOptions {
    ContinuationOptions::default().when(when).on(on)
}

/// The antecedents: one per outcome.
fn antecedents() -> [(TaskStatus, Task<u8>); 3] {
    [
        (TaskStatus::RanToCompletion, Task::from_result(1)),
        (
            TaskStatus::Faulted,
            Task::from_error(TaskError::panicked("f")),
        ),
        (TaskStatus::Canceled, Task::from_canceled()),
    ]
}

/// Complete `tcs` with the outcome `status` names.
fn complete_as(tcs: &TaskCompletionSource<u8>, status: TaskStatus) {
    match status {
        TaskStatus::RanToCompletion => tcs.set_result(1),
        TaskStatus::Faulted => tcs.set_error(TaskError::panicked("f")),
        TaskStatus::Canceled => tcs.set_canceled(),
        other => unreachable!("not an outcome: {other:?}"),
    }
}

#[test]
fn each_when_option_runs_only_for_its_outcome_and_cancels_otherwise() {
    for on in [ContinueOn::Scheduled, ContinueOn::Synchronously] {
        use TaskStatus::{Canceled, Faulted, RanToCompletion};
        let admitting: [(ContinueWhen, &[TaskStatus]); 7] = [
            (ContinueWhen::Always, &[RanToCompletion, Faulted, Canceled]),
            (ContinueWhen::OnlyOnRanToCompletion, &[RanToCompletion]),
            (ContinueWhen::OnlyOnFaulted, &[Faulted]),
            (ContinueWhen::OnlyOnCanceled, &[Canceled]),
            (ContinueWhen::NotOnRanToCompletion, &[Faulted, Canceled]),
            (ContinueWhen::NotOnFaulted, &[RanToCompletion, Canceled]),
            (ContinueWhen::NotOnCanceled, &[RanToCompletion, Faulted]),
        ];
        for (when, admitted) in admitting {
            for (status, antecedent) in antecedents() {
                // Registered after completion, and before it.
                let after = antecedent.continue_with_options(options(when, on), |t| t.status());
                let tcs = TaskCompletionSource::<u8>::new();
                let before = tcs
                    .task()
                    .continue_with_options(options(when, on), |t| t.status());
                assert_eq!(before.status(), TaskStatus::Pending);
                complete_as(&tcs, status);
                for (registered, next) in [("after", after), ("before", before)] {
                    let result = next.wait_timeout(WAIT).expect("continuation completes");
                    if admitted.contains(&status) {
                        assert_eq!(
                            result,
                            Ok(&status),
                            "{when:?} {on:?} {status:?} registered {registered}"
                        );
                    } else {
                        assert_eq!(
                            result,
                            Err(&TaskError::Canceled),
                            "{when:?} {on:?} {status:?} registered {registered}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_continuation_registered_before_completion_runs_once_when_it_completes() {
    for on in [ContinueOn::Scheduled, ContinueOn::Synchronously] {
        let runs = Arc::new(AtomicUsize::new(0));
        let tcs = TaskCompletionSource::<u8>::new();
        let counter = runs.clone();
        let next = tcs
            .task()
            .continue_with_options(options(ContinueWhen::Always, on), move |t| {
                counter.fetch_add(1, Ordering::SeqCst);
                *t.try_result().unwrap().unwrap() * 2
            });
        assert_eq!(next.status(), TaskStatus::Pending);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        tcs.set_result(4);
        assert_eq!(next.wait_timeout(WAIT), Some(Ok(&8)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_continuation_registered_after_completion_runs_once() {
    for on in [ContinueOn::Scheduled, ContinueOn::Synchronously] {
        let runs = Arc::new(AtomicUsize::new(0));
        let done = Task::from_result(3u8);
        let counter = runs.clone();
        let next = done.continue_with_options(options(ContinueWhen::Always, on), move |_| {
            counter.fetch_add(1, Ordering::SeqCst)
        });
        assert_eq!(next.wait_timeout(WAIT), Some(Ok(&0)), "{on:?}");
        thread::sleep(Duration::from_millis(10));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{on:?}");
    }
}

#[test]
fn continuations_on_a_cached_task_from_many_threads_each_run_once() {
    // `Task::from_result(true)` is one static task shared by every caller: continuations
    // registered on it from several threads at once must each run exactly once.
    let runs = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let runs = runs.clone();
            thread::spawn(move || {
                for on in [ContinueOn::Synchronously, ContinueOn::Scheduled].repeat(50) {
                    let runs = runs.clone();
                    let next = Task::from_result(true).continue_with_options(
                        options(ContinueWhen::Always, on),
                        move |done| {
                            runs.fetch_add(1, Ordering::SeqCst);
                            done.try_result() == Some(Ok(&true))
                        },
                    );
                    assert_eq!(next.wait_timeout(WAIT), Some(Ok(&true)), "{on:?}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 4 * 100);
    assert!(Task::from_result(true).is_completed_successfully());
}

#[test]
fn synchronous_continuations_run_on_the_completing_thread_scheduled_ones_do_not() {
    let tcs = TaskCompletionSource::<u8>::new();
    let sync = tcs.task().continue_with_options(
        options(ContinueWhen::Always, ContinueOn::Synchronously),
        |_| thread::current().id(),
    );
    let scheduled = tcs.task().continue_with(|_| thread::current().id());
    let completer = thread::spawn(move || {
        tcs.set_result(1);
        thread::current().id()
    })
    .join()
    .unwrap();
    assert_eq!(sync.wait_timeout(WAIT), Some(Ok(&completer)));
    assert_ne!(scheduled.wait_timeout(WAIT).unwrap().unwrap(), &completer);
}

#[test]
fn a_panic_in_a_continuation_faults_its_own_task_only() {
    let antecedent = Task::from_result(1u8);
    let failing: Task<u8> = antecedent.continue_with(|_| panic!("continuation failed"));
    let err = failing.wait_timeout(WAIT).unwrap().unwrap_err();
    assert_eq!(err.panic_message(), Some("continuation failed"));
    assert!(antecedent.is_completed_successfully());
    // Continuations chain.
    let chained = failing.continue_with(|t| t.is_faulted());
    assert_eq!(chained.wait_timeout(WAIT), Some(Ok(&true)));
}

#[test]
fn a_long_chain_of_synchronous_continuations_does_not_overflow_the_stack() {
    let tcs = TaskCompletionSource::<u64>::new();
    let mut last = tcs.task();
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    for _ in 0..20_000 {
        last = last.continue_with_options(sync, |t| *t.try_result().unwrap().unwrap() + 1);
    }
    // Completing the root completes the whole chain; a small stack would overflow if every
    // link ran nested inside the previous one.
    let completer = thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || tcs.set_result(0))
        .unwrap();
    completer.join().unwrap();
    assert_eq!(
        last.wait_timeout(Duration::from_secs(30)),
        Some(Ok(&20_000))
    );
}

/// A synchronous continuation runs on the thread that completes its antecedent, inside the
/// completing call, until the chain is 32 links deep on that thread's stack; deeper links
/// move to another thread (as .NET queues to the thread pool when the stack is deep) and the
/// chain still completes.
#[test]
fn synchronous_continuations_run_inline_until_the_stack_is_deep_then_elsewhere() {
    const LINKS: usize = 200;
    let tcs = TaskCompletionSource::<usize>::new();
    let ran_on = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let mut last = tcs.task();
    for _ in 0..LINKS {
        let ran_on = ran_on.clone();
        last = last.continue_with_options(sync, move |t| {
            ran_on.lock().unwrap().push(thread::current().id());
            *t.try_result().unwrap().unwrap() + 1
        });
    }
    tcs.set_result(0);
    assert_eq!(last.wait_timeout(WAIT), Some(Ok(&LINKS)));
    let ran_on = ran_on.lock().unwrap();
    assert_eq!(ran_on.len(), LINKS);
    assert!(
        ran_on[..30].iter().all(|&id| id == thread::current().id()),
        "shallow links run inline"
    );
    assert!(
        ran_on[40..].iter().all(|&id| id != thread::current().id()),
        "deep links run elsewhere"
    );
}

/// A link that panics deep in a chain faults its own task; the links after it still run.
#[test]
fn a_panicking_link_deep_in_a_chain_does_not_strand_the_links_after_it() {
    const LINKS: usize = 100;
    const PANICS_AT: usize = 60;
    let tcs = TaskCompletionSource::<usize>::new();
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let mut last = tcs.task();
    let mut faulted = None;
    for i in 0..LINKS {
        last = last.continue_with_options(sync, move |t| {
            assert_ne!(i, PANICS_AT, "link {i} fails");
            // Restart the count after the failed link.
            t.try_result().unwrap().map_or(0, |n| *n) + 1
        });
        if i == PANICS_AT {
            faulted = Some(last.clone());
        }
    }
    tcs.set_result(0);
    assert_eq!(last.wait_timeout(WAIT), Some(Ok(&(LINKS - PANICS_AT - 1))));
    assert!(faulted.unwrap().is_faulted());
}

/// Deep synchronous continuations that block, on valuetask waits or on anything else (a
/// channel), for work woken deeper still: that work runs on another thread meanwhile, so
/// nothing waits forever.
#[test]
fn deep_synchronous_continuations_that_block_do_not_hang() {
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    // Each link completes a nested chain and waits for its continuation.
    let root = TaskCompletionSource::<u32>::new();
    let mut last = root.task();
    for _ in 0..40 {
        last = last.continue_with_options(sync, move |t| {
            let inner = TaskCompletionSource::<u32>::new();
            let next = inner
                .task()
                .continue_with_options(sync, |t| *t.try_result().unwrap().unwrap() + 1);
            inner.set_result(*t.try_result().unwrap().unwrap());
            *next
                .wait_timeout(WAIT)
                .expect("the nested link ran")
                .unwrap()
        });
    }
    root.set_result(0);
    assert_eq!(last.wait_timeout(WAIT), Some(Ok(&40)));

    // A shallow link blocks on a channel that only the end of a deep chain sends on.
    let root = TaskCompletionSource::<u32>::new();
    let fork = root.task().continue_with_options(sync, |_| 0u32);
    let (sent, received) = std::sync::mpsc::channel();
    let mut deep = fork.clone();
    for _ in 0..40 {
        deep = deep.continue_with_options(sync, |t| *t.try_result().unwrap().unwrap());
    }
    let _end = deep.continue_with_options(sync, move |_| sent.send(()).unwrap());
    let blocked = fork.continue_with_options(sync, move |_| received.recv_timeout(WAIT).is_ok());
    root.set_result(0);
    assert_eq!(blocked.wait_timeout(WAIT), Some(Ok(&true)));
}

/// A deep link moved to another thread (with tokio, the global runtime's blocking pool)
/// that waits for a pending future with `get_result` parks until the future is woken, as on
/// any thread: that thread runs no runtime driver, so the wait is not polled on a timer, as
/// one inside a driver's wake-up is (50 µs naps growing to 5 ms: about 40 polls in the
/// 200 ms here).
#[test]
fn a_deep_link_moved_elsewhere_parks_its_wait_until_woken() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    /// Done once `done` is set; its waker is kept under the same lock.
    struct Later {
        polls: Arc<AtomicUsize>,
        state: Arc<Mutex<(bool, Option<Waker>)>>,
    }
    impl Future for Later {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            let mut state = self.state.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let polls = Arc::new(AtomicUsize::new(0));
    let waited_on = Arc::new(Mutex::new(None));
    let root = TaskCompletionSource::<u32>::new();
    let mut last = root.task();
    for i in 0..40 {
        let (polls, waited_on) = (polls.clone(), waited_on.clone());
        last = last.continue_with_options(sync, move |t| {
            if i == 36 {
                *waited_on.lock().unwrap() = Some(thread::current().id());
                let state = Arc::new(Mutex::new((false, None)));
                let later = Later {
                    polls,
                    state: state.clone(),
                };
                let completer = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(200));
                    let waker = {
                        let mut state = state.lock().unwrap();
                        state.0 = true;
                        state.1.take()
                    };
                    waker.expect("the wait's poll registered").wake();
                });
                valuetask::ValueTask::new(later).get_result();
                completer.join().unwrap();
            }
            *t.try_result().unwrap().unwrap() + 1
        });
    }
    root.set_result(0);
    assert_eq!(last.wait_timeout(WAIT), Some(Ok(&40)));
    let waited_on = waited_on.lock().unwrap().expect("link 36 ran");
    assert_ne!(waited_on, thread::current().id(), "the deep link moved");
    let polls = polls.load(Ordering::SeqCst);
    assert!(
        polls <= 4,
        "polled {polls} times: on a timer, not when woken"
    );
}

/// Two deep chains, where a deep link of one waits for the end of the other: both deep parts
/// run on other threads (a pool, not one shared thread that the waiting link would hold), so
/// the other chain still finishes and so does the waiting one.
#[test]
fn a_deep_link_waiting_for_another_deep_chain_does_not_hang() {
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let chain = |root: &TaskCompletionSource<u32>, waits_for: Option<Task<u32>>| {
        let mut last = root.task();
        for i in 0..40 {
            let waits_for = waits_for.clone();
            last = last.continue_with_options(sync, move |t| {
                if let (35, Some(other)) = (i, &waits_for) {
                    assert!(other
                        .wait_timeout(WAIT)
                        .expect("the other chain ends")
                        .is_ok());
                }
                *t.try_result().unwrap().unwrap() + 1
            });
        }
        last
    };
    let (a, b) = (TaskCompletionSource::new(), TaskCompletionSource::new());
    let b_end = chain(&b, None);
    let a_end = chain(&a, Some(b_end.clone()));
    a.set_result(0); // its deep part blocks on another thread until b's chain ends
    let other = thread::spawn(move || b.set_result(0));
    other.join().unwrap();
    assert_eq!(b_end.wait_timeout(WAIT), Some(Ok(&40)));
    assert_eq!(a_end.wait_timeout(WAIT), Some(Ok(&40)));
}

/// A deep chain completed from a thread-local destructor (where starting a thread may not be
/// possible) still completes, and the process does not abort.
#[test]
fn a_deep_chain_completed_in_a_thread_local_destructor_completes() {
    use std::cell::RefCell;
    thread_local!(static ROOT: RefCell<Option<TaskCompletionSource<usize>>> = const { RefCell::new(None) });
    struct CompleteOnDrop;
    impl Drop for CompleteOnDrop {
        fn drop(&mut self) {
            if let Some(root) = ROOT.with(|r| r.borrow_mut().take()) {
                root.set_result(0);
            }
        }
    }
    thread_local!(static LAST: CompleteOnDrop = const { CompleteOnDrop });
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let root = TaskCompletionSource::<usize>::new();
    let mut last = root.task();
    for _ in 0..40 {
        // An error is counted, not unwrapped (a panic per link would nest the messages).
        last =
            last.continue_with_options(sync, |t| t.try_result().unwrap().map_or(1000, |n| n + 1));
    }
    thread::spawn(move || {
        // Thread-locals are destroyed in reverse order of first use: std's own (touched by
        // the spawn below) go first, then `LAST` completes the chain while `ROOT` still holds
        // the source.
        ROOT.with(|r| *r.borrow_mut() = Some(root));
        LAST.with(|_| ());
        thread::spawn(|| ()).join().unwrap();
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(last.wait_timeout(WAIT), Some(Ok(&40)));
}

/// A current-thread runtime runs spawned work only while its thread drives it: a scheduled
/// continuation completed from one must still run after that runtime is gone.
#[test]
fn a_continuation_scheduled_from_a_current_thread_runtime_runs_elsewhere() {
    let tcs = TaskCompletionSource::<u8>::new();
    let next = tcs
        .task()
        .continue_with(|t| t.try_result().unwrap().unwrap() + 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async { tcs.set_result(1) });
    drop(rt);
    assert_eq!(next.wait_timeout(WAIT), Some(Ok(&2)));
}

/// Blocking on a continuation inside a current-thread runtime's only thread: the continuation
/// does not need that thread.
#[test]
fn waiting_on_a_continuation_inside_a_current_thread_runtime_does_not_deadlock() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let value = rt.block_on(async {
        let next = Task::from_result(1u8).continue_with(|_| 2u8);
        next.wait_timeout(WAIT)
            .map(|r| r.copied().map_err(TaskError::clone))
    });
    assert_eq!(value, Some(Ok(2)));
}

/// A one-worker multi-thread runtime whose worker blocks in `wait()` on a continuation: the
/// continuation runs elsewhere.
#[test]
fn waiting_on_a_continuation_from_the_only_worker_of_a_runtime_does_not_deadlock() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let value = rt.block_on(async {
        tokio::spawn(async {
            let next = Task::from_result(1u8).continue_with(|_| 2u8);
            next.wait_timeout(WAIT)
                .map(|r| r.copied().map_err(TaskError::clone))
        })
        .await
        .unwrap()
    });
    assert_eq!(value, Some(Ok(2)));
}

/// A skipped continuation's closure (and what it captured) is dropped before its task ends
/// canceled, and a panic in that drop faults the task instead of escaping.
#[test]
fn a_skipped_continuation_drops_its_closure_first_and_a_panic_there_faults_it() {
    struct SetOnDrop(Arc<AtomicUsize>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(10));
            self.0.store(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let captured = SetOnDrop(dropped.clone());
    let skip = ContinuationOptions::default().when(ContinueWhen::OnlyOnRanToCompletion);
    let failed = Task::<u8>::from_error(TaskError::panicked("antecedent"));
    let skipped = failed.continue_with_options(skip, move |_| drop(captured));
    assert!(skipped.wait().unwrap_err().is_canceled());
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the closure was dropped before the task ended"
    );

    let captured = common::PanicsOnDrop("closure drop failed");
    let faulted = failed.continue_with_options(skip, move |_| drop(captured));
    assert_eq!(
        faulted.wait().unwrap_err().panic_message(),
        Some("closure drop failed")
    );
}

/// A synchronous continuation registered on a completed task runs inside the registering
/// call; when it registers the next one the same way (the classic `ContinueWith` loop), the
/// nesting is bounded like a chain of completions: past 32 deep it moves to another thread.
/// On a small stack, so an unbounded nesting overflows it (in a child process: an overflow
/// aborts).
#[test]
fn synchronous_continuations_registered_on_completed_tasks_nest_boundedly() {
    if !common::runs_in_child_process(
        "synchronous_continuations_registered_on_completed_tasks_nest_boundedly",
    ) {
        return;
    }
    fn step(n: u32, done: TaskCompletionSource<()>) {
        if n == 0 {
            return done.set_result(());
        }
        let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
        drop(Task::completed().continue_with_options(sync, move |_| step(n - 1, done)));
    }
    let done = TaskCompletionSource::new();
    let finished = done.task();
    thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || step(20_000, done))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        finished.wait_timeout(Duration::from_secs(30)),
        Some(Ok(&()))
    );
}

/// A scheduled continuation is synchronous code on a thread-pool thread, as in .NET: it may
/// call `Handle::block_on` (which panics on a runtime worker).
#[cfg(feature = "tokio")]
#[test]
fn a_scheduled_continuation_may_call_block_on() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let continuation = Task::completed().continue_with(move |_| handle.block_on(async { 5u8 }));
    assert_eq!(continuation.wait_timeout(WAIT), Some(Ok(&5)));
}

/// Scheduled continuations that block, as many as the global runtime has workers and more,
/// do not stop the runtime: a delay (whose timer the workers drive) still completes.
#[cfg(feature = "tokio")]
#[test]
fn blocking_scheduled_continuations_do_not_stall_the_global_runtime() {
    let workers = Task::run(async { tokio::runtime::Handle::current().metrics().num_workers() })
        .wait()
        .copied()
        .unwrap();
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let blocked: Vec<Task<()>> = (0..workers + 1)
        .map(|_| {
            let gate = gate.clone();
            Task::completed().continue_with(move |_| {
                let (open, opened) = &*gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = opened.wait(open).unwrap();
                }
            })
        })
        .collect();
    let delayed = Task::delay(Duration::from_millis(1))
        .wait_timeout(WAIT)
        .is_some();
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    for task in &blocked {
        assert_eq!(task.wait_timeout(WAIT), Some(Ok(&())));
    }
    assert!(
        delayed,
        "the delay did not complete while continuations blocked"
    );
}

/// A synchronous continuation of a source with asynchronous continuations runs on the
/// continuation thread; when it waits there for another such task, whose wake-up is queued
/// behind it, the thread hands its queue over instead of waiting forever (and every later
/// asynchronous wake-up in the process with it).
#[test]
fn a_continuation_waiting_on_the_continuation_thread_does_not_stall_its_queue() {
    use valuetask::Continuations;
    let first = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let second = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let awaited = second.task();
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let continuation = first.task().continue_with_options(sync, move |_| {
        waiting_tx
            .send(thread::current().name().map(str::to_owned))
            .unwrap();
        *awaited.wait().unwrap()
    });
    first.set_result(1);
    let ran_on = waiting_rx.recv_timeout(WAIT).expect("the continuation ran");
    assert_eq!(ran_on.as_deref(), Some("valuetask-continuations"));
    thread::sleep(Duration::from_millis(20)); // let it block in `wait`
    second.set_result(2);
    assert_eq!(continuation.wait_timeout(WAIT), Some(Ok(&2)));
}

/// Two synchronous continuations of one asynchronous completion, woken in turn on the
/// continuation thread: the first waits for what the second does (completing with `value`).
/// When the first blocks, the second goes with the queue to the new serving thread instead
/// of waiting behind it.
fn continuation_waiting_for_a_later_one(value: usize) {
    use valuetask::Continuations;
    let first = TaskCompletionSource::<usize>::with_continuations(Continuations::Asynchronous);
    let second = TaskCompletionSource::<usize>::new();
    let awaited = second.task();
    let sync = options(ContinueWhen::Always, ContinueOn::Synchronously);
    let waiting = first
        .task()
        .continue_with_options(sync, move |_| *awaited.wait().unwrap());
    let completing = first
        .task()
        .continue_with_options(sync, move |_| second.set_result(value));
    first.set_result(0);
    assert_eq!(waiting.wait_timeout(WAIT), Some(Ok(&value)));
    assert_eq!(completing.wait_timeout(WAIT), Some(Ok(&())));
}

#[test]
fn a_continuation_waiting_for_a_later_one_of_the_same_completion_does_not_hang() {
    continuation_waiting_for_a_later_one(2);
}

/// Handoffs of the continuation thread, over and over and from two threads at once. None
/// hangs; every continuation runs once.
#[test]
fn repeated_continuation_thread_handoffs_never_hang() {
    let rounds = (common::stress_rounds() / 10).max(10);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| (0..rounds).for_each(continuation_waiting_for_a_later_one));
        }
    });
}

/// Counts the drops of a closure's capture.
#[cfg(feature = "tokio")]
struct DropCount(Arc<AtomicUsize>);

#[cfg(feature = "tokio")]
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A token fired while the antecedent is pending cancels the continuation inside `cancel()`,
/// for either `ContinueOn`: its closure is dropped there without running, and it lets go of
/// the antecedent (whose value the last handle then unwraps), so a completion afterwards runs
/// nothing.
#[cfg(feature = "tokio")]
#[test]
fn a_token_fired_before_the_antecedent_completes_cancels_the_continuation_at_once() {
    for on in [ContinueOn::Synchronously, ContinueOn::Scheduled] {
        let tcs = TaskCompletionSource::<u8>::new();
        let antecedent = tcs.task();
        let token = tokio_util::sync::CancellationToken::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let captured = DropCount(drops.clone());
        let next = antecedent.continue_with_cancellation(
            options(ContinueWhen::Always, on),
            token.clone(),
            move |_| {
                let _captured = &captured;
                panic!("ran after its token fired")
            },
        );
        assert!(!next.is_completed());
        token.cancel();
        assert!(next.is_canceled(), "canceled inside cancel() ({on:?})");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the closure dropped unrun");
        tcs.set_result(4);
        drop(tcs); // the source is a handle too
        assert_eq!(
            antecedent.try_unwrap().ok(),
            Some(Ok(4)),
            "the continuation kept no handle"
        );
        assert!(next.wait().unwrap_err().is_canceled());
    }
}

/// With `lazy_cancellation`, a token fired while the antecedent is pending cancels the
/// continuation only once the antecedent completes (.NET `LazyCancellation`), whatever its
/// outcome, and `f` never runs; the closure is dropped then.
#[cfg(feature = "tokio")]
#[test]
fn a_lazily_canceled_continuation_waits_for_its_antecedent() {
    for on in [ContinueOn::Synchronously, ContinueOn::Scheduled] {
        let tcs = TaskCompletionSource::<u8>::new();
        let token = tokio_util::sync::CancellationToken::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let captured = DropCount(drops.clone());
        let next = tcs.task().continue_with_cancellation(
            options(ContinueWhen::Always, on).lazy_cancellation(true),
            token.clone(),
            move |_| {
                let _captured = &captured;
                panic!("ran after its token fired")
            },
        );
        token.cancel();
        assert!(!next.is_completed(), "waits for the antecedent ({on:?})");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "the closure is kept until then"
        );
        tcs.set_error(TaskError::panicked("antecedent"));
        assert!(next.wait().unwrap_err().is_canceled(), "{on:?}");
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
    let lazy = ContinuationOptions::default().lazy_cancellation(true);
    assert!(lazy.lazy_cancellation && !ContinuationOptions::default().lazy_cancellation);
}

/// A token fired already cancels at once, also over an antecedent that completed already
/// (as .NET, whose canceled token cancels the continuation before registering it), before
/// anything is scheduled; the closure's drop panicking faults it instead.
#[cfg(feature = "tokio")]
#[test]
fn a_token_fired_already_cancels_even_over_a_completed_antecedent() {
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    for on in [ContinueOn::Synchronously, ContinueOn::Scheduled] {
        let next = Task::from_result(1_u8).continue_with_cancellation(
            options(ContinueWhen::Always, on),
            token.clone(),
            |_| -> u8 { panic!("ran with a fired token") },
        );
        assert!(next.is_canceled(), "{on:?}");
        struct Boom;
        impl Drop for Boom {
            fn drop(&mut self) {
                panic!("dropping the canceled closure");
            }
        }
        let boom = Boom;
        let faulted = Task::from_result(1_u8).continue_with_cancellation(
            options(ContinueWhen::Always, on),
            token.clone(),
            move |_| {
                let _boom = &boom;
            },
        );
        assert!(matches!(
            faulted.wait(),
            Err(TaskError::Panicked(message)) if message.contains("dropping the canceled closure")
        ));
    }
}

/// A token fired while `f` runs changes nothing: started work is not canceled, and the task
/// ends with `f`'s result; with no cancellation the options apply as in
/// `continue_with_options` (a skipped outcome cancels).
#[cfg(feature = "tokio")]
#[test]
fn a_token_fired_while_the_continuation_runs_changes_nothing() {
    for on in [ContinueOn::Synchronously, ContinueOn::Scheduled] {
        let tcs = TaskCompletionSource::<u8>::new();
        let token = tokio_util::sync::CancellationToken::new();
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let next = tcs.task().continue_with_cancellation(
            options(ContinueWhen::Always, on),
            token.clone(),
            move |t| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                t.try_result().unwrap().unwrap() + 1
            },
        );
        // Synchronously, `f` runs inside `set_result`: on a thread of its own here.
        let completer = thread::spawn(move || tcs.set_result(1));
        started.recv_timeout(WAIT).expect("f started");
        token.cancel();
        assert!(!next.is_completed(), "f is still running ({on:?})");
        release.send(()).unwrap();
        assert_eq!(next.wait_timeout(WAIT), Some(Ok(&2)), "{on:?}");
        completer.join().unwrap();
        let skipped = Task::<u8>::from_canceled().continue_with_cancellation(
            options(ContinueWhen::OnlyOnRanToCompletion, on),
            tokio_util::sync::CancellationToken::new(),
            |_| -> u8 { panic!("skipped by its options") },
        );
        assert!(skipped.wait().unwrap_err().is_canceled());
    }
}

/// A scheduled continuation whose token fires just after its antecedent completed (the
/// continuation queued on the blocking pool, about to start or started): either it ran (and
/// ended with its result: started work is not canceled) or it did not (and ended canceled);
/// never both, and its closure is dropped once. A queued continuation checks the token when
/// its turn comes: a pool thread takes far longer to pick the job up than `cancel()` right
/// after the completion takes, so some of the rounds end canceled.
#[cfg(feature = "tokio")]
#[test]
fn a_token_fired_while_a_scheduled_continuation_is_queued_cancels_it_unless_it_started() {
    let mut canceled = 0;
    for _ in 0..200 {
        let tcs = TaskCompletionSource::<u8>::new();
        let token = tokio_util::sync::CancellationToken::new();
        let (ran, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let captured = DropCount(drops.clone());
        let next = {
            let ran = ran.clone();
            tcs.task().continue_with_cancellation(
                options(ContinueWhen::Always, ContinueOn::Scheduled),
                token.clone(),
                move |_| {
                    let _captured = &captured;
                    ran.fetch_add(1, Ordering::SeqCst);
                    7_u8
                },
            )
        };
        tcs.set_result(1);
        token.cancel();
        let outcome = next.wait_timeout(WAIT).expect("ends");
        match ran.load(Ordering::SeqCst) {
            0 => {
                assert!(outcome.unwrap_err().is_canceled());
                canceled += 1;
            }
            1 => assert_eq!(outcome, Ok(&7)),
            n => panic!("ran {n} times"),
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the closure dropped once");
    }
    assert!(
        canceled > 0,
        "no queued continuation was canceled in 200 rounds"
    );
}
