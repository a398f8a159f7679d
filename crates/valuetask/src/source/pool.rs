//! `CompletionPool<T>`: reusable one-shot completions, the allocation-free replacement for a
//! `tokio::sync::oneshot` per request.
//!
//! Each slot is a [`ManualResetValueTaskSourceCore`] plus a link to its pool. `rent` hands out
//! the slot's current generation as a `(ValueTask, Completer)` pair; when both are done the
//! slot is recycled (a new generation: the version bumped, or back to 0 on the consumer's
//! fast path, see `source/core.rs`) and goes back to a pool, on whatever thread finishes
//! last.
//!
//! # Invariants (who may touch what)
//!
//! - A rented slot has exactly one consumer (the `ValueTask`'s `Backed`) and one
//!   `Completer`. So the completer may write the result's words before the CAS that
//!   publishes them, a generation never shows `TAKEN` to its consumer's next poll, and the
//!   fast recycle may restart at version 0 (no token is handed out for a pooled generation):
//!   the core's module invariants say why each holds. The one that finishes last recycles it: the consumer after it took the
//!   result (the completer is done once `COMPLETE` is published), or after it abandoned a
//!   completed generation; the completer when it completes a generation whose consumer is gone
//!   (`CONSUMER_GONE`).
//! - An idle slot (in a thread cache or the shared list) is owned by that list alone, except
//!   that the consumer that just put it in its own thread's cache still moves the old result
//!   out before it returns (`Slot::poll`; no rent and no flush can run in between).
//! - A thread cache holds slots of one pool at a time (`owner`, the pool's shared part, on
//!   which the cache holds a strong count until it switches pools or its thread exits, so no
//!   other pool can appear at that address while it is named).
//! - Slots keep their pool's shared part alive (`Arc`); when the last `CompletionPool` handle
//!   drops, the shared idle list is emptied and the pool is marked closed, so returning slots
//!   are freed instead of kept: no cycle, no leak. Slots idle in a thread's cache (at most 32,
//!   cached before the pool closed or taken on that thread's fast path after) and the pool's
//!   shared part stay until that thread caches slots of another pool or exits.
//! - The consumer's fast path recycles a completed slot into its thread's cache first and
//!   moves the result out last, straight into the return value (row (f)): between
//!   the two nothing may rent, complete or free that slot, so the result is read before the
//!   slot goes anywhere another thread can reach (the shared list) or is freed (a closed
//!   pool). While a thread cache flushes it names no pool (`owner` null, `flushing` set), so
//!   nothing is cached or taken meanwhile.
//! - `ValueTask::poll` takes a completed slot inline ([`take_completed`]) when this thread's
//!   cache names its pool and has room (a closed pool's slot is cached too, and freed at the
//!   cache's next flush, like the slots cached before the pool closed), reading the slot as a
//!   `SlotHead<TaskOutput<T>>`: `Slot`, `PoolRef`, the core and `CoreView` are `repr(C)` or
//!   transparent, so the prefix is the same for every `T` (a unit test checks the offsets for
//!   several alignments); the pool pointer is `Arc::into_raw` of the pool's shared part,
//!   which starts with `PoolHead` (`closed`). Anything else falls back to `Slot::poll`
//!   through the header, untouched.
//! - Layout: header, then pool pointer, then core (see `Slot`). (f) moves with where a slot
//!   lands: re-check it in full runs (not `--only`) after touching `Slot`.
//! - The completer waiting for its consumer to go ([`Completer::closed`]) keeps its waker in
//!   the slot (`closed`, after the core) exactly while the core's state says
//!   `PRODUCER_WAITING`, both touched only under the core's `LOCKED`. The bit is never set
//!   once `CONSUMER_GONE` or `COMPLETE` is: the consumer's abandon takes the waker and wakes
//!   it after the lock; the completion takes it with its claim and drops it after
//!   publishing (the completion's fast path refuses a state with the bit). So a recycled
//!   slot never holds one, and the consumer's fast paths need not look.
//! - [`Completer<T>`] has no bounds: its `Drop` calls an abandon function chosen at `rent`,
//!   where `T: Send + 'static` is known.
//! - The thread cache is `const`-initialized `Cell`s with no destructor (`thread_cache`'s
//!   guard flushes it at thread exit), so its fast path is a plain thread-local access; it is
//!   off under loom (loom threads share one OS thread). See `thread_cache.rs` for the
//!   thread-local caveat every cache shares.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::core::{CoreView, ManualResetValueTaskSourceCore, CONSUMER_GONE, PRODUCER_WAITING};
use super::SourceStatus;
use crate::backing::{deliver, Backed, BackingVTable, Header, Kind};
use crate::forwarding::write_in_words;
use crate::sync::{lock_std as lock, UnsafeCell};
use crate::task::{outcome_of, outcome_of_error, Outcome, TaskError, TaskOutput};
use crate::thread_cache::Standing;

