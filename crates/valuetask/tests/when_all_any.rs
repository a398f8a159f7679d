//! `Task::when_all`, `Task::when_any`, and the value tasks' `when_all` and `when_any`.

mod common;

use std::time::Duration;

use common::{allocations_during, poll_once, CountingAllocator, PanicsOnClone};
use std::task::{Poll, Waker};
use valuetask::{Task, TaskCompletionSource, TaskError, TaskStatus, ValueTask};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

#[test]
fn when_all_keeps_input_order_whatever_the_completion_order() {
    let sources: Vec<TaskCompletionSource<usize>> =
        (0..5).map(|_| TaskCompletionSource::new()).collect();
    let all = Task::when_all(sources.iter().map(TaskCompletionSource::task));
    assert_eq!(all.status(), TaskStatus::Pending);
    for (i, s) in sources.iter().enumerate().rev() {
        s.set_result(i * 10);
    }
    assert_eq!(all.wait(), Ok(&vec![0, 10, 20, 30, 40]));
}

#[test]
fn when_all_completes_from_another_thread_without_an_executor() {
    let a = TaskCompletionSource::new();
    let b = TaskCompletionSource::new();
    let all = Task::when_all([a.task(), b.task()]);
    std::thread::spawn(move || {
        a.set_result(1);
        b.set_result(2);
    });
    assert_eq!(
        all.wait_timeout(Duration::from_secs(5)),
        Some(Ok(&vec![1, 2]))
    );
}

#[test]
fn when_all_reports_every_failure_and_is_canceled_only_without_faults() {
    let all = Task::when_all([
        Task::from_result(1),
        Task::from_error(TaskError::panicked("one")),
        Task::from_canceled(),
        Task::from_error(TaskError::panicked("two")),
    ]);
    assert_eq!(all.status(), TaskStatus::Faulted);
    match all.error() {
        Some(TaskError::Aggregate(failures)) => {
            assert_eq!(
                &failures[..],
                &[
                    TaskError::panicked("one"),
                    TaskError::Canceled,
                    TaskError::panicked("two")
                ]
            );
        }
        other => panic!("expected an aggregate, got {other:?}"),
    }
    assert!(all
        .error()
        .unwrap()
        .to_string()
        .starts_with("3 tasks failed"));

    let canceled = Task::when_all([Task::from_result(1), Task::from_canceled()]);
    assert_eq!(canceled.status(), TaskStatus::Canceled);

    // Pending inputs that fail later.
    let tcs = TaskCompletionSource::<u8>::new();
    let all = Task::when_all([Task::from_result(1), tcs.task()]);
    tcs.set_error(TaskError::panicked("late"));
    assert!(matches!(all.error(), Some(TaskError::Aggregate(f)) if f.len() == 1));
}

#[test]
fn when_all_of_nothing_completes_at_once_with_an_empty_vec() {
    let all = Task::<u8>::when_all([]);
    assert_eq!(all.try_result(), Some(Ok(&Vec::new())));
}

#[test]
fn when_any_returns_the_first_to_complete_even_when_it_failed() {
    let slow = TaskCompletionSource::<u8>::new();
    let fast = TaskCompletionSource::<u8>::new();
    let any = Task::when_any([slow.task(), fast.task()]);
    assert_eq!(any.status(), TaskStatus::Pending);
    fast.set_error(TaskError::panicked("first and failed"));
    let winner = any.wait().unwrap();
    assert!(winner.ptr_eq(&fast.task()));
    assert_eq!(
        any.status(),
        TaskStatus::RanToCompletion,
        "when_any itself succeeds"
    );
    assert!(winner.is_faulted());
    slow.set_result(1);
    assert!(
        any.wait().unwrap().ptr_eq(&fast.task()),
        "the first stays the winner"
    );
}

#[test]
fn when_any_with_a_completed_input_completes_at_once() {
    let pending = TaskCompletionSource::<u8>::new();
    let done = Task::from_result(7);
    let any = Task::when_any([pending.task(), done.clone()]);
    assert!(any.try_result().unwrap().unwrap().ptr_eq(&done));
}

#[test]
#[should_panic(expected = "Task::when_any: no tasks given")]
fn when_any_of_nothing_panics() {
    drop(Task::<u8>::when_any([]));
}

#[test]
fn value_task_when_all_over_1000_ready_inputs_allocates_only_the_output() {
    // A `Vec` does not fit a value task's two words: the ready output takes a pooled block,
    // which allocates only while this thread's pool is cold.
    drop(ValueTask::from_result(Vec::<u64>::new()));
    let inputs: Vec<ValueTask<'static, u64>> = (0..1000).map(ValueTask::from_result).collect();
    let (sum, allocs) = allocations_during(|| {
        let all = ValueTask::when_all(inputs);
        all.get_result().into_iter().sum::<u64>()
    });
    assert_eq!(sum, (0..1000).sum());
    assert_eq!(allocs, 1, "just the output Vec");

    // An iterator that is not a collection: no intermediate Vec either.
    let (sum, allocs) = allocations_during(|| {
        let all = ValueTask::when_all((0..1000u64).map(ValueTask::from_result));
        all.get_result().into_iter().sum::<u64>()
    });
    assert_eq!(sum, (0..1000).sum());
    assert_eq!(allocs, 1, "just the output Vec, from an iterator");
}

