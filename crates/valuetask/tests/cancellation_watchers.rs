//! `TaskCompletionSource::cancel_on` watches its token with no runtime, and leaves nothing
//! behind once the task completes first or its sources are dropped: live heap bytes are
//! counted around many sources (deterministic, so asserted).
#![cfg(feature = "tokio")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use tokio_util::sync::CancellationToken;
use valuetask::{Task, TaskCompletionSource, TaskError};

/// Live heap bytes of the whole process.
struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to `System` unchanged; counting touches one atomic and never allocates.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: LiveBytes = LiveBytes;

const SOURCES: usize = 2_000;

/// One test in this binary: the count is process-wide.
#[test]
fn watchers_cancel_inside_cancel_and_leave_nothing_behind() {
    let token = CancellationToken::new();
    // Warm up whatever is allocated once (thread-locals, the token's tree).
    for _ in 0..10 {
        let tcs = TaskCompletionSource::<u8>::new();
        tcs.cancel_on(token.clone());
        tcs.set_result(1);
    }
    let before = LIVE.load(Relaxed);
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
    let grown = LIVE.load(Relaxed) - before;
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
    let before = LIVE.load(Relaxed);
    token.cancel();
    assert!(
        tasks.iter().all(Task::is_canceled),
        "canceled inside cancel()"
    );
    assert!(sources.iter().all(|s| s.try_set_result(1).is_err()));
    let after = LIVE.load(Relaxed);
    assert!(
        after <= before,
        "the watchers were freed: {before} -> {after}"
    );
}
