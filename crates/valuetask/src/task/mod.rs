//! `Task<T>`: a shareable, hot, awaitable result (.NET `System.Threading.Tasks.Task<TResult>`).

#[cfg(not(valuetask_loom))]
mod cached;
pub(crate) mod cell;
mod slab;
pub(crate) mod state;
pub(crate) mod waiters;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use crate::error::TaskError;
pub(crate) use crate::error::TaskOutput;

use cell::RawTask;
pub(crate) use state::Outcome;
use waiters::WaiterKey;

/// The lifecycle state of a [`Task`] (.NET `TaskStatus`).
///
/// .NET's `Created`, `WaitingForActivation`, `WaitingToRun`, `Running` and
/// `WaitingForChildrenToComplete` all read as [`TaskStatus::Pending`] here: a task is either
/// not yet complete or complete in one of three ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Not completed yet (.NET `WaitingForActivation` / `Running`).
    Pending,
    /// Completed with a value (.NET `RanToCompletion`).
    RanToCompletion,
    /// Completed with a panic, an error, or abandoned by its producer (.NET `Faulted`).
    Faulted,
    /// Completed by cancellation (.NET `Canceled`).
    Canceled,
}

/// The .NET name: `Pending`, `RanToCompletion`, `Faulted`, `Canceled`.
///
/// ```
/// assert_eq!(valuetask::TaskStatus::RanToCompletion.to_string(), "RanToCompletion");
/// ```
impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl TaskStatus {
    /// True for every status but `Pending` (.NET `IsCompleted`).
    ///
    /// ```
    /// use valuetask::{Task, TaskStatus};
    ///
    /// assert!(!TaskStatus::Pending.is_completed());
    /// assert!(TaskStatus::Canceled.is_completed());
    /// assert!(Task::from_result(()).status().is_completed());
    /// ```
    pub fn is_completed(self) -> bool {
        self != TaskStatus::Pending
    }
}

pub(crate) fn outcome_of<T>(output: &TaskOutput<T>) -> Outcome {
    match output {
        Ok(_) => Outcome::RanToCompletion,
        Err(error) => outcome_of_error(error),
    }
}

/// The outcome of a task completed with `error`.
pub(crate) fn outcome_of_error(error: &TaskError) -> Outcome {
    if error.is_faulted() {
        Outcome::Faulted
    } else {
        Outcome::Canceled
    }
}

/// A shareable handle to a result that is, or will be, available: .NET's `Task<TResult>`.
///
/// `Task<T>` is `Clone`: every clone points at the same pooled block (state word, refcount,
/// first waiter, output; a second pending awaiter adds a slab of 128 slots in per-thread
/// shards, for awaiters 2 to 129, and more than 129 add an overflow of per-thread shards). Await it by value or by reference, as often as you like, from
/// any number of threads at once; each await yields a clone of the result,
/// `Result<T, TaskError>`. Awaiting a completed task is one Acquire load and a clone: no lock,
/// no waiter list.
///
/// Tasks are hot: whatever completes one (a [`TaskCompletionSource`](crate::TaskCompletionSource),
/// a driven [`ValueTask`](crate::ValueTask)) does so whether or not anyone awaits.
///
/// ```
/// use valuetask::{Task, TaskStatus};
///
/// # futures::executor::block_on(async {
/// let task = Task::from_result(42);
/// let again = task.clone();
/// assert_eq!((&task).await, Ok(42));
/// assert_eq!(again.await, Ok(42));
/// assert_eq!(task.status(), TaskStatus::RanToCompletion);
/// assert_eq!(task.try_result(), Some(Ok(&42)));
/// # });
/// ```
pub struct Task<T> {
    pub(crate) raw: RawTask<TaskOutput<T>>,
    /// This handle's waiter slot while it is being awaited by value.
    key: WaiterKey,
}

// A panic that unwinds past a `Task` cannot leave its cell half-changed: every change is
// one atomic step, or made under a lock bit whose holder runs no user code (a broken
// invariant there aborts). So, as an `Arc<T>`, it is unwind-safe when its value is.
impl<T: std::panic::RefUnwindSafe> std::panic::UnwindSafe for Task<T> {}
impl<T: std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for Task<T> {}