#[test]
fn value_task_when_all_leaves_future_inputs_lazy_until_awaited() {
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = started.clone();
    let all = ValueTask::when_all(vec![
        ValueTask::from_result(1),
        ValueTask::new(async move {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            2
        }),
    ]);
    assert!(
        !started.load(std::sync::atomic::Ordering::SeqCst),
        "not polled by when_all"
    );
    assert_eq!(all.get_result(), vec![1, 2]);
    assert!(started.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn value_task_when_all_awaits_pending_inputs_in_order() {
    let tcs = TaskCompletionSource::<u64>::new();
    let inputs = vec![
        ValueTask::from_result(Ok(1)),
        ValueTask::from(tcs.task()),
        ValueTask::from_result(Ok(3)),
    ];
    let all = ValueTask::when_all(inputs);
    let waiter = std::thread::spawn(move || all.get_result());
    tcs.set_result(2);
    assert_eq!(waiter.join().unwrap(), vec![Ok(1), Ok(2), Ok(3)]);
}

/// Pending inputs run together: an earlier input waits for what a later one sends.
#[test]
fn value_task_when_all_runs_pending_inputs_together() {
    let (tx, rx) = futures::channel::oneshot::channel::<u32>();
    let first = ValueTask::new(async move { rx.await.unwrap() });
    let second = ValueTask::new(async move {
        valuetask::yield_now().await;
        tx.send(7).unwrap();
        8
    });
    let all = ValueTask::when_all([first, second]).as_task();
    assert_eq!(
        all.wait_timeout(Duration::from_secs(5)),
        Some(Ok(&vec![7, 8]))
    );
}

/// Many pending inputs completing one at a time: each wake-up polls the input woken, not every
/// input still pending (which made the polls grow with the square of the inputs), and the
/// values still come in input order, whatever the completion order.
#[test]
fn value_task_when_all_over_many_inputs_polls_only_the_woken_ones() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    const INPUTS: usize = 300;
    let polls = Arc::new(AtomicUsize::new(0));
    let sources: Vec<_> = (0..INPUTS)
        .map(|_| TaskCompletionSource::<usize>::new())
        .collect();
    let inputs = sources.iter().map(|tcs| {
        let task = tcs.task();
        let polls = polls.clone();
        let mut awaiting = Box::pin(std::future::IntoFuture::into_future(task));
        ValueTask::new(std::future::poll_fn(move |cx| {
            polls.fetch_add(1, SeqCst);
            std::future::Future::poll(awaiting.as_mut(), cx).map(Result::unwrap)
        }))
    });
    let mut all = ValueTask::when_all(inputs);
    let (wakes, waker) = common::CountingWaker::new();
    assert!(poll_once(&mut all, &waker).is_pending());
    // Completed from the last to the first.
    for (n, tcs) in sources.iter().enumerate().rev() {
        tcs.set_result(n);
        if n > 0 {
            assert!(poll_once(&mut all, &waker).is_pending());
        }
    }
    let Poll::Ready(values) = poll_once(&mut all, &waker) else {
        panic!("every input completed")
    };
    assert_eq!(values, (0..INPUTS).collect::<Vec<_>>());
    assert_eq!(wakes.count(), INPUTS, "one wake-up per completion");
    // Each input: its first poll (the combinator's first look), then the one its completion
    // wakes.
    assert!(
        polls.load(SeqCst) <= 2 * INPUTS,
        "{} polls of {INPUTS} inputs",
        polls.load(SeqCst)
    );
}

/// The winner is the first input to complete, not the first in input order.
#[test]
fn when_any_returns_the_first_to_complete_whatever_its_index() {
    use valuetask::Continuations;
    let a = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let b = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let any = Task::when_any([a.task(), b.task()]);
    b.set_result(2);
    a.set_result(1);
    let winner = any.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert!(winner.ptr_eq(&b.task()), "b completed first");
}

/// A panicking `T::clone` faults the result, whether the inputs were complete already or not.
#[test]
fn when_all_faults_with_a_panicking_clone_whenever_the_inputs_complete() {
    let done = Task::when_all([Task::from_result(PanicsOnClone)]);
    assert_eq!(
        done.wait().unwrap_err().panic_message(),
        Some("clone failed")
    );
    let tcs = TaskCompletionSource::new();
    let later = Task::when_all([tcs.task()]);
    tcs.set_result(PanicsOnClone);
    assert_eq!(
        later.wait().unwrap_err().panic_message(),
        Some("clone failed")
    );
}

/// Inputs that lose are let go: a `when_any` over an input that never completes keeps
/// nothing of itself alive in that input once another input won.
#[test]
fn when_any_withdraws_from_the_inputs_that_lost() {
    let never = TaskCompletionSource::<std::sync::Arc<()>>::new();
    let marker = std::sync::Arc::new(());
    for _ in 0..100 {
        let winner = TaskCompletionSource::new();
        let any = Task::when_any([never.task(), winner.task()]);
        winner.set_result(marker.clone());
        assert!(any.wait().unwrap().ptr_eq(&winner.task()));
    }
    assert_eq!(
        std::sync::Arc::strong_count(&marker),
        1,
        "every winner (and its value) was freed, though `never` is still pending"
    );
    assert_eq!(never.task().status(), TaskStatus::Pending);
}

/// Inputs completing on other threads while `when_any` registers: one winner, every time,
/// and nothing kept alive afterwards.
#[test]
fn when_any_racing_completions_on_two_threads_picks_one_and_frees_all() {
    let marker = std::sync::Arc::new(());
    for _ in 0..500 {
        let (a, b) = (TaskCompletionSource::new(), TaskCompletionSource::new());
        let (ta, tb) = (a.task(), b.task());
        let (ma, mb) = (marker.clone(), marker.clone());
        let ha = std::thread::spawn(move || a.set_result(ma));
        let hb = std::thread::spawn(move || b.set_result(mb));
        let any = Task::when_any([ta.clone(), tb.clone()]);
        let winner = any
            .wait_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .clone();
        assert!(winner.ptr_eq(&ta) || winner.ptr_eq(&tb));
        ha.join().unwrap();
        hb.join().unwrap();
    }
    assert_eq!(std::sync::Arc::strong_count(&marker), 1);
}

/// `when_any` hands back a task, so its inputs need not be `Clone` (as in .NET).
#[test]
fn when_any_takes_tasks_whose_values_are_not_clone() {
    #[derive(Debug, PartialEq)]
    struct NotClone(u8);
    let pending = TaskCompletionSource::<NotClone>::new();
    let done = Task::from_result(NotClone(4));
    let winner = Task::when_any([pending.task(), done.clone()])
        .wait()
        .unwrap()
        .clone();
    assert!(winner.ptr_eq(&done));
    assert_eq!(winner.try_result(), Some(Ok(&NotClone(4))));
}

#[test]
fn value_task_when_any_takes_the_first_completed_input_in_input_order() {
    let pool = valuetask::CompletionPool::<u8>::new();
    let (pending, completer) = pool.rent();
    let any = ValueTask::when_any([
        pending,
        ValueTask::from_result(Ok(2)),
        ValueTask::from_result(Ok(3)),
    ]);
    assert!(any.is_completed(), "decided at once");
    assert_eq!(any.get_result(), (1, Ok(2)));
    assert!(completer.is_closed(), "the losing input was dropped");
}

#[test]
fn value_task_when_any_waits_for_the_first_to_complete_and_drops_the_rest() {
    let pool = valuetask::CompletionPool::<u8>::new();
    let (a, a_completer) = pool.rent();
    let (b, b_completer) = pool.rent();
    let any = ValueTask::when_any([a, b]);
    assert!(!any.is_completed());
    let waiter = std::thread::spawn(move || any.get_result());
    b_completer.set_result(9);
    assert_eq!(waiter.join().unwrap(), (1, Ok(9)));
    assert!(
        a_completer.is_closed(),
        "the loser was dropped with the winner's value task"
    );
}

/// The losers are dropped when the winner is given, not when the value task is: with an
/// output of more than three words the finished future's block stays until that drop.
#[test]
fn value_task_when_any_drops_the_losers_when_it_gives_the_winner() {
    let pool = valuetask::CompletionPool::<[u64; 4]>::new();
    let (a, a_completer) = pool.rent();
    let (b, b_completer) = pool.rent();
    let mut any = ValueTask::when_any([a, b]);
    b_completer.set_result([3; 4]);
    let waker = std::task::Waker::noop();
    let polled = std::future::Future::poll(
        std::pin::Pin::new(&mut any),
        &mut std::task::Context::from_waker(waker),
    );
    assert!(matches!(
        polled,
        std::task::Poll::Ready((1, Ok([3, 3, 3, 3])))
    ));
    assert!(
        a_completer.is_closed(),
        "the loser was dropped when the winner was given, with the value task still held"
    );
    drop(any);
}

/// Inputs run together: the first input completes only once a later one has run.
#[test]
fn value_task_when_any_polls_every_pending_input() {
    let (tx, rx) = futures::channel::oneshot::channel::<u32>();
    let first = ValueTask::new(async move { rx.await.unwrap() });
    let second = ValueTask::new(async move {
        tx.send(7).unwrap();
        std::future::pending::<u32>().await
    });
    let any = ValueTask::when_any([first, second]).as_task();
    assert_eq!(any.wait_timeout(Duration::from_secs(5)), Some(Ok(&(0, 7))));
}

#[test]
#[should_panic(expected = "ValueTask::when_any: no value tasks given")]
fn value_task_when_any_of_nothing_panics() {
    drop(ValueTask::<u8>::when_any([]));
}

/// The .NET `WhenAny` loop: await the first, remove it by identity, repeat.
#[test]
fn when_any_loop_removes_each_winner_by_identity() {
    let sources: Vec<_> = (0..3).map(|_| TaskCompletionSource::<u8>::new()).collect();
    let mut pending: Vec<Task<u8>> = sources.iter().map(|s| s.task()).collect();
    let mut order = Vec::new();
    for (i, source) in sources.iter().enumerate().rev() {
        source.set_result(i as u8);
        let winner = Task::when_any(pending.clone()).wait().unwrap().clone();
        let index = pending.iter().position(|t| *t == winner).unwrap();
        order.push(*pending.remove(index).try_result().unwrap().unwrap());
    }
    assert_eq!(order, [2, 1, 0]);
    assert!(pending.is_empty());
}

/// An input that already yielded its value is misuse, reported by the combinator's name.
#[test]
fn value_task_combinators_name_themselves_for_an_input_that_already_yielded() {
    fn yielded() -> ValueTask<'static, u8> {
        let mut vt = ValueTask::from_result(1);
        let waker = std::task::Waker::noop();
        let polled = std::pin::Pin::new(&mut vt).poll(&mut std::task::Context::from_waker(waker));
        assert_eq!(polled, std::task::Poll::Ready(1));
        vt
    }
    use std::future::Future;
    for (name, run) in [
        (
            "ValueTask::when_all",
            (|| drop(ValueTask::when_all([yielded()]))) as fn(),
        ),
        ("ValueTask::when_any", || {
            drop(ValueTask::when_any([yielded()]))
        }),
        ("ValueTask::map", || drop(yielded().map(u32::from))),
        ("LocalValueTask::when_all", || {
            drop(valuetask::LocalValueTask::when_all([yielded().into()]))
        }),
        ("LocalValueTask::when_any", || {
            drop(valuetask::LocalValueTask::when_any([yielded().into()]))
        }),
        ("ValueTask::map_err", || {
            let mut vt = ValueTask::from_result(Ok::<u8, u8>(1));
            let waker = std::task::Waker::noop();
            let polled =
                std::pin::Pin::new(&mut vt).poll(&mut std::task::Context::from_waker(waker));
            assert_eq!(polled, std::task::Poll::Ready(Ok(1)));
            drop(vt.map_err(u32::from));
        }),
    ] {
        let panic = std::panic::catch_unwind(run).unwrap_err();
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn value_task_when_any_over_ready_inputs_allocates_at_most_the_collected_inputs() {
    // `(usize, u64)` does not fit a value task's two words: its ready value task takes a
    // pooled block, which allocates only while this thread's pool is cold.
    drop(ValueTask::from_result((0usize, 0u64)));
    let inputs: Vec<ValueTask<'static, u64>> = (0..1000).map(ValueTask::from_result).collect();
    let ((index, value), allocs) = allocations_during(|| ValueTask::when_any(inputs).get_result());
    assert_eq!((index, value), (0, 0));
    assert_eq!(allocs, 0, "a Vec of inputs is reused, not copied");

    let ((index, value), allocs) = allocations_during(|| {
        ValueTask::when_any((5..1000u64).map(ValueTask::from_result)).get_result()
    });
    assert_eq!((index, value), (0, 5));
    assert_eq!(allocs, 1, "just collecting the inputs");
}

/// The check that an input already yielded covers every input, not only those before the
/// first pending one: the misuse is reported at the call, naming the combinator.
#[test]
fn value_task_when_all_rejects_a_yielded_input_after_a_pending_one_at_the_call() {
    use std::future::Future;
    let tcs = TaskCompletionSource::<u8>::new();
    let mut yielded = ValueTask::from(Task::from_result(1u8));
    let waker = std::task::Waker::noop();
    let polled = std::pin::Pin::new(&mut yielded).poll(&mut std::task::Context::from_waker(waker));
    assert!(polled.is_ready());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(ValueTask::when_all([ValueTask::from(tcs.task()), yielded]))
    }))
    .expect_err("an input that already yielded panics at the call");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(message.contains("ValueTask::when_all"), "{message}");
}