/// Idle slots a thread keeps for the pool it used last.
const THREAD_CACHE: usize = 32;
/// Default cap of the shared idle list.
const DEFAULT_MAX_IDLE: usize = 1024;

/// A pool of reusable one-shot completions (the pooled counterpart of
/// `tokio::sync::oneshot::channel`, built on .NET's `ManualResetValueTaskSourceCore`).
///
/// No public .NET counterpart: .NET pools `IValueTaskSource` objects inside its libraries
/// (`Socket`'s internal `AwaitableSocketAsyncEventArgs`); this is that pattern as a type.
///
/// [`rent`](Self::rent) returns a `ValueTask` (the receiver) and a [`Completer`] (the
/// sender). Completing wakes the awaiter; the slot goes back to the pool once the value task
/// is consumed or dropped and the completer is done, on any thread. In steady state nothing
/// is allocated.
///
/// | `tokio::sync::oneshot` | `CompletionPool` |
/// |---|---|
/// | `oneshot::channel()` (one allocation) | `pool.rent()` (none when a slot is idle) |
/// | `Sender::send(v)` (the value back when nobody listens) | [`Completer::send`]; [`Completer::set_result`] drops it then (also `set_error`, `set_canceled`, `set_outcome`) |
/// | `Receiver` awaited: `Result<T, RecvError>` | `ValueTask` awaited: `Result<T, TaskError>` |
/// | `Sender` dropped: `RecvError` | `Completer` dropped: `TaskError::Abandoned` |
/// | `Sender::is_closed` | [`Completer::is_closed`] |
/// | `Sender::closed().await`, `Sender::poll_closed` | [`Completer::closed`], [`Completer::poll_closed`] |
///
/// Memory: each thread keeps up to 32 idle slots of the pool it last returned a slot to, and
/// the pool keeps up to `max_idle` more (default 1024); slots beyond that are freed.
/// A slot is a `ManualResetValueTaskSourceCore<T>` (one `u64`, a `Result<T, TaskError>`, a
/// waker and its consumer's word) plus a two-word header, a pointer and the completer's
/// waker slot (for [`Completer::closed`]).
///
/// ```
/// use valuetask::CompletionPool;
///
/// let pool = CompletionPool::new();
/// for i in 0..3 {
///     let (reply, completer) = pool.rent();
///     std::thread::spawn(move || completer.set_result(i));
///     assert_eq!(reply.get_result(), Ok(i));
/// }
/// ```
pub struct CompletionPool<T> {
    handle: Arc<PoolHandle<T>>,
    /// The pool's name in the thread cache (`Arc::as_ptr` of `handle.shared`), kept here so
    /// a rent compares it without going through `handle`.
    id: usize,
}

/// Closes the pool when the last `CompletionPool` clone drops.
struct PoolHandle<T> {
    shared: Arc<PoolShared<T>>,
}

/// `repr(C)`, its [`PoolHead`] first: a slot's pool pointer, read as a `*const PoolHead`, sees
/// `closed` without knowing `T`.
#[repr(C)]
struct PoolShared<T> {
    head: PoolHead,
    idle: Mutex<Vec<SlotPtr<T>>>,
    max_idle: usize,
}

/// What every pool's shared part starts with, whatever its `T`.
struct PoolHead {
    closed: AtomicBool,
}

/// A strong count on a pool's shared part, held by each of its slots, as a pointer to the
/// `PoolShared` itself (from `Arc::into_raw`; an `Arc` points at its counts instead), so the
/// pointer doubles as the thread cache's name for the pool and as a `*const PoolHead`.
#[repr(transparent)]
struct PoolRef<T>(NonNull<PoolShared<T>>);

// SAFETY: a `PoolRef` is an `Arc<PoolShared<T>>` in all but type: sent and shared as one.
unsafe impl<T> Send for PoolRef<T> where Arc<PoolShared<T>>: Send {}
// SAFETY: as above.
unsafe impl<T> Sync for PoolRef<T> where Arc<PoolShared<T>>: Sync {}

