//! Every backing of `ValueTask`: `is_completed`, `try_get`, `get_result`, `as_task`, await.

mod common;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{now, poll_once, CountingWaker};
use valuetask::{
    Continuations, SourceStatus, Task, TaskCompletionSource, TaskError, TaskStatus, ValueTask,
    ValueTaskSource,
};

/// A test source: completed from outside, checks its token.
struct TestSource {
    token: u32,
    state: Mutex<(Option<u64>, Option<Waker>)>,
}

impl TestSource {
    fn new(token: u32) -> Self {
        TestSource {
            token,
            state: Mutex::new((None, None)),
        }
    }
    fn complete(&self, v: u64) {
        let waker = {
            let mut s = self.state.lock().unwrap();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl ValueTaskSource<u64> for TestSource {
    fn status(&self, token: u32) -> SourceStatus {
        assert_eq!(token, self.token, "wrong token");
        if self.state.lock().unwrap().0.is_some() {
            SourceStatus::Succeeded
        } else {
            SourceStatus::Pending
        }
    }
    fn poll_result(&self, token: u32, cx: &mut Context<'_>) -> Poll<u64> {
        assert_eq!(token, self.token, "wrong token");
        let mut s = self.state.lock().unwrap();
        match s.0 {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

// --- ready ---

#[test]
fn ready_is_completed_and_every_accessor_yields_the_value() {
    assert!(ValueTask::from_result(1).is_completed());
    assert_eq!(ValueTask::from_result(2).try_get().ok(), Some(2));
    assert_eq!(ValueTask::from_result(3).get_result(), 3);
    let task = ValueTask::from_result(4u64).as_task();
    assert_eq!(task.status(), TaskStatus::RanToCompletion);
    assert_eq!(task.try_result(), Some(Ok(&4)));
    assert_eq!(now(ValueTask::from_result(5)), 5);
}

#[test]
#[should_panic(
    expected = "ValueTask::poll on a value task that already yielded its value (it was polled to completion)"
)]
fn polling_a_ready_value_task_after_it_yielded_panics_with_a_message() {
    let mut vt = ValueTask::from_result(1);
    assert_eq!(poll_once(&mut vt, Waker::noop()), Poll::Ready(1));
    let _ = poll_once(&mut vt, Waker::noop());
}

/// futures' `select!` takes value tasks as they are (`FusedFuture`): in a loop, one that
/// yielded is skipped, never polled again (which would panic), and the loop ends when both
/// have. Ready, task-backed and pooled-future backings, `Send` and local.
#[test]
fn futures_select_skips_a_value_task_that_yielded() {
    use futures::future::FusedFuture;
    futures::executor::block_on(async {
        let tcs = TaskCompletionSource::<u64>::new();
        let mut ready = ValueTask::from_result(1_u64);
        let mut from_task = ValueTask::from(tcs.task());
        let mut pooled = ValueTask::new(async { 3_u64 });
        let mut local = valuetask::LocalValueTask::new(async { 4_u64 });
        let mut tcs = Some(tcs);
        let mut seen = Vec::new();
        loop {
            futures::select! {
                value = ready => {
                    seen.push(value);
                    tcs.take().expect("ready yields once").set_result(2);
                }
                value = from_task => seen.push(value.expect("completed with 2")),
                value = pooled => seen.push(value),
                value = local => seen.push(value),
                complete => break,
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2, 3, 4]);
        assert!(ready.is_terminated() && from_task.is_terminated());
        assert!(FusedFuture::is_terminated(&pooled) && FusedFuture::is_terminated(&local));
    });
}

/// A ready value is dropped exactly once: with its value task when nobody took it, by whoever
/// received it otherwise (never again by the yielded value task). `Drop` skips a ready value
/// only when its type has no drop glue, so this must hold for a type that has some.
#[test]
fn a_ready_value_is_dropped_once_whether_or_not_it_was_awaited() {
    let value = Arc::new(());
    let unpolled = ValueTask::from_result(Arc::clone(&value));
    assert_eq!(Arc::strong_count(&value), 2);
    drop(unpolled);
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "an unpolled ready value is dropped"
    );

    let mut polled = ValueTask::from_result(Arc::clone(&value));
    let Poll::Ready(received) = poll_once(&mut polled, Waker::noop()) else {
        panic!("a ready value task is ready at its first poll");
    };
    drop(polled);
    assert_eq!(
        Arc::strong_count(&value),
        2,
        "the yielded value is not dropped again"
    );
    drop(received);
    assert_eq!(Arc::strong_count(&value), 1);
}

/// Every way to use a value task that already yielded panics at the caller, naming the
/// method; none turns the misuse into a faulted task or a wrong value.
#[test]
fn using_a_value_task_after_it_yielded_panics_naming_the_method() {
    fn yielded() -> ValueTask<'static, Result<u8, valuetask::TaskError>> {
        let mut vt = ValueTask::from_result(Ok(1));
        assert!(poll_once(&mut vt, Waker::noop()).is_ready());
        vt
    }
    fn message(f: impl FnOnce()) -> String {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    }
    for (method, use_it) in [
        (
            "ValueTask::try_get",
            Box::new(|| drop(yielded().try_get())) as Box<dyn FnOnce()>,
        ),
        (
            "ValueTask::get_result",
            Box::new(|| drop(yielded().get_result())),
        ),
        ("ValueTask::as_task", Box::new(|| drop(yielded().as_task()))),
        (
            "ValueTask::into_task",
            Box::new(|| drop(yielded().into_task())),
        ),
    ] {
        let got = message(use_it);
        assert!(got.starts_with(method), "{method}: {got}");
        assert!(got.contains("already yielded its value"), "{method}: {got}");
    }
}

// --- task ---

#[test]
fn task_backing_tracks_the_task() {
    let tcs = TaskCompletionSource::<u64>::new();
    let vt = ValueTask::from(tcs.task());
    assert!(!vt.is_completed());
    let vt = vt.try_get().expect_err("pending");
    tcs.set_result(6);
    assert!(vt.is_completed());
    assert_eq!(vt.try_get().ok(), Some(Ok(6)));
}

#[test]
fn task_backing_yields_the_task_error() {
    let vt = ValueTask::from(Task::<u8>::from_canceled());
    assert!(vt.get_result().unwrap_err().is_canceled());
}

#[test]
fn task_backing_get_result_blocks_until_another_thread_completes() {
    let tcs = TaskCompletionSource::<u64>::new();
    let vt = ValueTask::from(tcs.task());
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tcs.set_result(7);
    });
    assert_eq!(vt.get_result(), Ok(7));
    producer.join().unwrap();
}

