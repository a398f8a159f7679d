//! # valuetask
//!
//! .NET's asynchronous return types, rebuilt as an idiomatic, fast Rust library.
//!
//! | .NET | valuetask |
//! |---|---|
//! | `ValueTask<T>` | [`ValueTask<'a, T>`](ValueTask): a `Future<Output = T>`; ready value, task, boxed future or source + token; two words for every `T` (.NET's struct holds the result inline; here a result larger than the words is kept in a pooled block, so a value task always moves as two words) |
//! | `new ValueTask<T>(result)` | [`ValueTask::from_result`]: a move when the result fits the two words; a larger one takes a pooled block (no allocation once the pool is warm; a box over 4,064 bytes, 4,071 for one aligned to 1, or aligned to more than 16) |
//! | `new ValueTask<T>(task)` | `ValueTask::from(task)` → `ValueTask<'static, Result<T, TaskError>>` |
//! | `new ValueTask<T>(source, token)` | [`ValueTask::from_source`], [`ValueTask::from_arc_source`] (`u32` token) |
//! | `default(ValueTask<T>)`, `ValueTask.CompletedTask` | `ValueTask::default()` (complete with `T::default()`), [`ValueTask::completed`] |
//! | `IsCompleted`, `IsCompletedSuccessfully` + `Result` | [`ValueTask::is_completed`], [`ValueTask::try_get`] |
//! | an exception thrown before an `async` method's first `await`, kept in its task | a panic before a body's first suspension ([`ValueTask::start`], `#[value_task]`, the future of a `#[dyn_trait]` call): kept in its value task, resumed where it is awaited; `as_task` makes it [`TaskError::Panicked`] |
//! | `AsTask()`, `Preserve()` | [`ValueTask::as_task`]; [`ValueTask::into_task`] gives back the very `Task` a value task was made from; [`ValueTask::preserve`] |
//! | `GetAwaiter().GetResult()` | [`ValueTask::get_result`] (blocks safely) |
//! | await twice / concurrently | does not compile by value: awaiting moves the value task; awaited again through `&mut` (it is `Unpin`), the second await panics naming the misuse |
//! | `Task<T>`, `TaskAwaiter<T>` | [`Task<T>`](Task): `Clone`, awaitable by value and by `&` ([`TaskFuture`]), yields `Result<T, TaskError>`; [`Task::result`] borrows it instead (any `T`) |
//! | `Exception`, `TaskCanceledException`, `AggregateException` | [`TaskError`]: `Canceled`, `Panicked`, `Faulted`, `Aggregate`, `Abandoned`, `TimedOut` |
//! | `TaskStatus`, `IsFaulted`, `IsCanceled`, `Exception` | [`Task::status`], [`Task::is_faulted`], [`Task::is_canceled`], [`Task::error`] |
//! | `Task.FromResult`, `CompletedTask`, `FromException`, `FromCanceled` | [`Task::from_result`] (static tasks for `()`, `true`, `false` and `i32`s `-1..=8`, as .NET caches), [`Task::completed`] (static), [`Task::from_error`], [`Task::from_canceled`] |
//! | `Task.Run`, `Task.Run(…, token)`, `LongRunning` | [`Task::run`], [`Task::run_on`], [`Task::run_with_cancellation`], [`Task::run_blocking`] (feature `tokio`) |
//! | `Task.Delay`, `Task.Yield`, `YieldAwaitable` | [`Task::delay`], [`Task::delay_with_cancellation`] (feature `tokio`), [`yield_now`] ([`YieldNow`], any executor) |
//! | `CancellationToken` | `tokio_util::sync::CancellationToken`; [`TaskCompletionSource::cancel_on`] (feature `tokio`) |
//! | `Task.WhenAll`, `Task.WhenAny`, `Task.WhenEach` | [`Task::when_all`], [`Task::when_any`], [`Task::when_each`] (a [`Stream`](futures_core::Stream)), and [`ValueTask::when_all`], [`ValueTask::when_any`] (which .NET lacks) |
//! | `Task.WaitAll`, `Task.WaitAny` | [`Task::wait`] on each task, or [`Task::when_all`]`(…).wait()` (which clones the values: `T: Clone`); [`Task::when_any`]`(…).wait()` (the first task, not its index) |
//! | `TaskExtensions.Unwrap` (of `Task<Task<T>>`) | [`Task::flatten`] |
//! | `ContinueWith`, `TaskContinuationOptions`; `ContinueWith(…, token, …)`, `LazyCancellation` | [`Task::continue_with`], [`Task::continue_with_options`], [`ContinuationOptions`] ([`ContinueWhen`]: `OnlyOn…`, `NotOn…`; [`ContinueOn`]: `ExecuteSynchronously`); [`Task::continue_with_cancellation`] (feature `tokio`), [`lazy_cancellation`](field@ContinuationOptions::lazy_cancellation) |
//! | `Wait()`, `.Result`, `GetAwaiter().GetResult()`; `Wait(TimeSpan)`; `IsCompleted` + `Result` without blocking | [`Task::wait`]; [`Task::wait_timeout`]; [`Task::try_result`] |
//! | `WaitAsync(TimeSpan, CancellationToken)`, `TimeoutException` | [`Task::wait_async`], [`Task::wait_async_timeout`], [`Task::wait_async_cancellation`] (feature `tokio`); [`TaskError::TimedOut`] |
//! | `TaskCompletionSource<T>` | [`TaskCompletionSource<T>`](TaskCompletionSource) |
//! | `TaskCreationOptions.RunContinuationsAsynchronously` | [`Continuations::Asynchronous`] |
//! | `IValueTaskSource<T>`, `ValueTaskSourceStatus` | [`ValueTaskSource<T>`](ValueTaskSource), [`SourceStatus`] |
//! | `ManualResetValueTaskSourceCore<T>` | [`ManualResetValueTaskSourceCore<T>`](ManualResetValueTaskSourceCore): `&self` API, `reset()` bumps the version, wrong token panics naming both |
//! | pooled `IValueTaskSource` objects (what `Socket` does internally) | [`CompletionPool<T>`](CompletionPool) + [`Completer<T>`](Completer): a reusable `oneshot` |
//! | `PoolingAsyncValueTaskMethodBuilder`, `async ValueTask<T>` methods | [`#[value_task]`](macro@value_task) on traits, impls and `async fn`s; [`ValueTask::new`] pools the future; [`LocalValueTask`] for futures that are not `Send` |
//! | no .NET counterpart: native `async fn` traits behind a trait object (dynosaur's `dyn` form) | [`#[dyn_trait]`](macro@dyn_trait): the trait as written, a `dyn` form whose calls return value tasks in pooled storage, no box per call |
//! | no .NET counterpart: tower's `BoxService`, `BoxCloneService`, `BoxCloneSyncService`, `UnsyncBoxService` and `BoxLayer` family | [`tower`]'s types of the same names (feature `tower`): the same erasure, with value-task responses in pooled storage, no box per request |
//! | `TaskScheduler.UnobservedTaskException` | [`set_unobserved_error_hook`] (default: a `tracing` warning), [`take_unobserved_error_hook`] |
//! | `ConfigureAwait(false)`, `SynchronizationContext` | none: code after `.await` runs on whatever executor polls it |
//!
//! Porting C# code? The [`guide`] shows each .NET pattern (`async ValueTask` methods, the
//! cache pattern, `IValueTaskSource`, `WhenAll`, cancellation, the documented misuses) beside
//! its valuetask form, every example a doctest. [`misuse`] lists every misuse of every type
//! and what it gets.
//!
//! ## Semantics
//!
//! - **Values are values.** A `ValueTask<'a, T>` yields `T`; a method's own failures belong in
//!   `T` (`Result<U, E>`). A `Task<T>` yields `Result<T, TaskError>`, because a shared, hot
//!   task can be canceled or panic independently of any awaiter.
//! - **Single consumption is a type property.** `ValueTask` is not `Clone` and awaiting moves
//!   it, so .NET's documented misuses do not compile; polling one again after it yielded
//!   (through `&mut`) panics, naming the misuse.
//! - **Tasks are hot.** Whatever completes a task does so whether or not anyone awaits it.
//! - **Any executor, or none.** Everything here works on any executor; `wait` and
//!   `get_result` block the thread. Feature `tokio` (default) drives pending futures handed to
//!   [`ValueTask::as_task`]; feature `tower` adds [`tower`]: erased tower services without a
//!   box per request.
//!
//! ```
//! use valuetask::{Task, TaskCompletionSource, ValueTask};
//!
//! # futures::executor::block_on(async {
//! // A result that is often known at once: no allocation on that path.
//! let hit: ValueTask<'_, u32> = ValueTask::from_result(1);
//! assert_eq!(hit.await, 1);
//!
//! // A result many can await.
//! let tcs = TaskCompletionSource::new();
//! let task: Task<String> = tcs.task();
//! let (a, b) = (task.clone(), task.clone());
//! tcs.set_result("shared".to_string());
//! assert_eq!(a.await.unwrap(), "shared");
//! assert_eq!((&b).await.unwrap(), "shared");
//! # });
//! ```
#![deny(missing_docs)]