impl<T> PoolRef<T> {
    fn new(shared: &Arc<PoolShared<T>>) -> Self {
        let raw = Arc::into_raw(Arc::clone(shared)).cast_mut();
        // SAFETY: `Arc::into_raw` is never null.
        PoolRef(unsafe { NonNull::new_unchecked(raw) })
    }

    /// Another strong count, as an `Arc`.
    fn arc(&self) -> Arc<PoolShared<T>> {
        // SAFETY: the pointer came from `Arc::into_raw` and we hold a count, so it is live.
        unsafe {
            Arc::increment_strong_count(self.0.as_ptr());
            Arc::from_raw(self.0.as_ptr())
        }
    }

    /// The pool's name in the thread cache: `Arc::as_ptr` of its shared part.
    fn id(&self) -> *const () {
        self.0.as_ptr().cast()
    }
}

impl<T> std::ops::Deref for PoolRef<T> {
    type Target = PoolShared<T>;

    fn deref(&self) -> &PoolShared<T> {
        // SAFETY: we hold a strong count.
        unsafe { self.0.as_ref() }
    }
}

impl<T> Drop for PoolRef<T> {
    fn drop(&mut self) {
        // SAFETY: the count taken in `new`, released once.
        drop(unsafe { Arc::from_raw(self.0.as_ptr()) });
    }
}

/// The header comes first: a rented slot is the block behind its value task. The pool
/// pointer, read on every fast-path poll, comes before the core: row (f) depends on where a
/// slot's fields land, and this order is the one that measured steadily fast (re-measure
/// (f) over several full runs, not one, after changing it; it moves with per-process
/// addresses). Slots keep the allocator's alignment: aligned to a cache line, the
/// cross-thread row (g) was slower while (f) did not gain.
#[repr(C)]
struct Slot<T> {
    header: Header<TaskOutput<T>>,
    pool: PoolRef<T>,
    core: ManualResetValueTaskSourceCore<T>,
    /// The completer's waker while it waits for the consumer to go (`Completer::closed`):
    /// `Some` exactly while the core's state says `PRODUCER_WAITING`, both under the core's
    /// `LOCKED`. Last, so the prefix `SlotHead` mirrors is the same with or without it.
    closed: UnsafeCell<Option<Waker>>,
}

/// The start of every `Slot<T>`, typed by its output `O = TaskOutput<T>` alone (`Slot`,
/// `PoolRef`, the core and `CoreView` are `repr(C)` or transparent, and each field here has
/// the type, or the size and alignment, of the one it stands for): what `ValueTask::poll`
/// reads on its inlined fast path ([`take_completed`]), knowing `O` but not `T`.
#[repr(C)]
struct SlotHead<O> {
    header: Header<O>,
    pool: NonNull<PoolHead>,
    core: CoreView<O>,
}

/// An owned pointer to a boxed `Slot`, as kept in idle lists.
struct SlotPtr<T>(NonNull<Slot<T>>);

// SAFETY: an idle slot is owned by the list that holds it; moving it between threads moves a
// `Slot<T>`, which is `Send` for `T: Send`.
unsafe impl<T: Send> Send for SlotPtr<T> {}