#[test]
fn task_backing_as_task_completes_with_nobody_polling() {
    let tcs = TaskCompletionSource::<u64>::new();
    let task = ValueTask::from(tcs.task()).as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    thread::spawn(move || tcs.set_result(8)).join().unwrap();
    assert_eq!(task.status(), TaskStatus::RanToCompletion);
    assert_eq!(task.try_result(), Some(Ok(&Ok(8))));
}

/// A pending task-backed value task is woken on completion; one dropped before completion
/// withdraws its waker, so the completion does not wake it.
#[test]
fn task_backing_awaited_wakes_on_completion_and_a_dropped_one_withdraws_its_waker() {
    let tcs = TaskCompletionSource::<u64>::new();
    let (mut vt, mut dropped) = (ValueTask::from(tcs.task()), ValueTask::from(tcs.task()));
    let (count, waker) = CountingWaker::new();
    let (dropped_count, dropped_waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    assert!(poll_once(&mut dropped, &dropped_waker).is_pending());
    drop(dropped);
    tcs.set_result(1);
    assert_eq!(count.count(), 1);
    assert_eq!(dropped_count.count(), 0, "the dropped awaiter was woken");
    assert_eq!(poll_once(&mut vt, &waker), Poll::Ready(Ok(1)));
}

// --- future ---

#[test]
fn future_backing_is_not_completed_until_polled_and_try_get_polls_once() {
    let vt = ValueTask::new(async { 10 });
    assert!(!vt.is_completed(), "progress is unknown without polling");
    assert_eq!(vt.try_get().ok(), Some(10));

    let tcs = TaskCompletionSource::<u64>::new();
    let task = tcs.task();
    let vt = ValueTask::new(async move { task.await.unwrap() + 1 });
    let vt = vt.try_get().expect_err("pending");
    tcs.set_result(10);
    assert_eq!(vt.try_get().ok(), Some(11));
}

#[test]
fn future_backing_get_result_drives_it_on_this_thread() {
    let tcs = TaskCompletionSource::<u64>::new();
    let task = tcs.task();
    let vt = ValueTask::new(async move { task.await.unwrap() * 2 });
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tcs.set_result(21);
    });
    assert_eq!(vt.get_result(), 42);
    producer.join().unwrap();
}

#[test]
fn future_backing_as_task_is_hot_outside_any_runtime() {
    let tcs = TaskCompletionSource::<u64>::new();
    let task = tcs.task();
    let vt = ValueTask::new(async move { task.await.unwrap() + 100 });
    let hot = vt.as_task();
    assert_eq!(hot.status(), TaskStatus::Pending);
    tcs.set_result(1);
    // Nobody awaits `hot`: the global runtime drives it.
    assert_eq!(hot.wait_timeout(Duration::from_secs(10)), Some(Ok(&101)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_backing_as_task_runs_on_the_ambient_runtime() {
    let vt = ValueTask::new(async {
        tokio::task::yield_now().await;
        std::thread::current().name().map(str::to_owned)
    });
    let thread_name = vt.as_task().await.unwrap();
    assert_ne!(thread_name.as_deref(), Some("valuetask-global"));
}

#[test]
fn future_backing_as_task_turns_a_panic_into_a_faulted_task() {
    let gate = TaskCompletionSource::<()>::new();
    let opened = gate.task();
    let vt: ValueTask<'static, u8> = ValueTask::new(async move {
        opened.await.unwrap();
        panic!("the future gave up");
    });
    let task = vt.as_task();
    gate.set_result(());
    let err = task
        .wait_timeout(Duration::from_secs(10))
        .expect("completes")
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("the future gave up"));
    assert!(task.is_faulted());
}

