//! A value task into a [`Task`]: `as_task` (.NET `AsTask()`), `into_task`, `preserve` (.NET
//! `Preserve()`), and the library's detached bridged drive.

use super::*;

impl<T: Send + Sync + 'static> ValueTask<'static, T> {
    /// A shareable, hot [`Task`] with this value task's result (.NET `AsTask()`): a result
    /// many may await ([`preserve`](Self::preserve) is .NET's `Preserve()`).
    ///
    /// Nobody needs to await the task for it to complete. What drives it:
    ///
    /// - a ready value, or a backing already complete: nothing; the task is born complete;
    /// - a future: polled once here, on this thread (as a .NET async method runs
    ///   synchronously to its first `await`); if still pending it is spawned on the ambient
    ///   tokio runtime, or outside one on valuetask's global runtime (feature `tokio`; without
    ///   it, on a new thread). A panic faults the task with its message;
    /// - a `Task` or a `ValueTaskSource`: no executor at all. The source's own wake-up
    ///   polls it and completes the task, on whichever thread the producer completes it.
    ///
    /// A value task made from a `Task<U>` yields `Result<U, TaskError>`, so its task is a
    /// `Task<Result<U, TaskError>>` that completes successfully with the original's outcome as
    /// its value: a fault travels on as `Ok(Err(error))`, and the original task counts it as
    /// observed (its unobserved-fault hook does not fire; look at the value instead).
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, ValueTask};
    ///
    /// let tcs = TaskCompletionSource::new();
    /// let task = ValueTask::from(tcs.task()).as_task();
    /// tcs.set_result(9);
    /// assert_eq!(task.wait(), Ok(&Ok(9)));
    /// ```
    ///
    /// # Panics
    /// If the value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn as_task(self) -> Task<T> {
        self.check_not_yielded("ValueTask::as_task");
        self.drive_task()
    }

    /// `as_task`, once checked.
    fn drive_task(mut self) -> Task<T> {
        // The first poll of a future runs user code: a panic there faults the task too. It is
        // polled by reference, so after a panic the future is dropped here, outside the
        // unwind (dropped during it, a `Drop` that panics too would abort the process), and
        // that second panic is discarded: the first one is the task's fault.
        self.check_source_token();
        match catch_unwind(AssertUnwindSafe(|| self.try_take())) {
            Ok(Some(value)) => return self.complete_with(Ok(value)),
            Ok(None) => {}
            Err(panic) => {
                crate::catch_panic::drop_discarding(self);
                return Task::from_error(crate::catch_panic::panic_error(panic));
            }
        }
        match self.into_repr() {
            Repr::Backed(backed) if backed.holds_future() => {
                crate::runtime::drive(ValueTask::from_backed(backed), None, false)
            }
            other => bridge::drive(other, false),
        }
    }
}

impl<T: Send + Sync + 'static> ValueTask<'static, T> {
    /// A source's status read outside `as_task`'s and `into_task`'s catch: a stale token is
    /// the caller's misuse and panics here, naming both versions, as every other method does
    /// (.NET's `AsTask` lets `GetStatus`'s exception through too); what the backing yields, a
    /// future's panic included, faults the task.
    fn check_source_token(&self) {
        if let Some(backed) = self.backed() {
            if !backed.holds_future() && backed.kind() != Kind::Ready {
                self.repr_is_completed();
            }
        }
    }

    /// A task born complete with `outcome`, taken from this value task, which is dropped
    /// first: a block whose future returned a large output is released only now (the value
    /// is returned from its poll, `repr.rs`), and a panic of that future's `Drop` faults the
    /// task (the value dropped), as it does where the poll releases the block itself.
    fn complete_with<U>(self, outcome: Result<U, TaskError>) -> Task<U>
    where
        U: Send + Sync + 'static,
    {
        match catch_unwind(AssertUnwindSafe(move || drop(self))) {
            Ok(()) => match outcome {
                Ok(value) => Task::from_result(value),
                Err(error) => Task::from_error(error),
            },
            Err(panic) => {
                crate::catch_panic::drop_discarding(outcome);
                Task::from_error(crate::catch_panic::panic_error(panic))
            }
        }
    }
}