impl<T> SlotPtr<T> {
    fn free(self) {
        // SAFETY: the pointer came from `Box::into_raw` and this list owned it.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl<T: Send + 'static> CompletionPool<T> {
    /// A pool that keeps up to 1024 idle slots (besides the per-thread caches). No .NET
    /// counterpart: .NET code pools its `IValueTaskSource` objects by hand (`Socket` keeps
    /// one per direction).
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// let pool = CompletionPool::<String>::new();
    /// assert_eq!(pool.idle(), 0);
    /// let (reply, completer) = pool.rent();
    /// completer.set_result("pong".to_string());
    /// assert_eq!(reply.get_result(), Ok("pong".to_string()));
    /// ```
    pub fn new() -> Self {
        Self::with_max_idle(DEFAULT_MAX_IDLE)
    }

    /// A pool that keeps up to `max_idle` idle slots in its shared list (no .NET
    /// counterpart, as for [`new`](Self::new)).
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// let pool = CompletionPool::<u8>::with_max_idle(1);
    /// let worker = pool.clone();
    /// std::thread::spawn(move || {
    ///     let rented: Vec<_> = (0..2).map(|_| worker.rent()).collect();
    ///     for (reply, completer) in rented {
    ///         completer.set_result(1);
    ///         assert_eq!(reply.get_result(), Ok(1));
    ///     }
    /// }) // at exit the thread's cached slots go back to the pool: one is kept, one freed
    /// .join()
    /// .unwrap();
    /// assert_eq!(pool.idle(), 1);
    /// ```
    pub fn with_max_idle(max_idle: usize) -> Self {
        let shared = Arc::new(PoolShared {
            head: PoolHead {
                closed: AtomicBool::new(false),
            },
            idle: Mutex::new(Vec::new()),
            max_idle,
        });
        CompletionPool {
            id: Arc::as_ptr(&shared) as usize,
            handle: Arc::new(PoolHandle { shared }),
        }
    }

    /// A rented slot, as the backing of its value task, and its completer (what
    /// [`rent`](Self::rent) returns, before the value task is made).
    #[inline]
    pub(crate) fn rent_backing(&self) -> (Backed<'static, TaskOutput<T>>, Completer<T>) {
        let slot = match take_cached::<T>(self.id) {
            Some(cached) => cached.0,
            None => Self::rent_slow(&self.handle.shared),
        };
        // SAFETY: the slot is ours (fresh or taken from an idle list), and starts with its
        // header; its value task becomes its consumer.
        let backing = unsafe { Backed::from_header(slot.cast()) };
        (
            backing,
            Completer {
                slot,
                abandon: abandon_slot::<T>,
            },
        )
    }

    /// A slot from the shared idle list, or a new one.
    #[cold]
    fn rent_slow(shared: &Arc<PoolShared<T>>) -> NonNull<Slot<T>> {
        // The lock is released before a new slot is allocated.
        let idle = lock(&shared.idle).pop();
        idle.map(|p| p.0).unwrap_or_else(|| {
            let boxed = Box::new(Slot {
                header: Header::new(Slot::<T>::VTABLE),
                core: ManualResetValueTaskSourceCore::new(),
                pool: PoolRef::new(shared),
                closed: UnsafeCell::new(None),
            });
            // SAFETY: `Box::into_raw` is never null.
            unsafe { NonNull::new_unchecked(Box::into_raw(boxed)) }
        })
    }

    /// Slots in the shared idle list right now (not counting thread caches); no .NET
    /// counterpart.
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// let pool = CompletionPool::<u8>::new();
    /// let worker = pool.clone();
    /// std::thread::spawn(move || {
    ///     let (reply, completer) = worker.rent();
    ///     completer.set_result(1);
    ///     assert_eq!(reply.get_result(), Ok(1)); // the slot waits in this thread's cache
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(pool.idle(), 1, "the exiting thread gave its cached slot back");
    /// ```
    pub fn idle(&self) -> usize {
        lock(&self.handle.shared.idle).len()
    }
}

impl<T: Send + 'static> Default for CompletionPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for CompletionPool<T> {
    fn clone(&self) -> Self {
        CompletionPool {
            handle: Arc::clone(&self.handle),
            id: self.id,
        }
    }
}

impl<T> fmt::Debug for CompletionPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionPool")
            .field("idle", &lock(&self.handle.shared.idle).len())
            .field("max_idle", &self.handle.shared.max_idle)
            .finish()
    }
}

impl<T> Drop for PoolHandle<T> {
    fn drop(&mut self) {
        self.shared.head.closed.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *lock(&self.shared.idle));
        idle.into_iter().for_each(SlotPtr::free);
    }
}

