//! Pooled storage: the blocks behind `ValueTask::new` and `#[value_task]` (.NET's
//! `PoolingAsyncValueTaskMethodBuilder`; the future in its block is `stored_future.rs`), the
//! small records behind value tasks, and task cells.
//!
//! A future is moved into a block of the smallest size class that fits it (and its output:
//! the block holds one, then the other). The future is dropped in place when it completes,
//! or else when its value task is dropped; a future whose output is returned straight from
//! the block (an output kept out of line, larger than the value task's words:
//! `backing::PollFn`) is dropped with its value task, as a plain future awaited by reference
//! (`(&mut fut).await`) is dropped with its owner. The block goes back to the pool, on
//! whatever thread that happens, once nothing in it is needed: a completed body's output
//! waits in it until a poll takes it, and a ready block whose large output was returned from
//! it is kept until its value task drops.
//!
//! - **Size classes**: 64, 128, 256, 512, 1024, 2048 and 4096 bytes, aligned to 16. A block
//!   holds a 16-byte header (the value task backing's vtable) and then the future (or,
//!   once it completed, its output, in the same place, with a flag and the block's class
//!   beside it: `held.rs`), so futures of up to 4,080 bytes whose output fits too, and outputs of
//!   up to 4,064 bytes (a few more when aligned to less than 8), are pooled; larger or more
//!   aligned ones fall back to a plain box.
//! - **Per-thread cache**: each thread keeps, per class, the block it gave back last (its
//!   *hot* block) and a free list (an intrusive chain: a free block's first word links to
//!   the next), together up to 16 KiB per class (256 blocks of 64 bytes … 4 blocks of 4096
//!   bytes). Taking and returning a block on the same thread touches no atomic and no lock;
//!   a call that gives its block back before the next call takes one (a body that completes
//!   at the call, a record freed at once) reaches only the hot word: a load and a store each
//!   way, where the chain costs two loads, three stores and the count's update, and carries
//!   a dependency through memory from one call to the next.
//! - **Shared slots**: a full thread cache moves half of its blocks to a shared list for the
//!   class, as one batch, and an empty one refills itself with the top batch (half a cache,
//!   or a whole one handed over at a thread's exit; shorter where the shared cap cut it or a
//!   refill at a thread's exit gave back what it did not use; blocks given back one at a
//!   time join the top batch), so blocks freed on another thread come back in batches and
//!   the lock is taken once per batch, not per future; a batch goes in and out in O(1)
//!   under the lock (no chain is walked there unless the list is nearly full). Batches are
//!   never longer than a thread's cache, so a refill fits one. A thread
//!   that only takes (it creates tasks that other threads free) finds the shared list empty
//!   by a flag read without the lock, and goes to the allocator without taking it.
//! - **Bounds**: a shared list keeps at most 64 KiB per class; blocks beyond that are freed.
//!   So the pool holds at most 7 × 16 KiB = 112 KiB per thread that used it, plus
//!   7 × 64 KiB = 448 KiB shared. A thread's cache is handed to the shared lists (or freed)
//!   when the thread exits.
//!
//! # Invariants
//!
//! A block is owned by exactly one of: a thread's hot word or free list, a shared list
//! (under its lock), one live value task backing or `start` call (a stored future,
//! `stored_future.rs`, whose invariants say what the block holds), one small record
//! (`store_small`), one task cell (`store_block`) or one [`PooledBox`] (an erased tower
//! service). A chained free block's first word is
//! its link (a hot block's first word is not read); a shared batch's first block also
//! holds the next batch and its own length in its second and third words. `len` counts the
//! blocks of each chain exactly. A hot word holds a block only while its thread's flush is registered and the
//! class's configured cap is not 0 ([`CLOSED`] otherwise, set before the flush hands the
//! block over), and its block counts against that cap: the chain's cap is one less, and a
//! full chain keeps half of itself before it takes one more, so hot and chain together never
//! exceed the configured cap.
//!
//! The thread-local lists are `const`-initialized and `Drop`-free (`thread_cache`'s guard
//! flushes them at thread exit), so the fast path is a plain thread-local access.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use std::marker::PhantomData;
use std::mem::{align_of, size_of};

use crate::thread_cache::Standing;

const CLASS_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
const CLASSES: usize = CLASS_SIZES.len();
const BLOCK_ALIGN: usize = 16;
/// Bytes of free blocks a thread keeps per class, unless `VALUETASK_POOL_THREAD_BYTES` says
/// otherwise.
const THREAD_BYTES_PER_CLASS: usize = 16 * 1024;
/// Bytes of free blocks the shared list keeps per class, unless `VALUETASK_POOL_SHARED_BYTES`
/// says otherwise.
const SHARED_BYTES_PER_CLASS: usize = 64 * 1024;

/// The caps in blocks per class, read from the environment once, at the pool's first use
/// (.NET's `DOTNET_SYSTEM_THREADING_POOLINGASYNCVALUETASKSCACHESIZE`): a thread keeps at
/// most `VALUETASK_POOL_THREAD_BYTES` of free blocks per size class and the shared lists at
/// most `VALUETASK_POOL_SHARED_BYTES` per class (7 classes). 0 for both turns pooling off:
/// every block goes back to the allocator (for diagnosis). A thread cap below a class's block
/// size with a shared cap above it sends that class's every block through the shared list's
/// lock. A value is a whole number of bytes (surrounding white space allowed); one too large
/// for a `usize` is `usize::MAX`, no limit; anything else (`-1`, `64KiB`) is ignored: the
/// default holds.
struct Caps {
    thread: [usize; CLASSES],
    shared: [usize; CLASSES],
}