/// A source that reports completion a moment before its result can be taken (its first
/// `poll_result` is `Pending`).
struct CompleteBeforeItsResult {
    polls: std::sync::atomic::AtomicUsize,
}

impl valuetask::ValueTaskSource<u8> for CompleteBeforeItsResult {
    fn status(&self, _token: u32) -> valuetask::SourceStatus {
        valuetask::SourceStatus::Succeeded
    }
    fn poll_result(&self, _token: u32, cx: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
        if self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(5)
        }
    }
}

/// Such an input stays in the race instead of hitting an "unreachable" panic.
#[test]
fn value_task_when_any_keeps_an_input_whose_result_is_not_takeable_yet() {
    let source = CompleteBeforeItsResult {
        polls: std::sync::atomic::AtomicUsize::new(0),
    };
    let first = ValueTask::when_any([ValueTask::from_source(&source, 0)]);
    assert_eq!(first.get_result(), (0, 5));
}

/// A value whose clones panic when dropped, and whose `explodes` original panics when cloned.
#[derive(Debug)]
struct CloneBomb {
    explodes: bool,
    is_clone: bool,
}

impl Clone for CloneBomb {
    fn clone(&self) -> Self {
        if self.explodes {
            panic!("clone failed");
        }
        CloneBomb {
            explodes: false,
            is_clone: true,
        }
    }
}