#[test]
fn future_backing_that_completes_at_once_needs_no_runtime() {
    let task = ValueTask::new(async { 3u8 }).as_task();
    assert_eq!(task.try_result(), Some(Ok(&3)));
}

#[test]
fn future_backing_borrows_from_the_caller() {
    let data = String::from("abc");
    let vt: ValueTask<'_, usize> = ValueTask::new(async { data.len() });
    assert_eq!(vt.get_result(), 3);
}

// --- source ---

#[test]
fn borrowed_source_backing() {
    let source = TestSource::new(7);
    assert!(!ValueTask::from_source(&source, 7).is_completed());
    assert!(ValueTask::from_source(&source, 7).try_get().is_err());
    source.complete(70);
    assert!(ValueTask::from_source(&source, 7).is_completed());
    assert_eq!(ValueTask::from_source(&source, 7).try_get().ok(), Some(70));
    assert_eq!(ValueTask::from_source(&source, 7).get_result(), 70);
    assert_eq!(now(ValueTask::from_source(&source, 7)), 70);
}

#[test]
fn borrowed_source_get_result_blocks_until_completed() {
    let source = TestSource::new(1);
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(10));
            source.complete(11);
        });
        assert_eq!(ValueTask::from_source(&source, 1).get_result(), 11);
    });
}

#[test]
fn shared_source_backing_and_as_task_with_nobody_polling() {
    let source = Arc::new(TestSource::new(3));
    let vt = ValueTask::from_arc_source(source.clone(), 3);
    assert!(!vt.is_completed());
    let task = vt.as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    let producer = source.clone();
    thread::spawn(move || producer.complete(33)).join().unwrap();
    assert_eq!(task.try_result(), Some(Ok(&33)));
    assert_eq!(ValueTask::from_arc_source(source, 3).get_result(), 33);
}

/// `as_task` over a shared source that never completes, every handle of the task dropped: the
/// source holds the bridge's waker and the bridge the source, so neither is freed (as a
/// `TaskCompletionSource` kept by its own continuation; .NET's collector would free both).
/// Waking the bridge ends it: here a core's `reset`, whose woken waiter finds its token
/// stale, faults the task and lets go of the source.
#[test]
fn an_as_task_bridge_and_a_source_that_never_completes_keep_each_other_until_woken() {
    use valuetask::ManualResetValueTaskSourceCore;
    let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
    let source: Arc<dyn ValueTaskSource<Result<u8, TaskError>>> = core.clone();
    drop(ValueTask::from_arc_source(source, core.version()).as_task());
    assert_eq!(Arc::strong_count(&core), 2, "the bridge keeps the source");
    core.reset();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&core) > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the bridge kept the source after its wake-up"
        );
        thread::yield_now();
    }
}

/// A source that asks to be polled again at once (it wakes its waker and returns `Pending`)
/// until its flag is set. With no executor, `as_task` polls it on the calling thread; it must
/// still return, since the flag is set only after it does (a busy loop there never ended).
#[test]
fn as_task_of_a_source_that_wakes_itself_returns_and_completes() {
    struct SelfWaking(std::sync::atomic::AtomicBool);
    impl ValueTaskSource<u8> for SelfWaking {
        fn status(&self, _token: u32) -> SourceStatus {
            if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                SourceStatus::Succeeded
            } else {
                SourceStatus::Pending
            }
        }
        fn poll_result(&self, _token: u32, cx: &mut Context<'_>) -> Poll<u8> {
            if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                Poll::Ready(1)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let source = Arc::new(SelfWaking(std::sync::atomic::AtomicBool::new(false)));
        let task = ValueTask::from_arc_source(source.clone(), 0).as_task();
        source.0.store(true, std::sync::atomic::Ordering::SeqCst);
        let result = task.wait().ok().copied();
        let _ = done_tx.send(result);
    });
    assert_eq!(
        done_rx.recv_timeout(std::time::Duration::from_secs(20)),
        Ok(Some(1)),
        "as_task returned, and the run that moved off its thread completed the task"
    );
}

#[test]
fn as_task_of_a_completed_source_is_born_complete() {
    let source = Arc::new(TestSource::new(0));
    source.complete(5);
    let task = ValueTask::from_arc_source(source, 0).as_task();
    assert_eq!(task.try_result(), Some(Ok(&5)));
}

#[test]
fn as_task_of_a_source_that_panics_faults_the_task() {
    struct Grumpy;
    impl ValueTaskSource<u8> for Grumpy {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending
        }
        fn poll_result(&self, _: u32, _: &mut Context<'_>) -> Poll<u8> {
            panic!("grumpy source")
        }
    }
    let task = ValueTask::from_arc_source(Arc::new(Grumpy), 0).as_task();
    assert_eq!(
        task.error().and_then(TaskError::panic_message),
        Some("grumpy source")
    );
}

