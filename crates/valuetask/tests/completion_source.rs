//! `TaskCompletionSource<T>`: completing once, racing completers, dropping, continuations.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::poll_once;
use valuetask::{Continuations, Task, TaskCompletionSource, TaskError, TaskStatus};

#[test]
fn set_result_completes_the_task_every_handle_sees() {
    let tcs = TaskCompletionSource::new();
    let (a, b) = (tcs.task(), tcs.task());
    assert!(a.ptr_eq(&b));
    assert!(!tcs.is_completed());
    tcs.set_result(5);
    assert!(tcs.is_completed());
    assert_eq!(a.try_result(), Some(Ok(&5)));
    assert_eq!(b.status(), TaskStatus::RanToCompletion);
}

#[test]
fn set_error_and_set_canceled_complete_as_faulted_and_canceled() {
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.set_error(TaskError::panicked("bad"));
    assert_eq!(tcs.task().status(), TaskStatus::Faulted);

    let tcs = TaskCompletionSource::<u8>::new();
    tcs.set_canceled();
    assert_eq!(tcs.task().status(), TaskStatus::Canceled);
    assert_eq!(tcs.task().error(), Some(&TaskError::Canceled));
}

#[test]
#[should_panic(expected = "TaskCompletionSource::set_result: the task was already completed")]
fn second_set_result_panics_with_a_message() {
    let tcs = TaskCompletionSource::new();
    tcs.set_result(1);
    tcs.set_result(2);
}

#[test]
#[should_panic(expected = "TaskCompletionSource::set_canceled: the task was already completed")]
fn set_canceled_after_set_error_panics_with_a_message() {
    let tcs = TaskCompletionSource::<u8>::new();
    tcs.set_error(TaskError::Canceled);
    tcs.set_canceled();
}

#[test]
fn a_losing_set_leaves_the_first_result() {
    let tcs = TaskCompletionSource::new();
    tcs.set_result(1);
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tcs.set_result(2)));
    assert!(second.is_err());
    assert_eq!(tcs.task().try_result(), Some(Ok(&1)));
}

#[test]
fn try_set_hands_the_value_back_when_already_completed() {
    let tcs = TaskCompletionSource::new();
    assert_eq!(tcs.try_set_result(String::from("first")), Ok(()));
    assert_eq!(
        tcs.try_set_result(String::from("second")),
        Err(String::from("second"))
    );
    let e = TaskError::panicked("late");
    assert_eq!(tcs.try_set_error(e.clone()), Err(e));
    assert!(!tcs.try_set_canceled());
    assert_eq!(
        tcs.try_set_outcome(Ok(String::from("third"))),
        Err(Ok(String::from("third")))
    );
    assert_eq!(
        tcs.task().try_result().map(|r| r.cloned()),
        Some(Ok("first".to_string()))
    );
}

/// The `try_` forms report success when they complete the task.
#[test]
fn try_set_canceled_and_try_set_outcome_succeed_on_a_pending_task() {
    let tcs = TaskCompletionSource::<u8>::new();
    assert!(tcs.try_set_canceled());
    assert_eq!(tcs.task().status(), TaskStatus::Canceled);
    let tcs = TaskCompletionSource::<u8>::new();
    assert_eq!(tcs.try_set_outcome(Err(TaskError::panicked("x"))), Ok(()));
    assert_eq!(tcs.task().wait(), Err(&TaskError::panicked("x")));
}

#[test]
fn racing_completers_on_many_threads_have_exactly_one_winner() {
    for _ in 0..200 {
        let tcs = TaskCompletionSource::new();
        let winners: usize = thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|i| {
                    let tcs = tcs.clone();
                    s.spawn(move || usize::from(tcs.try_set_result(i).is_ok()))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(winners, 1);
        assert!(tcs.task().is_completed_successfully());
    }
}

#[test]
fn dropping_every_source_of_a_pending_task_abandons_it() {
    let tcs = TaskCompletionSource::<u8>::new();
    let clone = tcs.clone();
    let task = tcs.task();
    drop(tcs);
    assert_eq!(task.status(), TaskStatus::Pending, "a clone still lives");
    drop(clone);
    assert_eq!(task.status(), TaskStatus::Faulted);
    assert_eq!(task.error(), Some(&TaskError::Abandoned));
    assert!(task.error().unwrap().to_string().contains("abandoned"));
}

#[test]
fn an_awaiter_of_an_abandoned_task_is_released() {
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let waiter = thread::spawn(move || futures::executor::block_on(task));
    thread::sleep(Duration::from_millis(5));
    drop(tcs);
    assert_eq!(waiter.join().unwrap(), Err(TaskError::Abandoned));
}

#[test]
fn dropping_sources_after_completion_keeps_the_result() {
    let tcs = TaskCompletionSource::new();
    let task = tcs.task();
    tcs.clone().set_result(3);
    drop(tcs);
    assert_eq!(task.try_result(), Some(Ok(&3)));
}

/// Records which thread woke it, and whether `set_result` had returned by then.
struct Observer {
    woke_on: Mutex<Option<ThreadId>>,
    set_returned: Arc<AtomicBool>,
    saw_set_returned: AtomicBool,
}

impl Wake for Observer {
    fn wake(self: Arc<Self>) {
        // Asynchronous continuations must not need the completing call to return first; give
        // it a moment to, and record what we saw.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.set_returned.load(Ordering::SeqCst) && Instant::now() < deadline {
            thread::yield_now();
        }
        self.saw_set_returned
            .store(self.set_returned.load(Ordering::SeqCst), Ordering::SeqCst);
        *self.woke_on.lock().unwrap() = Some(thread::current().id());
    }
}