fn caps() -> &'static Caps {
    static CAPS: std::sync::OnceLock<Caps> = std::sync::OnceLock::new();
    CAPS.get_or_init(|| {
        let bytes = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| parse_bytes(&v))
                .unwrap_or(default)
        };
        let (thread, shared) = (
            bytes("VALUETASK_POOL_THREAD_BYTES", THREAD_BYTES_PER_CLASS),
            bytes("VALUETASK_POOL_SHARED_BYTES", SHARED_BYTES_PER_CLASS),
        );
        Caps {
            thread: std::array::from_fn(|class| thread / CLASS_SIZES[class]),
            shared: std::array::from_fn(|class| shared / CLASS_SIZES[class]),
        }
    })
}

/// A cap's value (see [`Caps`]): digits only, saturating.
fn parse_bytes(value: &str) -> Option<usize> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<usize>().unwrap_or(usize::MAX))
}

fn shared_cap(class: usize) -> usize {
    caps().shared[class]
}

#[cfg(test)]
fn thread_cap(class: usize) -> usize {
    caps().thread[class]
}

/// The size class for a future of `size` bytes and `align` alignment, if it is poolable.
const fn class_of(size: usize, align: usize) -> Option<usize> {
    if align > BLOCK_ALIGN {
        return None;
    }
    let mut class = 0;
    while class < CLASSES {
        if size <= CLASS_SIZES[class] {
            return Some(class);
        }
        class += 1;
    }
    None
}

fn layout(class: usize) -> Layout {
    // SAFETY: sizes are non-zero multiples of the power-of-two alignment.
    unsafe { Layout::from_size_align_unchecked(CLASS_SIZES[class], BLOCK_ALIGN) }
}

// --- free lists: intrusive chains, the next pointer in a free block's first word ---

/// Read the next pointer of a free block.
///
/// # Safety
/// `block` is a free block (its first word is a chain link).
#[inline]
unsafe fn next_of(block: *mut u8) -> *mut u8 {
    // SAFETY: per the caller; blocks are 16-aligned and at least 64 bytes.
    unsafe { block.cast::<*mut u8>().read() }
}

/// # Safety
/// `block` is a free block owned by the caller.
#[inline]
unsafe fn set_next(block: *mut u8, next: *mut u8) {
    // SAFETY: per the caller.
    unsafe { block.cast::<*mut u8>().write(next) }
}

/// The free blocks of one class shared between threads: a stack of batches, each a chain
/// as a thread gave it (null-terminated), so that a batch goes in and comes out in O(1)
/// under the lock, whatever its length. A batch's first block holds, past its link, the
/// next batch's first block ([`batch_below`]) and the batch's length ([`batch_len`]).
struct Chain {
    /// The first block of the top batch; null when empty.
    head: *mut u8,
    /// The blocks of every batch.
    len: usize,
}

/// The first block of the batch below the one `batch` is the first block of.
///
/// # Safety
/// `batch` is the first block of a batch of a [`Chain`] the caller holds the lock of.
unsafe fn batch_below(batch: *mut u8) -> *mut u8 {
    // SAFETY: per the caller; blocks are at least 64 bytes, 16-aligned.
    unsafe { batch.cast::<*mut u8>().add(1).read() }
}

/// The number of blocks of the batch `batch` is the first block of.
///
/// # Safety
/// As for [`batch_below`].
unsafe fn batch_len(batch: *mut u8) -> usize {
    // SAFETY: per the caller.
    unsafe { batch.cast::<usize>().add(2).read() }
}

impl Chain {
    /// Put a null-terminated chain of `len` blocks on top, as one batch.
    ///
    /// # Safety
    /// The chain is well formed, of this class, and owned by the caller, who holds the lock.
    unsafe fn push_batch(&mut self, head: *mut u8, len: usize) {
        // SAFETY: the batch's first block is ours, at least 64 bytes: words 1 and 2 are free.
        unsafe {
            head.cast::<*mut u8>().add(1).write(self.head);
            head.cast::<usize>().add(2).write(len);
        }
        self.head = head;
        self.len += len;
    }

    /// Put one block on top: into the top batch while that stays within `max_batch` blocks,
    /// else as a batch of its own. Blocks given back one at a time (by a thread past its exit
    /// guard, or in a class whose thread cache keeps no chain) then come out together, not
    /// one lock round-trip each.
    ///
    /// # Safety
    /// As for [`push_batch`](Self::push_batch), for a one-block chain.
    unsafe fn push_one(&mut self, block: *mut u8, max_batch: usize) {
        let top = self.head;
        if !top.is_null() {
            // SAFETY: the top batch's first block; we hold the lock.
            let (below, len) = unsafe { (batch_below(top), batch_len(top)) };
            if len < max_batch {
                // SAFETY: `block` is ours, at least 64 bytes: it becomes the batch's first
                // block, linked to the old one, whose words 1 and 2 are no longer read.
                unsafe {
                    set_next(block, top);
                    block.cast::<*mut u8>().add(1).write(below);
                    block.cast::<usize>().add(2).write(len + 1);
                }
                self.head = block;
                self.len += 1;
                return;
            }
        }
        // SAFETY: per the caller.
        unsafe { self.push_batch(block, 1) };
    }

