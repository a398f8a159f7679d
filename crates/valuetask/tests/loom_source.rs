//! Loom models of `ManualResetValueTaskSourceCore` (set vs poll, set vs reset, poll vs reset,
//! set vs drop, two completers, set vs a waiting value task's withdrawal, reset vs it, reset vs a completion with a waiting consumer and vs a consumer taking the result, a withdrawal vs another value task's poll) and of a `CompletionPool` slot completed and consumed on different threads, and its completer waiting for `closed` (with one waker or a new one).
//! Run with
//! `RUSTFLAGS="--cfg valuetask_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_source`.
#![cfg(valuetask_loom)]

use std::sync::Arc;
use std::task::Poll;

use loom::thread;
use valuetask::{CompletionPool, ManualResetValueTaskSourceCore, TaskError, ValueTask};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    builder.check(f);
}

#[test]
fn set_races_a_polling_consumer() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<u32>::new());
        let producer = {
            let core = core.clone();
            thread::spawn(move || core.set_result(1))
        };
        let v = loom::future::block_on(ValueTask::from_arc_source(core.clone(), 0));
        assert_eq!(v, Ok(1));
        producer.join().unwrap();
    });
}

#[test]
fn set_races_re_registration_with_a_new_waker() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<u32>::new());
        let producer = {
            let core = core.clone();
            thread::spawn(move || core.set_result(5))
        };
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match core.poll_result(0, &mut cx) {
            Poll::Ready(v) => assert_eq!(v, Ok(5)),
            // `block_on`'s waker is another: the lock is released to clone it, then retaken.
            Poll::Pending => assert_eq!(
                loom::future::block_on(ValueTask::from_arc_source(core.clone(), 0)),
                Ok(5)
            ),
        }
        producer.join().unwrap();
    });
}

/// Two completers race (`try_set_result`, as `misuse.rs` says races safely), one on another
/// thread, one here before awaiting: exactly one wins, the loser gets its value back, the
/// consumer sees the winner's, and each value is dropped once.
#[test]
fn two_try_set_completers_race_and_one_wins() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<Arc<u8>>::new());
        let (first, second) = (Arc::new(1_u8), Arc::new(2_u8));
        let other = {
            let (core, value) = (core.clone(), first.clone());
            thread::spawn(move || core.try_set_result(value).err())
        };
        let lost_here = core.try_set_result(second.clone()).err();
        let got =
            loom::future::block_on(ValueTask::from_arc_source(core.clone(), 0)).expect("a value");
        let lost = match (other.join().unwrap(), lost_here) {
            (None, Some(lost)) => {
                assert!(Arc::ptr_eq(&got, &first) && Arc::ptr_eq(&lost, &second));
                lost
            }
            (Some(lost), None) => {
                assert!(Arc::ptr_eq(&got, &second) && Arc::ptr_eq(&lost, &first));
                lost
            }
            other => panic!("exactly one completer wins: {other:?}"),
        };
        drop((got, lost, core));
        assert_eq!(Arc::strong_count(&first), 1, "dropped once");
        assert_eq!(Arc::strong_count(&second), 1, "dropped once");
    });
}

#[test]
fn reset_after_consumption_races_nothing_and_the_next_generation_works() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<u32>::new());
        let producer = {
            let core = core.clone();
            thread::spawn(move || {
                core.set_result(1);
                // Second generation: wait until the consumer reset, then complete it.
                while core.version() != 1 {
                    thread::yield_now();
                }
                core.set_result(2);
            })
        };
        assert_eq!(
            loom::future::block_on(ValueTask::from_arc_source(core.clone(), 0)),
            Ok(1)
        );
        core.reset();
        assert_eq!(
            loom::future::block_on(ValueTask::from_arc_source(core.clone(), 1)),
            Ok(2)
        );
        producer.join().unwrap();
    });
}

