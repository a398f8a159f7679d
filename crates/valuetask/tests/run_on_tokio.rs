//! `Task::run` and friends on tokio: hot start, panics, cancellation, delays, yield.
#![cfg(feature = "tokio")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use valuetask::{yield_now, Task, TaskCompletionSource, TaskError, TaskStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_starts_at_once_on_the_ambient_runtime_and_is_awaitable() {
    let task = Task::run(async {
        yield_now().await;
        std::thread::current().name().map(str::to_owned)
    });
    let name = task.clone().await.unwrap();
    assert_ne!(name.as_deref(), Some("valuetask-global"));
    assert_eq!((&task).await.unwrap(), name, "awaitable again");
}

#[test]
fn run_outside_any_runtime_uses_the_global_runtime_and_wait_blocks() {
    let task = Task::run(async { std::thread::current().name().map(str::to_owned) });
    assert_eq!(task.wait().unwrap().as_deref(), Some("valuetask-global"));
}

#[test]
fn run_outside_any_runtime_is_awaitable_on_another_executor() {
    let task = Task::run(async {
        yield_now().await;
        std::thread::current().name().map(str::to_owned)
    });
    let name = futures::executor::block_on(task.clone()).unwrap();
    assert_eq!(name.as_deref(), Some("valuetask-global"));
    let again = futures::executor::block_on(async { (&task).await });
    assert_eq!(again, Ok(name), "awaitable again");
}

#[test]
fn run_is_hot_nobody_needs_to_await() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let task = Task::run(async move { flag.store(true, Ordering::SeqCst) });
    // The task is kept but never touched: no wait, no poll starts it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !ran.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(ran.load(Ordering::SeqCst), "ran with nobody waiting");
    // (It completes just after its body set the flag.)
    assert_eq!(task.wait_timeout(Duration::from_secs(5)), Some(Ok(&())));
}

#[test]
fn run_on_a_given_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("given")
        .build()
        .unwrap();
    let task = Task::run_on(rt.handle(), async {
        std::thread::current().name().map(str::to_owned)
    });
    assert_eq!(task.wait().unwrap().as_deref(), Some("given"));
}

#[test]
fn a_panic_in_run_faults_the_task_with_its_message() {
    let task: Task<u8> = Task::run(async { panic!("run went wrong") });
    let err = task.wait().unwrap_err();
    assert_eq!(err.panic_message(), Some("run went wrong"));
    assert_eq!(task.status(), TaskStatus::Faulted);
}

#[test]
fn run_blocking_runs_on_the_blocking_pool_and_catches_panics() {
    assert_eq!(Task::run_blocking(|| 5).wait(), Ok(&5));
    let failed: Task<u8> = Task::run_blocking(|| panic!("blocking went wrong"));
    assert_eq!(
        failed.wait().unwrap_err().panic_message(),
        Some("blocking went wrong")
    );
}

#[test]
fn a_token_canceled_before_start_cancels_without_running() {
    let token = CancellationToken::new();
    token.cancel();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let task =
        Task::run_with_cancellation(async move { flag.store(true, Ordering::SeqCst) }, token);
    assert_eq!(task.status(), TaskStatus::Canceled);
    assert_eq!(
        Arc::strong_count(&ran),
        1,
        "the future is dropped at the call"
    );
    std::thread::sleep(Duration::from_millis(10));
    assert!(!ran.load(Ordering::SeqCst));
}

/// Spawned but not yet polled when the token fires: on a current-thread runtime the task
/// cannot start before the test's own future yields. The task is canceled inside `cancel()`,
/// so awaiting it does not yield either: the runtime gets turns after that, in which the
/// spawned driver runs, and must drop the future without polling it.
#[test]
fn a_token_canceled_after_spawn_but_before_the_first_poll_cancels_without_running() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let token = CancellationToken::new();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let task = Task::run_with_cancellation(
            async move { flag.store(true, Ordering::SeqCst) },
            token.clone(),
        );
        assert_eq!(task.status(), TaskStatus::Pending, "spawned, not yet run");
        token.cancel();
        assert_eq!(task.clone().await, Err(TaskError::Canceled));
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        assert!(!ran.load(Ordering::SeqCst), "the future never ran");
        assert_eq!(
            Arc::strong_count(&ran),
            1,
            "the driver ran and dropped the future"
        );
    });
}