impl<T: Send + 'static> Slot<T> {
    const VTABLE: &'static BackingVTable<TaskOutput<T>> = &BackingVTable {
        poll: crate::backing::poll_fn_of_slot!(Self::poll),
        status: Self::status,
        release: Self::release,
        kind: Kind::PoolSlot,
        name: "Pooled",
        token: None,
    };

    /// # Safety
    /// `header` starts a rented `Slot<T>` and the caller is its consumer.
    #[inline]
    unsafe fn poll(
        header: NonNull<Header<TaskOutput<T>>>,
        cx: &mut Context<'_>,
        out: NonNull<TaskOutput<T>>,
    ) -> bool {
        let slot = header.cast::<Slot<T>>();
        // SAFETY: rented, so alive.
        let s = unsafe { slot.as_ref() };
        // A complete generation is recycled first and its result moved out last, straight
        // into the caller's slot (moved out first, it would be copied to the stack and back
        // around `keep`; row (f)).
        //
        // SAFETY: we are its only consumer, and nobody else resets or recycles it while we
        // live (the completer recycles only after our release said `CONSUMER_GONE`), so its
        // version is the one it was rented at.
        if unsafe { s.core.sole_consumer_recycle_completed() } {
            let value = if s.pool.head.closed.load(Ordering::Acquire) {
                // SAFETY: just recycled, untouched since; read before the slot is freed.
                let value = unsafe { s.core.read_recycled_result() };
                SlotPtr(slot).free();
                value
            } else {
                match put_cached(slot) {
                    // SAFETY: just recycled, and untouched since: the slot is in this thread's
                    // cache, where only this thread can rent it again, and it does not here (a
                    // flush runs only inside `put_cached` before the slot is placed, or at
                    // thread exit).
                    Ok(()) => unsafe { s.core.read_recycled_result() },
                    Err(slot) => {
                        // SAFETY: just recycled, untouched since; read before the slot goes
                        // where other threads can rent it (or is freed).
                        let value = unsafe { s.core.read_recycled_result() };
                        put_shared(slot);
                        value
                    }
                }
            };
            // SAFETY: `out` is the caller's slot (the `PollFn` contract).
            unsafe { write_in_words(out.as_ptr(), value) };
            return true;
        }
        // SAFETY: as for `sole_consumer_recycle_completed` above.
        let polled = unsafe { s.core.sole_consumer_poll(cx) };
        if polled.is_ready() {
            // SAFETY: taken and recycled: both halves are done, the slot is ours.
            unsafe { keep(slot) };
        }
        // SAFETY: `out` is the caller's slot (the `PollFn` contract).
        unsafe { deliver(polled, out) }
    }

    /// # Safety
    /// `header` starts a rented `Slot<T>`.
    unsafe fn status(header: NonNull<Header<TaskOutput<T>>>) -> SourceStatus {
        // SAFETY: rented, so alive; its version is the rented generation's (see `poll`).
        let core = unsafe { &header.cast::<Slot<T>>().as_ref().core };
        core.status(core.version())
    }

    /// # Safety
    /// `header` starts a rented `Slot<T>` and the caller is its consumer, giving up.
    unsafe fn release(header: NonNull<Header<TaskOutput<T>>>) {
        let slot = header.cast::<Slot<T>>();
        // SAFETY: rented, so alive.
        let s = unsafe { slot.as_ref() };
        // SAFETY: `abandon_consumer` calls this under the core's `LOCKED`, which guards `closed`.
        let take_producer_waker = || s.closed.with_mut(|w| unsafe { (*w).take() });
        if s.core.abandon_consumer(take_producer_waker) {
            // SAFETY: the generation is complete, so the completer is done: ours.
            unsafe { give_back(slot) };
        }
    }
}

/// Recycle a slot and keep it idle (thread cache, then shared list) or free it.
///
/// # Safety
/// The caller owns the slot: its consumer and completer are both done.
#[inline]
unsafe fn give_back<T: Send + 'static>(slot: NonNull<Slot<T>>) {
    // SAFETY: exclusive per the caller.
    let leftovers = unsafe { slot.as_ref().core.recycle() };
    // SAFETY: exclusive per the caller, and now recycled.
    unsafe { keep(slot) };
    // Last: a panicking `T::drop` (an untaken result) comes out with the slot already kept.
    drop(leftovers);
}

/// Keep a recycled slot idle (thread cache, then shared list) or free it.
///
/// # Safety
/// The caller owns the slot, and it is recycled.
#[inline]
unsafe fn keep<T: Send + 'static>(slot: NonNull<Slot<T>>) {
    // SAFETY: owned per the caller.
    let s = unsafe { slot.as_ref() };
    if s.pool.head.closed.load(Ordering::Acquire) {
        return SlotPtr(slot).free();
    }
    if let Err(slot) = put_cached(slot) {
        put_shared(slot);
    }
}

fn put_shared<T>(slot: SlotPtr<T>) {
    // SAFETY: `slot` is owned and alive.
    let pool = unsafe { slot.0.as_ref() }.pool.arc();
    let mut idle = lock(&pool.idle);
    if idle.len() < pool.max_idle && !pool.head.closed.load(Ordering::Acquire) {
        idle.push(slot);
    } else {
        drop(idle);
        slot.free();
    }
}

mod thread_cache;
pub(crate) use thread_cache::take_completed;
#[cfg(all(test, not(valuetask_loom)))]
use thread_cache::CACHE;
use thread_cache::{put_cached, take_cached};

