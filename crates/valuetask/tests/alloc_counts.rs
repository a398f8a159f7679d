//! Allocation counts of the core paths (deterministic, so asserted).

mod common;

use common::{allocations_during, now, CountingAllocator};
use valuetask::{Task, TaskCompletionSource, ValueTask};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

#[test]
fn value_task_from_result_created_and_awaited_allocates_nothing() {
    fn ready(x: u64) -> ValueTask<'static, u64> {
        ValueTask::from_result(x)
    }
    let (v, allocs) = allocations_during(|| now(async { ready(41).await + 1 }));
    assert_eq!(v, 42);
    assert_eq!(allocs, 0);
}

#[test]
fn task_completed_never_allocates() {
    let (task, allocs) = allocations_during(|| {
        let t = Task::completed();
        assert!(t.is_completed_successfully());
        let r = now(t.clone());
        assert_eq!(r, Ok(()));
        t
    });
    assert_eq!(allocs, 0);
    assert!(task.ptr_eq(&Task::completed()), "one static task");
}

/// A task's cell is a block of this thread's pooled storage: once the pool is warm, a task
/// allocates nothing, whichever handle drops last.
#[test]
fn task_from_result_awaited_three_times_allocates_nothing_once_the_pool_is_warm() {
    drop(Task::from_result(1u64)); // warm: the cell's block goes back to this thread's pool
    let (sum, allocs) = allocations_during(|| {
        let t = Task::from_result(5u64);
        let a = now(std::future::IntoFuture::into_future(&t)).unwrap();
        let b = now(t.clone()).unwrap();
        let c = now(t).unwrap();
        a + b + c
    });
    assert_eq!(sum, 15);
    assert_eq!(allocs, 0);
}

#[test]
fn task_from_result_of_the_results_dotnet_caches_allocates_nothing() {
    let ((), allocs) = allocations_during(|| {
        for _ in 0..1_000 {
            assert_eq!(now(Task::from_result(true)), Ok(true));
            assert_eq!(now(Task::from_result(false)), Ok(false));
            for value in -1..=8_i32 {
                let task = Task::from_result(value);
                assert_eq!(task.try_result(), Some(Ok(&value)));
                assert_eq!(now(task.clone()), Ok(value));
            }
            assert_eq!(now(Task::from_result(())), Ok(()));
        }
    });
    assert_eq!(allocs, 0);
    assert_eq!(
        Task::from_result(7_i32),
        Task::from_result(7_i32),
        "one task per value"
    );
    assert_ne!(Task::from_result(true), Task::from_result(false));
    assert_eq!(Task::from_result(()), Task::completed());
}

#[test]
fn task_from_result_of_any_other_value_is_its_own_task() {
    fn own<T: Clone + PartialEq + Send + Sync + 'static>(value: T) -> bool {
        let (a, b) = (Task::from_result(value.clone()), Task::from_result(value));
        assert!(a.is_completed_successfully());
        !a.ptr_eq(&b)
    }
    // Just outside the cached `i32` range, and the same numbers or bits in other types.
    assert!(own(-2_i32));
    assert!(own(9_i32));
    assert!(own(i32::MIN));
    assert!(own(i32::MAX));
    assert!(own(0_u32));
    assert!(own(1_i64));
    assert!(own(1_u8));
    assert!(own(Some(true)));
    #[derive(Debug, Clone, PartialEq)]
    struct Unit;
    assert!(own(Unit));
    // A borrowed value's type carries a lifetime, which the type test ignores: still its own.
    let local = String::from("not cached");
    let task = Task::from_result(local.as_str());
    assert!(!task.ptr_eq(&Task::from_result(local.as_str())));
    assert_eq!(task.try_result(), Some(Ok(&"not cached")));
    // And the cached ones are shared.
    assert!(Task::from_result(true).ptr_eq(&Task::from_result(true)));
}

