//! `ValueTask<'a, T>`: a result now, or later (.NET `System.Threading.Tasks.ValueTask<TResult>`).
//!
//! # Invariants
//!
//! - The representation (`Repr`), how it moves and how it is dropped: `repr.rs`.
//! - `ValueTask` is `Unpin` and never pins its value (a ready value is moved out, everything
//!   else is a handle); it is `Done` after yielding, and polling it again panics with a message.
//! - Eager start: [`ValueTask::start`] (what `#[value_task]` bodies return; `boxed` ones differ
//!   in storage only, `lazy` ones use [`ValueTask::new`]) runs the body to its first
//!   suspension at the call, with a waker that wakes nothing, so a future must re-register
//!   its waker on every poll, as the `Future` contract requires. A body that suspended there
//!   suspends its caller at its first real poll (`stored_future.rs`: a yield reaches the
//!   caller's executor). A body the macro proves cannot suspend
//!   (`valuetask-macros`' `synchronous.rs`) runs as a plain closure: same semantics, no future.
//!   A panic in either, at the call, is kept until the value task is polled
//!   (`value_task/panicked.rs`).

mod bridge;
mod constructors;
mod into_task;
mod panicked;
pub(crate) mod records;
mod repr;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::source::ValueTaskSource;
use crate::task::{Task, TaskError};

use crate::backing::{self, Backed, Header, Kind};
use crate::stored_future::StartedInto;
use records::{SourceRecord, TaskRecord};
use repr::used_after_yield;
pub(crate) use repr::Repr;

/// A result that is available now, or an operation that produces it later: .NET's
/// `ValueTask<TResult>`.
///
/// A `ValueTask` is a [`Future`] yielding `T`, backed by one of:
///
/// - a ready value ([`from_result`](Self::from_result)): a move into the value task's two
///   words when it fits them, else a pooled block (no allocation once the pool is warm);
/// - a [`Task`] (`ValueTask::from(task)`), yielding `Result<U, TaskError>`;
/// - a future in pooled storage ([`new`](Self::new), [`start`](Self::start)), or in a box
///   ([`boxed`](Self::boxed));
/// - a [`ValueTaskSource`] and a `u32` token ([`from_source`](Self::from_source),
///   [`from_arc_source`](Self::from_arc_source)).
///
/// .NET's rules for `ValueTask` ("await it once, never concurrently, never block before it
/// is done") are ownership here: a `ValueTask` is not `Clone`, awaiting moves it, and
/// [`get_result`](Self::get_result) blocks safely. To await a result more than once, turn it
/// into a shareable [`Task`] with [`as_task`](Self::as_task) (.NET `AsTask()`); to await it
/// later, whatever its source does meanwhile, [`preserve`](Self::preserve) it (.NET
/// `Preserve()`).
///
/// There is no `ConfigureAwait`: Rust has no `SynchronizationContext`; the code after an
/// `.await` runs on whatever executor polls the enclosing future.
///
/// Polling a value task again after it yielded its value panics, naming the misuse (the
/// `Future` contract leaves that case open; this is .NET's "awaited twice" made loud).
///
/// Every `ValueTask` is two words, whatever `T` (.NET's `ValueTask<TResult>` is a struct as
/// large as its result): a result larger than the words is kept where it was produced (the
/// body's pooled block, the source) and moved once, into what awaiting it yields; a task's
/// is cloned, as awaiting a task clones (the task keeps its own).
///
/// ```
/// use valuetask::ValueTask;
///
/// fn cached_or_fetch(cache: Option<u64>) -> ValueTask<'static, u64> {
///     match cache {
///         Some(hit) => ValueTask::from_result(hit), // no allocation
///         None => ValueTask::new(async { 42 }),     // pooled storage
///     }
/// }
///
/// # futures::executor::block_on(async {
/// assert_eq!(cached_or_fetch(Some(7)).await, 7);
/// assert_eq!(cached_or_fetch(None).await, 42);
/// # });
/// ```
#[must_use = "dropping a ValueTask discards its result and drops whatever work is still pending; await it, `get_result` it or turn it into a Task"]
pub struct ValueTask<'a, T> {
    /// The representation's bytes (`repr.rs`): 16 for every `T`.
    words: repr::Words,
    /// What the words hold, for the auto traits, variance and drop check: a ready `T` and a
    /// backing that borrows for `'a`.
    _repr: PhantomData<Repr<'a, T>>,
}