    /// Take the top batch (a null-terminated chain) and its length; `None` when empty.
    fn pop_batch(&mut self) -> Option<(*mut u8, usize)> {
        let head = self.head;
        if head.is_null() {
            return None;
        }
        // SAFETY: the top batch's first block (we hold the lock: `&mut self`).
        let (below, len) = unsafe { (batch_below(head), batch_len(head)) };
        self.head = below;
        self.len -= len;
        Some((head, len))
    }
}

// SAFETY: a chain owns its free blocks (plain memory, no thread affinity); it is only reached
// through its `Mutex`.
unsafe impl Send for Chain {}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_CHAIN: Mutex<Chain> = Mutex::new(Chain {
    head: ptr::null_mut(),
    len: 0,
});
static SHARED: [Mutex<Chain>; CLASSES] = [EMPTY_CHAIN; CLASSES];
/// Whether each shared list had blocks when its lock was last released: a hint, read without
/// the lock, so that a thread that only takes (one that creates tasks which other threads
/// free) goes straight to the allocator while the shared list is empty instead of taking the
/// lock at every block. A stale hint costs one allocation or one empty look, never a block.
#[allow(clippy::declare_interior_mutable_const)]
const NO_BLOCKS: AtomicBool = AtomicBool::new(false);
static SHARED_HAS_BLOCKS: [AtomicBool; CLASSES] = [NO_BLOCKS; CLASSES];

/// The shared list of `class`, locked; the guard updates [`SHARED_HAS_BLOCKS`] when dropped.
fn shared(class: usize) -> SharedGuard {
    SharedGuard {
        class,
        chain: SHARED[class].lock().unwrap_or_else(|e| e.into_inner()),
    }
}

struct SharedGuard {
    class: usize,
    chain: std::sync::MutexGuard<'static, Chain>,
}

impl std::ops::Deref for SharedGuard {
    type Target = Chain;
    fn deref(&self) -> &Chain {
        &self.chain
    }
}

impl std::ops::DerefMut for SharedGuard {
    fn deref_mut(&mut self) -> &mut Chain {
        &mut self.chain
    }
}

impl Drop for SharedGuard {
    fn drop(&mut self) {
        // Before the lock is released (the guard's field drops after this): the hint's last
        // store is the last holder's.
        SHARED_HAS_BLOCKS[self.class].store(self.chain.len > 0, Ordering::Relaxed);
    }
}

/// Give a null-terminated chain of `len` free blocks to the shared list of `class`, as one
/// batch; what exceeds its cap is freed.
///
/// # Safety
/// The chain is well formed and owned by the caller.
unsafe fn give_shared(class: usize, head: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    let mut rest = ptr::null_mut();
    let mut rest_len = 0;
    {
        let mut chain = shared(class);
        let room = shared_cap(class).saturating_sub(chain.len);
        let keep = room.min(len);
        if keep > 0 {
            if keep < len {
                // The shared list is nearly full (rare): cut the chain after the kept part.
                let mut tail = head;
                for _ in 1..keep {
                    // SAFETY: within the chain, which the caller owns.
                    tail = unsafe { next_of(tail) };
                }
                // SAFETY: `tail` is in the chain.
                rest = unsafe { next_of(tail) };
                // SAFETY: owned.
                unsafe { set_next(tail, ptr::null_mut()) };
                rest_len = len - keep;
            }
            if keep == 1 {
                // A batch is at most a thread's cache (so that a refill fits one).
                let max_batch = caps().thread[class].max(1);
                // SAFETY: a one-block chain, ours; we hold the lock.
                unsafe { chain.push_one(head, max_batch) };
            } else {
                // SAFETY: the kept part, null-terminated, ours; we hold the lock.
                unsafe { chain.push_batch(head, keep) };
            }
        } else {
            rest = head;
            rest_len = len;
        }
    }
    for _ in 0..rest_len {
        let block = rest;
        // SAFETY: within the chain.
        rest = unsafe { next_of(block) };
        // SAFETY: a free block of `class`, allocated with `layout(class)`, owned here.
        unsafe { dealloc(block, layout(class)) };
    }
}

/// What [`Local::hot`] holds while the thread may not keep a block there: before it
/// registered, once it is exiting, and in a class whose configured cap is 0.
const CLOSED: *mut u8 = ptr::without_provenance_mut(1);

