//! `Task::when_all`, `Task::when_any`, `Task::flatten` (.NET `Task.WhenAll`, `Task.WhenAny`,
//! `TaskExtensions.Unwrap`) and `ValueTask::when_all` / `ValueTask::when_any`, which .NET
//! lacks.
//!
//! No executor is needed. A pending `when_all` is a bridge (see `value_task/bridge.rs`) that
//! polls its inputs from their own wake-ups; a pending `when_any` registers one waker per
//! input ([`FirstOf`]): the first to be woken completes the result and withdraws the others,
//! so losers that never complete hold nothing. `flatten` is a bridge awaiting the outer task,
//! then the inner. `ValueTask::when_all` and `when_any` poll their pending inputs together,
//! in one future in pooled storage ([`all_of`], [`first_of`], which `LocalValueTask`'s use
//! too).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use crate::catch_panic::DropEachCaught;
use crate::completion_source::TaskCompletionSource;
use crate::sync::{AtomicBool, Mutex, Ordering};
use crate::task::waiters::WaiterKey;
use crate::task::{Task, TaskError, TaskOutput};
use crate::value_task::ValueTask;
use crate::wake_set::WakeSet;

/// One pending `when_any`: its inputs, its result, and each input's waiter slot.
struct FirstOf<T> {
    /// The inputs, perhaps their last handles: freed one at a time (see `when_all`).
    tasks: DropEachCaught<Task<T>>,
    any: TaskCompletionSource<Task<T>>,
    /// Set by the first input to complete (its waker is the first to run).
    decided: AtomicBool,
    /// Each input's waiter slot. Registering and withdrawing both hold this lock, so an input
    /// registered while the winner withdraws is withdrawn too (after the registration).
    keys: Mutex<Vec<WaiterKey>>,
}

/// The waker registered with input `index`.
struct InputWaker<T> {
    first: Arc<FirstOf<T>>,
    index: usize,
}

impl<T: Send + Sync + 'static> Wake for InputWaker<T> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.first.decide(self.index);
    }
}

impl<T: Send + Sync + 'static> FirstOf<T> {
    /// Input `index` completed: if it is the first, it is the result, and the other inputs'
    /// wakers are withdrawn (so losers that never complete hold nothing of this `when_any`).
    fn decide(&self, index: usize) {
        if self.decided.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            for (i, (task, key)) in self.tasks.0.iter().zip(keys.iter_mut()).enumerate() {
                if i != index {
                    task.raw.remove_waiter(key);
                }
            }
        }
        // Last: completing wakes `any`'s awaiters, whose wakers may panic.
        let _ = self.any.try_set_result(self.tasks.0[index].clone());
    }
}

/// The outcome of all `results`: every value in order, or the failures (faulted if any
/// failure is not a cancellation, else canceled), an input's own aggregate flattened into
/// them (an empty one kept as it is) (.NET's `WhenAll` adds a faulted input's inner exceptions one by one). Values thrown
/// away (some input failed) drop one at a time, a panicking `Drop` among them discarded (see
/// `DropEachCaught`).
/// `when_all`'s outcome of inputs that have all completed: their values cloned in input
/// order, or their failures combined ([`combine`]); a panicking `T::clone` is a fault with
/// its message. The clones made so far live outside the unwind and are dropped after it, one
/// at a time: a `T::drop` panicking during the unwind would abort.
fn combine_completed<T: Clone + Send + Sync + 'static>(
    tasks: &DropEachCaught<Task<T>>,
) -> TaskOutput<Vec<T>> {
    let mut results = DropEachCaught(Vec::with_capacity(tasks.0.len()));
    let cloned = catch_unwind(AssertUnwindSafe(|| {
        for task in &tasks.0 {
            let result = task.try_result().expect("every input has completed");
            results.0.push(result.cloned().map_err(TaskError::clone));
        }
    }));
    match cloned {
        Ok(()) => combine(results),
        Err(panic) => Err(crate::catch_panic::panic_error(panic)),
    }
}