impl<T> Task<T> {
    /// A task that never completes and holds nothing: no source, no work, so it is freed
    /// with its last handle (.NET `Task.Delay(Timeout.Infinite)`).
    #[cfg(feature = "tokio")]
    pub(crate) fn never() -> Self {
        Task::from_raw(RawTask::new_pending(false, 0, None))
    }

    pub(crate) fn from_raw(raw: RawTask<TaskOutput<T>>) -> Self {
        Task {
            raw,
            key: WaiterKey::NONE,
        }
    }

    /// The task's outcome by value, if it is complete and this is its only handle; else the
    /// task back, as `Arc::try_unwrap` does. No clone: for a value that is not `Clone` (a
    /// connection, a file) or dear to clone, as tokio's `JoinHandle` hands its value over.
    /// (.NET has no counterpart: a .NET task's result is shared.) A
    /// [`TaskCompletionSource`](crate::TaskCompletionSource) is a handle too: drop it first.
    /// The library keeps a handle while it has work on the task: a continuation
    /// ([`continue_with`](Self::continue_with)) until it ran (it lets go before it completes
    /// its own task), a wait ([`wait_async`](Self::wait_async)) or `cancel_on` until it
    /// ended, an `as_task` bridge until its source let go of the bridge's waker. A completer
    /// is a handle too, and lets go just after it woke the task's awaiters: a
    /// [`Task::run`](Self::run) task's driver, an `as_task` bridge, a combinator's
    /// forwarder. So an awaiter woken by such a completion may find it still there and get
    /// the task back, though it goes a moment later: read the value by reference then
    /// ([`try_result`](Self::try_result)), or try again. The static tasks of the results
    /// .NET caches (`true`, `false`, the `i32`s `-1..=8`, `()`: see
    /// [`from_result`](Self::from_result)) are shared by every caller, so their handles are
    /// not counted: each unwraps to a copy of the value, also while clones of it are alive
    /// (where a task of another value is handed back). So a lone handle unwraps whatever
    /// its value, but `try_unwrap` cannot tell such a task's last handle from another.
    /// A task handed back keeps its registration
    /// as an awaiter.
    ///
    /// ```
    /// use valuetask::{Task, TaskCompletionSource};
    ///
    /// struct Connection(u32); // not `Clone`
    /// let tcs = TaskCompletionSource::new();
    /// let task = tcs.task();
    /// let Err(task) = task.try_unwrap() else { panic!("pending: handed back") };
    /// tcs.set_result(Connection(7));
    /// drop(tcs); // the source is a handle too
    /// let Ok(Ok(connection)) = task.try_unwrap() else { panic!("complete, and the only handle") };
    /// assert_eq!(connection.0, 7);
    /// ```
    pub fn try_unwrap(self) -> Result<Result<T, TaskError>, Task<T>> {
        // Checked before the handle lets go of its registration: a task handed back still
        // has it (a future that polled it and returns `Pending` keeps its wake-up).
        if !self.raw.can_take_output() {
            return Err(self);
        }
        self.into_raw().try_take_output().map_err(Task::from_raw)
    }

    /// This handle as the library's own (a watcher's): see [`InternalHandle`].
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn internal(self) -> InternalHandle<T> {
        self.raw.add_internal();
        InternalHandle(self)
    }

    /// Move the counted cell pointer out of this handle (no refcount traffic).
    pub(crate) fn into_raw(self) -> RawTask<TaskOutput<T>> {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the handle moves out exactly
        // once, before the waker's removal (which may panic: the handle still drops then).
        let raw = unsafe { std::ptr::read(&this.raw) };
        raw.remove_waiter(&mut this.key);
        raw
    }

    fn completed_with(output: TaskOutput<T>) -> Self {
        let outcome = outcome_of(&output);
        Task::from_raw(RawTask::new_completed(
            output,
            outcome,
            Some(crate::unobserved::report::<T>),
        ))
    }