/// This thread's free lists. `const`-initialized and without `Drop`, so reaching it is a
/// plain thread-local access; they are flushed at thread exit by `thread_cache`'s guard.
struct Local {
    /// Per class, the block given back last, kept out of the chain: a call that takes a
    /// block and gives it back before the next (a body that completes at the call) reaches
    /// only this word, one load and one store each way. Null when empty, [`CLOSED`] when
    /// the thread may not keep a block here. It counts against the class's configured cap.
    hot: [Cell<*mut u8>; CLASSES],
    heads: [Cell<*mut u8>; CLASSES],
    lens: [Cell<usize>; CLASSES],
    /// Blocks this thread's chain keeps per class: the configured cap ([`Caps`]) less the
    /// hot block, set when the thread registers (the fast paths run only after that).
    caps: [Cell<usize>; CLASSES],
    standing: Standing,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            hot: [const { Cell::new(CLOSED) }; CLASSES],
            heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            lens: [const { Cell::new(0) }; CLASSES],
            caps: [const { Cell::new(0) }; CLASSES],
            standing: Standing::new(),
        }
    };
}

/// Hands this thread's free lists to the shared lists when the thread exits.
fn flush_local() {
    let _ = LOCAL.try_with(|local| {
        local.standing.set_exiting();
        for class in 0..CLASSES {
            let mut head = local.heads[class].replace(ptr::null_mut());
            let mut len = local.lens[class].replace(0);
            let hot = local.hot[class].replace(CLOSED);
            if hot.addr() > CLOSED.addr() {
                // SAFETY: the hot block is free and ours.
                unsafe { set_next(hot, head) };
                head = hot;
                len += 1;
            }
            // SAFETY: the thread's own chain, handed over whole.
            unsafe { give_shared(class, head, len) };
        }
    });
}

impl Local {
    /// Register the flush, then set this thread's caps and open its hot words, the first
    /// time: `false` once the thread is exiting (use the shared lists).
    #[cold]
    fn register(&self) -> bool {
        if self.standing.is_registered() {
            return true;
        }
        // Nothing is kept before the flush is registered: an exiting thread's caps and hot
        // words stay closed.
        if !self.standing.register(flush_local) {
            return false;
        }
        for ((cap, hot), &configured) in self.caps.iter().zip(&self.hot).zip(&caps().thread) {
            // The hot block is one of the class's `configured`.
            if configured > 0 {
                hot.set(ptr::null_mut());
            }
            cap.set(configured.saturating_sub(1));
        }
        true
    }
}

/// A free block of `class`: this thread's hot block, else its list, else a batch from the
/// shared one, else the allocator.
#[inline]
pub(crate) fn take_block(class: usize) -> NonNull<u8> {
    let local = LOCAL.try_with(|local| {
        let hot = local.hot[class].get();
        if hot.addr() > CLOSED.addr() {
            local.hot[class].set(ptr::null_mut());
            return Some(hot);
        }
        let head = local.heads[class].get();
        if head.is_null() {
            return None;
        }
        // SAFETY: the head of this thread's chain is a free block we own.
        local.heads[class].set(unsafe { next_of(head) });
        local.lens[class].set(local.lens[class].get() - 1);
        Some(head)
    });
    match local {
        // SAFETY: free blocks are non-null.
        Ok(Some(block)) => unsafe { NonNull::new_unchecked(block) },
        _ => take_block_slow(class),
    }
}

