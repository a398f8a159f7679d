//! `ManualResetValueTaskSourceCore<T>`: versions, completion, tokens, reset, and the
//! `ValueTask`s and `Task`s it backs.

mod common;

use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{
    allocations_during, poll_once, waker_that_panics_on_clone, CountingAllocator, CountingWaker,
};
use valuetask::{
    Continuations, ManualResetValueTaskSourceCore, SourceStatus, TaskError, TaskStatus, ValueTask,
    ValueTaskSource,
};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PER_THREAD;

type Core = ManualResetValueTaskSourceCore<u64>;

fn panic_message(f: impl FnOnce()) -> String {
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_fresh_core_is_version_0_and_pending() {
    let core = Core::new();
    assert_eq!(core.version(), 0);
    assert_eq!(core.status(0), SourceStatus::Pending);
    assert!(!core.value_task().is_completed());
}

#[test]
fn a_value_task_of_a_core_shows_its_token() {
    let core = Core::new();
    core.reset();
    core.reset();
    let vt = core.value_task();
    assert!(format!("{vt:?}").contains("token: 2"), "{vt:?}");
}

#[test]
fn reset_increments_the_version_by_exactly_one_and_completing_does_not_change_it() {
    let core = Core::new();
    for expected in 0..5u32 {
        assert_eq!(core.version(), expected);
        core.set_result(u64::from(expected));
        assert_eq!(core.version(), expected, "completing keeps the version");
        assert_eq!(core.status(expected), SourceStatus::Succeeded);
        core.reset();
        assert_eq!(core.version(), expected + 1);
        assert_eq!(core.status(expected + 1), SourceStatus::Pending);
    }
}

#[test]
fn result_set_before_registration_is_ready_at_the_first_poll() {
    let core = Core::new();
    core.set_result(7);
    let mut vt = core.value_task();
    assert!(vt.is_completed());
    assert_eq!(poll_once(&mut vt, Waker::noop()), Poll::Ready(Ok(7)));
}

#[test]
fn result_set_after_registration_wakes_the_consumer_once() {
    let core = Core::new();
    let mut vt = core.value_task();
    let (count, waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    assert!(
        poll_once(&mut vt, &waker).is_pending(),
        "re-poll keeps one waker"
    );
    core.set_result(8);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut vt, &waker), Poll::Ready(Ok(8)));
}

#[test]
fn error_and_canceled_completions_surface_through_value_task_and_as_task() {
    let core = Arc::new(Core::new());
    core.set_error(TaskError::panicked("broken"));
    assert_eq!(core.status(0), SourceStatus::Faulted);
    let vt = ValueTask::from_arc_source(core.clone(), 0);
    assert_eq!(vt.get_result(), Err(TaskError::panicked("broken")));
    core.reset();

    core.set_canceled();
    assert_eq!(core.status(1), SourceStatus::Canceled);
    let task = ValueTask::from_arc_source(core.clone(), 1).as_task();
    assert_eq!(task.try_result(), Some(Ok(&Err(TaskError::Canceled))));
    core.reset();

    // As a pending task, completed later with an error.
    let task = ValueTask::from_arc_source(core.clone(), 2).as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    core.set_error(TaskError::Abandoned);
    assert_eq!(task.try_result(), Some(Ok(&Err(TaskError::Abandoned))));
}

#[test]
fn a_new_waker_replaces_the_registered_one() {
    let core = Core::new();
    let mut vt = core.value_task();
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &first_waker).is_pending());
    assert!(poll_once(&mut vt, &second_waker).is_pending());
    core.set_result(3);
    assert_eq!(
        (first.count(), second.count()),
        (0, 1),
        "only the latest waker"
    );
    assert_eq!(poll_once(&mut vt, &second_waker), Poll::Ready(Ok(3)));
}