/// What `stored_future::start_with` did with a body's future, as a value task: its ready
/// output by value, or its block (pooled, or a box).
///
/// The value task is typed `Send` (when `T: Send`) whatever the future: its two users
/// guarantee it, [`ValueTask::start_with`] by its `F: Send` bound and
/// [`ValueTask::start_local_with`] by its contract (the value task stays inside a
/// `LocalValueTask`).
struct Started<'a, T>(PhantomData<ValueTask<'a, T>>);

impl<'a, T, F: Future<Output = T> + 'a> StartedInto<F> for Started<'a, T> {
    type Out = ValueTask<'a, T>;
    /// A result too large for the value task's words stays where the body produced it.
    const KEEP_READY: bool = !ValueTask::<'a, T>::INLINE;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ready(output: T) -> Self::Out {
        ValueTask::ready(output)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn held(header: NonNull<Header<T>>) -> Self::Out {
        // SAFETY: a pooled Held block of a result too large for the words (`KEEP_READY`).
        unsafe { ValueTask::held(header) }
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn pending(header: NonNull<Header<T>>) -> Self::Out {
        // SAFETY: a block holding a pending future that lives for `'a`; typed `Send` as the
        // type's docs say.
        unsafe { ValueTask::from_header(header) }
    }
    fn panicked(payload: Box<dyn std::any::Any + Send>) -> Self::Out {
        ValueTask::panicked(payload)
    }
}

/// `future` in a box, started (`ValueTask::boxed`).
fn start_boxed<'a, T, F: Future<Output = T> + Send + 'a>(future: F) -> ValueTask<'a, T> {
    crate::stored_future::start_boxed::<F, Started<'a, T>>(future)
}

impl<'a, T> ValueTask<'a, T> {
    /// Panic, naming `method`, if this value task already yielded its value.
    #[inline]
    #[track_caller]
    pub(crate) fn check_not_yielded(&self, method: &str) {
        if self.is_done() {
            used_after_yield(method);
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn from_backed(backing: Backed<'a, T>) -> Self {
        if Self::INLINE {
            ValueTask::from_inline(Repr::Backed(backing))
        } else {
            ValueTask::from_far(Repr::Backed(backing))
        }
    }

    /// A value task backed by a `CompletionPool` slot (see [`Repr::Slot`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn from_slot(backing: Backed<'a, T>) -> Self {
        if Self::INLINE {
            ValueTask::from_inline(Repr::Slot(backing))
        } else {
            ValueTask::from_far(Repr::Slot(backing))
        }
    }

    /// [`from_result`](Self::from_result), for a value task a method returns: kept in the
    /// value task's words, or in a block of its own for a result too large for them.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn ready(value: T) -> Self {
        if Self::INLINE {
            return ValueTask::from_inline(Repr::Ready(value));
        }
        let (header, pooled) = crate::held::store_ready(value);
        // SAFETY: a fresh block holding a ready value of `T`, pooled (`Repr::Held`) or not.
        unsafe {
            if pooled {
                ValueTask::held(header)
            } else {
                ValueTask::from_header(header)
            }
        }
    }