#[cold]
fn take_block_slow(class: usize) -> NonNull<u8> {
    // Refill the list with the shared list's top batch (a thread's half list, or a whole
    // list handed over at its exit), keep the rest here.
    let (head, len) = if !SHARED_HAS_BLOCKS[class].load(Ordering::Relaxed) {
        (ptr::null_mut(), 0)
    } else {
        shared(class).pop_batch().unwrap_or((ptr::null_mut(), 0))
    };
    if !head.is_null() {
        // SAFETY: a chain of `len` blocks we own.
        let first = head;
        // SAFETY: as above.
        let rest = unsafe { next_of(first) };
        let kept = LOCAL.try_with(|local| {
            if !local.register() {
                return false;
            }
            // The local list is empty here (that is why we came): the rest becomes it.
            local.heads[class].set(rest);
            local.lens[class].set(len - 1);
            true
        });
        if kept != Ok(true) && len > 1 {
            // SAFETY: the rest of the detached chain, ours.
            unsafe { give_shared(class, rest, len - 1) };
        }
        // SAFETY: non-null.
        return unsafe { NonNull::new_unchecked(first) };
    }
    let layout = layout(class);
    // SAFETY: `layout` has a non-zero size.
    let block = unsafe { alloc(layout) };
    NonNull::new(block).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Return a free block of `class` (its future already dropped) to this thread's hot word if
/// it is empty, else to its list; a full list first moves half of itself to the shared list.
///
/// `extern "C"`: a call to it does not unwind (nothing in it panics but an internal
/// assertion, which would then abort), so a caller holding a value across it
/// (`held::take_pooled`) need not keep that value in a temporary for an unwinding path.
#[inline]
pub(crate) extern "C" fn return_block(class: usize, block: NonNull<u8>) {
    let block = block.as_ptr();
    let fast = LOCAL.try_with(|local| {
        if local.hot[class].get().is_null() {
            local.hot[class].set(block);
            return true;
        }
        let len = local.lens[class].get();
        if len >= local.caps[class].get() || !local.standing.is_registered() {
            return false;
        }
        // SAFETY: the block is ours now.
        unsafe { set_next(block, local.heads[class].get()) };
        local.heads[class].set(block);
        local.lens[class].set(len + 1);
        true
    });
    if fast != Ok(true) {
        return_block_slow(class, block);
    }
}

/// `extern "C"` as `return_block`, which calls it: a call from it to a function that may
/// unwind would need an aborting landing pad in every inlined `return_block` (rows (e) and
/// (j) measured two instructions more a call).
#[cold]
extern "C" fn return_block_slow(class: usize, block: *mut u8) {
    let kept = LOCAL.try_with(|local| {
        if !local.register() {
            return false;
        }
        if local.hot[class].get().is_null() {
            // Opened just now, by this registration.
            local.hot[class].set(block);
            return true;
        }
        if local.caps[class].get() == 0 {
            // The chain keeps nothing (pooling off, or a configured cap of one block, the
            // hot one): the block goes to the shared list (or back to the allocator).
            return false;
        }
        let len = local.lens[class].get();
        if len >= local.caps[class].get() {
            // Move the older half to the shared list, keeping the newer `len / 2` (none of
            // a one-block chain): the chain then has room for the block.
            let keep = len / 2;
            let moved = if keep == 0 {
                local.heads[class].replace(ptr::null_mut())
            } else {
                let mut tail = local.heads[class].get();
                for _ in 1..keep {
                    // SAFETY: within this thread's chain.
                    tail = unsafe { next_of(tail) };
                }
                // SAFETY: `tail` is in the chain.
                let moved = unsafe { next_of(tail) };
                // SAFETY: ours.
                unsafe { set_next(tail, ptr::null_mut()) };
                moved
            };
            local.lens[class].set(keep);
            // SAFETY: the detached part, `len - keep` blocks, ours.
            unsafe { give_shared(class, moved, len - keep) };
        }
        // SAFETY: the block is ours.
        unsafe { set_next(block, local.heads[class].get()) };
        local.heads[class].set(block);
        local.lens[class].set(local.lens[class].get() + 1);
        true
    });
    if kept != Ok(true) {
        // Thread teardown, or a chain that keeps nothing: straight to the shared list.
        // SAFETY: a one-block chain we own.
        unsafe {
            set_next(block, ptr::null_mut());
            give_shared(class, block, 1);
        }
    }
}

/// The size class of a block holding an `R`; `usize::MAX` if none fits.
pub(crate) struct ClassOf<R>(PhantomData<R>);

impl<R> ClassOf<R> {
    pub(crate) const CLASS: usize = match class_of(size_of::<R>(), align_of::<R>()) {
        Some(class) => class,
        None => usize::MAX,
    };
}

/// Gives a pooled block of a class back when dropped: after what it held was dropped, or
/// during that drop's unwinding (one type for every block).
pub(crate) struct GiveBack(pub(crate) usize, pub(crate) NonNull<u8>);

impl Drop for GiveBack {
    /// Inlined where the class is a constant: the block's list is then found without a
    /// lookup.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        return_block(self.0, self.1);
    }
}

/// Move `value` into a pooled block: for the small records behind value tasks (a source and
/// its token, a task), which always fit the smallest class.
///
/// `make` runs once the block is taken, so the value is built in the block: built first and
/// then moved, it went through the stack and was copied with wide loads of fields just
/// written by narrow stores, which stall on store forwarding.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn store_small<R>(make: impl FnOnce() -> R) -> NonNull<R> {
    const { assert!(ClassOf::<R>::CLASS == 0, "a record fits the smallest class") };
    let block = take_block(0).cast::<R>();
    // SAFETY: the block is at least 64 bytes, aligned to 16, and ours.
    unsafe { block.as_ptr().write(make()) };
    block
}

/// Move the value out of a block from [`store_small`] and give the block back.
///
/// # Safety
/// `block` came from `store_small::<R>`, holds its value, and is not used again.
pub(crate) unsafe fn take_small<R>(block: NonNull<R>) -> R {
    // SAFETY: per the caller.
    let value = unsafe { block.as_ptr().read() };
    return_block(0, block.cast());
    value
}

/// Drop the value in a block from [`store_small`] and give the block back, even if the drop
/// panics.
///
/// # Safety
/// As for [`take_small`].
pub(crate) unsafe fn free_small<R>(block: NonNull<R>) {
    // SAFETY: per the caller.
    drop(unsafe { take_small(block) });
}

/// [`free_small`] of a block when dropped: a record's release that calls user code first
/// (which may panic) still gives the block back and drops the record.
pub(crate) struct FreeSmall<R>(NonNull<R>);

impl<R> FreeSmall<R> {
    /// # Safety
    /// As for [`free_small`], which the guard's drop calls; the caller does not use the
    /// block after the guard drops.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) unsafe fn new(block: NonNull<R>) -> Self {
        FreeSmall(block)
    }
}

impl<R> Drop for FreeSmall<R> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn drop(&mut self) {
        // SAFETY: per `new`'s caller.
        unsafe { free_small(self.0) }
    }
}

/// Move what `make` returns into a pooled block of its size class, or into a box if it fits
/// none (over 4096 bytes, or aligned to more than 16): for task cells, which are shared
/// between threads and freed by whichever drops the last handle. [`free_block`] gives it
/// back. `make` runs once the block is taken, as for [`store_small`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn store_block<R>(make: impl FnOnce() -> R) -> NonNull<R> {
    if ClassOf::<R>::CLASS == usize::MAX {
        // SAFETY: `Box::into_raw` is never null.
        return unsafe { NonNull::new_unchecked(Box::into_raw(Box::new(make()))) };
    }
    let block = take_block(ClassOf::<R>::CLASS).cast::<R>();
    // SAFETY: the block is of `R`'s class (at least its size, aligned to 16, and 16 is at
    // least `R`'s alignment), and ours.
    unsafe { block.as_ptr().write(make()) };
    block
}

