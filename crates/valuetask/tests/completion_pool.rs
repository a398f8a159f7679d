//! `CompletionPool<T>`: rent → complete → await cycles, dropped halves, cross-thread
//! returns, bounds, and allocation counts.

mod common;

use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{allocations_during, now, poll_once, CountingAllocator, CountingWaker};
use valuetask::{CompletionPool, TaskError, TaskStatus};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

#[test]
fn completing_wakes_the_awaiter_with_the_value() {
    let pool = CompletionPool::new();
    let (mut vt, completer) = pool.rent();
    let (count, waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    assert!(!completer.is_closed());
    completer.set_result(5u32);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut vt, &waker), Poll::Ready(Ok(5)));
}

#[test]
fn errors_and_cancellation_reach_the_consumer() {
    let pool = CompletionPool::<u8>::new();
    let (vt, c) = pool.rent();
    c.set_error(TaskError::panicked("no"));
    assert_eq!(vt.get_result(), Err(TaskError::panicked("no")));
    let (vt, c) = pool.rent();
    c.set_canceled();
    assert_eq!(vt.get_result(), Err(TaskError::Canceled));
}

#[test]
fn set_outcome_forwards_a_value_or_an_error_to_a_waiting_consumer() {
    let pool = CompletionPool::<u8>::new();
    let (count, waker) = CountingWaker::new();
    for outcome in [Ok(4), Err(TaskError::panicked("refused"))] {
        let (mut vt, completer) = pool.rent();
        assert!(poll_once(&mut vt, &waker).is_pending());
        completer.set_outcome(outcome.clone());
        assert_eq!(poll_once(&mut vt, &waker), Poll::Ready(outcome));
    }
    assert_eq!(count.count(), 2, "each completion woke its consumer once");
}

#[test]
fn a_dropped_completer_completes_the_value_task_as_abandoned() {
    let pool = CompletionPool::<u8>::new();
    let (vt, completer) = pool.rent();
    let waiter = thread::spawn(move || vt.get_result());
    thread::sleep(Duration::from_millis(5));
    drop(completer);
    assert_eq!(waiter.join().unwrap(), Err(TaskError::Abandoned));
}

/// Slots come back when the completer finishes after its value task was dropped; returns
/// fill this thread's cache (32), then the shared list up to the pool's cap; the rest are
/// freed.
#[test]
fn a_dropped_value_task_closes_the_completer_and_the_slot_still_returns() {
    for (max_idle, shared) in [(8, 8), (100, 50 - 32)] {
        let pool = CompletionPool::<u8>::with_max_idle(max_idle);
        let rented: Vec<_> = (0..50).map(|_| pool.rent()).collect();
        let mut completers = Vec::new();
        for (vt, c) in rented {
            drop(vt);
            assert!(c.is_closed());
            completers.push(c);
        }
        assert_eq!(pool.idle(), 0, "the completers still hold the slots");
        for c in completers {
            c.set_result(1);
        }
        assert_eq!(
            pool.idle(),
            shared,
            "cap {max_idle}: 32 cached, the rest shared or freed"
        );
    }
}