/// Completes one rented value task (the pooled counterpart of `oneshot::Sender`). No public
/// .NET counterpart: the nearest is the `SetResult` / `SetException` side of a pooled
/// `IValueTaskSource` (its `ManualResetValueTaskSourceCore<TResult>`).
///
/// Completing consumes it. Dropping it without completing completes the value task with
/// [`TaskError::Abandoned`], so the awaiter never hangs. A leaked one (`mem::forget`, an
/// `Rc` cycle) completes nothing: its value task stays pending, as a leaked
/// `oneshot::Sender`'s receiver does; bound such a wait with the runtime's timeout
/// (`tokio::time::timeout`), or, for a `Clone + Sync` result, a blocking one with
/// `into_task()` and [`Task::wait_timeout`](crate::Task::wait_timeout).
///
/// ```
/// use valuetask::{CompletionPool, TaskError};
///
/// let pool = CompletionPool::<u32>::new();
/// let (reply, completer) = pool.rent();
/// completer.set_error(TaskError::Canceled);
/// assert_eq!(reply.get_result(), Err(TaskError::Canceled));
///
/// let (reply, completer) = pool.rent();
/// drop(completer); // never completed
/// assert!(matches!(reply.get_result(), Err(TaskError::Abandoned)));
/// ```
pub struct Completer<T> {
    slot: NonNull<Slot<T>>,
    /// Completes the slot with `Abandoned`: `abandon_slot::<T>`, chosen by `rent`, where
    /// `T: Send + 'static` is known, so the type itself carries no bounds.
    abandon: unsafe fn(NonNull<()>),
}

// SAFETY: the completer is the slot's only producer; it moves `T` into the slot, possibly
// from another thread.
unsafe impl<T: Send> Send for Completer<T> {}
// SAFETY: `&Completer` only reads the slot's state (`is_closed`).
unsafe impl<T: Send> Sync for Completer<T> {}

impl<T: Send + 'static> Completer<T> {
    /// Complete with `value` and wake the awaiter (.NET `SetResult`).
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// # futures::executor::block_on(async {
    /// let pool = CompletionPool::<u64>::new();
    /// let (reply, completer) = pool.rent();
    /// std::thread::spawn(move || completer.set_result(42));
    /// assert_eq!(reply.await, Ok(42));
    /// # });
    /// ```
    #[inline]
    pub fn set_result(self, value: T) {
        complete_slot(self.into_slot(), Outcome::RanToCompletion, || Ok(value));
    }

    /// Complete with `value` unless the value task is gone: then nobody would see it, and
    /// it comes back as `Err(value)` (no .NET counterpart: a .NET source cannot tell whether
    /// anyone awaits it; tokio's `oneshot::Sender::send`; [`set_result`](Self::set_result)
    /// drops it). A value task dropped after this returns `Ok` drops the value with it. The
    /// slot goes back to the pool either way.
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// let pool = CompletionPool::<String>::new();
    /// let (reply, completer) = pool.rent();
    /// assert_eq!(completer.send("sent".into()), Ok(()));
    /// assert_eq!(reply.get_result().as_deref(), Ok("sent"));
    ///
    /// let (reply, completer) = pool.rent();
    /// drop(reply); // the caller left
    /// assert_eq!(completer.send("kept".into()), Err("kept".to_string()));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        let slot = self.into_slot();
        // SAFETY: the slot stays rented until both its completer (the caller) and its
        // consumer are done.
        let core = &unsafe { slot.as_ref() }.core;
        // SAFETY: a rented slot's generation is completed only by its one `Completer`, the
        // caller.
        match unsafe { core.try_publish_unique(Outcome::RanToCompletion, Ok(value)) } {
            Ok(()) => Ok(()),
            Err(Ok(value)) => send_slow(slot, value),
            Err(Err(_)) => unreachable!("the output handed back is the value given"),
        }
    }

    /// Complete with `error` (.NET `SetException`). Any error is taken as it is, an empty
    /// [`TaskError::Aggregate`] too, as the core's [`set_error`](crate::ManualResetValueTaskSourceCore::set_error)
    /// takes it (a [`TaskCompletionSource`](crate::TaskCompletionSource), whose task many may
    /// await, refuses one).
    ///
    /// ```
    /// use valuetask::{CompletionPool, TaskError};
    ///
    /// let pool = CompletionPool::<u8>::new();
    /// let (reply, completer) = pool.rent();
    /// completer.set_error(TaskError::faulted(std::io::Error::other("refused")));
    /// let error = reply.get_result().unwrap_err();
    /// assert_eq!(error.to_string(), "task faulted: refused");
    /// ```
    pub fn set_error(self, error: TaskError) {
        complete_slot(self.into_slot(), outcome_of_error(&error), || Err(error));
    }

    /// Complete as canceled (.NET `SetCanceled`).
    ///
    /// ```
    /// let pool = valuetask::CompletionPool::<u8>::new();
    /// let (reply, completer) = pool.rent();
    /// completer.set_canceled();
    /// assert!(reply.get_result().unwrap_err().is_canceled());
    /// ```
    #[doc(alias = "set_cancelled")]
    pub fn set_canceled(self) {
        complete_slot(self.into_slot(), Outcome::Canceled, || {
            Err(TaskError::Canceled)
        });
    }

    /// Complete with `outcome`, a value or an error, as it comes (.NET 8
    /// `TaskCompletionSource.SetFromTask`; `TaskCompletionSource::set_outcome` here): a
    /// reader forwarding a reply that may have failed needs no `match`.
    ///
    /// ```
    /// use valuetask::{CompletionPool, TaskError};
    ///
    /// let pool = CompletionPool::<u8>::new();
    /// let (ok, completer) = pool.rent();
    /// completer.set_outcome(Ok(3));
    /// assert_eq!(ok.get_result(), Ok(3));
    /// let (failed, completer) = pool.rent();
    /// completer.set_outcome(Err(TaskError::Canceled));
    /// assert_eq!(failed.get_result(), Err(TaskError::Canceled));
    /// ```
    pub fn set_outcome(self, outcome: TaskOutput<T>) {
        complete_slot(self.into_slot(), outcome_of(&outcome), || outcome);
    }

    /// The slot, giving up the completer without its `Drop` (which would abandon the slot).
    /// If completing then panics (a waker's panic), nothing completes it a second time.
    #[inline]
    fn into_slot(self) -> NonNull<Slot<T>> {
        std::mem::ManuallyDrop::new(self).slot
    }
}

