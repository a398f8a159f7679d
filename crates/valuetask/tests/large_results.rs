//! Value tasks of results too large for their two words: one size for every value task, the
//! result kept where it was produced (a pooled block, a source's slot, a task's cell) and
//! moved out once; dropped exactly once whether taken, pending, dropped unpolled, or when
//! its drop panics; no allocation in steady state.

mod common;

use std::future::Future;
use std::mem::size_of;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::{allocations_during, CountingAllocator};
use valuetask::{
    CompletionPool, ManualResetValueTaskSourceCore, Task, TaskCompletionSource, TaskError,
    ValueTask,
};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

/// A result of `N` bytes of payload that counts its drops.
struct Big<const N: usize> {
    bytes: [u8; N],
    drops: Arc<AtomicUsize>,
}

impl<const N: usize> Big<N> {
    fn new(seed: u8, drops: &Arc<AtomicUsize>) -> Self {
        let mut bytes = [0u8; N];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(31) ^ seed;
        }
        Big {
            bytes,
            drops: Arc::clone(drops),
        }
    }

    fn is_from(&self, seed: u8) -> bool {
        self.bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i as u8).wrapping_mul(31) ^ seed)
    }
}

impl<const N: usize> Drop for Big<N> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Suspends once, waking its waker first (a yield).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn every_value_task_is_two_words_whatever_its_result() {
    let two_words = 2 * size_of::<usize>();
    assert_eq!(size_of::<ValueTask<'_, ()>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, u64>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, [u64; 2]>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, [u8; 24]>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, [u8; 64]>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, [u8; 256]>>(), two_words);
    assert_eq!(size_of::<ValueTask<'_, [u8; 2048]>>(), two_words);
    assert_eq!(
        size_of::<ValueTask<'_, Result<String, TaskError>>>(),
        two_words
    );
}

/// `Send` and `Unpin` for every size (as for a small result); `Sync` for none, which the
/// compile-fail case `value_task_is_invariant_in_its_value_and_not_sync` checks.
#[test]
fn value_tasks_of_every_size_are_send_and_unpin() {
    fn send_unpin<T: Send + Unpin>() {}
    send_unpin::<ValueTask<'static, u64>>();
    send_unpin::<ValueTask<'static, [u8; 24]>>();
    send_unpin::<ValueTask<'static, [u8; 256]>>();
    send_unpin::<ValueTask<'static, [u8; 2048]>>();
    send_unpin::<ValueTask<'static, Big<256>>>();
}

#[test]
fn a_large_ready_result_is_taken_once_and_allocates_nothing_once_the_pool_is_warm() {
    let drops = counter();
    drop(ValueTask::from_result(Big::<256>::new(0, &drops)));
    assert_eq!(drops.load(Ordering::Relaxed), 1, "dropped unpolled: once");

    let (value, allocations) = allocations_during(|| {
        let mut vt = ValueTask::from_result(Big::<256>::new(1, &drops));
        assert!(vt.is_completed());
        let Poll::Ready(value) = poll(&mut vt) else {
            panic!("a ready value task is ready")
        };
        drop(vt);
        value
    });
    assert_eq!(allocations, 0);
    assert!(value.is_from(1));
    assert_eq!(
        drops.load(Ordering::Relaxed),
        1,
        "taken, not dropped with its block"
    );
    drop(value);
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

#[test]
fn a_result_past_the_pools_largest_block_is_boxed_and_taken_once() {
    let drops = counter();
    let vt = ValueTask::from_result(Big::<5000>::new(2, &drops));
    assert_eq!(
        format!("{vt:?}"),
        "ValueTask { backing: \"Ready\", is_completed: true }"
    );
    let value = vt.get_result();
    assert!(value.is_from(2));
    drop(value);
    drop(ValueTask::from_result(Big::<5000>::new(3, &drops)));
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

#[test]
fn a_body_that_completes_at_the_call_keeps_its_large_result_in_its_block() {
    let drops = counter();
    let d = Arc::clone(&drops);
    let mut vt = ValueTask::start(async move { Big::<256>::new(4, &d) });
    assert!(vt.is_completed(), "ran at the call");
    let Poll::Ready(value) = poll(&mut vt) else {
        panic!("ready")
    };
    assert!(value.is_from(4));
    drop(vt);
    drop(value);
    assert_eq!(drops.load(Ordering::Relaxed), 1);

    let d = Arc::clone(&drops);
    drop(ValueTask::start(async move { Big::<256>::new(5, &d) }));
    assert_eq!(drops.load(Ordering::Relaxed), 2, "dropped unpolled: once");
}

/// A large result ready at the call, from `from_result` or a body: its value task says it
/// is ready, and `preserve` keeps it where it is (no task made for it).
#[test]
fn a_large_ready_result_is_shown_ready_and_preserved_in_place() {
    const READY: &str = "ValueTask { backing: \"Ready\", is_completed: true }";
    let given = ValueTask::from_result(Ok::<_, TaskError>([7u64; 32]));
    assert_eq!(format!("{given:?}"), READY);
    let kept = given.preserve();
    assert_eq!(format!("{kept:?}"), READY, "not made a task");
    assert_eq!(kept.get_result(), Ok([7; 32]));
    let body = ValueTask::start(async { Ok::<_, TaskError>([8u64; 32]) });
    assert_eq!(format!("{body:?}"), READY);
    let kept = body.preserve();
    assert_eq!(format!("{kept:?}"), READY, "not made a task");
    assert_eq!(kept.get_result(), Ok([8; 32]));
    // A future too large for the pool, boxed, whose output stays in its box.
    let suspend = std::hint::black_box(false);
    let boxed = ValueTask::start(async move {
        let pad = std::hint::black_box([9u8; 5000]);
        if suspend {
            yield_once().await;
        }
        Ok::<_, TaskError>([u64::from(pad[4999]); 32])
    });
    assert_eq!(format!("{boxed:?}"), READY);
    let kept = boxed.preserve();
    assert_eq!(format!("{kept:?}"), READY, "not made a task");
    assert_eq!(kept.get_result(), Ok([9; 32]));
}

#[test]
fn a_suspending_body_gives_its_large_result_once_or_drops_it_once() {
    let drops = counter();
    let d = Arc::clone(&drops);
    let vt = ValueTask::start(async move {
        yield_once().await;
        Big::<256>::new(6, &d)
    });
    assert!(!vt.is_completed());
    let value = common::drive(vt);
    assert!(value.is_from(6));
    drop(value);
    assert_eq!(drops.load(Ordering::Relaxed), 1);

    // Suspended at the call, polled once (the first real poll hands the yield over), then
    // dropped: the result was never made.
    let d = Arc::clone(&drops);
    let mut vt = ValueTask::start(async move {
        yield_once().await;
        Big::<256>::new(7, &d)
    });
    assert!(poll(&mut vt).is_pending());
    drop(vt);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

/// A suspending body's large result is returned by its block's poll straight into the
/// poller's place; the value task keeps the finished body's block until it is dropped (as a
/// box is kept until the boxed future drops), so the body's captured state is dropped then,
/// once, and the block goes back to the pool.
#[test]
fn a_finished_body_is_dropped_with_its_value_task_and_its_block_reused() {
    struct Captured(Arc<AtomicUsize>);
    impl Drop for Captured {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let results = counter();
    let captured = counter();
    let start = || {
        let (r, c) = (Arc::clone(&results), Captured(Arc::clone(&captured)));
        ValueTask::start(async move {
            let c = c;
            yield_once().await;
            let _keep = &c;
            Big::<256>::new(4, &r)
        })
    };
    drop(common::drive(start())); // warm this thread's pool
    let ((), allocations) = allocations_during(|| {
        for round in 1..=3 {
            let mut vt = start();
            assert!(poll(&mut vt).is_pending(), "the yield reaches the caller");
            let Poll::Ready(value) = poll(&mut vt) else {
                panic!("ready at the second poll")
            };
            assert!(value.is_from(4));
            assert!(vt.is_completed(), "yielded its value: completed");
            drop(vt);
            assert_eq!(
                captured.load(Ordering::Relaxed),
                1 + round,
                "the body, once"
            );
            drop(value);
            assert_eq!(
                results.load(Ordering::Relaxed),
                1 + round,
                "the result, once"
            );
        }
    });
    assert_eq!(allocations, 0, "the block went back and was reused");

    common::quiet_about_panics_with("already yielded its value");
    let mut vt = start();
    while poll(&mut vt).is_pending() {}
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(&mut vt)));
    assert!(again.is_err(), "polled again after its value: a panic");
    assert!(format!("{vt:?}").contains("Done"), "{vt:?}");
    drop(vt);
    assert_eq!(captured.load(Ordering::Relaxed), 5, "the body, once");
}

/// A hand-written future that holds a resource until its `Drop`: with a result the value
/// task holds in its words, it is dropped in the poll that completes it; with a large result
/// (returned straight from its block) it is dropped with its value task, as a plain future
/// awaited by reference is dropped with its owner (`pool.rs`).
#[test]
fn a_completed_future_is_dropped_in_its_last_poll_or_with_its_value_task() {
    /// Pending once (waking), then ready; counts its drops.
    struct Holds<T> {
        dropped: Arc<AtomicUsize>,
        polled: bool,
        result: fn() -> T,
    }
    impl<T> Unpin for Holds<T> {}
    impl<T> Future for Holds<T> {
        type Output = T;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            if std::mem::replace(&mut self.polled, true) {
                return Poll::Ready((self.result)());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    impl<T> Drop for Holds<T> {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    let small = counter();
    let mut vt = ValueTask::new(Holds {
        dropped: Arc::clone(&small),
        polled: false,
        result: || 7u64,
    });
    while poll(&mut vt).is_pending() {}
    assert_eq!(small.load(Ordering::Relaxed), 1, "dropped in its last poll");
    drop(vt);
    assert_eq!(small.load(Ordering::Relaxed), 1, "once");

    let large = counter();
    let mut vt = ValueTask::new(Holds {
        dropped: Arc::clone(&large),
        polled: false,
        result: || [3u8; 256],
    });
    let value = loop {
        if let Poll::Ready(value) = poll(&mut vt) {
            break value;
        }
    };
    assert_eq!(value, [3; 256]);
    assert_eq!(large.load(Ordering::Relaxed), 0, "kept with its value task");
    drop(vt);
    assert_eq!(large.load(Ordering::Relaxed), 1, "dropped with it, once");
}

/// A body that registered the first poll's waker and completes in the caller's first poll
/// holds its result for the next poll (the yield reaches the caller): taken once then, or
/// dropped once with the value task.
#[test]
fn a_result_held_for_the_next_poll_is_taken_or_dropped_once() {
    for take in [true, false] {
        let drops = counter();
        let d = Arc::clone(&drops);
        let mut polls = 0;
        let mut vt = ValueTask::start(std::future::poll_fn(move |cx| {
            polls += 1;
            if polls == 1 {
                drop(cx.waker().clone()); // registered: a clone of the first poll's waker
                Poll::Pending
            } else {
                Poll::Ready(Big::<256>::new(8, &d))
            }
        }));
        assert!(poll(&mut vt).is_pending(), "the yield reaches the caller");
        if take {
            let Poll::Ready(value) = poll(&mut vt) else {
                panic!("held for this poll")
            };
            assert!(value.is_from(8));
            drop(value);
        }
        drop(vt);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "take = {take}");
    }
}

#[test]
fn a_large_result_whose_drop_panics_is_dropped_once_and_its_block_given_back() {
    struct PanicsOnDrop([u8; 256], Arc<AtomicUsize>);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            // Counted only if the result is whole when dropped.
            let whole = self.0 == [9; 256];
            self.1.fetch_add(usize::from(whole), Ordering::Relaxed);
            panic!("the result's drop panics");
        }
    }
    common::quiet_about_panics_with("the result's drop panics");
    let drops = counter();
    // Warm this thread's pool, then the block must come back each time (no allocation).
    drop(ValueTask::from_result([0u8; 256]));
    let ((), allocations) = allocations_during(|| {
        for _ in 0..3 {
            let vt = ValueTask::from_result(PanicsOnDrop([9; 256], Arc::clone(&drops)));
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(vt)));
            assert!(dropped.is_err(), "the drop's panic propagates");
        }
    });
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    // What the three panics allocate themselves (their payloads), measured the same way.
    let ((), panics_alone) = allocations_during(|| {
        for _ in 0..3 {
            let panicked = std::panic::catch_unwind(|| {
                let _unwinding = PanicsOnDrop([9; 256], Arc::clone(&drops));
            });
            assert!(panicked.is_err());
        }
    });
    assert_eq!(allocations, panics_alone, "the block went back each time");
}

#[test]
fn sources_and_tasks_of_large_results_give_them_once() {
    let drops = counter();

    let core = ManualResetValueTaskSourceCore::<Big<256>>::new();
    let vt = core.value_task();
    core.set_result(Big::new(10, &drops));
    assert!(vt.get_result().expect("set").is_from(10));

    let tcs = TaskCompletionSource::<Arc<Big<256>>>::new();
    let vt = ValueTask::from(tcs.task());
    tcs.set_result(Arc::new(Big::new(11, &drops)));
    assert!(vt.get_result().expect("set").is_from(11));

    let pool = CompletionPool::<Big<256>>::new();
    let (vt, completer) = pool.rent();
    let producer = std::thread::spawn(move || completer.set_result(Big::new(12, &drops)));
    let value = vt.get_result().expect("set on another thread");
    producer.join().unwrap();
    assert!(value.is_from(12));
    let drops = Arc::clone(&value.drops);
    drop(value);
    drop(tcs);
    assert_eq!(drops.load(Ordering::Relaxed), 3);

    let task = Task::from_result([13u8; 300]);
    assert_eq!(ValueTask::from(task).get_result(), Ok([13u8; 300]));
}

/// The pool's largest block holds a result of up to 4,064 bytes (aligned to 8; 4,071 bytes
/// aligned to 1): it is held with a flag and its block's class beside it, after the block's
/// 16-byte header. Past that, a box per call.
#[test]
fn results_up_to_4064_bytes_are_pooled_and_larger_ones_boxed() {
    fn allocations_of<const N: usize>() -> usize {
        let _warm = ValueTask::from_result([7u64; N]).get_result();
        let (sum, allocations) = allocations_during(|| {
            ValueTask::from_result([7u64; N])
                .get_result()
                .iter()
                .sum::<u64>()
        });
        assert_eq!(sum, 7 * N as u64);
        allocations
    }
    assert_eq!(allocations_of::<{ 4064 / 8 }>(), 0, "pooled");
    assert_eq!(allocations_of::<{ 4064 / 8 + 1 }>(), 1, "boxed");
    let (value, allocations) =
        allocations_during(|| ValueTask::from_result([1u8; 4071]).get_result());
    assert_eq!((value[4070], allocations), (1, 0), "pooled");
    let (value, allocations) =
        allocations_during(|| ValueTask::from_result([1u8; 4072]).get_result());
    assert_eq!((value[4071], allocations), (1, 1), "boxed");
}