#[test]
fn reset_races_a_registering_consumer_which_then_sees_a_stale_token_or_the_old_result() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<u32>::new());
        let consumer = {
            let core = core.clone();
            thread::spawn(move || {
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    core.poll_result(0, &mut cx)
                }))
                .map_err(|_| ())
            })
        };
        core.reset();
        match consumer.join().unwrap() {
            Ok(Poll::Pending) => {} // registered before the reset
            Err(()) => {}           // saw version 1: the stale-token panic
            Ok(Poll::Ready(r)) => panic!("nothing was set, got {r:?}"),
        }
        assert_eq!(core.version(), 1);
    });
}

#[test]
fn set_races_reset_and_lands_in_one_generation_whose_result_is_dropped_once() {
    set_races_reset(|core, marker| assert!(core.try_set_result(marker).is_ok()));
}

/// As above, through `set_result`'s inlined fast path (one CAS from an idle state), which
/// falls back to the general path when the reset holds the lock or moved the version.
#[test]
fn set_result_fast_path_races_reset_and_lands_in_one_generation() {
    set_races_reset(|core, marker| core.set_result(marker));
}

fn set_races_reset(set: fn(&ManualResetValueTaskSourceCore<Arc<()>>, Arc<()>)) {
    model(move || {
        let marker = Arc::new(());
        let core = Arc::new(ManualResetValueTaskSourceCore::<Arc<()>>::new());
        let producer = {
            let (core, marker) = (core.clone(), marker.clone());
            // Each generation accepts one result: the producer's is never refused.
            thread::spawn(move || set(&core, marker))
        };
        core.reset();
        producer.join().unwrap();
        assert_eq!(core.version(), 1);
        landed_in_one_generation_and_dropped_once(core, &marker);
    });
}

/// After a `set` that raced the reset into generation 1: the result (`marker`'s clone) landed
/// in one generation, dropped by the reset if generation 0 (untaken), held by the core if
/// generation 1, and dropped once when the core goes.
fn landed_in_one_generation_and_dropped_once<C>(core: C, marker: &Arc<()>)
where
    C: std::ops::Deref<Target = ManualResetValueTaskSourceCore<Arc<()>>>,
{
    match core.status(1) {
        // Set in generation 0: the reset dropped the untaken result.
        valuetask::SourceStatus::Pending => assert_eq!(Arc::strong_count(marker), 1),
        // Set in generation 1: the core holds it.
        valuetask::SourceStatus::Succeeded => assert_eq!(Arc::strong_count(marker), 2),
        other => panic!("unexpected status {other:?}"),
    }
    drop(core);
    assert_eq!(Arc::strong_count(marker), 1);
}

/// The core's last reference is loom's `Arc`, so its drop is a step loom schedules: the
/// core is freed on either thread, before or after the producer's `set_result` (a std `Arc`'s
/// drop is no step, so it always ran first, and the producer's thread always freed it).
#[test]
fn dropping_a_completed_core_from_another_thread_drops_the_result_once() {
    model(|| {
        let marker = Arc::new(());
        let core = loom::sync::Arc::new(ManualResetValueTaskSourceCore::<Arc<()>>::new());
        let producer = {
            let (core, marker) = (core.clone(), marker.clone());
            thread::spawn(move || core.set_result(marker))
        };
        thread::yield_now();
        drop(core);
        producer.join().unwrap();
        assert_eq!(Arc::strong_count(&marker), 1);
    });
}

#[test]
fn pooled_slot_completed_on_one_thread_and_consumed_on_another() {
    model(|| {
        let pool = CompletionPool::<u32>::new();
        let (vt, completer) = pool.rent();
        let producer = thread::spawn(move || completer.set_result(9));
        assert_eq!(loom::future::block_on(vt), Ok(9));
        producer.join().unwrap();
        // The slot went back and is reusable.
        let (vt, completer) = pool.rent();
        completer.set_result(10);
        assert_eq!(loom::future::block_on(vt), Ok(10));
    });
}

/// The value task of a slot rented from a pool of markers.
type MarkerTask = ValueTask<'static, Result<Arc<()>, TaskError>>;

