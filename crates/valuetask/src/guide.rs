//! Porting from C#: each .NET pattern with its valuetask form. Every example here compiles and
//! runs as a doctest. No .NET counterpart (documentation only): the nearest is the usage
//! guidance in .NET's `ValueTask<TResult>` and `IValueTaskSource<TResult>` API docs.
//!
//! # `async ValueTask<int> Func()`: `#[value_task]`
//!
//! ```csharp
//! [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
//! public async ValueTask<int> CountAsync(string key) { await Task.Yield(); return key.Length; }
//! ```
//!
//! An `async fn` under [`#[value_task]`](macro@crate::value_task) returns a [`ValueTask`](crate::ValueTask)
//! (the generalized async return type). As in .NET, the call runs the body at once up to its
//! first suspension; a body that completes there returns its value with nothing allocated,
//! and one that suspends continues in pooled storage, as .NET's
//! `PoolingAsyncValueTaskMethodBuilder` does for a method that opts in with the attribute
//! above (.NET's default builder, `AsyncValueTaskMethodBuilder`, allocates a box for the state
//! machine at the first suspension of each call).
//!
//! ```
//! use valuetask::value_task;
//!
//! #[value_task]
//! async fn count(key: &str) -> usize {
//!     valuetask::yield_now().await; // Task.Yield()
//!     key.len()
//! }
//!
//! assert_eq!(count("four").get_result(), 4);
//! ```
//!
//! # A cached value, else the loading task (`CachedFunc`, `LoadCache`, `GetDataAsync`)
//!
//! ```csharp
//! public ValueTask<string> GetDataAsync(int id) =>
//!     _cache.TryGetValue(id, out var hit) ? new ValueTask<string>(hit) : new ValueTask<string>(LoadAsync(id));
//! ```
//!
//! The hit is a ready value task ([`ValueTask::from_result`](crate::ValueTask::from_result):
//! a move for a result of up to two words; a `String`, three, waits in a pooled block); the
//! miss runs the slower path. `examples/cached_repository.rs` does this for real,
//! with SQLite behind the cache.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use valuetask::ValueTask;
//!
//! struct Repository {
//!     cache: Mutex<HashMap<u32, String>>,
//! }
//!
//! impl Repository {
//!     fn get_data(&self, id: u32) -> ValueTask<'_, String> {
//!         if let Some(hit) = self.cache.lock().unwrap().get(&id) {
//!             return ValueTask::from_result(hit.clone()); // CachedFunc: no future at all
//!         }
//!         ValueTask::start(async move {
//!             valuetask::yield_now().await; // the slower fallback (a database, a service)
//!             let loaded = format!("row {id}");
//!             self.cache.lock().unwrap().insert(id, loaded.clone()); // LoadCache
//!             loaded
//!         })
//!     }
//! }
//!
//! let repo = Repository { cache: Mutex::new(HashMap::new()) };
//! assert!(!repo.get_data(1).is_completed(), "a miss suspends");
//! assert_eq!(repo.get_data(1).get_result(), "row 1");
//! assert!(repo.get_data(1).is_completed(), "then it is a hit");
//! ```
//!
//! # One interface, a synchronous and an asynchronous implementation (`IFoo.BarAsync`)
//!
//! ```csharp
//! interface IFoo { ValueTask<int> BarAsync(); }
//! class Fixed : IFoo { public ValueTask<int> BarAsync() => new(42); }
//! class Remote : IFoo { public async ValueTask<int> BarAsync() { await Task.Delay(1); return 7; } }
//! ```
//!
//! A trait under `#[value_task]` stays `dyn`-compatible. An implementation whose body has no
//! `.await` becomes a plain call returning a ready value; the other keeps its future in pooled
//! storage. Neither allocates per call in steady state (`#[async_trait]` boxes every call).
//! A body that only awaits another value-task call with the method's own output
//! (`async fn get(&self, key: &str) -> T { self.inner.get(key).await }`, the usual forwarding
//! impl for `Arc<T>` or a wrapper) returns that call's value task: no frame, no copy of the
//! result at that layer, and a callee that suspended at its call is polled next by the
//! caller's first poll, where a frame would poll it again at the call (when the output names no lifetime and may hide none: `&str`,
//! `Cow<'_, str>`, `Self`, `Self::Name` or `T::Name` keep a frame, where a `'static` one may
//! shorten). A result larger than a value task's two words that is ready at the call waits
//! in the body's pooled block and is copied out once when awaited, where a box's poll writes
//! it in place: a call of a small future that completes at once with a result of a few
//! hundred bytes can take about a box's time, though it allocates nothing. A body that
//! suspends is polled once at the call and again when awaited, and one waiting for another
//! party's answer is polled once more than a box's (the bench's rows (o) and (p), and the
//! `stats` module docs, say where).
//!
//! ```
//! use valuetask::value_task;
//!
//! #[value_task]
//! trait Foo: Send + Sync {
//!     async fn bar(&self) -> u32;
//! }
//!
//! struct Fixed;
//! struct Remote;
//!
//! #[value_task]
//! impl Foo for Fixed {
//!     async fn bar(&self) -> u32 {
//!         42
//!     }
//! }
//!
//! #[value_task]
//! impl Foo for Remote {
//!     async fn bar(&self) -> u32 {
//!         valuetask::yield_now().await;
//!         7
//!     }
//! }
//!
//! let foos: Vec<Box<dyn Foo>> = vec![Box::new(Fixed), Box::new(Remote)];
//! let values: Vec<u32> = foos.iter().map(|f| f.bar().get_result()).collect();
//! assert_eq!(values, [42, 7]);
//! ```
//!
//! # `ReadAsync`: complete from a buffer, errors as values
//!
//! ```csharp
//! public ValueTask<int> ReadAsync(Memory<byte> buffer) =>
//!     _buffered > 0 ? new ValueTask<int>(CopyFromBuffer(buffer)) : ReadCoreAsync(buffer);
//! ```
//!
//! Most reads copy from the buffer and return a ready value task; only a refill suspends. An
//! error is part of the value (`io::Result`), not a faulted `Task` to allocate
//! (`Task.FromException`). `examples/buffered_reader.rs` reads a loopback TCP stream this way.
//!
//! ```
//! use std::io;
//! use valuetask::value_task;
//!
//! struct Reader {
//!     buffered: Vec<u8>,
//!     refills_left: u32,
//! }
//!
//! #[value_task]
//! impl Reader {
//!     async fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
//!         if self.buffered.is_empty() {
//!             if self.refills_left == 0 {
//!                 return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
//!             }
//!             valuetask::yield_now().await; // the socket read
//!             self.refills_left -= 1;
//!             self.buffered = vec![1, 2, 3, 4];
//!         }
//!         let n = out.len().min(self.buffered.len());
//!         out[..n].copy_from_slice(&self.buffered[..n]);
//!         self.buffered.drain(..n);
//!         Ok(n)
//!     }
//! }
//!
//! let mut reader = Reader { buffered: vec![9, 9], refills_left: 1 };
//! let mut out = [0; 2];
//! assert!(reader.read(&mut out).is_completed(), "served from the buffer");
//! assert_eq!(reader.read(&mut out).get_result().unwrap(), 2);
//! assert_eq!(out, [1, 2]);
//! reader.read(&mut out).get_result().unwrap();
//! let closed = reader.read(&mut out).get_result().unwrap_err();
//! assert_eq!(closed.kind(), io::ErrorKind::UnexpectedEof);
//! ```
//!
//! # `IValueTaskSource` with `ManualResetValueTaskSourceCore`; `CompletionPool` for replies
//!
//! ```csharp
//! class Operation : IValueTaskSource<int> {
//!     ManualResetValueTaskSourceCore<int> _core;
//!     public ValueTask<int> Start() => new(this, _core.Version);
//!     public void Complete(int v) => _core.SetResult(v);
//!     // GetResult(token) { try { return _core.GetResult(token); } finally { _core.Reset(); } }
//! }
//! ```
//!
//! One long-lived object backs one operation at a time: the core carries a version (the
//! token), the result and the waker. [`reset`](crate::ManualResetValueTaskSourceCore::reset)
//! starts the next operation.
//!
//! ```
//! use valuetask::ManualResetValueTaskSourceCore;
//!
//! let core = ManualResetValueTaskSourceCore::<u32>::new();
//! for i in 0..3 {
//!     let pending = core.value_task(); // new ValueTask<int>(this, _core.Version)
//!     core.set_result(i); // from any thread
//!     assert_eq!(pending.get_result(), Ok(i));
//!     core.reset(); // the next operation: version + 1
//! }
//! ```
//!
//! For request/response code, [`CompletionPool`](crate::CompletionPool) is such objects
//! pooled: a reusable `tokio::sync::oneshot`, nothing allocated per request once warm.
//! Its `Completer` answers as a `oneshot::Sender` does: [`send`](crate::Completer::send)
//! hands the value back when the caller left, [`is_closed`](crate::Completer::is_closed)
//! says so beforehand and [`closed`](crate::Completer::closed) waits for it (a `select!`
//! branch that stops the work, .NET's `CancellationToken` of a request whose caller gave
//! up); dropped unanswered, the caller gets `TaskError::Abandoned`.
//!
//! ```
//! use valuetask::CompletionPool;
//!
//! let pool = CompletionPool::new();
//! let (reply, completer) = pool.rent();
//! std::thread::spawn(move || completer.set_result("pong"));
//! assert_eq!(reply.get_result(), Ok("pong"));
//! ```
//!
//! # `AsTask` / `Preserve`, `WhenAll` / `WhenAny` / `WhenEach`, cancellation, `WaitAsync`, `ContinueWith`
//!
//! A value task is awaited once. To await a result more than once, or from several places,
//! turn it into a [`Task`](crate::Task) ([`as_task`](crate::ValueTask::as_task)): cloneable,
//! awaitable by any number of tasks. To keep a value task for later, or for another
//! consumer, while its source may be reused, [`preserve`](crate::ValueTask::preserve) it
//! (.NET `Preserve()`): one that holds its value or a task stays as it is. Combinators exist
//! for both.
//!
//! ```
//! use valuetask::{Task, ValueTask};
//!
//! // AsTask() / Preserve(): many awaiters.
//! let shared = ValueTask::from_result(5).as_task();
//! let again = shared.clone();
//! assert_eq!(shared.wait(), Ok(&5));
//! assert_eq!(again.wait(), Ok(&5));
//!
//! // Task.WhenAll / WhenAny, and the same over value tasks (which .NET lacks).
//! let all = Task::when_all([Task::from_result(1), Task::from_result(2)]);
//! assert_eq!(all.wait(), Ok(&vec![1, 2]));
//! let first = ValueTask::when_any([ValueTask::from_result('a'), ValueTask::from_result('b')]);
//! assert_eq!(first.get_result(), (0, 'a'));
//!
//! // Task.WhenEach (.NET 9): each task as it completes, a stream.
//! let mut each = Task::when_each([Task::from_result(3)]);
//! let done = futures::executor::block_on(each.next()).expect("one task");
//! assert_eq!(done.try_result(), Some(Ok(&3)));
//!
//! // ContinueWith.
//! let next = Task::from_result(20).continue_with(|t| t.try_result().unwrap().unwrap() + 1);
//! assert_eq!(next.wait(), Ok(&21));
//! ```
//!
//! Cancellation uses tokio-util's `CancellationToken`, the ecosystem's token (feature `tokio`).
//! As in .NET, where `token.Register` callbacks run inside `Cancel()`, a source watching a
//! token is canceled inside `cancel()`:
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use tokio_util::sync::CancellationToken;
//! use valuetask::TaskCompletionSource;
//!
//! let token = CancellationToken::new();
//! let tcs = TaskCompletionSource::<u8>::new();
//! tcs.cancel_on(token.clone()); // token.Register(() => tcs.TrySetCanceled())
//! token.cancel();
//! assert!(tcs.task().is_canceled());
//! # }
//! ```
//!
//! `task.WaitAsync(timeout, token)` is [`Task::wait_async`](crate::Task::wait_async): the
//! wait ends, the task goes on.
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use std::time::Duration;
//! use tokio_util::sync::CancellationToken;
//! use valuetask::{TaskCompletionSource, TaskError};
//!
//! let tcs = TaskCompletionSource::<u8>::new();
//! let wait = tcs.task().wait_async(Duration::from_millis(5), CancellationToken::new());
//! assert_eq!(wait.wait(), Err(&TaskError::TimedOut)); // TimeoutException
//! assert!(!tcs.task().is_completed());
//! # }
//! ```
//!
//! # The misuses .NET documents, and what they become here
//!
//! .NET's `ValueTask<TResult>` docs list what never to do with one: await it more than once,
//! call `AsTask` more than once, use `.Result` or `GetAwaiter().GetResult()` before it
//! completes or more than once, or mix these (and awaiting it concurrently, in .NET's blog
//! posts). Here each of them consumes the value task, so a repeat does not compile (one
//! through `&mut` panics), and
//! reading before completion blocks or hands the value task back. A further hazard, below,
//! is safe too.
//!
//! **Awaiting twice** does not compile: awaiting moves the value task. (Awaited through
//! `&mut`, as a `select!` loop does, a value task is not moved; awaited again after it
//! yielded, it panics, naming the misuse: [`misuse`](crate::misuse).)
//!
//! ```compile_fail,E0382
//! # use valuetask::ValueTask;
//! async fn twice(vt: ValueTask<'_, u8>) {
//!     vt.await;
//!     vt.await; // error[E0382]: use of moved value: `vt`
//! }
//! ```
//!
//! **Awaiting concurrently** needs two handles, and a value task cannot be cloned: use
//! [`as_task`](crate::ValueTask::as_task) for a result many await.
//!
//! ```compile_fail,E0599
//! # use valuetask::ValueTask;
//! let vt = ValueTask::from_result(1);
//! let copy = vt.clone(); // error[E0599]: no method named `clone`
//! ```
//!
//! **`GetAwaiter().GetResult()` before completion** is undefined in .NET;
//! [`get_result`](crate::ValueTask::get_result) blocks the thread until the result is there,
//! and [`try_get`](crate::ValueTask::try_get) hands the value task back when it is not.
//!
//! ```
//! use valuetask::CompletionPool;
//!
//! let pool = CompletionPool::new();
//! let (reply, completer) = pool.rent();
//! let reply = reply.try_get().unwrap_err(); // not yet: the value task comes back
//! std::thread::spawn(move || completer.set_result(3));
//! assert_eq!(reply.get_result(), Ok(3)); // blocks until then
//! ```
//!
//! **Storing a value task in a field and awaiting it later** (not one of .NET's three, but
//! where the object behind it may be reused meanwhile) is fine: it is awaited (moved out)
//! once, and one that borrows a source cannot outlive it. A value task whose source was reset
//! in between (the .NET hazard: the object was reused) panics naming both versions, instead
//! of reading another operation's result.
//!
//! ```should_panic
//! use valuetask::ManualResetValueTaskSourceCore;
//!
//! let core = ManualResetValueTaskSourceCore::<u8>::new();
//! let stored = core.value_task();
//! core.reset(); // reused for the next operation
//! let _ = stored.get_result(); // panics: a stale token
//! ```
//!
//! The full list of misuses of every type, and what each gets: [`misuse`](crate::misuse).
//!
//! # ASP.NET middleware, or a type-erased tower stack
//!
//! A C# service's request pipeline becomes a tower stack in Rust; erasing its type (to store
//! it, return it, route to it) with tower's `BoxCloneService` boxes every response future,
//! and every clone (a server adapter that clones the service per request, as hyper_util's
//! does, pays both). With feature `tower`, [`crate::tower`]'s types of the same names erase
//! it with value-task responses and clones in pooled storage: the same stack, a change of
//! import (tower's `.boxed_clone()` shorthands build tower's types: write
//! `BoxCloneService::new` or `.layer(..::layer())`), no allocation per request in steady
//! state.
//!
//! ```
//! # #[cfg(feature = "tower")] {
//! use std::convert::Infallible;
//! use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
//! use valuetask::tower::BoxCloneService; // was: tower::util::BoxCloneService
//!
//! let mut app: BoxCloneService<String, usize, Infallible> = ServiceBuilder::new()
//!     .layer(BoxCloneService::layer())
//!     .map_request(|path: String| path.trim_start_matches('/').to_string())
//!     .service(service_fn(|path: String| async move { Ok::<_, Infallible>(path.len()) }));
//! let length = valuetask::ValueTask::new(async move { app.ready().await?.call("/users".into()).await });
//! assert_eq!(length.get_result(), Ok(5));
//! # }
//! ```
//!
//! # From dynosaur: a native `async fn` trait behind a trait object
//!
//! Not a .NET idiom (every .NET interface can be called through a reference), but where C#
//! code holds an `IRepository` in a field, Rust code written with native `async fn` in traits
//! reaches for dynosaur: `#[dynosaur::dynosaur(DynRepository = dyn(box) Repository)]`, a box per
//! call. [`#[dyn_trait]`](crate::dyn_trait) takes the same arguments: change the attribute's
//! path and nothing else. The trait stays as written (static calls are unchanged); calls
//! through `DynRepository` start the implementor's future in pooled storage, as a
//! `#[value_task]` method's, and allocate nothing in steady state.
//!
//! ```
//! use std::collections::HashMap;
//! use valuetask::dyn_trait; // was: use dynosaur::dynosaur;
//!
//! #[dyn_trait(pub DynRepository = dyn(box) Repository)] // was: #[dynosaur(..)]
//! pub trait Repository {
//!     async fn name(&self, id: u32) -> Option<String>;
//!     async fn rename(&mut self, id: u32, name: String) -> bool;
//! }
//!
//! struct InMemory(HashMap<u32, String>);
//!
//! impl Repository for InMemory {
//!     async fn name(&self, id: u32) -> Option<String> {
//!         self.0.get(&id).cloned()
//!     }
//!     async fn rename(&mut self, id: u32, name: String) -> bool {
//!         self.0.insert(id, name).is_some()
//!     }
//! }
//!
//! /// The service holds any repository, as a C# class holds an `IRepository`.
//! struct UserService {
//!     repository: Box<DynRepository<'static>>,
//! }
//!
//! impl UserService {
//!     async fn greet(&mut self, id: u32) -> String {
//!         self.repository.rename(id, "Ada".to_string()).await;
//!         match self.repository.name(id).await {
//!             Some(name) => format!("hello, {name}"),
//!             None => "who?".to_string(),
//!         }
//!     }
//! }
//!
//! let mut service = UserService {
//!     repository: DynRepository::new_box(InMemory(HashMap::from([(1, "Grace".to_string())]))),
//! };
//! assert_eq!(futures::executor::block_on(service.greet(1)), "hello, Ada");
//! ```
//!
//! `trait_variant::make` works as with dynosaur (one attribute per variant, `bridge(dyn)`),
//! and so do dynosaur 0.2's forms (`#[dyn_trait(DynRepository)]`, its `boxed` constructor).
//! What differs: a `DynRepository` call's future starts at the call, as a .NET `async`
//! method's does (`lazy` starts it at the first poll, as dynosaur's box does); a method that
//! dynosaur rejects, a `where Self: Sized` one, is left out of the `dyn` form instead;
//! `from_box`, `from_arc` and `from_rc` are not `const fn`s (`from_ref` and `from_mut`
//! are); and a form with a `self: Pin<&mut Self>` method cannot be given `Unpin` or `Drop`
//! (it passes its pin on to the implementor). As dynosaur's, the form is a struct of your
//! crate: give it inherent methods, or `Debug`.
//!
//! # `ValueTask` or `Task`?
//!
//! In .NET the community's rule of thumb (not an official figure: .NET's docs say to default
//! to `Task` and use `ValueTask` where measurement shows it pays) is "`ValueTask` when 90–95%
//! of calls complete synchronously", because a .NET `ValueTask` method that suspends
//! allocates anyway, unless it opts into the pooling builder. Here a suspending
//! `#[value_task]` call continues in pooled storage, so a `ValueTask` allocates nothing in
//! steady state whichever way the call goes; return a [`Task`](crate::Task) when callers share
//! the result (await it more than once, from several tasks, or keep it). The README's table
//! and `docs/benchmarks.md` give the measured costs (rows (h), (h2) and (j) against
//! `#[async_trait]`, and the payload grid (p) for real result sizes and `dyn` layers). To
//! see how your own methods behave, the `stats` feature counts each method's synchronous and
//! suspended calls and gives advice (`valuetask::stats`), and says which methods return a
//! result large enough to measure against a box (`Advice::LargeResult`).
//!
//! .NET's `ValueTask<TResult>` is a struct that holds the result inline, so it grows with
//! `TResult`. Here every `ValueTask` is two words: a result that fits them (`()`, a word, a
//! pointer, `io::Result<usize>`) is held inline, a larger one where it was produced: a body
//! that completes at the call keeps it in its pooled block (no allocation in steady state),
//! from which the awaiting caller moves it once; one that suspends returns it from its poll
//! straight into the caller's place. Rust's `.await` copies the value it awaits; at two words
//! that copy is two registers.
//!
//! # What has no counterpart here
//!
//! - **`ConfigureAwait(false)`, `SynchronizationContext`**: Rust futures resume on whatever
//!   executor polls them; there is no captured context to opt out of.
//! - **`TaskScheduler`**: tasks that run code run on tokio
//!   ([`Task::run`](crate::Task::run) on the ambient runtime or a global one,
//!   [`Task::run_on`](crate::Task::run_on) on a handle of yours); everything else needs no
//!   scheduler at all.
//! - **`TaskCreationOptions.LongRunning`**: [`Task::run_blocking`](crate::Task::run_blocking),
//!   on tokio's blocking pool.
