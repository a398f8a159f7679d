//! Blocking waits (`Task::wait`, `ValueTask::get_result`): nested on one thread, and inside a
//! worker of a multi-thread runtime.

use std::future::Future;
use std::panic::catch_unwind;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use valuetask::{Task, TaskCompletionSource, ValueTask};

const WAIT: Duration = Duration::from_secs(10);

/// Pending at its first poll (`get_result` tries once with a waker that does nothing). At
/// the second (the blocking wait's, with its real waker) it polls `first`, starts a thread
/// that completes `first` and then `second`, and waits for `second` inside the poll: a nested
/// blocking wait on the same thread, sharing its waker. Ready once `first` is.
struct WaitsInsideItsPoll {
    polls: u32,
    first: Task<u8>,
    completers: Option<(TaskCompletionSource<u8>, TaskCompletionSource<u8>)>,
    second: Task<u8>,
}

impl Future for WaitsInsideItsPoll {
    type Output = u8;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        self.polls += 1;
        if self.polls == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Poll::Ready(value) = Pin::new(&mut self.first).poll(cx) {
            return Poll::Ready(value.unwrap());
        }
        // `first` has our waker now. Its completion wakes it while the nested wait below
        // runs, on the waker both waits share; the nested wait must leave that wake-up for
        // the outer one.
        if let Some((first, second)) = self.completers.take() {
            thread::spawn(move || {
                first.set_result(1);
                second.set_result(2);
            });
        }
        assert_eq!(self.second.wait(), Ok(&2));
        Poll::Pending
    }
}

#[test]
fn a_wake_up_that_arrives_during_a_nested_wait_still_reaches_the_outer_wait() {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let rounds = catch_unwind(|| {
            for _ in 0..100 {
                let (first, second) = (TaskCompletionSource::new(), TaskCompletionSource::new());
                let outer = WaitsInsideItsPoll {
                    polls: 0,
                    first: first.task(),
                    second: second.task(),
                    completers: Some((first, second)),
                };
                assert_eq!(ValueTask::new(outer).get_result(), 1);
            }
        });
        done.send(rounds.is_ok()).unwrap();
    });
    let completed = finished
        .recv_timeout(WAIT)
        .expect("the outer wait missed the wake-up its nested wait consumed");
    assert!(completed, "a round panicked (its message is above)");
}

/// Polls `never` with a zero timeout at every poll (a nested wait that gives up at once,
/// consuming no wake-up), then waits for `gate`; counts its polls.
struct GivesUpANestedWaitAtEveryPoll {
    polls: u32,
    never: Task<u8>,
    gate: Task<u8>,
}

impl Future for GivesUpANestedWaitAtEveryPoll {
    type Output = u8;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        self.polls += 1;
        assert!(self.never.wait_timeout(Duration::ZERO).is_none());
        Pin::new(&mut self.gate).poll(cx).map(Result::unwrap)
    }
}

#[test]
fn a_nested_wait_that_consumed_no_wake_up_does_not_make_the_outer_wait_poll_again() {
    let never = TaskCompletionSource::<u8>::new();
    let gate = TaskCompletionSource::new();
    let mut outer = GivesUpANestedWaitAtEveryPoll {
        polls: 0,
        never: never.task(),
        gate: gate.task(),
    };
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        gate.set_result(7);
    });
    assert_eq!(
        ValueTask::new(std::future::poll_fn(|cx| Pin::new(&mut outer).poll(cx))).get_result(),
        7
    );
    opener.join().unwrap();
    // The call's poll, the wait's first, the one after the gate's wake-up; a spurious unpark
    // or two at most. Raising the flag on every nested exit polled it until the gate opened.
    assert!(
        outer.polls <= 6,
        "the outer wait polled {} times in 50 ms",
        outer.polls
    );
}

