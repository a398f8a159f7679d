//! `LocalValueTask<'a, T>`: a `ValueTask` whose future need not be `Send`
//! (what `#[value_task(?Send)]` returns).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::value_task::ValueTask;

/// A [`ValueTask`] for futures that are not `Send` (they hold an `Rc`, a `RefCell` borrow…),
/// for single-threaded executors such as tokio's `LocalSet`. It is itself neither `Send` nor
/// `Sync`. The future lives in the same pooled storage as `ValueTask::new`'s (a future too
/// large for the pool is boxed instead).
///
/// No .NET counterpart: .NET has no `Send`, so its `ValueTask<TResult>` covers this case too.
///
/// ```
/// use std::rc::Rc;
/// use valuetask::LocalValueTask;
///
/// let shared = Rc::new(5);
/// let vt = LocalValueTask::new(async move { *shared + 1 });
/// assert_eq!(vt.get_result(), 6);
/// ```
///
/// Sent to another thread, it does not compile, whatever its future:
///
/// ```compile_fail,E0277
/// use valuetask::LocalValueTask;
///
/// let vt = LocalValueTask::new(async { 1 });
/// std::thread::spawn(move || vt.get_result());
/// ```
#[must_use = "dropping a LocalValueTask discards its result and drops whatever work is still pending; await it or `get_result` it"]
pub struct LocalValueTask<'a, T> {
    inner: ValueTask<'a, T>,
    _not_send: PhantomData<*const ()>,
}