#[test]
fn value_task_is_send_when_its_value_is() {
    fn assert_send<S: Send>(_: &S) {}
    let vt: ValueTask<'static, std::cell::Cell<u8>> =
        ValueTask::from_result(std::cell::Cell::new(1));
    assert_send(&vt);
}

#[test]
fn debug_names_the_backing() {
    let s = format!("{:?}", ValueTask::from_result(1));
    assert!(s.contains(r#"backing: "Ready""#), "{s}");
    let s = format!("{:?}", ValueTask::from(Task::from_result(1)));
    assert!(s.contains(r#"backing: "Task""#), "{s}");
}

#[test]
fn as_task_turns_a_panic_in_the_first_poll_into_a_faulted_task() {
    let vt: ValueTask<'static, u8> = ValueTask::new(async { panic!("at once") });
    let task = vt.as_task();
    assert_eq!(
        task.error().and_then(TaskError::panic_message),
        Some("at once")
    );
}

#[test]
fn as_task_of_a_source_that_drops_its_waker_unwoken_ends_abandoned_not_pending() {
    /// A source that never completes and forgets every waker it is given.
    struct Forgetful;
    impl ValueTaskSource<u8> for Forgetful {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending
        }
        fn poll_result(&self, _: u32, _: &mut Context<'_>) -> Poll<u8> {
            Poll::Pending
        }
    }
    let task = ValueTask::from_arc_source(Arc::new(Forgetful), 0).as_task();
    assert_eq!(task.error(), Some(&TaskError::Abandoned));
}

/// A bridge whose waker is dropped unwoken frees its backing before the task ends abandoned:
/// whoever the completion wakes finds the work's destructors already run. A panic in that
/// drop faults the task instead.
#[test]
fn as_task_of_a_source_that_drops_its_waker_unwoken_frees_the_source_before_completing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use valuetask::{ContinuationOptions, ContinueOn};
    type Held = Arc<Mutex<Option<Waker>>>;
    /// Never completes; keeps the waker it is given where the test can drop it.
    struct Keeper(
        Held,
        Arc<AtomicBool>,
        #[allow(dead_code)] Option<common::PanicsOnDrop>,
    );
    impl ValueTaskSource<u8> for Keeper {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending
        }
        fn poll_result(&self, _: u32, cx: &mut Context<'_>) -> Poll<u8> {
            *self.0.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
    impl Drop for Keeper {
        fn drop(&mut self) {
            self.1.store(true, Ordering::SeqCst);
        }
    }
    common::quiet_about_panics_with("source drop failed");
    for panics in [false, true] {
        let (held, dropped) = (Held::default(), Arc::new(AtomicBool::new(false)));
        let panic = panics.then(|| common::PanicsOnDrop("source drop failed"));
        let source = Keeper(held.clone(), dropped.clone(), panic);
        let task = ValueTask::from_arc_source(Arc::new(source), 0).as_task();
        assert_eq!(task.status(), TaskStatus::Pending);
        let inline = ContinuationOptions::default().on(ContinueOn::Synchronously);
        let seen = task.continue_with_options(inline, move |_| dropped.load(Ordering::SeqCst));
        drop(held.lock().unwrap().take()); // the last reference to the bridge
        let expected = if panics {
            TaskError::panicked("source drop failed")
        } else {
            TaskError::Abandoned
        };
        // Abandoned on another thread (the drop ran inside the source's code).
        assert_eq!(task.wait(), Err(&expected));
        assert_eq!(seen.wait(), Ok(&true), "the source was alive at completion");
    }
}

#[test]
fn get_result_of_a_future_that_waits_on_a_nested_blocking_wait_loses_no_wakeup() {
    // The outer `get_result` and the inner `wait` share this thread's waker.
    let outer = TaskCompletionSource::<u8>::new();
    let inner = TaskCompletionSource::<u8>::new();
    let (outer_task, inner_task) = (outer.task(), inner.task());
    let vt = ValueTask::new(async move {
        let a = *inner_task.wait().unwrap();
        a + outer_task.await.unwrap()
    });
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        inner.set_result(1);
        thread::sleep(Duration::from_millis(5));
        outer.set_result(2);
    });
    assert_eq!(vt.get_result(), 3);
    producer.join().unwrap();
}

#[test]
fn into_task_gives_back_the_same_task_or_one_with_the_same_error() {
    let task = Task::from_result(5u64);
    assert!(ValueTask::from(task.clone()).into_task().ptr_eq(&task));

    let failed: Task<u64> = ValueTask::from_result(Err(TaskError::Canceled)).into_task();
    assert!(failed.is_canceled());

    // A pending source-backed value task: completed by its source, no executor.
    let core = Arc::new(valuetask::ManualResetValueTaskSourceCore::<u64>::new());
    let converted = ValueTask::from_arc_source(core.clone(), 0).into_task();
    assert_eq!(converted.status(), TaskStatus::Pending);
    core.set_error(TaskError::panicked("source failed"));
    assert_eq!(
        converted.error().and_then(TaskError::panic_message),
        Some("source failed")
    );
    // The same for a canceled source: the task ends canceled, not faulted.
    let core = Arc::new(valuetask::ManualResetValueTaskSourceCore::<u64>::new());
    let converted = ValueTask::from_arc_source(core.clone(), 0).into_task();
    core.set_canceled();
    assert_eq!(converted.status(), TaskStatus::Canceled);

    // A pending future: driven like `as_task`.
    let gate = TaskCompletionSource::<u64>::new();
    let opened = gate.task();
    let vt: ValueTask<'static, Result<u64, TaskError>> = ValueTask::new(opened);
    let converted = vt.into_task();
    gate.set_result(9);
    assert_eq!(
        converted.wait_timeout(Duration::from_secs(10)),
        Some(Ok(&9))
    );
}

/// A waker of a bridged task that panics unwinds out of the bridge's run. The bridge's inline
/// depth must come back down: otherwise, after 32 such panics on one thread (here the
/// continuations thread), every bridge woken there would re-queue itself forever.
#[test]
fn panicking_wakers_of_bridged_tasks_do_not_wedge_the_thread_that_runs_the_bridge() {
    let boom = common::waker_that_panics_on_wake();
    for round in 0..40 {
        let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let mut bridged = ValueTask::from(tcs.task()).as_task();
        assert!(poll_once(&mut bridged, &boom).is_pending());
        tcs.set_result(1); // the bridge runs on the continuations thread; `boom` panics there
        assert_eq!(
            bridged.wait_timeout(Duration::from_secs(5)),
            Some(Ok(&Ok(1))),
            "round {round}"
        );
    }
    // Were the depth not restored, the next bridge would be handed to another thread.
    struct RecordsThread(Mutex<Option<String>>);
    impl std::task::Wake for RecordsThread {
        fn wake(self: Arc<Self>) {
            *self.0.lock().unwrap() = thread::current().name().map(str::to_owned);
        }
    }
    let recorder = Arc::new(RecordsThread(Mutex::new(None)));
    let waker = Waker::from(recorder.clone());
    let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let mut bridged = ValueTask::from(tcs.task()).as_task();
    assert!(poll_once(&mut bridged, &waker).is_pending());
    tcs.set_result(1);
    assert_eq!(
        bridged.wait_timeout(Duration::from_secs(5)),
        Some(Ok(&Ok(1)))
    );
    // The waker runs just after the task completes: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while recorder.0.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        thread::yield_now();
    }
    assert_eq!(
        recorder.0.lock().unwrap().as_deref(),
        Some("valuetask-continuations"),
        "the bridge still runs inline on the continuation thread"
    );
}