impl Drop for CloneBomb {
    fn drop(&mut self) {
        if self.is_clone {
            panic!("drop of a clone failed");
        }
    }
}

/// `when_all` whose clones panic when dropped: values already cloned when a later clone
/// panics, or thrown away because an input failed, are dropped one at a time (each drop
/// panicking during another's unwind would abort the process), and `all` is faulted with the
/// clone's panic or the inputs' failures. Over completed inputs and over inputs completed
/// later. In a child process, so an abort fails the test.
#[test]
fn when_all_survives_values_that_panic_when_dropped() {
    if !common::runs_in_child_process("when_all_survives_values_that_panic_when_dropped") {
        return;
    }
    let value = |explodes| CloneBomb {
        explodes,
        is_clone: false,
    };
    let failed = || TaskError::panicked("input failed");

    let inputs = [
        Task::from_result(value(false)),
        Task::from_result(value(false)),
        Task::from_result(value(true)),
    ];
    let all = Task::when_all(inputs.iter().cloned());
    assert_eq!(
        all.error().and_then(TaskError::panic_message),
        Some("clone failed")
    );

    let inputs = [
        Task::from_result(value(false)),
        Task::from_result(value(false)),
        Task::from_error(failed()),
    ];
    let all = Task::when_all(inputs.iter().cloned());
    assert!(matches!(all.error(), Some(TaskError::Aggregate(errors)) if errors.len() == 1));

    let sources: Vec<TaskCompletionSource<CloneBomb>> =
        (0..3).map(|_| TaskCompletionSource::new()).collect();
    let all = Task::when_all(sources.iter().map(TaskCompletionSource::task));
    sources[0].set_result(value(false));
    sources[1].set_result(value(false));
    sources[2].set_error(failed());
    assert!(matches!(all.error(), Some(TaskError::Aggregate(errors)) if errors.len() == 1));
}

/// `Task::when_all` over completed tasks: the collected inputs, the cloned results and the
/// output `Vec` (sized once, not grown). The combined task's cell is a pooled block: one
/// combination first warms this thread's pool, so the count does not depend on whether
/// earlier tests' threads left blocks of that size in the shared lists.
#[test]
fn when_all_over_completed_tasks_allocates_a_fixed_handful() {
    let tasks: Vec<Task<u64>> = (0..100).map(Task::from_result).collect();
    drop(Task::when_all(tasks.iter().cloned()));
    let (all, allocs) = allocations_during(|| Task::when_all(tasks.iter().cloned()));
    assert_eq!(all.try_result().map(|r| r.map(Vec::len)), Some(Ok(100)));
    assert_eq!(allocs, 3);
}

/// A value whose `Drop` panics while `armed`; its clones are not armed.
#[derive(Debug)]
struct Armed(bool);

impl Clone for Armed {
    fn clone(&self) -> Self {
        Armed(false)
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        if self.0 {
            panic!("drop of an armed value failed");
        }
    }
}

/// `when_all` given the last handles of its inputs frees them, and with them values whose
/// `Drop` panics: one at a time, so two such panics do not abort the process. On the ready
/// path and on the pending one. In a child process, so an abort fails the test.
#[test]
fn when_all_survives_freeing_inputs_whose_values_panic_when_dropped() {
    if !common::runs_in_child_process(
        "when_all_survives_freeing_inputs_whose_values_panic_when_dropped",
    ) {
        return;
    }
    let all = Task::when_all(vec![
        Task::from_result(Armed(true)),
        Task::from_result(Armed(true)),
    ]);
    assert_eq!(all.try_result().map(|r| r.map(Vec::len)), Some(Ok(2)));

    let sources: Vec<TaskCompletionSource<Armed>> =
        (0..3).map(|_| TaskCompletionSource::new()).collect();
    let all = Task::when_all(sources.iter().map(TaskCompletionSource::task));
    let mut sources = sources.into_iter();
    for source in sources.by_ref().take(2) {
        source.set_result(Armed(true));
    }
    // The last input stays held here, so its value is freed here, not by `when_all`.
    let last = sources.next().unwrap();
    last.set_result(Armed(true));
    assert_eq!(all.try_result().map(|r| r.map(Vec::len)), Some(Ok(3)));
    let freed_here = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(last)));
    assert!(
        freed_here.is_err(),
        "the last value was freed with its source"
    );
}

/// `when_any` frees its inputs one at a time too: when the inputs are already complete (it
/// holds the last handles of the losers until it returns), and when the losers complete after
/// the winner and their sources go (here inside a synchronous continuation of the result,
/// which runs while the winner's completion decides it), so that `when_any` frees them when
/// the winner's wake-up lets it go. In a child process, so an abort fails the test.
#[test]
fn when_any_survives_freeing_inputs_whose_values_panic_when_dropped() {
    if !common::runs_in_child_process(
        "when_any_survives_freeing_inputs_whose_values_panic_when_dropped",
    ) {
        return;
    }
    let any = Task::when_any(vec![
        Task::from_result(Armed(true)),
        Task::from_result(Armed(true)),
        Task::from_result(Armed(true)),
    ]);
    assert!(any.try_result().is_some_and(|r| r.is_ok()));
    std::mem::forget(any); // it holds the winner, whose value would panic when freed here

    let sources: Vec<TaskCompletionSource<Armed>> =
        (0..3).map(|_| TaskCompletionSource::new()).collect();
    let any = Task::when_any(sources.iter().map(TaskCompletionSource::task));
    let mut sources = sources.into_iter();
    let winner = sources.next().unwrap();
    let losers: Vec<_> = sources.collect();
    let inline = valuetask::ContinuationOptions::default().on(valuetask::ContinueOn::Synchronously);
    let finished = any.continue_with_options(inline, move |_| {
        for loser in losers {
            loser.set_result(Armed(true));
        }
    });
    winner.set_result(Armed(false));
    assert_eq!(finished.try_result(), Some(Ok(&())));
    assert!(any.try_result().is_some_and(|r| r.is_ok()));
}