fn combine<T>(mut results: DropEachCaught<TaskOutput<T>>) -> TaskOutput<Vec<T>> {
    let mut failures: Vec<TaskError> = Vec::new();
    // Decided on the inputs' own errors: an input faulted with an aggregate of cancellations
    // is still a fault, and one faulted with an empty aggregate is a failure (kept as it is).
    let mut faulted = false;
    let mut failed = false;
    for failure in results.0.iter().filter_map(|r| r.as_ref().err()) {
        failed = true;
        faulted |= !failure.is_canceled();
        match failure {
            TaskError::Aggregate(inner) if !inner.is_empty() => {
                failures.extend(inner.iter().cloned());
            }
            other => failures.push(other.clone()),
        }
    }
    if !failed {
        // Sized first: `flatten` gives no exact length, and `collect` would grow by doubling.
        let mut values = Vec::with_capacity(results.0.len());
        values.extend(std::mem::take(&mut results.0).into_iter().flatten());
        return Ok(values);
    }
    if !faulted {
        return Err(TaskError::Canceled);
    }
    Err(TaskError::Aggregate(Arc::from(failures)))
}

impl<'a, T: Send + 'a, E: Send + 'a> ValueTask<'a, Result<T, E>> {
    /// [`map`](ValueTask::map) of the error: the conversion a layer that changes a call's error
    /// type makes (`self.inner.get(key).await.map_err(MyError::from)`), with no future when
    /// the call completed at once.
    ///
    /// ```
    /// use valuetask::ValueTask;
    ///
    /// let failed: ValueTask<'_, Result<u8, u8>> = ValueTask::from_result(Err(4));
    /// assert_eq!(failed.map_err(|code| format!("code {code}")).get_result(), Err("code 4".to_string()));
    /// ```
    ///
    /// # Panics
    /// If this value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn map_err<F: Send + 'a>(
        self,
        f: impl FnOnce(E) -> F + Send + 'a,
    ) -> ValueTask<'a, Result<T, F>> {
        self.check_not_yielded("ValueTask::map_err");
        self.map(|result| result.map_err(f))
    }
}

impl<T: Clone + Send + Sync + 'static> Task<T> {
    /// A task that completes when every task in `tasks` has completed (.NET `Task.WhenAll`):
    /// with all the values in input order, or, if any failed, faulted with
    /// [`TaskError::Aggregate`] of every failure (canceled when every failure is a
    /// cancellation). An input that failed with an aggregate of its own (an inner
    /// `when_all`'s) adds its failures one by one, as .NET adds a faulted task's inner
    /// exceptions. Unlike .NET, whose aggregate holds only the faulted tasks' exceptions,
    /// the aggregate also lists the canceled inputs (as [`TaskError::Canceled`]): every
    /// failure is reported. An empty input completes at once with an empty `Vec`.
    ///
    /// ```
    /// use valuetask::Task;
    /// let all = Task::when_all([Task::from_result(1), Task::from_result(2)]);
    /// assert_eq!(all.wait(), Ok(&vec![1, 2]));
    /// ```
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn when_all(tasks: impl IntoIterator<Item = Task<T>>) -> Task<Vec<T>> {
        // The inputs may be the last handles: dropping one frees its value, whose `Drop` may
        // panic; one at a time, so two such panics cannot abort.
        let tasks = DropEachCaught::collect(tasks);
        if tasks.0.iter().all(Task::is_completed) {
            return match combine_completed(&tasks) {
                Ok(values) => Task::from_result(values),
                Err(error) => Task::from_error(error),
            };
        }
        let tcs = TaskCompletionSource::new();
        let all = tcs.task();
        // Every input completes before any is read, so a panicking `T::clone` faults `all`
        // only once no input is still running, as when they were complete at the call.
        let forward = async move {
            for task in &tasks.0 {
                task.completion().await;
            }
            tcs.forward_outcome(combine_completed(&tasks));
        };
        // The bridge lives in the inputs' waiter lists until the last one completes.
        ValueTask::boxed_lazy(forward).run_bridged_detached();
        all
    }
}

