//! Model-based test of `Task` + `TaskCompletionSource`: random sequences of operations on the
//! real types, checked after every step against a plain reference model (no atomics): status,
//! results, which awaiters were woken and how often, continuations and `when_all` over the
//! task, and the heap balance once everything is dropped.
//!
//! `PROPTEST_CASES` raises the number of sequences (default 256); a failure shrinks to a
//! minimal sequence of operations, printed with the failure.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::CountingWaker;
use proptest::prelude::*;
use valuetask::{
    ContinuationOptions, ContinueOn, Task, TaskCompletionSource, TaskError, TaskStatus,
};

/// Live heap bytes allocated and freed by this thread (the model runs on one thread).
#[global_allocator]
static ALLOC: common::CountingAllocator = common::CountingAllocator::PER_THREAD;

fn live() -> i64 {
    alloc_count::thread_counts().live
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Value(u32),
    Faulted,
    Canceled,
    Abandoned,
}

impl Outcome {
    fn of(result: Result<&u32, &TaskError>) -> Self {
        match result {
            Ok(&v) => Outcome::Value(v),
            Err(TaskError::Canceled) => Outcome::Canceled,
            Err(TaskError::Abandoned) => Outcome::Abandoned,
            Err(TaskError::Faulted(_)) => Outcome::Faulted,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    fn status(self) -> TaskStatus {
        match self {
            Outcome::Value(_) => TaskStatus::RanToCompletion,
            Outcome::Canceled => TaskStatus::Canceled,
            Outcome::Faulted | Outcome::Abandoned => TaskStatus::Faulted,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    CloneSource(usize),
    DropSource(usize),
    SetResult(usize, u32),
    SetFaulted(usize),
    SetCanceled(usize),
    CloneHandle(usize),
    DropHandle(usize),
    /// Poll the handle's await (starting one if it has none).
    Poll(usize),
    /// Drop the handle's await, registered or not.
    DropAwait(usize),
    ContinueSynchronously(usize),
    WhenAllTwice(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..4usize;
    prop_oneof![
        1 => i.clone().prop_map(Op::CloneSource),
        1 => i.clone().prop_map(Op::DropSource),
        1 => (i.clone(), any::<u32>()).prop_map(|(s, v)| Op::SetResult(s, v)),
        1 => i.clone().prop_map(Op::SetFaulted),
        1 => i.clone().prop_map(Op::SetCanceled),
        1 => i.clone().prop_map(Op::CloneHandle),
        1 => i.clone().prop_map(Op::DropHandle),
        3 => i.clone().prop_map(Op::Poll),
        1 => i.clone().prop_map(Op::DropAwait),
        1 => i.clone().prop_map(Op::ContinueSynchronously),
        1 => i.prop_map(Op::WhenAllTwice),
    ]
}

/// One task handle of the real system and what the model expects of it.
struct Handle {
    task: Task<u32>,
    /// An await of the task by value (a `Task` is a future of a clone of its outcome).
    awaiting: Option<Pin<Box<Task<u32>>>>,
    counter: Arc<CountingWaker>,
    waker: Waker,
    /// Model: the await registered (polled `Pending`) and not yet woken.
    registered: bool,
    /// Model: wakes expected so far.
    wakes: usize,
}

impl Handle {
    fn new(task: Task<u32>) -> Self {
        let (counter, waker) = CountingWaker::new();
        Handle {
            task,
            awaiting: None,
            counter,
            waker,
            registered: false,
            wakes: 0,
        }
    }
}

/// Derived tasks and what they must end as, given the source task's outcome.
enum Derived {
    Continuation(Task<u32>),
    WhenAll(Task<Vec<u32>>),
}

/// Run `ops` twice: the second run must leave the heap exactly where it found it (the first
/// one may fill thread-local caches, such as the waiter slab kept for reuse).
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    run_once(ops)?;
    let before = live();
    run_once(ops)?;
    prop_assert_eq!(
        live(),
        before,
        "live bytes after dropping everything, a second time"
    );
    Ok(())
}

fn run_once(ops: &[Op]) -> Result<(), TestCaseError> {
    {
        let first = TaskCompletionSource::<u32>::new();
        let mut handles: Vec<Option<Handle>> = vec![Some(Handle::new(first.task()))];
        let mut sources: Vec<Option<TaskCompletionSource<u32>>> = vec![Some(first)];
        let mut derived: Vec<Derived> = Vec::new();
        // Model.
        let mut outcome: Option<Outcome> = None;

        let pick = |n: usize, len: usize| if len == 0 { None } else { Some(n % len) };
        for op in ops {
            let mut completed_now = None;
            match *op {
                Op::CloneSource(s) => {
                    if let Some(Some(src)) = pick(s, sources.len()).map(|s| &sources[s]) {
                        let clone = src.clone();
                        sources.push(Some(clone));
                    }
                }
                Op::DropSource(s) => {
                    if let Some(s) = pick(s, sources.len()) {
                        if sources[s].take().is_some()
                            && outcome.is_none()
                            && sources.iter().all(Option::is_none)
                        {
                            completed_now = Some(Outcome::Abandoned);
                        }
                    }
                }
                Op::SetResult(s, v) => {
                    if let Some(Some(src)) = pick(s, sources.len()).map(|s| &sources[s]) {
                        let done = src.try_set_result(v).is_ok();
                        prop_assert_eq!(done, outcome.is_none(), "try_set_result");
                        if done {
                            completed_now = Some(Outcome::Value(v));
                        }
                    }
                }
                Op::SetFaulted(s) => {
                    if let Some(Some(src)) = pick(s, sources.len()).map(|s| &sources[s]) {
                        let error = TaskError::faulted(std::io::Error::other("model"));
                        let done = src.try_set_error(error).is_ok();
                        prop_assert_eq!(done, outcome.is_none(), "try_set_error");
                        if done {
                            completed_now = Some(Outcome::Faulted);
                        }
                    }
                }
                Op::SetCanceled(s) => {
                    if let Some(Some(src)) = pick(s, sources.len()).map(|s| &sources[s]) {
                        let done = src.try_set_canceled();
                        prop_assert_eq!(done, outcome.is_none(), "try_set_canceled");
                        if done {
                            completed_now = Some(Outcome::Canceled);
                        }
                    }
                }
                Op::CloneHandle(h) => {
                    if let Some(Some(handle)) = pick(h, handles.len()).map(|h| &handles[h]) {
                        let task = handle.task.clone();
                        handles.push(Some(Handle::new(task)));
                    }
                }
                Op::DropHandle(h) => {
                    if let Some(h) = pick(h, handles.len()) {
                        handles[h] = None;
                    }
                }
                Op::Poll(h) => {
                    if let Some(Some(handle)) = pick(h, handles.len()).map(|h| &mut handles[h]) {
                        let task = handle.task.clone();
                        let awaiting = handle.awaiting.get_or_insert_with(|| Box::pin(task));
                        let polled = awaiting
                            .as_mut()
                            .poll(&mut Context::from_waker(&handle.waker));
                        match (polled, outcome) {
                            (Poll::Ready(result), Some(expected)) => {
                                prop_assert_eq!(Outcome::of(result.as_ref()), expected);
                                handle.awaiting = None;
                                handle.registered = false;
                            }
                            (Poll::Pending, None) => handle.registered = true,
                            (polled, expected) => {
                                return Err(TestCaseError::fail(format!(
                                    "polled {:?}, the model says {expected:?}",
                                    polled.map(|r| r.map_err(|e| e.to_string()))
                                )))
                            }
                        }
                    }
                }
                Op::DropAwait(h) => {
                    if let Some(Some(handle)) = pick(h, handles.len()).map(|h| &mut handles[h]) {
                        handle.awaiting = None;
                        handle.registered = false;
                    }
                }
                Op::ContinueSynchronously(h) => {
                    if let Some(Some(handle)) = pick(h, handles.len()).map(|h| &handles[h]) {
                        let options = ContinuationOptions::default().on(ContinueOn::Synchronously);
                        let next = handle.task.continue_with_options(options, |t| {
                            match t.try_result().expect("complete when continued") {
                                Ok(v) => v.wrapping_add(1),
                                Err(_) => 0,
                            }
                        });
                        derived.push(Derived::Continuation(next));
                    }
                }
                Op::WhenAllTwice(h) => {
                    if let Some(Some(handle)) = pick(h, handles.len()).map(|h| &handles[h]) {
                        let both = [handle.task.clone(), handle.task.clone()];
                        derived.push(Derived::WhenAll(Task::when_all(both)));
                    }
                }
            }
            if let Some(done) = completed_now {
                prop_assert!(outcome.is_none());
                outcome = Some(done);
                for handle in handles.iter_mut().flatten() {
                    if std::mem::take(&mut handle.registered) {
                        handle.wakes += 1;
                    }
                }
            }
            // Every live handle agrees with the model, and each registered await was woken
            // once per completion, never otherwise.
            for handle in handles.iter().flatten() {
                let expected_status = outcome.map_or(TaskStatus::Pending, Outcome::status);
                prop_assert_eq!(handle.task.status(), expected_status, "after {:?}", op);
                prop_assert_eq!(
                    handle.task.try_result().map(Outcome::of),
                    outcome,
                    "after {:?}",
                    op
                );
                prop_assert_eq!(handle.counter.count(), handle.wakes, "wakes after {:?}", op);
            }
            for d in &derived {
                match (d, outcome) {
                    (Derived::Continuation(t), None) => prop_assert!(!t.is_completed()),
                    (Derived::Continuation(t), Some(o)) => {
                        let expected = match o {
                            Outcome::Value(v) => v.wrapping_add(1),
                            _ => 0,
                        };
                        prop_assert_eq!(
                            t.try_result().map(|r| r.ok().copied()),
                            Some(Some(expected))
                        );
                    }
                    (Derived::WhenAll(t), None) => prop_assert!(!t.is_completed()),
                    (Derived::WhenAll(t), Some(Outcome::Value(v))) => {
                        prop_assert_eq!(
                            t.try_result().map(|r| r.ok().cloned()),
                            Some(Some(vec![v, v]))
                        );
                    }
                    (Derived::WhenAll(t), Some(o)) => {
                        let status = t.status();
                        let expected = match o {
                            Outcome::Canceled => TaskStatus::Canceled,
                            _ => TaskStatus::Faulted,
                        };
                        prop_assert_eq!(status, expected);
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn task_and_completion_source_follow_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops)?;
    }
}

/// A warm-up before the model runs, so thread-local caches (the waiter slab kept for reuse)
/// exist before any balance is taken.
#[test]
fn the_model_holds_for_a_known_sequence() {
    use Op::*;
    let ops = [
        CloneHandle(0),
        Poll(0),
        Poll(1),
        ContinueSynchronously(0),
        WhenAllTwice(1),
        CloneSource(0),
        DropSource(0),
        Poll(1),
        SetResult(1, 5),
        Poll(0),
        DropAwait(1),
        SetCanceled(1),
    ];
    run(&ops).unwrap();
}