    /// A value task of a ready value too large for its words, in a pooled Held block
    /// (`held.rs`).
    ///
    /// # Safety
    /// As for [`Backed::from_header`], for a pooled Held block of [`Kind::Ready`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    unsafe fn held(header: std::ptr::NonNull<backing::Header<T>>) -> Self {
        // SAFETY: per the caller.
        ValueTask::from_far(Repr::Held(unsafe { Backed::from_header(header) }, ()))
    }

    /// # Safety
    /// As for [`Backed::from_header`].
    unsafe fn from_header(header: std::ptr::NonNull<backing::Header<T>>) -> Self {
        // SAFETY: per the caller.
        ValueTask::from_backed(unsafe { Backed::from_header(header) })
    }

    /// A value task that is already complete with `value` (.NET `new ValueTask<T>(result)`).
    /// A move, no allocation, when `value` fits the value task's two words (a word, a
    /// pointer, `()`, a `T` whose niches hold the tag such as `io::Result<usize>`); a larger
    /// result goes to a pooled block (no allocation once the thread's pool is warm), so that
    /// every value task is 16 bytes and moves as two words.
    ///
    /// ```
    /// let vt = valuetask::ValueTask::from_result(5);
    /// assert!(vt.is_completed());
    /// assert_eq!(vt.try_get().ok(), Some(5));
    /// ```
    #[inline]
    pub fn from_result(value: T) -> Self {
        ValueTask::ready(value)
    }

    /// A value task backed by `future`, in pooled storage (a future over 4,080 bytes, or its
    /// output over 4,064, or either aligned over 16 bytes, is boxed instead): .NET's `PoolingAsyncValueTaskMethodBuilder`. Like
    /// every Rust future it starts when first polled; [`as_task`](Self::as_task) starts it at
    /// once, and [`start`](Self::start) polls it here as an `async` method starts.
    ///
    /// ```
    /// let vt = valuetask::ValueTask::new(async { 1 + 1 });
    /// assert_eq!(vt.get_result(), 2);
    /// ```
    pub fn new(future: impl Future<Output = T> + Send + 'a) -> Self {
        match crate::stored_future::store(future) {
            // SAFETY: a fresh block holding a `Send` future that lives for `'a`.
            Ok(header) => unsafe { ValueTask::from_header(header) },
            Err(large) => ValueTask::boxed_lazy(large),
        }
    }

    /// Start `future` now, as a .NET `async` method starts (its builder's `Start`, as in
    /// `PoolingAsyncValueTaskMethodBuilder<TResult>.Start`): it is polled once, here, up to its
    /// first suspension. If it completes, the value task holds the result by value when it
    /// fits the value task's two words, and else keeps it in the future's pooled block until
    /// awaited; if it suspends, it continues in pooled storage (boxed if it is too large for
    /// the pool). This is what `#[value_task]` methods return.
    ///
    /// The first poll uses a waker that does nothing; the first real poll (the `.await`)
    /// registers the real one, as the `Future` contract requires of every future. A body that
    /// suspended at the call (keeping that contract: it woke the waker or kept a clone; one that
    /// did neither is polled as a plain future) suspends its caller at that first real poll: one that woke
    /// itself (a yield: `tokio::task::yield_now()`, a spent cooperative budget) wakes the
    /// caller's waker and returns `Pending` there, as .NET's `await Task.Yield()` suspends the
    /// caller of an `async ValueTask` method; one that completed between the call and that
    /// poll gives its output at the next poll. A first poll that is not an `.await`
    /// (`try_get`, whose waker does nothing) takes that hand-off, and the `.await` after it
    /// polls the body, which then registers the caller's waker or completes: nothing is
    /// lost, but that `.await` does not return `Pending` for the yield. A panic in the first
    /// part does not leave the call: the value task keeps it and it resumes where the value
    /// task is awaited (or `get_result`), as .NET keeps an exception thrown before an `async`
    /// method's first `await` in its task; [`try_get`](Self::try_get) hands such a value task
    /// back, and [`as_task`](Self::as_task) makes the panic the task's
    /// [`TaskError::Panicked`]. So a call's panics reach whatever awaits it: a
    /// `catch_unwind` around its future, a spawned task's `JoinError`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use valuetask::ValueTask;
    ///
    /// let ran = AtomicBool::new(false);
    /// let vt = ValueTask::start(async {
    ///     ran.store(true, Ordering::SeqCst);
    ///     7
    /// });
    /// assert!(ran.load(Ordering::SeqCst), "started at once");
    /// assert!(vt.is_completed());
    /// assert_eq!(vt.get_result(), 7);
    /// ```
    #[inline]
    pub fn start(future: impl Future<Output = T> + Send + 'a) -> Self {
        ValueTask::start_with(move || future)
    }

    /// [`start`](Self::start) for the future `make` builds, built in its pooled block rather
    /// than on the stack and then copied there (what `#[value_task]` bodies use: `make` is
    /// `move || async move { body }`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn start_with<F>(make: impl FnOnce() -> F) -> Self
    where
        F: Future<Output = T> + Send + 'a,
    {
        crate::stored_future::start_with::<F, Started<'a, T>>(make)
    }

    /// Like [`start_with`](Self::start_with), for a future that need not be `Send`.
    ///
    /// # Safety
    /// As for [`pooled_local`](Self::pooled_local): only inside a `LocalValueTask`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn start_local_with<F>(make: impl FnOnce() -> F) -> Self
    where
        F: Future<Output = T> + 'a,
    {
        // SAFETY: per this function's contract, the value task stays inside a `LocalValueTask`.
        crate::stored_future::start_with::<F, Started<'a, T>>(make)
    }

    /// A pooled value task for a future that need not be `Send`.
    ///
    /// # Safety
    /// The result is typed `Send` (when `T: Send`) although the future may not be: it must
    /// stay inside a `LocalValueTask` (which is `!Send`) and never be handed out, combined or
    /// turned into a task.
    pub(crate) unsafe fn pooled_local(future: impl Future<Output = T> + 'a) -> Self {
        let header = match crate::stored_future::store(future) {
            Ok(header) => header,
            Err(large) => crate::stored_future::boxed(large),
        };
        // SAFETY: a block holding a future that lives for `'a`; typed `Send` per this
        // function's contract.
        unsafe { ValueTask::from_header(header) }
    }

    /// Like [`start`](Self::start), but the future is put in a plain box (no pool), for
    /// futures you know are large, or to opt out of pooling. The storage differs, not the
    /// semantics: the future is polled once here, in its box, and one that completes there
    /// gives a ready value task (its box freed, unless it keeps a result too large for the
    /// value task's two words until awaited). So every call allocates its box, where .NET's
    /// non-pooling `AsyncValueTaskMethodBuilder` (which also starts its method at the call)
    /// boxes the state machine only when the method first suspends: a future is polled in
    /// place and cannot move to a box after.
    ///
    /// ```
    /// use valuetask::ValueTask;
    ///
    /// let vt = ValueTask::boxed(async { "boxed" });
    /// assert!(vt.is_completed(), "started at the call");
    /// assert_eq!(vt.get_result(), "boxed");
    ///
    /// let suspended = ValueTask::boxed(async {
    ///     valuetask::yield_now().await;
    ///     1
    /// });
    /// assert!(!suspended.is_completed(), "kept in its box");
    /// assert_eq!(suspended.get_result(), 1);
    /// ```
    pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
        start_boxed(future)
    }

    /// `future` in a plain box, not polled yet (what `new` does with a future too large for
    /// the pool, and the library's bridges, which poll it themselves).
    pub(crate) fn boxed_lazy(future: impl Future<Output = T> + Send + 'a) -> Self {
        // SAFETY: a fresh box holding a `Send` future that lives for `'a`.
        unsafe { ValueTask::from_header(crate::stored_future::boxed(future)) }
    }

    /// A value task whose result comes from `source` for the operation `token`
    /// (.NET `new ValueTask<T>(IValueTaskSource<T>, short token)`). Borrows the source; the
    /// reference and the token go in a small record in this thread's pooled storage, so the
    /// value task stays two words: no allocation once the thread's pool is warm.
    ///
    /// ```
    /// use valuetask::{ManualResetValueTaskSourceCore, TaskError, ValueTask};
    ///
    /// let core = ManualResetValueTaskSourceCore::<u8>::new();
    /// let vt: ValueTask<'_, Result<u8, TaskError>> = ValueTask::from_source(&core, 0);
    /// assert!(!vt.is_completed());
    /// core.set_result(4);
    /// assert_eq!(vt.get_result(), Ok(4));
    /// ```
    pub fn from_source(source: &'a dyn ValueTaskSource<T>, token: u32) -> Self {
        // SAFETY: a fresh record of a `Send + Sync` source borrowed for `'a`.
        unsafe { ValueTask::from_header(SourceRecord::store(source, token)) }
    }

    /// Like [`from_source`](Self::from_source), holding a counted reference to the source
    /// (pass an `Arc<S>`; it coerces): .NET `new ValueTask<T>(IValueTaskSource<T>, short token)`,
    /// the source kept alive as .NET's garbage collector keeps it. No allocation of its own
    /// once this thread's pool is warm (the `Arc` and the token go in a small pooled record,
    /// as for `from_source`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use valuetask::{ManualResetValueTaskSourceCore, TaskError, ValueTask, ValueTaskSource};
    ///
    /// let core = Arc::new(ManualResetValueTaskSourceCore::<u8>::new());
    /// let source: Arc<dyn ValueTaskSource<Result<u8, TaskError>>> = core.clone();
    /// let vt = ValueTask::from_arc_source(source, 0);
    /// let consumer = std::thread::spawn(move || vt.get_result()); // `'static`: it owns a count
    /// core.set_result(9);
    /// assert_eq!(consumer.join().unwrap(), Ok(9));
    /// ```
    pub fn from_arc_source(source: Arc<dyn ValueTaskSource<T> + 'a>, token: u32) -> Self {
        // SAFETY: a fresh record of a `Send + Sync` source that lives for `'a`.
        unsafe { ValueTask::from_header(SourceRecord::store(source, token)) }
    }

    /// Whether the result is available without waiting (.NET `IsCompleted`).
    ///
    /// A future-backed value task says `false` until it has been polled to completion: its
    /// progress is unknown without polling. [`try_get`](Self::try_get) polls it once. One whose
    /// body panicked at the call ([`start`](Self::start)) says `true` (.NET: faulted, which
    /// is completed) and has no result: `try_get` hands it back, and its await resumes the
    /// panic.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, ValueTask};
    ///
    /// assert!(ValueTask::from_result(1).is_completed());
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let vt = ValueTask::from(tcs.task());
    /// assert!(!vt.is_completed());
    /// tcs.set_result(2);
    /// assert!(vt.is_completed());
    /// ```
    ///
    /// # Panics
    /// If the value task's source panics on its token (a
    /// [`ManualResetValueTaskSourceCore`](crate::ManualResetValueTaskSourceCore) reset since:
    /// a stale token).
    #[track_caller]
    pub fn is_completed(&self) -> bool {
        self.repr_is_completed()
    }

    /// Whether this value task has yielded its value: polled again, it panics. Its
    /// `FusedFuture` impl answers the same, so futures' `select!` takes a value task as it
    /// is and skips it once it has yielded. No .NET counterpart: a .NET value task awaited
    /// twice is undefined behaviour.
    ///
    /// ```
    /// use valuetask::ValueTask;
    ///
    /// # futures::executor::block_on(async {
    /// let mut vt = ValueTask::from_result(3);
    /// assert!(!vt.is_terminated());
    /// assert_eq!((&mut vt).await, 3);
    /// assert!(vt.is_terminated());
    /// # });
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.is_done()
    }

    /// For the `stats` advisor, of a value task a call just returned: whether the call
    /// completed. Yes when it holds its value (one check of the tag), or when the source,
    /// task or pooled slot it stands for has completed (a body that only forwards returns
    /// that one: its `status` is asked); no for a future, which suspended or has not run.
    #[cfg(feature = "stats")]
    #[inline]
    pub(crate) fn completed_at_call(&self) -> bool {
        if self.holds_value() {
            return true;
        }
        match self.backed().map(|backed| backed.kind()) {
            // A body that panicked did not run to the end.
            Some(
                crate::backing::Kind::Future
                | crate::backing::Kind::Lazy
                | crate::backing::Kind::Panicked,
            ) => false,
            _ => self.is_completed(),
        }
    }

    /// The result if it is available now, else the value task back (.NET
    /// `IsCompletedSuccessfully` + `Result`). A future-backed value task is polled once (with
    /// a waker that does nothing; the next real poll registers the real one). One whose body
    /// panicked at the call ([`start`](Self::start)) is handed back: it completed, but not
    /// successfully, and the panic resumes where it is awaited.
    ///
    /// ```
    /// use valuetask::{TaskCompletionSource, ValueTask};
    ///
    /// let tcs = TaskCompletionSource::<u8>::new();
    /// let vt = ValueTask::from(tcs.task());
    /// let vt = vt.try_get().unwrap_err(); // pending: handed back
    /// tcs.set_result(3);
    /// assert_eq!(vt.try_get().ok(), Some(Ok(3)));
    /// ```
    ///
    /// # Panics
    /// If the value task already yielded its value (it was polled to completion), or its
    /// source panics on its token (a stale token).
    #[track_caller]
    pub fn try_get(mut self) -> Result<T, Self> {
        if self.is_panicked() {
            return Err(self);
        }
        match self.try_take() {
            Some(value) => Ok(value),
            None => Err(self),
        }
    }

    /// Whether this value task keeps a body's panic at the call (`value_task/panicked.rs`):
    /// completed, but with no result to take.
    pub(crate) fn is_panicked(&self) -> bool {
        self.backed()
            .is_some_and(|backed| backed.kind() == Kind::Panicked)
    }

    /// Whether this is a future stored lazily (`new`, a lazy body), which may not have
    /// started: a forwarding body awaits it in a frame rather than hand it on
    /// (`macro_support::Forward`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn is_lazy(&self) -> bool {
        self.backed()
            .is_some_and(|backed| backed.kind() == Kind::Lazy)
    }

    /// [`try_get`](Self::try_get) by reference: `None` leaves the value task pending, `Some`
    /// leaves it yielded.
    #[track_caller]
    pub(crate) fn try_take(&mut self) -> Option<T> {
        if self.is_done() {
            used_after_yield("ValueTask::try_get");
        }
        let polls_to_know = match self.backed() {
            None => true,
            Some(backed) => backed.holds_future() || backed.kind() == Kind::Ready,
        };
        if !polls_to_know && !self.repr_is_completed() {
            return None;
        }
        let cx = &mut Context::from_waker(Waker::noop());
        match self.poll_repr(cx) {
            Poll::Ready(value) => Some(value),
            // A started body that completed in the poll that hands its yield to the caller's
            // executor (`stored_future.rs`) holds its output for the next poll: no yield to
            // hand anyone here.
            Poll::Pending if self.repr_is_completed() => match self.poll_repr(cx) {
                Poll::Ready(value) => Some(value),
                Poll::Pending => None,
            },
            Poll::Pending => None,
        }
    }

    /// Block this thread until the result is available and return it (.NET
    /// `GetAwaiter().GetResult()`, made safe for every backing: it waits instead of failing).
    ///
    /// A future-backed value task is driven on this thread. Blocking inside an async context
    /// stalls that executor thread; await instead there. On a worker of a multi-thread tokio
    /// runtime the wait hands the worker's other work to another thread (see
    /// [`Task::wait`]); on a current-thread runtime's thread (`#[tokio::test]`'s default), a
    /// wait for work that runs on that runtime never ends: its spawned tasks, and its timers
    /// and I/O, which a future driven here (`tokio::time::sleep`, a socket's read) waits for.
    ///
    /// ```
    /// assert_eq!(valuetask::ValueTask::from_result("hi").get_result(), "hi");
    /// ```
    ///
    /// # Panics
    /// If the value task already yielded its value, or its source panics on its token (a
    /// stale token); a panic of a future it drives comes out here too.
    #[track_caller]
    pub fn get_result(mut self) -> T {
        self.check_not_yielded("ValueTask::get_result");
        if self.is_panicked() {
            // Resumes the body's panic here, with nothing to wait for.
            let _ = self.poll_repr(&mut Context::from_waker(Waker::noop()));
        }
        match self.try_get() {
            Ok(value) => value,
            Err(pending) => crate::blocking::block_on(pending),
        }
    }
}

