//! Loom models of the task cell (state word, waiter list, refcount, source count), of the
//! `as_task` bridge, of `when_any`'s first-wins registration, and of `when_each`'s queue. Run with
//! `RUSTFLAGS="--cfg valuetask_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_task`.
#![cfg(valuetask_loom)]

use std::future::IntoFuture;
use std::task::{Context, Poll};

use loom::thread;
use valuetask::{Task, TaskCompletionSource, TaskError, TaskStatus, ValueTask};

/// `loom::model`, with room for the spin on the waiter-list lock bit (each spin yields to the
/// scheduler, which adds branches). The preemption bound comes from `LOOM_MAX_PREEMPTIONS`.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    builder.check(f);
}

/// `model` for three contending threads: the spin on the lock bit makes their state space
/// explode past one preemption, so the bound is 1 unless `VALUETASK_LOOM_DEEP=1` (then the
/// `LOOM_MAX_PREEMPTIONS` bound applies; expect hours).
fn model_three_threads(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    if std::env::var_os("VALUETASK_LOOM_DEEP").is_none() {
        builder.preemption_bound = Some(1);
    }
    builder.check(f);
}

#[test]
fn completion_races_registration_of_one_awaiter() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let producer = thread::spawn(move || tcs.set_result(7u32));
        assert_eq!(loom::future::block_on(task.clone()), Ok(7));
        assert_eq!(task.status(), TaskStatus::RanToCompletion);
        producer.join().unwrap();
    });
}

#[test]
fn completion_races_two_awaiters_by_value_and_by_reference() {
    model_three_threads(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let t1 = task.clone();
        let a = thread::spawn(move || loom::future::block_on(t1));
        let b = thread::spawn(move || loom::future::block_on((&task).into_future()));
        tcs.set_result(1u32);
        assert_eq!(a.join().unwrap(), Ok(1));
        assert_eq!(b.join().unwrap(), Ok(1));
    });
}

#[test]
fn an_awaiter_dropped_mid_registration_races_completion() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let t1 = task.clone();
        let dropper = thread::spawn(move || {
            let mut fut = t1;
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let polled = std::pin::Pin::new(&mut fut).poll_fut(&mut cx);
            drop(fut);
            polled
        });
        tcs.set_result(2u32);
        let polled = dropper.join().unwrap();
        assert!(matches!(polled, Poll::Pending | Poll::Ready(Ok(2))));
        assert_eq!(task.try_result(), Some(Ok(&2)));
    });
}

#[test]
fn completion_races_re_registration_with_a_new_waker() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let producer = thread::spawn(move || tcs.set_result(3u32));
        let mut fut = task.clone();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if std::pin::Pin::new(&mut fut).poll_fut(&mut cx).is_pending() {
            // `block_on`'s waker is another: the re-registration releases the lock to clone
            // it, then swaps it in, or finds the task completed meanwhile.
            assert_eq!(loom::future::block_on(fut), Ok(3));
        }
        producer.join().unwrap();
    });
}

/// An awaiter's slot freed by its drop is taken by a new awaiter while the task completes:
/// the new waker is either taken by the completer or never stored (the task is seen
/// complete).
#[test]
fn a_freed_slot_reserved_again_races_completion() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut first = task.clone();
        assert!(std::pin::Pin::new(&mut first)
            .poll_fut(&mut cx)
            .is_pending());
        let producer = thread::spawn(move || tcs.set_result(5u32));
        drop(first);
        // The lowest free slot again: the one just freed.
        assert_eq!(loom::future::block_on(task.clone()), Ok(5));
        producer.join().unwrap();
    });
}

/// One awaiter in the inline slot; the second creates the slab under `LOCKED`, then reserves
/// its slot with a CAS and fills it, while the task completes: the completer either finds no
/// slab, or waits for the reserved slot's flag and wakes it, or the awaiter sees the task
/// complete before reserving.
#[test]
fn a_second_awaiter_creating_and_filling_the_slab_races_completion() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut first = task.clone();
        assert!(std::pin::Pin::new(&mut first)
            .poll_fut(&mut cx)
            .is_pending());
        let second = thread::spawn(move || loom::future::block_on(task));
        tcs.set_result(6u32);
        assert_eq!(second.join().unwrap(), Ok(6));
        assert_eq!(first.try_result(), Some(Ok(&6)));
    });
}