#[test]
fn a_waker_that_panics_in_clone_does_not_leave_the_core_locked() {
    // First registration (cloned before the lock), and re-registration over another waker
    // (the lock is released for the clone).
    for registered_first in [false, true] {
        let core = Arc::new(Core::new());
        let (count, waker) = CountingWaker::new();
        if registered_first {
            let polled = core.poll_result(0, &mut std::task::Context::from_waker(&waker));
            assert!(polled.is_pending());
        }
        let panicking = waker_that_panics_on_clone();
        let m = panic_message(|| {
            let _ = core.poll_result(0, &mut std::task::Context::from_waker(&panicking));
        });
        assert!(m.contains("cannot be cloned"), "{m}");
        // Completing must not spin on a lock the panic left held.
        let producer = Arc::clone(&core);
        assert!(
            common::finishes_within(Duration::from_secs(5), move || producer.set_result(4)),
            "set_result hung on a lock left held (registered first: {registered_first})"
        );
        assert_eq!(
            count.count(),
            usize::from(registered_first),
            "the first waker stays"
        );
        assert_eq!(ValueTask::from_source(&*core, 0).get_result(), Ok(4));
    }
}

/// A completion that lands while `poll_result` clones the consumer's waker, then a clone that
/// panics when dropped: the result is still there for the next poll (taken first, it would be
/// lost to a poll that never returned it, and the next poll would panic "already taken").
#[test]
fn a_waker_clone_that_panics_when_dropped_leaves_a_landed_result_to_the_next_poll() {
    let core = Arc::new(Core::new());
    let completer = Arc::clone(&core);
    let waker = common::waker_whose_clone_runs_and_whose_clones_panic_on_drop(move || {
        completer.set_result(4)
    });
    let m = panic_message(|| {
        let _ = core.poll_result(0, &mut std::task::Context::from_waker(&waker));
    });
    assert!(m.contains("panics when dropped"), "{m}");
    let polled = core.poll_result(0, &mut std::task::Context::from_waker(Waker::noop()));
    assert_eq!(polled, Poll::Ready(Ok(4)));
}

#[test]
fn stale_and_future_tokens_panic_naming_both_versions() {
    let core = Core::new();
    core.set_result(1);
    core.reset();
    core.set_result(2);
    core.reset(); // version 2

    for token in [1u32, 3] {
        let kind = if token < 2 {
            "stale"
        } else {
            "from the future"
        };
        let m = panic_message(|| {
            core.status(token);
        });
        assert!(
            m.contains(&format!("token {token}")) && m.contains("version 2") && m.contains(kind),
            "{m}"
        );
        let m = panic_message(|| {
            let _ = core.poll_result(token, &mut std::task::Context::from_waker(Waker::noop()));
        });
        assert!(
            m.contains(&format!("token {token}")) && m.contains("version 2"),
            "{m}"
        );
        let m = panic_message(|| {
            let _ = ValueTask::from_source(&core, token).get_result();
        });
        assert!(
            m.contains(&format!("token {token}")) && m.contains("version 2"),
            "{m}"
        );
        // Awaiting polls the source (`poll_result`), not only `status`.
        let m = panic_message(|| {
            let mut vt = ValueTask::from_source(&core, token);
            let _ = poll_once(&mut vt, Waker::noop());
        });
        assert!(
            m.contains(&format!("token {token}")) && m.contains("version 2"),
            "{m}"
        );
        // Formatting never asks the source, so it cannot panic on the stale token.
        let vt = ValueTask::from_source(&core, token);
        assert_eq!(
            format!("{vt:?}"),
            format!("ValueTask {{ backing: \"BorrowedSource\", token: {token} }}")
        );
    }
}

#[test]
fn a_value_task_over_an_arc_source_allocates_nothing_of_its_own() {
    let core = Arc::new(ManualResetValueTaskSourceCore::<u64>::new());
    // The source and its token go into a small record in this thread's pooled storage.
    drop(ValueTask::from_arc_source(core.clone(), core.version())); // warms the pool
    let (sum, allocs) = allocations_during(|| {
        let mut sum = 0;
        for i in 0..1_000u64 {
            let vt = ValueTask::from_arc_source(core.clone(), core.version());
            core.set_result(i);
            sum += common::now(vt).unwrap();
            core.reset();
        }
        sum
    });
    assert_eq!(allocs, 0);
    assert_eq!(sum, (0..1_000u64).sum::<u64>());
}

