//! `CompletionPool<T>`: reusable one-shot completions, the allocation-free replacement for a
//! `tokio::sync::oneshot` per request.
//!
//! Each slot is a [`ManualResetValueTaskSourceCore`] plus a link to its pool. `rent` hands out
//! the slot's current generation as a `(ValueTask, Completer)` pair; when both are done the
//! slot is recycled (version bumped) and goes back to a pool, on whatever thread finishes
//! last.
//!
//! # Invariants (who may touch what)
//!
//! - A rented slot has exactly one consumer (the `ValueTask`'s `PooledBacking`) and one
//!   `Completer`. The one that finishes last recycles it: the consumer after it took the
//!   result (the completer is done once `COMPLETE` is published), or after it abandoned a
//!   completed generation; the completer when it completes a generation whose consumer is gone
//!   (`CONSUMER_GONE`).
//! - An idle slot (in a thread cache or the shared list) is owned by that list alone.
//! - A thread cache holds slots of one pool at a time (`owner`, the address of the pool's
//!   shared part, which the cached slots keep alive). An empty cache's `owner` means nothing
//!   (that pool may be gone and its address reused): the next `put_cached` claims it anew.
//! - Slots keep their pool's shared part alive (`Arc`); when the last `CompletionPool` handle
//!   drops, the shared idle list is emptied and the pool is marked closed, so returning slots
//!   are freed instead of kept: no cycle, no leak.

use std::cell::RefCell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use super::core::{ManualResetValueTaskSourceCore, CONSUMER_GONE};
use super::SourceStatus;
use crate::task::{TaskError, TaskOutput};
use crate::value_task::{PooledBacking, PooledVTable, ValueTask};

/// Idle slots a thread keeps for the pool it used last.
const THREAD_CACHE: usize = 32;
/// Default cap of the shared idle list.
const DEFAULT_MAX_IDLE: usize = 1024;

/// A pool of reusable one-shot completions (the pooled counterpart of
/// `tokio::sync::oneshot::channel`, built on .NET's `ManualResetValueTaskSourceCore`).
///
/// [`rent`](Self::rent) returns a `ValueTask` (the receiver) and a [`Completer`] (the
/// sender). Completing wakes the awaiter; the slot goes back to the pool once the value task
/// is consumed or dropped and the completer is done, on any thread. In steady state nothing
/// is allocated.
///
/// | `tokio::sync::oneshot` | `CompletionPool` |
/// |---|---|
/// | `oneshot::channel()` (one allocation) | `pool.rent()` (none when a slot is idle) |
/// | `Sender::send(v)` | [`Completer::set_result`] (also `set_error`, `set_canceled`) |
/// | `Receiver` awaited: `Result<T, RecvError>` | `ValueTask` awaited: `Result<T, TaskError>` |
/// | `Sender` dropped: `RecvError` | `Completer` dropped: `TaskError::Abandoned` |
/// | `Sender::is_closed` | [`Completer::is_closed`] |
///
/// Memory: each thread keeps up to 32 idle slots of the pool it rented from or returned to
/// last, and the pool keeps up to `max_idle` more (default 1024); slots beyond that are freed.
/// A slot is a `ManualResetValueTaskSourceCore<T>` (one `u64`, a `Result<T, TaskError>` and a
/// waker) plus a pointer.
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
}

/// Closes the pool when the last `CompletionPool` clone drops.
struct PoolHandle<T> {
    shared: Arc<PoolShared<T>>,
}

struct PoolShared<T> {
    idle: Mutex<Vec<SlotPtr<T>>>,
    max_idle: usize,
    closed: AtomicBool,
}

struct Slot<T> {
    core: ManualResetValueTaskSourceCore<T>,
    pool: Arc<PoolShared<T>>,
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
    /// A pool that keeps up to 1024 idle slots (besides the per-thread caches).
    pub fn new() -> Self {
        Self::with_max_idle(DEFAULT_MAX_IDLE)
    }

    /// A pool that keeps up to `max_idle` idle slots in its shared list.
    pub fn with_max_idle(max_idle: usize) -> Self {
        CompletionPool {
            handle: Arc::new(PoolHandle {
                shared: Arc::new(PoolShared {
                    idle: Mutex::new(Vec::new()),
                    max_idle,
                    closed: AtomicBool::new(false),
                }),
            }),
        }
    }

    /// A pending one-shot completion: the value task to await and the completer that
    /// completes it. No allocation when the pool has an idle slot.
    #[inline]
    pub fn rent(&self) -> (ValueTask<'static, TaskOutput<T>>, Completer<T>) {
        let shared = &self.handle.shared;
        let slot = match take_cached::<T>(shared) {
            Some(cached) => cached.0,
            None => Self::rent_slow(shared),
        };
        // SAFETY: the slot is ours (fresh or taken from an idle list).
        let token = unsafe { slot.as_ref() }.core.version();
        let backing = PooledBacking::new(slot.cast(), token, Slot::<T>::VTABLE);
        (
            ValueTask::from_pooled(backing),
            Completer { slot, done: false },
        )
    }