/// Panics in `poll`, and again, unconditionally, when dropped.
struct PanicsInPollAndDrop;

impl std::future::Future for PanicsInPollAndDrop {
    type Output = u8;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        panic!("poll failed")
    }
}

/// `PanicsInPollAndDrop` in a future too large for the pool (`ValueTask::new` boxes it).
struct TooLargeForThePool([u8; 8192], #[allow(dead_code)] PanicsInPollAndDrop);

impl std::future::Future for TooLargeForThePool {
    type Output = u8;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        std::hint::black_box(&self.0);
        panic!("poll failed")
    }
}

impl Drop for PanicsInPollAndDrop {
    fn drop(&mut self) {
        panic!("drop failed")
    }
}

/// `as_task` polls a future once, at once: a panic there faults the task, even when the
/// future's `Drop` panics too (dropped during the first unwind, that would abort the
/// process). Runs in a child process, so an abort fails this test instead of the binary.
#[test]
fn as_task_of_a_future_panicking_in_poll_and_in_drop_faults_the_task() {
    if !common::runs_in_child_process(
        "as_task_of_a_future_panicking_in_poll_and_in_drop_faults_the_task",
    ) {
        return;
    }
    // Pooled, and too large for the pool (boxed, unpolled: `ValueTask::boxed` would poll it
    // at once, outside `as_task`).
    for vt in [
        ValueTask::new(PanicsInPollAndDrop),
        ValueTask::new(TooLargeForThePool([0; 8192], PanicsInPollAndDrop)),
    ] {
        let task = vt.as_task();
        assert_eq!(
            task.wait().unwrap_err().panic_message(),
            Some("poll failed"),
            "the poll's panic is the fault"
        );
    }
}

/// Ready at its first poll with a copy of its value (an output larger than a value task's two
/// words is returned by its block's poll, which leaves the block to the value task's drop);
/// panics when dropped.
struct ReadyPanicsOnDrop<T>(T);

impl<T: Clone + Unpin> std::future::Future for ReadyPanicsOnDrop<T> {
    type Output = T;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(self.0.clone())
    }
}

impl<T> Drop for ReadyPanicsOnDrop<T> {
    fn drop(&mut self) {
        panic!("drop failed")
    }
}