    /// A task that has already run to completion with `value` (.NET `Task.FromResult`).
    ///
    /// One pooled block (no allocation once this thread's pool is warm), except for the
    /// results .NET's `AsyncTaskCache` holds for `bool` and `int`, and `()`: `true`, `false`, the `i32`s `-1..=8` and `()` each have one static
    /// task, handed out to every caller, with no allocation and no refcount traffic (so two
    /// such tasks compare equal, as they are the same task in .NET too). The type test is resolved at compile time: for any other `T`
    /// this is the block alone. A ready result that needs no sharing is a
    /// [`ValueTask::from_result`](crate::ValueTask::from_result): a move when it fits two
    /// words, and no shared cell in any case.
    ///
    /// ```
    /// use valuetask::Task;
    ///
    /// let task = Task::from_result("ready");
    /// assert!(task.is_completed_successfully());
    /// assert_eq!(task.wait(), Ok(&"ready"));
    ///
    /// assert_eq!(Task::from_result(true), Task::from_result(true), "one cached task");
    /// assert_ne!(Task::from_result(1_u64), Task::from_result(1_u64), "not cached: two tasks");
    /// ```
    pub fn from_result(value: T) -> Self {
        #[cfg(not(valuetask_loom))]
        if let Some(cell) = cached::lookup(&value) {
            // SAFETY: `lookup` returns only cells of `STATIC_CELLS` holding a `TaskOutput<T>`.
            return Task::from_raw(unsafe { RawTask::from_static(cell) });
        }
        Self::completed_with(Ok(value))
    }

    /// A task that has already failed with `error` (.NET `Task.FromException`, or
    /// `Task.FromCanceled` for [`TaskError::Canceled`]). Any error is taken as it is, an
    /// empty [`TaskError::Aggregate`] too (as .NET takes `FromException(new
    /// AggregateException())`), where a [`TaskCompletionSource`](crate::TaskCompletionSource)
    /// refuses one (as .NET's `SetException` refuses an empty list).
    ///
    /// ```
    /// use valuetask::{Task, TaskError, TaskStatus};
    /// let t: Task<()> = Task::from_error(TaskError::panicked("no"));
    /// assert_eq!(t.status(), TaskStatus::Faulted);
    /// ```
    pub fn from_error(error: TaskError) -> Self {
        Self::completed_with(Err(error))
    }

    /// A task that has already been canceled (.NET `Task.FromCanceled`).
    ///
    /// ```
    /// let t: valuetask::Task<u8> = valuetask::Task::from_canceled();
    /// assert!(t.is_canceled());
    /// ```
    pub fn from_canceled() -> Self {
        Self::from_error(TaskError::Canceled)
    }

    /// The task's state (.NET `Task.Status`). One Acquire load.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, TaskStatus};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// assert_eq!(task.status(), TaskStatus::Pending);
    /// tcs.set_canceled();
    /// assert_eq!(task.status(), TaskStatus::Canceled);
    /// ```
    pub fn status(&self) -> TaskStatus {
        match self.raw.snapshot().outcome() {
            None => TaskStatus::Pending,
            Some(Outcome::RanToCompletion) => TaskStatus::RanToCompletion,
            Some(Outcome::Faulted) => TaskStatus::Faulted,
            Some(Outcome::Canceled) => TaskStatus::Canceled,
        }
    }

    /// Completed in any way (.NET `IsCompleted`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// assert!(!task.is_completed());
    /// tcs.set_result(1);
    /// assert!(task.is_completed());
    /// ```
    #[doc(alias = "is_finished")]
    pub fn is_completed(&self) -> bool {
        self.raw.snapshot().is_complete()
    }

    /// Completed with a value (.NET `IsCompletedSuccessfully`).
    ///
    /// ```
    /// use valuetask::{Task, TaskError};
    ///
    /// assert!(Task::from_result(1).is_completed_successfully());
    /// let failed = Task::<u8>::from_error(TaskError::panicked("no"));
    /// assert!(failed.is_completed() && !failed.is_completed_successfully());
    /// ```
    pub fn is_completed_successfully(&self) -> bool {
        self.status() == TaskStatus::RanToCompletion
    }