impl<U: Clone + Send + Sync + 'static> ValueTask<'static, Result<U, TaskError>> {
    /// The [`Task<U>`](Task) behind this value task: for a value task made from a task, that
    /// same task (.NET `AsTask()` returning the original `Task`), with no allocation; for a
    /// value task already complete (or a future that completes at its first poll, which
    /// happens here), a completed task, and for `Ok(())` the static [`Task::completed`] (.NET
    /// returns `Task.CompletedTask`), so no allocation either; otherwise a task completed with this value task's
    /// result, driven as [`as_task`](Self::as_task) drives it. Unlike `as_task`, the error
    /// stays the task's own error instead of becoming a `Result` inside its value.
    ///
    /// ```
    /// use valuetask::{Task, ValueTask};
    ///
    /// let task = Task::from_result(5);
    /// let back = ValueTask::from(task.clone()).into_task();
    /// assert!(back.ptr_eq(&task));
    /// ```
    ///
    /// # Panics
    /// If the value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn into_task(mut self) -> Task<U> {
        self.check_not_yielded("ValueTask::into_task");
        let is_task = matches!(self.backed(), Some(backed) if backed.kind() == Kind::Task);
        if !is_task {
            // Complete already (or a future that completes at its first poll, here, as
            // `as_task` polls it): a task born complete, the static `Task::completed()` for
            // `()` (.NET `AsTask()` returns `Task.CompletedTask`) and the other cached results.
            self.check_source_token();
            match catch_unwind(AssertUnwindSafe(|| self.try_take())) {
                Ok(Some(outcome)) => return self.complete_with(outcome),
                Ok(None) => {}
                Err(panic) => {
                    crate::catch_panic::drop_discarding(self);
                    return Task::from_error(crate::catch_panic::panic_error(panic));
                }
            }
        }
        match self.into_repr() {
            Repr::Backed(backed) if backed.kind() == Kind::Task => {
                let header = ManuallyDrop::new(backed).header();
                // SAFETY: a `Kind::Task` block behind a value task of `Result<U, TaskError>`
                // is a `TaskRecord` of `U`; the backing is forgotten, so this is its one
                // release.
                unsafe { TaskRecord::into_task(header) }
            }
            other => {
                let is_future = matches!(&other, Repr::Backed(backed) if backed.holds_future());
                let tcs = crate::TaskCompletionSource::new();
                let task = tcs.task();
                let inner = ValueTask::from_repr(other);
                // A panic in the inner future faults this task (not the forwarder's own).
                let forward = async move {
                    tcs.forward_outcome(
                        crate::catch_panic::catch_panic(inner).await.and_then(|r| r),
                    );
                };
                if is_future {
                    // Polled once here already (above): straight to a runtime, as `as_task`
                    // does after its first poll.
                    drop(crate::runtime::drive(forward, None, true));
                } else {
                    ValueTask::boxed_lazy(forward).run_bridged_detached();
                }
                task
            }
        }
    }
}

impl<U: Clone + Send + Sync + 'static> ValueTask<'static, Result<U, TaskError>> {
    /// A value task that may be awaited later, or handed to another consumer, whatever backs
    /// this one (.NET `Preserve()`): one that holds its value or is backed by a [`Task`] is
    /// returned as it is (no new task, no allocation); one whose source has completed holds
    /// its value from now on (no allocation either); any other (a pending source, whose
    /// owner may reset and reuse it, a pooled completion, a future) becomes backed by a task,
    /// as [`into_task`](Self::into_task) makes it. That task takes a source's result inside
    /// the completion's wake-up when the source wakes synchronously (a core's default), so a
    /// reset right after completing does not reach it, with three exceptions where the
    /// wake-up is not where the result is taken: a completion while `preserve` itself is
    /// still polling the source on another thread; one made 32 wake-ups deep on its thread
    /// (runs started by wake-ups move to another thread past that depth); and a `preserve`
    /// called 32 runs deep itself (inside a long chain of synchronous continuations), whose
    /// first poll of the source moves to another thread for the same reason, so the source
    /// may complete before it holds a waker. A source that wakes
    /// later (a core made with `Continuations::Asynchronous`), and in those three cases any
    /// source, must not be reset before the task has its result (await it, or check
    /// [`Task::is_completed`](crate::Task::is_completed)), as in .NET, where a continuation
    /// that runs elsewhere reads the result there too.
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, TaskError, ValueTask, ValueTaskSource};
    /// use std::sync::Arc;
    ///
    /// let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
    /// let source: Arc<dyn ValueTaskSource<Result<u8, TaskError>>> = core.clone();
    /// let kept = ValueTask::from_arc_source(source, core.version()).preserve();
    /// core.set_result(4);
    /// core.reset(); // the source's owner reuses it
    /// assert_eq!(kept.get_result(), Ok(4), "backed by a task now");
    /// ```
    ///
    /// # Panics
    /// If the value task already yielded its value, or its source panics on its token (a
    /// stale one).
    #[track_caller]
    pub fn preserve(mut self) -> Self {
        self.check_not_yielded("ValueTask::preserve");
        match self.backed().map(Backed::kind) {
            // A kept panic resumes wherever it is awaited, as a ready value is returned.
            None | Some(Kind::Ready | Kind::Task | Kind::Panicked) => return self,
            Some(Kind::Future | Kind::Lazy) => {}
            Some(Kind::Source | Kind::PoolSlot) => {
                if self.repr_is_completed() {
                    if let Some(value) = self.try_take() {
                        return ValueTask::from_result(value);
                    }
                }
            }
        }
        ValueTask::from(self.into_task())
    }
}

impl ValueTask<'static, ()> {
    /// Drive this value task from its backing's own wake-ups (see `bridge.rs`), never by an
    /// executor, for nobody: the library's forwarding futures, which complete a user's task
    /// themselves and catch their panics. Only for backings that are cheap and safe
    /// to poll from a waker: tasks, sources, and valuetask's own futures over them.
    pub(crate) fn run_bridged_detached(self) {
        drop(bridge::drive(self.into_repr(), true));
    }
}