/// Drop the value in a block from [`store_block`], in place, and give the block back (the
/// block goes back even if the drop panics).
///
/// # Safety
/// `block` came from `store_block::<R>`, holds its value, and is not used again.
#[inline]
pub(crate) unsafe fn free_block<R>(block: NonNull<R>) {
    if ClassOf::<R>::CLASS == usize::MAX {
        // SAFETY: per the caller, a box.
        return drop(unsafe { Box::from_raw(block.as_ptr()) });
    }
    let _give_back = GiveBack(ClassOf::<R>::CLASS, block.cast());
    // SAFETY: per the caller, the block holds an `R` that nothing uses again.
    unsafe { ptr::drop_in_place(block.as_ptr()) };
}

/// A box in pooled storage: a value moved into a block of its size class (a plain box when
/// it fits none), owned, possibly unsized, freed where it is dropped (its block back to that
/// thread's cache). For what is made and dropped per request where a box would be: an erased
/// tower service's clone.
#[cfg(feature = "tower")]
pub(crate) struct PooledBox<T: ?Sized>(NonNull<T>, PhantomData<T>);

// SAFETY: it owns its `T` as a `Box<T>` does.
#[cfg(feature = "tower")]
unsafe impl<T: ?Sized + Send> Send for PooledBox<T> {}
// SAFETY: as above.
#[cfg(feature = "tower")]
unsafe impl<T: ?Sized + Sync> Sync for PooledBox<T> {}

// As `Box`: the value is never pinned through the box's own place.
#[cfg(feature = "tower")]
impl<T: ?Sized> Unpin for PooledBox<T> {}

#[cfg(feature = "tower")]
impl<T> PooledBox<T> {
    /// `value` in a block of its class ([`store_block`]), ready to be unsized by
    /// [`map_unsize`](Self::map_unsize).
    #[inline]
    pub(crate) fn new(value: T) -> Self {
        PooledBox(store_block(|| value), PhantomData)
    }

    /// The same box as a `PooledBox<U>`, `unsize` being the unsizing coercion of its pointer
    /// (`|p| p`, to `NonNull<dyn Trait>`: stable Rust does not coerce the box itself).
    ///
    /// # Safety
    /// `unsize` returns its pointer unsized and nothing else: the same address, with the
    /// metadata of the value there (the drop takes the block's class from it).
    #[inline]
    pub(crate) unsafe fn map_unsize<U: ?Sized>(
        self,
        unsize: impl FnOnce(NonNull<T>) -> NonNull<U>,
    ) -> PooledBox<U> {
        let pointer = std::mem::ManuallyDrop::new(self).0;
        let unsized_pointer = unsize(pointer);
        debug_assert_eq!(unsized_pointer.cast::<u8>(), pointer.cast::<u8>());
        PooledBox(unsized_pointer, PhantomData)
    }
}

#[cfg(feature = "tower")]
impl<T: ?Sized> std::ops::Deref for PooledBox<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the block holds a live `T`, ours.
        unsafe { self.0.as_ref() }
    }
}

#[cfg(feature = "tower")]
impl<T: ?Sized> std::ops::DerefMut for PooledBox<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { self.0.as_mut() }
    }
}

