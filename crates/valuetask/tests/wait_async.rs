//! `Task::wait_async` (.NET `Task.WaitAsync(TimeSpan, CancellationToken)`): the task's own
//! outcome when it completes first (the task itself when already complete, with no
//! allocation), a timeout or a cancellation otherwise, and the task waited for untouched.
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use valuetask::{Task, TaskCompletionSource, TaskError, TaskStatus};

#[global_allocator]
static ALLOCATOR: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

const LONG: Duration = Duration::from_secs(3600);

#[test]
fn a_completed_task_is_its_own_wait_whatever_the_timeout_and_token_with_no_allocation() {
    let canceled = CancellationToken::new();
    canceled.cancel();
    let ok = Task::from_result(String::from("done"));
    let faulted = Task::<String>::from_error(TaskError::panicked("boom"));
    for task in [&ok, &faulted] {
        for timeout in [
            Duration::ZERO,
            Duration::from_millis(1),
            LONG,
            Duration::MAX,
        ] {
            let token = canceled.clone();
            let (wait, allocations) =
                common::allocations_during(|| task.wait_async(timeout, token));
            assert!(wait.ptr_eq(task), "the task itself");
            assert_eq!(allocations, 0);
            assert!(task.wait_async_timeout(timeout).ptr_eq(task));
        }
        assert!(task.wait_async_cancellation(canceled.clone()).ptr_eq(task));
    }
    assert_eq!(
        ok.wait_async(Duration::ZERO, canceled).wait(),
        Ok(&"done".to_owned())
    );
}

#[test]
fn a_pending_task_times_out_at_once_with_a_zero_timeout_and_later_with_a_short_one() {
    let tcs = TaskCompletionSource::<u32>::new();
    let task = tcs.task();
    let now = task.wait_async(Duration::ZERO, CancellationToken::new());
    assert_eq!(now.error(), Some(&TaskError::TimedOut));
    assert_eq!(
        now.status(),
        TaskStatus::Faulted,
        "a timeout counts as faulted"
    );
    // Long enough that the check below comes first even under valgrind on a loaded host (at
    // 20 ms, a CI run under valgrind saw it complete already).
    let short = task.wait_async_timeout(Duration::from_secs(2));
    assert!(!short.is_completed(), "pending until the timeout");
    assert_eq!(short.wait(), Err(&TaskError::TimedOut));
    assert!(!task.is_completed(), "the task waited for is not canceled");
    tcs.set_result(5);
    assert_eq!(
        short.error(),
        Some(&TaskError::TimedOut),
        "no result passes through"
    );
    assert_eq!(task.wait(), Ok(&5));
}

#[test]
fn a_token_canceled_later_cancels_the_wait_inside_cancel_and_not_the_task() {
    let tcs = TaskCompletionSource::<u32>::new();
    let task = tcs.task();
    let token = CancellationToken::new();
    let wait = task.wait_async(LONG, token.clone());
    let only_token = task.wait_async_cancellation(token.clone());
    std::thread::sleep(Duration::from_millis(5));
    assert!(
        !wait.is_completed() && !only_token.is_completed(),
        "pending before the cancel"
    );
    token.cancel();
    assert!(wait.is_canceled(), "canceled when cancel() returns");
    assert!(only_token.is_canceled());
    assert!(!task.is_completed(), "the task waited for is not canceled");
    tcs.set_result(1);
    assert!(wait.is_canceled(), "no result passes through");
    // A token canceled before the wait on a pending task: canceled at once.
    let pending = TaskCompletionSource::<u32>::new();
    assert!(pending.task().wait_async(LONG, token).is_canceled());
}

#[test]
fn the_task_completing_first_gives_the_wait_its_outcome() {
    let tcs = TaskCompletionSource::<Vec<u8>>::new();
    let token = CancellationToken::new();
    let wait = tcs.task().wait_async(LONG, token.clone());
    let unbounded = tcs.task().wait_async(Duration::MAX, token.clone());
    tcs.set_result(vec![1, 2]);
    assert_eq!(wait.wait(), Ok(&vec![1, 2]));
    assert_eq!(unbounded.wait(), Ok(&vec![1, 2]));
    assert!(
        !wait.ptr_eq(&tcs.task()),
        "a wait of its own, completed with a clone"
    );
    token.cancel();
    assert_eq!(
        wait.wait(),
        Ok(&vec![1, 2]),
        "a later cancel changes nothing"
    );

    let failing = TaskCompletionSource::<u8>::new();
    let wait = failing.task().wait_async_timeout(LONG);
    failing.set_canceled();
    assert!(
        wait.is_canceled(),
        "the task's own cancellation passes through"
    );
    let failing = TaskCompletionSource::<u8>::new();
    let wait = failing.task().wait_async_timeout(LONG);
    failing.set_error(TaskError::panicked("boom"));
    assert_eq!(wait.error(), Some(&TaskError::panicked("boom")));
}