/// Sets its flag when dropped, after a pause (so a task published before the drop finished
/// is caught), or panics when told to.
struct Guard {
    dropped: Arc<AtomicBool>,
    panics: bool,
}

impl Guard {
    fn new(panics: bool) -> (Self, Arc<AtomicBool>) {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Guard {
            dropped: dropped.clone(),
            panics,
        };
        (guard, dropped)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(30));
        self.dropped.store(true, Ordering::SeqCst);
        if self.panics {
            panic!("guard failed to clean up");
        }
    }
}

/// A task that waits forever, holding `guard`, canceled once its future has started. The
/// source it waits on comes back too: dropped, it would end that wait (abandoned) and race
/// the cancellation.
fn cancelled_mid_flight(guard: Guard) -> (Task<()>, TaskCompletionSource<()>) {
    let token = CancellationToken::new();
    let never = TaskCompletionSource::<()>::new();
    let waiting = never.task();
    let (started_tx, started) = std::sync::mpsc::channel();
    let task = Task::run_with_cancellation(
        async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            waiting.await.unwrap();
        },
        token.clone(),
    );
    // Mid-flight: the future has run up to its first suspension point (or is about to).
    started
        .recv_timeout(Duration::from_secs(5))
        .expect("the future started");
    assert_eq!(task.status(), TaskStatus::Pending);
    token.cancel();
    (task, never)
}

#[test]
fn a_token_canceled_mid_flight_cancels_the_task_inside_cancel_then_drops_the_future() {
    let (guard, dropped) = Guard::new(false);
    let (task, _never) = cancelled_mid_flight(guard);
    // `cancelled_mid_flight` returns right after `token.cancel()`.
    assert_eq!(
        task.status(),
        TaskStatus::Canceled,
        "canceled inside cancel()"
    );
    assert_eq!(task.try_result(), Some(Err(&TaskError::Canceled)));
    // The future is dropped at its next poll on the runtime.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the future was never dropped"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_canceled_future_whose_drop_panics_reports_the_panic_and_stays_canceled() {
    let reported = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = reported.clone();
    valuetask::set_unobserved_error_hook(move |e| {
        if let Some(message) = e.panic_message() {
            sink.lock().unwrap().push(message.to_string());
        }
    });
    let (guard, dropped) = Guard::new(true);
    let (task, _never) = cancelled_mid_flight(guard);
    assert_eq!(task.try_result(), Some(Err(&TaskError::Canceled)));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !reported
        .lock()
        .unwrap()
        .iter()
        .any(|m| m == "guard failed to clean up")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the panic was not reported"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(task.try_result(), Some(Err(&TaskError::Canceled)));
}

/// A future that is ready at once and holds a guard (state a finished `async` block would
/// already have dropped, but a hand-written future keeps until it is dropped).
struct ReadyHolding(#[allow(dead_code)] Guard);

impl std::future::Future for ReadyHolding {
    type Output = u8;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
        std::task::Poll::Ready(7)
    }
}

#[test]
fn a_finished_future_is_dropped_before_its_task_completes() {
    let (guard, dropped) = Guard::new(false);
    let task = Task::run(ReadyHolding(guard));
    assert_eq!(task.wait_timeout(Duration::from_secs(5)), Some(Ok(&7)));
    assert!(dropped.load(Ordering::SeqCst), "dropped before completion");

    let (guard, _) = Guard::new(true);
    let task = Task::run(ReadyHolding(guard));
    let error = task
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert_eq!(
        error.panic_message(),
        Some("guard failed to clean up"),
        "the work's destructor failed: the task faults"
    );
}

/// A run whose runtime shuts down before its future finishes: the future is dropped (its
/// destructors run, once) and the task ends abandoned, not pending forever. Both before its
/// first poll and after it.
#[test]
fn a_run_whose_runtime_shuts_down_drops_the_future_and_abandons_the_task() {
    for started in [false, true] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let (guard, dropped) = Guard::new(false);
        let task = Task::run_on(runtime.handle(), async move {
            let _held = guard;
            std::future::pending::<u8>().await
        });
        if started {
            // A current-thread runtime polls its tasks only inside `block_on`.
            runtime.block_on(tokio::task::yield_now());
        }
        drop(runtime);
        assert!(dropped.load(Ordering::SeqCst), "started: {started}");
        assert_eq!(
            task.wait_timeout(Duration::from_secs(5)),
            Some(Err(&TaskError::Abandoned)),
            "started: {started}"
        );
    }
}