/// One awaiter inline and one in the slab: the one in the slab is re-polled with a new waker
/// (taking `LOCKED`, which the completer's claim also takes) or dropped (freeing its slot),
/// while the task completes.
fn with_one_in_the_slab(f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>, Task<u32>)) {
    let tcs = TaskCompletionSource::new();
    let task = tcs.task();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let (mut inline, mut slab) = (task.clone(), task.clone());
    assert!(std::pin::Pin::new(&mut inline)
        .poll_fut(&mut cx)
        .is_pending());
    assert!(std::pin::Pin::new(&mut slab).poll_fut(&mut cx).is_pending());
    f(tcs, inline, slab);
    assert_eq!(task.try_result(), Some(Ok(&8)));
}

#[test]
fn a_slab_awaiter_re_registering_races_completion() {
    model(|| {
        with_one_in_the_slab(|tcs, inline, slab| {
            let again = thread::spawn(move || loom::future::block_on(slab));
            tcs.set_result(8);
            assert_eq!(again.join().unwrap(), Ok(8));
            drop(inline);
        });
    });
}

#[test]
fn a_slab_awaiter_dropped_races_completion_and_its_slot_is_reserved_again() {
    model(|| {
        with_one_in_the_slab(|tcs, inline, slab| {
            let task = inline.clone();
            let dropper = thread::spawn(move || drop(slab));
            let producer = thread::spawn(move || tcs.set_result(8));
            dropper.join().unwrap();
            // The slot just freed, unless the task completed first.
            assert_eq!(loom::future::block_on(task), Ok(8));
            producer.join().unwrap();
            drop(inline);
        });
    });
}

/// A slab slot freed on one thread while another reserves a slot, unjoined: the freeing
/// `fetch_and` (Release) is what orders the old waker's removal before the new awaiter's
/// write when the new one takes the same slot (loom checks the slot's cell for a race).
#[test]
fn a_slab_slot_freed_on_one_thread_while_another_reserves_it() {
    model(|| {
        with_one_in_the_slab(|tcs, inline, slab| {
            let mut task = inline.clone();
            let dropper = thread::spawn(move || drop(slab));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(std::pin::Pin::new(&mut task).poll_fut(&mut cx).is_pending());
            dropper.join().unwrap();
            tcs.set_result(8);
            assert_eq!(loom::future::block_on(task), Ok(8));
            drop(inline);
        });
    });
}

/// `n` awaiters registered already, with a waker that does nothing: under loom the inline
/// slot, then the slab's narrow half (one slot), then its wide half (one slot).
fn with_registered(n: usize, f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>)) {
    let tcs = TaskCompletionSource::new();
    let task = tcs.task();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut registered: Vec<Task<u32>> = (0..n).map(|_| task.clone()).collect();
    for awaiter in &mut registered {
        assert!(std::pin::Pin::new(awaiter).poll_fut(&mut cx).is_pending());
    }
    f(tcs, task);
    for awaiter in registered {
        assert_eq!(loom::future::block_on(awaiter), Ok(4));
    }
}

/// The inline slot and the slab's narrow half taken: the next awaiter opens the wide half.
fn with_two_registered(f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>)) {
    with_registered(2, f);
}

/// The inline slot and the whole slab taken: the next awaiter creates the overflow.
fn with_three_registered(f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>)) {
    with_registered(3, f);
}

/// With `registered` awaiters registered already, one more awaits on another thread while
/// the task completes.
fn a_new_awaiter_races_completion(registered: usize) {
    model(move || {
        with_registered(registered, |tcs, task| {
            let new = thread::spawn(move || loom::future::block_on(task));
            tcs.set_result(4);
            assert_eq!(new.join().unwrap(), Ok(4));
        });
    });
}