/// `when_any` hands back a task handle, not a value: no `T: Clone` needed.
impl<T: Send + Sync + 'static> Task<T> {
    /// A task that completes with the first task in `tasks` to complete (.NET
    /// `Task.WhenAny`), successfully even when that task failed: inspect it. "First" is the
    /// first whose completion wakes its waiters (for a source with asynchronous continuations,
    /// that happens on the continuation thread); among inputs already complete when it is
    /// called, the first in input order, as in .NET. Once decided, the other inputs are let
    /// go: an input that never completes keeps nothing of this `when_any` alive.
    ///
    /// # Panics
    /// If `tasks` is empty: there would be nothing to wait for (.NET throws
    /// `ArgumentException`).
    ///
    /// ```
    /// use valuetask::{Task, TaskCompletionSource};
    /// let never = TaskCompletionSource::<u8>::new();
    /// let first = Task::when_any([never.task(), Task::from_canceled()]);
    /// assert!(first.wait().unwrap().is_canceled());
    /// ```
    #[track_caller]
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn when_any(tasks: impl IntoIterator<Item = Task<T>>) -> Task<Task<T>> {
        // The inputs may be the last handles: freed one at a time, as in `when_all`.
        let tasks = DropEachCaught::collect(tasks);
        assert!(
            !tasks.0.is_empty(),
            "Task::when_any: no tasks given; there is nothing to wait for"
        );
        if let Some(done) = tasks.0.iter().find(|t| t.is_completed()) {
            return Task::from_result(done.clone());
        }
        let inputs = tasks.0.len();
        let first = Arc::new(FirstOf {
            tasks,
            any: TaskCompletionSource::new(),
            decided: AtomicBool::new(false),
            keys: Mutex::new(vec![WaiterKey::NONE; inputs]),
        });
        let any = first.any.task();
        let mut keys = first.keys.lock().unwrap_or_else(|e| e.into_inner());
        for index in 0..inputs {
            if first.decided.load(Ordering::Acquire) {
                break; // the winner withdraws what is registered once we unlock
            }
            let waker = Waker::from(Arc::new(InputWaker {
                first: Arc::clone(&first),
                index,
            }));
            let task = &first.tasks.0[index];
            if task.raw.poll_complete(&mut keys[index], &waker).is_ready() {
                // Completed while we registered: first unless a waker already decided.
                drop(keys);
                first.decide(index);
                return any;
            }
        }
        any
    }
}

impl<T: Clone + Send + Sync + 'static> Task<Task<T>> {
    /// The inner task's outcome once both have completed (.NET `TaskExtensions.Unwrap`): for
    /// the task a [`when_any`](Task::when_any) returns, or a continuation that starts more
    /// work. Faulted or canceled like the outer task if that failed, else like the inner
    /// one. When the outer task has already completed successfully, this is the inner task
    /// itself; otherwise a new task holding a clone of the inner's value, forwarded with no
    /// executor by the completions themselves. Takes the handle by value, as
    /// `Option::flatten` does, so that it is this method and not
    /// `futures::FutureExt::flatten` that a `Task<Task<T>>` calls. The outer and inner
    /// faults count as observed (they reach the flattened task, which reports its own if
    /// nobody looks at it). While the outer or inner task has not completed, the forwarding
    /// stays registered on it, so a task that never completes keeps it alive.
    ///
    /// ```
    /// use valuetask::{Task, TaskCompletionSource};
    ///
    /// let slow = TaskCompletionSource::<u8>::new();
    /// let fast = TaskCompletionSource::<u8>::new();
    /// let first = Task::when_any([slow.task(), fast.task()]).flatten();
    /// fast.set_result(2);
    /// assert_eq!(first.wait(), Ok(&2));
    /// ```
    #[must_use = "the returned task is the only effect of this call: await it or keep it"]
    pub fn flatten(self) -> Task<T> {
        match self.try_result() {
            Some(Ok(inner)) => return inner.clone(),
            Some(Err(error)) => return Task::from_error(error.clone()),
            None => {}
        }
        let outer = self;
        let tcs = TaskCompletionSource::new();
        let flat = tcs.task();
        // A panic cloning the value faults the flattened task.
        let outcome = crate::catch_panic::catch_panic(async move {
            match outer.result().await {
                Ok(inner) => inner.result().await.cloned().map_err(TaskError::clone),
                Err(error) => Err(error.clone()),
            }
        });
        let forward = async move { tcs.forward_outcome(outcome.await.and_then(|r| r)) };
        // Driven by the two completions' own wake-ups: inline on the completing threads.
        ValueTask::boxed_lazy(forward).run_bridged_detached();
        flat
    }
}