/// `send`: `Ok` while the value task is there (it gets the value), the value back once it
/// is gone; the slot returns to the pool either way, and warm cycles allocate nothing.
#[test]
fn send_hands_the_value_back_when_the_value_task_is_gone() {
    let pool = CompletionPool::<String>::new();
    let (vt, completer) = pool.rent();
    assert_eq!(completer.send("one".to_string()), Ok(()));
    assert_eq!(vt.get_result().as_deref(), Ok("one"));

    let (mut vt, completer) = pool.rent();
    let (count, waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    assert_eq!(
        completer.send("two".to_string()),
        Ok(()),
        "a waiting consumer"
    );
    assert_eq!(count.count(), 1);
    assert_eq!(
        poll_once(&mut vt, &waker),
        Poll::Ready(Ok("two".to_string()))
    );

    let (vt, completer) = pool.rent();
    drop(vt);
    assert_eq!(
        completer.send("three".to_string()),
        Err("three".to_string())
    );

    // Every slot comes back (a slot lost by a `send` to a gone value task would be rented
    // anew: an allocation).
    let ((), allocs) = allocations_during(|| {
        for i in 0..1000u32 {
            let (vt, completer) = pool.rent();
            if i % 2 == 0 {
                drop(vt);
                assert!(completer.send(String::new()).is_err());
            } else {
                assert_eq!(completer.send(String::new()), Ok(()));
                assert_eq!(vt.get_result(), Ok(String::new()));
            }
        }
    });
    assert_eq!(allocs, 0);
}

/// `poll_closed`: pending while the value task is there, its waker woken once when the value
/// task is dropped, ready after; a second poll with the same task's waker keeps the waker it
/// has, one with another task's waker replaces it (the first is dropped, never woken).
#[test]
fn poll_closed_wakes_the_completer_when_the_value_task_is_dropped() {
    let pool = CompletionPool::<u8>::new();
    let (vt, mut completer) = pool.rent();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    let mut cx = std::task::Context::from_waker(&first_waker);
    assert!(completer.poll_closed(&mut cx).is_pending());
    assert!(completer.poll_closed(&mut cx).is_pending());
    assert_eq!(
        Arc::strong_count(&first),
        3,
        "one clone kept, not one a poll"
    );
    let mut cx = std::task::Context::from_waker(&second_waker);
    assert!(completer.poll_closed(&mut cx).is_pending());
    assert_eq!(
        Arc::strong_count(&first),
        2,
        "replaced: the first clone dropped"
    );
    drop(vt);
    assert_eq!((first.count(), second.count()), (0, 1));
    assert_eq!(
        Arc::strong_count(&second),
        2,
        "woken by value: the clone is gone"
    );
    assert!(completer.poll_closed(&mut cx).is_ready());
    assert_eq!(Arc::strong_count(&second), 2, "nothing kept once closed");
    assert_eq!(completer.send(1), Err(1));
}

/// A completer that waited for `closed` and then completes drops its kept waker (it does not
/// stay in the slot for the next rent), and the consumer gets the value; the fast path of
/// the next cycles is unaffected (0 allocations).
#[test]
fn completing_after_poll_closed_drops_the_kept_waker_and_delivers() {
    let pool = CompletionPool::<u32>::new();
    let (count, waker) = CountingWaker::new();
    let mut cx = std::task::Context::from_waker(&waker);
    for complete in [
        (|c: valuetask::Completer<u32>| c.set_result(7)) as fn(valuetask::Completer<u32>),
        |c| assert_eq!(c.send(7), Ok(())),
        |c| c.set_outcome(Ok(7)),
    ] {
        // The consumer waiting (the completion's general path) or not yet polled (its
        // fast path, which must not publish past the kept waker).
        for consumer_waits in [true, false] {
            let (mut vt, mut completer) = pool.rent();
            if consumer_waits {
                assert!(poll_once(&mut vt, &waker).is_pending());
            }
            assert!(completer.poll_closed(&mut cx).is_pending());
            let kept = 1 + usize::from(consumer_waits);
            assert_eq!(
                Arc::strong_count(&count),
                2 + kept,
                "the completer's clone kept"
            );
            complete(completer);
            assert_eq!(
                Arc::strong_count(&count),
                2,
                "the clones taken at completion"
            );
            assert_eq!(poll_once(&mut vt, &waker), Poll::Ready(Ok(7)));
        }
    }
    let (vt, mut completer) = pool.rent();
    assert!(completer.poll_closed(&mut cx).is_pending());
    drop(completer);
    assert_eq!(vt.get_result(), Err(TaskError::Abandoned));
    assert_eq!(
        Arc::strong_count(&count),
        2,
        "an abandoning completer drops it too"
    );
    assert_eq!(
        count.count(),
        3,
        "the consumer was woken each time, the completer never"
    );

    let noop = std::task::Context::from_waker(Waker::noop());
    let mut noop = noop;
    let (_, allocs) = allocations_during(|| {
        for i in 0..1000u32 {
            let (vt, mut completer) = pool.rent();
            assert!(completer.poll_closed(&mut noop).is_pending());
            if i % 2 == 0 {
                drop(vt);
                assert!(completer.poll_closed(&mut noop).is_ready());
                assert_eq!(completer.send(i), Err(i));
            } else {
                completer.set_result(i);
                assert_eq!(vt.get_result(), Ok(i));
            }
        }
    });
    assert_eq!(allocs, 0);
}

/// `closed().await` on a runtime while the value task is dropped on another thread, many
/// times: every wait ends (a lost wake-up would leave one hanging, caught by the bound).
#[test]
fn closed_ends_when_the_value_task_is_dropped_on_another_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let pool = CompletionPool::<u64>::new();
    let finished = common::finishes_within(Duration::from_secs(60), move || {
        rt.block_on(async {
            for round in 0..2000u64 {
                let (vt, mut completer) = pool.rent();
                let dropper = thread::spawn(move || drop(vt));
                completer.closed().await;
                assert!(completer.is_closed());
                assert_eq!(completer.send(round), Err(round));
                dropper.join().unwrap();
            }
        });
    });
    assert!(finished, "a closed() wait was never woken");
}