    /// Completed with a panic, error or abandonment (.NET `IsFaulted`).
    ///
    /// ```
    /// use valuetask::{Task, TaskError};
    ///
    /// let failed = Task::<u8>::from_error(TaskError::panicked("boom"));
    /// assert!(failed.is_faulted());
    /// assert!(!Task::<u8>::from_canceled().is_faulted(), "canceled is not faulted");
    /// ```
    pub fn is_faulted(&self) -> bool {
        self.status() == TaskStatus::Faulted
    }

    /// Completed by cancellation (.NET `IsCanceled`).
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// assert!(!task.is_canceled());
    /// tcs.set_canceled();
    /// assert!(task.is_canceled());
    /// ```
    #[doc(alias = "is_cancelled")]
    pub fn is_canceled(&self) -> bool {
        self.status() == TaskStatus::Canceled
    }

    /// Why the task did not run to completion, if it did not (.NET `Task.Exception`).
    ///
    /// Unlike `Task.Exception`, which is `null` for a canceled task, a canceled task gives
    /// `Some(&TaskError::Canceled)`: test [`is_faulted`](Self::is_faulted) for .NET's
    /// "faulted", or match the error.
    ///
    /// ```
    /// use valuetask::{Task, TaskError};
    /// let t: Task<u8> = Task::from_canceled();
    /// assert_eq!(t.error(), Some(&TaskError::Canceled));
    /// assert!(!t.is_faulted());
    /// ```
    pub fn error(&self) -> Option<&TaskError> {
        self.raw.output().and_then(|o| o.as_ref().err())
    }

    /// The result if the task has completed, without blocking (.NET `IsCompleted` +
    /// `Result`). Borrowed: no `Clone` needed.
    ///
    /// ```
    /// let tcs = valuetask::TaskCompletionSource::<u32>::new();
    /// let task = tcs.task();
    /// assert_eq!(task.try_result(), None, "pending");
    /// tcs.set_result(7);
    /// assert_eq!(task.try_result(), Some(Ok(&7)));
    /// ```
    pub fn try_result(&self) -> Option<Result<&T, &TaskError>> {
        self.raw.output().map(Result::as_ref)
    }

    /// Block this thread until the task completes, then borrow the result (.NET `Wait()` /
    /// `.Result` / `GetAwaiter().GetResult()`).
    ///
    /// Blocking inside an async context stalls that task; await instead there. On a worker of
    /// a multi-thread tokio runtime the wait runs in `tokio::task::block_in_place`, so the
    /// worker's other work (such as a task just started with [`Task::run`]) moves to another
    /// thread and the wait cannot deadlock on it. On a current-thread runtime's thread
    /// (`#[tokio::test]`'s default), a wait for work on that runtime never ends: its spawned
    /// tasks, and its timers and I/O.
    ///
    /// ```
    /// use valuetask::TaskCompletionSource;
    /// let tcs = TaskCompletionSource::new();
    /// let task = tcs.task();
    /// std::thread::spawn(move || tcs.set_result("done"));
    /// assert_eq!(task.wait(), Ok(&"done"));
    /// ```
    ///
    /// The error is borrowed, as the value is: `?` into an error type that must be
    /// `'static` (`anyhow::Error`, `Box<dyn Error + Send + Sync>`) takes an owned one,
    /// `task.wait().map_err(TaskError::clone)?` (a clone of a `TaskError` is a reference
    /// count at most); [`try_result`](Self::try_result) and [`result`](Self::result) the same.
    ///
    /// ```
    /// use valuetask::{Task, TaskError};
    ///
    /// fn first_word(task: &Task<String>) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    ///     let text = task.wait().map_err(TaskError::clone)?;
    ///     Ok(text.split(' ').next().map_or(0, str::len))
    /// }
    /// assert_eq!(first_word(&Task::from_result("ab c".into())).unwrap(), 2);
    /// ```
    pub fn wait(&self) -> Result<&T, &TaskError> {
        self.wait_deadline(None)
            .expect("a wait without deadline returns only on completion")
    }