/// With feature `tokio` a wait on a runtime worker runs in `block_in_place`.
#[cfg(feature = "tokio")]
#[test]
fn a_panic_in_a_future_blocked_on_inside_a_runtime_worker_propagates_unchanged() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (done, finished) = mpsc::channel();
    runtime.spawn(async move {
        let message = tokio::spawn(async {
            // `get_result` polls once, then blocks: on a worker, in `block_in_place`. A panic
            // in a later poll must come out as it is, not be taken for tokio refusing to block
            // in place.
            let mut polls = 0;
            let panics_at_its_second_poll = std::future::poll_fn(move |cx| {
                polls += 1;
                assert!(polls < 2, "the future's own panic");
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            });
            let panic = catch_unwind(std::panic::AssertUnwindSafe(|| {
                ValueTask::new(panics_at_its_second_poll).get_result()
            }))
            .expect_err("the panic propagates");
            (panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .or_else(|| panic.downcast_ref::<String>().cloned())
        })
        .await
        .ok();
        done.send(message).unwrap();
    });
    let message = finished.recv_timeout(WAIT).expect("the wait returned");
    assert_eq!(
        message.expect("the task itself did not panic").as_deref(),
        Some("the future's own panic")
    );
}

/// The misuse catalogue's documented hang: on a current-thread runtime's own thread, a
/// blocking wait for work spawned on that runtime cannot return, because the runtime runs only
/// while its thread awaits. `wait_timeout` shows it without hanging the test: it times out,
/// and the same task completes once the thread awaits it. If this wait ever started to panic
/// or to complete (say, by running the runtime inside the wait), the catalogue would be wrong.
#[cfg(feature = "tokio")]
#[test]
fn a_wait_on_a_current_thread_runtime_for_work_on_it_does_not_return() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let task = Task::run(async { 7u8 });
        assert!(
            task.wait_timeout(Duration::from_millis(100)).is_none(),
            "the runtime cannot run the task while its only thread is blocked in the wait"
        );
        assert!(!task.status().is_completed());
        assert_eq!(task.clone().await, Ok(7));
    });
}

/// On a current-thread runtime's thread (`#[tokio::test]`, `#[tokio::main(flavor =
/// "current_thread")]`), a blocking wait drives a value task whose body uses tokio: tokio
/// defers the wake-ups of `yield_now` and of a spent cooperative budget to that runtime's
/// scheduler, which cannot run while its thread waits; the wait polls again after short naps
/// and runs the body without a budget, so it completes (it hung).
#[cfg(feature = "tokio")]
#[test]
fn a_wait_on_a_current_thread_runtime_drives_a_body_whose_wake_ups_tokio_defers() {
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let yielded = ValueTask::new(async {
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    1u8
                })
                .get_result();
                assert_eq!(yielded, 1);
                // More messages than tokio's budget of 128 a task, all sent already.
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                for i in 0..300u32 {
                    tx.send(i).unwrap();
                }
                drop(tx);
                let sum = ValueTask::new(async move {
                    let mut sum = 0;
                    while let Some(i) = rx.recv().await {
                        sum += i;
                    }
                    sum
                })
                .get_result();
                assert_eq!(sum, 300 * 299 / 2);
            });
        }
        done_tx.send(()).unwrap();
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(20)).is_ok(),
        "the wait on the runtime's thread never returned (or panicked)"
    );
}

/// A source whose operation is a tokio timer: its wake-up comes from the timer driver,
/// inside a worker's park, where no task runs.
#[cfg(feature = "tokio")]
struct TimerSource(std::sync::Mutex<Pin<Box<tokio::time::Sleep>>>);

#[cfg(feature = "tokio")]
impl valuetask::ValueTaskSource<u8> for TimerSource {
    fn status(&self, _token: u32) -> valuetask::SourceStatus {
        if self.0.lock().unwrap().is_elapsed() {
            valuetask::SourceStatus::Succeeded
        } else {
            valuetask::SourceStatus::Pending
        }
    }
    fn poll_result(&self, _token: u32, cx: &mut Context<'_>) -> Poll<u8> {
        self.0.lock().unwrap().as_mut().poll(cx).map(|()| 3)
    }
}

