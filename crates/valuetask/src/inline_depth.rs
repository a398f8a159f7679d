//! How deep runs that a wake-up starts on the waking thread nest on its stack: a bridge's
//! (`value_task/bridge.rs`) and a watcher's (`watcher.rs`). Each run can complete a task whose
//! wake-up starts the next, so a chain of them (synchronous continuations, waits on waits)
//! would grow the stack without bound; past [`MAX_INLINE_DEPTH`] a run moves to another
//! thread (`global_runtime::run_elsewhere`), as .NET queues an `ExecuteSynchronously` continuation to
//! the thread pool when the stack is deep.
//!
//! # Invariants
//!
//! - The depth is this thread's count of such runs under way on its stack: [`deeper`] adds
//!   one for the length of its closure, and takes it back also when the closure unwinds.

use std::cell::Cell;

#[cfg(not(valuetask_loom))]
thread_local! {
    /// Runs under way on this thread's stack, nested.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

// Under loom, whose model threads share one OS thread, each model thread has its own: a
// std thread-local would interleave their saves and restores and drift across executions.
#[cfg(valuetask_loom)]
loom::thread_local! {
    /// Runs under way on this (model) thread's stack, nested.
    static DEPTH: Cell<u32> = Cell::new(0);
}

#[cfg(not(valuetask_loom))]
thread_local! {
    /// This thread runs a run moved off another thread's stack (`run_moved`).
    static MOVED: Cell<bool> = const { Cell::new(false) };
}

#[cfg(valuetask_loom)]
loom::thread_local! {
    /// This (model) thread runs a moved run.
    static MOVED: Cell<bool> = Cell::new(false);
}

/// Runs nest at most this deep on one thread's stack.
pub(crate) const MAX_INLINE_DEPTH: u32 = 32;

/// Whether this thread's stack already holds [`MAX_INLINE_DEPTH`] runs: the next one moves.
pub(crate) fn too_deep() -> bool {
    DEPTH.try_with(Cell::get).unwrap_or(0) >= MAX_INLINE_DEPTH
}

/// Whether this thread's stack holds such a run started by a wake-up: code of the crate's
/// user may be running inside whatever woke it (a tokio driver's wake-ups, a completer's
/// call). Not on a thread that a run was moved to ([`run_moved`]): nothing woke it there but
/// the move, on a thread of its own.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn inside_run() -> bool {
    DEPTH.try_with(Cell::get).unwrap_or(0) > 0 && !MOVED.try_with(Cell::get).unwrap_or(false)
}

/// Run `run`, moved off another thread's stack (`global_runtime::run_elsewhere`), on the
/// thread it was moved to, at the bottom of that thread's stack: the runs it starts are not
/// inside a wake-up's ([`inside_run`]), so a wait there blocks its thread as on any other,
/// not polled on a timer as a wait inside a runtime driver's wake-up is (`blocking.rs`).
pub(crate) fn run_moved(run: impl FnOnce()) {
    /// Takes the mark back also when `run` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = MOVED.try_with(|m| m.set(self.0));
        }
    }
    let before = MOVED.try_with(|m| m.replace(true)).unwrap_or(false);
    let _restore = Restore(before);
    run();
}

/// Run `run` as one more level of nesting on this thread.
pub(crate) fn deeper<R>(run: impl FnOnce() -> R) -> R {
    /// Takes the level back also when `run` unwinds (a waker it wakes panicked).
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DEPTH.try_with(|d| d.set(self.0));
        }
    }
    let depth = DEPTH.try_with(Cell::get).unwrap_or(0);
    let _ = DEPTH.try_with(|d| d.set(depth + 1));
    let _restore = Restore(depth);
    run()
}