mod backing;
mod blocking;
mod catch_panic;
mod combinators;
mod completion_source;
mod continuation_thread;
mod continue_with;
mod error;
mod first_poll;
mod forwarding;
mod global_runtime;
pub mod guide;
mod held;
mod inline_depth;
mod local_value_task;
#[doc(hidden)]
pub mod macro_support;
pub mod misuse;
mod pool;
mod runtime;
mod source;
#[cfg(feature = "stats")]
pub mod stats;
mod stored_future;
mod sync;
mod task;
mod thread_cache;
#[cfg(feature = "tower")]
pub mod tower;
mod unobserved;
mod value_task;
#[cfg(feature = "tokio")]
mod wait_async;
mod wake_set;
mod watcher;
mod when_each;

pub use completion_source::TaskCompletionSource;
pub use continuation_thread::Continuations;
pub use continue_with::{ContinuationOptions, ContinueOn, ContinueWhen};
pub use local_value_task::LocalValueTask;
pub use runtime::{yield_now, YieldNow};
pub use source::{
    Completer, CompletionPool, ManualResetValueTaskSourceCore, SourceStatus, ValueTaskSource,
};
pub use task::{Task, TaskError, TaskFuture, TaskResultFuture, TaskStatus};
pub use unobserved::{set_unobserved_error_hook, take_unobserved_error_hook};
pub use value_task::ValueTask;
pub use when_each::WhenEach;