/// `flatten` of a task whose outer result is already in is that inner task itself.
#[test]
fn flatten_of_a_completed_outer_task_is_the_inner_task() {
    let inner = TaskCompletionSource::<u8>::new();
    let outer = Task::from_result(inner.task());
    let flat = outer.flatten();
    assert!(flat.ptr_eq(&inner.task()));
    let failed: Task<Task<u8>> = Task::from_error(TaskError::panicked("outer"));
    assert_eq!(failed.flatten().wait(), Err(&TaskError::panicked("outer")));
}

/// A pending outer task: the flattened task follows the outer, then the inner, whichever
/// completes first, with no executor.
#[test]
fn flatten_follows_the_outer_then_the_inner_task_in_either_completion_order() {
    for inner_first in [false, true] {
        let (outer, inner) = (TaskCompletionSource::new(), TaskCompletionSource::new());
        let flat = outer.task().flatten();
        if inner_first {
            inner.set_result(7u8);
            assert_eq!(flat.status(), TaskStatus::Pending);
            outer.set_result(inner.task());
        } else {
            outer.set_result(inner.task());
            assert_eq!(flat.status(), TaskStatus::Pending);
            let producer = std::thread::spawn(move || inner.set_result(7u8));
            producer.join().unwrap();
        }
        assert_eq!(flat.wait_timeout(Duration::from_secs(5)), Some(Ok(&7)));
    }
}

/// Failures come from whichever task failed: the outer one, or else the inner one.
#[test]
fn flatten_fails_like_the_outer_task_or_else_like_the_inner_one() {
    let outer = TaskCompletionSource::<Task<u8>>::new();
    let flat = outer.task().flatten();
    outer.set_canceled();
    assert_eq!(flat.status(), TaskStatus::Canceled);

    let (outer, inner) = (
        TaskCompletionSource::new(),
        TaskCompletionSource::<u8>::new(),
    );
    let flat = outer.task().flatten();
    outer.set_result(inner.task());
    inner.set_error(TaskError::panicked("inner"));
    assert_eq!(flat.wait(), Err(&TaskError::panicked("inner")));

    let (outer, inner) = (
        TaskCompletionSource::new(),
        TaskCompletionSource::<u8>::new(),
    );
    let flat = outer.task().flatten();
    outer.set_result(inner.task());
    drop(inner);
    assert_eq!(flat.wait(), Err(&TaskError::Abandoned));
}

/// The usual use: the first of several tasks to complete, as a task of its value. With
/// `futures::FutureExt` in scope, `flatten` is still this one.
#[test]
fn flatten_of_when_any_is_the_winners_outcome() {
    #[allow(unused_imports)] // in scope on purpose: `flatten` must still resolve to ours
    use futures::FutureExt as _;
    let sources: Vec<TaskCompletionSource<u8>> =
        (0..3).map(|_| TaskCompletionSource::new()).collect();
    let first = Task::when_any(sources.iter().map(TaskCompletionSource::task)).flatten();
    assert_eq!(first.status(), TaskStatus::Pending);
    sources[1].set_result(1);
    sources[0].set_result(0);
    assert_eq!(first.wait(), Ok(&1));
}

/// A panicking `T::clone` faults the flattened task instead of leaving it pending.
#[test]
fn flatten_faults_with_a_panicking_clone() {
    let (outer, inner) = (TaskCompletionSource::new(), TaskCompletionSource::new());
    let flat = outer.task().flatten();
    outer.set_result(inner.task());
    inner.set_result(PanicsOnClone);
    assert_eq!(
        flat.wait().unwrap_err().panic_message(),
        Some("clone failed")
    );
}

/// Results whose `Drop` panics, lost by `ValueTask::when_any`: each loser is dropped under
/// its own catch (as `Task::when_any`'s), so a second panic during the first's unwinding
/// cannot abort the process; the winner is given.
#[test]
fn value_task_when_any_drops_losers_whose_drop_panics_one_at_a_time() {
    struct Bomb(u8);
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0 != 0 {
                panic!("bomb {}", self.0);
            }
        }
    }
    common::quiet_about_panics_with("bomb");
    let any = ValueTask::when_any([
        ValueTask::from_result(Bomb(0)),
        ValueTask::from_result(Bomb(1)),
        ValueTask::from_result(Bomb(2)),
    ]);
    let (index, winner) = any.get_result();
    assert_eq!((index, winner.0), (0, 0));
    let pool = valuetask::CompletionPool::<Bomb>::new();
    let (first, first_completer) = pool.rent();
    let (second, second_completer) = pool.rent();
    let (third, third_completer) = pool.rent();
    let any = ValueTask::when_any([first, second, third]);
    second_completer.set_result(Bomb(5));
    third_completer.set_result(Bomb(3));
    first_completer.set_result(Bomb(4));
    let (index, winner) = any.get_result();
    let winner = winner.expect("completed");
    assert_eq!((index, winner.0), (0, 4));
    std::mem::forget(winner);
}

