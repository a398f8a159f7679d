//! Pooled storage for futures: the storage behind `ValueTask::new` and `#[value_task]`
//! (.NET's `PoolingAsyncValueTaskMethodBuilder`).
//!
//! A future is moved into a block of the smallest size class that fits it; when the value task
//! yields or is dropped, the future is dropped in place and the block goes back to the pool on
//! whatever thread that happens.
//!
//! - **Size classes**: 64, 128, 256, 512, 1024, 2048 and 4096 bytes, aligned to 16. Futures
//!   that are larger or more aligned fall back to a plain box.
//! - **Per-thread cache**: each thread keeps a stack of free blocks per class, up to 16 KiB
//!   per class (256 blocks of 64 bytes … 4 blocks of 4096 bytes). Taking and returning a block
//!   on the same thread touches no atomic and no lock.
//! - **Shared slots**: a full thread cache moves half of its blocks to a shared list for the
//!   class, and an empty one refills half a cache from it, so blocks freed on another thread
//!   come back in batches and the lock is taken once per batch, not per future.
//! - **Bounds**: a shared list keeps at most 64 KiB per class; blocks beyond that are freed.
//!   So the pool holds at most 7 × 16 KiB = 112 KiB per thread that used it, plus
//!   7 × 64 KiB = 448 KiB shared. A thread's cache is handed to the shared lists (or freed)
//!   when the thread exits.
//!
//! # Invariants
//!
//! A block is owned by exactly one of: a thread cache, a shared list, or one live
//! `PooledBacking` (the future inside it). It moves between owners only by value.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::source::SourceStatus;
use crate::value_task::{PooledBacking, PooledVTable};

const CLASS_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
const CLASSES: usize = CLASS_SIZES.len();
const BLOCK_ALIGN: usize = 16;
/// Bytes of free blocks a thread keeps per class.
const THREAD_BYTES_PER_CLASS: usize = 16 * 1024;
/// Bytes of free blocks the shared list keeps per class.
const SHARED_BYTES_PER_CLASS: usize = 64 * 1024;

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

const fn thread_cap(class: usize) -> usize {
    THREAD_BYTES_PER_CLASS / CLASS_SIZES[class]
}

const fn shared_cap(class: usize) -> usize {
    SHARED_BYTES_PER_CLASS / CLASS_SIZES[class]
}

fn layout(class: usize) -> Layout {
    // SAFETY: sizes are non-zero multiples of the power-of-two alignment.
    unsafe { Layout::from_size_align_unchecked(CLASS_SIZES[class], BLOCK_ALIGN) }
}

/// A free block's address (`usize` so that the lists are `Send`; a free block is plain
/// memory owned by its list).
type FreeBlock = usize;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SHARED: Mutex<Vec<FreeBlock>> = Mutex::new(Vec::new());
static SHARED: [Mutex<Vec<FreeBlock>>; CLASSES] = [EMPTY_SHARED; CLASSES];

struct ThreadCache {
    free: [Vec<FreeBlock>; CLASSES],
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        for class in 0..CLASSES {
            let blocks = std::mem::take(&mut self.free[class]);
            give_shared(class, blocks);
        }
    }
}

thread_local! {
    static CACHE: RefCell<ThreadCache> = const {
        RefCell::new(ThreadCache { free: [const { Vec::new() }; CLASSES] })
    };
}

/// Hand `blocks` to the shared list of `class`, freeing what exceeds its cap.
fn give_shared(class: usize, mut blocks: Vec<FreeBlock>) {
    if blocks.is_empty() {
        return;
    }
    {
        let mut shared = SHARED[class].lock().unwrap_or_else(|e| e.into_inner());
        let room = shared_cap(class).saturating_sub(shared.len());
        let keep = room.min(blocks.len());
        shared.extend(blocks.drain(..keep));
    }
    for block in blocks {
        // SAFETY: a free block of `class`, allocated with `layout(class)` and owned here.
        unsafe { dealloc(block as *mut u8, layout(class)) };
    }
}