#[cfg(feature = "tower")]
impl<T: ?Sized> Drop for PooledBox<T> {
    fn drop(&mut self) {
        // SAFETY: the block holds a live `T`, ours.
        let layout = Layout::for_value(unsafe { self.0.as_ref() });
        // `store_block` chose by the same size and alignment, which the value's are.
        match class_of(layout.size(), layout.align()) {
            // SAFETY: none fits: it was boxed (`Box::into_raw`), and is not used again.
            None => drop(unsafe { Box::from_raw(self.0.as_ptr()) }),
            Some(class) => {
                let _give_back = GiveBack(class, self.0.cast());
                // SAFETY: the block holds a `T` nothing uses again; the block goes back
                // after, or while a panicking drop unwinds.
                unsafe { ptr::drop_in_place(self.0.as_ptr()) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_cover_up_to_4096_bytes_aligned_to_16() {
        assert_eq!(class_of(0, 1), Some(0));
        assert_eq!(class_of(64, 8), Some(0));
        assert_eq!(class_of(65, 8), Some(1));
        assert_eq!(class_of(4096, 16), Some(6));
        assert_eq!(class_of(4097, 8), None);
        assert_eq!(class_of(8, 32), None);
        assert_eq!(thread_cap(0), 256);
        assert_eq!(thread_cap(6), 4);
    }

    /// A block handed from one test thread to another.
    struct SendBlock(NonNull<u8>);
    // SAFETY: a free block is plain memory that its one owner may move to another thread.
    unsafe impl Send for SendBlock {}

    #[test]
    fn a_cap_is_a_whole_number_of_bytes_saturating_and_anything_else_is_ignored() {
        assert_eq!(parse_bytes(" 4096\n"), Some(4096));
        assert_eq!(parse_bytes("0"), Some(0));
        assert_eq!(
            parse_bytes("99999999999999999999999999999999999999999"),
            Some(usize::MAX),
            "no limit"
        );
        for ignored in ["", "-1", "+5", "64KiB", "1_000", "1e6", " "] {
            assert_eq!(parse_bytes(ignored), None, "{ignored:?}");
        }
    }

    /// The free blocks this thread keeps of `class`: its chain and its hot block.
    fn local_len(class: usize) -> usize {
        LOCAL.with(|local| {
            local.lens[class].get() + usize::from(local.hot[class].get().addr() > CLOSED.addr())
        })
    }

    fn shared_len(class: usize) -> usize {
        shared(class).len
    }

    /// The block given back last is the next one taken, without touching the chain; a
    /// second one given back while the hot word is full goes to the chain.
    #[test]
    fn the_block_given_back_last_is_taken_next_from_the_hot_word() {
        std::thread::spawn(|| {
            const CLASS: usize = 0;
            return_block(CLASS, take_block(CLASS)); // registers the thread: its hot word opens
            let first = take_block(CLASS);
            return_block(CLASS, first);
            let chain = LOCAL.with(|local| local.lens[CLASS].get());
            for _ in 0..3 {
                let again = take_block(CLASS);
                assert_eq!(again, first, "the hot block");
                assert_eq!(LOCAL.with(|local| local.lens[CLASS].get()), chain);
                return_block(CLASS, again);
            }
            let second = take_block(CLASS);
            let third = take_block(CLASS); // from the chain, a refill or the allocator
            assert_eq!(second, first);
            let kept = local_len(CLASS); // the hot word is empty now
            return_block(CLASS, second);
            return_block(CLASS, third);
            assert_eq!(local_len(CLASS), kept + 2, "one hot, one chained");
            assert_eq!(LOCAL.with(|local| local.hot[CLASS].get()), second.as_ptr());
            let (hot, chained) = (take_block(CLASS), take_block(CLASS));
            assert_eq!(hot, second, "hot first");
            assert_eq!(chained, third, "then the chain's head");
            return_block(CLASS, chained);
            return_block(CLASS, hot);
        })
        .join()
        .unwrap();
    }

    /// A thread's free blocks go to the shared list when it exits, as one batch, and a thread
    /// whose own list is empty takes that batch from there. (The second-largest class: nothing
    /// else in this binary uses it.)
    #[test]
    fn an_exiting_thread_hands_its_blocks_over_and_a_refill_takes_them_as_one_batch() {
        const CLASS: usize = CLASSES - 2;
        let cap = thread_cap(CLASS);
        let before = shared_len(CLASS);
        std::thread::spawn(move || {
            let blocks: Vec<_> = (0..cap).map(|_| take_block(CLASS)).collect();
            for block in blocks {
                return_block(CLASS, block);
            }
            assert_eq!(local_len(CLASS), cap, "kept here until the thread exits");
        })
        .join()
        .unwrap();
        let shared = shared_len(CLASS);
        assert_eq!(shared, (before + cap).min(shared_cap(CLASS)), "handed over");
        let in_use = std::thread::spawn(move || {
            let block = take_block(CLASS);
            let taken = shared - before;
            assert_eq!(local_len(CLASS), taken - 1, "the batch, one of it in use");
            assert_eq!(shared_len(CLASS), shared - taken);
            SendBlock(block)
        })
        .join()
        .unwrap()
        .0;
        // That thread only took: its exit still handed the rest of the refill back.
        assert_eq!(shared_len(CLASS), shared - 1);
        return_block(CLASS, in_use);
        let has_blocks = || SHARED_HAS_BLOCKS[CLASS].load(Ordering::Relaxed);
        assert!(has_blocks(), "the hint follows the shared list");
        // A thread that only takes empties the shared list; the hint says so, and its next
        // refill goes to the allocator without taking the lock. Its exit hands everything
        // over, and the hint says that too.
        std::thread::spawn(move || {
            let mut taken = Vec::new();
            while shared_len(CLASS) > 0 || local_len(CLASS) > 0 {
                taken.push(take_block(CLASS));
            }
            assert!(!has_blocks(), "emptied");
            taken.push(take_block(CLASS));
            assert_eq!(shared_len(CLASS), 0);
            for block in taken {
                return_block(CLASS, block);
            }
        })
        .join()
        .unwrap();
        assert!(has_blocks(), "handed over at exit");
    }

    /// The stack of batches on its own (not the shared statics): batches come out last in,
    /// first out, each whole, with its length; single blocks join the top batch up to the
    /// cap, then start a batch of their own; every block comes out once; the stack ends
    /// empty.
    #[test]
    fn batches_come_out_whole_in_reverse_order_and_single_blocks_join_the_top_one() {
        const CLASS: usize = 0;
        // A fresh block: a one-block chain.
        let fresh = || {
            // SAFETY: `layout(CLASS)` has a non-zero size.
            let block = unsafe { alloc(layout(CLASS)) };
            assert!(!block.is_null());
            // SAFETY: ours.
            unsafe { set_next(block, ptr::null_mut()) };
            block
        };
        // A null-terminated chain of `len` fresh blocks, and its blocks in order.
        let chain_of = |len: usize| {
            let blocks: Vec<*mut u8> = (0..len).map(|_| fresh()).collect();
            for pair in blocks.windows(2) {
                // SAFETY: fresh blocks, ours.
                unsafe { set_next(pair[0], pair[1]) };
            }
            // SAFETY: as above.
            unsafe { set_next(blocks[len - 1], ptr::null_mut()) };
            blocks
        };
        // The blocks of a popped batch, following its links.
        let walk = |head: *mut u8| {
            let mut blocks = Vec::new();
            let mut at = head;
            while !at.is_null() {
                blocks.push(at);
                // SAFETY: a block of the popped chain, ours.
                at = unsafe { next_of(at) };
            }
            blocks
        };
        let mut chain = Chain {
            head: ptr::null_mut(),
            len: 0,
        };
        let first = chain_of(3);
        let second = chain_of(5);
        // SAFETY: well-formed chains, ours (the chain is a local: no lock needed).
        unsafe {
            chain.push_batch(first[0], 3);
            chain.push_batch(second[0], 5);
        }
        let singles: Vec<*mut u8> = (0..3).map(|_| fresh()).collect();
        for &block in &singles {
            // SAFETY: a fresh block, ours; the top batch (5) may grow to 7.
            unsafe { chain.push_one(block, 7) };
        }
        assert_eq!(chain.len, 11);
        let mut out = Vec::new();
        // The third single found the top batch at 7: a batch of its own.
        let (head, len) = chain.pop_batch().expect("the third single");
        assert_eq!((walk(head), len), (vec![singles[2]], 1));
        out.push(head);
        let (head, len) = chain.pop_batch().expect("the second batch and two singles");
        let mut joined = vec![singles[1], singles[0]];
        joined.extend(&second);
        assert_eq!((walk(head), len), (joined.clone(), 7));
        out.extend(joined);
        let (head, len) = chain.pop_batch().expect("the first batch");
        assert_eq!((walk(head), len), (first.clone(), 3));
        out.extend(first);
        assert!(chain.pop_batch().is_none());
        assert_eq!(chain.len, 0);
        // A single block on an empty stack is a batch of its own.
        let lone = fresh();
        // SAFETY: a fresh block, ours.
        unsafe { chain.push_one(lone, 7) };
        assert_eq!(
            chain.pop_batch().map(|(head, len)| (walk(head), len)),
            Some((vec![lone], 1))
        );
        out.push(lone);
        let mut distinct = out.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), out.len(), "a block came out twice");
        for block in out {
            // SAFETY: each block once, allocated with `layout(CLASS)`.
            unsafe { dealloc(block, layout(CLASS)) };
        }
    }

    /// A thread-local destructor that runs after the thread's exit guard (its lists already
    /// handed over) still takes and returns blocks through the shared list: a refill there
    /// gives back what it does not use instead of keeping it where nothing flushes it. Every
    /// block ends up shared again. (Class 4: nothing else in this binary uses it.)
    #[test]
    fn blocks_taken_during_thread_exit_go_back_to_the_shared_list() {
        const CLASS: usize = CLASSES - 3;
        struct TakeAndReturn;
        impl Drop for TakeAndReturn {
            fn drop(&mut self) {
                return_block(CLASS, take_block(CLASS));
            }
        }
        thread_local!(static LATE: TakeAndReturn = const { TakeAndReturn });
        let before = shared_len(CLASS);
        // SAFETY: four fresh blocks of `CLASS`, chained and handed over whole.
        unsafe {
            let mut head = ptr::null_mut();
            for _ in 0..4 {
                let block = alloc(layout(CLASS));
                assert!(!block.is_null());
                set_next(block, head);
                head = block;
            }
            give_shared(CLASS, head, 4);
        }
        std::thread::spawn(|| {
            LATE.with(|_| ()); // registered first: destroyed after the exit guard
            return_block(CLASS, take_block(CLASS)); // a refill: the guard is registered
        })
        .join()
        .unwrap();
        assert_eq!(shared_len(CLASS), before + 4);
    }

    /// The documented bounds: a thread keeps at most `thread_cap` free blocks per class and
    /// the shared list at most `shared_cap`, also when an exiting thread hands its cache
    /// over. (The largest class: nothing else in this binary uses it.)
    #[test]
    fn free_blocks_beyond_the_thread_and_shared_caps_are_freed() {
        const CLASS: usize = CLASSES - 1;
        let many = 10 * (thread_cap(CLASS) + shared_cap(CLASS));
        std::thread::spawn(move || {
            let blocks: Vec<_> = (0..many).map(|_| take_block(CLASS)).collect();
            for block in blocks {
                return_block(CLASS, block);
                assert!(local_len(CLASS) <= thread_cap(CLASS));
                assert!(shared_len(CLASS) <= shared_cap(CLASS));
            }
            assert!(local_len(CLASS) > 0, "the thread keeps some");
            assert_eq!(
                shared_len(CLASS),
                shared_cap(CLASS),
                "the shared list is full"
            );
        })
        .join()
        .unwrap();
        // The exiting thread's cache was handed to the full shared list, which stays capped.
        assert_eq!(shared_len(CLASS), shared_cap(CLASS));
    }
}