    /// A slot from the shared idle list, or a new one.
    #[cold]
    fn rent_slow(shared: &Arc<PoolShared<T>>) -> NonNull<Slot<T>> {
        lock(&shared.idle).pop().map(|p| p.0).unwrap_or_else(|| {
            let boxed = Box::new(Slot {
                core: ManualResetValueTaskSourceCore::new(),
                pool: Arc::clone(shared),
            });
            // SAFETY: `Box::into_raw` is never null.
            unsafe { NonNull::new_unchecked(Box::into_raw(boxed)) }
        })
    }

    /// Slots in the shared idle list right now (not counting thread caches).
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
        self.shared.closed.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *lock(&self.shared.idle));
        idle.into_iter().for_each(SlotPtr::free);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + 'static> Slot<T> {
    const VTABLE: &'static PooledVTable<TaskOutput<T>> = &PooledVTable {
        poll: Self::poll,
        status: Self::status,
        release: Self::release,
        is_future: false,
    };

    /// # Safety
    /// `ptr` is a rented `Slot<T>` and the caller is its consumer.
    #[inline]
    unsafe fn poll(ptr: NonNull<()>, token: u32, cx: &mut Context<'_>) -> Poll<TaskOutput<T>> {
        let slot = ptr.cast::<Slot<T>>();
        // SAFETY: rented, so alive; we are its only consumer and nobody else resets it.
        let polled = unsafe { slot.as_ref().core.unique_poll_and_recycle(token, cx) };
        if polled.is_ready() {
            // SAFETY: taken and recycled: both halves are done, the slot is ours.
            unsafe { keep(slot) };
        }
        polled
    }

    /// # Safety
    /// `ptr` is a rented `Slot<T>`.
    unsafe fn status(ptr: NonNull<()>, token: u32) -> SourceStatus {
        // SAFETY: rented, so alive.
        unsafe { ptr.cast::<Slot<T>>().as_ref() }.core.status(token)
    }

    /// # Safety
    /// `ptr` is a rented `Slot<T>` and the caller is its consumer, giving up.
    unsafe fn release(ptr: NonNull<()>) {
        let slot = ptr.cast::<Slot<T>>();
        // SAFETY: rented, so alive.
        if unsafe { slot.as_ref() }.core.abandon_consumer() {
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
    unsafe { slot.as_ref().core.recycle() };
    // SAFETY: exclusive per the caller, and now recycled.
    unsafe { keep(slot) };
}

/// Keep a recycled slot idle (thread cache, then shared list) or free it.
///
/// # Safety
/// The caller owns the slot, and it is recycled.
#[inline]
unsafe fn keep<T: Send + 'static>(slot: NonNull<Slot<T>>) {
    // SAFETY: owned per the caller.
    let s = unsafe { slot.as_ref() };
    if s.pool.closed.load(Ordering::Acquire) {
        return SlotPtr(slot).free();
    }
    if let Err(slot) = put_cached(slot) {
        put_shared(slot);
    }
}

fn put_shared<T>(slot: SlotPtr<T>) {
    // SAFETY: `slot` is owned and alive.
    let pool = Arc::clone(&unsafe { slot.0.as_ref() }.pool);
    let mut idle = lock(&pool.idle);
    if idle.len() < pool.max_idle && !pool.closed.load(Ordering::Acquire) {
        idle.push(slot);
    } else {
        drop(idle);
        slot.free();
    }
}

// --- the per-thread cache (type-erased: it holds one pool's slots at a time) ---

struct ThreadCache {
    /// Address of the `PoolShared` whose slots are cached. Meaningful only while `slots` is
    /// not empty (the slots keep that pool alive); 0 before first use.
    owner: usize,
    slots: Vec<NonNull<()>>,
    /// Returns one cached slot of `owner`'s type to its pool (shared list or free).
    spill: unsafe fn(NonNull<()>),
}

impl ThreadCache {
    fn flush(&mut self) {
        for slot in self.slots.drain(..) {
            // SAFETY: cached slots are owned by the cache and of `owner`'s type.
            unsafe { (self.spill)(slot) };
        }
        self.owner = 0;
    }
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        self.flush();
    }
}

/// # Safety
/// `slot` is an owned, idle `Slot<T>`.
unsafe fn spill_slot<T>(slot: NonNull<()>) {
    put_shared(SlotPtr(slot.cast::<Slot<T>>()));
}

unsafe fn no_spill(_: NonNull<()>) {}

thread_local! {
    static CACHE: RefCell<ThreadCache> = const {
        RefCell::new(ThreadCache { owner: 0, slots: Vec::new(), spill: no_spill })
    };
}

#[inline]
fn take_cached<T>(pool: &Arc<PoolShared<T>>) -> Option<SlotPtr<T>> {
    // Loom runs model threads on one OS thread: a real thread-local would outlive the model.
    if cfg!(valuetask_loom) {
        return None;
    }
    let id = Arc::as_ptr(pool) as usize;
    CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            if cache.owner != id || cache.slots.is_empty() {
                return None;
            }
            cache.slots.pop().map(|p| SlotPtr(p.cast()))
        })
        .ok()
        .flatten()
}

