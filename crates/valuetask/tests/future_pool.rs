//! The pooled storage behind `ValueTask::new` / `#[value_task]`: blocks freed on another
//! thread come back (in batches through the shared lists) and the producing thread stops
//! allocating; every size class; futures too large for the pool are boxed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use common::{allocations_during, drive, yield_once, CountingAllocator};
use valuetask::ValueTask;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

/// A pending value task holding `N` bytes of state, counted in `live` until dropped.
fn pending<const N: usize>(live: &Arc<AtomicUsize>) -> ValueTask<'static, usize> {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    live.fetch_add(1, Ordering::SeqCst);
    let guard = Guard(live.clone());
    ValueTask::new(async move {
        let state = [1u8; N];
        yield_once().await;
        let _keep = &guard;
        state.iter().map(|&b| usize::from(b)).sum()
    })
}

#[test]
fn blocks_dropped_on_another_thread_return_and_the_producer_stops_allocating() {
    let live = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::sync_channel::<Vec<ValueTask<'static, usize>>>(1);
    let (back_tx, back_rx) = mpsc::channel::<()>();
    let consumer = std::thread::spawn(move || {
        for batch in rx {
            drop(batch);
            back_tx.send(()).unwrap();
        }
    });
    let mut rounds_allocs = Vec::new();
    for _ in 0..40 {
        let mut batch = Vec::with_capacity(300);
        let (_, allocs) = allocations_during(|| {
            for _ in 0..300 {
                batch.push(pending::<16>(&live));
            }
        });
        rounds_allocs.push(allocs);
        tx.send(batch).unwrap();
        back_rx.recv().unwrap();
    }
    drop(tx);
    consumer.join().unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 0, "every future dropped once");
    // The first rounds allocate blocks (and the guards' Arcs are counted separately: the
    // Arc clone is not an allocation); later rounds reuse blocks freed on the consumer.
    let late: usize = rounds_allocs[30..].iter().sum();
    assert!(
        late < rounds_allocs[0],
        "allocations per round should fall as blocks come back: {rounds_allocs:?}"
    );
}

/// Two producers and two consumers, none waiting for another: the producers start batches of
/// pending value tasks in three size classes and hand them over; the consumers finish half
/// of each batch and drop the other half still pending. Blocks are taken on one thread and
/// returned on another, concurrently, through the shared lists. Every future is dropped
/// exactly once, the finished ones yield their values, and the producers' allocations stay
/// within what the pool may hold without losing blocks: a block that did not come back
/// would have to be replaced by a new one, round after round.
#[test]
fn producers_and_consumers_on_four_threads_return_every_block() {
    const BATCH: usize = 24;
    type Batch = [ValueTask<'static, usize>; BATCH];
    let rounds = common::stress_rounds() * 4;
    let live = Arc::new(AtomicUsize::new(0));
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..2).map(|_| mpsc::sync_channel::<Batch>(2)).unzip();
    let producers: Vec<_> = txs
        .into_iter()
        .map(|tx| {
            let live = live.clone();
            std::thread::spawn(move || {
                let mut allocs = 0;
                for _ in 0..rounds {
                    // Classes of 128, 256 and 512 bytes (a 16-byte header and the future).
                    // Not 64: the test above, running meanwhile, counts that class's
                    // allocations, and this one would drain its shared list.
                    let (batch, n) = allocations_during(|| -> Batch {
                        std::array::from_fn(|i| match i % 3 {
                            0 => pending::<80>(&live),
                            1 => pending::<200>(&live),
                            _ => pending::<400>(&live),
                        })
                    });
                    allocs += n;
                    tx.send(batch).unwrap();
                }
                allocs
            })
        })
        .collect();
    let consumers: Vec<_> = rxs
        .into_iter()
        .map(|rx| {
            std::thread::spawn(move || {
                let mut sum = 0;
                for batch in rx {
                    for (i, vt) in batch.into_iter().enumerate() {
                        if i % 2 == 0 {
                            sum += drive(vt);
                        } else {
                            drop(vt);
                        }
                    }
                }
                sum
            })
        })
        .collect();
    let allocs: usize = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let sum: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(live.load(Ordering::SeqCst), 0, "every future dropped once");
    // The even indices finish: each of the three futures four times per batch.
    assert_eq!(sum, 2 * rounds * 4 * (80 + 200 + 400));
    // Blocks alive at once without a leak: four thread caches (16 KiB per class each), the
    // shared lists (64 KiB per class), and the batches in flight; doubled for the blocks that
    // the other tests of this binary take from the shared lists meanwhile. (It catches a
    // leak only over enough rounds: the default 1000 gives 192,000 futures against a bound
    // of about 4,000; the Miri and valgrind steps shrink the rounds and check other things.)
    let per_class = |size: usize| 4 * (16 * 1024 / size) + 64 * 1024 / size;
    let in_flight = 2 * 4 * BATCH;
    let bound = 2 * (per_class(128) + per_class(256) + per_class(512) + in_flight);
    assert!(
        allocs <= bound,
        "{allocs} allocations for {} pooled futures: blocks are not coming back (bound {bound})",
        2 * rounds * BATCH
    );
}