/// A second `set_result` whose value's `Drop` panics still panics with the misuse's message,
/// not the value's.
#[test]
fn setting_twice_names_the_misuse_when_the_rejected_value_panics_as_it_drops() {
    let core = ManualResetValueTaskSourceCore::<common::PanicsOnDrop>::new();
    core.set_result(common::PanicsOnDrop("the first value"));
    let m = panic_message(|| core.set_result(common::PanicsOnDrop("the rejected value")));
    assert!(m.contains("version 0 was already completed"), "{m}");
    // The first value's `Drop` panics in turn where the core drops it.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(core)));
    assert!(dropped.is_err());
}

#[test]
fn setting_twice_in_one_generation_panics_and_try_set_hands_the_value_back() {
    let core = Core::new();
    core.set_result(1);
    let m = panic_message(|| core.set_result(2));
    assert!(m.contains("version 0 was already completed"), "{m}");
    assert!(m.contains("try_set_result races safely"), "{m}");
    let m = panic_message(|| core.set_canceled());
    assert!(
        m.contains("set_canceled: version 0") && m.contains("try_set_canceled"),
        "names a method the core has: {m}"
    );
    assert_eq!(core.try_set_result(3), Err(3));
    assert_eq!(
        core.try_set_error(TaskError::Canceled),
        Err(TaskError::Canceled)
    );
    assert!(!core.try_set_canceled(), "already completed: no effect");
    assert_eq!(core.value_task().get_result(), Ok(1));
    core.reset();
    assert_eq!(core.try_set_result(4), Ok(()));
    core.reset();
    assert!(core.try_set_canceled(), "pending: completes it");
    assert_eq!(core.value_task().get_result(), Err(TaskError::Canceled));
}

/// Poll `first` (it registers `waker`), then `second` of the same generation with
/// `second_waker`: the panic message the second poll gets.
fn second_consumer_panic<F: std::future::Future + Unpin>(
    first: &mut F,
    second: &mut F,
    waker: &Waker,
    second_waker: &Waker,
) -> String {
    assert!(poll_once(first, waker).is_pending());
    panic_message(|| {
        let _ = poll_once(second, second_waker);
    })
}

/// .NET's core throws when a second continuation is registered for one generation; here a
/// second value task of the generation that registers while the first waits panics, instead
/// of silently taking the first's place (which left the first never woken: a hang).
#[test]
fn a_second_value_task_of_one_generation_panics_when_it_registers() {
    let core = Core::new();
    let mut first = core.value_task();
    let mut second = core.value_task();
    let (woken, waker) = CountingWaker::new();
    let m = second_consumer_panic(&mut first, &mut second, &waker, Waker::noop());
    assert!(m.contains("a second value task awaits version 0"), "{m}");
    // The first consumer is intact: still registered, woken once, and gets the result.
    core.set_result(5);
    assert_eq!(woken.count(), 1);
    assert_eq!(poll_once(&mut first, &waker), Poll::Ready(Ok(5)));
    drop(second);
    // The next generation has a consumer of its own again.
    core.reset();
    let mut next = core.value_task();
    assert!(poll_once(&mut next, Waker::noop()).is_pending());
    core.set_result(6);
    assert_eq!(poll_once(&mut next, Waker::noop()), Poll::Ready(Ok(6)));
}

/// Two value tasks of one generation polled by the same task (same waker) are still two
/// consumers: the `will_wake` shortcut does not hide the second.
#[test]
fn a_second_value_task_polled_by_the_same_task_panics_too() {
    let core = Core::new();
    let mut first = core.value_task();
    let mut second = core.value_task();
    let (_woken, waker) = CountingWaker::new();
    let m = second_consumer_panic(&mut first, &mut second, &waker, &waker);
    assert!(m.contains("one consumer"), "{m}");
}