/// With `registered` awaiters registered already, two more register at once, one on another
/// thread; then the task completes.
fn two_new_awaiters_race_each_other_then_completion(registered: usize) {
    model(move || {
        with_registered(registered, |tcs, task| {
            let mut second = task.clone();
            let first = thread::spawn(move || loom::future::block_on(task));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let first_poll = std::pin::Pin::new(&mut second).poll_fut(&mut cx);
            assert!(first_poll.is_pending());
            tcs.set_result(4);
            assert_eq!(first.join().unwrap(), Ok(4));
            assert_eq!(second.try_result(), Some(Ok(&4)));
        });
    });
}

/// The third awaiter finds the narrow half full and opens the wide half (under `LOCKED`,
/// publishing `SLAB_WIDE`) while the task completes: either it opens first, and the
/// completer's claim sees the bit and closes and wakes the wide half, or it finds the task
/// complete.
#[test]
fn a_new_awaiter_opening_the_wide_half_races_completion() {
    a_new_awaiter_races_completion(2);
}

/// Three awaiters registered, the third in the wide half: it is re-polled with a new waker
/// (taking `LOCKED`, which the completer's claim also takes) or dropped (freeing its slot)
/// while the task completes.
fn with_one_in_the_wide_half(f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>)) {
    with_two_registered(|tcs, task| {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut third = task.clone();
        assert!(std::pin::Pin::new(&mut third)
            .poll_fut(&mut cx)
            .is_pending());
        f(tcs, third);
        drop(task);
    });
}

#[test]
fn a_wide_half_awaiter_re_registering_races_completion() {
    model(|| {
        with_one_in_the_wide_half(|tcs, third| {
            let again = thread::spawn(move || loom::future::block_on(third));
            tcs.set_result(4);
            assert_eq!(again.join().unwrap(), Ok(4));
        });
    });
}

#[test]
fn a_wide_half_awaiter_dropped_races_completion() {
    model(|| {
        with_one_in_the_wide_half(|tcs, third| {
            let dropped = thread::spawn(move || drop(third));
            tcs.set_result(4);
            dropped.join().unwrap();
        });
    });
}

/// The wide half open and its slot free again (its awaiter dropped): a new awaiter reserves
/// it on the inline path (`SLAB_WIDE` seen in its one load of the state word, its thread's
/// wide shard tried first) while the task completes.
#[test]
fn a_new_awaiter_reserving_inline_in_the_open_wide_half_races_completion() {
    model(|| {
        with_one_in_the_wide_half(|tcs, third| {
            let task = third.clone();
            drop(third);
            let new = thread::spawn(move || loom::future::block_on(task));
            tcs.set_result(4);
            assert_eq!(new.join().unwrap(), Ok(4));
        });
    });
}

/// Two new awaiters both find the narrow half full: one opens the wide half and takes its
/// slot, the other finds the bit set (or sets it first) and goes on to the overflow; then the
/// task completes.
#[test]
fn two_new_awaiters_opening_the_wide_half_lose_no_wakeup() {
    two_new_awaiters_race_each_other_then_completion(2);
}

/// The slab is full: the new awaiter creates the overflow under `LOCKED` and sets
/// `HAS_OVERFLOW` while the task completes.
#[test]
fn an_overflow_created_while_the_task_completes_loses_no_wakeup() {
    a_new_awaiter_races_completion(3);
}

/// The slab is full: one new awaiter creates the overflow under `LOCKED` and sets
/// `HAS_OVERFLOW`; the other finds the lock held, or the bit set and goes straight to the
/// overflow, or creates the overflow itself. Then the task completes.
#[test]
fn a_new_awaiter_racing_the_one_creating_the_overflow_loses_no_wakeup() {
    two_new_awaiters_race_each_other_then_completion(3);
}

#[test]
fn a_new_awaiter_going_straight_to_the_overflow_races_completion() {
    model(|| {
        with_two_in_the_overflow(|tcs, third, fourth| {
            let fifth = third.clone();
            let late = thread::spawn(move || loom::future::block_on(fifth));
            tcs.set_result(4);
            assert_eq!(late.join().unwrap(), Ok(4));
            drop((third, fourth));
        });
    });
}