impl<T> Completer<T> {
    /// True when the value task was dropped: nobody will see a result (no .NET counterpart;
    /// tokio's `oneshot::Sender::is_closed`).
    ///
    /// ```
    /// let pool = valuetask::CompletionPool::<u8>::new();
    /// let (reply, completer) = pool.rent();
    /// assert!(!completer.is_closed());
    /// drop(reply);
    /// assert!(completer.is_closed(), "nobody will see a result");
    /// completer.set_result(1); // still fine: the slot goes back to the pool
    /// ```
    pub fn is_closed(&self) -> bool {
        // SAFETY: the slot stays rented while the completer lives.
        let core = &unsafe { self.slot.as_ref() }.core;
        core.consumer_gone()
    }

    /// Ready when the value task is dropped, so that nobody will see a result; until then the
    /// waker of the latest poll is woken when it is (no .NET counterpart; tokio's
    /// `oneshot::Sender::poll_closed`). The
    /// waker is kept until then or until the completer completes.
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let pool = valuetask::CompletionPool::<u8>::new();
    /// let (reply, mut completer) = pool.rent();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(completer.poll_closed(&mut cx).is_pending());
    /// drop(reply); // wakes the waker kept above
    /// assert!(completer.poll_closed(&mut cx).is_ready());
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the slot stays rented while the completer lives.
        let slot = unsafe { self.slot.as_ref() };
        // SAFETY: the completer is its generation's one completer and has not completed it
        // (completing consumes it); `closed` is guarded by the core's `LOCKED`.
        if unsafe { slot.core.wait_consumer_gone(cx, &slot.closed) } {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Wait until the value task is dropped, so that nobody will see a result
    /// (no .NET counterpart; tokio's `oneshot::Sender::closed`): the work behind a request
    /// can stop when its requester
    /// left. Cancel-safe: drop it and call it again at will. A value task turned into a
    /// [`Task`](crate::Task) (`as_task`, `preserve`, `into_task`) is held by that task's
    /// bridge until it completes, whatever becomes of the task's handles: this then waits for
    /// the result, as tokio's does for a receiver moved into a detached task.
    ///
    /// ```
    /// use valuetask::CompletionPool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = CompletionPool::<u64>::new();
    /// let (reply, mut completer) = pool.rent();
    /// let worker = tokio::spawn(async move {
    ///     tokio::select! {
    ///         () = completer.closed() => "the requester left: the work stopped",
    ///         () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {
    ///             completer.set_result(42);
    ///             "answered"
    ///         }
    ///     }
    /// });
    /// drop(reply); // the requester gives up
    /// assert_eq!(worker.await.unwrap(), "the requester left: the work stopped");
    /// # }
    /// ```
    pub fn closed(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_closed(cx))
    }
}