#[test]
fn every_size_class_and_oversized_futures_work() {
    let live = Arc::new(AtomicUsize::new(0));
    assert_eq!(drive(pending::<1>(&live)), 1);
    assert_eq!(drive(pending::<100>(&live)), 100);
    assert_eq!(drive(pending::<200>(&live)), 200);
    assert_eq!(drive(pending::<400>(&live)), 400);
    assert_eq!(drive(pending::<1000>(&live)), 1000);
    assert_eq!(drive(pending::<2000>(&live)), 2000);
    assert_eq!(drive(pending::<4000>(&live)), 4000);
    assert_eq!(drive(pending::<10_000>(&live)), 10_000, "boxed, not pooled");
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// A future of exactly `N` bytes (a byte array), pending at its first poll.
struct Exactly<const N: usize>([u8; N]);

impl<const N: usize> std::future::Future for Exactly<N> {
    type Output = u8;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u8> {
        if self.0[0] == 0 {
            self.0[0] = 1;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(self.0[N - 1])
    }
}

/// The allocations of a warm suspending call whose future is exactly `N` bytes.
fn warm_allocations_of<const N: usize>() -> usize {
    let call = || drive(ValueTask::new(Exactly([0; N])));
    call();
    allocations_during(call).1
}

/// The largest pooled future is 4,080 bytes (a 4 KiB block less its 16-byte header): one of
/// those is served by the warm pool, one of 4,081 bytes by a box of its own.
#[test]
fn futures_up_to_4080_bytes_are_pooled_and_larger_ones_boxed() {
    assert_eq!(warm_allocations_of::<4080>(), 0, "pooled");
    assert_eq!(warm_allocations_of::<4081>(), 1, "boxed");
    assert_eq!(warm_allocations_of::<2032>(), 0, "a 2 KiB block, full");
}

/// 16 is the largest alignment a pooled block gives: a local of that alignment kept across
/// a suspension is pooled (no allocation once warm) and aligned.
#[test]
fn a_future_aligned_to_16_is_pooled_and_aligned() {
    #[repr(align(16))]
    struct Aligned(u64);
    let call = || {
        drive(ValueTask::new(async {
            let kept = Aligned(7);
            yield_once().await;
            let at = std::hint::black_box(&kept);
            assert_eq!(
                std::ptr::from_ref(at).addr() % 16,
                0,
                "aligned in its block"
            );
            at.0
        }))
    };
    assert_eq!(call(), 7);
    assert_eq!(allocations_during(call), (7, 0));
    let wide = || {
        drive(ValueTask::new(async {
            yield_once().await;
            9_u128
        }))
    };
    wide();
    assert_eq!(allocations_during(wide), (9, 0), "a u128 output too");
}

#[test]
fn a_warm_pool_serves_new_suspending_value_tasks_without_allocating() {
    let live = Arc::new(AtomicUsize::new(0));
    drive(pending::<32>(&live));
    let (sum, allocs) = allocations_during(|| {
        (0..10_000)
            .map(|_| drive(pending::<32>(&live)))
            .sum::<usize>()
    });
    assert_eq!(sum, 10_000 * 32);
    assert_eq!(allocs, 0);
}

/// The payload of this file's deliberate panics.
const DELIBERATE: &str = "deliberate drop panic";

/// A future that is ready at its first poll and panics when dropped.
struct ReadyThenPanicsOnDrop;

impl std::future::Future for ReadyThenPanicsOnDrop {
    type Output = u8;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
        std::task::Poll::Ready(1)
    }
}

impl Drop for ReadyThenPanicsOnDrop {
    fn drop(&mut self) {
        std::panic::panic_any(DELIBERATE);
    }
}

/// `ValueTask::start` of a future that completes in its first poll and panics when dropped
/// returns the block anyway: after warm-up, a start allocates one more than the same panic,
/// caught and resumed, without the pool: the box that keeps the panic, which the drop raised
/// at the call, for the await (`tests/panics_at_the_call.rs`).
#[test]
fn a_started_future_ready_at_once_whose_drop_panics_returns_its_block() {
    common::quiet_about_panics_with(DELIBERATE);
    std::thread::spawn(|| {
        let start = || {
            let vt = ValueTask::start(ReadyThenPanicsOnDrop);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vt.get_result()));
            assert!(r.is_err(), "the drop's panic comes out where it is awaited");
        };
        let plain = || {
            let payload =
                std::panic::catch_unwind(|| drop(ReadyThenPanicsOnDrop)).expect_err("panics");
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                std::panic::resume_unwind(payload)
            }));
            assert!(r.is_err());
        };
        start(); // warm the thread's free list
        plain();
        let ((), with_pool) = allocations_during(|| (0..20).for_each(|_| start()));
        let ((), without) = allocations_during(|| (0..20).for_each(|_| plain()));
        assert_eq!(
            with_pool,
            without + 20,
            "a block was lost on each start (allocations with the pool vs the panic alone)"
        );
    })
    .join()
    .unwrap();
}