fn observe(mode: Continuations) -> (Arc<Observer>, ThreadId) {
    let tcs = TaskCompletionSource::with_continuations(mode);
    let mut task: Task<u8> = tcs.task();
    let set_returned = Arc::new(AtomicBool::new(false));
    let observer = Arc::new(Observer {
        woke_on: Mutex::new(None),
        set_returned: set_returned.clone(),
        saw_set_returned: AtomicBool::new(false),
    });
    let waker = Waker::from(observer.clone());
    assert!(poll_once(&mut task, &waker).is_pending());
    if mode == Continuations::Inline {
        // Inline: the waker runs inside set_result and would wait the full 5 s for the flag.
        set_returned.store(true, Ordering::SeqCst);
    }
    tcs.set_result(1);
    set_returned.store(true, Ordering::SeqCst);
    assert_eq!(task.wait_timeout(Duration::from_secs(5)), Some(Ok(&1)));
    let deadline = Instant::now() + Duration::from_secs(5);
    while observer.woke_on.lock().unwrap().is_none() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    (observer, thread::current().id())
}

#[test]
fn inline_continuations_wake_on_the_completing_thread() {
    let (observer, me) = observe(Continuations::Inline);
    assert_eq!(*observer.woke_on.lock().unwrap(), Some(me));
}

#[test]
fn asynchronous_continuations_wake_after_set_returns_on_another_thread() {
    let (observer, me) = observe(Continuations::Asynchronous);
    let woke_on = observer.woke_on.lock().unwrap().expect("the waker ran");
    assert_ne!(woke_on, me);
    assert!(observer.saw_set_returned.load(Ordering::SeqCst));
}

#[test]
fn debug_is_implemented() {
    let tcs = TaskCompletionSource::<u8>::default();
    assert!(format!("{tcs:?}").contains("TaskCompletionSource"));
}

/// The continuation thread survives a waker whose panic payload panics again when dropped:
/// asynchronous completions after it still wake their awaiters.
#[test]
fn the_continuation_thread_survives_a_panic_payload_that_panics_when_dropped() {
    struct PayloadThatPanicsOnDrop;
    impl Drop for PayloadThatPanicsOnDrop {
        fn drop(&mut self) {
            panic!("the payload's drop panics too");
        }
    }
    struct Bomb;
    impl Wake for Bomb {
        fn wake(self: Arc<Self>) {
            std::panic::panic_any(PayloadThatPanicsOnDrop);
        }
    }
    let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
    let mut task = tcs.task();
    assert!(poll_once(&mut task, &Waker::from(Arc::new(Bomb))).is_pending());
    tcs.set_result(1);
    // The continuation thread runs the bomb; afterwards it must still work.
    for round in 0..3 {
        let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let task = tcs.task();
        let waiter = thread::spawn(move || {
            let waited = task.wait_timeout(Duration::from_secs(5));
            waited.map(|r| r.copied().map_err(TaskError::clone))
        });
        thread::sleep(Duration::from_millis(10));
        tcs.set_result(round);
        assert_eq!(waiter.join().unwrap(), Some(Ok(round)), "round {round}");
    }
}

/// An empty aggregate names no failure: .NET's `SetException` rejects an empty list. The try
/// forms hand it back and leave the task pending; the others panic naming the misuse.
#[test]
fn an_empty_aggregate_is_refused_and_the_task_stays_pending() {
    let tcs = TaskCompletionSource::<u8>::new();
    let task = tcs.task();
    let none = || TaskError::Aggregate(Vec::new().into());
    assert!(matches!(tcs.try_set_error(none()), Err(TaskError::Aggregate(e)) if e.is_empty()));
    assert!(matches!(
        tcs.try_set_outcome(Err(none())),
        Err(Err(TaskError::Aggregate(_)))
    ));
    assert_eq!(task.status(), TaskStatus::Pending);
    for set in [
        Box::new(|| tcs.set_error(none())) as Box<dyn Fn()>,
        Box::new(|| tcs.set_outcome(Err(none()))),
    ] {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(set)).unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("empty TaskError::Aggregate"), "{message}");
    }
    assert!(!task.is_completed());
    // A real aggregate still faults it.
    let one = TaskError::Aggregate(vec![TaskError::Canceled].into());
    assert_eq!(tcs.try_set_error(one.clone()), Ok(()));
    assert_eq!(task.wait(), Err(&one));
}

/// An empty `TaskError::Aggregate` is refused by `TaskCompletionSource`'s setters (as .NET's
/// `SetException` refuses an empty list) but accepted elsewhere (`Task::from_error`, a pool's
/// `Completer`, a core): the library's forwarders pass it on as it is, where they made it
/// `Abandoned` (their own `set_outcome` panicked) or never completed the task.
#[test]
fn forwarders_pass_an_empty_aggregate_on() {
    let empty = || TaskError::Aggregate(Vec::new().into());

    let pool = valuetask::CompletionPool::<u8>::new();
    let (reply, completer) = pool.rent();
    let task = reply.into_task();
    completer.set_error(empty());
    assert_eq!(task.error(), Some(&empty()), "into_task");

    let outer = TaskCompletionSource::<Task<u8>>::new();
    let flat = outer.task().flatten();
    outer.set_result(Task::from_error(empty()));
    assert_eq!(flat.error(), Some(&empty()), "flatten");

    #[cfg(feature = "tokio")]
    {
        let (reply, completer) = pool.rent();
        let waited = reply
            .into_task()
            .wait_async_timeout(Duration::from_secs(30));
        completer.set_error(empty());
        assert_eq!(
            waited.wait_timeout(Duration::from_secs(20)),
            Some(Err(&empty())),
            "wait_async"
        );
    }
}