/// A second value task that first polls after the completion, while the first (registered,
/// woken) has not taken the result, is the second consumer and panics: it does not take the
/// first's result, leaving the first to panic as if it had taken it twice.
#[test]
fn a_second_value_task_polled_after_the_completion_panics_and_the_first_gets_the_result() {
    let core = Core::new();
    let mut first = core.value_task();
    let (woken, waker) = CountingWaker::new();
    assert!(poll_once(&mut first, &waker).is_pending());
    let mut second = core.value_task();
    core.set_result(4);
    assert_eq!(woken.count(), 1);
    let m = panic_message(|| {
        let _ = poll_once(&mut second, Waker::noop());
    });
    assert!(m.contains("a second value task awaits version 0"), "{m}");
    // By the blocking read too (the ready fast path).
    let third = core.value_task();
    let m = panic_message(|| {
        let _ = third.get_result();
    });
    assert!(m.contains("a second value task awaits version 0"), "{m}");
    assert_eq!(poll_once(&mut first, &waker), Poll::Ready(Ok(4)));
    // Taken: a later value task of the generation is told the result was taken.
    let mut late = core.value_task();
    let m = panic_message(|| {
        let _ = poll_once(&mut late, Waker::noop());
    });
    assert!(m.contains("already taken"), "{m}");
    drop(second);
    // The next generation names its own consumer.
    core.reset();
    let mut next = core.value_task();
    assert!(poll_once(&mut next, Waker::noop()).is_pending());
    core.set_result(5);
    assert_eq!(next.get_result(), Ok(5));
}

/// The first value task, woken and dropped without taking its result, leaves the completed
/// generation to another value task (dropping it withdrew its name).
#[test]
fn a_woken_value_task_dropped_untaken_lets_another_take_the_result() {
    let core = Core::new();
    let mut first = core.value_task();
    assert!(poll_once(&mut first, Waker::noop()).is_pending());
    core.set_result(6);
    drop(first);
    // Another value task takes the freed record's block, so the next one lands elsewhere.
    let other = Core::new();
    let occupying = other.value_task();
    assert_eq!(core.value_task().get_result(), Ok(6));
    drop(occupying);
}

/// A user's source over a core: it forwards every method to the core.
struct Op(Core);

impl valuetask::ValueTaskSource<Result<u64, TaskError>> for Op {
    fn status(&self, token: u32) -> SourceStatus {
        self.0.status(token)
    }
    fn poll_result(
        &self,
        token: u32,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<u64, TaskError>> {
        self.0.poll_result(token, cx)
    }
    fn withdraw(&self, token: u32) {
        self.0.withdraw(token);
    }
}

/// A user's source over a core gets the same check: the value task names itself to the
/// core through the source's `poll_result`.
#[test]
fn a_second_consumer_is_caught_through_a_users_source_over_a_core() {
    let op = Op(Core::new());
    let mut first = ValueTask::from_source(&op, 0);
    let mut second = ValueTask::from_source(&op, 0);
    let m = second_consumer_panic(&mut first, &mut second, Waker::noop(), Waker::noop());
    assert!(m.contains("a second value task"), "{m}");
}

/// A value task dropped while it waits (cancelled: a timeout, a lost `select!` branch) takes
/// its registration with it: another value task of the generation, wherever its record
/// lands, awaits it with no panic, and only its waker is woken. The dropped one's waker is
/// dropped with it, not kept until the completion.
#[test]
fn a_value_task_dropped_while_it_waits_lets_another_await_the_generation() {
    let core = Core::new();
    let (dropped_woken, dropped_waker) = CountingWaker::new();
    let mut first = core.value_task();
    assert!(poll_once(&mut first, &dropped_waker).is_pending());
    drop(first);
    drop(dropped_waker);
    assert_eq!(
        std::sync::Arc::strong_count(&dropped_woken),
        1,
        "the dropped value task's waker was dropped too"
    );
    // Another value task takes the freed record's block, so the next one lands elsewhere.
    let other = Core::new();
    let occupying = other.value_task();
    let (woken, waker) = CountingWaker::new();
    let mut second = core.value_task();
    assert!(poll_once(&mut second, &waker).is_pending());
    core.set_result(8);
    assert_eq!((woken.count(), dropped_woken.count()), (1, 0));
    assert_eq!(poll_once(&mut second, &waker), Poll::Ready(Ok(8)));
    drop(occupying);
}

/// The same through a user's source over a core, which forwards `withdraw` to it.
#[test]
fn a_value_task_of_a_users_source_dropped_while_it_waits_withdraws_through_it() {
    let op = Op(Core::new());
    let mut first = ValueTask::from_source(&op, 0);
    assert!(poll_once(&mut first, Waker::noop()).is_pending());
    drop(first);
    let other = Core::new();
    let occupying = other.value_task();
    let mut second = ValueTask::from_source(&op, 0);
    assert!(poll_once(&mut second, Waker::noop()).is_pending());
    op.0.set_result(9);
    assert_eq!(poll_once(&mut second, Waker::noop()), Poll::Ready(Ok(9)));
    drop(occupying);
    // `withdraw` outside a value task's drop changes nothing.
    op.0.reset();
    let mut third = ValueTask::from_source(&op, 1);
    assert!(poll_once(&mut third, Waker::noop()).is_pending());
    op.0.withdraw(1);
    let mut fourth = ValueTask::from_source(&op, 1);
    let m = panic_message(|| {
        let _ = poll_once(&mut fourth, Waker::noop());
    });
    assert!(m.contains("a second value task"), "{m}");
}

/// The one consumer moved to another task polls with a new waker: that is a re-registration,
/// not a second consumer, and the new waker is the one woken.
#[test]
fn the_one_value_task_moved_to_another_task_re_registers_without_a_panic() {
    let core = Core::new();
    let mut vt = core.value_task();
    let (old, old_waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &old_waker).is_pending());
    let mut moved = vt;
    let (new, new_waker) = CountingWaker::new();
    assert!(poll_once(&mut moved, &new_waker).is_pending());
    core.set_result(9);
    assert_eq!((old.count(), new.count()), (0, 1));
    assert_eq!(poll_once(&mut moved, &new_waker), Poll::Ready(Ok(9)));
}