/// `send` racing the value task's drop on another thread: the value is either handed back
/// or dropped with the slot's result, once.
#[test]
fn send_racing_the_value_tasks_drop_drops_the_value_once() {
    let pool = CompletionPool::<Arc<()>>::new();
    let marker = Arc::new(());
    for _ in 0..2000 {
        let (vt, completer) = pool.rent();
        let dropper = thread::spawn(move || drop(vt));
        let returned = completer.send(marker.clone());
        dropper.join().unwrap();
        drop(returned);
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}

/// A slot returned by a thread-local destructor that runs after the thread's cache was
/// flushed goes to the shared list: nothing is cached in a cache that will not flush again.
#[test]
fn a_slot_returned_after_the_thread_cache_flushed_goes_to_the_shared_list() {
    use std::cell::RefCell;
    use valuetask::{Completer, ValueTask};
    type Pair = (ValueTask<'static, Result<u8, TaskError>>, Completer<u8>);
    struct ReturnOnDrop(Option<Pair>);
    impl Drop for ReturnOnDrop {
        fn drop(&mut self) {
            if let Some((reply, completer)) = self.0.take() {
                completer.set_result(2);
                assert_eq!(reply.get_result(), Ok(2));
            }
        }
    }
    thread_local!(static HELD: RefCell<ReturnOnDrop> = const { RefCell::new(ReturnOnDrop(None)) });
    let pool = CompletionPool::<u8>::new();
    let worker = pool.clone();
    thread::spawn(move || {
        // Registered first, so destroyed after the cache's exit guard, which the first
        // return below registers (thread-locals are destroyed last-registered-first on
        // glibc, macOS and std's fallback list; Rust does not promise it, and in the other
        // order this test passes without reaching the path it checks).
        HELD.with(|_| ());
        let (reply, completer) = worker.rent();
        HELD.with(|h| h.borrow_mut().0 = Some(worker.rent()));
        completer.set_result(1);
        assert_eq!(reply.get_result(), Ok(1)); // cached in this thread
    })
    .join()
    .unwrap();
    assert_eq!(
        pool.idle(),
        2,
        "the flushed slot and the one returned after the flush"
    );
}

#[test]
fn a_value_task_dropped_after_completion_returns_the_slot() {
    let pool = CompletionPool::<String>::new();
    let (vt, c) = pool.rent();
    c.set_result("unread".into());
    drop(vt);
    let (vt, c) = pool.rent();
    c.set_result("read".into());
    assert_eq!(vt.get_result().as_deref(), Ok("read"));
}

#[test]
fn as_task_completes_when_the_completer_runs_on_another_thread() {
    let pool = CompletionPool::new();
    let (vt, completer) = pool.rent();
    let task = vt.as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    thread::spawn(move || completer.set_result(3u64))
        .join()
        .unwrap();
    assert_eq!(task.try_result(), Some(Ok(&Ok(3))));
}

#[test]
fn ten_thousand_cycles_on_a_warm_pool_allocate_nothing() {
    let pool = CompletionPool::<u64>::new();
    for _ in 0..4 {
        let (vt, c) = pool.rent();
        c.set_result(0);
        now(vt).unwrap();
    }
    let (sum, allocs) = allocations_during(|| {
        let mut sum = 0;
        for i in 0..10_000u64 {
            let (vt, c) = pool.rent();
            c.set_result(i);
            sum += now(vt).unwrap();
        }
        sum
    });
    assert_eq!(allocs, 0);
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
}

#[test]
fn pending_awaits_with_a_waker_allocate_nothing_in_steady_state() {
    let pool = CompletionPool::<u64>::new();
    let (count, waker) = CountingWaker::new();
    let cycle = |i: u64| {
        let (mut vt, c) = pool.rent();
        assert!(poll_once(&mut vt, &waker).is_pending());
        c.set_result(i);
        match poll_once(&mut vt, &waker) {
            Poll::Ready(v) => v.unwrap(),
            Poll::Pending => panic!("completed"),
        }
    };
    cycle(0);
    let (_, allocs) = allocations_during(|| (1..1000).map(cycle).sum::<u64>());
    assert_eq!(allocs, 0);
    assert_eq!(count.count(), 1000);
}

#[test]
fn slots_completed_and_consumed_on_other_threads_come_back_to_the_pool() {
    let pool = CompletionPool::<u64>::new();
    let (tx, rx) = std::sync::mpsc::channel::<valuetask::Completer<u64>>();
    let producer = thread::spawn(move || {
        for (i, c) in rx.into_iter().enumerate() {
            c.set_result(i as u64);
        }
    });
    for round in 0..4u64 {
        let value_tasks: Vec<_> = (0..500)
            .map(|_| {
                let (vt, c) = pool.rent();
                tx.send(c).unwrap();
                vt
            })
            .collect();
        // Consume on two other threads: their returns go to their caches or the shared list.
        let mut value_tasks = value_tasks;
        let second = value_tasks.split_off(250);
        let first = value_tasks;
        let sums: Vec<u64> = [first, second]
            .into_iter()
            .map(|chunk| {
                thread::spawn(move || {
                    chunk
                        .into_iter()
                        .map(|vt| vt.get_result().unwrap())
                        .sum::<u64>()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let base = round * 500;
        assert_eq!(sums.iter().sum::<u64>(), (base..base + 500).sum::<u64>());
        // The consumer threads exited: their caches flushed into the shared list. Every
        // slot is back (this thread returns none, so its own cache holds none), and no round
        // needed more than the first one made.
        assert_eq!(pool.idle(), 500);
    }
    drop(tx);
    producer.join().unwrap();
}

#[test]
fn a_pool_dropped_with_slots_in_flight_frees_them_when_they_finish() {
    let pool = CompletionPool::<Arc<()>>::new();
    let marker = Arc::new(());
    let (vt, c) = pool.rent();
    drop(pool);
    c.set_result(marker.clone());
    assert_eq!(vt.get_result().map(|m| Arc::ptr_eq(&m, &marker)), Ok(true));
    assert_eq!(Arc::strong_count(&marker), 1);
}

/// The completion wakes a bridge that takes the result and frees the slot (its pool is
/// closed) while the completer's call is still on the stack: nothing touches the slot after
/// the wake (Miri checks the accesses).
#[test]
fn a_bridged_slot_of_a_closed_pool_is_freed_inside_the_completing_call() {
    let pool = CompletionPool::<Arc<()>>::new();
    let marker = Arc::new(());
    let (vt, c) = pool.rent();
    let task = vt.as_task();
    drop(pool);
    c.set_result(marker.clone());
    let completed = task
        .try_result()
        .map(|m| Arc::ptr_eq(m.unwrap().as_ref().unwrap(), &marker));
    assert_eq!(completed, Some(true));
    drop(task);
    assert_eq!(Arc::strong_count(&marker), 1);
}

#[test]
fn value_task_and_completer_are_send_and_debug() {
    fn assert_send<S: Send>(_: &S) {}
    let pool = CompletionPool::<u8>::new();
    let (vt, c) = pool.rent();
    assert_send(&vt);
    assert_send(&c);
    assert!(format!("{vt:?}").contains("Pooled"));
    assert!(format!("{c:?}").contains("Completer"));
    assert!(format!("{pool:?}").contains("CompletionPool"));
    let _ = Waker::noop();
}

/// A completer dropped while its thread unwinds abandons the value task and wakes its awaiter;
/// an awaiter's waker that panics then must not turn the unwinding into an abort.
#[test]
fn a_completer_dropped_during_a_panic_with_a_panicking_waker_does_not_abort() {
    let pool = CompletionPool::<u8>::new();
    let (mut vt, completer) = pool.rent();
    let boom = common::waker_that_panics_on_wake();
    assert!(poll_once(&mut vt, &boom).is_pending());
    let producer = thread::spawn(move || {
        let _completer = completer;
        panic!("the producer failed");
    });
    assert!(producer.join().is_err(), "the producer's own panic");
    assert!(matches!(
        poll_once(&mut vt, Waker::noop()),
        Poll::Ready(Err(TaskError::Abandoned))
    ));
}

/// The other side: a pending value task dropped during a panic wakes its completer's
/// `poll_closed` waker, which panics; that panic is discarded (resuming it there aborted the
/// process), and the completer sees the consumer gone and recycles the slot.
#[test]
fn a_value_task_dropped_during_a_panic_with_a_panicking_closed_waker_does_not_abort() {
    let pool = CompletionPool::<u8>::new();
    let (vt, mut completer) = pool.rent();
    let boom = common::waker_that_panics_on_wake();
    assert!(completer
        .poll_closed(&mut Context::from_waker(&boom))
        .is_pending());
    let consumer = thread::spawn(move || {
        let _vt = vt;
        panic!("the consumer failed");
    });
    assert!(consumer.join().is_err(), "the consumer's own panic");
    assert!(completer.is_closed(), "the consumer is gone");
    assert!(completer
        .poll_closed(&mut Context::from_waker(Waker::noop()))
        .is_ready());
    assert_eq!(completer.send(1), Err(1), "nobody will see it");
    // Outside an unwind, the waker's panic comes out of the drop, as before.
    let (vt, mut completer) = pool.rent();
    assert!(completer
        .poll_closed(&mut Context::from_waker(&boom))
        .is_pending());
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(vt)));
    assert!(dropped.is_err(), "the closed waker's panic");
    assert!(completer.is_closed());
}

/// A completion that lands while the consumer's poll clones its waker, then a clone whose
/// drop panics: the poll panics with the result still in the slot, and the next poll takes it,
/// once (with the result taken first, the slot would never recycle and the next poll would
/// read a result already moved out).
#[test]
fn a_waker_clone_that_panics_when_dropped_leaves_a_landed_result_to_the_next_poll() {
    let pool = CompletionPool::<Arc<()>>::new();
    let (mut vt, completer) = pool.rent();
    let value = Arc::new(());
    let sent = Arc::clone(&value);
    let waker = common::waker_whose_clone_runs_and_whose_clones_panic_on_drop(move || {
        completer.set_result(sent)
    });
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_once(&mut vt, &waker);
    }));
    assert!(polled.is_err(), "the clone's drop panics");
    match poll_once(&mut vt, Waker::noop()) {
        Poll::Ready(Ok(got)) => assert!(Arc::ptr_eq(&got, &value)),
        other => panic!("expected the value, got {other:?}"),
    }
    drop(vt);
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "delivered once, nothing left in the slot"
    );
    let (_, allocations) = allocations_during(|| drop(pool.rent()));
    assert_eq!(allocations, 0, "the slot came back to this thread's cache");
}

