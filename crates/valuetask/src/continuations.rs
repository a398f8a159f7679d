//! Running continuations off the completing call: asynchronously (.NET's
//! `RunContinuationsAsynchronously`), and on another thread (`run_elsewhere`: scheduled
//! continuations, and synchronous ones woken too deep in a thread's stack).
//!
//! In Rust a continuation is a `Waker::wake` call. Most wakers only schedule work, but some run
//! code inline (a thread unpark, the `as_task` bridge that polls its source from `wake`). With
//! asynchronous continuations the completing call never invokes a waker itself: it hands the
//! wakers to one process-wide thread, `valuetask-continuations`, started on first use, which
//! wakes them after (or while) the completing call returns. Each such hand-off allocates one
//! boxed job. The thread is shared by the whole process: a waker that blocks on it (waits
//! for another task whose continuations are asynchronous) stalls every asynchronous
//! continuation, so wakers run here must not block. Should the thread be impossible to start
//! (thread or memory limits), the wakers run on the completing thread instead, and a later
//! completion tries to start it again: a late wake-up, never a lost one.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

/// A continuation handed to another thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();

/// The continuation thread's queue, starting the thread on first use. `None` when no thread
/// can be started (thread or memory limits); a later call tries again.
fn queue() -> Option<&'static Sender<Job>> {
    #[cfg(test)]
    if tests::NO_THREAD.with(std::cell::Cell::get) {
        return None;
    }
    if let Some(tx) = QUEUE.get() {
        return Some(tx);
    }
    let (tx, rx) = channel::<Job>();
    let started = thread::Builder::new()
        .name("valuetask-continuations".into())
        .spawn(move || {
            for job in rx {
                // A panicking waker must not take the thread (and every later wake-up) down
                // with it, nor may its payload's `Drop`.
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                    crate::catch_panic::discard(panic);
                }
            }
        });
    match started {
        // Two first uses may race: the loser's sender is dropped, so its thread ends.
        Ok(_) => Some(QUEUE.get_or_init(|| tx)),
        Err(_) => None,
    }
}

/// Run `job` on the continuation thread, never on the caller's; should that thread be gone
/// (it cannot stop by itself) or impossible to start, here rather than never: the completion
/// has already happened, and its awaiters must still be woken.
pub(crate) fn wake_later(job: impl FnOnce() + Send + 'static) {
    match queue() {
        Some(tx) => {
            if let Err(unsent) = tx.send(Box::new(job)) {
                (unsent.0)();
            }
        }
        None => job(),
    }
}

/// Hand `run` to another thread (a bridge woken too deep in this thread's stack, a scheduled
/// continuation): the global runtime's blocking pool (the run may block, as a continuation
/// may), or without tokio a thread of its own. Returns `run` back when the spawn fails or panics (the
/// OS refuses a thread and the pool has none, a thread-local destructor, the runtime failing
/// to start): the caller runs it itself. (A pool at its cap of 512 threads queues the run
/// instead; it runs when a thread frees up.) Take-once: whichever side takes `run` first runs
/// it, so a spawn that fails after queueing (tokio then panics) cannot make it run twice.
pub(crate) fn run_elsewhere(run: Job) -> Result<(), Job> {
    let slot = Arc::new(Mutex::new(Some(run)));
    let remote = {
        let slot = Arc::clone(&slot);
        move || {
            if let Some(run) = take(&slot) {
                run();
            }
        }
    };
    let spawned = catch_unwind(AssertUnwindSafe(move || -> bool {
        #[cfg(feature = "tokio")]
        {
            drop(crate::runtime::background_handle().spawn_blocking(remote));
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

fn take(slot: &Mutex<Option<Job>>) -> Option<Job> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::{Future, IntoFuture};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use crate::{Continuations, TaskCompletionSource};

    thread_local! {
        /// Makes `queue()` behave on this thread as if no thread could be started.
        pub(super) static NO_THREAD: Cell<bool> = const { Cell::new(false) };
    }

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// With no continuation thread to be had, an asynchronous completion still wakes its
    /// awaiters (on the completing thread) and `set_result` does not panic.
    #[test]
    fn awaiters_are_woken_when_no_continuation_thread_can_start() {
        let tcs = TaskCompletionSource::<u8>::with_continuations(Continuations::Asynchronous);
        let task = tcs.task();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut fut = std::pin::pin!((&task).into_future());
        assert!(fut
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        NO_THREAD.with(|n| n.set(true));
        let completed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tcs.set_result(1)));
        NO_THREAD.with(|n| n.set(false));
        assert!(completed.is_ok(), "set_result panicked");
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the awaiter was woken");
        assert!(matches!(task.try_result(), Some(Ok(&1))));
    }
}
