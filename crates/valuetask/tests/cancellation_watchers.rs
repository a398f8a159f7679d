//! `TaskCompletionSource::cancel_on` watches its token with no runtime, and leaves nothing
//! behind once the task completes first or its sources are dropped: the test thread's live
//! heap bytes are counted around many sources (deterministic, so asserted).
#![cfg(feature = "tokio")]

use alloc_count::CountingAllocator;
use tokio_util::sync::CancellationToken;
use valuetask::{Task, TaskCompletionSource, TaskError};

/// Live heap bytes counted per thread (freed on the same thread here: no runtime runs in this
/// test, and the harness's own threads, which allocate when they please, do not count).
#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

fn live() -> i64 {
    alloc_count::thread_counts().live
}

const SOURCES: usize = 2_000;
/// A watcher's heap bytes, at least (its `Arc` and its boxed future).
const WATCHER_BYTES_AT_LEAST: i64 = 128;

/// One test in this binary: a second one could warm what the first counts.
#[test]
fn watchers_cancel_inside_cancel_and_leave_nothing_behind() {
    let token = CancellationToken::new();
    // Warm up whatever is allocated once (thread-locals, the token's tree).
    for _ in 0..10 {
        let tcs = TaskCompletionSource::<u8>::new();
        tcs.cancel_on(token.clone());
        tcs.set_result(1);
    }
    let before = live();
    for i in 0..SOURCES {
        let tcs = TaskCompletionSource::<u64>::new();
        tcs.cancel_on(token.clone());
        if i % 2 == 0 {
            tcs.set_result(i as u64); // completed first
            assert_eq!(tcs.task().wait(), Ok(&(i as u64)));
        } else {
            let task = tcs.task();
            drop(tcs); // every source dropped: abandoned
            assert_eq!(task.wait(), Err(&TaskError::Abandoned));
        }
    }
    let grown = live() - before;
    assert!(
        grown < 256,
        "{grown} bytes still live after {SOURCES} watched sources completed or dropped"
    );

    // And the cancellation itself, with no runtime anywhere: inside `cancel()`.
    let sources: Vec<TaskCompletionSource<u8>> = (0..100)
        .map(|_| {
            let tcs = TaskCompletionSource::<u8>::new();
            tcs.cancel_on(token.clone());
            tcs
        })
        .collect();
    let tasks: Vec<Task<u8>> = sources.iter().map(TaskCompletionSource::task).collect();
    let before = live();
    token.cancel();
    assert!(
        tasks.iter().all(Task::is_canceled),
        "canceled inside cancel()"
    );
    assert!(sources.iter().all(|s| s.try_set_result(1).is_err()));
    let after = live();
    // Each watcher is a heap object of its own (not pooled): freeing a hundred shows.
    assert!(
        before - after >= 100 * WATCHER_BYTES_AT_LEAST,
        "the watchers were freed: {before} -> {after}"
    );
    // `set_*` now is a second completion: misuse, which panics (`misuse.rs`).
    let second =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sources[0].set_result(1)));
    let panic = second.unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("already completed"), "{message}");
}