#[test]
fn taking_a_result_twice_panics() {
    let core = Core::new();
    core.set_result(1);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    assert_eq!(core.poll_result(0, &mut cx), Poll::Ready(Ok(1)));
    let m = panic_message(|| {
        let _ = core.poll_result(0, &mut cx);
    });
    assert!(m.contains("already taken"), "{m}");
}

#[test]
fn reset_wakes_a_consumer_of_the_old_generation_whose_next_poll_panics_instead_of_hanging() {
    let core = Core::new();
    let mut vt = core.value_task();
    let (count, waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    core.reset();
    assert_eq!(count.count(), 1);
    let m = panic_message(|| {
        let _ = poll_once(&mut vt, &waker);
    });
    assert!(m.contains("token 0") && m.contains("version 1"), "{m}");
}

#[test]
fn as_task_on_a_pending_source_completes_when_another_thread_completes_it() {
    let core = Arc::new(Core::new());
    let task = ValueTask::from_arc_source(core.clone(), 0).as_task();
    assert_eq!(task.status(), TaskStatus::Pending);
    let producer = core.clone();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        producer.set_result(42);
    })
    .join()
    .unwrap();
    // Nobody polled the value task: the core's own wake-up completed the task.
    assert_eq!(task.try_result(), Some(Ok(&Ok(42))));
}

#[test]
fn a_producer_thread_and_a_consumer_thread_cycle_many_generations() {
    let core = Arc::new(Core::new());
    let rounds = 2000u64;
    let producer = {
        let core = core.clone();
        thread::spawn(move || {
            for i in 0..rounds {
                // Wait for the consumer to reset into generation i.
                while core.version() != i as u32 {
                    std::hint::spin_loop();
                }
                core.set_result(i);
            }
        })
    };
    for i in 0..rounds {
        let v = futures::executor::block_on(core.value_task());
        assert_eq!(v, Ok(i));
        core.reset();
    }
    producer.join().unwrap();
}

/// `reset` wakes the old generation's consumer where the core's continuations run: inline on
/// the resetting thread, before `reset` returns, or (asynchronous) off it.
#[test]
fn reset_wakes_the_old_consumer_inline_or_off_the_resetting_thread_as_configured() {
    use std::sync::mpsc;
    use std::task::Wake;
    struct Report(Mutex<mpsc::Sender<thread::ThreadId>>);
    impl Wake for Report {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().unwrap().send(thread::current().id());
        }
    }
    for mode in [Continuations::Inline, Continuations::Asynchronous] {
        let core = ManualResetValueTaskSourceCore::<u8>::with_continuations(mode);
        let (tx, rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Report(Mutex::new(tx))));
        assert!(core
            .poll_result(0, &mut std::task::Context::from_waker(&waker))
            .is_pending());
        core.reset();
        if mode == Continuations::Inline {
            assert_eq!(rx.try_recv(), Ok(thread::current().id()), "woken inline");
        } else {
            let woken_on = rx.recv_timeout(Duration::from_secs(5)).expect("woken");
            assert_ne!(woken_on, thread::current().id());
        }
    }
}