/// On a two-worker runtime, a synchronous continuation `then` of a task that a 20 ms tokio
/// timer completes through a bridged [`TimerSource`] (so `then` runs inside a worker's
/// park), and the runtime.
#[cfg(feature = "tokio")]
#[allow(clippy::async_yields_async)] // the continuation's task is handed out, not awaited
fn continuation_of_a_timer_wake_up(
    then: impl FnOnce(&Task<u8>) -> u8 + Send + 'static,
) -> (Task<u8>, tokio::runtime::Runtime) {
    use std::sync::Arc;
    use valuetask::{ContinuationOptions, ContinueOn};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let continuation = runtime.block_on(async {
        tokio::spawn(async move {
            let source = Arc::new(TimerSource(std::sync::Mutex::new(Box::pin(
                tokio::time::sleep(Duration::from_millis(20)),
            ))));
            let timed = ValueTask::from_arc_source(source, 0).as_task();
            timed.continue_with_options(
                ContinuationOptions::default().on(ContinueOn::Synchronously),
                then,
            )
        })
        .await
        .unwrap()
    });
    (continuation, runtime)
}

/// A synchronous continuation of a task that a timer's wake-up completes (a bridged source)
/// runs inside the worker's park, where `block_in_place` cannot move the worker's core away:
/// a wait there blocks the thread as it is.
#[cfg(feature = "tokio")]
#[test]
fn a_wait_in_a_continuation_run_by_a_timer_wake_up_on_a_worker_ends() {
    let other = TaskCompletionSource::<u8>::new();
    let waited = other.task();
    let (continuation, runtime) = continuation_of_a_timer_wake_up(move |timed| {
        assert_eq!(timed.wait(), Ok(&3));
        *waited.wait().unwrap()
    });
    thread::sleep(Duration::from_millis(100));
    other.set_result(4);
    let waited = continuation.wait_timeout(WAIT).map(|r| r.copied());
    runtime.shutdown_timeout(Duration::from_millis(100));
    assert_eq!(waited, Some(Ok(4)));
}

/// Inside a task's poll, a synchronous continuation that its `set_result` runs waits in
/// `block_in_place` still (the task has a budget, a driver's wake-up has none): the task it
/// spawns sits in the only worker's own slot, which no other thread takes unless the wait
/// hands the worker's core away.
#[cfg(feature = "tokio")]
#[test]
#[allow(clippy::async_yields_async)] // the continuation's task is handed out, not awaited
fn a_wait_in_a_continuation_run_inside_a_task_still_moves_the_workers_queue() {
    use valuetask::{ContinuationOptions, ContinueOn};
    // On a thread of its own: a wait that does not end blocks the runtime's only worker,
    // and the test fails on its deadline instead of hanging.
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let continuation = runtime.block_on(async {
            tokio::spawn(async {
                let antecedent = TaskCompletionSource::<u8>::new();
                let continuation = antecedent.task().continue_with_options(
                    ContinuationOptions::default().on(ContinueOn::Synchronously),
                    |_| *Task::run(async { 6u8 }).wait().unwrap(),
                );
                antecedent.set_result(1);
                continuation
            })
            .await
            .unwrap()
        });
        done.send(continuation.wait().copied().map_err(Clone::clone))
            .unwrap();
    });
    let waited = finished
        .recv_timeout(WAIT)
        .expect("the wait inside the continuation did not end");
    assert_eq!(waited, Ok(6));
}

/// As above, the continuation's wait driving a body that yields to tokio: the worker's
/// deferred wake-ups run only when it gets back to its scheduler, so the wait polls again
/// by itself.
#[cfg(feature = "tokio")]
#[test]
fn a_wait_in_a_continuation_run_by_a_timer_wake_up_drives_a_body_that_yields_to_tokio() {
    let (continuation, runtime) = continuation_of_a_timer_wake_up(|_| {
        ValueTask::new(async {
            // The call's poll meets the first; the wait's polls, the others.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            5u8
        })
        .get_result()
    });
    let waited = continuation.wait_timeout(WAIT).map(|r| r.copied());
    runtime.shutdown_timeout(Duration::from_millis(100));
    assert_eq!(waited, Some(Ok(5)));
}

/// A source whose result comes from a future it polls, ready when that future is.
#[cfg(feature = "tokio")]
struct PollsAFuture(
    std::sync::Mutex<Pin<Box<dyn Future<Output = u8> + Send>>>,
    std::sync::atomic::AtomicBool,
);

#[cfg(feature = "tokio")]
impl PollsAFuture {
    fn new(future: impl Future<Output = u8> + Send + 'static) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(
            std::sync::Mutex::new(Box::pin(future)),
            std::sync::atomic::AtomicBool::new(false),
        ))
    }
}