#[test]
fn delays_complete_in_order_of_their_durations() {
    let long = Task::delay(Duration::from_millis(30));
    let short = Task::delay(Duration::from_millis(2));
    let first = Task::when_any([long.clone(), short.clone()]);
    assert!(
        first.wait().unwrap().ptr_eq(&short),
        "the shorter delay finishes first"
    );
    assert_eq!(long.wait(), Ok(&()));
}

/// As .NET's `Task.Delay(0)` and `Task.Delay(0, token)`: complete (or canceled, for a token
/// already canceled) on return, the static completed task.
#[test]
fn a_zero_delay_is_complete_on_return() {
    assert!(Task::delay(Duration::ZERO).ptr_eq(&Task::completed()));
    let token = CancellationToken::new();
    let zero = Task::delay_with_cancellation(Duration::ZERO, token.clone());
    assert!(zero.ptr_eq(&Task::completed()));
    token.cancel();
    for duration in [Duration::ZERO, Duration::from_secs(30)] {
        let canceled = Task::delay_with_cancellation(duration, token.clone());
        assert_eq!(canceled.try_result(), Some(Err(&TaskError::Canceled)));
    }
}

/// A delay whose deadline `Instant` can hold, but only just: tokio rounds a deadline up to its
/// next millisecond, which overflowed there (the task ended faulted, "overflow when adding
/// duration to instant"). Such a delay, as one past `Instant`, never completes.
#[test]
fn a_delay_just_short_of_the_largest_instant_never_completes() {
    // The largest delay `Instant` can hold from now, to the nanosecond (binary searches on
    // the seconds, then the nanoseconds), less half a millisecond.
    let now = std::time::Instant::now();
    let largest = |fits: &dyn Fn(u64) -> bool, mut low: u64, mut high: u64| {
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if fits(mid) {
                low = mid;
            } else {
                high = mid;
            }
        }
        low
    };
    let secs = largest(
        &|secs| now.checked_add(Duration::from_secs(secs)).is_some(),
        0,
        u64::MAX,
    );
    let nanos = largest(
        &|nanos| {
            now.checked_add(Duration::new(secs, u32::try_from(nanos).unwrap()))
                .is_some()
        },
        0,
        1_000_000_000,
    );
    let edge = Duration::new(secs, u32::try_from(nanos).unwrap()) - Duration::from_micros(500);
    let token = CancellationToken::new();
    let delays = [
        Task::delay(edge),
        Task::delay_with_cancellation(edge, token.clone()),
    ];
    let tcs = valuetask::TaskCompletionSource::<u8>::new();
    let wait = tcs.task().wait_async_timeout(edge);
    std::thread::sleep(Duration::from_millis(100)); // the timers start on the global runtime
    for delay in &delays {
        assert_eq!(delay.status(), valuetask::TaskStatus::Pending, "{delay:?}");
    }
    assert!(!wait.is_completed());
    token.cancel();
    assert!(delays[1].is_canceled());
    tcs.set_result(1);
    assert_eq!(wait.wait(), Ok(&1));
}

#[test]
fn a_cancellable_delay_ends_canceled_when_the_token_fires_first() {
    let token = CancellationToken::new();
    let delay = Task::delay_with_cancellation(Duration::from_secs(30), token.clone());
    token.cancel();
    assert_eq!(
        delay.wait_timeout(Duration::from_secs(5)),
        Some(Err(&TaskError::Canceled))
    );
}

