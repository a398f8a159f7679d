//! `Task::when_each` (.NET 9 `Task.WhenEach`): the tasks, each handed out as it completes.
//!
//! # Invariants
//!
//! - An input is `Some` in `tasks` until it is handed out; a `Some` input whose key is not
//!   `NONE` has its [`InputWaker`] registered with it. An input is queued once: seen complete
//!   at its registration (at the call, in input order), or by its waker, which pushes its index under the
//!   lock before it wakes the stream, so the queue holds the completions in the order their
//!   wake-ups ran. Each input is handed out exactly once (an index whose input is gone is
//!   skipped).
//! - The stream stores its waker under the same lock before it finds the queue empty, and a
//!   waker that pushes takes it (not a clone) and wakes it with the lock released: no
//!   wake-up is lost, and no waker code (`clone`, `wake`, `drop`) runs under the lock (the
//!   loom model in `tests/loom_task.rs`).
//! - Waiting reads no output (`poll_complete`): a fault handed out is the caller's to
//!   observe, and one never handed out (the stream dropped early) is reported, if nobody
//!   else looks, as any dropped handle's is.
//! - Dropping the stream withdraws every registration first, then drops the inputs not handed
//!   out one at a time (a value's `Drop` may panic): an input that never completes keeps
//!   nothing of the stream. A completion that took an input's waker before the withdrawal
//!   may still wake the stream's waker once, after the drop (a spurious wake-up, as any
//!   waker may see).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::{lock, Mutex};
use crate::task::waiters::WaiterKey;
use crate::task::Task;

/// Completed inputs not handed out yet, and the stream's waker.
#[derive(Default)]
struct Queue {
    /// Indexes of inputs seen complete, in the order seen.
    completed: VecDeque<usize>,
    /// The waker of the stream's last poll that found nothing, until an input takes it.
    stream: Option<Waker>,
}

/// The waker registered with input `index`: queues it, then wakes the stream.
struct InputWaker {
    queue: Arc<Mutex<Queue>>,
    index: usize,
}

impl Wake for InputWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let stream = {
            let mut queue = lock(&self.queue);
            queue.completed.push_back(self.index);
            queue.stream.take()
        };
        if let Some(stream) = stream {
            stream.wake();
        }
    }
}

/// The tasks given to [`Task::when_each`], each handed out once it has completed, in the
/// order they complete (.NET 9 `Task.WhenEach`, an `IAsyncEnumerable<Task<T>>`). A
/// [`Stream`](futures_core::Stream) of [`Task<T>`]s, with an inherent
/// [`next`](WhenEach::next) for callers with no stream extension trait in scope.
///
/// A task handed out has completed: read it with [`Task::try_result`] or await it (no
/// suspension). Waiting reads no task's outcome, so a fault counts as observed only once
/// its handed-out task is looked at.
#[must_use = "a stream does nothing unless polled"]
pub struct WhenEach<T> {
    /// The inputs, each `None` once handed out.
    tasks: Vec<Option<Task<T>>>,
    /// Each input's waiter slot (its waker an [`InputWaker`] of the same index).
    keys: Vec<WaiterKey>,
    /// Shared with the inputs' wakers, registered at the call.
    queue: Arc<Mutex<Queue>>,
    /// Inputs not handed out yet.
    remaining: usize,
}