#[cfg(feature = "tokio")]
impl valuetask::ValueTaskSource<u8> for PollsAFuture {
    fn status(&self, _: u32) -> valuetask::SourceStatus {
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            valuetask::SourceStatus::Succeeded
        } else {
            valuetask::SourceStatus::Pending
        }
    }
    fn poll_result(&self, _: u32, cx: &mut Context<'_>) -> Poll<u8> {
        let polled = self.0.lock().unwrap().as_mut().poll(cx);
        if polled.is_ready() {
            self.1.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }
}

/// A task on a multi-thread worker blocks in place (a wait of valuetask's, or the task's own
/// `tokio::task::block_in_place`); tokio's `block_in_place` first wakes the worker's deferred
/// wakers, holding their list borrowed, among them an `as_task` bridge whose source yielded
/// through tokio: its synchronous continuation waits too. That inner wait does not enter
/// `block_in_place` again (tokio would panic there, "already borrowed", faulting the
/// continuation) nor defer to the scheduler: it polls as inside a driver's wake-up, and ends.
#[cfg(feature = "tokio")]
#[test]
fn a_wait_inside_a_continuation_that_block_in_place_wakes_first_ends() {
    for users_own in [false, true] {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let got = runtime.block_on(async move {
            tokio::spawn(async move { wait_inside_a_deferred_continuation(users_own) })
                .await
                .unwrap()
        });
        assert_eq!(
            got,
            Ok(true),
            "the inner wait timed out as asked ({users_own})"
        );
    }
}

/// In a task: an `as_task` bridge deferred by its source's tokio yield, whose synchronous
/// continuation waits 1 ms for a task that never completes; then this task blocks in place
/// (`users_own`: through tokio directly, else through a pending wait), which runs the
/// bridge. `Ok(true)`: the continuation's wait timed out.
#[cfg(feature = "tokio")]
fn wait_inside_a_deferred_continuation(users_own: bool) -> Result<bool, valuetask::TaskError> {
    use valuetask::{ContinuationOptions, ContinueOn};
    let source = PollsAFuture::new(async {
        tokio::task::yield_now().await; // defers the bridge's wake-up
        1
    });
    let never = TaskCompletionSource::<u8>::new();
    let pending = never.task();
    let continuation = ValueTask::from_arc_source(source, 0)
        .as_task()
        .continue_with_options(
            ContinuationOptions::default().on(ContinueOn::Synchronously),
            move |_| pending.wait_timeout(Duration::from_millis(1)).is_none(),
        );
    if users_own {
        tokio::task::block_in_place(|| thread::sleep(Duration::from_millis(20)));
    } else {
        // Pending at first: the wait calls `block_in_place`.
        assert_eq!(Task::delay(Duration::from_millis(20)).wait(), Ok(&()));
    }
    let timed_out = continuation.wait().copied().map_err(Clone::clone);
    drop(never);
    timed_out
}

/// tokio's limit, listed in `misuse.rs`: an `as_task` bridge runs its source's poll inside
/// the wake-up that wakes it. A source that yields through tokio (`tokio::task::yield_now`)
/// has the bridge woken from the scheduler's deferred wake-ups, whose list tokio holds
/// borrowed while it wakes them: a second tokio yield there panics inside tokio, and the
/// task faults with that panic. `valuetask::yield_now` wakes at once and completes.
#[cfg(feature = "tokio")]
#[test]
fn a_bridged_source_yielding_twice_through_tokio_faults_where_valuetask_yield_now_completes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Bridged inside the runtime: the first yield defers the bridge's wake-up to it.
    let through_tokio = runtime.block_on(async {
        let source = PollsAFuture::new(async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            5
        });
        ValueTask::from_arc_source(source, 0).as_task().await
    });
    assert!(
        matches!(&through_tokio, Err(valuetask::TaskError::Panicked(message)) if message.contains("already borrowed")),
        "{through_tokio:?}"
    );
    let through_valuetask = runtime.block_on(async {
        let source = PollsAFuture::new(async {
            valuetask::yield_now().await;
            valuetask::yield_now().await;
            5
        });
        ValueTask::from_arc_source(source, 0).as_task().await
    });
    assert_eq!(through_valuetask, Ok(5));
}