impl<T> Future for ValueTask<'_, T> {
    type Output = T;

    /// Always inlined, with `Drop` never taking the value task's address: then a value task
    /// polled where it was made (a pooled completion awaited by its renter) is copied
    /// through the stack less, with fewer loads that stall on store forwarding. Row (f)
    /// needs both (neither alone moves it).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.get_mut().poll_repr(cx)
    }
}

/// futures' `select!` asks this before polling, so a value task goes in as it is (no `fuse()`).
impl<T> futures_core::FusedFuture for ValueTask<'_, T> {
    fn is_terminated(&self) -> bool {
        self.is_done()
    }
}

impl<T: Default> Default for ValueTask<'_, T> {
    /// A value task complete with `T::default()` (.NET `default(ValueTask<TResult>)`, which
    /// is complete with `default(TResult)`): as [`from_result`](Self::from_result).
    ///
    /// ```
    /// let vt: valuetask::ValueTask<'_, u32> = Default::default();
    /// assert_eq!(vt.try_get().ok(), Some(0));
    /// ```
    fn default() -> Self {
        ValueTask::from_result(T::default())
    }
}

impl ValueTask<'static, ()> {
    /// A value task that is already complete (.NET `ValueTask.CompletedTask`): no
    /// allocation.
    ///
    /// ```
    /// let done = valuetask::ValueTask::completed();
    /// assert!(done.is_completed());
    /// done.get_result();
    /// ```
    pub const fn completed() -> Self {
        /// A ready `()`'s representation as the value task's words.
        union Cast {
            repr: ManuallyDrop<Repr<'static, ()>>,
            words: repr::Words,
        }
        const { assert!(std::mem::size_of::<Repr<'static, ()>>() == std::mem::size_of::<repr::Words>()) };
        let cast = Cast {
            repr: ManuallyDrop::new(Repr::Ready(())),
        };
        // SAFETY: `Repr<()>` is inline (16 bytes, asserted above): its bytes are a value
        // task's words.
        let words = unsafe { cast.words };
        ValueTask {
            words,
            _repr: PhantomData,
        }
    }
}

// The ready value is moved out, never pinned; every other backing is a handle or a box.
impl<T> Unpin for ValueTask<'_, T> {}

impl<U: Clone + Send + Sync + 'static> From<Task<U>> for ValueTask<'static, Result<U, TaskError>> {
    /// A value task backed by `task` (.NET `new ValueTask<T>(Task<T>)`). Awaiting yields what
    /// awaiting the task yields. The handle goes in a small record in this thread's pooled
    /// storage: no allocation once the thread's pool is warm.
    fn from(task: Task<U>) -> Self {
        // SAFETY: a fresh record of a task of `Send + Sync` values.
        unsafe { ValueTask::from_header(TaskRecord::store(task)) }
    }
}

impl<T> fmt::Debug for ValueTask<'_, T> {
    /// Shows the backing and whether it completed. For a `ValueTaskSource` the token is shown
    /// instead: asking the source would panic if it was reset since (a stale token), and
    /// formatting must not panic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ValueTask");
        d.field("backing", &self.repr_kind());
        match self.backed().and_then(Backed::token) {
            Some(token) => d.field("token", &token),
            None => d.field("is_completed", &self.repr_is_completed()),
        };
        d.finish()
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests;