#[test]
fn a_completion_source_ends_canceled_when_its_token_fires() {
    let token = CancellationToken::new();
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.cancel_on(token.clone());
    let all = Task::when_all([tcs.task()]);
    token.cancel();
    // Inside `cancel()`, as .NET runs `token.Register` callbacks: no runtime, no waiting.
    assert_eq!(tcs.task().try_result(), Some(Err(&TaskError::Canceled)));
    assert!(all.is_canceled(), "a when_all over it has seen it too");
    assert!(!tcs.try_set_canceled(), "already canceled");

    // Completed first: the token changes nothing; dropped sources still abandon.
    let token = CancellationToken::new();
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.cancel_on(token.clone());
    tcs.set_result(1);
    token.cancel();
    assert_eq!(tcs.task().wait(), Ok(&1));
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.cancel_on(CancellationToken::new());
    let task = tcs.task();
    drop(tcs);
    assert_eq!(
        task.wait_timeout(Duration::from_secs(5)),
        Some(Err(&TaskError::Abandoned))
    );
}

/// `yield_now` is pending once, waking its task at once (so any executor polls it again),
/// then ready.
#[test]
fn yield_now_works_on_any_executor() {
    use std::future::Future;
    let (count, waker) = common::CountingWaker::new();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut yielding = std::pin::pin!(yield_now());
    assert!(yielding.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count.count(), 1, "woken at once");
    assert!(yielding.as_mut().poll(&mut cx).is_ready());
    futures::executor::block_on(async {
        yield_now().await;
        yield_now().await;
    });
}

/// The watcher of `cancel_on` does not live on a current-thread runtime that may stop.
#[test]
fn cancel_on_registered_inside_a_current_thread_runtime_still_cancels_after_it_is_gone() {
    let tcs = TaskCompletionSource::<u8>::new();
    let token = CancellationToken::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async { tcs.cancel_on(token.clone()) });
    drop(rt);
    token.cancel();
    assert_eq!(
        tcs.task().wait_timeout(Duration::from_secs(5)),
        Some(Err(&TaskError::Canceled))
    );
}

/// A task canceled inside `token.cancel()` whose awaiter's waker panics: the panic does not
/// unwind through the token's notification (tokio's), so the token's later waiters are woken
/// too: another source's watcher, and a plain `cancelled()` future.
#[test]
fn a_panicking_waker_of_a_canceled_task_does_not_stop_the_token_waking_the_rest() {
    let token = CancellationToken::new();
    let first = TaskCompletionSource::<u8>::new();
    first.cancel_on(token.clone());
    let boom = common::waker_that_panics_on_wake();
    let mut awaiting = first.task();
    assert!(common::poll_once(&mut awaiting, &boom).is_pending());
    let second = TaskCompletionSource::<u8>::new();
    second.cancel_on(token.clone());
    let (count, counting) = common::CountingWaker::new();
    let mut cancelled = Box::pin(token.cancelled());
    assert!(common::poll_once(&mut cancelled, &counting).is_pending());

    let cancel = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| token.cancel()));
    assert!(cancel.is_ok(), "the waker's panic stays out of cancel()");
    assert_eq!(first.task().error(), Some(&TaskError::Canceled));
    assert_eq!(second.task().error(), Some(&TaskError::Canceled));
    assert_eq!(count.count(), 1, "the token's own waiter was woken");
}

/// Sync over async on a runtime worker: a `Task::run` body that waits for another task it
/// just started. tokio keeps a task spawned from a worker in that worker's own slot, which no
/// other worker takes, so a plain park would wait forever; the wait hands the worker's queue
/// over instead.
#[test]
fn a_wait_inside_run_for_a_task_it_started_completes() {
    let outer = Task::run(async { *Task::run(async { 1u8 }).wait().unwrap() + 1 });
    assert_eq!(outer.wait_timeout(Duration::from_secs(5)), Some(Ok(&2)));
}

/// The same for a scheduled continuation (spawned on the runtime from the waiting worker)
/// and for a task the waiting body wakes.
#[test]
fn a_wait_inside_run_for_a_continuation_or_a_woken_task_completes() {
    let outer = Task::run(async {
        *Task::from_result(1u8)
            .continue_with(|_| 2u8)
            .wait()
            .unwrap()
    });
    assert_eq!(outer.wait_timeout(Duration::from_secs(5)), Some(Ok(&2)));

    let gate = TaskCompletionSource::<()>::new();
    let gate_task = gate.task();
    let woken = Task::run(async move {
        gate_task.await.unwrap();
        3u8
    });
    let outer = Task::run(async move {
        gate.set_result(());
        *woken.wait().unwrap()
    });
    assert_eq!(outer.wait_timeout(Duration::from_secs(5)), Some(Ok(&3)));
}

