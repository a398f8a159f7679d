//! `ValueTask::preserve` (.NET `Preserve()`): ready and task-backed value tasks stay as they
//! are, with no new task and no allocation; a completed source gives its value, ready; a
//! pending source, a pooled completion and a future become task-backed, so the value task
//! outlives the source's reuse.

mod common;

use std::sync::Arc;

use valuetask::{
    CompletionPool, ManualResetValueTaskSourceCore, Task, TaskCompletionSource, TaskError,
    ValueTask, ValueTaskSource,
};

#[global_allocator]
static ALLOCATOR: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

/// The backing's name, as `Debug` shows it.
fn backing(vt: &ValueTask<'static, Result<u8, TaskError>>) -> String {
    format!("{vt:?}")
}

#[test]
fn ready_and_task_backed_value_tasks_stay_as_they_are_with_no_allocation() {
    let ready: ValueTask<'static, Result<u8, TaskError>> = ValueTask::from_result(Ok(1));
    let (ready, allocations) = common::allocations_during(|| ready.preserve());
    assert_eq!(allocations, 0);
    assert_eq!(ready.get_result(), Ok(1));

    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let vt = ValueTask::from(task.clone());
    let before = backing(&vt);
    let (vt, allocations) = common::allocations_during(|| vt.preserve());
    assert_eq!(allocations, 0);
    assert_eq!(backing(&vt), before);
    assert!(vt.into_task().ptr_eq(&task), "the same task, no new one");
}

#[test]
fn a_completed_source_gives_its_value_ready_with_no_allocation() {
    let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
    let source: Arc<dyn ValueTaskSource<Result<u8, TaskError>>> = core.clone();
    let counted = ValueTask::from_arc_source(source, core.version());
    core.set_result(4);
    let (counted, allocations) = common::allocations_during(|| counted.preserve());
    assert_eq!(allocations, 0);
    core.reset();
    assert!(counted.is_completed());
    assert_eq!(counted.get_result(), Ok(4));
}

#[test]
fn a_pending_source_becomes_task_backed_and_outlives_the_sources_reuse() {
    let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
    let source: Arc<dyn ValueTaskSource<Result<u8, TaskError>>> = core.clone();
    let kept = ValueTask::from_arc_source(source, core.version()).preserve();
    assert!(backing(&kept).contains("Task"), "{kept:?}");
    assert!(!kept.is_completed());
    core.set_result(5);
    core.reset();
    core.set_result(6); // the next operation on the reused source
    assert_eq!(kept.get_result(), Ok(5));
}

#[test]
fn a_pooled_completion_and_a_future_become_task_backed() {
    let pool = CompletionPool::<u8>::new();
    let (reply, completer) = pool.rent();
    let kept = reply.preserve();
    assert!(backing(&kept).contains("Task"), "{kept:?}");
    completer.set_result(7);
    assert_eq!(kept.get_result(), Ok(7));

    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let future: ValueTask<'static, Result<u8, TaskError>> =
        ValueTask::new(async move { task.await.map(|v| v + 1) });
    let kept = future.preserve();
    assert!(backing(&kept).contains("Task"), "{kept:?}");
    tcs.set_result(1);
    assert_eq!(kept.get_result(), Ok(2));
    // A preserved value task is task-backed: its task is shareable.
    let shared = ValueTask::from(Task::from_result(9u8))
        .preserve()
        .into_task();
    assert_eq!(shared.clone().wait(), Ok(&9));
}

#[test]
#[should_panic(expected = "ValueTask::preserve on a value task that already yielded its value")]
fn preserving_a_value_task_that_yielded_panics_naming_it() {
    use std::future::Future;
    let mut vt: ValueTask<'static, Result<u8, TaskError>> = ValueTask::from_result(Ok(1));
    let waker = std::task::Waker::noop();
    let _ = std::pin::Pin::new(&mut vt).poll(&mut std::task::Context::from_waker(waker));
    drop(vt.preserve());
}
