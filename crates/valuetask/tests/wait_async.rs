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
    let short = task.wait_async_timeout(Duration::from_millis(20));
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