/// A pool, a counted marker, a rented slot's value task, and a thread completing the slot
/// with a clone of the marker (so its count shows whether the result was dropped once).
fn rent_and_complete_with_a_marker_elsewhere() -> (
    CompletionPool<Arc<()>>,
    Arc<()>,
    MarkerTask,
    thread::JoinHandle<()>,
) {
    let pool = CompletionPool::<Arc<()>>::new();
    let marker = Arc::new(());
    let (vt, completer) = pool.rent();
    let producer = {
        let marker = marker.clone();
        thread::spawn(move || completer.set_result(marker))
    };
    (pool, marker, vt, producer)
}

/// The completer writes the result's words before its publishing CAS, without the lock; a
/// consumer registering its waker meanwhile makes that CAS fail, and the general path
/// writes the result again. Either way the consumer gets the one value, and it is dropped
/// once (a value with a count: neither leaked nor dropped twice).
#[test]
fn pooled_completion_racing_a_registering_consumer_delivers_one_value_dropped_once() {
    model(|| {
        let (_pool, marker, vt, producer) = rent_and_complete_with_a_marker_elsewhere();
        let got = loom::future::block_on(vt).expect("completed with a value");
        assert!(Arc::ptr_eq(&got, &marker));
        producer.join().unwrap();
        drop(got);
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "delivered once, dropped once"
        );
    });
}

#[test]
fn pooled_consumer_dropped_while_the_completer_completes() {
    model(|| {
        let (_pool, marker, vt, producer) = rent_and_complete_with_a_marker_elsewhere();
        drop(vt);
        producer.join().unwrap();
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "the result was dropped exactly once"
        );
    });
}

/// `send` racing the consumer's drop: the value comes back (`Err`) exactly when the
/// consumer was gone before the claim, and is dropped once either way; the slot is recycled.
#[test]
fn pooled_send_races_the_consumers_drop_and_the_value_is_kept_or_dropped_once() {
    model(|| {
        let pool = CompletionPool::<Arc<()>>::new();
        let marker = Arc::new(());
        let (vt, completer) = pool.rent();
        let producer = {
            let marker = marker.clone();
            thread::spawn(move || completer.send(marker).err())
        };
        drop(vt);
        let returned = producer.join().unwrap();
        if let Some(value) = &returned {
            assert!(Arc::ptr_eq(value, &marker), "the value given comes back");
        }
        drop(returned);
        assert_eq!(Arc::strong_count(&marker), 1, "dropped exactly once");
        assert_eq!(pool.idle(), 1, "the slot went back to the pool");
    });
}

#[test]
fn pooled_completer_dropped_abandons_the_awaiter() {
    model(|| {
        let pool = CompletionPool::<u32>::new();
        let (vt, completer) = pool.rent();
        let producer = thread::spawn(move || drop(completer));
        assert_eq!(loom::future::block_on(vt), Err(TaskError::Abandoned));
        producer.join().unwrap();
    });
}

/// A source whose first `poll_result` wakes its waker and returns `Pending` without touching
/// the core: the bridge sees a wake while it is running (`NOTIFIED`) and must poll again
/// rather than go idle. Were that wake lost, nothing would ever register with the core, and
/// the model would deadlock.
struct SelfWaking {
    core: ManualResetValueTaskSourceCore<u32>,
    woke: loom::sync::atomic::AtomicBool,
}

impl valuetask::ValueTaskSource<Result<u32, TaskError>> for SelfWaking {
    fn status(&self, token: u32) -> valuetask::SourceStatus {
        self.core.status(token)
    }
    fn poll_result(
        &self,
        token: u32,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<u32, TaskError>> {
        if !self.woke.swap(true, loom::sync::atomic::Ordering::AcqRel) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.core.poll_result(token, cx)
    }
}

#[test]
fn bridge_woken_while_running_polls_again_and_completes() {
    model(|| {
        let source = Arc::new(SelfWaking {
            core: ManualResetValueTaskSourceCore::new(),
            woke: loom::sync::atomic::AtomicBool::new(false),
        });
        let producer = {
            let source = source.clone();
            thread::spawn(move || source.core.set_result(4))
        };
        let task = ValueTask::from_arc_source(source, 0).as_task();
        assert_eq!(loom::future::block_on(task), Ok(Ok(4)));
        producer.join().unwrap();
    });
}

/// A waker that does nothing: its `Arc`'s count tells whether the core still holds a clone.
struct Flag;

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {}
}