#[test]
fn cached_tasks_are_shared_by_threads_without_ever_being_freed() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                for round in 0..10_000_i32 {
                    let task = Task::from_result(round % 10 - 1);
                    let again = task.clone();
                    drop(task);
                    assert_eq!(now(again), Ok(round % 10 - 1), "thread {i}");
                    let shared = Task::from_result(round % 2 == 0);
                    assert_eq!(shared.wait(), Ok(&(round % 2 == 0)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    for value in -1..=8_i32 {
        assert_eq!(Task::from_result(value).try_result(), Some(Ok(&value)));
    }
}

#[test]
fn completion_source_set_and_awaited_allocates_nothing_once_the_pool_is_warm() {
    drop(TaskCompletionSource::<u64>::new()); // warm, as above
    let (v, allocs) = allocations_during(|| {
        let tcs = TaskCompletionSource::new();
        let t = tcs.task();
        tcs.set_result(9u64);
        drop(tcs);
        now(t).unwrap()
    });
    assert_eq!(v, 9);
    assert_eq!(allocs, 0);
}

/// The task goes into a small record in this thread's pooled storage: nothing once the pool
/// is warm.
#[test]
fn value_task_from_a_task_allocates_nothing_more() {
    let t = Task::from_result(3u64);
    assert_eq!(now(ValueTask::from(t.clone())), Ok(3)); // warms this thread's pool
    let ((), allocs) = allocations_during(|| {
        let vt = ValueTask::from(t.clone());
        assert_eq!(now(vt), Ok(3));
    });
    assert_eq!(allocs, 0);
}

/// Two words, so a call returns a value task of a small `T` in two registers, not through
/// memory.
#[test]
fn value_task_of_a_small_value_is_two_words() {
    use std::mem::size_of;
    let word = size_of::<usize>();
    assert_eq!(size_of::<ValueTask<'_, u64>>(), 2 * word);
    assert_eq!(size_of::<ValueTask<'_, ()>>(), 2 * word);
    assert_eq!(size_of::<ValueTask<'_, Option<Box<u8>>>>(), 2 * word);
    assert_eq!(size_of::<ValueTask<'_, std::io::Result<usize>>>(), 2 * word);
    assert!(size_of::<Task<u64>>() <= 2 * word);
}

/// Waking every awaiter keeps the emptied waiter slab for the thread's next task awaited by
/// many, and the cell's block goes back to the pool, so round after round a task allocates
/// nothing.
#[test]
fn tasks_awaited_by_many_reuse_the_waiter_slab_round_after_round() {
    use std::future::IntoFuture;
    let (_, waker) = common::CountingWaker::new();
    let round = || {
        let tcs = TaskCompletionSource::<u64>::new();
        let task = tcs.task();
        let mut awaiters: Vec<_> = (0..100).map(|_| (&task).into_future()).collect();
        for awaiter in &mut awaiters {
            assert!(common::poll_once(awaiter, &waker).is_pending());
        }
        tcs.set_result(3);
        let sum: u64 = awaiters
            .iter_mut()
            .map(|a| match common::poll_once(a, &waker) {
                std::task::Poll::Ready(v) => v.unwrap(),
                std::task::Poll::Pending => panic!("woken and complete"),
            })
            .sum();
        assert_eq!(sum, 300);
    };
    round(); // the first round allocates the slab (and grows it), then keeps it
    let ((), allocs) = allocations_during(round);
    assert_eq!(
        allocs, 1,
        "this test's Vec alone: the cell's block and the slab were reused"
    );
}

/// Awaiters of a task that never completes, dropped and made again round after round, each
/// polled with one of two wakers (a re-registration replaces the kept one): their slots
/// (inline, the slab's halves and the overflow past them) are freed and reused, so once the
/// first rounds have grown the structures, a round allocates nothing: nothing accumulates in a
/// long-running service whose awaiters come and go.
#[test]
fn awaiters_of_a_pending_task_coming_and_going_reuse_their_slots() {
    use std::future::IntoFuture;
    let (_, first) = common::CountingWaker::new();
    let (_, second) = common::CountingWaker::new();
    let tcs = TaskCompletionSource::<u64>::new();
    let task = tcs.task();
    // Past the inline slot and both halves of the slab: the overflow holds the rest.
    let mut awaiters = Vec::with_capacity(300);
    let round = |awaiters: &mut Vec<_>| {
        awaiters.clear();
        awaiters.extend((0..300).map(|_| (&task).into_future()));
        for (i, awaiter) in awaiters.iter_mut().enumerate() {
            let (waker, other) = if i % 2 == 0 {
                (&first, &second)
            } else {
                (&second, &first)
            };
            assert!(common::poll_once(awaiter, waker).is_pending());
            assert!(common::poll_once(awaiter, other).is_pending());
        }
    };
    // The first rounds grow the structures (the second, dropping the first's awaiters,
    // starts the overflow shards' lists of freed slots).
    for _ in 0..3 {
        round(&mut awaiters);
    }
    let ((), allocs) = allocations_during(|| {
        for _ in 0..200 {
            round(&mut awaiters);
        }
    });
    assert_eq!(
        allocs, 0,
        "200 rounds of 300 awaiters reused the first round's slots"
    );
    drop(awaiters);
    tcs.set_result(1);
    assert_eq!(task.wait(), Ok(&1));
}

#[test]
fn blocking_waits_that_time_out_leave_no_registration_behind() {
    // Each timed-out wait registers the thread's waker, then withdraws it: were the
    // registrations kept, the 130th would open the overflow and allocate.
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    assert!(task.wait_timeout(std::time::Duration::ZERO).is_none());
    let ((), allocs) = allocations_during(|| {
        for _ in 0..1_000 {
            assert!(task.wait_timeout(std::time::Duration::ZERO).is_none());
        }
    });
    assert_eq!(allocs, 0);
    tcs.set_result(5);
    assert_eq!(task.wait(), Ok(&5));
}

/// `Task::delay(Duration::MAX)`, the usual "forever": a task that never completes and starts
/// nothing (no runtime task, no timer) costs its cell alone, a block of this thread's pool,
/// given back with its last handle.
#[cfg(feature = "tokio")]
#[test]
fn an_endless_delay_allocates_nothing_once_the_pool_is_warm() {
    use std::time::Duration;
    // The global runtime starts on first use. Its task's cell may go back to a worker's pool
    // (whichever thread drops the last handle), so this thread's pool is warmed on its own.
    assert_eq!(Task::delay(Duration::from_millis(1)).wait(), Ok(&()));
    drop(TaskCompletionSource::<()>::new());
    let (endless, allocs) = allocations_during(|| Task::delay(Duration::MAX));
    assert!(!endless.is_completed());
    assert_eq!(
        allocs, 0,
        "the task's cell is pooled, and nothing runs for it"
    );
}

/// `Task::run` costs what `tokio::spawn` costs for the same future: one allocation, the
/// runtime's task, of the same size. Its driver adds one word to the future (the source),
/// which tokio's 128-byte steps absorb for a small future; the task's own cell is a block of
/// this thread's pool.
#[cfg(feature = "tokio")]
#[test]
fn task_run_allocates_what_tokio_spawn_allocates() {
    use common::allocations_and_bytes_during;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        // Warm the pool (the cell's block comes back here: one thread) and the runtime.
        assert_eq!(Task::run(async { 1u64 }).await, Ok(1));
        assert_eq!(tokio::spawn(async { 1u64 }).await.ok(), Some(1));
        for captured in [1u64, 2, 3] {
            let (spawned, spawn_allocs, spawn_bytes) =
                allocations_and_bytes_during(|| tokio::spawn(async move { captured + 1 }));
            let (run, run_allocs, run_bytes) =
                allocations_and_bytes_during(|| Task::run(async move { captured + 1 }));
            assert_eq!(spawned.await.ok(), Some(captured + 1));
            assert_eq!(run.await, Ok(captured + 1));
            assert_eq!(
                (run_allocs, run_bytes),
                (spawn_allocs, spawn_bytes),
                "Task::run (allocations, bytes) against tokio::spawn's"
            );
            assert_eq!(spawn_allocs, 1, "tokio::spawn allocates its task");
        }
    });
}

/// `map` and `map_err` of a complete value task: mapped at once, no storage.
#[test]
fn mapping_a_ready_value_task_allocates_nothing() {
    let ((), allocs) = allocations_during(|| {
        let mapped = ValueTask::from_result(Err::<u8, u8>(4)).map_err(u32::from);
        assert_eq!(mapped.try_get().ok(), Some(Err(4u32)));
        assert_eq!(
            ValueTask::from_result(20u64).map(|n| n + 1).get_result(),
            21
        );
        let local = valuetask::LocalValueTask::from_result(Err::<u8, u8>(4)).map_err(u32::from);
        assert!(local.map(|r| r.is_err()).get_result());
    });
    assert_eq!(allocs, 0);
}

/// Continuations of a task that never completes, each canceled by its token before it ran,
/// let go of the antecedent inside `cancel()`: round after round, each allocates what one
/// does (a bridge left in the antecedent's waiter list would grow it past its slab into the
/// overflow, which allocates as it grows).
#[cfg(feature = "tokio")]
#[test]
fn continuations_canceled_by_their_token_leave_nothing_on_a_pending_antecedent() {
    use valuetask::{ContinuationOptions, ContinueOn};
    let never = TaskCompletionSource::<u8>::new();
    let antecedent = never.task();
    let round = || {
        let token = tokio_util::sync::CancellationToken::new();
        let next = antecedent.continue_with_cancellation(
            ContinuationOptions::default().on(ContinueOn::Synchronously),
            token.clone(),
            |_| 1_u8,
        );
        token.cancel();
        assert!(next.is_canceled());
    };
    (0..3).for_each(|_| round()); // the pools warm
    let ((), one) = allocations_during(round);
    let ((), many) = allocations_during(|| (0..500).for_each(|_| round()));
    assert_eq!(many, 500 * one, "no continuation left registered");
}