impl<'a, T: Send + 'a> ValueTask<'a, T> {
    /// A value task of `f` applied to this one's value: what an `async` method that awaits
    /// and converts returns (.NET has no `ValueTask` combinators). A value task complete now
    /// ([`is_completed`](Self::is_completed); a future-backed one is not polled here, it
    /// stays lazy; one keeping a body's panic waits for its await, where the panic resumes)
    /// is mapped at once: `f` runs here and the result is
    /// [`from_result`](Self::from_result)'s (a move for a result that fits two words), so a
    /// layer that converts a ready result runs no future. Otherwise the mapping waits in pooled storage, and `f` runs when the returned
    /// value task's value is taken.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, ValueTask};
    ///
    /// assert_eq!(ValueTask::from_result(20).map(|n| n + 1).get_result(), 21);
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let len = ValueTask::from(tcs.task()).map(|r| r.map(u32::from));
    /// tcs.set_result(7);
    /// assert_eq!(len.get_result(), Ok(7));
    /// ```
    ///
    /// # Panics
    /// If this value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn map<U: Send + 'a>(self, f: impl FnOnce(T) -> U + Send + 'a) -> ValueTask<'a, U> {
        self.check_not_yielded("ValueTask::map");
        if self.is_completed() {
            match self.try_get() {
                Ok(value) => return ValueTask::from_result(f(value)),
                Err(pending) => return ValueTask::new(async move { f(pending.await) }),
            }
        }
        ValueTask::new(async move { f(self.await) })
    }

    /// A value task yielding every value of `value_tasks` in input order (.NET has no
    /// `ValueTask.WhenAll`; this is `Task.WhenAll` for value tasks, none turned into a task).
    /// The inputs are taken in order while they are complete
    /// ([`is_completed`](Self::is_completed): a future-backed input is not polled here, it
    /// stays lazy); from the first that is not,
    /// the rest are awaited together, the combinator in pooled storage: when 32 or fewer are
    /// left from that one, each wake-up polls every input still pending, in input order (one
    /// waker for all, as `futures::join!`); when more, each gets a waker of its own (one
    /// allocation each, and three for the set, once) and a wake-up
    /// polls only the inputs it woke, so the polls grow with the inputs, not with their
    /// square (as `futures::future::join_all` past 30). When every input is already
    /// complete the only allocation is the output `Vec`, made once for inputs whose iterator
    /// knows its length (collections, and `map`s of them), once this thread's pool is warm
    /// (the value task holds the `Vec` in a pooled block). Values thrown away (an input that
    /// panics at the call, the combinator dropped half-way) are dropped one at a time, a
    /// panicking `Drop` among them discarded. An input iterator that panics is not asked
    /// for more (inputs it would make after that are never made, so their bodies never
    /// start), as with `collect`.
    ///
    /// # Panics
    /// If an input already yielded its value.
    ///
    /// ```
    /// use valuetask::ValueTask;
    /// let all = ValueTask::when_all((0..3).map(ValueTask::from_result));
    /// assert_eq!(all.get_result(), vec![0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn when_all(
        value_tasks: impl IntoIterator<Item = ValueTask<'a, T>>,
    ) -> ValueTask<'a, Vec<T>> {
        match all_of(value_tasks, "ValueTask::when_all") {
            Ok(values) => ValueTask::from_result(values),
            Err(rest) => ValueTask::new(rest),
        }
    }

    /// A value task yielding the index and value of the first of `value_tasks` to complete;
    /// the others are dropped then (.NET has no `ValueTask.WhenAny`; this is `Task.WhenAny`
    /// for value tasks, which yield values, not tasks). The inputs are collected first (one
    /// `Vec`); if some are already complete ([`is_completed`](Self::is_completed)), the first
    /// of them in input order whose result can be taken at once wins at once (a source may
    /// say it completed before its result can be taken: such an input stays in the race);
    /// otherwise the inputs are polled together, in
    /// input order on every wake-up, in pooled storage.
    ///
    /// A loser dropped is what dropping a value task does: a future behind it (an
    /// `async` body, [`ValueTask::new`]) is canceled, dropped unfinished; one over a
    /// [`Task`] or a source only stops waiting, and the work behind it goes on; a result a
    /// loser already had is dropped with it (futures' `select_all` hands the rest back; a
    /// loser whose result matters is better awaited as a `Task`, which [`Task::when_any`]
    /// leaves running and readable).
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, ValueTask};
    ///
    /// let slow = TaskCompletionSource::new();
    /// let first = ValueTask::when_any([ValueTask::from(slow.task()), ValueTask::from_result(Ok(1))]);
    /// assert_eq!(first.get_result(), (1, Ok(1)));
    /// // The losing task was not canceled: it completes, and its result is there to read.
    /// slow.set_result(2);
    /// assert_eq!(slow.task().wait(), Ok(&2));
    /// ```
    ///
    /// # Panics
    /// If `value_tasks` is empty: there would be nothing to wait for (as
    /// [`Task::when_any`]); or if an input already yielded its value.
    ///
    /// ```
    /// use valuetask::{CompletionPool, ValueTask};
    ///
    /// let pool = CompletionPool::<u32>::new();
    /// let (never, _keep) = pool.rent();
    /// let (soon, completer) = pool.rent();
    /// let first = ValueTask::when_any([never, soon]);
    /// completer.set_result(7);
    /// assert_eq!(first.get_result(), (1, Ok(7)));
    /// ```
    #[track_caller]
    pub fn when_any(
        value_tasks: impl IntoIterator<Item = ValueTask<'a, T>>,
    ) -> ValueTask<'a, (usize, T)> {
        match first_of(value_tasks, "ValueTask::when_any") {
            Ok(first) => ValueTask::from_result(first),
            Err(race) => ValueTask::new(race),
        }
    }
}