/// A value task of a borrowed core (its record, with its consumer id) polled once, then
/// dropped while another thread completes the core: its registration is withdrawn (the
/// waker's clone dropped) or consumed by the completion, never both, never neither; the
/// untaken result stays for the generation: another value task takes it with no
/// second-consumer panic, whether the drop withdrew before or after the completion.
#[test]
fn a_waiting_value_task_withdrawn_while_the_core_completes() {
    model(|| {
        let marker = Arc::new(());
        let core = loom::sync::Arc::new(ManualResetValueTaskSourceCore::<Arc<()>>::new());
        let started = loom::sync::Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let producer = {
            let (core, marker, started) = (core.clone(), marker.clone(), started.clone());
            thread::spawn(move || {
                started.store(true, std::sync::atomic::Ordering::SeqCst);
                core.set_result(marker);
            })
        };
        let flag = Arc::new(Flag);
        let taken = {
            let waker = std::task::Waker::from(flag.clone());
            let mut cx = std::task::Context::from_waker(&waker);
            let mut vt = core.value_task();
            let polled = std::future::Future::poll(std::pin::Pin::new(&mut vt), &mut cx);
            if let Poll::Ready(output) = &polled {
                assert!(output.is_ok());
            }
            polled.is_ready()
        };
        if !started.load(std::sync::atomic::Ordering::SeqCst) {
            // Nothing completed yet: only the drop's withdrawal can have released the clone.
            assert_eq!(Arc::strong_count(&flag), 1, "withdrawn by the drop");
        }
        producer.join().unwrap();
        assert_eq!(
            Arc::strong_count(&flag),
            1,
            "the core keeps no clone of the waker"
        );
        if !taken {
            // Another value task, its record elsewhere (not passing as the dropped one).
            let other = ManualResetValueTaskSourceCore::<Arc<()>>::new();
            let occupying = other.value_task();
            let again = core.value_task().get_result();
            assert_eq!(again.map(|m| Arc::ptr_eq(&m, &marker)), Ok(true));
            drop(occupying);
        }
        core.reset();
        assert_eq!(Arc::strong_count(&marker), 1, "the result was dropped once");
        let next = core.value_task();
        core.set_result(marker.clone());
        assert_eq!(
            next.get_result().map(|m| Arc::ptr_eq(&m, &marker)),
            Ok(true)
        );
    });
}

/// A waiting value task of one generation dropped on one thread while the owner resets the
/// core on another and a value task of the next generation registers and is completed: the
/// old one's withdrawal, whenever it lands, touches nothing of the new generation (its
/// registration stays and is woken, no second-consumer panic), and the old waker is let go.
#[test]
fn a_waiting_value_task_dropped_while_the_owner_resets_leaves_the_next_generation_alone() {
    model(|| {
        let core = loom::sync::Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
        let (old_wakes, old_waker) = Wakes::new();
        let mut old = core.value_task();
        let polled = std::future::Future::poll(
            std::pin::Pin::new(&mut old),
            &mut std::task::Context::from_waker(&old_waker),
        );
        assert!(polled.is_pending());
        drop(old_waker);
        let owner = {
            let core = core.clone();
            thread::spawn(move || {
                core.reset();
                let (wakes, waker) = Wakes::new();
                let mut cx = std::task::Context::from_waker(&waker);
                let mut next = core.value_task();
                let first = std::future::Future::poll(std::pin::Pin::new(&mut next), &mut cx);
                core.set_result(5);
                if first.is_pending() {
                    assert_eq!(wakes.count(), 1, "the new generation's waiter was woken");
                    let again = std::future::Future::poll(std::pin::Pin::new(&mut next), &mut cx);
                    assert!(matches!(again, Poll::Ready(Ok(5))));
                } else {
                    assert!(matches!(first, Poll::Ready(Ok(5))));
                }
            })
        };
        drop(old);
        owner.join().unwrap();
        assert!(
            old_wakes.count() <= 1,
            "the reset wakes the old waiter at most once"
        );
        assert_eq!(
            Arc::strong_count(&old_wakes),
            1,
            "the old waker is not kept"
        );
    });
}