impl<'a, T> LocalValueTask<'a, T> {
    /// Whether this is a future stored lazily (`ValueTask::is_lazy`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn is_lazy(&self) -> bool {
        self.inner.is_lazy()
    }

    /// A value task that is already complete with `value` (.NET `new ValueTask<T>(result)`).
    /// As [`ValueTask::from_result`]: a move when `value` fits the value task's two words;
    /// a larger one goes to a pooled block (no allocation once the pool is warm).
    ///
    /// ```
    /// use valuetask::LocalValueTask;
    ///
    /// let vt = LocalValueTask::from_result(5);
    /// assert!(vt.is_completed());
    /// assert_eq!(vt.get_result(), 5);
    /// ```
    pub fn from_result(value: T) -> Self {
        LocalValueTask {
            inner: ValueTask::from_result(value),
            _not_send: PhantomData,
        }
    }

    /// A value task backed by `future`, in pooled storage (.NET's
    /// `PoolingAsyncValueTaskMethodBuilder`), started at its first poll.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use valuetask::LocalValueTask;
    ///
    /// let ran = Cell::new(false); // borrowed by the future: not `Send`
    /// let vt = LocalValueTask::new(async { ran.set(true); 1 });
    /// assert!(!ran.get(), "lazy: nothing runs until it is polled");
    /// assert_eq!(vt.get_result(), 1);
    /// assert!(ran.get());
    /// ```
    pub fn new(future: impl Future<Output = T> + 'a) -> Self {
        LocalValueTask {
            // SAFETY: kept inside this `!Send` wrapper, never handed out.
            inner: unsafe { ValueTask::pooled_local(future) },
            _not_send: PhantomData,
        }
    }

    /// Start `future` now (see [`ValueTask::start`]; .NET: an `async ValueTask<T>` method with
    /// `PoolingAsyncValueTaskMethodBuilder`): polled once here; a result is kept as
    /// [`ValueTask::start`] keeps it, a suspended future continues in pooled storage. What `#[value_task(?Send)]` methods
    /// return.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use valuetask::LocalValueTask;
    ///
    /// let ran = Cell::new(false);
    /// let vt = LocalValueTask::start(async { ran.set(true); 2 });
    /// assert!(ran.get(), "started at once");
    /// assert!(vt.is_completed());
    /// assert_eq!(vt.get_result(), 2);
    /// ```
    pub fn start(future: impl Future<Output = T> + 'a) -> Self {
        LocalValueTask::start_with(move || future)
    }

    /// [`ValueTask::ready`], not `Send`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn ready(value: T) -> Self {
        LocalValueTask {
            inner: ValueTask::ready(value),
            _not_send: PhantomData,
        }
    }

    /// A synchronous body's panic, kept to resume where the value task is awaited
    /// (`ValueTask::panicked`).
    pub(crate) fn panicked(payload: Box<dyn std::any::Any + Send>) -> Self {
        LocalValueTask {
            inner: ValueTask::panicked(payload),
            _not_send: PhantomData,
        }
    }

    /// [`start`](Self::start) for the future `make` builds, built in its pooled block (what
    /// `#[value_task(?Send)]` bodies use).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn start_with<F: Future<Output = T> + 'a>(make: impl FnOnce() -> F) -> Self {
        LocalValueTask {
            // SAFETY: kept inside this `!Send` wrapper, never handed out.
            inner: unsafe { ValueTask::start_local_with(make) },
            _not_send: PhantomData,
        }
    }

    /// Like [`start`](Self::start), with the future in a box (the box itself is kept in
    /// pooled storage while it is suspended): started at the call, as
    /// [`ValueTask::boxed`] is (.NET: an `async ValueTask<T>` method with the default,
    /// allocating builder).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use valuetask::LocalValueTask;
    ///
    /// let ran = Cell::new(false);
    /// let vt = LocalValueTask::boxed(async { ran.set(true); 3 });
    /// assert!(ran.get() && vt.is_completed(), "started at the call");
    /// assert_eq!(vt.get_result(), 3);
    /// ```
    pub fn boxed(future: impl Future<Output = T> + 'a) -> Self {
        let boxed: Pin<Box<dyn Future<Output = T> + 'a>> = Box::pin(future);
        LocalValueTask::start(boxed)
    }

    /// Whether the result is available without waiting (.NET `IsCompleted`; see
    /// [`ValueTask::is_completed`], which also says when it panics).
    ///
    /// ```
    /// use valuetask::{LocalValueTask, TaskCompletionSource};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let vt = LocalValueTask::from(tcs.task());
    /// assert!(!vt.is_completed());
    /// tcs.set_result(1);
    /// assert!(vt.is_completed());
    /// ```
    #[track_caller]
    pub fn is_completed(&self) -> bool {
        self.inner.is_completed()
    }

    /// Whether this value task has yielded its value: polled again, it panics (see
    /// [`ValueTask::is_terminated`]).
    ///
    /// ```
    /// use valuetask::LocalValueTask;
    ///
    /// # futures::executor::block_on(async {
    /// let mut vt = LocalValueTask::from_result(3);
    /// assert_eq!((&mut vt).await, 3);
    /// assert!(vt.is_terminated());
    /// # });
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }

    /// See `ValueTask::completed_at_call`.
    #[cfg(feature = "stats")]
    #[inline]
    pub(crate) fn completed_at_call(&self) -> bool {
        self.inner.completed_at_call()
    }

    /// The result if available now, else the value task back (.NET
    /// `IsCompletedSuccessfully` + `Result`; see [`ValueTask::try_get`]).
    ///
    /// ```
    /// use valuetask::{LocalValueTask, TaskCompletionSource};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let vt = LocalValueTask::from(tcs.task());
    /// let vt = vt.try_get().unwrap_err(); // pending: handed back
    /// tcs.set_result(3);
    /// assert_eq!(vt.try_get().ok(), Some(Ok(3)));
    /// ```
    ///
    /// # Panics
    /// As [`ValueTask::try_get`]: if it already yielded, or on a stale source token.
    #[track_caller]
    pub fn try_get(self) -> Result<T, Self> {
        self.inner.check_not_yielded("LocalValueTask::try_get");
        self.inner.try_get().map_err(|inner| LocalValueTask {
            inner,
            _not_send: PhantomData,
        })
    }

    /// Block this thread until the result is available (.NET `GetAwaiter().GetResult()`; see
    /// [`ValueTask::get_result`]).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use valuetask::{LocalValueTask, TaskCompletionSource};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let task = tcs.task();
    /// let local = Rc::new(1u8); // not `Send`
    /// let vt = LocalValueTask::new(async move { *local + task.await.unwrap() });
    /// std::thread::spawn(move || tcs.set_result(6));
    /// assert_eq!(vt.get_result(), 7); // blocks until the other thread completes the task
    /// ```
    ///
    /// # Panics
    /// As [`ValueTask::get_result`]: if it already yielded, or on a stale source token.
    #[track_caller]
    pub fn get_result(self) -> T {
        self.inner.check_not_yielded("LocalValueTask::get_result");
        self.inner.get_result()
    }
}