/// A bridge woken from a thread-local destructor (a `Completer` dropped there, after the
/// bridge's own thread-locals are gone) completes its task instead of aborting the process.
#[test]
fn a_completer_dropped_in_a_thread_local_destructor_completes_its_bridged_task() {
    use std::cell::RefCell;
    use valuetask::Completer;
    thread_local!(static HELD: RefCell<Option<Completer<u8>>> = const { RefCell::new(None) });
    let pool = CompletionPool::<u8>::new();
    let task = thread::spawn(move || {
        let (reply, completer) = pool.rent();
        HELD.with(|h| *h.borrow_mut() = Some(completer)); // destroyed after what follows
        let (other, other_completer) = pool.rent();
        let _other = other.as_task();
        other_completer.set_result(0); // a bridge run: its thread-locals come to life
        reply.as_task()
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(
        task.wait_timeout(Duration::from_secs(5)),
        Some(Ok(&Err(TaskError::Abandoned)))
    );
}

/// Blocking on a value task inside a thread-local destructor, after the thread's blocking
/// waker was destroyed, still waits and returns the result.
#[test]
fn get_result_works_inside_a_thread_local_destructor() {
    use std::cell::RefCell;
    use std::sync::mpsc;
    use valuetask::ValueTask;
    type Reply = ValueTask<'static, Result<u8, TaskError>>;
    struct FlushOnDrop(Option<(Reply, mpsc::Sender<u8>)>);
    impl Drop for FlushOnDrop {
        fn drop(&mut self) {
            if let Some((reply, sent)) = self.0.take() {
                sent.send(reply.get_result().unwrap()).unwrap();
            }
        }
    }
    thread_local!(static HELD: RefCell<FlushOnDrop> = const { RefCell::new(FlushOnDrop(None)) });
    let pool = CompletionPool::<u8>::new();
    let (sent, received) = mpsc::channel();
    let worker = thread::spawn(move || {
        let (reply, completer) = pool.rent();
        HELD.with(|h| h.borrow_mut().0 = Some((reply, sent)));
        // One blocking wait now: the thread's blocking waker comes to life after `HELD`, so
        // it is destroyed before it.
        let (first, first_completer) = pool.rent();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            first_completer.set_result(1);
        });
        assert_eq!(first.get_result(), Ok(1));
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            completer.set_result(2);
        });
    });
    worker.join().expect("the thread exits cleanly");
    assert_eq!(received.recv_timeout(Duration::from_secs(5)), Ok(2));
}