#[test]
fn asynchronous_continuations_wake_off_the_completing_thread() {
    let core = Core::with_continuations(Continuations::Asynchronous);
    let woke = Arc::new(std::sync::Mutex::new(None));
    struct Rec(Arc<std::sync::Mutex<Option<thread::ThreadId>>>);
    impl std::task::Wake for Rec {
        fn wake(self: Arc<Self>) {
            *self.0.lock().unwrap() = Some(thread::current().id());
        }
    }
    let waker = Waker::from(Arc::new(Rec(woke.clone())));
    let mut vt = core.value_task();
    assert!(poll_once(&mut vt, &waker).is_pending());
    core.set_result(1);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while woke.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    let woke_on = woke.lock().unwrap().expect("woken");
    assert_ne!(woke_on, thread::current().id());
}

#[test]
fn a_core_embedded_in_a_struct_reused_10_000_times_allocates_nothing() {
    struct Operation {
        core: ManualResetValueTaskSourceCore<u64>,
        counter: u64,
    }
    let mut op = Operation {
        core: ManualResetValueTaskSourceCore::new(),
        counter: 0,
    };
    // Warm up once: the first value task on a thread may allocate a block of its pooled
    // storage (each value task keeps the core's address and token in a small record there).
    op.core.set_result(0);
    let _ = common::now(op.core.value_task());
    op.core.reset();
    let (sum, allocs) = allocations_during(|| {
        let mut sum = 0;
        for i in 0..10_000u64 {
            let vt = op.core.value_task();
            op.core.set_result(i);
            sum += common::now(vt).unwrap();
            op.core.reset();
            op.counter += 1;
        }
        sum
    });
    assert_eq!(allocs, 0);
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
    assert_eq!(op.core.version(), 10_001);
}

#[test]
fn dropping_a_core_with_an_untaken_result_drops_the_result() {
    let marker = Arc::new(());
    let core = ManualResetValueTaskSourceCore::new();
    core.set_result(marker.clone());
    assert_eq!(Arc::strong_count(&marker), 2);
    drop(core);
    assert_eq!(Arc::strong_count(&marker), 1);
    let core = ManualResetValueTaskSourceCore::new();
    core.set_result(marker.clone());
    core.reset();
    assert_eq!(
        Arc::strong_count(&marker),
        1,
        "reset drops an untaken result"
    );
    assert!(format!("{core:?}").contains("version: 1"));
}

/// `Debug` shows the generation's whole state: version, status, whether the result was taken
/// and whether a consumer's waker is stored.
#[test]
fn debug_shows_version_status_taken_and_waker() {
    let debug = |core: &Core| format!("{core:?}");
    let shape = |version, status, taken, waker| {
        format!(
            "ManualResetValueTaskSourceCore {{ version: {version}, status: {status}, \
             taken: {taken}, has_waker: {waker} }}"
        )
    };
    let core = Core::new();
    assert_eq!(debug(&core), shape(0, "Pending", false, false));
    let mut vt = core.value_task();
    let (_, waker) = CountingWaker::new();
    assert!(poll_once(&mut vt, &waker).is_pending());
    assert_eq!(debug(&core), shape(0, "Pending", false, true));
    core.set_error(TaskError::panicked("no"));
    assert_eq!(debug(&core), shape(0, "Faulted", false, false));
    assert!(poll_once(&mut vt, &waker).is_ready());
    assert_eq!(debug(&core), shape(0, "Faulted", true, false));
    core.reset();
    assert_eq!(debug(&core), shape(1, "Pending", false, false));
}