impl<'a, T: 'a> LocalValueTask<'a, T> {
    /// A local value task yielding `f` of this one's value ([`ValueTask::map`] without its
    /// `Send` bounds): a ready one is mapped at once, with no future; otherwise the mapping
    /// waits in pooled storage and `f` runs when the returned value task's value is taken.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use valuetask::LocalValueTask;
    ///
    /// let unit = Rc::new(10); // not `Send`
    /// let vt = LocalValueTask::new(async { 4 }).map(move |n| n * *unit);
    /// assert_eq!(vt.get_result(), 40);
    /// ```
    ///
    /// # Panics
    /// If this value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn map<U: 'a>(self, f: impl FnOnce(T) -> U + 'a) -> LocalValueTask<'a, U> {
        self.inner.check_not_yielded("LocalValueTask::map");
        if self.is_completed() {
            match self.try_get() {
                Ok(value) => return LocalValueTask::from_result(f(value)),
                Err(pending) => return LocalValueTask::new(async move { f(pending.await) }),
            }
        }
        LocalValueTask::new(async move { f(self.await) })
    }

    /// A local value task yielding every value of `value_tasks` in input order
    /// ([`ValueTask::when_all`] for futures that need not be `Send`): the inputs are taken in
    /// order while they are complete; from the first that is not, the rest are awaited
    /// together, the combinator in pooled storage (a wake-up polls every input still pending,
    /// or, when more than 32 are left from the first, the ones it woke: see
    /// [`ValueTask::when_all`]).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use valuetask::LocalValueTask;
    ///
    /// let shared = Rc::new(2);
    /// let parts = (0..3).map(|i| {
    ///     let shared = Rc::clone(&shared);
    ///     LocalValueTask::new(async move { i * *shared })
    /// });
    /// assert_eq!(LocalValueTask::when_all(parts).get_result(), vec![0, 2, 4]);
    /// ```
    ///
    /// # Panics
    /// If an input already yielded its value.
    #[track_caller]
    pub fn when_all(
        value_tasks: impl IntoIterator<Item = LocalValueTask<'a, T>>,
    ) -> LocalValueTask<'a, Vec<T>> {
        let inputs = value_tasks.into_iter().map(|vt| vt.inner);
        match crate::combinators::all_of(inputs, "LocalValueTask::when_all") {
            Ok(values) => LocalValueTask::from_result(values),
            Err(rest) => LocalValueTask::new(rest),
        }
    }

    /// A local value task yielding the index and value of the first of `value_tasks` to
    /// complete ([`ValueTask::when_any`] for futures that need not be `Send`); the others are
    /// dropped then, as [`ValueTask::when_any`] says (a future is canceled, a task or source
    /// only stops being waited for).
    ///
    /// ```
    /// use valuetask::{CompletionPool, LocalValueTask};
    ///
    /// let pool = CompletionPool::<u32>::new();
    /// let (never, _keep) = pool.rent();
    /// let (soon, completer) = pool.rent();
    /// let first = LocalValueTask::when_any([never.into(), soon.into()]);
    /// completer.set_result(7);
    /// assert_eq!(first.get_result(), (1, Ok(7)));
    /// ```
    ///
    /// # Panics
    /// If `value_tasks` is empty, or if an input already yielded its value.
    #[track_caller]
    pub fn when_any(
        value_tasks: impl IntoIterator<Item = LocalValueTask<'a, T>>,
    ) -> LocalValueTask<'a, (usize, T)> {
        let inputs = value_tasks.into_iter().map(|vt| vt.inner);
        match crate::combinators::first_of(inputs, "LocalValueTask::when_any") {
            Ok(first) => LocalValueTask::from_result(first),
            Err(race) => LocalValueTask::new(race),
        }
    }
}