/// Up to this many inputs left pending, `all_of` polls them all at every wake-up, with the
/// combinator's waker (no allocation); past it, each input has a waker of its own
/// ([`WakeSet`]) and a wake-up polls the inputs that were woken (`futures::future::join_all`
/// changes strategy past 30 for the same reason).
const POLLED_TOGETHER: usize = 32;

/// `when_all` of value tasks (`ValueTask`'s and `LocalValueTask`'s, named `name` in a misuse
/// panic): their values while they are complete, in order; from the first that is not, a
/// future of them all, which polls the rest together ([`POLLED_TOGETHER`]).
#[track_caller]
pub(crate) fn all_of<'a, T: 'a>(
    value_tasks: impl IntoIterator<Item = ValueTask<'a, T>>,
    name: &'static str,
) -> Result<Vec<T>, impl Future<Output = Vec<T>> + 'a> {
    // The values taken, and the inputs not yet looked at or left pending, are dropped one at
    // a time if thrown away (an input's panic at the call, the combinator dropped half-way),
    // each panicking `Drop` discarded: a second panic while the first unwinds aborted.
    let mut inputs = DrainCaught {
        inputs: value_tasks.into_iter(),
        ended: false,
    };
    let mut values = DropEachCaught(Vec::with_capacity(inputs.inputs.size_hint().0));
    while let Some(vt) = inputs.next() {
        vt.check_not_yielded(name);
        let taken = if vt.is_completed() {
            vt.try_get()
        } else {
            Err(vt)
        };
        match taken {
            Ok(value) => values.0.push(value),
            Err(vt) => {
                // The rest run together (polled on every wake-up), not one after another:
                // an earlier input may wait for something a later one produces.
                let mut rest: DropEachCaught<Result<T, ValueTask<'a, T>>> =
                    DropEachCaught(vec![Err(vt)]);
                while let Some(vt) = inputs.next() {
                    vt.check_not_yielded(name);
                    rest.0.push(Err(vt));
                }
                return Err(async move {
                    if rest.0.len() <= POLLED_TOGETHER {
                        std::future::poll_fn(|cx| {
                            let mut pending = false;
                            for slot in &mut rest.0 {
                                if let Err(vt) = slot {
                                    match Pin::new(vt).poll(cx) {
                                        Poll::Ready(value) => *slot = Ok(value),
                                        Poll::Pending => pending = true,
                                    }
                                }
                            }
                            if pending {
                                Poll::Pending
                            } else {
                                Poll::Ready(())
                            }
                        })
                        .await;
                    } else {
                        // Many: each input gets a waker of its own, and a wake-up polls the
                        // inputs that were woken, so the polls grow with the wake-ups, not
                        // with their product with the inputs.
                        let woken = WakeSet::new(rest.0.len());
                        let mut pending = rest.0.len();
                        std::future::poll_fn(|cx| {
                            woken.poll_woken(cx, |index, cx| {
                                if let Err(vt) = &mut rest.0[index] {
                                    if let Poll::Ready(value) = Pin::new(vt).poll(cx) {
                                        // Counted first: the spent input's drop may panic.
                                        pending -= 1;
                                        rest.0[index] = Ok(value);
                                    }
                                }
                            });
                            if pending == 0 {
                                Poll::Ready(())
                            } else {
                                Poll::Pending
                            }
                        })
                        .await;
                    }
                    let mut all = std::mem::take(&mut values.0);
                    all.extend(
                        std::mem::take(&mut rest.0)
                            .into_iter()
                            .map(|slot| match slot {
                                Ok(value) => value,
                                Err(_) => unreachable!("every input completed"),
                            }),
                    );
                    all
                });
            }
        }
    }
    Ok(std::mem::take(&mut values.0))
}