/// A waker that counts its wake-ups; its `Arc`'s count tells whether a clone is still kept.
struct Wakes(std::sync::atomic::AtomicUsize);

impl Wakes {
    /// The counter and a waker of it.
    fn new() -> (Arc<Self>, std::task::Waker) {
        let wakes = Arc::new(Wakes(std::sync::atomic::AtomicUsize::new(0)));
        let waker = std::task::Waker::from(wakes.clone());
        (wakes, waker)
    }

    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::task::Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `Completer::poll_closed` racing the value task's drop on another thread: a poll that
/// returned `Pending` has its waker woken (no lost wake-up), the next poll is ready, and no
/// clone is left kept; `send` then hands the value back and the slot returns to the pool.
#[test]
fn pooled_poll_closed_races_the_consumers_drop_and_is_woken() {
    model(|| {
        let pool = CompletionPool::<u32>::new();
        let (vt, mut completer) = pool.rent();
        let consumer = thread::spawn(move || drop(vt));
        let (wakes, waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&waker);
        let first = completer.poll_closed(&mut cx);
        consumer.join().unwrap();
        let woken = wakes.count();
        match first {
            Poll::Ready(()) => assert_eq!(woken, 0, "ready at once: nothing kept to wake"),
            Poll::Pending => assert_eq!(woken, 1, "the kept waker was woken once"),
        }
        assert!(completer.poll_closed(&mut cx).is_ready());
        assert_eq!(Arc::strong_count(&wakes), 2, "no clone kept");
        assert_eq!(completer.send(3), Err(3));
        assert_eq!(pool.idle(), 1, "the slot went back to the pool");
    });
}

/// A completer that waited for `closed` completes while the consumer, on another thread,
/// awaits the value: the consumer gets it, the completer's kept waker is dropped once by the
/// completion (not woken, not left in the slot), the value dropped once.
#[test]
fn pooled_completion_after_poll_closed_races_the_awaiting_consumer() {
    model(|| {
        let pool = CompletionPool::<Arc<()>>::new();
        let marker = Arc::new(());
        let (vt, mut completer) = pool.rent();
        let (wakes, waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(
            completer.poll_closed(&mut cx).is_pending(),
            "the consumer is there"
        );
        let consumer = thread::spawn(move || loom::future::block_on(vt));
        completer.set_result(marker.clone());
        let got = consumer.join().unwrap().expect("completed with a value");
        assert!(Arc::ptr_eq(&got, &marker));
        drop(got);
        assert_eq!(wakes.count(), 0);
        assert_eq!(Arc::strong_count(&wakes), 2, "the kept clone was dropped");
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "delivered once, dropped once"
        );
    });
}

/// How a completer that waited for `closed` ends while its consumer is dropped on another
/// thread.
#[derive(Clone, Copy)]
enum Ending {
    SetResult,
    Send,
    Dropped,
}

/// A completer that waited for `closed` (its waker kept, `PRODUCER_WAITING`) completes, sends
/// or is dropped while the consumer is dropped on another thread: both sides take the kept
/// waker under the lock. It is woken at most once and dropped exactly once (never left in
/// the slot), the value is dropped once, the slot goes back to the pool once, and the
/// recycled slot's next completer waits for `closed` and is woken again.
fn closed_waiter_ends_while_the_consumer_drops(ending: Ending) {
    model(move || {
        let pool = CompletionPool::<Arc<()>>::new();
        let marker = Arc::new(());
        let (vt, mut completer) = pool.rent();
        let (wakes, waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(completer.poll_closed(&mut cx).is_pending());
        let consumer = thread::spawn(move || drop(vt));
        let handed_back = match ending {
            Ending::SetResult => {
                completer.set_result(marker.clone());
                None
            }
            Ending::Send => completer.send(marker.clone()).err(),
            Ending::Dropped => {
                drop(completer);
                None
            }
        };
        consumer.join().unwrap();
        drop(handed_back);
        assert_eq!(Arc::strong_count(&marker), 1, "the value dropped once");
        assert!(wakes.count() <= 1);
        assert_eq!(Arc::strong_count(&wakes), 2, "the kept clone dropped once");
        assert_eq!(pool.idle(), 1, "the slot went back to the pool once");
        let (vt, mut completer) = pool.rent();
        assert!(completer.poll_closed(&mut cx).is_pending(), "waits again");
        drop(vt);
        assert!(completer.poll_closed(&mut cx).is_ready());
        assert_eq!(completer.send(marker.clone()).map_err(drop), Err(()));
    });
}

#[test]
fn pooled_closed_waiter_completing_races_the_consumers_drop() {
    closed_waiter_ends_while_the_consumer_drops(Ending::SetResult);
}

#[test]
fn pooled_closed_waiter_sending_races_the_consumers_drop() {
    closed_waiter_ends_while_the_consumer_drops(Ending::Send);
}

#[test]
fn pooled_closed_waiter_dropped_races_the_consumers_drop() {
    closed_waiter_ends_while_the_consumer_drops(Ending::Dropped);
}

/// `poll_closed` while the consumer, on another thread, registers its waker and then the
/// completion lands: both wakers are kept under one lock word, the consumer is woken with
/// the value, the completer's clone is dropped by the completion.
#[test]
fn pooled_poll_closed_races_the_consumers_registration() {
    model(|| {
        let pool = CompletionPool::<u32>::new();
        let (vt, mut completer) = pool.rent();
        let consumer = thread::spawn(move || loom::future::block_on(vt));
        let (wakes, waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(
            completer.poll_closed(&mut cx).is_pending(),
            "the consumer is there"
        );
        completer.set_result(5);
        assert_eq!(consumer.join().unwrap(), Ok(5));
        assert_eq!(wakes.count(), 0);
        assert_eq!(Arc::strong_count(&wakes), 2, "the kept clone was dropped");
    });
}

/// A consumer waits (its waker registered) while the owner resets the core and a producer
/// completes it on another thread: whichever lands first takes the waker under the lock, so
/// the consumer is woken exactly once (by the completion of its generation, or by the reset
/// that ends it), no clone of its waker is kept, and the result, in whichever generation it
/// landed, is dropped once.
#[test]
fn reset_races_a_completion_while_a_consumer_waits_and_wakes_it_once() {
    model(|| {
        let marker = Arc::new(());
        let core = Arc::new(ManualResetValueTaskSourceCore::<Arc<()>>::new());
        let (wakes, waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(core.poll_result(0, &mut cx).is_pending());
        let producer = {
            let (core, marker) = (core.clone(), marker.clone());
            thread::spawn(move || core.set_result(marker))
        };
        core.reset();
        producer.join().unwrap();
        assert_eq!(
            wakes.count(),
            1,
            "woken once, by the completion or by the reset"
        );
        assert_eq!(Arc::strong_count(&wakes), 2, "no clone of the waker kept");
        landed_in_one_generation_and_dropped_once(core, &marker);
    });
}

/// Counts its drops.
#[derive(Debug)]
struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A completed, untaken generation: a consumer on another thread takes the result while the
/// owner resets the core. The consumer either takes it (and the reset moves nothing out) or
/// polls after the reset and gets the stale-token panic (and the reset dropped the result):
/// the result is dropped exactly once either way, never read after the reset moved it.
#[test]
fn reset_races_a_consumer_taking_the_untaken_result_which_is_dropped_once() {
    model(|| {
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dropped = || drops.load(std::sync::atomic::Ordering::SeqCst);
        let core = Arc::new(ManualResetValueTaskSourceCore::<Counted>::new());
        core.set_result(Counted(drops.clone()));
        let consumer = {
            let core = core.clone();
            thread::spawn(move || {
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    core.poll_result(0, &mut cx)
                }))
                .ok()
            })
        };
        core.reset();
        match consumer.join().unwrap() {
            Some(Poll::Ready(Ok(taken))) => {
                assert_eq!(dropped(), 0, "the reset left the taken result alone");
                drop(taken);
            }
            None => assert_eq!(dropped(), 1, "the reset dropped the untaken result"),
            Some(other) => panic!("the result or the stale-token panic, got {other:?}"),
        }
        assert_eq!(dropped(), 1);
        drop(core);
        assert_eq!(dropped(), 1, "dropped once");
    });
}

/// Value task `a` waits; on another thread it is dropped (its registration withdrawn) while
/// value task `b` of the same generation polls here: `b` either finds `a` still registered and
/// panics naming a second consumer, registering nothing, or registers after the withdrawal
/// and is woken by the completion. `a`'s waker is let go and never woken; the result goes to
/// `b`, or stays for a later value task.
#[test]
fn a_waiting_value_task_dropped_on_one_thread_while_another_polls_the_generation() {
    model(|| {
        let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
        let (a_wakes, a_waker) = Wakes::new();
        let mut a = ValueTask::from_arc_source(core.clone(), 0);
        let polled = std::future::Future::poll(
            std::pin::Pin::new(&mut a),
            &mut std::task::Context::from_waker(&a_waker),
        );
        assert!(polled.is_pending());
        // `b`'s record exists while `a`'s does: two consumers, never one reusing the other's.
        let mut b = ValueTask::from_arc_source(core.clone(), 0);
        let dropper = thread::spawn(move || drop(a));
        let (b_wakes, b_waker) = Wakes::new();
        let mut b_cx = std::task::Context::from_waker(&b_waker);
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::future::Future::poll(std::pin::Pin::new(&mut b), &mut b_cx)
        }));
        dropper.join().unwrap();
        core.set_result(7);
        match first {
            Ok(Poll::Pending) => {
                assert_eq!(b_wakes.count(), 1, "b registered and was woken");
                let again = std::future::Future::poll(std::pin::Pin::new(&mut b), &mut b_cx);
                assert!(matches!(again, Poll::Ready(Ok(7))));
            }
            Err(_) => {
                assert_eq!(b_wakes.count(), 0, "the panicking poll registered nothing");
                drop(b);
                let later = ValueTask::from_arc_source(core.clone(), 0);
                assert_eq!(
                    later.get_result(),
                    Ok(7),
                    "the result stays for the generation"
                );
            }
            Ok(Poll::Ready(other)) => panic!("nothing was set when b polled, got {other:?}"),
        }
        assert_eq!(a_wakes.count(), 0, "the withdrawn waiter is not woken");
        assert_eq!(Arc::strong_count(&a_wakes), 2, "a's waker is not kept");
        assert_eq!(Arc::strong_count(&b_wakes), 2, "b's waker is not kept");
    });
}