    /// Like [`wait`](Self::wait), but give up after `timeout` and return `None`
    /// (.NET `Wait(TimeSpan)` returning `false`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let tcs = valuetask::TaskCompletionSource::<u8>::new();
    /// assert!(tcs.task().wait_timeout(Duration::from_millis(5)).is_none());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<&T, &TaskError>> {
        // A timeout too large to represent waits forever.
        self.wait_deadline(Instant::now().checked_add(timeout))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Option<Result<&T, &TaskError>> {
        if let Some(r) = self.try_result() {
            return Some(r);
        }
        // Its drop removes the registration, after a timeout or while unwinding alike.
        let mut waiting = self.result();
        let _ = crate::blocking::park_until(deadline, |cx| Pin::new(&mut waiting).poll(cx));
        drop(waiting);
        // A completion that raced the deadline still counts.
        self.try_result()
    }

    /// Wait for the task without blocking, then borrow its result: awaiting a task whose `T`
    /// is not `Clone` (a connection, a handle), or reading a large one in place (.NET
    /// `await task`, which hands out a reference for reference types). Awaiting the task
    /// itself, or `&task`, clones the value instead.
    ///
    /// ```
    /// use valuetask::{Task, TaskCompletionSource};
    ///
    /// struct Connection(u16); // not `Clone`
    ///
    /// # futures::executor::block_on(async {
    /// let tcs = TaskCompletionSource::new();
    /// let connecting: Task<Connection> = tcs.task();
    /// std::thread::spawn(move || tcs.set_result(Connection(8080)));
    /// let connection = connecting.result().await.unwrap();
    /// assert_eq!(connection.0, 8080);
    /// # });
    /// ```
    pub fn result(&self) -> TaskResultFuture<'_, T> {
        TaskResultFuture {
            task: self,
            key: WaiterKey::NONE,
        }
    }

    /// Resolves when the task completes, whatever the outcome (no `T: Clone` needed).
    pub(crate) fn completion(&self) -> Completion<'_, T> {
        Completion::of(&self.raw)
    }

    /// Complete the task as canceled unless it is already completed (for cancellation that
    /// must not count as a `TaskCompletionSource`).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn try_cancel(&self) {
        // Already completed: nothing to cancel, and the error handed back is dropped.
        let _ = self
            .raw
            .try_complete(Err(TaskError::Canceled), Outcome::Canceled);
    }

    /// [`try_cancel`](Self::try_cancel), its awaiters woken from the continuation thread, not
    /// here (for `Task::delay_with_cancellation`, as .NET's canceled `Task.Delay`).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn try_cancel_later(&self) {
        let _ = self
            .raw
            .try_complete_later(Err(TaskError::Canceled), Outcome::Canceled);
    }

    /// True when both handles point at the same task (.NET `ReferenceEquals`; `==` on tasks
    /// compares the same way).
    ///
    /// ```
    /// use valuetask::Task;
    ///
    /// let a = Task::from_result(100);
    /// let b = Task::from_result(100);
    /// assert!(a.ptr_eq(&a.clone()));
    /// assert!(!a.ptr_eq(&b), "equal values, different tasks");
    /// ```
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.raw.ptr_eq(&other.raw)
    }
}

impl Task<()> {
    /// The already-completed task (.NET `Task.CompletedTask`). A static: never allocates, and
    /// every call returns the same task (as does `Task::from_result(())`).
    ///
    /// ```
    /// assert!(valuetask::Task::completed().is_completed_successfully());
    /// ```
    pub fn completed() -> Self {
        Task::from_result(())
    }
}

/// Handles are equal when they are the same task, as .NET compares tasks by reference: what a
/// `when_any` loop needs to find and remove its winner, and what lets a task be a `HashMap`
/// key or a `HashSet` member (which keeps it alive, so its identity cannot be reused).
///
/// ```
/// use std::collections::HashSet;
/// use valuetask::Task;
///
/// let a = Task::from_result(100);
/// let b = Task::from_result(100);
/// assert_eq!(a, a.clone());
/// assert_ne!(a, b, "equal values, different tasks");
/// let set: HashSet<_> = [a.clone(), b, a.clone()].into_iter().collect();
/// assert_eq!(set.len(), 2);
/// ```
impl<T> PartialEq for Task<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
    }
}

impl<T> Eq for Task<T> {}