/// `all_of`'s inputs: once they have ended, or once taking one panicked, they are never
/// asked again (an iterator that is not fused, such as `mpsc::Receiver::try_iter`, may yield
/// more later, which would be lost; one that panicked would make more inputs, whose bodies
/// start, after the call failed). Dropped before they ended (a misuse panic at the call), the
/// rest are taken as the call would have taken them and dropped one at a time, each
/// panicking `Drop` discarded (as [`DropEachCaught`]'s), until they end or taking the next
/// panics (then that panic is discarded and the iterator dropped: a panic while the first
/// unwinds aborted).
struct DrainCaught<I: Iterator> {
    inputs: I,
    ended: bool,
}

impl<I: Iterator> DrainCaught<I> {
    fn next(&mut self) -> Option<I::Item> {
        if self.ended {
            return None;
        }
        // Stays set if `next` unwinds: a panicking iterator is not asked again.
        self.ended = true;
        let next = self.inputs.next();
        self.ended = next.is_none();
        next
    }
}

impl<I: Iterator> Drop for DrainCaught<I> {
    fn drop(&mut self) {
        while !self.ended {
            match catch_unwind(AssertUnwindSafe(|| self.next())) {
                Ok(Some(item)) => crate::catch_panic::drop_discarding(item),
                Ok(None) => {}
                Err(panic) => crate::catch_panic::discard(panic), // `ended` is set
            }
        }
    }
}

/// `when_any` of value tasks (`ValueTask`'s and `LocalValueTask`'s, named `name` in a misuse
/// panic): the index and value of the first in input order that is complete, or a future of
/// the first of them to complete, which polls them together and drops the losers then.
#[track_caller]
pub(crate) fn first_of<'a, T: 'a>(
    value_tasks: impl IntoIterator<Item = ValueTask<'a, T>>,
    name: &'static str,
) -> Result<(usize, T), impl Future<Output = (usize, T)> + 'a> {
    // The losers are dropped one at a time, a panicking `Drop` of a result among them
    // discarded (as `Task::when_any`'s): a second panic while the first unwinds aborted.
    let mut inputs = DropEachCaught::collect(value_tasks);
    assert!(
        !inputs.0.is_empty(),
        "{name}: no value tasks given; there is nothing to wait for"
    );
    for vt in &inputs.0 {
        vt.check_not_yielded(name);
    }
    for (index, vt) in inputs.0.iter_mut().enumerate() {
        // A source may report completion before its result can be taken; such an input
        // stays in the race below. A body's kept panic wins the race in its place, at the
        // await, where its panic resumes (`value_task/panicked.rs`).
        if vt.is_panicked() {
            break;
        }
        if vt.is_completed() {
            if let Some(value) = vt.try_take() {
                return Ok((index, value));
            }
        }
    }
    Err(std::future::poll_fn(move |cx| {
        for (index, vt) in inputs.0.iter_mut().enumerate() {
            if let Poll::Ready(value) = Pin::new(vt).poll(cx) {
                // The losers go now, not with this future: a large output keeps the
                // finished future's block until the value task is dropped.
                inputs = DropEachCaught(Vec::new());
                return Poll::Ready((index, value));
            }
        }
        Poll::Pending
    }))
}