/// `ValueTask::when_all` throwing values away whose `Drop` panics: values taken before a
/// later input panics at the call, and values of a combinator dropped half-way, are dropped
/// one at a time (a second panic during the first's unwind aborted the process). In a child
/// process, so an abort fails the test.
#[test]
fn value_task_when_all_drops_thrown_away_values_one_at_a_time() {
    if !common::runs_in_child_process("value_task_when_all_drops_thrown_away_values_one_at_a_time")
    {
        return;
    }
    common::quiet_about_panics_with("clone failed");
    common::quiet_about_panics_with("drop of a clone failed");
    common::quiet_about_panics_with("bomb");
    // At the call: two values taken (clones whose drop panics), then a task input whose
    // clone panics.
    let original = |explodes| CloneBomb {
        explodes,
        is_clone: false,
    };
    let clone = || CloneBomb {
        explodes: false,
        is_clone: true,
    };
    let at_the_call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ValueTask::when_all([
            ValueTask::from_result(Ok(clone())),
            ValueTask::from_result(Ok(clone())),
            ValueTask::from(Task::from_result(original(true))),
        ])
    }));
    assert!(
        at_the_call.is_err(),
        "the clone's panic comes out of the call"
    );
    // The same with the panicking input first: the inputs not yet looked at are thrown away.
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ValueTask::when_all([
            ValueTask::from(Task::from_result(original(true))),
            ValueTask::from_result(Ok(clone())),
            ValueTask::from_result(Ok(clone())),
        ])
    }));
    assert!(first.is_err(), "the clone's panic comes out of the call");

    // Dropped half-way: two inputs completed (their values taken by a poll), one pending.
    struct Bomb(u8);
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("bomb {}", self.0);
        }
    }
    let pool = valuetask::CompletionPool::<Bomb>::new();
    let (a, complete_a) = pool.rent();
    let (b, complete_b) = pool.rent();
    let (c, _pending) = pool.rent();
    let mut all = ValueTask::when_all([a, b, c]);
    complete_a.set_result(Bomb(1));
    complete_b.set_result(Bomb(2));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let polled = std::future::Future::poll(std::pin::Pin::new(&mut all), &mut cx);
    assert!(polled.is_pending());
    drop(all);
}

/// An input that failed with an aggregate of its own adds its failures one by one (.NET's
/// `WhenAll` adds a faulted task's inner exceptions).
#[test]
fn when_all_flattens_an_input_aggregate_as_dotnet() {
    let inner = Task::<u8>::when_all([
        Task::from_error(TaskError::panicked("a")),
        Task::from_error(TaskError::panicked("b")),
    ]);
    let outer = Task::when_all([inner, Task::from_error(TaskError::panicked("c"))]);
    match outer.error() {
        Some(TaskError::Aggregate(all)) => assert_eq!(
            &all[..],
            &[
                TaskError::panicked("a"),
                TaskError::panicked("b"),
                TaskError::panicked("c")
            ]
        ),
        other => panic!("{other:?}"),
    }
}

/// An input faulted with an aggregate of cancellations is a fault: `when_all` is faulted (as
/// .NET's, faulted whenever an input faulted), though its flattened failures are all
/// cancellations.
#[test]
fn when_all_is_faulted_by_an_input_faulted_with_an_aggregate_of_cancellations() {
    let only_canceled = TaskError::Aggregate(std::sync::Arc::from([TaskError::Canceled]));
    let all = Task::<u8>::when_all([Task::from_error(only_canceled), Task::from_canceled()]);
    assert_eq!(all.status(), TaskStatus::Faulted);
    assert_eq!(
        all.error(),
        Some(&TaskError::Aggregate(std::sync::Arc::from([
            TaskError::Canceled,
            TaskError::Canceled
        ])))
    );
}

/// `LocalValueTask::when_all` and `when_any`: the same combinators over futures that are not
/// `Send` (an `Rc` held across an `.await`), pending inputs run together.
#[test]
fn local_value_task_when_all_and_when_any_run_futures_that_are_not_send() {
    use std::rc::Rc;
    use valuetask::LocalValueTask;

    let (tx, rx) = futures::channel::oneshot::channel::<u32>();
    let shared = Rc::new(10u32);
    let first = {
        let shared = Rc::clone(&shared);
        LocalValueTask::new(async move { rx.await.unwrap() + *shared })
    };
    let second = {
        let shared = Rc::clone(&shared);
        LocalValueTask::new(async move {
            valuetask::yield_now().await;
            tx.send(7).unwrap();
            *shared
        })
    };
    let ready = LocalValueTask::from_result(1);
    let all = LocalValueTask::when_all([ready, first, second]);
    assert!(!all.is_completed());
    assert_eq!(all.get_result(), vec![1, 17, 10]);
    assert_eq!(
        LocalValueTask::when_all((0..3).map(LocalValueTask::from_result)).get_result(),
        vec![0, 1, 2]
    );

    let pool = valuetask::CompletionPool::<u8>::new();
    let (a, a_completer) = pool.rent();
    let (b, b_completer) = pool.rent();
    let held = Rc::new(());
    let c = {
        let held = Rc::clone(&held);
        LocalValueTask::new(async move {
            let _held = held;
            std::future::pending::<Result<u8, TaskError>>().await
        })
    };
    let mut any = LocalValueTask::when_any([a.into(), b.into(), c]);
    b_completer.set_result(9);
    let polled = std::future::Future::poll(
        std::pin::Pin::new(&mut any),
        &mut std::task::Context::from_waker(std::task::Waker::noop()),
    );
    assert_eq!(polled, std::task::Poll::Ready((1, Ok(9))));
    assert!(
        a_completer.is_closed(),
        "the losers were dropped with the winner given"
    );
    assert_eq!(Rc::strong_count(&held), 1, "the pending loser too");
    drop(any);
    let ready = LocalValueTask::when_any([LocalValueTask::from_result(4u8)]);
    assert!(ready.is_completed());
    assert_eq!(ready.get_result(), (0, 4));
}

#[test]
#[should_panic(expected = "LocalValueTask::when_any: no value tasks given")]
fn local_value_task_when_any_of_nothing_panics() {
    drop(valuetask::LocalValueTask::<u8>::when_any([]));
}

/// An input faulted with an empty aggregate (a forwarder passes one on as it is) is a
/// failure: `when_all` faults, ready or pending, instead of a success with a value missing.
#[test]
fn when_all_with_an_input_faulted_by_an_empty_aggregate_faults() {
    let empty: Task<u8> = Task::from_error(TaskError::Aggregate(Vec::new().into()));
    assert!(empty.is_faulted());
    let all = Task::when_all([Task::from_result(1u8), empty.clone()]);
    assert_eq!(
        all.wait(),
        Err(&TaskError::Aggregate(
            vec![TaskError::Aggregate(Vec::new().into())].into()
        ))
    );
    let tcs = TaskCompletionSource::<u8>::new();
    let all = Task::when_all([tcs.task(), empty]);
    tcs.set_result(2);
    assert!(all.wait().is_err(), "{:?}", all.wait());
    assert!(all.is_faulted());
}