#[test]
fn a_wait_with_neither_a_token_nor_a_timeout_is_the_task() {
    let tcs = TaskCompletionSource::<u8>::new();
    let wait = tcs.task().wait_async_timeout(Duration::MAX);
    assert!(wait.ptr_eq(&tcs.task()));
}

#[tokio::test]
async fn waits_are_awaitable_on_tokio() {
    let tcs = TaskCompletionSource::<u8>::new();
    let wait = tcs.task().wait_async_timeout(Duration::from_millis(10));
    assert_eq!(wait.await, Err(TaskError::TimedOut));
    let wait = tcs.task().wait_async_timeout(LONG);
    tcs.set_result(3);
    assert_eq!(wait.await, Ok(3));
}

/// A value whose `clone` panics.
struct CloneBomb;

impl Clone for CloneBomb {
    fn clone(&self) -> Self {
        panic!("this value's clone panics")
    }
}

/// The wait's clone of the task's value panics: the wait is faulted with that panic (as an
/// `as_task` of the task would be), at once, not left pending (token only) or ended by its
/// timeout, and the task's completer does not see the panic.
#[test]
fn a_panicking_clone_of_the_value_faults_the_wait_at_once() {
    common::quiet_about_panics_with("this value's clone panics");
    for timeout in [None, Some(LONG)] {
        let tcs = TaskCompletionSource::<CloneBomb>::new();
        let token = CancellationToken::new();
        let wait = match timeout {
            Some(timeout) => tcs.task().wait_async(timeout, token.clone()),
            None => tcs.task().wait_async_cancellation(token.clone()),
        };
        tcs.set_result(CloneBomb);
        match wait.wait_timeout(Duration::from_secs(20)) {
            Some(Err(TaskError::Panicked(message))) => {
                assert!(message.contains("clone panics"), "{message}")
            }
            Some(Err(other)) => panic!("faulted otherwise: {other:?}"),
            Some(Ok(_)) => panic!("a value"),
            None => panic!("still pending"),
        }
    }
}

/// An awaiter of the wait whose waker panics: the task's completer does not see the panic,
/// and the wait is complete.
#[test]
fn a_panicking_waker_of_the_waits_awaiter_does_not_reach_the_tasks_completer() {
    common::quiet_about_panics_with("this waker panics");
    let tcs = TaskCompletionSource::<u8>::new();
    let mut wait = tcs.task().wait_async_cancellation(CancellationToken::new());
    let waker = common::waker_that_panics_on_wake();
    assert!(common::poll_once(&mut wait, &waker).is_pending());
    tcs.set_result(3);
    assert_eq!(wait.try_result(), Some(Ok(&3)));
}

/// A child token's watcher (`cancel_on`) completes a task whose wait watches the parent
/// token: inside `parent.cancel()`, the wait's watcher reads the parent's state. tokio-util
/// before 0.7.20 woke a child's waiters under the parent's lock, and this deadlocked (hence
/// the dependency's floor, 0.7.20).
#[test]
fn a_wait_on_a_parent_token_of_a_canceled_child_does_not_deadlock() {
    assert!(common::finishes_within(Duration::from_secs(20), || {
        let parent = CancellationToken::new();
        let tcs = TaskCompletionSource::<u8>::new();
        tcs.cancel_on(parent.child_token());
        let wait = tcs.task().wait_async_cancellation(parent.clone());
        parent.cancel();
        assert!(wait.wait().unwrap_err().is_canceled());
    }));
}

/// 5,000 waits, each on the one before, completed on a thread with a 256 KiB stack: each
/// wait's watcher completes the next inside the previous completion, so their runs nest;
/// past 32 the run moves to another thread, and no stack overflows (in a child process, so
/// that an overflow fails this test alone).
#[test]
fn a_chain_of_waits_on_waits_completes_without_overflowing_a_stack() {
    if !common::runs_in_child_process(
        "a_chain_of_waits_on_waits_completes_without_overflowing_a_stack",
    ) {
        return;
    }
    let token = CancellationToken::new();
    let tcs = TaskCompletionSource::<u8>::new();
    let mut last = tcs.task();
    for _ in 0..5_000 {
        last = last.wait_async_cancellation(token.clone());
    }
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || tcs.set_result(1))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(last.wait_timeout(Duration::from_secs(60)), Some(Ok(&1)));
}
