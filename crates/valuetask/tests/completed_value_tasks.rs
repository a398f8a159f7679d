//! Value tasks complete from the start, as .NET spells them: `default(ValueTask<T>)`,
//! `ValueTask.CompletedTask`, and `AsTask()` of a completed `ValueTask` returning the cached
//! `Task.CompletedTask`.

mod common;

use common::{allocations_during, CountingAllocator};
use valuetask::{ManualResetValueTaskSourceCore, Task, ValueTask};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

#[test]
fn a_default_value_task_is_complete_with_the_default_and_allocates_nothing() {
    let (vt, allocations) = allocations_during(ValueTask::<'static, u64>::default);
    assert_eq!(allocations, 0);
    assert_eq!(vt.get_result(), 0);
    // A result too large for the value task's two words goes to a pooled block: no
    // allocation once this thread's pool is warm.
    drop(ValueTask::<'static, (u64, String)>::default());
    let (vt, allocations) = allocations_during(ValueTask::<'static, (u64, String)>::default);
    assert_eq!(allocations, 0);
    assert!(vt.is_completed());
    assert_eq!(vt.get_result(), (0, String::new()));
}

#[test]
fn value_task_completed_is_complete_and_allocates_nothing() {
    let (vt, allocations) = allocations_during(ValueTask::completed);
    assert_eq!(allocations, 0);
    assert!(vt.is_completed());
    vt.get_result();
}

/// Whatever backs a value task that holds `()` successfully, its task is the one static
/// completed task, and getting it allocates nothing.
#[test]
fn as_task_of_a_completed_unit_value_task_is_the_static_completed_task() {
    let completed = Task::completed();
    let (task, allocations) = allocations_during(|| ValueTask::completed().as_task());
    assert_eq!(allocations, 0);
    assert!(task.ptr_eq(&completed));

    // A pooled future that completes at its first poll (warm the pool first).
    drop(ValueTask::new(async {}).as_task());
    let (task, allocations) = allocations_during(|| ValueTask::new(async {}).as_task());
    assert_eq!(allocations, 0);
    assert!(task.ptr_eq(&completed));
}

#[test]
fn into_task_of_a_completed_unit_value_task_is_the_static_completed_task_from_any_backing() {
    let completed = Task::completed();
    let ready: ValueTask<'static, Result<(), valuetask::TaskError>> =
        ValueTask::from_result(Ok(()));
    assert!(ready.into_task().ptr_eq(&completed));

    // A source-backed value task whose generation already completed with `()`.
    // In a static, not leaked: valgrind reports a leaked box no pointer reaches any more.
    static CORE: std::sync::OnceLock<ManualResetValueTaskSourceCore<()>> =
        std::sync::OnceLock::new();
    let core: &'static ManualResetValueTaskSourceCore<()> =
        CORE.get_or_init(ManualResetValueTaskSourceCore::new);
    drop(core.value_task()); // warm this thread's pool of small records
    let vt = core.value_task();
    core.set_result(());
    let (task, allocations) = allocations_during(|| vt.into_task());
    assert_eq!(allocations, 0);
    assert!(
        task.ptr_eq(&completed),
        "not a new task for a completed `()`"
    );

    // A future that completes at its first poll.
    let from_future: ValueTask<'static, Result<(), valuetask::TaskError>> =
        ValueTask::new(async { Ok(()) });
    assert!(from_future.into_task().ptr_eq(&completed));
}