/// A value task over an `Arc` source, dropped while it waits, whose source's `withdraw`
/// panics (here: the core drops the registered waker, whose `Drop` panics): the record is
/// still freed, and the `Arc` it held with it.
#[test]
fn a_value_task_whose_withdrawal_panics_still_frees_its_record_and_its_arc() {
    common::quiet_about_panics_with("this waker's clone panics when dropped");
    let core = Arc::new(Core::new());
    let source: Arc<dyn valuetask::ValueTaskSource<Result<u64, TaskError>>> = core.clone();
    let mut value_task = ValueTask::from_arc_source(source, 0);
    let waker = common::waker_whose_clone_runs_and_whose_clones_panic_on_drop(|| {});
    assert!(poll_once(&mut value_task, &waker).is_pending());
    let m = panic_message(|| drop(value_task));
    assert!(m.contains("panics when dropped"), "{m}");
    assert_eq!(Arc::strong_count(&core), 1, "the record's Arc was dropped");
}

/// The same through `core.value_task()`: its block goes back to the pool, so rounds of it
/// keep no memory.
#[test]
fn a_core_value_task_whose_withdrawn_waker_panics_when_dropped_gives_its_block_back() {
    common::quiet_about_panics_with("this waker's clone panics when dropped");
    let core = Core::new();
    let round = || {
        let mut value_task = core.value_task();
        let waker = common::waker_whose_clone_runs_and_whose_clones_panic_on_drop(|| {});
        assert!(poll_once(&mut value_task, &waker).is_pending());
        drop(waker);
        let m = panic_message(|| drop(value_task));
        assert!(m.contains("panics when dropped"), "{m}");
        core.set_result(1);
        core.reset();
    };
    round(); // warm this thread's pool
    let ((), counts) = alloc_count::during(|| (0..64).for_each(|_| round()));
    assert!(counts.live <= 0, "64 rounds kept {} bytes", counts.live);
}