/// A completer waiting for `closed` polls again with another waker while the consumer is
/// dropped on another thread: the kept waker is replaced (the old one dropped, not woken) or
/// was already woken by the drop; exactly one wake-up in all, no clone left kept, and the
/// slot goes back to the pool.
#[test]
fn pooled_poll_closed_with_a_new_waker_races_the_consumers_drop() {
    model(|| {
        let pool = CompletionPool::<u32>::new();
        let (vt, mut completer) = pool.rent();
        let (first_wakes, first_waker) = Wakes::new();
        let pending = completer.poll_closed(&mut std::task::Context::from_waker(&first_waker));
        assert!(pending.is_pending(), "the consumer is there");
        let consumer = thread::spawn(move || drop(vt));
        let (second_wakes, second_waker) = Wakes::new();
        let mut cx = std::task::Context::from_waker(&second_waker);
        let second = completer.poll_closed(&mut cx);
        consumer.join().unwrap();
        match second {
            // The drop came first and woke the waker kept then.
            Poll::Ready(()) => assert_eq!((first_wakes.count(), second_wakes.count()), (1, 0)),
            // Replaced before the drop, which woke the new one only.
            Poll::Pending => assert_eq!((first_wakes.count(), second_wakes.count()), (0, 1)),
        }
        assert!(completer.poll_closed(&mut cx).is_ready());
        assert_eq!(Arc::strong_count(&first_wakes), 2, "no clone kept");
        assert_eq!(Arc::strong_count(&second_wakes), 2, "no clone kept");
        assert_eq!(completer.send(3), Err(3));
        assert_eq!(pool.idle(), 1, "the slot went back to the pool");
    });
}