/// `async fn` in traits (usable as `dyn Trait`), impls and free functions, returning a
/// [`ValueTask`] whose future lives in pooled storage (.NET's
/// `PoolingAsyncValueTaskMethodBuilder`).
///
/// - On a trait: every `async fn` becomes `fn … -> ValueTask<'value_task, T>`, with the
///   lifetimes `async-trait` would give it, so the trait stays `dyn`-compatible; default bodies
///   are allowed. On the trait's impl blocks, inherent impls and free `async fn`s: the same.
///   On one method of an impl (rather than on the impl), the attribute sees the method alone:
///   an argument taken by value whose type uses a type parameter `T` of the impl needs
///   `where T: 'value_task` on the method (the bound the impl-level attribute adds itself).
/// - A free `async fn` with exactly one lifetime (elided or named), no type parameters, no
///   `impl Trait` arguments, no macro's type (`bytes!()`) among its arguments' types, no
///   borrowing argument under `#[cfg]` and no `where` clause returns `ValueTask` of that lifetime
///   (`fn(&'a str) -> ValueTask<'a, T>`), unbounded, so the function is a higher-ranked
///   callback: it coerces to `for<'a> fn(&'a str) -> ValueTask<'a, T>` and meets
///   `F: for<'a> Fn(&'a str) -> ValueTask<'a, T>` (a handler table), which a plain `async fn`,
///   with its unnameable future, cannot. Any other free function's lifetimes are bounded by
///   its value task's (`'a: 'value_task`), which makes them early-bound: it does not meet a
///   higher-ranked bound over two lifetimes (`impl AsyncFn(&str, &str) -> bool`) that a plain
///   `async fn` meets; pass an async closure that calls it (`async |a, b| f(a, b).await`). (A method without `self` or `Self`, annotated on its
///   own, looks like a free function to the attribute: in a trait impl, annotate the impl
///   block, so that its signature takes the trait's form.)
/// - A call starts the body at once and runs it to its first suspension, as a .NET `async`
///   method does ([`ValueTask::start`]): if it completes there, the result comes back by value
///   (one larger than the value task's two words waits in the body's pooled block until
///   awaited); if it suspends, the future continues in pooled storage. Either
///   way a call allocates nothing in steady state (futures up to 4,080 bytes, outputs up to 4,064, aligned to at
///   most 16 bytes; others are boxed). This differs from `async-trait`, whose futures are lazy: the body's first part
///   runs inside the call, so a lock or `RefCell` borrow held across the call is held while
///   it runs; a call dropped without being awaited has already run that part (so a body that
///   makes a call it may not await, such as a recursive search that builds its next level
///   before deciding whether to await it, runs that call anyway: one that stops by not
///   awaiting recurses until the stack overflows); and a scope entered around the awaiting
///   (a tokio task-local's `scope(value, call())`, an `instrument`ed span) does not cover it.
///   (So a body that creates runtime resources, such as a tokio timer, before its first
///   `.await` needs the runtime at the call: call it from async code. And what it awaits
///   there is polled with a waker that wakes nothing, until the value task's first poll polls
///   it again with the caller's: a leaf that keeps one waker, replacing the last, and that
///   the caller polled itself just before the call, wakes nobody until the value task is
///   polled.) A panic in that first part does not leave the call: it is kept in the value
///   task and resumes where it is awaited, where a lazy box raises it at its first poll, so
///   a `catch_unwind` around the call's future, or a task spawned with it, catches it. (A
///   body that only forwards a call is that call: a panic while its arguments are
///   evaluated leaves the call.) Where code ported from
///   `#[async_trait]` relies on that laziness, `#[value_task(lazy)]` (on the item or one
///   method) starts the body at the first poll instead ([`ValueTask::new`]), still pooled;
///   such calls are not counted by the `stats` advisor, which cannot tell at the call.
/// - Arguments move into the future whole, as they do into a plain `async fn`: parts an
///   argument pattern ignores (`(_, n)`, `Pair { n, .. }`) live until the body ends, where
///   `async-trait` drops them at the first poll. Reference arguments are the exception, as in
///   `async-trait`: the future holds one only if the body uses it (a reference has nothing
///   to drop), so an unused `&T` of a `T` that is not `Sync` leaves the future `Send`
///   (unless its pattern binds `mut` or `ref`: those are rebound in the future). So are
///   primitive scalars (`u64`, `bool`, `f64`, ..): the body reads one where the future
///   captured it, not a copy made at its first poll (a plain `async fn` makes that copy).
/// - `-> !` becomes `ValueTask<'_, Infallible>` (stable Rust does not allow `!` as a type
///   argument; `Infallible` is as uninhabited), in traits and impls alike. Such a body is
///   always a future, `.await` or not (a closure returning `Infallible` would make the code
///   after its call unreachable, a warning in your crate), so it gets no leniency about
///   `Send` (below).
/// - A lifetime hidden in a path (`Cow<str>` for `Cow<'_, str>`, `Chars` for `Chars<'_>`)
///   is not seen by the attribute, which cannot look inside the type: in an argument it
///   makes the signature's elision ambiguous or leaves the future unbounded (E0106, or
///   "lifetime may not live long enough", where a plain `async fn` compiles), and in the
///   output of a body that only awaits one call it is not shortened to the method's. Write
///   it (`Cow<'_, str>`), as the `elided_lifetimes_in_paths` lint asks. So is one inside a
///   macro's type (`bytes!()` for `&[u8]`): write the type itself where it borrows.
/// - A method's own options go in `#[value_task(..)]` by that name: under `cfg_attr` they
///   would apply after the outer attribute rewrote the method (a compile error says so),
///   and under another name (`use valuetask::value_task as vt`) the outer one does not see
///   them.
/// - `'async_trait` written in a signature (`where T: 'async_trait`) means the attribute's
///   own lifetime, `'value_task`, so such code carries over unchanged. A body that takes
///   `&mut self` of a `&mut self` receiver (which a plain `async fn` rejects) stays an
///   error, where `async-trait`, which renames `self`, accepts it. So does a body that moves
///   out of a `ref name` argument (a borrow of the argument, as in a plain `async fn`; for
///   `async-trait` the `ref` is dropped and `name` owned). `extern "C"` async methods are
///   refused (async-trait passes the ABI on to a method that returns a box).
/// - A body with no `.await` of its own (one inside an `async` block, an `async` closure or
///   an `async fn` item it makes is theirs) and no macro other than the standard library's
///   (`select!`-style macros hide an `.await`) cannot suspend, so it runs as a plain closure
///   and the call returns [`ValueTask::from_result`]: no future, and for a result that fits
///   the value task's two words no storage at all, the
///   cost of a function call returning a 16-byte value (for a result of up to 8 bytes, in
///   two registers). Nothing is held across a suspension
///   there, so such a body need not be `Send`, nor its `self` and arguments; nor those of a
///   body that only awaits one call (it returns that call's value task). That leniency
///   follows the body's text: an edit that gives it an `.await` or a macro the attribute does
///   not know (`tracing::trace!`, `anyhow::bail!`) makes it a future, which must be `Send`
///   (so does `lazy`), and the error then names a receiver or argument the edit did not
///   touch. `#[async_trait]` rejects all of them; a plain `async fn` in an inherent impl
///   accepts all. A local macro named like a standard one that
///   hides an `.await` is a compile error ("`await` is only allowed inside `async`
///   functions"), never a wrong result.
/// - Switching from `async-trait`: `#[value_task]` goes where `#[async_trait]` was, on the
///   trait and on every impl of it (`use valuetask::value_task as async_trait;` switches a
///   crate by its import, mockall's `mock!` blocks included). An impl of a trait that another
///   crate declares with `#[async_trait]` (axum's `FromRequestParts`, say) keeps
///   `#[async_trait]`: that trait's methods return its box (E0053 names the two types). Code
///   that takes a call's result as the box itself (returns it as a `BoxFuture`, stores it as
///   a `Pin<Box<dyn Future>>`) boxes the value task instead, `Box::pin(x.method())`, or keeps
///   it as it is (reqwest-middleware's `Next::run` needed that one change).
/// - Compared with `async-trait`: a method that does not use `Self` returns a value task
///   that does not borrow `Self` (as there); default bodies get the `Self: Send` / `Sync`
///   bounds `async-trait` gives them. One difference: `ValueTask<T>` is `Send` only when `T`
///   is (it can hold a `T`), where `async-trait`'s boxed future is `Send` whatever its output;
///   awaiting a call (which keeps its value task across the `.await`) inside a `Send` future,
///   default bodies included, needs `T: Send`. So a trait whose methods return a bare
///   `Result<_, Box<dyn Error>>` and are awaited on a multi-thread runtime needs
///   `Box<dyn Error + Send + Sync>` (as such code usually has anyway), or `?Send`.
/// - Pooling is the default, and safe: a value task cannot be awaited twice. Opt a method out
///   with `#[value_task(boxed)]` on it, or a whole item with `#[value_task(boxed)]` on the
///   item ([`ValueTask::boxed`]; nearest to .NET's non-pooling builder, which boxes a call's
///   state machine only at its first suspension): that changes where the future
///   is kept (a box per call whose body has an `.await`, made before the body runs and freed
///   when it completes, or when its result is awaited if it is larger than the value task's
///   two words), not when the body runs; a body with no `.await` allocates no box. Under `?Send` the box is itself
///   kept in a pooled block (a `LocalValueTask` has no unpooled form). `boxed` and `lazy`
///   together are an error (a lazy body is pooled).
/// - The pool's memory is bounded. Futures go in blocks of seven size classes (64 bytes to
///   4 KiB, each with a 16-byte header). Each thread keeps up to 16 KiB of free blocks per class, and a shared list keeps
///   up to 64 KiB per class for blocks freed on other threads. So the pool holds at most
///   112 KiB per thread that used it, plus 448 KiB shared. Blocks beyond that go back to the
///   allocator; a thread's cache goes to the shared lists when the thread exits (what
///   exceeds their cap, to the allocator). The caps are read from the
///   environment at the pool's first use (as .NET reads
///   `DOTNET_SYSTEM_THREADING_POOLINGASYNCVALUETASKSCACHESIZE`): `VALUETASK_POOL_THREAD_BYTES`
///   (per class and thread, default 16384) and `VALUETASK_POOL_SHARED_BYTES` (per class,
///   default 65536), so the pool holds at most 7 × the first per thread plus 7 × the second;
///   0 for both turns pooling off (every suspending call allocates its block), for diagnosis.
/// - The method's attributes stay on it. `#[must_use]` then marks the value task, which is
///   `must_use` already: the check that an awaited output is used, which `#[must_use]` on an
///   `async fn` gives, is lost, as with `async-trait`. Clippy lints that read the `async`,
///   the future or its output (`unused_async`, `future_not_send`, `missing_errors_doc`,
///   `missing_panics_doc`) no longer fire on a rewritten method, as on an `async-trait` one:
///   an `expect` of one becomes an `allow`, on the method or its trait or impl. The
///   expansion writes no `allow` of a lint the user's code can trip, so `forbid` of any lint
///   holds.
/// - Attribute macros on a method, such as `#[tracing::instrument]`, run on the `async fn`
///   before it is rewritten, so they cover the whole body, across suspensions, as on an
///   `async-trait` method. (On a free function they may go either side of `#[value_task]`.)
///   One exception: a trait that carries attribute macros after `#[value_task]`, such as
///   `#[auto_impl(Arc, Box)]` (tower-lsp's `LanguageServer`), has them expand before its
///   methods' own, and they read the methods' signatures, so its methods are rewritten at once,
///   as `async-trait` does; a default body's `instrument` then sees the rewritten method and
///   spans the call, which runs the body up to its first suspension.
/// - `#[value_task(?Send)]` on the item: futures need not be `Send`; methods return
///   [`LocalValueTask`].
/// - `#[value_task(crate = path)]` (or `crate = "path"`, as serde and tokio spell it) on the
///   item: the expansion names valuetask by `path` instead of `::valuetask`, for a crate that
///   re-exports valuetask to users who do not depend on it directly
///   (`#[value_task(crate = my_framework::valuetask)]`). The path must lead to the crate
///   (its `ValueTask`, `LocalValueTask`, `value_task` and hidden `macro_support`), as a
///   re-export of the whole crate does.
/// - Options that belong to the whole item (`?Send`, `crate`) on a method are errors, and so
///   is `boxed` or `lazy` on a trait method without a default body (the impl's method chooses
///   its own storage and start).
///
/// ```
/// use valuetask::value_task;
///
/// #[value_task]
/// trait Store: Send + Sync {
///     async fn get(&self, key: &str) -> Option<u64>;
///     async fn get_or(&self, key: &str, default: u64) -> u64 {
///         self.get(key).await.unwrap_or(default)
///     }
/// }
///
/// struct Cache;
///
/// #[value_task]
/// impl Store for Cache {
///     async fn get(&self, key: &str) -> Option<u64> {
///         (key == "hit").then_some(1)
///     }
/// }
///
/// let store: &dyn Store = &Cache;
/// assert_eq!(store.get_or("miss", 7).get_result(), 7);
/// assert_eq!(store.get("hit").get_result(), Some(1));
/// ```
pub use valuetask_macros::value_task;

