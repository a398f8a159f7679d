//! The store of blocks (module docs): type-stable, so never freed.

use super::{Slab, BATCH, CACHED};
use crate::thread_cache::Standing;
use std::cell::Cell;
use std::ptr::NonNull;

/// A chain of blocks linked by `next_free`, and its length.
struct Chain {
    head: *mut Slab,
    len: usize,
}

// SAFETY: the chain's blocks are reached only through the chain's owner (the shared
// list's lock).
unsafe impl Send for Chain {}

impl Chain {
    const EMPTY: Chain = Chain {
        head: std::ptr::null_mut(),
        len: 0,
    };

    /// Push `block`.
    ///
    /// # Safety
    /// `block` is a live `Slab` in no list, serving no cell.
    unsafe fn push(&mut self, block: NonNull<Slab>) {
        // SAFETY: per the caller, the block is ours to link.
        unsafe { block.as_ref() }.next_free.set(self.head);
        self.head = block.as_ptr();
        self.len += 1;
    }

    fn pop(&mut self) -> Option<NonNull<Slab>> {
        let block = NonNull::new(self.head)?;
        // SAFETY: a block in the chain is a live `Slab` only the chain's owner touches.
        self.head = unsafe { block.as_ref() }
            .next_free
            .replace(std::ptr::null_mut());
        self.len -= 1;
        Some(block)
    }

    /// Move up to `n` blocks from `self` to `to`.
    fn move_to(&mut self, to: &mut Chain, n: usize) {
        for _ in 0..n {
            let Some(block) = self.pop() else { break };
            // SAFETY: popped from our chain: in no list, serving no cell.
            unsafe { to.push(block) };
        }
    }
}

static SHARED: std::sync::Mutex<Chain> = std::sync::Mutex::new(Chain::EMPTY);

/// This thread's cache, `const` and without drop glue; its blocks go to the shared list
/// when the thread exits (`flush`, run by `thread_cache`'s guard).
struct Cache {
    chain: Cell<Chain>,
    standing: Standing,
}

thread_local! {
    static CACHE: Cache = const {
        Cache {
            chain: Cell::new(Chain::EMPTY),
            standing: Standing::new(),
        }
    };
}

/// Hands this thread's blocks to the shared list when the thread exits.
fn flush() {
    let _ = CACHE.try_with(|cache| {
        cache.standing.set_exiting();
        let mut chain = cache.chain.replace(Chain::EMPTY);
        let len = chain.len;
        chain.move_to(&mut crate::sync::lock_std(&SHARED), len);
    });
}

/// Whether this thread's cache may be used (registering its flush the first time).
#[inline]
fn usable(cache: &Cache) -> bool {
    cache.standing.is_registered() || cache.standing.register(flush)
}

/// A block from this thread's cache, else from the shared list (taking up to [`BATCH`]
/// at once, the rest for this thread's cache), if either has one.
pub(super) fn take() -> Option<NonNull<Slab>> {
    if cfg!(valuetask_loom) {
        return None;
    }
    CACHE
        .try_with(|cache| {
            if !usable(cache) {
                return crate::sync::lock_std(&SHARED).pop();
            }
            let mut chain = cache.chain.replace(Chain::EMPTY);
            if chain.len == 0 {
                crate::sync::lock_std(&SHARED).move_to(&mut chain, BATCH);
            }
            let block = chain.pop();
            cache.chain.set(chain);
            block
        })
        .unwrap_or_else(|_| crate::sync::lock_std(&SHARED).pop())
}

/// Keep `block` for a later slab in this thread's cache; past [`CACHED`] blocks, [`BATCH`]
/// of them go to the shared list at once (all of them once the thread's cache is gone).
/// Under loom, freed.
pub(super) fn put(block: NonNull<Slab>) {
    if cfg!(valuetask_loom) {
        // SAFETY: under loom no block is reused or reached after its cell (module docs):
        // it came from `Box::into_raw` and is ours.
        drop(unsafe { Box::from_raw(block.as_ptr()) });
        return;
    }
    let cached = CACHE.try_with(|cache| {
        if !usable(cache) {
            return false;
        }
        let mut chain = cache.chain.replace(Chain::EMPTY);
        // SAFETY: the caller gave it back: in no list, serving no cell.
        unsafe { chain.push(block) };
        if chain.len > CACHED {
            chain.move_to(&mut crate::sync::lock_std(&SHARED), BATCH);
        }
        cache.chain.set(chain);
        true
    });
    if cached != Ok(true) {
        // SAFETY: as above.
        unsafe { crate::sync::lock_std(&SHARED).push(block) };
    }
}

/// How many blocks this thread's cache holds (tests).
#[cfg(all(test, not(valuetask_loom)))] // its tests do not run under loom
pub(super) fn cached_here() -> usize {
    CACHE.with(|cache| {
        let chain = cache.chain.replace(Chain::EMPTY);
        let len = chain.len;
        cache.chain.set(chain);
        len
    })
}