/// A source whose `poll_result` panics after the core registered the waker: the value task's
/// registration stays, so the completion wakes it; the public `withdraw`, called on that
/// thread outside any value task's drop, does nothing (the consumer is not known after the
/// panicking poll).
#[test]
fn withdraw_after_a_panicking_poll_leaves_the_registration_of_the_value_task() {
    struct PanicsAfterRegistering(Core);
    impl valuetask::ValueTaskSource<Result<u64, TaskError>> for PanicsAfterRegistering {
        fn status(&self, token: u32) -> SourceStatus {
            self.0.status(token)
        }
        fn poll_result(
            &self,
            token: u32,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<Result<u64, TaskError>> {
            let polled = self.0.poll_result(token, cx);
            assert!(
                polled.is_ready(),
                "a source whose poll panics after registering"
            );
            polled
        }
        fn withdraw(&self, token: u32) {
            self.0.withdraw(token);
        }
    }
    common::quiet_about_panics_with("a source whose poll panics after registering");
    let source = PanicsAfterRegistering(Core::new());
    let mut value_task = ValueTask::from_source(&source, 0);
    let (count, waker) = CountingWaker::new();
    let m = panic_message(|| {
        let _ = poll_once(&mut value_task, &waker);
    });
    assert!(m.contains("panics after registering"), "{m}");
    source.0.withdraw(0);
    source.0.set_result(1);
    assert_eq!(count.count(), 1, "the value task's waker was woken");
}

/// A source whose `withdraw` first drops an inner value task of another source (cancelling
/// an inner operation), then forwards to its core: the inner release must not make the
/// core's `withdraw` forget which value task is being dropped. It did (the consumer was left
/// "nobody"), so the dropped value task's registration stayed and the next value task of the
/// generation panicked as a second consumer.
#[test]
fn a_withdraw_that_drops_an_inner_value_task_still_withdraws_the_outer_one() {
    type Output = Result<u8, TaskError>;
    struct Outer {
        core: ManualResetValueTaskSourceCore<u8>,
        inner: Mutex<Option<ValueTask<'static, Output>>>,
    }
    impl ValueTaskSource<Output> for Outer {
        fn status(&self, token: u32) -> SourceStatus {
            self.core.status(token)
        }
        fn poll_result(&self, token: u32, cx: &mut std::task::Context<'_>) -> Poll<Output> {
            self.core.poll_result(token, cx)
        }
        fn withdraw(&self, token: u32) {
            drop(self.inner.lock().unwrap().take());
            self.core.withdraw(token);
        }
    }
    // The inner operation: a source of the same kind (a user's source: its record's release
    // runs its `withdraw` as that record's consumer).
    let inner_source = Arc::new(Outer {
        core: ManualResetValueTaskSourceCore::new(),
        inner: Mutex::new(None),
    });
    let mut inner = ValueTask::from_arc_source(inner_source.clone(), 0);
    assert!(
        poll_once(&mut inner, Waker::noop()).is_pending(),
        "registered"
    );
    let outer = Arc::new(Outer {
        core: ManualResetValueTaskSourceCore::new(),
        inner: Mutex::new(Some(inner)),
    });
    let (count, waker) = CountingWaker::new();
    let mut first = ValueTask::from_arc_source(outer.clone(), 0);
    assert!(poll_once(&mut first, &waker).is_pending());
    drop(first);
    // Take the freed records' blocks (the dropped one's and the inner one's), so the next one
    // is at another address (one at the same address would pass as the same consumer).
    let elsewhere: Vec<_> = (0..2)
        .map(|_| {
            let source = Arc::new(Outer {
                core: ManualResetValueTaskSourceCore::new(),
                inner: Mutex::new(None),
            });
            let mut task = ValueTask::from_arc_source(source, 0);
            assert!(poll_once(&mut task, Waker::noop()).is_pending());
            task
        })
        .collect();
    let mut second = ValueTask::from_arc_source(outer.clone(), 0);
    assert!(
        poll_once(&mut second, &waker).is_pending(),
        "the first one's registration went with it"
    );
    outer.core.set_result(3);
    assert_eq!(count.count(), 1, "only the second one's waker is woken");
    assert_eq!(poll_once(&mut second, &waker), Poll::Ready(Ok(3)));
    drop(elsewhere);
}

/// A value task's poll that replaces a waker whose drop panics (one registered by hand
/// through `poll_result`) unwinds after its registration was published: its drop still
/// withdraws it (the core keeps no clone of its waker).
#[test]
fn a_registration_published_by_a_poll_that_unwinds_is_withdrawn_when_the_value_task_drops() {
    /// Panics in `drop` (the core drops it, replaced, after publishing the new waker).
    struct Bomb;
    impl std::task::Wake for Bomb {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            if !thread::panicking() {
                panic!("a waker's drop panics");
            }
        }
    }
    let core = Core::new();
    let bomb = Waker::from(Arc::new(Bomb));
    let by_hand = core.poll_result(0, &mut std::task::Context::from_waker(&bomb));
    assert!(by_hand.is_pending());
    drop(bomb); // the core holds the last handle of the bomb now
    let (counting, waker) = CountingWaker::new();
    let mut vt = core.value_task();
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = std::future::Future::poll(
            std::pin::Pin::new(&mut vt),
            &mut std::task::Context::from_waker(&waker),
        );
    }));
    assert!(polled.is_err(), "the replaced waker's drop panicked");
    drop(vt);
    drop(waker);
    assert_eq!(
        Arc::strong_count(&counting),
        1,
        "the dropped value task's registration was withdrawn"
    );
    core.set_result(4);
    assert_eq!(core.value_task().get_result(), Ok(4));
}

/// `set_outcome` / `try_set_outcome` complete with a value or an error (the second refused,
/// handed back), and `is_completed` follows the generation: set, taken, reset.
#[test]
fn outcomes_complete_a_generation_and_is_completed_follows_it() {
    let core = ManualResetValueTaskSourceCore::<u8>::new();
    assert!(!core.is_completed());
    core.set_outcome(Err(TaskError::Canceled));
    assert!(core.is_completed());
    assert_eq!(
        core.try_set_outcome(Ok(1)),
        Err(Ok(1)),
        "the generation is complete"
    );
    assert_eq!(core.value_task().get_result(), Err(TaskError::Canceled));
    assert!(core.is_completed(), "taken, still this generation's");
    core.reset();
    assert!(!core.is_completed());
    assert_eq!(core.try_set_outcome(Ok(2)), Ok(()));
    assert!(core.is_completed());
    assert_eq!(core.value_task().get_result(), Ok(2));
}