/// A `dyn` form for a trait written with native `async fn` (dynosaur's
/// `#[dynosaur::dynosaur(DynStore = dyn(box) Store)]`, without the box): the trait stays as
/// written, so static calls are the compiler's own futures, and `DynStore<'a, ..>` stands
/// where `dyn Store` would. Each call through it returns a value task whose future is started
/// at the call in pooled storage, as a `#[value_task]` method's is: no allocation per call in
/// steady state. Three things are boxed, as dynosaur boxes them: an `impl Trait` argument (a
/// trait object cannot take a type parameter; the box keeps its lifetime bound, so an
/// `impl FnOnce() + Send + 'static` job reaches the implementor as `'static`), a
/// `-> impl Trait` return other than a future (a `use<..>` bound
/// on it is left to the trait: the generated impls capture their parameters; one that leaves
/// out a lifetime of the arguments, the receiver's included, is an error, as what the `dyn` form
/// returns borrows them all),
/// and a future of more than 4,080 bytes (the pool's largest block, less its header) or an output of
/// more than 4,064.
///
/// What it generates (for a trait `Store` and the name `DynStore`):
///
/// - `struct DynStore<'a, P.., A..>`, with the trait's parameters `P` and associated types
///   `A` as parameters: a `repr(transparent)` struct around
///   `dyn __ErasedStore<P.., A = A..> + 'a`, as dynosaur's is, which implements `Store` and
///   has dynosaur's constructors:
///   `new_box`, `new_arc`, `new_rc`, `from_box`, `from_arc`, `from_rc`, and the `const fn`s
///   `from_ref` and `from_mut` (each takes any implementor of `Store`), and 0.2's `boxed`. It
///   is a type of your crate: give it inherent methods, or `Debug` (it has none, as
///   dynosaur's has none), as for any of your types.
/// - `__ErasedStore` (hidden, and named apart from the names a crate gives its items: a type
///   `ErasedStore` of yours stays yours), the trait object's trait: its methods (renamed
///   `__dyn_name`) return a `LocalValueTask` for an `async fn` (an implementor's future need
///   not be `Send`), a `ValueTask` for `-> impl Future<Output = T> + Send`, a `Box<dyn Trait>` for
///   another `-> impl Trait`, and what the trait's return otherwise; it is implemented for
///   every `T: Store`. A `where Self: Sized` method is left out.
/// - The bridges (`bridge(blanket)`, the default after `dyn(box)`): `Store` for `&T` (every
///   method takes `&self`), `&mut T` (`&self` or `&mut self`), `Box<T>` (those or
///   `self: Box<Self>`), for any `T: Store + ?Sized`. `bridge(dyn)`: for `&DynStore`,
///   `&mut DynStore` and `Box<DynStore>` only (for `trait_variant::make`, whose blanket impl
///   the others would overlap); `bridge(none)`: none, the default in dynosaur 0.2's forms
///   (`DynStore`, `DynStore = dyn Store`), which had none, so a 0.2 crate's own bridges stay.
///   A bridge cannot forward a `where Self: Sized` method (its `T` may be unsized): on a
///   pointer such a method runs the trait's default body, with `Self` the pointer, not
///   `T`'s override; a trait with such a method and no default body gets no bridges.
///   The `dyn` form's own impl leaves such a method out (the form is unsized, so nothing
///   can call it) on Rust 1.87 and later. Before 1.87 rustc asks for a body, which cannot
///   run: for an `async fn` or `-> impl Future` that is fine; for another `-> impl Trait` it
///   is `unreachable!()`, whose `()` must meet the bounds (`impl Debug` does, `impl Iterator`
///   does not: there, give such a method a default body).
///
/// Where a value task cannot stand for dynosaur's box: a `-> impl Future + Send` whose output
/// is not `Send` (the value task holds the output, so its `Send` needs the output's: with an
/// output generic over the trait's parameters, the trait's impl for the `dyn` form then does
/// not hold for those that are not; a concrete one, such as `Result<(), Box<dyn Error>>`, is
/// an error at that output: add `+ Send + Sync` to the error type, as tower's `BoxError`
/// has). A `+ Sync` future is returned wrapped (a value task is not `Sync`; the wrapper is,
/// as nothing reaches a future through `&`). A `-> impl Future + 'static` (or `+ 'a`) future's value task has that
/// lifetime, as the box has; it holds the output, so the `dyn` form's impl of the trait
/// asks the output to outlive it too (`Self::Response: 'static` for a spawnable
/// `-> impl Future<Output = Self::Response> + Send + 'static`), where the box does not.
///
/// Options, after the name: `bridge(..)`; `lazy` (the future starts at the first poll) or
/// `boxed` (a box per call), not both; `crate = path`, as for [`value_task`]; `?Send` is
/// accepted and changes nothing (an `async fn`'s value task is a `LocalValueTask` already,
/// and a `-> impl Future + Send` method's stays a `ValueTask`, as its trait asks). dynosaur's forms are accepted as they are:
/// `pub DynStore = dyn(box) Store`, `DynStore = dyn Store`, `DynStore` alone. An attribute whose
/// `dyn Trait` names another trait leaves the item alone, so that under
/// `#[trait_variant::make(SendStore: Send)]` each variant takes its own attribute.
///
/// A method whose arguments borrow for two or more lifetimes (`get(&self, key: &str)`; an
/// `impl Trait` argument, boxed through the `dyn` form, counts as one unless it is bounded by
/// `'static`; a method's own lifetime counts even when only the output names it) returns its value task
/// from the `dyn` form with that borrow's lifetime unnamed, in an `unsafe` block: an
/// `impl Future` cannot name the intersection of two lifetimes (dynosaur does the same to its
/// box). The block is the macro's own, which rustc's `unsafe_code` lint does not look into, so
/// a crate that forbids `unsafe` can use such a trait, as it can a dynosaur one.
/// A parameter under `#[cfg]` counts whether it is compiled in or not (the attribute cannot
/// know), and is passed on under its `cfg` by every generated call. An output bounded by one
/// lifetime (`+ 'static`, `+ 'a`, `+ '_`) needs no such block: the generated erased trait's
/// output is of that lifetime too, so every impl of it keeps the bound the `dyn` form
/// promises; one bounded by two lifetimes, with two borrows, is refused (no one lifetime
/// states it). With the lifetime unnamed, the value is of a type with no lifetime, which an
/// impl written for `'static` types alone would meet (`impl Items for Box<dyn Items +
/// 'static>`, whose method could keep it past the borrows): so, with two borrows and no
/// bound, a future may be `Future`, `Send` and `Unpin` only, and another `-> impl Trait` is
/// refused: give it a lifetime all its borrows outlive (`fn items<'a>(&'a self, key: &'a
/// str) -> impl Iterator<Item = u8> + 'a`), as the error says.
///
/// As for [`value_task`], a lifetime hidden in a path (`key: Cow<str>`) is not seen by the
/// attribute ("lifetime may not live long enough" where the trait alone compiles): write it
/// (`Cow<'_, str>`), as the `elided_lifetimes_in_paths` lint asks.
///
/// A method under `#[cfg]` is generated under its `cfg` everywhere, and what its output asks
/// of the impl (`Send`, a lifetime) is stated only where it names the trait's parameters or
/// associated types, so a type only its `cfg` brings is never named without it. An associated
/// type is a parameter of the `dyn` form whatever its `cfg` says (a path cannot bind one
/// conditionally): one under a `cfg` that is off is an error ("associated type not found");
/// keep associated types out of `cfg`s.
///
/// No .NET counterpart: every .NET interface can be called through a reference already.
///
/// ```
/// use valuetask::dyn_trait;
///
/// #[dyn_trait(DynStore = dyn Store)]
/// trait Store {
///     async fn get(&self, key: &str) -> Option<u64>;
/// }
///
/// struct Memory;
///
/// impl Store for Memory {
///     async fn get(&self, key: &str) -> Option<u64> {
///         (key == "hit").then_some(1)
///     }
/// }
///
/// struct Service {
///     store: Box<DynStore<'static>>,
/// }
///
/// # futures::executor::block_on(async {
/// let service = Service { store: DynStore::new_box(Memory) };
/// assert_eq!(service.store.get("hit").await, Some(1)); // through the dyn form: pooled
/// assert_eq!(Memory.get("miss").await, None); // static: the trait as written
/// # });
/// ```
pub use valuetask_macros::dyn_trait;

/// The README's example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
