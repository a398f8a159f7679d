//! The global tokio runtime (feature `tokio`), where the library's own background work runs,
//! and [`run_elsewhere`]: a run handed to another thread (a bridge or watcher woken too deep
//! in a thread's stack, a scheduled continuation). Below `runtime.rs`, which starts tasks,
//! and the watcher and bridge, which move runs here.
//!
//! # Invariants
//!
//! - The global runtime lives as long as the process; it is built once, at first use.
//! - A run given to [`run_elsewhere`] runs once: on the other thread, or, when the hand-off
//!   fails, back in the caller's hands.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// The global runtime's blocking pool may grow to this many threads (tokio's default is
/// 512), made on demand and gone after ten idle seconds. Scheduled continuations and moved
/// runs block there, and one may wait for another still queued: at a cap they could all
/// wait for good (520 continuations waiting on a 521st hung), where .NET's thread pool
/// adds threads. .NET's cap on its worker threads is 32,767 too.
#[cfg(feature = "tokio")]
const MAX_BLOCKING_THREADS: usize = 32_767;

#[cfg(feature = "tokio")]
fn global() -> &'static tokio::runtime::Runtime {
    static GLOBAL: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = std::env::var("VALUETASK_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
        {
            builder.worker_threads(n);
        }
        builder
            .thread_name("valuetask-global")
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .enable_all()
            .build()
            .expect("valuetask: failed to start the global tokio runtime")
    })
}

/// The ambient runtime's handle, or the global runtime's.
#[cfg(feature = "tokio")]
pub(crate) fn handle() -> tokio::runtime::Handle {
    tokio::runtime::Handle::try_current().unwrap_or_else(|_| global().handle().clone())
}

/// Where the library's own background work runs (scheduled continuations, timers): always
/// the global runtime, which lives as long as the process (.NET's thread
/// pool). An ambient runtime may stop (its spawned work is then dropped) or have its only
/// worker blocked in a `wait()` for that very work.
#[cfg(feature = "tokio")]
pub(crate) fn background_handle() -> tokio::runtime::Handle {
    global().handle().clone()
}

/// Hand `run` to another thread (a bridge woken too deep in this thread's stack, a scheduled
/// continuation): the global runtime's blocking pool (the run may block, as a continuation
/// may), or without tokio a thread of its own. Returns `run` back when the spawn fails or
/// panics (the OS refuses a thread and the pool has none, a thread-local destructor, the
/// runtime failing to start): the caller runs it itself. (A pool at its cap,
/// [`MAX_BLOCKING_THREADS`], queues the run instead; it runs when a thread frees up.) Take-once: whichever side takes
/// `run` first runs it, so a spawn that fails after queueing (tokio then panics) cannot make
/// it run twice.
pub(crate) fn run_elsewhere<F: FnOnce() + Send + 'static>(run: F) -> Result<(), F> {
    let slot = Arc::new(Mutex::new(Some(run)));
    let remote = {
        let slot = Arc::clone(&slot);
        move || {
            if let Some(run) = take(&slot) {
                crate::inline_depth::run_moved(run);
            }
        }
    };
    let spawned = catch_unwind(AssertUnwindSafe(move || -> bool {
        #[cfg(feature = "tokio")]
        {
            drop(background_handle().spawn_blocking(remote));
            true
        }
        #[cfg(not(feature = "tokio"))]
        {
            std::thread::Builder::new()
                .name("valuetask-deep-continuation".into())
                .spawn(remote)
                .is_ok()
        }
    }));
    match spawned {
        Ok(true) => Ok(()),
        Ok(false) => take(&slot).map_or(Ok(()), Err),
        Err(panic) => {
            crate::catch_panic::discard(panic);
            take(&slot).map_or(Ok(()), Err)
        }
    }
}

fn take<F>(slot: &Mutex<Option<F>>) -> Option<F> {
    crate::sync::lock_std(slot).take()
}