impl<T> std::hash::Hash for Task<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.raw.addr(), state);
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task::from_raw(self.raw.clone())
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.raw.remove_waiter(&mut self.key);
    }
}

/// The status, and the error of a task that failed (printing it does not observe it: an
/// unobserved fault is still reported). The value is not printed (`T` need not be `Debug`).
///
/// ```
/// use valuetask::{Task, TaskError};
///
/// assert_eq!(format!("{:?}", Task::from_result(1)), "Task { status: RanToCompletion, .. }");
/// let canceled = Task::<u8>::from_error(TaskError::Canceled);
/// assert_eq!(format!("{canceled:?}"), "Task { status: Canceled, error: Canceled, .. }");
/// ```
impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut task = f.debug_struct("Task");
        // One look decides both fields: the output first, then the status only of a task
        // seen complete (it stays complete), so a completion between two loads cannot print
        // a pending task with an error.
        let output = self.raw.output_unobserved();
        let status = match output {
            Some(_) => self.status(),
            None => TaskStatus::Pending,
        };
        task.field("status", &status);
        if let Some(Err(error)) = output {
            task.field("error", error);
        }
        task.finish_non_exhaustive()
    }
}

/// Awaiting a task by value (.NET `await task`) yields what awaiting `&task` yields (see
/// `IntoFuture for &Task`), the whole aggregate of a task faulted with several errors
/// included.
impl<T: Clone> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.raw.poll(&mut this.key, cx.waker()).map(Clone::clone)
    }
}

/// Resolves when a task's cell completes, whatever the outcome, without reading it (see
/// `Task::completion`, `TaskCompletionSource::completion`).
pub(crate) struct Completion<'a, T> {
    raw: &'a RawTask<TaskOutput<T>>,
    key: WaiterKey,
}

impl<'a, T> Completion<'a, T> {
    pub(crate) fn of(raw: &'a RawTask<TaskOutput<T>>) -> Self {
        Completion {
            raw,
            key: WaiterKey::NONE,
        }
    }
}

impl<T> Future for Completion<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.raw.poll_complete(&mut this.key, cx.waker())
    }
}

impl<T> Drop for Completion<'_, T> {
    fn drop(&mut self) {
        self.raw.remove_waiter(&mut self.key);
    }
}

/// The future of [`Task::result`]: waits for the task, then borrows its result. No .NET
/// counterpart of its own: it is `TaskAwaiter<TResult>` (.NET `await task`) handing out a
/// reference instead of a clone.
///
/// ```
/// use valuetask::{Task, TaskResultFuture};
///
/// # futures::executor::block_on(async {
/// let task = Task::from_result(vec![1, 2, 3]);
/// let borrowing: TaskResultFuture<'_, Vec<i32>> = task.result();
/// assert_eq!(borrowing.await.map(Vec::len), Ok(3));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TaskResultFuture<'a, T> {
    task: &'a Task<T>,
    key: WaiterKey,
}

impl<'a, T> Future for TaskResultFuture<'a, T> {
    type Output = Result<&'a T, &'a TaskError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let task: &'a Task<T> = this.task;
        task.raw.poll(&mut this.key, cx.waker()).map(Result::as_ref)
    }
}

impl<T> Drop for TaskResultFuture<'_, T> {
    fn drop(&mut self) {
        self.task.raw.remove_waiter(&mut self.key);
    }
}

impl<T> fmt::Debug for TaskResultFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskResultFuture")
            .field("task", self.task)
            .finish()
    }
}

/// The future of awaiting `&Task<T>` (.NET `TaskAwaiter<TResult>`): the task stays usable
/// afterwards.
///
/// ```
/// use std::future::IntoFuture;
/// use valuetask::{TaskCompletionSource, TaskFuture};
///
/// # futures::executor::block_on(async {
/// let tcs = TaskCompletionSource::<u8>::new();
/// let task = tcs.task();
/// let awaiting: TaskFuture<'_, u8> = (&task).into_future(); // what `(&task).await` awaits
/// tcs.set_result(4);
/// assert_eq!(awaiting.await, Ok(4));
/// assert_eq!(task.try_result(), Some(Ok(&4)), "the task is still usable");
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TaskFuture<'a, T> {
    borrowed: TaskResultFuture<'a, T>,
}