/// Keep `slot` in this thread's cache; hand it back when the cache is full or busy.
#[inline]
fn put_cached<T>(slot: NonNull<Slot<T>>) -> Result<(), SlotPtr<T>> {
    if cfg!(valuetask_loom) {
        return Err(SlotPtr(slot));
    }
    // SAFETY: `slot` is owned and alive.
    let id = Arc::as_ptr(&unsafe { slot.as_ref() }.pool) as usize;
    let kept = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        // An empty cache is nobody's: its `owner` may name a pool that has since been freed,
        // and a new pool (of another `T`) may live at that address now. Only while it holds
        // slots does the cache keep its owner alive (each slot holds the pool's `Arc`).
        if cache.owner != id || cache.slots.is_empty() {
            // Switch pools: the previous pool's slots go back to it.
            cache.flush();
            cache.owner = id;
            cache.spill = spill_slot::<T>;
        }
        if cache.slots.len() < THREAD_CACHE {
            cache.slots.push(slot.cast());
            true
        } else {
            false
        }
    });
    match kept {
        Ok(true) => Ok(()),
        _ => Err(SlotPtr(slot)),
    }
}

/// Completes one rented value task (the pooled counterpart of `oneshot::Sender`; in .NET, the
/// `SetResult` / `SetException` side of a pooled `IValueTaskSource`).
///
/// Completing consumes it. Dropping it without completing completes the value task with
/// [`TaskError::Abandoned`], so the awaiter never hangs.
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
pub struct Completer<T: Send + 'static> {
    slot: NonNull<Slot<T>>,
    done: bool,
}

// SAFETY: the completer is the slot's only producer; it moves `T` into the slot, possibly
// from another thread.
unsafe impl<T: Send + 'static> Send for Completer<T> {}
// SAFETY: `&Completer` only reads the slot's state (`is_closed`).
unsafe impl<T: Send + 'static> Sync for Completer<T> {}

impl<T: Send + 'static> Completer<T> {
    /// Complete with `value` and wake the awaiter.
    pub fn set_result(mut self, value: T) {
        self.complete(Ok(value));
    }

    /// Complete with `error`.
    pub fn set_error(mut self, error: TaskError) {
        self.complete(Err(error));
    }

    /// Complete as canceled.
    pub fn set_canceled(mut self) {
        self.complete(Err(TaskError::Canceled));
    }

    /// True when the value task was dropped: nobody will see a result
    /// (`oneshot::Sender::is_closed`).
    pub fn is_closed(&self) -> bool {
        // SAFETY: the slot stays rented while the completer lives.
        let core = &unsafe { self.slot.as_ref() }.core;
        core.consumer_gone()
    }

    #[inline]
    fn complete(&mut self, output: TaskOutput<T>) {
        self.done = true;
        // SAFETY: the slot stays rented while the completer lives.
        let core = &unsafe { self.slot.as_ref() }.core;
        match core.complete(output) {
            Ok(before) if before & CONSUMER_GONE != 0 => {
                // SAFETY: the consumer is gone and we are done: the slot is ours.
                unsafe { give_back(self.slot) };
            }
            Ok(_) => {}
            Err(_) => unreachable!("a rented slot is completed only by its one completer"),
        }
    }
}

impl<T: Send + 'static> Drop for Completer<T> {
    fn drop(&mut self) {
        if !self.done {
            self.complete(Err(TaskError::Abandoned));
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer")
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;

    /// Stands for the `spill` of a freed pool's slot type: using it is the bug.
    unsafe fn stale_spill(_: NonNull<()>) {
        panic!("a slot was spilled with the spill function of the pool that left the cache");
    }

    /// After a pool is freed, another pool (of another `T`) may be allocated at its address
    /// while this thread's empty cache still names it. Simulated here: the cache names the
    /// new pool's address but carries the old pool's `spill`. The new pool's slot must go
    /// back to it through its own.
    #[test]
    fn an_empty_cache_is_claimed_anew_even_at_a_known_address() {
        std::thread::spawn(|| {
            let pool = CompletionPool::<[usize; 8]>::new();
            CACHE.with(|cache| {
                let mut cache = cache.borrow_mut();
                cache.owner = Arc::as_ptr(&pool.handle.shared) as usize;
                cache.spill = stale_spill;
            });
            let (vt, c) = pool.rent();
            c.set_result([0; 8]);
            assert_eq!(vt.get_result(), Ok([0; 8]));
            CACHE.with(|cache| cache.borrow_mut().flush());
            assert_eq!(pool.idle(), 1, "the slot went back to its own pool");
            let (vt, c) = pool.rent();
            c.set_result([7; 8]);
            assert_eq!(vt.get_result(), Ok([7; 8]));
        })
        .join()
        .unwrap();
    }
}