/// A free block of `class`: this thread's cache, else a batch from the shared list, else the
/// allocator.
#[inline]
fn take_block(class: usize) -> NonNull<u8> {
    let cached = CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            if let Some(block) = cache.free[class].pop() {
                return Some(block);
            }
            // Refill half a cache in one lock.
            let mut shared = SHARED[class].lock().unwrap_or_else(|e| e.into_inner());
            let take = (thread_cap(class) / 2).min(shared.len());
            let at = shared.len() - take;
            cache.free[class].extend(shared.drain(at..));
            drop(shared);
            cache.free[class].pop()
        })
        .ok()
        .flatten();
    match cached {
        // SAFETY: free blocks are non-null allocations.
        Some(block) => unsafe { NonNull::new_unchecked(block as *mut u8) },
        None => {
            let layout = layout(class);
            // SAFETY: `layout` has a non-zero size.
            let ptr = unsafe { alloc(layout) };
            NonNull::new(ptr).unwrap_or_else(|| handle_alloc_error(layout))
        }
    }
}

/// Return a block of `class` (its future already dropped) to this thread's cache; a full
/// cache first moves half of itself to the shared list.
#[inline]
fn return_block(class: usize, block: NonNull<u8>) {
    let addr = block.as_ptr() as usize;
    let kept = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        let free = &mut cache.free[class];
        if free.len() >= thread_cap(class) {
            let half = free.split_off(free.len() / 2);
            give_shared(class, half);
        }
        free.push(addr);
        true
    });
    if kept != Ok(true) {
        // Thread teardown (or a re-entrant call): straight to the shared list.
        give_shared(class, vec![addr]);
    }
}

/// Operations on a future `F` stored in a pooled block.
struct Stored<F>(std::marker::PhantomData<F>);

impl<F: Future> Stored<F> {
    const CLASS: usize = match class_of(size_of::<F>(), align_of::<F>()) {
        Some(class) => class,
        None => usize::MAX,
    };

    /// Borrowed as `&Self::VTABLE`, a constant is promoted to static memory: the pointer a
    /// `PooledBacking` keeps stays valid forever.
    const VTABLE: PooledVTable<F::Output> = PooledVTable {
        poll: Self::poll,
        status: Self::status,
        release: Self::release,
        is_future: true,
    };

    /// # Safety
    /// `ptr` is a live pooled block holding an `F` that has not completed.
    unsafe fn poll(ptr: NonNull<()>, _token: u32, cx: &mut Context<'_>) -> Poll<F::Output> {
        let fut = ptr.cast::<F>();
        // SAFETY: the future lives in its block until dropped below; it is never moved.
        let polled = unsafe { Pin::new_unchecked(&mut *fut.as_ptr()) }.poll(cx);
        if polled.is_ready() {
            // SAFETY: completed: drop it in place and recycle the block; the backing forgets
            // the pointer.
            unsafe { Self::release(ptr) };
        }
        polled
    }

    unsafe fn status(_ptr: NonNull<()>, _token: u32) -> SourceStatus {
        SourceStatus::Pending
    }

    /// # Safety
    /// `ptr` is a live pooled block holding an `F`; it is not used again.
    unsafe fn release(ptr: NonNull<()>) {
        // SAFETY: per the caller; the future is dropped exactly once, in place (it was
        // pinned there).
        unsafe { std::ptr::drop_in_place(ptr.cast::<F>().as_ptr()) };
        return_block(Self::CLASS, ptr.cast());
    }
}

/// Store `future` in a pooled block, or hand it back if it is too large or too aligned.
pub(crate) fn store<F: Future>(future: F) -> Result<PooledBacking<F::Output>, F> {
    if Stored::<F>::CLASS == usize::MAX {
        return Err(future);
    }
    let block = take_block(Stored::<F>::CLASS);
    // SAFETY: the block is at least `size_of::<F>()` bytes, aligned to 16 ≥ `align_of::<F>()`,
    // and ours.
    unsafe { block.cast::<F>().as_ptr().write(future) };
    // SAFETY: `&VTABLE` is a promoted constant (static memory); the block holds an `F`.
    Ok(unsafe { PooledBacking::from_raw(block.cast(), 0, &Stored::<F>::VTABLE) })
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
}