/// A future that completes at `as_task`'s or `into_task`'s first poll and panics as it is
/// dropped faults the task, whatever the size of its output.
#[test]
fn as_task_of_a_future_panicking_in_drop_faults_the_task_for_large_outputs_too() {
    let small = ValueTask::new(ReadyPanicsOnDrop(1_u64)).as_task();
    let large = ValueTask::new(ReadyPanicsOnDrop([1_u64; 4])).as_task();
    let large_result =
        ValueTask::new(ReadyPanicsOnDrop(Ok::<_, TaskError>([2_u64; 4]))).into_task();
    for error in [
        small.wait().unwrap_err(),
        large.wait().unwrap_err(),
        large_result.wait().unwrap_err(),
    ] {
        assert_eq!(error.panic_message(), Some("drop failed"));
    }
}

/// A value task of a source whose version moved on (a stale token) panics in `as_task` and
/// `into_task`, naming both versions, as in every other method; it is not a faulted task.
#[test]
fn as_task_of_a_stale_token_panics_naming_the_versions() {
    // Statics (`as_task` needs a `'static` value task), reachable to the end: no leak.
    static CORE: std::sync::LazyLock<valuetask::ManualResetValueTaskSourceCore<u8>> =
        std::sync::LazyLock::new(valuetask::ManualResetValueTaskSourceCore::new);
    static RESULTS: std::sync::LazyLock<
        valuetask::ManualResetValueTaskSourceCore<Result<u8, TaskError>>,
    > = std::sync::LazyLock::new(valuetask::ManualResetValueTaskSourceCore::new);
    let core: &'static valuetask::ManualResetValueTaskSourceCore<u8> = &CORE;
    let stale = core.value_task();
    core.reset();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stale.as_task()))
        .expect_err("a stale token panics");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("does not match"), "{message}");
    let results: &'static valuetask::ManualResetValueTaskSourceCore<Result<u8, TaskError>> =
        &RESULTS;
    let stale = results.value_task();
    results.reset();
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stale.into_task())).is_err(),
        "a stale token panics"
    );
}

/// A source completed from outside, holding a value whose `Drop` panics.
#[derive(Default)]
struct BombSource {
    value: Mutex<Option<common::PanicsOnDrop>>,
    waker: Mutex<Option<Waker>>,
}

/// Shares a `BombSource`; panics when dropped.
struct PanickingHandle(Arc<BombSource>);

impl Drop for PanickingHandle {
    fn drop(&mut self) {
        std::panic::panic_any("source drop failed");
    }
}

impl ValueTaskSource<common::PanicsOnDrop> for PanickingHandle {
    fn status(&self, _token: u32) -> SourceStatus {
        if self.0.value.lock().unwrap().is_some() {
            SourceStatus::Succeeded
        } else {
            SourceStatus::Pending
        }
    }