/// Two awaiters in the overflow already (registered with a waker that does nothing).
fn with_two_in_the_overflow(f: impl FnOnce(TaskCompletionSource<u32>, Task<u32>, Task<u32>)) {
    with_three_registered(|tcs, task| {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let (mut third, mut fourth) = (task.clone(), task);
        assert!(std::pin::Pin::new(&mut third)
            .poll_fut(&mut cx)
            .is_pending());
        assert!(std::pin::Pin::new(&mut fourth)
            .poll_fut(&mut cx)
            .is_pending());
        f(tcs, third, fourth);
    });
}

#[test]
fn an_overflow_awaiter_re_registering_races_completion() {
    model(|| {
        with_two_in_the_overflow(|tcs, third, fourth| {
            let again = thread::spawn(move || loom::future::block_on(third));
            tcs.set_result(4);
            assert_eq!(again.join().unwrap(), Ok(4));
            drop(fourth);
        });
    });
}

#[test]
fn an_overflow_awaiter_dropped_races_completion() {
    model(|| {
        with_two_in_the_overflow(|tcs, third, fourth| {
            let dropped = thread::spawn(move || drop(fourth));
            tcs.set_result(4);
            dropped.join().unwrap();
            assert_eq!(third.try_result(), Some(Ok(&4)));
        });
    });
}

#[test]
fn an_overflow_awaiter_re_registering_or_dropped_races_completion() {
    model_three_threads(|| {
        with_two_in_the_overflow(|tcs, third, fourth| {
            // One re-registers with `block_on`'s waker, one goes away.
            let again = thread::spawn(move || loom::future::block_on(third));
            let dropped = thread::spawn(move || drop(fourth));
            tcs.set_result(4);
            assert_eq!(again.join().unwrap(), Ok(4));
            dropped.join().unwrap();
        });
    });
}

#[test]
fn two_completers_race_and_exactly_one_wins() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let other = tcs.clone();
        let task = tcs.task();
        let t = thread::spawn(move || other.try_set_result(1u32).is_ok());
        let here = tcs.try_set_result(2).is_ok();
        let there = t.join().unwrap();
        assert!(here ^ there);
        let v = *task.try_result().unwrap().unwrap();
        assert_eq!(v, if here { 2 } else { 1 });
    });
}

#[test]
fn the_last_handle_frees_the_cell_after_another_threads_read_of_its_output() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        tcs.set_result(String::from("seven"));
        drop(tcs); // it holds a handle too
        let other = task.clone();
        // Whichever handle goes last drops the output and frees the cell: after the other
        // thread's read of it (loom checks the cell's accesses against the count's orders).
        let reader = thread::spawn(move || {
            assert_eq!(other.try_result().unwrap().unwrap(), "seven");
            drop(other);
        });
        assert_eq!(task.try_result().unwrap().unwrap(), "seven");
        drop(task);
        reader.join().unwrap();
    });
}

/// `try_unwrap` races another thread's read and drop of its handle, and the completion: it
/// moves the output out only once it is complete and the other handles are gone (after their
/// reads, which loom checks against the count's orders), else hands the task back; the
/// output is dropped exactly once either way.
#[test]
fn try_unwrap_takes_the_output_only_after_the_other_handles_are_gone() {
    model(|| {
        let tcs = TaskCompletionSource::new();
        let task = tcs.task();
        let other = task.clone();
        let reader = thread::spawn(move || {
            tcs.set_result(String::from("seven"));
            drop(tcs);
            assert_eq!(other.try_result().unwrap().unwrap(), "seven");
            drop(other);
        });
        let task = match task.try_unwrap() {
            Ok(outcome) => {
                assert_eq!(outcome.unwrap(), "seven");
                reader.join().unwrap();
                return;
            }
            Err(task) => task,
        };
        reader.join().unwrap();
        let Ok(Ok(value)) = task.try_unwrap() else {
            panic!("complete and the only handle: unwraps")
        };
        assert_eq!(value, "seven");
    });
}

