//! One exit guard for every per-thread cache: pooled blocks (`pool.rs`), `CompletionPool`
//! slots (`source/pool.rs`), slab blocks (`task/slab.rs`) and emptied overflows
//! (`task/waiters.rs`).
//!
//! Each cache keeps its contents in a `const`-initialized thread-local without drop glue, so
//! its fast path is a plain thread-local access, and a [`Standing`] beside them that the fast
//! path reads. The first time a thread caches something, the cache registers its flush here
//! ([`Standing::register`]); when the thread exits, the one guard runs the flushes in the
//! order they registered, and each hands its cache's contents to the shared lists (or frees
//! them) and marks its standing exiting, after which that cache is bypassed on this thread.
//!
//! # Invariants
//!
//! - A cache's contents are touched only by its own thread, and only while its standing is
//!   registered (or by its flush, which runs once, at exit).
//! - A flush registered here runs exactly once, at this thread's exit; a cache that could not
//!   register (its thread already exiting) is exiting at once and never caches.
//! - Native thread-locals without drop glue are never destroyed (Linux, macOS, Windows), so
//!   a flush can reach its cache while the guard runs. Where `std` emulates thread-locals
//!   with OS keys, a cache's key may be destroyed first, and what it holds then leaks (at most
//!   its cap, per exiting thread) instead of being flushed; such a key is built again, new,
//!   at a later use on that thread, whose registration is refused (the cache is bypassed).

use std::cell::Cell;

/// Caches a thread can register: one per kind above.
const CACHES: usize = 4;

const NEW: u8 = 0;
const REGISTERED: u8 = 1;
const EXITING: u8 = 2;

/// A cache's standing on its thread: new (nothing cached yet), registered (its flush runs at
/// exit) or exiting (bypass the cache).
#[derive(Debug)]
pub(crate) struct Standing(Cell<u8>);

impl Standing {
    /// A cache that has not registered yet.
    pub(crate) const fn new() -> Self {
        Self(Cell::new(NEW))
    }

    /// Whether the cache may be used: registered, and its thread not exiting.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn is_registered(&self) -> bool {
        self.0.get() == REGISTERED
    }

    /// Register `flush` to run at this thread's exit, if the cache has not yet: `true` when
    /// the cache may be used (registered now or before), `false` once the thread is exiting.
    #[cold]
    pub(crate) fn register(&self, flush: fn()) -> bool {
        match self.0.get() {
            REGISTERED => return true,
            EXITING => return false,
            _ => {}
        }
        // Refused once the guard ran, or with the list full: a cache whose emulated
        // thread-local was destroyed and built again at a later use (see the module docs)
        // registers a second time. (No panic: this runs under a task cell's `LOCKED` too, on
        // the slab store's first use on a thread.)
        let registered = FLUSHES.try_with(|flushes| {
            let len = flushes.len.get();
            if flushes.guard_ran.get() || len >= CACHES {
                return false;
            }
            flushes.fns[len].set(Some(flush));
            flushes.len.set(len + 1);
            true
        });
        // Touching the guard registers its destructor; it fails once the thread is exiting.
        if registered == Ok(true) && GUARD.try_with(|_| ()).is_ok() {
            self.0.set(REGISTERED);
            true
        } else {
            self.0.set(EXITING);
            false
        }
    }

    /// Called by the cache's flush: from now on the cache is bypassed on this thread.
    pub(crate) fn set_exiting(&self) {
        self.0.set(EXITING);
    }
}

/// A registered flush, taken when it runs.
type Flush = Cell<Option<fn()>>;

/// The flushes registered on this thread, in order; `const` and without drop glue.
struct Flushes {
    fns: [Flush; CACHES],
    len: Cell<usize>,
    /// Set when the guard starts running the flushes: no cache registers after.
    guard_ran: Cell<bool>,
}

thread_local! {
    static FLUSHES: Flushes = const {
        Flushes {
            fns: [const { Cell::new(None) }; CACHES],
            len: Cell::new(0),
            guard_ran: Cell::new(false),
        }
    };
    static GUARD: ExitGuard = const { ExitGuard };
}

/// Runs the registered flushes when the thread exits.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = FLUSHES.try_with(|flushes| {
            flushes.guard_ran.set(true);
            for flush in &flushes.fns[..flushes.len.get()] {
                if let Some(flush) = flush.take() {
                    flush();
                }
            }
        });
    }
}

#[cfg(all(test, not(valuetask_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static FLUSHED: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        static STANDING: Standing = const { Standing::new() };
    }

    fn flush() {
        STANDING.with(Standing::set_exiting);
        FLUSHED.fetch_add(1, Ordering::Relaxed);
    }

    /// A cache registers once, is flushed once when its thread exits, and is bypassed after.
    #[test]
    fn a_registered_cache_is_flushed_once_at_exit() {
        std::thread::spawn(|| {
            STANDING.with(|s| {
                assert!(!s.is_registered());
                assert!(s.register(flush));
                assert!(s.register(flush), "a second registration is the first one");
                assert!(s.is_registered());
            });
        })
        .join()
        .unwrap();
        assert_eq!(FLUSHED.load(Ordering::Relaxed), 1);
        let exiting = std::thread::spawn(|| {
            STANDING.with(|s| {
                s.set_exiting();
                s.register(flush)
            })
        });
        assert!(
            !exiting.join().unwrap(),
            "an exiting cache does not register"
        );
        assert_eq!(FLUSHED.load(Ordering::Relaxed), 1);
    }

    fn flush_nothing() {}

    /// A cache built anew after the guard ran (an emulated thread-local's key destroyed,
    /// then used again by a later destructor) and a fifth registration are refused, not a
    /// panic or an abort: the cache is bypassed.
    #[test]
    fn a_registration_after_the_guard_ran_or_past_the_list_is_refused() {
        static REFUSED_AT_EXIT: AtomicUsize = AtomicUsize::new(0);
        fn flush_then_register_a_new_cache() {
            if !Standing::new().register(flush_nothing) {
                REFUSED_AT_EXIT.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::spawn(|| {
            assert!(Standing::new().register(flush_then_register_a_new_cache));
            for _ in 1..CACHES {
                assert!(Standing::new().register(flush_nothing));
            }
            let fifth = Standing::new();
            assert!(!fifth.register(flush_nothing), "the list is full");
            assert!(!fifth.is_registered());
        })
        .join()
        .unwrap();
        assert_eq!(REFUSED_AT_EXIT.load(Ordering::Relaxed), 1);
    }
}