impl<'a, T: 'a, E: 'a> LocalValueTask<'a, Result<T, E>> {
    /// [`map`](Self::map) of the error ([`ValueTask::map_err`] without its `Send` bounds).
    ///
    /// ```
    /// use valuetask::LocalValueTask;
    ///
    /// let failed: LocalValueTask<'_, Result<u8, u8>> = LocalValueTask::from_result(Err(4));
    /// assert_eq!(failed.map_err(|code| code + 1).get_result(), Err(5));
    /// ```
    ///
    /// # Panics
    /// If this value task already yielded its value, or its source's token is stale (the
    /// source was reset since), naming both versions.
    #[track_caller]
    pub fn map_err<F: 'a>(self, f: impl FnOnce(E) -> F + 'a) -> LocalValueTask<'a, Result<T, F>> {
        self.inner.check_not_yielded("LocalValueTask::map_err");
        self.map(|result| result.map_err(f))
    }
}

impl<'a, T> LocalValueTask<'a, T> {
    /// The value task inside, for `macro_support::UnboundLocal` (which keeps it `!Send`).
    pub(crate) fn into_value_task(self) -> ValueTask<'a, T> {
        self.inner
    }
}

impl LocalValueTask<'static, ()> {
    /// A local value task that is already complete (.NET `ValueTask.CompletedTask`; see
    /// [`ValueTask::completed`]): no allocation.
    ///
    /// ```
    /// let done = valuetask::LocalValueTask::completed();
    /// assert!(done.is_completed());
    /// done.get_result();
    /// ```
    pub const fn completed() -> Self {
        LocalValueTask {
            inner: ValueTask::completed(),
            _not_send: PhantomData,
        }
    }
}

impl<T: Default> Default for LocalValueTask<'_, T> {
    /// A local value task complete with `T::default()` (.NET `default(ValueTask<TResult>)`;
    /// see [`ValueTask`]'s `Default`).
    ///
    /// ```
    /// let vt: valuetask::LocalValueTask<'_, u32> = Default::default();
    /// assert_eq!(vt.try_get().ok(), Some(0));
    /// ```
    fn default() -> Self {
        LocalValueTask::from_result(T::default())
    }
}

impl<U: Clone + Send + Sync + 'static> From<crate::Task<U>>
    for LocalValueTask<'static, Result<U, crate::TaskError>>
{
    /// A local value task backed by `task` (.NET `new ValueTask<T>(Task<T>)`; see
    /// [`ValueTask`]'s `From<Task<U>>`).
    ///
    /// ```
    /// use valuetask::{LocalValueTask, TaskCompletionSource};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let vt = LocalValueTask::from(tcs.task());
    /// tcs.set_result(2);
    /// assert_eq!(vt.get_result(), Ok(2));
    /// ```
    fn from(task: crate::Task<U>) -> Self {
        LocalValueTask::from(ValueTask::from(task))
    }
}

/// Any value task can be awaited where a local one is expected (a `?Send` method can return
/// a `CompletionPool` rent or a core's value task as it is); the wrapper only takes away
/// `Send` and `Sync`.
///
/// ```
/// use valuetask::{LocalValueTask, ValueTask};
/// let local: LocalValueTask<'_, u8> = ValueTask::from_result(3).into();
/// assert_eq!(local.get_result(), 3);
/// ```
impl<'a, T> From<ValueTask<'a, T>> for LocalValueTask<'a, T> {
    fn from(inner: ValueTask<'a, T>) -> Self {
        LocalValueTask {
            inner,
            _not_send: PhantomData,
        }
    }
}

impl<T> Future for LocalValueTask<'_, T> {
    type Output = T;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.inner.check_not_yielded("LocalValueTask::poll");
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// As [`ValueTask`]'s: futures' `select!` takes a local value task as it is.
impl<T> futures_core::FusedFuture for LocalValueTask<'_, T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<T> fmt::Debug for LocalValueTask<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalValueTask").field(&self.inner).finish()
    }
}