#[test]
fn dropping_the_last_sources_on_two_threads_abandons_exactly_once() {
    model(|| {
        let tcs = TaskCompletionSource::<u32>::new();
        let other = tcs.clone();
        let task = tcs.task();
        let t = thread::spawn(move || drop(other));
        drop(tcs);
        t.join().unwrap();
        assert_eq!(loom::future::block_on(task), Err(TaskError::Abandoned));
    });
}

/// Two sources of a task nobody took a handle of, dropped on two threads: the last one
/// finds the cell held only by sources (the other's reference may not be gone yet), so it
/// frees the cell unreported. A report here would be an abandonment nobody could await.
#[test]
fn dropping_two_sources_of_a_task_with_no_handle_reports_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static REPORTS: AtomicUsize = AtomicUsize::new(0);
    valuetask::set_unobserved_error_hook(|_| {
        REPORTS.fetch_add(1, Ordering::SeqCst);
    });
    model(|| {
        REPORTS.store(0, Ordering::SeqCst);
        let tcs = TaskCompletionSource::<u32>::new();
        let other = tcs.clone();
        let t = thread::spawn(move || drop(other));
        drop(tcs);
        t.join().unwrap();
        assert_eq!(
            REPORTS.load(Ordering::SeqCst),
            0,
            "an abandonment nobody could see was reported"
        );
    });
}

#[test]
fn bridge_completes_the_task_when_the_backing_task_completes_elsewhere() {
    model(|| {
        let tcs = TaskCompletionSource::<u32>::new();
        let bridged: Task<Result<u32, TaskError>> = ValueTask::from(tcs.task()).as_task();
        let producer = thread::spawn(move || tcs.set_result(5));
        assert_eq!(loom::future::block_on(bridged), Ok(Ok(5)));
        producer.join().unwrap();
    });
}

#[test]
fn bridge_started_while_the_backing_completes_loses_no_wakeup() {
    model(|| {
        let tcs = TaskCompletionSource::<u32>::new();
        let backing = ValueTask::from(tcs.task());
        let producer = thread::spawn(move || tcs.set_result(6));
        let bridged = backing.as_task();
        assert_eq!(loom::future::block_on(bridged), Ok(Ok(6)));
        producer.join().unwrap();
    });
}