/// Complete a rented slot's generation as its completer, and recycle the slot if its consumer
/// is already gone.
#[cfg_attr(not(debug_assertions), inline(always))]
fn complete_slot<T: Send + 'static>(
    slot: NonNull<Slot<T>>,
    outcome: Outcome,
    make: impl FnOnce() -> TaskOutput<T>,
) {
    // SAFETY: the slot stays rented until both its completer (the caller) and its consumer
    // are done.
    let core = &unsafe { slot.as_ref() }.core;
    // The common case, inlined: the consumer is waiting for no wake-up (it polls after) and
    // is still there. The output's words, then one CAS publishes them.
    //
    // SAFETY: a rented slot's generation is completed only by its one `Completer`, the caller.
    match unsafe { core.try_publish_unique(outcome, make()) } {
        Ok(()) => {}
        Err(output) => complete_slot_slow(slot, outcome, move || output),
    }
}

/// [`complete_slot`] out of line: a waker to wake, the consumer's lock to wait for, or a
/// consumer already gone (then the slot is ours to give back).
#[inline(never)]
fn complete_slot_slow<T: Send + 'static>(
    slot: NonNull<Slot<T>>,
    outcome: Outcome,
    make: impl FnOnce() -> TaskOutput<T>,
) {
    // SAFETY: as in `complete_slot`.
    let s = unsafe { slot.as_ref() };
    // A rented slot's one completer is the caller.
    let before = s.core.claim_unique();
    let _waiting = own_waker(s, before);
    s.core.publish_with(before, outcome, make);
    if before & CONSUMER_GONE != 0 {
        // SAFETY: the consumer is gone and we are done: the slot is ours.
        unsafe { give_back(slot) };
    }
}

/// [`Completer::send`] out of line: as [`complete_slot_slow`], but a consumer already gone
/// gets nothing: the value goes back to the caller, and the slot to the pool.
#[inline(never)]
fn send_slow<T: Send + 'static>(slot: NonNull<Slot<T>>, value: T) -> Result<(), T> {
    // SAFETY: as in `complete_slot`.
    let s = unsafe { slot.as_ref() };
    // A rented slot's one completer is the caller.
    let before = s.core.claim_unique();
    if before & CONSUMER_GONE != 0 {
        // SAFETY: the consumer is gone and we hold the claim (`LOCKED`, `CLAIMED`, nothing
        // written, no waker: the consumer's abandon took them, and `PRODUCER_WAITING` is
        // never set once it is gone): the slot is ours; its recycling clears the state.
        unsafe { give_back(slot) };
        return Err(value);
    }
    let _waiting = own_waker(s, before);
    s.core
        .publish_with(before, Outcome::RanToCompletion, move || Ok(value));
    Ok(())
}

/// The completer's own waker, kept while it waited for the consumer to go: taken while
/// completing, with the claim held (`before` is the state the claim saw), to be dropped by
/// the caller after the lock is released (`publish_with` clears `PRODUCER_WAITING`).
#[inline]
fn own_waker<T>(slot: &Slot<T>, before: u64) -> Option<Waker> {
    if before & PRODUCER_WAITING == 0 {
        return None;
    }
    // SAFETY: the caller holds the claim's `LOCKED`, which guards `closed`.
    slot.closed.with_mut(|w| unsafe { (*w).take() })
}

/// A completer dropped without completing: complete with `Abandoned` so the awaiter never
/// hangs.
///
/// # Safety
/// `slot` is a rented `Slot<T>` whose completer is being dropped.
#[cold]
unsafe fn abandon_slot<T: Send + 'static>(slot: NonNull<()>) {
    let slot = slot.cast::<Slot<T>>();
    // The awaiter's waker may panic; while this thread is already unwinding that would abort
    // the process, so its panic is dropped then (and resumed otherwise).
    let abandoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        complete_slot(slot, Outcome::Faulted, || Err(TaskError::Abandoned))
    }));
    if let Err(panic) = abandoned {
        crate::catch_panic::resume_unless_unwinding(panic);
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        // SAFETY: `abandon` is `abandon_slot::<T>` (see `rent`) and this is the completer
        // of the rented `slot`, dropped without completing (completing forgets it).
        unsafe { (self.abandon)(self.slot.cast()) }
    }
}

impl<T> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer")
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests;