impl<T: Send + Sync + 'static> Task<T> {
    /// The tasks in `tasks`, each handed out as it completes (.NET 9 `Task.WhenEach`),
    /// exactly once, whatever its outcome. As in .NET, this call registers with every task:
    /// those complete already come first, in input order, then the others in the order
    /// their completions woke the stream, also before its first poll ("the order they
    /// complete"; for a source with asynchronous continuations, the order the continuation
    /// thread woke it). No executor is needed besides the one that polls the stream; the
    /// tasks are not polled, only waited for (one waker registration each, withdrawn when
    /// the stream is dropped). Empty when `tasks` is.
    ///
    /// ```
    /// use futures::FutureExt as _;
    /// use valuetask::{Task, TaskCompletionSource};
    ///
    /// # futures::executor::block_on(async {
    /// let (slow, fast) = (TaskCompletionSource::<u8>::new(), TaskCompletionSource::new());
    /// let mut each = Task::when_each([slow.task(), fast.task(), Task::from_result(0)]);
    /// let done = each.next().await.expect("complete already: first");
    /// assert_eq!(done.try_result(), Some(Ok(&0)));
    /// assert!(each.next().now_or_never().is_none(), "nothing else has completed");
    /// fast.set_result(2);
    /// slow.set_result(1);
    /// let mut rest = Vec::new();
    /// while let Some(done) = each.next().await {
    ///     rest.push(*done.try_result().unwrap().unwrap());
    /// }
    /// assert_eq!(rest, [2, 1], "in the order they completed");
    /// # });
    /// ```
    pub fn when_each(tasks: impl IntoIterator<Item = Task<T>>) -> WhenEach<T> {
        let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
        let remaining = tasks.len();
        let mut each = WhenEach {
            keys: vec![WaiterKey::NONE; remaining],
            tasks,
            queue: Arc::new(Mutex::new(Queue::default())),
            remaining,
        };
        // Made first: should a registration unwind, the drop withdraws those made.
        each.register_all();
        each
    }
}

impl<T: Send + Sync + 'static> WhenEach<T> {
    /// The next task to complete, `None` once every task was handed out (as
    /// `StreamExt::next`).
    #[allow(
        clippy::should_implement_trait,
        reason = "an async `next`, as `StreamExt::next`: the stream's, not an iterator's"
    )]
    pub fn next(&mut self) -> impl Future<Output = Option<Task<T>>> + '_ {
        std::future::poll_fn(move |cx| self.poll_next_task(cx))
    }

    /// How many tasks are still to be handed out.
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// Whether every task was handed out.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Registers an [`InputWaker`] with every input, in input order; those complete already
    /// are queued in that order.
    fn register_all(&mut self) {
        for (index, (task, key)) in self.tasks.iter().zip(self.keys.iter_mut()).enumerate() {
            let Some(task) = task else { continue };
            let waker = Waker::from(Arc::new(InputWaker {
                queue: Arc::clone(&self.queue),
                index,
            }));
            if task.raw.poll_complete(key, &waker).is_ready() {
                *key = WaiterKey::NONE;
                lock(&self.queue).completed.push_back(index);
            }
        }
    }

    fn poll_next_task(&mut self, cx: &mut Context<'_>) -> Poll<Option<Task<T>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let Self {
            tasks,
            keys,
            queue,
            remaining,
        } = self;
        // The waker is cloned with the lock released, then the queue looked at again.
        let mut fresh: Option<Waker> = None;
        loop {
            let mut locked = lock(queue);
            while let Some(index) = locked.completed.pop_front() {
                if let Some(task) = tasks[index].take() {
                    drop(locked);
                    keys[index] = WaiterKey::NONE;
                    *remaining -= 1;
                    return Poll::Ready(Some(task));
                }
            }
            if locked
                .stream
                .as_ref()
                .is_some_and(|kept| kept.will_wake(cx.waker()))
            {
                drop(locked);
                drop(fresh);
                return Poll::Pending;
            }
            match fresh.take() {
                // Stored under the lock a completing input's push takes: it finds this waker.
                Some(fresh) => {
                    let replaced = locked.stream.replace(fresh);
                    drop(locked);
                    drop(replaced);
                    return Poll::Pending;
                }
                None => {
                    drop(locked);
                    fresh = Some(cx.waker().clone());
                }
            }
        }
    }
}

impl<T: Send + Sync + 'static> futures_core::Stream for WhenEach<T> {
    type Item = Task<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Task<T>>> {
        self.get_mut().poll_next_task(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T: Send + Sync + 'static> futures_core::FusedStream for WhenEach<T> {
    fn is_terminated(&self) -> bool {
        self.remaining == 0
    }
}

impl<T> Drop for WhenEach<T> {
    fn drop(&mut self) {
        for (task, key) in self.tasks.iter().zip(self.keys.iter_mut()) {
            if let Some(task) = task {
                task.raw.remove_waiter(key);
            }
        }
        // The inputs may be the last handles: their values' `Drop` may panic.
        for task in self.tasks.drain(..).flatten() {
            crate::catch_panic::drop_discarding(task);
        }
    }
}

impl<T> fmt::Debug for WhenEach<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenEach")
            .field("inputs", &self.tasks.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}