/// `Pin<&mut Task>` polling without naming `Future` at every call site.
trait PollFut {
    type Output;
    fn poll_fut(self, cx: &mut Context<'_>) -> Poll<Self::Output>;
}

impl PollFut for std::pin::Pin<&mut Task<u32>> {
    type Output = Result<u32, TaskError>;
    fn poll_fut(self, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::future::Future::poll(self, cx)
    }
}

#[test]
fn when_any_registration_races_a_completion_and_the_completer_wins() {
    model(|| {
        let (never, done) = (
            TaskCompletionSource::<u32>::new(),
            TaskCompletionSource::new(),
        );
        let (tn, td) = (never.task(), done.task());
        let completer = thread::spawn(move || done.set_result(1u32));
        let any = Task::when_any([tn.clone(), td.clone()]);
        let winner = loom::future::block_on(any).unwrap();
        assert!(winner.ptr_eq(&td), "the only input that completed");
        completer.join().unwrap();
        drop(winner);
        // The loser let go of its registration: nothing (its cell holding the combinator's
        // waker, the combinator a handle of the winner) keeps the winner's cell shared.
        assert!(td.try_unwrap().is_ok(), "the combinator was freed");
        drop(never);
    });
}

#[test]
fn when_any_two_completions_race_registration_and_one_wins() {
    model_three_threads(|| {
        let (a, b) = (TaskCompletionSource::new(), TaskCompletionSource::new());
        let (ta, tb) = (a.task(), b.task());
        let ha = thread::spawn(move || a.set_result(1u32));
        let hb = thread::spawn(move || b.set_result(2u32));
        let any = Task::when_any([ta.clone(), tb.clone()]);
        let winner = loom::future::block_on(any).unwrap();
        assert!(winner.ptr_eq(&ta) || winner.ptr_eq(&tb));
        ha.join().unwrap();
        hb.join().unwrap();
    });
}

/// A bridge (`when_all`'s) woken by two producers on two threads: the run moves to the first
/// producer's thread, registers with the second input there, and may be woken by the second
/// producer while it still runs (`NOTIFIED`) or after it went idle (a new run on that
/// thread): no wake-up is lost, and the bridge's future is never polled by two threads at
/// once (loom checks its cell).
#[test]
fn a_bridge_woken_by_two_producers_on_two_threads_loses_no_wakeup() {
    model_three_threads(|| {
        let (a, b) = (TaskCompletionSource::new(), TaskCompletionSource::new());
        let all = Task::when_all([a.task(), b.task()]);
        let ha = thread::spawn(move || a.set_result(1u32));
        let hb = thread::spawn(move || b.set_result(2u32));
        assert_eq!(loom::future::block_on(all), Ok(vec![1, 2]));
        ha.join().unwrap();
        hb.join().unwrap();
    });
}

/// `when_each`'s stream (registered with its inputs at the call, then polled once, keeping
/// its waker), awaited here while they complete on another thread, the second first: a completion finds the stream's waker or
/// lands in the queue the stream looks at next, the other lands while the stream hands out
/// the first; both handed out, in completion order, none lost.
#[test]
fn when_each_hands_out_completions_racing_its_polls_in_order() {
    model(|| {
        let (first, second) = (
            TaskCompletionSource::<u32>::new(),
            TaskCompletionSource::<u32>::new(),
        );
        let mut each = Task::when_each([first.task(), second.task()]);
        let registered = std::future::Future::poll(
            std::pin::pin!(each.next()),
            &mut Context::from_waker(std::task::Waker::noop()),
        );
        assert!(registered.is_pending());
        let completer = thread::spawn(move || {
            second.set_result(2);
            first.set_result(1);
        });
        let a = loom::future::block_on(each.next()).expect("two inputs");
        let b = loom::future::block_on(each.next()).expect("two inputs");
        assert_eq!(
            (a.try_result(), b.try_result()),
            (Some(Ok(&2)), Some(Ok(&1)))
        );
        assert!(loom::future::block_on(each.next()).is_none());
        completer.join().unwrap();
    });
}

/// `when_each`'s stream dropped while one input completes on another thread and the other
/// never does: the withdrawals and the completion's wake-up race. A wake-up already under
/// way (the completer took the input's waker before the withdrawal) may still reach the
/// stream's waker after the drop, once; none is doubled, no clone of it is kept, and the
/// input is let go.
#[test]
fn when_each_dropped_while_its_input_completes() {
    model(|| {
        let tcs = TaskCompletionSource::<u32>::new();
        let never = TaskCompletionSource::<u32>::new();
        let task = tcs.task();
        let mut each = Task::when_each([task.clone(), never.task()]);
        // A loom atomic: its store and the wake-up's load are steps loom orders both ways.
        let dropped = std::sync::Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let late = std::sync::Arc::new(LateWakes {
            dropped: dropped.clone(),
            count: std::sync::atomic::AtomicUsize::new(0),
        });
        let waker = std::task::Waker::from(late.clone());
        let polled = std::future::Future::poll(
            std::pin::pin!(each.next()),
            &mut Context::from_waker(&waker),
        );
        assert!(polled.is_pending());
        let completer = thread::spawn(move || tcs.set_result(5));
        drop(each);
        dropped.store(true, std::sync::atomic::Ordering::SeqCst);
        completer.join().unwrap();
        assert!(late.count.load(std::sync::atomic::Ordering::SeqCst) <= 1);
        drop(waker);
        assert_eq!(std::sync::Arc::strong_count(&late), 1, "no clone kept");
        assert!(task.try_unwrap().is_ok(), "the stream kept no handle");
        drop(never);
    });
}

/// Counts the wake-ups that come after `dropped` was set.
struct LateWakes {
    dropped: std::sync::Arc<loom::sync::atomic::AtomicBool>,
    count: std::sync::atomic::AtomicUsize,
}

impl std::task::Wake for LateWakes {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        if self.dropped.load(std::sync::atomic::Ordering::SeqCst) {
            self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