    fn poll_result(&self, _token: u32, cx: &mut Context<'_>) -> Poll<common::PanicsOnDrop> {
        match self.0.value.lock().unwrap().take() {
            Some(value) => Poll::Ready(value),
            None => {
                *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The `as_task` bridge of a source whose handle panics when dropped (after yielding a value
/// that would panic when dropped outside an unwind) faults its task with the handle's panic:
/// the producer's wake-up does not panic, and the task does not end abandoned.
#[test]
fn a_bridge_whose_source_panics_when_dropped_faults_its_task() {
    let inner = Arc::new(BombSource::default());
    let task = ValueTask::from_arc_source(Arc::new(PanickingHandle(inner.clone())), 0).as_task();
    assert!(!task.is_completed());
    *inner.value.lock().unwrap() = Some(common::PanicsOnDrop("value drop failed"));
    let waker = inner
        .waker
        .lock()
        .unwrap()
        .take()
        .expect("the bridge registered");
    let woke = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
    assert!(woke.is_ok(), "a panic escaped into the producer's wake-up");
    assert_eq!(
        task.wait_timeout(Duration::from_secs(5))
            .expect("completed")
            .err()
            .and_then(TaskError::panic_message),
        Some("source drop failed")
    );
}

/// A nested `get_result` whose future panics does not eat the wake-up meant for the
/// enclosing `get_result` on the same thread: both share the thread's wake-up flag, and the
/// inner one must raise it again even when it unwinds.
#[test]
fn a_nested_blocking_wait_that_panics_keeps_the_outer_wake_up() {
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Pending until the flag is set (by the thread that wakes the outer wait), then panics.
    struct PendingThenPanic(Arc<AtomicBool>);
    impl std::future::Future for PendingThenPanic {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0.load(Ordering::SeqCst) {
                panic!("inner future failed");
            }
            Poll::Pending
        }
    }

    let finished = common::finishes_within(Duration::from_secs(5), || {
        let fired = Arc::new(AtomicBool::new(false));
        let mut polls = 0;
        ValueTask::new(std::future::poll_fn(move |cx| {
            polls += 1;
            if polls == 1 {
                // `get_result`'s first poll uses a waker that does nothing; the wait's own
                // poll follows at once.
                return Poll::Pending;
            }
            if fired.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            let (flag, waker) = (fired.clone(), cx.waker().clone());
            let waker_thread = thread::spawn(move || {
                flag.store(true, Ordering::SeqCst);
                waker.wake();
            });
            // The inner wait wakes on the outer's wake-up (same thread, same flag), polls
            // again and unwinds.
            let inner_flag = fired.clone();
            let inner = std::panic::catch_unwind(move || {
                ValueTask::new(PendingThenPanic(inner_flag)).get_result();
            });
            assert!(inner.is_err());
            waker_thread.join().unwrap();
            Poll::Pending
        }))
        .get_result();
    });
    assert!(finished, "the outer wait lost its wake-up");
}

/// `try_get` polls a future-backed value task once (a future ready at once yields its value)
/// but only asks a pending source for its status: it never registers its do-nothing waker
/// there.
#[test]
fn try_get_polls_a_future_once_and_leaves_a_pending_source_unpolled() {
    let boxed: ValueTask<'_, u8> = ValueTask::boxed(async { 5 });
    assert_eq!(boxed.try_get().ok(), Some(5));
    let pooled: ValueTask<'_, u8> = ValueTask::new(async { 6 });
    assert_eq!(pooled.try_get().ok(), Some(6));
    let source = TestSource::new(3);
    let vt = ValueTask::from_source(&source, 3);
    let vt = vt.try_get().expect_err("pending");
    assert!(
        source.state.lock().unwrap().1.is_none(),
        "the source was polled"
    );
    source.complete(7);
    assert_eq!(vt.try_get().ok(), Some(7));
}

/// A pending future-backed value task made a task runs on a runtime (the ambient one, the
/// global one, or without tokio a thread of its own), not inline on the thread that wakes
/// it: for boxed and pooled futures, through `as_task` and `into_task`.
#[test]
fn as_task_and_into_task_run_a_pending_future_off_the_calling_thread() {
    async fn where_it_ends() -> thread::ThreadId {
        // Each wakes itself: an inline driver would go on here. Two, so that a boxed value
        // task (started at its creation) and `as_task`'s own first poll leave it pending.
        valuetask::yield_now().await;
        valuetask::yield_now().await;
        thread::current().id()
    }
    let here = thread::current().id();
    let boxed = ValueTask::boxed(where_it_ends()).as_task();
    let pooled = ValueTask::new(where_it_ends()).as_task();
    let into_boxed = ValueTask::boxed(async { Ok(where_it_ends().await) }).into_task();
    let into_pooled = ValueTask::new(async { Ok(where_it_ends().await) }).into_task();
    for task in [boxed, pooled, into_boxed, into_pooled] {
        let ended_on = *task.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_ne!(ended_on, here);
    }
}

/// A source that wakes its consumer from inside `poll_result` (the result is ready by the
/// time the waker runs): the bridge behind `as_task` was running, so it polls again instead
/// of losing that wake-up.
#[test]
fn as_task_of_a_source_that_wakes_during_its_poll_completes() {
    /// Pending once, waking at once; ready after.
    struct WakesDuringPoll(Mutex<bool>);
    impl ValueTaskSource<u8> for WakesDuringPoll {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending // so `as_task` polls instead of taking at once
        }
        fn poll_result(&self, _: u32, cx: &mut Context<'_>) -> Poll<u8> {
            let mut polled = self.0.lock().unwrap();
            if std::mem::replace(&mut *polled, true) {
                return Poll::Ready(4);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    let task =
        ValueTask::from_arc_source(Arc::new(WakesDuringPoll(Mutex::new(false))), 0).as_task();
    assert_eq!(task.try_result(), Some(Ok(&4)));
}

/// A source that wakes its consumer from inside a few polls in a row (fewer than the bridge's
/// 64 re-polls on one thread) is polled again on the thread that made the task: the task is
/// complete when `as_task` returns, its value read on this thread.
#[test]
fn as_task_of_a_source_waking_during_a_few_polls_completes_on_the_calling_thread() {
    /// Pending, waking at once, for its first `WAKES` polls; then ready with the polling
    /// thread.
    struct WakesDuringPolls(Mutex<u8>);
    const WAKES: u8 = 4;
    impl ValueTaskSource<thread::ThreadId> for WakesDuringPolls {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending
        }
        fn poll_result(&self, _: u32, cx: &mut Context<'_>) -> Poll<thread::ThreadId> {
            let mut polls = self.0.lock().unwrap();
            if *polls == WAKES {
                return Poll::Ready(thread::current().id());
            }
            *polls += 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    let source = Arc::new(WakesDuringPolls(Mutex::new(0)));
    let shared: Arc<WakesDuringPolls> = Arc::clone(&source);
    let task = ValueTask::from_arc_source(shared, 0).as_task();
    assert_eq!(task.try_result(), Some(Ok(&thread::current().id())));
    assert_eq!(*source.0.lock().unwrap(), WAKES);
}

/// `map` and `map_err`: a complete value task is mapped at once (its result is a ready value
/// task, as `from_result`'s: `alloc_counts.rs` counts none), a pending one when its value is taken, and a
/// future-backed one is not started by the mapping.
#[test]
fn map_and_map_err_map_ready_values_at_once_and_leave_lazy_ones_lazy() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let ready = ValueTask::from_result(20u64).map(|n| n + 1);
    assert!(ready.is_completed());
    assert_eq!(ready.get_result(), 21);
    let mapped = ValueTask::from_result(Err::<u8, u8>(4)).map_err(u32::from);
    assert_eq!(mapped.try_get().ok(), Some(Err(4u32)));

    let tcs = TaskCompletionSource::<u8>::new();
    let pending = ValueTask::from(tcs.task()).map(|r| r.map(|v| v * 2));
    assert!(!pending.is_completed());
    tcs.set_result(5);
    assert_eq!(pending.get_result(), Ok(10));

    let started = Arc::new(AtomicBool::new(false));
    let body = Arc::clone(&started);
    let lazy = ValueTask::new(async move {
        body.store(true, Ordering::SeqCst);
        3u8
    })
    .map(|n| n + 1);
    assert!(
        !started.load(Ordering::SeqCst),
        "mapping does not start a lazy body"
    );
    assert_eq!(lazy.get_result(), 4);
    assert!(started.load(Ordering::SeqCst));
}

/// `LocalValueTask::map` and `map_err`, as `ValueTask`'s, with closures and bodies that are
/// not `Send`.
#[test]
fn local_map_and_map_err_map_ready_values_at_once_and_leave_lazy_ones_lazy() {
    use std::cell::Cell;
    use std::rc::Rc;
    use valuetask::LocalValueTask;

    let unit = Rc::new(10u64);
    let ready = LocalValueTask::from_result(2u64).map(move |n| n * *unit);
    assert!(ready.is_completed());
    assert_eq!(ready.get_result(), 20);
    let mapped = LocalValueTask::from_result(Err::<u8, u8>(4)).map_err(u32::from);
    assert_eq!(mapped.try_get().ok(), Some(Err(4u32)));

    let tcs = TaskCompletionSource::<u8>::new();
    let offset = Rc::new(1u8);
    let pending = LocalValueTask::from(tcs.task()).map(move |r| r.map(|v| v + *offset));
    assert!(!pending.is_completed());
    tcs.set_result(5);
    assert_eq!(pending.get_result(), Ok(6));

    let started = Rc::new(Cell::new(false));
    let body = Rc::clone(&started);
    let lazy = LocalValueTask::new(async move {
        body.set(true);
        3u8
    })
    .map(|n| n + 1);
    assert!(!started.get(), "mapping does not start a lazy body");
    assert_eq!(lazy.get_result(), 4);
    assert!(started.get());

    let mut yielded = LocalValueTask::from_result(Ok::<u8, u8>(1));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        std::future::Future::poll(std::pin::Pin::new(&mut yielded), &mut cx),
        Poll::Ready(Ok(1))
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(yielded.map_err(u32::from));
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("LocalValueTask::map_err"), "{message}");

    let mut yielded = LocalValueTask::from_result(2_u8);
    assert_eq!(
        std::future::Future::poll(std::pin::Pin::new(&mut yielded), &mut cx),
        Poll::Ready(2)
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = std::future::Future::poll(std::pin::Pin::new(&mut yielded), &mut cx);
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("LocalValueTask::poll on a value task that already yielded"),
        "{message}"
    );
}

/// A source that clears its waker under the lock its `withdraw` takes (a reset that abandons
/// the waiting consumer): the `as_task` bridge's last waker is dropped there, and the bridge,
/// abandoned, withdraws from the source. Not under that lock: it deadlocked.
#[test]
fn as_task_of_a_source_clearing_its_waker_under_its_withdraws_lock_does_not_deadlock() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::channel;
    #[derive(Default)]
    struct Locking {
        waker: Mutex<Option<Waker>>,
        withdrawn: AtomicBool,
    }
    impl ValueTaskSource<u8> for Locking {
        fn status(&self, _: u32) -> SourceStatus {
            SourceStatus::Pending
        }
        fn poll_result(&self, _: u32, cx: &mut Context<'_>) -> Poll<u8> {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
        fn withdraw(&self, _: u32) {
            let _registration = self.waker.lock().unwrap();
            self.withdrawn.store(true, Ordering::SeqCst);
        }
    }
    let source = Arc::new(Locking::default());
    let task = ValueTask::from_arc_source(source.clone(), 0).as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    let (cleared, cleared_rx) = channel();
    let resetting = source.clone();
    thread::spawn(move || {
        *resetting.waker.lock().unwrap() = None; // drops the bridge's last waker, locked
        cleared.send(()).unwrap();
    });
    assert!(
        cleared_rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "clearing the waker under the source's lock deadlocked"
    );
    assert_eq!(task.wait(), Err(&TaskError::Abandoned));
    assert!(
        source.withdrawn.load(Ordering::SeqCst),
        "the bridge withdrew"
    );
}