/// On a user's multi-thread runtime too: a task of yours that waits synchronously.
#[test]
fn a_wait_inside_a_tokio_task_for_a_task_it_started_completes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(*Task::run(async { 4u8 }).wait().unwrap());
    });
    let got = rx.recv_timeout(Duration::from_secs(5));
    rt.shutdown_background(); // a stuck worker must not hang the test
    assert_eq!(got, Ok(4), "no deadlock");
}

/// `delay` needs no time driver of yours and counts from the call: it works on a runtime
/// built without timers, and on a current-thread runtime's thread that blocks on it.
#[test]
fn delay_works_without_a_timer_of_yours_and_on_a_current_thread_runtime() {
    let no_timers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let delayed = no_timers.block_on(async { Task::delay(Duration::from_millis(1)).await });
    assert_eq!(delayed, Ok(()));
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let waited = current.block_on(async {
        let delay = Task::delay(Duration::from_millis(1));
        delay
            .wait_timeout(Duration::from_secs(5))
            .map(|r| r.is_ok())
    });
    assert_eq!(
        waited,
        Some(true),
        "the delay completed while its thread blocked on it"
    );
    let token = CancellationToken::new();
    let canceled = Task::delay_with_cancellation(Duration::from_secs(60), token.clone());
    token.cancel();
    assert!(canceled
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err()
        .is_canceled());
}

/// A future whose `Drop` panics, handed to `run_with_cancellation` with a token that already
/// fired: dropped unstarted, the task is canceled (as the docs say of a token canceled before
/// the start) and the panic does not reach the caller (it goes to the unobserved-error hook,
/// as a drop's panic after a cancellation mid-flight does: `tests/unobserved_faults.rs`).
#[test]
fn a_pre_canceled_run_whose_future_panics_on_drop_is_canceled() {
    common::quiet_about_panics_with("dropped unstarted");
    let token = CancellationToken::new();
    token.cancel();
    let guard = common::PanicsOnDrop("dropped unstarted");
    let task = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Task::run_with_cancellation(
            async move {
                let _keep = &guard;
                1u8
            },
            token,
        )
    }))
    .expect("the panic stays out of the caller");
    assert!(task.wait().unwrap_err().is_canceled());
}

/// Inside a current-thread runtime's `block_on` that entered a multi-thread runtime, tokio
/// refuses to block in place: the wait parks plainly instead, and the task (on the entered
/// multi-thread runtime) completes.
#[test]
fn a_wait_inside_a_current_thread_block_on_with_a_multi_thread_handle_entered_completes() {
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = current.block_on(async {
        let _entered = multi.enter();
        Task::run(async { 5u8 })
            .wait_timeout(Duration::from_secs(5))
            .map(|r| *r.unwrap())
    });
    assert_eq!(got, Some(5));
}

/// 520 scheduled continuations that block until a 521st runs: the global runtime's blocking
/// pool grows past tokio's default cap of 512 threads, as .NET's thread pool adds threads,
/// so the last one runs and releases the others (at the cap, all waited for good).
#[test]
fn scheduled_continuations_blocked_on_a_later_one_do_not_starve_it() {
    let gate = TaskCompletionSource::<()>::new();
    let blocked: Vec<Task<()>> = (0..520)
        .map(|_| {
            let gate = gate.task();
            Task::completed().continue_with(move |_| {
                let _ = gate.wait_timeout(Duration::from_secs(60));
            })
        })
        .collect();
    let opener = Task::completed().continue_with(move |_| gate.set_result(()));
    assert!(opener.wait_timeout(Duration::from_secs(30)).is_some());
    for task in &blocked {
        assert!(task.wait_timeout(Duration::from_secs(30)).is_some());
    }
}