/// A future that panics in the first poll `ValueTask::start` gives it is dropped in its block
/// (what it holds is freed) and the block returns: after warm-up, a start allocates one more
/// than the same panic, caught and resumed, without the pool (the payload and the unwinding's
/// own allocations): the box that keeps the panic for the await
/// (`tests/panics_at_the_call.rs`).
#[test]
fn a_started_future_that_panics_in_its_first_poll_is_dropped_and_returns_its_block() {
    common::quiet_about_panics_with(DELIBERATE);
    std::thread::spawn(|| {
        let live = Arc::new(AtomicUsize::new(0));
        let start = || {
            let held = pending::<8>(&live); // counted in `live` until dropped
            let vt: ValueTask<'_, ()> = ValueTask::start(async move {
                let _held = held;
                std::panic::panic_any(DELIBERATE)
            });
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vt.get_result()));
            assert!(r.is_err(), "the poll's panic comes out where it is awaited");
        };
        let plain = || {
            let payload =
                std::panic::catch_unwind(|| std::panic::panic_any(DELIBERATE)).expect_err("panics");
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                std::panic::resume_unwind(payload)
            }));
            assert!(r.is_err());
        };
        start(); // warm the thread's free lists
        assert_eq!(live.load(Ordering::SeqCst), 0, "the future was dropped");
        plain();
        let ((), with_pool) = allocations_during(|| (0..20).for_each(|_| start()));
        let ((), without) = allocations_during(|| (0..20).for_each(|_| plain()));
        // `pending` itself allocates nothing once warm: its future is pooled too.
        assert_eq!(with_pool, without + 20, "a block was lost on each start");
        assert_eq!(live.load(Ordering::SeqCst), 0);
    })
    .join()
    .unwrap();
}

/// A value more aligned than any pooled block (16): a future or an output that holds one
/// goes in a box of its own, from every way a value task is made.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(align(64))]
struct Wide(u64);

#[valuetask::value_task]
trait WideStore: Send + Sync {
    async fn wide_local(&self, yields: bool) -> u64;
    async fn wide_output(&self, yields: bool) -> Wide;
}

struct WideImpl;

#[valuetask::value_task]
impl WideStore for WideImpl {
    async fn wide_local(&self, yields: bool) -> u64 {
        let kept = Wide(5);
        if yields {
            yield_once().await;
        }
        std::hint::black_box(&kept).0
    }
    async fn wide_output(&self, yields: bool) -> Wide {
        if yields {
            yield_once().await;
        }
        Wide(6)
    }
}

#[test]
fn over_aligned_futures_and_outputs_go_in_a_box_from_every_constructor() {
    for yields in [false, true] {
        let ready_or_not = move || async move {
            let kept = Wide(7);
            if yields {
                yield_once().await;
            }
            std::hint::black_box(&kept).0
        };
        assert_eq!(drive(ValueTask::new(ready_or_not())), 7);
        assert_eq!(drive(ValueTask::start(ready_or_not())), 7);
        assert_eq!(drive(ValueTask::boxed(ready_or_not())), 7);
        let output = move || async move {
            if yields {
                yield_once().await;
            }
            Wide(8)
        };
        assert_eq!(drive(ValueTask::new(output())), Wide(8));
        assert_eq!(drive(ValueTask::start(output())), Wide(8));
        assert_eq!(drive(ValueTask::boxed(output())), Wide(8));
        assert_eq!(drive(valuetask::LocalValueTask::start(output())), Wide(8));
        let store: &dyn WideStore = &WideImpl;
        assert_eq!(drive(store.wide_local(yields)), 5);
        assert_eq!(drive(store.wide_output(yields)), Wide(6));
    }
    assert_eq!(drive(ValueTask::from_result(Wide(9))), Wide(9));
    assert_eq!(ValueTask::from_result(Wide(10)).get_result(), Wide(10));
}

#[test]
fn over_aligned_results_of_tasks_and_pooled_sources() {
    let tcs = valuetask::TaskCompletionSource::new();
    let task = tcs.task();
    tcs.set_result(Wide(1));
    assert_eq!(drive(task.clone()), Ok(Wide(1)));
    assert_eq!(drive(ValueTask::from(task)), Ok(Wide(1)));
    assert_eq!(drive(valuetask::Task::from_result(Wide(2))), Ok(Wide(2)));
    let pool = valuetask::CompletionPool::new();
    for round in 0..3 {
        let (reply, completer) = pool.rent();
        completer.set_result(Wide(round));
        assert_eq!(drive(reply), Ok(Wide(round)));
    }
}