/// `Completer<T>` carries no bounds of its own (as `oneshot::Sender<T>`): a generic type
/// holding one needs none either.
#[test]
fn a_generic_request_type_holds_a_completer_without_bounds() {
    struct Request<T> {
        reply: valuetask::Completer<T>,
    }
    impl<T> std::fmt::Debug for Request<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Request")
                .field("reply", &self.reply)
                .finish()
        }
    }
    let pool = CompletionPool::<String>::new();
    let (reply, completer) = pool.rent();
    let request = Request { reply: completer };
    assert!(format!("{request:?}").contains("closed: false"));
    request.reply.set_result("done".to_owned());
    assert_eq!(reply.get_result(), Ok("done".to_owned()));
}

/// Threads rent from two pools of different types in turn (so their caches switch pools all
/// the time), complete here or on a producer thread, drop either half early, and replace a
/// pool while its slots are in flight. Every value is dropped exactly once and every await
/// ends. Rounds: `VALUETASK_STRESS_ROUNDS` (default 1000 per thread).
#[test]
fn stress_two_pools_switching_caches_across_threads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    struct Counted(u64);
    impl Counted {
        fn new(v: u64) -> Self {
            LIVE.fetch_add(1, Ordering::SeqCst);
            Counted(v)
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    let rounds = common::stress_rounds() as u64;
    let counted_pool = Arc::new(Mutex::new(CompletionPool::<Counted>::new()));
    let text_pool = CompletionPool::<String>::new();
    let (tx, rx) = std::sync::mpsc::channel::<(valuetask::Completer<Counted>, u64)>();
    let producer = thread::spawn(move || {
        for (completer, v) in rx {
            completer.set_result(Counted::new(v));
        }
    });
    let workers: Vec<_> = (0..3u64)
        .map(|id| {
            let counted_pool = Arc::clone(&counted_pool);
            let text_pool = text_pool.clone();
            let tx = tx.clone();
            thread::spawn(move || {
                let mut seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                for round in 0..rounds {
                    let (counted, completer) = counted_pool.lock().unwrap().rent();
                    let (text, text_completer) = text_pool.rent();
                    match next() % 4 {
                        0 => completer.set_result(Counted::new(round)),
                        1 => tx.send((completer, round)).unwrap(),
                        2 => drop(completer),
                        _ => {
                            drop(counted);
                            completer.set_result(Counted::new(round));
                            text_completer.set_result(round.to_string());
                            assert_eq!(text.get_result(), Ok(round.to_string()));
                            continue;
                        }
                    }
                    text_completer.set_result(round.to_string());
                    match counted.get_result() {
                        Ok(c) => assert_eq!(c.0, round),
                        Err(e) => assert_eq!(e, TaskError::Abandoned),
                    }
                    assert_eq!(text.get_result(), Ok(round.to_string()));
                    if next() % 64 == 0 {
                        // Slots of the old pool are still cached or in flight.
                        *counted_pool.lock().unwrap() = CompletionPool::new();
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    drop(tx);
    producer.join().unwrap();
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        0,
        "every value dropped exactly once"
    );
}

/// A result nobody takes is dropped when its slot is recycled; if that drop panics, the slot
/// is still kept: the next rent on this thread reuses it instead of allocating. Both orders:
/// the value task dropped after completion, and the completer completing after the value
/// task is gone.
#[test]
fn an_untaken_result_whose_drop_panics_still_returns_the_slot() {
    common::quiet_about_panics_with("deliberate drop panic");
    thread::spawn(|| {
        let pool = CompletionPool::<common::PanicsOnDrop>::new();
        for consumer_first in [false, true] {
            let (vt, completer) = pool.rent();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if consumer_first {
                    drop(vt);
                    completer.set_result(common::PanicsOnDrop("deliberate drop panic"));
                } else {
                    completer.set_result(common::PanicsOnDrop("deliberate drop panic"));
                    drop(vt);
                }
            }));
            assert!(r.is_err(), "the result's drop panic comes out");
            let (rented, allocs) = allocations_during(|| pool.rent());
            assert_eq!(
                allocs, 0,
                "the slot was lost (consumer first: {consumer_first})"
            );
            drop(rented);
        }
    })
    .join()
    .unwrap();
}

/// A closed pool's slot is freed by whichever side finishes last, while the other may still
/// be returning from its call on the slot: the completer's publishing CAS lets the polling
/// consumer take the result and free the slot before the completer's `set_result` returns,
/// and the completer of a slot whose consumer left frees it inside its own call. Nothing may
/// touch the slot after the step that hands it over (Miri checks the accesses, across many
/// interleavings with its seeds).
#[test]
fn a_closed_pools_slots_are_freed_while_the_other_side_returns() {
    let rounds = if cfg!(miri) {
        20
    } else {
        common::stress_rounds()
    };
    for round in 0..rounds as u64 {
        let pool = CompletionPool::<(u128, u64)>::new();
        let (mut vt, completer) = pool.rent();
        drop(pool);
        let consumer_leaves = round % 3 == 2;
        let producer = thread::spawn(move || completer.set_result((u128::from(round), round)));
        if consumer_leaves {
            drop(vt);
        } else {
            let value = loop {
                if let Poll::Ready(value) = poll_once(&mut vt, Waker::noop()) {
                    break value;
                }
                thread::yield_now();
            };
            assert_eq!(value, Ok((u128::from(round), round)));
        }
        producer.join().unwrap();
    }
}