/// A `when_all`'s aggregate, a cancellation listed before a fault: the error chain and
/// `downcast_ref` reach the fault (as awaiting .NET's `WhenAll` throws the fault).
#[test]
fn a_when_all_aggregate_leads_to_its_fault_past_a_cancellation() {
    use std::error::Error;
    let io = TaskError::faulted(std::io::Error::other("disk"));
    let all = Task::<u8>::when_all([Task::from_canceled(), Task::from_error(io)]);
    let error = all.wait().unwrap_err();
    let mut cause: &(dyn Error + 'static) = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    assert!(
        cause.downcast_ref::<std::io::Error>().is_some(),
        "ended at {cause}"
    );
    assert_eq!(
        error
            .downcast_ref::<std::io::Error>()
            .map(ToString::to_string),
        Some("disk".to_string())
    );
    // Only that first fault, as the chain: one listed after another fault is not it.
    let mixed = TaskError::Aggregate(
        vec![
            TaskError::faulted(std::fmt::Error),
            TaskError::faulted(std::io::Error::other("disk")),
        ]
        .into(),
    );
    assert!(mixed.downcast_ref::<std::io::Error>().is_none());
    assert!(mixed.downcast_ref::<std::fmt::Error>().is_some());
}

/// `ValueTask::when_all` takes its inputs until their iterator ends and never asks it again:
/// an iterator that is not fused (a queue drained with `iter::from_fn`, `try_iter` of a
/// channel still being sent on) may have another item later, which belongs to the next call
/// (it was taken and dropped unseen), whether the inputs were all ready or one was pending.
#[test]
fn value_task_when_all_stops_at_the_end_of_its_inputs() {
    for pending in [false, true] {
        let pool = valuetask::CompletionPool::<u8>::new();
        let (late, completer) = pool.rent();
        let mut late = Some(late);
        let asked = std::cell::Cell::new(0);
        // Two inputs, the end, then one more input.
        let inputs = std::iter::from_fn(|| {
            asked.set(asked.get() + 1);
            match asked.get() {
                1 => Some(ValueTask::from_result(Ok(1))),
                2 if pending => late.take(),
                2 => Some(ValueTask::from_result(Ok(2))),
                3 => None,
                _ => Some(ValueTask::from_result(Ok(9))),
            }
        });
        let all = ValueTask::when_all(inputs);
        assert_eq!(asked.get(), 3, "pending: {pending}");
        completer.set_result(2);
        assert_eq!(all.get_result(), vec![Ok(1), Ok(2)]);
        assert_eq!(asked.get(), 3, "pending: {pending}");
    }
}

/// A misuse panic at the call, then taking the inputs not yet looked at panics too (a
/// `map` whose closure fails on them): the second panic is discarded, not raised while the
/// first unwinds (an abort). In a child process, so an abort fails the test.
#[test]
fn value_task_when_all_survives_inputs_that_panic_while_thrown_away() {
    if !common::runs_in_child_process(
        "value_task_when_all_survives_inputs_that_panic_while_thrown_away",
    ) {
        return;
    }
    common::quiet_about_panics_with("no input");
    let mut yielded = ValueTask::from_result(0_u8);
    assert_eq!(poll_once(&mut yielded, Waker::noop()), Poll::Ready(0));
    let mut yielded = Some(yielded);
    let inputs = (0..4).map(|i| match i {
        0 => yielded.take().unwrap(),
        _ => panic!("no input {i}"),
    });
    let at_the_call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(ValueTask::when_all(inputs));
    }))
    .unwrap_err();
    let message = at_the_call
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.starts_with("ValueTask::when_all on a value task that already yielded"),
        "{message}"
    );
}

/// An input iterator that panics is not asked again: inputs after the panic are never made,
/// so their bodies never start (a `map` that starts a request per element, failing at the
/// first, starts none), as with `when_any` and a plain `collect`.
#[test]
fn value_task_when_all_asks_a_panicking_iterator_for_no_more_inputs() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    common::quiet_about_panics_with("input 0 fails");
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let inputs = (0..3).map(|i| {
        assert!(i != 0, "input 0 fails");
        ValueTask::start(async {
            STARTED.fetch_add(1, Ordering::SeqCst);
            1_u8
        })
    });
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(ValueTask::when_all(inputs));
    }));
    assert!(panicked.is_err());
    assert_eq!(
        STARTED.load(Ordering::SeqCst),
        0,
        "inputs made after the panic"
    );
}

/// An input iterator that panics after yielding values whose `Drop` panics: the inputs taken
/// are dropped one at a time while its panic unwinds, each panicking `Drop` discarded (a
/// plain `collect` dropped them inside the unwinding, and the second panic aborted). Every
/// combinator, in a child process, so an abort fails the test.
#[test]
fn combinators_survive_an_iterator_that_panics_after_values_that_panic_when_dropped() {
    if !common::runs_in_child_process(
        "combinators_survive_an_iterator_that_panics_after_values_that_panic_when_dropped",
    ) {
        return;
    }
    common::quiet_about_panics_with("no input");
    common::quiet_about_panics_with("drop of an armed value failed");
    fn inputs<V>(make: fn(Armed) -> V) -> impl Iterator<Item = V> {
        (0..3).map(move |i| {
            assert!(i < 2, "no input {i}");
            make(Armed(true))
        })
    }
    let calls: [(&str, fn()); 6] = [
        ("Task::when_all", || {
            drop(Task::when_all(inputs(Task::from_result)));
        }),
        ("Task::when_any", || {
            drop(Task::when_any(inputs(Task::from_result)));
        }),
        ("ValueTask::when_all", || {
            drop(ValueTask::when_all(inputs(ValueTask::from_result)));
        }),
        ("ValueTask::when_any", || {
            drop(ValueTask::when_any(inputs(ValueTask::from_result)));
        }),
        ("LocalValueTask::when_all", || {
            drop(valuetask::LocalValueTask::when_all(inputs(
                valuetask::LocalValueTask::from_result,
            )));
        }),
        ("LocalValueTask::when_any", || {
            drop(valuetask::LocalValueTask::when_any(inputs(
                valuetask::LocalValueTask::from_result,
            )));
        }),
    ];
    for (name, call) in calls {
        let panic = std::panic::catch_unwind(call).unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(message, "no input 2", "{name}");
    }
}

/// A panicking clone of an input's value does not end `when_all` before its other inputs
/// have completed (.NET's `WhenAll` completes only when all have).
#[test]
fn when_all_with_a_panicking_clone_still_waits_for_every_input() {
    let a = TaskCompletionSource::new();
    let b = TaskCompletionSource::<PanicsOnClone>::new();
    let all = Task::when_all([a.task(), b.task()]);
    a.set_result(PanicsOnClone);
    assert!(!all.is_completed(), "b is still pending");
    b.set_result(PanicsOnClone);
    let error = all.wait().expect_err("a clone panicked");
    assert_eq!(error.panic_message(), Some("clone failed"));
}

