//! Running continuations asynchronously (.NET's `RunContinuationsAsynchronously`).
//!
//! In Rust a continuation is a `Waker::wake` call. Most wakers only schedule work, but some run
//! code inline (a thread unpark, the `as_task` bridge that polls its source from `wake`). With
//! asynchronous continuations the completing call never invokes a waker itself: it hands the
//! wakers to one process-wide thread, `valuetask-continuations`, started on first use, which
//! wakes them after (or while) the completing call returns. Each such hand-off allocates one
//! boxed job. The thread is shared by the whole process: a waker that blocks on it (waits
//! for another task whose continuations are asynchronous) stalls every asynchronous
//! continuation, so wakers run here must not block.

use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();

fn queue() -> &'static Sender<Job> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        thread::Builder::new()
            .name("valuetask-continuations".into())
            .spawn(move || {
                for job in rx {
                    // A panicking waker must not take the thread (and every later wake-up)
                    // down with it, nor may its payload's `Drop`.
                    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                    {
                        crate::catch_panic::discard(panic);
                    }
                }
            })
            .expect("valuetask: failed to start the continuation thread");
        tx
    })
}

/// Run `job` on the continuation thread, never on the caller's; should that thread be gone
/// (it cannot stop by itself), here rather than never.
pub(crate) fn wake_later(job: impl FnOnce() + Send + 'static) {
    if let Err(unsent) = queue().send(Box::new(job)) {
        (unsent.0)();
    }
}