impl<T: Clone> Future for TaskFuture<'_, T> {
    type Output = Result<T, TaskError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut self.get_mut().borrowed;
        this.task
            .raw
            .poll(&mut this.key, cx.waker())
            .map(Clone::clone)
    }
}

impl<T> fmt::Debug for TaskFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskFuture")
            .field("task", self.borrowed.task)
            .finish()
    }
}

/// Awaiting `&task` yields a clone of its value or its error (.NET `await task`). One
/// deliberate difference: a task faulted with several errors yields the whole
/// [`TaskError::Aggregate`], where .NET's `await` throws only the first inner exception.
impl<'a, T: Clone> IntoFuture for &'a Task<T> {
    type Output = Result<T, TaskError>;
    type IntoFuture = TaskFuture<'a, T>;

    fn into_future(self) -> TaskFuture<'a, T> {
        TaskFuture {
            borrowed: self.result(),
        }
    }
}

/// A task handle the library holds for its own work (a `cancel_on`, `run_with_cancellation`
/// or `wait_async` watcher's handle of the task it watches), counted apart from the user's:
/// the last source's drop abandoning a task that only such handles (and sources) hold, and a
/// wait's timeout of a wait only they hold, count as observed, not reported
/// (`TaskCompletionSource`'s drop, `wait_async`). A wait held only by a wait on it passes
/// the task's outcome on as a held wait does: the outer wait reads it as its user does
/// (`wait_async`'s module docs). Other completions report as they would with no watcher.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) struct InternalHandle<T>(Task<T>);

impl<T> std::ops::Deref for InternalHandle<T> {
    type Target = Task<T>;
    fn deref(&self) -> &Task<T> {
        &self.0
    }
}

impl<T> InternalHandle<T> {
    /// The outcome, if complete, read without observing it (`try_result` observes): a fault
    /// stays the task's to report to the unobserved-fault hook.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn peek(&self) -> Option<Result<&T, &TaskError>> {
        self.0.raw.output_unobserved().map(Result::as_ref)
    }
}