/// A waker that, woken, tells `entered` and blocks until `gate` opens: it holds a
/// `token.cancel()` between setting the flag and waking the waiters after it.
struct BlocksInWake {
    entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    gate: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl std::task::Wake for BlocksInWake {
    fn wake(self: Arc<Self>) {
        self.entered.lock().unwrap().send(()).unwrap();
        self.gate.lock().unwrap().recv().unwrap();
    }
}

#[test]
fn a_runtime_shut_down_while_the_token_is_firing_leaves_the_task_canceled_not_abandoned() {
    use std::future::Future;
    let token = CancellationToken::new();
    // A waiter of the token ahead of the task's watcher, which holds `cancel()` up.
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (open, gate_rx) = std::sync::mpsc::channel();
    let waker = std::task::Waker::from(Arc::new(BlocksInWake {
        entered: std::sync::Mutex::new(entered_tx),
        gate: std::sync::Mutex::new(gate_rx),
    }));
    let mut ahead = Box::pin(token.clone().cancelled_owned());
    assert!(ahead
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker))
        .is_pending());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let task = Task::<u8>::run_with_cancellation_on(
        runtime.handle(),
        std::future::pending(),
        token.clone(),
    );
    let canceling = std::thread::spawn(move || token.cancel());
    entered.recv().unwrap();
    // The token has fired; its watcher has not run. The runtime drops the task's future.
    runtime.shutdown_timeout(Duration::from_secs(5));
    assert!(
        !task.is_completed(),
        "completed before the token's watcher ran"
    );
    open.send(()).unwrap();
    canceling.join().unwrap();
    assert_eq!(task.status(), TaskStatus::Canceled);
}

#[test]
fn a_future_whose_drop_panics_when_its_runtime_shuts_down_faults_its_task_with_that_panic() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("dropped at shutdown");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let held = PanicsOnDrop;
    let task = Task::<u8>::run_on(runtime.handle(), async move {
        let _held = held;
        std::future::pending().await
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    assert_eq!(
        task.error().and_then(TaskError::panic_message),
        Some("dropped at shutdown")
    );
}

/// A `run_blocking` closure queued behind the ambient runtime's only blocking thread when that
/// runtime shuts down still runs once the thread frees (tokio runs its queue before its
/// blocking threads exit); one handed to a runtime already shut down is dropped, not run, and
/// its task ends `Abandoned`.
#[test]
fn blocking_closures_at_their_runtimes_shutdown_run_if_queued_and_are_abandoned_after() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    let (started, running) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (first, queued) = {
        let _entered = handle.enter();
        let first = Task::run_blocking(move || {
            started.send(()).unwrap();
            released.recv().unwrap();
            1
        });
        running.recv().unwrap(); // the only thread is taken
        (first, Task::run_blocking(|| 2))
    };
    runtime.shutdown_background();
    let late = {
        let _entered = handle.enter();
        Task::run_blocking(|| 3)
    };
    assert_eq!(
        late.wait_timeout(Duration::from_secs(10)),
        Some(Err(&TaskError::Abandoned))
    );
    release.send(()).unwrap();
    assert_eq!(first.wait_timeout(Duration::from_secs(10)), Some(Ok(&1)));
    assert_eq!(queued.wait_timeout(Duration::from_secs(10)), Some(Ok(&2)));
}

/// A `run_blocking` closure handed to a runtime already shut down is dropped inside the call:
/// a task abandoned by that drop (a source the closure held) wakes its synchronous
/// continuation from the continuation thread, not inside `run_blocking` on the caller's
/// thread (the same drop, on a blocking thread at the shutdown, would hold up the pool's
/// queue behind it).
#[test]
fn a_blocking_closure_dropped_unrun_wakes_what_it_abandons_from_another_thread() {
    use valuetask::{ContinuationOptions, ContinueOn};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    runtime.shutdown_background();
    let held = TaskCompletionSource::<u8>::new();
    let inline = ContinuationOptions::default().on(ContinueOn::Synchronously);
    let continued_on = held
        .task()
        .continue_with_options(inline, |_| std::thread::current().id());
    let late = {
        let _entered = handle.enter();
        Task::run_blocking(move || {
            let _held = held;
            1_u8
        })
    };
    assert_eq!(
        late.wait_timeout(Duration::from_secs(10)),
        Some(Err(&TaskError::Abandoned))
    );
    let on = continued_on.wait_timeout(Duration::from_secs(10));
    assert!(matches!(on, Some(Ok(_))), "{on:?}");
    assert_ne!(
        on,
        Some(Ok(&std::thread::current().id())),
        "run inside run_blocking"
    );
}