/// The next task of a `when_each` stream, polled once with `waker`.
fn poll_next(each: &mut valuetask::WhenEach<u8>, waker: &Waker) -> Poll<Option<Task<u8>>> {
    poll_once(&mut Box::pin(each.next()), waker)
}

fn value(task: &Task<u8>) -> u8 {
    *task.try_result().expect("handed out complete").unwrap()
}

#[test]
fn when_each_hands_out_the_complete_first_then_each_as_it_completes() {
    let (wakes, waker) = common::CountingWaker::new();
    let sources: Vec<_> = (0..4).map(|_| TaskCompletionSource::<u8>::new()).collect();
    sources[3].set_result(3);
    sources[1].set_result(1);
    let mut each = Task::when_each(sources.iter().map(TaskCompletionSource::task));
    fn send_sync_unpin<T: Send + Sync + Unpin>(_: &T) {}
    send_sync_unpin(&each);
    assert_eq!(
        format!("{each:?}"),
        "WhenEach { inputs: 4, remaining: 4, .. }"
    );
    assert_eq!(each.len(), 4);
    assert!(!each.is_empty());
    assert_eq!(futures::Stream::size_hint(&each), (4, Some(4)));
    assert!(!futures::stream::FusedStream::is_terminated(&each));
    // Complete at the first look: in input order.
    let Poll::Ready(Some(first)) = poll_next(&mut each, &waker) else {
        panic!("complete")
    };
    let Poll::Ready(Some(second)) = poll_next(&mut each, &waker) else {
        panic!("complete")
    };
    assert_eq!((value(&first), value(&second)), (1, 3));
    assert!(poll_next(&mut each, &waker).is_pending());
    assert_eq!(wakes.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    // Then in the order they complete, each wake-up waking the stream.
    sources[2].set_result(2);
    sources[0].set_result(0);
    assert!(wakes.0.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let Poll::Ready(Some(third)) = poll_next(&mut each, &waker) else {
        panic!("woken")
    };
    let Poll::Ready(Some(fourth)) = poll_next(&mut each, &waker) else {
        panic!("queued")
    };
    assert_eq!((value(&third), value(&fourth)), (2, 0));
    assert!(each.is_empty());
    assert!(matches!(poll_next(&mut each, &waker), Poll::Ready(None)));
    assert!(futures::stream::FusedStream::is_terminated(&each));
    // The handed-out handles are the inputs themselves.
    assert!(third.ptr_eq(&sources[2].task()));
}

#[test]
fn when_each_hands_out_failed_tasks_too_and_an_empty_input_ends_at_once() {
    use futures::StreamExt as _;
    let failed = Task::<u8>::from_error(TaskError::panicked("f"));
    let statuses: Vec<TaskStatus> = futures::executor::block_on(
        Task::when_each([Task::from_result(1), failed, Task::from_canceled()])
            .map(|task| task.status())
            .collect(),
    );
    assert_eq!(
        statuses,
        [
            TaskStatus::RanToCompletion,
            TaskStatus::Faulted,
            TaskStatus::Canceled
        ]
    );
    let mut none = Task::<u8>::when_each([]);
    assert_eq!(futures::Stream::size_hint(&none), (0, Some(0)));
    assert!(futures::executor::block_on(none.next()).is_none());
}

/// Completions on other threads while a task awaits the stream: every task handed out once,
/// none lost.
#[test]
fn when_each_over_completions_on_other_threads_hands_out_each_once() {
    let sources: Vec<_> = (0..64).map(|_| TaskCompletionSource::<u8>::new()).collect();
    let mut each = Task::when_each(sources.iter().map(TaskCompletionSource::task));
    let completers: Vec<_> = sources
        .into_iter()
        .enumerate()
        .map(|(i, tcs)| std::thread::spawn(move || tcs.set_result(i as u8)))
        .collect();
    let mut seen = futures::executor::block_on(async {
        let mut seen = Vec::new();
        while let Some(task) = each.next().await {
            seen.push(value(&task));
        }
        seen
    });
    for completer in completers {
        completer.join().unwrap();
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..64).collect::<Vec<u8>>());
}

/// `when_each` registers at the call, as .NET's does: tasks completing before the first poll
/// come out in the order they completed, not in input order.
#[test]
fn when_each_registers_at_the_call_and_keeps_the_completion_order_before_the_first_poll() {
    use futures::StreamExt as _;
    let (a, b) = (
        TaskCompletionSource::<u8>::new(),
        TaskCompletionSource::new(),
    );
    let each = Task::when_each([a.task(), b.task()]);
    b.set_result(2);
    a.set_result(1);
    let got: Vec<u8> = futures::executor::block_on(each.map(|t| value(&t)).collect());
    assert_eq!(got, [2, 1]);
}

/// A stream dropped early withdraws its registrations: streams over a task that never
/// completes, each polled once and dropped, leave nothing in its waiter list, so each round
/// allocates what one does (a registration left behind would grow the list past its slab
/// into the overflow, which allocates as it grows).
#[test]
fn when_each_dropped_early_withdraws_from_inputs_that_never_complete() {
    let never = TaskCompletionSource::<u8>::new();
    let (_, waker) = common::CountingWaker::new();
    let round = || {
        let other = TaskCompletionSource::<u8>::new();
        let mut each = Task::when_each([never.task(), other.task()]);
        assert!(poll_next(&mut each, &waker).is_pending());
    };
    (0..3).for_each(|_| round()); // the pools warm
    let ((), one) = allocations_during(round);
    let ((), many) = allocations_during(|| (0..500).for_each(|_| round()));
    assert_eq!(many, 500 * one, "no registration left behind");
}

/// A stream dropped while it waits lets go of its waker: the input that never completes keeps
/// no registration of it (which would hold the stream's waker, and the task it wakes).
#[test]
fn when_each_dropped_while_waiting_keeps_no_clone_of_its_waker() {
    let never = TaskCompletionSource::<u8>::new();
    let (counted, waker) = common::CountingWaker::new();
    let mut each = Task::when_each([never.task()]);
    assert!(poll_next(&mut each, &waker).is_pending());
    assert_eq!(
        std::sync::Arc::strong_count(&counted),
        3,
        "the stream keeps a clone"
    );
    drop(each);
    assert_eq!(
        std::sync::Arc::strong_count(&counted),
        2,
        "only `waker` is left"
    );
}