impl<T> Drop for InternalHandle<T> {
    fn drop(&mut self) {
        // A plain handle again, then dropped as one: in between it counts as a user's (a
        // report too many at worst, never one missed).
        self.0.raw.remove_internal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskCompletionSource;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn dropped_and_repolled_awaiters_do_not_grow_the_waiter_list() {
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut kept = (&task).into_future();
        for _ in 0..100 {
            assert!(Pin::new(&mut kept).poll(&mut cx).is_pending());
            let mut transient = task.clone();
            assert!(Pin::new(&mut transient).poll(&mut cx).is_pending());
        }
        assert_eq!(task.raw.waiter_count(), 1);
        drop(kept);
        assert_eq!(task.raw.waiter_count(), 0);
        tcs.set_result(1);
        assert_eq!(task.try_result(), Some(Ok(&1)));
    }

    /// A task that never completes (as `Task::delay(Duration::MAX)`), freed with its last
    /// handle while 140 awaiters are still registered, their futures forgotten: in the inline
    /// slot, the slab and the overflow. Freeing the cell drops each one's waker, once, and
    /// wakes none. Twice, so the second task reuses what the first gave back.
    #[test]
    fn a_task_that_never_completes_freed_with_forgotten_awaiters_drops_every_waker() {
        struct Counted(AtomicUsize);
        impl std::task::Wake for Counted {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        for _ in 0..2 {
            let task = Task::<u32>::from_raw(RawTask::new_pending(false, 0, None));
            let counts: Vec<_> = (0..140)
                .map(|_| Arc::new(Counted(AtomicUsize::new(0))))
                .collect();
            for count in &counts {
                let waker = std::task::Waker::from(count.clone());
                let mut awaiter = (&task).into_future();
                let poll = Pin::new(&mut awaiter).poll(&mut Context::from_waker(&waker));
                assert!(poll.is_pending());
                std::mem::forget(awaiter);
            }
            for (i, count) in counts.iter().enumerate() {
                assert_eq!(
                    Arc::strong_count(count),
                    2,
                    "awaiter {i} registered a clone"
                );
            }
            drop(task);
            for (i, count) in counts.iter().enumerate() {
                assert_eq!(Arc::strong_count(count), 1, "awaiter {i}'s clone dropped");
                assert_eq!(count.0.load(Ordering::SeqCst), 0, "awaiter {i} not woken");
            }
        }
    }

    /// As above, with three wakers whose `Drop` panics, one in each place (the inline slot,
    /// the slab, the overflow): the others are still dropped, and freeing the cell does not
    /// panic (the panics are discarded: the wakers were being thrown away). Twice, so the
    /// second task reuses the slab block and the overflow the first gave back.
    #[test]
    fn a_waker_whose_drop_panics_keeps_no_other_waker_of_a_freed_cell() {
        use std::task::{RawWaker, RawWakerVTable, Waker};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_it);
        fn clone(data: *const ()) -> RawWaker {
            RawWaker::new(data, &VTABLE)
        }
        fn wake(_: *const ()) {
            panic!("no awaiter of a task that never completes is woken");
        }
        fn wake_by_ref(_: *const ()) {
            panic!("no awaiter of a task that never completes is woken");
        }
        fn drop_it(data: *const ()) {
            DROPS.fetch_add(1, Ordering::SeqCst);
            assert!(data.is_null(), "this waker's drop panics");
        }
        const PANICKING: [usize; 3] = [0, 5, 135];
        for _ in 0..2 {
            DROPS.store(0, Ordering::SeqCst);
            let task = Task::<u32>::from_raw(RawTask::new_pending(false, 0, None));
            for i in 0..140 {
                let data = if PANICKING.contains(&i) {
                    std::ptr::dangling::<()>()
                } else {
                    std::ptr::null()
                };
                // SAFETY: the vtable's functions keep `RawWaker`'s contract (the data is
                // never dereferenced).
                let waker = std::mem::ManuallyDrop::new(unsafe {
                    Waker::from_raw(RawWaker::new(data, &VTABLE))
                });
                let mut awaiter = (&task).into_future();
                let poll = Pin::new(&mut awaiter).poll(&mut Context::from_waker(&waker));
                assert!(poll.is_pending());
                std::mem::forget(awaiter);
            }
            assert_eq!(DROPS.load(Ordering::SeqCst), 0);
            drop(task);
            assert_eq!(
                DROPS.load(Ordering::SeqCst),
                140,
                "every registered clone dropped"
            );
        }
    }

    #[test]
    fn a_dropped_completion_withdraws_its_waiter() {
        let tcs = TaskCompletionSource::<u8>::new();
        let task = tcs.task();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for _ in 0..2 {
            let mut done = Box::pin(task.completion());
            assert!(done.as_mut().poll(&mut cx).is_pending());
            assert_eq!(task.raw.waiter_count(), 1);
            drop(done);
            assert_eq!(task.raw.waiter_count(), 0);
            #[cfg(feature = "tokio")]
            {
                let mut through_source = Box::pin(tcs.completion());
                assert!(through_source.as_mut().poll(&mut cx).is_pending());
                drop(through_source);
                assert_eq!(task.raw.waiter_count(), 0);
            }
        }
        tcs.set_result(1);
        let mut done = Box::pin(task.completion());
        assert!(done.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn awaiting_futures_show_their_task() {
        let task = Task::from_result(7u8);
        assert_eq!(
            format!("{:?}", task.result()),
            format!("TaskResultFuture {{ task: {task:?} }}")
        );
        assert_eq!(
            format!("{:?}", (&task).into_future()),
            format!("TaskFuture {{ task: {task:?} }}")
        );
    }

    #[test]
    fn completed_task_handles_do_not_write_the_static_cell() {
        let before = Task::completed().raw.ref_count();
        let handles: Vec<Task<()>> = (0..1000).map(|_| Task::completed()).collect();
        let clones: Vec<Task<()>> = handles.to_vec();
        assert_eq!(Task::completed().raw.ref_count(), before);
        drop((handles, clones));
        assert_eq!(Task::completed().raw.ref_count(), before);
        assert!(Task::completed().is_completed_successfully());
    }
}