/// `Task::delay` keeps real time on valuetask's global runtime: a paused clock on the ambient
/// runtime, advanced an hour, does not complete it, and it completes on its own.
#[tokio::test(start_paused = true)]
async fn a_delay_ignores_the_ambient_runtimes_paused_clock() {
    let delay = Task::delay(Duration::from_millis(200));
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert!(!delay.is_completed(), "completed by the paused clock");
    let waited = std::time::Instant::now();
    let done = tokio::task::spawn_blocking(move || {
        delay
            .wait_timeout(Duration::from_secs(10))
            .map(|r| r.is_ok())
    })
    .await
    .unwrap();
    assert_eq!(done, Some(true), "completed on its own, in real time");
    assert!(waited.elapsed() < Duration::from_secs(10));
}

/// Two tasks ended by their runtime's shutdown, each with a synchronous continuation that
/// waits for the other (.NET `ExecuteSynchronously` code that blocks on another task). The
/// runtime drops its tasks one after another on the thread that drops it: a continuation run
/// inside the first drop would wait there for a task only the next drop ends, and
/// `drop(runtime)` would never return. The continuations run off that thread, for each way a
/// shutdown ends a task: a run abandoned, a run faulted by its future's `Drop`, the forwarder
/// of `into_task` abandoning the task it made, a user's source held in a run's future, and a
/// pool's completer held there, whose value task a bridge (`as_task`) awaits.
#[test]
fn synchronous_continuations_waiting_on_each_other_at_shutdown_do_not_hang_it() {
    use valuetask::{CompletionPool, ValueTask};
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("dropped at shutdown");
        }
    }
    common::quiet_about_panics_with("dropped at shutdown");
    let held_in_a_run = |runtime: &tokio::runtime::Runtime, held: Box<dyn Send>| {
        drop(Task::<()>::run_on(runtime.handle(), async move {
            let _held = held;
            std::future::pending().await
        }));
    };
    shutdown_does_not_hang("abandoned run", "Abandoned", |runtime| {
        Task::<u8>::run_on(runtime.handle(), std::future::pending())
    });
    shutdown_does_not_hang("faulted run", "dropped at shutdown", |runtime| {
        let held = PanicsOnDrop;
        Task::<u8>::run_on(runtime.handle(), async move {
            let _held = held;
            std::future::pending().await
        })
    });
    shutdown_does_not_hang("into_task", "Abandoned", |runtime| {
        let _entered = runtime.enter();
        ValueTask::<'static, Result<u8, TaskError>>::new(std::future::pending()).into_task()
    });
    shutdown_does_not_hang("a user's source", "Abandoned", |runtime| {
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        held_in_a_run(runtime, Box::new(tcs));
        task
    });
    let pool = CompletionPool::<u8>::new();
    shutdown_does_not_hang("a pool's completer", "Abandoned", move |runtime| {
        let (response, completer) = pool.rent();
        let task = response.as_task();
        held_in_a_run(runtime, Box::new(completer));
        task
    });
}

/// [`synchronous_continuations_waiting_on_each_other_at_shutdown_do_not_hang_it`] for one way
/// of making the tasks (on the runtime given): each continuation's result names `ended`.
fn shutdown_does_not_hang<T: std::fmt::Debug + Send + Sync + 'static>(
    way: &str,
    ended: &str,
    make: impl Fn(&tokio::runtime::Runtime) -> Task<T>,
) {
    use valuetask::{ContinuationOptions, ContinueOn};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (first, second) = (make(&runtime), make(&runtime));
    let inline = ContinuationOptions::default().on(ContinueOn::Synchronously);
    let (other, mine) = (second.clone(), first.clone());
    let after_first = first.continue_with_options(inline, move |_| format!("{:?}", other.wait()));
    let after_second = second.continue_with_options(inline, move |_| format!("{:?}", mine.wait()));
    let (dropped_tx, dropped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(runtime);
        let _ = dropped_tx.send(());
    });
    assert!(
        dropped.recv_timeout(Duration::from_secs(20)).is_ok(),
        "drop(runtime) hung in a continuation ({way})"
    );
    for after in [after_first, after_second] {
        let waited = after.wait_timeout(Duration::from_secs(10));
        assert!(
            matches!(waited, Some(Ok(seen)) if seen.contains(ended)),
            "{waited:?} ({way})"
        );
    }
}
